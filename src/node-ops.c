/*
 * node-ops.c: the public operations (put, get, announce, get_peers,
 * cancel, stats), translated to the DHT's and back.
 *
 * Each operation holds a slot in the node's fixed table until its final
 * callback (or its cancellation), so the context the DHT calls back with
 * is always valid and never leaks. Statuses map to hy_err codes: found 0,
 * not found HY_ENOENT, nobody answered HY_EUNREACHABLE, HY_ETIMEDOUT,
 * HY_ECANCELED.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ident.h"
#include "node-internal.h"
#include "pex.h"

static struct hy_node_op *
hy_node_op_new(struct hy_node *n, enum hy_node_opkind kind, void *arg)
{
	for (size_t i = 0; i < HY_NODE_OPS; i++)
		if (n->ops[i].kind == OP_FREE) {
			memset(&n->ops[i], 0, sizeof(n->ops[i]));
			n->ops[i].n = n;
			n->ops[i].kind = kind;
			n->ops[i].arg = arg;
			return &n->ops[i];
		}
	return NULL;
}

static int
hy_node_status_err(enum hy_dht_status st)
{
	switch (st) {
	case HY_DHT_FOUND:
	case HY_DHT_ITEM:
		return HY_OK;
	case HY_DHT_NOT_FOUND:
		return HY_ENOENT;
	case HY_DHT_NO_PEERS:
		return HY_EUNREACHABLE;
	case HY_DHT_TIMED_OUT:
		return HY_ETIMEDOUT;
	case HY_DHT_CANCELED:
		return HY_ECANCELED;
	}
	return HY_EINVAL;
}

static void
hy_node_put_done(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info)
{
	struct hy_node_op *op = arg;
	hy_put_cb *cb = op->cb.put;
	void *cbarg = op->arg;

	(void)info;
	op->kind = OP_FREE;
	cb(cbarg, err, stored_on);
}

static void
hy_node_get_item(void *arg, const struct hy_value *v, enum hy_dht_status status,
    const struct hy_dht_op_info *info)
{
	struct hy_node_op *op = arg;
	hy_get_cb *cb = op->cb.get;
	void *cbarg = op->arg;

	(void)info;
	if (v != NULL) {
		struct hy_value_info vi;

		memset(&vi, 0, sizeof(vi));
		vi.data = v->data.ptr;
		vi.len = v->data.len;
		vi.id = v->id;
		vi.ttl_s = (uint32_t)v->ttl_s;
		vi.is_mutable = v->is_mutable;
		vi.seq = v->seq;
		if (v->is_mutable)
			memcpy(vi.owner, v->owner, sizeof(vi.owner));
		cb(cbarg, HY_OK, &vi);
		return;
	}
	op->kind = OP_FREE;
	cb(cbarg, hy_node_status_err(status), NULL);
}

static void
hy_node_peers_item(void *arg, const struct hy_addr *peers, size_t n,
    enum hy_dht_status status, const struct hy_dht_op_info *info)
{
	struct hy_node_op *op = arg;
	hy_peers_cb *cb = op->cb.peers;
	void *cbarg = op->arg;
	struct hy_peer_info out[32];

	(void)info;
	while (peers != NULL && n > 0) {
		size_t m = n < 32 ? n : 32;

		for (size_t i = 0; i < m; i++) {
			memset(&out[i], 0, sizeof(out[i]));
			out[i].family = peers[i].family;
			memcpy(out[i].ip, peers[i].ip, 16);
			out[i].port = peers[i].port;
			hy_addr_format(&peers[i], out[i].text,
			    sizeof(out[i].text));
		}
		cb(cbarg, HY_OK, out, m);
		peers += m;
		n -= m;
	}
	if (status == HY_DHT_ITEM)
		return;
	op->kind = OP_FREE;
	cb(cbarg, hy_node_status_err(status), NULL, 0);
}

/* Common tail of the operations: record the handle or free the slot. */
static int
hy_node_op_started(struct hy_node *n, struct hy_node_op *op, int rc,
    uint64_t dh, uint64_t *handle)
{
	if (rc != HY_OK) {
		op->kind = OP_FREE;
		return rc;
	}
	op->handle = dh;
	if (handle != NULL)
		*handle = dh;
	hy_node_resched(n);
	return HY_OK;
}

/*
 * The checks and bookkeeping every operation starts with: a running node,
 * a callback, a free slot. Returns 0 with *op and *k set, or the error the
 * operation returns (no callback will fire then).
 */
