/*
 * rtable.h: the Kademlia routing table as a pure state machine (L3).
 *
 * No I/O, no clock, no allocation per operation in steady state: time comes
 * in as now_ms (monotonic milliseconds), and the table never sends anything.
 * It tells the caller what it wants (contacts to ping, bucket-refresh
 * targets to look up, the next deadline) and the caller reports back what
 * happened (hy_rtable_heard, hy_rtable_failed). See rtable.c for the rules.
 */
#ifndef HY_RTABLE_H
#define HY_RTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "id.h"
#include "rng.h"

/* Buckets at most: one per possible shared-prefix length with the own ID. */
#define HY_RTABLE_MAX_BUCKETS 256
/* Upper bounds on the configurable sizes. */
#define HY_RTABLE_K_MAX 1024
#define HY_RTABLE_REPL_MAX 1024

/*
 * Configuration. Fill with hy_rtable_config_default(), then change fields.
 * Every limit is checked by hy_rtable_new().
 */
struct hy_rtable_contact;

struct hy_rtable_config {
	unsigned k; /* contacts per bucket (20) */
	unsigned repl_size; /* replacement cache per bucket; 0 = k */
	unsigned max_contacts; /* cap on contacts in buckets (4096);
	                          clamped to 256 * k */
	uint64_t good_ms; /* BEP 5 "good" window (15 min) */
	unsigned bad_fails; /* consecutive failures that make bad (2) */
	uint64_t refresh_ms; /* bucket refresh interval (15 min) */
	uint64_t ping_timeout_ms; /* re-ask a ping after this (10 s) */
	unsigned div_v4_bits; /* IPv4 diversity prefix (24) */
	unsigned div_v6_bits; /* IPv6 diversity prefix (64) */
	unsigned div_per_bucket; /* per prefix per bucket (2); 0 = off */
	unsigned div_per_table; /* per prefix in the table (10); 0 = off */
	bool allow_local; /* accept loopback/private (false) */
	bool local_div_exempt; /* with allow_local: local addresses skip
	                          the diversity caps (true) */
	bool admit_unverified; /* a QUERY from a new ID may enter a
	                          bucket (true, BEP 5); if false it only
	                          becomes a candidate until it replies */
	/*
	 * Told of every contact that enters (added) or leaves the table
	 * (evicted, removed, replaced); NULL: nobody. Called synchronously
	 * from inside the table's functions: it must not call back into the
	 * table. Moves between buckets (splits) are not reported.
	 */
	void (*on_change)(void *arg, const struct hy_rtable_contact *c,
	    bool added);
	void *on_change_arg;
};

/* How we heard from a peer. */
enum hy_rtable_how {
	HY_RTABLE_REPLY = 1, /* it answered one of our queries: verified */
	HY_RTABLE_QUERY = 2 /* it sent us a query: unverified */
};

/* Non-negative results of hy_rtable_heard(); refusals are negative. */
enum hy_rtable_heard_result {
	HY_RTABLE_UPDATED = 0, /* an existing contact was refreshed */
	HY_RTABLE_ADDED = 1, /* a new contact entered a bucket */
	HY_RTABLE_PENDING = 2, /* bucket full; candidate cached and the table
	                          wants questionable contacts pinged */
	HY_RTABLE_CACHED = 3 /* bucket full; candidate cached, nothing to do */
};

/* Non-negative results of hy_rtable_failed(). */
enum hy_rtable_fail_result {
	HY_RTABLE_KEPT = 0, /* failure counted, contact stays */
	HY_RTABLE_REPLACED = 1, /* contact evicted (a candidate took its
	                           place if one could) */
	HY_RTABLE_DROPPED = 2 /* it was a candidate; dropped from the cache */
};

enum hy_rtable_status {
	HY_RTABLE_GOOD = 0,
	HY_RTABLE_QUESTIONABLE = 1,
	HY_RTABLE_BAD = 2
};

