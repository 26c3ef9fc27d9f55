/*
 * transport.h: one node's authenticated transports behind one interface (L2).
 *
 * Owns the UDP sockets (IPv4 and/or IPv6), demultiplexes each datagram by
 * its first byte (0x97: signed datagram, 20..63: DTLS record, anything else
 * is dropped and counted), runs the signed-datagram checks in the order of
 * PROTOCOL.md §3, feeds DTLS records to the DTLS multiplexer, and hands every
 * authenticated envelope up with where it came from. Sending picks the path:
 * an envelope too large for a datagram goes over a TLS stream (which needs
 * the peer's node ID); otherwise a live DTLS session to the address if
 * there is one, else a signed datagram. The TLS listener uses the TCP port
 * of the same number as the first UDP socket.
 *
 * Anti-amplification: until an address has proven that it receives our
 * packets (hy_transport_validated, called by the RPC layer when a reply
 * echoes a transaction id we sent there, or a DTLS handshake completed), the
 * replies and one-way messages we send it total at most the bytes we have
 * received from it. Requests are exempt: they start contact, and a
 * requester that wants a large answer from a stranger pads its request
 * (PROTOCOL.md §4.1). The table of addresses is bounded; an evicted address is
 * unvalidated again.
 * A peer proves receipt by echoing, in its next request, the nonce of
 * our last datagram to it (hy_dgram_echo).
 */
#ifndef HY_TRANSPORT_H
#define HY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "id.h"
#include "ratelimit.h"
#include "tr-dtls.h"
#include "tr-tls.h"
#include "tr-udp.h"
#include "wire.h"

struct event_base;
struct hy_ident;
struct hy_transport;

struct hy_transport_config {
	char network[HY_NETWORK_MAX + 1];
	struct hy_addr listen4; /* family 0: no IPv4 socket */
	struct hy_addr listen6; /* family 0: no IPv6 socket */
	const char *ca_file; /* overlay CA, or NULL */
	const char *cert_file; /* with ca_file: our CA-issued certificate */
	const char *keylog; /* NULL: $SSLKEYLOGFILE if set */
	struct hy_dtls_config dtls;
	struct hy_tls_config tls; /* .listen is derived from the UDP socket */
	bool tls_enable; /* listen and dial TLS (true) */
	struct hy_ratelimit_config ratelimit;
	size_t replay_capacity; /* nonces remembered (65536) */
	uint32_t replay_window_ms; /* accepted clock skew (30000) */
	size_t keycache_capacity; /* parsed peer keys kept (4096) */
	size_t amp_capacity; /* addresses tracked for amplification */
	bool amp_limit; /* enforce the budget (true) */
};

/* Where an authenticated message came from. */
struct hy_from {
	struct hy_addr addr;
	struct hy_id id; /* authenticated sender */
	enum hy_wire_path path;
};

/* One authenticated envelope in; msg borrows from a buffer valid only for
 * the duration of the call. */
typedef void hy_transport_recv_cb(void *arg, const struct hy_msg *msg,
    const struct hy_from *from);

struct hy_transport_stats {
	uint64_t dgram_in, dgram_out, dtls_in, dtls_out, tls_in, tls_out;
	uint64_t bytes_in, bytes_out;
	/* refusals */
	uint64_t rate_limited, malformed, stale, replayed, bad_signature;
	uint64_t wrong_id, wrong_network, wrong_destination, unknown_demux;
	uint64_t amp_limited, send_errors;
	uint64_t echo_validated; /* addresses proven by a receipt echo */
	struct hy_dtls_stats dtls;
	struct hy_tls_stats tls;
	struct hy_ratelimit_stats ratelimit;
};

/* Defaults: network "hypha", no sockets, sub-configs at their defaults. */
void hy_transport_config_default(struct hy_transport_config *cfg);

/*
 * Open the sockets and contexts. The identity must outlive the transport.
 * On failure returns NULL, sets *err and writes the reason to errbuf.
 */
