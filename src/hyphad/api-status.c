/*
 * api-status.c: the synchronous read-only endpoints: GET /v1/status,
 * GET /v1/routes, GET /v1/members and GET /metrics (Prometheus text
 * exposition format).
 *
 * Everything comes from the public API (hy_node_stats, hy_node_routes,
 * hy_node_members, hy_node_health, hy_node_status); counter names are
 * passed through, so a counter the library adds appears here without a
 * change. In /metrics a name is a gauge when it describes a current size
 * (the "rtable." and size-like "store." names, in-flight and session
 * counts), otherwise a counter; the member counts per state and the health
 * multiplier are gauges of their own (hypha_members{state=...},
 * hypha_health).
 *
 * The member counts are always over the node's whole liveness view, also
 * when GET /v1/members filters its list by ?state=.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>

#include "hyphad.h"

/* Member states as the API spells them, in the order they are counted. */
#define HYD_N_MSTATES 3
static const enum hy_member_state mstates[HYD_N_MSTATES] = { HY_MEMBER_ALIVE,
	HY_MEMBER_SUSPECT, HY_MEMBER_DOWN };

/* A JSON integer for an unsigned count, saturated at the largest one. */
static json_t *
json_u64(uint64_t v)
{
	return json_integer((
	    json_int_t)(v > 0x7fffffffffffffffULL ? 0x7fffffffffffffffULL : v));
}

/* Index of st in mstates, or -1 for a state this daemon does not know. */
static int
mstate_index(enum hy_member_state st)
{
	for (int i = 0; i < HYD_N_MSTATES; i++)
		if (mstates[i] == st)
			return i;
	return -1;
}

struct members_ctx {
	json_t *list; /* NULL: count only */
	int filter; /* index into mstates, -1: every member */
	uint64_t counts[HYD_N_MSTATES];
	int failed;
};

static int
member_item(const struct hy_member *m, void *arg)
{
	struct members_ctx *c = arg;
	char hex[2 * HY_ID_LEN + 1];
	int si = mstate_index(m->state);
	json_t *j;

	if (si >= 0)
		c->counts[si]++;
	if (c->list == NULL || (c->filter >= 0 && si != c->filter))
		return 0;
	(void)hyd_hex(m->id, sizeof(m->id), hex, sizeof(hex));
	j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:b, s:b}", "id", hex,
	    "addr", m->addr, "state", hy_member_state_str(m->state), "seq",
	    json_u64(m->seq), "since_ms", json_u64(m->since_ms_ago),
	    "confirmations", (json_int_t)m->confirmations, "active",
	    m->active != 0, "in_table", m->in_table != 0);
	if (j == NULL || json_array_append_new(c->list, j) != 0)
		c->failed = 1;
	return c->failed;
}

/* {"alive": n, "suspect": n, "down": n} from c's counts; NULL if OOM. */
static json_t *
member_counts(const struct members_ctx *c)
{
	json_t *o = json_object();

	for (int i = 0; o != NULL && i < HYD_N_MSTATES; i++)
		if (json_object_set_new(o, hy_member_state_str(mstates[i]),
		        json_u64(c->counts[i])) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

struct status_ctx {
	json_t *routing, *store, *counters;
	int failed;
};

static int
status_stat(const char *name, uint64_t value, void *arg)
{
	struct status_ctx *c = arg;
	json_t *v = json_integer((json_int_t)(value & 0x7fffffffffffffffULL));

	if (strncmp(name, "rtable.", 7) == 0)
		c->failed |= json_object_set(c->routing, name + 7, v) != 0;
	else if (strncmp(name, "store.", 6) == 0)
		c->failed |= json_object_set(c->store, name + 6, v) != 0;
	c->failed |= json_object_set_new(c->counters, name, v) != 0;
	return c->failed;
}

void
hyd_status(struct hyd *d, struct evhttp_request *req)
{
	struct status_ctx c = { json_object(), json_object(), json_object(),
		0 };
	struct members_ctx mc = { NULL, -1, { 0 }, 0 };
	uint8_t id[HY_ID_LEN];
	char hex[2 * HY_ID_LEN + 1], a[80];
	json_t *addrs = json_array(), *members = NULL, *j;

	if (c.routing == NULL || c.store == NULL || c.counters == NULL ||
	    addrs == NULL)
		goto oom;
	(void)hy_node_stats(d->node, status_stat, &c);
	if (c.failed)
		goto oom;
	(void)hy_node_members(d->node, member_item, &mc);
	if ((members = member_counts(&mc)) == NULL)
		goto oom;
	hy_node_id(d->node, id);
	(void)hyd_hex(id, sizeof(id), hex, sizeof(hex));
	if (hy_node_addr(d->node, 4, a, sizeof(a)) != NULL)
		(void)json_array_append_new(addrs, json_string(a));
	if (hy_node_addr(d->node, 6, a, sizeof(a)) != NULL)
		(void)json_array_append_new(addrs, json_string(a));
	j = json_pack("{s:s, s:s, s:s, s:O, s:I, s:s, s:I, s:O, s:O, s:O, s:O}",
	    "id", hex, "version", hy_version(), "network", d->network,
	    "addresses", addrs, "uptime_s",
	    (json_int_t)((hyd_now_ms() - d->started_ms) / 1000), "status",
	    hy_node_status_str(hy_node_status(d->node)), "health",
	    (json_int_t)hy_node_health(d->node), "members", members, "routing",
	    c.routing, "store", c.store, "counters", c.counters);
	hyd_reply_json(req, 200, j);
	goto out;
oom:
	hyd_reply_error(req, 500, "internal", "out of memory");
out:
	json_decref(addrs);
	json_decref(members);
	json_decref(c.routing);
	json_decref(c.store);
	json_decref(c.counters);
}

static int
route_item(const struct hy_route *r, void *arg)
{
	json_t *list = arg, *j;
	char hex[2 * HY_ID_LEN + 1];

	(void)hyd_hex(r->id, sizeof(r->id), hex, sizeof(hex));
	j = json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", hex, "addr", r->addr,
	    "status", r->status != NULL ? r->status : "unknown",
	    "last_seen_ms_ago",
	    (json_int_t)(r->last_seen_ms_ago & 0x7fffffffffffffffULL), "bucket",
	    (json_int_t)r->bucket);
	return j == NULL || json_array_append_new(list, j) != 0;
}

void
hyd_routes(struct hyd *d, struct evhttp_request *req)
{
	json_t *list = json_array();

	if (list == NULL || hy_node_routes(d->node, route_item, list) != 0) {
		json_decref(list);
		hyd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	hyd_reply_json(req, 200, json_pack("{s:o}", "contacts", list));
}

/*
 * The ?state= filter of GET /v1/members: 0 with *filter set (-1 without
 * one), or -1 with a 400 sent.
 */
static int
members_query(struct evhttp_request *req, int *filter)
{
	const char *q =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *v;
	int rc = 0;

	*filter = -1;
	if (q == NULL)
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) != 0) {
		hyd_reply_error(req, 400, "bad_query",
		    "malformed query string");
		return -1;
	}
	if ((v = evhttp_find_header(&params, "state")) != NULL) {
		for (int i = 0; i < HYD_N_MSTATES; i++)
			if (strcmp(v, hy_member_state_str(mstates[i])) == 0)
				*filter = i;
		if (*filter < 0) {
			hyd_reply_error(req, 400, "bad_state",
			    "state must be alive, suspect or down");
			rc = -1;
		}
	}
	evhttp_clear_headers(&params);
	return rc;
}

