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
#define CONF_V3_MARK 0x03000000u   /* in the count word: the v3 form */
#define CONF_V3_FIXED 19   /* id, voter, incarnation, tag, address length */
_Static_assert(RAFT_CONF_MAX_BYTES == 12 + RAFT_MAX_SERVERS * (CONF_V3_FIXED + RAFT_ADDR_MAX) +
               4 + RAFT_MAX_REMOVED * 8, "RAFT_CONF_MAX_BYTES follows the v3 layout");

size_t raft_conf_encoded_len(const struct raft_conf *conf)
{
	size_t len = 4 + 8 + 4 + (size_t)conf->n_removed * 8;
	uint32_t i;

	for (i = 0; i < conf->n; i++)
		len += CONF_V3_FIXED + strnlen(conf->servers[i].addr, RAFT_ADDR_MAX - 1);
	return len;
}

static void put32(uint8_t *p, uint32_t v)
{
	int i;
	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf, size_t cap)
{
	size_t need = raft_conf_encoded_len(conf), off = 12;
	uint32_t i;

	if (cap < need || conf->n > RAFT_MAX_SERVERS ||
	    conf->n_removed > RAFT_MAX_REMOVED)
		return 0;
	put32(buf, conf->n | CONF_V3_MARK);
	put64(buf + 4, conf->cluster_id);
	for (i = 0; i < conf->n; i++) {
		const struct raft_server *s = &conf->servers[i];
		size_t alen = strnlen(s->addr, RAFT_ADDR_MAX - 1);
		put64(buf + off, s->id);
		buf[off + 8] = s->voter ? 1 : 0;
		put64(buf + off + 9, s->incarnation);
		buf[off + 17] = s->tag;
		buf[off + 18] = (uint8_t)alen;
		memcpy(buf + off + CONF_V3_FIXED, s->addr, alen);
		off += CONF_V3_FIXED + alen;
	}
	put32(buf + off, conf->n_removed);
	off += 4;
	for (i = 0; i < conf->n_removed; i++, off += 8)
		put64(buf + off, conf->removed[i]);
	return need;
}

/* One server of the v3 form at buf[*off..len); false if malformed. */
static bool decode_v3_server(const uint8_t *buf, size_t len, size_t *off,
                             struct raft_server *s)
{
	const uint8_t *p = buf + *off;
	size_t alen;

	if (len - *off < CONF_V3_FIXED)
		return false;
	alen = p[18];
	if (alen >= RAFT_ADDR_MAX || len - *off - CONF_V3_FIXED < alen ||
	    memchr(p + CONF_V3_FIXED, 0, alen) != NULL)
		return false;
	s->id = get64(p);
	s->voter = p[8] == 1;
	s->incarnation = get64(p + 9);
	s->tag = p[17];
	memcpy(s->addr, p + CONF_V3_FIXED, alen);
	s->addr[alen] = 0;
	*off += CONF_V3_FIXED + alen;
	return s->id != 0 && p[8] <= 1;
}

