/*
 * api-values.c: /v1/values/KEY and /v1/peers/KEY. The DHT key is
 * hy_key_from_string() of the decoded KEY.
 *
 * These requests are asynchronous: the handler starts a DHT operation and
 * the operation's callback sends the reply (the library never calls back
 * inside the call that started the work). Each in-flight request is a
 * struct hyd_op on d->ops; at most HYD_MAX_PENDING exist (503 beyond).
 *
 * A client that disconnects while its request waits does not free the
 * request: libevent 2.1 detaches an unanswered request from a failed
 * connection, and evhttp_send_reply() on it just frees it. So every op is
 * answered exactly once, from its final callback. On shutdown the node is
 * stopped first, which fires every pending callback with HY_ECANCELED
 * (answering 503), before the HTTP server is freed.
 *
 * Permanent puts are remembered per key (d->perms) so DELETE can cancel
 * them. A DELETE that races a permanent put still in flight marks the op;
 * its callback cancels the put once it has a result.
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

enum op_kind { OP_PUT, OP_GET, OP_ANNOUNCE, OP_PEERS };

struct hyd_op {
	struct hyd *d;
	struct evhttp_request *req;
	enum op_kind kind;
	uint8_t key[HY_ID_LEN];
	uint64_t handle;
	int permanent, cancelled;
	json_t *list; /* values or peers found so far */
	struct hyd_op *next, *prev;
};

static struct hyd_op *
op_new(struct hyd *d, struct evhttp_request *req, enum op_kind kind,
    const uint8_t key[HY_ID_LEN])
{
	struct hyd_op *op;

	if (d->pending >= HYD_MAX_PENDING) {
		hyd_reply_error(req, 503, "busy",
		    "too many requests in progress");
		return NULL;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    ((kind == OP_GET || kind == OP_PEERS) &&
	        (op->list = json_array()) == NULL)) {
		free(op);
		hyd_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	op->d = d;
	op->req = req;
	op->kind = kind;
	memcpy(op->key, key, HY_ID_LEN);
	return op;
}

static void
op_link(struct hyd_op *op)
{
	struct hyd *d = op->d;

	op->next = d->ops;
	if (d->ops != NULL)
		d->ops->prev = op;
	d->ops = op;
	d->pending++;
}

static void
op_free(struct hyd_op *op)
{
	struct hyd *d = op->d;

	if (op->prev != NULL)
		op->prev->next = op->next;
	else if (d->ops == op)
		d->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	if (d->pending > 0)
		d->pending--;
	json_decref(op->list);
	free(op);
}

/* Ops left after the node stopped (should be none): answer and free. */
void
hyd_ops_free(struct hyd *d)
{
	struct hyd_perm *p;

	while (d->ops != NULL) {
		if (d->ops->req != NULL)
			hyd_reply_error(d->ops->req, 503, "stopping",
			    "the daemon is stopping");
		op_free(d->ops);
	}
	while ((p = d->perms) != NULL) {
		d->perms = p->next;
		free(p);
	}
}

/* Answer an error from the library: status code and JSON code. */
static void
reply_hy_error(struct evhttp_request *req, int err)
{
	int code;
	const char *c;

	switch (err) {
	case HY_ENOENT:
		code = 404, c = "not_found";
		break;
	case HY_EUNREACHABLE:
		code = 503, c = "unreachable";
		break;
	case HY_ETIMEDOUT:
		code = 504, c = "timeout";
		break;
	case HY_ECANCELED:
		code = 503, c = "cancelled";
		break;
	case HY_ESTATE:
		code = 503, c = "not_running";
		break;
	case HY_EFULL:
	case HY_ERATELIMIT:
		code = 503, c = "busy";
		break;
	case HY_ETOOBIG:
		code = 413, c = "too_large";
		break;
	case HY_EINVAL:
	case HY_ERANGE:
	case HY_EMALFORMED:
		code = 400, c = "bad_request";
		break;
	case HY_EEXIST:
		code = 409, c = "conflict";
		break;
	default:
		code = 500, c = "internal";
		break;
	}
	hyd_reply_error(req, code, c,
	    err == HY_ENOENT ? "not found" : hy_strerror(err));
}

static json_t *
key_json(const uint8_t key[HY_ID_LEN])
{
	char hex[2 * HY_ID_LEN + 1];

	(void)hyd_hex(key, HY_ID_LEN, hex, sizeof(hex));
	return json_string(hex);
}

static void
remember_perm(struct hyd *d, const uint8_t key[HY_ID_LEN], uint64_t handle)
{
	struct hyd_perm *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		hyd_log(HY_LOG_WARN,
		    "out of memory: a permanent put cannot "
		    "be cancelled through the API");
		return;
	}
	memcpy(p->key, key, HY_ID_LEN);
	p->handle = handle;
	p->next = d->perms;
	d->perms = p;
}

