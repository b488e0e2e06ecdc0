/* The Redis directory and bus of a cluster; see cluster.h. */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "address.h"
#include "auth.h"
#include "conf.h"
#include "delivery.h"
#include "grow.h"
#include "log.h"
#include "presence.h"
#include "pwcache.h"
#include "pwshare.h"
#include "ratelimit.h"
#include "relay.h"
#include "sessions.h"
#include "wire.h"

#define CL_ALL "ymsg:all"           /* directory updates, every node listens */
#define CL_CHAN "ymsg:ch:"          /* + node: packets for that node's sessions */
#define CL_DIR "ymsg:dir:"          /* + node: hash user -> record */
#define CL_NODE "ymsg:node:"        /* + node: hash {addr, sessions, epoch, relay} */
#define CL_NODES "ymsg:nodes"       /* sorted set node -> last heartbeat (ms) */
#define CL_RETRY_MS 500             /* between reconnection attempts */

/* Another node's session as mirrored here: a struct conn (what handlers read) and what the mirror
 * needs to keep it current. */
struct cl_proxy {
    const char *node; /* its node's name (cl_node_name: kept as long as the cluster) */
    uint32_t seq;     /* low 32 bits of the seq of the record it was last updated from (compared mod 2^32) */
    uint32_t epoch;   /* low 32 bits of its node's incarnation (wall µs; two incarnations collide here only if they
                       * started a multiple of 2^32 µs, ~71.6 min, apart to the microsecond) */
};
/* A proxy is a struct conn's first CONN_MIRROR_SIZE bytes (server.h), then its struct cl_proxy: 136 B
 * instead of a whole struct conn (~470 B), times every session of every other node. */
#define CL_PROXY_OFF ((CONN_MIRROR_SIZE + _Alignof(struct cl_proxy) - 1) & ~(_Alignof(struct cl_proxy) - 1))
#define CL_PROXY_SIZE (CL_PROXY_OFF + sizeof(struct cl_proxy))
#if defined(__x86_64__) && defined(__GLIBC__)
/* 100,000 sessions over 6 nodes are half a million proxies: keep one in glibc's 144-byte chunk */
_Static_assert(CL_PROXY_SIZE <= 136, "a cluster proxy outgrew its malloc chunk (docs/PERFORMANCE.md)");
#endif

/* A node name as proxies point to it: "node:NAME" (their peer() for logs); the name is at +5. */
struct cl_name {
    struct cl_name *next; /* list link */
    char peer[];          /* "node:" NAME NUL */
};

/* What this node's watchers of a user could see of it before its session left here (a D frame, a K
 * that handed it to another node, a W frame's new watch) and that is told once the rest is known: a
 * session that comes back from the same hand-over (a duplicate login: D or K, then U) is a status
 * change to them, not a sign-off and a login. */
struct cl_handover {
    struct cl_handover *next; /* list link */
    struct pres_snap s;       /* the watchers and what they saw (presence.h) */
    double until;             /* monotonic time it is told anyway (0: at the end of the batch) */
    uint8_t gone;             /* the session left (D, K); 0: a watch began (W) */
};

/* A node as the heartbeat table shows it. */
struct cl_node {
    char name[WIRE_NODE_MAX + 1]; /* node name */
    char addr[128];               /* its advertise address */
    char relay[128];              /* its file relay's relay_host (key 250), "" when it has none */
    long sessions;                /* its session count at its last heartbeat */
    int64_t epoch;                /* its incarnation */
    int64_t seen_ms;              /* its last heartbeat (wall ms) */
    uint8_t live;                 /* in the last heartbeat table and recent */
    uint8_t dir_loaded;           /* its directory read since our last (re)connect */
};

/* Frames for one channel, published together. */
struct cl_batch {
    struct cl_batch *next;    /* queue order */
    struct cluster *cl;       /* owner (publish callback) */
    char chan[96];            /* channel */
    struct wire_buf b;        /* header + frames */
    uint8_t packets;          /* holds P frames: IMs in it go to the box if nobody receives it */
};

struct cluster {
    struct server *srv;           /* owning server */
    redisAsyncContext *pub;       /* commands and PUBLISH */
    redisAsyncContext *sub;       /* SUBSCRIBE */
    uint8_t pub_up, sub_up;       /* connected (sub: subscribed) */
    uint8_t registered;           /* local sessions written since the last (re)connect */
    uint8_t stopping;             /* cluster_stop running */
    char name[WIRE_NODE_MAX + 1]; /* this node */
    char advertise[128];          /* its pager address */
    struct cluster_addr addr;     /* where Redis listens (--redis) */
    int64_t epoch;                /* this incarnation (wall µs at start) */
    uint64_t seq;                 /* records sent */
    struct event *tick;           /* heartbeat and liveness */
    struct event *flush_ev;       /* publishes the turn's batches */
    struct event *quiet_ev;       /* publishes them CL_QUIET_US later (a delivery the sender must not time) */
    struct cl_batch *head, *tail; /* unpublished batches */
    size_t queued;                /* their bytes */
    struct cl_node *nodes;        /* heartbeat table */
    size_t nnodes, cap;           /* entries, allocated */
    double up_since;              /* monotonic time both connections came up (0 = down) */
    double retry_at;              /* monotonic time of the next connection attempt */
    long pending;                 /* commands sent, reply not yet seen */
    struct conn *freed;           /* proxies let go of, freed at the next tick (callers may hold them) */
    uint64_t frames_out, publishes; /* counters: frames queued, PUBLISH commands sent */
    struct auth_share share;      /* HTTP logins shared with the other nodes (auth.h) */
    struct pwcache_remote *pwc;   /* the password verification cache's copy in Redis (pwshare.c) */
    const struct cluster_gw *gw;  /* the AMF gateway whose sessions are shared (gwshare.c), or NULL */
    struct cl_handover *handovers; /* fan-outs waiting for the end of the batch or for the user's next record */
    int64_t last_tick_ms;         /* wall time of the last tick (a longer gap: this node's loop stalled) */
    int64_t calm_ms;              /* wall time before which no heartbeat table is judged (after a stall) */
    uint8_t reannounce;           /* declared dead by the others: announce our groups after registering */
    uint8_t listed;               /* a heartbeat of this connection found us in the table already */
    int64_t up_wall_ms;           /* wall time both connections came up (directories load after it) */
    struct cl_name *names;        /* node names the proxies point to (one per node name ever seen) */
};

static const struct transport cl_transport;

static int64_t cl_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- commands ------------------------------------------------------------------------------- */

static void cl_done(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cluster *cl = ac->data;
    if (cl) cl->pending--;
}

/* Sends a command on the publishing connection (pipelined); dropped when it is down (what it writes
 * is rewritten at the next registration). */
static void cl_cmd(struct cluster *cl, redisCallbackFn *cb, void *arg, int argc, const char **argv, const size_t *lens)
{
    if (!cl->pub_up) return;
    if (redisAsyncCommandArgv(cl->pub, cb ? cb : cl_done, arg, argc, argv, lens) == REDIS_OK) cl->pending++;
}

static void cl_cmd3(struct cluster *cl, const char *a, const char *b, const char *c)
{
    const char *v[3] = {a, b, c};
    size_t l[3] = {strlen(a), strlen(b), c ? strlen(c) : 0};
    cl_cmd(cl, NULL, NULL, c ? 3 : 2, v, l);
}

