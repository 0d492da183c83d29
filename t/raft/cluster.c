/* In-memory cluster fixture, see cluster.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static void *xcalloc(size_t n, size_t s);
static void *xrealloc(void *p, size_t s);
static uint8_t *dup_bytes(const uint8_t *p, size_t n);
static uint64_t fnv(uint64_t h, const void *p, size_t n);
static void grow_idx(struct cluster *c, uint64_t index);
static void grow_terms(struct cluster *c, uint64_t term);
static void free_entries(struct raft_entry *e, size_t n);
static void copy_entries(struct raft_entry *dst, const struct raft_entry *src,
                         size_t n);
static void free_msg(struct raft_message *m);
static void copy_msg(struct raft_message *d, const struct raft_message *s);
static void net_send(struct cluster *c, const struct raft_message *m);
static void node_start(struct cluster *c, struct cl_node *nd);
static void apply_write(struct cl_node *nd, struct cl_write *w);
static void sm_apply(struct cluster *c, struct cl_node *nd,
                     const struct raft_entry *e);
static void sm_restore(struct cluster *c, struct cl_node *nd,
                       const uint8_t *data, size_t len, uint64_t index);
static void check_log_matching(struct cluster *c, struct cl_node *nd,
                               const struct raft_entry *e, size_t n);
static void check_leader(struct cluster *c, struct cl_node *nd);
static void deliver_due(struct cluster *c);
static void take_snapshot(struct cluster *c, struct cl_node *nd, bool bytes);
static void dumps_due(struct cluster *c);
static void record_read(struct cluster *c, struct cl_node *nd,
                        const struct raft_read_state *rs);
static bool is_member(struct cluster *c, struct cl_node *nd);

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n ? n : 1, s ? s : 1);
	if (!p) {
		fprintf(stderr, "fixture: out of memory\n");
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t s)
{
	p = realloc(p, s ? s : 1);
	if (!p) {
		fprintf(stderr, "fixture: out of memory\n");
		abort();
	}
	return p;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d;
	if (!n)
		return NULL;
	d = xcalloc(1, n);
	memcpy(d, p, n);
	return d;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;
	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t cl_rand(struct cluster *c)
{
	uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void cl_fail(struct cluster *c, const char *fmt, ...)
{
	va_list ap;
	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(c->fail_msg, sizeof(c->fail_msg), fmt, ap);
	va_end(ap);
	if (c->verbose)
		fprintf(stderr, "FAIL at t=%llu: %s\n",
		        (unsigned long long)c->now, c->fail_msg);
}

static void grow_idx(struct cluster *c, uint64_t index)
{
	size_t cap = c->cap_idx;
	if (index < cap)
		return;
	while (cap <= index)
		cap = cap ? cap * 2 : 1024;
	c->committed_term = xrealloc(c->committed_term, cap * sizeof(uint64_t));
	c->chain = xrealloc(c->chain, cap * sizeof(uint64_t));
	memset(c->committed_term + c->cap_idx, 0,
	       (cap - c->cap_idx) * sizeof(uint64_t));
	memset(c->chain + c->cap_idx, 0, (cap - c->cap_idx) * sizeof(uint64_t));
	c->cap_idx = cap;
}

static void grow_terms(struct cluster *c, uint64_t term)
{
	size_t cap = c->cap_terms;
	if (term < cap)
		return;
	while (cap <= term)
		cap = cap ? cap * 2 : 256;
	c->leader_of_term = xrealloc(c->leader_of_term, cap * sizeof(uint64_t));
	memset(c->leader_of_term + c->cap_terms, 0,
	       (cap - c->cap_terms) * sizeof(uint64_t));
	c->cap_terms = cap;
}

static void free_entries(struct raft_entry *e, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(e[i].data);
}

static void copy_entries(struct raft_entry *dst, const struct raft_entry *src,
                         size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		dst[i] = src[i];
		dst[i].data = dup_bytes(src[i].data, src[i].len);
	}
}

static void free_msg(struct raft_message *m)
{
	free_entries(m->entries, m->n_entries);
	free(m->entries);
	free(m->context);
	free(m->snapshot_conf);
	free(m->data);
}

static void copy_msg(struct raft_message *d, const struct raft_message *s)
{
	*d = *s;
	d->entries = NULL;
	if (s->n_entries) {
		d->entries = xcalloc(s->n_entries, sizeof(*d->entries));
		copy_entries(d->entries, s->entries, s->n_entries);
	}
	d->context = dup_bytes(s->context, s->context_len);
	d->snapshot_conf = dup_bytes(s->snapshot_conf, s->snapshot_conf_len);
	d->data = dup_bytes(s->data, s->data_len);
}

void cl_init_cfg(struct cluster *c, int n, uint64_t seed,
                 const struct raft_config *base)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->rng = seed * 0x2545F4914F6CDD1Dull + 1;
	c->base = *base;
	c->base.seed = seed;
	c->tick_ms = 10;
	if (getenv("RAFT_TRACE"))
		c->trace_from = strtoull(getenv("RAFT_TRACE"), NULL, 10);
	c->delay_min = 1;
	c->delay_max = 5;
	c->bootstrap.n = (uint32_t)n;
	for (i = 0; i < n; i++) {
		c->bootstrap.servers[i].id = (uint64_t)i + 1;
		c->bootstrap.servers[i].voter = true;
	}
	for (i = 0; i < n; i++) {
		struct cl_node *nd = &c->nodes[i];
		nd->id = (uint64_t)i + 1;
		nd->exists = true;
		nd->bootstrap = true;
		node_start(c, nd);
	}
	c->n = n;
}

void cl_init(struct cluster *c, int n, uint64_t seed)
{
	struct raft_config cfg;
	raft_config_init(&cfg);
	cfg.snapshot_threshold = 0;
	cl_init_cfg(c, n, seed, &cfg);
}

uint64_t cl_add_node(struct cluster *c)
{
	struct cl_node *nd = &c->nodes[c->n];
	nd->id = (uint64_t)c->n + 1;
	nd->exists = true;
	nd->bootstrap = false;
	c->n++;
	node_start(c, nd);
	return nd->id;
}

void cl_free(struct cluster *c)
{
	int i;
	size_t j;

	for (i = 0; i < c->n; i++) {
		struct cl_node *nd = &c->nodes[i];
		raft_free(nd->r);
		free_entries(nd->log, nd->n_log);
		free(nd->log);
		free(nd->snap_data);
		for (j = 0; j < nd->n_writes; j++) {
			free_entries(nd->writes[j].ents, nd->writes[j].n_ents);
			free(nd->writes[j].ents);
			free(nd->writes[j].snap_data);
		}
		free(nd->writes);
	}
	for (j = 0; j < c->n_net; j++)
		free_msg(&c->net[j].m);
	free(c->net);
	free(c->leader_of_term);
	free(c->committed_term);
	free(c->chain);
	free(c->lm);
	free(c->acked);
	free(c->reads);
	memset(c, 0, sizeof(*c));
}

struct cl_node *cl_node(struct cluster *c, uint64_t id)
{
	if (id == 0 || id > (uint64_t)c->n)
		return NULL;
	return &c->nodes[id - 1];
}

struct raft *cl_raft(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = cl_node(c, id);
	return nd && nd->up ? nd->r : NULL;
}

/* Boots nd from its durable state (a restart after a crash). */
static void node_start(struct cluster *c, struct cl_node *nd)
{
	struct raft_restore rs;
	int rv;

	memset(&rs, 0, sizeof(rs));
	rs.hs = nd->hs;
	rs.snapshot = nd->snap;
	rs.snapshot_data = nd->snap_data;
	rs.snapshot_len = nd->snap_len;
	rs.entries = nd->log;
	rs.n_entries = nd->n_log;
	rs.bootstrap = nd->bootstrap ? &c->bootstrap : NULL;
	nd->cfg = c->base;
	nd->cfg.id = nd->id;
	nd->cfg.incarnation = nd->incarnation;
	nd->cfg.seed = c->base.seed * 31 + nd->id + c->now;
	rv = raft_new(&nd->cfg, &rs, &nd->r);
	nd->ready_role = RAFT_FOLLOWER;
	nd->ready_leader = 0;
	if (rv) {
		cl_fail(c, "raft_new(%llu): %s", (unsigned long long)nd->id,
		        raft_strerror(rv));
		return;
	}
	if (nd->snap.index > 0 && nd->snap_data == NULL) {
		/* lazy: the durable state machine as of the snapshot */
		uint8_t ck[16];
		memcpy(ck, &nd->snap.index, 8);
		memcpy(ck + 8, &nd->ckpt_hash, 8);
		sm_restore(c, nd, ck, sizeof(ck), nd->snap.index);
	} else {
		sm_restore(c, nd, nd->snap_data, nd->snap_len, nd->snap.index);
	}
	nd->up = true;
	nd->last_leader_term_checked = 0;
}

