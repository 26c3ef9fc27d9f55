/*
 * check_gossip_sim.c: DHT + gossip liveness nodes on the in-memory network
 * with a fake clock (tests/sim, doc/SIMULATION.md).
 *
 * Each node is a struct hy_dht and a struct hy_gossiper behind one host
 * shim, wired as the node facade wires them (src/node-live.c): the routing
 * table's failures go to the liveness layer (contact_failed), a DOWN verdict
 * removes the contact from the table, verified contacts become members,
 * record candidates are pinged through the DHT. Paths: every datagram
 * carries a one-byte path tag. Signed datagrams and DTLS records are plain
 * simulated datagrams (lossy); a DTLS session is a flag per pair that the
 * active set opens; a TLS message is sent as TLS_COPIES datagrams, standing
 * for TCP's retransmissions (partitions, freezes and crashes still apply).
 * Signatures are faked (the unit tests and the node use real ones).
 *
 * Scenarios (HY_SIM_NODES nodes, default 1000; links 20 ms + [0, 60] ms):
 *  (a) one node crashes: every node that held it marks it down; median and
 *      maximum detection time over the observers;
 *  (b) 10 % loss on every link for 30 simulated minutes: no live node is
 *      marked down anywhere;
 *  (c) Lifeguard: every 5 s, 10 % of the nodes freeze for 1-4 s: no node
 *      that was never frozen is marked down;
 *  (d) a 50/50 partition for 2 minutes, then healed: within 60 s every node
 *      has contacts on the other side again, and gets (from both halves)
 *      of keys stored before the split find at least as many as they did
 *      before it (>= 95 %: a few lookups in a fresh 1000-node overlay of
 *      this simulation miss the closest nodes);
 *  (e) PEX: a node joining through one seed with PEX, and one without
 *      (only (e) runs PEX; (a)-(d) run without it, to keep them fast).
 * HY_SIM_SEED replays a run; HY_SIM_MINUTES sets the duration of (b)
 * (default 30; 3 under valgrind) and a tenth of it that of (c).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "dht.h"
#include "gossip.h"
#include "pex.h"
#include "simcheck.h"
#include "simnet.h"
#include "wire.h"

#define PORT 7000
#define MAX_PENDING 2048
#define DHT_TIMEOUT_MS 2000
#define TLS_COPIES 3
#define EVQ_MAX 512

enum { TAG_DGRAM = 0, TAG_DTLS = 1, TAG_TLS = 2 };

struct world;
struct snode;

struct sreq {
	struct snode *s;
	uint32_t slot;
	uint64_t cookie;
	uint64_t timer;
	struct hy_addr to;
	uint16_t gen;
	bool used, gossip;
};

struct sev {
	uint8_t kind; /* enum hy_gossip_event, or 0x80: ping candidate */
	struct hy_id id;
	struct hy_addr addr;
};

struct snode {
	struct world *w;
	uint32_t idx, sid;
	struct hy_id id;
	struct hy_addr addr;
	struct hy_dht *dht;
	struct hy_gossiper *g;
	struct hy_pex *pex; /* NULL: PEX off for this node */
	uint64_t timer, timer_at;
	struct sreq req[MAX_PENDING];
	uint32_t nfree;
	uint16_t free_[MAX_PENDING];
	uint8_t *opened; /* session opened by us towards node i */
	struct sev evq[EVQ_MAX];
	unsigned nev;
	bool dead, frozen_ever, in_flush;
	unsigned group;
};

struct world {
	struct simnet *sim;
	struct snode *n;
	uint32_t nn;
	uint32_t nboot; /* nodes world_join starts (the rest wait) */
	uint64_t bad, msgs;
	/* verdicts */
	uint64_t downs, downs_of_live, downs_of_never_frozen, suspicions;
	uint64_t ups;
	uint64_t pex_msgs, pex_cands;
	uint32_t victim; /* UINT32_MAX: none */
	uint64_t t_crash;
	uint64_t *down_at; /* per observer: time it marked the victim down */
	uint64_t *susp_at; /* ... suspected it first */
};

static uint32_t
env_u32(const char *name, uint32_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtoul(s, &end, 10);
	return (*end == '\0' && v > 1 && v < 1000000) ? (uint32_t)v : def;
}

/* Simulated minutes of scenario (b): 30, HY_SIM_MINUTES, or 3 under
 * valgrind (HY_VALGRIND), where a simulated minute costs ~50x more. */
static uint32_t
sim_minutes(void)
{
	return env_u32("HY_SIM_MINUTES",
	    getenv("HY_VALGRIND") != NULL ? 3 : 30);
}

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
idx_of(const struct world *w, const struct hy_addr *a)
{
	for (uint32_t i = 0; i < w->nn; i++)
		if (hy_addr_eq(&w->n[i].addr, a))
			return i;
	return UINT32_MAX;
}

/* Node i's index from its address: simnet_addr_nth is 10.x.y.z, i + 1. */
static uint32_t
fast_idx(const struct world *w, const struct hy_addr *a)
{
	uint32_t i;

	if (a->family != HY_AF_INET)
		return UINT32_MAX;
	i = ((uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3]);
	if (i >= 1 && i - 1 < w->nn && hy_addr_eq(&w->n[i - 1].addr, a))
		return i - 1;
	return idx_of(w, a);
}

/* ---- the host shim --------------------------------------------------------
 */

static void node_timer(void *arg);
static void flush(struct snode *s);
static void pex_tick(struct snode *s, uint64_t now);

