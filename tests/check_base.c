/*
 * check_base.c: unit tests for the L0 base modules: addr, id, rng, clock,
 * log and error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "hypha.h"
#include "id.h"
#include "log.h"
#include "rng.h"

static struct hy_addr
A(const char *s) {
	struct hy_addr a;

	ck_assert_msg(hy_addr_parse(&a, s) == HY_OK, "parse %s", s);
	return a;
}

/* ---- addr ---- */

START_TEST(test_base_addr_parse_format)
{
	static const char *const ok[] = { "1.2.3.4:5", "255.255.255.255:65535",
		"0.0.0.0:0", "[::1]:80", "[2001:db8::1]:6881", "[fe80::1]:1" };
	static const char *const bad[] = { "", "1.2.3.4",
		"1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:+1",
		"1.2.3.4:5x", "1.2.3.4: 5", "1.2.3:5", "1.2.3.4.5:6",
		"a.b.c.d:1", "::1:5", "[::1]5", "[::1]:", "[]:1", "[::1:5",
		"[1.2.3.4]:5", "01.2.3.4:5", "[::1]:99999999999999999999999" };
	struct hy_addr a, keep;
	char buf[HY_ADDR_STRLEN];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct hy_addr b;

		a = A(ok[i]);
		ck_assert_str_eq(hy_addr_format(&a, buf, sizeof(buf)), ok[i]);
		b = A(buf);
		ck_assert(hy_addr_eq(&a, &b));
	}
	a = A("1.2.3.4:5");
	ck_assert_uint_eq(a.family, HY_AF_INET);
	ck_assert_uint_eq(a.port, 5);
	ck_assert(a.ip[0] == 1 && a.ip[1] == 2 && a.ip[2] == 3 && a.ip[3] == 4);
	for (int i = 4; i < 16; i++)
		ck_assert_uint_eq(a.ip[i], 0);
	/* IPv4-mapped IPv6 becomes plain IPv4 */
	a = A("[::ffff:10.1.2.3]:7");
	keep = A("10.1.2.3:7");
	ck_assert(hy_addr_eq(&a, &keep));
	ck_assert_uint_eq(a.family, HY_AF_INET);
	ck_assert_str_eq(hy_addr_format(&a, buf, sizeof(buf)), "10.1.2.3:7");
	/* failures leave the output alone */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		ck_assert_msg(hy_addr_parse(&a, bad[i]) == HY_EINVAL, "%s",
		    bad[i]);
		ck_assert_uint_eq(a.family, 0x5a);
	}
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(hy_addr_format(&a, buf, sizeof(buf)), "(none)");
	/* the longest form fits in HY_ADDR_STRLEN */
	a = A("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
	ck_assert_str_eq(hy_addr_format(&a, buf, sizeof(buf)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
}
END_TEST

START_TEST(test_base_addr_pack_unpack)
{
	uint8_t w[HY_ADDR_MAX_WIRELEN];
	struct hy_addr a = A("1.2.3.4:6881"), b, unset;
	static const uint8_t v4w[6] = { 1, 2, 3, 4, 0x1a, 0xe1 };

	ck_assert_uint_eq(hy_addr_pack(&a, w), HY_ADDR_V4_WIRELEN);
	ck_assert_mem_eq(w, v4w, 6);
	ck_assert_int_eq(hy_addr_unpack(&b, w, 6), HY_OK);
	ck_assert(hy_addr_eq(&a, &b));
	a = A("[2001:db8::1:2]:443");
	ck_assert_uint_eq(hy_addr_pack(&a, w), HY_ADDR_V6_WIRELEN);
	ck_assert_uint_eq(w[0], 0x20);
	ck_assert_uint_eq(w[15], 2);
	ck_assert_uint_eq(w[16], 1);
	ck_assert_uint_eq(w[17], 0xbb);
	ck_assert_int_eq(hy_addr_unpack(&b, w, 18), HY_OK);
	ck_assert(hy_addr_eq(&a, &b));
	memset(&unset, 0, sizeof(unset));
	ck_assert_uint_eq(hy_addr_pack(&unset, w), 0);
	for (size_t len = 0; len < sizeof(w); len++) {
		if (len == 6)
			continue;
		memset(&b, 0x77, sizeof(b));
		ck_assert_int_eq(hy_addr_unpack(&b, w, len), HY_EINVAL);
		ck_assert_uint_eq(b.family, 0x77);
	}
}
END_TEST

START_TEST(test_base_addr_sockaddr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
	struct hy_addr a, b;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4242);
	inet_pton(AF_INET, "9.8.7.6", &sin.sin_addr);
	ck_assert_int_eq(hy_addr_from_sockaddr(&a, (void *)&sin, sizeof(sin)),
	    HY_OK);
	b = A("9.8.7.6:4242");
	ck_assert(hy_addr_eq(&a, &b));
	ck_assert_uint_eq(hy_addr_to_sockaddr(&a, &ss), sizeof(sin));
	ck_assert_mem_eq(&ss, &sin, sizeof(sin));
	/* too short */
	memset(&b, 0x11, sizeof(b));
	ck_assert_int_eq(hy_addr_from_sockaddr(&b, (void *)&sin,
	                     sizeof(sin) - 1),
	    HY_EINVAL);
	ck_assert_uint_eq(b.family, 0x11);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(53);
	inet_pton(AF_INET6, "2a00::1", &sin6.sin6_addr);
	ck_assert_int_eq(hy_addr_from_sockaddr(&a, (void *)&sin6, sizeof(sin6)),
	    HY_OK);
	b = A("[2a00::1]:53");
	ck_assert(hy_addr_eq(&a, &b));
	ck_assert_uint_eq(hy_addr_to_sockaddr(&a, &ss), sizeof(sin6));
	ck_assert_mem_eq(&((struct sockaddr_in6 *)&ss)->sin6_addr,
	    &sin6.sin6_addr, 16);
	/* v4-mapped from a dual-stack socket */
	inet_pton(AF_INET6, "::ffff:9.8.7.6", &sin6.sin6_addr);
	ck_assert_int_eq(hy_addr_from_sockaddr(&a, (void *)&sin6, sizeof(sin6)),
	    HY_OK);
	b = A("9.8.7.6:53");
	ck_assert(hy_addr_eq(&a, &b));
	ck_assert_uint_eq(a.family, HY_AF_INET);
	/* a buffer too short to hold even the family */
	{
		uint8_t one[1] = { AF_INET };

		ck_assert_int_eq(hy_addr_from_sockaddr(&a, (void *)one, 1),
		    HY_EINVAL);
		ck_assert_int_eq(hy_addr_from_sockaddr(&a, NULL, 0), HY_EINVAL);
	}
	/* unknown family */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(hy_addr_from_sockaddr(&a, (void *)&ss, sizeof(ss)),
	    HY_EINVAL);
	memset(&a, 0, sizeof(a));
	ck_assert_uint_eq(hy_addr_to_sockaddr(&a, &ss), 0);
}
END_TEST

START_TEST(test_base_addr_classify)
{
	static const char *const martian[] = { "0.0.0.0:1", "0.1.2.3:1",
		"224.0.0.1:1", "239.255.255.255:1", "240.0.0.1:1",
		"255.255.255.255:1", "192.0.2.1:1", "198.51.100.7:1",
		"203.0.113.9:1", "8.8.8.8:0", "[::]:1", "[::1.2.3.4]:1",
		"[ff02::1]:1", "[2001:db8::1]:1" };
	static const char *const loopback[] = { "127.0.0.1:1",
		"127.255.255.254:1", "[::1]:1" };
	static const char *const priv[] = { "10.0.0.1:1", "10.255.255.255:1",
		"172.16.0.1:1", "172.31.255.255:1", "192.168.0.1:1",
		"100.64.0.1:1", "100.127.255.255:1", "169.254.1.1:1",
		"[fc00::1]:1", "[fdff::1]:1", "[fe80::1]:1", "[febf::1]:1" };
	static const char *const pub[] = { "8.8.8.8:53", "1.1.1.1:1",
		"172.15.255.255:1", "172.32.0.0:1", "100.63.255.255:1",
		"100.128.0.0:1", "192.169.0.1:1", "11.0.0.1:1",
		"223.255.255.255:1", "192.0.3.1:1", "[2a00::1]:1",
		"[fec0::1]:1", "[2001:db9::1]:1" };
	struct hy_addr a;

	for (size_t i = 0; i < sizeof(martian) / sizeof(martian[0]); i++) {
		a = A(martian[i]);
		ck_assert_msg(hy_addr_is_martian(&a), "%s", martian[i]);
	}
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		a = A(loopback[i]);
		ck_assert_msg(!hy_addr_is_martian(&a) &&
		        hy_addr_is_loopback(&a) && hy_addr_is_local(&a) &&
		        !hy_addr_is_private(&a),
		    "%s", loopback[i]);
	}
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		a = A(priv[i]);
		ck_assert_msg(!hy_addr_is_martian(&a) &&
		        !hy_addr_is_loopback(&a) && hy_addr_is_private(&a) &&
		        hy_addr_is_local(&a),
		    "%s", priv[i]);
	}
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
		a = A(pub[i]);
		ck_assert_msg(!hy_addr_is_martian(&a) && !hy_addr_is_local(&a),
		    "%s", pub[i]);
	}
	/* an unconverted v4-mapped address (e.g. from the wire) is martian */
	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET6;
	a.ip[10] = a.ip[11] = 0xff;
	a.ip[12] = 8;
	a.port = 1;
	ck_assert(hy_addr_is_martian(&a));
	/* unset */
	memset(&a, 0, sizeof(a));
	a.port = 1;
	ck_assert(hy_addr_is_martian(&a));
	ck_assert(!hy_addr_is_local(&a));
}
END_TEST

