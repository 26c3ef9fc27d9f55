/*
 * api.c: the local HTTP/JSON API (evhttp + jansson): the server, the
 * router and the reply helpers. Routes live under /v1/ plus /metrics:
 *
 *   /v1/values/KEY   GET PUT DELETE      api-values.c
 *   /v1/peers/KEY    GET POST            api-values.c
 *   /v1/status /v1/routes /v1/members
 *                    GET                 api-status.c
 *   /v1/events       GET (event stream)  events.c
 *   /metrics         GET (Prometheus)    api-status.c
 *
 * Every error is a 4xx/5xx with {"error": "...", "code": "..."}. The API
 * has no authentication, so it binds to loopback unless api-public is set
 * (checked in conffile.c). Bodies are capped twice: evhttp drops anything
 * over HYD_MAX_BODY itself (its own 413), the handlers answer bodies over
 * HYD_MAX_VALUE with a JSON 413.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>

#include "hyphad.h"

int
hyd_hex(const uint8_t *b, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";

	if (outlen < 2 * n + 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

/* Send j (consumed; NULL means out of memory) as the reply. */
void
hyd_reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *buf = evbuffer_new();
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	json_decref(j);
	if (s == NULL || buf == NULL || evbuffer_add(buf, s, strlen(s)) != 0 ||
	    evbuffer_add(buf, "\n", 1) != 0) {
		free(s);
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	free(s);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

void
hyd_reply_error(struct evhttp_request *req, int code, const char *code_s,
    const char *msg)
{
	hyd_reply_json(req, code,
	    json_pack("{s:s, s:s}", "error", msg, "code", code_s));
}

/* The decoded key after prefix, or NULL (400 sent). Caller frees. */
static char *
route_key(struct evhttp_request *req, const char *path, size_t plen,
    size_t *len)
{
	char *key;

	if (path[plen] == '\0') {
		hyd_reply_error(req, 400, "bad_key", "missing key");
		return NULL;
	}
	key = evhttp_uridecode(path + plen, 0, len);
	if (key == NULL) {
		hyd_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	return key;
}

static void
route(struct evhttp_request *req, void *arg)
{
	struct hyd *d = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	static const char vals[] = "/v1/values/", peers[] = "/v1/peers/";

	if (path == NULL || path[0] == '\0') {
		hyd_reply_error(req, 400, "bad_request", "bad request URI");
		return;
	}
	if (strncmp(path, vals, sizeof(vals) - 1) == 0 ||
	    strncmp(path, peers, sizeof(peers) - 1) == 0) {
		int is_vals = path[4] == 'v';
		size_t plen = is_vals ? sizeof(vals) - 1 : sizeof(peers) - 1;
		char *key;
		size_t klen;

		if (is_vals && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_PUT &&
		    cmd != EVHTTP_REQ_DELETE) {
			hyd_reply_error(req, 405, "method_not_allowed",
			    "use GET, PUT or DELETE");
			return;
		}
		if (!is_vals && cmd != EVHTTP_REQ_GET &&
		    cmd != EVHTTP_REQ_POST) {
			hyd_reply_error(req, 405, "method_not_allowed",
			    "use GET or POST");
			return;
		}
		if ((key = route_key(req, path, plen, &klen)) == NULL)
			return;
		if (is_vals)
			hyd_values(d, req, key, klen);
		else
			hyd_peers(d, req, key, klen);
		free(key);
		return;
	}
	if (strcmp(path, "/v1/status") == 0 ||
	    strcmp(path, "/v1/routes") == 0 ||
	    strcmp(path, "/v1/members") == 0 ||
	    strcmp(path, "/v1/events") == 0 || strcmp(path, "/metrics") == 0) {
		if (cmd != EVHTTP_REQ_GET) {
			hyd_reply_error(req, 405, "method_not_allowed",
			    "use GET");
			return;
		}
		if (path[1] == 'm')
			hyd_metrics(d, req);
		else if (path[4] == 's')
			hyd_status(d, req);
		else if (path[4] == 'r')
			hyd_routes(d, req);
		else if (path[4] == 'm')
			hyd_members(d, req);
		else
			hyd_events(d, req);
		return;
	}
	hyd_reply_error(req, 404, "not_found", "no such endpoint");
}

/* accept(2) failed (out of descriptors, most likely): pause the listener
 * for a second rather than spin on the connection it cannot take. */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct hyd *d = arg;
	struct timeval tv = { 1, 0 };

	hyd_log(HY_LOG_WARN, "API: accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(lev);
	if (d->relisten != NULL)
		evtimer_add(d->relisten, &tv);
}

static void
on_relisten(evutil_socket_t fd, short what, void *arg)
{
	struct hyd *d = arg;

	(void)fd;
	(void)what;
	if (d->lev != NULL)
		evconnlistener_enable(d->lev);
}

int
hyd_api_start(struct hyd *d, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	struct evconnlistener *lev;

	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(d->conf.api, (struct sockaddr *)&ss,
	        &sslen) != 0) {
		snprintf(err, errlen, "'%s' is not ADDRESS:PORT", d->conf.api);
		return -1;
	}
	if ((d->http = evhttp_new(d->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return -1;
	}
	/* Let every method through to the router, which answers 405 in
	 * JSON, rather than evhttp's HTML. */
	evhttp_set_allowed_methods(d->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	        EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(d->http, HYD_MAX_BODY);
	/* over that cap, read the rest before closing so the client sees
	 * the 413 rather than a reset */
	(void)evhttp_set_flags(d->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(d->http, 16384);
	evhttp_set_timeout(d->http, 120);
	evhttp_set_gencb(d->http, route, d);
	lev = evconnlistener_new_bind(d->base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", d->conf.api,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	if (evhttp_bind_listener(d->http, lev) == NULL) {
		evconnlistener_free(lev);
		snprintf(err, errlen, "evhttp_bind_listener failed");
		return -1;
	}
	d->lev = lev;
	d->relisten = evtimer_new(d->base, on_relisten, d);
	evconnlistener_set_error_cb(lev, on_accept_error);
	return 0;
}

void
hyd_api_stop(struct hyd *d)
{
	if (d->relisten != NULL)
		event_free(d->relisten);
	d->relisten = NULL;
	if (d->http != NULL)
		evhttp_free(d->http); /* and the listener */
	d->http = NULL;
	d->lev = NULL;
}
