/* Leader election, Raft §5.2, with PreVote and the leader lease of
 * Dissertation §9.6 and CheckQuorum (§6.2), and the TimeoutNow-triggered
 * elections of leadership transfer (§3.10). */
#include <string.h>

#include "raft/raft_int.h"

static void reset_votes(struct raft *r);
static int poll(struct raft *r, uint64_t id, bool granted);
static void send_requests(struct raft *r, bool pre, bool transfer);

static void reset_votes(struct raft *r)
{
	r->n_votes = 0;
}

/* Records a vote; returns 1 if won, -1 if lost, 0 if undecided. */
static int poll(struct raft *r, uint64_t id, bool granted)
{
	uint32_t i, yes = 0, no = 0, q = raft_quorum(r);

	for (i = 0; i < r->n_votes; i++)
		if (r->votes_id[i] == id)
			break;
	if (i == r->n_votes) {
		if (r->n_votes >= RAFT_MAX_SERVERS)
			return 0;
		r->votes_id[r->n_votes] = id;
		r->votes_val[r->n_votes] = granted ? 1 : -1;
		r->n_votes++;
	}
	for (i = 0; i < r->n_votes; i++) {
		if (!raft_conf_is_voter(&r->conf, r->votes_id[i]))
			continue;
		if (r->votes_val[i] > 0)
			yes++;
		else
			no++;
	}
	if (yes >= q)
		return 1;
	if (no >= q)
		return -1;
	return 0;
}

bool raft_promotable(const struct raft *r)
{
	return raft_conf_is_voter(&r->conf, r->id) && raft_self_admitted(r);
}

/* Dissertation §4.2.3 / §9.6: a server that heard from a leader within the
 * minimum election timeout ignores (pre-)vote requests; this keeps removed
 * servers and rejoining partitions from deposing a healthy leader. */
bool raft_in_lease(const struct raft *r)
{
	return r->leader != 0 && r->election_elapsed < r->cfg.election_min_ms;
}

void raft_become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
	bool was_leader = r->role == RAFT_LEADER;

	if (leader != 0)
		r->leaderless_terms = 0;
	else if (term > r->term && r->leaderless_terms <= r->cfg.election_backoff_max)
		r->leaderless_terms++;
	if (term > r->term) {
		r->term = term;
		r->vote = 0;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	r->snap_data_wanted = false;    /* only a leader sends snapshots */
	r->transferee = 0;
	r->transfer_elapsed = 0;
	r->heartbeat_elapsed = 0;
	reset_votes(r);
	raft_reset_election_timer(r);
	if (was_leader) {
		raft_reads_fail_pending(r);
		raft_progress_free_all(r);
	}
}

void raft_become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = r->id;
	r->leaderless_terms = 0;
	r->transferee = 0;
	r->heartbeat_elapsed = 0;
	r->election_elapsed = 0;
	reset_votes(r);
	/* Progress allocation failure leaves some followers without a
	 * pipelining window; they are still probed. */
	(void)raft_progress_reset_all(r);
	/* Raft §5.4.2 / §8: commit an entry of the new term at once; this
	 * also commits everything before it and unblocks ReadIndex (§6.4) and
	 * membership changes (§4.1).  On OOM the next proposal does it. */
	if (raft_append_local(r, RAFT_ENTRY_NOOP, NULL, 0))
		raft_bcast_append(r);
}

static void send_requests(struct raft *r, bool pre, bool transfer)
{
	uint32_t i;
	struct raft_message m;

	for (i = 0; i < r->conf.n; i++) {
		const struct raft_server *s = &r->conf.servers[i];
		if (!s->voter || s->id == r->id)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;
		m.to = s->id;
		m.term = pre ? r->term + 1 : r->term;
		m.index = raft_log_last(r);
		m.log_term = raft_log_last_term(r);
		if (transfer) {
			m.context = (uint8_t *)RAFT_TRANSFER_CTX;
			m.context_len = RAFT_TRANSFER_CTX_LEN;
		}
		/* A RequestVote asserts our vote for ourselves in the new term:
		 * it may only leave once that vote is durable. */
		(void)raft_send(r, &m, !pre);
	}
}

/* Starts a pre-campaign (pre) or a real election.  A real one bumps the
 * term and votes for itself (Raft §5.2). */
