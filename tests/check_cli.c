/*
 * check_cli.c: tests for the hypha command-line tool.
 *
 * Pure parts: URL encoding, the HTTP response parser (Content-Length,
 * chunked, read-to-EOF, and malformed input), address splitting, base64,
 * argument parsing and exit codes. End to end: cli_run against a canned
 * HTTP server forked on 127.0.0.1, checking the request it received and
 * the exit status for 200, 404, 500, a refused connection and a server
 * that never answers.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hypha/cli.h"
#include "hypha/http.h"

/* --- URL encoding --- */

START_TEST(test_cli_url_encode)
{
	struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "abcXYZ019-._~", "abcXYZ019-._~" },
		{ "a b/c?%&=#+", "a%20b%2Fc%3F%25%26%3D%23%2B" },
		{ "\xc3\xa9\x7f\x01", "%C3%A9%7F%01" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = cli_url_encode(v[i].in);

		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(e, v[i].out);
		free(e);
	}
}
END_TEST

/* --- HTTP response parsing --- */

static int
parse(const char *s, bool eof, struct cli_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	return cli_http_parse(s, strlen(s), eof, r);
}

START_TEST(test_cli_http_content_length)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	                "Content-Type: application/json\r\n\r\nhelloEXTRA";
	struct cli_http_resp r;

	ck_assert_int_eq(parse(s, false, &r), CLI_HTTP_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 5);
	ck_assert_str_eq(r.body, "hello");
	free(r.body);
	/* Every proper prefix needs more bytes, and is malformed at EOF. */
	for (size_t n = 0; n < strlen(s) - 5; n++) {
		ck_assert_int_eq(cli_http_parse(s, n, false, &r),
		    CLI_HTTP_AGAIN);
		ck_assert_int_eq(cli_http_parse(s, n, true, &r),
		    CLI_HTTP_EMALFORMED);
	}
}
END_TEST

START_TEST(test_cli_http_chunked)
{
	const char *s = "HTTP/1.1 404 Not Found\r\n"
	                "transfer-encoding: Chunked\r\n\r\n"
	                "5;ext=1\r\nhello\r\n"
	                "A\r\n, world!!!\r\n"
	                "0\r\nX-Trailer: 1\r\n\r\n";
	struct cli_http_resp r;

	ck_assert_int_eq(parse(s, false, &r), CLI_HTTP_OK);
	ck_assert_int_eq(r.status, 404);
	ck_assert_uint_eq(r.body_len, 15);
	ck_assert_str_eq(r.body, "hello, world!!!");
	free(r.body);
	for (size_t n = 0; n < strlen(s); n++) {
		ck_assert_int_eq(cli_http_parse(s, n, false, &r),
		    CLI_HTTP_AGAIN);
		ck_assert_int_eq(cli_http_parse(s, n, true, &r),
		    CLI_HTTP_EMALFORMED);
	}
}
END_TEST

START_TEST(test_cli_http_eof_body_and_interim)
{
	struct cli_http_resp r;
	const char *s = "HTTP/1.1 100 Continue\r\n\r\n"
	                "HTTP/1.0 200 OK\nServer: x\n\n{\"a\":1}";

	ck_assert_int_eq(parse(s, false, &r), CLI_HTTP_AGAIN);
	ck_assert_int_eq(parse(s, true, &r), CLI_HTTP_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"a\":1}");
	free(r.body);
	ck_assert_int_eq(parse("HTTP/1.1 204 No Content\r\n\r\n", false, &r),
	    CLI_HTTP_OK);
	ck_assert_uint_eq(r.body_len, 0);
	free(r.body);
}
END_TEST

START_TEST(test_cli_http_malformed)
{
	static const char *bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		"Content-Length: 2\r\n\r\nxx",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"zz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"2\r\nabX\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"-1\r\n",
	};
	struct cli_http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], false, &r) == CLI_HTTP_EMALFORMED,
		    "accepted case %zu", i);
}
END_TEST

