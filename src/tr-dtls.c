/*
 * tr-dtls.c: many DTLS 1.2 sessions multiplexed on one UDP socket.
 *
 * Each SSL object talks to the network through a tiny custom BIO: a read
 * returns the one datagram being processed (then "retry"), a write hands
 * one datagram to the send callback, so datagram boundaries are kept
 * exactly as OpenSSL made them (a memory BIO would run them together).
 *
 * New peers (RFC 6347 §4.2.1): a datagram from an address without a
 * session goes to one shared listener SSL through DTLSv1_listen, which
 * answers a ClientHello without a valid cookie with a HelloVerifyRequest
 * and keeps no state. The cookie is an HMAC of the source address under a
 * secret that rotates every five minutes (the previous secret is still
 * accepted). Only a ClientHello with a valid cookie turns the listener into
 * a session; a fresh listener takes its place.
 *
 * Bounds: live sessions (LRU by last datagram received; the least recent
 * is closed to make room), handshakes in progress (further cookie-verified
 * ClientHellos are dropped; the client retransmits and gets in later), the
 * per-session queue of messages waiting for a handshake, and the client
 * ticket cache. Retransmission uses OpenSSL's DTLS timer with our own
 * backoff (initial_rto_ms doubling to max_rto_ms) on a libevent timer.
 *
 * Re-entrancy: callbacks may call hy_dtls_send/close on any session,
 * including the one being processed; a session closed while in use is
 * marked dead and freed when the processing returns. Callbacks must not
 * free the endpoint.
 */
#include "config.h"

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "hypha.h"
#include "lru.h"
#include "tr-ctx.h"
#include "tr-dtls.h"

#define HY_DTLS_COOKIE_LEN 16
#define HY_DTLS_SECRET_MS (5 * 60 * 1000)
#define HY_DTLS_OVERHEAD 64 /* record header + AEAD nonce/tag, rounded up */
#define HY_DTLS_READ_MAX 2048

struct hy_dtls_io {
	struct hy_dtls *d;
	struct hy_addr peer;
	const uint8_t *in;
	size_t inlen;
};

struct hy_dtls_msg {
	size_t len;
	uint8_t data[];
};

struct hy_dtls_sess {
	struct hy_dtls *d;
	SSL *ssl;
	struct hy_dtls_io io;
	struct hy_id peer_id, expect;
	bool client, up, has_expect, busy, dead;
	struct event *timer;
	uint64_t started_ms, last_rx_ms;
	size_t slot;
	size_t qn;
	struct hy_dtls_msg **q;
};

struct hy_dtls {
	struct event_base *base;
	struct hy_trctx *trctx;
	SSL_CTX *ctx;
	struct hy_dtls_config cfg;
	hy_dtls_send_fn *send;
	void *send_arg;
	hy_dtls_recv_cb *recv;
	hy_dtls_event_cb *event;
	void *arg;
	BIO_METHOD *meth;
	struct hy_lru *lru; /* peer address -> session slot */
	struct hy_dtls_sess **sess;
	struct hy_lru *tickets; /* peer address -> saved client session */
	SSL_SESSION **ticket;
	SSL *listener;
	struct hy_dtls_io lio;
	uint8_t secret[32], prev_secret[32];
	uint64_t secret_ms;
	struct event *sweep;
	struct hy_dtls_stats st;
};

static uint64_t
hy_dtls_now(void)
{
	return hy_clock_mono(hy_clock_system());
}

void
hy_dtls_config_default(struct hy_dtls_config *cfg)
{
	cfg->max_sessions = 512;
	cfg->max_handshakes = 256;
	cfg->ticket_cache = 4096;
	cfg->handshake_timeout_ms = 10000;
	cfg->idle_timeout_ms = 600000;
	cfg->initial_rto_ms = 1000;
	cfg->max_rto_ms = 8000;
	cfg->mtu = 1280;
	cfg->queue_max = 16;
}

/* ---- the datagram BIO ---- */

static int
hy_dbio_write(BIO *b, const char *buf, int len)
{
	struct hy_dtls_io *io = BIO_get_data(b);

	if (len <= 0)
		return 0;
	io->d->st.bytes_out += (size_t)len;
	(void)io->d->send(io->d->send_arg, &io->peer, (const uint8_t *)buf,
	    (size_t)len);
	return len;
}

