/*
 * check_dht.c: unit tests of the DHT node (src/dht*.c) against a fake host
 * that records every request and reply (deep copies: each message is
 * encoded and decoded into the record) and lets the test deliver replies,
 * errors and timeouts by cookie.
 *
 * Covered: serving each request type (PING, FIND_NODE, FIND_VALUE, STORE,
 * ANNOUNCE_PEER, GET_PEERS) with tokens (bad, other IP, expired, previous
 * epoch), store refusals (STORE_FULL, TOO_LARGE), BEP 44 mutable values
 * (signature, key, seq, CAS), put/get/announce/get_peers flows with
 * scripted replies, deduplication, cancel, callbacks never synchronous,
 * free cancelling, bounds (max_ops, max_pending), timeouts feeding the
 * routing table and bootstrap through a seed of unknown ID.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "crypto.h"
#include "dht.h"
#include "ident.h"
#include "wire.h"

#define NREC 256
#define T0 1000000u

struct rec {
	uint8_t buf[HY_TLS_FRAME_MAX / 2];
	size_t len;
	struct hy_msg m;
	struct hy_addr to;
	struct hy_id to_id;
	bool has_id;
	uint64_t cookie;
	bool answered;
};

struct host {
	struct rec *req; /* NREC */
	unsigned nreq;
	struct rec *rep; /* NREC */
	unsigned nrep;
	int fail_request; /* returned by request when non-zero */
	bool in_call; /* a DHT entry point is running */
};

struct cbrec {
	int calls, items, finals;
	int err;
	unsigned stored_on;
	enum hy_dht_status status;
	uint64_t ids[16];
	struct hy_addr peers[64];
	size_t npeers;
	bool sync; /* fired while the starting call was running */
	bool *starting;
};

static void
record(struct rec *r, const struct hy_msg *m)
{
	ck_assert_int_eq(hy_msg_encode(m, HY_PATH_TLS, r->buf, sizeof(r->buf),
	                     &r->len),
	    HY_OK);
	ck_assert_int_eq(hy_msg_decode(&r->m, r->buf, r->len, HY_PATH_TLS),
	    HY_OK);
}

static int
h_request(void *ctx, const struct hy_addr *to, const struct hy_id *to_id,
    struct hy_msg *req, uint64_t cookie)
{
	struct host *h = ctx;
	struct rec *r;

	if (h->fail_request != 0)
		return h->fail_request;
	ck_assert_uint_lt(h->nreq, NREC);
	r = &h->req[h->nreq++];
	record(r, req);
	r->to = *to;
	r->has_id = to_id != NULL;
	if (to_id != NULL)
		r->to_id = *to_id;
	r->cookie = cookie;
	r->answered = false;
	return HY_OK;
}

static int
h_reply(void *ctx, const struct hy_msg *req, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *rep)
{
	struct host *h = ctx;
	struct rec *r;

	ck_assert_uint_lt(h->nrep, NREC);
	ck_assert_uint_eq(rep->txid, req->txid);
	r = &h->rep[h->nrep++];
	record(r, rep);
	r->to = *to;
	r->has_id = to_id != NULL;
	if (to_id != NULL)
		r->to_id = *to_id;
	return HY_OK;
}

struct fix {
	struct host h;
	struct hy_dht *d;
	struct hy_id self;
	struct hy_dht_config cfg;
	uint64_t now;
};

static struct hy_id
mkid(uint8_t first, uint8_t second)
{
	struct hy_id id;

	memset(&id, 0x11, sizeof(id));
	id.b[0] = first;
	id.b[1] = second;
	return id;
}

static struct hy_addr
mkaddr(unsigned i)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET;
	a.ip[0] = 10;
	a.ip[1] = (uint8_t)(i >> 16);
	a.ip[2] = (uint8_t)(i >> 8);
	a.ip[3] = (uint8_t)i;
	a.port = 6881;
	return a;
}

static void
fix_init_cfg(struct fix *f, const struct hy_dht_config *cfg)
{
	struct hy_dht_host host;
	uint8_t secret[HY_DHT_SECRET_LEN];

	memset(f, 0, sizeof(*f));
	memset(&host, 0, sizeof(host));
	f->h.req = calloc(NREC, sizeof(struct rec));
	f->h.rep = calloc(NREC, sizeof(struct rec));
	ck_assert(f->h.req != NULL && f->h.rep != NULL);
	if (cfg != NULL)
		f->cfg = *cfg;
	else {
		hy_dht_config_default(&f->cfg);
		f->cfg.rtable.allow_local = true;
	}
	memset(secret, 7, sizeof(secret));
	f->self = mkid(0x80, 0);
	host.ctx = &f->h;
	host.request = h_request;
	host.reply = h_reply;
	f->now = T0;
	ck_assert_int_eq(hy_dht_new(&f->d, &f->self, &f->cfg, &host, secret, 42,
	                     f->now),
	    HY_OK);
}

static void
fix_init(struct fix *f)
{
	fix_init_cfg(f, NULL);
}

static void
fix_free(struct fix *f)
{
	hy_dht_free(f->d);
	free(f->h.req);
	free(f->h.rep);
}

/* Put n contacts mkid(i, 0x40) at mkaddr(i + 1) in the table as REPLY. */
static void
fill(struct fix *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct hy_id id = mkid((uint8_t)i, 0x40);
		struct hy_addr a = mkaddr(i + 1);

		ck_assert_int_ge(hy_rtable_heard(hy_dht_rtable(f->d), &id, &a,
		                     HY_RTABLE_REPLY, f->now),
		    0);
	}
}

static void
mkreq(struct fix *f, struct hy_msg *m, unsigned type,
    const struct hy_id *sender)
{
	ck_assert_int_eq(hy_msg_init(m, type, f->cfg.network, 77, sender),
	    HY_OK);
}

/* Send a request from (id, addr); returns the reply record. */
static const struct hy_msg *
ask(struct fix *f, struct hy_msg *m, const struct hy_id *id,
    const struct hy_addr *a)
{
	unsigned before = f->h.nrep;

	hy_dht_on_request(f->d, m, a, id, f->now);
	ck_assert_uint_eq(f->h.nrep, before + 1);
	ck_assert(hy_addr_eq(&f->h.rep[before].to, a));
	return &f->h.rep[before].m;
}

