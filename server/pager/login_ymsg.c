/* YMSG login; see login_ymsg.h. */
#include "login_ymsg.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buddy.h"
#include "chat.h"
#include "conf.h"
#include "delivery.h"
#include "sessions.h"
#include "log.h"
#include "metrics.h"
#include "offline.h"
#include "presence.h"
#include "store_async.h"

static void fail_login(struct conn *c, int code, const char *why)
{
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_AUTHRESP, YMSG_PKT_ERROR);
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user[0] ? c->user : NULL, "login_failed", code, "%s", why);
    metrics_login(MET_LOGIN_YMSG, code ? code : -1);
    delivery_close(c, 1, "login failed");
}

void login_handle_auth(struct conn *c, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv = {0, NULL, 0};
    if (c->state != CONN_NEW) return; /* one challenge per connection */
    if (ymsg_get(pkt, YMSG_KEY_ACTIVE_ID, &kv) < 0 || name_normalize((const char *)kv.val, kv.len, c->user) < 0) {
        /* Keep the exchange going so the failure comes in the 0x54 answer clients understand. */
        c->user[0] = 0;
    }
    char chal[40];
    unsigned char raw[18];
    randombytes_buf(raw, sizeof raw);
    ymsg_y64_encode(raw, sizeof raw, chal, sizeof chal); /* 24 chars of [A-Za-z0-9._]: no padding */
    free(c->challenge);
    c->challenge = strdup(chal);
    if (!c->challenge) {
        delivery_close(c, 0, "out of memory");
        return;
    }
    c->legacy_method = c->srv->cfg->legacy_auth && c->version >= 9 && c->version <= 10;
    c->old_proto = c->version < 13;
    c->state = CONN_CHALLENGED;
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_AUTH, YMSG_PKT_SERVERACK);
    ymsg_build_kv(b, YMSG_KEY_ACTIVE_ID, kv.val ? kv.val : (const uint8_t *)"", kv.val ? kv.len : 0);
    ymsg_build_str(b, YMSG_KEY_CHALLENGE, c->challenge);
    ymsg_build_str(b, YMSG_KEY_FLAG, c->legacy_method ? "0" : "2");
    delivery_send(c);
}

/* What a login reads of its own rows, on the store worker. */
struct login_job {
    struct conn *c;              /* held (sessions_hold) until the callback */
    char user[NAME_MAX_LEN + 1]; /* who logs in */
    uint32_t status;             /* the 0x54 header status (initial presence) */
    size_t budget;               /* first offline page's bytes */
    struct buddy_rows *rows;     /* buddy list, ignore list, authorisation requests */
    struct offline_rows *box;    /* the box's first page */
};

static void login_complete(struct conn *c, uint32_t initial_status, struct login_job *j)
{
    struct server *srv = c->srv;
    struct pres_snap s;
    pres_begin(srv, c->user, NULL, &s);
    struct conn *old = sessions_get(srv, c->user);
    if (old) {
        conf_user_gone(srv, c->user); /* the new client knows none of the old one's conferences */
        struct ymsg_builder *b = delivery_begin(old, YMSG_SVC_LOGOFF, YMSG_PKT_ERROR);
        ymsg_build_int(b, YMSG_KEY_ERROR_CODE, YMSG_AUTH_DUPLICATE_LOGIN);
        delivery_send(old);
        log_event(LOG_INFO, old->tp->peer(old), old->user, "kicked", YMSG_AUTH_DUPLICATE_LOGIN, "signed in from %s", c->peer);
        /* Detach without a presence fan-out: the snapshot above covers the hand-over. */
        sessions_del(srv, old);
        old->state = CONN_CLOSING; /* not ONLINE any more, so delivery_close() will not announce it */
        delivery_close(old, 1, "duplicate login");
    }
    free(c->challenge);
    c->challenge = NULL;
    presence_set_initial(c, initial_status);
    if (sessions_add(srv, c) < 0) {
        free(s.v);
        delivery_close(c, 0, "out of memory");
        return;
    }
    c->state = CONN_ONLINE;
    c->tp->online(c);
    sessions_fill_bucket(c);
    log_event(LOG_INFO, c->peer, c->user, "login", 0, "version=%u invisible=%d", c->version, c->invisible);
    metrics_login(MET_LOGIN_YMSG, 0);

    if (!j->rows || buddy_send_list_rows(c, j->rows) < 0) {
        /* Its ignore / stealth sets would be incomplete: never let it on line like that. */
        pres_end(srv, &s, 1);
        delivery_close(c, 0, "out of memory");
        return;
    }
    presence_send_online_list(c);
    delivery_ping(c);
    buddy_send_authreqs_rows(c, j->rows);
    offline_start(c, j->box);
    pres_end(srv, &s, 1);
}

static int login_job_run(struct store *st, void *arg)
{
    struct login_job *j = arg;
    j->rows = buddy_rows_fetch(st, j->user);
    /* The box starts over: the rows delivered live in earlier sessions go before the first page is read. */
    int rc = st->offline_clear_delivered(st, j->user);
    if (rc != STORE_OK)
        log_event(LOG_ERROR, NULL, j->user, "store_write_failed", rc, "offline clear");
    j->box = offline_rows_fetch(st, j->user, 0, j->budget);
    return STORE_OK;
}

