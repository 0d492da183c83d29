#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include "http/http.h"
#include "http/json.h"
#include "net/auth.h"
#include "net/peer.h"
#include "node/consensus.h"
#include "node/members.h"
#include "node/observe.h"
#include "node/status.h"
#include "node/timesync.h"
#include "store/store.h"
#include "util/log.h"
#include "util/time.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define OBSERVE_PERIOD_MS  1000
#define OBSERVE_LAG_MS     100          /* the event loop's lag is sampled this often */
/* A node whose applied index trails and has not moved for this long is stuck. */
#define OBSERVE_STUCK_MS   10000

/* What we know of one member (self included). */
struct observe_member {
	struct observe *o;
	uint64_t id;                    /* the member this slot follows; 0: free */
	bool known;                     /* got at least one status */
	bool in_flight;                 /* a Status RPC is outstanding */
	uint64_t heard_ms;              /* monotonic ms of the last status */
	char role[16];
	uint64_t term, commit, applied;
	bool has_offset, has_files, has_bytes, storage_up;
	bool aof_rewriting;             /* its redis rewrites its AOF */
	double offset_ms;
	uint64_t files, bytes;
	bool has_held;
	uint64_t held;                  /* chunks in its redis (the mover's last walk) */
	bool has_stored, has_gc_waiting;
	uint64_t stored;                /* bytes: the sum of those chunks' sizes */
	uint64_t gc_waiting;            /* bytes of unreferenced chunks GC keeps */
	bool has_pending, has_eta;
	uint64_t pending;               /* chunks it still has to hand to their homes */
	double eta_s;                   /* estimate */
	bool has_short, has_repair_eta;
	uint64_t short_chunks;          /* short of N copies, its last repair pass */
	uint64_t repair_fixed;          /* chunks repaired in the current pass */
	double repair_eta_s;
	uint64_t last_applied;          /* stuck detection: applied when it last moved */
	uint64_t applied_since_ms;
};

struct observe {
	struct node_parts p;
	const struct rcfs_config *cfg;
	struct metrics *reg;
	struct http_server *http;
	struct event *timer;
	struct event *lag_timer;        /* OBSERVE_LAG_MS: how late the loop runs it */
	uint64_t lag_due_us;            /* when it is due next (monotonic µs) */
	struct observe_member self;
	struct observe_member members[RAFT_MAX_SERVERS];   /* other members, by id */
	bool refreshing;                /* the self refresh is outstanding */
	bool shut;
};

static void observe_tick(evutil_socket_t fd, short what, void *arg);
static void observe_lag_tick(evutil_socket_t fd, short what, void *arg);
static struct observe_member *observe_slot(struct observe *o, uint64_t id);
static uint64_t observe_stale_ms(const struct observe *o);
static void observe_rebalance(struct observe_member *m, const Rcfs__NodeStatus *s);
static void observe_gathered(void *arg, Rcfs__NodeStatus *s);
static void observe_peer_status(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);
static void observe_status_json(void *arg, struct evbuffer *out);
static bool observe_healthy_hook(void *arg);
static int observe_authorized(void *arg, const char *user, const char *password);
static void observe_raft_json(void *arg, struct evbuffer *out);
static void observe_time_json(void *arg, struct evbuffer *out);