START_TEST(test_cli_http_caps)
{
	struct cli_http_resp r;
	size_t big = CLI_HTTP_MAX_HEAD + 100;
	char *s = malloc(big + 1);

	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 8388609"
	                       "\r\n\r\n",
	                     false, &r),
	    CLI_HTTP_ETOOBIG);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: "
	                       "99999999999999999999\r\n\r\n",
	                     false, &r),
	    CLI_HTTP_ETOOBIG);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	                       "chunked\r\n\r\n1000000000\r\n",
	                     false, &r),
	    CLI_HTTP_ETOOBIG);
	/* A head that never ends. */
	memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(s + 20, 'a', big - 20);
	s[big] = '\0';
	ck_assert_int_eq(parse(s, false, &r), CLI_HTTP_ETOOBIG);
	free(s);
}
END_TEST

/* Every single-byte mutation of a valid response parses or is rejected
 * cleanly (run under valgrind/ASan to catch overreads). */
START_TEST(test_cli_http_mutations)
{
	const char *base = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	                   "Content-Type: a\r\n\r\n4;x\r\nabcd\r\n"
	                   "2\r\nef\r\n0\r\nT: 1\r\n\r\n";
	static const char subst[] = { '\0', '\r', '\n', ' ', ':', '0', 'f', '9',
		';', 'z', '\xff' };
	size_t n = strlen(base);
	char *buf = malloc(n);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizeof(subst); j++) {
			struct cli_http_resp r;
			int rc;

			memcpy(buf, base, n);
			buf[i] = subst[j];
			for (int eof = 0; eof < 2; eof++) {
				rc = cli_http_parse(buf, n, eof, &r);
				ck_assert(rc == CLI_HTTP_OK ||
				    rc == CLI_HTTP_AGAIN ||
				    rc == CLI_HTTP_EMALFORMED ||
				    rc == CLI_HTTP_ETOOBIG);
				if (rc == CLI_HTTP_OK) {
					ck_assert_uint_le(r.body_len, n);
					free(r.body);
				}
			}
		}
	}
	free(buf);
}
END_TEST

START_TEST(test_cli_split_addr)
{
	char h[64], p[8], err[128];

	ck_assert_int_eq(cli_http_split_addr("127.0.0.1:4280", "1", h,
	                     sizeof(h), p, sizeof(p), err, sizeof(err)),
	    0);
	ck_assert_str_eq(h, "127.0.0.1");
	ck_assert_str_eq(p, "4280");
	ck_assert_int_eq(cli_http_split_addr("[::1]:99", "1", h, sizeof(h), p,
	                     sizeof(p), err, sizeof(err)),
	    0);
	ck_assert_str_eq(h, "::1");
	ck_assert_str_eq(p, "99");
	ck_assert_int_eq(cli_http_split_addr("localhost", "4280", h, sizeof(h),
	                     p, sizeof(p), err, sizeof(err)),
	    0);
	ck_assert_str_eq(p, "4280");
	ck_assert_int_eq(cli_http_split_addr("::1:80", "1", h, sizeof(h), p,
	                     sizeof(p), err, sizeof(err)),
	    -1);
	ck_assert_int_eq(cli_http_split_addr("h:0", "1", h, sizeof(h), p,
	                     sizeof(p), err, sizeof(err)),
	    -1);
	ck_assert_int_eq(cli_http_split_addr("h:65536", "1", h, sizeof(h), p,
	                     sizeof(p), err, sizeof(err)),
	    -1);
	ck_assert_int_eq(cli_http_split_addr(":80", "1", h, sizeof(h), p,
	                     sizeof(p), err, sizeof(err)),
	    -1);
}
END_TEST

