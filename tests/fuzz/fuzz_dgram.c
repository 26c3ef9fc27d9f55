/*
 * fuzz_dgram.c: libFuzzer target for the signed-datagram outer frame.
 *
 * A frame that decodes must re-encode (begin + finish), the re-encoding must
 * decode to the same fields, and its signed range must be all but the last
 * 66 bytes. The payload is then fed to the envelope decoder as the transport
 * would.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[HY_DGRAM_MAX];
static struct hy_msg m;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hy_dgram d, d2;
	size_t len;

	if (hy_dgram_decode(&d, data, size) != HY_OK)
		return 0;
	if (d.signed_part.ptr != data || d.signed_part.len + 66 != size)
		abort();
	if (hy_dgram_encode(&d, out, sizeof(out), &len) != HY_OK)
		abort();
	if (hy_dgram_decode(&d2, out, len) != HY_OK)
		abort();
	if (!hy_id_eq(&d.dst, &d2.dst) || d.ts_ms != d2.ts_ms ||
	    memcmp(d.nonce, d2.nonce, sizeof(d.nonce)) != 0 ||
	    memcmp(d.pubkey, d2.pubkey, sizeof(d.pubkey)) != 0 ||
	    memcmp(d.sig, d2.sig, sizeof(d.sig)) != 0 ||
	    d.payload.len != d2.payload.len ||
	    memcmp(d.payload.ptr, d2.payload.ptr, d.payload.len) != 0)
		abort();
	(void)hy_msg_decode(&m, d.payload.ptr, d.payload.len, HY_PATH_DGRAM);
	return 0;
}
