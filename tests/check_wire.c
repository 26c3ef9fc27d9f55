/*
 * check_wire.c: tests for the wire codec (src/wire-*.c).
 *
 * - every message of proto/messages.def round-trips (filled with its
 *   minimum and maximum field values and counts): encode -> decode -> equal,
 *   and decode -> encode gives the same bytes;
 * - every golden vector of proto/vectors/MANIFEST (found through $HY_VECTORS)
 *   gives its expected result, valid ones re-encode byte-identically;
 * - every message in the table has a valid vector;
 * - the pre-scanner's limits hold exactly at their edges;
 * - the datagram frame and TLS framing helpers;
 * - a bounded, seeded mutation loop over the vectors never crashes and never
 *   accepts something that does not re-encode to an equal message.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "wire-scan.h"
#include "wire.h"

#define BUFSZ (256 * 1024)

static uint8_t pool[HY_VALUE_MAX];
static uint8_t encbuf[BUFSZ], encbuf2[BUFSZ];

/* ---- the vectors ---- */

struct vec {
	char name[64];
	char kind[16];
	char path[8];
	char expect[24];
	uint8_t *data;
	size_t len;
};

static struct vec *vecs;
static size_t nvecs;

static const char *
vec_dir(void)
{
	const char *d = getenv("HY_VECTORS");

	return d != NULL ? d : "../proto/vectors";
}

static uint8_t *
load_hex(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1024, n = 0;
	uint8_t *out = malloc(cap);
	char line[512];
	int hi = -1;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ck_assert(out != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		for (char *p = line; *p != '\0'; p++) {
			int v;

			if (*p >= '0' && *p <= '9')
				v = *p - '0';
			else if (*p >= 'a' && *p <= 'f')
				v = *p - 'a' + 10;
			else
				continue;
			if (hi < 0) {
				hi = v;
				continue;
			}
			if (n == cap) {
				cap *= 2;
				out = realloc(out, cap);
				ck_assert(out != NULL);
			}
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	fclose(f);
	ck_assert_msg(hi < 0, "%s: odd number of hex digits", path);
	*len = n;
	return out;
}

static void
vecs_load(void)
{
	char path[1024], line[256];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/MANIFEST", vec_dir());
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct vec v;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		memset(&v, 0, sizeof(v));
		ck_assert_msg(sscanf(line, "%63s %15s %7s %23s", v.name, v.kind,
				  v.path, v.expect) == 4,
		    "bad MANIFEST line: %s", line);
		snprintf(path, sizeof(path), "%s/%s.hex", vec_dir(), v.name);
		v.data = load_hex(path, &v.len);
		if (nvecs == cap) {
			cap = cap ? 2 * cap : 64;
			vecs = realloc(vecs, cap * sizeof(*vecs));
			ck_assert(vecs != NULL);
		}
		vecs[nvecs++] = v;
	}
	fclose(f);
	ck_assert_uint_gt(nvecs, 50);
}

static void
vecs_free(void)
{
	for (size_t i = 0; i < nvecs; i++)
		free(vecs[i].data);
	free(vecs);
	vecs = NULL;
	nvecs = 0;
}

static const struct {
	const char *name;
	int code;
} errnames[] = {
	{"HY_ETRUNC", HY_ETRUNC},
	{"HY_ETYPE", HY_ETYPE},
	{"HY_ETOOBIG", HY_ETOOBIG},
	{"HY_EDEPTH", HY_EDEPTH},
	{"HY_ETRAILING", HY_ETRAILING},
	{"HY_EUNKNOWN", HY_EUNKNOWN},
	{"HY_EVERSION", HY_EVERSION},
	{"HY_ERANGE", HY_ERANGE},
	{"HY_EMALFORMED", HY_EMALFORMED},
};

static int
expect_code(const char *s)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcmp(errnames[i].name, s) == 0)
			return errnames[i].code;
	ck_abort_msg("unknown expectation %s", s);
	return 0;
}

static enum hy_wire_path
path_of(const char *s)
{
	if (strcmp(s, "dgram") == 0)
		return HY_PATH_DGRAM;
	if (strcmp(s, "dtls") == 0)
		return HY_PATH_DTLS;
	ck_assert_str_eq(s, "tls");
	return HY_PATH_TLS;
}

static void
setup(void)
{
	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)(i * 31 + 7);
	vecs_load();
}

static void
teardown(void)
{
	vecs_free();
}

/* ---- filling a message from the table ---- */

static void
fill_id(struct hy_id *id, int seed)
{
	for (int i = 0; i < HY_ID_LEN; i++)
		id->b[i] = (uint8_t)(seed * 13 + i);
}

