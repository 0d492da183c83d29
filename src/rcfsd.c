/* rcfsd: one rcfs node.  main: config -> wire everything -> event_base_dispatch.
 *
 * Signals: SIGTERM/SIGINT drain (node_drain) then exit 0; a second one exits
 * at once.  SIGHUP reopens the log file (log_file), for logrotate.
 * systemd: READY=1 once the node serves (redis up, raft state loaded),
 * STOPPING=1 when the drain starts, STATUS= with the role (Type=notify).
 *
 * Exit status: 0 clean shutdown (SIGTERM/SIGINT), 1 runtime failure,
 * 2 usage or configuration error, 3 unsafe storage (see rcfsd(8)). */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "node/node.h"
#include "node/gateway.h"
#include "node/observe.h"
#include "util/config.h"
#include "util/log.h"
#include "node/metrics.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

static void rcfsd_usage(void) __attribute__((noreturn));
static void rcfsd_signal_cb(evutil_socket_t sig, short what, void *arg);
static void rcfsd_drained(void *arg);
static void rcfsd_ready_cb(evutil_socket_t fd, short what, void *arg);
static void rcfsd_notify(const char *state);

static struct node *rcfsd_node;
static struct observe *rcfsd_observe;   /* HTTP endpoint and metrics refresh */
static struct gateway *rcfsd_gateway;   /* the S3 API, if s3_listen is set */
static struct event *rcfsd_ready_ev;

/* ---- memory: chunk-sized buffers without page faults (util/xmalloc.h), -----
 * little kept at rest: when the node has been idle (under RCFSD_IDLE_BYTES in
 * and out in RCFSD_TRIM_IDLE_S), what the heap keeps free goes back to the
 * kernel, so resident memory at rest stays small. */
#define RCFSD_TRIM_IDLE_S 1
#define RCFSD_IDLE_BYTES (1 << 20)      /* per RCFSD_TRIM_IDLE_S, in and out */

static struct event *rcfsd_trim_ev;

static void
rcfsd_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t last_bytes;
	static bool trimmed;
	uint64_t bytes = metrics_counter_value(rcfs_metrics.net_bytes_received) +
	    metrics_counter_value(rcfs_metrics.net_bytes_sent);

	(void)fd; (void)what; (void)arg;
	/* Raft heartbeats never stop: "idle" is under RCFSD_IDLE_BYTES moved in
	 * the period.  Trim once per idle stretch. */
	if (bytes - last_bytes >= RCFSD_IDLE_BYTES) {
		trimmed = false;
	} else if (!trimmed) {
#ifdef __GLIBC__
		malloc_trim(0);
#endif
		trimmed = true;
	}
	last_bytes = bytes;
}
static bool rcfsd_ready;
static bool rcfsd_log_file;     /* log_file is set: SIGHUP reopens it */

static void
rcfsd_usage(void)
{
	fprintf(stderr, "usage: rcfsd -c FILE [-t] [-v] [--bootstrap | --force-new-cluster]\n"
	    "  -c FILE      configuration file (see rcfsd.conf(5))\n"
	    "  -t           check the configuration and exit\n"
	    "  -v           debug logging\n"
	    "  --bootstrap  an empty storage founds a new cluster with the configured\n"
	    "               peers (initial_cluster_state = \"new\"); first start only\n"
	    "  --force-new-cluster  the other members are gone for good: this node\n"
	    "               alone becomes the cluster, with everything it holds\n"
	    "               (refused while another member answers; docs/operations.md)\n");
	exit(2);
}

/* sd_notify(3) when built with libsystemd; a no-op outside systemd. */
static void
rcfsd_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* Readiness and the systemd status line, checked every 100 ms. */
static void
rcfsd_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	char why[256], line[300];
	bool healthy = observe_healthy(rcfsd_observe, why, sizeof why);

	(void)fd; (void)what; (void)arg;
	if (!rcfsd_ready && node_ready(rcfsd_node)) {
		rcfsd_ready = true;
		log_info("ready: serving");
		rcfsd_notify("READY=1\nSTATUS=serving");
	}
	if (rcfsd_ready && !node_draining(rcfsd_node)) {
		snprintf(line, sizeof line, "STATUS=%s", healthy ? "serving" : why);
		rcfsd_notify(line);
	}
}

static void
rcfsd_drained(void *arg)
{
	struct event_base *base = arg;

	node_shutdown(rcfsd_node);
	observe_shutdown(rcfsd_observe);
	event_base_loopexit(base, NULL);
}

static void
rcfsd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	if (sig == SIGHUP) {
		/* log_reopen() logs the outcome itself. */
		if (!rcfsd_log_file)
			log_info("SIGHUP: logging to stderr, nothing to reopen");
		else
			log_reopen();
		return;
	}
	if (node_draining(rcfsd_node)) {
		log_info("signal %d again: shutting down now", (int)sig);
		rcfsd_drained(base);
		return;
	}
	log_info("signal %d: draining, then shutting down", (int)sig);
	rcfsd_notify("STOPPING=1\nSTATUS=draining");
	node_drain(rcfsd_node, rcfsd_drained, base);
}

