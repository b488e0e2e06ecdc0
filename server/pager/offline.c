/* Offline messages at login, in pages; see offline.h. */
#include "offline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "sessions.h"
#include "log.h"
#include "grow.h"
#include "store_async.h"

#define OFFLINE_ROWS 16     /* rows fetched per store query */

struct offline_page {
    struct conn *c;          /* recipient */
    struct ymsg_builder *b;  /* packet being filled, or NULL */
    size_t room;             /* bytes this page may still queue */
    int64_t in_packet;       /* id of the last message put in the packet being filled */
    int full;                /* the page is full: later rows wait for the next page */
    int rows;                /* rows seen by this query */
};

static size_t offline_queued(const struct conn *c)
{
    return c->tp ? c->tp->queued(c) : 0;
}

static void offline_flush(struct offline_page *o)
{
    if (!o->b) return;
    o->b = NULL;
    if (delivery_send_own(o->c) == 0) {
        o->c->offline_upto = o->in_packet;
        o->c->offline_after = o->in_packet;
    }
}

static void offline_one(void *arg, const struct store_offline *m)
{
    struct offline_page *o = arg;
    o->rows++;
    if (o->full || o->c->state >= CONN_CLOSING) {
        o->full = 1;
        return;
    }
    size_t need = strlen(m->text) + strlen(m->from) + 64;
    if (o->b && delivery_body_len() + need > DELIVERY_SPLIT) offline_flush(o);
    /* At least one message per page, whatever its size, so the box always moves. */
    if (need > o->room && (o->b || offline_queued(o->c) > 0)) {
        o->full = 1;
        return;
    }
    o->room = need > o->room ? 0 : o->room - need;
    if (!o->b) o->b = delivery_begin(o->c, YMSG_SVC_MESSAGE, YMSG_PKT_CONTINUED);
    ymsg_build_str(o->b, YMSG_KEY_STEALTH_VAL, "6");
    ymsg_build_str(o->b, YMSG_KEY_MSG_MARKER, "6");
    ymsg_build_str(o->b, YMSG_KEY_FROM, m->from);
    ymsg_build_str(o->b, YMSG_KEY_TO, o->c->user);
    ymsg_build_str(o->b, YMSG_KEY_MSG, m->text);
    ymsg_build_int(o->b, YMSG_KEY_TIME, m->time);
    if (m->utf8) ymsg_build_str(o->b, YMSG_KEY_UTF8, "1");
    if (o->b->err) { /* a message too large for one packet: drop just the packet being built */
        log_event(LOG_WARN, o->c->peer, o->c->user, "offline_dropped", (long)m->id, "too large for one packet");
        ymsg_builder_reset(o->b);
        o->b = NULL;
        o->c->offline_upto = m->id;
        o->c->offline_after = m->id;
        return;
    }
    o->in_packet = m->id;
}

/* Rows of a box read ahead on the store worker (offline_rows_fetch). */
struct offline_row {
    int64_t id;    /* row id */
    char *from;    /* sender */
    char *text;    /* text */
    int64_t time;  /* when sent */
    int utf8;      /* key 97=1 */
};

struct offline_rows {
    struct offline_row *m;  /* rows, in order */
    size_t n, cap;          /* used / allocated */
    size_t need;            /* page bytes the rows would take */
    int err;                /* the store failed (logged) or memory ran out: the rows end there */
};

static void offline_collect(void *arg, const struct store_offline *m)
{
    struct offline_rows *r = arg;
    if (r->err) return;
    if (grow_array((void **)&r->m, &r->cap, r->n, sizeof *r->m, 16) < 0) {
        r->err = 1;
        return;
    }
    struct offline_row *o = &r->m[r->n];
    o->id = m->id;
    o->time = m->time;
    o->utf8 = m->utf8;
    o->from = strdup(m->from);
    o->text = strdup(m->text);
    if (!o->from || !o->text) {
        free(o->from);
        free(o->text);
        r->err = 1;
        return;
    }
    r->n++;
    r->need += strlen(m->text) + strlen(m->from) + 64;
}

void offline_rows_free(struct offline_rows *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->m[i].from);
        free(r->m[i].text);
    }
    free(r->m);
    free(r);
}

