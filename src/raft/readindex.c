/* Linearizable reads without log writes: ReadIndex, Dissertation §6.4.
 *   1. the leader must have committed an entry of its term (it then knows
 *      the latest commit index);
 *   2. it records its commit index as the read index;
 *   3. it confirms it is still leader with a round of heartbeats answered
 *      by a majority (the round number travels in message context);
 *   4. it serves the read once applied >= read index.
 * A read not confirmed when the leader steps down fails (RAFT_ENOTLEADER):
 * a deposed leader never serves a stale read. */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static bool committed_in_term(const struct raft *r);
static void start_pending(struct raft *r);
static bool round_confirmed(struct raft *r, uint64_t round);

static bool committed_in_term(const struct raft *r)
{
	uint64_t t;
	return raft_log_term(r, r->commit, &t) && t == r->term;
}

/* Gives every read waiting for step 1 the current commit index and one new
 * heartbeat round. */
static void start_pending(struct raft *r)
{
	size_t i;
	bool any = false;

	for (i = 0; i < r->n_reads; i++) {
		struct raft_read *rd = &r->reads[i];
		if (rd->status || rd->confirmed || rd->round)
			continue;
		if (!any)
			r->read_round++;
		any = true;
		rd->index = r->commit;
		rd->round = r->read_round;
	}
	if (any) {
		raft_reads_check(r); /* a single voter confirms alone */
		raft_bcast_heartbeat(r);
	}
}

static bool round_confirmed(struct raft *r, uint64_t round)
{
	uint32_t i, acks = 0;

	for (i = 0; i < r->conf.n; i++) {
		const struct raft_server *s = &r->conf.servers[i];
		const struct raft_progress *pr;
		if (!s->voter)
			continue;
		if (s->id == r->id) {
			acks++;
			continue;
		}
		pr = raft_progress_get(r, s->id);
		if (pr && raft_progress_admitted(r, pr) && pr->read_acked >= round)
			acks++;
	}
	return acks >= raft_quorum(r);
}

int raft_read_index(struct raft *r, const void *ctx, size_t len)
{
	struct raft_read *rd;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (len > RAFT_MAX_CTX || (len && !ctx))
		return RAFT_EINVAL;
	if (r->n_reads == r->cap_reads) {
		size_t cap = r->cap_reads ? 2 * r->cap_reads : 8;
		struct raft_read *n = realloc(r->reads, cap * sizeof(*n));
		if (!n)
			return RAFT_ENOMEM;
		r->reads = n;
		r->cap_reads = cap;
	}
	rd = &r->reads[r->n_reads];
	memset(rd, 0, sizeof(*rd));
	if (len) {
		rd->ctx = malloc(len);
		if (!rd->ctx)
			return RAFT_ENOMEM;
		memcpy(rd->ctx, ctx, len);
		rd->ctx_len = len;
	}
	r->n_reads++;
	/* The round starts in raft_ready(): every read issued until then
	 * shares it (one heartbeat per follower, not one per read). */
	return 0;
}

bool raft_reads_unstarted(const struct raft *r)
{
	size_t i;

	if (r->role != RAFT_LEADER || !committed_in_term(r))
		return false;
	for (i = 0; i < r->n_reads; i++) {
		const struct raft_read *rd = &r->reads[i];
		if (!rd->status && !rd->confirmed && !rd->round)
			return true;
	}
	return false;
}

void raft_reads_start(struct raft *r)
{
	if (raft_reads_unstarted(r))
		start_pending(r);
}

void raft_reads_on_leader_commit(struct raft *r)
{
	if (r->role == RAFT_LEADER && committed_in_term(r))
		start_pending(r);
}

void raft_reads_check(struct raft *r)
{
	size_t i;

	if (r->role != RAFT_LEADER)
		return;
	for (i = 0; i < r->n_reads; i++) {
		struct raft_read *rd = &r->reads[i];
		if (rd->status || rd->confirmed || !rd->round)
			continue;
		if (round_confirmed(r, rd->round))
			rd->confirmed = true;
	}
}

void raft_reads_on_heartbeat_resp(struct raft *r, struct raft_progress *pr,
                                  const struct raft_message *m)
{
	uint64_t round = 0;
	int i;

	if (m->context_len != 8 || !m->context)
		return;
	for (i = 7; i >= 0; i--)
		round = (round << 8) | m->context[i];
	if (round > r->read_round)
		return; /* not ours */
	if (round > pr->read_acked) {
		pr->read_acked = round;
		raft_reads_check(r);
	}
}

/* Context for outgoing heartbeats: the latest round, while a read waits. */
bool raft_reads_round_ctx(const struct raft *r, uint8_t ctx[8])
{
	size_t i;
	int b;

	for (i = 0; i < r->n_reads; i++) {
		const struct raft_read *rd = &r->reads[i];
		if (!rd->status && !rd->confirmed && rd->round) {
			for (b = 0; b < 8; b++)
				ctx[b] = (uint8_t)(r->read_round >> (8 * b));
			return true;
		}
	}
	return false;
}

/* Lost leadership: unconfirmed reads fail.  Confirmed ones stay valid
 * (their index was the commit index while we were leader) and are served
 * once applied reaches them. */
void raft_reads_fail_pending(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->n_reads; i++)
		if (!r->reads[i].confirmed)
			r->reads[i].status = RAFT_ENOTLEADER;
}

void raft_reads_free(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->n_reads; i++)
		free(r->reads[i].ctx);
	free(r->reads);
	r->reads = NULL;
	r->n_reads = r->cap_reads = 0;
}
