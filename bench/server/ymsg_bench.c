/* ymsg-bench: load generator for ymsgd (loopback only, bounded, stops by itself).
 *
 *   ymsg-bench setup DATA_DIR USERS [OPS MEM]  create users u0..uN-1 (password "pw") with 18-buddy lists
 *                                             (argon2id OPS/MEM: default 1 and 8192, the tests' cost)
 *   ymsg-bench run YMSG_PORT HTTP_PORT USERS PID [SECONDS] [CONCURRENCY] [WS_USERS]
 *                                             (SECONDS 0: log in, hold the sessions 5 s, no messages)
 *   ymsg-bench storm USERS CONCURRENCY VICTIM_PID YPORT:HPORT YPORT:HPORT[,YPORT:HPORT...] [FIRST]
 *                                             the reconnect storm of a cluster node (bench/cluster/
 *                                             reconnect_storm.py): users u[FIRST]..u[FIRST+USERS-1] log in on
 *                                             the victim node (the first address), then the victim is killed
 *                                             with SIGKILL and every session logs in again on the other nodes
 *                                             (round robin) the moment its connection drops; reports the time
 *                                             from the kill until all are back online
 *
 * run: logs USERS sessions in with the full token flow (HTTP pwtoken_get + pwtoken_login, YMSG 0x57 /
 * 0x54) from many 127.x.y.z source addresses, reports the login rate and ymsgd's RSS per session
 * (VmRSS of PID from /proc before and after), then routes messages between random buddy pairs: first
 * as fast as the server takes them (throughput), then open-loop at half that rate (RTT p50/p99,
 * measured by stamping each message with the send time).
 *
 * WS_USERS > 0: the last WS_USERS users sign in over WebSocket (GET /ymsg on HTTP_PORT, RFC 6455,
 * subprotocol ymsg; binary messages carry the same pager bytes), the others over TCP, all in the same
 * ymsgd.  The message phases then run once among the TCP users and once among the WebSocket users
 * (both populations stay signed in), so the two rates and ymsgd's CPU per message sit side by side.
 * The client side of the WebSocket framing is written here (masked frames out, whole frames in): it
 * costs the generator about what TCP's framing does, so the server is what is measured. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>
#include <ymsg/ymsg.h>

#include "store.h"

#define NBUDDY_HALF 9 /* buddies i±1..9: 18 per user, all mutual and authorised */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int setup(const char *dir, long n, unsigned long long ops, size_t mem)
{
    char err[256], path[4096], hash[crypto_pwhash_STRBYTES];
    int created;
    struct store *st = store_sqlite_open(dir, &created, err, sizeof err);
    if (!st) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    st->close(st);
    /* One hash string for every user (same salt): its check costs what any one costs, and hashing
     * 100,000 passwords at the default cost would take hours here.  Per-user state (the verification
     * cache) is keyed by the account name as well, so nothing is shared between users through it. */
    if (crypto_pwhash_str(hash, "pw", 2, ops, mem) != 0) return 1;
    snprintf(path, sizeof path, "%s/ymsgd.db", dir);
    sqlite3 *db;
    sqlite3_stmt *u, *b;
    if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO users(name, pwhash, created) VALUES(?1, ?2, 0)", -1, &u, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO buddies(owner, buddy, grp, pending) VALUES(?1, ?2, 'Friends', 0)", -1, &b,
                       NULL);
    for (long i = 0; i < n; i++) {
        char name[32], bud[32];
        snprintf(name, sizeof name, "u%ld", i);
        sqlite3_bind_text(u, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(u, 2, hash, -1, SQLITE_STATIC);
        if (sqlite3_step(u) != SQLITE_DONE) {
            fprintf(stderr, "setup: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        sqlite3_reset(u);
        for (int k = -NBUDDY_HALF; k <= NBUDDY_HALF; k++) {
            if (!k || n <= 2 * NBUDDY_HALF) continue;
            snprintf(bud, sizeof bud, "u%ld", ((i + k) % n + n) % n);
            sqlite3_bind_text(b, 1, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(b, 2, bud, -1, SQLITE_TRANSIENT);
            sqlite3_step(b);
            sqlite3_reset(b);
        }
    }
    sqlite3_finalize(u);
    sqlite3_finalize(b);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    printf("setup: %ld users with %d buddies each in %s\n", n, 2 * NBUDDY_HALF, path);
    return 0;
}

/* ---- run ------------------------------------------------------------------------------------ */

enum sstate { S_IDLE, S_CHAL, S_HTTP1, S_HTTP2, S_LOGIN, S_ONLINE, S_FAILED };

struct sess {
    struct bufferevent *ymsg;  /* pager connection */
    struct bufferevent *http;  /* current HTTP request, or NULL */
    char chal[64];             /* challenge from 0x57 */
    char crumb[64], y[128], t[128]; /* from pwtoken_login */
    uint32_t sid;              /* session id from the server */
    int idx;                   /* user index */
    enum sstate st;            /* login progress */
    int ws;                    /* WebSocket session (else TCP) */
    int yport, hport;          /* the node it logs in to */
    int upgraded;              /* WebSocket: the 101 was read */
    struct evbuffer *wsin;     /* WebSocket: pager bytes unwrapped from the server's messages */
    struct bufferevent *stale; /* storm: the connection of a failed try, freed at the next try */
    int tries;                 /* storm: failed tries of this re-login so far */
};

static struct event_base *g_base;
static struct sess *g_s;
static long g_n, g_online, g_failed, g_inflight, g_next, g_conc;
static long g_nws;           /* the last g_nws users use WebSocket */
static long g_upto;          /* log users in up to this index (one transport at a time) */
static int g_group = -1;     /* message phases: -1 any pair, 0 TCP pairs only, 1 WebSocket pairs only */
static int g_yport, g_hport;
static double g_t0;
static uint64_t g_rx, g_tx;
static uint32_t *g_lat;      /* RTT samples in microseconds */
static size_t g_nlat, g_caplat;
static int g_measure;        /* record RTT samples */
static long g_first;         /* storm: user index of session 0 (several generators share the users) */
static int g_storm;          /* storm: the victim is dead, dropped sessions log in again elsewhere */
static long *g_todo;         /* storm: sessions waiting to log in again (a ring of g_n) */
static long g_todo_head, g_todo_len;
static int (*g_others)[2];   /* storm: the surviving nodes' YMSG and HTTP ports */
static int g_nothers;
static long g_relogged, g_closed; /* storm: sessions back online / dropped by the kill */
/* storm: a re-login that failed (the node is still starting: refused, or not ready) is tried again
 * STORM_RETRY_S later, as a client reconnects, up to STORM_MAX_TRIES times; due tries wait in a ring. */
#define STORM_RETRY_S 0.2
#define STORM_MAX_TRIES 600
static long *g_retry;        /* session indexes, oldest first (a ring of g_n) */
static double *g_retry_at;   /* when each is due */
static long g_retry_head, g_retry_len, g_retries;
static struct event *g_retry_ev; /* every 50 ms: due tries to the todo ring */

static void src_addr(int idx, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    /* 250 connections per source address at most: 127.0.X.Y with X, Y in 1..250 */
    sa->sin_addr.s_addr = htonl((127u << 24) | ((uint32_t)(idx / 250 % 250 + 1) << 8) | (uint32_t)(idx % 250 + 1));
}

static struct bufferevent *dial(int idx, int port, bufferevent_data_cb rd, bufferevent_event_cb ev, void *arg)
{
    struct sockaddr_in src, dst;
    src_addr(idx, &src);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)port);
    dst.sin_addr.s_addr = htonl(0x7f000001);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return NULL;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
        close(fd);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_socket_new(g_base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, rd, NULL, ev, arg);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&dst, sizeof dst) < 0) {
        bufferevent_free(bev);
        return NULL;
    }
    return bev;
}

