/* YMSG over WebSocket; see ws.h.
 *
 * One session is one allocation: struct ws_sess starts with the pager's struct conn (conn_new() sizes
 * it), and its struct transport below frames packets straight onto the client's socket, the
 * bufferevent evhttp read the upgrade request from (taken over with http_takeover()).  Client
 * messages go through ws_core (wslay) into conn_input(), exactly the bytes a TCP client would send.
 * Two owners decide when the memory goes: the pager (until it calls the transport's release from
 * its reaper) and the socket (until it is closed, failed, or its close frame is written). */
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <wslay/wslay.h>

#include "config.h"
#include "conn.h"
#include "http.h"
#include "linger.h"
#include "log.h"
#include "server.h"

#define WS_CLOSE_WAIT 10       /* seconds a closing socket gets to flush */

/* ---- one session on the event loop ---------------------------------------------------------- */

struct ws_sess {
    struct conn c;                     /* the pager connection (first: conn_new allocates the session) */
    struct ws_core *core;              /* framing */
    struct evhttp_connection *evcon;   /* evhttp's connection while it owns sock (TLS), else NULL */
    struct bufferevent *sock;          /* the client's socket (ours, or evhttp's TLS one), NULL once gone */
    struct evbuffer *in;               /* a partial YMSG packet left by the last message, or NULL */
    struct event *start;               /* one-shot: takes the socket once evhttp's callback returned */
    uint8_t released;                  /* the pager let go of c (transport release) */
    uint8_t sock_done;                 /* the socket hung up, failed, timed out, or went with evhttp */
    uint8_t closing;                   /* our close frame is queued: free once it is written */
};

static struct evbuffer *ws_scratch; /* message bytes go through here when no partial packet waits */
static size_t ws_lingering;         /* sessions the pager released whose socket is still flushing */

size_t ws_flushing(void) { return ws_lingering; }

static void ws_destroy(struct ws_sess *s)
{
    if (s->released) ws_lingering--;
    ws_core_free(s->core);
    if (s->in) evbuffer_free(s->in);
    if (s->start) event_free(s->start);
    struct evhttp_connection *evcon = s->evcon;
    s->evcon = NULL; /* its close callback (below) ignores us from here on */
    if (evcon) {
        evhttp_connection_free(evcon); /* frees sock and the upgrade request (its close lingers: http.c) */
    } else if (s->sock) {
        /* the close frame is written: input still coming must not reset it away (linger.h) */
        linger_socket(s->c.srv, bufferevent_getfd(s->sock));
        bufferevent_free(s->sock);
    }
    free(s);
}

static const char *ws_user(const struct ws_sess *s)
{
    return !s->released && s->c.user[0] ? s->c.user : NULL;
}

/* The socket is finished: the pager is told (it releases c later from its reaper), or, when it
 * already has, the session goes now. */
static void ws_sock_gone(struct ws_sess *s, const char *why)
{
    s->sock_done = 1;
    if (s->sock) bufferevent_disable(s->sock, EV_READ | EV_WRITE);
    if (s->released) {
        ws_destroy(s);
        return;
    }
    if (s->c.state == CONN_ONLINE) log_event(LOG_INFO, s->c.peer, s->c.user, "disconnect", 0, "%s", why);
    else log_event(LOG_DEBUG, s->c.peer, ws_user(s), "disconnect", 0, "%s", why);
    conn_close(&s->c, 0, why);
}

/* A close frame went out (ours or wslay's answer to the client's): stop reading, end the pager
 * session, and let the socket go once the frame is written (or after WS_CLOSE_WAIT). */
static void ws_closing(struct ws_sess *s)
{
    if (s->closing || s->sock_done) return;
    s->closing = 1;
    bufferevent_disable(s->sock, EV_READ);
    struct timeval tv = {WS_CLOSE_WAIT, 0};
    bufferevent_set_timeouts(s->sock, NULL, &tv);
    if (!s->released) conn_close(&s->c, 1, "websocket closed");
}

/* ---- the WebSocket transport (struct transport in server.h) --------------------------------- */

