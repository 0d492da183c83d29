/* NTP sampler on the node's event loop (sampler.h, docs/clock.md).
 *
 * Local timescale.  All measurements are taken on L = CLOCK_MONOTONIC +
 * (CLOCK_REALTIME - CLOCK_MONOTONIC at creation): it reads like the wall
 * clock but is never stepped, so a step of the system clock between two
 * samples cannot poison the filter (chrony handles this by re-slewing
 * stored samples; here there is nothing to re-slew).  Offsets are
 * "server - L"; the status converts them to "server - CLOCK_REALTIME". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/util.h>

#include "clock/clock.h"
#include "clock/filter.h"
#include "clock/ntp.h"
#include "clock/sampler.h"
#include "util/log.h"
#include "util/time.h"
#include "util/xmalloc.h"

#define LOCAL_PRECISION_NS 1000   /* rho: 2^-20 s, what we claim for L */
#define MAX_BACKOFF 64            /* KoD RATE multiplies the poll up to this */

struct source;

/* Owned by the evdns callback: outlives its source if the source is freed
 * while the lookup is pending (evdns calls back later with CANCEL). */
struct dns_ticket {
	struct source *src;
	struct evdns_getaddrinfo_request *req;
};

struct source {
	struct clock_sampler *s;
	char name[CLOCK_NAME_LEN];
	char host[CLOCK_NAME_LEN];
	char port[8];
	struct sockaddr_storage addr;
	ev_socklen_t addrlen;
	bool resolved, denied;
	struct dns_ticket *dns;
	evutil_socket_t fd;
	struct event *ev_read, *ev_poll, *ev_timeout;
	uint64_t xmt;         /* transmit ts of the outstanding request, 0: none */
	uint64_t last_xmt;    /* server transmit ts of the last valid reply */
	int64_t t1;           /* L when the outstanding request left */
	uint8_t reach;
	uint32_t polls, backoff;
	unsigned last_tests;
	int stratum;
	int64_t root_delay, root_disp;
	int64_t last_good;    /* L of the newest good sample, 0: never */
	struct clock_filter *filter;
	enum clock_source_state state;
	struct clock_filter_estimate est;
	int64_t distance;
	uint64_t sent, valid, good;
};

struct clock_sampler {
	struct event_base *base;
	struct evdns_base *dns;
	struct clock_config cfg;
	int64_t base_ns;      /* L - CLOCK_MONOTONIC */
	struct source src[CLOCK_MAX_SOURCES];
	int n;
	enum clock_state state;
	bool have_offset;
	int64_t sys_offset;   /* server - L */
	int64_t sys_error;
	int64_t sys_time;     /* L of the last successful selection */
	int nsurvivors;
	clock_state_cb cb;
	void *cb_arg;
};

static int64_t local_ns(const struct clock_sampler *s);
static int parse_server(struct source *src, const char *spec);
static void source_resolve(struct source *src);
static void dns_cb(int err, struct evutil_addrinfo *ai, void *arg);
static int source_open(struct source *src);
static void source_close(struct source *src);
static void source_schedule(struct source *src);
static void poll_cb(evutil_socket_t fd, short what, void *arg);
static void timeout_cb(evutil_socket_t fd, short what, void *arg);
static void read_cb(evutil_socket_t fd, short what, void *arg);
static void poll_done(struct source *src, bool answered);
static void process_reply(struct source *src, const uint8_t *buf, size_t len, int64_t t4);
static bool source_usable(struct source *src, int64_t now);
static void reselect(struct clock_sampler *s);
static void set_state(struct clock_sampler *s, enum clock_state st);
static void tv_ms(struct timeval *tv, uint32_t ms);

static int64_t
local_ns(const struct clock_sampler *s)
{
	return (int64_t)time_mono_ns() + s->base_ns;
}

