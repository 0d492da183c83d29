/* rcfs status: every configured node's view of itself (role, term, indexes,
 * storage), unreachable ones included.  Exit 0 if any node answered. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "util/xmalloc.h"

static int cmd_status_exec(struct client *cl, int argc, char **argv);
static void status_print(struct client *cl, const char *addr, const Rcfs__NodeStatus *s, int first,
    int64_t lag, int64_t contact_ms);
static void status_print_unreachable(struct client *cl, const char *addr, uint64_t id, int first,
    const char *auth_err);
static void status_print_clocks(struct client *cl, Rcfs__StatusResponse **resp);

const struct client_cmd cmd_status_entry = {
	.name = "status",
	.usage = "status",
	.exec = cmd_status_exec,
};

/* The time table: NTP state, offset, delay, error bound, source, last sync,
 * and each node's view of its peers' clock offsets. */
static void
status_print_clocks(struct client *cl, Rcfs__StatusResponse **resp)
{
	printf("\n%-4s %-14s %10s %9s %10s %8s %10s %-21s %s\n", "ID", "CLOCK", "OFFSET", "DELAY",
	    "ERROR", "SYNCED", "SKEW", "SOURCE", "PEER OFFSETS");
	for (int i = 0; i < cl->nnodes; i++) {
		const Rcfs__NodeStatus *s;
		char off[24] = "-", del[24] = "-", errb[24] = "-", age[24] = "-", skew[24] = "-";
		if (resp[i] == NULL)
			continue;
		s = resp[i]->nodes[0];
		if (s->has_clock_offset_ns)
			snprintf(off, sizeof off, "%.3fms", (double)s->clock_offset_ns / 1e6);
		if (s->has_clock_delay_ns)
			snprintf(del, sizeof del, "%.3fms", (double)s->clock_delay_ns / 1e6);
		if (s->has_clock_error_ns && s->clock_error_ns < (uint64_t)INT64_MAX)
			snprintf(errb, sizeof errb, "%.3fms", (double)s->clock_error_ns / 1e6);
		if (s->has_clock_sync_age_ms && s->clock_sync_age_ms >= 0)
			snprintf(age, sizeof age, "%llds ago", (long long)s->clock_sync_age_ms / 1000);
		if (s->has_cluster_skew_ns)
			snprintf(skew, sizeof skew, "%.3fms", (double)s->cluster_skew_ns / 1e6);
		printf("%-4llu %-14s %10s %9s %10s %8s %10s %-21s", (unsigned long long)s->id,
		    s->clock_state ? s->clock_state : "off", off, del, errb, age, skew,
		    s->clock_source ? s->clock_source : "-");
		for (size_t j = 1; j < resp[i]->n_nodes; j++)
			if (resp[i]->nodes[j]->has_peer_offset_ns)
				printf(" %llu:%+.3fms", (unsigned long long)resp[i]->nodes[j]->id,
				    (double)resp[i]->nodes[j]->peer_offset_ns / 1e6);
		printf("\n");
	}
}

/* A node that did not answer: unreachable, or (auth_err != NULL) it answered
 * but refused our key, which is not the same thing. */
static void
status_print_unreachable(struct client *cl, const char *addr, uint64_t id, int first,
    const char *auth_err)
{
	const char *what = auth_err != NULL ? "auth-failed" : "unreachable";

	if (cl->json) {
		printf("%s{\"address\":", first ? "" : ",");
		client_json_str(stdout, addr);
		if (id != 0)
			printf(",\"id\":%llu", (unsigned long long)id);
		else
			printf(",\"id\":null");
		printf(",\"role\":\"%s\",\"reachable\":%s", what, auth_err ? "true" : "false");
		if (auth_err != NULL) {
			printf(",\"error\":");
			client_json_str(stdout, auth_err);
		}
		printf("}");
		return;
	}
	status_print(cl, addr, NULL, first, -1, -1);
	if (id != 0)
		printf("%-4llu %-22s %-11s", (unsigned long long)id, addr, what);
	else
		printf("%-4s %-22s %-11s", "-", addr, what);
	if (auth_err != NULL)
		printf(" %s", auth_err);
	printf("\n");
}

/* lag: entries behind the leader's commit index (-1 unknown); contact_ms: ms
 * since the leader last heard from it (-1 unknown). */
