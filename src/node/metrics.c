/* The rcfs metric catalogue (docs/metrics.md lists every family). */
#include <stdio.h>
#include <string.h>

#include "node/metrics.h"
#include "proto/rcfs.pb-c.h"

static const char *const op_names[RCFS_OP_MAX] = {
	"chunk_put", "chunk_get", "commit", "stat", "list", "remove", "rename", "status", "other",
};
static const char *const result_names[RCFS_RESULT_MAX] = {
	"ok", "client_error", "unavailable", "error",
};
static const char *const role_names[4] = { "follower", "precandidate", "candidate", "leader" };

const char *
rcfs_metrics_op_name(enum rcfs_metrics_op op)
{
	return (unsigned)op < RCFS_OP_MAX ? op_names[op] : "other";
}

const char *
rcfs_metrics_result_name(enum rcfs_metrics_result r)
{
	return (unsigned)r < RCFS_RESULT_MAX ? result_names[r] : "error";
}

enum rcfs_metrics_op
rcfs_metrics_op_from_msg(unsigned msg_type)
{
	switch (msg_type) {
	case RCFS__MSG_TYPE__MSG_STATUS: return RCFS_OP_STATUS;
	case RCFS__MSG_TYPE__MSG_CHUNK_PUT: return RCFS_OP_CHUNK_PUT;
	case RCFS__MSG_TYPE__MSG_CHUNK_GET: return RCFS_OP_CHUNK_GET;
	case RCFS__MSG_TYPE__MSG_FILE_COMMIT: return RCFS_OP_COMMIT;
	case RCFS__MSG_TYPE__MSG_FILE_STAT: return RCFS_OP_STAT;
	case RCFS__MSG_TYPE__MSG_FILE_LIST: return RCFS_OP_LIST;
	case RCFS__MSG_TYPE__MSG_FILE_REMOVE: return RCFS_OP_REMOVE;
	case RCFS__MSG_TYPE__MSG_FILE_RENAME: return RCFS_OP_RENAME;
	default: return RCFS_OP_OTHER;
	}
}

enum rcfs_metrics_result
rcfs_metrics_result_from_code(unsigned error_code)
{
	switch (error_code) {
	case RCFS__ERROR_CODE__E_OK:
		return RCFS_RESULT_OK;
	case RCFS__ERROR_CODE__E_BAD_REQUEST: case RCFS__ERROR_CODE__E_NOT_FOUND:
	case RCFS__ERROR_CODE__E_AUTH: case RCFS__ERROR_CODE__E_TOO_LARGE:
	case RCFS__ERROR_CODE__E_RATE_LIMITED: case RCFS__ERROR_CODE__E_REFUSED:
	case RCFS__ERROR_CODE__E_CONFLICT:
		return RCFS_RESULT_CLIENT_ERROR;
	case RCFS__ERROR_CODE__E_UNAVAILABLE: case RCFS__ERROR_CODE__E_NO_QUORUM:
	case RCFS__ERROR_CODE__E_NOT_LEADER: case RCFS__ERROR_CODE__E_TIMEOUT:
	case RCFS__ERROR_CODE__E_STORAGE_FULL:
		return RCFS_RESULT_UNAVAILABLE;
	default:
		return RCFS_RESULT_ERROR;
	}
}

#define REQUIRE(x) do { if ((x) == NULL) ok = false; } while (0)

