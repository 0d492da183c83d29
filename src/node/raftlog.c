#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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
	uint64_t incarnation;       /* stored with the hard state (last load or set) */
	bool have_incarnation;
	bool empty;                 /* the last load found no Raft state at all */
	struct raft_hard_state hs;  /* as last stored (rewritten whole, with its check) */
	uint64_t writes;            /* groups written so far (the hard state's `writes`) */
	uint64_t stored_max;        /* highest entry index found by the last load */
	char damage[400];           /* the last load found damaged state: why ("" none) */
	bool have_boot;             /* a configuration is stored at index 0 */
	struct raft_conf boot;
};

/* Checksums of stored state: BLAKE2b (libsodium's crypto_generichash),
 * 16 bytes.  An entry's covers its encoding before the checksum field; the
 * hard state's covers its four numbers. */
#define RAFTLOG_SUM_BYTES crypto_generichash_BYTES_MIN
/* The checksum field as encoded last in a stored entry: tag (field 5,
 * length-delimited), length, the bytes. */
#define RAFTLOG_SUM_TRAILER (2 + RAFTLOG_SUM_BYTES)

static void raftlog_damaged(struct raftlog *rl, const char *why);

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
	bool have_hs;               /* the hard state hash exists */
	uint64_t bad_index;         /* lowest damaged entry (0: none) */
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
	if (ld->rs.snapshot.index == 0 && conf != NULL) {
		/* A founder's configuration, stored before any snapshot. */
		ld->rl->have_boot = raft_conf_decode(conf, conf_len, &ld->rl->boot) == RAFT_OK;
		if (!ld->rl->have_boot)
			raftlog_damaged(ld->rl, "the stored bootstrap configuration is damaged");
	} else if (ld->rs.snapshot.index > 0 &&
	    raft_conf_decode(conf, conf_len, &ld->rs.snapshot.conf) != RAFT_OK) {
		ld->code = RCFS__ERROR_CODE__E_INTERNAL;
		snprintf(ld->why, sizeof ld->why, "stored raft snapshot has a corrupt configuration");
	}
}

/* The hard state's checksum, as hex in out[2 * RAFTLOG_SUM_BYTES + 1]. */
static void
raftlog_hs_check(const struct raft_hard_state *hs, uint64_t incarnation, char *out)
{
	uint8_t sum[RAFTLOG_SUM_BYTES];
	char text[96];
	int n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	    hs->term, hs->vote, hs->commit, incarnation);

	crypto_generichash(sum, sizeof sum, (const uint8_t *)text, (size_t)n, NULL, 0);
	sodium_bin2hex(out, 2 * RAFTLOG_SUM_BYTES + 1, sum, sizeof sum);
}

/* Record the first damage found by a load (later ones add nothing). */
static void
raftlog_damaged(struct raftlog *rl, const char *why)
{
	if (rl->damage[0] == '\0')
		snprintf(rl->damage, sizeof rl->damage, "%s", why);
}

void
raftlog_tail_lost(struct raftlog *rl, const char *why, uint64_t term, uint64_t vote)
{
	raftlog_damaged(rl, why);
	if (term > rl->hs.term) {
		rl->hs.term = term;
		rl->hs.vote = vote;
	}
}

static void
raftlog_load_hs(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct raftlog_load *ld = arg;
	const char *check = NULL;
	char want[2 * RAFTLOG_SUM_BYTES + 1];

	(void)st;
	if (!raftlog_load_usable(ld, r, err, REDIS_REPLY_ARRAY))
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *k = r->element[i]->str;
		uint64_t v = strtoull(r->element[i + 1]->str, NULL, 10);
		if (strcmp(k, "term") == 0) ld->rs.hs.term = v;
		else if (strcmp(k, "vote") == 0) ld->rs.hs.vote = v;
		else if (strcmp(k, "commit") == 0) ld->rs.hs.commit = v;
		else if (strcmp(k, "writes") == 0) ld->rl->writes = v;
		else if (strcmp(k, "incarnation") == 0) {
			ld->rl->incarnation = v;
			ld->rl->have_incarnation = true;
		} else if (strcmp(k, "check") == 0) {
			check = r->element[i + 1]->str;
		}
	}
	ld->have_hs = r->elements > 0;
	/* No check: written before checksums (accepted, as before). */
	raftlog_hs_check(&ld->rs.hs, ld->rl->incarnation, want);
	if (check != NULL && strcmp(check, want) != 0) {
		raftlog_damaged(ld->rl, "the hard state does not match its checksum");
		memset(&ld->rs.hs, 0, sizeof ld->rs.hs);
	}
}

