/* The AMF gateway of ymsgd: Flash Remoting (classic NetConnection "Service.method" calls and Flex
 * RemoteObject messages) over HTTP POST application/x-amf on /api, /api.php, /gateway and /amf, the
 * Phonebook service of the seed's "Using amf in flex" post, and /crossdomain.xml.
 *
 * Layers: gateway_handle() is the whole request logic without I/O (bytes + cookie + peer in, status
 * + bytes + cookie out), so unit tests and the fuzz harness drive it directly; gateway_register()
 * puts it behind ymsgd's evhttp front (http.h).  Everything runs on ymsgd's one event loop, except
 * the argon2id checks of logins, which go to hash worker threads (pwworker.h) while the request waits.
 *
 * Sessions: a session is found by the YMSGAMF cookie or, for Flex clients, by the DSId the ping
 * handed out (headers.DSId).  Logging in (Phonebook.login, CommandMessage LOGIN, the classic
 * Credentials header, DSRemoteCredentials) attaches a user to the session and issues a fresh cookie.
 * The table is bounded: when it is full, expired and then anonymous sessions are dropped first. */
#ifndef YMSGD_GATEWAY_H
#define YMSGD_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

struct http_server;
struct server;
struct store;
struct gateway;

#define GW_COOKIE_NAME "YMSGAMF"
#define GW_COOKIE_LEN 32  /* hex characters of a cookie value (128 random bits) */

struct gateway_config {
    size_t max_body;            /* largest request body in bytes (413 beyond) */
    size_t max_arena;           /* memory one request's decoded values may use, in bytes */
    uint32_t max_depth;         /* AMF container nesting accepted */
    uint32_t max_elements;      /* entries in one AMF container */
    uint32_t max_messages;      /* envelope headers, and separately bodies, per request */
    long max_sessions;          /* sessions kept (anonymous ones are evicted first when full) */
    long session_idle;          /* seconds a session lives without being used */
    long phonebook_max;         /* entries a phonebook may hold (the seed's demo kept 10) */
    size_t phonebook_cache;     /* bytes of stored phonebooks kept in memory for reads (0 = none) */
    const char *crossdomain;    /* domains for crossdomain.xml, comma or space separated ("" = none) */
    int crossdomain_secure;     /* 0: allow-access-from carries secure="false" (HTTP SWFs may call HTTPS) */
    struct login_throttle_config throttle; /* the gateway's own login throttle (ymsgd: auth's, see glue.c) */
    size_t yab_max_body;        /* bytes of a POST /yab body (413 beyond) */
    size_t yab_max_value;       /* bytes of one attribute value in a POST /yab */
    uint32_t yab_max_records;   /* <ct> records in one POST /yab */
    size_t yab_max_reply;       /* bytes of a /yab answer (the whole address book) */
};

/* Defaults (documented in docs/ymsgd.8 and gateway.c). */
void gateway_config_default(struct gateway_config *c);

/* A gateway over store st (accounts and phonebooks).  NULL with a message in err when the config is
 * invalid (e.g. a crossdomain domain with characters that are not allowed) or memory is short. */
struct gateway *gateway_new(const struct gateway_config *cfg, struct store *st, char *err, size_t errlen);
void gateway_free(struct gateway *gw);

/* One HTTP request, without I/O. */
/* A request larger than max_body is answered with an AMF fault per body (naming the limit); only
 * its first GW_HEAD_MAX bytes are read, to find the response URIs, so the caller may pass just those
 * (or NULL: then a plain 413). */
#define GW_HEAD_MAX 4096
struct gw_request {
    const uint8_t *body;        /* POST body (at least min(len, GW_HEAD_MAX) bytes when len > max_body) */
    size_t len;                 /* its length */
    const char *content_type;   /* Content-Type header or NULL */
    const char *cookie;         /* YMSGAMF cookie value presented, or NULL */
    const char *peer;           /* client address (throttling key, logs) */
    int is_post;                /* 1 for POST; anything else gets 405 */
};
struct gw_response {
    int status;                 /* HTTP status */
    const char *reason;         /* reason phrase */
    const char *content_type;   /* application/x-amf or text/plain */
    uint8_t *body;              /* malloc()ed reply body (free() it) */
    size_t len;                 /* its length */
    char set_cookie[GW_COOKIE_LEN + 1]; /* cookie value to set ("" = none) */
};
/* Fills *out (always; status 500 only when memory is short).  Free out->body. */
void gateway_handle(struct gateway *gw, const struct gw_request *in, struct gw_response *out);

/* The same with password checks on hash workers (gateway_set_workers): returns 0 with *out filled,
 * or 1 when a login waits for its argon2id check; then *pend is the waiting request, in->body must
 * stay valid until it finishes, and the caller must call gateway_pending_wait() or
 * gateway_pending_abandon() before returning to the event loop.  The other strings of *in are copied.
 * Without workers this is gateway_handle() and never returns 1. */
struct gw_req;
int gateway_handle_async(struct gateway *gw, const struct gw_request *in, struct gw_response *out,
                         struct gw_req **pend);
/* done(arg, out) runs on the loop thread once the reply is ready (free out->body); out is NULL when
 * the gateway is freed first. */
typedef void (*gw_done_fn)(void *arg, struct gw_response *out);
void gateway_pending_wait(struct gw_req *pend, gw_done_fn done, void *arg);
/* The client went away (in->body is gone): done will not be called; the rest is cleaned up later. */
void gateway_pending_abandon(struct gw_req *pend);
/* Verifies passwords on `threads` worker threads (0 = inline), at most `queue` checks waiting
 * (beyond that a login gets a Server.Busy fault).  Call once, before requests arrive.  0 or -1. */