static int
hy_node_op_begin(struct hy_node *n, enum hy_node_opkind kind, bool has_cb,
    void *arg, const uint8_t key[HY_ID_LEN], struct hy_id *k,
    struct hy_node_op **op)
{
	if (n->dht == NULL)
		return HY_ESTATE;
	if (!has_cb)
		return HY_EINVAL;
	*op = hy_node_op_new(n, kind, arg);
	if (*op == NULL)
		return HY_EFULL;
	if (key != NULL)
		memcpy(k->b, key, HY_ID_LEN);
	return HY_OK;
}

int
hy_node_put(struct hy_node *n, const uint8_t key[HY_ID_LEN], const void *data,
    size_t len, const struct hy_put_opts *opts, hy_put_cb *cb, void *arg,
    uint64_t *handle)
{
	struct hy_node_op *op;
	struct hy_value v;
	struct hy_id k;
	uint8_t h[HY_SHA256_LEN];
	uint64_t dh = 0;
	int rc;

	if (n->dht == NULL)
		return HY_ESTATE;
	if (cb == NULL || (data == NULL && len > 0))
		return HY_EINVAL;
	memset(&v, 0, sizeof(v));
	v.data.ptr = data;
	v.data.len = len;
	v.ttl_s =
	    opts != NULL && opts->ttl_s != 0 ? opts->ttl_s : n->cfg.value_ttl_s;
	if (opts != NULL && opts->value_id != 0) {
		v.id = opts->value_id;
	} else {
		/* the same data under the same key is the same value */
		rc = hy_sha256(data, len, h);
		if (rc != HY_OK)
			return rc;
		memcpy(&v.id, h, sizeof(v.id));
		v.id &= ~(uint64_t)0 >> 1; /* keep clear of reserved ids */
	}
	memcpy(k.b, key, HY_ID_LEN);
	op = hy_node_op_new(n, OP_PUT, arg);
	if (op == NULL)
		return HY_EFULL;
	op->cb.put = cb;
	rc = hy_dht_put(n->dht, &k, &v, opts != NULL && opts->permanent,
	    hy_node_put_done, op, hy_node_now(), &dh);
	if (rc == HY_OK && opts != NULL && opts->permanent &&
	    (rc = hy_node_perm_add(n, &k, &v, dh)) != HY_OK)
		(void)hy_dht_cancel(n->dht, dh);
	return hy_node_op_started(n, op, rc, dh, handle);
}

int
hy_node_put_mutable(struct hy_node *n, const void *salt, size_t salt_len,
    const void *data, size_t len, uint64_t seq, uint64_t cas, uint32_t ttl_s,
    hy_put_cb *cb, void *arg, uint8_t key_out[HY_ID_LEN], uint64_t *handle)
{
	const size_t tbs_cap = HY_VALUE_MAX + 128;
	uint8_t *tbs;
	struct hy_node_op *op;
	struct hy_value v;
	struct hy_id k;
	size_t tlen;
	uint64_t dh = 0;
	int rc;

	if (n->dht == NULL)
		return HY_ESTATE;
	if (cb == NULL || salt_len > HY_SALT_MAX || len > HY_VALUE_MAX ||
	    (data == NULL && len > 0) || (salt == NULL && salt_len > 0))
		return HY_EINVAL;
	memset(&v, 0, sizeof(v));
	v.id = HY_STORE_MUTABLE_ID;
	v.ttl_s = ttl_s != 0 ? ttl_s : n->cfg.value_ttl_s;
	v.data.ptr = data;
	v.data.len = len;
	v.is_mutable = true;
	memcpy(v.owner, hy_ident_pubkey(n->ident), HY_PUBKEY_LEN);
	v.salt.ptr = salt;
	v.salt.len = salt_len;
	v.seq = seq;
	/* key = SHA-256(owner || salt); the owner signs (salt, seq, data) */
	{
		const struct hy_span parts[2] = { { v.owner, HY_PUBKEY_LEN },
			{ salt, salt_len } };

		if ((rc = hy_sha256v(parts, 2, k.b)) != HY_OK)
			return rc;
	}
	tbs = malloc(tbs_cap); /* the signed bytes: up to a whole value */
	if (tbs == NULL)
		return HY_ENOMEM;
	rc = hy_value_tbs(&v, tbs, tbs_cap, &tlen);
	if (rc == HY_OK)
		rc = hy_ident_sign(n->ident, HY_MUTABLE_SIG_CTX, tbs, tlen,
		    v.sig);
	free(tbs);
	if (rc != HY_OK)
		return rc;
	op = hy_node_op_new(n, OP_PUT, arg);
	if (op == NULL)
		return HY_EFULL;
	op->cb.put = cb;
	rc = hy_dht_put_cas(n->dht, &k, &v, false, cas, hy_node_put_done, op,
	    hy_node_now(), &dh);
	if (rc == HY_OK && key_out != NULL)
		memcpy(key_out, k.b, HY_ID_LEN);
	return hy_node_op_started(n, op, rc, dh, handle);
}

