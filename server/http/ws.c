/* YMSG over WebSocket; see ws.h.
 *
 * Plumbing of one session:
 *   client socket (evhttp's bufferevent, taken over after the 101) <-> ws_core (wslay framing)
 *     <-> pair[1] (ours) == bufferevent pair == pair[0] <-> struct conn (the pager, via conn_adopt)
 * Client messages are written into pair[1] and read by the pager from pair[0] as if from TCP; the
 * pager's packets arrive in pair[1]'s input and leave as binary messages of whole packets.  When the
 * socket backs up we stop reading pair[1], so the pager's own out_cap sees the backlog and drops a
 * reader that never reads exactly as on TCP.  The pager tells us it freed the connection through
 * conn->on_free; a socket that ends first closes the connection with conn_close(). */
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <wslay/wslay.h>

#include "config.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "server.h"

#define WS_SOCK_HIWAT 65536u   /* socket output above this: stop taking packets from the pager */
#define WS_CLOSE_WAIT 10       /* seconds a closing socket gets to flush */

/* ---- one session on the event loop ---------------------------------------------------------- */

struct ws_sess {
    struct server *srv;                /* config */
    struct evhttp_connection *evcon;   /* evhttp's connection (owns sock); freed by us */
    struct bufferevent *sock;          /* the client's socket (plain or TLS) */
    struct bufferevent *pair[2];       /* [0] the pager's side (owned by conn), [1] ours */
    struct conn *c;                    /* the pager connection, NULL once it was freed */
    struct ws_core *core;              /* framing */
    struct event *reap;                /* frees this session outside the callbacks */
    struct event *start;               /* sets the socket up again once evhttp's callback has returned */
    int closing;                       /* no more input; free once the socket output is flushed */
    int sock_dead;                     /* the socket failed or hung up: do not write */
    int destroying;                    /* ws_sess_destroy is freeing evcon: ignore its close callback */
    char peer[64];                     /* "addr:port" for logs */
};

static void ws_sess_destroy(struct ws_sess *s)
{
    if (s->c) {
        /* Still attached: the pager frees c later and must not call back into freed memory. */
        s->c->on_free = NULL;
        conn_close(s->c, 0, "websocket gone");
        s->c = NULL;
    }
    if (s->pair[1]) bufferevent_free(s->pair[1]);
    if (s->pair[0]) bufferevent_free(s->pair[0]); /* only when conn_adopt refused it */
    ws_core_free(s->core);
    s->destroying = 1;
    if (s->evcon) evhttp_connection_free(s->evcon); /* frees sock and the upgrade request */
    if (s->reap) event_free(s->reap);
    if (s->start) event_free(s->start);
    free(s);
}

static void ws_reap_cb(evutil_socket_t fd, short what, void *arg) { ws_sess_destroy(arg); }

static void ws_sess_reap(struct ws_sess *s)
{
    if (s->sock) bufferevent_disable(s->sock, EV_READ | EV_WRITE);
    if (s->pair[1]) bufferevent_disable(s->pair[1], EV_READ | EV_WRITE);
    event_active(s->reap, EV_TIMEOUT, 0);
}

/* Frames produced by the core go to the socket; a session that has sent its close ends once they
 * are written. */
static void ws_flush(struct ws_sess *s)
{
    if (s->sock_dead) return;
    struct evbuffer *o = ws_core_out(s->core);
    if (evbuffer_get_length(o)) bufferevent_write_buffer(s->sock, o);
    if (ws_core_close_sent(s->core) && !s->closing) {
        s->closing = 1;
        bufferevent_disable(s->sock, EV_READ);
        struct timeval tv = {WS_CLOSE_WAIT, 0};
        bufferevent_set_timeouts(s->sock, NULL, &tv);
        if (s->c) conn_close(s->c, 1, "websocket closed");
    }
    if (s->closing && evbuffer_get_length(bufferevent_get_output(s->sock)) == 0) ws_sess_reap(s);
}

