/* The gateway behind ymsgd's evhttp front: request bytes and headers in, gateway_handle_async(), reply
 * out with a Content-Length (keep-alive friendly).  /crossdomain.xml is served from here too.
 *
 * A request whose login waits for a hash worker stays open in evhttp (which lets a handler reply
 * later) and is answered from the worker's completion.  If the client goes away meanwhile, evhttp
 * either frees the request together with the connection (then the gateway is told to drop its side,
 * whose body pointers died with it) or detaches it and keeps it alive (then replying frees it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "log.h"
#include "internal.h"

/* The first value of cookie `name` in a Cookie header ("a=1; YMSGAMF=abc; T=z=…") that is want bytes
 * long (0: of any length below cap), or "" (longer values are cut to cap-1 bytes, and then fail the
 * check they are for). */
static void cookie_named(const char *hdr, const char *name, size_t want, char *out, size_t cap)
{
    size_t nl = strlen(name);
    out[0] = 0;
    while (hdr && *hdr) {
        while (*hdr == ' ' || *hdr == ';' || *hdr == '\t') hdr++;
        size_t n = strcspn(hdr, ";");
        if (n > nl && !strncmp(hdr, name, nl) && hdr[nl] == '=') {
            size_t vl = n - nl - 1;
            while (vl && (hdr[nl + vl] == ' ' || hdr[nl + vl] == '\t')) vl--;
            if (!want || vl == want) {
                if (vl >= cap) vl = cap - 1;
                memcpy(out, hdr + nl + 1, vl);
                out[vl] = 0;
                return;
            }
        }
        hdr += n;
    }
}

static void free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

/* Sends a complete reply with a Content-Length.  owned: body was malloc()ed and is handed to the
 * output buffer (freed once written, no copy). */
static void send_reply(struct evhttp_request *req, int status, const char *reason, const char *ctype, const void *body,
                       size_t len, int owned)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        if (owned) free((void *)body);
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    int rc = 0;
    if (len && owned) {
        rc = evbuffer_add_reference(b, body, len, free_body, NULL);
        if (rc != 0) free((void *)body);
    } else {
        if (len) rc = evbuffer_add(b, body, len);
        if (owned) free((void *)body);
    }
    if (rc != 0) {
        evbuffer_free(b);
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    evhttp_send_reply(req, status, reason, b);
    evbuffer_free(b);
}

/* Status line, headers and body of a finished gateway reply. */
static void gateway_reply(struct evhttp_request *req, const char *peer, const char *path, struct gw_response *out)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    if (out->status == 405) evhttp_add_header(oh, "Allow", "POST");
    if (out->set_cookie[0]) {
        char sc[128];
        snprintf(sc, sizeof sc, "%s=%s; HttpOnly; Path=/", GW_COOKIE_NAME, out->set_cookie);
        evhttp_add_header(oh, "Set-Cookie", sc);
    }
    if (out->status != 200) log_event(LOG_INFO, peer, NULL, "amf_http_error", out->status, "%s", path);
    send_reply(req, out->status, out->reason, out->content_type, out->body, out->len, 1);
}

/* A request waiting for a password check. */
struct http_wait {
    struct http_server *hs;     /* the front (its guard tells us of the close) */
    struct evhttp_request *req; /* the evhttp request (alive until replied to, see on_conn_close) */
    struct gw_req *pend;        /* the gateway's side */
    int detached;               /* evhttp dropped the connection but kept the request: replying frees it */
    char peer[64];              /* client address (logs) */
    char path[16];              /* route (logs) */
};

/* The connection of a waiting request is closing (client gone, timeout, server shutdown). */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct http_wait *w = arg;
    if (evhttp_request_get_connection(w->req) == evcon) {
        /* The request is freed with the connection right after this: forget it. */
        gateway_pending_abandon(w->pend);
        free(w);
        return;
    }
    w->detached = 1;
}

static void on_gateway_done(void *arg, struct gw_response *out)
{
    struct http_wait *w = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(w->req);
    if (evcon && http_set_closecb(w->hs, w->req, NULL, NULL) < 0) evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (out) {
        gateway_reply(w->req, w->peer, w->path, out);
    } else if (w->detached) {
        /* The gateway is going away; nobody else will free this request. */
        evhttp_request_free(w->req);
    }
    /* out == NULL on an attached request only after http_free(): evhttp has freed it already. */
    free(w);
}