static void
resched(struct snode *s)
{
	uint64_t d, dg, now = simnet_now(s->w->sim);

	if (s->dead)
		return;
	d = hy_dht_next_deadline(s->dht);
	dg = hy_gossip_next_deadline(s->g);
	if (dg < d)
		d = dg;
	if (s->pex != NULL && hy_pex_next_deadline(s->pex) < d)
		d = hy_pex_next_deadline(s->pex);
	if (d < now)
		d = now;
	if (s->timer != 0 && s->timer_at <= d)
		return;
	if (s->timer != 0)
		simnet_timer_cancel(s->w->sim, s->timer);
	s->timer_at = d;
	s->timer = simnet_node_timer_add(s->w->sim, s->sid, d, node_timer, s);
}

static void
node_timer(void *arg)
{
	struct snode *s = arg;
	uint64_t now = simnet_now(s->w->sim);

	s->timer = 0;
	if (now >= hy_dht_next_deadline(s->dht))
		(void)hy_dht_tick(s->dht, now);
	if (now >= hy_gossip_next_deadline(s->g))
		(void)hy_gossip_tick(s->g, now);
	pex_tick(s, now);
	flush(s);
	resched(s);
}

static enum hy_wire_path
tag_path(uint8_t tag)
{
	return tag == TAG_DGRAM
	    ? HY_PATH_DGRAM
	    : (tag == TAG_DTLS ? HY_PATH_DTLS : HY_PATH_TLS);
}

static int
send_msg(struct snode *s, const struct hy_addr *to, const struct hy_msg *m,
    uint8_t tag)
{
	uint8_t buf[1 + 2048];
	size_t len;
	int err;
	unsigned i, copies = tag == TAG_TLS ? TLS_COPIES : 1;

	err = hy_msg_encode(m, tag_path(tag), buf + 1, sizeof(buf) - 1, &len);
	if (err != HY_OK) {
		s->w->bad++;
		return err;
	}
	buf[0] = tag;
	for (i = 0; i < copies; i++) {
		s->w->msgs++;
		err = simnet_send(s->w->sim, &s->addr, to, buf, len + 1);
	}
	return err;
}

static void
req_timeout(void *arg)
{
	struct sreq *r = arg;
	struct snode *s = r->s;
	uint64_t now = simnet_now(s->w->sim);

	r->used = false;
	r->timer = 0;
	r->gen++;
	s->free_[s->nfree++] = (uint16_t)r->slot;
	if (r->gossip)
		hy_gossip_on_response(s->g, r->cookie, HY_ETIMEDOUT, NULL, now);
	else
		hy_dht_on_response(s->dht, r->cookie, HY_ETIMEDOUT, NULL,
		    &r->to, now);
	flush(s);
	resched(s);
}

static int
start_req(struct snode *s, const struct hy_addr *to, struct hy_msg *m,
    uint8_t tag, uint64_t cookie, uint64_t timeout_ms, bool gossip)
{
	struct sreq *r;
	uint32_t slot;
	int err;

	if (s->nfree == 0)
		return HY_EFULL;
	slot = s->free_[--s->nfree];
	r = &s->req[slot];
	m->txid = (uint32_t)r->gen << 16 | slot;
	err = send_msg(s, to, m, tag);
	if (err != HY_OK) {
		s->free_[s->nfree++] = (uint16_t)slot;
		return err;
	}
	r->used = true;
	r->gossip = gossip;
	r->cookie = cookie;
	r->to = *to;
	r->timer = simnet_node_timer_add(s->w->sim, s->sid,
	    simnet_now(s->w->sim) + timeout_ms, req_timeout, r);
	return HY_OK;
}

static int
dht_request(void *host, const struct hy_addr *to, const struct hy_id *to_id,
    struct hy_msg *req, uint64_t cookie)
{
	(void)to_id;
	return start_req(host, to, req, TAG_DGRAM, cookie, DHT_TIMEOUT_MS,
	    false);
}

static int
dht_reply(void *host, const struct hy_msg *req, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *rep)
{
	(void)req;
	(void)to_id;
	return send_msg(host, to, rep, TAG_DGRAM);
}

static bool
dht_contact_failed(void *host, const struct hy_id *id,
    const struct hy_addr *addr)
{
	struct snode *s = host;
	struct hy_gossip_member m;

	(void)addr;
	if (hy_gossip_find(s->g, id, &m) != HY_OK || m.state == HY_MEMBER_DOWN)
		return false;
	hy_gossip_hint_failed(s->g, id, simnet_now(s->w->sim));
	return true;
}

static bool
g_session_up(void *host, const struct hy_addr *to)
{
	struct snode *s = host;
	uint32_t j = fast_idx(s->w, to);

	if (j == UINT32_MAX)
		return false;
	return s->opened[j] || s->w->n[j].opened[s->idx];
}

static void
g_session(void *host, const struct hy_addr *to, const struct hy_id *id,
    bool open)
{
	struct snode *s = host;
	uint32_t j = fast_idx(s->w, to);

	if (j != UINT32_MAX)
		s->opened[j] = open;
	if (s->pex != NULL) {
		struct hy_contact c = { *id, *to };

		if (open)
			(void)hy_pex_peer_add(s->pex, &c,
			    simnet_now(s->w->sim));
		else
			hy_pex_peer_remove(s->pex, id);
	}
}

static int
g_request(void *host, const struct hy_addr *to, const struct hy_id *to_id,
    struct hy_msg *req, enum hy_gossip_via via, uint64_t timeout_ms,
    uint64_t cookie)
{
	struct snode *s = host;
	bool sess = g_session_up(s, to);
	struct hy_msg ping;

	(void)to_id;
	if (via == HY_GOSSIP_VIA_ANY && !sess) {
		/* no session: the probe goes as a PING signed datagram */
		if (hy_msg_init(&ping, HY_MSG_PING, "hypha", 0, &s->id) !=
		    HY_OK)
			return HY_EINVAL;
		return start_req(s, to, &ping, TAG_DGRAM, cookie, timeout_ms,
		    true);
	}
	return start_req(s, to, req,
	    (via != HY_GOSSIP_VIA_TLS && sess) ? TAG_DTLS : TAG_TLS, cookie,
	    timeout_ms, true);
}

