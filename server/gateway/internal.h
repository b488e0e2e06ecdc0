/* Internals shared by the gateway's files (not used outside server/gateway/). */
#ifndef YMSGD_GATEWAY_INTERNAL_H
#define YMSGD_GATEWAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <amf/amf.h>

#include "hmap.h"
#include "ratelimit.h"
#include "gateway.h"
#include "service.h"

#define GW_TEXT "text/plain; charset=utf-8" /* content type of error texts */
#define GW_USER_MAX 32  /* longest account name (ymsgd's NAME_MAX_LEN) */
#define GW_MAX_PASSWORD 1024 /* longer passwords are refused without hashing */

/* An intrusive LRU list (sessions, the phonebook cache): the link is an element's first member, so a
 * link's address is its element's. */
struct gw_lru_link {
    struct gw_lru_link *prev;       /* towards the most recently used */
    struct gw_lru_link *next;       /* towards the least recently used */
};
struct gw_lru {
    struct gw_lru_link *head;       /* most recently used */
    struct gw_lru_link *tail;       /* least recently used */
};

static inline void gw_lru_unlink(struct gw_lru *l, struct gw_lru_link *e)
{
    if (e->prev) e->prev->next = e->next;
    else l->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else l->tail = e->prev;
    e->prev = e->next = NULL;
}

static inline void gw_lru_push_front(struct gw_lru *l, struct gw_lru_link *e)
{
    e->prev = NULL;
    e->next = l->head;
    if (l->head) l->head->prev = e;
    l->head = e;
    if (!l->tail) l->tail = e;
}

struct gw_session {
    struct gw_lru_link link;        /* in gateway.lru (first member) */
    char cookie[GW_COOKIE_LEN + 1]; /* YMSGAMF cookie value (key in by_cookie) */
    char dsid[37];                  /* Flex client id handed out by the ping (key in by_dsid) */
    char user[GW_USER_MAX + 1];     /* logged-in account, "" when anonymous */
    uint8_t cred_mac[16];           /* keyed hash of the password last verified for user */
    uint8_t has_cred;               /* cred_mac is valid */
    uint8_t cookie_sent;            /* the client has been given this cookie value */
    uint8_t bound;                  /* logged in by a request that carried a cookie: the DSId alone no
                                     * longer finds it (the cookie must come with it) */
    double last_used;               /* monotonic time of the last request */
    uint64_t gen;                   /* request generation that last used it (pinned while equal) */
    uint32_t pins;                  /* requests waiting on a password check that hold it (kept while > 0) */
    uint8_t shared;                 /* the other nodes of a cluster hold it too (gateway_set_share) */
    double shared_at;               /* monotonic time they last heard it was used */
};

/* A user's stored phonebook blob kept in memory (the gateway is the only writer while ymsgd runs). */
struct gw_pbcache {
    struct gw_lru_link link;        /* in gateway.pb_lru (first member) */
    char user[GW_USER_MAX + 1];     /* owner (key in pb_cache) */
    uint8_t *blob;                  /* copy of the stored blob */
    size_t len;                     /* its length */
};

struct gateway {
    struct gateway_config cfg;      /* settings (crossdomain points into policy storage below) */
    struct store *st;               /* accounts and phonebook blobs */
    struct gw_registry reg;         /* services */
    struct amf_limits lim;          /* decoder limits derived from cfg */
    struct amf_opts opts;           /* decode/encode options using lim */
    amf_arena *arena;               /* per-request arena, reset after each request */
    struct hmap by_cookie;          /* cookie -> session */
    struct hmap by_dsid;            /* DSId -> session */
    struct gw_lru lru;              /* sessions, most recently used first */
    size_t nsessions;               /* sessions in the tables */
    uint64_t req_gen;               /* current request number: its sessions are never evicted */
    struct login_throttle own_lt;   /* login throttle used when ymsgd does not lend its own */
    struct login_throttle *lt;      /* the throttle in use: &own_lt, or ymsgd's shared one */
    char decoy[256];                /* hash unknown accounts are checked against ("" = none, answer at once) */
    struct hmap pb_cache;           /* user -> struct gw_pbcache */
    struct gw_lru pb_lru;           /* cache entries, most recently used first */
    size_t pb_bytes;                /* blob bytes held by the cache (bounded by cfg.phonebook_cache) */
    uint8_t mac_key[32];            /* key for gw_session.cred_mac (per process) */
    char *crossdomain_xml;          /* the policy document */
    size_t crossdomain_len;         /* its length */
    char *crossdomain_domains;      /* copy of cfg.crossdomain */
    struct http_server *hs;         /* front the routes are registered on (NULL in tests) */
    gw_cookie_fn cookie_auth;       /* who a Y/T cookie pair belongs to (/yab), NULL = nobody */
    void *cookie_arg;               /* its argument */
    struct pwworker *pw;            /* argon2id checks off the loop (NULL: verified inline) */
    struct store_async *sa;         /* phonebook reads and writes off the loop (NULL: on the store inline) */
    int closing;                    /* gateway_free runs: waiting requests finish as at shutdown (done gets NULL) */
    struct pwcache *pwcache;        /* ymsgd's password verification cache (pwcache.h), or NULL */
    const struct gw_share *share;   /* the cluster's, or NULL (one node) */
};

