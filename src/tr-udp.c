/*
 * tr-udp.c: UDP sockets on libevent.
 *
 * Each readable event drains up to HY_UDP_BATCH * HY_UDP_ROUNDS datagrams
 * with recvmmsg, then yields to the loop; the persistent read event brings
 * us back if more are queued. Buffers are preallocated once per socket.
 * Socket buffers are enlarged (best effort) so bursts of handshakes or
 * lookups do not overflow the kernel queue.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypha.h"
#include "tr-udp.h"

#define HY_UDP_BATCH 32
#define HY_UDP_ROUNDS 4
#define HY_UDP_SOCKBUF (4 * 1024 * 1024)

struct hy_udp {
	int fd;
	struct event *ev;
	struct hy_addr local;
	hy_udp_recv_cb *cb;
	void *arg;
	struct hy_udp_stats st;
	uint8_t bufs[HY_UDP_BATCH][HY_UDP_MAX_DGRAM];
	struct sockaddr_storage from[HY_UDP_BATCH];
	struct iovec iov[HY_UDP_BATCH];
	struct mmsghdr msgs[HY_UDP_BATCH];
};

static void
hy_udp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct hy_udp *u = arg;

	(void)what;
	for (int round = 0; round < HY_UDP_ROUNDS; round++) {
		int n;

		for (int i = 0; i < HY_UDP_BATCH; i++) {
			u->iov[i].iov_base = u->bufs[i];
			u->iov[i].iov_len = sizeof(u->bufs[i]);
			memset(&u->msgs[i].msg_hdr, 0,
			    sizeof(u->msgs[i].msg_hdr));
			u->msgs[i].msg_hdr.msg_name = &u->from[i];
			u->msgs[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
			u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
			u->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, u->msgs, HY_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN, or an error the next event retries */
		for (int i = 0; i < n; i++) {
			struct hy_addr from;
			size_t len = u->msgs[i].msg_len;

			if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				u->st.rx_truncated++;
				continue;
			}
			if (hy_addr_from_sockaddr(&from,
			        (struct sockaddr *)&u->from[i],
			        u->msgs[i].msg_hdr.msg_namelen) != HY_OK)
				continue;
			u->st.rx_packets++;
			u->st.rx_bytes += len;
			u->cb(u->arg, &from, u->bufs[i], len);
		}
		if (n < HY_UDP_BATCH)
			return;
	}
}

struct hy_udp *
hy_udp_open(struct event_base *base, const struct hy_addr *bind_addr,
    hy_udp_recv_cb *cb, void *arg, int *err)
{
	struct hy_udp *u = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = hy_addr_to_sockaddr(bind_addr, &ss);
	int one = 1, size = HY_UDP_SOCKBUF, rc = HY_EIO;

	if (sl == 0 || cb == NULL) {
		rc = HY_EINVAL;
		goto fail;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		rc = HY_ENOMEM;
		goto fail;
	}
	u->fd =
	    socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto fail;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) !=
	        0)
		goto fail;
	(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(u->fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    hy_addr_from_sockaddr(&u->local, (struct sockaddr *)&ss, sl) != 0)
		goto fail;
	u->cb = cb;
	u->arg = arg;
	u->ev =
	    event_new(base, u->fd, EV_READ | EV_PERSIST, hy_udp_readable, u);
	if (u->ev == NULL || event_add(u->ev, NULL) != 0) {
		rc = HY_ENOMEM;
		goto fail;
	}
	return u;
fail:
	if (u != NULL) {
		int saved = errno;

		hy_udp_free(u);
		errno = saved;
	}
	*err = rc;
	return NULL;
}

void
hy_udp_free(struct hy_udp *u)
{
	if (u == NULL)
		return;
	if (u->ev != NULL)
		event_free(u->ev);
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

int
hy_udp_send(struct hy_udp *u, const struct hy_addr *to, const void *data,
    size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (to->family != u->local.family || len > HY_UDP_MAX_DGRAM)
		return HY_EINVAL;
	sl = hy_addr_to_sockaddr(to, &ss);
	if (sendto(u->fd, data, len, 0, (struct sockaddr *)&ss, sl) < 0) {
		u->st.tx_errors++;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? HY_OK
		                                                 : HY_EIO;
	}
	u->st.tx_packets++;
	u->st.tx_bytes += len;
	return HY_OK;
}

const struct hy_addr *
hy_udp_local(const struct hy_udp *u)
{
	return &u->local;
}

void
hy_udp_stats(const struct hy_udp *u, struct hy_udp_stats *out)
{
	*out = u->st;
}