bool
metrics_rcfs_register(struct metrics *reg, struct rcfs_metrics *m, const char *node_id,
    const char *version)
{
	struct metrics_gauge *g;
	bool ok = true;
	unsigned i, j;

	memset(m, 0, sizeof *m);
	g = metrics_gauge(reg, "rcfs_node_info", "Constant 1, labelled with the node id and version.",
	    "node_id", node_id ? node_id : "", "version", version ? version : "", NULL);
	REQUIRE(g);
	metrics_set(g, 1);

	/* raft */
	REQUIRE(m->raft_term = metrics_gauge(reg, "rcfs_raft_term", "Current Raft term.", NULL));
	for (i = 0; i < 4; i++)
		REQUIRE(m->raft_role[i] = metrics_gauge(reg, "rcfs_raft_role",
		    "1 for this node's current Raft role, 0 for the others.", "role", role_names[i],
		    NULL));
	REQUIRE(m->raft_leader_id = metrics_gauge(reg, "rcfs_raft_leader_id",
	    "Node id of the leader this node knows of; 0 if none.", NULL));
	REQUIRE(m->raft_commit_index = metrics_gauge(reg, "rcfs_raft_commit_index",
	    "Highest log index known to be committed.", NULL));
	REQUIRE(m->raft_applied_index = metrics_gauge(reg, "rcfs_raft_applied_index",
	    "Highest log index applied to the file table.", NULL));
	REQUIRE(m->raft_log_entries = metrics_gauge(reg, "rcfs_raft_log_entries",
	    "Entries in the Raft log (after compaction).", NULL));
	REQUIRE(m->raft_elections_started = metrics_counter(reg, "rcfs_raft_elections_started_total",
	    "Elections (or pre-votes) this node started.", NULL));
	REQUIRE(m->raft_leader_changes = metrics_counter(reg, "rcfs_raft_leader_changes_total",
	    "Times the leader known to this node changed.", NULL));
	REQUIRE(m->raft_proposals_ok = metrics_counter(reg, "rcfs_raft_proposals_total",
	    "Proposals on this node by outcome: ok (committed), rejected (not leader, "
	    "shutting down), failed (lost to a new leader, error).", "result", "ok", NULL));
	REQUIRE(m->raft_proposals_rejected = metrics_counter(reg, "rcfs_raft_proposals_total", "",
	    "result", "rejected", NULL));
	REQUIRE(m->raft_proposals_failed = metrics_counter(reg, "rcfs_raft_proposals_total", "",
	    "result", "failed", NULL));
	REQUIRE(m->raft_append_latency = metrics_histogram(reg, "rcfs_raft_append_latency_seconds",
	    "Time from proposing an entry on the leader to its commit.",
	    metrics_buckets_latency, metrics_buckets_latency_n, NULL));
	REQUIRE(m->raft_persist_latency = metrics_histogram(reg, "rcfs_raft_persist_latency_seconds",
	    "Time to persist log entries or hard state durably.",
	    metrics_buckets_fast, metrics_buckets_fast_n, NULL));
	REQUIRE(m->event_loop_lag = metrics_histogram(reg, "rcfs_event_loop_lag_seconds",
	    "How late the event loop runs a timer due every 100 ms: time spent in other callbacks.",
	    metrics_buckets_fast, metrics_buckets_fast_n, NULL));
	REQUIRE(m->heartbeat_interval = metrics_histogram(reg, "rcfs_raft_heartbeat_interval_seconds",
	    "On a follower: time between consecutive messages from its leader (heartbeats or "
	    "AppendEntries), as received. Above the election timeout, a PreVote follows.",
	    metrics_buckets_fast, metrics_buckets_fast_n, NULL));
	REQUIRE(m->raft_refused_incarnation = metrics_counter(reg, "rcfs_raft_refused_total",
	    "Raft messages whose vote or acknowledgement was not counted, by reason: incarnation "
	    "(the sender's storage is not the one the configuration records).",
	    "reason", "incarnation", NULL));

	/* clients */
	for (i = 0; i < RCFS_OP_MAX; i++) {
		for (j = 0; j < RCFS_RESULT_MAX; j++)
			REQUIRE(m->client_requests[i][j] = metrics_counter(reg,
			    "rcfs_client_requests_total", "Client requests handled, by operation and result.",
			    "op", op_names[i], "result", result_names[j], NULL));
	}
	for (i = 0; i < RCFS_OP_MAX; i++)
		REQUIRE(m->client_request_duration[i] = metrics_histogram(reg,
		    "rcfs_client_request_duration_seconds",
		    "Time from receiving a client request to sending its reply.",
		    metrics_buckets_latency, metrics_buckets_latency_n, "op", op_names[i], NULL));
	REQUIRE(m->net_bytes_received = metrics_counter(reg, "rcfs_net_bytes_received_total",
	    "Bytes received on client and peer connections.", NULL));
	REQUIRE(m->net_bytes_sent = metrics_counter(reg, "rcfs_net_bytes_sent_total",
	    "Bytes sent on client and peer connections.", NULL));

	/* storage */
	REQUIRE(m->chunks = metrics_gauge(reg, "rcfs_chunks",
	    "Distinct chunks referenced by the file table.", NULL));
	REQUIRE(m->redis_used_memory = metrics_gauge(reg, "rcfs_redis_used_memory_bytes",
	    "Memory used by this node's redis (chunk data dominates).", NULL));
	REQUIRE(m->files = metrics_gauge(reg, "rcfs_files", "Files in the file table.", NULL));
	REQUIRE(m->repair_copies = metrics_counter(reg, "rcfs_repair_copies_total",
	    "Chunk copies written by repair.", NULL));
	REQUIRE(m->gc_deleted = metrics_counter(reg, "rcfs_gc_deleted_total",
	    "Unreferenced chunks deleted by garbage collection.", NULL));
	REQUIRE(m->gc_deleted_bytes = metrics_counter(reg, "rcfs_gc_deleted_bytes_total",
	    "Bytes of the chunks deleted by garbage collection.", NULL));
	REQUIRE(m->gc_waiting_bytes = metrics_gauge(reg, "rcfs_gc_waiting_bytes",
	    "Bytes of unreferenced chunks kept on this node (an upload not committed yet protects "
	    "them, or a backup hold is in force), as of the last census.", NULL));
	REQUIRE(m->chunks_under_replicated = metrics_gauge(reg, "rcfs_chunks_under_replicated",
	    "Chunks this node takes charge of that were short of copies on their homes in its last "
	    "complete repair pass (sum over the nodes for the cluster).", NULL));
	REQUIRE(m->chunks_held = metrics_gauge(reg, "rcfs_chunks_held",
	    "Chunks stored in this node's redis, as of the mover's last complete walk.", NULL));
	REQUIRE(m->rebalance_moved = metrics_counter(reg, "rcfs_rebalance_moved_chunks_total",
	    "Chunks this node handed to their homes and deleted (rebalance, drain).", NULL));
	REQUIRE(m->rebalance_moved_bytes = metrics_counter(reg, "rcfs_rebalance_moved_bytes_total",
	    "Bytes of the chunks counted by rcfs_rebalance_moved_chunks_total.", NULL));
	REQUIRE(m->rebalance_pending = metrics_gauge(reg, "rcfs_rebalance_pending_chunks",
	    "Chunks stored here whose homes are other members (mid-walk: an estimate).", NULL));
	REQUIRE(m->rebalance_pending_bytes = metrics_gauge(reg, "rcfs_rebalance_pending_bytes",
	    "Estimate: pending chunks times the mean size of the chunks moved so far.", NULL));
	REQUIRE(m->rebalance_eta = metrics_gauge(reg, "rcfs_rebalance_eta_seconds",
	    "Estimate: pending bytes over the current rate (-1: unknown yet).", NULL));
	REQUIRE(m->repair_rate = metrics_gauge(reg, "rcfs_repair_rate_bytes",
	    "Bytes per second repair copied in its current pass (this node's share).", NULL));
	REQUIRE(m->repair_eta = metrics_gauge(reg, "rcfs_repair_eta_seconds",
	    "Estimate: what the last pass found short, not yet repaired, over the current rate "
	    "(0: nothing known short; -1: unknown).", NULL));
	REQUIRE(m->member_voters = metrics_gauge(reg, "rcfs_member_voters",
	    "Voters in the configuration this node follows.", NULL));
	REQUIRE(m->member_learners = metrics_gauge(reg, "rcfs_member_learners",
	    "Learners (catching up to become voters) in the configuration.", NULL));
	REQUIRE(m->member_storage = metrics_gauge(reg, "rcfs_member_storage_nodes",
	    "Storage nodes (non-voting members that store chunks) in the configuration.", NULL));
	REQUIRE(m->member_draining = metrics_gauge(reg, "rcfs_member_draining",
	    "Members draining: their chunks move away before they are removed.", NULL));
	REQUIRE(m->redis_command_duration = metrics_histogram(reg,
	    "rcfs_redis_command_duration_seconds", "Round trip of a redis command.",
	    metrics_buckets_fast, metrics_buckets_fast_n, NULL));
	REQUIRE(m->redis_errors = metrics_counter(reg, "rcfs_redis_errors_total",
	    "Redis commands that failed (error reply or connection lost).", NULL));
	REQUIRE(m->redis_up = metrics_gauge(reg, "rcfs_redis_up",
	    "1 if the local redis is connected and loaded, else 0.", NULL));

	/* clock */
	REQUIRE(m->clock_offset = metrics_gauge(reg, "rcfs_clock_offset_seconds",
	    "Estimated offset of the local clock from the reference (positive: ahead).", NULL));
	REQUIRE(m->clock_delay = metrics_gauge(reg, "rcfs_clock_delay_seconds",
	    "Round-trip delay of the selected clock sample.", NULL));
	REQUIRE(m->clock_synchronized = metrics_gauge(reg, "rcfs_clock_synchronized",
	    "1 if the clock is synchronized within bounds, else 0.", NULL));
	REQUIRE(m->cluster_clock_skew = metrics_gauge(reg, "rcfs_cluster_clock_skew_seconds",
	    "Largest clock difference between any two nodes, as this node sees it.", NULL));

		if (!metrics_register_process(reg))
		ok = false;
	return ok;
}

