/*
 * check_crypto.c: unit tests for src/crypto.c (hashing, node IDs from keys,
 * signature verification, the key cache). Signatures here are made with
 * OpenSSL directly (EVP_DigestSign over domain || 0x00 || data), not with
 * hy_ident_sign, so verification is checked against an independent signer.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "rng.h"
#include "testkeys.h"

#define DOM "hypha-dgram-v1"

static const uint8_t p256_n[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
	0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
	0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25,
	0x51 };

/* A test key: the OpenSSL key, its compressed point and its ID. */
struct tkey {
	EVP_PKEY *pkey;
	uint8_t pub[HY_PUBKEY_LEN];
	struct hy_id id;
};

/* Key, compressed point and ID computed with OpenSSL only (i2d_PUBKEY). */
static void
tkey_new(struct tkey *k)
{
	unsigned char *der = NULL;
	int len;

	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(k->pkey);
	len = i2d_PUBKEY(k->pkey, &der);
	ck_assert_int_eq(len, HY_SPKI_LEN);
	ck_assert_int_eq(der[26], 0x04);
	k->pub[0] = 0x02 | (der[90] & 1);
	memcpy(k->pub + 1, der + 27, 32);
	ck_assert_int_eq(EVP_Digest(der, (size_t)len, k->id.b, NULL,
	                     EVP_sha256(), NULL),
	    1);
	OPENSSL_free(der);
}

static void
tkey_free(struct tkey *k)
{
	EVP_PKEY_free(k->pkey);
}

/* Sign domain || 0x00 || data with OpenSSL, into raw r || s. */
static void
tkey_sign(const struct tkey *k, const char *domain, const void *data,
    size_t len, uint8_t sig[HY_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t dl = strlen(domain) + 1, derlen = 80;
	uint8_t *msg = malloc(dl + len + 1), der[80];
	const unsigned char *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	memcpy(msg, domain, dl);
	if (len > 0)
		memcpy(msg + dl, data, len);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	                     k->pkey),
	    1);
	ck_assert_int_eq(EVP_DigestSign(ctx, der, &derlen, msg, dl + len), 1);
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	ck_assert_ptr_nonnull(es);
	ECDSA_SIG_get0(es, &r, &s);
	ck_assert_int_eq(BN_bn2binpad(r, sig, 32), 32);
	ck_assert_int_eq(BN_bn2binpad(s, sig + 32, 32), 32);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(msg);
}

