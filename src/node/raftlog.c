#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/raftlog.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define RAFTLOG_LOG "rcfs:raft:log"
#define RAFTLOG_HS "rcfs:raft:hs"
#define RAFTLOG_SNAP "rcfs:raft:snap"
/* Fields per HDEL when deleting a range of entries. */
#define RAFTLOG_HDEL_FIELDS 1024

struct raftlog {
	struct store *st;
	uint64_t first;             /* lowest index stored */
	uint64_t last;              /* highest index stored (first > last: none) */
};

struct raftlog *
raftlog_new(struct store *st)
{
	struct raftlog *rl = xcalloc(1, sizeof *rl);

	rl->st = st;
	rl->first = 1;
	return rl;
}

void
raftlog_free(struct raftlog *rl)
{
	free(rl);
}

uint64_t
raftlog_first(const struct raftlog *rl)
{
	return rl->first;
}

uint64_t
raftlog_last(const struct raftlog *rl)
{
	return rl->last;
}

/* ---- loading ---------------------------------------------------------------- */

struct raftlog_load {
	struct raftlog *rl;
	raftlog_load_cb *cb;
	void *arg;
	struct raft_restore rs;
	struct raft_entry *entries;
	size_t n_entries;
	Rcfs__ErrorCode code;
	char why[160];
};

/* A load reply: true if it holds the expected type; a missing key (NIL) is
 * an empty one; anything else fails the load. */
static bool
raftlog_load_usable(struct raftlog_load *ld, redisReply *r, enum store_err err, int type)
{
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);

	if (code == RCFS__ERROR_CODE__E_OK && (r->type == type || r->type == REDIS_REPLY_NIL))
		return r->type == type;
	if (ld->code == RCFS__ERROR_CODE__E_OK) {
		ld->code = code != RCFS__ERROR_CODE__E_OK ? code : RCFS__ERROR_CODE__E_INTERNAL;
		snprintf(ld->why, sizeof ld->why, "%s", why != NULL ? why : "unexpected reply");
	}
	return false;
}

static void
raftlog_load_snap(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct raftlog_load *ld = arg;
	const uint8_t *conf = NULL;
	size_t conf_len = 0;

	(void)st;
	if (!raftlog_load_usable(ld, r, err, REDIS_REPLY_ARRAY))
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *k = r->element[i]->str;
		redisReply *v = r->element[i + 1];
		if (strcmp(k, "index") == 0) {
			ld->rs.snapshot.index = strtoull(v->str, NULL, 10);
		} else if (strcmp(k, "term") == 0) {
			ld->rs.snapshot.term = strtoull(v->str, NULL, 10);
		} else if (strcmp(k, "conf") == 0) {
			conf = (const uint8_t *)v->str;
			conf_len = v->len;
		} else if (strcmp(k, "data") == 0) {
			uint8_t *data = xmalloc(v->len + 1);
			memcpy(data, v->str, v->len);
			ld->rs.snapshot_data = data;
			ld->rs.snapshot_len = v->len;
		}
	}
	if (ld->rs.snapshot.index > 0 &&
	    raft_conf_decode(conf, conf_len, &ld->rs.snapshot.conf) != RAFT_OK) {
		ld->code = RCFS__ERROR_CODE__E_INTERNAL;
		snprintf(ld->why, sizeof ld->why, "stored raft snapshot has a corrupt configuration");
	}
}

static void
raftlog_load_hs(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct raftlog_load *ld = arg;

	(void)st;
	if (!raftlog_load_usable(ld, r, err, REDIS_REPLY_ARRAY))
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *k = r->element[i]->str;
		uint64_t v = strtoull(r->element[i + 1]->str, NULL, 10);
		if (strcmp(k, "term") == 0) ld->rs.hs.term = v;
		else if (strcmp(k, "vote") == 0) ld->rs.hs.vote = v;
		else if (strcmp(k, "commit") == 0) ld->rs.hs.commit = v;
	}
}