/* Whole packets from the pager, one binary message per batch. */
static void ws_pager_out(struct ws_sess *s)
{
    struct evbuffer *in = bufferevent_get_input(s->pair[1]);
    size_t len = evbuffer_get_length(in), whole = 0;
    const uint8_t *p = len ? evbuffer_pullup(in, -1) : NULL;
    while (whole + YMSG_HEADER_LEN <= len) {
        size_t body = (size_t)p[whole + 8] << 8 | p[whole + 9];
        if (whole + YMSG_HEADER_LEN + body > len) break;
        whole += YMSG_HEADER_LEN + body;
    }
    if (!whole) return;
    if (!s->closing && !s->sock_dead && ws_core_send(s->core, p, whole) != 0)
        log_event(LOG_WARN, s->peer, NULL, "ws_send_failed", (long)whole, NULL);
    evbuffer_drain(in, whole);
    ws_flush(s);
    if (!s->sock_dead && evbuffer_get_length(bufferevent_get_output(s->sock)) > WS_SOCK_HIWAT)
        bufferevent_disable(s->pair[1], EV_READ); /* backlog stays with the pager (out_cap) */
}

static void ws_pair_read_cb(struct bufferevent *bev, void *arg) { ws_pager_out(arg); }

static void ws_deliver(void *arg, const uint8_t *p, size_t n)
{
    struct ws_sess *s = arg;
    if (s->c && s->pair[1]) bufferevent_write(s->pair[1], p, n);
}

static void ws_sock_read_cb(struct bufferevent *bev, void *arg)
{
    struct ws_sess *s = arg;
    if (s->closing) {
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        return;
    }
    int rc = ws_core_feed(s->core, bufferevent_get_input(bev));
    if (rc < 0 && ws_core_close_code(s->core) >= 1002)
        log_event(LOG_INFO, s->peer, s->c && s->c->user[0] ? s->c->user : NULL, "ws_close", ws_core_close_code(s->core),
                  "refused client input");
    ws_flush(s);
}

static void ws_sock_write_cb(struct bufferevent *bev, void *arg)
{
    struct ws_sess *s = arg;
    if (s->closing) {
        ws_flush(s);
        return;
    }
    /* drained below the low watermark: take packets from the pager again */
    if (s->pair[1]) {
        bufferevent_enable(s->pair[1], EV_READ);
        ws_pager_out(s);
    }
}

static void ws_sock_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct ws_sess *s = arg;
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && !s->closing) {
        /* evhttp's idle timeout on the socket it gave up: the pager's own idle timeout applies */
        struct timeval wt = {s->srv->cfg->http_timeout, 0};
        bufferevent_set_timeouts(bev, NULL, &wt);
        bufferevent_enable(bev, EV_READ);
        return;
    }
    s->sock_dead = 1;
    log_event(LOG_DEBUG, s->peer, s->c && s->c->user[0] ? s->c->user : NULL, "ws_disconnect", what,
              (what & BEV_EVENT_TIMEOUT) ? "timeout" : (what & BEV_EVENT_EOF) ? "eof" : "error");
    if (s->c) {
        struct conn *c = s->c;
        conn_close(c, 0, "websocket disconnected"); /* on_free follows from the reaper */
    }
    ws_sess_reap(s);
}

/* The pager freed its connection (logoff, kick, timeout, slow reader, shutdown): send what it left,
 * then a close frame. */
static void ws_on_conn_free(void *arg)
{
    struct ws_sess *s = arg;
    s->c = NULL;
    s->pair[0] = NULL; /* freed by the pager right after this */
    if (s->pair[1]) {
        bufferevent_enable(s->pair[1], EV_READ);
        ws_pager_out(s);
    }
    if (!s->sock_dead) {
        ws_core_close(s->core, s->srv->stopping ? WSLAY_CODE_GOING_AWAY : WSLAY_CODE_NORMAL_CLOSURE, "session ended");
        ws_flush(s);
    } else {
        ws_sess_reap(s);
    }
}