void
hyd_members(struct hyd *d, struct evhttp_request *req)
{
	struct members_ctx c = { NULL, -1, { 0 }, 0 };
	json_t *counts;

	if (members_query(req, &c.filter) != 0)
		return;
	if ((c.list = json_array()) == NULL)
		goto oom;
	(void)hy_node_members(d->node, member_item, &c);
	if (c.failed || (counts = member_counts(&c)) == NULL)
		goto oom;
	hyd_reply_json(req, 200,
	    json_pack("{s:o, s:o, s:I}", "members", c.list, "counts", counts,
	        "health", (json_int_t)hy_node_health(d->node)));
	return;
oom:
	json_decref(c.list);
	hyd_reply_error(req, 500, "internal", "out of memory");
}

/* Names that describe a current size rather than a running total. */
static int
is_gauge(const char *name)
{
	static const char *const gauges[] = { "store.keys", "store.values",
		"store.bytes", "store.peers", "rpc.inflight",
		"transport.dtls_sessions", NULL };

	if (strncmp(name, "rtable.", 7) == 0)
		return 1;
	for (int i = 0; gauges[i] != NULL; i++)
		if (strcmp(name, gauges[i]) == 0)
			return 1;
	return 0;
}

static int
metric_item(const char *name, uint64_t value, void *arg)
{
	struct evbuffer *buf = arg;
	char m[128];
	size_t i;

	/* a Prometheus name: [a-zA-Z_:][a-zA-Z0-9_:]* */
	for (i = 0; name[i] != '\0' && i < sizeof(m) - 1; i++) {
		char ch = name[i];

		m[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9')
		    ? ch
		    : '_';
	}
	m[i] = '\0';
	return evbuffer_add_printf(buf, "# TYPE hypha_%s %s\nhypha_%s %llu\n",
	           m, is_gauge(name) ? "gauge" : "counter", m,
	           (unsigned long long)value) < 0;
}

/* The liveness gauges: members per state and the health multiplier. */
static int
metric_members(struct hyd *d, struct evbuffer *buf)
{
	struct members_ctx c = { NULL, -1, { 0 }, 0 };

	(void)hy_node_members(d->node, member_item, &c);
	if (evbuffer_add_printf(buf, "# TYPE hypha_members gauge\n") < 0)
		return -1;
	for (int i = 0; i < HYD_N_MSTATES; i++)
		if (evbuffer_add_printf(buf,
		        "hypha_members{state=\"%s\"} %llu\n",
		        hy_member_state_str(mstates[i]),
		        (unsigned long long)c.counts[i]) < 0)
			return -1;
	if (evbuffer_add_printf(buf,
	        "# TYPE hypha_health gauge\n"
	        "hypha_health %u\n",
	        hy_node_health(d->node)) < 0)
		return -1;
	return 0;
}

void
hyd_metrics(struct hyd *d, struct evhttp_request *req)
{
	struct evbuffer *buf = evbuffer_new();
	enum hy_node_status st = hy_node_status(d->node);

	if (buf == NULL || hy_node_stats(d->node, metric_item, buf) != 0 ||
	    metric_members(d, buf) != 0 ||
	    evbuffer_add_printf(buf,
	        "# TYPE hypha_uptime_seconds gauge\n"
	        "hypha_uptime_seconds %llu\n"
	        "# TYPE hypha_joined gauge\nhypha_joined %d\n"
	        "# TYPE hypha_api_pending_requests gauge\n"
	        "hypha_api_pending_requests %u\n"
	        "# TYPE hypha_api_event_clients gauge\n"
	        "hypha_api_event_clients %u\n",
	        (unsigned long long)((hyd_now_ms() - d->started_ms) / 1000),
	        st == HY_NODE_JOINED, d->pending, d->n_sse) < 0) {
		if (buf != NULL)
			evbuffer_free(buf);
		hyd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}
