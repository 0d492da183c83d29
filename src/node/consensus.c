#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <event2/util.h>

#include "node/ackmark.h"
#include "node/consensus.h"
#include "node/members.h"
#include "node/raftlog.h"
#include "node/raftwire.h"
#include "node/timesync.h"
#include "raft/raft.h"
#include "store/store.h"
#include "util/log.h"
#include "util/time.h"
#include "node/metrics.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define CONSENSUS_TICK_MS 10

enum consensus_state {
	CS_STOPPED,     /* no core: waiting for storage */
	CS_LOADING,     /* reading the persistent state */
	CS_RUNNING,
};

/* A proposal waiting for its entry to be applied. */
struct cs_pending {
	uint64_t index, term;           /* term 0: a read barrier (index = read id) */
	bool conf;                      /* a configuration change (consensus_change_member) */
	double t0;                      /* metrics_now() when proposed */
	consensus_cb *cb;
	void *arg;
	TAILQ_ENTRY(cs_pending) link;
};
TAILQ_HEAD(cs_pending_list, cs_pending);

/* Loading: the Raft state (node/raftlog.h), then the state machine's
 * applied index and sessions (fsm_load), read in order. */
struct cs_load {
	struct consensus *cs;
	struct raft_restore rs;
	bool have_rs;
	uint64_t applied;               /* the state machine's, from fsm_load */
	Rcfs__ErrorCode code;
	char why[160];
	const char *step;               /* what cs_step_stored waits for */
	bool forcing;                   /* it is the --force-new-cluster configuration */
	bool marked;                    /* the marker is being written with ... */
	struct ackmark_state mark;      /* ... the loaded state */
	unsigned generation;
};

/* A snapshot being taken or installed. */
struct cs_snap {
	struct consensus *cs;
	unsigned generation;
	uint64_t index;
};

/* An apply batch in flight. */
struct cs_apply {
	struct consensus *cs;
	unsigned generation;
	uint64_t first, last;
	uint64_t *terms;                /* term of each entry, first..last */
	bool *early;                    /* answered at commit (fsm_commit, cs_answer_early) */
	size_t n;
};

/* A persistence batch in flight. */
struct cs_persist {
	struct consensus *cs;
	unsigned generation;
	uint64_t seq;
	double t0;                      /* metrics_now() when written */
	struct ackmark_state mark;      /* what the marker records once redis has it */
};

struct consensus {
	struct event_base *base;
	const struct rcfs_config *cfg;
	struct store *st;
	struct raftlog *log;            /* the Raft state in redis */
	struct fsm *sm;                 /* the state machine (borrowed) */
	consensus_send_fn *send;        /* to the other members */
	void *send_arg;
	struct timesync *ts;
	struct raft *raft;
	enum consensus_state state;
	char stopped_why[200];          /* "": not stopped for good (else why it cannot start) */
	unsigned generation;            /* bumped on every teardown: stale callbacks ignore themselves */
	/* Storage stalls (a redis that stops answering without failing): Raft
	 * writes outstanding, since when (ms, monotonic) none completed, and
	 * whether this stall already handed leadership over. */
	uint32_t persist_inflight;
	uint64_t persist_progress_ms;
	uint64_t stall_tried_ms;        /* last handover tried for this stall; 0: none */
	struct event *tick_ev;
	struct event *ready_ev;
	struct event *reload_ev;        /* retry a failed load */
	uint64_t last_tick_ms;
	bool snapshotting;              /* a snapshot is being taken */
	uint64_t applied;               /* applied by the state machine */
	int role;
	uint64_t leader;
	uint64_t read_seq;
	struct cs_pending_list pending;  /* proposals and read barriers */
	bool in_ready;                  /* between raft_ready() and raft_advance() */
	uint64_t incarnation;           /* of this node's storage (docs/raft.md, "Incarnations") */
	uint64_t refused_seen;          /* raft_refused_incarnation() already counted */
	struct cs_admit_seen {          /* leader: the last unadmitted incarnation logged, per peer */
		uint64_t id, incarnation;
	} admit_seen[RAFT_MAX_SERVERS];
	struct cs_peer_metric {
		struct consensus *cs;
		uint64_t id;
	} metric_args[RAFT_MAX_SERVERS + RAFT_MAX_REMOVED];  /* arguments of the per-peer gauges */
	uint32_t n_metric_args;
	struct metrics *metrics_reg;    /* where per-peer gauges go (consensus_register_metrics) */
	struct members *members;        /* follows the configuration (borrowed) */
	struct raft_conf conf_seen;     /* the configurations members last followed: latest, */
	struct raft_conf committed_seen;        /* and committed */
	consensus_conf_fn *conf_cb;     /* the membership changed */
	void *conf_arg;
	bool hold;                      /* consensus_hold(): do not load yet */
	uint64_t last_term;             /* the core's term when last seen (logged after a teardown) */
	bool force_new;                 /* consensus_force_new_cluster() at the next load */
	struct ackmark *am;             /* the acknowledgement marker (borrowed; NULL: none) */
	bool marker_used;               /* the last load found a marker of a used storage */
	uint64_t leader_heard_ns;       /* monotonic: the last message from leader_heard_id */
	uint64_t leader_heard_id;
};

static void cs_tick(evutil_socket_t fd, short what, void *arg);
static void cs_schedule(struct consensus *cs);
static void cs_process(evutil_socket_t fd, short what, void *arg);
static void cs_load_start(struct consensus *cs);
static void cs_reload(evutil_socket_t fd, short what, void *arg);
static void cs_loaded_raft(void *arg, Rcfs__ErrorCode code, const char *why, struct raft_restore *rs);
static void cs_loaded_fsm(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t applied);
static uint64_t cs_new_incarnation(struct consensus *cs);
static uint64_t cs_random_id(void);
static void cs_step_stored(void *arg, Rcfs__ErrorCode code, const char *why);
static void cs_start_core(struct cs_load *ld);
static bool cs_force_new_cluster(struct cs_load *ld);
static void cs_admit(struct consensus *cs);
static void cs_storage_stall(struct consensus *cs, uint64_t now);
static void cs_follow_conf(struct consensus *cs);
static void cs_settle_committed_conf(struct consensus *cs);
static void cs_register_peer_metrics(struct consensus *cs);
static void cs_install(struct consensus *cs, const struct raft_ready *rd);
static void cs_installed(void *arg, Rcfs__ErrorCode code, const char *why);
static void cs_take_snapshot(struct consensus *cs);
static void cs_compact(struct consensus *cs);
static void cs_snapshot_dumped(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index,
    const uint8_t *data, size_t len);
static void cs_teardown(struct consensus *cs, const char *why);
static void cs_persist(struct consensus *cs, const struct raft_ready *rd);
static void cs_persisted(void *arg, Rcfs__ErrorCode code, const char *why);
static void cs_marked(void *arg, int code);
static void cs_marker_why(const struct consensus *cs, int code, char *why, size_t len);
static void cs_check_marker(struct cs_load *ld);
static void cs_start_marked(void *arg, int code);
static void cs_mark_of(struct consensus *cs, const struct raft_restore *rs, struct ackmark_state *m);
static void cs_send(struct consensus *cs, const struct raft_message *m);
static void cs_apply(struct consensus *cs, const struct raft_ready *rd);
static void cs_applied(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res, size_t n);
static void cs_reads(struct consensus *cs, const struct raft_ready *rd);
static void cs_fail_pending(struct consensus *cs, Rcfs__ErrorCode code, const char *why);
static void cs_settle(struct consensus *cs, struct cs_pending *p, Rcfs__ErrorCode code,
    const char *why, const struct fsm_result *res);
static void cs_role_change(struct consensus *cs, int role, uint64_t leader);
static void cs_not_leader(struct consensus *cs, char *buf, size_t len);

struct consensus *
consensus_new(struct event_base *base, const struct rcfs_config *cfg, struct store *st,
    struct fsm *sm, consensus_send_fn *send, void *send_arg, struct timesync *ts,
    struct members *members)
{
	struct consensus *cs = xcalloc(1, sizeof *cs);
	struct timeval tv = { 0, CONSENSUS_TICK_MS * 1000 };

