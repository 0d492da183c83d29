/* rcfsd: one rcfs node.  main: config -> wire everything -> event_base_dispatch.
 *
 * Exit status: 0 clean shutdown (SIGTERM/SIGINT), 1 runtime failure,
 * 2 usage or configuration error, 3 unsafe storage (see rcfsd(8)). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "node/node.h"
#include "util/config.h"
#include "util/log.h"

static void rcfsd_usage(void) __attribute__((noreturn));
static void rcfsd_signal_cb(evutil_socket_t sig, short what, void *arg);

static struct node *rcfsd_node;

static void
rcfsd_usage(void)
{
	fprintf(stderr, "usage: rcfsd -c FILE [-t] [-v]\n"
	    "  -c FILE  configuration file (see rcfsd.conf(5))\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       debug logging\n");
	exit(2);
}

static void
rcfsd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	if (sig == SIGHUP) {
		/* stderr is the log (journald); nothing to reopen yet. */
		log_info("SIGHUP: nothing to reload");
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	node_shutdown(rcfsd_node);
	event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	struct rcfs_config cfg;
	struct event_base *base;
	struct event *sig_term, *sig_int, *sig_hup;
	const char *path = NULL;
	char err[512];
	int ch, check_only = 0, verbose = 0, status;

	while ((ch = getopt(argc, argv, "c:tvh")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': check_only = 1; break;
		case 'v': verbose = 1; break;
		default: rcfsd_usage();
		}
	}
	if (path == NULL || optind != argc)
		rcfsd_usage();
	if (config_load(&cfg, path, err, sizeof err) != 0) {
		fprintf(stderr, "rcfsd: %s\n", err);
		config_free(&cfg);
		return 2;
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
	signal(SIGPIPE, SIG_IGN);

	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "rcfsd: cannot create the event loop\n");
		return 1;
	}
	rcfsd_node = node_new(base, &cfg, err, sizeof err);
	if (rcfsd_node == NULL) {
		fprintf(stderr, "rcfsd: %s\n", err);
		event_base_free(base);
		config_free(&cfg);
		return 1;
	}
	sig_term = evsignal_new(base, SIGTERM, rcfsd_signal_cb, base);
	sig_int = evsignal_new(base, SIGINT, rcfsd_signal_cb, base);
	sig_hup = evsignal_new(base, SIGHUP, rcfsd_signal_cb, base);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	evsignal_add(sig_hup, NULL);

	event_base_dispatch(base);

	status = node_exit_status(rcfsd_node);
	node_free(rcfsd_node);
	event_free(sig_term);
	event_free(sig_int);
	event_free(sig_hup);
	event_base_free(base);
	config_free(&cfg);
	log_info("exited with status %d", status);
	return status;
}
