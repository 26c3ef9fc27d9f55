/*
 * check_replay.c: the replay window refuses repeats and stale timestamps,
 * and never accepts a nonce twice, even when saturated.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hypha.h"
#include "replay.h"
#include "rng.h"

static void
nonce_of(uint8_t n[HY_NONCE_LEN], uint32_t v)
{
	memset(n, 0, HY_NONCE_LEN);
	memcpy(n, &v, sizeof(v));
	n[15] = 0xa5;
}

START_TEST(test_replay_fresh_then_repeat)
{
	struct hy_replay *rp = hy_replay_new(64, 30000);
	struct hy_replay_stats st;
	uint8_t n[HY_NONCE_LEN];
	uint64_t now = 1700000000000ULL;

	nonce_of(n, 1);
	ck_assert_int_eq(hy_replay_check(rp, now, n, now), HY_OK);
	ck_assert_int_eq(hy_replay_check(rp, now, n, now + 5), HY_EREPLAY);
	nonce_of(n, 2);
	ck_assert_int_eq(hy_replay_check(rp, now - 29000, n, now), HY_OK);
	hy_replay_stats(rp, &st);
	ck_assert_uint_eq(st.accepted, 2);
	ck_assert_uint_eq(st.replayed, 1);
	ck_assert_uint_eq(st.entries, 2);
	hy_replay_free(rp);
}
END_TEST

START_TEST(test_replay_stale_window)
{
	struct hy_replay *rp = hy_replay_new(64, 30000);
	uint8_t n[HY_NONCE_LEN];
	uint64_t now = 1700000000000ULL;

	nonce_of(n, 1);
	ck_assert_int_eq(hy_replay_check(rp, now - 30001, n, now), HY_ESTALE);
	ck_assert_int_eq(hy_replay_check(rp, now + 30001, n, now), HY_ESTALE);
	ck_assert_int_eq(hy_replay_precheck(rp, now + 30000, now), HY_OK);
	ck_assert_int_eq(hy_replay_check(rp, now, n, now), HY_OK);
	/* once the window has passed, the same datagram is stale */
	ck_assert_int_eq(hy_replay_check(rp, now, n, now + 30001), HY_ESTALE);
	hy_replay_free(rp);
}
END_TEST

START_TEST(test_replay_saturation_raises_floor)
{
	struct hy_replay *rp = hy_replay_new(4, 30000);
	struct hy_replay_stats st;
	uint8_t n[HY_NONCE_LEN];
	uint64_t now = 1700000000000ULL;

	for (uint32_t i = 0; i < 4; i++) {
		nonce_of(n, i);
		ck_assert_int_eq(hy_replay_check(rp, now + i, n, now), HY_OK);
	}
	/* a fifth evicts nonce 0 (ts now) and sets the floor there */
	nonce_of(n, 4);
	ck_assert_int_eq(hy_replay_check(rp, now + 10, n, now), HY_OK);
	/* nonce 0 is gone from the table but must still be refused */
	nonce_of(n, 0);
	ck_assert_int_eq(hy_replay_check(rp, now, n, now), HY_ESTALE);
	/* a new nonce at or below the floor is refused too */
	nonce_of(n, 99);
	ck_assert_int_eq(hy_replay_check(rp, now, n, now), HY_ESTALE);
	ck_assert_int_eq(hy_replay_check(rp, now + 11, n, now), HY_OK);
	hy_replay_stats(rp, &st);
	ck_assert_uint_ge(st.evicted, 1);
	ck_assert_uint_le(st.entries, 4);
	hy_replay_free(rp);
}
END_TEST

/* Random traffic with replays on a tiny table: nothing accepted twice. */
START_TEST(test_replay_never_accepts_twice)
{
	enum { N = 4000, CAP = 16 };
	uint64_t seed = 0xabcdef12ULL;
	struct hy_rng r;
	struct hy_replay *rp = hy_replay_new(CAP, 1000);
	uint64_t ts[N];
	int accepted[N];
	uint64_t now = 1000000;
	int total = 0;

	hy_rng_seed(&r, seed);
	memset(accepted, 0, sizeof(accepted));
	for (int i = 0; i < N; i++)
		ts[i] = 0;
	for (int step = 0; step < 50000; step++) {
		/* new datagrams or replays of old ones, time creeping on */
		int i = (int)hy_rng_below(&r, N);
		uint8_t n[HY_NONCE_LEN];

		now += hy_rng_below(&r, 3);
		if (ts[i] == 0)
			ts[i] = now - hy_rng_below(&r, 900);
		nonce_of(n, (uint32_t)i);
		if (hy_replay_check(rp, ts[i], n, now) == HY_OK) {
			ck_assert_msg(!accepted[i],
			    "seed=%llu: nonce %d accepted twice",
			    (unsigned long long)seed, i);
			accepted[i] = 1;
			total++;
		}
	}
	/* and the window still lets real traffic through */
	ck_assert_int_gt(total, 500);
	hy_replay_free(rp);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_replay_fresh_then_repeat);
	tcase_add_test(tc, test_replay_stale_window);
	tcase_add_test(tc, test_replay_saturation_raises_floor);
	tcase_add_test(tc, test_replay_never_accepts_twice);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(replay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
