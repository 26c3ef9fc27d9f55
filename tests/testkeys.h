/*
 * testkeys.h: fixed key material and small helpers shared by check_crypto
 * and check_ident. The known-answer values were computed independently with
 * the openssl(1) command line, not with this library:
 *
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 > kat.pem
 *   openssl pkey -in kat.pem -pubout -outform DER | sha256sum     (node ID)
 *   openssl ec -in kat.pem -pubout -conv_form compressed -outform DER |
 *       tail -c 33 | xxd -p                                       (pubkey)
 *   printf 'hypha-test-v1\0known answer message' > msg
 *   openssl dgst -sha256 -sign kat.pem msg | openssl asn1parse -inform DER
 *                                                                 (r and s)
 */
#ifndef HY_TESTKEYS_H
#define HY_TESTKEYS_H

#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KAT_ID_HEX                                                             \
	"8c192846afdb84441164d086df622e62dd4e39e7ee83c6623beffd71f31e41f1"
#define KAT_PUB_HEX                                                            \
	"0357fe8c16c2cd53126865b3d34d9811bb275f89f150980027ab20f5167f8b4000"
#define KAT_DOMAIN "hypha-test-v1"
#define KAT_MSG "known answer message"
#define KAT_SIG_HEX                                                            \
	"f2bd5bcc2037028f740a34951fc3fc3247a2e58aed21b4a64ff8b647f5c174e8"     \
	"aadc7083feaaae4cf8c3b232f0487ddb552489798d848028c6db834f9760d62e"

static const char kat_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXMt7gP8xgRPI4GzX\n"
    "96facOlSK76luEdwl4OysT57NPuhRANCAARX/owWws1TEmhls9NNmBG7J1+J8VCY\n"
    "ACerIPUWf4tAAOY8F8wtZxh8NlXzRIn/K6hDe5g3B4h8Gx+Et0V/7DyJ\n"
    "-----END PRIVATE KEY-----\n";

static const char kat_sec1_compressed_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MFcCAQEEIFzLe4D/MYETyOBs1/en2nDpUiu+pbhHcJeDsrE+ezT7oAoGCCqGSM49\n"
    "AwEHoSQDIgADV/6MFsLNUxJoZbPTTZgRuydfifFQmAAnqyD1Fn+LQAA=\n"
    "-----END EC PRIVATE KEY-----\n";

static const char kat_encrypted_pem[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgJ5XsZAm5rngICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEN1d/sIqfyWjPU+KUuOgmr8EgZDz\n"
    "ItnhUTKUKfUa4he7HVqnZxZ9DtcCt8+vc3CKdu+zb7Ai0uZJpl7McMuHoC5Gxuoe\n"
    "+9F4JCERhD+65SC62gphD0clz672zJ6M/R43icpZx2IqaweCyqVQiqZkSckjICdx\n"
    "aybOoR2CCZbcqWx0yMjMuFHnr/c54Wh8iHXEYmXgLFuNxu+aawxiA/Hl9BSIsVc=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

static const char rsa_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAKbTNWMK0slioFJK\n"
    "qxi2E9DOkcu9IYyONlhx/Tj0XQ7Vp71tl2BlJAMSQY72Kvww0vLjtKn4CVWyNikt\n"
    "Eu5z9KLPwvjIkRaVUsonKW+Qymeh/91uAiovkPhK9TfugWaevPBmHv/CCev5JCM3\n"
    "Og+SVl8zpvGHfxdUl8sDHq7i8TH9AgMBAAECgYBXJT/fNBk2gCHVuxGzv/GMA0yg\n"
    "DHWJEgULoMgxx10RUcTlLGmGPm9Yd2Htx2RfBzY7EX4fx+VAce7fBZ+9Fq+0wTQ7\n"
    "5JSjMefW3rqmU8NxuxnXufh4twr/iuOiilnZ0hQz303lwox19d7RSp/xb9oalFBt\n"
    "Vs1SXqHRWHtzUw5ytQJBANMRvPR4EHbehC97JCpKYvIzDNtHrPUeuO843NbHAwq+\n"
    "M2sieXoolriAalzauc+YmIrDXSAPPmfN+2Zhaj5whQsCQQDKVl8BT8UgP6Om1dJF\n"
    "6Aeg/WgDdCfw49hBm3VFtpL1H4NxZ8rEFWdzaFFbo1wDfKY18uOi5v8GOeUSM3R/\n"
    "CnoXAkAn2uaaJv285GGDcbYvgiJS547a7RrcojN7gHo62BNb+PROm5Dinz1uk1kC\n"
    "NY72gzLyqNcx0Y8QHNYGzAg6yBZnAkAW9sKFlZYb2N0r/CyHPpRPEzOQ4Mf/sPxE\n"
    "Re6DYPtA0rjKUCtVIdDB6l8BdYLl6mm6ybxIKsta24tCC5D3Mis1AkAhttlnusre\n"
    "0GpyIXRd03KRrMmOTlD8iWgWsxoxgvhwtt1QkBTpFtaxznATjuWGwXKQ6aIczXYq\n"
    "foMRDhNS+OfA\n"
    "-----END PRIVATE KEY-----\n";

static const char ed25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAi3vYJtXjrYTKTRUMJwToH/275yHbL0ntvW2bqsUz/H\n"
    "-----END PRIVATE KEY-----\n";

static const char p384_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCqDfbcz2l1/2eJMQ9S\n"
    "xu9n++Q3x78A39auQgnpVZripeMF2oNlLBkROmJL9SrkJ9ChZANiAATZQ+B06aAn\n"
    "X1Z+x1+PGEHCOCTfX7Wteb2X6bFowLbFd0SmpJ+/7NNtXr1UAjGZwcEzxWbY2sz7\n"
    "m5YnMu4i/Gzx9Wtd8X/97kcYxtMXbNj2GEY/Bb3arERSV3YefeLY4lc=\n"
    "-----END PRIVATE KEY-----\n";

/* Decode exactly 2*len hex digits into out; aborts the test on bad input. */
static inline void
test_unhex(const char *hex, uint8_t *out, size_t len)
{
	if (strlen(hex) != 2 * len)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
}

static inline int
test_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Make a fresh directory under $TMPDIR (or /tmp); path gets its name. */
static inline void
test_mkdtemp(char *path, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(path, len, "%s/hypha-test-XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(path) == NULL)
		abort();
}

/* Remove a directory tree made by test_mkdtemp. */
static inline void
test_rmtree(const char *path)
{
	nftw(path, test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Number of entries in a directory, not counting . and .. (-1 on error). */
static inline int
test_count_entries(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#endif /* HY_TESTKEYS_H */
