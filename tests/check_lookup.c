/*
 * check_lookup.c: unit tests for the iterative lookup (src/lookup.c).
 *
 * Most tests use the zero ID as the target, so a contact's distance is its
 * ID: nid(d) is the node at distance d, which keeps the expected orders
 * readable. Time is explicit (T0 + ms). The randomized test prints its seed
 * on failure.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "rng.h"

#define T0 1000000ull

static struct hy_id
nid(uint32_t d)
{
	struct hy_id id;

	memset(&id, 0, sizeof(id));
	id.b[28] = (uint8_t)(d >> 24);
	id.b[29] = (uint8_t)(d >> 16);
	id.b[30] = (uint8_t)(d >> 8);
	id.b[31] = (uint8_t)d;
	return id;
}

/* 10.a.b.c:6881, distinct for every d. */
static struct hy_addr
naddr(uint32_t d)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET;
	a.ip[0] = 10;
	a.ip[1] = (uint8_t)(d >> 16);
	a.ip[2] = (uint8_t)(d >> 8);
	a.ip[3] = (uint8_t)d;
	a.port = 6881;
	return a;
}

static struct hy_lookup_contact
nct(uint32_t d)
{
	struct hy_lookup_contact c;

	c.id = nid(d);
	c.addr = naddr(d);
	return c;
}

/* The distance (low 32 bits) of a peer from the zero target. */
static uint32_t
pd(const struct hy_lookup_peer *p)
{
	return (uint32_t)p->id.b[28] << 24 | (uint32_t)p->id.b[29] << 16 |
	    (uint32_t)p->id.b[30] << 8 | p->id.b[31];
}

static struct hy_lookup *
mk(enum hy_lookup_kind kind, const struct hy_lookup_config *cfg)
{
	struct hy_lookup *lk = NULL;
	struct hy_id zero;

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(hy_lookup_new(&lk, &zero, kind, cfg, T0), HY_OK);
	ck_assert_ptr_nonnull(lk);
	return lk;
}

static void
nseed(struct hy_lookup *lk, const uint32_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hy_id id = nid(d[i]);
		struct hy_addr a = naddr(d[i]);

		ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_OK);
	}
}

static int
nreply(struct hy_lookup *lk, uint32_t d, uint64_t now,
    const struct hy_lookup_contact *c, size_t n, unsigned values)
{
	struct hy_id id = nid(d);

	return hy_lookup_reply(lk, &id, now, c, n, values);
}

static int
nfail(struct hy_lookup *lk, uint32_t d, uint64_t now)
{
	struct hy_id id = nid(d);

	return hy_lookup_fail(lk, &id, now);
}

START_TEST(test_lookup_config)
{
	struct hy_lookup_config cfg;
	struct hy_lookup *lk = NULL;
	struct hy_id t = nid(1);

	hy_lookup_config_default(&cfg);
	ck_assert_uint_eq(cfg.alpha, 3);
	ck_assert_uint_eq(cfg.k, 20);
	ck_assert_uint_eq(cfg.window, 0);
	ck_assert_uint_eq(cfg.soft_timeout_ms, 500);
	ck_assert_uint_eq(cfg.hard_timeout_ms, 2000);
	ck_assert_uint_eq(cfg.timeout_ms, 10000);
	ck_assert_uint_eq(cfg.enough_values, 1);
	ck_assert_int_eq(hy_lookup_new(&lk, NULL, HY_LOOKUP_FIND_NODE, &cfg,
	                     T0),
	    HY_EINVAL);
	ck_assert_int_eq(hy_lookup_new(&lk, &t, (enum hy_lookup_kind)9, &cfg,
	                     T0),
	    HY_EINVAL);
	cfg.window = cfg.k; /* must be > k */
	ck_assert_int_eq(hy_lookup_new(&lk, &t, HY_LOOKUP_FIND_NODE, &cfg, T0),
	    HY_EINVAL);
	hy_lookup_config_default(&cfg);
	cfg.hard_timeout_ms = cfg.soft_timeout_ms - 1;
	ck_assert_int_eq(hy_lookup_new(&lk, &t, HY_LOOKUP_FIND_NODE, &cfg, T0),
	    HY_EINVAL);
	hy_lookup_config_default(&cfg);
	cfg.alpha = 0;
	ck_assert_int_eq(hy_lookup_new(&lk, &t, HY_LOOKUP_FIND_NODE, &cfg, T0),
	    HY_EINVAL);
	hy_lookup_config_default(&cfg);
	cfg.max_requests = 0;
	ck_assert_int_eq(hy_lookup_new(&lk, &t, HY_LOOKUP_FIND_NODE, &cfg, T0),
	    HY_EINVAL);
	cfg.max_requests = HY_LOOKUP_REQUESTS_MAX + 1;
	ck_assert_int_eq(hy_lookup_new(&lk, &t, HY_LOOKUP_FIND_NODE, &cfg, T0),
	    HY_EINVAL);
	ck_assert_ptr_null(lk);
	/* NULL config: defaults; window 3k. */
	ck_assert_int_eq(hy_lookup_new(&lk, &t, HY_LOOKUP_GET_PEERS, NULL, T0),
	    HY_OK);
	ck_assert_int_eq(hy_lookup_kind(lk), HY_LOOKUP_GET_PEERS);
	ck_assert(hy_id_eq(hy_lookup_target(lk), &t));
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_RUNNING);
	for (uint32_t d = 2; d < 200; d++) {
		struct hy_id id = nid(d);
		struct hy_addr a = naddr(d);

		hy_lookup_add(lk, &id, &a, 0);
	}
	ck_assert_uint_eq(hy_lookup_candidates(lk), 60);
	hy_lookup_free(lk);
	hy_lookup_free(NULL);
	ck_assert_str_eq(hy_lookup_status_str(HY_LOOKUP_TIMED_OUT),
	    "timed out");
}
END_TEST

