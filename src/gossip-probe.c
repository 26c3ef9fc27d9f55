/*
 * gossip-probe.c: SWIM probing with Lifeguard's refinements, PROBE_REQ
 * relays, gossip pushes and the active set (see gossip.h).
 *
 * A probe (struct gprobe) of a member goes through two stages:
 *  1. direct: PROBE (or PING without a session) with probe_timeout;
 *  2. on a miss: PROBE_REQ to up to indirect_k helpers (members with a
 *     session first, other /16 or /48 than the target and than each other
 *     first), and a PROBE over TLS, all due by indirect_timeout.
 * Any answer of the target (directly, over TLS or through a helper's ACK)
 * ends it well; the stage-2 deadline, or every request of stage 2 failing,
 * ends it badly. Timeouts are stretched by the health multiplier. A probe
 * that ends badly while the node itself stalled (a timer or a reply came
 * late) is inconclusive: nothing is concluded and the member is probed
 * again soon. Health (Lifeguard): a probe of ours that got no answer raises
 * it by one, one that did lowers it by one, and a helper that sent neither
 * ACK nor NACK raises it by one (we may be the one cut off).
 *
 * Relays: a PROBE_REQ is served with a direct probe of the target (stage 1
 * only) and answered with ACK or NACK; at most relays_max at once, beyond
 * that ERROR 7.
 *
 * Pending requests: a table of pend_cap slots; a cookie is the slot index
 * + 1 in the low 32 bits and the slot's generation in the high 32 bits,
 * and each slot remembers the serial of its probe, so replies to finished
 * or reused probes are recognised and ignored.
 */
#include "config.h"

#include <string.h>

#include "gossip-internal.h"

static int
pend_alloc(struct hy_gossiper *g)
{
	unsigned i;

	for (i = 0; i < g->pend_cap; i++)
		if (!g->pend[i].used)
			return (int)i;
	return -1;
}

/* Send req; returns 0 when a response will come. */
static int
send_req(struct hy_gossiper *g, enum gpend_what what, int pi,
    const struct hy_id *to, const struct hy_addr *addr, struct hy_msg *req,
    enum hy_gossip_via via, uint64_t timeout_ms)
{
	struct gpend *p;
	uint64_t cookie;
	int slot, err;

	if ((slot = pend_alloc(g)) < 0)
		return HY_EFULL;
	p = &g->pend[slot];
	cookie = ((uint64_t)p->gen << 32) | (uint64_t)(slot + 1);
	p->used = true;
	p->what = (uint8_t)what;
	p->probe = pi;
	p->serial = pi >= 0 ? g->probe[pi].serial : 0;
	p->to = *to;
	p->to_addr = *addr;
	err = g->host.request(g->host.ctx, addr, to, req, via, timeout_ms,
	    cookie);
	if (err != HY_OK) {
		p->used = false;
		p->gen++;
	}
	return err;
}

static bool
has_session(struct hy_gossiper *g, const struct hy_addr *a)
{
	return g->host.session_up != NULL && g->host.session_up(g->host.ctx, a);
}

/* A PROBE to (id, addr) for probe pi; items ride along on a session. */
static int
send_probe(struct hy_gossiper *g, int pi, enum gpend_what what,
    enum hy_gossip_via via, uint64_t timeout_ms)
{
	struct gprobe *pr = &g->probe[pi];
	struct hy_msg m;
	int err;

	if ((err = hy_g_msg(g, &m, HY_MSG_PROBE)) != HY_OK)
		return err;
	m.body.probe.seq = pr->seq;
	if (via == HY_GOSSIP_VIA_TLS || has_session(g, &pr->addr))
		hy_g_fill_items(g, &m);
	return send_req(g, what, pi, &pr->id, &pr->addr, &m, via, timeout_ms);
}

