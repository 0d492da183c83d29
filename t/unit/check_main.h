/* Shared main() for the Check-based unit tests: TAP on stdout, no fork. */
#ifndef RCFS_CHECK_MAIN_H
#define RCFS_CHECK_MAIN_H
#include <check.h>

static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_tap(sr, "-");
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
#endif
