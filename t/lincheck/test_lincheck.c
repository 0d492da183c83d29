/* Unit tests for the lincheck core (Check, TAP output). */
#include "lincheck.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static char g_err[512];
static char *g_report;

/* Parse text (must be well-formed) and check it; the report is kept in
 * g_report for inspection. */
static lc_result check_text_opts(const char *text, const lc_options *o)
{
	lc_history *h = lc_parse_string(text, g_err, sizeof g_err);
	ck_assert_msg(h != NULL, "parse failed: %s", g_err);
	size_t len = 0;
	free(g_report);
	g_report = NULL;
	FILE *rep = open_memstream(&g_report, &len);
	ck_assert_ptr_nonnull(rep);
	lc_result r = lc_check(h, o, rep, NULL);
	fclose(rep);
	lc_history_free(h);
	return r;
}

static lc_result check_text(const char *text)
{
	lc_options o;
	lc_options_default(&o);
	o.timeout_ms = 30000;
	return check_text_opts(text, &o);
}

#define ASSERT_LIN(text) \
	ck_assert_msg(check_text(text) == LC_LINEARIZABLE, "expected linearizable:\n%s", g_report)
#define ASSERT_NOT_LIN(text) \
	ck_assert_int_eq(check_text(text), LC_NOT_LINEARIZABLE)

/* Expect a parse error mentioning "line N". */
static void assert_parse_error(const char *text, long line)
{
	char want[32];
	lc_history *h = lc_parse_string(text, g_err, sizeof g_err);
	ck_assert_msg(h == NULL, "expected a parse error for:\n%s", text);
	snprintf(want, sizeof want, "line %ld:", line);
	ck_assert_msg(strstr(g_err, want) != NULL, "error '%s' lacks '%s'", g_err, want);
}

/* ------------------------------------------------------------------ */
/* accepted histories                                                  */

START_TEST(sequential)
{
	ASSERT_LIN("0 p1 invoke put k a\n"
		   "1 p1 ok put k\n"
		   "2 p1 invoke get k\n"
		   "3 p1 ok get k a\n"
		   "4 p1 invoke put k b\n"
		   "5 p1 ok put k b\n"
		   "6 p2 invoke get k\n"
		   "7 p2 ok get k b\n"
		   "8 p2 invoke rm k\n"
		   "9 p2 ok rm k ok\n"
		   "10 p1 invoke get k\n"
		   "11 p1 ok get k -\n"
		   "12 p1 invoke rm k\n"
		   "13 p1 ok rm k not-found\n");
}
END_TEST

START_TEST(empty_and_comments)
{
	ASSERT_LIN("");
	ASSERT_LIN("# nothing\n\n   \n");
	ASSERT_LIN("0 p invoke get k\n1 p ok get k -\n");
}
END_TEST

#define OVERLAP_HIST \
	"0 p1 invoke put k a\n" \
	"5 p2 invoke put k b\n" \
	"10 p1 ok put k\n" \
	"12 p2 ok put k\n" \
	"20 p3 invoke get k\n" \
	"21 p3 ok get k %s\n" \
	"22 p3 invoke get k\n" \
	"23 p3 ok get k %s\n"

static lc_result overlap(const char *r1, const char *r2)
{
	char buf[512];
	snprintf(buf, sizeof buf, OVERLAP_HIST, r1, r2);
	return check_text(buf);
}

START_TEST(concurrent_writes_either_order)
{
	ck_assert_int_eq(overlap("a", "a"), LC_LINEARIZABLE);
	ck_assert_int_eq(overlap("b", "b"), LC_LINEARIZABLE);
	/* after both writes completed the value cannot flip back and forth */
	ck_assert_int_eq(overlap("a", "b"), LC_NOT_LINEARIZABLE);
	ck_assert_int_eq(overlap("b", "a"), LC_NOT_LINEARIZABLE);
	ck_assert_int_eq(overlap("-", "a"), LC_NOT_LINEARIZABLE);
}
END_TEST

