/* The NTP sampler: polls SNTP servers from the node's libevent loop and
 * keeps a corrected wall clock.  Never blocks (non-blocking UDP sockets,
 * evdns for names) and never steps or slews the system clock: it exposes
 * CLOCK_REALTIME + offset through clock_now_ns() and a status.
 *
 * Pipeline per source (docs/clock.md): poll timer -> request with a random
 * transmit timestamp -> reply tests (ntp.h) -> RFC 5905 §8 sample ->
 * clock filter (filter.h); then across sources: selection, cluster and
 * combine (select.h) -> system offset and error bound. */
#ifndef RCFS_CLOCK_SAMPLER_H
#define RCFS_CLOCK_SAMPLER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/dns.h>

#include "clock/select.h"

#define CLOCK_MAX_SOURCES 16
#define CLOCK_NAME_LEN 128

/* Configuration knobs (units in the names).  clock_config_defaults() fills
 * the defaults given in brackets. */
struct clock_config {
	const char *const *servers; /* "host", "host:port", "[v6addr]:port" [none] */
	size_t nservers;
	uint32_t poll_interval_ms;  /* between requests to one server [16000] */
	uint32_t timeout_ms;        /* a request unanswered this long is lost [1000] */
	uint32_t burst;             /* first polls sent quickly (iburst) [4] */
	uint32_t burst_interval_ms; /* spacing of those [250] */
	uint32_t max_missed;        /* a source stops counting after this many
				     * consecutive unanswered polls [3] */
	uint32_t max_sync_age_ms;   /* ... or when its newest good sample is this
				     * old [0 = 8 * poll_interval_ms] */
	int64_t max_offset_ns;      /* alarm past this |offset| [500 ms] */
	bool kernel_timestamps;     /* T4 from SO_TIMESTAMPNS [true] */
};

void clock_config_defaults(struct clock_config *c);

enum clock_state {
	CLOCK_UNSYNCHRONIZED = 0, /* no usable majority of servers */
	CLOCK_SYNCHRONIZED,
	CLOCK_ALARM               /* synchronized, but the system clock is off
				   * by more than max_offset */
};

enum clock_source_state {
	CLOCK_SRC_UNRESOLVED = 0, /* name not resolved (yet) */
	CLOCK_SRC_UNREACHABLE,    /* no valid reply in the last max_missed polls */
	CLOCK_SRC_UNUSABLE,       /* replies fail tests 6/7, KoD RATE, too few
				   * samples or root distance >= MAXDIST */
	CLOCK_SRC_DENIED,         /* KoD DENY/RSTR: association dropped */
	CLOCK_SRC_FALSETICKER,    /* rejected by the intersection algorithm */
	CLOCK_SRC_OUTLIER,        /* pruned by the cluster algorithm */
	CLOCK_SRC_SURVIVOR,       /* combined */
	CLOCK_SRC_SYSPEER         /* combined, best metric */
};

struct clock_source_status {
	char name[CLOCK_NAME_LEN];
	enum clock_source_state state;
	int64_t offset_ns;        /* server - system clock, filtered */
	int64_t delay_ns;
	int64_t disp_ns;
	int64_t jitter_ns;
	int64_t distance_ns;      /* root distance */
	int stratum;
	int64_t last_sync_age_ms; /* since the newest good sample; -1: never */
	uint8_t reach;            /* RFC 5905 reach register, newest poll in bit 0 */
	unsigned last_tests;      /* failed tests of the last reply (ntp.h) */
	uint32_t poll_ms;         /* current interval (grows on KoD RATE) */
	uint64_t sent, valid, good;
};

struct clock_status {
	enum clock_state state;
	int64_t offset_ns;   /* corrected time - CLOCK_REALTIME */
	int64_t error_ns;    /* bound on |corrected - true|: root distance, large
			      * until the filters fill (RFC 5905 §10); INT64_MAX
			      * if never synced */
	int nsurvivors;
	int nsources;
	struct clock_source_status src[CLOCK_MAX_SOURCES];
};

struct clock_sampler;
typedef void (*clock_state_cb)(void *arg, enum clock_state old, enum clock_state now);

/* dns may be NULL: then only numeric addresses work.  Returns NULL (and
 * logs) on a bad configuration: no servers, more than CLOCK_MAX_SOURCES,
 * an unparsable server, zero intervals. */
struct clock_sampler *clock_sampler_new(struct event_base *base, struct evdns_base *dns,
					const struct clock_config *cfg);
int clock_sampler_start(struct clock_sampler *s);
void clock_sampler_free(struct clock_sampler *s);
void clock_sampler_set_state_cb(struct clock_sampler *s, clock_state_cb cb, void *arg);
void clock_sampler_status(const struct clock_sampler *s, struct clock_status *st);
enum clock_state clock_sampler_state(const struct clock_sampler *s);
/* Corrected wall time, ns since the Unix epoch: CLOCK_REALTIME + offset
 * (the last offset is kept while unsynchronized: holdover).  Not
 * monotonic -- it moves when a new offset is adopted; order events with
 * the HLC.  *error_ns (if not NULL) receives the error bound, grown by
 * PHI since the last selection; INT64_MAX if never synchronized. */
int64_t clock_now_ns(const struct clock_sampler *s, int64_t *error_ns);
const char *clock_state_name(enum clock_state st);
const char *clock_source_state_name(enum clock_source_state st);

#endif
