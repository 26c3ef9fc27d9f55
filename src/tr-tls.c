/*
 * tr-tls.c: length-prefixed frames over TLS 1.3 / TCP, one bufferevent per
 * connection (libevent's bufferevent_openssl on a socket it owns).
 *
 * Connection life: a dial (hy_tls_send to a peer without a connection) or
 * an accept creates a connection in the handshaking state, with a timer
 * for handshake_timeout_ms. When the handshake completes, the peer's node
 * ID is read from its certificate (hy_trctx_peer_id); a dialled connection
 * whose peer shows another ID than expected is closed (id_mismatch). An
 * authenticated connection flushes the frames queued during the handshake
 * and its timer turns into the idle timer: a frame in, a frame queued or
 * the output draining counts as traffic; idle_timeout_ms without any
 * closes it.
 *
 * Reading (no copy beyond libevent's own buffer): the read low watermark
 * is set to the bytes the next step needs, first the 4-byte header, then
 * header + payload, so the callback runs only when a whole frame is there.
 * The header is looked at with evbuffer_copyout; a length of 0 or over
 * frame_cap closes the connection before anything is reserved for it.
 * The payload is made contiguous in place (evbuffer_pullup) and handed to
 * the recv callback, then drained.
 *
 * Bounds: connections (max_conns, both directions, handshaking included;
 * an accept over it is closed at once, a dial over it is refused); input
 * per connection, at most one frame (frame_cap + 4) plus what one read
 * brings (libevent reads 4 KiB plus the rest of the TLS record, <= 16 KiB);
 * queued output per connection (out_cap, handshake queue included); the
 * time a handshake or a silent connection may hold a slot.
 *
 * Lookups scan the connection list: O(max_conns), a few hundred entries
 * of which only the ID and address are compared.
 *
 * Re-entrancy: bufferevents are created with BEV_OPT_DEFER_CALLBACKS, so
 * nothing fires inside hy_tls_send (a write error found while writing is
 * reported from the loop). A connection closed while one of our handlers
 * runs on it is marked dead, unlinked at once and freed when the handler
 * returns (the busy count). Callbacks must not free the endpoint.
 */
#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "clock.h"
#include "hypha.h"
#include "ident.h"
#include "tr-ctx.h"
#include "tr-tls.h"

#define HY_TLS_BEV_OPTS (BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)

struct hy_tls_conn {
	struct hy_tls *t;
	TAILQ_ENTRY(hy_tls_conn) link;
	struct bufferevent *bev;
	struct event *timer;
	struct evbuffer *pending; /* frames waiting for the handshake */
	size_t npending;
	struct hy_id peer_id; /* expected while dialling, then authenticated */
	struct hy_addr addr; /* dialled, or the remote end of an accept */
	uint64_t seq; /* creation order, newest is largest */
	uint64_t last_ms; /* last traffic */
	bool outbound, up, dead;
	int busy; /* handlers of ours running on it */
};

TAILQ_HEAD(hy_tls_list, hy_tls_conn);

struct hy_tls {
	struct event_base *base;
	SSL_CTX *ctx;
	struct hy_id self;
	struct hy_tls_config cfg;
	hy_tls_recv_cb *recv;
	hy_tls_event_cb *event;
	void *arg;
	struct evconnlistener *lis;
	struct event *relisten; /* re-enables lis after an accept error */
	struct hy_addr local;
	struct hy_tls_list conns;
	size_t nconns;
	uint64_t seq;
	bool freeing;
	struct hy_tls_stats st;
};

/*
 * The socket BIO with one change: writes use send(MSG_NOSIGNAL), so a peer
 * that resets the connection costs an EPIPE, not the process a SIGPIPE.
 * Built once per process and never changed or freed (BIOs that use it may
 * outlive every endpoint: libevent frees them from its loop).
 */
static BIO_METHOD *hy_tls_meth;
static CRYPTO_ONCE hy_tls_meth_once = CRYPTO_ONCE_STATIC_INIT;

static int
hy_tls_bio_write(BIO *b, const char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	n = send((int)BIO_get_fd(b, NULL), buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && BIO_sock_should_retry(-1))
		BIO_set_retry_write(b);
	return (int)n;
}

