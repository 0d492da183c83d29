/* In-process metrics registry and Prometheus text exposition (metrics.h).
 * Format reference: the Prometheus "Exposition formats" document, text
 * format version 0.0.4. */
#include "util/metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define MAX_LABELS 8

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct family;

struct child {
	struct child *next;
	struct family *fam;
	char *labels;           /* rendered, escaped: op="put",result="ok" ("" if none) */
	metrics_read_fn fn;     /* callback counter or gauge; NULL otherwise */
	void *arg;
};

struct metrics_counter {
	struct child base;
	uint64_t value;
};

struct metrics_gauge {
	struct child base;
	double value;
};

struct metrics_histogram {
	struct child base;
	const double *bounds;   /* the family's */
	size_t nbounds;
	uint64_t *buckets;      /* nbounds + 1, not cumulative; last is +Inf */
	uint64_t count;
	double sum;
};

struct family {
	struct family *next;
	char *name;
	char *help;
	enum mtype type;
	char *label_names;      /* "op,result" */
	double *bounds;         /* histograms */
	size_t nbounds;
	struct child *children;
	struct child **tail;
};

struct metrics {
	struct family *families;
	struct family **tail;
};

struct rcfs_metrics rcfs_metrics;

const double metrics_buckets_latency[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const size_t metrics_buckets_latency_n =
    sizeof metrics_buckets_latency / sizeof metrics_buckets_latency[0];
const double metrics_buckets_fast[] = {
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
};
const size_t metrics_buckets_fast_n = sizeof metrics_buckets_fast / sizeof metrics_buckets_fast[0];

struct metrics *
metrics_new(void)
{
	struct metrics *reg = xcalloc(1, sizeof *reg);

	reg->tail = &reg->families;
	return reg;
}

void
metrics_free(struct metrics *reg)
{
	struct family *f, *fn;
	struct child *c, *cn;

	if (reg == NULL)
		return;
	for (f = reg->families; f != NULL; f = fn) {
		fn = f->next;
		for (c = f->children; c != NULL; c = cn) {
			cn = c->next;
			if (f->type == M_HISTOGRAM)
				free(((struct metrics_histogram *)c)->buckets);
			free(c->labels);
			free(c);
		}
		free(f->name);
		free(f->help);
		free(f->label_names);
		free(f->bounds);
		free(f);
	}
	free(reg);
}

/* ---- escaping and formatting ---- */

void
metrics_escape_help(struct evbuffer *out, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : NULL;

		if (esc == NULL)
			continue;
		evbuffer_add(out, run, (size_t)(s - run));
		evbuffer_add(out, esc, 2);
		run = s + 1;
	}
	evbuffer_add(out, run, (size_t)(s - run));
}

void
metrics_escape_label(struct evbuffer *out, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : NULL;

		if (esc == NULL)
			continue;
		evbuffer_add(out, run, (size_t)(s - run));
		evbuffer_add(out, esc, 2);
		run = s + 1;
	}
	evbuffer_add(out, run, (size_t)(s - run));
}

const char *
metrics_format_double(char buf[32], double v)
{
	int prec;

	if (isnan(v))
		return strcpy(buf, "NaN");
	if (isinf(v))
		return strcpy(buf, v > 0 ? "+Inf" : "-Inf");
	/* Shortest of %.15g, %.16g, %.17g that reads back exactly. */
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

/* ---- registration ---- */

static bool
valid_name(const char *s, bool metric)
{
	const char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = s; *p != '\0'; p++) {
		char ch = *p;
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
		    (metric && ch == ':');

		if (!alpha && !(p != s && ch >= '0' && ch <= '9'))
			return false;
	}
	if (!metric && s[0] == '_' && s[1] == '_')
		return false;   /* reserved for Prometheus */
	return true;
}

/* Collect the NULL-terminated name/value pairs into a rendered label string
 * and a comma-separated list of names.  Returns false (and logs) if invalid. */
