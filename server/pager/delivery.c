/* Delivery below the handlers; see delivery.h. */
#include "delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sessions.h"
#include "metrics.h"

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
    if (from && nameset_has(&r->ignores, from)) return DELIVERY_IGNORED;
    build(delivery_begin(r, service, status), arg);
    return delivery_send(r) == 0 ? DELIVERY_SENT : DELIVERY_FAILED;
}

int delivery_to_box(struct server *srv, const struct delivery_box *m, delivery_build_fn build, void *arg)
{
    struct conn *r = sessions_get(srv, m->to);
    int ign = srv->st->ignore_check(srv->st, m->to, m->from);
    char *t = malloc(m->text_len + 1);
    if (!t) {
        log_event(LOG_ERROR, NULL, m->from, "out_of_memory", (long)m->text_len, "im to %s", m->to);
        return STORE_ERR;
    }
    memcpy(t, m->text, m->text_len);
    t[m->text_len] = 0;
    int live = r != NULL && ign == 0;
    struct store_deposit d = {m->to, m->from, t, (int64_t)time(NULL), m->utf8, r != NULL || ign != 0,
                              srv->cfg->offline_max, srv->cfg->offline_per_sender};
    int rc = srv->st->offline_deposit(srv->st, &d);
    free(t);
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
    build(b, arg);
    if (live && rc == STORE_OK) delivery_send(r);
    else (void)ymsg_build_end(b); /* finished and dropped: the same encoding work as a delivery */
    return rc;
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
