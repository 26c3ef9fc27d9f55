/*
 * lookup.c: the Kademlia iterative lookup as a pure state machine (L4).
 *
 * Source. Kademlia (Maymounkov & Mazieres 2002) §2.3: the initiator keeps
 * the nodes it knows nearest to the target, sends FIND_NODE (or
 * FIND_VALUE) to alpha of the closest it has not yet queried, merges the
 * closer contacts each reply carries, and stops when the k closest nodes
 * it has seen have all answered; FIND_VALUE stops as soon as a node
 * returns the value. Two refinements come from production DHTs
 * (libtorrent's traversal_algorithm, the "short timeout" of BEP 5
 * implementations, go-libp2p-kad-dht):
 *  - A bounded candidate window: only the `window` (> k) closest
 *    candidates are tracked. It is larger than k so that dead nodes among
 *    the closest (which fail and drop out of the count) do not leave the
 *    lookup with fewer than k live candidates to converge on. A full window
 *    refuses contacts farther than its worst evictable entry, and a closer
 *    contact pushes out the farthest entry that has no query in flight
 *    (in-flight entries stay, so every outstanding query keeps its
 *    accounting and its late reply can be used).
 *  - Soft and hard timeouts: after soft_timeout_ms a query stops occupying
 *    one of the alpha slots (so one slow or dead node does not halve the
 *    lookup's speed) but its reply is still accepted; after
 *    hard_timeout_ms the candidate has failed and no longer counts among
 *    the k closest.
 *
 * State. The candidates live in one array allocated by hy_lookup_new,
 * sorted by XOR distance to the target (the distance is stored, so the
 * order is a memcmp and a binary search finds an ID: for a fixed target
 * the distance is a bijection of the ID). Each candidate is FRESH (not yet
 * asked), ACTIVE (asked, holds an alpha slot), SOFT (asked, soft timeout
 * passed), REPLIED or FAILED.
 *
 * Invariants (hy_lookup_check; tests/check_lookup.c checks them after
 * every step of its randomized runs):
 *  - n <= window; the array is strictly sorted by distance, so no ID is
 *    there twice; no two candidates share an address; the own ID is never
 *    a candidate.
 *  - nactive + nsoft == the number of ACTIVE + SOFT candidates, and
 *    nactive <= alpha after every hy_lookup_next; requests <=
 *    max_requests.
 *  - Queries go out closest FRESH first, only to candidates nearer than
 *    the k-th REPLIED one (asking beyond it cannot change the k closest).
 *  - Termination, evaluated after every input: DONE when the first k
 *    non-FAILED candidates (all of them, if fewer) have REPLIED; otherwise,
 *    when nothing is in flight and no query can be sent (no non-FAILED
 *    candidate, or the request budget is spent): DONE if someone replied,
 *    else NO_PEERS. DONE_FOUND when a FIND_VALUE / GET_PEERS lookup has
 *    been told of enough_values distinct values. TIMED_OUT at
 *    started + timeout_ms. A finished lookup ignores further input.
 *  - No allocation after hy_lookup_new; every step is O(window).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lookup.h"

#define HY_LK_YEAR_MS (365ull * 24 * 3600 * 1000)

enum hy_lk_state {
	HY_LK_FRESH = 0,
	HY_LK_ACTIVE,
	HY_LK_SOFT,
	HY_LK_REPLIED,
	HY_LK_FAILED
};

struct hy_lk_cand {
	struct hy_id dist; /* XOR distance to the target: the sort key */
	struct hy_id id;
	struct hy_addr addr;
	uint64_t sent_ms;
	uint64_t rtt_ms;
	unsigned hop;
	unsigned values;
	uint8_t state; /* enum hy_lk_state */
};

struct hy_lookup {
	struct hy_lookup_config cfg;
	struct hy_id target;
	struct hy_id self;
	bool has_self;
	enum hy_lookup_kind kind;
	enum hy_lookup_status status;
	uint64_t deadline_ms; /* started + timeout_ms */
	struct hy_lk_cand *c; /* cfg.window entries, n in use */
	size_t n;
	size_t nactive; /* ACTIVE candidates */
	size_t nsoft; /* SOFT candidates */
	struct hy_lookup_stats st;
};

