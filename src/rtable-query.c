/*
 * rtable-query.c: the Kademlia routing table, query and timer half (L3,
 * pure). The membership rules and the layout are described in rtable.c.
 *
 * closest-n (Kademlia §2.3 FIND_NODE, §2.4 bucket order). With p the
 * length of the prefix the target shares with the own ID and L = nb-1 the
 * own bucket, the buckets fall into groups whose XOR distances to the
 * target are strictly ordered:
 *   bucket p (if p < L)            distance < 2^(255-p)
 *   buckets p+1..L (or L if p>=L)  highest differing bit at p
 *   bucket p-1, then p-2, ..., 0   highest differing bit at i, i < p
 * so collecting groups nearest-first until n contacts are in hand, then
 * sorting only those by distance, gives the exact n closest without
 * looking at the far buckets. The scratch array is preallocated
 * (max_contacts entries), so the call never allocates.
 *
 * Pings (BEP 5): in a full bucket where a verified candidate waits, the
 * least-recently-seen non-good contacts are asked for, at most one
 * outstanding ping per waiting verified candidate, each contact at most once
 * per ping_timeout_ms. A reply keeps the contact (hy_rtable_heard); a
 * failure evicts it for the candidate (hy_rtable_failed).
 *
 * Refresh (Kademlia §2.3, BEP 5 "Routing Table"): a bucket not touched for
 * refresh_ms yields a random target in its range; touching it (a lookup
 * there, or a reply from one of its contacts) restarts its interval.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rtable-internal.h"

static int
hy_rt_near_cmp(const void *a, const void *b)
{
	const struct hy_rt_near *x = a, *y = b;

	return memcmp(x->dist.b, y->dist.b, HY_ID_LEN);
}

static bool
hy_rt_wanted(const struct hy_rtable *rt, const struct hy_rtable_contact *c,
    unsigned flags, uint64_t now_ms)
{
	enum hy_rtable_status st;

	if ((flags & (HY_RTABLE_NO_BAD | HY_RTABLE_GOOD_ONLY)) == 0)
		return true;
	st = hy_rtable_status(rt, c, now_ms);
	if ((flags & HY_RTABLE_GOOD_ONLY) != 0)
		return st == HY_RTABLE_GOOD;
	return st != HY_RTABLE_BAD;
}

/* Append bucket j's wanted contacts to rt->near at *m. */
static void
hy_rt_collect(const struct hy_rtable *rt, int j, const struct hy_id *target,
    unsigned flags, uint64_t now_ms, size_t *m)
{
	const struct hy_rt_bucket *b = &rt->b[j];

	for (unsigned i = 0; i < b->nc; i++) {
		struct hy_rt_near *e;

		if (!hy_rt_wanted(rt, &b->c[i], flags, now_ms))
			continue;
		e = &rt->near[(*m)++];
		hy_id_xor(&e->dist, &b->c[i].id, target);
		e->c = &b->c[i];
	}
}

size_t
hy_rtable_closest(const struct hy_rtable *rt, const struct hy_id *target,
    size_t n, struct hy_rtable_contact *out, unsigned flags, uint64_t now_ms)
{
	int last = rt->nb - 1;
	int p = hy_id_prefix_len(&rt->self, target);
	size_t m = 0;

	if (n == 0)
		return 0;
	if (p >= last) {
		hy_rt_collect(rt, last, target, flags, now_ms, &m);
	} else {
		hy_rt_collect(rt, p, target, flags, now_ms, &m);
		if (m < n)
			for (int j = p + 1; j <= last; j++)
				hy_rt_collect(rt, j, target, flags, now_ms, &m);
	}
	for (int j = (p < last ? p : last) - 1; j >= 0 && m < n; j--)
		hy_rt_collect(rt, j, target, flags, now_ms, &m);
	/* near[] is scratch owned by the table: logically const. */
	qsort(rt->near, m, sizeof(rt->near[0]), hy_rt_near_cmp);
	if (m > n)
		m = n;
	for (size_t i = 0; i < m; i++)
		out[i] = *rt->near[i].c;
	return m;
}