START_TEST(read_concurrent_with_write)
{
	/* a read overlapping a write may see old or new, and two reads
	 * overlapping it may see old then new but not new then old */
#define FMT "0 w invoke put k a\n1 w ok put k\n" \
	    "10 w invoke put k b\n" \
	    "11 r1 invoke get k\n12 r1 ok get k %s\n" \
	    "13 r1 invoke get k\n14 r1 ok get k %s\n" \
	    "20 w ok put k\n"
	char buf[512];
	snprintf(buf, sizeof buf, FMT, "a", "b");
	ASSERT_LIN(buf);
	snprintf(buf, sizeof buf, FMT, "a", "a");
	ASSERT_LIN(buf);
	snprintf(buf, sizeof buf, FMT, "b", "b");
	ASSERT_LIN(buf);
	snprintf(buf, sizeof buf, FMT, "b", "a");
	ASSERT_NOT_LIN(buf);
}
END_TEST

START_TEST(info_write_took_effect_or_not)
{
#undef FMT
#define FMT "0 p1 invoke put k a\n1 p1 ok put k\n" \
	    "2 p2 invoke put k b\n3 p2 info put k\n" \
	    "10 p3 invoke get k\n11 p3 ok get k %s\n" \
	    "12 p3 invoke get k\n13 p3 ok get k %s\n"
	char buf[512];
	snprintf(buf, sizeof buf, FMT, "a", "a");
	ASSERT_LIN(buf); /* never took effect */
	snprintf(buf, sizeof buf, FMT, "b", "b");
	ASSERT_LIN(buf); /* took effect before the reads */
	snprintf(buf, sizeof buf, FMT, "a", "b");
	ASSERT_LIN(buf); /* took effect late: an info op never returns */
	snprintf(buf, sizeof buf, FMT, "b", "a");
	ASSERT_NOT_LIN(buf);
	/* an info write cannot take effect before it was invoked */
	ASSERT_NOT_LIN("0 p3 invoke get k\n1 p3 ok get k b\n"
		       "2 p2 invoke put k b\n3 p2 info put k\n");
	/* the same holds for a write whose invoke has no completion at all */
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		   "2 p2 invoke put k b\n"
		   "10 p3 invoke get k\n11 p3 ok get k b\n");
}
END_TEST

START_TEST(failed_ops_did_not_happen)
{
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 fail put k\n"
		   "2 p2 invoke get k\n3 p2 ok get k -\n");
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 fail put k\n"
		       "2 p2 invoke get k\n3 p2 ok get k a\n");
	/* failed and indeterminate reads constrain nothing */
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		   "2 p2 invoke get k\n3 p2 fail get k\n"
		   "4 p2 invoke get k\n5 p2 info get k\n");
}
END_TEST

START_TEST(rm_then_read_absent)
{
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		   "2 p1 invoke rm k\n3 p1 ok rm k\n"
		   "4 p2 invoke get k\n5 p2 ok get k -\n"
		   "6 p2 invoke rm k\n7 p2 ok rm k not-found\n");
	/* rm not-found is a read of absent */
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		       "2 p2 invoke rm k\n3 p2 ok rm k not-found\n");
	/* an info rm may or may not have happened */
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		   "2 p1 invoke rm k\n3 p1 info rm k\n"
		   "4 p2 invoke get k\n5 p2 ok get k a\n"
		   "6 p2 invoke get k\n7 p2 ok get k -\n");
}
END_TEST

START_TEST(strict_rm)
{
	const char *h = "0 p1 invoke rm k\n1 p1 ok rm k ok\n";
	lc_options o;
	lc_options_default(&o);
	ck_assert_int_eq(check_text_opts(h, &o), LC_LINEARIZABLE);
	o.strict_rm = 1;
	ck_assert_int_eq(check_text_opts(h, &o), LC_NOT_LINEARIZABLE);
}
END_TEST

START_TEST(equal_timestamps_are_concurrent)
{
	/* the get's invoke and the put's ok share a timestamp */
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		   "2 p1 invoke put k b\n5 p1 ok put k\n"
		   "5 p2 invoke get k\n6 p2 ok get k a\n");
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		       "2 p1 invoke put k b\n5 p1 ok put k\n"
		       "6 p2 invoke get k\n7 p2 ok get k a\n");
}
END_TEST

