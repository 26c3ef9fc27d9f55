/*
 * dht-internal.h: the state shared by dht.c, dht-serve.c, dht-ops.c and
 * dht-maint.c (L4). Not installed; nothing outside src/dht*.c includes it.
 */
#ifndef HY_DHT_INTERNAL_H
#define HY_DHT_INTERNAL_H

#include "dht.h"

#define HY_DHT_SEEDS_MAX 16 /* seeds remembered for re-bootstrap */
#define HY_DHT_BOOT_RETRY_MIN_MS 5000
#define HY_DHT_BOOT_RETRY_MAX_MS (5 * 60 * 1000)

/* Operation kinds: the first four are the user's (stats index). */
enum hy_dht_kind {
	HY_DK_PUT = 0,
	HY_DK_GET = 1,
	HY_DK_ANNOUNCE = 2,
	HY_DK_GET_PEERS = 3,
	HY_DK_REFRESH = 4, /* bucket refresh FIND_NODE lookup */
	HY_DK_BOOT = 5, /* bootstrap: seeds, then self lookup */
	HY_DK_REPLICATE = 6 /* a replica re-stores a key's values */
};

enum hy_dht_phase {
	HY_DP_FREE = 0,
	HY_DP_BOOTWAIT, /* waiting for a seed's NODES */
	HY_DP_LOOKUP,
	HY_DP_STORE, /* STORE / ANNOUNCE_PEER requests out */
	HY_DP_DONE, /* final callback pending (fired by hy_dht_flush) */
	HY_DP_IDLE /* permanent put between rounds */
};

/* What a pending request is for. */
enum hy_dht_purpose {
	HY_PP_LOOKUP = 1, /* a lookup query of op */
	HY_PP_STORE, /* STORE / ANNOUNCE_PEER of op */
	HY_PP_PING, /* rtable ping-before-evict */
	HY_PP_BOOT, /* FIND_NODE(self) to a seed of op */
	HY_PP_HAND_FV, /* handover: FIND_VALUE for the token */
	HY_PP_HAND_STORE /* handover: STORE */
};

/* A copied value: v's borrowed pointers point into buf. */
struct hy_dht_val {
	struct hy_value v;
	uint8_t *buf;
};

/* A write token a responder gave us during a lookup. */
struct hy_dht_tok {
	struct hy_id id;
	uint8_t len;
	uint8_t tok[HY_TOKEN_MAX];
};

struct hy_dht_op {
	uint32_t gen; /* bumped when the slot is freed: stale cookies */
	uint8_t kind; /* enum hy_dht_kind */
	uint8_t phase; /* enum hy_dht_phase */
	bool permanent;
	uint64_t cas; /* put: STORE compare-and-swap (0: none) */
	unsigned conflicts; /* put: STOREs refused with CONFLICT */
	bool seed;
	uint16_t port;
	struct hy_id key;
	struct hy_lookup *lk;
	struct hy_dht_val *vals; /* put: 1, replicate: up to 16 */
	unsigned nvals;
	hy_dht_put_cb *put_cb;
	hy_dht_get_cb *get_cb;
	hy_dht_peers_cb *peers_cb;
	void *arg;
	struct hy_dht_tok *toks; /* cap ntoks_max (lookup window) */
	unsigned ntoks, ntoks_max;
	uint64_t *seen; /* value ids / peer address hashes */
	unsigned nseen, nseen_max;
	bool have_mut; /* get: a mutable value was streamed */
	uint64_t mut_seq; /* ... with this seq */
	unsigned out; /* STORE or seed requests outstanding */
	unsigned stored_on;
	bool first_round_done; /* permanent: callback already fired */
	int err; /* final put/announce error */
	enum hy_dht_status status; /* final get status */
	struct hy_dht_op_info info;
	uint64_t started_ms;
	uint64_t next_ms; /* IDLE: next republish */
};

struct hy_dht_pend {
	uint32_t gen;
	uint8_t used;
	uint8_t purpose; /* enum hy_dht_purpose */
	uint8_t type; /* request type */
	bool has_id;
	uint32_t op; /* op index, for LOOKUP / STORE / BOOT */
	uint32_t op_gen;
	struct hy_id to_id;
	struct hy_addr to;
	struct hy_id key; /* handover */
};

struct hy_dht_hand {
	struct hy_contact c;
	struct hy_id key;
};

