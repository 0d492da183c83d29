/* Micro-benchmark (not a test): entries committed per second through an
 * in-memory 3-node cluster (t/raft/cluster.c fixture: zero-latency storage,
 * 1..5 ms simulated network).  Reports wall-clock throughput of the core
 * plus fixture, i.e. CPU cost per committed entry.
 *
 *   make bench-raft            RAFT_BENCH_N=200000 RAFT_BENCH_SIZE=128
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct cluster c;
	struct raft_config cfg;
	const char *ns = getenv("RAFT_BENCH_N"), *ss = getenv("RAFT_BENCH_SIZE");
	uint64_t n = ns ? strtoull(ns, NULL, 10) : 100000;
	size_t size = ss ? strtoul(ss, NULL, 10) : 128;
	uint64_t l, i, idx = 0, start_idx, batch = 64;
	uint8_t *buf = calloc(1, size ? size : 1);
	double t0, t1;
	bool failed;

	raft_config_init(&cfg);
	cfg.snapshot_threshold = 10000;
	cfg.snapshot_trailing = 100;
	cl_init_cfg(&c, 3, 1, &cfg);
	l = cl_wait_leader(&c, 2000);
	if (!l || !buf) {
		fprintf(stderr, "no leader\n");
		return 1;
	}
	cl_wait_applied(&c, 1, 1000);
	start_idx = raft_last_index(cl_raft(&c, l));
	t0 = now_s();
	for (i = 0; i < n; i += batch) {
		uint64_t k;
		for (k = 0; k < batch && i + k < n; k++) {
			memcpy(buf, &i, sizeof(i) < size ? sizeof(i) : size);
			if (raft_propose(cl_raft(&c, l), buf, size, &idx, NULL))
				return 1;
		}
		cl_process(&c, l);
		cl_step(&c);
	}
	while (!cl_wait_applied(&c, idx, 1000))
		;
	t1 = now_s();
	printf("raft-bench: 3 nodes, %llu entries of %zu bytes, batches of %llu\n",
	       (unsigned long long)(idx - start_idx), size,
	       (unsigned long long)batch);
	printf("  wall time        %.3f s\n", t1 - t0);
	printf("  committed/s      %.0f entries/s (applied on all 3)\n",
	       (double)(idx - start_idx) / (t1 - t0));
	printf("  throughput       %.1f MB/s of payload\n",
	       (double)(idx - start_idx) * (double)size / (t1 - t0) / 1e6);
	printf("  simulated time   %.3f s, messages %llu, snapshots %llu\n",
	       (double)c.now / 1000.0, (unsigned long long)c.sent,
	       (unsigned long long)c.snaps_taken);
	failed = c.failed;
	if (failed)
		printf("  INVARIANT FAILED: %s\n", c.fail_msg);
	free(buf);
	cl_free(&c);
	return failed ? 1 : 0;
}