static int
g_reply(void *host, const struct hy_gossip_peer *to, uint32_t txid,
    struct hy_msg *rep)
{
	rep->txid = txid;
	return send_msg(host, &to->addr, rep,
	    to->path == HY_PATH_DGRAM
	        ? TAG_DGRAM
	        : (to->path == HY_PATH_DTLS ? TAG_DTLS : TAG_TLS));
}

static void
queue_ev(struct snode *s, uint8_t kind, const struct hy_id *id,
    const struct hy_addr *addr)
{
	if (s->nev == EVQ_MAX)
		return;
	s->evq[s->nev].kind = kind;
	s->evq[s->nev].id = *id;
	s->evq[s->nev].addr = *addr;
	s->nev++;
}

static void
g_event(void *host, enum hy_gossip_event ev, const struct hy_id *id,
    const struct hy_addr *addr)
{
	queue_ev(host, (uint8_t)ev, id, addr);
}

static void
g_candidate(void *host, const struct hy_id *id, const struct hy_addr *addr)
{
	queue_ev(host, 0x80, id, addr);
}

/* Fake signatures: a function of (id, seq) that verify recomputes. */
static void
fake_sig(const struct hy_id *id, uint64_t seq, uint8_t sig[64])
{
	for (unsigned i = 0; i < 64; i++)
		sig[i] = id->b[i % 32] ^ (uint8_t)(seq >> (8 * (i % 8))) ^ 0x5a;
}

static int
g_sign(void *host, const uint8_t *tbs, size_t len, uint8_t sig[64])
{
	struct snode *s = host;
	uint64_t seq = 0;

	/* tbs = [id, pubkey, seq, ...]: take seq from the node's record */
	(void)tbs;
	(void)len;
	seq = s->g != NULL ? hy_gossip_seq(s->g) : 1;
	fake_sig(&s->id, seq, sig);
	return HY_OK;
}

static int
g_verify(void *host, const struct hy_record *r)
{
	uint8_t sig[64];

	(void)host;
	fake_sig(&r->id, r->seq, sig);
	return memcmp(sig, r->sig, 64) == 0 ? HY_OK : HY_EBADSIG;
}

static void
note_down(struct snode *s, const struct hy_id *id, const struct hy_addr *addr)
{
	struct world *w = s->w;
	uint32_t j = fast_idx(w, addr);

	w->downs++;
	if (j == UINT32_MAX || !hy_id_eq(&w->n[j].id, id))
		return;
	if (!w->n[j].dead)
		w->downs_of_live++;
	if (!w->n[j].dead && !w->n[j].frozen_ever)
		w->downs_of_never_frozen++;
	if (j == w->victim && w->down_at[s->idx] == 0)
		w->down_at[s->idx] = simnet_now(w->sim);
}

/* Act on what the liveness layer decided, outside its callbacks. */
static void
flush(struct snode *s)
{
	uint64_t now = simnet_now(s->w->sim);
	unsigned i;

	if (s->in_flush)
		return;
	s->in_flush = true;
	for (i = 0; i < s->nev; i++) {
		struct sev *e = &s->evq[i];

		switch (e->kind) {
		case HY_GEV_DOWN:
			note_down(s, &e->id, &e->addr);
			if (s->pex != NULL)
				hy_pex_lost(s->pex, &e->id, now);
			(void)hy_rtable_remove(hy_dht_rtable(s->dht), &e->id,
			    now);
			break;
		case HY_GEV_UP:
			s->w->ups++;
			hy_dht_heard(s->dht, &e->id, &e->addr, HY_RTABLE_REPLY,
			    now);
			break;
		case HY_GEV_SUSPECT:
			s->w->suspicions++;
			if (s->w->victim < s->w->nn &&
			    hy_id_eq(&e->id, &s->w->n[s->w->victim].id) &&
			    s->w->susp_at[s->idx] == 0)
				s->w->susp_at[s->idx] = now;
			break;
		case 0x80:
			(void)hy_dht_ping(s->dht, &e->addr, &e->id, now);
			break;
		default:
			break;
		}
	}
	s->nev = 0;
	s->in_flush = false;
}

static bool
g_keep(void *host, const struct hy_id *id, bool *in_table)
{
	struct snode *s = host;
	struct hy_rtable *rt = hy_dht_rtable(s->dht);
	struct hy_rtable_contact c;

	*in_table = hy_rtable_find(rt, id, &c) == HY_OK;
	return *in_table || hy_rtable_is_candidate(rt, id);
}

static void
on_change(void *arg, const struct hy_rtable_contact *c, bool added)
{
	struct snode *s = arg;

	if (s->g == NULL)
		return;
	if (added)
		hy_gossip_set_in_table(s->g, &c->id, true);
	else
		hy_gossip_remove(s->g, &c->id); /* a down member stays */
}

/* A DHT reply from a verified peer: a member if the table keeps it. */
static void
verified(struct snode *s, const struct hy_id *id, const struct hy_addr *from,
    uint64_t now)
{
	bool in = false;

	if (g_keep(s, id, &in))
		hy_gossip_add(s->g, id, from, in, now);
	if (in && s->pex != NULL) {
		struct hy_contact pc = { *id, *from };

		hy_pex_verified(s->pex, &pc, now);
	}
}

