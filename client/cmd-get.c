/* rcfs get NAME [LOCAL|-]: fetch a file, verifying every chunk's SHA-256
 * before it is written and the whole file's before it is visible at LOCAL.
 *
 * Where it goes (rcfs(1) "get"), decided by get_dest_open:
 *  - a new name or a regular file: a temporary file in the same directory,
 *    fsynced, then renamed over it (a symlink to a regular file is followed:
 *    its target is replaced this way and the link kept);
 *  - any other existing file (character or block device, FIFO, socket, or a
 *    symlink to one): opened as it is and written in place, as a stream of
 *    verified chunks, like "-" (standard output);
 *  - a directory or a dangling symlink: refused before anything is fetched.
 * SIGINT, SIGTERM and SIGHUP remove the temporary file before the process
 * dies of the signal (SIGPIPE is ignored: a write fails with EPIPE and the
 * ordinary error path removes it).  Up to GET_WINDOW chunk requests are in
 * flight. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
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
	bool node_verifies;             /* our check failed once: the node checks too */
};

enum get_dest_kind {
	GET_DEST_STDOUT,                /* "-" */
	GET_DEST_REPLACE,               /* temporary file renamed over `path` */
	GET_DEST_STREAM,                /* an existing non-regular file, written in place */
};

struct get_dest {
	enum get_dest_kind kind;
	bool no_clobber;                /* --no-clobber: an existing LOCAL is never touched */
	const char *shown;              /* in messages and --json: as the user named it */
	char *path;                     /* REPLACE: the file renamed over (symlinks resolved) */
	int fd;
	bool fsync;                     /* REPLACE, or a block device */
};

/* The temporary file, for the signal handler: a static buffer (no malloc in
 * a handler), valid while get_tmp_armed. */
static char get_tmp[PATH_MAX];
static volatile sig_atomic_t get_tmp_armed;
static const int get_signals[] = { SIGINT, SIGTERM, SIGHUP };

static int cmd_get_exec(struct client *cl, int argc, char **argv);
static int get_write_all(int fd, const uint8_t *p, size_t len);
static int get_stat(struct client *cl, const char *name, Rcfs__FileMeta **meta);
static void get_on_signal(int sig);
static void get_signals_install(void);
static void get_signals_block(sigset_t *old);
static int get_dest_open(struct client *cl, const char *arg, struct get_dest *d);
static int get_tmp_create(struct client *cl, struct get_dest *d);
static void get_tmp_remove(void);
static int get_write_failed(struct client *cl, const struct get_dest *d);
static bool get_to_terminal_refused(struct client *cl, const struct get_dest *d, bool force,
    const uint8_t *data, size_t len);
static int get_send(struct client *cl, const Rcfs__FileMeta *meta, struct get_slot *s);
static int get_glob(struct client *cl, const char *pattern, const char *dir, bool force,
    bool no_clobber);
static int get_recover(struct client *cl, const Rcfs__FileMeta *meta, struct get_slot *slots,
    size_t from, size_t to, uint64_t *retry_until, bool silent, int rv);

