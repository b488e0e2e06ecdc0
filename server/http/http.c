/* HTTP front; see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
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
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "accept_guard.h"
#include "hmap.h"
#include "httputil.h"
#include "linger.h"
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
    struct evconnlistener *plain_lis;    /* plain's listener (accept pauses), or NULL */
    struct evconnlistener *tls_lis;      /* tls's listener, or NULL */
    struct evhttp_bound_socket *plain_bound; /* plain's listening socket, NULL once stopped */
    struct evhttp_bound_socket *tls_bound;   /* tls's listening socket, NULL once stopped */
    SSL_CTX *ssl_ctx;                    /* certificate and key for tls */
    struct hmap addrs;                   /* address -> struct http_addr_count (open connections) */
    size_t nconns;                       /* open HTTP(S) connections that passed the caps */
    struct route routes[HTTP_MAX_ROUTES]; /* registered paths */
    size_t nroutes;                      /* entries used */
    struct http_conn *conns;             /* every guarded connection (http_takeover finds them here) */
    struct http_wait *waits;             /* requests answered later (http_wait_start) */
};

/* A request whose handler answers later, with its deadline (http_wait_start). */
struct http_wait {
    struct http_wait *prev, *next;  /* hs->waits */
    struct http_server *hs;         /* owner */
    struct evhttp_request *req;     /* NULL once late() answered it */
    struct event *timer;            /* the deadline */
    http_late_fn late;              /* answers req at the deadline */
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

/* ---- the connection guard -----------------------------------------------------------------------
 * evhttp accepts and parses, but every connection is watched from our side:
 *  - caps: http_max_conns in total and http_max_conns_per_addr per source address;
 *  - a deadline for a whole request head (http_head_timeout), which a client that trickles one byte
 *    at a time cannot stretch the way it stretches evhttp's per-read idle timeout;
 *  - framing: a callback on the connection's input buffer sees every byte before evhttp does (it runs
 *    when bytes are added, before the read callback), checks each head line as it completes
 *    (http_head_line: conflicting or signed Content-Length, Transfer-Encoding with Content-Length,
 *    obs-fold, …) and follows bodies (Content-Length or chunked) to find the next head.  A bad head
 *    is cut out of the buffer before evhttp parses it and replaced by a line evhttp refuses, so
 *    evhttp itself answers 400 and closes (over TLS too);
 *  - TLS: close_notify before the FIN (evhttp_connection_free never SSL_shutdown()s).
 * Only complete lines are consumed by evhttp, so the line being checked is always still in the
 * buffer when its LF arrives. */

#define HTTP_REJECT_LINE "BAD-FRAMING\r\n\r\n" /* no space, no colon: a request line and a header evhttp refuse */

struct http_addr_count {
    uint32_t n;    /* connections open from this address */
    char key[48];  /* the address (hmap key) */
};

enum { HC_HEAD, HC_BODY, HC_CHUNKED, HC_REJECTED, HC_TAKEN };

struct http_conn {
    struct http_server *hs;         /* owner */
    struct bufferevent *bev;        /* evhttp's bufferevent (socket or OpenSSL) */
    struct evbuffer_cb_entry *watch; /* our callback on bev's input */
    struct event *timer;            /* first the start check (at once), then the head deadline */
    struct http_addr_count *addr;   /* the per-address count this connection holds (NULL: none) */
    struct http_head_state head;    /* line checker of the current head */
    struct http_chunked chunk;      /* scanner of the current chunked body */
    uint64_t body_left;             /* HC_BODY: bytes of the body still to come */
    uint64_t added, deleted;        /* bytes ever added to / removed from the input (stream offsets) */
    uint64_t line_start;            /* stream offset of the current head line */
    uint64_t head_start;            /* stream offset of the current head */
    uint8_t phase;                  /* HC_* */
    uint8_t started;                /* start check done (counted or refused) */
    uint8_t tls;                    /* bev is an OpenSSL bufferevent */
    uint8_t armed;                  /* the head deadline runs */
    uint8_t dropped;                /* guard_drop: nothing more goes out, so no lingering close */
    char peer[48];                  /* source address, for logs and the per-address count */
    struct http_conn *next, *prev;  /* http_server.conns */
    void (*taken_cb)(struct evhttp_connection *, void *); /* HC_TAKEN: the new owner's close callback */
    void *taken_arg;                /* its argument */
    void (*wait_cb)(struct evhttp_connection *, void *); /* a handler holding a request: told of the close */
    void *wait_arg;                 /* its argument */
};

/* Ends the connection as if the client had gone: evhttp sees EOF and frees it through its own paths
 * (which also handle a request still held by a handler). */
static void guard_drop(struct http_conn *hc)
{
    evutil_socket_t fd = bufferevent_getfd(hc->bev);
    hc->phase = HC_REJECTED;
    hc->dropped = 1;
    if (hc->armed) event_del(hc->timer);
    hc->armed = 0;
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

/* Leaves the first keep bytes of in and drops the rest. */
static void input_truncate(struct evbuffer *in, size_t keep)
{
    struct evbuffer *tmp = evbuffer_new();
    if (tmp && evbuffer_remove_buffer(in, tmp, keep) >= 0) {
        evbuffer_drain(in, evbuffer_get_length(in));
        evbuffer_add_buffer(in, tmp);
    } else {
        evbuffer_drain(in, evbuffer_get_length(in));
    }
    if (tmp) evbuffer_free(tmp);
}

/* A bad head: what evhttp has not read of it (and everything after it) is replaced by a line it
 * refuses with 400.  Requests before it on the connection are answered normally. */
static void guard_reject(struct http_conn *hc, struct evbuffer *in, int err)
{
    log_event(LOG_INFO, hc->peer, NULL, "http_bad_framing", err, "%s", http_framing_strerror(err));
    size_t keep = hc->head_start > hc->deleted ? (size_t)(hc->head_start - hc->deleted) : 0;
    if (keep > evbuffer_get_length(in)) keep = evbuffer_get_length(in);
    hc->phase = HC_REJECTED;
    if (hc->armed) event_del(hc->timer);
    hc->armed = 0;
    evbuffer_cb_clear_flags(in, hc->watch, EVBUFFER_CB_ENABLED); /* our own edits are not input */
    input_truncate(in, keep);
    int added = evbuffer_add(in, HTTP_REJECT_LINE, sizeof HTTP_REJECT_LINE - 1);
    evbuffer_cb_set_flags(in, hc->watch, EVBUFFER_CB_ENABLED);
    if (added < 0) guard_drop(hc); /* no 400 then, but nothing of the bad head reaches evhttp either */
}

static void guard_arm(struct http_conn *hc)
{
    struct timeval tv = {hc->hs->srv->cfg->http_head_timeout, 0};
    event_add(hc->timer, &tv);
    hc->armed = 1;
}

/* Checks the new bytes [from, to) (stream offsets) of the input. */
static void guard_scan(struct http_conn *hc, struct evbuffer *in, uint64_t from, uint64_t to)
{
    while (from < to && hc->phase != HC_REJECTED) {
        size_t pos = (size_t)(from - hc->deleted), n = (size_t)(to - from);
        if (hc->phase == HC_BODY) {
            uint64_t take = n < hc->body_left ? n : hc->body_left;
            hc->body_left -= take;
            from += take;
            if (hc->body_left == 0) {
                hc->phase = HC_HEAD;
                http_head_init(&hc->head);
                hc->head_start = hc->line_start = from;
            }
            continue;
        }
        if (hc->phase == HC_CHUNKED) {
            struct evbuffer_ptr ptr;
            struct evbuffer_iovec vec[8];
            int done = 0;
            if (evbuffer_ptr_set(in, &ptr, pos, EVBUFFER_PTR_SET) < 0) return;
            int nv = evbuffer_peek(in, (ev_ssize_t)n, &ptr, vec, 8);
            for (int i = 0; i < nv && i < 8 && !done && from < to; i++) {
                size_t len = vec[i].iov_len;
                if (len > (size_t)(to - from)) len = (size_t)(to - from);
                ssize_t used = http_chunked_feed(&hc->chunk, vec[i].iov_base, len, &done);
                if (used < 0) {
                    /* evhttp has read part of this body already: only dropping the connection is safe */
                    log_event(LOG_INFO, hc->peer, NULL, "http_bad_framing", (long)used, "%s",
                              http_framing_strerror((int)used));
                    guard_drop(hc);
                    return;
                }
                from += (uint64_t)used;
            }
            if (done) {
                hc->phase = HC_HEAD;
                http_head_init(&hc->head);
                hc->head_start = hc->line_start = from;
            }
            continue;
        }
        /* HC_HEAD: the deadline runs from the first byte of a head (from the accept for the first) */
        if (!hc->armed) guard_arm(hc);
        struct evbuffer_ptr ptr;
        if (evbuffer_ptr_set(in, &ptr, pos, EVBUFFER_PTR_SET) < 0) return;
        struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, &ptr);
        uint64_t end = lf.pos < 0 ? to : hc->deleted + (uint64_t)lf.pos;
        if (end > to) end = to;
        if (lf.pos < 0 || end >= to) {
            /* no LF yet: only the length can be wrong */
            if (to - hc->line_start > HTTP_MAX_LINE + 1 || to - hc->head_start > HTTP_MAX_HEAD)
                guard_reject(hc, in, HTTP_FR_TOO_BIG);
            return;
        }
        size_t len = (size_t)(end - hc->line_start);
        char line[HTTP_MAX_LINE + 2];
        int r;
        if (len > HTTP_MAX_LINE + 1) {
            r = HTTP_FR_TOO_BIG;
        } else {
            struct evbuffer_ptr ls;
            evbuffer_ptr_set(in, &ls, (size_t)(hc->line_start - hc->deleted), EVBUFFER_PTR_SET);
            evbuffer_copyout_from(in, &ls, line, len);
            r = http_head_line(&hc->head, line, len);
        }
        from = end + 1;
        hc->line_start = from;
        if (r < 0) {
            guard_reject(hc, in, r);
            return;
        }
        if (r == 1) {
            event_del(hc->timer);
            hc->armed = 0;
            if (hc->head.f.chunked) {
                hc->phase = HC_CHUNKED;
                http_chunked_init(&hc->chunk);
            } else if (hc->head.f.length) {
                hc->phase = HC_BODY;
                hc->body_left = hc->head.f.length;
            } else {
                http_head_init(&hc->head);
                hc->head_start = from;
            }
        }
    }
}

/* Every change of the input: evbuffer_read adding bytes (before evhttp's read callback runs), evhttp
 * removing what it parsed. */
static void guard_input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct http_conn *hc = arg;
    hc->deleted += info->n_deleted;
    if (!info->n_added || hc->phase == HC_TAKEN) return; /* taken over: not HTTP any more */
    uint64_t from = hc->added;
    hc->added += info->n_added;
    if (hc->phase == HC_REJECTED) {
        /* nothing after a refused head reaches evhttp */
        size_t len = evbuffer_get_length(in);
        evbuffer_cb_clear_flags(in, hc->watch, EVBUFFER_CB_ENABLED);
        input_truncate(in, len > info->n_added ? len - info->n_added : 0);
        evbuffer_cb_set_flags(in, hc->watch, EVBUFFER_CB_ENABLED);
        hc->deleted += info->n_added;
        return;
    }
    guard_scan(hc, in, from, hc->added);
}

