/*
 * check_wire.c: tests for the wire codec (src/wire-*.c).
 *
 * - every message of proto/messages.def round-trips (filled with its
 *   minimum and maximum field values and counts): encode -> decode -> equal,
 *   and decode -> encode gives the same bytes;
 * - every golden vector of proto/vectors/MANIFEST (found through $HY_VECTORS)
 *   gives its expected result, valid ones re-encode byte-identically;
 * - every message in the table has a valid vector;
 * - the pre-scanner's limits hold exactly at their edges;
 * - the datagram frame and TLS framing helpers;
 * - a bounded, seeded mutation loop over the vectors never crashes and never
 *   accepts something that does not re-encode to an equal message.
 * The codec unit tests are in check_wire_codec.c, helpers in wire-test.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire-test.h"

START_TEST(test_wire_roundtrip_min)
{
	static struct hy_msg m;

	for (size_t i = 0; i < ntypes; i++) {
		fill_msg(&m, all_types[i], 0);
		roundtrip(&m, HY_PATH_DGRAM);
		roundtrip(&m, HY_PATH_DTLS);
		roundtrip(&m, HY_PATH_TLS);
	}
}
END_TEST

START_TEST(test_wire_roundtrip_max)
{
	static struct hy_msg m;

	for (size_t i = 0; i < ntypes; i++) {
		fill_msg(&m, all_types[i], 1);
		roundtrip(&m, HY_PATH_TLS);
	}
}
END_TEST

START_TEST(test_wire_table_has_vectors)
{
	for (size_t i = 0; i < ntypes; i++) {
		char want[80];
		const char *name = hy_msg_type_name(all_types[i]);
		bool found = false;
		size_t k;

		ck_assert_ptr_nonnull(name);
		snprintf(want, sizeof(want), "msg_");
		for (k = 0; name[k] != '\0' && k < 70; k++)
			want[4 + k] = (char)(name[k] >= 'A' && name[k] <= 'Z'
			        ? name[k] - 'A' + 'a'
			        : name[k]);
		want[4 + k] = '\0';
		for (k = 0; k < nvecs; k++)
			if (strcmp(vecs[k].name, want) == 0 &&
			    strcmp(vecs[k].expect, "ok") == 0)
				found = true;
		ck_assert_msg(found, "no valid vector %s", want);
	}
}
END_TEST

static void
check_msg_vec(const struct vec *v)
{
	static struct hy_msg m, m2;
	enum hy_wire_path path = path_of(v->path);
	size_t len;
	int rc;

	rc = hy_msg_decode(&m, v->data, v->len, path);
	if (strcmp(v->expect, "ok") != 0 && strcmp(v->expect, "accept") != 0) {
		ck_assert_msg(rc == expect_code(v->expect),
		    "%s: got %d (%s), want %s", v->name, rc, hy_strerror(rc),
		    v->expect);
		return;
	}
	ck_assert_msg(rc == HY_OK, "%s: %s", v->name, hy_strerror(rc));
	rc = hy_msg_encode(&m, path, encbuf, sizeof(encbuf), &len);
	ck_assert_msg(rc == HY_OK, "%s: re-encode: %s", v->name,
	    hy_strerror(rc));
	if (strcmp(v->expect, "ok") == 0) {
		ck_assert_msg(len == v->len &&
		        memcmp(encbuf, v->data, len) == 0,
		    "%s: re-encoding differs", v->name);
	} else {
		ck_assert_msg(len != v->len || memcmp(encbuf, v->data, len),
		    "%s: 'accept' vector is canonical: mark it ok", v->name);
	}
	ck_assert_int_eq(hy_msg_decode(&m2, encbuf, len, path), HY_OK);
	ck_assert_msg(hy_msg_equal(&m, &m2), "%s: not equal", v->name);
}

static void
check_dgram_vec(const struct vec *v)
{
	static struct hy_msg m;
	struct hy_dgram d;
	size_t len;
	int rc;

	rc = hy_dgram_decode(&d, v->data, v->len);
	if (strcmp(v->expect, "ok") != 0) {
		ck_assert_msg(rc == expect_code(v->expect),
		    "%s: got %d (%s), want %s", v->name, rc, hy_strerror(rc),
		    v->expect);
		return;
	}
	ck_assert_msg(rc == HY_OK, "%s: %s", v->name, hy_strerror(rc));
	ck_assert_ptr_eq(d.signed_part.ptr, v->data);
	ck_assert_uint_eq(d.signed_part.len, v->len - 66);
	ck_assert_int_eq(hy_dgram_encode(&d, encbuf, sizeof(encbuf), &len),
	    HY_OK);
	ck_assert_uint_eq(len, v->len);
	ck_assert_mem_eq(encbuf, v->data, len);
	rc = hy_msg_decode(&m, d.payload.ptr, d.payload.len, HY_PATH_DGRAM);
	ck_assert_msg(rc == HY_OK, "%s: payload: %s", v->name, hy_strerror(rc));
	if (hy_id_is_zero(&d.dst))
		ck_assert(hy_msg_anon_dst_ok(m.type));
}

static void
check_tls_vec(const struct vec *v)
{
	static struct hy_msg m;
	size_t flen = 0;
	int rc;

	rc = hy_tls_frame_check(v->data, v->len, HY_TLS_FRAME_MAX, &flen);
	if (strcmp(v->expect, "ok") != 0) {
		ck_assert_msg(rc == expect_code(v->expect), "%s: got %d",
		    v->name, rc);
		return;
	}
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(flen, v->len);
	/* every proper prefix asks for more bytes */
	for (size_t k = 0; k < v->len; k++)
		ck_assert_int_eq(hy_tls_frame_check(v->data, k,
		                     HY_TLS_FRAME_MAX, &flen),
		    0);
	ck_assert_int_eq(hy_msg_decode(&m, v->data + 4, v->len - 4,
	                     HY_PATH_TLS),
	    HY_OK);
}