void cl_crash(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = cl_node(c, id);
	size_t j;

	if (!nd || !nd->up)
		return;
	raft_free(nd->r);
	nd->r = NULL;
	nd->up = false;
	nd->dump_pending = false;   /* the dump dies with the process */
	c->crashes++;
	for (j = 0; j < nd->n_writes; j++) {
		free_entries(nd->writes[j].ents, nd->writes[j].n_ents);
		free(nd->writes[j].ents);
		free(nd->writes[j].snap_data);
	}
	nd->n_writes = 0;
}

void cl_wipe(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = cl_node(c, id);

	if (!nd || !nd->exists)
		return;
	cl_crash(c, id);
	free_entries(nd->log, nd->n_log);
	nd->n_log = 0;
	free(nd->snap_data);
	nd->snap_data = NULL;
	nd->snap_len = 0;
	memset(&nd->snap, 0, sizeof(nd->snap));
	memset(&nd->hs, 0, sizeof(nd->hs));
	nd->ckpt_hash = 0;
	nd->bootstrap = false;
	do
		nd->incarnation = cl_rand(c);
	while (nd->incarnation == 0);
	c->wipes++;
}

void cl_truncate(struct cluster *c, uint64_t id, size_t keep)
{
	struct cl_node *nd = cl_node(c, id);

	if (!nd || !nd->exists)
		return;
	cl_crash(c, id);
	if (keep < nd->n_log) {
		free_entries(nd->log + keep, nd->n_log - keep);
		nd->n_log = keep;
	}
	if (nd->hs.commit > nd->snap.index + nd->n_log)
		nd->hs.commit = nd->snap.index + nd->n_log;
	do
		nd->incarnation = cl_rand(c);
	while (nd->incarnation == 0);
	c->truncations++;
}

