/* rcfs status: every configured node's view of itself (role, term, indexes,
 * storage), unreachable ones included.  Exit 0 if any node answered. */
#include <string.h>

#include "client/client.h"

static int cmd_status_exec(struct client *cl, int argc, char **argv);
static void status_print(struct client *cl, const char *addr, const Rcfs__NodeStatus *s, int first);

const struct client_cmd cmd_status_entry = {
	.name = "status",
	.usage = "status",
	.exec = cmd_status_exec,
};

static void
status_print(struct client *cl, const char *addr, const Rcfs__NodeStatus *s, int first)
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
		printf(",\"term\":%llu,\"leader\":%llu,\"commit_index\":%llu,\"applied_index\":%llu,"
		    "\"reachable\":true,\"storage_up\":%s,\"files\":%llu,\"chunks\":%llu,"
		    "\"used_memory\":%llu,\"maxmemory\":%llu}",
		    (unsigned long long)s->term, (unsigned long long)s->leader_id,
		    (unsigned long long)s->commit_index, (unsigned long long)s->applied_index,
		    s->storage_up ? "true" : "false", (unsigned long long)s->files,
		    (unsigned long long)s->chunks, (unsigned long long)s->used_memory,
		    (unsigned long long)s->maxmemory);
		return;
	}
	if (first)
		printf("%-4s %-22s %-11s %6s %6s %9s %9s %8s %8s %-8s %s\n", "ID", "ADDRESS", "ROLE", "TERM",
		    "LEADER", "COMMIT", "APPLIED", "FILES", "CHUNKS", "STORAGE", "MEMORY");
	if (s == NULL) {
		printf("%-4s %-22s %-11s\n", "-", addr, "unreachable");
		return;
	}
	char mem[48];
	if (s->maxmemory > 0)
		snprintf(mem, sizeof mem, "%.1f/%.1f MiB", (double)s->used_memory / 1048576.0,
		    (double)s->maxmemory / 1048576.0);
	else
		snprintf(mem, sizeof mem, "%.1f MiB (no limit)", (double)s->used_memory / 1048576.0);
	printf("%-4llu %-22s %-11s %6llu %6llu %9llu %9llu %8llu %8llu %-8s %s\n",
	    (unsigned long long)s->id, s->address ? s->address : addr, s->role ? s->role : "?",
	    (unsigned long long)s->term, (unsigned long long)s->leader_id,
	    (unsigned long long)s->commit_index, (unsigned long long)s->applied_index,
	    (unsigned long long)s->files, (unsigned long long)s->chunks,
	    s->storage_up ? "up" : "DOWN", mem);
}

static int
cmd_status_exec(struct client *cl, int argc, char **argv)
{
	int answered = 0;

	(void)argv;
	if (argc != 0)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_status_entry.usage);
	if (cl->json)
		printf("{\"nodes\":[");
	for (int i = 0; i < cl->nnodes; i++) {
		Rcfs__StatusRequest req = RCFS__STATUS_REQUEST__INIT;
		Rcfs__StatusResponse *resp = NULL;
		/* Ask exactly node i, on a connection of its own. */
		client_disconnect(cl);
		struct client one = *cl;
		int rv;
		one.nnodes = 1;
		one.nodes[0] = cl->nodes[i];
		one.node = 0;
		one.silent = !cl->verbose;      /* an unreachable node is a row, not an error */
		rv = client_call(&one, RCFS__MSG_TYPE__MSG_STATUS, &req.base, RCFS__MSG_TYPE__MSG_STATUS_RESP,
		    (ProtobufCMessage **)&resp);
		client_disconnect(&one);
		cl->in = one.in;
		if (rv == 0 && resp->n_nodes > 0) {
			status_print(cl, cl->nodes[i], resp->nodes[0], i == 0);
			answered++;
		} else {
			status_print(cl, cl->nodes[i], NULL, i == 0);
		}
		if (resp)
			rcfs__status_response__free_unpacked(resp, NULL);
	}
	if (cl->json)
		printf("]}\n");
	if (answered == 0)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "no node reachable (%d tried)", cl->nnodes);
	return 0;
}
