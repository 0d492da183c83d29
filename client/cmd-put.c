/* rcfs put LOCAL|- NAME: stream a file into rcfs.
 *
 * Small files (<= the node's inline_max) ride inside the metadata commit.
 * Larger ones are read chunk_size bytes at a time, hashed, and sent as ChunkPut
 * with up to PUT_WINDOW in flight; the file becomes visible only with the final
 * FileCommit, after every chunk was acknowledged.  A node that fails or hangs
 * mid-stream costs one try (client_attempt_ms): the chunks it had not
 * acknowledged go to the next node (a ChunkPut is idempotent: the chunk is
 * named by its hash), until the timeout; the commit retries the same way
 * (client_call; exactly once through the client id and sequence number).
 * A file of more than one chunk first asks whether the cluster holds its
 * first chunk already (ChunkPut with have and no data: a put run again after
 * an interruption, or of a file stored under another name), and waits for
 * the answer; if it does, the next chunks are asked for the same way, until
 * the first the cluster lacks (a resumed put has uploaded a prefix), and the
 * data go from there.  After a node
 * failed, the chunks it had not acknowledged are asked for the same way.
 * Memory: PUT_WINDOW chunk buffers. */
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
#define PUT_RELEASE_BATCH 2048    /* hashes per ChunkProtect (68 KiB) */

static int cmd_put_exec(struct client *cl, int argc, char **argv);
static ssize_t put_read_full(int fd, uint8_t *buf, size_t len);
struct put_window;
static int put_send(struct client *cl, struct put_window *w, int i);
static int put_ack(struct client *cl, struct put_window *w);
static int put_recover(struct client *cl, struct put_window *w, int rv);
static int put_commit(struct client *cl, Rcfs__FileMeta *meta);

const struct client_cmd cmd_put_entry = {
	.name = "put",
	.usage = "put LOCAL|- NAME | put -r LOCALDIR PREFIX",
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

/* The chunks sent and not acknowledged yet, oldest first. */
struct put_window {
	uint8_t *data[PUT_WINDOW];      /* owned, chunk_size bytes each */
	size_t len[PUT_WINDOW];
	uint8_t sha[PUT_WINDOW][32];
	uint32_t id[PUT_WINDOW];        /* request id on the current connection */
	bool have[PUT_WINDOW];          /* sent without data: does the cluster hold it? */
	int n;
	bool ask;                       /* send the next chunks without data first */
	bool probing;                   /* the first chunk's question is unanswered */
	struct progress *prog;
	uint64_t retry_until;           /* ms; 0: no failure since the last acknowledgement */
	bool silent;                    /* the caller's cl->silent (the stream's tries are silent) */
};

/* Send slot i on the current connection (connecting first if needed). */
static int
put_send(struct client *cl, struct put_window *w, int i)
{
	Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
	int rv;

	if (cl->fd < 0 && (rv = client_connect(cl)) != 0)
		return rv;
	req.sha256.data = w->sha[i];
	req.sha256.len = 32;
	req.has_client_id = req.has_seq = 1;    /* GC protects the chunk until our commit */
	req.client_id = cl->client_id;
	req.seq = cl->seq + 1;          /* put_commit's */
	if (w->have[i]) {
		req.has_have = req.have = 1;
	} else {
		req.data.data = w->data[i];
		req.data.len = w->len[i];
	}
	if ((w->id[i] = client_send(cl, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base)) == 0)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "connection to %s lost", cl->nodes[cl->node]);
	return 0;
}

/* Wait for one acknowledgement and retire its slot. */
static int
put_ack(struct client *cl, struct put_window *w)
{
	struct frame_header h;
	ProtobufCMessage *msg;
	int rv = client_recv_frame(cl, &h, &msg), i;

	if (rv != 0)
		return rv;
	for (i = 0; i < w->n && w->id[i] != h.request_id; i++)
		;
	if (i < w->n && w->have[i] && h.type == RCFS__MSG_TYPE__MSG_ERROR) {
		/* The cluster lacks it (or the node predates have: it finds
		 * no data matching the hash): send the data, and data from now
		 * on. */
		protobuf_c_message_free_unpacked(msg, NULL);
		w->have[i] = false;
		w->ask = w->probing = false;
		return put_send(cl, w, i);
	}
	if ((rv = client_check(cl, &h, &msg, RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP)) != 0)
		return rv;
	protobuf_c_message_free_unpacked(msg, NULL);
	if (i == w->n)
		return client_fail(cl, EX_RCFS_ERROR, "response to an unknown request from %s",
		    cl->nodes[cl->node]);
	if (w->have[i])
		w->prog->stored += w->len[i];
	w->probing = false;
	{
		uint8_t *data = w->data[i];
		for (; i + 1 < w->n; i++) {
			w->data[i] = w->data[i + 1];
			w->len[i] = w->len[i + 1];
			memcpy(w->sha[i], w->sha[i + 1], 32);
			w->id[i] = w->id[i + 1];
			w->have[i] = w->have[i + 1];
		}
		w->data[--w->n] = data;         /* the buffer is reused */
	}
	w->retry_until = 0;
	return 0;
}

/* After a failed try (client_stream_recover): the unacknowledged chunks, in
 * order, to the next node, asking first whether the cluster has them (the
 * failed node may have stored them on W replicas before it went). */
static int
put_resend(struct client *cl, void *arg)
{
	struct put_window *w = arg;
	int rv = 0;

	w->ask = true;
	for (int i = 0; i < w->n && rv == 0; i++) {
		w->have[i] = true;
		rv = put_send(cl, w, i);
	}
	return rv;
}

