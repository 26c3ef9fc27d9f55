/*
 * lru.h: a bounded map from fixed-length keys to slots, in LRU order (L0).
 *
 * The map owns keys and order only; callers keep their values in an array
 * of the same capacity indexed by the slot number the map hands out. When
 * the map is full, an insert reuses the least recently used slot and says
 * so, so the caller can account for what it loses. Nothing allocates after
 * hy_lru_new. Used by the replay window, the rate limiter and the key cache.
 */
#ifndef HY_LRU_H
#define HY_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HY_LRU_MAX_KEY 40
#define HY_LRU_NONE ((size_t)-1)

struct hy_lru;

/* capacity in 1..2^30, keylen in 1..HY_LRU_MAX_KEY; NULL on failure. */
struct hy_lru *hy_lru_new(size_t capacity, size_t keylen);
void hy_lru_free(struct hy_lru *m);

/* Slot of key or HY_LRU_NONE. touch moves it to most recently used. */
size_t hy_lru_get(struct hy_lru *m, const void *key, bool touch);

/*
 * Insert key (which must not be present) as most recently used and return
 * its slot. If the map was full, the least recently used key was dropped to
 * make room and *evicted (if not NULL) is set to true; the returned slot is
 * the one it held.
 */
size_t hy_lru_put(struct hy_lru *m, const void *key, bool *evicted);

/* Remove the key in slot; the slot becomes free. */
void hy_lru_del(struct hy_lru *m, size_t slot);

/* The least recently used slot, or HY_LRU_NONE if empty. */
size_t hy_lru_oldest(const struct hy_lru *m);
/* The next more recently used slot after `slot`, or HY_LRU_NONE. */
size_t hy_lru_newer(const struct hy_lru *m, size_t slot);
/* The key stored in a used slot. */
const void *hy_lru_key(const struct hy_lru *m, size_t slot);
size_t hy_lru_count(const struct hy_lru *m);
size_t hy_lru_capacity(const struct hy_lru *m);

#endif /* HY_LRU_H */