struct observe *
observe_new(const struct node_parts *p, struct metrics *reg, char *err, size_t errlen)
{
	struct observe *o = xcalloc(1, sizeof *o);
	const struct rcfs_config *cfg = p->cfg;
	struct timeval tv = { OBSERVE_PERIOD_MS / 1000, (OBSERVE_PERIOD_MS % 1000) * 1000 };

	o->p = *p;
	o->cfg = cfg;
	o->reg = reg;
	o->self.o = o;
	for (unsigned i = 0; i < RAFT_MAX_SERVERS; i++)
		o->members[i].o = o;
	if (reg != NULL && !consensus_register_metrics(p->consensus, reg)) {
		snprintf(err, errlen, "metrics: per-peer gauges clash (a bug)");
		free(o);
		return NULL;
	}
	if (cfg->http_listen != NULL) {
		struct http_hooks hooks = {
			.metrics = reg,
			.status_json = observe_status_json,
			.healthy = observe_healthy_hook,
			.raft_json = observe_raft_json,
			.time_json = observe_time_json,
			.authorized = cfg->auth ? observe_authorized : NULL,
			.metrics_public = cfg->metrics_public,
			.max_body = cfg->s3_max_body,
			.arg = o,
		};
		char why[256];
		o->http = http_new(p->base, cfg->http_listen, &hooks, why,
		    sizeof why);
		if (o->http == NULL) {
			snprintf(err, errlen, "http_listen %s: %s", cfg->http_listen, why);
			free(o);
			return NULL;
		}
		log_info("HTTP endpoint (metrics, status, dashboard) on %s, port %u", cfg->http_listen,
		    http_port(o->http));
	}
	o->timer = event_new(p->base, -1, EV_PERSIST, observe_tick, o);
	event_add(o->timer, &tv);
	observe_tick(-1, 0, o);
	o->lag_timer = evtimer_new(p->base, observe_lag_tick, o);
	observe_lag_tick(-1, 0, o);
	return o;
}

void
observe_shutdown(struct observe *o)
{
	if (o == NULL || o->shut)
		return;
	o->shut = true;
	event_del(o->timer);
	event_del(o->lag_timer);
	http_free(o->http);
	o->http = NULL;
}

void
observe_free(struct observe *o)
{
	if (o == NULL)
		return;
	observe_shutdown(o);
	event_free(o->timer);
	event_free(o->lag_timer);
	free(o);
}

unsigned
observe_http_port(const struct observe *o)
{
	return o != NULL && o->http != NULL ? http_port(o->http) : 0;
}

/* ---- the refresh ---------------------------------------------------------------- */

static void
observe_self_clock(struct observe *o)
{
	Rcfs__NodeStatus s = RCFS__NODE_STATUS__INIT;
	char source[128];

	timesync_status(o->p.timesync, &s, source, sizeof source);
	o->self.has_offset = s.has_clock_offset_ns;
	o->self.offset_ms = (double)s.clock_offset_ns / 1e6;
	if (s.has_clock_offset_ns)
		metrics_set(rcfs_metrics.clock_offset, (double)s.clock_offset_ns / 1e9);
	if (s.has_clock_delay_ns)
		metrics_set(rcfs_metrics.clock_delay, (double)s.clock_delay_ns / 1e9);
	metrics_set(rcfs_metrics.clock_synchronized,
	    s.clock_state != NULL && strcmp(s.clock_state, "synchronized") == 0);
	if (s.has_cluster_skew_ns)
		metrics_set(rcfs_metrics.cluster_clock_skew, (double)s.cluster_skew_ns / 1e9);
}

static void
observe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct observe *o = arg;

	(void)fd; (void)what;
	if (o->shut)
		return;
	observe_self_clock(o);
	if (!o->refreshing && store_is_up(o->p.store)) {
		o->refreshing = true;
		status_gather(&o->p, observe_gathered, o);
	}
	/* The HTTP page reads the peers' own status, and so do the AOF
	 * turns (observe_rewriting). */
	if (o->http == NULL && o->cfg->aof_rewrite_busy_growth == 0)
		return;
	for (uint32_t i = 0; i < members_count(o->p.members); i++) {
		const struct member *mb = members_at(o->p.members, i);
		struct observe_member *m = observe_slot(o, mb->id);
		Rcfs__StatusRequest req = RCFS__STATUS_REQUEST__INIT;
		if (m == NULL || mb->peer == NULL || m->in_flight || !peer_connected(mb->peer))
			continue;
		m->in_flight = true;
		peer_rpc(mb->peer, RCFS__MSG_TYPE__MSG_STATUS, &req.base, observe_peer_status, m);
	}
}

/* The slot following member id: its own, or a free one (a slot whose member
 * left is freed once no call is in flight on it).  NULL if none is free. */
static struct observe_member *
observe_slot(struct observe *o, uint64_t id)
{
	struct observe_member *free_slot = NULL;

	for (unsigned i = 0; i < RAFT_MAX_SERVERS; i++) {
		struct observe_member *m = &o->members[i];
		if (m->id == id)
			return m;
		if (m->id != 0 && !m->in_flight && members_find(o->p.members, m->id) == NULL)
			m->id = 0;
		if (m->id == 0 && free_slot == NULL)
			free_slot = m;
	}
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof *free_slot);
		free_slot->o = o;
		free_slot->id = id;
	}
	return free_slot;
}

