/*
 * replay.h: the replay window for signed datagrams (L2).
 *
 * A datagram is fresh when its timestamp lies within +/- window_ms of the
 * local wall clock and its nonce has not been seen. Seen nonces are kept in
 * a bounded table; when it is full the oldest entries are evicted and the
 * largest evicted timestamp becomes a floor: anything stamped at or below it
 * is refused as stale, so eviction never reopens the door to a replay.
 */
#ifndef HY_REPLAY_H
#define HY_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define HY_NONCE_LEN 16

struct hy_replay;

struct hy_replay_stats {
	uint64_t accepted;
	uint64_t replayed; /* nonce seen before */
	uint64_t stale; /* outside the window or at/below the floor */
	uint64_t evicted; /* live entries dropped because the table was full */
	size_t entries;
};

/*
 * A window of +/- window_ms holding at most capacity nonces (both > 0).
 * Returns NULL on allocation failure.
 */
struct hy_replay *hy_replay_new(size_t capacity, uint64_t window_ms);
void hy_replay_free(struct hy_replay *rp);

/*
 * Check a (timestamp, nonce) pair against the window at wall time now_ms and
 * remember it if fresh. Call only after the signature has verified, so
 * forged datagrams cannot fill the table. Returns 0 (fresh, recorded),
 * HY_ESTALE or HY_EREPLAY.
 */
int hy_replay_check(struct hy_replay *rp, uint64_t ts_ms,
    const uint8_t nonce[HY_NONCE_LEN], uint64_t now_ms);

/*
 * The cheap part of hy_replay_check, for before the signature is verified:
 * HY_ESTALE if ts_ms cannot be fresh, else 0. Records nothing.
 */
int hy_replay_precheck(const struct hy_replay *rp, uint64_t ts_ms,
    uint64_t now_ms);

void hy_replay_stats(const struct hy_replay *rp, struct hy_replay_stats *out);

#endif /* HY_REPLAY_H */
