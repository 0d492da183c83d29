/* Unit tests: SNTP codec and sanity tests, RFC 5905 formulas, clock filter,
 * selection, peer skew.  Known inputs, exact expectations. */
#include <stdlib.h>
#include <string.h>

#include "unit/check_main.h"
#include "clock/clock.h"
#include "clock/filter.h"
#include "clock/ntp.h"
#include "clock/peer.h"
#include "clock/select.h"

#define MS CLOCK_NS_PER_MS
#define SEC CLOCK_NS_PER_SEC
#define OUR_XMT 0x1122334455667788ULL

static uint32_t
code(const char *s)
{
	return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | (uint32_t)s[3];
}

/* A good reply to a request whose transmit timestamp was OUR_XMT. */
static void
good_reply(struct ntp_packet *r)
{
	memset(r, 0, sizeof(*r));
	r->leap = NTP_LEAP_NONE;
	r->version = 4;
	r->mode = NTP_MODE_SERVER;
	r->stratum = 2;
	r->precision = -20;
	r->root_delay = ntp_short_from_ns(10 * MS);
	r->root_disp = ntp_short_from_ns(5 * MS);
	r->refid = code("GPS\0");
	r->reference_ts = ntp_ts_from_ns(1700000000 * SEC);
	r->origin_ts = OUR_XMT;
	r->receive_ts = ntp_ts_from_ns(1700000001 * SEC);
	r->transmit_ts = ntp_ts_from_ns(1700000001 * SEC + 50000);
}

START_TEST(test_roundtrip)
{
	struct ntp_packet p, q;
	uint8_t buf[NTP_PACKET_LEN];

	memset(&q, 0, sizeof(q));  /* padding, for memcmp */
	good_reply(&p);
	p.leap = NTP_LEAP_61;
	p.poll = 6;
	ck_assert_uint_eq(ntp_packet_encode(&p, buf), NTP_PACKET_LEN);
	ck_assert_uint_eq(buf[0], 0x64);          /* LI 1, VN 4, mode 4 */
	ck_assert_uint_eq(buf[1], 2);
	ck_assert_uint_eq(buf[3], (uint8_t)-20);
	ck_assert_int_eq(ntp_packet_decode(&q, buf, sizeof(buf)), CLOCK_OK);
	ck_assert_int_eq(memcmp(&p, &q, sizeof(p)), 0);
	ck_assert_int_eq(ntp_packet_decode(&q, buf, NTP_PACKET_LEN - 1), CLOCK_EFORMAT);

	ntp_request_init(&p, OUR_XMT);
	ntp_packet_encode(&p, buf);
	ck_assert_uint_eq(buf[0], 0x23);          /* LI 0, VN 4, mode 3 */
	ck_assert_uint_eq(buf[40], 0x11);
	ck_assert_uint_eq(buf[47], 0x88);
}
END_TEST

START_TEST(test_timestamps)
{
	int64_t now = 1700000000LL * SEC;
	/* 2036-02-07 06:28:16 UTC: NTP era 0 ends. */
	int64_t era1 = 2085978496LL * SEC;

	ck_assert_uint_eq(ntp_ts_from_ns(0), (uint64_t)NTP_UNIX_OFFSET << 32);
	ck_assert_uint_eq(ntp_ts_from_ns(SEC / 2) & 0xffffffffu, 0x80000000u);
	ck_assert_int_eq(ntp_ts_to_ns(ntp_ts_from_ns(now + 123456789), now), now + 123456789);
	ck_assert_int_eq(ntp_ts_to_ns(ntp_ts_from_ns(-SEC / 4), 0), -SEC / 4);
	/* Across the era boundary, both directions. */
	ck_assert_uint_eq(ntp_ts_from_ns(era1 + 10 * SEC) >> 32, 10);
	ck_assert_int_eq(ntp_ts_to_ns(ntp_ts_from_ns(era1 + 10 * SEC), era1 - 100 * SEC),
			 era1 + 10 * SEC);
	ck_assert_int_eq(ntp_ts_to_ns(ntp_ts_from_ns(era1 - 10 * SEC), era1 + 100 * SEC),
			 era1 - 10 * SEC);
	ck_assert_int_eq(ntp_short_to_ns(0x00010000), SEC);
	ck_assert_int_eq(ntp_short_to_ns(ntp_short_from_ns(250 * MS)), 250 * MS);
	ck_assert_int_eq(ntp_log2_to_ns(-1), SEC / 2);
	ck_assert_int_eq(ntp_log2_to_ns(2), 4 * SEC);
}
END_TEST

