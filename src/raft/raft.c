/* Construction, message dispatch (term rules of Raft Figure 2 and §9.6),
 * the Ready/advance batch and persistence tracking. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static bool valid_config(const struct raft_config *c);
static int restore(struct raft *r, const struct raft_restore *rs);
static bool persist_pending(const struct raft *r);
static bool hs_dirty(const struct raft *r);
static uint64_t apply_hi(const struct raft *r);
static bool read_done(const struct raft *r, const struct raft_read *rd);
static int check_message(const struct raft *r, const struct raft_message *m);
static int step_stale(struct raft *r, const struct raft_message *m);
static int push_rec(struct raft *r, uint64_t seq, uint64_t index, uint64_t term);

static const char *const errors[RAFT_ERROR_MAX] = {
	[RAFT_OK] = "success",
	[RAFT_ENOMEM] = "out of memory",
	[RAFT_EINVAL] = "invalid argument",
	[RAFT_ENOTLEADER] = "not the leader",
	[RAFT_ETRANSFER] = "leadership transfer in progress",
	[RAFT_ECONFPENDING] = "configuration change pending",
	[RAFT_ENOTFOUND] = "no such server",
	[RAFT_EEXIST] = "server already in the configuration",
	[RAFT_ECATCHUP] = "learner has not caught up",
	[RAFT_ECOMPACTED] = "index compacted",
	[RAFT_EUNAVAIL] = "index unavailable",
	[RAFT_ETOOBIG] = "too many servers",
	[RAFT_ECORRUPT] = "corrupt configuration",
	[RAFT_ESTATE] = "call out of order",
	[RAFT_EREMOVED] = "the id was removed from the cluster",
};

const char *raft_strerror(int err)
{
	if (err < 0 || err >= RAFT_ERROR_MAX || !errors[err])
		return "unknown error";
	return errors[err];
}

const char *raft_role_name(int role)
{
	switch (role) {
	case RAFT_FOLLOWER: return "follower";
	case RAFT_PRECANDIDATE: return "precandidate";
	case RAFT_CANDIDATE: return "candidate";
	case RAFT_LEADER: return "leader";
	default: return "unknown";
	}
}

const char *raft_msg_type_name(uint32_t type)
{
	static const char *const names[RAFT_MSG_TYPE_MAX] = {
		"none", "vote", "vote_resp", "prevote", "prevote_resp",
		"append", "append_resp", "heartbeat", "heartbeat_resp",
		"snapshot", "snapshot_resp", "timeout_now",
	};
	return type < RAFT_MSG_TYPE_MAX ? names[type] : "unknown";
}

void raft_config_init(struct raft_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->election_min_ms = 150;
	cfg->election_max_ms = 300;
	cfg->heartbeat_ms = 50;
	cfg->election_backoff_max = 3;
	cfg->pre_vote = true;
	cfg->check_quorum = true;
	cfg->max_inflight = 64;
	cfg->max_msg_bytes = 1 << 20;
	cfg->snapshot_threshold = 8192;
	cfg->snapshot_trailing = 512;
	cfg->snapshot_chunk_bytes = 64 << 10;
}

/* splitmix64: the only randomness, seeded from the config. */
uint64_t raft_rand(struct raft *r)
{
	uint64_t z = (r->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Raft §5.2: a fresh random timeout in [min, max), doubled for each term
 * begun without a leader after the first (up to election_backoff_max
 * doublings): a split vote retries at the usual pace once.  Elections
 * that cannot finish within the timeout (every vote waits for an fsync,
 * and fsyncs took longer than 300 ms while an AOF rewrite shared the disk)
 * otherwise restart forever: 140 terms in 40 s without a leader were seen. */
void raft_reset_election_timer(struct raft *r)
{
	uint64_t span = r->cfg.election_max_ms - r->cfg.election_min_ms;
	uint32_t shift = r->leaderless_terms > 1 ? r->leaderless_terms - 1 : 0;

	r->election_elapsed = 0;
	r->election_timeout = (r->cfg.election_min_ms + raft_rand(r) % span) << shift;
}

uint32_t raft_quorum(const struct raft *r)
{
	uint32_t i, n = 0;
	for (i = 0; i < r->conf.n; i++)
		if (r->conf.servers[i].voter)
			n++;
	return n / 2 + 1;
}

static bool valid_config(const struct raft_config *c)
{
	return c->id != 0 && c->election_min_ms > 0 &&
	       c->election_max_ms > c->election_min_ms &&
	       c->heartbeat_ms > 0 && c->heartbeat_ms < c->election_min_ms &&
	       c->election_backoff_max <= 8 &&
	       c->max_inflight > 0 && c->max_msg_bytes > 0 &&
	       c->snapshot_chunk_bytes > 0;
}

static int restore(struct raft *r, const struct raft_restore *rs)
{
	uint64_t prev_term = rs->snapshot.term;
	size_t i;
	int rv;

	r->term = rs->hs.term;
	r->vote = rs->hs.vote;
	r->snap = rs->snapshot;
	if (rs->snapshot.index == 0 && rs->bootstrap)
		r->snap.conf = *rs->bootstrap;
	if (rs->snapshot_len) {
		if (!rs->snapshot_data)
			return RAFT_EINVAL;
		r->snap_data = malloc(rs->snapshot_len);
		if (!r->snap_data)
			return RAFT_ENOMEM;
		memcpy(r->snap_data, rs->snapshot_data, rs->snapshot_len);
		r->snap_len = rs->snapshot_len;
	}
	r->snap_has_data = rs->snapshot_data != NULL;
	r->log_start = r->snap.index;
	r->log_start_term = r->snap.term;
	for (i = 0; i < rs->n_entries; i++) {
		const struct raft_entry *e = &rs->entries[i];
		if (e->index != r->snap.index + 1 + i || e->term < prev_term ||
		    e->term > r->term)
			return RAFT_EINVAL;
		prev_term = e->term;
	}
	rv = raft_log_append(r, rs->entries, rs->n_entries);
	if (rv)
		return rv;
	raft_conf_recompute(r);
	r->commit = rs->hs.commit;
	if (r->commit < r->snap.index)
		r->commit = r->snap.index;
	r->applied = rs->applied > r->snap.index ? rs->applied : r->snap.index;
	/* The stored commit index trails (see persist_pending): what the
	 * state machine applied was committed. */
	if (r->commit < r->applied && r->applied <= raft_log_last(r))
		r->commit = r->applied;
	if (r->commit > raft_log_last(r) || r->applied > r->commit)
		return RAFT_EINVAL;
	r->stable = raft_log_last(r);
	r->unstable_from = r->stable + 1;
	r->applying = r->applied;
	r->hs_out = rs->hs;
	r->hs_out.commit = r->commit;
	return 0;
}

int raft_new(const struct raft_config *cfg, const struct raft_restore *rs,
             struct raft **out)
{
	struct raft *r;
	int rv;

	*out = NULL;
	if (!cfg || !valid_config(cfg))
		return RAFT_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return RAFT_ENOMEM;
	r->cfg = *cfg;
	r->id = cfg->id;
	r->rng = cfg->seed ^ (cfg->id * 0xD1B54A32D192ED03ull);
	r->unstable_from = 1;
	if (rs) {
		rv = restore(r, rs);
		if (rv) {
			raft_free(r);
			return rv;
		}
	}
	raft_become_follower(r, r->term, 0);
	*out = r;
	return 0;
}

void raft_free(struct raft *r)
{
	size_t i;

	if (!r)
		return;
	raft_log_free(r);
	raft_snapshot_free(r);
	raft_progress_free_all(r);
	raft_reads_free(r);
	for (i = 0; i < r->n_msgs; i++)
		free(r->msgs[i].arena);
	free(r->msgs);
	free(r->recs);
	free(r->rd_msgs);
	free(r->rd_reads);
	free(r);
}

/* ---- outgoing messages ----------------------------------------------------- */

static bool hs_dirty(const struct raft *r)
{
	return r->term != r->hs_out.term || r->vote != r->hs_out.vote ||
	       r->commit != r->hs_out.commit;
}

/* What must be durable before we speak (Figure 2): term, vote, entries and
 * an installed snapshot.  The commit index is not (it is volatile state in
 * Figure 2; a restart recomputes it from the leader, and the state machine's
 * applied index is committed): a change of it alone asks for no write of
 * its own and rides along with the next one, as etcd's MustSync has it.
 * On 256 B puts that was a second fsynced redis write per commit on every
 * node. */
static bool persist_pending(const struct raft *r)
{
	return r->term != r->hs_out.term || r->vote != r->hs_out.vote ||
	       r->snap_out || r->unstable_from <= raft_log_last(r);
}

int raft_send(struct raft *r, const struct raft_message *m, bool need_persist)
{
	struct raft_qmsg *q;
	size_t size, i, off;
	uint8_t *a;

	if (r->n_msgs == r->cap_msgs) {
		size_t cap = r->cap_msgs ? 2 * r->cap_msgs : 16;
		struct raft_qmsg *n = realloc(r->msgs, cap * sizeof(*n));
		if (!n)
			return RAFT_ENOMEM;
		r->msgs = n;
		r->cap_msgs = cap;
	}
	size = m->n_entries * sizeof(struct raft_entry) + m->context_len +
	       m->snapshot_conf_len + m->data_len;
	for (i = 0; i < m->n_entries; i++)
		size += m->entries[i].len;
	a = NULL;
	if (size) {
		a = malloc(size);
		if (!a)
			return RAFT_ENOMEM;
	}
	q = &r->msgs[r->n_msgs];
	q->m = *m;
	q->arena = a;
	q->m.from = r->id;
	q->m.from_incarnation = r->cfg.incarnation;
	if (!q->m.term)
		q->m.term = r->term;
	off = m->n_entries * sizeof(struct raft_entry);
	if (m->n_entries) {
		q->m.entries = (struct raft_entry *)(void *)a;
		for (i = 0; i < m->n_entries; i++) {
			q->m.entries[i] = m->entries[i];
			q->m.entries[i].data = m->entries[i].len ? a + off : NULL;
			if (m->entries[i].len)
				memcpy(a + off, m->entries[i].data,
				       m->entries[i].len);
			off += m->entries[i].len;
		}
	}
#define COPY_FIELD(p, l)                                                     \
	do {                                                                 \
		if (m->l) {                                                  \
			memcpy(a + off, m->p, m->l);                         \
			q->m.p = a + off;                                    \
			off += m->l;                                         \
		} else {                                                     \
			q->m.p = NULL;                                       \
		}                                                            \
	} while (0)
	COPY_FIELD(context, context_len);
	COPY_FIELD(snapshot_conf, snapshot_conf_len);
	COPY_FIELD(data, data_len);
#undef COPY_FIELD
	/* Held until the state current now is durable: it is either in a
	 * Ready already handed out (issued_seq) or will be in the next one. */
	q->need_seq = 0;
	if (need_persist)
		q->need_seq = r->issued_seq + (persist_pending(r) ? 1 : 0);
	r->n_msgs++;
	return 0;
}

/* ---- inputs ---------------------------------------------------------------- */

void raft_tick(struct raft *r, uint32_t ms)
{
	if (r->role == RAFT_LEADER)
		raft_tick_leader(r, ms);
	else
		raft_tick_election(r, ms);
}

static int check_message(const struct raft *r, const struct raft_message *m)
{
	size_t i;

	if (!m || m->to != r->id || m->from == 0 || m->from == r->id ||
	    m->type == RAFT_MSG_NONE || m->type >= RAFT_MSG_TYPE_MAX)
		return RAFT_EINVAL;
	if (m->n_entries && !m->entries)
		return RAFT_EINVAL;
	for (i = 0; i < m->n_entries; i++)
		if (m->entries[i].index != m->index + 1 + i ||
		    m->entries[i].term > m->term ||
		    (m->entries[i].len && !m->entries[i].data))
			return RAFT_EINVAL;
	if ((m->context_len && !m->context) ||
	    (m->data_len && !m->data) ||
	    (m->snapshot_conf_len && !m->snapshot_conf))
		return RAFT_EINVAL;
	return 0;
}

/* A message from an older term.  Raft Figure 2: reply with our term so a
 * stale leader learns it (with PreVote and the lease, nothing else would
 * ever tell a partitioned old leader to step down, Dissertation §9.6). */
static int step_stale(struct raft *r, const struct raft_message *m)
{
	struct raft_message resp;

	memset(&resp, 0, sizeof(resp));
	resp.to = m->from;
	if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
	    m->type == RAFT_MSG_SNAPSHOT) {
		resp.type = RAFT_MSG_APPEND_RESP;
		return raft_send(r, &resp, false);
	}
	if (m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE) {
		/* A candidate behind on terms must learn ours, or it may
		 * campaign in stale terms forever while we never ask it. */
		resp.type = m->type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP :
		                                       RAFT_MSG_PREVOTE_RESP;
		resp.reject = true;
		return raft_send(r, &resp, false);
	}
	return 0;
}

int raft_step(struct raft *r, const struct raft_message *m)
{
	int rv = check_message(r, m);

	if (rv)
		return rv;
	if (m->term > r->term) {
		bool vote = m->type == RAFT_MSG_VOTE ||
		            m->type == RAFT_MSG_PREVOTE;
		bool force = m->context_len == RAFT_TRANSFER_CTX_LEN &&
		             memcmp(m->context, RAFT_TRANSFER_CTX,
		                    RAFT_TRANSFER_CTX_LEN) == 0;
		/* Leader lease (Dissertation §9.6 / §4.2.3): ignore elections
		 * while a leader is known to be alive, unless the leader asked
		 * for this one (§3.10 transfer). */
		if (vote && !force && raft_in_lease(r))
			return 0;
		if (m->type == RAFT_MSG_PREVOTE ||
		    (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
			/* A pre-vote changes no term. */
		} else if (m->type == RAFT_MSG_APPEND ||
		           m->type == RAFT_MSG_HEARTBEAT ||
		           m->type == RAFT_MSG_SNAPSHOT) {
			raft_become_follower(r, m->term, m->from);
		} else if (m->type == RAFT_MSG_VOTE && r->role == RAFT_FOLLOWER) {
			/* Raft Figure 2: only AppendEntries from the leader or a
			 * granted vote restart the election timer; a rejected
			 * candidate must not keep us from campaigning. */
			uint64_t elapsed = r->election_elapsed;
			uint64_t timeout = r->election_timeout;
			raft_become_follower(r, m->term, 0);
			r->election_elapsed = elapsed;
			r->election_timeout = timeout;
		} else {
			raft_become_follower(r, m->term, 0);
		}
	} else if (m->term < r->term) {
		return step_stale(r, m);
	}

	switch (m->type) {
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		return raft_step_vote(r, m);
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		if (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject &&
		    m->term != r->term + 1)
			return 0; /* granted for an older pre-campaign */
		return raft_step_vote_resp(r, m);
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		if (r->role == RAFT_LEADER)
			return 0; /* impossible: one leader per term */
		if (r->role != RAFT_FOLLOWER)
			raft_become_follower(r, r->term, m->from);
		r->leader = m->from;
		if (r->leaderless_terms != 0) {
			/* a timeout backed off while there was no leader ends */
			r->leaderless_terms = 0;
			raft_reset_election_timer(r);
		}
		r->election_elapsed = 0;
		if (m->type == RAFT_MSG_APPEND)
			return raft_step_append(r, m);
		if (m->type == RAFT_MSG_HEARTBEAT)
			return raft_step_heartbeat(r, m);
		return raft_step_snapshot(r, m);
	case RAFT_MSG_APPEND_RESP:
	case RAFT_MSG_HEARTBEAT_RESP:
	case RAFT_MSG_SNAPSHOT_RESP:
		if (r->role != RAFT_LEADER)
			return 0;
		/* Its answers drive its replication either way; they count
		 * towards commit, ReadIndex and CheckQuorum only once the
		 * configuration records the incarnation they come from. */
		{
			struct raft_progress *pr = raft_progress_get(r, m->from);
			if (pr) {
				raft_progress_saw(r, pr, m->from_incarnation);
				if (!raft_progress_admitted(r, pr))
					r->refused_incarnation++;
			}
		}
		if (m->type == RAFT_MSG_APPEND_RESP)
			return raft_step_append_resp(r, m);
		if (m->type == RAFT_MSG_HEARTBEAT_RESP)
			return raft_step_heartbeat_resp(r, m);
		return raft_step_snapshot_resp(r, m);
	case RAFT_MSG_TIMEOUT_NOW:
		/* Dissertation §3.10: start an election now, skipping PreVote
		 * and the lease (the leader asked for it). */
		if (r->role != RAFT_LEADER && raft_promotable(r))
			raft_campaign(r, false, true);
		return 0;
	default:
		return RAFT_EINVAL;
	}
}

int raft_transfer_leadership(struct raft *r, uint64_t id)
{
	struct raft_progress *pr = NULL;
	struct raft_message m;
	uint32_t i;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (id == 0) {
		for (i = 0; i < r->n_prs; i++) {
			struct raft_progress *p = &r->prs[i];
			if (p->id == r->id || !p->voter || !raft_progress_admitted(r, p))
				continue;
			if (!pr || p->match > pr->match)
				pr = p;
		}
		if (!pr)
			return RAFT_ENOTFOUND;
		id = pr->id;
	}
	if (id == r->id || !raft_conf_is_voter(&r->conf, id))
		return RAFT_ENOTFOUND;
	pr = raft_progress_get(r, id);
	if (!pr)
		return RAFT_ENOTFOUND;
	if (!raft_progress_admitted(r, pr))
		return RAFT_ECATCHUP;   /* it would not campaign: docs/raft.md, "Incarnations" */
	if (r->transferee)
		return r->transferee == id ? 0 : RAFT_ETRANSFER;
	r->transferee = id;
	r->transfer_elapsed = 0;
	if (pr->match == raft_log_last(r)) {
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_TIMEOUT_NOW;
		m.to = id;
		return raft_send(r, &m, false);
	}
	/* Catch it up now, resending from its match index: waiting for a
	 * lost append to be noticed would eat the transfer's time budget. */
	if (pr->state == RAFT_PROGRESS_REPLICATE) {
		pr->next = pr->match + 1;
		raft_progress_become_probe(pr);
	}
	(void)raft_send_append(r, pr, false);
	return 0;
}

static int push_rec(struct raft *r, uint64_t seq, uint64_t index, uint64_t term)
{
	if (r->n_recs == r->cap_recs) {
		size_t cap = r->cap_recs ? 2 * r->cap_recs : 8;
		struct raft_persist_rec *n = realloc(r->recs, cap * sizeof(*n));
		if (!n)
			return RAFT_ENOMEM;
		r->recs = n;
		r->cap_recs = cap;
	}
	r->recs[r->n_recs].seq = seq;
	r->recs[r->n_recs].index = index;
	r->recs[r->n_recs].term = term;
	r->n_recs++;
	return 0;
}

int raft_persisted(struct raft *r, uint64_t seq)
{
	size_t i, k = 0;
	uint64_t t;

	if (seq > r->issued_seq)
		return RAFT_ESTATE;
	if (seq <= r->acked_seq)
		return 0;
	r->acked_seq = seq;
	for (i = 0; i < r->n_recs; i++) {
		struct raft_persist_rec *rec = &r->recs[i];
		if (rec->seq > seq) {
			r->recs[k++] = *rec;
			continue;
		}
		/* Raft §5.3 Log Matching: if the entry at rec->index still has
		 * rec->term, the durable prefix equals our current prefix. */
		if (rec->index > r->stable &&
		    raft_log_term(r, rec->index, &t) && t == rec->term)
			r->stable = rec->index;
	}
	r->n_recs = k;
	if (r->role == RAFT_LEADER && raft_maybe_commit(r) &&
	    r->role == RAFT_LEADER)
		raft_bcast_append(r);
	return 0;
}

void raft_applied(struct raft *r, uint64_t index)
{
	assert(index <= r->commit);     /* only committed entries are applied */
	if (index > r->applied)
		r->applied = index;
	raft_maybe_want_snapshot(r);
}

/* ---- Ready ----------------------------------------------------------------- */

static uint64_t apply_hi(const struct raft *r)
{
	return r->commit < r->stable ? r->commit : r->stable;
}

static bool read_done(const struct raft *r, const struct raft_read *rd)
{
	return rd->status || (rd->confirmed && r->applied >= rd->index);
}

bool raft_has_ready(const struct raft *r)
{
	size_t i;
	uint64_t base = r->snap_out ? r->snap.index : r->applying;

	/* A CheckQuorum step-down changes neither term nor vote and sends
	 * nothing: without this the node would go on calling itself the
	 * leader until its election timer fired. */
	if (persist_pending(r) || r->snap_wanted || r->snap_data_wanted ||
	    apply_hi(r) > base || raft_reads_unstarted(r) ||
	    r->role != r->rd_role || r->leader != r->rd_leader)
		return true;
	for (i = 0; i < r->n_msgs; i++)
		if (r->msgs[i].need_seq <= r->acked_seq)
			return true;
	for (i = 0; i < r->n_reads; i++)
		if (read_done(r, &r->reads[i]))
			return true;
	return false;
}

int raft_ready(struct raft *r, struct raft_ready *rd)
{
	size_t i, n;
	uint64_t last = raft_log_last(r), base, hi;

	/* ReadIndex rounds for the reads issued since the last Ready: its
	 * heartbeats go out in this one. */
	raft_reads_start(r);
	memset(rd, 0, sizeof(*rd));
	/* Scratch arrays first, so that ENOMEM changes nothing (but the round
	 * above, which the next Ready carries then). */
	if (r->rd_cap_msgs < r->n_msgs) {
		struct raft_message *nm = realloc(r->rd_msgs,
		                                  r->n_msgs * sizeof(*nm));
		if (!nm)
			return RAFT_ENOMEM;
		r->rd_msgs = nm;
		r->rd_cap_msgs = r->n_msgs;
	}
	if (r->rd_cap_reads < r->n_reads) {
		struct raft_read_state *nr = realloc(r->rd_reads,
		                                     r->n_reads * sizeof(*nr));
		if (!nr)
			return RAFT_ENOMEM;
		r->rd_reads = nr;
		r->rd_cap_reads = r->n_reads;
	}
	if (push_rec(r, 0, 0, 0))
		return RAFT_ENOMEM;
	r->n_recs--; /* reserved */

	rd->role = r->rd_role = r->role;
	rd->leader = r->rd_leader = r->leader;
	if (persist_pending(r) && hs_dirty(r)) {
		rd->hs_changed = true;
		rd->hs.term = r->term;
		rd->hs.vote = r->vote;
		rd->hs.commit = r->commit;
	}
	if (r->snap_out) {
		rd->has_snapshot = true;
		rd->snapshot = r->snap;
		rd->snapshot_data = r->snap_data;
		rd->snapshot_len = r->snap_len;
	}
	if (r->unstable_from <= last) {
		rd->entries = raft_log_get(r, r->unstable_from);
		rd->n_entries = last - r->unstable_from + 1;
	}
	if (rd->hs_changed || rd->has_snapshot || rd->n_entries) {
		rd->seq = ++r->issued_seq;
		if (rd->n_entries)
			(void)push_rec(r, rd->seq, last, raft_log_last_term(r));
		else if (rd->has_snapshot)
			(void)push_rec(r, rd->seq, r->snap.index, r->snap.term);
	}
	r->rd_unstable_to = last + 1;

	/* Messages whose persistence is acknowledged. */
	n = 0;
	for (i = 0; i < r->n_msgs; i++)
		if (r->msgs[i].need_seq <= r->acked_seq)
			r->rd_msgs[n++] = r->msgs[i].m;
	rd->messages = r->rd_msgs;
	rd->n_messages = r->rd_n_msgs = n;

	base = rd->has_snapshot ? r->snap.index : r->applying;
	hi = apply_hi(r);
	r->rd_applying = base;
	if (hi > base && base >= r->log_start) {
		rd->committed = raft_log_get(r, base + 1);
		rd->n_committed = hi - base;
		r->rd_applying = hi;
	}

	n = 0;
	for (i = 0; i < r->n_reads; i++) {
		struct raft_read *rs = &r->reads[i];
		if (!read_done(r, rs))
			continue;
		rs->taken = true;
		r->rd_reads[n].index = rs->index;
		r->rd_reads[n].status = rs->status;
		r->rd_reads[n].ctx = rs->ctx;
		r->rd_reads[n].ctx_len = rs->ctx_len;
		n++;
	}
	rd->reads = r->rd_reads;
	rd->n_reads = n;
	rd->snapshot_wanted = r->snap_wanted;
	rd->snapshot_data_wanted = r->snap_data_wanted;
	r->rd_taken = true;
	return 0;
}

void raft_advance(struct raft *r, struct raft_ready *rd)
{
	size_t i, k;

	if (!r->rd_taken)
		return;
	r->rd_taken = false;
	if (rd->hs_changed)
		r->hs_out = rd->hs;
	if (rd->has_snapshot)
		r->snap_out = false;
	if (rd->n_entries || rd->has_snapshot)
		r->unstable_from = r->rd_unstable_to;
	if (r->rd_applying > r->applying)
		r->applying = r->rd_applying;
	if (rd->snapshot_wanted) {
		r->snap_wanted = false;
		r->snap_asked = true;
	}
	if (rd->snapshot_data_wanted)
		r->snap_data_wanted = false;    /* asked again on the resend tick */
	for (i = k = 0; i < r->n_msgs; i++) {
		if (r->msgs[i].need_seq <= r->acked_seq)
			free(r->msgs[i].arena);
		else
			r->msgs[k++] = r->msgs[i];
	}
	r->n_msgs = k;
	for (i = k = 0; i < r->n_reads; i++) {
		if (r->reads[i].taken)
			free(r->reads[i].ctx);
		else
			r->reads[k++] = r->reads[i];
	}
	r->n_reads = k;
	memset(rd, 0, sizeof(*rd));
}

/* ---- status ---------------------------------------------------------------- */

uint64_t raft_id(const struct raft *r) { return r->id; }
int raft_role(const struct raft *r) { return r->role; }
uint64_t raft_refused_incarnation(const struct raft *r) { return r->refused_incarnation; }
bool raft_admitted(const struct raft *r) { return raft_self_admitted(r); }
uint64_t raft_term(const struct raft *r) { return r->term; }
uint64_t raft_vote(const struct raft *r) { return r->vote; }
uint64_t raft_leader(const struct raft *r) { return r->leader; }
uint64_t raft_commit_index(const struct raft *r) { return r->commit; }
uint64_t raft_applied_index(const struct raft *r) { return r->applied; }
uint64_t raft_last_index(const struct raft *r) { return raft_log_last(r); }
uint64_t raft_last_term(const struct raft *r) { return raft_log_last_term(r); }
uint64_t raft_first_index(const struct raft *r) { return r->log_start + 1; }
uint64_t raft_snapshot_index(const struct raft *r) { return r->snap.index; }
uint64_t raft_transferee(const struct raft *r) { return r->transferee; }

const struct raft_conf *raft_configuration(const struct raft *r)
{
	return &r->conf;
}

bool raft_committed_configuration(const struct raft *r, struct raft_conf *out)
{
	if (r->conf_index <= r->commit) {
		*out = r->conf;
		return true;
	}
	return raft_conf_at(r, r->commit, out);
}

bool raft_is_learner(const struct raft *r)
{
	int i = raft_conf_find(&r->conf, r->id);
	return i >= 0 && !r->conf.servers[i].voter;
}

uint64_t raft_term_at(const struct raft *r, uint64_t index, int *err)
{
	uint64_t t = 0;
	int e = 0;

	if (!raft_log_term(r, index, &t)) {
		if (index == r->snap.index) {
			t = r->snap.term;
		} else {
			t = 0;
			e = index < r->log_start ? RAFT_ECOMPACTED : RAFT_EUNAVAIL;
		}
	}
	if (err)
		*err = e;
	return t;
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
	return raft_log_get(r, index);
}
