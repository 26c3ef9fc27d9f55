/*
 * conffile.c: the daemon's settings, from the config file and the command
 * line (OpenSSH style: -t checks, -T prints the effective configuration in
 * config-file syntax).
 *
 * Config-file keys equal the long options without the dashes: one
 * "key value" per line, '#' starts a comment, blank lines are ignored.
 * Library options go to hy_config_set(), which validates them; the daemon
 * adds "api" and "api-public". The command line overrides the file: a key
 * given on the command line drops every file line with that key (so a
 * repeatable key such as "listen" is replaced, not appended to). File lines
 * are still all validated, so -t reports errors in lines that are
 * overridden.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "hyphad.h"

#define HYD_LINE_MAX 1024

int
hyd_conf_init(struct hyd_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->api, sizeof(c->api), "%s", HYD_DEFAULT_API);
	c->cfg = hy_config_new();
	return c->cfg != NULL ? 0 : -1;
}

void
hyd_conf_free(struct hyd_conf *c)
{
	hy_config_free(c->cfg);
	c->cfg = NULL;
}

/* Options of the daemon that take no value on the command line. */
int
hyd_conf_is_flag(const char *name)
{
	return strcmp(name, "api-public") == 0 ||
	    strcmp(name, "foreground") == 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* Parse ADDR:PORT (IPv4 or [IPv6]) of the API. */
static int
parse_api(const char *v, struct sockaddr_storage *ss)
{
	int len = (int)sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (strchr(v, ':') == NULL)
		return -1;
	if (evutil_parse_sockaddr_port(v, (struct sockaddr *)ss, &len) != 0)
		return -1;
	return 0;
}

/*
 * Set one option (daemon or library). Returns 0, or -1 with a one-line
 * reason in err (without the option's name in front).
 */
int
hyd_conf_set(struct hyd_conf *c, const char *name, const char *value, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	char lerr[256];
	size_t nl = strlen(name);

	if (strcmp(name, "api") == 0) {
		if (strlen(value) >= sizeof(c->api) ||
		    parse_api(value, &ss) != 0) {
			snprintf(err, errlen,
			    "'%.64s' is not ADDRESS:PORT (IPv4 or [IPv6])",
			    value);
			return -1;
		}
		snprintf(c->api, sizeof(c->api), "%s", value);
		return 0;
	}
	if (strcmp(name, "api-public") == 0) {
		if (parse_bool(value, &c->api_public) != 0) {
			snprintf(err, errlen, "'%.32s' is not yes or no",
			    value);
			return -1;
		}
		return 0;
	}
	if (strcmp(name, "foreground") == 0) {
		if (parse_bool(value, &c->foreground) != 0) {
			snprintf(err, errlen, "'%.32s' is not yes or no",
			    value);
			return -1;
		}
		return 0;
	}
	lerr[0] = '\0';
	if (hy_config_set(c->cfg, name, value, lerr, sizeof(lerr)) != 0) {
		const char *m = lerr;

		/* the library prefixes most reasons with the name */
		if (strncmp(m, name, nl) == 0 && m[nl] == ':' &&
		    m[nl + 1] == ' ')
			m += nl + 2;
		snprintf(err, errlen, "%s", m[0] != '\0' ? m : "invalid");
		return -1;
	}
	return 0;
}

/* Refuse an API address off the loopback unless api-public is set. */
int
hyd_conf_check_api(const struct hyd_conf *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int loop = 0;

	if (parse_api(c->api, &ss) != 0) {
		snprintf(err, errlen, "'%s' is not ADDRESS:PORT", c->api);
		return -1;
	}
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&ss;

		loop = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&ss;

		loop = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	}
	if (!loop && !c->api_public) {
		snprintf(err, errlen,
		    "%s is not a loopback address (the API has no "
		    "authentication; add api-public to allow it)",
		    c->api);
		return -1;
	}
	return 0;
}

