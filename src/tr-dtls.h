/*
 * tr-dtls.h: DTLS 1.2 sessions with many peers over one UDP socket (L2).
 *
 * The endpoint does not own a socket: it gets the DTLS records the
 * demultiplexer read (hy_dtls_input) and writes through a send callback.
 * Sessions are keyed by peer address. New clients go through a stateless
 * cookie exchange (DTLSv1_listen on one reusable listener object) before
 * any per-peer state exists. Live sessions are bounded (LRU eviction);
 * handshakes in progress are bounded separately; a client keeps the
 * session tickets of peers it talked to, bounded too, and resumes with one
 * round trip after its session was evicted.
 */
#ifndef HY_TR_DTLS_H
#define HY_TR_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "id.h"

struct event_base;
struct hy_trctx;
struct hy_dtls;

struct hy_dtls_config {
	size_t max_sessions; /* live sessions (default 512) */
	size_t max_handshakes; /* handshakes in progress (default 256) */
	size_t ticket_cache; /* peers whose tickets we keep (4096) */
	uint32_t handshake_timeout_ms; /* give up on a handshake (10 s) */
	uint32_t idle_timeout_ms; /* close a silent session (600 s) */
	uint32_t initial_rto_ms; /* first retransmission timeout (1 s) */
	uint32_t max_rto_ms; /* retransmission backoff cap (8 s) */
	uint16_t mtu; /* largest datagram we send (1280) */
	size_t queue_max; /* messages queued during a handshake (16) */
};

enum hy_dtls_event {
	HY_DTLS_UP, /* session established (peer ID authenticated) */
	HY_DTLS_DOWN, /* session closed: evicted, idle, closed by peer */
	HY_DTLS_FAILED /* handshake failed or timed out */
};

/* Raw datagram out; returns 0 or a negative hy_err. */
typedef int hy_dtls_send_fn(void *arg, const struct hy_addr *to,
    const uint8_t *data, size_t len);
/* One application record in; data is borrowed for the call. */
typedef void hy_dtls_recv_cb(void *arg, const struct hy_id *peer,
    const struct hy_addr *from, const uint8_t *data, size_t len);
/* A session changed state; err says why for DOWN/FAILED (0 if normal). */
typedef void hy_dtls_event_cb(void *arg, enum hy_dtls_event ev,
    const struct hy_id *peer, const struct hy_addr *addr, int err);

struct hy_dtls_stats {
	uint64_t handshakes_ok, handshakes_resumed, handshakes_failed;
	uint64_t handshakes_refused; /* over max_handshakes */
	uint64_t cookies_sent, cookie_failures;
	uint64_t id_mismatch; /* peer was not who we expected */
	uint64_t evictions, idle_closed;
	uint64_t records_in, records_out, bytes_in, bytes_out;
	uint64_t dropped_no_session; /* non-handshake record, no session */
	uint64_t queue_overflow;
	size_t sessions, handshaking;
};

void hy_dtls_config_default(struct hy_dtls_config *cfg);

struct hy_dtls *hy_dtls_new(struct event_base *base, struct hy_trctx *ctx,
    const struct hy_dtls_config *cfg, hy_dtls_send_fn *send, void *send_arg,
    hy_dtls_recv_cb *recv, hy_dtls_event_cb *event, void *arg);
/* Closes every session (no events fire). NULL is a no-op. */
void hy_dtls_free(struct hy_dtls *d);

/* A datagram whose first byte is a DTLS content type (20..63). */
void hy_dtls_input(struct hy_dtls *d, const struct hy_addr *from,
    const uint8_t *data, size_t len);

/*
 * Open a session to `to`, whose node ID must be `expect`. Returns 0 when
 * the handshake started or a session already exists, HY_EFULL when too many
 * handshakes are in progress, HY_ECRYPTO, HY_ENOMEM.
 */
int hy_dtls_connect(struct hy_dtls *d, const struct hy_addr *to,
    const struct hy_id *expect);

/*
 * Send one message on the session with `to`. While the handshake runs the
 * message is queued (bounded). Returns 0, HY_ENOENT (no session),
 * HY_ETOOBIG (over the record payload limit), HY_EFULL (queue full).
 */
int hy_dtls_send(struct hy_dtls *d, const struct hy_addr *to,
    const uint8_t *data, size_t len);

/* Is a session with `to` established? Sets *peer if so and peer != NULL. */
bool hy_dtls_is_up(struct hy_dtls *d, const struct hy_addr *to,
    struct hy_id *peer);

/* Close the session with `to` (sends close_notify). No event fires. */
void hy_dtls_close(struct hy_dtls *d, const struct hy_addr *to);

/* Largest message hy_dtls_send accepts with the configured MTU. */
size_t hy_dtls_max_payload(const struct hy_dtls *d);

void hy_dtls_stats(const struct hy_dtls *d, struct hy_dtls_stats *out);

#endif /* HY_TR_DTLS_H */
