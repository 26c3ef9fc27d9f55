/*
 * store.c: the DHT node's local value store (L3, pure: no I/O, no clock).
 *
 * Sources. Kademlia (Maymounkov & Mazieres 2002) §2.5: a stored value has
 * an expiry (the original publisher republishes it before then, the nodes
 * holding it republish it to the k closest nodes and hand it over to a new
 * node that becomes closer); the store only keeps the expiry and lets the
 * DHT iterate keys and values for republish and hand-over. BEP 5
 * (announce_peer / get_peers): a key holds a set of peer addresses, each
 * refreshed by re-announcing and forgotten after a timeout (30 min here);
 * get_peers answers with a bounded random sample. BEP 44 (mutable items):
 * key = H(public key || salt), one item per key, a put with a lower seq is
 * refused (error 302), cas != 0 must equal the stored seq (error 301), with
 * SHA-256 and P-256 in place of SHA-1 and Ed25519.
 *
 * Model. A key entry holds plain values (value id, data, TTL, flags,
 * source), at most one mutable value (the reserved id HY_STORE_MUTABLE_ID)
 * and announced peers (told apart by address). A value is live for
 * now_ms < expires_ms = put time + ttl_s * 1000; reads skip dead ones and
 * every mutating call with a time first sweeps them, so quotas count live
 * content only.
 *
 * Rules (store.h has them per call; the tests check each):
 *  - Same (key, id), same source: replaced, expiry = now + ttl. Another
 *    source with the same data: a replica republishing; the expiry can
 *    only grow, the first writer stays charged. Another source with other
 *    data: refused (HY_EEXIST) while the first value lives. So a node
 *    cannot overwrite or shorten a value it did not store.
 *  - Mutable: key == SHA-256(pub || salt); CAS mismatch HY_EEXIST (kept
 *    apart from seq-too-old HY_ERANGE so the wire can answer CONFLICT);
 *    a higher seq replaces and is charged to its source.
 *  - A put that would exceed a quota is refused (checked in this order:
 *    too large, total bytes, keys, total values, per key, per source) and
 *    changes nothing; nothing stored is ever evicted to make room. A
 *    replacement is charged the size difference only.
 *  - Peers: max_peers_per_key and max_peers; full refuses, never drops.
 *
 * Files: store.c (expiry heap, puts, removal), store-map.c (the hash
 * map), store-read.c (reads, iteration, stats), store-peers.c
 * (announcements), sharing store-internal.h.
 *
 * Data structures and bounds.
 *  - Keys: a hash map (store-map.c: open addressing, SipHash under a
 *    random key, grows and shrinks with its content) of entries allocated
 *    per key, iterated in insertion order. Keys holding values are capped
 *    at max_keys; a peer-only key holds at least one peer, so there are at
 *    most max_peers of them: an announce flood cannot take the key room
 *    that values need. An empty store allocates almost nothing, so a
 *    simulation can run thousands of nodes with the default limits.
 *  - Per key: arrays of record pointers that grow by doubling up to
 *    max_values_per_key / max_peers_per_key.
 *  - Sources: a second map, node ID -> (bytes, values). An entry dies
 *    with its last value, so there are never more sources than values.
 *  - Expiry: one indexed binary min-heap of every value and peer (each
 *    record keeps its heap position), capacity growing up to max_values +
 *    max_peers. next_expiry is O(1); a put, refresh or removal is O(log n)
 *    plus a scan of one key's array (<= its per-key cap); expire is
 *    O(r log n) for r expired records.
 *  - Records are malloc'd per value (header, mutable part and data in one
 *    block) and per peer; byte quotas count value data only, the overhead
 *    of a record is bounded by the value and peer counts.
 *  - Allocation failure (HY_ENOMEM) is detected before anything changes.
 *    The heap array keeps its peak size (8 bytes per record, bounded as
 *    above); the maps and per-key arrays shrink or go with their content.
 *
 * Known limit: plain values and the mutable value share a key's id space
 * and its max_values_per_key, so a peer that fills a mutable key with
 * plain values keeps the owner's value out of this node, as it can for
 * any key; replication to the k closest nodes is the remedy, not the store.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
hy_store_config_default(struct hy_store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_bytes = 64ull << 20;
	cfg->max_keys = 65536;
	cfg->max_values = 131072;
	cfg->max_values_per_key = 64;
	cfg->max_source_bytes = 1ull << 20;
	cfg->max_source_values = 1024;
	cfg->max_value_len = 65536;
	cfg->max_ttl_s = HY_STORE_TTL_MAX_S;
	cfg->max_peers = 65536;
	cfg->max_peers_per_key = 256;
	cfg->peer_ttl_s = 30 * 60;
}

static bool
hy_st_count_ok(uint32_t n)
{
	return n >= 1 && n <= HY_STORE_COUNT_MAX;
}

static bool
hy_st_config_ok(const struct hy_store_config *c)
{
	return c->max_bytes >= 1 && hy_st_count_ok(c->max_keys) &&
	    hy_st_count_ok(c->max_values) &&
	    hy_st_count_ok(c->max_values_per_key) &&
	    c->max_values_per_key <= c->max_values &&
	    c->max_source_bytes >= 1 && c->max_source_bytes <= c->max_bytes &&
	    hy_st_count_ok(c->max_source_values) &&
	    c->max_source_values <= c->max_values && c->max_value_len >= 1 &&
	    c->max_value_len <= HY_STORE_VALUE_LEN_MAX &&
	    c->max_ttl_s >= HY_STORE_TTL_MIN_S &&
	    c->max_ttl_s <= HY_STORE_TTL_MAX_S &&
	    hy_st_count_ok(c->max_peers) &&
	    hy_st_count_ok(c->max_peers_per_key) &&
	    c->max_peers_per_key <= c->max_peers && c->peer_ttl_s >= 1 &&
	    c->peer_ttl_s <= HY_STORE_TTL_MAX_S;
}

int
hy_store_new(struct hy_store **out, const struct hy_store_config *cfg)
{
	struct hy_store_config def;
	struct hy_store *st = NULL;
	int rc = HY_OK;

	if (cfg == NULL) {
		hy_store_config_default(&def);
		cfg = &def;
	}
	if (out == NULL || !hy_st_config_ok(cfg)) {
		rc = HY_EINVAL;
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		rc = HY_ENOMEM;
		goto out;
	}
	st->cfg = *cfg;
	st->heapmax = cfg->max_values + cfg->max_peers;
	if ((rc = hy_st_map_init(&st->keys)) != HY_OK ||
	    (rc = hy_st_map_init(&st->srcs)) != HY_OK)
		goto out;
	*out = st;
	st = NULL;
out:
	hy_store_free(st);
	return rc;
}

void
hy_store_free(struct hy_store *st)
{
	if (st == NULL)
		return;
	/* Every record is in the heap exactly once. */
	for (uint32_t i = 0; i < st->nheap; i++)
		free(st->heap[i]);
	free(st->heap);
	for (struct hy_st_ment *e = st->keys.head, *n; e != NULL; e = n) {
		struct hy_st_key *k = (struct hy_st_key *)e;

		n = e->next;
		free(k->vals);
		free(k->peers);
		free(k);
	}
	for (struct hy_st_ment *e = st->srcs.head, *n; e != NULL; e = n) {
		n = e->next;
		free(e);
	}
	hy_st_map_fini(&st->keys);
	hy_st_map_fini(&st->srcs);
	free(st);
}