int
hy_g_probe_start(struct hy_gossiper *g, int mi, enum gprobe_kind kind,
    uint64_t now_ms)
{
	struct gprobe *pr;
	unsigned i;
	uint64_t to;

	if (mi >= 0 && g->mem[mi].probe >= 0)
		return -1;
	for (i = 0; i < g->cfg.probes_max; i++)
		if (!g->probe[i].used)
			break;
	if (i == g->cfg.probes_max)
		return -1;
	pr = &g->probe[i];
	memset(pr, 0, sizeof(*pr));
	pr->used = true;
	pr->kind = (uint8_t)kind;
	pr->stage = 1;
	pr->m = mi;
	pr->relay = -1;
	pr->serial = ++g->next_serial;
	pr->seq = g->next_seq++;
	pr->start_ms = now_ms;
	if (mi >= 0) {
		pr->id = g->mem[mi].id;
		pr->addr = g->mem[mi].addr;
		g->mem[mi].probe = (int)i;
		g->mem[mi].last_probe_ms = now_ms;
		g->mem[mi].soon = false;
	}
	g->st.probes++;
	if (kind == GP_RELAY)
		return (int)i; /* the caller fills the target and sends */
	to = hy_health_scale(&g->health, g->cfg.probe_timeout_ms);
	pr->deadline_ms = now_ms + to;
	if (send_probe(g, (int)i, PD_DIRECT, HY_GOSSIP_VIA_ANY, to) == HY_OK)
		pr->outstanding = 1;
	else
		pr->deadline_ms = now_ms; /* go on at the next tick */
	return (int)i;
}

static void
probe_free(struct hy_gossiper *g, int pi)
{
	struct gprobe *pr = &g->probe[pi];

	if (pr->m >= 0 && g->mem[pr->m].probe == pi)
		g->mem[pr->m].probe = -1;
	pr->used = false;
}

void
hy_g_probe_drop_member(struct hy_gossiper *g, int mi)
{
	int pi = g->mem[mi].probe;

	if (pi >= 0) {
		g->probe[pi].m = -1;
		g->mem[mi].probe = -1;
	}
}

static void
relay_answer(struct hy_gossiper *g, int ri, bool acked)
{
	struct grelay *r = &g->relay[ri];
	struct hy_msg rep;

	if (!r->used)
		return;
	if (hy_g_msg(g, &rep, acked ? HY_MSG_ACK : HY_MSG_NACK) == HY_OK) {
		if (acked) {
			rep.body.ack.seq = r->seq;
		} else {
			rep.body.nack.seq = r->seq;
			rep.body.nack.target = r->target;
		}
		if (r->from.path != HY_PATH_DGRAM)
			hy_g_fill_items(g, &rep);
		(void)g->host.reply(g->host.ctx, &r->from, r->txid, &rep);
	}
	r->used = false;
}

static void
probe_ok(struct hy_gossiper *g, int pi, uint64_t now_ms)
{
	struct gprobe *pr = &g->probe[pi];
	struct gmem *m = pr->m >= 0 ? &g->mem[pr->m] : NULL;

	g->st.probe_acks++;
	if (pr->kind == GP_PERIODIC || pr->kind == GP_SUSPECT)
		hy_health_lower(&g->health);
	if (pr->stage == 2)
		g->st.indirect_acks++;
	if (pr->relay >= 0)
		relay_answer(g, pr->relay, true);
	if (m != NULL) {
		m->n_pre = 0; /* the hints were wrong */
		hy_g_alive(g, m, now_ms);
	}
	probe_free(g, pi);
}

static void
probe_fail(struct hy_gossiper *g, int pi, uint64_t now_ms)
{
	struct gprobe *pr = &g->probe[pi];
	struct gmem *m = pr->m >= 0 ? &g->mem[pr->m] : NULL;

	if (pr->relay >= 0)
		relay_answer(g, pr->relay, false);
	if (pr->kind == GP_RELAY) {
		probe_free(g, pi);
		return;
	}
	if (hy_g_stalled_since(g, pr->start_ms)) {
		/* we were not running: the silence proves nothing */
		g->st.inconclusive++;
		if (m != NULL)
			m->soon = true;
		probe_free(g, pi);
		return;
	}
	g->st.probe_fails++;
	if (pr->kind == GP_PERIODIC) {
		/* only the round-robin probe: a dead member probed again and
		 * again says nothing about us */
		hy_health_raise(&g->health, 1);
		if (pr->nack_missed) {
			g->st.missed_nacks++;
			hy_health_raise(&g->health, 1);
		}
	}
	probe_free(g, pi);
	if (m == NULL)
		return;
	if (m->state == HY_MEMBER_ALIVE)
		hy_g_suspect(g, m, now_ms);
	else if (m->state == HY_MEMBER_DOWN) {
		unsigned sh = m->reprobe_n < 5 ? m->reprobe_n : 5;

		m->reprobe_n++;
		m->next_reprobe_ms = now_ms + (g->cfg.reprobe_ms << sh);
	}
}