/* put and announce are done. */
static void
put_done(void *arg, int err, unsigned stored_on)
{
	struct hyd_op *op = arg;
	json_t *j;

	/* A permanent put that failed is not left republishing behind a
	 * 503; one cancelled by the node stopping stays in its saved state. */
	if (op->permanent && err != HY_ECANCELED) {
		if (err == 0 && !op->cancelled)
			remember_perm(op->d, op->key, op->handle);
		else
			(void)hy_node_cancel(op->d->node, op->handle);
	}
	if (err != 0) {
		reply_hy_error(op->req, err);
	} else if (op->kind == OP_PUT) {
		j = json_pack("{s:o, s:I}", "key", key_json(op->key),
		    "stored_on", (json_int_t)stored_on);
		hyd_reply_json(op->req, 200, j);
	} else {
		j = json_pack("{s:I}", "stored_on", (json_int_t)stored_on);
		hyd_reply_json(op->req, 200, j);
	}
	op_free(op);
}

static json_t *
value_json(const struct hy_value_info *v)
{
	char id[24], *b64 = hyd_b64(v->data, v->len);
	json_t *j, *text;

	if (b64 == NULL)
		return NULL;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)v->id);
	/* jansson refuses invalid UTF-8: that is the text test */
	text = json_stringn(v->data, v->len);
	j = json_pack("{s:s, s:I, s:I, s:s, s:o}", "id", id, "ttl",
	    (json_int_t)v->ttl_s, "size", (json_int_t)v->len, "data_b64", b64,
	    "data", text != NULL ? text : json_null());
	free(b64);
	if (j != NULL && v->is_mutable) {
		char owner[2 * sizeof(v->owner) + 1];

		(void)hyd_hex(v->owner, sizeof(v->owner), owner, sizeof(owner));
		if (json_object_set_new(j, "seq",
		        json_integer((json_int_t)(v->seq &
		            0x7fffffffffffffffULL))) != 0 ||
		    json_object_set_new(j, "owner", json_string(owner)) != 0) {
			json_decref(j);
			j = NULL;
		}
	}
	return j;
}

static void
get_item(void *arg, int err, const struct hy_value_info *v)
{
	struct hyd_op *op = arg;

	if (v != NULL) {
		if (json_array_size(op->list) < HYD_MAX_GET_VALUES) {
			json_t *j = value_json(v);

			if (j == NULL ||
			    json_array_append_new(op->list, j) != 0)
				hyd_log(HY_LOG_WARN,
				    "GET: value dropped "
				    "(out of memory)");
		}
		return;
	}
	if (json_array_size(op->list) > 0) {
		hyd_reply_json(op->req, 200,
		    json_pack("{s:o, s:O}", "key", key_json(op->key), "values",
		        op->list));
	} else {
		reply_hy_error(op->req, err == 0 ? HY_ENOENT : err);
	}
	op_free(op);
}

static void
peers_item(void *arg, int err, const struct hy_peer_info *p, size_t n)
{
	struct hyd_op *op = arg;

	if (n > 0) {
		for (size_t i = 0; i < n; i++)
			if (json_array_size(op->list) < HYD_MAX_GET_VALUES)
				(void)json_array_append_new(op->list,
				    json_string(p[i].text));
		return;
	}
	if (json_array_size(op->list) > 0) {
		hyd_reply_json(op->req, 200,
		    json_pack("{s:o, s:O}", "key", key_json(op->key), "peers",
		        op->list));
	} else {
		reply_hy_error(op->req, err == 0 ? HY_ENOENT : err);
	}
	op_free(op);
}

/* Parse a decimal in 1..max; -1 if it is not one. */
static long long
parse_num(const char *s, long long max)
{
	long long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v >= 1 ? v : -1;
}

static int
put_query(struct evhttp_request *req, struct hy_put_opts *opts)
{
	const char *q =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *v;
	int rc = -1;

	memset(opts, 0, sizeof(*opts));
	if (q == NULL)
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) != 0) {
		hyd_reply_error(req, 400, "bad_query",
		    "malformed query string");
		return -1;
	}
	if ((v = evhttp_find_header(&params, "ttl")) != NULL) {
		long long t = parse_num(v, 7LL * 24 * 3600);

		if (t < 0) {
			hyd_reply_error(req, 400, "bad_ttl",
			    "ttl must be 1..604800 seconds");
			goto out;
		}
		opts->ttl_s = (uint32_t)t;
	}
	if ((v = evhttp_find_header(&params, "permanent")) != NULL) {
		if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
			opts->permanent = 1;
		else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
			hyd_reply_error(req, 400, "bad_permanent",
			    "permanent must be 0 or 1");
			goto out;
		}
	}
	rc = 0;