/* --- expiry heap ------------------------------------------------------ */

static void
hy_st_heap_place(struct hy_store *st, uint32_t i, struct hy_st_item *it)
{
	st->heap[i] = it;
	it->hidx = i;
}

static void
hy_st_heap_up(struct hy_store *st, uint32_t i)
{
	struct hy_st_item *it = st->heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (st->heap[p]->exp_ms <= it->exp_ms)
			break;
		hy_st_heap_place(st, i, st->heap[p]);
		i = p;
	}
	hy_st_heap_place(st, i, it);
}

static void
hy_st_heap_down(struct hy_store *st, uint32_t i)
{
	struct hy_st_item *it = st->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= st->nheap)
			break;
		if (c + 1 < st->nheap &&
		    st->heap[c + 1]->exp_ms < st->heap[c]->exp_ms)
			c++;
		if (it->exp_ms <= st->heap[c]->exp_ms)
			break;
		hy_st_heap_place(st, i, st->heap[c]);
		i = c;
	}
	hy_st_heap_place(st, i, it);
}

/* Make room for one more item; the only fallible heap step. */
int
hy_st_heap_reserve(struct hy_store *st)
{
	struct hy_st_item **h;
	uint32_t cap;

	if (st->nheap < st->heapcap)
		return HY_OK;
	if (st->heapcap >= st->heapmax)
		return HY_EFULL; /* unreachable: counts are checked first */
	cap = st->heapcap == 0 ? 64 : st->heapcap * 2;
	if (cap > st->heapmax)
		cap = st->heapmax;
	h = realloc(st->heap, (size_t)cap * sizeof(*h));
	if (h == NULL)
		return HY_ENOMEM;
	st->heap = h;
	st->heapcap = cap;
	return HY_OK;
}

