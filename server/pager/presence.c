/* Presence fan-out and invisibility; see presence.h for the rules. */
#include "presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery.h"
#include "grow.h"
#include "sessions.h"
#include "log.h"
#include "store_async.h"

int can_see(struct server *srv, const char *viewer, const char *target)
{
    if (strcmp(viewer, target) == 0) return 1;
    struct conn *t = sessions_get(srv, target);
    if (!t) return 0;
    /* The target is online, so its ignore and stealth lists are in memory (loaded at login, kept in
     * step by the handlers that change them): no query on this hot path. */
    if (t->invisible && !tagset_has(&t->sets, SET_ALLOW, viewer)) return 0;
    if (tagset_has(&t->sets, SET_STEALTH, viewer) || tagset_has(&t->sets, SET_IGNORE, viewer)) return 0;
    return 1;
}

/* ---- packet encoders ------------------------------------------------------------------------ */

static void put_status_keys(struct ymsg_builder *b, const struct conn *t)
{
    ymsg_build_int(b, YMSG_KEY_STATUS, t->status);
    if (t->status == YMSG_STATUS_CUSTOM || t->status_msg) {
        ymsg_build_str(b, YMSG_KEY_CUSTOM_MSG, t->status_msg ? t->status_msg : "");
        ymsg_build_int(b, YMSG_KEY_AWAY, t->away);
        if (t->msg_utf8) ymsg_build_str(b, YMSG_KEY_UTF8, "1");
    } else if (t->away_sent) {
        /* A standard status with an explicit away flag (10=2 47=1): buddies' clients read 47 too. */
        ymsg_build_int(b, YMSG_KEY_AWAY, t->away);
    }
}

static void put_idle(struct ymsg_builder *b, const struct conn *t)
{
    if (t->status == YMSG_STATUS_IDLE) {
        long long secs = (long long)time(NULL) - t->idle_since;
        ymsg_build_int(b, YMSG_KEY_IDLE_TIME, secs < 0 ? 0 : secs);
    }
}

/* One 0xF0 entry (300=315 … 301=315). */
static void put_f0_entry(struct ymsg_builder *b, const struct conn *t)
{
    ymsg_build_int(b, YMSG_KEY_ENTRY_BEGIN, 315);
    ymsg_build_str(b, YMSG_KEY_BUDDY, t->user);
    put_status_keys(b, t);
    ymsg_build_str(b, YMSG_KEY_FLAG, "1");
    put_idle(b, t);
    ymsg_build_int(b, YMSG_KEY_ENTRY_END, 315);
}

/* Old-client (0x01 / 0x03 / 0x04) per-buddy keys. */
static void put_old_entry(struct ymsg_builder *b, const struct conn *t)
{
    ymsg_build_str(b, YMSG_KEY_BUDDY, t->user);
    ymsg_build_int(b, YMSG_KEY_STATUS, t->status);
    ymsg_build_str(b, YMSG_KEY_SESSION_ID, "0");
    ymsg_build_str(b, YMSG_KEY_IN_CHAT, "0");
    ymsg_build_str(b, YMSG_KEY_FLAG, "1");
    if (t->status == YMSG_STATUS_CUSTOM || t->status_msg) {
        ymsg_build_str(b, YMSG_KEY_CUSTOM_MSG, t->status_msg ? t->status_msg : "");
        ymsg_build_int(b, YMSG_KEY_AWAY, t->away);
    } else if (t->away_sent) {
        ymsg_build_int(b, YMSG_KEY_AWAY, t->away);
    }
    put_idle(b, t);
}

static void send_online(struct conn *v, const struct conn *t)
{
    struct ymsg_builder *b;
    if (v->old_proto) {
        b = delivery_begin(v, YMSG_SVC_LOGON, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_LOGIN_ID, v->user);
        ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, v->user);
        ymsg_build_str(b, YMSG_KEY_NUM_ONLINE, "1");
        put_old_entry(b, t);
    } else {
        b = delivery_begin(v, YMSG_SVC_STATUS_15, YMSG_PKT_SERVERACK);
        ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 315);
        put_f0_entry(b, t);
        ymsg_build_int(b, YMSG_KEY_LIST_END, 315);
    }
    delivery_send(v);
}

