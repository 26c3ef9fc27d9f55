/*
 * lru.c: fixed-capacity hash map + LRU list over slot numbers.
 *
 * Layout: `ents` holds capacity entries (key, LRU links); `index` is an
 * open-addressing table of 2^k >= 2 * capacity cells holding slot + 1 (0 =
 * empty), probed linearly, with backward-shift deletion so no tombstones
 * accumulate. Free slots are chained through `next`.
 *
 * Invariants: every used slot is in `index` exactly once and on the LRU list
 * exactly once; free slots are on neither. The hash is FNV-1a over the key
 * mixed with a per-map seed taken from the map's address, which is enough to
 * keep probe runs short for random keys (nonces, IDs); keys a peer controls
 * (addresses) are bounded by the capacity, so the worst case is a linear
 * probe over a table of fixed size.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lru.h"

struct hy_lru_ent {
	uint8_t key[HY_LRU_MAX_KEY];
	uint32_t prev, next; /* LRU links (or free chain in next) */
};

#define HY_LRU_NIL UINT32_MAX

struct hy_lru {
	struct hy_lru_ent *ents;
	uint32_t *index;
	size_t cap, count, keylen, mask;
	uint32_t head, tail; /* head: most recent; tail: least recent */
	uint32_t free;
	uint64_t seed;
};

static size_t
hy_lru_hash(const struct hy_lru *m, const uint8_t *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ m->seed;

	for (size_t i = 0; i < m->keylen; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return (size_t)h & m->mask;
}

struct hy_lru *
hy_lru_new(size_t capacity, size_t keylen)
{
	struct hy_lru *m;
	size_t n = 8;

	if (capacity == 0 || capacity > (1u << 30) || keylen == 0 ||
	    keylen > HY_LRU_MAX_KEY)
		return NULL;
	while (n < 2 * capacity)
		n <<= 1;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->ents = calloc(capacity, sizeof(*m->ents));
	m->index = calloc(n, sizeof(*m->index));
	if (m->ents == NULL || m->index == NULL) {
		hy_lru_free(m);
		return NULL;
	}
	m->cap = capacity;
	m->keylen = keylen;
	m->mask = n - 1;
	m->head = m->tail = HY_LRU_NIL;
	m->seed = (uint64_t)(uintptr_t)m * 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < capacity; i++)
		m->ents[i].next =
		    i + 1 < capacity ? (uint32_t)(i + 1) : HY_LRU_NIL;
	m->free = 0;
	return m;
}

void
hy_lru_free(struct hy_lru *m)
{
	if (m == NULL)
		return;
	free(m->ents);
	free(m->index);
	free(m);
}

/* Index cell of key, or of the empty cell where it would go. */
static size_t
hy_lru_cell(const struct hy_lru *m, const void *key, bool *found)
{
	size_t i = hy_lru_hash(m, key);

	for (;;) {
		uint32_t s = m->index[i];

		if (s == 0) {
			*found = false;
			return i;
		}
		if (memcmp(m->ents[s - 1].key, key, m->keylen) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & m->mask;
	}
}

static void
hy_lru_unlink(struct hy_lru *m, uint32_t s)
{
	struct hy_lru_ent *e = &m->ents[s];

	if (e->prev != HY_LRU_NIL)
		m->ents[e->prev].next = e->next;
	else
		m->head = e->next;
	if (e->next != HY_LRU_NIL)
		m->ents[e->next].prev = e->prev;
	else
		m->tail = e->prev;
}

static void
hy_lru_push_front(struct hy_lru *m, uint32_t s)
{
	struct hy_lru_ent *e = &m->ents[s];

	e->prev = HY_LRU_NIL;
	e->next = m->head;
	if (m->head != HY_LRU_NIL)
		m->ents[m->head].prev = s;
	m->head = s;
	if (m->tail == HY_LRU_NIL)
		m->tail = s;
}

/* Empty index cell i, shifting later members of its probe run back. */
static void
hy_lru_uncell(struct hy_lru *m, size_t i)
{
	size_t j = i;

	m->index[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & m->mask;
		if (m->index[j] == 0)
			return;
		home = hy_lru_hash(m, m->ents[m->index[j] - 1].key);
		/* move j into the hole unless its home lies in (i, j] */
		if (i < j ? (home <= i || home > j) : (home <= i && home > j)) {
			m->index[i] = m->index[j];
			m->index[j] = 0;
			i = j;
		}
	}
}

size_t
hy_lru_get(struct hy_lru *m, const void *key, bool touch)
{
	bool found;
	size_t c = hy_lru_cell(m, key, &found);
	uint32_t s;

	if (!found)
		return HY_LRU_NONE;
	s = m->index[c] - 1;
	if (touch && m->head != s) {
		hy_lru_unlink(m, s);
		hy_lru_push_front(m, s);
	}
	return s;
}

void
hy_lru_del(struct hy_lru *m, size_t slot)
{
	bool found;
	size_t c = hy_lru_cell(m, m->ents[slot].key, &found);

	if (found)
		hy_lru_uncell(m, c);
	hy_lru_unlink(m, (uint32_t)slot);
	m->ents[slot].next = m->free;
	m->free = (uint32_t)slot;
	m->count--;
}

size_t
hy_lru_put(struct hy_lru *m, const void *key, bool *evicted)
{
	bool found, ev = false;
	uint32_t s;
	size_t c;

	if (m->count == m->cap) {
		hy_lru_del(m, m->tail);
		ev = true;
	}
	s = m->free;
	m->free = m->ents[s].next;
	memcpy(m->ents[s].key, key, m->keylen);
	c = hy_lru_cell(m, key, &found);
	m->index[c] = s + 1;
	hy_lru_push_front(m, s);
	m->count++;
	if (evicted != NULL)
		*evicted = ev;
	return s;
}

size_t
hy_lru_oldest(const struct hy_lru *m)
{
	return m->tail == HY_LRU_NIL ? HY_LRU_NONE : m->tail;
}

size_t
hy_lru_newer(const struct hy_lru *m, size_t slot)
{
	uint32_t p = m->ents[slot].prev;

	return p == HY_LRU_NIL ? HY_LRU_NONE : p;
}

const void *
hy_lru_key(const struct hy_lru *m, size_t slot)
{
	return m->ents[slot].key;
}

size_t
hy_lru_count(const struct hy_lru *m)
{
	return m->count;
}

size_t
hy_lru_capacity(const struct hy_lru *m)
{
	return m->cap;
}