void
metrics_rcfs_set_role(struct rcfs_metrics *m, const char *role_name)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		metrics_set(m->raft_role[i], role_name != NULL && strcmp(role_name, role_names[i]) == 0);
}

void
metrics_rcfs_request(struct rcfs_metrics *m, enum rcfs_metrics_op op,
    enum rcfs_metrics_result result, double start)
{
	if ((unsigned)op >= RCFS_OP_MAX)
		op = RCFS_OP_OTHER;
	if ((unsigned)result >= RCFS_RESULT_MAX)
		result = RCFS_RESULT_ERROR;
	metrics_inc(m->client_requests[op][result]);
	metrics_observe_since(m->client_request_duration[op], start);
}

bool
metrics_rcfs_register_peer(struct metrics *reg, const char *peer, metrics_read_fn match_index,
    metrics_read_fn lag_entries, void *arg)
{
	return metrics_gauge_fn(reg, "rcfs_raft_peer_match_index",
	    "Highest log index known replicated on the peer (leader only).",
	    match_index, arg, "peer", peer, NULL) &&
	    metrics_gauge_fn(reg, "rcfs_raft_peer_lag_entries",
	    "Entries the peer is behind the leader's last log index (leader only).",
	    lag_entries, arg, "peer", peer, NULL);
}
