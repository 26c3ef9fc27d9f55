/*
 * check_state.c: unit tests for src/state.c (saved contacts and puts, the
 * lock file). Every test works in its own directory under $TMPDIR (or
 * /tmp), removed by the fixture's teardown; nothing is written into the
 * source tree.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "state.h"
#include "testkeys.h"

static char tdir[4096];
static char cpath[4200], ppath[4200];
static char err[512];

static void
setup(void)
{
	test_mkdtemp(tdir, sizeof(tdir));
	snprintf(cpath, sizeof(cpath), "%s/contacts", tdir);
	snprintf(ppath, sizeof(ppath), "%s/puts", tdir);
	err[0] = '\0';
}

static void
teardown(void)
{
	test_rmtree(tdir);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* The whole file, malloc'd and NUL-terminated; *len its size. */
static char *
read_all(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void
make_contacts(struct hy_state_contact *c, size_t n)
{
	char a[64];

	memset(c, 0, n * sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < HY_ID_LEN; j++)
			c[i].id.b[j] = (uint8_t)(i * 31 + (size_t)j + 1);
		if (i % 2 == 0)
			snprintf(a, sizeof(a), "1.2.%zu.%zu:%zu", i / 256,
			    i % 256, 1000 + i);
		else
			snprintf(a, sizeof(a), "[2001:db8::%zx]:%zu", i,
			    2000 + i);
		ck_assert_int_eq(hy_addr_parse(&c[i].addr, a), HY_OK);
		c[i].last_reply_wall_ms =
		    i == 1 ? UINT64_MAX : 1700000000000u + i;
	}
}

/* Collects loaded contacts. */
struct got_contacts {
	struct hy_state_contact c[64];
	size_t n;
	int stop_at; /* return 7 at this index; -1 never */
};

static int
got_contact(const struct hy_state_contact *c, void *arg)
{
	struct got_contacts *g = arg;

	if ((int)g->n == g->stop_at)
		return 7;
	ck_assert_uint_lt(g->n, 64);
	g->c[g->n++] = *c;
	return 0;
}

static void
expect_contacts_corrupt(int want, size_t max, const char *where,
    const char *reason)
{
	struct got_contacts g = { .n = 0, .stop_at = -1 };

	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, max, err,
	                     sizeof(err)),
	    want);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_msg(strstr(err, where) != NULL, "message '%s' lacks '%s'",
	    err, where);
	ck_assert_msg(strstr(err, reason) != NULL, "message '%s' lacks '%s'",
	    err, reason);
}

START_TEST(test_state_contacts_roundtrip)
{
	struct hy_state_contact c[10];
	struct got_contacts g = { .n = 0, .stop_at = -1 };
	struct stat st;

	make_contacts(c, 10);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 10, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(stat(cpath, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 10);
	for (size_t i = 0; i < 10; i++) {
		ck_assert(hy_id_eq(&g.c[i].id, &c[i].id));
		ck_assert(hy_addr_eq(&g.c[i].addr, &c[i].addr));
		ck_assert_uint_eq(g.c[i].last_reply_wall_ms,
		    c[i].last_reply_wall_ms);
	}
}
END_TEST

/* The documented format, checked with OpenSSL's SHA-256 directly. */
START_TEST(test_state_contacts_format)
{
	struct hy_state_contact c[2];
	const char *want_lines[3];
	char line2[200], line3[200], *buf, *p, hex[65];
	unsigned char h[SHA256_DIGEST_LENGTH], tmp[SHA256_DIGEST_LENGTH + 200];
	size_t len, off = 0;

	memset(c, 0, sizeof(c));
	memset(c[0].id.b, 0xab, HY_ID_LEN);
	ck_assert_int_eq(hy_addr_parse(&c[0].addr, "1.2.3.4:5"), HY_OK);
	c[0].last_reply_wall_ms = 1700000000123ull;
	memset(c[1].id.b, 0x01, HY_ID_LEN);
	ck_assert_int_eq(hy_addr_parse(&c[1].addr, "[2606:4700::1]:6881"),
	    HY_OK);
	c[1].last_reply_wall_ms = 0;
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 2, err, sizeof(err)),
	    HY_OK);
	snprintf(line2, sizeof(line2), "%s 1.2.3.4:5 1700000000123\n",
	    "abababababababababababababababababababababababababababababababab");
	snprintf(line3, sizeof(line3), "%s [2606:4700::1]:6881 0\n",
	    "0101010101010101010101010101010101010101010101010101010101010101");
	want_lines[0] = "hypha-contacts 1\n";
	want_lines[1] = line2;
	want_lines[2] = line3;
	buf = read_all(cpath, &len);
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(want_lines[i]);

		ck_assert_msg(strncmp(buf + off, want_lines[i], l) == 0,
		    "line %d: got '%.*s'", i + 1, (int)l, buf + off);
		if (i == 0)
			SHA256((const unsigned char *)want_lines[0], l, h);
		else {
			memcpy(tmp, h, sizeof(h));
			memcpy(tmp + sizeof(h), want_lines[i], l);
			SHA256(tmp, sizeof(h) + l, h);
		}
		off += l;
	}
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	p = buf + off;
	ck_assert_int_eq(strncmp(p, "end 2 ", 6), 0);
	ck_assert_int_eq(strncmp(p + 6, hex, 64), 0);
	ck_assert_str_eq(p + 70, "\n");
	free(buf);
}
END_TEST

