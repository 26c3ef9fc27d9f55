/*
 * transport.c: the node's authenticated transports behind one interface.
 *
 * Receive path of a signed datagram (PROTOCOL.md §3), cheapest check first
 * so that garbage costs as little as possible and no signature is verified
 * for a source over its rate:
 *   rate limit -> outer frame -> timestamp window -> envelope decode ->
 *   network -> destination, key hash and signature -> replay -> deliver.
 * A DTLS record goes to the DTLS multiplexer; what it delivers is decoded
 * and must come from the node ID the session authenticated.
 *
 * Every refusal is counted in struct hy_transport_stats. Nothing here
 * retries or keeps requests: that is the RPC layer's job.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "dgram.h"
#include "hypha.h"
#include "ident.h"
#include "lru.h"
#include "replay.h"
#include "tr-ctx.h"
#include "transport.h"

#define HY_TR_ECHOES 4 /* recent nonces sent to an address, as echoes */

struct hy_amp {
	uint64_t rx, tx;
	bool validated;
	bool have_rx_nonce; /* rx_nonce is waiting to be echoed */
	uint8_t rx_nonce[HY_NONCE_LEN]; /* last nonce received from there */
	uint8_t n_sent; /* ring position in sent */
	uint8_t sent[HY_TR_ECHOES][HY_NONCE_LEN]; /* echo(nonce) we sent */
};

struct hy_transport {
	struct event_base *base;
	const struct hy_ident *ident;
	struct hy_transport_config cfg;
	hy_transport_recv_cb *recv;
	void *arg;
	struct hy_udp *udp4, *udp6;
	struct hy_trctx *trctx;
	struct hy_dtls *dtls;
	struct hy_tls *tls;
	uint8_t *encbuf; /* one envelope, up to the TLS frame cap */
	struct hy_ratelimit *rl;
	struct hy_replay *replay;
	struct hy_keycache *keys;
	struct hy_lru *amp_map;
	struct hy_amp *amp;
	struct hy_transport_stats st;
	hy_transport_expect_fn *expect;
	void *expect_arg;
	struct hy_msg msg; /* decode scratch: large, kept off the stack */
};

void
hy_transport_config_default(struct hy_transport_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->network, sizeof(cfg->network), "hypha");
	hy_dtls_config_default(&cfg->dtls);
	hy_tls_config_default(&cfg->tls);
	cfg->tls_enable = true;
	hy_ratelimit_config_default(&cfg->ratelimit);
	cfg->replay_capacity = 65536;
	cfg->replay_window_ms = 30000;
	cfg->keycache_capacity = 4096;
	cfg->amp_capacity = 16384;
	cfg->amp_limit = true;
}

/* The amplification record of an address, created if needed. */
static struct hy_amp *
hy_tr_amp(struct hy_transport *tr, const struct hy_addr *a)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t s;

	hy_addr_key(a, key);
	s = hy_lru_get(tr->amp_map, key, true);
	if (s == HY_LRU_NONE) {
		s = hy_lru_put(tr->amp_map, key, NULL);
		memset(&tr->amp[s], 0, sizeof(tr->amp[s]));
	}
	return &tr->amp[s];
}

/* May we send len more bytes to a? Charges them if so. */
static bool
hy_tr_amp_allow(struct hy_transport *tr, const struct hy_addr *a, size_t len)
{
	struct hy_amp *p = hy_tr_amp(tr, a);

	if (tr->cfg.amp_limit && !p->validated && p->tx + len > p->rx)
		return false;
	p->tx += len;
	return true;
}

void
hy_transport_validated(struct hy_transport *tr, const struct hy_addr *addr)
{
	hy_tr_amp(tr, addr)->validated = true;
}

void
hy_transport_set_expect(struct hy_transport *tr, hy_transport_expect_fn *fn,
    void *arg)
{
	tr->expect = fn;
	tr->expect_arg = arg;
}

bool
hy_transport_is_validated(struct hy_transport *tr, const struct hy_addr *addr)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t s;

	if (hy_dtls_is_up(tr->dtls, addr, NULL))
		return true;
	hy_addr_key(addr, key);
	s = hy_lru_get(tr->amp_map, key, false);
	return s != HY_LRU_NONE && tr->amp[s].validated;
}

static struct hy_udp *
hy_tr_sock(struct hy_transport *tr, const struct hy_addr *to)
{
	return to->family == HY_AF_INET6 ? tr->udp6 : tr->udp4;
}

