/*
 * wire-dgram.c: the signed-datagram outer frame and the TLS stream's length
 * prefix (PROTOCOL.md §3 and §2.3). No crypto here: the frame codec only
 * tells the caller which bytes the signature covers.
 *
 * Frame: fixarray 7 [version, dst bin32, ts_ms uint, nonce bin16, pubkey
 * bin33, payload bin, sig bin64]. Two layout rules make the signed range
 * trivial to find for any implementation: the first byte is 0x97 (fixarray
 * of 7, disjoint from the DTLS content types 20..63 of RFC 7983, so the
 * transport can demultiplex on it), and the signature element is encoded as
 * bin 8 (0xc4 0x40 + 64 bytes), so it is always the last 66 bytes and the
 * signed bytes B are datagram[0 .. len - 66).
 *
 * Invariants: decode rejects anything over HY_DGRAM_MAX before parsing;
 * the begin/finish encoder refuses to start a frame whose signed form would
 * not fit in cap or in HY_DGRAM_MAX, so finish can never fail for size when
 * begin succeeded with the same cap.
 */
#include "config.h"

#include <string.h>

#include "wire-internal.h"

#define HY_DGRAM_SIG_ELEM (2 + HY_SIG_LEN) /* 0xc4 0x40 sig */

/* Limits of the outer frame: one flat array of 7, bin <= one datagram. */
static const struct hy_scan_limits dgram_limits = {
	.max_depth = 1,
	.max_objects = 8,
	.max_str = 0,
	.max_bin = HY_DGRAM_MAX,
	.max_array = 7,
	.max_map = 0,
	.allow_nil = false,
	.allow_float = false,
};

int
hy_dgram_decode(struct hy_dgram *d, const uint8_t *buf, size_t len)
{
	const msgpack_object *e;
	msgpack_unpacked up;
	struct hy_dgram t;
	uint64_t u;
	int rc;

	msgpack_unpacked_init(&up);
	memset(&t, 0, sizeof(t));
	if (len > HY_DGRAM_MAX) {
		rc = HY_ETOOBIG;
		goto out;
	}
	if (len == 0) {
		rc = HY_ETRUNC;
		goto out;
	}
	if (buf[0] != 0x97) {
		rc = HY_EMALFORMED;
		goto out;
	}
	rc = hy_wire_unpack(buf, len, &dgram_limits, &up);
	if (rc != HY_OK)
		goto out;
	e = up.data.via.array.ptr;
	rc = hy_obj_uint(&e[0], 0, UINT64_MAX, &u);
	if (rc == HY_OK && u != HY_DGRAM_VERSION)
		rc = HY_EVERSION;
	if (rc == HY_OK)
		rc = hy_obj_id(&e[1], &t.dst);
	if (rc == HY_OK)
		rc = hy_obj_uint(&e[2], 0, UINT64_MAX, &t.ts_ms);
	if (rc == HY_OK)
		rc = hy_obj_fixbin(&e[3], HY_NONCE_LEN, t.nonce);
	if (rc == HY_OK)
		rc = hy_obj_pubkey(&e[4], t.pubkey);
	if (rc == HY_OK)
		rc = hy_obj_bin(&e[5], HY_DGRAM_MAX, &t.payload);
	if (rc == HY_OK)
		rc = hy_obj_fixbin(&e[6], HY_SIG_LEN, t.sig);
	if (rc != HY_OK)
		goto out;
	/* [6] is the last object and there are no trailing bytes. */
	if (len < HY_DGRAM_SIG_ELEM || buf[len - HY_DGRAM_SIG_ELEM] != 0xc4 ||
	    buf[len - HY_DGRAM_SIG_ELEM + 1] != HY_SIG_LEN) {
		rc = HY_EMALFORMED;
		goto out;
	}
	t.signed_part.ptr = buf;
	t.signed_part.len = len - HY_DGRAM_SIG_ELEM;
	*d = t;
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}

int
hy_dgram_frame_begin(uint8_t *buf, size_t cap, const struct hy_id *dst,
    uint64_t ts_ms, const uint8_t nonce[HY_NONCE_LEN],
    const uint8_t pubkey[HY_PUBKEY_LEN], const uint8_t *payload,
    size_t payload_len, size_t *signed_len)
{
	msgpack_packer pk;
	struct hy_wbuf w;
	size_t room;
	int rc;

	if (!hy_pubkey_ok(pubkey))
		return HY_EINVAL;
	if (payload_len > HY_DGRAM_MAX)
		return HY_ETOOBIG;
	room = cap < HY_DGRAM_MAX ? cap : HY_DGRAM_MAX;
	if (room < HY_DGRAM_SIG_ELEM)
		return HY_ETOOBIG;
	/* Reserve the signature so that finish cannot fail for size. */
	hy_wbuf_init(&w, &pk, buf, room - HY_DGRAM_SIG_ELEM);
	msgpack_pack_array(&pk, 7);
	msgpack_pack_uint8(&pk, HY_DGRAM_VERSION);
	hy_pack_id(&pk, dst);
	msgpack_pack_uint64(&pk, ts_ms);
	hy_pack_bin(&pk, nonce, HY_NONCE_LEN);
	hy_pack_bin(&pk, pubkey, HY_PUBKEY_LEN);
	hy_pack_bin(&pk, payload, payload_len);
	rc = w.err;
	if (rc == HY_OK)
		*signed_len = w.len;
	return rc;
}

int
hy_dgram_frame_finish(uint8_t *buf, size_t cap, size_t signed_len,
    const uint8_t sig[HY_SIG_LEN], size_t *total_len)
{
	size_t room = cap < HY_DGRAM_MAX ? cap : HY_DGRAM_MAX;

	if (signed_len > room || room - signed_len < HY_DGRAM_SIG_ELEM)
		return HY_ETOOBIG;
	buf[signed_len] = 0xc4;
	buf[signed_len + 1] = HY_SIG_LEN;
	memcpy(buf + signed_len + 2, sig, HY_SIG_LEN);
	*total_len = signed_len + HY_DGRAM_SIG_ELEM;
	return HY_OK;
}

int
hy_dgram_encode(const struct hy_dgram *d, uint8_t *buf, size_t cap, size_t *len)
{
	size_t slen;
	int rc;

	rc = hy_dgram_frame_begin(buf, cap, &d->dst, d->ts_ms, d->nonce,
	    d->pubkey, d->payload.ptr, d->payload.len, &slen);
	if (rc == HY_OK)
		rc = hy_dgram_frame_finish(buf, cap, slen, d->sig, len);
	return rc;
}

int
hy_tls_frame_header(uint8_t hdr[HY_TLS_HDR_LEN], size_t payload_len, size_t cap)
{
	if (payload_len == 0)
		return HY_EINVAL;
	if (payload_len > cap || payload_len > UINT32_MAX)
		return HY_ETOOBIG;
	hdr[0] = (uint8_t)(payload_len >> 24);
	hdr[1] = (uint8_t)(payload_len >> 16);
	hdr[2] = (uint8_t)(payload_len >> 8);
	hdr[3] = (uint8_t)payload_len;
	return HY_OK;
}

int
hy_tls_frame_check(const uint8_t *buf, size_t avail, size_t cap,
    size_t *frame_len)
{
	uint32_t n;

	if (avail < HY_TLS_HDR_LEN)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n == 0)
		return HY_EMALFORMED;
	if (n > cap)
		return HY_ETOOBIG;
	if (avail - HY_TLS_HDR_LEN < n)
		return 0;
	*frame_len = HY_TLS_HDR_LEN + (size_t)n;
	return 1;
}