static void
fill_addr(struct hy_addr *a, int seed, int v6)
{
	memset(a, 0, sizeof(*a));
	a->family = v6 ? HY_AF_INET6 : HY_AF_INET;
	a->ip[0] = v6 ? 0x20 : 198;
	a->ip[1] = v6 ? 0x01 : 51;
	a->ip[3] = (uint8_t)seed;
	if (v6)
		a->ip[15] = (uint8_t)(seed + 1);
	a->port = (uint16_t)(1000 + seed);
}

static void
fill_contact(struct hy_contact *c, int seed, int v6)
{
	fill_id(&c->id, seed);
	fill_addr(&c->addr, seed, v6);
}

static void
fill_value(struct hy_value *v, int seed, int max)
{
	memset(v, 0, sizeof(*v));
	v->id = max ? UINT64_MAX - (uint64_t)seed : (uint64_t)seed;
	v->ttl_s = max ? HY_VALUE_TTL_MAX : 1;
	v->data.ptr = pool + seed;
	v->data.len = max ? HY_VALUE_DGRAM_MAX : 0;
	v->flags = max ? UINT32_MAX : 0;
	v->is_mutable = max;
	if (max) {
		v->owner[0] = 0x03;
		memset(v->owner + 1, seed, HY_PUBKEY_LEN - 1);
		v->salt.ptr = pool;
		v->salt.len = HY_SALT_MAX;
		v->seq = UINT64_MAX;
		memset(v->sig, 0xee, HY_SIG_LEN);
	}
}

/* max = 1: every count, length and number at its maximum; 0: minimum. */
#define FILL_UINT(bd, f, a, b, max) (bd)->f = (max) ? (uint64_t)(b) : (a);
#define FILL_BOOL(bd, f, a, b, max) (bd)->f = (max);
#define FILL_ID(bd, f, a, b, max) fill_id(&(bd)->f, 3);
#define FILL_ADDR(bd, f, a, b, max) fill_addr(&(bd)->f, 4, (max));
#define FILL_CONTACT(bd, f, a, b, max) fill_contact(&(bd)->f, 5, (max));
#define FILL_BIN(bd, f, a, b, max)                                           \
	(bd)->f.ptr = pool;                                                   \
	(bd)->f.len = (max) ? (a) : 0;
#define FILL_STR(bd, f, a, b, max)                                           \
	(bd)->f.ptr = (const uint8_t *)utf8_128;                              \
	(bd)->f.len = (max) ? (a) : 0;
