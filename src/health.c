/*
 * health.c: the local health multiplier (see health.h).
 */
#include "config.h"

#include "health.h"

void
hy_health_init(struct hy_health *h, unsigned max)
{
	h->score = 0;
	h->max = max == 0 ? 1 : max;
}

void
hy_health_raise(struct hy_health *h, unsigned by)
{
	h->score = by >= h->max - h->score ? h->max : h->score + by;
}

void
hy_health_lower(struct hy_health *h)
{
	if (h->score > 0)
		h->score--;
}

unsigned
hy_health_score(const struct hy_health *h)
{
	return h->score;
}

uint64_t
hy_health_scale(const struct hy_health *h, uint64_t ms)
{
	uint64_t f = (uint64_t)h->score + 1;

	return ms > UINT64_MAX / f ? UINT64_MAX : ms * f;
}
