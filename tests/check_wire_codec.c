/*
 * check_wire_codec.c: unit tests of the wire codec pieces: the pre-scanner
 * at its limits, the datagram frame, TLS framing, encoder bounds and
 * checks, envelope recovery on errors, table lookups and to-be-signed bytes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "wire-test.h"

/* ---- the pre-scanner at its edges ---- */

static size_t
nested(uint8_t *buf, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		buf[n++] = i == depth - 1 ? 0x90 : 0x91;
	return n;
}

START_TEST(test_wire_scan_limits)
{
	const struct hy_scan_limits *L = &hy_scan_limits_v1;
	struct hy_scan_result r;
	uint8_t buf[4096];
	size_t n;

	n = nested(buf, 6);
	ck_assert_int_eq(hy_scan(buf, n, L, &r), HY_OK);
	ck_assert_uint_eq(r.depth, 6);
	ck_assert_uint_eq(r.objects, 6);
	n = nested(buf, 7);
	ck_assert_int_eq(hy_scan(buf, n, L, &r), HY_EDEPTH);

	/* 1024 objects pass, 1025 do not: array of 16 arrays of 63/62 */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		buf[n++] = 0xdc, buf[n++] = 0, buf[n++] = 16;
		for (int i = 0; i < 16; i++) {
			int k = i == 15 ? 62 + extra : 63;

			buf[n++] = 0xdc, buf[n++] = 0, buf[n++] = (uint8_t)k;
			memset(buf + n, 0x01, (size_t)k);
			n += (size_t)k;
		}
		ck_assert_int_eq(hy_scan(buf, n, L, &r),
		    extra ? HY_ETOOBIG : HY_OK);
		if (!extra) {
			ck_assert_uint_eq(r.objects, 1024);
			ck_assert_uint_eq(r.depth, 2);
		}
	}

	/* claims bounded by bytes left, before anything else */
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xdc\x00\x03\x01\x01", 5, L,
	                     NULL),
	    HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xdd\xff\xff\xff\xff", 5, L,
	                     NULL),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc6\x00\x01\x00\x01", 5, L,
	                     NULL),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc6\x00\x00\x01\x00", 5, L,
	                     NULL),
	    HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xcf\x00", 2, L, NULL),
	    HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"", 0, L, NULL), HY_ETRUNC);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x01\x01", 2, L, NULL),
	    HY_ETRAILING);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x80", 1, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc0", 1, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xc1", 1, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xd4\x01\x00", 3, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\xca\0\0\0\0", 5, L, NULL),
	    HY_ETYPE);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x92\xc2\xc3", 3, L, NULL),
	    HY_OK);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x91\x90", 2, L, NULL),
	    HY_OK);
	ck_assert_int_eq(hy_scan((const uint8_t *)"\x90\x90", 2, L, NULL),
	    HY_ETRAILING);

	/* other limits: maps, nil and floats when allowed */
	{
		struct hy_scan_limits l2 = *L;

		l2.max_map = 2;
		l2.allow_nil = true;
		l2.allow_float = true;
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x82\x01\xc0\x02"
		                                          "\xca\0\0\0\0",
		                     9, &l2, &r),
		    HY_OK);
		ck_assert_uint_eq(r.objects, 5);
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x83\x01\x01\x01"
		                                          "\x01\x01\x01",
		                     7, &l2, NULL),
		    HY_ETOOBIG);
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x82\x01\x01\x01", 4,
		                     &l2, NULL),
		    HY_ETRUNC);
		l2.max_depth = HY_SCAN_DEPTH_LIMIT + 1;
		ck_assert_int_eq(hy_scan((const uint8_t *)"\x01", 1, &l2, NULL),
		    HY_EINVAL);
	}
	{
		/* str at its cap and one over */
		uint8_t s[200];

		s[0] = 0xd9, s[1] = 128;
		memset(s + 2, 'a', 129);
		ck_assert_int_eq(hy_scan(s, 130, L, NULL), HY_OK);
		s[1] = 129;
		ck_assert_int_eq(hy_scan(s, 131, L, NULL), HY_ETOOBIG);
	}
}
END_TEST

/* ---- datagram frame ---- */