/* Contact flags. */
#define HY_RTABLE_F_REPLIED 0x1u /* last_reply_ms is valid */
#define HY_RTABLE_F_QUERIED 0x2u /* last_query_ms is valid */
#define HY_RTABLE_F_PINGING 0x4u /* the table asked for a ping at ping_ms */

/* A contact as the table stores it; handed out by value. */
struct hy_rtable_contact {
	struct hy_id id;
	struct hy_addr addr;
	uint64_t added_ms; /* when it entered the table */
	uint64_t last_seen_ms; /* last reply or query: the LRS order */
	uint64_t last_reply_ms; /* valid with HY_RTABLE_F_REPLIED */
	uint64_t last_query_ms; /* valid with HY_RTABLE_F_QUERIED */
	uint64_t ping_ms; /* valid with HY_RTABLE_F_PINGING */
	uint32_t fails; /* consecutive failed queries */
	uint32_t flags;
};

/* Flags for hy_rtable_closest(). */
#define HY_RTABLE_NO_BAD 0x1u /* skip bad contacts */
#define HY_RTABLE_GOOD_ONLY 0x2u /* only good contacts */

struct hy_rtable_stats {
	size_t contacts;
	size_t good;
	size_t questionable;
	size_t bad;
	size_t buckets;
	size_t replacements;
};

/* What hy_rtable_tick() hands back; the caller supplies the arrays. */
struct hy_rtable_work {
	struct hy_rtable_contact *pings; /* contacts to ping */
	size_t max_pings;
	size_t n_pings; /* out */
	struct hy_id *targets; /* bucket-refresh lookup targets */
	size_t max_targets;
	size_t n_targets; /* out */
};

struct hy_rtable;

/* Fill cfg with the defaults (values in the comments above). */
void hy_rtable_config_default(struct hy_rtable_config *cfg);

/*
 * Create a table for the node self. cfg may be NULL (defaults); it is
 * copied. Returns 0 and sets *out, HY_EINVAL for a zero self ID or a
 * config out of range, or HY_ENOMEM.
 */
int hy_rtable_new(struct hy_rtable **out, const struct hy_id *self,
    const struct hy_rtable_config *cfg, uint64_t now_ms);

/* Free a table; NULL is a no-op. */
void hy_rtable_free(struct hy_rtable *rt);

/*
 * We heard from id at addr: how = HY_RTABLE_REPLY (it answered our query:
 * resets its failures, touches its bucket) or HY_RTABLE_QUERY (it queried
 * us: refreshes last_seen only; a new ID enters as questionable). A full
 * own bucket splits; otherwise a bad contact gives way; otherwise the ID
 * waits in the bucket's replacement cache (PENDING when it is verified and
 * the bucket holds non-good contacts to ping, else CACHED). An ID never
 * moves a non-bad contact's address, nor takes a non-bad contact's address.
 * Returns an enum hy_rtable_heard_result (>= 0),
 * or a refusal: HY_EMARTIAN (martian address, or local address without
 * allow_local), HY_ESELF (own ID), HY_EMALFORMED (zero ID), HY_EINVAL (bad
 * `how`), HY_EEXIST (the ID is in the table at another address and that
 * contact is not bad, or the address belongs to another ID that is not
 * bad, or a QUERY would re-point a verified candidate), HY_EDIVERSITY (an
 * IP-diversity cap), HY_EFULL (no room, not even in the replacement cache),
 * HY_ENOMEM (a bucket split could not allocate).
 */
int hy_rtable_heard(struct hy_rtable *rt, const struct hy_id *id,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms);

/*
 * A query to id timed out. A contact counts the failure (bad after
 * bad_fails in a row); it is evicted for the best candidate of its bucket
 * when one waits and either the table had asked to ping it
 * (HY_RTABLE_F_PINGING, BEP 5) or it is now bad. A bad contact with no
 * candidate stays. A candidate that fails is dropped from the cache.
 * Returns an enum hy_rtable_fail_result (>= 0) or HY_ENOENT when id is
 * neither a contact nor a candidate.
 */
