#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "fs/chunk.h"
#include "fs/fsm.h"
#include "fs/repair.h"
#include "fs/replicate.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"
#include "util/xmalloc.h"

/* Chunks checked per period, at most: every check reads and hashes the chunk
 * on each replica, so this bounds the scrub's share of the loop and of redis
 * (32 MiB per replica per period with 1 MiB chunks: ~25 ms of SHA-256 through
 * libcrypto), whatever the file sizes.  The copies it makes are bounded
 * apart, by the node's copy budget (replicator_set_copy_budget). */
#define REPAIR_CHUNKS_PER_TICK 32
#define REPAIR_CHUNKS_DEFERRED 4        /* ... while the copy budget is short */
/* A period is cut into this many steps, and the checks spread over them:
 * all 32 at once put 32 MiB of reads in front of every client's get on the
 * node's one redis connection and 25 ms of hashing on its loop, once a
 * second: the p99 of 1 MiB gets at c=8 was ~95 ms (docs/benchmarks.md). */
#define REPAIR_STEPS 16

struct repair {
	struct event_base *base;
	struct store *st;
	struct replicator *rp;
	struct event *tick_ev;
	uint32_t step;                  /* of the period, 0..REPAIR_STEPS-1 */
	uint32_t files_per_tick;
	char *cursor;                   /* last file name scanned */
	bool busy;                      /* a scan step is in flight */
	bool deferred;                  /* copies waited for the copy budget: wait until ready */
	uint32_t inflight;              /* chunk repairs in flight */
	uint64_t copies;
	uint8_t (*queue)[CHUNK_HASH_LEN];   /* scanned chunks this node checks, FIFO */
	size_t qhead, qlen, qcap;
	/* The current pass over the file table (it wraps at the end). */
	bool pass_ending;               /* the walk reached the end: finish its queue */
	uint64_t pass_checked, pass_short, pass_copies, pass_fixed, pass_bytes;
	uint64_t pass_start_ms;
	uint64_t last_short;            /* pass_short of the last complete pass */
	uint64_t last_unfixed;          /* ... minus the chunks it fixed */
};

struct repair_chunk {
	struct repair *rep;
	uint8_t sha[CHUNK_HASH_LEN];
};

static void repair_tick(evutil_socket_t fd, short what, void *arg);
static void repair_scanned(void *arg, Rcfs__ErrorCode code, const char *why, const char *cursor,
    const uint8_t (*shas)[32], size_t n);
static void repair_enqueue(struct repair *rep, const uint8_t *sha);
static void repair_one(struct repair *rep, const uint8_t *sha);
static void repair_done(void *arg, Rcfs__ErrorCode code, const char *why, uint32_t copies,
    uint64_t bytes);
static void repair_pass_done(struct repair *rep);

struct repair *
repair_new(struct event_base *base, struct store *st, struct replicator *rp, uint32_t interval_ms,
    uint32_t files_per_tick)
{
	struct repair *rep = xcalloc(1, sizeof *rep);
	uint64_t step_us = (uint64_t)interval_ms * 1000 / REPAIR_STEPS;
	struct timeval tv = { (time_t)(step_us / 1000000), (suseconds_t)(step_us % 1000000) };

	rep->base = base;
	rep->st = st;
	rep->rp = rp;
	rep->files_per_tick = files_per_tick;
	rep->cursor = xstrdup("");
	rep->pass_start_ms = time_mono_ms();
	rep->tick_ev = event_new(base, -1, EV_PERSIST, repair_tick, rep);
	event_add(rep->tick_ev, &tv);
	return rep;
}

void
repair_free(struct repair *rep)
{
	if (rep == NULL)
		return;
	event_free(rep->tick_ev);
	free(rep->cursor);
	free(rep->queue);
	free(rep);
}

uint64_t
repair_copies_made(const struct repair *rep)
{
	return rep->copies;
}

/* Repair cron, a step of a period: check up to REPAIR_CHUNKS_PER_TICK /
 * REPAIR_STEPS queued chunks, or, with the queue empty, at the first step of
 * a period, scan the next files_per_tick files into it.  Never while a scan
 * or the previous step's checks are in flight (rate limit). */
static void
repair_tick(evutil_socket_t fd, short what, void *arg)
{
	struct repair *rep = arg;
	uint32_t step = rep->step;

	(void)fd; (void)what;
	rep->step = (rep->step + 1) % REPAIR_STEPS;
	if (rep->busy || rep->inflight > 0 || !store_is_up(rep->st) ||
	    replicator_members(rep->rp) < 2)
		return;
	if (rep->deferred && !replicator_copy_budget_ready(rep->rp))
		return;
	if (rep->qhead < rep->qlen) {
		/* While copies wait for the budget, a few checks a period: each
		 * check reads the chunk on its homes, and those the budget
		 * defers are checked again. */
		int limit = REPAIR_CHUNKS_PER_TICK / REPAIR_STEPS;
		if (rep->deferred) {
			if (step % (REPAIR_STEPS / REPAIR_CHUNKS_DEFERRED) != 0)
				return;
			limit = 1;
		}
		rep->deferred = false;
		for (int i = 0; i < limit && rep->qhead < rep->qlen; i++)
			repair_one(rep, rep->queue[rep->qhead++]);
		return;
	}
	if (step != 0)
		return;
	rep->deferred = false;
	rep->qhead = rep->qlen = 0;
	if (rep->pass_ending)
		repair_pass_done(rep);
	rep->busy = true;
	fsm_scan_chunks(rep->st, rep->cursor, rep->files_per_tick, repair_scanned, rep);
}

