/* The HTTP/HTTPS front of ymsgd, on libevent's evhttp.  One route table serves both the plain
 * listener (http_listen) and the TLS one (https_listen, when tls_cert and tls_key are set).
 *
 * Adding routes (e.g. the AMF gateway's /api and /crossdomain.xml): call http_register() after
 * http_new(), from server start-up (main.c, next to login_http_register()).  Paths match exactly;
 * a path ending in '*' matches by prefix.  Requests in absolute form ("GET https://host/path") are
 * routed by their path like origin-form ones. */
#ifndef YMSGD_HTTP_H
#define YMSGD_HTTP_H

#include <stddef.h>

struct evhttp_request;
struct server;
struct http_server;

/* path is the decoded-free request path ("/config/pwtoken_get"); query is the raw query string
 * without '?' ("" when none). */
typedef void (*http_handler)(struct evhttp_request *req, const char *path, const char *query, void *arg);

struct http_server *http_new(struct server *srv, char *err, size_t errlen);
void http_free(struct http_server *hs);
/* Shutdown: close the listening sockets; open connections (WebSocket sessions flushing their close
 * frames among them) live on until http_free(). */
void http_stop_listening(struct http_server *hs);

/* TLS certificate reload (SIGHUP): http_tls_load() reads and checks a certificate chain and key into a
 * new server context (an SSL_CTX; NULL with the file and reason in err), http_tls_swap() makes it the one
 * new HTTPS connections use (connections already set up keep theirs), http_tls_free() drops one that
 * was not swapped in.  http_tls_running(): whether HTTPS listens at all (turning it on needs a restart). */
void *http_tls_load(const char *cert, const char *key, char *err, size_t errlen);
void http_tls_swap(struct http_server *hs, void *ctx);
void http_tls_free(void *ctx);
int http_tls_running(const struct http_server *hs);
/* Returns 0, or -1 when the table is full / out of memory. */
int http_register(struct http_server *hs, const char *path, http_handler fn, void *arg);

/* Helpers for handlers. */
/* Source address (no port) of the request. */
void http_peer_addr(struct evhttp_request *req, char *out, size_t cap);
/* Local address the client connected to (no port). */
void http_local_addr(struct evhttp_request *req, char *out, size_t cap);
/* Sends a complete reply.  For HTTP/1.1 requests the body goes out with Transfer-Encoding: chunked
 * as one chunk (libyahoo2 requires that); for HTTP/1.0 with Content-Length.  Headers already added
 * to the request's output headers are sent first, in order. */
void http_reply(struct evhttp_request *req, int code, const char *reason, const char *content_type,
                const void *body, size_t len);

struct evhttp_connection;
/* A handler that holds a request (answers later, e.g. after a password check) learns that its
 * connection is going away through closecb (NULL: no longer).  Never evhttp_connection_set_closecb()
 * on our connections: it would replace the guard's callback, and the connection's per-address slot
 * would never come back.  Returns 0, or -1 when req's connection is not one of ours. */
int http_set_closecb(struct http_server *hs, struct evhttp_request *req,
                     void (*closecb)(struct evhttp_connection *, void *), void *arg);
/* A handler that keeps the connection for another protocol (the WebSocket upgrade, server/http/ws.c):
 * the request checks stop reading its bytes as HTTP, and closecb runs when evhttp frees the
 * connection (the per-address count is released after it).  Returns 0, or -1 when req's connection is
 * not one of ours. */
int http_takeover(struct http_server *hs, struct evhttp_request *req,
                  void (*closecb)(struct evhttp_connection *, void *), void *arg);

/* A handler whose answer comes later (the store worker, the hash threads) may wait longer than evhttp's
 * idle timeout (http_timeout), which closed such a connection with no answer at all.  http_wait_start
 * arms a deadline a little before that timeout (a quarter of it, at most 1 s, earlier); if the handler
 * has not answered by then, late(req) answers it (a "come back later" the client understands) and the
 * request is gone.  The handler's completion calls http_wait_end: it returns the request to answer, or
 * NULL when late() answered it already.  NULL from http_wait_start: out of memory. */
struct http_wait;
typedef void (*http_late_fn)(struct evhttp_request *req);
struct http_wait *http_wait_start(struct http_server *hs, struct evhttp_request *req, http_late_fn late);
struct evhttp_request *http_wait_end(struct http_wait *w);

#endif
