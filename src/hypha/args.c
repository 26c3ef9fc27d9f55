/*
 * args.c: command-line parsing for hypha.
 *
 * Hand-written rather than getopt so it is pure (no global state) and
 * testable: global options (--api, --json, --compact, --timeout) may stand
 * before or after the command; command options (--ttl, --permanent,
 * --state) only after theirs. "--" ends options; a lone "-" is an argument
 * (stdin). Every rule violation is a usage error (exit 2) with one line of
 * reason.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypha/cli.h"
#include "hypha/http.h"

static const struct {
	const char *name;
	enum cli_cmd cmd;
	size_t min, max; /* positional arguments */
} cmds[] = {
	{ "put", CLI_CMD_PUT, 2, 2 },
	{ "get", CLI_CMD_GET, 1, 1 },
	{ "rm", CLI_CMD_RM, 1, 1 },
	{ "announce", CLI_CMD_ANNOUNCE, 2, 2 },
	{ "peers", CLI_CMD_PEERS, 1, 1 },
	{ "status", CLI_CMD_STATUS, 0, 0 },
	{ "routes", CLI_CMD_ROUTES, 0, 0 },
	{ "members", CLI_CMD_MEMBERS, 0, 0 },
	{ "id", CLI_CMD_ID, 0, 1 },
	{ "keygen", CLI_CMD_KEYGEN, 1, 1 },
	{ "help", CLI_CMD_HELP, 0, 0 },
	{ "version", CLI_CMD_VERSION, 0, 0 },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

void
cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: hypha [--api HOST:PORT] [--json | --compact] "
	    "[--timeout S] COMMAND [ARGS]\n"
	    "commands (talking to hyphad):\n"
	    "  put KEY VALUE [--ttl S] [--permanent]  store VALUE "
	    "('-': stdin)\n"
	    "  get KEY                  print the values stored under KEY\n"
	    "  rm KEY                   cancel this node's puts of KEY\n"
	    "  announce KEY PORT        announce this host as a peer for KEY\n"
	    "  peers KEY                list the peers announced for KEY\n"
	    "  status                   the daemon's state\n"
	    "  routes                   the routing table\n"
	    "  members [--state S]      the liveness view (S: alive, "
	    "suspect, down)\n"
	    "  id                       the daemon's node ID\n"
	    "local commands:\n"
	    "  keygen DIR               create a node identity in DIR\n"
	    "  id DIR                   print the node ID stored in DIR\n"
	    "options:\n"
	    "  --api HOST:PORT  hyphad's API (default $HYPHA_API or %s)\n"
	    "  --json           print the daemon's JSON (indented)\n"
	    "  --compact        print the daemon's JSON on one line\n"
	    "  --timeout S      give up after S seconds (default %d)\n"
	    "  -h, --help       this text;  -V, --version  the version\n"
	    "exit status: 0 ok, 1 not found, 2 usage, 3 daemon unreachable, "
	    "4 other failure\n",
	    CLI_DEFAULT_API, CLI_DEFAULT_TIMEOUT_S);
}

/* Decimal unsigned in [min, max]; 0 or -1. */
static int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * The value of option `name` at argv[*i]: "--name=v" or "--name v".
 * Returns NULL (with err set) if it is missing.
 */
static const char *
opt_value(int argc, const char *const *argv, int *i, const char *name,
    char *err, size_t errlen)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');

	if (eq != NULL)
		return eq + 1;
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option %s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

/* Does argv[i] name option `name`, alone or as "name=..."? */
static bool
is_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int
check_args(struct cli_args *a, char *err, size_t errlen)
{
	char host[256], portstr[8];
	uint64_t port;

	if (a->cmd == CLI_CMD_NONE) {
		snprintf(err, errlen, "no command given (try hypha --help)");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (cmds[i].cmd != a->cmd)
			continue;
		if (a->npos < cmds[i].min || a->npos > cmds[i].max) {
			snprintf(err, errlen,
			    "%s: wrong number of arguments "
			    "(try hypha --help)",
			    cmds[i].name);
			return CLI_EXIT_USAGE;
		}
	}
	/* Local commands ignore the API address (and a bad $HYPHA_API). */
	if (a->cmd != CLI_CMD_KEYGEN &&
	    !(a->cmd == CLI_CMD_ID && a->npos == 1) &&
	    cli_http_split_addr(a->api, "4280", host, sizeof(host), portstr,
	        sizeof(portstr), err, errlen) != 0)
		return CLI_EXIT_USAGE;
	if ((a->ttl_s != 0 || a->permanent) && a->cmd != CLI_CMD_PUT) {
		snprintf(err, errlen, "--ttl and --permanent go with put");
		return CLI_EXIT_USAGE;
	}
	if (a->state != NULL && a->cmd != CLI_CMD_MEMBERS) {
		snprintf(err, errlen, "--state goes with members");
		return CLI_EXIT_USAGE;
	}
	switch (a->cmd) {
	case CLI_CMD_PUT:
	case CLI_CMD_GET:
	case CLI_CMD_RM:
	case CLI_CMD_ANNOUNCE:
	case CLI_CMD_PEERS:
		if (a->pos[0][0] == '\0' || strlen(a->pos[0]) > CLI_MAX_KEY) {
			snprintf(err, errlen, "KEY must be 1 to %d bytes",
			    CLI_MAX_KEY);
			return CLI_EXIT_USAGE;
		}
		break;
	default:
		break;
	}
	if (a->cmd == CLI_CMD_ANNOUNCE) {
		if (parse_uint(a->pos[1], 1, 65535, &port) != 0) {
			snprintf(err, errlen,
			    "PORT must be 1 to 65535, not '%s'", a->pos[1]);
			return CLI_EXIT_USAGE;
		}
		a->port = (unsigned)port;
	}
	return CLI_EXIT_OK;
}

