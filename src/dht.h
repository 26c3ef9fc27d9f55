/*
 * dht.h: the DHT node logic as a sans-I/O state machine (L4).
 *
 * struct hy_dht ties a routing table (rtable.h), a value store (store.h) and
 * iterative lookups (lookup.h) into a Kademlia/BEP 5/BEP 44 node. It never
 * touches a socket, a clock or a global: the host (the node facade over
 * src/rpc.h, or a simulator shim) implements the I/O boundary below, passes
 * now_ms (monotonic) into every entry point and calls hy_dht_tick() at the
 * deadline hy_dht_next_deadline() names.
 *
 * I/O boundary (struct hy_dht_host):
 *  - host->request(host, to, to_id, req, cookie): send a request. The DHT
 *    has filled req (hy_msg_init with the configured network, txid 0, the
 *    own ID as sender, and the body); the host assigns the txid, handles
 *    retries and timeouts and later calls hy_dht_on_response() exactly once
 *    with the same cookie: err 0 and the reply (which may be an ERROR
 *    message), or err < 0 (HY_ETIMEDOUT, HY_EUNREACHABLE, ...) and reply
 *    NULL. to_id is NULL when the destination ID is unknown (bootstrap
 *    seeds). A non-zero return means the request was not sent and
 *    on_response will NOT be called for the cookie (the DHT treats it as
 *    failed at once). req is borrowed for the call only. The host must
 *    not call back into the DHT from inside request or reply.
 *  - host->reply(host, req, to, to_id, rep): send the reply to a request
 *    that arrived through hy_dht_on_request(); rep has the request's txid.
 *    Borrowed for the call only; the return value is ignored (counted).
 *  - hy_dht_on_request(dht, req, from, from_id, now): an authenticated
 *    request arrived. from_id is the authenticated sender (NULL: use the
 *    envelope's sender field).
 *
 * Callbacks of user operations (put, get, announce, get_peers) are given per
 * call; they fire from hy_dht_on_response() or hy_dht_tick(), never inside
 * the call that started the operation, and at most once with a final status
 * (get/get_peers may first stream items). hy_dht_free() fires every pending
 * final callback once with HY_ECANCELED / HY_DHT_CANCELED. Everything a
 * callback receives is borrowed for the duration of the call. A callback
 * may call hy_dht_cancel() and start new operations, but not hy_dht_free().
 */
#ifndef HY_DHT_H
#define HY_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "id.h"
#include "lookup.h"
#include "rng.h"
#include "rtable.h"
#include "store.h"
#include "wire.h"

#define HY_DHT_SECRET_LEN 32
#define HY_DHT_TOKEN_LEN 16 /* bytes of the write tokens we issue */
#define HY_DHT_OPS_MAX 65536
#define HY_DHT_PENDING_MAX (1u << 20)

/* The host side of the I/O boundary (see the top of this file). */
struct hy_dht_host {
	void *ctx; /* passed back as `host` */
	int (*request)(void *host, const struct hy_addr *to,
	    const struct hy_id *to_id, struct hy_msg *req, uint64_t cookie);
	int (*reply)(void *host, const struct hy_msg *req,
	    const struct hy_addr *to, const struct hy_id *to_id,
	    struct hy_msg *rep);
	/*
	 * Optional (NULL: the routing table counts the failure itself). A
	 * request to a known ID failed; return true when a liveness layer
	 * (gossip.h) tracks that contact and takes the failure as a hint to
	 * probe it, so that the table does not count it: a contact then
	 * leaves the table only on that layer's verdict (DESIGN.md §5).
	 */
	bool (*contact_failed)(void *host, const struct hy_id *id,
	    const struct hy_addr *addr);
};

/*
 * Configuration. Fill with hy_dht_config_default(), then change fields;
 * hy_dht_new() checks them. The embedded module configs are passed on
 * (rtable.k and lookup.k are forced to k).
 */
