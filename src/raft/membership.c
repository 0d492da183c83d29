/* Configurations and single-server membership changes, Dissertation §4.1:
 * a server uses the latest configuration in its log, committed or not; a
 * leader starts a change only when the previous one is committed and an
 * entry of its own term is committed. */
#include <string.h>

#include "raft/raft_int.h"

static void put64(uint8_t *p, uint64_t v);
static uint64_t get64(const uint8_t *p);
static void set_conf(struct raft *r, const struct raft_conf *c, uint64_t index);

static void put64(uint8_t *p, uint64_t v)
{
	int i;
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;
	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define CONF_V1_SERVER 9   /* id, voter */
#define CONF_V2_SERVER 17  /* id, voter, incarnation */

size_t raft_conf_encoded_len(const struct raft_conf *conf)
{
	return 4 + (size_t)conf->n * CONF_V2_SERVER;
}

size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf, size_t cap)
{
	size_t need = raft_conf_encoded_len(conf), off = 4;
	uint32_t i;

	if (cap < need)
		return 0;
	for (i = 0; i < 4; i++)
		buf[i] = (uint8_t)(conf->n >> (8 * i));
	for (i = 0; i < conf->n; i++) {
		put64(buf + off, conf->servers[i].id);
		buf[off + 8] = conf->servers[i].voter ? 1 : 0;
		put64(buf + off + 9, conf->servers[i].incarnation);
		off += CONF_V2_SERVER;
	}
	return need;
}

int raft_conf_decode(const uint8_t *buf, size_t len, struct raft_conf *conf)
{
	uint32_t n = 0, i, j;
	size_t each;

	if (!buf || len < 4)
		return RAFT_ECORRUPT;
	for (i = 0; i < 4; i++)
		n |= (uint32_t)buf[i] << (8 * i);
	if (n > RAFT_MAX_SERVERS)
		return RAFT_ECORRUPT;
	if (len == 4 + (size_t)n * CONF_V2_SERVER)
		each = CONF_V2_SERVER;
	else if (len == 4 + (size_t)n * CONF_V1_SERVER)
		each = CONF_V1_SERVER;      /* written before incarnations */
	else
		return RAFT_ECORRUPT;
	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < n; i++) {
		const uint8_t *p = buf + 4 + (size_t)i * each;
		uint64_t id = get64(p);
		if (id == 0 || p[8] > 1)
			return RAFT_ECORRUPT;
		for (j = 0; j < i; j++)
			if (conf->servers[j].id == id)
				return RAFT_ECORRUPT;
		conf->servers[i].id = id;
		conf->servers[i].voter = p[8] == 1;
		if (each == CONF_V2_SERVER)
			conf->servers[i].incarnation = get64(p + 9);
	}
	conf->n = n;
	return 0;
}

int raft_conf_find(const struct raft_conf *conf, uint64_t id)
{
	uint32_t i;
	for (i = 0; i < conf->n; i++)
		if (conf->servers[i].id == id)
			return (int)i;
	return -1;
}

bool raft_conf_is_voter(const struct raft_conf *conf, uint64_t id)
{
	int i = raft_conf_find(conf, id);
	return i >= 0 && conf->servers[i].voter;
}

static void set_conf(struct raft *r, const struct raft_conf *c, uint64_t index)
{
	r->conf = *c;
	r->conf_index = index;
	if (r->role == RAFT_LEADER) {
		/* Sync can only fail on OOM for a new server's inflight ring;
		 * that server then gets probed without pipelining (see
		 * progress.c), so the error is not fatal. */
		(void)raft_progress_sync_conf(r);
	}
}

/* Latest configuration at or before index, from the log or the snapshot. */
bool raft_conf_at(const struct raft *r, uint64_t index, struct raft_conf *out)
{
	uint64_t i;

	if (index > raft_log_last(r))
		index = raft_log_last(r);
	for (i = index; i > r->log_start; i--) {
		const struct raft_entry *e = raft_log_get(r, i);
		if (e->type == RAFT_ENTRY_CONF_CHANGE &&
		    raft_conf_decode(e->data, e->len, out) == 0)
			return true;
	}
	if (index >= r->snap.index) {
		*out = r->snap.conf;
		return true;
	}
	return false;
}

