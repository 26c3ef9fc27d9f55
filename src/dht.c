/*
 * dht.c: the DHT node core (L4): configuration, the pending-request table
 * behind the host's request callback, write tokens, and the entry points
 * that dispatch to dht-serve.c (answering), dht-ops.c (put/get/announce/
 * get_peers) and dht-maint.c (routing maintenance, replication).
 *
 * Sans-I/O (DESIGN.md §4): nothing here sends or reads a clock; the host
 * implements struct hy_dht_host and passes now_ms in. Deterministic for a
 * given secret, rng seed and input sequence.
 *
 * Pending requests. Every request the DHT hands to host->request gets a
 * slot in a table of cfg.max_pending entries; the cookie is the slot index
 * + 1 in the low 32 bits and the slot's generation in the high 32, so a
 * cookie for a freed or reused slot is recognised as stale and ignored.
 * Invariant: a slot is used exactly between a successful host->request and
 * the matching hy_dht_on_response (or hy_dht_free).
 *
 * Tokens (PROTOCOL.md §5.5, BEP 5). token = the first HY_DHT_TOKEN_LEN
 * bytes of SHA-256(secret || type || epoch || requester ID || family ||
 * IP), type being the reply that carries it (VALUES tokens are good for
 * STORE, PEERS tokens for ANNOUNCE_PEER), epoch = now / token_rotate_ms. The
 * current and the previous epoch are accepted, so a token lives between one and
 * two rotation periods (5..10 minutes by default), bound to the requester's ID
 * and IP address. No state is kept per token.
 *
 * Rtable feeding: every request heard is hy_rtable_heard(QUERY); every
 * reply to one of our requests (ERROR included: the peer is alive) is
 * hy_rtable_heard(REPLY); every failure of a request to a known ID is
 * hy_rtable_failed. A contact that newly enters the table may trigger a
 * hand-over of stored keys (dht-maint.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dht-internal.h"

void
hy_dht_config_default(struct hy_dht_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->network, "hypha", 6);
	cfg->k = 20;
	hy_rtable_config_default(&cfg->rtable);
	hy_store_config_default(&cfg->store);
	hy_lookup_config_default(&cfg->lookup);
	cfg->max_ops = 256;
	cfg->max_maint_ops = 64;
	cfg->max_pending = 4096;
	cfg->get_enough_values = 1;
	cfg->path = HY_PATH_DGRAM;
	cfg->token_rotate_ms = 5 * 60 * 1000;
	cfg->republish_pct = 80;
	cfg->replicate_ms = 3600 * 1000;
	cfg->handover = true;
	cfg->max_handover = 256;
	cfg->handover_scan_max = 1024;
	cfg->verify_mutable = true;
	cfg->maint_ms = 1000;
}

static int
config_check(const struct hy_dht_config *c)
{
	int err = HY_EINVAL;

	if (c->network[0] == '\0' || c->k == 0 || c->k > HY_NODES_MAX)
		goto out;
	if (c->max_ops == 0 || c->max_ops > HY_DHT_OPS_MAX ||
	    c->max_maint_ops > c->max_ops)
		goto out;
	if (c->max_pending == 0 || c->max_pending > HY_DHT_PENDING_MAX)
		goto out;
	if (c->path > HY_PATH_TLS || c->token_rotate_ms == 0 ||
	    c->republish_pct == 0 || c->republish_pct > 100 ||
	    c->maint_ms == 0 || (c->handover && c->max_handover == 0) ||
	    c->max_handover > HY_DHT_OPS_MAX)
		goto out;
	err = HY_OK;
out:
	return err;
}

int
hy_dht_new(struct hy_dht **out, const struct hy_id *self,
    const struct hy_dht_config *cfg, const struct hy_dht_host *host,
    const uint8_t secret[HY_DHT_SECRET_LEN], uint64_t rng_seed, uint64_t now_ms)
{
	struct hy_dht *d = NULL;
	int err = HY_EINVAL;

	if (out == NULL || self == NULL || hy_id_is_zero(self) ||
	    host == NULL || host->request == NULL || host->reply == NULL ||
	    secret == NULL)
		goto out;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		err = HY_ENOMEM;
		goto out;
	}
	if (cfg != NULL)
		d->cfg = *cfg;
	else
		hy_dht_config_default(&d->cfg);
	d->cfg.network[HY_NETWORK_MAX] = '\0';
	if ((err = config_check(&d->cfg)) != HY_OK)
		goto out;
	d->cfg.rtable.k = d->cfg.k;
	d->cfg.lookup.k = d->cfg.k;
	d->host = *host;
	d->self = *self;
	memcpy(d->secret, secret, HY_DHT_SECRET_LEN);
	hy_rng_seed(&d->rng, rng_seed);
	if ((err = hy_rtable_new(&d->rt, self, &d->cfg.rtable, now_ms)) !=
	    HY_OK)
		goto out;
	if ((err = hy_store_new(&d->st, &d->cfg.store)) != HY_OK)
		goto out;
	err = HY_ENOMEM;
	d->ops = calloc(d->cfg.max_ops, sizeof(*d->ops));
	d->pend = calloc(d->cfg.max_pending, sizeof(*d->pend));
	d->pend_free = calloc(d->cfg.max_pending, sizeof(*d->pend_free));
	d->hand = calloc(d->cfg.max_handover ? d->cfg.max_handover : 1,
	    sizeof(*d->hand));
	if (d->ops == NULL || d->pend == NULL || d->pend_free == NULL ||
	    d->hand == NULL)
		goto out;
	for (unsigned i = 0; i < d->cfg.max_pending; i++)
		d->pend_free[i] = d->cfg.max_pending - 1 - i;
	d->npend_free = d->cfg.max_pending;
	/* Spread the nodes' maintenance phases. */
	d->next_maint_ms = now_ms + hy_rng_below(&d->rng, d->cfg.maint_ms);
	if (d->cfg.replicate_ms > 0)
		d->next_replicate_ms = now_ms + d->cfg.replicate_ms / 2 +
		    hy_rng_below(&d->rng, d->cfg.replicate_ms / 2 + 1);
	else
		d->next_replicate_ms = UINT64_MAX;
	*out = d;
	d = NULL;
	err = HY_OK;
