/*
 * http.c: a small HTTP/1.1 client, enough to talk to hyphad's local API.
 *
 * The parser (cli_http_parse) is pure: it takes the bytes received so far
 * and either returns a complete response, asks for more, or rejects the
 * input. It accepts a status line "HTTP/1.x NNN reason", header lines
 * ending in CRLF (bare LF tolerated), a body delimited by Content-Length,
 * by chunked transfer coding (RFC 9112 §7.1) or by the end of the
 * connection. It rejects what a careful client should: obsolete line
 * folding, conflicting Content-Length values, both Content-Length and
 * Transfer-Encoding, codings other than chunked, over-long heads and
 * bodies over CLI_HTTP_MAX_BODY. The parser is re-run on the growing
 * buffer; the transport retries only when the buffer has doubled (or at
 * EOF), which keeps the total work linear.
 *
 * The transport resolves the API address, connects without blocking
 * (poll with the remaining time), sends one request with Connection:
 * close and reads until the response is complete, all within one deadline.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hypha.h"
#include "hypha/http.h"

#define MAX_HEADERS 100
#define MAX_CHUNK_LINE 1024
#define MAX_RAW (CLI_HTTP_MAX_HEAD + 2 * CLI_HTTP_MAX_BODY)

/* End of the line starting at p: the '\n', or NULL if none before end. */
static const char *
line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* Length of the line p..nl without its "\r\n" or "\n". */
static size_t
line_len(const char *p, const char *nl)
{
	size_t n = (size_t)(nl - p);

	return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

static int
parse_status(const char *p, size_t n, int *status)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !isdigit((uint8_t)p[7]) ||
	    p[8] != ' ')
		return CLI_HTTP_EMALFORMED;
	for (int i = 9; i < 12; i++)
		if (!isdigit((uint8_t)p[i]))
			return CLI_HTTP_EMALFORMED;
	if (n > 12 && p[12] != ' ')
		return CLI_HTTP_EMALFORMED;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	return *status >= 100 && *status <= 599 ? CLI_HTTP_OK
	                                        : CLI_HTTP_EMALFORMED;
}

struct head {
	int status;
	bool chunked, has_len;
	uint64_t content_len;
};

/* Value of one header: trims spaces and tabs at both ends. */
static void
trim(const char **v, size_t *n)
{
	while (*n > 0 && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n > 0 && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static int
parse_header(const char *p, size_t n, struct head *h)
{
	const char *colon = memchr(p, ':', n), *v;
	size_t nlen, vlen;
	uint64_t len = 0;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return CLI_HTTP_EMALFORMED; /* obs-fold */
	if (colon == NULL || colon == p)
		return CLI_HTTP_EMALFORMED;
	nlen = (size_t)(colon - p);
	for (size_t i = 0; i < nlen; i++)
		if (p[i] <= ' ' || p[i] >= 127)
			return CLI_HTTP_EMALFORMED;
	v = colon + 1;
	vlen = n - nlen - 1;
	trim(&v, &vlen);
	if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		if (vlen == 0 || vlen > 12)
			return vlen == 0 ? CLI_HTTP_EMALFORMED
			                 : CLI_HTTP_ETOOBIG;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((uint8_t)v[i]))
				return CLI_HTTP_EMALFORMED;
			len = len * 10 + (uint64_t)(v[i] - '0');
		}
		if (h->has_len && h->content_len != len)
			return CLI_HTTP_EMALFORMED;
		h->has_len = true;
		h->content_len = len;
	} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
		if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0 ||
		    h->chunked)
			return CLI_HTTP_EMALFORMED;
		h->chunked = true;
	}
	return CLI_HTTP_OK;
}

/*
 * Parse the head at buf[0..len). Returns OK with *body_off set, AGAIN, or
 * an error.
 */
static int
parse_head(const char *buf, size_t len, bool eof, struct head *h,
    size_t *body_off)
{
	const char *p = buf, *end = buf + len, *nl;
	int rc, nhdr = 0;

	memset(h, 0, sizeof(*h));
	if ((nl = line_end(p, end)) == NULL)
		goto need_more;
	if ((rc = parse_status(p, line_len(p, nl), &h->status)) != CLI_HTTP_OK)
		return rc;
	for (p = nl + 1;; p = nl + 1) {
		if ((nl = line_end(p, end)) == NULL)
			goto need_more;
		if (line_len(p, nl) == 0)
			break;
		if (++nhdr > MAX_HEADERS)
			return CLI_HTTP_ETOOBIG;
		if ((rc = parse_header(p, line_len(p, nl), h)) != CLI_HTTP_OK)
			return rc;
	}
	if ((size_t)(nl + 1 - buf) > CLI_HTTP_MAX_HEAD)
		return CLI_HTTP_ETOOBIG;
	if (h->chunked && h->has_len)
		return CLI_HTTP_EMALFORMED;
	if (h->has_len && h->content_len > CLI_HTTP_MAX_BODY)
		return CLI_HTTP_ETOOBIG;
	*body_off = (size_t)(nl + 1 - buf);
	return CLI_HTTP_OK;
need_more:
	if (len > CLI_HTTP_MAX_HEAD)
		return CLI_HTTP_ETOOBIG;
	return eof ? CLI_HTTP_EMALFORMED : CLI_HTTP_AGAIN;
}

