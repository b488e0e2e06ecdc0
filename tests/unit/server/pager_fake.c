/* Fake transport and socket-less server; see pager_fake.h. */
#include "pager_fake.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "auth.h"
#include "conf.h"
#include "delivery.h"
#include "dispatch.h"
#include "presence.h"
#include "sessions.h"

static int fake_write(struct conn *c, const void *data, size_t len)
{
    struct fake_conn *f = (struct fake_conn *)c;
    if (f->len + len > f->cap) {
        size_t ncap = (f->cap ? f->cap * 2 : 4096) + len;
        uint8_t *n = realloc(f->out, ncap);
        if (!n) return -1;
        f->out = n;
        f->cap = ncap;
    }
    memcpy(f->out + f->len, data, len);
    f->len += len;
    return 0;
}

static size_t fake_queued(const struct conn *c)
{
    const struct fake_conn *f = (const struct fake_conn *)c;
    return f->len - f->taken + f->queued_extra;
}

/* What conn_close() does for a session, without a socket: off line with the presence fan-out, then dead. */
static void fake_close(struct conn *c, int flush, const char *why)
{
    struct fake_conn *f = (struct fake_conn *)c;
    if (c->state >= CONN_DEAD) return;
    f->closed = 1;
    f->close_flush = flush;
    if (c->state == CONN_ONLINE) {
        struct pres_snap s;
        pres_begin(c->srv, c->user, NULL, &s);
        sessions_del(c->srv, c);
        c->state = CONN_CLOSING;
        pres_end(c->srv, &s, 0);
    }
    sessions_del(c->srv, c);
    c->state = CONN_DEAD;
}

static void fake_online(struct conn *c)
{
}

static const char *fake_peer(const struct conn *c)
{
    return c->peer;
}

/* conn.c's reaper is not linked here: the tests free their fake connections themselves. */
static void fake_release(struct conn *c)
{
}

static const struct transport fake_transport = {fake_write, fake_queued, fake_close, fake_online, fake_peer,
                                                fake_release, "fake"};

struct server *fake_server_new(const char *dir)
{
    struct server *srv = calloc(1, sizeof *srv);
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!srv || !cfg) abort();
    config_defaults(cfg);
    cfg->hash_threads = 0;
    cfg->pwhash_opslimit = 1;
    cfg->pwhash_memlimit = 8192;
    char err[256];
    int created = 0;
    srv->cfg = cfg;
    srv->st = store_sqlite_open(dir, &created, err, sizeof err);
    if (!srv->st) {
        fprintf(stderr, "store: %s\n", err);
        abort();
    }
    srv->lim.max_body = (size_t)cfg->max_packet;
    srv->lim.max_pairs = (size_t)cfg->max_pairs;
    hmap_init(&srv->online);
    srv->t0 = rl_now();
    rl_init(&srv->conn_rl, (size_t)cfg->max_tracked, (double)cfg->conn_rate, (double)cfg->conn_burst);
    srv->base = event_base_new();
    if (!srv->base || !(srv->auth = auth_new(srv))) abort();
    return srv;
}

void fake_server_free(struct server *srv)
{
    auth_free(srv->auth);
    srv->st->close(srv->st);
    conf_free(srv);
    hmap_free(&srv->online);
    hmap_free(&srv->watch);
    rl_free(&srv->conn_rl);
    event_base_free(srv->base);
    config_free(srv->cfg);
    free(srv->cfg);
    free(srv);
}

struct fake_conn *fake_conn_new(struct server *srv)
{
    static uint32_t next_port = 40000;
    struct fake_conn *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->c.srv = srv;
    f->c.tp = &fake_transport;
    f->c.state = CONN_NEW;
    f->c.version = 16;
    f->c.session_id = 0x1234;
    snprintf(f->c.peer, sizeof f->c.peer, "127.0.0.1:%u", (unsigned)next_port++);
    f->c.addr_len = 9;
    return f;
}