out:
	evhttp_clear_headers(&params);
	return rc;
}

static void
values_put(struct hyd *d, struct evhttp_request *req,
    const uint8_t key[HY_ID_LEN])
{
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	struct hy_put_opts opts;
	struct hyd_op *op;
	const void *data;
	int rc;

	if (len > HYD_MAX_VALUE) {
		hyd_reply_error(req, 413, "too_large",
		    "a value is at most 65536 bytes");
		return;
	}
	if (put_query(req, &opts) != 0)
		return;
	if ((op = op_new(d, req, OP_PUT, key)) == NULL)
		return;
	data = len > 0 ? (const void *)evbuffer_pullup(body, -1) : "";
	op->permanent = opts.permanent;
	rc = hy_node_put(d->node, key, data, len, &opts, put_done, op,
	    &op->handle);
	if (rc != 0) {
		reply_hy_error(req, rc);
		json_decref(op->list);
		free(op);
		return;
	}
	op_link(op);
}

static void
values_delete(struct hyd *d, struct evhttp_request *req,
    const uint8_t key[HY_ID_LEN])
{
	struct hyd_perm **pp = &d->perms, *p;
	json_int_t n;
	int rc;

	/* the node knows every permanent put, also those made before a
	 * restart; ours only remembers this run's */
	rc = hy_node_unput(d->node, key);
	n = rc > 0 ? rc : 0;
	while ((p = *pp) != NULL) {
		if (memcmp(p->key, key, HY_ID_LEN) == 0) {
			*pp = p->next;
			free(p);
		} else
			pp = &p->next;
	}
	for (struct hyd_op *op = d->ops; op != NULL; op = op->next)
		if (op->kind == OP_PUT && op->permanent && !op->cancelled &&
		    memcmp(op->key, key, HY_ID_LEN) == 0) {
			op->cancelled = 1;
			n++;
		}
	if (n == 0) {
		hyd_reply_error(req, 404, "not_found",
		    "no permanent put of this key on this node");
		return;
	}
	hyd_reply_json(req, 200, json_pack("{s:I}", "cancelled", n));
}

void
hyd_values(struct hyd *d, struct evhttp_request *req, const char *name,
    size_t nlen)
{
	uint8_t key[HY_ID_LEN];
	struct hyd_op *op;
	int rc;

	hy_key_from_string(name, nlen, key);
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_PUT:
		values_put(d, req, key);
		return;
	case EVHTTP_REQ_DELETE:
		values_delete(d, req, key);
		return;
	default:
		break;
	}
	if ((op = op_new(d, req, OP_GET, key)) == NULL)
		return;
	if ((rc = hy_node_get(d->node, key, get_item, op, &op->handle)) != 0) {
		reply_hy_error(req, rc);
		json_decref(op->list);
		free(op);
		return;
	}
	op_link(op);
}

/* {"port": N} with N in 1..65535, or -1 (400 sent). */
static int
announce_port(struct evhttp_request *req)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	json_error_t jerr;
	json_t *j, *port;
	json_int_t v;

	if (len > HYD_MAX_VALUE) {
		hyd_reply_error(req, 413, "too_large", "body too large");
		return -1;
	}
	j = json_loadb(len > 0 ? (const char *)evbuffer_pullup(body, -1) : "",
	    len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		hyd_reply_error(req, 400, "bad_json",
		    "body must be a JSON object {\"port\": N}");
		return -1;
	}
	port = json_object_get(j, "port");
	v = json_is_integer(port) ? json_integer_value(port) : -1;
	json_decref(j);
	if (v < 1 || v > 65535) {
		hyd_reply_error(req, 400, "bad_port",
		    "port must be an integer 1..65535");
		return -1;
	}
	return (int)v;
}

void
hyd_peers(struct hyd *d, struct evhttp_request *req, const char *name,
    size_t nlen)
{
	uint8_t key[HY_ID_LEN];
	struct hyd_op *op;
	int rc, port = 0;

	hy_key_from_string(name, nlen, key);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    (port = announce_port(req)) < 0)
		return;
	if ((op = op_new(d, req, port > 0 ? OP_ANNOUNCE : OP_PEERS, key)) ==
	    NULL)
		return;
	if (port > 0)
		rc = hy_node_announce(d->node, key, (uint16_t)port, put_done,
		    op, &op->handle);
	else
		rc = hy_node_get_peers(d->node, key, peers_item, op,
		    &op->handle);
	if (rc != 0) {
		reply_hy_error(req, rc);
		json_decref(op->list);
		free(op);
		return;
	}
	op_link(op);
}
