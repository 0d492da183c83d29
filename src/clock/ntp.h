/* SNTPv4 packets (RFC 4330) and the on-wire protocol of RFC 5905 §8: codec,
 * timestamp conversions, reply sanity tests, offset/delay/dispersion.
 * Pure: no I/O, no clock reads.  Time is passed in. */
#ifndef RCFS_CLOCK_NTP_H
#define RCFS_CLOCK_NTP_H
#include <stddef.h>
#include <stdint.h>

#define NTP_PORT 123
#define NTP_PACKET_LEN 48          /* header without extension fields/MAC */
#define NTP_VERSION 4
#define NTP_MIN_VERSION 1          /* oldest version accepted in a reply */
#define NTP_UNIX_OFFSET 2208988800ULL /* seconds 1900-01-01 .. 1970-01-01 */

/* RFC 5905 §7.3 header fields */
enum ntp_leap { NTP_LEAP_NONE = 0, NTP_LEAP_61 = 1, NTP_LEAP_59 = 2, NTP_LEAP_UNSYNC = 3 };
enum ntp_mode {
	NTP_MODE_RESERVED = 0, NTP_MODE_SYM_ACTIVE, NTP_MODE_SYM_PASSIVE,
	NTP_MODE_CLIENT = 3, NTP_MODE_SERVER = 4, NTP_MODE_BROADCAST, NTP_MODE_CONTROL,
	NTP_MODE_PRIVATE
};

/* Decoded header.  Timestamps stay in the 64-bit NTP format (32.32 seconds
 * since the era start) so that the origin test compares bits exactly;
 * root delay / dispersion are NTP short format (16.16 seconds). */
struct ntp_packet {
	uint8_t leap, version, mode, stratum;
	int8_t poll, precision;      /* log2 seconds */
	uint32_t root_delay, root_disp;
	uint32_t refid;              /* KoD: ASCII code, e.g. "RATE" */
	uint64_t reference_ts, origin_ts, receive_ts, transmit_ts;
};

/* Encode into buf[NTP_PACKET_LEN]; returns NTP_PACKET_LEN. */
size_t ntp_packet_encode(const struct ntp_packet *p, uint8_t *buf);
/* Decode; CLOCK_EFORMAT if len < NTP_PACKET_LEN.  Extension fields and MAC
 * after the header are ignored (we do not authenticate, RFC 5905 §7.3). */
int ntp_packet_decode(struct ntp_packet *p, const uint8_t *buf, size_t len);
/* A client (mode 3) request whose transmit timestamp is `xmt`.  Everything
 * else zero, as RFC 4330 §5 recommends. */
void ntp_request_init(struct ntp_packet *p, uint64_t xmt);

/* Unix ns <-> NTP 64-bit timestamp.  The NTP timestamp wraps every 2^32 s
 * (era, RFC 5905 §6); ntp_ts_to_ns() picks the era that puts the result
 * closest to `pivot_ns` (a local time known to be within 68 years). */
uint64_t ntp_ts_from_ns(int64_t unix_ns);
int64_t ntp_ts_to_ns(uint64_t ts, int64_t pivot_ns);
/* NTP short format (16.16) -> ns; log2 precision -> ns. */
int64_t ntp_short_to_ns(uint32_t s);
uint32_t ntp_short_from_ns(int64_t ns);
int64_t ntp_log2_to_ns(int8_t l);

/* Kiss-o'-death codes we act on (RFC 5905 §7.4) */
enum ntp_kod { NTP_KOD_NONE = 0, NTP_KOD_RATE, NTP_KOD_DENY, NTP_KOD_RSTR, NTP_KOD_OTHER };

/* Reply tests, numbered as RFC 5905 Appendix A.5.1.1 and chrony's
 * ntp_core.c.  A set bit means the test FAILED.  Tests F and 1-3 make a
 * packet invalid (ignored: the genuine reply may still arrive); K, 4, 6, 7
 * make it valid but unusable for synchronization. */
enum ntp_test {
	NTP_TEST_F = 1u << 0,  /* format: length, mode 4, version 1..4 */
	NTP_TEST_1 = 1u << 1,  /* duplicate: same transmit ts as the last reply */
	NTP_TEST_2 = 1u << 2,  /* bogus: origin != our request's transmit ts */
	NTP_TEST_3 = 1u << 3,  /* invalid: zero origin/receive/transmit ts, T3 < T2 */
	NTP_TEST_4 = 1u << 4,  /* access denied: KoD DENY/RSTR */
	NTP_TEST_K = 1u << 5,  /* kiss-o'-death RATE: back off */
	NTP_TEST_6 = 1u << 6,  /* unsynchronized: leap 3, stratum 0 or >= 16 */
	NTP_TEST_7 = 1u << 7,  /* bad data: root distance >= MAXDIST */
};
#define NTP_TESTS_INVALID (NTP_TEST_F | NTP_TEST_1 | NTP_TEST_2 | NTP_TEST_3)

/* Run every test on a decoded reply.  `our_xmt` is the transmit timestamp
 * of the request still outstanding (0: none, every reply is bogus);
 * `last_xmt` the transmit timestamp of the last accepted reply (0: none).
 * *kod receives the kiss code if the reply is a KoD (stratum 0). */
unsigned ntp_check_reply(const struct ntp_packet *r, uint64_t our_xmt,
			 uint64_t last_xmt, enum ntp_kod *kod);
/* Printable form, chrony style: one digit per test in the order
 * F1234K67, '1' = passed, '0' = failed, then the names of failed tests,
 * e.g. "10111111 bogus".  Returns buf. */
const char *ntp_tests_str(unsigned failed, char *buf, size_t len);
#define NTP_TESTS_STRLEN 96

/* One measurement from the four timestamps of RFC 5905 §8 (ns, T1/T4 on
 * our clock, T2/T3 on the server's). */
struct ntp_sample {
	int64_t offset;  /* theta */
	int64_t delay;   /* delta, at least the local precision */
	int64_t disp;    /* epsilon */
};
/* offset = ((T2 - T1) + (T3 - T4)) / 2, delay = (T4 - T1) - (T3 - T2),
 * disp = rho_r + rho + PHI * (T4 - T1)   (RFC 5905 §8 and A.5.1.1
 * packet()).  rho_r, rho: precisions of server and local clock in ns. */
void ntp_sample_compute(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
			int64_t rho_r, int64_t rho, struct ntp_sample *s);

#endif
