/* Unit tests: file name rules (src/util/name.c). */
#include <string.h>

#include "util/name.h"
#include "t/unit/check_main.h"

static const char *check(const char *s) { return name_check(s, strlen(s)); }

START_TEST(valid)
{
	const char *ok[] = { "a", "a/b", "docs/report.pdf", "x.y", "..a", "a..", ".hidden", "a/.b/c",
	    "ünïcödé/файл", "emoji/\xf0\x9f\x98\x80", "with space", NULL };
	for (int i = 0; ok[i]; i++)
		ck_assert_msg(check(ok[i]) == NULL, "'%s' rejected: %s", ok[i], check(ok[i]));
}
END_TEST

START_TEST(invalid)
{
	const char *bad[] = { "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "./a", "a/..",
	    "\xff", "a\xc3", "\xc0\xaf" /* overlong '/' */, "\xed\xa0\x80" /* surrogate */,
	    "\xf4\x90\x80\x80" /* > U+10FFFF */, NULL };
	for (int i = 0; bad[i]; i++)
		ck_assert_msg(check(bad[i]) != NULL, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(nul_and_length)
{
	char buf[RCFS_NAME_MAX + 2];

	ck_assert_str_eq(name_check("a\0b", 3), "name contains a NUL byte");
	memset(buf, 'x', sizeof buf);
	ck_assert_ptr_null(name_check(buf, RCFS_NAME_MAX));
	ck_assert_str_eq(name_check(buf, RCFS_NAME_MAX + 1), "name longer than 1024 bytes");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("name");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, valid);
	tcase_add_test(tc, invalid);
	tcase_add_test(tc, nul_and_length);
	suite_add_tcase(s, tc);
	return check_run(s);
}