START_TEST(test_state_contacts_empty_and_missing)
{
	struct got_contacts g = { .n = 0, .stop_at = -1 };
	char sub[4300];

	/* missing file: no state, not an error */
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 0);
	/* missing directory: likewise */
	snprintf(sub, sizeof(sub), "%s/nope", tdir);
	ck_assert_int_eq(hy_state_load_contacts(sub, got_contact, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	/* saving into a missing directory fails cleanly */
	ck_assert_int_eq(hy_state_save_contacts(sub, NULL, 0, err, sizeof(err)),
	    HY_ENOENT);
	ck_assert_ptr_nonnull(strstr(err, sub));
	/* an empty table is a valid file */
	ck_assert_int_eq(hy_state_save_contacts(tdir, NULL, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 0);
}
END_TEST

START_TEST(test_state_contacts_replace_atomic)
{
	struct hy_state_contact c[10];
	struct got_contacts g = { .n = 0, .stop_at = -1 };
	char sub[4300];

	make_contacts(c, 10);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 10, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c + 5, 3, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 3);
	ck_assert(hy_id_eq(&g.c[0].id, &c[5].id));

	/* A save that fails at the rename (the target is a non-empty
	 * directory) leaves no temp file behind. */
	ck_assert_int_eq(unlink(cpath), 0);
	ck_assert_int_eq(mkdir(cpath, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/x", cpath);
	write_file(sub, "x", 1);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 10, err, sizeof(err)),
	    HY_EIO);
	ck_assert_msg(strstr(err, "rename") != NULL, "%s", err);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	/* and a directory where the file should be is refused on load */
	expect_contacts_corrupt(HY_ECORRUPT, 0, cpath, "not a regular file");

	/* invalid input: refused before anything is written */
	test_rmtree(cpath);
	memset(&c[3].addr, 0, sizeof(c[3].addr));
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 10, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "contact 3"));
	ck_assert_int_eq(test_count_entries(tdir), 0);
}
END_TEST

START_TEST(test_state_contacts_callback_stops)
{
	struct hy_state_contact c[5];
	struct got_contacts g = { .n = 0, .stop_at = 2 };

	make_contacts(c, 5);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 5, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 0, err,
	                     sizeof(err)),
	    7);
	ck_assert_uint_eq(g.n, 2);
}
END_TEST