#define FILL_VALUE(bd, f, a, b, max) fill_value(&(bd)->f, 6, (max));
#define FILL_CONTACTS(bd, f, a, b, max)                                      \
	(bd)->n_##f = (max) ? (a) : 1;                                        \
	for (uint32_t i_ = 0; i_ < (bd)->n_##f; i_++)                         \
		fill_contact(&(bd)->f[i_], (int)i_, (int)(i_ & 1));
#define FILL_ADDRS(bd, f, a, b, max)                                         \
	(bd)->n_##f = (max) ? (a) : 1;                                        \
	for (uint32_t i_ = 0; i_ < (bd)->n_##f; i_++)                         \
		fill_addr(&(bd)->f[i_], (int)i_, (int)(i_ & 1));
#define FILL_VALUES(bd, f, a, b, max)                                        \
	(bd)->n_##f = (max) ? (a) : 1;                                        \
	for (uint32_t i_ = 0; i_ < (bd)->n_##f; i_++)                         \
		fill_value(&(bd)->f[i_], (int)i_, (max));

/* 64 two-byte characters: 128 bytes of valid UTF-8. */
static const char utf8_128[] =
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";

static const unsigned all_types[] = {
#define HY_MSG(code, N, n, kind, peer) code,
#define HY_FIELD(n, f, T, a, b)
#define HY_MSG_END(n)
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

static void
fill_gossip(struct hy_msg *m, int max)
{
	m->n_gossip = max ? HY_GOSSIP_MAX : 0;
	for (uint32_t i = 0; i < m->n_gossip; i++) {
		struct hy_gossip *g = &m->gossip[i];

		memset(g, 0, sizeof(*g));
		if (i & 1) {
			g->kind = HY_GOSSIP_SUSPECT;
			fill_id(&g->u.suspect.id, (int)i);
			g->u.suspect.seq = UINT64_MAX;
			g->u.suspect.age_ms = UINT32_MAX;
		} else {
			g->kind = HY_GOSSIP_RECORD;
			fill_id(&g->u.record.id, (int)i);
			g->u.record.pubkey[0] = 0x02;
			g->u.record.seq = i;
			g->u.record.n_addrs = HY_RECORD_ADDRS_MAX;
			for (int k = 0; k < HY_RECORD_ADDRS_MAX; k++)
				fill_addr(&g->u.record.addrs[k], k, k & 1);
			g->u.record.ts_ms = 1700000000000ULL;
			memset(g->u.record.sig, 0x42, HY_SIG_LEN);
		}
	}
}

static void
fill_msg(struct hy_msg *m, unsigned type, int max)
{
	struct hy_id sender;

	fill_id(&sender, 99);
	ck_assert_int_eq(hy_msg_init(m, type,
			     max ? "n23456789012345678901234567890AB" : "x",
			     max ? UINT32_MAX : 0, &sender),
	    HY_OK);
	switch (type) {
#define HY_MSG(code, N, n, kind, peer)                                       \
	case code: {                                                          \
		struct hy_body_##n *bd = &m->body.n;                          \
		(void)bd;
#define HY_FIELD(n, f, T, a, b) FILL_##T(bd, f, a, b, max)
#define HY_MSG_END(n)                                                        \
	break;                                                                \
	}
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END
	default:
		ck_abort_msg("type %u", type);
	}
	fill_gossip(m, max);
}

/* encode -> decode -> equal -> encode -> same bytes */
static void
roundtrip(const struct hy_msg *m, enum hy_wire_path path)
{
	static struct hy_msg d;
	size_t len, len2;
	int rc;

	rc = hy_msg_encode(m, path, encbuf, sizeof(encbuf), &len);
	ck_assert_msg(rc == HY_OK, "%s path %d: encode: %s",
	    hy_msg_type_name(m->type), path, hy_strerror(rc));
	rc = hy_msg_decode(&d, encbuf, len, path);
	ck_assert_msg(rc == HY_OK, "%s path %d: decode: %s",
	    hy_msg_type_name(m->type), path, hy_strerror(rc));
	ck_assert_msg(hy_msg_equal(m, &d), "%s: decoded message differs",
	    hy_msg_type_name(m->type));
	ck_assert(d.env_valid);
	rc = hy_msg_encode(&d, path, encbuf2, sizeof(encbuf2), &len2);
	ck_assert_int_eq(rc, HY_OK);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(encbuf, encbuf2, len);
}

START_TEST(test_wire_roundtrip_min)
{
	static struct hy_msg m;

	for (size_t i = 0; i < NTYPES; i++) {
		fill_msg(&m, all_types[i], 0);
		roundtrip(&m, HY_PATH_DGRAM);
		roundtrip(&m, HY_PATH_DTLS);
		roundtrip(&m, HY_PATH_TLS);
	}
}
END_TEST

START_TEST(test_wire_roundtrip_max)
{
	static struct hy_msg m;

	for (size_t i = 0; i < NTYPES; i++) {
		fill_msg(&m, all_types[i], 1);
		roundtrip(&m, HY_PATH_TLS);
	}
}
END_TEST

START_TEST(test_wire_table_has_vectors)
{
	for (size_t i = 0; i < NTYPES; i++) {
		char want[80];
		const char *name = hy_msg_type_name(all_types[i]);
		bool found = false;
		size_t k;

		ck_assert_ptr_nonnull(name);
		snprintf(want, sizeof(want), "msg_");
		for (k = 0; name[k] != '\0' && k < 70; k++)
			want[4 + k] = (char)(name[k] >= 'A' && name[k] <= 'Z'
				? name[k] - 'A' + 'a'
				: name[k]);
		want[4 + k] = '\0';
		for (k = 0; k < nvecs; k++)
			if (strcmp(vecs[k].name, want) == 0 &&
			    strcmp(vecs[k].expect, "ok") == 0)
				found = true;
		ck_assert_msg(found, "no valid vector %s", want);
	}
}
END_TEST

static void
check_msg_vec(const struct vec *v)
{
	static struct hy_msg m, m2;
	enum hy_wire_path path = path_of(v->path);
	size_t len;
	int rc;

	rc = hy_msg_decode(&m, v->data, v->len, path);
	if (strcmp(v->expect, "ok") != 0 && strcmp(v->expect, "accept") != 0) {
		ck_assert_msg(rc == expect_code(v->expect),
		    "%s: got %d (%s), want %s", v->name, rc, hy_strerror(rc),
		    v->expect);
		return;
	}
	ck_assert_msg(rc == HY_OK, "%s: %s", v->name, hy_strerror(rc));
	rc = hy_msg_encode(&m, path, encbuf, sizeof(encbuf), &len);
	ck_assert_msg(rc == HY_OK, "%s: re-encode: %s", v->name,
	    hy_strerror(rc));
	if (strcmp(v->expect, "ok") == 0) {
		ck_assert_msg(len == v->len && memcmp(encbuf, v->data, len) == 0,
		    "%s: re-encoding differs", v->name);
	} else {
		ck_assert_msg(len != v->len || memcmp(encbuf, v->data, len),
		    "%s: 'accept' vector is canonical: mark it ok", v->name);
	}
	ck_assert_int_eq(hy_msg_decode(&m2, encbuf, len, path), HY_OK);
	ck_assert_msg(hy_msg_equal(&m, &m2), "%s: not equal", v->name);
}

static void
check_dgram_vec(const struct vec *v)
{
	static struct hy_msg m;
	struct hy_dgram d;
	size_t len;
	int rc;

	rc = hy_dgram_decode(&d, v->data, v->len);
	if (strcmp(v->expect, "ok") != 0) {
		ck_assert_msg(rc == expect_code(v->expect),
		    "%s: got %d (%s), want %s", v->name, rc, hy_strerror(rc),
		    v->expect);
		return;
	}
	ck_assert_msg(rc == HY_OK, "%s: %s", v->name, hy_strerror(rc));
	ck_assert_ptr_eq(d.signed_part.ptr, v->data);
	ck_assert_uint_eq(d.signed_part.len, v->len - 66);
	ck_assert_int_eq(hy_dgram_encode(&d, encbuf, sizeof(encbuf), &len),
	    HY_OK);
	ck_assert_uint_eq(len, v->len);
	ck_assert_mem_eq(encbuf, v->data, len);
	rc = hy_msg_decode(&m, d.payload.ptr, d.payload.len, HY_PATH_DGRAM);
	ck_assert_msg(rc == HY_OK, "%s: payload: %s", v->name,
	    hy_strerror(rc));
	if (hy_id_is_zero(&d.dst))
		ck_assert(hy_msg_anon_dst_ok(m.type));
}

static void
check_tls_vec(const struct vec *v)
{
	static struct hy_msg m;
	size_t flen = 0;
	int rc;

	rc = hy_tls_frame_check(v->data, v->len, HY_TLS_FRAME_MAX, &flen);
	if (strcmp(v->expect, "ok") != 0) {
		ck_assert_msg(rc == expect_code(v->expect), "%s: got %d",
		    v->name, rc);
		return;
	}
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(flen, v->len);
	/* every proper prefix asks for more bytes */
	for (size_t k = 0; k < v->len; k++)
		ck_assert_int_eq(
		    hy_tls_frame_check(v->data, k, HY_TLS_FRAME_MAX, &flen), 0);
	ck_assert_int_eq(hy_msg_decode(&m, v->data + 4, v->len - 4,
			     HY_PATH_TLS),
	    HY_OK);
}

START_TEST(test_wire_vectors)
{
	size_t nok = 0, nbad = 0;

	for (size_t i = 0; i < nvecs; i++) {
		const struct vec *v = &vecs[i];

		if (strcmp(v->kind, "msg") == 0)
			check_msg_vec(v);
		else if (strcmp(v->kind, "dgram") == 0)
			check_dgram_vec(v);
		else if (strcmp(v->kind, "tlsframe") == 0)
			check_tls_vec(v);
		else
			ck_abort_msg("%s: unknown kind %s", v->name, v->kind);
		if (strncmp(v->expect, "HY_", 3) == 0)
			nbad++;
		else
			nok++;
	}
	ck_assert_uint_gt(nok, NTYPES);
	ck_assert_uint_gt(nbad, 50);
}
END_TEST

/* ---- the pre-scanner at its edges ---- */

static size_t
nested(uint8_t *buf, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		buf[n++] = i == depth - 1 ? 0x90 : 0x91;
	return n;
}

START_TEST(test_wire_scan_limits)
{
	const struct hy_scan_limits *L = &hy_scan_limits_v1;
	struct hy_scan_result r;
	uint8_t buf[4096];
	size_t n;

	n = nested(buf, 6);
	ck_assert_int_eq(hy_scan(buf, n, L, &r), HY_OK);
	ck_assert_uint_eq(r.depth, 6);
	ck_assert_uint_eq(r.objects, 6);
	n = nested(buf, 7);
	ck_assert_int_eq(hy_scan(buf, n, L, &r), HY_EDEPTH);

	/* 1024 objects pass, 1025 do not: array of 16 arrays of 63/62 */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		buf[n++] = 0xdc, buf[n++] = 0, buf[n++] = 16;
		for (int i = 0; i < 16; i++) {
			int k = i == 15 ? 62 + extra : 63;

			buf[n++] = 0xdc, buf[n++] = 0, buf[n++] = (uint8_t)k;
			memset(buf + n, 0x01, (size_t)k);
			n += (size_t)k;
		}
		ck_assert_int_eq(hy_scan(buf, n, L, &r),
		    extra ? HY_ETOOBIG : HY_OK);
		if (!extra) {
			ck_assert_uint_eq(r.objects, 1024);
			ck_assert_uint_eq(r.depth, 2);
		}
	}

	/* claims bounded by bytes left, before anything else */
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xdc\x00\x03\x01\x01", 5, L,
			     NULL),
	    HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xdd\xff\xff\xff\xff", 5, L,
			     NULL),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc6\x00\x01\x00\x01", 5, L,
			     NULL),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc6\x00\x00\x01\x00", 5, L,
			     NULL),
	    HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xcf\x00", 2, L, NULL),
	    HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"", 0, L, NULL), HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x01\x01", 2, L, NULL),
	    HY_ETRAILING);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x80", 1, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc0", 1, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc1", 1, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xd4\x01\x00", 3, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xca\0\0\0\0", 5, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x92\xc2\xc3", 3, L, NULL),
	    HY_OK);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x91\x90", 2, L, NULL),
	    HY_OK);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x90\x90", 2, L, NULL),
	    HY_ETRAILING);

	/* other limits: maps, nil and floats when allowed */
	{
		struct hy_scan_limits l2 = *L;

		l2.max_map = 2;
		l2.allow_nil = true;
		l2.allow_float = true;
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x82\x01\xc0\x02"
							  "\xca\0\0\0\0",
				     9, &l2, &r),
		    HY_OK);
		ck_assert_uint_eq(r.objects, 5);
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x83\x01\x01\x01"
							  "\x01\x01\x01",
				     7, &l2, NULL),
		    HY_ETOOBIG);
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x82\x01\x01\x01",
				     4, &l2, NULL),
		    HY_ETRUNC);
		l2.max_depth = HY_SCAN_DEPTH_LIMIT + 1;
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x01", 1, &l2,
				     NULL),
		    HY_EINVAL);
	}
	{
		/* str at its cap and one over */
		uint8_t s[200];

		s[0] = 0xd9, s[1] = 128;
		memset(s + 2, 'a', 129);
		ck_assert_int_eq(hy_scan(s, 130, L, NULL), HY_OK);
		s[1] = 129;
		ck_assert_int_eq(hy_scan(s, 131, L, NULL), HY_ETOOBIG);
	}
}
END_TEST