START_TEST(events_out_of_order_in_file)
{
	/* per-process logs concatenated: the file need not be time ordered */
	ASSERT_NOT_LIN("10 r invoke get k\n11 r ok get k a\n"
		       "0 w invoke put k a\n1 w ok put k\n"
		       "2 w invoke put k b\n3 w ok put k\n");
}
END_TEST

START_TEST(keys_are_independent)
{
	ASSERT_LIN("0 p1 invoke put x a\n1 p1 ok put x\n"
		   "2 p1 invoke put y a\n3 p1 ok put y\n"
		   "4 p1 invoke rm x\n5 p1 ok rm x\n"
		   "6 p2 invoke get y\n7 p2 ok get y a\n"
		   "8 p2 invoke get x\n9 p2 ok get x -\n");
}
END_TEST

/* ------------------------------------------------------------------ */
/* rejected histories                                                  */

START_TEST(stale_read)
{
	ck_assert_int_eq(check_text("1000 w1 invoke put f v1\n1100 w1 ok put f\n"
				    "1200 w2 invoke put f v2\n1300 w2 ok put f\n"
				    "1400 r1 invoke get f\n1500 r1 ok get f v1\n"),
			 LC_NOT_LINEARIZABLE);
	/* the report names the key, the read, its value and the last write */
	ck_assert_ptr_nonnull(strstr(g_report, "key f: NOT linearizable"));
	ck_assert_ptr_nonnull(strstr(g_report, "process r1 get f -> \"v1\""));
	ck_assert_ptr_nonnull(strstr(g_report, "t=1400 line 5"));
	ck_assert_ptr_nonnull(strstr(g_report, "process w2 put f v2"));
}
END_TEST

START_TEST(lost_write)
{
	/* an acknowledged write that later reads never see */
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		       "2 p1 invoke put k b\n3 p1 ok put k\n"
		       "10 p2 invoke get k\n11 p2 ok get k a\n"
		       "12 p3 invoke get k\n13 p3 ok get k a\n");
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		       "10 p2 invoke get k\n11 p2 ok get k -\n");
	ck_assert_ptr_nonnull(strstr(g_report, "get k -> absent"));
}
END_TEST

START_TEST(never_written_value)
{
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		       "2 p2 invoke get k\n3 p2 ok get k zzz\n");
	ck_assert_ptr_nonnull(strstr(g_report, "never written"));
	/* nor a value written only after the read completed */
	ASSERT_NOT_LIN("2 p2 invoke get k\n3 p2 ok get k a\n"
		       "4 p1 invoke put k a\n5 p1 ok put k\n");
	/* nor a value written to another key */
	ASSERT_NOT_LIN("0 p1 invoke put x a\n1 p1 ok put x\n"
		       "2 p2 invoke get k\n3 p2 ok get k a\n");
}
END_TEST

START_TEST(absent_after_put_without_rm)
{
	ASSERT_NOT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		       "2 p1 invoke get k\n3 p1 ok get k a\n"
		       "4 p2 invoke get k\n5 p2 ok get k -\n");
	/* but fine if an rm (even indeterminate) could explain it */
	ASSERT_LIN("0 p1 invoke put k a\n1 p1 ok put k\n"
		   "2 p1 invoke get k\n3 p1 ok get k a\n"
		   "3 p3 invoke rm k\n"
		   "4 p2 invoke get k\n5 p2 ok get k -\n");
}
END_TEST

/* ------------------------------------------------------------------ */
/* parsing                                                             */