/* Save 3 contacts, then replace the first occurrence of `from` with `to`. */
static void
save_and_edit(const char *from, const char *to)
{
	struct hy_state_contact c[3];
	char *buf, *p, *out;
	size_t len;

	make_contacts(c, 3);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 3, err, sizeof(err)),
	    HY_OK);
	buf = read_all(cpath, &len);
	p = strstr(buf, from);
	ck_assert_msg(p != NULL, "'%s' not in the file", from);
	out = malloc(len + strlen(to) + 1);
	memcpy(out, buf, (size_t)(p - buf));
	strcpy(out + (p - buf), to);
	strcat(out, p + strlen(from));
	write_file(cpath, out, strlen(out));
	free(out);
	free(buf);
}

START_TEST(test_state_contacts_corrupt_header)
{
	write_file(cpath, "hypha-contactz 1\nend 0 x\n", 25);
	expect_contacts_corrupt(HY_ECORRUPT, 0, ":1:", "bad header");
	ck_assert_ptr_nonnull(strstr(err, cpath));
	write_file(cpath, "", 0);
	expect_contacts_corrupt(HY_ECORRUPT, 0, ":1:", "empty file");
	/* a newer, well-formed version is not corruption */
	save_and_edit("hypha-contacts 1", "hypha-contacts 2");
	expect_contacts_corrupt(HY_EVERSION, 0, ":1:", "version 2");
}
END_TEST

START_TEST(test_state_contacts_corrupt_fields)
{
	/* bad hex in the ID of line 2 */
	save_and_edit("0102", "01x2");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:2:", "field 1 (id)");
	/* wrong field count */
	save_and_edit(" 1700000000000\n", " 1700000000000 9\n");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:2:", "4 fields");
	/* double space */
	save_and_edit(" 1700000000000\n", "  1700000000000\n");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:2:", "empty field");
	/* bad address */
	save_and_edit("1.2.0.0:1000", "1.2.0.300:1000");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:2:", "field 2");
	/* bad number: leading zero, sign, overflow */
	save_and_edit(" 1700000000000\n", " 01700000000000\n");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:2:", "field 3");
	save_and_edit(" 18446744073709551615\n", " 18446744073709551616\n");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:3:", "field 3");
	/* non-printable byte */
	save_and_edit("1.2.0.0", "1.2.0\t0");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:2:", "printable");
}
END_TEST

START_TEST(test_state_contacts_corrupt_line_too_long)
{
	char big[HY_STATE_CONTACT_LINE_MAX + 50];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	save_and_edit(" 1700000000002\n", big);
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:4:", "longer than");
}
END_TEST

START_TEST(test_state_contacts_corrupt_trailer)
{
	/* count mismatch */
	save_and_edit("end 3 ", "end 4 ");
	expect_contacts_corrupt(HY_ECORRUPT, 0,
	    "contacts:5:", "trailer counts 4 records, file has 3");
	/* checksum mismatch: a valid record, changed */
	save_and_edit(" 1700000000002\n", " 1700000000003\n");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:5:", "checksum");
	/* malformed trailer */
	save_and_edit("end 3 ", "end three ");
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:5:", "bad trailer");
	/* data after the trailer */
	{
		char *buf;
		size_t len;

		save_and_edit("end", "end");
		buf = read_all(cpath, &len);
		buf = realloc(buf, len + 8);
		memcpy(buf + len, "extra\n", 6);
		write_file(cpath, buf, len + 6);
		free(buf);
		expect_contacts_corrupt(HY_ECORRUPT, 0,
		    "contacts:6:", "after the trailer");
	}
}
END_TEST

START_TEST(test_state_contacts_corrupt_truncated)
{
	struct hy_state_contact c[3];
	char *buf;
	size_t len;

	make_contacts(c, 3);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 3, err, sizeof(err)),
	    HY_OK);
	buf = read_all(cpath, &len);
	/* every proper prefix of the file is refused */
	for (size_t cut = 0; cut < len; cut++) {
		struct got_contacts g = { .n = 0, .stop_at = -1 };
		int rc;

		write_file(cpath, buf, cut);
		rc = hy_state_load_contacts(tdir, got_contact, &g, 0, err,
		    sizeof(err));
		ck_assert_msg(rc == HY_ECORRUPT, "cut %zu: rc %d", cut, rc);
		ck_assert_uint_eq(g.n, 0);
		ck_assert_ptr_nonnull(strstr(err, cpath));
	}
	/* the cut at the end of the last record names truncation */
	write_file(cpath, buf, (size_t)(strstr(buf, "end ") - buf));
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:5:", "truncated");
	write_file(cpath, buf, len - 1);
	expect_contacts_corrupt(HY_ECORRUPT, 0, "contacts:5:", "truncated");
	free(buf);
}
END_TEST