	cs->members = members;
	cs->base = base;
	cs->cfg = cfg;
	cs->st = st;
	cs->log = raftlog_new(st);
	cs->sm = sm;
	cs->send = send;
	cs->send_arg = send_arg;
	cs->ts = ts;
	cs->role = RAFT_FOLLOWER;
	TAILQ_INIT(&cs->pending);
	cs->tick_ev = event_new(base, -1, EV_PERSIST, cs_tick, cs);
	cs->ready_ev = event_new(base, -1, 0, cs_process, cs);
	cs->reload_ev = evtimer_new(base, cs_reload, cs);
	event_add(cs->tick_ev, &tv);
	return cs;
}

void
consensus_storage_up(struct consensus *cs)
{
	if (cs->state == CS_STOPPED && !cs->hold)
		cs_load_start(cs);
}

void
consensus_hold(struct consensus *cs, bool hold)
{
	cs->hold = hold;
	if (!hold && store_is_up(cs->st))
		consensus_storage_up(cs);
}

void
consensus_force_new_cluster(struct consensus *cs)
{
	cs->force_new = true;
}

bool
consensus_running(const struct consensus *cs)
{
	return cs->state == CS_RUNNING;
}

/* ---- loading ---------------------------------------------------------------- */

static void
cs_load_start(struct consensus *cs)
{
	struct cs_load *ld = xcalloc(1, sizeof *ld);

	cs->state = CS_LOADING;
	cs->stopped_why[0] = '\0';
	ld->cs = cs;
	ld->generation = cs->generation;
	/* Executed in order on the one connection; nothing writes the state
	 * machine meanwhile, so the sessions match the applied index. */
	raftlog_load(cs->log, cs_loaded_raft, ld);
	fsm_load(cs->sm, cs_loaded_fsm, ld);
}

static void
cs_loaded_raft(void *arg, Rcfs__ErrorCode code, const char *why, struct raft_restore *rs)
{
	struct cs_load *ld = arg;

	if (code != RCFS__ERROR_CODE__E_OK) {
		ld->code = code;
		snprintf(ld->why, sizeof ld->why, "%s", why);
		return;
	}
	ld->rs = *rs;
	ld->have_rs = true;
}

/* Both parts are in (the state machine's comes last): make sure the storage
 * has an incarnation, then build the core. */
static void
cs_loaded_fsm(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t applied)
{
	struct cs_load *ld = arg;
	struct consensus *cs = ld->cs;

	if (ld->code == RCFS__ERROR_CODE__E_OK && code != RCFS__ERROR_CODE__E_OK) {
		ld->code = code;
		snprintf(ld->why, sizeof ld->why, "%s", why);
	}
	ld->applied = applied;
	if (ld->generation == cs->generation && ld->code == RCFS__ERROR_CODE__E_OK) {
		bool stored = raftlog_incarnation(cs->log, &cs->incarnation);
		const char *damage;

		cs_check_marker(ld);
		damage = raftlog_damage(cs->log);

		if (damage != NULL && cs->cfg->npeers > 0) {
			/* Not a storage fault to retry, and not "these entries
			 * are absent": what this storage acknowledged is not
			 * known any more, so it stops counting until a leader
			 * has repaired it (CTRL, FAST 2018). */
			cs->incarnation = cs_random_id();
			log_err("raft: the stored Raft state is damaged (%s): the log is cut before the damage "
			    "and this storage takes incarnation %016" PRIx64 "; it neither votes nor "
			    "acknowledges until the leader has repaired it and admitted it", damage,
			    cs->incarnation);
		} else if (damage != NULL) {
			log_err("raft: the stored Raft state is damaged (%s) and a single node has no "
			    "other copy: the log is cut before the damage", damage);
		} else if (!stored) {
			cs->incarnation = cs_new_incarnation(cs);
		} else {
			cs_start_core(ld);
			return;
		}
		ld->step = "the incarnation";
		raftlog_set_incarnation(cs->log, cs->incarnation, cs_step_stored, ld);
		return;
	}
	cs_start_core(ld);
}

static uint64_t
cs_random_id(void)
{
	uint64_t inc = 0;

	while (inc == 0)
		evutil_secure_rng_get_bytes(&inc, sizeof inc);
	return inc;
}

/* The incarnation of a storage that has none stored (docs/raft.md,
 * "Incarnations"): 0 for a founder's first storage and for one written
 * before incarnations existed; a random nonzero one for an empty storage
 * that was not told to found the cluster (a new or a wiped one). */
static uint64_t
cs_new_incarnation(struct consensus *cs)
{
	uint64_t inc;

	if (!raftlog_empty(cs->log)) {
		log_info("raft: the stored state predates storage incarnations: it keeps the founding one");
		return 0;
	}
	if (cs->cfg->bootstrap && cs->cfg->npeers > 0 && cs->marker_used) {
		inc = cs_random_id();
		log_warn("raft: empty storage, but its acknowledgement marker shows this node served a "
		    "cluster before: --bootstrap / initial_cluster_state = \"new\" ignored; it joins as "
		    "storage incarnation %016" PRIx64 " and neither votes nor acknowledges entries until "
		    "the leader has brought it up to date and admitted it", inc);
		return inc;
	}
	if (cs->cfg->bootstrap || cs->cfg->npeers == 0) {
		log_info("raft: empty storage: founding a new cluster of %u voter(s)",
		    cs->cfg->npeers > 0 ? cs->cfg->npeers : 1);
		return 0;
	}
	inc = cs_random_id();
	log_warn("raft: empty storage and no --bootstrap: this node joins the existing cluster as storage "
	    "incarnation %016" PRIx64 " and neither votes nor acknowledges entries until the leader has "
	    "brought it up to date and admitted it (to found a new cluster instead, start every founding "
	    "node once with --bootstrap; docs/raft.md, \"Incarnations\")", inc);
	return inc;
}

/* A write made before the core starts (ld->step: the incarnation, or the
 * --force-new-cluster configuration) is durable, or failed: start, or retry
 * the load. */
static void
cs_step_stored(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct cs_load *ld = arg;

	if (ld->code == RCFS__ERROR_CODE__E_OK && code != RCFS__ERROR_CODE__E_OK) {
		ld->code = code;
		snprintf(ld->why, sizeof ld->why, "storing %s: %s", ld->step, why);
		if (ld->forcing)
			ld->cs->force_new = true;       /* again at the next load */
	}
	cs_start_core(ld);
}

/* The acknowledgement marker (node/ackmark.h) against what was loaded: a
 * stored state behind what this storage acknowledged lost a tail, and counts
 * as damaged (docs/raft.md, "The acknowledgement marker").  The marker is
 * written only after redis has the state it records, so it is never ahead of
 * an intact storage. */
static void
cs_check_marker(struct cs_load *ld)
{
	struct consensus *cs = ld->cs;
	struct raft_restore *rs = &ld->rs;
	struct ackmark_state marked, stored = { 0 };
	char why[200], what[320];
	int found;

	cs->marker_used = false;
	if (cs->am == NULL)
		return;
	found = ackmark_read(cs->am, &marked, why, sizeof why);
	cs->marker_used = found < 0 || (found > 0 && marked.writes > 0);
	if (found == 0 || raftlog_empty(cs->log) || raftlog_damage(cs->log) != NULL)
		return;         /* nothing to compare, or damage the load found already */
	if (found < 0) {
		snprintf(what, sizeof what, "its acknowledgement marker is unreadable: %s", why);
		raftlog_tail_lost(cs->log, what, 0, 0);
		return;
	}
	(void)raftlog_incarnation(cs->log, &stored.incarnation);
	cs_mark_of(cs, rs, &stored);
	if (ackmark_covers(&stored, &marked, why, sizeof why))
		return;
	snprintf(what, sizeof what, "a tail it had acknowledged is lost: %s; acknowledgement marker %s",
	    why, ackmark_path(cs->am));
	raftlog_tail_lost(cs->log, what, marked.term, marked.vote);
	if (marked.term > rs->hs.term) {
		rs->hs.term = marked.term;
		rs->hs.vote = marked.vote;
	}
}

/* What the marker records of a loaded state rs (but the incarnation). */
static void
cs_mark_of(struct consensus *cs, const struct raft_restore *rs, struct ackmark_state *m)
{
	m->writes = raftlog_writes(cs->log);
	m->term = rs->hs.term;
	m->vote = rs->hs.vote;
	m->last_index = rs->n_entries > 0 ? rs->entries[rs->n_entries - 1].index : rs->snapshot.index;
}

