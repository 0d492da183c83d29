/* The acknowledgement marker: a small file beside the node's AOF that
 * records how far this storage has gone: its incarnation, the number of
 * Raft-state groups redis has stored (raftlog_writes), and for the log
 * lines and the repair its term, vote and last log index.  A load that finds
 * the Raft state behind its marker knows the AOF lost a tail it had fsynced
 * and acknowledged (a `redis-check-aof
 * --fix`, a truncated copy, a disk that dropped writes to one file), which
 * the log alone cannot show: a clean prefix of a history looks like a node
 * that crashed earlier.  docs/raft.md, "The acknowledgement marker".
 *
 * The file is written and fdatasync'ed by one helper thread, so the reactor
 * never blocks on the disk.  The driver writes a state only once redis holds
 * it, so the marker is never ahead of an intact storage, and does not wait
 * for it before it acknowledges: the marker trails by up to 25 ms (one
 * write to the page cache at most every ACKMARK_WRITE_MS), and by up to a
 * second after a power cut (docs/raft.md says what that leaves undetected).  Two
 * 512-byte slots are written in turn, each with a sequence number and a
 * BLAKE2b-128 checksum, so a torn write leaves the previous one readable. */
#ifndef RCFS_ACKMARK_H
#define RCFS_ACKMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct ackmark;

/* What the marker records (all as the Raft core means them). */
struct ackmark_state {
	uint64_t incarnation;   /* of the storage (docs/raft.md, "Incarnations") */
	uint64_t writes;        /* Raft-state groups stored (raftlog_writes) */
	uint64_t term, vote;    /* hard state */
	uint64_t last_index;    /* last log entry held (or the snapshot's index) */
};

/* Open (creating, mode 0600) the marker at `path` and start its writer
 * thread, which first fsyncs the directory.  NULL on failure, with the cause
 * in err[0..errlen-1]. */
struct ackmark *ackmark_open(struct event_base *base, const char *path, char *err, size_t errlen);
/* Run every callback still waiting now, with ECANCELED (am may be NULL). */
void ackmark_cancel(struct ackmark *am);
/* Stop the thread once the newest state passed to ackmark_write() is on
 * disk (a clean stop leaves the marker complete) and close the file;
 * callbacks still waiting are dropped unrun (ackmark_cancel first). */
void ackmark_free(struct ackmark *am);
const char *ackmark_path(const struct ackmark *am);

/* The marker as last written: 1 and *out, 0 if the file holds none (new, or
 * empty), -1 if it holds something but no slot passes its checksum (why in
 * why[0..whylen-1]).  Reads the file (1 KiB) on the calling thread. */
int ackmark_read(struct ackmark *am, struct ackmark_state *out, char *why, size_t whylen);

/* Called on the loop once the marker holding what was passed to
 * ackmark_write() is durable (code 0), or with an errno when writing it
 * failed. */
typedef void ackmark_cb(void *arg, int code);
/* Make *s the marker: written to the file at once (the page cache: a crash
 * of this process loses nothing), fdatasync'ed within a second.  With cb,
 * the sync comes at once, and cb(arg, 0) runs from the loop, in call order,
 * once it (or a later state) is on disk; never from within this call.  A
 * state equal to the last one written is not written again. */
void ackmark_write(struct ackmark *am, const struct ackmark_state *s, ackmark_cb *cb, void *arg);
/* cb(arg, errno) from the loop when a write or sync fails (the next
 * ackmark_write() tries again). */
void ackmark_on_error(struct ackmark *am, ackmark_cb *cb, void *arg);

/* Whether the storage described by `stored` holds everything the marker
 * `marked` says was stored: the same incarnation and at least as many
 * groups written (a count, not the log's position: a follower's last term
 * may go down when a leader replaces its tail, and a snapshot install may
 * shorten its log).  false, with the difference in why[0..whylen-1], if not. */
bool ackmark_covers(const struct ackmark_state *stored, const struct ackmark_state *marked, char *why,
    size_t whylen);

#endif