/* The only packet that ever says "t is gone": identical for sign-off and for becoming invisible,
 * stealthed or ignored (§8.2 rule 1). */
static void send_offline(struct conn *v, const char *t)
{
    struct ymsg_builder *b = delivery_begin(v, YMSG_SVC_LOGOFF, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_BUDDY, t);
    delivery_send(v);
}

static void send_change(struct conn *v, const struct conn *t)
{
    struct ymsg_builder *b;
    if (v->old_proto) {
        int back = t->status == YMSG_STATUS_AVAILABLE && !t->status_msg;
        b = delivery_begin(v, back ? YMSG_SVC_ISBACK : YMSG_SVC_ISAWAY, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_LOGIN_ID, v->user);
        put_old_entry(b, t);
    } else {
        b = delivery_begin(v, YMSG_SVC_Y6_STATUS_UPDATE, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_BUDDY, t->user);
        put_status_keys(b, t);
        put_idle(b, t);
    }
    delivery_send(v);
}

/* ---- the watch index ----------------------------------------------------------------------- */

struct watch_entry {
    char target[NAME_MAX_LEN + 1]; /* watched id: the key in srv->watch */
    struct conn **w;               /* sessions watching it, sorted by address (binary search) */
    size_t n, cap;                 /* used / allocated */
};

/* Index of c in e->w, or -(insertion point) - 1. */
static long watch_find(const struct watch_entry *e, const struct conn *c)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)e->w[mid] == (uintptr_t)c) return (long)mid;
        if ((uintptr_t)e->w[mid] < (uintptr_t)c) lo = mid + 1;
        else hi = mid;
    }
    return -(long)lo - 1;
}

/* Takes c out of e (and drops e when nobody watches its id any more). */
static void watch_leave(struct server *srv, struct watch_entry *e, const struct conn *c)
{
    long i = watch_find(e, c);
    if (i >= 0) {
        memmove(&e->w[i], &e->w[i + 1], (e->n - (size_t)i - 1) * sizeof *e->w);
        e->n--;
    }
    if (e->n == 0) {
        hmap_del(&srv->watch, e->target);
        free(e->w);
        free(e);
    }
}

/* Adds c to target's entry: 1 when added, 0 when it was there, -1 (logged) when out of memory. */
static int watch_add(struct conn *c, const char *target)
{
    struct server *srv = c->srv;
    struct watch_entry *e = hmap_get(&srv->watch, target);
    if (e && watch_find(e, c) >= 0) return 0;
    size_t cap = c->cap_watching;
    if (grow_array((void **)&c->watching, &cap, c->n_watching, sizeof *c->watching, 16) < 0 || cap > UINT32_MAX)
        goto oom;
    c->cap_watching = (uint32_t)cap;
    if (!e) {
        if (!(e = calloc(1, sizeof *e))) goto oom;
        snprintf(e->target, sizeof e->target, "%s", target);
        if (hmap_put(&srv->watch, e->target, e) < 0) {
            free(e);
            goto oom;
        }
    }
    if (grow_array((void **)&e->w, &e->cap, e->n, sizeof *e->w, 4) < 0) {
        if (e->n == 0) watch_leave(srv, e, c);
        goto oom;
    }
    long i = -watch_find(e, c) - 1;
    memmove(&e->w[i + 1], &e->w[i], (e->n - (size_t)i) * sizeof *e->w);
    e->w[i] = c;
    e->n++;
    c->watching[c->n_watching++] = e;
    return 1;
oom:
    log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "watch index: %s", target);
    return -1;
}

/* Takes c out of target's entry: 1 when it was there. */
static int watch_del(struct conn *c, const char *target)
{
    struct watch_entry *e = hmap_get(&c->srv->watch, target);
    if (!e || watch_find(e, c) < 0) return 0;
    for (uint32_t i = 0; i < c->n_watching; i++)
        if (c->watching[i] == e) {
            memmove(&c->watching[i], &c->watching[i + 1], (c->n_watching - i - 1) * sizeof *c->watching);
            c->n_watching--;
            break;
        }
    watch_leave(c->srv, e, c);
    return 1;
}

