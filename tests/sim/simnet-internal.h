/*
 * simnet-internal.h: the simulator's state, shared by simnet.c (set-up,
 * nodes, link model) and simrun.c (sending, timers, the run loop). Test
 * code; see simnet.c for the invariants.
 */
#ifndef SIMNET_INTERNAL_H
#define SIMNET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "simmap.h"
#include "simnet.h"
#include "simq.h"

struct simnode {
	void *ctx;
	simnet_recv_cb *recv;
	uint8_t alive;
	uint8_t frozen;
	uint8_t group;
	uint64_t frozen_until; /* SIMNET_FOREVER: until simnet_node_resume */
	uint32_t resume_slot; /* pending SIMQ_RESUME, or SIMQ_NONE */
	uint32_t def_head, def_tail; /* deferred slots, FIFO */
	uint32_t def_packets;
	struct hy_addr *addrs; /* addresses bound to this node */
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

/* The live node with this id, or NULL. */
static inline struct simnode *
simnet_live(const struct simnet *sim, uint32_t node)
{
	if (node >= sim->nnodes || !sim->nodes[node].alive)
		return NULL;
	return &sim->nodes[node];
}

/* Whether datagrams from group a to group b are blocked. */
static inline bool
simnet_is_blocked(const struct simnet *sim, unsigned a, unsigned b)
{
	return (sim->blocked[a] >> b) & 1;
}

/*
 * Folds an event into the trace hash and shows it to the trace callback.
 * from/to/data may be NULL; len is the datagram length (0 otherwise).
 */
void simnet_note(struct simnet *sim, enum simnet_trace_kind kind, uint32_t node,
    const struct hy_addr *from, const struct hy_addr *to, const uint8_t *data,
    size_t len);

#endif /* SIMNET_INTERNAL_H */
