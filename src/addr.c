/*
 * addr.c: addresses, their compact wire form and their classification.
 *
 * Martian ranges (never a reachable peer): IPv4 0/8, 224/4 (multicast),
 * 240/4 (reserved, includes broadcast), the documentation nets 192.0.2/24,
 * 198.51.100/24, 203.0.113/24; IPv6 ::/128, ::1 is loopback (not martian),
 * ff00::/8 multicast, 2001:db8::/32 documentation, IPv4-mapped/compatible
 * forms that survived conversion, and any address with port 0.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hypha.h"

bool
hy_addr_same_ip(const struct hy_addr *a, const struct hy_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

bool
hy_addr_eq(const struct hy_addr *a, const struct hy_addr *b)
{
	return hy_addr_same_ip(a, b) && a->port == b->port;
}

int
hy_addr_cmp(const struct hy_addr *a, const struct hy_addr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->ip, b->ip, 16);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

bool
hy_addr_same_prefix(const struct hy_addr *a, const struct hy_addr *b,
    int v4_bits, int v6_bits)
{
	int bits, full;

	if (a->family != b->family || a->family == 0)
		return false;
	bits = a->family == HY_AF_INET ? v4_bits : v6_bits;
	if (bits <= 0)
		return true;
	if (bits > (a->family == HY_AF_INET ? 32 : 128))
		bits = a->family == HY_AF_INET ? 32 : 128;
	full = bits / 8;
	if (memcmp(a->ip, b->ip, (size_t)full) != 0)
		return false;
	if (bits % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff00u >> (bits % 8));

		if ((a->ip[full] & mask) != (b->ip[full] & mask))
			return false;
	}
	return true;
}

static const uint8_t hy_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

int
hy_addr_from_sockaddr(struct hy_addr *out, const struct sockaddr *sa,
    socklen_t len)
{
	struct hy_addr a;

	memset(&a, 0, sizeof(a));
	/* Do not read sa_family out of a buffer too short to hold it. */
	if (sa == NULL || len < (socklen_t)sizeof(sa->sa_family))
		return HY_EINVAL;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		a.family = HY_AF_INET;
		memcpy(a.ip, &sin->sin_addr, 4);
		a.port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		const uint8_t *ip = sin6->sin6_addr.s6_addr;

		if (memcmp(ip, hy_v4mapped, 12) == 0) {
			a.family = HY_AF_INET;
			memcpy(a.ip, ip + 12, 4);
		} else {
			a.family = HY_AF_INET6;
			memcpy(a.ip, ip, 16);
		}
		a.port = ntohs(sin6->sin6_port);
	} else {
		return HY_EINVAL;
	}
	*out = a;
	return HY_OK;
}

socklen_t
hy_addr_to_sockaddr(const struct hy_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == HY_AF_INET) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->ip, 4);
		sin->sin_port = htons(a->port);
		return sizeof(*sin);
	}
	if (a->family == HY_AF_INET6) {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->ip, 16);
		sin6->sin6_port = htons(a->port);
		return sizeof(*sin6);
	}
	return 0;
}

static int
hy_parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return HY_EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return HY_EINVAL;
	*port = (uint16_t)v;
	return HY_OK;
}

int
hy_addr_parse(struct hy_addr *out, const char *str)
{
	struct hy_addr a;
	char host[64];
	const char *colon, *port;
	size_t hlen;

	memset(&a, 0, sizeof(a));
	if (str[0] == '[') {
		const char *close = strchr(str, ']');

		if (close == NULL || close[1] != ':')
			return HY_EINVAL;
		hlen = (size_t)(close - str - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return HY_EINVAL;
		memcpy(host, str + 1, hlen);
		host[hlen] = '\0';
		port = close + 2;
		if (inet_pton(AF_INET6, host, a.ip) != 1)
			return HY_EINVAL;
		a.family = HY_AF_INET6;
		if (memcmp(a.ip, hy_v4mapped, 12) == 0) {
			memmove(a.ip, a.ip + 12, 4);
			memset(a.ip + 4, 0, 12);
			a.family = HY_AF_INET;
		}
	} else {
		colon = strrchr(str, ':');
		if (colon == NULL || strchr(str, ':') != colon)
			return HY_EINVAL;
		hlen = (size_t)(colon - str);
		if (hlen == 0 || hlen >= sizeof(host))
			return HY_EINVAL;
		memcpy(host, str, hlen);
		host[hlen] = '\0';
		port = colon + 1;
		if (inet_pton(AF_INET, host, a.ip) != 1)
			return HY_EINVAL;
		a.family = HY_AF_INET;
	}
	if (hy_parse_port(port, &a.port) != HY_OK)
		return HY_EINVAL;
	*out = a;
	return HY_OK;
}

const char *
hy_addr_format(const struct hy_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == HY_AF_INET) {
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, (unsigned)a->port);
	} else if (a->family == HY_AF_INET6) {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, (unsigned)a->port);
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

