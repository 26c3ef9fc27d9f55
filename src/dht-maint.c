/*
 * dht-maint.c: routing-table maintenance, join, replication and hand-over
 * (L4).
 *
 * Sources. BEP 5 "Routing Table": a full bucket pings its questionable
 * least-recently-seen contacts before a new node may take one's place
 * (hy_rtable_want_pings -> PING; the result goes back as heard/failed in
 * dht.c). Kademlia §2.3: buckets not looked up for refresh_ms are
 * refreshed by a FIND_NODE lookup of a random ID in their range
 * (hy_rtable_refresh_due); a joining node looks up its own ID through a
 * seed. Kademlia §2.5: a node holding a key re-stores it to the key's k
 * closest nodes every replicate_ms unless someone re-stored it to us within
 * that time (the store's expiry minus its TTL says when the last extending
 * put happened), and when a new contact becomes one of the k closest to a
 * stored key, the key's values are stored to it directly (hand-over).
 *
 * Bounds: pings and refresh targets per tick are capped by fixed arrays;
 * a new contact is compared with at most handover_scan_max stored keys;
 * refresh, bootstrap and replication lookups share cfg.max_maint_ops op
 * slots; hand-overs wait in a ring of cfg.max_handover entries (new ones
 * are dropped when it is full) and each needs a FIND_VALUE (for the
 * token) then one STORE per value. Replicated values carry their
 * remaining TTL, so a replica never extends a value's life.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dht-internal.h"

#define PINGS_PER_TICK 16
#define REFRESH_PER_TICK 8
#define REPL_VALUES_MAX 16

static void
send_ping(struct hy_dht *d, const struct hy_rtable_contact *c)
{
	struct hy_dht_pend p;
	struct hy_msg m;

	memset(&p, 0, sizeof(p));
	p.purpose = HY_PP_PING;
	hy_dht_msg_init(d, &m, HY_MSG_PING, 0);
	d->stats.pings_sent++;
	(void)hy_dht_send(d, &c->addr, &c->id, &m, &p);
}

int
hy_dht_ping(struct hy_dht *d, const struct hy_addr *to, const struct hy_id *id,
    uint64_t now_ms)
{
	struct hy_rtable_contact c;
	struct hy_dht_pend p;
	struct hy_msg m;

	(void)now_ms;
	if (d == NULL || to == NULL || id == NULL || hy_id_is_zero(id) ||
	    hy_id_eq(id, &d->self))
		return HY_EINVAL;
	if (hy_rtable_find(d->rt, id, &c) == HY_OK &&
	    (c.flags & HY_RTABLE_F_REPLIED) != 0)
		return HY_EEXIST;
	memset(&p, 0, sizeof(p));
	p.purpose = HY_PP_PING;
	hy_dht_msg_init(d, &m, HY_MSG_PING, 0);
	d->stats.pings_sent++;
	return hy_dht_send(d, to, id, &m, &p);
}

int
hy_dht_bootstrap(struct hy_dht *d, const struct hy_addr *seeds, size_t n,
    uint64_t now_ms)
{
	struct hy_dht_op *op;
	int err = HY_EINVAL;

	if (d == NULL || seeds == NULL || n == 0)
		goto out;
	if (seeds != d->seeds) {
		/* Remembered: re-bootstrap while the table stays empty. */
		d->nseeds =
		    n < HY_DHT_SEEDS_MAX ? (unsigned)n : HY_DHT_SEEDS_MAX;
		memcpy(d->seeds, seeds, d->nseeds * sizeof(*seeds));
		d->boot_backoff_ms = HY_DHT_BOOT_RETRY_MIN_MS;
	}
	d->boot_retry_ms = now_ms + d->boot_backoff_ms;
	err = HY_EFULL;
	op = hy_dht_op_alloc(d, HY_DK_BOOT, &d->self, now_ms, NULL);
	if (op == NULL)
		goto out;
	if ((err = hy_dht_op_lookup(d, op, now_ms)) != HY_OK) {
		hy_dht_op_release(d, op);
		goto out;
	}
	d->stats.maint_lookups++;
	op->phase = HY_DP_BOOTWAIT;
	for (size_t i = 0; i < n; i++) {
		struct hy_dht_pend p;
		struct hy_msg m;

		memset(&p, 0, sizeof(p));
		p.purpose = HY_PP_BOOT;
		p.op = (uint32_t)(op - d->ops);
		p.op_gen = op->gen;
		hy_dht_msg_init(d, &m, HY_MSG_FIND_NODE, 0);
		m.body.find_node.target = d->self;
		if (hy_dht_send(d, &seeds[i], NULL, &m, &p) == HY_OK)
			op->out++;
	}
	if (op->out == 0) {
		/* Nothing sent: seeded from the table, if it has anything. */
		op->phase = HY_DP_LOOKUP;
		hy_dht_op_pump(d, op, now_ms);
	}
	err = HY_OK;