START_TEST(test_base_addr_same_prefix_cmp)
{
	struct hy_addr a = A("1.2.3.4:1"), b = A("1.2.3.200:2");
	struct hy_addr c = A("1.2.4.4:1"), d = A("1.2.15.1:1");
	struct hy_addr e = A("[2a00:1:2:3::1]:1"),
	               f = A("[2a00:1:2:3:ffff::]:1");
	struct hy_addr g = A("[2a00:1:2:4::1]:1"), z;

	ck_assert(hy_addr_same_prefix(&a, &b, 24, 64));
	ck_assert(!hy_addr_same_prefix(&a, &c, 24, 64));
	ck_assert(hy_addr_same_prefix(&a, &c, 16, 64));
	/* a non-byte boundary: 1.2.0/20 holds 1.2.4 and 1.2.15, not 1.2.16 */
	ck_assert(hy_addr_same_prefix(&c, &d, 20, 64));
	d = A("1.2.16.1:1");
	ck_assert(!hy_addr_same_prefix(&c, &d, 20, 64));
	ck_assert(hy_addr_same_prefix(&c, &d, 19, 64));
	ck_assert(hy_addr_same_prefix(&a, &c, 0, 64));
	ck_assert(!hy_addr_same_prefix(&a, &b, 40, 64)); /* clamped to /32 */
	ck_assert(hy_addr_same_prefix(&e, &f, 24, 64));
	ck_assert(!hy_addr_same_prefix(&e, &g, 24, 64));
	ck_assert(hy_addr_same_prefix(&e, &g, 24, 45));
	ck_assert(!hy_addr_same_prefix(&a, &e, 0, 0)); /* families differ */
	memset(&z, 0, sizeof(z));
	ck_assert(!hy_addr_same_prefix(&z, &z, 24, 64));

	ck_assert(hy_addr_same_ip(&a, &a));
	b = A("1.2.3.4:2");
	ck_assert(hy_addr_same_ip(&a, &b));
	ck_assert(!hy_addr_eq(&a, &b));
	ck_assert_int_eq(hy_addr_cmp(&a, &b), -1);
	ck_assert_int_eq(hy_addr_cmp(&b, &a), 1);
	ck_assert_int_eq(hy_addr_cmp(&a, &a), 0);
	ck_assert_int_eq(hy_addr_cmp(&a, &c), -1);
	ck_assert_int_eq(hy_addr_cmp(&a, &e), -1); /* v4 before v6 */
}
END_TEST

