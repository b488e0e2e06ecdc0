/* Delivery below the handlers; see delivery.h. */
#include "delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sessions.h"
#include "metrics.h"
#include "store_async.h"

static uint8_t g_out[YMSG_HEADER_LEN + YMSG_MAX_BODY]; /* the shared packet builder's memory */
static struct ymsg_builder g_b;                         /* the shared builder */
static int g_b_ready;                                   /* g_b initialised */

struct ymsg_builder *delivery_begin(struct conn *c, uint16_t service, uint32_t status)
{
    if (!g_b_ready) {
        ymsg_builder_init(&g_b, g_out, sizeof g_out);
        g_b_ready = 1;
    }
    ymsg_builder_reset(&g_b);
    g_b.err = 0;
    /* Replies carry the client's own version (16 for v16 clients); bytes 4-7 are ignored by clients. */
    g_b.version = c->version ? c->version : YMSG_VERSION;
    g_b.vendor = 0;
    ymsg_build_begin(&g_b, service, status, c->session_id);
    return &g_b;
}

size_t delivery_body_len(void)
{
    if (g_b.err || g_b.start == SIZE_MAX) return 0;
    return g_b.len - g_b.start - YMSG_HEADER_LEN;
}

/* Marks c as a slow reader; the reaper closes it (delivery_close_slow). */
static void delivery_mark_slow(struct conn *c, size_t queued)
{
    log_event(LOG_WARN, c->tp->peer(c), c->user, "slow_reader", (long)queued, "output above out_cap=%ld; disconnecting",
              c->srv->cfg->out_cap);
    c->slow = 1;
    c->next_slow = c->srv->slow;
    c->srv->slow = c;
    if (c->srv->reaper) event_active(c->srv->reaper, EV_TIMEOUT, 0);
}

/* Hands n bytes (whole packets) to c's transport; own: not counted against out_cap. */
static int delivery_write(struct conn *c, const void *pkt, size_t n, int own)
{
    if (c->state >= CONN_DEAD || c->slow || !c->tp) return -1;
    if (c->tp->write(c, pkt, n) < 0) {
        c->tp->close(c, 0, "write failed");
        return -1;
    }
    const uint8_t *h = pkt; /* counted by the (first) packet's service */
    if (n >= YMSG_HEADER_LEN) metrics_packet_out((uint16_t)(h[10] << 8 | h[11]), n);
    size_t queued = c->tp->queued(c);
    if (!own && queued > (size_t)c->srv->cfg->out_cap) {
        delivery_mark_slow(c, queued);
        return -1;
    }
    return 0;
}

static int delivery_queue(struct conn *c, int own)
{
    size_t start = g_b.start;
    ssize_t n = ymsg_build_end(&g_b);
    if (n < 0) {
        log_event(LOG_ERROR, c->peer, c->user, "build_failed", (long)n, "%s", ymsg_strerror((int)n));
        return -1;
    }
    return delivery_write(c, g_out + start, (size_t)n, own);
}

int delivery_send_packet(struct conn *c, const void *pkt, size_t len)
{
    return delivery_write(c, pkt, len, 0);
}

int delivery_send(struct conn *c)
{
    return delivery_queue(c, 0);
}

int delivery_send_own(struct conn *c)
{
    return delivery_queue(c, 1);
}

int delivery_full(void)
{
    return delivery_body_len() > DELIVERY_SPLIT;
}

struct ymsg_builder *delivery_continue(struct conn *c, struct ymsg_builder *b)
{
    if (b->err || b->start == SIZE_MAX) return NULL;
    uint8_t *h = b->buf + b->start;
    uint16_t service = (uint16_t)(h[10] << 8 | h[11]);
    uint32_t status = (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
    h[12] = h[13] = h[14] = 0;
    h[15] = YMSG_PKT_CONTINUED;
    if (delivery_send(c) < 0) return NULL;
    return delivery_begin(c, service, status);
}

void delivery_ping(struct conn *c)
{
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_PING, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_PING_INTERVAL, "60");
    ymsg_build_str(b, YMSG_KEY_PING_FLAG, "1");
    delivery_send(c);
}

int delivery_to_user(struct server *srv, const char *to, const char *from, uint16_t service, uint32_t status,
                     delivery_build_fn build, void *arg)
{
    struct conn *r = sessions_get(srv, to);
    if (!r) return DELIVERY_OFFLINE;
    if (from && tagset_has(&r->sets, SET_IGNORE, from)) return DELIVERY_IGNORED;
    build(delivery_begin(r, service, status), arg);
    return delivery_send(r) == 0 ? DELIVERY_SENT : DELIVERY_FAILED;
}

/* One box-path message on its way through the store worker. */
struct box_job {
    struct server *srv;           /* owner */
    char from[NAME_MAX_LEN + 1];  /* sender */
    char to[NAME_MAX_LEN + 1];    /* recipient */
    char *text;                   /* NUL-terminated copy of the text */
    int64_t time;                 /* when it was sent */
    int utf8;                     /* key 97=1 */
    int online;                   /* the recipient had a session when the message came */
    int exists;                   /* user_exists(to) (worker) */
    int ign;                      /* ignore_check(to, from) (worker) */
    delivery_build_fn build;      /* the recipient's packet */
    delivery_box_done_fn done;    /* the caller's continuation (before the build) */
    void (*release)(void *arg);   /* ... and the end of arg */
    void *arg;                    /* for build, done and release */
};

