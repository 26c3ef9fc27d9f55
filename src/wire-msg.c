/*
 * wire-msg.c: encode and decode the protocol v1 envelope and message bodies
 * (PROTOCOL.md §4-§6), driven by proto/messages.def.
 *
 * The table expands into one field-descriptor list per message (type,
 * offset in the body struct, offset of the element count for arrays, the
 * caps); encode, decode and equality walk those lists, so a message added to
 * the table needs no new code unless it introduces a new field type.
 *
 * Decoding: hy_wire_unpack() pre-scans the bytes with the v1 limits, so
 * msgpack-c's allocation is bounded; the unpacked tree is then converted
 * into struct hy_msg, checking every type, length, count and range against
 * the table. Str/bin fields borrow from the input. The msgpack zone is freed
 * on every path before returning.
 *
 * Encoding writes the smallest msgpack encodings (msgpack-c's packer does),
 * which is the canonical form the golden vectors use: decode -> encode of a
 * canonical message gives back the same bytes. The encoder applies the same
 * checks as the decoder, so what it produces always decodes.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "wire-internal.h"

#define HY_CNT_UINT(n, f) 0
#define HY_CNT_BOOL(n, f) 0
#define HY_CNT_ID(n, f) 0
#define HY_CNT_ADDR(n, f) 0
#define HY_CNT_CONTACT(n, f) 0
#define HY_CNT_BIN(n, f) 0
#define HY_CNT_STR(n, f) 0
#define HY_CNT_VALUE(n, f) 0
#define HY_CNT_CONTACTS(n, f) offsetof(struct hy_body_##n, n_##f)
#define HY_CNT_ADDRS(n, f) offsetof(struct hy_body_##n, n_##f)
#define HY_CNT_VALUES(n, f) offsetof(struct hy_body_##n, n_##f)

#define HY_MSG(code, N, n, kind, peer)                                         \
	static const struct hy_fdesc hy_fd_##n[] = {
#define HY_FIELD(n, f, T, a, b)                                                \
	{ HY_FT_##T, offsetof(struct hy_body_##n, f), HY_CNT_##T(n, f),        \
		(uint64_t)(a), (uint64_t)(b) },
#define HY_MSG_END(n)                                                          \
	{                                                                      \
		HY_FT_END, 0, 0, 0, 0                                          \
	}                                                                      \
	}                                                                      \
	;
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END

static const struct hy_mdesc hy_mtab[] = {
#define HY_MSG(code, N, n, kind, peer)                                         \
	{ code, #N, HY_MK_##kind, peer, hy_fd_##n,                             \
		(uint32_t)(sizeof(hy_fd_##n) / sizeof(hy_fd_##n[0]) - 1) },
#define HY_FIELD(n, f, T, a, b)
#define HY_MSG_END(n)
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END
};

#define HY_MTAB_LEN (sizeof(hy_mtab) / sizeof(hy_mtab[0]))

const struct hy_mdesc *
hy_wire_mdesc(unsigned type)
{
	size_t i;

	for (i = 0; i < HY_MTAB_LEN; i++)
		if (hy_mtab[i].code == type)
			return &hy_mtab[i];
	return NULL;
}

const char *
hy_msg_type_name(unsigned type)
{
	const struct hy_mdesc *md = hy_wire_mdesc(type);

	return md != NULL ? md->name : NULL;
}

int
hy_msg_kind_of(unsigned type)
{
	const struct hy_mdesc *md = hy_wire_mdesc(type);

	return md != NULL ? md->kind : 0;
}

unsigned
hy_msg_peer_type(unsigned type)
{
	const struct hy_mdesc *md = hy_wire_mdesc(type);

	return md != NULL ? md->peer : 0;
}

bool
hy_msg_anon_dst_ok(unsigned type)
{
	return type == HY_MSG_PING || type == HY_MSG_FIND_NODE;
}

unsigned
hy_wire_errcode_for(int err)
{
	switch (err) {
	case HY_EUNKNOWN:
		return HY_WERR_UNKNOWN_TYPE;
	case HY_EVERSION:
		return HY_WERR_VERSION;
	case HY_ENETWORK:
		return HY_WERR_WRONG_NETWORK;
	case HY_ETOOBIG:
		return HY_WERR_TOO_LARGE;
	case HY_ERATELIMIT:
		return HY_WERR_RATE_LIMITED;
	case HY_EFULL:
		return HY_WERR_STORE_FULL;
	case HY_ENOMEM:
		return HY_WERR_INTERNAL;
	default:
		return HY_WERR_MALFORMED;
	}
}

/* 1..32 bytes of 0x21..0x7e. Returns 0, HY_EMALFORMED or HY_ETOOBIG. */
int
hy_wire_check_network(const uint8_t *p, size_t len)
{
	size_t i;

	if (len == 0)
		return HY_EMALFORMED;
	if (len > HY_NETWORK_MAX)
		return HY_ETOOBIG;
	for (i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return HY_EMALFORMED;
	return HY_OK;
}

size_t
hy_wire_envelope_cap(enum hy_wire_path path)
{
	switch (path) {
	case HY_PATH_DGRAM:
		return HY_DGRAM_PAYLOAD_MAX;
	case HY_PATH_DTLS:
		return HY_DTLS_PAYLOAD_MAX;
	case HY_PATH_TLS:
	default:
		return HY_TLS_FRAME_MAX;
	}
}

int
hy_msg_init(struct hy_msg *m, unsigned type, const char *network, uint32_t txid,
    const struct hy_id *sender)
{
	size_t nlen = strlen(network);
	int rc;

	if (hy_wire_mdesc(type) == NULL)
		return HY_EUNKNOWN;
	rc = hy_wire_check_network((const uint8_t *)network, nlen);
	if (rc != HY_OK)
		return rc;
	memset(m, 0, sizeof(*m));
	m->version = HY_PROTO_VERSION;
	memcpy(m->network, network, nlen);
	m->type = (uint8_t)type;
	m->txid = txid;
	m->sender = *sender;
	return HY_OK;
}

int
hy_msg_check_network(const struct hy_msg *m, const char *network)
{
	return strcmp(m->network, network) == 0 ? HY_OK : HY_ENETWORK;
}

/* ---- decoding ---- */

static int
dec_contact(const msgpack_object *o, struct hy_contact *c)
{
	const msgpack_object *it;
	uint32_t n;
	int rc;

	rc = hy_obj_array(o, 2, 2, &it, &n);
	if (rc == HY_ETOOBIG)
		rc = HY_EMALFORMED;
	if (rc == HY_OK)
		rc = hy_obj_id(&it[0], &c->id);
	if (rc == HY_OK)
		rc = hy_obj_addr(&it[1], &c->addr);
	return rc;
}

static int
dec_value(const msgpack_object *o, enum hy_wire_path path, struct hy_value *v)
{
	const msgpack_object *it;
	uint32_t n;
	int rc;

	memset(v, 0, sizeof(*v));
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return HY_ETYPE;
	if (o->via.array.size != 4 && o->via.array.size != 8)
		return HY_EMALFORMED;
	it = o->via.array.ptr;
	n = o->via.array.size;
	rc = hy_obj_uint(&it[0], 0, UINT64_MAX, &v->id);
	if (rc == HY_OK)
		rc = hy_obj_uint(&it[1], 1, HY_VALUE_TTL_MAX, &v->ttl_s);
	if (rc == HY_OK)
		rc = hy_obj_bin(&it[2], hy_wire_value_cap(path), &v->data);
	if (rc == HY_OK)
		rc = hy_obj_uint(&it[3], 0, UINT32_MAX, &v->flags);
	if (rc == HY_OK && n == 8) {
		v->is_mutable = true;
		rc = hy_obj_pubkey(&it[4], v->owner);
		if (rc == HY_OK)
			rc = hy_obj_bin(&it[5], HY_SALT_MAX, &v->salt);
		if (rc == HY_OK)
			rc = hy_obj_uint(&it[6], 0, UINT64_MAX, &v->seq);
		if (rc == HY_OK)
			rc = hy_obj_fixbin(&it[7], HY_SIG_LEN, v->sig);
	}
	return rc;
}

static int
dec_field(const struct hy_fdesc *fd, const msgpack_object *o, char *body,
    enum hy_wire_path path)
{
	void *p = body + fd->off;
	uint32_t *cnt = (uint32_t *)(void *)(body + fd->cnt_off);
	const msgpack_object *it;
	struct hy_wire_bin *s;
	uint32_t n = 0, i;
	int rc = HY_OK;

	switch (fd->t) {
	case HY_FT_UINT:
		rc = hy_obj_uint(o, fd->a, fd->b, p);
		break;
	case HY_FT_BOOL:
		rc = hy_obj_bool(o, p);
		break;
	case HY_FT_ID:
		rc = hy_obj_id(o, p);
		break;
	case HY_FT_ADDR:
		rc = hy_obj_addr(o, p);
		break;
	case HY_FT_CONTACT:
		rc = dec_contact(o, p);
		break;
	case HY_FT_BIN:
		rc = hy_obj_bin(o, fd->a, p);
		break;
	case HY_FT_STR:
		s = p;
		if (o->type != MSGPACK_OBJECT_STR)
			rc = HY_ETYPE;
		else if (o->via.str.size > fd->a)
			rc = HY_ETOOBIG;
		else if (!hy_utf8_valid((const uint8_t *)o->via.str.ptr,
		             o->via.str.size))
			rc = HY_EMALFORMED;
		else {
			s->ptr = (const uint8_t *)o->via.str.ptr;
			s->len = o->via.str.size;
		}
		break;
	case HY_FT_VALUE:
		rc = dec_value(o, path, p);
		break;
	case HY_FT_CONTACTS:
	case HY_FT_ADDRS:
	case HY_FT_VALUES:
		rc = hy_obj_array(o, 0, (uint32_t)fd->a, &it, &n);
		for (i = 0; rc == HY_OK && i < n; i++) {
			if (fd->t == HY_FT_CONTACTS)
				rc = dec_contact(&it[i],
				    (struct hy_contact *)p + i);
			else if (fd->t == HY_FT_ADDRS)
				rc = hy_obj_addr(&it[i],
				    (struct hy_addr *)p + i);
			else
				rc = dec_value(&it[i], path,
				    (struct hy_value *)p + i);
		}
		if (rc == HY_OK)
			*cnt = n;
		break;
	case HY_FT_END:
	default:
		rc = HY_EINVAL;
		break;
	}
	return rc;
}

/* A gossip item of a known kind: [kind, fields...]; extra fields ignored. */
static int
dec_gossip(const msgpack_object *it, uint32_t n, uint64_t kind,
    struct hy_gossip *g)
{
	struct hy_record *r = &g->u.record;
	struct hy_suspect *s = &g->u.suspect;
	const msgpack_object *a;
	uint32_t na, i;
	int rc;

	memset(g, 0, sizeof(*g));
	g->kind = (uint8_t)kind;
	if (kind == HY_GOSSIP_RECORD) {
		if (n < 7)
			return HY_EMALFORMED;
		rc = hy_obj_id(&it[1], &r->id);
		if (rc == HY_OK)
			rc = hy_obj_pubkey(&it[2], r->pubkey);
		if (rc == HY_OK)
			rc = hy_obj_uint(&it[3], 0, UINT64_MAX, &r->seq);
		if (rc == HY_OK)
			rc = hy_obj_array(&it[4], 0, HY_RECORD_ADDRS_MAX, &a,
			    &na);
		for (i = 0; rc == HY_OK && i < na; i++)
			rc = hy_obj_addr(&a[i], &r->addrs[i]);
		if (rc == HY_OK) {
			r->n_addrs = na;
			rc = hy_obj_uint(&it[5], 0, UINT64_MAX, &r->ts_ms);
		}
		if (rc == HY_OK)
			rc = hy_obj_fixbin(&it[6], HY_SIG_LEN, r->sig);
	} else {
		if (n < 5)
			return HY_EMALFORMED;
		rc = hy_obj_id(&it[1], &s->id);
		if (rc == HY_OK)
			rc = hy_obj_uint(&it[2], 0, UINT64_MAX, &s->seq);
		if (rc == HY_OK)
			rc = hy_obj_uint(&it[3], 0, UINT32_MAX, &s->age_ms);
		if (rc == HY_OK)
			rc = hy_obj_id(&it[4], &s->reporter);
	}
	return rc;
}

static int
dec_gossip_list(const msgpack_object *o, struct hy_msg *m)
{
	const msgpack_object *items, *it;
	uint32_t n, ni, i;
	uint64_t kind;
	int rc;

	rc = hy_obj_array(o, 0, HY_GOSSIP_MAX, &items, &n);
	for (i = 0; rc == HY_OK && i < n; i++) {
		rc = hy_obj_array(&items[i], 1, UINT32_MAX, &it, &ni);
		if (rc == HY_OK)
			rc = hy_obj_uint(&it[0], 0, UINT64_MAX, &kind);
		if (rc != HY_OK)
			break;
		if (kind != HY_GOSSIP_RECORD && kind != HY_GOSSIP_SUSPECT)
			continue; /* unknown kind: scanned, skipped */
		rc = dec_gossip(it, ni, kind, &m->gossip[m->n_gossip]);
		if (rc == HY_OK)
			m->n_gossip++;
	}
	return rc;
}

static int
dec_envelope(struct hy_msg *m, const msgpack_object *root,
    enum hy_wire_path path)
{
	const struct hy_mdesc *md = NULL;
	const msgpack_object *e, *bf;
	uint64_t u;
	uint32_t n, nb, i;
	bool type_ok;
	int rc;

	if (root->type != MSGPACK_OBJECT_ARRAY)
		return HY_ETYPE;
	n = root->via.array.size;
	e = root->via.array.ptr;
	if (n < 1)
		return HY_EMALFORMED;
	rc = hy_obj_uint(&e[0], 0, UINT64_MAX, &u);
	if (rc != HY_OK)
		return rc;
	if (u != HY_PROTO_VERSION)
		return HY_EVERSION;
	m->version = (uint32_t)u;
	if (n != 6 && n != 7)
		return HY_EMALFORMED;
	if (e[1].type != MSGPACK_OBJECT_STR)
		return HY_ETYPE;
	rc = hy_wire_check_network((const uint8_t *)e[1].via.str.ptr,
	    e[1].via.str.size);
	if (rc != HY_OK)
		return rc;
	memcpy(m->network, e[1].via.str.ptr, e[1].via.str.size);
	m->network[e[1].via.str.size] = '\0';
	rc = hy_obj_uint(&e[2], 0, UINT64_MAX, &u);
	if (rc != HY_OK)
		return rc;
	md = u <= 0xff ? hy_wire_mdesc((unsigned)u) : NULL;
	type_ok = u <= 0xff;
	m->type = (uint8_t)u;
	rc = hy_obj_uint(&e[3], 0, UINT32_MAX, &u);
	if (rc != HY_OK)
		return rc;
	m->txid = (uint32_t)u;
	rc = hy_obj_id(&e[4], &m->sender);
	if (rc != HY_OK)
		return rc;
	m->env_valid = type_ok; /* enough for an ERROR reply */
	if (md == NULL)
		return HY_EUNKNOWN;
	if (e[5].type != MSGPACK_OBJECT_ARRAY)
		return HY_ETYPE;
	nb = e[5].via.array.size;
	bf = e[5].via.array.ptr;
	if (nb < md->nfields)
		return HY_EMALFORMED;
	for (i = 0; i < md->nfields; i++) {
		rc = dec_field(&md->fields[i], &bf[i], (char *)&m->body, path);
		if (rc != HY_OK)
			return rc;
	}
	/* The union's members all start with n_extra. */
	m->body.ping.n_extra = nb - md->nfields;
	if (n == 7)
		rc = dec_gossip_list(&e[6], m);
	/* Gossip is never taken from a signed datagram (PROTOCOL.md §2):
	 * checked like everywhere, then dropped. */
	if (path == HY_PATH_DGRAM)
		m->n_gossip = 0;
	return rc;
}

int
hy_msg_decode(struct hy_msg *m, const uint8_t *buf, size_t len,
    enum hy_wire_path path)
{
	msgpack_unpacked up;
	int rc;

	memset(m, 0, sizeof(*m));
	msgpack_unpacked_init(&up);
	if (len > hy_wire_envelope_cap(path)) {
		rc = HY_ETOOBIG;
		goto out;
	}
	rc = hy_wire_unpack(buf, len, &hy_scan_limits_v1, &up);
	if (rc == HY_OK)
		rc = dec_envelope(m, &up.data, path);
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}
