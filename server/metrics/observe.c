/* /metrics, /healthz, /readyz; see observe.h.  The page is written on request from the counters in
 * core/metrics and from state the server already keeps (the session registry, the hash queue). */
#include "observe.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth.h"
#include "config.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "pwcache.h"
#include "server.h"
#include "store_async.h"

struct observe {
    struct server *srv;      /* the server observed */
    struct evhttp *http;     /* the metrics listener, or NULL when metrics_listen is "" */
};

static double g_start_time; /* wall-clock start (process_start_time_seconds) */

static const char *const store_op_names[MET_ST_COUNT] = {"account", "buddy", "authreq", "ignore", "offline",
                                                         "phonebook"};
static const char *const im_route_names[MET_IM_COUNT] = {"live", "offline", "ignored", "refused", "failed"};
static const char *const login_path_names[MET_LOGIN_PATHS] = {"ymsg", "http_token", "amf"};
static const char *const login_result_names[MET_LR_COUNT] = {"ok", "bad_password", "locked", "throttled",
                                                             "no_such_user", "bad_request", "other"};

/* A YMSG service's label: the dispatch table's name when it has a row, else libymsg's identifier in
 * lower case (services the server only sends), else the number. */
static const char *service_label(uint16_t service, char *buf, size_t cap)
{
    const struct dispatch_entry *e = dispatch_lookup(service, CONN_ONLINE);
    if (!e) e = dispatch_lookup(service, CONN_NEW);
    if (e) return e->name;
    const char *id = ymsg_service_ident(service);
    if (!id) {
        snprintf(buf, cap, "0x%x", service);
        return buf;
    }
    size_t i = 0;
    for (; id[i] && i + 1 < cap; i++) buf[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] + 32 : id[i]);
    buf[i] = 0;
    return buf;
}

/* Packets in: only services the dispatch table has get a label (clients choose the number); the rest
 * are summed as "other".  Packets out: the server chooses the service, so every one gets its label. */
static void write_packets(struct metrics_buf *b, const char *name, const uint64_t *v, int in)
{
    char buf[48];
    uint64_t other = v[METRICS_SERVICES];
    for (uint16_t s = 0; s < METRICS_SERVICES; s++) {
        if (!v[s]) continue;
        if (in && !dispatch_lookup(s, CONN_ONLINE) && !dispatch_lookup(s, CONN_NEW)) {
            other += v[s];
            continue;
        }
        metrics_buf_printf(b, "%s{service=\"", name);
        metrics_buf_label(b, service_label(s, buf, sizeof buf));
        metrics_buf_printf(b, "\"} %llu\n", (unsigned long long)v[s]);
    }
    metrics_buf_printf(b, "%s{service=\"other\"} %llu\n", name, (unsigned long long)other);
}

static void write_amf_row(void *arg, const struct metrics_amf_row *r)
{
    struct metrics_buf *b = arg;
    metrics_buf_printf(b, "ymsgd_amf_calls_total{service=\"");
    metrics_buf_label(b, r->service);
    metrics_buf_printf(b, "\",method=\"");
    metrics_buf_label(b, r->method);
    metrics_buf_printf(b, "\",result=\"");
    metrics_buf_label(b, r->result);
    metrics_buf_printf(b, "\"} %llu\n", (unsigned long long)r->count);
}

static void write_pool(void *arg, const char *name, size_t depth)
{
    struct metrics_buf *b = arg;
    metrics_buf_printf(b, "ymsgd_hash_queue_depth{pool=\"");
    metrics_buf_label(b, name);
    metrics_buf_printf(b, "\"} %zu\n", depth);
}

/* Resident set size in bytes from /proc/self/statm (second field, in pages); -1 if unreadable. */
static long long proc_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size, res;
    if (!f) return -1;
    int n = fscanf(f, "%lld %lld", &size, &res);
    fclose(f);
    return n == 2 ? res * sysconf(_SC_PAGESIZE) : -1;
}

/* Open descriptors (entries of /proc/self/fd, less the one opendir holds); -1 if unreadable. */
static long proc_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;
}