int cl_send(struct cluster *cl, redisCallbackFn *cb, void *arg, int argc, const char **argv, const size_t *lens)
{
    if (!cl->pub_up || redisAsyncCommandArgv(cl->pub, cb, arg, argc, argv, lens) != REDIS_OK) return -1;
    cl->pending++;
    return 0;
}

void cl_reply_seen(redisAsyncContext *ac)
{
    struct cluster *cl = ac->data;
    if (cl) cl->pending--;
}

/* ---- the mirror ----------------------------------------------------------------------------- */

static struct cl_proxy *cl_proxy_of(const struct conn *c) { return (struct cl_proxy *)((char *)c + CL_PROXY_OFF); }

/* The node name a proxy keeps (one copy per node name, not one per proxy); NULL when out of memory. */
static const char *cl_node_name(struct cluster *cl, const char *node)
{
    for (struct cl_name *n = cl->names; n; n = n->next)
        if (!strcmp(n->peer + 5, node)) return n->peer + 5;
    size_t len = strlen(node);
    struct cl_name *n = malloc(sizeof *n + 5 + len + 1);
    if (!n) return NULL;
    memcpy(n->peer, "node:", 5);
    memcpy(n->peer + 5, node, len + 1);
    n->next = cl->names;
    cl->names = n;
    return n->peer + 5;
}

static void cl_proxy_release(struct cluster *cl, struct conn *c)
{
    c->state = CONN_DEAD; /* (never in the watch index: that holds this node's sessions only) */
    c->next_dead = cl->freed;
    cl->freed = c;
}

static void cl_proxy_free(struct conn *c)
{
    free(c->status_msg);
    nameset_free(&c->sets);
    free(c);
}

static void cl_free_released(struct cluster *cl)
{
    while (cl->freed) {
        struct conn *c = cl->freed;
        cl->freed = c->next_dead;
        cl_proxy_free(c);
    }
}

/* Takes p out of the mirror.  fanout: this node tells its own watchers that p's user went off line
 * (its node died): exactly what a sign-off sends them. */
static void cl_drop(struct cluster *cl, struct conn *p, int fanout)
{
    struct server *srv = cl->srv;
    struct pres_snap s;
    if (fanout) cl_groups_node_lost(srv, p->user); /* its conferences and rooms here (groups.c) */
    if (fanout) pres_begin(srv, p->user, NULL, &s); /* this node's watchers: every node does its own */
    if (hmap_get(&srv->remote, p->user) == p) hmap_del(&srv->remote, p->user);
    p->state = CONN_CLOSING;
    if (fanout) pres_end(srv, &s, 0);
    cl_proxy_release(cl, p);
}

/* Copies a record's fields into a proxy (the name sets move). */
static void cl_apply(struct conn *c, struct wire_record *r)
{
    struct cl_proxy *p = cl_proxy_of(c);
    c->session_id = r->sid;
    c->version = r->version;
    c->old_proto = r->old_proto;
    c->invisible = r->invisible;
    c->away = r->away;
    c->away_sent = r->away_sent;
    c->msg_utf8 = r->msg_utf8;
    c->status = r->status;
    c->idle_since = r->idle_since;
    c->login_us = r->login_us;
    c->pres_seq = r->pres_seq;
    free(c->status_msg);
    c->status_msg = r->has_msg ? strdup(r->status_msg) : NULL;
    nameset_free(&c->sets);
    c->sets = r->sets;
    memset(&r->sets, 0, sizeof r->sets);
    p->seq = (uint32_t)r->seq;
    p->epoch = (uint32_t)r->epoch;
}

/* Keeps s (taken before user's session left here, or before a watch began) to be told later. */
static void cl_handover_put(struct cluster *cl, struct pres_snap *s, double until, int gone)
{
    struct cl_handover *h = calloc(1, sizeof *h);
    if (!h) { /* told now: a sign-off, or the watch's news, a little early */
        pres_end(cl->srv, s, 0);
        return;
    }
    h->s = *s;
    h->until = until;
    h->gone = (uint8_t)gone;
    h->next = cl->handovers;
    cl->handovers = h;
}

/* Takes the oldest hand-over of user's session that left (NULL when none). */
static struct cl_handover *cl_handover_take(struct cluster *cl, const char *user)
{
    struct cl_handover **pp, **found = NULL;
    for (pp = &cl->handovers; *pp; pp = &(*pp)->next)
        if ((*pp)->gone && !strcmp((*pp)->s.target, user)) found = pp; /* the list is newest first */
    if (!found) return NULL;
    struct cl_handover *h = *found;
    *found = h->next;
    return h;
}

/* Tells the hand-overs that are due (those of the batch just read, and those whose time ran out): what
 * their watchers see now decides (the user's session gone: offline; a watch that began: online). */
static void cl_handover_flush(struct cluster *cl)
{
    double now = rl_now();
    struct cl_handover **pp = &cl->handovers;
    while (*pp) {
        struct cl_handover *h = *pp;
        if (h->until > now) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        pres_end(cl->srv, &h->s, 0);
        free(h);
    }
}

/* The quiet end of a local session whose user logged in on another node later (a duplicate login
 * that crossed in flight): the same 0x02 66=42 and close as login_ymsg.c's kick; this node's watchers
 * hear of the hand-over from cl_install, the other nodes' from the record. */
static void cl_kick_local(struct conn *c, const char *node)
{
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_LOGOFF, YMSG_PKT_ERROR);
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, YMSG_AUTH_DUPLICATE_LOGIN);
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, "kicked", YMSG_AUTH_DUPLICATE_LOGIN, "signed in on node %s", node);
    conf_user_gone(c->srv, c->user); /* its conferences are this node's; the new client knows none */
    sessions_del(c->srv, c);
    c->state = CONN_CLOSING;
    delivery_close(c, 1, "duplicate login");
}

/* The proxies' allocator, called through a pointer the compiler cannot see through: a proxy is shorter
 * than a struct conn on purpose, and a known allocation size would make GCC's -Warray-bounds and
 * UBSan's object-size check take every access to its fields (all inside CONN_MIRROR_SIZE) for one past
 * its end.  Reads past the prefix are still caught by ASan (the allocation's real size). */
static void *(*volatile cl_proxy_calloc)(size_t, size_t) = calloc;

/* A new proxy of user's session on node (not in the mirror yet), or NULL when out of memory. */
static struct conn *cl_proxy_new(struct cluster *cl, const char *user, const char *node)
{
    const char *name = cl_node_name(cl, node);
    struct conn *c = name ? cl_proxy_calloc(1, CL_PROXY_SIZE) : NULL;
    if (!c) return NULL;
    c->srv = cl->srv;
    c->tp = &cl_transport;
    c->remote = 1;
    c->state = CONN_ONLINE;
    snprintf(c->user, sizeof c->user, "%s", user);
    cl_proxy_of(c)->node = name;
    c->accepted_at = rl_now(); /* when it entered the mirror */
    return c;
}

/* A record from another node (a U frame or its directory): installs or refreshes the proxy, and tells
 * this node's watchers of user what changed for them: what they could see before the record (the old
 * mirror, a local session it replaces, or a hand-over) against what they can see with it, sent as
 * pres_end() does on one node (the holder tells only its own watchers). */
