/* delayproxy: a TCP proxy that delays bytes, for latency faults in the chaos
 * tests (the kernel here has no netem; docs/chaos.md "Latency").
 *
 *   delayproxy [-c CONTROL] [-p PORTFILE] [-s SEED] [-v] LINK...
 *     LINK      NAME=LISTEN_HOST:PORT>TARGET_HOST:PORT   (numeric addresses;
 *               PORT 0 in LISTEN picks a free port)
 *     -p FILE   once every link listens, write "NAME HOST:PORT" lines to FILE
 *               (atomically: a temporary file renamed), so a script can wait for it
 *     -c FILE   delays, read at start and again on SIGHUP; one line per setting:
 *                   NAME up|down DELAY_MS [JITTER_MS]
 *               NAME "*" means every link.  A reload first resets every link to
 *               no delay, so an empty file heals everything.
 *     -s SEED   seed of the jitter PRNG (splitmix64)
 *
 * Every accepted connection on a link gets its own connection to the
 * target.  "up" is the direction client -> target, "down" target -> client.
 * Each chunk of bytes read in a direction is released to the other side at
 * max(now + delay + uniform[0, jitter], release time of the previous chunk
 * in that direction): order is preserved, a lowered delay never overtakes
 * bytes already queued.  Bytes are forwarded unchanged (framing, MACs and
 * handshakes pass through).  Past PROXY_HIGH_WATER queued bytes a direction
 * stops reading its source until the queue drains (TCP backpressure).
 * If the target refuses, or either side closes or fails, the pair is closed
 * once the bytes already queued towards the open side are written.
 * SIGTERM/SIGINT exit cleanly (everything freed, for LeakSanitizer).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "util/xmalloc.h"

#define PROXY_MAX_LINKS 64
#define PROXY_HIGH_WATER (4u << 20)     /* bytes queued per direction before reading pauses */

enum proxy_dir { PROXY_UP, PROXY_DOWN };

/* Delay of one direction of a link, milliseconds. */
struct proxy_delay {
	uint32_t delay_ms;
	uint32_t jitter_ms;
};

/* One listening address forwarding to one target. */
struct proxy_link {
	char name[32];
	char listen_spec[64];
	struct sockaddr_storage target;
	int target_len;
	struct evconnlistener *listener;
	struct proxy_delay delay[2];    /* [PROXY_UP], [PROXY_DOWN] */
	uint64_t accepted;
};

/* A delayed chunk: its bytes, and when they may be written. */
struct proxy_chunk {
	uint64_t release_us;            /* CLOCK_MONOTONIC, microseconds */
	struct evbuffer *buf;
	TAILQ_ENTRY(proxy_chunk) entry;
};
TAILQ_HEAD(proxy_chunk_list, proxy_chunk);

struct proxy_pair;

/* One direction of a proxied connection: bytes read from `from`, queued,
 * written to `to` when due. */
struct proxy_half {
	struct proxy_pair *pair;
	enum proxy_dir dir;
	struct bufferevent *from, *to;
	struct proxy_chunk_list queue;
	size_t queued;                  /* bytes in queue */
	uint64_t last_release_us;
	struct event *timer;
	bool eof;                       /* `from` closed: nothing more will come */
	bool paused;                    /* reading `from` stopped (backpressure) */
};

/* An accepted client connection and its connection to the target. */
struct proxy_pair {
	struct proxy_link *link;
	uint64_t serial;
	struct bufferevent *client, *target;
	struct proxy_half half[2];
	bool closing;                   /* flush what is queued towards the open side, then free */
	LIST_ENTRY(proxy_pair) entry;
};

static struct event_base *base;
static struct proxy_link links[PROXY_MAX_LINKS];
static unsigned nlinks;
static LIST_HEAD(, proxy_pair) pairs = LIST_HEAD_INITIALIZER(pairs);
static const char *control_path;
static uint64_t rng_state;
static int verbose;

static void proxy_usage(void) __attribute__((noreturn));
static uint64_t proxy_now_us(void);
static uint64_t proxy_rand(void);
static int proxy_parse_addr(const char *spec, struct sockaddr_storage *ss, int *len);
static int proxy_parse_link(const char *spec, struct proxy_link *l);
static int proxy_load_control(const char *path);
static int proxy_write_ports(const char *path);
static void proxy_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg);
static void proxy_read_cb(struct bufferevent *bev, void *arg);
static void proxy_write_cb(struct bufferevent *bev, void *arg);
static void proxy_event_cb(struct bufferevent *bev, short what, void *arg);
static void proxy_timer_cb(evutil_socket_t fd, short what, void *arg);
static void proxy_half_schedule(struct proxy_half *h);
static void proxy_half_flow(struct proxy_half *h);
static void proxy_pair_check_done(struct proxy_pair *p);
static void proxy_pair_free(struct proxy_pair *p);
static void proxy_signal_cb(evutil_socket_t sig, short what, void *arg);

