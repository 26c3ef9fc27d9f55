/*
 * check_dht_sim.c: the DHT node (src/dht*.c) on many simulated nodes over
 * the in-memory network with a fake clock (tests/sim, doc/SIMULATION.md).
 *
 * Each node is a struct hy_dht behind a small host shim: requests and
 * replies travel as wire envelopes (hy_msg_encode / hy_msg_decode on the
 * datagram path, no signatures: the sim trusts the envelope's sender), the
 * shim matches replies by txid and times requests out on the fake clock
 * with one node timer per request, and a node timer follows
 * hy_dht_next_deadline. Links: 20 ms + [0, 60] ms one way.
 *
 * The world: N nodes (HY_SIM_NODES, default 1000) with random IDs join one
 * after another through node 0 (hy_dht_bootstrap), then run maintenance for
 * a few simulated minutes. Then:
 *  (a) nkeys puts (1000; fewer for small N) of distinct keys from random
 *      nodes, then a get of every key from another random node: all must
 *      succeed; median / p99 hops and messages per get are printed;
 *  (b) 30% of the nodes crash at once; the clock runs for the replication
 *      interval (10 simulated minutes, value TTL 1 h); a get of every key
 *      from a random live node: >= 99.9% must be found; rate, hops and
 *      lookup time are printed;
 *  (c) (between a and b) 100 announces (20 for small N) from random
 *      nodes, then get_peers from other random nodes: every one must
 *      find the announcer's address and port.
 * A second run puts and gets 300 keys over 500 nodes with 2% datagram loss
 * on every link (no retries): >= 99% of the gets must succeed.
 * Seeds from HY_SIM_SEED (default SIMNET_DEFAULT_SEED); SIM_CK_* assertions
 * print it on failure.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "dht.h"
#include "simcheck.h"
#include "simnet.h"
#include "wire.h"

#define PORT 6881
#define REQ_TIMEOUT_MS 2000
#define MAX_PENDING 1024
#define REPL_MS (10 * 60 * 1000)
#define VALUE_TTL_S 3600

struct world;

struct snode;

struct sreq {
	struct snode *s;
	uint32_t slot;
	uint64_t cookie;
	uint64_t timer;
	struct hy_addr to;
	uint16_t gen;
	bool used;
};

struct snode {
	struct world *w;
	uint32_t idx;
	uint32_t sid;
	struct hy_id id;
	struct hy_addr addr;
	struct hy_dht *dht;
	uint64_t timer, timer_at;
	struct sreq req[MAX_PENDING];
	uint32_t nfree;
	uint16_t free_[MAX_PENDING];
	bool dead;
};

/* One get in flight or done. */
struct op {
	struct world *w;
	uint32_t key;
	bool done, found, put_ok;
	unsigned values;
	enum hy_dht_status status;
	struct hy_dht_op_info info;
};

struct world {
	struct simnet *sim;
	struct snode *n;
	uint32_t nn;
	struct hy_id *keys;
	uint32_t nkeys;
	struct op *ops;
	uint64_t bad; /* undecodable datagrams, unexpected replies */
	uint64_t msgs; /* datagrams sent by shims */
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

/* ---- the host shim --------------------------------------------------------
 */

static void node_timer(void *arg);

/* Follow the DHT's deadline with one node timer. */
static void
resched(struct snode *s)
{
	uint64_t d, now = simnet_now(s->w->sim);

	if (s->dead)
		return;
	d = hy_dht_next_deadline(s->dht);
	if (d < now)
		d = now;
	if (s->timer != 0 && s->timer_at <= d)
		return;
	if (s->timer != 0)
		simnet_timer_cancel(s->w->sim, s->timer);
	s->timer_at = d;
	s->timer = simnet_node_timer_add(s->w->sim, s->sid, d, node_timer, s);
}

static void
node_timer(void *arg)
{
	struct snode *s = arg;

	s->timer = 0;
	(void)hy_dht_tick(s->dht, simnet_now(s->w->sim));
	resched(s);
}

static int
send_msg(struct snode *s, const struct hy_addr *to, const struct hy_msg *m)
{
	uint8_t buf[HY_DGRAM_PAYLOAD_MAX];
	size_t len;
	int err;

	err = hy_msg_encode(m, HY_PATH_DGRAM, buf, sizeof(buf), &len);
	if (err != HY_OK) {
		s->w->bad++;
		return err;
	}
	s->w->msgs++;
	return simnet_send(s->w->sim, &s->addr, to, buf, len);
}

static void
req_timeout(void *arg)
{
	struct sreq *r = arg;
	struct snode *s = r->s;

	r->used = false;
	r->timer = 0;
	r->gen++;
	s->free_[s->nfree++] = (uint16_t)r->slot;
	hy_dht_on_response(s->dht, r->cookie, HY_ETIMEDOUT, NULL, &r->to,
	    simnet_now(s->w->sim));
	resched(s);
}

static int
host_request(void *host, const struct hy_addr *to, const struct hy_id *to_id,
    struct hy_msg *req, uint64_t cookie)
{
	struct snode *s = host;
	struct sreq *r;
	uint32_t slot;
	int err;