static int ws_tp_write(struct conn *c, const void *data, size_t len)
{
    struct ws_sess *s = (struct ws_sess *)c;
    if (s->sock_done || s->closing) return -1;
    return ws_core_send(s->core, data, len); /* one binary message per packet, onto the socket's output */
}

static size_t ws_tp_queued(const struct conn *c)
{
    const struct ws_sess *s = (const struct ws_sess *)c;
    return s->sock && !s->sock_done ? evbuffer_get_length(bufferevent_get_output(s->sock)) : 0;
}

static void ws_tp_close(struct conn *c, int flush, const char *why)
{
    /* No bufferevent of the pager's: conn_close() ends the session at once; the queued frames and
     * then a close frame still go out when the reaper releases it (ws_tp_release). */
    conn_close(c, flush, why);
}

static void ws_tp_online(struct conn *c)
{
    struct ws_sess *s = (struct ws_sess *)c;
    struct timeval tv = {c->srv->cfg->idle_timeout, 0};
    if (s->sock && !s->sock_done) bufferevent_set_timeouts(s->sock, &tv, NULL);
}

static const char *ws_tp_peer(const struct conn *c) { return c->peer; }

/* The pager is done with c (logoff, kick, timeout, slow reader, shutdown): what it queued is on the
 * socket already; a close frame follows, unless the reader was too slow (abortive close, as on TCP)
 * or the socket is gone. */
static void ws_tp_release(struct conn *c)
{
    struct ws_sess *s = (struct ws_sess *)c;
    s->released = 1;
    ws_lingering++;
    if (s->sock_done || !s->sock) {
        ws_destroy(s);
        return;
    }
    if (c->slow) {
        struct linger lg = {1, 0};
        setsockopt(bufferevent_getfd(s->sock), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ws_destroy(s);
        return;
    }
    if (!s->closing) {
        ws_core_close(s->core, c->srv->stopping ? WSLAY_CODE_GOING_AWAY : WSLAY_CODE_NORMAL_CLOSURE,
                      "session ended");
        ws_closing(s);
    }
    /* Our own plain socket: one non-blocking write now, so the session usually goes at once.  When
     * the server stops (the loop is about to end) it goes whatever was written.  A TLS socket can only
     * be written by its bufferevent from the loop: the server's drain waits for it (ws_flushing()). */
    struct evbuffer *out = bufferevent_get_output(s->sock);
    if (!s->evcon && evbuffer_get_length(out)) {
        /* a socket bufferevent keeps the head of its output frozen between its own writes */
        evbuffer_unfreeze(out, 1);
        evbuffer_write(out, bufferevent_getfd(s->sock));
        evbuffer_freeze(out, 1);
    }
    if (evbuffer_get_length(out) == 0 || (c->srv->stopping && !s->evcon)) ws_destroy(s);
}

static const struct transport ws_transport = {ws_tp_write, ws_tp_queued, ws_tp_close, ws_tp_online, ws_tp_peer,
                                              ws_tp_release, "websocket"};

/* ---- socket callbacks ----------------------------------------------------------------------- */

/* One binary message from the client: more bytes of the pager stream. */
static void ws_deliver(void *arg, const uint8_t *p, size_t n)
{
    struct ws_sess *s = arg;
    if (s->released || s->c.state >= CONN_CLOSING) return;
    struct evbuffer *in = s->in ? s->in : ws_scratch;
    if (!in && !(in = ws_scratch = evbuffer_new())) {
        conn_close(&s->c, 0, "out of memory");
        return;
    }
    if (evbuffer_add(in, p, n) != 0) {
        conn_close(&s->c, 0, "out of memory");
        return;
    }
    conn_input(&s->c, in);
    size_t left = evbuffer_get_length(in);
    if (in == ws_scratch && left) {
        /* a packet split across messages: keep its head with the session */
        if (s->c.state < CONN_CLOSING && (s->in = evbuffer_new()) != NULL) evbuffer_add_buffer(s->in, in);
        else evbuffer_drain(in, left);
    } else if (in == s->in && !left) {
        evbuffer_free(s->in);
        s->in = NULL;
    }
}

/* The pager held this session's input for a store job (sessions_hold): what waited in s->in runs now. */
static void ws_resume(struct conn *c)
{
    ws_deliver((struct ws_sess *)c, (const uint8_t *)"", 0);
}

static void ws_sock_read_cb(struct bufferevent *bev, void *arg)
{
    struct ws_sess *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (s->closing || s->released || s->c.state >= CONN_CLOSING) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    int rc = ws_core_feed(s->core, in);
    if (rc < 0 && ws_core_close_code(s->core) >= 1002)
        log_event(LOG_INFO, s->c.peer, ws_user(s), "ws_close", ws_core_close_code(s->core), "refused client input");
    if (ws_core_close_sent(s->core)) ws_closing(s);
}

static void ws_sock_write_cb(struct bufferevent *bev, void *arg)
{
    struct ws_sess *s = arg;
    if (s->closing) {
        if (s->released) ws_destroy(s);
        return;
    }
    if (!s->released) conn_drained(&s->c); /* everything written: offline paging goes on */
}

static void ws_sock_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct ws_sess *s = arg;
    ws_sock_gone(s, (what & BEV_EVENT_TIMEOUT) ? "timeout" : (what & BEV_EVENT_EOF) ? "eof" : "error");
}

