/*
 * check_rtable.c: unit tests for the routing table (src/rtable*.c).
 *
 * Every test drives the table on an explicit timeline (now_ms values), with
 * IDs and addresses from a seeded hy_rng; randomized tests print their seed
 * on failure.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtable-internal.h"
#include "rtable.h"

#define MIN_MS (60ull * 1000)
#define T0 1000000ull

static struct hy_id
rid(struct hy_rng *r)
{
	struct hy_id id;

	hy_rng_bytes(r, id.b, HY_ID_LEN);
	return id;
}

/* A random ID sharing exactly p leading bits with self. */
static struct hy_id
id_pfx(const struct hy_id *self, int p, struct hy_rng *r)
{
	uint8_t rnd[HY_ID_LEN];
	struct hy_id id;

	hy_rng_bytes(r, rnd, sizeof(rnd));
	hy_id_random_in_prefix(&id, self, p, rnd);
	return id;
}

/* A public IPv4 address; every i gets its own /24. */
static struct hy_addr
pub(uint32_t i)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET;
	a.ip[0] = (uint8_t)(11 + (i >> 16) % 80);
	a.ip[1] = (uint8_t)(i >> 8);
	a.ip[2] = (uint8_t)i;
	a.ip[3] = 1;
	a.port = 6881;
	return a;
}

static struct hy_addr
v4(int a, int b, int c, int d, int port)
{
	struct hy_addr x;

	memset(&x, 0, sizeof(x));
	x.family = HY_AF_INET;
	x.ip[0] = (uint8_t)a;
	x.ip[1] = (uint8_t)b;
	x.ip[2] = (uint8_t)c;
	x.ip[3] = (uint8_t)d;
	x.port = (uint16_t)port;
	return x;
}

static struct hy_rtable *
mk(const struct hy_id *self, const struct hy_rtable_config *cfg)
{
	struct hy_rtable *rt = NULL;

	ck_assert_int_eq(hy_rtable_new(&rt, self, cfg, T0), HY_OK);
	ck_assert_ptr_nonnull(rt);
	return rt;
}

static enum hy_rtable_status
status_of(struct hy_rtable *rt, const struct hy_id *id, uint64_t now)
{
	struct hy_rtable_contact c;

	ck_assert_int_eq(hy_rtable_find(rt, id, &c), HY_OK);
	return hy_rtable_status(rt, &c, now);
}

START_TEST(test_rtable_config_defaults)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt = (void *)&cfg;
	struct hy_id self, zero;
	struct hy_rng r;

	hy_rng_seed(&r, 1);
	self = rid(&r);
	memset(&zero, 0, sizeof(zero));
	hy_rtable_config_default(&cfg);
	ck_assert_uint_eq(cfg.k, 20);
	ck_assert_uint_eq(cfg.good_ms, 15 * MIN_MS);
	ck_assert_uint_eq(cfg.refresh_ms, 15 * MIN_MS);
	ck_assert_uint_eq(cfg.bad_fails, 2);
	ck_assert_uint_eq(cfg.div_v4_bits, 24);
	ck_assert_uint_eq(cfg.div_v6_bits, 64);
	ck_assert_uint_eq(cfg.div_per_bucket, 2);
	ck_assert_uint_eq(cfg.div_per_table, 10);
	ck_assert(!cfg.allow_local);
	ck_assert(cfg.local_div_exempt);

	/* invalid configs and self IDs leave *out alone */
	ck_assert_int_eq(hy_rtable_new(&rt, &zero, NULL, T0), HY_EINVAL);
	cfg.k = 0;
	ck_assert_int_eq(hy_rtable_new(&rt, &self, &cfg, T0), HY_EINVAL);
	hy_rtable_config_default(&cfg);
	cfg.max_contacts = cfg.k - 1;
	ck_assert_int_eq(hy_rtable_new(&rt, &self, &cfg, T0), HY_EINVAL);
	hy_rtable_config_default(&cfg);
	cfg.bad_fails = 0;
	ck_assert_int_eq(hy_rtable_new(&rt, &self, &cfg, T0), HY_EINVAL);
	hy_rtable_config_default(&cfg);
	cfg.div_v4_bits = 33;
	ck_assert_int_eq(hy_rtable_new(&rt, &self, &cfg, T0), HY_EINVAL);
	ck_assert_ptr_eq(rt, (void *)&cfg);

	rt = mk(&self, NULL);
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 1);
	hy_rtable_free(rt);
	hy_rtable_free(NULL);
}
END_TEST

