/* HTTP endpoint: /metrics, /status, /healthz and the dashboard (http.h). */
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <sodium.h>

#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define HTTP_MAX_CONNS 32
#define HTTP_TIMEOUT_SECS 10
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 4096

enum handler { H_METRICS, H_STATUS, H_HEALTHZ, H_DASHBOARD, H_API, H_OTHER, H_MAX };
static const char *const handler_names[H_MAX] = { "metrics", "status", "healthz", "dashboard",
	"api", "other" };

struct http_server {
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct http_hooks hooks;
	http_api_fn *api;
	void *api_arg;
	unsigned port;
	struct evhttp_connection *conns[HTTP_MAX_CONNS];
	unsigned nconns;
	struct metrics_counter *requests[H_MAX];
};

/* Split "host:port" into host (written to host[hostlen]) and port. */
static int
parse_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = listen, *hend;
	char *end;
	unsigned long p;

	if (listen == NULL || (colon = strrchr(listen, ':')) == NULL)
		return -1;
	hend = colon;
	if (*h == '[') {
		if (hend == h || hend[-1] != ']')
			return -1;
		h++;
		hend--;
	} else if (memchr(h, ':', (size_t)(colon - h)) != NULL) {
		return -1;   /* IPv6 needs brackets */
	}
	if (hend == h || (hend - h == 1 && *h == '*')) {
		h = "0.0.0.0";
		hend = h + 7;
	}
	if ((size_t)(hend - h) >= hostlen)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_server *s = arg;
	unsigned i;

	for (i = 0; i < s->nconns; i++)
		if (s->conns[i] == evcon) {
			s->conns[i] = s->conns[--s->nconns];
			return;
		}
}