/* evhttp frees the connection itself (server shutdown): nothing of ours may touch it afterwards. */
static void ws_evcon_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct ws_sess *s = arg;
    if (s->destroying) return;
    s->evcon = NULL;
    s->sock = NULL;
    s->sock_dead = 1;
    ws_sess_destroy(s); /* detaches from the connection, if it is still there */
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

/* evhttp re-arms its idle timeout on the socket after the request callback returns: the session's
 * own settings go on from the loop, once evhttp is out of the way. */
static void ws_socket_setup(struct ws_sess *s)
{
    if (s->sock_dead || !s->sock) return;
    struct timeval wt = {s->srv->cfg->http_timeout, 0};
    bufferevent_setcb(s->sock, ws_sock_read_cb, ws_sock_write_cb, ws_sock_event_cb, s);
    bufferevent_set_timeouts(s->sock, NULL, &wt); /* no read timeout: the pager's idle timeout rules */
    bufferevent_enable(s->sock, EV_READ | EV_WRITE);
}

static void ws_start_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ws_sess *s = arg;
    ws_socket_setup(s);
    if (!s->sock_dead && s->sock && evbuffer_get_length(bufferevent_get_input(s->sock)))
        ws_sock_read_cb(s->sock, s);
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
    struct ws_sess *s = calloc(1, sizeof *s);
    struct ws_limits lim = {(size_t)srv->cfg->ws_max_frame, (size_t)srv->cfg->ws_max_message};
    if (!s || !(s->core = ws_core_new(&lim, ws_deliver, s)) ||
        !(s->reap = event_new(srv->base, -1, 0, ws_reap_cb, s)) ||
        !(s->start = event_new(srv->base, -1, 0, ws_start_cb, s)) ||
        bufferevent_pair_new(srv->base, 0, s->pair) != 0) {
        if (s) {
            ws_core_free(s->core);
            if (s->reap) event_free(s->reap);
            if (s->start) event_free(s->start);
            free(s);
        }
        ws_reply_error(req, 503, "out of memory");
        return;
    }
    s->srv = srv;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    s->c = conn_adopt(srv, s->pair[0], addr, peer);
    if (!s->c) {
        ws_sess_destroy(s); /* frees both ends of the pair */
        ws_reply_error(req, 503, "too many connections");
        return;
    }
    s->c->on_free = ws_on_conn_free;
    s->c->on_free_arg = s;
    s->pair[0] = NULL; /* the connection owns it now */
    /* Take the socket over from evhttp: from here on its bytes are WebSocket frames. */
    if (http_takeover(srv->http, req, ws_evcon_close_cb, s) < 0) {
        ws_sess_destroy(s);
        ws_reply_error(req, 503, "connection not upgradable");
        return;
    }
    s->evcon = evcon;
    s->sock = evhttp_connection_get_bufferevent(evcon);
    bufferevent_setcb(s->sock, ws_sock_read_cb, ws_sock_write_cb, ws_sock_event_cb, s);
    bufferevent_setcb(s->pair[1], ws_pair_read_cb, NULL, NULL, s);
    bufferevent_setwatermark(s->sock, EV_WRITE, WS_SOCK_HIWAT / 4, 0);
    /* The pager's own login/idle timeouts run on its side; the socket only needs a write timeout. */
    struct timeval wt = {srv->cfg->http_timeout, 0};
    bufferevent_set_timeouts(s->sock, NULL, &wt);
    bufferevent_enable(s->pair[1], EV_READ | EV_WRITE);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: ymsg\r\n\r\n", accept);
    bufferevent_write(s->sock, resp, (size_t)n);
    bufferevent_enable(s->sock, EV_READ | EV_WRITE);
    log_event(LOG_DEBUG, peer, NULL, "ws_open", 0, NULL);
    /* Bytes the client sent right behind its request are already buffered; they are read there. */
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
