/*
 * check_lru.c: the bounded LRU map, against a brute-force reference model.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "rng.h"

START_TEST(test_lru_put_get_del)
{
	struct hy_lru *m = hy_lru_new(4, 8);
	size_t a, b;

	ck_assert_ptr_nonnull(m);
	a = hy_lru_put(m, "aaaaaaaa", NULL);
	b = hy_lru_put(m, "bbbbbbbb", NULL);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(hy_lru_get(m, "aaaaaaaa", false), a);
	ck_assert_uint_eq(hy_lru_get(m, "bbbbbbbb", false), b);
	ck_assert_uint_eq(hy_lru_get(m, "cccccccc", false), HY_LRU_NONE);
	ck_assert_uint_eq(hy_lru_count(m), 2);
	hy_lru_del(m, a);
	ck_assert_uint_eq(hy_lru_get(m, "aaaaaaaa", false), HY_LRU_NONE);
	ck_assert_uint_eq(hy_lru_count(m), 1);
	ck_assert_mem_eq(hy_lru_key(m, b), "bbbbbbbb", 8);
	hy_lru_free(m);
	hy_lru_free(NULL);
}
END_TEST

START_TEST(test_lru_evicts_least_recent)
{
	struct hy_lru *m = hy_lru_new(3, 1);
	bool ev;
	size_t sa, s;

	sa = hy_lru_put(m, "a", &ev);
	ck_assert(!ev);
	hy_lru_put(m, "b", &ev);
	hy_lru_put(m, "c", &ev);
	ck_assert(!ev);
	/* touching a makes b the least recent */
	ck_assert_uint_eq(hy_lru_get(m, "a", true), sa);
	s = hy_lru_put(m, "d", &ev);
	ck_assert(ev);
	ck_assert_uint_eq(hy_lru_get(m, "b", false), HY_LRU_NONE);
	ck_assert_uint_ne(hy_lru_get(m, "a", false), HY_LRU_NONE);
	ck_assert_uint_eq(hy_lru_get(m, "d", false), s);
	ck_assert_uint_eq(hy_lru_count(m), 3);
	/* a lookup without touch does not reorder: c is next out */
	hy_lru_get(m, "c", false);
	hy_lru_put(m, "e", &ev);
	ck_assert(ev);
	ck_assert_uint_eq(hy_lru_get(m, "c", false), HY_LRU_NONE);
	hy_lru_free(m);
}
END_TEST

START_TEST(test_lru_rejects_bad_sizes)
{
	ck_assert_ptr_null(hy_lru_new(0, 4));
	ck_assert_ptr_null(hy_lru_new(4, 0));
	ck_assert_ptr_null(hy_lru_new(4, HY_LRU_MAX_KEY + 1));
}
END_TEST

/* Random operations on a small key space against an ordered array model. */
START_TEST(test_lru_matches_reference)
{
	enum { CAP = 37, KEYS = 120 };
	/* memcheck is ~50x slower: fewer operations cover the same paths */
	const int OPS = getenv("HY_VALGRIND") != NULL ? 20000 : 200000;
	uint64_t seed = 0x5eed0001u + (uint64_t)_i;
	struct hy_rng r;
	struct hy_lru *m = hy_lru_new(CAP, 2);
	int model[CAP]; /* keys, most recent first */
	size_t slot_of[KEYS];
	int n = 0;

	hy_rng_seed(&r, seed);
	for (int op = 0; op < OPS; op++) {
		int k = (int)hy_rng_below(&r, KEYS), pos = -1;
		uint8_t key[2] = { (uint8_t)k, (uint8_t)(k >> 8) };
		size_t s;

		for (int i = 0; i < n; i++)
			if (model[i] == k)
				pos = i;
		s = hy_lru_get(m, key, false);
		ck_assert_msg((pos >= 0) == (s != HY_LRU_NONE),
		    "seed=%llu op=%d key=%d", (unsigned long long)seed, op, k);
		switch (hy_rng_below(&r, 3)) {
		case 0: /* insert or touch */
			if (pos >= 0) {
				ck_assert_uint_eq(hy_lru_get(m, key, true),
				    slot_of[k]);
				memmove(model + 1, model, sizeof(int) * pos);
				model[0] = k;
			} else {
				bool ev;
				size_t old = hy_lru_oldest(m);

				s = hy_lru_put(m, key, &ev);
				ck_assert_msg(ev == (n == CAP), "seed=%llu",
				    (unsigned long long)seed);
				if (ev) {
					ck_assert_uint_eq(s, old);
					n--; /* model drops its last */
				}
				memmove(model + 1, model, sizeof(int) * n);
				model[0] = k;
				n++;
				slot_of[k] = s;
			}
			break;
		case 1: /* delete */
			if (pos >= 0) {
				hy_lru_del(m, s);
				memmove(model + pos, model + pos + 1,
				    sizeof(int) * (n - pos - 1));
				n--;
			}
			break;
		default: /* the oldest must match the model's last */
			if (n > 0) {
				const uint8_t *ok =
				    hy_lru_key(m, hy_lru_oldest(m));

				size_t w = hy_lru_oldest(m);

				ck_assert_int_eq(ok[0] | ok[1] << 8,
				    model[n - 1]);
				/* walking newer visits the model backwards */
				for (int i = n - 1; i >= 0; i--) {
					const uint8_t *wk = hy_lru_key(m, w);

					ck_assert_int_eq(wk[0] | wk[1] << 8,
					    model[i]);
					w = hy_lru_newer(m, w);
				}
				ck_assert_uint_eq(w, HY_LRU_NONE);
			} else {
				ck_assert_uint_eq(hy_lru_oldest(m),
				    HY_LRU_NONE);
			}
		}
		ck_assert_uint_eq(hy_lru_count(m), (size_t)n);
	}
	hy_lru_free(m);
}
END_TEST

static Suite *
lru_suite(void)
{
	Suite *s = suite_create("lru");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lru_put_get_del);
	tcase_add_test(tc, test_lru_evicts_least_recent);
	tcase_add_test(tc, test_lru_rejects_bad_sizes);
	tcase_add_loop_test(tc, test_lru_matches_reference, 0, 3);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lru_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
