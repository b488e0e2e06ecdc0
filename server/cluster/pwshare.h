/* What server/cluster shares besides sessions and packets, and the few cluster.c functions it uses
 * (internal to server/cluster):
 *  - pwshare.c: the password verification cache's copy in Redis (pwcache.h's struct pwcache_remote):
 *    one key ymsg:pwc:<hex MAC> per entry with the cache's ttl, so a user reconnecting to ANOTHER
 *    node, or to any node after the whole cluster restarted, skips the hash too;
 *  - gwshare.c: the AMF gateway's logged-in sessions (G frames on ymsg:all), valid on every node;
 *  - loginshare.c: the HTTP token login's crumbs and cookies (L/F frames on ymsg:all). */
#ifndef YMSGD_CLUSTER_PWSHARE_H
#define YMSGD_CLUSTER_PWSHARE_H

#include <stddef.h>

#include <hiredis/async.h>

struct cluster;
struct pwcache_remote;

/* cluster.c: a command on the node's publishing connection, pipelined.  0 sent (cb runs later, with a
 * NULL reply when the connection goes first; it must call cl_reply_seen), -1 not connected now. */
int cl_send(struct cluster *cl, redisCallbackFn *cb, void *arg, int argc, const char **argv, const size_t *lens);
/* A reply (or its loss) to a cl_send command came back. */
void cl_reply_seen(redisAsyncContext *ac);

/* cluster.c: queues f for every other node (ymsg:all, batched with this turn's frames). */
struct wire_frame;
void cl_queue_all(struct cluster *cl, const struct wire_frame *f);
/* cluster.c: the attached gateway (NULL when none). */
const struct cluster_gw *cl_gw_of(struct cluster *cl);
/* gwshare.c: a G frame from another node, for gw. */
void cl_gw_frame(const struct cluster_gw *gw, const struct wire_frame *f);

/* loginshare.c: auth's share hooks (arg is the cluster): an HTTP login issued here, and one used. */
struct auth_login;
void cl_share_issued(void *arg, const struct auth_login *l, double ttl);
void cl_share_used(void *arg, const char *user, const char *y, int spent);

/* groups.c: conferences and chat rooms replicated on every node (server.h struct group_hooks).  attach:
 * srv->groups set (0, or -1 out of memory); detach: unset; frame: a C or R frame from node; node_lost:
 * user's node died (before its mirror goes: the members that may see it hear it leave). */
struct server;
int cl_groups_attach(struct cluster *cl, struct server *srv, const char *node);
void cl_groups_detach(struct server *srv);
void cl_groups_frame(struct server *srv, const char *node, const struct wire_frame *f);
void cl_groups_node_lost(struct server *srv, const char *user);
void cl_groups_announce(struct server *srv); /* a node seen for the first time: our part of the groups */
void cl_groups_rejoin(struct server *srv);   /* this node was declared dead and is back: our members rejoin */

/* pwshare.c: the remote for cl (free() it after the connections are freed), or NULL (out of memory). */
struct pwcache_remote *cl_pwc_new(struct cluster *cl);

#endif