struct in_body {
    struct amf_str target;     /* target URI */
    struct amf_str response;   /* response URI */
    struct amf_value *value;   /* decoded value, NULL when undecodable */
    int err;                   /* AMF_E* when value is NULL */
    size_t err_off;            /* offset of the offending byte in the request */
};

/* Per-request state.  A request whose login waits for a hash worker lives on the heap with its own
 * arena until the verdict arrives; then the header or body that asked runs again, and the rest
 * follow. */
struct gw_req {
    struct gateway *gw;            /* gateway */
    struct gw_request in;          /* the HTTP request (peer and cookie point at the copies below) */
    char peer[80];                 /* copy of in->peer */
    char cookie[GW_COOKIE_LEN + 1];/* copy of in->cookie */
    amf_arena *arena;              /* decoded request and reply values */
    struct gw_session *cookie_sess;/* session of the cookie, or the one an earlier body used */
    struct gw_session *out_sess;   /* session whose cookie the reply must set when new */
    int amf3;                      /* request carried AMF3 (version 3 with 0x11 values) */
    int cred_state;                /* Credentials header: 0 none, 1 ok, -1 failed */
    char cred_code[48];            /* fault code when cred_state is -1 */
    char cred_text[256];           /* fault text when cred_state is -1 */
    struct amf_header *hdrs;       /* decoded headers */
    uint32_t nh;                   /* their count */
    struct in_body *bodies;        /* decoded bodies */
    uint32_t nb;                   /* their count */
    const char *unknown_mu;        /* a must-understand header we do not support, or NULL */
    struct amf_packet reply;       /* reply bodies built so far */
    uint32_t next_hdr;             /* next header to run */
    uint32_t next_body;            /* next body to run */
    int async;                     /* logins may go to the hash workers */
    int suspended;                 /* a login handed its check to a worker: stop and wait */
    int pinned;                    /* cookie_sess/out_sess pins are held */
    int have_verdict;              /* the worker's answer for v_user/v_mac is in verdict */
    int verdict;                   /* 1 password matched, 0 not */
    char v_user[GW_USER_MAX + 1];  /* account of the check */
    uint8_t v_mac[16];             /* keyed hash of the password checked */
    int v_decoy;                   /* the check was against the decoy (unknown account): never ok */
    uint8_t v_hash[16];            /* digest of the stored hash checked (a revocation meanwhile changes it) */
    int abandoned;                 /* the client went away: finish silently */
    int pb_ready;                  /* the store worker's answer for the body that asked is below */
    long pb_rc;                    /* its phonebook_get size / phonebook_put code */
    uint8_t *pb_blob;              /* phonebook_get's copy (malloc'ed), or NULL */
    int acct_ready;                /* the store worker's account read for acct_user is below (login.c) */
    int acct_rc;                   /* its user_get code */
    char acct_user[GW_USER_MAX + 1]; /* the account read */
    char acct_hash[256];           /* its stored hash (STORE_OK) */
    gw_done_fn done;               /* completion of a suspended request */
    void *done_arg;                /* its argument */
};

/* crossdomain.xml (crossdomain.c): builds gw->crossdomain_xml from gw->crossdomain_domains.  0, or -1
 * with a message in err (a domain with characters that are not allowed). */
int gw_crossdomain_build(struct gateway *gw, char *err, size_t errlen);

/* A hash worker's verdict for a waiting request (gateway.c; ok = -1: the gateway is going away):
 * runs the rest of the request and completes it. */
void gw_login_checked(void *arg, int ok);
/* The store worker finished a phonebook job for a waiting request: the body that asked runs again with
 * the answer (rq->pb_ready), and the rest of the request follows (gateway.c). */
void gw_store_done(struct gw_req *rq);

