/*
 * check_tls.c: TLS 1.3 streams on real TCP sockets on 127.0.0.1.
 *
 * Each test endpoint is an identity + TLS context + hy_tls listening on
 * 127.0.0.1 (port chosen by the kernel). Frames carry a pattern derived
 * from their sequence number, so the receiver checks content and order
 * without keeping copies. Waits are bounded: the loop runs in 10 ms slices
 * until a condition holds or a deadline passes; nothing sleeps.
 */
#include "config.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypha.h"
#include "ident.h"
#include "tr-ctx.h"
#include "tr-tls.h"

struct ep {
	struct event_base *base;
	struct hy_ident *ident;
	struct hy_trctx *trctx;
	struct hy_tls *tls;
	int up, down, failed, last_err, rx, bad;
	size_t rx_bytes;
	struct hy_id last_peer;
	struct hy_addr last_from;
	uint8_t last[64];
	size_t last_len;
	int close_at_rx; /* > 0: close the sender when rx reaches it */
	int reply_on_up; /* send frame 0 back from the UP callback */
};

/* Frame n of length len: 4-byte big-endian n, then bytes (n + i). */
static void
fill(uint8_t *p, size_t len, uint32_t n)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(n + i);
	if (len >= 4) {
		p[0] = (uint8_t)(n >> 24);
		p[1] = (uint8_t)(n >> 16);
		p[2] = (uint8_t)(n >> 8);
		p[3] = (uint8_t)n;
	}
}

/* Is p frame number n? */
static int
frame_ok(const uint8_t *p, size_t len, uint32_t n)
{
	uint32_t got;

	if (len < 4)
		return 1;
	got = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	if (got != n)
		return 0;
	for (size_t i = 4; i < len; i++)
		if (p[i] != (uint8_t)(n + i))
			return 0;
	return 1;
}

static void
ep_recv(void *arg, const struct hy_id *peer, const struct hy_addr *from,
    const uint8_t *d, size_t len)
{
	struct ep *e = arg;

	if (len >= 4 && !frame_ok(d, len, (uint32_t)e->rx))
		e->bad++;
	e->rx++;
	e->rx_bytes += len;
	e->last_peer = *peer;
	e->last_from = *from;
	e->last_len = len < sizeof(e->last) ? len : sizeof(e->last);
	memcpy(e->last, d, e->last_len);
	if (e->close_at_rx > 0 && e->rx == e->close_at_rx)
		ck_assert_int_eq(hy_tls_close_peer(e->tls, peer), HY_OK);
}

static void
ep_event(void *arg, enum hy_tls_event ev, const struct hy_id *peer,
    const struct hy_addr *addr, int err)
{
	struct ep *e = arg;

	(void)addr;
	if (ev == HY_TLS_UP && e->reply_on_up) {
		uint8_t f[16];

		fill(f, sizeof(f), 0);
		ck_assert_int_eq(hy_tls_send(e->tls, peer, NULL, f, sizeof(f)),
		    HY_OK);
	}
	if (ev == HY_TLS_UP)
		e->up++;
	else if (ev == HY_TLS_DOWN)
		e->down++;
	else
		e->failed++;
	e->last_err = err;
}

/* listen: bind 127.0.0.1:0, else client only. */
static void
ep_init(struct ep *e, struct event_base *base, const struct hy_tls_config *cfg,
    int listen)
{
	struct hy_tls_config def;
	struct hy_trctx_config tc = { NULL, NULL };
	char err[256];
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->base = base;
	if (cfg != NULL)
		def = *cfg;
	else
		hy_tls_config_default(&def);
	if (listen)
		hy_addr_parse(&def.listen, "127.0.0.1:0");
	else
		memset(&def.listen, 0, sizeof(def.listen));
	ck_assert_int_eq(hy_ident_generate(&e->ident), HY_OK);
	e->trctx = hy_trctx_new(e->ident, &tc, &rc, err, sizeof(err));
	ck_assert_msg(e->trctx != NULL, "trctx: %s", err);
	e->tls = hy_tls_new(base, e->trctx, &def, ep_recv, ep_event, e);
	ck_assert_ptr_nonnull(e->tls);
	if (listen)
		ck_assert_ptr_nonnull(hy_tls_local(e->tls));
	else
		ck_assert_ptr_null(hy_tls_local(e->tls));
}

