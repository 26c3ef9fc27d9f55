/*
 * hypha: the command-line tool.
 *
 * Talks to hyphad's local HTTP/JSON API (put, get, rm, announce, peers,
 * status, routes, members, id) and manages state directories locally
 * (keygen DIR, id DIR). See hypha(1). Everything but main() lives in testable
 * files: args.c (parsing), cmd.c (daemon commands), fmt.c (output helpers),
 * http.c (the HTTP client), local.c (state directories).
 *
 * Exit status: 0 success, 1 not found, 2 usage error, 3 daemon
 * unreachable, 4 other failure. Errors go to stderr as one line.
 */
#include "config.h"

#include <stdio.h>

#include "hypha/cli.h"

int
main(int argc, char **argv)
{
	int rc = cli_run(argc, (const char *const *)argv, stdout, stderr);

	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "hypha: cannot write the output\n");
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}
