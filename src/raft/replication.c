/* Log replication, Raft §5.3: AppendEntries with the consistency check, fast
 * conflict backtracking, pipelining, batching, heartbeats carrying the
 * commit index, and the commit rule of Raft §5.4.2. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static int cmp_desc(const void *a, const void *b);

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Sends pr one AppendEntries (or starts InstallSnapshot) if its state
 * allows.  Returns 1 if a message with entries went out. */
int raft_send_append(struct raft *r, struct raft_progress *pr, bool allow_empty)
{
	struct raft_message m;
	uint64_t prev, prev_term, last = raft_log_last(r), i;
	size_t bytes = 0, n = 0;

	if (pr->id == r->id || raft_progress_paused(r, pr))
		return 0;
	prev = pr->next - 1;
	if (!raft_log_term(r, prev, &prev_term)) {
		/* Raft §7: the entries it needs are compacted. */
		raft_progress_become_snapshot(pr, r->snap.index);
		(void)raft_send_snapshot_chunk(r, pr);
		return 0;
	}
	for (i = pr->next; i <= last; i++) {
		const struct raft_entry *e = raft_log_get(r, i);
		if (n > 0 && bytes + e->len > r->cfg.max_msg_bytes)
			break;
		bytes += e->len;
		n++;
	}
	if (n == 0 && !allow_empty)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.to = pr->id;
	m.index = prev;
	m.log_term = prev_term;
	m.commit = r->commit;
	m.entries = n ? raft_log_get(r, pr->next) : NULL;
	m.n_entries = n;
	if (raft_send(r, &m, false))
		return 0;
	if (pr->state == RAFT_PROGRESS_REPLICATE) {
		if (n) {
			pr->next = prev + n + 1;
			raft_progress_inflight_add(r, pr, prev + n);
		}
	} else {
		pr->probe_sent = true;
	}
	return n > 0;
}

void raft_bcast_append(struct raft *r)
{
	uint32_t i;
	for (i = 0; i < r->n_prs; i++)
		(void)raft_send_append(r, &r->prs[i], true);
}

void raft_bcast_heartbeat(struct raft *r)
{
	uint8_t ctx[8];
	bool has_ctx = raft_reads_round_ctx(r, ctx);
	uint32_t i;
	struct raft_message m;

	for (i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		if (pr->id == r->id)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_HEARTBEAT;
		m.to = pr->id;
		/* Only what it is known to hold may be committed on it. */
		m.commit = pr->match < r->commit ? pr->match : r->commit;
		if (has_ctx) {
			m.context = ctx;
			m.context_len = sizeof(ctx);
		}
		(void)raft_send(r, &m, false);
	}
}

/* Follower side of AppendEntries, Raft Figure 2 receiver rules 2-5. */
int raft_step_append(struct raft *r, const struct raft_message *m)
{
	struct raft_message resp;
	uint64_t t, lastnew, hint;
	size_t i;
	int rv;

	assert(r->role == RAFT_FOLLOWER);
	memset(&resp, 0, sizeof(resp));
	resp.type = RAFT_MSG_APPEND_RESP;
	resp.to = m->from;
	if (m->index < r->commit) {
		/* Old or duplicate: everything up to commit is already ours. */
		resp.index = r->commit;
		return raft_send(r, &resp, true);
	}
	if (!raft_log_term(r, m->index, &t) || t != m->log_term) {
		/* Consistency check failed.  Hint the leader (etcd-style fast
		 * backtracking): the largest index <= m->index whose term is
		 * <= m->log_term, and its term; the leader skips every entry
		 * of a term the follower cannot match. */
		hint = m->index < raft_log_last(r) ? m->index : raft_log_last(r);
		hint = raft_log_conflict_by_term(r, hint, m->log_term);
		resp.reject = true;
		resp.index = m->index;
		resp.reject_hint = hint;
		if (!raft_log_term(r, hint, &resp.hint_term))
			resp.hint_term = 0;
		return raft_send(r, &resp, false);
	}
	/* Skip entries we already have; truncate at the first conflict. */
	for (i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		if (!raft_log_term(r, e->index, &t))
			break;
		if (t != e->term) {
			if (e->index <= r->commit)
				return RAFT_EINVAL; /* would undo a commit */
			raft_log_truncate(r, e->index);
			break;
		}
	}
	if (i < m->n_entries) {
		rv = raft_log_append(r, m->entries + i, m->n_entries - i);
		if (rv)
			return rv;
	}
	lastnew = m->index + m->n_entries;
	assert(lastnew <= raft_log_last(r));
	if (m->commit > r->commit)
		r->commit = m->commit < lastnew ? m->commit : lastnew;
	resp.index = lastnew;
	/* The ack means "durably stored": hold it until persisted. */
	return raft_send(r, &resp, true);
}

