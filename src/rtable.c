/*
 * rtable.c: the Kademlia routing table, membership half (L3, pure).
 *
 * Sources. Kademlia (Maymounkov & Mazieres 2002) §2.2: k-buckets hold
 * contacts ordered by last-seen time, and a full bucket keeps its
 * least-recently-seen (LRS) contact while that contact answers, because
 * long-lived nodes are the likeliest to stay; §2.4: the bucket whose range
 * covers the own ID splits when full, no other bucket does; §4.1: a stale
 * contact is kept while no replacement exists, and candidates wait in a
 * per-bucket replacement cache. BEP 5 ("Routing Table"): a node is good if
 * it replied to one of our queries within 15 minutes, or ever replied and
 * sent us a query within 15 minutes; questionable after that; bad after
 * failing several queries in a row; a full bucket pings its questionable
 * LRS nodes before a new node may take one's place.
 *
 * Layout. Bucket i < nb-1 holds the IDs sharing exactly i leading bits with
 * the own ID; the last bucket (nb-1, the "own bucket") holds every ID
 * sharing at least nb-1 bits. The own bucket splits when full (nb <= 256).
 * Each bucket has k contact slots and repl_size candidate slots, allocated
 * when the bucket is created, so steady-state operations never allocate.
 *
 * Rules this file enforces (and the tests check):
 *  - Refused outright: martian addresses and, unless allow_local, local
 *    ones (HY_EMARTIAN); the own ID (HY_ESELF); the zero ID (HY_EMALFORMED).
 *  - Status (hy_rtable_status): bad when fails >= bad_fails; good when it
 *    has no failure pending (fails == 0), has replied at least once, and
 *    replied or queried us within good_ms; questionable otherwise. So one
 *    failure makes a good contact questionable, bad_fails make it bad.
 *  - A REPLY resets fails and touches the bucket; a QUERY only refreshes
 *    last_query/last_seen (an unverified query never clears failures).
 *  - A new ID (REPLY or QUERY) enters a bucket that has room. QUERY-only
 *    contacts start questionable (never replied). With admit_unverified
 *    off, a new ID heard only by QUERY waits as a candidate (CACHED) until
 *    it replies (DESIGN.md §5: hearsay is pinged before it enters).
 *  - Full bucket: the own bucket splits if it can; otherwise a bad contact
 *    is replaced at once; otherwise the candidate goes to the replacement
 *    cache. A verified (REPLY) candidate facing non-good contacts gives
 *    PENDING and hy_rtable_want_pings asks for the LRS non-good contacts;
 *    an unverified one, or one facing only good contacts, gives CACHED.
 *  - A failure of a contact the table asked to ping (F_PINGING) evicts it at
 *    once when a candidate waits (BEP 5: the pinged node failed to
 *    respond); so does a failure that makes it bad. A bad contact with no
 *    candidate stays (Kademlia §4.1).
 *  - Promotion takes the best candidate: verified before unverified, then
 *    most recently seen; a candidate that now breaks a diversity cap or
 *    whose address is taken is dropped and the next one tried.
 *  - An ID lives in one place only: a contact, or a candidate of the bucket
 *    covering it. No two contacts share an address (ip and port).
 *  - An ID heard at another address: the contact keeps its address
 *    (HY_EEXIST) unless it is bad, in which case it moves to the new one
 *    with a clean record. An address already owned by another contact is
 *    refused (HY_EEXIST) unless that contact is bad, which is removed.
 *    Candidates: a newer claim to a cached address or ID replaces the
 *    cached one, except that a QUERY never re-points a verified candidate.
 *  - A reply from a candidate does not touch its bucket (only contacts do).
 *  - Cost: finding an ID is O(k) (its bucket is known from the prefix);
 *    admitting a new ID scans the table once for address uniqueness and
 *    once for the diversity counts, O(contacts), fine for the few thousand
 *    contacts a table holds.
 *  - Diversity: at most div_per_bucket contacts per /div_v4_bits
 *    (/div_v6_bits) in a bucket, div_per_table in the table, and at most
 *    div_per_bucket candidates per prefix in a cache; local addresses are
 *    exempt when allow_local and local_div_exempt are both set.
 *  - Bounds: k contacts and repl_size candidates per bucket, nb <= 256,
 *    ncontacts <= max_contacts (a full table caches instead of adding).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rtable-internal.h"

#define HY_RT_DAY_MS (24ull * 3600 * 1000)

void
hy_rtable_config_default(struct hy_rtable_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->k = 20;
	cfg->repl_size = 0; /* = k */
	cfg->max_contacts = 4096;
	cfg->good_ms = 15 * 60 * 1000;
	cfg->bad_fails = 2;
	cfg->refresh_ms = 15 * 60 * 1000;
	cfg->ping_timeout_ms = 10 * 1000;
	cfg->div_v4_bits = 24;
	cfg->div_v6_bits = 64;
	cfg->div_per_bucket = 2;
	cfg->div_per_table = 10;
	cfg->allow_local = false;
	cfg->local_div_exempt = true;
	cfg->admit_unverified = true;
}

