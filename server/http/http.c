/* HTTP front; see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "httputil.h"
#include "log.h"
#include "server.h"

#define HTTP_MAX_ROUTES 32

struct route {
    char *path;       /* exact path, or prefix when it ends in '*' */
    http_handler fn;  /* handler */
    void *arg;        /* handler argument */
};

struct http_server {
    struct server *srv;                  /* config, loop */
    struct evhttp *plain;                /* http_listen, or NULL */
    struct evhttp *tls;                  /* https_listen, or NULL */
    SSL_CTX *ssl_ctx;                    /* certificate and key for tls */
    struct route routes[HTTP_MAX_ROUTES]; /* registered paths */
    size_t nroutes;                      /* entries used */
};

static void sockaddr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    out[0] = 0;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

void http_peer_addr(struct evhttp_request *req, char *out, size_t cap)
{
    char *host = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    out[0] = 0;
    if (!evcon) return;
    evhttp_connection_get_peer(evcon, &host, &port);
    snprintf(out, cap, "%s", host ? host : "");
}

void http_local_addr(struct evhttp_request *req, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    out[0] = 0;
    if (!evcon) return;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (!bev) return;
    if (getsockname(bufferevent_getfd(bev), (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_text((struct sockaddr *)&ss, out, cap);
}

void http_reply(struct evhttp_request *req, int code, const char *reason, const char *content_type,
                const void *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (content_type) evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    if (len) evbuffer_add(buf, body, len);
    if (req->major == 1 && req->minor >= 1) {
        /* evhttp adds "Transfer-Encoding: chunked" and frames this as one chunk + "0\r\n\r\n". */
        evhttp_send_reply_start(req, code, reason);
        if (len) evhttp_send_reply_chunk(req, buf);
        evhttp_send_reply_end(req);
    } else {
        char cl[32];
        snprintf(cl, sizeof cl, "%zu", len);
        evhttp_add_header(h, "Content-Length", cl);
        evhttp_send_reply(req, code, reason, buf);
    }
    evbuffer_free(buf);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    struct http_server *hs = arg;
    char path[1024], peer[64];
    const char *target = evhttp_request_get_uri(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    http_peer_addr(req, peer, sizeof peer);
    if (http_target_path(target, path, sizeof path) < 0) {
        log_event(LOG_INFO, peer, NULL, "http_bad_target", 400, NULL);
        evhttp_send_error(req, 400, "Bad Request");
        return;
    }
    if (!query) {
        /* evhttp could not split the target: find the query ourselves. */
        const char *q = target ? strchr(target, '?') : NULL;
        query = q ? q + 1 : "";
    }
    for (size_t i = 0; i < hs->nroutes; i++) {
        const struct route *r = &hs->routes[i];
        size_t n = strlen(r->path);
        int match = (n && r->path[n - 1] == '*') ? strncmp(path, r->path, n - 1) == 0 : strcmp(path, r->path) == 0;
        if (match) {
            log_event(LOG_DEBUG, peer, NULL, "http_request", 0, "%s", path);
            r->fn(req, path, query, r->arg);
            return;
        }
    }
    log_event(LOG_INFO, peer, NULL, "http_not_found", 404, "%s", path);
    evhttp_send_error(req, 404, "Not Found");
}

int http_register(struct http_server *hs, const char *path, http_handler fn, void *arg)
{
    if (hs->nroutes >= HTTP_MAX_ROUTES) return -1;
    char *p = strdup(path);
    if (!p) return -1;
    hs->routes[hs->nroutes++] = (struct route){p, fn, arg};
    return 0;
}

/* evhttp_connection_free() runs the close callback, then bufferevent_free() (which closes the socket and
 * SSL_free()s, never SSL_shutdown()s), then shutdown(SHUT_WR): the close callback is the last point before
 * the FIN.  Send close_notify there, but only when every reply byte has gone out: a close_notify after a
 * cut-off reply would tell the peer that the truncated data is complete.  Peers that read to the end of
 * the stream (libpurple over GnuTLS) treat a FIN without close_notify as an error. */
static void tls_closecb(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (!ssl || !SSL_is_init_finished(ssl) || evbuffer_get_length(bufferevent_get_output(bev)) != 0) return;
    /* One non-blocking attempt: the alert is 24-31 bytes and the socket has just drained our reply. */
    if (SSL_shutdown(ssl) < 0) log_event(LOG_DEBUG, NULL, NULL, "tls_close_notify_failed", 0, NULL);
    ERR_clear_error();
}

/* First decrypted bytes of a TLS connection: evhttp owns the bufferevent now (its callback argument is
 * the evhttp_connection), so this is the earliest point to hook the connection's close.  Every request,
 * including the ones evhttp answers itself (400, 413, 501), passes here. */
static void tls_first_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    if (info->n_added == 0) return;
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *cbarg = NULL;
    bufferevent_getcb(bev, &rd, &wr, &ev, &cbarg);
    if (cbarg) evhttp_connection_set_closecb(cbarg, tls_closecb, NULL);
    evbuffer_remove_cb(buf, tls_first_input, bev);
}

static struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
    struct http_server *hs = arg;
    SSL *ssl = SSL_new(hs->ssl_ctx);
    if (!ssl) return NULL;
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev && !evbuffer_add_cb(bufferevent_get_input(bev), tls_first_input, bev)) {
        bufferevent_free(bev);
        return NULL;
    }
    return bev;
}

static struct evhttp *make_evhttp(struct http_server *hs, const char *listen, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (config_split_hostport(listen, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "bad listen address \"%s\"", listen);
        return NULL;
    }
    struct evhttp *h = evhttp_new(hs->srv->base);
    if (!h) {
        snprintf(err, errlen, "evhttp_new failed");
        return NULL;
    }
    const struct config *cfg = hs->srv->cfg;
    evhttp_set_gencb(h, dispatch, hs);
    evhttp_set_max_body_size(h, cfg->http_max_body);
    evhttp_set_max_headers_size(h, 16384);
    evhttp_set_timeout(h, (int)cfg->http_timeout);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    if (!evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)port)) {
        snprintf(err, errlen, "cannot listen on %s", listen);
        evhttp_free(h);
        return NULL;
    }
    return h;
}

