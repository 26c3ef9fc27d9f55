/*
 * check_node_restart.c: the state directory on real sockets (127.0.0.1):
 * a restarted node keeps its ID and rejoins from its saved contacts while
 * the seed is down; its permanent put survives; a second node on the same
 * directory is refused; a corrupt state file is reported, not fatal.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypha.h"

static struct event_base *base;
static char dir[64];
static int warnings;

static void
on_log(enum hy_log_level level, const char *msg, void *arg)
{
	(void)arg;
	if (level <= HY_LOG_WARN && strstr(msg, "ignoring saved") != NULL)
		warnings++;
}

static struct hy_node *
node(const char *seed, const char *state, int *rc)
{
	struct hy_config *cfg = hy_config_new();
	struct hy_node *n;
	char err[256];

	hy_config_set(cfg, "listen", "127.0.0.1:0", NULL, 0);
	hy_config_set(cfg, "network", "restart-test", NULL, 0);
	hy_config_set(cfg, "rpc-timeout-ms",
	    getenv("HY_VALGRIND") != NULL ? "8000" : "300", NULL, 0);
	if (seed != NULL)
		hy_config_set(cfg, "seed", seed, NULL, 0);
	if (state != NULL)
		hy_config_set(cfg, "state-dir", state, NULL, 0);
	hy_config_set_log(cfg, on_log, NULL, HY_LOG_WARN);
	n = hy_node_new(base, cfg, err, sizeof(err));
	hy_config_free(cfg);
	ck_assert_msg(n != NULL, "%s", err);
	*rc = hy_node_start(n, err, sizeof(err));
	return n;
}

/* Loop bounds: ten times longer under valgrind (HY_VALGRIND). */
static int
slow(int n)
{
	return getenv("HY_VALGRIND") != NULL ? n * 10 : n;
}

