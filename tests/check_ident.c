/*
 * check_ident.c: unit tests for src/ident.c (node identity: generation,
 * certificate, signing, atomic save, strict load). Every test works in its
 * own directory under $TMPDIR (or /tmp), removed by the fixture's teardown;
 * nothing is written into the source tree.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ident.h"
#include "testkeys.h"

#define DOM "hypha-dgram-v1"

static char tdir[4096];
static char kpath[4200];
static char err[512];

static void
setup(void)
{
	test_mkdtemp(tdir, sizeof(tdir));
	snprintf(kpath, sizeof(kpath), "%s/node.key", tdir);
	err[0] = '\0';
}

static void
teardown(void)
{
	test_rmtree(tdir);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Load kpath, expecting code rc and an error message naming the file. */
static void
expect_load_fails(int rc, const char *reason)
{
	struct hy_ident *id = (struct hy_ident *)1;

	ck_assert_int_eq(hy_ident_load(&id, kpath, err, sizeof(err)), rc);
	ck_assert_ptr_eq(id, (struct hy_ident *)1);
	ck_assert_msg(strstr(err, kpath) != NULL, "message '%s' lacks '%s'",
	    err, kpath);
	if (reason != NULL)
		ck_assert_msg(strstr(err, reason) != NULL,
		    "message '%s' lacks '%s'", err, reason);
}

START_TEST(test_ident_generate_consistent)
{
	struct hy_ident *id = NULL;
	struct hy_id want;
	const uint8_t *pub;

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	pub = hy_ident_pubkey(id);
	ck_assert(pub[0] == 0x02 || pub[0] == 0x03);
	ck_assert_int_eq(hy_pubkey_to_id(pub, &want), HY_OK);
	ck_assert(hy_id_eq(hy_ident_id(id), &want));
	ck_assert_ptr_nonnull(hy_ident_pkey(id));
	ck_assert_ptr_nonnull(hy_ident_cert(id));
	hy_ident_free(id);
	hy_ident_free(NULL);
}
END_TEST

START_TEST(test_ident_generate_distinct)
{
	struct hy_ident *a = NULL, *b = NULL;

	ck_assert_int_eq(hy_ident_generate(&a), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&b), HY_OK);
	ck_assert(!hy_id_eq(hy_ident_id(a), hy_ident_id(b)));
	hy_ident_free(a);
	hy_ident_free(b);
}
END_TEST

START_TEST(test_ident_cert_fields)
{
	struct hy_ident *id = NULL;
	X509 *x;
	char hex[HY_ID_HEXLEN], cn[128];
	time_t now = time(NULL), t;
	const ASN1_INTEGER *serial;

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	x = hy_ident_cert(id);
	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	hy_id_to_hex(hy_ident_id(id), hex);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	                     NID_commonName, cn, sizeof(cn)),
	    0);
	ck_assert_str_eq(cn, hex);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(x),
	                     X509_get_issuer_name(x)),
	    0);
	/* self-signed with SHA-256, by the identity key */
	ck_assert_int_eq(X509_verify(x, hy_ident_pkey(id)), 1);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	/* valid from about an hour ago for about ten years */
	t = now - 3000;
	ck_assert_int_lt(X509_cmp_time(X509_get0_notBefore(x), &t), 0);
	t = now - 4000;
	ck_assert_int_gt(X509_cmp_time(X509_get0_notBefore(x), &t), 0);
	t = now + (time_t)3652 * 86400 - 4000;
	ck_assert_int_gt(X509_cmp_time(X509_get0_notAfter(x), &t), 0);
	t = now + (time_t)3654 * 86400;
	ck_assert_int_lt(X509_cmp_time(X509_get0_notAfter(x), &t), 0);
	serial = X509_get0_serialNumber(x);
	ck_assert_int_eq(ASN1_STRING_type(serial), V_ASN1_INTEGER);
	ck_assert_int_eq(ASN1_STRING_length(serial), 16);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_cert_key_matches)
{
	struct hy_ident *id = NULL;
	struct hy_id got;
	uint8_t pub[HY_PUBKEY_LEN];

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	ck_assert_int_eq(X509_check_private_key(hy_ident_cert(id),
	                     hy_ident_pkey(id)),
	    1);
	ck_assert_int_eq(hy_id_from_cert(hy_ident_cert(id), &got, pub), HY_OK);
	ck_assert(hy_id_eq(&got, hy_ident_id(id)));
	ck_assert_mem_eq(pub, hy_ident_pubkey(id), HY_PUBKEY_LEN);
	hy_ident_free(id);
}
END_TEST

