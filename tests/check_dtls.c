/*
 * check_dtls.c: DTLS sessions on real UDP sockets on 127.0.0.1.
 *
 * Each test endpoint is a UDP socket + identity + DTLS multiplexer. Waits
 * are bounded: the loop runs until a condition holds or a deadline passes.
 * HY_VALGRIND shrinks the many-peer test (memcheck is ~50x slower).
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "hypha.h"
#include "ident.h"
#include "tr-ctx.h"
#include "tr-dtls.h"
#include "tr-udp.h"

struct ep {
	struct event_base *base;
	struct hy_ident *ident;
	struct hy_trctx *trctx;
	struct hy_udp *udp;
	struct hy_dtls *dtls;
	int up, down, failed, last_err, rx;
	uint8_t last[256];
	size_t last_len;
	struct hy_id last_peer;
};

static int
ep_send(void *arg, const struct hy_addr *to, const uint8_t *d, size_t len)
{
	struct ep *e = arg;

	return hy_udp_send(e->udp, to, d, len);
}

static void
ep_udp_recv(void *arg, const struct hy_addr *from, const uint8_t *d, size_t len)
{
	struct ep *e = arg;

	if (len > 0 && d[0] >= 20 && d[0] <= 63)
		hy_dtls_input(e->dtls, from, d, len);
}

static void
ep_recv(void *arg, const struct hy_id *peer, const struct hy_addr *from,
    const uint8_t *d, size_t len)
{
	struct ep *e = arg;

	(void)from;
	e->rx++;
	e->last_peer = *peer;
	e->last_len = len < sizeof(e->last) ? len : sizeof(e->last);
	memcpy(e->last, d, e->last_len);
}

static void
ep_event(void *arg, enum hy_dtls_event ev, const struct hy_id *peer,
    const struct hy_addr *addr, int err)
{
	struct ep *e = arg;

	(void)peer;
	(void)addr;
	if (ev == HY_DTLS_UP)
		e->up++;
	else if (ev == HY_DTLS_DOWN)
		e->down++;
	else
		e->failed++;
	e->last_err = err;
}

static void
ep_init(struct ep *e, struct event_base *base, const struct hy_dtls_config *cfg)
{
	struct hy_dtls_config def;
	struct hy_trctx_config tc = { NULL, NULL };
	struct hy_addr a;
	char err[256];
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->base = base;
	if (cfg == NULL) {
		hy_dtls_config_default(&def);
		cfg = &def;
	}
	ck_assert_int_eq(hy_ident_generate(&e->ident), HY_OK);
	e->trctx = hy_trctx_new(e->ident, &tc, &rc, err, sizeof(err));
	ck_assert_msg(e->trctx != NULL, "trctx: %s", err);
	hy_addr_parse(&a, "127.0.0.1:0");
	e->udp = hy_udp_open(base, &a, ep_udp_recv, e, &rc);
	ck_assert_ptr_nonnull(e->udp);
	e->dtls =
	    hy_dtls_new(base, e->trctx, cfg, ep_send, e, ep_recv, ep_event, e);
	ck_assert_ptr_nonnull(e->dtls);
}

static void
ep_fini(struct ep *e)
{
	hy_dtls_free(e->dtls);
	hy_udp_free(e->udp);
	hy_trctx_free(e->trctx);
	hy_ident_free(e->ident);
}

static const struct hy_addr *
ep_addr(const struct ep *e)
{
	return hy_udp_local(e->udp);
}

/* Run the loop until *counter >= want or `seconds` pass; return *counter. */
static int
run_until(struct event_base *base, const int *counter, int want, int seconds)
{
	struct timeval slice = { 0, 20000 };
	uint64_t rounds = seconds > 0 ? (uint64_t)seconds * 50 : 1;

	while (*counter < want && rounds-- > 0) {
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	return *counter;
}

START_TEST(test_dtls_handshake_and_data)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_dtls_stats st;
	struct hy_id peer;

	ep_init(&a, base, NULL);
	ep_init(&b, base, NULL);
	ck_assert_int_eq(hy_dtls_connect(a.dtls, ep_addr(&b),
	                     hy_ident_id(b.ident)),
	    HY_OK);
	/* queued before the handshake finishes, delivered after */
	ck_assert_int_eq(hy_dtls_send(a.dtls, ep_addr(&b),
	                     (const uint8_t *)"early", 5),
	    HY_OK);
	ck_assert_int_eq(run_until(base, &b.rx, 1, 5), 1);
	ck_assert_int_eq(a.up, 1);
	ck_assert_int_eq(b.up, 1);
	ck_assert_mem_eq(b.last, "early", 5);
	ck_assert(hy_id_eq(&b.last_peer, hy_ident_id(a.ident)));
	ck_assert(hy_dtls_is_up(a.dtls, ep_addr(&b), &peer));
	ck_assert(hy_id_eq(&peer, hy_ident_id(b.ident)));
	/* and back, on the server-side session */
	ck_assert_int_eq(hy_dtls_send(b.dtls, ep_addr(&a),
	                     (const uint8_t *)"reply", 5),
	    HY_OK);
	ck_assert_int_eq(run_until(base, &a.rx, 1, 5), 1);
	ck_assert_mem_eq(a.last, "reply", 5);
	hy_dtls_stats(b.dtls, &st);
	ck_assert_uint_ge(st.cookies_sent, 1);
	ck_assert_uint_eq(st.handshakes_ok, 1);
	ck_assert_uint_eq(st.sessions, 1);
	/* too large for one record */
	{
		static uint8_t big[2000];

		ck_assert_int_eq(hy_dtls_send(a.dtls, ep_addr(&b), big,
		                     sizeof(big)),
		    HY_ETOOBIG);
	}
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_dtls_wrong_id_refused)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct hy_dtls_stats st;
	struct hy_id wrong;

	ep_init(&a, base, NULL);
	ep_init(&b, base, NULL);
	memset(&wrong, 0x42, sizeof(wrong));
	ck_assert_int_eq(hy_dtls_connect(a.dtls, ep_addr(&b), &wrong), HY_OK);
	ck_assert_int_eq(run_until(base, &a.failed, 1, 5), 1);
	ck_assert_int_eq(a.last_err, HY_EIDMISMATCH);
	ck_assert_int_eq(a.up, 0);
	hy_dtls_stats(a.dtls, &st);
	ck_assert_uint_eq(st.id_mismatch, 1);
	ck_assert(!hy_dtls_is_up(a.dtls, ep_addr(&b), NULL));
	ck_assert_int_eq(hy_dtls_send(a.dtls, ep_addr(&b), (const uint8_t *)"x",
	                     1),
	    HY_ENOENT);
	ep_fini(&a);
	ep_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_dtls_resumes_after_eviction)
{
	struct event_base *base = event_base_new();
	struct hy_dtls_config cfg;
	struct ep a, b, c;
	struct hy_dtls_stats st;

	hy_dtls_config_default(&cfg);
	cfg.max_sessions = 1;
	ep_init(&a, base, &cfg);
	ep_init(&b, base, NULL);
	ep_init(&c, base, NULL);
	hy_dtls_connect(a.dtls, ep_addr(&b), hy_ident_id(b.ident));
	ck_assert_int_eq(run_until(base, &a.up, 1, 5), 1);
	/* a second peer evicts the first session (cap 1) */
	hy_dtls_connect(a.dtls, ep_addr(&c), hy_ident_id(c.ident));
	ck_assert_int_eq(run_until(base, &a.up, 2, 5), 2);
	ck_assert(!hy_dtls_is_up(a.dtls, ep_addr(&b), NULL));
	/* b heard close_notify */
	ck_assert_int_eq(run_until(base, &b.down, 1, 5), 1);
	/* back to b: the saved ticket resumes the session */
	hy_dtls_connect(a.dtls, ep_addr(&b), hy_ident_id(b.ident));
	ck_assert_int_eq(run_until(base, &a.up, 3, 5), 3);
	hy_dtls_stats(a.dtls, &st);
	ck_assert_uint_eq(st.evictions, 2);
	ck_assert_uint_eq(st.handshakes_resumed, 1);
	ck_assert_uint_eq(st.sessions, 1);
	ep_fini(&a);
	ep_fini(&b);
	ep_fini(&c);
	event_base_free(base);
}
END_TEST