static void cl_install(struct cluster *cl, const char *user, struct wire_record *r)
{
    struct server *srv = cl->srv;
    if (!strcmp(r->node, cl->name)) return; /* our own, read back from Redis */
    struct conn *l = sessions_local(srv, user);
    if (l && (r->login_us < l->login_us || (r->login_us == l->login_us && strcmp(r->node, cl->name) < 0))) return;
    struct conn *c = hmap_get(&srv->remote, user);
    int same = 0;
    if (c) {
        struct cl_proxy *p = cl_proxy_of(c);
        same = c->session_id == r->sid && !strcmp(p->node, r->node) && p->epoch == (uint32_t)r->epoch;
        if (same && (int32_t)((uint32_t)r->seq - p->seq) <= 0) return; /* stale: a newer record came first */
        if (!same && r->login_us < c->login_us) return; /* an older session of the user */
    }
    /* A login (0: nothing to compare), a session that replaces another (a duplicate login: a status
     * change, as login_complete() says), or the same session with a new status change. */
    int changed = !same || r->pres_seq != c->pres_seq;
    struct pres_snap s;
    pres_begin(srv, user, NULL, &s);
    struct cl_handover *h = !l && !c ? cl_handover_take(cl, user) : NULL;
    if (h) { /* its session left here a moment ago (D or K): they saw what they saw then */
        for (size_t i = 0; i < s.n; i++) {
            s.v[i].before = 0;
            for (size_t k = 0; k < h->s.n; k++)
                if (!strcmp(h->s.v[k].name, s.v[i].name)) s.v[i].before = h->s.v[k].before;
        }
        free(h->s.v);
        free(h);
    }
    if (l) cl_kick_local(l, r->node);
    if (c && !same) {
        cl_drop(cl, c, 0);
        c = NULL;
    }
    if (!c) {
        if (!(c = cl_proxy_new(cl, user, r->node))) {
            log_event(LOG_ERROR, NULL, user, "out_of_memory", 0, "cluster mirror");
            pres_end(srv, &s, 0);
            return;
        }
        if (hmap_put(&srv->remote, c->user, c) < 0) {
            log_event(LOG_ERROR, NULL, user, "out_of_memory", 0, "cluster mirror");
            free(c);
            pres_end(srv, &s, 0);
            return;
        }
    }
    cl_apply(c, r);
    pres_end(srv, &s, changed);
}

/* Drops every mirrored session of node (dead, or restarted as another incarnation than epoch). */
static void cl_drop_node(struct cluster *cl, const char *node, int64_t keep_epoch)
{
    struct server *srv = cl->srv;
    size_t pos = 0, n = 0, cap = 0;
    const char *k;
    void *v;
    struct conn **gone = NULL;
    int short_list = 0;
    /* Collected first, dropped after: a drop changes the map under the iteration (one pass instead of a
     * scan started again from the first slot after each drop). */
    while (hmap_next(&srv->remote, &pos, &k, &v)) {
        struct conn *c = v;
        if (strcmp(cl_proxy_of(c)->node, node) != 0 || (keep_epoch && cl_proxy_of(c)->epoch == (uint32_t)keep_epoch)) continue;
        if (n == cap && grow_array((void **)&gone, &cap, n, sizeof *gone, 256) < 0) {
            short_list = 1;
            break;
        }
        gone[n++] = c;
    }
    for (size_t i = 0; i < n; i++) /* a fan-out never frees a proxy (released ones wait for the tick) */
        if (hmap_get(&srv->remote, gone[i]->user) == gone[i]) cl_drop(cl, gone[i], 1);
    free(gone);
    for (pos = 0; short_list && hmap_next(&srv->remote, &pos, &k, &v);) { /* out of memory for the list */
        struct conn *c = v;
        if (strcmp(cl_proxy_of(c)->node, node) != 0 || (keep_epoch && cl_proxy_of(c)->epoch == (uint32_t)keep_epoch)) continue;
        cl_drop(cl, c, 1);
        pos = 0; /* the map changed under the iteration */
        n++;
    }
    if (n) hmap_shrink(&srv->remote); /* a dead node's share of the mirror need not stay allocated */
    if (n) log_event(LOG_WARN, NULL, NULL, "cluster_node_lost", (long)n, "node %s: its sessions are offline here", node);
}

/* ---- publishing ----------------------------------------------------------------------------- */

static void cl_flush(struct cluster *cl);
static void cl_publish_record(struct cluster *cl, struct conn *c);

/* Puts an IM that reached no session into its recipient's box, so that nothing accepted is lost. */
static void cl_rescue(struct cluster *cl, const struct wire_frame *f)
{
    struct server *srv = cl->srv;
    struct ymsg_packet pkt;
    size_t off = 0;
    if (ymsg_decode(f->data, f->len, &srv->lim, &pkt, &off) <= 0 || pkt.hdr.service != YMSG_SVC_MESSAGE ||
        pkt.hdr.status != YMSG_PKT_SERVERACK)
        return; /* presence and relays only matter to a live session */
    char from[NAME_MAX_LEN + 1], to[NAME_MAX_LEN + 1];
    struct ymsg_kv kf, kt, km, ku;
    if (ymsg_get(&pkt, YMSG_KEY_FROM, &kf) < 0 || ymsg_get(&pkt, YMSG_KEY_TO, &kt) < 0 ||
        ymsg_get(&pkt, YMSG_KEY_MSG, &km) < 0 || name_normalize((const char *)kf.val, kf.len, from) < 0 ||
        name_normalize((const char *)kt.val, kt.len, to) < 0)
        return;
    char *text = malloc(km.len + 1);
    if (!text) return;
    memcpy(text, km.val, km.len);
    text[km.len] = 0;
    int utf8 = ymsg_get(&pkt, YMSG_KEY_UTF8, &ku) == 0 && ymsg_kv_eq(&ku, "1");
    struct store_deposit d = {to, from, text, (int64_t)time(NULL), utf8, 0, srv->cfg->offline_max,
                              srv->cfg->offline_per_sender};
    int rc = srv->st->offline_deposit(srv->st, &d);
    free(text);
    log_event(LOG_INFO, NULL, from, "cluster_im_boxed", rc, "to %s: no live session took it", to);
}

static void cl_rescue_batch(struct cluster *cl, struct cl_batch *bt)
{
    char node[WIRE_NODE_MAX + 1];
    int64_t epoch;
    size_t off;
    struct wire_frame f;
    if (!bt->packets || wire_get_header(bt->b.p, bt->b.len, node, &epoch, &off) < 0) return;
    while (wire_next(bt->b.p, bt->b.len, &off, &f) == 1)
        if (f.type == WIRE_PACKET) cl_rescue(cl, &f);
}

static void cl_batch_free(struct cl_batch *bt)
{
    wire_buf_free(&bt->b);
    free(bt);
}

static void cl_published(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cl_batch *bt = arg;
    struct cluster *cl = bt->cl;
    redisReply *r = reply;
    cl->pending--;
    /* Nobody subscribed (the node is dead), or the connection went before the answer: the IMs in it
     * go to the box.  (An answer lost after Redis delivered it would store a copy: a duplicate in the
     * box is better than a lost message.) */
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer == 0) cl_rescue_batch(cl, bt);
    cl_batch_free(bt);
}

/* How long a quiet frame waits (srv->quiet_send): past the sender's own next answer, so the work it
 * sets off on Redis and the other node does not compete with that answer for the CPU.  (Measured with
 * `ymsg probe` across two nodes on 2 cores: a live IM to an invisible user on another node made the
 * sender's next keepalive answer 40-90 us slower than one to an offline user, p < 0.005; with the
 * delay, p > 0.5.  The recipient gets the IM 1 ms later.) */
