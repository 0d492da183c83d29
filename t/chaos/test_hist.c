/* Unit tests of the chaos harness's history code (hist.c). */
#include "hist.h"
#include "../unit/check_main.h"

#include <string.h>

static struct hist_outcome ex(int c) { struct hist_outcome o = { 1, c }; return o; }
static struct hist_outcome sig(int s) { struct hist_outcome o = { 0, s }; return o; }

START_TEST(classify_writes)
{
	int a, i;

	ck_assert_int_eq(hist_classify(H_PUT, ex(0), &a, &i), H_OK);
	/* unavailable / timeout / killed / internal: indeterminate */
	ck_assert_int_eq(hist_classify(H_PUT, ex(4), &a, &i), H_INFO);
	ck_assert_int_eq(hist_classify(H_PUT, ex(1), &a, &i), H_INFO);
	ck_assert_int_eq(hist_classify(H_PUT, sig(9), &a, &i), H_INFO);
	ck_assert_int_eq(hist_classify(H_PUT, ex(2), &a, &i), H_FAIL);
	ck_assert_int_eq(hist_classify(H_RM, ex(0), &a, &i), H_OK);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(hist_classify(H_RM, ex(3), &a, &i), H_OK);
	ck_assert_int_eq(a, 1);
	ck_assert_int_eq(hist_classify(H_RM, ex(4), &a, &i), H_INFO);
	/* exit 3 of a put is not "absent": unknown error, indeterminate */
	ck_assert_int_eq(hist_classify(H_PUT, ex(3), &a, &i), H_INFO);
}
END_TEST

START_TEST(classify_reads)
{
	int a, i;

	ck_assert_int_eq(hist_classify(H_GET, ex(0), &a, &i), H_OK);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(hist_classify(H_GET, ex(3), &a, &i), H_OK);
	ck_assert_int_eq(a, 1);
	ck_assert_int_eq(hist_classify(H_GET, ex(4), &a, &i), H_FAIL);
	ck_assert_int_eq(hist_classify(H_GET, sig(9), &a, &i), H_FAIL);
	ck_assert_int_eq(hist_classify(H_GET, ex(5), &a, &i), H_FAIL);
	ck_assert_int_eq(i, 1);
}
END_TEST

START_TEST(tokens)
{
	char out[80];

	ck_assert_uint_eq(hist_token((const unsigned char *)"c3-17", 5, out, sizeof out), 5);
	ck_assert_str_eq(out, "c3-17");
	hist_token((const unsigned char *)"", 0, out, sizeof out);
	ck_assert_str_eq(out, "x:empty");
	hist_token((const unsigned char *)"-", 1, out, sizeof out);
	ck_assert_str_eq(out, "x:2d");              /* never the reserved "absent" */
	hist_token((const unsigned char *)"a b\n", 4, out, sizeof out);
	ck_assert_str_eq(out, "x:6120620a");
	{
		unsigned char big[100];
		memset(big, 'z', sizeof big);
		hist_token(big, sizeof big, out, sizeof out);
		ck_assert_uint_eq(strlen(out), 2 + 64 + 3);
		ck_assert(strcmp(out + 66, "...") == 0);
	}
}
END_TEST

START_TEST(format_lines)
{
	char line[256];

	hist_format(line, sizeof line, 12345, "c1", H_INVOKE, H_PUT, "r0", "c1-1");
	ck_assert_str_eq(line, "12345 c1 invoke put r0 c1-1\n");
	hist_format(line, sizeof line, 12346, "c1", H_OK, H_PUT, "r0", NULL);
	ck_assert_str_eq(line, "12346 c1 ok put r0\n");
	hist_format(line, sizeof line, 7, "c2", H_OK, H_GET, "r0", "-");
	ck_assert_str_eq(line, "7 c2 ok get r0 -\n");
	hist_format(line, sizeof line, 8, "c2", H_INFO, H_RM, "r1", NULL);
	ck_assert_str_eq(line, "8 c2 info rm r1\n");
}
END_TEST

START_TEST(monotonic)
{
	uint64_t a = hist_now_ns(), b = hist_now_ns();
	ck_assert(a > 0 && b >= a);
}
END_TEST

START_TEST(tally)
{
	const char *h =
	    "# comment\n"
	    "1 c1 invoke put r0 c1-1\n"
	    "2 c2 invoke get r0\n"
	    "3 c1 ok put r0\n"
	    "4 c2 ok get r0 c1-1\n"
	    "5 c1 invoke rm r0\n"
	    "6 c1 info rm r0\n"
	    "7 c2 invoke get r0\n"
	    "8 c2 fail get r0\n"
	    "9 c3 invoke put r1 c3-1\n"
	    "garbage\n";
	FILE *f = fmemopen((void *)h, strlen(h), "r");
	struct hist_tally t = { 0 };

	ck_assert_int_eq(hist_tally_stream(f, &t), 0);
	fclose(f);
	ck_assert_int_eq(t.invoke, 5);
	ck_assert_int_eq(t.ok, 2);
	ck_assert_int_eq(t.fail, 1);
	ck_assert_int_eq(t.info, 1);
	ck_assert_int_eq(t.pending, 1);
	ck_assert_int_eq(t.bad_lines, 1);
	ck_assert_int_eq(t.ops[H_GET][H_OK], 1);
	ck_assert_int_eq(t.ops[H_RM][H_INFO], 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chaos-hist");
	TCase *tc = tcase_create("hist");

	tcase_add_test(tc, classify_writes);
	tcase_add_test(tc, classify_reads);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, format_lines);
	tcase_add_test(tc, monotonic);
	tcase_add_test(tc, tally);
	suite_add_tcase(s, tc);
	return check_run(s);
}