/* One masked binary WebSocket message around p (RFC 6455 5.2-5.3; n < 65536 here). */
static void ws_write(struct bufferevent *bev, const uint8_t *p, size_t n)
{
    uint8_t f[8 + 2048];
    uint32_t key = randombytes_random();
    size_t hl = 2;
    if (n > 2048) return;
    f[0] = 0x82;
    if (n < 126) {
        f[1] = (uint8_t)(0x80 | n);
    } else {
        f[1] = 0x80 | 126;
        f[2] = (uint8_t)(n >> 8);
        f[3] = (uint8_t)n;
        hl = 4;
    }
    memcpy(f + hl, &key, 4);
    const uint8_t *k = f + hl;
    hl += 4;
    for (size_t i = 0; i < n; i++) f[hl + i] = p[i] ^ k[i & 3];
    bufferevent_write(bev, f, hl + n);
}

static void send_pkt(struct sess *s, uint16_t svc, uint32_t status, const char *const *kv, int nkv)
{
    uint8_t buf[2048];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, svc, status, s->sid);
    for (int i = 0; i + 1 < nkv; i += 2) ymsg_build_str(&b, (uint32_t)atoi(kv[i]), kv[i + 1]);
    ssize_t n = ymsg_build_end(&b);
    if (n <= 0) return;
    if (s->ws) ws_write(s->ymsg, buf, (size_t)n);
    else bufferevent_write(s->ymsg, buf, (size_t)n);
}