START_TEST(test_wire_vectors)
{
	size_t nok = 0, nbad = 0;

	for (size_t i = 0; i < nvecs; i++) {
		const struct vec *v = &vecs[i];

		if (strcmp(v->kind, "msg") == 0)
			check_msg_vec(v);
		else if (strcmp(v->kind, "dgram") == 0)
			check_dgram_vec(v);
		else if (strcmp(v->kind, "tlsframe") == 0)
			check_tls_vec(v);
		else
			ck_abort_msg("%s: unknown kind %s", v->name, v->kind);
		if (strncmp(v->expect, "HY_", 3) == 0)
			nbad++;
		else
			nok++;
	}
	ck_assert_uint_gt(nok, ntypes);
	ck_assert_uint_gt(nbad, 50);
}
END_TEST

/* ---- mutation ---- */

static void
mutate(struct hy_rng *r, uint8_t *b, size_t *len, size_t cap)
{
	size_t n = *len, pos;
	int k = (int)hy_rng_below(r, 5);

	if (n == 0)
		k = 4;
	pos = n ? (size_t)hy_rng_below(r, n) : 0;
	switch (k) {
	case 0: /* flip a bit */
		b[pos] ^= (uint8_t)(1u << hy_rng_below(r, 8));
		break;
	case 1: /* an interesting byte */ {
		static const uint8_t v[] = { 0x00, 0x7f, 0x80, 0x90, 0x9f, 0xc0,
			0xc1, 0xc4, 0xc6, 0xcf, 0xd4, 0xdc, 0xdd, 0xdf, 0xff };

		b[pos] = v[hy_rng_below(r, sizeof(v))];
		break;
	}
	case 2: /* truncate */
		*len = pos;
		break;
	case 3: /* delete a byte */
		memmove(b + pos, b + pos + 1, n - pos - 1);
		*len = n - 1;
		break;
	default: /* insert a byte */
		if (n < cap) {
			memmove(b + pos + 1, b + pos, n - pos);
			b[pos] = (uint8_t)hy_rng_next(r);
			*len = n + 1;
		}
		break;
	}
}

/*
 * Padding (PROTOCOL.md 4.1): for every target size the envelope reaches at
 * least the target (one byte over at the bin8/bin16 seam), never the cap,
 * and decodes to the same message with one ignored trailing field.
 */