START_TEST(test_rtable_insert_and_find)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_rtable_stats st;
	struct hy_id self, a, b;
	struct hy_addr aa = pub(1), ab = pub(2);
	struct hy_rng r;

	hy_rng_seed(&r, 2);
	self = rid(&r);
	a = rid(&r);
	b = rid(&r);
	rt = mk(&self, NULL);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &aa, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_heard(rt, &b, &ab, HY_RTABLE_QUERY, T0 + 5),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_OK);
	ck_assert(hy_id_eq(&c.id, &a));
	ck_assert(hy_addr_eq(&c.addr, &aa));
	ck_assert_uint_eq(c.added_ms, T0);
	ck_assert_uint_eq(c.last_reply_ms, T0);
	ck_assert_uint_eq(c.flags & HY_RTABLE_F_REPLIED, HY_RTABLE_F_REPLIED);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &aa, HY_RTABLE_QUERY, T0 + 9),
	    HY_RTABLE_UPDATED);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_OK);
	ck_assert_uint_eq(c.last_seen_ms, T0 + 9);
	ck_assert_uint_eq(c.last_query_ms, T0 + 9);
	ck_assert_uint_eq(c.last_reply_ms, T0);

	memset(&c, 0xa5, sizeof(c));
	ck_assert_int_eq(hy_rtable_find(rt, &self, &c), HY_ENOENT);
	ck_assert_uint_eq(c.fails, 0xa5a5a5a5u); /* untouched */
	hy_rtable_stats(rt, T0 + 10, &st);
	ck_assert_uint_eq(st.contacts, 2);
	ck_assert_uint_eq(st.good, 1);
	ck_assert_uint_eq(st.questionable, 1); /* b only queried us */
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_uint_eq(st.buckets, 1);
	ck_assert_uint_eq(st.replacements, 0);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_refuses)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_rtable_stats st;
	struct hy_id self, a, zero;
	struct hy_addr lo = v4(127, 0, 0, 2, 5000);
	struct hy_addr lan = v4(192, 168, 1, 9, 5000);
	struct hy_addr ok = pub(7);
	struct hy_rng r;

	hy_rng_seed(&r, 3);
	self = rid(&r);
	a = rid(&r);
	memset(&zero, 0, sizeof(zero));
	rt = mk(&self, NULL);
	{
		struct hy_addr bad[5];

		memset(&bad[0], 0, sizeof(bad[0]));
		bad[1] = v4(0, 1, 2, 3, 1);
		bad[2] = v4(224, 0, 0, 1, 1);
		bad[3] = v4(8, 8, 8, 8, 0);
		bad[4] = v4(192, 0, 2, 1, 1);
		for (int i = 0; i < 5; i++)
			ck_assert_int_eq(hy_rtable_heard(rt, &a, &bad[i],
			                     HY_RTABLE_REPLY, T0),
			    HY_EMARTIAN);
	}
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &lo, HY_RTABLE_REPLY, T0),
	    HY_EMARTIAN);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &lan, HY_RTABLE_QUERY, T0),
	    HY_EMARTIAN);
	ck_assert_int_eq(hy_rtable_heard(rt, &self, &ok, HY_RTABLE_REPLY, T0),
	    HY_ESELF);
	ck_assert_int_eq(hy_rtable_heard(rt, &zero, &ok, HY_RTABLE_REPLY, T0),
	    HY_EMALFORMED);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &ok, (enum hy_rtable_how)7,
	                     T0),
	    HY_EINVAL);
	hy_rtable_stats(rt, T0, &st);
	ck_assert_uint_eq(st.contacts, 0);
	ck_assert_uint_eq(st.replacements, 0);
	hy_rtable_free(rt);

	/* with allow_local, loopback and private addresses are accepted */
	hy_rtable_config_default(&cfg);
	cfg.allow_local = true;
	rt = mk(&self, &cfg);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &lo, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	a = rid(&r);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &lan, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	/* but martians never */
	a = rid(&r);
	lo = v4(255, 255, 255, 255, 9);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &lo, HY_RTABLE_REPLY, T0),
	    HY_EMARTIAN);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_split_own_bucket)
{
	struct hy_rtable *rt;
	struct hy_rtable_stats st;
	struct hy_id self, id;
	struct hy_rng r;
	uint32_t n = 0;

	hy_rng_seed(&r, 4);
	self = rid(&r);
	rt = mk(&self, NULL);
	for (int p = 0; p < 10; p++)
		for (int i = 0; i < 20; i++) {
			struct hy_addr a = pub(n++);

			id = id_pfx(&self, p, &r);
			ck_assert_int_eq(hy_rtable_heard(rt, &id, &a,
			                     HY_RTABLE_REPLY, T0),
			    HY_RTABLE_ADDED);
		}
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 10);
	/* non-own buckets never split: extra IDs go to the cache */
	for (int p = 0; p < 9; p++) {
		struct hy_addr a = pub(n++);

		id = id_pfx(&self, p, &r);
		ck_assert_int_eq(hy_rtable_bucket_of(rt, &id), p);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0 + 1),
		    HY_RTABLE_CACHED); /* all contacts are good */
		ck_assert(hy_rtable_is_candidate(rt, &id));
	}
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 10);
	hy_rtable_stats(rt, T0 + 1, &st);
	ck_assert_uint_eq(st.contacts, 200);
	ck_assert_uint_eq(st.replacements, 9);
	/* the own bucket (9, holding p=9 IDs) splits for a deeper ID */
	id = id_pfx(&self, 12, &r);
	{
		struct hy_addr a = pub(n++);

		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0 + 2),
		    HY_RTABLE_ADDED);
	}
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 11);
	ck_assert_int_eq(hy_rtable_bucket_of(rt, &id), 10);
	hy_rtable_free(rt);

	/* a full own bucket of deep IDs splits repeatedly */
	rt = mk(&self, NULL);
	for (int i = 0; i < 20; i++) {
		struct hy_addr a = pub(n++);

		id = id_pfx(&self, 5, &r);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    HY_RTABLE_ADDED);
	}
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 1);
	id = id_pfx(&self, 6, &r);
	{
		struct hy_addr a = pub(n++);

		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    HY_RTABLE_ADDED);
	}
	/* buckets 0..4 empty, 5 holds the twenty, 6 is the own bucket */
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 7);
	ck_assert_int_eq(hy_rtable_bucket_of(rt, &id), 6);
	hy_rtable_free(rt);
}
END_TEST

/* k = 1: every prefix length gets its own bucket, up to the 256 limit. */
START_TEST(test_rtable_split_to_256_buckets)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_id self, id, targets[300];
	struct hy_rng r;
	size_t n;

	hy_rng_seed(&r, 5);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.k = 1;
	cfg.max_contacts = 256;
	cfg.div_per_table = 0;
	rt = mk(&self, &cfg);
	for (int p = 0; p < 256; p++) {
		struct hy_addr a = pub((uint32_t)p);

		id = id_pfx(&self, p, &r);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    HY_RTABLE_ADDED);
	}
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 256);
	/* the own bucket now covers only self with the last bit flipped */
	id = self;
	id.b[HY_ID_LEN - 1] ^= 1;
	ck_assert_int_eq(hy_rtable_bucket_of(rt, &id), 255);
	n = hy_rtable_refresh_due(rt, T0 + cfg.refresh_ms, &r, targets, 300);
	ck_assert_uint_eq(n, 256);
	for (size_t j = 0; j < n; j++)
		ck_assert_int_eq(hy_rtable_bucket_of(rt, &targets[j]), (int)j);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_status_timeline)
{
	struct hy_rtable *rt;
	struct hy_id self, a, q;
	struct hy_addr aa = pub(1), aq = pub(2);
	struct hy_rng r;
	uint64_t g = 15 * MIN_MS, t1;

	hy_rng_seed(&r, 6);
	self = rid(&r);
	a = rid(&r);
	q = rid(&r);
	rt = mk(&self, NULL);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &aa, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(status_of(rt, &a, T0), HY_RTABLE_GOOD);
	ck_assert_int_eq(status_of(rt, &a, T0 + g - 1), HY_RTABLE_GOOD);
	ck_assert_int_eq(status_of(rt, &a, T0 + g), HY_RTABLE_QUESTIONABLE);
	/* replied once, then queried us: good again for the window */
	t1 = T0 + 20 * MIN_MS;
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &aa, HY_RTABLE_QUERY, t1),
	    HY_RTABLE_UPDATED);
	ck_assert_int_eq(status_of(rt, &a, t1), HY_RTABLE_GOOD);
	ck_assert_int_eq(status_of(rt, &a, t1 + g - 1), HY_RTABLE_GOOD);
	ck_assert_int_eq(status_of(rt, &a, t1 + g), HY_RTABLE_QUESTIONABLE);
	/* one failure: questionable; bad_fails (2) failures: bad */
	ck_assert_int_eq(hy_rtable_failed(rt, &a, t1 + 1), HY_RTABLE_KEPT);
	ck_assert_int_eq(status_of(rt, &a, t1 + 1), HY_RTABLE_QUESTIONABLE);
	/* a query does not clear a failure */
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &aa, HY_RTABLE_QUERY, t1 + 2),
	    HY_RTABLE_UPDATED);
	ck_assert_int_eq(status_of(rt, &a, t1 + 2), HY_RTABLE_QUESTIONABLE);
	ck_assert_int_eq(hy_rtable_failed(rt, &a, t1 + 3), HY_RTABLE_KEPT);
	ck_assert_int_eq(status_of(rt, &a, t1 + 3), HY_RTABLE_BAD);
	/* no candidate: a bad contact stays (Kademlia §4.1) */
	ck_assert_int_eq(hy_rtable_failed(rt, &a, t1 + 4), HY_RTABLE_KEPT);
	ck_assert_int_eq(status_of(rt, &a, t1 + 4), HY_RTABLE_BAD);
	/* a reply makes it good again */
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &aa, HY_RTABLE_REPLY, t1 + 5),
	    HY_RTABLE_UPDATED);
	ck_assert_int_eq(status_of(rt, &a, t1 + 5), HY_RTABLE_GOOD);
	/* a contact that only ever queried us is questionable */
	ck_assert_int_eq(hy_rtable_heard(rt, &q, &aq, HY_RTABLE_QUERY, t1),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(status_of(rt, &q, t1), HY_RTABLE_QUESTIONABLE);
	ck_assert_int_eq(hy_rtable_failed(rt, &self, t1), HY_ENOENT);
	hy_rtable_free(rt);
}
END_TEST