START_TEST(test_wire_dgram_frame)
{
	static struct hy_msg m, m2;
	uint8_t pkt[HY_DGRAM_MAX + 64], env[HY_DGRAM_MAX], sig[HY_SIG_LEN];
	uint8_t nonce[HY_NONCE_LEN], pub[HY_PUBKEY_LEN];
	struct hy_id dst, self;
	struct hy_dgram d;
	size_t elen, slen, tlen;

	fill_id(&self, 1);
	fill_id(&dst, 2);
	memset(nonce, 7, sizeof(nonce));
	memset(pub, 9, sizeof(pub));
	pub[0] = 0x03;
	memset(sig, 0xab, sizeof(sig));
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_FIND_NODE, "hypha", 42, &self),
	    HY_OK);
	fill_id(&m.body.find_node.target, 5);
	m.body.find_node.want = 3;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DGRAM, env, sizeof(env),
	                     &elen),
	    HY_OK);
	ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst,
	                     1700000000000ULL, nonce, pub, env, elen, &slen),
	    HY_OK);
	ck_assert_uint_eq(pkt[0], 0x97);
	ck_assert_int_eq(hy_dgram_frame_finish(pkt, sizeof(pkt), slen, sig,
	                     &tlen),
	    HY_OK);
	ck_assert_uint_eq(tlen, slen + 66);
	ck_assert_int_eq(hy_dgram_decode(&d, pkt, tlen), HY_OK);
	ck_assert(hy_id_eq(&d.dst, &dst));
	ck_assert_uint_eq(d.ts_ms, 1700000000000ULL);
	ck_assert_mem_eq(d.nonce, nonce, sizeof(nonce));
	ck_assert_mem_eq(d.pubkey, pub, sizeof(pub));
	ck_assert_mem_eq(d.sig, sig, sizeof(sig));
	ck_assert_ptr_eq(d.signed_part.ptr, pkt);
	ck_assert_uint_eq(d.signed_part.len, slen);
	ck_assert_uint_eq(d.payload.len, elen);
	ck_assert_mem_eq(d.payload.ptr, env, elen);
	ck_assert_int_eq(hy_msg_decode(&m2, d.payload.ptr, d.payload.len,
	                     HY_PATH_DGRAM),
	    HY_OK);
	ck_assert(hy_msg_equal(&m, &m2));

	/* sizes: the biggest payload that fits, and one more byte */
	{
		static uint8_t big[HY_DGRAM_MAX];
		size_t max = HY_DGRAM_MAX - 1 - 1 - 34 - 9 - 18 - 35 - 3 - 66;

		ck_assert_uint_eq(max, HY_DGRAM_PAYLOAD_MAX);
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst,
		                     UINT64_MAX, nonce, pub, big, max, &slen),
		    HY_OK);
		ck_assert_int_eq(hy_dgram_frame_finish(pkt, sizeof(pkt), slen,
		                     sig, &tlen),
		    HY_OK);
		ck_assert_uint_eq(tlen, HY_DGRAM_MAX);
		ck_assert_int_eq(hy_dgram_decode(&d, pkt, tlen), HY_OK);
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst,
		                     UINT64_MAX, nonce, pub, big, max + 1,
		                     &slen),
		    HY_ETOOBIG);
		/* a small cap: begin refuses, finish never overflows */
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, 200, &dst, 1, nonce,
		                     pub, big, 100, &slen),
		    HY_ETOOBIG);
		ck_assert_int_eq(hy_dgram_frame_finish(pkt, 100, 40, sig,
		                     &tlen),
		    HY_ETOOBIG);
		pub[0] = 0x04;
		ck_assert_int_eq(hy_dgram_frame_begin(pkt, sizeof(pkt), &dst, 1,
		                     nonce, pub, big, 1, &slen),
		    HY_EINVAL);
		ck_assert_int_eq(hy_dgram_decode(&d, pkt, HY_DGRAM_MAX + 1),
		    HY_ETOOBIG);
	}
}
END_TEST

START_TEST(test_wire_tls_frame)
{
	uint8_t hdr[4], buf[8] = { 0, 0, 0, 3, 1, 2, 3, 4 };
	size_t fl = 0;

	ck_assert_int_eq(hy_tls_frame_header(hdr, 0x010203, HY_TLS_FRAME_MAX),
	    HY_OK);
	ck_assert_mem_eq(hdr, "\x00\x01\x02\x03", 4);
	ck_assert_int_eq(hy_tls_frame_header(hdr, 0, HY_TLS_FRAME_MAX),
	    HY_EINVAL);
	ck_assert_int_eq(hy_tls_frame_header(hdr, HY_TLS_FRAME_MAX + 1,
	                     HY_TLS_FRAME_MAX),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_tls_frame_check(buf, 3, 100, &fl), 0);
	ck_assert_int_eq(hy_tls_frame_check(buf, 6, 100, &fl), 0);
	ck_assert_int_eq(hy_tls_frame_check(buf, 8, 100, &fl), 1);
	ck_assert_uint_eq(fl, 7);
	ck_assert_int_eq(hy_tls_frame_check(buf, 8, 2, &fl), HY_ETOOBIG);
}
END_TEST

