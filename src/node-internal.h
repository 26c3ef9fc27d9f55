/*
 * node-internal.h: the node's state, shared by node.c (lifecycle, host
 * side of the DHT boundary) and node-ops.c (the public operations).
 */
#ifndef HY_NODE_INTERNAL_H
#define HY_NODE_INTERNAL_H

#include <stdint.h>

#include "conf.h"
#include "dht.h"
#include "gossip.h"
#include "hypha.h"
#include "log.h"
#include "rpc.h"

struct event;
struct hy_ident;
struct hy_pex;
struct hy_seeds;

#define HY_NODE_OPS 256
#define HY_NODE_EVENTS 256 /* events queued for the embedder */
#define HY_NODE_LIVEACTS 256 /* liveness decisions awaiting action */

/* A decision of the liveness layer, carried out after it returns. */
struct hy_node_liveact {
	uint8_t kind;
	struct hy_id id;
	struct hy_addr addr;
};

enum hy_node_opkind { OP_FREE = 0, OP_PUT, OP_GET, OP_PEERS };

struct hy_node_op {
	struct hy_node *n;
	enum hy_node_opkind kind;
	uint64_t handle;
	union {
		hy_put_cb *put;
		hy_get_cb *get;
		hy_peers_cb *peers;
	} cb;
	void *arg;
};

struct hy_node_call {
	struct hy_node *n;
	uint64_t cookie;
};

/* A permanent put this node made: saved in the state directory, re-put
 * after a restart, republished by the DHT until cancelled. */
#define HY_NODE_PERM_MAX 1024
struct hy_node_perm {
	bool used;
	struct hy_id key;
	uint64_t value_id;
	uint8_t *data;
	size_t len;
	uint32_t ttl_s;
	uint64_t handle; /* the DHT operation republishing it */
};

struct hy_node {
	struct event_base *base;
	struct hy_config cfg;
	struct hy_log log;
	struct hy_ident *ident;
	struct hy_rpc *rpc;
	struct hy_dht *dht;
	struct event *tick;
	const struct hy_from *cur_from; /* request being served, if any */
	struct hy_seeds *seeds; /* resolves and retries the seed list */
	bool seed_verdict_due; /* addresses delivered, verdict pending */
	uint64_t seed_verdict_ms; /* when to judge the last attempt */
	bool was_joined;
	hy_node_event_cb *event_cb;
	void *event_arg;
	/* events waiting for delivery from the loop (bounded ring) */
	struct event *evq;
	struct hy_node_evitem {
		enum hy_node_event ev;
		bool has_contact;
		struct hy_event_contact c;
	} evring[HY_NODE_EVENTS];
	unsigned ev_head, ev_count;
	uint64_t events_dropped;
	struct hy_node_op ops[HY_NODE_OPS];
	/* liveness and PEX (node-live.c) */
	struct hy_gossiper *live;
	struct hy_pex *pex;
	struct event *live_tick;
	struct hy_node_liveact acts[HY_NODE_LIVEACTS];
	unsigned n_acts;
	uint64_t acts_dropped, pex_sent, live_refused;
	size_t pex_budget;
	uint64_t next_seed_retry_ms;
	int lock_fd; /* state directory lock, or -1 */
	uint64_t next_save_ms;
	struct hy_node_perm perm[HY_NODE_PERM_MAX];
};

/* node-state.c: the state directory. */
int hy_node_state_open(struct hy_node *n, char *err, size_t errlen);
void hy_node_state_restore(struct hy_node *n, uint64_t now);
void hy_node_state_save(struct hy_node *n, uint64_t now);
void hy_node_state_close(struct hy_node *n);
/* Remember / forget a permanent put (for saving). */
int hy_node_perm_add(struct hy_node *n, const struct hy_id *key,
    const struct hy_value *v, uint64_t handle);
void hy_node_perm_forget(struct hy_node *n, uint64_t handle);

/* node-live.c: the liveness layer and PEX. */
int hy_node_live_start(struct hy_node *n, uint64_t now, char *err,
    size_t errlen);
void hy_node_live_stop(struct hy_node *n);
void hy_node_live_resched(struct hy_node *n);
/* PROBE, PROBE_REQ, PEX are handled here (true); every message is a sign
 * of life of its sender and may carry gossip items. */
bool hy_node_live_request(struct hy_node *n, const struct hy_msg *msg,
    const struct hy_from *from);
/* A DHT request from `from` was served. */
void hy_node_live_queried(struct hy_node *n, const struct hy_from *from);
/* A DHT request was answered by reply from `from`. */
void hy_node_live_replied(struct hy_node *n, const struct hy_msg *reply,
    const struct hy_addr *from, uint64_t now);
/* struct hy_dht_host.contact_failed */
bool hy_node_live_contact_failed(void *host, const struct hy_id *id,
    const struct hy_addr *addr);
void hy_node_live_contact_change(struct hy_node *n,
    const struct hy_rtable_contact *c, bool added);
/* Queue an event for the embedder (c NULL: none). */
void hy_node_queue_event(struct hy_node *n, enum hy_node_event ev,
    const struct hy_rtable_contact *c);

/* Monotonic milliseconds. */
uint64_t hy_node_now(void);
/* Arm ev for deadline (monotonic ms), at most a minute ahead. */
void hy_node_arm(struct event *ev, uint64_t deadline, uint64_t now);
/* Re-arm the DHT timer after an entry point. */
void hy_node_resched(struct hy_node *n);

#endif /* HY_NODE_INTERNAL_H */