int
hy_node_get(struct hy_node *n, const uint8_t key[HY_ID_LEN], hy_get_cb *cb,
    void *arg, uint64_t *handle)
{
	struct hy_node_op *op;
	struct hy_id k;
	uint64_t dh = 0;
	int rc = hy_node_op_begin(n, OP_GET, cb != NULL, arg, key, &k, &op);

	if (rc != HY_OK)
		return rc;
	op->cb.get = cb;
	rc = hy_dht_get(n->dht, &k, hy_node_get_item, op, hy_node_now(), &dh);
	return hy_node_op_started(n, op, rc, dh, handle);
}

int
hy_node_announce(struct hy_node *n, const uint8_t key[HY_ID_LEN], uint16_t port,
    hy_put_cb *cb, void *arg, uint64_t *handle)
{
	struct hy_node_op *op;
	struct hy_id k;
	uint64_t dh = 0;
	int rc = hy_node_op_begin(n, OP_PUT, cb != NULL, arg, key, &k, &op);

	if (rc != HY_OK)
		return rc;
	op->cb.put = cb;
	rc = hy_dht_announce(n->dht, &k, port, false, hy_node_put_done, op,
	    hy_node_now(), &dh);
	return hy_node_op_started(n, op, rc, dh, handle);
}

int
hy_node_get_peers(struct hy_node *n, const uint8_t key[HY_ID_LEN],
    hy_peers_cb *cb, void *arg, uint64_t *handle)
{
	struct hy_node_op *op;
	struct hy_id k;
	uint64_t dh = 0;
	int rc = hy_node_op_begin(n, OP_PEERS, cb != NULL, arg, key, &k, &op);

	if (rc != HY_OK)
		return rc;
	op->cb.peers = cb;
	rc = hy_dht_get_peers(n->dht, &k, hy_node_peers_item, op, hy_node_now(),
	    &dh);
	return hy_node_op_started(n, op, rc, dh, handle);
}

int
hy_node_cancel(struct hy_node *n, uint64_t handle)
{
	if (n->dht == NULL)
		return HY_ENOENT;
	for (size_t i = 0; i < HY_NODE_OPS; i++)
		if (n->ops[i].kind != OP_FREE && n->ops[i].handle == handle) {
			int rc = hy_dht_cancel(n->dht, handle);

			n->ops[i].kind = OP_FREE;
			hy_node_perm_forget(n, handle);
			return rc;
		}
	/* a permanent put whose first round is over republishes on */
	for (size_t i = 0; i < HY_NODE_PERM_MAX; i++)
		if (n->perm[i].used && n->perm[i].handle == handle) {
			hy_node_perm_forget(n, handle);
			return hy_dht_cancel(n->dht, handle);
		}
	return HY_ENOENT;
}

int
hy_node_unput(struct hy_node *n, const uint8_t key[HY_ID_LEN])
{
	int count = 0;

	if (n->dht == NULL)
		return HY_ESTATE;
	for (size_t i = 0; i < HY_NODE_PERM_MAX; i++) {
		struct hy_node_perm *p = &n->perm[i];
		bool first_round = false;

		if (!p->used || memcmp(p->key.b, key, HY_ID_LEN) != 0)
			continue;
		for (size_t j = 0; j < HY_NODE_OPS && !first_round; j++)
			first_round = n->ops[j].kind != OP_FREE &&
			    n->ops[j].handle == p->handle;
		if (first_round)
			continue;
		(void)hy_dht_cancel(n->dht, p->handle);
		hy_node_perm_forget(n, p->handle);
		count++;
	}
	return count;
}