static int
hy_dbio_read(BIO *b, char *buf, int size)
{
	struct hy_dtls_io *io = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (io->in == NULL || size <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	n = io->inlen < (size_t)size ? io->inlen : (size_t)size;
	memcpy(buf, io->in, n);
	io->in = NULL;
	return (int)n;
}

static long
hy_dbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct hy_dtls_io *io = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return io != NULL ? io->d->cfg.mtu : 1280;
	default:
		return 0;
	}
}

static int
hy_dbio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* ---- cookies (stateless: HMAC of the source address) ---- */

static void
hy_dtls_cookie_for(const uint8_t secret[32], const struct hy_addr *peer,
    uint8_t out[HY_DTLS_COOKIE_LEN])
{
	uint8_t key[HY_ADDR_KEYLEN], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	hy_addr_key(peer, key);
	HMAC(EVP_sha256(), secret, 32, key, sizeof(key), mac, &maclen);
	memcpy(out, mac, HY_DTLS_COOKIE_LEN);
}

static struct hy_dtls_io *
hy_dtls_io_of(SSL *ssl)
{
	return BIO_get_data(SSL_get_rbio(ssl));
}

static int
hy_dtls_cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	struct hy_dtls_io *io = hy_dtls_io_of(ssl);
	struct hy_dtls *d = io->d;
	uint64_t now = hy_dtls_now();

	if (now - d->secret_ms > HY_DTLS_SECRET_MS) {
		memcpy(d->prev_secret, d->secret, sizeof(d->secret));
		if (hy_random_bytes(d->secret, sizeof(d->secret)) != HY_OK)
			return 0;
		d->secret_ms = now;
	}
	hy_dtls_cookie_for(d->secret, &io->peer, cookie);
	*len = HY_DTLS_COOKIE_LEN;
	d->st.cookies_sent++;
	return 1;
}

static int
hy_dtls_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	struct hy_dtls_io *io = hy_dtls_io_of(ssl);
	struct hy_dtls *d = io->d;
	uint8_t want[HY_DTLS_COOKIE_LEN];

	if (len == HY_DTLS_COOKIE_LEN) {
		hy_dtls_cookie_for(d->secret, &io->peer, want);
		if (hy_ct_eq(want, cookie, len))
			return 1;
		hy_dtls_cookie_for(d->prev_secret, &io->peer, want);
		if (hy_ct_eq(want, cookie, len))
			return 1;
	}
	d->st.cookie_failures++;
	return 0;
}

static unsigned int
hy_dtls_timer_cb(SSL *ssl, unsigned int timer_us)
{
	struct hy_dtls *d = hy_dtls_io_of(ssl)->d;
	uint64_t next = timer_us == 0 ? (uint64_t)d->cfg.initial_rto_ms * 1000
	                              : (uint64_t)timer_us * 2;

	if (next > (uint64_t)d->cfg.max_rto_ms * 1000)
		next = (uint64_t)d->cfg.max_rto_ms * 1000;
	return (unsigned int)next;
}

/* ---- sessions ---- */