START_TEST(test_state_contacts_too_many)
{
	struct hy_state_contact c[6];
	struct got_contacts g = { .n = 0, .stop_at = -1 };

	make_contacts(c, 6);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, 6, err, sizeof(err)),
	    HY_OK);
	expect_contacts_corrupt(HY_ECORRUPT, 5,
	    "contacts:7:", "more than 5 records");
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 6, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 6);
}
END_TEST

START_TEST(test_state_contacts_default_cap)
{
	struct hy_state_contact *c;
	struct got_contacts g = { .n = 0, .stop_at = 0 };
	size_t n = HY_STATE_MAX_CONTACTS + 1;

	c = calloc(n, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	make_contacts(c, n);
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, n, err, sizeof(err)),
	    HY_OK);
	expect_contacts_corrupt(HY_ECORRUPT, 0,
	    "contacts:4098:", "more than 4096 records");
	/* exactly the cap loads */
	ck_assert_int_eq(hy_state_save_contacts(tdir, c, n - 1, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_state_load_contacts(tdir, got_contact, &g, 0, err,
	                     sizeof(err)),
	    7);
	free(c);
}
END_TEST

/* --- puts --- */

struct got_puts {
	struct hy_state_put p[8];
	uint8_t *data[8];
	size_t n;
};

static int
got_put(const struct hy_state_put *p, void *arg)
{
	struct got_puts *g = arg;

	ck_assert_uint_lt(g->n, 8);
	g->p[g->n] = *p;
	g->data[g->n] = malloc(p->len + 1);
	if (p->len > 0)
		memcpy(g->data[g->n], p->data, p->len);
	g->p[g->n].data = g->data[g->n];
	g->n++;
	return 0;
}

static void
got_puts_free(struct got_puts *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->data[i]);
	g->n = 0;
}

static uint8_t bigdata[HY_STATE_DATA_MAX];

static void
make_puts(struct hy_state_put *p)
{
	static uint8_t bin[256];

	for (int i = 0; i < 256; i++)
		bin[i] = (uint8_t)i; /* NUL, newline, spaces, high bytes */
	for (size_t i = 0; i < sizeof(bigdata); i++)
		bigdata[i] = (uint8_t)(i * 7 + 3);
	memset(p, 0, 4 * sizeof(*p));
	for (int i = 0; i < 4; i++) {
		memset(p[i].key.b, 0x10 + i, HY_ID_LEN);
		p[i].ttl_s = 3600;
		p[i].flags = (uint32_t)i;
	}
	p[0].id = 1;
	p[0].data = bin;
	p[0].len = sizeof(bin);
	p[1].id = 0; /* empty value */
	p[1].ttl_s = HY_STORE_TTL_MAX_S;
	p[1].flags = UINT32_MAX;
	p[2].id = 99;
	p[2].data = bigdata;
	p[2].len = sizeof(bigdata);
	p[3].id = HY_STORE_MUTABLE_ID;
	p[3].is_mutable = true;
	p[3].data = (const uint8_t *)"mutable";
	p[3].len = 7;
	memset(p[3].mut.pub, 0x02, HY_PUBKEY_LEN);
	memcpy(p[3].mut.salt, "salt", 4);
	p[3].mut.salt_len = 4;
	p[3].mut.seq = 12345678901234ull;
	memset(p[3].mut.sig, 0xab, HY_SIG_LEN);
}

