/*
 * hypha.h: the public API of libhypha, a Kademlia DHT node with a gossip
 * liveness overlay that runs on the caller's libevent event_base.
 *
 * Everything exported starts with hy_ (functions, types) or HY_ (macros,
 * enum constants). Handles are opaque; _free(NULL) is a no-op.
 */
#ifndef HYPHA_H
#define HYPHA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HY_EXPORT __attribute__((visibility("default")))
#else
#define HY_EXPORT
#endif

/*
 * Errors. Every fallible function returns 0 (HY_OK) or one of these negative
 * codes. The list is append-only: a code's value never changes.
 */
enum hy_err {
	HY_OK = 0,
	HY_EINVAL = -1, /* invalid argument */
	HY_ENOMEM = -2, /* out of memory */
	HY_ETRUNC = -3, /* input ends before the object does */
	HY_ETYPE = -4, /* a field has the wrong msgpack type */
	HY_ETOOBIG = -5, /* a length or count is over its cap */
	HY_EDEPTH = -6, /* nesting deeper than allowed */
	HY_ETRAILING = -7, /* bytes after the end of the object */
	HY_EUNKNOWN = -8, /* unknown message type */
	HY_EVERSION = -9, /* unsupported protocol version */
	HY_ENETWORK = -10, /* message for another network */
	HY_EBADSIG = -11, /* signature does not verify */
	HY_EREPLAY = -12, /* nonce already seen */
	HY_ESTALE = -13, /* timestamp outside the accepted window */
	HY_EIDMISMATCH = -14, /* claimed node ID is not the key's hash */
	HY_EIO = -15, /* operating-system I/O error */
	HY_ECORRUPT = -16, /* a file or structure is corrupt */
	HY_EKEYTYPE = -17, /* key of the wrong type */
	HY_EFULL = -18, /* a bounded table or store is full */
	HY_EEXIST = -19, /* already present */
	HY_ENOENT = -20, /* not found */
	HY_ECANCELED = -21, /* operation cancelled (node freed or stopped) */
	HY_ETIMEDOUT = -22, /* operation timed out */
	HY_ECRYPTO = -23, /* the crypto library failed */
	HY_EMARTIAN = -24, /* address is not routable */
	HY_ESELF = -25, /* refers to the local node */
	HY_EDIVERSITY = -26, /* IP diversity cap reached */
	HY_ERANGE = -27, /* value out of its allowed range */
	HY_EMALFORMED = -28, /* structurally invalid (bad field value) */
	HY_ESTATE = -29, /* call not valid in the current state */
	HY_ERATELIMIT = -30, /* refused by a rate limit */
	HY_EUNREACHABLE = -31 /* no peer could be reached */
};

/* A static, human-readable string for an error code; never NULL. */
HY_EXPORT const char *hy_strerror(int err);

/* The library's version string, e.g. "0.1.0". */
HY_EXPORT const char *hy_version(void);

/* Log levels, most severe first. */
enum hy_log_level {
	HY_LOG_ERR = 0,
	HY_LOG_WARN = 1,
	HY_LOG_INFO = 2,
	HY_LOG_DEBUG = 3
};

/*
 * The library never prints: it hands each log line (without a trailing
 * newline) to a callback the embedder sets. The message is borrowed.
 */
typedef void hy_log_cb(enum hy_log_level level, const char *msg, void *arg);

/* Length in bytes of a node ID and of a DHT key. */
#define HY_ID_LEN 32

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

struct hy_config;

/* A configuration with every option at its default; NULL if out of memory. */
HY_EXPORT struct hy_config *hy_config_new(void);
HY_EXPORT void hy_config_free(struct hy_config *cfg);

/*
 * Set an option by name, as hyphad spells its long options and config-file
 * keys ("listen", "seed", "network", "state-dir", "k", ...); repeatable
 * options ("listen", "seed") add a value per call. Returns 0 or a negative
 * hy_err with a one-line reason in err (which may be NULL).
 */
HY_EXPORT int hy_config_set(struct hy_config *cfg, const char *name,
    const char *value, char *err, size_t errlen);

/* Log through cb (NULL: discard) every line up to max_level. */
HY_EXPORT void hy_config_set_log(struct hy_config *cfg, hy_log_cb *cb,
    void *arg, enum hy_log_level max_level);

/* Call cb with every option's effective value; stops on non-zero. */
HY_EXPORT int hy_config_foreach(const struct hy_config *cfg,
    int (*cb)(const char *name, const char *value, void *arg), void *arg);

/* ------------------------------------------------------------------ */
/* Node                                                                */
/* ------------------------------------------------------------------ */

struct event_base;
struct hy_node;

/*
 * A node on the caller's event_base. The configuration is copied. Loads
 * (or creates) the identity in the state directory, or makes a throwaway
 * one without a state directory. NULL on failure, with the reason in err.
 */
