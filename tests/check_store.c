/*
 * check_store.c: unit tests for the value store (src/store.c).
 *
 * Every test drives the store on an explicit timeline (now_ms values). A
 * refused put must leave the content untouched: tests compare a digest of
 * everything readable (values, data, expiries, sources, peers, sizes)
 * before and after. The randomized test runs against a small reference
 * model and prints its seed on failure.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/*
 * ck_assert records every passing check (a write per call); hot loops use
 * this instead, which only reports failures.
 */
#define REQUIRE(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

#define T0 1000000ull
#define SEC 1000ull

static struct hy_id
idn(uint32_t n, uint8_t tag)
{
	struct hy_id id;

	memset(&id, 0, sizeof(id));
	id.b[0] = tag;
	id.b[28] = (uint8_t)(n >> 24);
	id.b[29] = (uint8_t)(n >> 16);
	id.b[30] = (uint8_t)(n >> 8);
	id.b[31] = (uint8_t)n;
	return id;
}

#define KEY(n) idn((n), 0x4b)
#define SRC(n) idn((n), 0x53)

static struct hy_store *
mk(const struct hy_store_config *cfg)
{
	struct hy_store *st = NULL;

	ck_assert_int_eq(hy_store_new(&st, cfg), HY_OK);
	ck_assert_ptr_nonnull(st);
	return st;
}

static int
put(struct hy_store *st, uint32_t key, uint64_t id, const char *data,
    uint32_t ttl_s, uint32_t src, uint64_t now)
{
	struct hy_store_put_args a;

	memset(&a, 0, sizeof(a));
	a.key = KEY(key);
	a.id = id;
	a.data = data;
	a.len = strlen(data);
	a.ttl_s = ttl_s;
	a.source = SRC(src);
	return hy_store_put(st, &a, now);
}

/* A value of len bytes, each = fill. */
static int
put_fill(struct hy_store *st, uint32_t key, uint64_t id, size_t len,
    uint32_t src, uint64_t now, int fill)
{
	static uint8_t buf[1 << 17];
	struct hy_store_put_args a;

	memset(buf, fill, len);
	memset(&a, 0, sizeof(a));
	a.key = KEY(key);
	a.id = id;
	a.data = buf;
	a.len = len;
	a.ttl_s = 3600;
	a.source = SRC(src);
	return hy_store_put(st, &a, now);
}

static int
put_len(struct hy_store *st, uint32_t key, uint64_t id, size_t len,
    uint32_t src, uint64_t now)
{
	return put_fill(st, key, id, len, src, now, (int)(id & 0xff));
}

static struct hy_addr
paddr(uint32_t i)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET;
	a.ip[0] = 20;
	a.ip[1] = (uint8_t)(i >> 16);
	a.ip[2] = (uint8_t)(i >> 8);
	a.ip[3] = (uint8_t)i;
	a.port = (uint16_t)(6881 + i % 7);
	return a;
}

static int
announce(struct hy_store *st, uint32_t key, uint32_t i, bool seed, uint64_t now)
{
	struct hy_id k = KEY(key), n = SRC(i);
	struct hy_addr a = paddr(i);

	return hy_store_announce(st, &k, &a, &n, seed, now);
}

static struct hy_store_stats
stats(const struct hy_store *st)
{
	struct hy_store_stats s;

	hy_store_get_stats(st, &s);
	return s;
}

/* --- digest of everything readable ------------------------------------- */

struct dig {
	struct hy_store *st;
	uint64_t now;
	uint64_t h;
};

static void
mix(uint64_t *h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ULL;
	}
}

static int
dig_key(const struct hy_id *key, size_t nv, size_t np, void *arg)
{
	struct dig *d = arg;
	struct hy_store_value v[128];
	struct hy_store_peer p[512];
	size_t n, m;

	mix(&d->h, key->b, HY_ID_LEN);
	n = hy_store_get(d->st, key, d->now, v, 128);
	ck_assert_uint_le(n, nv);
	for (size_t i = 0; i < n; i++) {
		mix(&d->h, &v[i].id, sizeof(v[i].id));
		mix(&d->h, &v[i].len, sizeof(v[i].len));
		mix(&d->h, v[i].data, v[i].len);
		mix(&d->h, &v[i].expires_ms, sizeof(v[i].expires_ms));
		mix(&d->h, &v[i].flags, sizeof(v[i].flags));
		mix(&d->h, v[i].source.b, HY_ID_LEN);
		if (v[i].is_mutable)
			mix(&d->h, &v[i].mut->seq, sizeof(v[i].mut->seq));
	}
	m = hy_store_get_peers(d->st, key, d->now, p, 512, NULL);
	ck_assert_uint_le(m, np);
	for (size_t i = 0; i < m; i++) {
		mix(&d->h, &p[i].addr, sizeof(p[i].addr));
		mix(&d->h, p[i].node.b, HY_ID_LEN);
		mix(&d->h, &p[i].seed, sizeof(p[i].seed));
		mix(&d->h, &p[i].expires_ms, sizeof(p[i].expires_ms));
	}
	return 0;
}

static uint64_t
digest(struct hy_store *st, uint64_t now)
{
	struct dig d = { st, now, 0xcbf29ce484222325ULL };
	struct hy_store_stats s = stats(st);

	ck_assert_int_eq(hy_store_foreach_key(st, dig_key, &d), 0);
	mix(&d.h, &s.keys, sizeof(s.keys));
	mix(&d.h, &s.values, sizeof(s.values));
	mix(&d.h, &s.bytes, sizeof(s.bytes));
	mix(&d.h, &s.peers, sizeof(s.peers));
	mix(&d.h, &s.sources, sizeof(s.sources));
	return d.h;
}

/* --- plain values ------------------------------------------------------ */