static SSL *
hy_dtls_ssl_new(struct hy_dtls *d, struct hy_dtls_io *io, bool server)
{
	SSL *ssl = SSL_new(d->ctx);
	BIO *bio;

	if (ssl == NULL)
		return NULL;
	bio = BIO_new(d->meth);
	if (bio == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	BIO_set_data(bio, io);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_mtu(ssl, d->cfg.mtu);
	DTLS_set_timer_cb(ssl, hy_dtls_timer_cb);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

static void
hy_dtls_sess_free(struct hy_dtls_sess *s)
{
	if (s->timer != NULL)
		event_free(s->timer);
	SSL_free(s->ssl);
	for (size_t i = 0; i < s->qn; i++)
		free(s->q[i]);
	free(s->q);
	free(s);
}

/*
 * Take s out of the table; free it now or, if it is being processed, when
 * the processing returns. Fires `ev` unless ev < 0.
 */
static void
hy_dtls_kill(struct hy_dtls_sess *s, int ev, int err)
{
	struct hy_dtls *d = s->d;

	if (s->dead)
		return;
	s->dead = true;
	hy_lru_del(d->lru, s->slot);
	d->sess[s->slot] = NULL;
	if (!s->up)
		d->st.handshaking--;
	if (s->up && err != HY_ECRYPTO)
		SSL_shutdown(s->ssl); /* close_notify, best effort */
	if (ev == HY_DTLS_FAILED)
		d->st.handshakes_failed++;
	if (ev >= 0 && d->event != NULL)
		d->event(d->arg, (enum hy_dtls_event)ev, &s->peer_id,
		    &s->io.peer, err);
	if (!s->busy)
		hy_dtls_sess_free(s);
}

static void hy_dtls_on_timer(evutil_socket_t fd, short what, void *arg);

/*
 * Make room for one more session, then register s under its address. The
 * victim is the least recently heard-from established session: cutting a
 * handshake short would waste both sides' work. Returns HY_EFULL when every
 * session is still handshaking (s is not registered then).
 */
static int
hy_dtls_insert(struct hy_dtls *d, struct hy_dtls_sess *s)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t v;

	if (hy_lru_count(d->lru) == hy_lru_capacity(d->lru)) {
		for (v = hy_lru_oldest(d->lru); v != HY_LRU_NONE;
		     v = hy_lru_newer(d->lru, v))
			if (d->sess[v]->up)
				break;
		if (v == HY_LRU_NONE)
			return HY_EFULL;
		d->st.evictions++;
		hy_dtls_kill(d->sess[v], HY_DTLS_DOWN, HY_EFULL);
	}
	hy_addr_key(&s->io.peer, key);
	s->slot = hy_lru_put(d->lru, key, NULL);
	d->sess[s->slot] = s;
	d->st.handshaking++;
	return HY_OK;
}

static struct hy_dtls_sess *
hy_dtls_sess_new(struct hy_dtls *d, const struct hy_addr *peer, bool client)
{
	struct hy_dtls_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->q = calloc(d->cfg.queue_max ? d->cfg.queue_max : 1, sizeof(*s->q));
	s->timer = evtimer_new(d->base, hy_dtls_on_timer, s);
	if (s->q == NULL || s->timer == NULL) {
		hy_dtls_sess_free(s);
		return NULL;
	}
	s->d = d;
	s->client = client;
	s->io.d = d;
	s->io.peer = *peer;
	s->started_ms = s->last_rx_ms = hy_dtls_now();
	return s;
}

/* Schedule the handshake's next retransmission or deadline. */
static void
hy_dtls_arm(struct hy_dtls_sess *s)
{
	struct timeval tv;
	uint64_t now = hy_dtls_now();
	uint64_t deadline = s->started_ms + s->d->cfg.handshake_timeout_ms;
	uint64_t left = deadline > now ? deadline - now : 0;

	if (s->up || s->dead) {
		evtimer_del(s->timer);
		return;
	}
	if (DTLSv1_get_timeout(s->ssl, &tv) == 1) {
		uint64_t t = (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;

		if (t < left)
			left = t;
	}
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

static void
hy_dtls_flush_queue(struct hy_dtls_sess *s)
{
	size_t i;

	for (i = 0; i < s->qn && !s->dead; i++) {
		if (SSL_write(s->ssl, s->q[i]->data, (int)s->q[i]->len) > 0)
			s->d->st.records_out++;
	}
	for (i = 0; i < s->qn; i++)
		free(s->q[i]);
	s->qn = 0;
}

static void
hy_dtls_established(struct hy_dtls_sess *s)
{
	struct hy_dtls *d = s->d;
	uint8_t key[HY_ADDR_KEYLEN];
	int rc = hy_trctx_peer_id(s->ssl, &s->peer_id);

	if (rc != HY_OK) {
		hy_dtls_kill(s, HY_DTLS_FAILED, rc);
		return;
	}
	if (s->has_expect && !hy_id_eq(&s->peer_id, &s->expect)) {
		d->st.id_mismatch++;
		hy_dtls_kill(s, HY_DTLS_FAILED, HY_EIDMISMATCH);
		return;
	}
	s->up = true;
	d->st.handshaking--;
	d->st.handshakes_ok++;
	if (SSL_session_reused(s->ssl))
		d->st.handshakes_resumed++;
	evtimer_del(s->timer);
	if (s->client) {
		SSL_SESSION *sess = SSL_get1_session(s->ssl);
		size_t t;
		bool ev;

		hy_addr_key(&s->io.peer, key);
		t = hy_lru_get(d->tickets, key, true);
		if (t == HY_LRU_NONE) {
			t = hy_lru_put(d->tickets, key, &ev);
			if (ev)
				SSL_SESSION_free(d->ticket[t]);
		} else {
			SSL_SESSION_free(d->ticket[t]);
		}
		d->ticket[t] = sess;
	}
	if (d->event != NULL)
		d->event(d->arg, HY_DTLS_UP, &s->peer_id, &s->io.peer, 0);
	if (!s->dead)
		hy_dtls_flush_queue(s);
}

/* Run the SSL state machine on whatever s->io holds. */
static void
hy_dtls_drive(struct hy_dtls_sess *s)
{
	struct hy_dtls *d = s->d;
	uint8_t buf[HY_DTLS_READ_MAX];
	int n, e;

	s->busy = true;
	if (!s->up) {
		n = SSL_do_handshake(s->ssl);
		if (n == 1) {
			hy_dtls_established(s);
		} else {
			e = SSL_get_error(s->ssl, n);
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				hy_dtls_kill(s, HY_DTLS_FAILED, HY_ECRYPTO);
		}
	}
	while (s->up && !s->dead) {
		n = SSL_read(s->ssl, buf, sizeof(buf));
		if (n > 0) {
			d->st.records_in++;
			d->recv(d->arg, &s->peer_id, &s->io.peer, buf,
			    (size_t)n);
			continue;
		}
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		hy_dtls_kill(s, HY_DTLS_DOWN,
		    e == SSL_ERROR_ZERO_RETURN ? 0 : HY_ECRYPTO);
	}
	ERR_clear_error();
	s->io.in = NULL;
	s->busy = false;
	if (s->dead)
		hy_dtls_sess_free(s);
	else
		hy_dtls_arm(s);
}

static void
hy_dtls_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hy_dtls_sess *s = arg;

	(void)fd;
	(void)what;
	if (s->up)
		return;
	if (hy_dtls_now() >= s->started_ms + s->d->cfg.handshake_timeout_ms ||
	    DTLSv1_handle_timeout(s->ssl) < 0) {
		hy_dtls_kill(s, HY_DTLS_FAILED, HY_ETIMEDOUT);
		return;
	}
	hy_dtls_arm(s);
}

/* Close sessions that have been silent for idle_timeout_ms. */
static void
hy_dtls_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct hy_dtls *d = arg;
	uint64_t now = hy_dtls_now();
	size_t slot;

	(void)fd;
	(void)what;
	while ((slot = hy_lru_oldest(d->lru)) != HY_LRU_NONE) {
		struct hy_dtls_sess *s = d->sess[slot];

		if (s->last_rx_ms + d->cfg.idle_timeout_ms > now)
			break;
		d->st.idle_closed++;
		hy_dtls_kill(s, s->up ? HY_DTLS_DOWN : HY_DTLS_FAILED,
		    HY_ETIMEDOUT);
	}
}

static int
hy_dtls_reset_listener(struct hy_dtls *d)
{
	SSL_free(d->listener);
	d->listener = hy_dtls_ssl_new(d, &d->lio, true);
	return d->listener != NULL ? HY_OK : HY_ENOMEM;
}

/* A datagram from an address without a session. */
static void
hy_dtls_listen(struct hy_dtls *d, const struct hy_addr *from,
    const uint8_t *data, size_t len)
{
	struct hy_dtls_sess *s;
	BIO_ADDR *client;
	int r;

	/* only a handshake record of epoch 0 can start a session */
	if (len < 13 || data[0] != 22 || data[3] != 0 || data[4] != 0 ||
	    d->listener == NULL) {
		d->st.dropped_no_session++;
		return;
	}
	client = BIO_ADDR_new();
	if (client == NULL)
		return;
	d->lio.peer = *from;
	d->lio.in = data;
	d->lio.inlen = len;
	r = DTLSv1_listen(d->listener, client);
	d->lio.in = NULL;
	BIO_ADDR_free(client);
	ERR_clear_error();
	if (r == 0)
		return; /* answered with a cookie request, or dropped */
	if (r < 0 || d->st.handshaking >= d->cfg.max_handshakes) {
		if (r > 0)
			d->st.handshakes_refused++;
		hy_dtls_reset_listener(d);
		return;
	}
	/* the listener holds the verified ClientHello: it becomes s */
	s = hy_dtls_sess_new(d, from, false);
	if (s == NULL) {
		hy_dtls_reset_listener(d);
		return;
	}
	s->ssl = d->listener;
	BIO_set_data(SSL_get_rbio(s->ssl), &s->io);
	d->listener = NULL;
	hy_dtls_reset_listener(d);
	if (hy_dtls_insert(d, s) != HY_OK) {
		d->st.handshakes_refused++;
		hy_dtls_sess_free(s);
		return;
	}
	hy_dtls_drive(s);
}

void
hy_dtls_input(struct hy_dtls *d, const struct hy_addr *from,
    const uint8_t *data, size_t len)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t slot;
	struct hy_dtls_sess *s;

	hy_addr_key(from, key);
	slot = hy_lru_get(d->lru, key, true);
	if (slot == HY_LRU_NONE) {
		hy_dtls_listen(d, from, data, len);
		return;
	}
	s = d->sess[slot];
	if (s->busy)
		return; /* cannot happen from the socket; be safe */
	d->st.bytes_in += len;
	s->last_rx_ms = hy_dtls_now();
	s->io.in = data;
	s->io.inlen = len;
	hy_dtls_drive(s);
}

