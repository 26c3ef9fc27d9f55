/*
 * dgram.c: seal and verify signed datagrams.
 *
 * The signature covers the frame's bytes up to the signature element as
 * they are on the wire, so no canonical re-encoding is needed: what was
 * signed is exactly what is checked. A datagram addressed to another node
 * is refused before any signature work; so is one whose key does not hash
 * to the sender ID the envelope claims (the key cache checks that once per
 * key and remembers only keys whose signature verified).
 */
#include "config.h"

#include <string.h>

#include "crypto.h"
#include "dgram.h"
#include "hypha.h"
#include "ident.h"

int
hy_dgram_seal(const struct hy_ident *self, const struct hy_id *dst,
    uint64_t ts_ms, const uint8_t *nonce, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *outlen,
    uint8_t *used_nonce)
{
	static const struct hy_id zero;
	uint8_t rnd[HY_NONCE_LEN], sig[HY_SIG_LEN];
	size_t signed_len, total;
	int rc;

	if (nonce == NULL) {
		rc = hy_random_bytes(rnd, sizeof(rnd));
		if (rc != HY_OK)
			return rc;
		nonce = rnd;
	}
	rc = hy_dgram_frame_begin(out, cap, dst != NULL ? dst : &zero, ts_ms,
	    nonce, hy_ident_pubkey(self), payload, payload_len, &signed_len);
	if (rc != HY_OK)
		return rc;
	rc = hy_ident_sign(self, HY_DGRAM_SIG_CTX, out, signed_len, sig);
	if (rc != HY_OK)
		return rc;
	rc = hy_dgram_frame_finish(out, cap, signed_len, sig, &total);
	if (rc != HY_OK)
		return rc;
	if (used_nonce != NULL)
		memcpy(used_nonce, nonce, HY_NONCE_LEN);
	*outlen = total;
	return HY_OK;
}

int
hy_dgram_echo(const uint8_t nonce[HY_NONCE_LEN], uint8_t out[HY_NONCE_LEN])
{
	static const uint8_t sep = 0;
	const struct hy_span v[3] = {
		{ HY_ECHO_CTX, sizeof(HY_ECHO_CTX) - 1 },
		{ &sep, 1 },
		{ nonce, HY_NONCE_LEN },
	};
	uint8_t h[HY_SHA256_LEN];
	int rc = hy_sha256v(v, 3, h);

	if (rc == HY_OK)
		memcpy(out, h, HY_NONCE_LEN);
	return rc;
}

int
hy_dgram_verify(struct hy_keycache *kc, const struct hy_id *self_id,
    const struct hy_dgram *frame, const struct hy_msg *msg)
{
	if (hy_id_is_zero(&frame->dst)) {
		if (!hy_msg_anon_dst_ok(msg->type))
			return HY_EINVAL;
	} else if (!hy_id_eq(&frame->dst, self_id)) {
		return HY_EINVAL;
	}
	return hy_keycache_verify(kc, &msg->sender, frame->pubkey,
	    HY_DGRAM_SIG_CTX, frame->signed_part.ptr, frame->signed_part.len,
	    frame->sig);
}
