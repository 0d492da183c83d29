/* rcfs stat NAME: a file's metadata. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client/client.h"
#include "util/name.h"
#include "util/xmalloc.h"

static int cmd_stat_exec(struct client *cl, int argc, char **argv);
static void stat_locate(struct client *cl, const Rcfs__FileMeta *m, uint64_t (*where)[CLIENT_MAX_NODES]);

const struct client_cmd cmd_stat_entry = {
	.name = "stat",
	.usage = "stat [-v] NAME",
	.exec = cmd_stat_exec,
};

/* where[chunk][k] = node id if the k-th address's node stores the chunk, else
 * 0.  Each node is asked directly (ChunkGet local+probe), one chunk at a time.
 * The address list can name a node twice (a leader hint adds the address a
 * node advertises beside the one given, e.g. a proxy's): each node id is
 * asked once, so no node is counted twice. */
static void
stat_locate(struct client *cl, const Rcfs__FileMeta *m, uint64_t (*where)[CLIENT_MAX_NODES])
{
	uint64_t seen[CLIENT_MAX_NODES];
	int nseen = 0;

	for (int i = 0; i < cl->nnodes; i++) {
		Rcfs__StatusRequest sreq = RCFS__STATUS_REQUEST__INIT;
		Rcfs__StatusResponse *sresp = NULL;
		struct client one = *cl;
		uint64_t id = 0;
		uint32_t rid;

		one.nnodes = 1;
		one.nodes[0] = cl->nodes[i];
		one.node = 0;
		one.fd = -1;
		one.silent = true;
		if (client_connect(&one) != 0)
			continue;
		if ((rid = client_send(&one, RCFS__MSG_TYPE__MSG_STATUS, &sreq.base)) != 0 &&
		    client_recv(&one, rid, RCFS__MSG_TYPE__MSG_STATUS_RESP, (ProtobufCMessage **)&sresp) == 0) {
			id = sresp->n_nodes > 0 ? sresp->nodes[0]->id : 0;
			rcfs__status_response__free_unpacked(sresp, NULL);
		}
		for (int k = 0; k < nseen && id != 0; k++)
			if (seen[k] == id)
				id = 0;
		if (id != 0)
			seen[nseen++] = id;
		for (size_t c = 0; c < m->n_chunks && id != 0; c++) {
			Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
			ProtobufCMessage *resp = NULL;
			req.sha256 = m->chunks[c];
			req.has_local = req.local = req.has_probe = req.probe = 1;
			if ((rid = client_send(&one, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base)) == 0)
				break;
			if (client_recv(&one, rid, RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP, &resp) == 0) {
				where[c][i] = id;
				protobuf_c_message_free_unpacked(resp, NULL);
			}
		}
		client_disconnect(&one);
		cl->in = one.in;
	}
}

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
		if (client_is_option(cl, i, argv[i]) && strcmp(argv[i], "-v") == 0)
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
		    "\"version\":%llu,\"hlc\":%llu,\"mtime_ns\":%llu,\"inline\":%s,\"chunk_list\":[",
		    (unsigned long long)m->size, m->chunk_size, m->n_chunks, hex,
		    (unsigned long long)m->version, (unsigned long long)m->hlc,
		    (unsigned long long)m->mtime_ns, m->has_inline_data ? "true" : "false");
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
		printf("name:       %s\nsize:       %llu\nsha256:     %s%s\n", m->name,
		    (unsigned long long)m->size, hex, m->sha256_of_chunks ? " (of the chunk list)" : "");
		/* The real layout: every chunk but the last is chunk_size bytes. */
		if (m->has_inline_data)
			printf("chunks:     none: inline (%zu bytes in the file table)\n", m->inline_data.len);
		else if (m->n_chunks == 0)
			printf("chunks:     none (empty file)\n");
		else if (m->n_chunks == 1)
			printf("chunks:     1 chunk: %llu bytes\n", (unsigned long long)m->size);
		else
			printf("chunks:     %zu chunks: %zu x %u + %llu bytes\n", m->n_chunks, m->n_chunks - 1,
			    m->chunk_size, (unsigned long long)(m->size -
			    (uint64_t)m->chunk_size * (m->n_chunks - 1)));
		if (m->has_mode)
			printf("mode:       %04o\n", (unsigned)(m->mode & 07777));
		{
			/* HLC: ms since the epoch << 16 | a logical counter. */
			time_t ht = (time_t)((m->hlc >> 16) / 1000);
			struct tm htm;
			char hwhen[64];
			localtime_r(&ht, &htm);
			strftime(hwhen, sizeof hwhen, "%Y-%m-%d %H:%M:%S", &htm);
			printf("version:    %llu (committed at hlc %s.%03llu +%llu)\nmtime:      %s\n",
			    (unsigned long long)m->version, hwhen,
			    (unsigned long long)((m->hlc >> 16) % 1000), (unsigned long long)(m->hlc & 0xffff),
			    when);
		}
		if (verbose && m->n_chunks > 0) {
			uint64_t (*where)[CLIENT_MAX_NODES] = xcalloc(m->n_chunks, sizeof *where);
			stat_locate(cl, m, where);
			for (size_t i = 0; i < m->n_chunks; i++) {
				char ch[65];
				int first = 1;
				sodium_bin2hex(ch, sizeof ch, m->chunks[i].data, m->chunks[i].len == 32 ? 32 : 0);
				printf("chunk %zu:    %s  on nodes ", i, ch);
				for (int k = 0; k < cl->nnodes; k++)
					if (where[i][k] != 0) {
						printf("%s%llu", first ? "" : ",", (unsigned long long)where[i][k]);
						first = 0;
					}
				printf("%s\n", first ? "(none reachable)" : "");
			}
			free(where);
		}
	}
	rcfs__file_stat_response__free_unpacked(resp, NULL);
	return 0;
}
