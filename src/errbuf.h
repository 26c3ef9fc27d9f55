/*
 * errbuf.h: one-line error messages for the caller's buffer (L0).
 *
 * Functions that can fail for a reason a person must read (a file, a line,
 * an option) take `char *err, size_t errlen` and fill it with this.
 */
#ifndef HY_ERRBUF_H
#define HY_ERRBUF_H

#include <stddef.h>

/* printf into err (NUL-terminated, truncated); err NULL or errlen 0: no-op */
void hy_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* HY_ERRBUF_H */
