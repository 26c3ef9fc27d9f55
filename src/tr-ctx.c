/*
 * tr-ctx.c: the SSL_CTX pair shared by all DTLS sessions and TLS streams.
 *
 * Choices: DTLS 1.2 only (OpenSSL 3.0 has no DTLS 1.3) and TLS 1.3 only;
 * ECDHE-ECDSA AEAD suites for DTLS; mutual authentication required both
 * ways; the peer's certificate must carry a P-256 key (checked in the
 * verify callback, so a wrong key type fails the handshake early). Session
 * tickets stay on, so a client that kept its session resumes in one round
 * trip without the server keeping per-client state.
 */
#include "config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "hypha.h"
#include "ident.h"
#include "tr-ctx.h"

struct hy_trctx {
	SSL_CTX *dtls, *tls;
	X509 *cert; /* CA-issued leaf, or NULL: self-signed */
	STACK_OF(X509) * chain; /* intermediates after the leaf */
	const struct hy_ident *ident;
	bool have_ca;
	FILE *keylog;
};

static void
hy_trctx_keylog_cb(const SSL *ssl, const char *line)
{
	struct hy_trctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (t != NULL && t->keylog != NULL) {
		fprintf(t->keylog, "%s\n", line);
		fflush(t->keylog);
	}
}

/*
 * Only the leaf matters for identity: it must hold a P-256 key. Without an
 * overlay CA, self-signed leaves are fine (OpenSSL's own verdict is ignored);
 * with one, OpenSSL's chain verdict stands.
 */
static int
hy_trctx_verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct hy_trctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	X509 *cert = X509_STORE_CTX_get_current_cert(xs);
	struct hy_id id;
	uint8_t pub[33];

	if (X509_STORE_CTX_get_error_depth(xs) == 0) {
		if (cert == NULL || hy_id_from_cert(cert, &id, pub) != HY_OK) {
			X509_STORE_CTX_set_error(xs,
			    X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM);
			return 0;
		}
	}
	if (t != NULL && t->have_ca)
		return preverify_ok;
	return 1;
}

