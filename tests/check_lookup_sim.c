/*
 * check_lookup_sim.c: the iterative lookup (src/lookup.c) run over many
 * simulated nodes on the in-memory network with a fake clock (tests/sim,
 * doc/SIMULATION.md).
 *
 * The world: N nodes (HY_SIM_NODES, default 1000; 200 under valgrind) with
 * random IDs, each with a struct hy_rtable filled the way a long-running
 * node's would be: every other node is offered to it once as a REPLY, in a
 * random order per node, and the table keeps what its buckets (k = 20,
 * splitting own bucket) and replacement caches allow. The tables are not
 * changed afterwards: the responders do not learn from queries, so after
 * the crash test's kill nothing is repaired.
 *
 * Each node runs a tiny responder: a request datagram (a test encoding,
 * not the wire codec) is answered with hy_rtable_closest(target, k), and,
 * for FIND_VALUE, a "have it" flag when the node stores the key. Lookups
 * are driven from random origins through hy_lookup_next / _reply / _tick
 * with driver timers at hy_lookup_next_deadline. Links: 20 ms + [0, 60] ms
 * one way.
 *
 * The tests: FIND_NODE exactness against the brute-force K closest (also
 * with 2% loss and no retries), FIND_VALUE for keys stored on their K
 * closest, and the same after 30% of the nodes crash at once. The figures
 * (exactness, hops, messages, post-crash success and lookup time) are
 * printed for the DHT notes. Every simulation takes its seed from
 * HY_SIM_SEED (default SIMNET_DEFAULT_SEED) and the SIM_CK_* assertions
 * print it on failure.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "lookup.h"
#include "rtable.h"
#include "simcheck.h"
#include "simnet.h"

#define K 20
#define PORT 6881
#define MSG_FIND_NODE 1
#define MSG_FIND_VALUE 2
#define MSG_REPLY 3
/* type, txid (4), target or responder ID (32) */
#define MSG_HDR (1 + 4 + HY_ID_LEN)
/* a reply adds: have-value flag, count, count * (ID, IPv4 address) */
#define MSG_CONTACT (HY_ID_LEN + HY_ADDR_V4_WIRELEN)

struct world;

struct snode {
	struct world *w;
	uint32_t idx;
	uint32_t sid; /* simnet node id */
	struct hy_id id;
	struct hy_addr addr;
	struct hy_rtable *rt;
	bool dead;
};

struct skey {
	struct hy_id id;
	uint32_t holders[K]; /* its K closest nodes when it was stored */
};

/* One lookup through the network. */
struct run {
	struct world *w;
	struct hy_lookup *lk;
	uint32_t origin;
	struct hy_id target;
	enum hy_lookup_kind kind;
	uint64_t timer; /* pending driver timer, 0 if none */
	uint64_t timer_at;
	bool started, finished, got_value;
	/* outcome */
	enum hy_lookup_status status;
	struct hy_lookup_stats st;
	unsigned nres;
	unsigned exact; /* results that are among the true K closest */
	unsigned closest_hop; /* hop of the closest result */
	uint32_t truth[K];
	unsigned ntruth;
};

struct world {
	struct simnet *sim;
	struct snode *n;
	uint32_t nn;
	struct skey *keys; /* sorted by ID, for the responders' bsearch */
	size_t nkeys;
	struct run *runs;
	size_t nruns;
	uint64_t late_replies; /* for a lookup already finished */
	uint64_t bad_msgs; /* should stay 0 */
};

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

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
key_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;

	return hy_id_cmp(&x->id, &y->id);
}

static const struct skey *
key_find(const struct world *w, const struct hy_id *id)
{
	struct skey k;

	k.id = *id;
	return bsearch(&k, w->keys, w->nkeys, sizeof(k), key_cmp);
}

static bool
key_held_by(const struct skey *k, uint32_t idx)
{
	for (int i = 0; i < K; i++)
		if (k->holders[i] == idx)
			return true;
	return false;
}

/* ---- the responder ------------------------------------------------------- */