static void
hy_tr_deliver(struct hy_transport *tr, const struct hy_addr *from,
    enum hy_wire_path path)
{
	struct hy_from f;

	f.addr = *from;
	f.id = tr->msg.sender;
	f.path = path;
	tr->recv(tr->arg, &tr->msg, &f);
}

/*
 * An authentic datagram from `from` carried `nonce`: if it is the echo of a
 * nonce we sent there, the address receives our packets (PROTOCOL.md
 * §4.1); either way it is the nonce our next request there will echo.
 */
static void
hy_tr_note_nonce(struct hy_transport *tr, const struct hy_addr *from,
    const uint8_t nonce[HY_NONCE_LEN])
{
	struct hy_amp *p = hy_tr_amp(tr, from);

	for (int i = 0; i < HY_TR_ECHOES && !p->validated; i++)
		if (memcmp(p->sent[i], nonce, HY_NONCE_LEN) == 0) {
			p->validated = true;
			tr->st.echo_validated++;
		}
	memcpy(p->rx_nonce, nonce, HY_NONCE_LEN);
	p->have_rx_nonce = true;
}

static void
hy_tr_signed_input(struct hy_transport *tr, const struct hy_addr *from,
    const uint8_t *data, size_t len)
{
	const struct hy_clock *clk = hy_clock_system();
	uint64_t wall = hy_clock_wall(clk);
	struct hy_dgram frame;
	int rc;

	if (hy_dgram_decode(&frame, data, len) != HY_OK) {
		tr->st.malformed++;
		return;
	}
	if (hy_replay_precheck(tr->replay, frame.ts_ms, wall) != HY_OK) {
		tr->st.stale++;
		return;
	}
	if (hy_msg_decode(&tr->msg, frame.payload.ptr, frame.payload.len,
	        HY_PATH_DGRAM) != HY_OK) {
		tr->st.malformed++;
		return;
	}
	/* the rate limit guards signature work against unsolicited traffic */
	if (!(tr->expect != NULL && hy_msg_kind_of(tr->msg.type) != HY_MK_REQ &&
	        tr->expect(tr->expect_arg, &tr->msg, from)) &&
	    hy_ratelimit_take(tr->rl, from, hy_clock_mono(clk), 1) != HY_OK) {
		tr->st.rate_limited++;
		return;
	}
	if (hy_msg_check_network(&tr->msg, tr->cfg.network) != HY_OK) {
		tr->st.wrong_network++;
		return;
	}
	rc =
	    hy_dgram_verify(tr->keys, hy_ident_id(tr->ident), &frame, &tr->msg);
	if (rc == HY_EINVAL) {
		tr->st.wrong_destination++;
		return;
	}
	if (rc == HY_EIDMISMATCH) {
		tr->st.wrong_id++;
		return;
	}
	if (rc != HY_OK) {
		tr->st.bad_signature++;
		return;
	}
	rc = hy_replay_check(tr->replay, frame.ts_ms, frame.nonce, wall);
	if (rc != HY_OK) {
		if (rc == HY_EREPLAY)
			tr->st.replayed++;
		else
			tr->st.stale++;
		return;
	}
	hy_tr_note_nonce(tr, from, frame.nonce);
	tr->st.dgram_in++;
	hy_tr_deliver(tr, from, HY_PATH_DGRAM);
}

static void
hy_tr_udp_recv(void *arg, const struct hy_addr *from, const uint8_t *data,
    size_t len)
{
	struct hy_transport *tr = arg;

	tr->st.bytes_in += len;
	hy_tr_amp(tr, from)->rx += len;
	if (len > 0 && data[0] == 0x97)
		hy_tr_signed_input(tr, from, data, len);
	else if (len > 0 && data[0] >= 20 && data[0] <= 63)
		hy_dtls_input(tr->dtls, from, data, len);
	else
		tr->st.unknown_demux++;
}

static int
hy_tr_dtls_send(void *arg, const struct hy_addr *to, const uint8_t *data,
    size_t len)
{
	struct hy_transport *tr = arg;
	struct hy_udp *u = hy_tr_sock(tr, to);
	int rc;

	if (u == NULL)
		return HY_EINVAL;
	rc = hy_udp_send(u, to, data, len);
	if (rc == HY_OK)
		tr->st.bytes_out += len;
	else
		tr->st.send_errors++;
	return rc;
}