struct offline_rows *offline_rows_fetch(struct store *st, const char *user, int64_t after, size_t budget)
{
    struct offline_rows *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    /* Enough rows for any page: a page holds at most budget bytes (and at least one row). */
    for (;;) {
        size_t had = r->n;
        int n = st->offline_page(st, user, after, OFFLINE_ROWS, offline_collect, r);
        if (n < 0) r->err = 1;
        if (r->err || n < OFFLINE_ROWS || r->n == had || r->need > budget) break;
        after = r->m[r->n - 1].id;
    }
    return r;
}

/* Queues one page from rows read ahead (rows after c->offline_after). */
static void offline_page_rows(struct conn *c, const struct offline_rows *r)
{
    struct server *srv = c->srv;
    size_t budget = (size_t)srv->cfg->out_cap / 2, queued = offline_queued(c);
    struct offline_page o = {c, NULL, queued < budget ? budget - queued : 0, 0, 0, 0};
    c->offline_more = 0;
    for (size_t i = 0; i < r->n && !o.full; i++) {
        const struct offline_row *m = &r->m[i];
        struct store_offline row = {m->id, m->from, m->text, m->time, m->utf8};
        offline_one(&o, &row);
    }
    offline_flush(&o);
    /* a store error (logged): the rest waits for the next login */
    c->offline_more = o.full && c->state < CONN_CLOSING;
}

struct offline_next {
    struct conn *c;              /* held (sessions_hold) */
    char user[NAME_MAX_LEN + 1]; /* whose box */
    int64_t after;               /* read after this id */
    size_t budget;               /* page bytes */
    struct offline_rows *rows;   /* what the worker read */
};

static int offline_next_run(struct store *st, void *arg)
{
    struct offline_next *j = arg;
    j->rows = offline_rows_fetch(st, j->user, j->after, j->budget);
    return j->rows ? STORE_OK : STORE_ERR;
}

static void offline_next_done(void *arg, int rc)
{
    struct offline_next *j = arg;
    struct conn *c = j->c;
    if (j->rows && c->state == CONN_ONLINE && c->offline_after == j->after) offline_page_rows(c, j->rows);
    offline_rows_free(j->rows);
    sessions_release(c);
    free(j);
}

/* The next page: its rows are read on the store worker; c's input waits meanwhile. */
static void offline_page(struct conn *c)
{
    struct offline_next *j = calloc(1, sizeof *j);
    if (!j) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "offline page");
        return;
    }
    c->offline_more = 0;
    j->c = c;
    snprintf(j->user, sizeof j->user, "%s", c->user);
    j->after = c->offline_after;
    j->budget = (size_t)c->srv->cfg->out_cap / 2;
    sessions_hold(c);
    if (store_async_run(c->srv->sa, c->srv->st, offline_next_run, offline_next_done, j) < 0) {
        sessions_release(c);
        free(j);
    }
}

struct offline_job {
    char user[NAME_MAX_LEN + 1]; /* whose box */
    int64_t upto;                /* offline_del_upto's mark; 0 = offline_clear_delivered */
};

static int offline_job_run(struct store *st, void *arg)
{
    struct offline_job *j = arg;
    return j->upto ? st->offline_del_upto(st, j->user, j->upto) : st->offline_clear_delivered(st, j->user);
}

static void offline_job_done(void *arg, int rc)
{
    struct offline_job *j = arg;
    if (rc != STORE_OK)
        log_event(LOG_ERROR, NULL, j->user, "store_write_failed", rc, "offline %s %lld", j->upto ? "del_upto" : "clear",
                  (long long)j->upto);
    free(j);
}

/* The box's deletions go to the store worker (inline with SQLite): nothing waits for them. */
static void offline_write(struct conn *c, int64_t upto)
{
    struct offline_job *j = calloc(1, sizeof *j);
    if (j) {
        snprintf(j->user, sizeof j->user, "%s", c->user);
        j->upto = upto;
    }
    if (!j || store_async_run(c->srv->sa, c->srv->st, offline_job_run, offline_job_done, j) < 0) {
        free(j);
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "offline box write");
    }
}

void offline_start(struct conn *c, const struct offline_rows *rows)
{
    /* The rows delivered live in earlier sessions were deleted (offline_clear_delivered) by the job
     * that read rows, before it read them. */
    c->offline_after = 0;
    c->offline_upto = 0;
    if (rows) offline_page_rows(c, rows);
}

void offline_drained(struct conn *c)
{
    if (c->offline_upto && c->user[0]) {
        offline_write(c, c->offline_upto);
        c->offline_upto = 0;
    }
    if (c->offline_more && c->state == CONN_ONLINE) offline_page(c);
}