void
hy_st_heap_push(struct hy_store *st, struct hy_st_item *it)
{
	assert(st->nheap < st->heapcap);
	hy_st_heap_place(st, st->nheap++, it);
	hy_st_heap_up(st, it->hidx);
}

static void
hy_st_heap_del(struct hy_store *st, struct hy_st_item *it)
{
	uint32_t i = it->hidx;
	struct hy_st_item *last = st->heap[--st->nheap];

	assert(st->heap[i] == it);
	if (last == it)
		return;
	hy_st_heap_place(st, i, last);
	hy_st_heap_up(st, i);
	hy_st_heap_down(st, last->hidx);
}

/* it's expiry changed: restore the heap order. */
void
hy_st_heap_fix(struct hy_store *st, struct hy_st_item *it)
{
	hy_st_heap_up(st, it->hidx);
	hy_st_heap_down(st, it->hidx);
}

/* --- keys and sources ------------------------------------------------- */

struct hy_st_key *
hy_st_key_find(const struct hy_store *st, const struct hy_id *key)
{
	return (struct hy_st_key *)hy_st_map_find(&st->keys, key);
}

struct hy_st_key *
hy_st_key_new(const struct hy_id *key)
{
	struct hy_st_key *k = calloc(1, sizeof(*k));

	if (k != NULL)
		k->m.id = *key;
	return k;
}

void
hy_st_key_insert(struct hy_store *st, struct hy_st_key *k)
{
	hy_st_map_insert(&st->keys, &k->m);
}

/* Free the key entry once it holds nothing. */
void
hy_st_key_gc(struct hy_store *st, struct hy_st_key *k)
{
	if (k->nvals > 0 || k->npeers > 0)
		return;
	hy_st_map_remove(&st->keys, &k->m);
	free(k->vals);
	free(k->peers);
	free(k);
}

/*
 * Grow an array of pointers (arr, *cap entries) to hold n + 1, up to max.
 * Returns the array, moved or not; on failure the old one with *rc set.
 */
void *
hy_st_grow(void *arr, uint32_t *cap, uint32_t n, uint32_t max, int *rc)
{
	void *na;
	uint32_t nc;

	*rc = HY_OK;
	if (n < *cap)
		return arr;
	if (n >= max) {
		*rc = HY_EFULL; /* unreachable: counts are checked first */
		return arr;
	}
	nc = *cap == 0 ? 4 : *cap * 2;
	if (nc > max)
		nc = max;
	na = realloc(arr, (size_t)nc * sizeof(void *));
	if (na == NULL) {
		*rc = HY_ENOMEM;
		return arr;
	}
	*cap = nc;
	return na;
}