START_TEST(test_lookup_alpha_respected)
{
	static const uint32_t d[] = { 10, 20, 30, 40, 50, 60, 70 };
	struct hy_lookup_peer out[16];
	struct hy_lookup *lk = mk(HY_LOOKUP_FIND_NODE, NULL);
	struct hy_lookup_stats st;

	nseed(lk, d, 7);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 0);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 3);
	/* One reply frees one slot. */
	ck_assert_int_eq(nreply(lk, 20, T0 + 50, NULL, 0, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 50, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 40);
	/* max limits a single call too. */
	ck_assert_int_eq(nfail(lk, 10, T0 + 60), HY_OK);
	ck_assert_int_eq(nfail(lk, 30, T0 + 60), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 60, out, 1), 1);
	ck_assert_uint_eq(pd(&out[0]), 50);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 60, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 60);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 3);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.requests, 6);
	ck_assert_uint_eq(st.replies, 1);
	ck_assert_uint_eq(st.failures, 2);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_closest_first)
{
	static const uint32_t d[] = { 70, 30, 50, 10, 60, 20, 40 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup *lk;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 2;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 7);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 2);
	ck_assert_uint_eq(pd(&out[0]), 10);
	ck_assert_uint_eq(pd(&out[1]), 20);
	ck_assert_uint_eq(out[0].hop, 0);
	/* A closer contact learnt from a reply goes first, one hop on. */
	{
		struct hy_lookup_contact c[2] = { nct(5), nct(45) };

		ck_assert_int_eq(nreply(lk, 20, T0 + 10, c, 2, 0), HY_OK);
	}
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 10, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 5);
	ck_assert_uint_eq(out[0].hop, 1);
	ck_assert_int_eq(nreply(lk, 10, T0 + 20, NULL, 0, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 20, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 30);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_reply_merges_window)
{
	static const uint32_t d[] = { 10, 20, 30, 40 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;
	struct hy_lookup_contact c[3] = { nct(5), nct(50), nct(25) };
	struct hy_id id;
	struct hy_addr a;

	hy_lookup_config_default(&cfg);
	cfg.k = 2;
	cfg.window = 4;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 4);
	/* Full window: a farther seed is refused. */
	id = nid(45);
	a = naddr(45);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_EFULL);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3); /* 10 20 30 */
	/*
	 * 5 is closer: the farthest entry without a query in flight (40)
	 * gives way. 50 is farther than everything: refused. 25 could only
	 * displace 30, which is in flight: refused too.
	 */
	ck_assert_int_eq(nreply(lk, 10, T0 + 10, c, 3, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_candidates(lk), 4);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.evicted, 1);
	ck_assert_uint_eq(st.dropped, 3); /* 45, 50, 25 */
	ck_assert_uint_eq(st.added, 5);
	/* 20 and 30 are in flight, so alpha 3 leaves one slot: 5. */
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 10, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 5);
	ck_assert_uint_eq(out[0].hop, 1);
	/* 40 is gone: a reply from it is unknown. */
	ck_assert_int_eq(nreply(lk, 40, T0 + 20, NULL, 0, 0), HY_ENOENT);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_duplicates_self_ignored)
{
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk = mk(HY_LOOKUP_FIND_NODE, NULL);
	struct hy_id id = nid(10), self = nid(7), zero;
	struct hy_addr a = naddr(10), b = naddr(11), bad;
	struct hy_lookup_contact c[5];

	memset(&zero, 0, sizeof(zero));
	memset(&bad, 0, sizeof(bad));
	ck_assert_int_eq(hy_lookup_set_self(lk, &zero), HY_EINVAL);
	ck_assert_int_eq(hy_lookup_set_self(lk, &self), HY_OK);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_OK);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_EEXIST);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &b, 0), HY_EEXIST);
	id = nid(12);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_EEXIST); /* addr */
	ck_assert_int_eq(hy_lookup_add(lk, &self, &b, 0), HY_ESELF);
	ck_assert_int_eq(hy_lookup_add(lk, &zero, &b, 0), HY_EMALFORMED);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &bad, 0), HY_EMARTIAN);
	bad = naddr(13);
	bad.ip[0] = 224; /* multicast */
	ck_assert_int_eq(hy_lookup_add(lk, &id, &bad, 0), HY_EMARTIAN);
	ck_assert_uint_eq(hy_lookup_candidates(lk), 1);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 1);
	/* A reply naming the responder, self, a duplicate: one new contact. */
	c[0] = nct(10);
	c[1] = nct(7);
	c[2] = nct(20);
	c[3] = nct(20);
	c[4] = nct(0);
	ck_assert_int_eq(nreply(lk, 10, T0 + 5, c, 5, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_candidates(lk), 2);
	/* The target itself is a valid (the closest) contact. */
	{
		struct hy_lookup *lk2;
		struct hy_id t = nid(99);
		struct hy_addr ta = naddr(99);

		ck_assert_int_eq(hy_lookup_new(&lk2, &t, HY_LOOKUP_FIND_NODE,
		                     NULL, T0),
		    HY_OK);
		ck_assert_int_eq(hy_lookup_add(lk2, &t, &ta, 0), HY_OK);
		hy_lookup_free(lk2);
	}
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.added, 2);
	ck_assert_uint_eq(st.dropped, 11);
	/* Replies that make no sense. */
	ck_assert_int_eq(nreply(lk, 10, T0 + 6, NULL, 0, 0), HY_ESTATE);
	ck_assert_int_eq(nreply(lk, 20, T0 + 6, NULL, 0, 0), HY_ESTATE);
	ck_assert_int_eq(nreply(lk, 30, T0 + 6, NULL, 0, 0), HY_ENOENT);
	ck_assert_int_eq(nfail(lk, 30, T0 + 6), HY_ENOENT);
	ck_assert_int_eq(hy_lookup_reply(lk, &id, T0 + 6, NULL, 1, 0),
	    HY_EINVAL);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_soft_timeout_late_reply)
{
	static const uint32_t d[] = { 10, 20, 30 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 1;
	cfg.k = 2;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 3);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 1);
	ck_assert_uint_eq(hy_lookup_next_deadline(lk), T0 + 500);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 499, out, 16), 0);
	/* Soft timeout: 10 frees its slot, 20 goes out. */
	ck_assert_uint_eq(hy_lookup_tick(lk, T0 + 500), T0 + 2000);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 1);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 500, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 20);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 2);
	/* 10's hard deadline (T0 + 2000) is later than 20's soft one. */
	ck_assert_uint_eq(hy_lookup_next_deadline(lk), T0 + 1000);
	/* The late reply counts and does not free a second slot. */
	ck_assert_int_eq(nreply(lk, 10, T0 + 700, NULL, 0, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 700, out, 16), 0);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.soft_timeouts, 1);
	ck_assert_uint_eq(st.late_replies, 1);
	ck_assert_uint_eq(st.replies, 1);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_int_eq(nreply(lk, 20, T0 + 710, NULL, 0, 0), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 2);
	ck_assert_uint_eq(out[0].rtt_ms, 700);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_hard_timeout_fails)
{
	static const uint32_t d[] = { 10, 20 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 1;
	cfg.k = 1;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 2);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 1);
	ck_assert_uint_eq(hy_lookup_tick(lk, T0 + 500), T0 + 2000);
	/* With k = 1, 10 is still the closest live candidate: no DONE. */
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 500, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 20);
	ck_assert_int_eq(nreply(lk, 20, T0 + 600, NULL, 0, 0), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_RUNNING);
	ck_assert_uint_eq(hy_lookup_next_deadline(lk), T0 + 2000);
	/* Hard timeout: 10 failed; 20 is now the closest and has replied. */
	hy_lookup_tick(lk, T0 + 2000);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE);
	ck_assert_uint_eq(hy_lookup_next_deadline(lk), UINT64_MAX);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.failures, 1);
	ck_assert_uint_eq(st.finished_ms, T0 + 2000);
	ck_assert_int_eq(nreply(lk, 10, T0 + 2100, NULL, 0, 0), HY_ESTATE);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 20);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_hard_timeout_running)
{
	static const uint32_t d[] = { 10, 20, 30 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup *lk;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 3;
	cfg.k = 3;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 3);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3);
	ck_assert_int_eq(nreply(lk, 30, T0 + 10, NULL, 0, 0), HY_OK);
	/* No tick in between: next applies the timeouts itself. */
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 1999, out, 16), 0);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 2);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 2000, out, 16), 0);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 0);
	/* Every candidate answered or failed: DONE with one result. */
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 1);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_done_when_k_closest_replied)
{
	static const uint32_t d[] = { 10, 20, 30, 40, 50, 60, 70, 80 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 1;
	cfg.k = 3;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 8);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 1);
	ck_assert_int_eq(nreply(lk, 10, T0 + 10, NULL, 0, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 10, out, 16), 1);
	ck_assert_int_eq(nfail(lk, 20, T0 + 20), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 20, out, 16), 1);
	ck_assert_int_eq(nreply(lk, 30, T0 + 30, NULL, 0, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 30, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 40);
	ck_assert_int_eq(nreply(lk, 40, T0 + 40, NULL, 0, 0), HY_OK);
	/* 10, 30, 40 answered; 50..80 never asked. */
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 40, out, 16), 0);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.requests, 4);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 3);
	ck_assert_uint_eq(pd(&out[0]), 10);
	ck_assert_uint_eq(pd(&out[1]), 30);
	ck_assert_uint_eq(pd(&out[2]), 40);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_done_ignores_farther_in_flight)
{
	static const uint32_t d[] = { 10, 20, 30, 40, 50 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup *lk;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 3;
	cfg.k = 2;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 5);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3);
	ck_assert_int_eq(nreply(lk, 20, T0 + 10, NULL, 0, 0), HY_OK);
	/* Only nodes nearer than the k-th replier are asked: 40 goes. */
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 10, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 40);
	ck_assert_int_eq(nreply(lk, 10, T0 + 20, NULL, 0, 0), HY_OK);
	/* 30 and 40 still in flight, but the 2 closest have answered. */
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE);
	ck_assert_uint_eq(hy_lookup_in_flight(lk), 2);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_no_peers)
{
	static const uint32_t d[] = { 10, 20 };
	struct hy_lookup_peer out[16];
	struct hy_lookup *lk = mk(HY_LOOKUP_FIND_NODE, NULL);
	struct hy_id id = nid(5);
	struct hy_addr a = naddr(5);

	/* Empty seed. */
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 0);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_NO_PEERS);
	ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_ESTATE);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 0);
	hy_lookup_free(lk);
	/* Every seed dead: one errors, one times out. */
	lk = mk(HY_LOOKUP_FIND_NODE, NULL);
	nseed(lk, d, 2);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 2);
	ck_assert_int_eq(nfail(lk, 10, T0 + 1), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_RUNNING);
	ck_assert_uint_eq(hy_lookup_tick(lk, T0 + 2000), UINT64_MAX);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_NO_PEERS);
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_timed_out)
{
	static const uint32_t d[] = { 10, 20, 30, 40 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;
	uint64_t t = T0;

	hy_lookup_config_default(&cfg);
	cfg.alpha = 1;
	cfg.timeout_ms = 1000;
	cfg.hard_timeout_ms = 5000;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	nseed(lk, d, 4);
	ck_assert_uint_eq(hy_lookup_next(lk, t, out, 16), 1);
	t += 100;
	ck_assert_int_eq(nreply(lk, 10, t, NULL, 0, 0), HY_OK);
	/* Everyone else is slow: soft timeouts keep it going until 1 s. */
	while (hy_lookup_status(lk) == HY_LOOKUP_RUNNING) {
		hy_lookup_next(lk, t, out, 16);
		t = hy_lookup_next_deadline(lk);
		ck_assert_uint_le(t, T0 + 1000);
		hy_lookup_tick(lk, t);
	}
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_TIMED_OUT);
	ck_assert_uint_eq(t, T0 + 1000);
	ck_assert_uint_eq(hy_lookup_next_deadline(lk), UINT64_MAX);
	ck_assert_uint_eq(hy_lookup_next(lk, t, out, 16), 0);
	ck_assert_int_eq(nreply(lk, 20, t + 1, NULL, 0, 0), HY_ESTATE);
	/* Partial results stay. */
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 1);
	ck_assert_uint_eq(pd(&out[0]), 10);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.finished_ms, T0 + 1000);
	ck_assert_uint_eq(st.requests, 3); /* 10; 20 at 0.1 s; 30 at 0.6 s */
	hy_lookup_free(lk);
}
END_TEST