static void
ep_fini(struct ep *e)
{
	hy_tls_free(e->tls);
	hy_trctx_free(e->trctx);
	hy_ident_free(e->ident);
}

static const struct hy_addr *
ep_addr(const struct ep *e)
{
	return hy_tls_local(e->tls);
}

static const struct hy_id *
ep_id(const struct ep *e)
{
	return hy_ident_id(e->ident);
}

static struct hy_tls_stats
ep_stats(const struct ep *e)
{
	struct hy_tls_stats st;

	hy_tls_stats(e->tls, &st);
	return st;
}

/* One 10 ms turn of the loop. */
static void
spin(struct event_base *base)
{
	struct timeval slice = { 0, 10000 };

	event_base_loopexit(base, &slice);
	event_base_dispatch(base);
}

/* Run the loop until cond holds or ms pass, then assert cond. */
#define WAIT(base, cond, ms)                                                   \
	do {                                                                   \
		for (int rounds_ = (ms) / 10; !(cond) && rounds_ > 0;          \
		     rounds_--)                                                \
			spin(base);                                            \
		ck_assert_msg(cond, "timed out waiting for " #cond);           \
	} while (0)

static int
send_frame(struct ep *from, const struct ep *to, const struct hy_addr *addr,
    size_t len, uint32_t n)
{
	uint8_t *buf = malloc(len);
	int rc;

	ck_assert_ptr_nonnull(buf);
	fill(buf, len, n);
	rc = hy_tls_send(from->tls, ep_id(to), addr, buf, len);
	free(buf);
	return rc;
}

START_TEST(test_tls_connect_and_frames_both_ways)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_tls_stats st;
	struct hy_id nobody;
	uint8_t x = 1;

	ep_init(&a, base, NULL, 0); /* client only */
	ep_init(&b, base, NULL, 1);
	/* queued before the handshake, delivered after */
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&b), ep_addr(&b),
	                     (const uint8_t *)"hello", 5),
	    HY_OK);
	WAIT(base, b.rx == 1, 5000);
	ck_assert_int_eq(b.last_len, 5);
	ck_assert_mem_eq(b.last, "hello", 5);
	ck_assert(hy_id_eq(&b.last_peer, ep_id(&a)));
	WAIT(base, a.up == 1, 5000);
	ck_assert_int_eq(b.up, 1);
	ck_assert(hy_tls_is_up(a.tls, ep_id(&b)));
	ck_assert(hy_tls_is_up(b.tls, ep_id(&a)));
	/* back over the accepted connection: no address needed */
	ck_assert_int_eq(hy_tls_send(b.tls, ep_id(&a), NULL,
	                     (const uint8_t *)"world", 5),
	    HY_OK);
	WAIT(base, a.rx == 1, 5000);
	ck_assert_mem_eq(a.last, "world", 5);
	ck_assert(hy_id_eq(&a.last_peer, ep_id(&b)));
	ck_assert(hy_addr_eq(&a.last_from, ep_addr(&b)));
	st = ep_stats(&b);
	ck_assert_uint_eq(st.open, 1);
	ck_assert_uint_eq(st.up, 1);
	ck_assert_uint_eq(st.accepted, 1);
	ck_assert_uint_eq(st.handshakes_ok, 1);
	ck_assert_uint_eq(st.frames_in, 1);
	ck_assert_uint_eq(st.frames_out, 1);
	ck_assert_uint_eq(st.bytes_in, 9);
	st = ep_stats(&a);
	ck_assert_uint_eq(st.dialled, 1);
	ck_assert_uint_eq(st.open, 1);
	/* argument errors, all synchronous */
	memset(&nobody, 0x42, sizeof(nobody));
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&b), NULL, &x, 0), HY_EINVAL);
	ck_assert_int_eq(hy_tls_send(a.tls, NULL, NULL, &x, 1), HY_EINVAL);
	ck_assert_int_eq(hy_tls_send(a.tls, &nobody, NULL, &x, 1), HY_ENOENT);
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&a), ep_addr(&b), &x, 1),
	    HY_ESELF);
	ck_assert_int_eq(send_frame(&a, &b, NULL, 128 * 1024 + 1, 0),
	    HY_ETOOBIG);
	/* an explicit close fires nothing here; the peer sees DOWN */
	ck_assert_int_eq(hy_tls_close_peer(a.tls, ep_id(&b)), HY_OK);
	ck_assert_int_eq(hy_tls_close_peer(a.tls, ep_id(&b)), HY_ENOENT);
	ck_assert(!hy_tls_is_up(a.tls, ep_id(&b)));
	WAIT(base, b.down == 1, 5000);
	ck_assert_int_eq(b.last_err, 0);
	ck_assert_int_eq(a.down, 0);
	ck_assert_uint_eq(ep_stats(&b).open, 0);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_frames_up_to_cap_intact)
{
	struct event_base *base = event_base_new();
	struct ep a, b;

	ep_init(&a, base, NULL, 1);
	ep_init(&b, base, NULL, 1);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 64 * 1024, 0), HY_OK);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 128 * 1024, 1),
	    HY_OK); /* exactly frame_cap */
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 1, 2), HY_OK);
	WAIT(base, b.rx == 3, 10000);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_uint_eq(b.rx_bytes, 192 * 1024 + 1);
	ck_assert_uint_eq(ep_stats(&b).oversize_frames, 0);
	ck_assert_uint_eq(ep_stats(&b).bytes_in, 192 * 1024 + 1 + 3 * 4);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_oversize_frame_refused)
{
	struct event_base *base = event_base_new();
	struct hy_tls_config big;
	struct ep a, b;
	struct hy_tls_stats st;

	/* a may send larger frames than b accepts */
	hy_tls_config_default(&big);
	big.frame_cap = 256 * 1024;
	big.out_cap = 1024 * 1024;
	ep_init(&a, base, &big, 0);
	ep_init(&b, base, NULL, 1);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 100, 0), HY_OK);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 128 * 1024 + 1, 1),
	    HY_OK);
	WAIT(base, a.down == 1, 5000);
	st = ep_stats(&b);
	ck_assert_uint_eq(st.oversize_frames, 1);
	ck_assert_uint_eq(st.frames_in, 1);
	ck_assert_uint_eq(st.open, 0);
	ck_assert_int_eq(b.rx, 1);
	ck_assert_int_eq(b.down, 1);
	ck_assert_int_eq(b.last_err, HY_ETOOBIG);
	ck_assert_uint_eq(ep_stats(&a).open, 0);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