static bool
hy_rt_config_ok(const struct hy_rtable_config *c)
{
	/* Times are capped at a year so t + window never overflows. */
	return c->k >= 1 && c->k <= HY_RTABLE_K_MAX &&
	    c->repl_size <= HY_RTABLE_REPL_MAX && c->max_contacts >= c->k &&
	    c->good_ms >= 1 && c->good_ms <= 365 * HY_RT_DAY_MS &&
	    c->bad_fails >= 1 && c->refresh_ms >= 1 &&
	    c->refresh_ms <= 365 * HY_RT_DAY_MS && c->ping_timeout_ms >= 1 &&
	    c->ping_timeout_ms <= 365 * HY_RT_DAY_MS && c->div_v4_bits <= 32 &&
	    c->div_v6_bits <= 128;
}

static int
hy_rt_bucket_alloc(struct hy_rtable *rt, struct hy_rt_bucket *b,
    uint64_t now_ms)
{
	b->c = calloc(rt->cfg.k, sizeof(*b->c));
	b->r = calloc(rt->cfg.repl_size, sizeof(*b->r));
	if (b->c == NULL || b->r == NULL) {
		free(b->c);
		free(b->r);
		b->c = b->r = NULL;
		return HY_ENOMEM;
	}
	b->nc = b->nr = 0;
	b->touched_ms = now_ms;
	return HY_OK;
}

int
hy_rtable_new(struct hy_rtable **out, const struct hy_id *self,
    const struct hy_rtable_config *cfg, uint64_t now_ms)
{
	struct hy_rtable *rt = NULL;
	int err = HY_EINVAL;

	if (self == NULL || hy_id_is_zero(self))
		goto out;
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		err = HY_ENOMEM;
		goto out;
	}
	if (cfg != NULL)
		rt->cfg = *cfg;
	else
		hy_rtable_config_default(&rt->cfg);
	if (rt->cfg.repl_size == 0)
		rt->cfg.repl_size = rt->cfg.k;
	if (!hy_rt_config_ok(&rt->cfg))
		goto out;
	/* More than 256 full buckets can hold is no cap at all. */
	if (rt->cfg.max_contacts > HY_RTABLE_MAX_BUCKETS * rt->cfg.k)
		rt->cfg.max_contacts = HY_RTABLE_MAX_BUCKETS * rt->cfg.k;
	rt->self = *self;
	err = HY_ENOMEM;
	rt->near = calloc(rt->cfg.max_contacts, sizeof(*rt->near));
	if (rt->near == NULL)
		goto out;
	if (hy_rt_bucket_alloc(rt, &rt->b[0], now_ms) != HY_OK)
		goto out;
	rt->nb = 1;
	*out = rt;
	rt = NULL;
	err = HY_OK;
out:
	hy_rtable_free(rt);
	return err;
}