/* The used member slots in a uniformly random order (into g->order). */
static unsigned
shuffled(struct hy_gossiper *g)
{
	unsigned n = 0, i, j, t;

	for (i = 0; i < g->mem_hw; i++)
		if (g->mem[i].used)
			g->order[n++] = i;
	for (i = n; i > 1; i--) {
		j = (unsigned)hy_rng_below(&g->rng, i);
		t = g->order[i - 1];
		g->order[i - 1] = g->order[j];
		g->order[j] = t;
	}
	return n;
}

static bool
diverse(const struct hy_addr *a, const struct hy_addr *b)
{
	return !hy_addr_same_prefix(a, b, 16, 48);
}

/* Stage 2: helpers and the TLS probe. */
static void
probe_indirect(struct hy_gossiper *g, int pi, uint64_t now_ms)
{
	struct gprobe *pr = &g->probe[pi];
	int pick[HY_GOSSIP_K_MAX];
	unsigned n = 0, i, j, pass, nm;
	uint64_t to;
	struct hy_msg m;

	pr->stage = 2;
	to = hy_health_scale(&g->health, g->cfg.indirect_timeout_ms);
	pr->deadline_ms = now_ms + to;
	if (pr->kind == GP_REPROBE || pr->kind == GP_SUSPECT) {
		/* re-probes of suspects and of the down stay direct */
		pr->deadline_ms = now_ms;
		return;
	}
	g->st.indirect_probes++;
	nm = shuffled(g);
	/* pass 0: session + diverse; 1: session; 2: diverse; 3: anyone */
	for (pass = 0; pass < 4 && n < g->cfg.indirect_k; pass++)
		for (j = 0; j < nm && n < g->cfg.indirect_k; j++) {
			struct gmem *h = &g->mem[g->order[j]];
			int hi = (int)g->order[j];
			bool ok = true;

			if (!h->used || h->state != HY_MEMBER_ALIVE ||
			    hi == pr->m || hy_id_eq(&h->id, &pr->id))
				continue;
			for (i = 0; i < n; i++)
				if (pick[i] == hi)
					ok = false;
			if (!ok)
				continue;
			if (pass < 2 && !has_session(g, &h->addr))
				continue;
			if (pass == 0 || pass == 2) {
				if (!diverse(&h->addr, &pr->addr))
					continue;
				for (i = 0; i < n; i++)
					if (!diverse(&h->addr,
					        &g->mem[pick[i]].addr))
						ok = false;
				if (!ok)
					continue;
			}
			pick[n++] = hi;
		}
	for (i = 0; i < n; i++) {
		struct gmem *h = &g->mem[pick[i]];

		if (hy_g_msg(g, &m, HY_MSG_PROBE_REQ) != HY_OK)
			break;
		m.body.probe_req.seq = pr->seq;
		m.body.probe_req.target.id = pr->id;
		m.body.probe_req.target.addr = pr->addr;
		hy_g_fill_items(g, &m);
		if (send_req(g, PD_HELPER, pi, &h->id, &h->addr, &m,
		        HY_GOSSIP_VIA_RELIABLE, to) == HY_OK) {
			pr->outstanding++;
			pr->helpers++;
		}
	}
	if (g->cfg.tls_probe) {
		g->st.tls_probes++;
		if (send_probe(g, pi, PD_TLS, HY_GOSSIP_VIA_TLS, to) == HY_OK)
			pr->outstanding++;
	}
	if (pr->outstanding == 0)
		pr->deadline_ms = now_ms;
}

void
hy_g_probe_response(struct hy_gossiper *g, struct gpend *p, int err,
    const struct hy_msg *reply, uint64_t now_ms)
{
	struct gprobe *pr;
	bool late;

	if (p->what == PD_PUSH || p->probe < 0)
		return;
	pr = &g->probe[p->probe];
	if (!pr->used || pr->serial != p->serial)
		return;
	if (pr->outstanding > 0)
		pr->outstanding--;
	/* an answer (or a timeout) handed to us long after it was due:
	 * the node itself stalled */
	late = now_ms > pr->deadline_ms &&
	    now_ms - pr->deadline_ms > g->cfg.stall_ms;
	if (late && g->last_stall_ms < now_ms) {
		g->st.stalls++;
		g->last_stall_ms = now_ms;
		hy_health_raise(&g->health, 1);
	}
	switch (p->what) {
	case PD_DIRECT:
	case PD_TLS:
		if (err == HY_OK) {
			probe_ok(g, p->probe, now_ms);
			return;
		}
		if (p->what == PD_DIRECT && pr->stage == 1) {
			if (pr->kind == GP_RELAY) {
				probe_fail(g, p->probe, now_ms);
				return;
			}
			probe_indirect(g, p->probe, now_ms);
			return;
		}
		break;
	case PD_HELPER:
		if (err == HY_OK && reply->type == HY_MSG_ACK) {
			probe_ok(g, p->probe, now_ms);
			return;
		}
		if (err == HY_OK && reply->type == HY_MSG_NACK)
			g->st.nacks++;
		else if (err != HY_OK)
			pr->nack_missed = true;
		break;
	default:
		break;
	}
	if (pr->stage == 2 && pr->outstanding == 0)
		probe_fail(g, p->probe, now_ms);
}