/*
 * A table with k = 4 whose bucket 0 is full of p=0 contacts seen at
 * T0, T0+1, T0+2, T0+3 (so ids[0] is the LRS), and nb = 2.
 */
static struct hy_rtable *
full_bucket(struct hy_id *self, struct hy_id ids[4], struct hy_rng *r,
    uint32_t *n)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_id deep;
	struct hy_addr a;

	*self = rid(r);
	hy_rtable_config_default(&cfg);
	cfg.k = 4;
	rt = mk(self, &cfg);
	for (int i = 0; i < 4; i++) {
		ids[i] = id_pfx(self, 0, r);
		a = pub((*n)++);
		ck_assert_int_eq(hy_rtable_heard(rt, &ids[i], &a,
		                     HY_RTABLE_REPLY, T0 + (uint64_t)i),
		    HY_RTABLE_ADDED);
	}
	deep = id_pfx(self, 1, r);
	a = pub((*n)++);
	ck_assert_int_eq(hy_rtable_heard(rt, &deep, &a, HY_RTABLE_REPLY,
	                     T0 + 4),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 2);
	return rt;
}

START_TEST(test_rtable_pending_ping_fails_evicts)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact out[8], c;
	struct hy_id self, ids[4], cand, tg[8];
	struct hy_addr ca;
	struct hy_rng r;
	uint32_t n = 0;
	uint64_t t = T0 + 16 * MIN_MS; /* all four are questionable */

	hy_rng_seed(&r, 7);
	rt = full_bucket(&self, ids, &r, &n);
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t, out, 8), 0);
	cand = id_pfx(&self, 0, &r);
	ca = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand, &ca, HY_RTABLE_REPLY, t),
	    HY_RTABLE_PENDING);
	ck_assert(hy_rtable_is_candidate(rt, &cand));
	ck_assert_int_eq(hy_rtable_find(rt, &cand, &c), HY_ENOENT);
	ck_assert_uint_eq(hy_rtable_next_deadline(rt, t), t);
	/* the LRS questionable contact is asked for, once per timeout */
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t, out, 8), 1);
	ck_assert(hy_id_eq(&out[0].id, &ids[0]));
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t + 1, out, 8), 0);
	/* with the overdue refreshes handed out, the ping timeout is next */
	ck_assert_uint_eq(hy_rtable_refresh_due(rt, t, &r, tg, 8), 2);
	ck_assert_uint_eq(hy_rtable_next_deadline(rt, t + 1), t + 10000);
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t + 10000, out, 8), 1);
	ck_assert(hy_id_eq(&out[0].id, &ids[0]));
	/* the ping fails: evicted at once, the candidate takes its place */
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[0], t + 10001),
	    HY_RTABLE_REPLACED);
	ck_assert_int_eq(hy_rtable_find(rt, &ids[0], &c), HY_ENOENT);
	ck_assert_int_eq(hy_rtable_find(rt, &cand, &c), HY_OK);
	ck_assert(hy_addr_eq(&c.addr, &ca));
	ck_assert_int_eq(hy_rtable_status(rt, &c, t + 10001), HY_RTABLE_GOOD);
	ck_assert(!hy_rtable_is_candidate(rt, &cand));
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t + 20001, out, 8), 0);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_pending_ping_ok_keeps)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact out[8], c;
	struct hy_rtable_stats st;
	struct hy_id self, ids[4], cand;
	struct hy_addr ca, a0;
	struct hy_rng r;
	uint32_t n = 0;
	uint64_t t = T0 + 16 * MIN_MS;

	hy_rng_seed(&r, 8);
	rt = full_bucket(&self, ids, &r, &n);
	cand = id_pfx(&self, 0, &r);
	ca = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand, &ca, HY_RTABLE_REPLY, t),
	    HY_RTABLE_PENDING);
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t, out, 8), 1);
	ck_assert(hy_id_eq(&out[0].id, &ids[0]));
	ck_assert_uint_eq(out[0].flags & HY_RTABLE_F_PINGING,
	    HY_RTABLE_F_PINGING);
	a0 = out[0].addr;
	/* it answers: it stays, good, and the candidate keeps waiting */
	ck_assert_int_eq(hy_rtable_heard(rt, &ids[0], &a0, HY_RTABLE_REPLY,
	                     t + 100),
	    HY_RTABLE_UPDATED);
	ck_assert_int_eq(hy_rtable_find(rt, &ids[0], &c), HY_OK);
	ck_assert_uint_eq(c.flags & HY_RTABLE_F_PINGING, 0);
	ck_assert_int_eq(hy_rtable_status(rt, &c, t + 100), HY_RTABLE_GOOD);
	ck_assert(hy_rtable_is_candidate(rt, &cand));
	/* BEP 5: then the next LRS questionable contact is pinged */
	ck_assert_uint_eq(hy_rtable_want_pings(rt, t + 101, out, 8), 1);
	ck_assert(hy_id_eq(&out[0].id, &ids[1]));
	/* a failure that is not an eviction ping only counts */
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[2], t + 102),
	    HY_RTABLE_KEPT);
	hy_rtable_stats(rt, t + 102, &st);
	ck_assert_uint_eq(st.contacts, 5);
	ck_assert_uint_eq(st.replacements, 1);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_full_bucket_cached)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact out[8];
	struct hy_id self, ids[4], cand, cand2;
	struct hy_addr ca, ca2;
	struct hy_rng r;
	uint32_t n = 0;

	hy_rng_seed(&r, 9);
	rt = full_bucket(&self, ids, &r, &n);
	/* every contact good: cache, nothing to ping */
	cand = id_pfx(&self, 0, &r);
	ca = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand, &ca, HY_RTABLE_REPLY,
	                     T0 + 10),
	    HY_RTABLE_CACHED);
	ck_assert_uint_eq(hy_rtable_want_pings(rt, T0 + 10, out, 8), 0);
	/* the deadline is when the first contact turns questionable */
	ck_assert_uint_eq(hy_rtable_next_deadline(rt, T0 + 10),
	    T0 + 15 * MIN_MS);
	/* an unverified candidate never triggers pings */
	hy_rtable_free(rt);
	rt = full_bucket(&self, ids, &r, &n);
	cand2 = id_pfx(&self, 0, &r);
	ca2 = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand2, &ca2, HY_RTABLE_QUERY,
	                     T0 + 16 * MIN_MS),
	    HY_RTABLE_CACHED);
	ck_assert_uint_eq(hy_rtable_want_pings(rt, T0 + 16 * MIN_MS, out, 8),
	    0);
	/* once it replies, it is a verified candidate: pings wanted */
	ck_assert_int_eq(hy_rtable_heard(rt, &cand2, &ca2, HY_RTABLE_REPLY,
	                     T0 + 16 * MIN_MS + 1),
	    HY_RTABLE_PENDING);
	ck_assert_uint_eq(hy_rtable_want_pings(rt, T0 + 16 * MIN_MS + 1, out,
	                      8),
	    1);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_bad_replaced_at_once)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_id self, ids[4], cand;
	struct hy_addr ca;
	struct hy_rng r;
	uint32_t n = 0;

	hy_rng_seed(&r, 10);
	rt = full_bucket(&self, ids, &r, &n);
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[2], T0 + 10),
	    HY_RTABLE_KEPT);
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[2], T0 + 11),
	    HY_RTABLE_KEPT);
	ck_assert_int_eq(status_of(rt, &ids[2], T0 + 11), HY_RTABLE_BAD);
	cand = id_pfx(&self, 0, &r);
	ca = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand, &ca, HY_RTABLE_QUERY,
	                     T0 + 12),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_find(rt, &ids[2], &c), HY_ENOENT);
	ck_assert_int_eq(hy_rtable_find(rt, &cand, &c), HY_OK);
	hy_rtable_free(rt);

	/* a contact that turns bad while a candidate waits is replaced */
	rt = full_bucket(&self, ids, &r, &n);
	cand = id_pfx(&self, 0, &r);
	ca = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand, &ca, HY_RTABLE_REPLY,
	                     T0 + 10),
	    HY_RTABLE_CACHED);
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[1], T0 + 11),
	    HY_RTABLE_KEPT);
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[1], T0 + 12),
	    HY_RTABLE_REPLACED);
	ck_assert_int_eq(hy_rtable_find(rt, &cand, &c), HY_OK);
	ck_assert_int_eq(hy_rtable_find(rt, &ids[1], &c), HY_ENOENT);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_replacement_cache_bounded)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_rtable_stats st;
	struct hy_id self, ids[40], q;
	struct hy_addr a;
	struct hy_rng r;
	uint32_t n = 0;

	hy_rng_seed(&r, 11);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.k = 2;
	cfg.repl_size = 3;
	rt = mk(&self, &cfg);
	/* make bucket 0 a non-own bucket, then fill it */
	for (int i = 0; i < 3; i++) {
		ids[i] = id_pfx(&self, i == 2 ? 1 : 0, &r);
		a = pub(n++);
		ck_assert_int_eq(hy_rtable_heard(rt, &ids[i], &a,
		                     HY_RTABLE_REPLY, T0),
		    HY_RTABLE_ADDED);
	}
	for (int i = 3; i < 40; i++) {
		ids[i] = id_pfx(&self, 0, &r);
		a = pub(n++);
		ck_assert_int_eq(hy_rtable_heard(rt, &ids[i], &a,
		                     HY_RTABLE_REPLY, T0 + (uint64_t)i),
		    HY_RTABLE_CACHED);
		hy_rtable_stats(rt, T0, &st);
		ck_assert_uint_le(st.replacements, 3);
	}
	ck_assert_uint_eq(st.replacements, 3);
	/* the most recently seen stay */
	for (int i = 3; i < 40; i++)
		ck_assert(hy_rtable_is_candidate(rt, &ids[i]) == (i >= 37));
	/* an unverified newcomer does not push out verified candidates */
	q = id_pfx(&self, 0, &r);
	a = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &q, &a, HY_RTABLE_QUERY, T0 + 99),
	    HY_EFULL);
	ck_assert(!hy_rtable_is_candidate(rt, &q));
	/* a QUERY cannot re-point a verified candidate; a REPLY can */
	a = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &ids[38], &a, HY_RTABLE_QUERY,
	                     T0 + 99),
	    HY_EEXIST);
	ck_assert_int_eq(hy_rtable_heard(rt, &ids[38], &a, HY_RTABLE_REPLY,
	                     T0 + 99),
	    HY_RTABLE_CACHED);
	ck_assert(hy_rtable_is_candidate(rt, &ids[38]));
	/* a failed candidate is dropped */
	ck_assert_int_eq(hy_rtable_failed(rt, &ids[39], T0 + 100),
	    HY_RTABLE_DROPPED);
	ck_assert(!hy_rtable_is_candidate(rt, &ids[39]));
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_diversity_caps)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_id self, id;
	struct hy_addr a;
	struct hy_rng r;

	hy_rng_seed(&r, 12);
	self = rid(&r);
	rt = mk(&self, NULL);
	/* per bucket: two per /24 (the table has one bucket) */
	for (int i = 0; i < 3; i++) {
		id = rid(&r);
		a = v4(8, 8, 8, 10 + i, 4000);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    i < 2 ? HY_RTABLE_ADDED : HY_EDIVERSITY);
	}
	/* another /24 is fine */
	id = rid(&r);
	a = v4(8, 8, 9, 1, 4000);
	ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	/* IPv6: two per /64 */
	for (int i = 0; i < 3; i++) {
		memset(&a, 0, sizeof(a));
		a.family = HY_AF_INET6;
		a.ip[0] = 0x2a;
		a.ip[1] = 0x01;
		a.ip[7] = 7;
		a.ip[15] = (uint8_t)(1 + i);
		a.port = 4000;
		id = rid(&r);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    i < 2 ? HY_RTABLE_ADDED : HY_EDIVERSITY);
	}
	hy_rtable_free(rt);

	/* per table: ten per /24 */
	hy_rtable_config_default(&cfg);
	cfg.div_per_bucket = 0;
	rt = mk(&self, &cfg);
	for (int i = 0; i < 11; i++) {
		id = rid(&r);
		a = v4(8, 8, 8, 10 + i, 4000);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    i < 10 ? HY_RTABLE_ADDED : HY_EDIVERSITY);
	}
	hy_rtable_free(rt);

	/* per table across buckets: 2 per bucket, 3 in total */
	hy_rtable_config_default(&cfg);
	cfg.k = 2;
	cfg.div_per_table = 3;
	rt = mk(&self, &cfg);
	for (int i = 0; i < 4; i++) {
		id = id_pfx(&self, i, &r);
		a = v4(8, 8, 8, 10 + i, 4000);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    i < 3 ? HY_RTABLE_ADDED : HY_EDIVERSITY);
	}
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 3);
	hy_rtable_free(rt);

	/* local addresses are exempt when allowed and configured so */
	hy_rtable_config_default(&cfg);
	cfg.allow_local = true;
	rt = mk(&self, &cfg);
	for (int i = 0; i < 15; i++) {
		id = rid(&r);
		a = v4(127, 0, 0, 1, 4000 + i);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    HY_RTABLE_ADDED);
	}
	hy_rtable_free(rt);
	cfg.local_div_exempt = false;
	rt = mk(&self, &cfg);
	for (int i = 0; i < 3; i++) {
		id = rid(&r);
		a = v4(127, 0, 0, 1, 4000 + i);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY,
		                     T0),
		    i < 2 ? HY_RTABLE_ADDED : HY_EDIVERSITY);
	}
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_cache_diversity)
{
	struct hy_rtable *rt;
	struct hy_id self, ids[4], c;
	struct hy_addr a;
	struct hy_rng r;
	uint32_t n = 0;

	hy_rng_seed(&r, 13);
	rt = full_bucket(&self, ids, &r, &n);
	for (int i = 0; i < 3; i++) {
		c = id_pfx(&self, 0, &r);
		a = v4(9, 9, 9, 1 + i, 4000);
		ck_assert_int_eq(hy_rtable_heard(rt, &c, &a, HY_RTABLE_REPLY,
		                     T0 + 10),
		    i < 2 ? HY_RTABLE_CACHED : HY_EDIVERSITY);
	}
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_id_at_other_address)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_id self, a;
	struct hy_addr x = pub(1), y = pub(2);
	struct hy_rng r;

	hy_rng_seed(&r, 14);
	self = rid(&r);
	a = rid(&r);
	rt = mk(&self, NULL);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &x, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	/* a working contact keeps its address */
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &y, HY_RTABLE_REPLY, T0 + 1),
	    HY_EEXIST);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_OK);
	ck_assert(hy_addr_eq(&c.addr, &x));
	ck_assert_uint_eq(c.last_seen_ms, T0);
	/* also once it is only questionable */
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &y, HY_RTABLE_REPLY,
	                     T0 + 20 * MIN_MS),
	    HY_EEXIST);
	/* a bad one moves, with a clean record */
	hy_rtable_failed(rt, &a, T0 + 2);
	hy_rtable_failed(rt, &a, T0 + 3);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &y, HY_RTABLE_REPLY, T0 + 4),
	    HY_RTABLE_UPDATED);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_OK);
	ck_assert(hy_addr_eq(&c.addr, &y));
	ck_assert_uint_eq(c.fails, 0);
	ck_assert_int_eq(hy_rtable_status(rt, &c, T0 + 4), HY_RTABLE_GOOD);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_address_of_other_id)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_rtable_stats st;
	struct hy_id self, a, b;
	struct hy_addr x = pub(1);
	struct hy_rng r;

	hy_rng_seed(&r, 15);
	self = rid(&r);
	a = rid(&r);
	b = rid(&r);
	rt = mk(&self, NULL);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &x, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_heard(rt, &b, &x, HY_RTABLE_REPLY, T0 + 1),
	    HY_EEXIST);
	ck_assert_int_eq(hy_rtable_find(rt, &b, &c), HY_ENOENT);
	hy_rtable_failed(rt, &a, T0 + 2);
	ck_assert_int_eq(hy_rtable_heard(rt, &b, &x, HY_RTABLE_REPLY, T0 + 3),
	    HY_EEXIST); /* questionable is not enough */
	hy_rtable_failed(rt, &a, T0 + 4);
	ck_assert_int_eq(hy_rtable_heard(rt, &b, &x, HY_RTABLE_REPLY, T0 + 5),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_ENOENT);
	ck_assert_int_eq(hy_rtable_find(rt, &b, &c), HY_OK);
	hy_rtable_stats(rt, T0 + 5, &st);
	ck_assert_uint_eq(st.contacts, 1);
	hy_rtable_free(rt);
}
END_TEST

