/* Unit tests: hybrid logical clock driven by a simulated physical clock. */
#include "unit/check_main.h"
#include "clock/clock.h"
#include "clock/hlc.h"

#define MS CLOCK_NS_PER_MS

static int64_t fake_ns;

static int64_t
fake_phys(void *arg)
{
	(void)arg;
	return fake_ns;
}

START_TEST(test_local_events)
{
	struct hlc *h = hlc_create(fake_phys, NULL, 0, 1000);
	hlc_ts a, b, c;

	fake_ns = 1000 * MS + 123;  /* sub-ms part ignored */
	a = hlc_now(h);
	ck_assert_uint_eq(a, HLC_MAKE(1000, 0));
	b = hlc_now(h);
	ck_assert_uint_eq(b, HLC_MAKE(1000, 1));
	c = hlc_now(h);
	ck_assert_uint_eq(c, HLC_MAKE(1000, 2));
	ck_assert_uint_eq(hlc_last(h), c);
	fake_ns = 1001 * MS;
	ck_assert_uint_eq(hlc_now(h), HLC_MAKE(1001, 0));  /* c resets */
	hlc_destroy(h);
}
END_TEST

START_TEST(test_wall_clock_backwards)
{
	struct hlc *h = hlc_create(fake_phys, NULL, 0, 1000);
	hlc_ts prev, t;
	int i;

	fake_ns = 5000 * MS;
	prev = hlc_now(h);
	fake_ns = 2000 * MS;   /* the wall clock is stepped back 3 s */
	for (i = 0; i < 10; i++) {
		t = hlc_now(h);
		ck_assert_uint_gt(t, prev);
		ck_assert_uint_eq(HLC_PHYS_MS(t), 5000);
		prev = t;
	}
	ck_assert_uint_eq(HLC_LOGICAL(prev), 10);
	fake_ns = 5000 * MS + 1;
	ck_assert_uint_gt(hlc_now(h), prev);
	fake_ns = 5001 * MS;
	ck_assert_uint_eq(hlc_now(h), HLC_MAKE(5001, 0));
	hlc_destroy(h);
}
END_TEST

START_TEST(test_logical_overflow_carries)
{
	struct hlc *h = hlc_create(fake_phys, NULL, 0, 1000);
	hlc_ts prev, t;
	int i;

	fake_ns = 7 * MS;
	prev = hlc_now(h);
	for (i = 0; i < 70000; i++) {
		t = hlc_now(h);
		ck_assert_uint_gt(t, prev);
		prev = t;
	}
	ck_assert_uint_eq(HLC_PHYS_MS(prev), 8);
	hlc_destroy(h);
}
END_TEST

START_TEST(test_update_rules)
{
	struct hlc *h = hlc_create(fake_phys, NULL, 0, 1000);
	hlc_ts t;

	fake_ns = 100 * MS;
	hlc_now(h);                                            /* (100,0) */
	/* Message ahead: l = m.l, c = m.c + 1. */
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(150, 7), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(150, 8));
	/* Message behind: l = l', c = c' + 1. */
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(120, 50), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(150, 9));
	/* Same l: c = max(c', m.c) + 1. */
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(150, 40), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(150, 41));
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(150, 3), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(150, 42));
	/* Physical time ahead of both: l = pt, c = 0. */
	fake_ns = 200 * MS;
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(150, 99), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(200, 0));
	/* pt equal to m.l: m.c + 1. */
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(200, 5), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(200, 6));
	/* The receive timestamp exceeds the message's (happened-before). */
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(900, 0), NULL), CLOCK_OK);
	ck_assert_uint_gt(hlc_last(h), HLC_MAKE(900, 0));
	hlc_destroy(h);
}
END_TEST

START_TEST(test_max_offset)
{
	struct hlc *h = hlc_create(fake_phys, NULL, 500, 1000);
	hlc_ts before, t = 0;

	fake_ns = 10000 * MS;
	before = hlc_now(h);
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(20000, 0), &t), CLOCK_ERANGE);
	ck_assert_uint_eq(hlc_last(h), before);
	ck_assert_uint_eq(t, 0);
	ck_assert_int_eq(hlc_update(h, HLC_MAKE(10500, 0), &t), CLOCK_OK);
	ck_assert_uint_eq(t, HLC_MAKE(10500, 1));
	hlc_destroy(h);
}
END_TEST

START_TEST(test_restart_high_water)
{
	struct hlc *h = hlc_create(fake_phys, NULL, 0, 2000);
	hlc_ts hw, last, t;
	int i;

	fake_ns = 50000 * MS;
	hlc_now(h);
	hw = hlc_high_water(h);         /* persisted by the caller */
	ck_assert_uint_eq(hw, HLC_MAKE(52000, 0));
	ck_assert(!hlc_high_water_exceeded(h));
	for (i = 0; i < 100; i++) {
		fake_ns += MS;
		last = hlc_now(h);
	}
	ck_assert(!hlc_high_water_exceeded(h));
	ck_assert_uint_lt(last, hw);
	hlc_destroy(h);

	/* Restart with the wall clock an hour behind. */
	fake_ns = (50000 - 3600000) * MS;
	h = hlc_create(fake_phys, NULL, 0, 2000);
	hlc_restore(h, hw);
	t = hlc_now(h);
	ck_assert_uint_gt(t, hw);
	ck_assert_uint_gt(t, last);
	/* Restoring an older mark never moves the clock back. */
	hlc_restore(h, HLC_MAKE(1, 0));
	ck_assert_uint_gt(hlc_now(h), t);
	hlc_destroy(h);

	/* Missing the persist deadline is reported. */
	h = hlc_create(fake_phys, NULL, 0, 10);
	fake_ns = 1000 * MS;
	hlc_high_water(h);
	fake_ns = 1011 * MS;
	hlc_now(h);
	ck_assert(hlc_high_water_exceeded(h));
	hlc_high_water(h);
	ck_assert(!hlc_high_water_exceeded(h));
	/* Pre-epoch physical time counts as 0. */
	fake_ns = -5;
	ck_assert_uint_gt(hlc_now(h), 0);
	hlc_destroy(h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("clock-hlc");
	TCase *tc = tcase_create("hlc");

	tcase_add_test(tc, test_local_events);
	tcase_add_test(tc, test_wall_clock_backwards);
	tcase_add_test(tc, test_logical_overflow_carries);
	tcase_add_test(tc, test_update_rules);
	tcase_add_test(tc, test_max_offset);
	tcase_add_test(tc, test_restart_high_water);
	suite_add_tcase(s, tc);
	return check_run(s);
}
