/* ymsgd core types: the server context and the per-connection state shared by the protocol modules
 * (conn, login, presence, im, buddy).  One event loop, no threads: every handler runs to completion.
 *
 * Memory per logged-in session is kept small on purpose (see docs/PERFORMANCE.md): struct conn holds
 * fixed-size names and pointers only; optional state (custom status text, per-session visibility
 * list, login challenge) is allocated only while it exists, and a TCP session's buffers and write
 * event exist only while it has input or output waiting, capped by max_packet / out_cap (conn.c). */
#ifndef YMSGD_SERVER_H
#define YMSGD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>
#include <ymsg/ymsg.h>

#include "config.h"
#include "hmap.h"
#include "ratelimit.h"
#include "store.h"

#define NAME_MAX_LEN 32 /* longest Yahoo id accepted */

struct auth;
struct http_server;
struct relay;
struct store_async;
struct cluster;
struct chat;

/* A small sorted set of ids (binary search), allocated only when non-empty.  One pointer: every session
 * holds one and every node mirrors every other node's sessions, so an empty set costs 8 bytes, not 16. */
struct nameset_buf {
    uint32_t n;   /* entries */
    char *v[];    /* sorted, each strdup'ed */
};
struct nameset {
    struct nameset_buf *b; /* NULL when empty */
};
static inline uint32_t nameset_len(const struct nameset *s) { return s->b ? s->b->n : 0; }
static inline const char *nameset_at(const struct nameset *s, uint32_t i) { return s->b->v[i]; }
int nameset_has(const struct nameset *s, const char *name);
int nameset_add(struct nameset *s, const char *name); /* 0, or -1 when out of memory */
void nameset_del(struct nameset *s, const char *name);
void nameset_free(struct nameset *s);
/* Several sets of ids in one nameset: each entry is a tag byte then the id, so the sets a session keeps
 * (struct conn's `sets`) cost one pointer together, and nothing while all are empty. */
#define SET_ALLOW 'a'   /* 0xBA: ids this invisible user appears online to (this session) */
#define SET_IGNORE 'i'  /* copy of the stored ignore list, so can_see() needs no query */
#define SET_STEALTH 's' /* copy of the stored 0xB9 permanent-stealth buddies */
#define SET_TALKED 't'  /* ids this session sent an IM to: they may know it is online (im.h) */
int tagset_has(const struct nameset *s, char tag, const char *name);
int tagset_add(struct nameset *s, char tag, const char *name); /* 0, or -1 when out of memory or too long */
void tagset_del(struct nameset *s, char tag, const char *name);
void tagset_clear(struct nameset *s, char tag);
/* The entries of one tag are nameset_at(s, first .. first + count - 1) + 1; returns count. */
uint32_t tagset_range(const struct nameset *s, char tag, uint32_t *first);
struct evconnlistener;
struct evbuffer;

struct conn;
struct watch_entry;

/* How a session's bytes leave (Redis's connection type): the TCP code implements it (pager/conn.c);
 * a WebSocket or another node can implement it too, and tests use a fake one.  Handlers never call it
 * directly: they go through pager/delivery.h. */
struct transport {
    int (*write)(struct conn *c, const void *data, size_t len); /* queue bytes: 0, or -1 on failure */
    size_t (*queued)(const struct conn *c);                     /* bytes queued, not yet written */
    void (*close)(struct conn *c, int flush, const char *why);  /* see conn_close() */
    void (*online)(struct conn *c);                             /* logged in: idle timeout from now on */
    const char *(*peer)(const struct conn *c);                  /* "addr:port" for logs */
    void (*release)(struct conn *c); /* reaper: frees c (allocated by conn_new) and the transport's state */
    const char *name;                /* "tcp", "websocket" (admin listings) */
};

/* Connection states (memcached style: one documented value per state). */
enum conn_state {
    CONN_NEW,        /* accepted; only 0x4C / 0x57 (and keepalives) are acted on */
    CONN_CHALLENGED, /* 0x57 answered with a challenge; waiting for 0x54 */
    CONN_ONLINE,     /* logged in: registered in srv->online, all services dispatched */
    CONN_CLOSING,    /* no more input; output is flushed, then the connection is freed */
    CONN_DEAD,       /* on the reaper list; freed at the next loop iteration */
};

/* The first part, up to CONN_MIRROR_SIZE, is all that a cluster mirror of another node's session has
 * (server/cluster/cluster.c allocates only that much): what can_see(), the fan-outs and the cluster
 * transport read of a session that may be remote.  Fields after it belong to this node's sessions
 * only; reading one through a mirror is out of bounds (the ASan build reports it). */
