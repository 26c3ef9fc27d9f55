/*
 * check_udp.c: UDP sockets on 127.0.0.1 and ::1: datagrams arrive with the
 * right source, oversized ones are counted and dropped, the wrong family is
 * refused. Waits are bounded: the loop exits after a deadline.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypha.h"
#include "tr-udp.h"

struct rx {
	struct event_base *base;
	int count, want;
	struct hy_addr from;
	uint8_t last[HY_UDP_MAX_DGRAM];
	size_t last_len;
};

static void
on_recv(void *arg, const struct hy_addr *from, const uint8_t *data, size_t len)
{
	struct rx *rx = arg;

	rx->count++;
	rx->from = *from;
	memcpy(rx->last, data, len);
	rx->last_len = len;
	if (rx->count >= rx->want)
		event_base_loopbreak(rx->base);
}

/* Run the loop until rx->want datagrams arrived or 2 s passed. */
static void
run_bounded(struct event_base *base)
{
	struct timeval tv = { 2, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct hy_udp *
open_on(struct event_base *base, const char *addr, struct rx *rx)
{
	struct hy_addr a;
	int err = 0;
	struct hy_udp *u;

	ck_assert_int_eq(hy_addr_parse(&a, addr), HY_OK);
	u = hy_udp_open(base, &a, on_recv, rx, &err);
	return u;
}

START_TEST(test_udp_roundtrip_v4)
{
	struct event_base *base = event_base_new();
	struct rx ra = { base, 0, 1 }, rb = { base, 0, 1 };
	struct hy_udp *a = open_on(base, "127.0.0.1:0", &ra);
	struct hy_udp *b = open_on(base, "127.0.0.1:0", &rb);
	struct hy_udp_stats st;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_ne(hy_udp_local(a)->port, 0);
	ck_assert_int_eq(hy_udp_send(a, hy_udp_local(b), "hello", 5), HY_OK);
	run_bounded(base);
	ck_assert_int_eq(rb.count, 1);
	ck_assert_uint_eq(rb.last_len, 5);
	ck_assert_mem_eq(rb.last, "hello", 5);
	ck_assert(hy_addr_eq(&rb.from, hy_udp_local(a)));
	hy_udp_stats(a, &st);
	ck_assert_uint_eq(st.tx_packets, 1);
	hy_udp_stats(b, &st);
	ck_assert_uint_eq(st.rx_bytes, 5);
	hy_udp_free(a);
	hy_udp_free(b);
	event_base_free(base);
}
END_TEST

START_TEST(test_udp_roundtrip_v6)
{
	struct event_base *base = event_base_new();
	struct rx ra = { base, 0, 1 }, rb = { base, 0, 1 };
	struct hy_udp *a = open_on(base, "[::1]:0", &ra);
	struct hy_udp *b = open_on(base, "[::1]:0", &rb);
	struct hy_addr v4;

	if (a == NULL || b == NULL) {
		/* no IPv6 loopback in this sandbox: nothing to test */
		hy_udp_free(a);
		hy_udp_free(b);
		event_base_free(base);
		return;
	}
	ck_assert_int_eq(hy_udp_send(a, hy_udp_local(b), "v6", 2), HY_OK);
	run_bounded(base);
	ck_assert_int_eq(rb.count, 1);
	ck_assert(hy_addr_eq(&rb.from, hy_udp_local(a)));
	hy_addr_parse(&v4, "127.0.0.1:9");
	ck_assert_int_eq(hy_udp_send(a, &v4, "x", 1), HY_EINVAL);
	hy_udp_free(a);
	hy_udp_free(b);
	event_base_free(base);
}
END_TEST

START_TEST(test_udp_burst_and_oversize)
{
	struct event_base *base = event_base_new();
	struct rx rb = { base, 0, 300 };
	struct hy_udp *b = open_on(base, "127.0.0.1:0", &rb);
	struct hy_udp_stats st;
	struct sockaddr_storage ss;
	socklen_t sl = hy_addr_to_sockaddr(hy_udp_local(b), &ss);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	static uint8_t big[HY_UDP_MAX_DGRAM + 100];

	ck_assert_int_ge(fd, 0);
	/* one oversized datagram, then a burst bigger than one read batch */
	ck_assert_int_eq(sendto(fd, big, sizeof(big), 0, (void *)&ss, sl),
	    (ssize_t)sizeof(big));
	for (int i = 0; i < 300; i++) {
		uint32_t v = (uint32_t)i;

		ck_assert_int_eq(sendto(fd, &v, sizeof(v), 0, (void *)&ss, sl),
		    4);
	}
	run_bounded(base);
	ck_assert_int_eq(rb.count, 300);
	hy_udp_stats(b, &st);
	ck_assert_uint_eq(st.rx_truncated, 1);
	ck_assert_uint_eq(st.rx_packets, 300);
	close(fd);
	hy_udp_free(b);
	event_base_free(base);
}
END_TEST

START_TEST(test_udp_bind_conflict_fails_cleanly)
{
	struct event_base *base = event_base_new();
	struct rx r = { base, 0, 1 };
	struct hy_udp *a = open_on(base, "127.0.0.1:0", &r), *b;
	int err = 0;

	ck_assert_ptr_nonnull(a);
	b = hy_udp_open(base, hy_udp_local(a), on_recv, &r, &err);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(err, HY_EIO);
	hy_udp_free(a);
	hy_udp_free(NULL);
	event_base_free(base);
}
END_TEST

static Suite *
udp_suite(void)
{
	Suite *s = suite_create("udp");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_udp_roundtrip_v4);
	tcase_add_test(tc, test_udp_roundtrip_v6);
	tcase_add_test(tc, test_udp_burst_and_oversize);
	tcase_add_test(tc, test_udp_bind_conflict_fails_cleanly);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(udp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