void
hy_lookup_config_default(struct hy_lookup_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->alpha = 3;
	cfg->k = 20;
	cfg->window = 0; /* = 3 * k */
	cfg->soft_timeout_ms = 500;
	cfg->hard_timeout_ms = 2000;
	cfg->timeout_ms = 10000;
	cfg->enough_values = 1;
	cfg->max_requests = 256;
}

static bool
hy_lk_config_ok(const struct hy_lookup_config *c)
{
	/* Times are capped at a year so now + timeout never overflows. */
	return c->alpha >= 1 && c->alpha <= HY_LOOKUP_ALPHA_MAX && c->k >= 1 &&
	    c->k <= HY_LOOKUP_K_MAX && c->window > c->k &&
	    c->window <= HY_LOOKUP_WINDOW_MAX && c->soft_timeout_ms >= 1 &&
	    c->hard_timeout_ms >= c->soft_timeout_ms &&
	    c->hard_timeout_ms <= HY_LK_YEAR_MS && c->timeout_ms >= 1 &&
	    c->timeout_ms <= HY_LK_YEAR_MS && c->max_requests >= 1 &&
	    c->max_requests <= HY_LOOKUP_REQUESTS_MAX;
}

int
hy_lookup_new(struct hy_lookup **out, const struct hy_id *target,
    enum hy_lookup_kind kind, const struct hy_lookup_config *cfg,
    uint64_t now_ms)
{
	struct hy_lookup *lk = NULL;
	int err = HY_EINVAL;

	if (out == NULL || target == NULL)
		goto out;
	if (kind != HY_LOOKUP_FIND_NODE && kind != HY_LOOKUP_FIND_VALUE &&
	    kind != HY_LOOKUP_GET_PEERS)
		goto out;
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL) {
		err = HY_ENOMEM;
		goto out;
	}
	if (cfg != NULL)
		lk->cfg = *cfg;
	else
		hy_lookup_config_default(&lk->cfg);
	if (lk->cfg.window == 0 && lk->cfg.k <= HY_LOOKUP_K_MAX)
		lk->cfg.window = 3 * lk->cfg.k;
	if (!hy_lk_config_ok(&lk->cfg))
		goto out;
	lk->c = calloc(lk->cfg.window, sizeof(*lk->c));
	if (lk->c == NULL) {
		err = HY_ENOMEM;
		goto out;
	}
	lk->target = *target;
	lk->kind = kind;
	lk->status = HY_LOOKUP_RUNNING;
	lk->deadline_ms = now_ms + lk->cfg.timeout_ms;
	lk->st.started_ms = now_ms;
	lk->st.found_hop = -1;
	*out = lk;
	lk = NULL;
	err = HY_OK;
out:
	hy_lookup_free(lk);
	return err;
}

void
hy_lookup_free(struct hy_lookup *lk)
{
	if (lk != NULL) {
		free(lk->c);
		free(lk);
	}
}

int
hy_lookup_set_self(struct hy_lookup *lk, const struct hy_id *self)
{
	int err = HY_EINVAL;

	if (self != NULL && !hy_id_is_zero(self)) {
		lk->self = *self;
		lk->has_self = true;
		err = HY_OK;
	}
	return err;
}

/*
 * Binary search for distance d: true and *pos = its index if a candidate
 * is there, else false and *pos = where it would go.
 */
