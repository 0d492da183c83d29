/* rcfs rm NAME: remove a file (its chunks are garbage-collected later). */
#include <string.h>

#include "client/client.h"
#include "util/name.h"

static int cmd_rm_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_rm_entry = {
	.name = "rm",
	.usage = "rm NAME",
	.exec = cmd_rm_exec,
};

static int
cmd_rm_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileRemove req = RCFS__FILE_REMOVE__INIT;
	Rcfs__FileRemoveResponse *resp;
	const char *bad;
	int rv;

	if (argc != 1)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_rm_entry.usage);
	cl->target = argv[0];
	if ((bad = name_check(argv[0], strlen(argv[0]))) != NULL)
		return client_fail(cl, EX_RCFS_USAGE, "invalid name: %s", bad);
	req.name = argv[0];
	req.has_client_id = req.has_seq = 1;
	req.client_id = cl->client_id;
	req.seq = ++cl->seq;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_REMOVE, &req.base,
	    RCFS__MSG_TYPE__MSG_FILE_REMOVE_RESP, (ProtobufCMessage **)&resp);
	if (rv != 0)
		return rv;
	if (cl->json) {
		printf("{\"name\":");
		client_json_str(stdout, argv[0]);
		printf(",\"version\":%llu}\n", (unsigned long long)resp->version);
	}
	rcfs__file_remove_response__free_unpacked(resp, NULL);
	return 0;
}
