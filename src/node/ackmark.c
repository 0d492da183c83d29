/* The acknowledgement marker (ackmark.h): the file, its writer thread and the
 * check made at load.
 *
 * The loop and the thread share one mutex-protected slot: the newest state
 * wanted (with its ticket, counting states), the newest ticket written and
 * the newest durable.  The thread sleeps on a condition variable until a
 * newer ticket is wanted and writes that state to the slot the ticket
 * selects (states wanted meanwhile collapse into the newest); it
 * fdatasyncs what it wrote once a second, or at once when a caller waits,
 * then writes a byte to a pipe; the loop's read event runs the callbacks
 * whose ticket is durable (and the error callback after a failure). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "node/ackmark.h"
#include "util/be.h"
#include "util/xmalloc.h"

#define ACKMARK_MAGIC "RCFSACK2"
#define ACKMARK_SLOT 512                        /* bytes: a sector, written whole */
#define ACKMARK_BODY (8 + 8 + 5 * 8)            /* magic, ticket, the state */
#define ACKMARK_SUM crypto_generichash_BYTES_MIN /* 16 */
/* Every state is written to the page cache at once (a crash of the process
 * loses nothing); fdatasync at most this often, unless a caller waits for
 * it: each fdatasync also delays redis's on a shared disk, and one per Ready
 * cost 20 % on 256 B puts (docs/benchmarks.md). */
#define ACKMARK_SYNC_MS 1000
/* And at most one write per this many ms while states keep coming (the first
 * after a quiet spell goes at once): a wakeup and a write per Ready cost 18 %
 * on 256 B puts at c=1, one per 5 ms 7 % at c=64 (each write dirties the
 * inode, which redis's next fsync then commits too); 25 ms is in the noise. */
#define ACKMARK_WRITE_MS 25

struct ackmark_waiter {
	uint64_t ticket;
	ackmark_cb *cb;
	void *arg;
	STAILQ_ENTRY(ackmark_waiter) link;
};

struct ackmark {
	char *path;
	int fd;
	int notify[2];                  /* thread -> loop: "durable moved" */
	struct event *notify_ev;
	pthread_t thread;
	bool thread_started;
	STAILQ_HEAD(, ackmark_waiter) waiters;  /* loop only, in ticket order */
	struct ackmark_state queued;    /* loop only: the last state passed on */
	bool have_queued;
	ackmark_cb *error_cb;           /* loop only: a write or sync failed */
	void *error_arg;
	int error_told;                 /* loop only: the error last passed to error_cb */

	pthread_mutex_t mu;             /* guards what follows */
	pthread_cond_t cv;
	uint64_t wanted;                /* ticket of `want` */
	struct ackmark_state want;
	uint64_t written;               /* newest ticket written (page cache) */
	uint64_t durable;               /* newest ticket fdatasync'ed */
	uint64_t sync_for;              /* a caller waits for this ticket to be durable */
	int error;                      /* errno of a failed write (0: none) */
	bool stop;
	bool idle;                      /* the thread waits for work (a signal is needed) */
	bool kick;                      /* end the thread's pause: a caller waits, or a retry */
	int next_slot;                  /* the thread's: the slot not holding the newest */
};

static void *ackmark_thread(void *arg);
static int ackmark_read_slot(struct ackmark *am, struct ackmark_state *out, uint64_t *ticket, int *slot,
    char *why, size_t whylen);
static void ackmark_notified(evutil_socket_t fd, short what, void *arg);

static void
ackmark_encode(uint8_t slot[ACKMARK_SLOT], uint64_t ticket, const struct ackmark_state *s)
{
	uint8_t *p = slot;

	memset(slot, 0, ACKMARK_SLOT);
	memcpy(p, ACKMARK_MAGIC, 8); p += 8;
	be_put64(p, ticket); p += 8;
	be_put64(p, s->incarnation); p += 8;
	be_put64(p, s->writes); p += 8;
	be_put64(p, s->term); p += 8;
	be_put64(p, s->vote); p += 8;
	be_put64(p, s->last_index); p += 8;
	crypto_generichash(p, ACKMARK_SUM, slot, ACKMARK_BODY, NULL, 0);
}

