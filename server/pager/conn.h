/* YMSG listener, the TCP transport and the connection state machine (enum conn_state in server.h):
 * accepting with limits, framing input through libymsg's decoder and handing each packet to the
 * dispatch table (dispatch.h), writing output for the delivery layer (delivery.h), and the reaper
 * (slow-reader closes and the deferred free of closed connections).  Only main.c and this folder's
 * connection code include this header: handlers use delivery.h and sessions.h. */
#ifndef YMSGD_CONN_H
#define YMSGD_CONN_H

#include "server.h"

struct evbuffer;

int conn_listen(struct server *srv, char *err, size_t errlen);
/* A new YMSG connection on transport tp (TCP here, WebSocket in server/http/ws.c): the admission limits
 * (max_sessions, per-address count and rate, pre-login eviction) and the state machine.  size is at
 * least sizeof(struct conn): a transport keeps its own state after struct conn in the same zeroed
 * allocation, and tp->release frees it.  Returns the connection (state CONN_NEW), or NULL when refused
 * (logged).  The transport runs the login timeout until tp->online. */
struct conn *conn_new(struct server *srv, const struct transport *tp, size_t size, const char *addr, const char *peer);
/* Frames the YMSG packets in `in` (the client's bytes, in order) and dispatches them; drains what it used
 * and leaves a partial packet.  c may be dead on return (state >= CONN_CLOSING): read no more into it. */
void conn_input(struct conn *c, struct evbuffer *in);
/* The transport's output is fully written: pages on offline messages, ends a flushing close. */
void conn_drained(struct conn *c);
/* Stops accepting (shutdown). */
void conn_stop_listening(struct server *srv);

/* Ends a connection.  flush = 1: stop reading, send what is queued, then close (kicks, login
 * failures, client sign-off).  flush = 0: close now.  Logged-in sessions go offline first (presence
 * fan-out).  The memory is freed later by the reaper, never inside a callback, so callers may keep
 * using c until they return. */
void conn_close(struct conn *c, int flush, const char *why);
/* Frees every connection (shutdown). */
void conn_close_all(struct server *srv);
/* Frees the connections whose store jobs finished since (shutdown, after store_async_free). */
void conn_reap(struct server *srv);
/* The TCP transport's `online` operation: switches c's timeouts to the idle timeout. */
void conn_set_online_timeouts(struct conn *c);

#endif
