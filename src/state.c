/*
 * state.c: the node's state directory (L4): verified contacts and the
 * node's own permanent puts, saved atomically and loaded all-or-nothing,
 * and the lock file that keeps two daemons off one directory.
 *
 * File format (doc/STATE.md), line-oriented printable ASCII, one record per
 * line, fields separated by exactly one space, every line ending in '\n':
 *
 *   hypha-contacts 1                 header: kind and format version
 *   <id> <addr> <last_reply_wall_ms> one line per contact
 *   end <count> <chain>              trailer
 *
 *   hypha-puts 1
 *   <key> <id> <ttl_s> <flags> <data> p                        plain put
 *   <key> <id> <ttl_s> <flags> <data> m <pub> <salt> <seq> <sig>  mutable
 *   end <count> <chain>
 *
 * IDs, keys, data, pub, salt and sig are lowercase hex ("-" for empty data
 * or salt); addresses are "1.2.3.4:5" or "[::1]:5"; numbers are unsigned
 * decimal without leading zeros. count is the number of record lines.
 * chain is a SHA-256 hash chain over the lines before the trailer, each
 * with its newline: h = SHA-256(header line); h = SHA-256(h || line) for
 * every record line; chain = hex(h). A chain (rather than one hash of the
 * body) lets both sides stream a file through the one-shot hy_sha256v with
 * bounded memory, and still pins every byte and the order of the lines.
 *
 * Invariants: a file is replaced only by rename(2) of a complete, fsync'd
 * temp file in the same directory (so a crash leaves the old or the new
 * file), and no temp file survives a failed save. A load parses and checks
 * every line and the trailer before the first callback, never holds more
 * than max records and one line of at most the file's line cap, and never
 * sizes anything from a count read from the file.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "crypto.h"
#include "errbuf.h"
#include "state.h"

#define CONTACTS_HEADER "hypha-contacts"
#define PUTS_HEADER "hypha-puts"
#define FORMAT_VERSION 1
#define MAX_FIELDS 10
#define WBUF_SIZE 65536
#define RBUF_SIZE 65536
/* "end " + 20 digits + " " + 64 hex */
#define TRAILER_MAX 96

/* dir + "/" + name, malloc'd; NULL on allocation failure. */
static char *
path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%s/%s", dir, name);
	return p;
}

/* --- encoding helpers --- */

static const char hexdig[] = "0123456789abcdef";