struct hy_dht_config {
	char network[HY_NETWORK_MAX + 1]; /* "hypha" */
	unsigned k; /* replication and bucket size (20) */
	struct hy_rtable_config rtable;
	struct hy_store_config store;
	struct hy_lookup_config lookup;
	unsigned max_ops; /* operations (user and internal) alive (256) */
	unsigned max_maint_ops; /* of which maintenance lookups and
	                           replications may use (64) */
	unsigned max_pending; /* requests awaiting on_response (4096) */
	unsigned get_enough_values; /* a get stops after this many
	                               distinct values (1); 0 = never */
	enum hy_wire_path path; /* caps values and replies (DGRAM) */
	uint64_t token_rotate_ms; /* token secret epoch (5 min) */
	unsigned republish_pct; /* origin republishes permanent puts at
	                           this % of the TTL (80) */
	uint64_t replicate_ms; /* a stored key is re-stored to its k
	                          closest nodes when not refreshed for
	                          this long (1 h); 0 = never */
	bool handover; /* STORE a key to a new contact that is among
	                  its k closest (true, Kademlia §2.5) */
	unsigned max_handover; /* handover stores queued (256) */
	unsigned handover_scan_max; /* stored keys examined per new
	                               contact (1024): bounds the cost,
	                               O(keys * contacts), of a join */
	bool verify_mutable; /* check BEP 44 signatures (true) */
	uint64_t maint_ms; /* maintenance tick period (1 s) */
};

/* Final status of a get / get_peers (and the streamed-item marker). */
enum hy_dht_status {
	HY_DHT_ITEM = 0, /* a streamed value / peers; more may follow */
	HY_DHT_FOUND = 1, /* done; at least one item was delivered */
	HY_DHT_NOT_FOUND = 2, /* done; the k closest nodes had nothing */
	HY_DHT_NO_PEERS = 3, /* nobody answered (empty table, all dead) */
	HY_DHT_TIMED_OUT = 4, /* overall timeout; partial */
	HY_DHT_CANCELED = 5 /* hy_dht_free */
};

/* What an operation cost, handed to its final callback. */
struct hy_dht_op_info {
	unsigned hops; /* hop of the first value, else the deepest hop */
	unsigned requests; /* messages sent by the operation */
	unsigned replies;
	uint64_t elapsed_ms;
};

/*
 * put / announce: err 0 and stored_on >= 1 when at least one node
 * accepted; else err HY_EUNREACHABLE (no node accepted, none reachable),
 * HY_EEXIST (every answer was CONFLICT) or HY_ECANCELED. For a permanent put,
 * called after the first round only.
 */
typedef void hy_dht_put_cb(void *arg, int err, unsigned stored_on,
    const struct hy_dht_op_info *info);
/*
 * get: v != NULL with status HY_DHT_ITEM for each distinct value id (the
 * value and its bytes are borrowed; a mutable value only when its key and
 * signature verify, again whenever a higher seq arrives), then once
 * v == NULL with a final status and info.
 */
typedef void hy_dht_get_cb(void *arg, const struct hy_value *v,
    enum hy_dht_status status, const struct hy_dht_op_info *info);
/* get_peers: batches of new peers (HY_DHT_ITEM), then a final status. */
typedef void hy_dht_peers_cb(void *arg, const struct hy_addr *peers, size_t n,
    enum hy_dht_status status, const struct hy_dht_op_info *info);

struct hy_dht_stats {
	struct hy_rtable_stats rtable;
	struct hy_store_stats store;
	uint64_t ops_started[4]; /* put, get, announce, get_peers */
	uint64_t ops_done; /* user operations completed */
	uint64_t ops_refused; /* HY_EFULL at start */
	uint64_t maint_lookups; /* refresh + bootstrap lookups */
	uint64_t rebootstraps; /* seeds asked again: table still empty */
	uint64_t replications; /* keys re-stored by this replica */
	uint64_t republished; /* permanent puts republished */
	uint64_t handovers; /* stores sent to new close contacts */
	uint64_t lookups; /* lookups completed */
	uint64_t lookup_requests; /* messages they sent */
	uint64_t requests_sent;
	uint64_t requests_failed; /* timeouts and send failures */
	uint64_t pending_full; /* sends refused: max_pending */
	uint64_t served[0x20]; /* requests answered, by type */
	uint64_t refused[11]; /* ERROR replies sent, by code */
	uint64_t bad_requests; /* unknown / non-request types dropped */
	uint64_t bad_replies; /* replies of the wrong type */
	uint64_t reply_failed; /* host->reply returned an error */
	uint64_t pings_sent;
};

