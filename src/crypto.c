/*
 * crypto.c: SHA-256, CSPRNG, P-256 public keys and node IDs,
 * domain-separated ECDSA verification and a cache of decoded peer keys (L1).
 *
 * Node ID (DESIGN.md §2): SHA-256 of the DER SubjectPublicKeyInfo with the
 * point uncompressed. For P-256 that encoding is a fixed 26-byte prefix
 * (SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING }) followed
 * by 0x04 || X || Y, 91 bytes in all, so we build it ourselves rather than
 * trusting whatever point format a decoded key carries: the ID of a key is
 * the same whether a peer sent it compressed, uncompressed, or in a
 * certificate.
 *
 * Signatures: ECDSA P-256 with SHA-256 over (domain || 0x00 || data); the
 * domain is 1..HY_DOMAIN_MAX printable ASCII bytes (no NUL), so each
 * (domain, data) pair gives a distinct signed input. On the wire a signature is
 * raw r || s (SEC1 / IEEE P1363 form); OpenSSL wants DER, which we build with
 * no allocation. r and s are checked to be in [1, n-1] before OpenSSL sees
 * them. High-s signatures are accepted (ECDSA's malleability is harmless here:
 * nothing is keyed on the signature bytes; replay protection uses the signed
 * nonce).
 *
 * Invariants: every OpenSSL error raised inside a function is popped before
 * it returns (ERR_set_mark / ERR_pop_to_mark), so a hostile input never
 * leaves stale errors that a later SSL_get_error() would misread.
 *
 * Key cache (DESIGN.md §2: verify ≈95 µs with a cached key, ≈340 µs when
 * decoding it each time): `capacity` entries allocated up front, a chained
 * hash table of next_pow2(capacity) buckets linking them by index, an LRU
 * list through the same entries (tail = next to evict) and a free list;
 * lookup, insert and evict are O(1). Buckets are SipHash-2-4 (Aumasson &
 * Bernstein 2012) of the ID under a random per-cache key, since peers can
 * grind keys to aim IDs at one chain. Invariants: an entry is in the table
 * iff it is on the LRU list; its ID is SHA-256 of its key's SPKI; its key
 * verified a signature (or came through hy_keycache_put); size <= capacity;
 * nothing is cached after an ID mismatch.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"

/* DER SubjectPublicKeyInfo prefix for an uncompressed P-256 point. */
static const uint8_t spki_prefix[HY_SPKI_LEN - 65] = { 0x30, 0x59, 0x30, 0x13,
	0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
	0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };

/* The order n of the P-256 base point, big-endian. */
static const uint8_t p256_order[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
	0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6,
	0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
	0x25, 0x51 };

int
hy_random_bytes(void *buf, size_t len)
{
	int rc = HY_ECRYPTO;

	ERR_set_mark();
	while (len > 0) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;

		if (RAND_bytes(buf, chunk) != 1)
			goto out;
		buf = (uint8_t *)buf + chunk;
		len -= (size_t)chunk;
	}
	rc = HY_OK;
out:
	ERR_pop_to_mark();
	return rc;
}