/* Another node's session (a mirror: never in this index) hears of a change made here from its own
 * node (server.h, session_hooks.watch), which keeps its index. */
static void watch_tell(struct conn *c, const char *target, int op)
{
    struct server *srv = c->srv;
    if (!srv->hooks || c->state != CONN_ONLINE || hmap_get(&srv->remote, c->user) != c) return;
    srv->hooks->watch(srv, c, target, op);
}

int presence_watch(struct conn *c, const char *target)
{
    if (c->remote) {
        watch_tell(c, target, 1);
        return 0;
    }
    return watch_add(c, target) < 0 ? -1 : 0;
}

void presence_unwatch(struct conn *c, const char *target)
{
    if (c->remote) watch_tell(c, target, 0);
    else watch_del(c, target);
}

void presence_unwatch_all(struct conn *c)
{
    for (uint32_t i = 0; i < c->n_watching; i++) watch_leave(c->srv, c->watching[i], c);
    free(c->watching);
    c->watching = NULL;
    c->n_watching = c->cap_watching = 0;
}

void presence_forget_here(struct server *srv, const char *target)
{
    struct watch_entry *e = hmap_get(&srv->watch, target);
    if (!e) return;
    for (size_t i = 0; i < e->n; i++) {
        struct conn *w = e->w[i];
        for (uint32_t k = 0; k < w->n_watching; k++)
            if (w->watching[k] == e) {
                memmove(&w->watching[k], &w->watching[k + 1], (w->n_watching - k - 1) * sizeof *w->watching);
                w->n_watching--;
                break;
            }
    }
    hmap_del(&srv->watch, e->target);
    free(e->w);
    free(e);
}

void presence_forget(struct server *srv, const char *target)
{
    presence_forget_here(srv, target);
    if (srv->hooks) srv->hooks->watch(srv, NULL, target, 2);
}

int presence_watches(struct server *srv, const char *viewer, const char *target)
{
    struct conn *v = sessions_local(srv, viewer);
    struct watch_entry *e = v ? hmap_get(&srv->watch, target) : NULL;
    return e && watch_find(e, v) >= 0;
}

/* ---- transitions ---------------------------------------------------------------------------- */

struct collect {
    struct pres_snap *s;   /* snapshot being filled */
    size_t cap;            /* allocated entries */
    struct server *srv;    /* for online look-ups */
    int failed;            /* a watcher could not be kept (out of memory) */
};

static void collect_watcher(struct collect *c, const char *name)
{
    /* This node's sessions only: in a cluster every node tells its own watchers, from the records
     * (server/cluster/cluster.h), so each watcher hears a change exactly once. */
    if (!sessions_local(c->srv, name)) return;
    if (grow_array((void **)&c->s->v, &c->cap, c->s->n, sizeof *c->s->v, 16) < 0) {
        c->failed = 1;
        return;
    }
    struct pres_entry *e = &c->s->v[c->s->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->before = 0;
}

int pres_begin(struct server *srv, const char *target, const char *only_viewer, struct pres_snap *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->target, sizeof s->target, "%s", target);
    struct collect c = {s, 0, srv, 0};
    if (only_viewer) {
        collect_watcher(&c, only_viewer);
    } else {
        /* The watch index, not the store: O(watchers) memory work, no query (this node's sessions
         * only: in a cluster every node tells its own). */
        struct watch_entry *e = hmap_get(&srv->watch, target);
        for (size_t i = 0; e && i < e->n; i++)
            if (sessions_local(srv, e->w[i]->user) == e->w[i]) collect_watcher(&c, e->w[i]->user);
    }
    for (size_t i = 0; i < s->n; i++) {
        /* Only an authorised watcher can have been told anything. */
        if (only_viewer && !presence_watches(srv, s->v[i].name, target)) continue;
        s->v[i].before = (uint8_t)can_see(srv, s->v[i].name, target);
    }
    if (c.failed) {
        log_event(LOG_ERROR, NULL, target, "out_of_memory", (long)s->n, "presence fan-out: watchers missing");
        return -1;
    }
    return 0;
}

