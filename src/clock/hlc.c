/* Hybrid logical clock (hlc.h).  With l in the high bits and c in the low
 * bits, the paper's rules collapse to integer maxima: "c + 1 when l did not
 * change" is "previous timestamp + 1". */
#include <stdlib.h>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "util/xmalloc.h"

struct hlc {
	hlc_physical_fn phys;
	void *arg;
	uint64_t max_offset_ms;
	uint64_t window_ms;
	hlc_ts last;
	hlc_ts promised;   /* last value handed out by hlc_high_water(), 0: none */
};

static hlc_ts physical(struct hlc *h);
static void issued(struct hlc *h, hlc_ts ts);

struct hlc *
hlc_create(hlc_physical_fn phys, void *arg, uint64_t max_offset_ms, uint64_t window_ms)
{
	struct hlc *h = xcalloc(1, sizeof(*h));

	h->phys = phys;
	h->arg = arg;
	h->max_offset_ms = max_offset_ms;
	h->window_ms = window_ms;
	return h;
}

void
hlc_destroy(struct hlc *h)
{
	free(h);
}

/* pt as an HLC value with c = 0.  Times before the epoch count as 0. */
static hlc_ts
physical(struct hlc *h)
{
	int64_t ns = h->phys(h->arg);

	return ns <= 0 ? 0 : HLC_MAKE((uint64_t)ns / CLOCK_NS_PER_MS, 0);
}

static void
issued(struct hlc *h, hlc_ts ts)
{
	h->last = ts;
}

hlc_ts
hlc_now(struct hlc *h)
{
	hlc_ts pt = physical(h);

	/* l' = l; l = max(l', pt); c = (l == l') ? c + 1 : 0 */
	issued(h, pt > h->last ? pt : h->last + 1);
	return h->last;
}

int
hlc_update(struct hlc *h, hlc_ts m, hlc_ts *out)
{
	hlc_ts pt = physical(h);
	hlc_ts hi;

	if (h->max_offset_ms &&
	    HLC_PHYS_MS(m) > HLC_PHYS_MS(pt) + h->max_offset_ms)
		return CLOCK_ERANGE;
	/* l = max(l', m.l, pt); c = max(c', m.c) + 1 if l == l' == m.l,
	 * c' + 1 if l == l', m.c + 1 if l == m.l, else 0.  pt wins only when
	 * strictly greater than both; otherwise the larger of the two packed
	 * values plus one gives exactly those cases. */
	hi = h->last > m ? h->last : m;
	issued(h, pt > hi ? pt : hi + 1);
	if (out)
		*out = h->last;
	return CLOCK_OK;
}

hlc_ts
hlc_last(const struct hlc *h)
{
	return h->last;
}

hlc_ts
hlc_high_water(struct hlc *h)
{
	hlc_ts pt = physical(h);
	hlc_ts base = pt > h->last ? pt : h->last;

	h->promised = base + HLC_MAKE(h->window_ms, 0);
	return h->promised;
}

void
hlc_restore(struct hlc *h, hlc_ts high_water)
{
	if (high_water > h->last)
		h->last = high_water;
}

bool
hlc_high_water_exceeded(const struct hlc *h)
{
	return h->promised != 0 && h->last > h->promised;
}
