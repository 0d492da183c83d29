#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "clock/hlc.h"
#include "clock/peer.h"
#include "clock/sampler.h"
#include "node/timesync.h"
#include "store/store.h"
#include "util/log.h"
#include "util/time.h"
#include "util/xmalloc.h"

#define TIMESYNC_HLC_WINDOW_MS 10000    /* high-water promise ahead of now */
#define TIMESYNC_PERSIST_MS 1000        /* persist the high-water mark this often */

/* What we last heard from a peer, echoed in our next message to it. */
struct timesync_peer {
	uint64_t id;
	int64_t their_send;             /* T3 of their last message */
	int64_t our_recv;               /* when we received it (their T2 next time... our T4) */
};

struct timesync {
	struct event_base *base;
	const struct rcfs_config *cfg;
	struct store *st;
	struct evdns_base *dns;
	struct clock_sampler *sampler;  /* NULL without ntp_servers */
	struct hlc *hlc;
	struct clock_peers *peers;
	struct timesync_peer last[CONFIG_MAX_PEERS];
	struct event *persist_ev;
	bool restored;
};

static int64_t timesync_phys(void *arg);
static void timesync_persist(evutil_socket_t fd, short what, void *arg);
static void timesync_restored(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t value,
    bool found);
static struct timesync_peer *timesync_peer(struct timesync *ts, uint64_t id);
static void timesync_state_cb(void *arg, enum clock_state old, enum clock_state now);

static int64_t
timesync_phys(void *arg)
{
	return timesync_now_ns(arg);
}

struct timesync *
timesync_new(struct event_base *base, const struct rcfs_config *cfg, struct store *st)
{
	struct timesync *ts = xcalloc(1, sizeof *ts);
	struct timeval tv = { TIMESYNC_PERSIST_MS / 1000, (TIMESYNC_PERSIST_MS % 1000) * 1000 };

	ts->base = base;
	ts->cfg = cfg;
	ts->st = st;
	if (cfg->nntp_servers > 0) {
		struct clock_config cc;
		clock_config_defaults(&cc);
		cc.servers = (const char *const *)cfg->ntp_servers;
		cc.nservers = cfg->nntp_servers;
		cc.poll_interval_ms = cfg->ntp_poll_ms;
		cc.timeout_ms = cfg->ntp_timeout_ms;
		cc.max_offset_ns = (int64_t)cfg->max_clock_offset_ms * 1000000;
		/* Names resolve through evdns on the loop, never getaddrinfo. */
		ts->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		ts->sampler = clock_sampler_new(base, ts->dns, &cc);
		if (ts->sampler != NULL) {
			clock_sampler_set_state_cb(ts->sampler, timesync_state_cb, ts);
			clock_sampler_start(ts->sampler);
		}
	}
	ts->hlc = hlc_create(timesync_phys, ts, cfg->max_clock_offset_ms, TIMESYNC_HLC_WINDOW_MS);
	ts->peers = clock_peers_create((int64_t)cfg->max_clock_offset_ms * 1000000);
	ts->persist_ev = event_new(base, -1, EV_PERSIST, timesync_persist, ts);
	event_add(ts->persist_ev, &tv);
	return ts;
}

void
timesync_free(struct timesync *ts)
{
	if (ts == NULL)
		return;
	event_free(ts->persist_ev);
	clock_sampler_free(ts->sampler);
	if (ts->dns)
		evdns_base_free(ts->dns, 0);
	hlc_destroy(ts->hlc);
	clock_peers_destroy(ts->peers);
	free(ts);
}

static void
timesync_state_cb(void *arg, enum clock_state old, enum clock_state now)
{
	(void)arg;
	if (now == CLOCK_ALARM)
		log_warn("clock: system clock is off by more than max_clock_offset_ms (was %s)",
		    clock_state_name(old));
	else
		log_info("clock: %s -> %s", clock_state_name(old), clock_state_name(now));
}

int64_t
timesync_now_ns(struct timesync *ts)
{
	return ts->sampler ? clock_now_ns(ts->sampler, NULL) : time_real_ns();
}

void
timesync_storage_up(struct timesync *ts)
{
	store_get_uint(ts->st, "rcfs:hlc", timesync_restored, ts);
}

/* The persisted high-water mark (none on a new node). */
static void
timesync_restored(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t value, bool found)
{
	struct timesync *ts = arg;

	(void)why;
	if (code != RCFS__ERROR_CODE__E_OK)
		return;
	if (found)
		hlc_restore(ts->hlc, value);
	ts->restored = true;
}

/* Persist a high-water mark ahead of every timestamp issued, so the HLC never
 * goes backwards across a restart even if the wall clock did. */
static void
timesync_persist(evutil_socket_t fd, short what, void *arg)
{
	struct timesync *ts = arg;

	(void)fd; (void)what;
	if (ts->restored && store_is_up(ts->st))
		store_commandf(ts->st, NULL, NULL, "SET rcfs:hlc %" PRIu64, (uint64_t)hlc_high_water(ts->hlc));
}