/* ---- id ---- */

START_TEST(test_base_id_xor_dist_prefix)
{
	struct hy_id a, b, x, t;
	struct hy_rng r;

	memset(&a, 0, sizeof(a));
	ck_assert(hy_id_is_zero(&a));
	for (int i = 0; i < 256; i++) {
		b = a;
		b.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		ck_assert(!hy_id_is_zero(&b));
		ck_assert_int_eq(hy_id_prefix_len(&a, &b), i);
		ck_assert_int_eq(hy_id_bit(&b, i), 1);
		ck_assert_int_eq(hy_id_bit(&a, i), 0);
		if (i < 255)
			ck_assert_int_eq(hy_id_bit(&b, i + 1), 0);
	}
	ck_assert_int_eq(hy_id_prefix_len(&a, &a), 256);

	hy_rng_seed(&r, 77);
	for (int n = 0; n < 1000; n++) {
		hy_rng_bytes(&r, a.b, HY_ID_LEN);
		hy_rng_bytes(&r, b.b, HY_ID_LEN);
		hy_rng_bytes(&r, t.b, HY_ID_LEN);
		hy_id_xor(&x, &a, &b);
		for (int i = 0; i < HY_ID_LEN; i++)
			ck_assert_uint_eq(x.b[i], a.b[i] ^ b.b[i]);
		/* cmp_dist agrees with comparing the XOR values */
		{
			struct hy_id da, db;
			int c;

			hy_id_xor(&da, &a, &t);
			hy_id_xor(&db, &b, &t);
			c = hy_id_cmp(&da, &db);
			ck_assert_int_eq(hy_id_cmp_dist(&t, &a, &b), c);
			ck_assert_int_eq(hy_id_cmp_dist(&t, &b, &a), -c);
		}
		ck_assert_int_eq(hy_id_cmp_dist(&t, &a, &a), 0);
		ck_assert_int_eq(hy_id_cmp_dist(&a, &a, &b), -1);
		/* prefix_len counts the leading zero bits of a ^ b */
		{
			int p = 0;

			while (p < 256 && hy_id_bit(&x, p) == 0)
				p++;
			ck_assert_int_eq(hy_id_prefix_len(&a, &b), p);
		}
		hy_id_xor(&x, &x, &b); /* aliasing */
		ck_assert(hy_id_eq(&x, &a));
	}
	ck_assert_int_eq(hy_id_cmp(&a, &a), 0);
	b = a;
	b.b[31] ^= 1;
	ck_assert_int_eq(hy_id_cmp(&a, &b), (a.b[31] & 1) ? 1 : -1);
}
END_TEST

