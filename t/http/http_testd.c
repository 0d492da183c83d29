/* Test server for t/http/dashboard.sh: the http module on 127.0.0.1 with
 * sample metrics and a canned /status.
 *
 *   http_testd --status FILE --port-file FILE   serve until SIGTERM/SIGINT
 *   http_testd --print-metrics                  print /metrics text and exit */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "http/http.h"
#include "util/log.h"
#include "node/metrics.h"
#include "util/metrics.h"

static char *status_text;
static size_t status_len;

static void
status_json(void *arg, struct evbuffer *out)
{
	(void)arg;
	evbuffer_add(out, status_text, status_len);
}

static bool
read_peer(void *arg, double *v)
{
	*v = (double)(size_t)arg;
	return true;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static void
sample_metrics(struct metrics *reg)
{
	struct rcfs_metrics *m = &rcfs_metrics;
	struct metrics_gauge *g;
	int i;

	if (!metrics_rcfs_register(reg, m, "1", "0.1.0") ||
	    !metrics_rcfs_register_peer(reg, "2", read_peer, read_peer, (void *)(size_t)3) ||
	    !metrics_rcfs_register_peer(reg, "3", read_peer, read_peer, (void *)(size_t)57)) {
		fprintf(stderr, "http_testd: registration failed\n");
		exit(1);
	}
	metrics_set(m->raft_term, 7);
	metrics_rcfs_set_role(m, "leader");
	metrics_set(m->raft_leader_id, 1);
	metrics_set(m->raft_commit_index, 1042);
	metrics_set(m->raft_applied_index, 1042);
	metrics_set(m->raft_log_entries, 300);
	metrics_inc(m->raft_elections_started);
	metrics_inc(m->raft_leader_changes);
	metrics_add(m->raft_proposals_ok, 1040);
	metrics_add(m->raft_proposals_rejected, 2);
	for (i = 0; i < 100; i++) {
		metrics_observe(m->raft_append_latency, 0.0005 * (i % 17 + 1));
		metrics_observe(m->raft_persist_latency, 0.00002 * (i % 13 + 1));
		metrics_observe(m->redis_command_duration, 0.00003 * (i % 11 + 1));
		metrics_observe(m->client_request_duration[RCFS_OP_CHUNK_PUT], 0.002 * (i % 7 + 1));
		metrics_inc(m->client_requests[RCFS_OP_CHUNK_PUT][RCFS_RESULT_OK]);
	}
	metrics_inc(m->client_requests[RCFS_OP_STAT][RCFS_RESULT_CLIENT_ERROR]);
	metrics_add(m->net_bytes_received, 104857600);
	metrics_add(m->net_bytes_sent, 2097152);
	metrics_set(m->chunks, 700);
	metrics_set(m->redis_used_memory, 734003200);
	metrics_set(m->files, 120);
	metrics_set(m->redis_up, 1);
	metrics_set(m->clock_offset, 0.0004);
	metrics_set(m->clock_delay, 0.0011);
	metrics_set(m->clock_synchronized, 1);
	metrics_set(m->cluster_clock_skew, 0.075);
	/* Escaping in a label value and help text. */
	g = metrics_gauge(reg, "rcfs_test_escape", "Help with \\ and\nnewline.", "v",
	    "quote\" backslash\\ newline\n", NULL);
	metrics_set(g, 1);
}

int
main(int argc, char **argv)
{
	const char *status_file = NULL, *port_file = NULL;
	struct http_hooks hooks = { 0 };
	struct event_base *base;
	struct event *sigterm, *sigint;
	struct http_server *srv;
	struct metrics *reg;
	char err[256];
	FILE *f;
	int i;

	log_init("http_testd", 0, LOG_WARN);
	reg = metrics_new();
	sample_metrics(reg);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--print-metrics") == 0) {
			struct evbuffer *b = evbuffer_new();

			metrics_render(reg, b);
			evbuffer_write(b, 1);
			evbuffer_free(b);
			metrics_free(reg);
			return 0;
		} else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
			status_file = argv[++i];
		} else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
			port_file = argv[++i];
		} else {
			fprintf(stderr, "usage: http_testd --status FILE --port-file FILE | --print-metrics\n");
			return 2;
		}
	}
	if (status_file == NULL || port_file == NULL) {
		fprintf(stderr, "http_testd: --status and --port-file are required\n");
		return 2;
	}
	if ((f = fopen(status_file, "r")) == NULL) {
		perror(status_file);
		return 1;
	}
	status_text = malloc(1 << 16);
	status_len = fread(status_text, 1, 1 << 16, f);
	fclose(f);

	base = event_base_new();
	hooks.metrics = reg;
	hooks.status_json = status_json;
	if ((srv = http_new(base, "127.0.0.1:0", &hooks, err, sizeof err)) == NULL) {
		fprintf(stderr, "http_testd: %s\n", err);
		return 1;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	/* Written last and renamed: the test waits for the file. */
	{
		char tmp[4096];

		snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
		if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%u\n", http_port(srv)) < 0 ||
		    fclose(f) != 0 || rename(tmp, port_file) != 0) {
			perror(port_file);
			return 1;
		}
	}
	event_base_dispatch(base);
	event_free(sigterm);
	event_free(sigint);
	http_free(srv);
	event_base_free(base);
	metrics_free(reg);
	free(status_text);
	return 0;
}
