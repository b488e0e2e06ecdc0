/* Delivery: "send this packet to session X", below every handler.
 *
 * Handlers build packets here and hand them over; they never touch sockets or the connection code.
 * A packet goes out through the session's transport (struct transport in server.h: the TCP code
 * implements it today; a WebSocket or another node tomorrow).  Whether a user is online at all is
 * the session registry's question (sessions.h); what to do for an offline user (the box) is the
 * handler's.
 *
 * Output is bounded per session by out_cap.  A session whose queued output passes it is a slow
 * reader: it is only marked here, and closed later by the reaper, never inside the fan-out that
 * was writing to it (the close itself fans out "went offline").  The server's own paged backlog
 * (offline.h) is not counted against it.
 *
 * Every packet is built in one shared builder (the loop is single-threaded and a packet is handed
 * over before the next one is begun). */
#ifndef YMSGD_DELIVERY_H
#define YMSGD_DELIVERY_H

#include "server.h"

#define DELIVERY_SPLIT 900 /* body bytes after which a long reply continues in another packet (~1 KB) */

/* Begins a packet for c (its session id, its protocol version) in the shared builder. */
struct ymsg_builder *delivery_begin(struct conn *c, uint16_t service, uint32_t status);
/* Hands the packet over to c's transport.  0, or -1 when c is gone, marked slow, or the write failed. */
int delivery_send(struct conn *c);
/* delivery_send() for the server's own paged backlog, which bounds itself: not counted against out_cap. */
int delivery_send_own(struct conn *c);
/* Body bytes of the packet being built. */
size_t delivery_body_len(void);

/* Long replies ("split, then status 5"): 1 when the packet being built passed DELIVERY_SPLIT. */
int delivery_full(void);
/* Sends the packet being built with status 5 (more follow) and begins the next one with the same
 * service and status.  NULL when c is gone (stop sending). */
struct ymsg_builder *delivery_continue(struct conn *c, struct ymsg_builder *b);

/* The server's ping packet (0x12: 143=60 144=1): after login and as the answer to a client's ping. */
void delivery_ping(struct conn *c);

/* Ends c's session through its transport: flush = 1 sends what is queued first.  See conn_close(). */
void delivery_close(struct conn *c, int flush, const char *why);
/* Closes the sessions marked as slow readers (called by the reaper, outside any fan-out). */
void delivery_close_slow(struct server *srv);

#endif
