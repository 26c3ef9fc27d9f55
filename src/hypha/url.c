/*
 * url.c: the pieces of a request URL: percent-encoding a key for a path
 * segment (RFC 3986 §2.3: only unreserved characters stay as they are),
 * and splitting the API address "host:port" / "[v6]:port" / "host".
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypha/http.h"

char *
cli_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		uint8_t c = (uint8_t)*s;

		if (isalnum(c) && c < 128)
			*o++ = (char)c;
		else if (c == '-' || c == '.' || c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

int
cli_http_split_addr(const char *addr, const char *def_port, char *host,
    size_t hostlen, char *port, size_t portlen, char *err, size_t errlen)
{
	const char *h = addr, *p = NULL, *colon;
	size_t hl;

	if (addr[0] == '[') {
		if ((colon = strchr(addr, ']')) == NULL)
			goto bad;
		h = addr + 1;
		hl = (size_t)(colon - h);
		if (colon[1] == ':')
			p = colon + 2;
		else if (colon[1] != '\0')
			goto bad;
	} else if ((colon = strchr(addr, ':')) != NULL) {
		if (strchr(colon + 1, ':') != NULL)
			goto bad; /* IPv6 needs brackets */
		hl = (size_t)(colon - addr);
		p = colon + 1;
	} else
		hl = strlen(addr);
	if (p == NULL)
		p = def_port;
	if (hl == 0 || hl >= hostlen || *p == '\0' || strlen(p) >= portlen ||
	    strspn(p, "0123456789") != strlen(p) || atol(p) < 1 ||
	    atol(p) > 65535)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%s", p);
	return 0;
bad:
	snprintf(err, errlen, "bad API address '%s' (want HOST:PORT)", addr);
	return -1;
}
