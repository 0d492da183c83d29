#include "tap.h"
START_TEST(placeholder) { ck_assert(1); }
END_TEST
int main(void)
{
	Suite *s = suite_create("readindex");
	TCase *tc = tcase_create("readindex");
	tcase_add_test(tc, placeholder);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