START_TEST(test_crypto_sha256_known_answer)
{
	static const char abc_hex[] = "ba7816bf8f01cfea414140de5dae2223"
	                              "b00361a396177a9cb410ff61f20015ad";
	uint8_t want[32], got[32];

	test_unhex(abc_hex, want, sizeof(want));
	ck_assert_int_eq(hy_sha256("abc", 3, got), HY_OK);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

START_TEST(test_crypto_sha256v_equals_oneshot)
{
	struct hy_span v[3] = { { "hello ", 6 }, { NULL, 0 }, { "world", 5 } };
	uint8_t a[32], b[32];

	ck_assert_int_eq(hy_sha256v(v, 3, a), HY_OK);
	ck_assert_int_eq(hy_sha256("hello world", 11, b), HY_OK);
	ck_assert_mem_eq(a, b, 32);
}
END_TEST

START_TEST(test_crypto_random_bytes_differ)
{
	uint8_t a[32], b[32];

	ck_assert_int_eq(hy_random_bytes(a, sizeof(a)), HY_OK);
	ck_assert_int_eq(hy_random_bytes(b, sizeof(b)), HY_OK);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert_int_eq(hy_random_bytes(a, 0), HY_OK);
}
END_TEST

START_TEST(test_crypto_ct_eq_and_wipe)
{
	uint8_t a[16], b[16];

	memset(a, 7, sizeof(a));
	memset(b, 7, sizeof(b));
	ck_assert(hy_ct_eq(a, b, sizeof(a)));
	b[15] ^= 1;
	ck_assert(!hy_ct_eq(a, b, sizeof(a)));
	hy_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		ck_assert_int_eq(a[i], 0);
	hy_wipe(NULL, 5);
}
END_TEST

START_TEST(test_crypto_domain_check)
{
	char longdom[HY_DOMAIN_MAX + 2];

	ck_assert_int_eq(hy_domain_check("hypha-dgram-v1"), HY_OK);
	ck_assert_int_eq(hy_domain_check(""), HY_EINVAL);
	ck_assert_int_eq(hy_domain_check(NULL), HY_EINVAL);
	ck_assert_int_eq(hy_domain_check("tab\there"), HY_EINVAL);
	ck_assert_int_eq(hy_domain_check("caf\xc3\xa9"), HY_EINVAL);
	memset(longdom, 'a', sizeof(longdom));
	longdom[HY_DOMAIN_MAX] = '\0';
	ck_assert_int_eq(hy_domain_check(longdom), HY_OK);
	longdom[HY_DOMAIN_MAX] = 'a';
	longdom[HY_DOMAIN_MAX + 1] = '\0';
	ck_assert_int_eq(hy_domain_check(longdom), HY_EINVAL);
}
END_TEST

START_TEST(test_crypto_pubkey_to_id_matches_i2d_pubkey)
{
	struct tkey k;
	struct hy_id id;
	uint8_t spki[HY_SPKI_LEN], pub[HY_PUBKEY_LEN];
	unsigned char *der = NULL;

	for (int i = 0; i < 8; i++) {
		tkey_new(&k);
		ck_assert_int_eq(hy_pubkey_to_id(k.pub, &id), HY_OK);
		ck_assert_mem_eq(id.b, k.id.b, HY_ID_LEN);
		ck_assert_int_eq(hy_pubkey_to_spki(k.pub, spki), HY_OK);
		ck_assert_int_eq(i2d_PUBKEY(k.pkey, &der), HY_SPKI_LEN);
		ck_assert_mem_eq(spki, der, HY_SPKI_LEN);
		OPENSSL_free(der);
		der = NULL;
		ck_assert_int_eq(hy_pkey_get_pubkey(k.pkey, pub), HY_OK);
		ck_assert_mem_eq(pub, k.pub, HY_PUBKEY_LEN);
		tkey_free(&k);
	}
}
END_TEST

START_TEST(test_crypto_pubkey_kat_id)
{
	uint8_t pub[HY_PUBKEY_LEN];
	struct hy_id id, want;

	test_unhex(KAT_PUB_HEX, pub, sizeof(pub));
	ck_assert_int_eq(hy_id_from_hex(&want, KAT_ID_HEX), HY_OK);
	ck_assert_int_eq(hy_pubkey_to_id(pub, &id), HY_OK);
	ck_assert(hy_id_eq(&id, &want));
}
END_TEST

START_TEST(test_crypto_pubkey_invalid_point_rejected)
{
	uint8_t pub[HY_PUBKEY_LEN];
	struct hy_id id;
	EVP_PKEY *pkey = (EVP_PKEY *)1;
	int bad = 0, good = 0, rc;

	memset(&id, 0xaa, sizeof(id));
	/* wrong prefix bytes */
	test_unhex(KAT_PUB_HEX, pub, sizeof(pub));
	for (int pfx = 0; pfx < 256; pfx++) {
		if (pfx == 2 || pfx == 3)
			continue;
		pub[0] = (uint8_t)pfx;
		ck_assert_int_eq(hy_pubkey_to_id(pub, &id), HY_EKEYTYPE);
	}
	/* X = p (not reduced) and X = 2^256 - 1 */
	test_unhex("02ffffffff00000001000000000000000000000000fffffffffffffffff"
	           "fff"
	           "ffff",
	    pub, sizeof(pub));
	ck_assert_int_eq(hy_pubkey_to_id(pub, &id), HY_EKEYTYPE);
	memset(pub + 1, 0xff, 32);
	ck_assert_int_eq(hy_pubkey_to_id(pub, &id), HY_EKEYTYPE);
	/* small X: about half are not on the curve */
	for (int x = 0; x < 32; x++) {
		memset(pub, 0, sizeof(pub));
		pub[0] = 0x02;
		pub[32] = (uint8_t)x;
		rc = hy_pubkey_to_id(pub, &id);
		ck_assert(rc == HY_OK || rc == HY_EKEYTYPE);
		rc == HY_OK ? good++ : bad++;
	}
	ck_assert_int_gt(bad, 0);
	ck_assert_int_gt(good, 0);
	/* out-parameters untouched on failure */
	memset(pub + 1, 0xff, 32);
	ck_assert_int_eq(hy_pubkey_decode(pub, &pkey, &id), HY_EKEYTYPE);
	ck_assert_ptr_eq(pkey, (EVP_PKEY *)1);
	memset(pub, 0, sizeof(pub));
	ck_assert_int_eq(hy_pubkey_to_id(pub, &id), HY_EKEYTYPE);
}
END_TEST

START_TEST(test_crypto_verify_kat)
{
	uint8_t pub[HY_PUBKEY_LEN], sig[HY_SIG_LEN];

	test_unhex(KAT_PUB_HEX, pub, sizeof(pub));
	test_unhex(KAT_SIG_HEX, sig, sizeof(sig));
	ck_assert_int_eq(hy_verify(pub, KAT_DOMAIN, KAT_MSG, strlen(KAT_MSG),
	                     sig),
	    HY_OK);
	ck_assert_int_eq(hy_verify(pub, KAT_DOMAIN, KAT_MSG,
	                     strlen(KAT_MSG) - 1, sig),
	    HY_EBADSIG);
}
END_TEST

START_TEST(test_crypto_verify_roundtrip)
{
	struct tkey k;
	uint8_t sig[HY_SIG_LEN];
	static const char msg[] = "a signed datagram";

	tkey_new(&k);
	tkey_sign(&k, DOM, msg, sizeof(msg), sig);
	ck_assert_int_eq(hy_verify(k.pub, DOM, msg, sizeof(msg), sig), HY_OK);
	ck_assert_int_eq(hy_pkey_verifyv(k.pkey, DOM,
	                     &(struct hy_span){ msg, sizeof(msg) }, 1, sig),
	    HY_OK);
	/* empty data */
	tkey_sign(&k, DOM, NULL, 0, sig);
	ck_assert_int_eq(hy_verify(k.pub, DOM, NULL, 0, sig), HY_OK);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_verifyv_equals_concatenation)
{
	struct tkey k;
	uint8_t sig[HY_SIG_LEN];
	struct hy_span v[3] = { { "head|", 5 }, { "body|", 5 }, { "tail", 4 } };

	tkey_new(&k);
	tkey_sign(&k, DOM, "head|body|tail", 14, sig);
	ck_assert_int_eq(hy_verifyv(k.pub, DOM, v, 3, sig), HY_OK);
	v[2].len = 3;
	ck_assert_int_eq(hy_verifyv(k.pub, DOM, v, 3, sig), HY_EBADSIG);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_verify_tampered_data_rejected)
{
	struct tkey k;
	uint8_t sig[HY_SIG_LEN], msg[64];

	tkey_new(&k);
	memset(msg, 0x5a, sizeof(msg));
	tkey_sign(&k, DOM, msg, sizeof(msg), sig);
	for (size_t i = 0; i < sizeof(msg); i += 13) {
		msg[i] ^= 0x01;
		ck_assert_int_eq(hy_verify(k.pub, DOM, msg, sizeof(msg), sig),
		    HY_EBADSIG);
		msg[i] ^= 0x01;
	}
	ck_assert_int_eq(hy_verify(k.pub, DOM, msg, sizeof(msg), sig), HY_OK);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_verify_tampered_sig_rejected)
{
	struct tkey k;
	uint8_t sig[HY_SIG_LEN];

	tkey_new(&k);
	tkey_sign(&k, DOM, "m", 1, sig);
	for (size_t i = 0; i < HY_SIG_LEN; i += 7) {
		sig[i] ^= 0x10;
		ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, sig),
		    HY_EBADSIG);
		sig[i] ^= 0x10;
	}
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_verify_wrong_domain_rejected)
{
	struct tkey k;
	uint8_t sig[HY_SIG_LEN];

	tkey_new(&k);
	tkey_sign(&k, "hypha-dgram-v1", "m", 1, sig);
	ck_assert_int_eq(hy_verify(k.pub, "hypha-dgram-v2", "m", 1, sig),
	    HY_EBADSIG);
	/* the 0x00 separator: ("ab", "cm") is not ("a", "bcm") */
	tkey_sign(&k, "ab", "cm", 2, sig);
	ck_assert_int_eq(hy_verify(k.pub, "a", "bcm", 3, sig), HY_EBADSIG);
	ck_assert_int_eq(hy_verify(k.pub, "", "m", 1, sig), HY_EINVAL);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_verify_wrong_key_rejected)
{
	struct tkey a, b;
	uint8_t sig[HY_SIG_LEN];

	tkey_new(&a);
	tkey_new(&b);
	tkey_sign(&a, DOM, "m", 1, sig);
	ck_assert_int_eq(hy_verify(b.pub, DOM, "m", 1, sig), HY_EBADSIG);
	ck_assert_int_eq(hy_verify(a.pub, DOM, "m", 1, sig), HY_OK);
	tkey_free(&a);
	tkey_free(&b);
}
END_TEST