static void
hex_encode(char *out, const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode lowercase hex s into out (cap bytes). Returns bytes or -1. */
static ssize_t
hex_decode(uint8_t *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(n / 2);
}

/* Exactly len bytes of hex, or "-" for none when len may be 0. */
static int
hex_field(uint8_t *out, size_t len, const char *s)
{
	return hex_decode(out, len, s) == (ssize_t)len ? 0 : -1;
}

/* Strict unsigned decimal: digits only, no leading zero, <= max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* h = SHA-256(h || line || '\n'); with first, h = SHA-256(line || '\n'). */
static int
chain_step(uint8_t h[HY_SHA256_LEN], bool first, const char *line, size_t len)
{
	struct hy_span v[3] = { { h, HY_SHA256_LEN }, { line, len },
		{ "\n", 1 } };

	return first ? hy_sha256v(v + 1, 2, h) : hy_sha256v(v, 3, h);
}

/* --- atomic writer --- */

struct writer {
	struct hy_afile f;
	const char *dir; /* borrowed, for messages */
	char *buf;
	size_t used;
	uint8_t chain[HY_SHA256_LEN];
	uint64_t records;
	const char *step; /* what failed, for the message */
};

static int
w_flush(struct writer *w)
{
	int rc = hy_afile_write(&w->f, w->buf, w->used);

	if (rc == HY_OK)
		w->used = 0;
	return rc;
}

static int
w_raw(struct writer *w, const char *s, size_t len)
{
	int rc;

	while (len > 0) {
		size_t k = WBUF_SIZE - w->used;

		if (k == 0) {
			if ((rc = w_flush(w)) != HY_OK)
				return rc;
			continue;
		}
		if (k > len)
			k = len;
		memcpy(w->buf + w->used, s, k);
		w->used += k;
		s += k;
		len -= k;
	}
	return HY_OK;
}

/* Append one line (without newline) and fold it into the chain. */
static int
w_line(struct writer *w, const char *line, size_t len, bool first)
{
	int rc;

	if (chain_step(w->chain, first, line, len) != HY_OK) {
		w->f.step = "hash";
		errno = 0;
		return HY_ECRYPTO;
	}
	if ((rc = w_raw(w, line, len)) != HY_OK ||
	    (rc = w_raw(w, "\n", 1)) != HY_OK)
		return rc;
	return HY_OK;
}

/* Create the temp file and write the header. */
static int
w_open(struct writer *w, const char *dir, const char *name, const char *header)
{
	char hdr[64], *path;
	int rc;

	memset(w, 0, sizeof(*w));
	w->f.fd = -1;
	w->f.step = "allocate";
	w->dir = dir;
	if ((w->buf = malloc(WBUF_SIZE)) == NULL ||
	    (path = path_join(dir, name)) == NULL)
		return HY_ENOMEM;
	rc = hy_afile_open(&w->f, path);
	free(path);
	if (rc != HY_OK)
		return rc == HY_EIO && errno == ENOENT ? HY_ENOENT : rc;
	snprintf(hdr, sizeof(hdr), "%s %d", header, FORMAT_VERSION);
	return w_line(w, hdr, strlen(hdr), true);
}

/* Write the trailer, then commit the file (afile.h). */
static int
w_commit(struct writer *w)
{
	char trailer[TRAILER_MAX], hex[2 * HY_SHA256_LEN + 1];
	int rc;

	hex_encode(hex, w->chain, HY_SHA256_LEN);
	snprintf(trailer, sizeof(trailer), "end %llu %s\n",
	    (unsigned long long)w->records, hex);
	if ((rc = w_raw(w, trailer, strlen(trailer))) != HY_OK ||
	    (rc = w_flush(w)) != HY_OK)
		return rc;
	return hy_afile_commit(&w->f);
}

/* Release everything; remove the temp file if it still exists. */
static void
w_close(struct writer *w, int rc, char *err, size_t errlen)
{
	int saved = errno;

	if (rc != HY_OK)
		hy_seterr(err, errlen, "%s: cannot save (%s): %s",
		    w->f.path != NULL ? w->f.path : w->dir, w->f.step,
		    saved != 0 ? strerror(saved) : hy_strerror(rc));
	hy_afile_close(&w->f);
	free(w->buf);
	errno = saved;
}

/* --- reader --- */

struct reader {
	const char *path;
	int fd;
	char *buf; /* RBUF_SIZE */
	size_t pos, end;
	bool eof;
	char *line; /* linemax + 1 */
	size_t linemax;
	uint64_t lineno;
	char *err;
	size_t errlen;
};

static int corrupt(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report "path:line: reason" and return HY_ECORRUPT. */
static int
corrupt(struct reader *r, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	hy_seterr(r->err, r->errlen, "%s:%llu: %s", r->path,
	    (unsigned long long)r->lineno, why);
	return HY_ECORRUPT;
}

/*
 * The next line into r->line (NUL-terminated, newline stripped). Returns 1
 * with *len set, 0 at a clean end of file, or an error (message set).
 */
static int
r_next(struct reader *r, size_t *len)
{
	size_t n = 0;

	r->lineno++;
	for (;;) {
		if (r->pos == r->end) {
			ssize_t got;

			if (r->eof)
				break;
			got = read(r->fd, r->buf, RBUF_SIZE);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				hy_seterr(r->err, r->errlen, "%s: read: %s",
				    r->path, strerror(errno));
				return HY_EIO;
			}
			r->pos = 0;
			r->end = (size_t)got;
			r->eof = got == 0;
			continue;
		}
		char c = r->buf[r->pos++];

		if (c == '\n') {
			r->line[n] = '\0';
			*len = n;
			return 1;
		}
		if (c < 0x20 || c > 0x7e)
			return corrupt(r, "byte 0x%02x is not printable ASCII",
			    (unsigned)(unsigned char)c);
		if (n == r->linemax)
			return corrupt(r, "line longer than %zu bytes",
			    r->linemax);
		r->line[n++] = c;
	}
	if (n > 0)
		return corrupt(r, "truncated: last line has no newline");
	return 0;
}

/*
 * Split s in place on single spaces into at most max fields. Returns the
 * field count, max + 1 when there are more, or -1 for an empty field.
 */
static int
split(char *s, char **f, int max)
{
	size_t len = strlen(s);
	int n = 0;

	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ' ||
	    strstr(s, "  ") != NULL)
		return -1;
	for (;;) {
		char *sp = strchr(s, ' ');

		if (n == max)
			return max + 1;
		f[n++] = s;
		if (sp == NULL)
			break;
		*sp = '\0';
		s = sp + 1;
	}
	return n;
}