/* ---- encoder bounds and checks ---- */

START_TEST(test_wire_encode_bounded)
{
	static struct hy_msg m;
	static uint8_t out[8192];
	size_t need, len, k;

	fill_msg(&m, HY_MSG_VALUES, 0);
	m.body.values.n_values = 3;
	for (int i = 0; i < 3; i++)
		fill_value(&m.body.values.values[i], i, 1);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, out, sizeof(out),
	                     &need),
	    HY_OK);
	for (size_t cap = 0; cap < need; cap++) {
		memset(out, 0xcc, sizeof(out));
		len = 12345;
		ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, out, cap, &len),
		    HY_ETOOBIG);
		ck_assert_uint_eq(len, 12345);
		k = cap;
		while (k < sizeof(out) && out[k] == 0xcc)
			k++;
		ck_assert_msg(k == sizeof(out), "cap %zu: wrote byte %zu", cap,
		    k);
	}
	/* the same message is over the DTLS envelope cap */
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DTLS, out, sizeof(out),
	                     &len),
	    HY_ETOOBIG);
}
END_TEST

START_TEST(test_wire_encode_rejects)
{
	static struct hy_msg m;
	struct hy_id id;
	size_t len;

	fill_id(&id, 1);
	ck_assert_int_eq(hy_msg_init(&m, 0x7e, "x", 1, &id), HY_EUNKNOWN);
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, "", 1, &id),
	    HY_EMALFORMED);
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING, "a b", 1, &id),
	    HY_EMALFORMED);
	ck_assert_int_eq(hy_msg_init(&m, HY_MSG_PING,
	                     "123456789012345678901234567890123", 1, &id),
	    HY_ETOOBIG);

	fill_msg(&m, HY_MSG_STORE, 0);
	m.body.store.value.ttl_s = 0;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_ERANGE);
	fill_msg(&m, HY_MSG_STORE, 0);
	m.body.store.value.data.ptr = pool;
	m.body.store.value.data.len = HY_VALUE_DGRAM_MAX + 1;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DTLS, encbuf, BUFSZ, &len),
	    HY_ETOOBIG);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_OK);
	fill_msg(&m, HY_MSG_NODES, 0);
	m.body.nodes.n_nodes = HY_NODES_MAX + 1;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_ETOOBIG);
	fill_msg(&m, HY_MSG_PONG, 0);
	m.body.pong.observed.family = 0;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_EMALFORMED);
	fill_msg(&m, HY_MSG_ANNOUNCE_PEER, 0);
	m.body.announce_peer.port = 65536;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_ERANGE);
	fill_msg(&m, HY_MSG_ERROR, 0);
	m.body.error.reason.ptr = (const uint8_t *)"\xff";
	m.body.error.reason.len = 1;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_EMALFORMED);
	fill_msg(&m, HY_MSG_PROBE, 1);
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_DGRAM, encbuf, BUFSZ, &len),
	    HY_EINVAL);
	fill_msg(&m, HY_MSG_PING, 0);
	m.n_gossip = 1;
	m.gossip[0].kind = 77;
	ck_assert_int_eq(hy_msg_encode(&m, HY_PATH_TLS, encbuf, BUFSZ, &len),
	    HY_EMALFORMED);
}
END_TEST

START_TEST(test_wire_decode_env_on_error)
{
	static struct hy_msg m;
	/* [1, "n", 0x7e, 9, bin32, []]: unknown type, envelope usable */
	uint8_t buf[64] = { 0x96, 0x01, 0xa1, 'n', 0x7e, 0x09, 0xc4, 0x20 };
	size_t len = 8 + 32;

	memset(buf + 8, 0x33, 32);
	buf[len++] = 0x90;
	ck_assert_int_eq(hy_msg_decode(&m, buf, len, HY_PATH_DGRAM),
	    HY_EUNKNOWN);
	ck_assert(m.env_valid);
	ck_assert_uint_eq(m.txid, 9);
	ck_assert_str_eq(m.network, "n");
	ck_assert_uint_eq(m.sender.b[0], 0x33);
	ck_assert_uint_eq(hy_wire_errcode_for(HY_EUNKNOWN),
	    HY_WERR_UNKNOWN_TYPE);
	ck_assert_int_eq(hy_msg_check_network(&m, "n"), HY_OK);
	ck_assert_int_eq(hy_msg_check_network(&m, "m"), HY_ENETWORK);
	/* a bad body after a good envelope: still answerable */
	buf[4] = HY_MSG_FIND_NODE;
	ck_assert_int_eq(hy_msg_decode(&m, buf, len, HY_PATH_DGRAM),
	    HY_EMALFORMED);
	ck_assert(m.env_valid);
	ck_assert_uint_eq(m.type, HY_MSG_FIND_NODE);
}
END_TEST