/* Decode a chunked body into out (malloc'd, NUL-terminated). */
static int
parse_chunked(const char *p, const char *end, bool eof, char **out,
    size_t *outlen)
{
	const char *nl;
	char *body = NULL, *nb;
	size_t n = 0, cap = 0;
	int rc = CLI_HTTP_AGAIN;

	for (;;) {
		uint64_t sz = 0;
		size_t i, ll;

		if ((nl = line_end(p, end)) == NULL) {
			if ((size_t)(end - p) > MAX_CHUNK_LINE)
				rc = CLI_HTTP_EMALFORMED;
			goto out;
		}
		ll = line_len(p, nl);
		for (i = 0; i < ll && isxdigit((uint8_t)p[i]); i++) {
			if (i >= 8) {
				rc = CLI_HTTP_ETOOBIG;
				goto out;
			}
			sz = sz * 16 +
			    (uint64_t)(isdigit((uint8_t)p[i])
			            ? p[i] - '0'
			            : tolower((uint8_t)p[i]) - 'a' + 10);
		}
		if (i == 0 ||
		    (i < ll && p[i] != ';' && p[i] != ' ' && p[i] != '\t')) {
			rc = CLI_HTTP_EMALFORMED;
			goto out;
		}
		p = nl + 1;
		if (sz == 0)
			break;
		if (sz > CLI_HTTP_MAX_BODY - n) {
			rc = CLI_HTTP_ETOOBIG;
			goto out;
		}
		if ((size_t)(end - p) < sz + 1)
			goto out;
		if (n + sz + 1 > cap) {
			cap = (n + sz + 1) * 2;
			if ((nb = realloc(body, cap)) == NULL) {
				rc = CLI_HTTP_ENOMEM;
				goto out;
			}
			body = nb;
		}
		memcpy(body + n, p, sz);
		n += sz;
		p += sz;
		if (p < end && *p == '\r')
			p++;
		if (p >= end)
			goto out;
		if (*p != '\n') {
			rc = CLI_HTTP_EMALFORMED;
			goto out;
		}
		p++;
	}
	/* Trailer section: header lines up to an empty line; ignored. */
	for (;; p = nl + 1) {
		if ((nl = line_end(p, end)) == NULL) {
			if ((size_t)(end - p) > MAX_CHUNK_LINE)
				rc = CLI_HTTP_EMALFORMED;
			goto out;
		}
		if (line_len(p, nl) == 0)
			break;
	}
	if (body == NULL && (body = malloc(1)) == NULL) {
		rc = CLI_HTTP_ENOMEM;
		goto out;
	}
	body[n] = '\0';
	*out = body;
	*outlen = n;
	body = NULL;
	rc = CLI_HTTP_OK;
out:
	free(body);
	if (rc == CLI_HTTP_AGAIN && eof)
		rc = CLI_HTTP_EMALFORMED; /* truncated */
	return rc;
}

