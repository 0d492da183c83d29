/* Allocation that cannot fail: out-of-memory outside the Raft core is fatal
 * in this one place (house rule 5).  The Raft core returns RAFT_ENOMEM instead. */
#ifndef RCFS_XMALLOC_H
#define RCFS_XMALLOC_H
#include <stddef.h>

/* Like malloc/calloc/realloc/strdup, but never return NULL: on failure they log
 * "out of memory" and abort().  xmalloc(0) returns a unique pointer. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
/* The first n bytes of s (fewer if s ends first), NUL-terminated. */
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
