/*
 * wire-enc.c: encode struct hy_msg (PROTOCOL.md §4-§6), compare two
 * messages, and build the to-be-signed bytes of records and mutable values.
 *
 * Walks the same messages.def descriptors as the decoder and applies the
 * same checks (ranges, caps, fixed lengths), so an encoding that succeeds
 * always decodes to an equal message. The output is canonical msgpack: every
 * integer, str, bin and array header in its smallest form (msgpack-c's
 * packer chooses it), the form the golden vectors and record signatures use.
 * The packer writes through a bounded buffer: output never exceeds cap, and
 * an encoding that does not fit fails with HY_ETOOBIG.
 */
#include "config.h"

#include <string.h>

#include "wire-internal.h"

static int
chk_bin(const struct hy_wire_bin *b, size_t max)
{
	if (b->len > max)
		return HY_ETOOBIG;
	if (b->len > 0 && b->ptr == NULL)
		return HY_EINVAL;
	return HY_OK;
}

static int
enc_contact(msgpack_packer *pk, const struct hy_contact *c)
{
	msgpack_pack_array(pk, 2);
	hy_pack_id(pk, &c->id);
	return hy_pack_addr(pk, &c->addr);
}

static int
enc_value(msgpack_packer *pk, const struct hy_value *v, enum hy_wire_path path)
{
	int rc;

	if (v->ttl_s < 1 || v->ttl_s > HY_VALUE_TTL_MAX ||
	    v->flags > UINT32_MAX)
		return HY_ERANGE;
	rc = chk_bin(&v->data, hy_wire_value_cap(path));
	if (rc == HY_OK && v->is_mutable) {
		rc = chk_bin(&v->salt, HY_SALT_MAX);
		if (rc == HY_OK && !hy_pubkey_ok(v->owner))
			rc = HY_EMALFORMED;
	}
	if (rc != HY_OK)
		return rc;
	msgpack_pack_array(pk, v->is_mutable ? 8 : 4);
	msgpack_pack_uint64(pk, v->id);
	msgpack_pack_uint64(pk, v->ttl_s);
	hy_pack_bin(pk, v->data.ptr, v->data.len);
	msgpack_pack_uint64(pk, v->flags);
	if (v->is_mutable) {
		hy_pack_bin(pk, v->owner, HY_PUBKEY_LEN);
		hy_pack_bin(pk, v->salt.ptr, v->salt.len);
		msgpack_pack_uint64(pk, v->seq);
		hy_pack_bin(pk, v->sig, HY_SIG_LEN);
	}
	return HY_OK;
}

static int
enc_field(msgpack_packer *pk, const struct hy_fdesc *fd, const char *body,
    enum hy_wire_path path)
{
	const void *p = body + fd->off;
	const struct hy_wire_bin *s;
	uint32_t n, i;
	uint64_t u;
	int rc = HY_OK;

	switch (fd->t) {
	case HY_FT_UINT:
		u = *(const uint64_t *)p;
		if (u < fd->a || u > fd->b)
			return HY_ERANGE;
		msgpack_pack_uint64(pk, u);
		break;
	case HY_FT_BOOL:
		if (*(const bool *)p)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case HY_FT_ID:
		hy_pack_id(pk, p);
		break;
	case HY_FT_ADDR:
		rc = hy_pack_addr(pk, p);
		break;
	case HY_FT_CONTACT:
		rc = enc_contact(pk, p);
		break;
	case HY_FT_BIN:
		s = p;
		rc = chk_bin(s, fd->a);
		if (rc == HY_OK)
			hy_pack_bin(pk, s->ptr, s->len);
		break;
	case HY_FT_STR:
		s = p;
		rc = chk_bin(s, fd->a);
		if (rc == HY_OK && !hy_utf8_valid(s->ptr, s->len))
			rc = HY_EMALFORMED;
		if (rc == HY_OK) {
			msgpack_pack_str(pk, s->len);
			if (s->len > 0)
				msgpack_pack_str_body(pk, s->ptr, s->len);
		}
		break;
	case HY_FT_VALUE:
		rc = enc_value(pk, p, path);
		break;
	case HY_FT_CONTACTS:
	case HY_FT_ADDRS:
	case HY_FT_VALUES:
		n = *(const uint32_t *)(const void *)(body + fd->cnt_off);
		if (n > fd->a)
			return HY_ETOOBIG;
		msgpack_pack_array(pk, n);
		for (i = 0; rc == HY_OK && i < n; i++) {
			if (fd->t == HY_FT_CONTACTS)
				rc = enc_contact(pk,
				    (const struct hy_contact *)p + i);
			else if (fd->t == HY_FT_ADDRS)
				rc = hy_pack_addr(pk,
				    (const struct hy_addr *)p + i);
			else
				rc = enc_value(pk,
				    (const struct hy_value *)p + i, path);
		}
		break;
	case HY_FT_END:
	default:
		rc = HY_EINVAL;
		break;
	}
	return rc;
}