START_TEST(test_crypto_verify_sig_out_of_range_rejected)
{
	struct tkey k;
	uint8_t sig[HY_SIG_LEN], bad[HY_SIG_LEN];

	tkey_new(&k);
	tkey_sign(&k, DOM, "m", 1, sig);
	/* r = 0 */
	memcpy(bad, sig, sizeof(bad));
	memset(bad, 0, 32);
	ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, bad), HY_EBADSIG);
	/* s = 0 */
	memcpy(bad, sig, sizeof(bad));
	memset(bad + 32, 0, 32);
	ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, bad), HY_EBADSIG);
	/* r = n, s = n, s = 2^256 - 1 */
	memcpy(bad, sig, sizeof(bad));
	memcpy(bad, p256_n, 32);
	ck_assert_int_eq(hy_sig_check_range(bad), HY_EBADSIG);
	ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, bad), HY_EBADSIG);
	memcpy(bad, sig, sizeof(bad));
	memcpy(bad + 32, p256_n, 32);
	ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, bad), HY_EBADSIG);
	memset(bad + 32, 0xff, 32);
	ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, bad), HY_EBADSIG);
	/* the untouched signature still verifies */
	ck_assert_int_eq(hy_verify(k.pub, DOM, "m", 1, sig), HY_OK);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_sig_der_roundtrip)
{
	uint8_t sig[HY_SIG_LEN], back[HY_SIG_LEN], der[HY_SIG_DER_MAX + 1];
	size_t derlen;
	const unsigned char *p;
	ECDSA_SIG *es;

	for (int i = 0; i < 64; i++) {
		ck_assert_int_eq(hy_random_bytes(sig, sizeof(sig)), HY_OK);
		sig[0] &= 0x7f;
		sig[32] &= 0x7f;
		if (i & 1) { /* short values: leading zero bytes */
			memset(sig, 0, 31);
			memset(sig + 32, 0, 20);
		}
		sig[31] |= 1;
		sig[63] |= 1;
		ck_assert_int_eq(hy_sig_to_der(sig, der, &derlen), HY_OK);
		p = der;
		es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
		ck_assert_ptr_nonnull(es);
		ck_assert_ptr_eq(p, der + derlen);
		ECDSA_SIG_free(es);
		ck_assert_int_eq(hy_sig_from_der(der, derlen, back), HY_OK);
		ck_assert_mem_eq(back, sig, HY_SIG_LEN);
	}
	/* trailing byte, truncation */
	der[derlen] = 0;
	ck_assert_int_eq(hy_sig_from_der(der, derlen + 1, back), HY_EBADSIG);
	ck_assert_int_eq(hy_sig_from_der(der, derlen - 1, back), HY_EBADSIG);
	ck_assert_int_eq(hy_sig_from_der(der, 0, back), HY_EBADSIG);
}
END_TEST