/* The ticket of a valid slot (0: not valid). */
static uint64_t
ackmark_decode(const uint8_t *slot, struct ackmark_state *s)
{
	uint8_t sum[ACKMARK_SUM];
	const uint8_t *p = slot + 8;

	if (memcmp(slot, ACKMARK_MAGIC, 8) != 0)
		return 0;
	crypto_generichash(sum, sizeof sum, slot, ACKMARK_BODY, NULL, 0);
	if (sodium_memcmp(sum, slot + ACKMARK_BODY, sizeof sum) != 0)
		return 0;
	s->incarnation = be_get64(p + 8);
	s->writes = be_get64(p + 16);
	s->term = be_get64(p + 24);
	s->vote = be_get64(p + 32);
	s->last_index = be_get64(p + 40);
	return be_get64(p);
}

struct ackmark *
ackmark_open(struct event_base *base, const char *path, char *err, size_t errlen)
{
	struct ackmark *am = xcalloc(1, sizeof *am);
	struct ackmark_state s;
	uint64_t ticket;
	int slot;
	char why[160];

	am->path = xstrdup(path);
	am->notify[0] = am->notify[1] = -1;
	STAILQ_INIT(&am->waiters);
	pthread_mutex_init(&am->mu, NULL);
	{
		/* timed waits on CLOCK_MONOTONIC (ackmark_thread) */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&am->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((am->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "cannot open the acknowledgement marker %s: %s", path, strerror(errno));
		goto fail;
	}
	if (pipe(am->notify) != 0 || evutil_make_socket_nonblocking(am->notify[0]) != 0 ||
	    evutil_make_socket_nonblocking(am->notify[1]) != 0) {
		snprintf(err, errlen, "acknowledgement marker: pipe: %s", strerror(errno));
		goto fail;
	}
	/* Tickets go on from the newest stored, and the slot written next is
	 * the other one. */
	if (ackmark_read_slot(am, &s, &ticket, &slot, why, sizeof why) > 0) {
		am->durable = ticket;
		am->next_slot = !slot;
	}
	am->wanted = am->written = am->durable;
	am->notify_ev = event_new(base, am->notify[0], EV_READ | EV_PERSIST, ackmark_notified, am);
	event_add(am->notify_ev, NULL);
	if ((errno = pthread_create(&am->thread, NULL, ackmark_thread, am)) != 0) {
		snprintf(err, errlen, "acknowledgement marker: thread: %s", strerror(errno));
		goto fail;
	}
	am->thread_started = true;
	return am;
fail:
	ackmark_free(am);
	return NULL;
}

void
ackmark_cancel(struct ackmark *am)
{
	struct ackmark_waiter *w;

	while (am != NULL && (w = STAILQ_FIRST(&am->waiters)) != NULL) {
		STAILQ_REMOVE_HEAD(&am->waiters, link);
		w->cb(w->arg, ECANCELED);
		free(w);
	}
}

void
ackmark_free(struct ackmark *am)
{
	struct ackmark_waiter *w;

	if (am == NULL)
		return;
	if (am->thread_started) {
		pthread_mutex_lock(&am->mu);
		am->stop = true;
		pthread_cond_signal(&am->cv);
		pthread_mutex_unlock(&am->mu);
		pthread_join(am->thread, NULL);
	}
	while ((w = STAILQ_FIRST(&am->waiters)) != NULL) {
		STAILQ_REMOVE_HEAD(&am->waiters, link);
		free(w);
	}
	if (am->notify_ev != NULL)
		event_free(am->notify_ev);
	for (int i = 0; i < 2; i++)
		if (am->notify[i] >= 0)
			close(am->notify[i]);
	if (am->fd >= 0)
		close(am->fd);
	pthread_cond_destroy(&am->cv);
	pthread_mutex_destroy(&am->mu);
	free(am->path);
	free(am);
}

const char *
ackmark_path(const struct ackmark *am)
{
	return am->path;
}

/* The newest valid slot: as ackmark_read, plus its ticket and index. */
static int
ackmark_read_slot(struct ackmark *am, struct ackmark_state *out, uint64_t *ticket, int *slot, char *why,
    size_t whylen)
{
	uint8_t buf[2 * ACKMARK_SLOT];
	struct ackmark_state s[2];
	uint64_t t[2] = { 0, 0 };
	ssize_t n = pread(am->fd, buf, sizeof buf, 0);
	int best;

	if (n < 0) {
		snprintf(why, whylen, "%s: %s", am->path, strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	for (int i = 0; i < 2; i++)
		if (n >= (i + 1) * ACKMARK_SLOT)
			t[i] = ackmark_decode(buf + i * ACKMARK_SLOT, &s[i]);
	if (t[0] == 0 && t[1] == 0) {
		snprintf(why, whylen, "%s holds no valid record (%zd bytes)", am->path, n);
		return -1;
	}
	best = t[1] > t[0];
	*out = s[best];
	*ticket = t[best];
	*slot = best;
	return 1;
}

int
ackmark_read(struct ackmark *am, struct ackmark_state *out, char *why, size_t whylen)
{
	uint64_t ticket;
	int slot;

	return ackmark_read_slot(am, out, &ticket, &slot, why, whylen);
}

void
ackmark_on_error(struct ackmark *am, ackmark_cb *cb, void *arg)
{
	am->error_cb = cb;
	am->error_arg = arg;
}

void
ackmark_write(struct ackmark *am, const struct ackmark_state *s, ackmark_cb *cb, void *arg)
{
	struct ackmark_waiter *w = NULL;
	bool durable;

	pthread_mutex_lock(&am->mu);
	if (!am->have_queued || memcmp(s, &am->queued, sizeof *s) != 0) {
		am->queued = *s;
		am->have_queued = true;
		am->want = *s;
		am->wanted++;
	}
	if (am->error != 0) {
		am->error = 0;          /* a new write tries again */
		am->kick = true;
	}
	if (cb != NULL) {
		w = xcalloc(1, sizeof *w);
		w->cb = cb;
		w->arg = arg;
		w->ticket = am->wanted;
		if (am->sync_for < w->ticket)
			am->sync_for = w->ticket;
		am->kick = true;        /* even from its pause between writes */
	}
	if (am->idle || am->kick)
		pthread_cond_signal(&am->cv);
	durable = am->durable >= am->wanted;
	pthread_mutex_unlock(&am->mu);
	if (w == NULL)
		return;
	STAILQ_INSERT_TAIL(&am->waiters, w, link);
	if (durable)
		event_active(am->notify_ev, EV_READ, 0);
}

/* Run the callbacks whose ticket is durable, or fail them all. */
static void
ackmark_notified(evutil_socket_t fd, short what, void *arg)
{
	struct ackmark *am = arg;
	struct ackmark_waiter *w;
	uint64_t durable;
	char drain[64];
	int error;

	(void)what;
	while (read(fd, drain, sizeof drain) > 0)
		;
	pthread_mutex_lock(&am->mu);
	durable = am->durable;
	error = am->error;
	pthread_mutex_unlock(&am->mu);
	while ((w = STAILQ_FIRST(&am->waiters)) != NULL && (w->ticket <= durable || error != 0)) {
		STAILQ_REMOVE_HEAD(&am->waiters, link);
		w->cb(w->arg, w->ticket <= durable ? 0 : error);
		free(w);
	}
	if (error != 0 && error != am->error_told && am->error_cb != NULL)
		am->error_cb(am->error_arg, error);
	am->error_told = error;
}

static int
ackmark_sync_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, rv = 0;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0)
		rv = errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rv;
}

/* Whether CLOCK_MONOTONIC is before t. */
static bool
ackmark_before(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec < t->tv_nsec);
}

