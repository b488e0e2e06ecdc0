/* Offline messages at login, in pages; see offline.h. */
#include "offline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "sessions.h"
#include "log.h"
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

/* Queues one page: rows after c->offline_after until the page is full or the box is empty. */
static void offline_page(struct conn *c)
{
    struct server *srv = c->srv;
    size_t budget = (size_t)srv->cfg->out_cap / 2, queued = offline_queued(c);
    struct offline_page o = {c, NULL, queued < budget ? budget - queued : 0, 0, 0, 0};
    c->offline_more = 0;
    for (;;) {
        o.rows = 0;
        int n = srv->st->offline_page(srv->st, c->user, c->offline_after, OFFLINE_ROWS, offline_one, &o);
        if (n < 0) { /* store error (logged): the rest waits for the next login */
            offline_flush(&o);
            return;
        }
        if (o.full) {
            offline_flush(&o);
            c->offline_more = c->state < CONN_CLOSING;
            return;
        }
        if (o.b) c->offline_after = o.in_packet; /* rows in the open packet are not read again */
        if (n < OFFLINE_ROWS) break;
    }
    offline_flush(&o);
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

void offline_start(struct conn *c)
{
    struct server *srv = c->srv;
    /* The page read below runs on the loop's own connection: a deletion of an earlier session still
     * queued must land first, or its rows would be sent twice.  Returns at once when nothing waits. */
    store_async_barrier(srv->sa);
    offline_write(c, 0);
    c->offline_after = 0;
    c->offline_upto = 0;
    offline_page(c);
}

void offline_drained(struct conn *c)
{
    if (c->offline_upto && c->user[0]) {
        offline_write(c, c->offline_upto);
        c->offline_upto = 0;
    }
    if (c->offline_more && c->state == CONN_ONLINE) offline_page(c);
}
