#!/usr/bin/env python3
"""gen-vectors.py: golden vectors and field tables for hypha wire protocol v1.

Uses only the standard library. The message table is parsed from
proto/messages.def, so every message in the table gets a valid vector.

  gen-vectors.py --out proto/vectors      write *.hex files and MANIFEST
  gen-vectors.py --check proto/vectors    exit 1 if the files are stale
  gen-vectors.py --doc                    print PROTOCOL.md's field tables
  gen-vectors.py --check-doc PROTOCOL.md  exit 1 if the tables are stale

Vector file format: lines starting with '#' are comments; the rest is hex
(whitespace ignored). MANIFEST lines: name kind path expect, where kind is
msg (an envelope), dgram (a signed-datagram frame) or tlsframe (length prefix
+ envelope), path is dgram/dtls/tls, and expect is
  ok      decodes, and re-encoding gives the same bytes
  accept  decodes; re-encoding may differ (non-canonical input, ignored
          extensions) but decodes to an equal message
  HY_E... rejected with exactly that error code.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DEF = os.path.join(TOP, 'proto', 'messages.def')

U32 = 2**32 - 1
U64 = 2**64 - 1


# ---- a tiny canonical msgpack writer ----

class Raw(bytes):
    """Bytes inserted verbatim (for hand-made malformed encodings)."""


class Str(str):
    pass


def pack(o):
    if isinstance(o, Raw):
        return bytes(o)
    if isinstance(o, bool):
        return b'\xc3' if o else b'\xc2'
    if o is None:
        return b'\xc0'
    if isinstance(o, int):
        if o >= 0:
            if o < 128:
                return bytes([o])
            if o < 2**8:
                return b'\xcc' + bytes([o])
            if o < 2**16:
                return b'\xcd' + struct.pack('>H', o)
            if o < 2**32:
                return b'\xce' + struct.pack('>I', o)
            return b'\xcf' + struct.pack('>Q', o)
        if o >= -32:
            return struct.pack('>b', o)
        if o >= -128:
            return b'\xd0' + struct.pack('>b', o)
        return b'\xd3' + struct.pack('>q', o)
    if isinstance(o, str):
        b = o.encode('utf-8')
        return str_hdr(len(b)) + b
    if isinstance(o, (bytes, bytearray)):
        return bin_hdr(len(o)) + bytes(o)
    if isinstance(o, float):
        return b'\xcb' + struct.pack('>d', o)
    if isinstance(o, list):
        return arr_hdr(len(o)) + b''.join(pack(x) for x in o)
    raise TypeError(type(o))


def str_hdr(n):
    if n < 32:
        return bytes([0xa0 | n])
    if n < 2**8:
        return b'\xd9' + bytes([n])
    if n < 2**16:
        return b'\xda' + struct.pack('>H', n)
    return b'\xdb' + struct.pack('>I', n)


def bin_hdr(n):
    if n < 2**8:
        return b'\xc4' + bytes([n])
    if n < 2**16:
        return b'\xc5' + struct.pack('>H', n)
    return b'\xc6' + struct.pack('>I', n)


def arr_hdr(n):
    if n < 16:
        return bytes([0x90 | n])
    if n < 2**16:
        return b'\xdc' + struct.pack('>H', n)
    return b'\xdd' + struct.pack('>I', n)


# ---- messages.def ----

def parse_def():
    msgs = []
    consts = {'UINT32_MAX': U32, 'UINT64_MAX': U64}

    def num(s):
        s = s.strip()
        return consts[s] if s in consts else int(s, 0)

    for line in open(DEF):
        m = re.match(r'HY_MSG\((\w+), (\w+), (\w+), (\w+), (\w+)\)', line)
        if m:
            msgs.append({'code': int(m.group(1), 0), 'NAME': m.group(2),
                         'name': m.group(3), 'kind': m.group(4),
                         'peer': int(m.group(5), 0), 'fields': []})
            continue
        m = re.match(r'HY_FIELD\((\w+), (\w+), (\w+), (\w+), (\w+)\)', line)
        if m:
            assert m.group(1) == msgs[-1]['name'], line
            msgs[-1]['fields'].append((m.group(2), m.group(3),
                                       num(m.group(4)), num(m.group(5))))
    return msgs


MSGS = parse_def()
BYNAME = {m['name']: m for m in MSGS}
BYCODE = {m['code']: m for m in MSGS}

# ---- sample data ----

NET = 'hypha-test'
SENDER = bytes(range(0x40, 0x60))


def nid(i):
    return bytes((i * 7 + k) & 0xff for k in range(32))


def addr4(i):
    return bytes([203, 0, 113, i & 0xff]) + struct.pack('>H', 6881 + i)


def addr6(i):
    return bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [i & 0xff]) + \
        struct.pack('>H', 7000 + i)


def contact(i, v6=False):
    return [nid(i), addr6(i) if v6 else addr4(i)]


PUBKEY = b'\x02' + bytes([0x11] * 32)
SIG = bytes([0x5a] * 64)


def value(i, data=None, mutable=False):
    if data is None:
        data = ('value-%d' % i).encode()
    v = [1000 + i, 3600, data, 0]
    if mutable:
        v += [b'\x03' + bytes([0x22] * 32), b'salt', 7, SIG]
    return v


def record(i, naddrs=2):
    return [1, nid(0x80 + i), PUBKEY, 5 + i,
            [addr4(i + k) if k % 2 == 0 else addr6(i + k)
             for k in range(naddrs)], 1700000000000 + i, SIG]


def suspect(i):
    return [2, nid(0x90 + i), 4, 1500, nid(0xa0 + i)]


def sample_field(fname, T, a, b, mname, idx):
    if T == 'UINT':
        if mname == 'error' and fname == 'code':
            return 3
        if b == 255:
            return 3
        if b == 16:
            return 8
        if b == 65535:
            return 6881
        if b == U32:
            return 0x12345678
        return (1 << 40) | 5
    if T == 'BOOL':
        return mname != 'values'
    if T == 'ID':
        return nid(idx + 1)
    if T == 'ADDR':
        return addr4(9)
    if T == 'CONTACT':
        return contact(3)
    if T == 'BIN':
        return bytes(range(0xa0, 0xa0 + min(a, 20)))
    if T == 'STR':
        return 'bad token'
    if T == 'VALUE':
        return value(1)
    if T == 'CONTACTS':
        return [contact(idx * 10 + k, v6=(k == 1)) for k in range(3)]
    if T == 'ADDRS':
        return [addr4(k) if k % 2 == 0 else addr6(k) for k in range(4)]
    if T == 'VALUES':
        return [value(k) for k in range(2)]
    raise ValueError(T)


def body(mname, **over):
    m = BYNAME[mname]
    out = []
    for idx, (f, T, a, b) in enumerate(m['fields']):
        out.append(over[f] if f in over else
                   sample_field(f, T, a, b, mname, idx))
    return out


def env(mname=None, body_=None, gossip=None, version=1, network=NET,
        mtype=None, txid=0x01020304, sender=SENDER):
    if mtype is None:
        mtype = BYNAME[mname]['code']
    if body_ is None:
        body_ = body(mname)
    e = [version, network, mtype, txid, sender, body_]
    if gossip is not None:
        e.append(gossip)
    return e


def dgram(payload, dst=bytes(32), ts=1700000000123, nonce=bytes(range(16)),
          pubkey=PUBKEY, sig=SIG, version=1):
    return [version, dst, ts, nonce, pubkey, payload, sig]


GOSSIP_PATH = {'probe', 'ack', 'probe_req', 'nack', 'pex'}

# ---- the vectors ----


def vectors():
    V = []

    def add(name, kind, path, expect, data, comment):
        if not isinstance(data, bytes):
            data = pack(data)
        V.append((name, kind, path, expect, bytes(data), comment))

    # One canonical vector per message type in the table.
    for m in MSGS:
        path = 'dtls' if m['name'] in GOSSIP_PATH else 'dgram'
        add('msg_' + m['name'], 'msg', path, 'ok', env(m['name']),
            '%s (0x%02x): every field filled with sample data' %
            (m['NAME'], m['code']))
    add('msg_ping_gossip', 'msg', 'dtls', 'ok',
        env('probe', gossip=[record(1), suspect(2), record(3, 4)]),
        'PROBE with three piggybacked gossip items (RECORD, SUSPECT)')
    add('msg_store_mutable', 'msg', 'dgram', 'ok',
        env('store', body('store', value=value(5, mutable=True), cas=7)),
        'STORE of a signed mutable value with cas = 7')
    add('msg_store_tls_big', 'msg', 'tls', 'ok',
        env('store', body('store', value=value(6, data=bytes(2000)))),
        'STORE of a 2000-byte value: fine over TLS')
    add('msg_nodes_full', 'msg', 'dgram', 'ok',
        env('nodes', [[contact(k) for k in range(20)]]),
        'NODES with the maximum of 20 IPv4 contacts')
    add('msg_peers_full', 'msg', 'tls', 'ok',
        env('peers', body('peers', peers=[addr6(k) for k in range(50)],
                          nodes=[contact(k, True) for k in range(20)])),
        'PEERS with 50 peers and 20 nodes (IPv6): needs TLS')
    add('msg_pex_full', 'msg', 'tls', 'ok',
        env('pex', [[contact(k) for k in range(50)],
                    [contact(100 + k, True) for k in range(50)]]),
        'PEX with 50 added and 50 dropped')
    add('msg_values_full', 'msg', 'tls', 'ok',
        env('values', body('values', values=[value(k, bytes([k]) * 1000)
                                             for k in range(16)])),
        'VALUES with 16 values of 1000 bytes')
    add('msg_error_utf8', 'msg', 'dgram', 'ok',
        env('error', body('error', code=5, reason='zu groß')),
        'ERROR with a non-ASCII UTF-8 reason')
    add('msg_tls_value_max', 'msg', 'tls', 'ok',
        env('store', body('store', value=value(7, data=bytes(65536)))),
        'STORE of a value at the 65536-byte TLS cap')

    # Accepted but not canonical, or carrying ignored extensions.
    add('acc_body_extra_fields', 'msg', 'dgram', 'accept',
        env('find_node', body('find_node') + [7, b'future', [1, 2]]),
        'FIND_NODE with three trailing body fields (extension rule)')
    # Padding (PROTOCOL.md 4.1): a first-contact PING padded with one
    # trailing bin of zeros so the envelope is exactly 1113 bytes.
    bare = pack(env('ping'))
    need = 1113 - len(bare)
    padlen = need - 2 if need <= 257 else max(need - 3, 256)
    add('acc_padded_ping', 'msg', 'dgram', 'accept',
        env('ping', body('ping') + [bytes(padlen)]),
        'PING padded to a full datagram envelope (1113 bytes)')
    add('acc_unknown_gossip_kind', 'msg', 'dtls', 'accept',
        env('probe', gossip=[[99, 'x', [1]], suspect(1)]),
        'unknown gossip kind 99 is skipped, the SUSPECT kept')
    add('acc_empty_gossip', 'msg', 'dtls', 'accept',
        env('ack', gossip=[]), 'empty gossip array present')
    add('acc_noncanonical_int', 'msg', 'dgram', 'accept',
        env('ping', txid=Raw(b'\xcf' + struct.pack('>Q', 5))),
        'txid 5 encoded as uint64')
    add('acc_dgram_gossip_ignored', 'msg', 'dgram', 'accept',
        env('ping', gossip=[suspect(1)]),
        'gossip on the signed-datagram path: checked, then ignored')
    add('bad_dgram_gossip_checked', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping', gossip=[[2, nid(1)]]),
        'gossip on the signed-datagram path is still checked')
    add('acc_record_extra', 'msg', 'dtls', 'accept',
        env('ack', gossip=[record(1) + ['ext']]),
        'RECORD item with a trailing extension field')

    # Rejected by the pre-scan.
    ping = pack(env('ping'))
    fn = pack(env('find_node'))
    add('bad_empty', 'msg', 'dgram', 'HY_ETRUNC', b'', 'empty input')
    add('bad_truncated', 'msg', 'dgram', 'HY_ETRUNC', fn[:-1],
        'FIND_NODE missing its last byte')
    add('bad_truncated_header', 'msg', 'dgram', 'HY_ETRUNC', fn[:1] + b'\x01\xcd\x00',
        'a uint16 header without its bytes')
    add('bad_trailing', 'msg', 'dgram', 'HY_ETRAILING', ping + b'\x00',
        'PING followed by one extra byte')
    add('bad_array32_huge', 'msg', 'dgram', 'HY_ETOOBIG',
        b'\xdd\xff\xff\xff\xff' + b'\x01' * 8,
        'array32 claiming 2^32-1 elements')
    add('bad_array_more_than_left', 'msg', 'dgram', 'HY_ETRUNC',
        b'\xdc\x00\x30' + b'\x01' * 10,
        'array16 of 48 elements with 10 bytes left')
    add('bad_str32_huge', 'msg', 'dgram', 'HY_ETOOBIG',
        env('ping', network=Raw(b'\xdb\xff\xff\xff\xff')),
        'network str32 claiming 2^32-1 bytes')
    add('bad_bin32_huge', 'msg', 'dgram', 'HY_ETOOBIG',
        env('ping', sender=Raw(b'\xc6\xff\xff\xff\xff')),
        'sender bin32 claiming 2^32-1 bytes')
    add('bad_bin_truncated', 'msg', 'dgram', 'HY_ETRUNC',
        b'\x96' + pack(1) + pack(NET) + pack(1) + pack(1) +
        b'\xc4\x20' + bytes(10),
        'bin8 of 32 bytes with 10 left')
    add('bad_deep', 'msg', 'dgram', 'HY_EDEPTH',
        env('ping', body_=[[[[[[1]]]]]]),
        'seven nested arrays (limit 6)')
    add('bad_too_many_objects', 'msg', 'tls', 'HY_ETOOBIG',
        env('ping', body_=[[0] * 60 for _ in range(20)]),
        'over 1024 objects in total')
    add('bad_array_over_global_cap', 'msg', 'tls', 'HY_ETOOBIG',
        env('ping', body_=[[0] * 65]), 'an array of 65 elements (cap 64)')
    add('bad_ext', 'msg', 'dgram', 'HY_ETYPE',
        env('ping', body_=[Raw(b'\xd4\x01\x00')]), 'fixext1 in the body')
    add('bad_ext8', 'msg', 'dgram', 'HY_ETYPE',
        env('ping', body_=[Raw(b'\xc7\x01\x05\x00')]), 'ext8 in the body')
    add('bad_map', 'msg', 'dgram', 'HY_ETYPE', b'\x81\x01\x02',
        'a map instead of the envelope array')
    add('bad_nil', 'msg', 'dgram', 'HY_ETYPE', env('ping', body_=[None]),
        'nil in the body')
    add('bad_float', 'msg', 'dgram', 'HY_ETYPE', env('ping', body_=[1.5]),
        'float64 in the body')
    add('bad_reserved_c1', 'msg', 'dgram', 'HY_ETYPE',
        env('ping', body_=[Raw(b'\xc1')]), 'the never-used byte 0xc1')
    add('bad_str_over_global_cap', 'msg', 'dgram', 'HY_ETOOBIG',
        env('ping', body_=['x' * 129]), 'a str of 129 bytes (cap 128)')

    # Rejected by the envelope.
    add('bad_unknown_type', 'msg', 'dgram', 'HY_EUNKNOWN',
        env('ping', mtype=0x7e), 'message type 0x7e is not defined')
    add('bad_type_over_255', 'msg', 'dgram', 'HY_EUNKNOWN',
        env('ping', mtype=300), 'message type 300')
    add('bad_version', 'msg', 'dgram', 'HY_EVERSION',
        env('ping', version=2), 'protocol version 2')
    add('bad_version_short', 'msg', 'dgram', 'HY_EVERSION', [2],
        'a version-2 envelope of another shape')
    add('bad_version_type', 'msg', 'dgram', 'HY_ETYPE',
        env('ping', version='1'), 'version as a str')
    add('bad_envelope_not_array', 'msg', 'dgram', 'HY_ETYPE', pack(1),
        'a bare integer')
    add('bad_envelope_len5', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping')[:5], 'envelope of 5 elements')
    add('bad_envelope_len8', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping', gossip=[]) + [0], 'envelope of 8 elements')
    add('bad_network_empty', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping', network=''), 'empty network id')
    add('bad_network_space', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping', network='my net'), 'network id with a space')
    add('bad_network_nonascii', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping', network='réseau'), 'network id with non-ASCII bytes')
    add('bad_network_long', 'msg', 'dgram', 'HY_ETOOBIG',
        env('ping', network='n' * 33), 'network id of 33 bytes')
    add('bad_network_type', 'msg', 'dgram', 'HY_ETYPE',
        env('ping', network=NET.encode()), 'network id as bin')
    add('bad_txid_range', 'msg', 'dgram', 'HY_ERANGE',
        env('ping', txid=2**32), 'txid 2^32')
    add('bad_txid_negative', 'msg', 'dgram', 'HY_ERANGE',
        env('ping', txid=-1), 'txid -1')
    add('bad_sender_short', 'msg', 'dgram', 'HY_EMALFORMED',
        env('ping', sender=bytes(31)), 'sender ID of 31 bytes')
    add('bad_body_type', 'msg', 'dgram', 'HY_ETYPE',
        env('ping', body_='body'), 'body as a str')
    add('bad_gossip_type', 'msg', 'dtls', 'HY_ETYPE',
        env('probe', gossip=5), 'gossip element as an integer')
    add('bad_envelope_too_big_dtls', 'msg', 'dtls', 'HY_ETOOBIG',
        env('pex', [[contact(k) for k in range(30)], []]),
        'PEX of about 1330 bytes over DTLS (envelope cap 1200)')
    add('bad_envelope_too_big_dgram', 'msg', 'dgram', 'HY_ETOOBIG',
        env('store', body('store', value=value(6, data=bytes(1000)),
                          token=bytes(32))) + [],
        'STORE whose envelope exceeds 1113 bytes on the datagram path')

    # Rejected by the body.
    add('bad_body_missing_field', 'msg', 'dgram', 'HY_EMALFORMED',
        env('find_node', [nid(1)]), 'FIND_NODE without want')
    add('bad_field_type', 'msg', 'dgram', 'HY_ETYPE',
        env('find_node', ['target', 3]), 'FIND_NODE target as a str')
    add('bad_id_len', 'msg', 'dgram', 'HY_EMALFORMED',
        env('stored', [bytes(33)]), 'STORED key of 33 bytes')
    add('bad_addr_len', 'msg', 'dgram', 'HY_EMALFORMED',
        env('pong', [bytes(7)]), 'PONG address of 7 bytes')
    add('bad_max_values_zero', 'msg', 'dgram', 'HY_ERANGE',
        env('find_value', body('find_value', max_values=0)),
        'FIND_VALUE max_values 0')
    add('bad_max_values_17', 'msg', 'dgram', 'HY_ERANGE',
        env('find_value', body('find_value', max_values=17)),
        'FIND_VALUE max_values 17')
    add('bad_want_range', 'msg', 'dgram', 'HY_ERANGE',
        env('get_peers', body('get_peers', want=256)), 'want 256')
    add('bad_port_range', 'msg', 'dgram', 'HY_ERANGE',
        env('announce_peer', body('announce_peer', port=65536)),
        'ANNOUNCE_PEER port 65536')
    add('bad_seed_not_bool', 'msg', 'dgram', 'HY_ETYPE',
        env('announce_peer', body('announce_peer', seed=1)),
        'ANNOUNCE_PEER seed as an integer')
    add('bad_token_33', 'msg', 'dgram', 'HY_ETOOBIG',
        env('peers', body('peers', token=bytes(33))), 'token of 33 bytes')
    add('bad_nodes_21', 'msg', 'tls', 'HY_ETOOBIG',
        env('nodes', [[contact(k) for k in range(21)]]), '21 contacts')
    add('bad_peers_51', 'msg', 'tls', 'HY_ETOOBIG',
        env('peers', body('peers', peers=[addr4(k) for k in range(51)])),
        '51 peers')
    add('bad_values_17', 'msg', 'tls', 'HY_ETOOBIG',
        env('values', body('values', values=[value(k) for k in range(17)])),
        '17 values')
    add('bad_pex_51', 'msg', 'tls', 'HY_ETOOBIG',
        env('pex', [[contact(k) for k in range(51)], []]), '51 added')
    add('bad_contact_len3', 'msg', 'dgram', 'HY_EMALFORMED',
        env('nodes', [[contact(1) + [0]]]), 'a contact of 3 elements')
    add('bad_contact_type', 'msg', 'dgram', 'HY_ETYPE',
        env('nodes', [[nid(1)]]), 'a contact that is not an array')
    add('bad_value_ttl_zero', 'msg', 'dgram', 'HY_ERANGE',
        env('store', body('store', value=[1, 0, b'x', 0])), 'value ttl 0')
    add('bad_value_ttl_over', 'msg', 'dgram', 'HY_ERANGE',
        env('store', body('store', value=[1, 604801, b'x', 0])),
        'value ttl 7 days + 1 s')
    add('bad_value_flags_range', 'msg', 'dgram', 'HY_ERANGE',
        env('store', body('store', value=[1, 60, b'x', 2**32])),
        'value flags 2^32')
    add('bad_value_len5', 'msg', 'dgram', 'HY_EMALFORMED',
        env('store', body('store', value=value(1) + [0])),
        'a value of 5 elements')
    add('bad_value_data_dtls', 'msg', 'dtls', 'HY_ETOOBIG',
        env('store', body('store', value=value(1, data=bytes(1001)),
                          token=b'')),
        'value data of 1001 bytes on DTLS (cap 1000)')
    add('bad_value_data_tls', 'msg', 'tls', 'HY_ETOOBIG',
        env('store', body('store', value=value(1, data=bytes(65537)))),
        'value data of 65537 bytes (cap 65536)')
    add('bad_value_owner_prefix', 'msg', 'dgram', 'HY_EMALFORMED',
        env('store', body('store', value=value(1, mutable=True)[:4] +
                          [b'\x04' + bytes(32), b'', 1, SIG])),
        'mutable value owner key not a compressed point')
    add('bad_value_salt_65', 'msg', 'dgram', 'HY_ETOOBIG',
        env('store', body('store', value=value(1, mutable=True)[:5] +
                          [bytes(65), 1, SIG])), 'salt of 65 bytes')
    add('bad_value_sig_63', 'msg', 'dgram', 'HY_EMALFORMED',
        env('store', body('store', value=value(1, mutable=True)[:7] +
                          [bytes(63)])), 'mutable value sig of 63 bytes')
    add('bad_reason_utf8', 'msg', 'dgram', 'HY_EMALFORMED',
        env('error', [1, Raw(b'\xa2\xc3\x28')]), 'ERROR reason not UTF-8')
    add('bad_reason_surrogate', 'msg', 'dgram', 'HY_EMALFORMED',
        env('error', [1, Raw(b'\xa3\xed\xa0\x80')]),
        'ERROR reason with an encoded surrogate')
    add('bad_reason_long', 'msg', 'dgram', 'HY_ETOOBIG',
        env('error', [1, 'r' * 128 + 'R']),
        'ERROR reason of 129 bytes')
    add('bad_gossip_9', 'msg', 'dtls', 'HY_ETOOBIG',
        env('probe', gossip=[suspect(k) for k in range(9)]),
        'nine gossip items')
    add('bad_gossip_record_short', 'msg', 'dtls', 'HY_EMALFORMED',
        env('probe', gossip=[record(1)[:6]]), 'RECORD without sig')
    add('bad_gossip_record_addrs_5', 'msg', 'dtls', 'HY_ETOOBIG',
        env('probe', gossip=[record(1, 5)]), 'RECORD with 5 addresses')
    add('bad_gossip_item_empty', 'msg', 'dtls', 'HY_EMALFORMED',
        env('probe', gossip=[[]]), 'an empty gossip item')
    add('bad_gossip_suspect_age', 'msg', 'dtls', 'HY_ERANGE',
        env('probe', gossip=[[2, nid(1), 1, 2**32, nid(2)]]),
        'SUSPECT age 2^32 ms')
    add('bad_gossip_suspect_short', 'msg', 'dtls', 'HY_EMALFORMED',
        env('probe', gossip=[[2, nid(1), 1, 5]]),
        'SUSPECT without its reporter')

    # Signed-datagram outer frames.
    add('dgram_ping', 'dgram', 'dgram', 'ok', dgram(ping),
        'PING to an unknown destination (all-zero ID), dummy signature')
    add('dgram_find_value', 'dgram', 'dgram', 'ok',
        dgram(pack(env('find_value')), dst=nid(9)),
        'FIND_VALUE to a known destination')
    big = pack(env('nodes', [[contact(k, True) for k in range(19)]]))
    add('dgram_max', 'dgram', 'dgram', 'ok',
        dgram(big, dst=nid(4), ts=2**40), 'a datagram near the size cap')
    over = dgram(b'\x00' * 1114, ts=2**63)
    add('dgram_oversize', 'dgram', 'dgram', 'HY_ETOOBIG', over,
        'a 1281-byte datagram')
    add('dgram_not_fixarray', 'dgram', 'dgram', 'HY_EMALFORMED',
        b'\xdc\x00\x07' + pack(dgram(ping))[1:],
        'the frame as array16: first byte must be 0x97')
    add('dgram_bad_version', 'dgram', 'dgram', 'HY_EVERSION',
        dgram(ping, version=2), 'framing version 2')
    add('dgram_truncated', 'dgram', 'dgram', 'HY_ETRUNC',
        pack(dgram(ping))[:-1], 'a frame missing its last byte')
    add('dgram_trailing', 'dgram', 'dgram', 'HY_ETRAILING',
        pack(dgram(ping)) + b'\x00', 'a frame with a trailing byte')
    add('dgram_sig_short', 'dgram', 'dgram', 'HY_EMALFORMED',
        dgram(ping, sig=bytes(63)), 'signature of 63 bytes')
    add('dgram_sig_bin16', 'dgram', 'dgram', 'HY_EMALFORMED',
        dgram(ping, sig=Raw(b'\xc5\x00\x40' + SIG)),
        'signature encoded as bin16')
    add('dgram_pubkey_uncompressed', 'dgram', 'dgram', 'HY_EMALFORMED',
        dgram(ping, pubkey=b'\x04' + bytes(32)), 'pubkey prefix 0x04')
    add('dgram_nonce_short', 'dgram', 'dgram', 'HY_EMALFORMED',
        dgram(ping, nonce=bytes(15)), 'nonce of 15 bytes')
    add('dgram_dst_type', 'dgram', 'dgram', 'HY_ETYPE',
        dgram(ping, dst=0), 'destination as an integer')
    add('dgram_ext', 'dgram', 'dgram', 'HY_ETYPE',
        dgram(ping, ts=Raw(b'\xd6\xff\x00\x00\x00\x01')),
        'timestamp as a msgpack timestamp ext')
    add('dgram_6_elements', 'dgram', 'dgram', 'HY_EMALFORMED',
        b'\x96' + pack(dgram(ping))[1:-66], 'fixarray of 6')

    # TLS frames: 4-byte big-endian length + envelope.
    add('tls_frame_ping', 'tlsframe', 'tls', 'ok',
        struct.pack('>I', len(ping)) + ping, 'one framed PING')
    add('tls_frame_zero', 'tlsframe', 'tls', 'HY_EMALFORMED',
        b'\x00\x00\x00\x00', 'length 0 closes the connection')
    add('tls_frame_over_cap', 'tlsframe', 'tls', 'HY_ETOOBIG',
        struct.pack('>I', 128 * 1024 + 1) + ping,
        'length over the 128 KiB cap')
    return V


def check_sizes(V):
    for name, kind, path, expect, data, _ in V:
        if name == 'dgram_oversize':
            assert len(data) == 1281, len(data)
        if name == 'dgram_max':
            assert len(data) <= 1280, len(data)


def render(v):
    name, kind, path, expect, data, comment = v
    out = ['# %s' % name, '# %s' % comment,
           '# kind %s, path %s, expect %s, %d bytes' %
           (kind, path, expect, len(data)),
           '# generated by tests/gen-vectors.py; do not edit']
    h = data.hex()
    for i in range(0, len(h), 64):
        out.append(h[i:i + 64])
    return '\n'.join(out) + '\n'


def manifest(V):
    out = ['# hypha wire protocol v1 golden vectors: name kind path expect',
           '# generated by tests/gen-vectors.py; see its header']
    for name, kind, path, expect, _, _ in V:
        out.append('%s %s %s %s' % (name, kind, path, expect))
    return '\n'.join(out) + '\n'


def include_am(V):
    out = ['# Protocol spec, message table and golden vectors: data only, shipped',
           '# in the tarball. Generated by tests/gen-vectors.py --out; do not edit.',
           'EXTRA_DIST += \\', '\tproto/PROTOCOL.md \\',
           '\tproto/messages.def \\', '\tproto/vectors/MANIFEST']
    for v in V:
        out[-1] += ' \\'
        out.append('\tproto/vectors/%s.hex' % v[0])
    return '\n'.join(out) + '\n'


def files(V):
    fs = {'MANIFEST': manifest(V), '../include.am': include_am(V)}
    for v in V:
        fs[v[0] + '.hex'] = render(v)
    return fs


# ---- PROTOCOL.md field tables ----

TYPEDOC = {
    'UINT': lambda a, b: ('uint', '%s..%s' % (fmtn(a), fmtn(b))),
    'BOOL': lambda a, b: ('bool', 'true/false'),
    'ID': lambda a, b: ('bin', 'exactly 32 bytes'),
    'ADDR': lambda a, b: ('addr', 'bin 6 or 18'),
    'CONTACT': lambda a, b: ('contact', '[id, addr]'),
    'BIN': lambda a, b: ('bin', '0..%d bytes' % a),
    'STR': lambda a, b: ('str', '0..%d bytes UTF-8' % a),
    'VALUE': lambda a, b: ('value', '§5.3'),
    'CONTACTS': lambda a, b: ('array of contact', '0..%d' % a),
    'ADDRS': lambda a, b: ('array of addr', '0..%d' % a),
    'VALUES': lambda a, b: ('array of value', '0..%d' % a),
}


def fmtn(n):
    return {U32: '2^32-1', U64: '2^64-1'}.get(n, str(n))


def doc():
    out = ['<!-- BEGIN generated from proto/messages.def by '
           'tests/gen-vectors.py --doc -->', '',
           '| type | name | kind | reply / request | body fields |',
           '|---|---|---|---|---|']
    for m in MSGS:
        peer = BYCODE[m['peer']]['NAME'] if m['peer'] in BYCODE else \
            ('any request' if m['NAME'] == 'ERROR' else '-')
        fields = '; '.join('[%d] %s: %s, %s' % ((i, f) + TYPEDOC[T](a, b))
                           for i, (f, T, a, b) in enumerate(m['fields']))
        out.append('| 0x%02x | %s | %s | %s | %s |' %
                   (m['code'], m['NAME'], m['kind'], peer,
                    fields or '(none)'))
    out += ['', '<!-- END generated -->']
    return '\n'.join(out) + '\n'


def main(argv):
    V = vectors()
    check_sizes(V)
    names = [v[0] for v in V]
    assert len(names) == len(set(names)), 'duplicate vector name'
    for m in MSGS:
        assert 'msg_' + m['name'] in names
    if len(argv) == 3 and argv[1] == '--out':
        os.makedirs(argv[2], exist_ok=True)
        for fn, text in files(V).items():
            with open(os.path.join(argv[2], fn), 'w') as f:
                f.write(text)
        return 0
    if len(argv) == 3 and argv[1] == '--check':
        bad = 0
        for fn, text in files(V).items():
            p = os.path.join(argv[2], fn)
            if not os.path.exists(p) or open(p).read() != text:
                print('stale vector: %s' % p)
                bad = 1
        return bad
    if len(argv) == 2 and argv[1] == '--doc':
        sys.stdout.write(doc())
        return 0
    if len(argv) == 3 and argv[1] == '--check-doc':
        text = open(argv[2], encoding='utf-8').read()
        if doc() not in text:
            print('%s: field tables differ from messages.def; '
                  'run tests/gen-vectors.py --doc' % argv[2])
            return 1
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