void
hy_rtable_free(struct hy_rtable *rt)
{
	if (rt == NULL)
		return;
	for (int i = 0; i < rt->nb; i++) {
		free(rt->b[i].c);
		free(rt->b[i].r);
	}
	free(rt->near);
	free(rt);
}

int
hy_rt_index(const struct hy_rtable *rt, const struct hy_id *id)
{
	int p = hy_id_prefix_len(&rt->self, id);

	return p < rt->nb - 1 ? p : rt->nb - 1;
}

int
hy_rtable_bucket_count(const struct hy_rtable *rt)
{
	return rt->nb;
}

int
hy_rtable_bucket_of(const struct hy_rtable *rt, const struct hy_id *id)
{
	return hy_rt_index(rt, id);
}

enum hy_rtable_status
hy_rtable_status(const struct hy_rtable *rt, const struct hy_rtable_contact *c,
    uint64_t now_ms)
{
	uint64_t w = rt->cfg.good_ms;

	if (c->fails >= rt->cfg.bad_fails)
		return HY_RTABLE_BAD;
	if (c->fails == 0 && (c->flags & HY_RTABLE_F_REPLIED) != 0 &&
	    (now_ms < c->last_reply_ms + w ||
	        ((c->flags & HY_RTABLE_F_QUERIED) != 0 &&
	            now_ms < c->last_query_ms + w)))
		return HY_RTABLE_GOOD;
	return HY_RTABLE_QUESTIONABLE;
}

/* Index of id among b's contacts (or candidates if cand), or -1. */
static int
hy_rt_slot(const struct hy_rtable *rt, const struct hy_rt_bucket *b,
    const struct hy_id *id, bool cand)
{
	const struct hy_rtable_contact *a = cand ? b->r : b->c;
	unsigned n = cand ? b->nr : b->nc;

	(void)rt;
	for (unsigned i = 0; i < n; i++)
		if (hy_id_eq(&a[i].id, id))
			return (int)i;
	return -1;
}

/* The contact at exactly addr, or NULL; *bi gets its bucket. */
static struct hy_rtable_contact *
hy_rt_by_addr(struct hy_rtable *rt, const struct hy_addr *addr, int *bi)
{
	for (int j = 0; j < rt->nb; j++)
		for (unsigned i = 0; i < rt->b[j].nc; i++)
			if (hy_addr_eq(&rt->b[j].c[i].addr, addr)) {
				*bi = j;
				return &rt->b[j].c[i];
			}
	return NULL;
}

static bool
hy_rt_div_exempt(const struct hy_rtable *rt, const struct hy_addr *addr)
{
	return rt->cfg.allow_local && rt->cfg.local_div_exempt &&
	    hy_addr_is_local(addr);
}

static bool
hy_rt_same_net(const struct hy_rtable *rt, const struct hy_addr *a,
    const struct hy_addr *b)
{
	return hy_addr_same_prefix(a, b, (int)rt->cfg.div_v4_bits,
	    (int)rt->cfg.div_v6_bits);
}

/*
 * May addr join bucket bi as a contact? Counts contacts in the same network
 * prefix, ignoring skip (the contact it would replace).
 */
static bool
hy_rt_div_ok(const struct hy_rtable *rt, int bi, const struct hy_addr *addr,
    const struct hy_rtable_contact *skip)
{
	unsigned in_bucket = 0, in_table = 0;

	if (hy_rt_div_exempt(rt, addr))
		return true;
	for (int j = 0; j < rt->nb; j++) {
		const struct hy_rt_bucket *b = &rt->b[j];

		for (unsigned i = 0; i < b->nc; i++) {
			if (&b->c[i] == skip ||
			    !hy_rt_same_net(rt, &b->c[i].addr, addr))
				continue;
			in_table++;
			if (j == bi)
				in_bucket++;
		}
	}
	if (rt->cfg.div_per_bucket != 0 && in_bucket >= rt->cfg.div_per_bucket)
		return false;
	if (rt->cfg.div_per_table != 0 && in_table >= rt->cfg.div_per_table)
		return false;
	return true;
}