/* ---- datagram frame ---- */

START_TEST(test_wire_dgram_frame)
{
	static struct hy_msg m, m2;
	uint8_t pkt[HY_DGRAM_MAX + 64], env[HY_DGRAM_MAX], sig[HY_SIG_LEN];
	uint8_t nonce[HY_NONCE_LEN], pub[HY_PUBKEY_LEN];
	struct hy_id dst, self;
	struct hy_dgram d;
	size_t elen, slen, tlen;

	fill_id(&self, 1);
	fill_id(&dst, 2);
	memset(nonce, 7, sizeof(nonce));
	memset(pub, 9, sizeof(pub));
	pub[0] = 0x03;
	memset(sig, 0xab, sizeof(sig));
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_FIND_NODE, "hypha", 42, &self),
	    HY_OK);
	fill_id(&m.body.find_node.target, 5);
	m.body.find_node.want = 3;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DGRAM, env, sizeof(env),
			     &elen),
	    HY_OK);
	ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst,
			     1700000000000ULL, nonce, pub, env, elen, &slen),
	    HY_OK);
	ck_assert_uint_eq(pkt[0], 0x97);
	ck_assert_int_eq(hy_dgram_frame_finish(pkt, sizeof(pkt), slen, sig,
			     &tlen),
	    HY_OK);
	ck_assert_uint_eq(tlen, slen + 66);
	ck_assert_int_eq(hy_dgram_decode(&d, pkt, tlen), HY_OK);
	ck_assert(hy_id_eq(&d.dst, &dst));
	ck_assert_uint_eq(d.ts_ms, 1700000000000ULL);
	ck_assert_mem_eq(d.nonce, nonce, sizeof(nonce));
	ck_assert_mem_eq(d.pubkey, pub, sizeof(pub));
	ck_assert_mem_eq(d.sig, sig, sizeof(sig));
	ck_assert_ptr_eq(d.signed_part.ptr, pkt);
	ck_assert_uint_eq(d.signed_part.len, slen);
	ck_assert_uint_eq(d.payload.len, elen);
	ck_assert_mem_eq(d.payload.ptr, env, elen);
	ck_assert_int_eq(hy_msg_decode(&m2, d.payload.ptr, d.payload.len,
			     HY_PATH_DGRAM),
	    HY_OK);
	ck_assert(hy_msg_equal(&m, &m2));

	/* sizes: the biggest payload that fits, and one more byte */
	{
		static uint8_t big[HY_DGRAM_MAX];
		size_t max = HY_DGRAM_MAX - 1 - 1 - 34 - 9 - 18 - 35 - 3 - 66;

		ck_assert_uint_eq(max, HY_DGRAM_PAYLOAD_MAX);
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst,
				     UINT64_MAX, nonce, pub, big, max, &slen),
		    HY_OK);
		ck_assert_int_eq(hy_dgram_frame_finish(pkt, sizeof(pkt), slen,
				     sig, &tlen),
		    HY_OK);
		ck_assert_uint_eq(tlen, HY_DGRAM_MAX);
		ck_assert_int_eq(hy_dgram_decode(&d, pkt, tlen), HY_OK);
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst,
				     UINT64_MAX, nonce, pub, big, max + 1,
				     &slen),
		    HY_ETOOBIG);
		/* a small cap: begin refuses, finish never overflows */
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, 200, &dst, 1, nonce,
				     pub, big, 100, &slen),
		    HY_ETOOBIG);
		ck_assert_int_eq(hy_dgram_frame_finish(pkt, 100, 40, sig,
				     &tlen),
		    HY_ETOOBIG);
		pub[0] = 0x04;
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst, 1,
				     nonce, pub, big, 1, &slen),
		    HY_EINVAL);
		ck_assert_int_eq(hy_dgram_decode(&d, pkt, HY_DGRAM_MAX + 1),
		    HY_ETOOBIG);
	}
}
END_TEST