static void start_next(void);


static void login_failed(struct sess *s, const char *why)
{
    if (s->st == S_FAILED || s->st == S_ONLINE) return;
    if (g_storm && g_retry && !s->ws && s->tries < STORM_MAX_TRIES) { /* try again soon */
        s->tries++;
        g_retries++;
        if (s->http) {
            bufferevent_free(s->http);
            s->http = NULL;
        }
        if (s->ymsg) { /* maybe inside its own read callback: freed at the next try */
            bufferevent_disable(s->ymsg, EV_READ | EV_WRITE);
            bufferevent_setcb(s->ymsg, NULL, NULL, NULL, NULL);
            if (s->stale) bufferevent_free(s->stale);
            s->stale = s->ymsg;
            s->ymsg = NULL;
        }
        s->st = S_IDLE;
        g_inflight--;
        long k = (g_retry_head + g_retry_len++) % g_n;
        g_retry[k] = s->idx;
        g_retry_at[k] = now_s() + STORM_RETRY_S;
        return;
    }
    s->st = S_FAILED;
    g_failed++;
    g_inflight--;
    if (g_failed <= 5) fprintf(stderr, "login u%d failed: %s\n", s->idx, why);
    if (s->http) {
        bufferevent_free(s->http);
        s->http = NULL;
    }
    start_next();
}

static void http_event(struct bufferevent *bev, short what, void *arg);

static void http_get(struct sess *s, const char *target)
{
    s->http = dial(s->idx, s->hport, NULL, http_event, s);
    if (!s->http) {
        login_failed(s, "http connect");
        return;
    }
    evbuffer_add_printf(bufferevent_get_output(s->http), "GET %s HTTP/1.0\r\nHost: login.yahoo.com\r\n\r\n", target);
}

/* Copies the value after "key=" on its own line of body into out. */
static int line_value(const char *body, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = body; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            size_t n = strcspn(p + kl + 1, ";\r\n");
            if (n >= cap) return -1;
            memcpy(out, p + kl + 1, n);
            out[n] = 0;
            return 0;
        }
    }
    return -1;
}