/* evhttp frees the connection: the last moment the bufferevent is there.  TLS: close_notify when
 * every reply byte has gone out (a close_notify after a cut-off reply would tell the peer that the
 * truncated data is complete; peers that read to the end of the stream, libpurple over GnuTLS,
 * treat a FIN without it as an error). */
static void guard_closecb(struct evhttp_connection *evcon, void *arg)
{
    struct http_conn *hc = arg;
    struct http_server *hs = hc->hs;
    if (hc->wait_cb) hc->wait_cb(evcon, hc->wait_arg);
    if (hc->taken_cb) hc->taken_cb(evcon, hc->taken_arg);
    if (hc->tls) {
        SSL *ssl = bufferevent_openssl_get_ssl(hc->bev);
        if (ssl && SSL_is_init_finished(ssl) && evbuffer_get_length(bufferevent_get_output(hc->bev)) == 0) {
            /* One non-blocking attempt: the alert is 24-31 bytes and the socket has just drained our reply. */
            if (SSL_shutdown(ssl) < 0) log_event(LOG_DEBUG, hc->peer, NULL, "tls_close_notify_failed", 0, NULL);
            ERR_clear_error();
        }
    }
    /* An answer sent before the request was read (413, a 400 for a bad head, …) and input still coming:
     * a plain close would reset the connection and destroy the answer (linger.h). */
    if (!hc->dropped) linger_socket(hs->srv, bufferevent_getfd(hc->bev));
    if (hc->addr) {
        hs->nconns--;
        if (--hc->addr->n == 0) {
            hmap_del(&hs->addrs, hc->addr->key);
            free(hc->addr);
        }
    }
    evbuffer_remove_cb_entry(bufferevent_get_input(hc->bev), hc->watch);
    event_free(hc->timer);
    if (hc->prev) hc->prev->next = hc->next;
    else hs->conns = hc->next;
    if (hc->next) hc->next->prev = hc->prev;
    free(hc);
}