START_TEST(malformed_input)
{
	assert_parse_error("0 p invoke put k a\nfoo\n", 2);
	assert_parse_error("x p invoke put k a\n", 1);
	assert_parse_error("-1 p invoke put k a\n", 1);
	assert_parse_error("99999999999999999999999 p invoke put k a\n", 1);
	assert_parse_error("0 p invoke frob k\n", 1);
	assert_parse_error("0 p begin put k a\n", 1);
	assert_parse_error("0 p invoke put k\n", 1);            /* no value */
	assert_parse_error("0 p invoke put k -\n", 1);          /* reserved */
	assert_parse_error("0 p invoke get k v\n", 1);          /* extra */
	assert_parse_error("0 p invoke put k a b\n", 1);        /* extra */
	assert_parse_error("# c\n0 p ok put k\n", 2);           /* no invoke */
	assert_parse_error("0 p invoke put k a\n1 p invoke get k\n", 2);
	assert_parse_error("0 p invoke put k a\n1 p ok get k a\n", 2);
	assert_parse_error("0 p invoke put k a\n1 p ok put j\n", 2);
	assert_parse_error("0 p invoke put k a\n1 p ok put k b\n", 2);
	assert_parse_error("5 p invoke put k a\n4 p ok put k\n", 2);
	assert_parse_error("0 p invoke get k\n1 p ok get k\n", 2);
	assert_parse_error("0 p invoke rm k\n1 p ok rm k maybe\n", 2);
	assert_parse_error("0 p invoke rm k\n1 p fail rm k x\n", 2);
	assert_parse_error("0 p invoke put k a\n\n\n1 p ok put k a x y z\n", 4);
}
END_TEST

START_TEST(lenient_input)
{
	/* CRLF, tabs, repeated value on completion, leading blanks, comment */
	ASSERT_LIN("0\tp invoke put k a\r\n  1 p ok put k a\r\n# x\r\n"
		   "2 p invoke get k\n3 p ok get k a");
	/* a process may go on after an indeterminate op */
	ASSERT_LIN("0 p invoke put k a\n1 p info put k\n2 p invoke get k\n3 p ok get k a\n");
}
END_TEST

/* ------------------------------------------------------------------ */
/* random histories from a simulated register                          */

typedef struct gop {
	int proc, key;
	lc_fn fn;
	lc_status st;
	int val;      /* put: value id; get: value id read, -1 absent */
	int found;    /* rm */
	int applies;  /* takes effect */
	uint64_t inv, eff, ret;
} gop;

static uint64_t rng_state;
static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static int cmp_eff(const void *a, const void *b)
{
	const gop *x = *(const gop *const *)a, *y = *(const gop *const *)b;
	return x->eff < y->eff ? -1 : x->eff > y->eff;
}

typedef struct gev {
	uint64_t t;
	size_t op;
	int ret;
} gev;

static int cmp_ev(const void *a, const void *b)
{
	const gev *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->ret != y->ret)
		return x->ret - y->ret;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* Simulate nproc processes on nkeys registers: each op takes effect
 * atomically at a random instant inside its interval (or not at all, if it
 * fails, or maybe, if it is indeterminate). */
static gop *simulate(size_t nops, int nproc, int nkeys, uint64_t seed)
{
	gop *ops = calloc(nops, sizeof *ops);
	uint64_t *clock = calloc((size_t)nproc, sizeof *clock);
	gop **byeff = malloc(nops * sizeof *byeff);
	int *reg = malloc((size_t)nkeys * sizeof *reg);
	int nextval = 0;
	ck_assert(ops && clock && byeff && reg);
	rng_state = seed * 2654435761u + 88172645463325252ULL;
	for (size_t i = 0; i < nops; i++) {
		gop *o = &ops[i];
		o->proc = (int)rnd((uint64_t)nproc);
		o->key = (int)rnd((uint64_t)nkeys);
		uint64_t r = rnd(100);
		o->fn = r < 45 ? LC_PUT : r < 90 ? LC_GET : LC_RM;
		if (o->fn == LC_PUT)
			o->val = nextval++;
		r = rnd(100);
		o->st = r < 3 ? LC_FAILED : r < 6 ? LC_INFO : LC_DONE;
		o->applies = o->st == LC_DONE || (o->st == LC_INFO && rnd(2));
		o->inv = clock[o->proc] + 1 + rnd(40);
		o->eff = o->inv + 1 + rnd(60);
		o->ret = o->eff + 1 + rnd(60);
		clock[o->proc] = o->ret;
		byeff[i] = o;
	}
	qsort(byeff, nops, sizeof *byeff, cmp_eff);
	for (int k = 0; k < nkeys; k++)
		reg[k] = -1;
	for (size_t i = 0; i < nops; i++) {
		gop *o = byeff[i];
		if (!o->applies)
			continue;
		switch (o->fn) {
		case LC_PUT:
			reg[o->key] = o->val;
			break;
		case LC_GET:
			o->val = reg[o->key];
			break;
		case LC_RM:
			o->found = reg[o->key] >= 0;
			reg[o->key] = -1;
			break;
		}
	}
	free(clock);
	free(byeff);
	free(reg);
	return ops;
}

