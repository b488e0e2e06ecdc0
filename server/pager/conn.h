/* YMSG listener, the TCP transport and the connection state machine (enum conn_state in server.h):
 * accepting with limits, framing input through libymsg's decoder and handing each packet to the
 * dispatch table (dispatch.h), writing output for the delivery layer (delivery.h), and the reaper
 * (slow-reader closes and the deferred free of closed connections).  Only main.c and this folder's
 * connection code include this header: handlers use delivery.h and sessions.h. */
#ifndef YMSGD_CONN_H
#define YMSGD_CONN_H

#include "server.h"

int conn_listen(struct server *srv, char *err, size_t errlen);
/* A YMSG connection over an already-connected byte stream bev (TCP accept, or the inner side of a
 * WebSocket: server/http/ws.c): the same admission limits, timeouts and state machine.  Returns the
 * connection (it owns bev from then on and frees it), or NULL when refused (bev is the caller's). */
struct conn *conn_adopt(struct server *srv, struct bufferevent *bev, const char *addr, const char *peer);
/* Stops accepting (shutdown). */
void conn_stop_listening(struct server *srv);

/* Ends a connection.  flush = 1: stop reading, send what is queued, then close (kicks, login
 * failures, client sign-off).  flush = 0: close now.  Logged-in sessions go offline first (presence
 * fan-out).  The memory is freed later by the reaper, never inside a callback, so callers may keep
 * using c until they return. */
void conn_close(struct conn *c, int flush, const char *why);
/* Frees every connection (shutdown). */
void conn_close_all(struct server *srv);
/* The TCP transport's `online` operation: switches c's timeouts to the idle timeout. */
void conn_set_online_timeouts(struct conn *c);

#endif
