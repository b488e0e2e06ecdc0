/* Buddy lists and their operations; see buddy.h. */
#include "buddy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "grow.h"
#include "sessions.h"
#include "log.h"
#include "presence.h"
#include "store_async.h"


struct row {
    char *buddy;   /* id */
    char *group;   /* group */
    int pending;   /* not yet authorised */
    int stealth;   /* permanent stealth towards this buddy */
};

struct rows {
    struct row *r;     /* collected rows */
    size_t n, cap;     /* used / allocated */
    int failed;        /* a row could not be kept (out of memory): the list is incomplete */
};

static void collect_row(void *arg, const struct store_buddy *b)
{
    struct rows *l = arg;
    if (grow_array((void **)&l->r, &l->cap, l->n, sizeof *l->r, 32) < 0) {
        l->failed = 1;
        return;
    }
    struct row *r = &l->r[l->n];
    r->buddy = strdup(b->buddy);
    r->group = strdup(b->group);
    r->pending = b->pending;
    r->stealth = b->stealth;
    if (!r->buddy || !r->group) {
        free(r->buddy);
        free(r->group);
        l->failed = 1;
        return;
    }
    l->n++;
}

static void collect_name(void *arg, const char *name)
{
    struct store_buddy b = {name, "", 0, 0};
    collect_row(arg, &b);
}

static void rows_free(struct rows *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->r[i].buddy);
        free(l->r[i].group);
    }
    free(l->r);
}

/* 0xF1 LIST_15: 302=318, per group 300=318 65=G 302=319 (300=319 7=b [223=1] [317=2] 301=319)…
 * 303=319 301=318, then the ignore list 302=320 (300=320 7=x 301=320)… 303=320, and 303=318 last.
 * Split at entry boundaries into ~1 KB packets: status 5 for all but the last (status 0).  No
 * buddies and no ignores: one empty 0xF1 with status 0. */
static void send_list15(struct conn *c, struct rows *bl, struct rows *ig)
{
    if (bl->n == 0 && ig->n == 0) {
        delivery_begin(c, YMSG_SVC_LIST_15, YMSG_PKT_DEFAULT);
        delivery_send(c);
        return;
    }
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_LIST_15, YMSG_PKT_DEFAULT);
    ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 318);
    const char *group = NULL;
    for (size_t i = 0; i < bl->n; i++) {
        struct row *r = &bl->r[i];
        if (delivery_full() && !(b = delivery_continue(c, b))) return;
        if (!group || strcmp(group, r->group) != 0) {
            if (group) {
                ymsg_build_int(b, YMSG_KEY_LIST_END, 319);
                ymsg_build_int(b, YMSG_KEY_ENTRY_END, 318);
            }
            group = r->group;
            ymsg_build_int(b, YMSG_KEY_ENTRY_BEGIN, 318);
            ymsg_build_str(b, YMSG_KEY_GROUP, group);
            ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 319);
        }
        ymsg_build_int(b, YMSG_KEY_ENTRY_BEGIN, 319);
        ymsg_build_str(b, YMSG_KEY_BUDDY, r->buddy);
        if (r->pending) ymsg_build_str(b, YMSG_KEY_PENDING, "1");
        if (r->stealth) ymsg_build_str(b, YMSG_KEY_STEALTH_SETTING, "2");
        ymsg_build_int(b, YMSG_KEY_ENTRY_END, 319);
    }
    if (group) {
        ymsg_build_int(b, YMSG_KEY_LIST_END, 319);
        ymsg_build_int(b, YMSG_KEY_ENTRY_END, 318);
    }
    if (ig->n) {
        ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 320);
        for (size_t i = 0; i < ig->n; i++) {
            if (delivery_full() && !(b = delivery_continue(c, b))) return;
            ymsg_build_int(b, YMSG_KEY_ENTRY_BEGIN, 320);
            ymsg_build_str(b, YMSG_KEY_BUDDY, ig->r[i].buddy);
            ymsg_build_int(b, YMSG_KEY_ENTRY_END, 320);
        }
        ymsg_build_int(b, YMSG_KEY_LIST_END, 320);
    }
    ymsg_build_int(b, YMSG_KEY_LIST_END, 318);
    delivery_send(c);
}