struct hy_dht;

void hy_dht_config_default(struct hy_dht_config *cfg);

/*
 * Create a node with ID self. cfg may be NULL (defaults); it is copied.
 * host is copied; secret (HY_DHT_SECRET_LEN bytes) keys the write tokens;
 * rng_seed seeds the node's PRNG (jitter, refresh targets, peer sampling).
 * Returns 0 and sets *out, HY_EINVAL (zero ID, NULL host callback, config
 * out of range) or an error of the store/rtable constructors (HY_ENOMEM,
 * HY_ECRYPTO).
 */
int hy_dht_new(struct hy_dht **out, const struct hy_id *self,
    const struct hy_dht_config *cfg, const struct hy_dht_host *host,
    const uint8_t secret[HY_DHT_SECRET_LEN], uint64_t rng_seed,
    uint64_t now_ms);

/*
 * Free a node; NULL is a no-op. Every pending final callback fires once
 * with HY_ECANCELED / HY_DHT_CANCELED first (operations those callbacks
 * try to start are refused with HY_EFULL). The host must not call
 * on_response for outstanding cookies afterwards.
 */
void hy_dht_free(struct hy_dht *dht);

/* A request arrived (see top). Answers through host->reply. */
void hy_dht_on_request(struct hy_dht *dht, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms);

/*
 * The outcome of a request sent with `cookie`. Unknown or stale cookies are
 * ignored. reply may be ERROR (treated as a failed request, but the peer
 * is alive).
 */
void hy_dht_on_response(struct hy_dht *dht, uint64_t cookie, int err,
    const struct hy_msg *reply, const struct hy_addr *from, uint64_t now_ms);

/*
 * Run what is due at now_ms (timeouts, maintenance, expiry, republish,
 * finished operations' callbacks). Returns the next deadline, as
 * hy_dht_next_deadline.
 */
uint64_t hy_dht_tick(struct hy_dht *dht, uint64_t now_ms);

/*
 * The time the host must call hy_dht_tick() next; re-read it after every
 * entry point (starting an operation may move it earlier). A time <= now
 * (0 when an operation finished inside the call that started it and its
 * callback is due) means: tick at once, from the event loop.
 */
uint64_t hy_dht_next_deadline(const struct hy_dht *dht);

/*
 * Join: FIND_NODE(self) to each of the n seeds (to_id NULL), then a lookup
 * of the own ID through the contacts the seeds returned. The first
 * HY_DHT_SEEDS_MAX (16) seeds are remembered and asked again, backing off
 * from 5 s to 5 min, while the routing table stays empty. May be repeated.
 * Returns 0, HY_EINVAL (n == 0 or NULL seeds) or HY_EFULL (no op slot for
 * the bootstrap; nothing sent, but the seeds are remembered and retried).
 */
int hy_dht_bootstrap(struct hy_dht *dht, const struct hy_addr *seeds, size_t n,
    uint64_t now_ms);

/*
 * We heard from id at addr outside the DHT's own requests (a liveness
 * probe answered: how = HY_RTABLE_REPLY): feed the routing table as a reply
 * to a DHT request would (a new contact may get stored keys handed over).
 */
void hy_dht_heard(struct hy_dht *d, const struct hy_id *id,
    const struct hy_addr *addr, enum hy_rtable_how how, uint64_t now_ms);

/*
 * PING a candidate contact (learned second-hand: PEX, a gossip record) so
 * that it enters the routing table only once it answered, as verified.
 * Returns 0, HY_EEXIST (already a contact that replied), HY_EINVAL, or a
 * send error (HY_EFULL: max_pending).
 */
int hy_dht_ping(struct hy_dht *d, const struct hy_addr *to,
    const struct hy_id *id, uint64_t now_ms);

/* Does the routing table hold at least one contact that replied? */
bool hy_dht_joined(const struct hy_dht *dht, uint64_t now_ms);

