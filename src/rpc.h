/*
 * rpc.h: requests and replies over the node's transports (L2).
 *
 * The RPC layer owns the transport. It gives every request a random
 * transaction id, matches the reply by (id, source address, expected
 * sender), retries on timeout a bounded number of times, and caps the
 * requests in flight in total and per destination. A matched reply proves
 * the address receives our packets, so it lifts the address's
 * amplification budget. Which path carried a message is the transport's
 * business; callers never see it except in struct hy_from.
 *
 * Callbacks: a request's done callback fires exactly once (reply, timeout,
 * or HY_ECANCELED when the RPC layer is freed), never from inside
 * hy_rpc_call. Incoming requests and one-way messages go to the handler
 * given at creation.
 */
#ifndef HY_RPC_H
#define HY_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

struct event_base;
struct hy_ident;
struct hy_rpc;

struct hy_rpc_config {
	uint32_t timeout_ms; /* per attempt (1000) */
	uint32_t retries; /* further attempts after a timeout (1) */
	size_t max_inflight; /* requests awaiting a reply (4096) */
	size_t max_inflight_peer; /* ... to one address (64) */
};

/*
 * A request finished: err is 0 with the reply (whose type is the request's
 * reply type or HY_MSG_ERROR), HY_ETIMEDOUT, or HY_ECANCELED. reply and
 * from are NULL unless err is 0, and borrowed for the call.
 */
typedef void hy_rpc_done_cb(void *arg, int err, const struct hy_msg *reply,
    const struct hy_from *from);

/* An incoming request or one-way message (borrowed for the call). */
typedef void hy_rpc_handler_cb(void *arg, const struct hy_msg *msg,
    const struct hy_from *from);

struct hy_rpc_stats {
	uint64_t calls, replies, timeouts, retries, cancelled;
	uint64_t refused_full; /* over max_inflight / max_inflight_peer */
	uint64_t unmatched; /* replies with no pending request */
	uint64_t requests_in, replies_out;
	size_t inflight;
};

void hy_rpc_config_default(struct hy_rpc_config *cfg);

/*
 * Create the RPC layer and its transport. On failure returns NULL, sets
 * *err and writes the reason to errbuf.
 */
struct hy_rpc *hy_rpc_new(struct event_base *base, const struct hy_ident *id,
    const struct hy_transport_config *tcfg, const struct hy_rpc_config *cfg,
    hy_rpc_handler_cb *handler, void *arg, int *err, char *errbuf,
    size_t errlen);
/*
 * Fires every pending done callback with HY_ECANCELED, then frees. Those
 * callbacks must not call into the RPC layer.
 */
void hy_rpc_free(struct hy_rpc *r);

/*
 * Send request `req` (its type must be a request) to `to`, expecting the
 * reply from node `to_id` (NULL: from whoever answers at that address).
 * req->txid is assigned here. Returns 0 (cb will fire exactly once, later),
 * or without calling cb: HY_EFULL (in-flight caps), HY_EINVAL (not a
 * request type), or the transport's error (HY_ETOOBIG, ...). If handle is
 * not NULL it receives a value for hy_rpc_cancel.
 */
int hy_rpc_call(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, hy_rpc_done_cb *cb,
    void *arg, uint64_t *handle);

/* Options of one call (hy_rpc_call uses the configured ones). */
#define HY_RPC_VIA_TLS 0x1u /* over TLS (to_id required) */
#define HY_RPC_SESSION                                                         \
	0x2u /* a DTLS session if one is up, else TLS:                         \
	        never a signed datagram (PROTOCOL.md §2) */
struct hy_rpc_opts {
	uint32_t timeout_ms; /* per attempt; 0: the configured one */
	uint32_t retries; /* further attempts */
	unsigned flags; /* HY_RPC_VIA_TLS, HY_RPC_SESSION */
};

/* hy_rpc_call with per-call timeout, retries and path. */
int hy_rpc_call_opts(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, const struct hy_rpc_opts *o,
    hy_rpc_done_cb *cb, void *arg, uint64_t *handle);

/* Forget a pending request; its callback will not fire. Unknown: no-op. */
void hy_rpc_cancel(struct hy_rpc *r, uint64_t handle);

/* Answer request `req` received from `from` with `reply` (txid copied). */
int hy_rpc_reply(struct hy_rpc *r, const struct hy_msg *req,
    const struct hy_from *from, struct hy_msg *reply);

/* Send a one-way message (no reply expected). */
int hy_rpc_send(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *msg);
/* ... over a DTLS session if one is up, else TLS (PEX). */
int hy_rpc_send_session(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *msg);

struct hy_transport *hy_rpc_transport(struct hy_rpc *r);
void hy_rpc_stats(const struct hy_rpc *r, struct hy_rpc_stats *out);

#endif /* HY_RPC_H */
