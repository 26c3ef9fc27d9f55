/*
 * check_transport.c: the signed-datagram path on real UDP sockets on
 * 127.0.0.1. Every forged, tampered, replayed, stale, misdirected or
 * foreign datagram is refused and counted under its own counter; a flood
 * from one source is throttled while another source is still served.
 * Waits are bounded loop slices, never sleeps.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "dgram.h"
#include "hypha.h"
#include "ident.h"
#include "transport.h"

struct node {
	struct hy_ident *ident;
	struct hy_transport *tr;
	int rx;
	uint8_t last_type;
	struct hy_from last_from;
	struct hy_id watch; /* count what this sender gets through */
	int rx_watch;
};

static void
on_recv(void *arg, const struct hy_msg *msg, const struct hy_from *from)
{
	struct node *n = arg;

	n->rx++;
	n->last_type = msg->type;
	n->last_from = *from;
	if (hy_id_eq(&from->id, &n->watch))
		n->rx_watch++;
}

static void node_init_at(struct node *n, struct event_base *base,
    const char *network, const struct hy_transport_config *over,
    const char *listen);

static void
node_init(struct node *n, struct event_base *base, const char *network,
    const struct hy_transport_config *over)
{
	node_init_at(n, base, network, over, "127.0.0.1:0");
}

static void
node_init_at(struct node *n, struct event_base *base, const char *network,
    const struct hy_transport_config *over, const char *listen)
{
	struct hy_transport_config cfg;
	char err[256];
	int rc;

	memset(n, 0, sizeof(*n));
	ck_assert_int_eq(hy_ident_generate(&n->ident), HY_OK);
	if (over != NULL)
		cfg = *over;
	else
		hy_transport_config_default(&cfg);
	snprintf(cfg.network, sizeof(cfg.network), "%s", network);
	hy_addr_parse(&cfg.listen4, listen);
	n->tr = hy_transport_new(base, n->ident, &cfg, on_recv, n, &rc, err,
	    sizeof(err));
	ck_assert_msg(n->tr != NULL, "transport: %s", err);
}

static void
node_fini(struct node *n)
{
	hy_transport_free(n->tr);
	hy_ident_free(n->ident);
}

static const struct hy_addr *
node_addr(const struct node *n)
{
	return hy_transport_local(n->tr, HY_AF_INET);
}

/* Run the loop in short slices until *c >= want or ~2 s passed. */
static void
run_until(struct event_base *base, const int *c, int want)
{
	struct timeval slice = { 0, 10000 };

	for (int i = 0; i < 200 && *c < want; i++) {
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
}

/* Run the loop for a fixed short time (to let stray packets arrive). */
static void
settle(struct event_base *base)
{
	struct timeval t = { 0, 50000 };

	event_base_loopexit(base, &t);
	event_base_dispatch(base);
}

/* Send raw bytes from a throwaway socket. */
static void
raw_send(const struct hy_addr *to, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = hy_addr_to_sockaddr(to, &ss);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl),
	    (ssize_t)len);
	close(fd);
}

/*
 * Seal a PING the way a peer would, with knobs to get each field wrong:
 * the signing identity, the sender ID claimed, the network, the timestamp
 * offset and the destination.
 */
static size_t
forge_ping(uint8_t *out, size_t cap, const struct hy_ident *signer,
    const struct hy_id *claimed, const char *network, int64_t ts_off_ms,
    const struct hy_id *dst)
{
	struct hy_msg m;
	uint8_t env[HY_DGRAM_MAX];
	size_t envlen, len;
	uint64_t ts = hy_clock_wall(hy_clock_system()) + (uint64_t)ts_off_ms;

	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, network, 7, claimed),
	    HY_OK);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DGRAM, env, sizeof(env),
	                     &envlen),
	    HY_OK);
	ck_assert_int_eq(hy_dgram_seal(signer, dst, ts, NULL, env, envlen, out,
	                     cap, &len, NULL),
	    HY_OK);
	return len;
}

