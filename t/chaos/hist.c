/* History records for the chaos workload: classification of CLI outcomes,
 * value tokens, line formatting and tallies.  Kept apart from workload.c so
 * that it can be unit-tested (test_hist.c). */
#include "hist.h"

#include <string.h>
#include <time.h>

const char *
hist_op_name(enum hist_op op)
{
	return op == H_PUT ? "put" : op == H_GET ? "get" : "rm";
}

const char *
hist_type_name(enum hist_type t)
{
	static const char *n[] = { "invoke", "ok", "fail", "info" };
	return n[t];
}

enum hist_type
hist_classify(enum hist_op op, struct hist_outcome o, int *absent, int *integrity)
{
	if (absent)
		*absent = 0;
	if (integrity)
		*integrity = 0;
	if (op == H_GET) {
		/* A read has no effect: anything but an answer is a failure. */
		if (o.exited && o.code == 0)
			return H_OK;
		if (o.exited && o.code == 3) {
			if (absent)
				*absent = 1;
			return H_OK;
		}
		if (o.exited && o.code == 5 && integrity)
			*integrity = 1;
		return H_FAIL;
	}
	if (o.exited && o.code == 0)
		return H_OK;
	if (op == H_RM && o.exited && o.code == 3) {
		if (absent)
			*absent = 1;    /* rm answered not-found */
		return H_OK;
	}
	/* Usage errors never reached a node. */
	if (o.exited && o.code == 2)
		return H_FAIL;
	/* Exit 4 (unavailable, no quorum, timeout), 1, a signal, our own
	 * kill: the write may or may not have happened. */
	return H_INFO;
}

static int
token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

size_t
hist_token(const unsigned char *buf, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;
	int clean = len > 0 && len < 64 && !(len == 1 && buf[0] == '-');

	for (i = 0; clean && i < len; i++)
		clean = token_char(buf[i]);
	if (outsz < 80)
		return 0;
	if (clean) {
		memcpy(out, buf, len);
		out[len] = '\0';
		return len;
	}
	if (len == 0) {
		strcpy(out, "x:empty");
		return 7;
	}
	out[n++] = 'x';
	out[n++] = ':';
	for (i = 0; i < len && i < 32; i++) {
		out[n++] = hex[buf[i] >> 4];
		out[n++] = hex[buf[i] & 15];
	}
	if (len > 32) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return n;
}

int
hist_format(char *out, size_t outsz, uint64_t t_ns, const char *proc, enum hist_type type,
    enum hist_op op, const char *key, const char *val)
{
	return snprintf(out, outsz, "%llu %s %s %s %s%s%s\n", (unsigned long long)t_ns, proc,
	    hist_type_name(type), hist_op_name(op), key, val ? " " : "", val ? val : "");
}

uint64_t
hist_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
hist_tally_stream(FILE *f, struct hist_tally *t)
{
	char line[4096], proc[256], type[16], op[16];
	unsigned long long ts;

	while (fgets(line, sizeof line, f) != NULL) {
		int o, ty;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llu %255s %15s %15s", &ts, proc, type, op) != 4) {
			t->bad_lines++;
			continue;
		}
		o = strcmp(op, "put") == 0 ? H_PUT : strcmp(op, "get") == 0 ? H_GET :
		    strcmp(op, "rm") == 0 ? H_RM : -1;
		ty = strcmp(type, "invoke") == 0 ? H_INVOKE : strcmp(type, "ok") == 0 ? H_OK :
		    strcmp(type, "fail") == 0 ? H_FAIL : strcmp(type, "info") == 0 ? H_INFO : -1;
		if (o < 0 || ty < 0) {
			t->bad_lines++;
			continue;
		}
		t->ops[o][ty]++;
		switch (ty) {
		case H_INVOKE: t->invoke++; break;
		case H_OK: t->ok++; break;
		case H_FAIL: t->fail++; break;
		default: t->info++; break;
		}
	}
	t->pending = t->invoke - t->ok - t->fail - t->info;
	return ferror(f) ? -1 : 0;
}
