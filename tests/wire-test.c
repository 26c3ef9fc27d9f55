/*
 * wire-test.c: helpers shared by the wire tests: the golden-vector loader
 * (proto/vectors/MANIFEST through $HY_VECTORS) and message fillers driven by
 * proto/messages.def.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire-test.h"

uint8_t pool[HY_VALUE_MAX];
uint8_t encbuf[BUFSZ], encbuf2[BUFSZ];

/* ---- the vectors ---- */

struct vec *vecs;
size_t nvecs;

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

void
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

void
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
	{ "HY_ETRUNC", HY_ETRUNC },
	{ "HY_ETYPE", HY_ETYPE },
	{ "HY_ETOOBIG", HY_ETOOBIG },
	{ "HY_EDEPTH", HY_EDEPTH },
	{ "HY_ETRAILING", HY_ETRAILING },
	{ "HY_EUNKNOWN", HY_EUNKNOWN },
	{ "HY_EVERSION", HY_EVERSION },
	{ "HY_ERANGE", HY_ERANGE },
	{ "HY_EMALFORMED", HY_EMALFORMED },
};

int
expect_code(const char *s)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcmp(errnames[i].name, s) == 0)
			return errnames[i].code;
	ck_abort_msg("unknown expectation %s", s);
	return 0;
}

enum hy_wire_path
path_of(const char *s)
{
	if (strcmp(s, "dgram") == 0)
		return HY_PATH_DGRAM;
	if (strcmp(s, "dtls") == 0)
		return HY_PATH_DTLS;
	ck_assert_str_eq(s, "tls");
	return HY_PATH_TLS;
}

void
setup(void)
{
	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)(i * 31 + 7);
	vecs_load();
}

void
teardown(void)
{
	vecs_free();
}

/* ---- filling a message from the table ---- */

void
fill_id(struct hy_id *id, int seed)
{
	for (int i = 0; i < HY_ID_LEN; i++)
		id->b[i] = (uint8_t)(seed * 13 + i);
}

void
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

void
fill_contact(struct hy_contact *c, int seed, int v6)
{
	fill_id(&c->id, seed);
	fill_addr(&c->addr, seed, v6);
}

void
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
#define FILL_BIN(bd, f, a, b, max)                                             \
	(bd)->f.ptr = pool;                                                    \
	(bd)->f.len = (max) ? (a) : 0;
#define FILL_STR(bd, f, a, b, max)                                             \
	(bd)->f.ptr = (const uint8_t *)utf8_128;                               \
	(bd)->f.len = (max) ? (a) : 0;
#define FILL_VALUE(bd, f, a, b, max) fill_value(&(bd)->f, 6, (max));
#define FILL_CONTACTS(bd, f, a, b, max)                                        \
	(bd)->n_##f = (max) ? (a) : 1;                                         \
	for (uint32_t i_ = 0; i_ < (bd)->n_##f; i_++)                          \
		fill_contact(&(bd)->f[i_], (int)i_, (int)(i_ & 1));
#define FILL_ADDRS(bd, f, a, b, max)                                           \
	(bd)->n_##f = (max) ? (a) : 1;                                         \
	for (uint32_t i_ = 0; i_ < (bd)->n_##f; i_++)                          \
		fill_addr(&(bd)->f[i_], (int)i_, (int)(i_ & 1));
#define FILL_VALUES(bd, f, a, b, max)                                          \
	(bd)->n_##f = (max) ? (a) : 1;                                         \
	for (uint32_t i_ = 0; i_ < (bd)->n_##f; i_++)                          \
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

const unsigned all_types[] = {
#define HY_MSG(code, N, n, kind, peer) code,
#define HY_FIELD(n, f, T, a, b)
#define HY_MSG_END(n)
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END
};
const size_t ntypes = sizeof(all_types) / sizeof(all_types[0]);

void
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
			fill_id(&g->u.suspect.reporter, (int)i + 1);
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

void
fill_msg(struct hy_msg *m, unsigned type, int max)
{
	struct hy_id sender;

	fill_id(&sender, 99);
	ck_assert_int_eq(hy_msg_init(m, type,
	                     max ? "n23456789012345678901234567890AB" : "x",
	                     max ? UINT32_MAX : 0, &sender),
	    HY_OK);
	switch (type) {
#define HY_MSG(code, N, n, kind, peer)                                         \
	case code: {                                                           \
		struct hy_body_##n *bd = &m->body.n;                           \
		(void)bd;
#define HY_FIELD(n, f, T, a, b) FILL_##T(bd, f, a, b, max)
#define HY_MSG_END(n)                                                          \
	break;                                                                 \
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
void
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