struct hy_transport *hy_transport_new(struct event_base *base,
    const struct hy_ident *ident, const struct hy_transport_config *cfg,
    hy_transport_recv_cb *recv, void *arg, int *err, char *errbuf,
    size_t errlen);
void hy_transport_free(struct hy_transport *tr);

/*
 * Send one message. msg->sender and msg->network are filled in here. The
 * path: a live DTLS session with `to`, else a signed datagram addressed to
 * to_id (NULL: unknown destination, allowed for PING and FIND_NODE only).
 * Returns 0, HY_ETOOBIG (does not fit a datagram), HY_ERATELIMIT
 * (amplification budget), HY_EINVAL (no socket of that family), or an
 * encoding error.
 */
int hy_transport_send(struct hy_transport *tr, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *msg);

/*
 * Fill in msg's network and sender and encode it: for the signed-datagram
 * path if it fits (its cap is the smallest, so the result fits DTLS too),
 * else for a TLS frame if cap allows. Returns 0 and sets *len, or an
 * encoding error (HY_ETOOBIG: too large even for TLS or for cap).
 */
int hy_transport_encode(struct hy_transport *tr, struct hy_msg *msg,
    uint8_t *buf, size_t cap, size_t *len);

/*
 * As hy_transport_encode, for one path: HY_PATH_DTLS (cap 1200, gossip
 * items allowed) or HY_PATH_TLS (the frame cap).
 */
int hy_transport_encode_for(struct hy_transport *tr, struct hy_msg *msg,
    enum hy_wire_path path, uint8_t *buf, size_t cap, size_t *len);

/* Flags for hy_transport_send_env. */
#define HY_TR_REQUEST 0x1 /* a request: exempt from the amplification cap */
#define HY_TR_VIA_TLS 0x2 /* must go over TLS (a reply to a TLS request) */

/*
 * Send an envelope encoded by hy_transport_encode. Same returns as
 * hy_transport_send, and HY_EINVAL when TLS is needed but to_id is NULL.
 */
int hy_transport_send_env(struct hy_transport *tr, const struct hy_addr *to,
    const struct hy_id *to_id, const uint8_t *env, size_t envlen,
    unsigned flags);

/* Largest envelope hy_transport_encode can produce (the TLS frame cap). */
size_t hy_transport_env_max(const struct hy_transport *tr);

/*
 * Is msg (a reply or ERROR from `from`) the answer to a request we have
 * pending there? Expected replies skip the per-source rate limit: it
 * throttles unsolicited traffic, not answers to our own questions (many
 * peers behind one address would otherwise throttle each other's replies).
 */
typedef bool hy_transport_expect_fn(void *arg, const struct hy_msg *msg,
    const struct hy_addr *from);
void hy_transport_set_expect(struct hy_transport *tr,
    hy_transport_expect_fn *fn, void *arg);

/* The address proved it receives our packets: lift its budget. */
void hy_transport_validated(struct hy_transport *tr,
    const struct hy_addr *addr);
/* Has it (or is a DTLS session with it up)? If not, requests to it are
 * padded so that its answer fits its budget. */
bool hy_transport_is_validated(struct hy_transport *tr,
    const struct hy_addr *addr);

/* Open (or keep) a DTLS session with a lasting neighbour. */
int hy_transport_open_session(struct hy_transport *tr, const struct hy_addr *to,
    const struct hy_id *id);
bool hy_transport_session_up(struct hy_transport *tr, const struct hy_addr *to);
/* Close the DTLS session with `to`, if any. */
void hy_transport_close_session(struct hy_transport *tr,
    const struct hy_addr *to);

const struct hy_addr *hy_transport_local(const struct hy_transport *tr,
    int family);
const struct hy_id *hy_transport_id(const struct hy_transport *tr);
void hy_transport_stats(const struct hy_transport *tr,
    struct hy_transport_stats *out);

#endif /* HY_TRANSPORT_H */