static char *render(const gop *ops, size_t nops)
{
	static const char *types[] = {"invoke", "ok", "fail", "info"};
	gev *ev = malloc(2 * nops * sizeof *ev);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert(ev && f);
	for (size_t i = 0; i < nops; i++) {
		ev[2 * i] = (gev){ops[i].inv, i, 0};
		ev[2 * i + 1] = (gev){ops[i].ret, i, 1};
	}
	qsort(ev, 2 * nops, sizeof *ev, cmp_ev);
	for (size_t j = 0; j < 2 * nops; j++) {
		const gop *o = &ops[ev[j].op];
		const char *fn = o->fn == LC_PUT ? "put" : o->fn == LC_GET ? "get" : "rm";
		fprintf(f, "%llu p%d %s %s k%d", (unsigned long long)ev[j].t, o->proc,
			ev[j].ret ? types[o->st] : "invoke", fn, o->key);
		if (!ev[j].ret && o->fn == LC_PUT)
			fprintf(f, " v%d", o->val);
		if (ev[j].ret && o->st == LC_DONE && o->fn == LC_GET) {
			if (o->val < 0)
				fputs(" -", f);
			else
				fprintf(f, " v%d", o->val);
		}
		if (ev[j].ret && o->st == LC_DONE && o->fn == LC_RM)
			fputs(o->found ? " ok" : " not-found", f);
		fputc('\n', f);
	}
	fclose(f);
	free(ev);
	return buf;
}

/* Turn one read into a stale read: pick a completed get R, a completed put
 * W2 on its key that finished before R began, and an earlier completed put
 * W (finished before W2 began) of another value; R now returns W's value,
 * which (values being unique) no linearization can explain. */
