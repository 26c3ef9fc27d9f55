/*
 * check_rpc.c: requests and replies on real sockets on 127.0.0.1:
 * transaction matching, timeouts and retries, in-flight caps, cancellation,
 * the DTLS path, and first contact under the amplification limit.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypha.h"
#include "ident.h"
#include "rpc.h"

struct node {
	struct event_base *base;
	struct hy_ident *ident;
	struct hy_rpc *rpc;
	int requests;
	struct hy_from last_from;
	/* forward the next request's txid here instead of answering */
	struct node *hijack;
	uint32_t seen_txid;
	size_t last_len; /* value length of the last STORE */
};

struct done {
	int calls, err;
	uint8_t type;
	struct hy_addr observed;
	struct hy_from from;
};

static void
on_done(void *arg, int err, const struct hy_msg *reply,
    const struct hy_from *from)
{
	struct done *d = arg;

	d->calls++;
	d->err = err;
	if (err == HY_OK) {
		d->type = reply->type;
		d->from = *from;
		if (reply->type == HY_MSG_PONG)
			d->observed = reply->body.pong.observed;
	}
}

/* Answer PING with PONG (the requester's address as seen from here). */
static void
on_request(void *arg, const struct hy_msg *msg, const struct hy_from *from)
{
	struct node *n = arg;
	struct hy_msg reply;

	n->requests++;
	n->last_from = *from;
	n->seen_txid = msg->txid;
	if (msg->type == HY_MSG_STORE && n->hijack == NULL) {
		n->last_len = msg->body.store.value.data.len;
		hy_msg_init(&reply, HY_MSG_STORED, "x", 0,
		    hy_ident_id(n->ident));
		reply.body.stored.key = msg->body.store.key;
		ck_assert_int_eq(hy_rpc_reply(n->rpc, msg, from, &reply),
		    HY_OK);
		return;
	}
	if (msg->type != HY_MSG_PING || n->hijack != NULL)
		return;
	hy_msg_init(&reply, HY_MSG_PONG, "x", 0, hy_ident_id(n->ident));
	reply.body.pong.observed = from->addr;
	ck_assert_int_eq(hy_rpc_reply(n->rpc, msg, from, &reply), HY_OK);
}

/* When set, the next nodes get this per-source rate (and burst). */
static uint32_t tc_source_rate;

static void
node_init(struct node *n, struct event_base *base,
    const struct hy_rpc_config *over)
{
	struct hy_transport_config tc;
	struct hy_rpc_config rc;
	char err[256];
	int e;

	memset(n, 0, sizeof(*n));
	n->base = base;
	ck_assert_int_eq(hy_ident_generate(&n->ident), HY_OK);
	hy_transport_config_default(&tc);
	if (tc_source_rate != 0) {
		tc.ratelimit.source_rate = tc_source_rate;
		tc.ratelimit.source_burst = tc_source_rate;
	}
	hy_addr_parse(&tc.listen4, "127.0.0.1:0");
	if (over != NULL)
		rc = *over;
	else
		hy_rpc_config_default(&rc);
	n->rpc = hy_rpc_new(base, n->ident, &tc, &rc, on_request, n, &e, err,
	    sizeof(err));
	ck_assert_msg(n->rpc != NULL, "rpc: %s", err);
}

static void
node_fini(struct node *n)
{
	hy_rpc_free(n->rpc);
	hy_ident_free(n->ident);
}

static const struct hy_addr *
addr_of(struct node *n)
{
	return hy_transport_local(hy_rpc_transport(n->rpc), HY_AF_INET);
}

static const struct hy_id *
id_of(struct node *n)
{
	return hy_ident_id(n->ident);
}

