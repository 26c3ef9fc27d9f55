/*
 * dht-serve.c: answering requests (L4): PING, FIND_NODE, FIND_VALUE, STORE,
 * ANNOUNCE_PEER, GET_PEERS (PROTOCOL.md §6.1; Kademlia §2.3; BEP 5; BEP 44).
 *
 * Every request gets exactly one reply through host->reply: the listed one
 * or ERROR with the code of PROTOCOL.md §7. Other request types (gossip
 * PROBE, PROBE_REQ) are not the DHT's: they are counted and dropped, the
 * facade routes them elsewhere.
 *
 * Replies are sized for cfg.path: contacts are the k closest (without the
 * requester, filtered by `want`), values as many as fit the path's
 * envelope cap (checked by encoding; `more` says some were left out), and
 * when values and contacts do not fit together the contacts go first
 * (PROTOCOL.md allows empty nodes when values are returned).
 *
 * Writes need a token issued to the same node ID and IP (dht.c): STORE one
 * from a VALUES reply, ANNOUNCE_PEER one from a PEERS reply; a mutable value
 * must be keyed SHA-256(owner || salt) and carry a valid BEP 44-style signature
 * over hy_value_tbs. The store is charged to the requester (its quota per
 * source).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dht-internal.h"

static void
send_reply(struct hy_dht *d, const struct hy_msg *req, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *rep)
{
	rep->txid = req->txid;
	if (rep->type == HY_MSG_ERROR) {
		uint64_t c = rep->body.error.code;

		d->stats.refused[c < 11 ? c : 0]++;
	} else
		d->stats.served[req->type & 0x1f]++;
	if (d->host.reply(d->host.ctx, req, to, to_id, rep) != HY_OK)
		d->stats.reply_failed++;
}

static void
send_error(struct hy_dht *d, const struct hy_msg *req, const struct hy_addr *to,
    const struct hy_id *to_id, unsigned code)
{
	struct hy_msg rep;

	hy_dht_msg_init(d, &rep, HY_MSG_ERROR, req->txid);
	rep.body.error.code = code;
	send_reply(d, req, to, to_id, &rep);
}

/* The k closest contacts to target for requester (excluded), by want. */
static uint32_t
closest(struct hy_dht *d, const struct hy_id *target,
    const struct hy_id *requester, unsigned mask, struct hy_contact *out,
    uint64_t now_ms)
{
	struct hy_rtable_contact c[HY_NODES_MAX + 1];
	size_t n = hy_rtable_closest(d->rt, target, d->cfg.k + 1, c,
	    HY_RTABLE_NO_BAD, now_ms);
	uint32_t m = 0;

	for (size_t i = 0; i < n && m < d->cfg.k; i++) {
		if (hy_id_eq(&c[i].id, requester) ||
		    !hy_dht_family_ok(mask, &c[i].addr))
			continue;
		out[m].id = c[i].id;
		out[m].addr = c[i].addr;
		m++;
	}
	return m;
}

/* Does rep fit the configured path? */
static bool
fits(const struct hy_dht *d, const struct hy_msg *rep, uint8_t *buf, size_t cap)
{
	size_t len;

	return hy_msg_encode(rep, d->cfg.path, buf, cap, &len) == HY_OK;
}

static void
serve_find_value(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms)
{
	const struct hy_body_find_value *b = &req->body.find_value;
	struct hy_store_value sv[HY_VALUES_MAX];
	struct hy_body_values *r;
	struct hy_msg *rep = NULL;
	uint8_t *buf = NULL, tok[HY_DHT_TOKEN_LEN];
	size_t cap = hy_wire_envelope_cap(d->cfg.path), nv, total;
	unsigned maxv = (unsigned)b->max_values;

	rep = malloc(sizeof(*rep));
	buf = malloc(cap);
	if (rep == NULL || buf == NULL ||
	    hy_dht_token(d, HY_MSG_VALUES, from_id, from, now_ms, tok) !=
	        HY_OK) {
		send_error(d, req, from, from_id, HY_WERR_INTERNAL);
		goto out;
	}
	if (maxv == 0 || maxv > HY_VALUES_MAX)
		maxv = HY_VALUES_MAX;
	hy_dht_msg_init(d, rep, HY_MSG_VALUES, req->txid);
	r = &rep->body.values;
	r->token.ptr = tok;
	r->token.len = sizeof(tok);
	r->n_nodes = closest(d, &b->key, from_id,
	    hy_dht_want_mask((unsigned)b->want, from), r->nodes, now_ms);
	total = hy_store_count(d->st, &b->key, now_ms);
	nv = hy_store_get(d->st, &b->key, now_ms, sv, maxv);
	for (size_t i = 0; i < nv; i++)
		hy_dht_value_from_store(&sv[i], &r->values[i]);
	r->n_values = (uint32_t)nv;
	r->more = nv < total;
	if (!fits(d, rep, buf, cap) && nv > 0) {
		r->n_nodes = 0; /* values first (PROTOCOL.md §6.1) */
		while (r->n_values > 0 && !fits(d, rep, buf, cap)) {
			r->n_values--;
			r->more = true;
		}
	}
	send_reply(d, req, from, from_id, rep);
out:
	free(rep);
	free(buf);
}

