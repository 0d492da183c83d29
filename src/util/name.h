/* File name rules (docs/protocol.md "names"). */
#ifndef RCFS_NAME_H
#define RCFS_NAME_H
#include <stddef.h>

#define RCFS_NAME_MAX 1024   /* bytes */

/* Check a file name: valid UTF-8, 1..RCFS_NAME_MAX bytes, '/'-separated, no
 * NUL, no other C0 control character (0x01..0x1f) and no DEL (0x7f), no
 * empty, "." or ".." component (so no leading, trailing or doubled
 * '/').  Returns NULL if valid, else a static string saying why. */
const char *name_check(const char *name, size_t len);

#endif
