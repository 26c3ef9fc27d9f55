/*
 * gossip.c: the liveness view, signed self-records, suspicion hints and the
 * entry points (see gossip.h; probing lives in gossip-probe.c).
 *
 * Invariants:
 *  - a member slot is used iff its ID appears once in mem[]; n_live counts
 *    alive + suspect (<= members_max), n_down the down ones (<= down_max);
 *  - m->probe names the probe in progress for that member, or -1;
 *  - a member is suspect only after a probe of ours failed
 *    (hy_g_suspect is called from gossip-probe.c only), and down only when
 *    its suspicion expired while our health allowed verdicts;
 *  - m->seq only grows, and only from records whose signature verified.
 *
 * Records and hints (PROTOCOL.md §8): a member's record with a higher seq
 * than the one known is verified once, then relayed (queued in the bcast
 * queue with lambda * log n transmissions); a record of a node outside the
 * view is verified once per (id, seq) (the seen ring) and offered to the
 * host as a candidate to ping, but not relayed: spreading every node's
 * record to every node would be the full membership DESIGN.md §5 rules
 * out, so a record travels among the nodes that know its owner. A hint
 * (SUSPECT) about a member marks it to be probed soon and, if it is already
 * suspect, confirms the suspicion once per reporter; it is relayed once per
 * (member, seq), also by nodes that do not know the suspect (the seen ring), so
 * that it reaches every node that does, and the suspect itself, which refutes
 * by signing its record again with seq + 1.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip-internal.h"

static void rearm(struct hy_gossiper *g, uint64_t now_ms);

void
hy_gossip_config_lan(struct hy_gossip_config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->network, "hypha", 6);
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 500;
	c->indirect_timeout_ms = 1000;
	c->indirect_k = 3;
	c->tls_probe = true;
	c->suspicion_mult = 2;
	c->suspicion_max_mult = 5;
	c->suspicion_k = 3;
	c->health_max = 8;
	c->health_evict_max = 2;
	c->stall_ms = 500;
	c->retransmit_mult = 4;
	c->gossip_interval_ms = 200;
	c->gossip_fanout = 3;
	c->active_max = 8;
	c->members_max = 1024;
	c->down_max = 256;
	c->down_keep_ms = 24 * 3600 * 1000ULL;
	c->reprobe_ms = 2000;
	c->probes_max = 32;
	c->relays_max = 64;
	c->bcast_max = 512;
	c->piggyback_bytes = 900;
	c->record_refresh_ms = 10 * 60 * 1000;
}

void
hy_gossip_config_wan(struct hy_gossip_config *c)
{
	hy_gossip_config_lan(c);
	c->probe_interval_ms = 5000;
	c->probe_timeout_ms = 3000;
	c->indirect_timeout_ms = 6000;
	c->suspicion_mult = 4;
	c->stall_ms = 2000;
	c->gossip_interval_ms = 1000;
	c->reprobe_ms = 10000;
}

static int
config_check(const struct hy_gossip_config *c)
{
	if (c->network[0] == '\0' || c->probe_interval_ms == 0 ||
	    c->probe_timeout_ms == 0 || c->indirect_timeout_ms == 0 ||
	    c->indirect_k > HY_GOSSIP_K_MAX || c->suspicion_mult == 0 ||
	    c->suspicion_max_mult == 0 || c->suspicion_k == 0 ||
	    c->suspicion_k > HY_SUSPICION_K_MAX || c->health_max == 0 ||
	    c->stall_ms == 0 || c->retransmit_mult == 0 ||
	    c->gossip_interval_ms == 0 || c->members_max == 0 ||
	    c->members_max > HY_GOSSIP_MEMBERS_MAX ||
	    c->down_max > HY_GOSSIP_MEMBERS_MAX || c->reprobe_ms == 0 ||
	    c->probes_max == 0 || c->probes_max > 4096 ||
	    c->relays_max > 4096 || c->bcast_max == 0 ||
	    c->bcast_max > HY_BCAST_MAX || c->piggyback_bytes < 128 ||
	    c->record_refresh_ms == 0 || c->active_max > c->members_max)
		return HY_EINVAL;
	return HY_OK;
}

int
hy_gossip_new(struct hy_gossiper **out, const struct hy_id *self,
    const struct hy_gossip_config *cfg, const struct hy_gossip_host *host,
    uint64_t rng_seed, uint64_t now_ms)
{
	struct hy_gossiper *g;
	struct hy_gossip_config def;
	unsigned i;

	if (cfg == NULL) {
		hy_gossip_config_lan(&def);
		cfg = &def;
	}
	if (out == NULL || self == NULL || hy_id_is_zero(self) ||
	    host == NULL || host->request == NULL || host->reply == NULL ||
	    host->event == NULL || host->sign == NULL || host->verify == NULL ||
	    config_check(cfg) != HY_OK)
		return HY_EINVAL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return HY_ENOMEM;
	g->cfg = *cfg;
	g->host = *host;
	g->self = *self;
	hy_rng_seed(&g->rng, rng_seed);
	hy_health_init(&g->health, cfg->health_max);
	g->mem_cap = cfg->members_max + cfg->down_max;
	g->pend_cap = cfg->probes_max * (HY_GOSSIP_K_MAX + 2) +
	    cfg->relays_max + 4 * cfg->gossip_fanout + 16;
	g->bc = hy_bcast_new(cfg->bcast_max);
	g->mem = calloc(g->mem_cap, sizeof(*g->mem));
	g->order = calloc(g->mem_cap, sizeof(*g->order));
	g->probe = calloc(cfg->probes_max, sizeof(*g->probe));
	g->relay = calloc(cfg->relays_max + 1, sizeof(*g->relay));
	g->pend = calloc(g->pend_cap, sizeof(*g->pend));
	if (g->bc == NULL || g->mem == NULL || g->order == NULL ||
	    g->probe == NULL || g->relay == NULL || g->pend == NULL) {
		hy_gossip_free(g);
		return HY_ENOMEM;
	}
	for (i = 0; i < g->mem_cap; i++)
		g->mem[i].probe = -1;
	g->next_probe_ms =
	    now_ms + hy_rng_below(&g->rng, cfg->probe_interval_ms);
	g->next_push_ms = now_ms + cfg->gossip_interval_ms;
	g->next_reprobe_ms = now_ms + cfg->reprobe_ms;
	g->next_refresh_ms = now_ms + cfg->record_refresh_ms;
	g->next_susp_ms = UINT64_MAX;
	g->next_seq = (uint32_t)hy_rng_next(&g->rng);
	g->due_ms = hy_gossip_next_deadline(g);
	*out = g;
	return HY_OK;
}

void
hy_gossip_free(struct hy_gossiper *g)
{
	if (g == NULL)
		return;
	hy_bcast_free(g->bc);
	free(g->mem);
	free(g->order);
	free(g->probe);
	free(g->relay);
	free(g->pend);
	free(g);
}

int
hy_g_msg(struct hy_gossiper *g, struct hy_msg *m, unsigned type)
{
	return hy_msg_init(m, type, g->cfg.network, 0, &g->self);
}

int
hy_g_find(const struct hy_gossiper *g, const struct hy_id *id)
{
	unsigned i;

	for (i = 0; i < g->mem_hw; i++)
		if (g->mem[i].used && g->mem[i].id.b[0] == id->b[0] &&
		    hy_id_eq(&g->mem[i].id, id))
			return (int)i;
	return -1;
}

void
hy_g_event(struct hy_gossiper *g, enum hy_gossip_event ev, const struct gmem *m)
{
	g->host.event(g->host.ctx, ev, &m->id, &m->addr);
}

bool
hy_g_stalled_since(const struct hy_gossiper *g, uint64_t t)
{
	return g->last_stall_ms != 0 && g->last_stall_ms >= t;
}

void
hy_g_set_active(struct hy_gossiper *g, struct gmem *m, bool on)
{
	if (m->active == on)
		return;
	m->active = on;
	if (on)
		g->n_active++;
	else
		g->n_active--;
	if (g->host.session != NULL)
		g->host.session(g->host.ctx, &m->addr, &m->id, on);
}

void
hy_g_set_state(struct hy_gossiper *g, struct gmem *m, uint8_t st,
    uint64_t now_ms)
{
	if (m->state == HY_MEMBER_DOWN && st != HY_MEMBER_DOWN) {
		g->n_down--;
		g->n_live++;
	} else if (m->state != HY_MEMBER_DOWN && st == HY_MEMBER_DOWN) {
		g->n_live--;
		g->n_down++;
	}
	m->state = st;
	m->since_ms = now_ms;
	if (st != HY_MEMBER_ALIVE)
		hy_g_set_active(g, m, false);
}

/* Free a slot (the member is forgotten). */
static void
mem_free(struct hy_gossiper *g, int mi)
{
	struct gmem *m = &g->mem[mi];

	hy_g_probe_drop_member(g, mi);
	hy_g_set_active(g, m, false);
	if (m->state == HY_MEMBER_DOWN)
		g->n_down--;
	else
		g->n_live--;
	memset(m, 0, sizeof(*m));
	m->probe = -1;
	while (g->mem_hw > 0 && !g->mem[g->mem_hw - 1].used)
		g->mem_hw--;
}

