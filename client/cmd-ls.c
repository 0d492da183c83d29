/* rcfs ls [-l] [PREFIX]: list files (pages through FileList). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "util/xmalloc.h"

static int cmd_ls_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_ls_entry = {
	.name = "ls",
	.usage = "ls [-l] [PREFIX]",
	.exec = cmd_ls_exec,
};

static int
cmd_ls_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileList req = RCFS__FILE_LIST__INIT;
	char *after = xstrdup("");
	int rv = 0, lng = 0, first = 1;
	const char *prefix = "";

	for (int i = 0; i < argc; i++) {
		if (client_is_option(cl, i, argv[i]) && strcmp(argv[i], "-l") == 0)
			lng = 1;
		else if (prefix[0] == '\0' && !client_is_option(cl, i, argv[i]))
			prefix = argv[i];
		else {
			free(after);
			return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_ls_entry.usage);
		}
	}
	cl->target = prefix[0] ? prefix : NULL;
	for (bool opened = false;; ) {
		Rcfs__FileListResponse *resp;
		req.prefix = (char *)prefix;
		req.start_after = after;
		req.has_serializable = cl->serializable;
		req.serializable = cl->serializable;
		rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_LIST, &req.base,
		    RCFS__MSG_TYPE__MSG_FILE_LIST_RESP, (ProtobufCMessage **)&resp);
		if (rv != 0) {
			if (opened)
				printf("]}\n");        /* stdout stays JSON; the error went to stderr */
			break;
		}
		if (cl->json && !opened)
			printf("{\"files\":[");
		opened = true;
		for (size_t i = 0; i < resp->n_files; i++) {
			const Rcfs__FileMeta *m = resp->files[i];
			if (cl->json) {
				printf("%s{\"name\":", first ? "" : ",");
				client_json_str(stdout, m->name);
				printf(",\"size\":%llu,\"version\":%llu,\"mtime_ns\":%llu}",
				    (unsigned long long)m->size, (unsigned long long)m->version,
				    (unsigned long long)m->mtime_ns);
			} else if (lng) {
				char when[32];
				time_t t = (time_t)(m->mtime_ns / 1000000000u);
				struct tm tm;
				localtime_r(&t, &tm);
				strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
				printf("%12llu  %s  %s\n", (unsigned long long)m->size, when, m->name);
			} else {
				printf("%s\n", m->name);
			}
			first = 0;
		}
		if (resp->n_files > 0) {
			free(after);
			after = xstrdup(resp->files[resp->n_files - 1]->name);
		}
		int more = resp->more && resp->n_files > 0;
		rcfs__file_list_response__free_unpacked(resp, NULL);
		if (!more)
			break;
	}
	if (cl->json && rv == 0)
		printf("]}\n");
	free(after);
	return rv;
}