bool
hy_g_serve_probe_req(struct hy_gossiper *g, const struct hy_msg *req,
    const struct hy_gossip_peer *from, uint64_t now_ms)
{
	const struct hy_contact *t = &req->body.probe_req.target;
	struct hy_msg rep;
	unsigned ri, pi;
	struct gprobe *pr;
	int mi;

	for (ri = 0; ri < g->cfg.relays_max; ri++)
		if (!g->relay[ri].used)
			break;
	for (pi = 0; pi < g->cfg.probes_max; pi++)
		if (!g->probe[pi].used)
			break;
	/* (a free probe slot checked here, so that the probe below starts) */
	if (ri == g->cfg.relays_max || pi == g->cfg.probes_max ||
	    hy_id_eq(&t->id, &g->self)) {
		g->st.relays_refused++;
		if (hy_g_msg(g, &rep, HY_MSG_ERROR) == HY_OK) {
			rep.body.error.code = 7;
			(void)g->host.reply(g->host.ctx, from, req->txid, &rep);
		}
		return true;
	}
	g->st.relays_served++;
	g->relay[ri].used = true;
	g->relay[ri].from = *from;
	g->relay[ri].txid = req->txid;
	g->relay[ri].seq = (uint32_t)req->body.probe_req.seq;
	g->relay[ri].target = t->id;
	/* a member of ours already being probed: a separate relay probe */
	mi = hy_g_find(g, &t->id);
	if (mi >= 0 && g->mem[mi].probe >= 0)
		mi = -1;
	pi = (unsigned)hy_g_probe_start(g, mi, GP_RELAY, now_ms);
	pr = &g->probe[pi];
	pr->relay = (int)ri;
	pr->id = t->id;
	pr->addr = t->addr;
	pr->deadline_ms =
	    now_ms + hy_health_scale(&g->health, g->cfg.probe_timeout_ms);
	if (send_probe(g, (int)pi, PD_DIRECT, HY_GOSSIP_VIA_ANY,
	        pr->deadline_ms - now_ms) == HY_OK)
		pr->outstanding = 1;
	else
		probe_fail(g, (int)pi, now_ms);
	return true;
}

/*
 * The next member in round-robin order that is alive or suspect; members
 * the host's table no longer holds are forgotten on the way (the view
 * follows the table lazily, one probe at a time).
 */
static int
next_member(struct hy_gossiper *g)
{
	unsigned j;
	bool in_table;

	for (j = 0; j < g->mem_hw; j++) {
		unsigned i = (g->cursor + j) % (g->mem_hw ? g->mem_hw : 1);
		struct gmem *m = &g->mem[i];

		if (!m->used || m->state == HY_MEMBER_DOWN || m->probe >= 0)
			continue;
		if (g->host.keep != NULL) {
			in_table = false;
			if (!g->host.keep(g->host.ctx, &m->id, &in_table)) {
				hy_gossip_remove(g, &m->id);
				continue;
			}
			m->in_table = in_table;
		}
		g->cursor = i + 1;
		return (int)i;
	}
	return -1;
}

static void
reprobe_tick(struct hy_gossiper *g, uint64_t now_ms)
{
	unsigned i;
	int best = -1;

	if (now_ms < g->next_reprobe_ms)
		return;
	g->next_reprobe_ms = now_ms + g->cfg.reprobe_ms;
	for (i = 0; i < g->mem_hw; i++) {
		struct gmem *m = &g->mem[i];

		if (m->used && m->state == HY_MEMBER_DOWN && m->probe < 0 &&
		    m->next_reprobe_ms <= now_ms &&
		    (best < 0 ||
		        m->next_reprobe_ms < g->mem[best].next_reprobe_ms))
			best = (int)i;
	}
	if (best >= 0) {
		g->st.reprobes++;
		hy_g_probe_start(g, best, GP_REPROBE, now_ms);
	}
}

