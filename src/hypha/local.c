/*
 * local.c: the commands that work on a state directory without a daemon.
 *
 * `keygen DIR` creates the node identity in DIR (refusing to overwrite
 * one) and prints its node ID; `id DIR` prints the ID of an existing one.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hypha.h"
#include "id.h"
#include "ident.h"
#include "hypha/cli.h"

static int
print_id(const struct hy_ident *ident, FILE *out)
{
	char hex[HY_ID_HEXLEN];

	hy_id_to_hex(hy_ident_id(ident), hex);
	fprintf(out, "%s\n", hex);
	return CLI_EXIT_OK;
}

static int
key_path(const char *dir, char *path, size_t len, FILE *errf)
{
	if ((size_t)snprintf(path, len, "%s/node.key", dir) >= len) {
		fprintf(errf, "hypha: %s: path too long\n", dir);
		return -1;
	}
	return 0;
}

int
cli_keygen(const char *dir, FILE *out, FILE *errf)
{
	struct hy_ident *ident = NULL;
	char path[4096], err[512];
	struct stat st;
	int rc, ret = CLI_EXIT_FAIL;

	if (key_path(dir, path, sizeof(path), errf) != 0)
		return CLI_EXIT_USAGE;
	if (stat(path, &st) == 0) {
		fprintf(errf, "hypha: %s exists already; not overwriting it\n",
		    path);
		return CLI_EXIT_FAIL;
	}
	err[0] = '\0';
	rc = hy_ident_load_or_create(&ident, dir, err, sizeof(err));
	if (rc != HY_OK) {
		fprintf(errf, "hypha: %s\n", err[0] ? err : hy_strerror(rc));
		goto out;
	}
	ret = print_id(ident, out);
out:
	hy_ident_free(ident);
	return ret;
}

int
cli_local_id(const char *dir, FILE *out, FILE *errf)
{
	struct hy_ident *ident = NULL;
	char path[4096], err[512];
	int rc, ret = CLI_EXIT_FAIL;

	if (key_path(dir, path, sizeof(path), errf) != 0)
		return CLI_EXIT_USAGE;
	err[0] = '\0';
	rc = hy_ident_load(&ident, path, err, sizeof(err));
	if (rc != HY_OK) {
		fprintf(errf, "hypha: %s\n", err[0] ? err : hy_strerror(rc));
		ret = rc == HY_ENOENT ? CLI_EXIT_NOTFOUND : CLI_EXIT_FAIL;
		goto out;
	}
	ret = print_id(ident, out);
out:
	hy_ident_free(ident);
	return ret;
}