START_TEST(test_base_id_random_in_prefix)
{
	struct hy_id base, out;
	uint8_t rnd[HY_ID_LEN];
	struct hy_rng r;

	hy_rng_seed(&r, 78);
	for (int round = 0; round < 20; round++) {
		hy_rng_bytes(&r, base.b, HY_ID_LEN);
		for (int p = 0; p < 256; p++) {
			hy_rng_bytes(&r, rnd, sizeof(rnd));
			hy_id_random_in_prefix(&out, &base, p, rnd);
			ck_assert_int_eq(hy_id_prefix_len(&out, &base), p);
			/* the bits after the prefix come from rnd */
			for (int i = p + 1; i < 256; i++)
				ck_assert_int_eq(hy_id_bit(&out, i),
				    (rnd[i / 8] >> (7 - i % 8)) & 1);
		}
	}
	/* the random part covers both values of a bit */
	{
		int ones = 0;

		for (int n = 0; n < 200; n++) {
			hy_rng_bytes(&r, rnd, sizeof(rnd));
			hy_id_random_in_prefix(&out, &base, 3, rnd);
			ones += hy_id_bit(&out, 4);
		}
		ck_assert(ones > 50 && ones < 150);
	}
}
END_TEST

START_TEST(test_base_id_hex)
{
	struct hy_id id, back;
	char hex[HY_ID_HEXLEN], bad[HY_ID_HEXLEN + 2];

	for (int i = 0; i < HY_ID_LEN; i++)
		id.b[i] = (uint8_t)(i * 17 + 3);
	hy_id_to_hex(&id, hex);
	ck_assert_uint_eq(strlen(hex), 64);
	ck_assert(strncmp(hex, "031425", 6) == 0);
	ck_assert_int_eq(hy_id_from_hex(&back, hex), HY_OK);
	ck_assert(hy_id_eq(&id, &back));
	for (int i = 0; i < 64; i++)
		bad[i] = (char)(i % 2 ? 'F' : 'a');
	bad[64] = '\0';
	ck_assert_int_eq(hy_id_from_hex(&back, bad), HY_OK);
	ck_assert_uint_eq(back.b[0], 0xaf);
	/* short, long, non-hex: refused, output untouched */
	back = id;
	memcpy(bad, hex, 65);
	bad[63] = '\0';
	ck_assert_int_eq(hy_id_from_hex(&back, bad), HY_EINVAL);
	memcpy(bad, hex, 64);
	bad[64] = '0';
	bad[65] = '\0';
	ck_assert_int_eq(hy_id_from_hex(&back, bad), HY_EINVAL);
	memcpy(bad, hex, 65);
	bad[10] = 'g';
	ck_assert_int_eq(hy_id_from_hex(&back, bad), HY_EINVAL);
	ck_assert_int_eq(hy_id_from_hex(&back, ""), HY_EINVAL);
	ck_assert(hy_id_eq(&id, &back));
}
END_TEST