START_TEST(test_wire_tls_frame)
{
	uint8_t hdr[4], buf[8] = {0, 0, 0, 3, 1, 2, 3, 4};
	size_t fl = 0;

	ck_assert_int_eq(hy_tls_frame_header(hdr, 0x010203, HY_TLS_FRAME_MAX),
	    HY_OK);
	ck_assert_mem_eq(hdr, "\x00\x01\x02\x03", 4);
	ck_assert_int_eq(hy_tls_frame_header(hdr, 0, HY_TLS_FRAME_MAX),
	    HY_EINVAL);
	ck_assert_int_eq(hy_tls_frame_header(hdr, HY_TLS_FRAME_MAX + 1,
			     HY_TLS_FRAME_MAX),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_tls_frame_check(buf, 3, 100, &fl), 0);
	ck_assert_int_eq(hy_tls_frame_check(buf, 6, 100, &fl), 0);
	ck_assert_int_eq(hy_tls_frame_check(buf, 8, 100, &fl), 1);
	ck_assert_uint_eq(fl, 7);
	ck_assert_int_eq(hy_tls_frame_check(buf, 8, 2, &fl), HY_ETOOBIG);
}
END_TEST

/* ---- encoder bounds and checks ---- */

START_TEST(test_wire_encode_bounded)
{
	static struct hy_msg m;
	static uint8_t out[8192];
	size_t need, len, k;

	fill_msg(&m, HY_MSG_VALUES, 0);
	m.body.values.n_values = 3;
	for (int i = 0; i < 3; i++)
		fill_value(&m.body.values.values[i], i, 1);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, out, sizeof(out),
			     &need),
	    HY_OK);
	for (size_t cap = 0; cap < need; cap++) {
		memset(out, 0xcc, sizeof(out));
		len = 12345;
		ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, out, cap, &len),
		    HY_ETOOBIG);
		ck_assert_uint_eq(len, 12345);
		k = cap;
		while (k < sizeof(out) && out[k] == 0xcc)
			k++;
		ck_assert_msg(k == sizeof(out), "cap %zu: wrote byte %zu", cap,
		    k);
	}
	/* the same message is over the DTLS envelope cap */
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DTLS, out, sizeof(out),
			     &len),
	    HY_ETOOBIG);
}
END_TEST