/* Appends text to a growable string; on failure sets *failed (the string is then incomplete). */
static void sb_add(char **s, size_t *len, size_t *cap, const char *t, int *failed)
{
    size_t n = strlen(t);
    if (grow_array((void **)s, cap, *len + n, 1, 256) < 0) {
        *failed = 1;
        return;
    }
    memcpy(*s + *len, t, n + 1);
    *len += n;
}

/* Old 0x55 LIST: 87 = "G1:b1,b2\nG2:b3\n", 88 = "i1,i2", 89 = own id; key 87/88 values longer than
 * ~800 bytes continue in further 0x55 packets with status 5 (values are concatenated by clients). */
static int send_list55(struct conn *c, struct rows *bl, struct rows *ig)
{
    char *s87 = NULL, *s88 = NULL;
    int failed = 0;
    size_t l87 = 0, c87 = 0, l88 = 0, c88 = 0;
    const char *group = NULL;
    for (size_t i = 0; i < bl->n; i++) {
        if (bl->r[i].pending) continue;
        if (!group || strcmp(group, bl->r[i].group) != 0) {
            if (group) sb_add(&s87, &l87, &c87, "\n", &failed);
            group = bl->r[i].group;
            sb_add(&s87, &l87, &c87, group, &failed);
            sb_add(&s87, &l87, &c87, ":", &failed);
        } else {
            sb_add(&s87, &l87, &c87, ",", &failed);
        }
        sb_add(&s87, &l87, &c87, bl->r[i].buddy, &failed);
    }
    if (group) sb_add(&s87, &l87, &c87, "\n", &failed);
    for (size_t i = 0; i < ig->n; i++) {
        if (i) sb_add(&s88, &l88, &c88, ",", &failed);
        sb_add(&s88, &l88, &c88, ig->r[i].buddy, &failed);
    }
    if (failed) {
        free(s87);
        free(s88);
        return -1;
    }
    size_t o87 = 0, o88 = 0;
    do {
        size_t n87 = l87 - o87 > 800 ? 800 : l87 - o87, n88 = l88 - o88 > 800 ? 800 : l88 - o88;
        int last = o87 + n87 == l87 && o88 + n88 == l88;
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_LIST, last ? YMSG_PKT_DEFAULT : YMSG_PKT_CONTINUED);
        if (n87) ymsg_build_kv(b, YMSG_KEY_BUDDY_LIST, s87 + o87, n87);
        if (n88) ymsg_build_kv(b, YMSG_KEY_IGNORE_LIST, s88 + o88, n88);
        if (last) {
            ymsg_build_str(b, YMSG_KEY_IDENTITIES, c->user);
            ymsg_build_str(b, YMSG_KEY_MY_ID, c->user);
            ymsg_build_str(b, YMSG_KEY_LIST_90, "1");
            ymsg_build_str(b, 100, "0");
            ymsg_build_str(b, 101, "");
            ymsg_build_str(b, 102, "");
            ymsg_build_int(b, YMSG_KEY_COOKIE_LIFETIME, c->srv->cfg->crumb_lifetime);
        }
        o87 += n87;
        o88 += n88;
        if (delivery_send(c) < 0) break;
    } while (o87 < l87 || o88 < l88);
    free(s87);
    free(s88);
    return 0;
}

/* What a login reads of its own rows (buddy_rows_fetch). */
struct buddy_rows {
    struct rows bl, ig;   /* buddy list, ignore list */
    struct ars *ar;       /* pending authorisation requests (set after struct ars is known) */
};

