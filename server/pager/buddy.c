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
    nameset_free(&c->ignores);
    nameset_free(&c->stealthed);
    int failed = bl->failed || ig->failed;
    for (size_t i = 0; i < ig->n && !failed; i++) failed = nameset_add(&c->ignores, ig->r[i].buddy) < 0;
    for (size_t i = 0; i < bl->n && !failed; i++)
        if (bl->r[i].stealth) failed = nameset_add(&c->stealthed, bl->r[i].buddy) < 0;
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

void buddy_handle_add(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char who[NAME_MAX_LEN + 1], group[STORE_GROUP_MAX + 1], msg[512];
    int code = YMSG_RESULT_OK;
    if (get_name(pkt, YMSG_KEY_BUDDY, who) < 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "add_malformed", 0, NULL);
        return;
    }
    if (get_text(pkt, YMSG_KEY_GROUP, group, sizeof group) < 0 || !valid_group(group)) snprintf(group, sizeof group, "Friends");
    if (get_text(pkt, YMSG_KEY_MSG, msg, sizeof msg) < 0) msg[0] = 0;
    int pending = 1;
    int have = srv->st->buddy_get(srv->st, c->user, who, &pending, NULL);
    if (!strcmp(who, c->user)) code = YMSG_RESULT_FAILURE;
    else if (have == STORE_OK) code = YMSG_RESULT_DUPLICATE;
    else if (srv->st->user_exists(srv->st, who) != 1) code = YMSG_RESULT_NOT_FOUND;
    else if (srv->st->ignore_check(srv->st, c->user, who) == 1) code = YMSG_RESULT_FAILURE; /* unignore first */
    else if (srv->st->buddy_count(srv->st, c->user) >= srv->cfg->max_buddies) code = YMSG_RESULT_LIST_FULL;
    else if (srv->st->buddy_add(srv->st, c->user, who, group, 1) != STORE_OK) code = YMSG_RESULT_FAILURE;
    if (code == YMSG_RESULT_OK) {
        pending = 1;
        srv->st->authreq_put(srv->st, c->user, who, msg);
    }
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_ADDBUDDY, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_str(b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(b, YMSG_KEY_GROUP, group);
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
    if ((code == YMSG_RESULT_OK || code == YMSG_RESULT_DUPLICATE) && pending) ymsg_build_str(b, YMSG_KEY_PENDING, "1");
    ymsg_build_str(b, YMSG_KEY_FEDERATION, "0");
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, "buddy_add", code, "%s", who);
    if (code != YMSG_RESULT_OK) return;
    /* The request reaches the target now if online (whatever the target's visibility: the requester
     * learns nothing from it), otherwise at its next login. */
    struct conn *t = sessions_get(srv, who);
    if (t) send_authreq(t, c->user, msg);
}

void buddy_handle_auth(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char req[NAME_MAX_LEN + 1], reason[512];
    long long v13 = 0;
    if (get_name(pkt, YMSG_KEY_TO, req) < 0 || ymsg_get_int(pkt, YMSG_KEY_FLAG, &v13) < 0 || (v13 != 1 && v13 != 2))
        return;
    if (srv->st->authreq_del(srv->st, req, c->user) != STORE_OK) {
        log_event(LOG_DEBUG, c->peer, c->user, "auth_no_request", 0, "%s", req);
        return;
    }
    if (get_text(pkt, YMSG_KEY_MSG, reason, sizeof reason) < 0) reason[0] = 0;
    struct pres_snap s;
    pres_begin(srv, c->user, req, &s);
    struct conn *r = sessions_get(srv, req);
    if (v13 == 1) {
        if (srv->st->buddy_set_pending(srv->st, req, c->user, 0) == STORE_OK && r) presence_watch(r, c->user);
    } else if (srv->st->buddy_del(srv->st, req, c->user) == STORE_OK && r) {
        nameset_del(&r->stealthed, c->user);
        presence_unwatch(r, c->user);
    }
    if (r) {
        struct ymsg_builder *b = delivery_begin(r, YMSG_SVC_AUTH_REQ_15, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_FROM, c->user);
        ymsg_build_str(b, YMSG_KEY_TO, req);
        ymsg_build_int(b, YMSG_KEY_FLAG, v13);
        if (v13 == 2) {
            ymsg_build_str(b, YMSG_KEY_MSG, reason);
            ymsg_build_str(b, YMSG_KEY_UTF8, "1");
        }
        delivery_send(r);
    }
    /* Accepting makes the requester a watcher: it learns c's presence only if can_see() allows. */
    pres_end(srv, &s, 0);
    log_event(LOG_INFO, c->peer, c->user, v13 == 1 ? "auth_accept" : "auth_decline", 0, "%s", req);
}

struct remove_job {
    char owner[NAME_MAX_LEN + 1]; /* whose list */
    char who[NAME_MAX_LEN + 1];   /* the removed buddy */
};

static int remove_job_run(struct store *st, void *arg)
{
    struct remove_job *j = arg;
    int rc = st->buddy_del(st, j->owner, j->who);
    if (rc == STORE_OK) st->authreq_del(st, j->owner, j->who);
    return rc;
}

static void remove_job_done(void *arg, int rc)
{
    struct remove_job *j = arg;
    /* NOTFOUND: removed meanwhile (another session of the same user on another node). */
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        log_event(LOG_ERROR, NULL, j->owner, "store_write_failed", rc, "buddy remove %s not stored", j->who);
    free(j);
}