static int box_job_run(struct store *st, void *arg)
{
    struct box_job *j = arg;
    j->exists = st->user_exists(st, j->to);
    if (j->exists != 1) return j->exists == 0 ? STORE_NOTFOUND : STORE_ERR;
    j->ign = st->ignore_check(st, j->to, j->from);
    struct store_deposit d = {j->to, j->from, j->text, j->time, j->utf8, j->online || j->ign != 0,
                              j->srv->cfg->offline_max, j->srv->cfg->offline_per_sender};
    return st->offline_deposit(st, &d);
}

/* A row stored as handed over live for a recipient who signed off before the hand-over: the text is
 * kept as a waiting row after all (it counts twice until the recipient's next login). */
static int box_keep_run(struct store *st, void *arg)
{
    struct box_job *j = arg;
    return st->offline_add(st, j->to, j->from, j->text, j->time, j->utf8, j->srv->cfg->offline_max);
}

static void box_job_free(struct box_job *j)
{
    if (j->release) j->release(j->arg);
    free(j->text);
    free(j);
}

static void box_keep_done(void *arg, int rc)
{
    struct box_job *j = arg;
    if (rc != STORE_OK)
        log_event(LOG_ERROR, NULL, j->from, "store_write_failed", rc, "im to %s kept for the next login", j->to);
    box_job_free(j);
}

static void box_job_done(void *arg, int rc)
{
    struct box_job *j = arg;
    struct server *srv = j->srv;
    if (j->exists != 1) {
        if (j->done) j->done(j->arg, j->exists == 0 ? STORE_NOTFOUND : STORE_ERR);
        box_job_free(j);
        return;
    }
    if (j->done) j->done(j->arg, rc);
    struct conn *r = sessions_get(srv, j->to);
    int ign = j->ign;
    int live = r != NULL && ign == 0;
    g_metrics.ims[rc == STORE_FULL ? MET_IM_REFUSED : rc != STORE_OK ? MET_IM_FAILED
                  : live ? MET_IM_LIVE : r ? MET_IM_IGNORED : MET_IM_OFFLINE]++;
    /* The recipient's packet is built either way; only a live recipient gets it.  With nobody on line
     * it is built in the shared builder under a blank header (no session to take one from). */
    struct ymsg_builder *b;
    if (r) b = delivery_begin(r, YMSG_SVC_MESSAGE, YMSG_PKT_SERVERACK);
    else {
        struct conn blank = {.version = YMSG_VERSION};
        b = delivery_begin(&blank, YMSG_SVC_MESSAGE, YMSG_PKT_SERVERACK);
    }
    j->build(b, j->arg);
    if (live && rc == STORE_OK) {
        srv->quiet_send = 1; /* the sender may not know r is online: nothing it can time (server.h) */
        delivery_send(r);
        srv->quiet_send = 0;
    }
    else (void)ymsg_build_end(b); /* finished and dropped: the same encoding work as a delivery */
    if (j->release) j->release(j->arg);
    j->release = NULL;
    if (rc == STORE_OK && j->online && ign == 0 && !r &&
        store_async_run(srv->sa, srv->st, box_keep_run, box_keep_done, j) == 0)
        return; /* j goes with box_keep_done */
    box_job_free(j);
}

int delivery_to_box(struct server *srv, const struct delivery_box *m, delivery_build_fn build,
                    delivery_box_done_fn done, void (*release)(void *arg), void *arg)
{
    struct box_job *j = calloc(1, sizeof *j);
    if (!j || !(j->text = malloc(m->text_len + 1))) {
        free(j);
        log_event(LOG_ERROR, NULL, m->from, "out_of_memory", (long)m->text_len, "im to %s", m->to);
        return -1;
    }
    memcpy(j->text, m->text, m->text_len);
    j->text[m->text_len] = 0;
    j->srv = srv;
    snprintf(j->from, sizeof j->from, "%s", m->from);
    snprintf(j->to, sizeof j->to, "%s", m->to);
    j->time = (int64_t)time(NULL);
    j->utf8 = m->utf8;
    j->online = sessions_get(srv, m->to) != NULL;
    j->build = build;
    j->done = done;
    j->release = release;
    j->arg = arg;
    if (store_async_run(srv->sa, srv->st, box_job_run, box_job_done, j) < 0) {
        free(j->text);
        free(j);
        return -1;
    }
    return 0;
}

void delivery_close(struct conn *c, int flush, const char *why)
{
    if (c->tp) c->tp->close(c, flush, why);
}

void delivery_close_slow(struct server *srv)
{
    while (srv->slow) {
        struct conn *c = srv->slow;
        srv->slow = c->next_slow;
        c->next_slow = NULL;
        if (c->tp) c->tp->close(c, 0, "slow reader");
    }
}
