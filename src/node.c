/*
 * node.c: the public node: wires the DHT state machine (dht.h) to the
 * RPC layer and the caller's event_base, and translates between the
 * public API (hypha.h) and the modules.
 *
 * Host side of the DHT's I/O boundary: a DHT request becomes an RPC call
 * whose completion is handed back with the DHT's cookie; an incoming
 * request goes to the DHT, whose reply leaves on the path the request came
 * by. One libevent timer follows hy_dht_next_deadline(), re-armed after
 * every entry point. Stopping frees the DHT first (user callbacks fire
 * HY_ECANCELED) and the RPC layer after it (its pending completions then
 * find no DHT and only free their context).
 *
 * Bounds: user operations are tracked in a fixed table (HY_NODE_OPS) so a
 * cancelled operation's context is freed; everything else is bounded by the
 * modules' own configured limits.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "crypto.h"
#include "dht.h"
#include "hypha.h"
#include "ident.h"
#include "log.h"
#include "node-internal.h"
#include "rpc.h"
#include "tr-seeds.h"

uint64_t
hy_node_now(void)
{
	return hy_clock_mono(hy_clock_system());
}

/* ---- configuration (public wrappers over conf.c) ---- */

struct hy_config *
hy_config_new(void)
{
	struct hy_config *cfg = malloc(sizeof(*cfg));

	if (cfg != NULL)
		hy_config_defaults(cfg);
	return cfg;
}

void
hy_config_free(struct hy_config *cfg)
{
	free(cfg);
}

int
hy_config_set(struct hy_config *cfg, const char *name, const char *value,
    char *err, size_t errlen)
{
	char dummy[8];

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	return hy_config_set_opt(cfg, name, value, err, errlen);
}

void
hy_config_set_log(struct hy_config *cfg, hy_log_cb *cb, void *arg,
    enum hy_log_level max_level)
{
	cfg->log_cb = cb;
	cfg->log_arg = arg;
	cfg->log_level = max_level;
}

int
hy_config_foreach(const struct hy_config *cfg,
    int (*cb)(const char *name, const char *value, void *arg), void *arg)
{
	return hy_config_each(cfg, cb, arg);
}

void
hy_key_from_string(const char *s, size_t len, uint8_t key[HY_ID_LEN])
{
	(void)hy_sha256(s, len, key);
}

/* ---- the DHT's timer ---- */

void
hy_node_resched(struct hy_node *n)
{
	uint64_t now, deadline;

	if (n->dht == NULL)
		return;
	now = hy_node_now();
	deadline = hy_dht_next_deadline(n->dht);
	if (n->seed_verdict_due && n->seed_verdict_ms < deadline)
		deadline = n->seed_verdict_ms;
	hy_node_arm(n->tick, deadline, now);
}

