/*
 * check_sim.c: tests of the simulation core (tests/sim): the in-memory
 * network, its link model and the fake-clock event loop.
 *
 * Every simulation here takes its seed from simnet_seed_from_env(), so a
 * failure (which prints seed=N) replays with HY_SIM_SEED=N. The scale test
 * reads its node count from HY_SIM_NODES (default 1000) and the event test
 * its timer count from HY_SIM_EVENTS (default 10^6), so both can run
 * smaller under valgrind.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "simcheck.h"
#include "simnet.h"

static uint64_t
test_seed(void)
{
	return simnet_seed_from_env(SIMNET_DEFAULT_SEED);
}

/* ---- a recording node ---------------------------------------------------- */

struct rx {
	uint64_t at;
	uint64_t tag; /* first 8 bytes of the payload, 0 if shorter */
	size_t len;
	struct hy_addr from, to;
};

struct tnode {
	struct simnet *sim;
	uint32_t id;
	struct hy_addr addr;
	struct rx *rx;
	size_t nrx, caprx;
	uint64_t timer_at[16];
	size_t timer_nrx[16]; /* datagrams received before the timer fired */
	size_t ntimers;
};

static void
tnode_recv(void *ctx, const struct hy_addr *from, const struct hy_addr *to,
    const uint8_t *data, size_t len)
{
	struct tnode *t = ctx;
	struct rx *r;

	if (t->nrx == t->caprx) {
		t->caprx = t->caprx ? t->caprx * 2 : 64;
		t->rx = realloc(t->rx, t->caprx * sizeof(*t->rx));
		ck_assert_ptr_nonnull(t->rx);
	}
	r = &t->rx[t->nrx++];
	r->at = simnet_now(t->sim);
	r->tag = 0;
	if (len >= 8)
		memcpy(&r->tag, data, 8);
	r->len = len;
	r->from = *from;
	r->to = *to;
}

static void
tnode_timer(void *arg)
{
	struct tnode *t = arg;

	if (t->ntimers < 16) {
		t->timer_at[t->ntimers] = simnet_now(t->sim);
		t->timer_nrx[t->ntimers] = t->nrx;
	}
	t->ntimers++;
}

static void
tnode_init(struct tnode *t, struct simnet *sim, uint32_t i)
{
	memset(t, 0, sizeof(*t));
	t->sim = sim;
	t->addr = simnet_addr_nth(i, 4000);
	t->id = simnet_node_add(sim, t, tnode_recv);
	ck_assert_uint_ne(t->id, SIMNET_NONE);
	ck_assert_int_eq(simnet_node_bind(sim, t->id, &t->addr), HY_OK);
}

static void
tnode_fini(struct tnode *t)
{
	free(t->rx);
	t->rx = NULL;
}

static int
send_tag(struct simnet *sim, const struct tnode *a, const struct tnode *b,
    uint64_t tag)
{
	uint8_t buf[32];

	memset(buf, 0xab, sizeof(buf));
	memcpy(buf, &tag, 8);
	return simnet_send(sim, &a->addr, &b->addr, buf, sizeof(buf));
}

static void
check_conservation(struct simnet *sim)
{
	struct simnet_stats st;
	uint64_t out;

	simnet_stats(sim, &st);
	out = st.delivered + st.dropped_loss + st.dropped_partition +
	    st.dropped_dead + st.dropped_oversize + st.dropped_in_flight +
	    st.dropped_frozen + st.in_flight + st.frozen_queued;
	SIM_CK_ASSERT_UINT(sim, st.sent + st.duplicated, ==, out);
}

static struct simnet *
sim_with_link(uint32_t latency, uint32_t jitter, double loss, double dup)
{
	struct simnet_config cfg;
	struct simnet *sim;

	simnet_config_default(&cfg);
	cfg.link.latency_ms = latency;
	cfg.link.jitter_ms = jitter;
	cfg.link.loss = loss;
	cfg.link.dup = dup;
	sim = simnet_new(&cfg, test_seed());
	ck_assert_ptr_nonnull(sim);
	return sim;
}

/* ---- basic delivery ------------------------------------------------------ */

START_TEST(test_sim_delivery_exact_latency)
{
	struct simnet *sim = sim_with_link(37, 0, 0, 0);
	struct tnode a, b;
	uint64_t t0;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	simnet_run_for(sim, 5, 0);
	t0 = simnet_now(sim);
	ck_assert_int_eq(send_tag(sim, &a, &b, 7), HY_OK);
	/* nothing arrives one millisecond early */
	ck_assert_int_eq(simnet_run_until(sim, t0 + 36, 0), HY_OK);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 0);
	ck_assert_int_eq(simnet_run_until(sim, t0 + 37, 0), HY_OK);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, b.rx[0].at, ==, t0 + 37);
	SIM_CK_ASSERT_UINT(sim, b.rx[0].tag, ==, 7);
	SIM_CK_ASSERT_UINT(sim, b.rx[0].len, ==, 32);
	SIM_CK_ASSERT(sim, hy_addr_eq(&b.rx[0].from, &a.addr));
	SIM_CK_ASSERT(sim, hy_addr_eq(&b.rx[0].to, &b.addr));
	SIM_CK_ASSERT_UINT(sim, a.nrx, ==, 0);
	/* the clock reads the target time, and the fake clock agrees */
	SIM_CK_ASSERT_UINT(sim, hy_clock_mono(simnet_clock(sim)), ==, t0 + 37);
	check_conservation(sim);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_same_time_fifo)
{
	struct simnet *sim = sim_with_link(5, 0, 0, 0);
	struct tnode a, b;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	for (uint64_t i = 0; i < 100; i++)
		send_tag(sim, &a, &b, i);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 100);
	/* equal delivery times: insertion order decides */
	for (uint64_t i = 0; i < 100; i++)
		SIM_CK_ASSERT_UINT(sim, b.rx[i].tag, ==, i);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_jitter_within_bounds)
{
	struct simnet *sim = sim_with_link(20, 30, 0, 0);
	struct tnode a, b;
	uint64_t t0 = 0, lo = UINT64_MAX, hi = 0, reordered = 0;
	const uint64_t n = 2000;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	/* one datagram a millisecond, each stamped with its send time */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t now = simnet_now(sim);

		if (i == 0)
			t0 = now;
		send_tag(sim, &a, &b, now);
		simnet_run_for(sim, 1, 0);
	}
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, n);
	for (size_t i = 0; i < b.nrx; i++) {
		uint64_t d = b.rx[i].at - b.rx[i].tag;

		SIM_CK_ASSERT(sim, b.rx[i].tag >= t0);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		if (i > 0 && b.rx[i].tag < b.rx[i - 1].tag)
			reordered++;
	}
	SIM_CK_ASSERT_UINT(sim, lo, >=, 20);
	SIM_CK_ASSERT_UINT(sim, hi, <=, 50);
	/* with 2000 samples both ends of [20, 50] are reached */
	SIM_CK_ASSERT_UINT(sim, lo, ==, 20);
	SIM_CK_ASSERT_UINT(sim, hi, ==, 50);
	/* jitter larger than the send interval reorders */
	SIM_CK_ASSERT_UINT(sim, reordered, >, 0);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

