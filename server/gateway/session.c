/* Gateway sessions: two hash indexes (cookie, DSId) over one LRU list, bounded by max_sessions. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void gw_uuid(char out[37])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    amf_uuid_random_text(b, out); /* libamf's one copy of the version/variant bits and the text */
}

static void random_cookie(char out[GW_COOKIE_LEN + 1])
{
    uint8_t b[GW_COOKIE_LEN / 2];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, GW_COOKIE_LEN + 1, b, sizeof b);
}

void gw_sessions_init(struct gateway *gw)
{
    hmap_init(&gw->by_cookie);
    hmap_init(&gw->by_dsid);
    gw->lru.head = gw->lru.tail = NULL;
    gw->nsessions = 0;
}

/* The most and least recently used sessions, or NULL. */
#define LRU_HEAD(gw) ((struct gw_session *)(gw)->lru.head)
#define LRU_TAIL(gw) ((struct gw_session *)(gw)->lru.tail)

static void session_drop(struct gateway *gw, struct gw_session *s)
{
    hmap_del(&gw->by_cookie, s->cookie);
    hmap_del(&gw->by_dsid, s->dsid);
    gw_lru_unlink(&gw->lru, &s->link);
    gw->nsessions--;
    sodium_memzero(s, sizeof *s);
    free(s);
}

void gw_sessions_free(struct gateway *gw)
{
    while (LRU_HEAD(gw)) session_drop(gw, LRU_HEAD(gw));
    hmap_free(&gw->by_cookie);
    hmap_free(&gw->by_dsid);
}

static int expired(const struct gateway *gw, const struct gw_session *s, double now)
{
    return now - s->last_used > (double)gw->cfg.session_idle;
}

/* Tells the cluster (if any) about s; op GW_SHARE_*. */
static void share(struct gateway *gw, struct gw_session *s, int op)
{
    if (!gw->share || !s->user[0]) return;
    gw->share->publish(gw->share->arg, s->user, op, s->cookie, s->dsid, s->bound);
    s->shared = op != GW_SHARE_END;
    s->shared_at = rl_now();
}

void gateway_set_share(struct gateway *gw, const struct gw_share *sh) { gw->share = sh; }

void gw_session_publish(struct gateway *gw, struct gw_session *s) { share(gw, s, GW_SHARE_UP); }

void gw_session_unpublish(struct gateway *gw, struct gw_session *s)
{
    if (s->shared) share(gw, s, GW_SHARE_END);
    s->shared = 0;
}

static struct gw_session *touch(struct gateway *gw, struct gw_session *s)
{
    double now = rl_now();
    if (!s) return NULL;
    /* Expiry is each node's own: no message (the other copies expire alike, kept by GW_SHARE_USED). */
    if (expired(gw, s, now) && !s->pins) {
        session_drop(gw, s);
        return NULL;
    }
    if (s->shared && now - s->shared_at > (double)gw->cfg.session_idle / 4) share(gw, s, GW_SHARE_USED);
    s->last_used = now;
    s->gen = gw->req_gen;
    if (LRU_HEAD(gw) != s) {
        gw_lru_unlink(&gw->lru, &s->link);
        gw_lru_push_front(&gw->lru, &s->link);
    }
    return s;
}

struct gw_session *gw_session_by_cookie(struct gateway *gw, const char *cookie)
{
    if (!cookie || strlen(cookie) != GW_COOKIE_LEN) return NULL;
    struct gw_session *s = touch(gw, hmap_get(&gw->by_cookie, cookie));
    if (s) s->cookie_sent = 1; /* the client presented it */
    return s;
}

struct gw_session *gw_session_by_dsid(struct gateway *gw, const char *dsid)
{
    if (!dsid || strlen(dsid) != 36) return NULL;
    return touch(gw, hmap_get(&gw->by_dsid, dsid));
}

/* Makes room for one more session: expired ones first (from the old end), then the least recently
 * used anonymous one.  Logged-in sessions are never evicted before they expire, so a flood of pings
 * cannot log anybody out.  Returns 0 when there is room. */
static int make_room(struct gateway *gw)
{
    double now = rl_now();
    for (struct gw_session *s = LRU_TAIL(gw), *prev; s && expired(gw, s, now); s = prev) {
        prev = (struct gw_session *)s->link.prev;
        if (!s->pins) session_drop(gw, s); /* a request waiting for a password check holds it */
    }
    if (gw->nsessions < (size_t)gw->cfg.max_sessions) return 0;
    for (struct gw_session *s = LRU_TAIL(gw); s; s = (struct gw_session *)s->link.prev)
        if (!s->user[0] && s->gen != gw->req_gen && !s->pins) {
            session_drop(gw, s);
            return 0;
        }
    return -1;
}