static void
tv_ms(struct timeval *tv, uint32_t ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

void
clock_config_defaults(struct clock_config *c)
{
	memset(c, 0, sizeof(*c));
	c->poll_interval_ms = 16000;
	c->timeout_ms = 1000;
	c->burst = 4;
	c->burst_interval_ms = 250;
	c->max_missed = 3;
	c->max_sync_age_ms = 0;
	c->max_offset_ns = 500 * CLOCK_NS_PER_MS;
	c->kernel_timestamps = true;
}

const char *
clock_state_name(enum clock_state st)
{
	switch (st) {
	case CLOCK_UNSYNCHRONIZED: return "unsynchronized";
	case CLOCK_SYNCHRONIZED: return "synchronized";
	case CLOCK_ALARM: return "alarm";
	}
	return "?";
}

const char *
clock_source_state_name(enum clock_source_state st)
{
	static const char *const n[] = {
		"unresolved", "unreachable", "unusable", "denied",
		"falseticker", "outlier", "survivor", "syspeer"
	};

	return (unsigned)st < sizeof(n) / sizeof(n[0]) ? n[st] : "?";
}

/* "host", "host:port", "[v6]:port", "v6addr" (two or more colons: no port). */
static int
parse_server(struct source *src, const char *spec)
{
	const char *colon, *host = spec, *port = "123";
	size_t hlen;
	char *end;
	long p;

	if (!spec || !*spec || strlen(spec) >= CLOCK_NAME_LEN)
		return CLOCK_EINVAL;
	snprintf(src->name, sizeof(src->name), "%s", spec);
	if (spec[0] == '[') {
		colon = strchr(spec, ']');
		if (!colon)
			return CLOCK_EINVAL;
		host = spec + 1;
		hlen = (size_t)(colon - host);
		if (colon[1] == ':')
			port = colon + 2;
		else if (colon[1] != '\0')
			return CLOCK_EINVAL;
	} else {
		colon = strchr(spec, ':');
		if (colon && strchr(colon + 1, ':') == NULL) {
			hlen = (size_t)(colon - spec);
			port = colon + 1;
		} else {
			hlen = strlen(spec);
		}
	}
	if (hlen == 0 || hlen >= sizeof(src->host))
		return CLOCK_EINVAL;
	memcpy(src->host, host, hlen);
	src->host[hlen] = '\0';
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535)
		return CLOCK_EINVAL;
	snprintf(src->port, sizeof(src->port), "%ld", p);
	return CLOCK_OK;
}

struct clock_sampler *
clock_sampler_new(struct event_base *base, struct evdns_base *dns,
		  const struct clock_config *cfg)
{
	struct clock_sampler *s;
	size_t i;

	if (!base || !cfg || cfg->nservers == 0 || cfg->nservers > CLOCK_MAX_SOURCES ||
	    cfg->poll_interval_ms == 0 || cfg->timeout_ms == 0 || cfg->max_missed == 0 ||
	    cfg->max_missed > 8) {
		log_err("clock: invalid sampler configuration");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->dns = dns;
	s->cfg = *cfg;
	s->cfg.servers = NULL;
	if (s->cfg.max_sync_age_ms == 0)
		s->cfg.max_sync_age_ms = 8 * cfg->poll_interval_ms;
	if (s->cfg.burst_interval_ms == 0 || s->cfg.burst_interval_ms > cfg->poll_interval_ms)
		s->cfg.burst_interval_ms = cfg->poll_interval_ms;
	s->base_ns = time_real_ns() - (int64_t)time_mono_ns();
	s->sys_error = INT64_MAX;
	for (i = 0; i < cfg->nservers; i++) {
		struct source *src = &s->src[i];

		src->s = s;
		src->fd = -1;
		src->backoff = 1;
		src->state = CLOCK_SRC_UNRESOLVED;
		if (parse_server(src, cfg->servers[i]) != CLOCK_OK) {
			log_err("clock: bad server \"%s\" (want host[:port])",
				cfg->servers[i] ? cfg->servers[i] : "");
			s->n = (int)i;
			clock_sampler_free(s);
			return NULL;
		}
		src->filter = clock_filter_create();
		src->ev_poll = evtimer_new(base, poll_cb, src);
		src->ev_timeout = evtimer_new(base, timeout_cb, src);
	}
	s->n = (int)cfg->nservers;
	return s;
}

void
clock_sampler_set_state_cb(struct clock_sampler *s, clock_state_cb cb, void *arg)
{
	s->cb = cb;
	s->cb_arg = arg;
}

int
clock_sampler_start(struct clock_sampler *s)
{
	struct timeval tv;
	int i;

	for (i = 0; i < s->n; i++) {
		/* Stagger the first polls by 1 ms per source. */
		tv_ms(&tv, (uint32_t)i);
		evtimer_add(s->src[i].ev_poll, &tv);
	}
	return CLOCK_OK;
}

void
clock_sampler_free(struct clock_sampler *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		struct source *src = &s->src[i];

		if (src->dns) {
			/* evdns calls dns_cb later with EVUTIL_EAI_CANCEL; the
			 * ticket, no longer pointing at us, is freed there. */
			src->dns->src = NULL;
			if (src->dns->req)
				evdns_getaddrinfo_cancel(src->dns->req);
			src->dns = NULL;
		}
		source_close(src);
		if (src->ev_poll)
			event_free(src->ev_poll);
		if (src->ev_timeout)
			event_free(src->ev_timeout);
		clock_filter_destroy(src->filter);
	}
	free(s);
}

