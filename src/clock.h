/*
 * clock.h: time as the protocol modules see it (L0).
 *
 * Protocol state machines never read the system clock: they take `now` from
 * a struct hy_clock, so tests and simulations can substitute a fake clock and
 * run deterministically. Two readings exist: a monotonic clock in
 * milliseconds (timeouts, deadlines) and wall-clock Unix time in milliseconds
 * (datagram timestamps, value expiry that is persisted).
 */
#ifndef HY_CLOCK_H
#define HY_CLOCK_H

#include <stdint.h>

struct hy_clock {
	uint64_t (*mono_ms)(void *ctx);
	uint64_t (*wall_ms)(void *ctx);
	void *ctx;
};

/* Read a clock. */
static inline uint64_t
hy_clock_mono(const struct hy_clock *c)
{
	return c->mono_ms(c->ctx);
}

static inline uint64_t
hy_clock_wall(const struct hy_clock *c)
{
	return c->wall_ms(c->ctx);
}

/* The system clock (CLOCK_MONOTONIC and CLOCK_REALTIME). Never NULL. */
const struct hy_clock *hy_clock_system(void);

/*
 * A fake clock: time moves only when the test advances it. The wall clock
 * is the monotonic clock plus a fixed offset.
 */
struct hy_fake_clock {
	struct hy_clock clock; /* pass &fc.clock to modules */
	uint64_t now_ms;
	uint64_t wall_offset_ms;
};

void hy_fake_clock_init(struct hy_fake_clock *fc, uint64_t start_ms,
    uint64_t wall_offset_ms);
void hy_fake_clock_advance(struct hy_fake_clock *fc, uint64_t delta_ms);
void hy_fake_clock_set(struct hy_fake_clock *fc, uint64_t now_ms);

#endif /* HY_CLOCK_H */
