/*
 * error.c: hy_strerror(). The table is indexed by the negated code; codes are
 * append-only (hypha.h), so a new code only adds a row here.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "errbuf.h"
#include "hypha.h"

static const char *const hy_errstr[] = {
	[0] = "success",
	[-HY_EINVAL] = "invalid argument",
	[-HY_ENOMEM] = "out of memory",
	[-HY_ETRUNC] = "truncated input",
	[-HY_ETYPE] = "field of the wrong type",
	[-HY_ETOOBIG] = "length or count over its limit",
	[-HY_EDEPTH] = "nesting too deep",
	[-HY_ETRAILING] = "trailing bytes after the message",
	[-HY_EUNKNOWN] = "unknown message type",
	[-HY_EVERSION] = "unsupported protocol version",
	[-HY_ENETWORK] = "message for another network",
	[-HY_EBADSIG] = "bad signature",
	[-HY_EREPLAY] = "replayed message",
	[-HY_ESTALE] = "timestamp outside the accepted window",
	[-HY_EIDMISMATCH] = "node ID does not match its key",
	[-HY_EIO] = "I/O error",
	[-HY_ECORRUPT] = "corrupt data",
	[-HY_EKEYTYPE] = "wrong key type",
	[-HY_EFULL] = "table or store full",
	[-HY_EEXIST] = "already exists",
	[-HY_ENOENT] = "not found",
	[-HY_ECANCELED] = "operation cancelled",
	[-HY_ETIMEDOUT] = "timed out",
	[-HY_ECRYPTO] = "cryptographic library failure",
	[-HY_EMARTIAN] = "address not routable",
	[-HY_ESELF] = "refers to the local node",
	[-HY_EDIVERSITY] = "IP diversity limit reached",
	[-HY_ERANGE] = "value out of range",
	[-HY_EMALFORMED] = "malformed field",
	[-HY_ESTATE] = "not valid in the current state",
	[-HY_ERATELIMIT] = "rate limited",
	[-HY_EUNREACHABLE] = "no peer reachable",
};

const char *
hy_strerror(int err)
{
	const char *s = NULL;

	/* Compare before negating: -INT_MIN overflows. */
	if (err <= 0 && err > -(int)(sizeof(hy_errstr) / sizeof(hy_errstr[0])))
		s = hy_errstr[-err];
	return s != NULL ? s : "unknown error";
}

void
hy_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