static void
respond(struct snode *s, const struct hy_addr *from, const uint8_t *data,
    size_t len)
{
	struct hy_rtable_contact c[K];
	uint8_t out[MSG_HDR + 2 + K * MSG_CONTACT];
	struct hy_id target;
	const struct skey *key;
	size_t n, off;

	if (len != MSG_HDR) {
		s->w->bad_msgs++;
		return;
	}
	memcpy(target.b, data + 5, HY_ID_LEN);
	n = hy_rtable_closest(s->rt, &target, K, c, 0, simnet_now(s->w->sim));
	out[0] = MSG_REPLY;
	memcpy(out + 1, data + 1, 4); /* txid */
	memcpy(out + 5, s->id.b, HY_ID_LEN);
	key = data[0] == MSG_FIND_VALUE ? key_find(s->w, &target) : NULL;
	out[MSG_HDR] = key != NULL && key_held_by(key, s->idx);
	out[MSG_HDR + 1] = (uint8_t)n;
	off = MSG_HDR + 2;
	for (size_t i = 0; i < n; i++) {
		memcpy(out + off, c[i].id.b, HY_ID_LEN);
		if (hy_addr_pack(&c[i].addr, out + off + HY_ID_LEN) !=
		    HY_ADDR_V4_WIRELEN)
			s->w->bad_msgs++;
		off += MSG_CONTACT;
	}
	simnet_send(s->w->sim, &s->addr, from, out, off);
}

/* ---- the lookup driver --------------------------------------------------- */

static void run_pump(struct run *r);

static void
run_timer(void *arg)
{
	struct run *r = arg;

	r->timer = 0;
	r->timer_at = 0;
	if (r->lk == NULL)
		return;
	hy_lookup_tick(r->lk, simnet_now(r->w->sim));
	run_pump(r);
}

static void
run_finish(struct run *r)
{
	struct hy_lookup_peer res[K];

	r->status = hy_lookup_status(r->lk);
	hy_lookup_stats(r->lk, &r->st);
	r->nres = (unsigned)hy_lookup_results(r->lk, res, K);
	/* Sorted both: a result is exact when it is one of the true K. */
	r->exact = 0;
	for (unsigned i = 0; i < r->nres; i++)
		for (unsigned j = 0; j < r->ntruth; j++)
			if (hy_id_eq(&res[i].id, &r->w->n[r->truth[j]].id)) {
				r->exact++;
				break;
			}
	r->closest_hop = r->nres > 0 ? res[0].hop : 0;
	if (r->timer != 0)
		simnet_timer_cancel(r->w->sim, r->timer);
	r->timer = 0;
	hy_lookup_free(r->lk);
	r->lk = NULL;
	r->finished = true;
}

/* Send what the lookup wants, then wait for its next deadline. */
static void
run_pump(struct run *r)
{
	struct world *w = r->w;
	struct snode *o = &w->n[r->origin];
	struct hy_lookup_peer q[8];
	uint8_t msg[MSG_HDR];
	uint64_t now = simnet_now(w->sim), d;
	size_t m;

	msg[0] =
	    r->kind == HY_LOOKUP_FIND_NODE ? MSG_FIND_NODE : MSG_FIND_VALUE;
	put32(msg + 1, (uint32_t)(r - w->runs));
	memcpy(msg + 5, r->target.b, HY_ID_LEN);
	while ((m = hy_lookup_next(r->lk, now, q, 8)) > 0)
		for (size_t i = 0; i < m; i++)
			simnet_send(w->sim, &o->addr, &q[i].addr, msg,
			    sizeof(msg));
	if (hy_lookup_status(r->lk) != HY_LOOKUP_RUNNING) {
		run_finish(r);
		return;
	}
	d = hy_lookup_next_deadline(r->lk);
	if (d == r->timer_at)
		return;
	if (r->timer != 0)
		simnet_timer_cancel(w->sim, r->timer);
	r->timer_at = d;
	r->timer = simnet_timer_add(w->sim, d, run_timer, r);
}