/* The marker holds the state about to start (or could not be written). */
static void
cs_start_marked(void *arg, int code)
{
	struct cs_load *ld = arg;
	struct consensus *cs = ld->cs;

	if (code == ECANCELED) {        /* shutting down */
		if (ld->have_rs)
			raftlog_restore_free(&ld->rs);
		free(ld);
		return;
	}

	if (code != 0 && ld->code == RCFS__ERROR_CODE__E_OK) {
		ld->code = RCFS__ERROR_CODE__E_UNAVAILABLE;
		cs_marker_why(cs, code, ld->why, sizeof ld->why);
	}
	cs_start_core(ld);
}

/* Build the core from what ld loaded (or retry the load after a failure);
 * frees ld. */
static void
cs_start_core(struct cs_load *ld)
{
	struct consensus *cs = ld->cs;
	const struct rcfs_config *cfg = cs->cfg;
	struct raft_restore *rs = &ld->rs;
	struct raft_config rc;
	struct raft_conf boot;
	uint64_t seed;
	int rv;

	if (ld->generation != cs->generation)
		goto out;
	if (ld->code == RCFS__ERROR_CODE__E_OK && cs->am != NULL && !ld->marked && !cs->force_new) {
		/* The marker describes what is about to run: the loaded state,
		 * under the incarnation chosen (a damaged or new storage's). */
		ld->mark.incarnation = cs->incarnation;
		cs_mark_of(cs, rs, &ld->mark);
		ld->marked = true;
		ackmark_write(cs->am, &ld->mark, cs_start_marked, ld);
		return;
	}
	if (ld->code != RCFS__ERROR_CODE__E_OK) {
		struct timeval tv = { 0, 200 * 1000 };
		log_warn("cannot load the raft state from storage (%s); retrying", ld->why);
		cs->state = CS_STOPPED;
		evtimer_add(cs->reload_ev, &tv);
		goto out;
	}
	if (cs->force_new) {
		cs->force_new = false;
		if (cs_force_new_cluster(ld))
			return;         /* cs_step_stored goes on */
	}
	raft_config_init(&rc);
	rc.id = cfg->node_id;
	rc.incarnation = cs->incarnation;
	rc.election_min_ms = cfg->election_timeout_ms;
	rc.election_max_ms = 2 * cfg->election_timeout_ms;
	rc.heartbeat_ms = cfg->heartbeat_ms;
	evutil_secure_rng_get_bytes(&seed, sizeof seed);
	rc.seed = seed ^ cfg->node_id;
	rc.snapshot_threshold = cfg->snapshot_entries;
	rc.snapshot_trailing = cfg->snapshot_entries / 16 > 0 ? cfg->snapshot_entries / 16 : 1;
	rs->applied = ld->applied > rs->snapshot.index ? ld->applied : rs->snapshot.index;
	{
		/* A log cut by damage or a lost tail (now, or at an earlier
		 * start, the leader not having refilled it yet) may end below
		 * what the state machine applied: those entries come again from
		 * the leader, and fsm_apply skips what it has applied already. */
		uint64_t last = rs->n_entries > 0 ? rs->entries[rs->n_entries - 1].index : rs->snapshot.index;
		if (rs->applied > last && cfg->npeers == 0) {
			/* No leader will send them: new entries would take
			 * indexes fsm_apply skips as applied. */
			snprintf(cs->stopped_why, sizeof cs->stopped_why, "its log ends at %" PRIu64
			    ", below the applied index %" PRIu64 ", and a single node has no other copy "
			    "(restore the storage from a backup)", last, rs->applied);
			log_err("raft: %s: not starting", cs->stopped_why);
			cs->state = CS_STOPPED;
			goto out;
		}
		if (rs->applied > last)
			rs->applied = last;
		if (rs->hs.commit > last)
			rs->hs.commit = last;
	}
	if (rs->hs.commit < rs->applied)
		rs->hs.commit = rs->applied;  /* applied implies committed */
	/* The configuration "at index 0" (used until the log or a snapshot
	 * has one): the founders', as stored at bootstrap, recorded with the
	 * founding incarnation (only a founder's first storage is admitted by
	 * it; a later one waits for RAFT_CONF_ADMIT).  A joining node has
	 * none: it learns the membership from the leader.  docs/design.md,
	 * "Membership". */
	rs->bootstrap = NULL;
	if (rs->snapshot.index == 0 && raftlog_boot_conf(cs->log, &boot)) {
		rs->bootstrap = &boot;
	} else if (rs->snapshot.index == 0 &&
	    (cs->incarnation == 0 || cfg->npeers == 0)) {
		/* A founder's first start, or a storage written before the
		 * membership was stored (it keeps the config file's list). */
		members_bootstrap_conf(cfg, &boot);
		raftlog_set_boot_conf(cs->log, &boot, NULL, NULL);
		rs->bootstrap = &boot;
		log_info("raft: founding configuration of %u voter(s) stored; from now on the "
		    "membership comes from the Raft state, not from `peers`", boot.n);
	}
	rv = raft_new(&rc, rs, &cs->raft);
	if (rv != RAFT_OK) {
		snprintf(cs->stopped_why, sizeof cs->stopped_why, "cannot start raft from the stored state: %s",
		    raft_strerror(rv));
		log_err("%s", cs->stopped_why);
		cs->state = CS_STOPPED;
		goto out;
	}
	cs->applied = rs->applied;
	cs->state = CS_RUNNING;
	cs_follow_conf(cs);
	cs->last_tick_ms = time_mono_ms();
	cs->refused_seen = 0;
	log_info("raft: started at term %" PRIu64 ", snapshot %" PRIu64 ", log %" PRIu64 "..%" PRIu64
	    ", commit %" PRIu64 ", applied %" PRIu64 ", storage incarnation %016" PRIx64 "%s",
	    rs->hs.term, rs->snapshot.index, raftlog_first(cs->log), raftlog_last(cs->log),
	    rs->hs.commit, rs->applied, cs->incarnation,
	    raft_admitted(cs->raft) ? "" : " (not admitted yet: waiting for the leader)");
	if (cfg->bootstrap && !raftlog_empty(cs->log))
		log_info("raft: --bootstrap / initial_cluster_state = \"new\" ignored: the storage holds "
		    "Raft state (remove it from the config: a node whose storage is lost must not found "
		    "a cluster again)");
	cs_schedule(cs);
out:
	if (ld->have_rs)
		raftlog_restore_free(&ld->rs);
	free(ld);
}

/* The configuration the loaded state ends with: the last configuration
 * entry, else the snapshot's, else the stored founders'. */
static bool
cs_loaded_conf(struct cs_load *ld, struct raft_conf *out)
{
	const struct raft_restore *rs = &ld->rs;

	for (size_t i = rs->n_entries; i > 0; i--)
		if (rs->entries[i - 1].type == RAFT_ENTRY_CONF_CHANGE &&
		    raft_conf_decode(rs->entries[i - 1].data, rs->entries[i - 1].len, out) == RAFT_OK)
			return true;
	if (rs->snapshot.index > 0) {
		*out = rs->snapshot.conf;
		return true;
	}
	return raftlog_boot_conf(ld->cs->log, out);
}

/* rcfsd --force-new-cluster: append a configuration of this node alone (the
 * only voter, its incarnation recorded; every other member removed) after
 * the loaded log, store it, then start (cs_step_stored).  Returns false if
 * there is nothing to rewrite (no Raft state). */