/* PEX to the peers it is due to, over their sessions. */
static void
pex_tick(struct snode *s, uint64_t now)
{
	struct hy_contact due[16];
	struct hy_msg *m;
	size_t nd;

	if (s->pex == NULL || now < hy_pex_next_deadline(s->pex))
		return;
	nd = hy_pex_due(s->pex, now, due, 16);
	if (nd == 0 || (m = malloc(sizeof(*m))) == NULL)
		return;
	for (size_t i = 0; i < nd; i++) {
		if (hy_msg_init(m, HY_MSG_PEX, "hypha", 0, &s->id) != HY_OK ||
		    hy_pex_build(s->pex, &due[i].id, now, 1000, &m->body.pex) <=
		        0)
			continue;
		s->w->pex_msgs++;
		(void)send_msg(s, &due[i].addr, m, TAG_DTLS);
	}
	free(m);
}

static void
node_recv(void *ctx, const struct hy_addr *from, const struct hy_addr *to,
    const uint8_t *data, size_t len)
{
	struct snode *s = ctx;
	struct hy_msg *m = malloc(sizeof(*m));
	uint64_t now = simnet_now(s->w->sim);
	uint8_t tag;

	(void)to;
	if (m == NULL || len < 2 ||
	    hy_msg_decode(m, data + 1, len - 1, tag_path(data[0])) != HY_OK) {
		s->w->bad++;
		free(m);
		return;
	}
	tag = data[0];
	if (hy_msg_kind_of(m->type) == HY_MK_REQ) {
		if (m->type == HY_MSG_PROBE || m->type == HY_MSG_PROBE_REQ) {
			struct hy_gossip_peer p;

			if (tag == TAG_DGRAM) {
				s->w->bad++; /* PROTOCOL.md §2 */
				free(m);
				return;
			}
			p.id = m->sender;
			p.addr = *from;
			p.path = (int)tag_path(tag);
			(void)hy_gossip_on_request(s->g, m, &p, now);
		} else {
			hy_gossip_heard(s->g, &m->sender, from, now);
			hy_dht_on_request(s->dht, m, from, &m->sender, now);
		}
	} else if (m->type == HY_MSG_PEX) {
		struct hy_contact cand[HY_PEX_MAX];
		size_t nc = 0;

		if (tag != TAG_DGRAM && s->pex != NULL) {
			struct hy_contact pp = { m->sender, *from };

			/* it keeps us in its active set: exchange both ways */
			(void)hy_pex_peer_add(s->pex, &pp, now);
		}
		if (tag != TAG_DGRAM && s->pex != NULL &&
		    hy_pex_receive(s->pex, &m->sender, &m->body.pex, now, cand,
		        HY_PEX_MAX, &nc) == HY_OK)
			for (size_t i = 0; i < nc; i++) {
				s->w->pex_cands++;
				queue_ev(s, 0x80, &cand[i].id, &cand[i].addr);
			}
	} else {
		uint32_t slot = m->txid & 0xffff;
		struct sreq *r = &s->req[slot < MAX_PENDING ? slot : 0];

		if (slot >= MAX_PENDING || !r->used ||
		    r->gen != (uint16_t)(m->txid >> 16) ||
		    !hy_addr_eq(&r->to, from)) {
			free(m);
			flush(s);
			return; /* late reply, or a TLS copy */
		}
		simnet_timer_cancel(s->w->sim, r->timer);
		r->timer = 0;
		r->used = false;
		r->gen++;
		s->free_[s->nfree++] = (uint16_t)slot;
		if (r->gossip) {
			hy_gossip_on_response(s->g, r->cookie, HY_OK, m, now);
		} else {
			hy_dht_on_response(s->dht, r->cookie, HY_OK, m, from,
			    now);
			verified(s, &m->sender, from, now);
		}
	}
	free(m);
	flush(s);
	resched(s);
}

/* ---- the world ------------------------------------------------------------
 */

