/*
 * check_ratelimit.c: per-source and global token buckets.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "addr.h"
#include "hypha.h"
#include "ratelimit.h"

static struct hy_addr
addr(const char *s)
{
	struct hy_addr a;

	ck_assert_int_eq(hy_addr_parse(&a, s), HY_OK);
	return a;
}

static int
burst(struct hy_ratelimit *rl, const struct hy_addr *a, uint64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += hy_ratelimit_take(rl, a, now, 1) == HY_OK;
	return ok;
}

START_TEST(test_ratelimit_burst_then_refill)
{
	struct hy_ratelimit_config cfg;
	struct hy_ratelimit *rl;
	struct hy_addr a = addr("192.0.2.1:4000");

	hy_ratelimit_config_default(&cfg);
	cfg.source_rate = 10;
	cfg.source_burst = 20;
	rl = hy_ratelimit_new(&cfg);
	ck_assert_ptr_nonnull(rl);
	ck_assert_int_eq(burst(rl, &a, 1000, 50), 20);
	/* 500 ms at 10/s refills 5 tokens */
	ck_assert_int_eq(burst(rl, &a, 1500, 50), 5);
	/* a long pause refills only up to the burst */
	ck_assert_int_eq(burst(rl, &a, 100000, 50), 20);
	hy_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_flood_does_not_starve_others)
{
	struct hy_ratelimit_config cfg;
	struct hy_ratelimit *rl;
	struct hy_ratelimit_stats st;
	struct hy_addr flood = addr("198.51.100.7:1"),
	               good = addr("203.0.113.9:2");
	int good_ok = 0;

	hy_ratelimit_config_default(&cfg);
	rl = hy_ratelimit_new(&cfg);
	/* 10 s of a 100000 packet/s flood with 10/s of normal traffic */
	for (uint64_t ms = 0; ms < 10000; ms++) {
		burst(rl, &flood, ms, 100);
		if (ms % 100 == 0)
			good_ok += hy_ratelimit_take(rl, &good, ms, 1) == HY_OK;
	}
	ck_assert_int_eq(good_ok, 100);
	hy_ratelimit_stats(rl, &st);
	/* the flood got its burst plus its rate, no more */
	ck_assert_uint_le(st.allowed, 400 + 200 * 10 + 100 + 1);
	ck_assert_uint_gt(st.limited_source, 990000);
	hy_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_global_cap)
{
	struct hy_ratelimit_config cfg;
	struct hy_ratelimit *rl;
	struct hy_ratelimit_stats st;
	int ok = 0;

	hy_ratelimit_config_default(&cfg);
	cfg.global_rate = 100;
	cfg.global_burst = 50;
	rl = hy_ratelimit_new(&cfg);
	for (int i = 0; i < 200; i++) {
		struct hy_addr a = addr("10.0.0.1:1");

		a.ip[3] = (uint8_t)i;
		ok += hy_ratelimit_take(rl, &a, 5, 1) == HY_OK;
	}
	ck_assert_int_eq(ok, 50);
	hy_ratelimit_stats(rl, &st);
	ck_assert_uint_eq(st.limited_global, 150);
	hy_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_ipv6_prefix_shares_bucket)
{
	struct hy_ratelimit_config cfg;
	struct hy_ratelimit *rl;
	struct hy_addr a = addr("[2001:db8:1:2::1]:1");
	struct hy_addr b = addr("[2001:db8:1:2:ffff::9]:1");
	struct hy_addr c = addr("[2001:db8:1:3::1]:1");

	hy_ratelimit_config_default(&cfg);
	cfg.source_burst = 10;
	cfg.source_rate = 1;
	rl = hy_ratelimit_new(&cfg);
	ck_assert_int_eq(burst(rl, &a, 0, 6), 6);
	ck_assert_int_eq(burst(rl, &b, 0, 6), 4); /* same /64 */
	ck_assert_int_eq(burst(rl, &c, 0, 6), 6); /* another /64 */
	hy_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_source_table_bounded)
{
	struct hy_ratelimit_config cfg;
	struct hy_ratelimit *rl;
	struct hy_ratelimit_stats st;

	hy_ratelimit_config_default(&cfg);
	cfg.max_sources = 8;
	cfg.global_rate = 0;
	rl = hy_ratelimit_new(&cfg);
	for (int i = 0; i < 100; i++) {
		struct hy_addr a = addr("10.1.0.0:1");

		a.ip[3] = (uint8_t)i;
		ck_assert_int_eq(hy_ratelimit_take(rl, &a, 0, 1), HY_OK);
	}
	hy_ratelimit_stats(rl, &st);
	ck_assert_uint_eq(st.sources, 8);
	ck_assert_uint_eq(st.evictions, 92);
	hy_ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_rejects_bad_config)
{
	struct hy_ratelimit_config cfg;

	hy_ratelimit_config_default(&cfg);
	cfg.max_sources = 0;
	ck_assert_ptr_null(hy_ratelimit_new(&cfg));
	hy_ratelimit_config_default(&cfg);
	cfg.v6_prefix_bits = 16;
	ck_assert_ptr_null(hy_ratelimit_new(&cfg));
}
END_TEST

START_TEST(test_ratelimit_loopback_by_port)
{
	struct hy_ratelimit_config cfg;
	struct hy_ratelimit *rl;
	struct hy_addr a = addr("127.0.0.1:4000"), b = addr("127.0.0.1:4001");
	struct hy_addr p1 = addr("192.0.2.1:4000"), p2 = addr("192.0.2.1:4001");

	hy_ratelimit_config_default(&cfg);
	cfg.source_rate = 1;
	cfg.source_burst = 5;
	rl = hy_ratelimit_new(&cfg);
	/* two nodes of this host: separate buckets */
	ck_assert_int_eq(burst(rl, &a, 0, 10), 5);
	ck_assert_int_eq(burst(rl, &b, 0, 10), 5);
	/* elsewhere, ports buy nothing */
	ck_assert_int_eq(burst(rl, &p1, 0, 10), 5);
	ck_assert_int_eq(burst(rl, &p2, 0, 10), 0);
	hy_ratelimit_free(rl);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ratelimit_burst_then_refill);
	tcase_add_test(tc, test_ratelimit_flood_does_not_starve_others);
	tcase_add_test(tc, test_ratelimit_global_cap);
	tcase_add_test(tc, test_ratelimit_ipv6_prefix_shares_bucket);
	tcase_add_test(tc, test_ratelimit_source_table_bounded);
	tcase_add_test(tc, test_ratelimit_rejects_bad_config);
	tcase_add_test(tc, test_ratelimit_loopback_by_port);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