static int send_list_rows(struct conn *c, struct rows *bl, struct rows *ig)
{
    /* The same rows fill the in-memory privacy sets can_see() uses (read once per login): a set missing
     * an ignored or stealthed id would show the user to someone it hides from, so any failure fails. */
    tagset_clear(&c->sets, SET_IGNORE);
    tagset_clear(&c->sets, SET_STEALTH);
    int failed = bl->failed || ig->failed;
    for (size_t i = 0; i < ig->n && !failed; i++) failed = tagset_add(&c->sets, SET_IGNORE, ig->r[i].buddy) < 0;
    for (size_t i = 0; i < bl->n && !failed; i++)
        if (bl->r[i].stealth) failed = tagset_add(&c->sets, SET_STEALTH, bl->r[i].buddy) < 0;
    /* ... and the watch index (presence.h): the authorised entries, in list order. */
    if (!failed) presence_unwatch_all(c);
    for (size_t i = 0; i < bl->n && !failed; i++)
        if (!bl->r[i].pending) failed = presence_watch(c, bl->r[i].buddy) < 0;
    if (!failed) failed = (c->old_proto ? send_list55(c, bl, ig) : (send_list15(c, bl, ig), 0)) < 0;
    if (failed) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "buddy list incomplete");
        return -1;
    }
    return 0;
}

int buddy_send_list(struct conn *c)
{
    struct server *srv = c->srv;
    struct rows bl = {0}, ig = {0};
    srv->st->buddy_list(srv->st, c->user, collect_row, &bl);
    srv->st->ignore_list(srv->st, c->user, collect_name, &ig);
    int rc = send_list_rows(c, &bl, &ig);
    rows_free(&bl);
    rows_free(&ig);
    return rc;
}

static void send_authreq(struct conn *t, const char *requester, const char *msg)
{
    struct ymsg_builder *b = delivery_begin(t, YMSG_SVC_AUTH_REQ_15, YMSG_PKT_AUTHREQ);
    ymsg_build_str(b, YMSG_KEY_FROM, requester);
    ymsg_build_str(b, YMSG_KEY_TO, t->user);
    if (msg && *msg) {
        ymsg_build_str(b, YMSG_KEY_MSG, msg);
        ymsg_build_str(b, YMSG_KEY_UTF8, "1");
    }
    delivery_send(t);
}

struct ar {
    char *req;  /* requester */
    char *msg;  /* request text */
};

struct ars {
    struct ar *a;    /* collected requests */
    size_t n, cap;   /* used / allocated */
    int failed;      /* a request could not be kept (out of memory) */
};

static void collect_ar(void *arg, const char *requester, const char *msg)
{
    struct ars *l = arg;
    if (grow_array((void **)&l->a, &l->cap, l->n, sizeof *l->a, 8) < 0) {
        l->failed = 1;
        return;
    }
    l->a[l->n].req = strdup(requester);
    l->a[l->n].msg = strdup(msg);
    if (l->a[l->n].req && l->a[l->n].msg) l->n++;
    else {
        free(l->a[l->n].req);
        free(l->a[l->n].msg);
        l->failed = 1;
    }
}

static int send_authreqs_rows(struct conn *c, struct ars *l)
{
    for (size_t i = 0; i < l->n; i++) send_authreq(c, l->a[i].req, l->a[i].msg);
    if (l->failed) {
        /* The requests stay stored: the ones missed now are sent at the next login. */
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", (long)l->n, "pending requests incomplete");
        return -1;
    }
    return 0;
}

static void ars_free(struct ars *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->a[i].req);
        free(l->a[i].msg);
    }
    free(l->a);
}

int buddy_send_authreqs(struct conn *c)
{
    struct ars l = {0};
    c->srv->st->authreq_list(c->srv->st, c->user, collect_ar, &l);
    int rc = send_authreqs_rows(c, &l);
    ars_free(&l);
    return rc;
}

