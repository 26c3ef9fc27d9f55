/*
 * events.c: GET /v1/events, the node's events as server-sent events
 * (text/event-stream): one "event: NAME\ndata: JSON\n\n" per event from
 * hy_node_set_event_cb, and a ": ping" comment every 15 s so dead clients
 * are noticed by a failed write. The data of the contact_* and member_*
 * events is {"id": hex, "addr": "ip:port"} (the library passes a contact
 * with every event but JOINED and ISOLATED); that of joined and isolated
 * is {"status": the node's join status}.
 *
 * Bounds: at most HYD_MAX_SSE clients (503 beyond), and a client whose
 * connection has more than HYD_SSE_MAX_QUEUED bytes unsent is dropped, so
 * a stalled reader costs bounded memory. A client leaves the list in the
 * connection's close callback (evhttp frees the request with the
 * connection), or when dropped or at shutdown (close callback cleared
 * first, then the connection freed).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "hyphad.h"

#define HYD_SSE_PING_S 15

struct hyd_sse {
	struct hyd *d;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct hyd_sse *next;
};

static void
sse_unlink(struct hyd_sse *c)
{
	struct hyd *d = c->d;

	for (struct hyd_sse **pp = &d->sse; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			d->n_sse--;
			break;
		}
	free(c);
}

/*
 * evhttp is closing the connection: forget the client. When the peer went
 * away (EOF, error, timeout) libevent 2.1 has already detached the
 * unfinished request from the connection and leaves it to us: ending the
 * reply on a detached request frees it. Otherwise the connection frees it.
 */
static void
sse_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hyd_sse *c = arg;

	(void)evcon;
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_send_reply_end(c->req);
	sse_unlink(c);
}

static void
sse_drop(struct hyd_sse *c)
{
	struct evhttp_connection *evcon = c->evcon;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	sse_unlink(c);
	evhttp_connection_free(evcon); /* frees the request too */
}

/* Queue text to every client, dropping the ones too far behind. */
static void
sse_broadcast(struct hyd *d, const char *text)
{
	struct hyd_sse *c, *next;

	for (c = d->sse; c != NULL; c = next) {
		struct bufferevent *bev =
		    evhttp_connection_get_bufferevent(c->evcon);
		struct evbuffer *buf;

		next = c->next;
		if (bev != NULL &&
		    evbuffer_get_length(bufferevent_get_output(bev)) >
		        HYD_SSE_MAX_QUEUED) {
			hyd_log(HY_LOG_INFO, "events: dropping a slow client");
			sse_drop(c);
			continue;
		}
		if ((buf = evbuffer_new()) == NULL ||
		    evbuffer_add(buf, text, strlen(text)) != 0) {
			if (buf != NULL)
				evbuffer_free(buf);
			sse_drop(c);
			continue;
		}
		evhttp_send_reply_chunk(c->req, buf);
		evbuffer_free(buf);
	}
}

static const char *
event_name(enum hy_node_event ev)
{
	switch (ev) {
	case HY_EVENT_JOINED:
		return "joined";
	case HY_EVENT_ISOLATED:
		return "isolated";
	case HY_EVENT_CONTACT_ADDED:
		return "contact_added";
	case HY_EVENT_CONTACT_EVICTED:
		return "contact_evicted";
	case HY_EVENT_MEMBER_UP:
		return "member_up";
	case HY_EVENT_MEMBER_SUSPECT:
		return "member_suspect";
	case HY_EVENT_MEMBER_DOWN:
		return "member_down";
	case HY_EVENT_MEMBER_UPDATED:
		return "member_updated";
	}
	return "unknown";
}

static void
on_event(void *arg, enum hy_node_event ev,
    const struct hy_event_contact *contact)
{
	struct hyd *d = arg;
	char hex[2 * HY_ID_LEN + 1], *data, *text;
	json_t *j;

	if (contact != NULL) {
		(void)hyd_hex(contact->id, sizeof(contact->id), hex,
		    sizeof(hex));
		j = json_pack("{s:s, s:s}", "id", hex, "addr", contact->addr);
	} else {
		j = json_pack("{s:s}", "status",
		    hy_node_status_str(hy_node_status(d->node)));
	}
	if (d->sse == NULL) {
		json_decref(j);
		return;
	}
	data = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (data == NULL)
		return;
	if (asprintf(&text, "event: %s\ndata: %s\n\n", event_name(ev), data) >=
	    0) {
		sse_broadcast(d, text);
		free(text);
	}
	free(data);
}

static void
on_ping(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sse_broadcast(arg, ": ping\n\n");
}

int
hyd_events_init(struct hyd *d)
{
	struct timeval tv = { HYD_SSE_PING_S, 0 };

	hy_node_set_event_cb(d->node, on_event, d);
	d->sse_ping = event_new(d->base, -1, EV_PERSIST, on_ping, d);
	if (d->sse_ping == NULL || event_add(d->sse_ping, &tv) != 0)
		return -1;
	return 0;
}

void
hyd_events(struct hyd *d, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct timeval wtv = { 60, 0 };
	struct bufferevent *bev;
	struct hyd_sse *c;
	struct evbuffer *buf;

	if (d->n_sse >= HYD_MAX_SSE) {
		hyd_reply_error(req, 503, "busy", "too many event clients");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		hyd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	c->d = d;
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_send_reply_start(req, 200, "OK");
	/* a stream is read-idle by nature: keep only a write timeout */
	if ((bev = evhttp_connection_get_bufferevent(c->evcon)) != NULL)
		bufferevent_set_timeouts(bev, NULL, &wtv);
	evhttp_connection_set_closecb(c->evcon, sse_closed, c);
	c->next = d->sse;
	d->sse = c;
	d->n_sse++;
	if ((buf = evbuffer_new()) != NULL) {
		evbuffer_add_printf(buf, ": hypha events\nretry: 5000\n\n");
		evhttp_send_reply_chunk(req, buf);
		evbuffer_free(buf);
	}
}

void
hyd_events_stop(struct hyd *d)
{
	while (d->sse != NULL)
		sse_drop(d->sse);
	if (d->sse_ping != NULL)
		event_free(d->sse_ping);
	d->sse_ping = NULL;
	if (d->node != NULL)
		hy_node_set_event_cb(d->node, NULL, NULL);
}
