/* Peer clock offsets and cluster skew (peer.h). */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "clock/filter.h"
#include "clock/ntp.h"
#include "clock/peer.h"
#include "util/xmalloc.h"

struct peer {
	uint64_t id;
	struct clock_filter *filter;
};

struct clock_peers {
	int64_t max_offset;
	struct peer *v;
	size_t n, cap;
};

static struct peer *peer_find(const struct clock_peers *p, uint64_t id);

void
clock_peer_measure(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
		   int64_t *offset, int64_t *delay)
{
	struct ntp_sample s;

	ntp_sample_compute(t1, t2, t3, t4, 0, 0, &s);
	*offset = s.offset;
	*delay = s.delay;
}

struct clock_peers *
clock_peers_create(int64_t max_offset)
{
	struct clock_peers *p = xcalloc(1, sizeof(*p));

	p->max_offset = max_offset;
	return p;
}

void
clock_peers_destroy(struct clock_peers *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		clock_filter_destroy(p->v[i].filter);
	free(p->v);
	free(p);
}

static struct peer *
peer_find(const struct clock_peers *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].id == id)
			return &p->v[i];
	return NULL;
}

int
clock_peers_add(struct clock_peers *p, uint64_t id, int64_t t1, int64_t t2,
		int64_t t3, int64_t t4)
{
	struct peer *pe;
	struct ntp_sample s;
	struct clock_filter_sample fs;

	if (id == 0 || t4 < t1 || t3 < t2)
		return CLOCK_EINVAL;
	pe = peer_find(p, id);
	if (!pe) {
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 4;
			p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
		}
		pe = &p->v[p->n++];
		pe->id = id;
		pe->filter = clock_filter_create();
	}
	/* Same formulas as NTP (RFC 5905 §8); no precision terms: the node
	 * stamps in ns. */
	ntp_sample_compute(t1, t2, t3, t4, 0, 0, &s);
	fs.time = t4;
	fs.offset = s.offset;
	fs.delay = s.delay;
	fs.disp = s.disp;
	return clock_filter_add(pe->filter, &fs);
}

int
clock_peers_get(const struct clock_peers *p, uint64_t id, int64_t now,
		struct clock_filter_estimate *e)
{
	const struct peer *pe = peer_find(p, id);

	return pe ? clock_filter_get(pe->filter, now, e) : CLOCK_ENOSOURCE;
}

void
clock_peers_remove(struct clock_peers *p, uint64_t id)
{
	struct peer *pe = peer_find(p, id);

	if (!pe)
		return;
	clock_filter_destroy(pe->filter);
	*pe = p->v[--p->n];
}

void
clock_peers_skew(const struct clock_peers *p, int64_t now, struct clock_skew *s)
{
	/* Ourselves: offset 0, no error. */
	int64_t hi = 0, lo = 0, hi_b = 0, lo_b = 0;
	struct clock_filter_estimate e;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < p->n; i++) {
		if (clock_filter_get(p->v[i].filter, now, &e) != CLOCK_OK)
			continue;
		s->npeers++;
		if (e.offset > hi) {
			hi = e.offset;
			s->hi_peer = p->v[i].id;
		}
		if (e.offset < lo) {
			lo = e.offset;
			s->lo_peer = p->v[i].id;
		}
		/* The true offset lies within theta +- delta / 2 (§8). */
		if (e.offset + e.delay / 2 > hi_b)
			hi_b = e.offset + e.delay / 2;
		if (e.offset - e.delay / 2 < lo_b)
			lo_b = e.offset - e.delay / 2;
	}
	/* Pairwise max |theta_a - theta_b| is max - min over the set. */
	s->skew = hi - lo;
	s->bound = hi_b - lo_b;
	s->alarm = s->skew > p->max_offset;
}