static int
collect_cb(const struct hy_rtable_contact *c, void *arg)
{
	struct {
		struct hy_rtable_contact *v;
		size_t n;
	} *acc = arg;

	acc->v[acc->n++] = *c;
	return 0;
}

static const struct hy_id *ref_target;

static int
ref_cmp(const void *a, const void *b)
{
	const struct hy_rtable_contact *x = a, *y = b;

	return hy_id_cmp_dist(ref_target, &x->id, &y->id);
}

/* Random tables against a brute-force sort of all contacts. */
START_TEST(test_rtable_closest_bruteforce)
{
	static struct hy_rtable_contact all[5000], got[64], want[5000];
	static const size_t ns[] = { 1, 3, 8, 20, 64 };
	static const unsigned fl[] = { 0, HY_RTABLE_NO_BAD,
		HY_RTABLE_GOOD_ONLY };
	struct hy_rtable *rt;
	struct hy_id self, id, target;
	struct hy_addr a;
	struct hy_rng r;
	uint64_t seed = 1000 + (uint64_t)_i;
	uint64_t now = T0 + 10 * MIN_MS;
	struct {
		struct hy_rtable_contact *v;
		size_t n;
	} acc = { all, 0 };
	struct hy_rtable_config cfg;

	hy_rng_seed(&r, seed);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.k = _i % 2 != 0 ? 64 : 20;
	rt = mk(&self, &cfg);
	for (uint32_t i = 0; i < 4000; i++) {
		/* geometric prefix lengths fill the deep buckets too */
		int p = 0;

		while (p < 40 && hy_rng_below(&r, 2) == 0)
			p++;
		id = hy_rng_below(&r, 4) == 0 ? rid(&r) : id_pfx(&self, p, &r);
		a = pub(i);
		/* a third replied long ago (questionable), some only queried */
		hy_rtable_heard(rt, &id, &a,
		    hy_rng_below(&r, 5) == 0 ? HY_RTABLE_QUERY
		                             : HY_RTABLE_REPLY,
		    hy_rng_below(&r, 3) == 0 ? T0 - 9 * MIN_MS : now);
		if (hy_rng_below(&r, 10) == 0) {
			hy_rtable_failed(rt, &id, now);
			hy_rtable_failed(rt, &id, now);
		}
	}
	hy_rtable_foreach(rt, collect_cb, &acc);
	ck_assert_msg(acc.n > 150 && hy_rtable_bucket_count(rt) > 4,
	    "seed=%llu contacts=%zu", (unsigned long long)seed, acc.n);
	for (int t = 0; t < 300; t++) {
		int p = (int)hy_rng_below(&r, 24);

		target = t % 3 == 0 ? rid(&r) : id_pfx(&self, p, &r);
		if (t == 7)
			target = self;
		else if (t == 8 && acc.n > 0)
			target = all[hy_rng_below(&r, acc.n)].id;
		for (size_t f = 0; f < 3; f++) {
			size_t nw = 0;

			for (size_t i = 0; i < acc.n; i++) {
				enum hy_rtable_status st =
				    hy_rtable_status(rt, &all[i], now);

				if ((fl[f] == HY_RTABLE_NO_BAD &&
				        st == HY_RTABLE_BAD) ||
				    (fl[f] == HY_RTABLE_GOOD_ONLY &&
				        st != HY_RTABLE_GOOD))
					continue;
				want[nw++] = all[i];
			}
			ref_target = &target;
			qsort(want, nw, sizeof(want[0]), ref_cmp);
			for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]);
			     k++) {
				size_t n = ns[k], m;

				m = hy_rtable_closest(rt, &target, n, got,
				    fl[f], now);
				ck_assert_msg(m == (nw < n ? nw : n),
				    "seed=%llu t=%d n=%zu m=%zu",
				    (unsigned long long)seed, t, n, m);
				for (size_t i = 0; i < m; i++)
					ck_assert_msg(hy_id_eq(&got[i].id,
					                  &want[i].id),
					    "seed=%llu t=%d flags=%u n=%zu "
					    "i=%zu",
					    (unsigned long long)seed, t, fl[f],
					    n, i);
			}
		}
	}
	ck_assert_uint_eq(hy_rtable_closest(rt, &target, 0, got, 0, now), 0);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_refresh)
{
	struct hy_rtable *rt;
	struct hy_id self, id, tg[300];
	struct hy_rng r;
	uint64_t R = 15 * MIN_MS;
	size_t n;
	int nb;

	hy_rng_seed(&r, 16);
	self = rid(&r);
	rt = mk(&self, NULL);
	ck_assert_uint_eq(hy_rtable_next_deadline(rt, T0), T0 + R);
	ck_assert_uint_eq(hy_rtable_refresh_due(rt, T0 + R - 1, &r, tg, 300),
	    0);
	/* the single bucket covers everything */
	ck_assert_uint_eq(hy_rtable_refresh_due(rt, T0 + R, &r, tg, 300), 1);
	ck_assert_uint_eq(hy_rtable_refresh_due(rt, T0 + R, &r, tg, 300), 0);
	ck_assert_uint_eq(hy_rtable_next_deadline(rt, T0 + R), T0 + 2 * R);
	/* build some depth: 20 IDs at each of p = 0..11 */
	for (uint32_t i = 0; i < 240; i++) {
		struct hy_addr a = pub(i);

		id = id_pfx(&self, (int)(i / 20), &r);
		ck_assert_int_eq(hy_rtable_heard(rt, &id, &a, HY_RTABLE_QUERY,
		                     T0 + R + 1),
		    HY_RTABLE_ADDED);
	}
	nb = hy_rtable_bucket_count(rt);
	ck_assert_int_eq(nb, 12);
	/* every due bucket yields a target inside its own range */
	for (int round = 0; round < 50; round++) {
		uint64_t t = T0 + (uint64_t)(2 + round) * R;

		n = hy_rtable_refresh_due(rt, t, &r, tg, 300);
		ck_assert_uint_eq(n, (size_t)nb);
		for (size_t j = 0; j < n; j++)
			ck_assert_msg(hy_rtable_bucket_of(rt, &tg[j]) == (int)j,
			    "round=%d bucket=%zu", round, j);
	}
	/* a lookup touches one bucket: only the others come due */
	{
		uint64_t t = T0 + 52 * R;

		hy_rtable_touch_bucket(rt, &tg[3], t - 1);
		n = hy_rtable_refresh_due(rt, t, &r, tg, 300);
		ck_assert_uint_eq(n, (size_t)nb - 1);
		for (size_t j = 0; j < n; j++)
			ck_assert_int_ne(hy_rtable_bucket_of(rt, &tg[j]), 3);
		ck_assert_uint_eq(hy_rtable_next_deadline(rt, t), t + R - 1);
		/* max bounds the output */
		ck_assert_uint_eq(hy_rtable_refresh_due(rt, t + 2 * R, &r, tg,
		                      5),
		    5);
	}
	/* a reply from a contact touches its bucket */
	{
		struct hy_rtable_contact c;
		uint64_t t = T0 + 60 * R;

		hy_rtable_refresh_due(rt, t - R, &r, tg, 300);
		id = id_pfx(&self, 5, &r);
		/* bucket 5's contacts are QUERY-only; a reply from one */
		ck_assert_uint_eq(hy_rtable_closest(rt, &id, 1, &c, 0, t), 1);
		ck_assert_int_eq(hy_rtable_heard(rt, &c.id, &c.addr,
		                     HY_RTABLE_REPLY, t - 1),
		    HY_RTABLE_UPDATED);
		n = hy_rtable_refresh_due(rt, t, &r, tg, 300);
		ck_assert_uint_eq(n, (size_t)nb - 1);
		for (size_t j = 0; j < n; j++)
			ck_assert_int_ne(hy_rtable_bucket_of(rt, &tg[j]), 5);
	}
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_remove_promotes)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_rtable_stats st;
	struct hy_id self, ids[4], c1, c2;
	struct hy_addr a1, a2;
	struct hy_rng r;
	uint32_t n = 0;

	hy_rng_seed(&r, 17);
	rt = full_bucket(&self, ids, &r, &n);
	c1 = id_pfx(&self, 0, &r);
	c2 = id_pfx(&self, 0, &r);
	a1 = pub(n++);
	a2 = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &c1, &a1, HY_RTABLE_REPLY, T0 + 5),
	    HY_RTABLE_CACHED);
	ck_assert_int_eq(hy_rtable_heard(rt, &c2, &a2, HY_RTABLE_REPLY, T0 + 6),
	    HY_RTABLE_CACHED);
	/* the most recently seen candidate is promoted */
	ck_assert_int_eq(hy_rtable_remove(rt, &ids[1], T0 + 7), HY_OK);
	ck_assert_int_eq(hy_rtable_find(rt, &ids[1], &c), HY_ENOENT);
	ck_assert_int_eq(hy_rtable_find(rt, &c2, &c), HY_OK);
	ck_assert(hy_rtable_is_candidate(rt, &c1));
	ck_assert_int_eq(hy_rtable_remove(rt, &ids[1], T0 + 7), HY_ENOENT);
	/* removing a candidate */
	ck_assert_int_eq(hy_rtable_remove(rt, &c1, T0 + 8), HY_OK);
	ck_assert(!hy_rtable_is_candidate(rt, &c1));
	hy_rtable_stats(rt, T0 + 8, &st);
	ck_assert_uint_eq(st.contacts, 5);
	ck_assert_uint_eq(st.replacements, 0);
	/* no candidate left: removal just frees the slot */
	ck_assert_int_eq(hy_rtable_remove(rt, &ids[0], T0 + 9), HY_OK);
	hy_rtable_stats(rt, T0 + 9, &st);
	ck_assert_uint_eq(st.contacts, 4);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_total_cap)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_rtable_stats st;
	struct hy_id self, id;
	struct hy_rng r;
	int added = 0;

	hy_rng_seed(&r, 18);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.max_contacts = 30;
	rt = mk(&self, &cfg);
	for (uint32_t i = 0; i < 2000; i++) {
		struct hy_addr a = pub(i);
		int p = (int)hy_rng_below(&r, 6), ret;

		id = id_pfx(&self, p, &r);
		ret = hy_rtable_heard(rt, &id, &a, HY_RTABLE_REPLY, T0);
		ck_assert(ret == HY_RTABLE_ADDED || ret == HY_RTABLE_CACHED ||
		    ret == HY_EFULL);
		if (ret == HY_RTABLE_ADDED)
			added++;
		hy_rtable_stats(rt, T0, &st);
		ck_assert_uint_le(st.contacts, 30);
		ck_assert_uint_le(st.replacements, st.buckets * cfg.k);
	}
	ck_assert_int_eq(added, 30);
	ck_assert_uint_eq(st.contacts, 30);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_tick)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact pings[4];
	struct hy_rtable_work w;
	struct hy_id self, ids[4], cand, tg[8];
	struct hy_addr ca;
	struct hy_rng r;
	uint32_t n = 0;
	uint64_t t = T0 + 16 * MIN_MS, d;

	hy_rng_seed(&r, 19);
	rt = full_bucket(&self, ids, &r, &n);
	cand = id_pfx(&self, 0, &r);
	ca = pub(n++);
	ck_assert_int_eq(hy_rtable_heard(rt, &cand, &ca, HY_RTABLE_REPLY, t),
	    HY_RTABLE_PENDING);
	memset(&w, 0, sizeof(w));
	w.pings = pings;
	w.max_pings = 4;
	w.targets = tg;
	w.max_targets = 8;
	d = hy_rtable_tick(rt, t, &r, &w);
	ck_assert_uint_eq(w.n_pings, 1);
	ck_assert(hy_id_eq(&pings[0].id, &ids[0]));
	/* buckets last touched at T0+4 (the replies), refresh 15 min */
	ck_assert_uint_eq(w.n_targets, 2);
	ck_assert_uint_eq(d, t + 10000);
	hy_rtable_free(rt);
}
END_TEST