HY_EXPORT struct hy_node *hy_node_new(struct event_base *base,
    const struct hy_config *cfg, char *err, size_t errlen);

/* Bind the sockets and join through the seeds. 0 or a negative hy_err. */
HY_EXPORT int hy_node_start(struct hy_node *n, char *err, size_t errlen);

/*
 * Leave: pending operations complete with HY_ECANCELED, sockets close.
 * The node can be started again. Freeing stops it first. NULL is a no-op.
 */
HY_EXPORT void hy_node_stop(struct hy_node *n);
HY_EXPORT void hy_node_free(struct hy_node *n);

/* The node ID (HY_ID_LEN bytes). */
HY_EXPORT void hy_node_id(const struct hy_node *n, uint8_t id[HY_ID_LEN]);

/*
 * The bound address of a family (4 or 6) as "a.b.c.d:port" / "[v6]:port",
 * written to buf; returns buf, or NULL if the node has no such socket.
 */
HY_EXPORT const char *hy_node_addr(const struct hy_node *n, int family,
    char *buf, size_t len);

/* Has the node heard back from at least one peer (joined the overlay)? */
HY_EXPORT int hy_node_joined(const struct hy_node *n);

/* Where the node stands. */
enum hy_node_status {
	HY_NODE_STOPPED = 0,
	HY_NODE_ALONE = 1, /* no seeds configured and no contacts */
	HY_NODE_JOINING = 2, /* trying its saved contacts and seeds */
	HY_NODE_SEEDS_DOWN = 3, /* every seed failed (retrying with backoff) */
	HY_NODE_JOINED = 4
};
HY_EXPORT enum hy_node_status hy_node_status(const struct hy_node *n);
HY_EXPORT const char *hy_node_status_str(enum hy_node_status st);

/* Events, delivered from the event loop (never inside an API call). */
enum hy_node_event {
	HY_EVENT_JOINED = 1, /* the node heard back from the overlay */
	HY_EVENT_ISOLATED = 2, /* it lost every contact that answered */
	HY_EVENT_CONTACT_ADDED = 3, /* a contact entered the routing table */
	HY_EVENT_CONTACT_EVICTED = 4, /* a contact left it */
	/* liveness (the member view, hy_node_members) */
	HY_EVENT_MEMBER_UP = 5, /* a contact is alive: new, refuted or back */
	HY_EVENT_MEMBER_SUSPECT = 6, /* its probes failed; suspicion started */
	HY_EVENT_MEMBER_DOWN = 7, /* suspicion expired: confirmed dead */
	HY_EVENT_MEMBER_UPDATED = 8 /* it signed a newer self-record */
};

/* The contact of a CONTACT_* event (borrowed for the callback). */
struct hy_event_contact {
	uint8_t id[HY_ID_LEN];
	char addr[56]; /* "a.b.c.d:port" or "[v6]:port" */
};

/* contact is NULL for JOINED and ISOLATED. */
typedef void hy_node_event_cb(void *arg, enum hy_node_event ev,
    const struct hy_event_contact *contact);
HY_EXPORT void hy_node_set_event_cb(struct hy_node *n, hy_node_event_cb *cb,
    void *arg);

/* What a get delivers, per value (borrowed for the callback). */
struct hy_value_info {
	const void *data;
	size_t len;
	uint64_t id; /* value id: distinguishes values under one key */
	uint32_t ttl_s;
	int is_mutable; /* a signed mutable value (hy_node_put_mutable) */
	uint64_t seq; /* its sequence number */
	uint8_t owner[33]; /* its owner's public key (compressed P-256) */
};

/* put / announce finished: err 0 and stored_on >= 1, or an error
 * (HY_EUNREACHABLE: no node took it; HY_ECANCELED). */
typedef void hy_put_cb(void *arg, int err, unsigned stored_on);

/*
 * get: called once per value (err 0, v set), then once with v NULL and the
 * final status: 0 (found), HY_ENOENT (the closest nodes have nothing),
 * HY_EUNREACHABLE (nobody answered), HY_ETIMEDOUT, HY_ECANCELED.
 */
typedef void hy_get_cb(void *arg, int err, const struct hy_value_info *v);

/* A peer for a content key, as get_peers reports it. */
struct hy_peer_info {
	int family; /* 4 or 6 */
	uint8_t ip[16]; /* network order; IPv4 in ip[0..3] */
	uint16_t port; /* host order */
	char text[56]; /* "a.b.c.d:port" or "[v6]:port" */
};

/* get_peers: batches of peers (err 0), then n == 0 and a final status as
 * for hy_get_cb. */
typedef void hy_peers_cb(void *arg, int err, const struct hy_peer_info *peers,
    size_t n);

struct hy_put_opts {
	uint32_t ttl_s; /* 0: the configured default */
	int permanent; /* republish until cancelled */
	uint64_t value_id; /* 0: derived from the data */
};

