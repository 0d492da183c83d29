/* rcfs ls [-l [-h]] [-d] [PREFIX]: list files (client_list pages through
 * FileList). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "util/xmalloc.h"

static int cmd_ls_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_ls_entry = {
	.name = "ls",
	.usage = "ls [-l [-h]] [-d] [-R] [PREFIX]",
	.h_option = true,
	.exec = cmd_ls_exec,
};

/* What one listing prints; fed by client_list, one file at a time. */
struct ls_run {
	struct client *cl;
	bool lng, human, dirs;
	size_t dir_len;                 /* -d: the directory part of the prefix ("a/b/" of "a/b/c") */
	char *last_dir;                 /* -d: the sub-directory printed last (names come sorted) */
	bool first;
	uint64_t files, bytes;
};

/* A size as ls prints it: bytes, or with -h as client_size's compact form. */
static const char *
ls_size(const struct ls_run *r, char *buf, size_t len, uint64_t n)
{
	if (r->human)
		return client_size(buf, len, n, true);
	snprintf(buf, len, "%llu", (unsigned long long)n);
	return buf;
}

static void
ls_entry(struct ls_run *r, const char *name, bool dir, const Rcfs__FileMeta *m)
{
	struct client *cl = r->cl;
	char size[32], when[32], mode[8] = "-";

	if (cl->json) {
		printf("%s{\"name\":", r->first ? "" : ",");
		client_json_str(stdout, name);
		if (dir)
			printf(",\"dir\":true}");
		else
			printf(",\"size\":%llu,\"version\":%llu,\"mtime_ns\":%llu}",
			    (unsigned long long)m->size, (unsigned long long)m->version,
			    (unsigned long long)m->mtime_ns);
	} else if (r->lng && dir) {
		printf("%12s  %-4s  %16s  %s\n", "-", "dir", "", name);
	} else if (r->lng) {
		time_t t = (time_t)(m->mtime_ns / 1000000000u);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		if (m->has_mode)
			snprintf(mode, sizeof mode, "%04o", (unsigned)(m->mode & 07777));
		printf("%12s  %-4s  %s  %s\n", ls_size(r, size, sizeof size, m->size), mode, when, name);
	} else {
		printf("%s\n", name);
	}
	r->first = false;
}

static int
ls_one(void *arg, const Rcfs__FileMeta *m)
{
	struct ls_run *r = arg;
	const char *rest = m->name + r->dir_len, *slash;

	r->files++;
	r->bytes += m->size;
	if (r->dirs && (slash = strchr(rest, '/')) != NULL) {
		/* A sub-directory: once, as "dir/sub/". */
		size_t len = (size_t)(slash - m->name) + 1;
		if (r->last_dir != NULL && strlen(r->last_dir) == len &&
		    strncmp(r->last_dir, m->name, len) == 0)
			return 0;
		free(r->last_dir);
		r->last_dir = xmalloc(len + 1);
		memcpy(r->last_dir, m->name, len);
		r->last_dir[len] = '\0';
		ls_entry(r, r->last_dir, true, NULL);
		return 0;
	}
	ls_entry(r, m->name, false, m);
	return 0;
}

/* Names are flat (a "/" is a character like any other), so a listing is a
 * prefix range read, as S3's ListObjects without a delimiter or etcdctl
 * get --prefix: "ls bi" lists bin/x and big.  -d shows it as a directory:
 * the entries directly under the prefix's directory, each sub-directory
 * once (S3's delimiter "/"). */
static int
cmd_ls_exec(struct client *cl, int argc, char **argv)
{
	struct ls_run r = { .cl = cl, .first = true };
	const char *prefix = "", *slash;
	int rv;

	for (int i = 0; i < argc; i++) {
		if (client_is_option(cl, i, argv[i]) && argv[i][1] != '-') {
			/* -l, -h, -d, -R, and their bundles (-lh) */
			for (const char *o = argv[i] + 1; *o != '\0'; o++) {
				if (*o == 'l')
					r.lng = true;
				else if (*o == 'h')
					r.human = true;
				else if (*o == 'd')
					r.dirs = true;
				else if (*o == 'R')
					r.dirs = false;  /* everything under the prefix: the default */
				else
					return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_ls_entry.usage);
			}
		} else if (prefix[0] == '\0' && !client_is_option(cl, i, argv[i])) {
			prefix = argv[i];
		} else {
			return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_ls_entry.usage);
		}
	}
	cl->target = prefix[0] ? prefix : NULL;
	r.dir_len = (slash = strrchr(prefix, '/')) != NULL ? (size_t)(slash - prefix) + 1 : 0;
	if (cl->json)
		printf("{\"files\":[");
	rv = client_list(cl, prefix, ls_one, &r);
	if (cl->json)
		printf("]}\n");        /* stdout stays JSON; an error went to stderr */
	else if (rv == 0 && r.lng) {
		char size[32];
		printf("total %llu file(s), %s bytes\n", (unsigned long long)r.files,
		    ls_size(&r, size, sizeof size, r.bytes));
	}
	free(r.last_dir);
	return rv;
}