/* ---- public API ---- */

struct hy_dtls *
hy_dtls_new(struct event_base *base, struct hy_trctx *trctx,
    const struct hy_dtls_config *cfg, hy_dtls_send_fn *send, void *send_arg,
    hy_dtls_recv_cb *recv, hy_dtls_event_cb *event, void *arg)
{
	struct hy_dtls *d;
	struct timeval tv;

	if (cfg->max_sessions == 0 || cfg->ticket_cache == 0 ||
	    cfg->mtu < 256 || cfg->initial_rto_ms == 0 || send == NULL ||
	    recv == NULL)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->base = base;
	d->trctx = trctx;
	d->ctx = hy_trctx_dtls(trctx);
	d->cfg = *cfg;
	d->send = send;
	d->send_arg = send_arg;
	d->recv = recv;
	d->event = event;
	d->arg = arg;
	d->lio.d = d;
	d->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "hypha-dgram");
	d->lru = hy_lru_new(cfg->max_sessions, HY_ADDR_KEYLEN);
	d->sess = calloc(cfg->max_sessions, sizeof(*d->sess));
	d->tickets = hy_lru_new(cfg->ticket_cache, HY_ADDR_KEYLEN);
	d->ticket = calloc(cfg->ticket_cache, sizeof(*d->ticket));
	d->sweep = event_new(base, -1, EV_PERSIST, hy_dtls_on_sweep, d);
	if (d->meth == NULL || d->lru == NULL || d->sess == NULL ||
	    d->tickets == NULL || d->ticket == NULL || d->sweep == NULL ||
	    hy_random_bytes(d->secret, sizeof(d->secret)) != HY_OK ||
	    hy_random_bytes(d->prev_secret, sizeof(d->prev_secret)) != HY_OK)
		goto fail;
	BIO_meth_set_write(d->meth, hy_dbio_write);
	BIO_meth_set_read(d->meth, hy_dbio_read);
	BIO_meth_set_ctrl(d->meth, hy_dbio_ctrl);
	BIO_meth_set_create(d->meth, hy_dbio_create);
	SSL_CTX_set_cookie_generate_cb(d->ctx, hy_dtls_cookie_gen);
	SSL_CTX_set_cookie_verify_cb(d->ctx, hy_dtls_cookie_verify);
	d->secret_ms = hy_dtls_now();
	if (hy_dtls_reset_listener(d) != HY_OK)
		goto fail;
	tv.tv_sec = cfg->idle_timeout_ms / 8000 + 1;
	tv.tv_usec = 0;
	event_add(d->sweep, &tv);
	return d;