START_TEST(test_wire_encode_rejects)
{
	static struct hy_msg m;
	struct hy_id id;
	size_t len;

	fill_id(&id, 1);
	ck_assert_int_eq(hy_msg_init(&m, 0x7e, "x", 1, &id), HY_EUNKNOWN);
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, "", 1, &id),
	    HY_EMALFORMED);
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, "a b", 1, &id),
	    HY_EMALFORMED);
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING,
			     "123456789012345678901234567890123", 1, &id),
	    HY_ETOOBIG);

	fill_msg(&m, HY_MSG_STORE, 0);
	m.body.store.value.ttl_s = 0;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_ERANGE);
	fill_msg(&m, HY_MSG_STORE, 0);
	m.body.store.value.data.ptr = pool;
	m.body.store.value.data.len = HY_VALUE_DGRAM_MAX + 1;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DTLS, encbuf, BUFSZ, &len),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_OK);
	fill_msg(&m, HY_MSG_NODES, 0);
	m.body.nodes.n_nodes = HY_NODES_MAX + 1;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_ETOOBIG);
	fill_msg(&m, HY_MSG_PONG, 0);
	m.body.pong.observed.family = 0;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_EMALFORMED);
	fill_msg(&m, HY_MSG_ANNOUNCE_PEER, 0);
	m.body.announce_peer.port = 65536;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_ERANGE);
	fill_msg(&m, HY_MSG_ERROR, 0);
	m.body.error.reason.ptr = (const uint8_t *)"\xff";
	m.body.error.reason.len = 1;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_EMALFORMED);
	fill_msg(&m, HY_MSG_PING, 0);
	m.n_gossip = 1;
	m.gossip[0].kind = 77;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_EMALFORMED);
}
END_TEST