static void http_event(struct bufferevent *bev, short what, void *arg)
{
    struct sess *s = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    char *resp = malloc(len + 1);
    evbuffer_remove(in, resp, len);
    resp[len] = 0;
    bufferevent_free(bev);
    s->http = NULL;
    char *body = strstr(resp, "\r\n\r\n");
    if (!(what & BEV_EVENT_EOF) || !body || strncmp(body + 4, "0\r\n", 3) != 0) {
        if (g_failed < 5) fprintf(stderr, "u%d: http event 0x%x, %zu bytes: %.200s\n", s->idx, what, len, resp);
        free(resp);
        login_failed(s, "http answer");
        return;
    }
    body += 4;
    char target[512];
    if (s->st == S_HTTP1) {
        char tok[128];
        if (line_value(body, "ymsgr", tok, sizeof tok) < 0) {
            free(resp);
            login_failed(s, "no token");
            return;
        }
        s->st = S_HTTP2;
        snprintf(target, sizeof target, "/config/pwtoken_login?src=ymsgr&ts=&token=%s", tok);
        http_get(s, target);
    } else {
        if (line_value(body, "crumb", s->crumb, sizeof s->crumb) < 0 || line_value(body, "Y", s->y, sizeof s->y) < 0 ||
            line_value(body, "T", s->t, sizeof s->t) < 0) {
            free(resp);
            login_failed(s, "no crumb");
            return;
        }
        char name[32], r307[25];
        snprintf(name, sizeof name, "u%ld", g_first + s->idx);
        ymsg_auth16_response(s->crumb, s->chal, r307);
        const char *kv[] = {"1", name, "0", name, "277", s->y, "278", s->t, "307", r307, "244", "4194239", "2", name,
                            "2", "1", "98", "us"};
        s->st = S_LOGIN;
        send_pkt(s, YMSG_SVC_AUTHRESP, 0, kv, 18);
    }
    free(resp);
}

/* Handles the whole YMSG packets in `in` (a TCP stream, or the bytes of WebSocket messages). */
static void ymsg_packets(struct sess *s, struct evbuffer *in)
{
    for (;;) {
        if (s->st == S_IDLE) return; /* a failed try (storm retry): this connection is done */
        size_t len = evbuffer_get_length(in);
        if (len < YMSG_HEADER_LEN) return;
        const uint8_t *p = evbuffer_pullup(in, -1);
        struct ymsg_packet pkt;
        ssize_t n = ymsg_decode(p, len, NULL, &pkt, NULL);
        if (n == YMSG_EAGAIN) return;
        if (n < 0) {
            login_failed(s, "bad packet");
            evbuffer_drain(in, len);
            return;
        }
        switch (pkt.hdr.service) {
        case YMSG_SVC_AUTH:
            if (s->st == S_CHAL) {
                char target[256], name[32];
                s->sid = pkt.hdr.session;
                ymsg_get_str(&pkt, YMSG_KEY_CHALLENGE, s->chal, sizeof s->chal);
                s->st = S_HTTP1;
                snprintf(name, sizeof name, "u%ld", g_first + s->idx);
                snprintf(target, sizeof target, "/config/pwtoken_get?src=ymsgr&ts=&login=%s&passwd=pw&chal=x", name);
                http_get(s, target);
            }
            break;
        case YMSG_SVC_AUTHRESP:
            login_failed(s, "0x54 failure");
            break;
        case YMSG_SVC_LIST_15:
            if (s->st == S_LOGIN && pkt.hdr.status == 0) {
                s->st = S_ONLINE;
                g_online++;
                g_inflight--;
                if (g_storm) g_relogged++;
                start_next();
            }
            break;
        case YMSG_SVC_MESSAGE: {
            char text[64];
            g_rx++;
            if (g_measure && ymsg_get_str(&pkt, YMSG_KEY_MSG, text, sizeof text) > 0) {
                uint64_t sent = strtoull(text, NULL, 10), lat = (now_ns() - sent) / 1000;
                if (g_nlat < g_caplat) g_lat[g_nlat++] = (uint32_t)(lat > UINT32_MAX ? UINT32_MAX : lat);
            }
            break;
        }
        default:
            break;
        }
        evbuffer_drain(in, (size_t)n);
    }
}