/*
 * BEP 44 checks of a mutable value under key: key == SHA-256(owner ||
 * salt), and (with verify_mutable) the owner's signature over
 * hy_value_tbs. Returns 0, HY_EMALFORMED (either check failed) or
 * HY_ENOMEM.
 */
int
hy_dht_verify_mutable(const struct hy_dht *d, const struct hy_id *key,
    const struct hy_value *v)
{
	struct hy_span sp[2];
	uint8_t h[HY_SHA256_LEN], *tbs = NULL;
	size_t cap = v->data.len + v->salt.len + 64, len;
	int err = HY_EMALFORMED;

	sp[0] = (struct hy_span){ v->owner, HY_PUBKEY_LEN };
	sp[1] = (struct hy_span){ v->salt.ptr, v->salt.len };
	if (hy_sha256v(sp, 2, h) != HY_OK || memcmp(h, key->b, HY_ID_LEN) != 0)
		goto out;
	if (!d->cfg.verify_mutable) {
		err = HY_OK;
		goto out;
	}
	tbs = malloc(cap);
	if (tbs == NULL) {
		err = HY_ENOMEM;
		goto out;
	}
	if (hy_value_tbs(v, tbs, cap, &len) != HY_OK ||
	    hy_verify(v->owner, HY_MUTABLE_SIG_CTX, tbs, len, v->sig) != HY_OK)
		goto out;
	err = HY_OK;
out:
	free(tbs);
	return err;
}

/* Map a store refusal to a wire ERROR code. */
static unsigned
store_errcode(int err, bool is_mutable)
{
	switch (err) {
	case HY_EFULL:
		return HY_WERR_STORE_FULL;
	case HY_ETOOBIG:
		return HY_WERR_TOO_LARGE;
	case HY_EEXIST:
		return HY_WERR_CONFLICT; /* CAS mismatch / id taken */
	case HY_ERANGE:
		return is_mutable ? HY_WERR_CONFLICT : HY_WERR_MALFORMED;
	case HY_EINVAL:
	case HY_EMALFORMED:
		return HY_WERR_MALFORMED;
	default:
		return HY_WERR_INTERNAL;
	}
}

/* Store a checked mutable value; returns a store error code. */
static int
put_mutable(struct hy_dht *d, const struct hy_body_store *b, uint32_t ttl,
    const struct hy_id *from_id, uint64_t now_ms)
{
	const struct hy_value *v = &b->value;
	struct hy_store_mutable_args a;

	memset(&a, 0, sizeof(a));
	a.key = b->key;
	a.data = v->data.ptr;
	a.len = v->data.len;
	a.ttl_s = ttl;
	a.flags = (uint32_t)v->flags;
	a.source = *from_id;
	memcpy(a.m.pub, v->owner, HY_PUBKEY_LEN);
	if (v->salt.len > 0)
		memcpy(a.m.salt, v->salt.ptr, v->salt.len);
	a.m.salt_len = v->salt.len;
	a.m.seq = v->seq;
	memcpy(a.m.sig, v->sig, HY_SIG_LEN);
	a.cas = b->cas;
	return hy_store_put_mutable(d->st, &a, now_ms);
}

/* Store a plain value; returns a store error code. */
static int
put_plain(struct hy_dht *d, const struct hy_body_store *b, uint32_t ttl,
    const struct hy_id *from_id, uint64_t now_ms)
{
	const struct hy_value *v = &b->value;
	struct hy_store_put_args a;

	memset(&a, 0, sizeof(a));
	a.key = b->key;
	a.id = v->id;
	a.data = v->data.ptr;
	a.len = v->data.len;
	a.ttl_s = ttl;
	a.flags = (uint32_t)v->flags;
	a.source = *from_id;
	return hy_store_put(d->st, &a, now_ms);
}

static void
serve_store(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms)
{
	const struct hy_body_store *b = &req->body.store;
	const struct hy_value *v = &b->value;
	struct hy_msg rep;
	unsigned code = 0;
	uint32_t ttl;
	int err;

	if (!hy_dht_token_ok(d, HY_MSG_VALUES, from_id, from, b->token.ptr,
	        b->token.len, now_ms)) {
		code = HY_WERR_BAD_TOKEN;
		goto out;
	}
	if (v->data.len > d->cfg.store.max_value_len) {
		code = HY_WERR_TOO_LARGE;
		goto out;
	}
	if (v->ttl_s == 0 || v->salt.len > HY_STORE_SALT_MAX ||
	    (!v->is_mutable && b->cas != 0) ||
	    (!v->is_mutable && v->id == HY_STORE_MUTABLE_ID)) {
		code = HY_WERR_MALFORMED;
		goto out;
	}
	/* A TTL over our maximum is kept for as long as we allow. */
	ttl = v->ttl_s > d->cfg.store.max_ttl_s ? d->cfg.store.max_ttl_s
	                                        : (uint32_t)v->ttl_s;
	if (v->is_mutable) {
		err = hy_dht_verify_mutable(d, &b->key, v);
		if (err != HY_OK) {
			code = err == HY_ENOMEM ? HY_WERR_INTERNAL
			                        : HY_WERR_MALFORMED;
			goto out;
		}
		err = put_mutable(d, b, ttl, from_id, now_ms);
	} else
		err = put_plain(d, b, ttl, from_id, now_ms);
	if (err != HY_OK)
		code = store_errcode(err, v->is_mutable);
out:
	if (code != 0)
		send_error(d, req, from, from_id, code);
	else {
		hy_dht_msg_init(d, &rep, HY_MSG_STORED, req->txid);
		rep.body.stored.key = b->key;
		send_reply(d, req, from, from_id, &rep);
	}
}

