/*
 * check_seeds.c: unit tests for src/tr-seeds.c (seed list parsing,
 * resolution, backoff, status). No test resolves a name over the network:
 * names are resolved by a fake DNS server that the test runs on
 * 127.0.0.1 (libevent's evdns server API) on the same event_base, and the
 * resolver is pointed at it alone (cfg.nameserver: no resolv.conf, no
 * hosts file). evdns randomizes the case of the names it asks for
 * (the 0x20 hack), so the server compares them with strcasecmp.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/util.h>

#include "tr-seeds.h"

static struct event_base *base;
static char err[512];

/* What the seeds callback saw. */
static struct {
	struct hy_addr a[64];
	size_t n;
	int calls;
} got;

static void
seeds_cb(const struct hy_addr *addrs, size_t n, void *arg)
{
	(void)arg;
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, 64);
	memcpy(got.a, addrs, n * sizeof(*addrs));
	got.n = n;
	got.calls++;
}

static bool
got_addr(const char *s)
{
	struct hy_addr a;

	ck_assert_int_eq(hy_addr_parse(&a, s), HY_OK);
	for (size_t i = 0; i < got.n; i++)
		if (hy_addr_eq(&got.a[i], &a))
			return true;
	return false;
}

/* --- the fake DNS server on 127.0.0.1 --- */

static struct {
	struct evdns_server_port *port;
	char addr[32]; /* "127.0.0.1:PORT" for cfg.nameserver */
	int seed_a_queries; /* A queries for seed.test */
	int slow_queries;
} srv;

static void
dns_server_cb(struct evdns_server_request *req, void *arg)
{
	int rcode = 0;

	(void)arg;
	for (int i = 0; i < req->nquestions; i++) {
		const struct evdns_server_question *q = req->questions[i];
		uint32_t v4[10];
		struct in6_addr v6;

		if (strcasecmp(q->name, "slow.test") == 0) {
			srv.slow_queries++;
			evdns_server_request_drop(req);
			return;
		}
		if (strcasecmp(q->name, "seed.test") == 0) {
			if (q->type == EVDNS_TYPE_A) {
				/* the seed moves between attempts */
				srv.seed_a_queries++;
				v4[0] =
				    htonl(srv.seed_a_queries == 1 ? 0x7f000007
				                                  : 0x7f000009);
				evdns_server_request_add_a_reply(req, q->name,
				    1, v4, 10);
			} else if (q->type == EVDNS_TYPE_AAAA) {
				inet_pton(AF_INET6, "::1", &v6);
				evdns_server_request_add_aaaa_reply(req,
				    q->name, 1, &v6, 10);
			}
		} else if (strcasecmp(q->name, "many.test") == 0) {
			if (q->type == EVDNS_TYPE_A) {
				for (int k = 0; k < 10; k++)
					v4[k] =
					    htonl(0x7f000100u + (uint32_t)k);
				evdns_server_request_add_a_reply(req, q->name,
				    10, v4, 10);
			}
		} else if (strcasecmp(q->name, "martian.test") == 0) {
			if (q->type == EVDNS_TYPE_A) {
				v4[0] = htonl(0xe0000001); /* multicast */
				v4[1] = htonl(0x7f000002);
				evdns_server_request_add_a_reply(req, q->name,
				    2, v4, 10);
			}
		} else
			rcode = DNS_ERR_NOTEXIST;
	}
	evdns_server_request_respond(req, rcode);
}

/* evdns logs through stderr by default; keep the test output clean. */
static void
quiet_log(int is_warn, const char *msg)
{
	(void)is_warn;
	(void)msg;
}

static void
setup(void)
{
	evdns_set_log_fn(quiet_log);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	evutil_socket_t fd;

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	memset(&got, 0, sizeof(got));
	memset(&srv, 0, sizeof(srv));
	err[0] = '\0';
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_eq(evutil_make_socket_nonblocking(fd), 0);
	snprintf(srv.addr, sizeof(srv.addr), "127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	srv.port =
	    evdns_add_server_port_with_base(base, fd, 0, dns_server_cb, NULL);
	ck_assert_ptr_nonnull(srv.port);
}

static void
teardown(void)
{
	evdns_close_server_port(srv.port); /* closes the socket */
	event_base_free(base);
}

/* --- running the loop --- */

static bool timed_out;

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = true;
}

