/*
 * node-live.c: the node's liveness layer and PEX, wired to the DHT and the
 * transports (DESIGN.md §5).
 *
 * Host side of gossip.h: a probe to a contact with a DTLS session goes as
 * PROBE over it (with gossip items), without one as a PING signed datagram
 * (its PONG counts as the ACK); PROBE_REQ goes over a session or TLS; the
 * fallback probe over TLS. Every call is a single attempt with the timeout
 * the module gives. Records are signed with the node's key and verified
 * with the key they carry, bound to their ID.
 *
 * Wiring (the same as tests/check_gossip_sim.c):
 *  - a DHT reply from a contact the routing table keeps (as contact or
 *    candidate) makes it a member, and a first-hand contact for PEX;
 *  - a failed DHT request to a member is a hint to probe it; the table
 *    does not count it (struct hy_dht_host.contact_failed);
 *  - any authenticated message from a member is a sign of life;
 *  - a DOWN verdict removes the contact from the routing table (its
 *    replacement is promoted) and counts as lost for PEX; a member that
 *    comes back is fed to the table as a reply; candidates from records
 *    and PEX are pinged through the DHT before they enter a bucket;
 *  - the active set (gossip.h) opens DTLS sessions and is the set of PEX
 *    peers.
 * The module's decisions are queued (struct hy_node_liveact) and carried
 * out after it returns, so that table changes never re-enter it.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "ident.h"
#include "node-internal.h"
#include "pex.h"
#include "tr-seeds.h"

enum { LA_UP = 1, LA_SUSPECT, LA_DOWN, LA_UPDATED, LA_CANDIDATE };

struct hy_node_gcall {
	struct hy_node *n;
	uint64_t cookie;
};

static void live_flush(struct hy_node *n, uint64_t now);

static void
queue_act(struct hy_node *n, uint8_t kind, const struct hy_id *id,
    const struct hy_addr *addr)
{
	struct hy_node_liveact *a;

	if (n->n_acts == HY_NODE_LIVEACTS) {
		n->acts_dropped++;
		return;
	}
	a = &n->acts[n->n_acts++];
	a->kind = kind;
	a->id = *id;
	a->addr = *addr;
}

static void
gcall_done(void *arg, int err, const struct hy_msg *reply,
    const struct hy_from *from)
{
	struct hy_node_gcall *c = arg;
	struct hy_node *n = c->n;
	uint64_t cookie = c->cookie, now = hy_node_now();

	(void)from;
	free(c);
	if (n->live == NULL)
		return;
	hy_gossip_on_response(n->live, cookie, err, reply, now);
	live_flush(n, now);
}

static int
g_request(void *host, const struct hy_addr *to, const struct hy_id *to_id,
    struct hy_msg *req, enum hy_gossip_via via, uint64_t timeout_ms,
    uint64_t cookie)
{
	struct hy_node *n = host;
	struct hy_rpc_opts o = { (uint32_t)timeout_ms, 0, 0 };
	struct hy_node_gcall *c;
	struct hy_msg ping;
	int rc;

	if (via == HY_GOSSIP_VIA_ANY) {
		if (hy_transport_session_up(hy_rpc_transport(n->rpc), to)) {
			o.flags = HY_RPC_SESSION;
		} else {
			/* no session: a PING signed datagram */
			rc = hy_msg_init(&ping, HY_MSG_PING, n->cfg.network, 0,
			    hy_ident_id(n->ident));
			if (rc != HY_OK)
				return rc;
			req = &ping;
		}
	} else {
		o.flags =
		    via == HY_GOSSIP_VIA_TLS ? HY_RPC_VIA_TLS : HY_RPC_SESSION;
	}
	if ((c = malloc(sizeof(*c))) == NULL)
		return HY_ENOMEM;
	c->n = n;
	c->cookie = cookie;
	rc = hy_rpc_call_opts(n->rpc, to, to_id, req, &o, gcall_done, c, NULL);
	if (rc != HY_OK)
		free(c);
	return rc;
}