void pres_end(struct server *srv, struct pres_snap *s, int status_changed)
{
    struct conn *l = sessions_local(srv, s->target);
    if (l && status_changed) l->pres_seq++; /* the other nodes' watchers get the status change from the record */
    sessions_changed(srv, s->target); /* the cluster's record first: watchers elsewhere may answer at once */
    for (size_t i = 0; i < s->n; i++) {
        struct conn *v = sessions_local(srv, s->v[i].name);
        if (!v) continue;
        int after = presence_watches(srv, s->v[i].name, s->target) && can_see(srv, s->v[i].name, s->target);
        struct conn *t = sessions_get(srv, s->target);
        if (s->v[i].before && !after) send_offline(v, s->target);
        else if (!s->v[i].before && after && t) send_online(v, t);
        else if (s->v[i].before && after && status_changed && t) send_change(v, t);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* ---- lists ---------------------------------------------------------------------------------- */

struct namelist {
    char (*names)[NAME_MAX_LEN + 1]; /* collected ids */
    size_t n, cap;                   /* used / allocated */
};

/* The watch list keeps only the slots it uses once the login's list is loaded (every online session
 * holds one; an added buddy grows it again). */
static void watching_fit(struct conn *c)
{
    if (!c->n_watching || c->cap_watching <= c->n_watching) return;
    struct watch_entry **v = realloc(c->watching, c->n_watching * sizeof *v);
    if (!v) return; /* kept as it was */
    c->watching = v;
    c->cap_watching = c->n_watching;
}

int presence_send_online_list(struct conn *c)
{
    struct server *srv = c->srv;
    watching_fit(c);
    /* The session's authorised buddies are its watch-index entries, in list order: no query. */
    struct namelist l = {0};
    if (c->n_watching && grow_array((void **)&l.names, &l.cap, 0, sizeof *l.names, c->n_watching) < 0) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", (long)c->n_watching, "online list not sent");
        return -1;
    }
    for (uint32_t i = 0; i < c->n_watching; i++) snprintf(l.names[l.n++], NAME_MAX_LEN + 1, "%s", c->watching[i]->target);
    /* Keep only online buddies this user may see. */
    size_t k = 0;
    for (size_t i = 0; i < l.n; i++)
        if (can_see(srv, c->user, l.names[i])) memmove(l.names[k++], l.names[i], sizeof l.names[0]);
    l.n = k;
    if (c->old_proto) {
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_LOGON, YMSG_PKT_DEFAULT);
        ymsg_build_str(b, YMSG_KEY_LOGIN_ID, c->user);
        ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
        ymsg_build_int(b, YMSG_KEY_NUM_ONLINE, (long long)l.n);
        for (size_t i = 0; i < l.n; i++) {
            struct conn *t = sessions_get(srv, l.names[i]);
            if (t) put_old_entry(b, t);
        }
        delivery_send(c);
    } else if (l.n) {
        /* 302=315 (entries) 303=315 per packet; long lists continue with status 5 (delivery.h). */
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_STATUS_15, YMSG_PKT_SERVERACK);
        ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 315);
        for (size_t i = 0; i < l.n; i++) {
            if (delivery_full()) {
                ymsg_build_int(b, YMSG_KEY_LIST_END, 315);
                if (!(b = delivery_continue(c, b))) break;
                ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 315);
            }
            struct conn *t = sessions_get(srv, l.names[i]);
            if (t) put_f0_entry(b, t);
        }
        if (b) {
            ymsg_build_int(b, YMSG_KEY_LIST_END, 315);
            delivery_send(c);
        }
    }
    free(l.names);
    return 0;
}

/* ---- client status packets ------------------------------------------------------------------ */

void presence_set_initial(struct conn *c, uint32_t status)
{
    c->invisible = status == YMSG_STATUS_INVISIBLE;
    c->status = (status <= YMSG_STATUS_STEPPEDOUT) ? status : YMSG_STATUS_AVAILABLE;
    c->away = c->status != YMSG_STATUS_AVAILABLE;
}

