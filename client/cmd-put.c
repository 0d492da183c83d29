/* rcfs put LOCAL|- NAME: stream a file into rcfs.
 *
 * Small files (<= the node's inline_max) ride inside the metadata commit.
 * Larger ones are read chunk_size bytes at a time, hashed, and sent as ChunkPut
 * with up to PUT_WINDOW in flight; the file becomes visible only with the final
 * FileCommit, after every chunk was acknowledged.  Memory: one chunk buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "client/client.h"
#include "util/sha256.h"
#include "util/name.h"
#include "util/xmalloc.h"

#define PUT_WINDOW 4

static int cmd_put_exec(struct client *cl, int argc, char **argv);
static ssize_t put_read_full(int fd, uint8_t *buf, size_t len);
static int put_drain_one(struct client *cl, int *inflight);
static int put_commit(struct client *cl, Rcfs__FileMeta *meta);

const struct client_cmd cmd_put_entry = {
	.name = "put",
	.usage = "put LOCAL|- NAME",
	.exec = cmd_put_exec,
};

/* Read until len bytes or EOF; -1 on error. */
static ssize_t
put_read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int
put_drain_one(struct client *cl, int *inflight)
{
	struct frame_header h;
	ProtobufCMessage *msg;
	int rv = client_recv_frame(cl, &h, &msg);

	if (rv != 0)
		return rv;
	if ((rv = client_check(cl, &h, &msg, RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP)) != 0)
		return rv;
	protobuf_c_message_free_unpacked(msg, NULL);
	(*inflight)--;
	return 0;
}

static int
put_commit(struct client *cl, Rcfs__FileMeta *meta)
{
	Rcfs__FileCommit req = RCFS__FILE_COMMIT__INIT;
	Rcfs__FileCommitResponse *resp;
	int rv;

	req.meta = meta;
	req.has_client_id = req.has_seq = 1;
	req.client_id = cl->client_id;
	req.seq = ++cl->seq;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_COMMIT, &req.base,
	    RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP, (ProtobufCMessage **)&resp);
	if (rv != 0)
		return rv;
	if (cl->json)
		printf("{\"name\":"), client_json_str(stdout, meta->name),
		    printf(",\"size\":%llu,\"version\":%llu}\n", (unsigned long long)meta->size,
		    (unsigned long long)resp->version);
	rcfs__file_commit_response__free_unpacked(resp, NULL);
	return 0;
}

static int
cmd_put_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileMeta meta = RCFS__FILE_META__INIT;
	struct sha256 whole = { 0 };
	uint8_t file_sha[32], *buf = NULL, *hashes = NULL;
	size_t nchunks = 0, cap = 0;
	ProtobufCBinaryData *chunks = NULL;
	struct progress prog;
	struct stat sb;
	const char *local, *bad;
	int fd, rv, inflight = 0;
	uint64_t size = 0;

	if (argc != 2)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_put_entry.usage);
	local = argv[0];
	cl->target = argv[1];
	if ((bad = name_check(argv[1], strlen(argv[1]))) != NULL)
		return client_fail(cl, EX_RCFS_USAGE, "invalid name: %s", bad);
	if (strcmp(local, "-") == 0) {
		fd = STDIN_FILENO;
	} else if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0) {
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", local, strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
		rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", local, S_ISDIR(sb.st_mode) ? "is a directory"
		    : strerror(errno));
		goto out;
	}
	if ((rv = client_hello(cl)) != 0)
		goto out;
	meta.name = argv[1];
	meta.chunk_size = cl->chunk_size;
	if (S_ISREG(sb.st_mode) && fd != STDIN_FILENO) {
		meta.has_mtime_ns = meta.has_mode = 1;
		meta.mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
		meta.mode = sb.st_mode & 07777;
	}
	sha256_init(&whole);
	buf = xmalloc(cl->chunk_size);
	progress_start(&prog, cl, S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0);
	for (;;) {
		ssize_t n = put_read_full(fd, buf, cl->chunk_size);
		if (n < 0) {
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", local, strerror(errno));
			goto out;
		}
		if (nchunks == 0 && (uint64_t)n <= cl->inline_max && (size_t)n < cl->chunk_size) {
			/* The whole file fits inline: one round trip. */
			sha256(file_sha, buf, (size_t)n);
			meta.size = (uint64_t)n;
			meta.sha256.data = file_sha;
			meta.sha256.len = 32;
			meta.has_inline_data = 1;
			meta.inline_data.data = buf;
			meta.inline_data.len = (size_t)n;
			rv = put_commit(cl, &meta);
			goto out;
		}
		if (n == 0)
			break;
		if (nchunks == cap) {
			cap = cap ? cap * 2 : 64;
			hashes = xrealloc(hashes, cap * 32);
		}
		sha256(hashes + 32 * nchunks, buf, (size_t)n);
		sha256_update(&whole, buf, (size_t)n);
		{
			Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
			req.sha256.data = hashes + 32 * nchunks;
			req.sha256.len = 32;
			req.data.data = buf;
			req.data.len = (size_t)n;
			while (inflight >= PUT_WINDOW)
				if ((rv = put_drain_one(cl, &inflight)) != 0)
					goto out;
			if (cl->fd < 0 && (rv = client_connect(cl)) != 0)
				goto out;
			if (client_send(cl, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base) == 0) {
				rv = client_fail(cl, EX_RCFS_UNAVAILABLE, "cannot send to %s", cl->nodes[cl->node]);
				goto out;
			}
			inflight++;
		}
		nchunks++;
		size += (uint64_t)n;
		progress_add(&prog, (uint64_t)n);
		if ((size_t)n < cl->chunk_size)
			break;
	}
	while (inflight > 0)
		if ((rv = put_drain_one(cl, &inflight)) != 0)
			goto out;
	progress_end(&prog);
	sha256_final(&whole, file_sha);
	chunks = xcalloc(nchunks ? nchunks : 1, sizeof *chunks);
	for (size_t i = 0; i < nchunks; i++) {
		chunks[i].data = hashes + 32 * i;
		chunks[i].len = 32;
	}
	meta.size = size;
	meta.sha256.data = file_sha;
	meta.sha256.len = 32;
	meta.chunks = chunks;
	meta.n_chunks = nchunks;
	rv = put_commit(cl, &meta);
out:
	sha256_free(&whole);
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	free(hashes);
	free(chunks);
	return rv;
}