struct buddy_rows *buddy_rows_fetch(struct store *st, const char *user)
{
    struct buddy_rows *r = calloc(1, sizeof *r);
    if (!r || !(r->ar = calloc(1, sizeof *r->ar))) {
        free(r);
        return NULL;
    }
    st->buddy_list(st, user, collect_row, &r->bl);
    st->ignore_list(st, user, collect_name, &r->ig);
    st->authreq_list(st, user, collect_ar, r->ar);
    return r;
}

void buddy_rows_free(struct buddy_rows *r)
{
    if (!r) return;
    rows_free(&r->bl);
    rows_free(&r->ig);
    ars_free(r->ar);
    free(r->ar);
    free(r);
}

int buddy_send_list_rows(struct conn *c, struct buddy_rows *r)
{
    return send_list_rows(c, &r->bl, &r->ig);
}

int buddy_send_authreqs_rows(struct conn *c, struct buddy_rows *r)
{
    return send_authreqs_rows(c, r->ar);
}

/* ---- operations ----------------------------------------------------------------------------- */

/* Copies key's first value into out as text (truncated to cap-1); returns its length or -1. */
static ssize_t get_text(const struct ymsg_packet *pkt, uint32_t key, char *out, size_t cap)
{
    ssize_t n = ymsg_get_str(pkt, key, out, cap);
    if (n < 0) return -1;
    if ((size_t)n >= cap) n = (ssize_t)cap - 1;
    return (ssize_t)strlen(out);
}

static int get_name(const struct ymsg_packet *pkt, uint32_t key, char out[NAME_MAX_LEN + 1])
{
    struct ymsg_kv kv;
    if (ymsg_get(pkt, key, &kv) < 0) return -1;
    return name_normalize((const char *)kv.val, kv.len, out);
}

static int valid_group(const char *g)
{
    if (!*g) return 0;
    for (const unsigned char *p = (const unsigned char *)g; *p; p++)
        if (*p < ' ') return 0;
    return 1;
}

/* A list operation while the store does it (the session waits: sessions_hold). */
struct list_job {
    struct conn *c;                    /* the session, held */
    char user[NAME_MAX_LEN + 1];       /* whose list */
    char who[NAME_MAX_LEN + 1];        /* the buddy (move, auth, ignore) */
    char oldg[STORE_GROUP_MAX + 1];    /* old group (move, rename) */
    char newg[STORE_GROUP_MAX + 1];    /* new group (move, rename) */
    char reason[512];                  /* a declined request's text (auth) */
    long long v13;                     /* 1 accept / ignore, 2 decline / unignore */
    int rc;                            /* the first store answer (worker) */
    int rc2;                           /* the second (worker) */
    int code;                          /* the answer's 66 (worker or loop) */
};

/* Queues job for j's session and holds it; on failure the session is not held and j is freed. */
static void list_job_queue(struct conn *c, struct list_job *j, store_job_fn run, store_done_fn done)
{
    j->c = c;
    snprintf(j->user, sizeof j->user, "%s", c->user);
    sessions_hold(c);
    if (store_async_run(c->srv->sa, c->srv->st, run, done, j) < 0) {
        sessions_release(c);
        free(j);
    }
}

static void list_job_end(struct list_job *j)
{
    sessions_release(j->c);
    free(j);
}

/* An add-buddy request while the store checks and writes it (the session waits: sessions_hold). */
struct add_job {
    struct conn *c;                    /* the requester's session, held */
    char user[NAME_MAX_LEN + 1];       /* the requester */
    char who[NAME_MAX_LEN + 1];        /* the buddy */
    char group[STORE_GROUP_MAX + 1];   /* its group */
    char msg[512];                     /* the request's text */
    long max_buddies;                  /* the list's cap */
    int code;                          /* the answer's 66 (worker) */
    int pending;                       /* the entry waits for authorisation (worker) */
};