uint64_t
timesync_hlc_now(struct timesync *ts)
{
	return hlc_now(ts->hlc);
}

static struct timesync_peer *
timesync_peer(struct timesync *ts, uint64_t id)
{
	for (unsigned i = 0; i < CONFIG_MAX_PEERS; i++)
		if (ts->last[i].id == id)
			return &ts->last[i];
	for (unsigned i = 0; i < CONFIG_MAX_PEERS; i++)
		if (ts->last[i].id == 0) {
			ts->last[i].id = id;
			return &ts->last[i];
		}
	return NULL;
}

void
timesync_on_send(struct timesync *ts, uint64_t to, Rcfs__RaftMessage *m)
{
	struct timesync_peer *p = timesync_peer(ts, to);

	m->has_hlc = 1;
	m->hlc = hlc_now(ts->hlc);
	/* Peer offsets use the system clocks themselves: that is what skew is. */
	m->has_send_time_ns = 1;
	m->send_time_ns = (uint64_t)time_real_ns();
	if (p != NULL && p->their_send != 0) {
		m->has_origin_time_ns = m->has_recv_time_ns = 1;
		m->origin_time_ns = (uint64_t)p->their_send;
		m->recv_time_ns = (uint64_t)p->our_recv;
	}
}

void
timesync_on_receive(struct timesync *ts, uint64_t from, const Rcfs__RaftMessage *m)
{
	struct timesync_peer *p = timesync_peer(ts, from);
	int64_t t4 = time_real_ns();

	if (m->has_hlc && hlc_update(ts->hlc, m->hlc, NULL) != 0)
		log_debug("clock: node %" PRIu64 "'s HLC is too far ahead: not adopted", from);
	if (p == NULL || !m->has_send_time_ns)
		return;
	/* Our message (sent at T1 = origin) reached it at T2 = recv; it sent
	 * this one at T3 = send; we got it at T4.  Only a fresh echo counts. */
	if (m->has_origin_time_ns && m->origin_time_ns != 0 && (int64_t)m->origin_time_ns <= t4)
		clock_peers_add(ts->peers, from, (int64_t)m->origin_time_ns, (int64_t)m->recv_time_ns,
		    (int64_t)m->send_time_ns, t4);
	p->their_send = (int64_t)m->send_time_ns;
	p->our_recv = t4;
}

void
timesync_status(struct timesync *ts, Rcfs__NodeStatus *s, char *source, size_t srclen)
{
	struct clock_skew sk;
	int64_t now = time_real_ns();

	s->has_hlc = 1;
	s->hlc = hlc_last(ts->hlc);
	clock_peers_skew(ts->peers, now, &sk);
	if (sk.npeers > 0) {
		s->has_cluster_skew_ns = 1;
		s->cluster_skew_ns = sk.skew;
	}
	source[0] = '\0';
	if (ts->sampler == NULL) {
		/* No NTP: the peers' clocks can still be compared. */
		s->clock_state = sk.alarm ? "alarm" : "off";
		return;
	}
	struct clock_status cs;
	clock_sampler_status(ts->sampler, &cs);
	/* Alarm: our clock is off per NTP, or the cluster's clocks disagree by
	 * more than max_clock_offset_ms. */
	s->clock_state = (char *)(sk.alarm ? "alarm" : clock_state_name(cs.state));
	s->has_clock_offset_ns = s->has_clock_error_ns = 1;
	s->clock_offset_ns = cs.offset_ns;
	s->clock_error_ns = cs.error_ns < 0 ? 0 : (uint64_t)cs.error_ns;
	for (int i = 0; i < cs.nsources; i++)
		if (cs.src[i].state == CLOCK_SRC_SYSPEER ||
		    (source[0] == '\0' && cs.src[i].state == CLOCK_SRC_SURVIVOR)) {
			snprintf(source, srclen, "%s", cs.src[i].name);
			s->has_clock_sync_age_ms = s->has_clock_delay_ns = 1;
			s->clock_sync_age_ms = cs.src[i].last_sync_age_ms;
			s->clock_delay_ns = cs.src[i].delay_ns < 0 ? 0 : (uint64_t)cs.src[i].delay_ns;
		}
	if (source[0] != '\0')
		s->clock_source = source;
}

void
timesync_peer_status(struct timesync *ts, uint64_t id, Rcfs__NodeStatus *s)
{
	struct clock_filter_estimate e;

	if (clock_peers_get(ts->peers, id, time_real_ns(), &e) != 0)
		return;
	s->has_peer_offset_ns = s->has_peer_delay_ns = 1;
	s->peer_offset_ns = e.offset;
	s->peer_delay_ns = e.delay < 0 ? 0 : (uint64_t)e.delay;
}
