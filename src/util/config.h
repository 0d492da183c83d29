/* rcfsd configuration: loaded with libconfig, validated once at start.
 * conf/rcfsd.conf documents every key and its default. */
#ifndef RCFS_CONFIG_H
#define RCFS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_MAX_PEERS 15
#define CONFIG_MAX_CLIENT_KEYS 64
#define CONFIG_KEY_LEN 32

/* An API key as nodes know it ("client_keys" list): its verifier, never the
 * key (docs/security.md). */
struct config_client_key {
	char *name;                     /* what the client presents, <= 64 bytes */
	int role;                       /* enum auth_role: 1 read-only, 2 read-write, 3 admin */
	uint8_t verifier[CONFIG_KEY_LEN];
	uint32_t rate_requests;         /* requests/s, 0 = unlimited */
	uint32_t rate_bytes;            /* request payload bytes/s, 0 = unlimited */
};

/* A cluster member as configured ("peers" list; includes this node). */
struct config_peer {
	uint64_t id;
	char *address;                  /* "host:port" */
	char *http;                     /* its HTTP endpoint "host:port", or NULL */
};

struct rcfs_config {
	uint64_t node_id;               /* node_id: 1.. */
	char *listen;                   /* listen: "host:port" */
	char *redis;                    /* redis: "unix:/path" or "host:port" */
	char *cluster_name;             /* cluster: peers must agree on it */
	bool bootstrap;                 /* initial_cluster_state = "new" (or rcfsd --bootstrap):
	                                   an empty storage founds the cluster (docs/raft.md) */
	bool force_new_cluster;         /* rcfsd --force-new-cluster: this node alone becomes the
	                                   cluster (docs/operations.md) */
	uint32_t chunk_size;            /* bytes, 1..5 MiB */
	uint32_t max_frame;             /* bytes of payload; default chunk_size + 64 KiB */
	uint32_t inline_max;            /* bytes: files up to this ride in metadata */
	uint32_t storage_window;        /* large redis writes in flight */
	uint32_t redis_timeout_ms;      /* per command */
	uint32_t max_inflight;          /* requests in flight per client connection */
	uint32_t max_connections;
	bool allow_unsafe_storage;      /* skip the appendfsync/noeviction checks */
	uint32_t gc_interval_ms;        /* chunk GC scan period */
	uint32_t gc_grace_ms;           /* ms an upload protects a chunk not committed yet (fs/chunk.h) */
	uint32_t repair_interval_ms;    /* repair scan period */
	uint32_t repair_files;          /* files examined per repair period */
	uint32_t rebalance_rate;        /* bytes/s a node hands off when rebalancing (0: unlimited) */
	int log_level;                  /* enum log_level */
	/* cluster (issue 4) */
	struct config_peer peers[CONFIG_MAX_PEERS];
	unsigned npeers;
	uint32_t replicas;              /* N */
	uint32_t write_quorum;          /* W */
	uint32_t read_quorum;           /* R */
	uint32_t election_timeout_ms;   /* lower bound; randomized in [t, 2t) */
	uint32_t heartbeat_ms;
	uint32_t snapshot_entries;      /* snapshot + compact past this many log entries (0: never) */
	/* time (docs/clock.md) */
	char *ntp_servers[16];          /* "host[:port]" */
	unsigned nntp_servers;
	uint32_t ntp_poll_ms;
	uint32_t ntp_timeout_ms;
	uint32_t max_clock_offset_ms;   /* alarm, and the HLC's max offset guard */
	/* security (docs/security.md) */
	bool auth;                      /* handshake + MACs; off only with an explicit auth = false */
	char *cluster_key_file;         /* 64 hex digits, mode 0600 (checked at start) */
	bool encrypt;                   /* encrypt payloads too */
	struct config_client_key client_keys[CONFIG_MAX_CLIENT_KEYS];
	unsigned nclient_keys;
	uint32_t idle_timeout_ms;       /* close a client connection idle this long (0: never) */
	uint32_t frame_timeout_ms;      /* a started frame, or the handshake, must complete in this */
	uint32_t rate_requests;         /* default per-key requests/s (0 = unlimited) */
	uint32_t rate_bytes;            /* default per-key request bytes/s (0 = unlimited) */
	/* operations (docs/metrics.md, docs/deploy.md) */
	char *http_listen;              /* "host:port" of /metrics, /status, /; NULL: none */
	bool metrics_public;            /* with auth: /metrics and /healthz need no credentials */
	/* S3 gateway (docs/s3.md) */
	char *s3_listen;                /* "host:port" of the S3 API; NULL: none */
	char *s3_region;                /* the region signatures must name; NULL: any */
	char *s3_domain;                /* virtual-host style: BUCKET.<s3_domain>; NULL: path style only */
	uint32_t s3_upload_expiry_ms;   /* remove multipart uploads older than this (0: never) */
	uint32_t s3_max_body;           /* bytes of one request body (a PUT or a part) */
	uint32_t s3_max_conns;          /* connections with a request in progress */
	char *ack_file;                 /* the acknowledgement marker; NULL: rcfs-ack in redis's dir */
	char *log_file;                 /* append log lines here (reopened on SIGHUP); NULL: stderr */
	uint32_t drain_timeout_ms;      /* SIGTERM: wait this long for requests in flight */
	/* AOF rewrites when the node is quiet (store.h store_set_aof_policy) */
	uint32_t aof_rewrite_growth;    /* % over the last rewrite's size; 0: leave it to redis */
	uint32_t aof_rewrite_min_bytes; /* ... and at least this many bytes of growth */
	uint32_t aof_rewrite_quiet_ms;  /* the AOF hardly grew for this long */
	/* ... and under load, in turns (store_set_aof_turns) */
	uint32_t aof_rewrite_busy_growth; /* % over the last rewrite's size; 0: leave it to redis */
	uint32_t aof_rewrite_turn_ms;   /* each member's turn, on the node's measured clock */
};

/* Fill `c` with defaults. */
void config_defaults(struct rcfs_config *c);
/* Load and validate `path` into `c` (defaults first).  Returns 0, or -1 with
 * one line "FILE:LINE: key 'k': problem" in err[errlen]. */
int config_load(struct rcfs_config *c, const char *path, char *err, size_t errlen);
void config_free(struct rcfs_config *c);

/* Split "host:port" (or "[v6]:port") into host[hostlen] and *port.
 * Returns 0 or -1 if malformed. */
int config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