/* ---- rng ---- */

START_TEST(test_base_rng_determinism)
{
	/* xoshiro256** seeded through splitmix64, from an independent
	 * reference implementation */
	static const uint64_t want0[] = { 0x99ec5f36cb75f2b4ULL,
		0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
		0x6aa594f1262d2d2cULL };
	static const uint64_t want42[] = { 0x15780b2e0c2ec716ULL,
		0x6104d9866d113a7eULL, 0xae17533239e499a1ULL,
		0xecb8ad4703b360a1ULL };
	struct hy_rng a, b;
	uint8_t x[37], y[37];

	hy_rng_seed(&a, 0);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(hy_rng_next(&a), want0[i]);
	hy_rng_seed(&a, 42);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(hy_rng_next(&a), want42[i]);
	hy_rng_seed(&a, 9);
	hy_rng_seed(&b, 9);
	hy_rng_bytes(&a, x, sizeof(x));
	hy_rng_bytes(&b, y, sizeof(y));
	ck_assert_mem_eq(x, y, sizeof(x));
	hy_rng_seed(&b, 10);
	hy_rng_bytes(&b, y, sizeof(y));
	ck_assert(memcmp(x, y, sizeof(x)) != 0);
	for (int i = 0; i < 1000; i++) {
		double u = hy_rng_unit(&a);

		ck_assert(u >= 0.0 && u < 1.0);
	}
}
END_TEST

START_TEST(test_base_rng_below)
{
	static const uint64_t ns[] = { 1, 2, 3, 7, 10, 1000, (1ULL << 63) + 1,
		UINT64_MAX };
	unsigned hist[10] = { 0 };
	struct hy_rng r;

	hy_rng_seed(&r, 5);
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
		for (int i = 0; i < 2000; i++)
			ck_assert_uint_lt(hy_rng_below(&r, ns[k]), ns[k]);
	for (int i = 0; i < 100000; i++)
		hist[hy_rng_below(&r, 10)]++;
	for (int i = 0; i < 10; i++)
		ck_assert_msg(hist[i] > 9500 && hist[i] < 10500, "%d: %u", i,
		    hist[i]);
}
END_TEST

/* ---- clock ---- */