static void set_msg(struct conn *c, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    free(c->status_msg);
    c->status_msg = NULL;
    c->msg_utf8 = 0;
    if (ymsg_get(pkt, YMSG_KEY_CUSTOM_MSG, &kv) == 0 && kv.len > 0) {
        size_t n = kv.len > 255 ? 255 : kv.len;
        c->status_msg = malloc(n + 1);
        if (c->status_msg) {
            memcpy(c->status_msg, kv.val, n);
            c->status_msg[n] = 0;
            /* A NUL inside would end the text early; that only shortens it. */
        }
        struct ymsg_kv u;
        c->msg_utf8 = ymsg_get(pkt, YMSG_KEY_UTF8, &u) == 0 && ymsg_kv_eq(&u, "1");
    }
}

void presence_handle_status(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    uint16_t svc = pkt->hdr.service;
    long long v;
    struct pres_snap s;

    if (svc == YMSG_SVC_USERSTAT) {
        presence_send_online_list(c);
        return;
    }
    pres_begin(srv, c->user, NULL, &s);
    if (svc == YMSG_SVC_Y6_VISIBLE_TOGGLE) {
        if (ymsg_get_int(pkt, YMSG_KEY_FLAG, &v) == 0 && (v == 1 || v == 2)) c->invisible = v == 2;
        c->invisible_by_c6 = 0;
    } else {
        /* 0xC6 (YMSG 13+) and 0x03 / 0x04 (older): code in key 10, else in the header status. */
        uint32_t code = pkt->hdr.status;
        if (ymsg_get_int(pkt, YMSG_KEY_STATUS, &v) == 0) code = (uint32_t)v;
        if (code == YMSG_STATUS_INVISIBLE) {
            c->invisible_by_c6 = !c->invisible && svc == YMSG_SVC_Y6_STATUS_UPDATE;
            c->invisible = 1;
        } else {
            /* Pidgin and libyahoo2 go invisible with 0xC5 and leave with 0xC5 13=1 after their 0xC6, so a
             * 0xC6 alone keeps them invisible; OpenYMSG goes with 0xC6 10=12 and comes back with 0xC6 10=0
             * and nothing else. */
            if ((svc != YMSG_SVC_Y6_STATUS_UPDATE || c->invisible_by_c6) && c->invisible) c->invisible = 0;
            c->invisible_by_c6 = 0;
            if (code > YMSG_STATUS_STEPPEDOUT && code != YMSG_STATUS_CUSTOM && code != YMSG_STATUS_IDLE)
                code = YMSG_STATUS_AVAILABLE;
            c->status = code;
            set_msg(c, pkt);
            c->away = code != YMSG_STATUS_AVAILABLE;
            c->away_sent = 0;
            if (ymsg_get_int(pkt, YMSG_KEY_AWAY, &v) == 0 && v >= 0 && v <= 2) {
                c->away = (uint8_t)v;
                c->away_sent = 1;
            }
            if (code == YMSG_STATUS_IDLE) {
                long long idle = 0;
                ymsg_get_int(pkt, YMSG_KEY_IDLE_TIME, &idle);
                if (idle < 0 || idle > 86400 * 365) idle = 0;
                c->idle_since = (int64_t)time(NULL) - idle;
            }
        }
    }
    log_event(LOG_DEBUG, c->peer, c->user, "status", (long)c->status, "invisible=%d", c->invisible);
    pres_end(srv, &s, 1);
}

/* 0, or -1 when memory ran out (c stays hidden from who: the safe side). */
static int allow_set(struct conn *c, const char *who, int on)
{
    uint32_t first;
    if (!on) tagset_del(&c->sets, SET_ALLOW, who);
    else if (tagset_range(&c->sets, SET_ALLOW, &first) < (uint32_t)c->srv->cfg->max_buddies)
        return tagset_add(&c->sets, SET_ALLOW, who);
    return 0;
}

struct stealth_job {
    char owner[NAME_MAX_LEN + 1]; /* whose list */
    char who[NAME_MAX_LEN + 1];   /* the buddy */
    int on;                       /* the flag to store */
};

static int stealth_job_run(struct store *st, void *arg)
{
    struct stealth_job *j = arg;
    return st->buddy_set_stealth(st, j->owner, j->who, j->on);
}

static void stealth_job_done(void *arg, int rc)
{
    struct stealth_job *j = arg;
    /* NOTFOUND: the entry was removed meanwhile (its flag went with it). */
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        log_event(LOG_ERROR, NULL, j->owner, "store_write_failed", rc, "stealth %s=%d not stored", j->who, j->on);
    free(j);
}