START_TEST(test_store_config)
{
	struct hy_store_config c;
	struct hy_store *st = NULL;

	hy_store_config_default(&c);
	ck_assert_uint_eq(c.max_bytes, 64ull << 20);
	ck_assert_uint_eq(c.max_keys, 65536);
	ck_assert_uint_eq(c.max_values_per_key, 64);
	ck_assert_uint_eq(c.max_source_bytes, 1u << 20);
	ck_assert_uint_eq(c.max_source_values, 1024);
	ck_assert_uint_eq(c.max_value_len, 65536);
	ck_assert_uint_eq(c.max_peers_per_key, 256);
	ck_assert_uint_eq(c.max_peers, 65536);
	ck_assert_uint_eq(c.peer_ttl_s, 1800);
	st = mk(NULL);
	hy_store_free(st);
	hy_store_free(NULL);

	st = NULL;
	c.max_keys = 0;
	ck_assert_int_eq(hy_store_new(&st, &c), HY_EINVAL);
	ck_assert_ptr_null(st);
	hy_store_config_default(&c);
	c.max_source_values = c.max_values + 1;
	ck_assert_int_eq(hy_store_new(&st, &c), HY_EINVAL);
	hy_store_config_default(&c);
	c.max_ttl_s = HY_STORE_TTL_MAX_S + 1;
	ck_assert_int_eq(hy_store_new(&st, &c), HY_EINVAL);
	hy_store_config_default(&c);
	c.max_source_bytes = c.max_bytes + 1;
	ck_assert_int_eq(hy_store_new(&st, &c), HY_EINVAL);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(test_store_put_get_several)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_value v[8];
	struct hy_id k1 = KEY(1), k2 = KEY(2), k3 = KEY(3);
	struct hy_store_stats s;

	ck_assert_int_eq(put(st, 1, 10, "alpha", 60, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 1, 11, "beta", 120, 2, T0), HY_OK);
	ck_assert_int_eq(put(st, 1, 12, "", 30, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 2, 10, "other key", 60, 1, T0), HY_OK);

	ck_assert_uint_eq(hy_store_get(st, &k1, T0 + 500, v, 8), 3);
	ck_assert_uint_eq(v[0].id, 10);
	ck_assert_uint_eq(v[0].len, 5);
	ck_assert_mem_eq(v[0].data, "alpha", 5);
	ck_assert_uint_eq(v[0].ttl_s, 60);
	ck_assert_uint_eq(v[0].expires_ms, T0 + 60 * SEC);
	ck_assert_uint_eq(v[0].remaining_ms, 60 * SEC - 500);
	ck_assert_mem_eq(v[0].source.b, SRC(1).b, HY_ID_LEN);
	ck_assert(!v[0].is_mutable);
	ck_assert_ptr_null(v[0].mut);
	ck_assert_mem_eq(v[0].key.b, k1.b, HY_ID_LEN);
	ck_assert_uint_eq(v[1].id, 11);
	ck_assert_mem_eq(v[1].data, "beta", 4);
	ck_assert_mem_eq(v[1].source.b, SRC(2).b, HY_ID_LEN);
	ck_assert_uint_eq(v[2].id, 12);
	ck_assert_uint_eq(v[2].len, 0);

	/* max limits the answer. */
	ck_assert_uint_eq(hy_store_get(st, &k1, T0, v, 2), 2);
	ck_assert_uint_eq(v[1].id, 11);
	ck_assert_uint_eq(hy_store_count(st, &k1, T0), 3);
	ck_assert_uint_eq(hy_store_count(st, &k2, T0), 1);
	ck_assert_uint_eq(hy_store_count(st, &k3, T0), 0);
	ck_assert_uint_eq(hy_store_get(st, &k3, T0, v, 8), 0);

	ck_assert_int_eq(hy_store_lookup(st, &k1, 11, T0, &v[5]), HY_OK);
	ck_assert_mem_eq(v[5].data, "beta", 4);
	ck_assert_int_eq(hy_store_lookup(st, &k1, 13, T0, &v[5]), HY_ENOENT);
	ck_assert_int_eq(hy_store_lookup(st, &k3, 10, T0, &v[5]), HY_ENOENT);

	s = stats(st);
	ck_assert_uint_eq(s.keys, 2);
	ck_assert_uint_eq(s.value_keys, 2);
	ck_assert_uint_eq(s.values, 4);
	ck_assert_uint_eq(s.bytes, 5 + 4 + 0 + 9);
	ck_assert_uint_eq(s.sources, 2);
	ck_assert_uint_eq(s.stored, 4);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_bad_args)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_put_args a = { .key = KEY(1),
		.id = 1,
		.data = NULL,
		.len = 3,
		.ttl_s = 10 };

	ck_assert_int_eq(hy_store_put(st, &a, T0), HY_EINVAL);
	a.data = "abc";
	a.ttl_s = 0;
	ck_assert_int_eq(hy_store_put(st, &a, T0), HY_EINVAL);
	a.ttl_s = HY_STORE_TTL_MAX_S + 1;
	ck_assert_int_eq(hy_store_put(st, &a, T0), HY_ERANGE);
	a.ttl_s = HY_STORE_TTL_MAX_S;
	a.id = HY_STORE_MUTABLE_ID;
	ck_assert_int_eq(hy_store_put(st, &a, T0), HY_EINVAL);
	a.id = 1;
	ck_assert_int_eq(hy_store_put(st, &a, T0), HY_OK);
	ck_assert_uint_eq(hy_store_next_expiry(st),
	    T0 + (uint64_t)HY_STORE_TTL_MAX_S * SEC);
	ck_assert_uint_eq(stats(st).values, 1);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_replace_same_source)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_value v;
	struct hy_id k = KEY(1);
	struct hy_store_stats s;

	ck_assert_int_eq(put(st, 1, 7, "first value", 60, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 1, 8, "neighbour", 60, 1, T0), HY_OK);
	/* New data from the same source replaces, in place, new expiry. */
	ck_assert_int_eq(put(st, 1, 7, "second", 100, 1, T0 + 10 * SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &k, 7, T0 + 10 * SEC, &v), HY_OK);
	ck_assert_uint_eq(v.len, 6);
	ck_assert_mem_eq(v.data, "second", 6);
	ck_assert_uint_eq(v.expires_ms, T0 + 110 * SEC);
	ck_assert_uint_eq(v.ttl_s, 100);
	s = stats(st);
	ck_assert_uint_eq(s.values, 2);
	ck_assert_uint_eq(s.bytes, 6 + 9);
	ck_assert_uint_eq(s.replaced, 1);
	/* Same data again: a refresh; the same source may also shorten. */
	ck_assert_int_eq(put(st, 1, 7, "second", 5, 1, T0 + 20 * SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &k, 7, T0 + 20 * SEC, &v), HY_OK);
	ck_assert_uint_eq(v.expires_ms, T0 + 25 * SEC);
	ck_assert_uint_eq(stats(st).refreshed, 1);
	ck_assert_uint_eq(stats(st).bytes, 6 + 9);
	/* Order kept: id 7 still first. */
	{
		struct hy_store_value all[4];

		ck_assert_uint_eq(hy_store_get(st, &k, T0 + 20 * SEC, all, 4),
		    2);
		ck_assert_uint_eq(all[0].id, 7);
		ck_assert_uint_eq(all[1].id, 8);
	}
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 25 * SEC);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_other_source)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_value v;
	struct hy_id k = KEY(1);
	uint64_t d;

	ck_assert_int_eq(put(st, 1, 7, "data", 60, 1, T0), HY_OK);
	/* A replica with the same data extends, never shortens. */
	ck_assert_int_eq(put(st, 1, 7, "data", 10, 2, T0 + SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &k, 7, T0 + SEC, &v), HY_OK);
	ck_assert_uint_eq(v.expires_ms, T0 + 60 * SEC);
	ck_assert_mem_eq(v.source.b, SRC(1).b, HY_ID_LEN);
	ck_assert_int_eq(put(st, 1, 7, "data", 120, 2, T0 + 2 * SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &k, 7, T0 + 2 * SEC, &v), HY_OK);
	ck_assert_uint_eq(v.expires_ms, T0 + 122 * SEC);
	ck_assert_mem_eq(v.source.b, SRC(1).b, HY_ID_LEN);
	ck_assert_uint_eq(stats(st).sources, 1);
	/* Other data from another source: the first writer keeps the id. */
	d = digest(st, T0 + 3 * SEC);
	ck_assert_int_eq(put(st, 1, 7, "evil", 60, 2, T0 + 3 * SEC), HY_EEXIST);
	ck_assert_uint_eq(digest(st, T0 + 3 * SEC), d);
	ck_assert_uint_eq(stats(st).refused_exists, 1);
	/* Once it expired, anyone may take the id. */
	ck_assert_int_eq(put(st, 1, 7, "evil", 60, 2, T0 + 122 * SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &k, 7, T0 + 122 * SEC, &v), HY_OK);
	ck_assert_mem_eq(v.data, "evil", 4);
	ck_assert_mem_eq(v.source.b, SRC(2).b, HY_ID_LEN);
	ck_assert_uint_eq(stats(st).sources, 1);
	ck_assert_uint_eq(stats(st).expired_values, 1);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_ttl_expiry)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_value v[4];
	struct hy_id k = KEY(1), k2 = KEY(2);

	ck_assert_uint_eq(hy_store_next_expiry(st), UINT64_MAX);
	ck_assert_uint_eq(hy_store_expire(st, T0), 0);
	ck_assert_int_eq(put(st, 1, 1, "a", 30, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 1, 2, "b", 10, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 2, 3, "c", 20, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 1, 4, "d", 10, 1, T0), HY_OK);
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 10 * SEC);

	/* Visible up to the last millisecond, gone exactly at the TTL. */
	ck_assert_uint_eq(hy_store_get(st, &k, T0 + 10 * SEC - 1, v, 4), 3);
	ck_assert_uint_eq(v[1].remaining_ms, 1);
	ck_assert_uint_eq(hy_store_get(st, &k, T0 + 10 * SEC, v, 4), 1);
	ck_assert_uint_eq(v[0].id, 1);
	ck_assert_int_eq(hy_store_lookup(st, &k, 2, T0 + 10 * SEC, v),
	    HY_ENOENT);
	ck_assert_uint_eq(hy_store_expire(st, T0 + 10 * SEC - 1), 0);
	ck_assert_uint_eq(stats(st).values, 4);
	ck_assert_uint_eq(hy_store_expire(st, T0 + 10 * SEC), 2);
	ck_assert_uint_eq(stats(st).values, 2);
	ck_assert_uint_eq(stats(st).bytes, 2);
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 20 * SEC);

	ck_assert_uint_eq(hy_store_expire(st, T0 + 25 * SEC), 1);
	ck_assert_uint_eq(hy_store_count(st, &k2, T0 + 25 * SEC), 0);
	ck_assert_uint_eq(stats(st).keys, 1);
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 30 * SEC);
	ck_assert_uint_eq(hy_store_expire(st, T0 + 3600 * SEC), 1);
	ck_assert_uint_eq(hy_store_next_expiry(st), UINT64_MAX);
	ck_assert_uint_eq(stats(st).expired_values, 4);
	ck_assert_uint_eq(stats(st).keys, 0);
	ck_assert_uint_eq(stats(st).sources, 0);
	ck_assert_uint_eq(stats(st).bytes, 0);
	hy_store_free(st);
}
END_TEST

