/*
 * dgram.h: sealing and verifying signed datagrams (L1; PROTOCOL.md §3).
 *
 * Glue between the wire framing (wire.h: hy_dgram_frame_begin/finish,
 * hy_dgram_decode) and the node identity: a sealed datagram is the framed
 * envelope plus an ECDSA P-256 signature over SHA-256(HY_DGRAM_SIG_CTX ||
 * 0x00 || every byte before the signature element). Checks that need state
 * (rate limit, timestamp window, replay) belong to the transport, which
 * calls these in the order PROTOCOL.md gives.
 */
#ifndef HY_DGRAM_H
#define HY_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "wire.h"

struct hy_ident;
struct hy_keycache;

/*
 * Frame `payload` (an encoded envelope) for `dst` (NULL: unknown, all
 * zero), stamp it with wall time ts_ms and `nonce` (NULL: a fresh random
 * one; the nonce used is copied to used_nonce if that is not NULL), and
 * sign it with `self`. Writes at most cap bytes to out; returns 0 and sets
 * *outlen, or HY_ETOOBIG (over HY_DGRAM_MAX or cap), HY_ECRYPTO.
 */
int hy_dgram_seal(const struct hy_ident *self, const struct hy_id *dst,
    uint64_t ts_ms, const uint8_t *nonce, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *outlen,
    uint8_t *used_nonce);

/*
 * The receipt echo of a nonce (PROTOCOL.md §4.1): the first 16 bytes of
 * SHA-256(HY_ECHO_CTX || 0x00 || nonce). A requester that received a
 * datagram with nonce N from an address uses echo(N) as the nonce of its
 * next datagram there; the address that sent N recognises it as proof that
 * its packets arrive. Returns 0 or HY_ECRYPTO.
 */
#define HY_ECHO_CTX "hypha-echo-v1"
int hy_dgram_echo(const uint8_t nonce[HY_NONCE_LEN], uint8_t out[HY_NONCE_LEN]);

/*
 * Check a decoded frame and its decoded envelope against the local node:
 * the destination must be self_id, or all zero for a type that allows it
 * (HY_EINVAL otherwise); the key must hash to the envelope's sender ID
 * (HY_EIDMISMATCH) and the signature must verify (HY_EBADSIG, HY_EKEYTYPE).
 * Verified keys are cached in kc. Returns 0 when the datagram is authentic.
 */
int hy_dgram_verify(struct hy_keycache *kc, const struct hy_id *self_id,
    const struct hy_dgram *frame, const struct hy_msg *msg);

#endif /* HY_DGRAM_H */
