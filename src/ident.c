/*
 * ident.c: the local node identity (DESIGN.md §2): an ECDSA P-256 key pair,
 * its node ID (SHA-256 of the uncompressed-point SubjectPublicKeyInfo, see
 * crypto.c), its compressed public key and a self-signed X.509 v3
 * certificate used as the TLS 1.3 / DTLS 1.2 credential.
 *
 * Only the private key is stored (PKCS#8 PEM, unencrypted, mode 0600); the
 * certificate is rebuilt on every load, so its serial and validity change
 * between runs while the ID does not. Saving is atomic (temp file, fsync,
 * rename, fsync of the directory): a crash leaves either the old key or the
 * new one, never a torn file, and no temp file survives a failed save.
 *
 * A key file readable or writable by group or others is refused (HY_EINVAL)
 * rather than used with a warning, as OpenSSH does: a node ID is worth
 * nothing once its key has leaked, and the fix (chmod 600) is one command.
 *
 * Invariants: a struct hy_ident always holds a P-256 key with its private
 * half, id == SHA-256(SPKI(pub)), and a certificate for that key. Buffers
 * that held private key bytes or PEM text are wiped with OPENSSL_cleanse.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "afile.h"
#include "errbuf.h"
#include "ident.h"

struct hy_ident {
	EVP_PKEY *pkey;
	X509 *cert;
	struct hy_id id;
	uint8_t pub[HY_PUBKEY_LEN];
};

#define CERT_DAYS 3653 /* ten years */

static int
cert_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A self-signed certificate for pkey, whose node ID is id. */
static int
cert_build(EVP_PKEY *pkey, const struct hy_id *id, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	uint8_t serial[16];
	char hex[HY_ID_HEXLEN];
	int rc = HY_ECRYPTO;

	if ((rc = hy_random_bytes(serial, sizeof(serial))) != HY_OK)
		goto out;
	rc = HY_ECRYPTO;
	serial[0] = (serial[0] & 0x7f) | 0x40; /* positive, never zero */
	hy_id_to_hex(id, hex);
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto out;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, -3600, NULL) ==
	        NULL)
		goto out;
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)hex, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	if (X509_set_pubkey(x, pkey) != 1)
		goto out;
	if (!cert_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !cert_add_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    !cert_add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth"))
		goto out;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = HY_OK;
out:
	X509_free(x);
	X509_NAME_free(name);
	BN_free(bn);
	return rc;
}

/*
 * Wrap a P-256 private key (ownership passes on success) into an identity.
 */
static int
ident_from_pkey(EVP_PKEY *pkey, struct hy_ident **out)
{
	struct hy_ident *id = NULL;
	int rc;

	if ((id = calloc(1, sizeof(*id))) == NULL) {
		rc = HY_ENOMEM;
		goto out;
	}
	if ((rc = hy_pkey_get_pubkey(pkey, id->pub)) != HY_OK ||
	    (rc = hy_pubkey_to_id(id->pub, &id->id)) != HY_OK ||
	    (rc = cert_build(pkey, &id->id, &id->cert)) != HY_OK)
		goto out;
	id->pkey = pkey;
	*out = id;
	id = NULL;
out:
	if (id != NULL) {
		X509_free(id->cert);
		free(id);
	}
	return rc;
}

int
hy_ident_generate(struct hy_ident **out)
{
	EVP_PKEY *pkey = NULL;
	int rc = HY_ECRYPTO;

	ERR_set_mark();
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		goto out;
	if ((rc = ident_from_pkey(pkey, out)) == HY_OK)
		pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	ERR_pop_to_mark();
	return rc;
}

void
hy_ident_free(struct hy_ident *id)
{
	if (id == NULL)
		return;
	EVP_PKEY_free(id->pkey); /* OpenSSL clears the private scalar */
	X509_free(id->cert);
	hy_wipe(id, sizeof(*id));
	free(id);
}

const struct hy_id *
hy_ident_id(const struct hy_ident *id)
{
	return &id->id;
}

const uint8_t *
hy_ident_pubkey(const struct hy_ident *id)
{
	return id->pub;
}

struct evp_pkey_st *
hy_ident_pkey(const struct hy_ident *id)
{
	return id->pkey;
}

struct x509_st *
hy_ident_cert(const struct hy_ident *id)
{
	return id->cert;
}

