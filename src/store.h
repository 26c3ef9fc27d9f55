/*
 * store.h: the DHT node's local value store as a pure state machine (L3).
 *
 * No I/O, no clock: time comes in as now_ms (monotonic milliseconds) and
 * expiry is computed from TTLs. The store holds, per 32-byte key, plain
 * values (each with a 64-bit value id), at most one signed mutable value
 * (BEP 44 semantics; signatures are verified by the DHT layer before the
 * store sees the value) and a set of announced peers (BEP 5). Every table
 * is bounded by the configuration; a put that does not fit is refused and
 * nothing already stored is dropped to make room. See store.c for the
 * rules.
 *
 * Borrowed pointers handed out by reads (struct hy_store_value: data,
 * salt, pub, sig) stay valid until the next mutating call on the store
 * (put, put_mutable, announce, expire, remove, remove_key, free).
 */
#ifndef HY_STORE_H
#define HY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "crypto.h"
#include "hypha.h"
#include "id.h"
#include "rng.h"

/* TTL bounds of a value, in seconds: 1 s .. 7 days. */
#define HY_STORE_TTL_MIN_S 1u
#define HY_STORE_TTL_MAX_S (7u * 24 * 3600)
/* Longest BEP 44 salt. */
#define HY_STORE_SALT_MAX 64
/* Reserved value id of a key's mutable value; plain puts may not use it. */
#define HY_STORE_MUTABLE_ID UINT64_MAX
/* Upper bounds on the configurable counts (keeps every index in 32 bits). */
#define HY_STORE_COUNT_MAX (1u << 24)
#define HY_STORE_VALUE_LEN_MAX (16u << 20)

/*
 * Configuration. Fill with hy_store_config_default(), then change fields;
 * hy_store_new() checks every limit (all >= 1 and <= HY_STORE_COUNT_MAX,
 * max_value_len <= HY_STORE_VALUE_LEN_MAX, per-source limits <= totals).
 * Bytes count value data only; per-record overhead is bounded by the
 * value and peer counts.
 */
struct hy_store_config {
	uint64_t max_bytes; /* data bytes in the store (64 MiB) */
	uint32_t max_keys; /* keys holding values (65536) */
	uint32_t max_values; /* values in the store (131072) */
	uint32_t max_values_per_key; /* values under one key (64) */
	uint64_t max_source_bytes; /* data bytes stored by one node (1 MiB) */
	uint32_t max_source_values; /* values stored by one node (1024) */
	uint32_t max_value_len; /* data bytes of one value (65536) */
	uint32_t max_ttl_s; /* longest accepted TTL (7 days) */
	uint32_t max_peers; /* announced peers in the store (65536) */
	uint32_t max_peers_per_key; /* announced peers under one key (256) */
	uint32_t peer_ttl_s; /* lifetime of an announcement (1800) */
};

/* The mutable part of a value (BEP 44), present when is_mutable. */
struct hy_store_mutable {
	uint8_t pub[HY_PUBKEY_LEN]; /* owner: SEC1 compressed P-256 key */
	uint8_t salt[HY_STORE_SALT_MAX];
	size_t salt_len; /* 0..HY_STORE_SALT_MAX */
	uint64_t seq;
	uint8_t sig[HY_SIG_LEN]; /* raw r || s, as verified by the caller */
};

/* A plain value to store (hy_store_put). Everything is copied. */
struct hy_store_put_args {
	struct hy_id key;
	uint64_t id; /* value id; not HY_STORE_MUTABLE_ID */
	const void *data; /* may be NULL when len == 0 */
	size_t len;
	uint32_t ttl_s; /* HY_STORE_TTL_MIN_S..max_ttl_s */
	uint32_t flags; /* opaque to the store */
	struct hy_id source; /* node that asked us to store it */
};

/* A signed mutable value to store (hy_store_put_mutable). Copied. */
struct hy_store_mutable_args {
	struct hy_id key; /* must be SHA-256(pub || salt) */
	const void *data;
	size_t len;
	uint32_t ttl_s;
	uint32_t flags;
	struct hy_id source;
	struct hy_store_mutable m; /* owner, salt, seq, signature */
	uint64_t cas; /* 0 = unconditional; else stored seq must equal it */
};

/*
 * A value as read back. data (and mut, when is_mutable) are borrowed from
 * the store: valid until the next mutating call.
 */
