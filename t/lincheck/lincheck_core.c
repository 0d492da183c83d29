/* lincheck core: history parser and the WGL (Wing & Gong + Lowe) checker.
 * See docs/lincheck.md. */
#include "lincheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Open-addressing map from string to size_t.  The map does not own keys. */
typedef struct strmap {
	const char **keys;
	size_t *vals;
	size_t cap, len;
} strmap;

static void strmap_free(strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static size_t *strmap_find(const strmap *m, const char *k)
{
	if (m->cap == 0)
		return NULL;
	size_t i = hash_str(k) & (m->cap - 1);
	while (m->keys[i]) {
		if (strcmp(m->keys[i], k) == 0)
			return &m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

static int strmap_put(strmap *m, const char *k, size_t v)
{
	if ((m->len + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		const char **nk = calloc(ncap, sizeof *nk);
		size_t *nv = calloc(ncap, sizeof *nv);
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = hash_str(m->keys[i]) & (ncap - 1);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = m->keys[i];
			nv[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	size_t i = hash_str(k) & (m->cap - 1);
	while (m->keys[i]) {
		if (strcmp(m->keys[i], k) == 0) {
			m->vals[i] = v;
			return 0;
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->keys[i] = k;
	m->vals[i] = v;
	m->len++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* history                                                             */

struct lc_history {
	lc_op *ops;
	size_t nops, opcap;
	char **keys;       /* owned */
	size_t nkeys, keycap;
	strmap keymap;     /* key -> index */
	char **procs;      /* owned process tokens */
	size_t nprocs, proccap;
	strmap procmap;    /* process -> pending op index + 1 (0: none) */
	int finished;
};

lc_history *lc_history_new(void)
{
	return calloc(1, sizeof(lc_history));
}

void lc_history_free(lc_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nops; i++)
		free(h->ops[i].value);
	free(h->ops);
	for (size_t i = 0; i < h->nkeys; i++)
		free(h->keys[i]);
	free(h->keys);
	for (size_t i = 0; i < h->nprocs; i++)
		free(h->procs[i]);
	free(h->procs);
	strmap_free(&h->keymap);
	strmap_free(&h->procmap);
	free(h);
}

size_t lc_history_nops(const lc_history *h) { return h->nops; }
const lc_op *lc_history_op(const lc_history *h, size_t i) { return &h->ops[i]; }
size_t lc_history_nkeys(const lc_history *h) { return h->nkeys; }
const char *lc_history_key(const lc_history *h, size_t k) { return h->keys[k]; }

static int grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elsz);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Intern a key; returns index or (size_t)-1 on OOM. */
static size_t intern_key(lc_history *h, const char *k)
{
	size_t *v = strmap_find(&h->keymap, k);
	if (v)
		return *v;
	if (grow((void **)&h->keys, &h->keycap, h->nkeys + 1, sizeof *h->keys))
		return (size_t)-1;
	char *d = xstrdup(k);
	if (!d)
		return (size_t)-1;
	if (strmap_put(&h->keymap, d, h->nkeys)) {
		free(d);
		return (size_t)-1;
	}
	h->keys[h->nkeys] = d;
	return h->nkeys++;
}

/* Intern a process token; returns the owned string or NULL on OOM. */
static char *intern_proc(lc_history *h, const char *p, size_t **slot)
{
	size_t *v = strmap_find(&h->procmap, p);
	if (!v) {
		if (grow((void **)&h->procs, &h->proccap, h->nprocs + 1,
			 sizeof *h->procs))
			return NULL;
		char *d = xstrdup(p);
		if (!d)
			return NULL;
		if (strmap_put(&h->procmap, d, 0)) {
			free(d);
			return NULL;
		}
		h->procs[h->nprocs++] = d;
		v = strmap_find(&h->procmap, p);
	}
	*slot = v;
	/* the stored key pointer is the owned copy */
	return (char *)h->procmap.keys[v - h->procmap.vals];
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - 1 - d) / 10)
			return -1; /* overflow (UINT64_MAX is reserved) */
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static const char *fn_name(lc_fn f)
{
	return f == LC_PUT ? "put" : f == LC_GET ? "get" : "rm";
}

#define MAXTOK 7

int lc_history_add_line(lc_history *h, const char *line, long lineno,
			char *err, size_t errlen)
{
	char buf[256];
	char *copy = NULL, *s;
	char *tok[MAXTOK];
	int nt = 0, rc = -1;
	size_t len = strlen(line);

	if (h->finished) {
		seterr(err, errlen, "line %ld: history already finished", lineno);
		return -1;
	}
	if (len < sizeof buf) {
		memcpy(buf, line, len + 1);
		s = buf;
	} else {
		copy = xstrdup(line);
		if (!copy) {
			seterr(err, errlen, "line %ld: out of memory", lineno);
			return -1;
		}
		s = copy;
	}
	/* tokenize on blanks; strip CR/LF */
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (!*s)
			break;
		if (nt == 0 && *s == '#')
			break; /* comment */
		if (nt == MAXTOK) {
			seterr(err, errlen, "line %ld: too many fields", lineno);
			goto out;
		}
		tok[nt++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			s++;
		if (*s)
			*s++ = '\0';
	}
	if (nt == 0) {
		rc = 0; /* blank or comment */
		goto out;
	}
	if (nt < 5) {
		seterr(err, errlen,
		       "line %ld: expected '<time_ns> <process> <invoke|ok|fail|info> <put|get|rm> <key> [<value>]'",
		       lineno);
		goto out;
	}
	uint64_t t;
	if (parse_u64(tok[0], &t)) {
		seterr(err, errlen,
		       "line %ld: bad time '%s' (want a decimal integer of nanoseconds)",
		       lineno, tok[0]);
		goto out;
	}
	lc_fn fn;
	if (!strcmp(tok[3], "put"))
		fn = LC_PUT;
	else if (!strcmp(tok[3], "get"))
		fn = LC_GET;
	else if (!strcmp(tok[3], "rm"))
		fn = LC_RM;
	else {
		seterr(err, errlen, "line %ld: unknown operation '%s' (want put, get or rm)",
		       lineno, tok[3]);
		goto out;
	}
	const char *type = tok[2], *key = tok[4];
	const char *arg = nt > 5 ? tok[5] : NULL;
	if (nt > 6) {
		seterr(err, errlen, "line %ld: too many fields", lineno);
		goto out;
	}
	size_t *slot;
	char *proc = intern_proc(h, tok[1], &slot);
	if (!proc) {
		seterr(err, errlen, "line %ld: out of memory", lineno);
		goto out;
	}

	if (!strcmp(type, "invoke")) {
		if (*slot) {
			seterr(err, errlen,
			       "line %ld: process %s invokes %s while its %s from line %ld is still pending",
			       lineno, proc, tok[3], fn_name(h->ops[*slot - 1].fn),
			       h->ops[*slot - 1].line_inv);
			goto out;
		}
		if (fn == LC_PUT && !arg) {
			seterr(err, errlen, "line %ld: invoke put needs a value", lineno);
			goto out;
		}
		if (fn == LC_PUT && !strcmp(arg, "-")) {
			seterr(err, errlen,
			       "line %ld: '-' is reserved for absent and cannot be written", lineno);
			goto out;
		}
		if (fn != LC_PUT && arg) {
			seterr(err, errlen, "line %ld: invoke %s takes no value", lineno, tok[3]);
			goto out;
		}
		size_t k = intern_key(h, key);
		if (k == (size_t)-1 ||
		    grow((void **)&h->ops, &h->opcap, h->nops + 1, sizeof *h->ops)) {
			seterr(err, errlen, "line %ld: out of memory", lineno);
			goto out;
		}
		lc_op *op = &h->ops[h->nops];
		memset(op, 0, sizeof *op);
		op->fn = fn;
		op->status = LC_PENDING;
		op->proc = proc;
		op->key = k;
		op->t_inv = t;
		op->t_ret = UINT64_MAX;
		op->line_inv = lineno;
		if (fn == LC_PUT && !(op->value = xstrdup(arg))) {
			seterr(err, errlen, "line %ld: out of memory", lineno);
			goto out;
		}
		h->nops++;
		*slot = h->nops;
		rc = 0;
		goto out;
	}

	lc_status st;
	if (!strcmp(type, "ok"))
		st = LC_DONE;
	else if (!strcmp(type, "fail"))
		st = LC_FAILED;
	else if (!strcmp(type, "info"))
		st = LC_INFO;
	else {
		seterr(err, errlen,
		       "line %ld: unknown event type '%s' (want invoke, ok, fail or info)",
		       lineno, type);
		goto out;
	}
	if (!*slot) {
		seterr(err, errlen, "line %ld: %s %s by process %s without a pending invoke",
		       lineno, type, tok[3], proc);
		goto out;
	}
	lc_op *op = &h->ops[*slot - 1];
	if (op->fn != fn || strcmp(h->keys[op->key], key) != 0) {
		seterr(err, errlen,
		       "line %ld: %s %s %s does not match process %s's pending %s %s (line %ld)",
		       lineno, type, tok[3], key, proc, fn_name(op->fn),
		       h->keys[op->key], op->line_inv);
		goto out;
	}
	if (t < op->t_inv) {
		seterr(err, errlen,
		       "line %ld: completion time %llu is before its invoke time %llu (line %ld)",
		       lineno, (unsigned long long)t, (unsigned long long)op->t_inv,
		       op->line_inv);
		goto out;
	}
	if (fn == LC_PUT) {
		if (arg && strcmp(arg, op->value) != 0) {
			seterr(err, errlen,
			       "line %ld: value '%s' differs from the invoked put's '%s' (line %ld)",
			       lineno, arg, op->value, op->line_inv);
			goto out;
		}
	} else if (fn == LC_GET && st == LC_DONE) {
		if (!arg) {
			seterr(err, errlen,
			       "line %ld: ok get needs the value read ('-' for absent)", lineno);
			goto out;
		}
		if (strcmp(arg, "-") != 0 && !(op->value = xstrdup(arg))) {
			seterr(err, errlen, "line %ld: out of memory", lineno);
			goto out;
		}
	} else if (fn == LC_RM && st == LC_DONE) {
		if (!arg || !strcmp(arg, "ok"))
			op->rm_found = 1;
		else if (!strcmp(arg, "not-found"))
			op->rm_found = 0;
		else {
			seterr(err, errlen,
			       "line %ld: ok rm result must be 'ok' or 'not-found', not '%s'",
			       lineno, arg);
			goto out;
		}
	} else if (arg) {
		seterr(err, errlen, "line %ld: %s %s takes no value", lineno, type, tok[3]);
		goto out;
	}
	op->status = st;
	op->line_ret = lineno;
	if (st != LC_INFO)
		op->t_ret = t;
	*slot = 0;
	rc = 0;
out:
	free(copy);
	return rc;
}

int lc_history_finish(lc_history *h, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < h->nops; i++)
		if (h->ops[i].status == LC_PENDING)
			h->ops[i].status = LC_INFO;
	for (size_t i = 0; i < h->procmap.cap; i++)
		h->procmap.vals[i] = 0;
	h->finished = 1;
	return 0;
}

lc_history *lc_parse_stream(FILE *in, char *err, size_t errlen)
{
	lc_history *h = lc_history_new();
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	if (!h) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	errno = 0;
	ssize_t got;
	while ((got = getline(&line, &cap, in)) != -1) {
		lineno++;
		if ((size_t)got != strlen(line)) {
			seterr(err, errlen, "line %ld: NUL byte in input", lineno);
			free(line);
			lc_history_free(h);
			return NULL;
		}
		if (lc_history_add_line(h, line, lineno, err, errlen)) {
			free(line);
			lc_history_free(h);
			return NULL;
		}
	}
	if (ferror(in)) {
		seterr(err, errlen, "read error after line %ld: %s", lineno,
		       strerror(errno ? errno : EIO));
		free(line);
		lc_history_free(h);
		return NULL;
	}
	free(line);
	if (lc_history_finish(h, err, errlen)) {
		lc_history_free(h);
		return NULL;
	}
	return h;
}

lc_history *lc_parse_string(const char *text, char *err, size_t errlen)
{
	lc_history *h = lc_history_new();
	long lineno = 0;
	if (!h) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = malloc(n + 1);
		if (!line) {
			seterr(err, errlen, "out of memory");
			lc_history_free(h);
			return NULL;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		int r = lc_history_add_line(h, line, ++lineno, err, errlen);
		free(line);
		if (r) {
			lc_history_free(h);
			return NULL;
		}
		p = nl ? nl + 1 : p + n;
	}
	lc_history_finish(h, err, errlen);
	return h;
}

/* ------------------------------------------------------------------ */
/* checker                                                             */

void lc_options_default(lc_options *o)
{
	memset(o, 0, sizeof *o);
	o->timeout_ms = 60000;
	o->max_mem_mb = 4096;
}

/* One operation of the key under check. */
typedef struct kop {
	const lc_op *src;
	lc_fn fn;
	int info;       /* indeterminate */
	uint32_t val;   /* put: value id written; get: value id read (0 = absent) */
	int found;      /* rm: 1 removed, 0 not-found */
	uint64_t ret;   /* completion time used by the search (see below) */
} kop;

typedef struct ent {
	uint64_t t;
	uint32_t op;
	uint32_t is_ret;
} ent;

static int ent_cmp(const void *a, const void *b)
{
	const ent *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* at equal times calls come first: equal timestamps are concurrent */
	if (x->is_ret != y->is_ret)
		return x->is_ret ? 1 : -1;
	return x->op < y->op ? -1 : x->op > y->op;
}

static int kop_cmp(const void *a, const void *b)
{
	const kop *x = a, *y = b;
	if (x->src->t_inv != y->src->t_inv)
		return x->src->t_inv < y->src->t_inv ? -1 : 1;
	return x->src->line_inv < y->src->line_inv ? -1 : x->src->line_inv > y->src->line_inv;
}

/* Sequential specification of a register.  state 0 = absent. */
static int step(uint32_t state, const kop *o, int strict_rm, uint32_t *next)
{
	switch (o->fn) {
	case LC_PUT:
		*next = o->val;
		return 1;
	case LC_GET:
		*next = state;
		return state == o->val;
	case LC_RM:
		*next = 0;
		if (o->info)
			return 1;
		if (!o->found)
			return state == 0;
		return !strict_rm || state != 0;
	}
	return 0;
}

static int is_write(const kop *o)
{
	return o->fn == LC_PUT || (o->fn == LC_RM && (o->info || o->found));
}

static int is_read(const kop *o)
{
	return o->fn == LC_GET || (o->fn == LC_RM && !o->info && !o->found);
}

/* Lowe's memo: the set of configurations (linearized set, state) already
 * explored.  Operations are numbered by invoke time, so a linearized set is
 * nearly always "every op below some index, plus a few": it is stored
 * compactly as (lo, words[lo..hi)) where words below lo are all ones and
 * words from hi on are zero. */
typedef struct bitset {
	uint64_t *w;
	size_t nwords;
	size_t lo;    /* words [0, lo) are all ones */
	size_t hi;    /* words [hi, nwords) are zero; lo <= hi */
	size_t nbits;
} bitset;

static int bs_full(const bitset *b, size_t i)
{
	/* the last word is never considered full: keeps lo simple */
	return i + 1 < b->nwords && b->w[i] == UINT64_MAX;
}

static void bs_set(bitset *b, size_t i)
{
	size_t wi = i / 64;
	b->w[wi] |= 1ULL << (i % 64);
	if (wi + 1 > b->hi)
		b->hi = wi + 1;
	while (b->lo < b->hi && bs_full(b, b->lo))
		b->lo++;
}

static void bs_clear(bitset *b, size_t i)
{
	size_t wi = i / 64;
	b->w[wi] &= ~(1ULL << (i % 64));
	if (wi < b->lo)
		b->lo = wi;
	while (b->hi > b->lo && b->w[b->hi - 1] == 0)
		b->hi--;
}

typedef struct cslot {
	uint64_t h;       /* 0 = empty */
	uint32_t state;
	uint32_t len;     /* words stored */
	size_t lo;
	size_t off;       /* into arena */
} cslot;

typedef struct cache {
	cslot *t;
	size_t cap, len;
	uint64_t *arena;
	size_t alen, acap;
	size_t bytes, max_bytes;
} cache;

static void cache_free(cache *c)
{
	free(c->t);
	free(c->arena);
}

static int cache_grow(cache *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 1024;
	if (c->max_bytes && c->bytes + ncap * sizeof(cslot) > c->max_bytes)
		return -1;
	cslot *nt = calloc(ncap, sizeof *nt);
	if (!nt)
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->t[i].h)
			continue;
		size_t j = c->t[i].h & (ncap - 1);
		while (nt[j].h)
			j = (j + 1) & (ncap - 1);
		nt[j] = c->t[i];
	}
	c->bytes += (ncap - c->cap) * sizeof(cslot);
	free(c->t);
	c->t = nt;
	c->cap = ncap;
	return 0;
}

/* Returns 1 if present, 0 if newly inserted, -1 on memory exhaustion. */
static int cache_insert(cache *c, uint64_t h, uint32_t state, const bitset *b)
{
	size_t len = b->hi - b->lo;
	const uint64_t *w = b->w + b->lo;
	if (h == 0)
		h = 1;
	if ((c->len + 1) * 4 > c->cap * 3 && cache_grow(c))
		return -1;
	size_t i = h & (c->cap - 1);
	while (c->t[i].h) {
		const cslot *sl = &c->t[i];
		if (sl->h == h && sl->state == state && sl->lo == b->lo && sl->len == len &&
		    !memcmp(c->arena + sl->off, w, len * sizeof *w))
			return 1;
		i = (i + 1) & (c->cap - 1);
	}
	if (c->alen + len > c->acap) {
		size_t ncap = c->acap ? c->acap * 2 : 4096;
		while (ncap < c->alen + len)
			ncap *= 2;
		if (c->max_bytes &&
		    c->bytes + (ncap - c->acap) * sizeof *c->arena > c->max_bytes)
			return -1;
		uint64_t *na = realloc(c->arena, ncap * sizeof *na);
		if (!na)
			return -1;
		c->bytes += (ncap - c->acap) * sizeof *c->arena;
		c->arena = na;
		c->acap = ncap;
	}
	if (len)
		memcpy(c->arena + c->alen, w, len * sizeof *w);
	c->t[i].h = h;
	c->t[i].state = state;
	c->t[i].len = (uint32_t)len;
	c->t[i].lo = b->lo;
	c->t[i].off = c->alen;
	c->alen += len;
	c->len++;
	return 0;
}

typedef struct frame {
	uint32_t call;   /* call entry */
	uint32_t state;  /* state before */
	uint64_t h;      /* bitset hash before */
	int forced;      /* no alternative to try here: a greedy read, or an
			  * indeterminate write linearized as a no-op */
} frame;

typedef struct keycheck {
	const lc_history *h;
	const lc_options *o;
	size_t key;
	kop *ops;
	size_t n;
	const char **vals;   /* value id -> string (0: absent) */
	size_t nvals;
	/* diagnostics */
	size_t best_depth;
	long best_op;        /* op whose completion could not be passed */
	uint32_t best_state;
	long best_last_write;
	long pre_x;          /* pre-check: the write superseding the read's value */
	int by_precheck;
	uint64_t steps;
	size_t cache_len;
	const char *why_unknown;
} keycheck;

#define NIL UINT32_MAX

static uint64_t state_mix(uint32_t s)
{
	return splitmix64((uint64_t)s ^ 0x5bd1e995ULL);
}

/* Remove a call entry and its return entry from the list (dancing links). */
static void lift(uint32_t *next, uint32_t *prev, uint32_t ce, uint32_t re)
{
	next[prev[ce]] = next[ce];
	if (next[ce] != NIL)
		prev[next[ce]] = prev[ce];
	next[prev[re]] = next[re];
	if (next[re] != NIL)
		prev[next[re]] = prev[re];
}

/* Undo lift(), in reverse order. */
static void unlift(uint32_t *next, uint32_t *prev, uint32_t ce, uint32_t re)
{
	next[prev[re]] = re;
	if (next[re] != NIL)
		prev[next[re]] = re;
	next[prev[ce]] = ce;
	if (next[ce] != NIL)
		prev[next[ce]] = ce;
}

/* The WGL search.  Returns LC_LINEARIZABLE, LC_NOT_LINEARIZABLE or LC_UNKNOWN. */
static lc_result wgl(keycheck *kc, uint64_t deadline)
{
	if (kc->n == 0)
		return LC_LINEARIZABLE;
	size_t n = kc->n, ne = 2 * n;
	lc_result res = LC_UNKNOWN;
	ent *es = malloc(ne * sizeof *es);
	uint32_t *next = malloc((ne + 1) * sizeof *next);
	uint32_t *prev = malloc((ne + 1) * sizeof *prev);
	uint32_t *match = malloc(ne * sizeof *match);
	uint32_t *eop = malloc(ne * sizeof *eop);
	uint8_t *isret = malloc(ne);
	uint64_t *zob = malloc(n * sizeof *zob);
	bitset bits = {calloc((n + 63) / 64, sizeof(uint64_t)), (n + 63) / 64, 0, 0, n};
	frame *stack = malloc(n * sizeof *stack);
	uint32_t *callent = malloc(n * sizeof *callent);
	cache c = {0};
	c.max_bytes = kc->o->max_mem_mb > 0 ? (size_t)kc->o->max_mem_mb << 20 : 0;

	kc->why_unknown = "out of memory";
	if (!es || !next || !prev || !match || !eop || !isret || !zob || !bits.w ||
	    !stack || !callent)
		goto out;

	for (size_t i = 0; i < n; i++) {
		es[2 * i].t = kc->ops[i].src->t_inv;
		es[2 * i].op = (uint32_t)i;
		es[2 * i].is_ret = 0;
		es[2 * i + 1].t = kc->ops[i].ret;
		es[2 * i + 1].op = (uint32_t)i;
		es[2 * i + 1].is_ret = 1;
		zob[i] = splitmix64(i * 0x2545f4914f6cdd1dULL + 0x1234567ULL);
	}
	qsort(es, ne, sizeof *es, ent_cmp);
	uint32_t *retent = match; /* temporarily: op -> return entry */
	for (size_t e = 0; e < ne; e++) {
		eop[e] = es[e].op;
		isret[e] = (uint8_t)es[e].is_ret;
		if (es[e].is_ret)
			retent[es[e].op] = (uint32_t)e;
		else
			callent[es[e].op] = (uint32_t)e;
	}
	/* match[call entry] = return entry (reuse callent to rebuild) */
	{
		uint32_t *tmp = malloc(n * sizeof *tmp);
		if (!tmp)
			goto out;
		memcpy(tmp, retent, n * sizeof *tmp);
		for (size_t i = 0; i < n; i++)
			match[callent[i]] = tmp[i];
		free(tmp);
	}
	uint32_t head = (uint32_t)ne;
	for (size_t e = 0; e < ne; e++) {
		next[e] = e + 1 < ne ? (uint32_t)(e + 1) : NIL;
		prev[e] = e == 0 ? head : (uint32_t)(e - 1);
	}
	next[head] = ne ? 0 : NIL;
	prev[head] = NIL;

	uint32_t state = 0;
	uint64_t h = 0;
	size_t depth = 0;
	uint32_t e = next[head];
	int fresh = 1; /* at a configuration not yet scanned for greedy reads */
	kc->best_depth = 0;
	kc->best_op = -1;
	kc->best_last_write = -1;
	kc->best_state = 0;

	while (next[head] != NIL) {
		if ((++kc->steps & 4095) == 0 && deadline && now_ms() >= deadline) {
			kc->why_unknown = "timeout";
			goto out;
		}
		if (fresh) {
			/* Partial-order reduction: a read (get, or rm not-found)
			 * of the current state can be linearized now without
			 * loss of generality (it leaves the state unchanged and
			 * no unlinearized op has completed before its invoke),
			 * so it is the only choice tried here. */
			fresh = 0;
			for (uint32_t x = next[head]; x != NIL && !isret[x]; x = next[x]) {
				const kop *o = &kc->ops[eop[x]];
				if (is_read(o) && o->val == state) {
					e = x;
					break;
				}
			}
		}
		if (e == NIL) { /* cannot happen: every call has a later return */
			kc->why_unknown = "internal error: fell off the entry list";
			goto out;
		}
		if (!isret[e]) {
			uint32_t op = eop[e], ns;
			const kop *o = &kc->ops[op];
			if (!step(state, o, kc->o->strict_rm, &ns)) {
				e = next[e];
				continue;
			}
			int forced = is_read(o);
			bs_set(&bits, op);
			int r = cache_insert(&c, h ^ zob[op] ^ state_mix(ns), ns, &bits);
			if (r < 0) {
				kc->why_unknown = "memory limit";
				goto out;
			}
			if (r == 0) {
				stack[depth++] = (frame){e, state, h, forced};
				state = ns;
				h ^= zob[op];
				lift(next, prev, e, match[e]);
				e = next[head];
				fresh = 1;
				continue;
			}
			bs_clear(&bits, op);
			if (!forced) {
				e = next[e];
				continue;
			}
			/* the greedy read leads to an explored configuration:
			 * this one fails too */
		} else {
			uint32_t op = eop[e];
			if (kc->ops[op].info) {
				/* An indeterminate write reaches its (virtual)
				 * completion unlinearized: it never took effect.
				 * Linearize it as a no-op. */
				bs_set(&bits, op);
				int r = cache_insert(&c, h ^ zob[op] ^ state_mix(state), state, &bits);
				if (r < 0) {
					kc->why_unknown = "memory limit";
					goto out;
				}
				if (r == 0) {
					uint32_t ce = callent[op];
					stack[depth++] = (frame){ce, state, h, 1};
					h ^= zob[op];
					lift(next, prev, ce, e);
					e = next[head];
					fresh = 1;
					continue;
				}
				bs_clear(&bits, op);
			}
			/* An operation's completion is reached with the operation
			 * not linearized. */
			if (depth > kc->best_depth || kc->best_op < 0) {
				kc->best_depth = depth;
				kc->best_op = op;
				kc->best_state = state;
				kc->best_last_write = -1;
				for (size_t i = depth; i-- > 0;) {
					const kop *w = &kc->ops[eop[stack[i].call]];
					if (is_write(w) && !(w->info && stack[i].forced)) {
						kc->best_last_write = eop[stack[i].call];
						break;
					}
				}
			}
		}
		/* backtrack */
		for (;;) {
			if (depth == 0) {
				res = LC_NOT_LINEARIZABLE;
				goto out;
			}
			depth--;
			uint32_t ce = stack[depth].call, bop = eop[ce];
			state = stack[depth].state;
			h = stack[depth].h;
			bs_clear(&bits, bop);
			unlift(next, prev, ce, match[ce]);
			if (!stack[depth].forced) {
				e = next[ce];
				break;
			}
		}
	}
	res = LC_LINEARIZABLE;
out:
	kc->cache_len = c.len;
	cache_free(&c);
	free(es);
	free(next);
	free(prev);
	free(match);
	free(eop);
	free(isret);
	free(zob);
	free(bits.w);
	free(stack);
	free(callent);
	return res;
}

/* ------------------------------------------------------------------ */
/* fast refutation of impossible reads                                 */

typedef struct wrec {
	uint64_t key;   /* sort key */
	uint64_t a;     /* payload */
	uint32_t val;
	uint32_t op;
} wrec;

static int wrec_cmp(const void *x, const void *y)
{
	const wrec *p = x, *q = y;
	if (p->val != q->val)
		return p->val < q->val ? -1 : 1;
	return p->key < q->key ? -1 : p->key > q->key;
}

static int wrec_cmp_key(const void *x, const void *y)
{
	const wrec *p = x, *q = y;
	return p->key < q->key ? -1 : p->key > q->key;
}

/* Sound O(n log n) pre-check.  A read R of v is impossible if every write
 * W of v that may precede it (W.inv <= R.ret; for v = absent also the
 * initial state) is superseded: some completed write X of another value
 * has W.ret < X.inv and X.ret < R.inv.  (The last write of v ordered before
 * R would be followed by X, itself followed by R, with no write of v in
 * between.)  This catches stale reads, lost writes and reads of values
 * never (or not yet) written at once, whatever the history's length;
 * everything else is left to the search.  Returns 1 and sets kc->best_op
 * and kc->pre_x (the superseding write, -1 if none) on a violation. */
static int precheck(keycheck *kc)
{
	size_t n = kc->n, nw = 0, nc = 0;
	int found = 0;
	wrec *byval = malloc((n + 1) * sizeof *byval);  /* writes by (val, inv) */
	wrec *byret = malloc((n + 1) * sizeof *byret);  /* completed writes by ret */
	/* prefix best two (inv, op) of distinct values over byret */
	wrec *best1 = malloc((n + 1) * sizeof *best1);
	wrec *best2 = malloc((n + 1) * sizeof *best2);
	size_t *vstart = calloc(kc->nvals + 1, sizeof *vstart);
	if (!byval || !byret || !best1 || !best2 || !vstart)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const kop *o = &kc->ops[i];
		if (!is_write(o))
			continue;
		uint32_t v = o->fn == LC_PUT ? o->val : 0;
		uint64_t ret = o->info ? UINT64_MAX : o->src->t_ret;
		byval[nw++] = (wrec){o->src->t_inv, ret, v, (uint32_t)i};
		if (!o->info)
			byret[nc++] = (wrec){ret, o->src->t_inv, v, (uint32_t)i};
	}
	qsort(byval, nw, sizeof *byval, wrec_cmp);
	qsort(byret, nc, sizeof *byret, wrec_cmp_key);
	/* per value: prefix max of ret over writes sorted by inv */
	for (size_t i = 1; i < nw; i++)
		if (byval[i].val == byval[i - 1].val && byval[i - 1].a > byval[i].a)
			byval[i].a = byval[i - 1].a;
	/* vstart[v] = first index with val >= v */
	for (size_t v = 0, j = 0; v <= kc->nvals; v++) {
		while (j < nw && byval[j].val < v)
			j++;
		vstart[v] = j;
	}
	for (size_t i = 0; i < nc; i++) {
		wrec w = byret[i];
		wrec b1 = i ? best1[i - 1] : (wrec){0, 0, UINT32_MAX, UINT32_MAX};
		wrec b2 = i ? best2[i - 1] : (wrec){0, 0, UINT32_MAX, UINT32_MAX};
		/* key field of best* holds the inv, compare by it */
		wrec cand = {w.a, 0, w.val, w.op};
		if (b1.op == UINT32_MAX || cand.key > b1.key) {
			if (b1.val != cand.val)
				b2 = b1;
			b1 = cand;
		} else if (cand.val != b1.val && (b2.op == UINT32_MAX || cand.key > b2.key)) {
			b2 = cand;
		}
		best1[i] = b1;
		best2[i] = b2;
	}
	uint64_t first_inv = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		const kop *r = &kc->ops[i];
		if (!is_read(r))
			continue;
		uint64_t rinv = r->src->t_inv, rret = r->src->t_ret;
		/* M: latest-invoked completed write of another value with ret < rinv */
		size_t lo = 0, hi = nc;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (byret[mid].key < rinv)
				lo = mid + 1;
			else
				hi = mid;
		}
		long xop = -1;
		uint64_t m = 0;
		if (lo > 0) {
			wrec b = best1[lo - 1].val != r->val ? best1[lo - 1] : best2[lo - 1];
			if (b.op != UINT32_MAX) {
				xop = (long)b.op;
				m = b.key;
			}
		}
		/* writes of r->val with inv <= rret: max ret */
		size_t a = vstart[r->val], z = vstart[r->val + 1];
		lo = a;
		hi = z;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (byval[mid].key <= rret)
				lo = mid + 1;
			else
				hi = mid;
		}
		int any = lo > a || r->val == 0; /* absent: the initial state */
		uint64_t maxret = lo > a ? byval[lo - 1].a : 0;
		int impossible;
		if (!any)
			impossible = 1;
		else if (lo > a)
			impossible = xop >= 0 && maxret < m;
		else
			impossible = xop >= 0; /* only the initial state */
		if (impossible && rinv < first_inv) {
			first_inv = rinv;
			kc->best_op = (long)i;
			kc->pre_x = any ? xop : -1;
			found = 1;
		}
	}