void cl_admit(struct cluster *c)
{
	uint64_t l = cl_leader(c);
	struct raft *r = l ? cl_raft(c, l) : NULL;
	const struct raft_conf *conf;
	uint32_t i;

	if (r == NULL)
		return;
	conf = raft_configuration(r);
	for (i = 0; i < conf->n; i++) {
		struct raft_progress_info info;
		if (conf->servers[i].id == l ||
		    raft_progress(r, conf->servers[i].id, &info) != 0 || info.admitted)
			continue;
		if (raft_change_membership(r, RAFT_CONF_ADMIT, info.id, NULL) == 0) {
			c->admits++;
			break;      /* one change at a time */
		}
	}
	cl_process(c, l);
}

void cl_restart(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = cl_node(c, id);
	if (!nd || nd->up)
		return;
	node_start(c, nd);
}

void cl_isolate(struct cluster *c, uint64_t id, bool cut)
{
	int i;
	for (i = 0; i < CL_MAX; i++) {
		c->cut[id - 1][i] = cut;
		c->cut[i][id - 1] = cut;
	}
}

void cl_cut(struct cluster *c, uint64_t from, uint64_t to, bool cut)
{
	c->cut[from - 1][to - 1] = cut;
}

void cl_heal(struct cluster *c)
{
	memset(c->cut, 0, sizeof(c->cut));
}

void cl_flush_net(struct cluster *c)
{
	size_t j;
	for (j = 0; j < c->n_net; j++)
		free_msg(&c->net[j].m);
	c->n_net = 0;
}

static void net_send(struct cluster *c, const struct raft_message *orig)
{
	struct raft_message mm = *orig, *m = &mm;
	int copies = 1, k;

	c->sent++;
	if (c->filter && !c->filter(c, m, c->filter_arg))
		return;
	if (m->to == 0 || m->to > (uint64_t)c->n ||
	    c->cut[m->from - 1][m->to - 1])
		return;
	if (c->drop_pm && cl_rand(c) % 1000 < c->drop_pm)
		return;
	if (c->dup_pm && cl_rand(c) % 1000 < c->dup_pm)
		copies = 2;
	for (k = 0; k < copies; k++) {
		struct cl_msg *cm;
		uint32_t span = c->delay_max - c->delay_min + 1;
		if (c->n_net == c->cap_net) {
			c->cap_net = c->cap_net ? 2 * c->cap_net : 64;
			c->net = xrealloc(c->net, c->cap_net * sizeof(*c->net));
		}
		cm = &c->net[c->n_net++];
		cm->at = c->now + c->delay_min + cl_rand(c) % span;
		cm->order = c->order++;
		copy_msg(&cm->m, m);
	}
}

static void apply_write(struct cl_node *nd, struct cl_write *w)
{
	size_t i;

	if (w->has_snap) {
		free(nd->snap_data);
		nd->snap = w->snap;
		nd->snap_data = w->snap_data;
		nd->snap_len = w->snap_len;
		w->snap_data = NULL;
		free_entries(nd->log, nd->n_log);
		nd->n_log = 0;
	}
	if (w->n_ents) {
		uint64_t first = w->ents[0].index;
		uint64_t keep;
		if (first <= nd->snap.index || first > nd->snap.index + nd->n_log + 1) {
			fprintf(stderr, "fixture: bad write at %llu\n",
			        (unsigned long long)first);
			abort();
		}
		keep = first - nd->snap.index - 1;
		free_entries(nd->log + keep, nd->n_log - keep);
		nd->n_log = keep;
		if (nd->n_log + w->n_ents > nd->cap_log) {
			nd->cap_log = (nd->n_log + w->n_ents) * 2;
			nd->log = xrealloc(nd->log, nd->cap_log * sizeof(*nd->log));
		}
		for (i = 0; i < w->n_ents; i++)
			nd->log[nd->n_log++] = w->ents[i];
		free(w->ents);
		w->ents = NULL;
		w->n_ents = 0;
	}
	if (w->hs_changed)
		nd->hs = w->hs;
}

