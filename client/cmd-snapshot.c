/* rcfs snapshot save|status|restore: backups of a live cluster
 * (docs/operations.md, "Back up and restore").
 *
 * A backup file is "RCFSBAK1", then records of a u8 type and a u64 LE
 * length followed by that many bytes:
 *   'M'  the file table at one committed index (a packed Snapshot, as the
 *        leader dumped it after a read barrier: a linearizable cut);
 *   'C'  a chunk: its 32-byte SHA-256, then its bytes (each referenced chunk
 *        once, fetched verified while writes go on);
 *   'E'  the manifest, last: one line of JSON with index, term, cluster id,
 *        files, chunks, bytes and the SHA-256 of every byte before this record.
 * Chunks are content-addressed and never change, so chunks read after the
 * cut are still the ones the cut references (GC keeps an unreferenced chunk
 * for gc_grace_ms: a backup must finish within it). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client/client.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

static int cmd_snapshot_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_snapshot_entry = {
	.name = "snapshot",
	.usage = "snapshot save FILE | status FILE | restore FILE",
	.exec = cmd_snapshot_exec,
};

#define BAK_MAGIC "RCFSBAK1"
#define BAK_MAX_META (1ULL << 32)       /* a file table larger than 4 GiB is refused */

/* ---- writing ------------------------------------------------------------------- */

struct bak_writer {
	FILE *f;
	struct sha256 sum;
	uint64_t bytes;
};

static int
bak_put(struct bak_writer *w, const void *data, size_t len)
{
	if (len > 0 && fwrite(data, 1, len, w->f) != len)
		return -1;
	sha256_update(&w->sum, data, len);
	w->bytes += len;
	return 0;
}

static int
bak_record(struct bak_writer *w, char type, const void *a, size_t alen, const void *b,
    size_t blen)
{
	uint8_t hdr[9];
	uint64_t len = (uint64_t)alen + blen;

	hdr[0] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		hdr[1 + i] = (uint8_t)(len >> (8 * i));
	return bak_put(w, hdr, sizeof hdr) || bak_put(w, a, alen) || bak_put(w, b, blen) ? -1 : 0;
}

/* The whole dump, slice by slice, from the leader. */
static int
snapshot_fetch_dump(struct client *cl, Rcfs__BackupGetResponse *first, uint8_t **out,
    size_t *outlen)
{
	uint8_t *buf;
	uint64_t off = 0;
	int rv;

	if (first->total > BAK_MAX_META)
		return client_fail(cl, EX_RCFS_ERROR, "the file table is too large to back up (%llu bytes)",
		    (unsigned long long)first->total);
	buf = xmalloc(first->total ? first->total : 1);
	for (;;) {
		Rcfs__BackupGet req = RCFS__BACKUP_GET__INIT;
		Rcfs__BackupGetResponse *r;
		if (off == first->offset && first->data.len > 0) {
			memcpy(buf + off, first->data.data, first->data.len);
			off += first->data.len;
		}
		if (off >= first->total)
			break;
		req.has_dump_id = req.has_offset = 1;
		req.dump_id = first->dump_id;
		req.offset = off;
		if ((rv = client_call_patient(cl, RCFS__MSG_TYPE__MSG_BACKUP_GET, &req.base,
		    RCFS__MSG_TYPE__MSG_BACKUP_GET_RESP, (ProtobufCMessage **)&r)) != 0) {
			free(buf);
			return rv;
		}
		if (r->offset != off || r->data.len == 0 || r->data.len > first->total - off) {
			rcfs__backup_get_response__free_unpacked(r, NULL);
			free(buf);
			return client_fail(cl, EX_RCFS_ERROR, "the node sent a bad slice of the dump");
		}
		memcpy(buf + off, r->data.data, r->data.len);
		off += r->data.len;
		rcfs__backup_get_response__free_unpacked(r, NULL);
	}
	*out = buf;
	*outlen = first->total;
	return 0;
}

/* The distinct chunks the file table references, in first-use order. */
static size_t
snapshot_chunks(Rcfs__FileMeta **metas, size_t n, uint8_t (**out)[32], uint64_t *bytes)
{
	uint8_t (*list)[32] = NULL;
	size_t count = 0, cap = 0;

	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		*bytes += metas[i]->size;
		for (size_t k = 0; k < metas[i]->n_chunks; k++) {
			bool seen = false;
			if (metas[i]->chunks[k].len != 32)
				continue;
			for (size_t j = 0; j < count && !seen; j++)  /* fine up to ~1e5 chunks */
				seen = memcmp(list[j], metas[i]->chunks[k].data, 32) == 0;
			if (seen)
				continue;
			if (count == cap) {
				cap = cap ? 2 * cap : 256;
				list = xrealloc(list, cap * sizeof *list);
			}
			memcpy(list[count++], metas[i]->chunks[k].data, 32);
		}
	}
	*out = list;
	return count;
}