void observe_page(struct server *srv, struct metrics_buf *b)
{
    const struct metrics *m = &g_metrics;
    metrics_buf_family(b, "ymsgd_build_info", "gauge", "Version of this ymsgd (always 1).");
    metrics_buf_printf(b, "ymsgd_build_info{version=\"%s\"} 1\n", YMSG_PACKAGE_VERSION);

    /* Sessions by transport (struct transport's name). */
    uint64_t tcp = 0, ws = 0;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        const struct conn *c = v;
        if (c->tp && c->tp->name && !strcmp(c->tp->name, "websocket")) ws++;
        else tcp++;
    }
    metrics_buf_family(b, "ymsgd_sessions_online", "gauge", "Logged-in YMSG sessions by transport.");
    metrics_buf_printf(b, "ymsgd_sessions_online{transport=\"tcp\"} %llu\n", (unsigned long long)tcp);
    metrics_buf_printf(b, "ymsgd_sessions_online{transport=\"websocket\"} %llu\n", (unsigned long long)ws);
    metrics_buf_family(b, "ymsgd_connections_open", "gauge", "Open YMSG connections, logged in or not.");
    metrics_buf_printf(b, "ymsgd_connections_open %llu\n", (unsigned long long)srv->nconns);

    metrics_buf_family(b, "ymsgd_logins_total", "counter", "Login attempts by path and result.");
    for (int p = 0; p < MET_LOGIN_PATHS; p++)
        for (int r = 0; r < MET_LR_COUNT; r++)
            metrics_buf_printf(b, "ymsgd_logins_total{path=\"%s\",result=\"%s\"} %llu\n", login_path_names[p],
                               login_result_names[r], (unsigned long long)m->logins[p][r]);

    metrics_buf_family(b, "ymsgd_ims_total", "counter", "Instant messages by route.");
    for (int r = 0; r < MET_IM_COUNT; r++)
        metrics_buf_printf(b, "ymsgd_ims_total{route=\"%s\"} %llu\n", im_route_names[r], (unsigned long long)m->ims[r]);

    metrics_buf_family(b, "ymsgd_packets_received_total", "counter", "YMSG packets decoded, by service.");
    write_packets(b, "ymsgd_packets_received_total", m->pkts_in, 1);
    metrics_buf_family(b, "ymsgd_packets_sent_total", "counter", "YMSG packets queued to sessions, by service.");
    write_packets(b, "ymsgd_packets_sent_total", m->pkts_out, 0);
    metrics_buf_family(b, "ymsgd_received_bytes_total", "counter", "Bytes of YMSG packets decoded.");
    metrics_buf_printf(b, "ymsgd_received_bytes_total %llu\n", (unsigned long long)m->bytes_in);
    metrics_buf_family(b, "ymsgd_sent_bytes_total", "counter", "Bytes of YMSG packets queued to sessions.");
    metrics_buf_printf(b, "ymsgd_sent_bytes_total %llu\n", (unsigned long long)m->bytes_out);

    metrics_buf_family(b, "ymsgd_ratelimit_drops_total", "counter", "Work dropped by a rate limit.");
    metrics_buf_printf(b, "ymsgd_ratelimit_drops_total{limit=\"session_rate\"} %llu\n",
                       (unsigned long long)srv->dropped_flood);
    metrics_buf_printf(b, "ymsgd_ratelimit_drops_total{limit=\"conn_rate\"} %llu\n",
                       (unsigned long long)m->ratelimit[MET_RL_CONN]);

    metrics_buf_family(b, "ymsgd_hash_queue_depth", "gauge",
                       "Password checks queued or running in a hash worker pool (login: pwtoken_get; amf: the gateway).");
    metrics_buf_printf(b, "ymsgd_hash_queue_depth{pool=\"login\"} %zu\n", auth_hash_queued(srv->auth));
    metrics_hash_pools_each(write_pool, b);
    unsigned long long hits, hashed;
    auth_hash_counts(srv->auth, &hits, &hashed);
    metrics_buf_family(b, "ymsgd_password_checks_total", "counter",
                       "pwtoken_get password checks answered by the verification cache or by argon2id.");
    metrics_buf_printf(b, "ymsgd_password_checks_total{result=\"cached\"} %llu\n", hits);
    metrics_buf_printf(b, "ymsgd_password_checks_total{result=\"hashed\"} %llu\n", hashed);
    metrics_buf_family(b, "ymsgd_pwcache_entries", "gauge", "Entries in this node's password verification cache.");
    metrics_buf_printf(b, "ymsgd_pwcache_entries %zu\n", auth_pwcache(srv->auth) ? pwcache_len(auth_pwcache(srv->auth)) : 0);

    metrics_buf_family(b, "ymsgd_store_op_duration_seconds", "histogram", "Store call latency by operation class.");
    for (int i = 0; i < MET_ST_COUNT; i++)
        metrics_buf_hist(b, "ymsgd_store_op_duration_seconds", "op", store_op_names[i], &m->store[i]);

    metrics_buf_family(b, "ymsgd_amf_calls_total", "counter",
                       "AMF gateway calls by service, method and result (ok or the fault code).");
    metrics_amf_each(write_amf_row, b);

    struct rusage ru;
    struct rlimit rl;
    long long rss = proc_rss();
    long fds = proc_fds();
    if (rss >= 0) {
        metrics_buf_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        metrics_buf_printf(b, "process_resident_memory_bytes %lld\n", rss);
    }
    if (fds >= 0) {
        metrics_buf_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        metrics_buf_printf(b, "process_open_fds %ld\n", fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        metrics_buf_family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        metrics_buf_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                     (double)ru.ru_stime.tv_usec / 1e6;
        metrics_buf_family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
        metrics_buf_printf(b, "process_cpu_seconds_total %.6f\n", cpu);
    }
    metrics_buf_family(b, "process_start_time_seconds", "gauge", "Start time of the process since the epoch in seconds.");
    metrics_buf_printf(b, "process_start_time_seconds %.3f\n", g_start_time);
}

