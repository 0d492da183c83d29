/* SNTPv4 codec and RFC 5905 §8 on-wire computations (see ntp.h). */
#include <string.h>
#include <stdio.h>

#include "clock/clock.h"
#include "clock/ntp.h"
#include "util/be.h"

static int64_t floor_div(int64_t a, int64_t b);

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* RFC 5905 §7.3 Figure 8: LI(2) VN(3) Mode(3) | Stratum | Poll | Precision |
 * Root Delay | Root Dispersion | Reference ID | 4 timestamps. */
size_t
ntp_packet_encode(const struct ntp_packet *p, uint8_t *buf)
{
	buf[0] = (uint8_t)((p->leap & 3) << 6 | (p->version & 7) << 3 | (p->mode & 7));
	buf[1] = p->stratum;
	buf[2] = (uint8_t)p->poll;
	buf[3] = (uint8_t)p->precision;
	be_put32(buf + 4, p->root_delay);
	be_put32(buf + 8, p->root_disp);
	be_put32(buf + 12, p->refid);
	be_put64(buf + 16, p->reference_ts);
	be_put64(buf + 24, p->origin_ts);
	be_put64(buf + 32, p->receive_ts);
	be_put64(buf + 40, p->transmit_ts);
	return NTP_PACKET_LEN;
}

int
ntp_packet_decode(struct ntp_packet *p, const uint8_t *buf, size_t len)
{
	if (len < NTP_PACKET_LEN)
		return CLOCK_EFORMAT;
	p->leap = buf[0] >> 6;
	p->version = (buf[0] >> 3) & 7;
	p->mode = buf[0] & 7;
	p->stratum = buf[1];
	p->poll = (int8_t)buf[2];
	p->precision = (int8_t)buf[3];
	p->root_delay = be_get32(buf + 4);
	p->root_disp = be_get32(buf + 8);
	p->refid = be_get32(buf + 12);
	p->reference_ts = be_get64(buf + 16);
	p->origin_ts = be_get64(buf + 24);
	p->receive_ts = be_get64(buf + 32);
	p->transmit_ts = be_get64(buf + 40);
	return CLOCK_OK;
}

void
ntp_request_init(struct ntp_packet *p, uint64_t xmt)
{
	memset(p, 0, sizeof(*p));
	p->leap = NTP_LEAP_NONE;
	p->version = NTP_VERSION;
	p->mode = NTP_MODE_CLIENT;
	p->transmit_ts = xmt;
}

uint64_t
ntp_ts_from_ns(int64_t unix_ns)
{
	int64_t sec = floor_div(unix_ns, CLOCK_NS_PER_SEC);
	uint64_t nsec = (uint64_t)(unix_ns - sec * CLOCK_NS_PER_SEC);
	uint64_t frac = ((nsec << 32) + CLOCK_NS_PER_SEC / 2) / CLOCK_NS_PER_SEC;
	uint32_t era_sec = (uint32_t)((uint64_t)sec + NTP_UNIX_OFFSET);

	return (uint64_t)era_sec << 32 | frac;
}

/* RFC 5905 §6: a timestamp only names a second modulo 2^32 (an era is 136
 * years).  Take the candidate within 2^31 s of the pivot. */
int64_t
ntp_ts_to_ns(uint64_t ts, int64_t pivot_ns)
{
	int64_t pivot_sec = floor_div(pivot_ns, CLOCK_NS_PER_SEC) + (int64_t)NTP_UNIX_OFFSET;
	uint32_t s32 = (uint32_t)(ts >> 32);
	int32_t diff = (int32_t)(s32 - (uint32_t)pivot_sec);
	int64_t ntp_sec = pivot_sec + diff;
	uint64_t frac_ns = ((ts & 0xffffffffULL) * CLOCK_NS_PER_SEC + (1ULL << 31)) >> 32;

	return (ntp_sec - (int64_t)NTP_UNIX_OFFSET) * CLOCK_NS_PER_SEC + (int64_t)frac_ns;
}

int64_t
ntp_short_to_ns(uint32_t s)
{
	return (int64_t)(((uint64_t)s * CLOCK_NS_PER_SEC + (1u << 15)) >> 16);
}

uint32_t
ntp_short_from_ns(int64_t ns)
{
	if (ns <= 0)
		return 0;
	if (ns >= 65536 * CLOCK_NS_PER_SEC)
		return UINT32_MAX;
	return (uint32_t)((((uint64_t)ns << 16) + CLOCK_NS_PER_SEC / 2) / CLOCK_NS_PER_SEC);
}

int64_t
ntp_log2_to_ns(int8_t l)
{
	if (l >= 0)
		return l > 30 ? CLOCK_NS_PER_SEC << 30 : CLOCK_NS_PER_SEC << l;
	return l < -40 ? 0 : CLOCK_NS_PER_SEC >> -l;
}

static enum ntp_kod
kod_code(uint32_t refid)
{
	char c[4] = { (char)(refid >> 24), (char)(refid >> 16), (char)(refid >> 8), (char)refid };

	if (!memcmp(c, "RATE", 4))
		return NTP_KOD_RATE;
	if (!memcmp(c, "DENY", 4))
		return NTP_KOD_DENY;
	if (!memcmp(c, "RSTR", 4))
		return NTP_KOD_RSTR;
	return NTP_KOD_OTHER;
}