/* ---- determinism --------------------------------------------------------- */

struct chatter {
	struct simnet *sim;
	uint32_t n;
	struct tnode *nodes;
	uint64_t rounds;
};

static void
chatter_tick(void *arg)
{
	struct chatter *c = arg;
	struct hy_rng *rng = simnet_rng(c->sim);

	for (uint32_t k = 0; k < c->n; k++) {
		uint32_t from = (uint32_t)hy_rng_below(rng, c->n);
		uint32_t to = (uint32_t)hy_rng_below(rng, c->n);
		uint8_t buf[48];

		hy_rng_bytes(rng, buf, sizeof(buf));
		simnet_send(c->sim, &c->nodes[from].addr, &c->nodes[to].addr,
		    buf, 1 + hy_rng_below(rng, sizeof(buf)));
	}
	if (++c->rounds < 200)
		simnet_timer_add(c->sim, simnet_now(c->sim) + 50, chatter_tick,
		    c);
}

/* A busy scenario with every random part of the model switched on. */
static uint64_t
run_chatter(uint64_t seed, struct simnet_stats *st)
{
	struct simnet_config cfg;
	struct simnet *sim;
	struct chatter c;
	uint64_t h;

	simnet_config_default(&cfg);
	cfg.link.latency_ms = 15;
	cfg.link.jitter_ms = 40;
	cfg.link.loss = 0.1;
	cfg.link.dup = 0.05;
	sim = simnet_new(&cfg, seed);
	ck_assert_ptr_nonnull(sim);
	memset(&c, 0, sizeof(c));
	c.sim = sim;
	c.n = 40;
	c.nodes = calloc(c.n, sizeof(*c.nodes));
	ck_assert_ptr_nonnull(c.nodes);
	for (uint32_t i = 0; i < c.n; i++)
		tnode_init(&c.nodes[i], sim, i);
	simnet_timer_add(sim, 0, chatter_tick, &c);
	ck_assert_int_eq(simnet_run_until_idle(sim, 60000, 0), HY_OK);
	check_conservation(sim);
	h = simnet_trace_hash(sim);
	simnet_stats(sim, st);
	for (uint32_t i = 0; i < c.n; i++)
		tnode_fini(&c.nodes[i]);
	free(c.nodes);
	simnet_free(sim);
	return h;
}

START_TEST(test_sim_determinism)
{
	uint64_t seed = test_seed();
	struct simnet_stats s1, s2, s3;
	uint64_t h1 = run_chatter(seed, &s1);
	uint64_t h2 = run_chatter(seed, &s2);
	uint64_t h3 = run_chatter(seed + 1, &s3);

	ck_assert_msg(h1 == h2,
	    "same seed, different traces (seed=%" PRIu64 ")", seed);
	ck_assert_msg(memcmp(&s1, &s2, sizeof(s1)) == 0,
	    "same seed, different counters (seed=%" PRIu64 ")", seed);
	ck_assert_msg(h1 != h3,
	    "seeds %" PRIu64 " and %" PRIu64 " gave the same trace", seed,
	    seed + 1);
	/* the scenario really exercised loss, duplication and delivery */
	ck_assert_uint_gt(s1.dropped_loss, 0);
	ck_assert_uint_gt(s1.duplicated, 0);
	ck_assert_uint_gt(s1.delivered, 1000);
}
END_TEST

/* ---- link model
 * -------------------------------------------------------------- */