static void
on_reply(struct world *w, const uint8_t *data, size_t len)
{
	struct hy_lookup_contact c[K];
	struct hy_id from;
	struct run *r;
	uint32_t txid;
	size_t n;
	unsigned values = 0;

	if (len < MSG_HDR + 2) {
		w->bad_msgs++;
		return;
	}
	txid = get32(data + 1);
	n = data[MSG_HDR + 1];
	if (txid >= w->nruns || n > K || len != MSG_HDR + 2 + n * MSG_CONTACT) {
		w->bad_msgs++;
		return;
	}
	r = &w->runs[txid];
	if (r->lk == NULL) {
		w->late_replies++;
		return;
	}
	memcpy(from.b, data + 5, HY_ID_LEN);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = data + MSG_HDR + 2 + i * MSG_CONTACT;

		memcpy(c[i].id.b, p, HY_ID_LEN);
		if (hy_addr_unpack(&c[i].addr, p + HY_ID_LEN,
		        HY_ADDR_V4_WIRELEN) != HY_OK)
			w->bad_msgs++;
	}
	/* Every holder stores the same value: only the first is new. */
	if (data[MSG_HDR] != 0 && !r->got_value) {
		values = 1;
		r->got_value = true;
	}
	(void)hy_lookup_reply(r->lk, &from, simnet_now(w->sim), c, n, values);
	run_pump(r);
}

static void
node_recv(void *ctx, const struct hy_addr *from, const struct hy_addr *to,
    const uint8_t *data, size_t len)
{
	struct snode *s = ctx;

	(void)to;
	if (len == 0) {
		s->w->bad_msgs++;
		return;
	}
	if (data[0] == MSG_FIND_NODE || data[0] == MSG_FIND_VALUE)
		respond(s, from, data, len);
	else if (data[0] == MSG_REPLY)
		on_reply(s->w, data, len);
	else
		s->w->bad_msgs++;
}

static void
run_start(void *arg)
{
	struct run *r = arg;
	struct world *w = r->w;
	struct snode *o = &w->n[r->origin];
	struct hy_rtable_contact seeds[K];
	struct hy_lookup_config cfg;
	uint64_t now = simnet_now(w->sim);
	size_t n;

	hy_lookup_config_default(&cfg);
	cfg.k = K;
	if (hy_lookup_new(&r->lk, &r->target, r->kind, &cfg, now) != HY_OK ||
	    hy_lookup_set_self(r->lk, &o->id) != HY_OK) {
		w->bad_msgs++;
		return;
	}
	r->started = true;
	n = hy_rtable_closest(o->rt, &r->target, K, seeds, 0, now);
	for (size_t i = 0; i < n; i++)
		(void)hy_lookup_add(r->lk, &seeds[i].id, &seeds[i].addr, 0);
	run_pump(r);
}

/* ---- the world ----------------------------------------------------------- */