static void
hy_rt_notify(const struct hy_rtable *rt, const struct hy_rtable_contact *c,
    bool added)
{
	if (rt->cfg.on_change != NULL)
		rt->cfg.on_change(rt->cfg.on_change_arg, c, added);
}

static void
hy_rt_drop_contact(struct hy_rtable *rt, struct hy_rt_bucket *b, unsigned i)
{
	struct hy_rtable_contact gone = b->c[i];

	b->c[i] = b->c[--b->nc];
	rt->ncontacts--;
	hy_rt_notify(rt, &gone, false);
}

static void
hy_rt_drop_cand(struct hy_rtable *rt, struct hy_rt_bucket *b, unsigned i)
{
	b->r[i] = b->r[--b->nr];
	rt->ncand--;
}

/* Is candidate a a better replacement than b? */
static bool
hy_rt_cand_better(const struct hy_rtable_contact *a,
    const struct hy_rtable_contact *b)
{
	bool va = (a->flags & HY_RTABLE_F_REPLIED) != 0;
	bool vb = (b->flags & HY_RTABLE_F_REPLIED) != 0;

	if (va != vb)
		return va;
	return a->last_seen_ms > b->last_seen_ms;
}

bool
hy_rt_has_verified(const struct hy_rtable *rt, const struct hy_rt_bucket *b)
{
	(void)rt;
	for (unsigned i = 0; i < b->nr; i++)
		if ((b->r[i].flags & HY_RTABLE_F_REPLIED) != 0)
			return true;
	return false;
}

/*
 * Promote candidates into bucket bi while it and the table have room. A
 * candidate that can no longer be admitted is dropped.
 */
static void
hy_rt_fill(struct hy_rtable *rt, int bi)
{
	struct hy_rt_bucket *b = &rt->b[bi];
	int dummy;

	while (b->nr > 0 && b->nc < rt->cfg.k &&
	    rt->ncontacts < rt->cfg.max_contacts) {
		struct hy_rtable_contact cand;
		unsigned best = 0;

		for (unsigned i = 1; i < b->nr; i++)
			if (hy_rt_cand_better(&b->r[i], &b->r[best]))
				best = i;
		cand = b->r[best];
		hy_rt_drop_cand(rt, b, best);
		if (hy_rt_by_addr(rt, &cand.addr, &dummy) != NULL ||
		    !hy_rt_div_ok(rt, bi, &cand.addr, NULL))
			continue;
		cand.flags &= ~HY_RTABLE_F_PINGING;
		cand.fails = 0;
		b->c[b->nc++] = cand;
		rt->ncontacts++;
		hy_rt_notify(rt, &cand, true);
	}
}

/* Remove contact i of bucket bi and let a candidate take its place. */
static void
hy_rt_evict(struct hy_rtable *rt, int bi, unsigned i)
{
	hy_rt_drop_contact(rt, &rt->b[bi], i);
	hy_rt_fill(rt, bi);
}

/* Split the own bucket in two (Kademlia §2.4). */
static int
hy_rt_split(struct hy_rtable *rt, uint64_t now_ms)
{
	int old = rt->nb - 1, nw = rt->nb;
	struct hy_rt_bucket *ob = &rt->b[old], *nb = &rt->b[nw];
	int err;

	err = hy_rt_bucket_alloc(rt, nb, now_ms);
	if (err != HY_OK)
		return err;
	/* The new range was part of the old one: refreshed at the same time. */
	nb->touched_ms = ob->touched_ms;
	for (unsigned i = 0; i < ob->nc;) {
		if (hy_id_prefix_len(&rt->self, &ob->c[i].id) > old) {
			nb->c[nb->nc++] = ob->c[i];
			ob->c[i] = ob->c[--ob->nc];
		} else {
			i++;
		}
	}
	for (unsigned i = 0; i < ob->nr;) {
		if (hy_id_prefix_len(&rt->self, &ob->r[i].id) > old) {
			nb->r[nb->nr++] = ob->r[i];
			ob->r[i] = ob->r[--ob->nr];
		} else {
			i++;
		}
	}
	rt->nb++;
	return HY_OK;
}

