/*
 * fmt.c: output helpers for hypha: base64 decoding of values, sanitizing
 * strings that came from the network, and the human-readable renderings
 * of the daemon's status, routing table and member view.
 *
 * Human output is short and aligned; anything a script needs comes from
 * --json, so these renderings may change between versions.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypha/cli.h"

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
cli_b64_decode(const char *in, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(in), o = 0;
	unsigned char *buf;

	if (n % 4 != 0)
		return -1;
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[j] = b64_val(in[i + j])) < 0)
				goto bad;
		}
		buf[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			buf[o++] =
			    (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			buf[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}

const char *
cli_sanitize(const char *s, char *buf, size_t buflen)
{
	size_t i;

	if (buflen == 0)
		return "";
	for (i = 0; s[i] != '\0' && i + 1 < buflen; i++)
		buf[i] =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

void
cli_fmt_duration(uint64_t s, char *buf, size_t buflen)
{
	if (s >= 86400)
		snprintf(buf, buflen,
		    "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m", s / 86400,
		    s / 3600 % 24, s / 60 % 60);
	else if (s >= 3600)
		snprintf(buf, buflen,
		    "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600,
		    s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, buflen, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
		    s % 60);
	else
		snprintf(buf, buflen, "%" PRIu64 "s", s);
}

/* A scalar or an array of scalars as text; "" for anything else. */
static void
scalar_text(const json_t *v, char *buf, size_t len)
{
	char tmp[512];
	size_t i, off = 0;
	const json_t *e;

	buf[0] = '\0';
	switch (json_typeof(v)) {
	case JSON_STRING:
		cli_sanitize(json_string_value(v), buf, len);
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
		break;
	case JSON_NULL:
		snprintf(buf, len, "-");
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
		{
			if (json_is_object(e) || json_is_array(e))
				continue;
			scalar_text(e, tmp, sizeof(tmp));
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? ", " : "", tmp);
			if (off >= len)
				break;
		}
		if (json_array_size(v) == 0)
			snprintf(buf, len, "-");
		break;
	default:
		break;
	}
}

/* Longest dotted name among the members to print. */
static size_t
name_width(const json_t *obj, size_t prefix)
{
	const char *k;
	const json_t *v;
	size_t w = 0, n;

	json_object_foreach((json_t *)obj, k, v)
	{
		n = json_is_object(v) ? name_width(v, prefix + strlen(k) + 1)
		                      : prefix + strlen(k);
		if (n > w)
			w = n;
	}
	return w;
}

static void
print_flat(const json_t *obj, const char *prefix, int width, FILE *out)
{
	char name[256], val[2048], clean[256];
	const char *k;
	const json_t *v;

	json_object_foreach((json_t *)obj, k, v)
	{
		if ((size_t)snprintf(name, sizeof(name), "%s%s%s", prefix,
		        prefix[0] ? "." : "",
		        cli_sanitize(k, clean, sizeof(clean))) >= sizeof(name))
			continue; /* absurdly deep or long names */
		if (json_is_object(v)) {
			print_flat(v, name, width, out);
			continue;
		}
		if (strcmp(name, "uptime_s") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 0) {
			cli_fmt_duration((uint64_t)json_integer_value(v), val,
			    sizeof(val));
			snprintf(name, sizeof(name), "uptime");
		} else
			scalar_text(v, val, sizeof(val));
		fprintf(out, "%-*s  %s\n", width, name, val);
	}
}

void
cli_print_status(const json_t *st, FILE *out)
{
	if (!json_is_object(st))
		return;
	print_flat(st, "", (int)name_width(st, 0), out);
}

static const char *
member_text(const json_t *obj, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		snprintf(buf, len, "-");
	else
		scalar_text(v, buf, len);
	return buf;
}

