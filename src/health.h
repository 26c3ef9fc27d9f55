/*
 * health.h: Lifeguard's local health multiplier (L4).
 *
 * A saturating score in [0, max]: evidence that the node itself is slow or
 * cut off (a probe that found nobody, a helper that sent no NACK, a timer
 * that fired late) raises it; a probe that got its answer lowers it by one.
 * The node stretches its own timeouts by (1 + score) and declares nobody
 * dead while the score is above a threshold: a degraded node's verdicts are
 * not to be trusted, by itself first (Dadgar et al., "Lifeguard", 2018, §4.3).
 */
#ifndef HY_HEALTH_H
#define HY_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct hy_health {
	unsigned score;
	unsigned max;
};

/* Start healthy (score 0) with the cap max (>= 1). */
void hy_health_init(struct hy_health *h, unsigned max);
/* Raise by `by`, saturating at max. */
void hy_health_raise(struct hy_health *h, unsigned by);
/* Lower by one, saturating at 0. */
void hy_health_lower(struct hy_health *h);
unsigned hy_health_score(const struct hy_health *h);
/* ms * (1 + score), saturating at UINT64_MAX. */
uint64_t hy_health_scale(const struct hy_health *h, uint64_t ms);

#endif /* HY_HEALTH_H */