/* --- key cache --- */

START_TEST(test_crypto_keycache_new_bounds)
{
	struct hy_keycache *kc;

	ck_assert_ptr_null(hy_keycache_new(0));
	ck_assert_ptr_null(hy_keycache_new((size_t)HY_KEYCACHE_MAX + 1));
	kc = hy_keycache_new(1);
	ck_assert_ptr_nonnull(kc);
	hy_keycache_free(kc);
	hy_keycache_free(NULL);
}
END_TEST

START_TEST(test_crypto_keycache_hit_miss_counters)
{
	struct hy_keycache *kc = hy_keycache_new(16);
	struct hy_keycache_stats st;
	struct tkey k;
	uint8_t sig[HY_SIG_LEN];

	tkey_new(&k);
	tkey_sign(&k, DOM, "m", 1, sig);
	ck_assert_int_eq(hy_keycache_verify(kc, &k.id, k.pub, DOM, "m", 1, sig),
	    HY_OK);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.hits, 0);
	ck_assert_uint_eq(st.size, 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(hy_keycache_verify(kc, &k.id, k.pub, DOM, "m",
		                     1, sig),
		    HY_OK);
	/* a bad signature on a hit is still refused */
	ck_assert_int_eq(hy_keycache_verify(kc, &k.id, k.pub, DOM, "x", 1, sig),
	    HY_EBADSIG);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.hits, 4);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.id_mismatches, 0);
	ck_assert_uint_eq(st.capacity, 16);
	hy_keycache_free(kc);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_keycache_id_mismatch_not_cached)
{
	struct hy_keycache *kc = hy_keycache_new(4);
	struct hy_keycache_stats st;
	struct tkey a, b;
	uint8_t sig[HY_SIG_LEN];

	tkey_new(&a);
	tkey_new(&b);
	tkey_sign(&a, DOM, "m", 1, sig);
	/* a's key, good signature, but claiming b's ID */
	ck_assert_int_eq(hy_keycache_verify(kc, &b.id, a.pub, DOM, "m", 1, sig),
	    HY_EIDMISMATCH);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.id_mismatches, 1);
	ck_assert_uint_eq(st.size, 0);
	ck_assert_int_eq(hy_keycache_get(kc, &b.id, NULL, NULL), HY_ENOENT);
	ck_assert_int_eq(hy_keycache_get(kc, &a.id, NULL, NULL), HY_ENOENT);
	ck_assert_int_eq(hy_keycache_put(kc, &b.id, a.pub), HY_EIDMISMATCH);
	/* cache a, then present b's key under a's ID: refused, a stays */
	ck_assert_int_eq(hy_keycache_verify(kc, &a.id, a.pub, DOM, "m", 1, sig),
	    HY_OK);
	ck_assert_int_eq(hy_keycache_verify(kc, &a.id, b.pub, DOM, "m", 1, sig),
	    HY_EIDMISMATCH);
	ck_assert_int_eq(hy_keycache_verify(kc, &a.id, a.pub, DOM, "m", 1, sig),
	    HY_OK);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.id_mismatches, 3);
	ck_assert_uint_eq(st.misses, 3);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.size, 1);
	hy_keycache_free(kc);
	tkey_free(&a);
	tkey_free(&b);
}
END_TEST

