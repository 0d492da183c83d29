/* History records for the chaos workload (format of docs/lincheck.md). */
#ifndef RCFS_CHAOS_HIST_H
#define RCFS_CHAOS_HIST_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum hist_op { H_PUT, H_GET, H_RM };
enum hist_type { H_INVOKE, H_OK, H_FAIL, H_INFO };

/* How a CLI invocation ended. */
struct hist_outcome {
	int exited;     /* 1: exited with code; 0: killed by signal (or by us) */
	int code;       /* exit code, or signal number */
};

/* What an rcfs exit means for an operation, Jepsen-style.  For an `ok`,
 * *rm_not_found (if rm) says whether rm answered "not found" (exit 3), and
 * *absent (if get) whether get answered "absent" (exit 3).  An integrity
 * failure (exit 5) of a get is a `fail` and sets *integrity. */
enum hist_type hist_classify(enum hist_op op, struct hist_outcome o, int *absent, int *integrity);

const char *hist_op_name(enum hist_op op);
const char *hist_type_name(enum hist_type t);

/* Make a value token of arbitrary bytes: printable, no blanks, never "-"
 * or empty.  Content that is already a clean token is returned as is;
 * anything else becomes "x:" + hex of up to 32 bytes (+ "...").  Returns
 * the length written (out must hold 80 bytes). */
size_t hist_token(const unsigned char *buf, size_t len, char *out, size_t outsz);

/* One history line, newline included, into out; returns its length. */
int hist_format(char *out, size_t outsz, uint64_t t_ns, const char *proc, enum hist_type type,
    enum hist_op op, const char *key, const char *val);

/* CLOCK_MONOTONIC in ns. */
uint64_t hist_now_ns(void);

/* Counts over a history (completions only). */
struct hist_tally {
	long invoke, ok, fail, info, pending;   /* pending: invoked, never completed */
	long ops[3][4];                          /* [op][type] */
	long bad_lines;
};
/* Tally one stream; each process's events must be in order. */
int hist_tally_stream(FILE *f, struct hist_tally *t);
#endif
