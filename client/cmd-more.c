/* rcfs health, cat, cp: what users reach for in the first hour (issue 16).
 *   health         etcdctl's `endpoint health`: one line per node; exit 0
 *                  only if the cluster can take writes now.
 *   cat NAME...    every file to standard output, verified, in order.
 *   cp SRC DST     a new name for the same content: the metadata is
 *                  committed again under DST (chunks are content-addressed,
 *                  so nothing is uploaded).
 *   du [PREFIX]    files and bytes under PREFIX (a linearizable listing). */
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "util/name.h"

static int cmd_health_exec(struct client *cl, int argc, char **argv);
static int cmd_cat_exec(struct client *cl, int argc, char **argv);
static int cmd_cp_exec(struct client *cl, int argc, char **argv);
static int cmd_du_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_du_entry = {
	.name = "du",
	.usage = "du [PREFIX]",
	.exec = cmd_du_exec,
};

const struct client_cmd cmd_health_entry = {
	.name = "health",
	.usage = "health",
	.exec = cmd_health_exec,
};

const struct client_cmd cmd_cat_entry = {
	.name = "cat",
	.usage = "cat NAME|PATTERN...",
	.exec = cmd_cat_exec,
};

#define CP_PROTECT_BATCH 2048     /* hashes per ChunkProtect (68 KiB) */

static int cmd_mv_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_mv_entry = {
	.name = "mv",
	.usage = "mv SRC DST",
	.exec = cmd_mv_exec,
};

const struct client_cmd cmd_cp_entry = {
	.name = "cp",
	.usage = "cp SRC DST",
	.exec = cmd_cp_exec,
};

/* One node's own status within 2 s; NULL and why if it does not answer. */
static Rcfs__StatusResponse *
health_ask(struct client *cl, const char *addr, char *why, size_t whylen)
{
	Rcfs__StatusResponse *resp;
	int rv = client_ask_status(cl, addr, 2000, &resp);

	if (rv != 0)
		snprintf(why, whylen, "%s", rv == EX_RCFS_AUTH ? "authentication refused" : "unreachable");
	return rv == 0 ? resp : NULL;
}

static int
cmd_health_exec(struct client *cl, int argc, char **argv)
{
	bool writable = false;
	int healthy = 0;

	(void)argv;
	if (argc != 0)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_health_entry.usage);
	if (cl->json)
		printf("{\"nodes\":[");
	for (int i = 0; i < cl->nnodes; i++) {
		char why[160] = "";
		Rcfs__StatusResponse *r = health_ask(cl, cl->nodes[i], why, sizeof why);
		const Rcfs__NodeStatus *s = r != NULL ? r->nodes[0] : NULL;
		bool ok = false;

		if (s != NULL) {
			if (!s->storage_up)
				snprintf(why, sizeof why, "storage down");
			else if (s->leader_id == 0)
				snprintf(why, sizeof why, "no leader known");
			else if (s->has_admitted && !s->admitted)
				snprintf(why, sizeof why, "storage not admitted yet (being repaired)");
			else
				ok = true;
			/* Writes need a leader that serves: it says so itself. */
			if (ok && s->role != NULL && strcmp(s->role, "leader") == 0)
				writable = true;
		}
		healthy += ok;
		if (cl->json) {
			printf("%s{\"address\":", i ? "," : "");
			client_json_str(stdout, cl->nodes[i]);
			printf(",\"healthy\":%s", ok ? "true" : "false");
			if (s != NULL)
				printf(",\"id\":%llu,\"role\":\"%s\",\"leader\":%llu,\"applied_index\":%llu",
				    (unsigned long long)s->id, s->role ? s->role : "?",
				    (unsigned long long)s->leader_id, (unsigned long long)s->applied_index);
			if (!ok) {
				printf(",\"error\":");
				client_json_str(stdout, why);
			}
			printf("}");
		} else if (ok) {
			printf("%s is healthy: node %llu, %s, leader %llu, applied index %llu\n", cl->nodes[i],
			    (unsigned long long)s->id, s->role ? s->role : "?",
			    (unsigned long long)s->leader_id, (unsigned long long)s->applied_index);
		} else {
			printf("%s is unhealthy: %s\n", cl->nodes[i], why);
		}
		if (r != NULL)
			rcfs__status_response__free_unpacked(r, NULL);
	}
	if (cl->json)
		printf("],\"writable\":%s}\n", writable ? "true" : "false");
	if (!writable)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "the cluster cannot take writes now "
		    "(%d of %d nodes healthy, no serving leader among them)", healthy, cl->nnodes);
	return 0;
}