struct gw_session *gw_session_new(struct gateway *gw)
{
    if (make_room(gw) < 0) return NULL;
    struct gw_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    random_cookie(s->cookie);
    gw_uuid(s->dsid);
    s->last_used = rl_now();
    s->gen = gw->req_gen;
    if (hmap_put(&gw->by_cookie, s->cookie, s) < 0) {
        free(s);
        return NULL;
    }
    if (hmap_put(&gw->by_dsid, s->dsid, s) < 0) {
        hmap_del(&gw->by_cookie, s->cookie);
        free(s);
        return NULL;
    }
    gw_lru_push_front(&gw->lru, &s->link);
    gw->nsessions++;
    return s;
}

int gw_session_rotate(struct gateway *gw, struct gw_session *s)
{
    gw_session_unpublish(gw, s); /* a login again on a logged-in session: the old identity ends everywhere */
    hmap_del(&gw->by_cookie, s->cookie);
    hmap_del(&gw->by_dsid, s->dsid);
    random_cookie(s->cookie);
    gw_uuid(s->dsid);
    s->cookie_sent = 0;
    /* Out of memory: the session stays alive (callers still hold it, and so may a request waiting
     * for a password check) until it expires. */
    if (hmap_put(&gw->by_cookie, s->cookie, s) < 0) return -1;
    if (hmap_put(&gw->by_dsid, s->dsid, s) < 0) return -1;
    return 0;
}

size_t gw_sessions_revoke(struct gateway *gw, const char *user)
{
    size_t n = 0;
    for (struct gw_session *s = LRU_HEAD(gw), *next; s; s = next) {
        next = (struct gw_session *)s->link.next;
        if (!s->user[0] || strcmp(s->user, user) != 0) continue;
        n++;
        gw_session_unpublish(gw, s); /* the ctl socket reached one node: the others end their copies */
        if (s->pins) { /* a request waiting for a password check holds it: log it out in place */
            s->user[0] = 0;
            s->has_cred = 0;
            s->bound = 0;
            sodium_memzero(s->cred_mac, sizeof s->cred_mac);
        } else {
            session_drop(gw, s);
        }
    }
    return n;
}

/* Ends s here without telling anyone (another node did). */
static void end_quietly(struct gateway *gw, struct gw_session *s)
{
    s->shared = 0;
    if (s->pins) { /* a request waiting for a password check holds it: log it out in place */
        s->user[0] = 0;
        s->has_cred = 0;
        s->bound = 0;
        sodium_memzero(s->cred_mac, sizeof s->cred_mac);
    } else {
        session_drop(gw, s);
    }
}

int gateway_session_import(struct gateway *gw, const char *user, const char *cookie, const char *dsid, int bound)
{
    struct gw_session *s;
    if (strlen(cookie) != GW_COOKIE_LEN || strlen(dsid) != 36 || !*user || strlen(user) > GW_USER_MAX) return -1;
    /* A copy we already hold (a repeated message) or an identity collision: the newest news wins. */
    if ((s = hmap_get(&gw->by_cookie, cookie))) end_quietly(gw, s);
    if ((s = hmap_get(&gw->by_dsid, dsid))) end_quietly(gw, s);
    if (make_room(gw) < 0 || !(s = calloc(1, sizeof *s))) return -1;
    memcpy(s->cookie, cookie, GW_COOKIE_LEN + 1);
    memcpy(s->dsid, dsid, 37);
    snprintf(s->user, sizeof s->user, "%s", user);
    s->bound = bound ? 1 : 0;
    s->cookie_sent = 1; /* the client got it from the node that logged it in */
    s->shared = 1;      /* a logout here ends it on the other nodes */
    s->last_used = s->shared_at = rl_now();
    s->gen = gw->req_gen - 1; /* not the current request's */
    if (hmap_put(&gw->by_cookie, s->cookie, s) < 0) {
        free(s);
        return -1;
    }
    if (hmap_put(&gw->by_dsid, s->dsid, s) < 0) {
        hmap_del(&gw->by_cookie, s->cookie);
        free(s);
        return -1;
    }
    gw_lru_push_front(&gw->lru, &s->link);
    gw->nsessions++;
    return 0;
}

void gateway_session_end(struct gateway *gw, const char *cookie)
{
    struct gw_session *s = hmap_get(&gw->by_cookie, cookie);
    if (s && s->user[0]) end_quietly(gw, s);
}

void gateway_session_used(struct gateway *gw, const char *cookie)
{
    struct gw_session *s = hmap_get(&gw->by_cookie, cookie);
    if (!s || !s->user[0]) return;
    s->last_used = s->shared_at = rl_now(); /* used elsewhere: it lives on here, and we need not echo it */
    if (LRU_HEAD(gw) != s) {
        gw_lru_unlink(&gw->lru, &s->link);
        gw_lru_push_front(&gw->lru, &s->link);
    }
}
