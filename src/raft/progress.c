/* Leader-side view of each server (Raft Figure 2 nextIndex/matchIndex),
 * with the etcd-style probe / replicate / snapshot states and a bounded
 * window of AppendEntries in flight per follower (pipelining). */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static void progress_init(struct raft *r, struct raft_progress *pr,
                          uint64_t id, bool voter);

static void progress_init(struct raft *r, struct raft_progress *pr,
                          uint64_t id, bool voter)
{
	uint64_t *ring = pr->inflight;

	memset(pr, 0, sizeof(*pr));
	pr->inflight = ring;
	pr->id = id;
	pr->voter = voter;
	pr->state = RAFT_PROGRESS_PROBE;
	pr->next = raft_log_last(r) + 1;
	pr->match = 0;
	if (id == r->id)
		pr->match = r->stable;
	{
		int pos = raft_conf_find(&r->conf, id);
		pr->incarnation = id == r->id ? r->cfg.incarnation
		    : pos >= 0 ? r->conf.servers[pos].incarnation : 0;
	}
}

bool raft_conf_admits(const struct raft_conf *conf, uint64_t id, uint64_t incarnation)
{
	int pos = raft_conf_find(conf, id);

	return pos < 0 || conf->servers[pos].incarnation == incarnation;
}

bool raft_progress_admitted(const struct raft *r, const struct raft_progress *pr)
{
	return raft_conf_admits(&r->conf, pr->id, pr->incarnation);
}

void raft_progress_saw(struct raft *r, struct raft_progress *pr, uint64_t incarnation)
{
	if (pr->incarnation == incarnation)
		return;
	/* Whatever it acknowledged belongs to storage that is gone: start
	 * over as with a new server (probe from our last index). */
	pr->incarnation = incarnation;
	pr->match = 0;
	pr->next = raft_log_last(r) + 1;
	pr->read_acked = 0;
	raft_progress_become_probe(pr);
}

void raft_progress_heard(struct raft_progress *pr)
{
	pr->last_resp_ms = 0;
	pr->heard = true;
}

bool raft_self_admitted(const struct raft *r)
{
	int pos = raft_conf_find(&r->conf, r->id);

	if (pos < 0)
		return r->conf.n > 0;
	return r->conf.servers[pos].incarnation == r->cfg.incarnation;
}

