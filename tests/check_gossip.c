/*
 * check_gossip.c: unit tests of the liveness modules: the local health
 * multiplier (src/health.c), the suspicion timeout (src/suspicion.c), the
 * piggyback queue (src/bcast.c) and the sans-I/O gossip state machine
 * (src/gossip*.c) against a scripted host.
 *
 * The host records every request (with its path, timeout, cookie and send
 * time), reply, member event, session change and candidate; it checks that
 * each message encodes on its path (gossip items within the DTLS budget,
 * none on a PING fallback or a datagram reply); it signs records with
 * deterministic fake signatures (SHA-256 of the to-be-signed bytes) and
 * verifies them, or refuses everything by a flag. Time is driven
 * explicitly: run_to() calls hy_gossip_tick at each deadline the module
 * hands out, so that no stall is ever seen unless a test makes one. For
 * the longer scenarios a scripted network answers at once for every node
 * except a set of dead ones, whose requests time out after the timeout
 * the module gave. One test uses real P-256 identities and a host verify
 * along the lines of the DHT's mutable values (hy_record_tbs, hy_verify,
 * hy_pubkey_to_id).
 *
 * Covered: health (saturation, scaling); suspicion (timeout curve,
 * confirmations once per reporter and at most k, the base timeout); bcast
 * (replace, least-sent first, max and byte budget, retirement, eviction,
 * drop); gossip: probe and ACK, stretched timeouts, indirect probes through
 * helpers of other prefixes and with sessions first, TLS probe, suspicion,
 * hints (probe soon, confirmations, never a verdict), the suspicion timeout
 * and its shortening (also while the suspect is being re-probed), down
 * verdicts blocked by bad health but not by a few dead members, stalls
 * (inconclusive probes, no false stall), refutation (by us, also of a
 * stale hint, not of our own record's echo; by a suspect's record; by any
 * traffic, at a new address), serving PROBE and PROBE_REQ (ACK, NACK,
 * ERROR 7), re-probing the down and their return, the down_max and
 * members_max bounds, candidates from unknown records (once, never
 * relayed, not hidden by forgeries), relaying members' records and hints,
 * the retransmit limit of the own record, the active set, stale cookies,
 * argument checks and determinism.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "bcast.h"
#include "crypto.h"
#include "gossip.h"
#include "health.h"
#include "ident.h"
#include "suspicion.h"
#include "wire.h"

#define T0 1000000u
#define NEV 512
#define NDEAD 16
#define NUP 16

/* ---- the scripted host --------------------------------------------------
 */

struct req {
	struct hy_msg m;
	struct hy_addr to;
	struct hy_id to_id;
	enum hy_gossip_via via;
	uint64_t timeout, cookie, at;
	bool answered;
};

struct rep {
	struct hy_gossip_peer to;
	uint32_t txid;
	struct hy_msg m;
	uint64_t at;
};

struct ev {
	int ev;
	struct hy_id id;
	struct hy_addr addr;
	uint64_t at;
	unsigned health; /* the module's health when it fired */
};

struct sess {
	struct hy_id id;
	struct hy_addr addr;
	bool open;
	uint64_t at;
};

struct cand {
	struct hy_id id;
	struct hy_addr addr;
};

struct host {
	struct req *req;
	unsigned nreq, req_cap, open_from;
	struct rep *rep;
	unsigned nrep, rep_cap;
	struct ev ev[NEV];
	unsigned nev;
	struct sess sess[NEV];
	unsigned nsess;
	struct cand cand[NEV];
	unsigned ncand;
	bool sessions_all; /* session_up() for every address */
	struct hy_addr up[NUP]; /* else for these */
	unsigned nup;
	bool verify_ok; /* fake verify: false refuses everything */
	unsigned nsign, nverify;
	int fail_request;
	struct hy_ident *ident; /* set: real signatures */
	const uint64_t *now;
	struct hy_gossiper *const *g;
	struct hy_id dead[NDEAD]; /* the scripted network's dead nodes */
	unsigned ndead;
};

static void *
grow(void *p, unsigned *cap, size_t size)
{
	unsigned n = *cap == 0 ? 64 : *cap * 2;

	p = realloc(p, (size_t)n * size);
	ck_assert_ptr_nonnull(p);
	*cap = n;
	return p;
}

/* Every message the module hands out must encode on its path. */
static void
check_encodes(const struct hy_msg *m, enum hy_wire_path path)
{
	uint8_t buf[8192];
	size_t len;

	ck_assert_int_eq(hy_msg_encode(m, path, buf, sizeof(buf), &len), HY_OK);
}

static bool
h_session_up(void *ctx, const struct hy_addr *to)
{
	struct host *h = ctx;

	if (h->sessions_all)
		return true;
	for (unsigned i = 0; i < h->nup; i++)
		if (hy_addr_eq(&h->up[i], to))
			return true;
	return false;
}

static int
h_request(void *ctx, const struct hy_addr *to, const struct hy_id *to_id,
    struct hy_msg *req, enum hy_gossip_via via, uint64_t timeout_ms,
    uint64_t cookie)
{
	struct host *h = ctx;
	struct req *r;

	ck_assert_uint_eq(req->txid, 0);
	ck_assert_uint_gt(timeout_ms, 0);
	/* over DTLS (or TLS): gossip within the datagram budget */
	check_encodes(req,
	    via == HY_GOSSIP_VIA_TLS ? HY_PATH_TLS : HY_PATH_DTLS);
	/* a PROBE without a session becomes a PING: no items */
	if (via == HY_GOSSIP_VIA_ANY && !h_session_up(h, to))
		ck_assert_uint_eq(req->n_gossip, 0);
	if (h->fail_request != 0)
		return h->fail_request;
	if (h->nreq == h->req_cap)
		h->req = grow(h->req, &h->req_cap, sizeof(*h->req));
	r = &h->req[h->nreq++];
	memset(r, 0, sizeof(*r));
	r->m = *req;
	r->to = *to;
	r->to_id = *to_id;
	r->via = via;
	r->timeout = timeout_ms;
	r->cookie = cookie;
	r->at = *h->now;
	return HY_OK;
}

static int
h_reply(void *ctx, const struct hy_gossip_peer *to, uint32_t txid,
    struct hy_msg *rep)
{
	struct host *h = ctx;
	struct rep *r;

	check_encodes(rep, (enum hy_wire_path)to->path);
	if (h->nrep == h->rep_cap)
		h->rep = grow(h->rep, &h->rep_cap, sizeof(*h->rep));
	r = &h->rep[h->nrep++];
	r->to = *to;
	r->txid = txid;
	r->m = *rep;
	r->at = *h->now;
	return HY_OK;
}

static void
h_session(void *ctx, const struct hy_addr *to, const struct hy_id *id,
    bool open)
{
	struct host *h = ctx;

	ck_assert_uint_lt(h->nsess, NEV);
	h->sess[h->nsess].id = *id;
	h->sess[h->nsess].addr = *to;
	h->sess[h->nsess].open = open;
	h->sess[h->nsess++].at = *h->now;
}

static void
h_event(void *ctx, enum hy_gossip_event ev, const struct hy_id *id,
    const struct hy_addr *addr)
{
	struct host *h = ctx;

	ck_assert_uint_lt(h->nev, NEV);
	h->ev[h->nev].ev = (int)ev;
	h->ev[h->nev].id = *id;
	h->ev[h->nev].addr = *addr;
	h->ev[h->nev].at = *h->now;
	/* a getter without side effects; read for the timeout arithmetic */
	h->ev[h->nev++].health = hy_gossip_health(*h->g);
}

static void
h_candidate(void *ctx, const struct hy_id *id, const struct hy_addr *addr)
{
	struct host *h = ctx;

	ck_assert_uint_lt(h->ncand, NEV);
	h->cand[h->ncand].id = *id;
	h->cand[h->ncand++].addr = *addr;
}

/* The fake signature: SHA-256 of the to-be-signed bytes, twice. */
static void
fake_sig(const uint8_t *tbs, size_t len, uint8_t sig[HY_SIG_LEN])
{
	uint8_t d[HY_SHA256_LEN];

	ck_assert_int_eq(hy_sha256(tbs, len, d), HY_OK);
	memcpy(sig, d, 32);
	memcpy(sig + 32, d, 32);
}

static int
h_sign(void *ctx, const uint8_t *tbs, size_t len, uint8_t sig[64])
{
	struct host *h = ctx;

	h->nsign++;
	if (h->ident != NULL)
		return hy_ident_sign(h->ident, HY_RECORD_SIG_CTX, tbs, len,
		    sig);
	fake_sig(tbs, len, sig);
	return HY_OK;
}

/*
 * A host's record check with real keys (PROTOCOL.md §8.1), as the DHT
 * checks mutable values: the signature over the canonical to-be-signed
 * bytes with the record context, then id == SHA-256 of the key's SPKI.
 */
static int
real_verify(const struct hy_record *r)
{
	uint8_t tbs[HY_RECORD_TBS_MAX];
	struct hy_id id;
	size_t len;
	int err;

	if ((err = hy_record_tbs(r, tbs, sizeof(tbs), &len)) != HY_OK)
		return err;
	if ((err = hy_verify(r->pubkey, HY_RECORD_SIG_CTX, tbs, len, r->sig)) !=
	    HY_OK)
		return err;
	if ((err = hy_pubkey_to_id(r->pubkey, &id)) != HY_OK)
		return err;
	return hy_id_eq(&id, &r->id) ? HY_OK : HY_EIDMISMATCH;
}

static int
h_verify(void *ctx, const struct hy_record *r)
{
	struct host *h = ctx;
	uint8_t tbs[HY_RECORD_TBS_MAX], sig[HY_SIG_LEN];
	size_t len;

	h->nverify++;
	if (h->ident != NULL)
		return real_verify(r);
	ck_assert_int_eq(hy_record_tbs(r, tbs, sizeof(tbs), &len), HY_OK);
	fake_sig(tbs, len, sig);
	return h->verify_ok && memcmp(sig, r->sig, HY_SIG_LEN) == 0
	    ? HY_OK
	    : HY_EBADSIG;
}

/* ---- fixture ------------------------------------------------------------
 */

struct fix {
	struct host h;
	struct hy_gossiper *g;
	struct hy_id self;
	struct hy_gossip_config cfg;
	uint64_t now;
	bool net; /* run_to answers through the scripted network */
};

static struct hy_id
mkid(unsigned n)
{
	struct hy_id id;

	memset(&id, 0x33, sizeof(id));
	id.b[0] = (uint8_t)n;
	id.b[1] = 0x5a;
	return id;
}

/* 10.a.0.b:4000 */
static struct hy_addr
mkaddr(unsigned a, unsigned b)
{
	struct hy_addr ad;

	memset(&ad, 0, sizeof(ad));
	ad.family = HY_AF_INET;
	ad.ip[0] = 10;
	ad.ip[1] = (uint8_t)a;
	ad.ip[3] = (uint8_t)b;
	ad.port = 4000;
	return ad;
}

/* Member i: ID mkid(i + 1) at 10.(i + 1).0.1, each in its own /16. */
static struct hy_id
mid(unsigned i)
{
	return mkid(i + 1);
}

static struct hy_addr
maddr(unsigned i)
{
	return mkaddr(i + 1, 1);
}

static void
cfg_small(struct hy_gossip_config *c)
{
	hy_gossip_config_lan(c);
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 200;
	c->indirect_timeout_ms = 600;
	c->indirect_k = 3;
	c->tls_probe = true;
	c->suspicion_mult = 3;
	c->suspicion_max_mult = 4;
	c->suspicion_k = 3;
	c->health_max = 8;
	c->health_evict_max = 2;
	c->stall_ms = 500;
	c->retransmit_mult = 4;
	c->gossip_interval_ms = 200;
	c->gossip_fanout = 2;
	c->active_max = 4;
	c->members_max = 16;
	c->down_max = 4;
	c->down_keep_ms = 3600 * 1000;
	c->reprobe_ms = 2000;
	c->probes_max = 8;
	c->relays_max = 2;
	c->bcast_max = 32;
	c->piggyback_bytes = 900;
	c->record_refresh_ms = 3600 * 1000;
}

/* Fill the defaults; a test may change f->cfg before fix_start. */
static void
fix_setup(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	cfg_small(&f->cfg);
	f->self = mkid(0x80);
	f->now = T0;
	f->h.now = &f->now;
	f->h.g = &f->g;
	f->h.verify_ok = true;
}

static void
fix_host(struct fix *f, struct hy_gossip_host *host)
{
	memset(host, 0, sizeof(*host));
	host->ctx = &f->h;
	host->request = h_request;
	host->reply = h_reply;
	host->session_up = h_session_up;
	host->session = h_session;
	host->event = h_event;
	host->candidate = h_candidate;
	host->sign = h_sign;
	host->verify = h_verify;
}

static void
fix_start(struct fix *f, uint64_t seed)
{
	struct hy_gossip_host host;

	fix_host(f, &host);
	ck_assert_int_eq(hy_gossip_new(&f->g, &f->self, &f->cfg, &host, seed,
	                     f->now),
	    HY_OK);
}

static void
fix_init(struct fix *f)
{
	fix_setup(f);
	fix_start(f, 42);
}

static void
fix_free(struct fix *f)
{
	hy_gossip_free(f->g);
	free(f->h.req);
	free(f->h.rep);
}

static void
add_member(struct fix *f, unsigned i)
{
	struct hy_id id = mid(i);
	struct hy_addr a = maddr(i);

	hy_gossip_add(f->g, &id, &a, true, f->now);
}