static void login_job_done(void *arg, int rc)
{
    (void)rc;
    struct login_job *j = arg;
    struct conn *c = j->c;
    /* A connection that ended meanwhile (timeout, EOF, shutdown) is not touched. */
    if (c->state == CONN_CHALLENGED && strcmp(c->user, j->user) == 0) login_complete(c, j->status, j);
    buddy_rows_free(j->rows);
    offline_rows_free(j->box);
    sessions_release(c);
    free(j);
}

/* The credentials were right: the login's own rows are read on the store worker (inline with SQLite),
 * then the session goes on line; its next packets wait until then. */
static void login_load(struct conn *c, uint32_t initial_status)
{
    struct login_job *j = calloc(1, sizeof *j);
    if (!j) {
        delivery_close(c, 0, "out of memory");
        return;
    }
    j->c = c;
    snprintf(j->user, sizeof j->user, "%s", c->user);
    j->status = initial_status;
    j->budget = (size_t)c->srv->cfg->out_cap / 2;
    sessions_hold(c);
    if (store_async_run(c->srv->sa, c->srv->st, login_job_run, login_job_done, j) < 0) {
        sessions_release(c);
        free(j);
        delivery_close(c, 0, "out of memory");
    }
}

/* ---- a crumb issued by another node ------------------------------------------------------------
 * In a cluster a client may take its cookies from one node's HTTP login to another node's pager faster
 * than the crumb travels (server/cluster shares it within milliseconds): an unknown Y cookie is tried
 * again every LOGIN_WAIT_MS, LOGIN_WAIT_TRIES times, before the usual failure. */
#define LOGIN_WAIT_MS 25
#define LOGIN_WAIT_TRIES 40

struct login_wait {
    struct conn *c;       /* the connection (it frees us: login_wait_free) */
    struct event *ev;     /* retry timer */
    int tries;            /* attempts left */
    uint32_t status;      /* the 0x54 header status (initial presence) */
    char y[1024], t[1024], r307[64]; /* what the 0x54 carried */
};

void login_wait_free(struct conn *c)
{
    struct login_wait *w = c->login_wait;
    if (!w) return;
    c->login_wait = NULL;
    event_free(w->ev);
    sodium_memzero(w, sizeof *w);
    free(w);
}

static void login_wait_cb(evutil_socket_t fd, short what, void *arg)
{
    char addr[CONN_ADDR_MAX];
    struct login_wait *w = arg;
    struct conn *c = w->c;
    struct server *srv = c->srv;
    if (c->state != CONN_CHALLENGED) {
        login_wait_free(c);
        return;
    }
    int rc = auth_cookie_login(srv->auth, c->user, w->y, w->t, c->challenge, w->r307);
    if (rc == -2 && --w->tries > 0) {
        struct timeval tv = {0, LOGIN_WAIT_MS * 1000};
        event_add(w->ev, &tv);
        return;
    }
    uint32_t status = w->status;
    login_wait_free(c);
    if (rc < 0) {
        auth_login_failed(srv->auth, conn_addr(c, addr), NULL);
        fail_login(c, YMSG_AUTH_BAD_PASSWORD, "cookie/crumb check failed");
        return;
    }
    login_load(c, status);
}

/* 0 when the 0x54 waits (nothing more to do now), -1 when it cannot (answer at once). */
static int login_wait_start(struct conn *c, const char *y, const char *t, const char *r307, uint32_t status)
{
    if (c->login_wait) return -1;
    struct login_wait *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->c = c;
    w->tries = LOGIN_WAIT_TRIES;
    w->status = status;
    snprintf(w->y, sizeof w->y, "%s", y);
    snprintf(w->t, sizeof w->t, "%s", t);
    snprintf(w->r307, sizeof w->r307, "%s", r307);
    if (!(w->ev = event_new(c->srv->base, -1, 0, login_wait_cb, w))) {
        free(w);
        return -1;
    }
    c->login_wait = w;
    struct timeval tv = {0, LOGIN_WAIT_MS * 1000};
    event_add(w->ev, &tv);
    return 0;
}

/* A method-0 check while the store reads the account (the session waits: sessions_hold). */
struct m0_wait {
    struct conn *c;               /* the session, held */
    char user[NAME_MAX_LEN + 1];  /* the id checked */
    uint32_t status;              /* the 0x54's initial status */
};

static void m0_checked(void *arg, int code)
{
    struct m0_wait *w = arg;
    struct conn *c = w->c;
    /* code -1: the server is stopping; a connection that ended meanwhile is not touched. */
    if (code >= 0 && c->state == CONN_CHALLENGED && strcmp(c->user, w->user) == 0) {
        if (code) fail_login(c, code, "method 0 check failed");
        else login_load(c, w->status);
    }
    sessions_release(c);
    free(w);
}