static int
g_reply(void *host, const struct hy_gossip_peer *to, uint32_t txid,
    struct hy_msg *rep)
{
	struct hy_node *n = host;
	struct hy_from f;
	struct hy_msg req;

	memset(&req, 0, sizeof(req));
	req.txid = txid;
	memset(&f, 0, sizeof(f));
	f.addr = to->addr;
	f.id = to->id;
	f.path = (enum hy_wire_path)to->path;
	return hy_rpc_reply(n->rpc, &req, &f, rep);
}

static bool
g_session_up(void *host, const struct hy_addr *to)
{
	struct hy_node *n = host;

	return hy_transport_session_up(hy_rpc_transport(n->rpc), to);
}

static void
g_session(void *host, const struct hy_addr *to, const struct hy_id *id,
    bool open)
{
	struct hy_node *n = host;
	struct hy_contact c;

	if (open) {
		(void)hy_transport_open_session(hy_rpc_transport(n->rpc), to,
		    id);
		c.id = *id;
		c.addr = *to;
		if (n->pex != NULL)
			(void)hy_pex_peer_add(n->pex, &c, hy_node_now());
	} else {
		hy_transport_close_session(hy_rpc_transport(n->rpc), to);
		if (n->pex != NULL)
			hy_pex_peer_remove(n->pex, id);
	}
}

static void
g_event(void *host, enum hy_gossip_event ev, const struct hy_id *id,
    const struct hy_addr *addr)
{
	queue_act(host, (uint8_t)ev, id, addr);
}

static void
g_candidate(void *host, const struct hy_id *id, const struct hy_addr *addr)
{
	queue_act(host, LA_CANDIDATE, id, addr);
}

static int
g_sign(void *host, const uint8_t *tbs, size_t len, uint8_t sig[64])
{
	struct hy_node *n = host;

	return hy_ident_sign(n->ident, HY_RECORD_SIG_CTX, tbs, len, sig);
}

/* PROTOCOL.md §8.1: the signature over the re-encoded fields, and the ID
 * bound to the key. */
static int
g_verify(void *host, const struct hy_record *r)
{
	uint8_t tbs[HY_RECORD_TBS_MAX];
	struct hy_id id;
	size_t len;
	int err;

	(void)host;
	if ((err = hy_record_tbs(r, tbs, sizeof(tbs), &len)) != HY_OK ||
	    (err = hy_verify(r->pubkey, HY_RECORD_SIG_CTX, tbs, len, r->sig)) !=
	        HY_OK ||
	    (err = hy_pubkey_to_id(r->pubkey, &id)) != HY_OK)
		return err;
	return hy_id_eq(&id, &r->id) ? HY_OK : HY_EIDMISMATCH;
}

static bool
g_keep(void *host, const struct hy_id *id, bool *in_table)
{
	struct hy_node *n = host;
	struct hy_rtable *rt = hy_dht_rtable(n->dht);
	struct hy_rtable_contact c;

	*in_table = hy_rtable_find(rt, id, &c) == HY_OK;
	return *in_table || hy_rtable_is_candidate(rt, id);
}

/* A contact or candidate of the routing table? */
static bool
in_view(struct hy_node *n, const struct hy_id *id)
{
	bool in;

	return g_keep(n, id, &in);
}

static void
live_event(struct hy_node *n, enum hy_node_event ev,
    const struct hy_node_liveact *a)
{
	struct hy_rtable_contact c;

	memset(&c, 0, sizeof(c));
	c.id = a->id;
	c.addr = a->addr;
	hy_node_queue_event(n, ev, &c);
}