static void
kill_node(struct fix *f, const struct hy_id *id)
{
	ck_assert_uint_lt(f->h.ndead, NDEAD);
	f->h.dead[f->h.ndead++] = *id;
}

static void
revive(struct fix *f, const struct hy_id *id)
{
	for (unsigned i = 0; i < f->h.ndead; i++)
		if (hy_id_eq(&f->h.dead[i], id))
			f->h.dead[i] = f->h.dead[--f->h.ndead];
}

static bool
is_dead(const struct host *h, const struct hy_id *id)
{
	for (unsigned i = 0; i < h->ndead; i++)
		if (hy_id_eq(&h->dead[i], id))
			return true;
	return false;
}

static int
state_of(struct fix *f, const struct hy_id *id)
{
	struct hy_gossip_member m;

	if (hy_gossip_find(f->g, id, &m) != HY_OK)
		return -1;
	return m.state;
}

static struct hy_gossip_stats
stats(struct fix *f)
{
	struct hy_gossip_stats st;

	hy_gossip_get_stats(f->g, &st);
	return st;
}

/* A reply of `type` from `from` to request r. */
static void
mkreply(struct fix *f, struct hy_msg *rep, unsigned type,
    const struct hy_id *from, const struct req *r)
{
	ck_assert_int_eq(hy_msg_init(rep, type, f->cfg.network, 0, from),
	    HY_OK);
	if (type == HY_MSG_ACK)
		rep->body.ack.seq = r->m.type == HY_MSG_PROBE_REQ
		    ? r->m.body.probe_req.seq
		    : r->m.body.probe.seq;
	else if (type == HY_MSG_NACK) {
		rep->body.nack.seq = r->m.body.probe_req.seq;
		rep->body.nack.target = r->m.body.probe_req.target.id;
	} else if (type == HY_MSG_ERROR)
		rep->body.error.code = HY_WERR_RATE_LIMITED;
}

/* Report the outcome of request i: err, or a reply of `type`. */
static void
respond(struct fix *f, unsigned i, int err, unsigned type)
{
	struct hy_msg rep;
	uint64_t cookie;

	ck_assert_uint_lt(i, f->h.nreq);
	ck_assert(!f->h.req[i].answered);
	f->h.req[i].answered = true;
	cookie = f->h.req[i].cookie;
	if (err != HY_OK) {
		hy_gossip_on_response(f->g, cookie, err, NULL, f->now);
		return;
	}
	mkreply(f, &rep, type, &f->h.req[i].to_id, &f->h.req[i]);
	hy_gossip_on_response(f->g, cookie, HY_OK, &rep, f->now);
}

/* The scripted network: the living answer at once, the dead time out. */
static void
net_step(struct fix *f)
{
	while (f->h.open_from < f->h.nreq && f->h.req[f->h.open_from].answered)
		f->h.open_from++;
	for (unsigned i = f->h.open_from; i < f->h.nreq; i++) {
		struct req *r = &f->h.req[i];

		if (r->answered)
			continue;
		if (is_dead(&f->h, &r->to_id)) {
			if (f->now >= r->at + r->timeout)
				respond(f, i, HY_ETIMEDOUT, 0);
		} else if (r->m.type == HY_MSG_PROBE_REQ) {
			respond(f, i, HY_OK,
			    is_dead(&f->h, &r->m.body.probe_req.target.id)
			        ? HY_MSG_NACK
			        : HY_MSG_ACK);
		} else {
			respond(f, i, HY_OK, HY_MSG_ACK);
		}
	}
}

static uint64_t
net_due(struct fix *f)
{
	uint64_t d = UINT64_MAX;

	for (unsigned i = f->h.open_from; i < f->h.nreq; i++)
		if (!f->h.req[i].answered &&
		    f->h.req[i].at + f->h.req[i].timeout < d)
			d = f->h.req[i].at + f->h.req[i].timeout;
	return d;
}

/* Advance to t, ticking at every deadline on the way (never late). */
static void
run_to(struct fix *f, uint64_t t)
{
	unsigned guard = 0;

	for (;;) {
		uint64_t d, nd;

		ck_assert_uint_lt(guard++, 1000000);
		if (f->net)
			net_step(f);
		d = hy_gossip_next_deadline(f->g);
		nd = f->net ? net_due(f) : UINT64_MAX;
		if (d > t && nd > t)
			break;
		if (d <= nd) {
			if (d > f->now)
				f->now = d;
			(void)hy_gossip_tick(f->g, f->now);
		} else if (nd > f->now) {
			f->now = nd;
		}
	}
	if (t > f->now)
		f->now = t;
}

static unsigned
count_ev(struct fix *f, int ev, const struct hy_id *id)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->h.nev; i++)
		if (f->h.ev[i].ev == ev &&
		    (id == NULL || hy_id_eq(&f->h.ev[i].id, id)))
			n++;
	return n;
}

static const struct ev *
last_ev(struct fix *f, int ev, const struct hy_id *id)
{
	for (unsigned i = f->h.nev; i-- > 0;)
		if (f->h.ev[i].ev == ev && hy_id_eq(&f->h.ev[i].id, id))
			return &f->h.ev[i];
	return NULL;
}

/* Run (in small steps) until event ev for id fires; returns its record. */
static const struct ev *
run_until_ev(struct fix *f, int ev, const struct hy_id *id, uint64_t limit)
{
	unsigned n0 = count_ev(f, ev, id);

	while (count_ev(f, ev, id) == n0) {
		ck_assert_uint_lt(f->now, limit);
		run_to(f, f->now + 10);
	}
	return last_ev(f, ev, id);
}

/* The first request from index `from` on of `type` to id (NULL: anyone)
 * over via (-1: any), or -1. */
static int
find_req(struct fix *f, unsigned from, unsigned type, const struct hy_id *id,
    int via)
{
	for (unsigned i = from; i < f->h.nreq; i++)
		if (f->h.req[i].m.type == type &&
		    (id == NULL || hy_id_eq(&f->h.req[i].to_id, id)) &&
		    (via < 0 || f->h.req[i].via == (enum hy_gossip_via)via))
			return (int)i;
	return -1;
}

/* Wait for the direct PROBE of id (answering others' PROBEs with ACK);
 * returns its index. */
static unsigned
wait_probe(struct fix *f, const struct hy_id *id)
{
	uint64_t limit = f->now + 20 * f->cfg.probe_interval_ms;
	unsigned from = f->h.nreq;
	int i;

	while (
	    (i = find_req(f, from, HY_MSG_PROBE, id, HY_GOSSIP_VIA_ANY)) < 0) {
		ck_assert_uint_lt(f->now, limit);
		for (unsigned j = from; j < f->h.nreq; j++)
			if (!f->h.req[j].answered &&
			    !hy_id_eq(&f->h.req[j].to_id, id) &&
			    f->h.req[j].m.type == HY_MSG_PROBE)
				respond(f, j, HY_OK, HY_MSG_ACK);
		run_to(f, f->now + 10);
	}
	return (unsigned)i;
}

static bool
has_item(const struct hy_msg *m, unsigned kind, const struct hy_id *id,
    uint64_t seq)
{
	for (uint32_t i = 0; i < m->n_gossip; i++) {
		const struct hy_gossip *g = &m->gossip[i];

		if (g->kind != kind)
			continue;
		if (kind == HY_GOSSIP_RECORD && hy_id_eq(&g->u.record.id, id) &&
		    g->u.record.seq == seq)
			return true;
		if (kind == HY_GOSSIP_SUSPECT &&
		    hy_id_eq(&g->u.suspect.id, id) && g->u.suspect.seq == seq)
			return true;
	}
	return false;
}

/* How often an item went out in requests and replies since (rq, rp). */
static unsigned
item_sends(struct fix *f, unsigned rq, unsigned rp, unsigned kind,
    const struct hy_id *id, uint64_t seq)
{
	unsigned n = 0;

	for (unsigned i = rq; i < f->h.nreq; i++)
		n += has_item(&f->h.req[i].m, kind, id, seq);
	for (unsigned i = rp; i < f->h.nrep; i++)
		n += has_item(&f->h.rep[i].m, kind, id, seq);
	return n;
}

/* A record of (id, seq) at addr, with a good fake signature. */
static struct hy_gossip
mkrecord(const struct hy_id *id, uint64_t seq, const struct hy_addr *a)
{
	struct hy_gossip it;
	uint8_t tbs[HY_RECORD_TBS_MAX];
	size_t len;

	memset(&it, 0, sizeof(it));
	it.kind = HY_GOSSIP_RECORD;
	it.u.record.id = *id;
	it.u.record.pubkey[0] = 0x02;
	memset(it.u.record.pubkey + 1, id->b[0], HY_PUBKEY_LEN - 1);
	it.u.record.seq = seq;
	it.u.record.n_addrs = 1;
	it.u.record.addrs[0] = *a;
	it.u.record.ts_ms = 1700000000000ull + seq;
	ck_assert_int_eq(hy_record_tbs(&it.u.record, tbs, sizeof(tbs), &len),
	    HY_OK);
	fake_sig(tbs, len, it.u.record.sig);
	return it;
}

/* A suspicion hint about id at seq, as `reporter` would send it. */
static struct hy_gossip
mksuspect(const struct hy_id *id, uint64_t seq, const struct hy_id *reporter)
{
	struct hy_gossip it;

	memset(&it, 0, sizeof(it));
	it.kind = HY_GOSSIP_SUSPECT;
	it.u.suspect.id = *id;
	it.u.suspect.seq = seq;
	it.u.suspect.age_ms = 10;
	/* v1 items carry no reporter: the sender of the carrying message
	 * (items_from) is taken as the reporter */
	it.u.suspect.reporter = *reporter;
	return it;
}

/* Gossip items arrive on some authenticated message from `from`. */
static void
items_from(struct fix *f, const struct hy_id *from, const struct hy_gossip *it,
    unsigned n)
{
	struct hy_msg m;

	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_FIND_NODE, f->cfg.network, 1,
	                     from),
	    HY_OK);
	for (unsigned i = 0; i < n; i++)
		m.gossip[i] = it[i];
	m.n_gossip = n;
	hy_gossip_on_items(f->g, &m, from, f->now);
}

static void
hint(struct fix *f, const struct hy_id *about, uint64_t seq,
    const struct hy_id *reporter)
{
	struct hy_gossip it = mksuspect(about, seq, reporter);

	items_from(f, reporter, &it, 1);
}

/* A PROBE from member i arrives on path; returns the reply's index. */
static unsigned
probe_in(struct fix *f, unsigned i, uint32_t seq, int path)
{
	struct hy_gossip_peer p;
	struct hy_msg m;
	unsigned n0 = f->h.nrep;

	memset(&p, 0, sizeof(p));
	p.id = mid(i);
	p.addr = maddr(i);
	p.path = path;
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PROBE, f->cfg.network,
	                     900 + seq, &p.id),
	    HY_OK);
	m.body.probe.seq = seq;
	ck_assert(hy_gossip_on_request(f->g, &m, &p, f->now));
	ck_assert_uint_eq(f->h.nrep, n0 + 1);
	ck_assert_uint_eq(f->h.rep[n0].txid, 900 + seq);
	return n0;
}

static void
own_record(struct fix *f, uint64_t seq)
{
	uint8_t pub[HY_PUBKEY_LEN];
	struct hy_addr a = mkaddr(200, 1);

	memset(pub, 0x44, sizeof(pub));
	pub[0] = 0x03;
	ck_assert_int_eq(hy_gossip_set_record(f->g, pub, &a, 1, seq,
	                     1700000000000ull, f->now),
	    HY_OK);
}

/* Answer PROBEs on DTLS until our replies carry no more items. */
static void
drain_queue(struct fix *f)
{
	for (unsigned k = 0; k < 200; k++) {
		unsigned rp = probe_in(f, 0, k, HY_PATH_DTLS);

		if (f->h.rep[rp].m.n_gossip == 0)
			return;
	}
	ck_abort_msg("the gossip queue does not drain");
}

/* ---- health -------------------------------------------------------------
 */

START_TEST(test_health_saturates)
{
	struct hy_health h;

	hy_health_init(&h, 3);
	ck_assert_uint_eq(hy_health_score(&h), 0);
	hy_health_lower(&h);
	ck_assert_uint_eq(hy_health_score(&h), 0);
	hy_health_raise(&h, 2);
	ck_assert_uint_eq(hy_health_score(&h), 2);
	hy_health_raise(&h, 5);
	ck_assert_uint_eq(hy_health_score(&h), 3);
	hy_health_raise(&h, 1);
	ck_assert_uint_eq(hy_health_score(&h), 3);
	hy_health_raise(&h, UINT32_MAX);
	ck_assert_uint_eq(hy_health_score(&h), 3);
	for (unsigned i = 0; i < 3; i++)
		hy_health_lower(&h);
	ck_assert_uint_eq(hy_health_score(&h), 0);
	hy_health_lower(&h);
	ck_assert_uint_eq(hy_health_score(&h), 0);
	hy_health_init(&h, 0); /* a cap of at least 1 */
	hy_health_raise(&h, 4);
	ck_assert_uint_eq(hy_health_score(&h), 1);
}
END_TEST

START_TEST(test_health_scale)
{
	struct hy_health h;

	hy_health_init(&h, 8);
	ck_assert_uint_eq(hy_health_scale(&h, 500), 500);
	hy_health_raise(&h, 1);
	ck_assert_uint_eq(hy_health_scale(&h, 500), 1000);
	hy_health_raise(&h, 2);
	ck_assert_uint_eq(hy_health_scale(&h, 500), 2000);
	ck_assert_uint_eq(hy_health_scale(&h, 0), 0);
	ck_assert_uint_eq(hy_health_scale(&h, UINT64_MAX / 2), UINT64_MAX);
	hy_health_lower(&h);
	ck_assert_uint_eq(hy_health_scale(&h, 500), 1500);
}
END_TEST