out:
	return err;
}

/* ---- hand-over ------------------------------------------------------------
 */

struct hand_ctx {
	struct hy_dht *d;
	const struct hy_id *id;
	const struct hy_addr *addr;
	uint64_t now_ms;
	unsigned scanned;
};

static int
hand_key(const struct hy_id *key, size_t nvalues, size_t npeers, void *arg)
{
	struct hand_ctx *h = arg;
	struct hy_dht *d = h->d;
	struct hy_rtable_contact c[HY_NODES_MAX];
	struct hy_dht_hand *e;
	size_t n;
	bool among = false;

	(void)npeers;
	if (nvalues == 0)
		return 0;
	if (d->hand_n >= d->cfg.max_handover ||
	    h->scanned++ >= d->cfg.handover_scan_max)
		return 1; /* full, or scanned enough: stop */
	/* Among the k closest of our contacts (self excluded)? */
	n = hy_rtable_closest(d->rt, key, d->cfg.k, c, HY_RTABLE_NO_BAD,
	    h->now_ms);
	for (size_t i = 0; i < n && !among; i++)
		among = hy_id_eq(&c[i].id, h->id);
	if (!among)
		return 0;
	/* Only if we are among its k closest too: we are a replica. */
	if (n == d->cfg.k && hy_id_cmp_dist(key, &d->self, &c[n - 1].id) > 0)
		return 0;
	e = &d->hand[(d->hand_head + d->hand_n) % d->cfg.max_handover];
	e->c.id = *h->id;
	e->c.addr = *h->addr;
	e->key = *key;
	d->hand_n++;
	return 0;
}

/* A contact entered the table: queue the keys it should now hold. */
void
hy_dht_handover_check(struct hy_dht *d, const struct hy_id *id,
    const struct hy_addr *addr, uint64_t now_ms)
{
	struct hand_ctx h = { d, id, addr, now_ms, 0 };

	if (hy_store_next_expiry(d->st) == UINT64_MAX)
		return; /* empty store */
	(void)hy_store_foreach_key(d->st, hand_key, &h);
}

static void
handover_run(struct hy_dht *d)
{
	while (d->hand_n > 0 && d->npend_free > 0) {
		struct hy_dht_hand *e = &d->hand[d->hand_head];
		struct hy_dht_pend p;
		struct hy_msg m;

		d->hand_head = (d->hand_head + 1) % d->cfg.max_handover;
		d->hand_n--;
		memset(&p, 0, sizeof(p));
		p.purpose = HY_PP_HAND_FV;
		p.key = e->key;
		hy_dht_msg_init(d, &m, HY_MSG_FIND_VALUE, 0);
		m.body.find_value.key = e->key;
		m.body.find_value.max_values = 1;
		(void)hy_dht_send(d, &e->c.addr, &e->c.id, &m, &p);
	}
}

struct hstore_ctx {
	struct hy_dht *d;
	const struct hy_msg *r;
	const struct hy_addr *to;
	uint64_t now_ms;
};

