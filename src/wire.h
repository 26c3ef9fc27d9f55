/*
 * wire.h: the hypha wire protocol v1 codec (L1). Normative description:
 * proto/PROTOCOL.md; message table: proto/messages.def.
 *
 * Three things are encoded here, none of them involves crypto:
 *  - the envelope and message bodies (struct hy_msg), the same on every
 *    path (signed datagram payload, DTLS record, TLS frame);
 *  - the signed-datagram outer frame (struct hy_dgram): the codec returns
 *    the byte range the signature covers; signing and verifying are the
 *    identity module's job;
 *  - the TLS stream's 4-byte length prefix.
 *
 * Decoding never trusts a length: input is pre-scanned (wire-scan.h) before
 * msgpack-c sees it, then converted into fixed, capped structs.
 *
 * Lifetime: a decoded struct hy_msg or struct hy_dgram BORROWS from the input
 * buffer: every struct hy_wire_bin (tokens, value data, salts, the ERROR
 * reason, the datagram payload and signed range) points into the bytes passed
 * to the decode call. Keep that buffer alive and unmodified while the struct
 * is used; copy what must outlive it. Everything else is copied.
 */
#ifndef HY_WIRE_H
#define HY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypha.h"
#include "addr.h"
#include "id.h"

#define HY_PROTO_VERSION 1 /* envelope element [0] */
#define HY_DGRAM_VERSION 1 /* datagram element [0] */

#define HY_NETWORK_MAX 32 /* network id: 1..32 bytes, 0x21..0x7e */
#define HY_PUBKEY_LEN 33 /* SEC1 compressed P-256 point */
#define HY_SIG_LEN 64 /* ECDSA P-256 r||s */
#define HY_NONCE_LEN 16
#define HY_TOKEN_MAX 32
#define HY_REASON_MAX 128
#define HY_SALT_MAX 64
#define HY_VALUE_DGRAM_MAX 1000 /* value data on signed UDP / DTLS */
#define HY_VALUE_MAX 65536 /* value data over TLS */
#define HY_VALUE_TTL_MAX 604800 /* seconds: 7 days */
#define HY_NODES_MAX 20
#define HY_PEERS_MAX 50
#define HY_VALUES_MAX 16
#define HY_PEX_MAX 50
#define HY_GOSSIP_MAX 8
#define HY_RECORD_ADDRS_MAX 4
#define HY_DGRAM_MAX 1280 /* whole datagram, bytes */
/* Envelope caps per path: a datagram's frame takes at most 167 bytes; a
 * DTLS record's header and AEAD/MAC overhead at most 80 of 1280. */
#define HY_DGRAM_PAYLOAD_MAX (HY_DGRAM_MAX - 167)
#define HY_DTLS_PAYLOAD_MAX 1200
#define HY_TLS_FRAME_MAX (128 * 1024) /* default TLS frame cap */
#define HY_TLS_HDR_LEN 4

/* Signature contexts: digest = SHA-256(ctx || 0x00 || signed bytes). */
#define HY_DGRAM_SIG_CTX "hypha-dgram-v1"
#define HY_RECORD_SIG_CTX "hypha-record-v1"
#define HY_MUTABLE_SIG_CTX "hypha-mutable-v1"

/* Which path a message travels: the envelope and value data caps differ. */
enum hy_wire_path {
	HY_PATH_DGRAM = 0, /* signed UDP datagram */
	HY_PATH_DTLS = 1, /* DTLS 1.2 record */
	HY_PATH_TLS = 2 /* TLS 1.3 length-prefixed frame */
};

/* Codes carried by an ERROR message (PROTOCOL.md §7). */
enum hy_wire_errcode {
	HY_WERR_MALFORMED = 1,
	HY_WERR_UNKNOWN_TYPE = 2,
	HY_WERR_BAD_TOKEN = 3,
	HY_WERR_STORE_FULL = 4,
	HY_WERR_TOO_LARGE = 5,
	HY_WERR_CONFLICT = 6, /* CAS mismatch or sequence too old */
	HY_WERR_RATE_LIMITED = 7,
	HY_WERR_WRONG_NETWORK = 8,
	HY_WERR_VERSION = 9,
	HY_WERR_INTERNAL = 10
};

