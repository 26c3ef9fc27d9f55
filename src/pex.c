/*
 * pex.c: peer exchange deltas and candidate filtering (see pex.h).
 *
 * Sources: DESIGN.md §5 and PROTOCOL.md §6 (PEX); BEP 11 (uTorrent peer
 * exchange) for the added/dropped deltas and their caps of 50 + 50 per
 * message and one message per minute per peer after the first.
 *
 * State. Four bounded maps (src/lru.h), all allocated by hy_pex_new:
 *  - known: verified contacts by ID, least recently verified first; a slot
 *    holds the contact, when it was last verified and whether it is lost;
 *  - peers: pex peers by ID, in the order they were added; a slot holds
 *    the peer's contact and when its next PEX is due;
 *  - sources: senders of received PEX by ID, least recently active first,
 *    each with a GCRA token bucket (its theoretical arrival time `tat`);
 *  - offered: addresses handed out as candidates, least recently offered
 *    first, each with the time it was offered.
 * The `told` bitmap has one row per peer slot and one bit per known slot:
 * the bit is set while that peer's view (as built from our deltas) holds
 * that contact, i.e. from the PEX that carried it in `added` to the one
 * that carries it in `dropped`.
 *
 * Invariants: a told bit is set only for used peer and known slots;
 * known[k].n_told is the number of peers with bit k set; a lost contact
 * stays in `known` only while n_told > 0 (to be sent as dropped) and is
 * never announced as added; a peer is never told about itself.
 *
 * Costs: hy_pex_build is O(known_max), hy_pex_verified O(peers_max),
 * hy_pex_receive O(n^2) in the (capped) message size for duplicates plus
 * one map lookup per entry; nothing allocates after hy_pex_new.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "pex.h"

struct known {
	struct hy_contact c;
	uint64_t verified_ms; /* last first-hand verification */
	uint32_t n_told; /* peers whose told bit is set */
	bool lost;
};

struct peer {
	struct hy_contact c;
	uint64_t next_ms; /* due at or after this */
	bool sent_once; /* a non-empty PEX was built for it */
};

struct hy_pex {
	struct hy_id self;
	struct hy_pex_config cfg;
	struct hy_lru *known_map, *peer_map, *src_map, *off_map;
	struct known *known; /* [known_max] */
	struct peer *peers; /* [peers_max] */
	uint64_t *told; /* [peers_max][words] */
	size_t words; /* 64-bit words per told row */
	uint64_t *src_tat; /* [sources_max] */
	uint64_t *off_ms; /* [offered_max] */
	struct hy_pex_stats st;
};

void
hy_pex_config_default(struct hy_pex_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_added = HY_PEX_MAX;
	cfg->max_dropped = HY_PEX_MAX;
	cfg->interval_ms = 60 * 1000;
	cfg->peers_max = 64;
	cfg->known_max = 512;
	cfg->fresh_ms = 15 * 60 * 1000;
	cfg->rx_min_gap_ms = 30 * 1000;
	cfg->rx_burst = 2;
	cfg->sources_max = 256;
	cfg->offered_max = 1024;
	cfg->offered_ms = 10 * 60 * 1000;
	cfg->allow_local = false;
}

static bool
ms_ok(uint64_t ms)
{
	return ms > 0 && ms <= HY_PEX_DAY_MS;
}

static bool
config_ok(const struct hy_pex_config *c)
{
	return c->max_added <= HY_PEX_MAX && c->max_dropped <= HY_PEX_MAX &&
	    ms_ok(c->interval_ms) && ms_ok(c->fresh_ms) &&
	    ms_ok(c->rx_min_gap_ms) && ms_ok(c->offered_ms) &&
	    c->peers_max > 0 && c->peers_max <= HY_PEX_PEERS_MAX &&
	    c->known_max > 0 && c->known_max <= HY_PEX_KNOWN_MAX &&
	    c->sources_max > 0 && c->sources_max <= HY_PEX_SOURCES_MAX &&
	    c->offered_max > 0 && c->offered_max <= HY_PEX_OFFERED_MAX &&
	    c->rx_burst > 0 && c->rx_burst <= HY_PEX_BURST_MAX;
}

