/* The tree forms of put, get and rm (issue 16): a local directory or a name
 * prefix, one file at a time through the single-file commands.
 *
 *   put -r LOCALDIR PREFIX   every regular file under LOCALDIR (symbolic links
 *                            to regular files followed, others skipped with a
 *                            line) becomes PREFIX/RELATIVE/PATH, its mode kept
 *   get -r PREFIX LOCALDIR   every file under PREFIX/ into LOCALDIR/RELATIVE,
 *                            directories made as needed (mode 0777 & ~umask);
 *                            --no-clobber applies to each file
 *   rm -r PREFIX             every file under PREFIX/
 *
 * PREFIX names a directory: "photos" and "photos/" both mean the files whose
 * names start with "photos/" (never "photos2/x").  A file that fails does
 * not stop the others: the command says which failed and exits with the
 * first failure's code.  On a terminal each file leaves its summary line
 * (put and get) and the tree ends with "N files, SIZE in T s".
 *
 * Globs: a NAME of get, cat or rm with *, ? or [ is a pattern, matched
 * (fnmatch, FNM_PATHNAME: * and ? never match "/"; \ escapes) against the
 * listing of its prefix up to the first special character. */
#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"
#include "util/name.h"
#include "util/xmalloc.h"

/* The names under a prefix, collected before acting (rm would otherwise
 * change the listing it pages through). */
struct tree_names {
	char **name;
	uint64_t *size;
	size_t n, cap;
};

static int
tree_collect(void *arg, const Rcfs__FileMeta *m)
{
	struct tree_names *t = arg;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->name = xrealloc(t->name, t->cap * sizeof *t->name);
		t->size = xrealloc(t->size, t->cap * sizeof *t->size);
	}
	t->name[t->n] = xstrdup(m->name);
	t->size[t->n++] = m->size;
	return 0;
}

static void
tree_names_free(struct tree_names *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->name[i]);
	free(t->name);
	free(t->size);
}

/* "p" or "p/" -> "p/"; "" stays "" (the whole namespace). */
static char *
tree_dir_prefix(const char *prefix)
{
	size_t len = strlen(prefix);

	if (len == 0 || prefix[len - 1] == '/')
		return xstrdup(prefix);
	return xasprintf("%s/", prefix);
}

/* The outcome of a tree: counts, the first failure, the summary line. */
struct tree_run {
	struct client *cl;
	const char *op;
	size_t done, failed;
	uint64_t bytes;
	int first_rv;
	uint64_t start_ms;
};

static void
tree_one(struct tree_run *r, int rv, uint64_t bytes)
{
	if (rv == 0) {
		r->done++;
		r->bytes += bytes;
	} else {
		r->failed++;
		if (r->first_rv == 0)
			r->first_rv = rv;
	}
}

static int
tree_end(struct tree_run *r, const char *what)
{
	struct client *cl = r->cl;
	double s = (double)(client_now_ms() - r->start_ms) / 1000.0;

	cl->target = what;
	if (r->failed > 0)
		return client_fail(cl, r->first_rv, "%zu of %zu files failed (the first failure's exit code)",
		    r->failed, r->failed + r->done);
	if (cl->quiet || !isatty(STDERR_FILENO))
		return 0;
	if (strcmp(r->op, "rm") == 0)
		fprintf(stderr, "rm -r %s: %zu files removed\n", what, r->done);
	else
		fprintf(stderr, "%s -r %s: %zu files, %.1f MiB in %.1f s\n", r->op, what, r->done,
		    (double)r->bytes / 1048576.0, s);
	return 0;
}

/* ---- put -r ------------------------------------------------------------------ */

static struct tree_run *put_run;        /* nftw has no user argument */
static const char *put_root, *put_prefix;

static int
tree_put_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	struct client *cl = put_run->cl;
	struct stat st = *sb;
	char *name, *args[2];
	const char *rel = path + strlen(put_root);
	int rv;

	(void)ftw;
	while (*rel == '/')
		rel++;
	if (type == FTW_SL && stat(path, &st) != 0)
		type = FTW_SLN;
	if (type == FTW_DNR || type == FTW_NS || type == FTW_SLN) {
		cl->target = path;
		tree_one(put_run, client_fail(cl, EX_RCFS_LOCAL, "cannot read it (%s)",
		    type == FTW_SLN ? "dangling symbolic link" : strerror(errno)), 0);
		return 0;
	}
	if (type == FTW_D || type == FTW_DP)
		return 0;
	if (!S_ISREG(st.st_mode)) {
		if (cl->verbose)
			fprintf(stderr, "rcfs: put -r: %s: not a regular file, skipped\n", path);
		return 0;
	}
	name = xasprintf("%s%s", put_prefix, rel);
	args[0] = (char *)path;
	args[1] = name;
	rv = client_run_names(cl, &cmd_put_entry, 0, 2, args);
	tree_one(put_run, rv, (uint64_t)st.st_size);
	free(name);
	return 0;
}

