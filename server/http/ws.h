/* YMSG over WebSocket (RFC 6455, subprotocol "ymsg") at GET /ymsg on the HTTP and HTTPS listeners.
 * Binary messages carry the pager protocol's bytes: the client may split or join packets across
 * messages as on TCP; the server sends whole packets, one or more per message.  A WebSocket session
 * is an ordinary pager connection (conn_new()) with its own struct transport, so login, lists,
 * presence, limits and the duplicate-login kick are the TCP code's.
 * Framing is Debian's libwslay (a sans-IO frame codec); the handshake and the glue are here. */
#ifndef YMSGD_WS_H
#define YMSGD_WS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct http_server;
struct server;

/* Registers GET /ymsg.  Returns 0, or -1 (message in err). */
int ws_register(struct http_server *hs, struct server *srv, char *err, size_t errlen);
/* Sessions the pager has let go whose socket still writes its last frames (shutdown waits for them). */
size_t ws_flushing(void);

/* ---- pure parts (unit tests, fuzz harness) ------------------------------------------------- */

/* The upgrade request as evhttp parsed it; NULL for a missing header. */
struct ws_hs_in {
    int is_get;                /* method is GET */
    int http11;                /* HTTP/1.1 or later */
    const char *host;          /* Host */
    const char *upgrade;       /* Upgrade */
    const char *connection;    /* Connection */
    const char *version;       /* Sec-WebSocket-Version */
    const char *key;           /* Sec-WebSocket-Key */
    const char *protocol;      /* Sec-WebSocket-Protocol */
    const char *origin;        /* Origin */
    const char *allow_origins; /* --ws-origins: comma-separated origins or "*" ("" = same origin only) */
};
/* 101 when the upgrade is acceptable (accept = Sec-WebSocket-Accept, 28 chars + NUL), else the HTTP
 * status to answer (400 bad request, 403 origin refused, 426 not an upgrade / wrong version) with a
 * short reason in *why. */
int ws_handshake(const struct ws_hs_in *in, char accept[29], const char **why);

/* Caps of one session. */
struct ws_limits {
    size_t max_frame;          /* largest frame payload accepted (bytes) */
    size_t max_message;        /* largest message accepted, fragments joined (bytes) */
};

/* The framing of one session over wslay, without I/O: ws_core_feed() takes the client's bytes,
 * deliver() gets each binary message's payload, frames to send collect in ws_core_out(). */
struct ws_core;
typedef void (*ws_deliver_fn)(void *arg, const uint8_t *p, size_t n);
struct ws_core *ws_core_new(const struct ws_limits *lim, ws_deliver_fn deliver, void *arg);
void ws_core_free(struct ws_core *w);
/* Frames go straight into out (the socket's output buffer) instead of the core's own buffer. */
void ws_core_set_out(struct ws_core *w, struct evbuffer *out);
/* Frees the wslay contexts kept for reuse (shutdown; tests). */
void ws_core_pool_clear(void);
/* Consumes what it can of in (bytes from the client).  Returns 0, or -1 once the session is over
 * (a close was exchanged or a protocol error was answered with its close code). */
int ws_core_feed(struct ws_core *w, struct evbuffer *in);
/* Queues one binary message.  Returns 0, or -1 when closing or out of memory. */
int ws_core_send(struct ws_core *w, const uint8_t *p, size_t n);
/* Queues a close frame (once). */
void ws_core_close(struct ws_core *w, uint16_t code, const char *reason);
/* Frames produced so far (move them to the socket). */
struct evbuffer *ws_core_out(struct ws_core *w);
/* 1 once a close frame has been sent (nothing more will be). */
int ws_core_close_sent(const struct ws_core *w);
/* The close code sent (0 if none). */
uint16_t ws_core_close_code(const struct ws_core *w);

#endif