/* Carry out what the module decided; re-arm its timer. */
static void
live_flush(struct hy_node *n, uint64_t now)
{
	unsigned i;

	for (i = 0; i < n->n_acts; i++) {
		struct hy_node_liveact *a = &n->acts[i];

		switch (a->kind) {
		case LA_UP:
			/* back from down: into the table again */
			if (!in_view(n, &a->id))
				hy_dht_heard(n->dht, &a->id, &a->addr,
				    HY_RTABLE_REPLY, now);
			live_event(n, HY_EVENT_MEMBER_UP, a);
			break;
		case LA_SUSPECT:
			live_event(n, HY_EVENT_MEMBER_SUSPECT, a);
			break;
		case LA_DOWN:
			(void)hy_rtable_remove(hy_dht_rtable(n->dht), &a->id,
			    now);
			if (n->pex != NULL)
				hy_pex_lost(n->pex, &a->id, now);
			live_event(n, HY_EVENT_MEMBER_DOWN, a);
			break;
		case LA_UPDATED:
			live_event(n, HY_EVENT_MEMBER_UPDATED, a);
			break;
		case LA_CANDIDATE:
			(void)hy_dht_ping(n->dht, &a->addr, &a->id, now);
			break;
		}
	}
	n->n_acts = 0;
	hy_node_live_resched(n);
	hy_node_resched(n);
}

static void
pex_send_due(struct hy_node *n, uint64_t now)
{
	struct hy_contact due[16];
	struct hy_msg m;
	size_t nd, i, budget;

	nd = hy_pex_due(n->pex, now, due, sizeof(due) / sizeof(due[0]));
	for (i = 0; i < nd; i++) {
		if (hy_msg_init(&m, HY_MSG_PEX, n->cfg.network, 0,
		        hy_ident_id(n->ident)) != HY_OK)
			return;
		budget = n->pex_budget;
		if (hy_pex_build(n->pex, &due[i].id, now, budget,
		        &m.body.pex) <= 0)
			continue;
		if (hy_rpc_send_session(n->rpc, &due[i].addr, &due[i].id, &m) ==
		    HY_OK)
			n->pex_sent++;
	}
}

/* Every seed_retry_s while joined, the seeds are asked again: two halves
 * of a split overlay find each other through them. */
static void
seeds_retry(struct hy_node *n, uint64_t now)
{
	if (n->cfg.seed_retry_s == 0 || n->seeds == NULL ||
	    now < n->next_seed_retry_ms)
		return;
	n->next_seed_retry_ms = now + n->cfg.seed_retry_s * 1000;
	if (n->was_joined && hy_seeds_count(n->seeds) > 0)
		(void)hy_seeds_start(n->seeds);
}

static void
live_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hy_node *n = arg;
	uint64_t now = hy_node_now();

	(void)fd;
	(void)what;
	if (n->live == NULL)
		return;
	if (now >= hy_gossip_next_deadline(n->live))
		(void)hy_gossip_tick(n->live, now);
	if (n->pex != NULL && now >= hy_pex_next_deadline(n->pex))
		pex_send_due(n, now);
	seeds_retry(n, now);
	live_flush(n, now);
}

void
hy_node_live_resched(struct hy_node *n)
{
	uint64_t now, d;

	if (n->live == NULL)
		return;
	now = hy_node_now();
	d = hy_gossip_next_deadline(n->live);
	if (n->pex != NULL && hy_pex_next_deadline(n->pex) < d)
		d = hy_pex_next_deadline(n->pex);
	if (n->cfg.seed_retry_s > 0 && n->next_seed_retry_ms < d)
		d = n->next_seed_retry_ms;
	hy_node_arm(n->live_tick, d, now);
}

/* The bytes the two PEX lists may take on a DTLS record. */
static size_t
pex_budget(struct hy_node *n)
{
	uint8_t buf[HY_DGRAM_MAX];
	struct hy_msg m;
	size_t len;

	if (hy_msg_init(&m, HY_MSG_PEX, n->cfg.network, UINT32_MAX,
	        hy_ident_id(n->ident)) != HY_OK ||
	    hy_msg_encode(&m, HY_PATH_DTLS, buf, sizeof(buf), &len) != HY_OK)
		return 0;
	/* (txid UINT32_MAX: the largest txid encoding) */
	return HY_DTLS_PAYLOAD_MAX - len + 2;
}

