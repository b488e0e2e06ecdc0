/* Structured logging and its rate limiter; see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

static enum log_level g_level = LOG_INFO;
static int g_fd = STDERR_FILENO;    /* written to; a private copy once a log file is opened */
static char *g_path;                /* the log file's name, or NULL (stderr) */
static pthread_mutex_t g_file_mu = PTHREAD_MUTEX_INITIALIZER; /* open/reopen (signal and ctl paths) */

/* Puts a new destination under g_fd.  Called with g_file_mu held. */
static int install_fd(int fd, char *err, size_t errlen)
{
    int cur = __atomic_load_n(&g_fd, __ATOMIC_ACQUIRE);
    if (cur == STDERR_FILENO) {
        /* First file: a private descriptor number from now on, so stderr itself stays untouched. */
        int mine = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (mine < 0) {
            snprintf(err, errlen, "log: %s", strerror(errno));
            return -1;
        }
        __atomic_store_n(&g_fd, mine, __ATOMIC_RELEASE);
        return 0;
    }
    if (dup3(fd, cur, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "log: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int open_log(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) snprintf(err, errlen, "log file %.300s: %s", path, strerror(errno));
    return fd;
}

int log_open_file(const char *path, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&g_file_mu);
    if (!path || !*path) {
        if (g_path && install_fd(STDERR_FILENO, err, errlen) < 0) rc = -1;
        if (!rc) {
            free(g_path);
            g_path = NULL;
        }
        pthread_mutex_unlock(&g_file_mu);
        return rc;
    }
    char *copy = strdup(path);
    int fd = copy ? open_log(path, err, errlen) : -1;
    if (!copy) snprintf(err, errlen, "out of memory");
    if (fd < 0 || install_fd(fd, err, errlen) < 0) {
        rc = -1;
        free(copy);
    } else {
        free(g_path);
        g_path = copy;
    }
    if (fd >= 0) close(fd);
    pthread_mutex_unlock(&g_file_mu);
    return rc;
}

int log_reopen(char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&g_file_mu);
    if (g_path) {
        int fd = open_log(g_path, err, errlen);
        if (fd < 0 || install_fd(fd, err, errlen) < 0) rc = -1;
        if (fd >= 0) close(fd);
    }
    pthread_mutex_unlock(&g_file_mu);
    return rc;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(enum log_level lvl) { g_level = lvl; }

int log_enabled(enum log_level lvl) { return lvl >= g_level; }

/* Appends s as a log token: bare when it is plain, otherwise quoted with escapes. */
static size_t put_token(char *out, size_t pos, size_t cap, const char *s, int force_quote)
{
    int quote = force_quote;
    if (!s || !*s) s = "-";
    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f) quote = 1;
    if (quote && pos < cap) out[pos++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && pos + 5 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\x%02x", *p);
        } else {
            out[pos++] = (char)*p;
        }
    }
    if (quote && pos < cap) out[pos++] = '"';
    return pos;
}

