/*
 * simnet.h: a deterministic in-memory network and fake clock for simulating
 * many hypha nodes in one process (test code; see doc/SIMULATION.md).
 *
 * One struct simnet owns a fake clock, two PRNG streams derived from one
 * seed, an event queue of datagram deliveries and timers, a table of
 * simulated nodes and the addresses they listen on, and the link model
 * (latency, jitter, loss, duplication, datagram size, partitions). Nothing
 * touches a real socket or the system clock: time moves only while a run
 * function pops events, and the same seed and the same calls give the same
 * event trace, bit for bit.
 *
 * Callbacks run from inside the run functions. They may call every function
 * here (send, add and cancel timers, crash, freeze, bind) except the run
 * functions and simnet_free. Buffers and addresses passed to callbacks are
 * borrowed for the duration of the call.
 */
#ifndef SIMNET_H
#define SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypha.h"
#include "addr.h"
#include "clock.h"
#include "rng.h"

/* "no node" / failed simnet_node_add */
#define SIMNET_NONE UINT32_MAX
/* a freeze that lasts until simnet_node_resume */
#define SIMNET_FOREVER UINT64_MAX
/* partition groups are 0 .. SIMNET_MAX_GROUPS - 1; every node starts in 0 */
#define SIMNET_MAX_GROUPS 64
/* the seed used when HY_SIM_SEED is not set and the test gives no other */
#define SIMNET_DEFAULT_SEED UINT64_C(0x5eed5eed)

struct simnet;

/* How one directed link treats a datagram. */
struct simnet_link {
	uint32_t latency_ms; /* base one-way delay */
	uint32_t jitter_ms; /* plus a uniform delay in [0, jitter_ms] */
	double loss; /* probability a datagram is dropped, [0, 1] */
	double dup; /* probability it is delivered twice, [0, 1] */
};

struct simnet_config {
	struct simnet_link link; /* default for every pair without override */
	size_t max_datagram; /* bytes; larger sends are dropped (1280) */
	size_t max_in_flight; /* datagrams queued network-wide (1 << 20) */
	size_t frozen_queue_max; /* datagrams held for a frozen node (256) */
	uint64_t max_events; /* per run call when the call passes 0 (10^8) */
	uint64_t start_ms; /* monotonic clock at creation (1000) */
	uint64_t wall_offset_ms; /* wall clock = mono + this (2026-01-01) */
};

/*
 * Network-wide counters. Conservation: sent + duplicated == delivered +
 * every dropped_* + in_flight + frozen_queued, at any instant.
 */
struct simnet_stats {
	uint64_t sent; /* simnet_send calls */
	uint64_t sent_bytes;
	uint64_t duplicated; /* extra copies the link model made */
	uint64_t delivered; /* receive callbacks run */
	uint64_t delivered_bytes;
	uint64_t dropped_loss; /* the link lost it */
	uint64_t dropped_partition; /* sender and receiver groups blocked */
	uint64_t dropped_dead; /* no live node at the address */
	uint64_t dropped_oversize; /* longer than max_datagram */
	uint64_t dropped_in_flight; /* network-wide queue full */
	uint64_t dropped_frozen; /* a frozen node's queue was full */
	uint64_t in_flight; /* deliveries now in the event queue */
	uint64_t in_flight_max; /* high-water mark of in_flight */
	uint64_t frozen_queued; /* held for frozen nodes right now */
	uint64_t timers_fired;
	uint64_t timers_cancelled;
	uint64_t timers_dropped; /* owner crashed before they fired */
	uint64_t events; /* events popped from the queue */
};

struct simnet_node_stats {
	uint64_t sent, sent_bytes; /* sends from its addresses */
	uint64_t received, received_bytes; /* receive callbacks run */
	uint64_t dropped_to; /* datagrams for it dropped for any reason */
	uint64_t timers_fired;
};

/* A datagram arrives: node_ctx is what simnet_node_add was given. */
typedef void simnet_recv_cb(void *node_ctx, const struct hy_addr *from,
    const struct hy_addr *to, const uint8_t *data, size_t len);
/* A timer is due; simnet_now() reads its time (or later, if it was frozen). */
typedef void simnet_timer_cb(void *arg);

/* What a trace callback sees for every event and every drop. */
enum simnet_trace_kind {
	SIMNET_TR_SEND = 1,
	SIMNET_TR_DELIVER,
	SIMNET_TR_TIMER,
	SIMNET_TR_DROP_LOSS,
	SIMNET_TR_DROP_PARTITION,
	SIMNET_TR_DROP_DEAD,
	SIMNET_TR_DROP_OVERSIZE,
	SIMNET_TR_DROP_IN_FLIGHT,
	SIMNET_TR_DROP_FROZEN,
	SIMNET_TR_FREEZE,
	SIMNET_TR_RESUME,
	SIMNET_TR_CRASH
};