/* A VALUES token for (id, addr) on key. */
static void
get_token(struct fix *f, const struct hy_id *id, const struct hy_addr *a,
    const struct hy_id *key, uint8_t tok[HY_DHT_TOKEN_LEN])
{
	struct hy_msg m;
	const struct hy_msg *r;

	mkreq(f, &m, HY_MSG_FIND_VALUE, id);
	m.body.find_value.key = *key;
	m.body.find_value.max_values = 16;
	r = ask(f, &m, id, a);
	ck_assert_uint_eq(r->type, HY_MSG_VALUES);
	ck_assert_uint_eq(r->body.values.token.len, HY_DHT_TOKEN_LEN);
	memcpy(tok, r->body.values.token.ptr, HY_DHT_TOKEN_LEN);
}

static const struct hy_msg *
store(struct fix *f, const struct hy_id *id, const struct hy_addr *a,
    const struct hy_id *key, const uint8_t *tok, size_t toklen,
    const struct hy_value *v, uint64_t cas)
{
	struct hy_msg m;

	mkreq(f, &m, HY_MSG_STORE, id);
	m.body.store.key = *key;
	m.body.store.token.ptr = tok;
	m.body.store.token.len = toklen;
	m.body.store.value = *v;
	m.body.store.cas = cas;
	return ask(f, &m, id, a);
}

static struct hy_value
plain(uint64_t vid, const char *data)
{
	struct hy_value v;

	memset(&v, 0, sizeof(v));
	v.id = vid;
	v.ttl_s = 600;
	v.data.ptr = (const uint8_t *)data;
	v.data.len = strlen(data);
	return v;
}

/* ---- serving ------------------------------------------------------------- */

START_TEST(test_dht_serve_ping)
{
	struct fix f;
	struct hy_msg m;
	struct hy_id a = mkid(1, 1);
	struct hy_addr aa = mkaddr(99);
	struct hy_rtable_contact c;
	const struct hy_msg *r;

	fix_init(&f);
	mkreq(&f, &m, HY_MSG_PING, &a);
	r = ask(&f, &m, &a, &aa);
	ck_assert_uint_eq(r->type, HY_MSG_PONG);
	ck_assert_uint_eq(r->txid, 77);
	ck_assert(hy_id_eq(&r->sender, &f.self));
	ck_assert(hy_addr_eq(&r->body.pong.observed, &aa));
	/* The requester was heard as a QUERY. */
	ck_assert_int_eq(hy_rtable_find(hy_dht_rtable(f.d), &a, &c), HY_OK);
	ck_assert(c.flags & HY_RTABLE_F_QUERIED);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_serve_find_node)
{
	struct fix f;
	struct hy_msg m;
	struct hy_id req = mkid(3, 0x40), target = mkid(3, 0);
	struct hy_addr ra = mkaddr(4);
	const struct hy_msg *r;

	fix_init(&f);
	fill(&f, 40);
	mkreq(&f, &m, HY_MSG_FIND_NODE, &req);
	m.body.find_node.target = target;
	r = ask(&f, &m, &req, &ra);
	ck_assert_uint_eq(r->type, HY_MSG_NODES);
	/* Bucket 0 holds k of them, the requester among them. */
	ck_assert_uint_eq(r->body.nodes.n_nodes, f.cfg.k - 1);
	for (uint32_t i = 0; i < r->body.nodes.n_nodes; i++) {
		ck_assert(!hy_id_eq(&r->body.nodes.nodes[i].id, &req));
		if (i > 0)
			ck_assert_int_lt(hy_id_cmp_dist(&target,
			                     &r->body.nodes.nodes[i - 1].id,
			                     &r->body.nodes.nodes[i].id),
			    0);
	}
	/* want = IPv6 only: no IPv4 contacts. */
	m.body.find_node.want = 2;
	r = ask(&f, &m, &req, &ra);
	ck_assert_uint_eq(r->body.nodes.n_nodes, 0);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_serve_store_tokens)
{
	struct fix f;
	struct hy_id a = mkid(5, 5), key = mkid(0x42, 0);
	struct hy_addr aa = mkaddr(50), other = mkaddr(51);
	uint8_t tok[HY_DHT_TOKEN_LEN], bad[HY_DHT_TOKEN_LEN];
	struct hy_value v = plain(9, "hello");
	struct hy_msg m;
	const struct hy_msg *r;
	struct hy_dht_stats st;

	fix_init(&f);
	fill(&f, 5);
	get_token(&f, &a, &aa, &key, tok);
	/* No values yet: nodes are returned. */
	r = &f.h.rep[f.h.nrep - 1].m;
	ck_assert_uint_eq(r->body.values.n_values, 0);
	ck_assert_uint_eq(r->body.values.n_nodes, 5);
	ck_assert(!r->body.values.more);
	/* Wrong token, right token from another IP: BAD_TOKEN. */
	memcpy(bad, tok, sizeof(bad));
	bad[0] ^= 1;
	r = store(&f, &a, &aa, &key, bad, sizeof(bad), &v, 0);
	ck_assert_uint_eq(r->type, HY_MSG_ERROR);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_BAD_TOKEN);
	r = store(&f, &a, &other, &key, tok, sizeof(tok), &v, 0);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_BAD_TOKEN);
	r = store(&f, &a, &aa, &key, tok, 0, &v, 0);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_BAD_TOKEN);
	/* Right token: STORED, and FIND_VALUE returns it. */
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v, 0);
	ck_assert_uint_eq(r->type, HY_MSG_STORED);
	ck_assert(hy_id_eq(&r->body.stored.key, &key));
	get_token(&f, &a, &aa, &key, tok);
	r = &f.h.rep[f.h.nrep - 1].m;
	ck_assert_uint_eq(r->body.values.n_values, 1);
	ck_assert_uint_eq(r->body.values.values[0].id, 9);
	ck_assert_uint_eq(r->body.values.values[0].data.len, 5);
	ck_assert_mem_eq(r->body.values.values[0].data.ptr, "hello", 5);
	/* Previous epoch still valid, two epochs later not. */
	f.now += f.cfg.token_rotate_ms;
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v, 0);
	ck_assert_uint_eq(r->type, HY_MSG_STORED);
	f.now += f.cfg.token_rotate_ms;
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v, 0);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_BAD_TOKEN);
	/* A plain value with cas != 0 is malformed. */
	get_token(&f, &a, &aa, &key, tok);
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v, 5);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_MALFORMED);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_eq(st.refused[HY_WERR_BAD_TOKEN], 4);
	ck_assert_uint_eq(st.served[HY_MSG_STORE], 2);
	/* Unknown / non-request types are dropped without a reply. */
	mkreq(&f, &m, HY_MSG_PROBE, &a);
	hy_dht_on_request(f.d, &m, &aa, &a, f.now);
	mkreq(&f, &m, HY_MSG_PONG, &a);
	hy_dht_on_request(f.d, &m, &aa, &a, f.now);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_eq(st.bad_requests, 2);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_serve_store_full_too_large)
{
	struct fix f;
	struct hy_dht_config cfg;
	struct hy_id a = mkid(5, 5), k1 = mkid(0x42, 0), k2 = mkid(0x43, 0);
	struct hy_addr aa = mkaddr(50);
	uint8_t tok[HY_DHT_TOKEN_LEN];
	struct hy_value v1 = plain(1, "one"), v2 = plain(2, "two");
	struct hy_value big = plain(3, "0123456789abcdef0123");
	const struct hy_msg *r;

	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	cfg.store.max_values = 1;
	cfg.store.max_values_per_key = 1;
	cfg.store.max_source_values = 1;
	cfg.store.max_value_len = 16;
	cfg.store.max_source_bytes = 1024;
	fix_init_cfg(&f, &cfg);
	get_token(&f, &a, &aa, &k1, tok);
	r = store(&f, &a, &aa, &k1, tok, sizeof(tok), &v1, 0);
	ck_assert_uint_eq(r->type, HY_MSG_STORED);
	r = store(&f, &a, &aa, &k2, tok, sizeof(tok), &v2, 0);
	ck_assert_uint_eq(r->type, HY_MSG_ERROR);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_STORE_FULL);
	r = store(&f, &a, &aa, &k2, tok, sizeof(tok), &big, 0);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_TOO_LARGE);
	/* Another value under the same id from another source: CONFLICT. */
	{
		struct hy_id b = mkid(6, 6);
		struct hy_addr ba = mkaddr(60);
		struct hy_value v1b = plain(1, "uno");

		get_token(&f, &b, &ba, &k1, tok);
		r = store(&f, &b, &ba, &k1, tok, sizeof(tok), &v1b, 0);
		ck_assert_uint_eq(r->type, HY_MSG_ERROR);
	}
	fix_free(&f);
}
END_TEST

