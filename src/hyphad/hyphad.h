/*
 * hyphad.h: what the daemon's files share. The daemon is the library's
 * first real user: it includes only <hypha.h>, libevent, jansson and libc,
 * never the library's internal headers.
 *
 * One struct hyd holds every piece of mutable state; the only file-scope
 * state is the log sink's settings (log.c), which must exist before it.
 */
#ifndef HYPHAD_H
#define HYPHAD_H

#include <stddef.h>
#include <stdint.h>

#include <hypha.h>

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;
struct evconnlistener;
struct json_t;

#define HYD_NAME "hyphad"
#define HYD_DEFAULT_API "127.0.0.1:4280"
#define HYD_MAX_VALUE 65536 /* largest value a PUT may carry */
#define HYD_MAX_BODY (1024 * 1024) /* evhttp's own cap (HTML 413 above) */
#define HYD_MAX_PENDING 1024 /* async API requests in flight */
#define HYD_MAX_SSE 16 /* event-stream clients */
#define HYD_SSE_MAX_QUEUED (256 * 1024) /* unsent bytes before a drop */
#define HYD_MAX_GET_VALUES 1024 /* values one GET reply carries */

/* One option as given: on the command line or a config-file line. */
struct hyd_optval {
	char *name;
	char *value;
	int line; /* 0: command line */
	struct hyd_optval *next;
};

/* The daemon's settings: the library's config plus its own keys. */
struct hyd_conf {
	struct hy_config *cfg;
	char api[128]; /* ADDR:PORT of the HTTP API */
	int api_public; /* allow a non-loopback API address */
	int foreground; /* log to stderr rather than syslog */
	int verbose; /* -v count */
	int check_only; /* -t */
	int dump; /* -T */
	const char *config_file;
};

/* A permanent put made through the API, kept so DELETE can cancel it. */
struct hyd_perm {
	uint8_t key[HY_ID_LEN];
	uint64_t handle;
	struct hyd_perm *next;
};

struct hyd_sse;

struct hyd {
	struct hyd_conf conf;
	struct event_base *base;
	struct hy_node *node;
	struct evhttp *http;
	struct evconnlistener *lev; /* the API's, owned by http */
	struct event *relisten; /* re-enables lev after accept errors */
	struct event *sig_term, *sig_int, *sig_hup, *sse_ping;
	uint64_t started_ms; /* monotonic */
	char network[80];
	unsigned pending; /* async API requests in flight */
	struct hyd_op *ops; /* those requests */
	struct hyd_perm *perms;
	struct hyd_sse *sse;
	unsigned n_sse;
	int stopping;
};

/* conffile.c: options and the config file. */
int hyd_conf_init(struct hyd_conf *c);
void hyd_conf_free(struct hyd_conf *c);
int hyd_conf_set(struct hyd_conf *c, const char *name, const char *value,
    char *err, size_t errlen);
int hyd_conf_is_flag(const char *name);
int hyd_conf_read_file(const char *path, struct hyd_optval **out);
int hyd_conf_apply(struct hyd_conf *c, const struct hyd_optval *file,
    const struct hyd_optval *cmdline);
int hyd_conf_check_api(const struct hyd_conf *c, char *err, size_t errlen);
void hyd_conf_dump(const struct hyd_conf *c);
int hyd_optval_add(struct hyd_optval **list, const char *name,
    const char *value, int line);
void hyd_optval_free(struct hyd_optval *list);

/* log.c: the log sink shared by the daemon and the library. */
void hyd_log_init(int foreground, int verbose);
void hyd_log_lib(enum hy_log_level level, const char *msg, void *arg);
void hyd_log(enum hy_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum hy_log_level hyd_log_level(void);
uint64_t hyd_now_ms(void);

/* api.c: the HTTP server and its router. */
int hyd_api_start(struct hyd *d, char *err, size_t errlen);
void hyd_api_stop(struct hyd *d);
void hyd_reply_json(struct evhttp_request *req, int code, struct json_t *j);
void hyd_reply_error(struct evhttp_request *req, int code, const char *code_s,
    const char *msg);
int hyd_hex(const uint8_t *b, size_t n, char *out, size_t outlen);

/* api-values.c: /v1/values and /v1/peers (asynchronous). */
void hyd_values(struct hyd *d, struct evhttp_request *req, const char *key,
    size_t klen);
void hyd_peers(struct hyd *d, struct evhttp_request *req, const char *key,
    size_t klen);
void hyd_ops_free(struct hyd *d);

/* api-status.c: /v1/status, /v1/routes, /v1/members and /metrics. */
void hyd_status(struct hyd *d, struct evhttp_request *req);
void hyd_routes(struct hyd *d, struct evhttp_request *req);
void hyd_members(struct hyd *d, struct evhttp_request *req);
void hyd_metrics(struct hyd *d, struct evhttp_request *req);

/* events.c: /v1/events (server-sent events). */
int hyd_events_init(struct hyd *d);
void hyd_events(struct hyd *d, struct evhttp_request *req);
void hyd_events_stop(struct hyd *d);

/* b64.c */
char *hyd_b64(const void *data, size_t len);

#endif /* HYPHAD_H */