static void
observe_rebalance(struct observe_member *m, const Rcfs__NodeStatus *s)
{
	m->has_pending = s->has_rebalance_pending;
	m->pending = s->rebalance_pending;
	m->has_eta = s->has_rebalance_eta_s;
	m->eta_s = s->rebalance_eta_s;
	m->has_short = s->has_chunks_under_replicated;
	m->short_chunks = s->chunks_under_replicated;
	m->repair_fixed = s->repair_fixed;
	m->has_repair_eta = s->has_repair_eta_s;
	m->repair_eta_s = s->repair_eta_s;
	m->has_stored = s->has_stored_bytes;
	m->stored = s->stored_bytes;
	m->has_gc_waiting = s->has_gc_waiting_bytes;
	m->gc_waiting = s->gc_waiting_bytes;
}

/* The gauges that need a redis round trip. */
static void
observe_gathered(void *arg, Rcfs__NodeStatus *s)
{
	struct observe *o = arg;

	o->refreshing = false;
	if (s->has_files) {
		o->self.has_files = true;
		o->self.files = s->files;
		metrics_set(rcfs_metrics.files, (double)s->files);
		metrics_set(rcfs_metrics.chunks, (double)s->chunks);
	}
	o->self.has_held = s->has_chunks_held;
	o->self.held = s->chunks_held;
	observe_rebalance(&o->self, s);
	if (s->has_rebalance_pending) {
		metrics_set(rcfs_metrics.rebalance_pending, (double)s->rebalance_pending);
		metrics_set(rcfs_metrics.rebalance_pending_bytes, (double)s->rebalance_pending_bytes);
		metrics_set(rcfs_metrics.rebalance_eta, s->has_rebalance_eta_s ? s->rebalance_eta_s : -1);
	}
	if (s->has_chunks_under_replicated) {
		metrics_set(rcfs_metrics.repair_rate, s->repair_rate_bps);
		metrics_set(rcfs_metrics.repair_eta, s->has_repair_eta_s ? s->repair_eta_s : -1);
	}
	if (s->has_used_memory) {
		o->self.has_bytes = true;
		o->self.bytes = s->used_memory;
		metrics_set(rcfs_metrics.redis_used_memory, (double)s->used_memory);
	}
}

static void
observe_peer_status(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	struct observe_member *m = arg;
	const Rcfs__StatusResponse *resp;
	const Rcfs__NodeStatus *s;

	(void)err;
	m->in_flight = false;
	if (code != RCFS__ERROR_CODE__E_OK || type != RCFS__MSG_TYPE__MSG_STATUS_RESP || msg == NULL)
		return;
	resp = (const Rcfs__StatusResponse *)msg;
	if (resp->n_nodes == 0 || resp->nodes[0]->id != m->id)
		return;
	s = resp->nodes[0];
	m->known = true;
	m->heard_ms = time_mono_ms();
	snprintf(m->role, sizeof m->role, "%s", s->role ? s->role : "unknown");
	m->term = s->term;
	m->commit = s->commit_index;
	m->applied = s->applied_index;
	m->has_offset = s->has_clock_offset_ns;
	m->offset_ms = (double)s->clock_offset_ns / 1e6;
	m->has_files = s->has_files;
	m->files = s->files;
	m->has_bytes = s->has_used_memory;
	m->bytes = s->used_memory;
	m->has_held = s->has_chunks_held;
	m->held = s->chunks_held;
	observe_rebalance(m, s);
	m->storage_up = !s->has_storage_up || s->storage_up;
	m->aof_rewriting = s->has_aof_rewriting && s->aof_rewriting;
}

bool
observe_rewriting(const struct observe *o, uint64_t id)
{
	if (o == NULL)
		return false;
	if (id == o->cfg->node_id)
		return store_aof_rewriting(o->p.store);
	for (unsigned i = 0; i < RAFT_MAX_SERVERS; i++) {
		const struct observe_member *m = &o->members[i];
		if (m->id == id)
			return m->known && m->aof_rewriting && time_mono_ms() - m->heard_ms <= observe_stale_ms(o);
	}
	return false;
}