static int
enc_record_fields(msgpack_packer *pk, const struct hy_record *r)
{
	uint32_t i;
	int rc = HY_OK;

	if (r->n_addrs > HY_RECORD_ADDRS_MAX)
		return HY_ETOOBIG;
	if (!hy_pubkey_ok(r->pubkey))
		return HY_EMALFORMED;
	hy_pack_id(pk, &r->id);
	hy_pack_bin(pk, r->pubkey, HY_PUBKEY_LEN);
	msgpack_pack_uint64(pk, r->seq);
	msgpack_pack_array(pk, r->n_addrs);
	for (i = 0; rc == HY_OK && i < r->n_addrs; i++)
		rc = hy_pack_addr(pk, &r->addrs[i]);
	msgpack_pack_uint64(pk, r->ts_ms);
	return rc;
}

static int
enc_gossip(msgpack_packer *pk, const struct hy_gossip *g)
{
	const struct hy_suspect *s = &g->u.suspect;
	int rc = HY_OK;

	if (g->kind == HY_GOSSIP_RECORD) {
		msgpack_pack_array(pk, 7);
		msgpack_pack_uint8(pk, HY_GOSSIP_RECORD);
		rc = enc_record_fields(pk, &g->u.record);
		hy_pack_bin(pk, g->u.record.sig, HY_SIG_LEN);
	} else if (g->kind == HY_GOSSIP_SUSPECT) {
		if (s->age_ms > UINT32_MAX)
			return HY_ERANGE;
		msgpack_pack_array(pk, 5);
		msgpack_pack_uint8(pk, HY_GOSSIP_SUSPECT);
		hy_pack_id(pk, &s->id);
		msgpack_pack_uint64(pk, s->seq);
		msgpack_pack_uint64(pk, s->age_ms);
		hy_pack_id(pk, &s->reporter);
	} else {
		rc = HY_EMALFORMED;
	}
	return rc;
}

static int
enc_msg(const struct hy_msg *m, enum hy_wire_path path, uint8_t *buf,
    size_t cap, size_t *len, long pad)
{
	const struct hy_mdesc *md;
	msgpack_packer pk;
	struct hy_wbuf w;
	uint32_t i;
	size_t nlen;
	int rc;

	md = hy_wire_mdesc(m->type);
	if (md == NULL)
		return HY_EUNKNOWN;
	nlen = strnlen(m->network, sizeof(m->network));
	rc = hy_wire_check_network((const uint8_t *)m->network, nlen);
	if (rc != HY_OK)
		return rc;
	if (m->n_gossip > HY_GOSSIP_MAX)
		return HY_ETOOBIG;
	if (m->n_gossip > 0 && path == HY_PATH_DGRAM)
		return HY_EINVAL; /* PROTOCOL.md §2: no gossip there */
	if (cap > hy_wire_envelope_cap(path))
		cap = hy_wire_envelope_cap(path);
	hy_wbuf_init(&w, &pk, buf, cap);
	msgpack_pack_array(&pk, m->n_gossip > 0 ? 7 : 6);
	msgpack_pack_uint8(&pk, HY_PROTO_VERSION);
	msgpack_pack_str(&pk, nlen);
	msgpack_pack_str_body(&pk, m->network, nlen);
	msgpack_pack_uint8(&pk, m->type);
	msgpack_pack_uint32(&pk, m->txid);
	hy_pack_id(&pk, &m->sender);
	msgpack_pack_array(&pk, md->nfields + (pad >= 0 ? 1 : 0));
	for (i = 0; rc == HY_OK && i < md->nfields; i++)
		rc = enc_field(&pk, &md->fields[i], (const char *)&m->body,
		    path);
	if (rc == HY_OK && pad >= 0) {
		static const uint8_t zeros[HY_DGRAM_MAX];

		msgpack_pack_bin(&pk, (size_t)pad);
		msgpack_pack_bin_body(&pk, zeros, (size_t)pad);
	}
	if (m->n_gossip > 0)
		msgpack_pack_array(&pk, m->n_gossip);
	for (i = 0; rc == HY_OK && i < m->n_gossip; i++)
		rc = enc_gossip(&pk, &m->gossip[i]);
	if (rc == HY_OK)
		rc = w.err;
	if (rc == HY_OK)
		*len = w.len;
	return rc;
}

