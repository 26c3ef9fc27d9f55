/*
 * check_pex.c: unit tests for peer exchange (src/pex.c).
 *
 * Every test drives the state machine on an explicit timeline (now_ms
 * values) with IDs and public IPv4 addresses numbered by the test; the
 * randomized test checks the deltas against a model of each receiver's view
 * and prints its seed on failure.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pex.h"
#include "rng.h"
#include "wire.h"

#define T0 1000000ull
#define IVL (60ull * 1000)
#define GAP (30ull * 1000)
#define FRESH (15ull * 60 * 1000)
#define OFFERED (10ull * 60 * 1000)

/* ID number i (1..65535); never zero, never SELF. */
static struct hy_id
nid(unsigned i)
{
	struct hy_id id;

	memset(&id, 0x11, sizeof(id));
	id.b[0] = (uint8_t)(i >> 8);
	id.b[1] = (uint8_t)i;
	return id;
}

static const struct hy_id SELF = { { 0xff, 0xff, 0xff, 0xff } };

/* A public IPv4 address; every i gets its own /24. */
static struct hy_addr
pub(unsigned i)
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
v4(int a, int b, int c, int d)
{
	struct hy_addr r;

	memset(&r, 0, sizeof(r));
	r.family = HY_AF_INET;
	r.ip[0] = (uint8_t)a;
	r.ip[1] = (uint8_t)b;
	r.ip[2] = (uint8_t)c;
	r.ip[3] = (uint8_t)d;
	r.port = 4000;
	return r;
}

/* A public IPv6 address (2001:db8::/32 is documentation: avoid it). */
static struct hy_addr
pub6(unsigned i)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET6;
	a.ip[0] = 0x2a;
	a.ip[1] = 0x01;
	a.ip[14] = (uint8_t)(i >> 8);
	a.ip[15] = (uint8_t)i;
	a.port = 6881;
	return a;
}

static struct hy_contact
ct(unsigned i)
{
	struct hy_contact c;

	c.id = nid(i);
	c.addr = pub(i);
	return c;
}