/* ---- /status and /healthz ------------------------------------------------------ */

/* Refresh self's Raft figures (live). */
static void
observe_self_live(struct observe *o)
{
	struct consensus *cs = o->p.consensus;
	struct observe_member *m = &o->self;

	snprintf(m->role, sizeof m->role, "%s", consensus_role(cs));
	m->term = consensus_term(cs);
	m->commit = consensus_commit_index(cs);
	m->applied = consensus_applied_index(cs);
	m->known = true;
	m->heard_ms = time_mono_ms();
	m->storage_up = store_is_up(o->p.store);
	m->aof_rewriting = store_aof_rewriting(o->p.store);
}

/* The event loop's lag: a one-shot timer due every OBSERVE_LAG_MS; how late
 * it runs is how long the loop was busy elsewhere (a long callback, a big
 * frame, a slow script answer), which delays every Raft message and
 * heartbeat (rcfs_event_loop_lag_seconds). */
static void
observe_lag_tick(evutil_socket_t fd, short what, void *arg)
{
	struct observe *o = arg;
	uint64_t now = time_mono_ns() / 1000;
	struct timeval tv = { 0, OBSERVE_LAG_MS * 1000 };

	(void)fd; (void)what;
	if (o->shut)
		return;
	if (o->lag_due_us != 0)
		metrics_observe(rcfs_metrics.event_loop_lag,
		    now > o->lag_due_us ? (double)(now - o->lag_due_us) / 1e6 : 0);
	o->lag_due_us = now + OBSERVE_LAG_MS * 1000;
	evtimer_add(o->lag_timer, &tv);
}

/* A member's figures are stale (it is unreachable) when its last status is
 * older than three refresh periods or three election timeouts. */
static uint64_t
observe_stale_ms(const struct observe *o)
{
	uint64_t stale = 3 * (uint64_t)OBSERVE_PERIOD_MS;

	if (3 * (uint64_t)o->cfg->election_timeout_ms > stale)
		stale = 3 * (uint64_t)o->cfg->election_timeout_ms;
	return stale;
}

/* Healthy: heard from lately, storage up, loaded, and not stuck.  Updates
 * the stuck tracker; why[] gets the reason. */
static bool
observe_member_healthy(struct observe *o, struct observe_member *m, uint64_t max_commit,
    uint64_t now, char *why, size_t whylen)
{
	uint64_t stale = observe_stale_ms(o);

	if (m->applied != m->last_applied || m->applied >= max_commit || m->applied_since_ms == 0) {
		m->last_applied = m->applied;
		m->applied_since_ms = now;
	}
	if (!m->known) {
		snprintf(why, whylen, "no status received yet");
		return false;
	}
	if (now - m->heard_ms > stale) {
		snprintf(why, whylen, "not heard from for %" PRIu64 " ms", now - m->heard_ms);
		return false;
	}
	if (!m->storage_up) {
		snprintf(why, whylen, "its redis is down");
		return false;
	}
	if (strcmp(m->role, "starting") == 0) {
		snprintf(why, whylen, "loading its raft state");
		return false;
	}
	if (m->applied < max_commit && now - m->applied_since_ms > OBSERVE_STUCK_MS) {
		snprintf(why, whylen, "applied index stuck at %" PRIu64 " for %" PRIu64 " s", m->applied,
		    (now - m->applied_since_ms) / 1000);
		return false;
	}
	return true;
}

