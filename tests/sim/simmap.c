/*
 * simmap.c: linear-probing hash map with backward-shift deletion (no
 * tombstones), keyed by normalised addresses or address pairs.
 *
 * Invariants: cap is 0 or a power of two; len <= cap / 2 (grown before an
 * insert would pass it); every used entry is reachable from its home slot
 * through used entries only, which backward-shift deletion preserves. The
 * map's contents never influence event order, so iteration order (there is
 * none) cannot break determinism.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "simmap.h"

static size_t
simmap_put_addr(uint8_t *out, const struct hy_addr *a)
{
	out[0] = a->family;
	out[1] = (uint8_t)(a->port >> 8);
	out[2] = (uint8_t)a->port;
	memcpy(out + 3, a->ip, 16);
	return 19;
}

void
simmap_key(uint8_t key[SIMMAP_KEYLEN], const struct hy_addr *a,
    const struct hy_addr *b)
{
	size_t n;

	memset(key, 0, SIMMAP_KEYLEN);
	n = simmap_put_addr(key, a);
	if (b != NULL)
		simmap_put_addr(key + n, b);
}

static uint64_t
simmap_hash(const uint8_t key[SIMMAP_KEYLEN])
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	/* five 64-bit words, each folded in with a multiply-xorshift */
	for (size_t i = 0; i < SIMMAP_KEYLEN; i += 8) {
		uint64_t w;

		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct simmap_ent *
simmap_find(const struct simmap *m, const uint8_t key[SIMMAP_KEYLEN])
{
	uint32_t mask, i;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	for (i = (uint32_t)simmap_hash(key) & mask; m->ents[i].used;
	     i = (i + 1) & mask)
		if (memcmp(m->ents[i].key, key, SIMMAP_KEYLEN) == 0)
			return &m->ents[i];
	return NULL;
}

static int
simmap_grow(struct simmap *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 64;
	struct simmap_ent *old = m->ents, *ne;
	uint32_t ocap = m->cap;

	if (ncap <= m->cap)
		return -1;
	ne = calloc(ncap, sizeof(*ne));
	if (ne == NULL)
		return -1;
	m->ents = ne;
	m->cap = ncap;
	for (uint32_t j = 0; j < ocap; j++) {
		uint32_t i;

		if (!old[j].used)
			continue;
		i = (uint32_t)simmap_hash(old[j].key) & (ncap - 1);
		while (ne[i].used)
			i = (i + 1) & (ncap - 1);
		ne[i] = old[j];
	}
	free(old);
	return 0;
}

struct simmap_ent *
simmap_insert(struct simmap *m, const uint8_t key[SIMMAP_KEYLEN], bool *created)
{
	struct simmap_ent *e = simmap_find(m, key);
	uint32_t mask, i;

	if (e != NULL) {
		*created = false;
		return e;
	}
	if ((m->len + 1) * 2 > m->cap && simmap_grow(m) != 0)
		return NULL;
	mask = m->cap - 1;
	for (i = (uint32_t)simmap_hash(key) & mask; m->ents[i].used;
	     i = (i + 1) & mask)
		;
	e = &m->ents[i];
	memset(e, 0, sizeof(*e));
	e->used = 1;
	memcpy(e->key, key, SIMMAP_KEYLEN);
	m->len++;
	*created = true;
	return e;
}

bool
simmap_delete(struct simmap *m, const uint8_t key[SIMMAP_KEYLEN])
{
	struct simmap_ent *e = simmap_find(m, key);
	uint32_t mask, hole, i;

	if (e == NULL)
		return false;
	mask = m->cap - 1;
	hole = (uint32_t)(e - m->ents);
	/*
	 * Backward shift: move later entries of the run into the hole when
	 * their home slot does not lie cyclically in (hole, i].
	 */
	for (i = (hole + 1) & mask; m->ents[i].used; i = (i + 1) & mask) {
		uint32_t home = (uint32_t)simmap_hash(m->ents[i].key) & mask;

		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->ents[hole] = m->ents[i];
			hole = i;
		}
	}
	m->ents[hole].used = 0;
	m->len--;
	return true;
}

void
simmap_fini(struct simmap *m)
{
	free(m->ents);
	memset(m, 0, sizeof(*m));
}
