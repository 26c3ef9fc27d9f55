/*
 * simnet.c: a deterministic in-memory datagram network with a fake clock,
 * for simulating many hypha nodes in one process (DESIGN.md §4; the mock
 * network of hashicorp/memberlist is the model). Test code, not library code.
 *
 * Everything that happens is an event in one queue (simq.c): a datagram
 * delivery, a timer, the end of a freeze. The run functions pop events in
 * (time, insertion sequence) order, set the fake clock to the event's time
 * and dispatch it; callbacks schedule further events. Randomness comes from
 * two xoshiro streams seeded from the one seed: `net_rng` for the link model
 * (loss, duplication, jitter), `user_rng` for the nodes and the test. So for
 * a given seed and a given sequence of calls, the order of events, every
 * drop and every delay are the same on every run and every machine.
 *
 * Invariants:
 *  - sent + duplicated == delivered + dropped_* + in_flight + frozen_queued.
 *  - in_flight counts SIMQ_PACKET slots in the heap; frozen_queued counts
 *    those parked on frozen nodes' deferred lists.
 *  - a node's deferred list holds, in the order they became due, the packet
 *    and timer slots that came due while it was frozen; they are not in the
 *    heap. A crashed node has no deferred slots, addresses or resume event.
 *  - node ids index `nodes` and are never reused, so a delivery resolved to a
 *    node at send time can tell at arrival that the node has since crashed.
 *  - callbacks get copies of the event's addresses and own no slot, because
 *    the slot pool may move while they run.
 *
 * This file holds set-up, nodes, freezing and the link model's settings;
 * simrun.c sends, fires timers and runs the event loop.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet-internal.h"

/* ---- trace --------------------------------------------------------------- */

static inline void
simnet_mix(struct simnet *sim, uint64_t v)
{
	uint64_t h = sim->hash ^ v;

	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	sim->hash = h;
}

static void
simnet_mix_addr(struct simnet *sim, const struct hy_addr *a)
{
	uint64_t w0 = 0, w1 = 0;

	memcpy(&w0, a->ip, 8);
	memcpy(&w1, a->ip + 8, 8);
	simnet_mix(sim, ((uint64_t)a->family << 16) | a->port);
	simnet_mix(sim, w0);
	simnet_mix(sim, w1);
}

void
simnet_note(struct simnet *sim, enum simnet_trace_kind kind, uint32_t node,
    const struct hy_addr *from, const struct hy_addr *to, const uint8_t *data,
    size_t len)
{
	simnet_mix(sim, ((uint64_t)kind << 32) | node);
	simnet_mix(sim, sim->clock.now_ms);
	if (from != NULL) {
		simnet_mix_addr(sim, from);
		simnet_mix_addr(sim, to);
		simnet_mix(sim, len);
	}
	if (data != NULL) {
		uint64_t h = 0xcbf29ce484222325ULL;

		for (size_t i = 0; i < len; i++)
			h = (h ^ data[i]) * 0x100000001b3ULL;
		simnet_mix(sim, h);
	}
	if (sim->trace != NULL) {
		struct simnet_trace tr = {
			.kind = kind,
			.now_ms = sim->clock.now_ms,
			.node = node,
			.from = from,
			.to = to,
			.len = len,
		};

		sim->trace(sim->trace_arg, &tr);
	}
}

/* ---- lifecycle ----------------------------------------------------------- */

void
simnet_config_default(struct simnet_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->link.latency_ms = 10;
	cfg->max_datagram = 1280;
	cfg->max_in_flight = (size_t)1 << 20;
	cfg->frozen_queue_max = 256;
	cfg->max_events = 100000000;
	cfg->start_ms = 1000;
	cfg->wall_offset_ms = UINT64_C(1767225600000); /* 2026-01-01 UTC */
}

static bool
simnet_prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

static bool
simnet_link_ok(const struct simnet_link *l)
{
	return l != NULL && simnet_prob_ok(l->loss) && simnet_prob_ok(l->dup);
}

struct simnet *
simnet_new(const struct simnet_config *cfg, uint64_t seed)
{
	struct simnet *sim;
	struct simnet_config def;

	if (cfg == NULL) {
		simnet_config_default(&def);
		cfg = &def;
	}
	if (!simnet_link_ok(&cfg->link) || cfg->max_datagram == 0 ||
	    cfg->max_events == 0)
		return NULL;
	sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		return NULL;
	sim->cfg = *cfg;
	sim->seed = seed;
	hy_fake_clock_init(&sim->clock, cfg->start_ms, cfg->wall_offset_ms);
	hy_rng_seed(&sim->net_rng, seed);
	/* a second, independent stream: seed it from a different point */
	hy_rng_seed(&sim->user_rng, seed ^ 0xa5a5a5a55a5a5a5aULL);
	simq_init(&sim->q);
	sim->hash = 0x243f6a8885a308d3ULL ^ seed;
	return sim;
}