static void
proxy_usage(void)
{
	fprintf(stderr, "usage: delayproxy [-c CONTROL] [-p PORTFILE] [-s SEED] [-v] "
	    "NAME=LISTEN_HOST:PORT>TARGET_HOST:PORT ...\n");
	exit(2);
}

static uint64_t
proxy_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64 (Steele, Lea, Flood 2014). */
static uint64_t
proxy_rand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* "A.B.C.D:PORT" or "[v6]:PORT", numeric, PORT 0..65535 (libevent's parser
 * refuses port 0, which a listener needs). */
static int
proxy_parse_addr(const char *spec, struct sockaddr_storage *ss, int *len)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	char *end;
	unsigned long port;
	size_t hl;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port > 65535)
		return -1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']')
		spec++, hl -= 2;
	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof *ss);
	if (evutil_inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = (int)sizeof *sin;
	} else if (evutil_inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = (int)sizeof *sin6;
	} else {
		return -1;
	}
	return 0;
}

/* NAME=LISTEN>TARGET; returns 0, or -1 with a message on stderr. */
static int
proxy_parse_link(const char *spec, struct proxy_link *l)
{
	const char *eq = strchr(spec, '='), *gt = strchr(spec, '>');
	char target[64];

	if (eq == NULL || gt == NULL || gt < eq || eq == spec || (size_t)(eq - spec) >= sizeof l->name ||
	    (size_t)(gt - eq - 1) >= sizeof l->listen_spec || strlen(gt + 1) >= sizeof target) {
		fprintf(stderr, "delayproxy: bad link '%s' (NAME=HOST:PORT>HOST:PORT)\n", spec);
		return -1;
	}
	memset(l, 0, sizeof *l);
	memcpy(l->name, spec, (size_t)(eq - spec));
	memcpy(l->listen_spec, eq + 1, (size_t)(gt - eq - 1));
	strcpy(target, gt + 1);
	if (proxy_parse_addr(target, &l->target, &l->target_len) != 0) {
		fprintf(stderr, "delayproxy: link %s: bad target '%s'\n", l->name, target);
		return -1;
	}
	return 0;
}

/* Reset every delay, then apply the control file's lines.  A missing file
 * means no delay.  Returns 0, or -1 if a line is malformed (the lines before
 * it stay applied; the error is logged). */
static int
proxy_load_control(const char *path)
{
	FILE *f;
	char line[256], name[64], dir[16];
	unsigned lineno = 0, d, j, i, applied = 0;
	int n, rc = 0;

	for (i = 0; i < nlinks; i++)
		memset(links[i].delay, 0, sizeof links[i].delay);
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		j = 0;
		n = sscanf(line, "%63s %15s %u %u", name, dir, &d, &j);
		if (n < 3 || (strcmp(dir, "up") != 0 && strcmp(dir, "down") != 0) || d > 600000 ||
		    j > 600000) {
			fprintf(stderr, "delayproxy: %s:%u: expected NAME up|down DELAY_MS [JITTER_MS]\n",
			    path, lineno);
			rc = -1;
			break;
		}
		for (i = 0; i < nlinks; i++) {
			if (strcmp(name, "*") != 0 && strcmp(name, links[i].name) != 0)
				continue;
			links[i].delay[dir[0] == 'u' ? PROXY_UP : PROXY_DOWN] =
			    (struct proxy_delay){ .delay_ms = d, .jitter_ms = j };
			applied++;
		}
	}
	fclose(f);
	if (verbose || applied > 0)
		fprintf(stderr, "delayproxy: control %s: %u link direction(s) delayed\n", path, applied);
	return rc;
}

static int
proxy_write_ports(const char *path)
{
	char tmp[4096], host[64];
	struct sockaddr_storage ss;
	socklen_t len;
	FILE *f;
	unsigned i;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp || (f = fopen(tmp, "w")) == NULL)
		return -1;
	for (i = 0; i < nlinks; i++) {
		len = sizeof ss;
		if (getsockname(evconnlistener_get_fd(links[i].listener), (struct sockaddr *)&ss, &len) != 0)
			break;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
			fprintf(f, "%s %s:%u\n", links[i].name, host, ntohs(sin->sin_port));
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
			fprintf(f, "%s [%s]:%u\n", links[i].name, host, ntohs(sin6->sin6_port));
		}
	}
	if (fclose(f) != 0 || i < nlinks || rename(tmp, path) != 0)
		return -1;
	return 0;
}

