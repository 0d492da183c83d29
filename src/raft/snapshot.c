/* Snapshots and log compaction, Raft §7 / Dissertation §5: the core asks
 * the application for a snapshot past a threshold, compacts its log, and
 * sends InstallSnapshot in chunks (one chunk in flight per follower) to
 * followers whose next entry was compacted. */
#include <assert.h>
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

/* Checks that a snapshot at index is possible and fills meta (term, conf). */
static int snapshot_meta_at(struct raft *r, uint64_t index,
                            struct raft_snapshot_meta *meta)
{
	if (index > r->applied || index > r->stable ||
	    !raft_log_term(r, index, &meta->term) ||
	    !raft_conf_at(r, index, &meta->conf))
		return RAFT_EUNAVAIL;
	meta->index = index;
	return 0;
}

/* Makes meta the current snapshot (with or without bytes) and compacts the
 * in-memory log up to index - trailing. */
static void snapshot_install_meta(struct raft *r,
                                  const struct raft_snapshot_meta *meta)
{
	uint64_t upto = meta->index > r->cfg.snapshot_trailing ?
	                meta->index - r->cfg.snapshot_trailing : 0;

	r->snap = *meta;
	r->snap_wanted = false;
	r->snap_asked = false;
	raft_log_compact(r, upto);
}

int raft_compact(struct raft *r, uint64_t index,
                 struct raft_snapshot_meta *meta)
{
	struct raft_snapshot_meta m;
	int rv;

	if (index <= r->snap.index)
		return RAFT_ECOMPACTED;
	if ((rv = snapshot_meta_at(r, index, &m)) != 0)
		return rv;
	free(r->snap_data);
	r->snap_data = NULL;
	r->snap_len = 0;
	r->snap_has_data = false;
	snapshot_install_meta(r, &m);
	if (meta)
		*meta = r->snap;
	return 0;
}

int raft_snapshot_taken(struct raft *r, uint64_t index, const void *data,
                        size_t len, struct raft_snapshot_meta *meta)
{
	struct raft_snapshot_meta m;
	uint8_t *copy = NULL;
	uint32_t i;
	int rv;

	/* The bytes of the current snapshot, which had none: attach them. */
	bool attach = index == r->snap.index && index > 0 && !r->snap_has_data;

	if (index <= r->snap.index && !attach)
		return RAFT_ECOMPACTED;
	if (attach)
		m = r->snap;
	else if ((rv = snapshot_meta_at(r, index, &m)) != 0)
		return rv;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return RAFT_ENOMEM;
		memcpy(copy, data, len);
	}
	free(r->snap_data);
	r->snap_data = copy;
	r->snap_len = len;
	r->snap_has_data = true;
	if (!attach)
		snapshot_install_meta(r, &m);
	if (meta)
		*meta = r->snap;
	/* Followers waiting for these bytes get their first chunk now. */
	for (i = 0; r->role == RAFT_LEADER && i < r->n_prs; i++)
		if (r->prs[i].id != r->id &&
		    r->prs[i].state == RAFT_PROGRESS_SNAPSHOT)
			(void)raft_send_snapshot_chunk(r, &r->prs[i]);
	return 0;
}

/* Sends pr the chunk at its offset of the current snapshot. */
int raft_send_snapshot_chunk(struct raft *r, struct raft_progress *pr)
{
	struct raft_message m;
	uint8_t conf[RAFT_CONF_MAX_BYTES];
	uint64_t len;

	if (pr->snap_index != r->snap.index || pr->snap_offset > r->snap_len) {
		pr->snap_index = r->snap.index;
		pr->snap_offset = 0;
	}
	if (!r->snap_has_data) {
		/* Compacted without bytes (raft_compact): ask the application
		 * for them; the snapshot tick asks again until they come. */
		r->snap_data_wanted = true;
		pr->snap_wait_ms = 0;
		return 0;
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

	assert(r->role == RAFT_FOLLOWER);
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
	r->snap_has_data = true;
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

	assert(r->role == RAFT_LEADER);
	if (!pr || pr->id == r->id)
		return 0;
	raft_progress_heard(pr);
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