void
hy_node_arm(struct event *ev, uint64_t deadline, uint64_t now)
{
	uint64_t delay = deadline > now ? deadline - now : 0;
	struct timeval tv;

	if (delay > 60000)
		delay = 60000; /* look again at least once a minute */
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/*
 * Joined: a contact answered us, or, for a node with no seeds of its own
 * (the first node of an overlay), authenticated peers are in its table:
 * they found it, so it is part of the overlay even before it asks anyone.
 */
static bool
hy_node_is_joined(const struct hy_node *n, uint64_t now)
{
	struct hy_rtable_stats st;

	if (hy_dht_joined(n->dht, now))
		return true;
	if (n->cfg.n_seeds > 0)
		return false;
	hy_rtable_stats(hy_dht_rtable(n->dht), now, &st);
	return st.contacts > 0;
}

/* Deliver queued events (from the loop, never inside an API call). */
static void
hy_node_on_events(evutil_socket_t fd, short what, void *arg)
{
	struct hy_node *n = arg;

	(void)fd;
	(void)what;
	while (n->ev_count > 0) {
		struct hy_node_evitem it = n->evring[n->ev_head];

		n->ev_head = (n->ev_head + 1) % HY_NODE_EVENTS;
		n->ev_count--;
		if (n->event_cb != NULL)
			n->event_cb(n->event_arg, it.ev,
			    it.has_contact ? &it.c : NULL);
	}
}

void
hy_node_queue_event(struct hy_node *n, enum hy_node_event ev,
    const struct hy_rtable_contact *c)
{
	struct hy_node_evitem *it;

	if (n->event_cb == NULL)
		return;
	if (n->ev_count == HY_NODE_EVENTS) {
		n->events_dropped++;
		return;
	}
	it = &n->evring[(n->ev_head + n->ev_count++) % HY_NODE_EVENTS];
	memset(it, 0, sizeof(*it));
	it->ev = ev;
	if (c != NULL) {
		it->has_contact = true;
		memcpy(it->c.id, c->id.b, HY_ID_LEN);
		hy_addr_format(&c->addr, it->c.addr, sizeof(it->c.addr));
	}
	event_active(n->evq, EV_TIMEOUT, 0);
}

/* The routing table changed (called from inside the DHT). */
static void
hy_node_contact_change(void *arg, const struct hy_rtable_contact *c, bool added)
{
	hy_node_queue_event(arg,
	    added ? HY_EVENT_CONTACT_ADDED : HY_EVENT_CONTACT_EVICTED, c);
	hy_node_live_contact_change(arg, c, added);
}

/* The seeds module resolved an attempt's addresses: join through them. */
static void
hy_node_seeds_resolved(const struct hy_addr *addrs, size_t n_addrs, void *arg)
{
	struct hy_node *n = arg;
	uint64_t now = hy_node_now();

	if (n->dht == NULL)
		return;
	(void)hy_dht_bootstrap(n->dht, addrs, n_addrs, now);
	/* judge the attempt after a few round-trip timeouts */
	n->seed_verdict_due = true;
	n->seed_verdict_ms = now + 3 * n->cfg.rpc_timeout_ms;
	hy_node_resched(n);
}

/* Judge the last seed attempt; report joins and isolation. */
static void
hy_node_check_join(struct hy_node *n, uint64_t now)
{
	bool joined = hy_node_is_joined(n, now);

	if (n->seed_verdict_due && (joined || now >= n->seed_verdict_ms)) {
		n->seed_verdict_due = false;
		(void)hy_seeds_attempt_result(n->seeds, joined);
	}
	if (joined != n->was_joined) {
		n->was_joined = joined;
		hy_log_emit(&n->log, HY_LOG_INFO, "%s",
		    joined ? "joined the overlay"
		           : "isolated: no contact answers");
		hy_node_queue_event(n,
		    joined ? HY_EVENT_JOINED : HY_EVENT_ISOLATED, NULL);
	}
}

static void
hy_node_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hy_node *n = arg;
	uint64_t now = hy_node_now();

	(void)fd;
	(void)what;
	if (n->dht == NULL)
		return;
	hy_dht_tick(n->dht, now);
	hy_node_check_join(n, now);
	if (now >= n->next_save_ms)
		hy_node_state_save(n, now);
	hy_node_resched(n);
}

/* ---- host side of the DHT boundary ---- */

static void
hy_node_call_done(void *arg, int err, const struct hy_msg *reply,
    const struct hy_from *from)
{
	struct hy_node_call *c = arg;
	struct hy_node *n = c->n;
	uint64_t cookie = c->cookie;

	free(c);
	if (n->dht == NULL)
		return; /* stopping: the DHT is gone */
	hy_dht_on_response(n->dht, cookie, err, reply,
	    from != NULL ? &from->addr : NULL, hy_node_now());
	if (err == HY_OK && from != NULL)
		hy_node_live_replied(n, reply, &from->addr, hy_node_now());
	hy_node_resched(n);
}