static void
observe_member_json(struct json_writer *w, struct observe *o, struct observe_member *m,
    const struct member *mb, bool self, uint64_t max_commit, uint64_t now)
{
	char why[128];
	bool healthy = observe_member_healthy(o, m, max_commit, now, why, sizeof why), reachable;
	const char *http = self ? o->cfg->http_listen : NULL;

	for (unsigned i = 0; !self && i < o->cfg->npeers; i++)
		if (o->cfg->peers[i].id == mb->id)
			http = o->cfg->peers[i].http;
	json_object_begin(w);
	json_kv_uint(w, "id", mb != NULL ? mb->id : o->cfg->node_id);
	json_kv_bool(w, "self", self);
	json_kv_string(w, "address", mb != NULL ? mb->address : o->cfg->listen);
	json_kv_string(w, "http", http);
	json_kv_string(w, "member_role", mb != NULL ? member_role_name(mb->role) : "voter");
	json_kv_string(w, "state", mb != NULL ? member_state_name(mb) : "active");
	if (!m->known) {
		json_kv_string(w, "role", "unknown");
		json_kv_bool(w, "healthy", false);
		json_kv_string(w, "error", why);
		json_object_end(w);
		return;
	}
	/* Unreachable, as rcfs status says it: the role is "unreachable", the
	 * figures are the last ones heard, marked stale, with their age. */
	reachable = self || now - m->heard_ms <= observe_stale_ms(o);
	json_kv_string(w, "role", reachable ? m->role : "unreachable");
	json_kv_bool(w, "reachable", reachable);
	if (!reachable) {
		json_kv_bool(w, "stale", true);
		json_kv_string(w, "last_role", m->role);
	}
	json_kv_uint(w, "term", m->term);
	json_kv_uint(w, "commit_index", m->commit);
	json_kv_uint(w, "applied_index", m->applied);
	json_kv_uint(w, "lag", max_commit > m->applied ? max_commit - m->applied : 0);
	if (m->has_offset)
		json_kv_double(w, "offset_ms", m->offset_ms);
	else
		json_kv_null(w, "offset_ms");
	json_kv_bool(w, "healthy", healthy);
	if (m->has_files)
		json_kv_uint(w, "files", m->files);
	if (m->has_bytes)
		json_kv_uint(w, "bytes", m->bytes);
	if (m->has_held)
		json_kv_uint(w, "chunks_held", m->held);
	if (m->has_stored)
		json_kv_uint(w, "stored_bytes", m->stored);
	if (m->has_gc_waiting)
		json_kv_uint(w, "gc_waiting_bytes", m->gc_waiting);
	if (m->has_pending)
		json_kv_uint(w, "rebalance_pending", m->pending);
	if (m->has_eta)
		json_kv_double(w, "rebalance_eta_s", m->eta_s);
	if (m->has_short) {
		json_kv_uint(w, "chunks_under_replicated", m->short_chunks);
		json_kv_uint(w, "repair_fixed", m->repair_fixed);
	}
	if (m->has_repair_eta)
		json_kv_double(w, "repair_eta_s", m->repair_eta_s);
	json_kv_bool(w, "aof_rewriting", m->aof_rewriting);
	json_kv_uint(w, "age_ms", self ? 0 : now - m->heard_ms);
	if (!healthy)
		json_kv_string(w, "error", why);
	json_object_end(w);
}

static void
observe_status_json(void *arg, struct evbuffer *out)
{
	struct observe *o = arg;
	struct consensus *cs = o->p.consensus;
	const struct rcfs_config *cfg = o->cfg;
	struct json_writer w;
	uint64_t now, max_commit;

	/* now after the refresh: self's heard_ms a millisecond past now read
	 * as "not heard from for 2^64 - 1 ms" (seen in CI) */
	observe_self_live(o);
	now = time_mono_ms();
	max_commit = o->self.commit;
	for (unsigned i = 0; i < RAFT_MAX_SERVERS; i++)
		if (o->members[i].id != 0 && o->members[i].known && o->members[i].commit > max_commit)
			max_commit = o->members[i].commit;
	json_init(&w, out);
	json_object_begin(&w);
	json_kv_uint(&w, "version", 1);
	json_kv_uint(&w, "node_id", cfg->node_id);
	json_kv_uint(&w, "time_ms", time_real_ms());
	json_kv_uint(&w, "leader_id", consensus_leader(cs));
	json_kv_uint(&w, "term", consensus_term(cs));
	json_key(&w, "nodes");
	json_array_begin(&w);
	if (members_find(o->p.members, cfg->node_id) == NULL)
		observe_member_json(&w, o, &o->self, NULL, true, max_commit, now);
	for (uint32_t i = 0; i < members_count(o->p.members); i++) {
		const struct member *mb = members_at(o->p.members, i);
		bool self = mb->id == cfg->node_id;
		struct observe_member *m = self ? &o->self : observe_slot(o, mb->id);
		if (m != NULL)
			observe_member_json(&w, o, m, mb, self, max_commit, now);
	}
	json_array_end(&w);
	json_object_end(&w);
}

