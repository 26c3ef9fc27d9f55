/*
 * ratelimit.c: token buckets, counted in milli-tokens so that refill is
 * exact integer arithmetic (rate tokens/s == rate milli-tokens/ms).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hypha.h"
#include "lru.h"
#include "ratelimit.h"

struct hy_bucket {
	uint64_t mtokens; /* milli-tokens */
	uint64_t last_ms;
};

struct hy_ratelimit {
	struct hy_ratelimit_config cfg;
	struct hy_lru *sources; /* key: family byte + 16 address bytes */
	struct hy_bucket *buckets;
	struct hy_bucket global;
	struct hy_ratelimit_stats st;
};

#define HY_RL_KEYLEN HY_ADDR_KEYLEN /* 17 bytes used off loopback */

void
hy_ratelimit_config_default(struct hy_ratelimit_config *cfg)
{
	cfg->source_rate = 200;
	cfg->source_burst = 400;
	cfg->global_rate = 20000;
	cfg->global_burst = 40000;
	cfg->max_sources = 4096;
	cfg->v6_prefix_bits = 64;
}

struct hy_ratelimit *
hy_ratelimit_new(const struct hy_ratelimit_config *cfg)
{
	struct hy_ratelimit *rl;

	if (cfg->source_rate == 0 || cfg->source_burst == 0 ||
	    cfg->max_sources == 0 || cfg->v6_prefix_bits < 32 ||
	    cfg->v6_prefix_bits > 128 ||
	    (cfg->global_rate != 0 && cfg->global_burst == 0))
		return NULL;
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	rl->cfg = *cfg;
	rl->sources = hy_lru_new(cfg->max_sources, HY_RL_KEYLEN);
	rl->buckets = calloc(cfg->max_sources, sizeof(*rl->buckets));
	if (rl->sources == NULL || rl->buckets == NULL) {
		hy_ratelimit_free(rl);
		return NULL;
	}
	rl->global.mtokens = (uint64_t)cfg->global_burst * 1000;
	return rl;
}

void
hy_ratelimit_free(struct hy_ratelimit *rl)
{
	if (rl == NULL)
		return;
	hy_lru_free(rl->sources);
	free(rl->buckets);
	free(rl);
}

static void
hy_bucket_refill(struct hy_bucket *b, uint32_t rate, uint32_t burst,
    uint64_t now_ms)
{
	uint64_t cap = (uint64_t)burst * 1000;

	if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * rate;

		b->mtokens = add >= cap - b->mtokens ? cap : b->mtokens + add;
		b->last_ms = now_ms;
	}
}

static void
hy_ratelimit_key(const struct hy_ratelimit *rl, const struct hy_addr *a,
    uint8_t key[HY_RL_KEYLEN])
{
	int bits = a->family == HY_AF_INET ? 32 : rl->cfg.v6_prefix_bits;

	memset(key, 0, HY_RL_KEYLEN);
	/*
	 * Loopback traffic can only come from this host, where several nodes
	 * may run (test overlays, the demo): there a source is an address
	 * and port, or they would throttle each other.
	 */
	if (hy_addr_is_loopback(a)) {
		hy_addr_key(a, key);
		return;
	}
	key[0] = a->family;
	memcpy(key + 1, a->ip, (size_t)bits / 8);
	if (bits % 8 != 0)
		key[1 + bits / 8] =
		    a->ip[bits / 8] & (uint8_t)(0xff00u >> (bits % 8));
}

int
hy_ratelimit_take(struct hy_ratelimit *rl, const struct hy_addr *src,
    uint64_t now_ms, uint32_t cost)
{
	uint8_t key[HY_RL_KEYLEN];
	struct hy_bucket *b;
	uint64_t need = (uint64_t)cost * 1000;
	size_t s;
	bool evicted;

	hy_ratelimit_key(rl, src, key);
	s = hy_lru_get(rl->sources, key, true);
	if (s == HY_LRU_NONE) {
		s = hy_lru_put(rl->sources, key, &evicted);
		if (evicted)
			rl->st.evictions++;
		rl->buckets[s].mtokens = (uint64_t)rl->cfg.source_burst * 1000;
		rl->buckets[s].last_ms = now_ms;
	}
	b = &rl->buckets[s];
	hy_bucket_refill(b, rl->cfg.source_rate, rl->cfg.source_burst, now_ms);
	if (b->mtokens < need) {
		rl->st.limited_source++;
		return HY_ERATELIMIT;
	}
	if (rl->cfg.global_rate != 0) {
		hy_bucket_refill(&rl->global, rl->cfg.global_rate,
		    rl->cfg.global_burst, now_ms);
		if (rl->global.mtokens < need) {
			rl->st.limited_global++;
			return HY_ERATELIMIT;
		}
		rl->global.mtokens -= need;
	}
	b->mtokens -= need;
	rl->st.allowed++;
	return HY_OK;
}

void
hy_ratelimit_stats(const struct hy_ratelimit *rl,
    struct hy_ratelimit_stats *out)
{
	*out = rl->st;
	out->sources = hy_lru_count(rl->sources);
}