static int add_job_run(struct store *st, void *arg)
{
    struct add_job *j = arg;
    int code = YMSG_RESULT_OK;
    j->pending = 1;
    int have = st->buddy_get(st, j->user, j->who, &j->pending, NULL);
    if (!strcmp(j->who, j->user)) code = YMSG_RESULT_FAILURE;
    else if (have == STORE_OK) code = YMSG_RESULT_DUPLICATE;
    else if (st->user_exists(st, j->who) != 1) code = YMSG_RESULT_NOT_FOUND;
    else if (st->ignore_check(st, j->user, j->who) == 1) code = YMSG_RESULT_FAILURE; /* unignore first */
    else if (st->buddy_count(st, j->user) >= j->max_buddies) code = YMSG_RESULT_LIST_FULL;
    else if (st->buddy_add(st, j->user, j->who, j->group, 1) != STORE_OK) code = YMSG_RESULT_FAILURE;
    if (code == YMSG_RESULT_OK) {
        j->pending = 1;
        st->authreq_put(st, j->user, j->who, j->msg);
    }
    j->code = code;
    return STORE_OK;
}

static void add_job_done(void *arg, int rc)
{
    (void)rc;
    struct add_job *j = arg;
    struct conn *c = j->c;
    struct server *srv = c->srv;
    int code = j->code;
    if (c->state == CONN_ONLINE) {
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_ADDBUDDY, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
        ymsg_build_str(b, YMSG_KEY_BUDDY, j->who);
        ymsg_build_str(b, YMSG_KEY_GROUP, j->group);
        ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
        if ((code == YMSG_RESULT_OK || code == YMSG_RESULT_DUPLICATE) && j->pending)
            ymsg_build_str(b, YMSG_KEY_PENDING, "1");
        ymsg_build_str(b, YMSG_KEY_FEDERATION, "0");
        delivery_send(c);
    }
    log_event(LOG_INFO, c->peer, j->user, "buddy_add", code, "%s", j->who);
    if (code == YMSG_RESULT_OK) {
        /* The request reaches the target now if online (whatever the target's visibility: the requester
         * learns nothing from it), otherwise at its next login. */
        struct conn *t = sessions_get(srv, j->who);
        if (t) send_authreq(t, j->user, j->msg);
    }
    sessions_release(c);
    free(j);
}

void buddy_handle_add(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    struct add_job *j = calloc(1, sizeof *j);
    if (!j) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "buddy add");
        return;
    }
    if (get_name(pkt, YMSG_KEY_BUDDY, j->who) < 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "add_malformed", 0, NULL);
        free(j);
        return;
    }
    if (get_text(pkt, YMSG_KEY_GROUP, j->group, sizeof j->group) < 0 || !valid_group(j->group))
        snprintf(j->group, sizeof j->group, "Friends");
    if (get_text(pkt, YMSG_KEY_MSG, j->msg, sizeof j->msg) < 0) j->msg[0] = 0;
    j->c = c;
    snprintf(j->user, sizeof j->user, "%s", c->user);
    j->max_buddies = srv->cfg->max_buddies;
    sessions_hold(c);
    if (store_async_run(srv->sa, srv->st, add_job_run, add_job_done, j) < 0) {
        sessions_release(c);
        free(j);
    }
}

static int auth_job_run(struct store *st, void *arg)
{
    struct list_job *j = arg;
    /* j->who asked j->user; j->user answers. */
    int rc = st->authreq_del(st, j->who, j->user);
    if (rc != STORE_OK) return rc;
    j->rc2 = j->v13 == 1 ? st->buddy_set_pending(st, j->who, j->user, 0) : st->buddy_del(st, j->who, j->user);
    return STORE_OK;
}

