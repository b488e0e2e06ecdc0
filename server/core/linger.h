/* Lingering close: a socket that ends after our last answer is shut for writing and what the peer still
 * sends is read and dropped for a while before the descriptor goes.  Closing a TCP socket with unread
 * input (or receiving input after the close) makes the kernel send a reset instead of a FIN; a reset
 * destroys what the peer has not read yet (Windows drops its receive buffer; Linux reports ECONNRESET
 * instead of the end of the stream, and our own unsent bytes are discarded).  Used by every path that ends a
 * connection after writing something: the pager (conn.c), the HTTP server (http.c), WebSocket (ws.c) and
 * the file-transfer relay (relay.c).
 *
 * Bounded: linger_ms from the start (however the peer trickles), linger_bytes read, linger_max sockets at
 * once (beyond that a socket closes at once, as without lingering).  A lingering socket holds no
 * connection slot (max_sessions, max_conns_per_addr, http_max_conns): only a descriptor and ~64 bytes. */
#ifndef YMSGD_LINGER_H
#define YMSGD_LINGER_H

#include <stddef.h>

struct server;

/* The socket behind fd lingers on srv's loop; the caller still owns fd and closes it as before (a
 * duplicate keeps the socket).  Nothing happens when lingering is off (linger_ms 0), the socket was set
 * for an abortive close (SO_LINGER 0: a slow reader's reset is meant), it is not connected, or
 * linger_max sockets linger already. */
void linger_socket(struct server *srv, int fd);

/* Sockets lingering now. */
size_t linger_count(void);

/* Closes every lingering socket (the loop has ended): what has arrived is read first, so only input after
 * that moment can still turn a close into a reset. */
void linger_free_all(void);

#endif