START_TEST(test_transport_signed_request_delivered)
{
	struct event_base *base = event_base_new();
	struct node a, b;
	struct hy_msg m;
	struct hy_transport_stats st;

	node_init(&a, base, "testnet", NULL);
	node_init(&b, base, "testnet", NULL);
	hy_msg_init(&m, HY_MSG_PING, "x", 1, hy_transport_id(a.tr));
	ck_assert_int_eq(hy_transport_send(a.tr, node_addr(&b),
	                     hy_transport_id(b.tr), &m),
	    HY_OK);
	run_until(base, &b.rx, 1);
	ck_assert_int_eq(b.rx, 1);
	ck_assert_int_eq(b.last_type, HY_MSG_PING);
	ck_assert(hy_id_eq(&b.last_from.id, hy_transport_id(a.tr)));
	ck_assert(hy_addr_eq(&b.last_from.addr, node_addr(&a)));
	ck_assert_int_eq(b.last_from.path, HY_PATH_DGRAM);
	hy_transport_stats(b.tr, &st);
	ck_assert_uint_eq(st.dgram_in, 1);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_transport_refusals_counted)
{
	struct event_base *base = event_base_new();
	struct node b;
	struct hy_ident *eve, *other;
	struct hy_transport_stats st;
	uint8_t d[HY_DGRAM_MAX], good[HY_DGRAM_MAX];
	size_t n, goodlen;
	const struct hy_id *bid;

	node_init(&b, base, "testnet", NULL);
	bid = hy_transport_id(b.tr);
	ck_assert_int_eq(hy_ident_generate(&eve), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&other), HY_OK);

	/* a valid one first, kept for the replay */
	goodlen = forge_ping(good, sizeof(good), eve, hy_ident_id(eve),
	    "testnet", 0, bid);
	raw_send(node_addr(&b), good, goodlen);
	run_until(base, &b.rx, 1);
	ck_assert_int_eq(b.rx, 1);

	/* replayed: the same bytes again */
	raw_send(node_addr(&b), good, goodlen);
	/*
	 * tampered: one nonce byte flipped. The nonce follows fixarray,
	 * version, bin8 dst (2 + 32) and a uint64 timestamp (9): offset 47.
	 * The frame stays well-formed; only the signature no longer holds.
	 */
	memcpy(d, good, goodlen);
	d[50] ^= 0x01;
	raw_send(node_addr(&b), d, goodlen);
	/* stale: stamped two minutes ago */
	n = forge_ping(d, sizeof(d), eve, hy_ident_id(eve), "testnet", -120000,
	    bid);
	raw_send(node_addr(&b), d, n);
	/* wrong ID: signed by eve, claims to be `other` */
	n = forge_ping(d, sizeof(d), eve, hy_ident_id(other), "testnet", 0,
	    bid);
	raw_send(node_addr(&b), d, n);
	/* wrong network */
	n = forge_ping(d, sizeof(d), eve, hy_ident_id(eve), "othernet", 0, bid);
	raw_send(node_addr(&b), d, n);
	/* wrong destination: addressed to `other` */
	n = forge_ping(d, sizeof(d), eve, hy_ident_id(eve), "testnet", 0,
	    hy_ident_id(other));
	raw_send(node_addr(&b), d, n);
	/* garbage: truncated frame, and a first byte nobody owns */
	raw_send(node_addr(&b), good, 40);
	raw_send(node_addr(&b), (const uint8_t *)"\x01hello", 6);
	settle(base);

	hy_transport_stats(b.tr, &st);
	ck_assert_int_eq(b.rx, 1);
	ck_assert_uint_eq(st.replayed, 1);
	ck_assert_uint_eq(st.bad_signature, 1);
	ck_assert_uint_eq(st.stale, 1);
	ck_assert_uint_eq(st.wrong_id, 1);
	ck_assert_uint_eq(st.wrong_network, 1);
	ck_assert_uint_eq(st.wrong_destination, 1);
	ck_assert_uint_eq(st.malformed, 1);
	ck_assert_uint_eq(st.unknown_demux, 1);
	hy_ident_free(eve);
	hy_ident_free(other);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_transport_anonymous_destination)
{
	struct event_base *base = event_base_new();
	struct node a, b;
	struct hy_msg m;
	struct hy_transport_stats st;

	node_init(&a, base, "testnet", NULL);
	node_init(&b, base, "testnet", NULL);
	/* a PING to a seed whose ID is unknown is allowed ... */
	hy_msg_init(&m, HY_MSG_PING, "x", 1, hy_transport_id(a.tr));
	ck_assert_int_eq(hy_transport_send(a.tr, node_addr(&b), NULL, &m),
	    HY_OK);
	run_until(base, &b.rx, 1);
	ck_assert_int_eq(b.rx, 1);
	/* ... a STORE is not */
	hy_msg_init(&m, HY_MSG_STORE, "x", 2, hy_transport_id(a.tr));
	m.body.store.value.ttl_s = 60;
	m.body.store.value.data.ptr = (const uint8_t *)"v";
	m.body.store.value.data.len = 1;
	ck_assert_int_eq(hy_transport_send(a.tr, node_addr(&b), NULL, &m),
	    HY_OK);
	settle(base);
	hy_transport_stats(b.tr, &st);
	ck_assert_int_eq(b.rx, 1);
	ck_assert_uint_eq(st.wrong_destination, 1);
	node_fini(&a);
	node_fini(&b);
	event_base_free(base);
}
END_TEST