/* Many values with random TTLs leave in expiry order, each exactly on
 * time: a deeper exercise of the expiry heap (with refreshes). */
START_TEST(test_store_expiry_order)
{
	struct hy_store *st = mk(NULL);
	static unsigned due[1001]; /* values expiring at second t */
	static uint32_t ttls[3000];
	struct hy_rng r;
	size_t left = 3000;

	memset(due, 0, sizeof(due));
	hy_rng_seed(&r, 77);
	for (uint32_t i = 0; i < 3000; i++) {
		ttls[i] = 1 + (uint32_t)hy_rng_below(&r, 500);
		ck_assert_int_eq(put(st, i % 97, i, "v", ttls[i], i % 7, T0),
		    HY_OK);
	}
	/* Every third is refreshed by its source: shortened or extended. */
	for (uint32_t i = 0; i < 3000; i += 3) {
		ttls[i] = 1 + (uint32_t)hy_rng_below(&r, 1000);
		ck_assert_int_eq(put(st, i % 97, i, "v", ttls[i], i % 7, T0),
		    HY_OK);
	}
	for (uint32_t i = 0; i < 3000; i++)
		due[ttls[i]]++;
	for (uint32_t t = 1; t <= 1000; t++) {
		uint64_t now = T0 + t * SEC;

		if (left > 0)
			ck_assert_uint_ge(hy_store_next_expiry(st), now);
		ck_assert_uint_eq(hy_store_expire(st, now - 1), 0);
		ck_assert_uint_eq(hy_store_expire(st, now), due[t]);
		left -= due[t];
		ck_assert_uint_eq(stats(st).values, left);
	}
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_eq(hy_store_next_expiry(st), UINT64_MAX);
	hy_store_free(st);
}
END_TEST

struct order {
	uint32_t n;
	uint32_t expect[6000];
	int bad;
};

static int
order_key(const struct hy_id *key, size_t nv, size_t np, void *arg)
{
	struct order *o = arg;
	struct hy_id want = KEY(o->expect[o->n++]);

	o->bad |= memcmp(key->b, want.b, HY_ID_LEN) != 0 || nv != 1 || np != 0;
	return 0;
}

/* Thousands of keys in and out: the key map grows, shrinks, and keeps
 * finding every key (backward-shift deletion), and iterates in insertion
 * order. */
START_TEST(test_store_many_keys)
{
	struct hy_store *st = mk(NULL);
	static bool gone[6000];
	static struct order o;
	struct hy_rng r;
	size_t left = 6000;

	hy_rng_seed(&r, 5);
	memset(gone, 0, sizeof(gone));
	for (uint32_t i = 0; i < 6000; i++)
		ck_assert_int_eq(put(st, i, 1, "x", 60, i % 8, T0), HY_OK);
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < 6000; i++) {
			struct hy_id k = KEY(i);

			if (gone[i] || hy_rng_below(&r, 3) != 0)
				continue;
			ck_assert_int_eq(hy_store_remove_key(st, &k), HY_OK);
			gone[i] = true;
			left--;
		}
		ck_assert_uint_eq(stats(st).keys, left);
		for (uint32_t i = 0; i < 6000; i++) {
			struct hy_id k = KEY(i);

			REQUIRE(hy_store_count(st, &k, T0) == (gone[i] ? 0 : 1),
			    "key %u", i);
		}
	}
	o.n = 0;
	o.bad = 0;
	for (uint32_t i = 0, j = 0; i < 6000; i++)
		if (!gone[i])
			o.expect[j++] = i;
	ck_assert_int_eq(hy_store_foreach_key(st, order_key, &o), 0);
	ck_assert_uint_eq(o.n, left);
	ck_assert_int_eq(o.bad, 0);
	/* Remove the rest: the map empties; and it refills. */
	for (uint32_t i = 0; i < 6000; i++) {
		struct hy_id k = KEY(i);

		ck_assert_int_eq(hy_store_remove(st, &k, 1),
		    gone[i] ? HY_ENOENT : HY_OK);
	}
	ck_assert_uint_eq(stats(st).keys, 0);
	ck_assert_uint_eq(stats(st).sources, 0);
	ck_assert_int_eq(put(st, 1, 1, "x", 60, 1, T0), HY_OK);
	ck_assert_uint_eq(hy_store_count(st, &(struct hy_id){ { 0 } }, T0), 0);
	hy_store_free(st);
}
END_TEST

/* --- quotas ------------------------------------------------------------ */

