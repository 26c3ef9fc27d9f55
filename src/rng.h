/*
 * rng.h: a small deterministic PRNG (xoshiro256**) for protocol decisions
 * that need randomness but not secrecy: jitter, sampling peers, simulations
 * (L0). Seeded by the caller; simulations print their seed. Anything secret
 * (keys, nonces, tokens) uses the crypto module's CSPRNG instead.
 */
#ifndef HY_RNG_H
#define HY_RNG_H

#include <stddef.h>
#include <stdint.h>

struct hy_rng {
	uint64_t s[4];
};

void hy_rng_seed(struct hy_rng *r, uint64_t seed);
uint64_t hy_rng_next(struct hy_rng *r);
/* Uniform in [0, n); n > 0. Unbiased (rejection sampling). */
uint64_t hy_rng_below(struct hy_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double hy_rng_unit(struct hy_rng *r);
void hy_rng_bytes(struct hy_rng *r, void *buf, size_t len);

#endif /* HY_RNG_H */
