/* Time in the node: the SNTP sampler (optional: only with ntp_servers), the
 * hybrid logical clock, and peer clock offsets measured on Raft traffic.
 * Nothing here affects correctness: Raft runs on CLOCK_MONOTONIC; this only
 * stamps versions and reports skew (docs/clock.md, docs/design.md). */
#ifndef RCFS_TIMESYNC_H
#define RCFS_TIMESYNC_H

#include <stdint.h>

#include "proto/rcfs.pb-c.h"
#include "util/config.h"

struct event_base;
struct store;
struct timesync;

struct timesync *timesync_new(struct event_base *base, const struct rcfs_config *cfg,
    struct store *st);
void timesync_free(struct timesync *ts);
/* Storage is up: restore the HLC high-water mark (before anything is stamped). */
void timesync_storage_up(struct timesync *ts);
/* A new HLC timestamp for a local event (e.g. a commit). */
uint64_t timesync_hlc_now(struct timesync *ts);
/* Corrected wall time, ns since the epoch (system clock if no NTP). */
int64_t timesync_now_ns(struct timesync *ts);
/* Fill the clock fields of an outgoing Raft message to peer `to`. */
void timesync_on_send(struct timesync *ts, uint64_t to, Rcfs__RaftMessage *m);
/* A Raft message from peer `from` arrived: HLC receive rule, peer offset. */
void timesync_on_receive(struct timesync *ts, uint64_t from, const Rcfs__RaftMessage *m);
/* Clock fields of this node's status, and of a peer's entry. */
void timesync_status(struct timesync *ts, Rcfs__NodeStatus *s, char *source, size_t srclen);
void timesync_peer_status(struct timesync *ts, uint64_t id, Rcfs__NodeStatus *s);

#endif