bool
observe_healthy(struct observe *o, char *why, size_t whylen)
{
	struct consensus *cs = o->p.consensus;

	if (!store_is_up(o->p.store)) {
		snprintf(why, whylen, "redis is down: %s", store_last_error(o->p.store));
		return false;
	}
	if (!consensus_running(cs)) {
		snprintf(why, whylen, "loading the raft state");
		return false;
	}
	if (consensus_leader(cs) == 0) {
		snprintf(why, whylen, "no leader known");
		return false;
	}
	return true;
}

/* HTTP Basic: user = an API key's S3 access key id, password = its S3
 * secret (docs/security.md "HTTP"). */
static int
observe_authorized(void *arg, const char *user, const char *password)
{
	struct observe *o = arg;
	char secret[AUTH_S3_SECRET_LEN + 1];
	int i = auth_s3_find(o->cfg->client_keys, o->cfg->nclient_keys, user, secret);
	bool ok = i >= 0 && strlen(password) == AUTH_S3_SECRET_LEN &&
	    sodium_memcmp(password, secret, AUTH_S3_SECRET_LEN) == 0;

	sodium_memzero(secret, sizeof secret);
	if (!ok)
		return HTTP_ACCESS_NONE;
	return o->cfg->client_keys[i].role >= AUTH_ROLE_READ_WRITE ? HTTP_ACCESS_WRITE :
	    HTTP_ACCESS_READ;
}

/* /api/raft/status: this node's view of Raft. */
static void
observe_raft_json(void *arg, struct evbuffer *out)
{
	struct observe *o = arg;
	struct consensus *cs = o->p.consensus;
	struct json_writer w;

	json_init(&w, out);
	json_object_begin(&w);
	json_kv_uint(&w, "node_id", o->cfg->node_id);
	json_kv_string(&w, "role", consensus_role(cs));
	json_kv_uint(&w, "term", consensus_term(cs));
	json_kv_uint(&w, "leader_id", consensus_leader(cs));
	json_kv_uint(&w, "commit_index", consensus_commit_index(cs));
	json_kv_uint(&w, "applied_index", consensus_applied_index(cs));
	json_kv_uint(&w, "last_index", consensus_last_index(cs));
	json_kv_uint(&w, "members", members_count(o->p.members));
	json_object_end(&w);
}

/* /api/time/sync: this node's clock as the time service sees it
 * (docs/clock.md). */
static void
observe_time_json(void *arg, struct evbuffer *out)
{
	struct observe *o = arg;
	Rcfs__NodeStatus s = RCFS__NODE_STATUS__INIT;
	struct json_writer w;
	char source[128];

	timesync_status(o->p.timesync, &s, source, sizeof source);
	json_init(&w, out);
	json_object_begin(&w);
	json_kv_uint(&w, "node_id", o->cfg->node_id);
	json_kv_string(&w, "state", s.clock_state);
	json_kv_string(&w, "source", s.clock_source);
	if (s.has_clock_offset_ns)
		json_kv_double(&w, "offset_ms", (double)s.clock_offset_ns / 1e6);
	if (s.has_clock_error_ns)
		json_kv_double(&w, "error_ms", (double)s.clock_error_ns / 1e6);
	if (s.has_clock_delay_ns)
		json_kv_double(&w, "delay_ms", (double)s.clock_delay_ns / 1e6);
	if (s.has_clock_sync_age_ms)
		json_kv_int(&w, "sync_age_ms", s.clock_sync_age_ms);
	if (s.has_cluster_skew_ns)
		json_kv_double(&w, "cluster_skew_ms", (double)s.cluster_skew_ns / 1e6);
	json_kv_uint(&w, "hlc", timesync_hlc_now(o->p.timesync));
	json_kv_uint(&w, "time_ms", time_real_ms());
	json_object_end(&w);
}

struct http_server *
observe_http(const struct observe *o)
{
	return o->http;
}

static bool
observe_healthy_hook(void *arg)
{
	char why[256];

	return observe_healthy(arg, why, sizeof why);
}
