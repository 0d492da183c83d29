/* The in-memory log: entries log_start+1 .. last, each owning a copy of its
 * data.  Persistence is tracked separately (unstable_from, stable). */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static void entry_free(struct raft_entry *e);

static void entry_free(struct raft_entry *e)
{
	free(e->data);
	e->data = NULL;
	e->len = 0;
}

uint64_t raft_log_last(const struct raft *r)
{
	return r->log_start + r->n_ents;
}

uint64_t raft_log_last_term(const struct raft *r)
{
	return r->n_ents ? r->ents[r->n_ents - 1].term : r->log_start_term;
}

bool raft_log_term(const struct raft *r, uint64_t index, uint64_t *term)
{
	if (index == r->log_start) {
		*term = r->log_start_term;
		return true;
	}
	if (index < r->log_start || index > raft_log_last(r))
		return false;
	*term = r->ents[index - r->log_start - 1].term;
	return true;
}

struct raft_entry *raft_log_get(const struct raft *r, uint64_t index)
{
	if (index <= r->log_start || index > raft_log_last(r))
		return NULL;
	return &r->ents[index - r->log_start - 1];
}

int raft_log_reserve(struct raft *r, size_t extra)
{
	size_t want = r->n_ents + extra, cap;
	struct raft_entry *n;

	if (want <= r->cap_ents)
		return 0;
	cap = r->cap_ents ? r->cap_ents : 64;
	while (cap < want)
		cap *= 2;
	n = realloc(r->ents, cap * sizeof(*n));
	if (!n)
		return RAFT_ENOMEM;
	r->ents = n;
	r->cap_ents = cap;
	return 0;
}

int raft_log_append(struct raft *r, const struct raft_entry *e, size_t n)
{
	size_t i;
	uint8_t **bufs;

	if (n == 0)
		return 0;
	if (raft_log_reserve(r, n))
		return RAFT_ENOMEM;
	bufs = calloc(n, sizeof(*bufs));
	if (!bufs)
		return RAFT_ENOMEM;
	for (i = 0; i < n; i++) {
		if (e[i].len == 0)
			continue;
		bufs[i] = malloc(e[i].len);
		if (!bufs[i]) {
			while (i-- > 0)
				free(bufs[i]);
			free(bufs);
			return RAFT_ENOMEM;
		}
		memcpy(bufs[i], e[i].data, e[i].len);
	}
	for (i = 0; i < n; i++) {
		struct raft_entry *d = &r->ents[r->n_ents++];
		d->term = e[i].term;
		d->index = raft_log_last(r);
		d->type = e[i].type;
		d->data = bufs[i];
		d->len = e[i].len;
		if (d->type == RAFT_ENTRY_CONF_CHANGE)
			raft_conf_apply_entry(r, d);
	}
	free(bufs);
	return 0;
}

/* Drops entries >= from (never committed ones: the caller checks). */
void raft_log_truncate(struct raft *r, uint64_t from)
{
	uint64_t last = raft_log_last(r);

	if (from <= r->log_start || from > last)
		return;
	while (raft_log_last(r) >= from) {
		entry_free(&r->ents[r->n_ents - 1]);
		r->n_ents--;
	}
	if (r->unstable_from > from)
		r->unstable_from = from;
	if (r->stable >= from)
		r->stable = from - 1;
	if (r->conf_index >= from)
		raft_conf_recompute(r);
}

/* Frees entries <= upto (all of them must be stable and applied). */
void raft_log_compact(struct raft *r, uint64_t upto)
{
	uint64_t n, i;

	if (upto <= r->log_start)
		return;
	if (upto > raft_log_last(r))
		upto = raft_log_last(r);
	n = upto - r->log_start;
	r->log_start_term = r->ents[n - 1].term;
	for (i = 0; i < n; i++)
		entry_free(&r->ents[i]);
	memmove(r->ents, r->ents + n, (r->n_ents - n) * sizeof(*r->ents));
	r->n_ents -= n;
	r->log_start = upto;
}

/* Empties the log, which now starts after (index, term). */
void raft_log_reset(struct raft *r, uint64_t index, uint64_t term)
{
	size_t i;

	for (i = 0; i < r->n_ents; i++)
		entry_free(&r->ents[i]);
	r->n_ents = 0;
	r->log_start = index;
	r->log_start_term = term;
	r->unstable_from = index + 1;
}

void raft_log_free(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->n_ents; i++)
		entry_free(&r->ents[i]);
	free(r->ents);
	r->ents = NULL;
	r->n_ents = r->cap_ents = 0;
}

/* Raft §5.4.1: a candidate's log is at least as up-to-date as ours. */
bool raft_log_up_to_date(const struct raft *r, uint64_t index, uint64_t term)
{
	uint64_t lt = raft_log_last_term(r);

	return term > lt || (term == lt && index >= raft_log_last(r));
}

uint64_t raft_log_conflict_by_term(const struct raft *r, uint64_t index,
                                   uint64_t term)
{
	uint64_t t;

	if (index > raft_log_last(r))
		index = raft_log_last(r);
	while (index > r->log_start) {
		if (raft_log_term(r, index, &t) && t <= term)
			return index;
		index--;
	}
	return index;
}
