/*
 * rtable-internal.h: the routing table's layout, shared by rtable.c
 * (membership: admission, failures, eviction, splitting) and rtable-query.c
 * (closest-n, pings, refresh, deadlines, iteration). Nothing outside these
 * two files includes it.
 */
#ifndef HY_RTABLE_INTERNAL_H
#define HY_RTABLE_INTERNAL_H

#include "rtable.h"

/*
 * A bucket: up to k contacts and up to repl candidates, both arrays
 * allocated when the bucket is created (one allocation per split).
 * Candidates use the contact struct; HY_RTABLE_F_REPLIED marks a verified
 * one.
 */
struct hy_rt_bucket {
	struct hy_rtable_contact *c; /* [cfg.k] */
	struct hy_rtable_contact *r; /* [cfg.repl_size] */
	unsigned nc;
	unsigned nr;
	uint64_t touched_ms; /* last lookup in its range or reply from it */
};

/* closest-n scratch: XOR distance to the target, then the contact. */
struct hy_rt_near {
	struct hy_id dist;
	const struct hy_rtable_contact *c;
};

struct hy_rtable {
	struct hy_id self;
	struct hy_rtable_config cfg;
	int nb; /* buckets in use, 1..HY_RTABLE_MAX_BUCKETS */
	size_t ncontacts; /* sum of nc */
	size_t ncand; /* sum of nr */
	struct hy_rt_near *near; /* [cfg.max_contacts], for closest */
	struct hy_rt_bucket b[HY_RTABLE_MAX_BUCKETS];
};

/* Index of the bucket covering id. */
int hy_rt_index(const struct hy_rtable *rt, const struct hy_id *id);
/* Does a verified candidate wait in b? */
bool hy_rt_has_verified(const struct hy_rtable *rt,
    const struct hy_rt_bucket *b);

#endif /* HY_RTABLE_INTERNAL_H */