/* Runs right after evhttp has set the connection up (the socket is known now): caps, then the
 * deadline of the first head. */
static void guard_start(struct http_conn *hc)
{
    struct http_server *hs = hc->hs;
    const struct config *cfg = hs->srv->cfg;
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *evcon = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    hc->started = 1;
    bufferevent_getcb(hc->bev, &rd, &wr, &ev, &evcon); /* evhttp's argument is its connection */
    if (!evcon) {
        guard_drop(hc);
        return;
    }
    evhttp_connection_set_closecb(evcon, guard_closecb, hc);
    if (getpeername(bufferevent_getfd(hc->bev), (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_text((struct sockaddr *)&ss, hc->peer, sizeof hc->peer);
    if (hs->nconns >= (size_t)cfg->http_max_conns) {
        log_event(LOG_WARN, hc->peer, NULL, "http_refused", 1, "http_max_conns=%ld reached", cfg->http_max_conns);
        guard_drop(hc);
        return;
    }
    struct http_addr_count *a = hmap_get(&hs->addrs, hc->peer);
    if (a && a->n >= (uint32_t)cfg->http_max_conns_per_addr) {
        log_event(LOG_WARN, hc->peer, NULL, "http_refused", 2, "http_max_conns_per_addr=%ld",
                  cfg->http_max_conns_per_addr);
        guard_drop(hc);
        return;
    }
    if (!a) {
        if (!(a = calloc(1, sizeof *a))) {
            guard_drop(hc);
            return;
        }
        snprintf(a->key, sizeof a->key, "%s", hc->peer);
        if (hmap_put(&hs->addrs, a->key, a) < 0) {
            free(a);
            guard_drop(hc);
            return;
        }
    }
    a->n++;
    hs->nconns++;
    hc->addr = a;
    if (!hc->armed && hc->phase == HC_HEAD) guard_arm(hc);
}

static void guard_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *hc = arg;
    (void)fd;
    (void)what;
    if (!hc->started) {
        guard_start(hc);
        return;
    }
    hc->armed = 0;
    log_event(LOG_INFO, hc->peer, NULL, "http_head_timeout", 0, "request head not complete within http_head_timeout=%lds",
              hc->hs->srv->cfg->http_head_timeout);
    guard_drop(hc);
}

/* evhttp asks for a connection's bufferevent (the socket is set on it afterwards). */
static struct bufferevent *guard_bevcb(struct http_server *hs, struct event_base *base, int tls)
{
    struct http_conn *hc = calloc(1, sizeof *hc);
    struct bufferevent *bev = NULL;
    if (!hc) return NULL;
    if (tls) {
        SSL *ssl = SSL_new(hs->ssl_ctx);
        if (ssl) bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    hc->timer = bev ? evtimer_new(base, guard_timer_cb, hc) : NULL;
    hc->watch = hc->timer ? evbuffer_add_cb(bufferevent_get_input(bev), guard_input_cb, hc) : NULL;
    if (!hc->watch) {
        if (hc->timer) event_free(hc->timer);
        if (bev) bufferevent_free(bev);
        free(hc);
        return NULL;
    }
    hc->hs = hs;
    hc->bev = bev;
    hc->next = hs->conns;
    if (hs->conns) hs->conns->prev = hc;
    hs->conns = hc;
    hc->tls = (uint8_t)tls;
    http_head_init(&hc->head);
    /* evhttp sets the socket and its callbacks once we return: check then, still before any read. */
    event_active(hc->timer, EV_TIMEOUT, 0);
    return bev;
}

static struct bufferevent *plain_bevcb(struct event_base *base, void *arg) { return guard_bevcb(arg, base, 0); }

static struct bufferevent *tls_bevcb(struct event_base *base, void *arg) { return guard_bevcb(arg, base, 1); }

static struct evhttp *make_evhttp(struct http_server *hs, const char *listen, int tls, char *err, size_t errlen)
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
    evhttp_set_bevcb(h, tls ? tls_bevcb : plain_bevcb, hs);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)port);
    if (!bound) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(e));
        evhttp_free(h);
        return NULL;
    }
    struct evconnlistener *lis = evhttp_bound_socket_get_listener(bound);
    if (accept_guard_attach(lis, cfg->accept_pause_ms, tls ? "https" : "http") < 0) {
        snprintf(err, errlen, "out of memory");
        evhttp_free(h);
        return NULL;
    }
    if (tls) hs->tls_lis = lis, hs->tls_bound = bound;
    else hs->plain_lis = lis, hs->plain_bound = bound;
    return h;
}