static int
raftlog_entry_cmp(const void *a, const void *b)
{
	const struct raft_entry *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void raftlog_load_done(struct raftlog_load *ld);

/* A stored entry, checked: it decodes, is stored under its own index, and
 * matches its checksum (an entry written before checksums has none and is
 * taken as it is).  NULL if damaged. */
static Rcfs__RaftEntry *
raftlog_entry_unpack(const uint8_t *v, size_t len, uint64_t key)
{
	Rcfs__RaftEntry *e = rcfs__raft_entry__unpack(NULL, len, v);
	uint8_t sum[RAFTLOG_SUM_BYTES];

	if (e == NULL)
		return NULL;
	if (e->index != key)
		goto bad;
	if (e->has_checksum) {
		if (e->checksum.len != RAFTLOG_SUM_BYTES || len < RAFTLOG_SUM_TRAILER ||
		    memcmp(v + len - RAFTLOG_SUM_BYTES, e->checksum.data, RAFTLOG_SUM_BYTES) != 0)
			goto bad;
		crypto_generichash(sum, sizeof sum, v, len - RAFTLOG_SUM_TRAILER, NULL, 0);
		if (sodium_memcmp(sum, e->checksum.data, sizeof sum) != 0)
			goto bad;
	}
	return e;
bad:
	rcfs__raft_entry__free_unpacked(e, NULL);
	return NULL;
}

static void
raftlog_load_log(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct raftlog_load *ld = arg;

	(void)st;
	if (raftlog_load_usable(ld, r, err, REDIS_REPLY_ARRAY)) {
		ld->entries = xcalloc(r->elements / 2 + 1, sizeof *ld->entries);
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			redisReply *v = r->element[i + 1];
			uint64_t key = strtoull(r->element[i]->str, NULL, 10);
			Rcfs__RaftEntry *e = raftlog_entry_unpack((const uint8_t *)v->str, v->len, key);
			struct raft_entry *out = &ld->entries[ld->n_entries];

			if (key > ld->rl->stored_max)
				ld->rl->stored_max = key;
			if (e == NULL) {
				/* Kept out of the log; the load cuts the log there. */
				if (key < ld->bad_index || ld->bad_index == 0)
					ld->bad_index = key;
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
	/* Consecutive entries only, and none from a damaged one on: what
	 * follows a hole or a damaged entry is not trusted. */
	for (size_t i = 0; i < n; i++) {
		char why[160];

		if (ld->bad_index != 0 && ld->entries[i].index >= ld->bad_index)
			snprintf(why, sizeof why, "raft log entry %" PRIu64 " is damaged", ld->bad_index);
		else if (i > 0 && ld->entries[i].index != ld->entries[i - 1].index + 1)
			snprintf(why, sizeof why, "the raft log has a hole after index %" PRIu64,
			    ld->entries[i - 1].index);
		else if (i == 0 && ld->entries[0].index != ld->rs.snapshot.index + 1)
			snprintf(why, sizeof why, "the raft log starts at %" PRIu64 ", after snapshot %" PRIu64,
			    ld->entries[0].index, ld->rs.snapshot.index);
		else
			continue;
		raftlog_damaged(rl, why);
		for (size_t k = i; k < n; k++)
			free(ld->entries[k].data);
		n = i;
		break;
	}
	if (ld->bad_index != 0 && ld->bad_index > ld->rs.snapshot.index)
		raftlog_damaged(rl, "a raft log entry is damaged");
	ld->rs.entries = ld->entries;
	ld->rs.n_entries = n;
	rl->empty = !ld->have_hs && ld->rs.snapshot.index == 0 && n == 0 && rl->stored_max == 0;
	rl->hs = ld->rs.hs;
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
	rl->incarnation = 0;
	rl->have_incarnation = false;
	rl->empty = false;
	rl->stored_max = 0;
	rl->damage[0] = '\0';
	rl->have_boot = false;
	rl->writes = 0;
	memset(&rl->hs, 0, sizeof rl->hs);
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

const char *
raftlog_damage(const struct raftlog *rl)
{
	return rl->damage[0] != '\0' ? rl->damage : NULL;
}

bool
raftlog_empty(const struct raftlog *rl)
{
	return rl->empty;
}

bool
raftlog_incarnation(const struct raftlog *rl, uint64_t *incarnation)
{
	*incarnation = rl->incarnation;
	return rl->have_incarnation;
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

/* Encode pe (without a checksum) into out, followed by its checksum field
 * (RaftEntry.checksum, encoded last: RAFTLOG_SUM_TRAILER bytes).  Returns
 * the length; out has room for the encoding plus the trailer. */
static size_t
raftlog_entry_pack(Rcfs__RaftEntry *pe, uint8_t *out)
{
	size_t len = rcfs__raft_entry__pack(pe, out);

	out[len] = 5 << 3 | 2;          /* field 5, length-delimited */
	out[len + 1] = RAFTLOG_SUM_BYTES;
	crypto_generichash(out + len + 2, RAFTLOG_SUM_BYTES, out, len, NULL, 0);
	return len + RAFTLOG_SUM_TRAILER;
}

/* Add the whole hard state, with the incarnation and their checksum, to g. */
static void
raftlog_hs_write(struct raftlog *rl, struct store_group *g)
{
	char check[2 * RAFTLOG_SUM_BYTES + 1];

	raftlog_hs_check(&rl->hs, rl->incarnation, check);
	store_group_addf(g, "HSET " RAFTLOG_HS " term %" PRIu64 " vote %" PRIu64 " commit %" PRIu64
	    " incarnation %" PRIu64 " check %s", rl->hs.term, rl->hs.vote, rl->hs.commit, rl->incarnation,
	    check);
}

/* Count one more group written, in g itself. */
static void
raftlog_count_write(struct raftlog *rl, struct store_group *g)
{
	store_group_addf(g, "HSET " RAFTLOG_HS " writes %" PRIu64, ++rl->writes);
}

uint64_t
raftlog_writes(const struct raftlog *rl)
{
	return rl->writes;
}

void
raftlog_set_incarnation(struct raftlog *rl, uint64_t incarnation, store_group_cb *cb, void *arg)
{
	struct store_group *g = store_group_new();

	rl->incarnation = incarnation;
	rl->have_incarnation = true;
	raftlog_hs_write(rl, g);
	raftlog_count_write(rl, g);
	/* Entries past the loaded log (after a damaged one) go, so that no
	 * later load finds them again. */
	raftlog_delete(g, rl->last + 1, rl->stored_max);
	store_group_send(rl->st, g, 0, cb, arg);
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
			vcap += e[i].len + 64 + RAFTLOG_SUM_TRAILER;
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
			argvlen[a++] = raftlog_entry_pack(&pe, vals + voff);
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
	if (hs != NULL) {
		rl->hs = *hs;
		raftlog_hs_write(rl, g);
	}
	raftlog_count_write(rl, g);
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

bool
raftlog_boot_conf(const struct raftlog *rl, struct raft_conf *conf)
{
	if (rl->have_boot)
		*conf = rl->boot;
	return rl->have_boot;
}

void
raftlog_set_boot_conf(struct raftlog *rl, const struct raft_conf *conf, store_group_cb *cb, void *arg)
{
	struct store_group *g = store_group_new();
	struct raft_snapshot_meta meta;

	memset(&meta, 0, sizeof meta);
	meta.conf = *conf;
	raftlog_snapshot_meta(g, &meta);
	rl->boot = *conf;
	rl->have_boot = true;
	store_group_send(rl->st, g, 0, cb, arg);
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
	raftlog_count_write(rl, g);
	raftlog_snapshot_meta(g, meta);
	store_group_addf(g, "HSET " RAFTLOG_SNAP " data %b", data, len);
	rl->first = meta->index + 1;
	rl->last = meta->index;
}