/* A signed mutable value of owner under salt. */
static void
mksigned(struct hy_ident *owner, struct hy_value *v, struct hy_id *key,
    const char *salt, uint64_t seq, const char *data)
{
	uint8_t tbs[256];
	size_t len;
	struct hy_span sp[2];

	memset(v, 0, sizeof(*v));
	v->id = UINT64_MAX;
	v->ttl_s = 600;
	v->data.ptr = (const uint8_t *)data;
	v->data.len = strlen(data);
	v->is_mutable = true;
	memcpy(v->owner, hy_ident_pubkey(owner), HY_PUBKEY_LEN);
	v->salt.ptr = (const uint8_t *)salt;
	v->salt.len = strlen(salt);
	v->seq = seq;
	ck_assert_int_eq(hy_value_tbs(v, tbs, sizeof(tbs), &len), HY_OK);
	ck_assert_int_eq(hy_ident_sign(owner, HY_MUTABLE_SIG_CTX, tbs, len,
	                     v->sig),
	    HY_OK);
	sp[0] = (struct hy_span){ v->owner, HY_PUBKEY_LEN };
	sp[1] = (struct hy_span){ salt, strlen(salt) };
	ck_assert_int_eq(hy_sha256v(sp, 2, key->b), HY_OK);
}

START_TEST(test_dht_serve_mutable)
{
	struct fix f;
	struct hy_ident *owner;
	struct hy_id a = mkid(5, 5), key, wrong = mkid(0x44, 0);
	struct hy_addr aa = mkaddr(50);
	uint8_t tok[HY_DHT_TOKEN_LEN];
	struct hy_value v1, v2, v3;
	const struct hy_msg *r;

	fix_init(&f);
	ck_assert_int_eq(hy_ident_generate(&owner), HY_OK);
	mksigned(owner, &v2, &key, "s", 2, "second");
	mksigned(owner, &v1, &key, "s", 1, "first");
	mksigned(owner, &v3, &key, "s", 3, "third");
	get_token(&f, &a, &aa, &key, tok);
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v2, 0);
	ck_assert_uint_eq(r->type, HY_MSG_STORED);
	/* Lower seq: CONFLICT. */
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v1, 0);
	ck_assert_uint_eq(r->type, HY_MSG_ERROR);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_CONFLICT);
	/* CAS mismatch: CONFLICT; matching CAS: STORED. */
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v3, 1);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_CONFLICT);
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v3, 2);
	ck_assert_uint_eq(r->type, HY_MSG_STORED);
	/* Wrong key or bad signature: MALFORMED. */
	get_token(&f, &a, &aa, &wrong, tok);
	r = store(&f, &a, &aa, &wrong, tok, sizeof(tok), &v3, 0);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_MALFORMED);
	get_token(&f, &a, &aa, &key, tok);
	v3.seq = 4; /* signature no longer covers it */
	r = store(&f, &a, &aa, &key, tok, sizeof(tok), &v3, 0);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_MALFORMED);
	/* FIND_VALUE returns the stored mutable value, verifiable. */
	get_token(&f, &a, &aa, &key, tok);
	r = &f.h.rep[f.h.nrep - 1].m;
	ck_assert_uint_eq(r->body.values.n_values, 1);
	ck_assert(r->body.values.values[0].is_mutable);
	ck_assert_uint_eq(r->body.values.values[0].seq, 3);
	{
		uint8_t tbs[256];
		size_t len;

		ck_assert_int_eq(hy_value_tbs(&r->body.values.values[0], tbs,
		                     sizeof(tbs), &len),
		    HY_OK);
		ck_assert_int_eq(hy_verify(r->body.values.values[0].owner,
		                     HY_MUTABLE_SIG_CTX, tbs, len,
		                     r->body.values.values[0].sig),
		    HY_OK);
	}
	hy_ident_free(owner);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_serve_announce_get_peers)
{
	struct fix f;
	struct hy_id a = mkid(5, 5), b = mkid(6, 6), key = mkid(0x42, 0);
	struct hy_addr aa = mkaddr(50), ba = mkaddr(60);
	struct hy_msg m;
	const struct hy_msg *r;
	uint8_t tok[HY_DHT_TOKEN_LEN];

	fix_init(&f);
	mkreq(&f, &m, HY_MSG_GET_PEERS, &a);
	m.body.get_peers.key = key;
	r = ask(&f, &m, &a, &aa);
	ck_assert_uint_eq(r->type, HY_MSG_PEERS);
	ck_assert_uint_eq(r->body.peers.n_peers, 0);
	ck_assert_uint_eq(r->body.peers.token.len, HY_DHT_TOKEN_LEN);
	memcpy(tok, r->body.peers.token.ptr, sizeof(tok));
	mkreq(&f, &m, HY_MSG_ANNOUNCE_PEER, &a);
	m.body.announce_peer.key = key;
	m.body.announce_peer.token.ptr = tok;
	m.body.announce_peer.token.len = sizeof(tok);
	m.body.announce_peer.port = 0; /* the source port */
	r = ask(&f, &m, &a, &aa);
	ck_assert_uint_eq(r->type, HY_MSG_ANNOUNCED);
	/* A token given to a, used by b: refused. */
	mkreq(&f, &m, HY_MSG_ANNOUNCE_PEER, &b);
	m.body.announce_peer.key = key;
	m.body.announce_peer.token.ptr = tok;
	m.body.announce_peer.token.len = sizeof(tok);
	m.body.announce_peer.port = 7000;
	r = ask(&f, &m, &b, &ba);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_BAD_TOKEN);
	/* A VALUES token is not an ANNOUNCE_PEER token. */
	get_token(&f, &b, &ba, &key, tok);
	mkreq(&f, &m, HY_MSG_ANNOUNCE_PEER, &b);
	m.body.announce_peer.key = key;
	m.body.announce_peer.token.ptr = tok;
	m.body.announce_peer.token.len = sizeof(tok);
	r = ask(&f, &m, &b, &ba);
	ck_assert_uint_eq(r->body.error.code, HY_WERR_BAD_TOKEN);
	mkreq(&f, &m, HY_MSG_GET_PEERS, &b);
	m.body.get_peers.key = key;
	r = ask(&f, &m, &b, &ba);
	ck_assert_uint_eq(r->body.peers.n_peers, 1);
	ck_assert(hy_addr_eq(&r->body.peers.peers[0], &aa));
	fix_free(&f);
}
END_TEST