START_TEST(test_wire_decode_env_on_error)
{
	static struct hy_msg m;
	/* [1, "n", 0x7e, 9, bin32, []]: unknown type, envelope usable */
	uint8_t buf[64] = {0x96, 0x01, 0xa1, 'n', 0x7e, 0x09, 0xc4, 0x20};
	size_t len = 8 + 32;

	memset(buf + 8, 0x33, 32);
	buf[len++] = 0x90;
	ck_assert_int_eq(hy_msg_decode(&m, buf, len, HY_PATH_DGRAM),
	    HY_EUNKNOWN);
	ck_assert(m.env_valid);
	ck_assert_uint_eq(m.txid, 9);
	ck_assert_str_eq(m.network, "n");
	ck_assert_uint_eq(m.sender.b[0], 0x33);
	ck_assert_uint_eq(hy_wire_errcode_for(HY_EUNKNOWN),
	    HY_WERR_UNKNOWN_TYPE);
	ck_assert_int_eq(hy_msg_check_network(&m, "n"), HY_OK);
	ck_assert_int_eq(hy_msg_check_network(&m, "m"), HY_ENETWORK);
	/* a bad body after a good envelope: still answerable */
	buf[4] = HY_MSG_FIND_NODE;
	ck_assert_int_eq(hy_msg_decode(&m, buf, len, HY_PATH_DGRAM),
	    HY_EMALFORMED);
	ck_assert(m.env_valid);
	ck_assert_uint_eq(m.type, HY_MSG_FIND_NODE);
}
END_TEST

START_TEST(test_wire_table_lookups)
{
	ck_assert_str_eq(hy_msg_type_name(HY_MSG_PROBE_REQ), "PROBE_REQ");
	ck_assert_ptr_null(hy_msg_type_name(0x7e));
	ck_assert_int_eq(hy_msg_kind_of(HY_MSG_STORE), HY_MK_REQ);
	ck_assert_int_eq(hy_msg_kind_of(HY_MSG_PEX), HY_MK_ONEWAY);
	ck_assert_uint_eq(hy_msg_peer_type(HY_MSG_FIND_VALUE), HY_MSG_VALUES);
	ck_assert_uint_eq(hy_msg_peer_type(HY_MSG_VALUES), HY_MSG_FIND_VALUE);
	ck_assert(hy_msg_anon_dst_ok(HY_MSG_PING));
	ck_assert(hy_msg_anon_dst_ok(HY_MSG_FIND_NODE));
	ck_assert(!hy_msg_anon_dst_ok(HY_MSG_STORE));
	for (size_t i = 0; i < NTYPES; i++) {
		unsigned t = all_types[i], p = hy_msg_peer_type(t);

		if (hy_msg_kind_of(t) == HY_MK_REQ)
			ck_assert_int_eq(hy_msg_kind_of(p), HY_MK_REPLY);
	}
}
END_TEST

START_TEST(test_wire_tbs)
{
	struct hy_record r;
	struct hy_value v;
	uint8_t out[HY_RECORD_TBS_MAX], out2[HY_RECORD_TBS_MAX];
	size_t len, len2;

	memset(&r, 0, sizeof(r));
	fill_id(&r.id, 1);
	r.pubkey[0] = 0x02;
	r.seq = 300;
	r.n_addrs = 1;
	fill_addr(&r.addrs[0], 1, 0);
	r.ts_ms = 5;
	ck_assert_int_eq(hy_record_tbs(&r, out, sizeof(out), &len), HY_OK);
	/* 95 | c420 id | c421 pk | cd012c | 91 c406 addr | 05 */
	ck_assert_uint_eq(len, 1 + 34 + 35 + 3 + 1 + 8 + 1);
	ck_assert_uint_eq(out[0], 0x95);
	ck_assert_mem_eq(out + 70, "\xcd\x01\x2c\x91\xc4\x06", 6);
	ck_assert_uint_eq(out[len - 1], 0x05);
	memset(r.sig, 1, sizeof(r.sig)); /* the sig is not covered */
	ck_assert_int_eq(hy_record_tbs(&r, out2, sizeof(out2), &len2), HY_OK);
	ck_assert_mem_eq(out, out2, len);
	/* 4 IPv6 addresses still fit HY_RECORD_TBS_MAX */
	r.n_addrs = 4;
	for (int i = 0; i < 4; i++)
		fill_addr(&r.addrs[i], i, 1);
	r.seq = r.ts_ms = UINT64_MAX;
	ck_assert_int_eq(hy_record_tbs(&r, out, sizeof(out), &len), HY_OK);
	ck_assert_int_eq(hy_record_tbs(&r, out, len - 1, &len2), HY_ETOOBIG);

	fill_value(&v, 0, 0);
	ck_assert_int_eq(hy_value_tbs(&v, out, sizeof(out), &len), HY_EINVAL);
	v.is_mutable = true;
	v.salt.ptr = (const uint8_t *)"s";
	v.salt.len = 1;
	v.seq = 1;
	v.data.ptr = (const uint8_t *)"hi";
	v.data.len = 2;
	ck_assert_int_eq(hy_value_tbs(&v, out, sizeof(out), &len), HY_OK);
	ck_assert_uint_eq(len, 9);
	ck_assert_mem_eq(out, "\x93\xc4\x01s\x01\xc4\x02hi", 9);
}
END_TEST

