/*
 * wire-internal.h: helpers shared by the wire codec files (wire-msg.c,
 * wire-dgram.c, wire-util.c). Only wire code includes this header, and so
 * only wire code sees <msgpack.h>.
 */
#ifndef HY_WIRE_INTERNAL_H
#define HY_WIRE_INTERNAL_H

#include <msgpack.h>

#include "wire.h"
#include "wire-scan.h"

/*
 * A bounded output buffer behind a msgpack_packer: writes past cap fail and
 * latch err = HY_ETOOBIG, so one check after packing is enough.
 */
struct hy_wbuf {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

void hy_wbuf_init(struct hy_wbuf *w, msgpack_packer *pk, uint8_t *buf,
    size_t cap);

/* Pack helpers; errors latch in the wbuf behind pk. */
void hy_pack_bin(msgpack_packer *pk, const void *p, size_t len);
void hy_pack_id(msgpack_packer *pk, const struct hy_id *id);
/* Returns HY_EMALFORMED for an unset address. */
int hy_pack_addr(msgpack_packer *pk, const struct hy_addr *a);

/*
 * Pre-scan buf with lim, then unpack it into *up (zone owned by *up: the
 * caller must msgpack_unpacked_destroy() it whatever this returns).
 * Returns 0, a hy_scan() error, or HY_ENOMEM.
 */
int hy_wire_unpack(const uint8_t *buf, size_t len,
    const struct hy_scan_limits *lim, msgpack_unpacked *up);

/* Object accessors: return 0 or HY_ETYPE / HY_ERANGE / HY_ETOOBIG /
 * HY_EMALFORMED; the out-parameter is written only on success. */
int hy_obj_uint(const msgpack_object *o, uint64_t min, uint64_t max,
    uint64_t *out);
int hy_obj_bool(const msgpack_object *o, bool *out);
int hy_obj_bin(const msgpack_object *o, size_t max, struct hy_wire_bin *out);
int hy_obj_fixbin(const msgpack_object *o, size_t n, uint8_t *out);
int hy_obj_id(const msgpack_object *o, struct hy_id *out);
int hy_obj_pubkey(const msgpack_object *o, uint8_t out[HY_PUBKEY_LEN]);
int hy_obj_addr(const msgpack_object *o, struct hy_addr *out);
/* An array of min..max elements: HY_ETYPE, HY_ETOOBIG over max,
 * HY_EMALFORMED under min. */
int hy_obj_array(const msgpack_object *o, uint32_t min, uint32_t max,
    const msgpack_object **items, uint32_t *n);

bool hy_pubkey_ok(const uint8_t pk[HY_PUBKEY_LEN]);
bool hy_utf8_valid(const uint8_t *p, size_t len);

/* The messages.def table, as field descriptors (wire-msg.c). */
enum hy_ftype {
	HY_FT_END = 0,
	HY_FT_UINT,
	HY_FT_BOOL,
	HY_FT_ID,
	HY_FT_ADDR,
	HY_FT_CONTACT,
	HY_FT_BIN,
	HY_FT_STR,
	HY_FT_VALUE,
	HY_FT_CONTACTS,
	HY_FT_ADDRS,
	HY_FT_VALUES
};

struct hy_fdesc {
	enum hy_ftype t;
	size_t off; /* of the field in its body struct */
	size_t cnt_off; /* arrays: of n_<field> */
	uint64_t a, b; /* caps, see messages.def */
};

struct hy_mdesc {
	unsigned code;
	const char *name;
	int kind;
	unsigned peer;
	const struct hy_fdesc *fields;
	uint32_t nfields;
};

/* 1..32 bytes of 0x21..0x7e? Returns 0, HY_EMALFORMED or HY_ETOOBIG. */
int hy_wire_check_network(const uint8_t *p, size_t len);

/* The cap on value data for a path. */
static inline size_t
hy_wire_value_cap(enum hy_wire_path path)
{
	return path == HY_PATH_TLS ? HY_VALUE_MAX : HY_VALUE_DGRAM_MAX;
}

/* The table row for a message type, or NULL. */
const struct hy_mdesc *hy_wire_mdesc(unsigned type);

#endif /* HY_WIRE_INTERNAL_H */