int
hy_node_stats(const struct hy_node *n,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
	struct hy_dht_stats ds;
	struct hy_transport_stats ts;
	struct hy_rpc_stats rs;
	struct hy_gossip_stats gs;
	struct hy_pex_stats ps;
	int rc = 0;

	if (n->dht == NULL || n->rpc == NULL)
		return 0;
	memset(&gs, 0, sizeof(gs));
	memset(&ps, 0, sizeof(ps));
	if (n->live != NULL)
		hy_gossip_get_stats(n->live, &gs);
	if (n->pex != NULL)
		hy_pex_get_stats(n->pex, &ps);
	hy_dht_get_stats(n->dht, hy_node_now(), &ds);
	hy_transport_stats(hy_rpc_transport(n->rpc), &ts);
	hy_rpc_stats(n->rpc, &rs);
#define EMIT(name, v)                                                          \
	do {                                                                   \
		if (rc == 0)                                                   \
			rc = cb(name, (uint64_t)(v), arg);                     \
	} while (0)
	EMIT("rtable.contacts", ds.rtable.contacts);
	EMIT("rtable.good", ds.rtable.good);
	EMIT("rtable.questionable", ds.rtable.questionable);
	EMIT("rtable.bad", ds.rtable.bad);
	EMIT("rtable.buckets", ds.rtable.buckets);
	EMIT("rtable.replacements", ds.rtable.replacements);
	EMIT("store.keys", ds.store.keys);
	EMIT("store.values", ds.store.values);
	EMIT("store.bytes", ds.store.bytes);
	EMIT("store.peers", ds.store.peers);
	EMIT("store.expired", ds.store.expired_values);
	EMIT("store.refused_full",
	    ds.store.refused_bytes + ds.store.refused_keys +
	        ds.store.refused_values + ds.store.refused_per_key +
	        ds.store.refused_per_source);
	EMIT("dht.lookups", ds.lookups);
	EMIT("dht.lookup_requests", ds.lookup_requests);
	EMIT("dht.requests_sent", ds.requests_sent);
	EMIT("dht.requests_failed", ds.requests_failed);
	EMIT("dht.republished", ds.republished);
	EMIT("dht.replications", ds.replications);
	EMIT("dht.handovers", ds.handovers);
	EMIT("rpc.calls", rs.calls);
	EMIT("rpc.timeouts", rs.timeouts);
	EMIT("rpc.retries", rs.retries);
	EMIT("rpc.inflight", rs.inflight);
	EMIT("transport.dgram_in", ts.dgram_in);
	EMIT("transport.dgram_out", ts.dgram_out);
	EMIT("transport.dtls_in", ts.dtls_in);
	EMIT("transport.dtls_out", ts.dtls_out);
	EMIT("transport.tls_in", ts.tls_in);
	EMIT("transport.tls_out", ts.tls_out);
	EMIT("transport.rate_limited", ts.rate_limited);
	EMIT("transport.malformed", ts.malformed);
	EMIT("transport.stale", ts.stale);
	EMIT("transport.replayed", ts.replayed);
	EMIT("transport.bad_signature", ts.bad_signature);
	EMIT("transport.wrong_id", ts.wrong_id);
	EMIT("transport.wrong_network", ts.wrong_network);
	EMIT("transport.wrong_destination", ts.wrong_destination);
	EMIT("transport.amp_limited", ts.amp_limited);
	EMIT("transport.dtls_sessions", ts.dtls.sessions);
	EMIT("transport.dtls_cookie_failures", ts.dtls.cookie_failures);
	EMIT("transport.dtls_id_mismatch", ts.dtls.id_mismatch);
	EMIT("transport.tls_oversize_frames", ts.tls.oversize_frames);
	EMIT("transport.tls_id_mismatch", ts.tls.id_mismatch);
	EMIT("gossip.alive", gs.alive);
	EMIT("gossip.suspect", gs.suspect);
	EMIT("gossip.down", gs.down);
	EMIT("gossip.active", gs.active);
	EMIT("gossip.health", gs.health);
	EMIT("gossip.probes", gs.probes);
	EMIT("gossip.probe_fails", gs.probe_fails);
	EMIT("gossip.indirect_probes", gs.indirect_probes);
	EMIT("gossip.tls_probes", gs.tls_probes);
	EMIT("gossip.inconclusive", gs.inconclusive);
	EMIT("gossip.suspicions", gs.suspicions);
	EMIT("gossip.refuted", gs.refuted);
	EMIT("gossip.downs", gs.downs);
	EMIT("gossip.back_up", gs.back_up);
	EMIT("gossip.hints_in", gs.hints_in);
	EMIT("gossip.refutations_sent", gs.refutations_sent);
	EMIT("gossip.records_bad", gs.records_bad);
	EMIT("gossip.relays_served", gs.relays_served);
	EMIT("gossip.relays_refused", gs.relays_refused);
	EMIT("gossip.stalls", gs.stalls);
	EMIT("gossip.refused_on_datagrams", n->live_refused);
	EMIT("pex.sent", n->pex_sent);
	EMIT("pex.received", ps.received);
	EMIT("pex.rate_limited", ps.rate_limited);
	EMIT("pex.candidates", ps.candidates_out);
#undef EMIT
	return rc;
}