static struct world *
world_new(uint32_t nn, double loss, bool pex)
{
	struct simnet_config scfg;
	struct hy_dht_config cfg;
	struct hy_gossip_config gcfg;
	struct hy_dht_host host;
	struct hy_gossip_host gh;
	struct world *w = calloc(1, sizeof(*w));
	struct hy_rng *rng;
	uint8_t pub[HY_PUBKEY_LEN];

	ck_assert_ptr_nonnull(w);
	simnet_config_default(&scfg);
	scfg.link.latency_ms = 20;
	scfg.link.jitter_ms = 60;
	scfg.link.loss = loss;
	scfg.max_datagram = 2100;
	w->sim = simnet_new(&scfg, simnet_seed_from_env(SIMNET_DEFAULT_SEED));
	ck_assert_ptr_nonnull(w->sim);
	simnet_print_seed(w->sim);
	rng = simnet_rng(w->sim);
	w->nn = nn;
	w->nboot = nn;
	w->victim = UINT32_MAX;
	w->n = calloc(nn, sizeof(*w->n));
	w->down_at = calloc(nn, sizeof(*w->down_at));
	w->susp_at = calloc(nn, sizeof(*w->susp_at));
	ck_assert_ptr_nonnull(w->n);
	ck_assert_ptr_nonnull(w->down_at);
	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	cfg.max_pending = 1024;
	cfg.max_ops = 64;
	cfg.max_maint_ops = 32;
	hy_gossip_config_lan(&gcfg);
	memset(&host, 0, sizeof(host));
	host.request = dht_request;
	host.reply = dht_reply;
	host.contact_failed = dht_contact_failed;
	memset(&gh, 0, sizeof(gh));
	gh.request = g_request;
	gh.reply = g_reply;
	gh.session_up = g_session_up;
	gh.session = g_session;
	gh.event = g_event;
	gh.candidate = g_candidate;
	gh.keep = g_keep;
	gh.sign = g_sign;
	gh.verify = g_verify;
	memset(pub, 2, sizeof(pub));
	for (uint32_t i = 0; i < nn; i++) {
		struct snode *s = &w->n[i];
		uint8_t secret[HY_DHT_SECRET_LEN];

		s->w = w;
		s->idx = i;
		hy_rng_bytes(rng, s->id.b, HY_ID_LEN);
		hy_rng_bytes(rng, secret, sizeof(secret));
		s->addr = simnet_addr_nth(i, PORT);
		s->sid = simnet_node_add(w->sim, s, node_recv);
		ck_assert_uint_ne(s->sid, SIMNET_NONE);
		ck_assert_int_eq(simnet_node_bind(w->sim, s->sid, &s->addr),
		    HY_OK);
		s->opened = calloc(nn, 1);
		ck_assert_ptr_nonnull(s->opened);
		host.ctx = s;
		gh.ctx = s;
		cfg.rtable.on_change = on_change;
		cfg.rtable.on_change_arg = s;
		ck_assert_int_eq(hy_dht_new(&s->dht, &s->id, &cfg, &host,
		                     secret, hy_rng_next(rng),
		                     simnet_now(w->sim)),
		    HY_OK);
		ck_assert_int_eq(hy_gossip_new(&s->g, &s->id, &gcfg, &gh,
		                     hy_rng_next(rng), simnet_now(w->sim)),
		    HY_OK);
		if (pex) {
			struct hy_pex_config pc;

			hy_pex_config_default(&pc);
			pc.allow_local = true;
			ck_assert_int_eq(hy_pex_new(&s->pex, &s->id, &pc,
			                     simnet_now(w->sim)),
			    HY_OK);
		}
		ck_assert_int_eq(hy_gossip_set_record(s->g, pub, &s->addr, 1, 1,
		                     simnet_now(w->sim), simnet_now(w->sim)),
		    HY_OK);
		s->nev = 0;
		for (uint32_t j = 0; j < MAX_PENDING; j++) {
			s->free_[j] = (uint16_t)(MAX_PENDING - 1 - j);
			s->req[j].s = s;
			s->req[j].slot = j;
		}
		s->nfree = MAX_PENDING;
		resched(s);
	}
	return w;
}

static void
world_free(struct world *w)
{
	for (uint32_t i = 0; i < w->nn; i++) {
		hy_pex_free(w->n[i].pex);
		hy_gossip_free(w->n[i].g);
		hy_dht_free(w->n[i].dht);
		free(w->n[i].opened);
	}
	simnet_free(w->sim);
	free(w->down_at);
	free(w->susp_at);
	free(w->n);
	free(w);
}

struct boot {
	struct world *w;
	uint32_t i;
};

static void
boot_node(void *arg)
{
	struct boot *b = arg;
	struct snode *s = &b->w->n[b->i];

	(void)hy_dht_bootstrap(s->dht, &b->w->n[0].addr, 1,
	    simnet_now(b->w->sim));
	flush(s);
	resched(s);
	free(b);
}

/* Node 0 first, then one node every 20 ms through node 0; settle. */
static void
world_join(struct world *w, uint64_t settle_ms)
{
	resched(&w->n[0]);
	for (uint32_t i = 1; i < w->nboot; i++) {
		struct boot *b = malloc(sizeof(*b));

		ck_assert_ptr_nonnull(b);
		b->w = w;
		b->i = i;
		ck_assert_uint_ne(simnet_timer_add(w->sim,
		                      simnet_now(w->sim) + 20ull * i, boot_node,
		                      b),
		    0);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 20ull * w->nboot + settle_ms,
	                     0),
	    HY_OK);
}

static void
print_view(struct world *w, const char *label)
{
	uint64_t alive = 0, susp = 0, down = 0, active = 0, rt = 0, rr = 0;
	uint32_t live = 0;

	for (uint32_t i = 0; i < w->nn; i++) {
		struct hy_gossip_stats st;

		if (w->n[i].dead)
			continue;
		live++;
		hy_gossip_get_stats(w->n[i].g, &st);
		{
			struct hy_rtable_stats rs;

			hy_rtable_stats(hy_dht_rtable(w->n[i].dht),
			    simnet_now(w->sim), &rs);
			rt += rs.contacts;
			rr += rs.replacements;
		}
		alive += st.alive;
		susp += st.suspect;
		down += st.down;
		active += st.active;
	}
	printf("gossip_sim: %s: per node %.1f alive, %.2f suspect, %.1f down, "
	       "%.1f active, table %.1f + %.1f candidates; %" PRIu64
	       " datagrams\n",
	    label, (double)alive / live, (double)susp / live,
	    (double)down / live, (double)active / live, (double)rt / live,
	    (double)rr / live, w->msgs);
}