static int
hand_store_value(const struct hy_store_value *sv, void *arg)
{
	struct hstore_ctx *h = arg;
	struct hy_dht_pend p;
	struct hy_msg m;
	struct hy_value *v = &m.body.store.value;

	memset(&p, 0, sizeof(p));
	p.purpose = HY_PP_HAND_STORE;
	hy_dht_msg_init(h->d, &m, HY_MSG_STORE, 0);
	m.body.store.key = sv->key;
	m.body.store.token = h->r->body.values.token;
	/* a value with less than a second left is not worth handing over */
	if (sv->remaining_ms < 1000)
		return 0;
	hy_dht_value_from_store(sv, v);
	h->d->stats.handovers++;
	(void)hy_dht_send(h->d, h->to, &h->r->sender, &m, &p);
	return 0;
}

void
hy_dht_maint_response(struct hy_dht *d, const struct hy_dht_pend *p, int err,
    const struct hy_msg *reply, const struct hy_addr *from, uint64_t now_ms)
{
	struct hstore_ctx h = { d, reply, from, now_ms };

	if (p->purpose != HY_PP_HAND_FV || err != HY_OK ||
	    reply->type != HY_MSG_VALUES)
		return;
	(void)hy_store_foreach_value(d->st, &p->key, now_ms, hand_store_value,
	    &h);
}

/* ---- replication ----------------------------------------------------------
 */

struct repl_ctx {
	struct hy_dht *d;
	uint64_t now_ms;
	size_t idx;
	bool stopped;
};

/* Start a replication op for key when nobody re-stored it lately. */
static int
repl_key(const struct hy_id *key, size_t nvalues, size_t npeers, void *arg)
{
	struct repl_ctx *r = arg;
	struct hy_dht *d = r->d;
	struct hy_store_value sv[REPL_VALUES_MAX];
	struct hy_dht_op *op;
	uint64_t last = 0;
	size_t n;

	(void)npeers;
	if (r->idx++ < d->repl_cursor || nvalues == 0)
		return 0;
	n = hy_store_get(d->st, key, r->now_ms, sv, REPL_VALUES_MAX);
	for (size_t i = 0; i < n; i++) {
		uint64_t t = sv[i].expires_ms - (uint64_t)sv[i].ttl_s * 1000;

		if (sv[i].expires_ms >= (uint64_t)sv[i].ttl_s * 1000 &&
		    t > last)
			last = t;
	}
	d->repl_cursor = r->idx;
	if (n == 0 || last + d->cfg.replicate_ms > r->now_ms)
		return 0;
	op = hy_dht_op_alloc(d, HY_DK_REPLICATE, key, r->now_ms, NULL);
	if (op == NULL) {
		d->repl_cursor--; /* retry this key next tick */
		r->stopped = true;
		return 1;
	}
	op->vals = calloc(n, sizeof(*op->vals));
	if (op->vals == NULL) {
		hy_dht_op_release(d, op);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct hy_value v;

		memset(&v, 0, sizeof(v));
		v.id = sv[i].id;
		v.ttl_s = (sv[i].remaining_ms + 999) / 1000;
		v.data.ptr = sv[i].data;
		v.data.len = sv[i].len;
		v.flags = sv[i].flags;
		if (sv[i].is_mutable) {
			v.is_mutable = true;
			memcpy(v.owner, sv[i].mut->pub, HY_PUBKEY_LEN);
			v.salt.ptr = sv[i].mut->salt;
			v.salt.len = sv[i].mut->salt_len;
			v.seq = sv[i].mut->seq;
			memcpy(v.sig, sv[i].mut->sig, HY_SIG_LEN);
		}
		if (v.ttl_s == 0 ||
		    hy_dht_val_copy(&op->vals[op->nvals], &v) != HY_OK)
			continue;
		op->nvals++;
	}
	d->stats.replications++;
	/* Pumped after the iteration: the store must not change inside it. */
	if (hy_dht_op_lookup(d, op, r->now_ms) != HY_OK)
		hy_dht_op_release(d, op);
	return 0;
}