void
hy_g_probe_tick(struct hy_gossiper *g, uint64_t now_ms)
{
	unsigned i;
	int mi;

	/* stage deadlines (requests the host never reported count as lost) */
	for (i = 0; i < g->cfg.probes_max; i++) {
		struct gprobe *pr = &g->probe[i];

		if (!pr->used || pr->deadline_ms > now_ms)
			continue;
		if (pr->stage == 1 && pr->kind != GP_RELAY)
			probe_indirect(g, (int)i, now_ms);
		else if (pr->deadline_ms <= now_ms)
			probe_fail(g, (int)i, now_ms);
	}
	/* members to look at soon: hinted, or inconclusive */
	for (i = 0; i < g->mem_hw; i++)
		if (g->mem[i].used && g->mem[i].soon && g->mem[i].probe < 0 &&
		    g->mem[i].state != HY_MEMBER_DOWN)
			hy_g_probe_start(g, (int)i,
			    g->mem[i].state == HY_MEMBER_SUSPECT ? GP_SUSPECT
			                                         : GP_SOON,
			    now_ms);
	if (now_ms >= g->next_probe_ms) {
		g->next_probe_ms = now_ms +
		    hy_health_scale(&g->health, g->cfg.probe_interval_ms);
		/* suspects are probed again every interval */
		for (i = 0; i < g->mem_hw; i++)
			if (g->mem[i].used &&
			    g->mem[i].state == HY_MEMBER_SUSPECT &&
			    g->mem[i].probe < 0)
				hy_g_probe_start(g, (int)i, GP_SUSPECT, now_ms);
		if ((mi = next_member(g)) >= 0)
			hy_g_probe_start(g, mi,
			    g->mem[mi].state == HY_MEMBER_SUSPECT ? GP_SUSPECT
			                                          : GP_PERIODIC,
			    now_ms);
		hy_g_active_tick(g, now_ms);
	}
	reprobe_tick(g, now_ms);
}

uint64_t
hy_g_probe_deadline(const struct hy_gossiper *g)
{
	uint64_t d = UINT64_MAX;
	unsigned i;

	for (i = 0; i < g->cfg.probes_max; i++)
		if (g->probe[i].used && g->probe[i].deadline_ms < d)
			d = g->probe[i].deadline_ms;
	return d;
}

/* Push queued items to a few members we hold sessions with. */
void
hy_g_push_tick(struct hy_gossiper *g, uint64_t now_ms)
{
	unsigned sent = 0, j, nm;
	struct hy_msg m;

	(void)now_ms;
	if (hy_bcast_len(g->bc) == 0)
		return;
	nm = shuffled(g);
	for (j = 0; j < nm && sent < g->cfg.gossip_fanout; j++) {
		struct gmem *h = &g->mem[g->order[j]];

		if (!h->used || h->state != HY_MEMBER_ALIVE ||
		    !has_session(g, &h->addr))
			continue;
		if (hy_bcast_len(g->bc) == 0)
			break;
		if (hy_g_msg(g, &m, HY_MSG_PROBE) != HY_OK)
			return;
		m.body.probe.seq = g->next_seq++;
		hy_g_fill_items(g, &m);
		if (send_req(g, PD_PUSH, -1, &h->id, &h->addr, &m,
		        HY_GOSSIP_VIA_ANY,
		        hy_health_scale(&g->health, g->cfg.probe_timeout_ms)) ==
		    HY_OK) {
			sent++;
			g->st.pushes++;
		}
	}
}

/* Keep active_max alive members in sessions, spread over prefixes. */
void
hy_g_active_tick(struct hy_gossiper *g, uint64_t now_ms)
{
	unsigned j, i, nm, pass;

	(void)now_ms;
	if (g->host.session == NULL || g->n_active >= g->cfg.active_max)
		return;
	nm = shuffled(g);
	for (pass = 0; pass < 2 && g->n_active < g->cfg.active_max; pass++)
		for (j = 0; j < nm && g->n_active < g->cfg.active_max; j++) {
			struct gmem *m = &g->mem[g->order[j]];
			bool ok = true;

			if (!m->used || m->active ||
			    m->state != HY_MEMBER_ALIVE)
				continue;
			if (pass == 0)
				for (i = 0; i < g->mem_hw && ok; i++)
					if (g->mem[i].used &&
					    g->mem[i].active &&
					    !diverse(&g->mem[i].addr, &m->addr))
						ok = false;
			if (ok)
				hy_g_set_active(g, m, true);
		}
}