static struct hy_store_config
small_cfg(void)
{
	struct hy_store_config c;

	hy_store_config_default(&c);
	c.max_bytes = 1000;
	c.max_keys = 3;
	c.max_values = 8;
	c.max_values_per_key = 4;
	c.max_source_bytes = 400;
	c.max_source_values = 5;
	c.max_value_len = 300;
	return c;
}

START_TEST(test_store_quota_too_large)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	uint64_t d;

	ck_assert_int_eq(put_len(st, 1, 1, 300, 1, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 1, 2, 301, 2, T0), HY_ETOOBIG);
	/* A replacement that grows too large leaves the old value. */
	ck_assert_int_eq(put_len(st, 1, 1, 301, 1, T0), HY_ETOOBIG);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_too_large, 2);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_quota_bytes)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	uint64_t d;

	ck_assert_int_eq(put_len(st, 1, 1, 300, 1, T0), HY_OK);
	ck_assert_int_eq(put_len(st, 1, 2, 300, 2, T0), HY_OK);
	ck_assert_int_eq(put_len(st, 2, 3, 300, 3, T0), HY_OK);
	ck_assert_int_eq(put_len(st, 2, 4, 100, 4, T0), HY_OK);
	ck_assert_uint_eq(stats(st).bytes, 1000);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 3, 5, 1, 5, T0), HY_EFULL);
	ck_assert_int_eq(put_len(st, 2, 4, 101, 4, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_bytes, 2);
	/* An empty value still fits. */
	ck_assert_int_eq(put_len(st, 3, 5, 0, 5, T0), HY_OK);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_quota_keys)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	uint64_t d;

	for (uint32_t k = 1; k <= 3; k++)
		ck_assert_int_eq(put_len(st, k, k, 10, k, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 4, 9, 10, 4, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_keys, 1);
	/* Existing keys still take values. */
	ck_assert_int_eq(put_len(st, 2, 9, 10, 4, T0), HY_OK);
	/* A key with peers only does not count, and may gain values only
	 * while the values' key quota allows. */
	ck_assert_int_eq(announce(st, 5, 1, false, T0), HY_OK);
	ck_assert_uint_eq(stats(st).keys, 4);
	ck_assert_uint_eq(stats(st).value_keys, 3);
	ck_assert_int_eq(put_len(st, 5, 9, 10, 4, T0), HY_EFULL);
	ck_assert_uint_eq(stats(st).refused_keys, 2);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_quota_values)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	uint64_t d;

	/* 8 values over 3 keys from 4 sources (2 each). */
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_int_eq(put_len(st, 1 + i % 3, i, 10, i / 2, T0),
		    HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 3, 100, 10, 9, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_values, 1);
	/* Replacing one does not need a new value slot. */
	ck_assert_int_eq(put_len(st, 1, 0, 20, 0, T0), HY_OK);
	ck_assert_uint_eq(stats(st).values, 8);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_quota_per_key)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	uint64_t d;

	for (uint32_t i = 0; i < 4; i++)
		ck_assert_int_eq(put_len(st, 1, i, 10, i, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 1, 4, 10, 4, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_per_key, 1);
	ck_assert_int_eq(put_len(st, 2, 4, 10, 4, T0), HY_OK);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_quota_per_source)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	struct hy_id k2;
	uint64_t d;

	c.max_values_per_key = 8;
	hy_store_free(st);
	st = mk(&c);
	/* Bytes: 400 per source. */
	ck_assert_int_eq(put_len(st, 1, 1, 300, 1, T0), HY_OK);
	ck_assert_int_eq(put_len(st, 1, 2, 100, 1, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 1, 3, 1, 1, T0), HY_EFULL);
	ck_assert_int_eq(put_len(st, 1, 2, 101, 1, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_per_source, 2);
	/* Another source is not affected. */
	ck_assert_int_eq(put_len(st, 1, 3, 1, 2, T0), HY_OK);
	/* Values: 5 per source. */
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_int_eq(put_len(st, 2, 10 + i, 1, 2, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 2, 20, 1, 2, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_per_source, 3);
	/* Removing one frees the source's slot. */
	k2 = KEY(2);
	ck_assert_int_eq(hy_store_remove(st, &k2, 10), HY_OK);
	ck_assert_int_eq(put_len(st, 2, 20, 1, 2, T0), HY_OK);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_replace_accounting)
{
	struct hy_store_config c = small_cfg();
	struct hy_store *st = mk(&c);
	struct hy_store_value v;
	struct hy_id k = KEY(1);
	uint64_t d;

	c.max_bytes = 400;
	hy_store_free(st);
	st = mk(&c);
	ck_assert_int_eq(put_len(st, 1, 1, 300, 1, T0), HY_OK);
	ck_assert_int_eq(put_len(st, 1, 2, 100, 2, T0), HY_OK);
	/* Full: growing id 2 by one byte is refused, old data intact. */
	d = digest(st, T0);
	ck_assert_int_eq(put_len(st, 1, 2, 101, 2, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	/* Other data of the same size fits: only the difference counts. */
	ck_assert_int_eq(put_fill(st, 1, 1, 300, 1, T0, 0xee), HY_OK);
	ck_assert_uint_eq(stats(st).replaced, 1);
	/* Shrinking frees bytes for others. */
	ck_assert_int_eq(put_len(st, 1, 1, 50, 1, T0), HY_OK);
	ck_assert_uint_eq(stats(st).bytes, 150);
	ck_assert_int_eq(hy_store_lookup(st, &k, 1, T0, &v), HY_OK);
	ck_assert_uint_eq(v.len, 50);
	ck_assert_int_eq(put_len(st, 1, 3, 250, 3, T0), HY_OK);
	ck_assert_uint_eq(stats(st).bytes, 400);
	ck_assert_uint_eq(stats(st).values, 3);
	hy_store_free(st);
}
END_TEST

/* --- mutable values ---------------------------------------------------- */

static struct hy_store_mutable_args
mut_args(uint8_t owner, const char *salt, uint64_t seq, const char *data)
{
	struct hy_store_mutable_args a;
	struct hy_span sp[2];
	uint8_t h[HY_SHA256_LEN];

	memset(&a, 0, sizeof(a));
	a.m.pub[0] = 0x02;
	memset(a.m.pub + 1, owner, HY_PUBKEY_LEN - 1);
	a.m.salt_len = strlen(salt);
	memcpy(a.m.salt, salt, a.m.salt_len);
	a.m.seq = seq;
	memset(a.m.sig, (int)seq, HY_SIG_LEN);
	sp[0].p = a.m.pub;
	sp[0].len = HY_PUBKEY_LEN;
	sp[1].p = a.m.salt;
	sp[1].len = a.m.salt_len;
	ck_assert_int_eq(hy_sha256v(sp, 2, h), HY_OK);
	memcpy(a.key.b, h, HY_ID_LEN);
	a.data = data;
	a.len = strlen(data);
	a.ttl_s = 3600;
	a.source = SRC(1);
	return a;
}

START_TEST(test_store_mutable_key_check)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_mutable_args a = mut_args(7, "salt", 1, "v1");

	a.key.b[5] ^= 1;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_EINVAL);
	a = mut_args(7, "salt", 1, "v1");
	a.m.salt_len = 65;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_ETOOBIG);
	a = mut_args(7, "salt", 1, "v1");
	a.m.pub[3] ^= 1; /* another owner: another key */
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_EINVAL);
	ck_assert_uint_eq(stats(st).values, 0);
	a = mut_args(7, "salt", 1, "v1");
	a.ttl_s = HY_STORE_TTL_MAX_S + 1; /* EINVAL: ERANGE means the seq */
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_EINVAL);
	a.ttl_s = 0;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_EINVAL);
	a = mut_args(7, "", 1, "v1"); /* empty salt is fine */
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_OK);
	ck_assert_uint_eq(stats(st).values, 1);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_mutable_seq)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_mutable_args a = mut_args(7, "s", 5, "five");
	struct hy_store_value v;
	uint64_t d;

	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_OK);
	/* It lives beside plain values of the same key. */
	{
		struct hy_store_put_args p = { .key = a.key,
			.id = 1,
			.data = "plain",
			.len = 5,
			.ttl_s = 60,
			.source = SRC(2) };

		ck_assert_int_eq(hy_store_put(st, &p, T0), HY_OK);
	}
	ck_assert_int_eq(hy_store_lookup(st, &a.key, HY_STORE_MUTABLE_ID, T0,
	                     &v),
	    HY_OK);
	ck_assert(v.is_mutable);
	ck_assert_ptr_nonnull(v.mut);
	ck_assert_uint_eq(v.mut->seq, 5);
	ck_assert_uint_eq(v.mut->salt_len, 1);
	ck_assert_mem_eq(v.mut->pub, a.m.pub, HY_PUBKEY_LEN);
	ck_assert_mem_eq(v.mut->sig, a.m.sig, HY_SIG_LEN);
	ck_assert_mem_eq(v.data, "five", 4);

	d = digest(st, T0);
	a = mut_args(7, "s", 4, "four");
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_ERANGE);
	a = mut_args(7, "s", 5, "FIVE"); /* equal seq, other data */
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_ERANGE);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_seq, 2);

	/* Equal seq, same data: a refresh (another source extends). */
	a = mut_args(7, "s", 5, "five");
	a.source = SRC(3);
	a.ttl_s = 7200;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0 + SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &a.key, HY_STORE_MUTABLE_ID,
	                     T0 + SEC, &v),
	    HY_OK);
	ck_assert_uint_eq(v.expires_ms, T0 + 7201 * SEC);
	ck_assert_mem_eq(v.source.b, SRC(1).b, HY_ID_LEN);
	ck_assert_uint_eq(stats(st).refreshed, 1);

	/* Higher seq replaces, charged to its source. */
	a = mut_args(7, "s", 9, "nine!");
	a.source = SRC(3);
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0 + 2 * SEC), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &a.key, HY_STORE_MUTABLE_ID,
	                     T0 + 2 * SEC, &v),
	    HY_OK);
	ck_assert_uint_eq(v.mut->seq, 9);
	ck_assert_mem_eq(v.data, "nine!", 5);
	ck_assert_mem_eq(v.source.b, SRC(3).b, HY_ID_LEN);
	ck_assert_uint_eq(stats(st).values, 2);
	ck_assert_uint_eq(stats(st).bytes, 5 + 5);
	ck_assert_uint_eq(stats(st).sources, 2); /* SRC(2) and SRC(3) */
	ck_assert_uint_eq(hy_store_count(st, &a.key, T0), 2);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_mutable_cas)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_mutable_args a = mut_args(9, "cas", 3, "three");
	struct hy_store_value v;
	uint64_t d;

	/* Nothing stored: cas is not checked (a new replica accepts). */
	a.cas = 2;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_OK);
	/* Mismatch: HY_EEXIST, distinct from seq-too-old. */
	d = digest(st, T0);
	a = mut_args(9, "cas", 4, "four");
	a.cas = 2;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_EEXIST);
	/* CAS is checked before the sequence, as in BEP 44 (301 first). */
	a = mut_args(9, "cas", 1, "one");
	a.cas = 2;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_EEXIST);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_cas, 2);
	ck_assert_uint_eq(stats(st).refused_seq, 0);
	/* Match: succeeds. */
	a = mut_args(9, "cas", 4, "four");
	a.cas = 3;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_OK);
	ck_assert_int_eq(hy_store_lookup(st, &a.key, HY_STORE_MUTABLE_ID, T0,
	                     &v),
	    HY_OK);
	ck_assert_uint_eq(v.mut->seq, 4);
	/* Matching cas but an old seq is still too old. */
	a = mut_args(9, "cas", 2, "two");
	a.cas = 4;
	ck_assert_int_eq(hy_store_put_mutable(st, &a, T0), HY_ERANGE);
	hy_store_free(st);
}
END_TEST

