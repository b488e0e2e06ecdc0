/* YMSG listener and the connection state machine (enum conn_state in server.h): accepting with
 * limits, framing input through libymsg's decoder, dispatching by state and service, queueing output
 * with a cap, and the deferred free of closed connections. */
#ifndef YMSGD_CONN_H
#define YMSGD_CONN_H

#include "server.h"

int conn_listen(struct server *srv, char *err, size_t errlen);
/* Stops accepting (shutdown). */
void conn_stop_listening(struct server *srv);

/* Output: every packet is built in one shared builder (the loop is single-threaded and a packet is
 * queued before the next one is begun).  pkt_begin() returns that builder with the header started
 * for c (its session id); pkt_send() queues the packet.  Returns 0, or -1 when c is gone or was just
 * dropped for exceeding out_cap. */
struct ymsg_builder *pkt_begin(struct conn *c, uint16_t service, uint32_t status);
int pkt_send(struct conn *c);
/* pkt_send() for the server's own paged backlog (offline.h), which bounds itself: not counted against
 * out_cap, so a client is never dropped as a slow reader for what the server chose to queue. */
int pkt_send_own(struct conn *c);
/* Body bytes of the packet being built (to split long replies at ~1 KB). */
size_t pkt_body_len(void);

/* Ends a connection.  flush = 1: stop reading, send what is queued, then close (kicks, login
 * failures, client sign-off).  flush = 0: close now.  Logged-in sessions go offline first (presence
 * fan-out).  The memory is freed later by the reaper, never inside a callback, so callers may keep
 * using c until they return. */
void conn_close(struct conn *c, int flush, const char *why);
/* Frees every connection (shutdown). */
void conn_close_all(struct server *srv);
/* Called by the login module once c is authenticated: switches timeouts to the idle timeout. */
void conn_set_online_timeouts(struct conn *c);

/* Takes n more tokens from c's packet bucket (work a packet buys beyond its own token, e.g. the ids of
 * a stealth packet).  Returns 1, or 0 (nothing taken) when the bucket holds fewer than n. */
int conn_charge(struct conn *c, unsigned n);

/* The online session of user, or NULL. */
struct conn *online_get(struct server *srv, const char *user);

#endif
