/*
 * bcast.c: the piggyback queue (see bcast.h).
 *
 * A flat array of cap slots; take() selects by a partial selection on the
 * send count, O(cap * max) with max <= HY_GOSSIP_MAX. Queues are small (a
 * few hundred items), so this beats a heap in code size and is plenty fast.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include "bcast.h"

struct bitem {
	struct hy_gossip g;
	unsigned sent, limit;
	uint64_t order; /* push order: ties go to the newer item */
	bool taken; /* within one take() */
};

struct hy_bcast {
	size_t cap, len;
	uint64_t next_order;
	struct hy_bcast_stats st;
	struct bitem *it;
};

struct hy_bcast *
hy_bcast_new(size_t cap)
{
	struct hy_bcast *b;

	if (cap == 0 || cap > HY_BCAST_MAX)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->it = calloc(cap, sizeof(*b->it))) == NULL) {
		free(b);
		return NULL;
	}
	b->cap = cap;
	return b;
}

void
hy_bcast_free(struct hy_bcast *b)
{
	if (b == NULL)
		return;
	free(b->it);
	free(b);
}

static const struct hy_id *
item_id(const struct hy_gossip *g)
{
	return g->kind == HY_GOSSIP_RECORD ? &g->u.record.id : &g->u.suspect.id;
}

static long
find(const struct hy_bcast *b, unsigned kind, const struct hy_id *id)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->it[i].g.kind == kind &&
		    hy_id_eq(item_id(&b->it[i].g), id))
			return (long)i;
	return -1;
}

static void
remove_at(struct hy_bcast *b, size_t i)
{
	b->it[i] = b->it[--b->len];
}

int
hy_bcast_push(struct hy_bcast *b, const struct hy_gossip *item,
    unsigned transmits)
{
	long at;
	size_t i, worst;

	if (item->kind != HY_GOSSIP_RECORD && item->kind != HY_GOSSIP_SUSPECT)
		return HY_EINVAL;
	if (transmits == 0)
		return HY_EINVAL;
	b->st.pushed++;
	at = find(b, item->kind, item_id(item));
	if (at >= 0) {
		b->st.replaced++;
		i = (size_t)at;
	} else if (b->len < b->cap) {
		i = b->len++;
	} else {
		/* full: the most-sent (then oldest) item gives way */
		worst = 0;
		for (i = 1; i < b->len; i++)
			if (b->it[i].sent > b->it[worst].sent ||
			    (b->it[i].sent == b->it[worst].sent &&
			        b->it[i].order < b->it[worst].order))
				worst = i;
		i = worst;
		b->st.evicted++;
	}
	b->it[i].g = *item;
	b->it[i].sent = 0;
	b->it[i].limit = transmits;
	b->it[i].order = b->next_order++;
	return HY_OK;
}

void
hy_bcast_drop(struct hy_bcast *b, unsigned kind, const struct hy_id *id)
{
	long at = find(b, kind, id);

	if (at >= 0)
		remove_at(b, (size_t)at);
}

size_t
hy_bcast_item_size(const struct hy_gossip *g)
{
	/* array hdr + kind + fields; addresses at most 19 bytes each */
	if (g->kind == HY_GOSSIP_RECORD)
		return 1 + 1 + 34 + 35 + 9 + 1 +
		    19 * (size_t)g->u.record.n_addrs + 9 + 66;
	return 1 + 1 + 34 + 9 + 5;
}

size_t
hy_bcast_take(struct hy_bcast *b, struct hy_gossip *out, size_t max,
    size_t budget)
{
	size_t n = 0, i, best, sz;
	size_t used = 0;

	if (b->len == 0 || max == 0)
		return 0;
	while (n < max) {
		best = b->len;
		for (i = 0; i < b->len; i++) {
			if (b->it[i].taken)
				continue;
			sz = hy_bcast_item_size(&b->it[i].g);
			if (used + sz > budget)
				continue;
			if (best == b->len ||
			    b->it[i].sent < b->it[best].sent ||
			    (b->it[i].sent == b->it[best].sent &&
			        b->it[i].order > b->it[best].order))
				best = i;
		}
		if (best == b->len)
			break;
		b->it[best].taken = true;
		used += hy_bcast_item_size(&b->it[best].g);
		out[n++] = b->it[best].g;
		b->it[best].sent++;
		b->st.sent++;
	}
	/* retire the items that reached their limit (back to front) */
	for (i = b->len; i-- > 0;) {
		b->it[i].taken = false;
		if (b->it[i].sent >= b->it[i].limit) {
			remove_at(b, i);
			b->st.retired++;
		}
	}
	return n;
}

size_t
hy_bcast_len(const struct hy_bcast *b)
{
	return b->len;
}

void
hy_bcast_get_stats(const struct hy_bcast *b, struct hy_bcast_stats *out)
{
	*out = b->st;
	out->len = b->len;
}
