/*
 * fuzz_scan.c: libFuzzer target for the pre-scanner alone.
 *
 * Whatever hy_scan() accepts under the v1 limits must be exactly one
 * msgpack object that msgpack-c unpacks completely, and the scan result must
 * respect the limits; otherwise abort. (msgpack-c runs only after the scan,
 * as in the codec, so its allocation stays bounded.)
 */
#include "config.h"

#include <msgpack.h>
#include <stdlib.h>

#include "wire-scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hy_scan_limits *L = &hy_scan_limits_v1;
	struct hy_scan_result r;
	msgpack_unpacked up;
	size_t off = 0;
	int rc;

	rc = hy_scan(data, size, L, &r);
	if (rc != HY_OK)
		return 0;
	if (r.objects == 0 || r.objects > L->max_objects ||
	    r.depth > L->max_depth)
		abort();
	msgpack_unpacked_init(&up);
	rc = msgpack_unpack_next(&up, (const char *)data, size, &off);
	if (rc != MSGPACK_UNPACK_SUCCESS || off != size)
		abort();
	msgpack_unpacked_destroy(&up);
	return 0;
}