#define CL_QUIET_US 1000

/* Queues one frame for chan. */
static void cl_queue(struct cluster *cl, const char *chan, const struct wire_frame *f)
{
    struct cl_batch *bt = cl->tail;
    if (!bt || strcmp(bt->chan, chan) != 0 || bt->b.len + f->len + 64 > (size_t)cl->srv->cfg->cluster_batch_max) {
        bt = calloc(1, sizeof *bt);
        if (!bt || wire_put_header(&bt->b, cl->name, cl->epoch) < 0) {
            free(bt);
            log_event(LOG_ERROR, NULL, f->user, "out_of_memory", 0, "cluster frame dropped");
            return;
        }
        bt->cl = cl;
        snprintf(bt->chan, sizeof bt->chan, "%s", chan);
        if (cl->tail) cl->tail->next = bt;
        else cl->head = bt;
        cl->tail = bt;
        cl->queued += bt->b.len;
    }
    size_t before = bt->b.len;
    if (wire_put_frame(&bt->b, f) < 0) {
        log_event(LOG_ERROR, NULL, f->user, "out_of_memory", 0, "cluster frame dropped");
        return;
    }
    cl->queued += bt->b.len - before;
    cl->frames_out++;
    if (f->type == WIRE_PACKET) bt->packets = 1;
    /* Redis unreachable for long: the oldest batches give up (their IMs go to the box). */
    while (cl->queued > (size_t)cl->srv->cfg->cluster_queue_max && cl->head && cl->head != bt) {
        struct cl_batch *old = cl->head;
        cl->head = old->next;
        cl->queued -= old->b.len;
        cl_rescue_batch(cl, old);
        cl_batch_free(old);
    }
    if (!cl->pub_up || !cl->flush_ev) return;
    if (!cl->srv->quiet_send) event_active(cl->flush_ev, EV_TIMEOUT, 0);
    else if (!evtimer_pending(cl->quiet_ev, NULL)) {
        struct timeval tv = {0, CL_QUIET_US};
        evtimer_add(cl->quiet_ev, &tv);
    }
}

static void cl_flush(struct cluster *cl)
{
    while (cl->pub_up && cl->head) {
        struct cl_batch *bt = cl->head;
        cl->head = bt->next;
        if (!cl->head) cl->tail = NULL;
        cl->queued -= bt->b.len;
        bt->next = NULL;
        const char *v[3] = {"PUBLISH", bt->chan, (const char *)bt->b.p};
        size_t l[3] = {7, strlen(bt->chan), bt->b.len};
        if (redisAsyncCommandArgv(cl->pub, cl_published, bt, 3, v, l) != REDIS_OK) {
            cl_rescue_batch(cl, bt);
            cl_batch_free(bt);
            continue;
        }
        cl->pending++;
        cl->publishes++;
    }
}

static void cl_flush_cb(evutil_socket_t fd, short what, void *arg) { cl_flush(arg); }

/* ---- the transport of another node's session ------------------------------------------------ */

static int cl_tp_write(struct conn *c, const void *data, size_t len)
{
    struct cluster *cl = c->srv->cluster;
    char chan[96];
    snprintf(chan, sizeof chan, CL_CHAN "%s", cl_proxy_of(c)->node);
    struct wire_frame f = {WIRE_PACKET, 0, "", c->session_id, data, (uint32_t)len};
    snprintf(f.user, sizeof f.user, "%s", c->user);
    cl_queue(cl, chan, &f);
    return 0;
}

static size_t cl_tp_queued(const struct conn *c) { return 0; } /* the owning node counts its out_cap */

/* Ends the session on its node: quietly when it is no longer ONLINE here (a duplicate login took it
 * over: login_ymsg.c detaches it first), else with its sign-off fan-out there (revocation). */
static void cl_tp_close(struct conn *c, int flush, const char *why)
{
    struct cluster *cl = c->srv->cluster;
    if (c->state >= CONN_DEAD) return;
    char chan[96];
    snprintf(chan, sizeof chan, CL_CHAN "%s", cl_proxy_of(c)->node);
    struct wire_frame f = {WIRE_KICK, c->state != CONN_ONLINE, "", c->session_id, (const uint8_t *)why,
                           (uint32_t)strlen(why)};
    snprintf(f.user, sizeof f.user, "%s", c->user);
    cl_queue(cl, chan, &f);
    if (c->state != CONN_ONLINE) { /* already out of the mirror: let go of it */
        if (hmap_get(&c->srv->remote, c->user) == c) hmap_del(&c->srv->remote, c->user);
        cl_proxy_release(cl, c);
    }
}

static void cl_tp_online(struct conn *c) {}
static const char *cl_tp_peer(const struct conn *c) { return cl_proxy_of(c)->node - 5; } /* "node:NAME" */

/* Never called: a mirror session is not a connection, the reaper never sees it (cl_proxy_free). */
static void cl_tp_release(struct conn *c) {}

static const struct transport cl_transport = {cl_tp_write, cl_tp_queued, cl_tp_close, cl_tp_online,
                                              cl_tp_peer, cl_tp_release, "node"};

/* ---- what the registry tells us ------------------------------------------------------------- */

/* Writes c's record to the directory and broadcasts it. */
static void cl_publish_record(struct cluster *cl, struct conn *c)
{
    struct wire_buf rec = {0};
    if (wire_put_record(&rec, c, cl->name, cl->epoch, ++cl->seq) < 0) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "cluster record not sent");
        wire_buf_free(&rec);
        return;
    }
    char key[128];
    snprintf(key, sizeof key, CL_DIR "%s", cl->name);
    const char *v[4] = {"HSET", key, c->user, (const char *)rec.p};
    size_t l[4] = {4, strlen(key), strlen(c->user), rec.len};
    cl_cmd(cl, NULL, NULL, 4, v, l);
    struct wire_frame f = {WIRE_UPDATE, 0, "", c->session_id, rec.p, (uint32_t)rec.len};
    snprintf(f.user, sizeof f.user, "%s", c->user);
    cl_queue(cl, CL_ALL, &f);
    wire_buf_free(&rec);
}

static void cl_hook_changed(struct server *srv, struct conn *c) { cl_publish_record(srv->cluster, c); }

static void cl_hook_ended(struct server *srv, struct conn *c)
{
    struct cluster *cl = srv->cluster;
    char key[128];
    snprintf(key, sizeof key, CL_DIR "%s", cl->name);
    cl_cmd3(cl, "HDEL", key, c->user);
    struct wire_frame f = {WIRE_DELETE, 0, "", c->session_id, NULL, 0};
    snprintf(f.user, sizeof f.user, "%s", c->user);
    cl_queue(cl, CL_ALL, &f);
}

/* Another node's session unregistered here by a handler (its user logged in here): out of the mirror;
 * the caller still holds it (it closes it through cl_tp_close), so it is released there. */
static void cl_hook_forget(struct server *srv, struct conn *c)
{
    if (hmap_get(&srv->remote, c->user) == c) hmap_del(&srv->remote, c->user);
}

/* A watch-list change made here for another node's session (an authorisation answered here; server.h):
 * a W frame to its node, which keeps its index and tells it what it sees now.  c NULL: target's account
 * is gone, every node forgets it. */