START_TEST(test_lookup_find_value_stops_early)
{
	static const uint32_t d[] = { 10, 20, 30, 40, 50 };
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;
	struct hy_lookup_contact c[1] = { nct(5) };

	lk = mk(HY_LOOKUP_FIND_VALUE, NULL);
	nseed(lk, d, 5);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3);
	ck_assert_int_eq(nreply(lk, 10, T0 + 10, c, 1, 0), HY_OK);
	ck_assert_uint_eq(hy_lookup_next(lk, T0 + 10, out, 16), 1);
	ck_assert_int_eq(nreply(lk, 5, T0 + 20, NULL, 0, 1), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE_FOUND);
	hy_lookup_stats(lk, &st);
	ck_assert_int_eq(st.found_hop, 1);
	ck_assert_uint_eq(st.found_ms, T0 + 20);
	ck_assert_uint_eq(st.values, 1);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 2);
	ck_assert_uint_eq(pd(&out[0]), 5);
	ck_assert_uint_eq(out[0].values, 1);
	hy_lookup_free(lk);

	/* enough_values = 2: one value is not enough. */
	hy_lookup_config_default(&cfg);
	cfg.enough_values = 2;
	lk = mk(HY_LOOKUP_GET_PEERS, &cfg);
	nseed(lk, d, 5);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3);
	ck_assert_int_eq(nreply(lk, 10, T0 + 10, NULL, 0, 1), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_RUNNING);
	ck_assert_int_eq(nreply(lk, 30, T0 + 10, NULL, 0, 1), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE_FOUND);
	hy_lookup_stats(lk, &st);
	ck_assert_int_eq(st.found_hop, 0);
	hy_lookup_free(lk);

	/* FIND_NODE never stops early on values. */
	lk = mk(HY_LOOKUP_FIND_NODE, NULL);
	nseed(lk, d, 5);
	ck_assert_uint_eq(hy_lookup_next(lk, T0, out, 16), 3);
	ck_assert_int_eq(nreply(lk, 10, T0 + 10, NULL, 0, 3), HY_OK);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_RUNNING);
	hy_lookup_free(lk);
}
END_TEST

