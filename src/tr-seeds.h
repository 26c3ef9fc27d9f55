/*
 * tr-seeds.h: bootstrap seeds (DESIGN.md §5: seeds only introduce): a list
 * of "host:port" entries resolved with evdns on the caller's event_base at
 * every attempt, retried with exponential backoff and jitter until the
 * caller reports that an attempt reached someone (L2, transport side: it
 * includes libevent).
 *
 * One attempt: every literal is taken as is, every name is resolved again
 * (names may move); when all lookups have finished, the deduplicated
 * addresses go to the callback (never synchronously inside a call into
 * this module). The caller contacts them and reports back with
 * hy_seeds_attempt_result(); a failed attempt (or one in which no address
 * came out at all) schedules the next one after the backoff delay.
 */
#ifndef HY_TR_SEEDS_H
#define HY_TR_SEEDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "rng.h"

struct event_base;

/* Upper bounds on the configurable limits. */
#define HY_SEEDS_MAX_SEEDS 1024
#define HY_SEEDS_MAX_ADDRS 64
/* Longest "host:port" entry accepted. */
#define HY_SEEDS_ENTRY_MAX 300

struct hy_seeds_config {
	size_t max_seeds; /* entries in the list (64) */
	size_t max_addrs_per_name; /* addresses kept per name (8) */
	uint64_t initial_backoff_ms; /* delay after the first failure (1 s) */
	uint64_t max_backoff_ms; /* cap on the delay (5 min) */
	unsigned dns_timeout_s; /* evdns "timeout:" per query (5) */
	unsigned dns_attempts; /* evdns "attempts:" (2) */
	/*
	 * If set ("127.0.0.1:5353"), evdns asks only this server: no
	 * resolv.conf, no hosts file. NULL (default): the system's.
	 */
	const char *nameserver;
	uint64_t rng_seed; /* jitter; 0 = seed from the CSPRNG */
};

enum hy_seeds_status {
	HY_SEEDS_NONE_CONFIGURED = 0, /* empty seed list */
	HY_SEEDS_IDLE = 1, /* seeds configured, never started */
	HY_SEEDS_RESOLVING = 2, /* an attempt is under way (resolving, or
	                           waiting for the caller's verdict) */
	HY_SEEDS_ALL_DOWN = 3, /* the last attempt failed: every seed failed
	                          to resolve or to answer; retry scheduled */
	HY_SEEDS_REACHED = 4 /* the last attempt reached someone */
};

/*
 * The addresses of one attempt (n >= 1, deduplicated, no martians),
 * borrowed for the call. The callback may call any function of this module
 * except hy_seeds_free.
 */
typedef void hy_seeds_cb(const struct hy_addr *addrs, size_t n, void *arg);

struct hy_seeds;

/* Fill cfg with the defaults (values in the comments above). */
void hy_seeds_config_default(struct hy_seeds_config *cfg);

/*
 * Check one "host:port" entry: "1.2.3.4:5", "[2001:db8::1]:5" or
 * "name.example:5" (letters, digits, '-' and '.', labels of 1..63
 * characters, 253 at most, port 1..65535). On success *lit is set to the
 * address when the host is a literal and zeroed for a name. Returns HY_OK
 * or HY_EINVAL with err naming the entry and the reason.
 */
int hy_seeds_parse_entry(const char *entry, struct hy_addr *lit, char *err,
    size_t errlen);

/*
 * Create a resolver for n entries (copied; validated up front: a bad entry
 * or more than max_seeds gives HY_EINVAL and err names it) on base, which
 * the caller owns and which must outlive the resolver. cfg may be NULL.
 * n == 0 is valid: the status is HY_SEEDS_NONE_CONFIGURED and nothing is
 * ever delivered. Returns HY_OK and sets *out, HY_EINVAL or HY_ENOMEM.
 * Nothing happens until hy_seeds_start().
 */
int hy_seeds_new(struct hy_seeds **out, struct event_base *base,
    const char *const *entries, size_t n, const struct hy_seeds_config *cfg,
    hy_seeds_cb *cb, void *arg, char *err, size_t errlen);

/*
 * Stop timers and free; NULL is a no-op. The callback is not called again.
 * Lookups still in flight are failed through evdns_base_free, whose
 * callbacks evdns defers to the loop's next iteration, where they free
 * their small records: run the loop once more before freeing the
 * event_base, or those records leak.
 */
void hy_seeds_free(struct hy_seeds *s);

/*
 * Start an attempt now (from the event loop, not inside this call) unless
 * one is under way; a scheduled retry is brought forward. Used at startup
 * and when the node finds itself isolated again. Returns HY_OK, HY_ESTATE
 * (an attempt is under way) or HY_ENOENT (no seeds configured).
 */
int hy_seeds_start(struct hy_seeds *s);

/*
 * The caller's verdict on the addresses last delivered: reached (some
 * seed answered) makes the status HY_SEEDS_REACHED and resets the backoff;
 * otherwise HY_SEEDS_ALL_DOWN and the next attempt is scheduled. Returns
 * HY_OK, or HY_ESTATE when no delivered attempt is waiting for a verdict.
 */
int hy_seeds_attempt_result(struct hy_seeds *s, bool reached);

enum hy_seeds_status hy_seeds_status(const struct hy_seeds *s);

/* Number of entries. */
size_t hy_seeds_count(const struct hy_seeds *s);

/* Failed attempts in a row (0 after a success). */
unsigned hy_seeds_failures(const struct hy_seeds *s);

/* The delay of the retry now scheduled, in ms; 0 when none is. */
uint64_t hy_seeds_retry_delay_ms(const struct hy_seeds *s);

/*
 * The backoff before the attempt that follows `failures` failed ones
 * (failures >= 1): d = min(max, initial * 2^(failures-1)), then "equal
 * jitter": uniform in [d/2, d] drawn from rng. Pure; exposed for tests.
 */
uint64_t hy_seeds_backoff_ms(const struct hy_seeds_config *cfg,
    unsigned failures, struct hy_rng *rng);

#endif /* HY_TR_SEEDS_H */