unsigned
ntp_check_reply(const struct ntp_packet *r, uint64_t our_xmt, uint64_t last_xmt,
		enum ntp_kod *kod)
{
	unsigned failed = 0;
	enum ntp_kod k = NTP_KOD_NONE;
	int64_t root_dist;

	/* Format (RFC 4330 §5 "the client MUST check ... Mode field is 4
	 * (server)"; versions 1..4 are compatible, as in chrony). */
	if (r->mode != NTP_MODE_SERVER || r->version < NTP_MIN_VERSION ||
	    r->version > NTP_VERSION)
		failed |= NTP_TEST_F;
	/* Test 1 checks for a duplicate packet (a replay of the last reply). */
	if (last_xmt != 0 && r->transmit_ts == last_xmt)
		failed |= NTP_TEST_1;
	/* Test 2 checks for a bogus packet: the origin timestamp must be the
	 * transmit timestamp of our outstanding request (RFC 5905 §8, the
	 * anti-spoof / anti-replay check). */
	if (our_xmt == 0 || r->origin_ts != our_xmt)
		failed |= NTP_TEST_2;
	/* Test 3 checks for invalid timestamps: zero origin, receive or
	 * transmit timestamp, or a server that sent before it received. */
	if (r->origin_ts == 0 || r->receive_ts == 0 || r->transmit_ts == 0 ||
	    (int64_t)(r->transmit_ts - r->receive_ts) < 0)
		failed |= NTP_TEST_3;
	/* Kiss-o'-death (RFC 5905 §7.4): stratum 0, the code in the refid.
	 * Only believed when the packet passed tests F, 1 and 2. */
	if (r->stratum == 0) {
		k = kod_code(r->refid);
		if (!(failed & (NTP_TEST_F | NTP_TEST_1 | NTP_TEST_2))) {
			/* Test 4: access denied -> demobilize the association. */
			if (k == NTP_KOD_DENY || k == NTP_KOD_RSTR)
				failed |= NTP_TEST_4;
			/* RATE: reduce the poll rate. */
			else if (k == NTP_KOD_RATE)
				failed |= NTP_TEST_K;
		}
	}
	/* Test 6 checks for an unsynchronized server. */
	if (r->leap == NTP_LEAP_UNSYNC || r->stratum == 0 || r->stratum >= CLOCK_MAXSTRAT)
		failed |= NTP_TEST_6;
	/* Test 7 checks for bad data: root distance delta_r/2 + E_r under
	 * MAXDIST (RFC 5905 §11.2 fit()). */
	root_dist = ntp_short_to_ns(r->root_delay) / 2 + ntp_short_to_ns(r->root_disp);
	if (root_dist >= CLOCK_MAXDIST)
		failed |= NTP_TEST_7;
	if (kod)
		*kod = k;
	return failed;
}

const char *
ntp_tests_str(unsigned failed, char *buf, size_t len)
{
	static const struct { unsigned bit; char digit; const char *name; } t[] = {
		{ NTP_TEST_F, 'F', "format" }, { NTP_TEST_1, '1', "duplicate" },
		{ NTP_TEST_2, '2', "bogus" }, { NTP_TEST_3, '3', "invalid" },
		{ NTP_TEST_4, '4', "denied" }, { NTP_TEST_K, 'K', "rate" },
		{ NTP_TEST_6, '6', "unsync" }, { NTP_TEST_7, '7', "distance" },
	};
	size_t i, n = sizeof(t) / sizeof(t[0]), off = 0;
	int w;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < n && off + 1 < len; i++)
		buf[off++] = (failed & t[i].bit) ? '0' : '1';
	buf[off] = '\0';
	for (i = 0; i < n; i++) {
		if (!(failed & t[i].bit) || off >= len)
			continue;
		w = snprintf(buf + off, len - off, " %s", t[i].name);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off >= len)
		buf[len - 1] = '\0';
	return buf;
}

void
ntp_sample_compute(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
		   int64_t rho_r, int64_t rho, struct ntp_sample *s)
{
	/* RFC 5905 §8: theta = 1/2 [(T2 - T1) + (T3 - T4)],
	 * delta = (T4 - T1) - (T3 - T2). */
	s->offset = ((t2 - t1) + (t3 - t4)) / 2;
	s->delay = (t4 - t1) - (t3 - t2);
	/* A.5.1.1 packet(): delay = max(delta, LOG2D(s.precision)). */
	if (s->delay < rho)
		s->delay = rho;
	/* epsilon = LOG2D(r->precision) + LOG2D(s.precision) + PHI * (T4 - T1) */
	s->disp = rho_r + rho + clock_phi(t4 - t1);
}

const char *
clock_strerror(int err)
{
	switch (err) {
	case CLOCK_OK: return "success";
	case CLOCK_EINVAL: return "invalid argument";
	case CLOCK_EFORMAT: return "malformed packet";
	case CLOCK_ESTALE: return "sample not newer than the last one";
	case CLOCK_ERANGE: return "timestamp beyond the maximum offset";
	case CLOCK_ENOSOURCE: return "no usable time source";
	default: return "unknown error";
	}
}