/*
 * A random world: W nodes with random IDs; a queried node answers with
 * `per` random world contacts (closer or not), fails, or stays silent. The
 * driver checks after every step that results are sorted, only hold
 * responders, and that the bounds hold.
 */
#define W 400

struct world {
	struct hy_id id[W];
	struct hy_addr addr[W];
	bool replied[W];
};

static int
world_find(const struct world *w, const struct hy_id *id)
{
	for (int i = 0; i < W; i++)
		if (hy_id_eq(&w->id[i], id))
			return i;
	return -1;
}

static void
check_results(const struct world *w, const struct hy_lookup *lk,
    const struct hy_id *target, uint64_t seedv)
{
	struct hy_lookup_peer res[HY_LOOKUP_WINDOW_MAX];
	size_t n = hy_lookup_results(lk, res, HY_LOOKUP_WINDOW_MAX);

	for (size_t i = 0; i < n; i++) {
		int j = world_find(w, &res[i].id);

		ck_assert_msg(j >= 0 && w->replied[j],
		    "result %zu did not reply (seed %" PRIu64 ")", i, seedv);
		if (i > 0)
			ck_assert_msg(hy_id_cmp_dist(target, &res[i - 1].id,
			                  &res[i].id) < 0,
			    "results not sorted (seed %" PRIu64 ")", seedv);
	}
}