/* Bytes borrowed from a decode input (or from the caller, when encoding). */
struct hy_wire_bin {
	const uint8_t *ptr;
	size_t len;
};

struct hy_contact {
	struct hy_id id;
	struct hy_addr addr;
};

/*
 * A stored value (PROTOCOL.md §5.3). A plain value is [id, ttl, data,
 * flags]; a mutable one adds [owner, salt, seq, sig].
 */
struct hy_value {
	uint64_t id;
	uint64_t ttl_s; /* 1..HY_VALUE_TTL_MAX */
	struct hy_wire_bin data; /* borrowed */
	uint64_t flags; /* 0..UINT32_MAX; no bit defined in v1 */
	bool is_mutable;
	uint8_t owner[HY_PUBKEY_LEN];
	struct hy_wire_bin salt; /* borrowed, <= HY_SALT_MAX */
	uint64_t seq;
	uint8_t sig[HY_SIG_LEN];
};

enum hy_gossip_kind { HY_GOSSIP_RECORD = 1, HY_GOSSIP_SUSPECT = 2 };

/* Signed self-record (gossip kind 1). */
struct hy_record {
	struct hy_id id;
	uint8_t pubkey[HY_PUBKEY_LEN];
	uint64_t seq;
	uint32_t n_addrs;
	struct hy_addr addrs[HY_RECORD_ADDRS_MAX];
	uint64_t ts_ms;
	uint8_t sig[HY_SIG_LEN];
};

/* Suspicion hint (gossip kind 2). */
struct hy_suspect {
	struct hy_id id;
	uint64_t seq; /* the suspect's record seq the reporter knows */
	uint64_t age_ms; /* 0..UINT32_MAX */
	struct hy_id reporter; /* the node whose probes failed */
};

struct hy_gossip {
	uint8_t kind; /* enum hy_gossip_kind */
	union {
		struct hy_record record;
		struct hy_suspect suspect;
	} u;
};

enum hy_msg_kind { HY_MK_REQ = 1, HY_MK_REPLY = 2, HY_MK_ONEWAY = 3 };

/* Message types, from proto/messages.def. */
enum hy_msg_type {
#define HY_MSG(code, N, n, kind, peer) HY_MSG_##N = code,
#define HY_FIELD(n, f, T, a, b)
#define HY_MSG_END(n)
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END
	HY_MSG_TYPE_MAX_ = 0xff
};

/* Body structs: struct hy_body_<name>, fields in wire order. */
#define HY_DECL_UINT(f, a) uint64_t f;
#define HY_DECL_BOOL(f, a) bool f;
#define HY_DECL_ID(f, a) struct hy_id f;
#define HY_DECL_ADDR(f, a) struct hy_addr f;
#define HY_DECL_CONTACT(f, a) struct hy_contact f;
#define HY_DECL_BIN(f, a) struct hy_wire_bin f;
#define HY_DECL_STR(f, a) struct hy_wire_bin f;
#define HY_DECL_VALUE(f, a) struct hy_value f;
#define HY_DECL_CONTACTS(f, a)                                                 \
	uint32_t n_##f;                                                        \
	struct hy_contact f[a];
#define HY_DECL_ADDRS(f, a)                                                    \
	uint32_t n_##f;                                                        \
	struct hy_addr f[a];
#define HY_DECL_VALUES(f, a)                                                   \
	uint32_t n_##f;                                                        \
	struct hy_value f[a];

#define HY_MSG(code, N, n, kind, peer)                                         \
	struct hy_body_##n {                                                   \
		uint32_t n_extra; /* trailing body fields ignored on decode */
#define HY_FIELD(n, f, T, a, b) HY_DECL_##T(f, a)
#define HY_MSG_END(n)                                                          \
	}                                                                      \
	;
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END

union hy_msg_body {
#define HY_MSG(code, N, n, kind, peer) struct hy_body_##n n;
#define HY_FIELD(n, f, T, a, b)
#define HY_MSG_END(n)
#include "../proto/messages.def"
#undef HY_MSG
#undef HY_FIELD
#undef HY_MSG_END
};

