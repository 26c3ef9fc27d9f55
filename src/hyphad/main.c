/*
 * main.c: hyphad, the hypha DHT daemon: options, signals and lifecycle.
 *
 * hyphad runs in the foreground (service managers expect that; it never
 * forks). Without --foreground it logs to syslog, with it to stderr.
 * SIGTERM and SIGINT make it leave the overlay (hy_node_stop saves the
 * state) and exit 0. A second daemon on the same state directory is
 * refused by the library (HY_EEXIST, naming the holder's pid): exit 1.
 *
 * The command line is parsed by hand rather than with getopt_long: every
 * library option is accepted as --NAME VALUE or --NAME=VALUE without a
 * table here that could fall behind the library's (hy_config_set is the
 * one authority on names and values).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "hyphad.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-htTvV] [--config FILE] [--foreground] "
	    "[--api ADDR:PORT] [--api-public]\n"
	    "              [--listen ADDR:PORT] [--seed HOST:PORT] "
	    "[--network NAME]\n"
	    "              [--state-dir DIR] [--OPTION VALUE ...]\n"
	    "  -t  check the configuration and exit\n"
	    "  -T  print the effective configuration and exit\n"
	    "  -v  more verbose (debug) logging\n"
	    "Every config-file key is also a long option; see hyphad(8).\n",
	    HYD_NAME);
}

/*
 * Parse argv into c (flags) and *cmdline (options with values). Returns 0,
 * 1 to exit 0 (help, version), or -1 on an error (printed).
 */
static int
parse_args(int argc, char **argv, struct hyd_conf *c,
    struct hyd_optval **cmdline)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		char name[64];

		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc) {
				i++;
				goto extra;
			}
			break;
		}
		if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
			for (const char *p = a + 1; *p != '\0'; p++)
				switch (*p) {
				case 't':
					c->check_only = 1;
					break;
				case 'T':
					c->dump = 1;
					break;
				case 'v':
					c->verbose++;
					break;
				case 'h':
					usage(stdout);
					return 1;
				case 'V':
					printf("%s %s\n", HYD_NAME,
					    hy_version());
					return 1;
				default:
					fprintf(stderr,
					    "%s: -%c: unknown option\n",
					    HYD_NAME, *p);
					usage(stderr);
					return -1;
				}
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			goto extra;
		a += 2;
		{
			const char *eq = strchr(a, '=');
			size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);

			if (len == 0 || len >= sizeof(name)) {
				fprintf(stderr, "%s: %s: bad option\n",
				    HYD_NAME, argv[i]);
				return -1;
			}
			memcpy(name, a, len);
			name[len] = '\0';
			if (eq != NULL)
				val = eq + 1;
		}
		if (strcmp(name, "help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(name, "version") == 0) {
			printf("%s %s\n", HYD_NAME, hy_version());
			return 1;
		}
		if (strcmp(name, "verbose") == 0 && val == NULL) {
			c->verbose++;
			continue;
		}
		if (hyd_conf_is_flag(name) && val == NULL) {
			if (strcmp(name, "foreground") == 0)
				c->foreground = 1;
			else
				val = "yes";
			if (val == NULL)
				continue;
		}
		if (val == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: --%s: missing value\n",
				    HYD_NAME, name);
				return -1;
			}
			val = argv[++i];
		}
		if (strcmp(name, "config") == 0) {
			c->config_file = val;
			continue;
		}
		if (hyd_optval_add(cmdline, name, val, 0) != 0) {
			fprintf(stderr, "%s: out of memory\n", HYD_NAME);
			return -1;
		}
	}
	return 0;
extra:
	fprintf(stderr, "%s: unexpected argument '%s'\n", HYD_NAME,
	    argv[i < argc ? i : argc - 1]);
	usage(stderr);
	return -1;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct hyd *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		hyd_log(HY_LOG_INFO, "SIGHUP ignored (restart to reload)");
		return;
	}
	hyd_log(HY_LOG_INFO, "%s: leaving",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	d->stopping = 1;
	event_base_loopbreak(d->base);
}

static int
state_name(const char *name, const char *value, void *arg)
{
	struct hyd *d = arg;

	if (strcmp(name, "network") == 0)
		snprintf(d->network, sizeof(d->network), "%s", value);
	else if (strcmp(name, "state-dir") == 0 && mkdir(value, 0700) != 0 &&
	    errno != EEXIST)
		hyd_log(HY_LOG_WARN, "%s: cannot create: %s", value,
		    strerror(errno));
	return 0;
}

