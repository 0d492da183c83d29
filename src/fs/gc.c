#include <event2/event.h>
#include <stdlib.h>

#include "fs/gc.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"
#include "util/xmalloc.h"

struct gc {
	struct store *st;
	struct event *tick_ev;          /* the periodic pass */
	struct event *again_ev;         /* a full batch: pass again at once */
	bool running;                   /* the periodic pass is in redis */
	uint64_t last_census_ms;        /* monotonic */
	struct gc_stats stats;
};

/* rcfs gc: passes until a batch is not full, the last with a census. */
struct gc_run {
	struct gc *gc;
	fsm_gc_cb *cb;
	void *arg;
	struct fsm_gc_result total;
};

static void gc_tick(evutil_socket_t fd, short what, void *arg);
static void gc_passed(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_gc_result *res);
static void gc_run_passed(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_gc_result *res);

struct gc *
gc_new(struct event_base *base, struct store *st, uint32_t interval_ms)
{
	struct gc *gc = xcalloc(1, sizeof *gc);
	struct timeval tv = { interval_ms / 1000, (interval_ms % 1000) * 1000 };

	gc->st = st;
	gc->tick_ev = event_new(base, -1, EV_PERSIST, gc_tick, gc);
	gc->again_ev = event_new(base, -1, 0, gc_tick, gc);
	event_add(gc->tick_ev, &tv);
	return gc;
}

void
gc_free(struct gc *gc)
{
	if (gc == NULL)
		return;
	event_free(gc->tick_ev);
	event_free(gc->again_ev);
	free(gc);
}

void
gc_stats(const struct gc *gc, struct gc_stats *out)
{
	*out = gc->stats;
}

static void
gc_tick(evutil_socket_t fd, short what, void *arg)
{
	struct gc *gc = arg;
	uint64_t now = time_mono_ms();
	bool census = gc->last_census_ms == 0 || now - gc->last_census_ms >= GC_CENSUS_MS;

	(void)fd; (void)what;
	if (gc->running || !store_is_up(gc->st))
		return;
	gc->running = true;
	if (census)
		gc->last_census_ms = now;
	fsm_gc(gc->st, time_real_ms(), GC_BATCH, census, gc_passed, gc);
}

/* Account one pass's outcome: metrics, the waiting figures, the log. */
static void
gc_account(struct gc *gc, Rcfs__ErrorCode code, const char *why, const struct fsm_gc_result *res)
{
	struct gc_stats *s = &gc->stats;

	if (code != RCFS__ERROR_CODE__E_OK) {
		log_warn("chunk GC: %s", why);
		return;
	}
	s->deleted += res->deleted;
	s->deleted_bytes += res->deleted_bytes;
	s->held_until_ms = res->held_until_ms;
	metrics_add(rcfs_metrics.gc_deleted, res->deleted);
	metrics_add(rcfs_metrics.gc_deleted_bytes, res->deleted_bytes);
	if (res->waiting >= 0) {
		s->waiting = (uint64_t)res->waiting;
		s->waiting_bytes = (uint64_t)res->waiting_bytes;
		s->census_done = true;
	} else {
		/* Deleted since the census: they were waiting then, or came
		 * after it; either way no longer waiting. */
		s->waiting = s->waiting > res->deleted ? s->waiting - res->deleted : 0;
		s->waiting_bytes = s->waiting_bytes > res->deleted_bytes ?
		    s->waiting_bytes - res->deleted_bytes : 0;
	}
	if (s->census_done)
		metrics_set(rcfs_metrics.gc_waiting_bytes, (double)s->waiting_bytes);
	if (res->deleted > 0)
		log_info("chunk GC: deleted %llu unreferenced chunks (%llu bytes)",
		    (unsigned long long)res->deleted, (unsigned long long)res->deleted_bytes);
}

static void
gc_passed(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_gc_result *res)
{
	struct gc *gc = arg;
	struct timeval now = { 0, 0 };

	gc->running = false;
	gc_account(gc, code, why, res);
	if (code == RCFS__ERROR_CODE__E_OK && res->examined >= GC_BATCH)
		event_add(gc->again_ev, &now);
}

void
gc_run(struct gc *gc, fsm_gc_cb *cb, void *arg)
{
	struct gc_run *run = xcalloc(1, sizeof *run);

	run->gc = gc;
	run->cb = cb;
	run->arg = arg;
	fsm_gc(gc->st, time_real_ms(), GC_BATCH, false, gc_run_passed, run);
}

static void
gc_run_passed(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_gc_result *res)
{
	struct gc_run *run = arg;
	struct gc *gc = run->gc;

	gc_account(gc, code, why, res);
	if (code != RCFS__ERROR_CODE__E_OK) {
		run->cb(run->arg, code, why, res);
		free(run);
		return;
	}
	run->total.deleted += res->deleted;
	run->total.deleted_bytes += res->deleted_bytes;
	run->total.held_until_ms = res->held_until_ms;
	if (res->waiting >= 0) {                /* the census: done */
		run->total.waiting = res->waiting;
		run->total.waiting_bytes = res->waiting_bytes;
		gc->last_census_ms = time_mono_ms();
		run->cb(run->arg, code, NULL, &run->total);
		free(run);
		return;
	}
	fsm_gc(gc->st, time_real_ms(), GC_BATCH, res->examined < GC_BATCH, gc_run_passed, run);
}
