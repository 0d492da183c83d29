/* The rcfs metric catalogue (docs/metrics.md): every family's name, help
 * and labels, and the mapping of wire values (proto/rcfs.proto) to the
 * labels of rcfs_client_requests_total.  The handles themselves are
 * util/metrics.h's struct rcfs_metrics, which every module updates. */
#ifndef RCFS_NODE_METRICS_H
#define RCFS_NODE_METRICS_H

#include <stdbool.h>

#include "util/metrics.h"

const char *rcfs_metrics_op_name(enum rcfs_metrics_op op);
const char *rcfs_metrics_result_name(enum rcfs_metrics_result r);
/* A request's MsgType (RCFS__MSG_TYPE__MSG_*) to its op; an ErrorCode
 * (RCFS__ERROR_CODE__E_*) to its result: ok; client_error (E_BAD_REQUEST,
 * E_NOT_FOUND, E_AUTH, E_TOO_LARGE, E_RATE_LIMITED); unavailable
 * (E_UNAVAILABLE, E_NO_QUORUM, E_NOT_LEADER, E_TIMEOUT, E_STORAGE_FULL);
 * error (E_INTERNAL, E_INTEGRITY, anything else). */
enum rcfs_metrics_op rcfs_metrics_op_from_msg(unsigned msg_type);
enum rcfs_metrics_result rcfs_metrics_result_from_code(unsigned error_code);

/* Register every rcfs metric in reg and fill *m (normally &rcfs_metrics).
 * node_id and version label rcfs_node_info; also registers the process_*
 * metrics.  Returns false if a registration failed (a bug: names clash). */
bool metrics_rcfs_register(struct metrics *reg, struct rcfs_metrics *m,
    const char *node_id, const char *version);
/* Set rcfs_raft_role{role=...}: 1 for role_name ("follower",
 * "precandidate", "candidate", "leader"; see raft_role_name()), 0 others. */
void metrics_rcfs_set_role(struct rcfs_metrics *m, const char *role_name);
/* Count one finished client request and its duration since start
 * (metrics_now() when the request arrived). */
void metrics_rcfs_request(struct rcfs_metrics *m, enum rcfs_metrics_op op,
    enum rcfs_metrics_result result, double start);
/* Per-peer gauges rcfs_raft_peer_match_index{peer} and
 * rcfs_raft_peer_lag_entries{peer}, read at scrape time; each reader may
 * return false (e.g. on a follower, which does not track peers). */
bool metrics_rcfs_register_peer(struct metrics *reg, const char *peer,
    metrics_read_fn match_index, metrics_read_fn lag_entries, void *arg);

#endif