out:
	free(byval);
	free(byret);
	free(best1);
	free(best2);
	free(vstart);
	return found;
}

/* ------------------------------------------------------------------ */
/* reporting                                                           */

static void put_val(FILE *f, const char *v)
{
	if (v)
		fprintf(f, "\"%s\"", v);
	else
		fputs("absent", f);
}

static void describe_op(FILE *f, const lc_history *h, const lc_op *o)
{
	fprintf(f, "process %s %s %s", o->proc, fn_name(o->fn), h->keys[o->key]);
	if (o->fn == LC_PUT) {
		fprintf(f, " %s", o->value);
	} else if (o->fn == LC_GET) {
		fputs(" -> ", f);
		if (o->status == LC_DONE)
			put_val(f, o->value);
		else
			fputs("?", f);
	} else {
		fputs(" -> ", f);
		if (o->status == LC_DONE)
			fputs(o->rm_found ? "ok" : "not-found", f);
		else
			fputs("?", f);
	}
	switch (o->status) {
	case LC_DONE:
		fprintf(f, "  [invoked t=%llu line %ld, ok t=%llu line %ld]",
			(unsigned long long)o->t_inv, o->line_inv,
			(unsigned long long)o->t_ret, o->line_ret);
		break;
	case LC_INFO:
		if (o->line_ret)
			fprintf(f, "  [invoked t=%llu line %ld, indeterminate (info) line %ld]",
				(unsigned long long)o->t_inv, o->line_inv, o->line_ret);
		else
			fprintf(f, "  [invoked t=%llu line %ld, never completed]",
				(unsigned long long)o->t_inv, o->line_inv);
		break;
	default:
		fprintf(f, "  [invoked t=%llu line %ld, failed line %ld]",
			(unsigned long long)o->t_inv, o->line_inv, o->line_ret);
		break;
	}
}