/* pr's match moved: commit, refill the pipeline, finish a transfer. */
void raft_after_match(struct raft *r, struct raft_progress *pr)
{
	struct raft_message m;

	if (raft_maybe_commit(r)) {
		if (r->role != RAFT_LEADER)
			return;
		raft_bcast_append(r);
	}
	while (raft_send_append(r, pr, false) > 0)
		;
	if (r->transferee == pr->id && pr->match == raft_log_last(r)) {
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_TIMEOUT_NOW;
		m.to = pr->id;
		(void)raft_send(r, &m, false);
	}
}

int raft_step_append_resp(struct raft *r, const struct raft_message *m)
{
	struct raft_progress *pr = raft_progress_get(r, m->from);
	uint64_t probe, next;

	assert(r->role == RAFT_LEADER);
	if (!pr || pr->id == r->id)
		return 0;
	raft_progress_heard(pr);
	if (m->reject) {
		if (pr->state == RAFT_PROGRESS_SNAPSHOT ||
		    m->index <= pr->match ||
		    (pr->state == RAFT_PROGRESS_PROBE && m->index != pr->next - 1))
			return 0; /* stale */
		probe = m->reject_hint;
		if (m->hint_term > 0)
			probe = raft_log_conflict_by_term(r, m->reject_hint,
			                                  m->hint_term);
		next = m->index < probe + 1 ? m->index : probe + 1;
		if (next < pr->match + 1)
			next = pr->match + 1;
		pr->next = next;
		raft_progress_become_probe(pr);
		(void)raft_send_append(r, pr, false);
		return 0;
	}
	if (m->index <= pr->match && !(pr->state == RAFT_PROGRESS_PROBE &&
	                               m->index == pr->next - 1))
		return 0; /* stale or duplicate */
	if (m->index > pr->match)
		pr->match = m->index;
	if (pr->next <= pr->match)
		pr->next = pr->match + 1;
	switch (pr->state) {
	case RAFT_PROGRESS_PROBE:
		raft_progress_become_replicate(pr);
		break;
	case RAFT_PROGRESS_SNAPSHOT:
		if (pr->match >= pr->snap_index || pr->match >= r->log_start)
			raft_progress_become_replicate(pr);
		break;
	default:
		raft_progress_inflight_free_to(r, pr, pr->match);
	}
	raft_after_match(r, pr);
	return 0;
}

int raft_step_heartbeat(struct raft *r, const struct raft_message *m)
{
	struct raft_message resp;
	uint64_t c = m->commit < raft_log_last(r) ? m->commit : raft_log_last(r);

	assert(r->role == RAFT_FOLLOWER);
	if (c > r->commit)
		r->commit = c;
	memset(&resp, 0, sizeof(resp));
	resp.type = RAFT_MSG_HEARTBEAT_RESP;
	resp.to = m->from;
	resp.context = m->context;
	resp.context_len = m->context_len;
	return raft_send(r, &resp, false);
}

int raft_step_heartbeat_resp(struct raft *r, const struct raft_message *m)
{
	struct raft_progress *pr = raft_progress_get(r, m->from);

	assert(r->role == RAFT_LEADER);
	if (!pr || pr->id == r->id)
		return 0;
	raft_progress_heard(pr);
	raft_reads_on_heartbeat_resp(r, pr, m);
	if (r->role != RAFT_LEADER)
		return 0;
	if (pr->match < raft_log_last(r)) {
		/* Recover from lost AppendEntries: unpause a probe, free one
		 * slot of a full window, and send even an empty append: its
		 * consistency check fails on a follower missing entries, and
		 * the rejection restarts probing from the hint. */
		if (pr->state == RAFT_PROGRESS_PROBE)
			pr->probe_sent = false;
		else if (pr->state == RAFT_PROGRESS_REPLICATE &&
		         raft_progress_inflight_full(r, pr) && pr->in_count) {
			pr->in_start = (pr->in_start + 1) % r->cfg.max_inflight;
			pr->in_count--;
		}
		(void)raft_send_append(r, pr, true);
	}
	return 0;
}