START_TEST(test_check_good)
{
	struct ntp_packet r;
	enum ntp_kod kod;
	char buf[NTP_TESTS_STRLEN];

	good_reply(&r);
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, &kod), 0);
	ck_assert_int_eq(kod, NTP_KOD_NONE);
	ck_assert_str_eq(ntp_tests_str(0, buf, sizeof(buf)), "11111111");
	r.version = 3;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), 0);
}
END_TEST

START_TEST(test_check_each)
{
	struct ntp_packet r;
	enum ntp_kod kod;
	char buf[NTP_TESTS_STRLEN];
	unsigned t;

	/* Format: mode and version. */
	good_reply(&r); r.mode = NTP_MODE_CLIENT;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_F);
	good_reply(&r); r.mode = NTP_MODE_BROADCAST;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_F);
	good_reply(&r); r.version = 0;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_F);
	good_reply(&r); r.version = 5;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_F);
	/* Test 1: duplicate of the last accepted reply. */
	good_reply(&r);
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, r.transmit_ts, NULL), NTP_TEST_1);
	/* Test 2: wrong origin (spoofed or stale reply), none outstanding. */
	good_reply(&r); r.origin_ts = OUR_XMT + 1;
	t = ntp_check_reply(&r, OUR_XMT, 0, NULL);
	ck_assert_uint_eq(t, NTP_TEST_2);
	ck_assert_str_eq(ntp_tests_str(t, buf, sizeof(buf)), "11011111 bogus");
	good_reply(&r);
	ck_assert_uint_eq(ntp_check_reply(&r, 0, 0, NULL), NTP_TEST_2);
	/* Test 3: zero timestamps, transmit before receive. */
	good_reply(&r); r.transmit_ts = 0;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_3);
	good_reply(&r); r.receive_ts = 0;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_3);
	good_reply(&r); r.transmit_ts = r.receive_ts - 1;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_3);
	/* Kiss-o'-death. */
	good_reply(&r); r.stratum = 0; r.refid = code("RATE");
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, &kod), NTP_TEST_K | NTP_TEST_6);
	ck_assert_int_eq(kod, NTP_KOD_RATE);
	good_reply(&r); r.stratum = 0; r.refid = code("DENY");
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, &kod), NTP_TEST_4 | NTP_TEST_6);
	ck_assert_int_eq(kod, NTP_KOD_DENY);
	good_reply(&r); r.stratum = 0; r.refid = code("RSTR");
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, &kod), NTP_TEST_4 | NTP_TEST_6);
	ck_assert_int_eq(kod, NTP_KOD_RSTR);
	/* A KoD with a wrong origin is spoofed: not acted upon. */
	good_reply(&r); r.stratum = 0; r.refid = code("DENY"); r.origin_ts = 1;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, &kod), NTP_TEST_2 | NTP_TEST_6);
	/* Test 6: stratum 0 (no KoD we know), 16, leap 3. */
	good_reply(&r); r.stratum = 0; r.refid = code("INIT");
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, &kod), NTP_TEST_6);
	ck_assert_int_eq(kod, NTP_KOD_OTHER);
	good_reply(&r); r.stratum = 16;
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_6);
	good_reply(&r); r.leap = NTP_LEAP_UNSYNC;
	t = ntp_check_reply(&r, OUR_XMT, 0, NULL);
	ck_assert_uint_eq(t, NTP_TEST_6);
	ck_assert_str_eq(ntp_tests_str(t, buf, sizeof(buf)), "11111101 unsync");
	/* Test 7: root distance. */
	good_reply(&r); r.root_disp = ntp_short_from_ns(2 * SEC);
	ck_assert_uint_eq(ntp_check_reply(&r, OUR_XMT, 0, NULL), NTP_TEST_7);
	/* Printable form truncates safely. */
	ck_assert_str_eq(ntp_tests_str(NTP_TEST_2, buf, 4), "110");
}
END_TEST

