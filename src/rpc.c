/*
 * rpc.c: transaction table, timeouts, retries.
 *
 * Pending requests live in a struct hy_lru keyed by transaction id (a slot
 * array holds the rest); per-destination counts live in a second map keyed
 * by address. Both are bounded by max_inflight, which is why a call beyond
 * the caps is refused rather than queued. Transaction ids are random, so a
 * reply cannot be forged by someone who did not see the request; the reply
 * must also come from the address the request went to and, if we knew the
 * node's ID, be sent by that node. A retry resends the same transaction id
 * (a late reply to the first attempt still completes the request).
 *
 * The handle given to callers is (generation << 32 | slot), so a stale
 * handle never cancels a request that reused the slot.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hypha.h"
#include "lru.h"
#include "rpc.h"

struct hy_rpc_pending {
	struct hy_rpc *r;
	struct event *timer;
	struct hy_addr to;
	struct hy_id to_id;
	bool has_id;
	uint8_t req_type;
	uint32_t attempts_left;
	uint32_t gen;
	hy_rpc_done_cb *cb;
	void *arg;
	uint8_t *env; /* the encoded request, resent on retries */
	size_t envlen;
	uint32_t timeout_ms;
	unsigned send_flags; /* for hy_transport_send_env */
};

struct hy_rpc {
	struct event_base *base;
	struct hy_rpc_config cfg;
	struct hy_transport *tr;
	hy_rpc_handler_cb *handler;
	void *arg;
	struct hy_lru *by_txid; /* key: txid (4 bytes) */
	struct hy_rpc_pending *pend;
	struct hy_lru *by_peer; /* key: address; value: count */
	uint32_t *peer_count;
	uint32_t next_gen;
	uint8_t *encbuf; /* scratch for one encoded request */
	size_t encmax;
	struct hy_rpc_stats st;
};

void
hy_rpc_config_default(struct hy_rpc_config *cfg)
{
	cfg->timeout_ms = 1000;
	cfg->retries = 1;
	cfg->max_inflight = 4096;
	cfg->max_inflight_peer = 64;
}

static void
hy_rpc_peer_adjust(struct hy_rpc *r, const struct hy_addr *a, int delta)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t s;

	hy_addr_key(a, key);
	s = hy_lru_get(r->by_peer, key, false);
	if (s == HY_LRU_NONE) {
		if (delta <= 0)
			return;
		s = hy_lru_put(r->by_peer, key, NULL);
		r->peer_count[s] = 0;
	}
	r->peer_count[s] = (uint32_t)((int)r->peer_count[s] + delta);
	if (r->peer_count[s] == 0)
		hy_lru_del(r->by_peer, s);
}

static uint32_t
hy_rpc_peer_count(struct hy_rpc *r, const struct hy_addr *a)
{
	uint8_t key[HY_ADDR_KEYLEN];
	size_t s;

	hy_addr_key(a, key);
	s = hy_lru_get(r->by_peer, key, false);
	return s == HY_LRU_NONE ? 0 : r->peer_count[s];
}

/* Remove a pending request from the tables (does not call back). */
static void
hy_rpc_forget(struct hy_rpc *r, size_t slot)
{
	struct hy_rpc_pending *p = &r->pend[slot];

	evtimer_del(p->timer);
	free(p->env);
	p->env = NULL;
	p->cb = NULL;
	hy_rpc_peer_adjust(r, &p->to, -1);
	hy_lru_del(r->by_txid, slot);
}

static void
hy_rpc_arm(struct hy_rpc_pending *p)
{
	struct timeval tv;

	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(p->timeout_ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
}

static void
hy_rpc_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hy_rpc_pending *p = arg;
	struct hy_rpc *r = p->r;
	size_t slot = (size_t)(p - r->pend);
	hy_rpc_done_cb *cb;
	void *cbarg;

	(void)fd;
	(void)what;
	if (p->attempts_left > 0) {
		p->attempts_left--;
		r->st.retries++;
		/* a send error is treated like a lost datagram */
		(void)hy_transport_send_env(r->tr, &p->to,
		    p->has_id ? &p->to_id : NULL, p->env, p->envlen,
		    p->send_flags);
		hy_rpc_arm(p);
		return;
	}
	cb = p->cb;
	cbarg = p->arg;
	r->st.timeouts++;
	hy_rpc_forget(r, slot);
	cb(cbarg, HY_ETIMEDOUT, NULL, NULL);
}