static void
print_stats(struct world *w)
{
	struct hy_gossip_stats a, st;

	memset(&a, 0, sizeof(a));
	for (uint32_t i = 0; i < w->nn; i++) {
		if (w->n[i].dead)
			continue;
		hy_gossip_get_stats(w->n[i].g, &st);
		a.probes += st.probes;
		a.probe_fails += st.probe_fails;
		a.indirect_probes += st.indirect_probes;
		a.hints_in += st.hints_in;
		a.hints_sent += st.hints_sent;
		a.confirmations += st.confirmations;
		a.pushes += st.pushes;
		a.suspicions += st.suspicions;
		a.refuted += st.refuted;
		a.inconclusive += st.inconclusive;
		a.stalls += st.stalls;
		a.records_in += st.records_in;
		a.relays_served += st.relays_served;
		a.relays_refused += st.relays_refused;
	}
	printf("gossip_sim: stats: probes %" PRIu64 " fails %" PRIu64
	       " indirect %" PRIu64 " hints in %" PRIu64 " sent %" PRIu64
	       " confirmations %" PRIu64 " pushes %" PRIu64
	       " suspicions %" PRIu64 " refuted %" PRIu64
	       " inconclusive %" PRIu64 " stalls %" PRIu64
	       " records in %" PRIu64 " relays %" PRIu64 "/%" PRIu64 "\n",
	    a.probes, a.probe_fails, a.indirect_probes, a.hints_in,
	    a.hints_sent, a.confirmations, a.pushes, a.suspicions, a.refuted,
	    a.inconclusive, a.stalls, a.records_in, a.relays_served,
	    a.relays_refused);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* (a) a crash: every node that held the victim marks it down. */
START_TEST(test_gossip_sim_crash_detect)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000), obs = 0, det = 0;
	struct world *w = world_new(nn, 0.0, false);
	uint64_t *t;
	bool *holder;
	double t0 = wall_s();

	world_join(w, 120000);
	print_view(w, "joined");
	w->victim = 1 + (uint32_t)hy_rng_below(simnet_rng(w->sim), nn - 1);
	holder = calloc(nn, sizeof(*holder));
	t = calloc(nn, sizeof(*t));
	ck_assert_ptr_nonnull(holder);
	ck_assert_ptr_nonnull(t);
	for (uint32_t i = 0; i < nn; i++) {
		struct hy_gossip_member m;

		if (i != w->victim &&
		    hy_gossip_find(w->n[i].g, &w->n[w->victim].id, &m) ==
		        HY_OK &&
		    m.state == HY_MEMBER_ALIVE) {
			holder[i] = true;
			obs++;
		}
	}
	w->t_crash = simnet_now(w->sim);
	w->n[w->victim].dead = true;
	ck_assert_int_eq(simnet_node_crash(w->sim, w->n[w->victim].sid), HY_OK);
	for (unsigned sec = 0; sec < 300; sec++) {
		ck_assert_int_eq(simnet_run_for(w->sim, 1000, 0), HY_OK);
		det = 0;
		for (uint32_t i = 0; i < nn; i++)
			if (holder[i] && w->down_at[i] != 0)
				det++;
		if (det == obs)
			break;
	}
	det = 0;
	for (uint32_t i = 0; i < nn; i++)
		if (holder[i] && w->down_at[i] != 0)
			t[det++] = w->down_at[i] - w->t_crash;
	qsort(t, det, sizeof(*t), cmp_u64);
	{
		uint64_t *u = calloc(nn, sizeof(*u));
		uint32_t ns = 0;

		ck_assert_ptr_nonnull(u);
		for (uint32_t i = 0; i < nn; i++)
			if (holder[i] && w->susp_at[i] != 0)
				u[ns++] = w->susp_at[i] - w->t_crash;
		qsort(u, ns, sizeof(*u), cmp_u64);
		if (ns > 0)
			printf("gossip_sim: (a) suspected by %u: first %.2f s, "
			       "median %.2f s, max %.2f s\n",
			    ns, (double)u[0] / 1000, (double)u[ns / 2] / 1000,
			    (double)u[ns - 1] / 1000);
		free(u);
	}
	printf("gossip_sim: (a) crash of node %u: %u of %u holders marked it "
	       "down; median %.2f s, max %.2f s (%" PRIu64
	       " suspicions, %" PRIu64 " downs of live nodes); %.1f s wall\n",
	    w->victim, det, obs, det ? (double)t[det / 2] / 1000 : -1.0,
	    det ? (double)t[det - 1] / 1000 : -1.0, w->suspicions,
	    w->downs_of_live, wall_s() - t0);
	print_stats(w);
	SIM_CK_ASSERT_UINT(w->sim, obs, >, 0);
	SIM_CK_ASSERT_UINT(w->sim, det, ==, obs);
	SIM_CK_ASSERT_UINT(w->sim, w->downs_of_live, ==, 0);
	free(holder);
	free(t);
	world_free(w);
}
END_TEST

/* Live nodes marked down, suspicions and refutations while fn runs. */
static void
print_verdicts(struct world *w, const char *label, uint64_t minutes)
{
	printf("gossip_sim: %s: %" PRIu64 " suspicions, %" PRIu64
	       " downs (%" PRIu64 " of live nodes, %" PRIu64
	       " of never-frozen ones) in %" PRIu64
	       " simulated minutes; %" PRIu64 " datagrams\n",
	    label, w->suspicions, w->downs, w->downs_of_live,
	    w->downs_of_never_frozen, minutes, w->msgs);
}

static void
reset_verdicts(struct world *w)
{
	w->suspicions = w->downs = w->downs_of_live = 0;
	w->downs_of_never_frozen = 0;
}

/* (b) 10% loss on every link: no live node is ever marked down. */
START_TEST(test_gossip_sim_loss_no_false_down)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	uint32_t minutes = sim_minutes();
	struct world *w = world_new(nn, 0.0, false);
	struct simnet_link l;
	double t0 = wall_s();

	world_join(w, 60000);
	reset_verdicts(w);
	memset(&l, 0, sizeof(l));
	l.latency_ms = 20;
	l.jitter_ms = 60;
	l.loss = 0.10;
	ck_assert_int_eq(simnet_set_default_link(w->sim, &l), HY_OK);
	for (uint32_t m = 0; m < minutes; m++)
		ck_assert_int_eq(simnet_run_for(w->sim, 60000, 0), HY_OK);
	print_verdicts(w, "(b) 10% loss", minutes);
	print_stats(w);
	printf("gossip_sim: (b) %.1f s wall\n", wall_s() - t0);
	SIM_CK_ASSERT_UINT(w->sim, w->downs_of_live, ==, 0);
	world_free(w);
}
END_TEST

struct freezer {
	struct world *w;
	uint64_t until;
};