static bool
cs_force_new_cluster(struct cs_load *ld)
{
	struct consensus *cs = ld->cs;
	struct raft_restore *rs = &ld->rs;
	struct raft_conf old, conf;
	struct raft_entry *entries, *e;
	uint64_t last = rs->n_entries ? rs->entries[rs->n_entries - 1].index : rs->snapshot.index;
	uint64_t last_term = rs->n_entries ? rs->entries[rs->n_entries - 1].term : rs->snapshot.term;
	int self;

	if (raftlog_empty(cs->log) || !cs_loaded_conf(ld, &old)) {
		log_warn("raft: --force-new-cluster ignored: this storage holds no Raft state");
		return false;
	}
	memset(&conf, 0, sizeof conf);
	conf.cluster_id = old.cluster_id;
	conf.n_removed = old.n_removed;
	memcpy(conf.removed, old.removed, sizeof conf.removed);
	self = raft_conf_find(&old, cs->cfg->node_id);
	if (self >= 0)
		conf.servers[0] = old.servers[self];
	conf.servers[0].id = cs->cfg->node_id;
	conf.servers[0].voter = true;
	conf.servers[0].incarnation = cs->incarnation;
	conf.servers[0].tag = 0;
	if (conf.servers[0].addr[0] == '\0')
		snprintf(conf.servers[0].addr, sizeof conf.servers[0].addr, "%s", cs->cfg->listen);
	conf.n = 1;
	for (uint32_t i = 0; i < old.n; i++) {
		if (old.servers[i].id == cs->cfg->node_id || raft_conf_was_removed(&conf, old.servers[i].id))
			continue;
		if (conf.n_removed == RAFT_MAX_REMOVED) {
			memmove(conf.removed, conf.removed + 1, (RAFT_MAX_REMOVED - 1) * sizeof conf.removed[0]);
			conf.n_removed--;
		}
		conf.removed[conf.n_removed++] = old.servers[i].id;
	}
	entries = xcalloc(rs->n_entries + 1, sizeof *entries);
	memcpy(entries, rs->entries, rs->n_entries * sizeof *entries);
	e = &entries[rs->n_entries];
	e->index = last + 1;
	e->term = rs->hs.term > last_term ? rs->hs.term : last_term;
	e->type = RAFT_ENTRY_CONF_CHANGE;
	e->len = raft_conf_encoded_len(&conf);
	e->data = xmalloc(e->len);
	raft_conf_encode(&conf, e->data, e->len);
	free((void *)rs->entries);
	rs->entries = entries;
	rs->n_entries++;
	if (rs->hs.term < e->term)
		rs->hs.term = e->term;
	log_warn("raft: --force-new-cluster: this node alone is now the cluster (configuration entry %"
	    PRIu64 ", term %" PRIu64 "); %u other member(s) removed: add members back with rcfs member "
	    "add (docs/operations.md)", e->index, e->term, old.n - (self >= 0 ? 1 : 0));
	ld->step = "the --force-new-cluster configuration";
	ld->forcing = true;
	raftlog_append(cs->log, NULL, e, 1, cs_step_stored, ld);
	return true;
}

static void
cs_reload(evutil_socket_t fd, short what, void *arg)
{
	struct consensus *cs = arg;

	(void)fd; (void)what;
	if (cs->state == CS_STOPPED && store_is_up(cs->st) && !cs->hold)
		cs_load_start(cs);
}

/* Drop the core as a crash would, and rebuild it from storage once it is
 * back: what the core believed durable may not be. */
static void
cs_teardown(struct consensus *cs, const char *why)
{
	if (cs->state == CS_STOPPED)
		return;
	log_warn("raft: stopping until storage is back (%s)", why);
	cs->generation++;
	cs->persist_inflight = 0;       /* the old generation's writes no longer count */
	cs->stall_tried_ms = 0;
	if (cs->raft != NULL) {
		cs->last_term = raft_term(cs->raft);
		raft_free(cs->raft);
	}
	cs->raft = NULL;
	cs->state = CS_STOPPED;
	cs->snapshotting = false;       /* a dump in flight ignores itself (generation) */
	fsm_forget(cs->sm);             /* reloaded with the raft state */
	cs->in_ready = false;           /* the core is gone */
	/* Before the role change, which would fail them as "not leader": what
	 * happened to them is unknown, and the client must retry. */
	cs_fail_pending(cs, RCFS__ERROR_CODE__E_UNAVAILABLE, "storage unavailable; outcome unknown");
	cs_role_change(cs, RAFT_FOLLOWER, 0);
	if (store_is_up(cs->st))
		cs_load_start(cs);
}

/* ---- driving the core ---------------------------------------------------------- */

static void
cs_tick(evutil_socket_t fd, short what, void *arg)
{
	struct consensus *cs = arg;
	uint64_t now = time_mono_ms();

	(void)fd; (void)what;
	if (cs->state != CS_RUNNING)
		return;
	if (now > cs->last_tick_ms) {
		raft_tick(cs->raft, (uint32_t)(now - cs->last_tick_ms));
		cs->last_tick_ms = now;
		cs_admit(cs);
		cs_storage_stall(cs, now);
		cs_schedule(cs);
	}
}

/* A leader whose storage stalls (its Raft writes outstanding, none completed
 * for CS_STALL_MS, or three election timeouts if longer: slow fsyncs behind
 * big chunk writes are not a stall) hands leadership to an up-to-date
 * follower (TimeoutNow, §3.10) instead of holding the cluster until the stall
 * ends or fails: the followers' storage still works.  Tried again every
 * election timeout while it lasts (a TimeoutNow can be lost). */
#define CS_STALL_MS 1000

static void
cs_storage_stall(struct consensus *cs, uint64_t now)
{
	uint64_t stalled, limit = 3 * (uint64_t)cs->cfg->election_timeout_ms;
	int rv;

	if (limit < CS_STALL_MS)
		limit = CS_STALL_MS;
	if (cs->persist_inflight == 0 || raft_role(cs->raft) != RAFT_LEADER)
		return;
	stalled = now - cs->persist_progress_ms;
	if (stalled < limit || (cs->stall_tried_ms != 0 &&
	    now - cs->stall_tried_ms < cs->cfg->election_timeout_ms))
		return;
	cs->stall_tried_ms = now;
	rv = raft_transfer_leadership(cs->raft, 0);
	if (rv == RAFT_OK)
		log_warn("raft: storage stalled for %" PRIu64 " ms with %u write(s) outstanding: handing "
		    "leadership over (term %" PRIu64 ")", stalled, cs->persist_inflight, raft_term(cs->raft));
	else
		log_warn("raft: storage stalled for %" PRIu64 " ms, and no leadership transfer: %s (term %"
		    PRIu64 ")", stalled, raft_strerror(rv), raft_term(cs->raft));
}

/* A member answering with a storage incarnation the configuration does not
 * record lost its storage (or it is new): the core counts none of its votes
 * and acknowledgements (rcfs_raft_refused_total{reason="incarnation"}).  The
 * leader records the new incarnation (RAFT_CONF_ADMIT) once the member holds
 * everything committed, one change at a time; logged once per incarnation
 * seen, and when admitted.  docs/raft.md, "Incarnations". */
static void
cs_admit(struct consensus *cs)
{
	const struct raft_conf *conf = raft_configuration(cs->raft);
	uint64_t refused = raft_refused_incarnation(cs->raft);

	assert(!cs->in_ready);
	if (refused > cs->refused_seen) {
		metrics_add(rcfs_metrics.raft_refused_incarnation, refused - cs->refused_seen);
		cs->refused_seen = refused;
	}
	if (raft_role(cs->raft) != RAFT_LEADER)
		return;
	if (conf->cluster_id == 0) {
		/* A new cluster (or one from before cluster ids): its first
		 * leader draws the id, recorded in the configuration. */
		uint64_t id = cs_random_id(), index;
		if (raft_set_cluster_id(cs->raft, id, &index) == RAFT_OK)
			log_info("raft: cluster id %016" PRIx64 " recorded (configuration entry %" PRIu64 ")",
			    id, index);
		return;
	}
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *srv = &conf->servers[i];
		struct cs_admit_seen *seen = &cs->admit_seen[i];
		struct raft_progress_info info;
		uint64_t index;

		if (srv->id == cs->cfg->node_id || raft_progress(cs->raft, srv->id, &info) != RAFT_OK ||
		    info.admitted)
			continue;
		if (seen->id != info.id || seen->incarnation != info.incarnation) {
			log_warn("raft: node %" PRIu64 " answers with storage incarnation %016" PRIx64
			    ", not the recorded %016" PRIx64 ": its storage was lost or replaced, and its votes "
			    "and acknowledgements do not count until it has caught up and is admitted",
			    srv->id, info.incarnation, srv->incarnation);
			seen->id = info.id;
			seen->incarnation = info.incarnation;
		}
		if (raft_change_membership(cs->raft, RAFT_CONF_ADMIT, srv->id, &index) == RAFT_OK) {
			log_info("raft: admitting node %" PRIu64 "'s storage incarnation %016" PRIx64
			    " (caught up to index %" PRIu64 "), configuration entry %" PRIu64,
			    srv->id, info.incarnation, info.match, index);
			return;         /* one change at a time */
		}
	}
	/* Learners added with `rcfs member add --voter`: promoted once caught up. */
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *srv = &conf->servers[i];
		uint64_t index;

		if (srv->voter || !(srv->tag & MEMBER_TAG_PROMOTE) || (srv->tag & MEMBER_TAG_STORAGE))
			continue;
		if (raft_change_membership(cs->raft, RAFT_CONF_PROMOTE, srv->id, &index) == RAFT_OK) {
			log_info("raft: node %" PRIu64 " caught up: promoted to voter, configuration entry %"
			    PRIu64, srv->id, index);
			return;
		}
	}
}