START_TEST(test_wire_table_lookups)
{
	ck_assert_str_eq(hy_msg_type_name(HY_MSG_PROBE_REQ), "PROBE_REQ");
	ck_assert_ptr_null(hy_msg_type_name(0x7e));
	ck_assert_int_eq(hy_msg_kind_of(HY_MSG_STORE), HY_MK_REQ);
	ck_assert_int_eq(hy_msg_kind_of(HY_MSG_PEX), HY_MK_ONEWAY);
	ck_assert_uint_eq(hy_msg_peer_type(HY_MSG_FIND_VALUE), HY_MSG_VALUES);
	ck_assert_uint_eq(hy_msg_peer_type(HY_MSG_VALUES), HY_MSG_FIND_VALUE);
	ck_assert(hy_msg_anon_dst_ok(HY_MSG_PING));
	ck_assert(hy_msg_anon_dst_ok(HY_MSG_FIND_NODE));
	ck_assert(!hy_msg_anon_dst_ok(HY_MSG_STORE));
	for (size_t i = 0; i < ntypes; i++) {
		unsigned t = all_types[i], p = hy_msg_peer_type(t);

		if (hy_msg_kind_of(t) == HY_MK_REQ)
			ck_assert_int_eq(hy_msg_kind_of(p), HY_MK_REPLY);
	}
}
END_TEST

START_TEST(test_wire_tbs)
{
	struct hy_record r;
	struct hy_value v;
	uint8_t out[HY_RECORD_TBS_MAX], out2[HY_RECORD_TBS_MAX];
	size_t len, len2;

	memset(&r, 0, sizeof(r));
	fill_id(&r.id, 1);
	r.pubkey[0] = 0x02;
	r.seq = 300;
	r.n_addrs = 1;
	fill_addr(&r.addrs[0], 1, 0);
	r.ts_ms = 5;
	ck_assert_int_eq(hy_record_tbs(&r, out, sizeof(out), &len), HY_OK);
	/* 95 | c420 id | c421 pk | cd012c | 91 c406 addr | 05 */
	ck_assert_uint_eq(len, 1 + 34 + 35 + 3 + 1 + 8 + 1);
	ck_assert_uint_eq(out[0], 0x95);
	ck_assert_mem_eq(out + 70, "\xcd\x01\x2c\x91\xc4\x06", 6);
	ck_assert_uint_eq(out[len - 1], 0x05);
	memset(r.sig, 1, sizeof(r.sig)); /* the sig is not covered */
	ck_assert_int_eq(hy_record_tbs(&r, out2, sizeof(out2), &len2), HY_OK);
	ck_assert_mem_eq(out, out2, len);
	/* 4 IPv6 addresses still fit HY_RECORD_TBS_MAX */
	r.n_addrs = 4;
	for (int i = 0; i < 4; i++)
		fill_addr(&r.addrs[i], i, 1);
	r.seq = r.ts_ms = UINT64_MAX;
	ck_assert_int_eq(hy_record_tbs(&r, out, sizeof(out), &len), HY_OK);
	ck_assert_int_eq(hy_record_tbs(&r, out, len - 1, &len2), HY_ETOOBIG);

	fill_value(&v, 0, 0);
	ck_assert_int_eq(hy_value_tbs(&v, out, sizeof(out), &len), HY_EINVAL);
	v.is_mutable = true;
	v.salt.ptr = (const uint8_t *)"s";
	v.salt.len = 1;
	v.seq = 1;
	v.data.ptr = (const uint8_t *)"hi";
	v.data.len = 2;
	ck_assert_int_eq(hy_value_tbs(&v, out, sizeof(out), &len), HY_OK);
	ck_assert_uint_eq(len, 9);
	ck_assert_mem_eq(out, "\x93\xc4\x01s\x01\xc4\x02hi", 9);
}
END_TEST

TCase *
wire_codec_tcase(void)
{
	TCase *tc = tcase_create("codec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wire_scan_limits);
	tcase_add_test(tc, test_wire_dgram_frame);
	tcase_add_test(tc, test_wire_tls_frame);
	tcase_add_test(tc, test_wire_encode_bounded);
	tcase_add_test(tc, test_wire_encode_rejects);
	tcase_add_test(tc, test_wire_decode_env_on_error);
	tcase_add_test(tc, test_wire_table_lookups);
	tcase_add_test(tc, test_wire_tbs);
	return tc;
}