void login_handle_authresp(struct conn *c, const struct ymsg_packet *pkt)
{
    char addr[CONN_ADDR_MAX];
    struct server *srv = c->srv;
    if (c->state != CONN_CHALLENGED) {
        fail_login(c, YMSG_AUTH_UNKNOWN, "0x54 before 0x57");
        return;
    }
    if (!c->user[0]) {
        fail_login(c, YMSG_AUTH_NO_SUCH_USER, "invalid id in 0x57");
        return;
    }
    /* The id in 0x54 (key 0, else 1) must be the one that got the challenge. */
    struct ymsg_kv kv;
    char id[NAME_MAX_LEN + 1];
    if ((ymsg_get(pkt, YMSG_KEY_LOGIN_ID, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_ACTIVE_ID, &kv) == 0) &&
        (name_normalize((const char *)kv.val, kv.len, id) < 0 || strcmp(id, c->user) != 0)) {
        auth_login_failed(srv->auth, conn_addr(c, addr), NULL);
        fail_login(c, YMSG_AUTH_BAD_PASSWORD, "id differs from 0x57");
        return;
    }
    char y[1024], t[1024], r307[64], r6[64], r96[64];
    if (ymsg_get_str(pkt, YMSG_KEY_AUTH16_RESP, r307, sizeof r307) >= 0 &&
        ymsg_get_str(pkt, YMSG_KEY_Y_COOKIE, y, sizeof y) >= 0 && ymsg_get_str(pkt, YMSG_KEY_T_COOKIE, t, sizeof t) >= 0) {
        if (!auth_addr_allowed(srv->auth, conn_addr(c, addr))) {
            fail_login(c, YMSG_AUTH_LOCKED, "login rate or failure limit for address");
            return;
        }
        int rc = auth_cookie_login(srv->auth, c->user, y, t, c->challenge, r307);
        if (rc == -2 && srv->cluster && login_wait_start(c, y, t, r307, pkt->hdr.status) == 0) return;
        if (rc < 0) {
            /* Counted against the address (a cookie is not a password guess, so not against the
             * account), and answered 13 whether or not the id exists. */
            auth_login_failed(srv->auth, conn_addr(c, addr), NULL);
            fail_login(c, YMSG_AUTH_BAD_PASSWORD, "cookie/crumb check failed");
            return;
        }
    } else if (c->legacy_method && ymsg_get_str(pkt, YMSG_KEY_AUTH_RESP6, r6, sizeof r6) >= 0 &&
               ymsg_get_str(pkt, YMSG_KEY_AUTH_RESP96, r96, sizeof r96) >= 0) {
        /* The account read goes on the store worker with PostgreSQL (inline with SQLite). */
        struct m0_wait *w = calloc(1, sizeof *w);
        if (!w) {
            delivery_close(c, 0, "out of memory");
            return;
        }
        w->c = c;
        snprintf(w->user, sizeof w->user, "%s", c->user);
        w->status = pkt->hdr.status;
        sessions_hold(c);
        auth_method0_login_async(srv->auth, conn_addr(c, addr), c->user, c->challenge, r6, r96, m0_checked, w);
        return;
    } else {
        auth_login_failed(srv->auth, conn_addr(c, addr), NULL);
        fail_login(c, YMSG_AUTH_BAD_PASSWORD, "no usable credentials in 0x54");
        return;
    }
    login_load(c, pkt->hdr.status);
}

void login_handle_verify(struct conn *c, const struct ymsg_packet *pkt)
{
    delivery_begin(c, YMSG_SVC_VERIFY, YMSG_PKT_SERVERACK);
    delivery_send(c);
}

void login_end(struct conn *c)
{
    /* Every ending connection passes here (a kicked duplicate too, already CLOSING): it leaves the
     * watch index before it is freed. */
    presence_unwatch_all(c);
    chat_session_end(c); /* a kicked duplicate too: it leaves its rooms (chat.h) */
    if (c->state != CONN_ONLINE) return;
    struct server *srv = c->srv;
    conf_user_gone(srv, c->user); /* while still registered: members that can see it hear it leave */
    struct pres_snap s;
    pres_begin(srv, c->user, NULL, &s);
    sessions_del(srv, c);
    c->state = CONN_CLOSING;
    pres_end(srv, &s, 0);
}

int login_revoke(struct server *srv, const char *user, int deleted)
{
    /* After `user del` (the same revoke as `user passwd`): the rows that made others watch user are gone,
     * so is their place in the watch index. */
    if (deleted) presence_forget(srv, user);
    struct conn *c = sessions_get(srv, user);
    if (!c) return 0;
    /* Header only, like the real server's kick (YMSG.md 4.2: clients look at status -1 alone). */
    delivery_begin(c, YMSG_SVC_LOGOFF, YMSG_PKT_ERROR);
    delivery_send(c);
    log_event(LOG_INFO, c->tp->peer(c), c->user, "revoked", 0, "session ended by the administrator (kick, password change or account deletion)");
    delivery_close(c, 1, "revoked"); /* online: the presence fan-out of a sign-off */
    return 1;
}
