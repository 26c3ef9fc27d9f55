/*
 * store-peers.c: BEP 5 peer announcements in the value store (L3).
 *
 * A key's peers are told apart by address (IP and announced port); a
 * re-announcement refreshes the expiry (peer_ttl_s, 30 min by default as in
 * BEP 5's implementations) and takes the newer node ID and seed flag. The
 * DHT layer has checked the announce token, i.e. that the announcer owns
 * the IP. Caps: max_peers_per_key and max_peers; a full store refuses
 * (HY_EFULL) and never drops a peer to make room. get_peers samples with
 * reservoir sampling (Vitter's Algorithm R): one pass, no scratch memory,
 * each live peer in the answer with probability max / live.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

int
hy_store_announce(struct hy_store *st, const struct hy_id *key,
    const struct hy_addr *addr, const struct hy_id *node, bool seed,
    uint64_t now_ms)
{
	uint64_t exp = hy_st_expiry(now_ms, st->cfg.peer_ttl_s);
	struct hy_st_peer *p = NULL;
	struct hy_st_key *k, *nk = NULL;
	int rc = HY_OK;

	if (st->busy)
		return HY_ESTATE;
	if (key == NULL || addr == NULL || node == NULL ||
	    (addr->family != HY_AF_INET && addr->family != HY_AF_INET6))
		return HY_EINVAL;
	hy_store_expire(st, now_ms);
	k = hy_st_key_find(st, key);
	if (k != NULL) {
		for (uint32_t i = 0; i < k->npeers; i++) {
			p = k->peers[i];
			if (!hy_addr_eq(&p->addr, addr))
				continue;
			p->node = *node;
			p->seed = seed;
			p->it.exp_ms = exp;
			hy_st_heap_fix(st, &p->it);
			return HY_OK;
		}
		p = NULL;
	}
	if ((k != NULL && k->npeers >= st->cfg.max_peers_per_key) ||
	    st->npeers >= st->cfg.max_peers) {
		st->c.refused_peers++;
		return HY_EFULL;
	}
	/* Allocate everything first. */
	rc = HY_ENOMEM;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto out;
	if (k == NULL &&
	    ((k = nk = hy_st_key_new(key)) == NULL ||
	        hy_st_map_reserve(&st->keys) != HY_OK))
		goto out;
	if ((rc = hy_st_heap_reserve(st)) != HY_OK)
		goto out;
	k->peers = hy_st_grow(k->peers, &k->pcap, k->npeers,
	    st->cfg.max_peers_per_key, &rc);
	if (rc != HY_OK)
		goto out;
	/* Nothing can fail from here on. */
	if (nk != NULL)
		hy_st_key_insert(st, nk);
	nk = NULL;
	p->it.kind = HY_ST_PEER;
	p->it.k = k;
	p->it.exp_ms = exp;
	p->addr = *addr;
	p->node = *node;
	p->seed = seed;
	k->peers[k->npeers++] = p;
	hy_st_heap_push(st, &p->it);
	st->npeers++;
	st->c.announced++;
	p = NULL;
out:
	if (nk != NULL) {
		free(nk->peers);
		free(nk);
	}
	free(p);
	return rc;
}

size_t
hy_store_get_peers(const struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms, struct hy_store_peer *out, size_t max, struct hy_rng *rng)
{
	const struct hy_st_key *k = hy_st_key_find(st, key);
	size_t seen = 0;

	if (k == NULL || max == 0)
		return 0;
	/* Reservoir sampling (Algorithm R): uniform over the live peers. */
	for (uint32_t i = 0; i < k->npeers; i++) {
		const struct hy_st_peer *p = k->peers[i];
		size_t j = seen;

		if (!hy_st_live(&p->it, now_ms))
			continue;
		if (seen >= max)
			j = rng != NULL ? (size_t)hy_rng_below(rng, seen + 1)
			                : max;
		seen++;
		if (j >= max)
			continue;
		out[j].addr = p->addr;
		out[j].node = p->node;
		out[j].seed = p->seed;
		out[j].expires_ms = p->it.exp_ms;
	}
	return seen < max ? seen : max;
}