int
hy_ident_signv(const struct hy_ident *id, const char *domain,
    const struct hy_span *v, size_t n, uint8_t sig[HY_SIG_LEN])
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t md[HY_SHA256_LEN];
	uint8_t der[HY_SIG_DER_MAX];
	size_t derlen = sizeof(der);
	uint8_t tmp[HY_SIG_LEN];
	int rc;

	ERR_set_mark();
	if ((rc = hy_sig_digest(domain, v, n, md)) != HY_OK)
		goto out;
	rc = HY_ECRYPTO;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, id->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &derlen, md, sizeof(md)) != 1)
		goto out;
	if (hy_sig_from_der(der, derlen, tmp) != HY_OK)
		goto out;
	memcpy(sig, tmp, sizeof(tmp));
	rc = HY_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	ERR_pop_to_mark();
	return rc;
}

int
hy_ident_sign(const struct hy_ident *id, const char *domain, const void *data,
    size_t len, uint8_t sig[HY_SIG_LEN])
{
	struct hy_span s = { data, len };

	return hy_ident_signv(id, domain, &s, 1, sig);
}

int
hy_id_from_cert(struct x509_st *cert, struct hy_id *out,
    uint8_t pub[HY_PUBKEY_LEN])
{
	EVP_PKEY *pkey;
	uint8_t p[HY_PUBKEY_LEN];
	struct hy_id id;
	int rc;

	if (cert == NULL)
		return HY_EINVAL;
	ERR_set_mark();
	if ((pkey = X509_get0_pubkey(cert)) == NULL) {
		rc = HY_EKEYTYPE;
		goto out;
	}
	if ((rc = hy_pkey_get_pubkey(pkey, p)) != HY_OK ||
	    (rc = hy_pubkey_to_id(p, &id)) != HY_OK)
		goto out;
	*out = id;
	if (pub != NULL)
		memcpy(pub, p, sizeof(p));
out:
	ERR_pop_to_mark();
	return rc;
}

/* --- files --- */