#define MAX_CANDIDATES 8

static void report_violation(FILE *f, const keycheck *kc)
{
	const lc_history *h = kc->h;
	const char *key = h->keys[kc->key];
	fprintf(f, "key %s: NOT linearizable (%zu ops on this key)\n", key, kc->n);
	if (kc->best_op < 0)
		return;
	const kop *bad = &kc->ops[kc->best_op];
	fprintf(f, "  cannot linearize: ");
	describe_op(f, h, bad->src);
	fputc('\n', f);
	if (kc->by_precheck) {
		if (kc->pre_x >= 0) {
			fputs("  every write of the value read is overwritten before the read begins by\n    ", f);
			describe_op(f, h, kc->ops[kc->pre_x].src);
			fputc('\n', f);
		}
	} else {
		fprintf(f, "  deepest consistent partial linearization: %zu of %zu ops, register ",
			kc->best_depth, kc->n);
		put_val(f, kc->vals[kc->best_state]);
		if (kc->best_last_write >= 0) {
			fputs(" written by\n    ", f);
			describe_op(f, h, kc->ops[kc->best_last_write].src);
			fputc('\n', f);
		} else {
			fputs(" (initial state, nothing written yet)\n", f);
		}
	}
	if (!is_read(bad))
		return;

	const char *want = kc->vals[bad->val];
	uint64_t r_inv = bad->src->t_inv, r_ret = bad->src->t_ret;
	/* writes of the value read */
	size_t nw = 0;
	for (size_t i = 0; i < kc->n; i++) {
		const kop *w = &kc->ops[i];
		int writes_it = bad->val ? (w->fn == LC_PUT && w->val == bad->val)
					 : (w->fn == LC_RM && (w->info || w->found));
		if (!writes_it)
			continue;
		if (nw++ == 0) {
			fputs("  the value read, ", f);
			put_val(f, want);
			fputs(", was written by:\n", f);
		}
		if (nw <= MAX_CANDIDATES) {
			fputs("    ", f);
			describe_op(f, h, w->src);
			if (w->src->t_inv > r_ret)
				fputs("  (invoked after the read completed)", f);
			fputc('\n', f);
		}
	}
	if (nw > MAX_CANDIDATES)
		fprintf(f, "    ... and %zu more\n", nw - MAX_CANDIDATES);
	if (nw == 0) {
		if (want) {
			fprintf(f, "  no put of \"%s\" to %s appears in the history "
				"(read of a value never written)\n", want, key);
		} else {
			fprintf(f, "  no rm of %s appears in the history\n", key);
		}
	}
	/* Writes that may precede the read in real time: invoked before the read
	 * returned, and not superseded by a completed write that both started
	 * after it completed and completed before the read began. */
	uint64_t max_inv = 0;
	int have = 0;
	for (size_t i = 0; i < kc->n; i++) {
		const kop *w = &kc->ops[i];
		if (is_write(w) && !w->info && w->src->t_ret < r_inv) {
			if (!have || w->src->t_inv > max_inv)
				max_inv = w->src->t_inv;
			have = 1;
		}
	}
	size_t *cand = malloc(kc->n * sizeof *cand);
	size_t nc = 0;
	if (!cand)
		return;
	for (size_t i = 0; i < kc->n; i++) {
		const kop *w = &kc->ops[i];
		if (!is_write(w) || w->src->t_inv >= r_ret)
			continue;
		uint64_t wret = w->info ? UINT64_MAX : w->src->t_ret;
		if (have && max_inv > wret)
			continue; /* superseded */
		cand[nc++] = i;
	}
	if (nc == 0) {
		fputs("  no write can precede the read: the register must be absent\n", f);
	} else {
		fputs("  last writes that could precede the read (by real time):\n", f);
		size_t from = nc > MAX_CANDIDATES ? nc - MAX_CANDIDATES : 0;
		if (from)
			fprintf(f, "    (%zu earlier ones omitted)\n", from);
		for (size_t j = from; j < nc; j++) {
			fputs("    ", f);
			describe_op(f, h, kc->ops[cand[j]].src);
			fputc('\n', f);
		}
		if (!have)
			fputs("    or the initial absent state\n", f);
	}
	free(cand);
}