/* SHA-256 of pre (if not NULL) followed by the n spans of v. */
static int
sha256_spans(const struct hy_span *pre, const struct hy_span *v, size_t n,
    uint8_t out[HY_SHA256_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = HY_ECRYPTO;

	ERR_set_mark();
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	if (pre != NULL && EVP_DigestUpdate(ctx, pre->p, pre->len) != 1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (v[i].len > 0 &&
		    EVP_DigestUpdate(ctx, v[i].p, v[i].len) != 1)
			goto out;
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != HY_SHA256_LEN)
		goto out;
	memcpy(out, md, HY_SHA256_LEN);
	rc = HY_OK;
out:
	EVP_MD_CTX_free(ctx);
	ERR_pop_to_mark();
	return rc;
}

int
hy_sha256v(const struct hy_span *v, size_t n, uint8_t out[HY_SHA256_LEN])
{
	return sha256_spans(NULL, v, n, out);
}

int
hy_sha256(const void *data, size_t len, uint8_t out[HY_SHA256_LEN])
{
	struct hy_span s = { data, len };

	return hy_sha256v(&s, 1, out);
}

bool
hy_ct_eq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
hy_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

int
hy_domain_check(const char *domain)
{
	size_t i;

	if (domain == NULL)
		return HY_EINVAL;
	for (i = 0; domain[i] != '\0'; i++)
		if (i >= HY_DOMAIN_MAX || domain[i] < 0x20 || domain[i] > 0x7e)
			return HY_EINVAL;
	return i > 0 ? HY_OK : HY_EINVAL;
}

int
hy_sig_digest(const char *domain, const struct hy_span *v, size_t n,
    uint8_t out[HY_SHA256_LEN])
{
	struct hy_span pre;
	int rc;

	if ((rc = hy_domain_check(domain)) != HY_OK)
		return rc;
	/* strlen + 1 hashes the terminating NUL: the 0x00 separator. */
	pre.p = domain;
	pre.len = strlen(domain) + 1;
	return sha256_spans(&pre, v, n, out);
}

/*
 * True if the key is an EC key on the named curve P-256. Keys with explicit
 * curve parameters have no group name and fail here, on purpose.
 */
static bool
pkey_is_p256(const EVP_PKEY *pkey)
{
	char name[64];
	size_t namelen = 0;

	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "EC"))
		return false;
	if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &namelen) != 1)
		return false;
	return strcmp(name, SN_X9_62_prime256v1) == 0 ||
	    strcmp(name, "P-256") == 0;
}

/* The uncompressed point 0x04 || X || Y of a P-256 key. */
static int
pkey_get_point(const EVP_PKEY *pkey, uint8_t pt[65])
{
	BIGNUM *x = NULL, *y = NULL;
	int rc = HY_ECRYPTO;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	pt[0] = 0x04;
	if (BN_bn2binpad(x, pt + 1, 32) != 32 ||
	    BN_bn2binpad(y, pt + 33, 32) != 32)
		goto out;
	rc = HY_OK;
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

int
hy_pkey_get_pubkey(const struct evp_pkey_st *pkey, uint8_t pub[HY_PUBKEY_LEN])
{
	uint8_t pt[65];
	int rc;

	ERR_set_mark();
	if (!pkey_is_p256(pkey)) {
		rc = HY_EKEYTYPE;
		goto out;
	}
	if ((rc = pkey_get_point(pkey, pt)) != HY_OK)
		goto out;
	pub[0] = 0x02 | (pt[64] & 1);
	memcpy(pub + 1, pt + 1, 32);
out:
	ERR_pop_to_mark();
	return rc;
}

/*
 * Import a compressed point as a new public key; if spki is not NULL, also
 * write the key's 91-byte SPKI there.
 */
static int
pubkey_import(const uint8_t pub[HY_PUBKEY_LEN], EVP_PKEY **out,
    uint8_t spki[HY_SPKI_LEN])
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];
	uint8_t *pt;
	int rc = HY_EKEYTYPE;

	ERR_set_mark();
	if (pub[0] != 0x02 && pub[0] != 0x03)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)SN_X9_62_prime256v1, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, HY_PUBKEY_LEN);
	params[2] = OSSL_PARAM_construct_end();
	rc = HY_ECRYPTO;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	/* Import decompresses the point; it fails if X is not on the curve. */
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = HY_EKEYTYPE;
		goto out;
	}
	if (spki != NULL) {
		memcpy(spki, spki_prefix, sizeof(spki_prefix));
		pt = spki + sizeof(spki_prefix);
		if ((rc = pkey_get_point(pkey, pt)) != HY_OK)
			goto out;
		/* The import must not have changed the point. */
		if (memcmp(pt + 1, pub + 1, 32) != 0 ||
		    (pt[64] & 1) != (pub[0] & 1)) {
			rc = HY_ECRYPTO;
			goto out;
		}
	}
	*out = pkey;
	pkey = NULL;
	rc = HY_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	ERR_pop_to_mark();
	return rc;
}

int
hy_pubkey_decode(const uint8_t pub[HY_PUBKEY_LEN], struct evp_pkey_st **out,
    struct hy_id *id)
{
	EVP_PKEY *pkey = NULL;
	uint8_t spki[HY_SPKI_LEN];
	struct hy_id tmp;
	int rc;