int
hy_pex_new(struct hy_pex **out, const struct hy_id *self,
    const struct hy_pex_config *cfg, uint64_t now_ms)
{
	struct hy_pex *p = NULL;
	struct hy_pex_config def;
	int rc = HY_OK;

	(void)now_ms; /* nothing is due before the first peer */
	if (cfg == NULL) {
		hy_pex_config_default(&def);
		cfg = &def;
	}
	if (out == NULL || self == NULL || hy_id_is_zero(self) ||
	    !config_ok(cfg)) {
		rc = HY_EINVAL;
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = HY_ENOMEM;
		goto out;
	}
	p->self = *self;
	p->cfg = *cfg;
	p->words = (cfg->known_max + 63) / 64;
	p->known_map = hy_lru_new(cfg->known_max, HY_ID_LEN);
	p->peer_map = hy_lru_new(cfg->peers_max, HY_ID_LEN);
	p->src_map = hy_lru_new(cfg->sources_max, HY_ID_LEN);
	p->off_map = hy_lru_new(cfg->offered_max, HY_ADDR_KEYLEN);
	p->known = calloc(cfg->known_max, sizeof(*p->known));
	p->peers = calloc(cfg->peers_max, sizeof(*p->peers));
	p->told = calloc((size_t)cfg->peers_max * p->words, sizeof(*p->told));
	p->src_tat = calloc(cfg->sources_max, sizeof(*p->src_tat));
	p->off_ms = calloc(cfg->offered_max, sizeof(*p->off_ms));
	if (p->known_map == NULL || p->peer_map == NULL || p->src_map == NULL ||
	    p->off_map == NULL || p->known == NULL || p->peers == NULL ||
	    p->told == NULL || p->src_tat == NULL || p->off_ms == NULL) {
		rc = HY_ENOMEM;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	hy_pex_free(p);
	return rc;
}

void
hy_pex_free(struct hy_pex *pex)
{
	if (pex == NULL)
		return;
	hy_lru_free(pex->known_map);
	hy_lru_free(pex->peer_map);
	hy_lru_free(pex->src_map);
	hy_lru_free(pex->off_map);
	free(pex->known);
	free(pex->peers);
	free(pex->told);
	free(pex->src_tat);
	free(pex->off_ms);
	free(pex);
}

/* --- the told bitmap --- */

static bool
told_get(const struct hy_pex *pex, size_t peer, size_t k)
{
	return (pex->told[peer * pex->words + k / 64] >> (k % 64)) & 1u;
}

static void
told_set(struct hy_pex *pex, size_t peer, size_t k)
{
	pex->told[peer * pex->words + k / 64] |= (uint64_t)1 << (k % 64);
	pex->known[k].n_told++;
}

static void
told_clear(struct hy_pex *pex, size_t peer, size_t k)
{
	pex->told[peer * pex->words + k / 64] &= ~((uint64_t)1 << (k % 64));
	pex->known[k].n_told--;
}

/* Clear known slot k's bit in every peer's row. */
static void
told_forget_known(struct hy_pex *pex, size_t k)
{
	for (size_t p = 0; p < pex->cfg.peers_max && pex->known[k].n_told > 0;
	     p++)
		if (told_get(pex, p, k))
			told_clear(pex, p, k);
}

static void
known_free(struct hy_pex *pex, size_t k)
{
	told_forget_known(pex, k);
	hy_lru_del(pex->known_map, k);
	memset(&pex->known[k], 0, sizeof(pex->known[k]));
}

/* --- what we verified --- */

/* May we announce (or offer) a contact at this address? */
static int
addr_filter(const struct hy_pex *pex, const struct hy_addr *a)
{
	if ((a->family != HY_AF_INET && a->family != HY_AF_INET6) ||
	    hy_addr_is_martian(a))
		return HY_PEX_F_MARTIAN;
	if (!pex->cfg.allow_local && hy_addr_is_local(a))
		return HY_PEX_F_LOCAL;
	return -1;
}

void
hy_pex_verified(struct hy_pex *pex, const struct hy_contact *c, uint64_t now_ms)
{
	struct known *k;
	size_t slot, s;
	bool evicted = false;

	if (pex == NULL || c == NULL)
		return;
	if (hy_id_is_zero(&c->id) || hy_id_eq(&c->id, &pex->self) ||
	    addr_filter(pex, &c->addr) >= 0) {
		pex->st.verified_ignored++;
		return;
	}
	slot = hy_lru_get(pex->known_map, c->id.b, true);
	if (slot == HY_LRU_NONE) {
		/* the least recently verified gives way, silently */
		s = hy_lru_oldest(pex->known_map);
		if (hy_lru_count(pex->known_map) == pex->cfg.known_max &&
		    s != HY_LRU_NONE) {
			known_free(pex, s);
			pex->st.known_evicted++;
		}
		slot = hy_lru_put(pex->known_map, c->id.b, &evicted);
		k = &pex->known[slot];
		memset(k, 0, sizeof(*k));
		k->c = *c;
	} else {
		k = &pex->known[slot];
		if (!hy_addr_eq(&k->c.addr, &c->addr)) {
			/* new to everyone at its new address */
			told_forget_known(pex, slot);
			k->c.addr = c->addr;
		}
	}
	k->verified_ms = now_ms;
	k->lost = false;
	/* a peer that never got a PEX may get its first one at once */
	for (s = hy_lru_oldest(pex->peer_map); s != HY_LRU_NONE;
	     s = hy_lru_newer(pex->peer_map, s))
		if (!pex->peers[s].sent_once && pex->peers[s].next_ms > now_ms)
			pex->peers[s].next_ms = now_ms;
}

void
hy_pex_lost(struct hy_pex *pex, const struct hy_id *id, uint64_t now_ms)
{
	size_t slot;

	(void)now_ms;
	if (pex == NULL || id == NULL)
		return;
	slot = hy_lru_get(pex->known_map, id->b, false);
	if (slot == HY_LRU_NONE)
		return;
	if (pex->known[slot].n_told == 0)
		known_free(pex, slot); /* nobody to tell */
	else
		pex->known[slot].lost = true;
}

/* --- pex peers --- */

int
hy_pex_peer_add(struct hy_pex *pex, const struct hy_contact *peer,
    uint64_t now_ms)
{
	size_t slot;
	int rc = HY_OK;

	if (pex == NULL || peer == NULL || hy_id_is_zero(&peer->id)) {
		rc = HY_EINVAL;
		goto out;
	}
	if (hy_id_eq(&peer->id, &pex->self)) {
		rc = HY_ESELF;
		goto out;
	}
	slot = hy_lru_get(pex->peer_map, peer->id.b, false);
	if (slot != HY_LRU_NONE) {
		pex->peers[slot].c.addr = peer->addr;
		rc = HY_EEXIST;
		goto out;
	}
	if (hy_lru_count(pex->peer_map) >= pex->cfg.peers_max) {
		rc = HY_EFULL;
		goto out;
	}
	slot = hy_lru_put(pex->peer_map, peer->id.b, NULL);
	memset(&pex->peers[slot], 0, sizeof(pex->peers[slot]));
	pex->peers[slot].c = *peer;
	pex->peers[slot].next_ms = now_ms;
out:
	return rc;
}

void
hy_pex_peer_remove(struct hy_pex *pex, const struct hy_id *id)
{
	size_t slot, k;

	if (pex == NULL || id == NULL)
		return;
	slot = hy_lru_get(pex->peer_map, id->b, false);
	if (slot == HY_LRU_NONE)
		return;
	for (k = 0; k < pex->cfg.known_max; k++) {
		if (!told_get(pex, slot, k))
			continue;
		told_clear(pex, slot, k);
		if (pex->known[k].lost && pex->known[k].n_told == 0)
			known_free(pex, k);
	}
	hy_lru_del(pex->peer_map, slot);
	memset(&pex->peers[slot], 0, sizeof(pex->peers[slot]));
}

size_t
hy_pex_due(const struct hy_pex *pex, uint64_t now_ms, struct hy_contact *out,
    size_t max)
{
	size_t n = 0, s;

	if (pex == NULL || out == NULL)
		return 0;
	for (s = hy_lru_oldest(pex->peer_map); s != HY_LRU_NONE && n < max;
	     s = hy_lru_newer(pex->peer_map, s))
		if (pex->peers[s].next_ms <= now_ms)
			out[n++] = pex->peers[s].c;
	return n;
}

uint64_t
hy_pex_next_deadline(const struct hy_pex *pex)
{
	uint64_t t = UINT64_MAX;
	size_t s;

	if (pex == NULL)
		return t;
	for (s = hy_lru_oldest(pex->peer_map); s != HY_LRU_NONE;
	     s = hy_lru_newer(pex->peer_map, s))
		if (pex->peers[s].next_ms < t)
			t = pex->peers[s].next_ms;
	return t;
}

/* --- building a PEX --- */

size_t
hy_pex_contact_size(const struct hy_contact *c)
{
	/* fixarray(2), bin8 ID, bin8 address (IP and port) */
	return 1 + (2 + HY_ID_LEN) + 2 +
	    (c->addr.family == HY_AF_INET6 ? HY_ADDR_V6_WIRELEN
	                                   : HY_ADDR_V4_WIRELEN);
}

static bool
fresh(const struct hy_pex *pex, const struct known *k, uint64_t now_ms)
{
	return k->verified_ms >= now_ms ||
	    now_ms - k->verified_ms <= pex->cfg.fresh_ms;
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int
hy_pex_build(struct hy_pex *pex, const struct hy_id *peer, uint64_t now_ms,
    size_t budget, struct hy_body_pex *out)
{
	struct peer *pp;
	struct known *k;
	size_t ps, s, next, used, sz;
	int rc = HY_OK;

	if (pex == NULL || peer == NULL || out == NULL) {
		rc = HY_EINVAL;
		goto out;
	}
	ps = hy_lru_get(pex->peer_map, peer->b, false);
	if (ps == HY_LRU_NONE) {
		rc = HY_ENOENT;
		goto out;
	}
	pp = &pex->peers[ps];
	if (pp->next_ms > now_ms) {
		rc = HY_ERATELIMIT;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	used = 2 * (size_t)HY_PEX_LIST_HDR;
	if (budget < used)
		budget = used; /* nothing fits */
	/* dropped first: retracting what is gone matters most */
	for (s = hy_lru_oldest(pex->known_map);
	     s != HY_LRU_NONE && out->n_dropped < pex->cfg.max_dropped;
	     s = next) {
		next = hy_lru_newer(pex->known_map, s);
		k = &pex->known[s];
		if (!k->lost || !told_get(pex, ps, s))
			continue;
		sz = hy_pex_contact_size(&k->c);
		if (sz > budget - used)
			break;
		used += sz;
		out->dropped[out->n_dropped++] = k->c;
		told_clear(pex, ps, s);
		if (k->n_told == 0)
			known_free(pex, s);
	}
	/* then added, least recently verified first */
	for (s = hy_lru_oldest(pex->known_map);
	     s != HY_LRU_NONE && out->n_added < pex->cfg.max_added;
	     s = hy_lru_newer(pex->known_map, s)) {
		k = &pex->known[s];
		if (k->lost || told_get(pex, ps, s) || !fresh(pex, k, now_ms) ||
		    hy_id_eq(&k->c.id, &pp->c.id))
			continue;
		sz = hy_pex_contact_size(&k->c);
		if (sz > budget - used)
			break;
		used += sz;
		out->added[out->n_added++] = k->c;
		told_set(pex, ps, s);
	}
	pp->next_ms = add_sat(now_ms, pex->cfg.interval_ms);
	rc = (int)(out->n_added + out->n_dropped);
	if (rc > 0) {
		pp->sent_once = true;
		pex->st.sent++;
		pex->st.added_sent += out->n_added;
		pex->st.dropped_sent += out->n_dropped;
	} else {
		pex->st.empty++;
	}
out:
	return rc;
}

/* --- receiving a PEX --- */

/*
 * GCRA token bucket of sender `from`: rx_burst at once, then one per
 * rx_min_gap_ms. Refusals take nothing, as in ratelimit.c.
 */
static bool
rx_allow(struct hy_pex *pex, const struct hy_id *from, uint64_t now_ms)
{
	uint64_t gap = pex->cfg.rx_min_gap_ms, *tat;
	size_t slot;
	bool evicted = false;

	slot = hy_lru_get(pex->src_map, from->b, true);
	if (slot == HY_LRU_NONE) {
		slot = hy_lru_put(pex->src_map, from->b, &evicted);
		if (evicted)
			pex->st.sources_evicted++;
		pex->src_tat[slot] = now_ms;
	}
	tat = &pex->src_tat[slot];
	if (*tat > add_sat(now_ms, gap * (pex->cfg.rx_burst - 1)))
		return false;
	*tat = add_sat(*tat > now_ms ? *tat : now_ms, gap);
	return true;
}

static bool
is_known(const struct hy_pex *pex, const struct hy_id *id)
{
	size_t slot = hy_lru_get(pex->known_map, id->b, false);

	if (slot != HY_LRU_NONE && !pex->known[slot].lost)
		return true;
	return hy_lru_get(pex->peer_map, id->b, false) != HY_LRU_NONE;
}

/* Was `a` offered within offered_ms? If not, it may be offered now. */
static bool
recently_offered(const struct hy_pex *pex, const struct hy_addr *a,
    uint64_t now_ms)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t slot;

	hy_addr_key(a, key);
	slot = hy_lru_get(pex->off_map, key, false);
	return slot != HY_LRU_NONE && pex->off_ms[slot] <= now_ms &&
	    now_ms - pex->off_ms[slot] < pex->cfg.offered_ms;
}

static void
remember_offered(struct hy_pex *pex, const struct hy_addr *a, uint64_t now_ms)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t slot;

	hy_addr_key(a, key);
	slot = hy_lru_get(pex->off_map, key, true);
	if (slot == HY_LRU_NONE)
		slot = hy_lru_put(pex->off_map, key, NULL);
	pex->off_ms[slot] = now_ms;
}

/* Why in->added[i] is no candidate, or -1 if it is one. */
static int
cand_filter(const struct hy_pex *pex, const struct hy_id *from,
    const struct hy_body_pex *in, uint32_t i, uint64_t now_ms)
{
	const struct hy_contact *c = &in->added[i];
	int why;

	if (hy_id_is_zero(&c->id))
		return HY_PEX_F_ZERO;
	if (hy_id_eq(&c->id, &pex->self))
		return HY_PEX_F_SELF;
	for (uint32_t j = 0; j < i; j++)
		if (hy_id_eq(&c->id, &in->added[j].id) ||
		    hy_addr_eq(&c->addr, &in->added[j].addr))
			return HY_PEX_F_DUP;
	if ((why = addr_filter(pex, &c->addr)) >= 0)
		return why;
	if (hy_id_eq(&c->id, from) || is_known(pex, &c->id))
		return HY_PEX_F_KNOWN;
	if (recently_offered(pex, &c->addr, now_ms))
		return HY_PEX_F_OFFERED;
	return -1;
}

int
hy_pex_receive(struct hy_pex *pex, const struct hy_id *from,
    const struct hy_body_pex *in, uint64_t now_ms, struct hy_contact *cand,
    size_t max, size_t *n_cand)
{
	size_t n = 0;
	uint32_t i;
	int rc = HY_OK, why;

	if (pex == NULL || from == NULL || in == NULL || n_cand == NULL ||
	    (cand == NULL && max > 0)) {
		rc = HY_EINVAL;
		goto out;
	}
	if (hy_id_eq(from, &pex->self)) {
		rc = HY_ESELF;
		goto out;
	}
	if (!rx_allow(pex, from, now_ms)) {
		pex->st.rate_limited++;
		rc = HY_ERATELIMIT;
		goto out;
	}
	if (in->n_added > HY_PEX_MAX || in->n_dropped > HY_PEX_MAX) {
		pex->st.malformed++;
		rc = HY_EINVAL;
		goto out;
	}
	pex->st.received++;
	pex->st.added_received += in->n_added;
	pex->st.dropped_received += in->n_dropped;
	for (i = 0; i < in->n_added; i++) {
		why = cand_filter(pex, from, in, i, now_ms);
		if (why < 0 && n == max)
			why = HY_PEX_F_OVERFLOW;
		if (why >= 0) {
			pex->st.filtered[why]++;
			continue;
		}
		remember_offered(pex, &in->added[i].addr, now_ms);
		cand[n++] = in->added[i];
	}
	pex->st.candidates_out += n;
	*n_cand = n;
out:
	return rc;
}

void
hy_pex_get_stats(const struct hy_pex *pex, struct hy_pex_stats *out)
{
	if (pex == NULL || out == NULL)
		return;
	*out = pex->st;
	out->peers = hy_lru_count(pex->peer_map);
	out->known = hy_lru_count(pex->known_map);
}
