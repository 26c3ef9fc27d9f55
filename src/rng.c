/*
 * rng.c: xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64 as
 * its authors recommend. Deterministic and fast; not for secrets.
 */
#include "config.h"

#include <string.h>

#include "rng.h"

static uint64_t
hy_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
hy_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
hy_rng_seed(struct hy_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = hy_splitmix64(&seed);
}

uint64_t
hy_rng_next(struct hy_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = hy_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = hy_rotl(s[3], 45);
	return result;
}

uint64_t
hy_rng_below(struct hy_rng *r, uint64_t n)
{
	/* reject the top sliver that would bias the modulo */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;

	do
		x = hy_rng_next(r);
	while (x >= limit);
	return x % n;
}

double
hy_rng_unit(struct hy_rng *r)
{
	return (double)(hy_rng_next(r) >> 11) * 0x1.0p-53;
}

void
hy_rng_bytes(struct hy_rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t x;

	while (len > 0) {
		size_t n = len < sizeof(x) ? len : sizeof(x);

		x = hy_rng_next(r);
		memcpy(p, &x, n);
		p += n;
		len -= n;
	}
}
