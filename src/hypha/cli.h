/*
 * cli.h: the pieces of the hypha command-line tool, split so the pure
 * parts (argument parsing, output formatting) can be unit-tested.
 */
#ifndef HYPHA_CLI_H
#define HYPHA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define CLI_DEFAULT_API "127.0.0.1:4280"
#define CLI_MAX_VALUE (64u * 1024) /* largest value put accepts */
#define CLI_MAX_KEY 4096
#define CLI_DEFAULT_TIMEOUT_S 30

/* Exit status of the tool; see hypha(1). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_NOTFOUND = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_UNREACH = 3,
	CLI_EXIT_FAIL = 4
};

enum cli_cmd {
	CLI_CMD_NONE,
	CLI_CMD_HELP,
	CLI_CMD_VERSION,
	CLI_CMD_PUT,
	CLI_CMD_GET,
	CLI_CMD_RM,
	CLI_CMD_ANNOUNCE,
	CLI_CMD_PEERS,
	CLI_CMD_STATUS,
	CLI_CMD_ROUTES,
	CLI_CMD_MEMBERS,
	CLI_CMD_ID, /* the daemon's ID, or with a DIR the stored one */
	CLI_CMD_KEYGEN
};

struct cli_args {
	enum cli_cmd cmd;
	const char *api; /* HOST:PORT of hyphad's API */
	bool json, compact;
	unsigned timeout_s;
	const char *pos[2]; /* positional arguments after the command */
	size_t npos;
	uint64_t ttl_s; /* 0: the daemon's default */
	bool permanent;
	unsigned port; /* announce */
	const char *state; /* members --state: alive, suspect or down */
};

/*
 * Parse argv (argv[0] is the program name). env_api is $HYPHA_API or
 * NULL. Returns CLI_EXIT_OK with *a filled (pointers borrowed from argv),
 * or CLI_EXIT_USAGE with a one-line reason in err.
 */
int cli_parse_args(int argc, const char *const *argv, const char *env_api,
    struct cli_args *a, char *err, size_t errlen);

/* Print the usage text to f. */
void cli_usage(FILE *f);

/* The exit status for an HTTP status code: 2xx 0, 404 1, others 4. */
int cli_exit_for_status(int status);

/*
 * Run the tool: parse, dispatch, print results to out and one-line errors
 * to errf. Returns the exit status.
 */
int cli_run(int argc, const char *const *argv, FILE *out, FILE *errf);

/* Daemon commands (cmd.c); each returns an exit status. */
int cli_daemon_cmd(const struct cli_args *a, FILE *out, FILE *errf);

/* Local state-directory commands (local.c). */
int cli_keygen(const char *dir, FILE *out, FILE *errf);
int cli_local_id(const char *dir, FILE *out, FILE *errf);

/*
 * Decode standard base64 (with padding) from in. Returns 0 with *out
 * (malloc'd, owned by the caller) and *outlen, or -1 if in is malformed
 * or memory runs out.
 */
int cli_b64_decode(const char *in, unsigned char **out, size_t *outlen);

/* Copy s into buf for printing, replacing control bytes with '?'. */
const char *cli_sanitize(const char *s, char *buf, size_t buflen);

/* "1d02h03m", "4m05s", "17s": a short duration. */
void cli_fmt_duration(uint64_t s, char *buf, size_t buflen);

/*
 * Human-readable output of GET /v1/status (aligned "name  value" lines,
 * nested objects flattened with dots), GET /v1/routes and GET /v1/members
 * (tables; members sorted by state, alive first, then by ID). Strings
 * from the daemon are sanitized.
 */
void cli_print_status(const json_t *st, FILE *out);
void cli_print_routes(const json_t *routes, FILE *out);
void cli_print_members(const json_t *members, FILE *out);

#endif /* HYPHA_CLI_H */