static int
cmd_cat_exec(struct client *cl, int argc, char **argv)
{
	if (argc < 1)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_cat_entry.usage);
	for (int i = 0; i < argc; i++) {
		size_t n = 1;
		char **names = &argv[i];
		int rv = 0;

		if (tree_is_glob(argv[i]) && !cl->literal &&
		    (rv = tree_glob(cl, argv[i], &n, &names)) != 0)
			return rv;
		for (size_t k = 0; k < n && rv == 0; k++) {
			char *args[2] = { names[k], "-" };
			rv = client_run_names(cl, &cmd_get_entry, 0, 2, args);
		}
		if (names != &argv[i])
			tree_glob_free(n, names);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* One atomic rename through the log (FileRename): no moment where both names
 * or neither exist; DST is replaced if it exists.  A retry after a lost
 * answer is applied once (client id, seq). */
static int
cmd_mv_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileRename req = RCFS__FILE_RENAME__INIT;
	Rcfs__FileRenameResponse *resp;
	const char *bad;
	int rv;

	if (argc != 2)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_mv_entry.usage);
	cl->target = argv[0];
	for (int i = 0; i < 2; i++)
		if ((bad = name_check(argv[i], strlen(argv[i]))) != NULL)
			return client_fail(cl, EX_RCFS_USAGE, "invalid name '%s': %s", argv[i], bad);
	if (strcmp(argv[0], argv[1]) == 0)
		return client_fail(cl, EX_RCFS_USAGE, "source and destination are the same name");
	req.src = argv[0];
	req.dst = argv[1];
	req.has_client_id = req.has_seq = 1;
	req.client_id = cl->client_id;
	req.seq = ++cl->seq;
	if ((rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_RENAME, &req.base,
	    RCFS__MSG_TYPE__MSG_FILE_RENAME_RESP, (ProtobufCMessage **)&resp)) != 0)
		return rv;
	if (cl->json) {
		printf("{\"name\":");
		client_json_str(stdout, argv[1]);
		printf(",\"from\":");
		client_json_str(stdout, argv[0]);
		printf(",\"version\":%llu}\n", (unsigned long long)resp->version);
	}
	rcfs__file_rename_response__free_unpacked(resp, NULL);
	return 0;
}

/* Protect the chunks of meta from GC for this client's next commit on
 * every reachable node (ChunkProtect), as an upload would (release: end that
 * protection): 0 or the exit code. */
static int
cp_protect(struct client *cl, const Rcfs__FileMeta *meta, bool release)
{
	for (size_t i = 0; i < meta->n_chunks; i += CP_PROTECT_BATCH) {
		Rcfs__ChunkProtect req = RCFS__CHUNK_PROTECT__INIT;
		Rcfs__ChunkProtectResponse *resp;
		size_t k = meta->n_chunks - i < CP_PROTECT_BATCH ? meta->n_chunks - i : CP_PROTECT_BATCH;
		int rv;

		req.sha256 = meta->chunks + i;
		req.n_sha256 = k;
		req.client_id = cl->client_id;
		req.has_seq = 1;
		req.seq = cl->seq + 1;
		req.has_release = req.release = release;
		if ((rv = client_call(cl, RCFS__MSG_TYPE__MSG_CHUNK_PROTECT, &req.base,
		    RCFS__MSG_TYPE__MSG_CHUNK_PROTECT_RESP, (ProtobufCMessage **)&resp)) != 0)
			return rv;
		rcfs__chunk_protect_response__free_unpacked(resp, NULL);
	}
	return 0;
}

/* SRC's metadata into *out, its chunks protected from GC for this client
 * while SRC still referenced them: stat, protect, stat again until two stats
 * agree (a removal or an overwrite in between would let GC free them before
 * the copy's commit references them). */