static struct hy_seeds *cur;
static int want_calls;
static enum hy_seeds_status want_status;

static bool
reached_calls(void)
{
	return got.calls >= want_calls;
}

static bool
reached_status(void)
{
	return hy_seeds_status(cur) == want_status;
}

/* Run the loop until pred() holds or ms pass. Returns pred(). */
static bool
run_until(bool (*pred)(void), int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *g = evtimer_new(base, guard_cb, NULL);

	timed_out = false;
	evtimer_add(g, &tv);
	while (!pred() && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(g);
	return pred();
}

static void
run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *g = evtimer_new(base, guard_cb, NULL);

	timed_out = false;
	evtimer_add(g, &tv);
	while (!timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(g);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A config that resolves with the fake server only, with short delays. */
static void
test_config(struct hy_seeds_config *cfg)
{
	hy_seeds_config_default(cfg);
	cfg->nameserver = srv.addr;
	cfg->initial_backoff_ms = 20;
	cfg->max_backoff_ms = 80;
	cfg->rng_seed = 42;
	cfg->dns_timeout_s = 1;
	cfg->dns_attempts = 1;
}

/* --- parsing --- */

START_TEST(test_seeds_parse_valid)
{
	static const struct {
		const char *entry;
		int family; /* 0: a name */
	} ok[] = {
		{ "1.2.3.4:80", HY_AF_INET },
		{ "127.0.0.1:4000", HY_AF_INET },
		{ "[2606:4700::1111]:6881", HY_AF_INET6 },
		{ "[::1]:1", HY_AF_INET6 },
		{ "seed.example.org:4000", 0 },
		{ "localhost:65535", 0 },
		{ "a-b.c9:5", 0 },
		{ "trailing.dot.:5", 0 },
		{ "xn--bcher-kva.example:5", 0 },
		{ "1.2.3.com:5", 0 },
	};
	struct hy_addr a;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&a, 0xee, sizeof(a));
		ck_assert_msg(hy_seeds_parse_entry(ok[i].entry, &a, err,
		                  sizeof(err)) == HY_OK,
		    "%s: %s", ok[i].entry, err);
		ck_assert_int_eq(a.family, ok[i].family);
	}
	ck_assert_int_eq(hy_seeds_parse_entry("[::1]:7", &a, NULL, 0), HY_OK);
	ck_assert_uint_eq(a.port, 7);
}
END_TEST