static struct hy_pex *
mk(const struct hy_pex_config *cfg)
{
	struct hy_pex *p = NULL;

	ck_assert_int_eq(hy_pex_new(&p, &SELF, cfg, T0), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void
verify_range(struct hy_pex *p, unsigned from, unsigned to, uint64_t now)
{
	for (unsigned i = from; i <= to; i++) {
		struct hy_contact c = ct(i);

		hy_pex_verified(p, &c, now);
	}
}

static void
add_peer(struct hy_pex *p, unsigned i, uint64_t now)
{
	struct hy_contact c = ct(i);

	ck_assert_int_eq(hy_pex_peer_add(p, &c, now), 0);
}

static int
build(struct hy_pex *p, unsigned peer, uint64_t now, struct hy_body_pex *b)
{
	struct hy_id id = nid(peer);

	return hy_pex_build(p, &id, now, SIZE_MAX, b);
}

static bool
has(const struct hy_contact *v, uint32_t n, unsigned i)
{
	struct hy_id id = nid(i);

	for (uint32_t j = 0; j < n; j++)
		if (hy_id_eq(&v[j].id, &id))
			return true;
	return false;
}

static int
rx(struct hy_pex *p, unsigned from, const struct hy_body_pex *in, uint64_t now,
    struct hy_contact *cand, size_t max, size_t *n)
{
	struct hy_id id = nid(from);

	return hy_pex_receive(p, &id, in, now, cand, max, n);
}

START_TEST(test_pex_config_defaults)
{
	struct hy_pex_config c;
	struct hy_pex *p = (struct hy_pex *)&c;
	struct hy_id zero;

	hy_pex_config_default(&c);
	ck_assert_uint_eq(c.max_added, 50);
	ck_assert_uint_eq(c.max_dropped, 50);
	ck_assert_uint_eq(c.interval_ms, IVL);
	ck_assert_uint_eq(c.peers_max, 64);
	ck_assert_uint_eq(c.known_max, 512);
	ck_assert_uint_eq(c.fresh_ms, FRESH);
	ck_assert_uint_eq(c.rx_min_gap_ms, GAP);
	ck_assert_uint_eq(c.offered_max, 1024);
	ck_assert_uint_eq(c.offered_ms, OFFERED);
	ck_assert(!c.allow_local);

	c.max_added = HY_PEX_MAX + 1;
	ck_assert_int_eq(hy_pex_new(&p, &SELF, &c, T0), HY_EINVAL);
	hy_pex_config_default(&c);
	c.peers_max = 0;
	ck_assert_int_eq(hy_pex_new(&p, &SELF, &c, T0), HY_EINVAL);
	hy_pex_config_default(&c);
	c.interval_ms = 0;
	ck_assert_int_eq(hy_pex_new(&p, &SELF, &c, T0), HY_EINVAL);
	hy_pex_config_default(&c);
	c.known_max = HY_PEX_KNOWN_MAX + 1;
	ck_assert_int_eq(hy_pex_new(&p, &SELF, &c, T0), HY_EINVAL);
	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(hy_pex_new(&p, &zero, NULL, T0), HY_EINVAL);
	ck_assert_int_eq(hy_pex_new(&p, NULL, NULL, T0), HY_EINVAL);
	/* out untouched on failure */
	ck_assert_ptr_eq(p, (struct hy_pex *)&c);

	p = mk(NULL);
	ck_assert_uint_eq(hy_pex_next_deadline(p), UINT64_MAX);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_free_null)
{
	hy_pex_free(NULL);
}
END_TEST

START_TEST(test_pex_first_at_once_then_per_interval)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_contact due[4];

	verify_range(p, 1, 3, T0);
	add_peer(p, 100, T0 + 5);
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + 5);
	ck_assert_uint_eq(hy_pex_due(p, T0 + 5, due, 4), 1);
	ck_assert(has(due, 1, 100));
	ck_assert_int_eq(build(p, 100, T0 + 5, &b), 3);
	ck_assert_uint_eq(b.n_added, 3);
	ck_assert_uint_eq(b.n_dropped, 0);

	/* not again before one interval, whatever is new */
	verify_range(p, 4, 4, T0 + 6);
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + 5 + IVL);
	ck_assert_uint_eq(hy_pex_due(p, T0 + 4 + IVL, due, 4), 0);
	memset(&b, 0xa5, sizeof(b));
	ck_assert_int_eq(build(p, 100, T0 + 4 + IVL, &b), HY_ERATELIMIT);
	ck_assert_uint_eq(b.n_added, 0xa5a5a5a5u); /* untouched */
	ck_assert_uint_eq(hy_pex_due(p, T0 + 5 + IVL, due, 4), 1);
	ck_assert_int_eq(build(p, 100, T0 + 5 + IVL, &b), 1);
	ck_assert(has(b.added, b.n_added, 4));

	/* nothing new: nothing to send, still one interval to the next */
	ck_assert_int_eq(build(p, 100, T0 + 5 + 2 * IVL, &b), 0);
	ck_assert_uint_eq(b.n_added + b.n_dropped, 0);
	verify_range(p, 5, 5, T0 + 6 + 2 * IVL);
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + 5 + 3 * IVL);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_first_waits_for_content)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_pex_stats st;

	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 0);
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + IVL);
	/* a first PEX is still owed: the first verified contact pulls it */
	verify_range(p, 1, 1, T0 + 10);
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + 10);
	ck_assert_int_eq(build(p, 100, T0 + 10, &b), 1);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.sent, 1);
	ck_assert_uint_eq(st.empty, 1);
	ck_assert_uint_eq(st.added_sent, 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_caps_carry_over)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	bool seen[121];
	uint64_t now = T0;
	unsigned i, total = 0;
	uint32_t want[] = { 50, 50, 20 };

	memset(seen, 0, sizeof(seen));
	verify_range(p, 1, 120, T0);
	add_peer(p, 1000, T0);
	for (i = 0; i < 3; i++, now += IVL) {
		ck_assert_int_eq(build(p, 1000, now, &b), (int)want[i]);
		ck_assert_uint_eq(b.n_added, want[i]);
		for (uint32_t j = 0; j < b.n_added; j++) {
			unsigned n = (unsigned)b.added[j].id.b[0] << 8 |
			    b.added[j].id.b[1];

			ck_assert(n >= 1 && n <= 120 && !seen[n]);
			seen[n] = true;
			total++;
		}
	}
	ck_assert_uint_eq(total, 120);
	/* the oldest verification goes first */
	ck_assert(seen[1]);

	for (i = 1; i <= 120; i++) {
		struct hy_id id = nid(i);

		hy_pex_lost(p, &id, now);
	}
	for (i = 0; i < 3; i++, now += IVL) {
		ck_assert_int_eq(build(p, 1000, now, &b), (int)want[i]);
		ck_assert_uint_eq(b.n_dropped, want[i]);
		ck_assert_uint_eq(b.n_added, 0);
	}
	ck_assert_int_eq(build(p, 1000, now, &b), 0);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_configured_caps)
{
	struct hy_pex_config cfg;
	struct hy_pex *p;
	struct hy_body_pex b;
	struct hy_id id;

	hy_pex_config_default(&cfg);
	cfg.max_added = 3;
	cfg.max_dropped = 2;
	p = mk(&cfg);
	verify_range(p, 1, 10, T0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 3);
	for (unsigned i = 1; i <= 3; i++) {
		id = nid(i);
		hy_pex_lost(p, &id, T0);
	}
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 5);
	ck_assert_uint_eq(b.n_dropped, 2);
	ck_assert_uint_eq(b.n_added, 3);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_announced_once)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_contact c = ct(1);

	verify_range(p, 1, 2, T0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 2);
	/* verified again at the same address: nothing new for the peer */
	verify_range(p, 1, 2, T0 + 100);
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 0);
	/* a new address makes it new */
	c.addr = pub(77);
	hy_pex_verified(p, &c, T0 + IVL + 1);
	ck_assert_int_eq(build(p, 100, T0 + 2 * IVL, &b), 1);
	ck_assert(has(b.added, b.n_added, 1));
	ck_assert(hy_addr_eq(&b.added[0].addr, &c.addr));
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_lost_dropped_once)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_pex_stats st;
	struct hy_id id = nid(1);
	struct hy_addr addr;

	verify_range(p, 1, 2, T0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 2);
	hy_pex_lost(p, &id, T0 + 10);
	hy_pex_lost(p, &id, T0 + 11); /* twice changes nothing */
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 1);
	ck_assert_uint_eq(b.n_dropped, 1);
	ck_assert(has(b.dropped, b.n_dropped, 1));
	addr = pub(1);
	ck_assert(hy_addr_eq(&b.dropped[0].addr, &addr));
	ck_assert_int_eq(build(p, 100, T0 + 2 * IVL, &b), 0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.known, 1); /* forgotten once nobody is owed */
	ck_assert_uint_eq(st.dropped_sent, 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_lost_before_announced)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_pex_stats st;
	struct hy_id id = nid(2);

	verify_range(p, 1, 1, T0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 1);
	verify_range(p, 2, 2, T0 + 1);
	hy_pex_lost(p, &id, T0 + 2);
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 0);
	ck_assert_uint_eq(b.n_dropped, 0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.known, 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_lost_then_verified)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_id id = nid(1);

	verify_range(p, 1, 1, T0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 1);
	hy_pex_lost(p, &id, T0 + 1);
	verify_range(p, 1, 1, T0 + 2);
	/* the peer still holds it: neither dropped nor added again */
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 0);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_lost_each_peer_once)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_pex_stats st;
	struct hy_id id = nid(1), r = nid(101);

	verify_range(p, 1, 1, T0);
	add_peer(p, 100, T0);
	add_peer(p, 101, T0);
	add_peer(p, 102, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 1);
	ck_assert_int_eq(build(p, 101, T0, &b), 1);
	hy_pex_lost(p, &id, T0 + 1);
	/* 102 was never told: it gets neither */
	ck_assert_int_eq(build(p, 102, T0 + 1, &b), 0);
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 1);
	ck_assert_uint_eq(b.n_dropped, 1);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.known, 1); /* 101 is still owed the dropped */
	/* removing the last peer owed it forgets the contact */
	hy_pex_peer_remove(p, &r);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.known, 0);
	ck_assert_uint_eq(st.peers, 2);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_stale_not_announced)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	uint64_t t = T0 + FRESH;

	verify_range(p, 1, 1, T0);
	verify_range(p, 2, 2, T0 + 1);
	add_peer(p, 100, t + 1);
	/* 1 was verified fresh_ms + 1 ago, 2 exactly fresh_ms ago */
	ck_assert_int_eq(build(p, 100, t + 1, &b), 1);
	ck_assert(has(b.added, b.n_added, 2));
	ck_assert(!has(b.added, b.n_added, 1));
	/* verified again: fresh, announced */
	verify_range(p, 1, 1, t + 2);
	ck_assert_int_eq(build(p, 100, t + 1 + IVL, &b), 1);
	ck_assert(has(b.added, b.n_added, 1));
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_peer_not_in_own)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;

	verify_range(p, 100, 101, T0);
	add_peer(p, 100, T0);
	add_peer(p, 101, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 1);
	ck_assert(has(b.added, b.n_added, 101));
	ck_assert(!has(b.added, b.n_added, 100));
	ck_assert_int_eq(build(p, 101, T0, &b), 1);
	ck_assert(has(b.added, b.n_added, 100));
	ck_assert(!has(b.added, b.n_added, 101));
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_budget_fits_dtls)
{
	struct hy_pex *p = mk(NULL);
	struct hy_msg *m = calloc(1, sizeof(*m));
	struct hy_id peer = nid(1000);
	uint8_t buf[HY_DTLS_PAYLOAD_MAX];
	size_t len, empty, budget;
	unsigned total = 0;

	ck_assert_ptr_nonnull(m);
	for (unsigned i = 1; i <= 50; i++) {
		struct hy_contact c = { nid(i), pub6(i) };

		hy_pex_verified(p, &c, T0);
	}
	add_peer(p, 1000, T0);
	ck_assert_int_eq(hy_msg_init(m, HY_MSG_PEX, "test", 1, &SELF), 0);
	ck_assert_int_eq(hy_msg_encode(m, HY_PATH_DTLS, buf, sizeof(buf),
	                     &empty),
	    0);
	budget = HY_DTLS_PAYLOAD_MAX - empty + 2;
	for (int round = 0; round < 4 && total < 50; round++) {
		int n = hy_pex_build(p, &peer, T0 + (uint64_t)round * IVL,
		    budget, &m->body.pex);

		ck_assert_int_gt(n, 0);
		ck_assert_int_lt(n, 50); /* 50 IPv6 contacts do not fit */
		ck_assert_int_eq(hy_msg_encode(m, HY_PATH_DTLS, buf,
		                     sizeof(buf), &len),
		    0);
		total += (unsigned)n;
		/* while some are left, one more would not have fit */
		if (total < 50)
			ck_assert_uint_gt(len + 55, HY_DTLS_PAYLOAD_MAX);
	}
	ck_assert_uint_eq(total, 50);
	ck_assert_uint_eq(hy_pex_contact_size(
	                      &(struct hy_contact){ nid(1), pub(1) }),
	    43);
	free(m);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_build_unknown_peer)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;

	ck_assert_int_eq(build(p, 100, T0, &b), HY_ENOENT);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 101, T0, &b), HY_ENOENT);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_rate_limit)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[4];
	struct hy_pex_stats st;
	size_t n = 99;

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, 4, &n), 0);
	n = 99;
	ck_assert_int_eq(rx(p, 100, &in, T0 + 1, cand, 4, &n), HY_ERATELIMIT);
	ck_assert_uint_eq(n, 99);
	ck_assert_int_eq(rx(p, 100, &in, T0 + GAP - 1, cand, 4, &n),
	    HY_ERATELIMIT);
	/* another sender has its own bucket */
	ck_assert_int_eq(rx(p, 101, &in, T0 + 1, cand, 4, &n), 0);
	/* one per gap after the burst */
	ck_assert_int_eq(rx(p, 100, &in, T0 + GAP, cand, 4, &n), 0);
	ck_assert_int_eq(rx(p, 100, &in, T0 + GAP + 1, cand, 4, &n),
	    HY_ERATELIMIT);
	ck_assert_int_eq(rx(p, 100, &in, T0 + 2 * GAP, cand, 4, &n), 0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.received, 5);
	ck_assert_uint_eq(st.rate_limited, 3);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_counts_checked)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[4];
	struct hy_pex_stats st;
	struct hy_id from = nid(100);
	size_t n = 99;

	memset(&in, 0, sizeof(in));
	in.n_added = HY_PEX_MAX + 1;
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, 4, &n), HY_EINVAL);
	in.n_added = 0;
	in.n_dropped = UINT32_MAX;
	ck_assert_int_eq(rx(p, 101, &in, T0, cand, 4, &n), HY_EINVAL);
	ck_assert_uint_eq(n, 99);
	in.n_dropped = 0;
	ck_assert_int_eq(hy_pex_receive(p, &SELF, &in, T0, cand, 4, &n),
	    HY_ESELF);
	ck_assert_int_eq(hy_pex_receive(p, &from, &in, T0, NULL, 4, &n),
	    HY_EINVAL);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.malformed, 2);
	ck_assert_uint_eq(st.received, 0);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_candidates)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	struct hy_pex_stats st;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.n_added = 3;
	in.added[0] = ct(1);
	in.added[1] = ct(2);
	in.added[2] = ct(3);
	in.n_dropped = 1;
	in.dropped[0] = ct(4);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(has(cand, 3, 1) && has(cand, 3, 2) && has(cand, 3, 3));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.candidates_out, 3);
	ck_assert_uint_eq(st.added_received, 3);
	ck_assert_uint_eq(st.dropped_received, 1);
	/* candidates are not verified: nothing to announce */
	ck_assert_uint_eq(st.known, 0);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_filters_self_zero)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	struct hy_pex_stats st;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.n_added = 3;
	in.added[0].id = SELF;
	in.added[0].addr = pub(1);
	memset(&in.added[1].id, 0, sizeof(in.added[1].id));
	in.added[1].addr = pub(2);
	in.added[2] = ct(3);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(has(cand, 1, 3));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_SELF], 1);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_ZERO], 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_filters_duplicates)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	struct hy_pex_stats st;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.n_added = 4;
	in.added[0] = ct(1);
	in.added[1] = ct(1); /* same ID and address */
	in.added[2] = ct(1);
	in.added[2].addr = pub(9); /* same ID, other address */
	in.added[3] = ct(2);
	in.added[3].addr = pub(1); /* other ID, same address */
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(hy_addr_eq(&cand[0].addr, &in.added[0].addr));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_DUP], 3);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_filters_known)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	struct hy_pex_stats st;
	struct hy_id id = nid(2);
	size_t n = 0;

	verify_range(p, 1, 2, T0);
	add_peer(p, 50, T0);
	memset(&in, 0, sizeof(in));
	in.n_added = 5;
	in.added[0] = ct(1); /* verified */
	in.added[1] = ct(50); /* a pex peer */
	in.added[2] = ct(100); /* the sender */
	in.added[3] = ct(3);
	in.added[4] = ct(1);
	in.added[4].addr = pub(44); /* verified, other address */
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(has(cand, 1, 3));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_KNOWN], 3);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_DUP], 1);
	/* a lost contact is no longer known: it may be a candidate */
	hy_pex_lost(p, &id, T0 + 1);
	in.n_added = 1;
	in.added[0] = ct(2);
	ck_assert_int_eq(rx(p, 101, &in, T0 + 1, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_filters_recently_offered)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	struct hy_pex_stats st;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.n_added = 1;
	in.added[0] = ct(1);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	/* named again, by another sender, even under another ID */
	ck_assert_int_eq(rx(p, 101, &in, T0 + 1, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 0);
	in.added[0].id = nid(7);
	ck_assert_int_eq(rx(p, 102, &in, T0 + OFFERED - 1, cand, HY_PEX_MAX,
	                     &n),
	    0);
	ck_assert_uint_eq(n, 0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_OFFERED], 2);
	/* after offered_ms it may be offered again */
	ck_assert_int_eq(rx(p, 103, &in, T0 + OFFERED, cand, HY_PEX_MAX, &n),
	    0);
	ck_assert_uint_eq(n, 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_offered_bounded)
{
	struct hy_pex_config cfg;
	struct hy_pex *p;
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	size_t n = 0;

	hy_pex_config_default(&cfg);
	cfg.offered_max = 2;
	p = mk(&cfg);
	memset(&in, 0, sizeof(in));
	in.n_added = 3;
	in.added[0] = ct(1);
	in.added[1] = ct(2);
	in.added[2] = ct(3);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 3);
	/* 1 was forgotten to make room for 3; 3 is remembered */
	in.n_added = 2;
	in.added[0] = ct(3);
	in.added[1] = ct(1);
	ck_assert_int_eq(rx(p, 101, &in, T0 + 1, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(has(cand, 1, 1));
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_filters_martian_local)
{
	struct hy_pex_config cfg;
	struct hy_pex *p;
	struct hy_body_pex in;
	struct hy_contact cand[HY_PEX_MAX];
	struct hy_pex_stats st;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.n_added = 5;
	in.added[0] = ct(1);
	in.added[0].addr = v4(127, 0, 0, 2);
	in.added[1] = ct(2);
	in.added[1].addr = v4(192, 168, 1, 2);
	in.added[2] = ct(3);
	in.added[2].addr = v4(224, 0, 0, 1); /* multicast */
	in.added[3] = ct(4);
	memset(&in.added[3].addr, 0, sizeof(in.added[3].addr)); /* unset */
	in.added[4] = ct(5);

	p = mk(NULL);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(has(cand, 1, 5));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_LOCAL], 2);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_MARTIAN], 2);
	hy_pex_free(p);

	hy_pex_config_default(&cfg);
	cfg.allow_local = true;
	p = mk(&cfg);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, HY_PEX_MAX, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(has(cand, 3, 1) && has(cand, 3, 2) && has(cand, 3, 5));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_MARTIAN], 2);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_overflow)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in;
	struct hy_contact cand[2];
	struct hy_pex_stats st;
	size_t n = 0;

	memset(&in, 0, sizeof(in));
	in.n_added = 4;
	for (unsigned i = 0; i < 4; i++)
		in.added[i] = ct(i + 1);
	ck_assert_int_eq(rx(p, 100, &in, T0, cand, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.filtered[HY_PEX_F_OVERFLOW], 2);
	/* what did not fit was not remembered as offered */
	ck_assert_int_eq(rx(p, 101, &in, T0, cand, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(has(cand, 2, 3) && has(cand, 2, 4));
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_rx_dropped_counted_only)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex in, b;
	struct hy_contact cand[4];
	struct hy_pex_stats st;
	size_t n = 0;

	verify_range(p, 1, 1, T0);
	add_peer(p, 100, T0);
	memset(&in, 0, sizeof(in));
	in.n_dropped = 1;
	in.dropped[0] = ct(1);
	ck_assert_int_eq(rx(p, 101, &in, T0, cand, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* still ours to announce: another node's word changes nothing */
	ck_assert_int_eq(build(p, 100, T0, &b), 1);
	ck_assert(has(b.added, b.n_added, 1));
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.dropped_received, 1);
	ck_assert_uint_eq(st.known, 1);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_verified_ignored)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_pex_stats st;
	struct hy_contact c;

	c.id = SELF;
	c.addr = pub(1);
	hy_pex_verified(p, &c, T0);
	memset(&c.id, 0, sizeof(c.id));
	hy_pex_verified(p, &c, T0);
	c = ct(2);
	c.addr = v4(10, 0, 0, 2); /* private, !allow_local */
	hy_pex_verified(p, &c, T0);
	c = ct(3);
	c.addr.port = 0; /* martian */
	hy_pex_verified(p, &c, T0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.verified_ignored, 4);
	ck_assert_uint_eq(st.known, 0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 0);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_known_bounded)
{
	struct hy_pex_config cfg;
	struct hy_pex *p;
	struct hy_body_pex b;
	struct hy_pex_stats st;

	hy_pex_config_default(&cfg);
	cfg.known_max = 4;
	p = mk(&cfg);
	verify_range(p, 1, 6, T0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.known, 4);
	ck_assert_uint_eq(st.known_evicted, 2);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 4);
	ck_assert(!has(b.added, b.n_added, 1));
	ck_assert(!has(b.added, b.n_added, 2));
	ck_assert(has(b.added, b.n_added, 6));
	/* an evicted, told contact leaves no bit behind: 7 takes its slot */
	verify_range(p, 7, 7, T0 + 1);
	ck_assert_int_eq(build(p, 100, T0 + IVL, &b), 1);
	ck_assert(has(b.added, b.n_added, 7));
	ck_assert_uint_eq(b.n_dropped, 0);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_peers_bounded)
{
	struct hy_pex_config cfg;
	struct hy_pex *p;
	struct hy_contact c = ct(3);
	struct hy_id id = nid(1);
	struct hy_pex_stats st;

	hy_pex_config_default(&cfg);
	cfg.peers_max = 2;
	p = mk(&cfg);
	add_peer(p, 1, T0);
	add_peer(p, 2, T0);
	ck_assert_int_eq(hy_pex_peer_add(p, &c, T0), HY_EFULL);
	c = ct(2);
	ck_assert_int_eq(hy_pex_peer_add(p, &c, T0), HY_EEXIST);
	c.id = SELF;
	ck_assert_int_eq(hy_pex_peer_add(p, &c, T0), HY_ESELF);
	memset(&c.id, 0, sizeof(c.id));
	ck_assert_int_eq(hy_pex_peer_add(p, &c, T0), HY_EINVAL);
	hy_pex_peer_remove(p, &id);
	hy_pex_peer_remove(p, &id); /* unknown: no-op */
	add_peer(p, 3, T0);
	hy_pex_get_stats(p, &st);
	ck_assert_uint_eq(st.peers, 2);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_peer_readded_starts_over)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_id id = nid(100);

	verify_range(p, 1, 2, T0);
	add_peer(p, 100, T0);
	ck_assert_int_eq(build(p, 100, T0, &b), 2);
	hy_pex_peer_remove(p, &id);
	ck_assert_uint_eq(hy_pex_next_deadline(p), UINT64_MAX);
	add_peer(p, 100, T0 + 1);
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + 1);
	ck_assert_int_eq(build(p, 100, T0 + 1, &b), 2);
	hy_pex_free(p);
}
END_TEST

