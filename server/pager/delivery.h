/* Delivery: "send this packet to session X", below every handler.
 *
 * Handlers build packets here and hand them over; they never touch sockets or the connection code.
 * A packet goes out through the session's transport (struct transport in server.h: the TCP code
 * implements it today; a WebSocket or another node tomorrow).  "Send this to user X" is answered here
 * too (delivery_to_user, delivery_to_box): X's session wherever it is, else the offline store, so
 * handlers never ask where a user is; whether the sender may know X is online stays the handler's
 * policy (presence.h, im.h).
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
/* Hands packets already built for c (by another node, with c's header) to c's transport, counted
 * against out_cap like delivery_send(). */
int delivery_send_packet(struct conn *c, const void *pkt, size_t len);
/* Body bytes of the packet being built. */
size_t delivery_body_len(void);

/* Long replies ("split, then status 5"): 1 when the packet being built passed DELIVERY_SPLIT. */
int delivery_full(void);
/* Sends the packet being built with status 5 (more follow) and begins the next one with the same
 * service and status.  NULL when c is gone (stop sending). */
struct ymsg_builder *delivery_continue(struct conn *c, struct ymsg_builder *b);

/* The server's ping packet (0x12: 143=60 144=1): after login and as the answer to a client's ping. */
void delivery_ping(struct conn *c);

/* Fills the body of a packet begun for a recipient (handlers' keys; the header is delivery's). */
typedef void (*delivery_build_fn)(struct ymsg_builder *b, void *arg);

/* Results of delivery_to_user(). */
enum delivery_result {
    DELIVERY_SENT = 0,    /* handed to the recipient's session */
    DELIVERY_OFFLINE = 1, /* the user has no session: nothing built or sent */
    DELIVERY_IGNORED = 2, /* the recipient ignores the sender: nothing built or sent */
    DELIVERY_FAILED = -1, /* the session is gone, marked slow, or the write failed */
};

/* "Send this packet to user `to`": a packet (service, status) for to's session, wherever it is, filled
 * by build(b, arg).  from: the sender's id, or NULL; a recipient that ignores from gets nothing. */
int delivery_to_user(struct server *srv, const char *to, const char *from, uint16_t service, uint32_t status,
                     delivery_build_fn build, void *arg);

/* One message on the box path (im.h): whatever to's state, the same work in the same order.  If `to`
 * exists, the text goes into to's box (marked delivered when to is online or ignores the sender: such a
 * row keeps no text but counts towards the quotas); the recipient's packet (0x06, built by build) is
 * made either way and handed over only when to is online, not ignoring, and the row was stored.
 * The store work (user_exists, ignore_check, offline_deposit) runs on the store worker (store_async.h,
 * inline with SQLite); then, on the loop, done(arg, rc) with rc the store's code (STORE_OK, STORE_FULL,
 * ...) or STORE_NOTFOUND when `to` has no account, then build (unless STORE_NOTFOUND), then
 * release(arg).  0, or -1 when out of memory (nothing done, no callback called). */
struct delivery_box {
    const char *from;       /* sender id */
    const char *to;         /* recipient id */
    const uint8_t *text;    /* message text (key 14), not NUL-terminated */
    size_t text_len;        /* its bytes */
    int utf8;               /* key 97=1 */
};
typedef void (*delivery_box_done_fn)(void *arg, int rc);
int delivery_to_box(struct server *srv, const struct delivery_box *m, delivery_build_fn build,
                    delivery_box_done_fn done, void (*release)(void *arg), void *arg);

/* Ends c's session through its transport: flush = 1 sends what is queued first.  See conn_close(). */
void delivery_close(struct conn *c, int flush, const char *why);
/* Closes the sessions marked as slow readers (called by the reaper, outside any fan-out). */
void delivery_close_slow(struct server *srv);

#endif