/* ---- operations ---------------------------------------------------------- */

static void
put_cb(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info)
{
	struct cbrec *c = arg;

	(void)info;
	c->calls++;
	c->finals++;
	c->err = err;
	c->stored_on = stored_on;
	if (c->starting != NULL && *c->starting)
		c->sync = true;
}

static void
get_cb(void *arg, const struct hy_value *v, enum hy_dht_status status,
    const struct hy_dht_op_info *info)
{
	struct cbrec *c = arg;

	(void)info;
	c->calls++;
	if (c->starting != NULL && *c->starting)
		c->sync = true;
	if (v != NULL) {
		ck_assert_int_eq(status, HY_DHT_ITEM);
		if (c->items < 16)
			c->ids[c->items] = v->id;
		c->items++;
		return;
	}
	c->finals++;
	c->status = status;
}

static void
peers_cb(void *arg, const struct hy_addr *p, size_t n,
    enum hy_dht_status status, const struct hy_dht_op_info *info)
{
	struct cbrec *c = arg;

	(void)info;
	c->calls++;
	if (p != NULL) {
		for (size_t i = 0; i < n && c->npeers < 64; i++)
			c->peers[c->npeers++] = p[i];
		c->items++;
		return;
	}
	c->finals++;
	c->status = status;
}

/* Reply to request record i with a message built by the caller. */
static void
deliver(struct fix *f, unsigned i, struct hy_msg *rep)
{
	struct rec *r = &f->h.req[i];

	ck_assert(!r->answered);
	r->answered = true;
	rep->txid = r->m.txid;
	hy_dht_on_response(f->d, r->cookie, HY_OK, rep, &r->to, f->now);
}

static void
reply_init(struct fix *f, struct hy_msg *rep, unsigned i, unsigned type)
{
	ck_assert(f->h.req[i].has_id);
	ck_assert_int_eq(hy_msg_init(rep, type, f->cfg.network, 0,
	                     &f->h.req[i].to_id),
	    HY_OK);
}

/* Answer every unanswered request of type `type` with VALUES. */
static void
answer_values(struct fix *f, const struct hy_value *v, unsigned from,
    unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		struct hy_msg rep;
		uint8_t tok[4] = { 't', 'o', 'k', (uint8_t)i };

		if (f->h.req[i].answered ||
		    f->h.req[i].m.type != HY_MSG_FIND_VALUE)
			continue;
		reply_init(f, &rep, i, HY_MSG_VALUES);
		rep.body.values.token.ptr = tok;
		rep.body.values.token.len = sizeof(tok);
		if (v != NULL) {
			rep.body.values.n_values = 1;
			rep.body.values.values[0] = *v;
		}
		deliver(f, i, &rep);
	}
}

