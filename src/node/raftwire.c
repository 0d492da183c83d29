#include <stdlib.h>
#include <string.h>

#include "node/raftwire.h"
#include "util/xmalloc.h"

void
raftwire_from_pb(const Rcfs__RaftMessage *pm, struct raft_message *m)
{
	struct raft_entry *ents = NULL;

	memset(m, 0, sizeof *m);
	m->type = pm->type;
	m->from = pm->from;
	m->from_incarnation = pm->from_incarnation;
	m->to = pm->to;
	m->term = pm->term;
	m->log_term = pm->log_term;
	m->index = pm->index;
	m->commit = pm->commit;
	m->reject = pm->reject;
	m->reject_hint = pm->reject_hint;
	m->hint_term = pm->hint_term;
	m->context = pm->context.data;
	m->context_len = pm->context.len;
	m->snapshot_index = pm->snapshot_index;
	m->snapshot_term = pm->snapshot_term;
	m->snapshot_conf = pm->snapshot_conf.data;
	m->snapshot_conf_len = pm->snapshot_conf.len;
	m->offset = pm->offset;
	m->data = pm->data.data;
	m->data_len = pm->data.len;
	m->done = pm->done;
	if (pm->n_entries > 0) {
		ents = xcalloc(pm->n_entries, sizeof *ents);
		for (size_t i = 0; i < pm->n_entries; i++) {
			ents[i].term = pm->entries[i]->term;
			ents[i].index = pm->entries[i]->index;
			ents[i].type = pm->entries[i]->type;
			ents[i].data = pm->entries[i]->data.data;
			ents[i].len = pm->entries[i]->data.len;
		}
		m->entries = ents;
		m->n_entries = pm->n_entries;
	}
}

void
raftwire_to_pb(const struct raft_message *m, struct raftwire_pb *pb)
{
	Rcfs__RaftMessage *pm = &pb->msg;

	rcfs__raft_message__init(pm);
	pb->ents = NULL;
	pb->eptrs = NULL;
	pm->type = m->type;
	pm->from = m->from;
	pm->has_from_incarnation = m->from_incarnation != 0;
	pm->from_incarnation = m->from_incarnation;
	pm->to = m->to;
	pm->term = m->term;
	pm->has_log_term = pm->has_index = pm->has_commit = pm->has_reject = 1;
	pm->log_term = m->log_term;
	pm->index = m->index;
	pm->commit = m->commit;
	pm->reject = m->reject;
	if (m->reject_hint || m->hint_term) {
		pm->has_reject_hint = pm->has_hint_term = 1;
		pm->reject_hint = m->reject_hint;
		pm->hint_term = m->hint_term;
	}
	if (m->context_len) {
		pm->has_context = 1;
		pm->context.data = (uint8_t *)m->context;
		pm->context.len = m->context_len;
	}
	if (m->n_entries > 0) {
		pb->ents = xcalloc(m->n_entries, sizeof *pb->ents);
		pb->eptrs = xcalloc(m->n_entries, sizeof *pb->eptrs);
		for (size_t i = 0; i < m->n_entries; i++) {
			rcfs__raft_entry__init(&pb->ents[i]);
			pb->ents[i].term = m->entries[i].term;
			pb->ents[i].index = m->entries[i].index;
			pb->ents[i].type = m->entries[i].type;
			pb->ents[i].has_data = 1;
			pb->ents[i].data.data = m->entries[i].data;
			pb->ents[i].data.len = m->entries[i].len;
			pb->eptrs[i] = &pb->ents[i];
		}
		pm->entries = pb->eptrs;
		pm->n_entries = m->n_entries;
	}
	if (m->type == RAFT_MSG_SNAPSHOT || m->type == RAFT_MSG_SNAPSHOT_RESP) {
		pm->has_snapshot_index = pm->has_snapshot_term = pm->has_offset = pm->has_done = 1;
		pm->snapshot_index = m->snapshot_index;
		pm->snapshot_term = m->snapshot_term;
		pm->offset = m->offset;
		pm->done = m->done;
		if (m->snapshot_conf_len) {
			pm->has_snapshot_conf = 1;
			pm->snapshot_conf.data = (uint8_t *)m->snapshot_conf;
			pm->snapshot_conf.len = m->snapshot_conf_len;
		}
		if (m->data_len) {
			pm->has_data = 1;
			pm->data.data = (uint8_t *)m->data;
			pm->data.len = m->data_len;
		}
	}
}

void
raftwire_pb_free(struct raftwire_pb *pb)
{
	free(pb->ents);
	free(pb->eptrs);
	pb->ents = NULL;
	pb->eptrs = NULL;
}
