/* YMSG listener and connection state machine; see conn.h and enum conn_state in server.h. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "accept_guard.h"
#include "delivery.h"
#include "dispatch.h"
#include "linger.h"
#include "log.h"
#include "login_ymsg.h"
#include "metrics.h"
#include "offline.h"
#include "sessions.h"

/* ---- the TCP transport (struct transport in server.h) ---------------------------------------- */

/* A session's socket is one persistent read event; its input and output buffers and its write event
 * exist only while something waits in them.  An idle session so costs about 200 bytes of libevent
 * state instead of a bufferevent's ~1 KB (100,000 sessions: docs/PERFORMANCE.md).  Output is queued
 * by the handlers and written on the flusher's turn, after the handlers of this loop turn: one write
 * per session per turn, a write event only when the socket does not take it all. */

static void tcp_io_end(struct conn *c, const char *why);
static void tcp_flush(struct conn *c);

static evutil_socket_t tcp_fd(const struct conn *c) { return event_get_fd(c->rd); }

static int tcp_retriable(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

static int tcp_write(struct conn *c, const void *data, size_t len)
{
    if (!c->rd || c->state >= CONN_DEAD) return -1;
    if (!c->out && !(c->out = evbuffer_new())) return -1;
    if (evbuffer_add(c->out, data, len) < 0) return -1;
    if (!c->on_flush && !c->wr) { /* with a write event pending, the socket is full: it writes when it can */
        c->on_flush = 1;
        c->next_flush = c->srv->flush;
        c->srv->flush = c;
        event_active(c->srv->flusher, EV_TIMEOUT, 0);
    }
    return 0;
}

static size_t tcp_queued(const struct conn *c)
{
    return c->out ? evbuffer_get_length(c->out) : 0;
}

static void tcp_close(struct conn *c, int flush, const char *why)
{
    if (c->slow && c->rd && c->state < CONN_DEAD) {
        /* Abortive close (RST): what is already in the kernel's send buffer is dropped too, so a
         * reader that does not read cannot keep that memory pinned either. */
        struct linger lg = {1, 0};
        setsockopt(tcp_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    conn_close(c, flush, why);
}

static const char *tcp_peer(const struct conn *c)
{
    return c->peer;
}

/* Stops every callback of c's socket (it is dead; the reaper frees it). */
static void tcp_stop(struct conn *c)
{
    if (c->rd) event_del(c->rd);
    if (c->wr) event_del(c->wr);
}

static void tcp_unflush(struct conn *c)
{
    if (!c->on_flush) return;
    for (struct conn **p = &c->srv->flush; *p; p = &(*p)->next_flush)
        if (*p == c) {
            *p = c->next_flush;
            break;
        }
    c->on_flush = 0;
}

static void tcp_release(struct conn *c)
{
    tcp_unflush(c);
    if (c->rd) {
        /* Whatever ended it (a kick, a refused login, ctl kick, shutdown, …), the last packets are in the
         * kernel: input crossing them must not turn the close into a reset (linger.h; a slow reader's
         * reset stays). */
        linger_socket(c->srv, tcp_fd(c));
        evutil_closesocket(tcp_fd(c));
        event_free(c->rd);
    }
    if (c->wr) event_free(c->wr);
    if (c->in) evbuffer_free(c->in);
    if (c->out) evbuffer_free(c->out);
    free(c);
}

static const struct transport tcp_transport = {tcp_write, tcp_queued, tcp_close, conn_set_online_timeouts, tcp_peer,
                                               tcp_release, "tcp"};

/* (Re)arms reading with the timeout of c's state: login_timeout before the login, idle_timeout after. */
static void tcp_arm_read(struct conn *c)
{
    if (!c->rd || c->state >= CONN_CLOSING) return;
    struct timeval tv = {c->state == CONN_ONLINE ? c->srv->cfg->idle_timeout : c->srv->cfg->login_timeout, 0};
    c->rd_paused = 0;
    event_add(c->rd, &tv);
}

/* Never more than one maximal packet of unread input: reading stops until it is handled. */
static size_t tcp_in_cap(const struct conn *c) { return (size_t)YMSG_HEADER_LEN + (size_t)c->srv->cfg->max_packet; }

/* After input was handled: the buffer goes when empty; reading stops while it is full, resumes after. */
static void tcp_input_settle(struct conn *c)
{
    if (c->state >= CONN_CLOSING || !c->in) return;
    size_t len = evbuffer_get_length(c->in);
    if (len == 0) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
    if (len >= tcp_in_cap(c) && !c->rd_paused) {
        event_del(c->rd);
        c->rd_paused = 1;
    } else if (len < tcp_in_cap(c) && c->rd_paused) {
        tcp_arm_read(c);
    }
}

static void tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->state >= CONN_CLOSING) return;
    if (what & EV_TIMEOUT) {
        tcp_io_end(c, "timeout");
        return;
    }
    if (!c->in && !(c->in = evbuffer_new())) {
        tcp_io_end(c, "error");
        return;
    }
    size_t have = evbuffer_get_length(c->in), cap = tcp_in_cap(c);
    int n = have < cap ? evbuffer_read(c->in, fd, (int)(cap - have < 16384 ? cap - have : 16384)) : 0;
    if (n == 0 && have < cap) {
        tcp_io_end(c, "eof");
        return;
    }
    if (n < 0) {
        if (tcp_retriable(errno)) return;
        tcp_io_end(c, "error");
        return;
    }
    conn_input(c, c->in);
    if (c->state < CONN_DEAD) tcp_input_settle(c);
}

static void tcp_resume(struct conn *c)
{
    if (!c->in) return;
    conn_input(c, c->in);
    if (c->state < CONN_DEAD) tcp_input_settle(c);
}

static void tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT) {
        tcp_io_end(c, "timeout"); /* a closing peer that did not read its last packets */
        return;
    }
    tcp_flush(c);
}

