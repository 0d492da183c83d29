/* The member table and its peer links: see node/members.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>

#include "net/peer.h"
#include "node/members.h"
#include "util/config.h"
#include "util/log.h"
#include "util/time.h"
#include "util/xmalloc.h"

struct members {
	struct event_base *base;
	const struct rcfs_config *cfg;
	struct member table[RAFT_MAX_SERVERS];
	uint32_t n;
	bool configured;                /* table follows a configuration */
	uint64_t cluster_id;
	uint32_t n_removed;
	uint64_t removed[RAFT_MAX_REMOVED];
	struct member noted[4];         /* peers not in the configuration (members_note_peer) */
	uint32_t n_noted;
	struct peer *retired[RAFT_MAX_SERVERS * 2];   /* links to close next iteration */
	uint32_t n_retired;
	struct event *retire_ev;
	struct event *hello_ev;         /* the cluster id changed: links say hello again */
	struct event *stranger_ev;      /* every 5 s: noted peers that are still not members */
};

static void members_retire_cb(evutil_socket_t fd, short what, void *arg);
static void members_hello_cb(evutil_socket_t fd, short what, void *arg);
static void members_stranger_cb(evutil_socket_t fd, short what, void *arg);
static struct peer *members_link(struct members *m, uint64_t id, const char *address);
static const char *members_book_address(const struct members *m, uint64_t id);
static const struct member *members_find_configured(const struct members *m, uint64_t id);

struct members *
members_new(struct event_base *base, const struct rcfs_config *cfg)
{
	struct members *m = xcalloc(1, sizeof *m);

	m->base = base;
	m->cfg = cfg;
	m->retire_ev = event_new(base, -1, 0, members_retire_cb, m);
	m->hello_ev = event_new(base, -1, 0, members_hello_cb, m);
	m->stranger_ev = event_new(base, -1, EV_PERSIST, members_stranger_cb, m);
	{
		struct timeval tv = { 5, 0 };
		event_add(m->stranger_ev, &tv);
	}
	if (cfg->npeers == 0) {
		m->table[0].id = cfg->node_id;
		snprintf(m->table[0].address, sizeof m->table[0].address, "%s",
		    cfg->listen ? cfg->listen : "");
		m->n = 1;
	}
	for (unsigned i = 0; i < cfg->npeers && m->n < RAFT_MAX_SERVERS; i++) {
		struct member *mb = &m->table[m->n++];
		mb->id = cfg->peers[i].id;
		mb->role = MEMBER_VOTER;
		snprintf(mb->address, sizeof mb->address, "%s", cfg->peers[i].address);
		mb->peer = members_link(m, mb->id, mb->address);
	}
	return m;
}

void
members_free(struct members *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; i < m->n; i++)
		peer_free(m->table[i].peer);
	for (uint32_t i = 0; i < m->n_noted; i++)
		peer_free(m->noted[i].peer);
	members_retire_cb(-1, 0, m);
	event_free(m->retire_ev);
	event_free(m->hello_ev);
	event_free(m->stranger_ev);
	free(m);
}

static struct peer *
members_link(struct members *m, uint64_t id, const char *address)
{
	const struct rcfs_config *cfg = m->cfg;

	if (id == cfg->node_id || address[0] == '\0')
		return NULL;
	return peer_new(m->base, cfg->node_id, cfg->cluster_name, id, address, cfg->max_frame,
	    cfg->redis_timeout_ms + 1000);
}

static const char *
members_book_address(const struct members *m, uint64_t id)
{
	for (unsigned i = 0; i < m->cfg->npeers; i++)
		if (m->cfg->peers[i].id == id)
			return m->cfg->peers[i].address;
	return id == m->cfg->node_id && m->cfg->listen ? m->cfg->listen : "";
}

/* Links that connected before the cluster id was known sent a hello
 * without it: they say hello again, so that peers can check it. */
static void
members_hello_cb(evutil_socket_t fd, short what, void *arg)
{
	struct members *m = arg;

	(void)fd; (void)what;
	log_debug("members: cluster id %016" PRIx64 " known: the peer links say hello again",
	    m->cluster_id);
	for (uint32_t i = 0; i < m->n; i++)
		if (m->table[i].peer != NULL)
			peer_hello_again(m->table[i].peer);
}

static void
members_retire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct members *m = arg;

	(void)fd; (void)what;
	while (m->n_retired > 0)
		peer_free(m->retired[--m->n_retired]);
}

