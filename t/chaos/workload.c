/* workload: concurrent rcfs clients recording a history for lincheck.
 *
 *   workload run --rcfs PATH --nodes A,B,C --out DIR [--clients 5] [--duration SEC]
 *                [--seed S] [--keys 5] [--big 2] [--timeout SEC] [--kill-after SEC]
 *   workload now                  print CLOCK_MONOTONIC in ns
 *   workload tally HISTORY...     "ok=N fail=N info=N pending=N invoke=N" (+ per op)
 *
 *   workload final --rcfs PATH --nodes A,B,C --out DIR [--keys 5] [--big 2]
 *                                 one final read of every key (process "final")
 *
 * `run` forks one process per client.  Each client loops until the
 * deadline, choosing (seeded) among:
 *   get/put/rm of a small register r<k>: values are unique tokens "c<client>-<n>",
 *     stored as the file's whole content;
 *   put of a unique name s/c<client>-<n> (Jepsen's set workload: never overwritten);
 *   put/get of a large file big/b<k> (3-8 MiB of seeded random bytes, several
 *     chunks): the value in the history is the content's SHA-256.
 * Every operation is one `rcfs` invocation (fork/exec) on a rotated node list,
 * bounded by --timeout per request and killed after --kill-after seconds.
 * Client i appends "<ns> c<i> invoke|ok|fail|info put|get|rm KEY [VALUE]" to
 * DIR/hist.c<i> (flushed per line), CLOCK_MONOTONIC timestamps, so the
 * concatenated files are a history for t/lincheck/lincheck.  Anything odd a
 * client sees (integrity errors, unexpected exit codes) goes to
 * DIR/client.c<i>.log with the CLI's stderr.
 */
#include "hist.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *rcfs, *nodes, *out;
	int clients, keys, big;
	double duration, timeout, kill_after;
	unsigned long long seed;
};

static struct opts o = { NULL, NULL, NULL, 5, 5, 2, 30, 5, 25, 1 };
static char *node[16];
static int nnodes;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("workload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* splitmix64: small, seedable, good enough for choosing operations. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

struct client {
	int id;
	uint64_t rng;
	long n;                 /* operations started */
	FILE *hist, *log;
	char proc[16];
};

static void
record(struct client *c, enum hist_type t, enum hist_op op, const char *key, const char *val)
{
	char line[512];

	hist_format(line, sizeof line, hist_now_ns(), c->proc, t, op, key, val);
	fputs(line, c->hist);
	fflush(c->hist);
}

static void
logf_(struct client *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->log, "%llu ", (unsigned long long)hist_now_ns());
	va_start(ap, fmt);
	vfprintf(c->log, fmt, ap);
	va_end(ap);
	fputc('\n', c->log);
	fflush(c->log);
}

/* Run rcfs with argv; feed stdin_data (small) or nothing; hand each block
 * of stdout to sink.  Returns how it ended. */
typedef void (*sink_fn)(void *arg, const unsigned char *p, size_t n);

