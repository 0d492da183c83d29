/* The parts of a node that its request handlers (node/service.h) and its
 * observer (node/observe.h) work with.  All borrowed from the node, which
 * outlives both. */
#ifndef RCFS_PARTS_H
#define RCFS_PARTS_H

struct event_base;
struct rcfs_config;
struct store;
struct consensus;
struct replicator;
struct timesync;
struct members;
struct rebalance;
struct gc;

struct node_parts {
	struct event_base *base;
	const struct rcfs_config *cfg;
	struct store *store;            /* this node's redis */
	struct consensus *consensus;    /* the Raft driver */
	struct replicator *replicator;  /* chunk placement and quorum I/O */
	struct timesync *timesync;      /* HLC, clock status */
	struct members *members;        /* the membership and the links to the members */
	struct rebalance *rebalance;    /* the mover (rebalance, drain) */
	struct repair *repair;          /* repair and scrub */
	struct gc *gc;                  /* chunk GC */
};

#endif