/* A certificate carrying the key in pem (unsigned: only its key matters). */
static X509 *
cert_with_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	X509 *x = X509_new();

	ck_assert_ptr_nonnull(pkey);
	ck_assert_int_eq(X509_set_pubkey(x, pkey), 1);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return x;
}

START_TEST(test_ident_id_from_cert_rejects_non_p256)
{
	const char *pems[] = { rsa_pem, ed25519_pem, p384_pem };
	struct hy_id id;

	for (size_t i = 0; i < 3; i++) {
		X509 *x = cert_with_key(pems[i]);

		ck_assert_int_eq(hy_id_from_cert(x, &id, NULL), HY_EKEYTYPE);
		X509_free(x);
	}
	ck_assert_int_eq(hy_id_from_cert(NULL, &id, NULL), HY_EINVAL);
}
END_TEST

START_TEST(test_ident_id_from_cert_kat)
{
	X509 *x = cert_with_key(kat_pem);
	struct hy_id id, want;

	ck_assert_int_eq(hy_id_from_hex(&want, KAT_ID_HEX), HY_OK);
	ck_assert_int_eq(hy_id_from_cert(x, &id, NULL), HY_OK);
	ck_assert(hy_id_eq(&id, &want));
	X509_free(x);
	/* a certificate with the point compressed gives the same ID */
	x = cert_with_key(kat_sec1_compressed_pem);
	ck_assert_int_eq(hy_id_from_cert(x, &id, NULL), HY_OK);
	ck_assert(hy_id_eq(&id, &want));
	X509_free(x);
}
END_TEST

START_TEST(test_ident_sign_verify_roundtrip)
{
	struct hy_ident *id = NULL;
	uint8_t sig[HY_SIG_LEN];
	static const char msg[] = "PING from a friend";

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(hy_ident_sign(id, DOM, msg, sizeof(msg), sig),
		    HY_OK);
		ck_assert_int_eq(hy_verify(hy_ident_pubkey(id), DOM, msg,
		                     sizeof(msg), sig),
		    HY_OK);
		ck_assert_int_eq(hy_verify(hy_ident_pubkey(id), "other", msg,
		                     sizeof(msg), sig),
		    HY_EBADSIG);
	}
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_sign_checked_by_openssl)
{
	struct hy_ident *id = NULL;
	uint8_t sig[HY_SIG_LEN], der[HY_SIG_DER_MAX];
	size_t derlen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const char full[] = DOM "\0payload";

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	ck_assert_int_eq(hy_ident_sign(id, DOM, "payload", 7, sig), HY_OK);
	ck_assert_int_eq(hy_sig_to_der(sig, der, &derlen), HY_OK);
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	                     hy_ident_pkey(id)),
	    1);
	/* full = domain || 0x00 || payload, without the final NUL */
	ck_assert_int_eq(EVP_DigestVerify(ctx, der, derlen,
	                     (const uint8_t *)full, sizeof(full) - 1),
	    1);
	EVP_MD_CTX_free(ctx);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_signv_equals_sign)
{
	struct hy_ident *id = NULL;
	uint8_t sig[HY_SIG_LEN];
	struct hy_span v[2] = { { "pay", 3 }, { "load", 4 } };

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	ck_assert_int_eq(hy_ident_signv(id, DOM, v, 2, sig), HY_OK);
	ck_assert_int_eq(hy_verify(hy_ident_pubkey(id), DOM, "payload", 7, sig),
	    HY_OK);
	ck_assert_int_eq(hy_ident_sign(id, "", "x", 1, sig), HY_EINVAL);
	ck_assert_int_eq(hy_ident_sign(id, "bad\ndomain", "x", 1, sig),
	    HY_EINVAL);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_save_load_same_id)
{
	struct hy_ident *a = NULL, *b = NULL;
	uint8_t sig[HY_SIG_LEN];

	ck_assert_int_eq(hy_ident_generate(&a), HY_OK);
	ck_assert_int_eq(hy_ident_save(a, kpath), HY_OK);
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(hy_ident_load(&b, kpath, err, sizeof(err)), HY_OK);
	ck_assert_str_eq(err, "");
	ck_assert(hy_id_eq(hy_ident_id(a), hy_ident_id(b)));
	ck_assert_mem_eq(hy_ident_pubkey(a), hy_ident_pubkey(b), HY_PUBKEY_LEN);
	/* the reloaded key signs for the same identity */
	ck_assert_int_eq(hy_ident_sign(b, DOM, "x", 1, sig), HY_OK);
	ck_assert_int_eq(hy_verify(hy_ident_pubkey(a), DOM, "x", 1, sig),
	    HY_OK);
	ck_assert_int_eq(X509_check_private_key(hy_ident_cert(b),
	                     hy_ident_pkey(b)),
	    1);
	hy_ident_free(a);
	hy_ident_free(b);
}
END_TEST

