/*
 * hypha: the command-line tool.
 *
 * Foundation stage: the local identity commands. `keygen DIR` creates the
 * node identity in a state directory (refusing to overwrite one) and prints
 * its node ID; `id DIR` prints the ID of an existing one. The daemon
 * commands (put, get, announce, ...) talk to hyphad's local API and arrive
 * with the daemon.
 *
 * Exit status: 0 success, 1 not found, 2 usage error, 4 other failure.
 * Errors go to stderr as one line.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hypha.h"
#include "id.h"
#include "ident.h"

enum { EXIT_OK = 0, EXIT_NOTFOUND = 1, EXIT_USAGE = 2, EXIT_OTHER = 4 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hypha keygen DIR   create a node identity in DIR, print "
	    "its ID\n"
	    "       hypha id DIR       print the node ID stored in DIR\n"
	    "       hypha --version\n");
}

static int
print_id(const struct hy_ident *ident)
{
	char hex[HY_ID_HEXLEN];

	hy_id_to_hex(hy_ident_id(ident), hex);
	printf("%s\n", hex);
	return EXIT_OK;
}

static int
cmd_keygen(const char *dir)
{
	struct hy_ident *ident = NULL;
	char path[4096], err[512];
	struct stat st;
	int rc, ret = EXIT_OTHER;

	if ((size_t)snprintf(path, sizeof(path), "%s/node.key", dir) >=
	    sizeof(path)) {
		fprintf(stderr, "hypha: %s: path too long\n", dir);
		return EXIT_USAGE;
	}
	if (stat(path, &st) == 0) {
		fprintf(stderr,
		    "hypha: %s exists already; not overwriting it\n", path);
		return EXIT_OTHER;
	}
	rc = hy_ident_load_or_create(&ident, dir, err, sizeof(err));
	if (rc != HY_OK) {
		fprintf(stderr, "hypha: %s\n", err[0] ? err : hy_strerror(rc));
		goto out;
	}
	ret = print_id(ident);
out:
	hy_ident_free(ident);
	return ret;
}

static int
cmd_id(const char *dir)
{
	struct hy_ident *ident = NULL;
	char path[4096], err[512];
	int rc, ret = EXIT_OTHER;

	if ((size_t)snprintf(path, sizeof(path), "%s/node.key", dir) >=
	    sizeof(path)) {
		fprintf(stderr, "hypha: %s: path too long\n", dir);
		return EXIT_USAGE;
	}
	err[0] = '\0';
	rc = hy_ident_load(&ident, path, err, sizeof(err));
	if (rc != HY_OK) {
		fprintf(stderr, "hypha: %s\n", err[0] ? err : hy_strerror(rc));
		ret = rc == HY_ENOENT ? EXIT_NOTFOUND : EXIT_OTHER;
		goto out;
	}
	ret = print_id(ident);
out:
	hy_ident_free(ident);
	return ret;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("hypha %s\n", hy_version());
		return EXIT_OK;
	}
	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argv[2]);
	if (argc == 3 && strcmp(argv[1], "id") == 0)
		return cmd_id(argv[2]);
	usage(stderr);
	return EXIT_USAGE;
}