START_TEST(test_dht_put_flow)
{
	struct fix f;
	struct hy_id key = mkid(0x01, 0x99);
	struct hy_value v = plain(3, "data");
	struct cbrec c;
	bool starting = true;
	uint64_t h = 0;
	unsigned n1, stores = 0;

	fix_init(&f);
	fill(&f, 3);
	memset(&c, 0, sizeof(c));
	c.starting = &starting;
	ck_assert_int_eq(hy_dht_put(f.d, &key, &v, false, put_cb, &c, f.now,
	                     &h),
	    HY_OK);
	starting = false;
	ck_assert_uint_ne(h, 0);
	ck_assert_int_eq(c.calls, 0);
	/* alpha = 3 FIND_VALUE queries, max_values 1, to known IDs. */
	ck_assert_uint_eq(f.h.nreq, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(f.h.req[i].m.type, HY_MSG_FIND_VALUE);
		ck_assert_uint_eq(f.h.req[i].m.body.find_value.max_values, 1);
		ck_assert(hy_id_eq(&f.h.req[i].m.body.find_value.key, &key));
	}
	answer_values(&f, NULL, 0, 3);
	n1 = f.h.nreq;
	ck_assert_int_eq(c.calls, 0);
	/* Then one STORE per responder, with that responder's token. */
	for (unsigned i = 3; i < n1; i++) {
		const struct hy_msg *m = &f.h.req[i].m;
		struct hy_msg rep;

		ck_assert_uint_eq(m->type, HY_MSG_STORE);
		ck_assert_uint_eq(m->body.store.token.len, 4);
		ck_assert_uint_eq(m->body.store.value.id, 3);
		ck_assert_mem_eq(m->body.store.value.data.ptr, "data", 4);
		stores++;
		reply_init(&f, &rep, i, HY_MSG_STORED);
		rep.body.stored.key = key;
		if (i == n1 - 1) {
			/* The last one fails: an ERROR is not a store. */
			reply_init(&f, &rep, i, HY_MSG_ERROR);
			rep.body.error.code = HY_WERR_STORE_FULL;
		}
		deliver(&f, i, &rep);
	}
	ck_assert_uint_eq(stores, 3);
	ck_assert_int_eq(c.finals, 1);
	ck_assert(!c.sync);
	ck_assert_int_eq(c.err, HY_OK);
	ck_assert_uint_eq(c.stored_on, 2);
	ck_assert_uint_eq(hy_dht_ops_alive(f.d), 0);
	ck_assert_uint_eq(hy_dht_pending(f.d), 0);
	ck_assert_int_eq(hy_dht_cancel(f.d, h), HY_ENOENT);
	/* Values that a datagram STORE cannot carry are refused up front. */
	{
		static uint8_t big[HY_VALUE_DGRAM_MAX];
		struct hy_value bv = plain(5, "");
		size_t fit = 0;

		bv.data.ptr = big;
		f.h.fail_request = HY_EIO; /* no records: only the check */
		for (size_t len = 1; len <= sizeof(big); len++) {
			bv.data.len = len;
			if (hy_dht_put(f.d, &key, &bv, false, put_cb, &c, f.now,
			        &h) != HY_OK)
				break;
			fit = len;
			ck_assert_int_eq(hy_dht_cancel(f.d, h), HY_OK);
		}
		bv.data.len = fit + 1;
		ck_assert_int_eq(hy_dht_put(f.d, &key, &bv, false, put_cb, &c,
		                     f.now, &h),
		    HY_ETOOBIG);
		f.h.fail_request = 0;
		ck_assert_uint_gt(fit, 900);
		printf("dht: largest value a datagram STORE carries: %zu "
		       "bytes\n",
		    fit);
	}
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_put_permanent_republish)
{
	struct fix f;
	struct hy_id key = mkid(0x01, 0x99);
	struct hy_value v = plain(3, "data");
	struct cbrec c;
	uint64_t h;
	unsigned n;

	fix_init(&f);
	fill(&f, 1);
	memset(&c, 0, sizeof(c));
	v.ttl_s = 100;
	ck_assert_int_eq(hy_dht_put(f.d, &key, &v, true, put_cb, &c, f.now, &h),
	    HY_OK);
	answer_values(&f, NULL, 0, f.h.nreq);
	n = f.h.nreq;
	ck_assert_uint_eq(f.h.req[n - 1].m.type, HY_MSG_STORE);
	hy_dht_on_response(f.d, f.h.req[n - 1].cookie, HY_ETIMEDOUT, NULL, NULL,
	    f.now);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_int_eq(c.err, HY_EUNREACHABLE);
	ck_assert_uint_eq(hy_dht_ops_alive(f.d), 1); /* waiting to republish */
	/* At 80% of the TTL the origin looks the key up again. */
	ck_assert_uint_eq(hy_dht_next_deadline(f.d) <= f.now + 80000, true);
	f.now += 80000;
	(void)hy_dht_tick(f.d, f.now);
	ck_assert_uint_gt(f.h.nreq, n);
	ck_assert_uint_eq(f.h.req[n].m.type, HY_MSG_FIND_VALUE);
	/* The second round ends quietly and waits for the third. */
	answer_values(&f, NULL, n, f.h.nreq);
	n = f.h.nreq;
	ck_assert_uint_eq(f.h.req[n - 1].m.type, HY_MSG_STORE);
	hy_dht_on_response(f.d, f.h.req[n - 1].cookie, HY_ETIMEDOUT, NULL, NULL,
	    f.now);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_uint_eq(hy_dht_ops_alive(f.d), 1);
	ck_assert_uint_ge(hy_dht_next_deadline(f.d), f.now + 1);
	(void)hy_dht_tick(f.d, f.now);
	ck_assert_uint_eq(f.h.nreq, n);
	f.now += 80000;
	(void)hy_dht_tick(f.d, f.now);
	ck_assert_uint_gt(f.h.nreq, n);
	ck_assert_int_eq(hy_dht_cancel(f.d, h), HY_OK);
	ck_assert_uint_eq(hy_dht_ops_alive(f.d), 0);
	/* Late answers for the cancelled op are ignored. */
	answer_values(&f, NULL, n, f.h.nreq);
	ck_assert_int_eq(c.finals, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_get_flow_dedup)
{
	struct fix f;
	struct hy_dht_config cfg;
	struct hy_id key = mkid(0x01, 0x99);
	struct hy_value v = plain(3, "data");
	struct cbrec c;
	bool starting = true;

	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	cfg.get_enough_values = 0; /* converge: see every responder */
	fix_init_cfg(&f, &cfg);
	fill(&f, 3);
	memset(&c, 0, sizeof(c));
	c.starting = &starting;
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c, f.now, NULL), HY_OK);
	starting = false;
	ck_assert_uint_eq(f.h.nreq, 3);
	ck_assert_uint_eq(f.h.req[0].m.body.find_value.max_values, 16);
	/* Three responders with the same value id: one item. */
	answer_values(&f, &v, 0, 3);
	ck_assert_int_eq(c.items, 1);
	ck_assert_uint_eq(c.ids[0], 3);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_int_eq(c.status, HY_DHT_FOUND);
	ck_assert(!c.sync);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_get_not_found_timeout)
{
	struct fix f;
	struct hy_id key = mkid(0x01, 0x99), c0 = mkid(0, 0x40);
	struct hy_rtable_contact rc;
	struct cbrec c;

	fix_init(&f);
	fill(&f, 2);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c, f.now, NULL), HY_OK);
	ck_assert_uint_eq(f.h.nreq, 2);
	/* One answers without values, the other times out. */
	answer_values(&f, NULL, 0, 1);
	ck_assert_int_eq(c.finals, 0);
	ck_assert(f.h.req[1].has_id);
	hy_dht_on_response(f.d, f.h.req[1].cookie, HY_ETIMEDOUT, NULL, NULL,
	    f.now + 2000);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_int_eq(c.status, HY_DHT_NOT_FOUND);
	ck_assert_int_eq(c.items, 0);
	/* The timeout counted against the contact. */
	ck_assert_int_eq(hy_rtable_find(hy_dht_rtable(f.d), &f.h.req[1].to_id,
	                     &rc),
	    HY_OK);
	ck_assert_uint_eq(rc.fails, 1);
	(void)c0;
	/* Stale cookie: ignored. */
	hy_dht_on_response(f.d, f.h.req[1].cookie, HY_ETIMEDOUT, NULL, NULL,
	    f.now);
	ck_assert_int_eq(c.finals, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_get_no_peers_async)
{
	struct fix f;
	struct hy_id key = mkid(0x01, 0x99);
	struct cbrec c;

	fix_init(&f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c, f.now, NULL), HY_OK);
	/* Finished at once, but the callback waits for the next tick. */
	ck_assert_int_eq(c.calls, 0);
	ck_assert_uint_le(hy_dht_next_deadline(f.d), f.now);
	(void)hy_dht_tick(f.d, f.now);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_int_eq(c.status, HY_DHT_NO_PEERS);
	ck_assert_uint_gt(hy_dht_next_deadline(f.d), f.now);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_announce_get_peers_flow)
{
	struct fix f;
	struct hy_id key = mkid(0x01, 0x99);
	struct cbrec c, g;
	struct hy_addr p1 = mkaddr(500), p2 = mkaddr(501);
	unsigned n;

	fix_init(&f);
	fill(&f, 2);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(hy_dht_announce(f.d, &key, 7000, true, put_cb, &c,
	                     f.now, NULL),
	    HY_OK);
	ck_assert_uint_eq(f.h.nreq, 2);
	for (unsigned i = 0; i < 2; i++) {
		struct hy_msg rep;
		uint8_t tok[3] = { 1, 2, (uint8_t)i };

		ck_assert_uint_eq(f.h.req[i].m.type, HY_MSG_GET_PEERS);
		reply_init(&f, &rep, i, HY_MSG_PEERS);
		rep.body.peers.token.ptr = tok;
		rep.body.peers.token.len = sizeof(tok);
		deliver(&f, i, &rep);
	}
	n = f.h.nreq;
	ck_assert_uint_eq(n, 4);
	for (unsigned i = 2; i < n; i++) {
		struct hy_msg rep;

		ck_assert_uint_eq(f.h.req[i].m.type, HY_MSG_ANNOUNCE_PEER);
		ck_assert_uint_eq(f.h.req[i].m.body.announce_peer.port, 7000);
		ck_assert(f.h.req[i].m.body.announce_peer.seed);
		reply_init(&f, &rep, i, HY_MSG_ANNOUNCED);
		rep.body.announced.key = key;
		deliver(&f, i, &rep);
	}
	ck_assert_int_eq(c.finals, 1);
	ck_assert_uint_eq(c.stored_on, 2);
	/* get_peers: peers from two responders, one duplicate. */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(hy_dht_get_peers(f.d, &key, peers_cb, &g, f.now, NULL),
	    HY_OK);
	for (unsigned i = n; i < f.h.nreq; i++) {
		struct hy_msg rep;

		reply_init(&f, &rep, i, HY_MSG_PEERS);
		rep.body.peers.n_peers = 2;
		rep.body.peers.peers[0] = p1;
		rep.body.peers.peers[1] = i == n ? p1 : p2;
		deliver(&f, i, &rep);
	}
	ck_assert_uint_eq(g.npeers, 2);
	ck_assert_int_eq(g.finals, 1);
	ck_assert_int_eq(g.status, HY_DHT_FOUND);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_bounds_cancel_free)
{
	struct fix f;
	struct hy_dht_config cfg;
	struct hy_id key = mkid(0x01, 0x99);
	struct cbrec c[3];
	uint64_t h[3];
	struct hy_dht_stats st;

	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	cfg.max_ops = 2;
	cfg.max_maint_ops = 1;
	cfg.max_pending = 4;
	fix_init_cfg(&f, &cfg);
	fill(&f, 5);
	memset(c, 0, sizeof(c));
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c[0], f.now, &h[0]),
	    HY_OK);
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c[1], f.now, &h[1]),
	    HY_OK);
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c[2], f.now, &h[2]),
	    HY_EFULL);
	/* 3 + 3 queries wanted, 4 pending slots. */
	ck_assert_uint_eq(hy_dht_pending(f.d), 4);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_ge(st.pending_full, 1);
	ck_assert_uint_eq(st.ops_refused, 1);
	/* Cancel: no callback, ever; the handle is dead. */
	ck_assert_int_eq(hy_dht_cancel(f.d, h[0]), HY_OK);
	ck_assert_int_eq(hy_dht_cancel(f.d, h[0]), HY_ENOENT);
	ck_assert_int_eq(hy_dht_cancel(f.d, 0), HY_ENOENT);
	answer_values(&f, NULL, 0, f.h.nreq);
	ck_assert_int_eq(c[0].calls, 0);
	/* Free fires the pending final callback with CANCELED. */
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c[2], f.now, &h[2]),
	    HY_OK);
	hy_dht_free(f.d);
	f.d = NULL;
	ck_assert_int_eq(c[2].finals, 1);
	ck_assert_int_eq(c[2].status, HY_DHT_CANCELED);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_bootstrap_seed)
{
	struct fix f;
	struct hy_addr seed = mkaddr(1000);
	struct hy_id sid = mkid(0x81, 0x22);
	struct hy_msg rep;
	unsigned n;

	fix_init(&f);
	ck_assert(!hy_dht_joined(f.d, f.now));
	ck_assert_int_eq(hy_dht_bootstrap(f.d, &seed, 1, f.now), HY_OK);
	ck_assert_uint_eq(f.h.nreq, 1);
	ck_assert(!f.h.req[0].has_id);
	ck_assert_uint_eq(f.h.req[0].m.type, HY_MSG_FIND_NODE);
	ck_assert(hy_id_eq(&f.h.req[0].m.body.find_node.target, &f.self));
	ck_assert_int_eq(hy_msg_init(&rep, HY_MSG_NODES, f.cfg.network, 0,
	                     &sid),
	    HY_OK);
	rep.body.nodes.n_nodes = 2;
	rep.body.nodes.nodes[0].id = mkid(0x82, 1);
	rep.body.nodes.nodes[0].addr = mkaddr(1001);
	rep.body.nodes.nodes[1].id = mkid(0x83, 1);
	rep.body.nodes.nodes[1].addr = mkaddr(1002);
	deliver(&f, 0, &rep);
	ck_assert(hy_dht_joined(f.d, f.now));
	/* The self lookup goes on through the seed's contacts. */
	n = f.h.nreq;
	ck_assert_uint_ge(n, 3);
	for (unsigned i = 1; i < n; i++) {
		ck_assert_uint_eq(f.h.req[i].m.type, HY_MSG_FIND_NODE);
		ck_assert(f.h.req[i].has_id);
	}
	ck_assert_int_eq(hy_dht_bootstrap(f.d, NULL, 0, f.now), HY_EINVAL);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_maint_ping_refresh)
{
	struct fix f;
	uint64_t t;
	struct hy_dht_stats st;
	unsigned n;

	fix_init(&f);
	fill(&f, 3);
	/* After the refresh interval, refresh lookups go out. */
	t = f.now + f.cfg.rtable.refresh_ms + 2000;
	while (f.now < t) {
		uint64_t d = hy_dht_tick(f.d, f.now);

		ck_assert_uint_ge(d, f.now);
		f.now = d < t ? d : t;
		if (f.now == d && d < t)
			continue;
	}
	(void)hy_dht_tick(f.d, f.now);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_ge(st.maint_lookups, 1);
	n = f.h.nreq;
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(f.h.req[0].m.type, HY_MSG_FIND_NODE);
	/* A request failure from the host fails the query at once. */
	f.h.fail_request = HY_EIO;
	f.now += f.cfg.rtable.refresh_ms + 2000;
	(void)hy_dht_tick(f.d, f.now);
	ck_assert_uint_eq(f.h.nreq, n);
	f.h.fail_request = 0;
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_new_invalid)
{
	struct hy_dht *d = NULL;
	struct hy_dht_config cfg;
	struct hy_dht_host host = { NULL, h_request, h_reply };
	struct hy_id zero, self = mkid(1, 2);
	uint8_t secret[HY_DHT_SECRET_LEN] = { 0 };

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(hy_dht_new(&d, &zero, NULL, &host, secret, 1, 0),
	    HY_EINVAL);
	hy_dht_config_default(&cfg);
	cfg.k = 0;
	ck_assert_int_eq(hy_dht_new(&d, &self, &cfg, &host, secret, 1, 0),
	    HY_EINVAL);
	hy_dht_config_default(&cfg);
	cfg.max_maint_ops = cfg.max_ops + 1;
	ck_assert_int_eq(hy_dht_new(&d, &self, &cfg, &host, secret, 1, 0),
	    HY_EINVAL);
	host.reply = NULL;
	ck_assert_int_eq(hy_dht_new(&d, &self, NULL, &host, secret, 1, 0),
	    HY_EINVAL);
	ck_assert_ptr_null(d);
	hy_dht_free(NULL);
}
END_TEST

