/*
 * clock.c: the system clock and a fake clock for tests and simulations.
 */
#include "config.h"

#include <time.h>

#include "clock.h"

static uint64_t
hy_sys_read(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t
hy_sys_mono(void *ctx)
{
	(void)ctx;
	return hy_sys_read(CLOCK_MONOTONIC);
}

static uint64_t
hy_sys_wall(void *ctx)
{
	(void)ctx;
	return hy_sys_read(CLOCK_REALTIME);
}

static const struct hy_clock hy_system_clock = {
	.mono_ms = hy_sys_mono,
	.wall_ms = hy_sys_wall,
	.ctx = NULL,
};

const struct hy_clock *
hy_clock_system(void)
{
	return &hy_system_clock;
}

static uint64_t
hy_fake_mono(void *ctx)
{
	const struct hy_fake_clock *fc = ctx;

	return fc->now_ms;
}

static uint64_t
hy_fake_wall(void *ctx)
{
	const struct hy_fake_clock *fc = ctx;

	return fc->now_ms + fc->wall_offset_ms;
}

void
hy_fake_clock_init(struct hy_fake_clock *fc, uint64_t start_ms,
    uint64_t wall_offset_ms)
{
	fc->clock.mono_ms = hy_fake_mono;
	fc->clock.wall_ms = hy_fake_wall;
	fc->clock.ctx = fc;
	fc->now_ms = start_ms;
	fc->wall_offset_ms = wall_offset_ms;
}

void
hy_fake_clock_advance(struct hy_fake_clock *fc, uint64_t delta_ms)
{
	fc->now_ms += delta_ms;
}

void
hy_fake_clock_set(struct hy_fake_clock *fc, uint64_t now_ms)
{
	/* time never runs backwards, even on a fake clock */
	if (now_ms > fc->now_ms)
		fc->now_ms = now_ms;
}
