/*
 * cmd.c: dispatch, and the commands that talk to hyphad's local API.
 *
 * Each daemon command is one HTTP request (http.c) whose JSON answer is
 * either passed through (--json, --compact) or rendered briefly. The HTTP
 * status maps to the exit status: 2xx 0, 404 1, anything else 4; no
 * connection or no answer in time is 3. An error is one line on stderr,
 * with the daemon's "error" text when it sent one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypha.h"
#include "hypha/cli.h"
#include "hypha/http.h"

struct req {
	const char *method;
	char path[CLI_MAX_KEY * 3 + 64];
	const char *ctype;
	char *body; /* owned */
	size_t body_len;
};

/* Read stdin into a malloc'd buffer of at most CLI_MAX_VALUE bytes. */
static int
read_stdin(char **out, size_t *outlen, FILE *errf)
{
	char *buf = malloc(CLI_MAX_VALUE + 1);
	size_t n;

	if (buf == NULL) {
		fprintf(errf, "hypha: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	n = fread(buf, 1, CLI_MAX_VALUE + 1, stdin);
	if (ferror(stdin)) {
		fprintf(errf, "hypha: cannot read the value from stdin\n");
		free(buf);
		return CLI_EXIT_FAIL;
	}
	if (n > CLI_MAX_VALUE) {
		fprintf(errf, "hypha: value larger than %u bytes\n",
		    CLI_MAX_VALUE);
		free(buf);
		return CLI_EXIT_USAGE;
	}
	*out = buf;
	*outlen = n;
	return CLI_EXIT_OK;
}

static int
build_request(const struct cli_args *a, struct req *q, FILE *errf)
{
	const char *base = "/v1/values/";
	char *enc = NULL;
	int rc = CLI_EXIT_OK;
	size_t n;

	memset(q, 0, sizeof(*q));
	q->method = "GET";
	switch (a->cmd) {
	case CLI_CMD_STATUS:
	case CLI_CMD_ID:
		snprintf(q->path, sizeof(q->path), "/v1/status");
		return CLI_EXIT_OK;
	case CLI_CMD_ROUTES:
		snprintf(q->path, sizeof(q->path), "/v1/routes");
		return CLI_EXIT_OK;
	case CLI_CMD_MEMBERS:
		/* the state is one of three words (args.c): no encoding */
		snprintf(q->path, sizeof(q->path), "/v1/members%s%s",
		    a->state != NULL ? "?state=" : "",
		    a->state != NULL ? a->state : "");
		return CLI_EXIT_OK;
	case CLI_CMD_PUT:
		q->method = "PUT";
		q->ctype = "application/octet-stream";
		if (strcmp(a->pos[1], "-") == 0)
			rc = read_stdin(&q->body, &q->body_len, errf);
		else if ((n = strlen(a->pos[1])) > CLI_MAX_VALUE) {
			fprintf(errf, "hypha: value larger than %u bytes\n",
			    CLI_MAX_VALUE);
			rc = CLI_EXIT_USAGE;
		} else if ((q->body = strdup(a->pos[1])) != NULL)
			q->body_len = n;
		break;
	case CLI_CMD_RM:
		q->method = "DELETE";
		break;
	case CLI_CMD_ANNOUNCE:
		q->method = "POST";
		q->ctype = "application/json";
		if (asprintf(&q->body, "{\"port\":%u}", a->port) < 0)
			q->body = NULL;
		else
			q->body_len = strlen(q->body);
		base = "/v1/peers/";
		break;
	case CLI_CMD_PEERS:
		base = "/v1/peers/";
		break;
	default:
		break;
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	if ((enc = cli_url_encode(a->pos[0])) == NULL ||
	    (q->ctype != NULL && q->body == NULL)) {
		fprintf(errf, "hypha: out of memory\n");
		free(enc);
		return CLI_EXIT_FAIL;
	}
	n = (size_t)snprintf(q->path, sizeof(q->path), "%s%s", base, enc);
	if (a->cmd == CLI_CMD_PUT && a->ttl_s != 0)
		n += (size_t)snprintf(q->path + n, sizeof(q->path) - n,
		    "?ttl=%llu", (unsigned long long)a->ttl_s);
	if (a->cmd == CLI_CMD_PUT && a->permanent)
		snprintf(q->path + n, sizeof(q->path) - n, "%spermanent=1",
		    a->ttl_s != 0 ? "&" : "?");
	free(enc);
	return CLI_EXIT_OK;
}

/* One line on stderr for a non-2xx answer; returns the exit status. */
static int
report_error(const struct cli_args *a, int status, const json_t *root,
    FILE *errf)
{
	const char *msg = json_string_value(json_object_get(root, "error"));
	char clean[512], key[256];

	if (msg == NULL)
		msg = status == 404 ? "not found" : "request failed";
	cli_sanitize(msg, clean, sizeof(clean));
	if (a->npos > 0 && a->cmd != CLI_CMD_ID)
		fprintf(errf, "hypha: %s: %s (HTTP %d)\n",
		    cli_sanitize(a->pos[0], key, sizeof(key)), clean, status);
	else
		fprintf(errf, "hypha: %s (HTTP %d)\n", clean, status);
	return cli_exit_for_status(status);
}

static int
print_values(const json_t *root, FILE *out, FILE *errf)
{
	const json_t *vals = json_object_get(root, "values"), *v;
	size_t i;

	json_array_foreach(vals, i, v)
	{
		const char *text =
		    json_string_value(json_object_get(v, "data"));
		const char *b64 =
		    json_string_value(json_object_get(v, "data_b64"));
		unsigned char *raw;
		size_t len;

		if (text != NULL) {
			/* Text may hold U+0000 (JSON_ALLOW_NUL). */
			fwrite(text, 1,
			    json_string_length(json_object_get(v, "data")),
			    out);
			fputc('\n', out);
			continue;
		}
		if (b64 == NULL || cli_b64_decode(b64, &raw, &len) != 0) {
			fprintf(errf, "hypha: malformed value from hyphad\n");
			return CLI_EXIT_FAIL;
		}
		fwrite(raw, 1, len, out);
		free(raw);
	}
	return CLI_EXIT_OK;
}

static int
print_human(const struct cli_args *a, const json_t *root, FILE *out, FILE *errf)
{
	const json_t *v;
	char buf[512];
	size_t i;
	long long n = json_integer_value(json_object_get(root, "stored_on"));

	switch (a->cmd) {
	case CLI_CMD_PUT:
	case CLI_CMD_ANNOUNCE:
		fprintf(out, "%s on %lld node%s\n",
		    a->cmd == CLI_CMD_PUT ? "stored" : "announced", n,
		    n == 1 ? "" : "s");
		break;
	case CLI_CMD_RM:
		n = json_integer_value(json_object_get(root, "cancelled"));
		fprintf(out, "cancelled %lld put%s\n", n, n == 1 ? "" : "s");
		break;
	case CLI_CMD_GET:
		return print_values(root, out, errf);
	case CLI_CMD_PEERS:
		json_array_foreach(json_object_get(root, "peers"), i, v)
		    fprintf(out, "%s\n",
		        cli_sanitize(json_string_value(v) ? json_string_value(v)
		                                          : "?",
		            buf, sizeof(buf)));
		break;
	case CLI_CMD_STATUS:
		cli_print_status(root, out);
		break;
	case CLI_CMD_ROUTES:
		cli_print_routes(root, out);
		break;
	case CLI_CMD_MEMBERS:
		cli_print_members(root, out);
		break;
	case CLI_CMD_ID:
		if ((v = json_object_get(root, "id")) == NULL ||
		    !json_is_string(v)) {
			fprintf(errf, "hypha: hyphad sent no node ID\n");
			return CLI_EXIT_FAIL;
		}
		fprintf(out, "%s\n",
		    cli_sanitize(json_string_value(v), buf, sizeof(buf)));
		break;
	default:
		break;
	}
	return CLI_EXIT_OK;
}

int
cli_daemon_cmd(const struct cli_args *a, FILE *out, FILE *errf)
{
	struct cli_http_resp r = { 0 };
	struct req q;
	json_t *root = NULL;
	char err[512];
	int rc;

	if ((rc = build_request(a, &q, errf)) != CLI_EXIT_OK)
		goto out;
	rc = cli_http_request(a->api, q.method, q.path, q.ctype, q.body,
	    q.body_len, (int)a->timeout_s * 1000, &r, err, sizeof(err));
	if (rc != CLI_HTTP_OK) {
		fprintf(errf, "hypha: %s\n", err);
		rc = rc == CLI_HTTP_EUNREACH ? CLI_EXIT_UNREACH : CLI_EXIT_FAIL;
		goto out;
	}
	root = json_loadb(r.body, r.body_len, JSON_ALLOW_NUL, NULL);
	if (r.status < 200 || r.status >= 300) {
		rc = report_error(a, r.status, root, errf);
		goto out;
	}
	if (!json_is_object(root)) {
		fprintf(errf, "hypha: hyphad answered with invalid JSON\n");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	if (a->json) {
		json_dumpf(root, out,
		    JSON_PRESERVE_ORDER |
		        (a->compact ? JSON_COMPACT : JSON_INDENT(2)));
		fputc('\n', out);
		rc = CLI_EXIT_OK;
	} else
		rc = print_human(a, root, out, errf);
out:
	json_decref(root);
	free(r.body);
	free(q.body);
	return rc;
}

int
cli_run(int argc, const char *const *argv, FILE *out, FILE *errf)
{
	struct cli_args a;
	char err[512];
	int rc;

	rc = cli_parse_args(argc, argv, getenv("HYPHA_API"), &a, err,
	    sizeof(err));
	if (rc != CLI_EXIT_OK) {
		fprintf(errf, "hypha: %s\n", err);
		return rc;
	}
	switch (a.cmd) {
	case CLI_CMD_HELP:
		cli_usage(out);
		return CLI_EXIT_OK;
	case CLI_CMD_VERSION:
		fprintf(out, "hypha %s\n", hy_version());
		return CLI_EXIT_OK;
	case CLI_CMD_KEYGEN:
		return cli_keygen(a.pos[0], out, errf);
	case CLI_CMD_ID:
		if (a.npos == 1)
			return cli_local_id(a.pos[0], out, errf);
		return cli_daemon_cmd(&a, out, errf);
	default:
		return cli_daemon_cmd(&a, out, errf);
	}
}