struct event_base;
int gateway_set_workers(struct gateway *gw, struct event_base *base, int threads, size_t queue);
/* ymsgd's password verification cache (pwcache.h): a recently verified password skips the hash (NULL
 * = none; it must outlive the gateway). */
struct pwcache;
void gateway_set_pwcache(struct gateway *gw, struct pwcache *pc);

/* A cluster (server/cluster, connected by glue.c): logged-in sessions are valid on every node.  The
 * gateway tells publish of a session logged in (GW_SHARE_UP, with its DSId and whether the cookie must
 * come with the DSId), logged out or revoked (GW_SHARE_END), and used (GW_SHARE_USED, at most every
 * amf_session_idle/4, so the copies elsewhere do not expire while it is in use here); the other
 * nodes' news come in through gateway_session_import/_end/_used. */
enum { GW_SHARE_UP = 0, GW_SHARE_END = 1, GW_SHARE_USED = 2 };
struct gw_share {
    void (*publish)(void *arg, const char *user, int op, const char *cookie, const char *dsid, int bound);
    void *arg; /* its argument */
};
void gateway_set_share(struct gateway *gw, const struct gw_share *share);
/* Another node logged user in with cookie and dsid: valid here too.  0, or -1 (table full, memory). */
int gateway_session_import(struct gateway *gw, const char *user, const char *cookie, const char *dsid, int bound);
/* Another node ended (logout, revocation, a new login's rotation) / used the session of cookie. */
void gateway_session_end(struct gateway *gw, const char *cookie);
void gateway_session_used(struct gateway *gw, const char *cookie);

/* Makes the gateway count its logins in lt (ymsgd's one login throttle, shared with the token and
 * YMSG logins) instead of its own tables, and check unknown accounts against decoy_hash (an argon2id
 * string of a random password) so they take as long as known ones.  lt must outlive the gateway. */
struct login_throttle;
void gateway_set_throttle(struct gateway *gw, struct login_throttle *lt, const char *decoy_hash);

/* Revocation (password changed, account deleted): ends every session of user and forgets its cached
 * phonebook.  Returns the number of sessions ended. */
size_t gateway_revoke_user(struct gateway *gw, const char *user);

/* The address book (GET/POST /yab/us, yab.c) of an account the caller has authenticated. */
struct gw_yab_request {
    const char *user;           /* the account the Y/T cookies belong to */
    const char *query;          /* the URL's query (sync=1 on POST; diffs, t on GET) or NULL */
    const uint8_t *body;        /* POST body (len bytes) */
    size_t len;                 /* its length */
    const char *peer;           /* client address (logs) */
    int is_post;                /* 1: POST (add/edit records), else GET (the whole book) */
};
/* Fills *out (free out->body): 200 with XML, or an error status with a one-line text. */
void gateway_yab(struct gateway *gw, const struct gw_yab_request *in, struct gw_response *out);
/* The same with the phonebook's store read and write on the store worker (gateway_set_store_async;
 * without one it is gateway_yab): 0 with *out filled, or 1 when the answer waits for the store; then
 * *pend is the waiting request (in's strings were copied) and the caller calls gateway_yab_wait or
 * gateway_yab_abandon at once. */
struct gw_yab_pending;
int gateway_yab_async(struct gateway *gw, const struct gw_yab_request *in, struct gw_response *out,
                      struct gw_yab_pending **pend);
/* done(arg, out) runs once the answer is ready (free out->body), or with out NULL when the gateway is
 * going away first. */
typedef void (*gw_yab_done_fn)(void *arg, struct gw_response *out);
void gateway_yab_wait(struct gw_yab_pending *pend, gw_yab_done_fn done, void *arg);
/* The client went away: the request finishes silently (what it asked is still stored). */
void gateway_yab_abandon(struct gw_yab_pending *pend);
/* Who a Y/T cookie pair belongs to (ymsgd: auth_cookie_user; a failure is counted against peer).
 * 0 with user (cap bytes) filled, else -1.  Without it /yab answers 403. */
typedef int (*gw_cookie_fn)(void *arg, const char *peer, const char *y, const char *t, char *user, size_t cap);
void gateway_set_cookie_auth(struct gateway *gw, gw_cookie_fn fn, void *arg);

/* The crossdomain.xml document built from the config (NUL-terminated). */
const char *gateway_crossdomain(const struct gateway *gw, size_t *len);

/* Reload: checks a domain list as gateway_new() would (0, or -1 with a message), and replaces the list
 * and the secure flag of /crossdomain.xml (on error the document in use stays). */
int gateway_crossdomain_check(const char *domains, char *err, size_t errlen);
int gateway_set_crossdomain(struct gateway *gw, const char *domains, int secure, char *err, size_t errlen);

/* Registers /api, /api.php, /gateway, /amf, /crossdomain.xml and /yab/... on hs.  Returns 0 or -1. */
int gateway_register(struct gateway *gw, struct http_server *hs);

/* First start (ymsgd's demo accounts): user's phonebook holds one entry for buddy (a web-phonebook
 * PhoneEntry with yahooId and nickname, so Pidgin shows it too).  0 or -1. */
struct store;
int gateway_demo_phonebook(struct store *st, const char *user, const char *buddy);

/* ymsgd start-up (glue.c): a gateway configured from srv->cfg (the amf_* knobs and the login
 * throttling knobs), registered on srv->http.  NULL with a message in err.  gateway_free() it after
 * http_free(). */
struct gateway *gateway_start(struct server *srv, char *err, size_t errlen);
/* Phonebook.sync's store reads and writes go to this store worker (store_async.h) when a request may
 * wait (gateway_handle_async); NULL: on the gateway's store, inline. */
struct store_async;
void gateway_set_store_async(struct gateway *gw, struct store_async *sa);

#endif