/* How many datagrams b has dealt with: delivered or refused. */
static uint64_t
accounted(struct node *b)
{
	struct hy_transport_stats st;

	hy_transport_stats(b->tr, &st);
	return st.rate_limited + (uint64_t)b->rx;
}

/*
 * a floods b while c sends a datagram now and then. The flood is paced by
 * what b has dealt with (never faster than b drains its socket, so the
 * kernel drops nothing and the test holds under valgrind too): every one
 * of c's datagrams is delivered, and a gets no more than its bucket allows
 * for the time the flood took.
 */
START_TEST(test_transport_flood_throttled_other_served)
{
	struct event_base *base = event_base_new();
	struct hy_transport_config cfg;
	struct node a, b, c;
	struct hy_transport_stats st;
	struct hy_msg m;
	const struct hy_clock *clk = hy_clock_system();
	uint64_t t0, elapsed_ms, sent = 0;
	int from_c = 0, from_a;

	hy_transport_config_default(&cfg);
	cfg.ratelimit.source_rate = 50;
	cfg.ratelimit.source_burst = 50;
	node_init(&b, base, "testnet", &cfg);
	node_init(&a, base, "testnet", NULL);
	/* the limit is per source address (ports are free to make) */
	node_init_at(&c, base, "testnet", NULL, "127.0.0.2:0");
	t0 = hy_clock_mono(clk);
	b.watch = *hy_transport_id(c.tr);
	for (int chunk = 0; chunk < 40; chunk++) {
		for (int i = 0; i < 50; i++) {
			hy_msg_init(&m, HY_MSG_PING, "x", (uint32_t)i,
			    hy_transport_id(a.tr));
			if (hy_transport_send(a.tr, node_addr(&b),
			        hy_transport_id(b.tr), &m) == HY_OK)
				sent++;
		}
		hy_msg_init(&m, HY_MSG_PING, "x", 1, hy_transport_id(c.tr));
		ck_assert_int_eq(hy_transport_send(c.tr, node_addr(&b),
		                     hy_transport_id(b.tr), &m),
		    HY_OK);
		sent++;
		/* let b deal with everything sent so far (bounded) */
		for (int w = 0; w < 1000 && accounted(&b) < sent; w++)
			settle(base);
		ck_assert_uint_eq(accounted(&b), sent);
	}
	from_c = b.rx_watch;
	elapsed_ms = hy_clock_mono(clk) - t0;
	hy_transport_stats(b.tr, &st);
	ck_assert_uint_eq(sent, 2040);
	/* every one of c's 40 datagrams was delivered */
	ck_assert_int_eq(from_c, 40);
	from_a = b.rx - from_c;
	ck_assert_int_le(from_a, 50 + (int)(50 * elapsed_ms / 1000) + 1);
	ck_assert_uint_ge(st.rate_limited, 2000 - (uint64_t)from_a);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
	event_base_free(base);
}
END_TEST

static Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("signed");

	tcase_add_test(tc, test_transport_signed_request_delivered);
	tcase_add_test(tc, test_transport_refusals_counted);
	tcase_add_test(tc, test_transport_anonymous_destination);
	tcase_add_test(tc, test_transport_flood_throttled_other_served);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