/* Writes what c has queued; a write event waits for the rest.  Everything written: the buffer and the
 * write event go, and the session hears that its output drained (offline paging, a flushed close). */
static void tcp_flush(struct conn *c)
{
    if (c->state >= CONN_DEAD || !c->out) return;
    while (evbuffer_get_length(c->out)) {
        int n = evbuffer_write(c->out, tcp_fd(c));
        if (n > 0) continue;
        if (n < 0 && tcp_retriable(errno)) {
            if (!c->wr && !(c->wr = event_new(c->srv->base, tcp_fd(c), EV_WRITE | EV_PERSIST, tcp_write_cb, c))) {
                tcp_io_end(c, "error");
                return;
            }
            struct timeval tv = {10, 0}; /* a peer that will not read its last packets is cut off */
            event_add(c->wr, c->state == CONN_CLOSING ? &tv : NULL);
            return;
        }
        tcp_io_end(c, "error");
        return;
    }
    evbuffer_free(c->out);
    c->out = NULL;
    if (c->wr) {
        event_free(c->wr);
        c->wr = NULL;
    }
    conn_drained(c);
}

static void tcp_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    /* Flushing can queue more (a drained session's next offline page, a dead one's sign-off): those
     * are written in this same turn. */
    while (srv->flush) {
        struct conn *c = srv->flush;
        srv->flush = c->next_flush;
        c->on_flush = 0;
        c->next_flush = NULL;
        tcp_flush(c);
    }
}

/* ---- pre-login lists ------------------------------------------------------------------------ */

/* Per address, its connections that have not logged in, oldest first: at max_conns_per_addr a new
 * connection evicts the oldest of them instead of being refused, so idle connections from one
 * address (a NAT shared by many people) cannot lock the others out until login_timeout.  Entries
 * that logged in leave the list lazily (login_ymsg.c only sets the state). */