/* Record that we heard from c. */
static void
hy_rt_note(struct hy_rtable_contact *c, enum hy_rtable_how how, uint64_t now_ms)
{
	if (now_ms > c->last_seen_ms)
		c->last_seen_ms = now_ms;
	if (how == HY_RTABLE_REPLY) {
		c->last_reply_ms = now_ms;
		c->flags |= HY_RTABLE_F_REPLIED;
		c->flags &= ~HY_RTABLE_F_PINGING;
		c->fails = 0;
	} else {
		c->last_query_ms = now_ms;
		c->flags |= HY_RTABLE_F_QUERIED;
	}
}

static void
hy_rt_init_contact(struct hy_rtable_contact *c, const struct hy_id *id,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms)
{
	memset(c, 0, sizeof(*c));
	c->id = *id;
	c->addr = *addr;
	c->added_ms = now_ms;
	c->last_seen_ms = now_ms;
	hy_rt_note(c, how, now_ms);
}

/*
 * Put id into bucket bi's replacement cache (or refresh it there). A cached
 * ID heard at a new address moves there, unless it is verified and the new
 * claim is not (HY_EEXIST). Returns 0, HY_EEXIST, HY_EDIVERSITY or HY_EFULL
 * (every cached candidate ranks higher).
 */
static int
hy_rt_cache(struct hy_rtable *rt, int bi, const struct hy_id *id,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms)
{
	struct hy_rt_bucket *b = &rt->b[bi];
	struct hy_rtable_contact fresh;
	int slot, err = HY_OK;
	unsigned same = 0;

	slot = hy_rt_slot(rt, b, id, true);
	if (slot >= 0 && hy_addr_eq(&b->r[slot].addr, addr)) {
		hy_rt_note(&b->r[slot], how, now_ms);
		goto out;
	}
	/* An unverified claim does not re-point a verified candidate. */
	if (slot >= 0 && how == HY_RTABLE_QUERY &&
	    (b->r[slot].flags & HY_RTABLE_F_REPLIED) != 0) {
		err = HY_EEXIST;
		goto out;
	}
	/* A newer claim to a cached address replaces the older one. */
	for (unsigned i = 0; slot < 0 && i < b->nr; i++)
		if (hy_addr_eq(&b->r[i].addr, addr))
			slot = (int)i;
	hy_rt_init_contact(&fresh, id, addr, how, now_ms);
	if (!hy_rt_div_exempt(rt, addr) && rt->cfg.div_per_bucket != 0) {
		for (unsigned i = 0; i < b->nr; i++)
			if ((int)i != slot &&
			    hy_rt_same_net(rt, &b->r[i].addr, addr))
				same++;
		if (same >= rt->cfg.div_per_bucket) {
			err = HY_EDIVERSITY;
			goto out;
		}
	}
	if (slot < 0 && b->nr < rt->cfg.repl_size) {
		slot = (int)b->nr++;
		rt->ncand++;
	} else if (slot < 0) {
		unsigned worst = 0;

		for (unsigned i = 1; i < b->nr; i++)
			if (hy_rt_cand_better(&b->r[worst], &b->r[i]))
				worst = i;
		if (!hy_rt_cand_better(&fresh, &b->r[worst])) {
			err = HY_EFULL;
			goto out;
		}
		slot = (int)worst;
	}
	b->r[slot] = fresh;
out:
	return err;
}

/* Does bucket b hold a contact that is not good? */
static bool
hy_rt_has_nongood(const struct hy_rtable *rt, const struct hy_rt_bucket *b,
    uint64_t now_ms)
{
	for (unsigned i = 0; i < b->nc; i++)
		if (hy_rtable_status(rt, &b->c[i], now_ms) != HY_RTABLE_GOOD)
			return true;
	return false;
}