START_TEST(test_seeds_parse_invalid)
{
	static const char *bad[] = {
		"1.2.3.4", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:http",
		"1.2.3.4:05", "1.2.3.4:+5", "1.2.3.4:", "::1:80",
		"2001:db8::1:80", "[::1]", "[::1:80", "[1.2.3.4]:5", "1.2.3:5",
		"256.1.1.1:5", "-bad.com:5", "bad-.com:5", "a..b:5", ".a:5",
		"under_score.com:5", "sp ace.com:5", ":5", "0.0.0.0:5",
		"224.0.0.1:5", "[ff02::1]:5",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aa"
		".com:5", /* 64-character label */
	};
	char longname[400];
	struct hy_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0xee, sizeof(a));
		ck_assert_msg(hy_seeds_parse_entry(bad[i], &a, err,
		                  sizeof(err)) == HY_EINVAL,
		    "'%s' accepted", bad[i]);
		ck_assert_msg(strstr(err, bad[i]) != NULL,
		    "message '%s' does not name '%s'", err, bad[i]);
		ck_assert_int_eq(a.family, 0xee); /* untouched */
	}
	ck_assert_int_eq(hy_seeds_parse_entry("", &a, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_int_eq(hy_seeds_parse_entry(NULL, &a, err, sizeof(err)),
	    HY_EINVAL);
	/* a name over 253 characters, and an entry over 300 */
	memset(longname, 'a', sizeof(longname));
	for (int i = 50; i < 300; i += 50)
		longname[i] = '.';
	strcpy(longname + 260, ":5");
	ck_assert_int_eq(hy_seeds_parse_entry(longname, &a, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bad host name"));
	memset(longname, 'a', sizeof(longname));
	strcpy(longname + 350, ":5");
	ck_assert_int_eq(hy_seeds_parse_entry(longname, &a, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer than 300"));
}
END_TEST

START_TEST(test_seeds_new_validates)
{
	const char *list[] = { "127.0.0.1:1", "bad entry:5", "[::1]:2" };
	const char *many[70];
	struct hy_seeds_config cfg;
	struct hy_seeds *s = (struct hy_seeds *)1;

	ck_assert_int_eq(hy_seeds_new(&s, base, list, 3, NULL, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_eq(s, (struct hy_seeds *)1);
	ck_assert_ptr_nonnull(strstr(err, "bad entry:5"));
	for (int i = 0; i < 70; i++)
		many[i] = "127.0.0.1:1";
	ck_assert_int_eq(hy_seeds_new(&s, base, many, 65, NULL, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "at most 64"));
	hy_seeds_config_default(&cfg);
	cfg.max_seeds = 70;
	ck_assert_int_eq(hy_seeds_new(&s, base, many, 70, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(hy_seeds_count(s), 70);
	hy_seeds_free(s);
	cfg.max_backoff_ms = 10; /* below the initial delay */
	ck_assert_int_eq(hy_seeds_new(&s, base, many, 1, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_EINVAL);
	hy_seeds_config_default(&cfg);
	cfg.max_addrs_per_name = HY_SEEDS_MAX_ADDRS + 1;
	ck_assert_int_eq(hy_seeds_new(&s, base, many, 1, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_EINVAL);
	hy_seeds_free(NULL);
}
END_TEST

START_TEST(test_seeds_none_configured)
{
	struct hy_seeds *s = NULL;

	ck_assert_int_eq(hy_seeds_new(&s, base, NULL, 0, NULL, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_NONE_CONFIGURED);
	ck_assert_int_eq(hy_seeds_start(s), HY_ENOENT);
	ck_assert_int_eq(hy_seeds_attempt_result(s, true), HY_ESTATE);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_NONE_CONFIGURED);
	hy_seeds_free(s);
}
END_TEST

/* --- literals, status, backoff --- */

START_TEST(test_seeds_literals)
{
	const char *list[] = { "127.0.0.1:4000", "[::1]:4001",
		"127.0.0.1:4000" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;

	test_config(&cfg);
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 3, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	cur = s;
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_IDLE);
	ck_assert_int_eq(hy_seeds_attempt_result(s, true), HY_ESTATE);
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_RESOLVING);
	ck_assert_int_eq(got.calls, 0); /* never inside the call */
	want_calls = 1;
	ck_assert(run_until(reached_calls, 2000));
	ck_assert_uint_eq(got.n, 2); /* deduplicated */
	ck_assert(got_addr("127.0.0.1:4000"));
	ck_assert(got_addr("[::1]:4001"));
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_RESOLVING);
	ck_assert_int_eq(hy_seeds_start(s), HY_ESTATE);
	ck_assert_int_eq(hy_seeds_attempt_result(s, true), HY_OK);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_REACHED);
	ck_assert_int_eq(hy_seeds_attempt_result(s, true), HY_ESTATE);
	ck_assert_uint_eq(hy_seeds_retry_delay_ms(s), 0);
	/* no retry after success */
	run_for(100);
	ck_assert_int_eq(got.calls, 1);
	/* the node is isolated again: a new attempt on request */
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_calls = 2;
	ck_assert(run_until(reached_calls, 2000));
	hy_seeds_free(s);
}
END_TEST

START_TEST(test_seeds_backoff_function)
{
	struct hy_seeds_config cfg;
	struct hy_rng r1, r2;
	uint64_t d,
	    expect[] = { 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000,
		    256000, 300000, 300000 };
	bool differ = false;

	hy_seeds_config_default(&cfg);
	ck_assert_uint_eq(cfg.initial_backoff_ms, 1000);
	ck_assert_uint_eq(cfg.max_backoff_ms, 300000);
	for (unsigned f = 1; f <= 11; f++)
		ck_assert_uint_eq(hy_seeds_backoff_ms(&cfg, f, NULL),
		    expect[f - 1]);
	ck_assert_uint_eq(hy_seeds_backoff_ms(&cfg, 1000000, NULL), 300000);
	ck_assert_uint_eq(hy_seeds_backoff_ms(&cfg, UINT32_MAX, NULL), 300000);
	hy_rng_seed(&r1, 1);
	hy_rng_seed(&r2, 2);
	for (unsigned f = 1; f <= 11; f++) {
		for (int k = 0; k < 50; k++) {
			d = hy_seeds_backoff_ms(&cfg, f, &r1);
			ck_assert_uint_ge(d, expect[f - 1] / 2);
			ck_assert_uint_le(d, expect[f - 1]);
			if (d != hy_seeds_backoff_ms(&cfg, f, &r2))
				differ = true;
		}
	}
	ck_assert(differ); /* there is jitter */
}
END_TEST

START_TEST(test_seeds_backoff_sequence)
{
	const char *list[] = { "127.0.0.1:4000" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;
	struct hy_rng rng;
	uint64_t nominal[] = { 20, 40, 80, 80, 80 };

	test_config(&cfg);
	hy_rng_seed(&rng, cfg.rng_seed); /* the module's jitter, replayed */
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 1, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	cur = s;
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_calls = 1;
	ck_assert(run_until(reached_calls, 2000));
	for (unsigned k = 1; k <= 5; k++) {
		uint64_t delay, t0, t1;

		ck_assert_int_eq(hy_seeds_attempt_result(s, false), HY_OK);
		t0 = now_ms();
		ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_ALL_DOWN);
		ck_assert_uint_eq(hy_seeds_failures(s), k);
		delay = hy_seeds_retry_delay_ms(s);
		ck_assert_uint_eq(delay, hy_seeds_backoff_ms(&cfg, k, &rng));
		ck_assert_uint_ge(delay, nominal[k - 1] / 2);
		ck_assert_uint_le(delay, nominal[k - 1]);
		want_calls = (int)k + 1;
		ck_assert(run_until(reached_calls, 2000));
		t1 = now_ms();
		ck_assert_msg(t1 - t0 + 2 >= delay,
		    "retry after %llu ms, backoff %llu ms",
		    (unsigned long long)(t1 - t0), (unsigned long long)delay);
		ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_RESOLVING);
	}
	/* success resets the backoff */
	ck_assert_int_eq(hy_seeds_attempt_result(s, true), HY_OK);
	ck_assert_uint_eq(hy_seeds_failures(s), 0);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_REACHED);
	ck_assert_uint_eq(hy_seeds_retry_delay_ms(s), 0);
	/* a start during a scheduled retry brings it forward */
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_calls = 7;
	ck_assert(run_until(reached_calls, 2000));
	ck_assert_int_eq(hy_seeds_attempt_result(s, false), HY_OK);
	ck_assert_uint_eq(hy_seeds_failures(s), 1);
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	ck_assert_uint_eq(hy_seeds_retry_delay_ms(s), 0);
	want_calls = 8;
	ck_assert(run_until(reached_calls, 2000));
	hy_seeds_free(s);
}
END_TEST

/* --- names --- */

START_TEST(test_seeds_resolver_unavailable)
{
	const char *list[] = { "seed.test:4000", "other.test:4001" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;

	test_config(&cfg);
	cfg.nameserver = "not-an-address"; /* evdns cannot be set up */
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 2, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	cur = s;
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_status = HY_SEEDS_ALL_DOWN;
	ck_assert(run_until(reached_status, 2000));
	ck_assert_uint_eq(hy_seeds_failures(s), 1);
	ck_assert_uint_ge(hy_seeds_retry_delay_ms(s), 10);
	ck_assert_int_eq(hy_seeds_attempt_result(s, false), HY_ESTATE);
	/* it retries on its own, and fails again */
	run_for(60);
	ck_assert_uint_ge(hy_seeds_failures(s), 2);
	ck_assert_int_eq(got.calls, 0);
	hy_seeds_free(s);
}
END_TEST

START_TEST(test_seeds_names_fake_dns)
{
	const char *list[] = { "seed.test:4000", "nx.test:4001",
		"127.0.0.1:5000" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;

	test_config(&cfg);
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 3, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_calls = 1;
	ck_assert(run_until(reached_calls, 3000));
	ck_assert_uint_eq(got.n, 3);
	ck_assert(got_addr("127.0.0.7:4000"));
	ck_assert(got_addr("[::1]:4000"));
	ck_assert(got_addr("127.0.0.1:5000"));
	ck_assert_int_eq(srv.seed_a_queries, 1);
	/* next attempt resolves again and sees the new address */
	ck_assert_int_eq(hy_seeds_attempt_result(s, false), HY_OK);
	want_calls = 2;
	ck_assert(run_until(reached_calls, 3000));
	ck_assert_int_eq(srv.seed_a_queries, 2);
	ck_assert(got_addr("127.0.0.9:4000"));
	ck_assert(!got_addr("127.0.0.7:4000"));
	ck_assert_int_eq(hy_seeds_attempt_result(s, true), HY_OK);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_REACHED);
	hy_seeds_free(s);
}
END_TEST

START_TEST(test_seeds_names_bounds)
{
	const char *list[] = { "many.test:4000", "martian.test:4001" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;

	test_config(&cfg);
	cfg.max_addrs_per_name = 3;
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 2, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_calls = 1;
	ck_assert(run_until(reached_calls, 3000));
	/* 3 of many.test's 10; martian.test's multicast answer dropped */
	ck_assert_uint_eq(got.n, 4);
	ck_assert(got_addr("127.0.0.2:4001"));
	hy_seeds_free(s);
}
END_TEST

START_TEST(test_seeds_names_all_fail)
{
	const char *list[] = { "nx.test:4000", "slow.test:4001" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;

	test_config(&cfg);
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 2, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	cur = s;
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	want_status = HY_SEEDS_ALL_DOWN; /* NXDOMAIN, and a 1 s timeout */
	ck_assert(run_until(reached_status, 5000));
	ck_assert_int_eq(got.calls, 0);
	ck_assert_uint_eq(hy_seeds_failures(s), 1);
	ck_assert_int_ge(srv.slow_queries, 1);
	hy_seeds_free(s);
}
END_TEST

START_TEST(test_seeds_free_while_resolving)
{
	const char *list[] = { "slow.test:4000", "127.0.0.1:1" };
	struct hy_seeds_config cfg;
	struct hy_seeds *s = NULL;

	test_config(&cfg);
	ck_assert_int_eq(hy_seeds_new(&s, base, list, 2, &cfg, seeds_cb, NULL,
	                     err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_seeds_start(s), HY_OK);
	run_for(50); /* the query is out, unanswered */
	ck_assert_int_ge(srv.slow_queries, 1);
	ck_assert_int_eq(hy_seeds_status(s), HY_SEEDS_RESOLVING);
	hy_seeds_free(s);
	/* evdns answers the orphaned lookup from the loop; nothing fires */
	run_for(50);
	ck_assert_int_eq(got.calls, 0);
}
END_TEST

static Suite *
seeds_suite(void)
{
	Suite *s = suite_create("seeds");
	TCase *tc = tcase_create("seeds");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_seeds_parse_valid);
	tcase_add_test(tc, test_seeds_parse_invalid);
	tcase_add_test(tc, test_seeds_new_validates);
	tcase_add_test(tc, test_seeds_none_configured);
	tcase_add_test(tc, test_seeds_literals);
	tcase_add_test(tc, test_seeds_backoff_function);
	tcase_add_test(tc, test_seeds_backoff_sequence);
	tcase_add_test(tc, test_seeds_resolver_unavailable);
	tcase_add_test(tc, test_seeds_names_fake_dns);
	tcase_add_test(tc, test_seeds_names_bounds);
	tcase_add_test(tc, test_seeds_names_all_fail);
	tcase_add_test(tc, test_seeds_free_while_resolving);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(seeds_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
