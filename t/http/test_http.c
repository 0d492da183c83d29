/* HTTP endpoint tests: a server and libevent HTTP clients on one event_base. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http/http.h"
#include "http/json.h"
#include "unit/check_main.h"
#include "util/metrics.h"

struct resp {
	int code;
	bool done;
	char *body;
	size_t len;
	char ctype[128];
	char allow[64];
	char csp[256];
	char clen[32];
};

static struct event_base *base;
static unsigned pending;
static bool node_healthy = true;

static void
copy_header(struct evhttp_request *req, const char *name, char *dst, size_t n)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);

	snprintf(dst, n, "%s", v ? v : "");
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct resp *r = arg;
	struct evbuffer *in;

	r->done = true;
	if (req != NULL) {
		r->code = evhttp_request_get_response_code(req);
		in = evhttp_request_get_input_buffer(req);
		r->len = evbuffer_get_length(in);
		r->body = malloc(r->len + 1);
		evbuffer_remove(in, r->body, r->len);
		r->body[r->len] = '\0';
		copy_header(req, "Content-Type", r->ctype, sizeof r->ctype);
		copy_header(req, "Allow", r->allow, sizeof r->allow);
		copy_header(req, "Content-Security-Policy", r->csp, sizeof r->csp);
		copy_header(req, "Content-Length", r->clen, sizeof r->clen);
	}
	if (--pending == 0)
		event_base_loopbreak(base);
}

static struct evhttp_connection *
start(unsigned port, enum evhttp_cmd_type cmd, const char *path, struct resp *r)
{
	struct evhttp_connection *c = evhttp_connection_base_new(base, NULL, "127.0.0.1",
	    (ev_uint16_t)port);
	struct evhttp_request *req = evhttp_request_new(on_response, r);

	memset(r, 0, sizeof *r);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	ck_assert_int_eq(evhttp_make_request(c, req, cmd, path), 0);
	pending++;
	return c;
}

static void
wait_all(void)
{
	struct timeval tv = { 10, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_uint_eq(pending, 0);
}

/* One request on its own connection; the connection is closed after. */
static struct resp
request(unsigned port, enum evhttp_cmd_type cmd, const char *path)
{
	struct resp r;
	struct evhttp_connection *c = start(port, cmd, path, &r);

	wait_all();
	ck_assert(r.done);
	evhttp_connection_free(c);
	return r;
}

static void
status_json(void *arg, struct evbuffer *out)
{
	struct json_writer w;

	ck_assert_ptr_eq(arg, &node_healthy);
	json_init(&w, out);
	json_object_begin(&w);
	json_kv_uint(&w, "node_id", 1);
	json_key(&w, "nodes");
	json_array_begin(&w);
	json_array_end(&w);
	json_object_end(&w);
}

static bool
healthy(void *arg)
{
	return *(bool *)arg;
}

static struct metrics *reg;
static struct http_server *srv;
static unsigned port;

static void
setup(void)
{
	struct http_hooks hooks = { 0 };
	char err[256];
	struct metrics_counter *c;

	base = event_base_new();
	reg = metrics_new();
	c = metrics_counter(reg, "rcfs_test_total", "A test counter.", NULL);
	metrics_add(c, 3);
	hooks.metrics = reg;
	hooks.status_json = status_json;
	hooks.healthy = healthy;
	hooks.arg = &node_healthy;
	srv = http_new(base, "127.0.0.1:0", &hooks, err, sizeof err);
	ck_assert_msg(srv != NULL, "http_new: %s", err);
	port = http_port(srv);
	ck_assert_uint_ne(port, 0);
}

static void
teardown(void)
{
	http_free(srv);
	metrics_free(reg);
	event_base_free(base);
}

START_TEST(get_metrics)
{
	struct resp r = request(port, EVHTTP_REQ_GET, "/metrics");

	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE rcfs_test_total counter\nrcfs_test_total 3\n"));
	free(r.body);
	/* The previous scrape is counted. */
	r = request(port, EVHTTP_REQ_GET, "/metrics?x=1");
	ck_assert_int_eq(r.code, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "rcfs_http_requests_total{handler=\"metrics\"} 2\n"));
	free(r.body);
}
END_TEST

START_TEST(head_has_no_body)
{
	struct resp r = request(port, EVHTTP_REQ_HEAD, "/metrics");

	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.len, 0);
	free(r.body);
}
END_TEST

START_TEST(get_status)
{
	struct resp r = request(port, EVHTTP_REQ_GET, "/status");

	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.ctype, "application/json");
	ck_assert_str_eq(r.body, "{\"node_id\":1,\"nodes\":[]}\n");
	free(r.body);
}
END_TEST