/* Follow the latest configuration: the member table and its links, the
 * per-peer gauges, and the node (conf_cb).  Outside raft_ready/advance. */
static void
cs_follow_conf(struct consensus *cs)
{
	const struct raft_conf *conf = raft_configuration(cs->raft);
	struct raft_conf committed;

	if (!raft_committed_configuration(cs->raft, &committed))
		memset(&committed, 0, sizeof committed);
	if (memcmp(conf, &cs->conf_seen, sizeof *conf) == 0 &&
	    memcmp(&committed, &cs->committed_seen, sizeof committed) == 0)
		return;
	cs->conf_seen = *conf;
	cs->committed_seen = committed;
	if (!members_update(cs->members, conf, &committed))
		return;
	cs_register_peer_metrics(cs);
	if (cs->conf_cb != NULL)
		cs->conf_cb(cs->conf_arg);
}

/* Process the core's output once, at the end of this loop iteration. */
static void
cs_schedule(struct consensus *cs)
{
	event_active(cs->ready_ev, EV_TIMEOUT, 0);
}

static void
cs_process(evutil_socket_t fd, short what, void *arg)
{
	struct consensus *cs = arg;
	struct raft_ready rd;

	(void)fd; (void)what;
	while (cs->state == CS_RUNNING && raft_has_ready(cs->raft)) {
		bool compact;

		if (raft_ready(cs->raft, &rd) != RAFT_OK) {
			cs_teardown(cs, "out of memory");
			return;
		}
		cs->in_ready = true;
		if (rd.has_snapshot)
			cs_install(cs, &rd);    /* before this Ready's entries, on the same connection */
		if (rd.snapshot_data_wanted)
			cs_take_snapshot(cs);   /* a follower needs InstallSnapshot */
		compact = rd.snapshot_wanted;
		if (rd.seq != 0)
			cs_persist(cs, &rd);
		for (size_t i = 0; i < rd.n_messages; i++)
			cs_send(cs, &rd.messages[i]);
		if (rd.n_committed > 0)
			cs_apply(cs, &rd);
		if (rd.n_reads > 0)
			cs_reads(cs, &rd);
		if (rd.role != cs->role || rd.leader != cs->leader)
			cs_role_change(cs, rd.role, rd.leader);
		raft_advance(cs->raft, &rd);
		cs->in_ready = false;
		if (compact)    /* after advance: compaction frees the Ready's entries */
			cs_compact(cs);
	}
	if (cs->state == CS_RUNNING)
		cs_follow_conf(cs);
	if (cs->state == CS_RUNNING) {
		metrics_set(rcfs_metrics.raft_term, (double)raft_term(cs->raft));
		metrics_set(rcfs_metrics.raft_commit_index, (double)raft_commit_index(cs->raft));
		metrics_set(rcfs_metrics.raft_log_entries,
		    (double)(raft_last_index(cs->raft) - raft_snapshot_index(cs->raft)));
	}
}

static void
cs_role_change(struct consensus *cs, int role, uint64_t leader)
{
	int was = cs->role;

	if (cs->raft != NULL)
		cs->last_term = raft_term(cs->raft);
	if (role != cs->role)
		log_info("raft: %s -> %s, term %" PRIu64 "%s", raft_role_name(cs->role), raft_role_name(role),
		    cs->last_term, cs->raft ? "" : " (stopped until storage is back)");
	if (leader != cs->leader && leader != 0)
		log_info("raft: leader is node %" PRIu64, leader);
	if (role != cs->role && (role == RAFT_CANDIDATE || role == RAFT_PRECANDIDATE) &&
	    cs->role != RAFT_PRECANDIDATE)
		metrics_inc(rcfs_metrics.raft_elections_started);
	if (leader != cs->leader && leader != 0)
		metrics_inc(rcfs_metrics.raft_leader_changes);
	metrics_rcfs_set_role(&rcfs_metrics, raft_role_name(role));
	metrics_set(rcfs_metrics.raft_leader_id, (double)leader);
	cs->role = role;
	cs->leader = leader;
	if (was == RAFT_LEADER && role != RAFT_LEADER) {
		char why[320];
		cs_settle_committed_conf(cs);
		cs_not_leader(cs, why, sizeof why);
		cs_fail_pending(cs, RCFS__ERROR_CODE__E_NOT_LEADER, why);
	}
}

/* Durability before speech: entries and hard state as one group;
 * raft_persisted() only once redis acknowledged it (fsynced). */
static void
cs_persist(struct consensus *cs, const struct raft_ready *rd)
{
	struct cs_persist *p = xcalloc(1, sizeof *p);

	p->cs = cs;
	p->generation = cs->generation;
	p->seq = rd->seq;
	p->t0 = metrics_now();
	if (cs->persist_inflight++ == 0)
		cs->persist_progress_ms = time_mono_ms();
	raftlog_append(cs->log, rd->hs_changed ? &rd->hs : NULL, rd->entries, rd->n_entries,
	    cs_persisted, p);
	p->mark.incarnation = cs->incarnation;
	p->mark.writes = raftlog_writes(cs->log);       /* counting this group */
	p->mark.term = raft_term(cs->raft);
	p->mark.vote = raft_vote(cs->raft);
	p->mark.last_index = raft_last_index(cs->raft);
}

static void
cs_persisted(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct cs_persist *p = arg;
	struct consensus *cs = p->cs;

	if (p->generation == cs->generation) {
		cs->persist_inflight--;
		cs->persist_progress_ms = time_mono_ms();
		cs->stall_tried_ms = 0;
	}
	/* Then the marker, off the acknowledgement path: it trails redis and
	 * never claims what redis does not hold, so only a real loss trips it
	 * (docs/raft.md: why not before the acknowledgement). */
	if (code == RCFS__ERROR_CODE__E_OK && cs->am != NULL && p->generation == cs->generation)
		ackmark_write(cs->am, &p->mark, NULL, NULL);
	if (p->generation == cs->generation && cs->state == CS_RUNNING) {
		if (code != RCFS__ERROR_CODE__E_OK)
			cs_teardown(cs, why);
		else if (raft_persisted(cs->raft, p->seq) == RAFT_OK) {
			metrics_observe_since(rcfs_metrics.raft_persist_latency, p->t0);
			cs_schedule(cs);
		}
	}
	free(p);
}

/* A marker write failed: a storage fault like a failed redis write. */
static void
cs_marked(void *arg, int code)
{
	struct consensus *cs = arg;
	char why[300];

	if (code == 0 || code == ECANCELED || cs->state != CS_RUNNING)
		return;
	cs_marker_why(cs, code, why, sizeof why);
	cs_teardown(cs, why);
}

/* Why a marker write failed (errno code), into why[0..len-1]. */
static void
cs_marker_why(const struct consensus *cs, int code, char *why, size_t len)
{
	snprintf(why, len, "writing the acknowledgement marker %s: %s", ackmark_path(cs->am), strerror(code));
}

static void
cs_send(struct consensus *cs, const struct raft_message *m)
{
	struct raftwire_pb pb;

	raftwire_to_pb(m, &pb);
	timesync_on_send(cs->ts, m->to, &pb.msg);
	cs->send(cs->send_arg, m->to, &pb.msg);
	raftwire_pb_free(&pb);
}

void
consensus_receive(struct consensus *cs, const Rcfs__RaftMessage *pm)
{
	struct raft_message m;
	int rv;

	if (pm->to != cs->cfg->node_id)
		return;
	timesync_on_receive(cs->ts, pm->from, pm);
	if (cs->state != CS_RUNNING)
		return;
	raftwire_from_pb(pm, &m);
	if ((m.type == RAFT_MSG_HEARTBEAT || m.type == RAFT_MSG_APPEND) && cs->role == RAFT_FOLLOWER) {
		/* What would explain an election without a fault: the gaps
		 * between the leader's messages as they arrive here. */
		uint64_t now = time_mono_ns();
		if (cs->leader_heard_id == m.from && cs->leader_heard_ns != 0)
			metrics_observe(rcfs_metrics.heartbeat_interval,
			    (double)(now - cs->leader_heard_ns) / 1e9);
		cs->leader_heard_id = m.from;
		cs->leader_heard_ns = now;
	}
	rv = raft_step(cs->raft, &m);
	free((void *)m.entries);
	if (rv == RAFT_ENOMEM)
		cs_teardown(cs, "out of memory");
	else if (rv != RAFT_OK)
		log_debug("raft: dropped %s from %" PRIu64 ": %s", raft_msg_type_name(m.type), m.from,
		    raft_strerror(rv));
	cs_schedule(cs);
}

