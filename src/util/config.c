#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>
#include <sodium.h>

#include "util/config.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MiB (1024u * 1024u)

static int config_err(char *err, size_t errlen, const char *path, const config_setting_t *s,
    const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int config_get_u32(const config_t *cf, const char *path, const char *key, uint32_t min,
    uint32_t max, uint32_t *out, char *err, size_t errlen);
static int config_get_str(const config_t *cf, const char *path, const char *key, char **out,
    char *err, size_t errlen);
static int config_check_unknown(const config_t *cf, const char *path, char *err, size_t errlen);
static int config_load_security(struct rcfs_config *c, const config_t *cf, const char *path,
    char *err, size_t errlen);

/* Every top-level key, so typos are caught instead of silently ignored. */
static const char *const config_keys[] = {
	"node_id", "listen", "redis", "cluster", "initial_cluster_state", "chunk_size", "max_frame", "inline_max",
	"storage_window", "redis_timeout_ms", "max_inflight", "max_connections",
	"allow_unsafe_storage", "gc_interval_ms", "gc_grace_ms", "log_level", "peers",
	"replicas", "write_quorum", "read_quorum", "election_timeout_ms", "heartbeat_ms",
	"repair_interval_ms", "repair_files", "rebalance_rate", "snapshot_entries", "ntp_servers", "ntp_poll_ms",
	"ntp_timeout_ms", "max_clock_offset_ms",
	"auth", "cluster_key_file", "encrypt", "metrics_public", "client_keys", "idle_timeout_ms", "frame_timeout_ms",
	"rate_requests", "rate_bytes", "http_listen", "s3_listen", "s3_region", "s3_max_body",
	"s3_max_conns", "s3_domain", "s3_upload_expiry_ms", "log_file", "drain_timeout_ms", "ack_file",
	"aof_rewrite_growth", "aof_rewrite_min_bytes", "aof_rewrite_quiet_ms", "aof_rewrite_busy_growth",
	"aof_rewrite_turn_ms", NULL
};

void
config_defaults(struct rcfs_config *c)
{
	memset(c, 0, sizeof *c);
	c->chunk_size = 1 * MiB;   /* measured: docs/design.md "chunk size" */
	c->inline_max = 64 * 1024;
	c->s3_max_body = 256 * MiB;     /* above rclone's 200 MiB single-PUT cutoff (docs/s3.md) */
	c->s3_max_conns = 16;
	c->s3_upload_expiry_ms = 24 * 3600 * 1000;     /* as MinIO's stale-upload expiry */
	c->storage_window = 4;
	c->redis_timeout_ms = 5000;
	c->max_inflight = 16;
	c->max_connections = 1024;
	c->gc_interval_ms = 1000;
	c->gc_grace_ms = 24 * 3600 * 1000;
	c->repair_interval_ms = 1000;
	c->repair_files = 32;
	c->rebalance_rate = 8u << 20;
	c->log_level = LOG_INFO;
	c->replicas = 3;
	c->write_quorum = 2;
	c->read_quorum = 2;
	c->election_timeout_ms = 150;
	c->heartbeat_ms = 50;
	c->snapshot_entries = 8192;
	c->ntp_poll_ms = 16000;
	c->ntp_timeout_ms = 1000;
	c->max_clock_offset_ms = 500;
	c->idle_timeout_ms = 300 * 1000;
	c->frame_timeout_ms = 10 * 1000;
	c->drain_timeout_ms = 5000;
	c->aof_rewrite_growth = 100;
	c->aof_rewrite_min_bytes = 64 * MiB;
	c->aof_rewrite_quiet_ms = 10000;
	c->aof_rewrite_busy_growth = 200;
	c->aof_rewrite_turn_ms = 20000;
}

/* auth, cluster_key_file, encrypt, client_keys, timeouts and rate limits.
 * Authentication is on unless `auth = false` is written: without a key file
 * and without that line the configuration is refused. */
static int
config_load_security(struct rcfs_config *c, const config_t *cf, const char *path, char *err,
    size_t errlen)
{
	static const char *const roles[] = { "read-only", "read-write", "admin" };
	config_setting_t *s, *auth_s = config_lookup(cf, "auth");

	if (config_get_str(cf, path, "cluster_key_file", &c->cluster_key_file, err, errlen) ||
	    config_get_u32(cf, path, "idle_timeout_ms", 0, 86400000, &c->idle_timeout_ms, err, errlen) ||
	    config_get_u32(cf, path, "frame_timeout_ms", 100, 600000, &c->frame_timeout_ms, err, errlen) ||
	    config_get_u32(cf, path, "rate_requests", 0, 10000000, &c->rate_requests, err, errlen) ||
	    config_get_u32(cf, path, "rate_bytes", 0, 4000000000u, &c->rate_bytes, err, errlen))
		return -1;
	if (auth_s != NULL && config_setting_type(auth_s) != CONFIG_TYPE_BOOL)
		return config_err(err, errlen, path, auth_s, "auth", "must be true or false");
	if ((s = config_lookup(cf, "encrypt")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_err(err, errlen, path, s, "encrypt", "must be true or false");
		c->encrypt = config_setting_get_bool(s);
	}
	if ((s = config_lookup(cf, "metrics_public")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_err(err, errlen, path, s, "metrics_public", "must be true or false");
		c->metrics_public = config_setting_get_bool(s);
	}
	c->auth = auth_s != NULL ? config_setting_get_bool(auth_s) : true;
	if (c->auth && c->cluster_key_file == NULL)
		return config_err(err, errlen, path, auth_s, auth_s != NULL ? "auth" : "cluster_key_file",
		    "%s", auth_s != NULL ? "auth = true needs cluster_key_file"
		    : "is required (create one with `rcfs keygen FILE`), or write auth = false; "
		    "to run without authentication (local trials only)");
	if (!c->auth && c->encrypt)
		return config_err(err, errlen, path, config_lookup(cf, "encrypt"), "encrypt",
		    "needs auth (encryption keys come from the handshake)");
	if ((s = config_lookup(cf, "client_keys")) != NULL) {
		int n = config_setting_length(s);
		if (!config_setting_is_list(s) || n > CONFIG_MAX_CLIENT_KEYS)
			return config_err(err, errlen, path, s, "client_keys",
			    "must be a list of up to %d { name = \"..\"; role = \"..\"; verifier = \"hex\"; }",
			    CONFIG_MAX_CLIENT_KEYS);
		for (int i = 0; i < n; i++) {
			config_setting_t *k = config_setting_get_elem(s, (unsigned)i);
			struct config_client_key *ck = &c->client_keys[c->nclient_keys];
			const char *name, *role, *hex;
			size_t bin_len = 0;
			const char *end = NULL;
			int rq, rb;

			if (!config_setting_is_group(k) || !config_setting_lookup_string(k, "name", &name) ||
			    !config_setting_lookup_string(k, "role", &role) ||
			    !config_setting_lookup_string(k, "verifier", &hex))
				return config_err(err, errlen, path, k, "client_keys",
				    "member %d needs name, role and verifier", i + 1);
			if (name[0] == '\0' || strlen(name) > 64)
				return config_err(err, errlen, path, k, "client_keys",
				    "member %d: name must be 1..64 bytes", i + 1);
			for (unsigned j = 0; j < c->nclient_keys; j++)
				if (strcmp(c->client_keys[j].name, name) == 0)
					return config_err(err, errlen, path, k, "client_keys",
					    "name '%s' appears twice", name);
			ck->role = 0;
			for (int r = 0; r < 3; r++)
				if (strcmp(role, roles[r]) == 0)
					ck->role = r + 1;
			if (ck->role == 0)
				return config_err(err, errlen, path, k, "client_keys",
				    "member %d: role must be \"read-only\", \"read-write\" or \"admin\"", i + 1);
			if (strlen(hex) != 2 * CONFIG_KEY_LEN ||
			    sodium_hex2bin(ck->verifier, CONFIG_KEY_LEN, hex, strlen(hex), NULL, &bin_len,
			    &end) != 0 || bin_len != CONFIG_KEY_LEN || *end != '\0')
				return config_err(err, errlen, path, k, "client_keys",
				    "member %d: verifier must be 64 hex digits (rcfs keygen prints it)", i + 1);
			ck->rate_requests = c->rate_requests;
			ck->rate_bytes = c->rate_bytes;
			if (config_setting_lookup_int(k, "rate_requests", &rq) && rq >= 0)
				ck->rate_requests = (uint32_t)rq;
			if (config_setting_lookup_int(k, "rate_bytes", &rb) && rb >= 0)
				ck->rate_bytes = (uint32_t)rb;
			ck->name = xstrdup(name);
			c->nclient_keys++;
		}
	}
	return 0;
}

static int
config_err(char *err, size_t errlen, const char *path, const config_setting_t *s, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s != NULL && config_setting_source_line(s) > 0)
		n = snprintf(err, errlen, "%s:%u: key '%s': ", path, config_setting_source_line(s), key);
	else
		n = snprintf(err, errlen, "%s: key '%s': ", path, key);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
config_get_u32(const config_t *cf, const char *path, const char *key, uint32_t min, uint32_t max,
    uint32_t *out, char *err, size_t errlen)
{
	config_setting_t *s = config_lookup(cf, key);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return config_err(err, errlen, path, s, key, "must be an integer");
	v = config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max)
		return config_err(err, errlen, path, s, key, "%lld is out of range [%u, %u]", v, min, max);
	*out = (uint32_t)v;
	return 0;
}

static int
config_get_str(const config_t *cf, const char *path, const char *key, char **out, char *err,
    size_t errlen)
{
	config_setting_t *s = config_lookup(cf, key);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_err(err, errlen, path, s, key, "must be a string");
	free(*out);
	*out = xstrdup(config_setting_get_string(s));
	return 0;
}

static int
config_check_unknown(const config_t *cf, const char *path, char *err, size_t errlen)
{
	config_setting_t *root = config_root_setting(cf);

	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		int known = 0;
		for (size_t k = 0; config_keys[k] != NULL; k++)
			if (strcmp(name, config_keys[k]) == 0)
				known = 1;
		if (!known)
			return config_err(err, errlen, path, s, name, "unknown key");
	}
	return 0;
}

int
config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int
config_load(struct rcfs_config *c, const char *path, char *err, size_t errlen)
{
	config_t cf;
	config_setting_t *s;
	uint32_t u;
	char host[256];
	uint16_t port;
	int rv = -1;

	config_defaults(c);
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read the file", path);
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s", path, config_error_line(&cf),
			    config_error_text(&cf));
		goto out;
	}
	if (config_check_unknown(&cf, path, err, errlen) != 0)
		goto out;

	s = config_lookup(&cf, "node_id");
	if (s == NULL) {
		config_err(err, errlen, path, NULL, "node_id", "is required");
		goto out;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		config_err(err, errlen, path, s, "node_id", "must be an integer");
		goto out;
	}
	if (config_setting_get_int64(s) < 1) {
		config_err(err, errlen, path, s, "node_id", "must be a positive integer");
		goto out;
	}
	c->node_id = (uint64_t)config_setting_get_int64(s);

	if (config_get_str(&cf, path, "listen", &c->listen, err, errlen) ||
	    config_get_str(&cf, path, "redis", &c->redis, err, errlen) ||
	    config_get_str(&cf, path, "cluster", &c->cluster_name, err, errlen) ||
	    config_get_str(&cf, path, "http_listen", &c->http_listen, err, errlen) ||
	    config_get_str(&cf, path, "s3_listen", &c->s3_listen, err, errlen) ||
	    config_get_str(&cf, path, "s3_region", &c->s3_region, err, errlen) ||
	    config_get_str(&cf, path, "s3_domain", &c->s3_domain, err, errlen) ||
	    config_get_str(&cf, path, "log_file", &c->log_file, err, errlen) ||
	    config_get_str(&cf, path, "ack_file", &c->ack_file, err, errlen))
		goto out;
	if (c->http_listen != NULL && c->http_listen[0] != ':' && c->http_listen[0] != '*' &&
	    config_split_hostport(c->http_listen, host, sizeof host, &port) != 0) {
		config_err(err, errlen, path, config_lookup(&cf, "http_listen"), "http_listen",
		    "'%s' is not host:port", c->http_listen);
		goto out;
	}
	if (c->s3_listen != NULL && c->s3_listen[0] != ':' && c->s3_listen[0] != '*' &&
	    config_split_hostport(c->s3_listen, host, sizeof host, &port) != 0) {
		config_err(err, errlen, path, config_lookup(&cf, "s3_listen"), "s3_listen",
		    "'%s' is not host:port", c->s3_listen);
		goto out;
	}
	if (c->listen == NULL) {
		config_err(err, errlen, path, NULL, "listen", "is required (\"host:port\")");
		goto out;
	}
	if (config_split_hostport(c->listen, host, sizeof host, &port) != 0) {
		config_err(err, errlen, path, config_lookup(&cf, "listen"), "listen",
		    "'%s' is not host:port", c->listen);
		goto out;
	}
	if (c->redis == NULL) {
		config_err(err, errlen, path, NULL, "redis",
		    "is required (\"unix:/path/to/redis.sock\" or \"host:port\")");
		goto out;
	}
	if (strncmp(c->redis, "unix:", 5) != 0 &&
	    config_split_hostport(c->redis, host, sizeof host, &port) != 0) {
		config_err(err, errlen, path, config_lookup(&cf, "redis"), "redis",
		    "'%s' is neither unix:/path nor host:port", c->redis);
		goto out;
	}
	if (c->cluster_name == NULL)
		c->cluster_name = xstrdup("rcfs");
	if ((s = config_lookup(&cf, "initial_cluster_state")) != NULL) {
		const char *v = config_setting_get_string(s);
		if (v == NULL || (strcmp(v, "new") != 0 && strcmp(v, "existing") != 0)) {
			config_err(err, errlen, path, s, "initial_cluster_state",
			    "must be \"new\" or \"existing\"");
			goto out;
		}
		c->bootstrap = strcmp(v, "new") == 0;
	}

	if (config_get_u32(&cf, path, "chunk_size", MiB, 5 * MiB, &c->chunk_size, err, errlen))
		goto out;
	c->max_frame = c->chunk_size + 64 * 1024;
	if (config_get_u32(&cf, path, "max_frame", 64 * 1024, 64 * MiB, &c->max_frame, err, errlen))
		goto out;
	if (c->max_frame < c->chunk_size + 4096) {
		config_err(err, errlen, path, config_lookup(&cf, "max_frame"), "max_frame",
		    "%u is below chunk_size + 4096 (%u)", c->max_frame, c->chunk_size + 4096);
		goto out;
	}
	if (config_get_u32(&cf, path, "inline_max", 0, MiB, &c->inline_max, err, errlen) ||
	    config_get_u32(&cf, path, "storage_window", 1, 64, &c->storage_window, err, errlen) ||
	    config_get_u32(&cf, path, "s3_max_body", MiB, 2048u * MiB, &c->s3_max_body, err, errlen) ||
	    config_get_u32(&cf, path, "s3_max_conns", 1, 4096, &c->s3_max_conns, err, errlen) ||
	    config_get_u32(&cf, path, "s3_upload_expiry_ms", 0, 4000000000u, &c->s3_upload_expiry_ms, err,
	    errlen) ||
	    config_get_u32(&cf, path, "redis_timeout_ms", 10, 600000, &c->redis_timeout_ms, err, errlen) ||
	    config_get_u32(&cf, path, "max_inflight", 1, 1024, &c->max_inflight, err, errlen) ||
	    config_get_u32(&cf, path, "max_connections", 1, 100000, &c->max_connections, err, errlen) ||
	    config_get_u32(&cf, path, "gc_interval_ms", 100, 86400000, &c->gc_interval_ms, err, errlen) ||
	    config_get_u32(&cf, path, "gc_grace_ms", 0, 604800000, &c->gc_grace_ms, err, errlen) ||
	    config_get_u32(&cf, path, "repair_interval_ms", 10, 86400000, &c->repair_interval_ms, err, errlen) ||
	    config_get_u32(&cf, path, "repair_files", 1, 100000, &c->repair_files, err, errlen) ||
	    config_get_u32(&cf, path, "rebalance_rate", 0, 4000000000u, &c->rebalance_rate, err, errlen) ||
	    config_get_u32(&cf, path, "snapshot_entries", 0, 100000000, &c->snapshot_entries, err, errlen) ||
	    config_get_u32(&cf, path, "ntp_poll_ms", 100, 86400000, &c->ntp_poll_ms, err, errlen) ||
	    config_get_u32(&cf, path, "ntp_timeout_ms", 10, 60000, &c->ntp_timeout_ms, err, errlen) ||
	    config_get_u32(&cf, path, "max_clock_offset_ms", 1, 3600000, &c->max_clock_offset_ms, err, errlen) ||
	    config_get_u32(&cf, path, "replicas", 1, CONFIG_MAX_PEERS, &c->replicas, err, errlen) ||
	    config_get_u32(&cf, path, "write_quorum", 1, CONFIG_MAX_PEERS, &c->write_quorum, err, errlen) ||
	    config_get_u32(&cf, path, "read_quorum", 1, CONFIG_MAX_PEERS, &c->read_quorum, err, errlen) ||
	    config_get_u32(&cf, path, "election_timeout_ms", 10, 60000, &c->election_timeout_ms, err, errlen) ||
	    config_get_u32(&cf, path, "heartbeat_ms", 1, 10000, &c->heartbeat_ms, err, errlen) ||
	    config_get_u32(&cf, path, "drain_timeout_ms", 0, 600000, &c->drain_timeout_ms, err, errlen) ||
	    config_get_u32(&cf, path, "aof_rewrite_growth", 0, 10000, &c->aof_rewrite_growth, err, errlen) ||
	    config_get_u32(&cf, path, "aof_rewrite_min_bytes", 0, UINT32_MAX, &c->aof_rewrite_min_bytes, err,
	    errlen) ||
	    config_get_u32(&cf, path, "aof_rewrite_quiet_ms", 0, 3600000, &c->aof_rewrite_quiet_ms, err,
	    errlen) ||
	    config_get_u32(&cf, path, "aof_rewrite_busy_growth", 0, 10000, &c->aof_rewrite_busy_growth, err,
	    errlen) ||
	    config_get_u32(&cf, path, "aof_rewrite_turn_ms", 8000, 3600000, &c->aof_rewrite_turn_ms, err,
	    errlen))
		goto out;
	if (c->inline_max > c->max_frame - 4096) {
		config_err(err, errlen, path, config_lookup(&cf, "inline_max"), "inline_max",
		    "%u does not fit in max_frame %u", c->inline_max, c->max_frame);
		goto out;
	}
	if (c->heartbeat_ms >= c->election_timeout_ms) {
		config_err(err, errlen, path, config_lookup(&cf, "heartbeat_ms"), "heartbeat_ms",
		    "%u must be below election_timeout_ms (%u)", c->heartbeat_ms, c->election_timeout_ms);
		goto out;
	}

	if ((s = config_lookup(&cf, "allow_unsafe_storage")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
			config_err(err, errlen, path, s, "allow_unsafe_storage", "must be true or false");
			goto out;
		}
		c->allow_unsafe_storage = config_setting_get_bool(s);
	}
	if ((s = config_lookup(&cf, "log_level")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING ||
		    (c->log_level = log_level_parse(config_setting_get_string(s))) < 0) {
			config_err(err, errlen, path, s, "log_level", "must be \"error\", \"warn\", \"info\" or \"debug\"");
			goto out;
		}
	}

	if ((s = config_lookup(&cf, "ntp_servers")) != NULL) {
		int n = config_setting_length(s);
		if ((!config_setting_is_array(s) && !config_setting_is_list(s)) || n > 16) {
			config_err(err, errlen, path, s, "ntp_servers", "must be a list of up to 16 \"host[:port]\" strings");
			goto out;
		}
		for (int i = 0; i < n; i++) {
			const char *v = config_setting_get_string_elem(s, i);
			if (v == NULL || v[0] == '\0') {
				config_err(err, errlen, path, s, "ntp_servers", "member %d is not a \"host[:port]\" string", i + 1);
				goto out;
			}
			c->ntp_servers[c->nntp_servers++] = xstrdup(v);
		}
	}
	if ((s = config_lookup(&cf, "peers")) != NULL) {
		int n = config_setting_length(s);
		if (!config_setting_is_list(s) && !config_setting_is_array(s)) {
			config_err(err, errlen, path, s, "peers", "must be a list ( { id = N; address = \"host:port\"; }, ... )");
			goto out;
		}
		if (n > CONFIG_MAX_PEERS) {
			config_err(err, errlen, path, s, "peers", "at most %d members", CONFIG_MAX_PEERS);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			config_setting_t *p = config_setting_get_elem(s, (unsigned)i);
			long long id;
			const char *addr, *http = NULL;
			if (!config_setting_is_group(p) || !config_setting_lookup_int64(p, "id", &id) ||
			    id < 1 || !config_setting_lookup_string(p, "address", &addr) ||
			    config_split_hostport(addr, host, sizeof host, &port) != 0) {
				config_err(err, errlen, path, p, "peers",
				    "member %d needs id (>= 1) and address (\"host:port\")", i + 1);
				goto out;
			}
			if (config_setting_get_member(p, "http") != NULL &&
			    (!config_setting_lookup_string(p, "http", &http) ||
			    config_split_hostport(http, host, sizeof host, &port) != 0)) {
				config_err(err, errlen, path, p, "peers",
				    "member %d: http must be \"host:port\"", i + 1);
				goto out;
			}
			for (unsigned j = 0; j < c->npeers; j++)
				if (c->peers[j].id == (uint64_t)id) {
					config_err(err, errlen, path, p, "peers", "id %lld appears twice", id);
					goto out;
				}
			c->peers[c->npeers].id = (uint64_t)id;
			c->peers[c->npeers].address = xstrdup(addr);
			c->peers[c->npeers].http = http ? xstrdup(http) : NULL;
			c->npeers++;
		}
	}
	if (c->npeers > 0) {
		int self = 0;
		for (unsigned j = 0; j < c->npeers; j++)
			self |= c->peers[j].id == c->node_id;
		if (!self) {
			config_err(err, errlen, path, config_lookup(&cf, "peers"), "peers",
			    "must include this node (node_id %llu)", (unsigned long long)c->node_id);
			goto out;
		}
	}
	/* N/W/R: 1 <= W <= N, 1 <= R <= N, W + R > N; a node without peers is
	 * a cluster of one (N = 1).  With peers, the list is an address book
	 * (a joining node's may name only some members): the membership, not
	 * this file, says how many store chunks. */
	u = c->npeers > 0 ? CONFIG_MAX_PEERS + 1 : 1;
	if (c->npeers == 0 && config_lookup(&cf, "replicas") == NULL) {
		c->replicas = 1;
		c->write_quorum = c->write_quorum > 1 ? 1 : c->write_quorum;
		c->read_quorum = c->read_quorum > 1 ? 1 : c->read_quorum;
	}
	if (c->replicas > u) {
		config_err(err, errlen, path, config_lookup(&cf, "replicas"), "replicas",
		    "%u is more than the %u cluster members", c->replicas, u);
		goto out;
	}
	if (c->write_quorum > c->replicas) {
		config_err(err, errlen, path, config_lookup(&cf, "write_quorum"), "write_quorum",
		    "%u is more than replicas (%u)", c->write_quorum, c->replicas);
		goto out;
	}
	if (c->read_quorum > c->replicas) {
		config_err(err, errlen, path, config_lookup(&cf, "read_quorum"), "read_quorum",
		    "%u is more than replicas (%u)", c->read_quorum, c->replicas);
		goto out;
	}
	if (c->write_quorum + c->read_quorum <= c->replicas) {
		config_err(err, errlen, path, config_lookup(&cf, "read_quorum"), "read_quorum",
		    "write_quorum + read_quorum (%u) must exceed replicas (%u)",
		    c->write_quorum + c->read_quorum, c->replicas);
		goto out;
	}
	if (config_load_security(c, &cf, path, err, errlen) != 0)
		goto out;
	rv = 0;
out:
	config_destroy(&cf);
	return rv;
}

void
config_free(struct rcfs_config *c)
{
	free(c->listen);
	free(c->redis);
	free(c->cluster_name);
	free(c->http_listen);
	free(c->s3_listen);
	free(c->s3_region);
	free(c->s3_domain);
	free(c->ack_file);
	free(c->log_file);
	for (unsigned i = 0; i < c->npeers; i++) {
		free(c->peers[i].address);
		free(c->peers[i].http);
	}
	for (unsigned i = 0; i < c->nntp_servers; i++)
		free(c->ntp_servers[i]);
	for (unsigned i = 0; i < c->nclient_keys; i++)
		free(c->client_keys[i].name);
	free(c->cluster_key_file);
	memset(c, 0, sizeof *c);
}
