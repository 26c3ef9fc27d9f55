/*
 * tr-ctx.h: OpenSSL contexts for the DTLS and TLS transports (L2).
 *
 * Both transports authenticate peers by the node identity: every peer shows
 * a certificate for a P-256 key, and its node ID is the SHA-256 of that
 * key's SubjectPublicKeyInfo. Without an overlay CA, any self-signed
 * certificate is accepted at the TLS level and the transport then checks
 * the ID against the one it expected; with an overlay CA (ca_file), the
 * chain must verify too, and the node presents the certificate the CA
 * issued for its key (cert_file) instead of its self-signed one.
 * SSLKEYLOGFILE-style key logging is optional.
 */
#ifndef HY_TR_CTX_H
#define HY_TR_CTX_H

#include <stdbool.h>
#include <stdio.h>

#include "id.h"

struct ssl_ctx_st;
struct ssl_st;
struct hy_ident;

struct hy_trctx_config {
	const char *ca_file; /* overlay CA (PEM); NULL: self-signed ok */
	/*
	 * The node's certificate issued by the overlay CA (PEM, leaf first,
	 * then any intermediates); its key must be the identity's. Required
	 * with ca_file, ignored without.
	 */
	const char *cert_file;
	const char *keylog_path; /* NULL: getenv("SSLKEYLOGFILE"), if set */
};

struct hy_trctx;

/*
 * Build the DTLS 1.2 and TLS 1.3 contexts for an identity. The identity
 * must outlive the result. On failure returns NULL, *err is set and errbuf
 * says why (a CA file that does not load, an unwritable key log).
 */
struct hy_trctx *hy_trctx_new(const struct hy_ident *id,
    const struct hy_trctx_config *cfg, int *err, char *errbuf, size_t errlen);
void hy_trctx_free(struct hy_trctx *t);

struct ssl_ctx_st *hy_trctx_dtls(const struct hy_trctx *t);
struct ssl_ctx_st *hy_trctx_tls(const struct hy_trctx *t);
const struct hy_ident *hy_trctx_ident(const struct hy_trctx *t);

/*
 * The node ID of an established connection's peer, from its certificate.
 * Returns 0, HY_ENOENT (no certificate) or HY_EKEYTYPE.
 */
int hy_trctx_peer_id(struct ssl_st *ssl, struct hy_id *out);

#endif /* HY_TR_CTX_H */