/*
 * A decoded or to-be-encoded message: envelope fields, the body selected by
 * `type`, and up to HY_GOSSIP_MAX piggybacked gossip items (unknown kinds are
 * skipped on decode; [6] is encoded only when n_gossip > 0).
 */
struct hy_msg {
	uint32_t version; /* HY_PROTO_VERSION */
	char network[HY_NETWORK_MAX + 1]; /* NUL-terminated copy */
	uint8_t type; /* enum hy_msg_type */
	uint32_t txid;
	struct hy_id sender;
	bool env_valid; /* decode: version..sender are meaningful */
	/*
	 * Encode only: if the envelope would be shorter than pad_to bytes,
	 * append one bin of zero bytes to the body so it reaches pad_to
	 * (PROTOCOL.md §4.1). Receivers ignore it (extension rule).
	 */
	uint32_t pad_to;
	uint32_t n_gossip;
	struct hy_gossip gossip[HY_GOSSIP_MAX];
	union hy_msg_body body;
};

/*
 * Zero *m and set the envelope. Returns 0, HY_EUNKNOWN for a type not in the
 * table, or HY_EMALFORMED / HY_ETOOBIG for a bad network id.
 */
int hy_msg_init(struct hy_msg *m, unsigned type, const char *network,
    uint32_t txid, const struct hy_id *sender);

/*
 * Encode *m into buf[0..cap). On success returns 0 and sets *len. Fails with
 * HY_ETOOBIG if the encoding does not fit (or a count/length is over its
 * cap, including value data or the whole envelope over the path's cap),
 * HY_ERANGE / HY_EMALFORMED for a field the decoder would reject,
 * HY_EUNKNOWN for an unknown type, HY_EINVAL for gossip items on the
 * signed-datagram path (never sent there) or a NULL pointer with a length. A
 * successful encoding always decodes back to an equal message.
 */
int hy_msg_encode(const struct hy_msg *m, enum hy_wire_path path, uint8_t *buf,
    size_t cap, size_t *len);

/*
 * Decode one envelope from buf[0..len) (exactly one msgpack object). Returns
 * 0, HY_ETOOBIG if len is over the path's envelope cap, a scan error
 * (HY_ETRUNC, HY_ETOOBIG, HY_EDEPTH, HY_ETRAILING, HY_ETYPE), HY_EVERSION,
 * HY_EUNKNOWN, HY_EMALFORMED, HY_ERANGE, HY_ETYPE, HY_ETOOBIG or HY_ENOMEM. On
 * failure m->env_valid tells whether version, network, type, txid and sender
 * were decoded (enough to answer with ERROR); the rest of *m is unspecified.
 * The result borrows from buf (see top). On HY_PATH_DGRAM, gossip items are
 * checked and then dropped (n_gossip = 0): PROTOCOL.md §2.
 */
int hy_msg_decode(struct hy_msg *m, const uint8_t *buf, size_t len,
    enum hy_wire_path path);

/* The envelope size cap of a path (HY_DGRAM_PAYLOAD_MAX, ...). */
size_t hy_wire_envelope_cap(enum hy_wire_path path);

/* Field-by-field equality of two messages (borrowed bytes compared). */
bool hy_msg_equal(const struct hy_msg *a, const struct hy_msg *b);

/* 0 if m->network equals network, else HY_ENETWORK. */
int hy_msg_check_network(const struct hy_msg *m, const char *network);

/* Table lookups; the name is NULL and the kind 0 for an unknown type. */
const char *hy_msg_type_name(unsigned type);
int hy_msg_kind_of(unsigned type);
/* For a request: its reply type; for a reply: its request; else 0. */
unsigned hy_msg_peer_type(unsigned type);
/* May a signed datagram of this type use the all-zero destination? */
bool hy_msg_anon_dst_ok(unsigned type);
/* The ERROR code (enum hy_wire_errcode) to answer a decode failure with. */
unsigned hy_wire_errcode_for(int err);