static void cl_hook_watch(struct server *srv, struct conn *c, const char *target, int op)
{
    struct cluster *cl = srv->cluster;
    if (c && !c->remote) return; /* this node's index already has it: records carry no lists */
    struct wire_frame f = {WIRE_WATCH, (uint8_t)op, "", c ? c->session_id : 0, (const uint8_t *)target,
                           (uint32_t)strlen(target)};
    char chan[96];
    if (c) snprintf(chan, sizeof chan, CL_CHAN "%s", cl_proxy_of(c)->node);
    else f.len = 0; /* forget: the id is the frame's user, to every node */
    snprintf(f.user, sizeof f.user, "%s", c ? c->user : target);
    cl_queue(cl, c ? chan : CL_ALL, &f);
}

static const struct session_hooks cl_hooks = {cl_hook_changed, cl_hook_ended, cl_hook_forget, cl_hook_watch};

void cl_queue_all(struct cluster *cl, const struct wire_frame *f) { cl_queue(cl, CL_ALL, f); }

const struct cluster_gw *cl_gw_of(struct cluster *cl) { return cl->gw; }

void cluster_gw_attach(struct server *srv, const struct cluster_gw *gw)
{
    if (srv->cluster) srv->cluster->gw = gw;
}

/* ---- receiving ------------------------------------------------------------------------------ */

static void cl_on_frame(struct cluster *cl, const char *node, const struct wire_frame *f)
{
    struct server *srv = cl->srv;
    struct conn *c;
    struct wire_record r;
    switch (f->type) {
    case WIRE_PACKET:
        c = sessions_local(srv, f->user);
        if (c && c->session_id == f->sid) delivery_send_packet(c, f->data, f->len);
        else cl_rescue(cl, f); /* the session went meanwhile */
        break;
    case WIRE_KICK:
        c = sessions_local(srv, f->user);
        if (!c || c->session_id != f->sid) break;
        if (f->flag) { /* taken over by a login elsewhere: its record tells our watchers (a hand-over) */
            struct pres_snap s;
            pres_begin(srv, c->user, NULL, &s);
            conf_user_gone(srv, c->user);
            sessions_del(srv, c);
            c->state = CONN_CLOSING;
            cl_handover_put(cl, &s, rl_now() + srv->cfg->cluster_node_timeout_ms / 1000.0, 1);
        }
        delivery_close(c, 1, f->flag ? "duplicate login" : "ended by another node");
        break;
    case WIRE_UPDATE:
        if (wire_get_record(f->data, f->len, &r) < 0 || r.sid != f->sid || strcmp(r.node, node) != 0) {
            log_event(LOG_WARN, NULL, f->user, "cluster_bad_record", 0, "from node %s", node);
            break;
        }
        cl_install(cl, f->user, &r);
        wire_record_free(&r);
        break;
    case WIRE_DELETE:
        c = hmap_get(&srv->remote, f->user);
        if (c && c->session_id == f->sid && !strcmp(cl_proxy_of(c)->node, node)) {
            /* A sign-off, unless the same batch brings the user's next session (a duplicate login on
             * that node): told at the end of the batch. */
            struct pres_snap s;
            pres_begin(srv, f->user, NULL, &s);
            cl_drop(cl, c, 0);
            cl_handover_put(cl, &s, 0, 1);
        }
        break;
    case WIRE_LOGIN: {
        struct wire_login w;
        struct auth_login l;
        if (!srv->auth || wire_get_login(f->data, f->len, &w) < 0) break;
        memset(&l, 0, sizeof l);
        snprintf(l.user, sizeof l.user, "%s", f->user);
        snprintf(l.crumb, sizeof l.crumb, "%s", w.crumb);
        snprintf(l.y, sizeof l.y, "%s", w.y);
        snprintf(l.t, sizeof l.t, "%s", w.t);
        snprintf(l.b, sizeof l.b, "%s", w.b);
        auth_login_import(srv->auth, &l, w.ttl_ms / 1000.0);
        sodium_memzero(&w, sizeof w);
        sodium_memzero(&l, sizeof l);
        break;
    }
    case WIRE_GATEWAY:
        if (cl->gw) cl_gw_frame(cl->gw, f);
        break;
    case WIRE_CONF:
    case WIRE_ROOM:
        cl_groups_frame(srv, node, f);
        break;
    case WIRE_WATCH: {
        char id[NAME_MAX_LEN + 1];
        if (f->flag == WIRE_WATCH_FORGET) { /* an account deleted: its id is the frame's user */
            if (f->len == 0) presence_forget_here(srv, f->user);
            break;
        }
        c = sessions_local(srv, f->user);
        if (!c || c->session_id != f->sid || f->flag > WIRE_WATCH_ON || name_normalize((const char *)f->data, f->len, id) < 0)
            break;
        if (f->flag == WIRE_WATCH_ON) {
            /* An authorisation answered on id's node: this node tells c whether it sees id now, after
             * the answer itself (the P frame behind this one), as one node does (buddy.c). */
            struct pres_snap s;
            pres_begin(srv, id, c->user, &s);
            presence_watch(c, id);
            cl_handover_put(cl, &s, 0, 0);
        } else {
            tagset_del(&c->sets, SET_STEALTH, id); /* a declined request: the row, and its stealth flag, are gone */
            presence_unwatch(c, id);
        }
        break;
    }
    case WIRE_FORGET: {
        char y[AUTH_SECRET_LEN];
        if (!srv->auth || f->len == 0 || f->len >= sizeof y) break;
        memcpy(y, f->data, f->len);
        y[f->len] = 0;
        if (f->flag == 1) auth_login_spent(srv->auth, y); /* its Y/T stay good for the web here too */
        else auth_login_forget(srv->auth, y);
        break;
    }
    }
}

static void cl_on_batch(struct cluster *cl, const uint8_t *p, size_t len)
{
    char node[WIRE_NODE_MAX + 1];
    int64_t epoch;
    size_t off;
    struct wire_frame f;
    int rc;
    if (wire_get_header(p, len, node, &epoch, &off) < 0) {
        log_event(LOG_WARN, NULL, NULL, "cluster_bad_batch", (long)len, "not a node's batch; ignored");
        return;
    }
    if (!strcmp(node, cl->name)) return; /* our own broadcast */
    while ((rc = wire_next(p, len, &off, &f)) == 1) cl_on_frame(cl, node, &f);
    if (rc < 0) log_event(LOG_WARN, NULL, NULL, "cluster_bad_batch", (long)off, "from node %s: rest ignored", node);
    cl_handover_flush(cl);
}

/* ---- heartbeat, liveness and the others' directories ---------------------------------------- */

static struct cl_node *cl_node_get(struct cluster *cl, const char *name, int create)
{
    for (size_t i = 0; i < cl->nnodes; i++)
        if (!strcmp(cl->nodes[i].name, name)) return &cl->nodes[i];
    if (!create || grow_array((void **)&cl->nodes, &cl->cap, cl->nnodes, sizeof *cl->nodes, 8) < 0) return NULL;
    struct cl_node *n = &cl->nodes[cl->nnodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    return n;
}

/* HGETALL ymsg:dir:NODE answered: installs its records (a node that started, or came back after Redis). */
static void cl_dir_loaded(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cluster *cl = ac->data;
    redisReply *r = reply;
    if (cl) cl->pending--;
    if (!cl || !r || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        char user[NAME_MAX_LEN + 1];
        struct wire_record rec;
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            name_normalize(k->str, (size_t)k->len, user) < 0 || wire_get_record((const uint8_t *)v->str, (size_t)v->len, &rec) < 0)
            continue;
        cl_install(cl, user, &rec);
        wire_record_free(&rec);
    }
}