void
simnet_free(struct simnet *sim)
{
	if (sim == NULL)
		return;
	simq_fini(&sim->q);
	for (uint32_t i = 0; i < sim->nnodes; i++)
		free(sim->nodes[i].addrs);
	free(sim->nodes);
	simmap_fini(&sim->addrs);
	simmap_fini(&sim->links);
	free(sim);
}

uint64_t
simnet_seed_from_env(uint64_t def)
{
	const char *s = getenv("HY_SIM_SEED");
	unsigned long long v;
	char *end;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || *s == '-') {
		fprintf(stderr, "simnet: ignoring bad HY_SIM_SEED=%s\n", s);
		return def;
	}
	return (uint64_t)v;
}

uint64_t
simnet_seed(const struct simnet *sim)
{
	return sim->seed;
}

void
simnet_print_seed(const struct simnet *sim)
{
	fprintf(stderr,
	    "simnet: seed=%" PRIu64 " t=%" PRIu64
	    " ms (replay: HY_SIM_SEED=%" PRIu64 ")\n",
	    sim->seed, sim->clock.now_ms, sim->seed);
}

const struct hy_clock *
simnet_clock(struct simnet *sim)
{
	return &sim->clock.clock;
}

uint64_t
simnet_now(const struct simnet *sim)
{
	return sim->clock.now_ms;
}

struct hy_rng *
simnet_rng(struct simnet *sim)
{
	return &sim->user_rng;
}

void
simnet_stats(const struct simnet *sim, struct simnet_stats *out)
{
	*out = sim->st;
}

uint64_t
simnet_trace_hash(const struct simnet *sim)
{
	return sim->hash;
}

void
simnet_set_trace(struct simnet *sim, simnet_trace_cb *cb, void *arg)
{
	sim->trace = cb;
	sim->trace_arg = arg;
}

size_t
simnet_pending(const struct simnet *sim)
{
	return simq_len(&sim->q);
}

uint32_t
simnet_node_add(struct simnet *sim, void *node_ctx, simnet_recv_cb *recv)
{
	struct simnode *n;

	if (sim->nnodes == SIMNET_NONE - 1)
		return SIMNET_NONE;
	if (sim->nnodes == sim->nodes_cap) {
		uint32_t cap = sim->nodes_cap ? sim->nodes_cap * 2 : 64;
		struct simnode *nn = realloc(sim->nodes, cap * sizeof(*nn));

		if (nn == NULL)
			return SIMNET_NONE;
		sim->nodes = nn;
		sim->nodes_cap = cap;
	}
	n = &sim->nodes[sim->nnodes];
	memset(n, 0, sizeof(*n));
	n->ctx = node_ctx;
	n->recv = recv;
	n->alive = 1;
	n->resume_slot = SIMQ_NONE;
	n->def_head = n->def_tail = SIMQ_NONE;
	return sim->nnodes++;
}

bool
simnet_node_alive(const struct simnet *sim, uint32_t node)
{
	return simnet_live(sim, node) != NULL;
}

uint32_t
simnet_node_at(const struct simnet *sim, const struct hy_addr *addr)
{
	uint8_t key[SIMMAP_KEYLEN];
	const struct simmap_ent *e;

	simmap_key(key, addr, NULL);
	e = simmap_find(&sim->addrs, key);
	return e != NULL ? e->node : SIMNET_NONE;
}

int
simnet_node_stats(const struct simnet *sim, uint32_t node,
    struct simnet_node_stats *out)
{
	if (node >= sim->nnodes)
		return HY_EINVAL;
	*out = sim->nodes[node].st;
	return HY_OK;
}

int
simnet_node_bind(struct simnet *sim, uint32_t node, const struct hy_addr *addr)
{
	uint8_t key[SIMMAP_KEYLEN];
	struct simnode *n = simnet_live(sim, node);
	struct simmap_ent *e;
	bool created;

	if (n == NULL || addr == NULL || addr->family == 0)
		return HY_EINVAL;
	if (n->naddrs == n->addrs_cap) {
		uint32_t cap = n->addrs_cap ? n->addrs_cap * 2 : 2;
		struct hy_addr *na = realloc(n->addrs, cap * sizeof(*na));

		if (na == NULL)
			return HY_ENOMEM;
		n->addrs = na;
		n->addrs_cap = cap;
	}
	simmap_key(key, addr, NULL);
	e = simmap_insert(&sim->addrs, key, &created);
	if (e == NULL)
		return HY_ENOMEM;
	if (!created)
		return HY_EEXIST; /* only live nodes hold addresses */
	e->node = node;
	n->addrs[n->naddrs++] = *addr;
	return HY_OK;
}