static bool
parse_labels(const char *metric, enum mtype type, va_list ap, char **labels, char **names)
{
	struct evbuffer *lb = evbuffer_new(), *nb = evbuffer_new();
	const char *seen[MAX_LABELS];
	const char *k, *v;
	size_t n = 0, i, len;
	bool ok = true;

	if (lb == NULL || nb == NULL)
		abort();
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (n == MAX_LABELS || !valid_name(k, false) || v == NULL ||
		    (type == M_HISTOGRAM && strcmp(k, "le") == 0)) {
			log_err("metrics: %s: bad label %s", metric, k);
			ok = false;
			break;
		}
		for (i = 0; i < n; i++)
			if (strcmp(seen[i], k) == 0) {
				log_err("metrics: %s: duplicate label %s", metric, k);
				ok = false;
			}
		seen[n++] = k;
		if (n > 1) {
			evbuffer_add(lb, ",", 1);
			evbuffer_add(nb, ",", 1);
		}
		evbuffer_add_printf(lb, "%s=\"", k);
		metrics_escape_label(lb, v);
		evbuffer_add(lb, "\"", 1);
		evbuffer_add(nb, k, strlen(k));
	}
	if (ok) {
		len = evbuffer_get_length(lb);
		*labels = xmalloc(len + 1);
		evbuffer_remove(lb, *labels, len);
		(*labels)[len] = '\0';
		len = evbuffer_get_length(nb);
		*names = xmalloc(len + 1);
		evbuffer_remove(nb, *names, len);
		(*names)[len] = '\0';
	}
	evbuffer_free(lb);
	evbuffer_free(nb);
	return ok;
}

/* Find or create the family and the child for the labels in ap.  *created
 * says whether the child is new.  size: the child struct's size. */
static struct child *
lookup(struct metrics *reg, const char *name, const char *help, enum mtype type,
    const double *bounds, size_t nbounds, size_t size, va_list ap, bool *created)
{
	struct family *f;
	struct child *c;
	char *labels = NULL, *names = NULL;
	size_t i;

	*created = false;
	if (reg == NULL || !valid_name(name, true) || help == NULL) {
		log_err("metrics: bad metric name %s", name ? name : "(null)");
		return NULL;
	}
	if (!parse_labels(name, type, ap, &labels, &names))
		return NULL;
	for (f = reg->families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			break;
	if (f != NULL) {
		if (f->type != type || strcmp(f->label_names, names) != 0) {
			log_err("metrics: %s registered with another type or label names", name);
			goto fail;
		}
		if (type == M_HISTOGRAM && (nbounds != f->nbounds ||
		    memcmp(bounds, f->bounds, nbounds * sizeof *bounds) != 0)) {
			log_err("metrics: %s registered with other buckets", name);
			goto fail;
		}
		for (c = f->children; c != NULL; c = c->next)
			if (strcmp(c->labels, labels) == 0) {
				free(labels);
				free(names);
				return c;
			}
		free(names);
	} else {
		if (type == M_HISTOGRAM) {
			for (i = 0; i < nbounds; i++)
				if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
					log_err("metrics: %s: buckets not increasing and finite", name);
					goto fail;
				}
		}
		f = xcalloc(1, sizeof *f);
		f->name = xstrdup(name);
		f->help = xstrdup(help);
		f->type = type;
		f->label_names = names;
		if (type == M_HISTOGRAM) {
			f->bounds = xmalloc((nbounds ? nbounds : 1) * sizeof *bounds);
			if (nbounds)
				memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
			f->nbounds = nbounds;
		}
		f->tail = &f->children;
		*reg->tail = f;
		reg->tail = &f->next;
	}
	c = xcalloc(1, size);
	c->fam = f;
	c->labels = labels;
	*f->tail = c;
	f->tail = &c->next;
	*created = true;
	return c;
fail:
	free(labels);
	free(names);
	return NULL;
}

struct metrics_counter *
metrics_counter(struct metrics *reg, const char *name, const char *help, ...)
{
	struct child *c;
	bool created;
	va_list ap;

	va_start(ap, help);
	c = lookup(reg, name, help, M_COUNTER, NULL, 0, sizeof(struct metrics_counter), ap, &created);
	va_end(ap);
	if (c != NULL && c->fn != NULL) {
		log_err("metrics: %s is a callback counter", name);
		return NULL;
	}
	return (struct metrics_counter *)c;
}