/* evhttp frees the connection itself (server shutdown): nothing of ours may touch it afterwards. */
static void ws_evcon_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct ws_sess *s = arg;
    if (!s->evcon) return; /* ws_destroy is freeing it */
    s->evcon = NULL;
    s->sock = NULL;
    if (!s->sock_done) ws_sock_gone(s, "server stopping");
}

static void ws_reply_error(struct evhttp_request *req, int code, const char *why)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (code == 426) {
        evhttp_add_header(h, "Sec-WebSocket-Version", "13");
        evhttp_add_header(h, "Upgrade", "websocket");
    }
    char body[128];
    int n = snprintf(body, sizeof body, "%s\n", why);
    http_reply(req, code, code == 426 ? "Upgrade Required" : code == 403 ? "Forbidden" : code == 405 ?
               "Method Not Allowed" : code == 503 ? "Service Unavailable" : "Bad Request",
               "text/plain; charset=utf-8", body, (size_t)n);
}

/* A plain socket leaves evhttp altogether: the descriptor moves to a bufferevent of our own and
 * evhttp's connection (its request, buffers and our HTTP guard's state: ~1.3 KiB a session) is
 * freed.  evhttp shuts the write side of its descriptor down when it frees a connection, so that
 * number first gets an unconnected socket of its own (dup2) while the client's socket lives on under
 * the duplicate.  TLS keeps evhttp's bufferevent: the TLS state lives in it.  Returns 0 when the
 * socket stays with evhttp (TLS, or no descriptor to spare): that works too, at the higher cost. */
static int ws_own_socket(struct ws_sess *s)
{
    if (bufferevent_openssl_get_ssl(s->sock)) return 0;
    evutil_socket_t fd = bufferevent_getfd(s->sock);
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    int spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct bufferevent *own = nfd >= 0 ? bufferevent_socket_new(s->c.srv->base, nfd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!own || spare < 0) {
        if (own) bufferevent_free(own);
        else if (nfd >= 0) close(nfd);
        if (spare >= 0) close(spare);
        return 0;
    }
    bufferevent_disable(s->sock, EV_READ | EV_WRITE); /* off the loop's poll set before the swap */
    if (dup2(spare, fd) < 0) {
        close(spare);
        bufferevent_free(own);
        return 0;
    }
    close(spare);
    /* the 101 (and anything the client sent behind its request) move along */
    evbuffer_add_buffer(bufferevent_get_output(own), bufferevent_get_output(s->sock));
    evbuffer_add_buffer(bufferevent_get_input(own), bufferevent_get_input(s->sock));
    struct evhttp_connection *evcon = s->evcon;
    s->evcon = NULL;
    s->sock = own;
    ws_core_set_out(s->core, bufferevent_get_output(own));
    evhttp_connection_free(evcon);
    return 1;
}

/* evhttp re-arms its idle timeout on the socket after the request callback returns: the session's
 * own callbacks and timeouts go on from the loop, once evhttp is out of the way. */