void
hy_addr_key(const struct hy_addr *a, uint8_t out[HY_ADDR_KEYLEN])
{
	out[0] = a->family;
	memcpy(out + 1, a->ip, 16);
	out[17] = (uint8_t)(a->port >> 8);
	out[18] = (uint8_t)a->port;
}

size_t
hy_addr_pack(const struct hy_addr *a, uint8_t out[HY_ADDR_MAX_WIRELEN])
{
	size_t iplen;

	if (a->family == HY_AF_INET)
		iplen = 4;
	else if (a->family == HY_AF_INET6)
		iplen = 16;
	else
		return 0;
	memcpy(out, a->ip, iplen);
	out[iplen] = (uint8_t)(a->port >> 8);
	out[iplen + 1] = (uint8_t)(a->port & 0xff);
	return iplen + 2;
}

int
hy_addr_unpack(struct hy_addr *out, const uint8_t *buf, size_t len)
{
	struct hy_addr a;
	size_t iplen;

	memset(&a, 0, sizeof(a));
	if (len == HY_ADDR_V4_WIRELEN) {
		a.family = HY_AF_INET;
		iplen = 4;
	} else if (len == HY_ADDR_V6_WIRELEN) {
		a.family = HY_AF_INET6;
		iplen = 16;
	} else {
		return HY_EINVAL;
	}
	memcpy(a.ip, buf, iplen);
	a.port = (uint16_t)(buf[iplen] << 8 | buf[iplen + 1]);
	*out = a;
	return HY_OK;
}

bool
hy_addr_is_loopback(const struct hy_addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == HY_AF_INET)
		return a->ip[0] == 127;
	if (a->family == HY_AF_INET6)
		return memcmp(a->ip, v6lo, 16) == 0;
	return false;
}

bool
hy_addr_is_private(const struct hy_addr *a)
{
	const uint8_t *ip = a->ip;

	if (a->family == HY_AF_INET)
		return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
		    (ip[0] == 192 && ip[1] == 168) ||
		    (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||
		    (ip[0] == 169 && ip[1] == 254);
	if (a->family == HY_AF_INET6)
		return (ip[0] & 0xfe) == 0xfc ||
		    (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80);
	return false;
}

bool
hy_addr_is_local(const struct hy_addr *a)
{
	return hy_addr_is_loopback(a) || hy_addr_is_private(a);
}

bool
hy_addr_is_martian(const struct hy_addr *a)
{
	const uint8_t *ip = a->ip;

	if (a->port == 0)
		return true;
	if (a->family == HY_AF_INET) {
		return ip[0] == 0 || ip[0] >= 224 ||
		    (ip[0] == 192 && ip[1] == 0 && ip[2] == 2) ||
		    (ip[0] == 198 && ip[1] == 51 && ip[2] == 100) ||
		    (ip[0] == 203 && ip[1] == 0 && ip[2] == 113);
	}
	if (a->family == HY_AF_INET6) {
		static const uint8_t zero12[12];

		if (ip[0] == 0xff)
			return true; /* multicast */
		if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d &&
		    ip[3] == 0xb8)
			return true; /* documentation */
		if (memcmp(ip, zero12, 12) == 0)
			/* ::, IPv4-compatible; ::1 is loopback */
			return !hy_addr_is_loopback(a);
		if (memcmp(ip, hy_v4mapped, 12) == 0)
			return true; /* mapped form never reaches the table */
		return false;
	}
	return true;
}