START_TEST(test_base_clock)
{
	struct hy_fake_clock fc;
	const struct hy_clock *sys = hy_clock_system();
	uint64_t m1, m2;

	hy_fake_clock_init(&fc, 1000, 5000);
	ck_assert_uint_eq(hy_clock_mono(&fc.clock), 1000);
	ck_assert_uint_eq(hy_clock_wall(&fc.clock), 6000);
	hy_fake_clock_advance(&fc, 250);
	ck_assert_uint_eq(hy_clock_mono(&fc.clock), 1250);
	ck_assert_uint_eq(hy_clock_wall(&fc.clock), 6250);
	hy_fake_clock_set(&fc, 2000);
	ck_assert_uint_eq(hy_clock_mono(&fc.clock), 2000);
	hy_fake_clock_set(&fc, 1500); /* never backwards */
	ck_assert_uint_eq(hy_clock_mono(&fc.clock), 2000);

	ck_assert_ptr_nonnull(sys);
	m1 = hy_clock_mono(sys);
	m2 = hy_clock_mono(sys);
	ck_assert_uint_le(m1, m2);
	ck_assert_uint_gt(hy_clock_wall(sys), 1500000000000ULL); /* > 2017 */
}
END_TEST

/* ---- log ---- */

struct logcap {
	int n;
	enum hy_log_level level;
	char last[600];
};

static void
log_cb(enum hy_log_level level, const char *msg, void *arg)
{
	struct logcap *c = arg;

	c->n++;
	c->level = level;
	snprintf(c->last, sizeof(c->last), "%s", msg);
}