START_TEST(test_sim_loss_rate)
{
	struct simnet *sim = sim_with_link(10, 5, 0.2, 0);
	struct tnode a, b;
	struct simnet_stats st;
	const uint64_t n = 20000;
	double rate;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	for (uint64_t i = 0; i < n; i++) {
		send_tag(sim, &a, &b, i);
		if (i % 100 == 99)
			simnet_run_for(sim, 1, 0);
	}
	simnet_run_until_idle(sim, 1000, 0);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.delivered, ==, b.nrx);
	SIM_CK_ASSERT_UINT(sim, st.delivered + st.dropped_loss, ==, n);
	/*
	 * sd of the count is sqrt(n p (1-p)) = 57, 0.28% of n; 1.5% is more
	 * than five sd, and an ignored loss setting (rate 0) fails.
	 */
	rate = (double)st.dropped_loss / (double)n;
	ck_assert_msg(rate > 0.185 && rate < 0.215,
	    "loss rate %f, configured 0.2 (seed=%" PRIu64 ")", rate,
	    simnet_seed(sim));
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_duplication)
{
	struct simnet *sim = sim_with_link(10, 10, 0, 0.1);
	struct tnode a, b;
	struct simnet_stats st;
	const uint64_t n = 10000;
	uint8_t *seen;
	uint64_t twice = 0;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	for (uint64_t i = 0; i < n; i++)
		send_tag(sim, &a, &b, i);
	simnet_run_until_idle(sim, 1000, 0);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, n + st.duplicated);
	SIM_CK_ASSERT(sim, st.duplicated > 800 && st.duplicated < 1200);
	seen = calloc(n, 1);
	ck_assert_ptr_nonnull(seen);
	for (size_t i = 0; i < b.nrx; i++) {
		SIM_CK_ASSERT_UINT(sim, b.rx[i].tag, <, n);
		if (seen[b.rx[i].tag]++ == 1)
			twice++;
	}
	for (uint64_t i = 0; i < n; i++)
		SIM_CK_ASSERT(sim, seen[i] == 1 || seen[i] == 2);
	SIM_CK_ASSERT_UINT(sim, twice, ==, st.duplicated);
	free(seen);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_link_override)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct simnet_link slow = { .latency_ms = 200 },
	                   lossy = { .latency_ms = 1, .loss = 1.0 };
	struct tnode a, b, c;
	uint64_t t0 = simnet_now(sim);

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	tnode_init(&c, sim, 2);
	ck_assert_int_eq(simnet_link_set(sim, &a.addr, &b.addr, &slow), HY_OK);
	ck_assert_int_eq(simnet_link_set(sim, &a.addr, &c.addr, &lossy), HY_OK);
	send_tag(sim, &a, &b, 1); /* overridden: 200 ms */
	send_tag(sim, &b, &a, 2); /* other direction: default 10 ms */
	send_tag(sim, &a, &c, 3); /* always lost */
	send_tag(sim, &c, &a, 4); /* default */
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, b.rx[0].at, ==, t0 + 200);
	SIM_CK_ASSERT_UINT(sim, a.nrx, ==, 2);
	SIM_CK_ASSERT_UINT(sim, a.rx[0].at, ==, t0 + 10);
	SIM_CK_ASSERT_UINT(sim, a.rx[1].at, ==, t0 + 10);
	SIM_CK_ASSERT_UINT(sim, c.nrx, ==, 0);
	/* clearing the override restores the default */
	ck_assert_int_eq(simnet_link_clear(sim, &a.addr, &b.addr), HY_OK);
	ck_assert_int_eq(simnet_link_clear(sim, &a.addr, &b.addr), HY_ENOENT);
	t0 = simnet_now(sim);
	send_tag(sim, &a, &b, 5);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 2);
	SIM_CK_ASSERT_UINT(sim, b.rx[1].at, ==, t0 + 10);
	/* invalid models are refused */
	lossy.loss = 1.5;
	ck_assert_int_eq(simnet_link_set(sim, &a.addr, &b.addr, &lossy),
	    HY_EINVAL);
	ck_assert_int_eq(simnet_set_default_link(sim, &lossy), HY_EINVAL);
	check_conservation(sim);
	tnode_fini(&a);
	tnode_fini(&b);
	tnode_fini(&c);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_partition_and_heal)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct tnode t[4];
	struct simnet_stats st;

	for (uint32_t i = 0; i < 4; i++)
		tnode_init(&t[i], sim, i);
	/* {0,1} | {2,3} */
	ck_assert_int_eq(simnet_node_set_group(sim, t[2].id, 1), HY_OK);
	ck_assert_int_eq(simnet_node_set_group(sim, t[3].id, 1), HY_OK);
	ck_assert_int_eq(simnet_partition(sim, 0, 1), HY_OK);
	send_tag(sim, &t[0], &t[1], 1); /* same side */
	send_tag(sim, &t[0], &t[2], 2); /* across */
	send_tag(sim, &t[3], &t[1], 3); /* across */
	send_tag(sim, &t[3], &t[2], 4); /* same side */
	/* blocked datagrams are dropped at once, not carried */
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.dropped_partition, ==, 2);
	SIM_CK_ASSERT_UINT(sim, st.in_flight, ==, 2);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, t[1].nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, t[2].nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, t[2].rx[0].tag, ==, 4);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.dropped_partition, ==, 2);

	/* a partition that starts while datagrams fly drops them on arrival */
	ck_assert_int_eq(simnet_heal(sim, 0, 1), HY_OK);
	send_tag(sim, &t[0], &t[2], 5);
	simnet_run_for(sim, 5, 0);
	simnet_partition(sim, 0, 1);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, t[2].nrx, ==, 1);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.dropped_partition, ==, 3);

	/* asymmetric: 0 -> 1 blocked, 1 -> 0 open */
	simnet_heal_all(sim);
	ck_assert_int_eq(simnet_block(sim, 0, 1, true), HY_OK);
	send_tag(sim, &t[0], &t[2], 6);
	send_tag(sim, &t[2], &t[0], 7);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, t[2].nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, t[0].nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, t[0].rx[0].tag, ==, 7);

	/* healed: everything flows */
	simnet_heal_all(sim);
	send_tag(sim, &t[0], &t[2], 8);
	send_tag(sim, &t[3], &t[1], 9);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, t[2].nrx, ==, 2);
	SIM_CK_ASSERT_UINT(sim, t[2].rx[1].tag, ==, 8);
	SIM_CK_ASSERT_UINT(sim, t[1].nrx, ==, 2);
	SIM_CK_ASSERT_UINT(sim, t[1].rx[1].tag, ==, 9);
	ck_assert_int_eq(simnet_partition(sim, 0, SIMNET_MAX_GROUPS),
	    HY_EINVAL);
	ck_assert_int_eq(simnet_node_set_group(sim, t[0].id, SIMNET_MAX_GROUPS),
	    HY_EINVAL);
	check_conservation(sim);
	for (uint32_t i = 0; i < 4; i++)
		tnode_fini(&t[i]);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_oversize_dropped)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct tnode a, b;
	struct simnet_stats st;
	static uint8_t big[1281];

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	ck_assert_int_eq(simnet_send(sim, &a.addr, &b.addr, big, 1281), HY_OK);
	ck_assert_int_eq(simnet_send(sim, &a.addr, &b.addr, big, 1280), HY_OK);
	ck_assert_int_eq(simnet_send(sim, &a.addr, &b.addr, big, 0), HY_OK);
	simnet_run_until_idle(sim, 1000, 0);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.dropped_oversize, ==, 1);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 2);
	SIM_CK_ASSERT_UINT(sim, b.rx[0].len, ==, 1280);
	SIM_CK_ASSERT_UINT(sim, b.rx[1].len, ==, 0);
	SIM_CK_ASSERT_UINT(sim, st.delivered_bytes, ==, 1280);
	SIM_CK_ASSERT_UINT(sim, st.sent_bytes, ==, 1281 + 1280);
	check_conservation(sim);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_in_flight_bound)
{
	struct simnet_config cfg;
	struct simnet *sim;
	struct tnode a, b;
	struct simnet_stats st;

	simnet_config_default(&cfg);
	cfg.max_in_flight = 10;
	sim = simnet_new(&cfg, test_seed());
	ck_assert_ptr_nonnull(sim);
	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	for (uint64_t i = 0; i < 25; i++)
		send_tag(sim, &a, &b, i);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.in_flight, ==, 10);
	SIM_CK_ASSERT_UINT(sim, st.dropped_in_flight, ==, 15);
	check_conservation(sim);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 10);
	for (uint64_t i = 0; i < 10; i++)
		SIM_CK_ASSERT_UINT(sim, b.rx[i].tag, ==, i);
	/* the bound is on datagrams in flight, not on the total */
	send_tag(sim, &a, &b, 99);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 11);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.in_flight_max, ==, 10);
	check_conservation(sim);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