/* A reply (or ERROR) arrived: complete the request it answers. */
static void
hy_rpc_complete(struct hy_rpc *r, const struct hy_msg *msg,
    const struct hy_from *from)
{
	uint8_t key[4];
	size_t slot;
	struct hy_rpc_pending *p;
	struct hy_from f;
	hy_rpc_done_cb *cb;
	void *cbarg;
	bool tls;

	memcpy(key, &msg->txid, sizeof(key));
	slot = hy_lru_get(r->by_txid, key, false);
	if (slot == HY_LRU_NONE) {
		r->st.unmatched++;
		return;
	}
	p = &r->pend[slot];
	/*
	 * Over TLS the connection may be one the answering node dialled (a
	 * reply too large for a datagram), so its source is an ephemeral TCP
	 * port: the authenticated node ID is what must match there.
	 */
	tls = from->path == HY_PATH_TLS;
	if ((tls ? !p->has_id : !hy_addr_eq(&p->to, &from->addr)) ||
	    (p->has_id && !hy_id_eq(&p->to_id, &from->id)) ||
	    (msg->type != hy_msg_peer_type(p->req_type) &&
	        msg->type != HY_MSG_ERROR)) {
		r->st.unmatched++;
		return;
	}
	/* it saw our transaction id: the address receives our packets */
	if (!tls)
		hy_transport_validated(r->tr, &from->addr);
	/* report the reply as coming from the address we asked */
	f = *from;
	f.addr = p->to;
	cb = p->cb;
	cbarg = p->arg;
	r->st.replies++;
	hy_rpc_forget(r, slot);
	cb(cbarg, HY_OK, msg, &f);
}

/* Transport hook: is this reply one we are waiting for, from there? */
static bool
hy_rpc_expects(void *arg, const struct hy_msg *msg, const struct hy_addr *from)
{
	struct hy_rpc *r = arg;
	uint8_t key[4];
	size_t slot;

	memcpy(key, &msg->txid, sizeof(key));
	slot = hy_lru_get(r->by_txid, key, false);
	return slot != HY_LRU_NONE && hy_addr_eq(&r->pend[slot].to, from);
}

static void
hy_rpc_input(void *arg, const struct hy_msg *msg, const struct hy_from *from)
{
	struct hy_rpc *r = arg;
	int kind = hy_msg_kind_of(msg->type);

	if (kind == HY_MK_REPLY || msg->type == HY_MSG_ERROR) {
		hy_rpc_complete(r, msg, from);
		return;
	}
	r->st.requests_in++;
	if (r->handler != NULL)
		r->handler(r->arg, msg, from);
}