static void
proxy_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct proxy_link *l = arg;
	struct proxy_pair *p;
	int one = 1;

	(void)lis, (void)sa, (void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	p = xcalloc(1, sizeof *p);
	p->link = l;
	p->serial = ++l->accepted;
	p->client = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	p->target = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	for (int d = PROXY_UP; d <= PROXY_DOWN; d++) {
		struct proxy_half *h = &p->half[d];
		h->pair = p;
		h->dir = (enum proxy_dir)d;
		h->from = d == PROXY_UP ? p->client : p->target;
		h->to = d == PROXY_UP ? p->target : p->client;
		TAILQ_INIT(&h->queue);
		h->timer = evtimer_new(base, proxy_timer_cb, h);
		bufferevent_setcb(h->from, proxy_read_cb, proxy_write_cb, proxy_event_cb, p);
	}
	LIST_INSERT_HEAD(&pairs, p, entry);
	bufferevent_enable(p->client, EV_READ | EV_WRITE);
	bufferevent_enable(p->target, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(p->target, (struct sockaddr *)&l->target, l->target_len) != 0) {
		if (verbose)
			fprintf(stderr, "delayproxy: %s#%" PRIu64 ": connect failed at once\n", l->name, p->serial);
		proxy_pair_free(p);
		return;
	}
	if (verbose)
		fprintf(stderr, "delayproxy: %s#%" PRIu64 ": accepted\n", l->name, p->serial);
}

/* Bytes arrived on one side: queue them, due after this direction's delay. */
static void
proxy_read_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_pair *p = arg;
	struct proxy_half *h = &p->half[bev == p->client ? PROXY_UP : PROXY_DOWN];
	const struct proxy_delay *dl = &p->link->delay[h->dir];
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proxy_chunk *c;
	uint64_t release;
	size_t len = evbuffer_get_length(in);

	if (len == 0 || p->closing)
		return;
	release = proxy_now_us() + (uint64_t)dl->delay_ms * 1000u;
	if (dl->jitter_ms > 0)
		release += proxy_rand() % ((uint64_t)dl->jitter_ms * 1000u + 1);
	if (release < h->last_release_us)
		release = h->last_release_us;   /* never overtake queued bytes */
	h->last_release_us = release;
	c = xcalloc(1, sizeof *c);
	c->release_us = release;
	c->buf = evbuffer_new();
	evbuffer_add_buffer(c->buf, in);
	TAILQ_INSERT_TAIL(&h->queue, c, entry);
	h->queued += len;
	proxy_half_flow(h);
	proxy_half_schedule(h);
}

/* An output buffer drained: the direction writing into it may read again. */
static void
proxy_write_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_pair *p = arg;

	proxy_half_flow(&p->half[bev == p->target ? PROXY_UP : PROXY_DOWN]);
	proxy_pair_check_done(p);
}

static void
proxy_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_pair *p = arg;
	struct proxy_half *h = &p->half[bev == p->client ? PROXY_UP : PROXY_DOWN];

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (verbose)
		fprintf(stderr, "delayproxy: %s#%" PRIu64 ": %s %s\n", p->link->name, p->serial,
		    bev == p->client ? "client" : "target",
		    (what & BEV_EVENT_EOF) ? "closed" : "failed");
	/* Whatever was read before the close still goes out, delayed; bytes
	 * towards a failed side are dropped with it. */
	proxy_read_cb(bev, p);
	h->eof = true;
	bufferevent_disable(bev, EV_READ);
	if (what & BEV_EVENT_ERROR) {
		struct proxy_half *towards = &p->half[h->dir == PROXY_UP ? PROXY_DOWN : PROXY_UP];
		struct proxy_chunk *c;
		while ((c = TAILQ_FIRST(&towards->queue)) != NULL) {
			TAILQ_REMOVE(&towards->queue, c, entry);
			evbuffer_free(c->buf);
			free(c);
		}
		towards->queued = 0;
		evbuffer_drain(bufferevent_get_output(bev), evbuffer_get_length(bufferevent_get_output(bev)));
	}
	p->closing = true;
	proxy_pair_check_done(p);
}

/* Write every chunk that is due, then wait for the next one. */
static void
proxy_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_half *h = arg;
	struct proxy_pair *p = h->pair;
	struct proxy_chunk *c;
	uint64_t now = proxy_now_us();

	(void)fd, (void)what;
	while ((c = TAILQ_FIRST(&h->queue)) != NULL && c->release_us <= now) {
		TAILQ_REMOVE(&h->queue, c, entry);
		h->queued -= evbuffer_get_length(c->buf);
		evbuffer_add_buffer(bufferevent_get_output(h->to), c->buf);
		evbuffer_free(c->buf);
		free(c);
	}
	proxy_half_schedule(h);
	proxy_half_flow(h);
	proxy_pair_check_done(p);
}

