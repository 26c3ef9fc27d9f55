/*
 * check_trctx.c: the TLS/DTLS contexts: an overlay CA admits only nodes
 * whose certificate it issued; a key log records the handshake secrets;
 * bad CA configurations are refused with a message. The CA and the node
 * certificates are made here with OpenSSL; traffic is DTLS on 127.0.0.1.
 */
#include "config.h"

#include <check.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypha.h"
#include "ident.h"
#include "tr-ctx.h"
#include "tr-dtls.h"
#include "tr-udp.h"

static char tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hy-trctx.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void
add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ck_assert_ptr_nonnull(ext);
	ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for `subject_key`, signed by ca_key (self-signed if ca
 * is NULL), written as PEM to `file`. Returns the certificate. */
static X509 *
make_cert(const char *cn, EVP_PKEY *subject_key, X509 *ca, EVP_PKEY *ca_key,
    bool is_ca, const char *file)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	FILE *f;

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() | 1));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca) : name);
	X509_NAME_free(name);
	ck_assert_int_eq(X509_set_pubkey(x, subject_key), 1);
	add_ext(ca != NULL ? ca : x, x, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (is_ca)
		add_ext(x, x, NID_key_usage, "critical,keyCertSign");
	ck_assert_int_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	return x;
}

struct ep {
	struct hy_ident *ident;
	struct hy_trctx *ctx;
	struct hy_udp *udp;
	struct hy_dtls *dtls;
	int up, failed;
};

static int
ep_send(void *arg, const struct hy_addr *to, const uint8_t *d, size_t len)
{
	return hy_udp_send(((struct ep *)arg)->udp, to, d, len);
}

static void
ep_udp(void *arg, const struct hy_addr *from, const uint8_t *d, size_t len)
{
	hy_dtls_input(((struct ep *)arg)->dtls, from, d, len);
}

static void
ep_recv(void *arg, const struct hy_id *p, const struct hy_addr *from,
    const uint8_t *d, size_t len)
{
	(void)arg;
	(void)p;
	(void)from;
	(void)d;
	(void)len;
}

static void
ep_event(void *arg, enum hy_dtls_event ev, const struct hy_id *p,
    const struct hy_addr *a, int err)
{
	struct ep *e = arg;

	(void)p;
	(void)a;
	(void)err;
	if (ev == HY_DTLS_UP)
		e->up++;
	else if (ev == HY_DTLS_FAILED)
		e->failed++;
}

static void
ep_init(struct ep *e, struct event_base *base, struct hy_ident *ident,
    const struct hy_trctx_config *tc)
{
	struct hy_dtls_config dc;
	struct hy_addr a;
	char err[256];
	int rc;

	memset(e, 0, sizeof(*e));
	e->ident = ident;
	e->ctx = hy_trctx_new(ident, tc, &rc, err, sizeof(err));
	ck_assert_msg(e->ctx != NULL, "trctx: %s", err);
	hy_addr_parse(&a, "127.0.0.1:0");
	e->udp = hy_udp_open(base, &a, ep_udp, e, &rc);
	ck_assert_ptr_nonnull(e->udp);
	hy_dtls_config_default(&dc);
	dc.handshake_timeout_ms = 1500;
	e->dtls =
	    hy_dtls_new(base, e->ctx, &dc, ep_send, e, ep_recv, ep_event, e);
	ck_assert_ptr_nonnull(e->dtls);
}

static void
ep_fini(struct ep *e)
{
	hy_dtls_free(e->dtls);
	hy_udp_free(e->udp);
	hy_trctx_free(e->ctx);
}

