/*
 * dht-ops.c: the DHT's operations (L4): put, get, announce, get_peers, and
 * the internal lookups (bucket refresh, bootstrap, replication) that share
 * their machinery.
 *
 * Algorithms. Kademlia §2.3: an operation is an iterative lookup
 * (lookup.c) for the key, seeded with the k closest contacts of the
 * routing table; a store goes to the k closest nodes the lookup found
 * alive. BEP 5: writes need a token from the target, so the store's lookup
 * sends FIND_VALUE (max_values 1) and announce's sends GET_PEERS, and each
 * reply's token is kept for the second phase: STORE / ANNOUNCE_PEER to the
 * k closest responders that gave one. get is a FIND_VALUE lookup that
 * stops after get_enough_values distinct value ids (0: converge), values
 * streamed to the callback as they arrive; get_peers converges and streams
 * new peer addresses. BEP 44: a mutable value goes out as signed by its
 * owner. DESIGN.md §6: the origin republishes a permanent put at
 * republish_pct of its TTL until cancelled.
 *
 * Invariants.
 *  - An op slot is FREE or alive; at most cfg.max_ops alive, of which at
 *    most cfg.max_maint_ops internal. Handles and pending requests carry
 *    the slot's generation, so a stale one is ignored.
 *  - Final callbacks fire only from hy_dht_flush (called at the end of
 *    hy_dht_on_response and hy_dht_tick): an op that completes during the
 *    call that started it waits in HY_DP_DONE, and hy_dht_next_deadline()
 *    is then "now". Streamed items fire from on_response only.
 *  - Every table of an op is bounded: tokens by the lookup's request
 *    budget, seen items by a fixed cap (64 value ids, 256 peers).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dht-internal.h"

#define SEEN_VALUES_MAX 64
#define SEEN_PEERS_MAX 256
#define QUERY_BATCH 8

int
hy_dht_val_copy(struct hy_dht_val *dst, const struct hy_value *v)
{
	size_t n = v->data.len + v->salt.len;

	dst->v = *v;
	dst->buf = malloc(n > 0 ? n : 1);
	if (dst->buf == NULL)
		return HY_ENOMEM;
	if (v->data.len > 0)
		memcpy(dst->buf, v->data.ptr, v->data.len);
	if (v->salt.len > 0)
		memcpy(dst->buf + v->data.len, v->salt.ptr, v->salt.len);
	dst->v.data.ptr = dst->buf;
	dst->v.salt.ptr = dst->buf + v->data.len;
	return HY_OK;
}

static bool
kind_internal(unsigned kind)
{
	return kind >= HY_DK_REFRESH;
}

struct hy_dht_op *
hy_dht_op_alloc(struct hy_dht *d, enum hy_dht_kind kind,
    const struct hy_id *key, uint64_t now_ms, uint64_t *handle)
{
	struct hy_dht_op *op = NULL;
	unsigned i;

	if (d->freeing || d->nops >= d->cfg.max_ops ||
	    (kind_internal(kind) && d->nmaint >= d->cfg.max_maint_ops))
		goto out;
	for (i = 0; i < d->cfg.max_ops; i++)
		if (d->ops[i].phase == HY_DP_FREE)
			break;
	if (i == d->cfg.max_ops)
		goto out;
	op = &d->ops[i];
	{
		uint32_t gen = op->gen;

		memset(op, 0, sizeof(*op));
		op->gen = gen;
	}
	op->kind = (uint8_t)kind;
	op->phase = HY_DP_LOOKUP;
	op->key = *key;
	op->started_ms = now_ms;
	d->nops++;
	if (kind_internal(kind))
		d->nmaint++;
	if (i >= d->ops_hi)
		d->ops_hi = i + 1;
	if (handle != NULL)
		*handle = (uint64_t)op->gen << 32 | (uint64_t)(i + 1);
out:
	return op;
}

void
hy_dht_op_release(struct hy_dht *d, struct hy_dht_op *op)
{
	if (op->phase == HY_DP_FREE)
		return;
	if (op->phase == HY_DP_DONE)
		d->ndone--;
	hy_lookup_free(op->lk);
	for (unsigned i = 0; i < op->nvals; i++)
		free(op->vals[i].buf);
	free(op->vals);
	free(op->toks);
	free(op->seen);
	d->nops--;
	if (kind_internal(op->kind))
		d->nmaint--;
	op->lk = NULL;
	op->vals = NULL;
	op->toks = NULL;
	op->seen = NULL;
	op->phase = HY_DP_FREE;
	op->gen++;
	while (d->ops_hi > 0 && d->ops[d->ops_hi - 1].phase == HY_DP_FREE)
		d->ops_hi--;
}

static uint32_t
op_index(const struct hy_dht *d, const struct hy_dht_op *op)
{
	return (uint32_t)(op - d->ops);
}

static bool
op_wants_tokens(const struct hy_dht_op *op)
{
	return op->kind == HY_DK_PUT || op->kind == HY_DK_ANNOUNCE ||
	    op->kind == HY_DK_REPLICATE;
}

/*
 * (Re)start op's lookup, seeded from the routing table. Returns 0 or
 * HY_ENOMEM / HY_EINVAL from the lookup module.
 */