static void auth_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    struct conn *c = j->c;
    struct server *srv = c->srv;
    const char *req = j->who;
    if (rc != STORE_OK) {
        log_event(LOG_DEBUG, c->peer, j->user, "auth_no_request", 0, "%s", req);
        list_job_end(j);
        return;
    }
    struct pres_snap s;
    pres_begin(srv, j->user, req, &s);
    /* The requester's entry was pending until the job: it could not see j->user before.  (In a cluster
     * presence_watches() reads the store, which the job has changed already.) */
    for (size_t i = 0; i < s.n; i++) s.v[i].before = 0;
    struct conn *r = sessions_get(srv, req);
    if (j->v13 == 1) {
        if (j->rc2 == STORE_OK && r) presence_watch(r, j->user);
    } else if (j->rc2 == STORE_OK && r) {
        tagset_del(&r->sets, SET_STEALTH, j->user);
        presence_unwatch(r, j->user);
    }
    if (r) {
        struct ymsg_builder *b = delivery_begin(r, YMSG_SVC_AUTH_REQ_15, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_FROM, j->user);
        ymsg_build_str(b, YMSG_KEY_TO, req);
        ymsg_build_int(b, YMSG_KEY_FLAG, j->v13);
        if (j->v13 == 2) {
            ymsg_build_str(b, YMSG_KEY_MSG, j->reason);
            ymsg_build_str(b, YMSG_KEY_UTF8, "1");
        }
        delivery_send(r);
    }
    /* Accepting makes the requester a watcher: it learns c's presence only if can_see() allows. */
    pres_end(srv, &s, 0);
    log_event(LOG_INFO, c->peer, j->user, j->v13 == 1 ? "auth_accept" : "auth_decline", 0, "%s", req);
    list_job_end(j);
}

void buddy_handle_auth(struct conn *c, const struct ymsg_packet *pkt)
{
    struct list_job *j = calloc(1, sizeof *j);
    if (!j) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "auth answer");
        return;
    }
    if (get_name(pkt, YMSG_KEY_TO, j->who) < 0 || ymsg_get_int(pkt, YMSG_KEY_FLAG, &j->v13) < 0 ||
        (j->v13 != 1 && j->v13 != 2)) {
        free(j);
        return;
    }
    if (get_text(pkt, YMSG_KEY_MSG, j->reason, sizeof j->reason) < 0) j->reason[0] = 0;
    list_job_queue(c, j, auth_job_run, auth_job_done);
}

/* The ack for a removal (after the row is gone: a login on another node must not read it back). */
static void remove_ack(struct conn *c, const char *who, const char *group, int rc)
{
    tagset_del(&c->sets, SET_STEALTH, who); /* the stealth flag lived on the removed entry */
    if (rc == STORE_OK) presence_unwatch(c, who);
    int code = rc == STORE_OK ? YMSG_RESULT_OK : rc == STORE_NOTFOUND ? YMSG_RESULT_NOT_FOUND : YMSG_RESULT_FAILURE;
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_REMBUDDY, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_str(b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(b, YMSG_KEY_GROUP, group);
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
    ymsg_build_str(b, YMSG_KEY_FEDERATION, "0");
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, "buddy_remove", code, "%s", who);
}

static int remove_job_run(struct store *st, void *arg)
{
    struct list_job *j = arg;
    int rc = st->buddy_del(st, j->user, j->who);
    if (rc == STORE_OK) st->authreq_del(st, j->user, j->who);
    return rc;
}

static void remove_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    if (j->c->state == CONN_ONLINE) remove_ack(j->c, j->who, j->oldg, rc);
    else if (rc != STORE_OK && rc != STORE_NOTFOUND)
        log_event(LOG_ERROR, NULL, j->user, "store_write_failed", rc, "buddy remove %s not stored", j->who);
    list_job_end(j);
}

void buddy_handle_remove(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char who[NAME_MAX_LEN + 1], group[STORE_GROUP_MAX + 1];
    if (get_name(pkt, YMSG_KEY_BUDDY, who) < 0) return;
    if (get_text(pkt, YMSG_KEY_GROUP, group, sizeof group) < 0) group[0] = 0;
    if (srv->sa) {
        /* PostgreSQL: the rows go on the store worker and the session waits for them (sessions_hold),
         * so the ack means "gone" on every node -- a login elsewhere right after it reads the new list. */
        struct list_job *j = calloc(1, sizeof *j);
        if (!j) {
            log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "buddy remove");
            return;
        }
        snprintf(j->who, sizeof j->who, "%s", who);
        snprintf(j->oldg, sizeof j->oldg, "%s", group);
        list_job_queue(c, j, remove_job_run, remove_job_done);
        return;
    }
    int rc = srv->st->buddy_del(srv->st, c->user, who);
    if (rc == STORE_OK) srv->st->authreq_del(srv->st, c->user, who);
    remove_ack(c, who, group, rc);
}

