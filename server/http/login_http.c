/* Token login over HTTP(S); see login_http.h.
 *
 * Byte-level quirks honoured here (YMSG.md §13.2):
 *  - pwtoken_get's body is "0\r\nymsgr=T\r\npartnerid=P" with no trailing CRLF (libpurple accepts
 *    only 2–3 CRLF-separated fields); error bodies are the bare code.
 *  - HTTP/1.1 replies are chunked (libyahoo2 skips a chunk-size line blindly) — see http_reply().
 *  - pwtoken_login's Set-Cookie headers are never the last header line (libyahoo2 finds them with
 *    strstr and crashes on the last line); Content-Type and Cache-Control follow them.
 *  - crumb= is the line right after the code, and the body ends with "cookievalidfor=N\r\n", a line
 *    that does not start with a digit (libpurple reads the line after each digit-led line). */
#include "login_http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "auth.h"
#include "http.h"
#include "httputil.h"
#include "log.h"
#include "cluster.h"
#include "metrics.h"
#include "server.h"

static void reply_text(struct evhttp_request *req, const char *body)
{
    http_reply(req, 200, "OK", "text/plain", body, strlen(body));
}

static void h_capacity(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct server *srv = arg;
    char ip[256], first[300], body[320];
    int port;
    if (cluster_capacity_host(srv, ip, sizeof ip) == 0) {
        /* a cluster: the least-loaded live node's pager */
    } else if (srv->cfg->capacity_host[0]) {
        snprintf(ip, sizeof ip, "%s", srv->cfg->capacity_host);
    } else if (config_list_item(srv->cfg->ymsg_listen, 0, first, sizeof first) < 0 ||
               config_split_hostport(first, ip, sizeof ip, &port) < 0 || !strcmp(ip, "0.0.0.0") ||
               !strcmp(ip, "::") || !ip[0]) {
        http_local_addr(req, ip, sizeof ip);
    }
    snprintf(body, sizeof body, "COLO_CAPACITY=1\r\nCS_IP_ADDRESS=%s\r\n", ip);
    reply_text(req, body);
}

/* The answer to a pwtoken_get.  If the client went away meanwhile, evhttp has detached the request and
 * frees it when we reply. */
static void pwtoken_get_answer(struct evhttp_request *req, int code, const char *token)
{
    char body[160], peer[64];
    http_peer_addr(req, peer, sizeof peer);
    log_event(code ? LOG_INFO : LOG_DEBUG, peer, NULL, "pwtoken_get", code, NULL);
    metrics_login(MET_LOGIN_TOKEN, code);
    if (code == 0) snprintf(body, sizeof body, "0\r\nymsgr=%s\r\npartnerid=yahoo", token);
    else snprintf(body, sizeof body, "%d", code);
    reply_text(req, body);
    sodium_memzero(body, sizeof body);
}

/* A check still waiting for the store worker or the hash threads when the client's connection is about
 * to time out (http_timeout): 1236, the code ymsgd already gives when it is too busy for a login.  Pidgin
 * shows it as a non-fatal error and reconnects on its own; libyahoo2 and OpenYMSG end the attempt with a
 * login failure their application may retry.  (A connection closed with no answer was a network error to
 * Pidgin and "closed it just like that" to libyahoo2; an HTTP 503 would be a bare stage-1 failure to
 * OpenYMSG, which reads no body unless the status is 200.) */
static void pwtoken_get_late(struct evhttp_request *req)
{
    char peer[64];
    http_peer_addr(req, peer, sizeof peer);
    log_event(LOG_WARN, peer, NULL, "pwtoken_get_late", 1236, "password check not done within http_timeout: come back later");
    pwtoken_get_answer(req, 1236, NULL);
}

/* Completion of a pwtoken_get password check (possibly later, from the hash workers). */
static void pwtoken_get_done(void *arg, int code, const char *token)
{
    struct evhttp_request *req = http_wait_end(arg);
    if (req) pwtoken_get_answer(req, code, token); /* else answered by pwtoken_get_late */
}

static void h_pwtoken_get(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct server *srv = arg;
    char peer[64], login[256], user[NAME_MAX_LEN + 1], pass[1024];
    struct http_wait *w;
    http_peer_addr(req, peer, sizeof peer);
    ssize_t ln = http_query_get(query, "login", login, sizeof login);
    ssize_t pn = http_query_get(query, "passwd", pass, sizeof pass);
    if (ln <= 0 || pn <= 0) pwtoken_get_answer(req, 100, NULL);
    else if (strchr(login, '@')) pwtoken_get_answer(req, 1013, NULL);
    else if (name_normalize(login, (size_t)ln, user) < 0) pwtoken_get_answer(req, 1235, NULL); /* like unknown ids */
    else if (!(w = http_wait_start(srv->http, req, pwtoken_get_late))) pwtoken_get_answer(req, 1236, NULL);
    else auth_password_login(srv->auth, peer, user, pass, pwtoken_get_done, w);
    sodium_memzero(pass, sizeof pass);
}

static void h_pwtoken_login(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct server *srv = arg;
    char peer[64], token[AUTH_SECRET_LEN * 2], expires[64], hdr[256], body[512];
    struct auth_login l;
    http_peer_addr(req, peer, sizeof peer);
    ssize_t tn = http_query_get(query, "token", token, sizeof token);
    if (tn <= 0 || auth_token_redeem(srv->auth, token, &l) < 0) {
        log_event(LOG_INFO, peer, NULL, "pwtoken_login", 100, "missing, unknown or expired token");
        reply_text(req, "100");
        return;
    }
    time_t exp = time(NULL) + srv->cfg->crumb_lifetime;
    struct tm tm;
    gmtime_r(&exp, &tm);
    strftime(expires, sizeof expires, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    snprintf(hdr, sizeof hdr, "Y=%s; expires=%s; path=/; domain=.yahoo.com", l.y, expires);
    evhttp_add_header(h, "Set-Cookie", hdr);
    snprintf(hdr, sizeof hdr, "T=%s; expires=%s; path=/; domain=.yahoo.com", l.t, expires);
    evhttp_add_header(h, "Set-Cookie", hdr);
    snprintf(hdr, sizeof hdr, "B=%s; expires=%s; path=/; domain=.yahoo.com", l.b, expires);
    evhttp_add_header(h, "Set-Cookie", hdr);
    snprintf(body, sizeof body,
             "0\r\ncrumb=%s\r\nY=%s; path=/; domain=.yahoo.com\r\nT=%s; path=/; domain=.yahoo.com\r\n"
             "cookievalidfor=%ld\r\n",
             l.crumb, l.y, l.t, srv->cfg->crumb_lifetime);
    log_event(LOG_INFO, peer, l.user, "pwtoken_login", 0, NULL);
    sodium_memzero(&l, sizeof l);
    reply_text(req, body);
    sodium_memzero(body, sizeof body);
}

int login_http_register(struct http_server *hs, struct server *srv)
{
    /* The address book (/yab/..., fetched by libpurple and libyahoo2 after logging in) is the gateway's. */
    if (http_register(hs, "/capacity", h_capacity, srv) < 0 ||
        http_register(hs, "/config/pwtoken_get", h_pwtoken_get, srv) < 0 ||
        http_register(hs, "/config/pwtoken_login", h_pwtoken_login, srv) < 0)
        return -1;
    return 0;
}