/* Formats and writes one line; msg may be NULL.  No rate limit here. */
static void write_line(enum log_level lvl, const char *peer, const char *user, const char *event, long code,
                       const char *msg)
{
    char line[1024];
    size_t cap = sizeof line - 2, pos;
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    pos = strftime(line, cap, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    pos += (size_t)snprintf(line + pos, cap - pos, ".%03ldZ level=%s peer=", (long)tv.tv_usec / 1000,
                            level_names[lvl]);
    pos = put_token(line, pos, cap, peer, 0);
    pos += (size_t)snprintf(line + pos, cap - pos, " user=");
    pos = put_token(line, pos, cap, user, 0);
    pos += (size_t)snprintf(line + pos, cap - pos, " event=");
    pos = put_token(line, pos, cap, event, 0);
    pos += (size_t)snprintf(line + pos, cap - pos, " code=%ld", code);
    if (msg && pos < cap) {
        pos += (size_t)snprintf(line + pos, cap - pos, " msg=");
        if (pos > cap) pos = cap;
        pos = put_token(line, pos, cap, msg, 1);
    }
    if (pos > cap) pos = cap;
    line[pos++] = '\n';
    ssize_t r = write(__atomic_load_n(&g_fd, __ATOMIC_ACQUIRE), line, pos);
    (void)r;
}

/* ---- the limiter ------------------------------------------------------------------------------ */

enum { SCOPE_CONN, SCOPE_ADDR, SCOPE_GLOBAL };
static const char *const scope_names[] = {"connection", "address", "global"};

#define LOG_WAYS 4                 /* slots per set: a set keeps its 4 most recently used keys */
#define LOG_SETS 1024              /* 4096 tracked keys; the global scope is the backstop beyond that */
#define LOG_FLUSH_EVERY 5.0        /* seconds between summary sweeps */

struct log_slot {
    uint64_t hash;          /* of scope, event and key; 0 = empty */
    double tokens;          /* token-bucket fill */
    double last;            /* monotonic time of the last refill (and use) */
    uint32_t suppressed;    /* lines not written since the last summary */
    uint8_t scope;          /* SCOPE_* */
    uint8_t lvl;            /* highest level among the suppressed lines */
    char event[30];         /* event name (truncated), for the summary */
    char key[64];           /* peer or address (truncated), for the summary */
};

static struct log_limits g_lim = {2, 20, 10, 100, 200, 1000};
static struct log_slot g_slots[LOG_SETS * LOG_WAYS]; /* the tracked keys */
static double g_sum_tokens = -1;                     /* summary-line bucket (global rate); <0 = not filled */
static double g_sum_last;                            /* its last refill */
static double g_last_flush;                          /* time of the last summary sweep */
static uint64_t g_lost;                              /* suppressed lines whose summary could not be kept */
static uint64_t g_seed;                              /* per-process hash seed */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* log_event is also called from helper threads */
static struct event *g_flush_ev;                     /* periodic summary sweep (log_attach) */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void log_set_limits(const struct log_limits *lim)
{
    pthread_mutex_lock(&g_mu);
    g_lim = *lim;
    g_sum_tokens = -1;
    memset(g_slots, 0, sizeof g_slots);
    pthread_mutex_unlock(&g_mu);
}

void log_peer_addr(const char *peer, char *out, size_t cap)
{
    size_t n;
    if (!cap) return;
    if (!peer) peer = "";
    if (peer[0] == '[') {
        const char *rb = strchr(peer, ']');
        peer++;
        n = rb ? (size_t)(rb - peer) : strlen(peer);
    } else {
        const char *c = strchr(peer, ':');
        /* exactly one colon: "addr:port"; none or several: a bare address (IPv6 without a port) */
        n = (c && !strchr(c + 1, ':')) ? (size_t)(c - peer) : strlen(peer);
    }
    if (n >= cap) n = cap - 1;
    memcpy(out, peer, n);
    out[n] = 0;
}

static uint64_t hash_key(int scope, const char *event, const char *key)
{
    uint64_t h = 1469598103934665603ULL ^ g_seed;
    h = (h ^ (uint64_t)(scope + 1)) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)event; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 29;
    return h ? h : 1;
}

/* Takes a token from the summary bucket (rate and burst of the global scope). */
static int summary_allowed(double now)
{
    if (g_sum_tokens < 0) {
        g_sum_tokens = g_lim.global_burst;
        g_sum_last = now;
    }
    g_sum_tokens += (now - g_sum_last) * g_lim.global_rate;
    if (g_sum_tokens > g_lim.global_burst) g_sum_tokens = g_lim.global_burst;
    g_sum_last = now;
    if (g_sum_tokens < 1) return 0;
    g_sum_tokens -= 1;
    return 1;
}

/* Writes s's summary when the summary budget allows; returns 1 when nothing is left pending. */
static int emit_summary(struct log_slot *s, double now)
{
    if (!s->suppressed) return 1;
    if (!summary_allowed(now)) return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "%u similar messages suppressed: event=%s scope=%s", s->suppressed, s->event,
             scope_names[s->scope]);
    write_line((enum log_level)s->lvl, s->scope == SCOPE_GLOBAL ? NULL : s->key, NULL, "log_suppressed",
               (long)s->suppressed, msg);
    s->suppressed = 0;
    return 1;
}

static void flush_locked(double now)
{
    g_last_flush = now;
    for (size_t i = 0; i < sizeof g_slots / sizeof g_slots[0]; i++)
        if (g_slots[i].suppressed && !emit_summary(&g_slots[i], now)) return;
    if (g_lost && summary_allowed(now)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%llu similar messages suppressed: event=* scope=evicted",
                 (unsigned long long)g_lost);
        write_line(LOG_WARN, NULL, NULL, "log_suppressed", (long)g_lost, msg);
        g_lost = 0;
    }
}

