/* Snapshots and log compaction, Raft §7 / Dissertation §5: the core asks
 * the application for a snapshot past a threshold, compacts its log, and
 * sends InstallSnapshot in chunks (one chunk in flight per follower) to
 * followers whose next entry was compacted. */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static int assemble(struct raft *r, const struct raft_message *m);

void raft_snapshot_free(struct raft *r)
{
	free(r->snap_data);
	r->snap_data = NULL;
	r->snap_len = 0;
	free(r->in_buf);
	r->in_buf = NULL;
	r->in_len = r->in_cap = 0;
}

void raft_maybe_want_snapshot(struct raft *r)
{
	if (r->cfg.snapshot_threshold && !r->snap_asked &&
	    r->applied >= r->snap.index + r->cfg.snapshot_threshold)
		r->snap_wanted = true;
}

int raft_snapshot_taken(struct raft *r, uint64_t index, const void *data,
                        size_t len, struct raft_snapshot_meta *meta)
{
	uint64_t term, upto;
	struct raft_conf conf;
	uint8_t *copy = NULL;

	if (index <= r->snap.index)
		return RAFT_ECOMPACTED;
	if (index > r->applied || index > r->stable ||
	    !raft_log_term(r, index, &term) || !raft_conf_at(r, index, &conf))
		return RAFT_EUNAVAIL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return RAFT_ENOMEM;
		memcpy(copy, data, len);
	}
	free(r->snap_data);
	r->snap_data = copy;
	r->snap_len = len;
	r->snap.index = index;
	r->snap.term = term;
	r->snap.conf = conf;
	r->snap_wanted = false;
	r->snap_asked = false;
	upto = index > r->cfg.snapshot_trailing ?
	       index - r->cfg.snapshot_trailing : 0;
	raft_log_compact(r, upto);
	if (meta)
		*meta = r->snap;
	return 0;
}

/* Sends pr the chunk at its offset of the current snapshot. */
int raft_send_snapshot_chunk(struct raft *r, struct raft_progress *pr)
{
	struct raft_message m;
	uint8_t conf[4 + RAFT_MAX_SERVERS * 9];
	uint64_t len;

	if (pr->snap_index != r->snap.index || pr->snap_offset > r->snap_len) {
		pr->snap_index = r->snap.index;
		pr->snap_offset = 0;
	}
	len = r->snap_len - pr->snap_offset;
	if (len > r->cfg.snapshot_chunk_bytes)
		len = r->cfg.snapshot_chunk_bytes;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_SNAPSHOT;
	m.to = pr->id;
	m.commit = r->commit;
	m.snapshot_index = r->snap.index;
	m.snapshot_term = r->snap.term;
	m.snapshot_conf = conf;
	m.snapshot_conf_len = raft_conf_encode(&r->snap.conf, conf,
	                                       sizeof(conf));
	m.offset = pr->snap_offset;
	m.data = r->snap_data ? r->snap_data + pr->snap_offset : NULL;
	m.data_len = len;
	m.done = pr->snap_offset + len == r->snap_len;
	pr->snap_wait_ms = 0;
	return raft_send(r, &m, false);
}

/* Appends a chunk to the follower's assembly buffer. */
static int assemble(struct raft *r, const struct raft_message *m)
{
	size_t need = r->in_len + m->data_len;

	if (need > r->in_cap) {
		size_t cap = r->in_cap ? r->in_cap : 4096;
		uint8_t *n;
		while (cap < need)
			cap *= 2;
		n = realloc(r->in_buf, cap);
		if (!n)
			return RAFT_ENOMEM;
		r->in_buf = n;
		r->in_cap = cap;
	}
	if (m->data_len)
		memcpy(r->in_buf + r->in_len, m->data, m->data_len);
	r->in_len = need;
	return 0;
}

/* Follower side of InstallSnapshot, Raft Figure 13. */
int raft_step_snapshot(struct raft *r, const struct raft_message *m)
{
	struct raft_message resp;
	struct raft_conf conf;
	uint64_t t;
	int rv;

	memset(&resp, 0, sizeof(resp));
	resp.to = m->from;
	if (m->snapshot_index <= r->commit) {
		/* Already have it all: answer like AppendEntries does. */
		resp.type = RAFT_MSG_APPEND_RESP;
		resp.index = r->commit;
		return raft_send(r, &resp, true);
	}
	resp.type = RAFT_MSG_SNAPSHOT_RESP;
	resp.snapshot_index = m->snapshot_index;
	resp.snapshot_term = m->snapshot_term;
	if (m->offset == 0) {
		r->in_index = m->snapshot_index;
		r->in_term = m->snapshot_term;
		r->in_len = 0;
	} else if (r->in_index != m->snapshot_index ||
	           r->in_term != m->snapshot_term || m->offset != r->in_len) {
		resp.reject = true;
		resp.reject_hint = (r->in_index == m->snapshot_index &&
		                    r->in_term == m->snapshot_term) ? r->in_len : 0;
		return raft_send(r, &resp, false);
	}
	rv = assemble(r, m);
	if (rv)
		return rv;
	resp.offset = r->in_len;
	if (!m->done)
		return raft_send(r, &resp, false);

	/* Last chunk: install. */
	rv = raft_conf_decode(m->snapshot_conf, m->snapshot_conf_len, &conf);
	if (rv) {
		r->in_len = 0;
		return rv;
	}
	resp.done = true;
	resp.index = m->snapshot_index;
	if (raft_log_term(r, m->snapshot_index, &t) &&
	    t == m->snapshot_term) {
		/* Figure 13 step 6: our log already holds the snapshot's last
		 * entry: keep the log, just advance commit. */
		r->commit = m->snapshot_index;
		r->in_len = 0;
		return raft_send(r, &resp, true);
	}
	/* Step 7: discard the whole log and use the snapshot. */
	free(r->snap_data);
	r->snap_data = r->in_buf;
	r->snap_len = r->in_len;
	r->in_buf = NULL;
	r->in_len = r->in_cap = 0;
	r->snap.index = m->snapshot_index;
	r->snap.term = m->snapshot_term;
	r->snap.conf = conf;
	raft_log_reset(r, m->snapshot_index, m->snapshot_term);
	if (r->stable > m->snapshot_index)
		r->stable = m->snapshot_index;
	raft_conf_recompute(r);
	r->commit = m->snapshot_index;
	r->snap_out = true;
	r->snap_asked = false;
	r->snap_wanted = false;
	/* "Installed" is only true once the snapshot is durable. */
	return raft_send(r, &resp, true);
}

int raft_step_snapshot_resp(struct raft *r, const struct raft_message *m)
{
	struct raft_progress *pr = raft_progress_get(r, m->from);

	if (!pr || pr->id == r->id)
		return 0;
	pr->last_resp_ms = 0;
	if (pr->state != RAFT_PROGRESS_SNAPSHOT)
		return 0;
	if (m->done) {
		if (m->snapshot_index > pr->match)
			pr->match = m->snapshot_index;
		pr->next = pr->match + 1;
		raft_progress_become_probe(pr);
		raft_after_match(r, pr);
		return 0;
	}
	if (m->snapshot_index != pr->snap_index)
		return 0; /* about an older snapshot */
	pr->snap_offset = m->reject ? m->reject_hint : m->offset;
	return raft_send_snapshot_chunk(r, pr);
}
