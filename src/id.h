/*
 * id.h: 256-bit node IDs and DHT keys, and the Kademlia XOR metric (L0).
 *
 * Kademlia (Maymounkov & Mazieres 2002) §2.1: the distance between two IDs is
 * their bitwise XOR read as an unsigned integer. Comparisons are big-endian:
 * byte 0, bit 7 is the most significant bit.
 */
#ifndef HY_ID_H
#define HY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypha.h"

struct hy_id {
	uint8_t b[HY_ID_LEN];
};

#define HY_ID_HEXLEN (2 * HY_ID_LEN + 1)

/* memcmp-order comparison (-1, 0, 1). Not constant time. */
int hy_id_cmp(const struct hy_id *a, const struct hy_id *b);
bool hy_id_eq(const struct hy_id *a, const struct hy_id *b);
bool hy_id_is_zero(const struct hy_id *a);

/* out = a XOR b. out may alias a or b. */
void hy_id_xor(struct hy_id *out, const struct hy_id *a, const struct hy_id *b);

/*
 * Which of a and b is closer to target: negative if a is closer, positive if
 * b is, 0 if a == b.
 */
int hy_id_cmp_dist(const struct hy_id *target, const struct hy_id *a,
    const struct hy_id *b);

/* Number of leading bits a and b share: 0..256 (256 when equal). */
int hy_id_prefix_len(const struct hy_id *a, const struct hy_id *b);

/* Bit i (0 = most significant) of id: 0 or 1. */
int hy_id_bit(const struct hy_id *id, int i);

/*
 * A uniformly random ID that shares exactly the first `prefix` bits with
 * base and differs at bit `prefix` (prefix 0..255); the remaining bits come
 * from rnd (HY_ID_LEN random bytes supplied by the caller). Used for bucket
 * refresh targets.
 */
void hy_id_random_in_prefix(struct hy_id *out, const struct hy_id *base,
    int prefix, const uint8_t rnd[HY_ID_LEN]);

/* Lowercase hex, NUL-terminated; out must hold HY_ID_HEXLEN bytes. */
void hy_id_to_hex(const struct hy_id *id, char out[HY_ID_HEXLEN]);

/* Parse exactly 64 hex digits. Returns 0 or HY_EINVAL; *id untouched on error.
 */
int hy_id_from_hex(struct hy_id *id, const char *hex);

#endif /* HY_ID_H */