/* --- peers ------------------------------------------------------------- */

START_TEST(test_store_peers_announce_refresh_expire)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_peer p[8];
	struct hy_id k = KEY(1);
	struct hy_addr unset;

	memset(&unset, 0, sizeof(unset));
	ck_assert_int_eq(hy_store_announce(st, &k, &unset, &k, false, T0),
	    HY_EINVAL);
	ck_assert_int_eq(announce(st, 1, 1, false, T0), HY_OK);
	ck_assert_int_eq(announce(st, 1, 2, true, T0), HY_OK);
	ck_assert_int_eq(announce(st, 1, 3, false, T0 + 60 * SEC), HY_OK);
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, p, 8, NULL), 3);
	unset = paddr(1);
	ck_assert(hy_addr_eq(&p[0].addr, &unset));
	ck_assert(!p[0].seed);
	ck_assert(p[1].seed);
	ck_assert_uint_eq(p[0].expires_ms, T0 + 1800 * SEC);
	ck_assert_uint_eq(stats(st).peers, 3);
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 1800 * SEC);

	/* Re-announce: same address refreshes, takes the new flag. */
	ck_assert_int_eq(announce(st, 1, 1, true, T0 + 120 * SEC), HY_OK);
	ck_assert_uint_eq(stats(st).peers, 3);
	ck_assert_uint_eq(stats(st).announced, 3);
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 1800 * SEC);
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0 + 1800 * SEC, p, 8,
	                      NULL),
	    2);
	ck_assert(p[0].seed);
	ck_assert_uint_eq(p[0].expires_ms, T0 + 1920 * SEC);
	ck_assert_uint_eq(hy_store_expire(st, T0 + 1800 * SEC), 1);
	ck_assert_uint_eq(hy_store_expire(st, T0 + 1920 * SEC), 2);
	ck_assert_uint_eq(stats(st).peers, 0);
	ck_assert_uint_eq(stats(st).keys, 0);
	ck_assert_uint_eq(stats(st).expired_peers, 3);
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, p, 8, NULL), 0);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_peers_caps)
{
	struct hy_store_config c;
	struct hy_store *st;
	uint64_t d;

	hy_store_config_default(&c);
	c.max_peers_per_key = 4;
	c.max_peers = 6;
	st = mk(&c);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_int_eq(announce(st, 1, i, false, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(announce(st, 1, 4, false, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	/* A full key still takes a re-announcement. */
	ck_assert_int_eq(announce(st, 1, 2, true, T0), HY_OK);
	ck_assert_int_eq(announce(st, 2, 10, false, T0), HY_OK);
	ck_assert_int_eq(announce(st, 3, 11, false, T0), HY_OK);
	d = digest(st, T0);
	ck_assert_int_eq(announce(st, 4, 12, false, T0), HY_EFULL);
	ck_assert_int_eq(announce(st, 2, 13, false, T0), HY_EFULL);
	ck_assert_uint_eq(digest(st, T0), d);
	ck_assert_uint_eq(stats(st).refused_peers, 3);
	ck_assert_uint_eq(stats(st).peers, 6);
	ck_assert_uint_eq(stats(st).keys, 3);
	hy_store_free(st);
}
END_TEST

START_TEST(test_store_peers_sampling)
{
	struct hy_store *st = mk(NULL);
	struct hy_store_peer a[8], b[8];
	struct hy_id k = KEY(1);
	struct hy_rng r1, r2;
	unsigned hits[50];
	bool differ = false;

	for (uint32_t i = 0; i < 50; i++)
		ck_assert_int_eq(announce(st, 1, i, false, T0), HY_OK);
	/* Zero the padding: the arrays are compared with memcmp. */
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	hy_rng_seed(&r1, 42);
	hy_rng_seed(&r2, 42);
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, a, 8, &r1), 8);
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, b, 8, &r2), 8);
	ck_assert_mem_eq(a, b, sizeof(a));
	/* Distinct peers, all of the key's. */
	for (int i = 0; i < 8; i++) {
		ck_assert_uint_eq(a[i].addr.ip[0], 20);
		ck_assert_uint_lt(a[i].addr.ip[3], 50);
		for (int j = 0; j < i; j++)
			ck_assert(!hy_addr_eq(&a[i].addr, &a[j].addr));
	}
	/* Other draws differ, and every peer gets picked about 8/50. */
	memset(hits, 0, sizeof(hits));
	for (int t = 0; t < 5000; t++) {
		ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, b, 8, &r1), 8);
		differ |= memcmp(a, b, sizeof(a)) != 0;
		for (int i = 0; i < 8; i++)
			hits[b[i].addr.ip[3]]++;
	}
	ck_assert(differ);
	for (int i = 0; i < 50; i++) {
		/* expected 800; a 5-sigma band is about +-130 */
		ck_assert_uint_gt(hits[i], 650);
		ck_assert_uint_lt(hits[i], 950);
	}
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, a, 0, &r1), 0);
	/* Without an rng: the first max, in announcement order. */
	ck_assert_uint_eq(hy_store_get_peers(st, &k, T0, a, 8, NULL), 8);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(a[i].addr.ip[3], i);
	hy_store_free(st);
}
END_TEST

