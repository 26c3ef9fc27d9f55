/*
 * log.h: logging through the embedder's callback (L0).
 *
 * The library never writes to stdout/stderr. A struct hy_log is embedded in
 * whatever owns the modules (the node); a NULL callback discards everything.
 * Lines triggered by peers go through hy_log_ratelimited() so a hostile peer
 * cannot flood the embedder's log; callers must never log raw remote bytes.
 */
#ifndef HY_LOG_H
#define HY_LOG_H

#include <stdint.h>

#include "hypha.h"

struct hy_log {
	hy_log_cb *cb;
	void *arg;
	enum hy_log_level max_level; /* lines above this level are dropped */
	/* rate limit for peer-triggered lines: a token bucket */
	uint64_t rl_last_ms;
	uint32_t rl_tokens;
	uint32_t rl_burst; /* bucket size (default 20) */
	uint32_t rl_per_sec; /* refill rate (default 5/s) */
	uint64_t rl_suppressed; /* lines dropped by the limit */
};

/* Set up a log; cb may be NULL (discard). */
void hy_log_init(struct hy_log *log, hy_log_cb *cb, void *arg,
    enum hy_log_level max_level);

/* Format and emit one line. Lines longer than 512 bytes are truncated. */
void hy_log_emit(struct hy_log *log, enum hy_log_level level, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * Like hy_log_emit, but subject to the token bucket; now_ms is the caller's
 * monotonic time. Returns 1 if the line was emitted, 0 if suppressed.
 */
int hy_log_ratelimited(struct hy_log *log, uint64_t now_ms,
    enum hy_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* HY_LOG_H */