static int move_job_run(struct store *st, void *arg)
{
    struct list_job *j = arg;
    return st->buddy_set_group(st, j->user, j->who, j->newg);
}

static void move_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    struct conn *c = j->c;
    int code = rc == STORE_OK ? YMSG_RESULT_OK : rc == STORE_NOTFOUND ? YMSG_RESULT_NOT_FOUND : YMSG_RESULT_FAILURE;
    if (c->state == CONN_ONLINE) {
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CHGRP_15, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
        ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 240);
        ymsg_build_int(b, YMSG_KEY_ENTRY_BEGIN, 240);
        ymsg_build_str(b, YMSG_KEY_BUDDY, j->who);
        ymsg_build_str(b, YMSG_KEY_OLD_GROUP, j->oldg);
        ymsg_build_str(b, YMSG_KEY_NEW_GROUP_CHG, j->newg);
        ymsg_build_int(b, YMSG_KEY_ENTRY_END, 240);
        ymsg_build_int(b, YMSG_KEY_LIST_END, 240);
        ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
        delivery_send(c);
    }
    log_event(LOG_INFO, c->peer, j->user, "buddy_move", code, "%s", j->who);
    list_job_end(j);
}

void buddy_handle_move(struct conn *c, const struct ymsg_packet *pkt)
{
    struct list_job *j = calloc(1, sizeof *j);
    if (!j) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "buddy move");
        return;
    }
    if (get_name(pkt, YMSG_KEY_BUDDY, j->who) < 0 || get_text(pkt, YMSG_KEY_NEW_GROUP_CHG, j->newg, sizeof j->newg) < 0 ||
        !valid_group(j->newg)) {
        free(j);
        return;
    }
    if (get_text(pkt, YMSG_KEY_OLD_GROUP, j->oldg, sizeof j->oldg) < 0) j->oldg[0] = 0;
    list_job_queue(c, j, move_job_run, move_job_done);
}

static int rename_job_run(struct store *st, void *arg)
{
    struct list_job *j = arg;
    return st->group_rename(st, j->user, j->oldg, j->newg);
}

static void rename_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    struct conn *c = j->c;
    int code = rc == STORE_OK ? YMSG_RESULT_OK : rc == STORE_NOTFOUND ? YMSG_RESULT_NOT_FOUND
             : rc == STORE_EXISTS ? YMSG_RESULT_GROUP_EXISTS : YMSG_RESULT_FAILURE;
    if (c->state == CONN_ONLINE) {
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_GROUPRENAME, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
        ymsg_build_str(b, YMSG_KEY_GROUP, j->newg);   /* the ack swaps 65/67 (§6.4) */
        ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
        ymsg_build_str(b, YMSG_KEY_NEW_GROUP, j->oldg);
        delivery_send(c);
    }
    log_event(LOG_INFO, c->peer, j->user, "group_rename", code, NULL);
    list_job_end(j);
}

void buddy_handle_rename_group(struct conn *c, const struct ymsg_packet *pkt)
{
    struct list_job *j = calloc(1, sizeof *j);
    if (!j) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "group rename");
        return;
    }
    if (get_text(pkt, YMSG_KEY_GROUP, j->oldg, sizeof j->oldg) < 0 ||
        get_text(pkt, YMSG_KEY_NEW_GROUP, j->newg, sizeof j->newg) < 0 || !valid_group(j->newg)) {
        free(j);
        return;
    }
    list_job_queue(c, j, rename_job_run, rename_job_done);
}