static struct hy_st_src *
hy_st_src_find(const struct hy_store *st, const struct hy_id *src)
{
	return (struct hy_st_src *)hy_st_map_find(&st->srcs, src);
}

/* Charge v to its source entry sc (already in the map). */
static void
hy_st_src_charge(struct hy_st_src *sc, struct hy_st_val *v)
{
	sc->bytes += v->len;
	sc->values++;
	v->src = sc;
}

/* Credit v's source; the entry goes with its last value. */
static void
hy_st_src_credit(struct hy_store *st, const struct hy_st_val *v)
{
	struct hy_st_src *sc = v->src;

	assert(sc->values > 0 && sc->bytes >= v->len);
	sc->bytes -= v->len;
	if (--sc->values == 0) {
		hy_st_map_remove(&st->srcs, &sc->m);
		free(sc);
	}
}

/* --- records ---------------------------------------------------------- */

static uint32_t
hy_st_val_index(const struct hy_st_key *k, uint64_t id)
{
	for (uint32_t i = 0; i < k->nvals; i++)
		if (k->vals[i]->id == id)
			return i;
	return UINT32_MAX;
}

/* Unlink and free value i of k (the caller then calls hy_st_key_gc). */
static void
hy_st_val_drop(struct hy_store *st, struct hy_st_key *k, uint32_t i)
{
	struct hy_st_val *v = k->vals[i];

	memmove(&k->vals[i], &k->vals[i + 1],
	    (k->nvals - i - 1) * sizeof(k->vals[0]));
	if (--k->nvals == 0)
		st->nvkeys--;
	hy_st_heap_del(st, &v->it);
	hy_st_src_credit(st, v);
	st->bytes -= v->len;
	st->nvalues--;
	free(v);
}

static void
hy_st_peer_drop(struct hy_store *st, struct hy_st_key *k, uint32_t i)
{
	struct hy_st_peer *p = k->peers[i];

	memmove(&k->peers[i], &k->peers[i + 1],
	    (k->npeers - i - 1) * sizeof(k->peers[0]));
	k->npeers--;
	hy_st_heap_del(st, &p->it);
	st->npeers--;
	free(p);
}

size_t
hy_store_expire(struct hy_store *st, uint64_t now_ms)
{
	size_t n = 0;

	if (st->busy)
		return 0;
	while (st->nheap > 0 && !hy_st_live(st->heap[0], now_ms)) {
		struct hy_st_item *it = st->heap[0];
		struct hy_st_key *k = it->k;
		uint32_t i = 0;

		if (it->kind == HY_ST_VAL) {
			while (&k->vals[i]->it != it)
				i++;
			hy_st_val_drop(st, k, i);
			st->c.expired_values++;
		} else {
			while (&k->peers[i]->it != it)
				i++;
			hy_st_peer_drop(st, k, i);
			st->c.expired_peers++;
		}
		hy_st_key_gc(st, k);
		n++;
	}
	return n;
}

uint64_t
hy_store_next_expiry(const struct hy_store *st)
{
	return st->nheap > 0 ? st->heap[0]->exp_ms : UINT64_MAX;
}

/* --- puts ------------------------------------------------------------- */

/* What a put carries, plain or mutable. */
struct hy_st_in {
	const struct hy_id *key;
	uint64_t id;
	const void *data;
	size_t len;
	uint32_t ttl_s;
	uint32_t flags;
	const struct hy_id *source;
	const struct hy_store_mutable *mut; /* NULL for a plain value */
};

/* The mutable part follows the header directly: it must be aligned there. */
#define HY_ST_MUT_ALIGN _Alignof(struct hy_store_mutable)
_Static_assert(sizeof(struct hy_st_val) % HY_ST_MUT_ALIGN == 0,
    "mutable part misaligned");

