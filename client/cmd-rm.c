/* rcfs rm NAME: remove a file (its chunks are garbage-collected later). */
#include <string.h>

#include "client/client.h"
#include "util/name.h"

static int cmd_rm_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_rm_entry = {
	.name = "rm",
	.usage = "rm NAME|PATTERN... | rm -r PREFIX...",
	.exec = cmd_rm_exec,
};

static int
cmd_rm_one(struct client *cl, const char *name)
{
	Rcfs__FileRemove req = RCFS__FILE_REMOVE__INIT;
	Rcfs__FileRemoveResponse *resp;
	const char *bad;
	int rv;

	cl->target = name;
	if ((bad = name_check(name, strlen(name))) != NULL)
		return client_fail(cl, EX_RCFS_USAGE, "invalid name: %s", bad);
	req.name = (char *)name;
	req.has_client_id = req.has_seq = 1;
	req.client_id = cl->client_id;
	req.seq = ++cl->seq;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_REMOVE, &req.base,
	    RCFS__MSG_TYPE__MSG_FILE_REMOVE_RESP, (ProtobufCMessage **)&resp);
	if (rv != 0)
		return rv;
	if (cl->json) {
		printf("{\"name\":");
		client_json_str(stdout, name);
		printf(",\"version\":%llu}\n", (unsigned long long)resp->version);
	}
	rcfs__file_remove_response__free_unpacked(resp, NULL);
	return 0;
}

/* Each name in turn; the first failure ends the command with its code. */
static int
cmd_rm_exec(struct client *cl, int argc, char **argv)
{
	int rv = 0;
	bool tree = argc > 0 && client_is_option(cl, 0, argv[0]) && strcmp(argv[0], "-r") == 0;

	if (tree) {
		argc--;
		argv++;
		cl->operands = cl->operands > 0 ? cl->operands - 1 : 0;
	}
	if (argc < 1 || client_is_option(cl, 0, argv[0]))
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_rm_entry.usage);
	for (int i = 0; i < argc && rv == 0; i++) {
		size_t n;
		char **names;

		if (tree) {
			rv = tree_rm(cl, argv[i]);
		} else if (!tree_is_glob(argv[i]) || cl->literal) {
			rv = cmd_rm_one(cl, argv[i]);
		} else if ((rv = tree_glob(cl, argv[i], &n, &names)) == 0) {
			for (size_t k = 0; k < n && rv == 0; k++)
				rv = cmd_rm_one(cl, names[k]);
			tree_glob_free(n, names);
		}
	}
	return rv;
}