	if ((rc = pubkey_import(pub, &pkey, id != NULL ? spki : NULL)) != HY_OK)
		goto out;
	if (id != NULL && (rc = hy_sha256(spki, sizeof(spki), tmp.b)) != HY_OK)
		goto out;
	if (id != NULL)
		*id = tmp;
	*out = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

int
hy_pubkey_to_spki(const uint8_t pub[HY_PUBKEY_LEN], uint8_t spki[HY_SPKI_LEN])
{
	EVP_PKEY *pkey = NULL;
	uint8_t tmp[HY_SPKI_LEN];
	int rc;

	if ((rc = pubkey_import(pub, &pkey, tmp)) == HY_OK)
		memcpy(spki, tmp, sizeof(tmp));
	EVP_PKEY_free(pkey);
	return rc;
}

int
hy_pubkey_to_id(const uint8_t pub[HY_PUBKEY_LEN], struct hy_id *out)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	rc = hy_pubkey_decode(pub, &pkey, out);
	EVP_PKEY_free(pkey);
	return rc;
}

/* True if the 32-byte big-endian integer v is in [1, n-1]. */
static bool
scalar_in_range(const uint8_t v[32])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < 32; i++)
		acc |= v[i];
	return acc != 0 && memcmp(v, p256_order, 32) < 0;
}

int
hy_sig_check_range(const uint8_t sig[HY_SIG_LEN])
{
	return scalar_in_range(sig) && scalar_in_range(sig + 32) ? HY_OK
	                                                         : HY_EBADSIG;
}

/* Append a DER INTEGER for a positive 32-byte big-endian value. */
static size_t
der_put_int(uint8_t *p, const uint8_t v[32])
{
	size_t skip = 0, n;
	bool pad;

	while (skip < 31 && v[skip] == 0)
		skip++;
	n = 32 - skip;
	pad = (v[skip] & 0x80) != 0;
	p[0] = 0x02;
	p[1] = (uint8_t)(n + pad);
	if (pad)
		p[2] = 0x00;
	memcpy(p + 2 + pad, v + skip, n);
	return 2 + pad + n;
}

int
hy_sig_to_der(const uint8_t sig[HY_SIG_LEN], uint8_t der[HY_SIG_DER_MAX],
    size_t *derlen)
{
	uint8_t tmp[HY_SIG_DER_MAX];
	size_t n;

	if (hy_sig_check_range(sig) != HY_OK)
		return HY_EBADSIG;
	n = 2;
	n += der_put_int(tmp + n, sig);
	n += der_put_int(tmp + n, sig + 32);
	tmp[0] = 0x30;
	tmp[1] = (uint8_t)(n - 2);
	memcpy(der, tmp, n);
	*derlen = n;
	return HY_OK;
}

int
hy_sig_from_der(const uint8_t *der, size_t derlen, uint8_t sig[HY_SIG_LEN])
{
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	const unsigned char *p = der;
	uint8_t tmp[HY_SIG_LEN];
	int rc = HY_EBADSIG;

	ERR_set_mark();
	if (derlen == 0 || derlen > HY_SIG_DER_MAX)
		goto out;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) ||
	    BN_bn2binpad(r, tmp, 32) != 32 ||
	    BN_bn2binpad(s, tmp + 32, 32) != 32)
		goto out;
	if (hy_sig_check_range(tmp) != HY_OK)
		goto out;
	memcpy(sig, tmp, sizeof(tmp));
	rc = HY_OK;
out:
	ECDSA_SIG_free(es);
	ERR_pop_to_mark();
	return rc;
}

int
hy_pkey_verifyv(struct evp_pkey_st *pkey, const char *domain,
    const struct hy_span *v, size_t n, const uint8_t sig[HY_SIG_LEN])
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t md[HY_SHA256_LEN];
	uint8_t der[HY_SIG_DER_MAX];
	size_t derlen = 0;
	int rc;

	ERR_set_mark();
	if ((rc = hy_domain_check(domain)) != HY_OK)
		goto out;
	if (!pkey_is_p256(pkey)) {
		rc = HY_EKEYTYPE;
		goto out;
	}
	if ((rc = hy_sig_to_der(sig, der, &derlen)) != HY_OK)
		goto out;
	if ((rc = hy_sig_digest(domain, v, n, md)) != HY_OK)
		goto out;
	rc = HY_ECRYPTO;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	/* 1 is a good signature; 0 a bad one; < 0 an unusable one. */
	rc = EVP_PKEY_verify(ctx, der, derlen, md, sizeof(md)) == 1
	    ? HY_OK
	    : HY_EBADSIG;