struct hy_store_value {
	struct hy_id key;
	uint64_t id; /* HY_STORE_MUTABLE_ID for the mutable value */
	const uint8_t *data;
	size_t len;
	uint32_t flags;
	uint32_t ttl_s; /* TTL of the last put that set the expiry */
	uint64_t expires_ms; /* gone at now_ms >= expires_ms */
	uint64_t remaining_ms; /* expires_ms - now_ms of the read */
	struct hy_id source; /* node charged for it */
	bool is_mutable;
	const struct hy_store_mutable *mut; /* NULL unless is_mutable */
};

/* An announced peer (BEP 5 announce_peer), copied out. */
struct hy_store_peer {
	struct hy_addr addr; /* IP and announced port */
	struct hy_id node; /* node that announced it */
	bool seed;
	uint64_t expires_ms;
};

struct hy_store_stats {
	size_t keys; /* keys holding values or peers */
	size_t value_keys; /* keys holding values (max_keys applies) */
	size_t values;
	uint64_t bytes;
	size_t peers;
	size_t sources; /* nodes with at least one value stored */
	uint64_t stored; /* puts that added a value */
	uint64_t replaced; /* puts that replaced a value's data */
	uint64_t refreshed; /* puts that only refreshed the expiry */
	uint64_t announced; /* announcements that added a peer */
	uint64_t expired_values; /* removed by expiry */
	uint64_t expired_peers;
	/* Refusals, by reason. */
	uint64_t refused_bytes; /* max_bytes (HY_EFULL) */
	uint64_t refused_keys; /* max_keys (HY_EFULL) */
	uint64_t refused_values; /* max_values (HY_EFULL) */
	uint64_t refused_per_key; /* max_values_per_key (HY_EFULL) */
	uint64_t refused_per_source; /* source bytes or values (HY_EFULL) */
	uint64_t refused_too_large; /* data or salt too long (HY_ETOOBIG) */
	uint64_t refused_exists; /* id held by other data (HY_EEXIST) */
	uint64_t refused_seq; /* mutable seq too old (HY_ERANGE) */
	uint64_t refused_cas; /* CAS mismatch (HY_EEXIST) */
	uint64_t refused_peers; /* peer caps (HY_EFULL) */
};

struct hy_store;

/* Fill cfg with the defaults (values in the comments above). */
void hy_store_config_default(struct hy_store_config *cfg);

/*
 * Create an empty store. cfg may be NULL (defaults); it is copied. Tables
 * allocate as they grow (and shrink back), never beyond what the configured
 * counts allow, so an empty store costs almost nothing. Returns HY_OK and
 * sets *out, HY_EINVAL (config out of range), HY_ENOMEM or HY_ECRYPTO (no
 * random hash key).
 */
int hy_store_new(struct hy_store **out, const struct hy_store_config *cfg);

/* Free the store and everything in it; NULL is a no-op. */
void hy_store_free(struct hy_store *st);

/*
 * Store a plain value (data copied). Expired entries are swept first, so
 * quotas count live content only. A value with the same (key, id):
 *  - from the same source is replaced (data, flags) and its expiry set to
 *    now + ttl;
 *  - from another source, with the same data, keeps its data, flags and
 *    source, and its expiry becomes max(old, now + ttl) (a replica
 *    republishing);
 *  - from another source with different data is refused (HY_EEXIST): the
 *    first writer keeps the id until its value expires or is removed.
 * Returns HY_OK, HY_EINVAL (reserved id, NULL data with len > 0, ttl 0),
 * HY_ERANGE (ttl > max_ttl_s), HY_ETOOBIG (len > max_value_len), HY_EFULL
 * (a quota: total bytes, keys, values, per key, per source), HY_EEXIST,
 * HY_ESTATE (called from a foreach callback) or HY_ENOMEM. On error the
 * store is unchanged (apart from the sweep and the refusal counters).
 */
int hy_store_put(struct hy_store *st, const struct hy_store_put_args *a,
    uint64_t now_ms);

/*
 * Store a signed mutable value under value id HY_STORE_MUTABLE_ID. The
 * caller has verified the signature; the store enforces BEP 44's rules:
 * key == SHA-256(pub || salt) else HY_EINVAL; with a live stored value,
 * cas != 0 and cas != stored seq gives HY_EEXIST (CAS mismatch; checked
 * first, as BEP 44 error 301 is), a lower seq gives HY_ERANGE (error 302,
 * "sequence too old"), an equal seq with different data HY_ERANGE too, an
 * equal seq with the same data refreshes the expiry (max(old, now + ttl);
 * now + ttl when from the same source) and a higher seq replaces the value
 * (charged to the new source). With no live value, cas is not checked (a
 * new replica accepts it). Also HY_ETOOBIG (data or salt too long),
 * HY_EINVAL (ttl 0 or over max_ttl_s, NULL data with len > 0), HY_EFULL,
 * HY_ESTATE, HY_ENOMEM, HY_ECRYPTO (hashing failed). So here HY_EEXIST
 * always means CAS mismatch (wire: CONFLICT) and HY_ERANGE always means the
 * sequence number is not newer. On error the store is unchanged.
 */