/* Track the request's connection; false if the limit is reached. */
static bool
admit(struct http_server *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	unsigned i;

	if (evcon == NULL)
		return true;
	for (i = 0; i < s->nconns; i++)
		if (s->conns[i] == evcon)
			return true;
	if (s->nconns == HTTP_MAX_CONNS)
		return false;
	s->conns[s->nconns++] = evcon;
	evhttp_connection_set_closecb(evcon, conn_closed, s);
	return true;
}

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *type,
    struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, code, reason, body);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	reply(req, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* What the HTTP Basic credentials of req allow (HTTP_ACCESS_*). */
static int
http_authorized(struct http_server *s, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	char dec[256], *colon;
	size_t len;
	int access;

	if (s->hooks.authorized == NULL)
		return HTTP_ACCESS_WRITE;
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return HTTP_ACCESS_NONE;
	h += 6;
	while (*h == ' ')
		h++;
	if (sodium_base642bin((unsigned char *)dec, sizeof dec - 1, h, strlen(h), " ", &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return HTTP_ACCESS_NONE;
	dec[len] = '\0';
	if (strlen(dec) != len || (colon = strchr(dec, ':')) == NULL)
		return HTTP_ACCESS_NONE;
	*colon = '\0';
	access = s->hooks.authorized(s->hooks.arg, dec, colon + 1);
	sodium_memzero(dec, sizeof dec);
	return access;
}

void
http_set_api(struct http_server *s, http_api_fn *api, void *arg)
{
	s->api = api;
	s->api_arg = arg;
}

/* A JSON document written by hook, as the answer. */
static void
reply_json(struct evhttp_request *req, void (*hook)(void *arg, struct evbuffer *out), void *arg)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	hook(arg, b);
	evbuffer_add(b, "\n", 1);
	reply(req, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct http_server *s = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *b;
	enum handler hd;
	int access;

	if (path == NULL || *path == '\0')
		path = "/";
	if (strcmp(path, "/metrics") == 0 && s->hooks.metrics != NULL)
		hd = H_METRICS;
	else if (strcmp(path, "/status") == 0 && s->hooks.status_json != NULL)
		hd = H_STATUS;
	else if (strcmp(path, "/healthz") == 0)
		hd = H_HEALTHZ;
	else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		hd = H_DASHBOARD;
	else if (strncmp(path, "/api/", 5) == 0)
		hd = H_API;
	else
		hd = H_OTHER;
	metrics_inc(s->requests[hd]);

	if (!admit(s, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		reply_text(req, 503, "Service Unavailable", "too many connections");
		return;
	}
	access = s->hooks.metrics_public && (hd == H_METRICS || hd == H_HEALTHZ) ? HTTP_ACCESS_READ :
	    http_authorized(s, req);
	if (access == HTTP_ACCESS_NONE) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Basic realm=\"rcfs\", charset=\"UTF-8\"");
		reply_text(req, 401, "Unauthorized", "credentials required: user = an API key's S3 access "
		    "key id, password = its secret (rcfs keygen --show --s3 FILE)");
		return;
	}
	if (hd == H_API) {
		if (strcmp(path, "/api/cluster/status") == 0 && s->hooks.status_json != NULL &&
		    cmd == EVHTTP_REQ_GET)
			reply_json(req, s->hooks.status_json, s->hooks.arg);
		else if (strcmp(path, "/api/raft/status") == 0 && s->hooks.raft_json != NULL &&
		    cmd == EVHTTP_REQ_GET)
			reply_json(req, s->hooks.raft_json, s->hooks.arg);
		else if (strcmp(path, "/api/time/sync") == 0 && s->hooks.time_json != NULL &&
		    cmd == EVHTTP_REQ_GET)
			reply_json(req, s->hooks.time_json, s->hooks.arg);
		else if (s->api != NULL)
			s->api(s->api_arg, req, access);
		else
			reply_text(req, 404, "Not Found", "not found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	switch (hd) {
	case H_METRICS:
		if ((b = evbuffer_new()) == NULL)
			break;
		metrics_render(s->hooks.metrics, b);
		reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
		evbuffer_free(b);
		return;
	case H_STATUS:
		reply_json(req, s->hooks.status_json, s->hooks.arg);
		return;
	case H_HEALTHZ:
		if (s->hooks.healthy == NULL || s->hooks.healthy(s->hooks.arg))
			reply_text(req, 200, "OK", "ok");
		else
			reply_text(req, 503, "Service Unavailable", "unhealthy");
		return;
	case H_DASHBOARD:
		if ((b = evbuffer_new()) == NULL)
			break;
		evbuffer_add_reference(b, http_dashboard_html, strlen(http_dashboard_html), NULL, NULL);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Security-Policy",
		    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
		    "connect-src 'self'; img-src data:; base-uri 'none'; frame-ancestors 'none'");
		reply(req, 200, "OK", "text/html; charset=utf-8", b);
		evbuffer_free(b);
		return;
	default:
		reply_text(req, 404, "Not Found", "not found");
		return;
	}
	evhttp_send_error(req, 500, NULL);
}

struct http_server *
http_new(struct event_base *base, const char *listen, const struct http_hooks *hooks, char *err,
    size_t errlen)
{
	struct http_server *s;
	unsigned i;

	s = xcalloc(1, sizeof *s);
	if (hooks != NULL)
		s->hooks = *hooks;
	if ((s->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		free(s);
		return NULL;
	}
	/* Accept every method so that we, not libevent (501), answer 405. */
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_TRACE);
	evhttp_set_timeout(s->http, HTTP_TIMEOUT_SECS);
	evhttp_set_max_headers_size(s->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(s->http, hooks != NULL && hooks->max_body > 0 ?
	    (ev_ssize_t)hooks->max_body : HTTP_MAX_BODY);
	evhttp_set_gencb(s->http, handle, s);
	if (http_bind(s->http, listen, &s->port, err, errlen) == NULL) {
		evhttp_free(s->http);
		free(s);
		return NULL;
	}
	if (s->hooks.metrics != NULL)
		for (i = 0; i < H_MAX; i++)
			s->requests[i] = metrics_counter(s->hooks.metrics, "rcfs_http_requests_total",
			    "HTTP requests to the node's status endpoint, by handler.",
			    "handler", handler_names[i], NULL);
	log_info("http: listening on %s (port %u)", listen, s->port);
	return s;
}

struct evhttp_bound_socket *
http_bind(struct evhttp *http, const char *listen, unsigned *port, char *err, size_t errlen)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[256];
	unsigned p;

	if (parse_listen(listen, host, sizeof host, &p) != 0) {
		snprintf(err, errlen, "bad listen address \"%s\" (want host:port)", listen ? listen : "");
		return NULL;
	}
	sock = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)p);
	if (sock == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	*port = p;
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return sock;
}

void
http_free(struct http_server *s)
{
	if (s == NULL)
		return;
	evhttp_free(s->http);   /* frees connections: conn_closed still sees s */
	free(s);
}

unsigned
http_port(const struct http_server *s)
{
	return s->port;
}