void cl_complete_writes(struct cluster *c, uint64_t id, bool all)
{
	struct cl_node *nd = cl_node(c, id);
	size_t i, k;
	uint64_t seq = 0;

	if (!nd || !nd->up || nd->persist_hold)
		return;
	for (i = 0; i < nd->n_writes; i++) {
		if (!all && nd->writes[i].at > c->now)
			break; /* in order */
		apply_write(nd, &nd->writes[i]);
		seq = nd->writes[i].seq;
	}
	k = i;
	if (k == 0)
		return;
	memmove(nd->writes, nd->writes + k,
	        (nd->n_writes - k) * sizeof(*nd->writes));
	nd->n_writes -= k;
	if (seq) {
		int rv = raft_persisted(nd->r, seq);
		if (rv)
			cl_fail(c, "raft_persisted: %s", raft_strerror(rv));
		cl_process(c, id);
	}
}

static void sm_restore(struct cluster *c, struct cl_node *nd,
                       const uint8_t *data, size_t len, uint64_t index)
{
	nd->sm_index = index;
	nd->sm_hash = 0;
	if (len == 16) {
		uint64_t i2;
		memcpy(&i2, data, 8);
		memcpy(&nd->sm_hash, data + 8, 8);
		if (i2 != index)
			cl_fail(c, "snapshot data index %llu != %llu",
			        (unsigned long long)i2, (unsigned long long)index);
	}
	if (index) {
		grow_idx(c, index);
		if (c->chain[index] && c->chain[index] != nd->sm_hash)
			cl_fail(c, "node %llu: snapshot at %llu has another "
			        "state", (unsigned long long)nd->id,
			        (unsigned long long)index);
	}
}

/* State Machine Safety (Figure 3): every server applies the same entry at
 * each index; the state after index is the same everywhere. */
static void sm_apply(struct cluster *c, struct cl_node *nd,
                     const struct raft_entry *e)
{
	uint64_t h;

	if (e->index != nd->sm_index + 1) {
		cl_fail(c, "node %llu applies %llu after %llu",
		        (unsigned long long)nd->id,
		        (unsigned long long)e->index,
		        (unsigned long long)nd->sm_index);
		return;
	}
	h = fnv(nd->sm_hash ^ 0xcbf29ce484222325ull, &e->index, 8);
	h = fnv(h, &e->type, 4);
	if (e->type == RAFT_ENTRY_NORMAL)
		h = fnv(h, e->data, e->len);
	grow_idx(c, e->index);
	if (c->chain[e->index] && c->chain[e->index] != h)
		cl_fail(c, "State Machine Safety: node %llu applied a different"
		        " entry at %llu", (unsigned long long)nd->id,
		        (unsigned long long)e->index);
	c->chain[e->index] = h;
	if (c->committed_term[e->index] &&
	    c->committed_term[e->index] != e->term)
		cl_fail(c, "committed entry %llu has term %llu and %llu",
		        (unsigned long long)e->index,
		        (unsigned long long)e->term,
		        (unsigned long long)c->committed_term[e->index]);
	c->committed_term[e->index] = e->term;
	if (e->index > c->max_applied)
		c->max_applied = e->index;
	nd->sm_hash = h;
	nd->sm_index = e->index;
	nd->n_applied++;
	if (e->type == RAFT_ENTRY_NORMAL && e->len == 8) {
		uint64_t pid;
		memcpy(&pid, e->data, 8);
		if (pid < c->cap_acked && !c->acked[pid])
			c->acked[pid] = e->index;
	}
}

/* Log Matching (Figure 3): two entries with the same index and term have
 * the same data and the same predecessor term (hence, by induction,
 * identical prefixes). */