void
consensus_peer_down(struct consensus *cs, uint64_t id)
{
	if (cs->state != CS_RUNNING || cs->role != RAFT_FOLLOWER || raft_leader(cs->raft) != id)
		return;
	raft_peer_down(cs->raft, id);
	if (raft_leader(cs->raft) != 0)
		return;                 /* not for us (a learner, not admitted) */
	log_info("raft: connection from leader %" PRIu64 " closed: electing a leader now (term %" PRIu64 ")",
	    id, raft_term(cs->raft));
	/* Clients are no longer sent to it, even before a Ready says so. */
	cs_role_change(cs, raft_role(cs->raft), 0);
	cs_schedule(cs);
}

/* ---- snapshots (Raft §7) ---------------------------------------------------------- */

/* The leader sent us its state machine: replace ours, the log and the stored
 * snapshot in one group.  It runs before this Ready's entries and apply on
 * the one redis connection; if it fails we tear down, so the EXEC reply of
 * the same Ready (a later generation check) cannot vouch for it. */
static void
cs_install(struct consensus *cs, const struct raft_ready *rd)
{
	struct cs_snap *sn = xcalloc(1, sizeof *sn);
	struct store_group *g = store_group_new();

	sn->cs = cs;
	sn->generation = cs->generation;
	sn->index = rd->snapshot.index;
	log_info("raft: installing a snapshot at index %" PRIu64 " (%zu bytes) from the leader",
	    rd->snapshot.index, rd->snapshot_len);
	fsm_snapshot_install(cs->sm, g, rd->snapshot.index, rd->snapshot_data, rd->snapshot_len,
	    time_real_ms());
	raftlog_install(cs->log, g, &rd->snapshot, rd->snapshot_data, rd->snapshot_len);
	store_group_send(cs->st, g, 0, cs_installed, sn);
}

static void
cs_installed(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct cs_snap *sn = arg;
	struct consensus *cs = sn->cs;

	if (sn->generation == cs->generation && cs->state == CS_RUNNING) {
		if (code != RCFS__ERROR_CODE__E_OK) {
			cs_teardown(cs, why);
		} else {
			cs->applied = sn->index;
			raft_applied(cs->raft, sn->index);
			log_info("raft: snapshot at index %" PRIu64 " installed", sn->index);
			cs_schedule(cs);
		}
	}
	free(sn);
}

/* The core's log passed snapshot_entries: compact without copying anything.
 * The state machine lives in this node's redis, durable up to cs->applied
 * (every apply reply came after its fsync), so that state *is* the snapshot
 * at cs->applied; the core keeps no bytes for it and asks for them (Ready
 * snapshot_data_wanted, cs_take_snapshot) only if a follower needs
 * InstallSnapshot.  This replaced a dump of the whole file table on every
 * compaction, which held redis for 240-530 ms at 8-25 k files
 * (docs/design.md, "Snapshots"). */
static void
cs_compact(struct consensus *cs)
{
	struct raft_snapshot_meta meta;
	int rv;

	if ((rv = raft_compact(cs->raft, cs->applied, &meta)) != RAFT_OK) {
		log_warn("raft: no compaction at %" PRIu64 ": %s", cs->applied, raft_strerror(rv));
		return;
	}
	raftlog_compact(cs->log, &meta);
	log_info("raft: log compacted up to index %" PRIu64 " (state machine in redis)", meta.index);
}

/* A follower needs InstallSnapshot and the core holds no bytes: dump the
 * state machine (atomically, with the applied index it reflects) and hand
 * the bytes to the core, which sends them. */
static void
cs_take_snapshot(struct consensus *cs)
{
	struct cs_snap *sn;

	if (cs->snapshotting)
		return;
	sn = xcalloc(1, sizeof *sn);
	sn->cs = cs;
	sn->generation = cs->generation;
	cs->snapshotting = true;
	fsm_snapshot_dump(cs->st, cs_snapshot_dumped, sn);
}

static void
cs_snapshot_dumped(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index,
    const uint8_t *data, size_t len)
{
	struct cs_snap *sn = arg;
	struct consensus *cs = sn->cs;
	struct raft_snapshot_meta meta;
	uint64_t before;
	int rv;

	/* After a teardown the core is gone (cs->raft NULL until reloaded). */
	if (sn->generation != cs->generation || cs->state != CS_RUNNING)
		goto out;
	cs->snapshotting = false;
	before = raft_snapshot_index(cs->raft);
	if (code != RCFS__ERROR_CODE__E_OK) {
		log_warn("raft: cannot take a snapshot: %s", why);
		goto out;
	}
	/* The dump ran after every apply sent before it, and their replies came
	 * first: index <= what the core knows as applied.  Either the bytes of
	 * the current snapshot (same index) or a newer snapshot. */
	rv = raft_snapshot_taken(cs->raft, index, data, len, &meta);
	if (rv != RAFT_OK) {
		log_debug("raft: snapshot at %" PRIu64 " not taken: %s", index, raft_strerror(rv));
		goto out;
	}
	if (meta.index > before)
		raftlog_compact(cs->log, &meta);
	log_info("raft: snapshot at index %" PRIu64 " (%zu bytes) for a follower", meta.index, len);
	cs_schedule(cs);
out:
	free(sn);
}

/* ---- applying ----------------------------------------------------------------- */

/* Answer the proposals of this batch whose outcome is known at commit: the
 * entry is durable on a majority, and the state machine will apply it with
 * version = its index, so the client need not wait for the apply's fsync.
 * A read that follows still waits for the apply (ReadIndex waits for the
 * applied index), so this stays linearizable.  cs_applied checks the
 * state machine's answer against each one. */
static void
cs_answer_early(struct consensus *cs, struct cs_apply *ap)
{
	struct cs_pending *p, *next;

	for (p = TAILQ_FIRST(&cs->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->term == 0 || p->index < ap->first || p->index > ap->last)
			continue;
		size_t i = (size_t)(p->index - ap->first);
		if (!ap->early[i] || ap->terms[i] != p->term)
			continue;
		struct fsm_result res = { RCFS__ERROR_CODE__E_OK, p->index };
		TAILQ_REMOVE(&cs->pending, p, link);
		metrics_inc(rcfs_metrics.raft_proposals_ok);
		metrics_observe_since(rcfs_metrics.raft_append_latency, p->t0);
		cs_settle(cs, p, RCFS__ERROR_CODE__E_OK, NULL, &res);
	}
}

/* Report p's outcome (p is off cs->pending) and free it.  This may run
 * while a Ready is being handled: a callback must not call back into the
 * core (raft.h allows no raft_* call between raft_ready() and
 * raft_advance()).  None does: answers go out through conn_reply, and a
 * connection that the answer un-pauses resumes reading from the loop
 * (net/conn.c), so its next request cannot start on this stack; the
 * assertions in consensus_propose and consensus_read_barrier hold the rule. */
static void
cs_settle(struct consensus *cs, struct cs_pending *p, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res)
{
	(void)cs;
	p->cb(p->arg, code, why, res);
	free(p);
}

/* Hand the committed entries to the state machine, as bytes; it says which
 * proposals may be answered now (fsm_commit), and answers the rest after
 * the apply. */
static void
cs_apply(struct consensus *cs, const struct raft_ready *rd)
{
	struct cs_apply *ap = xcalloc(1, sizeof *ap);
	struct fsm_entry *e = xcalloc(rd->n_committed, sizeof *e);

	ap->cs = cs;
	ap->generation = cs->generation;
	ap->first = rd->committed[0].index;
	ap->last = rd->committed[rd->n_committed - 1].index;
	ap->n = rd->n_committed;
	ap->terms = xcalloc(rd->n_committed, sizeof *ap->terms);
	ap->early = xcalloc(rd->n_committed, sizeof *ap->early);
	for (size_t i = 0; i < rd->n_committed; i++) {
		const struct raft_entry *c = &rd->committed[i];
		ap->terms[i] = c->term;
		e[i].index = c->index;
		e[i].command = c->type == RAFT_ENTRY_NORMAL;
		e[i].data = c->data;
		e[i].len = c->len;
	}
	fsm_commit(cs->sm, e, rd->n_committed, time_real_ms(), ap->early, cs_applied, ap);
	free(e);
	cs_answer_early(cs, ap);
}

