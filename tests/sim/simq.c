/*
 * simq.c: the simulator's event queue: a slot pool and a binary min-heap.
 *
 * Invariants:
 *  - heap[i] <= heap[2i+1], heap[2i+2] under the order (at, seq); seq is
 *    unique (simq_push counts up from 2^63, simq_requeue from 0, and
 *    neither range can reach the other), so the order is total and two runs
 *    that push the same events in the same order pop them in the same
 *    order. Requeued (held-back) events sort before fresh ones due at the
 *    same time.
 *  - slots[heap[i].slot].heap_pos == i for every i < nheap; a slot that is not
 *    in the heap has heap_pos == SIMQ_NONE.
 *  - a free slot has kind SIMQ_FREE and sits on the free list (linked by
 *    `next`); its generation changed when it was freed, so handles issued
 *    for its previous life no longer resolve.
 *
 * Heap entries carry their key, so sift operations touch only the heap array
 * (24 bytes an entry) and not the slots; this keeps 10^6 pending events cheap.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hypha.h"
#include "simq.h"

void
simq_init(struct simq *q)
{
	memset(q, 0, sizeof(*q));
	q->free_head = SIMQ_NONE;
	q->next_seq = UINT64_C(1) << 63;
}

void
simq_fini(struct simq *q)
{
	for (uint32_t i = 0; i < q->nslots; i++)
		if (q->slots[i].kind == SIMQ_PACKET)
			free(q->slots[i].u.pkt.data);
	free(q->slots);
	free(q->heap);
	simq_init(q);
}

static int
simq_grow_slots(struct simq *q)
{
	uint32_t n = q->nslots ? q->nslots * 2 : 1024;
	struct simq_ev *s;

	if (n <= q->nslots || n >= SIMQ_NONE)
		return HY_ENOMEM;
	s = realloc(q->slots, (size_t)n * sizeof(*s));
	if (s == NULL)
		return HY_ENOMEM;
	/* thread the new slots onto the free list, lowest index first */
	for (uint32_t i = n; i-- > q->nslots;) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].kind = SIMQ_FREE;
		s[i].gen = 1;
		s[i].heap_pos = SIMQ_NONE;
		s[i].next = q->free_head;
		q->free_head = i;
	}
	q->slots = s;
	q->nslots = n;
	return HY_OK;
}

uint32_t
simq_alloc(struct simq *q, enum simq_kind kind, uint32_t node)
{
	struct simq_ev *e;
	uint32_t slot;

	if (q->free_head == SIMQ_NONE && simq_grow_slots(q) != HY_OK)
		return SIMQ_NONE;
	slot = q->free_head;
	e = &q->slots[slot];
	q->free_head = e->next;
	memset(&e->u, 0, sizeof(e->u));
	e->kind = (uint8_t)kind;
	e->cancelled = 0;
	e->heap_pos = SIMQ_NONE;
	e->next = SIMQ_NONE;
	e->node = node;
	return slot;
}

void
simq_release(struct simq *q, uint32_t slot)
{
	struct simq_ev *e = &q->slots[slot];

	if (e->kind == SIMQ_PACKET)
		free(e->u.pkt.data);
	e->kind = SIMQ_FREE;
	e->u.pkt.data = NULL;
	e->heap_pos = SIMQ_NONE;
	if (++e->gen == 0)
		e->gen = 1;
	e->next = q->free_head;
	q->free_head = slot;
}

uint32_t
simq_from_handle(const struct simq *q, uint64_t handle)
{
	uint32_t slot = (uint32_t)handle;
	uint32_t gen = (uint32_t)(handle >> 32);

	if (handle == 0 || slot >= q->nslots)
		return SIMQ_NONE;
	if (q->slots[slot].gen != gen || q->slots[slot].kind == SIMQ_FREE)
		return SIMQ_NONE;
	return slot;
}

static inline int
simq_less(const struct simq_ent *a, const struct simq_ent *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static inline void
simq_place(struct simq *q, uint32_t i, const struct simq_ent *ent)
{
	q->heap[i] = *ent;
	q->slots[ent->slot].heap_pos = i;
}

static void
simq_sift_up(struct simq *q, uint32_t i)
{
	struct simq_ent ent = q->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!simq_less(&ent, &q->heap[parent]))
			break;
		simq_place(q, i, &q->heap[parent]);
		i = parent;
	}
	simq_place(q, i, &ent);
}

static void
simq_sift_down(struct simq *q, uint32_t i)
{
	struct simq_ent ent = q->heap[i];
	uint32_t n = q->nheap;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && simq_less(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!simq_less(&q->heap[c], &ent))
			break;
		simq_place(q, i, &q->heap[c]);
		i = c;
	}
	simq_place(q, i, &ent);
}

static int
simq_insert(struct simq *q, uint32_t slot, uint64_t at, uint64_t seq)
{
	struct simq_ent ent;

	if (q->nheap == q->heap_cap) {
		uint32_t n = q->heap_cap ? q->heap_cap * 2 : 1024;
		struct simq_ent *h;

		if (n <= q->heap_cap)
			return HY_ENOMEM;
		h = realloc(q->heap, (size_t)n * sizeof(*h));
		if (h == NULL)
			return HY_ENOMEM;
		q->heap = h;
		q->heap_cap = n;
	}
	ent.at = at;
	ent.seq = seq;
	ent.slot = slot;
	q->heap[q->nheap] = ent;
	q->slots[slot].heap_pos = q->nheap;
	q->nheap++;
	simq_sift_up(q, q->nheap - 1);
	return HY_OK;
}

int
simq_push(struct simq *q, uint32_t slot, uint64_t at)
{
	int rc = simq_insert(q, slot, at, q->next_seq);

	if (rc == HY_OK)
		q->next_seq++;
	return rc;
}

int
simq_requeue(struct simq *q, uint32_t slot, uint64_t at)
{
	int rc = simq_insert(q, slot, at, q->next_requeue);

	if (rc == HY_OK)
		q->next_requeue++;
	return rc;
}

void
simq_remove(struct simq *q, uint32_t slot)
{
	uint32_t i = q->slots[slot].heap_pos;
	uint32_t last;

	if (i == SIMQ_NONE)
		return;
	q->slots[slot].heap_pos = SIMQ_NONE;
	last = --q->nheap;
	if (i == last)
		return;
	simq_place(q, i, &q->heap[last]);
	/* the moved entry may belong above or below its new place */
	if (i > 0 && simq_less(&q->heap[i], &q->heap[(i - 1) / 2]))
		simq_sift_up(q, i);
	else
		simq_sift_down(q, i);
}

uint32_t
simq_pop(struct simq *q)
{
	uint32_t slot = q->heap[0].slot;

	simq_remove(q, slot);
	return slot;
}