static void on_gateway(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct gateway *gw = arg;
    char peer[64], cookie[GW_COOKIE_LEN + 1];
    struct evkeyvalq *in_h = evhttp_request_get_input_headers(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(ib);
    http_peer_addr(req, peer, sizeof peer);
    cookie_named(evhttp_find_header(in_h, "Cookie"), GW_COOKIE_NAME, GW_COOKIE_LEN, cookie, sizeof cookie);
    struct gw_request in = {
        .body = NULL,
        .len = len,
        .content_type = evhttp_find_header(in_h, "Content-Type"),
        .cookie = cookie[0] ? cookie : NULL,
        .peer = peer,
        .is_post = evhttp_request_get_command(req) == EVHTTP_REQ_POST,
    };
    /* Only make the body contiguous when it will be read. */
    if (in.is_post && len <= gw->cfg.max_body) in.body = len ? evbuffer_pullup(ib, -1) : (const uint8_t *)"";
    /* Too large: only the head is read, to answer each body with a fault naming the limit. */
    else if (in.is_post) in.body = evbuffer_pullup(ib, (ev_ssize_t)(len < GW_HEAD_MAX ? len : GW_HEAD_MAX));
    if (in.is_post && len && !in.body) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    struct gw_response out;
    struct gw_req *pend = NULL;
    if (gateway_handle_async(gw, &in, &out, &pend) == 0) {
        gateway_reply(req, peer, path, &out);
        return;
    }
    struct http_wait *w = calloc(1, sizeof *w);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (!w || !evcon) {
        free(w);
        gateway_pending_abandon(pend);
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    w->hs = gw->hs;
    w->req = req;
    w->pend = pend;
    snprintf(w->peer, sizeof w->peer, "%s", peer);
    snprintf(w->path, sizeof w->path, "%s", path);
    /* Chained behind the connection guard's own callback (which gives the per-address slot back). */
    if (http_set_closecb(gw->hs, req, on_conn_close, w) < 0) evhttp_connection_set_closecb(evcon, on_conn_close, w);
    gateway_pending_wait(pend, on_gateway_done, w);
}

static void on_crossdomain(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct gateway *gw = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        static const char msg[] = "crossdomain.xml: GET only\n";
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        send_reply(req, 405, "Method Not Allowed", "text/plain; charset=utf-8", msg, sizeof msg - 1, 0);
        return;
    }
    size_t len;
    const char *x = gateway_crossdomain(gw, &len);
    send_reply(req, 200, "OK", "text/x-cross-domain-policy", x, len, 0);
}

/* A /yab request waiting for the store worker (gateway_yab_async): the same lifetime rules as a request
 * waiting for a password check (struct http_wait). */
struct yab_wait {
    struct http_server *hs;        /* the front (its guard tells us of the close) */
    struct evhttp_request *req;    /* the evhttp request */
    struct gw_yab_pending *pend;   /* the gateway's side */
    int detached;                  /* evhttp dropped the connection but kept the request: replying frees it */
};

static void on_yab_close(struct evhttp_connection *evcon, void *arg)
{
    struct yab_wait *w = arg;
    if (evhttp_request_get_connection(w->req) == evcon) {
        gateway_yab_abandon(w->pend); /* the request is freed with the connection right after this */
        free(w);
        return;
    }
    w->detached = 1;
}

static void on_yab_done(void *arg, struct gw_response *out)
{
    struct yab_wait *w = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(w->req);
    if (evcon && http_set_closecb(w->hs, w->req, NULL, NULL) < 0) evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (out) send_reply(w->req, out->status, out->reason, out->content_type, out->body, out->len, 1);
    else if (w->detached) evhttp_request_free(w->req); /* the gateway is going away */
    free(w);
}

/* GET/POST /yab/…: the Y/T cookies of a token login name the account; yab.c does the rest. */
static void on_yab(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct gateway *gw = arg;
    char peer[64], y[256], t[256], user[GW_USER_MAX + 1];
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *in_h = evhttp_request_get_input_headers(req);
    http_peer_addr(req, peer, sizeof peer);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
        static const char msg[] = "yab: GET or POST\n";
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
        send_reply(req, 405, "Method Not Allowed", GW_TEXT, msg, sizeof msg - 1, 0);
        return;
    }
    const char *ch = evhttp_find_header(in_h, "Cookie");
    cookie_named(ch, "Y", 0, y, sizeof y);
    cookie_named(ch, "T", 0, t, sizeof t);
    if (!gw->cookie_auth || !y[0] || !t[0] || gw->cookie_auth(gw->cookie_arg, peer, y, t, user, sizeof user) < 0) {
        static const char msg[] = "yab: log in first (Y and T cookies of /config/pwtoken_login)\n";
        log_event(LOG_INFO, peer, NULL, "yab_refused", 403, "%s", y[0] && t[0] ? "unknown or expired cookies" : "no cookies");
        send_reply(req, 403, "Forbidden", GW_TEXT, msg, sizeof msg - 1, 0);
        return;
    }
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(ib);
    struct gw_yab_request in = {user, query, NULL, len, peer, cmd == EVHTTP_REQ_POST};
    /* Only make the body contiguous when it will be read. */
    if (in.is_post && len <= gw->cfg.yab_max_body) in.body = len ? evbuffer_pullup(ib, -1) : (const uint8_t *)"";
    if (in.is_post && len && len <= gw->cfg.yab_max_body && !in.body) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    struct gw_response out;
    struct gw_yab_pending *pend = NULL;
    if (gateway_yab_async(gw, &in, &out, &pend)) { /* the store worker reads or writes the book first */
        struct yab_wait *w = calloc(1, sizeof *w);
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        if (!w || !evcon) {
            free(w);
            gateway_yab_abandon(pend);
            evhttp_send_error(req, 503, "Service Unavailable");
            return;
        }
        w->hs = gw->hs;
        w->req = req;
        w->pend = pend;
        if (http_set_closecb(gw->hs, req, on_yab_close, w) < 0) evhttp_connection_set_closecb(evcon, on_yab_close, w);
        gateway_yab_wait(pend, on_yab_done, w);
        return;
    }
    if (!out.body && out.status == 0) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    send_reply(req, out.status, out.reason, out.content_type, out.body, out.len, 1);
}

int gateway_register(struct gateway *gw, struct http_server *hs)
{
    static const char *const paths[] = {"/api", "/api.php", "/gateway", "/amf"};
    gw->hs = hs;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (http_register(hs, paths[i], on_gateway, gw) < 0) return -1;
    if (http_register(hs, "/yab/*", on_yab, gw) < 0) return -1;
    return http_register(hs, "/crossdomain.xml", on_crossdomain, gw);
}