/* One block: header, mutable part (if any), data. */
static struct hy_st_val *
hy_st_val_alloc(const struct hy_st_in *in)
{
	size_t mlen = in->mut != NULL ? sizeof(*in->mut) : 0;
	struct hy_st_val *v = malloc(sizeof(*v) + mlen + in->len);
	uint8_t *p;

	if (v == NULL)
		return NULL;
	memset(v, 0, sizeof(*v));
	p = (uint8_t *)(v + 1);
	if (in->mut != NULL) {
		v->mut = (void *)p; /* aligned: see the assertion above */
		*v->mut = *in->mut;
		p += mlen;
	}
	v->data = p;
	if (in->len > 0)
		memcpy(v->data, in->data, in->len);
	v->len = in->len;
	v->it.kind = HY_ST_VAL;
	v->id = in->id;
	v->source = *in->source;
	v->ttl_s = in->ttl_s;
	v->flags = in->flags;
	return v;
}

static bool
hy_st_same_data(const struct hy_st_val *v, const struct hy_st_in *in)
{
	return v->len == in->len &&
	    (in->len == 0 || memcmp(v->data, in->data, in->len) == 0);
}

/* Refresh old in place: data unchanged, expiry set (same source) or
 * extended (a replica). */
static void
hy_st_refresh(struct hy_store *st, struct hy_st_val *old,
    const struct hy_st_in *in, uint64_t exp)
{
	if (hy_id_eq(&old->source, in->source)) {
		old->flags = in->flags;
		old->ttl_s = in->ttl_s;
		old->it.exp_ms = exp;
	} else if (exp > old->it.exp_ms) {
		old->ttl_s = in->ttl_s;
		old->it.exp_ms = exp;
	}
	hy_st_heap_fix(st, &old->it);
	st->c.refreshed++;
}

/*
 * Quota check for adding in->len bytes and one value charged to in->source
 * while removing old (NULL for a new value). Returns HY_OK or HY_EFULL,
 * counting the refusal.
 */
static int
hy_st_quota(struct hy_store *st, const struct hy_st_key *k,
    const struct hy_st_val *old, const struct hy_st_in *in)
{
	const struct hy_store_config *c = &st->cfg;
	uint64_t oldlen = old != NULL ? old->len : 0;
	const struct hy_st_src *sc = hy_st_src_find(st, in->source);
	uint64_t sbytes = 0, svals = 0;

	if (st->bytes - oldlen + in->len > c->max_bytes) {
		st->c.refused_bytes++;
		return HY_EFULL;
	}
	if (old == NULL && (k == NULL || k->nvals == 0) &&
	    st->nvkeys >= c->max_keys) {
		st->c.refused_keys++;
		return HY_EFULL;
	}
	if (old == NULL && st->nvalues >= c->max_values) {
		st->c.refused_values++;
		return HY_EFULL;
	}
	if (old == NULL && k != NULL && k->nvals >= c->max_values_per_key) {
		st->c.refused_per_key++;
		return HY_EFULL;
	}
	if (sc != NULL) {
		sbytes = sc->bytes;
		svals = sc->values;
	}
	if (old != NULL && sc == old->src) {
		sbytes -= old->len; /* same source: the difference only */
		svals--;
	}
	if (sbytes + in->len > c->max_source_bytes ||
	    svals + 1 > c->max_source_values) {
		st->c.refused_per_source++;
		return HY_EFULL;
	}
	return HY_OK;
}

/*
 * Add in, or replace the value with its id (the caller has applied the
 * replacement rules; expired records are swept). Checks the quotas and
 * allocates everything before changing anything.
 */