int hy_store_put_mutable(struct hy_store *st,
    const struct hy_store_mutable_args *a, uint64_t now_ms);

/*
 * Up to max live values of key into out[] (plain values in insertion
 * order, a replaced value keeping its place; the mutable value among them).
 * Returns the number written; 0 when the key is absent. Borrowed data.
 */
size_t hy_store_get(const struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms, struct hy_store_value *out, size_t max);

/* Number of live values under key at now_ms. */
size_t hy_store_count(const struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms);

/*
 * The live value (key, id) into *out (borrowed data). Returns HY_OK or
 * HY_ENOENT (*out untouched).
 */
int hy_store_lookup(const struct hy_store *st, const struct hy_id *key,
    uint64_t id, uint64_t now_ms, struct hy_store_value *out);

/* Remove the value (key, id). Returns HY_OK, HY_ENOENT or HY_ESTATE. */
int hy_store_remove(struct hy_store *st, const struct hy_id *key, uint64_t id);

/*
 * Remove every value and peer of key (after a hand-over, say). Returns
 * HY_OK, HY_ENOENT or HY_ESTATE.
 */
int hy_store_remove_key(struct hy_store *st, const struct hy_id *key);

/*
 * Announce peer addr (IP and announced port) under key for peer_ttl_s, on
 * behalf of node (BEP 5 announce_peer; the DHT layer has checked the
 * token). Peers are told apart by address: re-announcing an address
 * refreshes its expiry and takes the new node and seed flag. Expired
 * entries are swept first. Returns HY_OK, HY_EINVAL (unset address), HY_EFULL
 * (max_peers_per_key or max_peers; nothing is dropped), HY_ESTATE or
 * HY_ENOMEM.
 */
int hy_store_announce(struct hy_store *st, const struct hy_id *key,
    const struct hy_addr *addr, const struct hy_id *node, bool seed,
    uint64_t now_ms);

/*
 * Up to max live peers of key into out[] (copies). With more live peers
 * than max, a uniform random sample of max of them (reservoir sampling
 * driven by rng, so a seeded rng gives a reproducible answer); otherwise
 * all of them in announcement order and rng is not used. A NULL rng gives
 * the first max live peers instead of a sample. Returns the number written.
 */
size_t hy_store_get_peers(const struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms, struct hy_store_peer *out, size_t max, struct hy_rng *rng);

/*
 * Remove values and peers whose expiry is <= now_ms. Returns how many were
 * removed (0 when called from a foreach callback). O((r + 1) log n) for r
 * removed out of n entries.
 */
size_t hy_store_expire(struct hy_store *st, uint64_t now_ms);

/*
 * The earliest expiry of any value or peer, i.e. when hy_store_expire has
 * work to do; UINT64_MAX when the store is empty. O(1).
 */
uint64_t hy_store_next_expiry(const struct hy_store *st);

/*
 * Callbacks for the iterators; a non-zero return stops the iteration and
 * is returned by it. The store must not be changed from a callback
 * (mutating calls return HY_ESTATE meanwhile).
 */
typedef int hy_store_key_cb(const struct hy_id *key, size_t nvalues,
    size_t npeers, void *arg);
typedef int hy_store_value_cb(const struct hy_store_value *v, void *arg);

/*
 * Call cb for every key (values or peers) in insertion order, with its
 * value and peer counts (expired-but-unswept entries included: call
 * hy_store_expire first for exact counts). Returns cb's non-zero value or 0.
 */
int hy_store_foreach_key(struct hy_store *st, hy_store_key_cb *cb, void *arg);

/*
 * Call cb for every live value of key, in hy_store_get's order. Returns
 * cb's non-zero value, 0, or HY_ENOENT when the key holds no values.
 */
int hy_store_foreach_value(struct hy_store *st, const struct hy_id *key,
    uint64_t now_ms, hy_store_value_cb *cb, void *arg);

/* Counters and sizes. */
void hy_store_get_stats(const struct hy_store *st, struct hy_store_stats *out);

#endif /* HY_STORE_H */
