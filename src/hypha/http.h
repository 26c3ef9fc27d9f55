/*
 * http.h: the CLI's small HTTP/1.1 client for hyphad's local API.
 *
 * One request per connection (Connection: close). The response parser is
 * pure and incremental so it can be tested on canned bytes; the transport
 * adds a connect timeout and an overall deadline.
 */
#ifndef HYPHA_CLI_HTTP_H
#define HYPHA_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_HTTP_MAX_BODY (8u * 1024 * 1024) /* response body cap */
#define CLI_HTTP_MAX_HEAD (64u * 1024) /* status line + headers cap */

/* Results of the parser and the transport. */
enum cli_http_rc {
	CLI_HTTP_OK = 0,
	CLI_HTTP_AGAIN = 1, /* parser: need more bytes */
	CLI_HTTP_EMALFORMED = -1, /* not a well-formed HTTP/1.x response */
	CLI_HTTP_ETOOBIG = -2, /* head or body over its cap */
	CLI_HTTP_EUNREACH = -3, /* cannot connect, or no answer in time */
	CLI_HTTP_EIO = -4, /* other socket or resolver failure */
	CLI_HTTP_ENOMEM = -5
};

struct cli_http_resp {
	int status; /* 100..599 */
	char *body; /* decoded body, NUL-terminated; owned, free() it */
	size_t body_len;
};

/*
 * Parse a complete response from buf[0..len). eof says the peer closed
 * the connection (a body without Content-Length or chunking ends there).
 * Returns CLI_HTTP_OK and fills r (r->body owned by the caller), or
 * CLI_HTTP_AGAIN if more bytes are needed, or a negative cli_http_rc.
 * Interim 1xx responses are skipped. r is written only on success.
 */
int cli_http_parse(const char *buf, size_t len, bool eof,
    struct cli_http_resp *r);

/*
 * Percent-encode s for a URL path segment (RFC 3986: unreserved characters
 * are kept, every other byte becomes %XX). Returns a malloc'd string, or
 * NULL when out of memory.
 */
char *cli_url_encode(const char *s);

/*
 * Split "host:port", "[v6]:port" or "host" (port defaults to def_port)
 * into host (without brackets) and port. Returns 0, or -1 with a reason in
 * err if addr is malformed.
 */
int cli_http_split_addr(const char *addr, const char *def_port, char *host,
    size_t hostlen, char *port, size_t portlen, char *err, size_t errlen);

/*
 * Send one request to addr ("host:port") and read the response within
 * timeout_ms overall. body may be NULL (no body); ctype is its
 * Content-Type or NULL. Returns CLI_HTTP_OK with *r filled (caller frees
 * r->body), or a negative cli_http_rc with a one-line reason in err.
 */
int cli_http_request(const char *addr, const char *method, const char *path,
    const char *ctype, const void *body, size_t body_len, int timeout_ms,
    struct cli_http_resp *r, char *err, size_t errlen);

#endif /* HYPHA_CLI_HTTP_H */