/* Names go through evdns, never getaddrinfo(3); numeric addresses are
 * parsed in place. */
static void
source_resolve(struct source *src)
{
	struct evutil_addrinfo hints;
	struct dns_ticket *t;
	struct evdns_getaddrinfo_request *req;
	int len = (int)sizeof(src->addr);
	char spec[CLOCK_NAME_LEN + 16];

	snprintf(spec, sizeof(spec), strchr(src->host, ':') ? "[%s]:%s" : "%s:%s",
		 src->host, src->port);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&src->addr, &len) == 0) {
		src->addrlen = (ev_socklen_t)len;
		src->resolved = true;
		return;
	}
	if (src->dns)
		return;    /* lookup in flight */
	if (!src->s->dns) {
		log_warn("clock: %s: not an address and no resolver", src->name);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	t = xcalloc(1, sizeof(*t));
	t->src = src;
	src->dns = t;
	req = evdns_getaddrinfo(src->s->dns, src->host, src->port, &hints, dns_cb, t);
	/* NULL: answered (and t freed) synchronously, e.g. from /etc/hosts. */
	if (req && src->dns == t)
		t->req = req;
}

static void
dns_cb(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct dns_ticket *t = arg;
	struct source *src = t->src;

	free(t);
	if (!src) {
		if (ai)
			evutil_freeaddrinfo(ai);
		return;
	}
	src->dns = NULL;
	if (err || !ai || ai->ai_addrlen > sizeof(src->addr)) {
		log_warn("clock: %s: cannot resolve: %s", src->name,
			 err ? evutil_gai_strerror(err) : "no address");
	} else {
		memcpy(&src->addr, ai->ai_addr, ai->ai_addrlen);
		src->addrlen = (ev_socklen_t)ai->ai_addrlen;
		src->resolved = true;
		log_debug("clock: %s resolved", src->name);
	}
	if (ai)
		evutil_freeaddrinfo(ai);
}

/* A connected UDP socket: the kernel drops datagrams from other addresses
 * and reports ICMP port-unreachable as ECONNREFUSED. */