/* Stores owner's 0xB9 flag for who on the store worker (inline with SQLite). */
static void stealth_store(struct conn *c, const char *who, int on)
{
    struct stealth_job *j = calloc(1, sizeof *j);
    if (j) {
        snprintf(j->owner, sizeof j->owner, "%s", c->user);
        snprintf(j->who, sizeof j->who, "%s", who);
        j->on = on;
    }
    if (!j || store_async_run(c->srv->sa, c->srv->st, stealth_job_run, stealth_job_done, j) < 0) {
        free(j);
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "stealth %s=%d not stored", who, on);
    }
}

/* One id of a 0xB9 packet on the store worker. */
struct stealth_item {
    char who[NAME_MAX_LEN + 1]; /* the id */
    uint8_t applied;            /* an authorised buddy: the in-memory set and the fan-out changed at once */
    int rc;                     /* the store's answer (worker) */
};

/* A 0xB9 packet's writes while the store does them (PostgreSQL).  The session waits (sessions_hold) and
 * each ack follows its row: a login of the same user on another node right after an ack reads the new
 * flag (before, the ack came first and that login could read the old row: an invisibility leak). */
struct stealth_batch {
    struct conn *c;               /* the session, held */
    char owner[NAME_MAX_LEN + 1]; /* whose list */
    long long v31;                /* 1 hide (permanent offline), 2 show */
    size_t n;                     /* items */
    struct stealth_item it[];     /* in the packet's order */
};

static int stealth_batch_run(struct store *st, void *arg)
{
    struct stealth_batch *j = arg;
    for (size_t i = 0; i < j->n; i++) j->it[i].rc = st->buddy_set_stealth(st, j->owner, j->it[i].who, j->v31 == 1);
    return STORE_OK;
}

static void stealth_ack(struct conn *c, int service, const char *who, long long v31, int rc)
{
    struct ymsg_builder *b = delivery_begin(c, service, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_BUDDY, who);
    ymsg_build_int(b, YMSG_KEY_STEALTH_VAL, v31);
    delivery_send(c);
    log_event(LOG_DEBUG, c->peer, c->user, service == YMSG_SVC_STEALTH_PERM ? "stealth_perm" : "stealth_session", rc,
              "%s=%lld", who, v31);
}

static void stealth_batch_done(void *arg, int unused)
{
    (void)unused;
    struct stealth_batch *j = arg;
    struct conn *c = j->c;
    struct server *srv = c->srv;
    for (size_t i = 0; i < j->n; i++) {
        struct stealth_item *it = &j->it[i];
        /* NOTFOUND for an applied id: the entry was removed meanwhile (its flag went with it). */
        if (it->applied && it->rc != STORE_OK && it->rc != STORE_NOTFOUND)
            log_event(LOG_ERROR, NULL, j->owner, "store_write_failed", it->rc, "stealth %s=%lld not stored", it->who,
                      j->v31);
        if (c->state != CONN_ONLINE) continue; /* closed meanwhile: what it asked is stored, nothing to tell */
        int oom = 0;
        if (!it->applied) {
            /* Not an authorised buddy: the store's answer decides, as on the loop before. */
            struct pres_snap s;
            pres_begin(srv, c->user, it->who, &s);
            if (it->rc == STORE_OK && j->v31 == 1 && tagset_add(&c->sets, SET_STEALTH, it->who) < 0) {
                /* can_see() reads the in-memory set: stored but not in it would not hide c.  Undo. */
                stealth_store(c, it->who, 0);
                oom = 1;
            } else if (it->rc == STORE_OK && j->v31 != 1) {
                tagset_del(&c->sets, SET_STEALTH, it->who);
            }
            pres_end(srv, &s, 0);
        }
        if (oom) { /* reported by the missing ack: the client's setting did not take */
            log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "stealth for %s not applied", it->who);
            continue;
        }
        stealth_ack(c, YMSG_SVC_STEALTH_PERM, it->who, j->v31, it->rc);
    }
    sessions_release(c);
    free(j);
}