/* A server SSL_CTX with the certificate chain and key (checked against each other), or NULL with the
 * file and the reason in err. */
void *http_tls_load(const char *cert, const char *key, char *err, size_t errlen)
{
    /* name the file and the system's reason; OpenSSL's reason string is NULL for some errors */
    const char *files[2] = {cert, key};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) {
            snprintf(err, errlen, "%s %s: %s", i ? "tls_key" : "tls_cert", files[i], strerror(errno));
            return NULL;
        }
        fclose(f);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        char why[256];
        unsigned long e = ERR_get_error();
        if (e) ERR_error_string_n(e, why, sizeof why);
        else snprintf(why, sizeof why, "unknown error");
        ERR_clear_error();
        snprintf(err, errlen, "TLS certificate/key (%s, %s): %s", cert, key, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    return ctx;
}

void http_tls_free(void *ctx) { SSL_CTX_free(ctx); }

int http_tls_running(const struct http_server *hs) { return hs && hs->tls != NULL; }

void http_tls_swap(struct http_server *hs, void *ctx)
{
    /* Connections being set up hold their own reference (SSL_new), so the old context goes safely. */
    SSL_CTX *old = hs->ssl_ctx;
    hs->ssl_ctx = ctx;
    SSL_CTX_free(old);
}

struct http_server *http_new(struct server *srv, char *err, size_t errlen)
{
    struct http_server *hs = calloc(1, sizeof *hs);
    if (!hs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    hs->srv = srv;
    hmap_init(&hs->addrs);
    const struct config *cfg = srv->cfg;
    if (cfg->http_listen[0] && !(hs->plain = make_evhttp(hs, cfg->http_listen, 0, err, errlen))) goto fail;
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        /* one without the other used to turn HTTPS off without a word */
        snprintf(err, errlen, "%s is set but %s is not: HTTPS needs both", cfg->tls_cert[0] ? "tls_cert" : "tls_key",
                 cfg->tls_cert[0] ? "tls_key" : "tls_cert");
        goto fail;
    }
    if (cfg->tls_cert[0] && cfg->tls_key[0] && cfg->https_listen[0]) {
        if (!(hs->ssl_ctx = http_tls_load(cfg->tls_cert, cfg->tls_key, err, errlen))) goto fail;
        if (!(hs->tls = make_evhttp(hs, cfg->https_listen, 1, err, errlen))) goto fail;
    }
    return hs;
fail:
    http_free(hs);
    return NULL;
}

