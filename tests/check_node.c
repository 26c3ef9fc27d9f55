/*
 * check_node.c: the public API on real sockets: ten nodes in one process
 * on 127.0.0.1 join through one seed, store and find values (small and
 * larger than a datagram), announce and find peers. Waits are bounded
 * loop slices, never sleeps.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypha.h"

#define N 10

static struct event_base *base;
static struct hy_node *nodes[N];

struct result {
	int calls, final, err, values;
	unsigned stored_on;
	uint8_t data[16384];
	size_t len;
	int peers, peer_port;
};

static void
put_done(void *arg, int err, unsigned stored_on)
{
	struct result *r = arg;

	r->calls++;
	r->final = 1;
	r->err = err;
	r->stored_on = stored_on;
}

static void
get_item(void *arg, int err, const struct hy_value_info *v)
{
	struct result *r = arg;

	r->calls++;
	if (v == NULL) {
		r->final = 1;
		r->err = err;
		return;
	}
	r->values++;
	r->len = v->len < sizeof(r->data) ? v->len : sizeof(r->data);
	memcpy(r->data, v->data, r->len);
}

static void
peers_item(void *arg, int err, const struct hy_peer_info *p, size_t n)
{
	struct result *r = arg;

	r->calls++;
	if (n == 0) {
		r->final = 1;
		r->err = err;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		r->peers++;
		r->peer_port = p[i].port;
	}
}

/* Run the loop until *flag is set or `ms` pass (x10 under valgrind). */
static void
run_until(const int *flag, int ms)
{
	if (getenv("HY_VALGRIND") != NULL)
		ms *= 10;
	for (int i = 0; i < ms / 10 && !*flag; i++) {
		struct timeval slice = { 0, 10000 };

		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
}

static uint64_t contacts_of_min;

static int
min_contacts(const char *name, uint64_t v, void *arg)
{
	uint64_t *out = arg;

	if (strcmp(name, "rtable.contacts") == 0)
		*out = v;
	return 0;
}

static void
setup(void)
{
	char err[256], seed[64];

	base = event_base_new();
	for (int i = 0; i < N; i++) {
		struct hy_config *cfg = hy_config_new();

		ck_assert_int_eq(hy_config_set(cfg, "listen", "127.0.0.1:0",
		                     err, sizeof(err)),
		    HY_OK);
		ck_assert_int_eq(hy_config_set(cfg, "network", "check-node",
		                     err, sizeof(err)),
		    HY_OK);
		/* memcheck slows a TLS handshake ~50x: give replies time */
		if (getenv("HY_VALGRIND") != NULL)
			hy_config_set(cfg, "rpc-timeout-ms", "8000", NULL, 0);
		if (i > 0)
			ck_assert_int_eq(hy_config_set(cfg, "seed", seed, err,
			                     sizeof(err)),
			    HY_OK);
		nodes[i] = hy_node_new(base, cfg, err, sizeof(err));
		ck_assert_msg(nodes[i] != NULL, "node %d: %s", i, err);
		ck_assert_int_eq(hy_node_start(nodes[i], err, sizeof(err)),
		    HY_OK);
		hy_config_free(cfg);
		if (i == 0)
			ck_assert_ptr_nonnull(
			    hy_node_addr(nodes[0], 4, seed, sizeof(seed)));
	}
	/* everyone joins, and tables fill beyond the seed */
	for (int round = 0; round < 1000; round++) {
		int ok = 1;

		for (int i = 1; i < N; i++) {
			uint64_t c = 0;

			hy_node_stats(nodes[i], min_contacts, &c);
			if (!hy_node_joined(nodes[i]) || c < 3)
				ok = 0;
		}
		if (ok)
			break;
		run_until(&(int){ 0 }, 10);
	}
	contacts_of_min = 0;
}

static void
teardown(void)
{
	for (int i = 0; i < N; i++)
		hy_node_free(nodes[i]);
	event_base_free(base);
}

static void
key_of(const char *name, uint8_t key[HY_ID_LEN])
{
	hy_key_from_string(name, strlen(name), key);
}

static int
count_route(const struct hy_route *r, void *arg)
{
	int *n = arg;

	ck_assert_ptr_nonnull(strstr(r->addr, "127.0.0.1:"));
	ck_assert(strcmp(r->status, "good") == 0 ||
	    strcmp(r->status, "questionable") == 0 ||
	    strcmp(r->status, "bad") == 0);
	(*n)++;
	return 0;
}

START_TEST(test_node_overlay_joins)
{
	int routes = 0;

	hy_node_routes(nodes[5], count_route, &routes);
	ck_assert_int_ge(routes, 3);
	for (int i = 0; i < N; i++) {
		uint64_t c = 0;

		/* the seed counts as joined once peers are in its table */
		ck_assert_msg(hy_node_joined(nodes[i]), "node %d alone", i);
		hy_node_stats(nodes[i], min_contacts, &c);
		ck_assert_msg(c >= 3, "node %d knows %llu contacts", i,
		    (unsigned long long)c);
	}
}
END_TEST

static void
put_then_get(int from, int to, const char *name, const uint8_t *data,
    size_t len)
{
	struct result p = { 0 }, g = { 0 };
	uint8_t key[HY_ID_LEN];

	key_of(name, key);
	ck_assert_int_eq(hy_node_put(nodes[from], key, data, len, NULL,
	                     put_done, &p, NULL),
	    HY_OK);
	ck_assert_int_eq(p.calls, 0); /* never synchronous */
	run_until(&p.final, 10000);
	ck_assert_int_eq(p.err, HY_OK);
	ck_assert_uint_ge(p.stored_on, 3);
	ck_assert_int_eq(hy_node_get(nodes[to], key, get_item, &g, NULL),
	    HY_OK);
	run_until(&g.final, 10000);
	ck_assert_int_eq(g.err, HY_OK);
	ck_assert_int_ge(g.values, 1);
	ck_assert_uint_eq(g.len, len);
	ck_assert_mem_eq(g.data, data, len);
}

START_TEST(test_node_put_get_small)
{
	const char *v = "hello, overlay";

	put_then_get(1, 9, "small-key", (const uint8_t *)v, strlen(v));
}
END_TEST

START_TEST(test_node_put_get_larger_than_datagram)
{
	static uint8_t big[12000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	put_then_get(2, 7, "big-key", big, sizeof(big));
}
END_TEST

START_TEST(test_node_get_missing)
{
	struct result g = { 0 };
	uint8_t key[HY_ID_LEN];

	key_of("nobody stored this", key);
	ck_assert_int_eq(hy_node_get(nodes[4], key, get_item, &g, NULL), HY_OK);
	run_until(&g.final, 15000);
	ck_assert_int_eq(g.final, 1);
	ck_assert_int_eq(g.err, HY_ENOENT);
	ck_assert_int_eq(g.values, 0);
}
END_TEST

START_TEST(test_node_announce_get_peers)
{
	struct result a = { 0 }, g = { 0 };
	uint8_t key[HY_ID_LEN];

	key_of("content-hash", key);
	ck_assert_int_eq(hy_node_announce(nodes[3], key, 6881, put_done, &a,
	                     NULL),
	    HY_OK);
	run_until(&a.final, 10000);
	ck_assert_int_eq(a.err, HY_OK);
	ck_assert_uint_ge(a.stored_on, 3);
	ck_assert_int_eq(hy_node_get_peers(nodes[8], key, peers_item, &g, NULL),
	    HY_OK);
	run_until(&g.final, 10000);
	ck_assert_int_eq(g.err, HY_OK);
	ck_assert_int_ge(g.peers, 1);
	ck_assert_int_eq(g.peer_port, 6881);
}
END_TEST

START_TEST(test_node_cancel_and_stop)
{
	struct result g = { 0 }, h = { 0 };
	uint8_t key[HY_ID_LEN];
	uint64_t handle;

	key_of("cancelled", key);
	ck_assert_int_eq(hy_node_get(nodes[5], key, get_item, &g, &handle),
	    HY_OK);
	ck_assert_int_eq(hy_node_cancel(nodes[5], handle), HY_OK);
	ck_assert_int_eq(hy_node_cancel(nodes[5], handle), HY_ENOENT);
	ck_assert_int_eq(hy_node_get(nodes[6], key, get_item, &h, NULL), HY_OK);
	hy_node_stop(nodes[6]); /* the pending get ends with ECANCELED */
	ck_assert_int_eq(h.final, 1);
	ck_assert_int_eq(h.err, HY_ECANCELED);
	run_until(&(int){ 0 }, 200);
	ck_assert_int_eq(g.calls, 0);
	ck_assert_int_eq(hy_node_get(nodes[6], key, get_item, &h, NULL),
	    HY_ESTATE);
}
END_TEST

static int
put_mut(int from, uint64_t seq, uint64_t cas, const char *data,
    uint8_t key[HY_ID_LEN])
{
	struct result p = { 0 };

	ck_assert_int_eq(hy_node_put_mutable(nodes[from], "profile", 7, data,
	                     strlen(data), seq, cas, 600, put_done, &p, key,
	                     NULL),
	    HY_OK);
	run_until(&p.final, 10000);
	ck_assert_int_eq(p.final, 1);
	return p.err;
}

static void
get_latest(int from, const uint8_t key[HY_ID_LEN], const char *want)
{
	struct result g = { 0 };

	ck_assert_int_eq(hy_node_get(nodes[from], key, get_item, &g, NULL),
	    HY_OK);
	run_until(&g.final, 10000);
	ck_assert_int_eq(g.err, HY_OK);
	ck_assert_uint_eq(g.len, strlen(want));
	ck_assert_mem_eq(g.data, want, g.len);
}

/* BEP 44 with P-256: the owner's newer seq wins; CAS and old seqs lose. */
START_TEST(test_node_mutable_values)
{
	uint8_t key[HY_ID_LEN], key2[HY_ID_LEN];

	ck_assert_int_eq(put_mut(1, 1, 0, "version one", key), HY_OK);
	get_latest(6, key, "version one");
	ck_assert_int_eq(put_mut(1, 2, 1, "version two", key2), HY_OK);
	ck_assert_mem_eq(key, key2, HY_ID_LEN); /* same owner and salt */
	get_latest(7, key, "version two");
	/* a stale compare-and-swap, and a sequence number that went back */
	ck_assert_int_eq(put_mut(1, 3, 1, "lost race", key2), HY_EEXIST);
	ck_assert_int_eq(put_mut(1, 1, 0, "rollback", key2), HY_EEXIST);
	get_latest(8, key, "version two");
	/* another owner with the same salt writes under another key */
	ck_assert_int_eq(put_mut(2, 9, 0, "someone else", key2), HY_OK);
	ck_assert(memcmp(key, key2, HY_ID_LEN) != 0);
}
END_TEST

static Suite *
node_suite(void)
{
	Suite *s = suite_create("node");
	TCase *tc = tcase_create("overlay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_node_overlay_joins);
	tcase_add_test(tc, test_node_put_get_small);
	tcase_add_test(tc, test_node_put_get_larger_than_datagram);
	tcase_add_test(tc, test_node_get_missing);
	tcase_add_test(tc, test_node_announce_get_peers);
	tcase_add_test(tc, test_node_mutable_values);
	tcase_add_test(tc, test_node_cancel_and_stop);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(node_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