/* The member record of server s (conf's, or only the committed one's). */
static void
members_fill(struct members *m, struct member *mb, const struct raft_server *s, bool leaving)
{
	mb->id = s->id;
	mb->leaving = leaving;
	/* A configuration written before addresses were recorded: the address
	 * book has it. */
	snprintf(mb->address, sizeof mb->address, "%s",
	    s->addr[0] != '\0' ? s->addr : members_book_address(m, s->id));
	mb->role = s->voter ? MEMBER_VOTER
	    : (s->tag & MEMBER_TAG_STORAGE) ? MEMBER_STORAGE : MEMBER_LEARNER;
	mb->tag = s->tag;
	mb->incarnation = s->incarnation;
}

bool
members_update(struct members *m, const struct raft_conf *conf, const struct raft_conf *committed)
{
	struct member next[RAFT_MAX_SERVERS * 2];
	uint32_t n = 0;
	bool changed = !m->configured;

	if (conf->n == 0)
		return false;
	memset(next, 0, sizeof next);
	for (uint32_t i = 0; i < conf->n; i++)
		members_fill(m, &next[n++], &conf->servers[i], false);
	for (uint32_t i = 0; i < committed->n; i++)
		if (raft_conf_find(conf, committed->servers[i].id) < 0 && n < RAFT_MAX_SERVERS)
			members_fill(m, &next[n++], &committed->servers[i], true);
	for (uint32_t i = 0; i < n; i++) {
		struct member *mb = &next[i];
		const struct member *old = members_find_configured(m, mb->id);

		if (m->configured && old == NULL)
			log_info("members: node %" PRIu64 " joined the configuration as %s at %s", mb->id,
			    member_role_name(mb->role), mb->address);
		else if (m->configured && (old->role != mb->role || old->tag != mb->tag))
			log_info("members: node %" PRIu64 " is now %s, %s", mb->id, member_role_name(mb->role),
			    member_state_name(mb));
		if (old != NULL && strcmp(old->address, mb->address) == 0) {
			mb->peer = old->peer;
			changed |= old->role != mb->role || old->tag != mb->tag || old->leaving != mb->leaving;
		} else {
			changed = true;
			mb->peer = members_link(m, mb->id, mb->address);
			if (mb->peer == NULL && mb->id != m->cfg->node_id)
				log_warn("members: no address known for node %" PRIu64 ": it cannot be reached",
				    mb->id);
		}
	}
	/* Links to members that left both configurations (or moved) close on
	 * the next iteration. */
	for (uint32_t i = 0; i < m->n; i++) {
		struct peer *p = m->table[i].peer;
		bool kept = false;
		for (uint32_t j = 0; j < n; j++)
			kept |= next[j].id == m->table[i].id;
		if (m->configured && !kept) {
			changed = true;
			log_info("members: node %" PRIu64 " left the configuration%s", m->table[i].id,
			    m->table[i].id == m->cfg->node_id ? " (this node: it no longer votes or "
			    "stores new chunks)" : "");
		}
		kept = false;
		for (uint32_t j = 0; j < n; j++)
			kept |= next[j].peer == p;
		if (p != NULL && !kept && m->n_retired < sizeof m->retired / sizeof m->retired[0]) {
			m->retired[m->n_retired++] = p;
			event_active(m->retire_ev, EV_TIMEOUT, 0);
		} else if (p != NULL && !kept) {
			peer_free(p);   /* cannot happen: at most one batch per iteration */
		}
	}
	memcpy(m->table, next, sizeof m->table);
	m->n = n;
	m->configured = true;
	/* Noted peers that the configuration now names: their own record
	 * takes over (the noted link closes next iteration). */
	for (uint32_t i = 0; i < m->n_noted; ) {
		bool named = false;
		for (uint32_t j = 0; j < n; j++)
			named |= next[j].id == m->noted[i].id;
		if (!named) {
			i++;
			continue;
		}
		if (m->noted[i].peer != NULL && m->n_retired < sizeof m->retired / sizeof m->retired[0]) {
			m->retired[m->n_retired++] = m->noted[i].peer;
			event_active(m->retire_ev, EV_TIMEOUT, 0);
		}
		m->noted[i] = m->noted[--m->n_noted];
	}
	if (committed->cluster_id != 0 && committed->cluster_id != m->cluster_id) {
		peer_set_cluster_id(committed->cluster_id);
		event_active(m->hello_ev, EV_TIMEOUT, 0);
	}
	m->cluster_id = committed->cluster_id;
	m->n_removed = committed->n_removed;
	memcpy(m->removed, committed->removed, sizeof m->removed);
	return changed;
}

uint32_t
members_count(const struct members *m)
{
	return m->n;
}