struct raw {
	int events;
	short what;
};

static void
raw_event(struct bufferevent *bev, short what, void *arg)
{
	struct raw *r = arg;

	(void)bev;
	r->events++;
	r->what |= what;
}

/*
 * A TLS client of our own that writes bare headers: length cap + 1 with
 * no payload, or length 0. Either closes the connection at the header.
 */
static void
raw_header(uint32_t len)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_tls_stats st;
	struct raw r = { 0, 0 };
	struct bufferevent *bev;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
		(uint8_t)(len >> 8), (uint8_t)len };

	ep_init(&a, base, NULL, 0);
	ep_init(&b, base, NULL, 1);
	bev = bufferevent_openssl_socket_new(base, -1,
	    SSL_new(hy_trctx_tls(a.trctx)), BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(bev);
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, NULL, NULL, raw_event, &r);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	sl = hy_addr_to_sockaddr(ep_addr(&b), &ss);
	ck_assert_int_eq(bufferevent_socket_connect(bev, (struct sockaddr *)&ss,
	                     (int)sl),
	    0);
	bufferevent_write(bev, hdr, sizeof(hdr));
	WAIT(base, ep_stats(&b).oversize_frames == 1, 5000);
	WAIT(base, r.what & (BEV_EVENT_EOF | BEV_EVENT_ERROR), 5000);
	st = ep_stats(&b);
	ck_assert_uint_eq(st.open, 0);
	ck_assert_uint_eq(st.frames_in, 0);
	ck_assert_int_eq(b.down, 1);
	ck_assert_int_eq(b.last_err, HY_ETOOBIG);
	bufferevent_free(bev);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}