/*
 * Store v under key on the k closest nodes: a lookup with FIND_VALUE
 * queries (collecting write tokens), then STORE to the k closest that
 * replied with a token. v is copied (data, salt); a mutable v must already
 * be signed by its owner (key == SHA-256(owner || salt)). permanent: the
 * origin re-puts the value at republish_pct of its TTL until cancelled.
 * On success returns 0 and sets *handle (never 0; handle may be NULL);
 * HY_EINVAL (bad value: ttl 0 or over the max, data over the path's cap,
 * reserved id, a mutable value whose key or signature does not verify),
 * HY_ETOOBIG (a STORE of it would not fit the configured path's envelope:
 * on the datagram path that is data over about 950 bytes, PROTOCOL.md §9),
 * HY_EFULL (max_ops operations alive) or HY_ENOMEM.
 */
int hy_dht_put(struct hy_dht *dht, const struct hy_id *key,
    const struct hy_value *v, bool permanent, hy_dht_put_cb *cb, void *arg,
    uint64_t now_ms, uint64_t *handle);

/*
 * hy_dht_put with compare-and-swap for a mutable value (BEP 44): storing
 * nodes accept it only if the seq they hold equals cas (0: no condition).
 * The callback gets HY_EEXIST when every node that answered refused with
 * CONFLICT (the CAS failed or the seq is too old).
 */
int hy_dht_put_cas(struct hy_dht *d, const struct hy_id *key,
    const struct hy_value *v, bool permanent, uint64_t cas, hy_dht_put_cb *cb,
    void *arg, uint64_t now_ms, uint64_t *handle);

/* FIND_VALUE lookup for key (see hy_dht_get_cb). Returns as hy_dht_put. */
int hy_dht_get(struct hy_dht *dht, const struct hy_id *key, hy_dht_get_cb *cb,
    void *arg, uint64_t now_ms, uint64_t *handle);

/*
 * BEP 5 announce_peer: GET_PEERS lookup for key, then ANNOUNCE_PEER with
 * port (0 = the source port) to the k closest that gave a token.
 */
int hy_dht_announce(struct hy_dht *dht, const struct hy_id *key, uint16_t port,
    bool seed, hy_dht_put_cb *cb, void *arg, uint64_t now_ms, uint64_t *handle);

/* BEP 5 get_peers: GET_PEERS lookup; peers streamed, deduplicated. */
int hy_dht_get_peers(struct hy_dht *dht, const struct hy_id *key,
    hy_dht_peers_cb *cb, void *arg, uint64_t now_ms, uint64_t *handle);

/*
 * Cancel an operation (and a permanent put's republishing). Its callback
 * does not fire afterwards. Returns 0 or HY_ENOENT (unknown / finished).
 */
int hy_dht_cancel(struct hy_dht *dht, uint64_t handle);

/* Counters (copied). */
void hy_dht_get_stats(const struct hy_dht *dht, uint64_t now_ms,
    struct hy_dht_stats *out);

/* The node's modules, for the facade and tests (borrowed). */
const struct hy_id *hy_dht_self(const struct hy_dht *dht);
struct hy_rtable *hy_dht_rtable(struct hy_dht *dht);
struct hy_store *hy_dht_store(struct hy_dht *dht);
/* Operations alive (user, internal) and requests pending. */
size_t hy_dht_ops_alive(const struct hy_dht *dht);
size_t hy_dht_pending(const struct hy_dht *dht);

/*
 * The write token this node gives requester (id, ip) at now_ms in a reply
 * of type (HY_MSG_VALUES: good for STORE; HY_MSG_PEERS: for
 * ANNOUNCE_PEER), and whether a token is valid (current or previous
 * rotation epoch). For tests and the facade. Return 0 / true, or
 * HY_ECRYPTO / false.
 */
int hy_dht_token(const struct hy_dht *dht, unsigned type,
    const struct hy_id *id, const struct hy_addr *ip, uint64_t now_ms,
    uint8_t out[HY_DHT_TOKEN_LEN]);
bool hy_dht_token_ok(const struct hy_dht *dht, unsigned type,
    const struct hy_id *id, const struct hy_addr *ip, const uint8_t *tok,
    size_t len, uint64_t now_ms);

#endif /* HY_DHT_H */