static int
raftlog_entry_cmp(const void *a, const void *b)
{
	const struct raft_entry *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void raftlog_load_done(struct raftlog_load *ld);

static void
raftlog_load_log(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct raftlog_load *ld = arg;

	(void)st;
	if (raftlog_load_usable(ld, r, err, REDIS_REPLY_ARRAY)) {
		ld->entries = xcalloc(r->elements / 2 + 1, sizeof *ld->entries);
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			redisReply *v = r->element[i + 1];
			Rcfs__RaftEntry *e = rcfs__raft_entry__unpack(NULL, v->len, (const uint8_t *)v->str);
			struct raft_entry *out = &ld->entries[ld->n_entries];
			if (e == NULL) {
				ld->code = RCFS__ERROR_CODE__E_INTERNAL;
				snprintf(ld->why, sizeof ld->why, "raft log entry %s is corrupt in storage",
				    r->element[i]->str);
				continue;
			}
			out->term = e->term;
			out->index = e->index;
			out->type = e->type;
			out->len = e->has_data ? e->data.len : 0;
			out->data = xmalloc(out->len ? out->len : 1);
			if (out->len)
				memcpy(out->data, e->data.data, out->len);
			ld->n_entries++;
			rcfs__raft_entry__free_unpacked(e, NULL);
		}
		qsort(ld->entries, ld->n_entries, sizeof *ld->entries, raftlog_entry_cmp);
	}
	raftlog_load_done(ld);
}

static void
raftlog_load_done(struct raftlog_load *ld)
{
	struct raftlog *rl = ld->rl;
	size_t skip = 0, n;

	if (ld->code != RCFS__ERROR_CODE__E_OK) {
		for (size_t i = 0; i < ld->n_entries; i++)
			free(ld->entries[i].data);
		free(ld->entries);
		raftlog_restore_free(&ld->rs);
		ld->cb(ld->arg, ld->code, ld->why, &ld->rs);
		free(ld);
		return;
	}
	/* Entries the snapshot covers are not part of the log any more. */
	while (skip < ld->n_entries && ld->entries[skip].index <= ld->rs.snapshot.index)
		free(ld->entries[skip++].data);
	n = ld->n_entries - skip;
	memmove(ld->entries, ld->entries + skip, n * sizeof *ld->entries);
	/* Consecutive entries only: a hole would be a storage bug. */
	for (size_t i = 1; i < n; i++)
		if (ld->entries[i].index != ld->entries[i - 1].index + 1) {
			log_err("raft log in storage has a hole after index %" PRIu64,
			    ld->entries[i - 1].index);
			for (size_t k = i; k < n; k++)
				free(ld->entries[k].data);
			n = i;
			break;
		}
	ld->rs.entries = ld->entries;
	ld->rs.n_entries = n;
	rl->last = n ? ld->entries[n - 1].index : ld->rs.snapshot.index;
	rl->first = n ? ld->entries[0].index : ld->rs.snapshot.index + 1;
	ld->cb(ld->arg, RCFS__ERROR_CODE__E_OK, NULL, &ld->rs);
	free(ld);
}

void
raftlog_load(struct raftlog *rl, raftlog_load_cb *cb, void *arg)
{
	struct raftlog_load *ld = xcalloc(1, sizeof *ld);

	ld->rl = rl;
	ld->cb = cb;
	ld->arg = arg;
	store_commandf(rl->st, raftlog_load_snap, ld, "HGETALL " RAFTLOG_SNAP);
	store_commandf(rl->st, raftlog_load_hs, ld, "HGETALL " RAFTLOG_HS);
	store_commandf(rl->st, raftlog_load_log, ld, "HGETALL " RAFTLOG_LOG);
}

void
raftlog_restore_free(struct raft_restore *rs)
{
	for (size_t i = 0; i < rs->n_entries; i++)
		free(rs->entries[i].data);
	free((void *)rs->entries);
	free((void *)rs->snapshot_data);
	memset(rs, 0, sizeof *rs);
}

/* ---- writing ---------------------------------------------------------------- */

/* Add HDELs of the stored entries first..last (nothing if last < first) to g,
 * RAFTLOG_HDEL_FIELDS per command. */