struct simnet_trace {
	enum simnet_trace_kind kind;
	uint64_t now_ms;
	uint32_t node; /* receiver / timer owner / SIMNET_NONE */
	const struct hy_addr *from; /* datagram events only, else NULL */
	const struct hy_addr *to;
	size_t len;
};
typedef void simnet_trace_cb(void *arg, const struct simnet_trace *tr);

/* ---- lifecycle ----------------------------------------------------------- */

/* Fills cfg with the defaults listed in struct simnet_config. */
void simnet_config_default(struct simnet_config *cfg);

/*
 * Creates a simulation (cfg NULL: defaults). Returns NULL if memory runs out
 * or cfg is invalid (loss or dup outside [0, 1], max_datagram or
 * max_events 0).
 */
struct simnet *simnet_new(const struct simnet_config *cfg, uint64_t seed);
/* Frees everything, pending datagrams included; runs no callback. NULL ok. */
void simnet_free(struct simnet *sim);

/*
 * The seed a test should use: HY_SIM_SEED from the environment (decimal or
 * 0x hex) if set and valid, else def.
 */
uint64_t simnet_seed_from_env(uint64_t def);
uint64_t simnet_seed(const struct simnet *sim);
/* Prints "simnet: seed=N t=T ms (replay: HY_SIM_SEED=N)" to stderr. */
void simnet_print_seed(const struct simnet *sim);

/* The fake clock: pass to modules under test. Never NULL. */
const struct hy_clock *simnet_clock(struct simnet *sim);
uint64_t simnet_now(const struct simnet *sim);
/*
 * A PRNG stream for the simulated nodes and the test, separate from the one
 * the link model draws from, so a node's random choices do not shift the
 * network's losses and vice versa. Never NULL.
 */
struct hy_rng *simnet_rng(struct simnet *sim);

/* Counters so far (copied). */
void simnet_stats(const struct simnet *sim, struct simnet_stats *out);
/* A hash of every event so far (kind, time, node, addresses, bytes). */
uint64_t simnet_trace_hash(const struct simnet *sim);
/* Sees every event; NULL cb turns tracing off. */
void simnet_set_trace(struct simnet *sim, simnet_trace_cb *cb, void *arg);

/* ---- nodes and addresses ------------------------------------------------- */

/*
 * Adds a node; node ids are small integers handed out in order (0, 1, ...)
 * and never reused. Returns the id or SIMNET_NONE if memory ran out.
 */
uint32_t simnet_node_add(struct simnet *sim, void *node_ctx,
    simnet_recv_cb *recv);
/*
 * Makes `node` receive datagrams sent to addr. Returns 0, HY_EINVAL (no
 * such live node, unset address), HY_EEXIST (addr belongs to a live node) or
 * HY_ENOMEM.
 */
int simnet_node_bind(struct simnet *sim, uint32_t node,
    const struct hy_addr *addr);
/* Releases addr. Returns 0 or HY_ENOENT. */
int simnet_node_unbind(struct simnet *sim, const struct hy_addr *addr);
/*
 * Crashes a node: its addresses are released, its timers never fire, the
 * datagrams on their way to it and those held while it was frozen are
 * dropped (counted as dropped_dead) and its context is never used again.
 * A restart is a new node binding the same address. Returns 0 or HY_EINVAL.
 */
int simnet_node_crash(struct simnet *sim, uint32_t node);
bool simnet_node_alive(const struct simnet *sim, uint32_t node);
/* The live node listening on addr, or SIMNET_NONE. */
uint32_t simnet_node_at(const struct simnet *sim, const struct hy_addr *addr);
/* Per-node counters; returns 0 or HY_EINVAL (unknown id). */
int simnet_node_stats(const struct simnet *sim, uint32_t node,
    struct simnet_node_stats *out);

/*
 * Freezes a node for duration_ms (SIMNET_FOREVER: until simnet_node_resume):
 * datagrams for it are held in a queue of at most frozen_queue_max (the rest
 * counted as dropped_frozen) and its timers wait; when it resumes, the held
 * datagrams and overdue timers run at the resume time in the order they
 * became due. Freezing a frozen node extends the freeze to the later end.
 * Returns 0, HY_EINVAL or HY_ENOMEM.
 */
int simnet_node_freeze(struct simnet *sim, uint32_t node, uint64_t duration_ms);
/*
 * Ends a freeze now: what the node held runs next. Returns 0, HY_EINVAL,
 * HY_ESTATE (not frozen) or HY_ENOMEM (some held work was lost, counted).
 */
int simnet_node_resume(struct simnet *sim, uint32_t node);
bool simnet_node_frozen(const struct simnet *sim, uint32_t node);

