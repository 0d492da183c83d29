/* libFuzzer entry point shared by the fuzz targets in t/fuzz/ (built with
 * clang by `make fuzz`) and by the corpus replay driver (t/fuzz/replay.c,
 * built by `make check` with any compiler). */
#ifndef RCFS_FUZZ_H
#define RCFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Feed one input; always returns 0.  A crash or sanitizer report is a bug. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
