/* The session table: a search tree (libc tsearch) of client id -> seq and
 * index, and a queue of (index, client id) in the order sessions were last
 * touched, from which session_table_expire() forgets idle ones. */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "fs/session.h"
#include "proto/rcfs.pb-c.h"
#include "util/xmalloc.h"

struct session {
	uint64_t cid, seq, index;
};

struct touch {
	uint64_t index, cid;
};

struct session_table {
	void *root;             /* tsearch tree of struct session */
	size_t count;
	struct touch *q;        /* q[head..tail): oldest first (see `unsorted`) */
	size_t head, tail, cap;
	bool unsorted;          /* loaded sessions came in no particular order */
};

static int
session_cmp(const void *a, const void *b)
{
	const struct session *x = a, *y = b;
	return x->cid < y->cid ? -1 : x->cid > y->cid;
}

static int
touch_cmp(const void *a, const void *b)
{
	const struct touch *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

struct session_table *
session_table_new(void)
{
	return xcalloc(1, sizeof(struct session_table));
}

void
session_table_clear(struct session_table *t)
{
	tdestroy(t->root, free);
	t->root = NULL;
	t->count = 0;
	t->head = t->tail = 0;
	t->unsorted = false;
}

void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	session_table_clear(t);
	free(t->q);
	free(t);
}

size_t
session_table_count(const struct session_table *t)
{
	return t->count;
}

bool
session_table_has(const struct session_table *t, uint64_t cid)
{
	struct session key = { .cid = cid };

	return tfind(&key, &t->root, session_cmp) != NULL;
}

static void
session_touch(struct session_table *t, uint64_t index, uint64_t cid)
{
	if (t->tail == t->cap) {
		if (t->head > 0) {
			memmove(t->q, t->q + t->head, (t->tail - t->head) * sizeof *t->q);
			t->tail -= t->head;
			t->head = 0;
		}
		if (t->tail == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 256;
			t->q = xrealloc(t->q, t->cap * sizeof *t->q);
		}
	}
	t->q[t->tail].index = index;
	t->q[t->tail++].cid = cid;
}

/* The session of `cid`, created (seq 0, index 0) if absent; *fresh tells which. */
static struct session *
session_get(struct session_table *t, uint64_t cid, bool *fresh)
{
	struct session key = { .cid = cid }, *s, **node;

	node = tfind(&key, &t->root, session_cmp);
	*fresh = node == NULL;
	if (node != NULL)
		return *node;
	s = xcalloc(1, sizeof *s);
	s->cid = cid;
	node = tsearch(s, &t->root, session_cmp);
	if (node == NULL)
		abort();        /* out of memory */
	t->count++;
	return s;
}

void
session_table_add(struct session_table *t, uint64_t cid, uint64_t seq, uint64_t index)
{
	bool fresh;
	struct session *s = session_get(t, cid, &fresh);

	if (fresh || seq > s->seq)
		s->seq = seq;
	if (fresh || index > s->index) {
		s->index = index;
		session_touch(t, index, cid);
		t->unsorted = true;
	}
}

bool
session_table_commit(struct session_table *t, uint64_t cid, uint64_t seq, uint64_t index)
{
	bool fresh;
	struct session *s = session_get(t, cid, &fresh);
	bool new = fresh || seq > s->seq;

	if (new)
		s->seq = seq;
	if (index > s->index) {
		s->index = index;
		session_touch(t, index, cid);
	}
	return new;
}

void
session_table_expire(struct session_table *t, uint64_t applied)
{
	if (applied <= SESSION_FORGET_AFTER)
		return;
	if (t->unsorted) {
		qsort(t->q + t->head, t->tail - t->head, sizeof *t->q, touch_cmp);
		t->unsorted = false;
	}
	while (t->head < t->tail && t->q[t->head].index < applied - SESSION_FORGET_AFTER) {
		struct session key = { .cid = t->q[t->head].cid }, **node;

		node = tfind(&key, &t->root, session_cmp);
		/* A later touch of the same session is further down the queue. */
		if (node != NULL && (*node)->index == t->q[t->head].index) {
			struct session *s = *node;
			tdelete(&key, &t->root, session_cmp);
			free(s);
			t->count--;
		}
		t->head++;
	}
}

bool
session_table_load_snapshot(struct session_table *t, const uint8_t *data, size_t len)
{
	Rcfs__Snapshot *snap = rcfs__snapshot__unpack(NULL, len, data);

	session_table_clear(t);
	if (snap == NULL)
		return false;
	for (size_t i = 0; i < snap->n_sessions; i++) {
		const Rcfs__SnapshotSession *ss = snap->sessions[i];
		/* value is "seq:result" (fsm.c) */
		session_table_add(t, strtoull(ss->client_id, NULL, 10), strtoull(ss->value, NULL, 10),
		    ss->index);
	}
	rcfs__snapshot__free_unpacked(snap, NULL);
	return true;
}
