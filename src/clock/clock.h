/* Shared constants and error codes of the clock module (docs/clock.md).
 *
 * Units: every time, offset, delay, dispersion and distance in this module is
 * an int64_t count of nanoseconds unless its name says otherwise.  That covers
 * +-292 years, which is plenty for differences and for absolute Unix times
 * until 2262. */
#ifndef RCFS_CLOCK_H
#define RCFS_CLOCK_H
#include <stdint.h>

/* 0 is success; failures are negative codes from this enum (house rule 4). */
enum clock_err {
	CLOCK_OK = 0,
	CLOCK_EINVAL = -1,   /* bad argument or configuration */
	CLOCK_EFORMAT = -2,  /* malformed packet */
	CLOCK_ESTALE = -3,   /* sample timestamp not newer than the last one */
	CLOCK_ERANGE = -4,   /* timestamp beyond the allowed offset */
	CLOCK_ENOSOURCE = -5 /* no usable source / no majority */
};

#define CLOCK_NS_PER_SEC 1000000000LL
#define CLOCK_NS_PER_MS 1000000LL

/* RFC 5905 §7.2 "Global parameters", in ns. */
#define CLOCK_PHI_PPM 15                       /* frequency tolerance, 15 ppm */
#define CLOCK_MAXDISP (16 * CLOCK_NS_PER_SEC)  /* maximum dispersion */
#define CLOCK_MINDISP (10 * CLOCK_NS_PER_MS)   /* minimum dispersion increment */
#define CLOCK_MAXDIST (1500 * CLOCK_NS_PER_MS) /* distance threshold (1.5 s) */
#define CLOCK_MAXSTRAT 16                      /* "unsynchronized" stratum */
#define CLOCK_NSTAGE 8                         /* clock filter stages */

/* PHI * dt (RFC 5905: dispersion grows at 15 ppm of elapsed time). */
static inline int64_t
clock_phi(int64_t dt_ns)
{
	return dt_ns > 0 ? dt_ns / 1000000 * CLOCK_PHI_PPM : 0;
}

const char *clock_strerror(int err);

#endif