static int
mem_alloc(struct hy_gossiper *g)
{
	unsigned i;

	for (i = 0; i < g->mem_cap; i++)
		if (!g->mem[i].used) {
			if (i >= g->mem_hw)
				g->mem_hw = i + 1;
			return (int)i;
		}
	return -1;
}

void
hy_g_alive(struct hy_gossiper *g, struct gmem *m, uint64_t now_ms)
{
	if (m->state == HY_MEMBER_ALIVE)
		return;
	if (m->state == HY_MEMBER_SUSPECT) {
		g->st.refuted++;
		hy_bcast_drop(g->bc, HY_GOSSIP_SUSPECT, &m->id);
	} else {
		if (g->n_live >= g->cfg.members_max)
			return; /* no room: it stays down, re-probed later */
		g->st.back_up++;
		m->reprobe_n = 0;
	}
	hy_g_set_state(g, m, HY_MEMBER_ALIVE, now_ms);
	m->n_pre = 0;
	hy_g_event(g, HY_GEV_UP, m);
}

void
hy_g_suspect(struct hy_gossiper *g, struct gmem *m, uint64_t now_ms)
{
	struct hy_gossip g_item;
	uint64_t min, max;
	unsigned i, n = g->n_live + 1;

	if (m->state != HY_MEMBER_ALIVE)
		return;
	g->st.suspicions++;
	hy_g_set_state(g, m, HY_MEMBER_SUSPECT, now_ms);
	/* not stretched by our health: a degraded node gives no verdicts
	 * at all (susp_tick), and the probe that failed just raised it */
	min = hy_suspicion_min_ms(g->cfg.suspicion_mult, n,
	    g->cfg.probe_interval_ms);
	max = min * g->cfg.suspicion_max_mult;
	hy_suspicion_start(&m->susp, now_ms, min, max, g->cfg.suspicion_k);
	for (i = 0; i < m->n_pre; i++)
		if (hy_suspicion_confirm(&m->susp, &m->pre[i]))
			g->st.confirmations++;
	m->n_pre = 0;
	if (hy_suspicion_deadline(&m->susp) < g->next_susp_ms)
		g->next_susp_ms = hy_suspicion_deadline(&m->susp);
	hy_g_event(g, HY_GEV_SUSPECT, m);
	/* our own hint: makes others look, and reaches the suspect */
	memset(&g_item, 0, sizeof(g_item));
	g_item.kind = HY_GOSSIP_SUSPECT;
	g_item.u.suspect.id = m->id;
	g_item.u.suspect.seq = m->seq;
	g_item.u.suspect.age_ms = 0;
	g_item.u.suspect.reporter = g->self;
	if (hy_bcast_push(g->bc, &g_item, hy_g_transmits(g)) == HY_OK)
		g->st.hints_sent++;
	m->hint_seq = m->seq + 1;
}