/* An existing contact heard at addr. */
static int
hy_rt_heard_known(struct hy_rtable *rt, int bi, struct hy_rtable_contact *c,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms)
{
	int other_bi;
	int err = HY_RTABLE_UPDATED;

	if (!hy_addr_eq(&c->addr, addr)) {
		/* Only a bad contact may move: a stranger must not be able
		 * to redirect a working contact (Kademlia §2.2's bias
		 * towards old contacts). */
		if (hy_rtable_status(rt, c, now_ms) != HY_RTABLE_BAD ||
		    hy_rt_by_addr(rt, addr, &other_bi) != NULL) {
			err = HY_EEXIST;
			goto out;
		}
		if (!hy_rt_div_ok(rt, bi, addr, c)) {
			err = HY_EDIVERSITY;
			goto out;
		}
		c->addr = *addr;
		c->fails = 0;
		c->flags = 0;
	}
	hy_rt_note(c, how, now_ms);
	if (how == HY_RTABLE_REPLY && now_ms > rt->b[bi].touched_ms)
		rt->b[bi].touched_ms = now_ms;
out:
	return err;
}

int
hy_rtable_heard(struct hy_rtable *rt, const struct hy_id *id,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms)
{
	struct hy_rtable_contact *other;
	struct hy_rt_bucket *b;
	int bi, obi, slot, err, split_from = -1;

	if (how != HY_RTABLE_REPLY && how != HY_RTABLE_QUERY) {
		err = HY_EINVAL;
		goto out;
	}
	if (hy_addr_is_martian(addr) ||
	    (!rt->cfg.allow_local && hy_addr_is_local(addr))) {
		err = HY_EMARTIAN;
		goto out;
	}
	if (hy_id_is_zero(id)) {
		err = HY_EMALFORMED;
		goto out;
	}
	if (hy_id_eq(id, &rt->self)) {
		err = HY_ESELF;
		goto out;
	}
	bi = hy_rt_index(rt, id);
	slot = hy_rt_slot(rt, &rt->b[bi], id, false);
	if (slot >= 0) {
		err = hy_rt_heard_known(rt, bi, &rt->b[bi].c[slot], addr, how,
		    now_ms);
		goto out;
	}
	other = hy_rt_by_addr(rt, addr, &obi);
	if (other != NULL) {
		if (hy_rtable_status(rt, other, now_ms) != HY_RTABLE_BAD) {
			err = HY_EEXIST;
			goto out;
		}
		hy_rt_evict(rt, obi, (unsigned)(other - rt->b[obi].c));
		/* The eviction may have promoted id itself from a cache. */
		slot = hy_rt_slot(rt, &rt->b[bi], id, false);
		if (slot >= 0) {
			err = hy_rt_heard_known(rt, bi, &rt->b[bi].c[slot],
			    addr, how, now_ms);
			goto out;
		}
	}
	b = &rt->b[bi];
	if (how == HY_RTABLE_QUERY && !rt->cfg.admit_unverified)
		goto cache;
	for (;;) {
		b = &rt->b[bi];
		if (b->nc < rt->cfg.k && rt->ncontacts < rt->cfg.max_contacts) {
			if (!hy_rt_div_ok(rt, bi, addr, NULL)) {
				err = HY_EDIVERSITY;
				goto out;
			}
			slot = hy_rt_slot(rt, b, id, true);
			if (slot >= 0)
				hy_rt_drop_cand(rt, b, (unsigned)slot);
			hy_rt_init_contact(&b->c[b->nc++], id, addr, how,
			    now_ms);
			rt->ncontacts++;
			hy_rt_notify(rt, &b->c[b->nc - 1], true);
			if (how == HY_RTABLE_REPLY && now_ms > b->touched_ms)
				b->touched_ms = now_ms;
			err = HY_RTABLE_ADDED;
			goto out;
		}
		if (bi != rt->nb - 1 || rt->nb >= HY_RTABLE_MAX_BUCKETS ||
		    b->nc < rt->cfg.k || rt->ncontacts >= rt->cfg.max_contacts)
			break;
		err = hy_rt_split(rt, now_ms);
		if (err != HY_OK)
			goto out;
		if (split_from < 0)
			split_from = bi;
		bi = hy_rt_index(rt, id);
	}
	/* Full: a bad contact gives way at once. */
	for (unsigned i = 0; i < b->nc; i++) {
		struct hy_rtable_contact *c = &b->c[i];

		if (hy_rtable_status(rt, c, now_ms) != HY_RTABLE_BAD)
			continue;
		if (!hy_rt_div_ok(rt, bi, addr, c)) {
			err = HY_EDIVERSITY;
			goto out;
		}
		slot = hy_rt_slot(rt, b, id, true);
		if (slot >= 0)
			hy_rt_drop_cand(rt, b, (unsigned)slot);
		hy_rt_notify(rt, c, false);
		hy_rt_init_contact(c, id, addr, how, now_ms);
		hy_rt_notify(rt, c, true);
		err = HY_RTABLE_ADDED;
		goto out;
	}
cache:
	err = hy_rt_cache(rt, bi, id, addr, how, now_ms);
	if (err != HY_OK)
		goto out;
	if (how == HY_RTABLE_REPLY && b->nc >= rt->cfg.k &&
	    hy_rt_has_nongood(rt, b, now_ms))
		err = HY_RTABLE_PENDING;
	else
		err = HY_RTABLE_CACHED;
out:
	/* Splits can leave room in the buckets that were split. */
	if (split_from >= 0)
		for (int j = split_from; j < rt->nb; j++)
			hy_rt_fill(rt, j);
	return err;
}