static int
cp_read_source(struct client *cl, const char *src, Rcfs__FileStatResponse **out)
{
	Rcfs__FileStat sreq = RCFS__FILE_STAT__INIT;
	Rcfs__FileStatResponse *prev = NULL, *cur;
	int rv;

	*out = NULL;
	sreq.name = (char *)src;
	for (int tries = 0; tries < 5; tries++) {
		if ((rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_STAT, &sreq.base,
		    RCFS__MSG_TYPE__MSG_FILE_STAT_RESP, (ProtobufCMessage **)&cur)) != 0)
			break;
		if (cur->meta->n_chunks == 0 || (prev != NULL && prev->meta->version == cur->meta->version)) {
			if (prev != NULL)
				rcfs__file_stat_response__free_unpacked(prev, NULL);
			*out = cur;
			return 0;
		}
		if (prev != NULL)
			rcfs__file_stat_response__free_unpacked(prev, NULL);
		prev = cur;
		if ((rv = cp_protect(cl, cur->meta, false)) != 0)
			break;
	}
	if (prev != NULL) {
		bool silent = cl->silent;
		cl->silent = true;
		cp_protect(cl, prev->meta, true);       /* no commit follows: quietly */
		cl->silent = silent;
		rcfs__file_stat_response__free_unpacked(prev, NULL);
	}
	return rv != 0 ? rv : client_fail(cl, EX_RCFS_UNAVAILABLE, "%s changed five times while being "
	    "copied: try again", src);
}

static int
cmd_cp_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileStatResponse *sresp;
	Rcfs__FileCommit creq = RCFS__FILE_COMMIT__INIT;
	Rcfs__FileCommitResponse *cresp;
	const char *bad;
	char *name;
	int rv;

	if (argc != 2)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_cp_entry.usage);
	cl->target = argv[0];
	for (int i = 0; i < 2; i++)
		if ((bad = name_check(argv[i], strlen(argv[i]))) != NULL)
			return client_fail(cl, EX_RCFS_USAGE, "invalid name '%s': %s", argv[i], bad);
	if ((rv = cp_read_source(cl, argv[0], &sresp)) != 0)
		return rv;
	/* The same chunks under a new name (nothing is copied). */
	name = sresp->meta->name;
	sresp->meta->name = argv[1];
	sresp->meta->has_version = 0;
	sresp->meta->has_hlc = 0;
	creq.meta = sresp->meta;
	creq.has_client_id = creq.has_seq = 1;
	creq.client_id = cl->client_id;
	creq.seq = ++cl->seq;
	cl->target = argv[1];
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_COMMIT, &creq.base,
	    RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP, (ProtobufCMessage **)&cresp);
	sresp->meta->name = name;
	if (rv == 0) {
		if (cl->json) {
			printf("{\"name\":");
			client_json_str(stdout, argv[1]);
			printf(",\"version\":%llu}\n", (unsigned long long)cresp->version);
		}
		rcfs__file_commit_response__free_unpacked(cresp, NULL);
	}
	rcfs__file_stat_response__free_unpacked(sresp, NULL);
	return rv;
}

struct du_sum {
	uint64_t files, bytes;
};

static int
du_add(void *arg, const Rcfs__FileMeta *m)
{
	struct du_sum *sum = arg;

	sum->files++;
	sum->bytes += m->size;
	return 0;
}

static int
cmd_du_exec(struct client *cl, int argc, char **argv)
{
	const char *prefix = argc == 1 ? argv[0] : "";
	struct du_sum sum = { 0, 0 };
	int rv;

	if (argc > 1)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_du_entry.usage);
	cl->target = prefix[0] ? prefix : NULL;
	if ((rv = client_list(cl, prefix, du_add, &sum)) != 0)
		return rv;
	if (cl->json) {
		printf("{\"prefix\":");
		client_json_str(stdout, prefix);
		printf(",\"files\":%llu,\"bytes\":%llu}\n", (unsigned long long)sum.files,
		    (unsigned long long)sum.bytes);
	} else {
		printf("%llu\t%s (%llu files)\n", (unsigned long long)sum.bytes, prefix[0] ? prefix : ".",
		    (unsigned long long)sum.files);
	}
	return 0;
}