const struct client_cmd cmd_get_entry = {
	.name = "get",
	.usage = "get [-f] [--no-clobber] NAME [LOCAL|-] | get PATTERN DIR | get -r PREFIX LOCALDIR",
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

/* Remove the temporary file and die of the signal, as if it had not been
 * caught (the shell sees 128 + sig).  Only async-signal-safe calls. */
static void
get_on_signal(int sig)
{
	if (get_tmp_armed) {
		unlink(get_tmp);
		get_tmp_armed = 0;
	}
	signal(sig, SIG_DFL);
	raise(sig);                     /* pending until the handler returns */
}

/* Catch get_signals, except one the caller ignores (nohup, a shell's
 * background job): that stays ignored. */
static void
get_signals_install(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = get_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof get_signals / sizeof get_signals[0]; i++)
		sigaddset(&sa.sa_mask, get_signals[i]);
	for (size_t i = 0; i < sizeof get_signals / sizeof get_signals[0]; i++) {
		if (sigaction(get_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(get_signals[i], &sa, NULL);
	}
}

/* Block get_signals (while the temporary file and get_tmp_armed change
 * together); *old is the mask to restore. */
static void
get_signals_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof get_signals / sizeof get_signals[0]; i++)
		sigaddset(&set, get_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* Decide where the file goes (see the top of this file); open it now if it
 * is written in place, before the node is asked anything, so a FIFO waiting
 * for its reader does not leave an idle connection behind.  0, or an exit
 * code after the error line. */
static int
get_dest_open(struct client *cl, const char *arg, struct get_dest *d)
{
	struct stat lsb, sb;
	int err;

	bool no_clobber = d->no_clobber;

	memset(d, 0, sizeof *d);
	d->no_clobber = no_clobber;
	d->shown = arg;
	d->fd = -1;
	if (no_clobber && strcmp(arg, "-") != 0 && lstat(arg, &lsb) == 0)
		return client_fail(cl, EX_RCFS_LOCAL, "%s: exists (--no-clobber)", arg);
	if (strcmp(arg, "-") == 0) {
		d->kind = GET_DEST_STDOUT;
		d->shown = "stdout";
		d->fd = STDOUT_FILENO;
		return 0;
	}
	if (lstat(arg, &lsb) != 0) {
		if (errno != ENOENT)
			return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", arg, strerror(errno));
		d->kind = GET_DEST_REPLACE;             /* a new name */
		d->path = xstrdup(arg);
		d->fsync = true;
		return 0;
	}
	sb = lsb;
	if (S_ISLNK(lsb.st_mode) && stat(arg, &sb) != 0) {
		if (errno == ENOENT)
			return client_fail(cl, EX_RCFS_LOCAL,
			    "%s: not writing through a dangling symbolic link", arg);
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", arg, strerror(errno));
	}
	if (S_ISDIR(sb.st_mode))
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", arg, strerror(EISDIR));
	if (S_ISREG(sb.st_mode)) {
		/* Replaced atomically; through a symlink, its target is (in the
		 * target's directory), and the link stays a link. */
		d->kind = GET_DEST_REPLACE;
		d->fsync = true;
		if (!S_ISLNK(lsb.st_mode))
			d->path = xstrdup(arg);
		else if ((d->path = realpath(arg, NULL)) == NULL)
			return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", arg, strerror(errno));
		return 0;
	}
	if (S_ISSOCK(sb.st_mode))
		return client_fail(cl, EX_RCFS_LOCAL, "%s: is a socket", arg);
	/* A device or a FIFO (or a link to one): written in place, never
	 * truncated, created or replaced.  A FIFO blocks here until it has a
	 * reader, as a shell redirection does. */
	d->kind = GET_DEST_STREAM;
	d->fsync = S_ISBLK(sb.st_mode);
	do
		d->fd = open(arg, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	while (d->fd < 0 && errno == EINTR);
	if (d->fd < 0)
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", arg, strerror(errno));
	/* Replaced by a regular file since lstat: writing into it without
	 * truncating would mix old and new bytes. */
	if (fstat(d->fd, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) {
		err = errno;
		close(d->fd);
		d->fd = -1;
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", arg,
		    S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode) ? "changed while being opened" : strerror(err));
	}
	return 0;
}

/* The temporary file next to d->path, armed for the signal handler. */
static int
get_tmp_create(struct client *cl, struct get_dest *d)
{
	sigset_t old;
	int n, fd, err;

	n = snprintf(get_tmp, sizeof get_tmp, "%s.rcfs-XXXXXX", d->path);
	if (n < 0 || (size_t)n >= sizeof get_tmp)
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", d->shown, strerror(ENAMETOOLONG));
	get_signals_block(&old);
	fd = mkstemp(get_tmp);
	err = errno;
	if (fd >= 0)
		get_tmp_armed = 1;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (fd < 0)
		return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", d->shown, strerror(err));
	d->fd = fd;
	return 0;
}

/* A write to the destination failed (errno).  A reader that went away
 * (rcfs get NAME - | head) is not an error: die of SIGPIPE quietly, as cat
 * does (the shell sees 141).  Anything else: exit code after the line. */
static int
get_write_failed(struct client *cl, const struct get_dest *d)
{
	if (errno == EPIPE && d->kind != GET_DEST_REPLACE) {
		client_disconnect(cl);
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	return client_fail(cl, EX_RCFS_LOCAL, "%s: %s", d->shown, strerror(errno));
}

/* Never leave a partial or corrupt file behind. */
static void
get_tmp_remove(void)
{
	sigset_t old;

	get_signals_block(&old);
	if (get_tmp_armed) {
		unlink(get_tmp);
		get_tmp_armed = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A binary file is not dumped on a terminal (curl and mc do the same): a NUL
 * byte in what is about to be written to a tty refuses it, unless -f.  True
 * after saying so. */
static bool
get_to_terminal_refused(struct client *cl, const struct get_dest *d, bool force,
    const uint8_t *data, size_t len)
{
	if (force || d->kind != GET_DEST_STDOUT || memchr(data, 0, len) == NULL || !isatty(d->fd))
		return false;
	client_fail(cl, EX_RCFS_USAGE, "binary file not written to the terminal (rcfs get -f %s -, "
	    "or a destination: rcfs get %s FILE)", cl->target, cl->target);
	return true;
}

/* Ask the connected node for slot s's chunk. */
static int
get_send(struct client *cl, const Rcfs__FileMeta *meta, struct get_slot *s)
{
	Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;

	req.sha256 = meta->chunks[s->chunk];
	/* We check every chunk: the node need not hash it first (until a check
	 * fails: then it verifies, marks its corrupt copy, serves another). */
	req.has_client_verifies = req.client_verifies = !s->node_verifies;
	if ((s->id = client_send(cl, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base)) == 0)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "connection to %s lost", cl->nodes[cl->node]);
	return 0;
}

/* After a failed try (client_stream_recover): the next node, asked for the
 * chunks of [from, to) that have not arrived.  Chunks are named by their
 * hash and checked here: any node's copy will do. */
struct get_resend {
	const Rcfs__FileMeta *meta;
	struct get_slot *slots;
	size_t from, to;
};

static int
get_resend(struct client *cl, void *arg)
{
	struct get_resend *g = arg;
	int rv = client_connect(cl);

	for (size_t c = g->from; rv == 0 && c < g->to; c++)
		if (g->slots[c % GET_WINDOW].resp == NULL)
			rv = get_send(cl, g->meta, &g->slots[c % GET_WINDOW]);
	return rv;
}

static int
get_recover(struct client *cl, const Rcfs__FileMeta *meta, struct get_slot *slots, size_t from,
    size_t to, uint64_t *retry_until, bool silent, int rv)
{
	struct get_resend g = { meta, slots, from, to };

	return client_stream_recover(cl, retry_until, silent, rv, get_resend, &g);
}

/* get PATTERN DIR: every match into DIR (which must exist), under its last
 * name component, one after the other; the first failure ends it. */
static int
get_glob(struct client *cl, const char *pattern, const char *dir, bool force, bool no_clobber)
{
	struct stat sb;
	size_t n;
	char **names;
	int rv;

	cl->target = pattern;
	if (dir == NULL || strcmp(dir, "-") == 0)
		return client_fail(cl, EX_RCFS_USAGE, "a pattern needs a destination directory "
		    "(rcfs get PATTERN DIR, or rcfs cat PATTERN)");
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return client_fail(cl, EX_RCFS_LOCAL, "%s: not a directory (a pattern goes into one)", dir);
	if ((rv = tree_glob(cl, pattern, &n, &names)) != 0)
		return rv;
	for (size_t k = 0; k < n && rv == 0; k++) {
		const char *base = strrchr(names[k], '/');
		char *local = xasprintf("%s/%s", dir, base != NULL ? base + 1 : names[k]);
		char *args[4];
		int a = 0;

		int nopts;

		if (force)
			args[a++] = "-f";
		if (no_clobber)
			args[a++] = "--no-clobber";
		nopts = a;
		args[a++] = names[k];
		args[a++] = local;
		rv = client_run_names(cl, &cmd_get_entry, nopts, a, args);
		free(local);
	}
	tree_glob_free(n, names);
	return rv;
}

static int
cmd_get_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__FileMeta *meta = NULL;
	struct get_slot slots[GET_WINDOW];
	struct get_dest dest = { .fd = -1 };
	struct sha256 whole = { 0 };
	struct progress prog;
	sigset_t old;
	uint8_t sha[32];
	char *namecopy = NULL;
	const char *bad;
	size_t next_send = 0, next_write = 0;
	uint64_t written = 0, retry_until = 0;
	int rv, err, saved_attempt = cl->attempt_ms;
	bool silent = cl->silent;

	char *args[2];
	int nargs = 0;
	bool force = false, tree = false;

	for (int i = 0; i < argc; i++) {
		if (client_is_option(cl, i, argv[i]) &&
		    (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--force") == 0))
			force = true;
		else if (client_is_option(cl, i, argv[i]) && strcmp(argv[i], "-r") == 0)
			tree = true;
		else if (client_is_option(cl, i, argv[i]) && strcmp(argv[i], "--no-clobber") == 0)
			dest.no_clobber = true;
		else if (client_is_option(cl, i, argv[i]) || nargs == 2)
			return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_get_entry.usage);
		else
			args[nargs++] = argv[i];
	}
	if (nargs < 1 || (tree && nargs != 2))
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_get_entry.usage);
	if (tree)
		return tree_get(cl, args[0], args[1], dest.no_clobber);
	if (tree_is_glob(args[0]) && !cl->literal)
		return get_glob(cl, args[0], nargs == 2 ? args[1] : NULL, force, dest.no_clobber);
	argc = nargs;
	argv = args;
	cl->target = argv[0];
	if ((bad = name_check(argv[0], strlen(argv[0]))) != NULL)
		return client_fail(cl, EX_RCFS_USAGE, "invalid name: %s", bad);
	memset(slots, 0, sizeof slots);
	get_signals_install();
	namecopy = xstrdup(argv[0]);
	if ((rv = get_dest_open(cl, argc == 2 ? argv[1] : basename(namecopy), &dest)) != 0)
		goto out;
	if ((rv = get_stat(cl, argv[0], &meta)) != 0)
		goto out;
	if (dest.kind == GET_DEST_REPLACE && (rv = get_tmp_create(cl, &dest)) != 0)
		goto out;

	sha256_init(&whole);
	progress_start(&prog, cl, meta->size);
	if (meta->has_inline_data) {
		sha256(sha, meta->inline_data.data, meta->inline_data.len);
		if (meta->sha256.len != 32 || sodium_memcmp(sha, meta->sha256.data, 32) != 0) {
			rv = client_fail(cl, EX_RCFS_INTEGRITY, "file content does not match its SHA-256");
			goto out;
		}
		if (get_to_terminal_refused(cl, &dest, force, meta->inline_data.data,
		    meta->inline_data.len)) {
			rv = EX_RCFS_USAGE;
			goto out;
		}
		if (get_write_all(dest.fd, meta->inline_data.data, meta->inline_data.len) != 0) {
			rv = get_write_failed(cl, &dest);
			goto out;
		}
		written = meta->inline_data.len;
		sha256_update(&whole, meta->inline_data.data, meta->inline_data.len);
		progress_add(&prog, written);
	}
	/* The chunk stream retries on the next node: its tries are bounded, and
	 * only the final error is said (get_recover). */
	cl->attempt_ms = client_attempt_ms(cl);
	cl->silent = true;
	while (next_write < meta->n_chunks) {
		/* Keep the window full. */
		while (next_send < meta->n_chunks && next_send < next_write + GET_WINDOW) {
			struct get_slot *s = &slots[next_send % GET_WINDOW];
			s->chunk = next_send++;
			if ((rv = get_send(cl, meta, s)) != 0 &&
			    (rv = get_recover(cl, meta, slots, next_write, next_send, &retry_until, silent, rv)) != 0)
				goto out;
		}
		/* Write every chunk that is in order and verified. */
		struct get_slot *s = &slots[next_write % GET_WINDOW];
		if (s->resp == NULL) {
			struct frame_header h;
			ProtobufCMessage *msg;
			int k;
			if ((rv = client_recv_frame(cl, &h, &msg)) != 0) {
				if ((rv = get_recover(cl, meta, slots, next_write, next_send, &retry_until, silent,
				    rv)) != 0)
					goto out;
				continue;
			}
			for (k = 0; k < GET_WINDOW; k++)
				if (slots[k].id == h.request_id && slots[k].resp == NULL)
					break;
			if (k == GET_WINDOW) {
				/* An answer to a request of an earlier connection cannot
				 * arrive here: this is a protocol error. */
				protobuf_c_message_free_unpacked(msg, NULL);
				cl->silent = silent;
				rv = client_fail(cl, EX_RCFS_ERROR, "response to an unknown request");
				goto out;
			}
			if ((rv = client_check(cl, &h, &msg, RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP)) != 0) {
				/* The file names the chunk: a node that finds no copy
				 * speaks for the homes it reached, not for the file
				 * (a home may be cut off, a copy not repaired yet).
				 * Retried, then "unavailable"; never "no such file". */
				if (rv == EX_RCFS_NOTFOUND)
					rv = EX_RCFS_UNAVAILABLE;
				if ((rv = get_recover(cl, meta, slots, next_write, next_send, &retry_until, silent,
				    rv)) != 0)
					goto out;
				continue;
			}
			slots[k].resp = (Rcfs__ChunkGetResponse *)msg;
			retry_until = 0;
			continue;
		}
		cl->silent = silent;
		{
			const ProtobufCBinaryData *d = &s->resp->data;
			uint64_t want = next_write + 1 < meta->n_chunks ? meta->chunk_size
			    : meta->size - (uint64_t)meta->chunk_size * (meta->n_chunks - 1);
			sha256(sha, d->data, d->len);
			if ((d->len != want || sodium_memcmp(sha, meta->chunks[next_write].data, 32) != 0) &&
			    !s->node_verifies) {
				/* Once more, checked by the node this time. */
				rcfs__chunk_get_response__free_unpacked(s->resp, NULL);
				s->resp = NULL;
				s->node_verifies = true;
				cl->silent = true;
				if ((rv = get_send(cl, meta, s)) != 0 && (rv = get_recover(cl, meta, slots, next_write,
				    next_send, &retry_until, silent, rv)) != 0)
					goto out;
				continue;
			}
			if (d->len != want || sodium_memcmp(sha, meta->chunks[next_write].data, 32) != 0) {
				rv = client_fail(cl, EX_RCFS_INTEGRITY, "chunk %zu does not match its SHA-256",
				    next_write);
				goto out;
			}
			if (get_to_terminal_refused(cl, &dest, force, d->data, d->len)) {
				rv = EX_RCFS_USAGE;
				goto out;
			}
			if (get_write_all(dest.fd, d->data, d->len) != 0) {
				rv = get_write_failed(cl, &dest);
				goto out;
			}
			if (meta->n_chunks > 1)
				sha256_update(&whole, d->data, d->len);
			written += d->len;
			progress_add(&prog, d->len);
			rcfs__chunk_get_response__free_unpacked(s->resp, NULL);
			s->resp = NULL;
			s->id = 0;
			s->node_verifies = false;
			next_write++;
		}
		cl->silent = true;
	}
	cl->silent = silent;
	cl->attempt_ms = saved_attempt;
	progress_end(&prog);
	/* One chunk: its verified hash is the file's (the same bytes).  An S3
	 * multipart object's hash is its chunk list's (docs/s3.md). */
	if (meta->sha256_of_chunks) {
		sha256_free(&whole);
		sha256_init(&whole);
		for (size_t i = 0; i < meta->n_chunks; i++)
			sha256_update(&whole, meta->chunks[i].data, meta->chunks[i].len);
		sha256_final(&whole, sha);
	} else if (meta->n_chunks == 1) {
		memcpy(sha, meta->chunks[0].data, 32);
	} else {
		sha256_final(&whole, sha);
	}
	if (written != meta->size || meta->sha256.len != 32 || sodium_memcmp(sha, meta->sha256.data, 32) != 0) {
		rv = client_fail(cl, EX_RCFS_INTEGRITY, "file does not match its SHA-256");
		goto out;
	}
	if (dest.kind != GET_DEST_STDOUT) {
		/* close() reports what write() may not have (NFS, a full disk). */
		err = (dest.fsync && fsync(dest.fd) != 0) ? errno : 0;
		if (close(dest.fd) != 0 && err == 0)
			err = errno;
		dest.fd = -1;
		if (err != 0) {
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", dest.shown, strerror(err));
			goto out;
		}
	}
	if (dest.kind == GET_DEST_REPLACE) {
		if (meta->has_mode)
			chmod(get_tmp, meta->mode & 0777);
		get_signals_block(&old);
		/* --no-clobber: link(2) fails if the name appeared meanwhile,
		 * where rename(2) would replace it. */
		if (dest.no_clobber ? link(get_tmp, dest.path) != 0 : rename(get_tmp, dest.path) != 0) {
			err = errno;
			sigprocmask(SIG_SETMASK, &old, NULL);
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s: %s", dest.shown,
			    err == EEXIST ? "exists (--no-clobber)" : strerror(err));
			goto out;
		}
		if (dest.no_clobber)
			unlink(get_tmp);
		get_tmp_armed = 0;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (dest.kind != GET_DEST_STDOUT)
		progress_summary(&prog);        /* to stdout (cat): no line after the data */
	if (cl->json && dest.kind != GET_DEST_STDOUT) {
		printf("{\"name\":");
		client_json_str(stdout, meta->name);
		printf(",\"size\":%llu,\"path\":", (unsigned long long)meta->size);
		client_json_str(stdout, dest.shown);
		printf("}\n");
	}
	rv = 0;
out:
	cl->silent = silent;
	cl->attempt_ms = saved_attempt;
	sha256_free(&whole);
	for (int k = 0; k < GET_WINDOW; k++)
		if (slots[k].resp)
			rcfs__chunk_get_response__free_unpacked(slots[k].resp, NULL);
	if (dest.fd >= 0 && dest.kind != GET_DEST_STDOUT)
		close(dest.fd);
	get_tmp_remove();
	if (meta)
		rcfs__file_meta__free_unpacked(meta, NULL);
	free(dest.path);
	free(namecopy);
	return rv;
}