START_TEST(test_lookup_random_bounds_and_results)
{
	uint64_t seedv = 0x10c0ffeeu + (uint64_t)_i;
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[64], pend[HY_LOOKUP_REQUESTS_MAX / 256];
	uint64_t pend_at[HY_LOOKUP_REQUESTS_MAX / 256];
	size_t npend = 0;
	struct hy_lookup_stats st;
	struct hy_lookup *lk;
	struct world *w = calloc(1, sizeof(*w));
	struct hy_rng r;
	struct hy_id target;
	enum hy_lookup_kind kind;
	uint64_t now = T0;

	ck_assert_ptr_nonnull(w);
	hy_rng_seed(&r, seedv);
	for (int i = 0; i < W; i++) {
		hy_rng_bytes(&r, w->id[i].b, HY_ID_LEN);
		w->addr[i] = naddr((uint32_t)i + 1);
	}
	hy_rng_bytes(&r, target.b, HY_ID_LEN);
	hy_lookup_config_default(&cfg);
	cfg.alpha = 1 + (unsigned)hy_rng_below(&r, 5);
	cfg.k = 1 + (unsigned)hy_rng_below(&r, 10);
	cfg.window = cfg.k + 1 + (unsigned)hy_rng_below(&r, 20);
	cfg.max_requests = 10 + (unsigned)hy_rng_below(&r, 100);
	kind = (enum hy_lookup_kind)(1 + hy_rng_below(&r, 3));
	ck_assert_int_eq(hy_lookup_new(&lk, &target, kind, &cfg, now), HY_OK);
	for (int i = 0; i < 30; i++) {
		int j = (int)hy_rng_below(&r, W);

		hy_lookup_add(lk, &w->id[j], &w->addr[j], 0);
	}
	while (hy_lookup_status(lk) == HY_LOOKUP_RUNNING) {
		size_t m = hy_lookup_next(lk, now, out, 64);
		size_t active = 0;

		ck_assert_int_eq(hy_lookup_check(lk), HY_OK);
		ck_assert_uint_le(hy_lookup_candidates(lk), cfg.window);
		hy_lookup_stats(lk, &st);
		ck_assert_uint_le(st.requests, cfg.max_requests);
		for (size_t i = 0; i < m; i++) {
			ck_assert_uint_lt(npend,
			    sizeof(pend) / sizeof(pend[0]));
			pend[npend] = out[i];
			pend_at[npend++] = now;
		}
		for (size_t i = 0; i < npend; i++)
			if (now < pend_at[i] + cfg.soft_timeout_ms)
				active++;
		ck_assert_uint_le(active, cfg.alpha);
		ck_assert_uint_le(hy_lookup_in_flight(lk), npend);
		now += 1 + hy_rng_below(&r, 300);
		if (npend > 0 && hy_rng_below(&r, 3) != 0) {
			size_t p = hy_rng_below(&r, npend);
			int j = world_find(w, &pend[p].id);
			unsigned fate = (unsigned)hy_rng_below(&r, 10);
			struct hy_lookup_contact c[8];
			int err;

			ck_assert_int_ge(j, 0);
			for (int i = 0; i < 8; i++) {
				int x = (int)hy_rng_below(&r, W);

				c[i].id = w->id[x];
				c[i].addr = w->addr[x];
			}
			if (fate < 7) {
				err = hy_lookup_reply(lk, &pend[p].id, now, c,
				    8, hy_rng_below(&r, 20) == 0);
				if (err == HY_OK)
					w->replied[j] = true;
			} else if (fate < 9) {
				err = hy_lookup_fail(lk, &pend[p].id, now);
			} else {
				err = 1; /* silent: stays pending */
			}
			/* ESTATE, ENOENT: hard-timed-out, then pushed out. */
			ck_assert(err == HY_OK || err == HY_ESTATE ||
			    err == HY_ENOENT || err == 1);
			if (err == HY_ENOENT)
				ck_assert_uint_ge(now,
				    pend_at[p] + cfg.hard_timeout_ms);
			if (err != 1) {
				pend[p] = pend[--npend];
				pend_at[p] = pend_at[npend];
			}
		}
		hy_lookup_tick(lk, now);
		ck_assert_int_eq(hy_lookup_check(lk), HY_OK);
		check_results(w, lk, &target, seedv);
		ck_assert_uint_lt(now, T0 + cfg.timeout_ms + 1000);
	}
	ck_assert_uint_eq(hy_lookup_next(lk, now, out, 64), 0);
	check_results(w, lk, &target, seedv);
	hy_lookup_stats(lk, &st);
	ck_assert_uint_le(st.requests, cfg.max_requests);
	if (hy_lookup_status(lk) == HY_LOOKUP_NO_PEERS)
		ck_assert_uint_eq(st.replies, 0);
	if (hy_lookup_status(lk) == HY_LOOKUP_DONE_FOUND)
		ck_assert(kind != HY_LOOKUP_FIND_NODE && st.values >= 1 &&
		    st.found_hop >= 0);
	hy_lookup_free(lk);
	free(w);
}
END_TEST