/* ---- nodes: crash, freeze ------------------------------------------------ */

START_TEST(test_sim_crash_drops_in_flight)
{
	struct simnet *sim = sim_with_link(50, 0, 0, 0);
	struct tnode a, b, b2;
	struct simnet_stats st, nst;
	struct simnet_node_stats ns;
	uint32_t old_id;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	for (uint64_t i = 0; i < 5; i++)
		send_tag(sim, &a, &b, i);
	simnet_node_timer_add(sim, b.id, simnet_now(sim) + 100, tnode_timer,
	    &b);
	simnet_run_for(sim, 20, 0);
	old_id = b.id;
	ck_assert_int_eq(simnet_node_crash(sim, b.id), HY_OK);
	ck_assert_int_eq(simnet_node_crash(sim, b.id), HY_EINVAL);
	SIM_CK_ASSERT(sim, !simnet_node_alive(sim, b.id));
	SIM_CK_ASSERT_UINT(sim, simnet_node_at(sim, &b.addr), ==, SIMNET_NONE);
	/* a restart at the same address does not get the old node's traffic */
	memset(&b2, 0, sizeof(b2));
	b2.sim = sim;
	b2.addr = b.addr;
	b2.id = simnet_node_add(sim, &b2, tnode_recv);
	SIM_CK_ASSERT(sim, b2.id != old_id);
	ck_assert_int_eq(simnet_node_bind(sim, b2.id, &b2.addr), HY_OK);
	ck_assert_int_eq(simnet_node_bind(sim, b2.id, &b2.addr), HY_EEXIST);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 0);
	SIM_CK_ASSERT_UINT(sim, b2.nrx, ==, 0);
	SIM_CK_ASSERT_UINT(sim, b.ntimers, ==, 0);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.dropped_dead, ==, 5);
	SIM_CK_ASSERT_UINT(sim, st.timers_dropped, ==, 1);
	ck_assert_int_eq(simnet_node_stats(sim, old_id, &ns), HY_OK);
	SIM_CK_ASSERT_UINT(sim, ns.dropped_to, ==, 5);
	/* new traffic reaches the new node; an unbound address drops */
	send_tag(sim, &a, &b2, 42);
	ck_assert_int_eq(simnet_node_unbind(sim, &a.addr), HY_OK);
	ck_assert_int_eq(simnet_node_unbind(sim, &a.addr), HY_ENOENT);
	send_tag(sim, &b2, &a, 43);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b2.nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, b2.rx[0].tag, ==, 42);
	SIM_CK_ASSERT_UINT(sim, a.nrx, ==, 0);
	simnet_stats(sim, &nst);
	SIM_CK_ASSERT_UINT(sim, nst.dropped_dead, ==, 6);
	check_conservation(sim);
	tnode_fini(&a);
	tnode_fini(&b);
	tnode_fini(&b2);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_freeze_and_resume)
{
	struct simnet_config cfg;
	struct simnet *sim;
	struct tnode a, b;
	struct simnet_stats st;
	uint64_t t0, h;

	simnet_config_default(&cfg);
	cfg.frozen_queue_max = 5;
	sim = simnet_new(&cfg, test_seed());
	ck_assert_ptr_nonnull(sim);
	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	t0 = simnet_now(sim);
	ck_assert_int_eq(simnet_node_freeze(sim, b.id, 3000), HY_OK);
	SIM_CK_ASSERT(sim, simnet_node_frozen(sim, b.id));
	simnet_node_timer_add(sim, b.id, t0 + 500, tnode_timer, &b);
	simnet_node_timer_add(sim, b.id, t0 + 5000, tnode_timer, &b);
	h = simnet_node_timer_add(sim, b.id, t0 + 600, tnode_timer, &b);
	ck_assert_uint_ne(h, 0);
	/* an unowned timer is not held up by the freeze */
	simnet_timer_add(sim, t0 + 700, tnode_timer, &a);
	for (uint64_t i = 0; i < 8; i++) {
		send_tag(sim, &a, &b, i);
		simnet_run_for(sim, 100, 0);
	}
	/* the 600 ms timer came due while frozen; cancelling it still works */
	SIM_CK_ASSERT(sim, simnet_timer_cancel(sim, h));
	SIM_CK_ASSERT(sim, !simnet_timer_cancel(sim, h));
	/* this one arrives exactly at the resume time, after the held ones */
	simnet_run_until(sim, t0 + 2990, 0);
	send_tag(sim, &a, &b, 100);
	simnet_run_until(sim, t0 + 2999, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 0);
	SIM_CK_ASSERT_UINT(sim, b.ntimers, ==, 0);
	SIM_CK_ASSERT_UINT(sim, a.ntimers, ==, 1);
	SIM_CK_ASSERT_UINT(sim, a.timer_at[0], ==, t0 + 700);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.frozen_queued, ==, 5);
	SIM_CK_ASSERT_UINT(sim, st.dropped_frozen, ==, 3);
	check_conservation(sim);

	simnet_run_until(sim, t0 + 3000, 0);
	SIM_CK_ASSERT(sim, !simnet_node_frozen(sim, b.id));
	/*
	 * Everything held runs at the resume time in the order it came due
	 * (datagrams due at 10..410 ms, then the 500 ms timer, although the
	 * timer was scheduled first), then what arrives at that instant.
	 */
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 6);
	for (uint64_t i = 0; i < 5; i++) {
		SIM_CK_ASSERT_UINT(sim, b.rx[i].tag, ==, i);
		SIM_CK_ASSERT_UINT(sim, b.rx[i].at, ==, t0 + 3000);
	}
	SIM_CK_ASSERT_UINT(sim, b.rx[5].tag, ==, 100);
	SIM_CK_ASSERT_UINT(sim, b.rx[5].at, ==, t0 + 3000);
	SIM_CK_ASSERT_UINT(sim, b.ntimers, ==, 1);
	SIM_CK_ASSERT_UINT(sim, b.timer_at[0], ==, t0 + 3000);
	SIM_CK_ASSERT_UINT(sim, b.timer_nrx[0], ==, 5);
	/* a timer due after the freeze keeps its time */
	simnet_run_until_idle(sim, 10000, 0);
	SIM_CK_ASSERT_UINT(sim, b.ntimers, ==, 2);
	SIM_CK_ASSERT_UINT(sim, b.timer_at[1], ==, t0 + 5000);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.frozen_queued, ==, 0);
	SIM_CK_ASSERT_UINT(sim, st.timers_cancelled, ==, 1);

	/* a freeze with no end, ended by hand; resuming twice is refused */
	ck_assert_int_eq(simnet_node_freeze(sim, b.id, SIMNET_FOREVER), HY_OK);
	send_tag(sim, &a, &b, 77);
	ck_assert_int_eq(simnet_run_until_idle(sim, 100000, 0), HY_OK);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 6);
	ck_assert_int_eq(simnet_node_resume(sim, b.id), HY_OK);
	ck_assert_int_eq(simnet_node_resume(sim, b.id), HY_ESTATE);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 7);
	SIM_CK_ASSERT_UINT(sim, b.rx[6].tag, ==, 77);

	/* crashing a frozen node drops what it held */
	simnet_node_freeze(sim, b.id, 1000);
	send_tag(sim, &a, &b, 78);
	simnet_node_timer_add(sim, b.id, simnet_now(sim) + 50, tnode_timer, &b);
	simnet_run_for(sim, 100, 0);
	ck_assert_int_eq(simnet_node_crash(sim, b.id), HY_OK);
	simnet_run_until_idle(sim, 10000, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 7);
	SIM_CK_ASSERT_UINT(sim, b.ntimers, ==, 2);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.frozen_queued, ==, 0);
	SIM_CK_ASSERT_UINT(sim, st.dropped_dead, ==, 1);
	SIM_CK_ASSERT_UINT(sim, st.timers_dropped, ==, 1);
	check_conservation(sim);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_freeze_extends)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct tnode a, b;
	uint64_t t0;

	tnode_init(&a, sim, 0);
	tnode_init(&b, sim, 1);
	t0 = simnet_now(sim);
	simnet_node_freeze(sim, b.id, 1000);
	simnet_node_freeze(sim, b.id, 500); /* shorter: no change */
	simnet_run_for(sim, 200, 0);
	simnet_node_freeze(sim, b.id, 2000); /* now ends at t0 + 2200 */
	send_tag(sim, &a, &b, 1);
	simnet_run_until(sim, t0 + 2199, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 0);
	simnet_run_until(sim, t0 + 2200, 0);
	SIM_CK_ASSERT_UINT(sim, b.nrx, ==, 1);
	SIM_CK_ASSERT_UINT(sim, b.rx[0].at, ==, t0 + 2200);
	tnode_fini(&a);
	tnode_fini(&b);
	simnet_free(sim);
}
END_TEST