static void
run_until(struct event_base *base, const int *c, int want, int ms)
{
	struct timeval slice = { 0, 10000 };

	for (int i = 0; i < ms / 10 && *c < want; i++) {
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
}

static int
ping(struct node *from, const struct hy_addr *to, const struct hy_id *to_id,
    struct done *d, uint64_t *handle)
{
	struct hy_msg m;

	hy_msg_init(&m, HY_MSG_PING, "x", 0, id_of(from));
	return hy_rpc_call(from->rpc, to, to_id, &m, on_done, d, handle);
}

START_TEST(test_rpc_ping_pong_first_contact)
{
	struct event_base *base = event_base_new();
	struct node a, b;
	struct done d = { 0 };
	struct hy_transport_stats st;

	node_init(&a, base, NULL);
	node_init(&b, base, NULL);
	/* b has never heard of a: its PONG must fit the amplification
	 * budget, which a's padded first request provides */
	ck_assert_int_eq(ping(&a, addr_of(&b), id_of(&b), &d, NULL), HY_OK);
	ck_assert_int_eq(d.calls, 0); /* never synchronous */
	run_until(base, &d.calls, 1, 2000);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.err, HY_OK);
	ck_assert_int_eq(d.type, HY_MSG_PONG);
	ck_assert(hy_addr_eq(&d.observed, addr_of(&a)));
	ck_assert(hy_id_eq(&d.from.id, id_of(&b)));
	hy_transport_stats(hy_rpc_transport(b.rpc), &st);
	ck_assert_uint_eq(st.amp_limited, 0);
	/* a second round trip works too (a no longer pads) */
	ck_assert_int_eq(ping(&a, addr_of(&b), NULL, &d, NULL), HY_OK);
	run_until(base, &d.calls, 2, 2000);
	ck_assert_int_eq(d.calls, 2);
	ck_assert_int_eq(d.err, HY_OK);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_rpc_unvalidated_reply_is_budgeted)
{
	struct event_base *base = event_base_new();
	struct node a, b;
	struct hy_transport_stats st;
	struct hy_msg m, reply;
	struct hy_from to;

	node_init(&a, base, NULL);
	node_init(&b, base, NULL);
	/* b answers a stranger that sent it nothing: refused, counted */
	hy_msg_init(&m, HY_MSG_PING, "x", 0, id_of(&a));
	hy_msg_init(&reply, HY_MSG_PONG, "x", 0, id_of(&b));
	reply.body.pong.observed = *addr_of(&a);
	to.addr = *addr_of(&a);
	to.id = *id_of(&a);
	to.path = HY_PATH_DGRAM;
	ck_assert_int_eq(hy_rpc_reply(b.rpc, &m, &to, &reply), HY_ERATELIMIT);
	hy_transport_stats(hy_rpc_transport(b.rpc), &st);
	ck_assert_uint_eq(st.amp_limited, 1);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

/*
 * b never sends a request to a, so only a's receipt echo can prove a's
 * address to b. PONG is larger than PING: without the echo b's budget
 * drains and some PONGs are refused (each then costs a timeout).
 */
START_TEST(test_rpc_echo_proves_requester)
{
	struct event_base *base = event_base_new();
	struct hy_rpc_config rc;
	struct node a, b;
	struct hy_transport_stats st;
	struct done d = { 0 };

	hy_rpc_config_default(&rc);
	rc.timeout_ms = 300;
	rc.retries = 0;
	node_init(&a, base, &rc);
	node_init(&b, base, NULL);
	for (int i = 0; i < 300; i++) {
		ck_assert_int_eq(ping(&a, addr_of(&b), id_of(&b), &d, NULL),
		    HY_OK);
		run_until(base, &d.calls, i + 1, 2000);
		ck_assert_int_eq(d.err, HY_OK);
	}
	hy_transport_stats(hy_rpc_transport(b.rpc), &st);
	ck_assert_uint_eq(st.amp_limited, 0);
	ck_assert_uint_eq(st.echo_validated, 1);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

/*
 * a's per-source limit is 2 datagrams/s, yet 30 replies from b arrive in
 * well under a second: replies to a's own requests are not throttled.
 * Unsolicited requests from b to a still are.
 */
START_TEST(test_rpc_replies_skip_rate_limit)
{
	struct event_base *base = event_base_new();
	struct hy_rpc_config rc;
	struct hy_transport_stats st;
	struct node a, b;
	struct done d = { 0 }, e = { 0 };

	hy_rpc_config_default(&rc);
	rc.retries = 0;
	tc_source_rate = 2;
	node_init(&a, base, &rc);
	tc_source_rate = 0;
	node_init(&b, base, NULL);
	for (int i = 0; i < 30; i++) {
		ck_assert_int_eq(ping(&a, addr_of(&b), id_of(&b), &d, NULL),
		    HY_OK);
		run_until(base, &d.calls, i + 1, 2000);
		ck_assert_int_eq(d.err, HY_OK);
	}
	hy_transport_stats(hy_rpc_transport(a.rpc), &st);
	ck_assert_uint_eq(st.rate_limited, 0);
	/* b's own requests to a are unsolicited: throttled after 2 */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(ping(&b, addr_of(&a), id_of(&a), &e, NULL),
		    HY_OK);
	run_until(base, &e.calls, 10, 3000);
	hy_transport_stats(hy_rpc_transport(a.rpc), &st);
	ck_assert_uint_ge(st.rate_limited, 5);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_rpc_timeout_after_retries)
{
	struct event_base *base = event_base_new();
	struct hy_rpc_config rc;
	struct node a;
	struct done d = { 0 };
	struct hy_rpc_stats st;
	struct hy_addr silent;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), got = 0;
	char buf[2048];

	/* a socket that receives but never answers */
	hy_addr_parse(&silent, "127.0.0.1:0");
	sl = hy_addr_to_sockaddr(&silent, &ss);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, sl), 0);
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	hy_addr_from_sockaddr(&silent, (struct sockaddr *)&ss, sl);

	hy_rpc_config_default(&rc);
	rc.timeout_ms = 100;
	rc.retries = 2;
	node_init(&a, base, &rc);
	ck_assert_int_eq(ping(&a, &silent, NULL, &d, NULL), HY_OK);
	run_until(base, &d.calls, 1, 3000);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.err, HY_ETIMEDOUT);
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		got++;
	ck_assert_int_eq(got, 3); /* first attempt + 2 retries */
	hy_rpc_stats(a.rpc, &st);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.retries, 2);
	ck_assert_uint_eq(st.inflight, 0);
	close(fd);
	node_fini(&a);
	event_base_free(base);
}
END_TEST