static SSL_CTX *
hy_trctx_make(struct hy_trctx *t, const struct hy_trctx_config *cfg, bool dtls,
    char *errbuf, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(dtls ? DTLS_method() : TLS_method());

	if (ctx == NULL)
		goto fail;
	if (dtls) {
		if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
		    !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) ||
		    !SSL_CTX_set_cipher_list(ctx,
		        "ECDHE-ECDSA-AES128-GCM-SHA256:"
		        "ECDHE-ECDSA-CHACHA20-POLY1305:"
		        "ECDHE-ECDSA-AES256-GCM-SHA384"))
			goto fail;
		/* we size records ourselves; never ask the kernel */
		SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
		SSL_CTX_set_read_ahead(ctx, 1);
	} else {
		if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
			goto fail;
	}
	if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256"))
		goto fail;
	if (SSL_CTX_use_certificate(ctx,
	        t->cert != NULL ? t->cert : hy_ident_cert(t->ident)) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, hy_ident_pkey(t->ident)) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	for (int i = 0; t->chain != NULL && i < sk_X509_num(t->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(t->chain, i)) !=
		    1)
			goto fail;
	SSL_CTX_set_verify(ctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    hy_trctx_verify_cb);
	if (cfg->ca_file != NULL &&
	    SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
		snprintf(errbuf, errlen, "%s: cannot load the overlay CA",
		    cfg->ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* resumption requires a session ID context once peers are verified */
	if (SSL_CTX_set_session_id_context(ctx,
	        (const unsigned char *)(dtls ? "hypha-dtls" : "hypha-tls"),
	        dtls ? 10 : 9) != 1)
		goto fail;
	/* server-side session cache off: resumption goes through tickets */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_set_app_data(ctx, t);
	if (t->keylog != NULL)
		SSL_CTX_set_keylog_callback(ctx, hy_trctx_keylog_cb);
	return ctx;
fail:
	snprintf(errbuf, errlen, "cannot set up the %s context",
	    dtls ? "DTLS" : "TLS");
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/*
 * Load the node's CA-issued certificate chain. The leaf must certify the
 * identity's own key: a certificate for another key would make the node
 * claim an ID it cannot prove. Returns 0, or HY_EIO / HY_ECORRUPT /
 * HY_EKEYTYPE with a message in errbuf.
 */
static int
hy_trctx_load_cert(struct hy_trctx *t, const char *path, char *errbuf,
    size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int rc = HY_ECORRUPT;

	if (f == NULL) {
		snprintf(errbuf, errlen, "%s: cannot open", path);
		return HY_EIO;
	}
	t->cert = PEM_read_X509(f, NULL, NULL, NULL);
	if (t->cert == NULL) {
		snprintf(errbuf, errlen, "%s: no PEM certificate", path);
		goto out;
	}
	if (X509_check_private_key(t->cert, hy_ident_pkey(t->ident)) != 1) {
		snprintf(errbuf, errlen,
		    "%s: certificate is not for this node's key", path);
		rc = HY_EKEYTYPE;
		goto out;
	}
	t->chain = sk_X509_new_null();
	if (t->chain == NULL)
		goto out;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(t->chain, x) <= 0) {
			X509_free(x);
			goto out;
		}
	rc = HY_OK;
out:
	fclose(f);
	ERR_clear_error();
	return rc;
}

struct hy_trctx *
hy_trctx_new(const struct hy_ident *id, const struct hy_trctx_config *cfg,
    int *err, char *errbuf, size_t errlen)
{
	struct hy_trctx *t;
	const char *keylog = cfg->keylog_path;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		*err = HY_ENOMEM;
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	t->ident = id;
	t->have_ca = cfg->ca_file != NULL;
	if (t->have_ca) {
		if (cfg->cert_file == NULL) {
			snprintf(errbuf, errlen,
			    "an overlay CA needs the node's certificate "
			    "issued by it (cert_file)");
			*err = HY_EINVAL;
			goto fail;
		}
		*err = hy_trctx_load_cert(t, cfg->cert_file, errbuf, errlen);
		if (*err != HY_OK)
			goto fail;
	}
	if (keylog == NULL)
		keylog = getenv("SSLKEYLOGFILE");
	if (keylog != NULL && keylog[0] != '\0') {
		t->keylog = fopen(keylog, "a");
		if (t->keylog == NULL) {
			snprintf(errbuf, errlen, "%s: cannot open key log",
			    keylog);
			*err = HY_EIO;
			goto fail;
		}
	}
	t->dtls = hy_trctx_make(t, cfg, true, errbuf, errlen);
	if (t->dtls != NULL)
		t->tls = hy_trctx_make(t, cfg, false, errbuf, errlen);
	if (t->dtls == NULL || t->tls == NULL) {
		*err = HY_ECRYPTO;
		goto fail;
	}
	return t;
fail:
	hy_trctx_free(t);
	return NULL;
}

void
hy_trctx_free(struct hy_trctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->dtls);
	SSL_CTX_free(t->tls);
	X509_free(t->cert);
	sk_X509_pop_free(t->chain, X509_free);
	if (t->keylog != NULL)
		fclose(t->keylog);
	free(t);
}

SSL_CTX *
hy_trctx_dtls(const struct hy_trctx *t)
{
	return t->dtls;
}

SSL_CTX *
hy_trctx_tls(const struct hy_trctx *t)
{
	return t->tls;
}

const struct hy_ident *
hy_trctx_ident(const struct hy_trctx *t)
{
	return t->ident;
}

int
hy_trctx_peer_id(SSL *ssl, struct hy_id *out)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	uint8_t pub[33];

	if (cert == NULL)
		return HY_ENOENT;
	return hy_id_from_cert(cert, out, pub);
}
