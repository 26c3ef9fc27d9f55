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
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simmap.h"
#include "simnet.h"
#include "simq.h"

struct simnode {
	void *ctx;
	simnet_recv_cb *recv;
	uint8_t alive;
	uint8_t frozen;
	uint8_t group;
	uint64_t frozen_until;	/* SIMNET_FOREVER: until simnet_node_resume */
	uint32_t resume_slot;	/* pending SIMQ_RESUME, or SIMQ_NONE */
	uint32_t def_head, def_tail; /* deferred slots, FIFO */
	uint32_t def_packets;
	struct hy_addr *addrs;	/* addresses bound to this node */
	uint32_t naddrs, addrs_cap;
	struct simnet_node_stats st;
};

struct simnet {
	struct simnet_config cfg;
	uint64_t seed;
	struct hy_fake_clock clock;
	struct hy_rng net_rng;
	struct hy_rng user_rng;
	struct simq q;
	struct simnode *nodes;
	uint32_t nnodes, nodes_cap;
	struct simmap addrs; /* address -> node */
	struct simmap links; /* (from, to) -> link override */
	uint64_t blocked[SIMNET_MAX_GROUPS]; /* bit b of [a]: a -> b blocked */
	struct simnet_stats st;
	uint64_t hash;
	simnet_trace_cb *trace;
	void *trace_arg;
	int running; /* inside a run function: no nested runs */
};

/* ---- trace ---------------------------------------------------------------- */

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

/* Folds an event into the trace hash and shows it to the trace callback. */
static void
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