void buddy_handle_remove(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char who[NAME_MAX_LEN + 1], group[STORE_GROUP_MAX + 1];
    if (get_name(pkt, YMSG_KEY_BUDDY, who) < 0) return;
    if (get_text(pkt, YMSG_KEY_GROUP, group, sizeof group) < 0) group[0] = 0;
    int rc;
    struct remove_job *j = srv->sa && presence_watches(srv, c->user, who) ? calloc(1, sizeof *j) : NULL;
    if (j) {
        /* PostgreSQL, an authorised buddy: the entry exists, so the answer is known now; the rows go on
         * the store worker and later calls on this node are ordered after them.  (SQLite: as before.) */
        snprintf(j->owner, sizeof j->owner, "%s", c->user);
        snprintf(j->who, sizeof j->who, "%s", who);
        rc = store_async_run(srv->sa, srv->st, remove_job_run, remove_job_done, j) < 0 ? STORE_ERR : STORE_OK;
        if (rc != STORE_OK) free(j);
    } else {
        rc = srv->st->buddy_del(srv->st, c->user, who);
        if (rc == STORE_OK) srv->st->authreq_del(srv->st, c->user, who);
    }
    nameset_del(&c->stealthed, who); /* the stealth flag lived on the removed entry */
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

void buddy_handle_move(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char who[NAME_MAX_LEN + 1], oldg[STORE_GROUP_MAX + 1], newg[STORE_GROUP_MAX + 1];
    if (get_name(pkt, YMSG_KEY_BUDDY, who) < 0 || get_text(pkt, YMSG_KEY_NEW_GROUP_CHG, newg, sizeof newg) < 0 ||
        !valid_group(newg))
        return;
    if (get_text(pkt, YMSG_KEY_OLD_GROUP, oldg, sizeof oldg) < 0) oldg[0] = 0;
    int rc = srv->st->buddy_set_group(srv->st, c->user, who, newg);
    int code = rc == STORE_OK ? YMSG_RESULT_OK : rc == STORE_NOTFOUND ? YMSG_RESULT_NOT_FOUND : YMSG_RESULT_FAILURE;
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CHGRP_15, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_int(b, YMSG_KEY_LIST_BEGIN, 240);
    ymsg_build_int(b, YMSG_KEY_ENTRY_BEGIN, 240);
    ymsg_build_str(b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(b, YMSG_KEY_OLD_GROUP, oldg);
    ymsg_build_str(b, YMSG_KEY_NEW_GROUP_CHG, newg);
    ymsg_build_int(b, YMSG_KEY_ENTRY_END, 240);
    ymsg_build_int(b, YMSG_KEY_LIST_END, 240);
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, "buddy_move", code, "%s", who);
}

void buddy_handle_rename_group(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char oldg[STORE_GROUP_MAX + 1], newg[STORE_GROUP_MAX + 1];
    if (get_text(pkt, YMSG_KEY_GROUP, oldg, sizeof oldg) < 0 || get_text(pkt, YMSG_KEY_NEW_GROUP, newg, sizeof newg) < 0 ||
        !valid_group(newg))
        return;
    int rc = srv->st->group_rename(srv->st, c->user, oldg, newg);
    int code = rc == STORE_OK ? YMSG_RESULT_OK : rc == STORE_NOTFOUND ? YMSG_RESULT_NOT_FOUND
             : rc == STORE_EXISTS ? YMSG_RESULT_GROUP_EXISTS : YMSG_RESULT_FAILURE;
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_GROUPRENAME, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_str(b, YMSG_KEY_GROUP, newg);   /* the ack swaps 65/67 (§6.4) */
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
    ymsg_build_str(b, YMSG_KEY_NEW_GROUP, oldg);
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, "group_rename", code, NULL);
}

void buddy_handle_ignore(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char who[NAME_MAX_LEN + 1];
    long long v13 = 0;
    if (get_name(pkt, YMSG_KEY_BUDDY, who) < 0 || ymsg_get_int(pkt, YMSG_KEY_FLAG, &v13) < 0 || (v13 != 1 && v13 != 2))
        return;
    int code, ignored = srv->st->ignore_check(srv->st, c->user, who);
    struct pres_snap s;
    pres_begin(srv, c->user, who, &s);
    if (v13 == 1) {
        if (ignored == 1) code = YMSG_RESULT_DUPLICATE;
        else if (srv->st->buddy_get(srv->st, c->user, who, NULL, NULL) == STORE_OK) code = YMSG_RESULT_IS_BUDDY;
        else if (c->ignores.n >= (uint32_t)srv->cfg->max_buddies) code = YMSG_RESULT_LIST_FULL; /* bounded too */
        else code = srv->st->ignore_add(srv->st, c->user, who) == STORE_OK ? YMSG_RESULT_OK : YMSG_RESULT_FAILURE;
        if (code == YMSG_RESULT_OK && nameset_add(&c->ignores, who) < 0) {
            /* can_see() reads the in-memory set: stored but not in it would not hide c. Undo, say so. */
            srv->st->ignore_del(srv->st, c->user, who);
            log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "ignore %s not applied", who);
            code = YMSG_RESULT_FAILURE;
        }
    } else {
        if (ignored != 1) code = YMSG_RESULT_NOT_FOUND;
        else code = srv->st->ignore_del(srv->st, c->user, who) == STORE_OK ? YMSG_RESULT_OK : YMSG_RESULT_FAILURE;
        if (code == YMSG_RESULT_OK) nameset_del(&c->ignores, who);
    }
    /* Ignoring someone hides c from them exactly like signing off would (can_see checks ignores). */
    pres_end(srv, &s, 0);
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_IGNORECONTACT, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_LOGIN_ID, who);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_int(b, YMSG_KEY_FLAG, v13);
    ymsg_build_int(b, YMSG_KEY_ERROR_CODE, code);
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, v13 == 1 ? "ignore" : "unignore", code, "%s", who);
}