START_TEST(test_rpc_inflight_caps)
{
	struct event_base *base = event_base_new();
	struct hy_rpc_config rc;
	struct node a, b, c;
	struct done d[8];
	struct hy_rpc_stats st;

	memset(d, 0, sizeof(d));
	hy_rpc_config_default(&rc);
	rc.max_inflight = 6;
	rc.max_inflight_peer = 4;
	node_init(&a, base, &rc);
	node_init(&b, base, NULL);
	node_init(&c, base, NULL);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ping(&a, addr_of(&b), NULL, &d[i], NULL),
		    HY_OK);
	ck_assert_int_eq(ping(&a, addr_of(&b), NULL, &d[4], NULL), HY_EFULL);
	ck_assert_int_eq(ping(&a, addr_of(&c), NULL, &d[4], NULL), HY_OK);
	ck_assert_int_eq(ping(&a, addr_of(&c), NULL, &d[5], NULL), HY_OK);
	ck_assert_int_eq(ping(&a, addr_of(&c), NULL, &d[6], NULL), HY_EFULL);
	hy_rpc_stats(a.rpc, &st);
	ck_assert_uint_eq(st.inflight, 6);
	ck_assert_uint_eq(st.refused_full, 2);
	/* the answers drain the table; a refused call never calls back */
	run_until(base, &d[5].calls, 1, 2000);
	for (int i = 0; i < 6; i++)
		run_until(base, &d[i].calls, 1, 2000);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(d[i].calls, 1);
	ck_assert_int_eq(d[6].calls, 0);
	hy_rpc_stats(a.rpc, &st);
	ck_assert_uint_eq(st.inflight, 0);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
	event_base_free(base);
}
END_TEST

START_TEST(test_rpc_reply_from_elsewhere_ignored)
{
	struct event_base *base = event_base_new();
	struct hy_rpc_config rc;
	struct node a, b, c;
	struct done d = { 0 };
	struct hy_rpc_stats st;
	struct hy_msg pong;

	hy_rpc_config_default(&rc);
	rc.timeout_ms = 200;
	rc.retries = 0;
	node_init(&a, base, &rc);
	node_init(&b, base, NULL);
	node_init(&c, base, NULL);
	b.hijack = &c; /* b stays silent */
	ck_assert_int_eq(ping(&a, addr_of(&b), id_of(&b), &d, NULL), HY_OK);
	run_until(base, &b.requests, 1, 2000);
	ck_assert_int_eq(b.requests, 1);
	/* c answers with the right txid from the wrong address */
	hy_msg_init(&pong, HY_MSG_PONG, "x", b.seen_txid, id_of(&c));
	pong.body.pong.observed = *addr_of(&a);
	hy_transport_validated(hy_rpc_transport(c.rpc), addr_of(&a));
	ck_assert_int_eq(hy_rpc_send(c.rpc, addr_of(&a), id_of(&a), &pong),
	    HY_OK);
	run_until(base, &d.calls, 1, 2000);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.err, HY_ETIMEDOUT);
	hy_rpc_stats(a.rpc, &st);
	ck_assert_uint_eq(st.unmatched, 1);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
	event_base_free(base);
}
END_TEST