/* Search-time completion of each operation.  A completed operation keeps
 * its own.  An indeterminate write W (info, or no completion) really has
 * none, but it only matters if some read can observe its value after it:
 * a read R returning W's value with R.ret > W.inv (with --strict-rm, an
 * "ok rm" also observes any put).  If W is ordered after all its observers,
 * the state it leaves is overwritten before any read, so W can be dropped
 * (no write has a precondition except a strict rm, itself an observer).
 * So W gets the virtual completion D = max(W.inv, observers' ret): it must
 * be linearized before D or, at D, as a no-op (it never happened).  This
 * keeps indeterminate writes from staying pending to the end of history,
 * which is what makes crash-heavy histories explode in plain WGL. */
static int set_deadlines(keycheck *kc)
{
	uint64_t *maxret = calloc(kc->nvals, sizeof *maxret);
	uint64_t rmfound = 0;
	if (!maxret)
		return -1;
	for (size_t i = 0; i < kc->n; i++) {
		kop *o = &kc->ops[i];
		o->ret = o->info ? UINT64_MAX : o->src->t_ret;
		if (is_read(o) && o->src->t_ret > maxret[o->val])
			maxret[o->val] = o->src->t_ret;
		if (o->fn == LC_RM && !o->info && o->found && o->src->t_ret > rmfound)
			rmfound = o->src->t_ret;
	}
	for (size_t i = 0; i < kc->n; i++) {
		kop *o = &kc->ops[i];
		if (!o->info)
			continue;
		uint32_t v = o->fn == LC_PUT ? o->val : 0;
		uint64_t d = o->src->t_inv;
		if (maxret[v] > d)
			d = maxret[v];
		if (kc->o->strict_rm && o->fn == LC_PUT && rmfound > d)
			d = rmfound;
		o->ret = d;
	}
	free(maxret);
	return 0;
}