/* ---- suspicion ----------------------------------------------------------
 */

START_TEST(test_suspicion_timeout_curve)
{
	uint64_t prev;

	ck_assert_uint_eq(hy_suspicion_timeout(1000, 8000, 3, 0), 8000);
	ck_assert_uint_eq(hy_suspicion_timeout(1000, 8000, 3, 3), 1000);
	ck_assert_uint_eq(hy_suspicion_timeout(1000, 8000, 3, 7), 1000);
	prev = 8000;
	for (unsigned n = 1; n < 3; n++) {
		uint64_t t = hy_suspicion_timeout(1000, 8000, 3, n);

		ck_assert_uint_lt(t, prev);
		ck_assert_uint_gt(t, 1000);
		prev = t;
	}
	/* log(2)/log(4) = 1/2 of the way */
	ck_assert_uint_eq(hy_suspicion_timeout(1000, 9000, 3, 1), 5000);
	prev = UINT64_MAX;
	for (unsigned n = 0; n <= HY_SUSPICION_K_MAX; n++) {
		uint64_t t =
		    hy_suspicion_timeout(2000, 20000, HY_SUSPICION_K_MAX, n);

		ck_assert_uint_lt(t, prev);
		prev = t;
	}
	ck_assert_uint_eq(prev, 2000);
	/* max <= min: min; k = 0 counts as 1; k over the cap is clamped */
	ck_assert_uint_eq(hy_suspicion_timeout(5000, 3000, 3, 0), 5000);
	ck_assert_uint_eq(hy_suspicion_timeout(1000, 8000, 0, 1), 1000);
	ck_assert_uint_eq(hy_suspicion_timeout(1000, 8000, 100, 8), 1000);
	ck_assert_uint_gt(hy_suspicion_timeout(1000, 8000, 100, 7), 1000);
}
END_TEST

START_TEST(test_suspicion_confirm_once_per_reporter)
{
	struct hy_suspicion s;
	struct hy_id a = mkid(1), b = mkid(2), c = mkid(3), d = mkid(4);
	uint64_t d0, d1, d2;

	hy_suspicion_start(&s, 100, 1000, 4000, 3);
	d0 = hy_suspicion_deadline(&s);
	ck_assert_uint_eq(d0, 100 + 4000);
	ck_assert(hy_suspicion_confirm(&s, &a));
	d1 = hy_suspicion_deadline(&s);
	ck_assert_uint_lt(d1, d0);
	ck_assert(!hy_suspicion_confirm(&s, &a));
	ck_assert_uint_eq(hy_suspicion_deadline(&s), d1);
	ck_assert_uint_eq(s.n, 1);
	ck_assert(hy_suspicion_confirm(&s, &b));
	d2 = hy_suspicion_deadline(&s);
	ck_assert_uint_lt(d2, d1);
	ck_assert(hy_suspicion_confirm(&s, &c));
	ck_assert_uint_eq(hy_suspicion_deadline(&s), 100 + 1000);
	ck_assert(!hy_suspicion_confirm(&s, &d)); /* at most k */
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(hy_suspicion_deadline(&s), 100 + 1000);
	/* a restart forgets the reporters */
	hy_suspicion_start(&s, 200, 1000, 4000, 3);
	ck_assert_uint_eq(s.n, 0);
	ck_assert(hy_suspicion_confirm(&s, &a));
}
END_TEST

START_TEST(test_suspicion_min_ms)
{
	ck_assert_uint_eq(hy_suspicion_min_ms(3, 0, 1000), 3000);
	ck_assert_uint_eq(hy_suspicion_min_ms(3, 1, 1000), 3000);
	ck_assert_uint_eq(hy_suspicion_min_ms(3, 10, 1000), 3000);
	ck_assert_uint_eq(hy_suspicion_min_ms(3, 100, 1000), 6000);
	ck_assert_uint_eq(hy_suspicion_min_ms(4, 1000, 5000), 60000);
	ck_assert_uint_gt(hy_suspicion_min_ms(3, 11, 1000), 3000);
	ck_assert_uint_lt(hy_suspicion_min_ms(3, 11, 1000), 3200);
	ck_assert_uint_lt(hy_suspicion_min_ms(3, 99, 1000), 6000);
	ck_assert_uint_gt(hy_suspicion_min_ms(3, 99, 1000), 5900);
}
END_TEST

/* ---- bcast --------------------------------------------------------------
 */

static struct hy_gossip
bsusp(unsigned n)
{
	struct hy_id id = mkid(n);

	return mksuspect(&id, n, &id);
}

static bool
took(const struct hy_gossip *out, size_t n, unsigned kind, unsigned idn)
{
	struct hy_id id = mkid(idn);

	for (size_t i = 0; i < n; i++)
		if (out[i].kind == kind &&
		    hy_id_eq(kind == HY_GOSSIP_RECORD ? &out[i].u.record.id
		                                      : &out[i].u.suspect.id,
		        &id))
			return true;
	return false;
}

START_TEST(test_bcast_replace_resets_count)
{
	struct hy_bcast *b = hy_bcast_new(8);
	struct hy_gossip it = bsusp(1), out[8];
	struct hy_bcast_stats st;

	ck_assert_int_eq(hy_bcast_push(b, &it, 2), HY_OK);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 1);
	ck_assert_uint_eq(hy_bcast_len(b), 1);
	/* a newer item of the same (kind, id): replaces, count from zero */
	it.u.suspect.seq = 99;
	ck_assert_int_eq(hy_bcast_push(b, &it, 2), HY_OK);
	ck_assert_uint_eq(hy_bcast_len(b), 1);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 1);
	ck_assert_uint_eq(out[0].u.suspect.seq, 99);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 1);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 0);
	/* the other kind with the same ID is a different item */
	ck_assert_int_eq(hy_bcast_push(b, &it, 1), HY_OK);
	{
		struct hy_id id = mkid(1);
		struct hy_addr a = mkaddr(1, 1);
		struct hy_gossip r = mkrecord(&id, 5, &a);

		ck_assert_int_eq(hy_bcast_push(b, &r, 1), HY_OK);
	}
	ck_assert_uint_eq(hy_bcast_len(b), 2);
	hy_bcast_get_stats(b, &st);
	ck_assert_uint_eq(st.pushed, 4);
	ck_assert_uint_eq(st.replaced, 1);
	hy_bcast_free(b);
}
END_TEST

START_TEST(test_bcast_take_least_sent_max_budget)
{
	struct hy_bcast *b = hy_bcast_new(16);
	struct hy_gossip it, out[8];
	struct hy_id rid = mkid(9);
	struct hy_addr a = mkaddr(9, 1);
	size_t ssz, rsz;

	for (unsigned i = 1; i <= 3; i++) {
		it = bsusp(i);
		ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	}
	/* least-sent first (ties: the newer) */
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1);
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 3));
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1);
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 2));
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1);
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 1));
	ck_assert_uint_eq(hy_bcast_take(b, out, 2, 1000), 2);
	ck_assert(took(out, 2, HY_GOSSIP_SUSPECT, 3));
	ck_assert(took(out, 2, HY_GOSSIP_SUSPECT, 2));
	/* now 1 was sent once, 2 and 3 twice: 1 goes first */
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1);
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 1));
	/* max */
	for (unsigned i = 4; i <= 8; i++) {
		it = bsusp(i);
		ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	}
	ck_assert_uint_eq(hy_bcast_take(b, out, 3, 100000), 3);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 100000), 8);
	hy_bcast_free(b);

	/* byte budget: a record that does not fit is passed over */
	b = hy_bcast_new(16);
	it = mkrecord(&rid, 1, &a);
	rsz = hy_bcast_item_size(&it);
	ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	it = bsusp(1);
	ssz = hy_bcast_item_size(&it);
	ck_assert_uint_gt(rsz, 2 * ssz);
	ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	it = bsusp(2);
	ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 2 * ssz), 2);
	ck_assert(!took(out, 2, HY_GOSSIP_RECORD, 9));
	/* the record, least sent, fits exactly and fills the budget */
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, rsz), 1);
	ck_assert(took(out, 1, HY_GOSSIP_RECORD, 9));
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, ssz - 1), 0);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, rsz + 2 * ssz), 3);
	ck_assert_uint_eq(hy_bcast_take(b, out, 0, 100000), 0);
	hy_bcast_free(b);
}
END_TEST

START_TEST(test_bcast_retire_after_transmits)
{
	struct hy_bcast *b = hy_bcast_new(4);
	struct hy_gossip it = bsusp(1), out[8];
	struct hy_bcast_stats st;

	ck_assert_int_eq(hy_bcast_push(b, &it, 3), HY_OK);
	it = bsusp(2);
	ck_assert_int_eq(hy_bcast_push(b, &it, 1), HY_OK);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 2);
	ck_assert_uint_eq(hy_bcast_len(b), 1); /* 2 sent its only time */
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 1);
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 1));
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 1);
	ck_assert_uint_eq(hy_bcast_len(b), 0);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 0);
	hy_bcast_get_stats(b, &st);
	ck_assert_uint_eq(st.sent, 4);
	ck_assert_uint_eq(st.retired, 2);
	ck_assert_uint_eq(st.len, 0);
	hy_bcast_free(b);
}
END_TEST

START_TEST(test_bcast_full_evicts_most_sent)
{
	struct hy_bcast *b = hy_bcast_new(3);
	struct hy_gossip it, out[8];
	struct hy_bcast_stats st;
	size_t n;

	for (unsigned i = 1; i <= 3; i++) {
		it = bsusp(i);
		ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	}
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1); /* 3 */
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1); /* 2 */
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1); /* 1 */
	ck_assert_uint_eq(hy_bcast_take(b, out, 1, 1000), 1); /* 3 again */
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 3));
	/* 3 was sent twice: it gives way */
	it = bsusp(4);
	ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	ck_assert_uint_eq(hy_bcast_len(b), 3);
	n = hy_bcast_take(b, out, 8, 100000);
	ck_assert_uint_eq(n, 3);
	ck_assert(took(out, n, HY_GOSSIP_SUSPECT, 1));
	ck_assert(took(out, n, HY_GOSSIP_SUSPECT, 2));
	ck_assert(took(out, n, HY_GOSSIP_SUSPECT, 4));
	ck_assert(!took(out, n, HY_GOSSIP_SUSPECT, 3));
	/* all sent equally now (1, 2: twice; 4: once) -> 1 or 2: the older */
	it = bsusp(5);
	ck_assert_int_eq(hy_bcast_push(b, &it, 10), HY_OK);
	n = hy_bcast_take(b, out, 8, 100000);
	ck_assert(!took(out, n, HY_GOSSIP_SUSPECT, 1));
	ck_assert(took(out, n, HY_GOSSIP_SUSPECT, 2));
	ck_assert(took(out, n, HY_GOSSIP_SUSPECT, 4));
	ck_assert(took(out, n, HY_GOSSIP_SUSPECT, 5));
	hy_bcast_get_stats(b, &st);
	ck_assert_uint_eq(st.evicted, 2);
	hy_bcast_free(b);
}
END_TEST

START_TEST(test_bcast_drop_and_args)
{
	struct hy_bcast *b = hy_bcast_new(4);
	struct hy_gossip it = bsusp(1), out[8];
	struct hy_id id1 = mkid(1), id2 = mkid(2);

	ck_assert_int_eq(hy_bcast_push(b, &it, 5), HY_OK);
	it = bsusp(2);
	ck_assert_int_eq(hy_bcast_push(b, &it, 5), HY_OK);
	hy_bcast_drop(b, HY_GOSSIP_RECORD, &id1); /* other kind: kept */
	ck_assert_uint_eq(hy_bcast_len(b), 2);
	hy_bcast_drop(b, HY_GOSSIP_SUSPECT, &id1);
	ck_assert_uint_eq(hy_bcast_len(b), 1);
	hy_bcast_drop(b, HY_GOSSIP_SUSPECT, &id1); /* gone already */
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 1);
	ck_assert(took(out, 1, HY_GOSSIP_SUSPECT, 2));
	hy_bcast_drop(b, HY_GOSSIP_SUSPECT, &id2);
	ck_assert_uint_eq(hy_bcast_take(b, out, 8, 1000), 0);
	/* arguments */
	it.kind = 7;
	ck_assert_int_eq(hy_bcast_push(b, &it, 1), HY_EINVAL);
	it = bsusp(3);
	ck_assert_int_eq(hy_bcast_push(b, &it, 0), HY_EINVAL);
	ck_assert_uint_eq(hy_bcast_len(b), 0);
	hy_bcast_free(b);
	ck_assert_ptr_null(hy_bcast_new(0));
	ck_assert_ptr_null(hy_bcast_new(HY_BCAST_MAX + 1));
	hy_bcast_free(NULL);
}
END_TEST

/* ---- gossip: probing ----------------------------------------------------
 */