void http_stop_listening(struct http_server *hs)
{
    if (!hs) return;
    if (hs->plain_lis) accept_guard_detach(hs->plain_lis);
    if (hs->tls_lis) accept_guard_detach(hs->tls_lis);
    hs->plain_lis = hs->tls_lis = NULL;
    if (hs->plain_bound) evhttp_del_accept_socket(hs->plain, hs->plain_bound);
    if (hs->tls_bound) evhttp_del_accept_socket(hs->tls, hs->tls_bound);
    hs->plain_bound = hs->tls_bound = NULL;
}

void http_free(struct http_server *hs)
{
    if (!hs) return;
    http_stop_listening(hs);
    /* frees every connection; their close callbacks give the counts back */
    if (hs->plain) evhttp_free(hs->plain);
    if (hs->tls) evhttp_free(hs->tls);
    /* evhttp_connection_free runs the close callback only for a connection it still counts as connected
     * (not one it has reset, nor one freed before our start check ran): release what is left here.  Their
     * bufferevents (and our callbacks on them) went with evhttp. */
    while (hs->conns) {
        struct http_conn *hc = hs->conns;
        hs->conns = hc->next;
        if (hc->addr && --hc->addr->n == 0) {
            hmap_del(&hs->addrs, hc->addr->key);
            free(hc->addr);
        }
        event_free(hc->timer);
        free(hc);
    }
    while (hs->waits) { /* auth_shutdown ran first: their completions never come */
        struct http_wait *w = hs->waits;
        hs->waits = w->next;
        event_free(w->timer);
        free(w);
    }
    hmap_free(&hs->addrs);
    if (hs->ssl_ctx) SSL_CTX_free(hs->ssl_ctx);
    for (size_t i = 0; i < hs->nroutes; i++) free(hs->routes[i].path);
    free(hs);
}