static void
spin(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

struct res {
	int final, err, values;
};

static void
put_done(void *arg, int err, unsigned on)
{
	struct res *r = arg;

	(void)on;
	r->final = 1;
	r->err = err;
}

static void
got(void *arg, int err, const struct hy_value_info *v)
{
	struct res *r = arg;

	if (v != NULL) {
		r->values++;
		return;
	}
	r->final = 1;
	r->err = err;
}

static void
wait_for(const int *flag, int ms)
{
	if (getenv("HY_VALGRIND") != NULL)
		ms *= 10;
	for (int i = 0; i < ms / 20 && !*flag; i++)
		spin(20);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hy-restart.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	warnings = 0;
}

static void
teardown(void)
{
	char cmd[128];

	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_node_restart_rejoins_without_seed)
{
	struct hy_node *seed, *peers[4], *a, *again;
	uint8_t id1[HY_ID_LEN], id2[HY_ID_LEN], key[HY_ID_LEN];
	struct res p = { 0 }, g = { 0 };
	char seedaddr[64], state[96];
	int rc;

	snprintf(state, sizeof(state), "%s/a", dir);
	seed = node(NULL, NULL, &rc);
	ck_assert_int_eq(rc, HY_OK);
	hy_node_addr(seed, 4, seedaddr, sizeof(seedaddr));
	for (int i = 0; i < 4; i++) {
		peers[i] = node(seedaddr, NULL, &rc);
		ck_assert_int_eq(rc, HY_OK);
	}
	a = node(seedaddr, state, &rc);
	ck_assert_int_eq(rc, HY_OK);
	for (int i = 0; i < 200 && !hy_node_joined(a); i++)
		spin(20);
	ck_assert(hy_node_joined(a));
	spin(500); /* let the tables fill */
	hy_node_id(a, id1);

	/* a second node on the same directory is refused */
	again = node(seedaddr, state, &rc);
	ck_assert_int_eq(rc, HY_EEXIST);
	hy_node_free(again);

	/* a permanent put, then a clean stop: state is saved */
	hy_key_from_string("survives", 8, key);
	ck_assert_int_eq(hy_node_put(a, key, "v1", 2,
	                     &(struct hy_put_opts){ .permanent = 1 }, put_done,
	                     &p, NULL),
	    HY_OK);
	wait_for(&p.final, 5000);
	ck_assert_int_eq(p.err, HY_OK);
	hy_node_free(a);
	ck_assert_int_eq(access(state, F_OK), 0);

	/* the seed goes away; a comes back from its saved contacts */
	hy_node_free(seed);
	a = node(NULL, state, &rc);
	ck_assert_int_eq(rc, HY_OK);
	hy_node_id(a, id2);
	ck_assert_mem_eq(id1, id2, HY_ID_LEN);
	for (int i = 0; i < 250 && !hy_node_joined(a); i++)
		spin(20);
	ck_assert_msg(hy_node_joined(a), "no saved contact answered");
	ck_assert_int_eq(hy_node_get(a, key, got, &g, NULL), HY_OK);
	wait_for(&g.final, 10000);
	ck_assert_int_eq(g.err, HY_OK);
	ck_assert_int_ge(g.values, 1);
	ck_assert_int_eq(warnings, 0);
	/* the restored permanent put can be stopped by key */
	ck_assert_int_eq(hy_node_unput(a, key), 1);
	ck_assert_int_eq(hy_node_unput(a, key), 0);
	hy_node_free(a);
	/* and stays stopped: nothing is restored at the next start */
	a = node(NULL, state, &rc);
	ck_assert_int_eq(rc, HY_OK);
	ck_assert_int_eq(hy_node_unput(a, key), 0);
	hy_node_free(a);
	a = NULL;
	for (int i = 0; i < 4; i++)
		hy_node_free(peers[i]);
}
END_TEST

START_TEST(test_node_corrupt_state_is_not_fatal)
{
	struct hy_node *a;
	char state[96], path[128];
	FILE *f;
	int rc;

	snprintf(state, sizeof(state), "%s/b", dir);
	a = node(NULL, state, &rc); /* creates the directory and key */
	ck_assert_int_eq(rc, HY_OK);
	hy_node_free(a);
	snprintf(path, sizeof(path), "%s/contacts", state);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("hypha-contacts 1\nthis is not a contact\n", f);
	fclose(f);
	a = node(NULL, state, &rc);
	ck_assert_int_eq(rc, HY_OK);
	ck_assert_int_eq(warnings, 1);
	hy_node_free(a);
}
END_TEST

static int joined_events, added_events;

static void
on_event(void *arg, enum hy_node_event ev, const struct hy_event_contact *c)
{
	(void)arg;
	if (ev == HY_EVENT_JOINED) {
		ck_assert_ptr_null(c);
		joined_events++;
	}
	if (ev == HY_EVENT_CONTACT_ADDED) {
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_nonnull(strstr(c->addr, "127.0.0.1:"));
		added_events++;
	}
}

START_TEST(test_node_status_and_events)
{
	struct hy_node *lone, *cut_off, *seed, *a;
	char seedaddr[64];
	int rc;

	lone = node(NULL, NULL, &rc);
	ck_assert_int_eq(rc, HY_OK);
	ck_assert_int_eq(hy_node_status(lone), HY_NODE_ALONE);
	ck_assert_str_eq(hy_node_status_str(HY_NODE_ALONE), "alone");

	/* nothing answers on the discard port: every seed is down */
	cut_off = node("127.0.0.1:9", NULL, &rc);
	ck_assert_int_eq(rc, HY_OK);
	/* the verdict comes after three RPC timeouts (longer under valgrind) */
	for (int i = 0;
	     i < slow(150) && hy_node_status(cut_off) != HY_NODE_SEEDS_DOWN;
	     i++)
		spin(20);
	ck_assert_int_eq(hy_node_status(cut_off), HY_NODE_SEEDS_DOWN);

	seed = node(NULL, NULL, &rc);
	hy_node_addr(seed, 4, seedaddr, sizeof(seedaddr));
	joined_events = added_events = 0;
	a = node(seedaddr, NULL, &rc);
	ck_assert_int_eq(rc, HY_OK);
	hy_node_set_event_cb(a, on_event, NULL);
	ck_assert_int_eq(hy_node_status(a), HY_NODE_JOINING);
	for (int i = 0; i < slow(150) && joined_events == 0; i++)
		spin(20);
	ck_assert_int_eq(joined_events, 1);
	ck_assert_int_ge(added_events, 1); /* the seed entered the table */
	ck_assert_int_eq(hy_node_status(a), HY_NODE_JOINED);
	hy_node_stop(a);
	ck_assert_int_eq(hy_node_status(a), HY_NODE_STOPPED);
	hy_node_free(a);
	hy_node_free(seed);
	hy_node_free(cut_off);
	hy_node_free(lone);
}
END_TEST

/* A node listening on addr, joining through seed (may be NULL). */
static struct hy_node *
node_on(const char *listen, const char *seed)
{
	struct hy_config *cfg = hy_config_new();
	struct hy_node *n;
	char err[256];

	hy_config_set(cfg, "listen", listen, NULL, 0);
	hy_config_set(cfg, "network", "restart-test", NULL, 0);
	if (getenv("HY_VALGRIND") != NULL)
		hy_config_set(cfg, "rpc-timeout-ms", "8000", NULL, 0);
	if (seed != NULL)
		hy_config_set(cfg, "seed", seed, NULL, 0);
	n = hy_node_new(base, cfg, err, sizeof(err));
	hy_config_free(cfg);
	ck_assert_msg(n != NULL, "%s", err);
	ck_assert_int_eq(hy_node_start(n, err, sizeof(err)), HY_OK);
	return n;
}

/*
 * Nodes on distinct 127.0.0.x addresses: a value too large for a datagram
 * goes over TLS, whose connections must leave from the node's own address
 * (write tokens are bound to it).
 */
START_TEST(test_node_distinct_addresses_large_value)
{
	struct hy_node *n[7];
	static uint8_t big[20000];
	uint8_t key[HY_ID_LEN];
	struct res p = { 0 }, g = { 0 };
	char seed[64], listen[32];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	for (int i = 0; i < 7; i++) {
		snprintf(listen, sizeof(listen), "127.0.0.%d:0", i + 2);
		n[i] = node_on(listen, i == 0 ? NULL : seed);
		if (i == 0)
			hy_node_addr(n[0], 4, seed, sizeof(seed));
	}
	for (int r = 0; r < 200; r++) {
		int joined = 0;

		for (int i = 1; i < 7; i++)
			joined += hy_node_joined(n[i]);
		if (joined == 6)
			break;
		spin(20);
	}
	spin(300);
	hy_key_from_string("big-over-tls", 12, key);
	ck_assert_int_eq(hy_node_put(n[2], key, big, sizeof(big), NULL,
	                     put_done, &p, NULL),
	    HY_OK);
	wait_for(&p.final, 10000);
	ck_assert_int_eq(p.err, HY_OK);
	ck_assert_int_eq(hy_node_get(n[5], key, got, &g, NULL), HY_OK);
	wait_for(&g.final, 10000);
	ck_assert_int_eq(g.err, HY_OK);
	ck_assert_int_ge(g.values, 1);
	for (int i = 0; i < 7; i++)
		hy_node_free(n[i]);
}
END_TEST

static int peers_seen, peers_final;

static void
peers_cb(void *arg, int err, const struct hy_peer_info *p, size_t n)
{
	(void)arg;
	(void)err;
	(void)p;
	peers_seen += (int)n;
	if (n == 0)
		peers_final = 1;
}

/*
 * Two nodes: what one stores lands on the other, which must find it in
 * its own store when it asks (the lookup has nobody else to ask).
 */
START_TEST(test_node_get_finds_own_store)
{
	struct hy_node *a, *b;
	struct res p = { 0 }, g = { 0 }, an = { 0 };
	uint8_t key[HY_ID_LEN];
	char seed[64];

	a = node_on("127.0.0.31:0", NULL);
	hy_node_addr(a, 4, seed, sizeof(seed));
	b = node_on("127.0.0.32:0", seed);
	for (int i = 0; i < 200 && !hy_node_joined(b); i++)
		spin(20);
	hy_key_from_string("two-nodes", 9, key);
	ck_assert_int_eq(hy_node_put(b, key, "only copy", 9, NULL, put_done, &p,
	                     NULL),
	    HY_OK);
	wait_for(&p.final, 5000);
	ck_assert_int_eq(p.err, HY_OK);
	ck_assert_int_eq(hy_node_get(a, key, got, &g, NULL), HY_OK);
	wait_for(&g.final, 5000);
	ck_assert_int_eq(g.err, HY_OK);
	ck_assert_int_eq(g.values, 1);
	ck_assert_int_eq(hy_node_announce(b, key, 7000, put_done, &an, NULL),
	    HY_OK);
	wait_for(&an.final, 5000);
	ck_assert_int_eq(an.err, HY_OK);
	peers_seen = peers_final = 0;
	ck_assert_int_eq(hy_node_get_peers(a, key, peers_cb, NULL, NULL),
	    HY_OK);
	wait_for(&peers_final, 5000);
	ck_assert_int_eq(peers_seen, 1);
	hy_node_free(b);
	hy_node_free(a);
}
END_TEST

static Suite *
restart_suite(void)
{
	Suite *s = suite_create("node-restart");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_node_restart_rejoins_without_seed);
	tcase_add_test(tc, test_node_corrupt_state_is_not_fatal);
	tcase_add_test(tc, test_node_status_and_events);
	tcase_add_test(tc, test_node_distinct_addresses_large_value);
	tcase_add_test(tc, test_node_get_finds_own_store);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(restart_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