struct http_server *http_new(struct server *srv, char *err, size_t errlen)
{
    struct http_server *hs = calloc(1, sizeof *hs);
    if (!hs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    hs->srv = srv;
    const struct config *cfg = srv->cfg;
    if (cfg->http_listen[0] && !(hs->plain = make_evhttp(hs, cfg->http_listen, err, errlen))) goto fail;
    if (cfg->tls_cert[0] && cfg->tls_key[0] && cfg->https_listen[0]) {
        hs->ssl_ctx = SSL_CTX_new(TLS_server_method());
        if (!hs->ssl_ctx || SSL_CTX_use_certificate_chain_file(hs->ssl_ctx, cfg->tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(hs->ssl_ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(hs->ssl_ctx) != 1) {
            snprintf(err, errlen, "TLS certificate/key (%s, %s): %s", cfg->tls_cert, cfg->tls_key,
                     ERR_reason_error_string(ERR_get_error()));
            goto fail;
        }
        SSL_CTX_set_min_proto_version(hs->ssl_ctx, TLS1_VERSION);
        if (!(hs->tls = make_evhttp(hs, cfg->https_listen, err, errlen))) goto fail;
        evhttp_set_bevcb(hs->tls, tls_bevcb, hs);
    }
    return hs;
fail:
    http_free(hs);
    return NULL;
}

void http_free(struct http_server *hs)
{
    if (!hs) return;
    if (hs->plain) evhttp_free(hs->plain);
    if (hs->tls) evhttp_free(hs->tls);
    if (hs->ssl_ctx) SSL_CTX_free(hs->ssl_ctx);
    for (size_t i = 0; i < hs->nroutes; i++) free(hs->routes[i].path);
    free(hs);
}