START_TEST(test_dht_handover_new_contact)
{
	struct fix f;
	struct hy_id a = mkid(5, 5), key = mkid(0x01, 0x99),
	             b = mkid(0x01, 0x98);
	struct hy_addr aa = mkaddr(50), ba = mkaddr(51);
	uint8_t tok[HY_DHT_TOKEN_LEN];
	struct hy_value v = plain(4, "kept");
	struct hy_msg m, rep;
	struct hy_dht_stats st;
	unsigned n;

	fix_init(&f);
	fill(&f, 3);
	get_token(&f, &a, &aa, &key, tok);
	ck_assert_uint_eq(store(&f, &a, &aa, &key, tok, sizeof(tok), &v, 0)
	                      ->type,
	    HY_MSG_STORED);
	ck_assert_uint_eq(f.h.nreq, 0);
	/* b, close to the key, enters the table: it gets the key. */
	mkreq(&f, &m, HY_MSG_PING, &b);
	(void)ask(&f, &m, &b, &ba);
	(void)hy_dht_tick(f.d, f.now);
	ck_assert_uint_ge(f.h.nreq, 1);
	n = 0;
	while (n < f.h.nreq && f.h.req[n].m.type != HY_MSG_FIND_VALUE)
		n++;
	ck_assert_uint_lt(n, f.h.nreq);
	ck_assert(hy_id_eq(&f.h.req[n].to_id, &b));
	ck_assert(hy_id_eq(&f.h.req[n].m.body.find_value.key, &key));
	reply_init(&f, &rep, n, HY_MSG_VALUES);
	rep.body.values.token.ptr = (const uint8_t *)"tk";
	rep.body.values.token.len = 2;
	deliver(&f, n, &rep);
	n = f.h.nreq - 1;
	ck_assert_uint_eq(f.h.req[n].m.type, HY_MSG_STORE);
	ck_assert(hy_id_eq(&f.h.req[n].to_id, &b));
	ck_assert_uint_eq(f.h.req[n].m.body.store.token.len, 2);
	ck_assert_uint_eq(f.h.req[n].m.body.store.value.id, 4);
	ck_assert_uint_le(f.h.req[n].m.body.store.value.ttl_s, 600);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_eq(st.handovers, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_replicate_stale_key)
{
	struct fix f;
	struct hy_dht_config cfg;
	struct hy_id a = mkid(5, 5), key = mkid(0x01, 0x99);
	struct hy_addr aa = mkaddr(50);
	uint8_t tok[HY_DHT_TOKEN_LEN];
	struct hy_value v = plain(4, "kept");
	struct hy_dht_stats st;
	unsigned n, stores = 0;

	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	cfg.replicate_ms = 60000;
	cfg.handover = false;
	fix_init_cfg(&f, &cfg);
	fill(&f, 3);
	get_token(&f, &a, &aa, &key, tok);
	ck_assert_uint_eq(store(&f, &a, &aa, &key, tok, sizeof(tok), &v, 0)
	                      ->type,
	    HY_MSG_STORED);
	/* Not yet stale: nothing is re-stored. */
	f.now += 30000;
	(void)hy_dht_tick(f.d, f.now);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_eq(st.replications, 0);
	f.now += 31000;
	(void)hy_dht_tick(f.d, f.now);
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_eq(st.replications, 1);
	/* Answer every query, including those the answers lead to. */
	for (unsigned done = 0; done < f.h.nreq;) {
		unsigned upto = f.h.nreq;

		answer_values(&f, NULL, done, upto);
		done = upto;
	}
	n = 0;
	for (unsigned i = n; i < f.h.nreq; i++) {
		const struct hy_msg *m = &f.h.req[i].m;

		if (m->type != HY_MSG_STORE)
			continue;
		stores++;
		ck_assert_uint_eq(m->body.store.value.id, 4);
		/* The remaining TTL, never extended by a replica. */
		ck_assert_uint_le(m->body.store.value.ttl_s, 600 - 61);
	}
	ck_assert_uint_ge(stores, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_get_mutable_verified)
{
	struct fix f;
	struct hy_dht_config cfg;
	struct hy_ident *owner;
	struct hy_id key, other = mkid(0x01, 0x99);
	struct hy_value v2, v3, forged;
	const struct hy_value *order[3];
	struct cbrec c;
	uint64_t seqs[3];

	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	cfg.get_enough_values = 0;
	fix_init_cfg(&f, &cfg);
	fill(&f, 3);
	ck_assert_int_eq(hy_ident_generate(&owner), HY_OK);
	mksigned(owner, &v2, &key, "", 2, "two");
	mksigned(owner, &v3, &key, "", 3, "three");
	mksigned(owner, &forged, &key, "", 5, "five");
	forged.sig[10] ^= 1;
	/* The origin refuses to put a value under the wrong key. */
	ck_assert_int_eq(hy_dht_put(f.d, &other, &v2, false, put_cb, &c, f.now,
	                     NULL),
	    HY_EINVAL);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c, f.now, NULL), HY_OK);
	ck_assert_uint_eq(f.h.nreq, 3);
	order[0] = &v2;
	order[1] = &forged;
	order[2] = &v3;
	for (unsigned i = 0; i < 3; i++) {
		struct hy_msg rep;

		reply_init(&f, &rep, i, HY_MSG_VALUES);
		rep.body.values.n_values = 1;
		rep.body.values.values[0] = *order[i];
		deliver(&f, i, &rep);
		seqs[i] = (uint64_t)c.items;
	}
	/* seq 2, then seq 3; the forged seq 5 is dropped. */
	ck_assert_int_eq(c.items, 2);
	ck_assert_uint_eq(seqs[0], 1);
	ck_assert_uint_eq(seqs[1], 1);
	ck_assert_uint_eq(seqs[2], 2);
	ck_assert_uint_eq(c.ids[0], UINT64_MAX);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_int_eq(c.status, HY_DHT_FOUND);
	hy_ident_free(owner);
	fix_free(&f);
}
END_TEST

