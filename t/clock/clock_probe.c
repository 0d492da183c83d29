/* clock_probe: run the sampler against real servers on its own event_base
 * until every source has N good samples (or a deadline), then print one
 * line "state=S offset_ns=O error_ns=E good=G" and exit 0 if
 * synchronized (or alarm), 1 otherwise.  Used by t/clock/chrony.sh.
 *
 * usage: clock_probe [-t seconds] [-n samples] [-p poll_ms] host:port... */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/dns.h>

#include "clock/clock.h"
#include "clock/sampler.h"

struct probe {
	struct event_base *base;
	struct clock_sampler *s;
	unsigned want;
};

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct clock_status st;
	int i;

	(void)fd;
	(void)what;
	clock_sampler_status(p->s, &st);
	if (st.state == CLOCK_UNSYNCHRONIZED)
		return;
	for (i = 0; i < st.nsources; i++)
		if (st.src[i].good < p->want)
			return;
	event_base_loopbreak(p->base);
}

int
main(int argc, char **argv)
{
	struct clock_config cfg;
	struct clock_status st;
	struct probe p = { NULL, NULL, 8 };
	struct evdns_base *dns;
	struct event *ev;
	struct timeval tv = { 0, 20000 }, dl = { 10, 0 };
	unsigned long long good = 0;
	int c, i;

	clock_config_defaults(&cfg);
	cfg.poll_interval_ms = 100;
	cfg.burst_interval_ms = 100;
	cfg.timeout_ms = 500;
	while ((c = getopt(argc, argv, "t:n:p:")) != -1) {
		switch (c) {
		case 't': dl.tv_sec = atoi(optarg); break;
		case 'n': p.want = (unsigned)atoi(optarg); break;
		case 'p': cfg.poll_interval_ms = cfg.burst_interval_ms = (uint32_t)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: clock_probe [-t s] [-n samples] [-p poll_ms] server...\n");
			return 2;
		}
	}
	cfg.servers = (const char *const *)(argv + optind);
	cfg.nservers = (size_t)(argc - optind);
	p.base = event_base_new();
	dns = evdns_base_new(p.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	p.s = clock_sampler_new(p.base, dns, &cfg);
	if (!p.s)
		return 2;
	clock_sampler_start(p.s);
	ev = event_new(p.base, -1, EV_PERSIST, tick, &p);
	event_add(ev, &tv);
	event_base_loopexit(p.base, &dl);
	event_base_dispatch(p.base);
	clock_sampler_status(p.s, &st);
	for (i = 0; i < st.nsources; i++) {
		fprintf(stderr, "# %s %s stratum %d offset %lld delay %lld reach %03o\n",
			st.src[i].name, clock_source_state_name(st.src[i].state),
			st.src[i].stratum, (long long)st.src[i].offset_ns,
			(long long)st.src[i].delay_ns, st.src[i].reach);
		good += st.src[i].good;
	}
	printf("state=%s offset_ns=%lld error_ns=%lld good=%llu\n", clock_state_name(st.state),
	       (long long)st.offset_ns, (long long)st.error_ns, good);
	event_free(ev);
	clock_sampler_free(p.s);
	if (dns)
		evdns_base_free(dns, 1);
	event_base_free(p.base);
	return st.state == CLOCK_UNSYNCHRONIZED;
}