int
hy_dht_op_lookup(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	struct hy_rtable_contact c[HY_NODES_MAX];
	struct hy_lookup_config lc = d->cfg.lookup;
	enum hy_lookup_kind lk = HY_LOOKUP_FIND_NODE;
	size_t n;
	int err;

	hy_lookup_free(op->lk);
	op->lk = NULL;
	lc.enough_values = 0;
	if (op->kind == HY_DK_GET) {
		lk = HY_LOOKUP_FIND_VALUE;
		lc.enough_values = d->cfg.get_enough_values;
	} else if (op->kind == HY_DK_GET_PEERS)
		lk = HY_LOOKUP_GET_PEERS;
	if ((err = hy_lookup_new(&op->lk, &op->key, lk, &lc, now_ms)) !=
	        HY_OK ||
	    (err = hy_lookup_set_self(op->lk, &d->self)) != HY_OK)
		goto out;
	op->ntoks = 0;
	op->out = 0;
	op->stored_on = 0;
	op->started_ms = now_ms;
	memset(&op->info, 0, sizeof(op->info));
	err = HY_ENOMEM;
	if (op_wants_tokens(op) && op->toks == NULL) {
		op->ntoks_max = lc.max_requests;
		op->toks = calloc(op->ntoks_max, sizeof(*op->toks));
		if (op->toks == NULL)
			goto out;
	}
	if ((op->kind == HY_DK_GET || op->kind == HY_DK_GET_PEERS) &&
	    op->seen == NULL) {
		op->nseen_max =
		    op->kind == HY_DK_GET ? SEEN_VALUES_MAX : SEEN_PEERS_MAX;
		op->seen = calloc(op->nseen_max, sizeof(*op->seen));
		if (op->seen == NULL)
			goto out;
	}
	n = hy_rtable_closest(d->rt, &op->key, d->cfg.k, c, HY_RTABLE_NO_BAD,
	    now_ms);
	for (size_t i = 0; i < n; i++)
		(void)hy_lookup_add(op->lk, &c[i].id, &c[i].addr, 0);
	op->phase = HY_DP_LOOKUP;
	err = HY_OK;
out:
	return err;
}

/* When the origin re-puts a permanent value: republish_pct of its TTL. */
static uint64_t
republish_at(const struct hy_dht *d, const struct hy_dht_op *op)
{
	uint64_t ttl_ms = op->vals[0].v.ttl_s * 1000;

	return op->started_ms + ttl_ms * d->cfg.republish_pct / 100;
}