	(void)to_id;
	if (s->nfree == 0)
		return HY_EFULL;
	slot = s->free_[--s->nfree];
	r = &s->req[slot];
	req->txid = (uint32_t)r->gen << 16 | slot;
	err = send_msg(s, to, req);
	if (err != HY_OK) {
		s->free_[s->nfree++] = (uint16_t)slot;
		return err;
	}
	r->used = true;
	r->cookie = cookie;
	r->to = *to;
	r->timer = simnet_node_timer_add(s->w->sim, s->sid,
	    simnet_now(s->w->sim) + REQ_TIMEOUT_MS, req_timeout, r);
	return HY_OK;
}

static int
host_reply(void *host, const struct hy_msg *req, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *rep)
{
	(void)req;
	(void)to_id;
	return send_msg(host, to, rep);
}

static void
node_recv(void *ctx, const struct hy_addr *from, const struct hy_addr *to,
    const uint8_t *data, size_t len)
{
	struct snode *s = ctx;
	struct hy_msg *m = malloc(sizeof(*m));
	uint64_t now = simnet_now(s->w->sim);

	(void)to;
	if (m == NULL || hy_msg_decode(m, data, len, HY_PATH_DGRAM) != HY_OK) {
		s->w->bad++;
		free(m);
		return;
	}
	if (hy_msg_kind_of(m->type) == HY_MK_REQ) {
		hy_dht_on_request(s->dht, m, from, &m->sender, now);
	} else {
		uint32_t slot = m->txid & 0xffff;
		struct sreq *r = &s->req[slot < MAX_PENDING ? slot : 0];

		if (slot >= MAX_PENDING || !r->used ||
		    r->gen != (uint16_t)(m->txid >> 16) ||
		    !hy_addr_eq(&r->to, from)) {
			free(m);
			return; /* late reply after a timeout */
		}
		simnet_timer_cancel(s->w->sim, r->timer);
		r->timer = 0;
		r->used = false;
		r->gen++;
		s->free_[s->nfree++] = (uint16_t)slot;
		hy_dht_on_response(s->dht, r->cookie, HY_OK, m, from, now);
	}
	free(m);
	resched(s);
}

/* ---- the world ------------------------------------------------------------
 */

static struct world *
world_new(uint32_t nn, double loss)
{
	struct simnet_config scfg;
	struct hy_dht_config cfg;
	struct hy_dht_host host;
	struct world *w = calloc(1, sizeof(*w));
	struct hy_rng *rng;

	ck_assert_ptr_nonnull(w);
	simnet_config_default(&scfg);
	scfg.link.latency_ms = 20;
	scfg.link.jitter_ms = 60;
	scfg.link.loss = loss;
	w->sim = simnet_new(&scfg, simnet_seed_from_env(SIMNET_DEFAULT_SEED));
	ck_assert_ptr_nonnull(w->sim);
	rng = simnet_rng(w->sim);
	w->nn = nn;
	w->n = calloc(nn, sizeof(*w->n));
	ck_assert_ptr_nonnull(w->n);
	hy_dht_config_default(&cfg);
	memset(&host, 0, sizeof(host));
	cfg.rtable.allow_local = true; /* 10.x.y.z addresses */
	cfg.max_pending = MAX_PENDING;
	cfg.max_ops = 64;
	cfg.max_maint_ops = 32;
	cfg.replicate_ms = REPL_MS;
	host.request = host_request;
	host.reply = host_reply;
	for (uint32_t i = 0; i < nn; i++) {
		struct snode *s = &w->n[i];
		uint8_t secret[HY_DHT_SECRET_LEN];

		s->w = w;
		s->idx = i;
		hy_rng_bytes(rng, s->id.b, HY_ID_LEN);
		hy_rng_bytes(rng, secret, sizeof(secret));
		s->addr = simnet_addr_nth(i, PORT);
		s->sid = simnet_node_add(w->sim, s, node_recv);
		ck_assert_uint_ne(s->sid, SIMNET_NONE);
		ck_assert_int_eq(simnet_node_bind(w->sim, s->sid, &s->addr),
		    HY_OK);
		host.ctx = s;
		ck_assert_int_eq(hy_dht_new(&s->dht, &s->id, &cfg, &host,
		                     secret, hy_rng_next(rng),
		                     simnet_now(w->sim)),
		    HY_OK);
		for (uint32_t j = 0; j < MAX_PENDING; j++) {
			s->free_[j] = (uint16_t)(MAX_PENDING - 1 - j);
			s->req[j].s = s;
			s->req[j].slot = j;
		}
		s->nfree = MAX_PENDING;
	}
	return w;
}

static void
world_free(struct world *w)
{
	for (uint32_t i = 0; i < w->nn; i++)
		hy_dht_free(w->n[i].dht);
	simnet_free(w->sim);
	free(w->keys);
	free(w->ops);
	free(w->n);
	free(w);
}

struct boot {
	struct world *w;
	uint32_t i;
};

static void
boot_node(void *arg)
{
	struct boot *b = arg;
	struct snode *s = &b->w->n[b->i];

	(void)hy_dht_bootstrap(s->dht, &b->w->n[0].addr, 1,
	    simnet_now(b->w->sim));
	resched(s);
	free(b);
}

/* Node 0 first, then one node every 20 ms through node 0. */
static void
world_join(struct world *w)
{
	resched(&w->n[0]);
	for (uint32_t i = 1; i < w->nn; i++) {
		struct boot *b = malloc(sizeof(*b));

		ck_assert_ptr_nonnull(b);
		b->w = w;
		b->i = i;
		ck_assert_uint_ne(simnet_timer_add(w->sim,
		                      simnet_now(w->sim) + 20ull * i, boot_node,
		                      b),
		    0);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 20ull * w->nn + 180000, 0),
	    HY_OK);
}