struct hy_routes_ctx {
	const struct hy_node *n;
	struct hy_rtable *rt;
	uint64_t now;
	int (*cb)(const struct hy_route *r, void *arg);
	void *arg;
};

static int
hy_node_route_one(const struct hy_rtable_contact *c, void *arg)
{
	struct hy_routes_ctx *x = arg;
	static const char *const names[] = { "good", "questionable", "bad" };
	struct hy_route r;
	enum hy_rtable_status st = hy_rtable_status(x->rt, c, x->now);

	memset(&r, 0, sizeof(r));
	memcpy(r.id, c->id.b, HY_ID_LEN);
	hy_addr_format(&c->addr, r.addr, sizeof(r.addr));
	r.status = (unsigned)st < 3 ? names[st] : "bad";
	r.last_seen_ms_ago =
	    x->now > c->last_seen_ms ? x->now - c->last_seen_ms : 0;
	r.bucket = (unsigned)hy_rtable_bucket_of(x->rt, &c->id);
	return x->cb(&r, x->arg);
}

int
hy_node_routes(const struct hy_node *n,
    int (*cb)(const struct hy_route *r, void *arg), void *arg)
{
	struct hy_routes_ctx x;

	if (n->dht == NULL)
		return 0;
	x.n = n;
	x.rt = hy_dht_rtable(n->dht);
	x.now = hy_node_now();
	x.cb = cb;
	x.arg = arg;
	return hy_rtable_foreach(x.rt, hy_node_route_one, &x);
}

const char *
hy_member_state_str(enum hy_member_state st)
{
	switch (st) {
	case HY_MEMBER_ALIVE:
		return "alive";
	case HY_MEMBER_SUSPECT:
		return "suspect";
	case HY_MEMBER_DOWN:
		return "down";
	}
	return "unknown";
}

struct members_ctx {
	int (*cb)(const struct hy_member *m, void *arg);
	void *arg;
	uint64_t now;
};

static int
member_out(const struct hy_gossip_member *gm, void *arg)
{
	struct members_ctx *x = arg;
	struct hy_member m;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, gm->id.b, HY_ID_LEN);
	hy_addr_format(&gm->addr, m.addr, sizeof(m.addr));
	m.state = (enum hy_member_state)gm->state;
	m.seq = gm->seq;
	m.since_ms_ago = x->now > gm->since_ms ? x->now - gm->since_ms : 0;
	m.confirmations = gm->confirmations;
	m.active = gm->active;
	m.in_table = gm->in_table;
	return x->cb(&m, x->arg);
}

/* The node itself first (alive, as every member list shows its owner),
 * then the view. */
int
hy_node_members(const struct hy_node *n,
    int (*cb)(const struct hy_member *m, void *arg), void *arg)
{
	struct members_ctx x = { cb, arg, hy_node_now() };
	struct hy_member self;
	const struct hy_addr *la;
	int rc;

	if (n == NULL || cb == NULL || n->live == NULL)
		return 0;
	memset(&self, 0, sizeof(self));
	memcpy(self.id, hy_ident_id(n->ident)->b, HY_ID_LEN);
	la = hy_transport_local(hy_rpc_transport(n->rpc), HY_AF_INET);
	if (la == NULL)
		la = hy_transport_local(hy_rpc_transport(n->rpc), HY_AF_INET6);
	if (la != NULL)
		hy_addr_format(la, self.addr, sizeof(self.addr));
	self.state = HY_MEMBER_ALIVE;
	self.seq = hy_gossip_seq(n->live);
	if ((rc = cb(&self, arg)) != 0)
		return rc;
	return hy_gossip_foreach(n->live, member_out, &x);
}

unsigned
hy_node_health(const struct hy_node *n)
{
	return n == NULL ? 0 : hy_gossip_health(n->live);
}