static void
raftlog_delete(struct store_group *g, uint64_t first, uint64_t last)
{
	const char *argv[2 + RAFTLOG_HDEL_FIELDS];
	size_t argvlen[2 + RAFTLOG_HDEL_FIELDS];
	char (*num)[24];
	uint64_t i = first;

	if (last < first)
		return;
	num = xmalloc(RAFTLOG_HDEL_FIELDS * sizeof *num);
	argv[0] = "HDEL"; argvlen[0] = 4;
	argv[1] = RAFTLOG_LOG; argvlen[1] = strlen(RAFTLOG_LOG);
	while (i <= last) {
		int n = 0;
		for (; i <= last && n < RAFTLOG_HDEL_FIELDS; i++, n++) {
			argvlen[2 + n] = (size_t)snprintf(num[n], sizeof num[n], "%" PRIu64, i);
			argv[2 + n] = num[n];
		}
		store_group_add(g, 2 + n, argv, argvlen);
	}
	free(num);
}

void
raftlog_append(struct raftlog *rl, const struct raft_hard_state *hs, const struct raft_entry *e,
    size_t n, store_group_cb *cb, void *arg)
{
	struct store_group *g = store_group_new();

	if (n > 0) {
		size_t argc = 2 + 2 * n, a = 0, voff = 0, vcap = 0;
		const char **argv = xcalloc(argc, sizeof *argv);
		size_t *argvlen = xcalloc(argc, sizeof *argvlen);
		char (*keys)[24] = xcalloc(n, sizeof *keys);
		uint8_t *vals;

		/* An overwrite: every stored entry from e[0] on goes first. */
		raftlog_delete(g, e[0].index, rl->last);
		for (size_t i = 0; i < n; i++)
			vcap += e[i].len + 64;
		vals = xmalloc(vcap);
		argv[a] = "HSET"; argvlen[a++] = 4;
		argv[a] = RAFTLOG_LOG; argvlen[a++] = strlen(RAFTLOG_LOG);
		for (size_t i = 0; i < n; i++) {
			Rcfs__RaftEntry pe = RCFS__RAFT_ENTRY__INIT;
			pe.term = e[i].term;
			pe.index = e[i].index;
			pe.type = e[i].type;
			pe.has_data = 1;
			pe.data.data = e[i].data;
			pe.data.len = e[i].len;
			argvlen[a] = (size_t)snprintf(keys[i], sizeof keys[i], "%" PRIu64, e[i].index);
			argv[a++] = keys[i];
			argv[a] = (const char *)vals + voff;
			argvlen[a++] = rcfs__raft_entry__pack(&pe, vals + voff);
			voff += argvlen[a - 1];
		}
		store_group_add(g, (int)a, argv, argvlen);
		free(argv);
		free(argvlen);
		free(keys);
		free(vals);
		rl->last = e[n - 1].index;
		if (rl->first > e[0].index)
			rl->first = e[0].index;
	}
	if (hs != NULL)
		store_group_addf(g, "HSET " RAFTLOG_HS " term %" PRIu64 " vote %" PRIu64 " commit %" PRIu64,
		    hs->term, hs->vote, hs->commit);
	store_group_send(rl->st, g, 0, cb, arg);
}

/* Add the snapshot metadata (index, term, encoded conf) to g. */
static void
raftlog_snapshot_meta(struct store_group *g, const struct raft_snapshot_meta *meta)
{
	size_t clen = raft_conf_encoded_len(&meta->conf);
	uint8_t *conf = xmalloc(clen ? clen : 1);

	raft_conf_encode(&meta->conf, conf, clen);
	store_group_addf(g, "HSET " RAFTLOG_SNAP " index %" PRIu64 " term %" PRIu64 " conf %b",
	    meta->index, meta->term, conf, clen);
	free(conf);
}

void
raftlog_compact(struct raftlog *rl, const struct raft_snapshot_meta *meta)
{
	struct store_group *g = store_group_new();

	raftlog_snapshot_meta(g, meta);
	store_group_addf(g, "HDEL " RAFTLOG_SNAP " data");
	raftlog_delete(g, rl->first, meta->index < rl->last ? meta->index : rl->last);
	store_group_send(rl->st, g, 0, NULL, NULL);
	if (meta->index >= rl->first)
		rl->first = meta->index + 1;
}

void
raftlog_install(struct raftlog *rl, struct store_group *g, const struct raft_snapshot_meta *meta,
    const uint8_t *data, size_t len)
{
	store_group_addf(g, "DEL " RAFTLOG_LOG " " RAFTLOG_SNAP);
	raftlog_snapshot_meta(g, meta);
	store_group_addf(g, "HSET " RAFTLOG_SNAP " data %b", data, len);
	rl->first = meta->index + 1;
	rl->last = meta->index;
}