static uint32_t
random_live(struct world *w, uint32_t not )
{
	uint32_t i;

	do
		i = (uint32_t)hy_rng_below(simnet_rng(w->sim), w->nn);
	while (w->n[i].dead || i == not );
	return i;
}

static void
put_done(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info)
{
	struct op *o = arg;

	o->done = true;
	o->put_ok = err == HY_OK && stored_on > 0;
	o->info = *info;
	o->values = stored_on;
}

static void
get_cb(void *arg, const struct hy_value *v, enum hy_dht_status status,
    const struct hy_dht_op_info *info)
{
	struct op *o = arg;

	if (v != NULL) {
		if (v->data.len == sizeof(o->key) &&
		    memcmp(v->data.ptr, &o->key, sizeof(o->key)) == 0)
			o->values++;
		return;
	}
	o->done = true;
	o->status = status;
	o->info = *info;
	o->found = o->values > 0;
}

/* Mean live replicas per key, and keys with none (x100 for 2 decimals). */
static void
print_replicas(struct world *w, const char *label)
{
	uint64_t total = 0, none = 0, repl = 0, hand = 0;

	for (uint32_t k = 0; k < w->nkeys; k++) {
		uint64_t c = 0;

		for (uint32_t i = 0; i < w->nn; i++)
			if (!w->n[i].dead &&
			    hy_store_count(hy_dht_store(w->n[i].dht),
			        &w->keys[k], simnet_now(w->sim)) > 0)
				c++;
		total += c;
		none += c == 0;
	}
	for (uint32_t i = 0; i < w->nn; i++) {
		struct hy_dht_stats st;

		if (w->n[i].dead)
			continue;
		hy_dht_get_stats(w->n[i].dht, simnet_now(w->sim), &st);
		repl += st.replications;
		hand += st.handovers;
	}
	printf("dht_sim %s: %.2f live replicas per key, %" PRIu64
	       " keys without; %" PRIu64 " replications, %" PRIu64
	       " hand-over stores so far (live nodes)\n",
	    label, (double)total / w->nkeys, none, repl, hand);
}