static struct hist_outcome
run_cli(struct client *c, char **argv, const char *stdin_data, sink_fn sink, void *sarg)
{
	struct hist_outcome r = { 0, SIGKILL };
	int in[2] = { -1, -1 }, out[2];
	uint64_t deadline = hist_now_ns() + (uint64_t)(o.kill_after * 1e9);
	pid_t pid;
	int st, killed = 0;

	if ((stdin_data && pipe(in) != 0) || pipe(out) != 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		logf_(c, "fork: %s", strerror(errno));
		r.exited = 1;
		r.code = 2;     /* never ran: a definite failure */
		if (stdin_data) {
			close(in[0]);
			close(in[1]);
		}
		close(out[0]);
		close(out[1]);
		return r;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (stdin_data) {
			dup2(in[0], 0);
			close(in[0]);
			close(in[1]);
		} else {
			int nul = open("/dev/null", O_RDONLY);
			dup2(nul, 0);
			close(nul);
		}
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		dup2(fileno(c->log), 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	if (stdin_data) {
		/* Small values only: fits the pipe buffer, never blocks. */
		ssize_t w = write(in[1], stdin_data, strlen(stdin_data));
		(void)w;
		close(in[0]);
		close(in[1]);
	}
	for (;;) {
		struct pollfd pfd = { out[0], POLLIN, 0 };
		uint64_t now = hist_now_ns();
		int ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000) + 1;
		unsigned char buf[65536];
		ssize_t n;

		if (now >= deadline) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		if (poll(&pfd, 1, ms) <= 0)
			continue;
		n = read(out[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (sink)
			sink(sarg, buf, (size_t)n);
	}
	close(out[0]);
	while (!killed) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (hist_now_ns() >= deadline) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		usleep(2000);
	}
	if (killed) {
		waitpid(pid, &st, 0);
		logf_(c, "%s %s: killed after %.0f s", argv[5], argv[6], o.kill_after);
		r.exited = 0;
		r.code = SIGKILL;
		return r;
	}
	if (WIFEXITED(st)) {
		r.exited = 1;
		r.code = WEXITSTATUS(st);
	} else {
		r.exited = 0;
		r.code = WTERMSIG(st);
	}
	return r;
}

struct small_sink {
	unsigned char buf[256];
	size_t n, total;
};

static void
small_sink(void *arg, const unsigned char *p, size_t n)
{
	struct small_sink *s = arg;
	size_t k = n < sizeof s->buf - s->n ? n : sizeof s->buf - s->n;

	memcpy(s->buf + s->n, p, k);
	s->n += k;
	s->total += n;
}

static void
hash_sink(void *arg, const unsigned char *p, size_t n)
{
	crypto_hash_sha256_update(arg, p, n);
}

static void
hexify(const unsigned char *h, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[2 * n] = '\0';
}

/* argv for one invocation: rcfs -n ROTATED --timeout T OP ARGS... */
static void
build_argv(struct client *c, char **argv, char *nodes, size_t nsz, char *tmo, const char *op,
    const char *a1, const char *a2)
{
	unsigned start = rnd_below(&c->rng, (unsigned)nnodes);
	size_t len = 0;

	nodes[0] = '\0';
	for (int i = 0; i < nnodes; i++)
		len += (size_t)snprintf(nodes + len, nsz - len, "%s%s", i ? "," : "",
		    node[(start + (unsigned)i) % (unsigned)nnodes]);
	snprintf(tmo, 32, "%g", o.timeout);
	argv[0] = (char *)o.rcfs;
	argv[1] = "-n";
	argv[2] = nodes;
	argv[3] = "--timeout";
	argv[4] = tmo;
	argv[5] = (char *)op;
	argv[6] = (char *)a1;
	argv[7] = (char *)a2;
	argv[8] = NULL;
}

static enum hist_type
op_small(struct client *c, enum hist_op op, const char *key)
{
	char nodes[1024], tmo[32], val[80];
	char *argv[9];
	struct small_sink s = { .n = 0 };
	struct hist_outcome r;
	enum hist_type t;
	int absent, integ;

	snprintf(val, sizeof val, "c%d-%ld", c->id, c->n);
	switch (op) {
	case H_PUT: build_argv(c, argv, nodes, sizeof nodes, tmo, "put", "-", key); break;
	case H_GET: build_argv(c, argv, nodes, sizeof nodes, tmo, "get", key, "-"); break;
	default: build_argv(c, argv, nodes, sizeof nodes, tmo, "rm", key, NULL); break;
	}
	record(c, H_INVOKE, op, key, op == H_PUT ? val : NULL);
	r = run_cli(c, argv, op == H_PUT ? val : NULL, op == H_GET ? small_sink : NULL, &s);
	t = hist_classify(op, r, &absent, &integ);
	if (t == H_OK && op == H_GET) {
		char tok[80];
		if (absent)
			strcpy(tok, "-");
		else
			hist_token(s.buf, s.n, tok, sizeof tok);
		record(c, H_OK, op, key, tok);
	} else if (t == H_OK && op == H_RM) {
		record(c, H_OK, op, key, absent ? "not-found" : "ok");
	} else {
		record(c, t, op, key, NULL);
	}
	if (integ)
		logf_(c, "INTEGRITY get %s: exit 5", key);
	if (!r.exited || (r.code != 0 && r.code != 3 && r.code != 4))
		logf_(c, "%s %s: %s %d", hist_op_name(op), key, r.exited ? "exit" : "signal", r.code);
	return t;
}

static void
op_big_put(struct client *c, const char *key)
{
	char nodes[1024], tmo[32], path[4096], hex[65];
	char *argv[9];
	unsigned char h[32];
	crypto_hash_sha256_state hs;
	size_t size = (3u << 20) + rnd_below(&c->rng, 5u << 20);
	struct hist_outcome r;
	FILE *f;

	snprintf(path, sizeof path, "%s/blob.c%d", o.out, c->id);
	if ((f = fopen(path, "w")) == NULL)
		die("%s: %s", path, strerror(errno));
	crypto_hash_sha256_init(&hs);
	for (size_t done = 0; done < size;) {
		uint64_t b[8192];
		size_t k = size - done < sizeof b ? size - done : sizeof b;
		for (size_t i = 0; i < 8192; i++)
			b[i] = rnd(&c->rng);
		/* the first bytes name the write, so every blob is unique */
		if (done == 0)
			snprintf((char *)b, 32, "c%d-%ld", c->id, c->n);
		crypto_hash_sha256_update(&hs, (unsigned char *)b, k);
		if (fwrite(b, 1, k, f) != k)
			die("%s: write: %s", path, strerror(errno));
		done += k;
	}
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
	crypto_hash_sha256_final(&hs, h);
	hexify(h, 32, hex);
	build_argv(c, argv, nodes, sizeof nodes, tmo, "put", path, key);
	record(c, H_INVOKE, H_PUT, key, hex);
	r = run_cli(c, argv, NULL, NULL, NULL);
	record(c, hist_classify(H_PUT, r, NULL, NULL), H_PUT, key, NULL);
	if (!r.exited || (r.code != 0 && r.code != 4))
		logf_(c, "put %s (%zu bytes): %s %d", key, size, r.exited ? "exit" : "signal", r.code);
}

static enum hist_type
op_big_get(struct client *c, const char *key)
{
	char nodes[1024], tmo[32], hex[65];
	char *argv[9];
	unsigned char h[32];
	crypto_hash_sha256_state hs;
	struct hist_outcome r;
	enum hist_type t;
	int absent, integ;

	build_argv(c, argv, nodes, sizeof nodes, tmo, "get", key, "-");
	crypto_hash_sha256_init(&hs);
	record(c, H_INVOKE, H_GET, key, NULL);
	r = run_cli(c, argv, NULL, hash_sink, &hs);
	crypto_hash_sha256_final(&hs, h);
	hexify(h, 32, hex);
	t = hist_classify(H_GET, r, &absent, &integ);
	record(c, t, H_GET, key, t == H_OK ? (absent ? "-" : hex) : NULL);
	if (integ)
		logf_(c, "INTEGRITY get %s: exit 5", key);
	if (!r.exited || (r.code != 0 && r.code != 3 && r.code != 4))
		logf_(c, "get %s: %s %d", key, r.exited ? "exit" : "signal", r.code);
	return t;
}

static void
client_main(int id, uint64_t end)
{
	struct client c = { .id = id };
	char path[4096], key[64];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	c.rng = o.seed * 1000003ull + (uint64_t)id;
	rnd(&c.rng);
	snprintf(c.proc, sizeof c.proc, "c%d", id);
	snprintf(path, sizeof path, "%s/hist.c%d", o.out, id);
	if ((c.hist = fopen(path, "a")) == NULL)
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/client.c%d.log", o.out, id);
	if ((c.log = fopen(path, "a")) == NULL)
		die("%s: %s", path, strerror(errno));
	while (hist_now_ns() < end) {
		unsigned dice = rnd_below(&c.rng, 100);

		c.n++;
		if (dice < 38) {
			snprintf(key, sizeof key, "r%u", rnd_below(&c.rng, (unsigned)o.keys));
			op_small(&c, H_GET, key);
		} else if (dice < 68) {
			snprintf(key, sizeof key, "r%u", rnd_below(&c.rng, (unsigned)o.keys));
			op_small(&c, H_PUT, key);
		} else if (dice < 76) {
			snprintf(key, sizeof key, "r%u", rnd_below(&c.rng, (unsigned)o.keys));
			op_small(&c, H_RM, key);
		} else if (dice < 92 || o.big == 0) {
			snprintf(key, sizeof key, "s/c%d-%ld", id, c.n);
			op_small(&c, H_PUT, key);
		} else if (dice < 96) {
			snprintf(key, sizeof key, "big/b%u", rnd_below(&c.rng, (unsigned)o.big));
			op_big_put(&c, key);
		} else {
			snprintf(key, sizeof key, "big/b%u", rnd_below(&c.rng, (unsigned)o.big));
			op_big_get(&c, key);
		}
		usleep(rnd_below(&c.rng, 20000));
	}
	snprintf(path, sizeof path, "%s/blob.c%d", o.out, id);
	unlink(path);
	fclose(c.hist);
	fclose(c.log);
	exit(0);
}

static pid_t kids[64];
static int nkids;

static void
on_term(int sig)
{
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
cmd_opts(int argc, char **argv)
{
	char *list;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			die("%s: missing value", a);
		i++;
		if (strcmp(a, "--rcfs") == 0) o.rcfs = v;
		else if (strcmp(a, "--nodes") == 0) o.nodes = v;
		else if (strcmp(a, "--out") == 0) o.out = v;
		else if (strcmp(a, "--clients") == 0) o.clients = atoi(v);
		else if (strcmp(a, "--keys") == 0) o.keys = atoi(v);
		else if (strcmp(a, "--big") == 0) o.big = atoi(v);
		else if (strcmp(a, "--duration") == 0) o.duration = atof(v);
		else if (strcmp(a, "--timeout") == 0) o.timeout = atof(v);
		else if (strcmp(a, "--kill-after") == 0) o.kill_after = atof(v);
		else if (strcmp(a, "--seed") == 0) o.seed = strtoull(v, NULL, 10);
		else die("unknown option %s", a);
	}
	if (!o.rcfs || !o.nodes || !o.out)
		die("--rcfs, --nodes and --out are required");
	if (o.clients < 1 || o.clients > 64 || o.keys < 1 || o.big < 0 || o.duration <= 0)
		die("bad --clients/--keys/--big/--duration");
	list = strdup(o.nodes);
	for (char *s = strtok(list, ","); s && nnodes < 16; s = strtok(NULL, ","))
		node[nnodes++] = s;
	if (nnodes == 0)
		die("--nodes: empty");
	if (sodium_init() < 0)
		die("sodium_init failed");
	mkdir(o.out, 0755);
	signal(SIGPIPE, SIG_IGN);
}

static int
cmd_run(int argc, char **argv)
{
	uint64_t end;
	int failed = 0;

	cmd_opts(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	end = hist_now_ns() + (uint64_t)(o.duration * 1e9);
	for (int i = 1; i <= o.clients; i++) {
		pid_t p = fork();
		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p == 0)
			client_main(i, end);
		kids[nkids++] = p;
	}
	for (int i = 0; i < nkids; i++) {
		int st;
		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	return failed;
}

/* final: after the faults healed, read every register and large file once
 * (process "final", appended to DIR/hist.final), retrying failed reads. */
static int
cmd_final(int argc, char **argv)
{
	struct client c = { .id = 0 };
	char path[4096], key[64];
	int missing = 0;

	cmd_opts(argc, argv);
	snprintf(c.proc, sizeof c.proc, "final");
	c.rng = o.seed;
	snprintf(path, sizeof path, "%s/hist.final", o.out);
	if ((c.hist = fopen(path, "a")) == NULL)
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/client.final.log", o.out);
	if ((c.log = fopen(path, "a")) == NULL)
		die("%s: %s", path, strerror(errno));
	for (int k = 0; k < o.keys + o.big; k++) {
		int tries = 0;
		enum hist_type t;

		if (k < o.keys)
			snprintf(key, sizeof key, "r%d", k);
		else
			snprintf(key, sizeof key, "big/b%d", k - o.keys);
		for (;;) {
			c.n++;
			t = k < o.keys ? op_small(&c, H_GET, key) : op_big_get(&c, key);
			if (t == H_OK || ++tries >= 15)
				break;
			sleep(1);
		}
		if (t != H_OK) {
			fprintf(stderr, "workload: final read of %s failed %d times\n", key, tries);
			missing++;
		}
	}
	fclose(c.hist);
	fclose(c.log);
	return missing ? 1 : 0;
}

static int
cmd_tally(int argc, char **argv)
{
	struct hist_tally t = { 0 };

	for (int i = 0; i < argc; i++) {
		FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
		if (f == NULL)
			die("%s: %s", argv[i], strerror(errno));
		if (hist_tally_stream(f, &t) != 0)
			die("%s: read error", argv[i]);
		if (f != stdin)
			fclose(f);
	}
	printf("ok=%ld fail=%ld info=%ld pending=%ld invoke=%ld", t.ok, t.fail, t.info, t.pending,
	    t.invoke);
	for (int op = 0; op < 3; op++)
		printf(" %s=%ld/%ld/%ld", hist_op_name((enum hist_op)op), t.ops[op][H_OK],
		    t.ops[op][H_FAIL], t.ops[op][H_INFO]);
	printf(" bad_lines=%ld\n", t.bad_lines);
	return t.bad_lines ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "now") == 0) {
		printf("%llu\n", (unsigned long long)hist_now_ns());
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "final") == 0)
		return cmd_final(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "tally") == 0)
		return cmd_tally(argc - 2, argv + 2);
	fprintf(stderr, "usage: workload run --rcfs PATH --nodes A,B --out DIR [options] | now | tally HISTORY...\n");
	return 2;
}