/*
 * An envelope from an authenticated session (DTLS record or TLS frame):
 * it must decode for that path, be for our network, and come from the node
 * the session authenticated.
 */
static void
hy_tr_session_recv(struct hy_transport *tr, const struct hy_id *peer,
    const struct hy_addr *from, const uint8_t *data, size_t len,
    enum hy_wire_path path)
{
	if (hy_msg_decode(&tr->msg, data, len, path) != HY_OK) {
		tr->st.malformed++;
		return;
	}
	if (hy_msg_check_network(&tr->msg, tr->cfg.network) != HY_OK) {
		tr->st.wrong_network++;
		return;
	}
	if (!hy_id_eq(&tr->msg.sender, peer)) {
		tr->st.wrong_id++;
		return;
	}
	if (path == HY_PATH_DTLS)
		tr->st.dtls_in++;
	else
		tr->st.tls_in++;
	hy_tr_deliver(tr, from, path);
}

static void
hy_tr_dtls_recv(void *arg, const struct hy_id *peer, const struct hy_addr *from,
    const uint8_t *data, size_t len)
{
	hy_tr_session_recv(arg, peer, from, data, len, HY_PATH_DTLS);
}

static void
hy_tr_dtls_event(void *arg, enum hy_dtls_event ev, const struct hy_id *peer,
    const struct hy_addr *addr, int err)
{
	struct hy_transport *tr = arg;

	(void)peer;
	(void)err;
	/* a completed handshake proves the address receives our packets */
	if (ev == HY_DTLS_UP)
		hy_transport_validated(tr, addr);
}

static void
hy_tr_tls_recv(void *arg, const struct hy_id *peer, const struct hy_addr *from,
    const uint8_t *data, size_t len)
{
	hy_tr_session_recv(arg, peer, from, data, len, HY_PATH_TLS);
}

static struct hy_udp *
hy_tr_open_udp(struct hy_transport *tr, const struct hy_addr *a, int *err,
    char *errbuf, size_t errlen)
{
	char s[HY_ADDR_STRLEN];
	struct hy_udp *u = hy_udp_open(tr->base, a, hy_tr_udp_recv, tr, err);

	if (u == NULL)
		snprintf(errbuf, errlen, "cannot bind UDP %s",
		    hy_addr_format(a, s, sizeof(s)));
	return u;
}

/*
 * Bind the UDP sockets and the TLS listener on the same port number. With
 * port 0 the kernel picks the UDP port, and the TCP port of that number
 * may be held by some outgoing connection: then pick again (bounded).
 */
static int
hy_tr_open_sockets(struct hy_transport *tr,
    const struct hy_transport_config *cfg, int *err, char *errbuf,
    size_t errlen)
{
	const struct hy_addr *first =
	    cfg->listen4.family != 0 ? &cfg->listen4 : &cfg->listen6;
	struct hy_tls_config tls = cfg->tls;
	char s[HY_ADDR_STRLEN];

	for (int attempt = 0; attempt < 16; attempt++) {
		if (cfg->listen4.family != 0 &&
		    (tr->udp4 = hy_tr_open_udp(tr, &cfg->listen4, err, errbuf,
		         errlen)) == NULL)
			return *err;
		if (cfg->listen6.family != 0 &&
		    (tr->udp6 = hy_tr_open_udp(tr, &cfg->listen6, err, errbuf,
		         errlen)) == NULL)
			return *err;
		if (!cfg->tls_enable)
			return HY_OK;
		tls.listen =
		    *hy_udp_local(tr->udp4 != NULL ? tr->udp4 : tr->udp6);
		tr->tls = hy_tls_new(tr->base, tr->trctx, &tls, hy_tr_tls_recv,
		    NULL, tr);
		if (tr->tls != NULL)
			return HY_OK;
		hy_udp_free(tr->udp4);
		hy_udp_free(tr->udp6);
		tr->udp4 = tr->udp6 = NULL;
		if (first->port != 0)
			break;
	}
	*err = HY_EIO;
	snprintf(errbuf, errlen, "cannot listen on TCP %s",
	    hy_addr_format(&tls.listen, s, sizeof(s)));
	return HY_EIO;
}