/* HGETALL ymsg:node:NODE answered: its address, session count and incarnation. */
static void cl_node_info(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cluster *cl = ac->data;
    redisReply *r = reply;
    char *name = arg;
    if (cl) cl->pending--;
    struct cl_node *n = cl && r && r->type == REDIS_REPLY_ARRAY ? cl_node_get(cl, name, 0) : NULL;
    for (size_t i = 0; n && i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (!strcmp(k->str, "addr")) snprintf(n->addr, sizeof n->addr, "%s", v->str);
        else if (!strcmp(k->str, "relay")) snprintf(n->relay, sizeof n->relay, "%s", v->str);
        else if (!strcmp(k->str, "sessions")) n->sessions = strtol(v->str, NULL, 10);
        else if (!strcmp(k->str, "epoch")) {
            int64_t e = strtoll(v->str, NULL, 10);
            if (n->epoch && e != n->epoch) cl_drop_node(cl, n->name, e); /* restarted: the old one's sessions are gone */
            if (e != n->epoch) cl_groups_announce(cl->srv); /* new to us: it lacks our conferences and rooms */
            n->epoch = e;
        }
    }
    free(name);
}

/* This node's loop, or Redis, stood still for ms (seen at now_ms): the heartbeat table is not judged until
 * every live node has had two heartbeats to get its score in again. */
static void cl_stalled(struct cluster *cl, int64_t now_ms, const char *what, int64_t ms)
{
    int64_t calm = now_ms + 2 * cl->srv->cfg->cluster_heartbeat_ms;
    if (now_ms >= cl->calm_ms) /* a new stall (not the same one seen again) */
        log_event(LOG_WARN, NULL, NULL, "cluster_stall", (long)ms, "node %s: %s; nobody judged dead until a heartbeat table asked after it", cl->name, what);
    if (calm > cl->calm_ms) cl->calm_ms = calm;
}

/* ZRANGE ymsg:nodes WITHSCORES answered: who is alive.  A node silent for cluster_node_timeout_ms is
 * dead: its sessions leave the mirror (watchers here are told) and its keys are removed.
 *
 * A heartbeat's age is judged at the time the question was SENT (arg: its wall ms), not when the answer
 * is read: a loop busy for seconds (a login storm) reads an old answer late, and judging it by the clock
 * then declared healthy nodes dead.  Nothing is judged right after a stall (cl_stalled): this node's loop
 * or Redis stood still longer than half the timeout, so the others' heartbeats may not have got in yet. */
static void cl_nodes_seen(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cluster *cl = ac->data;
    redisReply *r = reply;
    int64_t sent_ms = 0;
    if (arg) memcpy(&sent_ms, arg, sizeof sent_ms);
    free(arg);
    if (cl) cl->pending--;
    if (!cl || !r || r->type != REDIS_REPLY_ARRAY) return;
    struct server *srv = cl->srv;
    int64_t now_ms = cl_wall_us() / 1000, timeout = srv->cfg->cluster_node_timeout_ms;
    if (now_ms - sent_ms > timeout / 2) cl_stalled(cl, now_ms, "redis answered late", now_ms - sent_ms);
    int judge = sent_ms >= cl->calm_ms;
    for (size_t i = 0; i < cl->nnodes; i++) cl->nodes[i].live = 0;
    int self_listed = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, cl->name)) self_listed = 1;
        redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->len > WIRE_NODE_MAX) continue;
        struct cl_node *n = cl_node_get(cl, k->str, 1);
        if (!n) continue;
        n->seen_ms = strtoll(v->str, NULL, 10);
        n->live = sent_ms - n->seen_ms <= timeout || !judge;
        if (strcmp(n->name, cl->name) != 0 && n->live) {
            char key[128], *name = strdup(n->name);
            snprintf(key, sizeof key, CL_NODE "%s", n->name);
            const char *a[2] = {"HGETALL", key};
            size_t l[2] = {7, strlen(key)};
            if (name) cl_cmd(cl, cl_node_info, name, 2, a, l);
            if (!n->dir_loaded && n->seen_ms >= cl->up_wall_ms) {
                /* Read once it heartbeated after we came up: a node registers its sessions before its
                 * heartbeat, and a dead incarnation never heartbeats again, so after a whole-cluster
                 * restart the stale records of the old ones are not installed (and fanned out) here
                 * only to be dropped again when each node's new incarnation shows up. */
                snprintf(key, sizeof key, CL_DIR "%s", n->name);
                l[1] = strlen(key); /* the key is one byte shorter than CL_NODE's: it asked for "...\0" */
                cl_cmd(cl, cl_dir_loaded, NULL, 2, a, l);
                n->dir_loaded = 1;
            }
        }
    }
    /* Judge the others only after a whole timeout connected: after Redis restarted, the table fills up
     * again as the nodes re-register. */
    if (rl_now() - cl->up_since < (double)timeout / 1000.0) return;
    if (!self_listed && cl->registered) {
        /* Another node found us silent too long (a stalled loop) and dropped our sessions: write them
         * again (cl_register); the records tell the watchers elsewhere they are back, and the groups
         * announced after them put our members back into their conferences and rooms. */
        log_event(LOG_WARN, NULL, NULL, "cluster_declared_dead", 0, "node %s: registering again", cl->name);
        cl->registered = 0; /* their watchers hear of our users from the records again (cl_install) */
        cl->reannounce = 1;
    }
    if (!judge) return;
    for (size_t i = 0; i < cl->nnodes; i++) {
        struct cl_node *n = &cl->nodes[i];
        if (n->live || !strcmp(n->name, cl->name)) continue;
        cl_drop_node(cl, n->name, 0);
        char key[128];
        cl_cmd3(cl, "ZREM", CL_NODES, n->name);
        snprintf(key, sizeof key, CL_DIR "%s", n->name);
        cl_cmd3(cl, "DEL", key, NULL);
        snprintf(key, sizeof key, CL_NODE "%s", n->name);
        cl_cmd3(cl, "DEL", key, NULL);
        cl->nodes[i--] = cl->nodes[--cl->nnodes];
    }
    /* Mirrored sessions of nodes that are not in the table at all (removed by another node).  A node
     * that just started may send its records before this table shows it: they get one timeout. */
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->remote, &pos, &k, &v)) {
        struct conn *c = v;
        const char *node = cl_proxy_of(c)->node;
        if (cl_node_get(cl, node, 0) || rl_now() - c->accepted_at < (double)timeout / 1000.0) continue;
        cl_drop_node(cl, node, 0);
        pos = 0;
    }
}

/* Writes every local session to the directory and broadcasts it (after a (re)connect). */
static void cl_register(struct cluster *cl)
{
    struct server *srv = cl->srv;
    char key[128];
    snprintf(key, sizeof key, CL_DIR "%s", cl->name);
    cl_cmd3(cl, "DEL", key, NULL);
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        struct conn *c = v;
        if (c->state == CONN_ONLINE) cl_publish_record(cl, c);
    }
    cl->registered = 1;
    if (cl->reannounce) cl_groups_rejoin(srv); /* after the records: the members exist there again */
    cl->reannounce = 0;
    log_event(LOG_INFO, NULL, NULL, "cluster_registered", (long)srv->online.len, "node %s", cl->name);
}