int
main(int argc, char **argv)
{
	struct rcfs_config cfg;
	struct event_base *base;
	struct event *sig_term, *sig_int, *sig_hup;
	const char *path = NULL;
	struct metrics *reg;
	char err[512], id[24];
	static const struct option longopts[] = {
		{ "bootstrap", no_argument, NULL, 'B' },
		{ "force-new-cluster", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, check_only = 0, verbose = 0, bootstrap = 0, force_new = 0, status;

	while ((ch = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': check_only = 1; break;
		case 'v': verbose = 1; break;
		case 'B': bootstrap = 1; break;
		case 'F': force_new = 1; break;
		default: rcfsd_usage();
		}
	}
	if (path == NULL || optind != argc || (bootstrap && force_new))
		rcfsd_usage();
	if (config_load(&cfg, path, err, sizeof err) != 0) {
		fprintf(stderr, "rcfsd: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	if (bootstrap)
		cfg.bootstrap = true;
	cfg.force_new_cluster = force_new;
	/* What the start would fail on, checked by -t too (ExecStartPre= runs
	 * in the unit's sandbox): the log file must be writable. */
	if (cfg.log_file != NULL) {
		FILE *lf = fopen(cfg.log_file, "a");
		if (lf == NULL) {
			fprintf(stderr, "rcfsd: %s: log_file \"%s\" cannot be opened for appending: %s%s\n",
			    path, cfg.log_file, strerror(errno), errno == ENOENT ? " (its directory does not "
			    "exist: create it, or under systemd use LogsDirectory=rcfs and /var/log/rcfs/)" : "");
			config_free(&cfg);
			return 2;
		}
		fclose(lf);
	}
	if (check_only) {
		printf("rcfsd: %s: configuration ok\n", path);
		config_free(&cfg);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "rcfsd: libsodium failed to initialize\n");
		return 1;
	}
	log_init("rcfsd", cfg.node_id, verbose ? LOG_DEBUG : (enum log_level)cfg.log_level);
	if (cfg.log_file != NULL && log_open(cfg.log_file, err, sizeof err) != 0) {
		fprintf(stderr, "rcfsd: %s\n", err);
		config_free(&cfg);
		return 2;       /* a configuration problem: no restart loop (RestartPreventExitStatus) */
	}
	rcfsd_log_file = cfg.log_file != NULL;
	signal(SIGPIPE, SIG_IGN);
	xmalloc_keep_chunk_buffers();

	/* Every rcfs_metrics pointer is set before the loop runs. */
	reg = metrics_new();
	snprintf(id, sizeof id, "%llu", (unsigned long long)cfg.node_id);
	if (!metrics_rcfs_register(reg, &rcfs_metrics, id, PACKAGE_VERSION))
		abort();        /* a name clash: a bug */

	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "rcfsd: cannot create the event loop\n");
		return 1;
	}
	rcfsd_node = node_new(base, &cfg, err, sizeof err);
	if (rcfsd_node == NULL) {
		fprintf(stderr, "rcfsd: %s\n", err);
		event_base_free(base);
		metrics_free(reg);
		config_free(&cfg);
		return 1;
	}
	rcfsd_observe = observe_new(node_parts(rcfsd_node), reg, err, sizeof err);
	if (rcfsd_observe == NULL) {
		log_err("%s", err);
		node_free(rcfsd_node);
		event_base_free(base);
		metrics_free(reg);
		config_free(&cfg);
		return 1;
	}
	node_set_observe(rcfsd_node, rcfsd_observe);
	rcfsd_gateway = gateway_new(rcfsd_node, observe_http(rcfsd_observe), err, sizeof err);
	if (rcfsd_gateway == NULL && err[0] != '\0') {
		log_err("%s", err);
		observe_free(rcfsd_observe);
		node_free(rcfsd_node);
		event_base_free(base);
		metrics_free(reg);
		config_free(&cfg);
		return 1;
	}
	rcfsd_ready_ev = event_new(base, -1, EV_PERSIST, rcfsd_ready_cb, NULL);
	rcfsd_trim_ev = event_new(base, -1, EV_PERSIST, rcfsd_trim_cb, NULL);
	event_add(rcfsd_trim_ev, &(struct timeval){ RCFSD_TRIM_IDLE_S, 0 });
	event_add(rcfsd_ready_ev, &(struct timeval){ 0, 100 * 1000 });
	sig_term = evsignal_new(base, SIGTERM, rcfsd_signal_cb, base);
	sig_int = evsignal_new(base, SIGINT, rcfsd_signal_cb, base);
	sig_hup = evsignal_new(base, SIGHUP, rcfsd_signal_cb, base);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	evsignal_add(sig_hup, NULL);

	event_base_dispatch(base);

	status = node_exit_status(rcfsd_node);
	event_free(rcfsd_ready_ev);
	event_free(rcfsd_trim_ev);
	gateway_close(rcfsd_gateway);
	node_free(rcfsd_node);
	observe_free(rcfsd_observe);    /* after the node: its pending callbacks are in */
	gateway_free(rcfsd_gateway);    /* likewise */
	metrics_free(reg);
	event_free(sig_term);
	event_free(sig_int);
	event_free(sig_hup);
	event_base_free(base);
	config_free(&cfg);
	log_info("exited with status %d", status);
	return status;
}