/* ---- mutation ---- */

static void
mutate(struct hy_rng *r, uint8_t *b, size_t *len, size_t cap)
{
	size_t n = *len, pos;
	int k = (int)hy_rng_below(r, 5);

	if (n == 0)
		k = 4;
	pos = n ? (size_t)hy_rng_below(r, n) : 0;
	switch (k) {
	case 0: /* flip a bit */
		b[pos] ^= (uint8_t)(1u << hy_rng_below(r, 8));
		break;
	case 1: /* an interesting byte */ {
		static const uint8_t v[] = {0x00, 0x7f, 0x80, 0x90, 0x9f, 0xc0,
		    0xc1, 0xc4, 0xc6, 0xcf, 0xd4, 0xdc, 0xdd, 0xdf, 0xff};

		b[pos] = v[hy_rng_below(r, sizeof(v))];
		break;
	}
	case 2: /* truncate */
		*len = pos;
		break;
	case 3: /* delete a byte */
		memmove(b + pos, b + pos + 1, n - pos - 1);
		*len = n - 1;
		break;
	default: /* insert a byte */
		if (n < cap) {
			memmove(b + pos + 1, b + pos, n - pos);
			b[pos] = (uint8_t)hy_rng_next(r);
			*len = n + 1;
		}
		break;
	}
}

START_TEST(test_wire_mutation)
{
	static struct hy_msg m, m2;
	static uint8_t b[8192];
	uint64_t seed = 0x6879706861ULL; /* fixed: "hypha" */
	struct hy_rng r;
	size_t len, elen, accepted = 0;

	hy_rng_seed(&r, seed);
	for (size_t i = 0; i < nvecs; i++) {
		const struct vec *v = &vecs[i];

		if (v->len > sizeof(b) - 64 || strcmp(v->kind, "tlsframe") == 0)
			continue;
		for (int it = 0; it < 300; it++) {
			enum hy_wire_path p = (enum hy_wire_path)(it % 3);
			struct hy_dgram d, d2;
			int rc;

			memcpy(b, v->data, v->len);
			len = v->len;
			for (int k = 0, nm = 1 + (int)hy_rng_below(&r, 3);
			     k < nm; k++)
				mutate(&r, b, &len, sizeof(b));
			(void)hy_scan(b, len, &hy_scan_limits_v1, NULL);
			if (strcmp(v->kind, "dgram") == 0) {
				rc = hy_dgram_decode(&d, b, len);
				if (rc != HY_OK)
					continue;
				ck_assert_msg(hy_dgram_encode(&d, encbuf,
						  sizeof(encbuf), &elen) ==
					HY_OK,
				    "seed %llu vec %s it %d",
				    (unsigned long long)seed, v->name, it);
				ck_assert_int_eq(hy_dgram_decode(&d2, encbuf,
						     elen),
				    HY_OK);
				ck_assert_mem_eq(d.payload.ptr, d2.payload.ptr,
				    d.payload.len);
				accepted++;
				continue;
			}
			rc = hy_msg_decode(&m, b, len, p);
			if (rc != HY_OK)
				continue;
			accepted++;
			rc = hy_msg_encode(&m, p, encbuf, sizeof(encbuf), &elen);
			ck_assert_msg(rc == HY_OK,
			    "seed %llu vec %s it %d: re-encode %s",
			    (unsigned long long)seed, v->name, it,
			    hy_strerror(rc));
			ck_assert_int_eq(hy_msg_decode(&m2, encbuf, elen, p),
			    HY_OK);
			ck_assert_msg(hy_msg_equal(&m, &m2),
			    "seed %llu vec %s it %d: not equal",
			    (unsigned long long)seed, v->name, it);
		}
	}
	ck_assert_uint_gt(accepted, 0);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wire_roundtrip_min);
	tcase_add_test(tc, test_wire_roundtrip_max);
	tcase_add_test(tc, test_wire_table_has_vectors);
	tcase_add_test(tc, test_wire_vectors);
	tcase_add_test(tc, test_wire_scan_limits);
	tcase_add_test(tc, test_wire_dgram_frame);
	tcase_add_test(tc, test_wire_tls_frame);
	tcase_add_test(tc, test_wire_encode_bounded);
	tcase_add_test(tc, test_wire_encode_rejects);
	tcase_add_test(tc, test_wire_decode_env_on_error);
	tcase_add_test(tc, test_wire_table_lookups);
	tcase_add_test(tc, test_wire_tbs);
	tcase_add_test(tc, test_wire_mutation);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