/*
 * Store data under key on the closest nodes. Callbacks never fire inside
 * the call that starts the operation. On success returns 0 and sets
 * *handle (for hy_node_cancel; may be NULL); otherwise a negative hy_err
 * and the callback will not fire.
 */
HY_EXPORT int hy_node_put(struct hy_node *n, const uint8_t key[HY_ID_LEN],
    const void *data, size_t len, const struct hy_put_opts *opts, hy_put_cb *cb,
    void *arg, uint64_t *handle);
HY_EXPORT int hy_node_get(struct hy_node *n, const uint8_t key[HY_ID_LEN],
    hy_get_cb *cb, void *arg, uint64_t *handle);

/*
 * A signed mutable value (BEP 44 semantics, P-256), owned by this node's
 * key: its DHT key is SHA-256(owner public key || salt), written to
 * key_out. Storing nodes keep the highest seq; cas != 0 makes the put
 * conditional on the stored seq being cas. The callback gets HY_EEXIST
 * when the storing nodes refused it (CAS mismatch or seq not newer).
 * salt is at most 64 bytes; ttl_s 0 means the configured default.
 */
HY_EXPORT int hy_node_put_mutable(struct hy_node *n, const void *salt,
    size_t salt_len, const void *data, size_t len, uint64_t seq, uint64_t cas,
    uint32_t ttl_s, hy_put_cb *cb, void *arg, uint8_t key_out[HY_ID_LEN],
    uint64_t *handle);

/* BEP 5: announce that this node serves key on port (0: its own port). */
HY_EXPORT int hy_node_announce(struct hy_node *n, const uint8_t key[HY_ID_LEN],
    uint16_t port, hy_put_cb *cb, void *arg, uint64_t *handle);
HY_EXPORT int hy_node_get_peers(struct hy_node *n, const uint8_t key[HY_ID_LEN],
    hy_peers_cb *cb, void *arg, uint64_t *handle);

/* Cancel an operation (a permanent put stops being republished); its
 * callback does not fire afterwards. 0 or HY_ENOENT. */
HY_EXPORT int hy_node_cancel(struct hy_node *n, uint64_t handle);

/*
 * Stop republishing this node's permanent puts of key, also those restored
 * from the state directory after a restart. Puts still in their first
 * round are left alone (cancel them by handle). Returns how many were
 * stopped (0 if none), or HY_ESTATE when the node is not running.
 */
HY_EXPORT int hy_node_unput(struct hy_node *n, const uint8_t key[HY_ID_LEN]);

/* Call cb(name, value) for every counter ("rtable.contacts",
 * "transport.bad_signature", ...); stops on non-zero. */
HY_EXPORT int hy_node_stats(const struct hy_node *n,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

/* One routing-table contact, as hy_node_routes reports it. */
struct hy_route {
	uint8_t id[HY_ID_LEN];
	char addr[56];
	const char *status; /* "good", "questionable" or "bad" */
	uint64_t last_seen_ms_ago; /* since we last heard from it */
	unsigned bucket;
};

/* Call cb for every contact in the routing table; stops on non-zero. */
HY_EXPORT int hy_node_routes(const struct hy_node *n,
    int (*cb)(const struct hy_route *r, void *arg), void *arg);

/* Liveness state of a member (a contact whose liveness the node tracks). */
enum hy_member_state {
	HY_MEMBER_ALIVE = 0,
	HY_MEMBER_SUSPECT = 1,
	HY_MEMBER_DOWN = 2 /* confirmed dead; kept a while and re-probed */
};

/* "alive", "suspect" or "down". */
HY_EXPORT const char *hy_member_state_str(enum hy_member_state st);

/* One member, as hy_node_members reports it. */
struct hy_member {
	uint8_t id[HY_ID_LEN];
	char addr[56];
	enum hy_member_state state;
	uint64_t seq; /* highest signed self-record seq seen (0: none) */
	uint64_t since_ms_ago; /* time in this state */
	unsigned confirmations; /* independent suspicions heard (suspect) */
	int active; /* in the node's active set (lasting DTLS session) */
	int in_table; /* in the routing table (else a candidate or down) */
};

/*
 * Call cb for every member of the node's liveness view (routing-table
 * contacts and candidates, alive or suspect, then the down contacts it
 * still re-probes); stops on non-zero and returns that value.
 */
HY_EXPORT int hy_node_members(const struct hy_node *n,
    int (*cb)(const struct hy_member *m, void *arg), void *arg);

/*
 * The node's local health multiplier (Lifeguard): 0 when healthy, up to the
 * configured maximum when its own probes fail or its timers run late; its
 * timeouts stretch by (1 + health) and it declares nobody down while
 * degraded.
 */
HY_EXPORT unsigned hy_node_health(const struct hy_node *n);

/* SHA-256 of a string: how the daemon and the CLI turn names into keys. */
HY_EXPORT void hy_key_from_string(const char *s, size_t len,
    uint8_t key[HY_ID_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* HYPHA_H */