/* What a loader decodes each record line into. */
struct loader {
	const char *kind; /* header word */
	size_t linemax;
	size_t max;
	/* parse fields into the record slot idx (array grown by caller) */
	int (*parse)(struct loader *l, struct reader *r, char **f, int nf,
	    size_t idx);
	void *recs;
	size_t recsize;
	size_t nrecs, caprecs;
};

/* Room for one more record, growing by doubling up to l->max. */
static int
grow(struct loader *l)
{
	size_t cap;
	void *p;

	if (l->nrecs < l->caprecs)
		return HY_OK;
	cap = l->caprecs == 0 ? 16 : 2 * l->caprecs;
	if (cap > l->max)
		cap = l->max;
	if ((p = realloc(l->recs, cap * l->recsize)) == NULL)
		return HY_ENOMEM;
	l->recs = p;
	l->caprecs = cap;
	return HY_OK;
}

/*
 * Read and check dir/name completely into l->recs. Returns HY_OK with
 * *present false when the file does not exist.
 */
static int
load_file(const char *dir, const char *name, struct loader *l, bool *present,
    char *err, size_t errlen)
{
	struct reader r;
	struct stat st;
	char *path = NULL, *f[MAX_FIELDS + 1];
	char hdr[64], hex[2 * HY_SHA256_LEN + 1];
	uint8_t chain[HY_SHA256_LEN];
	uint64_t count;
	size_t len;
	int nf, rc = HY_ENOMEM;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	r.err = err;
	r.errlen = errlen;
	r.linemax = l->linemax;
	*present = false;
	if ((path = path_join(dir, name)) == NULL ||
	    (r.buf = malloc(RBUF_SIZE)) == NULL ||
	    (r.line = malloc(l->linemax + 1)) == NULL)
		goto out;
	r.path = path;
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (r.fd < 0) {
		rc = errno == ENOENT ? HY_OK : HY_EIO;
		if (rc != HY_OK)
			hy_seterr(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
		goto out;
	}
	*present = true;
	rc = HY_EIO;
	if (fstat(r.fd, &st) != 0) {
		hy_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		hy_seterr(err, errlen, "%s: not a regular file", path);
		rc = HY_ECORRUPT;
		goto out;
	}
	/* header */
	if ((rc = r_next(&r, &len)) <= 0) {
		if (rc == 0)
			rc = corrupt(&r, "empty file, expected '%s %d'",
			    l->kind, FORMAT_VERSION);
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "%s %d", l->kind, FORMAT_VERSION);
	if (strcmp(r.line, hdr) != 0) {
		size_t kl = strlen(l->kind);
		uint64_t v;

		if (strncmp(r.line, l->kind, kl) == 0 && r.line[kl] == ' ' &&
		    parse_u64(r.line + kl + 1, UINT32_MAX, &v) == 0) {
			hy_seterr(err, errlen,
			    "%s:1: format version %llu, this build reads %d",
			    path, (unsigned long long)v, FORMAT_VERSION);
			rc = HY_EVERSION;
		} else
			rc = corrupt(&r, "bad header, expected '%s'", hdr);
		goto out;
	}
	if (chain_step(chain, true, r.line, len) != HY_OK) {
		rc = HY_ECRYPTO;
		goto out;
	}
	/* records, up to the trailer */
	for (;;) {
		if ((rc = r_next(&r, &len)) <= 0) {
			if (rc == 0)
				rc = corrupt(&r,
				    "truncated: end of file before the "
				    "trailer");
			goto out;
		}
		if (strncmp(r.line, "end ", 4) == 0)
			break;
		if (l->nrecs == l->max) {
			rc = corrupt(&r, "more than %zu records", l->max);
			goto out;
		}
		if (chain_step(chain, false, r.line, len) != HY_OK) {
			rc = HY_ECRYPTO;
			goto out;
		}
		if ((nf = split(r.line, f, MAX_FIELDS)) < 0) {
			rc = corrupt(&r, "empty field (two spaces in a row?)");
			goto out;
		}
		if ((rc = grow(l)) != HY_OK ||
		    (rc = l->parse(l, &r, f, nf, l->nrecs)) != HY_OK)
			goto out;
		l->nrecs++;
	}
	/* trailer */
	if (split(r.line, f, MAX_FIELDS) != 3 ||
	    parse_u64(f[1], UINT64_MAX, &count) != 0 ||
	    strlen(f[2]) != 2 * HY_SHA256_LEN) {
		rc =
		    corrupt(&r, "bad trailer, expected 'end <count> <sha256>'");
		goto out;
	}
	if (count != l->nrecs) {
		rc = corrupt(&r, "trailer counts %llu records, file has %zu",
		    (unsigned long long)count, l->nrecs);
		goto out;
	}
	hex_encode(hex, chain, HY_SHA256_LEN);
	if (strcmp(hex, f[2]) != 0) {
		rc = corrupt(&r, "checksum mismatch: contents damaged");
		goto out;
	}
	if ((rc = r_next(&r, &len)) != 0) {
		if (rc == 1)
			rc = corrupt(&r, "data after the trailer");
		goto out;
	}
	rc = HY_OK;
out:
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	free(r.line);
	free(path);
	return rc;
}

/* --- contacts --- */

static int
parse_contact(struct loader *l, struct reader *r, char **f, int nf, size_t idx)
{
	struct hy_state_contact *c = (struct hy_state_contact *)l->recs + idx;
	uint64_t t;

	if (nf != 3)
		return corrupt(r, "%d fields, expected 3 (id addr time)", nf);
	if (hex_field(c->id.b, HY_ID_LEN, f[0]) != 0)
		return corrupt(r, "field 1 (id): expected %d hex digits",
		    2 * HY_ID_LEN);
	if (hy_id_is_zero(&c->id))
		return corrupt(r, "field 1 (id): zero ID");
	if (hy_addr_parse(&c->addr, f[1]) != HY_OK || c->addr.port == 0)
		return corrupt(r, "field 2 (addr): not an IP address and port");
	if (parse_u64(f[2], UINT64_MAX, &t) != 0)
		return corrupt(r, "field 3 (time): not a decimal number");
	c->last_reply_wall_ms = t;
	return HY_OK;
}

int
hy_state_save_contacts(const char *dir, const struct hy_state_contact *c,
    size_t n, char *err, size_t errlen)
{
	struct writer w;
	char line[HY_STATE_CONTACT_LINE_MAX + 1], id[HY_ID_HEXLEN];
	char addr[HY_ADDR_STRLEN];
	int rc;

	hy_seterr(err, errlen, "%s", "");
	if (dir == NULL || dir[0] == '\0' || (c == NULL && n > 0)) {
		hy_seterr(err, errlen,
		    "no state directory or no contacts given");
		return HY_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (c[i].addr.family == 0 || c[i].addr.port == 0 ||
		    hy_id_is_zero(&c[i].id)) {
			hy_seterr(err, errlen,
			    "contact %zu: zero ID, unset address or port 0", i);
			return HY_EINVAL;
		}
	}
	if ((rc = w_open(&w, dir, HY_STATE_CONTACTS_FILE, CONTACTS_HEADER)) !=
	    HY_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int len;

		hy_id_to_hex(&c[i].id, id);
		hy_addr_format(&c[i].addr, addr, sizeof(addr));
		len = snprintf(line, sizeof(line), "%s %s %llu", id, addr,
		    (unsigned long long)c[i].last_reply_wall_ms);
		if ((rc = w_line(&w, line, (size_t)len, false)) != HY_OK)
			goto out;
		w.records++;
	}
	rc = w_commit(&w);
out:
	w_close(&w, rc, err, errlen);
	return rc;
}

int
hy_state_load_contacts(const char *dir, hy_state_contact_cb *cb, void *arg,
    size_t max, char *err, size_t errlen)
{
	struct loader l;
	bool present;
	int rc;

	hy_seterr(err, errlen, "%s", "");
	if (dir == NULL || dir[0] == '\0' || cb == NULL) {
		hy_seterr(err, errlen, "no state directory or callback given");
		return HY_EINVAL;
	}
	memset(&l, 0, sizeof(l));
	l.kind = CONTACTS_HEADER;
	l.linemax = HY_STATE_CONTACT_LINE_MAX;
	l.max = max != 0 ? max : HY_STATE_MAX_CONTACTS;
	l.parse = parse_contact;
	l.recsize = sizeof(struct hy_state_contact);
	rc = load_file(dir, HY_STATE_CONTACTS_FILE, &l, &present, err, errlen);
	for (size_t i = 0; rc == HY_OK && i < l.nrecs; i++)
		rc = cb((struct hy_state_contact *)l.recs + i, arg);
	free(l.recs);
	return rc;
}

struct collect {
	const struct hy_rtable *rt;
	uint64_t mono, wall;
	struct hy_state_contact *out;
	size_t max, n;
};

static int
collect_one(const struct hy_rtable_contact *c, void *arg)
{
	struct collect *k = arg;
	uint64_t age;

	if (k->n == k->max)
		return 1;
	if ((c->flags & HY_RTABLE_F_REPLIED) == 0 ||
	    hy_rtable_status(k->rt, c, k->mono) == HY_RTABLE_BAD)
		return 0;
	age = k->mono >= c->last_reply_ms ? k->mono - c->last_reply_ms : 0;
	k->out[k->n].id = c->id;
	k->out[k->n].addr = c->addr;
	k->out[k->n].last_reply_wall_ms = k->wall >= age ? k->wall - age : 0;
	k->n++;
	return 0;
}

size_t
hy_state_collect_contacts(const struct hy_rtable *rt, uint64_t now_mono_ms,
    uint64_t now_wall_ms, struct hy_state_contact *out, size_t max)
{
	struct collect k = { rt, now_mono_ms, now_wall_ms, out, max, 0 };

	if (rt == NULL || out == NULL || max == 0)
		return 0;
	(void)hy_rtable_foreach(rt, collect_one, &k);
	return k.n;
}

/* --- puts --- */

/* Free the data buffers of the first n decoded puts. */
static void
free_puts(struct hy_state_put *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)(uintptr_t)p[i].data);
}