/* WebSocket: the 101, then the server's frames (unmasked; binary messages and a close). */
static void ws_read(struct sess *s, struct evbuffer *in)
{
    if (!s->upgraded) {
        struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (e.pos < 0) return;
        char line[16] = "";
        evbuffer_copyout(in, line, sizeof line - 1);
        evbuffer_drain(in, (size_t)e.pos + 4);
        if (strncmp(line, "HTTP/1.1 101", 12) != 0) {
            login_failed(s, "websocket upgrade refused");
            return;
        }
        s->upgraded = 1;
        char name[32];
        snprintf(name, sizeof name, "u%d", s->idx);
        const char *kv[] = {"1", name};
        send_pkt(s, YMSG_SVC_AUTH, 0, kv, 2);
    }
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len < 2) return;
        const uint8_t *h = evbuffer_pullup(in, len < 10 ? (ssize_t)len : 10);
        size_t hl = 2;
        uint64_t pl = h[1] & 0x7F;
        if (pl == 126) {
            if (len < 4) return;
            pl = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (pl == 127) {
            if (len < 10) return;
            pl = 0;
            for (int i = 0; i < 8; i++) pl = pl << 8 | h[2 + i];
            hl = 10;
        }
        if (len < hl + pl) return;
        uint8_t op = h[0] & 0x0F;
        evbuffer_drain(in, hl);
        if (op == 0x8) {
            evbuffer_drain(in, (size_t)pl);
            if (s->st == S_ONLINE) fprintf(stderr, "session u%d: websocket closed by server\n", s->idx);
            return;
        }
        if (op == 0x2 || op == 0x0) evbuffer_remove_buffer(in, s->wsin, (size_t)pl);
        else evbuffer_drain(in, (size_t)pl);
    }
}

static void ymsg_read(struct bufferevent *bev, void *arg)
{
    struct sess *s = arg;
    if (!s->ws) {
        ymsg_packets(s, bufferevent_get_input(bev));
        return;
    }
    ws_read(s, bufferevent_get_input(bev));
    ymsg_packets(s, s->wsin);
}

static void ymsg_event(struct bufferevent *bev, short what, void *arg)
{
    struct sess *s = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    if (s->st == S_ONLINE && g_storm) { /* the victim died: log in again on another node at once */
        bufferevent_free(s->ymsg);
        s->ymsg = NULL;
        s->st = S_IDLE;
        g_online--;
        g_closed++;
        g_todo[(g_todo_head + g_todo_len++) % g_n] = s->idx;
        start_next();
    } else if (s->st == S_ONLINE) {
        fprintf(stderr, "session u%d closed by server\n", s->idx);
        s->st = S_FAILED;
        g_online--;
    } else {
        login_failed(s, "pager connection closed");
    }
}

static void start_next(void)
{
    while (g_inflight < g_conc && (g_next < g_upto || g_todo_len > 0)) {
        struct sess *s;
        if (g_todo_len > 0) { /* storm: a dropped session, to the next surviving node */
            s = &g_s[g_todo[g_todo_head]];
            g_todo_head = (g_todo_head + 1) % g_n;
            g_todo_len--;
            s->yport = g_others[s->idx % g_nothers][0];
            s->hport = g_others[s->idx % g_nothers][1];
        } else {
            s = &g_s[g_next];
            s->idx = (int)g_next++;
            s->yport = g_yport;
            s->hport = g_hport;
        }
        s->ws = s->idx >= g_n - g_nws;
        if (s->stale) {
            bufferevent_free(s->stale);
            s->stale = NULL;
        }
        s->ymsg = dial(s->idx, s->ws ? s->hport : s->yport, ymsg_read, ymsg_event, s);
        g_inflight++;
        if (!s->ymsg || (s->ws && !(s->wsin = evbuffer_new()))) {
            s->st = S_CHAL;
            login_failed(s, "pager connect");
            continue;
        }
        s->st = S_CHAL;
        if (s->ws) {
            /* 0x57 follows the 101 (ws_read) */
            evbuffer_add_printf(bufferevent_get_output(s->ymsg),
                                "GET /ymsg HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ymsg\r\n\r\n", g_hport);
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "u%ld", g_first + s->idx);
        const char *kv[] = {"1", name};
        send_pkt(s, YMSG_SVC_AUTH, 0, kv, 2);
    }
    if (g_storm ? g_closed > 0 && g_online + g_failed == g_n && !g_retry_len : g_online + g_failed == g_upto)
        event_base_loopbreak(g_base);
}

static long g_pid; /* ymsgd */

