/*
 * replay.c: a bounded set of recently seen datagram nonces.
 *
 * The nonces live in a struct hy_lru that is never touched on lookup, so its
 * LRU order is arrival order and eviction drops the oldest arrival. Each
 * slot's timestamp is kept beside it. When a live entry (one the window
 * would still accept) is evicted, its timestamp raises the floor; anything
 * stamped at or below the floor is stale. That keeps the guarantee "a
 * datagram is accepted at most once" under any load, at the price of
 * refusing some old-but-in-window datagrams while the table is saturated.
 * Entries the window refuses anyway are trimmed from the old end as they are
 * met.
 */
#include "config.h"

#include <stdlib.h>

#include "hypha.h"
#include "lru.h"
#include "replay.h"

struct hy_replay {
	struct hy_lru *set; /* key: nonce */
	uint64_t *ts_ms; /* per slot */
	uint64_t window_ms;
	uint64_t floor_ms; /* timestamps <= floor are stale */
	struct hy_replay_stats st;
};

struct hy_replay *
hy_replay_new(size_t capacity, uint64_t window_ms)
{
	struct hy_replay *rp;

	if (capacity == 0 || window_ms == 0)
		return NULL;
	rp = calloc(1, sizeof(*rp));
	if (rp == NULL)
		return NULL;
	rp->set = hy_lru_new(capacity, HY_NONCE_LEN);
	rp->ts_ms = calloc(capacity, sizeof(*rp->ts_ms));
	if (rp->set == NULL || rp->ts_ms == NULL) {
		hy_replay_free(rp);
		return NULL;
	}
	rp->window_ms = window_ms;
	return rp;
}

void
hy_replay_free(struct hy_replay *rp)
{
	if (rp == NULL)
		return;
	hy_lru_free(rp->set);
	free(rp->ts_ms);
	free(rp);
}

int
hy_replay_precheck(const struct hy_replay *rp, uint64_t ts_ms, uint64_t now_ms)
{
	if (ts_ms + rp->window_ms < now_ms || ts_ms > now_ms + rp->window_ms ||
	    ts_ms <= rp->floor_ms)
		return HY_ESTALE;
	return HY_OK;
}

int
hy_replay_check(struct hy_replay *rp, uint64_t ts_ms,
    const uint8_t nonce[HY_NONCE_LEN], uint64_t now_ms)
{
	size_t s;
	bool evicted;

	if (hy_replay_precheck(rp, ts_ms, now_ms) != HY_OK) {
		rp->st.stale++;
		return HY_ESTALE;
	}
	/* trim the oldest arrivals while the window refuses them anyway */
	while ((s = hy_lru_oldest(rp->set)) != HY_LRU_NONE &&
	    rp->ts_ms[s] + rp->window_ms < now_ms)
		hy_lru_del(rp->set, s);
	if (hy_lru_get(rp->set, nonce, false) != HY_LRU_NONE) {
		rp->st.replayed++;
		return HY_EREPLAY;
	}
	s = hy_lru_oldest(rp->set);
	if (hy_lru_count(rp->set) == hy_lru_capacity(rp->set) &&
	    rp->ts_ms[s] > rp->floor_ms) {
		/* the oldest is live (trimmed above otherwise): raise floor */
		rp->floor_ms = rp->ts_ms[s];
		if (ts_ms <= rp->floor_ms) {
			rp->st.stale++;
			return HY_ESTALE;
		}
	}
	s = hy_lru_put(rp->set, nonce, &evicted);
	if (evicted)
		rp->st.evicted++;
	rp->ts_ms[s] = ts_ms;
	rp->st.accepted++;
	return HY_OK;
}

void
hy_replay_stats(const struct hy_replay *rp, struct hy_replay_stats *out)
{
	*out = rp->st;
	out->entries = hy_lru_count(rp->set);
}