static void
cs_applied(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res, size_t n)
{
	struct cs_apply *ap = arg;
	struct consensus *cs = ap->cs;
	struct cs_pending *p, *next;

	if (ap->generation != cs->generation || cs->state != CS_RUNNING)
		goto out;
	if (code != RCFS__ERROR_CODE__E_OK) {
		cs_teardown(cs, why);
		goto out;
	}
	for (size_t i = 0; i < ap->n && i < n; i++)
		if (ap->early[i] && res[i].version != ap->first + i)
			log_err("raft: entry %" PRIu64 " was answered at commit with version %" PRIu64
			    ", but the state machine applied it as version %" PRIu64 " (session table bug)",
			    ap->first + i, ap->first + i, res[i].version);
	cs->applied = ap->last;
	raft_applied(cs->raft, ap->last);
	metrics_set(rcfs_metrics.raft_applied_index, (double)cs->applied);
	/* Answer the proposals these entries settle. */
	for (p = TAILQ_FIRST(&cs->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->term == 0 || p->index < ap->first || p->index > ap->last)
			continue;
		TAILQ_REMOVE(&cs->pending, p, link);
		size_t i = (size_t)(p->index - ap->first);
		if (ap->terms[i] == p->term && i < n) {
			metrics_inc(rcfs_metrics.raft_proposals_ok);
			metrics_observe_since(rcfs_metrics.raft_append_latency, p->t0);
			cs_settle(cs, p, RCFS__ERROR_CODE__E_OK, NULL, &res[i]);
		} else {
			metrics_inc(rcfs_metrics.raft_proposals_failed);
			cs_settle(cs, p, RCFS__ERROR_CODE__E_NOT_LEADER,
			    "leadership changed before the command was committed", NULL);
		}
	}
	cs_schedule(cs);
out:
	free(ap->terms);
	free(ap->early);
	free(ap);
}

static void
cs_reads(struct consensus *cs, const struct raft_ready *rd)
{
	for (size_t i = 0; i < rd->n_reads; i++) {
		const struct raft_read_state *rs = &rd->reads[i];
		struct cs_pending *p;
		uint64_t id;

		if (rs->ctx_len != sizeof id)
			continue;
		memcpy(&id, rs->ctx, sizeof id);
		TAILQ_FOREACH(p, &cs->pending, link)
			if (p->term == 0 && p->index == id)
				break;
		if (p == NULL)
			continue;
		TAILQ_REMOVE(&cs->pending, p, link);
		if (rs->status == 0) {
			cs_settle(cs, p, RCFS__ERROR_CODE__E_OK, NULL, NULL);
		} else {
			char why[320];
			cs_not_leader(cs, why, sizeof why);
			cs_settle(cs, p, RCFS__ERROR_CODE__E_NOT_LEADER, why, NULL);
		}
	}
}

/* A leader that steps down because the change that removed it committed
 * (Raft dissertation §4.2.2) answers that change: it took effect. */
static void
cs_settle_committed_conf(struct consensus *cs)
{
	struct cs_pending *p, *next;
	uint64_t term;

	if (cs->raft == NULL)
		return;
	for (p = TAILQ_FIRST(&cs->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		int err = 0;
		if (!p->conf || p->index > raft_commit_index(cs->raft))
			continue;
		term = raft_term_at(cs->raft, p->index, &err);
		if (err != 0 || term != p->term)
			continue;
		TAILQ_REMOVE(&cs->pending, p, link);
		cs_settle(cs, p, RCFS__ERROR_CODE__E_OK, NULL, NULL);
	}
}

static void
cs_fail_pending(struct consensus *cs, Rcfs__ErrorCode code, const char *why)
{
	struct cs_pending *p;

	while ((p = TAILQ_FIRST(&cs->pending)) != NULL) {
		TAILQ_REMOVE(&cs->pending, p, link);
		if (p->term != 0)
			metrics_inc(rcfs_metrics.raft_proposals_failed);
		cs_settle(cs, p, code, why, NULL);
	}
}

/* ---- requests ------------------------------------------------------------------- */

/* The code for a request this node cannot take: E_UNAVAILABLE while its
 * storage is down or when its stored state cannot start (the client tries
 * the others, and gives up at once if all say so), else E_NOT_LEADER (also
 * while it loads its Raft state after a start: that passes in moments, and
 * the client waits for a leader). */
static Rcfs__ErrorCode
cs_refusal(const struct consensus *cs)
{
	return cs->state != CS_RUNNING && (!store_is_up(cs->st) || cs->stopped_why[0] != '\0')
	    ? RCFS__ERROR_CODE__E_UNAVAILABLE : RCFS__ERROR_CODE__E_NOT_LEADER;
}

static void
cs_not_leader(struct consensus *cs, char *buf, size_t len)
{
	const char *addr = consensus_leader_address(cs);

	if (cs->state != CS_RUNNING && !store_is_up(cs->st))
		snprintf(buf, len, "storage unavailable: %s", store_last_error(cs->st));
	else if (cs->state != CS_RUNNING && cs->stopped_why[0] != '\0')
		snprintf(buf, len, "node %" PRIu64 " cannot start: %s", cs->cfg->node_id, cs->stopped_why);
	else if (cs->state != CS_RUNNING)
		snprintf(buf, len, "node %" PRIu64 " is starting (loading its raft state)", cs->cfg->node_id);
	else if (addr != NULL)
		snprintf(buf, len, "not the leader; leader is node %" PRIu64 " at %s", cs->leader, addr);
	else
		snprintf(buf, len, "no leader known to node %" PRIu64 " (election in progress?)",
		    cs->cfg->node_id);
}

void
consensus_propose(struct consensus *cs, const uint8_t *data, size_t len, consensus_cb *cb,
    void *arg)
{
	struct cs_pending *p;
	uint64_t index, term;
	char why[320];
	int rv;

	assert(!cs->in_ready);          /* see cs_settle */
	if (cs->state != CS_RUNNING || cs->role != RAFT_LEADER) {
		cs_not_leader(cs, why, sizeof why);
		metrics_inc(rcfs_metrics.raft_proposals_rejected);
		cb(arg, cs_refusal(cs), why, NULL);
		return;
	}
	rv = raft_propose(cs->raft, data, len, &index, &term);
	if (rv != RAFT_OK) {
		metrics_inc(rcfs_metrics.raft_proposals_rejected);
		if (rv == RAFT_ENOTLEADER || rv == RAFT_ETRANSFER) {
			cs_not_leader(cs, why, sizeof why);
			cb(arg, RCFS__ERROR_CODE__E_NOT_LEADER, why, NULL);
		} else {
			cb(arg, RCFS__ERROR_CODE__E_INTERNAL, raft_strerror(rv), NULL);
		}
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->index = index;
	p->term = term;
	p->t0 = metrics_now();
	p->cb = cb;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&cs->pending, p, link);
	cs_schedule(cs);
}

void
consensus_read_barrier(struct consensus *cs, consensus_cb *cb, void *arg)
{
	struct cs_pending *p;
	char why[160];
	uint64_t id;
	int rv;

	assert(!cs->in_ready);          /* see cs_settle */
	if (cs->state != CS_RUNNING || cs->role != RAFT_LEADER) {
		cs_not_leader(cs, why, sizeof why);
		cb(arg, cs_refusal(cs), why, NULL);
		return;
	}
	id = ++cs->read_seq;
	rv = raft_read_index(cs->raft, &id, sizeof id);
	if (rv != RAFT_OK) {
		cs_not_leader(cs, why, sizeof why);
		cb(arg, rv == RAFT_ENOTLEADER ? RCFS__ERROR_CODE__E_NOT_LEADER : RCFS__ERROR_CODE__E_INTERNAL,
		    rv == RAFT_ENOTLEADER ? why : raft_strerror(rv), NULL);
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->index = id;
	p->term = 0;
	p->cb = cb;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&cs->pending, p, link);
	cs_schedule(cs);
}

/* ---- status ---------------------------------------------------------------------- */

const char *
consensus_role(const struct consensus *cs)
{
	if (cs->state != CS_RUNNING)
		return "starting";
	if (raft_is_learner(cs->raft))
		return "learner";
	switch (cs->role) {
	case RAFT_LEADER: return "leader";
	case RAFT_CANDIDATE: return "candidate";
	case RAFT_PRECANDIDATE: return "precandidate";   /* as the log says (PreVote, §9.6) */
	default: return "follower";
	}
}

bool
consensus_is_leader(const struct consensus *cs)
{
	return cs->state == CS_RUNNING && cs->role == RAFT_LEADER;
}

uint64_t
consensus_term(const struct consensus *cs)
{
	return cs->raft ? raft_term(cs->raft) : 0;
}

uint64_t
consensus_incarnation(const struct consensus *cs)
{
	return cs->incarnation;
}

bool
consensus_admitted(const struct consensus *cs)
{
	return cs->state == CS_RUNNING && raft_admitted(cs->raft);
}

bool
consensus_in_ready(const struct consensus *cs)
{
	return cs->in_ready;
}

uint64_t
consensus_leader(const struct consensus *cs)
{
	return cs->state == CS_RUNNING ? cs->leader : 0;
}

uint64_t
consensus_commit_index(const struct consensus *cs)
{
	return cs->raft ? raft_commit_index(cs->raft) : 0;
}

uint64_t
consensus_last_index(const struct consensus *cs)
{
	return cs->state == CS_RUNNING ? raft_last_index(cs->raft) : 0;
}

uint64_t
consensus_applied_index(const struct consensus *cs)
{
	return cs->applied;
}

/* Per-peer metric readers: only the leader tracks progress. */

static bool
cs_metric_match(void *arg, double *v)
{
	struct cs_peer_metric *pm = arg;
	uint64_t match;
	int64_t contact;

	if (!consensus_is_leader(pm->cs) || !consensus_peer_progress(pm->cs, pm->id, &match, &contact))
		return false;
	*v = (double)match;
	return true;
}

static bool
cs_metric_lag(void *arg, double *v)
{
	struct cs_peer_metric *pm = arg;
	uint64_t match, last;
	int64_t contact;

	if (!consensus_is_leader(pm->cs) || !consensus_peer_progress(pm->cs, pm->id, &match, &contact))
		return false;
	last = raft_last_index(pm->cs->raft);
	*v = last > match ? (double)(last - match) : 0;
	return true;
}

/* Gauges for every member not registered yet (a member that leaves keeps
 * its gauges, which then report nothing: progress is gone). */
static void
cs_register_peer_metrics(struct consensus *cs)
{
	if (cs->metrics_reg == NULL)
		return;
	for (uint32_t i = 0; i < members_count(cs->members); i++) {
		uint64_t id = members_at(cs->members, i)->id;
		bool known = id == cs->cfg->node_id;
		char name[24];
		for (uint32_t j = 0; j < cs->n_metric_args; j++)
			known |= cs->metric_args[j].id == id;
		if (known || cs->n_metric_args == sizeof cs->metric_args / sizeof cs->metric_args[0])
			continue;
		cs->metric_args[cs->n_metric_args].cs = cs;
		cs->metric_args[cs->n_metric_args].id = id;
		snprintf(name, sizeof name, "%" PRIu64, id);
		if (!metrics_rcfs_register_peer(cs->metrics_reg, name, cs_metric_match, cs_metric_lag,
		    &cs->metric_args[cs->n_metric_args]))
			log_warn("metrics: cannot register the gauges of peer %s", name);
		cs->n_metric_args++;
	}
}

bool
consensus_register_metrics(struct consensus *cs, struct metrics *reg)
{
	cs->metrics_reg = reg;
	cs_register_peer_metrics(cs);
	metrics_rcfs_set_role(&rcfs_metrics, raft_role_name(cs->role));
	return true;
}

unsigned
consensus_active_voters(const struct consensus *cs)
{
	struct raft_progress_info info;
	const struct raft_conf *conf;
	unsigned n = 0;

	if (!consensus_is_leader(cs))
		return 0;
	conf = raft_configuration(cs->raft);
	for (uint32_t i = 0; i < conf->n; i++)
		if (conf->servers[i].id != cs->cfg->node_id &&
		    raft_progress(cs->raft, conf->servers[i].id, &info) == RAFT_OK &&
		    info.voter && info.recently_active)
			n++;
	return n;
}

void
consensus_set_conf_cb(struct consensus *cs, consensus_conf_fn *cb, void *arg)
{
	cs->conf_cb = cb;
	cs->conf_arg = arg;
}

void
consensus_set_ackmark(struct consensus *cs, struct ackmark *am)
{
	cs->am = am;
	ackmark_on_error(am, cs_marked, cs);
}

int
consensus_change_member(struct consensus *cs, int op, const struct raft_server *srv,
    consensus_cb *cb, void *arg, uint64_t *index)
{
	struct cs_pending *p;
	int rv;

	assert(!cs->in_ready);
	if (cs->state != CS_RUNNING)
		return RAFT_ENOTLEADER;
	rv = raft_change_server(cs->raft, op, srv, index);
	if (rv != RAFT_OK)
		return rv;
	p = xcalloc(1, sizeof *p);
	p->conf = true;
	p->index = *index;
	p->term = raft_term(cs->raft);
	p->t0 = metrics_now();
	p->cb = cb;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&cs->pending, p, link);
	cs_schedule(cs);
	return RAFT_OK;
}