/* After truncation or snapshot install: the latest configuration left. */
void raft_conf_recompute(struct raft *r)
{
	struct raft_conf c;
	uint64_t i;

	for (i = raft_log_last(r); i > r->log_start; i--) {
		const struct raft_entry *e = raft_log_get(r, i);
		if (e->type == RAFT_ENTRY_CONF_CHANGE &&
		    raft_conf_decode(e->data, e->len, &c) == 0) {
			set_conf(r, &c, i);
			return;
		}
	}
	set_conf(r, &r->snap.conf, r->snap.index);
}

/* Dissertation §4.1: the new configuration is used as soon as it is in the
 * log.  Undecodable entries are ignored (they cannot come from a correct
 * leader). */
void raft_conf_apply_entry(struct raft *r, const struct raft_entry *e)
{
	struct raft_conf c;

	if (raft_conf_decode(e->data, e->len, &c) == 0)
		set_conf(r, &c, e->index);
}

/* Leader: the configuration entry committed.  Dissertation §4.2.2: a
 * leader not in the new configuration steps down once it is committed,
 * after handing off with TimeoutNow to the most caught-up voter. */
void raft_conf_on_commit(struct raft *r)
{
	uint32_t i;
	struct raft_progress *best = NULL;

	if (r->role != RAFT_LEADER || r->conf_index > r->commit ||
	    raft_conf_is_voter(&r->conf, r->id))
		return;
	for (i = 0; i < r->n_prs; i++) {
		struct raft_progress *pr = &r->prs[i];
		if (pr->id == r->id || !pr->voter || !raft_progress_admitted(r, pr))
			continue;
		if (!best || pr->match > best->match)
			best = pr;
	}
	if (best && best->match == raft_log_last(r)) {
		struct raft_message m;
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_TIMEOUT_NOW;
		m.to = best->id;
		(void)raft_send(r, &m, false);
	}
	raft_become_follower(r, r->term, 0);
}

int raft_change_membership(struct raft *r, int op, uint64_t id, uint64_t *index)
{
	struct raft_conf c = r->conf;
	struct raft_progress *pr;
	uint8_t buf[4 + RAFT_MAX_SERVERS * CONF_V2_SERVER];
	uint64_t t;
	size_t len;
	int pos, rv;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transferee)
		return RAFT_ETRANSFER;
	if (id == 0)
		return RAFT_EINVAL;
	if (r->conf_index > r->commit || !raft_log_term(r, r->commit, &t) ||
	    t != r->term)
		return RAFT_ECONFPENDING;
	pos = raft_conf_find(&c, id);
	switch (op) {
	case RAFT_CONF_ADD_LEARNER:
		if (pos >= 0)
			return RAFT_EEXIST;
		if (c.n >= RAFT_MAX_SERVERS)
			return RAFT_ETOOBIG;
		c.servers[c.n].id = id;
		c.servers[c.n].voter = false;
		c.servers[c.n].incarnation = 0;    /* admitted once it answers */
		c.n++;
		break;
	case RAFT_CONF_PROMOTE:
		if (pos < 0)
			return RAFT_ENOTFOUND;
		if (c.servers[pos].voter)
			return RAFT_EEXIST;
		pr = raft_progress_get(r, id);
		if (!pr || !raft_progress_admitted(r, pr) || pr->match < r->commit ||
		    pr->last_resp_ms >= r->cfg.election_min_ms)
			return RAFT_ECATCHUP;
		c.servers[pos].voter = true;
		break;
	case RAFT_CONF_ADMIT:
		if (pos < 0)
			return RAFT_ENOTFOUND;
		pr = raft_progress_get(r, id);
		if (!pr || id == r->id)
			return RAFT_EINVAL;
		if (raft_progress_admitted(r, pr))
			return RAFT_EEXIST;
		/* Its progress restarted when the incarnation changed: caught
		 * up means it holds everything committed, from this leader. */
		if (pr->match < r->commit || pr->last_resp_ms >= r->cfg.election_min_ms)
			return RAFT_ECATCHUP;
		c.servers[pos].incarnation = pr->incarnation;
		break;
	case RAFT_CONF_REMOVE:
		if (pos < 0)
			return RAFT_ENOTFOUND;
		c.servers[pos] = c.servers[c.n - 1];
		c.n--;
		break;
	default:
		return RAFT_EINVAL;
	}
	len = raft_conf_encode(&c, buf, sizeof(buf));
	rv = raft_append_local(r, RAFT_ENTRY_CONF_CHANGE, buf, len);
	if (rv)
		return rv;
	if (index)
		*index = raft_log_last(r);
	return 0;
}