/* ---- lifecycle ---------------------------------------------------------- */

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
	fprintf(stderr, "simnet: seed=%" PRIu64 " t=%" PRIu64
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

/* ---- nodes ------------------------------------------------------------------ */

static struct simnode *
simnet_live(const struct simnet *sim, uint32_t node)
{
	if (node >= sim->nnodes || !sim->nodes[node].alive)
		return NULL;
	return &sim->nodes[node];
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

/* Parks a slot that came due while its node was frozen. */
static void
simnet_defer(struct simnet *sim, struct simnode *n, uint32_t slot)
{
	simq_ev(&sim->q, slot)->next = SIMQ_NONE;
	if (n->def_tail == SIMQ_NONE)
		n->def_head = slot;
	else
		simq_ev(&sim->q, n->def_tail)->next = slot;
	n->def_tail = slot;
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
		    duration_ms > SIMNET_FOREVER - sim->clock.now_ms ?
	    SIMNET_FOREVER :
	    sim->clock.now_ms + duration_ms;
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
		} else if (simq_push(&sim->q, s, sim->clock.now_ms) != HY_OK) {
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

/* ---- link model --------------------------------------------------------- */

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

static inline bool
simnet_is_blocked(const struct simnet *sim, unsigned a, unsigned b)
{
	return (sim->blocked[a] >> b) & 1;
}

/* ---- sending -------------------------------------------------------------- */

/* Counts a drop of a datagram addressed to dst (SIMNET_NONE if nobody). */
static void
simnet_count_drop(struct simnet *sim, enum simnet_trace_kind why,
    uint32_t dst, const struct hy_addr *from, const struct hy_addr *to,
    size_t len)
{
	switch (why) {
	case SIMNET_TR_DROP_LOSS:
		sim->st.dropped_loss++;
		break;
	case SIMNET_TR_DROP_PARTITION:
		sim->st.dropped_partition++;
		break;
	case SIMNET_TR_DROP_DEAD:
		sim->st.dropped_dead++;
		break;
	case SIMNET_TR_DROP_OVERSIZE:
		sim->st.dropped_oversize++;
		break;
	case SIMNET_TR_DROP_IN_FLIGHT:
		sim->st.dropped_in_flight++;
		break;
	default:
		assert(why == SIMNET_TR_DROP_FROZEN);
		sim->st.dropped_frozen++;
		break;
	}
	if (dst != SIMNET_NONE)
		sim->nodes[dst].st.dropped_to++;
	simnet_note(sim, why, dst, from, to, NULL, len);
}

/* Queues one copy of a datagram; returns 0 or HY_ENOMEM (counted). */
static int
simnet_enqueue(struct simnet *sim, const struct simnet_link *l, uint32_t dst,
    unsigned src_group, const struct hy_addr *from, const struct hy_addr *to,
    const void *data, size_t len)
{
	struct simq_ev *e;
	uint64_t delay = l->latency_ms;
	uint8_t *copy;
	uint32_t slot;

	if (sim->st.in_flight >= sim->cfg.max_in_flight) {
		simnet_count_drop(sim, SIMNET_TR_DROP_IN_FLIGHT, dst, from, to,
		    len);
		return HY_OK;
	}
	if (l->jitter_ms > 0)
		delay += hy_rng_below(&sim->net_rng, (uint64_t)l->jitter_ms + 1);
	copy = malloc(len > 0 ? len : 1);
	slot = copy != NULL ? simq_alloc(&sim->q, SIMQ_PACKET, dst) : SIMQ_NONE;
	if (slot == SIMQ_NONE) {
		free(copy);
		simnet_count_drop(sim, SIMNET_TR_DROP_IN_FLIGHT, dst, from, to,
		    len);
		return HY_ENOMEM;
	}
	if (len > 0)
		memcpy(copy, data, len);
	e = simq_ev(&sim->q, slot);
	e->u.pkt.from = *from;
	e->u.pkt.to = *to;
	e->u.pkt.data = copy;
	e->u.pkt.len = (uint32_t)len;
	e->u.pkt.src_group = (uint8_t)src_group;
	if (simq_push(&sim->q, slot, sim->clock.now_ms + delay) != HY_OK) {
		simq_release(&sim->q, slot);
		simnet_count_drop(sim, SIMNET_TR_DROP_IN_FLIGHT, dst, from, to,
		    len);
		return HY_ENOMEM;
	}
	if (++sim->st.in_flight > sim->st.in_flight_max)
		sim->st.in_flight_max = sim->st.in_flight;
	return HY_OK;
}

int
simnet_send(struct simnet *sim, const struct hy_addr *from,
    const struct hy_addr *to, const void *data, size_t len)
{
	uint8_t key[SIMMAP_KEYLEN];
	const struct simmap_ent *le;
	const struct simnet_link *l = &sim->cfg.link;
	uint32_t src = simnet_node_at(sim, from);
	uint32_t dst = simnet_node_at(sim, to);
	unsigned src_group = 0;
	int copies = 1, rc = HY_OK;

	sim->st.sent++;
	sim->st.sent_bytes += len;
	if (src != SIMNET_NONE) {
		sim->nodes[src].st.sent++;
		sim->nodes[src].st.sent_bytes += len;
		src_group = sim->nodes[src].group;
	}
	simnet_note(sim, SIMNET_TR_SEND, src, from, to, NULL, len);
	if (len > sim->cfg.max_datagram || len > UINT32_MAX) {
		simnet_count_drop(sim, SIMNET_TR_DROP_OVERSIZE, dst, from, to,
		    len);
		return HY_OK;
	}
	if (dst == SIMNET_NONE) {
		simnet_count_drop(sim, SIMNET_TR_DROP_DEAD, dst, from, to, len);
		return HY_OK;
	}
	if (simnet_is_blocked(sim, src_group, sim->nodes[dst].group)) {
		simnet_count_drop(sim, SIMNET_TR_DROP_PARTITION, dst, from, to,
		    len);
		return HY_OK;
	}
	if (sim->links.len > 0) {
		simmap_key(key, from, to);
		le = simmap_find(&sim->links, key);
		if (le != NULL)
			l = &le->link;
	}
	if (l->loss > 0.0 && hy_rng_unit(&sim->net_rng) < l->loss) {
		simnet_count_drop(sim, SIMNET_TR_DROP_LOSS, dst, from, to, len);
		return HY_OK;
	}
	if (l->dup > 0.0 && hy_rng_unit(&sim->net_rng) < l->dup) {
		sim->st.duplicated++;
		copies = 2;
	}
	for (int i = 0; i < copies; i++) {
		int r = simnet_enqueue(sim, l, dst, src_group, from, to, data,
		    len);

		if (r != HY_OK)
			rc = r;
	}
	return rc;
}

/* ---- timers -------------------------------------------------------------- */

uint64_t
simnet_node_timer_add(struct simnet *sim, uint32_t node, uint64_t at_ms,
    simnet_timer_cb *cb, void *arg)
{
	struct simq_ev *e;
	uint32_t slot;

	if (cb == NULL || (node != SIMNET_NONE && simnet_live(sim, node) == NULL))
		return 0;
	slot = simq_alloc(&sim->q, SIMQ_TIMER, node);
	if (slot == SIMQ_NONE)
		return 0;
	e = simq_ev(&sim->q, slot);
	e->u.tmr.cb = cb;
	e->u.tmr.arg = arg;
	if (at_ms < sim->clock.now_ms)
		at_ms = sim->clock.now_ms;
	if (simq_push(&sim->q, slot, at_ms) != HY_OK) {
		simq_release(&sim->q, slot);
		return 0;
	}
	return simq_handle(&sim->q, slot);
}

uint64_t
simnet_timer_add(struct simnet *sim, uint64_t at_ms, simnet_timer_cb *cb,
    void *arg)
{
	return simnet_node_timer_add(sim, SIMNET_NONE, at_ms, cb, arg);
}

bool
simnet_timer_cancel(struct simnet *sim, uint64_t handle)
{
	uint32_t slot = simq_from_handle(&sim->q, handle);
	struct simq_ev *e;

	if (slot == SIMQ_NONE)
		return false;
	e = simq_ev(&sim->q, slot);
	if (e->kind != SIMQ_TIMER || e->cancelled)
		return false;
	sim->st.timers_cancelled++;
	if (e->heap_pos != SIMQ_NONE) {
		simq_remove(&sim->q, slot);
		simq_release(&sim->q, slot);
	} else {
		/* deferred on a frozen node: skipped and freed on resume */
		e->cancelled = 1;
	}
	return true;
}

/* ---- running ------------------------------------------------------------ */

static void
simnet_deliver(struct simnet *sim, uint32_t slot)
{
	struct simq_ev *e = simq_ev(&sim->q, slot);
	uint32_t dst = e->node;
	struct simnode *n = &sim->nodes[dst];
	struct hy_addr from = e->u.pkt.from, to = e->u.pkt.to;
	uint8_t *data;
	size_t len = e->u.pkt.len;

	sim->st.in_flight--;
	if (!n->alive) {
		simnet_count_drop(sim, SIMNET_TR_DROP_DEAD, dst, &from, &to,
		    len);
		simq_release(&sim->q, slot);
		return;
	}
	if (simnet_is_blocked(sim, e->u.pkt.src_group, n->group)) {
		simnet_count_drop(sim, SIMNET_TR_DROP_PARTITION, dst, &from,
		    &to, len);
		simq_release(&sim->q, slot);
		return;
	}
	if (n->frozen) {
		if (n->def_packets >= sim->cfg.frozen_queue_max) {
			simnet_count_drop(sim, SIMNET_TR_DROP_FROZEN, dst,
			    &from, &to, len);
			simq_release(&sim->q, slot);
			return;
		}
		n->def_packets++;
		sim->st.frozen_queued++;
		simnet_defer(sim, n, slot);
		return;
	}
	/* the callback may grow the pool: take the buffer, free the slot */
	data = e->u.pkt.data;
	e->u.pkt.data = NULL;
	simq_release(&sim->q, slot);
	sim->st.delivered++;
	sim->st.delivered_bytes += len;
	n->st.received++;
	n->st.received_bytes += len;
	simnet_note(sim, SIMNET_TR_DELIVER, dst, &from, &to, data, len);
	n->recv(n->ctx, &from, &to, data, len);
	free(data);
}

static void
simnet_fire(struct simnet *sim, uint32_t slot)
{
	struct simq_ev *e = simq_ev(&sim->q, slot);
	uint32_t node = e->node;
	simnet_timer_cb *cb = e->u.tmr.cb;
	void *arg = e->u.tmr.arg;

	if (node != SIMNET_NONE) {
		struct simnode *n = &sim->nodes[node];

		if (!n->alive) {
			sim->st.timers_dropped++;
			simq_release(&sim->q, slot);
			return;
		}
		if (n->frozen) {
			simnet_defer(sim, n, slot);
			return;
		}
		n->st.timers_fired++;
	}
	simq_release(&sim->q, slot);
	sim->st.timers_fired++;
	simnet_note(sim, SIMNET_TR_TIMER, node, NULL, NULL, NULL, 0);
	cb(arg);
}

/* Pops and runs the earliest event; the queue must not be empty. */
static void
simnet_dispatch(struct simnet *sim)
{
	uint64_t at = sim->q.heap[0].at;
	uint32_t slot = simq_pop(&sim->q);
	struct simq_ev *e = simq_ev(&sim->q, slot);
	uint32_t node;

	hy_fake_clock_set(&sim->clock, at);
	sim->st.events++;
	switch (e->kind) {
	case SIMQ_PACKET:
		simnet_deliver(sim, slot);
		break;
	case SIMQ_TIMER:
		simnet_fire(sim, slot);
		break;
	default:
		assert(e->kind == SIMQ_RESUME);
		node = e->node;
		/* the resume event belongs to the node: resume frees it */
		assert(sim->nodes[node].resume_slot == slot);
		simnet_node_resume(sim, node);
		break;
	}
}

int
simnet_step(struct simnet *sim)
{
	if (sim->running || simq_peek(&sim->q) == NULL)
		return 0;
	sim->running = 1;
	simnet_dispatch(sim);
	sim->running = 0;
	return 1;
}

int
simnet_run_until(struct simnet *sim, uint64_t t_ms, uint64_t max_events)
{
	const struct simq_ent *top;
	uint64_t n = 0;
	int rc = HY_OK;

	if (sim->running)
		return HY_ESTATE;
	if (max_events == 0)
		max_events = sim->cfg.max_events;
	sim->running = 1;
	while ((top = simq_peek(&sim->q)) != NULL && top->at <= t_ms) {
		if (n++ == max_events) {
			rc = HY_ERANGE;
			goto out;
		}
		simnet_dispatch(sim);
	}
	hy_fake_clock_set(&sim->clock, t_ms);
out:
	sim->running = 0;
	return rc;
}

int
simnet_run_for(struct simnet *sim, uint64_t dt_ms, uint64_t max_events)
{
	uint64_t now = sim->clock.now_ms;
	uint64_t t = dt_ms > UINT64_MAX - now ? UINT64_MAX : now + dt_ms;

	return simnet_run_until(sim, t, max_events);
}

int
simnet_run_until_idle(struct simnet *sim, uint64_t max_ms, uint64_t max_events)
{
	uint64_t now = sim->clock.now_ms;
	uint64_t deadline = max_ms > UINT64_MAX - now ? UINT64_MAX : now + max_ms;
	const struct simq_ent *top;
	uint64_t n = 0;
	int rc = HY_OK;

	if (sim->running)
		return HY_ESTATE;
	if (max_events == 0)
		max_events = sim->cfg.max_events;
	sim->running = 1;
	while ((top = simq_peek(&sim->q)) != NULL) {
		if (top->at > deadline) {
			hy_fake_clock_set(&sim->clock, deadline);
			rc = HY_ETIMEDOUT;
			goto out;
		}
		if (n++ == max_events) {
			rc = HY_ERANGE;
			goto out;
		}
		simnet_dispatch(sim);
	}
out:
	sim->running = 0;
	return rc;
}

/* ---- helpers -------------------------------------------------------------- */

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