START_TEST(test_cli_b64)
{
	unsigned char *out;
	size_t n;

	ck_assert_int_eq(cli_b64_decode("aGVsbG8=", &out, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(memcmp(out, "hello", 5), 0);
	free(out);
	ck_assert_int_eq(cli_b64_decode("AP8=", &out, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(out[0], 0);
	ck_assert_int_eq(out[1], 255);
	free(out);
	ck_assert_int_eq(cli_b64_decode("", &out, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(out);
	ck_assert_int_eq(cli_b64_decode("abc", &out, &n), -1);
	ck_assert_int_eq(cli_b64_decode("a=bc", &out, &n), -1);
	ck_assert_int_eq(cli_b64_decode("ab=c", &out, &n), -1);
	ck_assert_int_eq(cli_b64_decode("ab*=", &out, &n), -1);
}
END_TEST

/* --- arguments --- */

#define ARGV(...) ((const char *[]){ "hypha", __VA_ARGS__, NULL })

static int
count(const char **argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

static int
pa(int argc, const char **argv, struct cli_args *a)
{
	char err[256];

	(void)argc;
	return cli_parse_args(count(argv), argv, NULL, a, err, sizeof(err));
}

START_TEST(test_cli_args_ok)
{
	struct cli_args a;
	char err[256];
	const char **v;

	v = ARGV("--api", "10.0.0.1:1", "put", "k", "v", "--ttl=60",
	    "--permanent", "--json");
	ck_assert_int_eq(pa(8, v, &a), CLI_EXIT_OK);
	ck_assert_int_eq(a.cmd, CLI_CMD_PUT);
	ck_assert_str_eq(a.api, "10.0.0.1:1");
	ck_assert_str_eq(a.pos[0], "k");
	ck_assert_str_eq(a.pos[1], "v");
	ck_assert_uint_eq(a.ttl_s, 60);
	ck_assert(a.permanent && a.json && !a.compact);

	v = ARGV("get", "--", "-weird");
	ck_assert_int_eq(pa(3, v, &a), CLI_EXIT_OK);
	ck_assert_str_eq(a.pos[0], "-weird");
	ck_assert_str_eq(a.api, CLI_DEFAULT_API);

	v = ARGV("put", "k", "-");
	ck_assert_int_eq(pa(3, v, &a), CLI_EXIT_OK);
	ck_assert_str_eq(a.pos[1], "-");

	v = ARGV("announce", "k", "8080", "--compact");
	ck_assert_int_eq(pa(4, v, &a), CLI_EXIT_OK);
	ck_assert_uint_eq(a.port, 8080);
	ck_assert(a.json && a.compact);

	v = ARGV("id");
	ck_assert_int_eq(cli_parse_args(1 + 1, v, "[::1]:5", &a, err,
	                     sizeof(err)),
	    CLI_EXIT_OK);
	ck_assert_str_eq(a.api, "[::1]:5");
	ck_assert_uint_eq(a.npos, 0);

	v = ARGV("status", "--help", "bogus");
	ck_assert_int_eq(pa(3, v, &a), CLI_EXIT_OK);
	ck_assert_int_eq(a.cmd, CLI_CMD_HELP);
	v = ARGV("--version");
	ck_assert_int_eq(pa(1, v, &a), CLI_EXIT_OK);
	ck_assert_int_eq(a.cmd, CLI_CMD_VERSION);
}
END_TEST

START_TEST(test_cli_args_usage)
{
	struct {
		int argc;
		const char **argv;
	} bad[] = {
		{ 0, (const char *[]){ "hypha", NULL } },
		{ 1, ARGV("frobnicate") },
		{ 1, ARGV("--bogus") },
		{ 2, ARGV("put", "k") },
		{ 4, ARGV("put", "k", "v", "w") },
		{ 1, ARGV("get") },
		{ 2, ARGV("get", "") },
		{ 3, ARGV("get", "k", "--ttl=5") },
		{ 4, ARGV("put", "k", "v", "--ttl=0") },
		{ 4, ARGV("put", "k", "v", "--ttl=1x") },
		{ 3, ARGV("put", "k", "v", "--ttl") },
		{ 3, ARGV("announce", "k", "0") },
		{ 3, ARGV("announce", "k", "65536") },
		{ 3, ARGV("announce", "k", "http") },
		{ 2, ARGV("status", "x") },
		{ 2, ARGV("--api", "status") },
		{ 3, ARGV("--timeout", "0", "status") },
		{ 3, ARGV("id", "a", "b") },
		{ 1, ARGV("keygen") },
		{ 2, ARGV("--api=::1:80", "status") },
		{ 2, ARGV("--api=h:0", "status") },
	};
	struct cli_args a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pa(bad[i].argc, bad[i].argv, &a) ==
		        CLI_EXIT_USAGE,
		    "accepted case %zu", i);
}
END_TEST

START_TEST(test_cli_exit_for_status)
{
	ck_assert_int_eq(cli_exit_for_status(200), CLI_EXIT_OK);
	ck_assert_int_eq(cli_exit_for_status(204), CLI_EXIT_OK);
	ck_assert_int_eq(cli_exit_for_status(404), CLI_EXIT_NOTFOUND);
	ck_assert_int_eq(cli_exit_for_status(400), CLI_EXIT_FAIL);
	ck_assert_int_eq(cli_exit_for_status(500), CLI_EXIT_FAIL);
	ck_assert_int_eq(cli_exit_for_status(503), CLI_EXIT_FAIL);
}
END_TEST

/* --- end to end, against a canned server --- */

struct server {
	pid_t pid;
	int port;
	int req_fd; /* read end: the request the server received */
};

/* Listen on 127.0.0.1:0 and return the socket and its port. */
static int
listen_any(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(s, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(s, 4), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return s;
}

/* Fork a server that reads one request and answers with resp. */
static void
serve_once(struct server *sv, const char *resp)
{
	int s = listen_any(&sv->port), pfd[2];

	ck_assert_int_eq(pipe(pfd), 0);
	sv->pid = fork();
	ck_assert_int_ge(sv->pid, 0);
	if (sv->pid == 0) {
		char buf[8192];
		size_t n = 0;
		int c = accept(s, NULL, NULL);
		ssize_t got;
		char *eoh = NULL, *cl;

		close(pfd[0]);
		while (c >= 0 && n < sizeof(buf) - 1 &&
		    (got = read(c, buf + n, sizeof(buf) - 1 - n)) > 0) {
			n += (size_t)got;
			buf[n] = '\0';
			if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")))
				eoh += 4;
			if (eoh != NULL) {
				long want = (cl = strstr(buf,
				                 "Content-Length: ")) != NULL
				    ? atol(cl + 16)
				    : 0;
				if ((long)(n - (size_t)(eoh - buf)) >= want)
					break;
			}
		}
		if (write(pfd[1], buf, n) < 0 ||
		    write(c, resp, strlen(resp)) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	close(pfd[1]);
	close(s);
	sv->req_fd = pfd[0];
}

/* Run the CLI; return its exit status, its stdout in out, the request. */
static int
run(struct server *sv, int argc, const char **argv, char *out, size_t outlen,
    char *req, size_t reqlen)
{
	FILE *o = tmpfile(), *e = tmpfile();
	size_t n;
	int rc, st;

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(e);
	(void)argc;
	rc = cli_run(count(argv), argv, o, e);
	rewind(o);
	n = fread(out, 1, outlen - 1, o);
	out[n] = '\0';
	fclose(o);
	fclose(e);
	if (sv != NULL) {
		ssize_t got = read(sv->req_fd, req, reqlen - 1);

		req[got > 0 ? got : 0] = '\0';
		close(sv->req_fd);
		kill(sv->pid, SIGKILL);
		waitpid(sv->pid, &st, 0);
	}
	return rc;
}

static char api[64];

static char *
api_for(int port)
{
	snprintf(api, sizeof(api), "--api=127.0.0.1:%d", port);
	return api;
}

START_TEST(test_cli_e2e_get_200)
{
	struct server sv;
	char out[1024], req[8192];
	const char *resp =
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "F\r\n{\"key\":\"ab\",\"va\r\n"
	    "6B\r\nlues\":[{\"id\":\"1\",\"ttl\":5,\"size\":2,\"data_b64\":"
	    "\"aGk=\",\"data\":\"hi\"},{\"id\":\"2\",\"data_b64\":\"AP8=\","
	    "\"data\":null}]}\r\n0\r\n\r\n";

	serve_once(&sv, resp);
	ck_assert_int_eq(run(&sv, 3, ARGV(api_for(sv.port), "get", "a b/c"),
	                     out, sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_int_eq(memcmp(out, "hi\n\x00\xff", 5), 0);
	ck_assert_msg(strncmp(req, "GET /v1/values/a%20b%2Fc HTTP/1.1\r\n",
	                  35) == 0,
	    "request: %s", req);
}
END_TEST

/* A 200 response with body and its Content-Length. */
static const char *
ok_json(const char *body)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
	    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
	    body);
	return buf;
}

START_TEST(test_cli_e2e_get_text_with_nul)
{
	struct server sv;
	char out[1024], req[8192];

	serve_once(&sv,
	    ok_json("{\"key\":\"ab\",\"values\":[{\"id\":\"3\","
	            "\"data_b64\":\"YQBi\",\"data\":\"a\\u0000b\"}]}"));
	ck_assert_int_eq(run(&sv, 3, ARGV(api_for(sv.port), "get", "k"), out,
	                     sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_int_eq(memcmp(out, "a\0b\n", 4), 0);
}
END_TEST

START_TEST(test_cli_e2e_peers_and_routes)
{
	struct server sv;
	char out[2048], req[8192];

	serve_once(&sv,
	    ok_json("{\"key\":\"ab\",\"peers\":[\"1.2.3.4:80\","
	            "\"[::1]:9\"]}"));
	ck_assert_int_eq(run(&sv, 3, ARGV(api_for(sv.port), "peers", "k"), out,
	                     sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_str_eq(out, "1.2.3.4:80\n[::1]:9\n");
	ck_assert(strncmp(req, "GET /v1/peers/k ", 16) == 0);

	serve_once(&sv,
	    ok_json("{\"contacts\":[{\"id\":\"ab\",\"addr\":"
	            "\"1.2.3.4:5\",\"status\":\"good\",\"last_seen_ms_ago\":"
	            "65000,\"bucket\":3}]}"));
	ck_assert_int_eq(run(&sv, 2, ARGV(api_for(sv.port), "routes"), out,
	                     sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_str_eq(out,
	    "ID  ADDR       STATUS          SEEN  BUCKET\n"
	    "ab  1.2.3.4:5  good       1m05s ago  3\n");
}
END_TEST

START_TEST(test_cli_e2e_announce)
{
	struct server sv;
	char out[1024], req[8192];

	serve_once(&sv, ok_json("{\"stored_on\":1}"));
	ck_assert_int_eq(run(&sv, 4,
	                     ARGV(api_for(sv.port), "announce", "k/1", "8080"),
	                     out, sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_str_eq(out, "announced on 1 node\n");
	ck_assert(strncmp(req, "POST /v1/peers/k%2F1 ", 21) == 0);
	ck_assert_ptr_nonnull(strstr(req, "\r\n\r\n{\"port\":8080}"));
}
END_TEST

START_TEST(test_cli_e2e_put_json)
{
	struct server sv;
	char out[1024], req[8192];

	serve_once(&sv,
	    "HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n"
	    "{\"key\":\"ab\", \"stored_on\": 3}");
	ck_assert_int_eq(run(&sv, 7,
	                     ARGV(api_for(sv.port), "--compact", "put", "k",
	                         "value!", "--ttl", "60", "--permanent"),
	                     out, sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_str_eq(out, "{\"key\":\"ab\",\"stored_on\":3}\n");
	ck_assert_msg(strstr(req, "PUT /v1/values/k?ttl=60&permanent=1 ") ==
	        req,
	    "request: %s", req);
	ck_assert_ptr_nonnull(strstr(req, "Content-Length: 6\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "\r\n\r\nvalue!"));
}
END_TEST

START_TEST(test_cli_e2e_status_human)
{
	struct server sv;
	char out[2048], req[8192];

	serve_once(&sv,
	    "HTTP/1.1 200 OK\r\nContent-Length: 80\r\n\r\n"
	    "{\"id\":\"abcd\",\"uptime_s\":3723,\"routing\":{\"contacts\":7},"
	    "\"addresses\":[\"1.2.3.4:1\"]}");
	ck_assert_int_eq(run(&sv, 2, ARGV(api_for(sv.port), "status"), out,
	                     sizeof(out), req, sizeof(req)),
	    CLI_EXIT_OK);
	ck_assert_str_eq(out,
	    "id                abcd\n"
	    "uptime            1h02m03s\n"
	    "routing.contacts  7\n"
	    "addresses         1.2.3.4:1\n");
}
END_TEST

START_TEST(test_cli_e2e_404)
{
	struct server sv;
	char out[1024], req[8192];

	serve_once(&sv,
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 41\r\n\r\n"
	    "{\"error\":\"not found\",\"code\":\"not_found\"}\n");
	ck_assert_int_eq(run(&sv, 3, ARGV(api_for(sv.port), "get", "nokey"),
	                     out, sizeof(out), req, sizeof(req)),
	    CLI_EXIT_NOTFOUND);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_cli_e2e_500)
{
	struct server sv;
	char out[1024], req[8192];

	serve_once(&sv,
	    "HTTP/1.1 500 Internal Server Error\r\n"
	    "Connection: close\r\n\r\noops");
	ck_assert_int_eq(run(&sv, 2, ARGV(api_for(sv.port), "routes"), out,
	                     sizeof(out), req, sizeof(req)),
	    CLI_EXIT_FAIL);
}
END_TEST

START_TEST(test_cli_e2e_garbage)
{
	struct server sv;
	char out[1024], req[8192];

	serve_once(&sv, "SSH-2.0-OpenSSH\r\n");
	ck_assert_int_eq(run(&sv, 2, ARGV(api_for(sv.port), "id"), out,
	                     sizeof(out), req, sizeof(req)),
	    CLI_EXIT_FAIL);
}
END_TEST

START_TEST(test_cli_e2e_refused)
{
	char out[256];
	int port, s = listen_any(&port);

	close(s); /* nothing listens there now */
	ck_assert_int_eq(run(NULL, 2, ARGV(api_for(port), "status"), out,
	                     sizeof(out), NULL, 0),
	    CLI_EXIT_UNREACH);
}
END_TEST

START_TEST(test_cli_e2e_no_answer)
{
	char out[256];
	int port, s = listen_any(&port);

	/* The kernel completes the handshake; nobody ever answers. */
	ck_assert_int_eq(run(NULL, 4,
	                     ARGV(api_for(port), "--timeout", "1", "status"),
	                     out, sizeof(out), NULL, 0),
	    CLI_EXIT_UNREACH);
	close(s);
}
END_TEST

START_TEST(test_cli_e2e_usage_exit)
{
	char out[256];

	ck_assert_int_eq(run(NULL, 1, ARGV("bogus"), out, sizeof(out), NULL, 0),
	    CLI_EXIT_USAGE);
	ck_assert_int_eq(run(NULL, 1, ARGV("--version"), out, sizeof(out), NULL,
	                     0),
	    CLI_EXIT_OK);
	ck_assert_int_eq(strncmp(out, "hypha ", 6), 0);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *t = tcase_create("pure");
	TCase *e = tcase_create("e2e");

	tcase_add_test(t, test_cli_url_encode);
	tcase_add_test(t, test_cli_http_content_length);
	tcase_add_test(t, test_cli_http_chunked);
	tcase_add_test(t, test_cli_http_eof_body_and_interim);
	tcase_add_test(t, test_cli_http_malformed);
	tcase_add_test(t, test_cli_http_caps);
	tcase_add_test(t, test_cli_http_mutations);
	tcase_add_test(t, test_cli_split_addr);
	tcase_add_test(t, test_cli_b64);
	tcase_add_test(t, test_cli_args_ok);
	tcase_add_test(t, test_cli_args_usage);
	tcase_add_test(t, test_cli_exit_for_status);
	suite_add_tcase(s, t);
	tcase_set_timeout(e, 20);
	tcase_add_test(e, test_cli_e2e_get_200);
	tcase_add_test(e, test_cli_e2e_get_text_with_nul);
	tcase_add_test(e, test_cli_e2e_peers_and_routes);
	tcase_add_test(e, test_cli_e2e_announce);
	tcase_add_test(e, test_cli_e2e_put_json);
	tcase_add_test(e, test_cli_e2e_status_human);
	tcase_add_test(e, test_cli_e2e_404);
	tcase_add_test(e, test_cli_e2e_500);
	tcase_add_test(e, test_cli_e2e_garbage);
	tcase_add_test(e, test_cli_e2e_refused);
	tcase_add_test(e, test_cli_e2e_no_answer);
	tcase_add_test(e, test_cli_e2e_usage_exit);
	suite_add_tcase(s, e);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
