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
    uint64_t ts_ms, const uint8_t *payload, size_t payload_len, uint8_t *out,
    size_t cap, size_t *outlen)
{
	static const struct hy_id zero;
	uint8_t nonce[HY_NONCE_LEN], sig[HY_SIG_LEN];
	size_t signed_len, total;
	int rc;

	rc = hy_random_bytes(nonce, sizeof(nonce));
	if (rc != HY_OK)
		return rc;
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
	*outlen = total;
	return HY_OK;
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