/* ---- timers and run bounds ----------------------------------------------- */

START_TEST(test_sim_timer_cancel)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct tnode a;
	uint64_t t0, h1, h2, h3;
	struct simnet_stats st;

	tnode_init(&a, sim, 0);
	t0 = simnet_now(sim);
	h1 = simnet_node_timer_add(sim, a.id, t0 + 10, tnode_timer, &a);
	h2 = simnet_node_timer_add(sim, a.id, t0 + 20, tnode_timer, &a);
	h3 = simnet_timer_add(sim, t0 + 30, tnode_timer, &a);
	ck_assert(h1 != 0 && h2 != 0 && h3 != 0);
	ck_assert(h1 != h2 && h2 != h3);
	SIM_CK_ASSERT_UINT(sim, simnet_pending(sim), ==, 3);
	SIM_CK_ASSERT(sim, simnet_timer_cancel(sim, h2));
	SIM_CK_ASSERT(sim, !simnet_timer_cancel(sim, h2));
	SIM_CK_ASSERT(sim, !simnet_timer_cancel(sim, 0));
	SIM_CK_ASSERT_UINT(sim, simnet_pending(sim), ==, 2);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, a.ntimers, ==, 2);
	SIM_CK_ASSERT_UINT(sim, a.timer_at[0], ==, t0 + 10);
	SIM_CK_ASSERT_UINT(sim, a.timer_at[1], ==, t0 + 30);
	/* fired timers cannot be cancelled, even once their slot is reused */
	SIM_CK_ASSERT(sim, !simnet_timer_cancel(sim, h1));
	simnet_timer_add(sim, simnet_now(sim) + 5, tnode_timer, &a);
	SIM_CK_ASSERT(sim, !simnet_timer_cancel(sim, h1));
	SIM_CK_ASSERT(sim, !simnet_timer_cancel(sim, h3));
	/* a time in the past fires now */
	simnet_timer_add(sim, 0, tnode_timer, &a);
	ck_assert_int_eq(simnet_step(sim), 1);
	SIM_CK_ASSERT_UINT(sim, a.ntimers, ==, 3);
	SIM_CK_ASSERT_UINT(sim, a.timer_at[2], ==, t0 + 30);
	simnet_run_until_idle(sim, 1000, 0);
	SIM_CK_ASSERT_UINT(sim, a.ntimers, ==, 4);
	ck_assert_int_eq(simnet_step(sim), 0);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.timers_fired, ==, 4);
	SIM_CK_ASSERT_UINT(sim, st.timers_cancelled, ==, 1);
	tnode_fini(&a);
	simnet_free(sim);
}
END_TEST