struct conn_prelist {
    struct conn *head, *tail; /* oldest, newest */
    char key[48];             /* the address (hmap key) */
};

/* The address is kept inside peer ("addr:port", "[addr]:port"), not in a field of its own: a session
 * is one of 100,000 (docs/PERFORMANCE.md). */
static void conn_set_peer(struct conn *c, const char *addr, const char *peer)
{
    size_t al = strlen(addr), off = peer[0] == '[';
    if (al >= CONN_ADDR_MAX) al = CONN_ADDR_MAX - 1;
    if (strncmp(peer + off, addr, al) != 0 || strlen(peer) >= sizeof c->peer) {
        peer = addr; /* not of that form: the address is what the logs show */
        off = 0;
    }
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->addr_off = (uint8_t)off;
    c->addr_len = (uint8_t)al; /* al < CONN_ADDR_MAX: within peer, after its '[' */
}
_Static_assert(CONN_ADDR_MAX + 1 < sizeof ((struct conn *)0)->peer, "an address fits in the peer text");

static void prelist_add(struct server *srv, struct conn *c)
{
    char addr[CONN_ADDR_MAX];
    struct conn_prelist *l = hmap_get(&srv->prelogin, conn_addr(c, addr));
    if (!l) {
        if (!(l = calloc(1, sizeof *l))) return; /* not evictable then; the cap still holds */
        snprintf(l->key, sizeof l->key, "%s", addr);
        if (hmap_put(&srv->prelogin, l->key, l) < 0) {
            free(l);
            return;
        }
    }
    c->pl_prev = l->tail;
    c->pl_next = NULL;
    if (l->tail) l->tail->pl_next = c;
    else l->head = c;
    l->tail = c;
    c->on_prelist = 1;
}

static void prelist_del(struct server *srv, struct conn *c)
{
    if (!c->on_prelist) return;
    char addr[CONN_ADDR_MAX];
    struct conn_prelist *l = hmap_get(&srv->prelogin, conn_addr(c, addr));
    if (c->pl_prev) c->pl_prev->pl_next = c->pl_next;
    else if (l) l->head = c->pl_next;
    if (c->pl_next) c->pl_next->pl_prev = c->pl_prev;
    else if (l) l->tail = c->pl_prev;
    c->pl_prev = c->pl_next = NULL;
    c->on_prelist = 0;
    if (l && !l->head) {
        hmap_del(&srv->prelogin, l->key);
        free(l);
    }
}