/* Every 5 s: freeze 10% of the nodes (never node 0) for 1-4 s each. */
static void
freeze_round(void *arg)
{
	struct freezer *f = arg;
	struct world *w = f->w;
	struct hy_rng *rng = simnet_rng(w->sim);
	uint32_t k = w->nn / 10;

	for (uint32_t i = 0; i < k; i++) {
		uint32_t j = 1 + (uint32_t)hy_rng_below(rng, w->nn - 1);

		w->n[j].frozen_ever = true;
		(void)simnet_node_freeze(w->sim, w->n[j].sid,
		    1000 + hy_rng_below(rng, 3001));
	}
	if (simnet_now(w->sim) + 5000 < f->until)
		(void)simnet_timer_add(w->sim, simnet_now(w->sim) + 5000,
		    freeze_round, f);
}

/* (c) Lifeguard: frozen nodes' accusations evict no healthy node. */
START_TEST(test_gossip_sim_frozen_accusers)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	uint32_t minutes = sim_minutes() / 10;
	struct world *w = world_new(nn, 0.0, false);
	struct freezer f;
	uint64_t frozen = 0, stalls = 0, incon = 0;
	double t0 = wall_s();

	world_join(w, 60000);
	reset_verdicts(w);
	if (minutes == 0)
		minutes = 1;
	f.w = w;
	f.until = simnet_now(w->sim) + minutes * 60000ull;
	ck_assert_uint_ne(simnet_timer_add(w->sim, simnet_now(w->sim),
	                      freeze_round, &f),
	    0);
	ck_assert_int_eq(simnet_run_for(w->sim, minutes * 60000ull + 10000, 0),
	    HY_OK);
	for (uint32_t i = 0; i < nn; i++) {
		struct hy_gossip_stats st;

		hy_gossip_get_stats(w->n[i].g, &st);
		frozen += w->n[i].frozen_ever;
		stalls += st.stalls;
		incon += st.inconclusive;
	}
	print_verdicts(w, "(c) 10% frozen 1-4 s every 5 s", minutes);
	printf("gossip_sim: (c) %" PRIu64 " nodes were frozen at least once; "
	       "%" PRIu64 " stalls noticed, %" PRIu64
	       " probes inconclusive; %.1f s wall\n",
	    frozen, stalls, incon, wall_s() - t0);
	SIM_CK_ASSERT_UINT(w->sim, w->downs_of_never_frozen, ==, 0);
	world_free(w);
}
END_TEST

struct kop {
	bool done, ok;
	int status;
	struct hy_dht_op_info info;
};

static void
kput_cb(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info)
{
	struct kop *o = arg;

	(void)info;
	o->done = true;
	o->ok = err == HY_OK && stored_on > 0;
}

static void
kget_cb(void *arg, const struct hy_value *v, enum hy_dht_status status,
    const struct hy_dht_op_info *info)
{
	struct kop *o = arg;

	if (v != NULL) {
		o->ok = true;
		return;
	}
	o->done = true;
	o->status = (int)status;
	o->info = *info;
}

/* Every live node holds a contact of the other half in its table. */
static bool
merged(struct world *w)
{
	for (uint32_t i = 0; i < w->nn; i++) {
		struct hy_rtable_contact c[256];
		struct hy_id t;
		size_t n;
		bool other = false;

		if (w->n[i].dead)
			continue;
		memset(&t, 0, sizeof(t));
		n = hy_rtable_closest(hy_dht_rtable(w->n[i].dht), &t, 256, c, 0,
		    simnet_now(w->sim));
		for (size_t k = 0; k < n && !other; k++) {
			uint32_t j = fast_idx(w, &c[k].addr);

			other =
			    j != UINT32_MAX && w->n[j].group != w->n[i].group;
		}
		if (!other)
			return false;
	}
	return true;
}