/* A startup failure: to stderr always, and to syslog when logging there. */
static void
fatal(const struct hyd *d, const char *what, const char *err)
{
	fprintf(stderr, "%s: %s%s\n", HYD_NAME, what, err);
	if (!d->conf.foreground)
		hyd_log(HY_LOG_ERR, "%s%s", what, err);
}

static int
run(struct hyd *d)
{
	char err[512], a4[64], a6[80];
	int rc = 1;

	(void)hy_config_foreach(d->conf.cfg, state_name, d);
	hy_config_set_log(d->conf.cfg, hyd_log_lib, d, hyd_log_level());
	if ((d->base = event_base_new()) == NULL) {
		fprintf(stderr, "%s: event_base_new failed\n", HYD_NAME);
		goto out;
	}
	err[0] = '\0';
	if ((d->node = hy_node_new(d->base, d->conf.cfg, err, sizeof(err))) ==
	    NULL) {
		fatal(d, "", err);
		goto out;
	}
	if (hy_node_start(d->node, err, sizeof(err)) != 0) {
		fatal(d, "", err);
		goto out;
	}
	if (hyd_events_init(d) != 0 ||
	    hyd_api_start(d, err, sizeof(err)) != 0) {
		fatal(d, "API: ", err);
		goto out;
	}
	d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
	if (d->sig_term == NULL || d->sig_int == NULL || d->sig_hup == NULL ||
	    evsignal_add(d->sig_term, NULL) != 0 ||
	    evsignal_add(d->sig_int, NULL) != 0 ||
	    evsignal_add(d->sig_hup, NULL) != 0) {
		fprintf(stderr, "%s: cannot install signal handlers\n",
		    HYD_NAME);
		goto out;
	}
	d->started_ms = hyd_now_ms();
	hyd_log(HY_LOG_INFO, "started: node %s%s%s, API http://%s/v1/",
	    hy_node_addr(d->node, 4, a4, sizeof(a4)) != NULL ? a4 : "",
	    hy_node_addr(d->node, 6, a6, sizeof(a6)) != NULL ? " " : "",
	    hy_node_addr(d->node, 6, a6, sizeof(a6)) != NULL ? a6 : "",
	    d->conf.api);
	if (event_base_dispatch(d->base) < 0) {
		hyd_log(HY_LOG_ERR, "event loop failed");
		goto out;
	}
	rc = d->stopping ? 0 : 1;
out:
	/* Order matters: end the streams, let the node cancel its pending
	 * operations (their callbacks answer the waiting HTTP requests),
	 * and only then free the HTTP server. */
	hyd_events_stop(d);
	hy_node_stop(d->node);
	hyd_ops_free(d);
	hyd_api_stop(d);
	hy_node_free(d->node);
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	if (d->sig_hup != NULL)
		event_free(d->sig_hup);
	if (d->base != NULL)
		event_base_free(d->base);
	if (rc == 0)
		hyd_log(HY_LOG_INFO, "stopped");
	return rc;
}

/* Each API client holds a descriptor: lift the soft limit toward the hard
 * one (up to 8192) so HYD_MAX_PENDING clients fit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 8192
		    ? 8192
		    : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct hyd d;
	struct hyd_optval *cmdline = NULL, *file = NULL;
	int rc = 1, r;

	memset(&d, 0, sizeof(d));
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (hyd_conf_init(&d.conf) != 0) {
		fprintf(stderr, "%s: out of memory\n", HYD_NAME);
		return 1;
	}
	if ((r = parse_args(argc, argv, &d.conf, &cmdline)) != 0) {
		rc = r > 0 ? 0 : 1;
		goto out;
	}
	if (d.conf.config_file != NULL &&
	    hyd_conf_read_file(d.conf.config_file, &file) != 0)
		goto out;
	if (hyd_conf_apply(&d.conf, file, cmdline) != 0)
		goto out;
	if (d.conf.dump) {
		hyd_conf_dump(&d.conf);
		rc = fflush(stdout) == 0 ? 0 : 1;
		goto out;
	}
	if (d.conf.check_only) {
		rc = 0;
		goto out;
	}
	hyd_log_init(d.conf.foreground, d.conf.verbose);
	rc = run(&d);
out:
	hyd_optval_free(cmdline);
	hyd_optval_free(file);
	hyd_conf_free(&d.conf);
	return rc;
}