int
simnet_node_unbind(struct simnet *sim, const struct hy_addr *addr)
{
	uint8_t key[SIMMAP_KEYLEN];
	struct simmap_ent *e;
	struct simnode *n;

	simmap_key(key, addr, NULL);
	e = simmap_find(&sim->addrs, key);
	if (e == NULL)
		return HY_ENOENT;
	n = &sim->nodes[e->node];
	for (uint32_t i = 0; i < n->naddrs; i++) {
		if (hy_addr_eq(&n->addrs[i], addr)) {
			n->addrs[i] = n->addrs[--n->naddrs];
			break;
		}
	}
	simmap_delete(&sim->addrs, key);
	return HY_OK;
}

/* Cancels a node's pending resume event, if any. */
static void
simnet_drop_resume(struct simnet *sim, struct simnode *n)
{
	if (n->resume_slot != SIMQ_NONE) {
		simq_remove(&sim->q, n->resume_slot);
		simq_release(&sim->q, n->resume_slot);
		n->resume_slot = SIMQ_NONE;
	}
}

int
simnet_node_crash(struct simnet *sim, uint32_t node)
{
	struct simnode *n = simnet_live(sim, node);
	uint32_t s;

	if (n == NULL)
		return HY_EINVAL;
	while (n->naddrs > 0)
		simnet_node_unbind(sim, &n->addrs[n->naddrs - 1]);
	simnet_drop_resume(sim, n);
	for (s = n->def_head; s != SIMQ_NONE;) {
		struct simq_ev *e = simq_ev(&sim->q, s);
		uint32_t next = e->next;

		if (e->kind == SIMQ_PACKET) {
			sim->st.frozen_queued--;
			sim->st.dropped_dead++;
			n->st.dropped_to++;
		} else if (!e->cancelled) {
			sim->st.timers_dropped++;
		}
		simq_release(&sim->q, s);
		s = next;
	}
	n->def_head = n->def_tail = SIMQ_NONE;
	n->def_packets = 0;
	n->alive = 0;
	n->frozen = 0;
	n->ctx = NULL;
	simnet_note(sim, SIMNET_TR_CRASH, node, NULL, NULL, NULL, 0);
	return HY_OK;
}

int
simnet_node_freeze(struct simnet *sim, uint32_t node, uint64_t duration_ms)
{
	struct simnode *n = simnet_live(sim, node);
	uint64_t until;
	uint32_t slot;

	if (n == NULL)
		return HY_EINVAL;
	until = duration_ms == SIMNET_FOREVER ||
	        duration_ms > SIMNET_FOREVER - sim->clock.now_ms
	    ? SIMNET_FOREVER
	    : sim->clock.now_ms + duration_ms;
	if (n->frozen && n->frozen_until >= until)
		return HY_OK;
	if (until != SIMNET_FOREVER) {
		slot = simq_alloc(&sim->q, SIMQ_RESUME, node);
		if (slot == SIMQ_NONE)
			return HY_ENOMEM;
		simq_ev(&sim->q, slot)->u.res.until = until;
		if (simq_push(&sim->q, slot, until) != HY_OK) {
			simq_release(&sim->q, slot);
			return HY_ENOMEM;
		}
	} else {
		slot = SIMQ_NONE;
	}
	n = &sim->nodes[node]; /* nothing moved nodes, but be explicit */
	simnet_drop_resume(sim, n);
	n->resume_slot = slot;
	n->frozen = 1;
	n->frozen_until = until;
	simnet_note(sim, SIMNET_TR_FREEZE, node, NULL, NULL, NULL, 0);
	return HY_OK;
}

