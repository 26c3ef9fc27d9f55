/*
 * store-internal.h: the value store's layout, shared by store.c (tables,
 * expiry heap, puts, removal), store-read.c (reads, iteration, stats) and
 * store-peers.c (BEP 5 announcements). Nothing else includes it.
 */
#ifndef HY_STORE_INTERNAL_H
#define HY_STORE_INTERNAL_H

#include "lru.h"
#include "store.h"

#define HY_ST_VAL 1
#define HY_ST_PEER 2

/* Common head of values and peers: what the expiry heap orders. */
struct hy_st_item {
	uint64_t exp_ms;
	uint32_t hidx; /* position in st->heap */
	uint32_t kslot; /* key entry it belongs to */
	uint8_t kind; /* HY_ST_VAL or HY_ST_PEER */
};

struct hy_st_val {
	struct hy_st_item it; /* first: a heap item is a record */
	uint64_t id;
	struct hy_id source;
	uint32_t sslot; /* source entry charged */
	uint32_t ttl_s;
	uint32_t flags;
	size_t len;
	struct hy_store_mutable *mut; /* in this block, or NULL */
	uint8_t *data; /* in this block */
};

struct hy_st_peer {
	struct hy_st_item it;
	struct hy_addr addr;
	struct hy_id node;
	bool seed;
};

struct hy_st_key {
	struct hy_st_val **vals;
	struct hy_st_peer **peers;
	uint32_t nvals, vcap;
	uint32_t npeers, pcap;
};

struct hy_st_src {
	uint64_t bytes;
	uint32_t values;
};

struct hy_store {
	struct hy_store_config cfg;
	struct hy_lru *kmap;
	struct hy_st_key *keys; /* indexed by kmap slot */
	struct hy_lru *smap;
	struct hy_st_src *srcs; /* indexed by smap slot */
	struct hy_st_item **heap;
	uint32_t nheap, heapcap, heapmax;
	size_t nvkeys; /* keys with nvals > 0 */
	size_t nvalues, npeers;
	uint64_t bytes;
	int busy; /* inside a foreach callback */
	struct hy_store_stats c; /* counters only; sizes filled on read */
};

/* Live at now_ms: a record dies exactly at its expiry. */
static inline bool
hy_st_live(const struct hy_st_item *it, uint64_t now_ms)
{
	return now_ms < it->exp_ms;
}

/* now_ms + ttl_s seconds, saturating. */
static inline uint64_t
hy_st_expiry(uint64_t now_ms, uint32_t ttl_s)
{
	uint64_t d = (uint64_t)ttl_s * 1000;

	return now_ms > UINT64_MAX - d ? UINT64_MAX : now_ms + d;
}

/* Expiry heap (store.c). reserve is the only fallible step: HY_OK,
 * HY_ENOMEM; push needs a successful reserve; fix restores the order after
 * an item's exp_ms changed. */
int hy_st_heap_reserve(struct hy_store *st);
void hy_st_heap_push(struct hy_store *st, struct hy_st_item *it);
void hy_st_heap_fix(struct hy_store *st, struct hy_st_item *it);

/* Key table (store.c): slot of key or HY_LRU_NONE; add creates an empty
 * entry (HY_LRU_NONE when the table is full); gc drops an empty entry. */
size_t hy_st_key_find(const struct hy_store *st, const struct hy_id *key);
size_t hy_st_key_add(struct hy_store *st, const struct hy_id *key);
void hy_st_key_gc(struct hy_store *st, size_t s);

/* Grow a per-key pointer array to hold n + 1 entries, up to max. */
void *hy_st_grow(void *arr, uint32_t *cap, uint32_t n, uint32_t max, int *rc);

/* The live value (key, id), or NULL. */
struct hy_st_val *hy_st_val_find(const struct hy_store *st,
    const struct hy_id *key, uint64_t id, uint64_t now_ms);

#endif /* HY_STORE_INTERNAL_H */