START_TEST(test_ident_save_mode_0600)
{
	struct hy_ident *id = NULL;
	struct stat st;
	mode_t old = umask(0);

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	ck_assert_int_eq(hy_ident_save(id, kpath), HY_OK);
	umask(old);
	ck_assert_int_eq(stat(kpath, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(S_ISREG(st.st_mode));
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_save_is_pkcs8_pem)
{
	struct hy_ident *id = NULL;
	char buf[1024];
	ssize_t n;
	int fd;

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	ck_assert_int_eq(hy_ident_save(id, kpath), HY_OK);
	fd = open(kpath, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_eq(strstr(buf, "-----BEGIN PRIVATE KEY-----\n"), buf);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_save_replaces_atomically)
{
	struct hy_ident *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(hy_ident_generate(&a), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&b), HY_OK);
	ck_assert_int_eq(hy_ident_save(a, kpath), HY_OK);
	ck_assert_int_eq(hy_ident_save(b, kpath), HY_OK);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(hy_ident_load(&c, kpath, err, sizeof(err)), HY_OK);
	ck_assert(hy_id_eq(hy_ident_id(b), hy_ident_id(c)));
	hy_ident_free(a);
	hy_ident_free(b);
	hy_ident_free(c);
}
END_TEST

START_TEST(test_ident_save_failure_leaves_no_temp)
{
	struct hy_ident *id = NULL;
	char path[4300];

	ck_assert_int_eq(hy_ident_generate(&id), HY_OK);
	/* rename onto a directory fails after the temp file was written */
	ck_assert_int_eq(mkdir(kpath, 0700), 0);
	ck_assert_int_eq(hy_ident_save(id, kpath), HY_EIO);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(test_count_entries(kpath), 0);
	/* a directory that does not exist */
	snprintf(path, sizeof(path), "%s/missing/node.key", tdir);
	ck_assert_int_eq(hy_ident_save(id, path), HY_EIO);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(test_count_entries(tdir), 1);
	ck_assert_int_eq(hy_ident_save(id, ""), HY_EINVAL);
	ck_assert_int_eq(hy_ident_save(NULL, kpath), HY_EINVAL);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_load_missing_file)
{
	expect_load_fails(HY_ENOENT, "No such file");
}
END_TEST

START_TEST(test_ident_load_empty_file)
{
	write_file(kpath, "", 0, 0600);
	expect_load_fails(HY_ECORRUPT, "empty");
}
END_TEST

START_TEST(test_ident_load_garbage_file)
{
	static const char junk[] = "this is not a key\n\x01\x02\xff";

	write_file(kpath, junk, sizeof(junk), 0600);
	expect_load_fails(HY_ECORRUPT, "not a PEM");
}
END_TEST

START_TEST(test_ident_load_corrupt_pem)
{
	char *bad = strdup(kat_pem);
	char *p = strchr(bad, '\n') + 10;

	/* damage the base64 body */
	p[0] = p[0] == 'A' ? 'B' : 'A';
	p[1] = '*';
	write_file(kpath, bad, strlen(bad), 0600);
	expect_load_fails(HY_ECORRUPT, "corrupt");
	/* truncated */
	write_file(kpath, kat_pem, strlen(kat_pem) / 2, 0600);
	expect_load_fails(HY_ECORRUPT, NULL);
	free(bad);
}
END_TEST

START_TEST(test_ident_load_encrypted_key)
{
	write_file(kpath, kat_encrypted_pem, strlen(kat_encrypted_pem), 0600);
	expect_load_fails(HY_ECORRUPT, "encrypted");
}
END_TEST

START_TEST(test_ident_load_rsa_key)
{
	write_file(kpath, rsa_pem, strlen(rsa_pem), 0600);
	expect_load_fails(HY_EKEYTYPE, "RSA");
}
END_TEST

START_TEST(test_ident_load_ed25519_key)
{
	write_file(kpath, ed25519_pem, strlen(ed25519_pem), 0600);
	expect_load_fails(HY_EKEYTYPE, "ED25519");
}
END_TEST

START_TEST(test_ident_load_p384_key)
{
	write_file(kpath, p384_pem, strlen(p384_pem), 0600);
	expect_load_fails(HY_EKEYTYPE, "secp384r1");
}
END_TEST

START_TEST(test_ident_load_open_permissions)
{
	write_file(kpath, kat_pem, strlen(kat_pem), 0644);
	expect_load_fails(HY_EINVAL, "0644");
	write_file(kpath, kat_pem, strlen(kat_pem), 0620);
	expect_load_fails(HY_EINVAL, "too open");
}
END_TEST

START_TEST(test_ident_load_not_regular)
{
	ck_assert_int_eq(mkdir(kpath, 0700), 0);
	expect_load_fails(HY_EINVAL, "not a regular file");
	ck_assert_int_eq(rmdir(kpath), 0);
	/* a FIFO with no writer: refused at once, not waited on */
	ck_assert_int_eq(mkfifo(kpath, 0600), 0);
	expect_load_fails(HY_EINVAL, "not a regular file");
}
END_TEST

START_TEST(test_ident_load_too_large)
{
	size_t n = HY_IDENT_MAXFILE + 100;
	char *big = malloc(n);

	memset(big, 'A', n);
	write_file(kpath, big, n, 0600);
	expect_load_fails(HY_ECORRUPT, "larger");
	free(big);
}
END_TEST

START_TEST(test_ident_load_kat)
{
	struct hy_ident *id = NULL;
	struct hy_id want;
	uint8_t sig[HY_SIG_LEN], pub[HY_PUBKEY_LEN];

	write_file(kpath, kat_pem, strlen(kat_pem), 0600);
	ck_assert_int_eq(hy_ident_load(&id, kpath, err, sizeof(err)), HY_OK);
	ck_assert_int_eq(hy_id_from_hex(&want, KAT_ID_HEX), HY_OK);
	ck_assert(hy_id_eq(hy_ident_id(id), &want));
	test_unhex(KAT_PUB_HEX, pub, sizeof(pub));
	ck_assert_mem_eq(hy_ident_pubkey(id), pub, HY_PUBKEY_LEN);
	ck_assert_int_eq(hy_ident_sign(id, KAT_DOMAIN, KAT_MSG, strlen(KAT_MSG),
	                     sig),
	    HY_OK);
	ck_assert_int_eq(hy_verify(pub, KAT_DOMAIN, KAT_MSG, strlen(KAT_MSG),
	                     sig),
	    HY_OK);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_load_sec1_compressed_same_id)
{
	struct hy_ident *id = NULL;
	struct hy_id want;
	unsigned char *der = NULL;

	write_file(kpath, kat_sec1_compressed_pem,
	    strlen(kat_sec1_compressed_pem), 0600);
	ck_assert_int_eq(hy_ident_load(&id, kpath, err, sizeof(err)), HY_OK);
	ck_assert_int_eq(hy_id_from_hex(&want, KAT_ID_HEX), HY_OK);
	ck_assert(hy_id_eq(hy_ident_id(id), &want));
	/* the rebuilt certificate carries the canonical, uncompressed SPKI */
	ck_assert_int_eq(i2d_PUBKEY(X509_get0_pubkey(hy_ident_cert(id)), &der),
	    HY_SPKI_LEN);
	OPENSSL_free(der);
	hy_ident_free(id);
}
END_TEST

START_TEST(test_ident_load_or_create_first_start)
{
	struct hy_ident *a = NULL, *b = NULL;
	char dir[4200], path[4300];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/state", tdir);
	snprintf(path, sizeof(path), "%s/node.key", dir);
	ck_assert_int_eq(hy_ident_load_or_create(&a, dir, err, sizeof(err)),
	    HY_OK);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(test_count_entries(dir), 1);
	/* second start: the same identity */
	ck_assert_int_eq(hy_ident_load_or_create(&b, dir, err, sizeof(err)),
	    HY_OK);
	ck_assert(hy_id_eq(hy_ident_id(a), hy_ident_id(b)));
	hy_ident_free(a);
	hy_ident_free(b);
}
END_TEST

START_TEST(test_ident_load_or_create_keeps_bad_key)
{
	struct hy_ident *id = (struct hy_ident *)1;
	struct stat st;

	write_file(kpath, rsa_pem, strlen(rsa_pem), 0600);
	ck_assert_int_eq(hy_ident_load_or_create(&id, tdir, err, sizeof(err)),
	    HY_EKEYTYPE);
	ck_assert_ptr_eq(id, (struct hy_ident *)1);
	ck_assert_ptr_nonnull(strstr(err, kpath));
	/* the rejected file is left alone, not replaced by a new key */
	ck_assert_int_eq(stat(kpath, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)strlen(rsa_pem));
}
END_TEST

START_TEST(test_ident_load_or_create_bad_dir)
{
	struct hy_ident *id = (struct hy_ident *)1;
	char path[4300];

	snprintf(path, sizeof(path), "%s/a/b", tdir);
	ck_assert_int_eq(hy_ident_load_or_create(&id, path, err, sizeof(err)),
	    HY_ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
	write_file(kpath, "x", 1, 0600);
	ck_assert_int_eq(hy_ident_load_or_create(&id, kpath, err, sizeof(err)),
	    HY_EINVAL);
	ck_assert_ptr_eq(id, (struct hy_ident *)1);
}
END_TEST

static Suite *
ident_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ident_generate_consistent);
	tcase_add_test(tc, test_ident_generate_distinct);
	tcase_add_test(tc, test_ident_cert_fields);
	tcase_add_test(tc, test_ident_cert_key_matches);
	tcase_add_test(tc, test_ident_id_from_cert_rejects_non_p256);
	tcase_add_test(tc, test_ident_id_from_cert_kat);
	tcase_add_test(tc, test_ident_sign_verify_roundtrip);
	tcase_add_test(tc, test_ident_sign_checked_by_openssl);
	tcase_add_test(tc, test_ident_signv_equals_sign);
	tcase_add_test(tc, test_ident_save_load_same_id);
	tcase_add_test(tc, test_ident_save_mode_0600);
	tcase_add_test(tc, test_ident_save_is_pkcs8_pem);
	tcase_add_test(tc, test_ident_save_replaces_atomically);
	tcase_add_test(tc, test_ident_save_failure_leaves_no_temp);
	tcase_add_test(tc, test_ident_load_missing_file);
	tcase_add_test(tc, test_ident_load_empty_file);
	tcase_add_test(tc, test_ident_load_garbage_file);
	tcase_add_test(tc, test_ident_load_corrupt_pem);
	tcase_add_test(tc, test_ident_load_encrypted_key);
	tcase_add_test(tc, test_ident_load_rsa_key);
	tcase_add_test(tc, test_ident_load_ed25519_key);
	tcase_add_test(tc, test_ident_load_p384_key);
	tcase_add_test(tc, test_ident_load_open_permissions);
	tcase_add_test(tc, test_ident_load_not_regular);
	tcase_add_test(tc, test_ident_load_too_large);
	tcase_add_test(tc, test_ident_load_kat);
	tcase_add_test(tc, test_ident_load_sec1_compressed_same_id);
	tcase_add_test(tc, test_ident_load_or_create_first_start);
	tcase_add_test(tc, test_ident_load_or_create_keeps_bad_key);
	tcase_add_test(tc, test_ident_load_or_create_bad_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ident_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