static int
hy_st_store(struct hy_store *st, const struct hy_st_in *in, uint64_t exp)
{
	struct hy_st_key *k = hy_st_key_find(st, in->key), *nk = NULL;
	struct hy_st_src *sc = hy_st_src_find(st, in->source), *nsc = NULL;
	struct hy_st_val *old = NULL, *v = NULL;
	uint32_t oi = UINT32_MAX;
	int rc;

	if (k != NULL && (oi = hy_st_val_index(k, in->id)) != UINT32_MAX)
		old = k->vals[oi];
	if ((rc = hy_st_quota(st, k, old, in)) != HY_OK)
		goto out;
	/* Allocate everything first. */
	rc = HY_ENOMEM;
	if ((v = hy_st_val_alloc(in)) == NULL)
		goto out;
	if (k == NULL &&
	    ((k = nk = hy_st_key_new(in->key)) == NULL ||
	        hy_st_map_reserve(&st->keys) != HY_OK))
		goto out;
	if (sc == NULL &&
	    ((sc = nsc = calloc(1, sizeof(*nsc))) == NULL ||
	        hy_st_map_reserve(&st->srcs) != HY_OK))
		goto out;
	if (old == NULL) {
		if ((rc = hy_st_heap_reserve(st)) != HY_OK)
			goto out;
		k->vals = hy_st_grow(k->vals, &k->vcap, k->nvals,
		    st->cfg.max_values_per_key, &rc);
		if (rc != HY_OK)
			goto out;
	}
	rc = HY_OK;
	/* Nothing can fail from here on. */
	if (nk != NULL)
		hy_st_key_insert(st, nk);
	if (nsc != NULL) {
		nsc->m.id = *in->source;
		hy_st_map_insert(&st->srcs, &nsc->m);
	}
	nk = NULL;
	nsc = NULL;
	v->it.k = k;
	v->it.exp_ms = exp;
	/* Charge before crediting: with the same source, the entry stays. */
	hy_st_src_charge(sc, v);
	st->bytes += v->len;
	if (old != NULL) {
		/* Take old's place in the key's order and in the heap. */
		hy_st_src_credit(st, old);
		st->bytes -= old->len;
		k->vals[oi] = v;
		hy_st_heap_place(st, old->it.hidx, &v->it);
		hy_st_heap_fix(st, &v->it);
		free(old);
		st->c.replaced++;
	} else {
		if (k->nvals == 0)
			st->nvkeys++;
		k->vals[k->nvals++] = v;
		hy_st_heap_push(st, &v->it);
		st->nvalues++;
		st->c.stored++;
	}
	v = NULL;
out:
	if (nk != NULL) {
		free(nk->vals);
		free(nk);
	}
	free(nsc);
	free(v);
	return rc;
}

/* Checks shared by both puts; counts a too-large refusal. */
static int
hy_st_check_in(struct hy_store *st, const struct hy_st_in *in)
{
	if (st->busy)
		return HY_ESTATE;
	if (in->key == NULL || in->source == NULL ||
	    (in->data == NULL && in->len > 0) || in->ttl_s < HY_STORE_TTL_MIN_S)
		return HY_EINVAL;
	if (in->ttl_s > st->cfg.max_ttl_s)
		return HY_ERANGE;
	if (in->len > st->cfg.max_value_len ||
	    (in->mut != NULL && in->mut->salt_len > HY_STORE_SALT_MAX)) {
		st->c.refused_too_large++;
		return HY_ETOOBIG;
	}
	return HY_OK;
}

/* The live value (key, id) or NULL. */
struct hy_st_val *
hy_st_val_find(const struct hy_store *st, const struct hy_id *key, uint64_t id,
    uint64_t now_ms)
{
	const struct hy_st_key *k = hy_st_key_find(st, key);
	uint32_t i;

	if (k == NULL)
		return NULL;
	i = hy_st_val_index(k, id);
	if (i == UINT32_MAX || !hy_st_live(&k->vals[i]->it, now_ms))
		return NULL;
	return k->vals[i];
}