out:
	hy_dht_free(d);
	return err;
}

void
hy_dht_free(struct hy_dht *d)
{
	if (d == NULL)
		return;
	d->freeing = true;
	if (d->ops != NULL) {
		for (unsigned i = 0; i < d->ops_hi; i++) {
			struct hy_dht_op *op = &d->ops[i];

			if (op->phase == HY_DP_FREE)
				continue;
			if (op->put_cb != NULL && !op->first_round_done)
				op->put_cb(op->arg, HY_ECANCELED, op->stored_on,
				    &op->info);
			else if (op->get_cb != NULL)
				op->get_cb(op->arg, NULL, HY_DHT_CANCELED,
				    &op->info);
			else if (op->peers_cb != NULL)
				op->peers_cb(op->arg, NULL, 0, HY_DHT_CANCELED,
				    &op->info);
			hy_dht_op_release(d, op);
		}
	}
	hy_wipe(d->secret, sizeof(d->secret));
	hy_rtable_free(d->rt);
	hy_store_free(d->st);
	free(d->ops);
	free(d->pend);
	free(d->pend_free);
	free(d->hand);
	free(d);
}

/* ---- messages and pending requests -------------------------------------- */

void
hy_dht_msg_init(const struct hy_dht *d, struct hy_msg *m, unsigned type,
    uint32_t txid)
{
	/* The network was checked by the first successful init. */
	if (hy_msg_init(m, type, d->cfg.network, txid, &d->self) != HY_OK)
		memset(m, 0, sizeof(*m));
}

/*
 * Send req through the host with a pending slot describing p. Returns 0,
 * HY_EFULL (no pending slot) or the host's error; on error nothing is
 * pending and no response will come.
 */
int
hy_dht_send(struct hy_dht *d, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, const struct hy_dht_pend *p)
{
	struct hy_dht_pend *s;
	uint32_t idx;
	uint64_t cookie;
	int err;

	if (d->npend_free == 0) {
		d->stats.pending_full++;
		err = HY_EFULL;
		goto out;
	}
	idx = d->pend_free[--d->npend_free];
	s = &d->pend[idx];
	{
		uint32_t gen = s->gen;

		*s = *p;
		s->gen = gen;
	}
	s->used = 1;
	s->type = req->type;
	s->to = *to;
	s->has_id = to_id != NULL;
	if (to_id != NULL)
		s->to_id = *to_id;
	cookie = (uint64_t)s->gen << 32 | (uint64_t)(idx + 1);
	err = d->host.request(d->host.ctx, to, to_id, req, cookie);
	if (err != HY_OK) {
		s->used = 0;
		s->gen++;
		d->pend_free[d->npend_free++] = idx;
		d->stats.requests_failed++;
		if (err > 0)
			err = HY_EIO;
		goto out;
	}
	d->stats.requests_sent++;
	err = HY_OK;
out:
	return err;
}

