/*
 * bcast.h: the queue of gossip items waiting to be piggybacked (L4).
 *
 * Each item (a signed self-record or a suspicion hint, wire.h struct
 * hy_gossip) is sent a bounded number of times, then dropped: SWIM's
 * infection-style dissemination with a retransmit limit of lambda * log n
 * (the caller computes the limit). At most one item per (kind, node ID):
 * pushing a newer one replaces the old and resets its count. Items that
 * were sent the fewest times go first. When the queue is full the item
 * sent the most times gives way. Pure: no clock, no I/O.
 */
#ifndef HY_BCAST_H
#define HY_BCAST_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define HY_BCAST_MAX 4096

struct hy_bcast;

struct hy_bcast_stats {
	uint64_t pushed, replaced, evicted, sent, retired;
	size_t len;
};

/* A queue of at most cap (1..HY_BCAST_MAX) items. NULL on bad cap / ENOMEM. */
struct hy_bcast *hy_bcast_new(size_t cap);
void hy_bcast_free(struct hy_bcast *b);

/*
 * Queue item to be sent `transmits` (>= 1) times, replacing the queued item
 * of the same kind and ID. Returns 0 or HY_EINVAL (unknown kind, 0).
 */
int hy_bcast_push(struct hy_bcast *b, const struct hy_gossip *item,
    unsigned transmits);

/* Remove the queued item of this kind and ID, if any. */
void hy_bcast_drop(struct hy_bcast *b, unsigned kind, const struct hy_id *id);

/*
 * Copy up to max items whose wire sizes (hy_bcast_item_size) add up to at
 * most budget bytes into out, least-sent first, counting one transmission
 * each (items that reach their limit leave the queue). Returns how many.
 */
size_t hy_bcast_take(struct hy_bcast *b, struct hy_gossip *out, size_t max,
    size_t budget);

/* An upper bound of an item's encoded size in bytes. */
size_t hy_bcast_item_size(const struct hy_gossip *item);

size_t hy_bcast_len(const struct hy_bcast *b);
void hy_bcast_get_stats(const struct hy_bcast *b, struct hy_bcast_stats *out);

#endif /* HY_BCAST_H */