/* Candidates waiting in the own bucket follow their range when it splits. */
START_TEST(test_rtable_split_moves_candidates)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_id self, a, b, cc, d, e;
	struct hy_addr x;
	struct hy_rng r;

	hy_rng_seed(&r, 20);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.k = 2;
	cfg.max_contacts = 3;
	rt = mk(&self, &cfg);
	a = id_pfx(&self, 3, &r);
	b = id_pfx(&self, 4, &r);
	cc = id_pfx(&self, 0, &r);
	d = id_pfx(&self, 5, &r);
	e = id_pfx(&self, 5, &r);
	x = pub(1);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &x, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	x = pub(2);
	ck_assert_int_eq(hy_rtable_heard(rt, &b, &x, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	x = pub(3);
	ck_assert_int_eq(hy_rtable_heard(rt, &cc, &x, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 2);
	/* at the total cap the own bucket cannot split: d waits */
	x = pub(4);
	ck_assert_int_eq(hy_rtable_heard(rt, &d, &x, HY_RTABLE_REPLY, T0),
	    HY_RTABLE_CACHED);
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 2);
	ck_assert(hy_rtable_is_candidate(rt, &d));
	/* below the cap again, e splits the own bucket down to bucket 4 */
	ck_assert_int_eq(hy_rtable_remove(rt, &cc, T0 + 1), HY_OK);
	x = pub(5);
	ck_assert_int_eq(hy_rtable_heard(rt, &e, &x, HY_RTABLE_REPLY, T0 + 2),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_bucket_count(rt), 5);
	ck_assert_int_eq(hy_rtable_bucket_of(rt, &d), 4);
	ck_assert(hy_rtable_is_candidate(rt, &d)); /* moved with its range */
	/* and is promoted when room appears there */
	ck_assert_int_eq(hy_rtable_remove(rt, &b, T0 + 3), HY_OK);
	ck_assert_int_eq(hy_rtable_find(rt, &d, &c), HY_OK);
	ck_assert(!hy_rtable_is_candidate(rt, &d));
	hy_rtable_free(rt);
}
END_TEST

/* With admit_unverified off, a querier waits until it replies. */
START_TEST(test_rtable_unverified_not_admitted)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_rtable_contact c;
	struct hy_id self, a;
	struct hy_addr x = pub(1);
	struct hy_rng r;

	hy_rng_seed(&r, 21);
	self = rid(&r);
	a = rid(&r);
	hy_rtable_config_default(&cfg);
	ck_assert(cfg.admit_unverified);
	cfg.admit_unverified = false;
	rt = mk(&self, &cfg);
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &x, HY_RTABLE_QUERY, T0),
	    HY_RTABLE_CACHED);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_ENOENT);
	ck_assert(hy_rtable_is_candidate(rt, &a));
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &x, HY_RTABLE_REPLY, T0 + 1),
	    HY_RTABLE_ADDED);
	ck_assert_int_eq(hy_rtable_find(rt, &a, &c), HY_OK);
	ck_assert(!hy_rtable_is_candidate(rt, &a));
	/* a known contact's queries still count */
	ck_assert_int_eq(hy_rtable_heard(rt, &a, &x, HY_RTABLE_QUERY, T0 + 2),
	    HY_RTABLE_UPDATED);
	hy_rtable_free(rt);
}
END_TEST

