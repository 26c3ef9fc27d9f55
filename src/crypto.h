/*
 * crypto.h: hashing, randomness, P-256 public keys, node IDs, domain-separated
 * ECDSA verification and a bounded cache of decoded peer keys (L1).
 *
 * This header does not include OpenSSL headers; OpenSSL's key type is
 * forward-declared (struct evp_pkey_st is EVP_PKEY) for the layers that hand
 * keys to TLS/DTLS code. None of these functions is thread-safe with respect
 * to a shared struct hy_keycache; everything else is reentrant.
 *
 * Wire formats (normative, see proto/PROTOCOL.md):
 *   public key  33 bytes, SEC1 compressed P-256 point (0x02/0x03 || X)
 *   signature   64 bytes, r || s, each 32 bytes big-endian, 0 < r, s < n
 *   node ID     SHA-256 of the 91-byte DER SubjectPublicKeyInfo holding the
 *               UNCOMPRESSED point (0x04 || X || Y)
 *   signed msg  ECDSA-P256-SHA256 over (domain || 0x00 || data), i.e. the
 *               signed digest is SHA-256(domain || 0x00 || data)
 */
#ifndef HY_CRYPTO_H
#define HY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypha.h"
#include "id.h"

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

#define HY_PUBKEY_LEN 33 /* SEC1 compressed P-256 point */
#define HY_SIG_LEN 64 /* raw r || s */
#define HY_SPKI_LEN 91 /* DER SubjectPublicKeyInfo, uncompressed point */
#define HY_SHA256_LEN 32
#define HY_DOMAIN_MAX 64 /* longest signature domain string */

/* A read-only piece of a message, for scatter hashing and verification. */
struct hy_span {
	const void *p;
	size_t len;
};

/*
 * Fill buf with len bytes from the OpenSSL CSPRNG. Returns HY_OK, or
 * HY_ECRYPTO if the generator fails (buf contents then unspecified).
 */
int hy_random_bytes(void *buf, size_t len);

/*
 * out = SHA-256(data). Returns HY_OK, or HY_ECRYPTO if OpenSSL fails (only
 * on allocation failure); out is written only on success.
 */
int hy_sha256(const void *data, size_t len, uint8_t out[HY_SHA256_LEN]);

/* out = SHA-256 of the concatenation of n spans (n may be 0). As hy_sha256. */
int hy_sha256v(const struct hy_span *v, size_t n, uint8_t out[HY_SHA256_LEN]);

/* Constant-time equality of two len-byte buffers (CRYPTO_memcmp). */
bool hy_ct_eq(const void *a, const void *b, size_t len);

/* Overwrite len bytes at p with zeros in a way the compiler keeps. */
void hy_wipe(void *p, size_t len);

/*
 * Check that domain is a valid signature domain: 1..HY_DOMAIN_MAX printable
 * ASCII characters. Returns HY_OK or HY_EINVAL.
 */
int hy_domain_check(const char *domain);

/*
 * The signed digest: SHA-256(domain || 0x00 || v[0] || ... || v[n-1]).
 * Returns HY_OK, HY_EINVAL (bad domain) or HY_ECRYPTO; out only on success.
 */
int hy_sig_digest(const char *domain, const struct hy_span *v, size_t n,
    uint8_t out[HY_SHA256_LEN]);

/*
 * The 91-byte SubjectPublicKeyInfo (uncompressed point) of a compressed
 * key. Returns HY_OK, HY_EKEYTYPE (not a point on P-256) or HY_ECRYPTO.
 */
int hy_pubkey_to_spki(const uint8_t pub[HY_PUBKEY_LEN],
    uint8_t spki[HY_SPKI_LEN]);

/*
 * The node ID of a compressed key: SHA-256 of its SPKI. Returns HY_OK,
 * HY_EKEYTYPE (not a valid point on P-256) or HY_ECRYPTO.
 */
int hy_pubkey_to_id(const uint8_t pub[HY_PUBKEY_LEN], struct hy_id *out);

/*
 * Decode a compressed key into a new EVP_PKEY (caller frees it with
 * EVP_PKEY_free) and, if id is not NULL, compute its node ID. Returns HY_OK,
 * HY_EKEYTYPE (not a valid point on P-256) or HY_ECRYPTO.
 */
int hy_pubkey_decode(const uint8_t pub[HY_PUBKEY_LEN], struct evp_pkey_st **out,
    struct hy_id *id);

/*
 * The compressed public key of an EVP_PKEY (borrowed), which must be an EC
 * key on P-256 (named curve). Returns HY_OK, HY_EKEYTYPE or HY_ECRYPTO.
 */
int hy_pkey_get_pubkey(const struct evp_pkey_st *pkey,
    uint8_t pub[HY_PUBKEY_LEN]);

/*
 * Check that a raw signature's r and s are both in [1, n-1]. Returns HY_OK
 * or HY_EBADSIG.
 */
int hy_sig_check_range(const uint8_t sig[HY_SIG_LEN]);

#define HY_SIG_DER_MAX 72 /* longest DER ECDSA-Sig-Value for P-256 */

/*
 * Convert a raw signature (range-checked first) to DER. der must hold
 * HY_SIG_DER_MAX bytes; *derlen gets the length. Returns HY_OK or HY_EBADSIG.
 */