/* As a real login's buddy_send_list: the authorised entries go into the watch index (presence.h). */
static void fake_watch_row(void *arg, const struct store_buddy *b)
{
    if (!b->pending && presence_watch(arg, b->buddy) < 0) abort();
}

struct fake_conn *fake_login(struct server *srv, const char *user)
{
    struct fake_conn *f = fake_conn_new(srv);
    snprintf(f->c.user, sizeof f->c.user, "%s", user);
    f->c.state = CONN_ONLINE;
    if (sessions_add(srv, &f->c) < 0) abort();
    if (srv->st->buddy_list(srv->st, user, fake_watch_row, &f->c) < 0) abort();
    sessions_fill_bucket(&f->c);
    return f;
}

void fake_send(struct fake_conn *f, uint16_t service, uint32_t status, ...)
{
    static uint8_t buf[YMSG_HEADER_LEN + YMSG_MAX_BODY];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    b.version = 16;
    ymsg_build_begin(&b, service, status, f->c.session_id);
    va_list ap;
    va_start(ap, status);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        ymsg_build_str(&b, (uint32_t)strtoul(k, NULL, 10), v);
    }
    va_end(ap);
    ssize_t n = ymsg_build_end(&b);
    if (n < 0) abort();
    struct ymsg_packet pkt;
    size_t off = 0;
    if (ymsg_decode(buf, (size_t)n, &f->c.srv->lim, &pkt, &off) != n) abort();
    dispatch_packet(&f->c, &pkt);
}

int fake_next(struct fake_conn *f, struct ymsg_packet *pkt)
{
    if (f->taken >= f->len) return 0;
    size_t off = 0;
    ssize_t n = ymsg_decode(f->out + f->taken, f->len - f->taken, &f->c.srv->lim, pkt, &off);
    if (n <= 0) {
        fprintf(stderr, "fake_next: server queued bytes that do not decode (%zd at %zu)\n", n, off);
        abort();
    }
    f->taken += (size_t)n;
    return 1;
}

void fake_drain(struct fake_conn *f)
{
    f->taken = f->len;
}

void fake_read_all(struct fake_conn *f)
{
    struct ymsg_packet p;
    while (fake_next(f, &p)) {
    }
}

struct server *fake_server_tmp(char *tmpl)
{
    return mkdtemp(tmpl) ? fake_server_new(tmpl) : NULL;
}

int fake_server_rm(struct server *srv, const char *dir)
{
    char cmd[256];
    fake_server_free(srv);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

void fake_seed(struct server *srv, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (srv->st->user_add(srv->st, names[i], "x", NULL, NULL) != STORE_OK) abort();
}

void fake_befriend(struct server *srv, const char *a, const char *b)
{
    if (srv->st->buddy_add(srv->st, a, b, "Friends", 0) != STORE_OK ||
        srv->st->buddy_add(srv->st, b, a, "Friends", 0) != STORE_OK)
        abort();
}

void fake_feed(struct server *srv, struct fake_conn **c, size_t n, const uint8_t *data, size_t size, int flags)
{
    size_t off = 0;
    while (off < size) {
        struct ymsg_packet pkt;
        size_t err_off = 0;
        ssize_t len = ymsg_decode(data + off, size - off, &srv->lim, &pkt, &err_off);
        if (len <= 0) break;
        struct fake_conn *f = c[pkt.hdr.session % n];
        if ((flags & FAKE_FEED_VERSION) && !f->c.version) f->c.version = pkt.hdr.version;
        if (flags & FAKE_FEED_REFILL) f->c.tokens = 1000;
        dispatch_packet(&f->c, &pkt);
        off += (size_t)len;
    }
}

void fake_reap(struct server *srv)
{
    delivery_close_slow(srv);
}

void fake_conn_free(struct fake_conn *f)
{
    if (!f) return;
    if (f->c.state == CONN_ONLINE) sessions_del(f->c.srv, &f->c);
    free(f->c.challenge);
    free(f->c.status_msg);
    nameset_free(&f->c.sets);
    presence_unwatch_all(&f->c);
    free(f->out);
    free(f);
}
