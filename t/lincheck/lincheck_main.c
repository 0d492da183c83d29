/* lincheck: check a recorded rcfs put/get/rm history for linearizability.
 *
 * usage: lincheck [--timeout-ms N] [--max-mem-mb N] [--verbose] [--strict-rm]
 *                 [--no-precheck] HISTORY|-
 * exit:  0 linearizable, 1 not linearizable, 2 bad usage or input,
 *        3 unknown (timeout or out of memory).
 * See docs/lincheck.md. */
#include "lincheck.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: lincheck [--timeout-ms N] [--max-mem-mb N] [--verbose] [--strict-rm]\n"
	      "                [--no-precheck] HISTORY|-\n"
	      "  Checks a put/get/rm history (one event per line:\n"
	      "  '<time_ns> <process> <invoke|ok|fail|info> <put|get|rm> <key> [<value>]')\n"
	      "  for linearizability, each key as an independent register.\n"
	      "  --timeout-ms N  give up after N ms (default 60000; 0 = no limit)\n"
	      "  --max-mem-mb N  memo bound per key (default 4096; 0 = none)\n"
	      "  --verbose       per-key statistics\n"
	      "  --no-precheck   search only (skip the fast impossible-read check)\n"
	      "  --strict-rm     'ok rm' asserts the key was present\n"
	      "exit status: 0 linearizable, 1 not linearizable, 2 bad input, 3 unknown\n",
	      f);
}

int main(int argc, char **argv)
{
	lc_options o;
	const char *path = NULL;
	lc_options_default(&o);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int is_t = !strcmp(a, "--timeout-ms") || !strncmp(a, "--timeout-ms=", 13);
		int is_m = !strcmp(a, "--max-mem-mb") || !strncmp(a, "--max-mem-mb=", 13);
		if (is_t || is_m) {
			const char *v = a[12] == '=' ? a + 13 : (i + 1 < argc ? argv[++i] : NULL);
			char *end;
			long t;
			if (!v) {
				fprintf(stderr, "lincheck: %.12s needs a value\n", a);
				return 2;
			}
			errno = 0;
			t = strtol(v, &end, 10);
			if (errno || end == v || *end || t < 0) {
				fprintf(stderr, "lincheck: bad %.12s value '%s'\n", a, v);
				return 2;
			}
			if (is_t)
				o.timeout_ms = t;
			else
				o.max_mem_mb = t;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o.verbose = 1;
		} else if (!strcmp(a, "--no-precheck")) {
			o.no_precheck = 1;
		} else if (!strcmp(a, "--strict-rm")) {
			o.strict_rm = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--")) {
			if (i + 1 < argc && !path)
				path = argv[++i];
			if (i + 1 < argc) {
				usage(stderr);
				return 2;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "lincheck: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else if (!path) {
			path = a;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}

	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in) {
		fprintf(stderr, "lincheck: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char err[512];
	lc_history *h = lc_parse_stream(in, err, sizeof err);
	if (in != stdin)
		fclose(in);
	if (!h) {
		fprintf(stderr, "lincheck: %s: %s\n", path, err);
		return 2;
	}

	lc_stats st;
	/* explanations (and, with --verbose, per-key statistics) go to stdout
	 * before the one-line verdict */
	lc_result r = lc_check(h, &o, stdout, &st);
	int rc;
	switch (r) {
	case LC_LINEARIZABLE:
		printf("linearizable: %zu ops, %zu keys\n", st.ops, st.keys);
		rc = 0;
		break;
	case LC_NOT_LINEARIZABLE:
		printf("not linearizable: %zu of %zu keys (%zu ops)\n", st.bad_keys, st.keys,
		       st.ops);
		rc = 1;
		break;
	default:
		printf("unknown\n");
		rc = 3;
		break;
	}
	lc_history_free(h);
	return rc;
}