START_TEST(test_rpc_cancel_and_free)
{
	struct event_base *base = event_base_new();
	struct hy_rpc_config rc;
	struct node a, b;
	struct done d1 = { 0 }, d2 = { 0 };
	uint64_t h;

	hy_rpc_config_default(&rc);
	node_init(&a, base, &rc);
	node_init(&b, base, NULL);
	b.hijack = &b; /* silent */
	ck_assert_int_eq(ping(&a, addr_of(&b), NULL, &d1, &h), HY_OK);
	ck_assert_int_eq(ping(&a, addr_of(&b), NULL, &d2, NULL), HY_OK);
	hy_rpc_cancel(a.rpc, h);
	hy_rpc_cancel(a.rpc, h); /* twice: no-op */
	node_fini(&a); /* d2 is cancelled by the free */
	ck_assert_int_eq(d1.calls, 0);
	ck_assert_int_eq(d2.calls, 1);
	ck_assert_int_eq(d2.err, HY_ECANCELED);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

/* A value too large for a datagram travels over TLS, both ways. */
START_TEST(test_rpc_large_request_over_tls)
{
	struct event_base *base = event_base_new();
	struct node a, b;
	struct done d = { 0 };
	struct hy_msg m;
	struct hy_transport_stats st;
	static uint8_t big[40000];

	node_init(&a, base, NULL);
	node_init(&b, base, NULL);
	memset(big, 0xab, sizeof(big));
	hy_msg_init(&m, HY_MSG_STORE, "x", 0, id_of(&a));
	memset(&m.body.store.key, 5, sizeof(m.body.store.key));
	m.body.store.value.id = 1;
	m.body.store.value.ttl_s = 60;
	m.body.store.value.data.ptr = big;
	m.body.store.value.data.len = sizeof(big);
	/* TLS needs the peer's ID */
	ck_assert_int_eq(hy_rpc_call(a.rpc, addr_of(&b), NULL, &m, on_done, &d,
	                     NULL),
	    HY_EINVAL);
	ck_assert_int_eq(hy_rpc_call(a.rpc, addr_of(&b), id_of(&b), &m, on_done,
	                     &d, NULL),
	    HY_OK);
	run_until(base, &d.calls, 1, 5000);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.err, HY_OK);
	ck_assert_int_eq(d.type, HY_MSG_STORED);
	ck_assert_int_eq(d.from.path, HY_PATH_TLS);
	ck_assert_int_eq(b.last_from.path, HY_PATH_TLS);
	ck_assert_uint_eq(b.last_len, sizeof(big));
	hy_transport_stats(hy_rpc_transport(a.rpc), &st);
	ck_assert_uint_eq(st.tls_out, 1);
	ck_assert_uint_eq(st.tls_in, 1);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_rpc_uses_dtls_session)
{
	struct event_base *base = event_base_new();
	struct node a, b;
	struct done d = { 0 };
	struct hy_transport *ta;

	node_init(&a, base, NULL);
	node_init(&b, base, NULL);
	ta = hy_rpc_transport(a.rpc);
	ck_assert_int_eq(hy_transport_open_session(ta, addr_of(&b), id_of(&b)),
	    HY_OK);
	for (int i = 0; i < 200 && !hy_transport_session_up(ta, addr_of(&b));
	     i++) {
		struct timeval slice = { 0, 10000 };

		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	ck_assert(hy_transport_session_up(ta, addr_of(&b)));
	ck_assert_int_eq(ping(&a, addr_of(&b), id_of(&b), &d, NULL), HY_OK);
	run_until(base, &d.calls, 1, 2000);
	ck_assert_int_eq(d.err, HY_OK);
	ck_assert_int_eq(b.last_from.path, HY_PATH_DTLS);
	ck_assert_int_eq(d.from.path, HY_PATH_DTLS);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

static Suite *
rpc_suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_rpc_ping_pong_first_contact);
	tcase_add_test(tc, test_rpc_unvalidated_reply_is_budgeted);
	tcase_add_test(tc, test_rpc_echo_proves_requester);
	tcase_add_test(tc, test_rpc_replies_skip_rate_limit);
	tcase_add_test(tc, test_rpc_timeout_after_retries);
	tcase_add_test(tc, test_rpc_inflight_caps);
	tcase_add_test(tc, test_rpc_reply_from_elsewhere_ignored);
	tcase_add_test(tc, test_rpc_cancel_and_free);
	tcase_add_test(tc, test_rpc_large_request_over_tls);
	tcase_add_test(tc, test_rpc_uses_dtls_session);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rpc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