static int
parse_put(struct loader *l, struct reader *r, char **f, int nf, size_t idx)
{
	struct hy_state_put *p = (struct hy_state_put *)l->recs + idx;
	uint64_t v;
	uint8_t *data = NULL;
	ssize_t len;

	memset(p, 0, sizeof(*p));
	if (nf != 6 && nf != 10)
		return corrupt(r, "%d fields, expected 6 or 10", nf);
	if (hex_field(p->key.b, HY_ID_LEN, f[0]) != 0)
		return corrupt(r, "field 1 (key): expected %d hex digits",
		    2 * HY_ID_LEN);
	if (parse_u64(f[1], UINT64_MAX, &p->id) != 0)
		return corrupt(r, "field 2 (id): not a decimal number");
	if (parse_u64(f[2], HY_STORE_TTL_MAX_S, &v) != 0 ||
	    v < HY_STORE_TTL_MIN_S)
		return corrupt(r, "field 3 (ttl): not a TTL in %u..%u s",
		    HY_STORE_TTL_MIN_S, HY_STORE_TTL_MAX_S);
	p->ttl_s = (uint32_t)v;
	if (parse_u64(f[3], UINT32_MAX, &v) != 0)
		return corrupt(r, "field 4 (flags): not a 32-bit number");
	p->flags = (uint32_t)v;
	if (strcmp(f[5], "p") == 0 && nf == 6)
		p->is_mutable = false;
	else if (strcmp(f[5], "m") == 0 && nf == 10)
		p->is_mutable = true;
	else
		return corrupt(r,
		    "field 6 (kind): expected 'p' with 6 fields "
		    "or 'm' with 10");
	if (p->is_mutable != (p->id == HY_STORE_MUTABLE_ID))
		return corrupt(r, "field 2 (id): %s",
		    p->is_mutable ? "a mutable put needs the mutable id"
		                  : "reserved for mutable puts");
	if (strcmp(f[4], "-") != 0) {
		/* the line cap bounds this to HY_STATE_DATA_MAX + a little */
		size_t cap = strlen(f[4]) / 2;

		if (cap > HY_STATE_DATA_MAX)
			return corrupt(r,
			    "field 5 (data): longer than %d bytes",
			    HY_STATE_DATA_MAX);
		if ((data = malloc(cap > 0 ? cap : 1)) == NULL)
			return HY_ENOMEM;
		if ((len = hex_decode(data, cap, f[4])) <= 0) {
			free(data);
			return corrupt(r, "field 5 (data): bad hex");
		}
		p->data = data;
		p->len = (size_t)len;
	}
	if (!p->is_mutable)
		return HY_OK;
	if (hex_field(p->mut.pub, HY_PUBKEY_LEN, f[6]) != 0)
		goto bad_mut;
	if (strcmp(f[7], "-") != 0) {
		len = hex_decode(p->mut.salt, HY_STORE_SALT_MAX, f[7]);
		if (len <= 0)
			goto bad_mut;
		p->mut.salt_len = (size_t)len;
	}
	if (parse_u64(f[8], UINT64_MAX, &p->mut.seq) != 0 ||
	    hex_field(p->mut.sig, HY_SIG_LEN, f[9]) != 0)
		goto bad_mut;
	return HY_OK;
bad_mut:
	free(data);
	p->data = NULL;
	return corrupt(r, "fields 7-10 (pub salt seq sig): bad value");
}