int
hy_rtable_failed(struct hy_rtable *rt, const struct hy_id *id, uint64_t now_ms)
{
	int bi = hy_rt_index(rt, id), slot, err = HY_ENOENT;
	struct hy_rt_bucket *b = &rt->b[bi];
	struct hy_rtable_contact *c;
	bool pinging;

	slot = hy_rt_slot(rt, b, id, false);
	if (slot < 0) {
		slot = hy_rt_slot(rt, b, id, true);
		if (slot >= 0) {
			hy_rt_drop_cand(rt, b, (unsigned)slot);
			err = HY_RTABLE_DROPPED;
		}
		goto out;
	}
	c = &b->c[slot];
	if (c->fails < UINT32_MAX)
		c->fails++;
	pinging = (c->flags & HY_RTABLE_F_PINGING) != 0;
	c->flags &= ~HY_RTABLE_F_PINGING;
	err = HY_RTABLE_KEPT;
	if (b->nr > 0 &&
	    (pinging || hy_rtable_status(rt, c, now_ms) == HY_RTABLE_BAD)) {
		hy_rt_evict(rt, bi, (unsigned)slot);
		err = HY_RTABLE_REPLACED;
	}
out:
	return err;
}

int
hy_rtable_remove(struct hy_rtable *rt, const struct hy_id *id, uint64_t now_ms)
{
	int bi = hy_rt_index(rt, id), slot, err = HY_ENOENT;
	struct hy_rt_bucket *b = &rt->b[bi];

	(void)now_ms;
	slot = hy_rt_slot(rt, b, id, false);
	if (slot >= 0) {
		hy_rt_evict(rt, bi, (unsigned)slot);
		err = HY_OK;
		goto out;
	}
	slot = hy_rt_slot(rt, b, id, true);
	if (slot >= 0) {
		hy_rt_drop_cand(rt, b, (unsigned)slot);
		err = HY_OK;
	}
out:
	return err;
}

int
hy_rtable_find(const struct hy_rtable *rt, const struct hy_id *id,
    struct hy_rtable_contact *out)
{
	const struct hy_rt_bucket *b = &rt->b[hy_rt_index(rt, id)];
	int slot = hy_rt_slot(rt, b, id, false);

	if (slot < 0)
		return HY_ENOENT;
	*out = b->c[slot];
	return HY_OK;
}

bool
hy_rtable_is_candidate(const struct hy_rtable *rt, const struct hy_id *id)
{
	return hy_rt_slot(rt, &rt->b[hy_rt_index(rt, id)], id, true) >= 0;
}