/*
 * The structural invariants of rtable.c, checked from the inside: every ID
 * in the bucket covering it and in one place only, bounds, unique contact
 * addresses, the diversity caps, and the counters.
 */
static const char *
invariant_broken(const struct hy_rtable *rt)
{
	const struct hy_rtable_config *cfg = &rt->cfg;
	size_t nc = 0, nr = 0;

	if (rt->nb < 1 || rt->nb > HY_RTABLE_MAX_BUCKETS)
		return "bucket count";
	for (int j = 0; j < rt->nb; j++) {
		const struct hy_rt_bucket *b = &rt->b[j];

		if (b->nc > cfg->k || b->nr > cfg->repl_size)
			return "bucket bounds";
		nc += b->nc;
		nr += b->nr;
		for (unsigned i = 0; i < b->nc + b->nr; i++) {
			const struct hy_rtable_contact *c =
			    i < b->nc ? &b->c[i] : &b->r[i - b->nc];
			unsigned same_b = 0, same_t = 0;

			if (hy_rt_index(rt, &c->id) != j)
				return "ID in the wrong bucket";
			for (int j2 = 0; j2 < rt->nb; j2++) {
				const struct hy_rt_bucket *b2 = &rt->b[j2];

				for (unsigned i2 = 0; i2 < b2->nc + b2->nr;
				     i2++) {
					const struct hy_rtable_contact *d =
					    i2 < b2->nc ? &b2->c[i2]
					                : &b2->r[i2 - b2->nc];

					if (d == c)
						continue;
					if (hy_id_eq(&c->id, &d->id))
						return "ID twice";
					if (i >= b->nc || i2 >= b2->nc)
						continue;
					if (hy_addr_eq(&c->addr, &d->addr))
						return "contact address twice";
					if (!hy_addr_same_prefix(&c->addr,
					        &d->addr, 24, 64))
						continue;
					same_t++;
					if (j2 == j)
						same_b++;
				}
			}
			if (i < b->nc &&
			    (same_b >= cfg->div_per_bucket ||
			        same_t >= cfg->div_per_table))
				return "diversity cap";
		}
	}
	if (nc != rt->ncontacts || nr != rt->ncand)
		return "counters";
	if (nc > cfg->max_contacts)
		return "total cap";
	return NULL;
}