static void
serve_announce(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms)
{
	const struct hy_body_announce_peer *b = &req->body.announce_peer;
	struct hy_addr pa = *from;
	struct hy_msg rep;
	unsigned code = 0;
	int err;

	if (!hy_dht_token_ok(d, HY_MSG_PEERS, from_id, from, b->token.ptr,
	        b->token.len, now_ms)) {
		code = HY_WERR_BAD_TOKEN;
		goto out;
	}
	if (b->port != 0)
		pa.port = (uint16_t)b->port;
	err = hy_store_announce(d->st, &b->key, &pa, from_id, b->seed, now_ms);
	if (err != HY_OK)
		code = store_errcode(err, false);
out:
	if (code != 0)
		send_error(d, req, from, from_id, code);
	else {
		hy_dht_msg_init(d, &rep, HY_MSG_ANNOUNCED, req->txid);
		rep.body.announced.key = b->key;
		send_reply(d, req, from, from_id, &rep);
	}
}

static void
serve_get_peers(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms)
{
	const struct hy_body_get_peers *b = &req->body.get_peers;
	struct hy_store_peer sp[HY_PEERS_MAX];
	struct hy_body_peers *r;
	struct hy_msg *rep = NULL;
	uint8_t *buf = NULL, tok[HY_DHT_TOKEN_LEN];
	size_t cap = hy_wire_envelope_cap(d->cfg.path), n;
	unsigned mask = hy_dht_want_mask((unsigned)b->want, from);

	rep = malloc(sizeof(*rep));
	buf = malloc(cap);
	if (rep == NULL || buf == NULL ||
	    hy_dht_token(d, HY_MSG_PEERS, from_id, from, now_ms, tok) !=
	        HY_OK) {
		send_error(d, req, from, from_id, HY_WERR_INTERNAL);
		goto out;
	}
	hy_dht_msg_init(d, rep, HY_MSG_PEERS, req->txid);
	r = &rep->body.peers;
	r->token.ptr = tok;
	r->token.len = sizeof(tok);
	r->n_nodes = closest(d, &b->key, from_id, mask, r->nodes, now_ms);
	n = hy_store_get_peers(d->st, &b->key, now_ms, sp, HY_PEERS_MAX,
	    &d->rng);
	for (size_t i = 0; i < n; i++)
		if (hy_dht_family_ok(mask, &sp[i].addr))
			r->peers[r->n_peers++] = sp[i].addr;
	if (!fits(d, rep, buf, cap) && r->n_peers > 0) {
		r->n_nodes = 0;
		while (r->n_peers > 0 && !fits(d, rep, buf, cap))
			r->n_peers--;
	}
	send_reply(d, req, from, from_id, rep);
out:
	free(rep);
	free(buf);
}

/*
 * Answer req (a request type; dht.c has fed the rtable). Unknown and
 * non-DHT types are counted in bad_requests and dropped.
 */
void
hy_dht_serve(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms)
{
	struct hy_msg rep;

	switch (req->type) {
	case HY_MSG_PING:
		hy_dht_msg_init(d, &rep, HY_MSG_PONG, req->txid);
		rep.body.pong.observed = *from;
		send_reply(d, req, from, from_id, &rep);
		break;
	case HY_MSG_FIND_NODE:
		hy_dht_msg_init(d, &rep, HY_MSG_NODES, req->txid);
		rep.body.nodes.n_nodes = closest(d, &req->body.find_node.target,
		    from_id,
		    hy_dht_want_mask((unsigned)req->body.find_node.want, from),
		    rep.body.nodes.nodes, now_ms);
		send_reply(d, req, from, from_id, &rep);
		break;
	case HY_MSG_FIND_VALUE:
		serve_find_value(d, req, from, from_id, now_ms);
		break;
	case HY_MSG_STORE:
		serve_store(d, req, from, from_id, now_ms);
		break;
	case HY_MSG_ANNOUNCE_PEER:
		serve_announce(d, req, from, from_id, now_ms);
		break;
	case HY_MSG_GET_PEERS:
		serve_get_peers(d, req, from, from_id, now_ms);
		break;
	default:
		d->stats.bad_requests++;
		break;
	}
}