START_TEST(test_crypto_keycache_bad_sig_not_cached)
{
	struct hy_keycache *kc = hy_keycache_new(4);
	struct hy_keycache_stats st;
	struct tkey k;
	uint8_t sig[HY_SIG_LEN];

	tkey_new(&k);
	tkey_sign(&k, DOM, "m", 1, sig);
	ck_assert_int_eq(hy_keycache_verify(kc, &k.id, k.pub, DOM, "n", 1, sig),
	    HY_EBADSIG);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.size, 0);
	/* r = 0 is refused before any lookup or decoding */
	memset(sig, 0, 32);
	ck_assert_int_eq(hy_keycache_verify(kc, &k.id, k.pub, DOM, "m", 1, sig),
	    HY_EBADSIG);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.misses, 1);
	hy_keycache_free(kc);
	tkey_free(&k);
}
END_TEST

START_TEST(test_crypto_keycache_lru_eviction)
{
	enum { CAP = 4, N = 5 };
	struct hy_keycache *kc = hy_keycache_new(CAP);
	struct hy_keycache_stats st;
	struct tkey k[N];
	uint8_t sig[HY_SIG_LEN];

	for (int i = 0; i < N; i++)
		tkey_new(&k[i]);
	for (int i = 0; i < CAP; i++) {
		tkey_sign(&k[i], DOM, "m", 1, sig);
		ck_assert_int_eq(hy_keycache_verify(kc, &k[i].id, k[i].pub, DOM,
		                     "m", 1, sig),
		    HY_OK);
	}
	/* touch 0 so that 1 is now the least recently used */
	tkey_sign(&k[0], DOM, "m", 1, sig);
	ck_assert_int_eq(hy_keycache_verify(kc, &k[0].id, k[0].pub, DOM, "m", 1,
	                     sig),
	    HY_OK);
	tkey_sign(&k[4], DOM, "m", 1, sig);
	ck_assert_int_eq(hy_keycache_verify(kc, &k[4].id, k[4].pub, DOM, "m", 1,
	                     sig),
	    HY_OK);
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.size, CAP);
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert_int_eq(hy_keycache_get(kc, &k[1].id, NULL, NULL), HY_ENOENT);
	for (int i = 0; i < N; i++)
		if (i != 1)
			ck_assert_int_eq(hy_keycache_get(kc, &k[i].id, NULL,
			                     NULL),
			    HY_OK);
	hy_keycache_free(kc);
	for (int i = 0; i < N; i++)
		tkey_free(&k[i]);
}
END_TEST