static int
hy_node_host_request(void *host, const struct hy_addr *to,
    const struct hy_id *to_id, struct hy_msg *req, uint64_t cookie)
{
	struct hy_node *n = host;
	struct hy_node_call *c = malloc(sizeof(*c));
	int rc;

	if (c == NULL)
		return HY_ENOMEM;
	c->n = n;
	c->cookie = cookie;
	rc = hy_rpc_call(n->rpc, to, to_id, req, hy_node_call_done, c, NULL);
	if (rc != HY_OK)
		free(c);
	return rc;
}

static int
hy_node_host_reply(void *host, const struct hy_msg *req,
    const struct hy_addr *to, const struct hy_id *to_id, struct hy_msg *rep)
{
	struct hy_node *n = host;
	struct hy_from f;

	/* answer on the path the request came by (TLS replies stay on TLS) */
	if (n->cur_from != NULL && hy_addr_eq(&n->cur_from->addr, to)) {
		f = *n->cur_from;
	} else {
		memset(&f, 0, sizeof(f));
		f.addr = *to;
		if (to_id != NULL)
			f.id = *to_id;
		f.path = HY_PATH_DGRAM;
	}
	return hy_rpc_reply(n->rpc, req, &f, rep);
}

static void
hy_node_on_request(void *arg, const struct hy_msg *msg,
    const struct hy_from *from)
{
	struct hy_node *n = arg;

	if (n->dht == NULL)
		return;
	if (hy_node_live_request(n, msg, from))
		return; /* PROBE, PROBE_REQ, PEX */
	n->cur_from = from;
	hy_dht_on_request(n->dht, msg, &from->addr, &from->id, hy_node_now());
	n->cur_from = NULL;
	hy_node_live_queried(n, from);
	hy_node_resched(n);
}

/* ---- lifecycle ---- */