static void
hy_tls_meth_init(void)
{
	const BIO_METHOD *s = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() |
	        BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
	    "hypha-tcp");

	if (m == NULL)
		return;
	if (!BIO_meth_set_write(m, hy_tls_bio_write) ||
	    !BIO_meth_set_read(m, BIO_meth_get_read(s)) ||
	    !BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(s)) ||
	    !BIO_meth_set_create(m, BIO_meth_get_create(s)) ||
	    !BIO_meth_set_destroy(m, BIO_meth_get_destroy(s))) {
		BIO_meth_free(m);
		return;
	}
	hy_tls_meth = m;
}

/* Attach socket fd (not closed by the BIO) to ssl; false if out of memory. */
static bool
hy_tls_set_fd(SSL *ssl, evutil_socket_t fd)
{
	BIO *b;

	if (!CRYPTO_THREAD_run_once(&hy_tls_meth_once, hy_tls_meth_init) ||
	    hy_tls_meth == NULL || (b = BIO_new(hy_tls_meth)) == NULL)
		return false;
	BIO_set_fd(b, fd, BIO_NOCLOSE);
	SSL_set_bio(ssl, b, b);
	return true;
}

static uint64_t
hy_tls_now(void)
{
	return hy_clock_mono(hy_clock_system());
}

void
hy_tls_config_default(struct hy_tls_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = 256;
	cfg->frame_cap = 128 * 1024;
	cfg->out_cap = 1024 * 1024;
	cfg->idle_timeout_ms = 120000;
	cfg->handshake_timeout_ms = 10000;
	cfg->backlog = 128;
}

static void
hy_tls_arm(struct hy_tls_conn *c, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/*
 * Was c dialled by the lower of the two node IDs? Both ends compute the
 * same answer for the same TCP connection.
 */
static bool
hy_tls_canonical(const struct hy_tls *t, const struct hy_tls_conn *c)
{
	const struct hy_id *dialler = c->outbound ? &t->self : &c->peer_id;
	const struct hy_id *listener = c->outbound ? &c->peer_id : &t->self;

	return hy_id_cmp(dialler, listener) < 0;
}

/*
 * Of two authenticated connections to one peer, should sends prefer a?
 * The canonical one (so both ends pick the same), then the newest.
 */
static bool
hy_tls_better(const struct hy_tls *t, const struct hy_tls_conn *a,
    const struct hy_tls_conn *b)
{
	bool ac = hy_tls_canonical(t, a), bc = hy_tls_canonical(t, b);

	if (ac != bc)
		return ac;
	return a->seq > b->seq;
}

/* The authenticated connection to peer that sends should use, or NULL. */
static struct hy_tls_conn *
hy_tls_find_up(const struct hy_tls *t, const struct hy_id *peer)
{
	struct hy_tls_conn *c, *best = NULL;

	TAILQ_FOREACH(c, &t->conns, link)
	{
		if (!c->up || !hy_id_eq(&c->peer_id, peer))
			continue;
		if (best == NULL || hy_tls_better(t, c, best))
			best = c;
	}
	return best;
}

static void
hy_tls_conn_free(struct hy_tls_conn *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev); /* SSL and socket with it */
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->pending != NULL)
		evbuffer_free(c->pending);
	free(c);
}

/*
 * Take c out of the endpoint and free it now or, if one of our handlers is
 * running on it, when that returns. quiet: no event, not counted as a
 * failure (explicit close, endpoint freed). Otherwise an authenticated
 * connection reports DOWN if it was the peer's last one, a dial reports
 * FAILED, and an inbound handshake that fails is only counted.
 */
static void
hy_tls_kill(struct hy_tls_conn *c, bool quiet, int err)
{
	struct hy_tls *t = c->t;
	int ev = -1;

	if (c->dead)
		return;
	c->dead = true;
	TAILQ_REMOVE(&t->conns, c, link);
	t->nconns--;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	evtimer_del(c->timer);
	t->st.frames_dropped += c->npending;
	c->npending = 0;
	if (!quiet && !t->freeing) {
		if (c->up) {
			if (hy_tls_find_up(t, &c->peer_id) == NULL)
				ev = HY_TLS_DOWN;
		} else {
			t->st.handshakes_failed++;
			if (c->outbound)
				ev = HY_TLS_FAILED;
		}
	}
	if (ev >= 0 && t->event != NULL) {
		c->busy++;
		t->event(t->arg, (enum hy_tls_event)ev, &c->peer_id, &c->addr,
		    err);
		c->busy--;
	}
	if (c->busy == 0)
		hy_tls_conn_free(c);
}

