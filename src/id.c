/*
 * id.c: 256-bit IDs under the Kademlia XOR metric (Kademlia §2.1).
 * IDs are public values, so plain memcmp ordering is fine here; secrets are
 * compared with CRYPTO_memcmp in the crypto module.
 */
#include "config.h"

#include <string.h>

#include "id.h"

int
hy_id_cmp(const struct hy_id *a, const struct hy_id *b)
{
	int c = memcmp(a->b, b->b, HY_ID_LEN);

	return (c > 0) - (c < 0);
}

bool
hy_id_eq(const struct hy_id *a, const struct hy_id *b)
{
	return memcmp(a->b, b->b, HY_ID_LEN) == 0;
}

bool
hy_id_is_zero(const struct hy_id *a)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < HY_ID_LEN; i++)
		acc |= a->b[i];
	return acc == 0;
}

void
hy_id_xor(struct hy_id *out, const struct hy_id *a, const struct hy_id *b)
{
	for (size_t i = 0; i < HY_ID_LEN; i++)
		out->b[i] = a->b[i] ^ b->b[i];
}

int
hy_id_cmp_dist(const struct hy_id *target, const struct hy_id *a,
    const struct hy_id *b)
{
	for (size_t i = 0; i < HY_ID_LEN; i++) {
		uint8_t da = a->b[i] ^ target->b[i];
		uint8_t db = b->b[i] ^ target->b[i];

		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

int
hy_id_prefix_len(const struct hy_id *a, const struct hy_id *b)
{
	for (size_t i = 0; i < HY_ID_LEN; i++) {
		uint8_t x = a->b[i] ^ b->b[i];

		if (x != 0)
			return (int)i * 8 + __builtin_clz(x) - 24;
	}
	return HY_ID_LEN * 8;
}

int
hy_id_bit(const struct hy_id *id, int i)
{
	return (id->b[i / 8] >> (7 - i % 8)) & 1;
}

void
hy_id_random_in_prefix(struct hy_id *out, const struct hy_id *base, int prefix,
    const uint8_t rnd[HY_ID_LEN])
{
	struct hy_id r;
	int byte = prefix / 8, bit = prefix % 8;
	uint8_t keep = (uint8_t)(0xff00u >> bit); /* bits of `byte` from base */
	uint8_t flip = (uint8_t)(0x80u >> bit);

	memcpy(r.b, rnd, HY_ID_LEN);
	memcpy(r.b, base->b, (size_t)byte);
	r.b[byte] = (uint8_t)((base->b[byte] & keep) | (r.b[byte] & ~keep));
	/* bit `prefix` must differ from base */
	r.b[byte] = (uint8_t)((r.b[byte] & ~flip) | (~base->b[byte] & flip));
	*out = r;
}

void
hy_id_to_hex(const struct hy_id *id, char out[HY_ID_HEXLEN])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < HY_ID_LEN; i++) {
		out[2 * i] = hex[id->b[i] >> 4];
		out[2 * i + 1] = hex[id->b[i] & 15];
	}
	out[2 * HY_ID_LEN] = '\0';
}

static int
hy_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hy_id_from_hex(struct hy_id *id, const char *hex)
{
	struct hy_id tmp;

	for (size_t i = 0; i < HY_ID_LEN; i++) {
		int hi = hy_hexval(hex[2 * i]);
		int lo = hi < 0 ? -1 : hy_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return HY_EINVAL;
		tmp.b[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[2 * HY_ID_LEN] != '\0')
		return HY_EINVAL;
	*id = tmp;
	return HY_OK;
}