void
hy_g_down(struct hy_gossiper *g, struct gmem *m, uint64_t now_ms)
{
	unsigned i;
	int oldest = -1;

	if (m->state != HY_MEMBER_SUSPECT)
		return;
	/* room among the down: the longest-down gives way */
	if (g->n_down >= g->cfg.down_max) {
		for (i = 0; i < g->mem_hw; i++)
			if (g->mem[i].used &&
			    g->mem[i].state == HY_MEMBER_DOWN &&
			    (oldest < 0 ||
			        g->mem[i].since_ms < g->mem[oldest].since_ms))
				oldest = (int)i;
		if (oldest >= 0)
			mem_free(g, oldest);
	}
	g->st.downs++;
	hy_bcast_drop(g->bc, HY_GOSSIP_SUSPECT, &m->id);
	if (g->cfg.down_max == 0) {
		hy_g_event(g, HY_GEV_DOWN, m);
		mem_free(g, (int)(m - g->mem));
		return;
	}
	hy_g_set_state(g, m, HY_MEMBER_DOWN, now_ms);
	m->in_table = false;
	m->reprobe_n = 0;
	m->next_reprobe_ms = now_ms + g->cfg.reprobe_ms;
	hy_g_event(g, HY_GEV_DOWN, m);
}

unsigned
hy_g_transmits(const struct hy_gossiper *g)
{
	unsigned n = g->n_live + 1, lg = 1;

	while (n >= 10) {
		n /= 10;
		lg++;
	}
	return g->cfg.retransmit_mult * lg;
}

