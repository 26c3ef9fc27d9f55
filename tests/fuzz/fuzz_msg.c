/*
 * fuzz_msg.c: libFuzzer target for the envelope + body decoder.
 *
 * The first input byte picks the path (signed datagram, DTLS, TLS: the caps
 * differ), the rest is decoded. A message that decodes must re-encode, and
 * the re-encoding must decode to an equal message; anything else aborts.
 */
#include "config.h"

#include <stdlib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[HY_TLS_FRAME_MAX];
static struct hy_msg m, m2;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum hy_wire_path path;
	size_t len;

	if (size < 1)
		return 0;
	path = (enum hy_wire_path)(data[0] % 3);
	if (hy_msg_decode(&m, data + 1, size - 1, path) != HY_OK)
		return 0;
	if (hy_msg_encode(&m, path, out, sizeof(out), &len) != HY_OK)
		abort();
	if (hy_msg_decode(&m2, out, len, path) != HY_OK)
		abort();
	if (!hy_msg_equal(&m, &m2))
		abort();
	return 0;
}