struct hy_transport *
hy_transport_new(struct event_base *base, const struct hy_ident *ident,
    const struct hy_transport_config *cfg, hy_transport_recv_cb *recv,
    void *arg, int *err, char *errbuf, size_t errlen)
{
	struct hy_transport *tr;
	struct hy_trctx_config tc;

	if (cfg->listen4.family == 0 && cfg->listen6.family == 0) {
		*err = HY_EINVAL;
		snprintf(errbuf, errlen, "no address to listen on");
		return NULL;
	}
	tr = calloc(1, sizeof(*tr));
	if (tr == NULL) {
		*err = HY_ENOMEM;
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	tr->base = base;
	tr->ident = ident;
	tr->cfg = *cfg;
	tr->recv = recv;
	tr->arg = arg;
	tc.ca_file = cfg->ca_file;
	tc.cert_file = cfg->cert_file;
	tc.keylog_path = cfg->keylog;
	tr->trctx = hy_trctx_new(ident, &tc, err, errbuf, errlen);
	if (tr->trctx == NULL)
		goto fail;
	*err = HY_ENOMEM;
	snprintf(errbuf, errlen, "out of memory");
	tr->rl = hy_ratelimit_new(&cfg->ratelimit);
	tr->replay = hy_replay_new(cfg->replay_capacity, cfg->replay_window_ms);
	tr->keys = hy_keycache_new(cfg->keycache_capacity);
	tr->amp_map = hy_lru_new(cfg->amp_capacity, HY_ADDR_KEYLEN);
	tr->amp = calloc(cfg->amp_capacity, sizeof(*tr->amp));
	tr->dtls = hy_dtls_new(base, tr->trctx, &cfg->dtls, hy_tr_dtls_send, tr,
	    hy_tr_dtls_recv, hy_tr_dtls_event, tr);
	if (tr->rl == NULL || tr->replay == NULL || tr->keys == NULL ||
	    tr->amp_map == NULL || tr->amp == NULL || tr->dtls == NULL) {
		snprintf(errbuf, errlen, "invalid transport configuration");
		*err = HY_EINVAL;
		goto fail;
	}
	tr->encbuf =
	    malloc(cfg->tls_enable ? cfg->tls.frame_cap : HY_DGRAM_MAX);
	if (tr->encbuf == NULL)
		goto fail;
	if (hy_tr_open_sockets(tr, cfg, err, errbuf, errlen) != HY_OK)
		goto fail;
	*err = HY_OK;
	errbuf[0] = '\0';
	return tr;
fail:
	hy_transport_free(tr);
	return NULL;
}

void
hy_transport_free(struct hy_transport *tr)
{
	if (tr == NULL)
		return;
	/* sessions say goodbye (close_notify) through the sockets: first */
	hy_dtls_free(tr->dtls);
	hy_tls_free(tr->tls);
	hy_udp_free(tr->udp4);
	hy_udp_free(tr->udp6);
	free(tr->encbuf);
	hy_trctx_free(tr->trctx);
	hy_ratelimit_free(tr->rl);
	hy_replay_free(tr->replay);
	hy_keycache_free(tr->keys);
	hy_lru_free(tr->amp_map);
	free(tr->amp);
	free(tr);
}

size_t
hy_transport_env_max(const struct hy_transport *tr)
{
	return tr->tls != NULL ? tr->cfg.tls.frame_cap : HY_DGRAM_MAX;
}

int
hy_transport_encode(struct hy_transport *tr, struct hy_msg *msg, uint8_t *buf,
    size_t cap, size_t *len)
{
	int rc;

	memcpy(msg->network, tr->cfg.network, sizeof(msg->network));
	msg->sender = *hy_ident_id(tr->ident);
	rc = hy_msg_encode(msg, HY_PATH_DGRAM, buf, cap, len);
	if (rc == HY_ETOOBIG && tr->tls != NULL)
		rc = hy_msg_encode(msg, HY_PATH_TLS, buf,
		    cap < tr->cfg.tls.frame_cap ? cap : tr->cfg.tls.frame_cap,
		    len);
	return rc;
}

int
hy_transport_encode_for(struct hy_transport *tr, struct hy_msg *msg,
    enum hy_wire_path path, uint8_t *buf, size_t cap, size_t *len)
{
	if (path == HY_PATH_DGRAM)
		return hy_transport_encode(tr, msg, buf, cap, len);
	if (path == HY_PATH_TLS && tr->tls == NULL)
		return HY_ETOOBIG;
	memcpy(msg->network, tr->cfg.network, sizeof(msg->network));
	msg->sender = *hy_ident_id(tr->ident);
	if (path == HY_PATH_TLS && cap > tr->cfg.tls.frame_cap)
		cap = tr->cfg.tls.frame_cap;
	return hy_msg_encode(msg, path, buf, cap, len);
}

int
hy_transport_send_env(struct hy_transport *tr, const struct hy_addr *to,
    const struct hy_id *to_id, const uint8_t *env, size_t envlen,
    unsigned flags)
{
	uint8_t out[HY_DGRAM_MAX], nonce[HY_NONCE_LEN];
	const uint8_t *np = NULL;
	struct hy_amp *amp;
	struct hy_udp *u = hy_tr_sock(tr, to);
	size_t outlen;
	int rc;

	if ((flags & HY_TR_VIA_TLS) || envlen > HY_DGRAM_PAYLOAD_MAX) {
		if (tr->tls == NULL)
			return HY_ETOOBIG;
		if (to_id == NULL)
			return HY_EINVAL;
		rc = hy_tls_send(tr->tls, to_id, to, env, envlen);
		if (rc == HY_OK)
			tr->st.tls_out++;
		return rc;
	}
	if (u == NULL)
		return HY_EINVAL;
	if (hy_dtls_is_up(tr->dtls, to, NULL)) {
		rc = hy_dtls_send(tr->dtls, to, env, envlen);
		if (rc == HY_OK)
			tr->st.dtls_out++;
		return rc;
	}
	amp = hy_tr_amp(tr, to);
	/* a request proves receipt of the peer's last datagram: echo it */
	if ((flags & HY_TR_REQUEST) && amp->have_rx_nonce &&
	    hy_dgram_echo(amp->rx_nonce, nonce) == HY_OK) {
		np = nonce;
		amp->have_rx_nonce = false;
	}
	rc = hy_dgram_seal(tr->ident, to_id, hy_clock_wall(hy_clock_system()),
	    np, env, envlen, out, sizeof(out), &outlen, nonce);
	if (rc != HY_OK)
		return rc;
	/* requests start contact; only answers can be made to amplify */
	if (!(flags & HY_TR_REQUEST) && !hy_tr_amp_allow(tr, to, outlen)) {
		tr->st.amp_limited++;
		return HY_ERATELIMIT;
	}
	/* remember what a proof of receipt from `to` will look like */
	if (!amp->validated &&
	    hy_dgram_echo(nonce, amp->sent[amp->n_sent % HY_TR_ECHOES]) ==
	        HY_OK)
		amp->n_sent++;
	rc = hy_udp_send(u, to, out, outlen);
	if (rc != HY_OK) {
		tr->st.send_errors++;
		return rc;
	}
	tr->st.dgram_out++;
	tr->st.bytes_out += outlen;
	return HY_OK;
}

int
hy_transport_send(struct hy_transport *tr, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *msg)
{
	size_t envlen;
	int rc;

	rc = hy_transport_encode(tr, msg, tr->encbuf, hy_transport_env_max(tr),
	    &envlen);
	if (rc != HY_OK)
		return rc;
	return hy_transport_send_env(tr, to, to_id, tr->encbuf, envlen,
	    hy_msg_kind_of(msg->type) == HY_MK_REQ ? HY_TR_REQUEST : 0);
}

int
hy_transport_open_session(struct hy_transport *tr, const struct hy_addr *to,
    const struct hy_id *id)
{
	if (hy_tr_sock(tr, to) == NULL)
		return HY_EINVAL;
	return hy_dtls_connect(tr->dtls, to, id);
}

bool
hy_transport_session_up(struct hy_transport *tr, const struct hy_addr *to)
{
	return hy_dtls_is_up(tr->dtls, to, NULL);
}

void
hy_transport_close_session(struct hy_transport *tr, const struct hy_addr *to)
{
	hy_dtls_close(tr->dtls, to);
}

const struct hy_addr *
hy_transport_local(const struct hy_transport *tr, int family)
{
	struct hy_udp *u = family == HY_AF_INET6 ? tr->udp6 : tr->udp4;

	return u != NULL ? hy_udp_local(u) : NULL;
}

const struct hy_id *
hy_transport_id(const struct hy_transport *tr)
{
	return hy_ident_id(tr->ident);
}

void
hy_transport_stats(const struct hy_transport *tr,
    struct hy_transport_stats *out)
{
	*out = tr->st;
	hy_dtls_stats(tr->dtls, &out->dtls);
	if (tr->tls != NULL)
		hy_tls_stats(tr->tls, &out->tls);
	hy_ratelimit_stats(tr->rl, &out->ratelimit);
}