void
hy_g_fill_items(struct hy_gossiper *g, struct hy_msg *msg)
{
	msg->n_gossip = (uint32_t)hy_bcast_take(g->bc, msg->gossip,
	    HY_GOSSIP_MAX, g->cfg.piggyback_bytes);
}

/* ---- records ------------------------------------------------------------
 */

static int
sign_record(struct hy_gossiper *g)
{
	uint8_t tbs[HY_RECORD_TBS_MAX];
	size_t len;
	int err;

	err = hy_record_tbs(&g->rec, tbs, sizeof(tbs), &len);
	if (err == HY_OK)
		err = g->host.sign(g->host.ctx, tbs, len, g->rec.sig);
	return err;
}

static void
push_own_record(struct hy_gossiper *g)
{
	struct hy_gossip it;

	memset(&it, 0, sizeof(it));
	it.kind = HY_GOSSIP_RECORD;
	it.u.record = g->rec;
	(void)hy_bcast_push(g->bc, &it, hy_g_transmits(g));
}

int
hy_gossip_set_record(struct hy_gossiper *g, const uint8_t pubkey[HY_PUBKEY_LEN],
    const struct hy_addr *addrs, size_t n, uint64_t seq, uint64_t wall_ms,
    uint64_t now_ms)
{
	struct hy_record r = g->rec;
	int err;

	if (n > HY_RECORD_ADDRS_MAX || (n > 0 && addrs == NULL))
		return HY_EINVAL;
	memset(&g->rec, 0, sizeof(g->rec));
	g->rec.id = g->self;
	memcpy(g->rec.pubkey, pubkey, HY_PUBKEY_LEN);
	g->rec.seq = seq;
	g->rec.n_addrs = (uint32_t)n;
	if (n > 0)
		memcpy(g->rec.addrs, addrs, n * sizeof(*addrs));
	g->rec.ts_ms = wall_ms;
	if ((err = sign_record(g)) != HY_OK) {
		g->rec = r;
		return err;
	}
	g->have_record = true;
	push_own_record(g);
	rearm(g, now_ms);
	return HY_OK;
}

/* A hint says we are suspected at seq: outrank it and spread the news. */
static void
refute(struct hy_gossiper *g, uint64_t seq)
{
	uint64_t old = g->rec.seq;

	if (!g->have_record)
		return;
	if (seq < g->rec.seq) {
		/* the reporter knew an older record of ours (or none): the
		 * current one outranks its hint already; spread it again */
		push_own_record(g);
		return;
	}
	g->rec.seq = seq + 1;
	if (sign_record(g) != HY_OK) {
		g->rec.seq = old;
		return;
	}
	g->st.refutations_sent++;
	push_own_record(g);
}

/* Was an item of this (kind, id) with at least seq handled already? */
static bool
seen_item(const struct hy_gossiper *g, uint8_t kind, const struct hy_id *id,
    uint64_t seq)
{
	unsigned i, at;

	for (i = 0; i < g->seen_len; i++) {
		at = (g->seen_head + G_SEEN_MAX - 1 - i) % G_SEEN_MAX;
		if (g->seen[at].kind == kind && hy_id_eq(&g->seen[at].id, id) &&
		    g->seen[at].seq >= seq)
			return true;
	}
	return false;
}