static int
source_open(struct source *src)
{
	int on = 1;
	evutil_socket_t fd;

	fd = socket(src->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	if (connect(fd, (struct sockaddr *)&src->addr, src->addrlen) < 0)
		goto err_after_socket;
	if (src->s->cfg.kernel_timestamps &&
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0)
		log_debug("clock: %s: SO_TIMESTAMPNS: %s", src->name, strerror(errno));
	src->ev_read = event_new(src->s->base, fd, EV_READ | EV_PERSIST, read_cb, src);
	event_add(src->ev_read, NULL);
	src->fd = fd;
	return CLOCK_OK;
err_after_socket:
	close(fd);
err:
	log_warn("clock: %s: socket: %s", src->name, strerror(errno));
	return CLOCK_EINVAL;
}

static void
source_close(struct source *src)
{
	if (src->ev_read) {
		event_free(src->ev_read);
		src->ev_read = NULL;
	}
	if (src->fd >= 0) {
		close(src->fd);
		src->fd = -1;
	}
}

static void
source_schedule(struct source *src)
{
	struct timeval tv;
	uint64_t ms;

	if (src->denied)
		return;
	if (src->polls < src->s->cfg.burst && src->backoff == 1)
		ms = src->s->cfg.burst_interval_ms;
	else
		ms = (uint64_t)src->s->cfg.poll_interval_ms * src->backoff;
	if (ms > UINT32_MAX)
		ms = UINT32_MAX;
	tv_ms(&tv, (uint32_t)ms);
	evtimer_add(src->ev_poll, &tv);
}

/* The poll timer: one request per source per interval (RFC 4330 §5). */
static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source *src = arg;
	struct ntp_packet req;
	uint8_t buf[NTP_PACKET_LEN];
	struct timeval tv;
	uint64_t xmt;
	ssize_t n;

	(void)fd;
	(void)what;
	source_schedule(src);
	if (src->xmt)
		poll_done(src, false);    /* previous one still unanswered */
	if (!src->resolved) {
		source_resolve(src);
		if (!src->resolved) {
			reselect(src->s);
			return;
		}
	}
	if (src->fd < 0 && source_open(src) != CLOCK_OK) {
		reselect(src->s);
		return;
	}
	/* Random transmit timestamp (as chrony does): reveals nothing about
	 * our clock and makes the origin test a 64-bit nonce check.  T1 is
	 * kept locally. */
	do
		evutil_secure_rng_get_bytes(&xmt, sizeof(xmt));
	while (xmt == 0);
	ntp_request_init(&req, xmt);
	ntp_packet_encode(&req, buf);
	src->polls++;
	src->sent++;
	/* T1 as late as possible: right before the system call. */
	src->t1 = local_ns(src->s);
	n = send(src->fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)sizeof(buf)) {
		log_debug("clock: %s: send: %s", src->name, n < 0 ? strerror(errno) : "short");
		src->xmt = 0;
		poll_done(src, false);
		return;
	}
	src->xmt = xmt;
	tv_ms(&tv, src->s->cfg.timeout_ms);
	evtimer_add(src->ev_timeout, &tv);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source *src = arg;

	(void)fd;
	(void)what;
	if (!src->xmt)
		return;
	log_debug("clock: %s: no reply in %u ms", src->name, src->s->cfg.timeout_ms);
	src->xmt = 0;
	poll_done(src, false);
}

/* A poll ends, answered by a valid reply or not: shift the reach register
 * (RFC 5905 §9.2, A.5.4) and re-run selection. */
static void
poll_done(struct source *src, bool answered)
{
	src->reach = (uint8_t)(src->reach << 1 | (answered ? 1 : 0));
	if (!answered)
		src->xmt = 0;
	event_del(src->ev_timeout);
	reselect(src->s);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct source *src = arg;
	struct clock_sampler *s = src->s;
	uint8_t buf[512];
	union { char b[CMSG_SPACE(sizeof(struct timespec)) * 2]; struct cmsghdr a; } ctl;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	int64_t t4, kts;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 16; i++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		n = recvmsg(fd, &msg, 0);
		/* T4 as early as possible: right after the system call. */
		t4 = local_ns(s);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ECONNREFUSED: ICMP port unreachable, the server is
			 * down: end the poll now rather than at the timeout. */
			log_debug("clock: %s: recv: %s", src->name, strerror(errno));
			if (src->xmt)
				poll_done(src, false);
			return;
		}
		/* Better still: the kernel's receive timestamp (CLOCK_REALTIME),
		 * moved onto L. */
		kts = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				kts = (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec;
			}
		}
		if (kts) {
			int64_t r = time_real_ns(), k = kts + (local_ns(s) - r);

			/* Sanity: the kernel stamp precedes the read, by less
			 * than the timeout. */
			if (k <= t4 && t4 - k < (int64_t)s->cfg.timeout_ms * CLOCK_NS_PER_MS)
				t4 = k;
		}
		process_reply(src, buf, (size_t)n, t4);
		if (src->fd < 0)
			return;   /* closed (KoD DENY) */
	}
}