START_TEST(test_offset_delay)
{
	struct ntp_sample s;

	/* T1 = 1 s, T2 = 1.020 s, T3 = 1.021 s, T4 = 1.003 s:
	 * offset = (20 ms + 18 ms) / 2 = 19 ms; delay = 3 ms - 1 ms = 2 ms. */
	ntp_sample_compute(SEC, SEC + 20 * MS, SEC + 21 * MS, SEC + 3 * MS, 0, 0, &s);
	ck_assert_int_eq(s.offset, 19 * MS);
	ck_assert_int_eq(s.delay, 2 * MS);
	/* Server 1.5 s behind, symmetric 4 ms path, 1 ms processing. */
	ntp_sample_compute(10 * SEC, 8500 * MS + 2 * MS, 8500 * MS + 3 * MS, 10 * SEC + 5 * MS,
			   0, 0, &s);
	ck_assert_int_eq(s.offset, -1500 * MS);
	ck_assert_int_eq(s.delay, 4 * MS);
	/* Dispersion: rho_r + rho + PHI * (T4 - T1); delay clamped to rho. */
	ntp_sample_compute(0, 0, 0, 2 * SEC, 1000, 500, &s);
	ck_assert_int_eq(s.disp, 1000 + 500 + 30000);
	ntp_sample_compute(0, 5, 5, 0, 0, 500, &s);
	ck_assert_int_eq(s.delay, 500);
}
END_TEST

static void
add(struct clock_filter *f, int64_t t, int64_t off, int64_t delay)
{
	struct clock_filter_sample s = { t, off, delay, 0 };

	ck_assert_int_eq(clock_filter_add(f, &s), CLOCK_OK);
}

START_TEST(test_filter)
{
	struct clock_filter *f = clock_filter_create();
	struct clock_filter_estimate e;
	struct clock_filter_sample s = { 5 * SEC, 0, 1, 0 };
	int i;

	ck_assert_int_eq(clock_filter_get(f, 0, &e), CLOCK_ENOSOURCE);
	add(f, 1 * SEC, 100, 5000);
	ck_assert_int_eq(clock_filter_get(f, 1 * SEC, &e), CLOCK_OK);
	/* One sample: epsilon = 0/2 + MAXDISP * (1/4 + ... + 1/256). */
	ck_assert_int_eq(e.disp, 7937500000LL);
	ck_assert_int_eq(e.jitter, 0);
	add(f, 2 * SEC, 200, 3000);
	add(f, 3 * SEC, 900, 8000);
	add(f, 4 * SEC, 210, 4000);
	ck_assert_int_eq(clock_filter_get(f, 4 * SEC, &e), CLOCK_OK);
	ck_assert_int_eq(e.n, 4);
	ck_assert_int_eq(e.offset, 200);     /* minimum delay 3000 */
	ck_assert_int_eq(e.delay, 3000);
	ck_assert_int_eq(e.time, 2 * SEC);
	/* psi = sqrt(((200-210)^2 + (200-100)^2 + (200-900)^2) / 3) = 408.29 */
	ck_assert_int_eq(e.jitter, 408);
	/* Non-increasing timestamps are rejected (chrony samplefilt.c). */
	s.time = 4 * SEC;
	ck_assert_int_eq(clock_filter_add(f, &s), CLOCK_ESTALE);
	s.time = 3 * SEC;
	ck_assert_int_eq(clock_filter_add(f, &s), CLOCK_ESTALE);
	s.time = 5 * SEC; s.delay = -1;
	ck_assert_int_eq(clock_filter_add(f, &s), CLOCK_EINVAL);
	/* The window holds 8: push the 3000 ns sample out. */
	for (i = 0; i < 7; i++)
		add(f, (10 + i) * SEC, 300 + i, 3500 + i);
	ck_assert_int_eq(clock_filter_get(f, 20 * SEC, &e), CLOCK_OK);
	ck_assert_int_eq(e.n, 8);
	ck_assert_int_eq(e.delay, 3500);
	ck_assert_int_eq(e.offset, 300);
	/* Dispersion ages at PHI = 15 ppm: 1000 s later grows by >= 15 ms/2. */
	{
		struct clock_filter_estimate later;

		clock_filter_get(f, 1020 * SEC, &later);
		ck_assert_int_ge(later.disp - e.disp, 15 * MS / 2);
	}
	clock_filter_reset(f);
	ck_assert_int_eq(clock_filter_count(f), 0);
	clock_filter_destroy(f);
}
END_TEST