int
simnet_node_resume(struct simnet *sim, uint32_t node)
{
	struct simnode *n = simnet_live(sim, node);
	uint32_t s;
	int rc = HY_OK;

	if (n == NULL)
		return HY_EINVAL;
	if (!n->frozen)
		return HY_ESTATE;
	simnet_drop_resume(sim, n);
	n->frozen = 0;
	simnet_note(sim, SIMNET_TR_RESUME, node, NULL, NULL, NULL, 0);
	/* overdue work runs now, in the order it became due */
	for (s = n->def_head; s != SIMQ_NONE;) {
		struct simq_ev *e = simq_ev(&sim->q, s);
		uint32_t next = e->next;

		if (e->kind == SIMQ_TIMER && e->cancelled) {
			simq_release(&sim->q, s);
		} else if (simq_requeue(&sim->q, s, sim->clock.now_ms) !=
		    HY_OK) {
			/* out of memory: lose it, but keep the books right */
			if (e->kind == SIMQ_PACKET) {
				sim->st.frozen_queued--;
				sim->st.dropped_frozen++;
				n->st.dropped_to++;
			} else {
				sim->st.timers_dropped++;
			}
			simq_release(&sim->q, s);
			rc = HY_ENOMEM;
		} else if (e->kind == SIMQ_PACKET) {
			sim->st.frozen_queued--;
			if (++sim->st.in_flight > sim->st.in_flight_max)
				sim->st.in_flight_max = sim->st.in_flight;
		}
		s = next;
	}
	n->def_head = n->def_tail = SIMQ_NONE;
	n->def_packets = 0;
	return rc;
}

bool
simnet_node_frozen(const struct simnet *sim, uint32_t node)
{
	const struct simnode *n = simnet_live(sim, node);

	return n != NULL && n->frozen;
}

/* ---- link model ---------------------------------------------------------- */

int
simnet_set_default_link(struct simnet *sim, const struct simnet_link *l)
{
	if (!simnet_link_ok(l))
		return HY_EINVAL;
	sim->cfg.link = *l;
	return HY_OK;
}

int
simnet_link_set(struct simnet *sim, const struct hy_addr *from,
    const struct hy_addr *to, const struct simnet_link *l)
{
	uint8_t key[SIMMAP_KEYLEN];
	struct simmap_ent *e;
	bool created;

	if (!simnet_link_ok(l) || from == NULL || to == NULL)
		return HY_EINVAL;
	simmap_key(key, from, to);
	e = simmap_insert(&sim->links, key, &created);
	if (e == NULL)
		return HY_ENOMEM;
	e->link = *l;
	return HY_OK;
}

int
simnet_link_clear(struct simnet *sim, const struct hy_addr *from,
    const struct hy_addr *to)
{
	uint8_t key[SIMMAP_KEYLEN];

	simmap_key(key, from, to);
	return simmap_delete(&sim->links, key) ? HY_OK : HY_ENOENT;
}

int
simnet_node_set_group(struct simnet *sim, uint32_t node, unsigned g)
{
	struct simnode *n = simnet_live(sim, node);

	if (n == NULL || g >= SIMNET_MAX_GROUPS)
		return HY_EINVAL;
	n->group = (uint8_t)g;
	return HY_OK;
}

int
simnet_block(struct simnet *sim, unsigned from_g, unsigned to_g, bool blocked)
{
	if (from_g >= SIMNET_MAX_GROUPS || to_g >= SIMNET_MAX_GROUPS)
		return HY_EINVAL;
	if (blocked)
		sim->blocked[from_g] |= UINT64_C(1) << to_g;
	else
		sim->blocked[from_g] &= ~(UINT64_C(1) << to_g);
	return HY_OK;
}

int
simnet_partition(struct simnet *sim, unsigned a, unsigned b)
{
	if (simnet_block(sim, a, b, true) != HY_OK)
		return HY_EINVAL;
	return simnet_block(sim, b, a, true);
}

int
simnet_heal(struct simnet *sim, unsigned a, unsigned b)
{
	if (simnet_block(sim, a, b, false) != HY_OK)
		return HY_EINVAL;
	return simnet_block(sim, b, a, false);
}

void
simnet_heal_all(struct simnet *sim)
{
	memset(sim->blocked, 0, sizeof(sim->blocked));
}

/* ---- helpers ------------------------------------------------------------- */

struct hy_addr
simnet_addr4(uint32_t ip, uint16_t port)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	a.family = HY_AF_INET;
	a.port = port;
	a.ip[0] = (uint8_t)(ip >> 24);
	a.ip[1] = (uint8_t)(ip >> 16);
	a.ip[2] = (uint8_t)(ip >> 8);
	a.ip[3] = (uint8_t)ip;
	return a;
}

struct hy_addr
simnet_addr_nth(uint32_t i, uint16_t port)
{
	/* 10.0.0.0/8; skip .0 so no address ends in a network number */
	return simnet_addr4((UINT32_C(10) << 24) + 1 + i, port);
}