int observe_healthy(struct server *srv, const char **why)
{
    double t0 = metrics_now();
    /* A real query on the server's own connection; the name is not a valid id, so it is never found. */
    int rc = srv->st->user_exists(srv->st, "-healthz-");
    double ms = (metrics_now() - t0) * 1000.0;
    if (rc < 0) {
        *why = "store error";
        return 0;
    }
    if (ms > (double)srv->cfg->health_timeout_ms) {
        *why = "store too slow";
        return 0;
    }
    return 1;
}

int observe_ready(const struct server *srv)
{
    return !srv->stopping && srv->n_ymsg_lis > 0;
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype, const char *body,
                  size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    /* HEAD gets the headers only; evhttp leaves the body out itself. */
    evbuffer_add(buf, body, len);
    evhttp_send_reply(req, code, reason, buf);
    evbuffer_free(buf);
}

static void health_reply(struct evhttp_request *req, int healthy, const char *why)
{
    if (healthy) reply(req, 200, "OK", "text/plain", "ok\n", 3);
    else {
        char body[64];
        int n = snprintf(body, sizeof body, "unhealthy: %s\n", why);
        log_event(LOG_WARN, NULL, NULL, "healthz_failed", 503, "%s", why);
        reply(req, 503, "Service Unavailable", "text/plain", body, (size_t)n);
    }
}

/* A /healthz probe on the store worker (PostgreSQL: the loop's connection is never used, so a stuck
 * store stalls nobody).  Answered by the probe, or by the timer at health_timeout_ms ("store too slow")
 * if the probe takes longer; the job's callback frees it either way. */
struct health_probe {
    struct health_probe *prev, *next; /* g_probes, oldest first */
    struct server *srv;           /* config */
    struct http_server *hs;       /* the front whose connection guard carries our close callback, or NULL */
    struct evhttp_request *req;   /* NULL once answered, or freed with its connection */
    struct event *timer;          /* the health_timeout_ms deadline */
    double t0;                    /* when the probe was queued (metrics_now) */
};

/* Probes in flight, oldest first (the worker runs them in order).  While the oldest is overdue the store
 * is known to be slow: a new /healthz says so at once instead of queueing another probe behind it (a
 * monitor polling a stuck store must not fill the worker's queue). */
static struct health_probe *g_probes, *g_probes_tail;

static int health_run(struct store *st, void *arg)
{
    (void)arg;
    /* A real query; the name is not a valid id, so it is never found. */
    return st->user_exists(st, "-healthz-");
}

/* The probe's connection is closing: an attached request is freed with it right after this. */
static void health_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct health_probe *p = arg;
    if (p->req && evhttp_request_get_connection(p->req) == evcon) p->req = NULL;
    /* else detached: replying frees it */
}

static void health_answer(struct health_probe *p, int healthy, const char *why)
{
    if (!p->req) return;
    struct evhttp_connection *evcon = evhttp_request_get_connection(p->req);
    if (evcon && (!p->hs || http_set_closecb(p->hs, p->req, NULL, NULL) < 0))
        evhttp_connection_set_closecb(evcon, NULL, NULL);
    health_reply(p->req, healthy, why);
    p->req = NULL;
    if (p->timer) evtimer_del(p->timer);
}

static void health_late(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    health_answer(arg, 0, "store too slow");
}

static void health_done(void *arg, int rc)
{
    struct health_probe *p = arg;
    if (p->prev) p->prev->next = p->next;
    else g_probes = p->next;
    if (p->next) p->next->prev = p->prev;
    else g_probes_tail = p->prev;
    double ms = (metrics_now() - p->t0) * 1000.0;
    if (rc < 0) health_answer(p, 0, "store error");
    else if (ms > (double)p->srv->cfg->health_timeout_ms) health_answer(p, 0, "store too slow");
    else health_answer(p, 1, "");
    if (p->timer) event_free(p->timer);
    free(p);
}