int
hyd_optval_add(struct hyd_optval **list, const char *name, const char *value,
    int line)
{
	struct hyd_optval *o, **tail;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -1;
	o->name = strdup(name);
	o->value = strdup(value);
	o->line = line;
	if (o->name == NULL || o->value == NULL) {
		free(o->name);
		free(o->value);
		free(o);
		return -1;
	}
	for (tail = list; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = o;
	return 0;
}

void
hyd_optval_free(struct hyd_optval *list)
{
	while (list != NULL) {
		struct hyd_optval *next = list->next;

		free(list->name);
		free(list->value);
		free(list);
		list = next;
	}
}

/*
 * Read path into a list of (key, value, line). Syntax errors are printed
 * as "hyphad: FILE:LINE: reason"; returns 0 or -1.
 */
int
hyd_conf_read_file(const char *path, struct hyd_optval **out)
{
	char buf[HYD_LINE_MAX + 2];
	FILE *f;
	int lineno = 0, rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", HYD_NAME, path,
		    strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *p = buf, *key, *val, *end;
		size_t len = strlen(buf);

		lineno++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		else if (!feof(f)) {
			/* (a NUL byte also ends the string early) */
			fprintf(stderr,
			    "%s: %s:%d: line longer than %d bytes or with a "
			    "NUL byte\n",
			    HYD_NAME, path, lineno, HYD_LINE_MAX);
			goto out;
		}
		if ((end = strchr(p, '#')) != NULL)
			*end = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0')
			continue;
		key = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		val = p;
		if (*val == '\0') {
			fprintf(stderr, "%s: %s:%d: %s: missing value\n",
			    HYD_NAME, path, lineno, key);
			goto out;
		}
		if (hyd_optval_add(out, key, val, lineno) != 0) {
			fprintf(stderr, "%s: out of memory\n", HYD_NAME);
			goto out;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: read error\n", HYD_NAME, path);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

static int
on_cmdline(const struct hyd_optval *cmdline, const char *name)
{
	for (; cmdline != NULL; cmdline = cmdline->next)
		if (strcmp(cmdline->name, name) == 0)
			return 1;
	return 0;
}

/*
 * Apply the file's options (validated completely, on a scratch copy too),
 * then the command line's. Errors are printed; returns 0 or -1.
 */
int
hyd_conf_apply(struct hyd_conf *c, const struct hyd_optval *file,
    const struct hyd_optval *cmdline)
{
	struct hyd_conf scratch;
	const struct hyd_optval *o;
	char err[256];
	int rc = -1, api_line = 0;

	if (hyd_conf_init(&scratch) != 0) {
		fprintf(stderr, "%s: out of memory\n", HYD_NAME);
		return -1;
	}
	for (o = file; o != NULL; o = o->next) {
		if (hyd_conf_set(&scratch, o->name, o->value, err,
		        sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s:%d: %s: %s\n", HYD_NAME,
			    c->config_file, o->line, o->name, err);
			goto out;
		}
		if (on_cmdline(cmdline, o->name))
			continue;
		if (hyd_conf_set(c, o->name, o->value, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s:%d: %s: %s\n", HYD_NAME,
			    c->config_file, o->line, o->name, err);
			goto out;
		}
		if (strcmp(o->name, "api") == 0)
			api_line = o->line;
	}
	if (on_cmdline(cmdline, "api"))
		api_line = 0;
	for (o = cmdline; o != NULL; o = o->next)
		if (hyd_conf_set(c, o->name, o->value, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: --%s: %s\n", HYD_NAME, o->name,
			    err);
			goto out;
		}
	if (hyd_conf_check_api(c, err, sizeof(err)) != 0) {
		if (api_line > 0)
			fprintf(stderr, "%s: %s:%d: api: %s\n", HYD_NAME,
			    c->config_file, api_line, err);
		else
			fprintf(stderr, "%s: --api: %s\n", HYD_NAME, err);
		goto out;
	}
	rc = 0;
out:
	hyd_conf_free(&scratch);
	return rc;
}

static int
dump_one(const char *name, const char *value, void *arg)
{
	(void)arg;
	printf("%s %s\n", name, value);
	return 0;
}

/* -T: the effective configuration, re-readable as a config file. */
void
hyd_conf_dump(const struct hyd_conf *c)
{
	printf("# %s %s: effective configuration\n", HYD_NAME, hy_version());
	(void)hy_config_foreach(c->cfg, dump_one, NULL);
	printf("api %s\n", c->api);
	printf("api-public %s\n", c->api_public ? "yes" : "no");
}