START_TEST(test_select_falseticker)
{
	struct clock_candidate c[4] = {
		{ .offset = 0, .distance = 10 * MS, .jitter = 100, .stratum = 2 },
		{ .offset = 1 * MS, .distance = 10 * MS, .jitter = 100, .stratum = 2 },
		{ .offset = 500 * MS, .distance = 10 * MS, .jitter = 100, .stratum = 1 },
		{ .offset = -1 * MS, .distance = 5 * MS, .jitter = 100, .stratum = 2 },
	};
	struct clock_selection s;

	ck_assert_int_eq(clock_select(c, 4, &s), CLOCK_OK);
	ck_assert_int_eq(c[2].status, CLOCK_CAND_FALSETICKER);
	ck_assert_int_ne(c[0].status, CLOCK_CAND_FALSETICKER);
	ck_assert_int_ne(c[1].status, CLOCK_CAND_FALSETICKER);
	ck_assert_int_eq(c[3].status, CLOCK_CAND_SYSPEER);  /* smallest distance */
	ck_assert_int_eq(s.syspeer, 3);
	ck_assert_int_eq(s.allow, 1);
	ck_assert_int_eq(s.nsurvivors, 3);
	/* Intersection of [-10,10], [-9,11], [-6,4] ms. */
	ck_assert_int_eq(s.low, -6 * MS);
	ck_assert_int_eq(s.high, 4 * MS);
	/* Weighted 1/lambda: (0/10 + 1/10 - 1/5) / (1/10 + 1/10 + 1/5) = -0.25 ms */
	ck_assert_int_le(llabs(s.offset + 250000), 1);
	ck_assert_int_eq(s.distance, 5 * MS);
	ck_assert_int_le(llabs(s.error - (5 * MS + 750000)), 1);
}
END_TEST

START_TEST(test_select_no_majority)
{
	struct clock_candidate c[3] = {
		{ .offset = 0, .distance = MS, .stratum = 2 },
		{ .offset = 100 * MS, .distance = MS, .stratum = 2 },
		{ .offset = 200 * MS, .distance = MS, .stratum = 2 },
	};
	struct clock_selection s;

	ck_assert_int_eq(clock_select(c, 3, &s), CLOCK_ENOSOURCE);
	ck_assert_int_eq(clock_select(c, 2, &s), CLOCK_ENOSOURCE);
	ck_assert_int_eq(clock_select(c, 0, &s), CLOCK_ENOSOURCE);
	/* One source alone is its own majority. */
	ck_assert_int_eq(clock_select(c + 1, 1, &s), CLOCK_OK);
	ck_assert_int_eq(s.offset, 100 * MS);
	ck_assert_int_eq(c[1].status, CLOCK_CAND_SYSPEER);
	/* Root distance formula (A.5.5.2) with MINDISP floor. */
	ck_assert_int_eq(clock_root_distance(0, 0, MS, 0, 0, 0), CLOCK_MINDISP / 2);
	ck_assert_int_eq(clock_root_distance(30 * MS, 2 * MS, 10 * MS, 3 * MS, 1 * MS, 1000 * SEC),
			 20 * MS + 2 * MS + 3 * MS + 15 * MS + 1 * MS);
}
END_TEST