static void
live_config(const struct hy_node *n, struct hy_gossip_config *gc)
{
	const struct hy_config *c = &n->cfg;

	if (strcmp(c->liveness, "wan") == 0)
		hy_gossip_config_wan(gc);
	else
		hy_gossip_config_lan(gc);
	snprintf(gc->network, sizeof(gc->network), "%s", c->network);
	if (c->probe_interval_ms != 0)
		gc->probe_interval_ms = c->probe_interval_ms;
	if (c->suspicion_mult != 0)
		gc->suspicion_mult = (unsigned)c->suspicion_mult;
	gc->indirect_k = (unsigned)c->indirect_probes;
	gc->active_max = (unsigned)c->active_set;
}

int
hy_node_live_start(struct hy_node *n, uint64_t now, char *err, size_t errlen)
{
	struct hy_gossip_config gc;
	struct hy_gossip_host gh;
	struct hy_pex_config pc;
	struct hy_addr addrs[2];
	const struct hy_addr *la;
	size_t na = 0;
	uint64_t seed;
	int e;

	memset(&gh, 0, sizeof(gh));
	gh.ctx = n;
	gh.request = g_request;
	gh.reply = g_reply;
	gh.session_up = g_session_up;
	gh.session = g_session;
	gh.event = g_event;
	gh.candidate = g_candidate;
	gh.sign = g_sign;
	gh.verify = g_verify;
	gh.keep = g_keep;
	live_config(n, &gc);
	if ((n->live_tick = evtimer_new(n->base, live_on_tick, n)) == NULL) {
		snprintf(err, errlen, "liveness: out of memory");
		return HY_ENOMEM;
	}
	if ((e = hy_random_bytes(&seed, sizeof(seed))) != HY_OK ||
	    (e = hy_gossip_new(&n->live, hy_ident_id(n->ident), &gc, &gh, seed,
	         now)) != HY_OK) {
		snprintf(err, errlen, "liveness: %s", hy_strerror(e));
		return e;
	}
	if ((la = hy_transport_local(hy_rpc_transport(n->rpc), HY_AF_INET)) !=
	    NULL)
		addrs[na++] = *la;
	if ((la = hy_transport_local(hy_rpc_transport(n->rpc), HY_AF_INET6)) !=
	    NULL)
		addrs[na++] = *la;
	/* seq: wall-clock ms, so a restarted node outranks its old records */
	e = hy_gossip_set_record(n->live, hy_ident_pubkey(n->ident), addrs, na,
	    hy_clock_wall(hy_clock_system()), hy_clock_wall(hy_clock_system()),
	    now);
	if (e != HY_OK) {
		snprintf(err, errlen, "liveness record: %s", hy_strerror(e));
		return e;
	}
	if (n->cfg.pex) {
		hy_pex_config_default(&pc);
		for (size_t i = 0; i < n->cfg.n_listen; i++)
			if (hy_addr_is_local(&n->cfg.listen[i]))
				pc.allow_local = true;
		if ((e = hy_pex_new(&n->pex, hy_ident_id(n->ident), &pc,
		         now)) != HY_OK) {
			snprintf(err, errlen, "PEX: %s", hy_strerror(e));
			return e;
		}
		n->pex_budget = pex_budget(n);
	}
	n->next_seed_retry_ms = now + n->cfg.seed_retry_s * 1000;
	hy_node_live_resched(n);
	return HY_OK;
}

void
hy_node_live_stop(struct hy_node *n)
{
	if (n->live_tick != NULL) {
		event_free(n->live_tick);
		n->live_tick = NULL;
	}
	hy_gossip_free(n->live);
	n->live = NULL;
	hy_pex_free(n->pex);
	n->pex = NULL;
	n->n_acts = 0;
}