/* ---- link model ---------------------------------------------------------- */

/* Replaces the default link. Returns 0 or HY_EINVAL. */
int simnet_set_default_link(struct simnet *sim, const struct simnet_link *l);
/*
 * Overrides the link from `from` to `to` (one direction; call twice for
 * both). Returns 0, HY_EINVAL or HY_ENOMEM.
 */
int simnet_link_set(struct simnet *sim, const struct hy_addr *from,
    const struct hy_addr *to, const struct simnet_link *l);
/* Removes an override. Returns 0 or HY_ENOENT. */
int simnet_link_clear(struct simnet *sim, const struct hy_addr *from,
    const struct hy_addr *to);

/* Puts a node in partition group g. Returns 0 or HY_EINVAL. */
int simnet_node_set_group(struct simnet *sim, uint32_t node, unsigned g);
/*
 * Blocks (or unblocks) datagrams from group a to group b; one direction,
 * so asymmetric partitions are possible. Datagrams already in flight across
 * a blocked link are dropped when they arrive. Returns 0 or HY_EINVAL.
 */
int simnet_block(struct simnet *sim, unsigned from_g, unsigned to_g,
    bool blocked);
/* Blocks both directions between a and b. Returns 0 or HY_EINVAL. */
int simnet_partition(struct simnet *sim, unsigned a, unsigned b);
/* Unblocks both directions between a and b. Returns 0 or HY_EINVAL. */
int simnet_heal(struct simnet *sim, unsigned a, unsigned b);
/* Unblocks everything. */
void simnet_heal_all(struct simnet *sim);

/* ---- traffic and timers -------------------------------------------------- */

/*
 * Sends a datagram: copies data and schedules its delivery to the node at
 * `to` at now + latency + jitter, unless the link model drops it (counted;
 * like UDP, the sender is not told). from need not be bound, but only a
 * bound from is placed in its node's partition group (else group 0).
 * Returns 0, or HY_ENOMEM (that copy is lost and counted as
 * dropped_in_flight, as if the network were full).
 */
int simnet_send(struct simnet *sim, const struct hy_addr *from,
    const struct hy_addr *to, const void *data, size_t len);

/*
 * Runs cb(arg) at absolute time at_ms (a past time means now, after the
 * events already due now). A timer owned by a node (simnet_node_timer_add)
 * waits while the node is frozen and is dropped when it crashes; an unowned
 * one (simnet_timer_add) belongs to the test driver. Returns a handle,
 * never 0, or 0 if memory ran out.
 */
uint64_t simnet_timer_add(struct simnet *sim, uint64_t at_ms,
    simnet_timer_cb *cb, void *arg);
uint64_t simnet_node_timer_add(struct simnet *sim, uint32_t node,
    uint64_t at_ms, simnet_timer_cb *cb, void *arg);
/*
 * Cancels a pending timer: true if it was pending, false if it already ran,
 * was cancelled or was dropped.
 */
bool simnet_timer_cancel(struct simnet *sim, uint64_t handle);

/* ---- running ------------------------------------------------------------- */

/*
 * Runs the earliest event. Returns 1 if one ran, 0 if the queue is empty or
 * the call comes from inside a callback.
 */
int simnet_step(struct simnet *sim);
/*
 * Runs every event due at or before t_ms, then sets the clock to t_ms (if
 * later). At most max_events (0: the config's max_events) run. Returns 0,
 * HY_ERANGE if the budget ran out first (the clock then reads the last
 * event's time) or HY_ESTATE if called from inside a callback (nothing runs;
 * the same holds for simnet_run_for and simnet_run_until_idle).
 */
int simnet_run_until(struct simnet *sim, uint64_t t_ms, uint64_t max_events);
/* simnet_run_until(sim, now + dt_ms, max_events). */
int simnet_run_for(struct simnet *sim, uint64_t dt_ms, uint64_t max_events);
/*
 * Runs until no event is pending, for at most max_ms of simulated time.
 * Returns 0 when idle (the clock reads the last event's time), HY_ETIMEDOUT
 * if events remain after max_ms (the clock reads now + max_ms) or HY_ERANGE
 * if the budget ran out. Nodes frozen forever do not keep the network busy.
 */
int simnet_run_until_idle(struct simnet *sim, uint64_t max_ms,
    uint64_t max_events);
/* Events pending in the queue. */
size_t simnet_pending(const struct simnet *sim);

/* ---- helpers ------------------------------------------------------------- */

/* An IPv4 address from a host-order 32-bit value and a port. */
struct hy_addr simnet_addr4(uint32_t ip, uint16_t port);
/* 10.0.0.1 + i, port: a distinct private address for node number i. */
struct hy_addr simnet_addr_nth(uint32_t i, uint16_t port);

#endif /* SIMNET_H */