int
tree_put(struct client *cl, const char *dir, const char *prefix)
{
	struct tree_run r = { .cl = cl, .op = "put", .start_ms = client_now_ms() };
	struct stat sb;
	char *p;
	int rv;

	cl->target = dir;
	if (stat(dir, &sb) != 0)
		return client_fail(cl, EX_RCFS_LOCAL, "%s", strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return client_fail(cl, EX_RCFS_LOCAL, "not a directory (put -r takes a directory)");
	p = tree_dir_prefix(prefix);
	put_run = &r;
	put_root = dir;
	put_prefix = p;
	rv = nftw(dir, tree_put_visit, 32, FTW_PHYS);
	put_run = NULL;
	free(p);
	if (rv != 0) {
		cl->target = dir;
		return client_fail(cl, EX_RCFS_LOCAL, "%s", strerror(errno));
	}
	return tree_end(&r, dir);
}

/* ---- get -r ------------------------------------------------------------------ */

/* mkdir -p for the directories of path (not its last component). */
static int
tree_mkdirs(char *path)
{
	for (char *s = strchr(path + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			*s = '/';
			return -1;
		}
		*s = '/';
	}
	return 0;
}

int
tree_get(struct client *cl, const char *prefix, const char *dir, bool no_clobber)
{
	struct tree_run r = { .cl = cl, .op = "get", .start_ms = client_now_ms() };
	struct tree_names t = { 0 };
	char *p = tree_dir_prefix(prefix);
	int rv;

	cl->target = prefix;
	if ((rv = client_list(cl, p, tree_collect, &t)) == 0) {
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			cl->target = dir;
			rv = client_fail(cl, EX_RCFS_LOCAL, "%s", strerror(errno));
		}
		for (size_t i = 0; rv == 0 && i < t.n; i++) {
			const char *bad = name_check(t.name[i], strlen(t.name[i]));
			char *local = xasprintf("%s/%s", dir, t.name[i] + strlen(p));
			char *args[3] = { "--no-clobber", t.name[i], local };
			int one;

			/* A name from the node is checked before it makes
			 * directories here: under the prefix, a valid name (no
			 * ".." component). */
			if (strncmp(t.name[i], p, strlen(p)) != 0 || bad != NULL) {
				cl->target = t.name[i];
				one = client_fail(cl, EX_RCFS_ERROR, "the node listed an invalid name (%s)",
				    bad != NULL ? bad : "outside the prefix");
			} else if (tree_mkdirs(local) != 0) {
				cl->target = local;
				one = client_fail(cl, EX_RCFS_LOCAL, "%s", strerror(errno));
			} else {
				/* --no-clobber passes on as an option. */
				one = client_run_names(cl, &cmd_get_entry, no_clobber ? 1 : 0,
				    no_clobber ? 3 : 2, no_clobber ? args : args + 1);
			}
			tree_one(&r, one, t.size[i]);
			free(local);
		}
		if (rv == 0)
			rv = tree_end(&r, prefix);
	}
	tree_names_free(&t);
	free(p);
	return rv;
}

/* ---- rm -r ------------------------------------------------------------------- */

int
tree_rm(struct client *cl, const char *prefix)
{
	struct tree_run r = { .cl = cl, .op = "rm", .start_ms = client_now_ms() };
	struct tree_names t = { 0 };
	char *p = tree_dir_prefix(prefix);
	int rv;

	cl->target = prefix;
	if (p[0] == '\0') {
		free(p);
		return client_fail(cl, EX_RCFS_USAGE, "rm -r needs a prefix (rm -r / is not a thing)");
	}
	if ((rv = client_list(cl, p, tree_collect, &t)) == 0) {
		for (size_t i = 0; i < t.n; i++) {
			char *args[1] = { t.name[i] };
			tree_one(&r, client_run_names(cl, &cmd_rm_entry, 0, 1, args), 0);
		}
		rv = tree_end(&r, prefix);
	}
	tree_names_free(&t);
	free(p);
	return rv;
}

/* ---- globs ------------------------------------------------------------------- */

bool
tree_is_glob(const char *name)
{
	return strpbrk(name, "*?[") != NULL;
}

static const char *tree_pattern;

static int
tree_match(void *arg, const Rcfs__FileMeta *m)
{
	if (fnmatch(tree_pattern, m->name, FNM_PATHNAME) == 0)
		return tree_collect(arg, m);
	return 0;
}

int
tree_glob(struct client *cl, const char *pattern, size_t *n, char ***names)
{
	struct tree_names t = { 0 };
	size_t plen = strcspn(pattern, "*?[\\");
	char *prefix = xmalloc(plen + 1);
	int rv;

	memcpy(prefix, pattern, plen);
	prefix[plen] = '\0';
	tree_pattern = pattern;
	cl->target = pattern;
	rv = client_list(cl, prefix, tree_match, &t);
	free(prefix);
	free(t.size);
	if (rv == 0 && t.n == 0)
		rv = client_fail(cl, EX_RCFS_NOTFOUND, "no name matches");
	if (rv != 0) {
		for (size_t i = 0; i < t.n; i++)
			free(t.name[i]);
		free(t.name);
		t.name = NULL;
		t.n = 0;
	}
	*n = t.n;
	*names = t.name;
	return rv;
}

void
tree_glob_free(size_t n, char **names)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