static void ws_start_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ws_sess *s = arg;
    event_free(s->start);
    s->start = NULL;
    if (s->sock_done || !s->sock || s->released) return;
    ws_own_socket(s);
    struct timeval tv = {s->c.srv->cfg->login_timeout, 0};
    bufferevent_setcb(s->sock, ws_sock_read_cb, ws_sock_write_cb, ws_sock_event_cb, s);
    bufferevent_setwatermark(s->sock, EV_WRITE, 0, 0);
    bufferevent_set_timeouts(s->sock, s->c.state == CONN_ONLINE ? NULL : &tv, NULL);
    bufferevent_enable(s->sock, EV_READ | EV_WRITE);
    /* Bytes the client sent right behind its request are already buffered. */
    if (evbuffer_get_length(bufferevent_get_input(s->sock))) ws_sock_read_cb(s->sock, s);
}

static void ws_handle(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct server *srv = arg;
    struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
    char addr[48], peer[64];
    http_peer_addr(req, addr, sizeof addr);
    struct ws_hs_in in = {
        .is_get = evhttp_request_get_command(req) == EVHTTP_REQ_GET,
        .http11 = req->major > 1 || (req->major == 1 && req->minor >= 1),
        .host = evhttp_find_header(ih, "Host"), .upgrade = evhttp_find_header(ih, "Upgrade"),
        .connection = evhttp_find_header(ih, "Connection"),
        .version = evhttp_find_header(ih, "Sec-WebSocket-Version"),
        .key = evhttp_find_header(ih, "Sec-WebSocket-Key"),
        .protocol = evhttp_find_header(ih, "Sec-WebSocket-Protocol"),
        .origin = evhttp_find_header(ih, "Origin"), .allow_origins = srv->cfg->ws_origins};
    char accept[29];
    const char *why = "";
    int code = ws_handshake(&in, accept, &why);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evcon, &host, &port);
    snprintf(peer, sizeof peer, "%s:%u", addr, (unsigned)port);
    if (code != 101) {
        log_event(LOG_INFO, peer, NULL, "ws_refused", code, "%s", why);
        ws_reply_error(req, code, why);
        return;
    }
    struct ws_sess *s = (struct ws_sess *)conn_new(srv, &ws_transport, sizeof *s, addr, peer);
    if (!s) {
        ws_reply_error(req, 503, "too many connections");
        return;
    }
    struct ws_limits lim = {(size_t)srv->cfg->ws_max_frame, (size_t)srv->cfg->ws_max_message};
    s->c.resume = ws_resume;
    s->sock_done = 1; /* until the socket is ours: a refusal below frees the session on release */
    if (!(s->core = ws_core_new(&lim, ws_deliver, s)) || !(s->start = event_new(srv->base, -1, 0, ws_start_cb, s))) {
        conn_close(&s->c, 0, "out of memory");
        ws_reply_error(req, 503, "out of memory");
        return;
    }
    /* Take the socket over from evhttp: from here on its bytes are WebSocket frames. */
    if (http_takeover(srv->http, req, ws_evcon_close_cb, s) < 0) {
        conn_close(&s->c, 0, "not upgradable");
        ws_reply_error(req, 503, "connection not upgradable");
        return;
    }
    s->evcon = evcon;
    s->sock = evhttp_connection_get_bufferevent(evcon);
    s->sock_done = 0;
    ws_core_set_out(s->core, bufferevent_get_output(s->sock));
    evhttp_clear_headers(ih); /* read; the request itself stays with evhttp until the socket goes */
    bufferevent_setcb(s->sock, ws_sock_read_cb, ws_sock_write_cb, ws_sock_event_cb, s);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: ymsg\r\n\r\n", accept);
    bufferevent_write(s->sock, resp, (size_t)n);
    log_event(LOG_DEBUG, peer, NULL, "ws_open", 0, NULL);
    event_active(s->start, EV_TIMEOUT, 0);
}

int ws_register(struct http_server *hs, struct server *srv, char *err, size_t errlen)
{
    if (http_register(hs, "/ymsg", ws_handle, srv) < 0) {
        snprintf(err, errlen, "ws: cannot register /ymsg");
        return -1;
    }
    return 0;
}