int
hy_ident_save(const struct hy_ident *id, const char *path)
{
	BIO *bio = NULL;
	BUF_MEM *bm = NULL;
	struct hy_afile f = { .fd = -1 };
	int rc = HY_EINVAL, saved_errno = 0;

	ERR_set_mark();
	if (id == NULL || path == NULL || path[0] == '\0')
		goto out;
	rc = HY_ECRYPTO;
	/* A secure-memory BIO: the PEM text is cleared when freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(bio, id->pkey, NULL, NULL, 0, NULL,
	        NULL) != 1 ||
	    BIO_get_mem_ptr(bio, &bm) != 1 || bm == NULL)
		goto out;
	if ((rc = hy_afile_open(&f, path)) != HY_OK ||
	    (rc = hy_afile_write(&f, bm->data, bm->length)) != HY_OK ||
	    (rc = hy_afile_commit(&f)) != HY_OK)
		goto out;
	rc = HY_OK;
out:
	saved_errno = errno;
	hy_afile_close(&f);
	if (bm != NULL && bm->data != NULL)
		hy_wipe(bm->data, bm->length);
	BIO_free(bio);
	ERR_pop_to_mark();
	errno = saved_errno;
	return rc;
}

/* Passphrase callback that refuses: never prompt on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* Read at most HY_IDENT_MAXFILE + 1 bytes of fd into buf. */
static ssize_t
read_file(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Check the type and consistency of a loaded private key. */
static int
check_pkey(EVP_PKEY *pkey, const char *path, char *err, size_t errlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	char group[64];
	size_t glen = 0;
	const char *type;
	uint8_t pub[HY_PUBKEY_LEN];
	int rc = HY_EKEYTYPE;

	if (!EVP_PKEY_is_a(pkey, "EC")) {
		type = EVP_PKEY_get0_type_name(pkey);
		hy_seterr(err, errlen, "%s: %s key, expected ECDSA P-256", path,
		    type != NULL ? type : "unknown");
		goto out;
	}
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1) {
		hy_seterr(err, errlen,
		    "%s: EC key without a named curve, expected P-256", path);
		goto out;
	}
	if (hy_pkey_get_pubkey(pkey, pub) != HY_OK) {
		hy_seterr(err, errlen, "%s: EC key on curve %s, expected P-256",
		    path, group);
		goto out;
	}
	rc = HY_ECORRUPT;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_check(ctx) != 1) {
		hy_seterr(err, errlen, "%s: key fails its consistency check",
		    path);
		goto out;
	}
	rc = HY_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
hy_ident_load(struct hy_ident **out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	char *buf = NULL;
	ssize_t len = 0;
	int fd = -1, rc = HY_EINVAL;

	hy_seterr(err, errlen, "%s", "");
	ERR_set_mark();
	if (out == NULL || path == NULL || path[0] == '\0') {
		hy_seterr(err, errlen, "no key file name given");
		goto out;
	}
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) <
	    0) {
		rc = errno == ENOENT ? HY_ENOENT : HY_EIO;
		hy_seterr(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = HY_EIO;
		hy_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		hy_seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		hy_seterr(err, errlen,
		    "%s: permissions %04o are too open: a private key must not "
		    "be accessible by group or others (chmod 600 it)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	rc = HY_ENOMEM;
	if ((buf = malloc(HY_IDENT_MAXFILE + 1)) == NULL)
		goto out;
	if ((len = read_file(fd, buf, HY_IDENT_MAXFILE + 1)) < 0) {
		rc = HY_EIO;
		hy_seterr(err, errlen, "%s: read: %s", path, strerror(errno));
		goto out;
	}
	rc = HY_ECORRUPT;
	if (len == 0) {
		hy_seterr(err, errlen, "%s: empty file, expected a PEM key",
		    path);
		goto out;
	}
	if (len > HY_IDENT_MAXFILE) {
		hy_seterr(err, errlen,
		    "%s: larger than %d bytes: not a key file", path,
		    HY_IDENT_MAXFILE);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = HY_ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL) {
		if (memmem(buf, (size_t)len, "ENCRYPTED", 9) != NULL)
			hy_seterr(err, errlen,
			    "%s: encrypted keys are not supported", path);
		else if (memmem(buf, (size_t)len, "-----BEGIN", 10) == NULL)
			hy_seterr(err, errlen, "%s: not a PEM file", path);
		else
			hy_seterr(err, errlen,
			    "%s: no valid PEM private key (corrupt file?)",
			    path);
		goto out;
	}
	if ((rc = check_pkey(pkey, path, err, errlen)) != HY_OK)
		goto out;
	/* Keep certificates canonical even if the file had a compressed point.
	 */
	(void)EVP_PKEY_set_utf8_string_param(pkey,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED);
	if ((rc = ident_from_pkey(pkey, out)) != HY_OK) {
		hy_seterr(err, errlen, "%s: cannot build identity: %s", path,
		    hy_strerror(rc));
		goto out;
	}
	pkey = NULL;
out:
	if (rc != HY_OK && err != NULL && errlen > 0 && err[0] == '\0')
		hy_seterr(err, errlen, "%s: %s", path, hy_strerror(rc));
	if (fd >= 0)
		close(fd);
	BIO_free(bio);
	if (buf != NULL) {
		hy_wipe(buf, HY_IDENT_MAXFILE + 1);
		free(buf);
	}
	EVP_PKEY_free(pkey);
	ERR_pop_to_mark();
	return rc;
}

int
hy_ident_load_or_create(struct hy_ident **out, const char *state_dir, char *err,
    size_t errlen)
{
	struct hy_ident *id = NULL;
	struct stat st;
	char *path = NULL;
	size_t plen;
	int rc = HY_EINVAL;

	hy_seterr(err, errlen, "%s", "");
	if (out == NULL || state_dir == NULL || state_dir[0] == '\0') {
		hy_seterr(err, errlen, "no state directory given");
		goto out;
	}
	plen = strlen(state_dir) + sizeof("/" HY_IDENT_KEYFILE);
	if ((path = malloc(plen)) == NULL) {
		rc = HY_ENOMEM;
		goto out;
	}
	snprintf(path, plen, "%s/%s", state_dir, HY_IDENT_KEYFILE);
	if (mkdir(state_dir, 0700) == 0) {
		/* exactly 0700, whatever the umask */
		(void)chmod(state_dir, 0700);
	} else if (errno != EEXIST) {
		rc = errno == ENOENT ? HY_ENOENT : HY_EIO;
		hy_seterr(err, errlen, "%s: cannot create directory: %s",
		    state_dir, strerror(errno));
		goto out;
	}
	if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		hy_seterr(err, errlen, "%s: not a directory", state_dir);
		goto out;
	}
	rc = hy_ident_load(&id, path, err, errlen);
	if (rc != HY_ENOENT)
		goto out;
	if ((rc = hy_ident_generate(&id)) != HY_OK) {
		hy_seterr(err, errlen, "%s: cannot generate a key: %s", path,
		    hy_strerror(rc));
		goto out;
	}
	if ((rc = hy_ident_save(id, path)) != HY_OK) {
		hy_seterr(err, errlen, "%s: cannot save the new key: %s", path,
		    rc == HY_EIO ? strerror(errno) : hy_strerror(rc));
		goto out;
	}
out:
	if (rc != HY_OK && err != NULL && errlen > 0 && err[0] == '\0')
		hy_seterr(err, errlen, "%s: %s", state_dir, hy_strerror(rc));
	if (rc == HY_OK) {
		*out = id;
		id = NULL;
	}
	hy_ident_free(id);
	free(path);
	return rc;
}
