/*
 * store-map.c: the value store's hash map from 32-byte IDs to entries (L3).
 *
 * Why not struct hy_lru: it allocates its full capacity up front, and the
 * store's capacities (max_keys + max_peers keys, max_values sources) would
 * cost every node about 20 MB at creation, which a simulation of thousands
 * of nodes in one process cannot pay. This map grows with its content and
 * shrinks back, so its size follows the entries actually stored, and those
 * are bounded by the store's quotas.
 *
 * Layout: open addressing over 2^k pointer cells (load <= 1/2, so probe
 * runs stay short), linear probing, backward-shift deletion (no
 * tombstones). Entries embed struct hy_st_ment (their ID and the links of
 * an insertion-order list, which makes iteration independent of the hash).
 * Keys are chosen by peers, so the hash is SipHash-2-4 (Aumasson &
 * Bernstein 2012) under a random per-map key: a peer cannot aim keys at one
 * probe run. Growth is the only fallible step and is done ahead of the
 * insert (hy_st_map_reserve), so the store can check and allocate first and
 * then change its state without failing halfway.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define HY_ST_MAP_MIN 16

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

/* SipHash-2-4 of a 32-byte ID under (k0, k1). */
static uint64_t
hy_st_siphash(uint64_t k0, uint64_t k1, const struct hy_id *id)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)HY_ID_LEN << 56;

	for (size_t i = 0; i < HY_ID_LEN; i += 8) {
		uint64_t m = 0;

		for (size_t j = 0; j < 8; j++)
			m |= (uint64_t)id->b[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int
hy_st_map_init(struct hy_st_map *m)
{
	uint64_t k[2];

	memset(m, 0, sizeof(*m));
	if (hy_random_bytes(k, sizeof(k)) != HY_OK)
		return HY_ECRYPTO;
	m->k0 = k[0];
	m->k1 = k[1];
	return HY_OK;
}

void
hy_st_map_fini(struct hy_st_map *m)
{
	free(m->cells);
	memset(m, 0, sizeof(*m));
}

static size_t
hy_st_map_home(const struct hy_st_map *m, const struct hy_id *id)
{
	return (size_t)hy_st_siphash(m->k0, m->k1, id) & m->mask;
}

struct hy_st_ment *
hy_st_map_find(const struct hy_st_map *m, const struct hy_id *id)
{
	if (m->cells == NULL)
		return NULL;
	for (size_t c = hy_st_map_home(m, id);; c = (c + 1) & m->mask) {
		struct hy_st_ment *e = m->cells[c];

		if (e == NULL)
			return NULL;
		if (memcmp(e->id.b, id->b, HY_ID_LEN) == 0)
			return e;
	}
}

static void
hy_st_map_place(struct hy_st_map *m, struct hy_st_ment *e)
{
	size_t c = hy_st_map_home(m, &e->id);

	while (m->cells[c] != NULL)
		c = (c + 1) & m->mask;
	m->cells[c] = e;
}

/* Rehash into ncells cells (a power of two > 2 * count). */
static int
hy_st_map_resize(struct hy_st_map *m, size_t ncells)
{
	struct hy_st_ment **cells = calloc(ncells, sizeof(*cells));

	if (cells == NULL)
		return HY_ENOMEM;
	free(m->cells);
	m->cells = cells;
	m->mask = ncells - 1;
	for (struct hy_st_ment *e = m->head; e != NULL; e = e->next)
		hy_st_map_place(m, e);
	return HY_OK;
}

int
hy_st_map_reserve(struct hy_st_map *m)
{
	size_t n = m->cells == NULL ? 0 : m->mask + 1;

	if (2 * (m->count + 1) <= n)
		return HY_OK;
	return hy_st_map_resize(m, n == 0 ? HY_ST_MAP_MIN : 2 * n);
}

void
hy_st_map_insert(struct hy_st_map *m, struct hy_st_ment *e)
{
	assert(m->cells != NULL && 2 * (m->count + 1) <= m->mask + 1);
	assert(hy_st_map_find(m, &e->id) == NULL);
	hy_st_map_place(m, e);
	e->next = NULL;
	e->prev = m->tail;
	if (m->tail != NULL)
		m->tail->next = e;
	else
		m->head = e;
	m->tail = e;
	m->count++;
}

void
hy_st_map_remove(struct hy_st_map *m, struct hy_st_ment *e)
{
	size_t c = hy_st_map_home(m, &e->id), n = m->mask + 1;

	while (m->cells[c] != e)
		c = (c + 1) & m->mask;
	/* Backward shift: pull later members of the run into the hole. */
	for (size_t j = (c + 1) & m->mask; m->cells[j] != NULL;
	     j = (j + 1) & m->mask) {
		size_t h = hy_st_map_home(m, &m->cells[j]->id);

		/* cells[j] may move to c unless its home lies in (c, j]. */
		if (((j - h) & m->mask) >= ((j - c) & m->mask)) {
			m->cells[c] = m->cells[j];
			c = j;
		}
	}
	m->cells[c] = NULL;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		m->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		m->tail = e->prev;
	e->prev = e->next = NULL;
	m->count--;
	/* Shrink when at most 1/8 full; a failed shrink keeps the table. */
	if (m->count == 0) {
		free(m->cells);
		m->cells = NULL;
		m->mask = 0;
	} else if (n > HY_ST_MAP_MIN && 8 * m->count <= n) {
		(void)hy_st_map_resize(m, n / 2);
	}
}