START_TEST(test_gossip_probe_ack_lowers_health)
{
	struct fix f;
	struct hy_id a = mid(0);
	struct hy_addr aa = maddr(0);
	unsigned i, j;
	uint64_t t;

	fix_init(&f);
	add_member(&f, 0);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UP, &a), 1);
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	run_to(&f, f.now + f.cfg.probe_interval_ms);
	i = (unsigned)find_req(&f, 0, HY_MSG_PROBE, &a, -1);
	ck_assert_int_ge((int)i, 0);
	ck_assert_uint_eq(f.h.req[i].via, HY_GOSSIP_VIA_ANY);
	ck_assert_uint_eq(f.h.req[i].timeout, f.cfg.probe_timeout_ms);
	ck_assert(hy_addr_eq(&f.h.req[i].to, &aa));
	ck_assert_uint_le(f.h.req[i].at, T0 + f.cfg.probe_interval_ms);
	respond(&f, i, HY_OK, HY_MSG_ACK);
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(stats(&f).probe_acks, 1);
	ck_assert_uint_eq(hy_gossip_health(f.g), 0);

	/* a stall raises health; the next probe's timeout is stretched and
	 * its ACK brings health down again */
	t = hy_gossip_next_deadline(f.g);
	f.now = t + 10 * f.cfg.stall_ms;
	j = f.h.nreq;
	(void)hy_gossip_tick(f.g, f.now);
	ck_assert_uint_eq(stats(&f).stalls, 1);
	ck_assert_uint_eq(hy_gossip_health(f.g), 1);
	ck_assert_int_eq(find_req(&f, j, HY_MSG_PROBE, &a, HY_GOSSIP_VIA_ANY),
	    (int)j);
	ck_assert_uint_eq(f.h.req[j].timeout, 2 * f.cfg.probe_timeout_ms);
	respond(&f, j, HY_OK, HY_MSG_ACK);
	ck_assert_uint_eq(hy_gossip_health(f.g), 0);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_probe_round_robin)
{
	struct fix f;
	unsigned seen[5] = { 0 };

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 5; i++)
		add_member(&f, i);
	run_to(&f, f.now + 5 * f.cfg.probe_interval_ms);
	for (unsigned r = 0; r < f.h.nreq; r++)
		for (unsigned i = 0; i < 5; i++) {
			struct hy_id id = mid(i);

			if (f.h.req[r].m.type == HY_MSG_PROBE &&
			    hy_id_eq(&f.h.req[r].to_id, &id))
				seen[i]++;
		}
	/* one probe per interval, every member once in five */
	for (unsigned i = 0; i < 5; i++)
		ck_assert_uint_eq(seen[i], 1);
	ck_assert_uint_eq(stats(&f).probes, 5);
	ck_assert_uint_eq(stats(&f).stalls, 0);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_indirect_then_suspect)
{
	struct fix f;
	struct hy_id t = mid(0);
	struct hy_addr ta = maddr(0);
	unsigned d, n = 0, tls = 0, helpers[8];
	int k;

	fix_init(&f);
	for (unsigned i = 0; i < 5; i++) /* the target and 4 candidates */
		add_member(&f, i);
	d = wait_probe(&f, &t);
	run_to(&f, f.h.req[d].at + f.cfg.probe_timeout_ms);
	respond(&f, d, HY_ETIMEDOUT, 0);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	for (unsigned i = d + 1; i < f.h.nreq; i++) {
		struct req *r = &f.h.req[i];

		if (r->m.type == HY_MSG_PROBE_REQ) {
			ck_assert_uint_eq(r->via, HY_GOSSIP_VIA_RELIABLE);
			ck_assert_uint_eq(r->timeout,
			    f.cfg.indirect_timeout_ms);
			ck_assert(!hy_id_eq(&r->to_id, &t));
			ck_assert(hy_id_eq(&r->m.body.probe_req.target.id, &t));
			ck_assert(
			    hy_addr_eq(&r->m.body.probe_req.target.addr, &ta));
			for (unsigned j = 0; j < n; j++)
				ck_assert(!hy_id_eq(&f.h.req[helpers[j]].to_id,
				    &r->to_id));
			helpers[n++] = i;
		} else if (r->m.type == HY_MSG_PROBE &&
		    hy_id_eq(&r->to_id, &t)) {
			ck_assert_uint_eq(r->via, HY_GOSSIP_VIA_TLS);
			ck_assert_uint_eq(r->timeout,
			    f.cfg.indirect_timeout_ms);
			tls = i;
		}
	}
	ck_assert_uint_eq(n, f.cfg.indirect_k);
	ck_assert_uint_gt(tls, 0);
	ck_assert_uint_eq(stats(&f).indirect_probes, 1);
	ck_assert_uint_eq(stats(&f).tls_probes, 1);
	/* every helper says NACK, the TLS probe times out: suspect */
	for (unsigned j = 0; j < n; j++)
		respond(&f, helpers[j], HY_OK, HY_MSG_NACK);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	respond(&f, tls, HY_ETIMEDOUT, 0);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, &t), 1);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 1);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_SUSPECT);
	ck_assert_uint_eq(stats(&f).suspicions, 1);
	ck_assert_uint_eq(stats(&f).nacks, n);
	ck_assert_uint_eq(stats(&f).missed_nacks, 0);
	ck_assert_uint_eq(stats(&f).suspect, 1);
	ck_assert_uint_eq(hy_gossip_health(f.g), 1);
	/* the hint rides on later probes once sessions are up */
	d = f.h.nreq;
	f.h.sessions_all = true;
	kill_node(&f, &t);
	f.net = true;
	run_to(&f, f.now + 4 * f.cfg.probe_interval_ms);
	for (k = (int)d; k < (int)f.h.nreq; k++)
		if (f.h.req[k].m.type == HY_MSG_PROBE &&
		    has_item(&f.h.req[k].m, HY_GOSSIP_SUSPECT, &t, 0))
			break;
	ck_assert_int_lt(k, (int)f.h.nreq);
	ck_assert_uint_eq(stats(&f).hints_sent, 1);
	fix_free(&f);
}
END_TEST

/* Drive member 0's probe to stage 2; returns the index of its direct
 * PROBE (the helpers' requests follow it). */
static unsigned
to_stage2(struct fix *f)
{
	struct hy_id t = mid(0);
	unsigned d = wait_probe(f, &t);

	run_to(f, f->h.req[d].at + f->cfg.probe_timeout_ms);
	respond(f, d, HY_ETIMEDOUT, 0);
	return d;
}

START_TEST(test_gossip_helpers_other_prefix)
{
	/* target 10.1.0.1; A 10.1.0.2 shares its /16, B 10.2.0.1 and
	 * D 10.2.0.2 share one, C 10.3.0.1: with k = 2 and no sessions the
	 * helpers are C and one of B, D */
	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct fix f;
		struct hy_id t = mkid(1), a = mkid(2), b = mkid(3), c = mkid(4),
		             dd = mkid(5);
		struct hy_addr ta = mkaddr(1, 1), aa = mkaddr(1, 2),
		               ba = mkaddr(2, 1), ca = mkaddr(3, 1),
		               da = mkaddr(2, 2);
		unsigned d, nb = 0, nc = 0, nd = 0, n = 0;

		fix_setup(&f);
		f.cfg.indirect_k = 2;
		fix_start(&f, seed);
		hy_gossip_add(f.g, &t, &ta, true, f.now);
		hy_gossip_add(f.g, &a, &aa, true, f.now);
		hy_gossip_add(f.g, &b, &ba, true, f.now);
		hy_gossip_add(f.g, &c, &ca, true, f.now);
		hy_gossip_add(f.g, &dd, &da, true, f.now);
		d = to_stage2(&f);
		for (unsigned i = d + 1; i < f.h.nreq; i++) {
			struct hy_id *to = &f.h.req[i].to_id;

			if (f.h.req[i].m.type != HY_MSG_PROBE_REQ)
				continue;
			n++;
			ck_assert(!hy_id_eq(to, &a));
			nb += hy_id_eq(to, &b);
			nc += hy_id_eq(to, &c);
			nd += hy_id_eq(to, &dd);
		}
		ck_assert_uint_eq(n, 2);
		ck_assert_uint_eq(nc, 1);
		ck_assert_uint_eq(nb + nd, 1);
		fix_free(&f);
	}
}
END_TEST

START_TEST(test_gossip_helpers_session_first)
{
	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct fix f;
		struct hy_id t = mkid(1), e = mkid(2), b = mkid(3), c = mkid(4);
		struct hy_addr ta = mkaddr(1, 1), ea = mkaddr(1, 9),
		               ba = mkaddr(2, 1), ca = mkaddr(3, 1);
		unsigned d;
		int h;

		/* k = 1: E (session, same /16 as the target) beats B (no
		 * session, other /16) */
		fix_setup(&f);
		f.cfg.indirect_k = 1;
		fix_start(&f, seed);
		f.h.up[f.h.nup++] = ea;
		hy_gossip_add(f.g, &t, &ta, true, f.now);
		hy_gossip_add(f.g, &e, &ea, true, f.now);
		hy_gossip_add(f.g, &b, &ba, true, f.now);
		d = to_stage2(&f);
		h = find_req(&f, d + 1, HY_MSG_PROBE_REQ, NULL, -1);
		ck_assert_int_ge(h, 0);
		ck_assert(hy_id_eq(&f.h.req[h].to_id, &e));
		ck_assert_int_lt(find_req(&f, (unsigned)h + 1, HY_MSG_PROBE_REQ,
		                     NULL, -1),
		    0);
		fix_free(&f);

		/* and C (session, other /16) beats E */
		fix_setup(&f);
		f.cfg.indirect_k = 1;
		fix_start(&f, seed);
		f.h.up[f.h.nup++] = ea;
		f.h.up[f.h.nup++] = ca;
		hy_gossip_add(f.g, &t, &ta, true, f.now);
		hy_gossip_add(f.g, &e, &ea, true, f.now);
		hy_gossip_add(f.g, &b, &ba, true, f.now);
		hy_gossip_add(f.g, &c, &ca, true, f.now);
		d = to_stage2(&f);
		h = find_req(&f, d + 1, HY_MSG_PROBE_REQ, NULL, -1);
		ck_assert_int_ge(h, 0);
		ck_assert(hy_id_eq(&f.h.req[h].to_id, &c));
		fix_free(&f);
	}
}
END_TEST

START_TEST(test_gossip_helper_ack_keeps_alive)
{
	struct fix f;
	struct hy_id t = mid(0);
	unsigned d;
	int h, tls;

	fix_init(&f);
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	d = to_stage2(&f);
	h = find_req(&f, d + 1, HY_MSG_PROBE_REQ, NULL, -1);
	tls = find_req(&f, d + 1, HY_MSG_PROBE, &t, HY_GOSSIP_VIA_TLS);
	ck_assert_int_ge(h, 0);
	ck_assert_int_ge(tls, 0);
	respond(&f, (unsigned)h, HY_OK, HY_MSG_ACK);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(stats(&f).indirect_acks, 1);
	ck_assert_uint_eq(stats(&f).probe_acks, 1);
	/* what is left of the probe no longer matters */
	respond(&f, (unsigned)tls, HY_ETIMEDOUT, 0);
	for (unsigned i = d + 1; i < f.h.nreq; i++)
		if (!f.h.req[i].answered)
			respond(&f, i, HY_ETIMEDOUT, 0);
	run_to(&f, f.now + f.cfg.indirect_timeout_ms);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	ck_assert_uint_eq(stats(&f).probe_fails, 0);
	ck_assert_uint_eq(stats(&f).missed_nacks, 0);
	ck_assert_uint_eq(hy_gossip_health(f.g), 0);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_tls_ack_keeps_alive)
{
	struct fix f;
	struct hy_id t = mid(0);
	unsigned d;
	int tls;

	fix_init(&f);
	add_member(&f, 0); /* no helpers at all: only the TLS probe */
	d = to_stage2(&f);
	ck_assert_int_lt(find_req(&f, d + 1, HY_MSG_PROBE_REQ, NULL, -1), 0);
	tls = find_req(&f, d + 1, HY_MSG_PROBE, &t, HY_GOSSIP_VIA_TLS);
	ck_assert_int_ge(tls, 0);
	respond(&f, (unsigned)tls, HY_OK, HY_MSG_ACK);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_ALIVE);
	run_to(&f, f.now + 2 * f.cfg.indirect_timeout_ms);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	fix_free(&f);
}
END_TEST

/* ---- suspicion and verdicts ---------------------------------------------
 */

/* The suspicion deadline of a suspicion that started with event e, with
 * n_live members and n confirmations, as gossip.c computes it (not
 * stretched by health: a degraded node gives no verdicts instead). */
static uint64_t
susp_deadline(struct fix *f, const struct ev *e, unsigned n_live, unsigned n)
{
	uint64_t min = hy_suspicion_min_ms(f->cfg.suspicion_mult, n_live + 1,
	    f->cfg.probe_interval_ms);

	return e->at +
	    hy_suspicion_timeout(min, min * f->cfg.suspicion_max_mult,
	        f->cfg.suspicion_k, n);
}

START_TEST(test_gossip_suspicion_expires_down)
{
	/* on time whatever the phase of the suspect's re-probes (seeds) */
	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct fix f;
		struct hy_id t = mid(0);
		const struct ev *s, *dn;
		uint64_t dl;

		fix_setup(&f);
		fix_start(&f, seed);
		f.net = true;
		for (unsigned i = 0; i < 4; i++)
			add_member(&f, i);
		kill_node(&f, &t);
		s = run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
		dl = susp_deadline(&f, s, 4, 0);
		run_to(&f, dl - 1);
		ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_SUSPECT);
		ck_assert_uint_eq(count_ev(&f, HY_GEV_DOWN, NULL), 0);
		dn = run_until_ev(&f, HY_GEV_DOWN, &t, dl + 60000);
		ck_assert_uint_ge(dn->at, dl);
		ck_assert_uint_le(dn->at, dl + f.cfg.probe_interval_ms / 2);
		ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_DOWN);
		ck_assert_uint_eq(stats(&f).downs, 1);
		ck_assert_uint_eq(stats(&f).down, 1);
		ck_assert_uint_eq(stats(&f).alive, 3);
		/* nobody else was ever suspected */
		ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 1);
		ck_assert_uint_eq(stats(&f).stalls, 0);
		fix_free(&f);
	}
}
END_TEST

