/*
 * hypha.h: the public API of libhypha, a Kademlia DHT node with a gossip
 * liveness overlay that runs on the caller's libevent event_base.
 *
 * Everything exported starts with hy_ (functions, types) or HY_ (macros,
 * enum constants). Handles are opaque; _free(NULL) is a no-op.
 */
#ifndef HYPHA_H
#define HYPHA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HY_EXPORT __attribute__((visibility("default")))
#else
#define HY_EXPORT
#endif

/*
 * Errors. Every fallible function returns 0 (HY_OK) or one of these negative
 * codes. The list is append-only: a code's value never changes.
 */
enum hy_err {
	HY_OK = 0,
	HY_EINVAL = -1, /* invalid argument */
	HY_ENOMEM = -2, /* out of memory */
	HY_ETRUNC = -3, /* input ends before the object does */
	HY_ETYPE = -4, /* a field has the wrong msgpack type */
	HY_ETOOBIG = -5, /* a length or count is over its cap */
	HY_EDEPTH = -6, /* nesting deeper than allowed */
	HY_ETRAILING = -7, /* bytes after the end of the object */
	HY_EUNKNOWN = -8, /* unknown message type */
	HY_EVERSION = -9, /* unsupported protocol version */
	HY_ENETWORK = -10, /* message for another network */
	HY_EBADSIG = -11, /* signature does not verify */
	HY_EREPLAY = -12, /* nonce already seen */
	HY_ESTALE = -13, /* timestamp outside the accepted window */
	HY_EIDMISMATCH = -14, /* claimed node ID is not the key's hash */
	HY_EIO = -15, /* operating-system I/O error */
	HY_ECORRUPT = -16, /* a file or structure is corrupt */
	HY_EKEYTYPE = -17, /* key of the wrong type */
	HY_EFULL = -18, /* a bounded table or store is full */
	HY_EEXIST = -19, /* already present */
	HY_ENOENT = -20, /* not found */
	HY_ECANCELED = -21, /* operation cancelled (node freed or stopped) */
	HY_ETIMEDOUT = -22, /* operation timed out */
	HY_ECRYPTO = -23, /* the crypto library failed */
	HY_EMARTIAN = -24, /* address is not routable */
	HY_ESELF = -25, /* refers to the local node */
	HY_EDIVERSITY = -26, /* IP diversity cap reached */
	HY_ERANGE = -27, /* value out of its allowed range */
	HY_EMALFORMED = -28, /* structurally invalid (bad field value) */
	HY_ESTATE = -29, /* call not valid in the current state */
	HY_ERATELIMIT = -30, /* refused by a rate limit */
	HY_EUNREACHABLE = -31 /* no peer could be reached */
};

/* A static, human-readable string for an error code; never NULL. */
HY_EXPORT const char *hy_strerror(int err);

/* The library's version string, e.g. "0.1.0". */
HY_EXPORT const char *hy_version(void);

/* Log levels, most severe first. */
enum hy_log_level {
	HY_LOG_ERR = 0,
	HY_LOG_WARN = 1,
	HY_LOG_INFO = 2,
	HY_LOG_DEBUG = 3
};

/*
 * The library never prints: it hands each log line (without a trailing
 * newline) to a callback the embedder sets. The message is borrowed.
 */
typedef void hy_log_cb(enum hy_log_level level, const char *msg, void *arg);

/* Length in bytes of a node ID and of a DHT key. */
#define HY_ID_LEN 32

#ifdef __cplusplus
}
#endif

#endif /* HYPHA_H */