START_TEST(test_wire_padding)
{
	static uint8_t buf[HY_DGRAM_MAX], bare[HY_DGRAM_MAX];
	struct hy_msg m, d;
	struct hy_id sender;
	size_t len, len0;

	memset(&sender, 7, sizeof(sender));
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, "hypha", 9, &sender),
	    HY_OK);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DGRAM, bare, sizeof(bare),
	                     &len0),
	    HY_OK);
	for (uint32_t t = 0; t <= HY_DGRAM_PAYLOAD_MAX + 50; t++) {
		m.pad_to = t;
		ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DGRAM, buf,
		                     sizeof(buf), &len),
		    HY_OK);
		if (t < len0 + 2) {
			/* no padding needed, or no room for an empty bin */
			ck_assert_uint_eq(len, len0);
			ck_assert_mem_eq(buf, bare, len0);
			continue;
		}
		ck_assert_uint_le(len, HY_DGRAM_PAYLOAD_MAX + 1);
		if (t <= HY_DGRAM_PAYLOAD_MAX) {
			ck_assert_uint_ge(len, t);
			ck_assert_uint_le(len, t + 1);
		}
		ck_assert_int_eq(hy_msg_decode(&d, buf, len, HY_PATH_DGRAM),
		    HY_OK);
		ck_assert_uint_eq(d.body.ping.n_extra, 1);
		d.body.ping.n_extra = 0;
		m.pad_to = 0;
		ck_assert(hy_msg_equal(&m, &d));
	}
}
END_TEST

START_TEST(test_wire_mutation)
{
	static struct hy_msg m, m2;
	static uint8_t b[8192];
	uint64_t seed = 0x6879706861ULL; /* fixed: "hypha" */
	struct hy_rng r;
	size_t len, elen, accepted = 0;

	hy_rng_seed(&r, seed);
	for (size_t i = 0; i < nvecs; i++) {
		const struct vec *v = &vecs[i];

		if (v->len > sizeof(b) - 64 || strcmp(v->kind, "tlsframe") == 0)
			continue;
		for (int it = 0; it < 300; it++) {
			enum hy_wire_path p = (enum hy_wire_path)(it % 3);
			struct hy_dgram d, d2;
			int rc;

			memcpy(b, v->data, v->len);
			len = v->len;
			for (int k = 0, nm = 1 + (int)hy_rng_below(&r, 3);
			     k < nm; k++)
				mutate(&r, b, &len, sizeof(b));
			(void)hy_scan(b, len, &hy_scan_limits_v1, NULL);
			if (strcmp(v->kind, "dgram") == 0) {
				rc = hy_dgram_decode(&d, b, len);
				if (rc != HY_OK)
					continue;
				ck_assert_msg(hy_dgram_encode(&d, encbuf,
				                  sizeof(encbuf),
				                  &elen) == HY_OK,
				    "seed %llu vec %s it %d",
				    (unsigned long long)seed, v->name, it);
				ck_assert_int_eq(hy_dgram_decode(&d2, encbuf,
				                     elen),
				    HY_OK);
				ck_assert_mem_eq(d.payload.ptr, d2.payload.ptr,
				    d.payload.len);
				accepted++;
				continue;
			}
			rc = hy_msg_decode(&m, b, len, p);
			if (rc != HY_OK)
				continue;
			accepted++;
			rc =
			    hy_msg_encode(&m, p, encbuf, sizeof(encbuf), &elen);
			ck_assert_msg(rc == HY_OK,
			    "seed %llu vec %s it %d: re-encode %s",
			    (unsigned long long)seed, v->name, it,
			    hy_strerror(rc));
			ck_assert_int_eq(hy_msg_decode(&m2, encbuf, elen, p),
			    HY_OK);
			ck_assert_msg(hy_msg_equal(&m, &m2),
			    "seed %llu vec %s it %d: not equal",
			    (unsigned long long)seed, v->name, it);
		}
	}
	ck_assert_uint_gt(accepted, 0);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wire_roundtrip_min);
	tcase_add_test(tc, test_wire_roundtrip_max);
	tcase_add_test(tc, test_wire_table_has_vectors);
	tcase_add_test(tc, test_wire_vectors);
	tcase_add_test(tc, test_wire_padding);
	tcase_add_test(tc, test_wire_mutation);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, wire_codec_tcase());
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