START_TEST(test_dtls_many_peers_one_socket)
{
	struct event_base *base = event_base_new();
	int n = getenv("HY_VALGRIND") ? 24 : 320;
	struct ep srv, *cl = calloc((size_t)n, sizeof(*cl));
	struct hy_dtls_stats st;
	int ups = 0, fails = 0;

	ep_init(&srv, base, NULL);
	for (int i = 0; i < n; i++)
		ep_init(&cl[i], base, NULL);
	/* every client starts at once */
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(hy_dtls_connect(cl[i].dtls, ep_addr(&srv),
		                     hy_ident_id(srv.ident)),
		    HY_OK);
	/* clients finish one flight after the server: wait for them */
	for (int rounds = 0; rounds < 3000 && ups + fails < n; rounds++) {
		run_until(base, &srv.up, n + 1, 0);
		ups = fails = 0;
		for (int i = 0; i < n; i++) {
			ups += cl[i].up;
			fails += cl[i].failed;
		}
	}
	hy_dtls_stats(srv.dtls, &st);
	ck_assert_int_eq(fails, 0);
	ck_assert_int_eq(ups, n);
	ck_assert_int_eq(srv.up, n);
	ck_assert_uint_eq(st.sessions, (size_t)n);
	ck_assert_uint_eq(st.handshakes_failed, 0);
	for (int i = 0; i < n; i++)
		ep_fini(&cl[i]);
	ep_fini(&srv);
	free(cl);
	event_base_free(base);
}
END_TEST

