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

/* Chunk-sized buffers without page faults (glibc; a no-op elsewhere).
 * Every chunk passes through several buffers of its size (a frame, a decoded
 * message, hiredis's buffers).  glibc serves allocations above its mmap
 * threshold (128 KiB, rising only after a free) with fresh mmaps and trims
 * the heap top once more than twice that is free, so each 1 MiB chunk cost
 * hundreds of page faults, which are expensive in a VM (docs/benchmarks.md:
 * 1 MiB puts at half speed in rcfsd, 1 MiB gets at c=8 at 40 % in
 * rcfs-load).  After this call buffers up to XMALLOC_MMAP_MAX come from the
 * heap, which keeps up to XMALLOC_TRIM_MAX free at its top; a long-lived
 * process returns it with malloc_trim when idle (rcfsd does). */
#define XMALLOC_MMAP_MAX (32 << 20)     /* bytes */
#define XMALLOC_TRIM_MAX (64 << 20)     /* bytes */
void xmalloc_keep_chunk_buffers(void);

#endif
