/*
 * store-read.c: reads, iteration and statistics of the value store (L3).
 * See store.c for the model. Reads never change the store: they skip dead
 * records instead of sweeping them, and hand out data borrowed until the
 * next mutating call. The iterators set st->busy so that a callback cannot
 * change the tables under them (mutating calls answer HY_ESTATE).
 */
#include "config.h"

#include <string.h>

#include "store-internal.h"

static void
hy_st_fill(const struct hy_st_val *v, uint64_t now_ms,
    struct hy_store_value *out)
{
	out->key = v->it.k->m.id;
	out->id = v->id;
	out->data = v->data;
	out->len = v->len;
	out->flags = v->flags;
	out->ttl_s = v->ttl_s;
	out->expires_ms = v->it.exp_ms;
	out->remaining_ms = v->it.exp_ms - now_ms;
	out->source = v->source;
	out->is_mutable = v->mut != NULL;
	out->mut = v->mut;
}

size_t
hy_store_get(const struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms, struct hy_store_value *out, size_t max)
{
	const struct hy_st_key *k = hy_st_key_find(st, key);
	size_t n = 0;

	for (uint32_t i = 0; k != NULL && i < k->nvals && n < max; i++)
		if (hy_st_live(&k->vals[i]->it, now_ms))
			hy_st_fill(k->vals[i], now_ms, &out[n++]);
	return n;
}

size_t
hy_store_count(const struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms)
{
	const struct hy_st_key *k = hy_st_key_find(st, key);
	size_t n = 0;

	for (uint32_t i = 0; k != NULL && i < k->nvals; i++)
		n += hy_st_live(&k->vals[i]->it, now_ms);
	return n;
}

int
hy_store_lookup(const struct hy_store *st, const struct hy_id *key, uint64_t id,
    uint64_t now_ms, struct hy_store_value *out)
{
	const struct hy_st_val *v = hy_st_val_find(st, key, id, now_ms);

	if (v == NULL)
		return HY_ENOENT;
	hy_st_fill(v, now_ms, out);
	return HY_OK;
}

int
hy_store_foreach_key(struct hy_store *st, hy_store_key_cb *cb, void *arg)
{
	int rc = 0;

	st->busy++;
	for (const struct hy_st_ment *e = st->keys.head; e != NULL && rc == 0;
	     e = e->next) {
		const struct hy_st_key *k = (const struct hy_st_key *)e;
		struct hy_id key = e->id; /* a copy: cb cannot touch ours */

		rc = cb(&key, k->nvals, k->npeers, arg);
	}
	st->busy--;
	return rc;
}

int
hy_store_foreach_value(struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms, hy_store_value_cb *cb, void *arg)
{
	const struct hy_st_key *k = hy_st_key_find(st, key);
	struct hy_store_value v;
	int rc = 0;

	if (k == NULL || k->nvals == 0)
		return HY_ENOENT;
	st->busy++;
	for (uint32_t i = 0; i < k->nvals && rc == 0; i++) {
		if (!hy_st_live(&k->vals[i]->it, now_ms))
			continue;
		hy_st_fill(k->vals[i], now_ms, &v);
		rc = cb(&v, arg);
	}
	st->busy--;
	return rc;
}

void
hy_store_get_stats(const struct hy_store *st, struct hy_store_stats *out)
{
	*out = st->c;
	out->keys = st->keys.count;
	out->value_keys = st->nvkeys;
	out->values = st->nvalues;
	out->bytes = st->bytes;
	out->peers = st->npeers;
	out->sources = st->srcs.count;
}