void presence_handle_stealth(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    long long v31 = 0;
    if (ymsg_get_int(pkt, YMSG_KEY_STEALTH_VAL, &v31) < 0 || (v31 != 1 && v31 != 2)) return;
    int perm = pkt->hdr.service == YMSG_SVC_STEALTH_PERM;
    size_t n = ymsg_count(pkt, YMSG_KEY_BUDDY);
    /* Each id costs a store write and two presence computations: cap them per packet, and make every id
     * after the first (which the packet's own token paid for) cost a token, so one packet cannot buy
     * more work than as many one-id packets would. */
    size_t cap = (size_t)srv->cfg->stealth_max_names;
    if (n > cap) {
        log_event(LOG_INFO, c->peer, c->user, "stealth_capped", (long)n, "stealth_max_names=%zu; the rest ignored", cap);
        n = cap;
    }
    /* PostgreSQL: the writes go on the store worker as one job, the acks after them (stealth_batch). */
    struct stealth_batch *batch = NULL;
    if (perm && srv->sa && n > 0) {
        if (!(batch = calloc(1, sizeof *batch + n * sizeof batch->it[0]))) {
            log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "stealth packet not applied");
            return;
        }
        batch->c = c;
        snprintf(batch->owner, sizeof batch->owner, "%s", c->user);
        batch->v31 = v31;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !sessions_charge(c, 1)) {
            if (srv->dropped_flood++ % 1000 == 0)
                log_event(LOG_WARN, c->peer, c->user, "flood_dropped", pkt->hdr.service,
                          "%zu of %zu stealth ids dropped: session_rate=%ld/s exceeded", n - i, n, srv->cfg->session_rate);
            break;
        }
        struct ymsg_kv kv;
        char who[NAME_MAX_LEN + 1];
        if (ymsg_get_nth(pkt, YMSG_KEY_BUDDY, i, &kv) < 0 || name_normalize((const char *)kv.val, kv.len, who) < 0)
            continue;
        struct stealth_item *it = batch ? &batch->it[batch->n] : NULL;
        if (it && !presence_watches(srv, c->user, who)) {
            /* Not an authorised buddy: whether the row exists decides, so the set changes in the callback. */
            snprintf(it->who, sizeof it->who, "%s", who);
            batch->n++;
            continue;
        }
        struct pres_snap s;
        pres_begin(srv, c->user, who, &s);
        int rc = 0, oom = 0;
        if (it) {
            /* PostgreSQL, an authorised buddy (the row exists): the in-memory set decides at once (the
             * buddy sees the change now), the row follows on the store worker, the ack after it. */
            if (v31 == 1 && tagset_add(&c->sets, SET_STEALTH, who) < 0) oom = 1;
            else if (v31 != 1) tagset_del(&c->sets, SET_STEALTH, who);
            if (!oom) {
                snprintf(it->who, sizeof it->who, "%s", who);
                it->applied = 1;
                batch->n++;
            }
        } else if (perm) {
            rc = srv->st->buddy_set_stealth(srv->st, c->user, who, v31 == 1);
            if (rc == STORE_OK && v31 == 1 && tagset_add(&c->sets, SET_STEALTH, who) < 0) {
                /* can_see() reads the in-memory set: stored but not in it would not hide c.  Undo. */
                srv->st->buddy_set_stealth(srv->st, c->user, who, 0);
                oom = 1;
            } else if (rc == STORE_OK && v31 != 1) {
                tagset_del(&c->sets, SET_STEALTH, who);
            }
        } else {
            oom = allow_set(c, who, v31 == 1) < 0;
        }
        pres_end(srv, &s, 0);
        if (oom) { /* reported by the missing ack: the client's setting did not take */
            log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "stealth for %s not applied", who);
            continue;
        }
        if (!it) stealth_ack(c, pkt->hdr.service, who, v31, rc);
    }
    if (!batch) return;
    if (batch->n == 0) {
        free(batch);
        return;
    }
    sessions_hold(c);
    if (store_async_run(srv->sa, srv->st, stealth_batch_run, stealth_batch_done, batch) < 0) {
        sessions_release(c);
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "stealth packet not stored");
        free(batch);
    }
}