static void
process_reply(struct source *src, const uint8_t *buf, size_t len, int64_t t4)
{
	struct clock_sampler *s = src->s;
	struct ntp_packet r;
	struct ntp_sample smp;
	struct clock_filter_sample fs;
	enum ntp_kod kod;
	char tests[NTP_TESTS_STRLEN];
	unsigned failed;
	int64_t t2, t3;
	int rv;

	if (ntp_packet_decode(&r, buf, len) != CLOCK_OK)
		failed = NTP_TEST_F;
	else
		failed = ntp_check_reply(&r, src->xmt, src->last_xmt, &kod);
	src->last_tests = failed;
	if (failed & NTP_TESTS_INVALID) {
		/* Spoofed, stale or duplicate: ignore it and keep waiting for
		 * the genuine reply until the timeout. */
		log_debug("clock: %s: reply dropped, tests %s", src->name,
			  ntp_tests_str(failed, tests, sizeof(tests)));
		return;
	}
	/* Valid: it answers our request. */
	src->xmt = 0;
	src->last_xmt = r.transmit_ts;
	src->valid++;
	src->stratum = r.stratum;
	src->root_delay = ntp_short_to_ns(r.root_delay);
	src->root_disp = ntp_short_to_ns(r.root_disp);
	if (failed & NTP_TEST_4) {
		/* RFC 5905 §7.4: DENY/RSTR -> demobilize the association. */
		log_warn("clock: %s: kiss-o'-death DENY/RSTR, source dropped", src->name);
		src->denied = true;
		event_del(src->ev_poll);
		source_close(src);
		clock_filter_reset(src->filter);
		poll_done(src, true);
		return;
	}
	if (failed & NTP_TEST_K) {
		/* RATE: reduce the poll rate (double, up to MAX_BACKOFF). */
		if (src->backoff < MAX_BACKOFF)
			src->backoff *= 2;
		log_warn("clock: %s: kiss-o'-death RATE, poll now %llu ms", src->name,
			 (unsigned long long)s->cfg.poll_interval_ms * src->backoff);
		event_del(src->ev_poll);
		source_schedule(src);
	}
	if (failed) {
		log_debug("clock: %s: not usable, tests %s", src->name,
			  ntp_tests_str(failed, tests, sizeof(tests)));
		poll_done(src, true);
		return;
	}
	/* RFC 5905 §8: T2, T3 on the server's clock, the era chosen near T1. */
	t2 = ntp_ts_to_ns(r.receive_ts, src->t1);
	t3 = ntp_ts_to_ns(r.transmit_ts, src->t1);
	ntp_sample_compute(src->t1, t2, t3, t4, ntp_log2_to_ns(r.precision),
			   LOCAL_PRECISION_NS, &smp);
	fs.time = t4;
	fs.offset = smp.offset;
	fs.delay = smp.delay;
	fs.disp = smp.disp;
	rv = clock_filter_add(src->filter, &fs);
	if (rv == CLOCK_OK) {
		src->good++;
		src->last_good = t4;
		log_debug("clock: %s: offset %lld ns delay %lld ns", src->name,
			  (long long)smp.offset, (long long)smp.delay);
	}
	poll_done(src, true);
}

/* RFC 5905 A.5.5.2 fit(), adapted: reachable recently, a fresh good
 * sample, root distance under MAXDIST. */
static bool
source_usable(struct source *src, int64_t now)
{
	struct clock_sampler *s = src->s;
	uint8_t mask = (uint8_t)((1u << s->cfg.max_missed) - 1);

	if (src->denied) {
		src->state = CLOCK_SRC_DENIED;
		return false;
	}
	if (!src->resolved) {
		src->state = CLOCK_SRC_UNRESOLVED;
		return false;
	}
	if ((src->reach & mask) == 0) {
		src->state = CLOCK_SRC_UNREACHABLE;
		return false;
	}
	src->state = CLOCK_SRC_UNUSABLE;
	if (src->last_good == 0 ||
	    now - src->last_good > (int64_t)s->cfg.max_sync_age_ms * CLOCK_NS_PER_MS)
		return false;
	if (clock_filter_get(src->filter, now, &src->est) != CLOCK_OK)
		return false;
	/* The filter ages the dispersion to now: no extra PHI * age here. */
	src->distance = clock_root_distance(src->root_delay, src->root_disp, src->est.delay,
					    src->est.disp, src->est.jitter, 0);
	return src->distance < CLOCK_MAXDIST;
}

