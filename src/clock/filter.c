/* Clock filter, RFC 5905 §10 and Appendix A.5.2 clock_filter() (filter.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "clock/filter.h"
#include "util/xmalloc.h"

struct clock_filter {
	struct clock_filter_sample stage[CLOCK_NSTAGE]; /* ring, newest at head-1 */
	int head;
	int n;
	int64_t last_time;
};

static int64_t stage_disp(const struct clock_filter_sample *s, int64_t now);

struct clock_filter *
clock_filter_create(void)
{
	return xcalloc(1, sizeof(struct clock_filter));
}

void
clock_filter_destroy(struct clock_filter *f)
{
	free(f);
}

void
clock_filter_reset(struct clock_filter *f)
{
	memset(f, 0, sizeof(*f));
}

int
clock_filter_count(const struct clock_filter *f)
{
	return f->n;
}

int
clock_filter_add(struct clock_filter *f, const struct clock_filter_sample *s)
{
	if (s->delay < 0 || s->disp < 0)
		return CLOCK_EINVAL;
	/* chrony (samplefilt.c): a sample must be newer than the last one;
	 * otherwise it is a replay or our timescale went backwards. */
	if (f->n > 0 && s->time <= f->last_time)
		return CLOCK_ESTALE;
	f->stage[f->head] = *s;
	f->head = (f->head + 1) % CLOCK_NSTAGE;
	if (f->n < CLOCK_NSTAGE)
		f->n++;
	f->last_time = s->time;
	return CLOCK_OK;
}

/* A.5.2: each stage's dispersion grows by PHI per second since it was
 * taken, capped at MAXDISP. */
static int64_t
stage_disp(const struct clock_filter_sample *s, int64_t now)
{
	int64_t d = s->disp + clock_phi(now - s->time);

	return d > CLOCK_MAXDISP ? CLOCK_MAXDISP : d;
}

int
clock_filter_get(const struct clock_filter *f, int64_t now, struct clock_filter_estimate *e)
{
	struct clock_filter_sample v[CLOCK_NSTAGE], tmp;
	int64_t d[CLOCK_NSTAGE], dtmp, key_i, key_j;
	int i, j, n = f->n;
	int64_t eps = 0;
	double sq = 0;

	if (n == 0)
		return CLOCK_ENOSOURCE;
	for (i = 0; i < n; i++) {
		v[i] = f->stage[(f->head - 1 - i + CLOCK_NSTAGE) % CLOCK_NSTAGE];
		d[i] = stage_disp(&v[i], now);
	}
	/* Sort by delay; a stage whose dispersion reached MAXDISP is worthless
	 * and sorts last (A.5.2 sorts on distance with MAXDISP stages at the
	 * end).  Insertion sort: 8 entries, stable, so among equal delays the
	 * newest wins. */
	for (i = 1; i < n; i++) {
		tmp = v[i];
		dtmp = d[i];
		key_i = dtmp >= CLOCK_MAXDISP ? INT64_MAX : tmp.delay;
		for (j = i - 1; j >= 0; j--) {
			key_j = d[j] >= CLOCK_MAXDISP ? INT64_MAX : v[j].delay;
			if (key_j <= key_i)
				break;
			v[j + 1] = v[j];
			d[j + 1] = d[j];
		}
		v[j + 1] = tmp;
		d[j + 1] = dtmp;
	}
	/* §10: epsilon = sum over i of epsilon_i / 2^(i+1), empty stages
	 * counting as MAXDISP (so a fresh association starts with a large
	 * dispersion that shrinks as samples arrive). */
	for (i = 0; i < CLOCK_NSTAGE; i++)
		eps += (i < n ? d[i] : CLOCK_MAXDISP) >> (i + 1);
	/* psi = sqrt(1/(n-1) * sum (theta_0 - theta_j)^2) */
	for (i = 1; i < n; i++) {
		double x = (double)(v[0].offset - v[i].offset);

		sq += x * x;
	}
	e->time = v[0].time;
	e->offset = v[0].offset;
	e->delay = v[0].delay;
	e->disp = eps;
	e->jitter = n > 1 ? (int64_t)sqrt(sq / (n - 1)) : 0;
	e->n = n;
	return CLOCK_OK;
}