/* 1 when a line for (scope, event, key) is within its budget; otherwise counts it and returns 0. */
static int take(int scope, const char *event, const char *key, enum log_level lvl, double now)
{
    double rate = scope == SCOPE_CONN ? g_lim.conn_rate : scope == SCOPE_ADDR ? g_lim.addr_rate : g_lim.global_rate;
    double burst = scope == SCOPE_CONN ? g_lim.conn_burst : scope == SCOPE_ADDR ? g_lim.addr_burst : g_lim.global_burst;
    uint64_t h = hash_key(scope, event, key);
    struct log_slot *set = &g_slots[(h % LOG_SETS) * LOG_WAYS], *s = NULL, *victim = &set[0];
    for (int i = 0; i < LOG_WAYS; i++) {
        if (set[i].hash == h && set[i].scope == scope) {
            s = &set[i];
            break;
        }
        if (set[i].hash == 0 || (victim->hash != 0 && set[i].last < victim->last)) victim = &set[i];
    }
    if (!s) {
        /* The least recently used key makes room; its pending count is written or counted as lost. */
        if (victim->suppressed && !emit_summary(victim, now)) g_lost += victim->suppressed;
        s = victim;
        memset(s, 0, sizeof *s);
        s->hash = h;
        s->scope = (uint8_t)scope;
        s->tokens = burst;
        snprintf(s->event, sizeof s->event, "%s", event);
        snprintf(s->key, sizeof s->key, "%s", key);
    } else {
        s->tokens += (now - s->last) * rate;
        if (s->tokens > burst) s->tokens = burst;
    }
    s->last = now;
    if (s->tokens >= 1) {
        s->tokens -= 1;
        emit_summary(s, now); /* the count so far goes out before the next line of its kind */
        return 1;
    }
    s->suppressed++;
    if (lvl > s->lvl) s->lvl = (uint8_t)lvl;
    return 0;
}

static int limiter_allows(enum log_level lvl, const char *peer, const char *event, double now)
{
    char addr[64];
    if (!event) event = "-";
    if (!g_seed) g_seed = ((uint64_t)getpid() << 32) ^ (uint64_t)(now * 1e9) ^ (uint64_t)(uintptr_t)&g_seed;
    if (now - g_last_flush >= LOG_FLUSH_EVERY) flush_locked(now);
    if (peer && *peer) {
        log_peer_addr(peer, addr, sizeof addr);
        if (strcmp(addr, peer) != 0 && !take(SCOPE_CONN, event, peer, lvl, now)) return 0;
        if (!take(SCOPE_ADDR, event, addr, lvl, now)) return 0;
    }
    return take(SCOPE_GLOBAL, event, "", lvl, now);
}

void log_event(enum log_level lvl, const char *peer, const char *user, const char *event, long code,
               const char *fmt, ...)
{
    if (!log_enabled(lvl)) return;
    pthread_mutex_lock(&g_mu);
    int ok = limiter_allows(lvl, peer, event, mono_now());
    pthread_mutex_unlock(&g_mu);
    if (!ok) return;
    char msg[512];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    write_line(lvl, peer, user, event, code, fmt ? msg : NULL);
}

void log_flush_suppressed(void)
{
    pthread_mutex_lock(&g_mu);
    flush_locked(mono_now());
    pthread_mutex_unlock(&g_mu);
}

/* ---- libevent ---------------------------------------------------------------------------------- */

static void libevent_log_cb(int severity, const char *msg)
{
    enum log_level lvl = severity == EVENT_LOG_DEBUG ? LOG_DEBUG
                         : severity == EVENT_LOG_MSG ? LOG_INFO
                         : severity == EVENT_LOG_WARN ? LOG_WARN : LOG_ERROR;
    log_event(lvl, NULL, NULL, "libevent", severity, "%s", msg);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    log_flush_suppressed();
}

int log_attach(struct event_base *base)
{
    event_set_log_callback(libevent_log_cb);
    struct timeval tv = {(time_t)LOG_FLUSH_EVERY, 0};
    g_flush_ev = event_new(base, -1, EV_PERSIST, flush_cb, NULL);
    return g_flush_ev && event_add(g_flush_ev, &tv) == 0 ? 0 : -1;
}

void log_detach(void)
{
    if (g_flush_ev) event_free(g_flush_ev);
    g_flush_ev = NULL;
    event_set_log_callback(NULL);
    log_flush_suppressed();
}
