/*
 * wire-scan.h: pre-scan of untrusted msgpack (L1).
 *
 * msgpack-c allocates for whatever count an array or map header claims, so
 * every untrusted buffer is walked by hy_scan() first. The walk allocates
 * nothing and bounds every length and count by its cap and by the bytes that
 * remain, so that the unpacker afterwards allocates at most
 * max_objects * sizeof(msgpack_object) bytes.
 */
#ifndef HY_WIRE_SCAN_H
#define HY_WIRE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypha.h"

/* Hard upper bound for max_depth (the walk's stack size). */
#define HY_SCAN_DEPTH_LIMIT 16

struct hy_scan_limits {
	uint32_t max_depth; /* containers nested; top-level array = 1 */
	uint32_t max_objects; /* every object counts, containers included */
	uint32_t max_str; /* bytes of one str */
	uint32_t max_bin; /* bytes of one bin */
	uint32_t max_array; /* elements of one array */
	uint32_t max_map; /* pairs of one map; 0: maps are rejected */
	bool allow_nil;
	bool allow_float;
};

/* The protocol v1 limits (PROTOCOL.md §8): depth 6, 1024 objects, str 128,
 * bin 65536, array 64, no map, no nil, no float. */
extern const struct hy_scan_limits hy_scan_limits_v1;

struct hy_scan_result {
	uint32_t objects; /* objects seen */
	uint32_t depth; /* deepest container nesting seen */
};

/*
 * Check that buf[0..len) holds exactly one msgpack object within lim.
 * Returns 0 (and fills *res if res is not NULL) or the first violation met,
 * checking each object as it is reached in this order:
 *  HY_ETOOBIG	 more objects than max_objects
 *  HY_ETRUNC	 the object's header runs past the end of the input
 *  HY_ETYPE	 ext / fixext, the reserved byte 0xc1, a map with max_map 0,
 *		 nil or float when not allowed
 *  HY_ETOOBIG	 a str, bin, array or map over its cap
 *  HY_EDEPTH	 a container nested deeper than max_depth
 *  HY_ETRUNC	 a str/bin body, or a container's elements (at least one
 *		 byte each, two per map pair), run past the end of the input
 * and, once the top-level object is complete:
 *  HY_ETRAILING bytes after it.
 * HY_EINVAL if lim->max_depth is over HY_SCAN_DEPTH_LIMIT. *res is written
 * only on success.
 */
int hy_scan(const uint8_t *buf, size_t len, const struct hy_scan_limits *lim,
    struct hy_scan_result *res);

#endif /* HY_WIRE_SCAN_H */