static bool
hy_rt_outstanding(const struct hy_rtable *rt, const struct hy_rtable_contact *c,
    uint64_t now_ms)
{
	return (c->flags & HY_RTABLE_F_PINGING) != 0 &&
	    now_ms < c->ping_ms + rt->cfg.ping_timeout_ms;
}

static unsigned
hy_rt_count_verified(const struct hy_rt_bucket *b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < b->nr; i++)
		if ((b->r[i].flags & HY_RTABLE_F_REPLIED) != 0)
			n++;
	return n;
}

size_t
hy_rtable_want_verify(struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rtable_contact *out, size_t max)
{
	size_t n = 0;

	for (int j = 0; j < rt->nb && n < max; j++) {
		struct hy_rt_bucket *b = &rt->b[j];

		for (unsigned i = 0; i < b->nc && n < max; i++) {
			struct hy_rtable_contact *c = &b->c[i];

			if ((c->flags & HY_RTABLE_F_REPLIED) != 0 ||
			    hy_rt_outstanding(rt, c, now_ms))
				continue;
			c->flags |= HY_RTABLE_F_PINGING;
			c->ping_ms = now_ms;
			out[n++] = *c;
		}
	}
	return n;
}

size_t
hy_rtable_want_pings(struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rtable_contact *out, size_t max)
{
	size_t n = 0;

	for (int j = 0; j < rt->nb && n < max; j++) {
		struct hy_rt_bucket *b = &rt->b[j];
		unsigned nv, busy = 0;

		if (b->nc < rt->cfg.k || !hy_rt_has_verified(rt, b))
			continue;
		nv = hy_rt_count_verified(b);
		for (unsigned i = 0; i < b->nc; i++)
			if (hy_rt_outstanding(rt, &b->c[i], now_ms))
				busy++;
		while (busy < nv && n < max) {
			struct hy_rtable_contact *lrs = NULL;

			for (unsigned i = 0; i < b->nc; i++) {
				struct hy_rtable_contact *c = &b->c[i];

				if (hy_rt_outstanding(rt, c, now_ms) ||
				    hy_rtable_status(rt, c, now_ms) ==
				        HY_RTABLE_GOOD)
					continue;
				if (lrs == NULL ||
				    c->last_seen_ms < lrs->last_seen_ms)
					lrs = c;
			}
			if (lrs == NULL)
				break;
			lrs->flags |= HY_RTABLE_F_PINGING;
			lrs->ping_ms = now_ms;
			out[n++] = *lrs;
			busy++;
		}
	}
	return n;
}

void
hy_rtable_touch_bucket(struct hy_rtable *rt, const struct hy_id *target,
    uint64_t now_ms)
{
	struct hy_rt_bucket *b = &rt->b[hy_rt_index(rt, target)];

	if (now_ms > b->touched_ms)
		b->touched_ms = now_ms;
}

/* A uniformly random ID in bucket j's range. */
static void
hy_rt_random_in_bucket(const struct hy_rtable *rt, int j, struct hy_rng *rng,
    struct hy_id *out)
{
	uint8_t rnd[HY_ID_LEN];
	struct hy_id r;
	int byte, bit;

	hy_rng_bytes(rng, rnd, sizeof(rnd));
	if (j < rt->nb - 1) {
		hy_id_random_in_prefix(out, &rt->self, j, rnd);
		return;
	}
	/* The own bucket: the first j bits of self, the rest random. */
	memcpy(r.b, rnd, HY_ID_LEN);
	byte = j / 8;
	bit = j % 8;
	memcpy(r.b, rt->self.b, (size_t)byte);
	if (bit != 0) {
		uint8_t keep = (uint8_t)(0xff00u >> bit);

		r.b[byte] =
		    (uint8_t)((rt->self.b[byte] & keep) | (r.b[byte] & ~keep));
	}
	*out = r;
}

size_t
hy_rtable_refresh_due(struct hy_rtable *rt, uint64_t now_ms, struct hy_rng *rng,
    struct hy_id *out, size_t max)
{
	size_t n = 0;