static void
expect_same_put(const struct hy_state_put *a, const struct hy_state_put *b)
{
	ck_assert(hy_id_eq(&a->key, &b->key));
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->len, b->len);
	if (a->len > 0)
		ck_assert_int_eq(memcmp(a->data, b->data, a->len), 0);
	ck_assert_uint_eq(a->ttl_s, b->ttl_s);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_int_eq(a->is_mutable, b->is_mutable);
	if (a->is_mutable) {
		ck_assert_int_eq(memcmp(a->mut.pub, b->mut.pub, HY_PUBKEY_LEN),
		    0);
		ck_assert_uint_eq(a->mut.salt_len, b->mut.salt_len);
		ck_assert_int_eq(memcmp(a->mut.salt, b->mut.salt,
		                     a->mut.salt_len),
		    0);
		ck_assert_uint_eq(a->mut.seq, b->mut.seq);
		ck_assert_int_eq(memcmp(a->mut.sig, b->mut.sig, HY_SIG_LEN), 0);
	}
}

START_TEST(test_state_puts_roundtrip)
{
	struct hy_state_put p[4];
	struct got_puts g = { .n = 0 };
	struct stat st;

	make_puts(p);
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 4, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(stat(ppath, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(hy_state_load_puts(tdir, got_put, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 4);
	for (int i = 0; i < 4; i++)
		expect_same_put(&p[i], &g.p[i]);
	got_puts_free(&g);

	/* mutable without salt; replacing the file */
	p[3].mut.salt_len = 0;
	ck_assert_int_eq(hy_state_save_puts(tdir, p + 3, 1, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_state_load_puts(tdir, got_put, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 1);
	expect_same_put(&p[3], &g.p[0]);
	got_puts_free(&g);
	ck_assert_int_eq(test_count_entries(tdir), 1);
}
END_TEST

/* A save that fails while writing (file size limit: EFBIG) keeps the old
 * file and leaves no temp file. */
START_TEST(test_state_puts_write_failure)
{
	struct hy_state_put p[4];
	struct got_puts g = { .n = 0 };
	struct rlimit old, small;
	void (*oldsig)(int);

	make_puts(p);
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 2, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 4096;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 4, err, sizeof(err)),
	    HY_EIO);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	ck_assert_msg(strstr(err, "write") != NULL && strstr(err, ppath), "%s",
	    err);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(hy_state_load_puts(tdir, got_put, &g, 0, err,
	                     sizeof(err)),
	    HY_OK);
	ck_assert_uint_eq(g.n, 2);
	got_puts_free(&g);
}
END_TEST

START_TEST(test_state_puts_invalid)
{
	struct hy_state_put p[4];

	make_puts(p);
	p[2].len = HY_STATE_DATA_MAX + 1;
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 4, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "put 2"));
	make_puts(p);
	p[0].ttl_s = 0;
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 4, err, sizeof(err)),
	    HY_EINVAL);
	make_puts(p);
	p[0].id = HY_STORE_MUTABLE_ID;
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 4, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_int_eq(test_count_entries(tdir), 0);
}
END_TEST

/* Write a puts file from a body of record lines, with a wrong chain. */
static void
expect_puts_corrupt(const char *body, const char *where, const char *reason)
{
	struct got_puts g = { .n = 0 };
	char buf[2048];

	snprintf(buf, sizeof(buf), "hypha-puts 1\n%send 1 %064d\n", body, 0);
	write_file(ppath, buf, strlen(buf));
	ck_assert_int_eq(hy_state_load_puts(tdir, got_put, &g, 0, err,
	                     sizeof(err)),
	    HY_ECORRUPT);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_msg(strstr(err, where) != NULL, "message '%s' lacks '%s'",
	    err, where);
	ck_assert_msg(strstr(err, reason) != NULL, "message '%s' lacks '%s'",
	    err, reason);
}

#define K64 "1111111111111111111111111111111111111111111111111111111111111111"

