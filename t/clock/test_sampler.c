/* Integration tests of the sampler on its own event_base, against fake
 * SNTP servers living in the same process and loop (UDP sockets on
 * 127.0.0.1): honest ones, a falseticker, and one per way a reply can be
 * wrong.  Every wait is bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/dns.h>

#include "unit/check_main.h"
#include "clock/clock.h"
#include "clock/ntp.h"
#include "clock/sampler.h"

#define MS CLOCK_NS_PER_MS

enum fake_mode {
	FAKE_HONEST, FAKE_WRONG_ORIGIN, FAKE_KOD_RATE, FAKE_KOD_DENY, FAKE_STRATUM0,
	FAKE_STRATUM16, FAKE_LEAP3, FAKE_ZERO_XMT, FAKE_BAD_MODE, FAKE_SILENT
};

struct fake {
	evutil_socket_t fd;
	struct event *ev;
	int port;
	enum fake_mode mode;
	int64_t shift;
	int requests;
	char spec[32];
};

static int64_t
now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * CLOCK_NS_PER_SEC + ts.tv_nsec;
}

static uint32_t
code(const char *s)
{
	return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | (uint32_t)s[3];
}

static void
fake_read(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	uint8_t buf[128];
	struct ntp_packet q, r;
	ssize_t n;
	int64_t t;

	(void)what;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	if (n < 0 || ntp_packet_decode(&q, buf, (size_t)n) != CLOCK_OK)
		return;
	f->requests++;
	if (f->mode == FAKE_SILENT)
		return;
	t = now_real() + f->shift;
	memset(&r, 0, sizeof(r));
	r.version = q.version;
	r.mode = NTP_MODE_SERVER;
	r.stratum = 3;
	r.precision = -20;
	r.root_delay = ntp_short_from_ns(1 * MS);
	r.root_disp = ntp_short_from_ns(1 * MS);
	r.refid = code("TEST");
	r.reference_ts = ntp_ts_from_ns(t - 1000 * MS);
	r.origin_ts = q.transmit_ts;
	r.receive_ts = ntp_ts_from_ns(t);
	r.transmit_ts = ntp_ts_from_ns(t + 20000);
	switch (f->mode) {
	case FAKE_WRONG_ORIGIN: r.origin_ts ^= 1; break;
	case FAKE_KOD_RATE: r.stratum = 0; r.refid = code("RATE"); break;
	case FAKE_KOD_DENY: r.stratum = 0; r.refid = code("DENY"); break;
	case FAKE_STRATUM0: r.stratum = 0; r.refid = code("INIT"); break;
	case FAKE_STRATUM16: r.stratum = 16; break;
	case FAKE_LEAP3: r.leap = NTP_LEAP_UNSYNC; break;
	case FAKE_ZERO_XMT: r.transmit_ts = 0; break;
	case FAKE_BAD_MODE: r.mode = NTP_MODE_SYM_PASSIVE; break;
	default: break;
	}
	ntp_packet_encode(&r, buf);
	sendto(fd, buf, NTP_PACKET_LEN, 0, (struct sockaddr *)&from, flen);
}

static struct fake *
fake_new(struct event_base *base, enum fake_mode mode, int64_t shift)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	ck_assert_ptr_nonnull(f);
	f->mode = mode;
	f->shift = shift;
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(f->fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(f->fd, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	snprintf(f->spec, sizeof(f->spec), "127.0.0.1:%d", f->port);
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, fake_read, f);
	event_add(f->ev, NULL);
	return f;
}

static void
fake_free(struct fake *f)
{
	if (!f)
		return;
	event_free(f->ev);
	close(f->fd);
	free(f);
}

/* A loopback port with nothing listening (bound, then closed). */
static int
dead_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* ---- bounded waiting on the loop ---- */

typedef int (*pred_fn)(struct clock_sampler *s, void *arg);

struct waiter {
	struct event_base *base;
	struct clock_sampler *s;
	pred_fn pred;
	void *arg;
	int met;
};

