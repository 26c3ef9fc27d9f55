/*
 * tr-udp.h: one non-blocking UDP socket on the caller's event_base (L2).
 *
 * The socket knows nothing of what it carries: every datagram read is handed
 * to a callback with its source address; the transport above demultiplexes
 * signed datagrams from DTLS records by the first byte. Reads are drained in
 * bounded batches (recvmmsg) so one busy socket cannot starve the loop.
 */
#ifndef HY_TR_UDP_H
#define HY_TR_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event_base;
struct hy_udp;

/* Largest datagram read; anything longer is truncated and dropped. */
#define HY_UDP_MAX_DGRAM 2048

/* Called for each datagram; data is borrowed for the call only. */
typedef void hy_udp_recv_cb(void *arg, const struct hy_addr *from,
    const uint8_t *data, size_t len);

struct hy_udp_stats {
	uint64_t rx_packets, rx_bytes, rx_truncated;
	uint64_t tx_packets, tx_bytes, tx_errors;
};

/*
 * Bind a socket to `bind` (port 0 picks one) and start reading. IPv6
 * sockets are IPV6_V6ONLY. On failure returns NULL and sets *err to a
 * negative hy_err (HY_EIO with errno preserved, HY_EINVAL, HY_ENOMEM).
 */
struct hy_udp *hy_udp_open(struct event_base *base, const struct hy_addr *bind,
    hy_udp_recv_cb *cb, void *arg, int *err);

/* Stop reading and close. NULL is a no-op. */
void hy_udp_free(struct hy_udp *u);

/*
 * Send one datagram. Returns 0, HY_EINVAL (wrong family or too long),
 * HY_EIO (the kernel refused; counted in tx_errors). A full socket buffer
 * drops the datagram, as UDP would on the wire.
 */
int hy_udp_send(struct hy_udp *u, const struct hy_addr *to, const void *data,
    size_t len);

/* The bound address (with the real port when bound to port 0). */
const struct hy_addr *hy_udp_local(const struct hy_udp *u);
void hy_udp_stats(const struct hy_udp *u, struct hy_udp_stats *out);

#endif /* HY_TR_UDP_H */
