/*
 * wire-util.c: the bounded msgpack writer and the typed accessors that turn
 * unpacked msgpack objects into wire fields.
 *
 * Invariants: the writer never writes past its buffer (a write that does not
 * fit latches HY_ETOOBIG and writes nothing); accessors never write their
 * out-parameter on failure and never trust a length they did not compare
 * with a cap. msgpack-c's unpacker makes str/bin objects point into the input
 * buffer, which is what lets decoded structs borrow from it.
 */
#include "config.h"

#include <string.h>

#include "wire-internal.h"

static int
wbuf_write(void *data, const char *p, size_t n)
{
	struct hy_wbuf *w = data;

	if (w->err != HY_OK)
		return -1;
	if (w->cap - w->len < n) {
		w->err = HY_ETOOBIG;
		return -1;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

void
hy_wbuf_init(struct hy_wbuf *w, msgpack_packer *pk, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->err = HY_OK;
	msgpack_packer_init(pk, w, wbuf_write);
}

void
hy_pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_bin(pk, len);
	if (len > 0)
		msgpack_pack_bin_body(pk, p, len);
}

void
hy_pack_id(msgpack_packer *pk, const struct hy_id *id)
{
	hy_pack_bin(pk, id->b, HY_ID_LEN);
}

int
hy_pack_addr(msgpack_packer *pk, const struct hy_addr *a)
{
	uint8_t tmp[HY_ADDR_MAX_WIRELEN];
	size_t n;

	n = hy_addr_pack(a, tmp);
	if (n == 0)
		return HY_EMALFORMED;
	hy_pack_bin(pk, tmp, n);
	return HY_OK;
}

int
hy_wire_unpack(const uint8_t *buf, size_t len, const struct hy_scan_limits *lim,
    msgpack_unpacked *up)
{
	msgpack_unpack_return ur;
	size_t off = 0;
	int rc;

	msgpack_unpacked_init(up);
	rc = hy_scan(buf, len, lim, NULL);
	if (rc != HY_OK)
		goto out;
	ur = msgpack_unpack_next(up, (const char *)buf, len, &off);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
		rc = HY_ENOMEM;
	else if (ur != MSGPACK_UNPACK_SUCCESS &&
	    ur != MSGPACK_UNPACK_EXTRA_BYTES)
		rc = HY_EMALFORMED; /* the scan should have caught it */
	else if (off != len)
		rc = HY_ETRAILING;
out:
	return rc;
}

int
hy_obj_uint(const msgpack_object *o, uint64_t min, uint64_t max, uint64_t *out)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return HY_ERANGE;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return HY_ETYPE;
	if (o->via.u64 < min || o->via.u64 > max)
		return HY_ERANGE;
	*out = o->via.u64;
	return HY_OK;
}

int
hy_obj_bool(const msgpack_object *o, bool *out)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return HY_ETYPE;
	*out = o->via.boolean;
	return HY_OK;
}

int
hy_obj_bin(const msgpack_object *o, size_t max, struct hy_wire_bin *out)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return HY_ETYPE;
	if (o->via.bin.size > max)
		return HY_ETOOBIG;
	out->ptr = (const uint8_t *)o->via.bin.ptr;
	out->len = o->via.bin.size;
	return HY_OK;
}

int
hy_obj_fixbin(const msgpack_object *o, size_t n, uint8_t *out)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return HY_ETYPE;
	if (o->via.bin.size != n)
		return HY_EMALFORMED;
	memcpy(out, o->via.bin.ptr, n);
	return HY_OK;
}

int
hy_obj_id(const msgpack_object *o, struct hy_id *out)
{
	return hy_obj_fixbin(o, HY_ID_LEN, out->b);
}

bool
hy_pubkey_ok(const uint8_t pk[HY_PUBKEY_LEN])
{
	return pk[0] == 0x02 || pk[0] == 0x03;
}

int
hy_obj_pubkey(const msgpack_object *o, uint8_t out[HY_PUBKEY_LEN])
{
	uint8_t tmp[HY_PUBKEY_LEN];
	int rc;

	rc = hy_obj_fixbin(o, HY_PUBKEY_LEN, tmp);
	if (rc == HY_OK && !hy_pubkey_ok(tmp))
		rc = HY_EMALFORMED;
	if (rc == HY_OK)
		memcpy(out, tmp, HY_PUBKEY_LEN);
	return rc;
}

int
hy_obj_addr(const msgpack_object *o, struct hy_addr *out)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return HY_ETYPE;
	if (hy_addr_unpack(out, (const uint8_t *)o->via.bin.ptr,
	        o->via.bin.size) != HY_OK)
		return HY_EMALFORMED;
	return HY_OK;
}

int
hy_obj_array(const msgpack_object *o, uint32_t min, uint32_t max,
    const msgpack_object **items, uint32_t *n)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return HY_ETYPE;
	if (o->via.array.size > max)
		return HY_ETOOBIG;
	if (o->via.array.size < min)
		return HY_EMALFORMED;
	*items = o->via.array.ptr;
	*n = o->via.array.size;
	return HY_OK;
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, <= U+10FFFF. */
bool
hy_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		uint8_t c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