START_TEST(test_dtls_session_cap_holds)
{
	struct event_base *base = event_base_new();
	struct hy_dtls_config cfg;
	struct ep srv, cl[12];
	struct hy_dtls_stats st;

	hy_dtls_config_default(&cfg);
	cfg.max_sessions = 8;
	ep_init(&srv, base, &cfg);
	for (int i = 0; i < 12; i++) {
		ep_init(&cl[i], base, NULL);
		hy_dtls_connect(cl[i].dtls, ep_addr(&srv),
		    hy_ident_id(srv.ident));
	}
	run_until(base, &srv.up, 12, 10);
	hy_dtls_stats(srv.dtls, &st);
	ck_assert_int_eq(srv.up, 12);
	ck_assert_uint_le(st.sessions, 8);
	ck_assert_uint_eq(st.evictions, 4);
	for (int i = 0; i < 12; i++)
		ep_fini(&cl[i]);
	ep_fini(&srv);
	event_base_free(base);
}
END_TEST

START_TEST(test_dtls_stray_record_dropped)
{
	struct event_base *base = event_base_new();
	struct ep a;
	struct hy_dtls_stats st;
	struct hy_addr from;
	/* an application-data record (type 23, epoch 1) from nowhere */
	const uint8_t rec[] = { 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7, 0, 3, 1,
		2, 3 };

	ep_init(&a, base, NULL);
	hy_addr_parse(&from, "127.0.0.1:9");
	hy_dtls_input(a.dtls, &from, rec, sizeof(rec));
	hy_dtls_input(a.dtls, &from, rec, 5); /* truncated */
	hy_dtls_stats(a.dtls, &st);
	ck_assert_uint_eq(st.dropped_no_session, 2);
	ck_assert_uint_eq(st.sessions, 0);
	ep_fini(&a);
	event_base_free(base);
}
END_TEST

static Suite *
dtls_suite(void)
{
	Suite *s = suite_create("dtls");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_dtls_handshake_and_data);
	tcase_add_test(tc, test_dtls_wrong_id_refused);
	tcase_add_test(tc, test_dtls_resumes_after_eviction);
	tcase_add_test(tc, test_dtls_many_peers_one_socket);
	tcase_add_test(tc, test_dtls_session_cap_holds);
	tcase_add_test(tc, test_dtls_stray_record_dropped);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dtls_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