fail:
	hy_dtls_free(d);
	return NULL;
}

void
hy_dtls_free(struct hy_dtls *d)
{
	size_t slot;

	if (d == NULL)
		return;
	if (d->lru != NULL)
		while ((slot = hy_lru_oldest(d->lru)) != HY_LRU_NONE)
			hy_dtls_kill(d->sess[slot], -1, 0);
	if (d->tickets != NULL)
		while ((slot = hy_lru_oldest(d->tickets)) != HY_LRU_NONE) {
			SSL_SESSION_free(d->ticket[slot]);
			hy_lru_del(d->tickets, slot);
		}
	if (d->sweep != NULL)
		event_free(d->sweep);
	SSL_free(d->listener);
	BIO_meth_free(d->meth);
	hy_lru_free(d->lru);
	hy_lru_free(d->tickets);
	free(d->sess);
	free(d->ticket);
	hy_wipe(d->secret, sizeof(d->secret));
	hy_wipe(d->prev_secret, sizeof(d->prev_secret));
	free(d);
}

static struct hy_dtls_sess *
hy_dtls_find(struct hy_dtls *d, const struct hy_addr *to)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t slot;

	hy_addr_key(to, key);
	slot = hy_lru_get(d->lru, key, false);
	return slot == HY_LRU_NONE ? NULL : d->sess[slot];
}

