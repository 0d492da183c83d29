/* rcfs get NAME [LOCAL|-]: fetch a file, verifying every chunk's SHA-256 and
 * the whole file's before it is visible at LOCAL (written to a temporary file
 * in the same directory, fsynced, then renamed).  With "-", verified chunks
 * stream to stdout.  Up to GET_WINDOW chunk requests are in flight. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "client/client.h"
#include "util/sha256.h"
#include "util/name.h"
#include "util/xmalloc.h"

#define GET_WINDOW 4

struct get_slot {
	uint32_t id;                    /* request id, 0 = free */
	size_t chunk;                   /* chunk index */
	Rcfs__ChunkGetResponse *resp;   /* arrived, not yet written */
};

static int cmd_get_exec(struct client *cl, int argc, char **argv);
static int get_write_all(int fd, const uint8_t *p, size_t len);
static int get_stat(struct client *cl, const char *name, Rcfs__FileMeta **meta);

const struct client_cmd cmd_get_entry = {
	.name = "get",
	.usage = "get NAME [LOCAL|-]",
	.exec = cmd_get_exec,
};

static int
get_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
get_stat(struct client *cl, const char *name, Rcfs__FileMeta **meta)
{
	Rcfs__FileStat req = RCFS__FILE_STAT__INIT;
	Rcfs__FileStatResponse *resp;
	int rv;

	req.name = (char *)name;
	req.has_serializable = cl->serializable;
	req.serializable = cl->serializable;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_STAT, &req.base, RCFS__MSG_TYPE__MSG_FILE_STAT_RESP,
	    (ProtobufCMessage **)&resp);
	if (rv != 0)
		return rv;
	*meta = resp->meta;
	resp->meta = NULL;
	rcfs__file_stat_response__free_unpacked(resp, NULL);
	return 0;
}