/* ------------------------------------------------------------------ */

typedef struct keyinfo {
	size_t key;
	size_t nops;
} keyinfo;

static int keyinfo_cmp(const void *a, const void *b)
{
	const keyinfo *x = a, *y = b;
	if (x->nops != y->nops)
		return x->nops < y->nops ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static int relevant(const lc_op *o)
{
	if (o->status == LC_FAILED)
		return 0; /* did not happen */
	if (o->fn == LC_GET && o->status != LC_DONE)
		return 0; /* a read without a result constrains nothing */
	return 1;
}

lc_result lc_check(const lc_history *h, const lc_options *o, FILE *report,
		   lc_stats *stats)
{
	lc_options defo;
	lc_stats st = {0};
	lc_result res = LC_LINEARIZABLE;
	if (!o) {
		lc_options_default(&defo);
		o = &defo;
	}
	uint64_t deadline = o->timeout_ms > 0 ? now_ms() + (uint64_t)o->timeout_ms : 0;

	/* partition by key; check the small keys first */
	keyinfo *ki = calloc(h->nkeys ? h->nkeys : 1, sizeof *ki);
	size_t *start = calloc(h->nkeys + 1, sizeof *start);
	kop *all = malloc((h->nops ? h->nops : 1) * sizeof *all);
	if (!ki || !start || !all) {
		if (report)
			fprintf(report, "out of memory\n");
		free(ki);
		free(start);
		free(all);
		return LC_UNKNOWN;
	}
	for (size_t k = 0; k < h->nkeys; k++)
		ki[k].key = k;
	for (size_t i = 0; i < h->nops; i++)
		if (relevant(&h->ops[i]))
			ki[h->ops[i].key].nops++;
	for (size_t k = 0; k < h->nkeys; k++)
		start[k + 1] = start[k] + ki[k].nops;
	{
		size_t *fill = calloc(h->nkeys + 1, sizeof *fill);
		if (!fill) {
			free(ki);
			free(start);
			free(all);
			return LC_UNKNOWN;
		}
		for (size_t i = 0; i < h->nops; i++) {
			const lc_op *op = &h->ops[i];
			if (!relevant(op))
				continue;
			kop *ko = &all[start[op->key] + fill[op->key]++];
			memset(ko, 0, sizeof *ko);
			ko->src = op;
			ko->fn = op->fn;
			ko->info = op->status != LC_DONE;
			ko->found = op->rm_found;
		}
		free(fill);
	}
	qsort(ki, h->nkeys, sizeof *ki, keyinfo_cmp);

	for (size_t kk = 0; kk < h->nkeys; kk++) {
		size_t k = ki[kk].key;
		keycheck kc;
		memset(&kc, 0, sizeof kc);
		kc.h = h;
		kc.o = o;
		kc.key = k;
		kc.ops = all + start[k];
		kc.n = ki[kk].nops;
		st.keys++;
		st.ops += kc.n;
		if (kc.n > UINT32_MAX / 4) {
			if (report)
				fprintf(report, "key %s: too many operations (%zu)\n",
					h->keys[k], kc.n);
			st.unknown_keys++;
			continue;
		}
		qsort(kc.ops, kc.n, sizeof *kc.ops, kop_cmp);

		/* intern values: 0 = absent */
		strmap vm = {0};
		const char **vals = malloc((kc.n + 1) * sizeof *vals);
		size_t nv = 1;
		int oom = !vals;
		if (vals)
			vals[0] = NULL;
		for (size_t i = 0; i < kc.n && !oom; i++) {
			kop *ko = &kc.ops[i];
			const char *v = ko->src->value;
			if (!v)
				continue;
			size_t *id = strmap_find(&vm, v);
			if (id) {
				ko->val = (uint32_t)*id;
			} else if (strmap_put(&vm, v, nv)) {
				oom = 1;
			} else {
				vals[nv] = v;
				ko->val = (uint32_t)nv++;
			}
		}
		strmap_free(&vm);
		kc.vals = vals;
		kc.nvals = nv;
		if (!oom && set_deadlines(&kc))
			oom = 1;

		uint64_t t0 = now_ms();
		lc_result r;
		kc.pre_x = -1;
		if (oom)
			r = LC_UNKNOWN;
		else if (!o->no_precheck && precheck(&kc)) {
			kc.by_precheck = 1;
			r = LC_NOT_LINEARIZABLE;
		} else
			r = wgl(&kc, deadline);
		if (oom)
			kc.why_unknown = "out of memory";
		st.steps += kc.steps;
		st.cache += kc.cache_len;
		if (o->verbose && report)
			fprintf(report,
				"key %s: %zu ops, %zu values, %llu steps, %zu memo entries, %llu ms: %s\n",
				h->keys[k], kc.n, nv - 1, (unsigned long long)kc.steps,
				kc.cache_len, (unsigned long long)(now_ms() - t0),
				r == LC_LINEARIZABLE ? "linearizable"
				: r == LC_NOT_LINEARIZABLE ? "NOT linearizable"
							   : "unknown");
		if (r == LC_NOT_LINEARIZABLE) {
			st.bad_keys++;
			res = LC_NOT_LINEARIZABLE;
			if (report)
				report_violation(report, &kc);
		} else if (r == LC_UNKNOWN) {
			st.unknown_keys++;
			if (report)
				fprintf(report, "key %s: unknown (%s after %llu steps, %zu memo entries)\n",
					h->keys[k], kc.why_unknown,
					(unsigned long long)kc.steps, kc.cache_len);
		}
		free(vals);
	}
	if (res == LC_LINEARIZABLE && st.unknown_keys)
		res = LC_UNKNOWN;
	free(ki);
	free(start);
	free(all);
	if (stats)
		*stats = st;
	return res;
}