/* (d) a 50/50 partition for 2 minutes merges within 60 s of healing. */
START_TEST(test_gossip_sim_partition_heals)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000), nk = 50, found = 0;
	uint32_t before;
	struct world *w = world_new(nn, 0.0, false);
	struct hy_id keys[50];
	struct kop ops[50];
	uint64_t t_heal, t_merged = 0;
	uint32_t sec;

	world_join(w, 180000);
	for (uint32_t k = 0; k < nk; k++) {
		struct hy_value v;
		uint32_t i = (uint32_t)hy_rng_below(simnet_rng(w->sim), nn);

		hy_rng_bytes(simnet_rng(w->sim), keys[k].b, HY_ID_LEN);
		memset(&v, 0, sizeof(v));
		v.ttl_s = 3600;
		v.data.ptr = keys[k].b;
		v.data.len = 8;
		memset(&ops[k], 0, sizeof(ops[k]));
		ck_assert_int_eq(hy_dht_put(w->n[i].dht, &keys[k], &v, false,
		                     kput_cb, &ops[k], simnet_now(w->sim),
		                     NULL),
		    HY_OK);
		resched(&w->n[i]);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	for (uint32_t k = 0; k < nk; k++)
		SIM_CK_ASSERT(w->sim, ops[k].done && ops[k].ok);
	/* every key is found before the split (the baseline) */
	for (uint32_t k = 0; k < nk; k++) {
		uint32_t i = (uint32_t)hy_rng_below(simnet_rng(w->sim), nn);

		memset(&ops[k], 0, sizeof(ops[k]));
		ck_assert_int_eq(hy_dht_get(w->n[i].dht, &keys[k], kget_cb,
		                     &ops[k], simnet_now(w->sim), NULL),
		    HY_OK);
		resched(&w->n[i]);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	for (uint32_t k = 0; k < nk; k++)
		found += ops[k].ok;
	printf("gossip_sim: (d) before the split: %u of %u gets found\n", found,
	    nk);
	SIM_CK_ASSERT_UINT(w->sim, found * 100, >=, nk * 95);
	before = found;
	found = 0;
	for (uint32_t i = 0; i < nn; i++) {
		w->n[i].group = i % 2;
		ck_assert_int_eq(simnet_node_set_group(w->sim, w->n[i].sid,
		                     i % 2),
		    HY_OK);
	}
	reset_verdicts(w);
	ck_assert_int_eq(simnet_partition(w->sim, 0, 1), HY_OK);
	ck_assert_int_eq(simnet_run_for(w->sim, 120000, 0), HY_OK);
	print_view(w, "(d) after 2 min split");
	printf("gossip_sim: (d) during the split: %" PRIu64 " downs\n",
	    w->downs);
	simnet_heal_all(w->sim);
	t_heal = simnet_now(w->sim);
	for (sec = 0; sec < 120; sec++) {
		ck_assert_int_eq(simnet_run_for(w->sim, 1000, 0), HY_OK);
		if (t_merged == 0 && merged(w))
			t_merged = simnet_now(w->sim);
		if (t_merged != 0 && sec >= 60)
			break;
	}
	print_view(w, "(d) 60 s after healing");
	/* gets of the keys stored before the split, from both halves */
	for (uint32_t k = 0; k < nk; k++) {
		uint32_t i = (k % 2) +
		    2 * (uint32_t)hy_rng_below(simnet_rng(w->sim), nn / 2);

		memset(&ops[k], 0, sizeof(ops[k]));
		ck_assert_int_eq(hy_dht_get(w->n[i].dht, &keys[k], kget_cb,
		                     &ops[k], simnet_now(w->sim), NULL),
		    HY_OK);
		resched(&w->n[i]);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	for (uint32_t k = 0; k < nk; k++) {
		uint32_t c = 0;

		found += ops[k].done && ops[k].ok;
		if (ops[k].done && ops[k].ok)
			continue;
		for (uint32_t i = 0; i < nn; i++)
			c += hy_store_count(hy_dht_store(w->n[i].dht), &keys[k],
			         simnet_now(w->sim)) > 0;
		printf("gossip_sim: (d) key %u not found (%s, status %d, %u "
		       "requests, %u replies); %u nodes store it\n",
		    k, ops[k].done ? "done" : "still running", ops[k].status,
		    ops[k].info.requests, ops[k].info.replies, c);
	}
	printf("gossip_sim: (d) merged %.1f s after healing; %u of %u gets "
	       "found\n",
	    t_merged ? (double)(t_merged - t_heal) / 1000 : -1.0, found, nk);
	SIM_CK_ASSERT(w->sim, t_merged != 0);
	SIM_CK_ASSERT_UINT(w->sim, t_merged - t_heal, <=, 60000);
	/* the split and its healing lose nothing */
	SIM_CK_ASSERT_UINT(w->sim, found, >=, before);
	world_free(w);
}
END_TEST

static size_t
table_size(struct world *w, uint32_t i)
{
	struct hy_rtable_stats st;

	hy_rtable_stats(hy_dht_rtable(w->n[i].dht), simnet_now(w->sim), &st);
	return st.contacts;
}

/*
 * (e) PEX: two nodes join an overlay through one seed at the same moment,
 * one with PEX and one without; their routing tables over the first
 * minutes. The overlay's own nodes all run PEX.
 */
START_TEST(test_gossip_sim_pex_join)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	static const unsigned at_s[] = { 2, 5, 10, 20, 30, 45, 60 };
	size_t with[7], without[7];
	uint64_t sum_with = 0, sum_without = 0;
	struct world *w = world_new(nn + 2, 0.0, true);
	uint32_t a = nn, b = nn + 1;
	uint64_t t0;
	unsigned k;

	w->nboot = nn;
	hy_pex_free(w->n[b].pex);
	w->n[b].pex = NULL;
	world_join(w, 60000);
	t0 = simnet_now(w->sim);
	(void)hy_dht_bootstrap(w->n[a].dht, &w->n[0].addr, 1, t0);
	(void)hy_dht_bootstrap(w->n[b].dht, &w->n[0].addr, 1, t0);
	resched(&w->n[a]);
	resched(&w->n[b]);
	for (k = 0; k < 7; k++) {
		ck_assert_int_eq(simnet_run_until(w->sim,
		                     t0 + at_s[k] * 1000ull, 0),
		    HY_OK);
		with[k] = table_size(w, a);
		without[k] = table_size(w, b);
		sum_with += with[k];
		sum_without += without[k];
		printf("gossip_sim: (e) %3u s after joining: table %zu with "
		       "PEX, "
		       "%zu without\n",
		    at_s[k], with[k], without[k]);
	}
	printf("gossip_sim: (e) %" PRIu64 " PEX messages, %" PRIu64
	       " candidates offered in the overlay\n",
	    w->pex_msgs, w->pex_cands);
	/* faster: ahead at 10 s and over the whole window */
	SIM_CK_ASSERT_UINT(w->sim, with[2], >, without[2]);
	SIM_CK_ASSERT_UINT(w->sim, sum_with, >, sum_without);
	world_free(w);
}
END_TEST

static Suite *
gossip_sim_suite(void)
{
	Suite *s = suite_create("gossip_sim");
	TCase *tc = tcase_create("sim");

	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_gossip_sim_crash_detect);
	tcase_add_test(tc, test_gossip_sim_loss_no_false_down);
	tcase_add_test(tc, test_gossip_sim_frozen_accusers);
	tcase_add_test(tc, test_gossip_sim_partition_heals);
	tcase_add_test(tc, test_gossip_sim_pex_join);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gossip_sim_suite());
	int nf;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
