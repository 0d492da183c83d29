/* The node's HTTP endpoint (libevent evhttp on the node's event_base):
 *
 *   GET /metrics   the metrics registry, Prometheus text format 0.0.4
 *   GET /status    JSON written by hooks->status_json (docs/metrics.md)
 *   GET /healthz   "ok" (200), or "unhealthy" (503) if hooks->healthy says so
 *   GET /          a self-contained HTML dashboard polling /status
 *   GET /api/cluster/status, /api/raft/status, /api/time/sync
 *                  JSON by hooks->status_json, raft_json, time_json
 *   /api/...       the rest of the original design's JSON API, handed to the
 *                  api hook (http_set_api; docs/s3.md "JSON API")
 *
 * GET and HEAD only outside /api/ (405 otherwise); unknown paths 404.
 * Nothing blocks: replies are rendered into memory and written by the loop.
 * Limits: 32 concurrent connections with a request in progress (503
 * beyond), 10 s read/write timeout, 8 KiB of headers, hooks->max_body bytes
 * of body (4 KiB if 0).  (A connection counts from its first request until
 * it closes; idle ones time out.) */
#ifndef RCFS_HTTP_H
#define RCFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct evhttp_request;
struct metrics;
struct http_server;

struct http_hooks {
	struct metrics *metrics;   /* /metrics; NULL: 404 */
	/* Append the status object to out (src/http/json.h helps); NULL: 404. */
	void (*status_json)(void *arg, struct evbuffer *out);
	/* /healthz; NULL: always healthy. */
	bool (*healthy)(void *arg);
	/* /api/raft/status and /api/time/sync; NULL: 404. */
	void (*raft_json)(void *arg, struct evbuffer *out);
	void (*time_json)(void *arg, struct evbuffer *out);
	/* Credentials (docs/security.md "HTTP"): what HTTP Basic (RFC 7617)
	 * user and password may do: HTTP_ACCESS_*; NULL: everything, no
	 * credentials asked.  When set, requests without good credentials get
	 * 401 with a Basic challenge, but for /metrics and /healthz if
	 * metrics_public. */
	int (*authorized)(void *arg, const char *user, const char *password);
	bool metrics_public;
	size_t max_body;           /* bytes of a request body (API uploads); 0: 4 KiB */
	void *arg;                 /* passed to the hooks */
};

/* Listen on "host:port", "[v6addr]:port", ":port" or "*:port" (all IPv4
 * addresses); port 0 picks a free one (see http_port).  A host name is
 * resolved with a blocking lookup, so give a numeric address, or call this
 * before the loop runs.  hooks is copied.  Returns NULL with a message in
 * err[errlen] on failure.  If hooks->metrics is set, http_new registers
 * rcfs_http_requests_total{handler} there. */
struct http_server *http_new(struct event_base *base, const char *listen,
    const struct http_hooks *hooks, char *err, size_t errlen);
/* Close the listener and every connection.  NULL is fine. */
void http_free(struct http_server *s);
/* The bound TCP port. */
unsigned http_port(const struct http_server *s);

/* What credentials allow (the authorized hook's answer). */
#define HTTP_ACCESS_NONE  0
#define HTTP_ACCESS_READ  1     /* GET and HEAD */
#define HTTP_ACCESS_WRITE 2     /* ... and PUT, POST, DELETE under /api/ */

/* The /api/ routes that are not the status ones: api(arg, req, access) must
 * answer req (now or later).  NULL: 404. */
typedef void http_api_fn(void *arg, struct evhttp_request *req, int access);
void http_set_api(struct http_server *s, http_api_fn *api, void *arg);

/* Bind evhttp `http` to `listen` (as http_new takes it); *port gets the
 * bound port.  Returns the socket, or NULL with one line in err[errlen]. */
struct evhttp;
struct evhttp_bound_socket *http_bind(struct evhttp *http, const char *listen, unsigned *port,
    char *err, size_t errlen);

/* The dashboard page served at / (NUL-terminated; generated at build time
 * from src/http/dashboard.html). */
extern const char http_dashboard_html[];

#endif