/* The oldest connection of addr that has not logged in and is at least prelogin_evict_age old. */
static struct conn *prelist_oldest(struct server *srv, const char *addr, double now)
{
    struct conn_prelist *l;
    while ((l = hmap_get(&srv->prelogin, addr)) != NULL) {
        struct conn *c = l->head;
        if (c->state < CONN_ONLINE)
            return now - c->accepted_at >= (double)srv->cfg->prelogin_evict_age ? c : NULL;
        prelist_del(srv, c); /* logged in (or closing) since: never evicted */
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void kill_conn(struct conn *c)
{
    if (c->state == CONN_DEAD) return;
    struct server *srv = c->srv;
    login_end(c); /* the transport only reports the end; the session's owner does the sign-off */
    sessions_del(srv, c);
    prelist_del(srv, c);
    c->state = CONN_DEAD;
    if (c->tp == &tcp_transport) tcp_stop(c);
    c->next_dead = srv->dead;
    srv->dead = c;
    event_active(srv->reaper, EV_TIMEOUT, 0);
}

void conn_close(struct conn *c, int flush, const char *why)
{
    if (c->state >= CONN_DEAD) return;
    log_event(LOG_DEBUG, c->peer, c->user[0] ? c->user : NULL, "close", flush, "%s", why);
    if (!flush || c->tp != &tcp_transport || tcp_queued(c) == 0) {
        kill_conn(c);
        return;
    }
    login_end(c);
    prelist_del(c->srv, c);
    c->state = CONN_CLOSING;
    event_del(c->rd);
    if (c->wr) { /* the socket is full: its write event now also cuts a peer that will not read */
        struct timeval tv = {10, 0};
        event_add(c->wr, &tv);
    } /* else it is on the flush list: the flusher writes it, or arms the write event with that timeout */
}

static void free_conn(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->counted_addr) {
        char addr[CONN_ADDR_MAX];
        struct rl_entry *e = rl_get(&srv->conn_rl, conn_addr(c, addr), 0);
        if (e && e->active) e->active--;
    }
    login_wait_free(c);
    free(c->challenge);
    free(c->status_msg);
    nameset_free(&c->sets);
    srv->nconns--;
    c->tp->release(c);
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    /* Slow readers first: their close fans out "went offline", here and not inside the fan-out that
     * found them slow. */
    delivery_close_slow(srv);
    /* Input that waited for a store job (sessions_release), here and not inside the job's callback. */
    while (srv->resume) {
        struct conn *c = srv->resume;
        srv->resume = c->next_resume;
        c->next_resume = NULL;
        c->on_resume = 0;
        if (c->state < CONN_CLOSING && !c->store_jobs && c->resume) c->resume(c);
    }
    /* Output queued so far goes out before anything is freed (a dead session only leaves the list). */
    tcp_flush_cb(-1, 0, srv);
    while (srv->dead) {
        struct conn *c = srv->dead;
        srv->dead = c->next_dead;
        if (c->store_jobs) {
            c->reap_waits = 1; /* its job's callback still looks at it: freed by sessions_release */
            continue;
        }
        free_conn(c);
    }
}

void conn_reap(struct server *srv)
{
    reaper_cb(-1, 0, srv);
}

void conn_close_all(struct server *srv)
{
    size_t pos = 0;
    const char *k;
    void *v;
    /* Online sessions first (their fan-out may still reach others), then everything else is on the
     * dead list after kill_conn. */
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        kill_conn(v);
        pos = 0;
    }
    pos = 0;
    while (hmap_next(&srv->prelogin, &pos, &k, &v)) {
        kill_conn(((struct conn_prelist *)v)->head); /* unlinks it; the list goes with its last entry */
        pos = 0;
    }
    reaper_cb(-1, 0, srv);
    hmap_free(&srv->prelogin);
}

void conn_set_online_timeouts(struct conn *c)
{
    if (!c->rd_paused) tcp_arm_read(c);
}

/* ---- input ---------------------------------------------------------------------------------- */

/* Counts one malformed frame or garbage run; at max_malformed the connection is closed (1). */
static int note_malformed(struct conn *c)
{
    if (++c->malformed < c->srv->cfg->max_malformed) return 0;
    log_event(LOG_WARN, c->peer, c->user[0] ? c->user : NULL, "malformed_limit", c->malformed,
              "max_malformed=%ld reached; closing", c->srv->cfg->max_malformed);
    conn_close(c, 0, "too many malformed frames");
    return 1;
}