/* Check a put before saving it. Returns NULL or the reason. */
static const char *
put_invalid(const struct hy_state_put *p)
{
	if (p->len > HY_STATE_DATA_MAX)
		return "data longer than HY_STATE_DATA_MAX";
	if (p->data == NULL && p->len > 0)
		return "NULL data";
	if (p->ttl_s < HY_STORE_TTL_MIN_S || p->ttl_s > HY_STORE_TTL_MAX_S)
		return "TTL out of range";
	if (p->is_mutable != (p->id == HY_STORE_MUTABLE_ID))
		return "value id does not match is_mutable";
	if (p->is_mutable && p->mut.salt_len > HY_STORE_SALT_MAX)
		return "salt too long";
	return NULL;
}

/* Format put p as a line into buf (HY_STATE_PUT_LINE_MAX + 1 bytes). */
static size_t
format_put(char *buf, const struct hy_state_put *p)
{
	char key[HY_ID_HEXLEN];
	size_t n;

	hy_id_to_hex(&p->key, key);
	n = (size_t)snprintf(buf, HY_STATE_PUT_LINE_MAX + 1, "%s %llu %u %u ",
	    key, (unsigned long long)p->id, (unsigned)p->ttl_s,
	    (unsigned)p->flags);
	if (p->len == 0)
		buf[n++] = '-';
	else {
		hex_encode(buf + n, p->data, p->len);
		n += 2 * p->len;
	}
	if (!p->is_mutable) {
		memcpy(buf + n, " p", 3);
		return n + 2;
	}
	memcpy(buf + n, " m ", 4);
	n += 3;
	hex_encode(buf + n, p->mut.pub, HY_PUBKEY_LEN);
	n += 2 * HY_PUBKEY_LEN;
	buf[n++] = ' ';
	if (p->mut.salt_len == 0)
		buf[n++] = '-';
	else {
		hex_encode(buf + n, p->mut.salt, p->mut.salt_len);
		n += 2 * p->mut.salt_len;
	}
	n += (size_t)snprintf(buf + n, HY_STATE_PUT_LINE_MAX + 1 - n, " %llu ",
	    (unsigned long long)p->mut.seq);
	hex_encode(buf + n, p->mut.sig, HY_SIG_LEN);
	return n + 2 * HY_SIG_LEN;
}

