#include <stdlib.h>

#include "fs/fsm.h"
#include "fs/gc.h"
#include "fs/rebalance.h"
#include "fs/repair.h"
#include "node/consensus.h"
#include "node/members.h"
#include "node/status.h"
#include "node/timesync.h"
#include "store/store.h"
#include "util/config.h"
#include "util/xmalloc.h"

struct status_call {
	Rcfs__NodeStatus s;
	char clock_source[128];
	int pending;                    /* storage reads outstanding */
	status_cb *cb;
	void *arg;
};

static void
status_done(struct status_call *call)
{
	if (--call->pending > 0)
		return;
	call->cb(call->arg, &call->s);
	free(call);
}

static void
status_memory(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t used, uint64_t max)
{
	struct status_call *call = arg;

	(void)why;
	if (code == RCFS__ERROR_CODE__E_OK) {
		call->s.has_used_memory = call->s.has_maxmemory = 1;
		call->s.used_memory = used;
		call->s.maxmemory = max;
	}
	status_done(call);
}

static void
status_count(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t files, uint64_t chunks)
{
	struct status_call *call = arg;

	(void)why;
	if (code == RCFS__ERROR_CODE__E_OK) {
		call->s.has_files = call->s.has_chunks = 1;
		call->s.files = files;
		call->s.chunks = chunks;
	}
	status_done(call);
}

void
status_gather(const struct node_parts *p, status_cb *cb, void *arg)
{
	struct status_call *call = xcalloc(1, sizeof *call);
	Rcfs__NodeStatus *s = &call->s;

	call->cb = cb;
	call->arg = arg;
	rcfs__node_status__init(s);
	s->id = p->cfg->node_id;
	s->address = p->cfg->listen;
	s->role = (char *)consensus_role(p->consensus);
	s->has_term = s->has_leader_id = 1;
	s->term = consensus_term(p->consensus);
	s->leader_id = consensus_leader(p->consensus);
	s->has_applied_index = s->has_commit_index = 1;
	s->applied_index = consensus_applied_index(p->consensus);
	s->commit_index = consensus_commit_index(p->consensus);
	s->has_reachable = s->has_storage_up = 1;
	s->reachable = 1;
	s->storage_up = store_is_up(p->store);
	s->has_aof_rewriting = 1;
	s->aof_rewriting = store_aof_rewriting(p->store);
	s->has_incarnation = s->has_admitted = 1;
	s->incarnation = consensus_incarnation(p->consensus);
	s->admitted = consensus_admitted(p->consensus);
	{
		const struct member *mb = members_find(p->members, p->cfg->node_id);
		struct rebalance_stats rs;
		s->member_role = mb != NULL ? (char *)member_role_name(mb->role) : "none";
		s->member_state = mb != NULL ? (char *)member_state_name(mb) : "removed";
		if (p->repair != NULL) {
			struct repair_stats ps;
			repair_stats(p->repair, &ps);
			s->has_chunks_under_replicated = s->has_repair_fixed = s->has_repair_bytes = 1;
			s->has_repair_rate_bps = 1;
			s->chunks_under_replicated = ps.last_short;
			s->has_chunks_still_short = 1;
			s->chunks_still_short = ps.last_unfixed;
			s->repair_fixed = ps.pass_fixed;
			s->repair_bytes = ps.pass_bytes;
			s->repair_rate_bps = ps.rate_bps;
			s->has_repair_eta_s = ps.eta_s >= 0;
			s->repair_eta_s = ps.eta_s;
		}
		if (p->gc != NULL) {
			struct gc_stats gs;
			gc_stats(p->gc, &gs);
			s->has_gc_waiting_chunks = s->has_gc_waiting_bytes = gs.census_done;
			s->gc_waiting_chunks = gs.waiting;
			s->gc_waiting_bytes = gs.waiting_bytes;
			s->has_gc_held_until_ms = gs.held_until_ms != 0;
			s->gc_held_until_ms = gs.held_until_ms;
		}
		if (p->rebalance != NULL) {
			rebalance_stats(p->rebalance, &rs);
			s->has_rebalance_walks = s->has_rebalance_moved_bytes = 1;
			s->rebalance_walks = rs.walks;
			s->rebalance_moved_bytes = rs.moved_bytes;
			if (rs.walks > 0) {
				s->has_chunks_held = s->has_rebalance_rate_bps = 1;
				s->chunks_held = rs.held;
				s->has_stored_bytes = 1;
				s->stored_bytes = rs.held_bytes;
				s->rebalance_rate_bps = rs.rate_bps;
			}
			if (rs.walks > 0 || rs.to_move > 0) {
				s->has_rebalance_pending = s->has_rebalance_pending_bytes = 1;
				s->rebalance_pending = rs.to_move;
				s->rebalance_pending_bytes = rs.to_move_bytes;
				s->has_rebalance_eta_s = rs.eta_s >= 0;
				s->rebalance_eta_s = rs.eta_s;
			}
		}
	}
	timesync_status(p->timesync, s, call->clock_source, sizeof call->clock_source);
	call->pending = 1;
	if (s->storage_up) {
		call->pending += 2;
		store_memory(p->store, status_memory, call);
		fsm_count(p->store, status_count, call);
	}
	status_done(call);
}