/* The K nodes closest to target (skipping `except`), nearest first. */
static unsigned
true_closest(const struct world *w, const struct hy_id *target, uint32_t except,
    uint32_t out[K])
{
	unsigned m = 0;

	for (uint32_t i = 0; i < w->nn; i++) {
		unsigned j;

		if (i == except)
			continue;
		if (m == K &&
		    hy_id_cmp_dist(target, &w->n[i].id, &w->n[out[K - 1]].id) >=
		        0)
			continue;
		j = m < K ? m++ : K - 1;
		while (j > 0 &&
		    hy_id_cmp_dist(target, &w->n[i].id, &w->n[out[j - 1]].id) <
		        0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = i;
	}
	return m;
}

static struct world *
world_new(uint32_t nn, size_t nruns)
{
	struct simnet_config scfg;
	struct hy_rtable_config rcfg;
	struct world *w = calloc(1, sizeof(*w));
	struct hy_rng *rng;
	uint32_t *perm;
	uint64_t now;

	ck_assert_ptr_nonnull(w);
	simnet_config_default(&scfg);
	scfg.link.latency_ms = 20;
	scfg.link.jitter_ms = 60;
	w->sim = simnet_new(&scfg, simnet_seed_from_env(SIMNET_DEFAULT_SEED));
	ck_assert_ptr_nonnull(w->sim);
	rng = simnet_rng(w->sim);
	now = simnet_now(w->sim);
	w->nn = nn;
	w->n = calloc(nn, sizeof(*w->n));
	w->runs = calloc(nruns, sizeof(*w->runs));
	perm = calloc(nn, sizeof(*perm));
	ck_assert(w->n != NULL && w->runs != NULL && perm != NULL);
	w->nruns = nruns;
	hy_rtable_config_default(&rcfg);
	rcfg.k = K;
	rcfg.allow_local = true; /* 10.x.y.z addresses */
	for (uint32_t i = 0; i < nn; i++) {
		struct snode *s = &w->n[i];

		s->w = w;
		s->idx = i;
		hy_rng_bytes(rng, s->id.b, HY_ID_LEN);
		s->addr = simnet_addr_nth(i, PORT);
		s->sid = simnet_node_add(w->sim, s, node_recv);
		ck_assert_uint_ne(s->sid, SIMNET_NONE);
		ck_assert_int_eq(simnet_node_bind(w->sim, s->sid, &s->addr),
		    HY_OK);
		ck_assert_int_eq(hy_rtable_new(&s->rt, &s->id, &rcfg, now),
		    HY_OK);
		perm[i] = i;
	}
	for (uint32_t i = 0; i < nn; i++) {
		/* Every other node, in a random order per node. */
		for (uint32_t j = nn - 1; j > 0; j--) {
			uint32_t x = (uint32_t)hy_rng_below(rng, j + 1), t;

			t = perm[j];
			perm[j] = perm[x];
			perm[x] = t;
		}
		for (uint32_t j = 0; j < nn; j++) {
			const struct snode *o = &w->n[perm[j]];

			if (perm[j] != i)
				(void)hy_rtable_heard(w->n[i].rt, &o->id,
				    &o->addr, HY_RTABLE_REPLY, now);
		}
	}
	free(perm);
	return w;
}

static void
world_free(struct world *w)
{
	for (size_t i = 0; i < w->nruns; i++)
		hy_lookup_free(w->runs[i].lk);
	for (uint32_t i = 0; i < w->nn; i++)
		hy_rtable_free(w->n[i].rt);
	simnet_free(w->sim);
	free(w->keys);
	free(w->runs);
	free(w->n);
	free(w);
}

static uint32_t
random_live(struct world *w)
{
	uint32_t i;

	do
		i = (uint32_t)hy_rng_below(simnet_rng(w->sim), w->nn);
	while (w->n[i].dead);
	return i;
}

/* Store nkeys random keys on their K closest nodes (w->keys, sorted). */
static void
world_store_keys(struct world *w, size_t nkeys)
{
	w->keys = calloc(nkeys, sizeof(*w->keys));
	ck_assert_ptr_nonnull(w->keys);
	w->nkeys = nkeys;
	for (size_t i = 0; i < nkeys; i++) {
		hy_rng_bytes(simnet_rng(w->sim), w->keys[i].id.b, HY_ID_LEN);
		ck_assert_uint_eq(true_closest(w, &w->keys[i].id, UINT32_MAX,
		                      w->keys[i].holders),
		    K);
	}
	qsort(w->keys, nkeys, sizeof(*w->keys), key_cmp);
}

/*
 * Start run i (target, kind) from `origin` at `at_ms`; with truth, record
 * the true K closest to compare the results with.
 */
static void
run_setup(struct world *w, size_t i, uint32_t origin,
    const struct hy_id *target, enum hy_lookup_kind kind, uint64_t at_ms,
    bool truth)
{
	struct run *r = &w->runs[i];

	r->w = w;
	r->origin = origin;
	r->target = *target;
	r->kind = kind;
	if (truth)
		r->ntruth = true_closest(w, target, origin, r->truth);
	ck_assert_uint_ne(simnet_timer_add(w->sim, at_ms, run_start, r), 0);
}

/* Run everything; every lookup must have finished (none stalls). */
static void
world_run(struct world *w)
{
	SIM_CK_ASSERT_UINT(w->sim,
	    simnet_run_until_idle(w->sim, 3600 * 1000, 0), ==, 0);
	for (size_t i = 0; i < w->nruns; i++)
		SIM_CK_ASSERT(w->sim,
		    w->runs[i].started && w->runs[i].finished);
	SIM_CK_ASSERT_UINT(w->sim, w->bad_msgs, ==, 0);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median and p99 of v[0..n-1] (sorts v). */
static void
pct(uint64_t *v, size_t n, uint64_t *p50, uint64_t *p99)
{
	qsort(v, n, sizeof(*v), u64_cmp);
	*p50 = n > 0 ? v[n / 2] : 0;
	*p99 = n > 0 ? v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0;
}

/* ---- the tests ----------------------------------------------------------- */

#define NLOOKUPS 200

/*
 * NLOOKUPS FIND_NODE lookups from random nodes for random targets, compared
 * with the true K closest; prints the figures under `label`. Returns the
 * number of exact results (of *total) and of converged lookups (*done).
 */
static uint64_t
find_node_round(struct world *w, const char *label, uint64_t *total,
    unsigned *done)
{
	uint64_t base, hops[NLOOKUPS], msgs[NLOOKUPS], maxhop[NLOOKUPS];
	uint64_t ms[NLOOKUPS], t50, t99;
	uint64_t h50, h99, m50, m99, x50, x99, exact = 0;
	unsigned full = 0;
	struct simnet_stats st;
	double t1 = wall_s();

	*total = 0;
	*done = 0;
	base = simnet_now(w->sim);
	for (size_t i = 0; i < NLOOKUPS; i++) {
		struct hy_id t;

		hy_rng_bytes(simnet_rng(w->sim), t.b, HY_ID_LEN);
		run_setup(w, i, random_live(w), &t, HY_LOOKUP_FIND_NODE,
		    base + 10 * i, true);
	}
	world_run(w);
	for (size_t i = 0; i < NLOOKUPS; i++) {
		struct run *r = &w->runs[i];

		exact += r->exact;
		*total += r->ntruth;
		full += r->exact == r->ntruth;
		*done += r->status == HY_LOOKUP_DONE;
		hops[i] = r->closest_hop;
		maxhop[i] = r->st.max_hop;
		msgs[i] = r->st.requests;
		ms[i] = r->st.finished_ms - r->st.started_ms;
	}
	pct(hops, NLOOKUPS, &h50, &h99);
	pct(ms, NLOOKUPS, &t50, &t99);
	pct(maxhop, NLOOKUPS, &x50, &x99);
	pct(msgs, NLOOKUPS, &m50, &m99);
	simnet_stats(w->sim, &st);
	printf("lookup_sim: %s: N=%" PRIu32 " lookups=%d: exact results "
	       "%.2f%% (%" PRIu64 "/%" PRIu64 "), lookups fully exact %u, "
	       "converged %u\n",
	    label, w->nn, NLOOKUPS, 100.0 * (double)exact / (double)*total,
	    exact, *total, full, *done);
	printf("lookup_sim: %s: hops to closest median %" PRIu64 " p99 %" PRIu64
	       "; deepest hop queried median %" PRIu64 " p99 %" PRIu64
	       "; queries/lookup median %" PRIu64 " p99 %" PRIu64
	       "; datagrams/lookup %.1f\n",
	    label, h50, h99, x50, x99, m50, m99, (double)st.sent / NLOOKUPS);
	printf("lookup_sim: %s: time median %" PRIu64 " ms p99 %" PRIu64
	       " ms; %.2f s wall\n",
	    label, t50, t99, wall_s() - t1);
	return exact;
}

/*
 * (a) FIND_NODE from random nodes for random targets converges on the true
 * K closest; (c) hops and messages per lookup.
 */
START_TEST(test_lookup_sim_find_node_exact)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	double t0 = wall_s();
	struct world *w = world_new(nn, NLOOKUPS);
	uint64_t exact, total;
	unsigned done;

	printf("lookup_sim: setup of %" PRIu32 " nodes: %.2f s wall\n", nn,
	    wall_s() - t0);
	exact = find_node_round(w, "find_node", &total, &done);
	SIM_CK_ASSERT_UINT(w->sim, done, ==, NLOOKUPS);
	SIM_CK_ASSERT_UINT(w->sim, exact * 100, >=, total * 99);
	world_free(w);
}
END_TEST

/*
 * The same with 2% of datagrams lost each way and no retransmission (that
 * is the RPC layer's job): a lost query or reply makes one of the true
 * closest fail, so exactness drops; the lookups must still converge.
 */
START_TEST(test_lookup_sim_find_node_lossy)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	struct world *w = world_new(nn, NLOOKUPS);
	struct simnet_link l = { 20, 60, 0.02, 0 };
	uint64_t exact, total;
	unsigned done;

	ck_assert_int_eq(simnet_set_default_link(w->sim, &l), HY_OK);
	exact = find_node_round(w, "find_node 2% loss", &total, &done);
	SIM_CK_ASSERT_UINT(w->sim, done, ==, NLOOKUPS);
	SIM_CK_ASSERT_UINT(w->sim, exact * 100, >=, total * 90);
	world_free(w);
}
END_TEST