int
hy_store_put(struct hy_store *st, const struct hy_store_put_args *a,
    uint64_t now_ms)
{
	struct hy_st_in in = { &a->key, a->id, a->data, a->len, a->ttl_s,
		a->flags, &a->source, NULL };
	struct hy_st_val *old;
	uint64_t exp = hy_st_expiry(now_ms, a->ttl_s);
	int rc;

	if (a->id == HY_STORE_MUTABLE_ID)
		return st->busy ? HY_ESTATE : HY_EINVAL;
	if ((rc = hy_st_check_in(st, &in)) != HY_OK)
		return rc;
	hy_store_expire(st, now_ms);
	old = hy_st_val_find(st, in.key, in.id, now_ms);
	if (old != NULL && !hy_id_eq(&old->source, in.source)) {
		if (!hy_st_same_data(old, &in)) {
			st->c.refused_exists++;
			return HY_EEXIST;
		}
		hy_st_refresh(st, old, &in, exp);
		return HY_OK;
	}
	if (old != NULL && hy_st_same_data(old, &in)) {
		hy_st_refresh(st, old, &in, exp);
		return HY_OK;
	}
	return hy_st_store(st, &in, exp);
}

int
hy_store_put_mutable(struct hy_store *st, const struct hy_store_mutable_args *a,
    uint64_t now_ms)
{
	struct hy_st_in in = { &a->key, HY_STORE_MUTABLE_ID, a->data, a->len,
		a->ttl_s, a->flags, &a->source, &a->m };
	struct hy_span sp[2] = { { a->m.pub, HY_PUBKEY_LEN },
		{ a->m.salt, a->m.salt_len } };
	uint8_t h[HY_SHA256_LEN];
	struct hy_st_val *old;
	uint64_t exp = hy_st_expiry(now_ms, a->ttl_s);
	int rc;

	/* HY_ERANGE is kept for "sequence too old" here: a bad TTL is EINVAL.
	 */
	if ((rc = hy_st_check_in(st, &in)) != HY_OK)
		return rc == HY_ERANGE ? HY_EINVAL : rc;
	if (hy_sha256v(sp, 2, h) != HY_OK)
		return HY_ECRYPTO;
	if (!hy_ct_eq(h, a->key.b, HY_ID_LEN))
		return HY_EINVAL;
	hy_store_expire(st, now_ms);
	old = hy_st_val_find(st, in.key, in.id, now_ms);
	if (old != NULL) {
		if (a->cas != 0 && a->cas != old->mut->seq) {
			st->c.refused_cas++;
			return HY_EEXIST;
		}
		if (a->m.seq < old->mut->seq ||
		    (a->m.seq == old->mut->seq && !hy_st_same_data(old, &in))) {
			st->c.refused_seq++;
			return HY_ERANGE;
		}
		if (a->m.seq == old->mut->seq) {
			hy_st_refresh(st, old, &in, exp);
			return HY_OK;
		}
	}
	return hy_st_store(st, &in, exp);
}

/* --- removal and iteration -------------------------------------------- */

int
hy_store_remove(struct hy_store *st, const struct hy_id *key, uint64_t id)
{
	struct hy_st_key *k;
	uint32_t i;

	if (st->busy)
		return HY_ESTATE;
	k = hy_st_key_find(st, key);
	if (k == NULL || (i = hy_st_val_index(k, id)) == UINT32_MAX)
		return HY_ENOENT;
	hy_st_val_drop(st, k, i);
	hy_st_key_gc(st, k);
	return HY_OK;
}

int
hy_store_remove_key(struct hy_store *st, const struct hy_id *key)
{
	struct hy_st_key *k;

	if (st->busy)
		return HY_ESTATE;
	k = hy_st_key_find(st, key);
	if (k == NULL)
		return HY_ENOENT;
	while (k->nvals > 0)
		hy_st_val_drop(st, k, k->nvals - 1);
	while (k->npeers > 0)
		hy_st_peer_drop(st, k, k->npeers - 1);
	hy_st_key_gc(st, k);
	return HY_OK;
}