struct conn {
    /* ---- every session, this node's or a mirror of another node's ---- */
    struct server *srv;        /* owning server */
    const struct transport *tp; /* how packets leave (TCP: conn.c; WebSocket: http/ws.c; cluster: its node) */
    struct conn *next_dead;    /* reaper list link (a mirror's: the cluster's release list) */
    char *status_msg;          /* custom status text (key 19) or NULL */
    struct nameset sets;       /* its allow, ignore, stealth and talked sets, by tag (SET_*) */
    double accepted_at;        /* monotonic accept time (a mirror's: when it entered the mirror) */
    int64_t idle_since;        /* wall time the idle status (999) began */
    int64_t login_us;          /* wall time of the login (µs): of two sessions of one user the later wins */
    uint32_t session_id;       /* random id put in every packet header we send */
    uint32_t status;           /* presence code (0-9, 99, 999); never 12 (see invisible) */
    uint32_t pres_seq;         /* status changes announced (pres_end): a cluster record with a new one is one */
    uint16_t version;          /* client's header version */
    uint8_t state;             /* enum conn_state */
    uint8_t old_proto;         /* YMSG <= 12: 0x55 lists and 0x01/0x03/0x04 presence */
    uint8_t invisible;         /* appears offline to everyone not in allow */
    uint8_t away;              /* key 47: 0 available, 1 away/busy, 2 idle */
    uint8_t away_sent;         /* the client's last status change carried key 47: relay it as sent */
    uint8_t msg_utf8;          /* status_msg is UTF-8 (key 97) */
    uint8_t slow;              /* output passed out_cap: the reaper closes it; nothing more is queued */
    uint8_t remote;            /* another node's session (the cluster's mirror, srv->remote) */
    char user[NAME_MAX_LEN + 1]; /* id from 0x57; the authenticated user once ONLINE */
    /* ---- this node's sessions only (CONN_MIRROR_SIZE ends here) ---- */
    struct event *rd;          /* TCP: the socket's read event (its timeout: login_timeout, then idle_timeout) */
    struct event *wr;          /* TCP: write event while the socket does not take our output, or NULL */
    struct evbuffer *in;       /* TCP: input not handled yet (a partial frame, input held for a store job), or NULL */
    struct evbuffer *out;      /* TCP: output not written yet, or NULL */
    struct conn *next_flush;   /* TCP: link in srv->flush (output written on the flusher's turn) */
    struct conn *pl_prev, *pl_next; /* this address's pre-login list (oldest first), see conn.c */
    double online_at;          /* monotonic time of the login (`ymsgd ctl online`) */
    uint32_t garbage;          /* bytes of the current run of non-YMSG input */
    uint16_t malformed;        /* malformed frames and garbage runs so far (max_malformed) */
    struct conn *next_slow;    /* link in srv->slow while marked as a slow reader */
    char *challenge;           /* challenge sent in 0x57 (freed after login) */
    struct watch_entry **watching; /* watch-index entries of this session's authorised buddies, list order (presence.h) */
    uint32_t n_watching, cap_watching; /* entries used / allocated in watching */
    int64_t offline_upto;      /* offline messages written up to this id; deleted once flushed */
    int64_t offline_after;     /* offline paging position: last id queued (pager/offline.h) */
    double refused_at;         /* monotonic time of the last "not sent" notice this session got */
    uint32_t refused_hash;     /* ... and a hash of the recipient it named (im.c) */
    float tokens;              /* packet token bucket (session_rate / session_burst) */
    float tokens_at;           /* monotonic time of the last refill, relative to srv->t0 */
    uint8_t version_le;        /* client wrote its version little-endian (YMSG 9/10) */
    uint8_t invisible_by_c6;   /* invisible since a 0xC6 10=12 (OpenYMSG): a 0xC6 with another code ends it */
    uint8_t legacy_method;     /* challenge was issued for method 0 (13=0) */
    uint8_t counted_addr;      /* holds a slot in the per-address connection count */
    uint8_t on_prelist;        /* linked in its address's pre-login list */
    uint8_t offline_more;      /* offline messages still wait for the output to drain */
    char peer[56];             /* "addr:port" for logs (a mirror's: its transport's peer()) */
    uint8_t addr_off, addr_len; /* where in peer its address (no port): the rate-limit key (conn_addr) */
    struct login_wait *login_wait; /* a 0x54 waiting for another node's crumb (login_ymsg.c), or NULL */
    void (*resume)(struct conn *c); /* the transport's: runs the input that waited for a store job (sessions_hold) */
    struct conn *next_resume;  /* link in srv->resume (input to run again on the reaper's turn) */
    uint16_t store_jobs;       /* store jobs in flight for this session: its input waits, it is not freed */
    uint8_t on_resume;         /* linked in srv->resume */
    uint8_t on_flush;          /* TCP: linked in srv->flush */
    uint8_t rd_paused;         /* TCP: reading stopped: a maximal packet of input is waiting */
    uint8_t reap_waits;        /* the reaper found it dead with a store job in flight: sessions_release queues it again */
};
/* A session's address (no port, no brackets): the key of its per-address limits. */
#define CONN_ADDR_MAX 48
static inline const char *conn_addr(const struct conn *c, char out[CONN_ADDR_MAX])
{
    memcpy(out, c->peer + c->addr_off, c->addr_len);
    out[c->addr_len] = 0;
    return out;
}
/* Bytes of struct conn a cluster mirror has (see above). */
#define CONN_MIRROR_SIZE offsetof(struct conn, rd)

