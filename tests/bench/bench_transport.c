/*
 * bench_transport: figures for the transports on loopback (127.0.0.1).
 *
 *   signed RPC    PING/PONG round trips per second, one outstanding and
 *                 32 outstanding, and CPU per round trip (both ends)
 *   DTLS          full handshakes/s, resumed handshakes/s, application
 *                 datagrams/s on an established session
 *   TLS           connect + TLS 1.3 handshake + first request/reply,
 *                 latency with a fresh client each time
 *   memory        heap bytes per live DTLS session (server side + client
 *                 side, from mallinfo2 before/after N sessions)
 *
 * Everything runs in one process on one event_base, so "CPU" is the whole
 * cost of both peers. Loops are bounded in count and time.
 */
#include "config.h"

#include <event2/event.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hypha.h"
#include "ident.h"
#include "rpc.h"
#include "tr-ctx.h"
#include "tr-dtls.h"
#include "tr-udp.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
spin(struct event_base *base)
{
	event_base_loop(base, EVLOOP_ONCE);
}

/* ---- signed RPC ---- */

struct rnode {
	struct hy_ident *ident;
	struct hy_rpc *rpc;
};

static void
pong_handler(void *arg, const struct hy_msg *msg, const struct hy_from *from)
{
	struct rnode *n = arg;
	struct hy_msg reply;

	if (msg->type == HY_MSG_STORE) {
		hy_msg_init(&reply, HY_MSG_STORED, "x", 0,
		    hy_ident_id(n->ident));
		reply.body.stored.key = msg->body.store.key;
		hy_rpc_reply(n->rpc, msg, from, &reply);
		return;
	}
	if (msg->type != HY_MSG_PING)
		return;
	hy_msg_init(&reply, HY_MSG_PONG, "x", 0, hy_ident_id(n->ident));
	reply.body.pong.observed = from->addr;
	hy_rpc_reply(n->rpc, msg, from, &reply);
}

static void
rnode_init(struct rnode *n, struct event_base *base)
{
	struct hy_transport_config tc;
	struct hy_rpc_config rc;
	char err[256];
	int e;

	hy_ident_generate(&n->ident);
	hy_transport_config_default(&tc);
	tc.ratelimit.source_rate = 1000000; /* measure the path, not the cap */
	tc.ratelimit.source_burst = 1000000;
	tc.ratelimit.global_rate = 0;
	hy_addr_parse(&tc.listen4, "127.0.0.1:0");
	hy_rpc_config_default(&rc);
	n->rpc = hy_rpc_new(base, n->ident, &tc, &rc, pong_handler, n, &e, err,
	    sizeof(err));
	if (n->rpc == NULL) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
}

static void
rnode_fini(struct rnode *n)
{
	hy_rpc_free(n->rpc);
	hy_ident_free(n->ident);
}

struct rpcload {
	struct rnode *a, *b;
	int done, issued, target, errors;
};

static void issue(struct rpcload *l);

static void
on_pong(void *arg, int err, const struct hy_msg *reply,
    const struct hy_from *from)
{
	struct rpcload *l = arg;

	(void)reply;
	(void)from;
	l->done++;
	if (err != HY_OK)
		l->errors++;
	if (l->issued < l->target)
		issue(l);
}

static void
issue(struct rpcload *l)
{
	struct hy_msg m;

	hy_msg_init(&m, HY_MSG_PING, "x", 0, hy_ident_id(l->a->ident));
	if (hy_rpc_call(l->a->rpc,
	        hy_transport_local(hy_rpc_transport(l->b->rpc), HY_AF_INET),
	        hy_ident_id(l->b->ident), &m, on_pong, l, NULL) == HY_OK)
		l->issued++;
	else
		l->errors++;
}

static void
bench_rpc(struct event_base *base, int total, int window)
{
	struct rnode a, b;
	struct rpcload l = { &a, &b, 0, 0, total, 0 };
	double t0, c0, dt, dc;

	rnode_init(&a, base);
	rnode_init(&b, base);
	/* warm up: validate the address, cache keys */
	l.target = 10;
	issue(&l);
	while (l.done < 10)
		spin(base);
	l.done = l.issued = l.errors = 0;
	l.target = total;
	t0 = now_s();
	c0 = cpu_s();
	for (int i = 0; i < window && l.issued < total; i++)
		issue(&l);
	while (l.done < total && now_s() - t0 < 60)
		spin(base);
	dt = now_s() - t0;
	dc = cpu_s() - c0;
	printf("signed RPC, %2d outstanding: %7.0f round trips/s, "
	       "%5.1f us CPU per round trip (both ends), %d errors\n",
	    window, l.done / dt, dc / l.done * 1e6, l.errors);
	rnode_fini(&a);
	rnode_fini(&b);
}