int
cli_parse_args(int argc, const char *const *argv, const char *env_api,
    struct cli_args *a, char *err, size_t errlen)
{
	bool opts_done = false;
	const char *v;
	uint64_t n;

	memset(a, 0, sizeof(*a));
	a->api =
	    env_api != NULL && env_api[0] != '\0' ? env_api : CLI_DEFAULT_API;
	a->timeout_s = CLI_DEFAULT_TIMEOUT_S;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (opts_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
			size_t c;

			if (a->cmd != CLI_CMD_NONE) {
				if (a->npos == 2) {
					snprintf(err, errlen,
					    "too many arguments at '%s'", arg);
					return CLI_EXIT_USAGE;
				}
				a->pos[a->npos++] = arg;
				continue;
			}
			for (c = 0; c < NCMDS; c++)
				if (strcmp(cmds[c].name, arg) == 0)
					break;
			if (c == NCMDS) {
				snprintf(err, errlen,
				    "unknown command '%s' (try hypha --help)",
				    arg);
				return CLI_EXIT_USAGE;
			}
			a->cmd = cmds[c].cmd;
		} else if (strcmp(arg, "--") == 0)
			opts_done = true;
		else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			a->cmd = CLI_CMD_HELP;
		else if (strcmp(arg, "-V") == 0 ||
		    strcmp(arg, "--version") == 0)
			a->cmd = CLI_CMD_VERSION;
		else if (strcmp(arg, "--json") == 0)
			a->json = true;
		else if (strcmp(arg, "--compact") == 0)
			a->json = a->compact = true;
		else if (strcmp(arg, "--permanent") == 0)
			a->permanent = true;
		else if (is_opt(arg, "--api")) {
			if ((v = opt_value(argc, argv, &i, "--api", err,
			         errlen)) == NULL)
				return CLI_EXIT_USAGE;
			a->api = v;
		} else if (is_opt(arg, "--timeout")) {
			if ((v = opt_value(argc, argv, &i, "--timeout", err,
			         errlen)) == NULL)
				return CLI_EXIT_USAGE;
			if (parse_uint(v, 1, 3600, &n) != 0) {
				snprintf(err, errlen,
				    "--timeout must be 1 to 3600 seconds");
				return CLI_EXIT_USAGE;
			}
			a->timeout_s = (unsigned)n;
		} else if (is_opt(arg, "--ttl")) {
			if ((v = opt_value(argc, argv, &i, "--ttl", err,
			         errlen)) == NULL)
				return CLI_EXIT_USAGE;
			if (parse_uint(v, 1, UINT32_MAX, &n) != 0) {
				snprintf(err, errlen,
				    "--ttl must be a number of seconds > 0");
				return CLI_EXIT_USAGE;
			}
			a->ttl_s = n;
		} else if (is_opt(arg, "--state")) {
			if ((v = opt_value(argc, argv, &i, "--state", err,
			         errlen)) == NULL)
				return CLI_EXIT_USAGE;
			if (strcmp(v, "alive") != 0 &&
			    strcmp(v, "suspect") != 0 &&
			    strcmp(v, "down") != 0) {
				snprintf(err, errlen,
				    "--state must be alive, suspect or down");
				return CLI_EXIT_USAGE;
			}
			a->state = v;
		} else {
			snprintf(err, errlen,
			    "unknown option '%s' (try hypha --help)", arg);
			return CLI_EXIT_USAGE;
		}
		if (a->cmd == CLI_CMD_HELP || a->cmd == CLI_CMD_VERSION)
			return CLI_EXIT_OK;
	}
	return check_args(a, err, errlen);
}

int
cli_exit_for_status(int status)
{
	if (status >= 200 && status < 300)
		return CLI_EXIT_OK;
	if (status == 404)
		return CLI_EXIT_NOTFOUND;
	return CLI_EXIT_FAIL;
}
