/*
 * simmap.h: a small open-addressing hash map for the simulator (test code).
 *
 * Keys are one address or an ordered pair of addresses, normalised into a
 * fixed 40-byte form built field by field (never from struct bytes, whose
 * padding is indeterminate). Each entry carries the two payloads the
 * simulator needs: the node an address belongs to and a link override.
 */
#ifndef SIMMAP_H
#define SIMMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "simnet.h"

#define SIMMAP_KEYLEN 40

struct simmap_ent {
	uint8_t used;
	uint8_t key[SIMMAP_KEYLEN];
	uint32_t node; /* address map: owner */
	struct simnet_link link; /* link map: override */
};

struct simmap {
	struct simmap_ent *ents;
	uint32_t cap; /* power of two, or 0 */
	uint32_t len;
};

/* Normalises a (b NULL) or the pair (a, b) into key. */
void simmap_key(uint8_t key[SIMMAP_KEYLEN], const struct hy_addr *a,
    const struct hy_addr *b);

/* The entry for key, or NULL. */
struct simmap_ent *simmap_find(const struct simmap *m,
    const uint8_t key[SIMMAP_KEYLEN]);
/*
 * The entry for key, created (payload zeroed) if absent; *created says
 * which. NULL if memory ran out. Entry pointers die at the next insert.
 */
struct simmap_ent *simmap_insert(struct simmap *m,
    const uint8_t key[SIMMAP_KEYLEN], bool *created);
/* Removes key; returns whether it was present. */
bool simmap_delete(struct simmap *m, const uint8_t key[SIMMAP_KEYLEN]);
void simmap_fini(struct simmap *m);

#endif /* SIMMAP_H */