/* --- iteration and removal --------------------------------------------- */

struct visit {
	struct hy_store *st;
	int keys;
	size_t values, peers;
	int stop_at;
	int mut_rc;
};

static int
visit_key(const struct hy_id *key, size_t nv, size_t np, void *arg)
{
	struct visit *v = arg;

	v->keys++;
	v->values += nv;
	v->peers += np;
	v->mut_rc = hy_store_remove_key(v->st, key);
	return v->keys == v->stop_at ? 77 : 0;
}

static int
visit_value(const struct hy_store_value *val, void *arg)
{
	struct visit *v = arg;

	v->values += val->len;
	v->mut_rc = put(v->st, 1, 99, "x", 10, 1, T0);
	return 0;
}

START_TEST(test_store_foreach_and_remove)
{
	struct hy_store *st = mk(NULL);
	struct visit v = { st, 0, 0, 0, 0, 0 };
	struct hy_id k1 = KEY(1), k2 = KEY(2), k3 = KEY(3);

	ck_assert_int_eq(put(st, 1, 1, "aa", 60, 1, T0), HY_OK);
	ck_assert_int_eq(put(st, 1, 2, "bbb", 60, 2, T0), HY_OK);
	ck_assert_int_eq(put(st, 2, 1, "c", 60, 1, T0), HY_OK);
	ck_assert_int_eq(announce(st, 2, 1, false, T0), HY_OK);
	ck_assert_int_eq(announce(st, 3, 1, false, T0), HY_OK);

	ck_assert_int_eq(hy_store_foreach_key(st, visit_key, &v), 0);
	ck_assert_int_eq(v.keys, 3);
	ck_assert_uint_eq(v.values, 3);
	ck_assert_uint_eq(v.peers, 2);
	ck_assert_int_eq(v.mut_rc, HY_ESTATE);
	memset(&v, 0, sizeof(v));
	v.st = st;
	v.stop_at = 2;
	ck_assert_int_eq(hy_store_foreach_key(st, visit_key, &v), 77);
	ck_assert_int_eq(v.keys, 2);

	memset(&v, 0, sizeof(v));
	v.st = st;
	ck_assert_int_eq(hy_store_foreach_value(st, &k1, T0, visit_value, &v),
	    0);
	ck_assert_uint_eq(v.values, 5);
	ck_assert_int_eq(v.mut_rc, HY_ESTATE);
	ck_assert_int_eq(hy_store_foreach_value(st, &k3, T0, visit_value, &v),
	    HY_ENOENT);
	ck_assert_uint_eq(stats(st).values, 3);

	/* Removal. */
	ck_assert_int_eq(hy_store_remove(st, &k1, 7), HY_ENOENT);
	ck_assert_int_eq(hy_store_remove(st, &k3, 1), HY_ENOENT);
	ck_assert_int_eq(hy_store_remove(st, &k1, 1), HY_OK);
	ck_assert_uint_eq(hy_store_count(st, &k1, T0), 1);
	ck_assert_uint_eq(stats(st).bytes, 4);
	ck_assert_int_eq(hy_store_remove(st, &k1, 2), HY_OK);
	ck_assert_uint_eq(stats(st).keys, 2);
	ck_assert_int_eq(hy_store_remove_key(st, &k2), HY_OK);
	ck_assert_int_eq(hy_store_remove_key(st, &k2), HY_ENOENT);
	ck_assert_uint_eq(stats(st).values, 0);
	ck_assert_uint_eq(stats(st).peers, 1);
	ck_assert_uint_eq(stats(st).sources, 0);
	ck_assert_uint_eq(stats(st).bytes, 0);
	ck_assert_uint_eq(hy_store_next_expiry(st), T0 + 1800 * SEC);
	ck_assert_int_eq(hy_store_remove_key(st, &k3), HY_OK);
	ck_assert_uint_eq(stats(st).keys, 0);
	ck_assert_uint_eq(hy_store_next_expiry(st), UINT64_MAX);
	hy_store_free(st);
}
END_TEST

/* --- randomized against a reference model ------------------------------ */

#define RM_KEYS 6
#define RM_IDS 5
#define RM_SRCS 4
#define RM_ADDRS 6
#define RM_MAXV 40
#define RM_MUT RM_IDS /* model slot of the mutable value */
#define RM_PLAIN_KEYS 4 /* keys 4 and 5 are mutable keys of owners 4, 5 */

struct rm_val {
	bool used;
	uint32_t src;
	size_t len;
	uint8_t data[RM_MAXV];
	uint64_t exp;
	uint64_t seq; /* RM_MUT only */
};

struct rm_peer {
	bool used;
	uint64_t exp;
};

struct rm {
	struct rm_val v[RM_KEYS][RM_IDS + 1];
	struct hy_id keys[RM_KEYS];
	struct rm_peer p[RM_KEYS][RM_ADDRS];
};