int
hy_state_save_puts(const char *dir, const struct hy_state_put *p, size_t n,
    char *err, size_t errlen)
{
	struct writer w;
	const char *why;
	char *line = NULL;
	int rc = HY_EINVAL;

	hy_seterr(err, errlen, "%s", "");
	memset(&w, 0, sizeof(w));
	w.f.fd = -1;
	if (dir == NULL || dir[0] == '\0' || (p == NULL && n > 0)) {
		hy_seterr(err, errlen, "no state directory or no puts given");
		return HY_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((why = put_invalid(&p[i])) != NULL) {
			hy_seterr(err, errlen, "put %zu: %s", i, why);
			return HY_EINVAL;
		}
	}
	if ((line = malloc(HY_STATE_PUT_LINE_MAX + 1)) == NULL) {
		hy_seterr(err, errlen, "%s", hy_strerror(HY_ENOMEM));
		return HY_ENOMEM;
	}
	if ((rc = w_open(&w, dir, HY_STATE_PUTS_FILE, PUTS_HEADER)) != HY_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t len = format_put(line, &p[i]);

		if ((rc = w_line(&w, line, len, false)) != HY_OK)
			goto out;
		w.records++;
	}
	rc = w_commit(&w);
out:
	w_close(&w, rc, err, errlen);
	free(line);
	return rc;
}

