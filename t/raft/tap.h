/* Shared main() body for the Check-based Raft tests: TAP on stdout. */
#ifndef RCFS_T_RAFT_TAP_H
#define RCFS_T_RAFT_TAP_H

#include <check.h>
#include <stdlib.h>

#include "cluster.h"

/* Asserts that no invariant checker fired. */
#define CL_OK(c) ck_assert_msg(!(c)->failed, "invariant: %s", (c)->fail_msg)

static inline int tap_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_tap(sr, "-");
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
