/* The node's HTTP endpoint (libevent evhttp on the node's event_base):
 *
 *   GET /metrics   the metrics registry, Prometheus text format 0.0.4
 *   GET /status    JSON written by hooks->status_json (docs/metrics.md)
 *   GET /healthz   "ok" (200), or "unhealthy" (503) if hooks->healthy says so
 *   GET /          a self-contained HTML dashboard polling /status
 *
 * GET and HEAD only (405 otherwise); unknown paths 404.  Nothing blocks:
 * replies are rendered into memory and written by the loop.  Limits: 32
 * concurrent connections with a request in progress (503 beyond), 10 s
 * read/write timeout, 8 KiB of headers, 4 KiB of body.  (A connection counts
 * from its first request until it closes; idle ones time out.) */
#ifndef RCFS_HTTP_H
#define RCFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct metrics;
struct http_server;

struct http_hooks {
	struct metrics *metrics;   /* /metrics; NULL: 404 */
	/* Append the status object to out (src/http/json.h helps); NULL: 404. */
	void (*status_json)(void *arg, struct evbuffer *out);
	/* /healthz; NULL: always healthy. */
	bool (*healthy)(void *arg);
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

/* The dashboard page served at / (NUL-terminated; generated at build time
 * from src/http/dashboard.html). */
extern const char http_dashboard_html[];

#endif