/* (b) FIND_VALUE finds a holder of every stored key; (c) its hops. */
START_TEST(test_lookup_sim_find_value)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	struct world *w = world_new(nn, NLOOKUPS);
	uint64_t base, hops[NLOOKUPS], msgs[NLOOKUPS], ms[NLOOKUPS];
	uint64_t h50, h99, m50, m99, t50, t99;
	unsigned found = 0;

	world_store_keys(w, NLOOKUPS);
	base = simnet_now(w->sim);
	for (size_t i = 0; i < NLOOKUPS; i++) {
		const struct skey *k = &w->keys[i];
		uint32_t o;

		do
			o = random_live(w);
		while (key_held_by(k, o));
		run_setup(w, i, o, &k->id, HY_LOOKUP_FIND_VALUE, base + 10 * i,
		    false);
	}
	world_run(w);
	for (size_t i = 0; i < NLOOKUPS; i++) {
		struct run *r = &w->runs[i];

		found += r->status == HY_LOOKUP_DONE_FOUND;
		hops[i] = r->st.found_hop >= 0 ? (uint64_t)r->st.found_hop
		                               : UINT32_MAX;
		msgs[i] = r->st.requests;
		ms[i] = r->st.finished_ms - r->st.started_ms;
	}
	pct(hops, NLOOKUPS, &h50, &h99);
	pct(msgs, NLOOKUPS, &m50, &m99);
	pct(ms, NLOOKUPS, &t50, &t99);
	printf("lookup_sim: find_value: N=%" PRIu32 " keys=%d: found %u "
	       "(%.1f%%); hops to value median %" PRIu64 " p99 %" PRIu64
	       "; queries/lookup median %" PRIu64 " p99 %" PRIu64
	       "; time median %" PRIu64 " ms p99 %" PRIu64 " ms\n",
	    nn, NLOOKUPS, found, 100.0 * found / NLOOKUPS, h50, h99, m50, m99,
	    t50, t99);
	SIM_CK_ASSERT_UINT(w->sim, found, ==, NLOOKUPS);
	world_free(w);
}
END_TEST

