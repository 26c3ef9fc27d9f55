/*
 * addr.h: transport addresses (IPv4/IPv6 + port) and their classification
 * (L0).
 *
 * struct hy_addr is a plain value: comparable with hy_addr_eq, copyable with
 * '='. The compact wire form is 6 bytes for IPv4 (address, port big-endian)
 * and 18 bytes for IPv6, as in BEP 5 / BEP 32.
 *
 * Classification follows the martian filter of jech/dht and the IANA
 * special-purpose registries: an address is "martian" when no peer can ever
 * be reached at it (unspecified, multicast, broadcast, reserved, port 0,
 * documentation ranges). Loopback and private ranges are not martian: they
 * are "local", and the routing table decides whether to accept them (a node
 * that itself listens on such an address accepts them, DESIGN.md §7).
 */
#ifndef HY_ADDR_H
#define HY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HY_AF_INET 4
#define HY_AF_INET6 6

struct hy_addr {
	uint8_t family; /* HY_AF_INET, HY_AF_INET6, or 0 (unset) */
	uint16_t port; /* host byte order */
	uint8_t ip[16]; /* IPv4 uses ip[0..3]; the rest is zero */
};

#define HY_ADDR_V4_WIRELEN 6
#define HY_ADDR_V6_WIRELEN 18
#define HY_ADDR_MAX_WIRELEN 18
/* "[" + 39 + "]:" + 5 + NUL, rounded up */
#define HY_ADDR_STRLEN 56

/* Equality of family, address and port. */
bool hy_addr_eq(const struct hy_addr *a, const struct hy_addr *b);
/* Equality of family and address only. */
bool hy_addr_same_ip(const struct hy_addr *a, const struct hy_addr *b);
/* memcmp-like total order (family, ip, port). */
int hy_addr_cmp(const struct hy_addr *a, const struct hy_addr *b);

/*
 * Do a and b share the first v4_bits (IPv4) / v6_bits (IPv6) bits of their
 * address? Different families never share a prefix.
 */
bool hy_addr_same_prefix(const struct hy_addr *a, const struct hy_addr *b,
    int v4_bits, int v6_bits);

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) is converted to plain IPv4. */
int hy_addr_from_sockaddr(struct hy_addr *out, const struct sockaddr *sa,
    socklen_t len);
/* Returns the sockaddr length, or 0 if the address is unset. */
socklen_t hy_addr_to_sockaddr(const struct hy_addr *a,
    struct sockaddr_storage *ss);

/*
 * Parse "1.2.3.4:5" or "[::1]:5" (numeric only; names are resolved
 * elsewhere). Port 0 is accepted here. Returns 0 or HY_EINVAL.
 */
int hy_addr_parse(struct hy_addr *out, const char *str);
/* Format as above into buf (HY_ADDR_STRLEN bytes is always enough). */
const char *hy_addr_format(const struct hy_addr *a, char *buf, size_t len);

/*
 * A fixed-length lookup key for an address (family, 16 address bytes,
 * port): equal keys for equal addresses, for hash tables keyed by address.
 */
#define HY_ADDR_KEYLEN 19
void hy_addr_key(const struct hy_addr *a, uint8_t out[HY_ADDR_KEYLEN]);

/* Compact wire form; returns the length written (6 or 18) or 0 if unset. */
size_t hy_addr_pack(const struct hy_addr *a, uint8_t out[HY_ADDR_MAX_WIRELEN]);
/* Inverse of hy_addr_pack; len must be 6 or 18. Returns 0 or HY_EINVAL. */
int hy_addr_unpack(struct hy_addr *out, const uint8_t *buf, size_t len);

bool hy_addr_is_martian(const struct hy_addr *a);
bool hy_addr_is_loopback(const struct hy_addr *a);
/* RFC 1918, RFC 6598 (CGN), link-local, IPv6 ULA (fc00::/7). */
bool hy_addr_is_private(const struct hy_addr *a);
/* loopback or private */
bool hy_addr_is_local(const struct hy_addr *a);

#endif /* HY_ADDR_H */
