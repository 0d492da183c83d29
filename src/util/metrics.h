/* A tiny in-process metrics registry rendered in the Prometheus text
 * exposition format (version 0.0.4).  Single-threaded like the node: no locks.
 *
 * Registration allocates (at start-up); the hot path never does:
 * instrumentation points keep a pointer returned at registration and call
 * metrics_inc()/metrics_add()/metrics_set()/metrics_observe().  Every hot-path
 * call accepts NULL and then does nothing, so code instrumented through a
 * zeroed struct rcfs_metrics works before (or without) registration.
 *
 * A family is one metric name (with its HELP and TYPE); a child is one label
 * set of that family.  Label values are fixed at registration and given as
 * NULL-terminated name/value pairs:
 *
 *     c = metrics_counter(reg, "rcfs_client_requests_total", "Requests.",
 *                         "op", "put", "result", "ok", NULL);
 *
 * Registering the same name and label values again returns the same child.
 * Registration returns NULL (and logs why) on a programming error: an invalid
 * metric or label name, a name already registered with another type, a label
 * name set differing from the family's, or different histogram buckets. */
#ifndef RCFS_METRICS_H
#define RCFS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct metrics;            /* the registry */
struct metrics_counter;    /* monotonically increasing uint64 */
struct metrics_gauge;      /* a double that goes up and down */
struct metrics_histogram;  /* fixed buckets; observations in base units */

/* Scrape-time reader for a callback gauge or counter.  Return false to omit
 * the sample from this scrape (e.g. per-peer lag on a non-leader). */
typedef bool (*metrics_read_fn)(void *arg, double *value);

struct metrics *metrics_new(void);
void metrics_free(struct metrics *reg);

/* ---- registration (allocates; start-up only) ---- */
struct metrics_counter *metrics_counter(struct metrics *reg, const char *name,
    const char *help, ...) __attribute__((sentinel));
struct metrics_gauge *metrics_gauge(struct metrics *reg, const char *name,
    const char *help, ...) __attribute__((sentinel));
/* Value read by fn(arg) at each scrape.  Registering the same label set
 * again replaces fn and arg. */
bool metrics_gauge_fn(struct metrics *reg, const char *name, const char *help,
    metrics_read_fn fn, void *arg, ...) __attribute__((sentinel));
bool metrics_counter_fn(struct metrics *reg, const char *name, const char *help,
    metrics_read_fn fn, void *arg, ...) __attribute__((sentinel));
/* bounds: nbounds strictly increasing finite upper bounds (the +Inf bucket is
 * implicit), copied.  Every child of a family must use the same bounds. */
struct metrics_histogram *metrics_histogram(struct metrics *reg, const char *name,
    const char *help, const double *bounds, size_t nbounds, ...) __attribute__((sentinel));

/* Bucket layouts, in seconds.  LATENCY: 100 µs .. 10 s for network and
 * Raft round trips; FAST: 10 µs .. 1 s for local work (redis, fsync). */
extern const double metrics_buckets_latency[];
extern const size_t metrics_buckets_latency_n;
extern const double metrics_buckets_fast[];
extern const size_t metrics_buckets_fast_n;

/* ---- hot path (no allocation; NULL is a no-op) ---- */
void metrics_inc(struct metrics_counter *c);
void metrics_add(struct metrics_counter *c, uint64_t n);
void metrics_set(struct metrics_gauge *g, double v);
void metrics_gauge_add(struct metrics_gauge *g, double delta);
void metrics_observe(struct metrics_histogram *h, double v);
/* Monotonic clock in seconds, for durations:
 *     double t0 = metrics_now(); ...; metrics_observe_since(h, t0); */
double metrics_now(void);
void metrics_observe_since(struct metrics_histogram *h, double start);

/* Read back (tests, /status). */
uint64_t metrics_counter_value(const struct metrics_counter *c);
double metrics_gauge_value(const struct metrics_gauge *g);
uint64_t metrics_histogram_count(const struct metrics_histogram *h);
double metrics_histogram_sum(const struct metrics_histogram *h);

/* ---- exposition ---- */
/* Append the whole registry in the text format: families in registration
 * order, each with # HELP and # TYPE, children in registration order. */
void metrics_render(const struct metrics *reg, struct evbuffer *out);

/* Escaping used by the renderer (exposed for tests): HELP text escapes
 * backslash and newline; label values also escape the double quote.
 * Appends to out. */
void metrics_escape_help(struct evbuffer *out, const char *s);
void metrics_escape_label(struct evbuffer *out, const char *s);
/* Format a sample value the way Prometheus does: shortest round-trip
 * decimal, "+Inf", "-Inf", "NaN".  buf must hold 32 bytes. */
const char *metrics_format_double(char buf[32], double v);

/* ---- rcfs's own metrics: the handles every module updates.  The catalogue
 * (names, help, labels) and the wire mappings are node/metrics.h's. ---- */