/* Cancels many timers in random order: the heap stays ordered. */
START_TEST(test_sim_timer_cancel_many)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct tnode a;
	enum { N = 5000 };
	uint64_t *h = calloc(N, sizeof(*h)), *at = calloc(N, sizeof(*at));
	struct hy_rng *rng = simnet_rng(sim);
	uint64_t last = 0, kept = 0;

	ck_assert(h != NULL && at != NULL);
	tnode_init(&a, sim, 0);
	a.ntimers = 0;
	for (int i = 0; i < N; i++) {
		at[i] = simnet_now(sim) + hy_rng_below(rng, 100000);
		h[i] = simnet_node_timer_add(sim, a.id, at[i], tnode_timer, &a);
	}
	for (int i = 0; i < N; i++) {
		if (hy_rng_below(rng, 2) == 0)
			SIM_CK_ASSERT(sim, simnet_timer_cancel(sim, h[i]));
		else
			kept++;
	}
	SIM_CK_ASSERT_UINT(sim, simnet_pending(sim), ==, kept);
	while (simnet_step(sim)) {
		SIM_CK_ASSERT_UINT(sim, simnet_now(sim), >=, last);
		last = simnet_now(sim);
	}
	SIM_CK_ASSERT_UINT(sim, a.ntimers, ==, kept);
	free(h);
	free(at);
	tnode_fini(&a);
	simnet_free(sim);
}
END_TEST

struct looper {
	struct simnet *sim;
	uint64_t count;
	uint64_t step_ms;
};

static void
looper_tick(void *arg)
{
	struct looper *l = arg;

	l->count++;
	simnet_timer_add(l->sim, simnet_now(l->sim) + l->step_ms, looper_tick,
	    l);
}

START_TEST(test_sim_run_bound_stops_loop)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	struct looper l = { .sim = sim, .step_ms = 0 };
	uint64_t t0 = simnet_now(sim);

	/* a timer that reschedules itself at the same instant forever */
	simnet_timer_add(sim, t0, looper_tick, &l);
	ck_assert_int_eq(simnet_run_until(sim, t0 + 1000, 5000), HY_ERANGE);
	SIM_CK_ASSERT_UINT(sim, l.count, ==, 5000);
	SIM_CK_ASSERT_UINT(sim, simnet_now(sim), ==, t0);
	ck_assert_int_eq(simnet_run_until_idle(sim, 1000, 300), HY_ERANGE);
	SIM_CK_ASSERT_UINT(sim, l.count, ==, 5300);
	simnet_free(sim);

	/* one that moves time: run_until_idle stops at its time limit */
	sim = sim_with_link(10, 0, 0, 0);
	l.sim = sim;
	l.count = 0;
	l.step_ms = 10;
	t0 = simnet_now(sim);
	simnet_timer_add(sim, t0, looper_tick, &l);
	ck_assert_int_eq(simnet_run_until_idle(sim, 1000, 0), HY_ETIMEDOUT);
	SIM_CK_ASSERT_UINT(sim, simnet_now(sim), ==, t0 + 1000);
	SIM_CK_ASSERT_UINT(sim, l.count, ==, 101);
	ck_assert_int_eq(simnet_run_for(sim, 1000, 0), HY_OK);
	SIM_CK_ASSERT_UINT(sim, l.count, ==, 201);
	SIM_CK_ASSERT_UINT(sim, simnet_now(sim), ==, t0 + 2000);
	simnet_free(sim);
}
END_TEST

/* Callbacks may send, crash themselves and may not run the simulation. */
struct echo {
	struct simnet *sim;
	uint32_t id;
	struct hy_addr addr;
	uint64_t got;
	int nested_rc;
	int crash_after;
};

static void
echo_recv(void *ctx, const struct hy_addr *from, const struct hy_addr *to,
    const uint8_t *data, size_t len)
{
	struct echo *e = ctx;

	e->got++;
	e->nested_rc = simnet_run_for(e->sim, 10, 0);
	if (e->crash_after != 0 && e->got == (uint64_t)e->crash_after) {
		simnet_node_crash(e->sim, e->id);
		return;
	}
	simnet_send(e->sim, to, from, data, len);
}

START_TEST(test_sim_callbacks_reenter)
{
	struct simnet *sim = sim_with_link(5, 3, 0, 0);
	struct echo e[2];
	struct simnet_stats st;
	uint8_t ball[16] = { 1 };

	for (int i = 0; i < 2; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].sim = sim;
		e[i].addr = simnet_addr_nth((uint32_t)i, 9000);
		e[i].id = simnet_node_add(sim, &e[i], echo_recv);
		ck_assert_int_eq(simnet_node_bind(sim, e[i].id, &e[i].addr),
		    HY_OK);
	}
	e[1].crash_after = 50;
	simnet_send(sim, &e[0].addr, &e[1].addr, ball, sizeof(ball));
	ck_assert_int_eq(simnet_run_until_idle(sim, 100000, 0), HY_OK);
	SIM_CK_ASSERT_UINT(sim, e[1].got, ==, 50);
	SIM_CK_ASSERT_UINT(sim, e[0].got, ==, 49);
	SIM_CK_ASSERT(sim, e[0].nested_rc == HY_ESTATE);
	SIM_CK_ASSERT(sim, !simnet_node_alive(sim, e[1].id));
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, st.delivered, ==, 99);
	check_conservation(sim);
	simnet_free(sim);
}
END_TEST