static int
cmd_get_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileMeta *meta = NULL;
	struct get_slot slots[GET_WINDOW];
	struct sha256 whole = { 0 };
	struct progress prog;
	uint8_t sha[32];
	char *dest = NULL, *tmp = NULL, *namecopy = NULL;
	const char *bad;
	size_t next_send = 0, next_write = 0;
	uint64_t written = 0;
	int fd = -1, rv, to_stdout;

	if (argc < 1 || argc > 2)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_get_entry.usage);
	cl->target = argv[0];
	if ((bad = name_check(argv[0], strlen(argv[0]))) != NULL)
		return client_fail(cl, EX_RCFS_USAGE, "invalid name: %s", bad);
	memset(slots, 0, sizeof slots);
	if ((rv = get_stat(cl, argv[0], &meta)) != 0)
		return rv;

	to_stdout = argc == 2 && strcmp(argv[1], "-") == 0;
	if (!to_stdout) {
		namecopy = xstrdup(argv[0]);
		dest = xstrdup(argc == 2 ? argv[1] : basename(namecopy));
		tmp = xasprintf("%s.rcfs-XXXXXX", dest);
		if ((fd = mkstemp(tmp)) < 0) {
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", dest, strerror(errno));
			free(tmp);
			tmp = NULL;
			goto out;
		}
	} else {
		fd = STDOUT_FILENO;
	}

	sha256_init(&whole);
	if (meta->has_inline_data) {
		sha256(sha, meta->inline_data.data, meta->inline_data.len);
		if (meta->sha256.len != 32 || sodium_memcmp(sha, meta->sha256.data, 32) != 0) {
			rv = client_fail(cl, EX_RCFS_INTEGRITY, "file content does not match its SHA-256");
			goto out;
		}
		if (get_write_all(fd, meta->inline_data.data, meta->inline_data.len) != 0) {
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", to_stdout ? "stdout" : dest, strerror(errno));
			goto out;
		}
		written = meta->inline_data.len;
		sha256_update(&whole, meta->inline_data.data, meta->inline_data.len);
	}
	progress_start(&prog, cl, meta->size);
	while (next_write < meta->n_chunks) {
		/* Keep the window full. */
		while (next_send < meta->n_chunks && next_send < next_write + GET_WINDOW) {
			Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
			struct get_slot *s = &slots[next_send % GET_WINDOW];
			req.sha256 = meta->chunks[next_send];
			s->id = client_send(cl, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base);
			if (s->id == 0) {
				rv = client_fail(cl, EX_RCFS_UNAVAILABLE, "cannot send to %s", cl->nodes[cl->node]);
				goto out;
			}
			s->chunk = next_send++;
		}
		/* Write every chunk that is in order and verified. */
		struct get_slot *s = &slots[next_write % GET_WINDOW];
		if (s->resp == NULL) {
			struct frame_header h;
			ProtobufCMessage *msg;
			int k;
			if ((rv = client_recv_frame(cl, &h, &msg)) != 0)
				goto out;
			for (k = 0; k < GET_WINDOW; k++)
				if (slots[k].id == h.request_id && slots[k].resp == NULL)
					break;
			if (k == GET_WINDOW) {
				protobuf_c_message_free_unpacked(msg, NULL);
				rv = client_fail(cl, EX_RCFS_ERROR, "response to an unknown request");
				goto out;
			}
			if ((rv = client_check(cl, &h, &msg, RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP)) != 0)
				goto out;
			slots[k].resp = (Rcfs__ChunkGetResponse *)msg;
			continue;
		}
		{
			const ProtobufCBinaryData *d = &s->resp->data;
			uint64_t want = next_write + 1 < meta->n_chunks ? meta->chunk_size
			    : meta->size - (uint64_t)meta->chunk_size * (meta->n_chunks - 1);
			sha256(sha, d->data, d->len);
			if (d->len != want || sodium_memcmp(sha, meta->chunks[next_write].data, 32) != 0) {
				rv = client_fail(cl, EX_RCFS_INTEGRITY, "chunk %zu does not match its SHA-256",
				    next_write);
				goto out;
			}
			if (get_write_all(fd, d->data, d->len) != 0) {
				rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", to_stdout ? "stdout" : dest,
				    strerror(errno));
				goto out;
			}
			sha256_update(&whole, d->data, d->len);
			written += d->len;
			progress_add(&prog, d->len);
			rcfs__chunk_get_response__free_unpacked(s->resp, NULL);
			s->resp = NULL;
			s->id = 0;
			next_write++;
		}
	}
	progress_end(&prog);
	sha256_final(&whole, sha);
	if (written != meta->size || meta->sha256.len != 32 || sodium_memcmp(sha, meta->sha256.data, 32) != 0) {
		rv = client_fail(cl, EX_RCFS_INTEGRITY, "file does not match its SHA-256");
		goto out;
	}
	if (!to_stdout) {
		if (fsync(fd) != 0 || close(fd) != 0) {
			fd = -1;
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", dest, strerror(errno));
			goto out;
		}
		fd = -1;
		if (meta->has_mode)
			chmod(tmp, meta->mode & 0777);
		if (rename(tmp, dest) != 0) {
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", dest, strerror(errno));
			goto out;
		}
		free(tmp);
		tmp = NULL;
	}
	if (cl->json && !to_stdout) {
		printf("{\"name\":");
		client_json_str(stdout, meta->name);
		printf(",\"size\":%llu,\"path\":", (unsigned long long)meta->size);
		client_json_str(stdout, dest);
		printf("}\n");
	}
	rv = 0;
out:
	sha256_free(&whole);
	for (int k = 0; k < GET_WINDOW; k++)
		if (slots[k].resp)
			rcfs__chunk_get_response__free_unpacked(slots[k].resp, NULL);
	if (fd >= 0 && !to_stdout)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);            /* never leave a partial or corrupt file behind */
		free(tmp);
	}
	if (meta)
		rcfs__file_meta__free_unpacked(meta, NULL);
	free(dest);
	free(namecopy);
	return rv;
}