void
cli_print_routes(const json_t *routes, FILE *out)
{
	const json_t *list = json_object_get(routes, "contacts"), *c;
	int wid = 2, waddr = 4, wst = 6;
	char b[4][256];
	size_t i;

	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, c)
	{
		int n;

		if ((n = (int)strlen(member_text(c, "id", b[0], 256))) > wid)
			wid = n;
		if ((n = (int)strlen(member_text(c, "addr", b[0], 256))) >
		    waddr)
			waddr = n;
		if ((n = (int)strlen(member_text(c, "status", b[0], 256))) >
		    wst)
			wst = n;
	}
	fprintf(out, "%-*s  %-*s  %-*s  %12s  %s\n", wid, "ID", waddr, "ADDR",
	    wst, "STATUS", "SEEN", "BUCKET");
	json_array_foreach(list, i, c)
	{
		const json_t *ms = json_object_get(c, "last_seen_ms_ago");
		char seen[32] = "-";

		if (json_is_integer(ms) && json_integer_value(ms) >= 0) {
			cli_fmt_duration((uint64_t)json_integer_value(ms) /
			        1000,
			    seen, sizeof(seen) - 4);
			strcat(seen, " ago");
		}
		fprintf(out, "%-*s  %-*s  %-*s  %12s  %s\n", wid,
		    member_text(c, "id", b[0], 256), waddr,
		    member_text(c, "addr", b[1], 256), wst,
		    member_text(c, "status", b[2], 256), seen,
		    member_text(c, "bucket", b[3], 256));
	}
}

/* Sort rank of a member state: alive, suspect, down, then anything else. */
static int
state_rank(const json_t *m)
{
	static const char *const order[] = { "alive", "suspect", "down" };
	const char *s = json_string_value(json_object_get(m, "state"));

	for (int i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, order[i]) == 0)
			return i;
	return 3;
}

static int
member_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a;
	const json_t *y = *(const json_t *const *)b;
	const char *ix = json_string_value(json_object_get(x, "id"));
	const char *iy = json_string_value(json_object_get(y, "id"));
	int rx = state_rank(x), ry = state_rank(y);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(ix != NULL ? ix : "", iy != NULL ? iy : "");
}

#define CLI_ID_PREFIX 16 /* hex digits of a member's ID in the table */

void
cli_print_members(const json_t *members, FILE *out)
{
	const json_t *list = json_object_get(members, "members");
	const json_t **v;
	int waddr = 4, wst = 7;
	char b[4][256];
	size_t i, n;

	if (!json_is_array(list))
		return;
	n = json_array_size(list);
	if ((v = malloc((n > 0 ? n : 1) * sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		int w;

		v[i] = json_array_get(list, i);
		if ((w = (int)strlen(member_text(v[i], "addr", b[0], 256))) >
		    waddr)
			waddr = w;
		if ((w = (int)strlen(member_text(v[i], "state", b[0], 256))) >
		    wst)
			wst = w;
	}
	qsort(v, n, sizeof(*v), member_cmp);
	fprintf(out, "%-*s  %-*s  %-*s  %9s  %s\n", CLI_ID_PREFIX, "ID", waddr,
	    "ADDR", wst, "STATE", "SINCE", "SEQ");
	for (i = 0; i < n; i++) {
		const json_t *ms = json_object_get(v[i], "since_ms");
		const json_t *seq = json_object_get(v[i], "seq");
		char since[32] = "-";

		if (json_is_integer(ms) && json_integer_value(ms) >= 0)
			cli_fmt_duration((uint64_t)json_integer_value(ms) /
			        1000,
			    since, sizeof(since));
		member_text(v[i], "id", b[0], 256);
		b[0][CLI_ID_PREFIX] = '\0';
		fprintf(out, "%-*s  %-*s  %-*s  %9s  %s\n", CLI_ID_PREFIX, b[0],
		    waddr, member_text(v[i], "addr", b[1], 256), wst,
		    member_text(v[i], "state", b[2], 256), since,
		    json_is_integer(seq) && json_integer_value(seq) == 0
		        ? "-" /* no signed self-record seen yet */
		        : member_text(v[i], "seq", b[3], 256));
	}
	free(v);
}
