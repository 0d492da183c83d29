/* Unit tests: file name rules (src/util/name.c). */
#include <string.h>

#include "util/name.h"
#include "t/unit/check_main.h"

static const char *check(const char *s) { return name_check(s, strlen(s)); }

START_TEST(valid)
{
	const char *ok[] = { "a", "a/b", "docs/report.pdf", "x.y", "..a", "a..", ".hidden", "a/.b/c",
	    "ünïcödé/файл", "emoji/\xf0\x9f\x98\x80", "with space", "tilde~/ok",
	    "c1/\xc2\x85" /* U+0085 is valid UTF-8 and not a C0 control */, NULL };
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

/* C0 controls and DEL: a name must print as one line (issue 16). */
START_TEST(controls)
{
	const char *bad[] = { "new\nline", "tab\there", "cr\r", "\x1b[2Jclear", "del\x7f", "a/\x01",
	    "\x1f", "\t", "dir\n/file", NULL };
	char buf[4];

	for (int i = 0; bad[i]; i++) {
		const char *why = check(bad[i]);
		ck_assert_msg(why != NULL, "'%s' accepted", bad[i]);
		ck_assert_str_eq(why, "name contains a control character");
	}
	/* Every byte 0x01..0x1f and 0x7f alone and in the middle of a name;
	 * every other ASCII byte but '/' is accepted there. */
	for (int c = 1; c < 0x80; c++) {
		buf[0] = 'a';
		buf[1] = (char)c;
		buf[2] = 'b';
		buf[3] = '\0';
		if (c < 0x20 || c == 0x7f)
			ck_assert_msg(name_check(buf, 3) != NULL && name_check(buf + 1, 1) != NULL,
			    "byte 0x%02x accepted", c);
		else
			ck_assert_msg(name_check(buf, 3) == NULL, "byte 0x%02x rejected: %s", c,
			    name_check(buf, 3));
	}
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
	tcase_add_test(tc, controls);
	tcase_add_test(tc, nul_and_length);
	suite_add_tcase(s, tc);
	return check_run(s);
}
