/*
 * api-status.c: the synchronous read-only endpoints: GET /v1/status,
 * GET /v1/routes and GET /metrics (Prometheus text exposition format).
 *
 * Everything comes from the public API (hy_node_stats, hy_node_routes,
 * hy_node_status); counter names are passed through, so a counter the
 * library adds appears here without a change. In /metrics a name is a
 * gauge when it describes a current size (the "rtable." and size-like
 * "store." names, in-flight and session counts), otherwise a counter.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "hyphad.h"

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
	uint8_t id[HY_ID_LEN];
	char hex[2 * HY_ID_LEN + 1], a[80];
	json_t *addrs = json_array(), *j;

	if (c.routing == NULL || c.store == NULL || c.counters == NULL ||
	    addrs == NULL)
		goto oom;
	(void)hy_node_stats(d->node, status_stat, &c);
	if (c.failed)
		goto oom;
	hy_node_id(d->node, id);
	(void)hyd_hex(id, sizeof(id), hex, sizeof(hex));
	if (hy_node_addr(d->node, 4, a, sizeof(a)) != NULL)
		(void)json_array_append_new(addrs, json_string(a));
	if (hy_node_addr(d->node, 6, a, sizeof(a)) != NULL)
		(void)json_array_append_new(addrs, json_string(a));
	j = json_pack("{s:s, s:s, s:s, s:O, s:I, s:s, s:O, s:O, s:O}", "id",
	    hex, "version", hy_version(), "network", d->network, "addresses",
	    addrs, "uptime_s",
	    (json_int_t)((hyd_now_ms() - d->started_ms) / 1000), "status",
	    hy_node_status_str(hy_node_status(d->node)), "routing", c.routing,
	    "store", c.store, "counters", c.counters);
	hyd_reply_json(req, 200, j);
	goto out;
oom:
	hyd_reply_error(req, 500, "internal", "out of memory");
out:
	json_decref(addrs);
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

void
hyd_metrics(struct hyd *d, struct evhttp_request *req)
{
	struct evbuffer *buf = evbuffer_new();
	enum hy_node_status st = hy_node_status(d->node);

	if (buf == NULL || hy_node_stats(d->node, metric_item, buf) != 0 ||
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
