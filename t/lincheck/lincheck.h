/* lincheck -- linearizability checker for rcfs put/get/rm histories.
 *
 * Model: independent registers keyed by name; a register holds an opaque
 * value or is absent.  The checker is Wing & Gong's backtracking search
 * with Lowe's memoization, run separately per key (P-compositionality).
 * See docs/lincheck.md for the history format and the algorithm.
 */
#ifndef RCFS_LINCHECK_H
#define RCFS_LINCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { LC_PUT = 0, LC_GET = 1, LC_RM = 2 } lc_fn;

typedef enum {
	LC_PENDING = 0, /* invoked, no completion (yet) */
	LC_DONE = 1,    /* "ok": completed, result known */
	LC_FAILED = 2,  /* "fail": definitely did not take effect */
	LC_INFO = 3     /* "info": indeterminate, never returns */
} lc_status;

typedef struct lc_op {
	lc_fn fn;
	lc_status status;
	char *proc;      /* process token */
	size_t key;      /* index into lc_history.keys */
	char *value;     /* put: value written; get (ok): value read, NULL = absent */
	int rm_found;    /* rm (ok): 1 = removed, 0 = not-found */
	uint64_t t_inv;  /* invoke time (ns) */
	uint64_t t_ret;  /* completion time (ns); UINT64_MAX if none */
	long line_inv;   /* input line numbers, 0 if none */
	long line_ret;
} lc_op;

typedef struct lc_history lc_history;

/* Parsing.  Each function returns 0 on success, -1 on bad input with a
 * message ("line N: ...") written into err. */
lc_history *lc_history_new(void);
void lc_history_free(lc_history *h);
int lc_history_add_line(lc_history *h, const char *line, long lineno,
			char *err, size_t errlen);
/* End of input: pending invocations become indeterminate (info). */
int lc_history_finish(lc_history *h, char *err, size_t errlen);
/* Parse a whole stream (calls add_line and finish).  Returns NULL on error. */
lc_history *lc_parse_stream(FILE *in, char *err, size_t errlen);
lc_history *lc_parse_string(const char *text, char *err, size_t errlen);

size_t lc_history_nops(const lc_history *h);
const lc_op *lc_history_op(const lc_history *h, size_t i);
size_t lc_history_nkeys(const lc_history *h);
const char *lc_history_key(const lc_history *h, size_t k);

typedef enum {
	LC_LINEARIZABLE = 0,
	LC_NOT_LINEARIZABLE = 1,
	LC_UNKNOWN = 3 /* timed out (or ran out of memory) */
} lc_result;

typedef struct lc_options {
	long timeout_ms;   /* wall-clock bound for the whole check; <= 0: none */
	int verbose;       /* per-key statistics on the report stream */
	int strict_rm;     /* an "ok rm" asserts the register was present */
	long max_mem_mb;   /* bound on the memo of one key; <= 0: none */
	int no_precheck;   /* skip the fast impossible-read pre-check */
} lc_options;

typedef struct lc_stats {
	size_t ops;           /* operations checked (failed ops excluded) */
	size_t keys;          /* keys checked */
	size_t bad_keys;      /* keys found not linearizable */
	size_t unknown_keys;  /* keys not decided in time */
	uint64_t steps;       /* search iterations, all keys */
	uint64_t cache;       /* memo entries, all keys */
} lc_stats;

void lc_options_default(lc_options *o);

/* Check the history.  Explanations of anomalies (and, if verbose, per-key
 * statistics) are written to report (may be NULL).  stats may be NULL. */
lc_result lc_check(const lc_history *h, const lc_options *o, FILE *report,
		   lc_stats *stats);

#endif