int hy_sig_to_der(const uint8_t sig[HY_SIG_LEN], uint8_t der[HY_SIG_DER_MAX],
    size_t *derlen);

/*
 * Convert a DER ECDSA-Sig-Value to raw r || s. Returns HY_OK, or HY_EBADSIG
 * if der is malformed, has trailing bytes, or r or s is out of range.
 */
int hy_sig_from_der(const uint8_t *der, size_t derlen, uint8_t sig[HY_SIG_LEN]);

/*
 * Verify sig over (domain || 0x00 || data) with a decoded key (borrowed).
 * hy_pkey_verifyv takes the data as n spans, concatenated. Returns HY_OK,
 * HY_EBADSIG (wrong signature, r or s out of range), HY_EKEYTYPE (pkey not
 * P-256), HY_EINVAL (bad domain) or HY_ECRYPTO.
 */
int hy_pkey_verifyv(struct evp_pkey_st *pkey, const char *domain,
    const struct hy_span *v, size_t n, const uint8_t sig[HY_SIG_LEN]);

/*
 * Verify sig over (domain || 0x00 || data) with a compressed key, decoding
 * it on every call (see hy_keycache_verify for the cached path). Returns
 * HY_OK, HY_EBADSIG, HY_EKEYTYPE (pub is not a point on P-256), HY_EINVAL
 * (bad domain) or HY_ECRYPTO.
 */
int hy_verify(const uint8_t pub[HY_PUBKEY_LEN], const char *domain,
    const void *data, size_t len, const uint8_t sig[HY_SIG_LEN]);
int hy_verifyv(const uint8_t pub[HY_PUBKEY_LEN], const char *domain,
    const struct hy_span *v, size_t n, const uint8_t sig[HY_SIG_LEN]);

/*
 * A bounded cache of decoded peer keys, indexed by node ID. Defined in
 * crypto.c. Lookups hash the ID with a keyed hash (SipHash-2-4, random key per
 * cache) so peers cannot choose IDs that collide in one chain; eviction is LRU.
 * Only keys whose ID matched AND whose signature verified are inserted.
 */
struct hy_keycache;

struct hy_keycache_stats {
	uint64_t hits; /* verifications that reused a cached key */
	uint64_t misses; /* verifications that had to decode the key */
	uint64_t evictions; /* entries dropped to make room (LRU) */
	uint64_t id_mismatches; /* claimed ID was not the key's hash */
	size_t size; /* entries now in the cache */
	size_t capacity;
};

#define HY_KEYCACHE_MAX (1u << 22) /* largest accepted capacity */

/*
 * A new, empty cache holding at most capacity keys (1..HY_KEYCACHE_MAX).
 * Returns NULL on a bad capacity or allocation/RNG failure. Free with
 * hy_keycache_free.
 */
struct hy_keycache *hy_keycache_new(size_t capacity);

/* Free the cache and every key in it. NULL is a no-op. */
void hy_keycache_free(struct hy_keycache *kc);

/*
 * Verify sig over (domain || 0x00 || data) by the key pub that claims to be
 * node claimed_id. On a hit (claimed_id cached with the same pub) the cached
 * key is used; otherwise pub is decoded and its ID compared with claimed_id
 * (HY_EIDMISMATCH if they differ; nothing is cached) and, once the signature
 * verifies, the key is cached, evicting the least recently used entry at
 * capacity. Returns HY_OK, HY_EBADSIG, HY_EIDMISMATCH, HY_EKEYTYPE,
 * HY_EINVAL (bad domain) or HY_ECRYPTO. The v variant takes n spans.
 */
int hy_keycache_verify(struct hy_keycache *kc, const struct hy_id *claimed_id,
    const uint8_t pub[HY_PUBKEY_LEN], const char *domain, const void *data,
    size_t len, const uint8_t sig[HY_SIG_LEN]);
int hy_keycache_verifyv(struct hy_keycache *kc, const struct hy_id *claimed_id,
    const uint8_t pub[HY_PUBKEY_LEN], const char *domain,
    const struct hy_span *v, size_t n, const uint8_t sig[HY_SIG_LEN]);

/*
 * Insert a key already authenticated elsewhere (e.g. a TLS peer certificate
 * read with hy_id_from_cert): decodes pub, checks it hashes to id. Returns
 * HY_OK (also if already cached), HY_EIDMISMATCH, HY_EKEYTYPE or HY_ECRYPTO.
 */
int hy_keycache_put(struct hy_keycache *kc, const struct hy_id *id,
    const uint8_t pub[HY_PUBKEY_LEN]);

/*
 * Look up id without touching the counters (it does refresh its LRU
 * position). On a hit, *pkey (if not NULL) gets a new reference the caller
 * must EVP_PKEY_free, and pub (if not NULL) the compressed key. Returns
 * HY_OK, HY_ENOENT or HY_ECRYPTO.
 */
int hy_keycache_get(struct hy_keycache *kc, const struct hy_id *id,
    struct evp_pkey_st **pkey, uint8_t pub[HY_PUBKEY_LEN]);

/* Drop id from the cache if present. Returns HY_OK or HY_ENOENT. */
int hy_keycache_remove(struct hy_keycache *kc, const struct hy_id *id);

/* Copy the counters and sizes into *st. */
void hy_keycache_get_stats(const struct hy_keycache *kc,
    struct hy_keycache_stats *st);

#endif /* HY_CRYPTO_H */