/* Unpacked FileMeta of every file in a packed Snapshot; NULL if it does not decode. */
static Rcfs__Snapshot *
snapshot_decode(const uint8_t *data, size_t len, Rcfs__FileMeta ***metas)
{
	Rcfs__Snapshot *snap = rcfs__snapshot__unpack(NULL, len, data);

	if (snap == NULL)
		return NULL;
	*metas = xcalloc(snap->n_files + 1, sizeof **metas);
	for (size_t i = 0; i < snap->n_files; i++) {
		(*metas)[i] = rcfs__file_meta__unpack(NULL, snap->files[i]->meta.len,
		    snap->files[i]->meta.data);
		if ((*metas)[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				rcfs__file_meta__free_unpacked((*metas)[j], NULL);
			free(*metas);
			rcfs__snapshot__free_unpacked(snap, NULL);
			return NULL;
		}
	}
	return snap;
}

static void
snapshot_free(Rcfs__Snapshot *snap, Rcfs__FileMeta **metas)
{
	for (size_t i = 0; snap != NULL && i < snap->n_files; i++)
		rcfs__file_meta__free_unpacked(metas[i], NULL);
	free(metas);
	if (snap != NULL)
		rcfs__snapshot__free_unpacked(snap, NULL);
}

/* The dump's GC hold (a 10-minute lease in the log): renew it while the
 * chunks are read, release it at the end.  Quietly: a hold not released
 * ends by itself; one not renewed in time ends early, and a chunk freed
 * meanwhile fails the save (it says so). */
#define SNAPSHOT_RENEW_MS (2 * 60 * 1000)      /* the hold is a 10-minute lease */

static void
snapshot_hold(struct client *cl, uint64_t dump_id, bool release)
{
	Rcfs__BackupGet req = RCFS__BACKUP_GET__INIT;
	Rcfs__BackupGetResponse *r = NULL;
	bool silent = cl->silent;
	int attempt = cl->attempt_ms;

	if (dump_id == 0)
		return;
	req.has_dump_id = 1;
	req.dump_id = dump_id;
	req.has_release = req.release = release;
	req.has_renew = req.renew = !release;
	cl->silent = true;
	cl->attempt_ms = 5000;
	if (client_call(cl, RCFS__MSG_TYPE__MSG_BACKUP_GET, &req.base, RCFS__MSG_TYPE__MSG_BACKUP_GET_RESP,
	    (ProtobufCMessage **)&r) == 0)
		rcfs__backup_get_response__free_unpacked(r, NULL);
	cl->silent = silent;
	cl->attempt_ms = attempt;
}

static int
snapshot_save(struct client *cl, const char *path)
{
	Rcfs__BackupGet req = RCFS__BACKUP_GET__INIT;
	Rcfs__BackupGetResponse *first = NULL;
	Rcfs__Snapshot *snap = NULL;
	Rcfs__FileMeta **metas = NULL;
	struct bak_writer w = { NULL, { NULL }, 0 };
	struct progress pr;
	uint8_t *dump = NULL, (*chunks)[32] = NULL, sum[32];
	char tmp[4096], hex[65], manifest[512];
	size_t dumplen = 0, nchunks = 0;
	uint64_t bytes = 0, chunk_bytes = 0, index, term, cluster_id, dump_id = 0, renewed_ms;
	int rv, fd;

	/* Our id for the dump's GC hold: a retried request is the same hold. */
	randombytes_buf(&req.holder, sizeof req.holder);
	req.holder = (req.holder | 1) & 0x7fffffffffffffffULL;
	req.has_holder = 1;
	if ((rv = client_call_patient(cl, RCFS__MSG_TYPE__MSG_BACKUP_GET, &req.base,
	    RCFS__MSG_TYPE__MSG_BACKUP_GET_RESP, (ProtobufCMessage **)&first)) != 0) {
		snapshot_hold(cl, req.holder, true);
		return rv;
	}
	renewed_ms = client_now_ms();
	index = first->index;
	dump_id = first->dump_id;
	term = first->has_term ? first->term : 0;
	cluster_id = first->has_cluster_id ? first->cluster_id : 0;
	rv = snapshot_fetch_dump(cl, first, &dump, &dumplen);
	rcfs__backup_get_response__free_unpacked(first, NULL);
	if (rv != 0)
		goto out;
	if ((snap = snapshot_decode(dump, dumplen, &metas)) == NULL) {
		rv = client_fail(cl, EX_RCFS_ERROR, "the node's dump of the file table does not decode");
		goto out;
	}
	nchunks = snapshot_chunks(metas, snap->n_files, &chunks, &bytes);
	if (snprintf(tmp, sizeof tmp, "%s.rcfs-XXXXXX", path) >= (int)sizeof tmp ||
	    (fd = mkstemp(tmp)) < 0) {
		rv = client_fail(cl, EX_RCFS_LOCAL, "%s: cannot create a temporary file next to it: %s",
		    path, strerror(errno));
		goto out;
	}
	w.f = fdopen(fd, "wb");
	sha256_init(&w.sum);
	if (bak_put(&w, BAK_MAGIC, 8) || bak_record(&w, 'M', dump, dumplen, NULL, 0)) {
		rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	progress_start(&pr, cl, bytes);
	for (size_t i = 0; i < nchunks; i++) {
		Rcfs__ChunkGet cg = RCFS__CHUNK_GET__INIT;
		Rcfs__ChunkGetResponse *r;
		uint8_t check[32];
		cg.sha256.data = chunks[i];
		cg.sha256.len = 32;
		if (client_now_ms() - renewed_ms > SNAPSHOT_RENEW_MS) {
			snapshot_hold(cl, dump_id, false);
			renewed_ms = client_now_ms();
		}
		if ((rv = client_call(cl, RCFS__MSG_TYPE__MSG_CHUNK_GET, &cg.base,
		    RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP, (ProtobufCMessage **)&r)) != 0)
			goto fail;
		sha256(check, r->data.data, r->data.len);
		if (sodium_memcmp(check, chunks[i], 32) != 0) {
			rcfs__chunk_get_response__free_unpacked(r, NULL);
			rv = client_fail(cl, EX_RCFS_INTEGRITY, "a chunk does not match its SHA-256");
			goto fail;
		}
		if (bak_record(&w, 'C', chunks[i], 32, r->data.data, r->data.len)) {
			rcfs__chunk_get_response__free_unpacked(r, NULL);
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", tmp, strerror(errno));
			goto fail;
		}
		chunk_bytes += r->data.len;
		progress_add(&pr, r->data.len);
		rcfs__chunk_get_response__free_unpacked(r, NULL);
	}
	progress_end(&pr);
	sha256_final(&w.sum, sum);
	sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
	snprintf(manifest, sizeof manifest, "{\"format\":\"rcfs-backup-1\",\"index\":%" PRIu64
	    ",\"term\":%" PRIu64 ",\"cluster_id\":\"%016" PRIx64 "\",\"files\":%zu,\"chunks\":%zu,"
	    "\"bytes\":%" PRIu64 ",\"chunk_bytes\":%" PRIu64 ",\"sha256\":\"%s\"}", index, term,
	    cluster_id, snap->n_files, nchunks, bytes, chunk_bytes, hex);
	{
		uint8_t hdr[9];
		uint64_t len = strlen(manifest);
		hdr[0] = 'E';
		for (int i = 0; i < 8; i++)
			hdr[1 + i] = (uint8_t)(len >> (8 * i));
		if (fwrite(hdr, 1, 9, w.f) != 9 || fwrite(manifest, 1, len, w.f) != len ||
		    fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", tmp, strerror(errno));
			goto fail2;
		}
	}
	if (fclose(w.f) != 0 || rename(tmp, path) != 0) {
		w.f = NULL;
		rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", path, strerror(errno));
		goto fail2;
	}
	w.f = NULL;
	if (cl->json)
		printf("%s\n", manifest);
	else if (!cl->quiet)
		printf("backup of index %" PRIu64 ": %zu files, %zu chunks, %" PRIu64 " bytes -> %s\n",
		    index, snap->n_files, nchunks, bytes, path);
	rv = 0;
	goto out;
fail:
	sha256_free(&w.sum);
fail2:
	if (w.f != NULL)
		fclose(w.f);
	unlink(tmp);
out:
	snapshot_hold(cl, dump_id, true);
	snapshot_free(snap, metas);
	free(chunks);
	free(dump);
	return rv;
}

/* ---- reading ------------------------------------------------------------------- */

struct bak_reader {
	FILE *f;
	struct sha256 sum;
	char type;
	uint64_t len;
};

/* The next record's header; 0, or -1 at a short read. */
static int
bak_next(struct bak_reader *r)
{
	uint8_t hdr[9];

	if (fread(hdr, 1, 9, r->f) != 9)
		return -1;
	r->type = (char)hdr[0];
	r->len = 0;
	for (int i = 7; i >= 0; i--)
		r->len = (r->len << 8) | hdr[1 + i];
	if (r->type != 'E')
		sha256_update(&r->sum, hdr, 9);
	return 0;
}

static int
bak_body(struct bak_reader *r, uint8_t *buf)
{
	if (r->len > 0 && fread(buf, 1, r->len, r->f) != r->len)
		return -1;
	if (r->type != 'E')
		sha256_update(&r->sum, buf, r->len);
	return 0;
}

/* A verified backup: every record, every chunk's hash, the manifest's
 * SHA-256.  With put != NULL, each chunk goes to put(cl, sha, data, len)
 * (restore) after the first pass verified the whole file.  Fills the
 * manifest text and the decoded file table. */
struct bak_content {
	char manifest[512];
	uint8_t *dump;
	size_t dumplen;
	size_t chunks;
};

static int
bak_read(struct client *cl, const char *path, struct bak_content *out,
    int (*put)(struct client *cl, const uint8_t *sha, const uint8_t *data, size_t len))
{
	struct bak_reader r;
	uint8_t magic[8], sum[32], *buf = NULL;
	char hex[65];
	const char *want;
	int rv = 0;

	memset(out, 0, sizeof *out);
	memset(&r, 0, sizeof r);
	if ((r.f = fopen(path, "rb")) == NULL)
		return client_fail(cl, EX_RCFS_LOCAL, "%s", strerror(errno));
	sha256_init(&r.sum);
	if (fread(magic, 1, 8, r.f) != 8 || memcmp(magic, BAK_MAGIC, 8) != 0) {
		rv = client_fail(cl, EX_RCFS_INTEGRITY, "not an rcfs backup");
		goto out;
	}
	sha256_update(&r.sum, magic, 8);
	for (;;) {
		if (bak_next(&r) != 0) {
			rv = client_fail(cl, EX_RCFS_INTEGRITY, "truncated (no manifest)");
			goto out;
		}
		if ((r.type == 'C' && (r.len < 32 || r.len > 32 + (64ULL << 20))) ||
		    (r.type == 'M' && r.len > BAK_MAX_META) || (r.type == 'E' && r.len >= 512) ||
		    (r.type != 'C' && r.type != 'M' && r.type != 'E')) {
			rv = client_fail(cl, EX_RCFS_INTEGRITY, "damaged record");
			goto out;
		}
		buf = xrealloc(buf, r.len + 1);
		if (bak_body(&r, buf) != 0) {
			rv = client_fail(cl, EX_RCFS_INTEGRITY, "truncated");
			goto out;
		}
		if (r.type == 'E') {
			memcpy(out->manifest, buf, r.len);
			out->manifest[r.len] = '\0';
			break;
		}
		if (r.type == 'M' && out->dump == NULL) {
			out->dump = xmalloc(r.len ? r.len : 1);
			memcpy(out->dump, buf, r.len);
			out->dumplen = r.len;
		} else if (r.type == 'C') {
			uint8_t check[32];
			sha256(check, buf + 32, r.len - 32);
			if (memcmp(check, buf, 32) != 0) {
				rv = client_fail(cl, EX_RCFS_INTEGRITY, "chunk %zu does not match its SHA-256",
				    out->chunks + 1);
				goto out;
			}
			if (put != NULL && (rv = put(cl, buf, buf + 32, r.len - 32)) != 0)
				goto out;
			out->chunks++;
		}
	}
	sha256_final(&r.sum, sum);
	sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
	want = strstr(out->manifest, "\"sha256\":\"");
	if (want == NULL || strncmp(want + 10, hex, 64) != 0 || out->dump == NULL) {
		rv = client_fail(cl, EX_RCFS_INTEGRITY, "the contents do not match the "
		    "manifest's SHA-256");
		goto out;
	}
out:
	if (rv != 0) {
		free(out->dump);
		out->dump = NULL;
		if (r.sum.ctx != NULL)
			sha256_free(&r.sum);
	}
	free(buf);
	fclose(r.f);
	return rv;
}

static int
snapshot_status(struct client *cl, const char *path)
{
	struct bak_content c;
	int rv = bak_read(cl, path, &c, NULL);

	if (rv != 0)
		return rv;
	if (cl->json)
		printf("%s\n", c.manifest);
	else
		printf("%s: ok (every chunk and the whole file verified)\n%s\n", path, c.manifest);
	free(c.dump);
	return 0;
}

static int
restore_put_chunk(struct client *cl, const uint8_t *sha, const uint8_t *data, size_t len)
{
	Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
	Rcfs__ChunkPutResponse *resp;
	int rv;

	req.sha256.data = (uint8_t *)sha;
	req.sha256.len = 32;
	req.data.data = (uint8_t *)data;
	req.data.len = len;
	req.has_client_id = 1;          /* GC protects the chunk (for gc_grace_ms) */
	req.client_id = cl->client_id;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base,
	    RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP, (ProtobufCMessage **)&resp);
	if (rv == 0)
		rcfs__chunk_put_response__free_unpacked(resp, NULL);
	return rv;
}

/* Into a cluster that holds no file: every chunk (verified again by the
 * nodes), then every file's metadata, committed through Raft as a put
 * would.  The files keep their names, sizes, hashes, modes and mtimes; their
 * versions are the new cluster's log indexes. */
static int
snapshot_restore(struct client *cl, const char *path)
{
	Rcfs__FileList lreq = RCFS__FILE_LIST__INIT;
	Rcfs__FileListResponse *lresp;
	Rcfs__Snapshot *snap;
	Rcfs__FileMeta **metas = NULL;
	struct bak_content c;
	int rv;

	if ((rv = bak_read(cl, path, &c, NULL)) != 0)      /* verify it all first */
		return rv;
	free(c.dump);
	lreq.has_limit = 1;
	lreq.limit = 1;
	if ((rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_LIST, &lreq.base,
	    RCFS__MSG_TYPE__MSG_FILE_LIST_RESP, (ProtobufCMessage **)&lresp)) != 0)
		return rv;
	if (lresp->n_files > 0) {
		rcfs__file_list_response__free_unpacked(lresp, NULL);
		return client_fail(cl, EX_RCFS_REFUSED, "the cluster holds files: restore into a new, "
		    "empty cluster");
	}
	rcfs__file_list_response__free_unpacked(lresp, NULL);
	if ((rv = client_hello(cl)) != 0)
		return rv;
	if ((rv = bak_read(cl, path, &c, restore_put_chunk)) != 0)
		return rv;
	if ((snap = snapshot_decode(c.dump, c.dumplen, &metas)) == NULL) {
		free(c.dump);
		return client_fail(cl, EX_RCFS_INTEGRITY, "the file table does not decode");
	}
	for (size_t i = 0; i < snap->n_files && rv == 0; i++) {
		Rcfs__FileCommit req = RCFS__FILE_COMMIT__INIT;
		Rcfs__FileCommitResponse *resp;
		metas[i]->has_version = 0;
		metas[i]->has_hlc = 0;
		req.meta = metas[i];
		req.has_client_id = req.has_seq = 1;
		req.client_id = cl->client_id;
		req.seq = ++cl->seq;
		cl->target = metas[i]->name;
		rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_COMMIT, &req.base,
		    RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP, (ProtobufCMessage **)&resp);
		if (rv == 0)
			rcfs__file_commit_response__free_unpacked(resp, NULL);
	}
	if (rv == 0 && !cl->quiet)
		printf("restored %zu files (%zu chunks) from %s\n", snap->n_files, c.chunks, path);
	snapshot_free(snap, metas);
	free(c.dump);
	return rv;
}

static int
cmd_snapshot_exec(struct client *cl, int argc, char **argv)
{
	if (argc != 2)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_snapshot_entry.usage);
	cl->target = argv[1];
	if (strcmp(argv[0], "save") == 0)
		return snapshot_save(cl, argv[1]);
	if (strcmp(argv[0], "status") == 0)
		return snapshot_status(cl, argv[1]);
	if (strcmp(argv[0], "restore") == 0)
		return snapshot_restore(cl, argv[1]);
	return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_snapshot_entry.usage);
}