struct hy_rpc *
hy_rpc_new(struct event_base *base, const struct hy_ident *id,
    const struct hy_transport_config *tcfg, const struct hy_rpc_config *cfg,
    hy_rpc_handler_cb *handler, void *arg, int *err, char *errbuf,
    size_t errlen)
{
	struct hy_rpc *r;

	if (cfg->max_inflight == 0 || cfg->max_inflight_peer == 0 ||
	    cfg->timeout_ms == 0) {
		*err = HY_EINVAL;
		snprintf(errbuf, errlen, "invalid RPC configuration");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->base = base;
	r->cfg = *cfg;
	r->handler = handler;
	r->arg = arg;
	r->by_txid = hy_lru_new(cfg->max_inflight, 4);
	r->pend = calloc(cfg->max_inflight, sizeof(*r->pend));
	r->by_peer = hy_lru_new(cfg->max_inflight, HY_ADDR_KEYLEN);
	r->peer_count = calloc(cfg->max_inflight, sizeof(*r->peer_count));
	if (r->by_txid == NULL || r->pend == NULL || r->by_peer == NULL ||
	    r->peer_count == NULL)
		goto nomem;
	for (size_t i = 0; i < cfg->max_inflight; i++) {
		r->pend[i].r = r;
		r->pend[i].timer =
		    evtimer_new(base, hy_rpc_on_timeout, &r->pend[i]);
		if (r->pend[i].timer == NULL)
			goto nomem;
	}
	r->tr = hy_transport_new(base, id, tcfg, hy_rpc_input, r, err, errbuf,
	    errlen);
	if (r->tr == NULL) {
		hy_rpc_free(r);
		return NULL;
	}
	hy_transport_set_expect(r->tr, hy_rpc_expects, r);
	r->encmax = hy_transport_env_max(r->tr);
	r->encbuf = malloc(r->encmax);
	if (r->encbuf == NULL)
		goto nomem;
	return r;
nomem:
	hy_rpc_free(r);
	*err = HY_ENOMEM;
	snprintf(errbuf, errlen, "out of memory");
	return NULL;
}

void
hy_rpc_free(struct hy_rpc *r)
{
	size_t slot;

	if (r == NULL)
		return;
	if (r->by_txid != NULL) {
		while ((slot = hy_lru_oldest(r->by_txid)) != HY_LRU_NONE) {
			hy_rpc_done_cb *cb = r->pend[slot].cb;
			void *cbarg = r->pend[slot].arg;

			r->st.cancelled++;
			hy_rpc_forget(r, slot);
			cb(cbarg, HY_ECANCELED, NULL, NULL);
		}
	}
	hy_transport_free(r->tr);
	if (r->pend != NULL)
		for (size_t i = 0; i < r->cfg.max_inflight; i++)
			if (r->pend[i].timer != NULL)
				event_free(r->pend[i].timer);
	free(r->pend);
	free(r->peer_count);
	free(r->encbuf);
	hy_lru_free(r->by_txid);
	hy_lru_free(r->by_peer);
	free(r);
}

int
hy_rpc_call(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, hy_rpc_done_cb *cb,
    void *arg, uint64_t *handle)
{
	struct hy_rpc_opts o = { r->cfg.timeout_ms, r->cfg.retries, 0 };

	return hy_rpc_call_opts(r, to, to_id, req, &o, cb, arg, handle);
}

/* The path for a request or one-way message with these flags. */
static enum hy_wire_path
hy_rpc_path(struct hy_rpc *r, const struct hy_addr *to, unsigned flags)
{
	if (flags & HY_RPC_VIA_TLS)
		return HY_PATH_TLS;
	if (flags & HY_RPC_SESSION)
		return hy_transport_session_up(r->tr, to) ? HY_PATH_DTLS
		                                          : HY_PATH_TLS;
	return HY_PATH_DGRAM;
}

int
hy_rpc_call_opts(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, const struct hy_rpc_opts *o,
    hy_rpc_done_cb *cb, void *arg, uint64_t *handle)
{
	struct hy_rpc_pending *p;
	enum hy_wire_path path = hy_rpc_path(r, to, o->flags);
	unsigned sflags = HY_TR_REQUEST;
	uint8_t key[4];
	uint32_t txid;
	size_t slot, envlen;
	int rc;

	if (hy_msg_kind_of(req->type) != HY_MK_REQ || cb == NULL)
		return HY_EINVAL;
	if (path == HY_PATH_TLS) {
		if (to_id == NULL)
			return HY_EINVAL;
		sflags |= HY_TR_VIA_TLS;
	}
	if (hy_lru_count(r->by_txid) >= r->cfg.max_inflight ||
	    hy_rpc_peer_count(r, to) >= r->cfg.max_inflight_peer) {
		r->st.refused_full++;
		return HY_EFULL;
	}
	do {
		rc = hy_random_bytes(&txid, sizeof(txid));
		if (rc != HY_OK)
			return rc;
		memcpy(key, &txid, sizeof(key));
	} while (
	    txid == 0 || hy_lru_get(r->by_txid, key, false) != HY_LRU_NONE);
	req->txid = txid;
	/*
	 * First contact: pad the request to a full datagram so that the
	 * answer fits the amplification budget the peer grants us.
	 */
	if (path == HY_PATH_DGRAM && !hy_transport_is_validated(r->tr, to))
		req->pad_to = HY_DGRAM_PAYLOAD_MAX;
	rc = hy_transport_encode_for(r->tr, req, path, r->encbuf, r->encmax,
	    &envlen);
	if (rc != HY_OK)
		return rc;
	rc = hy_transport_send_env(r->tr, to, to_id, r->encbuf, envlen, sflags);
	if (rc != HY_OK)
		return rc;
	slot = hy_lru_put(r->by_txid, key, NULL);
	p = &r->pend[slot];
	p->env = malloc(envlen);
	if (p->env == NULL) {
		hy_lru_del(r->by_txid, slot);
		return HY_ENOMEM;
	}
	memcpy(p->env, r->encbuf, envlen);
	p->envlen = envlen;
	p->to = *to;
	p->has_id = to_id != NULL;
	if (to_id != NULL)
		p->to_id = *to_id;
	p->req_type = req->type;
	p->attempts_left = o->retries;
	p->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : r->cfg.timeout_ms;
	p->send_flags = sflags;
	p->gen = ++r->next_gen;
	p->cb = cb;
	p->arg = arg;
	hy_rpc_peer_adjust(r, to, +1);
	hy_rpc_arm(p);
	r->st.calls++;
	if (handle != NULL)
		*handle = (uint64_t)p->gen << 32 | slot;
	return HY_OK;
}

void
hy_rpc_cancel(struct hy_rpc *r, uint64_t handle)
{
	size_t slot = (size_t)(handle & 0xffffffffu);

	if (slot >= r->cfg.max_inflight || r->pend[slot].cb == NULL ||
	    r->pend[slot].gen != (uint32_t)(handle >> 32))
		return;
	r->st.cancelled++;
	hy_rpc_forget(r, slot);
}

int
hy_rpc_reply(struct hy_rpc *r, const struct hy_msg *req,
    const struct hy_from *from, struct hy_msg *reply)
{
	size_t envlen;
	int rc;

	reply->txid = req->txid;
	/* the path the request came on: a DTLS reply that does not fit a
	 * record goes over TLS */
	rc = hy_transport_encode_for(r->tr, reply, from->path, r->encbuf,
	    r->encmax, &envlen);
	if (rc == HY_ETOOBIG && from->path == HY_PATH_DTLS)
		rc = hy_transport_encode_for(r->tr, reply, HY_PATH_TLS,
		    r->encbuf, r->encmax, &envlen);
	if (rc == HY_OK)
		rc = hy_transport_send_env(r->tr, &from->addr, &from->id,
		    r->encbuf, envlen,
		    from->path == HY_PATH_TLS ? HY_TR_VIA_TLS : 0);
	if (rc == HY_OK)
		r->st.replies_out++;
	return rc;
}

int
hy_rpc_send(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *msg)
{
	return hy_transport_send(r->tr, to, to_id, msg);
}

int
hy_rpc_send_session(struct hy_rpc *r, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *msg)
{
	enum hy_wire_path path = hy_rpc_path(r, to, HY_RPC_SESSION);
	size_t envlen;
	int rc;

	if (path == HY_PATH_TLS && to_id == NULL)
		return HY_EINVAL;
	rc = hy_transport_encode_for(r->tr, msg, path, r->encbuf, r->encmax,
	    &envlen);
	if (rc == HY_OK)
		rc = hy_transport_send_env(r->tr, to, to_id, r->encbuf, envlen,
		    path == HY_PATH_TLS ? HY_TR_VIA_TLS : 0);
	return rc;
}

struct hy_transport *
hy_rpc_transport(struct hy_rpc *r)
{
	return r->tr;
}

void
hy_rpc_stats(const struct hy_rpc *r, struct hy_rpc_stats *out)
{
	*out = r->st;
	out->inflight = hy_lru_count(r->by_txid);
}
