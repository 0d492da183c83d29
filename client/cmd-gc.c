/* rcfs gc (admin): run every node's chunk GC now and say what it freed and
 * what it keeps (docs/operations.md "Space after deletes").  Each node is
 * asked on a connection of its own; exit 0 if all answered, else the first
 * failure's code (a line per node that did not answer). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"

static int cmd_gc_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_gc_entry = {
	.name = "gc",
	.usage = "gc",
	.exec = cmd_gc_exec,
};

static void
gc_print(struct client *cl, const char *addr, const Rcfs__GcResponse *r, int first)
{
	char del[32], wait[32], held[32] = "";

	if (cl->json) {
		printf("%s{\"address\":", first ? "" : ",");
		client_json_str(stdout, addr);
		printf(",\"id\":%" PRIu64 ",\"deleted_chunks\":%" PRIu64 ",\"deleted_bytes\":%" PRIu64,
		    r->node_id, r->deleted_chunks, r->deleted_bytes);
		if (r->has_waiting_chunks)
			printf(",\"waiting_chunks\":%" PRIu64 ",\"waiting_bytes\":%" PRIu64,
			    r->waiting_chunks, r->waiting_bytes);
		if (r->has_held_until_ms)
			printf(",\"held_until_ms\":%" PRIu64, r->held_until_ms);
		printf("}");
		return;
	}
	if (r->has_held_until_ms) {
		time_t t = (time_t)(r->held_until_ms / 1000);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(held, sizeof held, "; a backup holds GC until %H:%M:%S", &tm);
	}
	printf("node %" PRIu64 " (%s): deleted %" PRIu64 " chunks (%s), %" PRIu64 " chunks (%s) "
	    "waiting%s\n", r->node_id, addr, r->deleted_chunks,
	    client_size(del, sizeof del, r->deleted_bytes, false), r->waiting_chunks,
	    client_size(wait, sizeof wait, r->waiting_bytes, false), held);
}

static int
cmd_gc_exec(struct client *cl, int argc, char **argv)
{
	int rv = 0, shown = 0;

	(void)argv;
	if (argc != 0)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_gc_entry.usage);
	if (cl->json)
		printf("{\"nodes\":[");
	for (int i = 0; i < cl->nnodes; i++) {
		Rcfs__GcRequest req = RCFS__GC_REQUEST__INIT;
		Rcfs__GcResponse *resp = NULL;
		char why[1024];
		int r = client_ask_node(cl, cl->nodes[i], cl->timeout_ms, RCFS__MSG_TYPE__MSG_GC, &req.base,
		    RCFS__MSG_TYPE__MSG_GC_RESP, (ProtobufCMessage **)&resp, why, sizeof why);

		if (r != 0) {
			if (rv == 0)
				rv = r;
			fprintf(stderr, "rcfs: gc: %s: %s\n", cl->nodes[i], why);
			continue;
		}
		gc_print(cl, cl->nodes[i], resp, shown++ == 0);
		rcfs__gc_response__free_unpacked(resp, NULL);
	}
	if (cl->json)
		printf("]}\n");
	return rv;
}
