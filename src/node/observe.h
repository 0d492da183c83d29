/* What operators see of a node (docs/metrics.md): the HTTP endpoint
 * (/metrics, /status, /healthz, the dashboard at /) on the node's own
 * event_base, and the once-a-second refresh behind it:
 *
 *  - gauges that need a redis round trip or a clock read (files, chunks,
 *    redis used_memory, clock offset/delay/sync, cluster skew);
 *  - every other member's own status (a Status RPC on the peer connection),
 *    cached so that /status is answered from memory, never by waiting on the
 *    network.
 *
 * Nothing here is on the request path: it only reads the node. */
#ifndef RCFS_OBSERVE_H
#define RCFS_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "node/parts.h"

struct metrics;
struct observe;

/* Start observing the node whose parts are p (copied; borrowed parts):
 * registers the per-peer Raft gauges in reg, starts the
 * refresh timer and, if the config has http_listen, the HTTP endpoint (bound
 * now).  reg may be NULL (no /metrics, no gauges).  Returns NULL with a
 * message in err[errlen] if the HTTP address cannot be bound. */
struct observe *observe_new(const struct node_parts *p, struct metrics *reg, char *err,
    size_t errlen);
/* Stop the timer and close the HTTP endpoint (the loop can then go idle).
 * Callbacks still in flight land harmlessly until observe_free(). */
void observe_shutdown(struct observe *o);
/* Free; call after the node is freed (the pending callbacks of its peers
 * and store run then).  NULL is fine. */
void observe_free(struct observe *o);
/* The bound HTTP port, 0 if none. */
unsigned observe_http_port(const struct observe *o);
/* The HTTP endpoint (NULL without http_listen), for the JSON API's hook. */
struct http_server *observe_http(const struct observe *o);
/* Whether this node serves: its redis is up, its Raft state is loaded, and
 * it knows a leader.  On false, why[whylen] says which. */
bool observe_healthy(struct observe *o, char *why, size_t whylen);

/* Whether member id's redis rewrites its AOF: this node's from its store,
 * another's from its last status if that is fresh (an unreachable member
 * counts as not rewriting).  o may be NULL (false). */
bool observe_rewriting(const struct observe *o, uint64_t id);

#endif