static void
status_print(struct client *cl, const char *addr, const Rcfs__NodeStatus *s, int first,
    int64_t lag, int64_t contact_ms)
{
	if (cl->json) {
		printf("%s{\"address\":", first ? "" : ",");
		client_json_str(stdout, s && s->address ? s->address : addr);
		if (s == NULL) {
			printf(",\"id\":null,\"role\":\"unreachable\",\"reachable\":false}");
			return;
		}
		printf(",\"id\":%llu,\"role\":", (unsigned long long)s->id);
		client_json_str(stdout, s->role ? s->role : "?");
		printf(",\"term\":%llu,\"leader\":%llu,\"commit_index\":%llu,\"applied_index\":%llu,",
		    (unsigned long long)s->term, (unsigned long long)s->leader_id,
		    (unsigned long long)s->commit_index, (unsigned long long)s->applied_index);
		if (lag >= 0)
			printf("\"lag\":%lld,", (long long)lag);
		if (contact_ms >= 0)
			printf("\"last_contact_ms\":%lld,", (long long)contact_ms);
		printf("\"clock\":{\"state\":");
		client_json_str(stdout, s->clock_state ? s->clock_state : "off");
		if (s->has_clock_offset_ns)
			printf(",\"offset_ns\":%lld,\"error_ns\":%llu", (long long)s->clock_offset_ns,
			    (unsigned long long)s->clock_error_ns);
		if (s->has_clock_delay_ns)
			printf(",\"delay_ns\":%llu", (unsigned long long)s->clock_delay_ns);
		if (s->clock_source) {
			printf(",\"source\":");
			client_json_str(stdout, s->clock_source);
		}
		if (s->has_clock_sync_age_ms)
			printf(",\"last_sync_age_ms\":%lld", (long long)s->clock_sync_age_ms);
		if (s->has_cluster_skew_ns)
			printf(",\"cluster_skew_ns\":%lld", (long long)s->cluster_skew_ns);
		printf(",\"hlc\":%llu},", (unsigned long long)s->hlc);
		printf("\"reachable\":true,\"storage_up\":%s,\"files\":%llu,\"chunks\":%llu,"
		    "\"used_memory\":%llu,\"maxmemory\":%llu",
		    s->storage_up ? "true" : "false", (unsigned long long)s->files,
		    (unsigned long long)s->chunks, (unsigned long long)s->used_memory,
		    (unsigned long long)s->maxmemory);
		if (s->member_role != NULL) {
			printf(",\"member_role\":");
			client_json_str(stdout, s->member_role);
			printf(",\"member_state\":");
			client_json_str(stdout, s->member_state ? s->member_state : "active");
		}
		if (s->has_chunks_held)
			printf(",\"chunks_held\":%llu,\"rebalance_rate_bps\":%.0f",
			    (unsigned long long)s->chunks_held, s->rebalance_rate_bps);
		if (s->has_rebalance_pending)
			printf(",\"rebalance_pending\":%llu,\"rebalance_pending_bytes\":%llu",
			    (unsigned long long)s->rebalance_pending,
			    (unsigned long long)s->rebalance_pending_bytes);
		if (s->has_rebalance_eta_s)
			printf(",\"rebalance_eta_s\":%.1f", s->rebalance_eta_s);
		if (s->has_rebalance_moved_bytes)
			printf(",\"rebalance_moved_bytes\":%llu", (unsigned long long)s->rebalance_moved_bytes);
		if (s->has_chunks_under_replicated)
			printf(",\"chunks_under_replicated\":%llu,\"repair_fixed\":%llu,\"repair_bytes\":%llu,"
			    "\"repair_rate_bps\":%.0f", (unsigned long long)s->chunks_under_replicated,
			    (unsigned long long)s->repair_fixed, (unsigned long long)s->repair_bytes,
			    s->repair_rate_bps);
		if (s->has_repair_eta_s)
			printf(",\"repair_eta_s\":%.1f", s->repair_eta_s);
		if (s->has_chunks_still_short)
			printf(",\"chunks_still_short\":%llu", (unsigned long long)s->chunks_still_short);
		if (s->has_stored_bytes)
			printf(",\"stored_bytes\":%llu", (unsigned long long)s->stored_bytes);
		if (s->has_gc_waiting_bytes)
			printf(",\"gc_waiting_chunks\":%llu,\"gc_waiting_bytes\":%llu",
			    (unsigned long long)s->gc_waiting_chunks, (unsigned long long)s->gc_waiting_bytes);
		if (s->has_gc_held_until_ms)
			printf(",\"gc_held_until_ms\":%llu", (unsigned long long)s->gc_held_until_ms);
		if (s->has_incarnation)
			printf(",\"incarnation\":\"%016llx\",\"admitted\":%s",
			    (unsigned long long)s->incarnation, s->admitted ? "true" : "false");
		printf("}");
		return;
	}
	if (first)
		printf("%-4s %-22s %-11s %-8s %6s %6s %9s %9s %6s %8s %8s %8s %8s %7s %-8s %s\n", "ID",
		    "ADDRESS", "ROLE", "MEMBER", "TERM", "LEADER", "COMMIT", "APPLIED", "LAG", "CONTACT",
		    "FILES", "CHUNKS", "HELD", "GC-WAIT", "STORAGE", "MEMORY");
	if (s == NULL)
		return;         /* the header only: status_print_unreachable prints the row */
	char mem[48];
	if (s->maxmemory > 0)
		snprintf(mem, sizeof mem, "%.1f/%.1f MiB", (double)s->used_memory / 1048576.0,
		    (double)s->maxmemory / 1048576.0);
	else
		snprintf(mem, sizeof mem, "%.1f MiB (no limit)", (double)s->used_memory / 1048576.0);
	char lagb[24] = "-", contactb[24] = "-", heldb[24] = "-", gcb[24] = "-", member[16];
	if (s->has_gc_waiting_bytes)
		client_size(gcb, sizeof gcb, s->gc_waiting_bytes, true);
	if (s->has_chunks_held)
		snprintf(heldb, sizeof heldb, "%llu", (unsigned long long)s->chunks_held);
	snprintf(member, sizeof member, "%s%s", s->member_role ? s->member_role : "-",
	    s->member_state && strcmp(s->member_state, "draining") == 0 ? "/drain" : "");
	if (lag >= 0)
		snprintf(lagb, sizeof lagb, "%lld", (long long)lag);
	if (contact_ms >= 0)
		snprintf(contactb, sizeof contactb, "%lldms", (long long)contact_ms);
	printf("%-4llu %-22s %-11s %-8s %6llu %6llu %9llu %9llu %6s %8s %8llu %8llu %8s %7s %-8s %s\n",
	    (unsigned long long)s->id, s->address ? s->address : addr, s->role ? s->role : "?", member,
	    (unsigned long long)s->term, (unsigned long long)s->leader_id,
	    (unsigned long long)s->commit_index, (unsigned long long)s->applied_index, lagb, contactb,
	    (unsigned long long)s->files, (unsigned long long)s->chunks, heldb, gcb,
	    !s->storage_up ? "DOWN" : s->has_admitted && !s->admitted ? "new" : "up", mem);
}