START_TEST(test_state_puts_corrupt)
{
	expect_puts_corrupt(K64 " 1 60 0 00ff p\n", "puts:3:", "checksum");
	expect_puts_corrupt(K64 " 1 60 0 0g p\n", "puts:2:", "field 5");
	expect_puts_corrupt(K64 " 1 60 0 0 p\n", "puts:2:", "field 5");
	expect_puts_corrupt(K64 " 1 0 0 00 p\n", "puts:2:", "field 3");
	expect_puts_corrupt(K64 " 1 604801 0 00 p\n", "puts:2:", "field 3");
	expect_puts_corrupt(K64 " 1 60 4294967296 00 p\n",
	    "puts:2:", "field 4");
	expect_puts_corrupt(K64 " 1 60 0 00 m\n", "puts:2:", "field 6");
	expect_puts_corrupt(K64 " 1 60 0 00\n", "puts:2:", "5 fields");
	expect_puts_corrupt(K64 " 18446744073709551615 60 0 00 p\n",
	    "puts:2:", "reserved");
	expect_puts_corrupt(K64 " 1 60 0 00 m 02 - 1 00 \n",
	    "puts:2:", "empty field");
	expect_puts_corrupt(K64 " 18446744073709551615 60 0 00 m 02 - 1 00\n",
	    "puts:2:", "fields 7-10");
	/* records before the bad one are not delivered either */
	expect_puts_corrupt(K64 " 1 60 0 00 p\n" K64 " 2 60 0 00 q\n",
	    "puts:3:", "field 6");
}
END_TEST

START_TEST(test_state_puts_line_too_long)
{
	struct got_puts g = { .n = 0 };
	size_t len = HY_STATE_PUT_LINE_MAX + 200;
	char *buf = malloc(len + 64);
	int n;

	n = snprintf(buf, len, "hypha-puts 1\n%s 1 60 0 ", K64);
	memset(buf + n, 'a', len - (size_t)n);
	memcpy(buf + len, " p\nend 1 0\n", 11);
	write_file(ppath, buf, len + 11);
	free(buf);
	ck_assert_int_eq(hy_state_load_puts(tdir, got_put, &g, 0, err,
	                     sizeof(err)),
	    HY_ECORRUPT);
	ck_assert_msg(strstr(err, "puts:2: line longer than") != NULL, "%s",
	    err);
}
END_TEST

