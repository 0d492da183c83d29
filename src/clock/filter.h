/* Per-source clock filter (RFC 5905 §10), chrony style: opaque handle,
 * create/destroy pair, samples with non-increasing timestamps rejected.
 *
 * The filter keeps the last CLOCK_NSTAGE (8) samples.  The estimate is the
 * sample with the minimum delay (the one least hurt by queueing asymmetry);
 * its dispersion is the RFC's weighted sum over all stages sorted by delay,
 * every stage aged by PHI since it was taken; the jitter is the RMS of the
 * offset differences to the chosen sample.  Pure: `time` is whatever local
 * timescale the caller uses (only differences matter). */
#ifndef RCFS_CLOCK_FILTER_H
#define RCFS_CLOCK_FILTER_H
#include <stdint.h>

struct clock_filter;

struct clock_filter_sample {
	int64_t time;    /* local time the sample was taken (T4) */
	int64_t offset;  /* theta */
	int64_t delay;   /* delta */
	int64_t disp;    /* epsilon at `time` */
};

struct clock_filter_estimate {
	int64_t time;    /* time of the chosen sample */
	int64_t offset;
	int64_t delay;
	int64_t disp;    /* peer dispersion at `now` (RFC 5905 §10 epsilon) */
	int64_t jitter;  /* psi */
	int n;           /* samples held */
};

struct clock_filter *clock_filter_create(void);
void clock_filter_destroy(struct clock_filter *f);
/* Add a sample; CLOCK_ESTALE if s->time is not after the last sample's,
 * CLOCK_EINVAL if delay or dispersion is negative. */
int clock_filter_add(struct clock_filter *f, const struct clock_filter_sample *s);
/* Current estimate, dispersions aged to `now`; CLOCK_ENOSOURCE if empty. */
int clock_filter_get(const struct clock_filter *f, int64_t now,
		     struct clock_filter_estimate *e);
/* Forget every sample (e.g. the server's address changed). */
void clock_filter_reset(struct clock_filter *f);
int clock_filter_count(const struct clock_filter *f);

#endif