/* Remember a handled item of a non-member. Records only once verified:
 * a forgery with a high seq would hide the node's genuine records. */
static void
seen_add(struct hy_gossiper *g, uint8_t kind, const struct hy_id *id,
    uint64_t seq)
{
	g->seen[g->seen_head].kind = kind;
	g->seen[g->seen_head].id = *id;
	g->seen[g->seen_head].seq = seq;
	g->seen_head = (g->seen_head + 1) % G_SEEN_MAX;
	if (g->seen_len < G_SEEN_MAX)
		g->seen_len++;
}

static void
on_record(struct hy_gossiper *g, const struct hy_gossip *it, uint64_t now_ms)
{
	const struct hy_record *r = &it->u.record;
	struct gmem *m;
	int mi;

	if (hy_id_eq(&r->id, &g->self)) {
		/* an old incarnation of ours with a higher seq: outrank it */
		if (g->have_record && r->seq > g->rec.seq &&
		    g->host.verify(g->host.ctx, r) == HY_OK)
			refute(g, r->seq);
		return;
	}
	mi = hy_g_find(g, &r->id);
	m = mi >= 0 ? &g->mem[mi] : NULL;
	if (m != NULL && r->seq <= m->seq)
		return;
	if (m == NULL && seen_item(g, HY_GOSSIP_RECORD, &r->id, r->seq))
		return;
	g->st.records_in++;
	if (g->host.verify(g->host.ctx, r) != HY_OK) {
		g->st.records_bad++;
		return;
	}
	if (m == NULL) {
		seen_add(g, HY_GOSSIP_RECORD, &r->id, r->seq);
		/* not ours to spread (DESIGN.md §5: no full membership); a
		 * candidate the host pings before it enters any table */
		g->st.records_new++;
		if (g->host.candidate != NULL && r->n_addrs > 0) {
			g->st.candidates++;
			g->host.candidate(g->host.ctx, &r->id, &r->addrs[0]);
		}
		return;
	}
	/* relayed when it is news beyond our own view: a refutation (it
	 * outranks a seq we knew, or ends our suspicion); a node's first
	 * record only travels from the node itself, so a join does not
	 * flood its record through every holder */
	if (m->seq != 0 || m->state == HY_MEMBER_SUSPECT)
		(void)hy_bcast_push(g->bc, it, hy_g_transmits(g));
	m->seq = r->seq;
	hy_g_event(g, HY_GEV_UPDATED, m);
	if (m->state == HY_MEMBER_SUSPECT)
		hy_g_alive(g, m, now_ms); /* refuted by the suspect itself */
	else if (m->state == HY_MEMBER_DOWN)
		m->next_reprobe_ms = now_ms; /* it says it lives: look now */
}

static void
on_suspect(struct hy_gossiper *g, const struct hy_gossip *it,
    const struct hy_id *from, uint64_t now_ms)
{
	const struct hy_suspect *s = &it->u.suspect;
	const struct hy_id *rep = &s->reporter;
	bool relay = false;
	struct gmem *m;
	unsigned i;
	int mi;

	(void)from;
	if (hy_id_eq(&s->id, &g->self)) {
		g->st.hints_in++;
		refute(g, s->seq);
		return;
	}
	if (hy_id_eq(rep, &g->self) || hy_id_eq(rep, &s->id))
		return; /* our own hint coming back, or nonsense */
	if ((mi = hy_g_find(g, &s->id)) < 0) {
		/* not ours to judge, but others that know it should hear:
		 * relayed once per (id, seq); suspicions are rare */
		if (!seen_item(g, HY_GOSSIP_SUSPECT, &s->id, s->seq)) {
			seen_add(g, HY_GOSSIP_SUSPECT, &s->id, s->seq);
			(void)hy_bcast_push(g->bc, it, hy_g_transmits(g));
		}
		return;
	}
	m = &g->mem[mi];
	/* stale: the suspect refuted it already (seq 0: the reporter had no
	 * record of it; such a hint cannot be ordered, so it counts) */
	if (m->state == HY_MEMBER_DOWN || (s->seq != 0 && s->seq < m->seq))
		return;
	g->st.hints_in++;
	if (m->state == HY_MEMBER_SUSPECT) {
		/* an independent confirmation: shorter wait, and passed on
		 * (at most k per suspicion) */
		if (hy_suspicion_confirm(&m->susp, rep)) {
			g->st.confirmations++;
			relay = true;
			if (hy_suspicion_deadline(&m->susp) < g->next_susp_ms)
				g->next_susp_ms =
				    hy_suspicion_deadline(&m->susp);
		}
	} else {
		for (i = 0; i < m->n_pre; i++)
			if (hy_id_eq(&m->pre[i], rep))
				break;
		if (i == m->n_pre && m->n_pre < HY_SUSPICION_K_MAX)
			m->pre[m->n_pre++] = *rep;
		m->soon = true;
		if (m->probe < 0)
			hy_g_probe_start(g, mi, GP_SOON, now_ms);
	}
	/* relay the first hint per (member, seq), so that the suspect hears
	 * of it and every node that knows it looks */
	if (m->hint_seq != s->seq + 1) {
		m->hint_seq = s->seq + 1;
		relay = true;
	}
	if (relay)
		(void)hy_bcast_push(g->bc, it, hy_g_transmits(g));
}

