/*
 * lookup.h: the Kademlia iterative lookup as a pure state machine (L4).
 *
 * No I/O, no clock, no allocation after hy_lookup_new(). The caller seeds
 * the lookup with contacts (usually hy_rtable_closest), asks it what to
 * query (hy_lookup_next), sends the queries itself, reports what happened
 * (hy_lookup_reply, hy_lookup_fail) and calls hy_lookup_tick at the
 * deadline it asks for. After every reply, failure or tick the caller calls
 * hy_lookup_next again: that is when freed slots are refilled. The rules
 * are described in lookup.c.
 */
#ifndef HY_LOOKUP_H
#define HY_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "id.h"

/* Upper bounds on the configurable sizes. */
#define HY_LOOKUP_ALPHA_MAX 64
#define HY_LOOKUP_K_MAX 256
#define HY_LOOKUP_WINDOW_MAX 1024
#define HY_LOOKUP_REQUESTS_MAX 65536

enum hy_lookup_kind {
	HY_LOOKUP_FIND_NODE = 1, /* converge on the k closest nodes */
	HY_LOOKUP_FIND_VALUE = 2, /* stop once enough values were reported */
	HY_LOOKUP_GET_PEERS = 3 /* the same, for peer records (BEP 5) */
};

enum hy_lookup_status {
	HY_LOOKUP_RUNNING = 0,
	HY_LOOKUP_DONE = 1, /* converged: the k closest known live
	                       candidates have all replied */
	HY_LOOKUP_DONE_FOUND = 2, /* FIND_VALUE / GET_PEERS: enough values */
	HY_LOOKUP_NO_PEERS = 3, /* nothing left to ask, nobody replied */
	HY_LOOKUP_TIMED_OUT = 4 /* overall timeout; results are partial */
};

/*
 * Configuration. Fill with hy_lookup_config_default(), then change fields.
 * Every field is checked by hy_lookup_new().
 */
struct hy_lookup_config {
	unsigned alpha; /* parallel active requests (3), 1..64 */
	unsigned k; /* result size (20), 1..256 */
	unsigned window; /* closest candidates tracked; 0 = 3 * k;
	                    else k < window <= 1024 */
	uint64_t soft_timeout_ms; /* a request stops holding an alpha
	                             slot after this; a late reply still
	                             counts (500) */
	uint64_t hard_timeout_ms; /* then the candidate has failed (2000);
	                             >= soft_timeout_ms */
	uint64_t timeout_ms; /* the whole lookup (10000) */
	unsigned enough_values; /* FIND_VALUE / GET_PEERS: stop once this
	                           many distinct values were reported (1);
	                           0 = never stop early */
	unsigned max_requests; /* queries at most (256), 1..65536 */
};

/* A contact handed to the lookup (seeds, contacts a reply carried). */
struct hy_lookup_contact {
	struct hy_id id;
	struct hy_addr addr;
};

/* A node to query (from hy_lookup_next) or a result. */
struct hy_lookup_peer {
	struct hy_id id;
	struct hy_addr addr;
	unsigned hop; /* 0 for a seed, responder's hop + 1 otherwise */
	unsigned values; /* results: values this node reported */
	uint64_t rtt_ms; /* results: query to reply */
};

struct hy_lookup_stats {
	unsigned requests; /* queries handed out by hy_lookup_next */
	unsigned replies; /* replies accepted (late ones included) */
	unsigned late_replies; /* replies after the soft timeout */
	unsigned failures; /* error replies plus hard timeouts */
	unsigned timeouts; /* hard timeouts */
	unsigned soft_timeouts;
	unsigned added; /* contacts that entered the window */
	unsigned dropped; /* contacts refused: invalid, self, duplicate,
	                     or farther than a full window's worst */
	unsigned evicted; /* candidates pushed out of a full window */
	unsigned values; /* sum of the distinct values reported */
	int found_hop; /* hop of the first reply with values; -1 */
	unsigned max_hop; /* deepest hop queried */
	bool budget_spent; /* max_requests was reached */
	uint64_t started_ms;
	uint64_t found_ms; /* valid when found_hop >= 0 */
	uint64_t finished_ms; /* valid once the status is not RUNNING */
};

struct hy_lookup;

/* Fill cfg with the defaults (values in the comments above). */
void hy_lookup_config_default(struct hy_lookup_config *cfg);

/*
 * Start a lookup for target. cfg may be NULL (defaults); it is copied.
 * Returns 0 and sets *out, HY_EINVAL for a NULL target, an unknown kind or
 * a config out of range, or HY_ENOMEM. The candidate array (window
 * entries) is the only allocation the lookup ever makes.
 */
int hy_lookup_new(struct hy_lookup **out, const struct hy_id *target,
    enum hy_lookup_kind kind, const struct hy_lookup_config *cfg,
    uint64_t now_ms);