/* Drop a reference taken by a handler; free c if it died meanwhile. */
static void
hy_tls_release(struct hy_tls_conn *c)
{
	if (--c->busy == 0 && c->dead)
		hy_tls_conn_free(c);
}

/*
 * Queue one frame on c: the handshake queue until c is up, then libevent's
 * output buffer (which starts writing at once). Returns 0, HY_EFULL (over
 * out_cap) or HY_ENOMEM; nothing is queued on failure.
 */
static int
hy_tls_queue(struct hy_tls_conn *c, const uint8_t *data, size_t len)
{
	struct hy_tls *t = c->t;
	struct evbuffer *out =
	    c->up ? bufferevent_get_output(c->bev) : c->pending;
	size_t queued = evbuffer_get_length(c->pending) +
	    evbuffer_get_length(bufferevent_get_output(c->bev));
	struct evbuffer_iovec v;
	uint8_t *p;

	if (queued + HY_TLS_FRAME_HDR + len > t->cfg.out_cap) {
		t->st.out_full++;
		return HY_EFULL;
	}
	/* one contiguous extent: one TLS write for header and payload */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(HY_TLS_FRAME_HDR + len),
	        &v, 1) != 1)
		return HY_ENOMEM;
	p = v.iov_base;
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + HY_TLS_FRAME_HDR, data, len);
	v.iov_len = HY_TLS_FRAME_HDR + len;
	if (evbuffer_commit_space(out, &v, 1) != 0)
		return HY_ENOMEM;
	if (c->up) {
		t->st.frames_out++;
		t->st.bytes_out += HY_TLS_FRAME_HDR + len;
	} else {
		c->npending++;
	}
	c->last_ms = hy_tls_now();
	return HY_OK;
}

/* Hand every complete frame in c's input to the recv callback. */
static void
hy_tls_input(struct hy_tls_conn *c)
{
	struct hy_tls *t = c->t;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint8_t hdr[HY_TLS_FRAME_HDR];
	size_t avail, len;
	const uint8_t *p;

	c->busy++;
	while (!c->dead && c->up) {
		avail = evbuffer_get_length(in);
		if (avail < HY_TLS_FRAME_HDR) {
			bufferevent_setwatermark(c->bev, EV_READ,
			    HY_TLS_FRAME_HDR, 0);
			break;
		}
		evbuffer_copyout(in, hdr, sizeof(hdr));
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		    (size_t)hdr[2] << 8 | hdr[3];
		if (len == 0 || len > t->cfg.frame_cap) {
			t->st.oversize_frames++;
			hy_tls_kill(c, false, HY_ETOOBIG);
			break;
		}
		if (avail < HY_TLS_FRAME_HDR + len) {
			bufferevent_setwatermark(c->bev, EV_READ,
			    HY_TLS_FRAME_HDR + len, 0);
			break;
		}
		evbuffer_drain(in, HY_TLS_FRAME_HDR);
		p = evbuffer_pullup(in, (ev_ssize_t)len);
		if (p == NULL) {
			hy_tls_kill(c, false, HY_ENOMEM);
			break;
		}
		t->st.frames_in++;
		t->st.bytes_in += HY_TLS_FRAME_HDR + len;
		c->last_ms = hy_tls_now();
		/*
		 * p stays valid if the callback sends on c: libevent may then
		 * read (a TLS post-handshake message) and append to `in`,
		 * which never moves the bytes already there.
		 */
		t->recv(t->arg, &c->peer_id, &c->addr, p, len);
		evbuffer_drain(in, len);
	}
	hy_tls_release(c);
}