struct hy_dht {
	struct hy_dht_config cfg;
	struct hy_dht_host host;
	struct hy_id self;
	uint8_t secret[HY_DHT_SECRET_LEN];
	struct hy_rng rng;
	struct hy_rtable *rt;
	struct hy_store *st;
	struct hy_dht_op *ops; /* cfg.max_ops */
	unsigned ops_hi; /* slots [0, ops_hi) may be in use */
	unsigned nops, nmaint; /* alive; of which internal */
	unsigned ndone; /* ops in HY_DP_DONE */
	struct hy_dht_pend *pend; /* cfg.max_pending */
	uint32_t *pend_free; /* stack of free pend indexes */
	unsigned npend_free;
	struct hy_dht_hand *hand; /* ring of cfg.max_handover */
	unsigned hand_head, hand_n;
	struct hy_addr seeds[HY_DHT_SEEDS_MAX]; /* last bootstrap's */
	unsigned nseeds;
	uint64_t boot_retry_ms; /* next re-bootstrap while alone */
	uint64_t boot_backoff_ms;
	uint64_t next_maint_ms;
	uint64_t next_replicate_ms;
	uint64_t repl_scan_ms; /* start of the current replication scan */
	size_t repl_cursor; /* keys of the scan already handled */
	bool repl_active; /* a scan is in progress */
	bool in_flush; /* reentrancy guard for hy_dht_flush */
	bool freeing; /* in hy_dht_free: no new operation starts */
	struct hy_dht_stats stats;
};

/* ---- dht.c ---- */

/*
 * Hand req to host->request with a pending slot described by p (purpose,
 * op, key; the rest is filled in). Returns 0, HY_EFULL (max_pending
 * requests out: counted in pending_full) or the host's error; on error no
 * response will come for it.
 */
int hy_dht_send(struct hy_dht *d, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, const struct hy_dht_pend *p);
/* hy_msg_init with the configured network and the own ID. Never fails. */
void hy_dht_msg_init(const struct hy_dht *d, struct hy_msg *m, unsigned type,
    uint32_t txid);
/* A `want` field as a family mask (bit 0 IPv4, bit 1 IPv6; 0 = from's). */
unsigned hy_dht_want_mask(unsigned want, const struct hy_addr *from);
/* Is a's family in mask? */
bool hy_dht_family_ok(unsigned mask, const struct hy_addr *a);

/* ---- dht-serve.c ---- */

/* Answer one request through host->reply (see dht-serve.c). */
void hy_dht_serve(struct hy_dht *d, const struct hy_msg *req,
    const struct hy_addr *from, const struct hy_id *from_id, uint64_t now_ms);

/* BEP 44 key and signature checks (see dht-serve.c). */
int hy_dht_verify_mutable(const struct hy_dht *d, const struct hy_id *key,
    const struct hy_value *v);

/* ---- dht-ops.c ---- */

/*
 * A free op slot set up for kind and key (phase LOOKUP, no lookup yet),
 * with its handle in *handle (may be NULL); NULL when max_ops (or
 * max_maint_ops for internal kinds) are alive.
 */
struct hy_dht_op *hy_dht_op_alloc(struct hy_dht *d, enum hy_dht_kind kind,
    const struct hy_id *key, uint64_t now_ms, uint64_t *handle);
/* (Re)create op's lookup, seeded from the table. 0, HY_ENOMEM, HY_EINVAL. */
int hy_dht_op_lookup(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms);
/*
 * hy_dht_op_lookup then pump; on failure the op is released. Returns 0 or
 * the lookup's error.
 */
int hy_dht_op_start(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms);
/* Send what op's lookup wants; may finish (and release) op. */
void hy_dht_op_pump(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms);
/* Free op's slot and everything it owns; no callback. */
void hy_dht_op_release(struct hy_dht *d, struct hy_dht_op *op);
/* The outcome of a LOOKUP, STORE or BOOT request p (stale ones ignored). */
void hy_dht_op_response(struct hy_dht *d, const struct hy_dht_pend *p, int err,
    const struct hy_msg *reply, const struct hy_addr *from, uint64_t now_ms);
/* Timeouts of op's lookup, or a permanent put's next round. */
void hy_dht_op_tick(struct hy_dht *d, struct hy_dht_op *op, uint64_t now_ms);
/* When op needs hy_dht_op_tick next; UINT64_MAX for never. */
uint64_t hy_dht_op_deadline(const struct hy_dht_op *op);
/* Fire the final callbacks of ops in HY_DP_DONE. Not reentrant (guarded). */
void hy_dht_flush(struct hy_dht *d);
/* Deep copy of v (data and salt into one buffer). 0 or HY_ENOMEM. */
int hy_dht_val_copy(struct hy_dht_val *dst, const struct hy_value *v);

/* ---- dht-maint.c ---- */

/* Hand-overs, pings, bucket refresh, replication due at now_ms. */
void hy_dht_maint(struct hy_dht *d, uint64_t now_ms);
/* The outcome of a PING or hand-over request. */
void hy_dht_maint_response(struct hy_dht *d, const struct hy_dht_pend *p,
    int err, const struct hy_msg *reply, const struct hy_addr *from,
    uint64_t now_ms);
/* id entered the table at addr: queue the stored keys it should hold. */
void hy_dht_handover_check(struct hy_dht *d, const struct hy_id *id,
    const struct hy_addr *addr, uint64_t now_ms);

/* A stored value as the wire carries it (borrows from sv). */
void hy_dht_value_from_store(const struct hy_store_value *sv,
    struct hy_value *v);

#endif /* HY_DHT_INTERNAL_H */