START_TEST(test_gossip_confirmations_shorten)
{
	struct fix f;
	struct hy_id t = mid(0);
	const struct ev *s, *dn;
	struct hy_gossip_member m;
	uint64_t dmin, dmax;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 5; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	s = run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
	dmax = susp_deadline(&f, s, 5, 0);
	dmin = susp_deadline(&f, s, 5, f.cfg.suspicion_k);
	ck_assert_uint_lt(dmin, dmax);
	for (unsigned i = 1; i <= 4; i++) { /* 4 reporters, k = 3 */
		struct hy_id r = mid(i);

		hint(&f, &t, 0, &r);
	}
	ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
	ck_assert_uint_eq(m.confirmations, f.cfg.suspicion_k);
	ck_assert_uint_eq(stats(&f).confirmations, f.cfg.suspicion_k);
	run_to(&f, dmin - 1);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_DOWN, NULL), 0);
	dn = run_until_ev(&f, HY_GEV_DOWN, &t, dmax);
	ck_assert_uint_ge(dn->at, dmin);
	ck_assert_uint_lt(dn->at, dmax);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_down_while_reprobing)
{
	/* two confirmations put the deadline where the suspect's periodic
	 * re-probe is in flight: the verdict must not wait for a gap */
	struct fix f;
	struct hy_id t = mid(0);
	const struct ev *s, *dn;
	uint64_t dl;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 5; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	s = run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
	for (unsigned i = 1; i <= 2; i++) {
		struct hy_id r = mid(i);

		hint(&f, &t, 0, &r);
	}
	dl = susp_deadline(&f, s, 5, 2);
	dn = run_until_ev(&f, HY_GEV_DOWN, &t, dl + 60000);
	ck_assert_uint_ge(dn->at, dl);
	ck_assert_uint_le(dn->at, dl + f.cfg.probe_interval_ms / 2);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_confirmation_once_per_reporter)
{
	struct fix f;
	struct hy_id t = mid(0), r1 = mid(1), r2 = mid(2);
	struct hy_gossip_member m;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
	hint(&f, &t, 0, &r1);
	hint(&f, &t, 0, &r1);
	ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
	ck_assert_uint_eq(m.confirmations, 1);
	/* the suspect itself is no reporter */
	hint(&f, &t, 0, &t);
	ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
	ck_assert_uint_eq(m.confirmations, 1);
	hint(&f, &t, 0, &r2);
	ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
	ck_assert_uint_eq(m.confirmations, 2);
	ck_assert_uint_eq(stats(&f).confirmations, 2);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_hint_probes_never_suspects)
{
	struct fix f;
	struct hy_id a = mid(0);
	unsigned n0;
	int p;

	fix_init(&f);
	for (unsigned i = 0; i < 6; i++)
		add_member(&f, i);
	/* no probe of a in flight: a hint sends one at once */
	n0 = f.h.nreq;
	{
		struct hy_id r = mid(1);

		hint(&f, &a, 0, &r);
	}
	p = find_req(&f, n0, HY_MSG_PROBE, &a, HY_GOSSIP_VIA_ANY);
	ck_assert_int_ge(p, 0);
	ck_assert_uint_eq(f.h.req[p].at, f.now);
	/* more reporters than k: still only a probe, never a suspicion */
	for (unsigned i = 2; i < 6; i++) {
		struct hy_id r = mid(i);

		hint(&f, &a, 0, &r);
	}
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	ck_assert_int_lt(find_req(&f, (unsigned)p + 1, HY_MSG_PROBE, &a,
	                     HY_GOSSIP_VIA_ANY),
	    0); /* one probe at a time */
	respond(&f, (unsigned)p, HY_OK, HY_MSG_ACK);
	f.net = true;
	run_to(&f, f.now + 10 * f.cfg.probe_interval_ms);
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_DOWN, NULL), 0);
	ck_assert_uint_eq(stats(&f).hints_in, 5);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_hint_before_suspicion_confirms)
{
	struct fix f;
	struct hy_id a = mid(0), r = mid(1);
	struct hy_gossip_member m;

	fix_init(&f);
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	kill_node(&f, &a);
	f.net = true;
	hint(&f, &a, 0, &r);
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &a, T0 + 10000);
	/* our own probe failed: the earlier hint now counts */
	ck_assert_int_eq(hy_gossip_find(f.g, &a, &m), HY_OK);
	ck_assert_uint_eq(m.confirmations, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_bad_health_blocks_down)
{
	/* every member dead: our probes all fail, health climbs above
	 * health_evict_max and no verdict is given; the same run with the
	 * threshold at the cap gives verdicts */
	for (unsigned pass = 0; pass < 2; pass++) {
		struct fix f;

		fix_setup(&f);
		if (pass == 1)
			f.cfg.health_evict_max = f.cfg.health_max;
		fix_start(&f, 42);
		f.net = true;
		for (unsigned i = 0; i < 3; i++) {
			struct hy_id id = mid(i);

			add_member(&f, i);
			kill_node(&f, &id);
		}
		run_to(&f, T0 + 400000);
		ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 3);
		if (pass == 0) {
			ck_assert_uint_gt(hy_gossip_health(f.g),
			    f.cfg.health_evict_max);
			ck_assert_uint_eq(count_ev(&f, HY_GEV_DOWN, NULL), 0);
			ck_assert_uint_eq(stats(&f).suspect, 3);
		} else {
			ck_assert_uint_eq(count_ev(&f, HY_GEV_DOWN, NULL), 3);
		}
		ck_assert_uint_eq(stats(&f).stalls, 0);
		fix_free(&f);
	}
}
END_TEST

START_TEST(test_gossip_dead_minority_goes_down)
{
	/* a healthy node whose other members answer: a few dead members
	 * probed again and again while suspect must not drive its health
	 * above the verdict threshold (Lifeguard counts a node's own
	 * periodic probes, not the re-probes of the same dead peer) */
	struct fix f;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 8; i++)
		add_member(&f, i);
	for (unsigned i = 2; i < 5; i += 2) {
		struct hy_id id = mid(i);

		kill_node(&f, &id);
	}
	run_to(&f, T0 + 120000);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 2);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_DOWN, NULL), 2);
	ck_assert_uint_le(hy_gossip_health(f.g), f.cfg.health_evict_max);
	ck_assert_uint_eq(stats(&f).alive, 6);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_stall_inconclusive)
{
	struct fix f;
	struct hy_id a = mid(0);
	unsigned d, d2;
	uint64_t late;

	fix_init(&f);
	add_member(&f, 0);
	d = wait_probe(&f, &a);
	/* the host calls tick long after the deadline it was given */
	late = hy_gossip_next_deadline(f.g) + 5000;
	ck_assert_uint_lt(hy_gossip_next_deadline(f.g), late);
	f.now = late;
	(void)hy_gossip_tick(f.g, f.now);
	ck_assert_uint_eq(stats(&f).stalls, 1);
	ck_assert_uint_eq(hy_gossip_health(f.g), 1);
	/* the probe that started before the stall fails: nothing follows */
	respond(&f, d, HY_ETIMEDOUT, 0);
	for (unsigned i = d + 1; i < f.h.nreq; i++)
		if (!f.h.req[i].answered)
			respond(&f, i, HY_ETIMEDOUT, 0);
	run_to(&f, f.now + 2 * f.cfg.indirect_timeout_ms);
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	ck_assert_uint_eq(stats(&f).inconclusive, 1);
	ck_assert_uint_eq(stats(&f).probe_fails, 0);
	/* it is probed again soon; a probe after the stall does count */
	d2 = wait_probe(&f, &a);
	ck_assert_uint_gt(f.h.req[d2].at, late);
	kill_node(&f, &a);
	f.net = true;
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &a, f.now + 20000);
	ck_assert_uint_eq(stats(&f).stalls, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_no_false_stall)
{
	/* state that changes between ticks (an item to gossip) must not
	 * make the next tick look late */
	struct fix f;
	struct hy_id a = mid(0), b = mid(1);
	struct hy_addr ba = maddr(1);
	struct hy_gossip rec = mkrecord(&b, 7, &ba);
	unsigned d;

	fix_init(&f);
	add_member(&f, 0);
	add_member(&f, 1);
	d = wait_probe(&f, &a);
	respond(&f, d, HY_OK, HY_MSG_ACK);
	/* nothing to do until the next probe; just before it, b's newer
	 * record arrives */
	f.now = hy_gossip_next_deadline(f.g) - 50;
	items_from(&f, &b, &rec, 1);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UPDATED, &b), 1);
	f.net = true;
	run_to(&f, f.now + 3 * f.cfg.probe_interval_ms);
	ck_assert_uint_eq(stats(&f).stalls, 0);
	ck_assert_uint_eq(hy_gossip_health(f.g), 0);
	fix_free(&f);
}
END_TEST

/* ---- refutation ---------------------------------------------------------
 */

START_TEST(test_gossip_refute_self)
{
	struct fix f;
	struct hy_id r = mid(0);
	unsigned rp;
	uint8_t tbs[HY_RECORD_TBS_MAX], sig[HY_SIG_LEN];
	size_t len;
	const struct hy_gossip *it = NULL;

	fix_init(&f);
	add_member(&f, 0);
	own_record(&f, 100);
	ck_assert_uint_eq(f.h.nsign, 1);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 100);
	/* a hint about us at our seq: sign again with seq + 1 */
	hint(&f, &f.self, 100, &r);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 101);
	ck_assert_uint_eq(f.h.nsign, 2);
	ck_assert_uint_eq(stats(&f).refutations_sent, 1);
	rp = probe_in(&f, 0, 1, HY_PATH_DTLS);
	ck_assert(has_item(&f.h.rep[rp].m, HY_GOSSIP_RECORD, &f.self, 101));
	for (uint32_t i = 0; i < f.h.rep[rp].m.n_gossip; i++)
		if (f.h.rep[rp].m.gossip[i].kind == HY_GOSSIP_RECORD)
			it = &f.h.rep[rp].m.gossip[i];
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(hy_record_tbs(&it->u.record, tbs, sizeof(tbs), &len),
	    HY_OK);
	fake_sig(tbs, len, sig);
	ck_assert_mem_eq(sig, it->u.record.sig, HY_SIG_LEN);
	/* a hint from the future: outrank it */
	hint(&f, &f.self, 150, &r);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 151);
	/* a stale hint: no new signature */
	hint(&f, &f.self, 120, &r);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 151);
	ck_assert_uint_eq(f.h.nsign, 3);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_refute_stale_hint_regossips)
{
	/* a reporter that knew no record of ours (seq 0): the current
	 * record outranks its hint and must reach it again */
	struct fix f;
	struct hy_id r = mid(0);
	unsigned rp;

	fix_init(&f);
	add_member(&f, 0);
	own_record(&f, 100);
	drain_queue(&f);
	hint(&f, &f.self, 0, &r);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 100);
	ck_assert_uint_eq(f.h.nsign, 1);
	rp = probe_in(&f, 0, 1, HY_PATH_DTLS);
	ck_assert(has_item(&f.h.rep[rp].m, HY_GOSSIP_RECORD, &f.self, 100));
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_own_record_echo)
{
	/* our own record relayed back to us is no reason to sign again */
	struct fix f;
	struct hy_id h = mid(0);
	struct hy_gossip it;
	unsigned rp;

	fix_init(&f);
	add_member(&f, 0);
	own_record(&f, 100);
	rp = probe_in(&f, 0, 1, HY_PATH_DTLS);
	ck_assert_uint_eq(f.h.rep[rp].m.n_gossip, 1);
	it = f.h.rep[rp].m.gossip[0];
	ck_assert(has_item(&f.h.rep[rp].m, HY_GOSSIP_RECORD, &f.self, 100));
	items_from(&f, &h, &it, 1);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 100);
	ck_assert_uint_eq(f.h.nsign, 1);
	ck_assert_uint_eq(stats(&f).refutations_sent, 0);
	/* an old incarnation of ours with a higher seq is outranked */
	it.u.record.seq = 500;
	{
		uint8_t tbs[HY_RECORD_TBS_MAX];
		size_t len;

		ck_assert_int_eq(hy_record_tbs(&it.u.record, tbs, sizeof(tbs),
		                     &len),
		    HY_OK);
		fake_sig(tbs, len, it.u.record.sig);
	}
	items_from(&f, &h, &it, 1);
	ck_assert_uint_eq(hy_gossip_seq(f.g), 501);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_revived_at_new_addr)
{
	/* a suspect that moved: the host verifies it at its new address */
	struct fix f;
	struct hy_id t = mid(0);
	struct hy_addr na = mkaddr(77, 7);
	struct hy_gossip_member m;
	unsigned n0;
	int p;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
	revive(&f, &t);
	hy_gossip_add(f.g, &t, &na, true, f.now);
	ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
	ck_assert_int_eq(m.state, HY_MEMBER_ALIVE);
	ck_assert(hy_addr_eq(&m.addr, &na));
	n0 = f.h.nreq;
	run_to(&f, f.now + 6 * f.cfg.probe_interval_ms);
	p = find_req(&f, n0, HY_MSG_PROBE, &t, HY_GOSSIP_VIA_ANY);
	ck_assert_int_ge(p, 0);
	ck_assert(hy_addr_eq(&f.h.req[p].to, &na));
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_record_refutes_suspect)
{
	struct fix f;
	struct hy_id t = mid(0), h = mid(1);
	struct hy_addr ta = maddr(0);
	struct hy_gossip rec = mkrecord(&t, 5, &ta), old;
	unsigned nv;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
	f.net = false;
	/* a bad signature: counted, ignored */
	f.h.verify_ok = false;
	items_from(&f, &h, &rec, 1);
	ck_assert_uint_eq(stats(&f).records_bad, 1);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_SUSPECT);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UP, &t), 1); /* the add */
	/* the genuine record with a higher seq: alive again */
	f.h.verify_ok = true;
	items_from(&f, &h, &rec, 1);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UP, &t), 2);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UPDATED, &t), 1);
	ck_assert_uint_eq(stats(&f).refuted, 1);
	{
		struct hy_gossip_member m;

		ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
		ck_assert_uint_eq(m.seq, 5);
	}
	/* the same or an older record again: not even verified */
	nv = f.h.nverify;
	items_from(&f, &h, &rec, 1);
	old = mkrecord(&t, 4, &ta);
	items_from(&f, &h, &old, 1);
	ck_assert_uint_eq(f.h.nverify, nv);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UPDATED, &t), 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_heard_revives)
{
	struct fix f;
	struct hy_id t = mid(0);
	struct hy_addr na = mkaddr(77, 7);
	struct hy_gossip_member m;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &t, T0 + 60000);
	hy_gossip_heard(f.g, &t, NULL, f.now);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UP, &t), 2);
	ck_assert_uint_eq(stats(&f).refuted, 1);
	/* now let it go down, then hear from it at a new address */
	(void)run_until_ev(&f, HY_GEV_DOWN, &t, f.now + 200000);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_DOWN);
	hy_gossip_heard(f.g, &t, &na, f.now);
	ck_assert_int_eq(hy_gossip_find(f.g, &t, &m), HY_OK);
	ck_assert_int_eq(m.state, HY_MEMBER_ALIVE);
	ck_assert(hy_addr_eq(&m.addr, &na));
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UP, &t), 3);
	ck_assert_uint_eq(stats(&f).back_up, 1);
	ck_assert_uint_eq(stats(&f).down, 0);
	/* heard of an unknown node: nothing */
	{
		struct hy_id u = mkid(0x77);

		hy_gossip_heard(f.g, &u, &na, f.now);
		ck_assert_int_eq(state_of(&f, &u), -1);
	}
	fix_free(&f);
}
END_TEST