START_TEST(test_crypto_keycache_bounded)
{
	enum { CAP = 8, N = 40 };
	struct hy_keycache *kc = hy_keycache_new(CAP);
	struct hy_keycache_stats st;
	struct tkey k;
	int present = 0;
	struct hy_id ids[N];

	for (int i = 0; i < N; i++) {
		tkey_new(&k);
		ids[i] = k.id;
		ck_assert_int_eq(hy_keycache_put(kc, &k.id, k.pub), HY_OK);
		hy_keycache_get_stats(kc, &st);
		ck_assert_uint_le(st.size, CAP);
		tkey_free(&k);
	}
	hy_keycache_get_stats(kc, &st);
	ck_assert_uint_eq(st.size, CAP);
	ck_assert_uint_eq(st.evictions, N - CAP);
	/* exactly the last CAP inserted survive */
	for (int i = 0; i < N; i++) {
		int rc = hy_keycache_get(kc, &ids[i], NULL, NULL);

		ck_assert_int_eq(rc, i >= N - CAP ? HY_OK : HY_ENOENT);
		present += rc == HY_OK;
	}
	ck_assert_int_eq(present, CAP);
	hy_keycache_free(kc);
}
END_TEST

/* The cache against a plain array model of an LRU set, random operations. */
START_TEST(test_crypto_keycache_matches_lru_model)
{
	enum { CAP = 8, NK = 24, OPS = 1500 };
	static struct tkey k[NK];
	struct hy_keycache *kc = hy_keycache_new(CAP);
	struct hy_keycache_stats st;
	struct hy_rng rng;
	int model[CAP], msize = 0; /* most recently used first */
	uint64_t evictions = 0;
	uint64_t seed = 20261121;

	hy_rng_seed(&rng, seed);
	for (int i = 0; i < NK; i++)
		tkey_new(&k[i]);
	for (int op = 0; op < OPS; op++) {
		int i = (int)hy_rng_below(&rng, NK),
		    what = (int)hy_rng_below(&rng, 3);
		int pos = -1, rc;

		for (int j = 0; j < msize; j++)
			if (model[j] == i)
				pos = j;
		if (what == 0) {
			rc = hy_keycache_put(kc, &k[i].id, k[i].pub);
			ck_assert_int_eq(rc, HY_OK);
		} else if (what == 1) {
			rc = hy_keycache_get(kc, &k[i].id, NULL, NULL);
			ck_assert_msg(rc == (pos >= 0 ? HY_OK : HY_ENOENT),
			    "seed %llu op %d", (unsigned long long)seed, op);
		} else {
			rc = hy_keycache_remove(kc, &k[i].id);
			ck_assert_msg(rc == (pos >= 0 ? HY_OK : HY_ENOENT),
			    "seed %llu op %d", (unsigned long long)seed, op);
		}
		/* update the model */
		if (pos >= 0) {
			memmove(model + 1, model, (size_t)pos * sizeof(int));
			model[0] = i;
			if (what == 2) {
				memmove(model, model + 1,
				    (size_t)(msize - 1) * sizeof(int));
				msize--;
			}
		} else if (what == 0) {
			if (msize == CAP) {
				msize--;
				evictions++;
			}
			memmove(model + 1, model, (size_t)msize * sizeof(int));
			model[0] = i;
			msize++;
		}
		hy_keycache_get_stats(kc, &st);
		ck_assert_uint_eq(st.size, (size_t)msize);
		ck_assert_uint_eq(st.evictions, evictions);
	}
	for (int i = 0; i < NK; i++) {
		int in = 0;

		for (int j = 0; j < msize; j++)
			in |= model[j] == i;
		ck_assert_int_eq(hy_keycache_get(kc, &k[i].id, NULL, NULL),
		    in ? HY_OK : HY_ENOENT);
	}
	hy_keycache_free(kc);
	for (int i = 0; i < NK; i++)
		tkey_free(&k[i]);
}
END_TEST