static void
reselect(struct clock_sampler *s)
{
	struct clock_candidate c[CLOCK_MAX_SOURCES];
	int map[CLOCK_MAX_SOURCES];
	struct clock_selection sel;
	int64_t now = local_ns(s), sys_vs_real;
	int i, n = 0;

	for (i = 0; i < s->n; i++) {
		struct source *src = &s->src[i];

		if (!source_usable(src, now))
			continue;
		c[n].offset = src->est.offset;
		c[n].distance = src->distance;
		c[n].jitter = src->est.jitter;
		c[n].stratum = src->stratum;
		map[n++] = i;
	}
	if (clock_select(c, n, &sel) != CLOCK_OK) {
		for (i = 0; i < n; i++)
			s->src[map[i]].state = CLOCK_SRC_FALSETICKER;
		s->nsurvivors = 0;
		set_state(s, CLOCK_UNSYNCHRONIZED);
		return;
	}
	for (i = 0; i < n; i++) {
		static const enum clock_source_state m[] = {
			[CLOCK_CAND_FALSETICKER] = CLOCK_SRC_FALSETICKER,
			[CLOCK_CAND_OUTLIER] = CLOCK_SRC_OUTLIER,
			[CLOCK_CAND_SURVIVOR] = CLOCK_SRC_SURVIVOR,
			[CLOCK_CAND_SYSPEER] = CLOCK_SRC_SYSPEER,
		};

		s->src[map[i]].state = m[c[i].status];
	}
	s->have_offset = true;
	s->sys_offset = sel.offset;
	s->sys_error = sel.error;
	s->sys_time = now;
	s->nsurvivors = sel.nsurvivors;
	sys_vs_real = now + sel.offset - time_real_ns();
	if (llabs(sys_vs_real) > s->cfg.max_offset_ns)
		set_state(s, CLOCK_ALARM);
	else
		set_state(s, CLOCK_SYNCHRONIZED);
}

static void
set_state(struct clock_sampler *s, enum clock_state st)
{
	enum clock_state old = s->state;

	if (old == st)
		return;
	s->state = st;
	if (st == CLOCK_UNSYNCHRONIZED)
		log_warn("clock: unsynchronized (no usable majority of servers)");
	else
		log_info("clock: %s, offset %lld ns, error %lld ns", clock_state_name(st),
			 (long long)s->sys_offset, (long long)s->sys_error);
	if (s->cb)
		s->cb(s->cb_arg, old, st);
}

enum clock_state
clock_sampler_state(const struct clock_sampler *s)
{
	return s->state;
}

int64_t
clock_now_ns(const struct clock_sampler *s, int64_t *error_ns)
{
	int64_t l = local_ns(s);

	if (!s->have_offset) {
		if (error_ns)
			*error_ns = INT64_MAX;
		return time_real_ns();
	}
	if (error_ns)
		*error_ns = s->sys_error + clock_phi(l - s->sys_time);
	return l + s->sys_offset;
}

void
clock_sampler_status(const struct clock_sampler *s, struct clock_status *st)
{
	int64_t l = local_ns(s), l_minus_real = l - time_real_ns();
	int i;

	memset(st, 0, sizeof(*st));
	st->state = s->state;
	st->offset_ns = s->have_offset ? s->sys_offset + l_minus_real : 0;
	clock_now_ns(s, &st->error_ns);
	st->nsurvivors = s->state == CLOCK_UNSYNCHRONIZED ? 0 : s->nsurvivors;
	st->nsources = s->n;
	for (i = 0; i < s->n; i++) {
		const struct source *src = &s->src[i];
		struct clock_source_status *o = &st->src[i];
		struct clock_filter_estimate e;

		snprintf(o->name, sizeof(o->name), "%s", src->name);
		o->state = src->state;
		if (clock_filter_get(src->filter, l, &e) == CLOCK_OK) {
			o->offset_ns = e.offset + l_minus_real;
			o->delay_ns = e.delay;
			o->disp_ns = e.disp;
			o->jitter_ns = e.jitter;
			o->distance_ns = clock_root_distance(src->root_delay, src->root_disp,
							     e.delay, e.disp, e.jitter, 0);
		}
		o->stratum = src->stratum;
		o->last_sync_age_ms = src->last_good ? (l - src->last_good) / CLOCK_NS_PER_MS : -1;
		o->reach = src->reach;
		o->last_tests = src->last_tests;
		o->poll_ms = (uint32_t)((uint64_t)s->cfg.poll_interval_ms * src->backoff);
		o->sent = src->sent;
		o->valid = src->valid;
		o->good = src->good;
	}
}
