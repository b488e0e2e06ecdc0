/* The cluster's settings as text: where Redis is (--redis) and what a node may be called (--node-name).
 * I/O-free, so the start-up checks are plain functions. */
#ifndef YMSGD_CLUSTER_ADDRESS_H
#define YMSGD_CLUSTER_ADDRESS_H

#include <stddef.h>

/* Where Redis listens: a unix socket path, or a host and port. */
struct cluster_addr {
    char host[256]; /* Redis host ("" = unix socket) */
    int port;       /* Redis port */
    char path[256]; /* Redis unix socket ("" = TCP) */
};

/* redis://HOST[:PORT] (port 6379 by default), unix:PATH, unix://PATH or /PATH into *a.  0, or -1 with a
 * message in err. */
int cluster_addr_parse(const char *url, struct cluster_addr *a, char *err, size_t errlen);
/* A node name: 1..WIRE_NODE_MAX printable ASCII characters, no spaces (it is part of Redis keys). */
int cluster_node_name_valid(const char *s);

#endif