/* What the session registry tells the cluster (server/cluster), when there is one (srv->hooks). */
struct session_hooks {
    void (*changed)(struct server *srv, struct conn *c); /* a local session logged in or changed what others see */
    void (*ended)(struct server *srv, struct conn *c);   /* a local session left the registry */
    void (*forget)(struct server *srv, struct conn *c);  /* another node's session is unregistered here */
    /* Another node's session c started (op 1) or stopped (0) watching target here (presence.h): its
     * node is told.  op 2 (c NULL): target's account is gone, every node forgets it. */
    void (*watch)(struct server *srv, struct conn *c, const char *target, int op);
};

/* What the cluster replicates of the pager's groups (server/cluster/groups.c; NULL on one node): every
 * node keeps a copy of the conference table and of room membership (docs/CONFERENCES.md §7). */
struct conf_snap;
struct group_hooks {
    const char *node; /* this node's name (orders two changes of one conference made at once) */
    /* a conference changed here (s->nslots 0: it ended); actor: whose packet changed it */
    void (*conf_changed)(struct server *srv, const struct conf_snap *s, const char *actor);
    /* a local member of chat room `room` (len bytes) joined (op 1) or left it (op 0) */
    void (*chat_changed)(struct server *srv, int op, const char *user, const char *room, size_t len);
};

/* Pager listen addresses accepted in ymsg_listen (the real pager answered on 5050 and fallbacks). */
#define SERVER_MAX_YMSG_LISTEN 8

struct server {
    struct event_base *base;       /* the one event loop */
    struct config *cfg;            /* settings */
    struct store *st;              /* persistence */
    struct store_async *sa;        /* store jobs off the loop (PostgreSQL), or NULL: run inline (store_async.h) */
    struct auth *auth;             /* tokens, crumbs, login throttling */
    struct http_server *http;      /* HTTP / HTTPS front (token login and registered routes) */
    struct relay *relay;           /* file-transfer relay (http/relay.h), or NULL before start-up */
    struct evconnlistener *ymsg_lis[SERVER_MAX_YMSG_LISTEN]; /* YMSG pager listeners (ymsg_listen A,B,...) */
    size_t n_ymsg_lis;             /* entries used in ymsg_lis */
    struct event *reaper;          /* frees dead connections outside their callbacks */
    struct event *flusher;         /* writes the output queued by this loop turn's handlers (conn.c) */
    struct conn *flush;            /* TCP sessions with output queued since the flusher last ran */
    struct event *sweeper;         /* periodic expiry of tokens and rate-limit entries */
    struct event *sig_int, *sig_term; /* graceful stop */
    struct event *drain_check;     /* during shutdown: leaves the loop once every session is flushed */
    struct conn *dead;             /* connections waiting for the reaper */
    struct conn *slow;             /* slow readers the reaper closes (never inside a fan-out) */
    struct conn *resume;           /* sessions whose store job finished: their waiting input runs on the reaper's turn */
    struct hmap online;            /* user -> struct conn (state ONLINE) */
    struct hmap watch;             /* id -> struct watch_entry: the online sessions watching that id (presence.h) */
    struct hmap remote;            /* user -> struct conn of a session on another node (cluster mirror) */
    const struct session_hooks *hooks; /* the cluster's, or NULL (one node) */
    struct cluster *cluster;       /* Redis directory and bus (server/cluster), or NULL */
    const struct group_hooks *groups; /* the cluster's replication of conferences and rooms, or NULL */
    uint8_t quiet_send;            /* set around a delivery its sender must not be able to time (delivery.c):
                                    * another node's transport sends it a little later, not this loop turn */
    struct conf_table *conf;       /* conferences (pager/conf.c), created on first use, or NULL */
    struct chat *chat;             /* chat rooms (pager/chat.h), or NULL: room services dropped */
    struct rl_table conn_rl;       /* per-address connection rate and concurrency */
    struct hmap prelogin;          /* address -> struct conn_prelist: its pre-login connections */
    struct ymsg_limits lim;        /* decoder caps from the config */
    size_t nconns;                 /* open YMSG connections */
    double t0;                     /* monotonic start time (sessions keep float offsets from it) */
    uint64_t dropped_flood;        /* packets dropped by the per-session rate limit */
    int stopping;                  /* set by SIGINT/SIGTERM */
};

/* Validates and lower-cases a Yahoo id (1..32 of [a-z0-9._-], starting with a letter or digit). */
int name_normalize(const char *in, size_t len, char out[NAME_MAX_LEN + 1]);

#endif