int
hy_record_tbs(const struct hy_record *r, uint8_t *buf, size_t cap, size_t *len)
{
	msgpack_packer pk;
	struct hy_wbuf w;
	int rc;

	hy_wbuf_init(&w, &pk, buf, cap);
	msgpack_pack_array(&pk, 5);
	rc = enc_record_fields(&pk, r);
	if (rc == HY_OK)
		rc = w.err;
	if (rc == HY_OK)
		*len = w.len;
	return rc;
}

int
hy_value_tbs(const struct hy_value *v, uint8_t *buf, size_t cap, size_t *len)
{
	msgpack_packer pk;
	struct hy_wbuf w;
	int rc;

	if (!v->is_mutable)
		return HY_EINVAL;
	rc = chk_bin(&v->salt, HY_SALT_MAX);
	if (rc == HY_OK)
		rc = chk_bin(&v->data, HY_VALUE_MAX);
	if (rc != HY_OK)
		return rc;
	hy_wbuf_init(&w, &pk, buf, cap);
	msgpack_pack_array(&pk, 3);
	hy_pack_bin(&pk, v->salt.ptr, v->salt.len);
	msgpack_pack_uint64(&pk, v->seq);
	hy_pack_bin(&pk, v->data.ptr, v->data.len);
	rc = w.err;
	if (rc == HY_OK)
		*len = w.len;
	return rc;
}

/* ---- equality ---- */