static void
waiter_tick(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;

	(void)fd;
	(void)what;
	if (w->pred(w->s, w->arg)) {
		w->met = 1;
		event_base_loopbreak(w->base);
	}
}

static int
run_until(struct event_base *base, struct clock_sampler *s, pred_fn pred, void *arg, int ms)
{
	struct waiter w = { base, s, pred, arg, 0 };
	struct event *tick = event_new(base, -1, EV_PERSIST, waiter_tick, &w);
	struct timeval tv = { 0, 10000 }, dl = { ms / 1000, (ms % 1000) * 1000 };

	event_add(tick, &tv);
	event_base_loopexit(base, &dl);
	event_base_dispatch(base);
	event_free(tick);
	/* Clear a pending loopexit. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return w.met;
}

static int
is_state(struct clock_sampler *s, void *arg)
{
	return clock_sampler_state(s) == *(enum clock_state *)arg;
}

static struct clock_config
fast_config(const char **servers, size_t n)
{
	struct clock_config c;

	clock_config_defaults(&c);
	c.servers = servers;
	c.nservers = n;
	c.poll_interval_ms = 100;
	c.burst_interval_ms = 50;
	c.timeout_ms = 200;
	return c;
}

/* Three honest servers and a falseticker 3 s off. */
static int
falseticker_found(struct clock_sampler *s, void *arg)
{
	struct clock_status st;
	int i, ok = 0;

	(void)arg;
	clock_sampler_status(s, &st);
	if (st.state != CLOCK_SYNCHRONIZED || st.src[3].state != CLOCK_SRC_FALSETICKER)
		return 0;
	/* All 8 filter stages full: the error bound is tight. */
	for (i = 0; i < 3; i++)
		if (st.src[i].good < 8)
			return 0;
	for (i = 0; i < 3; i++)
		ok += st.src[i].state == CLOCK_SRC_SURVIVOR || st.src[i].state == CLOCK_SRC_SYSPEER;
	return ok == 3;
}

START_TEST(test_falseticker)
{
	struct event_base *base = event_base_new();
	struct fake *f[4];
	const char *srv[4];
	struct clock_config cfg;
	struct clock_sampler *s;
	struct clock_status st;
	int64_t err, t;
	int i;

	for (i = 0; i < 4; i++) {
		f[i] = fake_new(base, FAKE_HONEST, i == 3 ? 3000 * MS : 0);
		srv[i] = f[i]->spec;
	}
	cfg = fast_config(srv, 4);
	s = clock_sampler_new(base, NULL, &cfg);
	ck_assert_ptr_nonnull(s);
	clock_sampler_start(s);
	ck_assert(run_until(base, s, falseticker_found, NULL, 5000));
	clock_sampler_status(s, &st);
	ck_assert_int_eq(st.nsurvivors, 3);
	ck_assert_int_lt(llabs(st.offset_ns), 1 * MS);
	ck_assert_int_lt(st.error_ns, 100 * MS);
	ck_assert_int_lt(llabs(st.src[3].offset_ns - 3000 * MS), 1 * MS);
	ck_assert_int_eq(st.src[0].stratum, 3);
	ck_assert_int_ge(st.src[0].last_sync_age_ms, 0);
	ck_assert_int_lt(st.src[0].last_sync_age_ms, 1000);
	ck_assert_uint_ne(st.src[0].reach, 0);
	t = clock_now_ns(s, &err);
	ck_assert_int_lt(llabs(t - now_real()), 1 * MS);
	ck_assert_int_lt(err, 100 * MS);
	clock_sampler_free(s);
	for (i = 0; i < 4; i++)
		fake_free(f[i]);
	event_base_free(base);
}
END_TEST

/* All servers 1.5 s ahead: the offset is measured (and the alarm raised,
 * max offset 500 ms) -- the system clock is never touched. */
START_TEST(test_shift_alarm)
{
	struct event_base *base = event_base_new();
	struct fake *f[3];
	const char *srv[3];
	struct clock_config cfg;
	struct clock_sampler *s;
	struct clock_status st;
	enum clock_state want = CLOCK_ALARM;
	int i;

	for (i = 0; i < 3; i++) {
		f[i] = fake_new(base, FAKE_HONEST, 1500 * MS);
		srv[i] = f[i]->spec;
	}
	cfg = fast_config(srv, 3);
	s = clock_sampler_new(base, NULL, &cfg);
	clock_sampler_start(s);
	ck_assert(run_until(base, s, is_state, &want, 5000));
	clock_sampler_status(s, &st);
	ck_assert_int_lt(llabs(st.offset_ns - 1500 * MS), 1 * MS);
	ck_assert_int_lt(llabs(clock_now_ns(s, NULL) - now_real() - 1500 * MS), 1 * MS);
	clock_sampler_free(s);
	for (i = 0; i < 3; i++)
		fake_free(f[i]);
	event_base_free(base);
}
END_TEST

/* One honest server among one of each misbehaving kind. */
static const enum fake_mode bad_modes[] = {
	FAKE_WRONG_ORIGIN, FAKE_KOD_RATE, FAKE_KOD_DENY, FAKE_STRATUM0, FAKE_STRATUM16,
	FAKE_LEAP3, FAKE_ZERO_XMT, FAKE_BAD_MODE
};
#define NBAD (sizeof(bad_modes) / sizeof(bad_modes[0]))

static int
settled(struct clock_sampler *s, void *arg)
{
	struct clock_status st;
	size_t i;

	(void)arg;
	clock_sampler_status(s, &st);
	if (st.state != CLOCK_SYNCHRONIZED || st.src[0].state != CLOCK_SRC_SYSPEER)
		return 0;
	for (i = 1; i <= NBAD; i++)
		if (st.src[i].sent < 3 && bad_modes[i - 1] != FAKE_KOD_DENY &&
		    bad_modes[i - 1] != FAKE_KOD_RATE)
			return 0;
	return st.src[0].good >= 6;
}

START_TEST(test_misbehaving)
{
	struct event_base *base = event_base_new();
	struct fake *f[NBAD + 1];
	const char *srv[NBAD + 1];
	struct clock_config cfg;
	struct clock_sampler *s;
	struct clock_status st;
	char buf[NTP_TESTS_STRLEN];
	size_t i;
	int deny_requests;

	f[0] = fake_new(base, FAKE_HONEST, 0);
	srv[0] = f[0]->spec;
	for (i = 0; i < NBAD; i++) {
		f[i + 1] = fake_new(base, bad_modes[i], 0);
		srv[i + 1] = f[i + 1]->spec;
	}
	cfg = fast_config(srv, NBAD + 1);
	s = clock_sampler_new(base, NULL, &cfg);
	clock_sampler_start(s);
	ck_assert(run_until(base, s, settled, NULL, 5000));
	clock_sampler_status(s, &st);
	for (i = 0; i <= NBAD; i++)
		fprintf(stderr, "# %-16s %-12s tests %s sent %llu valid %llu good %llu poll %u\n",
			st.src[i].name, clock_source_state_name(st.src[i].state),
			ntp_tests_str(st.src[i].last_tests, buf, sizeof(buf)),
			(unsigned long long)st.src[i].sent, (unsigned long long)st.src[i].valid,
			(unsigned long long)st.src[i].good, st.src[i].poll_ms);
	ck_assert_int_lt(llabs(st.offset_ns), 1 * MS);
	ck_assert_int_eq(st.nsurvivors, 1);
	/* Wrong origin: test 2, never a valid reply -> unreachable. */
	ck_assert_uint_eq(st.src[1].last_tests & NTP_TEST_2, NTP_TEST_2);
	ck_assert_int_eq(st.src[1].state, CLOCK_SRC_UNREACHABLE);
	ck_assert_uint_eq(st.src[1].valid, 0);
	/* KoD RATE: poll interval doubled, not used. */
	ck_assert_uint_eq(st.src[2].last_tests & NTP_TEST_K, NTP_TEST_K);
	ck_assert_uint_ge(st.src[2].poll_ms, 2 * cfg.poll_interval_ms);
	ck_assert_int_eq(st.src[2].state, CLOCK_SRC_UNUSABLE);
	ck_assert_uint_eq(st.src[2].good, 0);
	/* KoD DENY: dropped after its first reply. */
	ck_assert_int_eq(st.src[3].state, CLOCK_SRC_DENIED);
	ck_assert_uint_eq(st.src[3].sent, 1);
	deny_requests = f[3]->requests;
	/* Stratum 0, 16, leap 3: test 6. */
	for (i = 4; i <= 6; i++) {
		ck_assert_uint_eq(st.src[i].last_tests, NTP_TEST_6);
		ck_assert_int_eq(st.src[i].state, CLOCK_SRC_UNUSABLE);
		ck_assert_uint_eq(st.src[i].good, 0);
		ck_assert_uint_gt(st.src[i].valid, 0);
	}
	/* Zero transmit timestamp: test 3; bad mode: format. */
	ck_assert_uint_eq(st.src[7].last_tests & NTP_TEST_3, NTP_TEST_3);
	ck_assert_int_eq(st.src[7].state, CLOCK_SRC_UNREACHABLE);
	ck_assert_uint_eq(st.src[8].last_tests & NTP_TEST_F, NTP_TEST_F);
	ck_assert_int_eq(st.src[8].state, CLOCK_SRC_UNREACHABLE);
	/* The denied source is never polled again. */
	run_until(base, s, settled, NULL, 0);
	{
		enum clock_state never = CLOCK_ALARM;

		run_until(base, s, is_state, &never, 300);
	}
	ck_assert_int_eq(f[3]->requests, deny_requests);
	clock_sampler_free(s);
	for (i = 0; i <= NBAD; i++)
		fake_free(f[i]);
	event_base_free(base);
}
END_TEST

/* Nothing answers: unsynchronized, the loop keeps turning. */
static int
all_unreachable(struct clock_sampler *s, void *arg)
{
	struct clock_status st;
	int i;

	(void)arg;
	clock_sampler_status(s, &st);
	for (i = 0; i < st.nsources; i++)
		if (st.src[i].state != CLOCK_SRC_UNREACHABLE || st.src[i].sent < 3)
			return 0;
	return st.state == CLOCK_UNSYNCHRONIZED;
}

START_TEST(test_all_down)
{
	struct event_base *base = event_base_new();
	struct fake *silent = fake_new(base, FAKE_SILENT, 0);
	char d1[32], d2[32];
	const char *srv[3] = { d1, d2, silent->spec };
	struct clock_config cfg;
	struct clock_sampler *s;
	int64_t err, t0 = now_real(), took;

	snprintf(d1, sizeof(d1), "127.0.0.1:%d", dead_port());
	snprintf(d2, sizeof(d2), "127.0.0.1:%d", dead_port());
	cfg = fast_config(srv, 3);
	s = clock_sampler_new(base, NULL, &cfg);
	clock_sampler_start(s);
	ck_assert(run_until(base, s, all_unreachable, NULL, 3000));
	took = now_real() - t0;
	/* 3 polls at burst spacing plus a timeout, with slack. */
	ck_assert_int_lt(took, 2000 * MS);
	ck_assert_int_eq(clock_sampler_state(s), CLOCK_UNSYNCHRONIZED);
	ck_assert_int_lt(llabs(clock_now_ns(s, &err) - now_real()), 1 * MS);
	ck_assert_int_eq(err, INT64_MAX);
	clock_sampler_free(s);
	fake_free(silent);
	event_base_free(base);
}
END_TEST

/* Synchronized, then every server dies: unsynchronized again within
 * max_missed polls plus a timeout; the corrected clock holds over. */
START_TEST(test_servers_die)
{
	struct event_base *base = event_base_new();
	struct fake *f[3];
	const char *srv[3];
	struct clock_config cfg;
	struct clock_sampler *s;
	enum clock_state want = CLOCK_SYNCHRONIZED;
	int64_t err, t0, took;
	int i;

	for (i = 0; i < 3; i++) {
		f[i] = fake_new(base, FAKE_HONEST, 0);
		srv[i] = f[i]->spec;
	}
	cfg = fast_config(srv, 3);
	s = clock_sampler_new(base, NULL, &cfg);
	clock_sampler_start(s);
	ck_assert(run_until(base, s, is_state, &want, 5000));
	for (i = 0; i < 3; i++)
		fake_free(f[i]);
	t0 = now_real();
	want = CLOCK_UNSYNCHRONIZED;
	ck_assert(run_until(base, s, is_state, &want, 3000));
	took = now_real() - t0;
	ck_assert_int_lt(took, (int64_t)(cfg.max_missed + 1) * cfg.poll_interval_ms * MS +
			 cfg.timeout_ms * MS + 500 * MS);
	ck_assert_int_lt(llabs(clock_now_ns(s, &err) - now_real()), 1 * MS);
	ck_assert_int_lt(err, CLOCK_MAXDIST);
	clock_sampler_free(s);
	event_base_free(base);
}
END_TEST

/* A name resolved through evdns (from a hosts file). */
START_TEST(test_evdns_name)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct fake *f = fake_new(base, FAKE_HONEST, 250 * MS);
	char hosts[] = "/tmp/rcfs-clock-hosts.XXXXXX", spec[64];
	const char *srv[1] = { spec };
	struct clock_config cfg;
	struct clock_sampler *s;
	struct clock_status st;
	enum clock_state want = CLOCK_SYNCHRONIZED;
	int fd = mkstemp(hosts);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd, "127.0.0.1 ntp.rcfs.test\n", 24), 0);
	close(fd);
	ck_assert_int_eq(evdns_base_load_hosts(dns, hosts), 0);
	unlink(hosts);
	snprintf(spec, sizeof(spec), "ntp.rcfs.test:%d", f->port);
	cfg = fast_config(srv, 1);
	s = clock_sampler_new(base, dns, &cfg);
	clock_sampler_start(s);
	ck_assert(run_until(base, s, is_state, &want, 5000));
	clock_sampler_status(s, &st);
	ck_assert_int_lt(llabs(st.offset_ns - 250 * MS), 1 * MS);
	ck_assert_str_eq(st.src[0].name, spec);
	clock_sampler_free(s);
	fake_free(f);
	evdns_base_free(dns, 1);
	event_base_free(base);
}
END_TEST