/*
 * With the default "stop at the first value", a get of a mutable key must
 * still not stop at the first replica: an out-of-date one may answer
 * first. seq 2 arrives, then seq 3, and both are streamed.
 */
START_TEST(test_dht_get_mutable_goes_on_for_newer_seq)
{
	struct fix f;
	struct hy_dht_config cfg;
	struct hy_ident *owner;
	struct hy_id key;
	struct hy_value v2, v3;
	struct cbrec c;

	hy_dht_config_default(&cfg);
	cfg.rtable.allow_local = true;
	ck_assert_uint_eq(cfg.get_enough_values, 1);
	fix_init_cfg(&f, &cfg);
	fill(&f, 3);
	ck_assert_int_eq(hy_ident_generate(&owner), HY_OK);
	mksigned(owner, &v2, &key, "", 2, "two");
	mksigned(owner, &v3, &key, "", 3, "three");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(hy_dht_get(f.d, &key, get_cb, &c, f.now, NULL), HY_OK);
	ck_assert_uint_eq(f.h.nreq, 3);
	for (unsigned i = 0; i < 3; i++) {
		struct hy_msg rep;

		reply_init(&f, &rep, i, HY_MSG_VALUES);
		rep.body.values.n_values = i == 1 ? 0 : 1;
		rep.body.values.values[0] = i == 0 ? v2 : v3;
		deliver(&f, i, &rep);
		if (i == 0)
			ck_assert_int_eq(c.finals, 0); /* not over yet */
	}
	ck_assert_int_eq(c.items, 2);
	ck_assert_int_eq(c.finals, 1);
	ck_assert_int_eq(c.status, HY_DHT_FOUND);
	hy_ident_free(owner);
	fix_free(&f);
}
END_TEST