static void check_log_matching(struct cluster *c, struct cl_node *nd,
                               const struct raft_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t prev = raft_term_at(nd->r, e[i].index - 1, NULL);
		uint64_t h = fnv(0xcbf29ce484222325ull, e[i].data, e[i].len);
		size_t slot;
		int err;

		(void)raft_term_at(nd->r, e[i].index - 1, &err);
		h = fnv(h, &e[i].type, 4);
		if (c->n_lm * 2 >= c->cap_lm) {
			struct cl_lm *old = c->lm;
			size_t oc = c->cap_lm, j;
			c->cap_lm = oc ? oc * 2 : 4096;
			c->lm = xcalloc(c->cap_lm, sizeof(*c->lm));
			for (j = 0; j < oc; j++) {
				if (!old[j].index)
					continue;
				slot = (old[j].index * 31 + old[j].term) &
				       (c->cap_lm - 1);
				while (c->lm[slot].index)
					slot = (slot + 1) & (c->cap_lm - 1);
				c->lm[slot] = old[j];
			}
			free(old);
		}
		slot = (e[i].index * 31 + e[i].term) & (c->cap_lm - 1);
		while (c->lm[slot].index &&
		       !(c->lm[slot].index == e[i].index &&
		         c->lm[slot].term == e[i].term))
			slot = (slot + 1) & (c->cap_lm - 1);
		if (!c->lm[slot].index) {
			c->lm[slot].index = e[i].index;
			c->lm[slot].term = e[i].term;
			c->lm[slot].hash = h;
			c->lm[slot].prev = err ? UINT64_MAX : prev;
			c->n_lm++;
			continue;
		}
		if (c->lm[slot].hash != h)
			cl_fail(c, "Log Matching: (%llu,%llu) differs on node %llu",
			        (unsigned long long)e[i].index,
			        (unsigned long long)e[i].term,
			        (unsigned long long)nd->id);
		if (!err && c->lm[slot].prev != UINT64_MAX &&
		    c->lm[slot].prev != prev)
			cl_fail(c, "Log Matching: (%llu,%llu) follows term %llu "
			        "on node %llu, %llu elsewhere",
			        (unsigned long long)e[i].index,
			        (unsigned long long)e[i].term,
			        (unsigned long long)prev,
			        (unsigned long long)nd->id,
			        (unsigned long long)c->lm[slot].prev);
		if (c->lm[slot].prev == UINT64_MAX && !err)
			c->lm[slot].prev = prev;
	}
}

/* Election Safety and Leader Completeness (Figure 3). */
static void check_leader(struct cluster *c, struct cl_node *nd)
{
	uint64_t term = raft_term(nd->r), i, first;

	if (raft_role(nd->r) != RAFT_LEADER)
		return;
	grow_terms(c, term);
	if (!c->leader_of_term[term])
		c->leader_changes++;
	if (c->leader_of_term[term] && c->leader_of_term[term] != nd->id)
		cl_fail(c, "Election Safety: term %llu has leaders %llu and "
		        "%llu", (unsigned long long)term,
		        (unsigned long long)c->leader_of_term[term],
		        (unsigned long long)nd->id);
	c->leader_of_term[term] = nd->id;
	if (nd->last_leader_term_checked == term)
		return;
	nd->last_leader_term_checked = term;
	first = raft_first_index(nd->r);
	for (i = first; i <= c->max_applied && i < c->cap_idx; i++) {
		int err;
		uint64_t t;
		if (!c->committed_term[i])
			continue;
		t = raft_term_at(nd->r, i, &err);
		if (err == RAFT_ECOMPACTED)
			continue;
		if (err || t != c->committed_term[i])
			cl_fail(c, "Leader Completeness: leader %llu of term "
			        "%llu lacks committed entry %llu",
			        (unsigned long long)nd->id,
			        (unsigned long long)term,
			        (unsigned long long)i);
	}
}

/* Snapshot on the core's request: bytes = false answers snapshot_wanted,
 * true answers snapshot_data_wanted (lazy mode only). */
static void take_snapshot(struct cluster *c, struct cl_node *nd, bool bytes)
{
	uint8_t data[16];
	struct raft_snapshot_meta meta;
	uint64_t keep, k;
	int rv;

	if (bytes) {    /* the dump that was taken earlier */
		memcpy(data, &nd->dump_index, 8);
		memcpy(data + 8, &nd->dump_hash, 8);
	} else {
		memcpy(data, &nd->sm_index, 8);
		memcpy(data + 8, &nd->sm_hash, 8);
	}
	if (c->lazy_snapshots && !bytes)
		rv = raft_compact(nd->r, nd->sm_index, &meta);
	else
		rv = raft_snapshot_taken(nd->r, bytes ? nd->dump_index : nd->sm_index,
		                         data, sizeof(data), &meta);
	if (rv == RAFT_ECOMPACTED)
		return;
	if (rv) {
		cl_fail(c, "raft_snapshot_taken: %s", raft_strerror(rv));
		return;
	}
	/* The application persists the snapshot and drops entries <= index
	 * (synchronously here). */
	if (meta.index <= nd->snap.index)
		return;
	keep = meta.index - nd->snap.index; /* entries to drop */
	if (keep > nd->n_log)
		keep = nd->n_log;
	free_entries(nd->log, keep);
	if (nd->n_log)
		memmove(nd->log, nd->log + keep, (nd->n_log - keep) * sizeof(*nd->log));
	nd->n_log -= keep;
	k = nd->n_log ? nd->log[0].index : 0;
	if (k && k != meta.index + 1) {
		/* the durable log did not reach the snapshot: drop it all */
		free_entries(nd->log, nd->n_log);
		nd->n_log = 0;
	}
	c->snaps_taken++;
	free(nd->snap_data);
	nd->snap = meta;
	if (c->lazy_snapshots) {
		/* the bytes are not kept: the durable state machine is */
		nd->snap_data = NULL;
		nd->snap_len = 0;
		nd->ckpt_hash = bytes ? nd->dump_hash : nd->sm_hash;
	} else {
		nd->snap_data = dup_bytes(data, sizeof(data));
		nd->snap_len = sizeof(data);
	}
}