struct hy_node *
hy_node_new(struct event_base *base, const struct hy_config *cfg, char *err,
    size_t errlen)
{
	struct hy_node *n = calloc(1, sizeof(*n));
	char dummy[8];
	int rc;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->base = base;
	n->cfg = *cfg;
	n->lock_fd = -1;
	hy_log_init(&n->log, cfg->log_cb, cfg->log_arg, cfg->log_level);
	if (cfg->state_dir[0] != '\0')
		rc = hy_ident_load_or_create(&n->ident, cfg->state_dir, err,
		    errlen);
	else
		rc = hy_ident_generate(&n->ident);
	if (rc != HY_OK) {
		if (err[0] == '\0')
			snprintf(err, errlen, "identity: %s", hy_strerror(rc));
		goto fail;
	}
	n->tick = evtimer_new(base, hy_node_on_tick, n);
	n->evq = event_new(base, -1, 0, hy_node_on_events, n);
	if (n->tick == NULL || n->evq == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return n;
fail:
	hy_node_free(n);
	return NULL;
}

static void
hy_node_transport_config(const struct hy_node *n,
    struct hy_transport_config *tc)
{
	const struct hy_config *c = &n->cfg;

	hy_transport_config_default(tc);
	snprintf(tc->network, sizeof(tc->network), "%s", c->network);
	for (size_t i = 0; i < c->n_listen; i++) {
		if (c->listen[i].family == HY_AF_INET6)
			tc->listen6 = c->listen[i];
		else
			tc->listen4 = c->listen[i];
	}
	tc->ca_file = c->ca_file[0] != '\0' ? c->ca_file : NULL;
	tc->cert_file = c->cert_file[0] != '\0' ? c->cert_file : NULL;
	tc->keylog = c->keylog[0] != '\0' ? c->keylog : NULL;
	tc->dtls.max_sessions = c->dtls_sessions;
	tc->tls.max_conns = c->tls_connections;
	tc->ratelimit.source_rate = (uint32_t)c->rate_per_source;
	tc->ratelimit.source_burst = (uint32_t)c->rate_per_source * 2;
}

static void
hy_node_dht_config(const struct hy_node *n, struct hy_dht_config *dc)
{
	const struct hy_config *c = &n->cfg;

	hy_dht_config_default(dc);
	snprintf(dc->network, sizeof(dc->network), "%s", c->network);
	dc->k = (unsigned)c->k;
	dc->lookup.alpha = (unsigned)c->alpha;
	dc->store.max_bytes = c->store_max_bytes;
	dc->store.max_keys = (uint32_t)c->store_max_keys;
	dc->store.max_values_per_key = (uint32_t)c->store_max_values_per_key;
	dc->store.max_source_bytes = c->store_max_source_bytes;
	dc->store.max_value_len = (uint32_t)c->max_value_bytes;
	dc->replicate_ms = c->republish_s * 1000;
	/* values bigger than a datagram travel over TLS */
	dc->path = HY_PATH_TLS;
	/* local overlays: accept loopback/private contacts when we listen
	 * on such an address ourselves (DESIGN.md §7) */
	for (size_t i = 0; i < c->n_listen; i++)
		if (hy_addr_is_local(&c->listen[i]))
			dc->rtable.allow_local = true;
	dc->rtable.on_change = hy_node_contact_change;
	dc->rtable.on_change_arg = (void *)n;
}

int
hy_node_start(struct hy_node *n, char *err, size_t errlen)
{
	struct hy_transport_config tc;
	struct hy_rpc_config rc;
	struct hy_dht_config dc;
	struct hy_dht_host host = { n, hy_node_host_request, hy_node_host_reply,
		hy_node_live_contact_failed };
	uint8_t secret[HY_DHT_SECRET_LEN];
	uint64_t seed, now = hy_node_now();
	char dummy[8];
	int e;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (n->rpc != NULL)
		return HY_ESTATE;
	e = hy_node_state_open(n, err, errlen);
	if (e != HY_OK)
		return e;
	hy_node_transport_config(n, &tc);
	hy_rpc_config_default(&rc);
	rc.timeout_ms = (uint32_t)n->cfg.rpc_timeout_ms;
	rc.retries = (uint32_t)n->cfg.rpc_retries;
	rc.max_inflight = n->cfg.rpc_max_inflight;
	n->rpc = hy_rpc_new(n->base, n->ident, &tc, &rc, hy_node_on_request, n,
	    &e, err, errlen);
	if (n->rpc == NULL) {
		hy_node_state_close(n);
		return e;
	}
	hy_node_dht_config(n, &dc);
	if ((e = hy_random_bytes(secret, sizeof(secret))) != HY_OK ||
	    (e = hy_random_bytes(&seed, sizeof(seed))) != HY_OK ||
	    (e = hy_dht_new(&n->dht, hy_ident_id(n->ident), &dc, &host, secret,
	         seed, now)) != HY_OK) {
		snprintf(err, errlen, "DHT: %s", hy_strerror(e));
		hy_wipe(secret, sizeof(secret));
		hy_rpc_free(n->rpc);
		n->rpc = NULL;
		hy_node_state_close(n);
		return e;
	}
	hy_wipe(secret, sizeof(secret));
	if ((e = hy_node_live_start(n, now, err, errlen)) != HY_OK) {
		hy_node_stop(n);
		return e;
	}
	hy_node_state_restore(n, now);
	if (n->cfg.n_seeds > 0) {
		const char *entries[HY_CFG_MAX_SEEDS];
		struct hy_seeds_config sc;

		for (size_t i = 0; i < n->cfg.n_seeds; i++)
			entries[i] = n->cfg.seeds[i];
		hy_seeds_config_default(&sc);
		e = hy_seeds_new(&n->seeds, n->base, entries, n->cfg.n_seeds,
		    &sc, hy_node_seeds_resolved, n, err, errlen);
		if (e == HY_OK)
			e = hy_seeds_start(n->seeds);
		if (e != HY_OK) {
			hy_node_stop(n);
			return e;
		}
	}
	hy_node_resched(n);
	{
		char id[HY_ID_HEXLEN], a[HY_ADDR_STRLEN];
		const struct hy_addr *la =
		    hy_transport_local(hy_rpc_transport(n->rpc), HY_AF_INET);

		if (la == NULL)
			la = hy_transport_local(hy_rpc_transport(n->rpc),
			    HY_AF_INET6);
		hy_id_to_hex(hy_ident_id(n->ident), id);
		hy_log_emit(&n->log, HY_LOG_INFO, "node %.16s listening on %s",
		    id, hy_addr_format(la, a, sizeof(a)));
	}
	return HY_OK;
}

void
hy_node_stop(struct hy_node *n)
{
	struct hy_dht *dht;

	if (n == NULL || n->rpc == NULL)
		return;
	evtimer_del(n->tick);
	hy_seeds_free(n->seeds);
	n->seeds = NULL;
	n->seed_verdict_due = false;
	n->was_joined = false;
	hy_node_state_save(n, hy_node_now());
	hy_node_live_stop(n);
	dht = n->dht;
	n->dht = NULL; /* RPC completions after this only free contexts */
	hy_dht_free(dht);
	hy_rpc_free(n->rpc);
	n->rpc = NULL;
	for (size_t i = 0; i < HY_NODE_OPS; i++)
		n->ops[i].kind = OP_FREE;
	hy_node_state_close(n);
}

void
hy_node_free(struct hy_node *n)
{
	if (n == NULL)
		return;
	hy_node_stop(n);
	if (n->tick != NULL)
		event_free(n->tick);
	if (n->evq != NULL)
		event_free(n->evq);
	hy_ident_free(n->ident);
	free(n);
}

void
hy_node_id(const struct hy_node *n, uint8_t id[HY_ID_LEN])
{
	memcpy(id, hy_ident_id(n->ident)->b, HY_ID_LEN);
}

const char *
hy_node_addr(const struct hy_node *n, int family, char *buf, size_t len)
{
	const struct hy_addr *a;

	if (n->rpc == NULL)
		return NULL;
	a = hy_transport_local(hy_rpc_transport(n->rpc),
	    family == 6 ? HY_AF_INET6 : HY_AF_INET);
	return a != NULL ? hy_addr_format(a, buf, len) : NULL;
}

int
hy_node_joined(const struct hy_node *n)
{
	return n->dht != NULL && hy_node_is_joined(n, hy_node_now());
}

void
hy_node_set_event_cb(struct hy_node *n, hy_node_event_cb *cb, void *arg)
{
	n->event_cb = cb;
	n->event_arg = arg;
}

enum hy_node_status
hy_node_status(const struct hy_node *n)
{
	if (n->dht == NULL)
		return HY_NODE_STOPPED;
	if (hy_node_is_joined(n, hy_node_now()))
		return HY_NODE_JOINED;
	if (n->seeds != NULL && hy_seeds_status(n->seeds) == HY_SEEDS_ALL_DOWN)
		return HY_NODE_SEEDS_DOWN;
	if (n->seeds == NULL && hy_dht_rtable(n->dht) != NULL) {
		struct hy_rtable_stats st;

		hy_rtable_stats(hy_dht_rtable(n->dht), hy_node_now(), &st);
		if (st.contacts == 0)
			return HY_NODE_ALONE;
	}
	return HY_NODE_JOINING;
}

const char *
hy_node_status_str(enum hy_node_status st)
{
	switch (st) {
	case HY_NODE_STOPPED:
		return "stopped";
	case HY_NODE_ALONE:
		return "alone";
	case HY_NODE_JOINING:
		return "joining";
	case HY_NODE_SEEDS_DOWN:
		return "seeds down";
	case HY_NODE_JOINED:
		return "joined";
	}
	return "unknown";
}