bool
consensus_keeps_quorum_without(const struct consensus *cs, uint64_t id, unsigned *reachable,
    unsigned *needed)
{
	const struct raft_conf *conf;
	struct raft_progress_info info;
	unsigned voters = 0, up = 0;

	*reachable = *needed = 0;
	if (!consensus_is_leader(cs))
		return false;
	conf = raft_configuration(cs->raft);
	for (uint32_t i = 0; i < conf->n; i++) {
		const struct raft_server *srv = &conf->servers[i];
		if (!srv->voter || srv->id == id)
			continue;
		voters++;
		if (srv->id == cs->cfg->node_id ||
		    (raft_progress(cs->raft, srv->id, &info) == RAFT_OK && info.heard &&
		    info.recently_active && info.admitted))
			up++;
	}
	*reachable = up;
	*needed = voters / 2 + 1;
	return voters > 0 && up >= *needed;
}

bool
consensus_progress(const struct consensus *cs, uint64_t id, struct raft_progress_info *info)
{
	return cs->state == CS_RUNNING && raft_progress(cs->raft, id, info) == RAFT_OK;
}

int
consensus_move_leader(struct consensus *cs, uint64_t id, const char *why)
{
	int rv;

	if (cs->state != CS_RUNNING)
		return RAFT_ENOTLEADER;
	rv = raft_transfer_leadership(cs->raft, id);
	if (rv == RAFT_OK) {
		if (id != 0)
			log_info("raft: handing leadership over to node %llu (%s)", (unsigned long long)id, why);
		else
			log_info("raft: handing leadership over to the most up-to-date voter (%s)", why);
		cs_schedule(cs);
	}
	return rv;
}

bool
consensus_transfer_leadership(struct consensus *cs)
{
	int rv;

	if (!consensus_is_leader(cs))
		return false;
	rv = raft_transfer_leadership(cs->raft, 0);
	if (rv != RAFT_OK) {
		log_info("raft: no leadership transfer: %s", raft_strerror(rv));
		return false;
	}
	log_info("raft: handing leadership over (shutting down)");
	cs_schedule(cs);
	return true;
}

bool
consensus_peer_progress(const struct consensus *cs, uint64_t id, uint64_t *match,
    int64_t *last_contact_ms)
{
	struct raft_progress_info info;

	if (cs->state != CS_RUNNING || raft_progress(cs->raft, id, &info) != RAFT_OK)
		return false;
	*match = info.match;
	*last_contact_ms = info.heard ? (int64_t)info.last_contact_ms : -1;
	return true;
}

const char *
consensus_leader_address(const struct consensus *cs)
{
	const struct member *mb;

	if (cs->state != CS_RUNNING || cs->leader == 0 || cs->leader == cs->cfg->node_id)
		return NULL;
	mb = members_find(cs->members, cs->leader);
	return mb != NULL && mb->address[0] != '\0' ? mb->address : NULL;
}

void
consensus_free(struct consensus *cs)
{
	if (cs == NULL)
		return;
	cs->generation++;
	cs->in_ready = false;
	cs_fail_pending(cs, RCFS__ERROR_CODE__E_UNAVAILABLE, "node is shutting down");
	if (cs->raft)
		raft_free(cs->raft);
	event_free(cs->tick_ev);
	event_free(cs->ready_ev);
	event_free(cs->reload_ev);
	raftlog_free(cs->log);
	free(cs);
}
