/*
 * suspicion.c: Lifeguard's dynamic suspicion timeout (see suspicion.h).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "suspicion.h"

uint64_t
hy_suspicion_timeout(uint64_t min_ms, uint64_t max_ms, unsigned k, unsigned n)
{
	double frac, t;

	if (k == 0)
		k = 1;
	if (k > HY_SUSPICION_K_MAX)
		k = HY_SUSPICION_K_MAX;
	if (max_ms <= min_ms)
		return min_ms;
	if (n >= k)
		return min_ms;
	frac = log((double)n + 1.0) / log((double)k + 1.0);
	t = (double)max_ms - frac * (double)(max_ms - min_ms);
	if (t < (double)min_ms)
		return min_ms;
	return (uint64_t)t;
}

uint64_t
hy_suspicion_min_ms(unsigned mult, unsigned n, uint64_t interval_ms)
{
	double scale = n > 10 ? log10((double)n) : 1.0;

	return (uint64_t)((double)mult * scale * (double)interval_ms);
}

void
hy_suspicion_start(struct hy_suspicion *s, uint64_t now_ms, uint64_t min_ms,
    uint64_t max_ms, unsigned k)
{
	memset(s, 0, sizeof(*s));
	s->start_ms = now_ms;
	s->min_ms = min_ms;
	s->max_ms = max_ms < min_ms ? min_ms : max_ms;
	s->k = k == 0 ? 1 : (k > HY_SUSPICION_K_MAX ? HY_SUSPICION_K_MAX : k);
}

bool
hy_suspicion_confirm(struct hy_suspicion *s, const struct hy_id *from)
{
	unsigned i;

	if (s->n >= s->k)
		return false;
	for (i = 0; i < s->n; i++)
		if (hy_id_eq(&s->from[i], from))
			return false;
	s->from[s->n++] = *from;
	return true;
}

uint64_t
hy_suspicion_deadline(const struct hy_suspicion *s)
{
	return s->start_ms +
	    hy_suspicion_timeout(s->min_ms, s->max_ms, s->k, s->n);
}