static int mutate_stale(gop *ops, size_t nops)
{
	for (size_t r = nops; r-- > 0;) {
		gop *R = &ops[r];
		if (R->fn != LC_GET || R->st != LC_DONE)
			continue;
		for (size_t j = 0; j < nops; j++) {
			gop *W2 = &ops[j];
			if (W2->fn != LC_PUT || W2->st != LC_DONE || W2->key != R->key ||
			    W2->ret >= R->inv)
				continue;
			for (size_t i = 0; i < nops; i++) {
				gop *W = &ops[i];
				if (W->fn == LC_PUT && W->st == LC_DONE && W->key == R->key &&
				    W->ret < W2->inv && W->val != R->val) {
					R->val = W->val;
					return 1;
				}
			}
		}
	}
	return 0;
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void random_case(size_t nops, int nproc, int nkeys, uint64_t seed)
{
	struct timespec t0;
	gop *ops = simulate(nops, nproc, nkeys, seed);
	char *text = render(ops, nops);
	if (getenv("LINCHECK_DUMP")) {
		char fn[64];
		snprintf(fn, sizeof fn, "/tmp/lc-%llu.hist", (unsigned long long)seed);
		FILE *d = fopen(fn, "w");
		if (d) {
			fputs(text, d);
			fclose(d);
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(check_text(text) == LC_LINEARIZABLE,
		      "simulated history rejected (seed %llu):\n%s",
		      (unsigned long long)seed, g_report);
	ck_assert_msg(elapsed_s(&t0) < 10.0, "too slow: %.2fs", elapsed_s(&t0));
	free(text);

	ck_assert(mutate_stale(ops, nops));
	text = render(ops, nops);
	if (getenv("LINCHECK_DUMP")) {
		char fn[64];
		snprintf(fn, sizeof fn, "/tmp/lc-%llu-bad.hist", (unsigned long long)seed);
		FILE *d = fopen(fn, "w");
		if (d) {
			fputs(text, d);
			fclose(d);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(check_text(text), LC_NOT_LINEARIZABLE);
	ck_assert_msg(elapsed_s(&t0) < 10.0, "too slow: %.2fs", elapsed_s(&t0));
	free(text);
	free(ops);
}

START_TEST(random_linearizable_and_mutated)
{
	random_case(4000, 6, 3, 1);
	random_case(3000, 8, 1, 2);
	random_case(5000, 5, 10, 3);
}
END_TEST

START_TEST(random_many_seeds)
{
	for (uint64_t seed = 10; seed < 60; seed++)
		random_case(300, 4, 2, seed);
}
END_TEST

/* The pre-check must never reject what the search accepts, and the
 * verdicts must agree: small random histories, one read changed to a
 * random value (often still linearizable). */
START_TEST(precheck_agrees_with_search)
{
	int rejected = 0;
	for (uint64_t seed = 100; seed < 400; seed++) {
		size_t nops = 40;
		gop *ops = simulate(nops, 4, 1, seed);
		for (size_t i = 0; i < nops; i++) {
			if (ops[i].fn == LC_GET && ops[i].st == LC_DONE) {
				ops[i].val = (int)rnd(12) - 1;
				break;
			}
		}
		char *text = render(ops, nops);
		lc_options o;
		lc_options_default(&o);
		lc_result with = check_text_opts(text, &o);
		o.no_precheck = 1;
		lc_result without = check_text_opts(text, &o);
		ck_assert_msg(with == without, "seed %llu: %d with pre-check, %d without:\n%s",
			      (unsigned long long)seed, with, without, text);
		rejected += with == LC_NOT_LINEARIZABLE;
		free(text);
		free(ops);
	}
	ck_assert_int_gt(rejected, 20);
}
END_TEST

/* ------------------------------------------------------------------ */
/* time bound                                                          */

START_TEST(timeout_gives_unknown)
{
	/* 30 concurrent writes and, inside them, reads of v0, v1, v0: to refute
	 * it the search must visit every subset of the other writes (the fast
	 * pre-check cannot: no write has completed before the reads) */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	for (int i = 0; i < 30; i++)
		fprintf(f, "%d w%d invoke put k v%d\n", i, i, i);
	fputs("100 r invoke get k\n101 r ok get k v0\n"
	      "102 r invoke get k\n103 r ok get k v1\n"
	      "104 r invoke get k\n105 r ok get k v0\n", f);
	for (int i = 0; i < 30; i++)
		fprintf(f, "%d w%d ok put k\n", 1000 + i, i);
	fclose(f);
	lc_options o;
	lc_options_default(&o);
	o.timeout_ms = 200;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(check_text_opts(buf, &o), LC_UNKNOWN);
	ck_assert_msg(elapsed_s(&t0) < 5.0, "timeout not honoured: %.2fs", elapsed_s(&t0));
	ck_assert_ptr_nonnull(strstr(g_report, "timeout"));
	free(buf);
}
END_TEST

static Suite *lincheck_suite(void)
{
	Suite *s = suite_create("lincheck");
	TCase *tc = tcase_create("accept");
	tcase_add_test(tc, sequential);
	tcase_add_test(tc, empty_and_comments);
	tcase_add_test(tc, concurrent_writes_either_order);
	tcase_add_test(tc, read_concurrent_with_write);
	tcase_add_test(tc, info_write_took_effect_or_not);
	tcase_add_test(tc, failed_ops_did_not_happen);
	tcase_add_test(tc, rm_then_read_absent);
	tcase_add_test(tc, strict_rm);
	tcase_add_test(tc, equal_timestamps_are_concurrent);
	tcase_add_test(tc, events_out_of_order_in_file);
	tcase_add_test(tc, keys_are_independent);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_test(tc, stale_read);
	tcase_add_test(tc, lost_write);
	tcase_add_test(tc, never_written_value);
	tcase_add_test(tc, absent_after_put_without_rm);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, malformed_input);
	tcase_add_test(tc, lenient_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_linearizable_and_mutated);
	tcase_add_test(tc, random_many_seeds);
	tcase_add_test(tc, precheck_agrees_with_search);
	tcase_add_test(tc, timeout_gives_unknown);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lincheck_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(g_report);
	return failed ? 1 : 0;
}