static const struct hy_store_config *
rm_cfg(void)
{
	static struct hy_store_config c;

	hy_store_config_default(&c);
	c.max_bytes = 160;
	c.max_keys = 4;
	c.max_values = 9;
	c.max_values_per_key = 4;
	c.max_source_bytes = 100;
	c.max_source_values = 5;
	c.max_value_len = 32; /* RM_MAXV allows too-large puts */
	c.max_ttl_s = 60;
	c.max_peers = 8;
	c.max_peers_per_key = 3;
	c.peer_ttl_s = 20;
	return &c;
}

static size_t
rm_sweep(struct rm *m, uint64_t now)
{
	size_t n = 0;

	for (int k = 0; k < RM_KEYS; k++) {
		for (int i = 0; i <= RM_IDS; i++)
			if (m->v[k][i].used && m->v[k][i].exp <= now) {
				m->v[k][i].used = false;
				n++;
			}
		for (int a = 0; a < RM_ADDRS; a++)
			if (m->p[k][a].used && m->p[k][a].exp <= now) {
				m->p[k][a].used = false;
				n++;
			}
	}
	return n;
}

struct rm_tot {
	uint64_t bytes;
	size_t values, vkeys, keys, peers, sources;
	uint64_t sbytes[RM_SRCS];
	size_t svals[RM_SRCS];
	size_t kvals[RM_KEYS], kpeers[RM_KEYS];
	uint64_t next;
};

static void
rm_totals(const struct rm *m, struct rm_tot *t)
{
	memset(t, 0, sizeof(*t));
	t->next = UINT64_MAX;
	for (int k = 0; k < RM_KEYS; k++) {
		for (int i = 0; i <= RM_IDS; i++) {
			const struct rm_val *v = &m->v[k][i];

			if (!v->used)
				continue;
			t->bytes += v->len;
			t->values++;
			t->kvals[k]++;
			t->sbytes[v->src] += v->len;
			t->svals[v->src]++;
			if (v->exp < t->next)
				t->next = v->exp;
		}
		for (int a = 0; a < RM_ADDRS; a++) {
			if (!m->p[k][a].used)
				continue;
			t->peers++;
			t->kpeers[k]++;
			if (m->p[k][a].exp < t->next)
				t->next = m->p[k][a].exp;
		}
		t->vkeys += t->kvals[k] > 0;
		t->keys += t->kvals[k] + t->kpeers[k] > 0;
	}
	for (int s = 0; s < RM_SRCS; s++)
		t->sources += t->svals[s] > 0;
}

static int rm_store(struct rm *m, int k, int id, const uint8_t *data,
    size_t len, uint32_t src, uint64_t exp);

static uint64_t
rm_id(int i)
{
	return i == RM_MUT ? HY_STORE_MUTABLE_ID : (uint64_t)i;
}

/* The model's answer to a plain put, applying store.h's rules. */
static int
rm_put(struct rm *m, int k, int id, const uint8_t *data, size_t len,
    uint32_t ttl, uint32_t src, uint64_t now)
{
	const struct hy_store_config *c = rm_cfg();
	struct rm_val *v = &m->v[k][id];
	uint64_t exp = now + ttl * SEC;
	bool same;

	if (ttl > c->max_ttl_s)
		return HY_ERANGE;
	if (len > c->max_value_len)
		return HY_ETOOBIG;
	rm_sweep(m, now);
	same = v->used && v->len == len && memcmp(v->data, data, len) == 0;
	if (v->used && v->src != src) {
		if (!same)
			return HY_EEXIST;
		if (exp > v->exp)
			v->exp = exp;
		return HY_OK;
	}
	if (v->used && same) {
		v->exp = exp;
		return HY_OK;
	}
	return rm_store(m, k, id, data, len, src, exp);
}

/*
 * Add or replace value (k, id) after the quota checks; a replacement by
 * another source (mutable) charges the new source in full.
 */
static int
rm_store(struct rm *m, int k, int id, const uint8_t *data, size_t len,
    uint32_t src, uint64_t exp)
{
	const struct hy_store_config *c = rm_cfg();
	struct rm_val *v = &m->v[k][id];
	struct rm_tot t;
	uint64_t oldlen, ownlen;
	size_t ownv;

	rm_totals(m, &t);
	oldlen = v->used ? v->len : 0;
	ownlen = v->used && v->src == src ? v->len : 0;
	ownv = v->used && v->src == src ? 1 : 0;
	if (t.bytes - oldlen + len > c->max_bytes)
		return HY_EFULL;
	if (!v->used && t.kvals[k] == 0 && t.vkeys >= c->max_keys)
		return HY_EFULL;
	if (!v->used && t.values >= c->max_values)
		return HY_EFULL;
	if (!v->used && t.kvals[k] >= c->max_values_per_key)
		return HY_EFULL;
	if (t.sbytes[src] - ownlen + len > c->max_source_bytes ||
	    t.svals[src] - ownv + 1 > c->max_source_values)
		return HY_EFULL;
	v->used = true;
	v->src = src;
	v->len = len;
	memcpy(v->data, data, len);
	v->exp = exp;
	return HY_OK;
}

/* The model's answer to a mutable put (BEP 44 rules of store.h). */
static int
rm_put_mut(struct rm *m, int k, const uint8_t *data, size_t len, uint32_t ttl,
    uint32_t src, uint64_t seq, uint64_t cas, uint64_t now)
{
	const struct hy_store_config *c = rm_cfg();
	struct rm_val *v = &m->v[k][RM_MUT];
	uint64_t exp = now + ttl * SEC;
	bool same;
	int rc;

	if (ttl > c->max_ttl_s)
		return HY_EINVAL; /* not ERANGE: that is the seq */
	if (len > c->max_value_len)
		return HY_ETOOBIG;
	rm_sweep(m, now);
	same = v->used && v->len == len && memcmp(v->data, data, len) == 0;
	if (v->used) {
		if (cas != 0 && cas != v->seq)
			return HY_EEXIST;
		if (seq < v->seq || (seq == v->seq && !same))
			return HY_ERANGE;
		if (seq == v->seq) {
			if (v->src == src || exp > v->exp)
				v->exp = exp;
			return HY_OK;
		}
	}
	rc = rm_store(m, k, RM_MUT, data, len, src, exp);
	if (rc == HY_OK)
		v->seq = seq;
	return rc;
}

static int
rm_announce(struct rm *m, int k, int a, uint64_t now)
{
	const struct hy_store_config *c = rm_cfg();
	struct rm_tot t;

	rm_sweep(m, now);
	if (!m->p[k][a].used) {
		rm_totals(m, &t);
		if (t.kpeers[k] >= c->max_peers_per_key ||
		    t.peers >= c->max_peers)
			return HY_EFULL;
	}
	m->p[k][a].used = true;
	m->p[k][a].exp = now + c->peer_ttl_s * SEC;
	return HY_OK;
}