START_TEST(test_bad_config)
{
	struct event_base *base = event_base_new();
	const char *bad[] = { "127.0.0.1:0", "host:99999", ":123", "[::1", "" };
	const char *good[] = { "[::1]:123", "::1", "ntp.example:4123", "10.0.0.1" };
	struct clock_config cfg;
	struct clock_sampler *s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = fast_config(&bad[i], 1);
		ck_assert_ptr_null(clock_sampler_new(base, NULL, &cfg));
	}
	cfg = fast_config(good, 4);
	s = clock_sampler_new(base, NULL, &cfg);
	ck_assert_ptr_nonnull(s);
	clock_sampler_free(s);
	cfg = fast_config(good, 0);
	ck_assert_ptr_null(clock_sampler_new(base, NULL, &cfg));
	cfg = fast_config(good, 4);
	cfg.poll_interval_ms = 0;
	ck_assert_ptr_null(clock_sampler_new(base, NULL, &cfg));
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("clock-sampler");
	TCase *tc = tcase_create("sampler");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_falseticker);
	tcase_add_test(tc, test_shift_alarm);
	tcase_add_test(tc, test_misbehaving);
	tcase_add_test(tc, test_all_down);
	tcase_add_test(tc, test_servers_die);
	tcase_add_test(tc, test_evdns_name);
	suite_add_tcase(s, tc);
	return check_run(s);
}