/* Binding and unbinding many addresses keeps the address map exact. */
START_TEST(test_sim_address_map)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	enum { N = 4000 };
	uint32_t id = simnet_node_add(sim, NULL, tnode_recv);
	struct hy_addr v6;

	for (uint32_t i = 0; i < N; i++) {
		struct hy_addr ad =
		    simnet_addr_nth(i / 4, (uint16_t)(1 + i % 4));

		ck_assert_int_eq(simnet_node_bind(sim, id, &ad), HY_OK);
	}
	for (uint32_t i = 0; i < N; i += 3) {
		struct hy_addr ad =
		    simnet_addr_nth(i / 4, (uint16_t)(1 + i % 4));

		ck_assert_int_eq(simnet_node_unbind(sim, &ad), HY_OK);
	}
	for (uint32_t i = 0; i < N; i++) {
		struct hy_addr ad =
		    simnet_addr_nth(i / 4, (uint16_t)(1 + i % 4));

		ck_assert_uint_eq(simnet_node_at(sim, &ad),
		    i % 3 == 0 ? SIMNET_NONE : id);
	}
	ck_assert_int_eq(hy_addr_parse(&v6, "[fd00::1]:7"), HY_OK);
	ck_assert_int_eq(simnet_node_bind(sim, id, &v6), HY_OK);
	ck_assert_uint_eq(simnet_node_at(sim, &v6), id);
	memset(&v6, 0, sizeof(v6));
	ck_assert_int_eq(simnet_node_bind(sim, id, &v6), HY_EINVAL);
	ck_assert_int_eq(simnet_node_crash(sim, id), HY_OK);
	for (uint32_t i = 0; i < N; i++) {
		struct hy_addr ad =
		    simnet_addr_nth(i / 4, (uint16_t)(1 + i % 4));

		ck_assert_uint_eq(simnet_node_at(sim, &ad), SIMNET_NONE);
	}
	simnet_free(sim);
}
END_TEST

START_TEST(test_sim_seed_from_env)
{
	const char *old = getenv("HY_SIM_SEED");
	char *saved = old != NULL ? strdup(old) : NULL;

	setenv("HY_SIM_SEED", "12345", 1);
	ck_assert_uint_eq(simnet_seed_from_env(7), 12345);
	setenv("HY_SIM_SEED", "0x10", 1);
	ck_assert_uint_eq(simnet_seed_from_env(7), 16);
	setenv("HY_SIM_SEED", "bogus", 1);
	ck_assert_uint_eq(simnet_seed_from_env(7), 7);
	unsetenv("HY_SIM_SEED");
	ck_assert_uint_eq(simnet_seed_from_env(7), 7);
	if (saved != NULL) {
		setenv("HY_SIM_SEED", saved, 1);
		free(saved);
	}
	ck_assert_ptr_null(simnet_new(&(struct simnet_config){ .link.loss = -1,
	                                  .max_datagram = 1,
	                                  .max_events = 1 },
	    1));
	simnet_free(NULL);
}
END_TEST

/* ---- scale: many nodes pinging each other -------------------------------- */

struct pnet;

struct pnode {
	struct pnet *net;
	uint32_t idx, id;
	struct hy_addr addr;
	uint64_t pings_left;
	uint64_t pings_sent, pings_rx, pongs_rx;
	uint64_t bad; /* datagrams of the wrong size */
};

struct pnet {
	struct simnet *sim;
	struct pnode *nodes;
	uint32_t n;
	uint64_t period_ms;
};

enum { MSG_PING = 1, MSG_PONG = 2, MSG_LEN = 64 };

static void
pnode_recv(void *ctx, const struct hy_addr *from, const struct hy_addr *to,
    const uint8_t *data, size_t len)
{
	struct pnode *p = ctx;
	uint8_t reply[MSG_LEN];

	/* no ck_assert here: Check logs every passing assertion to a file */
	if (len != MSG_LEN) {
		p->bad++;
		return;
	}
	if (data[0] == MSG_PING) {
		p->pings_rx++;
		memcpy(reply, data, len);
		reply[0] = MSG_PONG;
		simnet_send(p->net->sim, to, from, reply, len);
	} else {
		p->pongs_rx++;
	}
}

static void
pnode_tick(void *arg)
{
	struct pnode *p = arg;
	struct pnet *net = p->net;
	uint32_t peer =
	    (uint32_t)hy_rng_below(simnet_rng(net->sim), net->n - 1);
	uint8_t msg[MSG_LEN];

	if (peer >= p->idx)
		peer++; /* never self */
	memset(msg, 0, sizeof(msg));
	msg[0] = MSG_PING;
	memcpy(msg + 4, &p->idx, 4);
	memcpy(msg + 8, &p->pings_sent, 8);
	simnet_send(net->sim, &p->addr, &net->nodes[peer].addr, msg,
	    sizeof(msg));
	p->pings_sent++;
	if (--p->pings_left > 0)
		simnet_node_timer_add(net->sim, p->id,
		    simnet_now(net->sim) + net->period_ms, pnode_tick, p);
}

static uint32_t
env_u32(const char *name, uint32_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtoul(s, &end, 10);
	return (*end == '\0' && v > 1 && v < 1000000) ? (uint32_t)v : def;
}