out:
	EVP_PKEY_CTX_free(ctx);
	ERR_pop_to_mark();
	return rc;
}

int
hy_verifyv(const uint8_t pub[HY_PUBKEY_LEN], const char *domain,
    const struct hy_span *v, size_t n, const uint8_t sig[HY_SIG_LEN])
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if ((rc = hy_domain_check(domain)) != HY_OK)
		goto out;
	if ((rc = hy_sig_check_range(sig)) != HY_OK)
		goto out;
	if ((rc = hy_pubkey_decode(pub, &pkey, NULL)) != HY_OK)
		goto out;
	rc = hy_pkey_verifyv(pkey, domain, v, n, sig);
out:
	EVP_PKEY_free(pkey);
	return rc;
}

int
hy_verify(const uint8_t pub[HY_PUBKEY_LEN], const char *domain,
    const void *data, size_t len, const uint8_t sig[HY_SIG_LEN])
{
	struct hy_span s = { data, len };

	return hy_verifyv(pub, domain, &s, 1, sig);
}

/* --- the key cache --- */

#define NIL UINT32_MAX

struct kc_entry {
	struct hy_id id;
	uint8_t pub[HY_PUBKEY_LEN];
	EVP_PKEY *pkey; /* NULL iff the entry is free */
	uint32_t hnext; /* next in the bucket chain */
	uint32_t prev; /* LRU neighbours; next doubles as free-list link */
	uint32_t next;
};