/* CPU seconds (user + system) used so far by pid. */
static double cpu_s(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long rss_kib(long pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

/* Message load: every tick sends the IMs due by now at g_rate (late ticks catch up, at most 5000 at
 * once) between random online buddy pairs. */
static double g_rate, g_phase_t0;
static uint64_t g_phase_tx0;
static void tick(evutil_socket_t fd, short what, void *arg)
{
    double due = g_rate * (now_s() - g_phase_t0) - (double)(g_tx - g_phase_tx0);
    long batch = due > 5000 ? 5000 : (long)due;
    for (long i = 0; i < batch; i++) {
        long lo = g_group == 1 ? g_n - g_nws : 0, hi = g_group == 0 ? g_n - g_nws : g_n;
        uint32_t a = (uint32_t)lo + randombytes_uniform((uint32_t)(hi - lo));
        int k = (int)randombytes_uniform(2 * NBUDDY_HALF) - NBUDDY_HALF;
        if (k >= 0) k++;
        uint32_t b = (uint32_t)(((long)a + k) % g_n + g_n) % (uint32_t)g_n;
        if (g_group >= 0 && ((long)b < lo || (long)b >= hi)) /* a buddy on the other side of a's group */
            b = (uint32_t)(((long)a - k) % g_n + g_n) % (uint32_t)g_n;
        struct sess *s = &g_s[a];
        if (s->st != S_ONLINE || g_s[b].st != S_ONLINE) continue;
        char from[32], to[32], text[32];
        snprintf(from, sizeof from, "u%u", a);
        snprintf(to, sizeof to, "u%u", b);
        snprintf(text, sizeof text, "%llu", (unsigned long long)now_ns());
        const char *kv[] = {"1", from, "5", to, "14", text, "97", "1"};
        send_pkt(s, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, kv, 8);
        g_tx++;
    }
}

static void stop_cb(evutil_socket_t fd, short what, void *arg) { event_base_loopbreak(g_base); }

/* Runs the message load at `rate` msgs/s (0 = as fast as the loop allows) for secs; returns rx/s. */
static double message_phase(double rate, double secs)
{
    struct timeval tv = {0, 1000};
    g_rate = rate;
    g_phase_t0 = now_s();
    g_phase_tx0 = g_tx;
    struct event *t = event_new(g_base, -1, EV_PERSIST, tick, NULL);
    event_add(t, &tv);
    struct timeval dur = {(long)secs, 0};
    struct event *stop = evtimer_new(g_base, stop_cb, NULL);
    evtimer_add(stop, &dur);
    uint64_t rx0 = g_rx, tx0 = g_tx;
    double t0 = now_s(), cpu0 = cpu_s(g_pid);
    event_base_dispatch(g_base);
    event_free(t);
    event_free(stop);
    /* drain what is still in flight */
    struct timeval grace = {0, 300000};
    event_base_loopexit(g_base, &grace);
    event_base_dispatch(g_base);
    double el = now_s() - t0, cpu = cpu_s(g_pid) - cpu0;
    printf("  sent %llu, received %llu in %.1fs; ymsgd CPU %.2fs = %.1f us/message (%.0f msgs/s per core)\n",
           (unsigned long long)(g_tx - tx0), (unsigned long long)(g_rx - rx0), el, cpu,
           g_rx > rx0 ? cpu * 1e6 / (double)(g_rx - rx0) : 0.0, cpu > 0 ? (double)(g_rx - rx0) / cpu : 0.0);
    return (double)(g_rx - rx0) / secs;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int run(int argc, char **argv)
{
    if (argc < 4) return 2;
    g_yport = atoi(argv[0]);
    g_hport = atoi(argv[1]);
    g_n = atol(argv[2]);
    long pid = atol(argv[3]);
    g_pid = pid;
    double secs = argc > 4 ? atof(argv[4]) : 10;
    g_conc = argc > 5 ? atol(argv[5]) : 256;
    g_nws = argc > 6 ? atol(argv[6]) : 0;
    long nt = g_n - g_nws;
    if (g_nws < 0 || nt < 0 || (g_nws && g_nws < 2 * NBUDDY_HALF + 1) || (nt && nt < 2 * NBUDDY_HALF + 1)) {
        fprintf(stderr, "ymsg-bench: WS_USERS and USERS - WS_USERS must each be 0 or at least %d\n", 2 * NBUDDY_HALF + 1);
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    g_base = event_base_new();
    g_s = calloc((size_t)g_n, sizeof *g_s);
    g_caplat = 4u << 20;
    g_lat = malloc(g_caplat * sizeof *g_lat);
    /* TCP users first, then WebSocket users: ymsgd's RSS growth of each population on its own */
    long ntcp = nt;
    const char *what[2] = {"TCP", "WebSocket"};
    for (int grp = 0; grp < 2; grp++) {
        long want = grp ? g_nws : ntcp, ok0 = g_online;
        if (!want) continue;
        g_upto = grp ? g_n : ntcp;
        long rss0 = rss_kib(pid);
        double cpu0 = cpu_s(pid);
        g_t0 = now_s();
        start_next();
        event_base_dispatch(g_base);
        double el = now_s() - g_t0;
        long rss1 = rss_kib(pid), ok = g_online - ok0;
        printf("%s logins: %ld ok, %ld failed in %.2fs = %.0f logins/s (full token flow, %ld in flight)\n",
               what[grp], ok, g_failed, el, (double)ok / el, g_conc);
        double lcpu = cpu_s(pid) - cpu0;
        printf("ymsgd CPU for the logins: %.2fs = %.0f us/login (%.0f logins/s per core)\n", lcpu,
               ok ? lcpu * 1e6 / (double)ok : 0.0, lcpu > 0 ? (double)ok / lcpu : 0.0);
        printf("ymsgd RSS: %ld KiB before, %ld KiB with %ld more %s sessions = %.0f bytes/session\n", rss0, rss1, ok,
               what[grp], ok ? (double)(rss1 - rss0) * 1024.0 / (double)ok : 0.0);
        fflush(stdout);
    }
    if (g_online < g_n / 2) return 1;
    if (secs <= 0) {
        /* no message phases: keep the sessions open for a while (a heap profile of ymsgd, e.g. massif's
         * detailed_snapshot through vgdb, sees them idle) */
        struct timeval hold = {5, 0};
        event_base_loopexit(g_base, &hold);
        event_base_dispatch(g_base);
        return 0;
    }
    double max_by[2] = {0, 0};
    for (int grp = g_nws ? 0 : -1; grp < (g_nws ? 2 : 0); grp++) {
        if (grp >= 0 && (grp ? g_nws : ntcp) == 0) continue; /* one transport only: its own phases */
        g_group = grp;
        const char *who = grp < 0 ? "" : grp ? " between WebSocket users" : " between TCP users";
        printf("throughput phase%s (open loop, 200000 msgs/s offered):\n", who);
        double max = message_phase(200000, secs);
        if (grp >= 0) max_by[grp] = max;
        printf("  routed: %.0f msgs/s\n", max);
        printf("latency phase%s at %.0f msgs/s (half of that):\n", who, max / 2);
        g_measure = 1;
        g_nlat = 0;
        double got = message_phase(max / 2, secs);
        g_measure = 0;
        qsort(g_lat, g_nlat, sizeof *g_lat, cmp_u32);
        if (g_nlat)
            printf("  routed: %.0f msgs/s; RTT p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu samples)\n", got,
                   g_lat[g_nlat / 2] / 1000.0, g_lat[g_nlat * 99 / 100] / 1000.0, g_lat[g_nlat - 1] / 1000.0, g_nlat);
    }
    if (g_nws && ntcp && max_by[0] > 0) printf("WebSocket/TCP routing rate: %.2f\n", max_by[1] / max_by[0]);
    printf("ymsgd RSS after messages: %ld KiB\n", rss_kib(pid));
    return 0;
}

/* "YPORT:HPORT" into p[0], p[1]: 0, or -1. */
static int parse_ports(const char *t, int p[2])
{
    return sscanf(t, "%d:%d", &p[0], &p[1]) == 2 && p[0] > 0 && p[1] > 0 ? 0 : -1;
}

static void storm_give_up(evutil_socket_t fd, short what, void *arg) { event_base_loopbreak(g_base); }

static void retry_due(evutil_socket_t fd, short what, void *arg)
{
    double now = now_s();
    while (g_retry_len > 0 && g_retry_at[g_retry_head] <= now) {
        g_todo[(g_todo_head + g_todo_len++) % g_n] = g_retry[g_retry_head];
        g_retry_head = (g_retry_head + 1) % g_n;
        g_retry_len--;
    }
    start_next();
}

static int storm(int argc, char **argv)
{
    if (argc < 5) return 2;
    g_n = atol(argv[0]);
    g_conc = atol(argv[1]);
    long pid = atol(argv[2]);
    int victim[2];
    g_first = argc > 5 ? atol(argv[5]) : 0;
    if (g_n < 1 || g_conc < 1 || pid < 2 || parse_ports(argv[3], victim) < 0) return 2;
    g_yport = victim[0];
    g_hport = victim[1];
    char *list = strdup(argv[4]), *save = NULL;
    g_others = calloc(strlen(argv[4]) / 3 + 1, sizeof *g_others);
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (parse_ports(t, g_others[g_nothers++]) < 0) return 2;
    free(list);
    if (!g_nothers) return 2;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    g_base = event_base_new();
    g_s = calloc((size_t)g_n, sizeof *g_s);
    g_todo = calloc((size_t)g_n, sizeof *g_todo);
    g_upto = g_n;
    g_t0 = now_s();
    start_next();
    event_base_dispatch(g_base);
    double el = now_s() - g_t0;
    printf("storm: %ld sessions online on the victim (%ld failed) in %.2fs = %.0f logins/s\n", g_online, g_failed, el,
           g_online / el);
    fflush(stdout);
    if (g_failed || g_online != g_n) return 1;
    /* The driver waits for this line (the cluster has every session in its directory), then says go. */
    printf("storm: ready\n");
    fflush(stdout);
    char go[16];
    if (!fgets(go, sizeof go, stdin)) return 1;
    g_storm = 1;
    g_retry = calloc((size_t)g_n, sizeof *g_retry);
    g_retry_at = calloc((size_t)g_n, sizeof *g_retry_at);
    g_retry_ev = event_new(g_base, -1, EV_PERSIST, retry_due, NULL);
    struct timeval tick = {0, 50000};
    if (!g_retry || !g_retry_at || !g_retry_ev || event_add(g_retry_ev, &tick) < 0) return 1;
    double t_kill = now_s();
    if (kill((pid_t)pid, SIGKILL) < 0) {
        perror("storm: kill");
        return 1;
    }
    struct timeval limit = {600, 0};
    struct event *give_up = evtimer_new(g_base, storm_give_up, NULL);
    evtimer_add(give_up, &limit);
    event_base_dispatch(g_base);
    event_free(give_up);
    event_free(g_retry_ev);
    double back = now_s() - t_kill;
    printf("storm: %ld of %ld sessions dropped by the kill, %ld back online on %d other node(s), %ld failed, "
           "all back %.2fs after the kill (%.0f logins/s), %ld tries again\n", g_closed, g_n, g_relogged, g_nothers,
           g_failed, back, g_relogged / back, g_retries);
    fflush(stdout);
    return g_relogged == g_n && !g_failed ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 1;
    if (argc >= 4 && !strcmp(argv[1], "setup"))
        return setup(argv[2], atol(argv[3]), argc > 5 ? strtoull(argv[4], NULL, 10) : 1,
                     argc > 5 ? (size_t)strtoull(argv[5], NULL, 10) : 8192);
    if (argc >= 6 && !strcmp(argv[1], "run")) return run(argc - 2, argv + 2);
    if (argc >= 7 && !strcmp(argv[1], "storm")) return storm(argc - 2, argv + 2);
    fprintf(stderr, "usage: ymsg-bench setup DATA_DIR USERS [OPSLIMIT MEMLIMIT]\n"
                    "       ymsg-bench run YMSG_PORT HTTP_PORT USERS YMSGD_PID [SECONDS] [CONCURRENCY] [WS_USERS]\n"
                    "       ymsg-bench storm USERS CONCURRENCY VICTIM_PID YPORT:HPORT YPORT:HPORT[,...] [FIRST]\n");
    return 2;
}