int
hy_state_load_puts(const char *dir, hy_state_put_cb *cb, void *arg, size_t max,
    char *err, size_t errlen)
{
	struct loader l;
	bool present;
	int rc;

	hy_seterr(err, errlen, "%s", "");
	if (dir == NULL || dir[0] == '\0' || cb == NULL) {
		hy_seterr(err, errlen, "no state directory or callback given");
		return HY_EINVAL;
	}
	memset(&l, 0, sizeof(l));
	l.kind = PUTS_HEADER;
	l.linemax = HY_STATE_PUT_LINE_MAX;
	l.max = max != 0 ? max : HY_STATE_MAX_PUTS;
	l.parse = parse_put;
	l.recsize = sizeof(struct hy_state_put);
	rc = load_file(dir, HY_STATE_PUTS_FILE, &l, &present, err, errlen);
	for (size_t i = 0; rc == HY_OK && i < l.nrecs; i++)
		rc = cb((struct hy_state_put *)l.recs + i, arg);
	free_puts(l.recs, l.nrecs);
	free(l.recs);
	return rc;
}

/* --- lock --- */

int
hy_state_lock(const char *dir, int *fd_out, char *err, size_t errlen)
{
	char *path = NULL, pid[32];
	int fd = -1, rc = HY_EINVAL, len;

	hy_seterr(err, errlen, "%s", "");
	if (dir == NULL || dir[0] == '\0' || fd_out == NULL) {
		hy_seterr(err, errlen, "no state directory given");
		goto out;
	}
	rc = HY_ENOMEM;
	if ((path = path_join(dir, HY_STATE_LOCK_FILE)) == NULL)
		goto out;
	rc = HY_EIO;
	if ((fd = open(path,
	         O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600)) <
	    0) {
		hy_seterr(err, errlen, "%s: cannot open lock file: %s", path,
		    strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n;
		long holder = 0;

		if (errno != EWOULDBLOCK) {
			hy_seterr(err, errlen, "%s: cannot lock: %s", path,
			    strerror(errno));
			goto out;
		}
		rc = HY_EEXIST;
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		holder = strtol(pid, NULL, 10);
		if (holder > 0)
			hy_seterr(err, errlen,
			    "%s is in use by another process (pid %ld holds "
			    "%s)",
			    dir, holder, path);
		else
			hy_seterr(err, errlen,
			    "%s is in use by another process (%s is locked)",
			    dir, path);
		goto out;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		hy_seterr(err, errlen, "%s: cannot write our pid: %s", path,
		    strerror(errno));
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	rc = HY_OK;
out:
	if (fd >= 0)
		close(fd); /* also drops a lock we took */
	free(path);
	return rc;
}

void
hy_state_unlock(int fd)
{
	if (fd < 0)
		return;
	/* Clear the pid while we still hold the lock, so nobody reads a
	 * stale one; the file itself stays (unlinking races with openers). */
	(void)ftruncate(fd, 0);
	close(fd);
}