const struct member *
members_at(const struct members *m, uint32_t i)
{
	return i < m->n ? &m->table[i] : NULL;
}

static const struct member *
members_find_configured(const struct members *m, uint64_t id)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->table[i].id == id)
			return &m->table[i];
	return NULL;
}

const struct member *
members_find(const struct members *m, uint64_t id)
{
	const struct member *mb = members_find_configured(m, id);

	for (uint32_t i = 0; mb == NULL && i < m->n_noted; i++)
		if (m->noted[i].id == id)
			mb = &m->noted[i];
	return mb;
}

const struct member *
members_note_peer(struct members *m, uint64_t id, const char *address)
{
	struct member *mb;

	if (members_find(m, id) != NULL)
		return members_find(m, id);
	if (address == NULL || address[0] == '\0' || strlen(address) >= RAFT_ADDR_MAX ||
	    m->n_noted == sizeof m->noted / sizeof m->noted[0] || id == m->cfg->node_id)
		return NULL;
	{
		/* A numeric address only: a name would mean a blocking lookup
		 * in the loop, on a peer's say-so. */
		char host[RAFT_ADDR_MAX];
		uint16_t port;
		uint8_t bin[16];
		if (config_split_hostport(address, host, sizeof host, &port) != 0 || port == 0 ||
		    (evutil_inet_pton(AF_INET, host, bin) != 1 && evutil_inet_pton(AF_INET6, host, bin) != 1))
			return NULL;
	}
	mb = &m->noted[m->n_noted++];
	memset(mb, 0, sizeof *mb);
	mb->id = id;
	mb->role = MEMBER_LEARNER;      /* takes no chunks here: not in the configuration */
	mb->leaving = true;
	snprintf(mb->address, sizeof mb->address, "%s", address);
	mb->peer = members_link(m, id, mb->address);
	mb->noted_ms = time_mono_ms();
	log_info("members: node %" PRIu64 " at %s is not in the configuration this node follows "
	    "(it may be stale): keeping a link to it until the log says who it is", id, address);
	return mb;
}

/* A noted peer that is still not in the configuration 10 s later was most
 * likely never added: say so once, with the command (the node itself says
 * the same from its side, node.c). */
static void
members_stranger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct members *m = arg;
	uint64_t now = time_mono_ms();

	(void)fd; (void)what;
	for (uint32_t i = 0; i < m->n_noted; i++) {
		struct member *mb = &m->noted[i];
		if (mb->noted_warned || now - mb->noted_ms < 10000)
			continue;
		mb->noted_warned = true;
		log_warn("members: node %" PRIu64 " at %s keeps connecting but is not a member of this "
		    "cluster: if it was never added, add it (`rcfs member add %" PRIu64 " %s`) or stop it",
		    mb->id, mb->address, mb->id, mb->address);
	}
}

bool
members_was_removed(const struct members *m, uint64_t id)
{
	for (uint32_t i = 0; i < m->n_removed; i++)
		if (m->removed[i] == id)
			return true;
	return false;
}

uint64_t
members_cluster_id(const struct members *m)
{
	return m->cluster_id;
}

bool
members_configured(const struct members *m)
{
	return m->configured;
}

bool
member_takes_chunks(const struct member *mb)
{
	return mb->role != MEMBER_LEARNER && !(mb->tag & MEMBER_TAG_DRAINING) && !mb->leaving;
}

const char *
member_role_name(enum member_role role)
{
	switch (role) {
	case MEMBER_VOTER: return "voter";
	case MEMBER_LEARNER: return "learner";
	case MEMBER_STORAGE: return "storage";
	}
	return "?";
}

const char *
member_state_name(const struct member *mb)
{
	return (mb->tag & MEMBER_TAG_DRAINING) ? "draining" : "active";
}

void
members_bootstrap_conf(const struct rcfs_config *cfg, struct raft_conf *out)
{
	memset(out, 0, sizeof *out);
	if (cfg->npeers == 0) {
		out->servers[0].id = cfg->node_id;
		out->servers[0].voter = true;
		snprintf(out->servers[0].addr, RAFT_ADDR_MAX, "%s", cfg->listen ? cfg->listen : "");
		out->n = 1;
	}
	for (unsigned i = 0; i < cfg->npeers && out->n < RAFT_MAX_SERVERS; i++) {
		struct raft_server *s = &out->servers[out->n++];
		s->id = cfg->peers[i].id;
		s->voter = true;
		snprintf(s->addr, RAFT_ADDR_MAX, "%s", cfg->peers[i].address);
	}
	/* No cluster id: the first leader draws one (cs_admit). */
}