START_TEST(test_tls_raw_header_over_cap_refused)
{
	raw_header(128 * 1024 + 1);
}
END_TEST

START_TEST(test_tls_raw_header_zero_refused)
{
	raw_header(0);
}
END_TEST

START_TEST(test_tls_wrong_id_fails)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_tls_stats st;
	struct hy_id wrong;
	uint8_t x = 7;

	ep_init(&a, base, NULL, 0);
	ep_init(&b, base, NULL, 1);
	memset(&wrong, 0x42, sizeof(wrong));
	ck_assert_int_eq(hy_tls_send(a.tls, &wrong, ep_addr(&b), &x, 1), HY_OK);
	WAIT(base, a.failed == 1, 5000);
	ck_assert_int_eq(a.last_err, HY_EIDMISMATCH);
	ck_assert_int_eq(a.up, 0);
	st = ep_stats(&a);
	ck_assert_uint_eq(st.id_mismatch, 1);
	ck_assert_uint_eq(st.frames_dropped, 1);
	ck_assert_uint_eq(st.frames_out, 0);
	ck_assert_uint_eq(st.open, 0);
	ck_assert(!hy_tls_is_up(a.tls, &wrong));
	ck_assert(!hy_tls_is_up(a.tls, ep_id(&b)));
	/* b never got the frame; its side closes too */
	WAIT(base, ep_stats(&b).open == 0, 5000);
	ck_assert_int_eq(b.rx, 0);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_connection_cap_holds)
{
	struct event_base *base = event_base_new();
	struct hy_tls_config cfg;
	struct ep srv, cl[8], extra;
	struct hy_tls_stats st;
	int ups = 0, fails = 0;
	size_t max_open = 0;

	hy_tls_config_default(&cfg);
	cfg.max_conns = 4;
	ep_init(&srv, base, &cfg, 1);
	for (int i = 0; i < 8; i++) {
		ep_init(&cl[i], base, NULL, 0);
		ck_assert_int_eq(send_frame(&cl[i], &srv, ep_addr(&srv), 8, 0),
		    HY_OK);
	}
	for (int rounds = 0; rounds < 1000 && ups + fails < 8; rounds++) {
		spin(base);
		st = ep_stats(&srv);
		if (st.open > max_open)
			max_open = st.open;
		ups = fails = 0;
		for (int i = 0; i < 8; i++) {
			ups += cl[i].up;
			fails += cl[i].failed;
		}
	}
	st = ep_stats(&srv);
	ck_assert_uint_le(max_open, 4);
	ck_assert_int_eq(ups, 4);
	ck_assert_int_eq(fails, 4);
	ck_assert_uint_eq(st.accepted, 4);
	ck_assert_uint_eq(st.refused_cap, 4);
	ck_assert_uint_eq(st.open, 4);
	WAIT(base, srv.rx == 4, 5000);
	/* a dial beyond the cap is refused at once */
	ep_init(&extra, base, NULL, 1);
	ck_assert_int_eq(send_frame(&srv, &extra, ep_addr(&extra), 8, 0),
	    HY_EFULL);
	ck_assert_uint_eq(ep_stats(&srv).open, 4);
	ep_fini(&extra);
	for (int i = 0; i < 8; i++)
		ep_fini(&cl[i]);
	ep_fini(&srv);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_idle_timeout_closes)
{
	struct event_base *base = event_base_new();
	struct hy_tls_config cfg;
	struct ep a, b;
	struct hy_tls_stats sa, sb;

	hy_tls_config_default(&cfg);
	cfg.idle_timeout_ms = 300;
	ep_init(&a, base, &cfg, 0);
	ep_init(&b, base, &cfg, 1);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 16, 0), HY_OK);
	WAIT(base, b.rx == 1 && a.up == 1, 5000);
	WAIT(base, a.down == 1 && b.down == 1, 5000);
	sa = ep_stats(&a);
	sb = ep_stats(&b);
	ck_assert_uint_ge(sa.idle_closed + sb.idle_closed, 1);
	ck_assert_uint_eq(sa.open, 0);
	ck_assert_uint_eq(sb.open, 0);
	ck_assert(!hy_tls_is_up(a.tls, ep_id(&b)));
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_garbage_client_closed)
{
	struct event_base *base = event_base_new();
	struct ep b;
	struct raw r = { 0, 0 };
	struct bufferevent *bev;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char junk[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";

	ep_init(&b, base, NULL, 1);
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(bev);
	bufferevent_setcb(bev, NULL, NULL, raw_event, &r);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	sl = hy_addr_to_sockaddr(ep_addr(&b), &ss);
	ck_assert_int_eq(bufferevent_socket_connect(bev, (struct sockaddr *)&ss,
	                     (int)sl),
	    0);
	bufferevent_write(bev, junk, sizeof(junk) - 1);
	WAIT(base, ep_stats(&b).handshakes_failed == 1, 5000);
	ck_assert_uint_eq(ep_stats(&b).open, 0);
	ck_assert_uint_eq(ep_stats(&b).accepted, 1);
	/* the raw side sees the close (maybe after an alert) */
	WAIT(base, r.what & (BEV_EVENT_EOF | BEV_EVENT_ERROR), 5000);
	ck_assert_int_eq(b.up + b.down + b.failed + b.rx, 0);
	bufferevent_free(bev);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_burst_in_order)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	int n = 1000;

	ep_init(&a, base, NULL, 0);
	ep_init(&b, base, NULL, 1);
	/* all queued at once (1028000 bytes < out_cap), before the handshake */
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 1024,
		                     (uint32_t)i),
		    HY_OK);
	WAIT(base, b.rx == n, 20000);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_uint_eq(b.rx_bytes, (size_t)n * 1024);
	ck_assert_uint_eq(ep_stats(&a).frames_out, (uint64_t)n);
	ck_assert_uint_eq(ep_stats(&b).frames_in, (uint64_t)n);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_output_cap_full)
{
	struct event_base *base = event_base_new();
	struct hy_tls_config cfg;
	struct ep a, b;
	const size_t fl = 64 * 1024;
	int n = 0, rc = HY_OK;

	hy_tls_config_default(&cfg);
	cfg.frame_cap = fl;
	cfg.out_cap = 256 * 1024;
	ep_init(&a, base, &cfg, 0);
	ep_init(&b, base, &cfg, 1);
	/* during the handshake: three frames fit, the fourth does not */
	for (; n < 3; n++)
		ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), fl,
		                     (uint32_t)n),
		    HY_OK);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), fl, (uint32_t)n),
	    HY_EFULL);
	WAIT(base, b.rx == 3, 5000);
	/*
	 * Up, and the loop stops: b reads nothing, the kernel buffers fill,
	 * then a's own queue reaches out_cap. Bounded at 64 MiB.
	 */
	for (int i = 0; i < 1024; i++) {
		rc = send_frame(&a, &b, NULL, fl, (uint32_t)n);
		if (rc != HY_OK)
			break;
		n++;
	}
	ck_assert_int_eq(rc, HY_EFULL);
	ck_assert_uint_ge(ep_stats(&a).out_full, 2);
	/* everything accepted arrives intact once the loop runs */
	WAIT(base, b.rx == n, 30000);
	ck_assert_int_eq(b.bad, 0);
	ck_assert_int_eq(send_frame(&a, &b, NULL, fl, (uint32_t)n), HY_OK);
	WAIT(base, b.rx == n + 1, 5000);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_simultaneous_dial)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_tls_stats sa, sb;

	ep_init(&a, base, NULL, 1);
	ep_init(&b, base, NULL, 1);
	ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 32, 0), HY_OK);
	ck_assert_int_eq(send_frame(&b, &a, ep_addr(&a), 32, 0), HY_OK);
	WAIT(base, a.rx == 1 && b.rx == 1, 5000);
	WAIT(base, a.up == 1 && b.up == 1, 5000);
	sa = ep_stats(&a);
	sb = ep_stats(&b);
	ck_assert_uint_eq(sa.up, 2);
	ck_assert_uint_eq(sb.up, 2);
	/* both ends now send on the same connection; order is kept */
	for (uint32_t i = 1; i < 20; i++) {
		ck_assert_int_eq(send_frame(&a, &b, NULL, 100, i), HY_OK);
		ck_assert_int_eq(send_frame(&b, &a, NULL, 100, i), HY_OK);
	}
	WAIT(base, a.rx == 20 && b.rx == 20, 5000);
	ck_assert_int_eq(a.bad + b.bad, 0);
	/* two connections, one peer: UP once, no DOWN */
	ck_assert_int_eq(a.down + b.down, 0);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_refused_dial_fails)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_addr gone;
	uint8_t x = 1;

	ep_init(&a, base, NULL, 0);
	ep_init(&b, base, NULL, 1);
	gone = *ep_addr(&b);
	hy_tls_free(b.tls); /* nobody listens there any more */
	b.tls = NULL;
	spin(base);
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&b), &gone, &x, 1), HY_OK);
	ck_assert_int_eq(a.failed, 0); /* never inside the call */
	WAIT(base, a.failed == 1, 5000);
	ck_assert_int_eq(a.last_err, HY_EIO);
	ck_assert_uint_eq(ep_stats(&a).open, 0);
	ck_assert_uint_eq(ep_stats(&a).frames_dropped, 1);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_handshake_timeout)
{
	struct event_base *base = event_base_new();
	struct hy_tls_config cfg;
	struct ep a, b;
	struct hy_tls_stats st;
	struct hy_addr silent;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct raw r = { 0, 0 };
	struct bufferevent *bev;
	int fd;
	uint8_t x = 1;

	hy_tls_config_default(&cfg);
	cfg.handshake_timeout_ms = 300;
	ep_init(&a, base, &cfg, 0);
	ep_init(&b, base, &cfg, 1);
	/* a TCP listener that never accepts: the kernel answers, TLS never */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	hy_addr_parse(&silent, "127.0.0.1:0");
	sl = hy_addr_to_sockaddr(&silent, &ss);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, sl), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	sl = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	ck_assert_int_eq(hy_addr_from_sockaddr(&silent, (struct sockaddr *)&ss,
	                     sl),
	    HY_OK);
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&b), &silent, &x, 1), HY_OK);
	WAIT(base, a.failed == 1, 5000);
	ck_assert_int_eq(a.last_err, HY_ETIMEDOUT);
	st = ep_stats(&a);
	ck_assert_uint_eq(st.handshakes_failed, 1);
	ck_assert_uint_eq(st.frames_dropped, 1);
	ck_assert_uint_eq(st.open, 0);
	/* and the other way: a TCP client that never says hello */
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(bev);
	bufferevent_setcb(bev, NULL, NULL, raw_event, &r);
	bufferevent_enable(bev, EV_READ);
	sl = hy_addr_to_sockaddr(ep_addr(&b), &ss);
	ck_assert_int_eq(bufferevent_socket_connect(bev, (struct sockaddr *)&ss,
	                     (int)sl),
	    0);
	WAIT(base, ep_stats(&b).accepted == 1, 5000);
	WAIT(base, ep_stats(&b).handshakes_failed == 1, 5000);
	ck_assert_uint_eq(ep_stats(&b).open, 0);
	WAIT(base, r.what & (BEV_EVENT_EOF | BEV_EVENT_ERROR), 5000);
	ck_assert_int_eq(b.failed, 0); /* inbound failures are only counted */
	bufferevent_free(bev);
	close(fd);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_callbacks_may_send_and_close)
{
	struct event_base *base = event_base_new();
	struct ep a, b;

	ep_init(&a, base, NULL, 0);
	ep_init(&b, base, NULL, 1);
	b.reply_on_up = 1; /* b answers from inside its UP callback */
	b.close_at_rx = 2; /* and hangs up from inside recv, frames pending */
	for (uint32_t i = 0; i < 10; i++)
		ck_assert_int_eq(send_frame(&a, &b, ep_addr(&b), 64, i), HY_OK);
	WAIT(base, a.rx == 1 && a.down == 1, 5000);
	ck_assert_int_eq(a.bad, 0);
	ck_assert_int_eq(b.rx, 2); /* nothing after the close */
	ck_assert_int_eq(b.bad, 0);
	ck_assert_int_eq(b.down, 0); /* an explicit close fires no event */
	ck_assert_uint_eq(ep_stats(&b).open, 0);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_free_fires_nothing)
{
	struct event_base *base = event_base_new();
	struct ep a, b, c;
	uint8_t x = 1;

	ep_init(&a, base, NULL, 1);
	ep_init(&b, base, NULL, 1);
	ep_init(&c, base, NULL, 1);
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&b), ep_addr(&b), &x, 1),
	    HY_OK);
	WAIT(base, b.rx == 1 && a.up == 1, 5000);
	/* one connection up, one still dialling, frames queued on both */
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&c), ep_addr(&c), &x, 1),
	    HY_OK);
	ck_assert_int_eq(hy_tls_send(a.tls, ep_id(&b), NULL, &x, 1), HY_OK);
	hy_tls_free(a.tls);
	a.tls = NULL;
	/* the peers notice; a's callbacks (and memory) are gone */
	WAIT(base, b.down == 1, 5000);
	WAIT(base, ep_stats(&c).open == 0, 5000);
	ck_assert_int_eq(a.up, 1);
	ck_assert_int_eq(a.down + a.failed + a.rx, 0);
	ep_fini(&a);
	ep_fini(&b);
	ep_fini(&c);
	event_base_free(base);
}
END_TEST

