/*
 * store-internal.h: the value store's layout, shared by store.c (expiry
 * heap, puts, removal), store-map.c (hash map), store-read.c (reads,
 * iteration, stats) and store-peers.c (BEP 5 announcements). Nothing else
 * includes it.
 */
#ifndef HY_STORE_INTERNAL_H
#define HY_STORE_INTERNAL_H

#include "store.h"

#define HY_ST_VAL 1
#define HY_ST_PEER 2

struct hy_st_key;
struct hy_st_src;

/* Common head of values and peers: what the expiry heap orders. */
struct hy_st_item {
	uint64_t exp_ms;
	uint32_t hidx; /* position in st->heap */
	uint8_t kind; /* HY_ST_VAL or HY_ST_PEER */
	struct hy_st_key *k; /* key entry it belongs to */
};

struct hy_st_val {
	struct hy_st_item it; /* first: a heap item is a record */
	uint64_t id;
	struct hy_id source;
	struct hy_st_src *src; /* source entry charged */
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

/*
 * Head of a map entry (store-map.c): the ID it is found by and its place in
 * the map's insertion-order list.
 */
struct hy_st_ment {
	struct hy_id id;
	struct hy_st_ment *prev, *next;
};

/* A growable hash map of entries that start with struct hy_st_ment. */
struct hy_st_map {
	struct hy_st_ment **cells; /* NULL while empty */
	size_t mask; /* number of cells - 1 */
	size_t count;
	struct hy_st_ment *head, *tail; /* oldest first */
	uint64_t k0, k1; /* SipHash key */
};

struct hy_st_key {
	struct hy_st_ment m; /* first: the key */
	struct hy_st_val **vals;
	struct hy_st_peer **peers;
	uint32_t nvals, vcap;
	uint32_t npeers, pcap;
};

struct hy_st_src {
	struct hy_st_ment m; /* first: the source node ID */
	uint64_t bytes;
	uint32_t values;
};

struct hy_store {
	struct hy_store_config cfg;
	struct hy_st_map keys; /* of struct hy_st_key */
	struct hy_st_map srcs; /* of struct hy_st_src */
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

/*
 * The map (store-map.c). init seeds the hash (HY_OK or HY_ECRYPTO) and
 * allocates nothing; fini frees the cells, not the entries. reserve makes
 * room for one insert (HY_OK or HY_ENOMEM); insert (of an absent ID) then
 * cannot fail. remove never fails (it may shrink the table).
 */
int hy_st_map_init(struct hy_st_map *m);
void hy_st_map_fini(struct hy_st_map *m);
struct hy_st_ment *hy_st_map_find(const struct hy_st_map *m,
    const struct hy_id *id);
int hy_st_map_reserve(struct hy_st_map *m);
void hy_st_map_insert(struct hy_st_map *m, struct hy_st_ment *e);
void hy_st_map_remove(struct hy_st_map *m, struct hy_st_ment *e);

/* Key entries (store.c): find one or NULL; new allocates an entry that is
 * not in the map yet (insert it with hy_st_key_insert after a successful
 * hy_st_map_reserve); gc frees an entry that holds nothing. */
struct hy_st_key *hy_st_key_find(const struct hy_store *st,
    const struct hy_id *key);
struct hy_st_key *hy_st_key_new(const struct hy_id *key);
void hy_st_key_insert(struct hy_store *st, struct hy_st_key *k);
void hy_st_key_gc(struct hy_store *st, struct hy_st_key *k);

/* Grow a per-key pointer array to hold n + 1 entries, up to max. */
void *hy_st_grow(void *arr, uint32_t *cap, uint32_t n, uint32_t max, int *rc);

/* The live value (key, id), or NULL. */
struct hy_st_val *hy_st_val_find(const struct hy_store *st,
    const struct hy_id *key, uint64_t id, uint64_t now_ms);

#endif /* HY_STORE_INTERNAL_H */
