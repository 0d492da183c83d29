/* Unit tests: the async redis store (src/store/store.c) against a real
 * redis-server started here on a unix socket in a private directory.
 *
 * Regressions from the chaos campaign (docs/chaos.md, findings 1-3): every
 * callback runs exactly once, also for a command issued from a callback
 * while hiredis tears the connection down, and store_close() runs pending
 * callbacks while their owners still exist.  And the large-SET path: many
 * 1 MiB SETs queued at once all land, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "store/store.h"
#include "t/unit/check_main.h"
#include "t/unit/redis_harness.h"

struct seen {
	int calls;
	int *order;     /* if set: record the call's rank here */
	int *rank;
	enum store_err err;
	long long integer;
	bool done;
	/* issue a second command from this callback */
	struct store *then;
	struct seen *then_seen;
};

static void
seen_cb(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct seen *s = arg;

	(void)st;
	s->calls++;
	s->err = err;
	if (s->order != NULL)
		*s->order = (*s->rank)++;
	if (err == STORE_OK && r != NULL && r->type == REDIS_REPLY_INTEGER)
		s->integer = r->integer;
	s->done = true;
	if (s->then != NULL)
		store_commandf(s->then, seen_cb, s->then_seen, "PING");
}

/* A store up on a fresh redis-server with command `a` pending (a 5 s BLPOP
 * on an empty list, sent, not answered); a's callback then issues `b`. */
static struct store *
store_with_pending(struct event_base *base, bool *up, struct seen *a, struct seen *b)
{
	struct store *st;

	redis_start();
	st = store_up(base, up);
	a->then = st;
	a->then_seen = b;
	store_commandf(st, seen_cb, a, "BLPOP rcfs:test:never 5");
	loop_until(base, &b->done, 0.2);
	ck_assert_int_eq(a->calls, 0);
	return st;
}

/* Finding 3: while hiredis tears a context down it runs each pending
 * callback (NULL reply) before the disconnect callback and refuses new
 * commands; one issued from such a callback must still call back, once. */
START_TEST(command_from_a_lost_callback_calls_back)
{
	struct event_base *base = event_base_new();
	struct seen a = { 0 }, b = { 0 };
	struct store *st;
	bool up;

	st = store_with_pending(base, &up, &a, &b);
	redis_kill();
	ck_assert(loop_until(base, &b.done, 5));
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, STORE_ELOST);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_ne(b.err, STORE_OK);
	loop_until(base, &up, 0.3);             /* nothing calls twice */
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(b.calls, 1);
	store_free(st);
	event_base_free(base);
}
END_TEST

/* Findings 1-2: store_close() runs every pending callback now, with
 * STORE_ELOST, so its owner may be freed afterwards; a command issued from
 * such a callback fails, and store_free() right after the close (what
 * node_free does) frees it without calling back. */
START_TEST(close_runs_pending_callbacks_now)
{
	struct event_base *base = event_base_new();
	struct seen a = { 0 }, b = { 0 };
	struct store *st;
	bool up;

	st = store_with_pending(base, &up, &a, &b);
	store_close(st);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.err, STORE_ELOST);
	ck_assert_int_eq(b.calls, 0);
	store_free(st);                         /* LeakSanitizer: b's request freed */
	ck_assert_int_eq(b.calls, 0);
	event_base_free(base);
	redis_kill();
}
END_TEST

/* Large SETs queued faster than the socket takes them (the output-buffer
 * bound and the window): all land, each calls back once, in order.  (Small
 * commands do not wait for the window: they may overtake large ones.) */
START_TEST(large_sets_all_land_in_order)
{
	enum { N = 12, SIZE = 1 << 20 };
	struct event_base *base = event_base_new();
	struct seen s[N], len = { 0 };
	int order[N], rank = 0;
	char *val = malloc(SIZE);
	struct store *st;
	bool up;

	redis_start();
	st = store_up(base, &up);
	memset(s, 0, sizeof s);
	for (int i = 0; i < N; i++) {
		s[i].order = &order[i];
		s[i].rank = &rank;
		char key[32];
		const char *argv[3] = { "SET", key, val };
		size_t argvlen[3] = { 3, 0, SIZE };
		snprintf(key, sizeof key, "rcfs:test:%d", i);
		argvlen[1] = strlen(key);
		memset(val, 'a' + i, SIZE);
		store_command(st, STORE_LARGE, seen_cb, &s[i], 3, argv, argvlen);
	}
	ck_assert(loop_until(base, &s[N - 1].done, 20));
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(s[i].calls, 1);
		ck_assert_int_eq(s[i].err, STORE_OK);
		ck_assert_int_eq(order[i], i);
	}
	store_commandf(st, seen_cb, &len, "STRLEN rcfs:test:%d", N - 1);
	ck_assert(loop_until(base, &len.done, 5));
	ck_assert_int_eq(len.integer, SIZE);
	store_free(st);
	event_base_free(base);
	free(val);
	redis_kill();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	int rv;

	switch (harness_init()) {
	case 1: return 1;
	case 2: printf("1..0 # SKIP redis-server not installed\n"); return 0;
	}
	tcase_add_checked_fixture(tc, NULL, redis_kill);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, command_from_a_lost_callback_calls_back);
	tcase_add_test(tc, close_runs_pending_callbacks_now);
	tcase_add_test(tc, large_sets_all_land_in_order);
	suite_add_tcase(s, tc);
	rv = check_run(s);
	harness_done();
	return rv;
}