/* The handshake finished: authenticate, flush the queue, report UP. */
static void
hy_tls_established(struct hy_tls_conn *c)
{
	struct hy_tls *t = c->t;
	struct hy_id id;
	bool first;
	int rc;

	rc = hy_trctx_peer_id(bufferevent_openssl_get_ssl(c->bev), &id);
	if (rc != HY_OK) {
		hy_tls_kill(c, false, rc);
		return;
	}
	if (c->outbound && !hy_id_eq(&id, &c->peer_id)) {
		t->st.id_mismatch++;
		hy_tls_kill(c, false, HY_EIDMISMATCH);
		return;
	}
	c->peer_id = id;
	first = hy_tls_find_up(t, &id) == NULL;
	c->up = true;
	t->st.handshakes_ok++;
	t->st.frames_out += c->npending;
	t->st.bytes_out += evbuffer_get_length(c->pending);
	c->npending = 0;
	if (evbuffer_get_length(c->pending) > 0)
		evbuffer_add_buffer(bufferevent_get_output(c->bev), c->pending);
	c->last_ms = hy_tls_now();
	evtimer_del(c->timer);
	hy_tls_arm(c, t->cfg.idle_timeout_ms);
	if (first && t->event != NULL)
		t->event(t->arg, HY_TLS_UP, &c->peer_id, &c->addr, 0);
	if (!c->dead)
		hy_tls_input(c);
}

/* libevent: the input reached the low watermark (a header or a frame). */
static void
hy_tls_on_read(struct bufferevent *bev, void *arg)
{
	struct hy_tls_conn *c = arg;

	(void)bev;
	if (c->up)
		hy_tls_input(c);
}

/* libevent: the output buffer is empty. */
static void
hy_tls_on_write(struct bufferevent *bev, void *arg)
{
	struct hy_tls_conn *c = arg;

	(void)bev;
	c->last_ms = hy_tls_now(); /* output drained: the peer is reading */
}

/* libevent: handshake done, or the connection closed or failed. */
static void
hy_tls_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct hy_tls_conn *c = arg;
	unsigned long ssl_err = 0, e;
	int err;

	c->busy++;
	if (what & BEV_EVENT_CONNECTED) {
		hy_tls_established(c);
	} else if (what &
	    (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		/*
		 * TLS errors are HY_ECRYPTO; socket errors (libevent queues
		 * errno values with library 0) and refusals HY_EIO
		 */
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (ERR_GET_LIB(e) != 0 &&
			    ERR_GET_LIB(e) != ERR_LIB_SYS)
				ssl_err = e;
		if (ssl_err != 0)
			err = HY_ECRYPTO;
		else if (what & BEV_EVENT_EOF)
			err = c->up ? 0 : HY_EIO;
		else
			err = HY_EIO;
		hy_tls_kill(c, false, err);
	}
	ERR_clear_error();
	hy_tls_release(c);
}

/* Handshake deadline, then idle timer. */
static void
hy_tls_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hy_tls_conn *c = arg;
	struct hy_tls *t = c->t;
	uint64_t now = hy_tls_now(), idle = t->cfg.idle_timeout_ms;

	(void)fd;
	(void)what;
	c->busy++;
	if (!c->up) {
		hy_tls_kill(c, false, HY_ETIMEDOUT);
	} else if (now - c->last_ms >= idle) {
		t->st.idle_closed++;
		hy_tls_kill(c, false, HY_ETIMEDOUT);
	} else {
		hy_tls_arm(c, c->last_ms + idle - now);
	}
	hy_tls_release(c);
}

/* Frames are whole messages: send them now, not after Nagle's delay. */
static void
hy_tls_nodelay(evutil_socket_t fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
}

/*
 * A connection on socket fd (-1: libevent creates it when dialling). On
 * failure returns NULL; fd is then closed if it was given.
 */
static struct hy_tls_conn *
hy_tls_conn_new(struct hy_tls *t, evutil_socket_t fd,
    const struct hy_addr *addr, bool outbound)
{
	struct hy_tls_conn *c = calloc(1, sizeof(*c));
	SSL *ssl = NULL;

	if (c == NULL)
		goto fail;
	c->t = t;
	c->addr = *addr;
	c->outbound = outbound;
	c->timer = evtimer_new(t->base, hy_tls_on_timer, c);
	c->pending = evbuffer_new();
	ssl = SSL_new(t->ctx);
	if (c->timer == NULL || c->pending == NULL || ssl == NULL ||
	    (fd >= 0 && !hy_tls_set_fd(ssl, fd)))
		goto fail;
	/*
	 * A TCP close without close_notify is a plain EOF: frames carry their
	 * length, so a truncated one is never delivered anyway.
	 */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * With BEV_OPT_CLOSE_ON_FREE the bufferevent owns ssl and the socket
	 * from here on, also when this call fails: libevent frees both on
	 * its error path (except if its very first allocation fails; then
	 * they leak, out of memory only).
	 */
	c->bev = bufferevent_openssl_socket_new(t->base, fd, ssl,
	    outbound ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
	    HY_TLS_BEV_OPTS);
	ssl = NULL;
	fd = -1;
	if (c->bev == NULL)
		goto fail;
	/* a peer that closes without close_notify is an EOF, not an error */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, hy_tls_on_read, hy_tls_on_write,
	    hy_tls_on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, HY_TLS_FRAME_HDR, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->seq = ++t->seq;
	c->last_ms = hy_tls_now();
	hy_tls_arm(c, t->cfg.handshake_timeout_ms);
	TAILQ_INSERT_TAIL(&t->conns, c, link);
	t->nconns++;
	return c;
fail:
	SSL_free(ssl);
	if (fd >= 0)
		evutil_closesocket(fd);
	if (c != NULL)
		hy_tls_conn_free(c);
	ERR_clear_error();
	return NULL;
}