START_TEST(test_pex_due_lists_due_peers)
{
	struct hy_pex *p = mk(NULL);
	struct hy_body_pex b;
	struct hy_contact due[4];

	verify_range(p, 1, 1, T0);
	add_peer(p, 100, T0);
	add_peer(p, 101, T0 + 10);
	add_peer(p, 102, T0 + 20);
	ck_assert_uint_eq(hy_pex_due(p, T0 + 10, due, 4), 2);
	ck_assert(has(due, 2, 100) && has(due, 2, 101));
	ck_assert_uint_eq(hy_pex_due(p, T0 + 20, due, 1), 1);
	ck_assert(has(due, 1, 100));
	ck_assert_int_eq(build(p, 100, T0 + 20, &b), 1);
	ck_assert_uint_eq(hy_pex_due(p, T0 + 20, due, 4), 2);
	ck_assert(has(due, 2, 101) && has(due, 2, 102));
	ck_assert_uint_eq(hy_pex_next_deadline(p), T0 + 10);
	hy_pex_free(p);
}
END_TEST

/*
 * Random verified / lost / peer add / remove / build steps against a model
 * of each receiver's view: `added` never names what the view holds, nor the
 * peer itself; `dropped` names only what it holds and what was lost; the
 * caps hold.
 */
#define RN 40 /* contact IDs 1..RN; peers are 1..8 */
START_TEST(test_pex_random_deltas_model)
{
	uint64_t seed = 0x5eed0000u + (uint64_t)_i;
	struct hy_pex_config cfg;
	struct hy_pex *p;
	struct hy_body_pex b;
	struct hy_rng r;
	bool view[9][RN + 1], alive[RN + 1], peer[9];
	uint64_t now = T0;
	const char *why = NULL;

	hy_rng_seed(&r, seed);
	hy_pex_config_default(&cfg);
	cfg.max_added = 5;
	cfg.max_dropped = 3;
	cfg.interval_ms = 1000;
	cfg.fresh_ms = 20000;
	p = mk(&cfg);
	memset(view, 0, sizeof(view));
	memset(alive, 0, sizeof(alive));
	memset(peer, 0, sizeof(peer));
	for (int step = 0; step < 3000 && why == NULL; step++) {
		unsigned c = 1 + (unsigned)hy_rng_below(&r, RN);
		unsigned q = 1 + (unsigned)hy_rng_below(&r, 8);
		struct hy_contact k = ct(c);
		struct hy_id id = nid(c);
		int rc;

		now += hy_rng_below(&r, 400);
		switch (hy_rng_below(&r, 6)) {
		case 0:
		case 1:
			hy_pex_verified(p, &k, now);
			alive[c] = true;
			break;
		case 2:
			hy_pex_lost(p, &id, now);
			alive[c] = false;
			break;
		case 3:
			if (hy_rng_below(&r, 8) != 0)
				break;
			k = ct(q);
			id = nid(q);
			if (peer[q]) {
				hy_pex_peer_remove(p, &id);
				memset(view[q], 0, sizeof(view[q]));
			} else {
				ck_assert_int_eq(hy_pex_peer_add(p, &k, now),
				    0);
			}
			peer[q] = !peer[q];
			break;
		default:
			id = nid(q);
			rc = hy_pex_build(p, &id, now, SIZE_MAX, &b);
			if (!peer[q]) {
				if (rc != HY_ENOENT)
					why = "build for a non-peer";
				break;
			}
			if (rc < 0)
				break;
			if (b.n_added > 5 || b.n_dropped > 3)
				why = "cap";
			for (uint32_t j = 0; j < b.n_dropped && !why; j++) {
				unsigned d = b.dropped[j].id.b[1];

				if (!view[q][d] || alive[d])
					why = "dropped not in view or alive";
				view[q][d] = false;
			}
			for (uint32_t j = 0; j < b.n_added && !why; j++) {
				unsigned a = b.added[j].id.b[1];

				if (view[q][a] || !alive[a] || a == q)
					why = "added in view, lost or self";
				view[q][a] = true;
			}
			break;
		}
	}
	if (why != NULL)
		ck_abort_msg("seed=%llu: %s", (unsigned long long)seed, why);
	hy_pex_free(p);
}
END_TEST