bool
hy_node_live_request(struct hy_node *n, const struct hy_msg *msg,
    const struct hy_from *from)
{
	struct hy_gossip_peer p;
	struct hy_contact cand[HY_PEX_MAX];
	size_t nc = 0, i;
	uint64_t now = hy_node_now();
	bool mine = msg->type == HY_MSG_PROBE ||
	    msg->type == HY_MSG_PROBE_REQ || msg->type == HY_MSG_PEX;

	if (n->live == NULL)
		return mine;
	if (mine && from->path == HY_PATH_DGRAM) {
		n->live_refused++; /* PROTOCOL.md §2: sessions only */
		return true;
	}
	if (msg->type == HY_MSG_PROBE || msg->type == HY_MSG_PROBE_REQ) {
		p.id = from->id;
		p.addr = from->addr;
		p.path = (int)from->path;
		(void)hy_gossip_on_request(n->live, msg, &p, now);
	} else {
		hy_gossip_heard(n->live, &from->id, &from->addr, now);
		if (msg->n_gossip > 0)
			hy_gossip_on_items(n->live, msg, &from->id, now);
		if (msg->type == HY_MSG_PEX && n->pex != NULL) {
			struct hy_contact pp = { from->id, from->addr };

			/* it keeps us in its active set: exchange both ways */
			(void)hy_pex_peer_add(n->pex, &pp, now);
		}
		if (msg->type == HY_MSG_PEX && n->pex != NULL &&
		    hy_pex_receive(n->pex, &from->id, &msg->body.pex, now, cand,
		        HY_PEX_MAX, &nc) == HY_OK)
			for (i = 0; i < nc; i++)
				queue_act(n, LA_CANDIDATE, &cand[i].id,
				    &cand[i].addr);
	}
	live_flush(n, now);
	return mine;
}

void
hy_node_live_replied(struct hy_node *n, const struct hy_msg *reply,
    const struct hy_addr *from, uint64_t now)
{
	struct hy_contact pc;
	bool in = false;

	if (n->live == NULL || reply == NULL || from == NULL)
		return;
	if (g_keep(n, &reply->sender, &in))
		hy_gossip_add(n->live, &reply->sender, from, in, now);
	if (reply->n_gossip > 0)
		hy_gossip_on_items(n->live, reply, &reply->sender, now);
	if (n->pex != NULL && in) {
		pc.id = reply->sender;
		pc.addr = *from;
		hy_pex_verified(n->pex, &pc, now);
	}
	live_flush(n, now);
}

void
hy_node_live_queried(struct hy_node *n, const struct hy_from *from)
{
	uint64_t now = hy_node_now();
	bool in_table;

	/* an authenticated request: a candidate that asks is watched too */
	if (n->live != NULL && g_keep(n, &from->id, &in_table)) {
		hy_gossip_add(n->live, &from->id, &from->addr, in_table, now);
		live_flush(n, now);
	}
}

bool
hy_node_live_contact_failed(void *host, const struct hy_id *id,
    const struct hy_addr *addr)
{
	struct hy_node *n = host;
	struct hy_gossip_member m;

	(void)addr;
	if (n->live == NULL || hy_gossip_find(n->live, id, &m) != HY_OK ||
	    m.state == HY_MEMBER_DOWN)
		return false;
	hy_gossip_hint_failed(n->live, id, hy_node_now());
	hy_node_live_resched(n);
	return true;
}

void
hy_node_live_contact_change(struct hy_node *n,
    const struct hy_rtable_contact *c, bool added)
{
	if (n->live == NULL)
		return;
	if (added) {
		/* verified or not: its liveness is ours to watch now (an
		 * unverified one that never answers goes down) */
		hy_gossip_add(n->live, &c->id, &c->addr, true, hy_node_now());
	} else {
		hy_gossip_remove(n->live, &c->id); /* a down member stays */
		if (n->pex != NULL)
			hy_pex_lost(n->pex, &c->id, hy_node_now());
	}
}