struct metrics_gauge *
metrics_gauge(struct metrics *reg, const char *name, const char *help, ...)
{
	struct child *c;
	bool created;
	va_list ap;

	va_start(ap, help);
	c = lookup(reg, name, help, M_GAUGE, NULL, 0, sizeof(struct metrics_gauge), ap, &created);
	va_end(ap);
	if (c != NULL && c->fn != NULL) {
		log_err("metrics: %s is a callback gauge", name);
		return NULL;
	}
	return (struct metrics_gauge *)c;
}

static bool
set_fn(struct child *c, bool created, metrics_read_fn fn, void *arg)
{
	if (c == NULL || fn == NULL)
		return false;
	if (!created && c->fn == NULL) {
		log_err("metrics: %s already has a settable child with these labels", c->fam->name);
		return false;
	}
	c->fn = fn;
	c->arg = arg;
	return true;
}

bool
metrics_gauge_fn(struct metrics *reg, const char *name, const char *help, metrics_read_fn fn,
    void *arg, ...)
{
	struct child *c;
	bool created;
	va_list ap;

	va_start(ap, arg);
	c = lookup(reg, name, help, M_GAUGE, NULL, 0, sizeof(struct metrics_gauge), ap, &created);
	va_end(ap);
	return set_fn(c, created, fn, arg);
}

bool
metrics_counter_fn(struct metrics *reg, const char *name, const char *help, metrics_read_fn fn,
    void *arg, ...)
{
	struct child *c;
	bool created;
	va_list ap;

	va_start(ap, arg);
	c = lookup(reg, name, help, M_COUNTER, NULL, 0, sizeof(struct metrics_counter), ap, &created);
	va_end(ap);
	return set_fn(c, created, fn, arg);
}

struct metrics_histogram *
metrics_histogram(struct metrics *reg, const char *name, const char *help, const double *bounds,
    size_t nbounds, ...)
{
	struct metrics_histogram *h;
	struct child *c;
	bool created;
	va_list ap;

	if (bounds == NULL && nbounds > 0)
		return NULL;
	va_start(ap, nbounds);
	c = lookup(reg, name, help, M_HISTOGRAM, bounds, nbounds, sizeof(struct metrics_histogram),
	    ap, &created);
	va_end(ap);
	if (c == NULL)
		return NULL;
	h = (struct metrics_histogram *)c;
	if (created) {
		h->bounds = c->fam->bounds;
		h->nbounds = c->fam->nbounds;
		h->buckets = xcalloc(h->nbounds + 1, sizeof *h->buckets);
	}
	return h;
}

/* ---- hot path ---- */

void
metrics_inc(struct metrics_counter *c)
{
	if (c != NULL)
		c->value++;
}

void
metrics_add(struct metrics_counter *c, uint64_t n)
{
	if (c != NULL)
		c->value += n;
}

void
metrics_set(struct metrics_gauge *g, double v)
{
	if (g != NULL)
		g->value = v;
}

void
metrics_gauge_add(struct metrics_gauge *g, double delta)
{
	if (g != NULL)
		g->value += delta;
}

void
metrics_observe(struct metrics_histogram *h, double v)
{
	size_t lo, hi;

	if (h == NULL || isnan(v))
		return;
	/* First bucket whose upper bound is >= v (le is inclusive). */
	lo = 0;
	hi = h->nbounds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v <= h->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	h->buckets[lo]++;
	h->count++;
	h->sum += v;
}

double
metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
metrics_observe_since(struct metrics_histogram *h, double start)
{
	if (h != NULL)
		metrics_observe(h, metrics_now() - start);
}

uint64_t
metrics_counter_value(const struct metrics_counter *c)
{
	return c != NULL ? c->value : 0;
}

double
metrics_gauge_value(const struct metrics_gauge *g)
{
	return g != NULL ? g->value : 0;
}

uint64_t
metrics_histogram_count(const struct metrics_histogram *h)
{
	return h != NULL ? h->count : 0;
}

double
metrics_histogram_sum(const struct metrics_histogram *h)
{
	return h != NULL ? h->sum : 0;
}

/* ---- exposition ---- */

static const char *
type_name(enum mtype t)
{
	switch (t) {
	case M_COUNTER: return "counter";
	case M_GAUGE: return "gauge";
	default: return "histogram";
	}
}