/* Random operation sequences keep every invariant. */
/* A contact that only queried us is offered for verification, once per
 * ping timeout, until it answers. */
START_TEST(test_rtable_want_verify)
{
	struct hy_rtable *rt;
	struct hy_rtable_contact out[4];
	struct hy_id self, q;
	struct hy_addr a = pub(1);
	struct hy_rng r;

	hy_rng_seed(&r, 5);
	self = rid(&r);
	q = rid(&r);
	rt = mk(&self, NULL);
	ck_assert_int_eq(hy_rtable_heard(rt, &q, &a, HY_RTABLE_QUERY, T0),
	    HY_RTABLE_ADDED);
	ck_assert_uint_eq(hy_rtable_want_verify(rt, T0, out, 4), 1);
	ck_assert(hy_id_eq(&out[0].id, &q));
	ck_assert_uint_eq(hy_rtable_want_verify(rt, T0 + 1, out, 4), 0);
	ck_assert_uint_eq(hy_rtable_want_verify(rt, T0 + 10000, out, 4), 1);
	ck_assert_int_eq(hy_rtable_heard(rt, &q, &a, HY_RTABLE_REPLY,
	                     T0 + 10001),
	    HY_RTABLE_UPDATED);
	ck_assert_uint_eq(hy_rtable_want_verify(rt, T0 + 30000, out, 4), 0);
	ck_assert_int_eq(status_of(rt, &q, T0 + 30000), HY_RTABLE_GOOD);
	hy_rtable_free(rt);
}
END_TEST

/* What the change hook reported: adds, removals, the last of each. */
struct changes {
	int added, removed;
	struct hy_id last_added, last_removed;
};

static void
on_change(void *arg, const struct hy_rtable_contact *c, bool added)
{
	struct changes *ch = arg;

	if (added) {
		ch->added++;
		ch->last_added = c->id;
	} else {
		ch->removed++;
		ch->last_removed = c->id;
	}
}

/*
 * The hook sees every contact that enters or leaves: adds minus removals
 * is always the number of contacts, through splits, evictions,
 * promotions and in-place replacement; an eviction by a failed ping
 * reports the evicted contact and the promoted candidate.
 */
