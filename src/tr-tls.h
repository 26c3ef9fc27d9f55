/*
 * tr-tls.h: TLS 1.3 streams over TCP with many peers (L2).
 *
 * Carries what does not fit a datagram: large values, bulk transfers, and
 * traffic to peers whose UDP path fails (DESIGN.md §3). Runs on the
 * caller's event_base. Both sides authenticate with their node identity
 * (tr-ctx.h); a connection is keyed by the peer's node ID once the
 * handshake is done, and by the address it was dialled at before.
 *
 * On the wire, each frame is a 4-byte big-endian length and that many
 * payload bytes (one msgpack envelope; this module does not look inside).
 * A length of 0 or over frame_cap is a protocol error that closes the
 * connection.
 *
 * Duplicates: both peers may dial each other, and both connections stay
 * open. Sends go to the one both sides agree on (dialled by the lower node
 * ID, then the newest), so the other falls silent and the idle timeout
 * closes it; nothing queued on either is cut off. Frames keep their order
 * on one connection; while a second connection to a peer comes up, frames
 * sent on the two may overtake each other.
 *
 * Writes use send(MSG_NOSIGNAL): a peer that resets cannot raise SIGPIPE.
 */
#ifndef HY_TR_TLS_H
#define HY_TR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "id.h"

struct event_base;
struct hy_trctx;
struct hy_tls;

#define HY_TLS_FRAME_HDR 4 /* big-endian payload length */
#define HY_TLS_CAP_LIMIT (16u * 1024 * 1024) /* largest frame_cap allowed */

/* out_cap must be at least frame_cap + 4, so a full frame fits. */
struct hy_tls_config {
	struct hy_addr listen; /* family 0: client only; port 0: any */
	size_t max_conns; /* open connections, both directions (256) */
	size_t frame_cap; /* largest payload, 1..HY_TLS_CAP_LIMIT (128 KiB) */
	size_t out_cap; /* queued bytes per connection (1 MiB) */
	uint32_t idle_timeout_ms; /* close a silent connection (120 s) */
	uint32_t handshake_timeout_ms; /* give up on a handshake (10 s) */
	int backlog; /* listen(2) backlog (128) */
};

enum hy_tls_event {
	HY_TLS_UP, /* first authenticated connection to this peer */
	HY_TLS_DOWN, /* the last connection to this peer closed */
	HY_TLS_FAILED /* a connection we dialled did not come up */
};

/* One frame in; peer and data are borrowed for the call. */
typedef void hy_tls_recv_cb(void *arg, const struct hy_id *peer,
    const struct hy_addr *from, const uint8_t *data, size_t len);
/*
 * A peer changed state. err says why for DOWN/FAILED (0: the peer closed
 * cleanly): HY_EIDMISMATCH (the peer was not the ID we dialled),
 * HY_ETIMEDOUT (handshake or idle timeout), HY_ETOOBIG (the peer sent a bad
 * frame length), HY_ECRYPTO (TLS failure), HY_EIO (socket error, refused).
 */
typedef void hy_tls_event_cb(void *arg, enum hy_tls_event ev,
    const struct hy_id *peer, const struct hy_addr *addr, int err);

struct hy_tls_stats {
	size_t open; /* connections now, both directions, handshaking too */
	size_t up; /* of which authenticated */
	uint64_t accepted; /* inbound connections taken */
	uint64_t dialled; /* outbound connections started */
	uint64_t refused_cap; /* inbound connections over max_conns */
	uint64_t accept_errors; /* accept(2) failed (e.g. EMFILE) */
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t id_mismatch; /* dialled peer showed another ID */
	uint64_t oversize_frames; /* length 0 or over frame_cap */
	uint64_t frames_in, frames_out; /* frames received, queued to TLS */
	uint64_t bytes_in, bytes_out; /* frame bytes, headers included */
	uint64_t frames_dropped; /* queued for a dial that failed */
	uint64_t out_full; /* sends refused by out_cap */
	uint64_t idle_closed; /* closed by idle_timeout_ms */
};

void hy_tls_config_default(struct hy_tls_config *cfg);

/*
 * Create an endpoint on base with the TLS context of trctx (both must
 * outlive it). recv is required; event may be NULL. If cfg->listen has a
 * family, bind and listen there (SO_REUSEADDR; IPv6 is V6ONLY). Returns
 * NULL on a bad config, out of memory, or a socket that cannot be bound
 * (errno tells why).
 *
 * Callbacks run from the event loop, never inside the call that caused
 * them; they may call hy_tls_send and hy_tls_close_peer but must not free
 * the endpoint.
 */
struct hy_tls *hy_tls_new(struct event_base *base, struct hy_trctx *trctx,
    const struct hy_tls_config *cfg, hy_tls_recv_cb *recv,
    hy_tls_event_cb *event, void *arg);

/*
 * Close every connection and the listener; no callback fires afterwards.
 * Queued output is discarded. libevent releases the sockets the next time
 * the loop runs or when the base is freed. NULL is a no-op.
 */
void hy_tls_free(struct hy_tls *t);

/*
 * Send one frame to peer. Uses the peer's authenticated connection if one
 * is open, else a dial to (addr, peer) already in progress, else dials
 * addr expecting peer's ID; until the handshake completes, frames wait in
 * the connection's queue (bounded by out_cap) and are dropped if it fails.
 * Returns 0 (queued; delivery is not confirmed), HY_EINVAL (len 0, peer
 * NULL), HY_ETOOBIG (len > frame_cap), HY_ESELF (our own ID), HY_ENOENT
 * (no connection and addr NULL), HY_EFULL (out_cap would be exceeded, or
 * max_conns connections are open), HY_ENOMEM, HY_ECRYPTO, HY_EIO (the
 * socket could not be created).
 */
int hy_tls_send(struct hy_tls *t, const struct hy_id *peer,
    const struct hy_addr *addr, const uint8_t *data, size_t len);

/*
 * Close every connection with peer, authenticated or dialled for it,
 * without firing an event and discarding queued output. Returns 0 or
 * HY_ENOENT (none).
 */
int hy_tls_close_peer(struct hy_tls *t, const struct hy_id *peer);

/* Is an authenticated connection to peer open? */
bool hy_tls_is_up(const struct hy_tls *t, const struct hy_id *peer);

/* The bound address (real port if bound to 0), or NULL if client only. */
const struct hy_addr *hy_tls_local(const struct hy_tls *t);

void hy_tls_stats(const struct hy_tls *t, struct hy_tls_stats *out);

#endif /* HY_TR_TLS_H */
