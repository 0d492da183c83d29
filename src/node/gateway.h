/* The node's S3 gateway (s3/s3.h) wired to the node: its calls are served
 * by this node's handlers (node/service.h) or, for what only the leader
 * serves (commits, removes, linearizable reads), forwarded to the leader
 * over the peer link; its SigV4 secrets come from the node's API keys. */
#ifndef RCFS_GATEWAY_H
#define RCFS_GATEWAY_H

#include <stddef.h>

struct node;
struct gateway;

/* Start the gateway on cfg->s3_listen, and the JSON API on http (the
 * node's HTTP endpoint; NULL: none).  NULL when there is neither, with
 * err[0] = '\0'; NULL with one line in err[errlen] on failure. */
struct http_server;
struct gateway *gateway_new(struct node *n, struct http_server *http, char *err, size_t errlen);
/* Before the node is freed: from now on every call fails at once
 * (E_UNAVAILABLE) and none is forwarded, so the answers the node gives
 * while it frees itself never reach a consensus or members already gone.
 * NULL is fine. */
void gateway_close(struct gateway *g);
/* After the node is freed. */
void gateway_free(struct gateway *g);

#endif