static void
op_finish(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	op->info.elapsed_ms = now_ms - op->started_ms;
	if (kind_internal(op->kind)) {
		hy_dht_op_release(d, op);
		return;
	}
	if (op->kind == HY_DK_PUT && op->permanent && op->first_round_done) {
		/* A later round of a permanent put: no callback. */
		op->phase = HY_DP_IDLE;
		op->next_ms = republish_at(d, op);
		hy_lookup_free(op->lk);
		op->lk = NULL;
		return;
	}
	op->phase = HY_DP_DONE;
	d->ndone++;
}

static void
send_query(struct hy_dht *d, struct hy_dht_op *op,
    const struct hy_lookup_peer *q, uint64_t now_ms)
{
	struct hy_dht_pend p;
	struct hy_msg m;

	memset(&p, 0, sizeof(p));
	p.purpose = HY_PP_LOOKUP;
	p.op = op_index(d, op);
	p.op_gen = op->gen;
	switch (op->kind) {
	case HY_DK_PUT:
	case HY_DK_GET:
	case HY_DK_REPLICATE:
		hy_dht_msg_init(d, &m, HY_MSG_FIND_VALUE, 0);
		m.body.find_value.key = op->key;
		m.body.find_value.max_values =
		    op->kind == HY_DK_GET ? HY_VALUES_MAX : 1;
		break;
	case HY_DK_ANNOUNCE:
	case HY_DK_GET_PEERS:
		hy_dht_msg_init(d, &m, HY_MSG_GET_PEERS, 0);
		m.body.get_peers.key = op->key;
		break;
	default:
		hy_dht_msg_init(d, &m, HY_MSG_FIND_NODE, 0);
		m.body.find_node.target = op->key;
		break;
	}
	op->info.requests++;
	if (hy_dht_send(d, &q->addr, &q->id, &m, &p) != HY_OK)
		(void)hy_lookup_fail(op->lk, &q->id, now_ms);
}

static const struct hy_dht_tok *
tok_find(const struct hy_dht_op *op, const struct hy_id *id)
{
	for (unsigned i = 0; i < op->ntoks; i++)
		if (hy_id_eq(&op->toks[i].id, id))
			return &op->toks[i];
	return NULL;
}

static uint64_t addr_hash(const struct hy_addr *a);
static bool seen_add(struct hy_dht_op *op, uint64_t x);

/*
 * Our own store may hold what a get or get_peers looks for (we may be one
 * of the key's closest nodes, or the only other node): stream what it has
 * that the lookup did not bring, with the same rules as for replies.
 * Returns false if a callback ended op.
 */
static bool
local_items(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	uint32_t gen = op->gen;

	if (op->kind == HY_DK_GET) {
		struct hy_store_value sv[HY_VALUES_MAX];
		size_t nv =
		    hy_store_get(d->st, &op->key, now_ms, sv, HY_VALUES_MAX);

		for (size_t i = 0; i < nv; i++) {
			struct hy_value v;

			hy_dht_value_from_store(&sv[i], &v);
			if (v.is_mutable) {
				if (op->have_mut && v.seq <= op->mut_seq)
					continue;
				if (!op->have_mut)
					(void)seen_add(op, v.id);
				op->have_mut = true;
				op->mut_seq = v.seq;
			} else if (!seen_add(op, v.id)) {
				continue;
			}
			op->get_cb(op->arg, &v, HY_DHT_ITEM, &op->info);
			if (op->gen != gen || op->phase != HY_DP_LOOKUP)
				return false;
		}
	} else if (op->kind == HY_DK_GET_PEERS) {
		struct hy_store_peer sp[HY_PEERS_MAX];
		struct hy_addr fp[HY_PEERS_MAX];
		size_t np = hy_store_get_peers(d->st, &op->key, now_ms, sp,
		    HY_PEERS_MAX, &d->rng);
		size_t nf = 0;

		for (size_t i = 0; i < np; i++)
			if (seen_add(op, addr_hash(&sp[i].addr)))
				fp[nf++] = sp[i].addr;
		if (nf > 0) {
			op->peers_cb(op->arg, fp, nf, HY_DHT_ITEM, &op->info);
			if (op->gen != gen || op->phase != HY_DP_LOOKUP)
				return false;
		}
	}
	return true;
}