/* The guard of req's connection, or NULL. */
static struct http_conn *guard_of(struct http_server *hs, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    for (struct http_conn *hc = hs->conns; bev && hc; hc = hc->next)
        if (hc->bev == bev) return hc;
    return NULL;
}

int http_set_closecb(struct http_server *hs, struct evhttp_request *req,
                     void (*closecb)(struct evhttp_connection *, void *), void *arg)
{
    struct http_conn *hc = guard_of(hs, req);
    if (!hc) return -1;
    hc->wait_cb = closecb;
    hc->wait_arg = arg;
    return 0;
}

int http_takeover(struct http_server *hs, struct evhttp_request *req,
                  void (*closecb)(struct evhttp_connection *, void *), void *arg)
{
    struct http_conn *hc = guard_of(hs, req);
    if (!hc) return -1;
    hc->phase = HC_TAKEN;
    if (hc->armed) event_del(hc->timer);
    hc->armed = 0;
    hc->taken_cb = closecb;
    hc->taken_arg = arg;
    return 0;
}

/* ---- answers that come later ------------------------------------------------------------------ */

static void http_wait_late(evutil_socket_t fd, short what, void *arg)
{
    struct http_wait *w = arg;
    struct evhttp_request *req = w->req;
    w->req = NULL; /* answered: the handler's completion finds nothing to answer */
    if (req) w->late(req);
}

struct http_wait *http_wait_start(struct http_server *hs, struct evhttp_request *req, http_late_fn late)
{
    struct http_wait *w = calloc(1, sizeof *w);
    if (!w || !(w->timer = evtimer_new(hs->srv->base, http_wait_late, w))) {
        free(w);
        return NULL;
    }
    /* evhttp counts http_timeout from the request's last byte: answer before it closes the connection. */
    long ms = hs->srv->cfg->http_timeout * 1000;
    ms -= ms / 4 < 1000 ? ms / 4 : 1000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(w->timer, &tv);
    w->hs = hs;
    w->req = req;
    w->late = late;
    w->next = hs->waits;
    if (w->next) w->next->prev = w;
    hs->waits = w;
    return w;
}

struct evhttp_request *http_wait_end(struct http_wait *w)
{
    struct evhttp_request *req = w->req;
    if (w->prev) w->prev->next = w->next;
    else w->hs->waits = w->next;
    if (w->next) w->next->prev = w->prev;
    event_free(w->timer);
    free(w);
    return req;
}