/*
 * (d) Kill 30% of the nodes at once, repair nothing, and look up keys
 * stored on their K closest: a live holder is found for >= 99.9% of them,
 * and every lookup ends (found, done or timed out) instead of stalling.
 * NMISSING lookups for keys nobody stores must converge (DONE) or time
 * out, never hang.
 */
#define NMISSING 100

START_TEST(test_lookup_sim_after_crash)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000);
	size_t nk = env_u32("HY_SIM_KEYS", 1000);
	struct world *w = world_new(nn, nk + NMISSING);
	uint64_t *hops = calloc(nk, sizeof(uint64_t));
	uint64_t *msgs = calloc(nk, sizeof(uint64_t));
	uint64_t *ms = calloc(nk, sizeof(uint64_t));
	uint64_t h50, h99, m50, m99, t50, t99, tmax = 0, base;
	unsigned found = 0, by_status[5] = { 0 }, killed = 0, live_holder = 0;
	unsigned miss_status[5] = { 0 };
	uint64_t mq[NMISSING], mt[NMISSING], mq50, mq99, mt50, mt99;
	uint64_t soft = 0, hard = 0;
	struct hy_lookup_config dcfg;

	ck_assert(hops != NULL && msgs != NULL && ms != NULL);
	hy_lookup_config_default(&dcfg);
	world_store_keys(w, nk);
	while (killed < nn * 3 / 10) {
		uint32_t i = random_live(w);

		ck_assert_int_eq(simnet_node_crash(w->sim, w->n[i].sid), HY_OK);
		w->n[i].dead = true;
		killed++;
	}
	base = simnet_now(w->sim);
	for (size_t i = 0; i < nk; i++) {
		const struct skey *k = &w->keys[i];
		uint32_t o;

		for (int j = 0; j < K; j++)
			if (!w->n[k->holders[j]].dead) {
				live_holder++;
				break;
			}
		do
			o = random_live(w);
		while (key_held_by(k, o));
		run_setup(w, i, o, &k->id, HY_LOOKUP_FIND_VALUE, base + 5 * i,
		    false);
	}
	for (size_t i = nk; i < nk + NMISSING; i++) {
		struct hy_id t;

		hy_rng_bytes(simnet_rng(w->sim), t.b, HY_ID_LEN);
		run_setup(w, i, random_live(w), &t, HY_LOOKUP_FIND_VALUE,
		    base + 5 * i, false);
	}
	world_run(w);
	for (size_t i = nk; i < nk + NMISSING; i++) {
		struct run *r = &w->runs[i];
		uint64_t t = r->st.finished_ms - r->st.started_ms;

		miss_status[r->status]++;
		mq[i - nk] = r->st.requests;
		mt[i - nk] = t;
	}
	pct(mq, NMISSING, &mq50, &mq99);
	pct(mt, NMISSING, &mt50, &mt99);
	for (size_t i = 0; i < nk; i++) {
		struct run *r = &w->runs[i];

		found += r->status == HY_LOOKUP_DONE_FOUND;
		by_status[r->status]++;
		hops[i] = r->st.found_hop >= 0 ? (uint64_t)r->st.found_hop
		                               : UINT32_MAX;
		msgs[i] = r->st.requests;
		ms[i] = r->st.finished_ms - r->st.started_ms;
		if (ms[i] > tmax)
			tmax = ms[i];
		soft += r->st.soft_timeouts;
		hard += r->st.timeouts;
	}
	pct(hops, nk, &h50, &h99);
	pct(msgs, nk, &m50, &m99);
	pct(ms, nk, &t50, &t99);
	printf("lookup_sim: after killing %u of %" PRIu32 " nodes: keys=%zu "
	       "(with a live holder %u): found %u (%.2f%%); done %u, no peers "
	       "%u, timed out %u\n",
	    killed, nn, nk, live_holder, found, 100.0 * found / (double)nk,
	    by_status[HY_LOOKUP_DONE], by_status[HY_LOOKUP_NO_PEERS],
	    by_status[HY_LOOKUP_TIMED_OUT]);
	printf("lookup_sim: after kill: hops to value median %" PRIu64
	       " p99 %" PRIu64 "; queries/lookup median %" PRIu64
	       " p99 %" PRIu64 "; time median %" PRIu64 " ms p99 %" PRIu64
	       " ms max %" PRIu64 " ms; soft timeouts/lookup %.1f, hard "
	       "%.1f\n",
	    h50, h99, m50, m99, t50, t99, tmax, (double)soft / (double)nk,
	    (double)hard / (double)nk);
	printf("lookup_sim: after kill: %d lookups for keys nobody stores: "
	       "done %u, timed out %u, no peers %u; queries/lookup median "
	       "%" PRIu64 " p99 %" PRIu64 "; time median %" PRIu64
	       " ms p99 %" PRIu64 " ms max %" PRIu64 " ms\n",
	    NMISSING, miss_status[HY_LOOKUP_DONE],
	    miss_status[HY_LOOKUP_TIMED_OUT], miss_status[HY_LOOKUP_NO_PEERS],
	    mq50, mq99, mt50, mt99, mt[NMISSING - 1]);
	SIM_CK_ASSERT_UINT(w->sim, (uint64_t)found * 1000, >=,
	    (uint64_t)nk * 999);
	SIM_CK_ASSERT_UINT(w->sim, miss_status[HY_LOOKUP_DONE_FOUND], ==, 0);
	SIM_CK_ASSERT_UINT(w->sim, miss_status[HY_LOOKUP_RUNNING], ==, 0);
	/* Clean ends: nothing runs past the overall timeout. */
	SIM_CK_ASSERT_UINT(w->sim, tmax, <=, dcfg.timeout_ms);
	SIM_CK_ASSERT_UINT(w->sim, mt[NMISSING - 1], <=, dcfg.timeout_ms);
	free(hops);
	free(msgs);
	free(ms);
	world_free(w);
}
END_TEST

static Suite *
lookup_sim_suite(void)
{
	Suite *s = suite_create("lookup_sim");
	TCase *tc = tcase_create("sim");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_lookup_sim_find_node_exact);
	tcase_add_test(tc, test_lookup_sim_find_node_lossy);
	tcase_add_test(tc, test_lookup_sim_find_value);
	tcase_add_test(tc, test_lookup_sim_after_crash);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lookup_sim_suite());
	int failed;

	printf("check_lookup_sim: seed=%" PRIu64 " (set HY_SIM_SEED to "
	       "replay)\n",
	    simnet_seed_from_env(SIMNET_DEFAULT_SEED));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
