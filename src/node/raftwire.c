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