/* Raft §5.3/§5.4.2: the highest index stored on a majority of voters is
 * committed only if its entry is of the current term.  The leader counts
 * its own log only up to what it persisted (Dissertation §10.2.1), and not
 * at all once it removed itself (§4.2.2). */
bool raft_maybe_commit(struct raft *r)
{
	uint64_t ms[RAFT_MAX_SERVERS], cand, t;
	uint32_t i, n = 0;

	if (r->role != RAFT_LEADER)
		return false;
	for (i = 0; i < r->conf.n; i++) {
		const struct raft_server *s = &r->conf.servers[i];
		const struct raft_progress *pr;
		if (!s->voter)
			continue;
		if (s->id == r->id) {
			ms[n++] = r->stable;
			continue;
		}
		pr = raft_progress_get(r, s->id);
		ms[n++] = pr && raft_progress_admitted(r, pr) ? pr->match : 0;
	}
	if (n == 0)
		return false;
	qsort(ms, n, sizeof(ms[0]), cmp_desc);
	cand = ms[n / 2];
	if (cand <= r->commit || !raft_log_term(r, cand, &t) || t != r->term)
		return false;
	r->commit = cand;
	raft_reads_on_leader_commit(r);
	raft_conf_on_commit(r);
	return true;
}

/* Leader: appends one entry of the current term and replicates it. */
int raft_append_local(struct raft *r, uint32_t type, const void *data,
                      size_t len)
{
	struct raft_entry e;
	int rv;

	memset(&e, 0, sizeof(e));
	e.term = r->term;
	e.index = raft_log_last(r) + 1;
	e.type = type;
	e.data = (uint8_t *)(uintptr_t)data;
	e.len = len;
	rv = raft_log_append(r, &e, 1);
	if (rv)
		return rv;
	raft_bcast_append(r);
	return 0;
}

int raft_propose(struct raft *r, const void *data, size_t len,
                 uint64_t *index, uint64_t *term)
{
	int rv;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transferee)
		return RAFT_ETRANSFER;
	if (len && !data)
		return RAFT_EINVAL;
	rv = raft_append_local(r, RAFT_ENTRY_NORMAL, data, len);
	if (rv)
		return rv;
	if (index)
		*index = raft_log_last(r);
	if (term)
		*term = r->term;
	return 0;
}

void raft_tick_leader(struct raft *r, uint32_t ms)
{
	uint32_t i, active = 0;

	r->heartbeat_elapsed += ms;
	for (i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		if (pr->id == r->id)
			continue;
		pr->last_resp_ms += ms;
		if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
			pr->snap_wait_ms += ms;
			if (pr->snap_wait_ms >= r->cfg.election_min_ms)
				(void)raft_send_snapshot_chunk(r, pr);
		}
	}
	if (r->cfg.check_quorum) {
		/* CheckQuorum: step down once a majority has not answered
		 * within an election timeout (Dissertation §6.2). */
		for (i = 0; i < r->conf.n; i++) {
			const struct raft_server *s = &r->conf.servers[i];
			const struct raft_progress *pr;
			if (!s->voter)
				continue;
			if (s->id == r->id) {
				active++;
				continue;
			}
			pr = raft_progress_get(r, s->id);
			if (pr && raft_progress_admitted(r, pr) &&
			    pr->last_resp_ms < r->cfg.election_min_ms)
				active++;
		}
		if (active < raft_quorum(r)) {
			raft_become_follower(r, r->term, 0);
			return;
		}
	}
	if (r->transferee) {
		r->transfer_elapsed += ms;
		if (r->transfer_elapsed >= r->cfg.election_min_ms) {
			r->transferee = 0; /* Dissertation §3.10: abort */
			r->transfer_elapsed = 0;
		}
	}
	if (r->heartbeat_elapsed >= r->cfg.heartbeat_ms) {
		r->heartbeat_elapsed = 0;
		raft_bcast_heartbeat(r);
	}
}