void conn_input(struct conn *c, struct evbuffer *in)
{
    /* A store job of this session's in flight: its later packets wait (sessions_hold). */
    while (c->state < CONN_CLOSING && !c->store_jobs) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) break;
        const uint8_t *p = evbuffer_pullup(in, -1);
        struct ymsg_packet pkt;
        size_t off = 0;
        ssize_t n = ymsg_decode(p, len, &c->srv->lim, &pkt, &off);
        if (n == YMSG_EAGAIN) break;
        if (n == YMSG_EMAGIC) {
            size_t skip = ymsg_resync(p, len);
            if (skip == 0) skip = 1;
            /* A run of garbage counts once when it starts and once per maximal frame's worth of
             * bytes after that: a stream of noise ends the connection after bounded input. */
            int count = c->garbage == 0;
            c->garbage += (uint32_t)skip;
            if (c->garbage > (uint32_t)YMSG_HEADER_LEN + (uint32_t)c->srv->cfg->max_packet) {
                c->garbage = 1;
                count = 1;
            }
            evbuffer_drain(in, skip);
            if (count) {
                log_event(LOG_INFO, c->peer, c->user[0] ? c->user : NULL, "malformed", n, "bad magic; skipping");
                if (note_malformed(c)) return;
            }
            continue;
        }
        if (n < 0) {
            struct ymsg_header h;
            log_event(LOG_INFO, c->peer, c->user[0] ? c->user : NULL, "malformed", n, "%s at offset %zu",
                      ymsg_strerror((int)n), off);
            c->garbage = 0;
            /* A bad body inside a complete frame is skipped; anything else ends the connection. */
            if (n != YMSG_ETOOBIG && ymsg_header_decode(p, len, &h) == YMSG_HEADER_LEN &&
                len >= (size_t)YMSG_HEADER_LEN + h.length) {
                evbuffer_drain(in, (size_t)YMSG_HEADER_LEN + h.length);
                if (note_malformed(c)) return;
                continue;
            }
            conn_close(c, 0, "malformed input");
            return;
        }
        c->garbage = 0;
        if (!c->version) {
            c->version = pkt.hdr.version;
            c->version_le = pkt.hdr.version_le;
        }
        dispatch_packet(c, &pkt);
        if (c->state >= CONN_DEAD) return; /* buffers are gone with the connection */
        evbuffer_drain(in, (size_t)n);
    }
}

void conn_drained(struct conn *c)
{
    /* Output fully written: offline messages queued earlier have reached the socket. */
    offline_drained(c);
    if (c->state == CONN_CLOSING) kill_conn(c);
}

/* The socket ended (eof, error, or a timeout): the session ends. */
static void tcp_io_end(struct conn *c, const char *why)
{
    if (c->state == CONN_ONLINE) log_event(LOG_INFO, c->peer, c->user, "disconnect", 0, "%s", why);
    else log_event(LOG_DEBUG, c->peer, c->user[0] ? c->user : NULL, "disconnect", 0, "%s", why);
    kill_conn(c);
}

/* ---- accept --------------------------------------------------------------------------------- */

static void addr_text(const struct sockaddr *sa, char *addr, size_t acap, char *peer, size_t pcap)
{
    int port = 0;
    addr[0] = 0;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, (socklen_t)acap);
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
        snprintf(peer, pcap, "%s:%d", addr, port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, (socklen_t)acap);
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        snprintf(peer, pcap, "[%s]:%d", addr, port);
    } else {
        snprintf(addr, acap, "unix");
        snprintf(peer, pcap, "unix");
    }
}

