/* The session registry: who is logged in, and each session's packet budget.
 *
 * Handlers ask here "is user X online, and which session is it?" instead of reaching into the
 * connection code; a cluster would answer from its directory instead (issue 16).  The registry holds
 * sessions in state CONN_ONLINE only; a connection enters at login and leaves when it goes off line. */
#ifndef YMSGD_SESSIONS_H
#define YMSGD_SESSIONS_H

#include "server.h"

/* The online session of user, or NULL: a local one (any transport) or, in a cluster, another node's
 * (c->remote: the mirror the cluster keeps; its transport publishes to that node). */
struct conn *sessions_get(struct server *srv, const char *user);
/* Only a session of this node, or NULL. */
struct conn *sessions_local(struct server *srv, const char *user);
/* Registers c (logged in as c->user), replacing any entry for that user.  0, or -1 when out of memory
 * (logged). */
int sessions_add(struct server *srv, struct conn *c);
/* Unregisters c if it is the session registered for its user (another node's: the mirror forgets it). */
void sessions_del(struct server *srv, struct conn *c);
/* What others may see of user's local session changed (status, visibility lists, login): the cluster
 * republishes its record.  Called by the presence fan-out before it sends anything. */
void sessions_changed(struct server *srv, const char *user);

/* 1 when user is online and has sent `to` an IM in this session (it revealed itself by talking). */
int sessions_heard_from(struct server *srv, const char *user, const char *to);

/* Per-session flood control: a token bucket refilled at session_rate up to session_burst. */
/* Starts c's bucket full (at login). */
void sessions_fill_bucket(struct conn *c);
/* Takes the token one packet costs: 1, or 0 when the bucket is empty (the packet is dropped). */
int sessions_take_token(struct conn *c);
/* Takes n more tokens (work a packet buys beyond its own token, e.g. the ids of a stealth packet).
 * Returns 1, or 0 (nothing taken) when the bucket holds fewer than n. */
int sessions_charge(struct conn *c, unsigned n);

/* A store job for c is in flight (store_async.h): c's next packets wait (each session's packets are
 * handled in order) and c is not freed, so the job's callback may look at it (it checks c->state: a
 * session that closed meanwhile is not touched).  Every hold is ended by one sessions_release. */
void sessions_hold(struct conn *c);
/* The job's callback is done with c: the waiting input runs on the reaper's next turn (never inside
 * the callback: it may run inside another handler), and a connection that ended meanwhile is freed. */
void sessions_release(struct conn *c);

#endif