static int ignore_job_run(struct store *st, void *arg)
{
    struct list_job *j = arg;
    int ignored = st->ignore_check(st, j->user, j->who);
    if (j->v13 == 1) {
        if (ignored == 1) j->code = YMSG_RESULT_DUPLICATE;
        else if (st->buddy_get(st, j->user, j->who, NULL, NULL) == STORE_OK) j->code = YMSG_RESULT_IS_BUDDY;
        else if (j->rc2) j->code = YMSG_RESULT_LIST_FULL; /* bounded too (counted on the loop) */
        else j->code = st->ignore_add(st, j->user, j->who) == STORE_OK ? YMSG_RESULT_OK : YMSG_RESULT_FAILURE;
    } else {
        if (ignored != 1) j->code = YMSG_RESULT_NOT_FOUND;
        else j->code = st->ignore_del(st, j->user, j->who) == STORE_OK ? YMSG_RESULT_OK : YMSG_RESULT_FAILURE;
    }
    return STORE_OK;
}

static int unignore_job_run(struct store *st, void *arg)
{
    struct list_job *j = arg;
    return st->ignore_del(st, j->user, j->who);
}

static void unignore_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    if (rc != STORE_OK) log_event(LOG_ERROR, NULL, j->user, "store_write_failed", rc, "ignore %s not undone", j->who);
    free(j);
}

static void ignore_job_done(void *arg, int rc)
{
    (void)rc;
    struct list_job *j = arg;
    struct conn *c = j->c;
    struct server *srv = c->srv;
    int code = j->code;
    int on = c->state == CONN_ONLINE;
    struct pres_snap s;
    if (on) pres_begin(srv, c->user, j->who, &s);
    if (j->v13 == 1) {
        /* (A session that closed meanwhile keeps the stored row: its next login reads it.) */
        if (code == YMSG_RESULT_OK && on && tagset_add(&c->sets, SET_IGNORE, j->who) < 0) {
            /* can_see() reads the in-memory set: stored but not in it would not hide c. Undo, say so. */
            struct list_job *u = calloc(1, sizeof *u);
            if (u) {
                snprintf(u->user, sizeof u->user, "%s", j->user);
                snprintf(u->who, sizeof u->who, "%s", j->who);
            }
            if (!u || store_async_run(srv->sa, srv->st, unignore_job_run, unignore_job_done, u) < 0) free(u);
            log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "ignore %s not applied", j->who);
            code = YMSG_RESULT_FAILURE;
        }
    } else if (code == YMSG_RESULT_OK && on) tagset_del(&c->sets, SET_IGNORE, j->who);
    if (on) {
        /* Ignoring someone hides c from them exactly like signing off would (can_see checks ignores). */
        pres_end(srv, &s, 0);
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_IGNORECONTACT, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_LOGIN_ID, j->who);
        ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
        ymsg_build_int(b, YMSG_KEY_FLAG, j->v13);
        ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
        delivery_send(c);
    }
    log_event(LOG_INFO, c->peer, j->user, j->v13 == 1 ? "ignore" : "unignore", code, "%s", j->who);
    list_job_end(j);
}

void buddy_handle_ignore(struct conn *c, const struct ymsg_packet *pkt)
{
    struct list_job *j = calloc(1, sizeof *j);
    if (!j) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "ignore");
        return;
    }
    if (get_name(pkt, YMSG_KEY_BUDDY, j->who) < 0 || ymsg_get_int(pkt, YMSG_KEY_FLAG, &j->v13) < 0 ||
        (j->v13 != 1 && j->v13 != 2)) {
        free(j);
        return;
    }
    /* The session's packets wait for the job: its in-memory ignore set cannot change meanwhile. */
    uint32_t first;
    j->rc2 = tagset_range(&c->sets, SET_IGNORE, &first) >= (uint32_t)c->srv->cfg->max_buddies;
    list_job_queue(c, j, ignore_job_run, ignore_job_done);
}