int
hy_dtls_connect(struct hy_dtls *d, const struct hy_addr *to,
    const struct hy_id *expect)
{
	struct hy_dtls_sess *s;
	uint8_t key[HY_ADDR_KEYLEN];
	size_t t;

	if (hy_dtls_find(d, to) != NULL)
		return HY_OK;
	if (d->st.handshaking >= d->cfg.max_handshakes)
		return HY_EFULL;
	s = hy_dtls_sess_new(d, to, true);
	if (s == NULL)
		return HY_ENOMEM;
	s->ssl = hy_dtls_ssl_new(d, &s->io, false);
	if (s->ssl == NULL) {
		hy_dtls_sess_free(s);
		return HY_ECRYPTO;
	}
	if (expect != NULL) {
		s->expect = *expect;
		s->has_expect = true;
	}
	hy_addr_key(to, key);
	t = hy_lru_get(d->tickets, key, false);
	if (t != HY_LRU_NONE)
		SSL_set_session(s->ssl, d->ticket[t]);
	if (hy_dtls_insert(d, s) != HY_OK) {
		hy_dtls_sess_free(s);
		return HY_EFULL;
	}
	hy_dtls_drive(s);
	return HY_OK;
}

int
hy_dtls_send(struct hy_dtls *d, const struct hy_addr *to, const uint8_t *data,
    size_t len)
{
	struct hy_dtls_sess *s = hy_dtls_find(d, to);
	struct hy_dtls_msg *m;

	if (s == NULL || s->dead)
		return HY_ENOENT;
	if (len == 0 || len > hy_dtls_max_payload(d))
		return HY_ETOOBIG;
	if (!s->up) {
		if (s->qn >= d->cfg.queue_max) {
			d->st.queue_overflow++;
			return HY_EFULL;
		}
		m = malloc(sizeof(*m) + len);
		if (m == NULL)
			return HY_ENOMEM;
		m->len = len;
		memcpy(m->data, data, len);
		s->q[s->qn++] = m;
		return HY_OK;
	}
	if (SSL_write(s->ssl, data, (int)len) != (int)len) {
		ERR_clear_error();
		hy_dtls_kill(s, HY_DTLS_DOWN, HY_ECRYPTO);
		return HY_EIO;
	}
	d->st.records_out++;
	return HY_OK;
}

bool
hy_dtls_is_up(struct hy_dtls *d, const struct hy_addr *to, struct hy_id *peer)
{
	struct hy_dtls_sess *s = hy_dtls_find(d, to);

	if (s == NULL || !s->up || s->dead)
		return false;
	if (peer != NULL)
		*peer = s->peer_id;
	return true;
}

void
hy_dtls_close(struct hy_dtls *d, const struct hy_addr *to)
{
	struct hy_dtls_sess *s = hy_dtls_find(d, to);

	if (s != NULL)
		hy_dtls_kill(s, -1, 0);
}

size_t
hy_dtls_max_payload(const struct hy_dtls *d)
{
	return (size_t)d->cfg.mtu - HY_DTLS_OVERHEAD;
}

void
hy_dtls_stats(const struct hy_dtls *d, struct hy_dtls_stats *out)
{
	*out = d->st;
	out->sessions = hy_lru_count(d->lru);
}