static void
repair_scanned(void *arg, Rcfs__ErrorCode code, const char *why, const char *cursor,
    const uint8_t (*shas)[32], size_t n)
{
	struct repair *rep = arg;

	(void)why;
	rep->busy = false;
	if (code != RCFS__ERROR_CODE__E_OK)
		return;
	free(rep->cursor);
	/* An empty cursor means the walk reached the end: start over next tick. */
	rep->cursor = xstrdup(cursor);
	rep->pass_ending = cursor[0] == '\0';
	for (size_t i = 0; i < n; i++) {
		/* Only the first reachable home of a chunk takes charge of it. */
		if (!replicator_is_primary(rep->rp, shas[i]))
			continue;
		repair_enqueue(rep, shas[i]);
	}
}

static void
repair_enqueue(struct repair *rep, const uint8_t *sha)
{
	if (rep->qlen == rep->qcap) {
		rep->qcap = rep->qcap ? 2 * rep->qcap : 64;
		rep->queue = xrealloc(rep->queue, rep->qcap * sizeof *rep->queue);
	}
	memcpy(rep->queue[rep->qlen++], sha, CHUNK_HASH_LEN);
}

static void
repair_one(struct repair *rep, const uint8_t *sha)
{
	struct repair_chunk *rc;

	rc = xcalloc(1, sizeof *rc);
	rc->rep = rep;
	memcpy(rc->sha, sha, CHUNK_HASH_LEN);
	rep->inflight++;
	replicator_repair(rep->rp, sha, repair_done, rc);
}

static void
repair_done(void *arg, Rcfs__ErrorCode code, const char *why, uint32_t copies, uint64_t bytes)
{
	struct repair_chunk *rc = arg;
	struct repair *rep = rc->rep;
	char hex[65];

	rep->inflight--;
	if (code == RCFS__ERROR_CODE__E_RATE_LIMITED) {
		/* Copies needed, budget spent: again at once if other repairs'
		 * real sizes gave some back (small chunks), else once it refills. */
		if (replicator_copy_budget_ready(rep->rp)) {
			rep->inflight++;
			replicator_repair(rep->rp, rc->sha, repair_done, rc);
			return;
		}
		rep->deferred = true;
		repair_enqueue(rep, rc->sha);
		free(rc);
		return;
	}
	rep->pass_checked++;
	if (copies > 0 || code != RCFS__ERROR_CODE__E_OK)
		rep->pass_short++;
	rep->pass_copies += copies;
	rep->pass_bytes += bytes;
	rep->pass_fixed += copies > 0;
	if (copies > 0) {
		rep->copies += copies;
		metrics_add(rcfs_metrics.repair_copies, copies);
		sodium_bin2hex(hex, sizeof hex, rc->sha, CHUNK_HASH_LEN);
		log_info("repair: chunk %.16s…: %u copies made", hex, copies);
	} else if (code != RCFS__ERROR_CODE__E_OK) {
		sodium_bin2hex(hex, sizeof hex, rc->sha, CHUNK_HASH_LEN);
		log_debug("repair: chunk %.16s…: %s", hex, why ? why : "failed");
	}
	free(rc);
}

/* A pass over the whole file table ended (every chunk this node takes
 * charge of was checked): publish how many were short of copies, and say
 * when this node's share is whole again. */
static void
repair_pass_done(struct repair *rep)
{
	rep->pass_ending = false;
	metrics_set(rcfs_metrics.chunks_under_replicated, (double)rep->pass_short);
	if (rep->pass_copies > 0)
		log_info("repair: pass complete: %" PRIu64 " chunks checked, %" PRIu64 " were short of "
		    "copies, %" PRIu64 " copies made: this node's share is back at N copies", rep->pass_checked,
		    rep->pass_short, rep->pass_copies);
	rep->last_short = rep->pass_short;
	rep->last_unfixed = rep->pass_short > rep->pass_fixed ? rep->pass_short - rep->pass_fixed : 0;
	rep->pass_checked = rep->pass_short = rep->pass_copies = rep->pass_fixed = rep->pass_bytes = 0;
	rep->pass_start_ms = time_mono_ms();
}

void
repair_stats(const struct repair *rep, struct repair_stats *out)
{
	uint64_t ms = time_mono_ms() - rep->pass_start_ms;
	uint64_t left = rep->last_short > rep->pass_fixed ? rep->last_short - rep->pass_fixed : 0;

	memset(out, 0, sizeof *out);
	out->last_short = rep->last_short;
	out->last_unfixed = rep->last_unfixed;
	out->pass_fixed = rep->pass_fixed;
	out->pass_bytes = rep->pass_bytes;
	out->rate_bps = ms > 0 ? (double)rep->pass_bytes * 1000.0 / (double)ms : 0;
	/* Nothing known short and nothing copied: done.  Copying past what
	 * the last pass found (or in the first pass): unknown. */
	if (left == 0)
		out->eta_s = rep->pass_fixed > 0 ? -1 : 0;
	else
		out->eta_s = rep->pass_fixed > 0 && out->rate_bps > 0 ?
		    (double)left * ((double)rep->pass_bytes / (double)rep->pass_fixed) / out->rate_bps : -1;
}