void
hy_dht_heard(struct hy_dht *d, const struct hy_id *id,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms)
{
	int r = hy_rtable_heard(d->rt, id, addr, how, now_ms);

	if (r == HY_RTABLE_ADDED && d->cfg.handover)
		hy_dht_handover_check(d, id, addr, now_ms);
}

unsigned
hy_dht_want_mask(unsigned want, const struct hy_addr *from)
{
	want &= 3u;
	if (want == 0)
		want = from->family == HY_AF_INET6 ? 2u : 1u;
	return want;
}

bool
hy_dht_family_ok(unsigned mask, const struct hy_addr *a)
{
	return (a->family == HY_AF_INET && (mask & 1u)) ||
	    (a->family == HY_AF_INET6 && (mask & 2u));
}

void
hy_dht_on_request(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms)
{
	if (d == NULL || req == NULL || from == NULL)
		return;
	if (from_id == NULL)
		from_id = &req->sender;
	if (hy_msg_kind_of(req->type) != HY_MK_REQ) {
		d->stats.bad_requests++;
		return;
	}
	hy_dht_heard(d, from_id, from, HY_RTABLE_QUERY, now_ms);
	hy_dht_serve(d, req, from, from_id, now_ms);
}

void
hy_dht_on_response(struct hy_dht *d, uint64_t cookie, int err,
    const struct hy_msg *reply, const struct hy_addr *from, uint64_t now_ms)
{
	struct hy_dht_pend p;
	uint32_t idx = (uint32_t)(cookie & 0xffffffffu);

	if (d == NULL || idx == 0 || idx > d->cfg.max_pending)
		return;
	idx--;
	if (!d->pend[idx].used || d->pend[idx].gen != (uint32_t)(cookie >> 32))
		return;
	p = d->pend[idx];
	d->pend[idx].used = 0;
	d->pend[idx].gen++;
	d->pend_free[d->npend_free++] = idx;
	if (err == HY_OK && reply == NULL)
		err = HY_EINVAL;
	if (err == HY_OK && reply->type != HY_MSG_ERROR &&
	    reply->type != hy_msg_peer_type(p.type)) {
		d->stats.bad_replies++;
		err = HY_EMALFORMED;
	}
	if (err == HY_OK && p.has_id && !hy_id_eq(&reply->sender, &p.to_id)) {
		d->stats.bad_replies++;
		err = HY_EIDMISMATCH;
	}
	if (from == NULL)
		from = &p.to;
	if (err == HY_OK)
		hy_dht_heard(d, &reply->sender, from, HY_RTABLE_REPLY, now_ms);
	else {
		d->stats.requests_failed++;
		if (p.has_id &&
		    (d->host.contact_failed == NULL ||
		        !d->host.contact_failed(d->host.ctx, &p.to_id, &p.to)))
			(void)hy_rtable_failed(d->rt, &p.to_id, now_ms);
	}
	switch (p.purpose) {
	case HY_PP_LOOKUP:
	case HY_PP_STORE:
	case HY_PP_BOOT:
		hy_dht_op_response(d, &p, err, err == HY_OK ? reply : NULL,
		    from, now_ms);
		break;
	default:
		hy_dht_maint_response(d, &p, err, err == HY_OK ? reply : NULL,
		    from, now_ms);
		break;
	}
	hy_dht_flush(d);
}

uint64_t
hy_dht_tick(struct hy_dht *d, uint64_t now_ms)
{
	if (d == NULL)
		return UINT64_MAX;
	if (hy_store_next_expiry(d->st) <= now_ms)
		(void)hy_store_expire(d->st, now_ms);
	for (unsigned i = 0; i < d->ops_hi; i++)
		if (d->ops[i].phase != HY_DP_FREE)
			hy_dht_op_tick(d, &d->ops[i], now_ms);
	hy_dht_maint(d, now_ms);
	hy_dht_flush(d);
	return hy_dht_next_deadline(d);
}