START_TEST(test_rtable_change_hook)
{
	struct hy_rtable_config cfg;
	struct hy_rtable_stats st;
	struct changes ch = { 0 };
	struct hy_rtable *rt;
	struct hy_id self, ids[600];
	struct hy_rng r;
	uint64_t t = T0;

	hy_rng_seed(&r, 11);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.k = 4;
	cfg.on_change = on_change;
	cfg.on_change_arg = &ch;
	rt = mk(&self, &cfg);
	for (int i = 0; i < 600; i++) {
		struct hy_addr a = pub((uint32_t)i);

		ids[i] = id_pfx(&self, (int)hy_rng_below(&r, 12), &r);
		t += 1000;
		(void)hy_rtable_heard(rt, &ids[i], &a, HY_RTABLE_REPLY, t);
		if (hy_rng_below(&r, 3) == 0) {
			int j = (int)hy_rng_below(&r, (uint64_t)i + 1);
			struct hy_rtable_contact c;
			int before = ch.removed;

			(void)hy_rtable_failed(rt, &ids[j], t);
			(void)hy_rtable_failed(rt, &ids[j], t);
			if (ch.removed > before)
				ck_assert_int_eq(hy_rtable_find(rt,
				                     &ch.last_removed, &c),
				    HY_ENOENT);
		}
		if (hy_rng_below(&r, 7) == 0)
			(void)hy_rtable_remove(rt,
			    &ids[hy_rng_below(&r, (uint64_t)i + 1)], t);
		hy_rtable_stats(rt, t, &st);
		ck_assert_int_eq(ch.added - ch.removed, (int)st.contacts);
	}
	ck_assert_int_gt(ch.removed, 10);
	hy_rtable_free(rt);
}
END_TEST

START_TEST(test_rtable_random_ops_invariants)
{
	struct hy_rtable_config cfg;
	struct hy_rtable *rt;
	struct hy_rtable_contact out[16];
	struct hy_id self, pool[600], tg[16];
	struct hy_addr addrs[600];
	struct hy_rng r;
	uint64_t seed = 5000 + (uint64_t)_i, now = T0;

	hy_rng_seed(&r, seed);
	self = rid(&r);
	hy_rtable_config_default(&cfg);
	cfg.k = 4 + (unsigned)hy_rng_below(&r, 8);
	cfg.repl_size = 1 + (unsigned)hy_rng_below(&r, 6);
	cfg.max_contacts = _i % 3 == 0
	    ? 256 * cfg.k
	    : cfg.k * 2 + (unsigned)hy_rng_below(&r, 20);
	cfg.bad_fails = 1 + (unsigned)hy_rng_below(&r, 3);
	cfg.admit_unverified = _i % 4 != 3;
	cfg.div_per_table = 4;
	rt = mk(&self, &cfg);
	for (int i = 0; i < 600; i++) {
		int p = 0;

		while (p < 12 && hy_rng_below(&r, 2) == 0)
			p++;
		pool[i] = id_pfx(&self, p, &r);
		/* few /24s, so diversity and address clashes happen */
		addrs[i] = v4(20 + (int)hy_rng_below(&r, 3),
		    (int)hy_rng_below(&r, 4), (int)hy_rng_below(&r, 4),
		    1 + (int)hy_rng_below(&r, 3), 7000);
	}
	for (int step = 0; step < 4000; step++) {
		size_t who = hy_rng_below(&r, 600);
		uint64_t op = hy_rng_below(&r, 100);

		now += hy_rng_below(&r, 60000);
		if (op < 45) {
			hy_rtable_heard(rt, &pool[who], &addrs[who],
			    op < 30 ? HY_RTABLE_REPLY : HY_RTABLE_QUERY, now);
		} else if (op < 50) {
			/* the same ID from elsewhere */
			hy_rtable_heard(rt, &pool[who],
			    &addrs[hy_rng_below(&r, 600)], HY_RTABLE_REPLY,
			    now);
		} else if (op < 70) {
			hy_rtable_failed(rt, &pool[who], now);
		} else if (op < 75) {
			hy_rtable_remove(rt, &pool[who], now);
		} else if (op < 88) {
			size_t n = hy_rtable_want_pings(rt, now, out, 16);

			/* answer or fail the pings at random */
			for (size_t i = 0; i < n; i++) {
				if (hy_rng_below(&r, 2) == 0)
					hy_rtable_failed(rt, &out[i].id, now);
				else
					hy_rtable_heard(rt, &out[i].id,
					    &out[i].addr, HY_RTABLE_REPLY, now);
			}
		} else if (op < 94) {
			size_t n = hy_rtable_refresh_due(rt, now, &r, tg, 16);

			for (size_t i = 0; i < n; i++)
				hy_rtable_touch_bucket(rt, &tg[i], now);
		} else {
			size_t n = hy_rtable_closest(rt, &pool[who], 16, out,
			    HY_RTABLE_NO_BAD, now);

			for (size_t i = 1; i < n; i++)
				if (hy_id_cmp_dist(&pool[who], &out[i - 1].id,
				        &out[i].id) >= 0)
					ck_abort_msg("seed=%llu step=%d: order",
					    (unsigned long long)seed, step);
		}
		{
			const char *why = invariant_broken(rt);

			if (why != NULL ||
			    hy_rtable_next_deadline(rt, now) < now)
				ck_abort_msg("seed=%llu step=%d: %s",
				    (unsigned long long)seed, step,
				    why != NULL ? why : "deadline");
		}
	}
	hy_rtable_free(rt);
}
END_TEST

static Suite *
rtable_suite(void)
{
	Suite *s = suite_create("rtable");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rtable_config_defaults);
	tcase_add_test(tc, test_rtable_insert_and_find);
	tcase_add_test(tc, test_rtable_refuses);
	tcase_add_test(tc, test_rtable_split_own_bucket);
	tcase_add_test(tc, test_rtable_split_to_256_buckets);
	tcase_add_test(tc, test_rtable_status_timeline);
	tcase_add_test(tc, test_rtable_pending_ping_fails_evicts);
	tcase_add_test(tc, test_rtable_pending_ping_ok_keeps);
	tcase_add_test(tc, test_rtable_full_bucket_cached);
	tcase_add_test(tc, test_rtable_bad_replaced_at_once);
	tcase_add_test(tc, test_rtable_replacement_cache_bounded);
	tcase_add_test(tc, test_rtable_diversity_caps);
	tcase_add_test(tc, test_rtable_cache_diversity);
	tcase_add_test(tc, test_rtable_id_at_other_address);
	tcase_add_test(tc, test_rtable_address_of_other_id);
	tcase_add_loop_test(tc, test_rtable_closest_bruteforce, 0, 4);
	tcase_add_test(tc, test_rtable_refresh);
	tcase_add_test(tc, test_rtable_remove_promotes);
	tcase_add_test(tc, test_rtable_total_cap);
	tcase_add_test(tc, test_rtable_tick);
	tcase_add_test(tc, test_rtable_split_moves_candidates);
	tcase_add_test(tc, test_rtable_unverified_not_admitted);
	tcase_add_test(tc, test_rtable_want_verify);
	tcase_add_test(tc, test_rtable_change_hook);
	tcase_add_loop_test(tc, test_rtable_random_ops_invariants, 0, 12);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rtable_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