START_TEST(test_select_cluster)
{
	/* Five truechimers; the cluster algorithm trims the wide one. */
	struct clock_candidate c[5] = {
		{ .offset = 0, .distance = 50 * MS, .jitter = 10, .stratum = 2 },
		{ .offset = 1000, .distance = 50 * MS, .jitter = 10, .stratum = 2 },
		{ .offset = -1000, .distance = 50 * MS, .jitter = 10, .stratum = 2 },
		{ .offset = 500, .distance = 50 * MS, .jitter = 10, .stratum = 2 },
		{ .offset = 30 * MS, .distance = 50 * MS, .jitter = 10, .stratum = 2 },
	};
	struct clock_selection s;

	ck_assert_int_eq(clock_select(c, 5, &s), CLOCK_OK);
	ck_assert_int_eq(c[4].status, CLOCK_CAND_OUTLIER);
	ck_assert_int_eq(s.nsurvivors, 3);
	ck_assert_int_le(llabs(s.offset), 1000);
}
END_TEST

START_TEST(test_peers)
{
	struct clock_peers *p = clock_peers_create(4 * MS);
	struct clock_skew sk;
	struct clock_filter_estimate e;
	int64_t off, delay;

	clock_peer_measure(SEC, SEC + 20 * MS, SEC + 21 * MS, SEC + 3 * MS, &off, &delay);
	ck_assert_int_eq(off, 19 * MS);
	ck_assert_int_eq(delay, 2 * MS);
	clock_peers_skew(p, 0, &sk);
	ck_assert_int_eq(sk.npeers, 0);
	ck_assert(!sk.alarm);
	/* Peer 7 is 3 ms ahead, peer 9 is 2 ms behind (1 ms path each way). */
	ck_assert_int_eq(clock_peers_add(p, 7, 10 * SEC, 10 * SEC + 4 * MS, 10 * SEC + 4 * MS,
					 10 * SEC + 2 * MS), CLOCK_OK);
	ck_assert_int_eq(clock_peers_add(p, 9, 10 * SEC, 10 * SEC - 1 * MS, 10 * SEC - 1 * MS,
					 10 * SEC + 2 * MS), CLOCK_OK);
	ck_assert_int_eq(clock_peers_add(p, 9, 10 * SEC, 10 * SEC, 10 * SEC, 10 * SEC + 2 * MS),
			 CLOCK_ESTALE);
	ck_assert_int_eq(clock_peers_get(p, 7, 11 * SEC, &e), CLOCK_OK);
	ck_assert_int_eq(e.offset, 3 * MS);
	ck_assert_int_eq(e.delay, 2 * MS);
	clock_peers_skew(p, 11 * SEC, &sk);
	ck_assert_int_eq(sk.npeers, 2);
	ck_assert_int_eq(sk.skew, 5 * MS);
	ck_assert_int_eq(sk.bound, 7 * MS);
	ck_assert_uint_eq(sk.hi_peer, 7);
	ck_assert_uint_eq(sk.lo_peer, 9);
	ck_assert(sk.alarm);
	clock_peers_remove(p, 9);
	clock_peers_skew(p, 11 * SEC, &sk);
	ck_assert_int_eq(sk.skew, 3 * MS);
	ck_assert(!sk.alarm);
	ck_assert_int_eq(clock_peers_get(p, 9, 0, &e), CLOCK_ENOSOURCE);
	ck_assert_int_eq(clock_peers_add(p, 0, 1, 2, 3, 4), CLOCK_EINVAL);
	clock_peers_destroy(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("clock-ntp");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_timestamps);
	tcase_add_test(tc, test_check_good);
	tcase_add_test(tc, test_check_each);
	tcase_add_test(tc, test_offset_delay);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_select_falseticker);
	tcase_add_test(tc, test_select_no_majority);
	tcase_add_test(tc, test_select_cluster);
	tcase_add_test(tc, test_peers);
	suite_add_tcase(s, tc);
	return check_run(s);
}