uint64_t
hy_dht_next_deadline(const struct hy_dht *d)
{
	uint64_t t = d->next_maint_ms, x;

	if (d->ndone > 0)
		return 0; /* callbacks to fire: tick at once */
	x = hy_store_next_expiry(d->st);
	if (x < t)
		t = x;
	for (unsigned i = 0; i < d->ops_hi; i++) {
		if (d->ops[i].phase == HY_DP_FREE)
			continue;
		x = hy_dht_op_deadline(&d->ops[i]);
		if (x < t)
			t = x;
	}
	return t;
}

/* ---- tokens ---------------------------------------------------------------
 */

static int
token_at(const struct hy_dht *d, unsigned type, const struct hy_id *id,
    const struct hy_addr *ip, uint64_t epoch, uint8_t out[HY_DHT_TOKEN_LEN])
{
	uint8_t e[9], h[HY_SHA256_LEN];
	struct hy_span v[5];
	int err;

	e[0] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		e[1 + i] = (uint8_t)(epoch >> (56 - 8 * i));
	v[0] = (struct hy_span){ d->secret, sizeof(d->secret) };
	v[1] = (struct hy_span){ e, sizeof(e) };
	v[2] = (struct hy_span){ id->b, HY_ID_LEN };
	v[3] = (struct hy_span){ &ip->family, 1 };
	v[4] = (struct hy_span){ ip->ip, sizeof(ip->ip) };
	err = hy_sha256v(v, 5, h);
	if (err == HY_OK)
		memcpy(out, h, HY_DHT_TOKEN_LEN);
	return err;
}

int
hy_dht_token(const struct hy_dht *d, unsigned type, const struct hy_id *id,
    const struct hy_addr *ip, uint64_t now_ms, uint8_t out[HY_DHT_TOKEN_LEN])
{
	return token_at(d, type, id, ip, now_ms / d->cfg.token_rotate_ms, out);
}

bool
hy_dht_token_ok(const struct hy_dht *d, unsigned type, const struct hy_id *id,
    const struct hy_addr *ip, const uint8_t *tok, size_t len, uint64_t now_ms)
{
	uint8_t t[HY_DHT_TOKEN_LEN];
	uint64_t e = now_ms / d->cfg.token_rotate_ms;

	if (tok == NULL || len != HY_DHT_TOKEN_LEN)
		return false;
	if (token_at(d, type, id, ip, e, t) == HY_OK &&
	    hy_ct_eq(t, tok, HY_DHT_TOKEN_LEN))
		return true;
	return e > 0 && token_at(d, type, id, ip, e - 1, t) == HY_OK &&
	    hy_ct_eq(t, tok, HY_DHT_TOKEN_LEN);
}

/* ---- accessors ------------------------------------------------------------
 */

bool
hy_dht_joined(const struct hy_dht *d, uint64_t now_ms)
{
	struct hy_rtable_stats st;

	hy_rtable_stats(d->rt, now_ms, &st);
	return st.good > 0;
}

void
hy_dht_get_stats(const struct hy_dht *d, uint64_t now_ms,
    struct hy_dht_stats *out)
{
	*out = d->stats;
	hy_rtable_stats(d->rt, now_ms, &out->rtable);
	hy_store_get_stats(d->st, &out->store);
}

const struct hy_id *
hy_dht_self(const struct hy_dht *d)
{
	return &d->self;
}

struct hy_rtable *
hy_dht_rtable(struct hy_dht *d)
{
	return d->rt;
}

struct hy_store *
hy_dht_store(struct hy_dht *d)
{
	return d->st;
}

size_t
hy_dht_ops_alive(const struct hy_dht *d)
{
	return d->nops;
}

size_t
hy_dht_pending(const struct hy_dht *d)
{
	return d->cfg.max_pending - d->npend_free;
}

void
hy_dht_value_from_store(const struct hy_store_value *sv, struct hy_value *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sv->id;
	v->ttl_s = (sv->remaining_ms + 999) / 1000;
	if (v->ttl_s == 0)
		v->ttl_s = 1;
	v->data.ptr = sv->data;
	v->data.len = sv->len;
	v->flags = sv->flags;
	if (sv->is_mutable) {
		v->is_mutable = true;
		memcpy(v->owner, sv->mut->pub, HY_PUBKEY_LEN);
		v->salt.ptr = sv->mut->salt;
		v->salt.len = sv->mut->salt_len;
		v->seq = sv->mut->seq;
		memcpy(v->sig, sv->mut->sig, HY_SIG_LEN);
	}
}