static bool
bin_eq(const struct hy_wire_bin *a, const struct hy_wire_bin *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static bool
contact_eq(const struct hy_contact *a, const struct hy_contact *b)
{
	return hy_id_eq(&a->id, &b->id) && hy_addr_eq(&a->addr, &b->addr);
}

static bool
value_eq(const struct hy_value *a, const struct hy_value *b)
{
	if (a->id != b->id || a->ttl_s != b->ttl_s || a->flags != b->flags ||
	    a->is_mutable != b->is_mutable || !bin_eq(&a->data, &b->data))
		return false;
	if (!a->is_mutable)
		return true;
	return memcmp(a->owner, b->owner, HY_PUBKEY_LEN) == 0 &&
	    bin_eq(&a->salt, &b->salt) && a->seq == b->seq &&
	    memcmp(a->sig, b->sig, HY_SIG_LEN) == 0;
}

static bool
gossip_eq(const struct hy_gossip *a, const struct hy_gossip *b)
{
	const struct hy_record *ra = &a->u.record, *rb = &b->u.record;
	uint32_t i;

	if (a->kind != b->kind)
		return false;
	if (a->kind == HY_GOSSIP_SUSPECT)
		return hy_id_eq(&a->u.suspect.id, &b->u.suspect.id) &&
		    a->u.suspect.seq == b->u.suspect.seq &&
		    a->u.suspect.age_ms == b->u.suspect.age_ms &&
		    hy_id_eq(&a->u.suspect.reporter, &b->u.suspect.reporter);
	if (!hy_id_eq(&ra->id, &rb->id) ||
	    memcmp(ra->pubkey, rb->pubkey, HY_PUBKEY_LEN) != 0 ||
	    ra->seq != rb->seq || ra->n_addrs != rb->n_addrs ||
	    ra->ts_ms != rb->ts_ms || memcmp(ra->sig, rb->sig, HY_SIG_LEN) != 0)
		return false;
	for (i = 0; i < ra->n_addrs && i < HY_RECORD_ADDRS_MAX; i++)
		if (!hy_addr_eq(&ra->addrs[i], &rb->addrs[i]))
			return false;
	return true;
}

static bool
field_eq(const struct hy_fdesc *fd, const char *ba, const char *bb)
{
	const void *pa = ba + fd->off, *pb = bb + fd->off;
	uint32_t na, nb, i;

	switch (fd->t) {
	case HY_FT_UINT:
		return *(const uint64_t *)pa == *(const uint64_t *)pb;
	case HY_FT_BOOL:
		return *(const bool *)pa == *(const bool *)pb;
	case HY_FT_ID:
		return hy_id_eq(pa, pb);
	case HY_FT_ADDR:
		return hy_addr_eq(pa, pb);
	case HY_FT_CONTACT:
		return contact_eq(pa, pb);
	case HY_FT_BIN:
	case HY_FT_STR:
		return bin_eq(pa, pb);
	case HY_FT_VALUE:
		return value_eq(pa, pb);
	case HY_FT_CONTACTS:
	case HY_FT_ADDRS:
	case HY_FT_VALUES:
		na = *(const uint32_t *)(const void *)(ba + fd->cnt_off);
		nb = *(const uint32_t *)(const void *)(bb + fd->cnt_off);
		if (na != nb || na > fd->a)
			return false;
		for (i = 0; i < na; i++) {
			if (fd->t == HY_FT_CONTACTS &&
			    !contact_eq((const struct hy_contact *)pa + i,
			        (const struct hy_contact *)pb + i))
				return false;
			if (fd->t == HY_FT_ADDRS &&
			    !hy_addr_eq((const struct hy_addr *)pa + i,
			        (const struct hy_addr *)pb + i))
				return false;
			if (fd->t == HY_FT_VALUES &&
			    !value_eq((const struct hy_value *)pa + i,
			        (const struct hy_value *)pb + i))
				return false;
		}
		return true;
	case HY_FT_END:
	default:
		return false;
	}
}

bool
hy_msg_equal(const struct hy_msg *a, const struct hy_msg *b)
{
	const struct hy_mdesc *md;
	uint32_t i;

	if (a->version != b->version || a->type != b->type ||
	    a->txid != b->txid || !hy_id_eq(&a->sender, &b->sender) ||
	    strncmp(a->network, b->network, sizeof(a->network)) != 0 ||
	    a->n_gossip != b->n_gossip || a->n_gossip > HY_GOSSIP_MAX)
		return false;
	md = hy_wire_mdesc(a->type);
	if (md == NULL)
		return false;
	for (i = 0; i < a->n_gossip; i++)
		if (!gossip_eq(&a->gossip[i], &b->gossip[i]))
			return false;
	for (i = 0; i < md->nfields; i++)
		if (!field_eq(&md->fields[i], (const char *)&a->body,
		        (const char *)&b->body))
			return false;
	return true;
}

/*
 * Padding (PROTOCOL.md §4.1): one extra body element, a bin of zeros, sized
 * so the envelope reaches pad_to. A bin8 header costs 2 bytes, a bin16 one
 * 3; the body array header stays one byte (bodies have fewer than 15
 * fields). When there is no room for even an empty bin, the message goes
 * out unpadded.
 */
int
hy_msg_encode(const struct hy_msg *m, enum hy_wire_path path, uint8_t *buf,
    size_t cap, size_t *len)
{
	size_t len0, need, target = m->pad_to;
	long pad;
	int rc;

	rc = enc_msg(m, path, buf, cap, &len0, -1);
	if (rc != HY_OK || len0 >= target)
		goto out;
	if (target > hy_wire_envelope_cap(path))
		target = hy_wire_envelope_cap(path);
	if (target > cap)
		target = cap;
	if (len0 + 2 > target)
		goto out;
	need = target - len0;
	/* bin8 covers 0..255 bytes; past that bin16 (3-byte header) */
	if (need <= 257)
		pad = (long)need - 2;
	else
		pad = (long)need - 3 < 256 ? 256 : (long)need - 3;
	if (pad > (long)HY_DGRAM_MAX)
		pad = HY_DGRAM_MAX;
	rc = enc_msg(m, path, buf, cap, &len0, pad);
out:
	if (rc == HY_OK)
		*len = len0;
	return rc;
}