/* A new inbound TCP connection: refused over max_conns, else handshake. */
static void
hy_tls_on_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct hy_tls *t = arg;
	struct hy_addr from;

	(void)lis;
	if (t->nconns >= t->cfg.max_conns) {
		t->st.refused_cap++;
		evutil_closesocket(fd);
		return;
	}
	memset(&from, 0, sizeof(from));
	(void)hy_addr_from_sockaddr(&from, sa, (socklen_t)salen);
	hy_tls_nodelay(fd);
	if (hy_tls_conn_new(t, fd, &from, false) != NULL)
		t->st.accepted++;
}

/*
 * accept(2) failed, most likely out of descriptors (EMFILE): the pending
 * connection stays queued and the listener would fire again at once, so
 * pause it for a second instead of spinning.
 */
static void
hy_tls_on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct hy_tls *t = arg;
	struct timeval tv = { 1, 0 };

	t->st.accept_errors++;
	evconnlistener_disable(lis);
	evtimer_add(t->relisten, &tv);
}

static void
hy_tls_on_relisten(evutil_socket_t fd, short what, void *arg)
{
	struct hy_tls *t = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(t->lis);
}

/* ---- public API ---- */

struct hy_tls *
hy_tls_new(struct event_base *base, struct hy_trctx *trctx,
    const struct hy_tls_config *cfg, hy_tls_recv_cb *recv,
    hy_tls_event_cb *event, void *arg)
{
	struct hy_tls *t;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;

	if (base == NULL || trctx == NULL || cfg == NULL || recv == NULL ||
	    cfg->max_conns == 0 || cfg->frame_cap == 0 ||
	    cfg->frame_cap > HY_TLS_CAP_LIMIT ||
	    cfg->out_cap < cfg->frame_cap + HY_TLS_FRAME_HDR ||
	    cfg->idle_timeout_ms == 0 || cfg->handshake_timeout_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->base = base;
	t->ctx = hy_trctx_tls(trctx);
	t->self = *hy_ident_id(hy_trctx_ident(trctx));
	t->cfg = *cfg;
	t->recv = recv;
	t->event = event;
	t->arg = arg;
	TAILQ_INIT(&t->conns);
	if (cfg->listen.family == 0)
		return t;
	sl = hy_addr_to_sockaddr(&cfg->listen, &ss);
	if (sl == 0) {
		errno = EINVAL;
		goto fail;
	}
	if (cfg->listen.family == HY_AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	t->relisten = evtimer_new(base, hy_tls_on_relisten, t);
	if (t->relisten == NULL)
		goto fail;
	t->lis = evconnlistener_new_bind(base, hy_tls_on_accept, t, flags,
	    cfg->backlog > 0 ? cfg->backlog : -1, (struct sockaddr *)&ss,
	    (int)sl);
	if (t->lis == NULL)
		goto fail;
	evconnlistener_set_error_cb(t->lis, hy_tls_on_accept_error);
	sl = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(t->lis), (struct sockaddr *)&ss,
	        &sl) != 0 ||
	    hy_addr_from_sockaddr(&t->local, (struct sockaddr *)&ss, sl) !=
	        HY_OK)
		goto fail;
	return t;
fail:
	hy_tls_free(t);
	return NULL;
}