/* ---- serving ------------------------------------------------------------
 */

START_TEST(test_gossip_serve_probe)
{
	struct fix f;
	struct hy_gossip_peer p;
	struct hy_msg m;
	unsigned rp;

	fix_init(&f);
	add_member(&f, 0);
	own_record(&f, 10);
	/* over a datagram: ACK with the seq, no items */
	rp = probe_in(&f, 0, 4242, HY_PATH_DGRAM);
	ck_assert_uint_eq(f.h.rep[rp].m.type, HY_MSG_ACK);
	ck_assert_uint_eq(f.h.rep[rp].m.body.ack.seq, 4242);
	ck_assert_uint_eq(f.h.rep[rp].m.n_gossip, 0);
	ck_assert_uint_eq(f.h.rep[rp].to.path, HY_PATH_DGRAM);
	{
		struct hy_id a = mid(0);
		struct hy_addr aa = maddr(0);

		ck_assert(hy_id_eq(&f.h.rep[rp].to.id, &a));
		ck_assert(hy_addr_eq(&f.h.rep[rp].to.addr, &aa));
		ck_assert(hy_id_eq(&f.h.rep[rp].m.sender, &f.self));
	}
	/* over DTLS and TLS: with our record */
	rp = probe_in(&f, 0, 7, HY_PATH_DTLS);
	ck_assert_uint_eq(f.h.rep[rp].m.body.ack.seq, 7);
	ck_assert(has_item(&f.h.rep[rp].m, HY_GOSSIP_RECORD, &f.self, 10));
	rp = probe_in(&f, 0, 8, HY_PATH_TLS);
	ck_assert(has_item(&f.h.rep[rp].m, HY_GOSSIP_RECORD, &f.self, 10));
	/* another type: not ours */
	memset(&p, 0, sizeof(p));
	p.id = mid(0);
	p.addr = maddr(0);
	p.path = HY_PATH_DTLS;
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, f.cfg.network, 3, &p.id),
	    HY_OK);
	rp = f.h.nrep;
	ck_assert(!hy_gossip_on_request(f.g, &m, &p, f.now));
	ck_assert_uint_eq(f.h.nrep, rp);
	fix_free(&f);
}
END_TEST

/* A PROBE_REQ from member 0 about (id, addr). */
static void
probe_req_in(struct fix *f, uint32_t txid, uint32_t seq, const struct hy_id *id,
    const struct hy_addr *a)
{
	struct hy_gossip_peer p;
	struct hy_msg m;

	memset(&p, 0, sizeof(p));
	p.id = mid(0);
	p.addr = maddr(0);
	p.path = HY_PATH_DTLS;
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PROBE_REQ, f->cfg.network, txid,
	                     &p.id),
	    HY_OK);
	m.body.probe_req.seq = seq;
	m.body.probe_req.target.id = *id;
	m.body.probe_req.target.addr = *a;
	ck_assert(hy_gossip_on_request(f->g, &m, &p, f->now));
}

START_TEST(test_gossip_serve_probe_req)
{
	struct fix f;
	struct hy_id x = mkid(0x61), y = mid(1), z = mkid(0x63);
	struct hy_addr xa = mkaddr(61, 1), ya = maddr(1), za = mkaddr(63, 1);
	struct hy_id b = mid(0);
	int p;

	fix_init(&f);
	add_member(&f, 0); /* the requester */
	add_member(&f, 1); /* y: a member of ours */
	run_to(&f, f.now + 1); /* let the first periodic probe not interfere */
	/* target answers: ACK with the requester's seq */
	probe_req_in(&f, 11, 5001, &x, &xa);
	p = find_req(&f, 0, HY_MSG_PROBE, &x, HY_GOSSIP_VIA_ANY);
	ck_assert_int_ge(p, 0);
	ck_assert(hy_addr_eq(&f.h.req[p].to, &xa));
	ck_assert_uint_eq(f.h.req[p].timeout, f.cfg.probe_timeout_ms);
	ck_assert_uint_eq(f.h.nrep, 0);
	respond(&f, (unsigned)p, HY_OK, HY_MSG_ACK);
	ck_assert_uint_eq(f.h.nrep, 1);
	ck_assert_uint_eq(f.h.rep[0].m.type, HY_MSG_ACK);
	ck_assert_uint_eq(f.h.rep[0].m.body.ack.seq, 5001);
	ck_assert_uint_eq(f.h.rep[0].txid, 11);
	ck_assert(hy_id_eq(&f.h.rep[0].to.id, &b));
	ck_assert_int_eq(state_of(&f, &x), -1); /* not made a member */
	/* the target times out: NACK; our member y is not suspected */
	probe_req_in(&f, 12, 5002, &y, &ya);
	p = find_req(&f, (unsigned)p + 1, HY_MSG_PROBE, &y, HY_GOSSIP_VIA_ANY);
	ck_assert_int_ge(p, 0);
	f.now += f.cfg.probe_timeout_ms;
	respond(&f, (unsigned)p, HY_ETIMEDOUT, 0);
	ck_assert_uint_eq(f.h.nrep, 2);
	ck_assert_uint_eq(f.h.rep[1].m.type, HY_MSG_NACK);
	ck_assert_uint_eq(f.h.rep[1].m.body.nack.seq, 5002);
	ck_assert(hy_id_eq(&f.h.rep[1].m.body.nack.target, &y));
	ck_assert_uint_eq(f.h.rep[1].txid, 12);
	ck_assert_int_eq(state_of(&f, &y), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	/* the host never reports: NACK at the deadline */
	probe_req_in(&f, 13, 5003, &z, &za);
	run_to(&f, f.now + f.cfg.probe_timeout_ms);
	ck_assert_uint_eq(f.h.nrep, 3);
	ck_assert_uint_eq(f.h.rep[2].m.type, HY_MSG_NACK);
	ck_assert_uint_eq(f.h.rep[2].m.body.nack.seq, 5003);
	ck_assert_uint_eq(stats(&f).relays_served, 3);
	/* relays_max (2) in progress: ERROR 7 at once */
	probe_req_in(&f, 14, 5004, &x, &xa);
	probe_req_in(&f, 15, 5005, &z, &za);
	ck_assert_uint_eq(f.h.nrep, 3);
	probe_req_in(&f, 16, 5006, &y, &ya);
	ck_assert_uint_eq(f.h.nrep, 4);
	ck_assert_uint_eq(f.h.rep[3].m.type, HY_MSG_ERROR);
	ck_assert_uint_eq(f.h.rep[3].m.body.error.code, 7);
	ck_assert_uint_eq(f.h.rep[3].txid, 16);
	ck_assert_uint_eq(stats(&f).relays_refused, 1);
	/* and once one is done, there is room again */
	run_to(&f, f.now + f.cfg.probe_timeout_ms);
	ck_assert_uint_eq(f.h.nrep, 6);
	probe_req_in(&f, 17, 5007, &y, &ya);
	ck_assert_uint_eq(f.h.nrep, 6);
	fix_free(&f);
}
END_TEST

/* ---- down members and bounds --------------------------------------------
 */

START_TEST(test_gossip_reprobe_down)
{
	struct fix f;
	struct hy_id t = mid(0);
	const struct ev *dn, *up;
	uint64_t td, prev, gap, pgap = 0;
	unsigned n = 0;

	fix_init(&f);
	f.net = true;
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	kill_node(&f, &t);
	dn = run_until_ev(&f, HY_GEV_DOWN, &t, T0 + 200000);
	td = dn->at;
	run_to(&f, td + 40 * f.cfg.reprobe_ms);
	/* re-probed, directly only, less and less often */
	prev = td;
	for (unsigned i = 0; i < f.h.nreq; i++) {
		struct req *r = &f.h.req[i];

		if (r->at <= td)
			continue;
		ck_assert(!(r->m.type == HY_MSG_PROBE_REQ &&
		    hy_id_eq(&r->m.body.probe_req.target.id, &t)));
		if (r->m.type != HY_MSG_PROBE || !hy_id_eq(&r->to_id, &t))
			continue;
		ck_assert_uint_eq(r->via, HY_GOSSIP_VIA_ANY);
		gap = r->at - prev;
		if (n == 0)
			ck_assert_uint_le(gap,
			    f.cfg.reprobe_ms + f.cfg.probe_interval_ms);
		else
			ck_assert_uint_ge(gap + f.cfg.reprobe_ms / 2, pgap);
		pgap = gap;
		prev = r->at;
		n++;
	}
	ck_assert_uint_ge(n, 3);
	ck_assert_uint_le(n, 12); /* backed off, not every 2 s */
	ck_assert_uint_ge(stats(&f).reprobes, n);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_DOWN);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, &t), 1);
	/* it answers again: back up */
	revive(&f, &t);
	up = run_until_ev(&f, HY_GEV_UP, &t, f.now + 200000);
	ck_assert_int_eq(state_of(&f, &t), HY_MEMBER_ALIVE);
	ck_assert_uint_gt(up->at, td);
	ck_assert_uint_eq(stats(&f).back_up, 1);
	ck_assert_uint_eq(stats(&f).down, 0);
	fix_free(&f);
}
END_TEST

struct fe {
	unsigned n, last_state;
	bool ordered;
};

static int
fe_cb(const struct hy_gossip_member *m, void *arg)
{
	struct fe *fe = arg;

	if (fe->n > 0 && (unsigned)m->state < fe->last_state)
		fe->ordered = false;
	fe->last_state = (unsigned)m->state;
	fe->n++;
	return 0;
}

START_TEST(test_gossip_down_max)
{
	struct fix f;
	struct fe fe = { 0, 0, true };
	const struct ev *first = NULL, *second = NULL;
	int st0, st1;

	fix_setup(&f);
	f.cfg.down_max = 2;
	f.cfg.health_evict_max = f.cfg.health_max;
	fix_start(&f, 42);
	f.net = true;
	for (unsigned i = 0; i < 8; i++)
		add_member(&f, i);
	for (unsigned i = 0; i < 3; i++) {
		struct hy_id id = mid(i);

		kill_node(&f, &id);
	}
	while (count_ev(&f, HY_GEV_DOWN, NULL) < 3) {
		ck_assert_uint_lt(f.now, T0 + 600000);
		run_to(&f, f.now + 100);
	}
	for (unsigned i = 0; i < f.h.nev; i++)
		if (f.h.ev[i].ev == HY_GEV_DOWN) {
			if (first == NULL)
				first = &f.h.ev[i];
			else if (second == NULL)
				second = &f.h.ev[i];
		}
	/* the longest down was forgotten to make room */
	st0 = state_of(&f, &first->id);
	st1 = state_of(&f, &second->id);
	ck_assert(st0 == -1 || (st1 == -1 && first->at == second->at));
	ck_assert(st0 == HY_MEMBER_DOWN || st1 == HY_MEMBER_DOWN);
	ck_assert_uint_eq(stats(&f).down, 2);
	ck_assert_uint_eq(stats(&f).alive, 5);
	ck_assert_int_eq(hy_gossip_foreach(f.g, fe_cb, &fe), 0);
	ck_assert_uint_eq(fe.n, 7);
	ck_assert(fe.ordered);
	ck_assert_uint_eq(fe.last_state, HY_MEMBER_DOWN);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_members_max)
{
	struct fix f;

	fix_setup(&f);
	f.cfg.members_max = 4;
	f.cfg.active_max = 2;
	fix_start(&f, 42);
	for (unsigned i = 0; i < 6; i++)
		add_member(&f, i);
	add_member(&f, 1); /* again: a refresh, not a second member */
	{
		struct hy_addr sa = mkaddr(99, 1);

		hy_gossip_add(f.g, &f.self, &sa, true, f.now); /* self */
	}
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UP, NULL), 4);
	ck_assert_uint_eq(stats(&f).alive, 4);
	for (unsigned i = 0; i < 6; i++) {
		struct hy_id id = mid(i);

		ck_assert_int_eq(state_of(&f, &id),
		    i < 4 ? HY_MEMBER_ALIVE : -1);
	}
	ck_assert_int_eq(state_of(&f, &f.self), -1);
	/* removing one makes room */
	{
		struct hy_id id = mid(0), id4 = mid(4);

		hy_gossip_remove(f.g, &id);
		ck_assert_int_eq(state_of(&f, &id), -1);
		add_member(&f, 4);
		ck_assert_int_eq(state_of(&f, &id4), HY_MEMBER_ALIVE);
	}
	fix_free(&f);
}
END_TEST