static void
proxy_half_schedule(struct proxy_half *h)
{
	struct proxy_chunk *c = TAILQ_FIRST(&h->queue);
	struct timeval tv;
	uint64_t now, wait;

	if (c == NULL || evtimer_pending(h->timer, NULL))
		return;
	now = proxy_now_us();
	wait = c->release_us > now ? c->release_us - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000u);
	tv.tv_usec = (suseconds_t)(wait % 1000000u);
	evtimer_add(h->timer, &tv);
}

/* Backpressure: stop reading a direction's source while too much waits. */
static void
proxy_half_flow(struct proxy_half *h)
{
	size_t waiting = h->queued + evbuffer_get_length(bufferevent_get_output(h->to));

	if (!h->paused && waiting > PROXY_HIGH_WATER) {
		bufferevent_disable(h->from, EV_READ);
		h->paused = true;
	} else if (h->paused && waiting <= PROXY_HIGH_WATER / 2) {
		h->paused = false;
		if (!h->eof)
			bufferevent_enable(h->from, EV_READ);
	}
}

/* A closing pair is freed when nothing is left to write to a side that is
 * still open. */
static void
proxy_pair_check_done(struct proxy_pair *p)
{
	for (int d = PROXY_UP; d <= PROXY_DOWN; d++) {
		struct proxy_half *h = &p->half[d];
		struct proxy_half *back = &p->half[d == PROXY_UP ? PROXY_DOWN : PROXY_UP];
		if (!p->closing)
			return;
		/* h->to is open if the other direction has not seen it close */
		if (!back->eof && (h->queued > 0 || evbuffer_get_length(bufferevent_get_output(h->to)) > 0))
			return;
	}
	proxy_pair_free(p);
}

static void
proxy_pair_free(struct proxy_pair *p)
{
	struct proxy_chunk *c;

	if (verbose)
		fprintf(stderr, "delayproxy: %s#%" PRIu64 ": done\n", p->link->name, p->serial);
	LIST_REMOVE(p, entry);
	for (int d = PROXY_UP; d <= PROXY_DOWN; d++) {
		struct proxy_half *h = &p->half[d];
		while ((c = TAILQ_FIRST(&h->queue)) != NULL) {
			TAILQ_REMOVE(&h->queue, c, entry);
			evbuffer_free(c->buf);
			free(c);
		}
		event_free(h->timer);
	}
	bufferevent_free(p->client);
	bufferevent_free(p->target);
	free(p);
}

static void
proxy_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what, (void)arg;
	if (sig == SIGHUP)
		proxy_load_control(control_path);
	else
		event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	const char *portfile = NULL;
	struct event *sigs[3];
	const int signums[3] = { SIGHUP, SIGTERM, SIGINT };
	struct proxy_pair *p;
	int opt, i;

	rng_state = 1;
	while ((opt = getopt(argc, argv, "c:p:s:v")) != -1) {
		switch (opt) {
		case 'c': control_path = optarg; break;
		case 'p': portfile = optarg; break;
		case 's': rng_state = strtoull(optarg, NULL, 0); break;
		case 'v': verbose++; break;
		default: proxy_usage();
		}
	}
	if (optind >= argc || argc - optind > PROXY_MAX_LINKS)
		proxy_usage();
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "delayproxy: event_base_new failed\n");
		return 1;
	}
	for (i = optind; i < argc; i++) {
		struct proxy_link *l = &links[nlinks];
		struct sockaddr_storage ss;
		int sslen;
		if (proxy_parse_link(argv[i], l) != 0)
			return 2;
		if (proxy_parse_addr(l->listen_spec, &ss, &sslen) != 0) {
			fprintf(stderr, "delayproxy: link %s: bad listen address '%s'\n", l->name, l->listen_spec);
			return 2;
		}
		l->listener = evconnlistener_new_bind(base, proxy_accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
		    (struct sockaddr *)&ss, sslen);
		if (l->listener == NULL) {
			fprintf(stderr, "delayproxy: link %s: cannot listen on %s: %s\n", l->name, l->listen_spec,
			    strerror(errno));
			return 1;
		}
		nlinks++;
	}
	if (proxy_load_control(control_path) != 0)
		return 2;
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signums[i], proxy_signal_cb, NULL);
		event_add(sigs[i], NULL);
	}
	if (portfile != NULL && proxy_write_ports(portfile) != 0) {
		fprintf(stderr, "delayproxy: cannot write %s: %s\n", portfile, strerror(errno));
		return 1;
	}
	event_base_dispatch(base);
	while ((p = LIST_FIRST(&pairs)) != NULL)
		proxy_pair_free(p);
	for (unsigned k = 0; k < nlinks; k++)
		evconnlistener_free(links[k].listener);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(base);
	return 0;
}