void
hy_tls_free(struct hy_tls *t)
{
	struct hy_tls_conn *c;

	if (t == NULL)
		return;
	t->freeing = true;
	while ((c = TAILQ_FIRST(&t->conns)) != NULL)
		hy_tls_kill(c, true, HY_ECANCELED);
	if (t->lis != NULL)
		evconnlistener_free(t->lis);
	if (t->relisten != NULL)
		event_free(t->relisten);
	free(t);
}

/*
 * Dial from the address we listen on when that is a specific IP: peers
 * tie what they grant (write tokens, amplification budgets) to the
 * address they know us by, and on a host with several addresses (or
 * 127.0.0.x overlays) the kernel would otherwise pick another source.
 * Returns 0 (also when there is nothing to bind) or HY_EIO.
 */
static int
hy_tls_bind_source(struct hy_tls *t, struct hy_tls_conn *c,
    const struct hy_addr *to)
{
	static const uint8_t any[16];
	struct hy_addr src = t->cfg.listen;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	if (src.family != to->family || memcmp(src.ip, any, 16) == 0)
		return HY_OK;
	src.port = 0;
	sl = hy_addr_to_sockaddr(&src, &ss);
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return HY_EIO;
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    bufferevent_setfd(c->bev, fd) != 0) {
		evutil_closesocket(fd);
		return HY_EIO;
	}
	return HY_OK;
}

int
hy_tls_send(struct hy_tls *t, const struct hy_id *peer,
    const struct hy_addr *addr, const uint8_t *data, size_t len)
{
	struct hy_tls_conn *c;
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc;

	if (peer == NULL || len == 0 || data == NULL)
		return HY_EINVAL;
	if (len > t->cfg.frame_cap)
		return HY_ETOOBIG;
	if (hy_id_eq(peer, &t->self))
		return HY_ESELF;
	c = hy_tls_find_up(t, peer);
	if (c != NULL)
		return hy_tls_queue(c, data, len);
	if (addr == NULL)
		return HY_ENOENT;
	TAILQ_FOREACH(c, &t->conns, link)
	{
		if (c->outbound && !c->up && hy_addr_eq(&c->addr, addr) &&
		    hy_id_eq(&c->peer_id, peer))
			return hy_tls_queue(c, data, len);
	}
	if (t->nconns >= t->cfg.max_conns)
		return HY_EFULL;
	sl = hy_addr_to_sockaddr(addr, &ss);
	if (sl == 0)
		return HY_EINVAL;
	c = hy_tls_conn_new(t, -1, addr, true);
	if (c == NULL)
		return HY_ENOMEM;
	c->peer_id = *peer;
	rc = hy_tls_queue(c, data, len);
	if (rc == HY_OK)
		rc = hy_tls_bind_source(t, c, addr);
	if (rc == HY_OK &&
	    bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	        (int)sl) != 0)
		rc = HY_EIO;
	/* libevent made the socket; swap in our BIO before any I/O on it */
	if (rc == HY_OK &&
	    !hy_tls_set_fd(bufferevent_openssl_get_ssl(c->bev),
	        bufferevent_getfd(c->bev)))
		rc = HY_ENOMEM;
	if (rc != HY_OK) {
		c->npending = 0;
		hy_tls_kill(c, true, rc);
		return rc;
	}
	hy_tls_nodelay(bufferevent_getfd(c->bev));
	t->st.dialled++;
	return HY_OK;
}

int
hy_tls_close_peer(struct hy_tls *t, const struct hy_id *peer)
{
	struct hy_tls_conn *c, *next;
	int rc = HY_ENOENT;

	for (c = TAILQ_FIRST(&t->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if ((c->up || c->outbound) && hy_id_eq(&c->peer_id, peer)) {
			hy_tls_kill(c, true, 0);
			rc = HY_OK;
		}
	}
	return rc;
}

bool
hy_tls_is_up(const struct hy_tls *t, const struct hy_id *peer)
{
	return hy_tls_find_up(t, peer) != NULL;
}

const struct hy_addr *
hy_tls_local(const struct hy_tls *t)
{
	return t->lis != NULL ? &t->local : NULL;
}

void
hy_tls_stats(const struct hy_tls *t, struct hy_tls_stats *out)
{
	const struct hy_tls_conn *c;

	*out = t->st;
	out->open = t->nconns;
	out->up = 0;
	TAILQ_FOREACH(c, &t->conns, link)
	{
		if (c->up)
			out->up++;
	}
}