/* ---- records of others --------------------------------------------------
 */

START_TEST(test_gossip_candidate_once_not_relayed)
{
	struct fix f;
	struct hy_id x = mkid(0x61), h = mid(0);
	struct hy_addr xa = mkaddr(61, 1);
	struct hy_gossip r7 = mkrecord(&x, 7, &xa), r8 = mkrecord(&x, 8, &xa),
	                 r6 = mkrecord(&x, 6, &xa);
	unsigned rp;

	fix_init(&f);
	add_member(&f, 0);
	items_from(&f, &h, &r7, 1);
	items_from(&f, &h, &r7, 1);
	ck_assert_uint_eq(f.h.ncand, 1);
	ck_assert(hy_id_eq(&f.h.cand[0].id, &x));
	ck_assert(hy_addr_eq(&f.h.cand[0].addr, &xa));
	ck_assert_uint_eq(f.h.nverify, 1);
	ck_assert_uint_eq(stats(&f).records_new, 1);
	ck_assert_uint_eq(stats(&f).candidates, 1);
	ck_assert_int_eq(state_of(&f, &x), -1);
	/* not relayed */
	rp = probe_in(&f, 0, 1, HY_PATH_DTLS);
	ck_assert_uint_eq(f.h.rep[rp].m.n_gossip, 0);
	/* a newer one: verified and offered again; an older one: not */
	items_from(&f, &h, &r8, 1);
	ck_assert_uint_eq(f.h.nverify, 2);
	ck_assert_uint_eq(f.h.ncand, 2);
	items_from(&f, &h, &r6, 1);
	ck_assert_uint_eq(f.h.nverify, 2);
	ck_assert_uint_eq(f.h.ncand, 2);
	/* without addresses: verified but nothing to ping */
	{
		struct hy_id y = mkid(0x62);
		struct hy_gossip ry = mkrecord(&y, 1, &xa);
		uint8_t tbs[HY_RECORD_TBS_MAX];
		size_t len;

		ry.u.record.n_addrs = 0;
		ck_assert_int_eq(hy_record_tbs(&ry.u.record, tbs, sizeof(tbs),
		                     &len),
		    HY_OK);
		fake_sig(tbs, len, ry.u.record.sig);
		items_from(&f, &h, &ry, 1);
		ck_assert_uint_eq(f.h.ncand, 2);
	}
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_forged_record_no_poison)
{
	/* a forged record of x (bad signature) must not hide x's genuine
	 * records, of the same or of a lower seq */
	struct fix f;
	struct hy_id x = mkid(0x61), h = mid(0);
	struct hy_addr xa = mkaddr(61, 1);
	struct hy_gossip forged = mkrecord(&x, 9, &xa), good;

	fix_init(&f);
	add_member(&f, 0);
	forged.u.record.sig[5] ^= 1;
	items_from(&f, &h, &forged, 1);
	ck_assert_uint_eq(stats(&f).records_bad, 1);
	ck_assert_uint_eq(f.h.ncand, 0);
	good = mkrecord(&x, 9, &xa);
	items_from(&f, &h, &good, 1);
	ck_assert_uint_eq(f.h.ncand, 1);
	forged = mkrecord(&x, 1000000, &xa);
	forged.u.record.sig[0] ^= 1;
	items_from(&f, &h, &forged, 1);
	ck_assert_uint_eq(stats(&f).records_bad, 2);
	good = mkrecord(&x, 10, &xa);
	items_from(&f, &h, &good, 1);
	ck_assert_uint_eq(f.h.ncand, 2);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_member_record_relayed)
{
	/* a member's record that outranks the one we knew is news: relayed
	 * (a first record may or may not be: it travels from its node) */
	struct fix f;
	struct hy_id h = mid(0), b = mid(1);
	struct hy_addr ba = maddr(1);
	struct hy_gossip r3 = mkrecord(&b, 3, &ba), r4 = mkrecord(&b, 4, &ba);
	unsigned rq, rp;

	fix_init(&f);
	add_member(&f, 0);
	add_member(&f, 1);
	f.h.sessions_all = true;
	f.net = true;
	items_from(&f, &h, &r3, 1);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UPDATED, &b), 1);
	run_to(&f, f.now + 10 * f.cfg.probe_interval_ms);
	rq = f.h.nreq;
	rp = f.h.nrep;
	items_from(&f, &h, &r4, 1);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_UPDATED, &b), 2);
	ck_assert_uint_eq(f.h.ncand, 0);
	run_to(&f, f.now + 10 * f.cfg.probe_interval_ms);
	/* relayed lambda * ceil(log10(n + 1)) = 4 times, then retired */
	ck_assert_uint_eq(item_sends(&f, rq, rp, HY_GOSSIP_RECORD, &b, 4),
	    f.cfg.retransmit_mult);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_own_record_spread_limit)
{
	struct fix f;
	unsigned rq;
	int p;

	fix_init(&f);
	for (unsigned i = 0; i < 3; i++)
		add_member(&f, i);
	f.net = true;
	/* no sessions: nothing carries items (h_request checks) */
	own_record(&f, 77);
	run_to(&f, f.now + 3 * f.cfg.probe_interval_ms);
	ck_assert_uint_eq(item_sends(&f, 0, 0, HY_GOSSIP_RECORD, &f.self, 77),
	    0);
	/* sessions up: pushed within a gossip interval, 4 times in all */
	f.h.sessions_all = true;
	rq = f.h.nreq;
	run_to(&f, f.now + f.cfg.gossip_interval_ms);
	p = find_req(&f, rq, HY_MSG_PROBE, NULL, HY_GOSSIP_VIA_ANY);
	ck_assert_int_ge(p, 0);
	ck_assert(has_item(&f.h.req[p].m, HY_GOSSIP_RECORD, &f.self, 77));
	run_to(&f, f.now + 10 * f.cfg.probe_interval_ms);
	ck_assert_uint_eq(item_sends(&f, 0, 0, HY_GOSSIP_RECORD, &f.self, 77),
	    f.cfg.retransmit_mult);
	ck_assert_uint_gt(stats(&f).pushes, 0);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_hint_relayed_once)
{
	struct fix f;
	struct hy_id a = mid(0);
	unsigned rq, rp;

	fix_init(&f);
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	f.h.sessions_all = true;
	f.net = true;
	rq = f.h.nreq;
	rp = f.h.nrep;
	for (unsigned i = 1; i < 4; i++) { /* one reporter per push */
		struct hy_id r = mid(i);

		hint(&f, &a, 0, &r);
		run_to(&f, f.now + f.cfg.gossip_interval_ms);
	}
	run_to(&f, f.now + 10 * f.cfg.probe_interval_ms);
	/* a answers: alive; the hint went out lambda times, not 3 lambda */
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	ck_assert_uint_eq(item_sends(&f, rq, rp, HY_GOSSIP_SUSPECT, &a, 0),
	    f.cfg.retransmit_mult);
	fix_free(&f);
}
END_TEST

/* ---- active set ---------------------------------------------------------
 */

START_TEST(test_gossip_active_set)
{
	struct fix f;
	struct hy_id victim;
	unsigned opens = 0, n0;
	bool closed = false;

	fix_setup(&f);
	f.cfg.active_max = 3;
	fix_start(&f, 42);
	f.net = true;
	for (unsigned i = 0; i < 6; i++)
		add_member(&f, i);
	run_to(&f, f.now + f.cfg.probe_interval_ms);
	for (unsigned i = 0; i < f.h.nsess; i++) {
		ck_assert(f.h.sess[i].open);
		for (unsigned j = 0; j < i; j++)
			ck_assert(!hy_id_eq(&f.h.sess[i].id, &f.h.sess[j].id));
		opens++;
	}
	ck_assert_uint_eq(opens, 3);
	ck_assert_uint_eq(stats(&f).active, 3);
	/* an active member becomes suspect: its session is released, and
	 * another member takes its place */
	victim = f.h.sess[0].id;
	kill_node(&f, &victim);
	(void)run_until_ev(&f, HY_GEV_SUSPECT, &victim, f.now + 60000);
	for (unsigned i = 0; i < f.h.nsess; i++)
		if (!f.h.sess[i].open && hy_id_eq(&f.h.sess[i].id, &victim))
			closed = true;
	ck_assert(closed);
	{
		struct hy_gossip_member m;

		ck_assert_int_eq(hy_gossip_find(f.g, &victim, &m), HY_OK);
		ck_assert(!m.active);
	}
	n0 = f.h.nsess;
	run_to(&f, f.now + 3 * f.cfg.probe_interval_ms);
	ck_assert_uint_gt(f.h.nsess, n0);
	ck_assert(f.h.sess[n0].open);
	ck_assert(!hy_id_eq(&f.h.sess[n0].id, &victim));
	ck_assert_uint_eq(stats(&f).active, 3);
	fix_free(&f);
}
END_TEST

/* ---- cookies, arguments, determinism ------------------------------------
 */

START_TEST(test_gossip_stale_cookies)
{
	struct fix f;
	struct hy_id t = mid(0);
	struct hy_msg ack;
	unsigned d, n, ev;
	int h, tls;
	uint64_t c;

	fix_init(&f);
	for (unsigned i = 0; i < 3; i++)
		add_member(&f, i);
	d = to_stage2(&f);
	n = f.h.nreq;
	ev = f.h.nev;
	/* the direct probe reported twice, cookies never handed out */
	hy_gossip_on_response(f.g, f.h.req[d].cookie, HY_ETIMEDOUT, NULL,
	    f.now);
	hy_gossip_on_response(f.g, 0, HY_ETIMEDOUT, NULL, f.now);
	hy_gossip_on_response(f.g, 0xffffffffffffffffull, HY_ETIMEDOUT, NULL,
	    f.now);
	hy_gossip_on_response(f.g, f.h.req[d].cookie ^ (1ull << 40),
	    HY_ETIMEDOUT, NULL, f.now);
	/* a helper's NACK, then an ACK under the same cookie */
	h = find_req(&f, d + 1, HY_MSG_PROBE_REQ, NULL, -1);
	tls = find_req(&f, d + 1, HY_MSG_PROBE, &t, HY_GOSSIP_VIA_TLS);
	ck_assert_int_ge(h, 0);
	ck_assert_int_ge(tls, 0);
	c = f.h.req[h].cookie;
	respond(&f, (unsigned)h, HY_OK, HY_MSG_NACK);
	mkreply(&f, &ack, HY_MSG_ACK, &f.h.req[h].to_id, &f.h.req[h]);
	hy_gossip_on_response(f.g, c, HY_OK, &ack, f.now);
	ck_assert_uint_eq(stats(&f).indirect_acks, 0);
	ck_assert_uint_eq(f.h.nreq, n);
	ck_assert_uint_eq(f.h.nev, ev);
	/* the probe still waits for the rest, then fails as it should */
	for (unsigned i = d + 1; i < f.h.nreq; i++)
		if (!f.h.req[i].answered && (int)i != tls)
			respond(&f, i, HY_OK, HY_MSG_NACK);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 0);
	respond(&f, (unsigned)tls, HY_ETIMEDOUT, 0);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, &t), 1);
	/* a late TLS timeout under a finished probe's cookie: nothing */
	hy_gossip_on_response(f.g, f.h.req[tls].cookie, HY_ETIMEDOUT, NULL,
	    f.now);
	ck_assert_uint_eq(count_ev(&f, HY_GEV_SUSPECT, NULL), 1);
	/* NULL reply with err 0 is no answer */
	hy_gossip_on_response(NULL, 1, HY_OK, NULL, f.now);
	fix_free(&f);
}
END_TEST