/* *t = CLOCK_MONOTONIC now + ms. */
static void
ackmark_after(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_nsec += ms * 1000000L;
	t->tv_sec += t->tv_nsec / 1000000000L;
	t->tv_nsec %= 1000000000L;
}

static void *
ackmark_thread(void *arg)
{
	struct ackmark *am = arg;
	uint8_t slot[ACKMARK_SLOT];
	struct timespec next_sync = { 0, 0 };  /* CLOCK_MONOTONIC: no periodic sync before */
	struct timespec next_write;

	/* The file's name durable too (best effort: some file systems refuse
	 * to fsync a directory, and the file exists from the first start on). */
	(void)ackmark_sync_dir(am->path);
	pthread_mutex_lock(&am->mu);
	for (;;) {
		bool write_now, sync_now;
		int error = 0;

		am->kick = false;
		write_now = am->wanted > am->written && am->error == 0;
		sync_now = am->durable < am->written && am->error == 0 &&
		    (am->stop || am->sync_for > am->durable || !ackmark_before(&next_sync));
		if (!write_now && !sync_now) {
			if (am->stop && (am->wanted <= am->written || am->error != 0) &&
			    (am->durable >= am->written || am->error != 0))
				break;  /* stopping: only once the newest state is on disk */
			am->idle = true;
			if (am->durable < am->written && am->error == 0)
				pthread_cond_timedwait(&am->cv, &am->mu, &next_sync);
			else
				pthread_cond_wait(&am->cv, &am->mu);
			am->idle = false;
			continue;
		}
		if (sync_now) {         /* first: a stream of new states must not starve it */
			uint64_t ticket = am->written;

			pthread_mutex_unlock(&am->mu);
			if (fdatasync(am->fd) != 0)
				error = errno;
			ackmark_after(&next_sync, ACKMARK_SYNC_MS);
			pthread_mutex_lock(&am->mu);
			if (error == 0 && ticket > am->durable)
				am->durable = ticket;
		} else {
			struct ackmark_state s = am->want;
			uint64_t ticket = am->wanted;

			pthread_mutex_unlock(&am->mu);
			ackmark_encode(slot, ticket, &s);
			if (pwrite(am->fd, slot, sizeof slot, (off_t)am->next_slot * ACKMARK_SLOT) !=
			    (ssize_t)sizeof slot)
				error = errno != 0 ? errno : EIO;
			else
				am->next_slot = !am->next_slot;
			ackmark_after(&next_write, ACKMARK_WRITE_MS);
			pthread_mutex_lock(&am->mu);
			if (error == 0 && ticket > am->written)
				am->written = ticket;
			/* A pause before the next write: states wanted meanwhile
			 * collapse into the newest (a caller that waits, or a stop,
			 * ends it). */
			while (!am->stop && !am->kick && error == 0 && ackmark_before(&next_write))
				pthread_cond_timedwait(&am->cv, &am->mu, &next_write);
		}
		if (error != 0)
			am->error = error;
		if ((error != 0 || sync_now) && write(am->notify[1], "", 1) < 0) {
			/* full: the loop has a byte to read already */
		}
	}
	pthread_mutex_unlock(&am->mu);
	return NULL;
}

bool
ackmark_covers(const struct ackmark_state *stored, const struct ackmark_state *marked, char *why,
    size_t whylen)
{
	if (stored->incarnation != marked->incarnation)
		snprintf(why, whylen, "the marker is of storage incarnation %016" PRIx64 ", the stored state "
		    "of %016" PRIx64, marked->incarnation, stored->incarnation);
	else if (stored->writes < marked->writes)
		snprintf(why, whylen, "the Raft state holds %" PRIu64 " writes (log to index %" PRIu64
		    ", term %" PRIu64 "), but %" PRIu64 " had been stored (log to index %" PRIu64 ", term %"
		    PRIu64 ")", stored->writes, stored->last_index, stored->term, marked->writes,
		    marked->last_index, marked->term);
	else
		return true;
	return false;
}