static void
rm_check(struct hy_store *st, const struct rm *m, uint64_t now, uint64_t seed,
    int step)
{
	struct hy_store_stats s = stats(st);
	struct rm_tot t;

	rm_totals(m, &t);
	REQUIRE(s.values == t.values && s.bytes == t.bytes &&
	        s.value_keys == t.vkeys && s.keys == t.keys &&
	        s.peers == t.peers && s.sources == t.sources,
	    "seed %llu step %d: store v=%zu b=%llu vk=%zu k=%zu p=%zu s=%zu, "
	    "model v=%zu b=%llu vk=%zu k=%zu p=%zu s=%zu",
	    (unsigned long long)seed, step, s.values,
	    (unsigned long long)s.bytes, s.value_keys, s.keys, s.peers,
	    s.sources, t.values, (unsigned long long)t.bytes, t.vkeys, t.keys,
	    t.peers, t.sources);
	REQUIRE(hy_store_next_expiry(st) == t.next,
	    "seed %llu step %d: next expiry", (unsigned long long)seed, step);
	for (int k = 0; k < RM_KEYS; k++) {
		for (int i = 0; i <= RM_IDS; i++) {
			const struct rm_val *v = &m->v[k][i];
			struct hy_store_value out;
			int rc = hy_store_lookup(st, &m->keys[k], rm_id(i), now,
			    &out);

			if (!v->used || v->exp <= now) {
				REQUIRE(rc == HY_ENOENT,
				    "seed %llu step %d: key %d id %d present",
				    (unsigned long long)seed, step, k, i);
				continue;
			}
			REQUIRE(rc == HY_OK && out.len == v->len &&
			        (v->len == 0 ||
			            memcmp(out.data, v->data, v->len) == 0) &&
			        out.expires_ms == v->exp &&
			        memcmp(out.source.b, SRC(v->src).b,
			            HY_ID_LEN) == 0 &&
			        (i != RM_MUT ||
			            (out.is_mutable && out.mut->seq == v->seq)),
			    "seed %llu step %d: key %d id %d differs",
			    (unsigned long long)seed, step, k, i);
		}
	}
}

START_TEST(test_store_random_ops)
{
	uint64_t seed = 0x5eed0000u + (uint64_t)_i;
	struct hy_store *st = mk(rm_cfg());
	struct rm *m = calloc(1, sizeof(*m));
	uint64_t now = T0;
	struct hy_rng r;

	ck_assert_ptr_nonnull(m);
	for (int k = 0; k < RM_KEYS; k++)
		m->keys[k] = k < RM_PLAIN_KEYS
		    ? KEY((uint32_t)k)
		    : mut_args((uint8_t)k, "rm", 0, "").key;
	hy_rng_seed(&r, seed);
	for (int step = 0; step < 4000; step++) {
		int op = (int)hy_rng_below(&r, 100);
		int k = (int)hy_rng_below(&r, RM_KEYS);
		int id = (int)hy_rng_below(&r, RM_IDS);
		struct hy_id key = m->keys[k];
		int rc, want;

		now += hy_rng_below(&r, 3 * SEC);
		if (op < 12) {
			uint8_t data[RM_MAXV];
			size_t len = (size_t)hy_rng_below(&r, RM_MAXV + 1);
			uint32_t src = (uint32_t)hy_rng_below(&r, RM_SRCS);
			uint32_t ttl = 1 + (uint32_t)hy_rng_below(&r, 62);
			uint64_t seq = hy_rng_below(&r, 6);
			uint64_t cas = hy_rng_below(&r, 4) == 0
			    ? 1 + hy_rng_below(&r, 5)
			    : 0;
			struct hy_store_mutable_args a;

			k = RM_PLAIN_KEYS + (int)hy_rng_below(&r, 2);
			memset(data, (int)hy_rng_below(&r, 2), sizeof(data));
			a = mut_args((uint8_t)k, "rm", seq, "");
			a.data = data;
			a.len = len;
			a.ttl_s = ttl;
			a.source = SRC(src);
			a.cas = cas;
			rc = hy_store_put_mutable(st, &a, now);
			want = rm_put_mut(m, k, data, len, ttl, src, seq, cas,
			    now);
		} else if (op < 55) {
			uint8_t data[RM_MAXV];
			size_t len = (size_t)hy_rng_below(&r, RM_MAXV + 1);
			uint32_t src = (uint32_t)hy_rng_below(&r, RM_SRCS);
			uint32_t ttl = 1 + (uint32_t)hy_rng_below(&r, 62);
			struct hy_store_put_args a;

			/* Few distinct contents, so same-data cases occur. */
			memset(data, (int)hy_rng_below(&r, 3), sizeof(data));
			memset(&a, 0, sizeof(a));
			a.key = key;
			a.id = (uint64_t)id;
			a.data = data;
			a.len = len;
			a.ttl_s = ttl;
			a.source = SRC(src);
			rc = hy_store_put(st, &a, now);
			want = rm_put(m, k, id, data, len, ttl, src, now);
		} else if (op < 75) {
			int ai = (int)hy_rng_below(&r, RM_ADDRS);
			struct hy_addr addr = paddr((uint32_t)ai);
			struct hy_id node = SRC(0);

			rc = hy_store_announce(st, &key, &addr, &node, false,
			    now);
			want = rm_announce(m, k, ai, now);
		} else if (op < 85) {
			rc = (int)hy_store_expire(st, now);
			want = (int)rm_sweep(m, now);
		} else if (op < 95) {
			id = (int)hy_rng_below(&r, RM_IDS + 1);
			rc = hy_store_remove(st, &key, rm_id(id));
			/* remove does not sweep: an expired value is there */
			want = m->v[k][id].used ? HY_OK : HY_ENOENT;
			m->v[k][id].used = false;
		} else {
			struct rm_tot t;

			rm_totals(m, &t);
			rc = hy_store_remove_key(st, &key);
			want = t.kvals[k] + t.kpeers[k] > 0 ? HY_OK : HY_ENOENT;
			memset(m->v[k], 0, sizeof(m->v[k]));
			memset(m->p[k], 0, sizeof(m->p[k]));
		}
		REQUIRE(rc == want, "seed %llu step %d op %d: rc %d want %d",
		    (unsigned long long)seed, step, op, rc, want);
		rm_check(st, m, now, seed, step);
	}
	free(m);
	hy_store_free(st);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_store_config);
	tcase_add_test(tc, test_store_put_get_several);
	tcase_add_test(tc, test_store_bad_args);
	tcase_add_test(tc, test_store_replace_same_source);
	tcase_add_test(tc, test_store_other_source);
	tcase_add_test(tc, test_store_ttl_expiry);
	tcase_add_test(tc, test_store_expiry_order);
	tcase_add_test(tc, test_store_many_keys);
	tcase_add_test(tc, test_store_quota_too_large);
	tcase_add_test(tc, test_store_quota_bytes);
	tcase_add_test(tc, test_store_quota_keys);
	tcase_add_test(tc, test_store_quota_values);
	tcase_add_test(tc, test_store_quota_per_key);
	tcase_add_test(tc, test_store_quota_per_source);
	tcase_add_test(tc, test_store_replace_accounting);
	tcase_add_test(tc, test_store_mutable_key_check);
	tcase_add_test(tc, test_store_mutable_seq);
	tcase_add_test(tc, test_store_mutable_cas);
	tcase_add_test(tc, test_store_peers_announce_refresh_expire);
	tcase_add_test(tc, test_store_peers_caps);
	tcase_add_test(tc, test_store_peers_sampling);
	tcase_add_test(tc, test_store_foreach_and_remove);
	tcase_add_loop_test(tc, test_store_random_ops, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
