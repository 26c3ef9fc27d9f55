/*
 * ident.h: the local node's identity (L1): an ECDSA P-256 key pair, a
 * self-signed X.509 certificate for it (for TLS/DTLS), its node ID and its
 * 33-byte compressed public key; saving and loading the key; signing.
 *
 * OpenSSL types are forward-declared only (struct evp_pkey_st is EVP_PKEY,
 * struct x509_st is X509); this header includes no OpenSSL header.
 */
#ifndef HY_IDENT_H
#define HY_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "id.h"

struct evp_pkey_st;
struct x509_st;
struct hy_ident;

#define HY_IDENT_KEYFILE "node.key" /* file name inside the state dir */
#define HY_IDENT_MAXFILE 16384 /* larger key files are refused */

/*
 * Create a new identity: a fresh P-256 key, a self-signed X.509 v3
 * certificate (subject and issuer CN = hex node ID, random positive 127-bit
 * serial, valid from now - 1 h for 3653 days, ECDSA-SHA256). Returns HY_OK
 * and *out (free with hy_ident_free), HY_ENOMEM or HY_ECRYPTO.
 */
int hy_ident_generate(struct hy_ident **out);

/*
 * Write the private key to path as unencrypted PKCS#8 PEM, mode 0600,
 * atomically: a temp file "<path>.tmp.XXXXXX" (afile.h) is created in the same
 * directory (O_CREAT|O_EXCL, 0600), written, fsynced, renamed over path,
 * and the directory is fsynced. On failure the temp file is removed and
 * path is unchanged, except when only the final fsync of the directory
 * fails (HY_EIO with the new key already in place). Returns HY_OK,
 * HY_EINVAL, HY_EIO (errno tells why) or HY_ECRYPTO.
 */
int hy_ident_save(const struct hy_ident *id, const char *path);

/*
 * Load an identity from a PEM private key file (PKCS#8 or SEC1 "EC PRIVATE
 * KEY", unencrypted) and rebuild its certificate. On failure returns a code
 * and, if err is not NULL, writes a NUL-terminated message naming the file
 * and the reason into err (errlen bytes):
 *   HY_ENOENT    the file does not exist
 *   HY_EIO       it cannot be opened or read (permissions, I/O error)
 *   HY_EINVAL    not a regular file, or readable/writable by group or
 *                others (refused, as ssh does: fix with chmod 600)
 *   HY_ECORRUPT  empty, too large, not PEM, encrypted, or an inconsistent key
 *   HY_EKEYTYPE  a valid key that is not ECDSA P-256 (RSA, Ed25519, P-384..)
 *   HY_ENOMEM, HY_ECRYPTO
 * *out is written only on success. err (if not NULL and errlen > 0) is
 * always NUL-terminated on return: empty on success, a message on failure.
 */
int hy_ident_load(struct hy_ident **out, const char *path, char *err,
    size_t errlen);

/*
 * Load <state_dir>/node.key, or on first start create the directory (0700,
 * parents are not created) and a new identity saved there. A key file that
 * exists but is rejected is an error, never silently replaced. Returns as
 * hy_ident_load, plus HY_EIO if the directory cannot be created or the new
 * key not saved. err as for hy_ident_load.
 */
int hy_ident_load_or_create(struct hy_ident **out, const char *state_dir,
    char *err, size_t errlen);

/* Free an identity, wiping key material. NULL is a no-op. */
void hy_ident_free(struct hy_ident *id);

/* The node ID; borrowed, valid as long as the identity. */
const struct hy_id *hy_ident_id(const struct hy_ident *id);

/* The HY_PUBKEY_LEN-byte compressed public key; borrowed. */
const uint8_t *hy_ident_pubkey(const struct hy_ident *id);

/* The key pair and the certificate; borrowed (EVP_PKEY_up_ref/X509_up_ref
 * to keep them beyond the identity's life). */
struct evp_pkey_st *hy_ident_pkey(const struct hy_ident *id);
struct x509_st *hy_ident_cert(const struct hy_ident *id);

/*
 * Sign (domain || 0x00 || data) with ECDSA P-256/SHA-256 into raw r || s.
 * hy_ident_signv takes the data as n spans, concatenated. Returns HY_OK,
 * HY_EINVAL (bad domain) or HY_ECRYPTO; sig written only on success.
 */
int hy_ident_sign(const struct hy_ident *id, const char *domain,
    const void *data, size_t len, uint8_t sig[HY_SIG_LEN]);
int hy_ident_signv(const struct hy_ident *id, const char *domain,
    const struct hy_span *v, size_t n, uint8_t sig[HY_SIG_LEN]);

/*
 * The node ID and compressed key of a peer's certificate (borrowed), for
 * the TLS/DTLS layer. Only the key is looked at, not the subject or the
 * signature: authentication comes from the handshake, which proves the peer
 * holds the private key. Returns HY_OK, HY_EKEYTYPE (not a P-256 key),
 * HY_EINVAL (cert NULL) or HY_ECRYPTO. pub may be NULL.
 */
int hy_id_from_cert(struct x509_st *cert, struct hy_id *out,
    uint8_t pub[HY_PUBKEY_LEN]);

#endif /* HY_IDENT_H */