/* ---- TLS: connect + first reply, a fresh client each time ---- */

struct tlsdone {
	int done, err;
	double t;
};

static void
on_stored(void *arg, int err, const struct hy_msg *reply,
    const struct hy_from *from)
{
	struct tlsdone *d = arg;

	(void)reply;
	(void)from;
	d->done = 1;
	d->err = err;
	d->t = now_s();
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
bench_tls(struct event_base *base, int n)
{
	static uint8_t value[8192];
	struct rnode srv, cl;
	double *lat = calloc((size_t)n, sizeof(*lat)), t0;
	int ok = 0;

	rnode_init(&srv, base);
	for (int i = 0; i < n; i++) {
		struct tlsdone d = { 0, 0, 0 };
		struct hy_msg m;

		rnode_init(&cl, base);
		hy_msg_init(&m, HY_MSG_STORE, "x", 0, hy_ident_id(cl.ident));
		memset(&m.body.store.key, 1, sizeof(m.body.store.key));
		m.body.store.value.id = 1;
		m.body.store.value.ttl_s = 60;
		m.body.store.value.data.ptr = value;
		m.body.store.value.data.len = sizeof(value);
		t0 = now_s();
		if (hy_rpc_call(cl.rpc,
		        hy_transport_local(hy_rpc_transport(srv.rpc),
		            HY_AF_INET),
		        hy_ident_id(srv.ident), &m, on_stored, &d,
		        NULL) == HY_OK)
			while (!d.done && now_s() - t0 < 10)
				spin(base);
		if (d.done && d.err == HY_OK)
			lat[ok++] = (d.t - t0) * 1e3;
		rnode_fini(&cl);
	}
	qsort(lat, (size_t)ok, sizeof(*lat), cmp_double);
	if (ok > 0)
		printf("TLS connect + first reply (8 KiB request): median "
		       "%.2f ms, p95 %.2f ms, %d of %d ok\n",
		    lat[ok / 2], lat[ok * 95 / 100], ok, n);
	rnode_fini(&srv);
	free(lat);
}

/* ---- DTLS ---- */

struct dep {
	struct hy_ident *ident;
	struct hy_trctx *ctx;
	struct hy_udp *udp;
	struct hy_dtls *dtls;
	int up, rx;
};

static int
dep_send(void *arg, const struct hy_addr *to, const uint8_t *d, size_t len)
{
	struct dep *e = arg;

	return hy_udp_send(e->udp, to, d, len);
}

static void
dep_udp(void *arg, const struct hy_addr *from, const uint8_t *d, size_t len)
{
	struct dep *e = arg;

	hy_dtls_input(e->dtls, from, d, len);
}

static void
dep_recv(void *arg, const struct hy_id *p, const struct hy_addr *from,
    const uint8_t *d, size_t len)
{
	struct dep *e = arg;

	(void)p;
	(void)from;
	(void)d;
	(void)len;
	e->rx++;
}

static void
dep_event(void *arg, enum hy_dtls_event ev, const struct hy_id *p,
    const struct hy_addr *a, int err)
{
	struct dep *e = arg;

	(void)p;
	(void)a;
	(void)err;
	if (ev == HY_DTLS_UP)
		e->up++;
}

static void
dep_init(struct dep *e, struct event_base *base, size_t max_sessions)
{
	struct hy_trctx_config tc = { NULL, NULL };
	struct hy_dtls_config dc;
	struct hy_addr a;
	char err[256];
	int rc;

	memset(e, 0, sizeof(*e));
	hy_ident_generate(&e->ident);
	e->ctx = hy_trctx_new(e->ident, &tc, &rc, err, sizeof(err));
	hy_addr_parse(&a, "127.0.0.1:0");
	e->udp = hy_udp_open(base, &a, dep_udp, e, &rc);
	hy_dtls_config_default(&dc);
	dc.max_sessions = max_sessions;
	dc.max_handshakes = max_sessions;
	e->dtls =
	    hy_dtls_new(base, e->ctx, &dc, dep_send, e, dep_recv, dep_event, e);
	if (e->ctx == NULL || e->udp == NULL || e->dtls == NULL) {
		fprintf(stderr, "bench: dtls setup failed\n");
		exit(1);
	}
}

static void
dep_fini(struct dep *e)
{
	hy_dtls_free(e->dtls);
	hy_udp_free(e->udp);
	hy_trctx_free(e->ctx);
	hy_ident_free(e->ident);
}

static const struct hy_addr *
dep_addr(struct dep *e)
{
	return hy_udp_local(e->udp);
}

static void
bench_dtls(struct event_base *base, int n)
{
	struct dep srv, *cl = calloc((size_t)n, sizeof(*cl));
	struct hy_dtls_stats st;
	double t0, c0, dt, dc;
	size_t heap0, heap1;
	int target;

	dep_init(&srv, base, (size_t)n + 8);
	for (int i = 0; i < n; i++)
		dep_init(&cl[i], base, 4);

	/* full handshakes, all clients at once */
	heap0 = mallinfo2().uordblks;
	t0 = now_s();
	c0 = cpu_s();
	for (int i = 0; i < n; i++)
		hy_dtls_connect(cl[i].dtls, dep_addr(&srv),
		    hy_ident_id(srv.ident));
	target = n;
	while (srv.up < target && now_s() - t0 < 60)
		spin(base);
	for (int i = 0; i < n; i++)
		while (cl[i].up < 1 && now_s() - t0 < 60)
			spin(base);
	dt = now_s() - t0;
	dc = cpu_s() - c0;
	heap1 = mallinfo2().uordblks;
	printf("DTLS full handshakes:     %7.0f /s (%d concurrent), "
	       "%6.0f us CPU each (both ends)\n",
	    n / dt, n, dc / n * 1e6);
	printf("DTLS memory per live session: %.1f KiB "
	       "(client + server side together)\n",
	    (double)(heap1 - heap0) / n / 1024.0);

	/* application datagrams on one session */
	{
		static const uint8_t payload[200];
		int msgs = 50000;

		t0 = now_s();
		c0 = cpu_s();
		for (int i = 0; i < msgs; i++) {
			hy_dtls_send(cl[0].dtls, dep_addr(&srv), payload,
			    sizeof(payload));
			if (i % 64 == 63)
				while (srv.rx < i - 256 && now_s() - t0 < 60)
					spin(base);
		}
		while (srv.rx < msgs * 99 / 100 && now_s() - t0 < 60)
			spin(base);
		dt = now_s() - t0;
		dc = cpu_s() - c0;
		printf("DTLS datagrams (200 B):   %7.0f /s, %5.1f us CPU each "
		       "(send + receive), %d of %d arrived\n",
		    srv.rx / dt, dc / srv.rx * 1e6, srv.rx, msgs);
	}

	/* resumption: close every client session, then reconnect */
	for (int i = 0; i < n; i++)
		hy_dtls_close(cl[i].dtls, dep_addr(&srv));
	for (int i = 0; i < 20; i++)
		spin(base);
	t0 = now_s();
	c0 = cpu_s();
	for (int i = 0; i < n; i++)
		hy_dtls_connect(cl[i].dtls, dep_addr(&srv),
		    hy_ident_id(srv.ident));
	for (int i = 0; i < n; i++)
		while (cl[i].up < 2 && now_s() - t0 < 60)
			spin(base);
	dt = now_s() - t0;
	dc = cpu_s() - c0;
	{
		uint64_t resumed = 0;

		for (int i = 0; i < n; i++) {
			hy_dtls_stats(cl[i].dtls, &st);
			resumed += st.handshakes_resumed;
		}
		printf("DTLS resumed handshakes:  %7.0f /s, %6.0f us CPU each "
		       "(both ends), %llu of %d resumed\n",
		    n / dt, dc / n * 1e6, (unsigned long long)resumed, n);
	}
	for (int i = 0; i < n; i++)
		dep_fini(&cl[i]);
	dep_fini(&srv);
	free(cl);
}

int
main(int argc, char **argv)
{
	struct event_base *base = event_base_new();
	int scale = argc > 1 ? atoi(argv[1]) : 1;

	if (scale < 1)
		scale = 1;
	printf("# hypha transport benchmark (loopback, one process, "
	       "one event loop)\n");
	bench_rpc(base, 20000 * scale, 1);
	bench_rpc(base, 20000 * scale, 32);
	bench_tls(base, 50 * scale);
	bench_dtls(base, 200 * scale);
	event_base_free(base);
	return 0;
}