/* name{labels} value, or name value. */
static void
sample(struct evbuffer *out, const char *name, const char *suffix, const char *labels,
    const char *value)
{
	if (labels[0] != '\0')
		evbuffer_add_printf(out, "%s%s{%s} %s\n", name, suffix, labels, value);
	else
		evbuffer_add_printf(out, "%s%s %s\n", name, suffix, value);
}

static void
render_histogram(struct evbuffer *out, const struct family *f, const struct metrics_histogram *h)
{
	const char *sep = h->base.labels[0] != '\0' ? "," : "";
	char le[32], val[32];
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= h->nbounds; i++) {
		cum += h->buckets[i];
		if (i < h->nbounds)
			metrics_format_double(le, h->bounds[i]);
		else
			strcpy(le, "+Inf");
		evbuffer_add_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name, h->base.labels, sep,
		    le, (unsigned long long)cum);
	}
	sample(out, f->name, "_sum", h->base.labels, metrics_format_double(val, h->sum));
	snprintf(val, sizeof val, "%llu", (unsigned long long)h->count);
	sample(out, f->name, "_count", h->base.labels, val);
}

void
metrics_render(const struct metrics *reg, struct evbuffer *out)
{
	const struct family *f;
	const struct child *c;
	char val[32];
	double v;

	for (f = reg->families; f != NULL; f = f->next) {
		evbuffer_add_printf(out, "# HELP %s ", f->name);
		metrics_escape_help(out, f->help);
		evbuffer_add_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		for (c = f->children; c != NULL; c = c->next) {
			if (c->fn != NULL) {
				if (!c->fn(c->arg, &v))
					continue;
				sample(out, f->name, "", c->labels, metrics_format_double(val, v));
				continue;
			}
			switch (f->type) {
			case M_COUNTER:
				snprintf(val, sizeof val, "%llu",
				    (unsigned long long)((const struct metrics_counter *)c)->value);
				sample(out, f->name, "", c->labels, val);
				break;
			case M_GAUGE:
				sample(out, f->name, "", c->labels,
				    metrics_format_double(val, ((const struct metrics_gauge *)c)->value));
				break;
			case M_HISTOGRAM:
				render_histogram(out, f, (const struct metrics_histogram *)c);
				break;
			}
		}
	}
}

/* ---- rcfs's metrics ---- */

static bool
read_cpu_seconds(void *arg, double *v)
{
	struct rusage ru;

	(void)arg;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return false;
	*v = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return true;
}

static bool
read_resident_bytes(void *arg, double *v)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	(void)arg;
	if (f == NULL)
		return false;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2)
		return false;
	*v = (double)resident * (double)sysconf(_SC_PAGESIZE);
	return true;
}

static bool
read_open_fds(void *arg, double *v)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	double n = 0;

	(void)arg;
	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	*v = n - 1;   /* not the directory's own descriptor */
	return true;
}

static bool
read_max_fds(void *arg, double *v)
{
	struct rlimit rl;

	(void)arg;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	*v = rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
	return true;
}

/* The process_* metrics of the Prometheus client conventions: CPU, resident
 * memory, open and maximum file descriptors, start time. */
bool
metrics_register_process(struct metrics *reg)
{
	struct metrics_gauge *g;
	struct timespec now;

	if (!metrics_counter_fn(reg, "process_cpu_seconds_total",
	    "Total user and system CPU time spent in seconds.", read_cpu_seconds, NULL, NULL) ||
	    !metrics_gauge_fn(reg, "process_resident_memory_bytes", "Resident memory size in bytes.",
	    read_resident_bytes, NULL, NULL) ||
	    !metrics_gauge_fn(reg, "process_open_fds", "Number of open file descriptors.",
	    read_open_fds, NULL, NULL) ||
	    !metrics_gauge_fn(reg, "process_max_fds", "Maximum number of open file descriptors.",
	    read_max_fds, NULL, NULL))
		return false;
	clock_gettime(CLOCK_REALTIME, &now);
	g = metrics_gauge(reg, "process_start_time_seconds",
	    "Start time of the process since unix epoch in seconds.", NULL);
	if (g == NULL)
		return false;
	metrics_set(g, (double)now.tv_sec + (double)(now.tv_nsec / 1000000) / 1e3);
	return true;
}