void raft_campaign(struct raft *r, bool pre, bool transfer)
{
	int res;

	if (!raft_promotable(r))
		return;
	reset_votes(r);
	raft_reset_election_timer(r);
	r->leader = 0;
	if (pre) {
		r->role = RAFT_PRECANDIDATE;
	} else {
		r->role = RAFT_CANDIDATE;
		r->term++;
		r->vote = r->id;
		if (r->leaderless_terms <= r->cfg.election_backoff_max)
			r->leaderless_terms++;  /* from the next timer on */
	}
	res = poll(r, r->id, true);
	if (res > 0) {
		if (pre)
			raft_campaign(r, false, transfer);
		else
			raft_become_leader(r);
		return;
	}
	send_requests(r, pre, transfer);
}

/* RequestVote / PreVote receiver (Raft Figure 2, Dissertation §9.6).  The
 * term has already been reconciled by raft_step(). */
int raft_step_vote(struct raft *r, const struct raft_message *m)
{
	struct raft_message resp;
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can_vote, grant;

	can_vote = r->vote == m->from ||
	           (r->vote == 0 && r->leader == 0) ||
	           (pre && m->term > r->term);
	grant = can_vote && raft_log_up_to_date(r, m->index, m->log_term);
	if (pre && raft_in_lease(r))
		grant = false;
	/* A server whose storage is not the one the configuration records
	 * may have forgotten what it acknowledged: it neither votes nor is
	 * voted for (docs/raft.md, "Incarnations"). */
	if (!raft_conf_admits(&r->conf, m->from, m->from_incarnation)) {
		grant = false;
		r->refused_incarnation++;
	}
	if (!raft_self_admitted(r))
		grant = false;
	memset(&resp, 0, sizeof(resp));
	resp.type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;
	resp.to = m->from;
	resp.reject = !grant;
	/* A granted pre-vote answers in the requested term, so that the
	 * pre-candidate counts it; a rejection carries our term. */
	resp.term = (pre && grant) ? m->term : r->term;
	if (grant && !pre) {
		r->vote = m->from;
		raft_reset_election_timer(r);
	}
	/* The grant depends on the vote being durable (Raft Figure 2:
	 * "respond after updating stable storage"). */
	return raft_send(r, &resp, !pre);
}

int raft_step_vote_resp(struct raft *r, const struct raft_message *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE_RESP;
	int res;

	if ((pre && r->role != RAFT_PRECANDIDATE) ||
	    (!pre && r->role != RAFT_CANDIDATE))
		return 0;
	if (!raft_conf_admits(&r->conf, m->from, m->from_incarnation)) {
		r->refused_incarnation++;
		return 0;
	}
	res = poll(r, m->from, !m->reject);
	if (res > 0) {
		if (pre)
			raft_campaign(r, false, false);
		else
			raft_become_leader(r);
	} else if (res < 0) {
		raft_become_follower(r, r->term, 0);
	}
	return 0;
}

void raft_peer_down(struct raft *r, uint64_t id)
{
	uint32_t rank = 0, delay;

	if (id == 0 || r->role != RAFT_FOLLOWER || r->leader != id || !raft_promotable(r))
		return;
	for (uint32_t i = 0; i < r->conf.n; i++) {
		const struct raft_server *s = &r->conf.servers[i];
		if (s->voter && s->id != id && s->id < r->id)
			rank++;
	}
	r->leader = 0;
	if (rank == 0) {
		raft_campaign(r, r->cfg.pre_vote, false);
		return;
	}
	/* The timer fires after the ranked delay, but keeps its randomized
	 * timeout: a leader heard again (a wrong hint) restarts the usual one. */
	delay = rank * (r->cfg.election_min_ms / 2);
	r->election_elapsed = r->election_timeout > delay ? r->election_timeout - delay : r->election_timeout;
}

void raft_tick_election(struct raft *r, uint32_t ms)
{
	r->election_elapsed += ms;
	/* A learner or removed server keeps counting (it never campaigns),
	 * so that its lease expires and it can vote for a new leader. */
	if (r->election_elapsed >= r->election_timeout && raft_promotable(r))
		raft_campaign(r, r->cfg.pre_vote, false);
}