	for (int j = 0; j < rt->nb && n < max; j++) {
		struct hy_rt_bucket *b = &rt->b[j];

		if (now_ms < b->touched_ms + rt->cfg.refresh_ms)
			continue;
		hy_rt_random_in_bucket(rt, j, rng, &out[n++]);
		b->touched_ms = now_ms;
	}
	return n;
}

/* When does good contact c turn questionable? */
static uint64_t
hy_rt_good_until(const struct hy_rtable *rt, const struct hy_rtable_contact *c)
{
	uint64_t t = c->last_reply_ms;

	if ((c->flags & HY_RTABLE_F_QUERIED) != 0 && c->last_query_ms > t)
		t = c->last_query_ms;
	return t + rt->cfg.good_ms;
}

/* Earliest time bucket b's ping wants change, or UINT64_MAX. */
static uint64_t
hy_rt_ping_deadline(const struct hy_rtable *rt, const struct hy_rt_bucket *b,
    uint64_t now_ms)
{
	uint64_t d = UINT64_MAX;
	unsigned nv, busy = 0;
	bool askable = false;

	if (b->nc < rt->cfg.k || !hy_rt_has_verified(rt, b))
		return d;
	nv = hy_rt_count_verified(b);
	for (unsigned i = 0; i < b->nc; i++) {
		const struct hy_rtable_contact *c = &b->c[i];
		uint64_t t;

		if (hy_rt_outstanding(rt, c, now_ms)) {
			busy++;
			t = c->ping_ms + rt->cfg.ping_timeout_ms;
		} else if (hy_rtable_status(rt, c, now_ms) != HY_RTABLE_GOOD) {
			askable = true;
			continue;
		} else {
			t = hy_rt_good_until(rt, c);
		}
		if (t < d)
			d = t;
	}
	if (askable && busy < nv)
		d = now_ms;
	return d;
}

uint64_t
hy_rtable_next_deadline(const struct hy_rtable *rt, uint64_t now_ms)
{
	uint64_t d = UINT64_MAX;

	for (int j = 0; j < rt->nb; j++) {
		const struct hy_rt_bucket *b = &rt->b[j];
		uint64_t t = b->touched_ms + rt->cfg.refresh_ms;

		if (t < d)
			d = t;
		t = hy_rt_ping_deadline(rt, b, now_ms);
		if (t < d)
			d = t;
	}
	return d < now_ms ? now_ms : d;
}

uint64_t
hy_rtable_tick(struct hy_rtable *rt, uint64_t now_ms, struct hy_rng *rng,
    struct hy_rtable_work *w)
{
	w->n_pings = hy_rtable_want_pings(rt, now_ms, w->pings, w->max_pings);
	w->n_targets =
	    hy_rtable_refresh_due(rt, now_ms, rng, w->targets, w->max_targets);
	return hy_rtable_next_deadline(rt, now_ms);
}

int
hy_rtable_foreach(const struct hy_rtable *rt,
    int (*cb)(const struct hy_rtable_contact *c, void *arg), void *arg)
{
	int ret = 0;

	for (int j = 0; j < rt->nb && ret == 0; j++)
		for (unsigned i = 0; i < rt->b[j].nc && ret == 0; i++)
			ret = cb(&rt->b[j].c[i], arg);
	return ret;
}

void
hy_rtable_stats(const struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rtable_stats *st)
{
	struct hy_rtable_stats s;

	memset(&s, 0, sizeof(s));
	s.buckets = (size_t)rt->nb;
	s.contacts = rt->ncontacts;
	s.replacements = rt->ncand;
	for (int j = 0; j < rt->nb; j++)
		for (unsigned i = 0; i < rt->b[j].nc; i++)
			switch (hy_rtable_status(rt, &rt->b[j].c[i], now_ms)) {
			case HY_RTABLE_GOOD:
				s.good++;
				break;
			case HY_RTABLE_QUESTIONABLE:
				s.questionable++;
				break;
			case HY_RTABLE_BAD:
				s.bad++;
				break;
			}
	*st = s;
}
