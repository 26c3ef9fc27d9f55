/*
 * check_conf.c: the option table: defaults, parsing, range checks, the
 * messages for bad values, and printing the effective configuration.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static struct hy_config cfg;
static char err[256];

static int
set(const char *name, const char *value)
{
	err[0] = '\0';
	return hy_config_set_opt(&cfg, name, value, err, sizeof(err));
}

START_TEST(test_conf_defaults)
{
	hy_config_defaults(&cfg);
	ck_assert_uint_eq(cfg.k, 20);
	ck_assert_uint_eq(cfg.alpha, 3);
	ck_assert_str_eq(cfg.network, "hypha");
	ck_assert_uint_eq(cfg.n_listen, 1);
	ck_assert_uint_eq(cfg.listen[0].port, 4242);
	ck_assert_uint_eq(cfg.n_seeds, 0);
	ck_assert_str_eq(cfg.state_dir, "");
	ck_assert_uint_eq(cfg.max_value_bytes, 65536);
	ck_assert_ptr_nonnull(hy_config_help("k"));
	ck_assert_ptr_null(hy_config_help("nope"));
}
END_TEST

START_TEST(test_conf_listen_replaces_default_once_per_family)
{
	hy_config_defaults(&cfg);
	ck_assert_int_eq(set("listen", "127.0.0.5:7000"), HY_OK);
	ck_assert_uint_eq(cfg.n_listen, 1);
	ck_assert_uint_eq(cfg.listen[0].port, 7000);
	ck_assert_int_eq(set("listen", "[::1]:7001"), HY_OK);
	ck_assert_uint_eq(cfg.n_listen, 2);
	ck_assert_int_eq(set("listen", "127.0.0.6:7002"), HY_EFULL);
	ck_assert_ptr_nonnull(strstr(err, "IPv4"));
	ck_assert_int_eq(set("listen", "localhost:7000"), HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "localhost"));
	ck_assert_uint_eq(cfg.n_listen, 2);
}
END_TEST

START_TEST(test_conf_seeds)
{
	hy_config_defaults(&cfg);
	ck_assert_int_eq(set("seed", "seed.example.org:4242"), HY_OK);
	ck_assert_int_eq(set("seed", "127.0.0.1:1"), HY_OK);
	ck_assert_int_eq(set("seed", "[::1]:65535"), HY_OK);
	ck_assert_uint_eq(cfg.n_seeds, 3);
	ck_assert_int_eq(set("seed", "nohost"), HY_EINVAL);
	ck_assert_int_eq(set("seed", "host:0"), HY_EINVAL);
	ck_assert_int_eq(set("seed", "host:65536"), HY_EINVAL);
	ck_assert_int_eq(set("seed", ":80"), HY_EINVAL);
	ck_assert_int_eq(set("seed", "bad host:80"), HY_EINVAL);
	ck_assert_int_eq(set("seed", "[]:80"), HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "HOST:PORT"));
	ck_assert_uint_eq(cfg.n_seeds, 3);
	for (int i = 3; i < HY_CFG_MAX_SEEDS; i++)
		ck_assert_int_eq(set("seed", "h:1"), HY_OK);
	ck_assert_int_eq(set("seed", "h:1"), HY_EFULL);
}
END_TEST

START_TEST(test_conf_numbers_and_strings)
{
	hy_config_defaults(&cfg);
	ck_assert_int_eq(set("k", "8"), HY_OK);
	ck_assert_uint_eq(cfg.k, 8);
	ck_assert_int_eq(set("k", "1"), HY_ERANGE);
	ck_assert_ptr_nonnull(strstr(err, "out of range 2..64"));
	ck_assert_int_eq(set("k", "20x"), HY_EINVAL);
	ck_assert_int_eq(set("k", "-3"), HY_EINVAL);
	ck_assert_int_eq(set("k", "99999999999999999999999"), HY_EINVAL);
	ck_assert_uint_eq(cfg.k, 8); /* unchanged by the rejects */
	ck_assert_int_eq(set("network", "my-overlay"), HY_OK);
	ck_assert_str_eq(cfg.network, "my-overlay");
	ck_assert_int_eq(set("network", "has space"), HY_EINVAL);
	ck_assert_int_eq(set("network", ""), HY_EINVAL);
	ck_assert_int_eq(set("network", "0123456789012345678901234567890123"),
	    HY_EINVAL);
	ck_assert_str_eq(cfg.network, "my-overlay");
	ck_assert_int_eq(set("state-dir", "/var/lib/hypha"), HY_OK);
	ck_assert_str_eq(cfg.state_dir, "/var/lib/hypha");
	ck_assert_int_eq(set("state-dir", ""), HY_EINVAL);
	ck_assert_int_eq(set("no-such-option", "1"), HY_ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no-such-option"));
}
END_TEST

struct seen {
	int n, listen, seeds;
	char k[32];
};

static int
collect(const char *name, const char *value, void *arg)
{
	struct seen *s = arg;

	s->n++;
	if (strcmp(name, "listen") == 0)
		s->listen++;
	if (strcmp(name, "seed") == 0)
		s->seeds++;
	if (strcmp(name, "k") == 0)
		snprintf(s->k, sizeof(s->k), "%s", value);
	return 0;
}

/* What -T prints can be read back: each (name, value) sets cleanly. */
static int
replay(const char *name, const char *value, void *arg)
{
	struct hy_config *c = arg;
	char e[256];

	ck_assert_msg(hy_config_set_opt(c, name, value, e, sizeof(e)) == HY_OK,
	    "%s=%s: %s", name, value, e);
	return 0;
}

START_TEST(test_conf_each_roundtrips)
{
	struct hy_config copy;
	struct seen s = { 0 };

	hy_config_defaults(&cfg);
	set("listen", "127.0.0.9:9000");
	set("listen", "[::1]:9000");
	set("seed", "a.example:1");
	set("seed", "b.example:2");
	set("k", "12");
	hy_config_each(&cfg, collect, &s);
	ck_assert_int_eq(s.listen, 2);
	ck_assert_int_eq(s.seeds, 2);
	ck_assert_str_eq(s.k, "12");
	hy_config_defaults(&copy);
	hy_config_each(&cfg, replay, &copy);
	ck_assert_mem_eq(copy.listen, cfg.listen, sizeof(cfg.listen));
	ck_assert_uint_eq(copy.n_seeds, 2);
	ck_assert_uint_eq(copy.k, 12);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_conf_defaults);
	tcase_add_test(tc, test_conf_listen_replaces_default_once_per_family);
	tcase_add_test(tc, test_conf_seeds);
	tcase_add_test(tc, test_conf_numbers_and_strings);
	tcase_add_test(tc, test_conf_each_roundtrips);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