void
hy_g_process_items(struct hy_gossiper *g, const struct hy_msg *msg,
    const struct hy_id *from, uint64_t now_ms)
{
	uint32_t i;

	for (i = 0; i < msg->n_gossip && i < HY_GOSSIP_MAX; i++) {
		if (msg->gossip[i].kind == HY_GOSSIP_RECORD)
			on_record(g, &msg->gossip[i], now_ms);
		else if (msg->gossip[i].kind == HY_GOSSIP_SUSPECT)
			on_suspect(g, &msg->gossip[i], from, now_ms);
	}
}

/* ---- entry points --------------------------------------------------------
 */

/* Remember the deadline the host is about to be given (a past one means
 * "at once"): a tick much later than this is a stall. */
static void
rearm(struct hy_gossiper *g, uint64_t now_ms)
{
	g->due_ms = hy_gossip_next_deadline(g);
	if (g->due_ms < now_ms)
		g->due_ms = now_ms;
}

void
hy_gossip_add(struct hy_gossiper *g, const struct hy_id *id,
    const struct hy_addr *addr, bool in_table, uint64_t now_ms)
{
	struct gmem *m;
	int mi;

	if (g == NULL || id == NULL || addr == NULL || hy_id_eq(id, &g->self))
		return;
	if ((mi = hy_g_find(g, id)) >= 0) {
		m = &g->mem[mi];
		m->in_table = m->in_table || in_table;
		if (m->state == HY_MEMBER_ALIVE)
			m->addr = *addr;
		hy_gossip_heard(g, id, addr, now_ms);
		return;
	}
	if (g->n_live >= g->cfg.members_max || (mi = mem_alloc(g)) < 0)
		return;
	m = &g->mem[mi];
	memset(m, 0, sizeof(*m));
	m->used = true;
	m->probe = -1;
	m->id = *id;
	m->addr = *addr;
	m->state = HY_MEMBER_ALIVE;
	m->since_ms = now_ms;
	m->last_probe_ms = now_ms;
	m->in_table = in_table;
	g->n_live++;
	hy_g_event(g, HY_GEV_UP, m);
	rearm(g, now_ms);
}

void
hy_gossip_set_in_table(struct hy_gossiper *g, const struct hy_id *id,
    bool in_table)
{
	int mi;

	if (g != NULL && (mi = hy_g_find(g, id)) >= 0)
		g->mem[mi].in_table = in_table;
}

void
hy_gossip_remove(struct hy_gossiper *g, const struct hy_id *id)
{
	int mi;

	if (g == NULL || (mi = hy_g_find(g, id)) < 0)
		return;
	if (g->mem[mi].state == HY_MEMBER_DOWN)
		return;
	mem_free(g, mi);
}

void
hy_gossip_heard(struct hy_gossiper *g, const struct hy_id *id,
    const struct hy_addr *addr, uint64_t now_ms)
{
	struct gmem *m;
	int mi;

	if (g == NULL || (mi = hy_g_find(g, id)) < 0)
		return;
	m = &g->mem[mi];
	if (m->state == HY_MEMBER_ALIVE)
		return;
	if (addr != NULL) /* suspect or down: maybe because it moved */
		m->addr = *addr;
	hy_g_alive(g, m, now_ms);
	rearm(g, now_ms);
}