START_TEST(test_base_log_levels)
{
	struct hy_log log;
	struct logcap cap;
	char big[1000];

	memset(&cap, 0, sizeof(cap));
	hy_log_init(&log, log_cb, &cap, HY_LOG_INFO);
	hy_log_emit(&log, HY_LOG_WARN, "x=%d", 42);
	ck_assert_int_eq(cap.n, 1);
	ck_assert_str_eq(cap.last, "x=42");
	ck_assert_int_eq(cap.level, HY_LOG_WARN);
	hy_log_emit(&log, HY_LOG_DEBUG, "dropped");
	ck_assert_int_eq(cap.n, 1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hy_log_emit(&log, HY_LOG_ERR, "%s", big);
	ck_assert_uint_eq(strlen(cap.last), 511);
	/* no callback, no log: nothing happens */
	hy_log_init(&log, NULL, NULL, HY_LOG_DEBUG);
	hy_log_emit(&log, HY_LOG_ERR, "nowhere");
	ck_assert_int_eq(hy_log_ratelimited(&log, 0, HY_LOG_ERR, "x"), 0);
	hy_log_emit(NULL, HY_LOG_ERR, "nowhere");
}
END_TEST

START_TEST(test_base_log_ratelimit)
{
	struct hy_log log;
	struct logcap cap;
	int emitted = 0;

	memset(&cap, 0, sizeof(cap));
	hy_log_init(&log, log_cb, &cap, HY_LOG_DEBUG);
	/* a burst of 20, then nothing at the same instant */
	for (int i = 0; i < 100; i++)
		emitted +=
		    hy_log_ratelimited(&log, 5000, HY_LOG_WARN, "l%d", i);
	ck_assert_int_eq(emitted, 20);
	ck_assert_int_eq(cap.n, 20);
	ck_assert_uint_eq(log.rl_suppressed, 80);
	/* 5 per second refill; the first line through reports the count */
	ck_assert_int_eq(hy_log_ratelimited(&log, 6000, HY_LOG_WARN, "after"),
	    1);
	ck_assert_int_eq(cap.n, 22);
	ck_assert_str_eq(cap.last, "after");
	ck_assert_uint_eq(log.rl_suppressed, 0);
	emitted = 0;
	for (int i = 0; i < 10; i++)
		emitted += hy_log_ratelimited(&log, 6000, HY_LOG_WARN, "m");
	ck_assert_int_eq(emitted, 4);
	/* over a long run the rate holds at about 5/s */
	emitted = 0;
	for (uint64_t t = 7000; t < 17000; t += 10)
		emitted += hy_log_ratelimited(&log, t, HY_LOG_WARN, "s");
	ck_assert_msg(emitted >= 45 && emitted <= 55, "emitted=%d", emitted);
	/* the level filter applies before the limiter */
	hy_log_init(&log, log_cb, &cap, HY_LOG_ERR);
	ck_assert_int_eq(hy_log_ratelimited(&log, 0, HY_LOG_DEBUG, "no"), 0);
	ck_assert_uint_eq(log.rl_tokens, 20);
}
END_TEST

/* ---- error ---- */

START_TEST(test_base_strerror)
{
	const char *seen[64];
	int n = 0;

	for (int e = HY_OK; e >= HY_EUNREACHABLE; e--) {
		const char *s = hy_strerror(e);

		ck_assert_ptr_nonnull(s);
		ck_assert_msg(strcmp(s, "unknown error") != 0, "code %d", e);
		for (int i = 0; i < n; i++)
			ck_assert_msg(strcmp(seen[i], s) != 0, "dup %d", e);
		seen[n++] = s;
	}
	ck_assert_str_eq(hy_strerror(HY_OK), "success");
	ck_assert_str_eq(hy_strerror(HY_EDIVERSITY),
	    "IP diversity limit reached");
	ck_assert_str_eq(hy_strerror(HY_EUNREACHABLE - 1), "unknown error");
	ck_assert_str_eq(hy_strerror(1), "unknown error");
	ck_assert_str_eq(hy_strerror(INT_MAX), "unknown error");
	ck_assert_str_eq(hy_strerror(INT_MIN), "unknown error");
	ck_assert_str_eq(hy_strerror(INT_MIN + 1), "unknown error");
}
END_TEST

/* Lookup keys: equal for equal addresses, distinct otherwise. */
START_TEST(test_base_addr_key)
{
	struct hy_addr a, b;
	uint8_t ka[HY_ADDR_KEYLEN], kb[HY_ADDR_KEYLEN];

	ck_assert_int_eq(hy_addr_parse(&a, "192.0.2.7:4000"), HY_OK);
	b = a;
	hy_addr_key(&a, ka);
	hy_addr_key(&b, kb);
	ck_assert_mem_eq(ka, kb, HY_ADDR_KEYLEN);
	b.port = 4001;
	hy_addr_key(&b, kb);
	ck_assert(memcmp(ka, kb, HY_ADDR_KEYLEN) != 0);
	/* ::ffff:192.0.2.7 parses to the same IPv4 address, same key */
	ck_assert_int_eq(hy_addr_parse(&b, "[::ffff:192.0.2.7]:4000"), HY_OK);
	hy_addr_key(&b, kb);
	ck_assert_mem_eq(ka, kb, HY_ADDR_KEYLEN);
	ck_assert_int_eq(hy_addr_parse(&b, "[2001:db8::7]:4000"), HY_OK);
	hy_addr_key(&b, kb);
	ck_assert(memcmp(ka, kb, HY_ADDR_KEYLEN) != 0);
}
END_TEST

static Suite *
base_suite(void)
{
	Suite *s = suite_create("base");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_base_addr_parse_format);
	tcase_add_test(tc, test_base_addr_key);
	tcase_add_test(tc, test_base_addr_pack_unpack);
	tcase_add_test(tc, test_base_addr_sockaddr);
	tcase_add_test(tc, test_base_addr_classify);
	tcase_add_test(tc, test_base_addr_same_prefix_cmp);
	tcase_add_test(tc, test_base_id_xor_dist_prefix);
	tcase_add_test(tc, test_base_id_random_in_prefix);
	tcase_add_test(tc, test_base_id_hex);
	tcase_add_test(tc, test_base_rng_determinism);
	tcase_add_test(tc, test_base_rng_below);
	tcase_add_test(tc, test_base_clock);
	tcase_add_test(tc, test_base_log_levels);
	tcase_add_test(tc, test_base_log_ratelimit);
	tcase_add_test(tc, test_base_strerror);
	tcase_set_timeout(tc, 60); /* loaded CI machines */
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(base_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