START_TEST(test_lookup_request_budget)
{
	struct hy_lookup_config cfg;
	struct hy_lookup_peer out[16];
	struct hy_lookup_stats st;
	struct hy_lookup *lk;
	uint64_t t = T0;
	uint32_t next = 1000;

	hy_lookup_config_default(&cfg);
	cfg.max_requests = 10;
	cfg.k = 4;
	lk = mk(HY_LOOKUP_FIND_NODE, &cfg);
	{
		struct hy_id id = nid(next);
		struct hy_addr a = naddr(next);

		ck_assert_int_eq(hy_lookup_add(lk, &id, &a, 0), HY_OK);
	}
	/* Every reply names a closer node: without a budget it never ends. */
	while (hy_lookup_status(lk) == HY_LOOKUP_RUNNING) {
		size_t m = hy_lookup_next(lk, t, out, 16);

		t += 10;
		for (size_t i = 0; i < m; i++) {
			struct hy_lookup_contact c = nct(--next);

			ck_assert_int_eq(hy_lookup_reply(lk, &out[i].id, t, &c,
			                     1, 0),
			    HY_OK);
		}
		ck_assert_uint_lt(t, T0 + 5000);
	}
	hy_lookup_stats(lk, &st);
	ck_assert_uint_eq(st.requests, 10);
	ck_assert(st.budget_spent);
	ck_assert_int_eq(hy_lookup_status(lk), HY_LOOKUP_DONE);
	ck_assert_uint_eq(st.max_hop, 9);
	ck_assert_uint_eq(hy_lookup_results(lk, out, 16), 10);
	hy_lookup_free(lk);
}
END_TEST

static Suite *
lookup_suite(void)
{
	Suite *s = suite_create("lookup");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lookup_config);
	tcase_add_test(tc, test_lookup_alpha_respected);
	tcase_add_test(tc, test_lookup_closest_first);
	tcase_add_test(tc, test_lookup_reply_merges_window);
	tcase_add_test(tc, test_lookup_duplicates_self_ignored);
	tcase_add_test(tc, test_lookup_soft_timeout_late_reply);
	tcase_add_test(tc, test_lookup_hard_timeout_fails);
	tcase_add_test(tc, test_lookup_hard_timeout_running);
	tcase_add_test(tc, test_lookup_done_when_k_closest_replied);
	tcase_add_test(tc, test_lookup_done_ignores_farther_in_flight);
	tcase_add_test(tc, test_lookup_no_peers);
	tcase_add_test(tc, test_lookup_timed_out);
	tcase_add_test(tc, test_lookup_find_value_stops_early);
	tcase_add_test(tc, test_lookup_request_budget);
	tcase_add_loop_test(tc, test_lookup_random_bounds_and_results, 0, 200);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lookup_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