void
hy_gossip_hint_failed(struct hy_gossiper *g, const struct hy_id *id,
    uint64_t now_ms)
{
	int mi;

	if (g == NULL || (mi = hy_g_find(g, id)) < 0)
		return;
	if (g->mem[mi].state == HY_MEMBER_ALIVE && g->mem[mi].probe < 0)
		hy_g_probe_start(g, mi, GP_SOON, now_ms);
	rearm(g, now_ms);
}

bool
hy_gossip_on_request(struct hy_gossiper *g, const struct hy_msg *req,
    const struct hy_gossip_peer *from, uint64_t now_ms)
{
	struct hy_msg rep;
	bool handled = false;

	if (g == NULL || req == NULL || from == NULL)
		return false;
	hy_g_process_items(g, req, &from->id, now_ms);
	hy_gossip_heard(g, &from->id, &from->addr, now_ms);
	if (req->type == HY_MSG_PROBE) {
		if (hy_g_msg(g, &rep, HY_MSG_ACK) == HY_OK) {
			rep.body.ack.seq = req->body.probe.seq;
			if (from->path != HY_PATH_DGRAM)
				hy_g_fill_items(g, &rep);
			(void)g->host.reply(g->host.ctx, from, req->txid, &rep);
		}
		handled = true;
	} else if (req->type == HY_MSG_PROBE_REQ) {
		handled = hy_g_serve_probe_req(g, req, from, now_ms);
	}
	rearm(g, now_ms);
	return handled;
}

void
hy_gossip_on_items(struct hy_gossiper *g, const struct hy_msg *msg,
    const struct hy_id *from_id, uint64_t now_ms)
{
	if (g == NULL || msg == NULL)
		return;
	hy_g_process_items(g, msg, from_id, now_ms);
	rearm(g, now_ms);
}

void
hy_gossip_on_response(struct hy_gossiper *g, uint64_t cookie, int err,
    const struct hy_msg *reply, uint64_t now_ms)
{
	uint32_t idx = (uint32_t)(cookie & 0xffffffffu);
	struct gpend p;

	if (g == NULL || idx == 0 || idx > g->pend_cap)
		return;
	idx--;
	if (!g->pend[idx].used || g->pend[idx].gen != (uint32_t)(cookie >> 32))
		return;
	p = g->pend[idx];
	g->pend[idx].used = false;
	g->pend[idx].gen++;
	if (err == HY_OK && reply == NULL)
		err = HY_EINVAL;
	if (err == HY_OK) {
		hy_g_process_items(g, reply, &reply->sender, now_ms);
		hy_gossip_heard(g, &reply->sender, NULL, now_ms);
	}
	hy_g_probe_response(g, &p, err, err == HY_OK ? reply : NULL, now_ms);
	rearm(g, now_ms);
}

/* Suspicions that ran out: down, unless we are in no state to judge. */
static void
susp_tick(struct hy_gossiper *g, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX, d, grace;
	bool judge;
	unsigned i;

	grace = 2 * hy_health_scale(&g->health, g->cfg.probe_interval_ms);
	judge = hy_health_score(&g->health) <= g->cfg.health_evict_max &&
	    !(g->last_stall_ms != 0 && now_ms < g->last_stall_ms + grace);
	for (i = 0; i < g->mem_hw; i++) {
		struct gmem *m = &g->mem[i];

		if (!m->used || m->state != HY_MEMBER_SUSPECT)
			continue;
		d = hy_suspicion_deadline(&m->susp);
		if (d <= now_ms && judge) {
			hy_g_down(g, m, now_ms);
			continue;
		}
		if (d <= now_ms)
			d = now_ms + g->cfg.probe_interval_ms; /* look later */
		if (d < next)
			next = d;
	}
	g->next_susp_ms = next;
}

/* Forget down contacts kept too long. */
static void
down_expire(struct hy_gossiper *g, uint64_t now_ms)
{
	unsigned i;

	for (i = 0; i < g->mem_hw; i++)
		if (g->mem[i].used && g->mem[i].state == HY_MEMBER_DOWN &&
		    now_ms - g->mem[i].since_ms > g->cfg.down_keep_ms)
			mem_free(g, (int)i);
}