/* Client operations (one per request message type, proto/rcfs.proto) and
 * results: the label values of rcfs_client_requests_total{op,result}.
 * Results: ok; client_error (E_BAD_REQUEST, E_NOT_FOUND, E_AUTH,
 * E_TOO_LARGE, E_RATE_LIMITED); unavailable (E_UNAVAILABLE, E_NO_QUORUM,
 * E_NOT_LEADER, E_TIMEOUT, E_STORAGE_FULL); error (E_INTERNAL,
 * E_INTEGRITY, anything else). */
enum rcfs_metrics_op {
	RCFS_OP_CHUNK_PUT = 0, RCFS_OP_CHUNK_GET, RCFS_OP_COMMIT, RCFS_OP_STAT,
	RCFS_OP_LIST, RCFS_OP_REMOVE, RCFS_OP_RENAME, RCFS_OP_STATUS, RCFS_OP_OTHER, RCFS_OP_MAX
};
enum rcfs_metrics_result {
	RCFS_RESULT_OK = 0, RCFS_RESULT_CLIENT_ERROR, RCFS_RESULT_UNAVAILABLE,
	RCFS_RESULT_ERROR, RCFS_RESULT_MAX
};
struct rcfs_metrics {
	/* raft */
	struct metrics_gauge *raft_term;
	struct metrics_gauge *raft_role[4];        /* follower precandidate candidate leader */
	struct metrics_gauge *raft_leader_id;      /* 0: none known */
	struct metrics_gauge *raft_commit_index;
	struct metrics_gauge *raft_applied_index;
	struct metrics_gauge *raft_log_entries;
	struct metrics_counter *raft_elections_started;
	struct metrics_counter *raft_leader_changes;
	struct metrics_counter *raft_proposals_ok;
	struct metrics_counter *raft_proposals_rejected;  /* not leader, shutting down */
	struct metrics_counter *raft_proposals_failed;    /* lost to a new leader, error */
	struct metrics_histogram *raft_append_latency;    /* propose -> committed */
	struct metrics_histogram *raft_persist_latency;   /* log write + fsync */
	struct metrics_histogram *event_loop_lag;  /* how late a 100 ms timer runs */
	struct metrics_histogram *heartbeat_interval; /* follower: between the leader's messages */
	struct metrics_counter *raft_refused_incarnation; /* messages not counted: incarnation */
	/* clients: [op][result] */
	struct metrics_counter *client_requests[RCFS_OP_MAX][RCFS_RESULT_MAX];
	struct metrics_histogram *client_request_duration[RCFS_OP_MAX];
	struct metrics_counter *net_bytes_received;
	struct metrics_counter *net_bytes_sent;
	/* storage */
	struct metrics_gauge *chunks;
	struct metrics_gauge *redis_used_memory;   /* bytes: redis INFO used_memory */
	struct metrics_gauge *files;
	struct metrics_counter *repair_copies;
	struct metrics_counter *gc_deleted;
	struct metrics_counter *gc_deleted_bytes;
	struct metrics_gauge *gc_waiting_bytes;    /* unreferenced, kept (last census) */
	struct metrics_gauge *chunks_held;         /* chunks in this node's redis (last walk) */
	struct metrics_gauge *chunks_under_replicated; /* short of copies, last repair pass */
	struct metrics_counter *rebalance_moved;   /* chunks handed to their homes */
	struct metrics_counter *rebalance_moved_bytes;
	struct metrics_gauge *rebalance_pending;   /* chunks here that belong elsewhere */
	struct metrics_gauge *rebalance_pending_bytes;
	struct metrics_gauge *rebalance_eta;       /* s; -1: unknown */
	struct metrics_gauge *repair_rate;         /* bytes/s copied in the current repair pass */
	struct metrics_gauge *repair_eta;          /* s; -1: unknown */
	struct metrics_gauge *member_voters;       /* in the configuration followed */
	struct metrics_gauge *member_learners;
	struct metrics_gauge *member_storage;
	struct metrics_gauge *member_draining;
	struct metrics_histogram *redis_command_duration;
	struct metrics_counter *redis_errors;
	struct metrics_gauge *redis_up;
	/* clock */
	struct metrics_gauge *clock_offset;        /* seconds */
	struct metrics_gauge *clock_delay;         /* seconds */
	struct metrics_gauge *clock_synchronized;  /* 0 or 1 */
	struct metrics_gauge *cluster_clock_skew;  /* seconds */
};

/* The process's rcfs metrics: all NULL (every update a no-op) until
 * metrics_rcfs_register() (node/metrics.h) fills them.  One node per process. */
extern struct rcfs_metrics rcfs_metrics;

/* Register the process_* metrics (CPU, resident memory, open fds, start
 * time).  False on a registration clash. */
bool metrics_register_process(struct metrics *reg);

#endif