/* Free a lookup; NULL is a no-op. */
void hy_lookup_free(struct hy_lookup *lk);

/*
 * The local node's ID: contacts naming it are refused from now on (a node
 * never queries itself, e.g. in the lookup of its own ID at bootstrap).
 * Returns 0, or HY_EINVAL for a NULL or zero ID.
 */
int hy_lookup_set_self(struct hy_lookup *lk, const struct hy_id *self);

/*
 * Add a contact learnt elsewhere (a seed; hop 0 usually). Returns 0 when it
 * entered the candidate window, or a refusal: HY_EMALFORMED (zero ID),
 * HY_EMARTIAN (unset or martian address), HY_ESELF (the own ID),
 * HY_EEXIST (the ID or the address is already a candidate), HY_EFULL (the
 * window is full and the contact is not closer than the candidate that
 * would give way), HY_ESTATE (the lookup has finished). The target's own ID
 * is a valid contact: it is the closest node there can be.
 */
int hy_lookup_add(struct hy_lookup *lk, const struct hy_id *id,
    const struct hy_addr *addr, unsigned hop);

/*
 * Up to max nodes to query now, closest unqueried first, into out[]: as
 * many as keep alpha requests active (sent and not yet soft-timed-out),
 * within the request budget, and only nodes nearer than the k-th node that
 * has replied. Each is marked in flight at now_ms. Applies the timeouts
 * due at now_ms first. Returns the number written (0..max); 0 also when
 * the lookup has finished. Never fails.
 */
size_t hy_lookup_next(struct hy_lookup *lk, uint64_t now_ms,
    struct hy_lookup_peer *out, size_t max);

/*
 * id answered our query at now_ms with n closer contacts (merged into the
 * window with hop = its hop + 1; invalid ones, duplicates and ones farther
 * than a full window's worst are dropped and counted) and `values`
 * distinct values or peer records not seen before in this lookup (the
 * caller deduplicates; 0 for none). A reply after the soft timeout counts
 * like any other. Returns 0, HY_ENOENT (id is not a candidate: unknown or
 * pushed out of the window), HY_ESTATE (id has no query in flight: never
 * asked, already answered, or failed; or the lookup has finished), or
 * HY_EINVAL (contacts NULL with n > 0).
 */
int hy_lookup_reply(struct hy_lookup *lk, const struct hy_id *id,
    uint64_t now_ms, const struct hy_lookup_contact *contacts, size_t n,
    unsigned values);

/*
 * id answered with an error (or the transport reported it unreachable):
 * the candidate has failed and frees its slot. Returns 0, HY_ENOENT or
 * HY_ESTATE as hy_lookup_reply.
 */
int hy_lookup_fail(struct hy_lookup *lk, const struct hy_id *id,
    uint64_t now_ms);

/*
 * Apply the soft, hard and overall timeouts due at now_ms and update the
 * status. Returns the next deadline (as hy_lookup_next_deadline).
 */
uint64_t hy_lookup_tick(struct hy_lookup *lk, uint64_t now_ms);

/*
 * The earliest time at which hy_lookup_tick has something to do (a soft or
 * hard timeout, the overall timeout), or UINT64_MAX once finished.
 */
uint64_t hy_lookup_next_deadline(const struct hy_lookup *lk);

enum hy_lookup_status hy_lookup_status(const struct hy_lookup *lk);

/* A static name for a status ("running", "done", ...); never NULL. */
const char *hy_lookup_status_str(enum hy_lookup_status st);

/*
 * Up to max of the closest candidates that replied, nearest first, into
 * out[] (at most the window's size; k of them is the usual ask). Valid in
 * any state: partial while running or after a timeout. Returns the number
 * written.
 */
size_t hy_lookup_results(const struct hy_lookup *lk, struct hy_lookup_peer *out,
    size_t max);

/* Counters so far (copied). */
void hy_lookup_stats(const struct hy_lookup *lk, struct hy_lookup_stats *out);

/* The target and the kind given to hy_lookup_new. */
const struct hy_id *hy_lookup_target(const struct hy_lookup *lk);
enum hy_lookup_kind hy_lookup_kind(const struct hy_lookup *lk);

/* Candidates now in the window, and queries now in flight (soft or not). */
size_t hy_lookup_candidates(const struct hy_lookup *lk);
size_t hy_lookup_in_flight(const struct hy_lookup *lk);

/*
 * Check the invariants listed in lookup.c (sorted window, no duplicate ID
 * or address, counters matching the candidates' states, the bounds). For
 * tests; O(window^2). Returns 0 or HY_ECORRUPT.
 */
int hy_lookup_check(const struct hy_lookup *lk);

#endif /* HY_LOOKUP_H */