int hy_rtable_failed(struct hy_rtable *rt, const struct hy_id *id,
    uint64_t now_ms);

/*
 * Remove id (contact or candidate); a contact's place goes to the best
 * candidate of its bucket. Returns 0 or HY_ENOENT.
 */
int hy_rtable_remove(struct hy_rtable *rt, const struct hy_id *id,
    uint64_t now_ms);

/* Copy the contact id into *out. Returns 0 or HY_ENOENT (*out untouched). */
int hy_rtable_find(const struct hy_rtable *rt, const struct hy_id *id,
    struct hy_rtable_contact *out);

/* Is id waiting in a replacement cache? */
bool hy_rtable_is_candidate(const struct hy_rtable *rt, const struct hy_id *id);

/* BEP 5 status of a contact at now_ms. */
enum hy_rtable_status hy_rtable_status(const struct hy_rtable *rt,
    const struct hy_rtable_contact *c, uint64_t now_ms);

/*
 * Up to n contacts closest to target by XOR, nearest first, into out[]
 * (flags: HY_RTABLE_NO_BAD, HY_RTABLE_GOOD_ONLY). Returns the number
 * written (0..n). Never fails.
 */
size_t hy_rtable_closest(const struct hy_rtable *rt, const struct hy_id *target,
    size_t n, struct hy_rtable_contact *out, unsigned flags, uint64_t now_ms);

/*
 * Contacts that entered the table without ever answering us (they only
 * sent queries): ask to ping them so they become verified (good) or, if
 * they never answer, bad. Each is asked at most once per ping timeout.
 * Copies up to max into out and returns how many.
 */
size_t hy_rtable_want_verify(struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rtable_contact *out, size_t max);

/*
 * Contacts the table wants pinged now: the least-recently-seen
 * non-good contacts of full buckets in which a verified candidate waits,
 * each asked at most once per ping_timeout_ms. Marks them
 * HY_RTABLE_F_PINGING. Returns the number written to out[] (0..max).
 */
size_t hy_rtable_want_pings(struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rtable_contact *out, size_t max);

/*
 * A lookup for target was done: its bucket counts as refreshed.
 */
void hy_rtable_touch_bucket(struct hy_rtable *rt, const struct hy_id *target,
    uint64_t now_ms);

/*
 * Random lookup targets, one per bucket not refreshed for refresh_ms; each
 * such bucket counts as refreshed now. Returns the number written (0..max).
 */
size_t hy_rtable_refresh_due(struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rng *rng, struct hy_id *out, size_t max);

/*
 * The earliest time (>= now_ms) at which hy_rtable_tick() (want_pings or
 * refresh_due) would have something to do. Never UINT64_MAX in practice:
 * refresh deadlines always exist.
 */
uint64_t hy_rtable_next_deadline(const struct hy_rtable *rt, uint64_t now_ms);

/*
 * want_pings and refresh_due in one call, into the caller's arrays in w.
 * Returns the next deadline (as hy_rtable_next_deadline after the work).
 */
uint64_t hy_rtable_tick(struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rng *rng, struct hy_rtable_work *w);

/*
 * Call cb for every contact (bucket order, not candidates) until it returns
 * non-zero. The contact is borrowed; the table must not be changed from cb.
 * Returns cb's non-zero value, or 0.
 */
int hy_rtable_foreach(const struct hy_rtable *rt,
    int (*cb)(const struct hy_rtable_contact *c, void *arg), void *arg);

/* Counts at now_ms. */
void hy_rtable_stats(const struct hy_rtable *rt, uint64_t now_ms,
    struct hy_rtable_stats *st);

/* Number of buckets, and the bucket index (0..buckets-1) covering id. */
int hy_rtable_bucket_count(const struct hy_rtable *rt);
int hy_rtable_bucket_of(const struct hy_rtable *rt, const struct hy_id *id);

#endif /* HY_RTABLE_H */