static int
cmd_status_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__StatusResponse *resp[CLIENT_MAX_NODES];
	char *auth_err[CLIENT_MAX_NODES];
	int answered = 0, auth_failed = 0;

	(void)argv;
	if (argc != 0)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_status_entry.usage);
	/* Ask every node, each on a connection of its own, without retries:
	 * an unreachable node is a row, not an error.  Members the answers name
	 * that the list lacks (storage nodes, nodes added since) are asked too. */
	for (int i = 0; i < cl->nnodes; i++) {
		Rcfs__StatusRequest req = RCFS__STATUS_REQUEST__INIT;
		struct client one = *cl;
		uint32_t id;
		resp[i] = NULL;
		auth_err[i] = NULL;
		one.nnodes = 1;
		one.nodes[0] = cl->nodes[i];
		one.node = 0;
		one.fd = -1;
		one.silent = !cl->verbose;
		int rv = client_connect(&one);
		if (rv == 0 && (id = client_send(&one, RCFS__MSG_TYPE__MSG_STATUS, &req.base)) != 0)
			rv = client_recv(&one, id, RCFS__MSG_TYPE__MSG_STATUS_RESP, (ProtobufCMessage **)&resp[i]);
		auth_failed += rv == EX_RCFS_AUTH;
		if (rv == EX_RCFS_AUTH)
			auth_err[i] = xstrdup(one.auth_err[0] ? one.auth_err : cl->have_key
			    ? "authentication refused" : "authentication required: no key given (-k FILE, "
			    "$RCFS_KEY_FILE or key_file in the client config)");
		if (rv == 0 && resp[i] != NULL && resp[i]->n_nodes > 0)
			answered++;
		else if (resp[i] != NULL) {
			rcfs__status_response__free_unpacked(resp[i], NULL);
			resp[i] = NULL;
		}
		client_disconnect(&one);
		cl->in = one.in;
		for (size_t j = 1; resp[i] != NULL && j < resp[i]->n_nodes; j++) {
			const char *a = resp[i]->nodes[j]->address;
			bool known = a == NULL || a[0] == '\0';
			for (int k = 0; k < cl->nnodes && !known; k++)
				known = strcmp(cl->nodes[k], a) == 0;
			if (!known && cl->nnodes < CLIENT_MAX_NODES)
				cl->nodes[cl->nnodes++] = xstrdup(a);
		}
	}
	if (cl->json)
		printf("{\"nodes\":[");
	/* Lag and last contact, as the leader sees them. */
	const Rcfs__StatusResponse *lead = NULL;
	for (int i = 0; i < cl->nnodes && lead == NULL; i++)
		if (resp[i] != NULL && resp[i]->nodes[0]->role != NULL &&
		    strcmp(resp[i]->nodes[0]->role, "leader") == 0)
			lead = resp[i];
	for (int i = 0; i < cl->nnodes; i++) {
		if (resp[i] != NULL) {
			const Rcfs__NodeStatus *me = resp[i]->nodes[0];
			int64_t lag = -1, contact = -1;
			if (lead != NULL) {
				uint64_t c = lead->nodes[0]->commit_index;
				lag = c > me->applied_index ? (int64_t)(c - me->applied_index) : 0;
				if (lead->nodes[0]->id == me->id)
					contact = 0;
				for (size_t j = 1; j < lead->n_nodes; j++)
					if (lead->nodes[j]->id == me->id && lead->nodes[j]->has_last_contact_ms)
						contact = (int64_t)lead->nodes[j]->last_contact_ms;
			}
			status_print(cl, cl->nodes[i], me, i == 0, lag, contact);
			continue;
		}
		/* Unreachable: name it from another node's member list. */
		Rcfs__NodeStatus known = RCFS__NODE_STATUS__INIT;
		known.id = 0;
		for (int k = 0; k < cl->nnodes && known.id == 0; k++)
			for (size_t j = 0; resp[k] != NULL && j < resp[k]->n_nodes; j++)
				if (resp[k]->nodes[j]->address != NULL &&
				    strcmp(resp[k]->nodes[j]->address, cl->nodes[i]) == 0)
					known.id = resp[k]->nodes[j]->id;
		status_print_unreachable(cl, cl->nodes[i], known.id, i == 0, auth_err[i]);
	}
	if (cl->json) {
		printf("]}\n");
	} else {
		/* Rebalance and drain in progress (docs/operations.md). */
		for (int i = 0; i < cl->nnodes; i++) {
			const Rcfs__NodeStatus *me = resp[i] != NULL ? resp[i]->nodes[0] : NULL;
			if (me == NULL || !me->has_rebalance_pending || me->rebalance_pending == 0)
				continue;
			printf("rebalance: node %llu%s has %llu chunk(s)", (unsigned long long)me->id,
			    me->member_state && strcmp(me->member_state, "draining") == 0 ? " (draining)" : "",
			    (unsigned long long)me->rebalance_pending);
			if (me->has_rebalance_pending_bytes && me->rebalance_pending_bytes > 0)
				printf(" (about %.1f MB)", (double)me->rebalance_pending_bytes / 1e6);
			printf(" to hand to their homes");
			if (me->has_rebalance_eta_s)
				printf(", about %.0f s left", me->rebalance_eta_s < 1 ? 1 : me->rebalance_eta_s);
			if (me->rebalance_rate_bps > 0)
				printf(" (last walk: %.1f MB/s)", me->rebalance_rate_bps / 1e6);
			printf("\n");
		}
		/* Repair in progress: copies being made, or chunks short of N. */
		for (int i = 0; i < cl->nnodes; i++) {
			const Rcfs__NodeStatus *me = resp[i] != NULL ? resp[i]->nodes[0] : NULL;
			if (me == NULL || !me->has_chunks_under_replicated ||
			    (me->chunks_still_short == 0 && me->repair_fixed == 0))
				continue;
			printf("repair: node %llu", (unsigned long long)me->id);
			if (me->repair_fixed > 0)
				printf(" copied %llu chunk(s) (%.1f MB, %.1f MB/s) in this pass",
				    (unsigned long long)me->repair_fixed, (double)me->repair_bytes / 1e6,
				    me->repair_rate_bps / 1e6);
			if (me->chunks_still_short > 0)
				printf("%s %llu chunk(s) still short of N copies after its last pass",
				    me->repair_fixed > 0 ? ";" : "", (unsigned long long)me->chunks_still_short);
			if (me->has_repair_eta_s && me->repair_eta_s > 0)
				printf(", about %.0f s left", me->repair_eta_s < 1 ? 1 : me->repair_eta_s);
			printf("\n");
		}
		status_print_clocks(cl, resp);
	}
	for (int i = 0; i < cl->nnodes; i++) {
		if (resp[i] != NULL)
			rcfs__status_response__free_unpacked(resp[i], NULL);
		free(auth_err[i]);
	}
	if (answered == 0 && auth_failed > 0)
		return client_fail(cl, EX_RCFS_AUTH, "authentication failed on %d of %d nodes (-v says why)",
		    auth_failed, cl->nnodes);
	if (answered == 0)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "no node reachable (%d tried)", cl->nnodes);
	return 0;
}