START_TEST(test_crypto_keycache_put_get_remove)
{
	struct hy_keycache *kc = hy_keycache_new(2);
	struct tkey k;
	EVP_PKEY *got = NULL;
	uint8_t pub[HY_PUBKEY_LEN];

	tkey_new(&k);
	ck_assert_int_eq(hy_keycache_put(kc, &k.id, k.pub), HY_OK);
	ck_assert_int_eq(hy_keycache_put(kc, &k.id, k.pub), HY_OK);
	ck_assert_int_eq(hy_keycache_get(kc, &k.id, &got, pub), HY_OK);
	ck_assert_mem_eq(pub, k.pub, HY_PUBKEY_LEN);
	ck_assert_int_eq(EVP_PKEY_eq(got, k.pkey), 1);
	ck_assert_int_eq(hy_keycache_remove(kc, &k.id), HY_OK);
	ck_assert_int_eq(hy_keycache_remove(kc, &k.id), HY_ENOENT);
	ck_assert_int_eq(hy_keycache_get(kc, &k.id, NULL, NULL), HY_ENOENT);
	hy_keycache_free(kc);
	/* the reference handed out outlives the cache */
	ck_assert_int_eq(EVP_PKEY_eq(got, k.pkey), 1);
	EVP_PKEY_free(got);
	tkey_free(&k);
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_crypto_sha256_known_answer);
	tcase_add_test(tc, test_crypto_sha256v_equals_oneshot);
	tcase_add_test(tc, test_crypto_random_bytes_differ);
	tcase_add_test(tc, test_crypto_ct_eq_and_wipe);
	tcase_add_test(tc, test_crypto_domain_check);
	tcase_add_test(tc, test_crypto_pubkey_to_id_matches_i2d_pubkey);
	tcase_add_test(tc, test_crypto_pubkey_kat_id);
	tcase_add_test(tc, test_crypto_pubkey_invalid_point_rejected);
	tcase_add_test(tc, test_crypto_verify_kat);
	tcase_add_test(tc, test_crypto_verify_roundtrip);
	tcase_add_test(tc, test_crypto_verifyv_equals_concatenation);
	tcase_add_test(tc, test_crypto_verify_tampered_data_rejected);
	tcase_add_test(tc, test_crypto_verify_tampered_sig_rejected);
	tcase_add_test(tc, test_crypto_verify_wrong_domain_rejected);
	tcase_add_test(tc, test_crypto_verify_wrong_key_rejected);
	tcase_add_test(tc, test_crypto_verify_sig_out_of_range_rejected);
	tcase_add_test(tc, test_crypto_sig_der_roundtrip);
	tcase_add_test(tc, test_crypto_keycache_new_bounds);
	tcase_add_test(tc, test_crypto_keycache_hit_miss_counters);
	tcase_add_test(tc, test_crypto_keycache_id_mismatch_not_cached);
	tcase_add_test(tc, test_crypto_keycache_bad_sig_not_cached);
	tcase_add_test(tc, test_crypto_keycache_lru_eviction);
	tcase_add_test(tc, test_crypto_keycache_bounded);
	tcase_add_test(tc, test_crypto_keycache_matches_lru_model);
	tcase_add_test(tc, test_crypto_keycache_put_get_remove);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(crypto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