START_TEST(test_tls_bad_config_refused)
{
	struct event_base *base = event_base_new();
	struct hy_tls_config cfg;
	struct ep a;

	ep_init(&a, base, NULL, 1);
	hy_tls_config_default(&cfg);
	cfg.frame_cap = 0;
	ck_assert_ptr_null(
	    hy_tls_new(base, a.trctx, &cfg, ep_recv, ep_event, &a));
	hy_tls_config_default(&cfg);
	cfg.out_cap = cfg.frame_cap + 3; /* a full frame could never fit */
	ck_assert_ptr_null(
	    hy_tls_new(base, a.trctx, &cfg, ep_recv, ep_event, &a));
	hy_tls_config_default(&cfg);
	cfg.max_conns = 0;
	ck_assert_ptr_null(
	    hy_tls_new(base, a.trctx, &cfg, ep_recv, ep_event, &a));
	hy_tls_config_default(&cfg);
	ck_assert_ptr_null(hy_tls_new(base, a.trctx, &cfg, NULL, NULL, &a));
	/* the port a listens on is taken */
	cfg.listen = *ep_addr(&a);
	ck_assert_ptr_null(
	    hy_tls_new(base, a.trctx, &cfg, ep_recv, ep_event, &a));
	hy_tls_free(NULL);
	ep_fini(&a);
	event_base_free(base);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_tls_connect_and_frames_both_ways);
	tcase_add_test(tc, test_tls_frames_up_to_cap_intact);
	tcase_add_test(tc, test_tls_oversize_frame_refused);
	tcase_add_test(tc, test_tls_raw_header_over_cap_refused);
	tcase_add_test(tc, test_tls_raw_header_zero_refused);
	tcase_add_test(tc, test_tls_wrong_id_fails);
	tcase_add_test(tc, test_tls_connection_cap_holds);
	tcase_add_test(tc, test_tls_idle_timeout_closes);
	tcase_add_test(tc, test_tls_garbage_client_closed);
	tcase_add_test(tc, test_tls_burst_in_order);
	tcase_add_test(tc, test_tls_output_cap_full);
	tcase_add_test(tc, test_tls_simultaneous_dial);
	tcase_add_test(tc, test_tls_refused_dial_fails);
	tcase_add_test(tc, test_tls_handshake_timeout);
	tcase_add_test(tc, test_tls_callbacks_may_send_and_close);
	tcase_add_test(tc, test_tls_free_fires_nothing);
	tcase_add_test(tc, test_tls_bad_config_refused);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
