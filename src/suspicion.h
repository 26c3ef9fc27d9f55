/*
 * suspicion.h: one suspicion of one member, with Lifeguard's dynamic
 * timeout (L4).
 *
 * A suspicion starts when the node's own probes of a member failed. Its
 * timeout starts at max_ms and shrinks towards min_ms as independent
 * confirmations arrive (suspicion hints about the same member from other
 * nodes, each reporter counted once): after n of k confirmations the
 * timeout is max - (max - min) * log(n + 1) / log(k + 1) (Lifeguard §4.2).
 * Confirmations only shorten the wait; they never start a suspicion (the
 * node's own probes do) and never end one early.
 */
#ifndef HY_SUSPICION_H
#define HY_SUSPICION_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"

#define HY_SUSPICION_K_MAX 8 /* confirmations tracked */

struct hy_suspicion {
	uint64_t start_ms;
	uint64_t min_ms, max_ms;
	unsigned k; /* confirmations that bring the timeout to min */
	unsigned n; /* confirmations so far (<= k) */
	struct hy_id from[HY_SUSPICION_K_MAX];
};

/*
 * The timeout after n of k confirmations, in [min_ms, max_ms] (k is
 * clamped to 1..HY_SUSPICION_K_MAX; max < min counts as max = min).
 */
uint64_t hy_suspicion_timeout(uint64_t min_ms, uint64_t max_ms, unsigned k,
    unsigned n);

/*
 * The base (minimum) suspicion timeout for a view of n members:
 * mult * max(1, log10(n)) * interval_ms, as memberlist scales it.
 */
uint64_t hy_suspicion_min_ms(unsigned mult, unsigned n, uint64_t interval_ms);

/* Start (or restart) a suspicion at now_ms. */
void hy_suspicion_start(struct hy_suspicion *s, uint64_t now_ms,
    uint64_t min_ms, uint64_t max_ms, unsigned k);

/*
 * A confirmation from reporter `from`. Returns true when it counted (a
 * reporter not seen yet and fewer than k so far), false otherwise.
 */
bool hy_suspicion_confirm(struct hy_suspicion *s, const struct hy_id *from);

/* When the suspicion expires (start + the current timeout). */
uint64_t hy_suspicion_deadline(const struct hy_suspicion *s);

#endif /* HY_SUSPICION_H */
