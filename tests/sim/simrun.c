/*
 * simrun.c: the simulator's moving parts: sending a datagram through the
 * link model, timers, and the run loop that pops events in (time, sequence)
 * order, sets the fake clock and dispatches them (test code).
 *
 * The link model decides a datagram's fate at send time, drawing from the
 * network PRNG in a fixed order (loss, then duplication, then one jitter per
 * copy), so the draws, like everything else, depend only on the seed and the
 * order of calls. Arrival re-checks what may have changed in flight: the
 * receiver crashed (dropped_dead), a partition came up (dropped_partition),
 * the receiver is frozen (held, or dropped_frozen when its queue is full).
 *
 * The run functions refuse to nest (a callback cannot run the simulation)
 * and stop after a bounded number of events, so a protocol that reschedules
 * itself forever at one instant ends the test instead of hanging it.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "simnet-internal.h"

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

/* ---- sending ------------------------------------------------------------- */

/* Counts a drop of a datagram addressed to dst (SIMNET_NONE if nobody). */
static void
simnet_count_drop(struct simnet *sim, enum simnet_trace_kind why, uint32_t dst,
    const struct hy_addr *from, const struct hy_addr *to, size_t len)
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
		delay +=
		    hy_rng_below(&sim->net_rng, (uint64_t)l->jitter_ms + 1);
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
		int r =
		    simnet_enqueue(sim, l, dst, src_group, from, to, data, len);

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

	if (cb == NULL ||
	    (node != SIMNET_NONE && simnet_live(sim, node) == NULL))
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

/* ---- running ------------------------------------------------------------- */

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
	uint64_t deadline =
	    max_ms > UINT64_MAX - now ? UINT64_MAX : now + max_ms;
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