/*
 * The bytes a record's / mutable value's signature covers, before hashing
 * with the context prefix: the canonical msgpack of [id, pubkey, seq, addrs,
 * ts] / [salt, seq, data]. Return 0 and set *len, or HY_ETOOBIG if cap is
 * too small (HY_RECORD_TBS_MAX always suffices for a record).
 */
#define HY_RECORD_TBS_MAX 176
int hy_record_tbs(const struct hy_record *r, uint8_t *buf, size_t cap,
    size_t *len);
int hy_value_tbs(const struct hy_value *v, uint8_t *buf, size_t cap,
    size_t *len);

/*
 * Signed-datagram outer frame (PROTOCOL.md §3): fixarray 7 of [version,
 * dst, ts_ms, nonce, pubkey, payload, sig].
 */
struct hy_dgram {
	struct hy_id dst; /* all zero: destination unknown */
	uint64_t ts_ms; /* sender wall clock, ms since the Unix epoch */
	uint8_t nonce[HY_NONCE_LEN];
	uint8_t pubkey[HY_PUBKEY_LEN];
	struct hy_wire_bin payload; /* borrowed: the encoded envelope */
	struct hy_wire_bin signed_part; /* borrowed: bytes [0, offset of [6]) */
	uint8_t sig[HY_SIG_LEN];
};

/*
 * Parse a datagram's outer frame. Checks the size (HY_ETOOBIG over
 * HY_DGRAM_MAX, HY_ETRUNC if empty), the first byte (HY_EMALFORMED unless
 * 0x97, a fixarray of 7), the structure (scan errors), the framing version
 * (HY_EVERSION), field types (HY_ETYPE), the fixed field lengths and key
 * prefix (HY_EMALFORMED) and that the signature is encoded as bin8, i.e. is
 * the last 66 bytes (HY_EMALFORMED). Does not look inside the payload, at
 * the timestamp or at the signature's validity. Returns 0 and fills *d
 * (borrowing from buf); *d is untouched on failure.
 */
int hy_dgram_decode(struct hy_dgram *d, const uint8_t *buf, size_t len);

/*
 * Build a datagram in two steps around the signature:
 * hy_dgram_frame_begin writes elements [0..5] into buf and sets *signed_len
 * (the caller signs SHA-256(HY_DGRAM_SIG_CTX || 0x00 || buf[0..signed_len)));
 * hy_dgram_frame_finish appends element [6] and sets *total_len. Both return
 * 0 or HY_ETOOBIG when the complete datagram would exceed cap or
 * HY_DGRAM_MAX (begin reserves room for the signature); HY_EINVAL for a
 * pubkey that is not a compressed point.
 */
int hy_dgram_frame_begin(uint8_t *buf, size_t cap, const struct hy_id *dst,
    uint64_t ts_ms, const uint8_t nonce[HY_NONCE_LEN],
    const uint8_t pubkey[HY_PUBKEY_LEN], const uint8_t *payload,
    size_t payload_len, size_t *signed_len);
int hy_dgram_frame_finish(uint8_t *buf, size_t cap, size_t signed_len,
    const uint8_t sig[HY_SIG_LEN], size_t *total_len);

/* begin + finish with d->sig (re-encoding a decoded frame, tests). */
int hy_dgram_encode(const struct hy_dgram *d, uint8_t *buf, size_t cap,
    size_t *len);

/*
 * TLS stream framing: 4-byte big-endian payload length, then one envelope.
 * hy_tls_frame_header writes the prefix; returns 0, HY_EINVAL if
 * payload_len is 0, or HY_ETOOBIG if it is over cap.
 * hy_tls_frame_check looks at the avail bytes buffered so far: returns 1 and
 * sets *frame_len (4 + payload) when a whole frame is there, 0 when more
 * bytes are needed, or HY_EMALFORMED (length 0) / HY_ETOOBIG (over cap),
 * after which the connection must be closed.
 */
int hy_tls_frame_header(uint8_t hdr[HY_TLS_HDR_LEN], size_t payload_len,
    size_t cap);
int hy_tls_frame_check(const uint8_t *buf, size_t avail, size_t cap,
    size_t *frame_len);

#endif /* HY_WIRE_H */