int raft_conf_decode(const uint8_t *buf, size_t len, struct raft_conf *conf)
{
	uint32_t n, i, j;
	size_t each = 0, off;

	if (!buf || len < 4)
		return RAFT_ECORRUPT;
	n = get32(buf);
	memset(conf, 0, sizeof(*conf));
	if ((n & 0xff000000u) == CONF_V3_MARK) {
		n &= 0x00ffffffu;
		if (n > RAFT_MAX_SERVERS || len < 12)
			return RAFT_ECORRUPT;
		conf->cluster_id = get64(buf + 4);
		off = 12;
		for (i = 0; i < n; i++)
			if (!decode_v3_server(buf, len, &off, &conf->servers[i]))
				return RAFT_ECORRUPT;
		if (len - off < 4)
			return RAFT_ECORRUPT;
		conf->n_removed = get32(buf + off);
		off += 4;
		if (conf->n_removed > RAFT_MAX_REMOVED ||
		    len - off != (size_t)conf->n_removed * 8)
			return RAFT_ECORRUPT;
		for (i = 0; i < conf->n_removed; i++, off += 8)
			conf->removed[i] = get64(buf + off);
	} else {
		if (n > RAFT_MAX_SERVERS)
			return RAFT_ECORRUPT;
		if (len == 4 + (size_t)n * CONF_V2_SERVER)
			each = CONF_V2_SERVER;
		else if (len == 4 + (size_t)n * CONF_V1_SERVER)
			each = CONF_V1_SERVER;      /* written before incarnations */
		else
			return RAFT_ECORRUPT;
		for (i = 0; i < n; i++) {
			const uint8_t *p = buf + 4 + (size_t)i * each;
			if (p[8] > 1)
				return RAFT_ECORRUPT;
			conf->servers[i].id = get64(p);
			conf->servers[i].voter = p[8] == 1;
			if (each == CONF_V2_SERVER)
				conf->servers[i].incarnation = get64(p + 9);
		}
	}
	for (i = 0; i < n; i++) {
		if (conf->servers[i].id == 0)
			return RAFT_ECORRUPT;
		for (j = 0; j < i; j++)
			if (conf->servers[j].id == conf->servers[i].id)
				return RAFT_ECORRUPT;
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

bool raft_conf_was_removed(const struct raft_conf *conf, uint64_t id)
{
	uint32_t i;
	for (i = 0; i < conf->n_removed; i++)
		if (conf->removed[i] == id)
			return true;
	return false;
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
	struct raft_server s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	return raft_change_server(r, op, &s, index);
}

/* Appends configuration c as the leader's next CONF_CHANGE entry. */
static int append_conf(struct raft *r, const struct raft_conf *c, uint64_t *index)
{
	uint8_t buf[RAFT_CONF_MAX_BYTES];
	size_t len = raft_conf_encode(c, buf, sizeof(buf));
	int rv;

	if (len == 0)
		return RAFT_ETOOBIG;
	if ((rv = raft_append_local(r, RAFT_ENTRY_CONF_CHANGE, buf, len)) != 0)
		return rv;
	if (index)
		*index = raft_log_last(r);
	return 0;
}

/* The rules every change obeys (§4.1, and the single-server fix). */
static int may_change(struct raft *r)
{
	uint64_t t;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transferee)
		return RAFT_ETRANSFER;
	if (r->conf_index > r->commit || !raft_log_term(r, r->commit, &t) ||
	    t != r->term)
		return RAFT_ECONFPENDING;
	return 0;
}

int raft_set_cluster_id(struct raft *r, uint64_t cluster_id, uint64_t *index)
{
	struct raft_conf c = r->conf;
	int rv = may_change(r);

	if (rv)
		return rv;
	if (c.cluster_id == cluster_id)
		return RAFT_EEXIST;
	c.cluster_id = cluster_id;
	return append_conf(r, &c, index);
}

int raft_change_server(struct raft *r, int op, const struct raft_server *srv,
                       uint64_t *index)
{
	struct raft_conf c = r->conf;
	struct raft_progress *pr;
	uint64_t id = srv->id;
	int pos, rv;

	if ((rv = may_change(r)) != 0)
		return rv;
	if (id == 0)
		return RAFT_EINVAL;
	pos = raft_conf_find(&c, id);
	switch (op) {
	case RAFT_CONF_ADD_LEARNER:
		if (pos >= 0)
			return RAFT_EEXIST;
		if (raft_conf_was_removed(&c, id))
			return RAFT_EREMOVED;
		if (c.n >= RAFT_MAX_SERVERS)
			return RAFT_ETOOBIG;
		memset(&c.servers[c.n], 0, sizeof(c.servers[c.n]));
		c.servers[c.n].id = id;
		c.servers[c.n].voter = false;
		c.servers[c.n].incarnation = 0;    /* admitted once it answers */
		c.servers[c.n].tag = srv->tag;
		memcpy(c.servers[c.n].addr, srv->addr,
		       strnlen(srv->addr, RAFT_ADDR_MAX - 1));
		c.n++;
		break;
	case RAFT_CONF_SET_TAG:
		if (pos < 0)
			return RAFT_ENOTFOUND;
		if (c.servers[pos].tag == srv->tag)
			return RAFT_EEXIST;
		c.servers[pos].tag = srv->tag;
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
		if (c.n_removed == RAFT_MAX_REMOVED) {
			memmove(c.removed, c.removed + 1,
			        (RAFT_MAX_REMOVED - 1) * sizeof(c.removed[0]));
			c.n_removed--;
		}
		c.removed[c.n_removed++] = id;
		break;
	default:
		return RAFT_EINVAL;
	}
	return append_conf(r, &c, index);
}
