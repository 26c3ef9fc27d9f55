/*
 * node-internal.h: the node's state, shared by node.c (lifecycle, host
 * side of the DHT boundary) and node-ops.c (the public operations).
 */
#ifndef HY_NODE_INTERNAL_H
#define HY_NODE_INTERNAL_H

#include <stdint.h>

#include "conf.h"
#include "dht.h"
#include "hypha.h"
#include "log.h"
#include "rpc.h"

struct event;
struct hy_ident;
struct hy_seeds;

#define HY_NODE_OPS 256
#define HY_NODE_EVENTS 256 /* events queued for the embedder */

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

/* Monotonic milliseconds. */
uint64_t hy_node_now(void);
/* Re-arm the DHT timer after an entry point. */
void hy_node_resched(struct hy_node *n);

#endif /* HY_NODE_INTERNAL_H */