static void record_read(struct cluster *c, struct cl_node *nd,
                        const struct raft_read_state *rs)
{
	uint64_t ctx;
	struct cl_read *rd;

	if (rs->ctx_len != 8)
		return;
	memcpy(&ctx, rs->ctx, 8);
	if (ctx >= c->n_reads)
		return;
	rd = &c->reads[ctx];
	if (rd->done)
		cl_fail(c, "read %llu completed twice", (unsigned long long)ctx);
	if (rs->status) {
		rd->done = 2;
		c->reads_failed++;
		return;
	}
	rd->done = 1;
	rd->index = rs->index;
	c->reads_served++;
	/* Linearizability: the read sees every write committed before it
	 * was issued, and the state machine has applied them. */
	if (rs->index < rd->min_index)
		cl_fail(c, "stale read on node %llu: index %llu < %llu",
		        (unsigned long long)nd->id,
		        (unsigned long long)rs->index,
		        (unsigned long long)rd->min_index);
	if (nd->sm_index < rs->index)
		cl_fail(c, "read served before apply");
}

void cl_process(struct cluster *c, uint64_t id)
{
	struct cl_node *nd = cl_node(c, id);
	struct raft_ready rd;
	size_t i;
	int rv, guard = 0;

	while (nd && nd->up && raft_has_ready(nd->r)) {
		bool want, want_bytes;
		if (++guard > 10000) {
			cl_fail(c, "node %llu: Ready loop does not settle",
			        (unsigned long long)id);
			return;
		}
		rv = raft_ready(nd->r, &rd);
		if (rv) {
			cl_fail(c, "raft_ready: %s", raft_strerror(rv));
			return;
		}
		check_log_matching(c, nd, rd.entries, rd.n_entries);
		nd->ready_role = rd.role;
		nd->ready_leader = rd.leader;
		if (rd.seq) {
			struct cl_write *w;
			if (nd->n_writes == nd->cap_writes) {
				nd->cap_writes = nd->cap_writes ? 2 * nd->cap_writes : 8;
				nd->writes = xrealloc(nd->writes,
				        nd->cap_writes * sizeof(*nd->writes));
			}
			w = &nd->writes[nd->n_writes++];
			memset(w, 0, sizeof(*w));
			w->at = c->now + nd->persist_delay_ms;
			w->seq = rd.seq;
			w->hs_changed = rd.hs_changed;
			w->hs = rd.hs;
			w->has_snap = rd.has_snapshot;
			if (rd.has_snapshot) {
				w->snap = rd.snapshot;
				w->snap_data = dup_bytes(rd.snapshot_data,
				                         rd.snapshot_len);
				w->snap_len = rd.snapshot_len;
			}
			if (rd.n_entries) {
				w->ents = xcalloc(rd.n_entries, sizeof(*w->ents));
				copy_entries(w->ents, rd.entries, rd.n_entries);
				w->n_ents = rd.n_entries;
			}
		}
		for (i = 0; i < rd.n_messages; i++)
			net_send(c, &rd.messages[i]);
		if (rd.has_snapshot)
			c->snaps_installed++;
		if (rd.has_snapshot)
			sm_restore(c, nd, rd.snapshot_data, rd.snapshot_len,
			           rd.snapshot.index);
		for (i = 0; i < rd.n_committed; i++)
			sm_apply(c, nd, &rd.committed[i]);
		for (i = 0; i < rd.n_reads; i++)
			record_read(c, nd, &rd.reads[i]);
		want = rd.snapshot_wanted;
		want_bytes = rd.snapshot_data_wanted;
		raft_advance(nd->r, &rd);
		raft_applied(nd->r, nd->sm_index);
		if (want)
			take_snapshot(c, nd, false);
		if (want_bytes) {
			if (!c->lazy_snapshots)
				cl_fail(c, "node %llu: snapshot bytes asked for, "
				        "but every snapshot had them",
				        (unsigned long long)nd->id);
			c->snaps_data_asked++;
			if (!nd->dump_pending) {
				/* taken now, handed over later (dumps_due) */
				nd->dump_pending = true;
				nd->dump_index = nd->sm_index;
				nd->dump_hash = nd->sm_hash;
				nd->dump_at = c->now + cl_rand(c) % 41;
			}
		}
		if (nd->persist_delay_ms == 0 && !nd->persist_hold)
			cl_complete_writes(c, id, true);
	}
	if (nd && nd->up)
		check_leader(c, nd);
	/* The driver learns every role change at once (a CheckQuorum
	 * step-down sends nothing, yet must make a Ready). */
	if (nd && nd->up && (nd->ready_role != raft_role(nd->r) || nd->ready_leader != raft_leader(nd->r)))
		cl_fail(c, "node %llu: its Readys say %s (leader %llu), the core is %s (leader %llu)",
		        (unsigned long long)id, raft_role_name(nd->ready_role),
		        (unsigned long long)nd->ready_leader, raft_role_name(raft_role(nd->r)),
		        (unsigned long long)raft_leader(nd->r));
}