START_TEST(test_dht_bootstrap_retry)
{
	struct fix f;
	struct hy_addr seed = mkaddr(1000);
	struct hy_dht_stats st;
	uint64_t end;

	fix_init(&f);
	ck_assert_int_eq(hy_dht_bootstrap(f.d, &seed, 1, f.now), HY_OK);
	ck_assert_uint_eq(f.h.nreq, 1);
	/* The seed's answer is lost: the request times out. */
	hy_dht_on_response(f.d, f.h.req[0].cookie, HY_ETIMEDOUT, NULL, NULL,
	    f.now + 2000);
	/* Within a few seconds the seed is asked again, then backs off. */
	end = f.now + 60000;
	while (f.now < end) {
		uint64_t t = hy_dht_tick(f.d, f.now);

		for (unsigned i = 0; i < f.h.nreq; i++)
			if (!f.h.req[i].answered) {
				f.h.req[i].answered = true;
				hy_dht_on_response(f.d, f.h.req[i].cookie,
				    HY_ETIMEDOUT, NULL, NULL, f.now);
			}
		f.now = t > f.now ? t : f.now + 1;
	}
	hy_dht_get_stats(f.d, f.now, &st);
	ck_assert_uint_ge(st.rebootstraps, 2);
	ck_assert_uint_le(st.rebootstraps, 4); /* 5, 10, 20, 40 s apart */
	for (unsigned i = 0; i < f.h.nreq; i++) {
		ck_assert_uint_eq(f.h.req[i].m.type, HY_MSG_FIND_NODE);
		ck_assert(hy_addr_eq(&f.h.req[i].to, &seed));
	}
	fix_free(&f);
}
END_TEST

static Suite *
dht_suite(void)
{
	Suite *s = suite_create("dht");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_dht_serve_ping);
	tcase_add_test(tc, test_dht_serve_find_node);
	tcase_add_test(tc, test_dht_serve_store_tokens);
	tcase_add_test(tc, test_dht_serve_store_full_too_large);
	tcase_add_test(tc, test_dht_serve_mutable);
	tcase_add_test(tc, test_dht_serve_announce_get_peers);
	tcase_add_test(tc, test_dht_put_flow);
	tcase_add_test(tc, test_dht_put_permanent_republish);
	tcase_add_test(tc, test_dht_get_flow_dedup);
	tcase_add_test(tc, test_dht_get_not_found_timeout);
	tcase_add_test(tc, test_dht_get_no_peers_async);
	tcase_add_test(tc, test_dht_announce_get_peers_flow);
	tcase_add_test(tc, test_dht_bounds_cancel_free);
	tcase_add_test(tc, test_dht_bootstrap_seed);
	tcase_add_test(tc, test_dht_maint_ping_refresh);
	tcase_add_test(tc, test_dht_handover_new_contact);
	tcase_add_test(tc, test_dht_replicate_stale_key);
	tcase_add_test(tc, test_dht_get_mutable_verified);
	tcase_add_test(tc, test_dht_get_mutable_goes_on_for_newer_seq);
	tcase_add_test(tc, test_dht_bootstrap_retry);
	tcase_add_test(tc, test_dht_new_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dht_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