static void cl_heartbeat_relay(struct cluster *cl, const char *key);

/* Our heartbeat's ZADD answered: 1 is a new member of the table.  After a heartbeat that found us there,
 * that means another node removed us (it found us silent for a timeout: a loop that stood still) and
 * dropped our sessions from its mirror: we write them again (cl_register), and our groups after them.
 * (The heartbeat table alone cannot tell: our ZADD puts us back before the ZRANGE that follows it.) */
static void cl_zadd_done(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cluster *cl = ac->data;
    redisReply *r = reply;
    if (cl) cl->pending--;
    if (!cl || !r || r->type != REDIS_REPLY_INTEGER) return;
    if (r->integer == 1 && cl->listed && cl->registered) {
        log_event(LOG_WARN, NULL, NULL, "cluster_declared_dead", 0, "node %s: registering again", cl->name);
        cl->registered = 0; /* their watchers hear of our users from the records again (cl_install) */
        cl->reannounce = 1;
    }
    cl->listed = 1;
}

static void cl_heartbeat(struct cluster *cl)
{
    struct server *srv = cl->srv;
    char now[32], key[128], count[32], epoch[32], ttl[32];
    long long ttl_ms = srv->cfg->cluster_node_timeout_ms * 3;
    snprintf(now, sizeof now, "%lld", (long long)(cl_wall_us() / 1000));
    snprintf(count, sizeof count, "%zu", srv->online.len);
    snprintf(epoch, sizeof epoch, "%lld", (long long)cl->epoch);
    snprintf(ttl, sizeof ttl, "%lld", ttl_ms);
    const char *za[4] = {"ZADD", CL_NODES, now, cl->name};
    size_t zl[4] = {4, strlen(CL_NODES), strlen(now), strlen(cl->name)};
    cl_cmd(cl, cl_zadd_done, NULL, 4, za, zl);
    snprintf(key, sizeof key, CL_NODE "%s", cl->name);
    const char *ha[8] = {"HSET", key, "addr", cl->advertise, "sessions", count, "epoch", epoch};
    size_t hl[8] = {4, strlen(key), 4, strlen(cl->advertise), 8, strlen(count), 5, strlen(epoch)};
    cl_cmd(cl, NULL, NULL, 8, ha, hl);
    cl_heartbeat_relay(cl, key);
    cl_cmd3(cl, "PEXPIRE", key, ttl);
    snprintf(key, sizeof key, CL_DIR "%s", cl->name);
    cl_cmd3(cl, "PEXPIRE", key, ttl);
    const char *ra[5] = {"ZRANGE", CL_NODES, "0", "-1", "WITHSCORES"};
    size_t rl[5] = {6, strlen(CL_NODES), 1, 2, 10};
    int64_t *sent = malloc(sizeof *sent); /* the answer is judged at this time (cl_nodes_seen) */
    if (!sent) return;                    /* the next tick asks again */
    *sent = cl_wall_us() / 1000;
    if (!cl->pub_up || redisAsyncCommandArgv(cl->pub, cl_nodes_seen, sent, 5, ra, rl) != REDIS_OK) free(sent);
    else cl->pending++;
}

/* ---- connections ---------------------------------------------------------------------------- */

static void cl_connect(struct cluster *cl);

static void cl_went_down(struct cluster *cl, const char *why)
{
    if (cl->up_since > 0 || cl->pub_up || cl->sub_up)
        log_event(LOG_WARN, NULL, NULL, "cluster_redis_down", 0, "%s; reconnecting", why);
    cl->up_since = 0;
    cl->registered = 0;
    cl->listed = 0;
    for (size_t i = 0; i < cl->nnodes; i++) cl->nodes[i].dir_loaded = 0; /* Redis may have lost them: again */
    cl->retry_at = rl_now() + CL_RETRY_MS / 1000.0;
}

static void cl_on_message(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cluster *cl = ac->data;
    redisReply *r = reply;
    if (!cl || !r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (!strcmp(r->element[0]->str, "subscribe")) {
        if (!cl->sub_up && r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == 2) {
            cl->sub_up = 1;
            if (cl->pub_up) cl->up_since = rl_now();
            if (cl->pub_up) cl->up_wall_ms = cl_wall_us() / 1000;
            log_event(LOG_INFO, NULL, NULL, "cluster_up", 0, "node %s subscribed", cl->name);
        }
        return;
    }
    if (!strcmp(r->element[0]->str, "message") && r->element[2]->type == REDIS_REPLY_STRING)
        cl_on_batch(cl, (const uint8_t *)r->element[2]->str, (size_t)r->element[2]->len);
}

static void cl_on_connect(const redisAsyncContext *ac, int status)
{
    struct cluster *cl = ac->data;
    if (!cl) return;
    int pub = ac == cl->pub;
    if (status != REDIS_OK) {
        if (pub) cl->pub = NULL;
        else cl->sub = NULL;
        cl_went_down(cl, ac->errstr);
        return;
    }
    if (pub) {
        cl->pub_up = 1;
        if (cl->sub_up) cl->up_since = rl_now();
        if (cl->sub_up) cl->up_wall_ms = cl_wall_us() / 1000;
        cl_flush(cl);
    } else {
        char chan[96];
        snprintf(chan, sizeof chan, CL_CHAN "%s", cl->name);
        const char *a[3] = {"SUBSCRIBE", CL_ALL, chan};
        size_t l[3] = {9, strlen(CL_ALL), strlen(chan)};
        redisAsyncCommandArgv(cl->sub, cl_on_message, NULL, 3, a, l);
    }
}

static void cl_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct cluster *cl = ac->data;
    if (!cl) return;
    if (ac == cl->pub) {
        cl->pub = NULL;
        cl->pub_up = 0;
        cl->pending = 0;
    } else {
        cl->sub = NULL;
        cl->sub_up = 0;
    }
    if (!cl->stopping) cl_went_down(cl, status == REDIS_OK ? "closed" : ac->errstr);
}