/* The lookup is over: the write phase, or the end. */
static void
lookup_done(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	struct hy_lookup_peer res[HY_NODES_MAX];
	struct hy_lookup_stats ls;
	enum hy_lookup_status lst = hy_lookup_status(op->lk);
	size_t n;

	hy_lookup_stats(op->lk, &ls);
	d->stats.lookups++;
	d->stats.lookup_requests += ls.requests;
	op->info.replies = ls.replies;
	op->info.hops = ls.found_hop >= 0 ? (unsigned)ls.found_hop : ls.max_hop;
	if (op->kind == HY_DK_REFRESH || op->kind == HY_DK_BOOT)
		hy_rtable_touch_bucket(d->rt, &op->key, now_ms);
	if (!op_wants_tokens(op)) {
		if (!local_items(d, op, now_ms))
			return;
		if (op->nseen > 0)
			op->status = HY_DHT_FOUND;
		else if (lst == HY_LOOKUP_NO_PEERS)
			op->status = HY_DHT_NO_PEERS;
		else if (lst == HY_LOOKUP_TIMED_OUT)
			op->status = HY_DHT_TIMED_OUT;
		else
			op->status = HY_DHT_NOT_FOUND;
		op_finish(d, op, now_ms);
		return;
	}
	op->phase = HY_DP_STORE;
	n = hy_lookup_results(op->lk, res, d->cfg.k);
	for (size_t i = 0; i < n; i++) {
		const struct hy_dht_tok *t = tok_find(op, &res[i].id);
		struct hy_dht_pend p;
		struct hy_msg m;

		if (t == NULL)
			continue;
		memset(&p, 0, sizeof(p));
		p.purpose = HY_PP_STORE;
		p.op = op_index(d, op);
		p.op_gen = op->gen;
		if (op->kind == HY_DK_ANNOUNCE) {
			hy_dht_msg_init(d, &m, HY_MSG_ANNOUNCE_PEER, 0);
			m.body.announce_peer.key = op->key;
			m.body.announce_peer.token.ptr = t->tok;
			m.body.announce_peer.token.len = t->len;
			m.body.announce_peer.port = op->port;
			m.body.announce_peer.seed = op->seed;
			op->info.requests++;
			if (hy_dht_send(d, &res[i].addr, &res[i].id, &m, &p) ==
			    HY_OK)
				op->out++;
			continue;
		}
		for (unsigned j = 0; j < op->nvals; j++) {
			hy_dht_msg_init(d, &m, HY_MSG_STORE, 0);
			m.body.store.key = op->key;
			m.body.store.token.ptr = t->tok;
			m.body.store.token.len = t->len;
			m.body.store.value = op->vals[j].v;
			m.body.store.cas = op->cas;
			op->info.requests++;
			if (hy_dht_send(d, &res[i].addr, &res[i].id, &m, &p) ==
			    HY_OK)
				op->out++;
		}
	}
	if (op->out == 0) {
		op->err = HY_EUNREACHABLE;
		op_finish(d, op, now_ms);
	}
}

/*
 * Send what op's lookup wants now; on its end, move to the next phase.
 * op may be released on return (internal ops).
 */
void
hy_dht_op_pump(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	struct hy_lookup_peer q[QUERY_BATCH];
	size_t m;

	if (op->phase != HY_DP_LOOKUP)
		return;
	while ((m = hy_lookup_next(op->lk, now_ms, q, QUERY_BATCH)) > 0)
		for (size_t i = 0; i < m; i++)
			send_query(d, op, &q[i], now_ms);
	if (hy_lookup_status(op->lk) != HY_LOOKUP_RUNNING)
		lookup_done(d, op, now_ms);
}