/* Connect a to b; run until a reports up or failed (bounded). */
static int
handshake(struct event_base *base, struct ep *a, struct ep *b)
{
	int up0 = a->up, failed0 = a->failed;

	hy_dtls_connect(a->dtls, hy_udp_local(b->udp), hy_ident_id(b->ident));
	for (int i = 0; i < 300 && a->up == up0 && a->failed == failed0; i++) {
		struct timeval slice = { 0, 10000 };

		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	return a->up > up0 ? 1 : a->failed > failed0 ? 0 : -1;
}

START_TEST(test_trctx_overlay_ca_admits_only_its_nodes)
{
	struct event_base *base = event_base_new();
	struct hy_ident *ia, *ib, *ic;
	EVP_PKEY *cakey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char cafile[128], certa[128], certb[128];
	struct hy_trctx_config ta = { 0 }, tb = { 0 }, tc = { 0 };
	struct ep a, b, c;
	X509 *ca, *xa, *xb;

	ck_assert_ptr_nonnull(cakey);
	path(cafile, sizeof(cafile), "ca.pem");
	path(certa, sizeof(certa), "a.pem");
	path(certb, sizeof(certb), "b.pem");
	ca = make_cert("overlay CA", cakey, NULL, cakey, true, cafile);
	ck_assert_int_eq(hy_ident_generate(&ia), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&ib), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&ic), HY_OK);
	xa = make_cert("a", hy_ident_pkey(ia), ca, cakey, false, certa);
	xb = make_cert("b", hy_ident_pkey(ib), ca, cakey, false, certb);
	ta.ca_file = tb.ca_file = cafile;
	ta.cert_file = certa;
	tb.cert_file = certb;
	ep_init(&a, base, ia, &ta);
	ep_init(&b, base, ib, &tb);
	ep_init(&c, base, ic, &tc); /* self-signed, no CA */

	/* two members of the overlay */
	ck_assert_int_eq(handshake(base, &a, &b), 1);
	/* a member refuses an outsider's self-signed certificate ... */
	ck_assert_int_eq(handshake(base, &a, &c), 0);
	/* ... and so does a member acting as the server */
	ck_assert_int_eq(handshake(base, &c, &b), 0);
	ck_assert_int_eq(b.up, 1);

	ep_fini(&a);
	ep_fini(&b);
	ep_fini(&c);
	X509_free(ca);
	X509_free(xa);
	X509_free(xb);
	EVP_PKEY_free(cakey);
	hy_ident_free(ia);
	hy_ident_free(ib);
	hy_ident_free(ic);
	event_base_free(base);
}
END_TEST

START_TEST(test_trctx_ca_config_errors)
{
	struct hy_ident *ia, *ib;
	EVP_PKEY *cakey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char cafile[128], certb[128], missing[128], err[256];
	struct hy_trctx_config t = { 0 };
	X509 *ca, *xb;
	int rc;

	path(cafile, sizeof(cafile), "ca.pem");
	path(certb, sizeof(certb), "b.pem");
	path(missing, sizeof(missing), "missing.pem");
	ca = make_cert("overlay CA", cakey, NULL, cakey, true, cafile);
	ck_assert_int_eq(hy_ident_generate(&ia), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&ib), HY_OK);
	xb = make_cert("b", hy_ident_pkey(ib), ca, cakey, false, certb);
	/* a CA without our certificate */
	t.ca_file = cafile;
	ck_assert_ptr_null(hy_trctx_new(ia, &t, &rc, err, sizeof(err)));
	ck_assert_int_eq(rc, HY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "cert_file"));
	/* somebody else's certificate */
	t.cert_file = certb;
	ck_assert_ptr_null(hy_trctx_new(ia, &t, &rc, err, sizeof(err)));
	ck_assert_int_eq(rc, HY_EKEYTYPE);
	ck_assert_ptr_nonnull(strstr(err, certb));
	/* files that are not there */
	t.cert_file = missing;
	ck_assert_ptr_null(hy_trctx_new(ia, &t, &rc, err, sizeof(err)));
	ck_assert_int_eq(rc, HY_EIO);
	t.ca_file = missing;
	t.cert_file = certb;
	ck_assert_ptr_null(hy_trctx_new(ib, &t, &rc, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, missing));
	X509_free(ca);
	X509_free(xb);
	EVP_PKEY_free(cakey);
	hy_ident_free(ia);
	hy_ident_free(ib);
}
END_TEST

START_TEST(test_trctx_keylog_records_secrets)
{
	struct event_base *base = event_base_new();
	struct hy_ident *ia, *ib;
	char logfile[128], line[512];
	struct hy_trctx_config t = { 0 }, none = { 0 };
	struct ep a, b;
	FILE *f;
	int lines = 0;

	path(logfile, sizeof(logfile), "keys.log");
	t.keylog_path = logfile;
	ck_assert_int_eq(hy_ident_generate(&ia), HY_OK);
	ck_assert_int_eq(hy_ident_generate(&ib), HY_OK);
	ep_init(&a, base, ia, &t);
	ep_init(&b, base, ib, &none);
	ck_assert_int_eq(handshake(base, &a, &b), 1);
	f = fopen(logfile, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		/* DTLS 1.2: "CLIENT_RANDOM <64 hex> <96 hex>" */
		ck_assert_int_eq(strncmp(line, "CLIENT_RANDOM ", 14), 0);
		lines++;
	}
	fclose(f);
	ck_assert_int_ge(lines, 1);
	ep_fini(&a);
	ep_fini(&b);
	hy_ident_free(ia);
	hy_ident_free(ib);
	event_base_free(base);
}
END_TEST

static Suite *
trctx_suite(void)
{
	Suite *s = suite_create("trctx");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_trctx_overlay_ca_admits_only_its_nodes);
	tcase_add_test(tc, test_trctx_ca_config_errors);
	tcase_add_test(tc, test_trctx_keylog_records_secrets);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(trctx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