START_TEST(test_gossip_new_args_free_null)
{
	struct fix f;
	struct hy_gossiper *g = NULL;
	struct hy_gossip_host host;
	struct hy_gossip_config c;
	struct hy_id zero, id = mkid(1);

	hy_gossip_free(NULL);
	fix_setup(&f);
	fix_host(&f, &host);
	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(hy_gossip_new(&g, &zero, NULL, &host, 1, 0),
	    HY_EINVAL);
	ck_assert_int_eq(hy_gossip_new(&g, &id, NULL, NULL, 1, 0), HY_EINVAL);
	host.verify = NULL;
	ck_assert_int_eq(hy_gossip_new(&g, &id, NULL, &host, 1, 0), HY_EINVAL);
	fix_host(&f, &host);
	host.request = NULL;
	ck_assert_int_eq(hy_gossip_new(&g, &id, NULL, &host, 1, 0), HY_EINVAL);
	fix_host(&f, &host);
	cfg_small(&c);
	c.members_max = 0;
	ck_assert_int_eq(hy_gossip_new(&g, &id, &c, &host, 1, 0), HY_EINVAL);
	cfg_small(&c);
	c.indirect_k = HY_GOSSIP_K_MAX + 1;
	ck_assert_int_eq(hy_gossip_new(&g, &id, &c, &host, 1, 0), HY_EINVAL);
	cfg_small(&c);
	c.active_max = c.members_max + 1;
	ck_assert_int_eq(hy_gossip_new(&g, &id, &c, &host, 1, 0), HY_EINVAL);
	cfg_small(&c);
	c.suspicion_k = HY_SUSPICION_K_MAX + 1;
	ck_assert_int_eq(hy_gossip_new(&g, &id, &c, &host, 1, 0), HY_EINVAL);
	cfg_small(&c);
	c.network[0] = '\0';
	ck_assert_int_eq(hy_gossip_new(&g, &id, &c, &host, 1, 0), HY_EINVAL);
	ck_assert_ptr_null(g);
	/* the optional callbacks may be absent; the defaults are valid */
	host.session = NULL;
	host.session_up = NULL;
	host.candidate = NULL;
	ck_assert_int_eq(hy_gossip_new(&g, &id, NULL, &host, 1, 0), HY_OK);
	hy_gossip_free(g);
	hy_gossip_config_wan(&c);
	ck_assert_int_eq(hy_gossip_new(&g, &id, &c, &host, 1, 0), HY_OK);
	hy_gossip_free(g);
	/* NULL handles */
	ck_assert_uint_eq(hy_gossip_tick(NULL, 0), UINT64_MAX);
	ck_assert_uint_eq(hy_gossip_next_deadline(NULL), UINT64_MAX);
	ck_assert_uint_eq(hy_gossip_health(NULL), 0);
	ck_assert_int_eq(hy_gossip_find(NULL, &id, NULL), HY_ENOENT);
	ck_assert_int_eq(hy_gossip_foreach(NULL, fe_cb, NULL), 0);
	hy_gossip_add(NULL, &id, &f.h.up[0], true, 0);
	hy_gossip_heard(NULL, &id, NULL, 0);
	hy_gossip_hint_failed(NULL, &id, 0);
	hy_gossip_remove(NULL, &id);
	ck_assert(!hy_gossip_on_request(NULL, NULL, NULL, 0));
}
END_TEST

START_TEST(test_gossip_hint_failed_probes)
{
	struct fix f;
	struct hy_id a = mid(2);
	unsigned n0;
	int p;

	fix_init(&f);
	for (unsigned i = 0; i < 4; i++)
		add_member(&f, i);
	n0 = f.h.nreq;
	hy_gossip_hint_failed(f.g, &a, f.now);
	p = find_req(&f, n0, HY_MSG_PROBE, &a, HY_GOSSIP_VIA_ANY);
	ck_assert_int_ge(p, 0);
	ck_assert_uint_eq(f.h.req[p].at, f.now);
	respond(&f, (unsigned)p, HY_OK, HY_MSG_ACK);
	ck_assert_int_eq(state_of(&f, &a), HY_MEMBER_ALIVE);
	fix_free(&f);
}
END_TEST

/* Run a scenario and fold its request log into a fingerprint. */
static uint64_t
scenario_print(uint64_t seed)
{
	struct fix f;
	uint64_t h = 1469598103934665603ull;

	fix_setup(&f);
	fix_start(&f, seed);
	f.net = true;
	for (unsigned i = 0; i < 8; i++)
		add_member(&f, i);
	{
		struct hy_id t = mid(3), u = mid(5);

		kill_node(&f, &t);
		kill_node(&f, &u);
	}
	run_to(&f, T0 + 60000);
	for (unsigned i = 0; i < f.h.nreq; i++) {
		const struct req *r = &f.h.req[i];
		uint64_t v[5] = { r->at, r->cookie, r->to_id.b[0], r->via,
			r->m.type };

		for (unsigned j = 0; j < 5; j++)
			h = (h ^ v[j]) * 1099511628211ull;
	}
	for (unsigned i = 0; i < f.h.nev; i++)
		h = (h ^ (f.h.ev[i].at + f.h.ev[i].ev)) * 1099511628211ull;
	ck_assert_uint_gt(f.h.nreq, 60);
	fix_free(&f);
	return h;
}

START_TEST(test_gossip_deterministic)
{
	ck_assert_uint_eq(scenario_print(7), scenario_print(7));
	ck_assert_uint_eq(scenario_print(8), scenario_print(8));
}
END_TEST

/* ---- real signatures ----------------------------------------------------
 */

static struct hy_record
signed_record(struct hy_ident *k, uint64_t seq)
{
	struct hy_record r;
	uint8_t tbs[HY_RECORD_TBS_MAX];
	size_t len;

	memset(&r, 0, sizeof(r));
	r.id = *hy_ident_id(k);
	memcpy(r.pubkey, hy_ident_pubkey(k), HY_PUBKEY_LEN);
	r.seq = seq;
	r.n_addrs = 2;
	r.addrs[0] = mkaddr(5, 5);
	memset(&r.addrs[1], 0, sizeof(r.addrs[1]));
	r.addrs[1].family = HY_AF_INET6;
	r.addrs[1].ip[0] = 0x20;
	r.addrs[1].ip[1] = 0x01;
	r.addrs[1].ip[15] = 9;
	r.addrs[1].port = 4001;
	r.ts_ms = 1700000000123ull;
	ck_assert_int_eq(hy_record_tbs(&r, tbs, sizeof(tbs), &len), HY_OK);
	ck_assert_int_eq(hy_ident_sign(k, HY_RECORD_SIG_CTX, tbs, len, r.sig),
	    HY_OK);
	return r;
}

START_TEST(test_gossip_real_signatures)
{
	struct hy_ident *ka, *kb;
	struct hy_record r, bad;
	struct fix fa, fb;
	struct hy_gossip_peer p;
	struct hy_msg m;
	const struct hy_msg *ack;
	struct hy_gossip it;
	uint8_t tbs[HY_RECORD_TBS_MAX];
	size_t len;

	ck_assert_int_eq(hy_ident_generate(&ka), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&kb), HY_OK);
	r = signed_record(ka, 1000);
	ck_assert_int_eq(real_verify(&r), HY_OK);
	/* a tampered seq, address or timestamp */
	bad = r;
	bad.seq++;
	ck_assert_int_ne(real_verify(&bad), HY_OK);
	bad = r;
	bad.addrs[0].port++;
	ck_assert_int_ne(real_verify(&bad), HY_OK);
	bad = r;
	bad.ts_ms++;
	ck_assert_int_ne(real_verify(&bad), HY_OK);
	/* the wrong id for the key, and another key for the id */
	bad = r;
	bad.id = *hy_ident_id(kb);
	ck_assert_int_ne(real_verify(&bad), HY_OK);
	bad = r;
	memcpy(bad.pubkey, hy_ident_pubkey(kb), HY_PUBKEY_LEN);
	ck_assert_int_ne(real_verify(&bad), HY_OK);
	/* another context's signature over the same bytes */
	bad = r;
	ck_assert_int_eq(hy_record_tbs(&bad, tbs, sizeof(tbs), &len), HY_OK);
	ck_assert_int_eq(hy_ident_sign(ka, HY_MUTABLE_SIG_CTX, tbs, len,
	                     bad.sig),
	    HY_OK);
	ck_assert_int_ne(real_verify(&bad), HY_OK);
	/* a fully consistent record of B, re-signed by A */
	bad = signed_record(kb, 5);
	ck_assert_int_eq(real_verify(&bad), HY_OK);
	ck_assert_int_eq(hy_record_tbs(&bad, tbs, sizeof(tbs), &len), HY_OK);
	ck_assert_int_eq(hy_ident_sign(ka, HY_RECORD_SIG_CTX, tbs, len,
	                     bad.sig),
	    HY_OK);
	ck_assert_int_ne(real_verify(&bad), HY_OK);

	/* end to end: A's module signs its record, B's module checks it */
	fix_setup(&fa);
	fa.self = *hy_ident_id(ka);
	fa.h.ident = ka;
	fix_start(&fa, 1);
	fix_setup(&fb);
	fb.self = *hy_ident_id(kb);
	fb.h.ident = kb;
	fix_start(&fb, 2);
	{
		struct hy_addr a = mkaddr(5, 5);

		ck_assert_int_eq(hy_gossip_set_record(fa.g, hy_ident_pubkey(ka),
		                     &a, 1, 2000, 1700000000000ull, fa.now),
		    HY_OK);
	}
	memset(&p, 0, sizeof(p));
	p.id = fb.self;
	p.addr = mkaddr(6, 6);
	p.path = HY_PATH_DTLS;
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PROBE, fa.cfg.network, 1,
	                     &p.id),
	    HY_OK);
	ck_assert(hy_gossip_on_request(fa.g, &m, &p, fa.now));
	ck_assert_uint_eq(fa.h.nrep, 1);
	ack = &fa.h.rep[0].m;
	ck_assert_uint_eq(ack->n_gossip, 1);
	it = ack->gossip[0];
	ck_assert_uint_eq(it.kind, HY_GOSSIP_RECORD);
	ck_assert_int_eq(real_verify(&it.u.record), HY_OK);
	/* B first sees a tampered copy, then the genuine one */
	it.u.record.seq++;
	hy_gossip_on_items(fb.g,
	    &(struct hy_msg){ .n_gossip = 1, .gossip = { it } }, &fa.self,
	    fb.now);
	ck_assert_uint_eq(stats(&fb).records_bad, 1);
	ck_assert_uint_eq(fb.h.ncand, 0);
	hy_gossip_on_items(fb.g, ack, &fa.self, fb.now);
	ck_assert_uint_eq(stats(&fb).records_bad, 1);
	ck_assert_uint_eq(fb.h.ncand, 1);
	ck_assert(hy_id_eq(&fb.h.cand[0].id, &fa.self));
	fix_free(&fa);
	fix_free(&fb);
	hy_ident_free(ka);
	hy_ident_free(kb);
}
END_TEST

static Suite *
gossip_suite(void)
{
	Suite *s = suite_create("gossip");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_health_saturates);
	tcase_add_test(tc, test_health_scale);
	tcase_add_test(tc, test_suspicion_timeout_curve);
	tcase_add_test(tc, test_suspicion_confirm_once_per_reporter);
	tcase_add_test(tc, test_suspicion_min_ms);
	tcase_add_test(tc, test_bcast_replace_resets_count);
	tcase_add_test(tc, test_bcast_take_least_sent_max_budget);
	tcase_add_test(tc, test_bcast_retire_after_transmits);
	tcase_add_test(tc, test_bcast_full_evicts_most_sent);
	tcase_add_test(tc, test_bcast_drop_and_args);
	tcase_add_test(tc, test_gossip_probe_ack_lowers_health);
	tcase_add_test(tc, test_gossip_probe_round_robin);
	tcase_add_test(tc, test_gossip_indirect_then_suspect);
	tcase_add_test(tc, test_gossip_helpers_other_prefix);
	tcase_add_test(tc, test_gossip_helpers_session_first);
	tcase_add_test(tc, test_gossip_helper_ack_keeps_alive);
	tcase_add_test(tc, test_gossip_tls_ack_keeps_alive);
	tcase_add_test(tc, test_gossip_suspicion_expires_down);
	tcase_add_test(tc, test_gossip_confirmations_shorten);
	tcase_add_test(tc, test_gossip_down_while_reprobing);
	tcase_add_test(tc, test_gossip_confirmation_once_per_reporter);
	tcase_add_test(tc, test_gossip_hint_probes_never_suspects);
	tcase_add_test(tc, test_gossip_hint_before_suspicion_confirms);
	tcase_add_test(tc, test_gossip_bad_health_blocks_down);
	tcase_add_test(tc, test_gossip_dead_minority_goes_down);
	tcase_add_test(tc, test_gossip_stall_inconclusive);
	tcase_add_test(tc, test_gossip_no_false_stall);
	tcase_add_test(tc, test_gossip_refute_self);
	tcase_add_test(tc, test_gossip_refute_stale_hint_regossips);
	tcase_add_test(tc, test_gossip_own_record_echo);
	tcase_add_test(tc, test_gossip_revived_at_new_addr);
	tcase_add_test(tc, test_gossip_record_refutes_suspect);
	tcase_add_test(tc, test_gossip_heard_revives);
	tcase_add_test(tc, test_gossip_serve_probe);
	tcase_add_test(tc, test_gossip_serve_probe_req);
	tcase_add_test(tc, test_gossip_reprobe_down);
	tcase_add_test(tc, test_gossip_down_max);
	tcase_add_test(tc, test_gossip_members_max);
	tcase_add_test(tc, test_gossip_candidate_once_not_relayed);
	tcase_add_test(tc, test_gossip_forged_record_no_poison);
	tcase_add_test(tc, test_gossip_member_record_relayed);
	tcase_add_test(tc, test_gossip_own_record_spread_limit);
	tcase_add_test(tc, test_gossip_hint_relayed_once);
	tcase_add_test(tc, test_gossip_active_set);
	tcase_add_test(tc, test_gossip_stale_cookies);
	tcase_add_test(tc, test_gossip_new_args_free_null);
	tcase_add_test(tc, test_gossip_hint_failed_probes);
	tcase_add_test(tc, test_gossip_deterministic);
	tcase_add_test(tc, test_gossip_real_signatures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gossip_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
