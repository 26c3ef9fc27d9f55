/*
 * ratelimit.h: token buckets per source address and overall (L2).
 *
 * Runs before any signature is verified, so a flood from one source costs
 * the node a table lookup per packet and cannot starve other sources.
 * Sources are keyed by IPv4 address or IPv6 /v6_prefix_bits (a host gets a
 * whole /64 on most IPv6 networks); loopback sources by address and port,
 * since several nodes of one host may share an address. The table of sources is
 * bounded; a new source beyond capacity displaces the least recently active one
 * (which starts again with a full bucket: eviction only ever makes the limit
 * more lenient for the evicted source, never stricter for anyone).
 */
#ifndef HY_RATELIMIT_H
#define HY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct hy_ratelimit_config {
	uint32_t source_rate; /* tokens per second per source */
	uint32_t source_burst; /* bucket size per source */
	uint32_t global_rate; /* tokens per second, all sources; 0 = off */
	uint32_t global_burst;
	size_t max_sources; /* sources tracked at once */
	int v6_prefix_bits; /* IPv6 source granularity, 32..128 */
};

struct hy_ratelimit_stats {
	uint64_t allowed;
	uint64_t limited_source;
	uint64_t limited_global;
	uint64_t evictions;
	size_t sources;
};

struct hy_ratelimit;

/* Defaults: 200/s burst 400 per source, 20000/s burst 40000 overall, 4096
 * sources, IPv6 /64. */
void hy_ratelimit_config_default(struct hy_ratelimit_config *cfg);

/* NULL on invalid config or allocation failure. */
struct hy_ratelimit *hy_ratelimit_new(const struct hy_ratelimit_config *cfg);
void hy_ratelimit_free(struct hy_ratelimit *rl);

/*
 * Take `cost` tokens for a packet from src at monotonic time now_ms.
 * Returns 0 if allowed, HY_ERATELIMIT if the source's or the global bucket
 * lacks them (nothing is taken then).
 */
int hy_ratelimit_take(struct hy_ratelimit *rl, const struct hy_addr *src,
    uint64_t now_ms, uint32_t cost);

void hy_ratelimit_stats(const struct hy_ratelimit *rl,
    struct hy_ratelimit_stats *out);

#endif /* HY_RATELIMIT_H */
