/* Several ymsgd nodes as one server, through Redis (hiredis on the event loop; no extra thread).
 *
 * Directory: every node keeps, in the hash ymsg:dir:NODE, one record per session it holds (wire.h:
 * what can_see() and the presence packets read of a session), refreshed with the node's heartbeat
 * (ymsg:nodes, a sorted set of last-heartbeat times, and ymsg:node:NODE {addr, sessions, epoch, relay}); the
 * keys expire when the node stops refreshing them.  Every node mirrors the others' sessions in memory
 * (srv->remote: struct conn with c->remote set), kept current by the U/D frames each node broadcasts
 * on ymsg:all after every change, so handlers ask sessions_get() and get an answer without a round
 * trip, wherever the user is.
 *
 * Bus: one channel per node (ymsg:ch:NODE).  A packet for another node's session is built here
 * exactly as for a local one (the mirror holds its session id and version) and its transport queues
 * it as a P frame; frames for one node in one loop turn leave as one PUBLISH (pipelined, never a round
 * trip per message).  The receiving node hands the bytes to the session (delivery_send_packet).  One
 * publishing connection keeps every node's frames in the order they were made, across channels.
 *
 * Presence: every node tells its own watchers (pres_begin/pres_end see this node's sessions only, and
 * the watch index holds only them).  The node that holds a session tells its watchers there; every
 * other node, when the session's record comes (or the session leaves: D, K, a dead node), compares
 * what each of its watchers could see of it before with what they see now (can_see() reads the
 * mirror: the record carries all it needs) and sends the same packets as one node, so every rule of
 * can_see() holds and nothing crosses the bus per watcher.  The record's presence counter says
 * whether it brings a status change; records carry no watch list, so a node's memory grows with its
 * own sessions' lists only.  An authorisation answered here for another node's session goes to that
 * node as a W frame (it starts watching, and tells its session what it sees).
 * A node found dead (no heartbeat for cluster_node_timeout_ms) is dropped by each other node for its
 * own watchers: the same "went offline" a sign-off sends.  IMs that reach no live session (a PUBLISH
 * nobody received, a session gone meanwhile, Redis unreachable past cluster_queue_max) go to the
 * recipient's offline box.  When Redis comes back each node re-registers its sessions.
 *
 * No redis configured: nothing here runs and srv->hooks stays NULL. */
#ifndef YMSGD_CLUSTER_H
#define YMSGD_CLUSTER_H

#include <stddef.h>

#include "server.h"

/* Starts the cluster when cfg->redis is set (0 and nothing done otherwise).  Connects in the
 * background: Redis down at start is retried, not fatal.  -1 with a message in err on a bad setting. */
int cluster_start(struct server *srv, char *err, size_t errlen);
/* Publishes what is queued, leaves the directory and disconnects (waits at most 1 s). */
void cluster_stop(struct server *srv);

/* /capacity: the host of the advertise address of the live node with the fewest sessions (this one
 * included).  0 with host set, or -1 when there is no cluster. */
int cluster_capacity_host(struct server *srv, char *host, size_t cap);

/* The AMF gateway's logged-in sessions on every node (the gateway's side: gateway.h, struct gw_share).
 * glue.c attaches the gateway (NULL detaches; cluster_stop detaches too); nothing happens without a
 * cluster. */
struct cluster_gw {
    int (*import)(void *arg, const char *user, const char *cookie, const char *dsid, int bound);
    void (*end)(void *arg, const char *cookie);  /* logged out, revoked or rotated on another node */
    void (*used)(void *arg, const char *cookie); /* used on another node: it lives on here */
    void *arg;                                   /* their argument (the gateway) */
};
void cluster_gw_attach(struct server *srv, const struct cluster_gw *gw);
/* Tells every other node: op 0 = logged in as user (with dsid and bound), 1 = ended, 2 = used. */
void cluster_gw_publish(struct server *srv, const char *user, int op, const char *cookie, const char *dsid, int bound);

/* 1 when relay ("host:port") is the relay_host another live node publishes in its heartbeat hash
 * (field "relay"): the only addresses http/relay.c proxies a download to (never one a request names
 * freely: no SSRF).  0 otherwise, and without a cluster. */
int cluster_relay_live(struct server *srv, const char *relay);

#endif