static Suite *
pex_suite(void)
{
	Suite *s = suite_create("pex");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pex_config_defaults);
	tcase_add_test(tc, test_pex_free_null);
	tcase_add_test(tc, test_pex_first_at_once_then_per_interval);
	tcase_add_test(tc, test_pex_first_waits_for_content);
	tcase_add_test(tc, test_pex_caps_carry_over);
	tcase_add_test(tc, test_pex_configured_caps);
	tcase_add_test(tc, test_pex_announced_once);
	tcase_add_test(tc, test_pex_lost_dropped_once);
	tcase_add_test(tc, test_pex_lost_before_announced);
	tcase_add_test(tc, test_pex_lost_then_verified);
	tcase_add_test(tc, test_pex_lost_each_peer_once);
	tcase_add_test(tc, test_pex_stale_not_announced);
	tcase_add_test(tc, test_pex_peer_not_in_own);
	tcase_add_test(tc, test_pex_budget_fits_dtls);
	tcase_add_test(tc, test_pex_build_unknown_peer);
	tcase_add_test(tc, test_pex_rx_rate_limit);
	tcase_add_test(tc, test_pex_rx_counts_checked);
	tcase_add_test(tc, test_pex_rx_candidates);
	tcase_add_test(tc, test_pex_rx_filters_self_zero);
	tcase_add_test(tc, test_pex_rx_filters_duplicates);
	tcase_add_test(tc, test_pex_rx_filters_known);
	tcase_add_test(tc, test_pex_rx_filters_recently_offered);
	tcase_add_test(tc, test_pex_rx_offered_bounded);
	tcase_add_test(tc, test_pex_rx_filters_martian_local);
	tcase_add_test(tc, test_pex_rx_overflow);
	tcase_add_test(tc, test_pex_rx_dropped_counted_only);
	tcase_add_test(tc, test_pex_verified_ignored);
	tcase_add_test(tc, test_pex_known_bounded);
	tcase_add_test(tc, test_pex_peers_bounded);
	tcase_add_test(tc, test_pex_peer_readded_starts_over);
	tcase_add_test(tc, test_pex_due_lists_due_peers);
	tcase_add_loop_test(tc, test_pex_random_deltas_model, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pex_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