int
cli_http_parse(const char *buf, size_t len, bool eof, struct cli_http_resp *r)
{
	struct head h;
	const char *body;
	size_t off, blen;
	char *copy;
	int rc;

	for (;;) {
		if ((rc = parse_head(buf, len, eof, &h, &off)) != CLI_HTTP_OK)
			return rc;
		if (h.status >= 200)
			break;
		buf += off; /* skip an interim 1xx response */
		len -= off;
	}
	body = buf + off;
	blen = len - off;
	if (h.chunked) {
		if ((rc = parse_chunked(body, buf + len, eof, &copy, &blen)) !=
		    CLI_HTTP_OK)
			return rc;
		goto done;
	}
	if (h.status == 204 || h.status == 304)
		blen = 0;
	else if (h.has_len) {
		if (blen < h.content_len)
			return eof ? CLI_HTTP_EMALFORMED : CLI_HTTP_AGAIN;
		blen = (size_t)h.content_len;
	} else if (blen > CLI_HTTP_MAX_BODY)
		return CLI_HTTP_ETOOBIG;
	else if (!eof)
		return CLI_HTTP_AGAIN;
	if ((copy = malloc(blen + 1)) == NULL)
		return CLI_HTTP_ENOMEM;
	memcpy(copy, body, blen);
	copy[blen] = '\0';
done:
	r->status = h.status;
	r->body = copy;
	r->body_len = blen;
	return CLI_HTTP_OK;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

/* Wait until fd is ready for events; 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&pfd, 1, left_ms(deadline));
	while (n < 0 && errno == EINTR);
	return n;
}

static int
connect_one(const struct addrinfo *ai, int64_t deadline, int *fdp)
{
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto done;
	if (errno != EINPROGRESS)
		goto fail;
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
done:
	*fdp = fd;
	return 0;
fail:
	soerr = errno;
	close(fd);
	return soerr;
}

static int
send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) <= 0)
				return ETIMEDOUT;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read and parse the response. */
static int
recv_resp(int fd, int64_t deadline, struct cli_http_resp *r, char *err,
    size_t errlen)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, next_try = 1;
	bool eof = false;
	int rc = CLI_HTTP_AGAIN;

	while (rc == CLI_HTTP_AGAIN) {
		ssize_t got;

		if (eof || len >= next_try) {
			rc =
			    cli_http_parse(buf != NULL ? buf : "", len, eof, r);
			next_try = len * 2;
			if (rc != CLI_HTTP_AGAIN)
				break;
		}
		if (len == cap) {
			cap = cap == 0 ? 16384 : cap * 2;
			if (len >= MAX_RAW) {
				rc = CLI_HTTP_ETOOBIG;
				break;
			}
			if ((nb = realloc(buf, cap)) == NULL) {
				rc = CLI_HTTP_ENOMEM;
				break;
			}
			buf = nb;
		}
		got = recv(fd, buf + len, cap - len, 0);
		if (got > 0) {
			len += (size_t)got;
			continue;
		}
		if (got == 0) {
			eof = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(err, errlen, "reading the response: %s",
			    strerror(errno));
			rc = CLI_HTTP_EIO;
		} else if (wait_fd(fd, POLLIN, deadline) <= 0) {
			snprintf(err, errlen, "no answer from hyphad in time");
			rc = CLI_HTTP_EUNREACH;
		}
	}
	if (rc == CLI_HTTP_EMALFORMED && len == 0)
		snprintf(err, errlen,
		    "hyphad closed the connection unanswered");
	else if (rc == CLI_HTTP_EMALFORMED)
		snprintf(err, errlen, "malformed HTTP response from hyphad");
	else if (rc == CLI_HTTP_ETOOBIG)
		snprintf(err, errlen, "response from hyphad too large");
	else if (rc == CLI_HTTP_ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(buf);
	return rc;
}

int
cli_http_request(const char *addr, const char *method, const char *path,
    const char *ctype, const void *body, size_t body_len, int timeout_ms,
    struct cli_http_resp *r, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV },
	                *res = NULL;
	int64_t deadline = now_ms() + timeout_ms;
	char host[256], port[8], *req = NULL;
	int fd = -1, e = ECONNREFUSED, rc, n;

	if (cli_http_split_addr(addr, "4280", host, sizeof(host), port,
	        sizeof(port), err, errlen) != 0)
		return CLI_HTTP_EIO;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return CLI_HTTP_EUNREACH;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		if ((e = connect_one(ai, deadline, &fd)) == ETIMEDOUT)
			break;
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to hyphad at %s: %s",
		    addr, strerror(e));
		return CLI_HTTP_EUNREACH;
	}
	n = asprintf(&req,
	    "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hypha/%s\r\n"
	    "Accept: application/json\r\nConnection: close\r\n"
	    "%s%s%sContent-Length: %zu\r\n\r\n",
	    method, path, addr, hy_version(), ctype ? "Content-Type: " : "",
	    ctype ? ctype : "", ctype ? "\r\n" : "", body_len);
	if (n < 0) {
		req = NULL;
		snprintf(err, errlen, "out of memory");
		rc = CLI_HTTP_ENOMEM;
		goto out;
	}
	if ((e = send_all(fd, req, (size_t)n, deadline)) != 0 ||
	    (body_len > 0 &&
	        (e = send_all(fd, body, body_len, deadline)) != 0)) {
		snprintf(err, errlen, "sending the request to %s: %s", addr,
		    strerror(e));
		rc = e == ETIMEDOUT ? CLI_HTTP_EUNREACH : CLI_HTTP_EIO;
		goto out;
	}
	rc = recv_resp(fd, deadline, r, err, errlen);
out:
	free(req);
	close(fd);
	return rc;
}