struct raft_progress *raft_progress_get(struct raft *r, uint64_t id)
{
	uint32_t i;
	for (i = 0; i < r->n_prs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

void raft_progress_free_all(struct raft *r)
{
	uint32_t i;
	for (i = 0; i < r->n_prs; i++) {
		free(r->prs[i].inflight);
		r->prs[i].inflight = NULL;
	}
	r->n_prs = 0;
}

/* New leader: one fresh progress per server in the configuration. */
int raft_progress_reset_all(struct raft *r)
{
	raft_progress_free_all(r);
	return raft_progress_sync_conf(r);
}

/* Configuration changed under a leader: keep progress of servers that stay,
 * add fresh ones, drop the removed.  The leader keeps its own progress even
 * when it removed itself (Dissertation §4.2.2: it manages the cluster until
 * the change commits, without counting itself). */
int raft_progress_sync_conf(struct raft *r)
{
	struct raft_progress old[RAFT_MAX_SERVERS], *pr;
	uint32_t n_old = r->n_prs, i;
	int rv = 0;

	memcpy(old, r->prs, sizeof(old));
	r->n_prs = 0;
	for (i = 0; i < r->conf.n; i++) {
		const struct raft_server *s = &r->conf.servers[i];
		uint32_t j;
		pr = &r->prs[r->n_prs++];
		for (j = 0; j < n_old; j++)
			if (old[j].id == s->id)
				break;
		if (j < n_old) {
			*pr = old[j];
			old[j].id = 0;
			old[j].inflight = NULL;
		} else {
			pr->inflight = NULL;
			progress_init(r, pr, s->id, s->voter);
		}
		pr->voter = s->voter;
		if (!pr->inflight && r->cfg.max_inflight) {
			pr->inflight = calloc(r->cfg.max_inflight,
			                      sizeof(*pr->inflight));
			if (!pr->inflight)
				rv = RAFT_ENOMEM;
		}
	}
	if (raft_conf_find(&r->conf, r->id) < 0 && r->n_prs < RAFT_MAX_SERVERS) {
		uint32_t j;
		pr = &r->prs[r->n_prs++];
		for (j = 0; j < n_old; j++)
			if (old[j].id == r->id)
				break;
		if (j < n_old) {
			*pr = old[j];
			old[j].inflight = NULL;
		} else {
			pr->inflight = NULL;
			progress_init(r, pr, r->id, false);
		}
		pr->voter = false;
	}
	for (i = 0; i < n_old; i++)
		free(old[i].inflight);
	return rv;
}

void raft_progress_become_probe(struct raft_progress *pr)
{
	pr->state = RAFT_PROGRESS_PROBE;
	pr->probe_sent = false;
	pr->in_start = pr->in_count = 0;
	if (pr->next <= pr->match)
		pr->next = pr->match + 1;
}

void raft_progress_become_replicate(struct raft_progress *pr)
{
	pr->state = RAFT_PROGRESS_REPLICATE;
	pr->probe_sent = false;
	pr->in_start = pr->in_count = 0;
	pr->next = pr->match + 1;
}

void raft_progress_become_snapshot(struct raft_progress *pr, uint64_t index)
{
	pr->state = RAFT_PROGRESS_SNAPSHOT;
	pr->probe_sent = false;
	pr->in_start = pr->in_count = 0;
	pr->snap_index = index;
	pr->snap_offset = 0;
	pr->snap_wait_ms = 0;
}

bool raft_progress_inflight_full(const struct raft *r,
                                 const struct raft_progress *pr)
{
	return !pr->inflight || pr->in_count >= r->cfg.max_inflight;
}

void raft_progress_inflight_add(const struct raft *r, struct raft_progress *pr,
                                uint64_t last)
{
	uint32_t cap = r->cfg.max_inflight;

	if (!pr->inflight || pr->in_count >= cap)
		return;
	pr->inflight[(pr->in_start + pr->in_count) % cap] = last;
	pr->in_count++;
}

/* An ack up to index frees every message whose last entry is <= index. */
void raft_progress_inflight_free_to(const struct raft *r,
                                    struct raft_progress *pr, uint64_t index)
{
	uint32_t cap = r->cfg.max_inflight;

	while (pr->in_count && pr->inflight[pr->in_start] <= index) {
		pr->in_start = (pr->in_start + 1) % cap;
		pr->in_count--;
	}
}

/* Whether no more AppendEntries may go to pr right now. */
bool raft_progress_paused(const struct raft *r, const struct raft_progress *pr)
{
	switch (pr->state) {
	case RAFT_PROGRESS_PROBE:
		return pr->probe_sent;
	case RAFT_PROGRESS_REPLICATE:
		return raft_progress_inflight_full(r, pr);
	default:
		return true;
	}
}

int raft_progress(const struct raft *r, uint64_t id,
                  struct raft_progress_info *info)
{
	uint32_t i;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	for (i = 0; i < r->n_prs; i++) {
		const struct raft_progress *pr = &r->prs[i];
		if (pr->id != id)
			continue;
		memset(info, 0, sizeof(*info));
		info->id = id;
		info->voter = pr->voter;
		info->state = pr->state;
		info->match = id == r->id ? r->stable : pr->match;
		info->next = pr->next;
		info->inflight = pr->in_count;
		info->last_contact_ms = id == r->id ? 0 : pr->last_resp_ms;
		info->recently_active = id == r->id ||
		    pr->last_resp_ms < r->cfg.election_min_ms;
		info->heard = id == r->id || pr->heard;
		info->incarnation = pr->incarnation;
		info->admitted = raft_progress_admitted(r, pr);
		return 0;
	}
	return RAFT_ENOTFOUND;
}
