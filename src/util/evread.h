/* Reading a socket into an evbuffer in larger pieces than libevent 2.1
 * does: its evbuffer_read moves at most 4 KiB per call (256 system calls
 * and callbacks for 1 MiB; evbuffer_set_max_read came in 2.2).  Used by
 * rcfsd's connections (src/net/conn.c), the S3 gateway's (src/s3/s3.c),
 * the CLI (client/client.c) and rcfs-load. */
#ifndef RCFS_EVREAD_H
#define RCFS_EVREAD_H

#include <stddef.h>

struct evbuffer;

/* Read what fd has ready, up to max bytes, into in with one readv.  The
 * space reserved is what FIONREAD reports (at least 4 KiB), at most max.
 * Returns the bytes read, 0 at end of file, -1 with errno set (EAGAIN:
 * nothing now; ENOMEM: no space could be reserved). */
int evread(struct evbuffer *in, int fd, size_t max);

#endif