static bool
hy_lk_search(const struct hy_lookup *lk, const struct hy_id *d, size_t *pos)
{
	size_t lo = 0, hi = lk->n;

	/* The first entry not closer than d. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(lk->c[mid].dist.b, d->b, HY_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < lk->n && memcmp(lk->c[lo].dist.b, d->b, HY_ID_LEN) == 0;
}

static struct hy_lk_cand *
hy_lk_find(struct hy_lookup *lk, const struct hy_id *id)
{
	struct hy_id d;
	size_t pos;

	hy_id_xor(&d, id, &lk->target);
	return hy_lk_search(lk, &d, &pos) ? &lk->c[pos] : NULL;
}

static bool
hy_lk_in_flight(const struct hy_lk_cand *c)
{
	return c->state == HY_LK_ACTIVE || c->state == HY_LK_SOFT;
}

/* Insert a contact, or say why not (the refusals of hy_lookup_add). */
static int
hy_lk_insert(struct hy_lookup *lk, const struct hy_id *id,
    const struct hy_addr *addr, unsigned hop)
{
	struct hy_lk_cand *c;
	struct hy_id d;
	size_t pos, v;
	int err = HY_EMALFORMED;

	if (hy_id_is_zero(id))
		goto out;
	err = HY_EMARTIAN;
	if ((addr->family != HY_AF_INET && addr->family != HY_AF_INET6) ||
	    hy_addr_is_martian(addr))
		goto out;
	err = HY_ESELF;
	if (lk->has_self && hy_id_eq(id, &lk->self))
		goto out;
	err = HY_EEXIST;
	hy_id_xor(&d, id, &lk->target);
	if (hy_lk_search(lk, &d, &pos))
		goto out;
	for (size_t i = 0; i < lk->n; i++)
		if (hy_addr_eq(&lk->c[i].addr, addr))
			goto out;
	if (lk->n == lk->cfg.window) {
		/* The farthest entry with no query in flight gives way. */
		err = HY_EFULL;
		v = lk->n;
		while (v > pos && hy_lk_in_flight(&lk->c[v - 1]))
			v--;
		if (v == pos)
			goto out;
		v--;
		memmove(&lk->c[v], &lk->c[v + 1],
		    (lk->n - v - 1) * sizeof(lk->c[0]));
		lk->n--;
		lk->st.evicted++;
	}
	memmove(&lk->c[pos + 1], &lk->c[pos], (lk->n - pos) * sizeof(lk->c[0]));
	lk->n++;
	c = &lk->c[pos];
	memset(c, 0, sizeof(*c));
	c->dist = d;
	c->id = *id;
	c->addr = *addr;
	c->hop = hop;
	c->state = HY_LK_FRESH;
	lk->st.added++;
	err = HY_OK;
out:
	return err;
}

static void
hy_lk_finish(struct hy_lookup *lk, enum hy_lookup_status st, uint64_t now_ms)
{
	lk->status = st;
	lk->st.finished_ms = now_ms;
}

/* Soft, hard and overall timeouts due at now_ms. */
static void
hy_lk_expire(struct hy_lookup *lk, uint64_t now_ms)
{
	for (size_t i = 0; i < lk->n && lk->status == HY_LOOKUP_RUNNING; i++) {
		struct hy_lk_cand *c = &lk->c[i];

		if (c->state == HY_LK_ACTIVE &&
		    now_ms >= c->sent_ms + lk->cfg.soft_timeout_ms) {
			c->state = HY_LK_SOFT;
			lk->nactive--;
			lk->nsoft++;
			lk->st.soft_timeouts++;
		}
		if (c->state == HY_LK_SOFT &&
		    now_ms >= c->sent_ms + lk->cfg.hard_timeout_ms) {
			c->state = HY_LK_FAILED;
			lk->nsoft--;
			lk->st.timeouts++;
			lk->st.failures++;
		}
	}
	if (lk->status == HY_LOOKUP_RUNNING && now_ms >= lk->deadline_ms)
		hy_lk_finish(lk, HY_LOOKUP_TIMED_OUT, now_ms);
}

/* The termination rules of the top comment. */
static void
hy_lk_settle(struct hy_lookup *lk, uint64_t now_ms)
{
	size_t live = 0;
	bool all_replied = true;

	if (lk->status != HY_LOOKUP_RUNNING)
		return;
	for (size_t i = 0; i < lk->n && live < lk->cfg.k; i++) {
		if (lk->c[i].state == HY_LK_FAILED)
			continue;
		if (lk->c[i].state != HY_LK_REPLIED)
			all_replied = false;
		live++;
	}
	/*
	 * Otherwise, with nothing in flight: a FRESH candidate among the
	 * first k live ones is always askable (fewer than k REPLIED precede
	 * it) unless the budget is spent.
	 */
	if (live > 0 && all_replied)
		hy_lk_finish(lk, HY_LOOKUP_DONE, now_ms);
	else if (lk->nactive + lk->nsoft == 0 &&
	    (live == 0 || lk->st.requests >= lk->cfg.max_requests))
		hy_lk_finish(lk,
		    lk->st.replies > 0 ? HY_LOOKUP_DONE : HY_LOOKUP_NO_PEERS,
		    now_ms);
}

int
hy_lookup_add(struct hy_lookup *lk, const struct hy_id *id,
    const struct hy_addr *addr, unsigned hop)
{
	int err = HY_EINVAL;

	if (id == NULL || addr == NULL)
		goto out;
	err = HY_ESTATE;
	if (lk->status != HY_LOOKUP_RUNNING)
		goto out;
	err = hy_lk_insert(lk, id, addr, hop);
	if (err != HY_OK)
		lk->st.dropped++;
out:
	return err;
}

size_t
hy_lookup_next(struct hy_lookup *lk, uint64_t now_ms,
    struct hy_lookup_peer *out, size_t max)
{
	size_t m = 0, replied = 0;

	hy_lk_expire(lk, now_ms);
	hy_lk_settle(lk, now_ms);
	for (size_t i = 0; i < lk->n && replied < lk->cfg.k &&
	     lk->status == HY_LOOKUP_RUNNING;
	     i++) {
		struct hy_lk_cand *c = &lk->c[i];

		if (c->state == HY_LK_REPLIED) {
			replied++;
			continue;
		}
		if (c->state != HY_LK_FRESH)
			continue;
		if (m == max || lk->nactive >= lk->cfg.alpha ||
		    lk->st.requests >= lk->cfg.max_requests)
			break;
		c->state = HY_LK_ACTIVE;
		c->sent_ms = now_ms;
		lk->nactive++;
		lk->st.requests++;
		if (c->hop > lk->st.max_hop)
			lk->st.max_hop = c->hop;
		out[m].id = c->id;
		out[m].addr = c->addr;
		out[m].hop = c->hop;
		out[m].values = 0;
		out[m].rtt_ms = 0;
		m++;
	}
	if (lk->st.requests >= lk->cfg.max_requests)
		lk->st.budget_spent = true;
	return m;
}

/* Find id's in-flight candidate after applying the timeouts due now. */
static int
hy_lk_answering(struct hy_lookup *lk, const struct hy_id *id, uint64_t now_ms,
    struct hy_lk_cand **out)
{
	struct hy_lk_cand *c = NULL;
	int err = HY_ESTATE;

	hy_lk_expire(lk, now_ms);
	if (lk->status != HY_LOOKUP_RUNNING)
		goto out;
	c = hy_lk_find(lk, id);
	err = HY_ENOENT;
	if (c == NULL)
		goto out;
	err = HY_ESTATE;
	if (!hy_lk_in_flight(c))
		goto out;
	if (c->state == HY_LK_ACTIVE)
		lk->nactive--;
	else
		lk->nsoft--;
	*out = c;
	err = HY_OK;
out:
	return err;
}

int
hy_lookup_reply(struct hy_lookup *lk, const struct hy_id *id, uint64_t now_ms,
    const struct hy_lookup_contact *contacts, size_t n, unsigned values)
{
	struct hy_lk_cand *c;
	unsigned hop;
	int err = HY_EINVAL;

	if (id == NULL || (contacts == NULL && n > 0))
		goto out;
	err = hy_lk_answering(lk, id, now_ms, &c);
	if (err != HY_OK)
		goto out;
	if (c->state == HY_LK_SOFT)
		lk->st.late_replies++;
	c->state = HY_LK_REPLIED;
	c->rtt_ms = now_ms >= c->sent_ms ? now_ms - c->sent_ms : 0;
	c->values = values;
	hop = c->hop; /* c may move as contacts are merged */
	lk->st.replies++;
	if (values > 0) {
		if (lk->st.found_hop < 0) {
			lk->st.found_hop = (int)hop;
			lk->st.found_ms = now_ms;
		}
		lk->st.values += values;
	}
	for (size_t i = 0; i < n; i++)
		if (hy_lk_insert(lk, &contacts[i].id, &contacts[i].addr,
		        hop + 1) != HY_OK)
			lk->st.dropped++;
	if (lk->kind != HY_LOOKUP_FIND_NODE && lk->cfg.enough_values > 0 &&
	    lk->st.values >= lk->cfg.enough_values)
		hy_lk_finish(lk, HY_LOOKUP_DONE_FOUND, now_ms);
	hy_lk_settle(lk, now_ms);
out:
	return err;
}

int
hy_lookup_fail(struct hy_lookup *lk, const struct hy_id *id, uint64_t now_ms)
{
	struct hy_lk_cand *c;
	int err = HY_EINVAL;

	if (id == NULL)
		goto out;
	err = hy_lk_answering(lk, id, now_ms, &c);
	if (err != HY_OK)
		goto out;
	c->state = HY_LK_FAILED;
	lk->st.failures++;
	hy_lk_settle(lk, now_ms);
out:
	return err;
}

uint64_t
hy_lookup_next_deadline(const struct hy_lookup *lk)
{
	uint64_t d = UINT64_MAX;

	if (lk->status == HY_LOOKUP_RUNNING)
		d = lk->deadline_ms;
	for (size_t i = 0; i < lk->n && lk->status == HY_LOOKUP_RUNNING; i++) {
		const struct hy_lk_cand *c = &lk->c[i];
		uint64_t t;

		if (c->state == HY_LK_ACTIVE)
			t = c->sent_ms + lk->cfg.soft_timeout_ms;
		else if (c->state == HY_LK_SOFT)
			t = c->sent_ms + lk->cfg.hard_timeout_ms;
		else
			continue;
		if (t < d)
			d = t;
	}
	return d;
}

uint64_t
hy_lookup_tick(struct hy_lookup *lk, uint64_t now_ms)
{
	if (lk->status == HY_LOOKUP_RUNNING) {
		hy_lk_expire(lk, now_ms);
		hy_lk_settle(lk, now_ms);
	}
	return hy_lookup_next_deadline(lk);
}

enum hy_lookup_status
hy_lookup_status(const struct hy_lookup *lk)
{
	return lk->status;
}

const char *
hy_lookup_status_str(enum hy_lookup_status st)
{
	switch (st) {
	case HY_LOOKUP_RUNNING:
		return "running";
	case HY_LOOKUP_DONE:
		return "done";
	case HY_LOOKUP_DONE_FOUND:
		return "found";
	case HY_LOOKUP_NO_PEERS:
		return "no peers";
	case HY_LOOKUP_TIMED_OUT:
		return "timed out";
	}
	return "unknown";
}

size_t
hy_lookup_results(const struct hy_lookup *lk, struct hy_lookup_peer *out,
    size_t max)
{
	size_t m = 0;

	for (size_t i = 0; i < lk->n && m < max; i++) {
		const struct hy_lk_cand *c = &lk->c[i];

		if (c->state != HY_LK_REPLIED)
			continue;
		out[m].id = c->id;
		out[m].addr = c->addr;
		out[m].hop = c->hop;
		out[m].values = c->values;
		out[m].rtt_ms = c->rtt_ms;
		m++;
	}
	return m;
}

void
hy_lookup_stats(const struct hy_lookup *lk, struct hy_lookup_stats *out)
{
	*out = lk->st;
}

const struct hy_id *
hy_lookup_target(const struct hy_lookup *lk)
{
	return &lk->target;
}

enum hy_lookup_kind
hy_lookup_kind(const struct hy_lookup *lk)
{
	return lk->kind;
}

size_t
hy_lookup_candidates(const struct hy_lookup *lk)
{
	return lk->n;
}

size_t
hy_lookup_in_flight(const struct hy_lookup *lk)
{
	return lk->nactive + lk->nsoft;
}

int
hy_lookup_check(const struct hy_lookup *lk)
{
	size_t nactive = 0, nsoft = 0;
	int err = HY_ECORRUPT;

	if (lk->n > lk->cfg.window || lk->nactive > lk->cfg.alpha ||
	    lk->st.requests > lk->cfg.max_requests)
		goto out;
	for (size_t i = 0; i < lk->n; i++) {
		const struct hy_lk_cand *c = &lk->c[i];
		struct hy_id d;

		hy_id_xor(&d, &c->id, &lk->target);
		if (!hy_id_eq(&d, &c->dist) || c->state > HY_LK_FAILED ||
		    (lk->has_self && hy_id_eq(&c->id, &lk->self)))
			goto out;
		if (i > 0 &&
		    memcmp(lk->c[i - 1].dist.b, c->dist.b, HY_ID_LEN) >= 0)
			goto out;
		for (size_t j = 0; j < i; j++)
			if (hy_addr_eq(&lk->c[j].addr, &c->addr))
				goto out;
		nactive += c->state == HY_LK_ACTIVE;
		nsoft += c->state == HY_LK_SOFT;
	}
	if (nactive != lk->nactive || nsoft != lk->nsoft)
		goto out;
	err = HY_OK;
out:
	return err;
}
