/* rcfs stat NAME: a file's metadata. */
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client/client.h"
#include "util/name.h"

static int cmd_stat_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_stat_entry = {
	.name = "stat",
	.usage = "stat [-v] NAME",
	.exec = cmd_stat_exec,
};

static int
cmd_stat_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileStat req = RCFS__FILE_STAT__INIT;
	Rcfs__FileStatResponse *resp;
	const Rcfs__FileMeta *m;
	const char *bad, *name = NULL;
	char hex[65], when[40];
	int rv, verbose = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (name == NULL)
			name = argv[i];
		else
			name = NULL, argc = -1;
	}
	if (name == NULL || argc < 0)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_stat_entry.usage);
	cl->target = name;
	if ((bad = name_check(name, strlen(name))) != NULL)
		return client_fail(cl, EX_RCFS_USAGE, "invalid name: %s", bad);
	req.name = (char *)name;
	req.has_serializable = cl->serializable;
	req.serializable = cl->serializable;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_STAT, &req.base, RCFS__MSG_TYPE__MSG_FILE_STAT_RESP,
	    (ProtobufCMessage **)&resp);
	if (rv != 0)
		return rv;
	m = resp->meta;
	sodium_bin2hex(hex, sizeof hex, m->sha256.data, m->sha256.len == 32 ? 32 : 0);
	if (cl->json) {
		printf("{\"name\":");
		client_json_str(stdout, m->name);
		printf(",\"size\":%llu,\"chunk_size\":%u,\"chunks\":%zu,\"sha256\":\"%s\","
		    "\"version\":%llu,\"mtime_ns\":%llu,\"inline\":%s,\"chunk_list\":[",
		    (unsigned long long)m->size, m->chunk_size, m->n_chunks, hex,
		    (unsigned long long)m->version, (unsigned long long)m->mtime_ns,
		    m->has_inline_data ? "true" : "false");
		for (size_t i = 0; i < m->n_chunks; i++) {
			char ch[65];
			sodium_bin2hex(ch, sizeof ch, m->chunks[i].data, m->chunks[i].len == 32 ? 32 : 0);
			printf("%s\"%s\"", i ? "," : "", ch);
		}
		printf("]}\n");
	} else {
		time_t t = (time_t)(m->mtime_ns / 1000000000u);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);
		printf("name:       %s\nsize:       %llu\nsha256:     %s\nchunks:     %zu x %u bytes%s\n"
		    "version:    %llu\nmtime:      %s\n", m->name, (unsigned long long)m->size, hex,
		    m->n_chunks, m->chunk_size, m->has_inline_data ? " (inline)" : "",
		    (unsigned long long)m->version, when);
		if (verbose)
			for (size_t i = 0; i < m->n_chunks; i++) {
				char ch[65];
				sodium_bin2hex(ch, sizeof ch, m->chunks[i].data, m->chunks[i].len == 32 ? 32 : 0);
				printf("chunk %zu:    %s\n", i, ch);
			}
	}
	rcfs__file_stat_response__free_unpacked(resp, NULL);
	return 0;
}
