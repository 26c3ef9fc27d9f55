/*
 * log.c: log lines go to the embedder's callback, never to a stream.
 *
 * Peer-triggered lines pass a token bucket (burst, then a steady rate) so a
 * peer that sends garbage at line rate costs the embedder a bounded number of
 * log lines; the number suppressed is kept and reported with the next line
 * that gets through.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

#define HY_LOG_LINE_MAX 512

void
hy_log_init(struct hy_log *log, hy_log_cb *cb, void *arg,
    enum hy_log_level max_level)
{
	log->cb = cb;
	log->arg = arg;
	log->max_level = max_level;
	log->rl_last_ms = 0;
	log->rl_burst = 20;
	log->rl_per_sec = 5;
	log->rl_tokens = log->rl_burst;
	log->rl_suppressed = 0;
}

static void
hy_log_vemit(struct hy_log *log, enum hy_log_level level, const char *fmt,
    va_list ap)
{
	char line[HY_LOG_LINE_MAX];

	if (log == NULL || log->cb == NULL || level > log->max_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log->cb(level, line, log->arg);
}

void
hy_log_emit(struct hy_log *log, enum hy_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hy_log_vemit(log, level, fmt, ap);
	va_end(ap);
}

int
hy_log_ratelimited(struct hy_log *log, uint64_t now_ms, enum hy_log_level level,
    const char *fmt, ...)
{
	va_list ap;
	uint64_t refill;

	if (log == NULL || log->cb == NULL || level > log->max_level)
		return 0;
	if (now_ms > log->rl_last_ms) {
		refill = (now_ms - log->rl_last_ms) * log->rl_per_sec / 1000;
		if (refill > 0) {
			if (refill > log->rl_burst - log->rl_tokens)
				refill = log->rl_burst - log->rl_tokens;
			log->rl_tokens += (uint32_t)refill;
			log->rl_last_ms = now_ms;
		}
	}
	if (log->rl_tokens == 0) {
		log->rl_suppressed++;
		return 0;
	}
	log->rl_tokens--;
	if (log->rl_suppressed > 0) {
		hy_log_emit(log, level, "(%llu similar lines suppressed)",
		    (unsigned long long)log->rl_suppressed);
		log->rl_suppressed = 0;
	}
	va_start(ap, fmt);
	hy_log_vemit(log, level, fmt, ap);
	va_end(ap);
	return 1;
}
