#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/xmalloc.h"

static void xmalloc_fatal(size_t size) __attribute__((noreturn));

static void
xmalloc_fatal(size_t size)
{
	fprintf(stderr, "rcfs: out of memory allocating %zu bytes\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		xmalloc_fatal(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		xmalloc_fatal(n * size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (q == NULL)
		xmalloc_fatal(size);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		xmalloc_fatal(strlen(s) + 1);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL)
		xmalloc_fatal(n + 1);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		xmalloc_fatal(0);
	return s;
}

void
xmalloc_keep_chunk_buffers(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, XMALLOC_MMAP_MAX);
	mallopt(M_TRIM_THRESHOLD, XMALLOC_TRIM_MAX);
#endif
}