static uint64_t
addr_hash(const struct hy_addr *a)
{
	uint8_t k[HY_ADDR_KEYLEN];
	uint64_t h = 1469598103934665603ull;

	hy_addr_key(a, k);
	for (size_t i = 0; i < sizeof(k); i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return h;
}

/* Remember x; false if seen before or the set is full. */
static bool
seen_add(struct hy_dht_op *op, uint64_t x)
{
	for (unsigned i = 0; i < op->nseen; i++)
		if (op->seen[i] == x)
			return false;
	if (op->nseen >= op->nseen_max)
		return false;
	op->seen[op->nseen++] = x;
	return true;
}

static void
tok_keep(struct hy_dht_op *op, const struct hy_id *id,
    const struct hy_wire_bin *tok)
{
	struct hy_dht_tok *t;

	if (op->toks == NULL || tok->len > HY_TOKEN_MAX ||
	    op->ntoks >= op->ntoks_max || tok_find(op, id) != NULL)
		return;
	t = &op->toks[op->ntoks++];
	t->id = *id;
	t->len = (uint8_t)tok->len;
	if (tok->len > 0)
		memcpy(t->tok, tok->ptr, tok->len);
}

/*
 * A lookup query's outcome. Streams new items to the user's callback
 * (which may cancel op: checked through the generation).
 */
static void
lookup_response(struct hy_dht *d, struct hy_dht_op *op,
    const struct hy_dht_pend *p, int err, const struct hy_msg *r,
    uint64_t now_ms)
{
	struct hy_lookup_contact c[HY_NODES_MAX];
	const struct hy_contact *nodes = NULL;
	uint32_t gen = op->gen, nn = 0;
	unsigned fresh = 0;

	if (op->phase != HY_DP_LOOKUP)
		return;
	if (err != HY_OK || r->type == HY_MSG_ERROR) {
		(void)hy_lookup_fail(op->lk, &p->to_id, now_ms);
		goto pump;
	}
	switch (r->type) {
	case HY_MSG_NODES:
		nodes = r->body.nodes.nodes;
		nn = r->body.nodes.n_nodes;
		break;
	case HY_MSG_VALUES:
		nodes = r->body.values.nodes;
		nn = r->body.values.n_nodes;
		tok_keep(op, &p->to_id, &r->body.values.token);
		if (op->kind != HY_DK_GET)
			break;
		for (uint32_t i = 0; i < r->body.values.n_values; i++) {
			const struct hy_value *v = &r->body.values.values[i];

			if (v->is_mutable) {
				/* BEP 44: verified, and only newer seqs. */
				if ((op->have_mut && v->seq <= op->mut_seq) ||
				    hy_dht_verify_mutable(d, &op->key, v) !=
				        HY_OK)
					continue;
				if (!op->have_mut)
					(void)seen_add(op, v->id);
				op->have_mut = true;
				op->mut_seq = v->seq;
			} else if (v->id == HY_STORE_MUTABLE_ID ||
			    !seen_add(op, v->id)) {
				continue;
			} else {
				/*
				 * Only plain values end a get early: a
				 * mutable one may be out of date on the first
				 * replica, so the lookup goes on to the k
				 * closest and streams any newer seq it meets.
				 */
				fresh++;
			}
			op->get_cb(op->arg, v, HY_DHT_ITEM, &op->info);
			if (op->gen != gen || op->phase != HY_DP_LOOKUP)
				return;
		}
		break;
	case HY_MSG_PEERS: {
		struct hy_addr fp[HY_PEERS_MAX];
		size_t nf = 0;

		nodes = r->body.peers.nodes;
		nn = r->body.peers.n_nodes;
		tok_keep(op, &p->to_id, &r->body.peers.token);
		if (op->kind != HY_DK_GET_PEERS)
			break;
		for (uint32_t i = 0; i < r->body.peers.n_peers; i++)
			if (seen_add(op, addr_hash(&r->body.peers.peers[i])))
				fp[nf++] = r->body.peers.peers[i];
		fresh = (unsigned)nf;
		if (nf > 0) {
			op->peers_cb(op->arg, fp, nf, HY_DHT_ITEM, &op->info);
			if (op->gen != gen || op->phase != HY_DP_LOOKUP)
				return;
		}
		break;
	}
	default:
		break;
	}
	if (nn > HY_NODES_MAX)
		nn = HY_NODES_MAX;
	for (uint32_t i = 0; i < nn; i++) {
		c[i].id = nodes[i].id;
		c[i].addr = nodes[i].addr;
	}
	(void)hy_lookup_reply(op->lk, &p->to_id, now_ms, c, nn, fresh);
pump:
	hy_dht_op_pump(d, op, now_ms);
}

static void
boot_response(struct hy_dht *d, struct hy_dht_op *op, int err,
    const struct hy_msg *r, const struct hy_addr *from, uint64_t now_ms)
{
	op->out--;
	if (err == HY_OK && r->type == HY_MSG_NODES && op->lk != NULL) {
		(void)hy_lookup_add(op->lk, &r->sender, from, 0);
		for (uint32_t i = 0; i < r->body.nodes.n_nodes; i++)
			(void)hy_lookup_add(op->lk, &r->body.nodes.nodes[i].id,
			    &r->body.nodes.nodes[i].addr, 1);
		op->phase = HY_DP_LOOKUP;
		hy_dht_op_pump(d, op, now_ms);
		return;
	}
	if (op->out == 0 && op->phase == HY_DP_BOOTWAIT)
		op_finish(d, op, now_ms);
}

void
hy_dht_op_response(struct hy_dht *d, const struct hy_dht_pend *p, int err,
    const struct hy_msg *reply, const struct hy_addr *from, uint64_t now_ms)
{
	struct hy_dht_op *op;

	if (p->op >= d->cfg.max_ops)
		return;
	op = &d->ops[p->op];
	if (op->phase == HY_DP_FREE || op->gen != p->op_gen)
		return;
	switch (p->purpose) {
	case HY_PP_LOOKUP:
		lookup_response(d, op, p, err, reply, now_ms);
		break;
	case HY_PP_BOOT:
		boot_response(d, op, err, reply, from, now_ms);
		break;
	case HY_PP_STORE:
		if (op->phase != HY_DP_STORE)
			break;
		op->out--;
		if (err == HY_OK &&
		    (reply->type == HY_MSG_STORED ||
		        reply->type == HY_MSG_ANNOUNCED))
			op->stored_on++;
		if (err == HY_OK && reply->type == HY_MSG_ERROR &&
		    reply->body.error.code == HY_WERR_CONFLICT)
			op->conflicts++;
		if (op->out == 0) {
			/* every answer a CONFLICT: the CAS or seq lost */
			op->err = op->stored_on > 0 ? HY_OK
			    : op->conflicts > 0     ? HY_EEXIST
			                            : HY_EUNREACHABLE;
			op_finish(d, op, now_ms);
		}
		break;
	default:
		break;
	}
}

void
hy_dht_op_tick(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	if (op->phase == HY_DP_LOOKUP) {
		if (hy_lookup_next_deadline(op->lk) <= now_ms)
			(void)hy_lookup_tick(op->lk, now_ms);
		hy_dht_op_pump(d, op, now_ms);
	} else if (op->phase == HY_DP_IDLE && op->next_ms <= now_ms) {
		d->stats.republished++;
		if (hy_dht_op_lookup(d, op, now_ms) == HY_OK)
			hy_dht_op_pump(d, op, now_ms);
		else
			op->next_ms = now_ms + d->cfg.maint_ms;
	}
}

uint64_t
hy_dht_op_deadline(const struct hy_dht_op *op)
{
	if (op->phase == HY_DP_LOOKUP)
		return hy_lookup_next_deadline(op->lk);
	if (op->phase == HY_DP_IDLE)
		return op->next_ms;
	return UINT64_MAX;
}

/* Fire the final callbacks of finished operations (see top). */
void
hy_dht_flush(struct hy_dht *d)
{
	if (d->in_flush)
		return;
	d->in_flush = true;
	for (unsigned i = 0; i < d->ops_hi && d->ndone > 0; i++) {
		struct hy_dht_op *op = &d->ops[i];
		uint32_t gen = op->gen;

		if (op->phase != HY_DP_DONE)
			continue;
		/* Leave DONE first: the callback may cancel or restart. */
		op->phase = HY_DP_IDLE;
		d->ndone--;
		d->stats.ops_done++;
		if (op->put_cb != NULL)
			op->put_cb(op->arg, op->err, op->stored_on, &op->info);
		else if (op->get_cb != NULL)
			op->get_cb(op->arg, NULL, op->status, &op->info);
		else if (op->peers_cb != NULL)
			op->peers_cb(op->arg, NULL, 0, op->status, &op->info);
		if (op->gen != gen || op->phase != HY_DP_IDLE)
			continue;
		if (op->kind == HY_DK_PUT && op->permanent) {
			op->first_round_done = true;
			op->next_ms = republish_at(d, op);
			hy_lookup_free(op->lk);
			op->lk = NULL;
		} else
			hy_dht_op_release(d, op);
	}
	d->in_flush = false;
}

/* ---- the API ------------------------------------------------------------ */

int
hy_dht_op_start(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms)
{
	int err = hy_dht_op_lookup(d, op, now_ms);

	if (err != HY_OK) {
		hy_dht_op_release(d, op);
		return err;
	}
	if (op->kind < 4)
		d->stats.ops_started[op->kind]++;
	hy_dht_op_pump(d, op, now_ms);
	return HY_OK;
}

/*
 * Would a STORE of v under key, with the longest token, fit the configured
 * path? Returns 0, HY_ETOOBIG or HY_ENOMEM.
 */
static int
store_fits(const struct hy_dht *d, const struct hy_id *key,
    const struct hy_value *v)
{
	static const uint8_t tok[HY_TOKEN_MAX];
	size_t cap = hy_wire_envelope_cap(d->cfg.path), len;
	struct hy_msg *m = malloc(sizeof(*m));
	uint8_t *buf = malloc(cap);
	int err = HY_ENOMEM;

	if (m == NULL || buf == NULL)
		goto out;
	hy_dht_msg_init(d, m, HY_MSG_STORE, UINT32_MAX);
	m->body.store.key = *key;
	m->body.store.token.ptr = tok;
	m->body.store.token.len = sizeof(tok);
	m->body.store.value = *v;
	m->body.store.cas = UINT64_MAX;
	err = hy_msg_encode(m, d->cfg.path, buf, cap, &len) == HY_OK
	    ? HY_OK
	    : HY_ETOOBIG;
out:
	free(m);
	free(buf);
	return err;
}

int
hy_dht_put(struct hy_dht *d, const struct hy_id *key, const struct hy_value *v,
    bool permanent, hy_dht_put_cb *cb, void *arg, uint64_t now_ms,
    uint64_t *handle)
{
	return hy_dht_put_cas(d, key, v, permanent, 0, cb, arg, now_ms, handle);
}

int
hy_dht_put_cas(struct hy_dht *d, const struct hy_id *key,
    const struct hy_value *v, bool permanent, uint64_t cas, hy_dht_put_cb *cb,
    void *arg, uint64_t now_ms, uint64_t *handle)
{
	struct hy_dht_op *op;
	uint64_t h;
	int err = HY_EINVAL;

	if (d == NULL || key == NULL || v == NULL || v->ttl_s == 0 ||
	    v->ttl_s > HY_VALUE_TTL_MAX ||
	    v->data.len > (d->cfg.path == HY_PATH_TLS ? HY_VALUE_MAX
	                                              : HY_VALUE_DGRAM_MAX) ||
	    (v->data.len > 0 && v->data.ptr == NULL) ||
	    v->salt.len > HY_SALT_MAX ||
	    (!v->is_mutable && v->id == HY_STORE_MUTABLE_ID) ||
	    (v->is_mutable && hy_dht_verify_mutable(d, key, v) != HY_OK))
		goto out;
	if ((err = store_fits(d, key, v)) != HY_OK)
		goto out;
	err = HY_EFULL;
	if ((op = hy_dht_op_alloc(d, HY_DK_PUT, key, now_ms, &h)) == NULL) {
		d->stats.ops_refused++;
		goto out;
	}
	op->put_cb = cb;
	op->arg = arg;
	op->permanent = permanent;
	op->cas = v->is_mutable ? cas : 0;
	op->vals = calloc(1, sizeof(*op->vals));
	if (op->vals == NULL || hy_dht_val_copy(&op->vals[0], v) != HY_OK) {
		hy_dht_op_release(d, op);
		err = HY_ENOMEM;
		goto out;
	}
	op->nvals = 1;
	if ((err = hy_dht_op_start(d, op, now_ms)) == HY_OK && handle != NULL)
		*handle = h;
out:
	return err;
}

static int
start_read(struct hy_dht *d, enum hy_dht_kind kind, const struct hy_id *key,
    hy_dht_get_cb *gcb, hy_dht_peers_cb *pcb, void *arg, uint64_t now_ms,
    uint64_t *handle)
{
	struct hy_dht_op *op;
	uint64_t h;
	int err = HY_EINVAL;

	if (d == NULL || key == NULL || (gcb == NULL && pcb == NULL))
		goto out;
	err = HY_EFULL;
	if ((op = hy_dht_op_alloc(d, kind, key, now_ms, &h)) == NULL) {
		d->stats.ops_refused++;
		goto out;
	}
	op->get_cb = gcb;
	op->peers_cb = pcb;
	op->arg = arg;
	if ((err = hy_dht_op_start(d, op, now_ms)) == HY_OK && handle != NULL)
		*handle = h;
out:
	return err;
}

int
hy_dht_get(struct hy_dht *d, const struct hy_id *key, hy_dht_get_cb *cb,
    void *arg, uint64_t now_ms, uint64_t *handle)
{
	return start_read(d, HY_DK_GET, key, cb, NULL, arg, now_ms, handle);
}

int
hy_dht_get_peers(struct hy_dht *d, const struct hy_id *key, hy_dht_peers_cb *cb,
    void *arg, uint64_t now_ms, uint64_t *handle)
{
	return start_read(d, HY_DK_GET_PEERS, key, NULL, cb, arg, now_ms,
	    handle);
}

int
hy_dht_announce(struct hy_dht *d, const struct hy_id *key, uint16_t port,
    bool seed, hy_dht_put_cb *cb, void *arg, uint64_t now_ms, uint64_t *handle)
{
	struct hy_dht_op *op;
	uint64_t h;
	int err = HY_EINVAL;

	if (d == NULL || key == NULL)
		goto out;
	err = HY_EFULL;
	if ((op = hy_dht_op_alloc(d, HY_DK_ANNOUNCE, key, now_ms, &h)) ==
	    NULL) {
		d->stats.ops_refused++;
		goto out;
	}
	op->put_cb = cb;
	op->arg = arg;
	op->port = port;
	op->seed = seed;
	if ((err = hy_dht_op_start(d, op, now_ms)) == HY_OK && handle != NULL)
		*handle = h;
out:
	return err;
}

int
hy_dht_cancel(struct hy_dht *d, uint64_t handle)
{
	uint32_t idx = (uint32_t)(handle & 0xffffffffu);
	struct hy_dht_op *op;

	if (d == NULL || idx == 0 || idx > d->cfg.max_ops)
		return HY_ENOENT;
	op = &d->ops[idx - 1];
	if (op->phase == HY_DP_FREE || op->gen != (uint32_t)(handle >> 32) ||
	    kind_internal(op->kind))
		return HY_ENOENT;
	hy_dht_op_release(d, op);
	return HY_OK;
}