static void
replicate(struct hy_dht *d, uint64_t now_ms)
{
	struct repl_ctx r = { d, now_ms, 0, false };

	if (!d->repl_active) {
		if (now_ms < d->next_replicate_ms)
			return;
		d->repl_active = true;
		d->repl_scan_ms = now_ms;
		d->repl_cursor = 0;
	}
	(void)hy_store_foreach_key(d->st, repl_key, &r);
	if (!r.stopped) {
		d->repl_active = false;
		d->next_replicate_ms = d->repl_scan_ms + d->cfg.replicate_ms;
	}
	/* Pump the new replication lookups. */
	for (unsigned i = 0; i < d->ops_hi; i++)
		if (d->ops[i].kind == HY_DK_REPLICATE &&
		    d->ops[i].phase == HY_DP_LOOKUP &&
		    d->ops[i].info.requests == 0)
			hy_dht_op_pump(d, &d->ops[i], now_ms);
}

/*
 * Seeds lost in transit must not leave a node alone for good: while the
 * table holds no contact and no bootstrap runs, ask the remembered seeds
 * again, backing off from 5 s to 5 min.
 */
static void
rebootstrap(struct hy_dht *d, uint64_t now_ms)
{
	struct hy_rtable_stats st;

	if (d->nseeds == 0 || now_ms < d->boot_retry_ms)
		return;
	hy_rtable_stats(d->rt, now_ms, &st);
	if (st.contacts > 0) {
		d->boot_backoff_ms = HY_DHT_BOOT_RETRY_MIN_MS;
		d->boot_retry_ms = now_ms + d->boot_backoff_ms;
		return;
	}
	for (unsigned i = 0; i < d->ops_hi; i++)
		if (d->ops[i].kind == HY_DK_BOOT &&
		    d->ops[i].phase != HY_DP_FREE)
			return;
	d->boot_backoff_ms *= 2;
	if (d->boot_backoff_ms > HY_DHT_BOOT_RETRY_MAX_MS)
		d->boot_backoff_ms = HY_DHT_BOOT_RETRY_MAX_MS;
	d->stats.rebootstraps++;
	(void)hy_dht_bootstrap(d, d->seeds, d->nseeds, now_ms);
}

/*
 * Periodic work at now_ms: hand-overs, pings, bucket refresh and
 * replication (every maint_ms; hand-overs at every call).
 */
void
hy_dht_maint(struct hy_dht *d, uint64_t now_ms)
{
	struct hy_rtable_contact c[PINGS_PER_TICK];
	struct hy_id t[REFRESH_PER_TICK];
	size_t n;

	handover_run(d);
	if (now_ms < d->next_maint_ms)
		return;
	d->next_maint_ms = now_ms + d->cfg.maint_ms;
	n = hy_rtable_want_pings(d->rt, now_ms, c, PINGS_PER_TICK);
	for (size_t i = 0; i < n; i++)
		send_ping(d, &c[i]);
	/* peers that found us by querying: verify them (BEP 5 "good") */
	n = hy_rtable_want_verify(d->rt, now_ms, c, PINGS_PER_TICK);
	for (size_t i = 0; i < n; i++)
		send_ping(d, &c[i]);
	n = hy_rtable_refresh_due(d->rt, now_ms, &d->rng, t, REFRESH_PER_TICK);
	for (size_t i = 0; i < n; i++) {
		struct hy_dht_op *op;

		op = hy_dht_op_alloc(d, HY_DK_REFRESH, &t[i], now_ms, NULL);
		if (op == NULL)
			break;
		d->stats.maint_lookups++;
		if (hy_dht_op_start(d, op, now_ms) != HY_OK)
			continue;
	}
	if (d->cfg.replicate_ms > 0)
		replicate(d, now_ms);
	rebootstrap(d, now_ms);
}