static void deliver_due(struct cluster *c)
{
	for (;;) {
		size_t best = SIZE_MAX, j;
		struct raft_message m;
		struct cl_node *nd;

		for (j = 0; j < c->n_net; j++) {
			if (c->net[j].at > c->now)
				continue;
			if (best == SIZE_MAX || c->net[j].at < c->net[best].at ||
			    (c->net[j].at == c->net[best].at &&
			     c->net[j].order < c->net[best].order))
				best = j;
		}
		if (best == SIZE_MAX)
			return;
		m = c->net[best].m;
		c->net[best] = c->net[--c->n_net];
		nd = cl_node(c, m.to);
		if (nd && nd->up && !c->cut[m.from - 1][m.to - 1]) {
			int rv;
			if (c->trace_from && c->now >= c->trace_from)
				fprintf(stderr, "t=%llu %llu->%llu %s term %llu "
				        "index %llu logterm %llu reject %d\n",
				        (unsigned long long)c->now,
				        (unsigned long long)m.from,
				        (unsigned long long)m.to,
				        raft_msg_type_name(m.type),
				        (unsigned long long)m.term,
				        (unsigned long long)m.index,
				        (unsigned long long)m.log_term, m.reject);
			rv = raft_step(nd->r, &m);
			c->delivered++;
			if (rv && rv != RAFT_ENOMEM)
				cl_fail(c, "raft_step(%s to %llu): %s",
				        raft_msg_type_name(m.type),
				        (unsigned long long)m.to,
				        raft_strerror(rv));
			cl_process(c, m.to);
		}
		free_msg(&m);
	}
}

void cl_check(struct cluster *c)
{
	int i;
	for (i = 0; i < c->n; i++)
		if (c->nodes[i].up)
			check_leader(c, &c->nodes[i]);
}

void cl_step(struct cluster *c)
{
	int i;

	c->now += c->tick_ms;
	for (i = 0; i < c->n; i++) {
		struct cl_node *nd = &c->nodes[i];
		if (!nd->up)
			continue;
		raft_tick(nd->r, c->tick_ms);
		cl_process(c, nd->id);
	}
	deliver_due(c);
	dumps_due(c);
	for (i = 0; i < c->n; i++)
		cl_complete_writes(c, c->nodes[i].id, false);
	cl_check(c);
}

/* Hands finished state-machine dumps to their cores (lazy_snapshots). */
static void dumps_due(struct cluster *c)
{
	int i;

	for (i = 0; i < c->n; i++) {
		struct cl_node *nd = &c->nodes[i];
		if (!nd->up || !nd->dump_pending || c->now < nd->dump_at)
			continue;
		nd->dump_pending = false;
		take_snapshot(c, nd, true);
		cl_process(c, nd->id);
	}
}

void cl_run(struct cluster *c, uint64_t ms)
{
	uint64_t end = c->now + ms;
	while (c->now < end && !c->failed)
		cl_step(c);
}

uint64_t cl_leader(struct cluster *c)
{
	uint64_t best = 0, bt = 0;
	int i;
	for (i = 0; i < c->n; i++) {
		struct cl_node *nd = &c->nodes[i];
		if (!nd->up || raft_role(nd->r) != RAFT_LEADER)
			continue;
		if (!best || raft_term(nd->r) > bt) {
			best = nd->id;
			bt = raft_term(nd->r);
		}
	}
	return best;
}

static bool is_member(struct cluster *c, struct cl_node *nd)
{
	uint64_t l = cl_leader(c);
	const struct raft_conf *conf;
	if (!l)
		return false;
	conf = raft_configuration(cl_raft(c, l));
	return raft_conf_find(conf, nd->id) >= 0;
}