static void serve_health(struct evhttp_request *req, struct server *srv, struct http_server *hs)
{
    const char *why = "";
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct health_probe *p = srv->sa && evcon ? calloc(1, sizeof *p) : NULL;
    if (!p) { /* SQLite (a few microseconds of local I/O), or out of memory: on the loop */
        int healthy = observe_healthy(srv, &why); /* sets why: before the call that reads it */
        health_reply(req, healthy, why);
        return;
    }
    long ms = srv->cfg->health_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (g_probes && (metrics_now() - g_probes->t0) * 1000.0 > (double)ms) {
        free(p);
        health_reply(req, 0, "store too slow");
        return;
    }
    p->srv = srv;
    p->hs = hs;
    p->req = req;
    p->t0 = metrics_now();
    if (!(p->timer = evtimer_new(srv->base, health_late, p)) || evtimer_add(p->timer, &tv) < 0) {
        if (p->timer) event_free(p->timer);
        free(p);
        health_reply(req, 0, "out of memory");
        return;
    }
    if (!hs || http_set_closecb(hs, req, health_conn_close, p) < 0) evhttp_connection_set_closecb(evcon, health_conn_close, p);
    p->prev = g_probes_tail;
    if (g_probes_tail) g_probes_tail->next = p;
    else g_probes = p;
    g_probes_tail = p;
    if (store_async_run(srv->sa, srv->st, health_run, health_done, p) < 0) {
        health_answer(p, 0, "out of memory");
        health_done(p, STORE_ERR); /* unlinks and frees (answered already) */
    }
}

static void serve_ready(struct evhttp_request *req, struct server *srv)
{
    if (observe_ready(srv)) reply(req, 200, "OK", "text/plain", "ready\n", 6);
    else reply(req, 503, "Service Unavailable", "text/plain", srv->stopping ? "draining\n" : "not listening\n",
               srv->stopping ? 9 : 14);
}

static void on_metrics_request(struct evhttp_request *req, void *arg)
{
    struct observe *o = arg;
    const char *uri = evhttp_request_get_uri(req);
    size_t plen = strcspn(uri, "?");
    if (plen == 8 && !strncmp(uri, "/metrics", 8)) {
        struct metrics_buf b = {0};
        observe_page(o->srv, &b);
        if (b.err) evhttp_send_error(req, 500, "Internal Server Error");
        else reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
        metrics_buf_free(&b);
    } else if (plen == 8 && !strncmp(uri, "/healthz", 8)) {
        serve_health(req, o->srv, NULL);
    } else if (plen == 7 && !strncmp(uri, "/readyz", 7)) {
        serve_ready(req, o->srv);
    } else {
        reply(req, 404, "Not Found", "text/plain", "not found\n", 10);
    }
}

static void http_health(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    struct server *srv = arg;
    serve_health(req, srv, srv->http);
}

static void http_ready(struct evhttp_request *req, const char *path, const char *query, void *arg)
{
    serve_ready(req, arg);
}

int observe_register(struct http_server *hs, struct server *srv)
{
    if (!hs) return 0;
    if (http_register(hs, "/healthz", http_health, srv) < 0 || http_register(hs, "/readyz", http_ready, srv) < 0)
        return -1;
    return 0;
}

struct observe *observe_start(struct server *srv, char *err, size_t errlen)
{
    g_start_time = (double)time(NULL);
    metrics_set_label_cap((size_t)srv->cfg->metrics_max_labels);
    struct observe *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->srv = srv;
    if (!srv->cfg->metrics_listen[0]) return o;
    char host[256];
    int port;
    if (config_split_hostport(srv->cfg->metrics_listen, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "metrics_listen: invalid address \"%.200s\"", srv->cfg->metrics_listen);
        free(o);
        return NULL;
    }
    o->http = evhttp_new(srv->base);
    if (!o->http) {
        snprintf(err, errlen, "evhttp_new failed");
        free(o);
        return NULL;
    }
    evhttp_set_gencb(o->http, on_metrics_request, o);
    evhttp_set_max_headers_size(o->http, 8192);
    evhttp_set_max_body_size(o->http, 0);
    evhttp_set_timeout(o->http, (int)srv->cfg->http_timeout);
    evhttp_set_allowed_methods(o->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    if (!evhttp_bind_socket_with_handle(o->http, host, (ev_uint16_t)port)) {
        snprintf(err, errlen, "metrics_listen %.200s: cannot listen", srv->cfg->metrics_listen);
        evhttp_free(o->http);
        free(o);
        return NULL;
    }
    return o;
}

void observe_free(struct observe *o)
{
    if (!o) return;
    if (o->http) evhttp_free(o->http);
    free(o);
}