START_TEST(test_sim_scale_ping_pong)
{
	struct simnet_config cfg;
	struct pnet net;
	struct simnet_stats st;
	struct timespec w0, w1, c0, c1;
	const uint64_t pings = 100;
	double wall, cpu;
	int rc;

	simnet_config_default(&cfg);
	cfg.link.latency_ms = 20;
	cfg.link.jitter_ms = 30;
	memset(&net, 0, sizeof(net));
	net.n = env_u32("HY_SIM_NODES", 1000);
	net.period_ms = 1800; /* 100 pings in three simulated minutes */
	net.sim = simnet_new(&cfg, test_seed());
	ck_assert_ptr_nonnull(net.sim);
	net.nodes = calloc(net.n, sizeof(*net.nodes));
	ck_assert_ptr_nonnull(net.nodes);
	clock_gettime(CLOCK_MONOTONIC, &w0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (uint32_t i = 0; i < net.n; i++) {
		struct pnode *p = &net.nodes[i];

		p->net = &net;
		p->idx = i;
		p->addr = simnet_addr_nth(i, 6881);
		p->pings_left = pings;
		p->id = simnet_node_add(net.sim, p, pnode_recv);
		ck_assert_int_eq(simnet_node_bind(net.sim, p->id, &p->addr),
		    HY_OK);
		simnet_node_timer_add(net.sim, p->id,
		    simnet_now(net.sim) +
		        hy_rng_below(simnet_rng(net.sim), net.period_ms),
		    pnode_tick, p);
	}
	rc = simnet_run_until_idle(net.sim, 10 * 60 * 1000, 0);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	wall = (double)(w1.tv_sec - w0.tv_sec) +
	    (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
	cpu = (double)(c1.tv_sec - c0.tv_sec) +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	simnet_stats(net.sim, &st);
	printf("test_sim_scale_ping_pong: %" PRIu32 " nodes, %" PRIu64
	       " datagrams, %" PRIu64 " events, %" PRIu64
	       " simulated ms, %.3f s wall, %.3f s cpu (seed=%" PRIu64 ")\n",
	    net.n, st.delivered, st.events, simnet_now(net.sim) - cfg.start_ms,
	    wall, cpu, simnet_seed(net.sim));
	fflush(stdout);
	SIM_CK_ASSERT(net.sim, rc == HY_OK);
	SIM_CK_ASSERT_UINT(net.sim, st.delivered, ==, 2 * pings * net.n);
	SIM_CK_ASSERT_UINT(net.sim, st.sent, ==, 2 * pings * net.n);
	SIM_CK_ASSERT_UINT(net.sim, st.timers_fired, ==, pings * net.n);
	{
		uint64_t rx = 0;

		for (uint32_t i = 0; i < net.n; i++) {
			SIM_CK_ASSERT_UINT(net.sim, net.nodes[i].pings_sent, ==,
			    pings);
			SIM_CK_ASSERT_UINT(net.sim, net.nodes[i].pongs_rx, ==,
			    pings);
			SIM_CK_ASSERT_UINT(net.sim, net.nodes[i].bad, ==, 0);
			rx += net.nodes[i].pings_rx;
		}
		SIM_CK_ASSERT_UINT(net.sim, rx, ==, pings * net.n);
	}
	/* three simulated minutes plus the last round trip, not more */
	SIM_CK_ASSERT_UINT(net.sim, simnet_now(net.sim) - cfg.start_ms, <,
	    pings * net.period_ms + 200);
	check_conservation(net.sim);
	free(net.nodes);
	simnet_free(net.sim);
}
END_TEST

/* ---- scale: a million pending timers ------------------------------------- */

struct mtimer {
	struct simnet *sim;
	uint64_t fired, backwards, last;
};

static void
mtimer_fire(void *arg)
{
	struct mtimer *m = arg;
	uint64_t now = simnet_now(m->sim);

	/* no ck_assert here: Check logs every passing assertion to a file */
	if (now < m->last)
		m->backwards++;
	m->last = now;
	m->fired++;
}

START_TEST(test_sim_scale_million_events)
{
	struct simnet *sim = sim_with_link(10, 0, 0, 0);
	uint32_t n = env_u32("HY_SIM_EVENTS", 1000000), nodes = 1000;
	uint64_t *h = calloc(n, sizeof(*h)), cancelled = 0;
	struct mtimer m = { .sim = sim };
	struct hy_rng *rng = simnet_rng(sim);
	struct simnet_stats st;
	struct timespec c0, c1;
	double cpu;

	ck_assert_ptr_nonnull(h);
	for (uint32_t i = 0; i < nodes; i++)
		ck_assert_uint_eq(simnet_node_add(sim, NULL, tnode_recv), i);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (uint32_t i = 0; i < n; i++) {
		h[i] = simnet_node_timer_add(sim, i % nodes,
		    simnet_now(sim) + hy_rng_below(rng, 1000000), mtimer_fire,
		    &m);
		if (h[i] == 0)
			break;
	}
	SIM_CK_ASSERT_UINT(sim, simnet_pending(sim), ==, n);
	for (uint32_t i = 0; i < n; i += 10)
		cancelled += simnet_timer_cancel(sim, h[i]);
	ck_assert_int_eq(simnet_run_until_idle(sim, 2000000, 0), HY_OK);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	cpu = (double)(c1.tv_sec - c0.tv_sec) +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	printf("test_sim_scale_million_events: %" PRIu32
	       " timers, %.3f s cpu (seed=%" PRIu64 ")\n",
	    n, cpu, simnet_seed(sim));
	fflush(stdout);
	simnet_stats(sim, &st);
	SIM_CK_ASSERT_UINT(sim, cancelled, ==, (n + 9) / 10);
	SIM_CK_ASSERT_UINT(sim, m.fired, ==, n - cancelled);
	SIM_CK_ASSERT_UINT(sim, st.timers_fired, ==, n - cancelled);
	SIM_CK_ASSERT_UINT(sim, m.backwards, ==, 0);
	free(h);
	simnet_free(sim);
}
END_TEST

static Suite *
sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sim_delivery_exact_latency);
	tcase_add_test(tc, test_sim_same_time_fifo);
	tcase_add_test(tc, test_sim_jitter_within_bounds);
	tcase_add_test(tc, test_sim_determinism);
	tcase_add_test(tc, test_sim_loss_rate);
	tcase_add_test(tc, test_sim_duplication);
	tcase_add_test(tc, test_sim_link_override);
	tcase_add_test(tc, test_sim_partition_and_heal);
	tcase_add_test(tc, test_sim_oversize_dropped);
	tcase_add_test(tc, test_sim_in_flight_bound);
	tcase_add_test(tc, test_sim_crash_drops_in_flight);
	tcase_add_test(tc, test_sim_freeze_and_resume);
	tcase_add_test(tc, test_sim_freeze_extends);
	tcase_add_test(tc, test_sim_timer_cancel);
	tcase_add_test(tc, test_sim_timer_cancel_many);
	tcase_add_test(tc, test_sim_run_bound_stops_loop);
	tcase_add_test(tc, test_sim_callbacks_reenter);
	tcase_add_test(tc, test_sim_address_map);
	tcase_add_test(tc, test_sim_seed_from_env);
	suite_add_tcase(s, tc);

	/* CK_RUN_CASE=scale runs it alone (e.g. for timing) */
	tc = tcase_create("scale");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_sim_scale_ping_pong);
	tcase_add_test(tc, test_sim_scale_million_events);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sim_suite());
	int failed;

	printf("check_sim: seed=%" PRIu64 " (set HY_SIM_SEED to replay)\n",
	    test_seed());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
