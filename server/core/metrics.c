/* Counters, histograms and bounded label sets for /metrics; see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct metrics g_metrics;

/* 100 us .. 1 s: an SQLite call on a warm cache is well under 1 ms; a checkpoint wait or a slow disk
 * shows in the upper buckets. */
const double metrics_bucket_bounds[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                       0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

double metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_observe(struct metrics_hist *h, double seconds)
{
    size_t i = 0;
    while (i < METRICS_BUCKETS && seconds > metrics_bucket_bounds[i]) i++;
    h->bucket[i]++;
    h->count++;
    h->sum += seconds;
}

static enum metrics_login_result login_result(int code)
{
    switch (code) {
    case 0: return MET_LR_OK;
    case 13: case 1212: case 1216: return MET_LR_BAD_PASSWORD;           /* 0x54 key 66 / pwtoken_get */
    case 14: case 1213: case 1214: return MET_LR_LOCKED;
    case 1236: return MET_LR_THROTTLED;
    case 3: case 1235: return MET_LR_NO_SUCH_USER;
    case -1: case 100: case 1013: return MET_LR_BAD_REQUEST;
    default: return MET_LR_OTHER;
    }
}

void metrics_login(enum metrics_login_path path, int code)
{
    if ((unsigned)path < MET_LOGIN_PATHS) g_metrics.logins[path][login_result(code)]++;
}

/* AMF rows: first-seen order, linear search (a few dozen rows; AMF calls are not the IM hot path). */
#define AMF_LABEL_MAX 64     /* bytes kept of a client-chosen label value */
#define AMF_KNOWN_MAX 4096   /* rows for names the gateway has: bounded by its code, this is a backstop */
struct amf_row {
    char service[AMF_LABEL_MAX + 1]; /* label values */
    char method[AMF_LABEL_MAX + 1];
    char result[AMF_LABEL_MAX + 1];
    uint64_t count;                  /* calls */
    int known;                       /* names the gateway has */
};
static struct amf_row *g_amf;     /* rows */
static size_t g_amf_n, g_amf_cap; /* rows used, allocated */
static size_t g_amf_unknown;      /* rows with client-invented names */
static size_t g_label_cap = 64;   /* metrics_max_labels */

void metrics_set_label_cap(size_t cap)
{
    g_label_cap = cap;
}

static struct amf_row *amf_find(const char *service, const char *method, const char *result)
{
    for (size_t i = 0; i < g_amf_n; i++)
        if (!strncmp(g_amf[i].service, service, AMF_LABEL_MAX) && !strncmp(g_amf[i].method, method, AMF_LABEL_MAX) &&
            !strncmp(g_amf[i].result, result, AMF_LABEL_MAX))
            return &g_amf[i];
    return NULL;
}

void metrics_amf_call(const char *service, const char *method, const char *result, int known)
{
    struct amf_row *r = amf_find(service, method, result);
    if (!r && ((known && g_amf_n - g_amf_unknown >= AMF_KNOWN_MAX) || (!known && g_amf_unknown >= g_label_cap))) {
        /* Over the cap: the call still counts, under "other". */
        service = method = "other";
        known = 1; /* the fold rows are few (one per result), so they do not use the unknown cap */
        r = amf_find(service, method, result);
    }
    if (!r) {
        if (g_amf_n == g_amf_cap) {
            size_t ncap = g_amf_cap ? g_amf_cap * 2 : 32;
            struct amf_row *n = realloc(g_amf, ncap * sizeof *n);
            if (!n) return; /* out of memory: this call goes uncounted rather than growing the log */
            g_amf = n;
            g_amf_cap = ncap;
        }
        r = &g_amf[g_amf_n++];
        memset(r, 0, sizeof *r);
        snprintf(r->service, sizeof r->service, "%s", service);
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->result, sizeof r->result, "%s", result);
        r->known = known;
        if (!known) g_amf_unknown++;
    }
    r->count++;
}

void metrics_amf_each(void (*cb)(void *arg, const struct metrics_amf_row *row), void *arg)
{
    for (size_t i = 0; i < g_amf_n; i++) {
        struct metrics_amf_row row = {g_amf[i].service, g_amf[i].method, g_amf[i].result, g_amf[i].count};
        cb(arg, &row);
    }
}

size_t metrics_amf_rows(void)
{
    return g_amf_n;
}

struct hash_pool {
    const char *name;             /* label value (a string constant of the caller) */
    size_t (*depth)(void *arg);   /* reads the pool's queue depth */
    void *arg;                    /* its argument */
};
static struct hash_pool g_pools[METRICS_HASH_POOLS]; /* registered pools; name NULL = free slot */

void metrics_hash_pool(const char *name, size_t (*depth)(void *arg), void *arg)
{
    struct hash_pool *slot = NULL;
    for (size_t i = 0; i < METRICS_HASH_POOLS; i++) {
        if (g_pools[i].name && !strcmp(g_pools[i].name, name)) slot = &g_pools[i];
        else if (!g_pools[i].name && !slot && depth) slot = &g_pools[i];
    }
    if (!slot) return; /* full: the pool is not shown rather than overwriting another */
    if (!depth) memset(slot, 0, sizeof *slot);
    else *slot = (struct hash_pool){name, depth, arg};
}

void metrics_hash_pools_each(void (*cb)(void *arg, const char *name, size_t depth), void *arg)
{
    for (size_t i = 0; i < METRICS_HASH_POOLS; i++)
        if (g_pools[i].name) cb(arg, g_pools[i].name, g_pools[i].depth(g_pools[i].arg));
}

static int buf_reserve(struct metrics_buf *b, size_t more)
{
    if (b->err) return -1;
    if (b->len + more + 1 <= b->cap) return 0;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + more + 1) ncap *= 2;
    char *n = realloc(b->p, ncap);
    if (!n) {
        b->err = 1;
        return -1;
    }
    b->p = n;
    b->cap = ncap;
    return 0;
}

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void metrics_buf_label(struct metrics_buf *b, const char *value)
{
    size_t n = strlen(value);
    if (buf_reserve(b, 2 * n) < 0) return;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch == '\\' || ch == '"') {
            b->p[b->len++] = '\\';
            b->p[b->len++] = (char)ch;
        } else if (ch == '\n') {
            b->p[b->len++] = '\\';
            b->p[b->len++] = 'n';
        } else {
            /* Other controls and bytes >= 0x80 become '?': the format wants UTF-8, and a name cut at 64
             * bytes (or sent as Latin-1) would not be. */
            b->p[b->len++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
        }
    }
    b->p[b->len] = 0;
}

void metrics_buf_free(struct metrics_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void metrics_buf_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
    metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_buf_hist(struct metrics_buf *b, const char *name, const char *label, const char *value,
                      const struct metrics_hist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        cum += h->bucket[i];
        metrics_buf_printf(b, "%s_bucket{%s=\"", name, label);
        metrics_buf_label(b, value);
        if (i < METRICS_BUCKETS) metrics_buf_printf(b, "\",le=\"%g\"} %llu\n", metrics_bucket_bounds[i], (unsigned long long)cum);
        else metrics_buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    metrics_buf_printf(b, "%s_sum{%s=\"", name, label);
    metrics_buf_label(b, value);
    metrics_buf_printf(b, "\"} %.9f\n%s_count{%s=\"", h->sum, name, label);
    metrics_buf_label(b, value);
    metrics_buf_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}