struct conn *conn_new(struct server *srv, const struct transport *tp, size_t size, const char *addr, const char *peer)
{
    if (srv->stopping) return NULL;
    if (srv->nconns >= (size_t)srv->cfg->max_sessions) {
        log_event(LOG_WARN, peer, NULL, "refused", 1, "max_sessions=%ld reached", srv->cfg->max_sessions);
        return NULL;
    }
    double now = rl_now();
    struct rl_entry *e = rl_get(&srv->conn_rl, addr, 1);
    struct conn *victim = NULL;
    if (e && e->active >= (uint32_t)srv->cfg->max_conns_per_addr &&
        !(victim = prelist_oldest(srv, addr, now))) {
        log_event(LOG_WARN, peer, NULL, "refused", 2, "max_conns_per_addr=%ld", srv->cfg->max_conns_per_addr);
        return NULL;
    }
    if (!rl_take(&srv->conn_rl, addr, now)) {
        log_event(LOG_WARN, peer, NULL, "refused", 3, "conn_rate=%ld/s exceeded", srv->cfg->conn_rate);
        g_metrics.ratelimit[MET_RL_CONN]++;
        return NULL;
    }
    if (victim) {
        /* Logged-in sessions are never on the list: only a connection that has not logged in goes. */
        log_event(LOG_INFO, victim->peer, NULL, "evicted", 0,
                  "oldest pre-login connection (%.0f s) of an address at max_conns_per_addr=%ld",
                  now - victim->accepted_at, srv->cfg->max_conns_per_addr);
        kill_conn(victim);
        if (victim->counted_addr) {
            victim->counted_addr = 0;
            e->active--;
        }
    }
    struct conn *c = calloc(1, size < sizeof *c ? sizeof *c : size);
    if (!c) {
        log_event(LOG_ERROR, peer, NULL, "refused", 4, "out of memory");
        return NULL;
    }
    c->srv = srv;
    c->tp = tp;
    c->state = CONN_NEW;
    c->accepted_at = now;
    do c->session_id = randombytes_random(); while (c->session_id == 0);
    conn_set_peer(c, addr, peer);
    if (e) {
        e->active++;
        c->counted_addr = 1;
    }
    srv->nconns++;
    prelist_add(srv, c);
    log_event(LOG_DEBUG, peer, NULL, "connect", 0, NULL);
    return c;
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    struct server *srv = arg;
    char addr[48], peer[56];
    addr_text(sa, addr, sizeof addr, peer, sizeof peer);
    if (srv->stopping) {
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = conn_new(srv, &tcp_transport, sizeof *c, addr, peer);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    if (!(c->rd = event_new(srv->base, fd, EV_READ | EV_PERSIST, tcp_read_cb, c))) {
        evutil_closesocket(fd);
        log_event(LOG_ERROR, peer, NULL, "refused", 4, "out of memory");
        kill_conn(c);
        return;
    }
    c->resume = tcp_resume;
    tcp_arm_read(c);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* One pager listener on addr ("HOST:PORT"); 0, or -1 with a message in err. */
static int conn_listen_one(struct server *srv, const char *addr, char *err, size_t errlen)
{
    char host[256];
    int port;
    if (config_split_hostport(addr, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "bad ymsg_listen \"%s\"", addr);
        return -1;
    }
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char spec[300];
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(err, errlen, "bad ymsg_listen address \"%s\"", addr);
        return -1;
    }
    struct evconnlistener *lis = evconnlistener_new_bind(
        srv->base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
        (struct sockaddr *)&ss, sl);
    if (!lis) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        return -1;
    }
    if (accept_guard_attach(lis, srv->cfg->accept_pause_ms, "ymsg") < 0) {
        evconnlistener_free(lis);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    srv->ymsg_lis[srv->n_ymsg_lis++] = lis;
    return 0;
}

int conn_listen(struct server *srv, char *err, size_t errlen)
{
    char addr[300];
    hmap_init(&srv->prelogin);
    size_t n = config_list_count(srv->cfg->ymsg_listen);
    if (n == 0 || n > SERVER_MAX_YMSG_LISTEN) {
        snprintf(err, errlen, "ymsg_listen: 1 to %d comma-separated HOST:PORT, got \"%s\"", SERVER_MAX_YMSG_LISTEN,
                 srv->cfg->ymsg_listen);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (config_list_item(srv->cfg->ymsg_listen, i, addr, sizeof addr) < 0) {
            snprintf(err, errlen, "bad ymsg_listen \"%s\"", srv->cfg->ymsg_listen);
            return -1;
        }
        if (conn_listen_one(srv, addr, err, errlen) < 0) return -1;
    }
    srv->reaper = event_new(srv->base, -1, 0, reaper_cb, srv);
    srv->flusher = event_new(srv->base, -1, 0, tcp_flush_cb, srv);
    return srv->reaper && srv->flusher ? 0 : -1;
}

void conn_stop_listening(struct server *srv)
{
    for (size_t i = 0; i < srv->n_ymsg_lis; i++) {
        accept_guard_detach(srv->ymsg_lis[i]);
        evconnlistener_free(srv->ymsg_lis[i]);
    }
    srv->n_ymsg_lis = 0;
}
