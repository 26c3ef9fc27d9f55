/*
 * wire-scan.c: allocation-free pre-scan of untrusted msgpack.
 *
 * The walk keeps one counter per open container ("objects still to read at
 * this level") in a fixed stack of HY_SCAN_DEPTH_LIMIT + 1 entries; level 0
 * holds the single top-level object. For each object, in this order:
 *   1. the object count is checked against max_objects   (HY_ETOOBIG)
 *   2. its header must fit in the bytes left              (HY_ETRUNC)
 *   3. its type must be allowed                           (HY_ETYPE)
 *   4. a str/bin length or array/map count vs its cap     (HY_ETOOBIG)
 *   5. a container's depth vs max_depth                   (HY_EDEPTH)
 *   6. a str/bin body, or one byte per element of a container (two per
 *      map pair), must fit in the bytes left              (HY_ETRUNC)
 * When the top-level object is complete, any byte left is HY_ETRAILING.
 *
 * Invariants: pos <= len at all times; every arithmetic on a claimed length
 * is done in size_t after comparing against (len - pos), so a 2^32-1 claim
 * cannot overflow; nothing is allocated.
 */
#include "config.h"

#include "wire-scan.h"

const struct hy_scan_limits hy_scan_limits_v1 = {
	.max_depth = 6,
	.max_objects = 1024,
	.max_str = 128,
	.max_bin = 65536,
	.max_array = 64,
	.max_map = 0,
	.allow_nil = false,
	.allow_float = false,
};

/* Big-endian length of n bytes at p (n = 1, 2 or 4). */
static uint32_t
be_len(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

enum scan_kind {
	SK_SCALAR, /* fixed size: skip `body` bytes */
	SK_STR,
	SK_BIN,
	SK_ARRAY,
	SK_MAP,
	SK_BAD, /* ext, 0xc1 */
	SK_NIL,
	SK_FLOAT
};

/*
 * Classify the header byte b: kind, number of length bytes following the
 * type byte (lenlen), and for scalars/immediate lengths the value in *imm.
 */
static enum scan_kind
classify(uint8_t b, size_t *lenlen, uint32_t *imm)
{
	*lenlen = 0;
	*imm = 0;
	if (b <= 0x7f || b >= 0xe0)
		return SK_SCALAR;
	if (b <= 0x8f) {
		*imm = b & 0x0f;
		return SK_MAP;
	}
	if (b <= 0x9f) {
		*imm = b & 0x0f;
		return SK_ARRAY;
	}
	if (b <= 0xbf) {
		*imm = b & 0x1f;
		return SK_STR;
	}
	switch (b) {
	case 0xc0:
		return SK_NIL;
	case 0xc2:
	case 0xc3:
		return SK_SCALAR;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		*lenlen = (size_t)1 << (b - 0xc4);
		return SK_BIN;
	case 0xca:
		*imm = 4;
		return SK_FLOAT;
	case 0xcb:
		*imm = 8;
		return SK_FLOAT;
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		*imm = 1u << (b - 0xcc);
		return SK_SCALAR;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		*imm = 1u << (b - 0xd0);
		return SK_SCALAR;
	case 0xd9:
	case 0xda:
	case 0xdb:
		*lenlen = (size_t)1 << (b - 0xd9);
		return SK_STR;
	case 0xdc:
	case 0xdd:
		*lenlen = b == 0xdc ? 2 : 4;
		return SK_ARRAY;
	case 0xde:
	case 0xdf:
		*lenlen = b == 0xde ? 2 : 4;
		return SK_MAP;
	default: /* 0xc1, ext 0xc7..0xc9, fixext 0xd4..0xd8 */
		return SK_BAD;
	}
}

int
hy_scan(const uint8_t *buf, size_t len, const struct hy_scan_limits *lim,
    struct hy_scan_result *res)
{
	size_t left[HY_SCAN_DEPTH_LIMIT + 1];
	uint32_t objects = 0, maxdepth = 0, n, cap;
	size_t pos = 0, lenlen, need;
	enum scan_kind k;
	int d = 0, rc = HY_OK;
	uint8_t b;

	if (lim->max_depth > HY_SCAN_DEPTH_LIMIT)
		return HY_EINVAL;
	left[0] = 1;
	for (;;) {
		while (d > 0 && left[d] == 0)
			d--;
		if (left[d] == 0)
			break; /* d == 0: the top-level object is complete */
		left[d]--;
		if (++objects > lim->max_objects) {
			rc = HY_ETOOBIG;
			goto out;
		}
		if (pos >= len) {
			rc = HY_ETRUNC;
			goto out;
		}
		b = buf[pos++];
		k = classify(b, &lenlen, &n);
		if (lenlen > 0) {
			if (len - pos < lenlen) {
				rc = HY_ETRUNC;
				goto out;
			}
			n = be_len(buf + pos, lenlen);
			pos += lenlen;
		}
		switch (k) {
		case SK_SCALAR:
		case SK_FLOAT:
		case SK_NIL:
			if ((k == SK_NIL && !lim->allow_nil) ||
			    (k == SK_FLOAT && !lim->allow_float)) {
				rc = HY_ETYPE;
				goto out;
			}
			if (len - pos < n) {
				rc = HY_ETRUNC;
				goto out;
			}
			pos += n;
			break;
		case SK_STR:
		case SK_BIN:
			cap = k == SK_STR ? lim->max_str : lim->max_bin;
			if (n > cap) {
				rc = HY_ETOOBIG;
				goto out;
			}
			if (len - pos < n) {
				rc = HY_ETRUNC;
				goto out;
			}
			pos += n;
			break;
		case SK_ARRAY:
		case SK_MAP:
			if (k == SK_MAP && lim->max_map == 0) {
				rc = HY_ETYPE;
				goto out;
			}
			cap = k == SK_ARRAY ? lim->max_array : lim->max_map;
			if (n > cap) {
				rc = HY_ETOOBIG;
				goto out;
			}
			if ((uint32_t)d + 1 > lim->max_depth) {
				rc = HY_EDEPTH;
				goto out;
			}
			/* n <= cap <= UINT32_MAX: 2 * n fits in size_t. */
			need = k == SK_MAP ? 2 * (size_t)n : n;
			if (len - pos < need) {
				rc = HY_ETRUNC;
				goto out;
			}
			if ((uint32_t)d + 1 > maxdepth)
				maxdepth = (uint32_t)d + 1;
			if (need > 0) {
				d++;
				left[d] = need;
			}
			break;
		case SK_BAD:
		default:
			rc = HY_ETYPE;
			goto out;
		}
	}
	if (pos != len) {
		rc = HY_ETRAILING;
		goto out;
	}
	if (res != NULL) {
		res->objects = objects;
		res->depth = maxdepth;
	}
out:
	return rc;
}