/* Sessions (session.c). */
void gw_sessions_init(struct gateway *gw);
void gw_sessions_free(struct gateway *gw);
/* Live session by cookie / DSId (expired ones are dropped); touches it.  NULL when absent. */
struct gw_session *gw_session_by_cookie(struct gateway *gw, const char *cookie);
struct gw_session *gw_session_by_dsid(struct gateway *gw, const char *dsid);
/* A new anonymous session, or NULL when the table is full of logged-in sessions or memory is short. */
struct gw_session *gw_session_new(struct gateway *gw);
/* Gives s a fresh cookie value and a fresh DSId (at login, against session fixation: whoever knew
 * the old ones learns nothing).  0, or -1 when memory is short (s then stays reachable by neither
 * index until it expires, but callers may go on using it). */
int gw_session_rotate(struct gateway *gw, struct gw_session *s);
/* The stored phonebook (one format byte, 0 = AMF0 or 3 = AMF3, then that encoding of the list), for
 * Phonebook.sync and the address book (yab.c). */
enum { GW_PB_OK = 0, GW_PB_NOMEM = -1, GW_PB_STORE = -2, GW_PB_FORMAT = -3, GW_PB_CORRUPT = -4, GW_PB_ENCODE = -5 };
/* user's list decoded into arena (an empty array when there is none); *enc = AMF_AMF0/AMF_AMF3 as
 * stored (AMF3 for none).  GW_PB_OK or an error (corruption is logged, naming peer and user). */
int gw_pb_load(struct gateway *gw, const char *user, const char *peer, amf_arena *arena, struct amf_value **list,
               int *enc);
/* gw_pb_load from what phonebook_get answered (n: its size, or STORE_NOTFOUND / STORE_ERR) with its
 * blob (read on the store worker): cached, decoded. */
int gw_pb_loaded(struct gateway *gw, const char *user, const char *peer, amf_arena *arena, long n, const uint8_t *blob,
                 struct amf_value **list, int *enc);
/* The blob of list in encoding enc (format byte first) in *buf (amf_buf_free it).  GW_PB_OK, or
 * GW_PB_ENCODE with the reason in why (buf freed). */
int gw_pb_encode(struct gateway *gw, int enc, const struct amf_value *list, struct amf_buf *buf, char *why,
                 size_t whylen);
/* Replaces user's list with list in encoding enc, through the cache.  GW_PB_OK, GW_PB_STORE, or
 * GW_PB_ENCODE with the reason in why. */
int gw_pb_store(struct gateway *gw, const char *user, int enc, const struct amf_value *list, char *why, size_t whylen);
/* Ends every session logged in as user (revocation; on every node); returns how many. */
size_t gw_sessions_revoke(struct gateway *gw, const char *user);
/* s was just logged in (login.c): the other nodes of a cluster learn it, so its cookie and DSId work
 * on every node. */
void gw_session_publish(struct gateway *gw, struct gw_session *s);
/* s is logged out here (login.c): the other nodes end their copy. */
void gw_session_unpublish(struct gateway *gw, struct gw_session *s);
/* A random upper-case 8-4-4-4-12 UUID (version 4). */
void gw_uuid(char out[37]);

/* Login (login.c): checks user/password against the store under the throttling policy and
 * attaches the user to call->sess (creating the session when it is NULL).
 * Returns 1 logged in, 0 wrong user or password, or -1 with a fault set on call (throttled, busy).
 * When the call belongs to an asynchronous request and the hash workers run, the first call hands the
 * argon2id check to a worker, marks the request suspended and returns -1; the request re-runs the
 * same header or body when the verdict is in, and that second call uses it (without taking another
 * throttle token).  Everything the caller does before gw_login must therefore be repeatable. */
int gw_login(struct gw_call *call, const char *user, size_t ulen, const char *password, size_t plen);
/* Detaches the user from the call's session. */
void gw_logout(struct gw_call *call);

/* Phonebook service (phonebook.c). */
extern const struct gw_service gw_phonebook_service;
/* Phonebook blob cache (phonebook.c): a copy of what the store holds for user, or NULL. */
const struct gw_pbcache *gw_pbcache_get(struct gateway *gw, const char *user);
/* Remembers user's blob (replacing an older copy; dropped when larger than the budget). */
void gw_pbcache_put(struct gateway *gw, const char *user, const uint8_t *blob, size_t len);
/* Forgets user's blob (a login re-reads it, so changes made outside ymsgd are seen). */
void gw_pbcache_drop(struct gateway *gw, const char *user);
void gw_pbcache_free(struct gateway *gw);

#endif