struct hy_keycache {
	struct kc_entry *ent;
	uint32_t *bucket;
	size_t capacity;
	size_t nbuckets; /* a power of two */
	size_t size;
	uint32_t lru_head, lru_tail, free_head;
	uint64_t k0, k1; /* SipHash key */
	uint64_t hits, misses, evictions, id_mismatches;
};

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void
sipround(uint64_t v[4])
{
	v[0] += v[1], v[1] = rotl(v[1], 13), v[1] ^= v[0],
	              v[0] = rotl(v[0], 32);
	v[2] += v[3], v[3] = rotl(v[3], 16), v[3] ^= v[2];
	v[0] += v[3], v[3] = rotl(v[3], 21), v[3] ^= v[0];
	v[2] += v[1], v[1] = rotl(v[1], 17), v[1] ^= v[2],
	              v[2] = rotl(v[2], 32);
}

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SipHash-2-4 of a 32-byte ID (a multiple of 8 bytes: no partial block). */
static uint64_t
kc_hash(const struct hy_keycache *kc, const struct hy_id *id)
{
	uint64_t v[4] = { 0x736f6d6570736575ULL ^ kc->k0,
		0x646f72616e646f6dULL ^ kc->k1, 0x6c7967656e657261ULL ^ kc->k0,
		0x7465646279746573ULL ^ kc->k1 };
	uint64_t m;

	for (size_t i = 0; i <= HY_ID_LEN; i += 8) {
		/* the last block is the length byte, shifted to the top */
		m = i < HY_ID_LEN ? load_le64(id->b + i)
		                  : (uint64_t)HY_ID_LEN << 56;
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static size_t
kc_bucket(const struct hy_keycache *kc, const struct hy_id *id)
{
	return (size_t)(kc_hash(kc, id) & (kc->nbuckets - 1));
}

struct hy_keycache *
hy_keycache_new(size_t capacity)
{
	struct hy_keycache *kc = NULL, *ret = NULL;
	uint8_t key[16];

	if (capacity == 0 || capacity > HY_KEYCACHE_MAX)
		goto out;
	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		goto out;
	kc->capacity = capacity;
	kc->nbuckets = 1;
	while (kc->nbuckets < capacity)
		kc->nbuckets <<= 1;
	kc->ent = calloc(capacity, sizeof(*kc->ent));
	kc->bucket = calloc(kc->nbuckets, sizeof(*kc->bucket));
	if (kc->ent == NULL || kc->bucket == NULL)
		goto out;
	if (hy_random_bytes(key, sizeof(key)) != HY_OK)
		goto out;
	kc->k0 = load_le64(key);
	kc->k1 = load_le64(key + 8);
	hy_wipe(key, sizeof(key));
	for (size_t i = 0; i < kc->nbuckets; i++)
		kc->bucket[i] = NIL;
	for (size_t i = 0; i < capacity; i++) {
		kc->ent[i].hnext = kc->ent[i].prev = NIL;
		kc->ent[i].next = i + 1 < capacity ? (uint32_t)(i + 1) : NIL;
	}
	kc->free_head = 0;
	kc->lru_head = kc->lru_tail = NIL;
	ret = kc;
	kc = NULL;
out:
	hy_keycache_free(kc);
	return ret;
}

void
hy_keycache_free(struct hy_keycache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; kc->ent != NULL && i < kc->capacity; i++)
		EVP_PKEY_free(kc->ent[i].pkey);
	free(kc->ent);
	free(kc->bucket);
	free(kc);
}

static uint32_t
kc_find(const struct hy_keycache *kc, const struct hy_id *id)
{
	uint32_t i = kc->bucket[kc_bucket(kc, id)];

	while (i != NIL && !hy_id_eq(&kc->ent[i].id, id))
		i = kc->ent[i].hnext;
	return i;
}

static void
lru_unlink(struct hy_keycache *kc, uint32_t i)
{
	struct kc_entry *e = &kc->ent[i];

	if (e->prev != NIL)
		kc->ent[e->prev].next = e->next;
	else
		kc->lru_head = e->next;
	if (e->next != NIL)
		kc->ent[e->next].prev = e->prev;
	else
		kc->lru_tail = e->prev;
	e->prev = e->next = NIL;
}

static void
lru_push_head(struct hy_keycache *kc, uint32_t i)
{
	struct kc_entry *e = &kc->ent[i];

	e->prev = NIL;
	e->next = kc->lru_head;
	if (kc->lru_head != NIL)
		kc->ent[kc->lru_head].prev = i;
	kc->lru_head = i;
	if (kc->lru_tail == NIL)
		kc->lru_tail = i;
}

static void
lru_touch(struct hy_keycache *kc, uint32_t i)
{
	if (kc->lru_head != i) {
		lru_unlink(kc, i);
		lru_push_head(kc, i);
	}
}

/* Take entry i out of the table and the LRU list and put it on the free list.
 */
static void
kc_drop(struct hy_keycache *kc, uint32_t i)
{
	struct kc_entry *e = &kc->ent[i];
	uint32_t *pp = &kc->bucket[kc_bucket(kc, &e->id)];

	while (*pp != i)
		pp = &kc->ent[*pp].hnext;
	*pp = e->hnext;
	lru_unlink(kc, i);
	EVP_PKEY_free(e->pkey);
	memset(e, 0, sizeof(*e));
	e->hnext = e->prev = NIL;
	e->next = kc->free_head;
	kc->free_head = i;
	kc->size--;
}

/*
 * Cache pkey (ownership passes to the cache) as id/pub; replaces an entry
 * with the same ID, evicts the LRU entry when full.
 */
static void
kc_insert(struct hy_keycache *kc, const struct hy_id *id,
    const uint8_t pub[HY_PUBKEY_LEN], EVP_PKEY *pkey)
{
	struct kc_entry *e;
	uint32_t i;
	size_t b;

	if ((i = kc_find(kc, id)) != NIL) {
		e = &kc->ent[i];
		EVP_PKEY_free(e->pkey);
		e->pkey = pkey;
		memcpy(e->pub, pub, HY_PUBKEY_LEN);
		lru_touch(kc, i);
		return;
	}
	if (kc->size == kc->capacity) {
		kc_drop(kc, kc->lru_tail);
		kc->evictions++;
	}
	i = kc->free_head;
	e = &kc->ent[i];
	kc->free_head = e->next;
	e->id = *id;
	memcpy(e->pub, pub, HY_PUBKEY_LEN);
	e->pkey = pkey;
	b = kc_bucket(kc, id);
	e->hnext = kc->bucket[b];
	kc->bucket[b] = i;
	lru_push_head(kc, i);
	kc->size++;
}

int
hy_keycache_verifyv(struct hy_keycache *kc, const struct hy_id *claimed_id,
    const uint8_t pub[HY_PUBKEY_LEN], const char *domain,
    const struct hy_span *v, size_t n, const uint8_t sig[HY_SIG_LEN])
{
	EVP_PKEY *pkey = NULL;
	struct hy_id id;
	uint32_t i;
	int rc;

	/* Cheap checks first: they cost no key decoding and count nothing. */
	if ((rc = hy_domain_check(domain)) != HY_OK)
		goto out;
	if ((rc = hy_sig_check_range(sig)) != HY_OK)
		goto out;
	i = kc_find(kc, claimed_id);
	if (i != NIL && memcmp(kc->ent[i].pub, pub, HY_PUBKEY_LEN) == 0) {
		kc->hits++;
		lru_touch(kc, i);
		rc = hy_pkey_verifyv(kc->ent[i].pkey, domain, v, n, sig);
		goto out;
	}
	/* Not cached, or cached under another key: derive from scratch. */
	kc->misses++;
	if ((rc = hy_pubkey_decode(pub, &pkey, &id)) != HY_OK)
		goto out;
	if (!hy_id_eq(&id, claimed_id)) {
		kc->id_mismatches++;
		rc = HY_EIDMISMATCH;
		goto out;
	}
	if ((rc = hy_pkey_verifyv(pkey, domain, v, n, sig)) != HY_OK)
		goto out;
	kc_insert(kc, &id, pub, pkey);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

int
hy_keycache_verify(struct hy_keycache *kc, const struct hy_id *claimed_id,
    const uint8_t pub[HY_PUBKEY_LEN], const char *domain, const void *data,
    size_t len, const uint8_t sig[HY_SIG_LEN])
{
	struct hy_span s = { data, len };

	return hy_keycache_verifyv(kc, claimed_id, pub, domain, &s, 1, sig);
}

int
hy_keycache_put(struct hy_keycache *kc, const struct hy_id *id,
    const uint8_t pub[HY_PUBKEY_LEN])
{
	EVP_PKEY *pkey = NULL;
	struct hy_id got;
	uint32_t i;
	int rc;

	i = kc_find(kc, id);
	if (i != NIL && memcmp(kc->ent[i].pub, pub, HY_PUBKEY_LEN) == 0) {
		lru_touch(kc, i);
		rc = HY_OK;
		goto out;
	}
	if ((rc = hy_pubkey_decode(pub, &pkey, &got)) != HY_OK)
		goto out;
	if (!hy_id_eq(&got, id)) {
		kc->id_mismatches++;
		rc = HY_EIDMISMATCH;
		goto out;
	}
	kc_insert(kc, &got, pub, pkey);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	return rc;
}

int
hy_keycache_get(struct hy_keycache *kc, const struct hy_id *id,
    struct evp_pkey_st **pkey, uint8_t pub[HY_PUBKEY_LEN])
{
	uint32_t i;

	if ((i = kc_find(kc, id)) == NIL)
		return HY_ENOENT;
	if (pkey != NULL && EVP_PKEY_up_ref(kc->ent[i].pkey) != 1)
		return HY_ECRYPTO;
	lru_touch(kc, i);
	if (pkey != NULL)
		*pkey = kc->ent[i].pkey;
	if (pub != NULL)
		memcpy(pub, kc->ent[i].pub, HY_PUBKEY_LEN);
	return HY_OK;
}

int
hy_keycache_remove(struct hy_keycache *kc, const struct hy_id *id)
{
	uint32_t i;

	if ((i = kc_find(kc, id)) == NIL)
		return HY_ENOENT;
	kc_drop(kc, i);
	return HY_OK;
}

void
hy_keycache_get_stats(const struct hy_keycache *kc,
    struct hy_keycache_stats *st)
{
	st->hits = kc->hits;
	st->misses = kc->misses;
	st->evictions = kc->evictions;
	st->id_mismatches = kc->id_mismatches;
	st->size = kc->size;
	st->capacity = kc->capacity;
}