START_TEST(test_state_puts_too_many)
{
	struct hy_state_put p[4];
	struct got_puts g = { .n = 0 };

	make_puts(p);
	ck_assert_int_eq(hy_state_save_puts(tdir, p, 4, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(hy_state_load_puts(tdir, got_put, &g, 3, err,
	                     sizeof(err)),
	    HY_ECORRUPT);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_msg(strstr(err, "puts:5: more than 3 records") != NULL, "%s",
	    err);
}
END_TEST

/* --- collect from a routing table --- */

START_TEST(test_state_collect_contacts)
{
	struct hy_rtable *rt = NULL;
	struct hy_state_contact out[8];
	struct hy_id self, id;
	struct hy_addr a;
	char s[32];
	size_t n;

	memset(&self, 0x80, sizeof(self));
	ck_assert_int_eq(hy_rtable_new(&rt, &self, NULL, 1000), HY_OK);
	for (int i = 0; i < 4; i++) {
		memset(&id, 0x01 + i, sizeof(id));
		snprintf(s, sizeof(s), "1.%d.0.1:4000", i + 1);
		ck_assert_int_eq(hy_addr_parse(&a, s), HY_OK);
		/* 0 and 2 replied at 1000 + i; 1 and 3 only queried us */
		ck_assert_int_ge(hy_rtable_heard(rt, &id, &a,
		                     i % 2 == 0 ? HY_RTABLE_REPLY
		                                : HY_RTABLE_QUERY,
		                     1000 + (uint64_t)i),
		    0);
	}
	n = hy_state_collect_contacts(rt, 5000, 1700000000000ull, out, 8);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		int which = out[i].id.b[0] - 1;

		ck_assert(which == 0 || which == 2);
		ck_assert_uint_eq(out[i].last_reply_wall_ms,
		    1700000000000ull - (5000 - 1000 - (uint64_t)which));
	}
	ck_assert_uint_eq(hy_state_collect_contacts(rt, 5000, 0, out, 1), 1);
	ck_assert_int_eq(hy_state_save_contacts(tdir, out, 1, err, sizeof(err)),
	    HY_OK);
	hy_rtable_free(rt);
}
END_TEST

/* --- lock --- */

START_TEST(test_state_lock_exclusive)
{
	int fd = -1, fd2 = -1, p[2];
	char buf[4300];
	pid_t child;
	int status;
	size_t len;
	char *txt;

	/* A child takes the lock and waits until told to go. */
	ck_assert_int_eq(pipe(p), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int lfd;
		char c;

		close(p[1]);
		if (hy_state_lock(tdir, &lfd, NULL, 0) != HY_OK)
			_exit(1);
		/* tell the parent: a marker file */
		snprintf(buf, sizeof(buf), "%s/ready", tdir);
		close(open(buf, O_WRONLY | O_CREAT, 0600));
		if (read(p[0], &c, 1) < 0)
			_exit(2);
		hy_state_unlock(lfd);
		_exit(0);
	}
	close(p[0]);
	snprintf(buf, sizeof(buf), "%s/ready", tdir);
	for (int i = 0; i < 1000 && access(buf, F_OK) != 0; i++)
		usleep(5000);
	ck_assert_int_eq(access(buf, F_OK), 0);

	ck_assert_int_eq(hy_state_lock(tdir, &fd, err, sizeof(err)), HY_EEXIST);
	ck_assert_int_eq(fd, -1);
	snprintf(buf, sizeof(buf), "pid %ld", (long)child);
	ck_assert_msg(strstr(err, buf) != NULL, "'%s' lacks '%s'", err, buf);
	ck_assert_ptr_nonnull(strstr(err, tdir));

	/* the child lets go: now we get it */
	close(p[1]);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(hy_state_lock(tdir, &fd, err, sizeof(err)), HY_OK);
	ck_assert_int_ge(fd, 0);
	snprintf(buf, sizeof(buf), "%s/lock", tdir);
	txt = read_all(buf, &len);
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	ck_assert_str_eq(txt, buf);
	free(txt);

	/* a second open in the same process is refused too */
	ck_assert_int_eq(hy_state_lock(tdir, &fd2, err, sizeof(err)),
	    HY_EEXIST);
	snprintf(buf, sizeof(buf), "pid %ld", (long)getpid());
	ck_assert_ptr_nonnull(strstr(err, buf));

	hy_state_unlock(fd);
	ck_assert_int_eq(hy_state_lock(tdir, &fd2, err, sizeof(err)), HY_OK);
	hy_state_unlock(fd2);
	hy_state_unlock(-1);
	ck_assert_int_eq(hy_state_lock(NULL, &fd2, err, sizeof(err)),
	    HY_EINVAL);
}
END_TEST

static Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_state_contacts_roundtrip);
	tcase_add_test(tc, test_state_contacts_format);
	tcase_add_test(tc, test_state_contacts_empty_and_missing);
	tcase_add_test(tc, test_state_contacts_replace_atomic);
	tcase_add_test(tc, test_state_contacts_callback_stops);
	tcase_add_test(tc, test_state_contacts_corrupt_header);
	tcase_add_test(tc, test_state_contacts_corrupt_fields);
	tcase_add_test(tc, test_state_contacts_corrupt_line_too_long);
	tcase_add_test(tc, test_state_contacts_corrupt_trailer);
	tcase_add_test(tc, test_state_contacts_corrupt_truncated);
	tcase_add_test(tc, test_state_contacts_too_many);
	tcase_add_test(tc, test_state_contacts_default_cap);
	tcase_add_test(tc, test_state_puts_roundtrip);
	tcase_add_test(tc, test_state_puts_write_failure);
	tcase_add_test(tc, test_state_puts_invalid);
	tcase_add_test(tc, test_state_puts_corrupt);
	tcase_add_test(tc, test_state_puts_line_too_long);
	tcase_add_test(tc, test_state_puts_too_many);
	tcase_add_test(tc, test_state_collect_contacts);
	tcase_add_test(tc, test_state_lock_exclusive);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