uint64_t cl_wait_leader(struct cluster *c, uint64_t max_ms)
{
	uint64_t end = c->now + max_ms;

	while (!c->failed) {
		uint64_t l = cl_leader(c);
		if (l) {
			uint64_t t = raft_term(cl_raft(c, l));
			int i;
			bool all = true;
			for (i = 0; i < c->n; i++) {
				struct cl_node *nd = &c->nodes[i];
				if (!nd->up || c->cut[l - 1][i] || c->cut[i][l - 1] ||
				    !is_member(c, nd))
					continue;
				if (raft_term(nd->r) != t || raft_leader(nd->r) != l)
					all = false;
			}
			if (all)
				return l;
		}
		if (c->now >= end)
			break;
		cl_step(c);
	}
	return 0;
}

bool cl_wait_applied(struct cluster *c, uint64_t index, uint64_t max_ms)
{
	uint64_t end = c->now + max_ms;

	while (!c->failed) {
		int i;
		bool all = true;
		for (i = 0; i < c->n; i++) {
			struct cl_node *nd = &c->nodes[i];
			if (nd->up && is_member(c, nd) && nd->sm_index < index)
				all = false;
		}
		if (all)
			return true;
		if (c->now >= end)
			return false;
		cl_step(c);
	}
	return false;
}

int cl_propose(struct cluster *c, uint64_t id, uint64_t *index)
{
	struct raft *r = cl_raft(c, id);
	uint64_t pid, idx = 0;
	int rv;

	if (!r)
		return RAFT_ENOTLEADER;
	pid = ++c->next_prop;
	if (pid >= c->cap_acked) {
		size_t cap = c->cap_acked ? 2 * c->cap_acked : 1024;
		c->acked = xrealloc(c->acked, cap * sizeof(*c->acked));
		memset(c->acked + c->cap_acked, 0,
		       (cap - c->cap_acked) * sizeof(*c->acked));
		c->cap_acked = cap;
	}
	rv = raft_propose(r, &pid, sizeof(pid), &idx, NULL);
	if (index)
		*index = idx;
	if (rv == 0)
		cl_process(c, id);
	return rv;
}

int cl_read(struct cluster *c, uint64_t id, size_t *slot)
{
	struct raft *r = cl_raft(c, id);
	struct cl_read *rd;
	uint64_t ctx, min = c->max_applied;
	int i, rv;

	if (!r)
		return RAFT_ENOTLEADER;
	for (i = 0; i < c->n; i++)
		if (c->nodes[i].up && raft_commit_index(c->nodes[i].r) > min)
			min = raft_commit_index(c->nodes[i].r);
	if (c->n_reads == c->cap_reads) {
		c->cap_reads = c->cap_reads ? 2 * c->cap_reads : 64;
		c->reads = xrealloc(c->reads, c->cap_reads * sizeof(*c->reads));
	}
	ctx = c->n_reads;
	rv = raft_read_index(r, &ctx, sizeof(ctx));
	if (rv)
		return rv;
	rd = &c->reads[c->n_reads++];
	memset(rd, 0, sizeof(*rd));
	rd->ctx = ctx;
	rd->node = id;
	rd->min_index = min;
	if (slot)
		*slot = (size_t)ctx;
	cl_process(c, id);
	return 0;
}

void cl_set_state(struct cluster *c, uint64_t id, uint64_t term,
                  uint64_t vote, uint64_t commit, const uint64_t *terms,
                  size_t n)
{
	struct cl_node *nd = cl_node(c, id);
	size_t i;

	cl_crash(c, id);
	free_entries(nd->log, nd->n_log);
	nd->n_log = 0;
	if (n > nd->cap_log) {
		nd->cap_log = n;
		nd->log = xrealloc(nd->log, n * sizeof(*nd->log));
	}
	for (i = 0; i < n; i++) {
		uint64_t v = 1000000 + (i + 1) * 1000 + terms[i];
		nd->log[i].index = i + 1;
		nd->log[i].term = terms[i];
		nd->log[i].type = RAFT_ENTRY_NORMAL;
		nd->log[i].data = dup_bytes((const uint8_t *)&v, 8);
		nd->log[i].len = 8;
	}
	nd->n_log = n;
	nd->hs.term = term;
	nd->hs.vote = vote;
	nd->hs.commit = commit;
}

bool cl_log_is(struct cluster *c, uint64_t id, const uint64_t *terms,
               size_t n)
{
	struct raft *r = cl_raft(c, id);
	size_t i;

	if (!r || raft_last_index(r) != n)
		return false;
	for (i = 0; i < n; i++)
		if (raft_term_at(r, i + 1, NULL) != terms[i])
			return false;
	return true;
}