START_TEST(get_dashboard)
{
	struct resp r = request(port, EVHTTP_REQ_GET, "/");

	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.ctype, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "<!DOCTYPE html>"));
	ck_assert_ptr_nonnull(strstr(r.body, "<table id=\"nodes\">"));
	ck_assert_ptr_nonnull(strstr(r.body, "fetch(\"status\""));
	ck_assert_ptr_nonnull(strstr(r.body, "</html>\n"));
	ck_assert_uint_eq(r.len, strlen(http_dashboard_html));
	ck_assert_ptr_nonnull(strstr(r.csp, "connect-src 'self'"));
	/* No external assets. */
	ck_assert_ptr_null(strstr(r.body, "src=\"http"));
	ck_assert_ptr_null(strstr(r.body, "href=\"http"));
	free(r.body);
}
END_TEST

START_TEST(healthz)
{
	struct resp r = request(port, EVHTTP_REQ_GET, "/healthz");

	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n");
	free(r.body);
	node_healthy = false;
	r = request(port, EVHTTP_REQ_GET, "/healthz");
	node_healthy = true;
	ck_assert_int_eq(r.code, 503);
	free(r.body);
}
END_TEST

START_TEST(not_found_and_methods)
{
	struct resp r = request(port, EVHTTP_REQ_GET, "/nope");

	ck_assert_int_eq(r.code, 404);
	free(r.body);
	r = request(port, EVHTTP_REQ_POST, "/metrics");
	ck_assert_int_eq(r.code, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	free(r.body);
	r = request(port, EVHTTP_REQ_DELETE, "/status");
	ck_assert_int_eq(r.code, 405);
	free(r.body);
}
END_TEST

START_TEST(connection_limit)
{
	enum { N = 40 };
	struct evhttp_connection *c[N];
	struct resp r[N];
	int i, ok = 0, busy = 0;

	/* Sequential connections, each closed: the slots are given back. */
	for (i = 0; i < N; i++) {
		r[0] = request(port, EVHTTP_REQ_GET, "/healthz");
		ck_assert_int_eq(r[0].code, 200);
		free(r[0].body);
	}
	/* N connections held open at once: 32 served, the rest refused. */
	for (i = 0; i < N; i++)
		c[i] = start(port, EVHTTP_REQ_GET, "/healthz", &r[i]);
	wait_all();
	for (i = 0; i < N; i++) {
		ok += r[i].code == 200;
		busy += r[i].code == 503;
		free(r[i].body);
	}
	ck_assert_int_eq(ok, 32);
	ck_assert_int_eq(busy, N - 32);
	for (i = 0; i < N; i++)
		evhttp_connection_free(c[i]);
	/* Once they are gone (the server notices on its next loop turn), room again. */
	{
		struct timeval tv = { 0, 100000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	r[0] = request(port, EVHTTP_REQ_GET, "/healthz");
	ck_assert_int_eq(r[0].code, 200);
	free(r[0].body);
}
END_TEST

START_TEST(listen_errors)
{
	struct http_hooks hooks = { 0 };
	char err[256], addr[64];
	struct http_server *s;

	ck_assert_ptr_null(http_new(base, "nocolon", &hooks, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "bad listen address"));
	ck_assert_ptr_null(http_new(base, "127.0.0.1:70000", &hooks, err, sizeof err));
	ck_assert_ptr_null(http_new(base, "::1:80", &hooks, err, sizeof err));
	ck_assert_ptr_null(http_new(base, "127.0.0.1:", &hooks, err, sizeof err));
	snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
	ck_assert_ptr_null(http_new(base, addr, &hooks, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "cannot listen on"));
	/* No hooks: /metrics and /status are 404, the dashboard still works. */
	s = http_new(base, "[::1]:0", &hooks, err, sizeof err);   /* fails without IPv6 */
	http_free(s);
	s = http_new(base, ":0", &hooks, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	{
		struct resp r = request(http_port(s), EVHTTP_REQ_GET, "/metrics");

		ck_assert_int_eq(r.code, 404);
		free(r.body);
	}
	http_free(s);
	http_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, get_metrics);
	tcase_add_test(tc, head_has_no_body);
	tcase_add_test(tc, get_status);
	tcase_add_test(tc, get_dashboard);
	tcase_add_test(tc, healthz);
	tcase_add_test(tc, not_found_and_methods);
	tcase_add_test(tc, connection_limit);
	tcase_add_test(tc, listen_errors);
	suite_add_tcase(s, tc);
	return check_run(s);
}