static int
cmp_u(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Get every key from a random live node; returns how many were found. */
static uint32_t
get_all(struct world *w, const char *label)
{
	unsigned *hops = calloc(w->nkeys, sizeof(unsigned));
	unsigned *msgs = calloc(w->nkeys, sizeof(unsigned));
	uint64_t *ms = calloc(w->nkeys, sizeof(uint64_t));
	uint32_t found = 0, n = 0;

	ck_assert(hops != NULL && msgs != NULL && ms != NULL);
	memset(w->ops, 0, w->nkeys * sizeof(*w->ops));
	for (uint32_t k = 0; k < w->nkeys; k++) {
		struct op *o = &w->ops[k];
		struct snode *s = &w->n[random_live(w, UINT32_MAX)];

		o->w = w;
		o->key = k;
		SIM_CK_ASSERT_UINT(w->sim,
		    (uint64_t)-hy_dht_get(s->dht, &w->keys[k], get_cb, o,
		        simnet_now(w->sim), NULL),
		    ==, 0);
		resched(s);
		/* Pace the gets: 100 per simulated second. */
		if (k % 100 == 99)
			ck_assert_int_eq(simnet_run_for(w->sim, 1000, 0),
			    HY_OK);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	for (uint32_t k = 0; k < w->nkeys; k++) {
		struct op *o = &w->ops[k];

		SIM_CK_ASSERT(w->sim, o->done);
		if (o->found) {
			found++;
			hops[n] = o->info.hops;
			msgs[n] = o->info.requests;
			ms[n] = o->info.elapsed_ms;
			n++;
		}
	}
	if (n > 0) {
		qsort(hops, n, sizeof(*hops), cmp_u);
		qsort(msgs, n, sizeof(*msgs), cmp_u);
		qsort(ms, n, sizeof(*ms), cmp_u64);
		printf("dht_sim %s: %u/%u found (%.2f%%); hops median %u p99 "
		       "%u; messages median %u p99 %u; time median %" PRIu64
		       " ms p99 %" PRIu64 " ms\n",
		    label, found, w->nkeys, 100.0 * found / w->nkeys,
		    hops[n / 2], hops[n * 99 / 100], msgs[n / 2],
		    msgs[n * 99 / 100], ms[n / 2], ms[n * 99 / 100]);
	}
	free(hops);
	free(msgs);
	free(ms);
	return found;
}

/* nkeys puts of distinct keys from random nodes; all must be stored. */
static void
put_all(struct world *w, uint32_t nkeys, bool require_all)
{
	uint32_t puts_ok = 0;
	unsigned *msgs, *on;

	w->nkeys = nkeys;
	w->keys = calloc(w->nkeys, sizeof(*w->keys));
	w->ops = calloc(w->nkeys, sizeof(*w->ops));
	ck_assert(w->keys != NULL && w->ops != NULL);
	for (uint32_t k = 0; k < w->nkeys; k++) {
		struct op *o = &w->ops[k];
		struct snode *s = &w->n[random_live(w, UINT32_MAX)];
		struct hy_value v;

		hy_rng_bytes(simnet_rng(w->sim), w->keys[k].b, HY_ID_LEN);
		memset(&v, 0, sizeof(v));
		v.id = 1;
		v.ttl_s = VALUE_TTL_S;
		v.data.ptr = (const uint8_t *)&o->key;
		v.data.len = sizeof(o->key);
		o->key = k;
		SIM_CK_ASSERT_UINT(w->sim,
		    (uint64_t)-hy_dht_put(s->dht, &w->keys[k], &v, k % 2 == 0,
		        put_done, o, simnet_now(w->sim), NULL),
		    ==, 0);
		resched(s);
		if (k % 100 == 99)
			ck_assert_int_eq(simnet_run_for(w->sim, 1000, 0),
			    HY_OK);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	msgs = calloc(w->nkeys, sizeof(*msgs));
	on = calloc(w->nkeys, sizeof(*on));
	ck_assert(msgs != NULL && on != NULL);
	for (uint32_t k = 0; k < w->nkeys; k++) {
		SIM_CK_ASSERT(w->sim, w->ops[k].done);
		puts_ok += w->ops[k].put_ok;
		msgs[k] = w->ops[k].info.requests;
		on[k] = w->ops[k].values;
	}
	qsort(msgs, w->nkeys, sizeof(*msgs), cmp_u);
	qsort(on, w->nkeys, sizeof(*on), cmp_u);
	printf("dht_sim: %u/%u puts stored; messages per put (lookup + "
	       "STOREs) median %u p99 %u; stored on median %u, min %u\n",
	    puts_ok, w->nkeys, msgs[w->nkeys / 2], msgs[w->nkeys * 99 / 100],
	    on[w->nkeys / 2], on[0]);
	free(msgs);
	free(on);
	if (require_all)
		SIM_CK_ASSERT_UINT(w->sim, puts_ok, ==, w->nkeys);
}

/* ---- (c) announce / get_peers -------------------------------------------- */

struct pop {
	struct hy_addr want; /* the announcer's address and port */
	bool done, ok, seen;
};

static void
ann_done(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info)
{
	struct pop *p = arg;

	(void)info;
	p->done = true;
	p->ok = err == HY_OK && stored_on > 0;
}

static void
peers_cb(void *arg, const struct hy_addr *peers, size_t n,
    enum hy_dht_status status, const struct hy_dht_op_info *info)
{
	struct pop *p = arg;

	(void)info;
	(void)status;
	for (size_t i = 0; i < n; i++)
		if (hy_addr_eq(&peers[i], &p->want))
			p->seen = true;
	if (peers == NULL)
		p->done = true;
}

/* nk announces (port 7000 + i) from random nodes, then get_peers. */
static void
announce_all(struct world *w, uint32_t nk)
{
	struct pop *p = calloc(nk, sizeof(*p));
	struct hy_id *keys = calloc(nk, sizeof(*keys));
	uint32_t ok = 0, seen = 0;

	ck_assert(p != NULL && keys != NULL);
	for (uint32_t i = 0; i < nk; i++) {
		struct snode *s = &w->n[random_live(w, UINT32_MAX)];

		hy_rng_bytes(simnet_rng(w->sim), keys[i].b, HY_ID_LEN);
		p[i].want = s->addr;
		p[i].want.port = (uint16_t)(7000 + i);
		SIM_CK_ASSERT_UINT(w->sim,
		    (uint64_t)-hy_dht_announce(s->dht, &keys[i],
		        (uint16_t)(7000 + i), true, ann_done, &p[i],
		        simnet_now(w->sim), NULL),
		    ==, 0);
		resched(s);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	for (uint32_t i = 0; i < nk; i++) {
		struct snode *s = &w->n[random_live(w, UINT32_MAX)];

		SIM_CK_ASSERT(w->sim, p[i].done);
		ok += p[i].ok;
		p[i].done = false;
		SIM_CK_ASSERT_UINT(w->sim,
		    (uint64_t)-hy_dht_get_peers(s->dht, &keys[i], peers_cb,
		        &p[i], simnet_now(w->sim), NULL),
		    ==, 0);
		resched(s);
	}
	ck_assert_int_eq(simnet_run_for(w->sim, 30000, 0), HY_OK);
	for (uint32_t i = 0; i < nk; i++) {
		SIM_CK_ASSERT(w->sim, p[i].done);
		seen += p[i].seen;
	}
	printf("dht_sim (c): %u/%u announces stored, %u/%u get_peers "
	       "found the announcer\n",
	    ok, nk, seen, nk);
	SIM_CK_ASSERT_UINT(w->sim, ok, ==, nk);
	SIM_CK_ASSERT_UINT(w->sim, seen, ==, nk);
	free(p);
	free(keys);
}

START_TEST(test_dht_sim_put_get_crash)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000), found, live = 0;
	struct world *w;
	double t0 = wall_s(), t1;
	uint64_t joined = 0;

	w = world_new(nn, 0);
	world_join(w);
	/* The seed itself only answers until its first refresh. */
	for (uint32_t i = 1; i < nn; i++)
		joined += hy_dht_joined(w->n[i].dht, simnet_now(w->sim));
	{
		struct hy_dht_stats st;

		hy_dht_get_stats(w->n[nn / 2].dht, simnet_now(w->sim), &st);
		printf("dht_sim: %u nodes joined through one seed: %" PRIu64
		       " joined; node %u: %zu contacts, %" PRIu64
		       " requests sent; %.1f s wall\n",
		    nn, joined, nn / 2, st.rtable.contacts, st.requests_sent,
		    wall_s() - t0);
	}
	SIM_CK_ASSERT_UINT(w->sim, joined, ==, nn - 1);

	/* (a) puts from random nodes, then gets from other random nodes. */
	put_all(w, nn >= 1000 ? 1000 : nn, true);
	found = get_all(w, "(a) gets");
	SIM_CK_ASSERT_UINT(w->sim, found, ==, w->nkeys);
	announce_all(w, nn >= 500 ? 100 : 20);

	/* (b) 30% crash at once; run for the replication interval. */
	/* Exactly 30% of the nodes (the seed may be among them). */
	live = nn;
	while (live > nn - nn * 3 / 10) {
		uint32_t i = random_live(w, UINT32_MAX);

		ck_assert_int_eq(simnet_node_crash(w->sim, w->n[i].sid), HY_OK);
		w->n[i].dead = true;
		live--;
	}
	print_replicas(w, "right after the crash");
	t1 = wall_s();
	ck_assert_int_eq(simnet_run_for(w->sim, REPL_MS + 60000, 0), HY_OK);
	print_replicas(w, "after the replication interval");
	printf("dht_sim: %u of %u nodes live after the crash; %u s "
	       "simulated in %.1f s wall\n",
	    live, nn, (REPL_MS + 60000) / 1000, wall_s() - t1);
	found = get_all(w, "(b) after 30% crash");
	SIM_CK_ASSERT_UINT(w->sim, (uint64_t)found * 1000, >=,
	    (uint64_t)w->nkeys * 999);
	printf("dht_sim: %" PRIu64 " datagrams, %" PRIu64 " bad; %.1f s wall\n",
	    w->msgs, w->bad, wall_s() - t0);
	SIM_CK_ASSERT_UINT(w->sim, w->bad, ==, 0);
	world_free(w);
}
END_TEST

/* 2% loss on every link, no retries in the shim: lookups route around. */
START_TEST(test_dht_sim_lossy)
{
	uint32_t nn = env_u32("HY_SIM_NODES", 1000), found;
	struct world *w;

	nn = nn > 500 ? 500 : nn;
	w = world_new(nn, 0.02);
	world_join(w);
	put_all(w, nn >= 300 ? 300 : nn, false);
	found = get_all(w, "2% loss gets");
	SIM_CK_ASSERT_UINT(w->sim, (uint64_t)found * 100, >=,
	    (uint64_t)w->nkeys * 99);
	world_free(w);
}
END_TEST

static Suite *
dht_sim_suite(void)
{
	Suite *s = suite_create("dht_sim");
	TCase *tc = tcase_create("sim");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_dht_sim_put_get_crash);
	tcase_add_test(tc, test_dht_sim_lossy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dht_sim_suite());
	int nf;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
