/*
 * simq.h: the simulator's event queue (test code, internal to tests/sim).
 *
 * A pool of event slots plus a binary min-heap of (time, seq, slot). Events
 * are ordered by time, then by the sequence number the queue hands out at
 * insertion, so two events due at the same millisecond always run in the
 * order they were scheduled: the queue is deterministic. Each slot remembers
 * its heap position, so cancelling a pending event is O(log n), and carries a
 * generation so a stale handle never names a reused slot.
 */
#ifndef SIMQ_H
#define SIMQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SIMQ_NONE UINT32_MAX

enum simq_kind {
	SIMQ_FREE = 0,
	SIMQ_PACKET, /* a datagram on its way to a node */
	SIMQ_TIMER, /* a callback due at a time */
	SIMQ_RESUME /* a frozen node wakes up */
};

typedef void simq_timer_cb(void *arg);

struct simq_ev {
	uint8_t kind; /* enum simq_kind */
	uint8_t cancelled; /* a deferred timer cancelled while frozen */
	uint32_t gen; /* bumped when the slot is freed */
	uint32_t heap_pos; /* index in the heap, SIMQ_NONE when not in it */
	uint32_t next; /* free list / per-node deferred list link */
	uint32_t node; /* destination / owner node, SIMQ_NONE for none */
	union {
		struct {
			struct hy_addr from;
			struct hy_addr to;
			uint8_t *data; /* owned; freed with the slot */
			uint32_t len;
			uint8_t src_group; /* sender's partition group */
		} pkt;
		struct {
			simq_timer_cb *cb;
			void *arg;
		} tmr;
		struct {
			uint64_t until; /* the freeze this event ends */
		} res;
	} u;
};

struct simq_ent {
	uint64_t at; /* due time, ms */
	uint64_t seq; /* insertion order, breaks ties */
	uint32_t slot; /* index into the slot pool */
};

struct simq {
	struct simq_ev *slots;
	uint32_t nslots; /* allocated */
	uint32_t free_head;
	struct simq_ent *heap;
	uint32_t nheap;
	uint32_t heap_cap;
	uint64_t next_seq; /* simq_push: from 2^63 up */
	uint64_t next_requeue; /* simq_requeue: from 0 up */
};

void simq_init(struct simq *q);
/* Frees the pool and heap and every packet buffer still owned by a slot. */
void simq_fini(struct simq *q);

/*
 * Takes a free slot and zeroes its payload; returns its index, or SIMQ_NONE
 * if memory ran out. The pool may move: slot pointers do not survive a
 * simq_alloc, indices do.
 */
uint32_t simq_alloc(struct simq *q, enum simq_kind kind, uint32_t node);
/* Returns a slot to the pool, freeing its packet buffer. */
void simq_release(struct simq *q, uint32_t slot);

static inline struct simq_ev *
simq_ev(struct simq *q, uint32_t slot)
{
	return &q->slots[slot];
}

/* Queues a slot at time `at`. Returns 0 or HY_ENOMEM. */
int simq_push(struct simq *q, uint32_t slot, uint64_t at);
/*
 * Queues a slot that was held back (a frozen node's datagram or timer) at
 * time `at`, ahead of every event pushed with simq_push for the same time:
 * requeued slots take sequence numbers from a lower range, in the order they
 * are requeued. Returns 0 or HY_ENOMEM.
 */
int simq_requeue(struct simq *q, uint32_t slot, uint64_t at);
/* Takes a queued slot out of the heap (it stays allocated). */
void simq_remove(struct simq *q, uint32_t slot);
/* The earliest entry, or NULL when the queue is empty. */
static inline const struct simq_ent *
simq_peek(const struct simq *q)
{
	return q->nheap > 0 ? &q->heap[0] : NULL;
}
/* Removes the earliest entry and returns its slot (queue must be non-empty). */
uint32_t simq_pop(struct simq *q);

static inline uint32_t
simq_len(const struct simq *q)
{
	return q->nheap;
}

/* A handle names (slot, generation); 0 is never a valid handle. */
static inline uint64_t
simq_handle(const struct simq *q, uint32_t slot)
{
	return ((uint64_t)q->slots[slot].gen << 32) | slot;
}

/* The slot a handle names, or SIMQ_NONE if it is stale. */
uint32_t simq_from_handle(const struct simq *q, uint64_t handle);

#endif /* SIMQ_H */