static redisAsyncContext *cl_open(struct cluster *cl)
{
    redisAsyncContext *ac = cl->addr.path[0] ? redisAsyncConnectUnix(cl->addr.path) : redisAsyncConnect(cl->addr.host, cl->addr.port);
    if (!ac) return NULL;
    if (ac->err) {
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = cl;
    redisLibeventAttach(ac, cl->srv->base);
    redisAsyncSetConnectCallback(ac, cl_on_connect);
    redisAsyncSetDisconnectCallback(ac, cl_on_disconnect);
    return ac;
}

static void cl_connect(struct cluster *cl)
{
    if (!cl->pub) cl->pub = cl_open(cl);
    if (!cl->sub) cl->sub = cl_open(cl);
    if (!cl->pub || !cl->sub) cl_went_down(cl, "cannot open a connection");
}

static void cl_tick(evutil_socket_t fd, short what, void *arg)
{
    struct cluster *cl = arg;
    int64_t now_ms = cl_wall_us() / 1000, hb = cl->srv->cfg->cluster_heartbeat_ms;
    if (cl->last_tick_ms && now_ms - cl->last_tick_ms > hb + cl->srv->cfg->cluster_node_timeout_ms / 2)
        cl_stalled(cl, now_ms, "event loop stalled", now_ms - cl->last_tick_ms - hb);
    cl->last_tick_ms = now_ms;
    cl_free_released(cl);
    cl_handover_flush(cl); /* hand-overs whose next record never came: a sign-off */
    if ((!cl->pub || !cl->sub) && rl_now() >= cl->retry_at) cl_connect(cl);
    if (!cl->pub_up || !cl->sub_up) return;
    if (!cl->registered) cl_register(cl);
    cl_heartbeat(cl);
    cl_flush(cl);
}

/* ---- start, stop, /capacity ----------------------------------------------------------------- */

int cluster_start(struct server *srv, char *err, size_t errlen)
{
    const struct config *cfg = srv->cfg;
    if (!cfg->redis[0]) return 0;
    struct cluster *cl = calloc(1, sizeof *cl);
    if (!cl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cl->srv = srv;
    char first[128];
    if (cfg->advertise[0]) snprintf(cl->advertise, sizeof cl->advertise, "%s", cfg->advertise);
    else if (config_list_item(cfg->ymsg_listen, 0, first, sizeof first) == 0) snprintf(cl->advertise, sizeof cl->advertise, "%s", first);
    const char *name = cfg->node_name[0] ? cfg->node_name : cl->advertise;
    if (cluster_addr_parse(cfg->redis, &cl->addr, err, errlen) < 0) goto fail;
    if (!cluster_node_name_valid(name)) {
        snprintf(err, errlen, "node_name: 1 to %d printable characters without spaces, got \"%s\"", WIRE_NODE_MAX, name);
        goto fail;
    }
    memcpy(cl->name, name, strlen(name) + 1); /* valid: at most WIRE_NODE_MAX characters */
    cl->epoch = cl_wall_us();
    cl->tick = event_new(srv->base, -1, EV_PERSIST, cl_tick, cl);
    cl->flush_ev = event_new(srv->base, -1, 0, cl_flush_cb, cl);
    cl->quiet_ev = evtimer_new(srv->base, cl_flush_cb, cl);
    if (!cl->tick || !cl->flush_ev || !cl->quiet_ev) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    struct timeval tv = {cfg->cluster_heartbeat_ms / 1000, (cfg->cluster_heartbeat_ms % 1000) * 1000};
    event_add(cl->tick, &tv);
    if (cl_groups_attach(cl, srv, cl->name) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    hmap_init(&srv->remote);
    srv->cluster = cl;
    srv->hooks = &cl_hooks;
    cl->share.issued = cl_share_issued;
    cl->share.used = cl_share_used;
    cl->share.arg = cl;
    if (srv->auth) auth_set_share(srv->auth, &cl->share);
    if (auth_pwcache(srv->auth) && (cl->pwc = cl_pwc_new(cl))) pwcache_set_remote(auth_pwcache(srv->auth), cl->pwc);
    cl_connect(cl);
    log_event(LOG_INFO, NULL, NULL, "cluster", 0, "node %s advertises %s, redis %s", cl->name, cl->advertise, cfg->redis);
    return 0;
fail:
    if (cl->tick) event_free(cl->tick);
    if (cl->flush_ev) event_free(cl->flush_ev);
    if (cl->quiet_ev) event_free(cl->quiet_ev);
    free(cl);
    return -1;
}

void cluster_stop(struct server *srv)
{
    struct cluster *cl = srv->cluster;
    if (!cl) return;
    cl->stopping = 1;
    if (cl->pub_up) {
        char key[128];
        cl_flush(cl);
        cl_cmd3(cl, "ZREM", CL_NODES, cl->name);
        snprintf(key, sizeof key, CL_DIR "%s", cl->name);
        cl_cmd3(cl, "DEL", key, NULL);
        snprintf(key, sizeof key, CL_NODE "%s", cl->name);
        cl_cmd3(cl, "DEL", key, NULL);
        /* Let the last sign-offs and the clean-up reach Redis (at most 1 s). */
        double until = rl_now() + 1.0;
        while (cl->pub_up && cl->pending > 0 && rl_now() < until) event_base_loop(srv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    srv->hooks = NULL;
    cl_groups_detach(srv);
    if (srv->auth) auth_set_share(srv->auth, NULL);
    if (auth_pwcache(srv->auth)) pwcache_set_remote(auth_pwcache(srv->auth), NULL);
    cl->gw = NULL;
    if (cl->pub) redisAsyncFree(cl->pub); /* unanswered cache questions: a miss (pwshare.c) */
    if (cl->sub) redisAsyncFree(cl->sub);
    free(cl->pwc);
    while (cl->head) {
        struct cl_batch *bt = cl->head;
        cl->head = bt->next;
        cl_rescue_batch(cl, bt);
        cl_batch_free(bt);
    }
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->remote, &pos, &k, &v)) cl_proxy_release(cl, v);
    hmap_free(&srv->remote);
    while (cl->handovers) { /* nobody to tell: the server stops */
        struct cl_handover *h = cl->handovers;
        cl->handovers = h->next;
        free(h->s.v);
        free(h);
    }
    cl_free_released(cl);
    while (cl->names) {
        struct cl_name *n = cl->names;
        cl->names = n->next;
        free(n);
    }
    event_free(cl->tick);
    event_free(cl->flush_ev);
    event_free(cl->quiet_ev);
    free(cl->nodes);
    log_event(LOG_INFO, NULL, NULL, "cluster_stopped", (long)cl->publishes, "frames=%llu", (unsigned long long)cl->frames_out);
    free(cl);
    srv->cluster = NULL;
}

int cluster_capacity_host(struct server *srv, char *host, size_t cap)
{
    struct cluster *cl = srv->cluster;
    if (!cl) return -1;
    const char *best = cl->advertise;
    long best_n = (long)srv->online.len;
    for (size_t i = 0; i < cl->nnodes; i++) {
        const struct cl_node *n = &cl->nodes[i];
        if (!n->live || !n->addr[0] || !strcmp(n->name, cl->name)) continue;
        if (n->sessions < best_n) {
            best = n->addr;
            best_n = n->sessions;
        }
    }
    int port;
    if (config_split_hostport(best, host, cap, &port) < 0) snprintf(host, cap, "%s", best);
    return 0;
}

/* ---- the file relays of the other nodes (http/relay.c proxies a download held by one) ---------- */

/* The heartbeat hash's "relay" field: this node's relay_host, so the others may proxy to it (none:
 * removed, so an earlier incarnation's within the hash's lifetime is not used). */
static void cl_heartbeat_relay(struct cluster *cl, const char *key)
{
    const char *rh = relay_host(cl->srv->relay);
    if (!rh) {
        cl_cmd3(cl, "HDEL", key, "relay");
        return;
    }
    const char *v[4] = {"HSET", key, "relay", rh};
    size_t l[4] = {4, strlen(key), 5, strlen(rh)};
    cl_cmd(cl, NULL, NULL, 4, v, l);
}

int cluster_relay_live(struct server *srv, const char *relay)
{
    struct cluster *cl = srv->cluster;
    if (!cl || !relay || !relay[0]) return 0;
    for (size_t i = 0; i < cl->nnodes; i++) {
        const struct cl_node *n = &cl->nodes[i];
        if (n->live && !strcmp(n->relay, relay) && strcmp(n->name, cl->name) != 0) return 1;
    }
    return 0;
}