uint64_t
hy_gossip_tick(struct hy_gossiper *g, uint64_t now_ms)
{
	uint64_t exp;

	if (g == NULL)
		return UINT64_MAX;
	/* called this long after the deadline the host was given: the node
	 * itself stalled (Lifeguard) */
	exp = hy_gossip_next_deadline(g);
	if (exp < g->due_ms)
		exp = g->due_ms; /* (a state change may have moved it later) */
	if (now_ms > exp && now_ms - exp > g->cfg.stall_ms) {
		g->st.stalls++;
		g->last_stall_ms = now_ms;
		hy_health_raise(&g->health, 1);
	}
	hy_g_probe_tick(g, now_ms);
	if (now_ms >= g->next_susp_ms)
		susp_tick(g, now_ms);
	if (now_ms >= g->next_push_ms) {
		hy_g_push_tick(g, now_ms);
		g->next_push_ms = now_ms + g->cfg.gossip_interval_ms;
	}
	if (now_ms >= g->next_refresh_ms) {
		if (g->have_record)
			push_own_record(g);
		down_expire(g, now_ms);
		g->next_refresh_ms = now_ms + g->cfg.record_refresh_ms;
	}
	rearm(g, now_ms);
	return g->due_ms;
}

uint64_t
hy_gossip_next_deadline(const struct hy_gossiper *g)
{
	uint64_t d;

	if (g == NULL)
		return UINT64_MAX;
	d = g->next_probe_ms;
	if (g->next_susp_ms < d)
		d = g->next_susp_ms;
	if (hy_bcast_len(g->bc) > 0 && g->next_push_ms < d)
		d = g->next_push_ms;
	if (g->n_down > 0 && g->next_reprobe_ms < d)
		d = g->next_reprobe_ms;
	if (g->next_refresh_ms < d)
		d = g->next_refresh_ms;
	if (hy_g_probe_deadline(g) < d)
		d = hy_g_probe_deadline(g);
	return d;
}

static void
to_public(const struct gmem *m, struct hy_gossip_member *out)
{
	memset(out, 0, sizeof(*out));
	out->id = m->id;
	out->addr = m->addr;
	out->state = m->state;
	out->since_ms = m->since_ms;
	out->seq = m->seq;
	out->confirmations = m->state == HY_MEMBER_SUSPECT ? m->susp.n : 0;
	out->active = m->active;
	out->in_table = m->in_table;
}

int
hy_gossip_foreach(const struct hy_gossiper *g,
    int (*cb)(const struct hy_gossip_member *m, void *arg), void *arg)
{
	struct hy_gossip_member pm;
	unsigned i, pass;
	int r;

	if (g == NULL)
		return 0;
	for (pass = 0; pass < 3; pass++)
		for (i = 0; i < g->mem_hw; i++) {
			if (!g->mem[i].used || g->mem[i].state != pass)
				continue;
			to_public(&g->mem[i], &pm);
			if ((r = cb(&pm, arg)) != 0)
				return r;
		}
	return 0;
}

int
hy_gossip_find(const struct hy_gossiper *g, const struct hy_id *id,
    struct hy_gossip_member *out)
{
	int mi;

	if (g == NULL || (mi = hy_g_find(g, id)) < 0)
		return HY_ENOENT;
	to_public(&g->mem[mi], out);
	return HY_OK;
}

unsigned
hy_gossip_health(const struct hy_gossiper *g)
{
	return g == NULL ? 0 : hy_health_score(&g->health);
}

void
hy_gossip_get_stats(const struct hy_gossiper *g, struct hy_gossip_stats *out)
{
	unsigned i;

	*out = g->st;
	out->alive = out->suspect = 0;
	for (i = 0; i < g->mem_hw; i++)
		if (g->mem[i].used && g->mem[i].state == HY_MEMBER_ALIVE)
			out->alive++;
		else if (g->mem[i].used && g->mem[i].state == HY_MEMBER_SUSPECT)
			out->suspect++;
	out->down = g->n_down;
	out->active = g->n_active;
	out->health = hy_health_score(&g->health);
}

uint64_t
hy_gossip_seq(const struct hy_gossiper *g)
{
	return g->rec.seq;
}