static int
put_recover(struct client *cl, struct put_window *w, int rv)
{
	return client_stream_recover(cl, &w->retry_until, w->silent, rv, put_resend, w);
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

/* The put failed before its commit: end the GC protection its uploads gave
 * shas[0..n-1] (32 bytes each), so that they are freed now rather than after
 * gc_grace_ms.  Never after a commit was sent: one whose answer was lost may
 * still be applied, and needs its chunks.  Best effort, quietly. */
static void
put_release(struct client *cl, const uint8_t *shas, size_t n)
{
	ProtobufCBinaryData list[PUT_RELEASE_BATCH];
	bool silent = cl->silent;
	int attempt = cl->attempt_ms;

	cl->silent = true;
	cl->attempt_ms = 5000;
	for (size_t i = 0; i < n; i += PUT_RELEASE_BATCH) {
		Rcfs__ChunkProtect req = RCFS__CHUNK_PROTECT__INIT;
		Rcfs__ChunkProtectResponse *resp = NULL;
		size_t k = n - i < PUT_RELEASE_BATCH ? n - i : PUT_RELEASE_BATCH;
		for (size_t j = 0; j < k; j++) {
			list[j].data = (uint8_t *)shas + 32 * (i + j);
			list[j].len = 32;
		}
		req.sha256 = list;
		req.n_sha256 = k;
		req.client_id = cl->client_id;
		req.has_seq = 1;
		req.seq = cl->seq + 1;  /* the commit that will not come */
		req.has_release = req.release = 1;
		if (client_call(cl, RCFS__MSG_TYPE__MSG_CHUNK_PROTECT, &req.base,
		    RCFS__MSG_TYPE__MSG_CHUNK_PROTECT_RESP, (ProtobufCMessage **)&resp) != 0)
			break;
		rcfs__chunk_protect_response__free_unpacked(resp, NULL);
	}
	cl->silent = silent;
	cl->attempt_ms = attempt;
	/* A late release (answered at once, applied whenever it arrives) must
	 * not end the next file's protection: that one uploads under a new seq. */
	cl->seq++;
}

static int
cmd_put_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileMeta meta = RCFS__FILE_META__INIT;
	struct sha256 whole = { 0 };
	uint8_t file_sha[32], *buf, *hashes = NULL;
	size_t nchunks = 0, cap = 0, hashed = 0;
	ProtobufCBinaryData *chunks = NULL;
	struct progress prog;
	struct put_window w = { .silent = cl->silent, .prog = &prog };
	struct stat sb;
	const char *local, *bad;
	int fd, rv, saved_attempt = cl->attempt_ms;
	bool silent = cl->silent;
	uint64_t size = 0;

	if (argc == 3 && client_is_option(cl, 0, argv[0]) && strcmp(argv[0], "-r") == 0)
		return tree_put(cl, argv[1], argv[2]);
	if (argc != 2 || client_is_option(cl, 0, argv[0]))
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
	progress_start(&prog, cl, S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0);
	w.ask = S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > cl->chunk_size;
	/* The stream retries on the next node: its tries are bounded, and only
	 * the final error is said (put_recover). */
	cl->attempt_ms = client_attempt_ms(cl);
	cl->silent = true;
	for (;;) {
		ssize_t n;

		while (w.n >= PUT_WINDOW)
			if ((rv = put_ack(cl, &w)) != 0 && (rv = put_recover(cl, &w, rv)) != 0)
				goto out;
		if (w.data[w.n] == NULL)
			w.data[w.n] = xmalloc(cl->chunk_size);
		buf = w.data[w.n];
		if ((n = put_read_full(fd, buf, cl->chunk_size)) < 0) {
			cl->silent = silent;
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
			cl->silent = silent;
			cl->attempt_ms = saved_attempt;
			progress_add(&prog, (uint64_t)n);
			if ((rv = put_commit(cl, &meta)) == 0)
				progress_summary(&prog);
			goto out;
		}
		if (n == 0)
			break;
		if (nchunks == cap) {
			cap = cap ? cap * 2 : 64;
			hashes = xrealloc(hashes, cap * 32);
		}
		sha256(hashes + 32 * nchunks, buf, (size_t)n);
		hashed = nchunks + 1;
		sha256_update(&whole, buf, (size_t)n);
		memcpy(w.sha[w.n], hashes + 32 * nchunks, 32);
		w.len[w.n] = (size_t)n;
		w.have[w.n] = w.ask;
		w.probing = w.ask && nchunks == 0;
		if ((rv = put_send(cl, &w, w.n++)) != 0 && (rv = put_recover(cl, &w, rv)) != 0)
			goto out;
		/* The first chunk's answer decides how the next ones go: a new
		 * file's comes at once (nothing to read on the homes). */
		while (w.probing)
			if ((rv = put_ack(cl, &w)) != 0 && (rv = put_recover(cl, &w, rv)) != 0)
				goto out;
		nchunks++;
		size += (uint64_t)n;
		progress_add(&prog, (uint64_t)n);
		if ((size_t)n < cl->chunk_size)
			break;
	}
	while (w.n > 0)
		if ((rv = put_ack(cl, &w)) != 0 && (rv = put_recover(cl, &w, rv)) != 0)
			goto out;
	cl->silent = silent;
	cl->attempt_ms = saved_attempt;
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
	hashed = 0;                     /* from here on, never released */
	if ((rv = put_commit(cl, &meta)) == 0)
		progress_summary(&prog);
out:
	if (rv != 0 && hashed > 0)
		put_release(cl, hashes, hashed);
	cl->silent = silent;
	cl->attempt_ms = saved_attempt;
	sha256_free(&whole);
	if (fd != STDIN_FILENO)
		close(fd);
	for (int i = 0; i < PUT_WINDOW; i++)
		free(w.data[i]);
	free(hashes);
	free(chunks);
	return rv;
}
