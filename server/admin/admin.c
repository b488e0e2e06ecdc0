/* The control socket; see admin.h. */
#include "admin.h"
#include "admin_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <time.h>

#include "accept_guard.h"
#include "auth.h"
#include "delivery.h"
#include "log.h"
#include "login_ymsg.h"
#include "sessions.h"
#include "store_async.h"

#define ADMIN_MAX_ARGS 8            /* words in a request */
#define ADMIN_MAX_OUTPUT (64u << 10) /* reply bytes queued to a client that does not read: then it is closed */

struct admin_conn {
    struct admin *a;            /* owner */
    struct bufferevent *bev;    /* the unix socket */
    struct admin_conn *prev;    /* list of open connections */
    struct admin_conn *next;
    int closing;                /* no more requests: freed once the reply is out */
    int waiting;                /* a request waits for a store job: later lines wait in the input */
    int in_request;             /* run_line() is on the stack (a job answered inline goes on there) */
    int dead;                   /* freed while waiting: the job's completion frees the struct */
};

struct admin {
    struct server *srv;         /* the server the commands act on */
    struct evconnlistener *lis; /* listening socket */
    struct admin_conn *conns;   /* open connections */
    size_t nconns;              /* their number */
    admin_reload_fn reload;     /* `reload`: the server's reload (main.c), or NULL */
    time_t started;             /* wall time the server started (stats) */
    double started_mono;        /* ... and on the monotonic clock */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* socket file (removed at exit) */
};

/* ------------------------------------------------------------------------------------------------
 * Commands: one entry each.  A handler writes its data lines ("- ...") and exactly one status line.
 * ---------------------------------------------------------------------------------------------- */

static void reply(struct admin_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct admin_conn *c, const char *fmt, ...)
{
    if (!c->bev) return; /* the client went while its request waited */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(out, fmt, ap);
    va_end(ap);
    evbuffer_add(out, "\n", 1);
}

struct admin_cmd {
    const char *name;           /* first word of the request */
    int min_args, max_args;     /* arguments after it */
    int rest;                   /* 1: the rest of the line is the one argument (spaces kept) */
    const char *usage;          /* for help and errors */
    void (*fn)(struct admin_conn *c, int argc, char **argv);
};

static void cmd_help(struct admin_conn *c, int argc, char **argv);

static void cmd_ping(struct admin_conn *c, int argc, char **argv)
{
    reply(c, "ok pong");
}

static void conn_free(struct admin_conn *c);
static void on_read(struct bufferevent *bev, void *arg);

/* A `revoke` waiting for the store's answer (does the account still exist?). */
struct revoke_job {
    struct admin_conn *c;           /* the request's connection (dead: gone meanwhile) */
    char name[NAME_MAX_LEN + 1];    /* the account */
    int exists;                     /* the store's answer: 1, 0 or STORE_ERR */
};

static int revoke_job_run(struct store *st, void *arg)
{
    struct revoke_job *j = arg;
    j->exists = st->user_exists(st, j->name);
    return 0;
}

static void revoke_done(void *arg, int rc)
{
    struct revoke_job *j = arg;
    struct admin_conn *c = j->c;
    c->waiting = 0;
    if (c->dead) { /* the client (or the whole control socket) went meanwhile: nothing to answer */
        free(c);
        free(j);
        return;
    }
    struct server *srv = c->a->srv;
    int ymsg = login_revoke(srv, j->name, j->exists == 0);
    size_t tokens = 0, cookies = 0;
    size_t amf = auth_revoke_user(srv->auth, j->name, &tokens, &cookies);
    log_event(LOG_INFO, NULL, j->name, "revoke", 0, "ymsg=%d amf=%zu tokens=%zu cookies=%zu", ymsg, amf, tokens,
              cookies);
    reply(c, "ok revoked %s ymsg=%d amf=%zu tokens=%zu cookies=%zu", j->name, ymsg, amf, tokens, cookies);
    free(j);
    (void)rc;
    if (c->in_request) return; /* answered inline (SQLite): the read loop goes on */
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_free(c);
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
    on_read(c->bev, c); /* the lines that came while it waited */
}

/* Ends every session of a user: YMSG (kicked; buddies see a sign-off), AMF, tokens, crumbs and
 * cookies.  Used after `user passwd` and `user del`; harmless for a user with no sessions. */
static void cmd_revoke(struct admin_conn *c, int argc, char **argv)
{
    struct server *srv = c->a->srv;
    char name[NAME_MAX_LEN + 1];
    if (name_normalize(argv[1], strlen(argv[1]), name) < 0) {
        reply(c, "error invalid id");
        return;
    }
    struct revoke_job *j = calloc(1, sizeof *j);
    if (!j) {
        reply(c, "error out of memory");
        return;
    }
    j->c = c;
    memcpy(j->name, name, sizeof name);
    c->waiting = 1;
    /* Whether the account still exists: a store query, on the store worker with PostgreSQL. */
    if (store_async_run(srv->sa, srv->st, revoke_job_run, revoke_done, j) < 0) {
        c->waiting = 0;
        free(j);
        reply(c, "error out of memory");
    }
}

/* Wall-clock time of a monotonic instant (rl_now()), as ISO 8601 UTC. */
static void iso_time(double mono, char *out, size_t cap)
{
    time_t t = time(NULL) - (time_t)(rl_now() - mono);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *transport_name(const struct conn *c) { return c->tp && c->tp->name ? c->tp->name : "tcp"; }

/* Who is online: one data line per session, in the registry's order. */
static void cmd_online(struct admin_conn *c, int argc, char **argv)
{
    struct server *srv = c->a->srv;
    size_t pos = 0, n = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        struct conn *s = v;
        if (s->state != CONN_ONLINE) continue;
        char since[32];
        iso_time(s->online_at, since, sizeof since);
        reply(c, "- user=%s since=%s peer=%s transport=%s invisible=%d", s->user, since, s->peer, transport_name(s),
              s->invisible ? 1 : 0);
        n++;
    }
    reply(c, "ok %zu online", n);
}

static int arg_user(struct admin_conn *c, const char *arg, char name[NAME_MAX_LEN + 1])
{
    if (name_normalize(arg, strlen(arg), name) == 0) return 0;
    reply(c, "error invalid id");
    return -1;
}

/* Ends a user's YMSG session (as the real server's kick: 0x02 status -1, buddies see a sign-off) and
 * their AMF sessions.  The account stays usable: they may log in again. */
static void cmd_kick(struct admin_conn *c, int argc, char **argv)
{
    struct server *srv = c->a->srv;
    char name[NAME_MAX_LEN + 1];
    if (arg_user(c, argv[1], name) < 0) return;
    int ymsg = login_revoke(srv, name, 0); /* the account stays */
    size_t tokens = 0, cookies = 0;
    size_t amf = auth_revoke_user(srv->auth, name, &tokens, &cookies);
    log_event(LOG_INFO, NULL, name, "kick", 0, "by the administrator: ymsg=%d amf=%zu", ymsg, amf);
    if (!ymsg && !amf) reply(c, "error %s is not online", name);
    else reply(c, "ok kicked %s ymsg=%d amf=%zu", name, ymsg, amf);
}

/* A system message (0x14: 5=to, 14=text, 97=1; Pidgin shows it as "Yahoo! system message for …",
 * libyahoo2 hands it to ext_yahoo_system_message) to every online session. */
static void cmd_broadcast(struct admin_conn *c, int argc, char **argv)
{
    struct server *srv = c->a->srv;
    const char *text = argv[1];
    size_t len = strlen(text), n = 0, failed = 0;
    if (len > (size_t)srv->cfg->max_message) {
        reply(c, "error text too long (%zu bytes; max_message is %ld)", len, srv->cfg->max_message);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            reply(c, "error control characters are not allowed in the text");
            return;
        }
    if (!admin_utf8_valid(text)) {
        reply(c, "error the text is not valid UTF-8");
        return;
    }
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        struct conn *s = v;
        if (s->state != CONN_ONLINE) continue;
        struct ymsg_builder *b = delivery_begin(s, YMSG_SVC_SYSMESSAGE, YMSG_PKT_DEFAULT);
        ymsg_build_str(b, YMSG_KEY_TO, s->user);
        ymsg_build_str(b, YMSG_KEY_MSG, text);
        ymsg_build_str(b, YMSG_KEY_UTF8, "1");
        if (delivery_send(s) == 0) n++;
        else failed++;
    }
    log_event(LOG_INFO, NULL, NULL, "broadcast", (long)n, "%s", text);
    reply(c, "ok sent to %zu session(s)%s", n, failed ? " (some could not take it: slow or closing)" : "");
}

/* Lifts the login throttle's lock on an account and forgets its failures. */
static void cmd_unlock(struct admin_conn *c, int argc, char **argv)
{
    struct server *srv = c->a->srv;
    char name[NAME_MAX_LEN + 1];
    if (arg_user(c, argv[1], name) < 0) return;
    struct login_throttle *lt = auth_throttle(srv->auth);
    int was = lt_locked(lt, name, rl_now());
    lt_unlock(lt, name);
    log_event(LOG_INFO, NULL, name, "unlock", was, "by the administrator%s", was ? "" : " (was not locked)");
    reply(c, "ok %s %s", name, was ? "unlocked" : "was not locked (failures cleared)");
}

static void cmd_stats(struct admin_conn *c, int argc, char **argv)
{
    struct server *srv = c->a->srv;
    size_t pos = 0, tcp = 0, ws = 0;
    const char *k;
    void *v;
    while (hmap_next(&srv->online, &pos, &k, &v)) {
        const struct conn *s = v;
        if (s->state != CONN_ONLINE) continue;
        if (strcmp(transport_name(s), "websocket") == 0) ws++;
        else tcp++;
    }
    char since[32];
    struct tm tm;
    gmtime_r(&c->a->started, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    reply(c, "- pid=%ld started=%s uptime_s=%.0f", (long)getpid(), since, rl_now() - c->a->started_mono);
    reply(c, "- online=%zu online_tcp=%zu online_websocket=%zu ymsg_connections=%zu", tcp + ws, tcp, ws,
          srv->nconns);
    reply(c, "- flood_dropped=%llu ctl_connections=%zu", (unsigned long long)srv->dropped_flood, c->a->nconns);
    reply(c, "ok");
}

static void cmd_reload(struct admin_conn *c, int argc, char **argv)
{
    char report[1024];
    if (!c->a->reload) {
        reply(c, "error reload is not available");
        return;
    }
    int rc = c->a->reload(c->a->srv, report, sizeof report);
    reply(c, "%s %s", rc == 0 ? "ok" : "error", report);
}

/* A consistent copy of the store while the server runs (store.h `backup`).  The path is the server's:
 * absolute (the command line makes a relative one absolute). */
static void cmd_backup(struct admin_conn *c, int argc, char **argv)
{
    struct store *st = c->a->srv->st;
    char err[512] = "";
    if (argv[1][0] != '/') {
        reply(c, "error the backup file must be an absolute path");
        return;
    }
    if (!st->backup) {
        reply(c, "error this store backend cannot make a backup itself");
        return;
    }
    if (st->backup(st, argv[1], err, sizeof err) != STORE_OK) {
        reply(c, "error %s", err[0] ? err : "backup failed");
        return;
    }
    log_event(LOG_INFO, NULL, NULL, "ctl_backup", 0, "%s", argv[1]);
    reply(c, "ok backup written to %s", argv[1]);
}

/* rest: the command takes the rest of the line as its one argument (spaces kept). */
static const struct admin_cmd commands[] = {
    {"help", 0, 0, 0, "help", cmd_help},
    {"ping", 0, 0, 0, "ping", cmd_ping},
    {"revoke", 1, 1, 0, "revoke USER", cmd_revoke},
    {"online", 0, 0, 0, "online", cmd_online},
    {"kick", 1, 1, 0, "kick USER", cmd_kick},
    {"broadcast", 1, 1, 1, "broadcast TEXT", cmd_broadcast},
    {"unlock", 1, 1, 0, "unlock USER", cmd_unlock},
    {"stats", 0, 0, 0, "stats", cmd_stats},
    {"reload", 0, 0, 0, "reload", cmd_reload},
    {"backup", 1, 1, 0, "backup FILE", cmd_backup},
};

static void cmd_help(struct admin_conn *c, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) reply(c, "- %s", commands[i].usage);
    reply(c, "ok");
}

int admin_command_arity(const char *name, int *min_args, int *max_args)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name)) {
            *min_args = commands[i].min_args;
            *max_args = commands[i].max_args;
            return (int)i;
        }
    return -1;
}

static void run_line(struct admin_conn *c, char *line)
{
    char *argv[ADMIN_MAX_ARGS];
    int lo, hi;
    /* A command that takes free text: everything after its name and one blank. */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char *text = commands[i].rest ? admin_rest(line, commands[i].name) : NULL;
        if (text) {
            argv[0] = (char *)commands[i].name;
            argv[1] = text;
            if (!*text) reply(c, "error usage: %s", commands[i].usage);
            else commands[i].fn(c, 2, argv);
            return;
        }
    }
    int argc = admin_split(line, argv, ADMIN_MAX_ARGS);
    if (argc < 0) {
        reply(c, "error too many words");
        return;
    }
    if (!argc) {
        reply(c, "error empty request (try help)");
        return;
    }
    int i = admin_command_arity(argv[0], &lo, &hi);
    if (i >= 0) {
        if (argc - 1 < lo || argc - 1 > hi) reply(c, "error usage: %s", commands[i].usage);
        else commands[i].fn(c, argc, argv);
        return;
    }
    /* Printable only, so the reply (and the log) never carries control bytes from the request. */
    char shown[33];
    size_t n = 0;
    for (const char *p = argv[0]; *p && n < sizeof shown - 1; p++) shown[n++] = (*p > 32 && *p < 127) ? *p : '?';
    shown[n] = 0;
    reply(c, "error unknown command %s (try help)", shown);
}

/* ------------------------------------------------------------------------------------------------
 * Connections
 * ---------------------------------------------------------------------------------------------- */

static void conn_free(struct admin_conn *c)
{
    struct admin *a = c->a;
    if (c->prev) c->prev->next = c->next;
    else a->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    a->nconns--;
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->waiting) c->dead = 1; /* its store job still holds it: revoke_done frees it */
    else free(c);
}

/* No more requests; the connection goes once what is queued has been written. */
static void conn_finish(struct admin_conn *c)
{
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
    /* (a request still waiting answers first: revoke_done) */
    if (!c->waiting && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_free(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct admin_conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) conn_free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct admin_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t max = (size_t)c->a->srv->cfg->ctl_max_line;
    while (!c->closing && !c->waiting) {
        size_t n = 0;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
        if (!line) {
            if (evbuffer_get_length(in) >= max) { /* no newline within the limit */
                reply(c, "error line too long (at most %zu bytes)", max);
                conn_finish(c);
            }
            return;
        }
        if (n + 1 > max) {
            reply(c, "error line too long (at most %zu bytes)", max);
            free(line);
            conn_finish(c);
            return;
        }
        c->in_request = 1;
        run_line(c, line);
        c->in_request = 0;
        free(line);
        if (c->waiting) bufferevent_disable(bev, EV_READ); /* revoke_done reads on */
        if (evbuffer_get_length(bufferevent_get_output(bev)) > ADMIN_MAX_OUTPUT) conn_finish(c);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct admin_conn *c = arg;
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        conn_finish(c); /* the client is done; its last replies still go out */
        return;
    }
    conn_free(c); /* error, or idle for ctl_idle_timeout (e.g. a line that never ends) */
}

/* The peer must be the server's own user or root (the file mode says the same; this holds even if
 * the mode is changed or the socket is passed on). */
static int peer_allowed(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) return 0;
    return cr.uid == 0 || cr.uid == geteuid();
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    struct admin *a = arg;
    const struct config *cfg = a->srv->cfg;
    const char *refuse = NULL;
    if (!peer_allowed(fd)) refuse = "error permission denied\n";
    else if (a->nconns >= (size_t)cfg->ctl_max_conns) refuse = "error busy\n";
    if (refuse) {
        /* Best effort, never blocking: a new socket's buffer takes these few bytes. */
        ssize_t w = send(fd, refuse, strlen(refuse), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)w;
        log_event(LOG_WARN, NULL, NULL, "ctl_refused", 0, "%.*s", (int)strlen(refuse) - 1, refuse);
        evutil_closesocket(fd);
        return;
    }
    struct admin_conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = c ? bufferevent_socket_new(evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!bev) {
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->a = a;
    c->bev = bev;
    c->next = a->conns;
    if (a->conns) a->conns->prev = c;
    a->conns = c;
    a->nconns++;
    /* Reading stops at the line limit, so a line that never ends costs at most that much memory. */
    bufferevent_setwatermark(bev, EV_READ, 0, (size_t)cfg->ctl_max_line);
    struct timeval idle = {cfg->ctl_idle_timeout, 0};
    bufferevent_set_timeouts(bev, &idle, &idle);
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------------------------------------------
 * Life cycle
 * ---------------------------------------------------------------------------------------------- */

static int socket_path(const char *data_dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", data_dir, ADMIN_SOCKET_NAME);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Connects to path: the fd, or -1 with errno. */
static int connect_path(const char *path)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

struct admin *admin_start(struct server *srv, char *err, size_t errlen)
{
    struct admin *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->srv = srv;
    a->started = time(NULL);
    a->started_mono = rl_now();
    if (socket_path(srv->cfg->data_dir, a->path, sizeof a->path) < 0) {
        snprintf(err, errlen, "control socket: data directory path too long for a unix socket (%zu bytes at most)",
                 sizeof a->path - sizeof ADMIN_SOCKET_NAME - 1);
        free(a);
        return NULL;
    }
    int probe = connect_path(a->path);
    if (probe >= 0) {
        close(probe);
        snprintf(err, errlen, "control socket %s answers: another ymsgd runs on this data directory", a->path);
        free(a);
        return NULL;
    }
    if (errno != ENOENT && unlink(a->path) < 0 && errno != ENOENT) { /* stale, from a server that died */
        snprintf(err, errlen, "control socket %s: cannot remove the stale file: %s", a->path, strerror(errno));
        free(a);
        return NULL;
    }
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", a->path);
    /* Created 0600 from the start (no window in which others could connect). */
    mode_t old = umask(0177);
    a->lis = evconnlistener_new_bind(srv->base, on_accept, a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
                                     (struct sockaddr *)&sun, (int)sizeof sun);
    umask(old);
    if (!a->lis || chmod(a->path, 0600) < 0) {
        snprintf(err, errlen, "control socket %s: %s", a->path, strerror(errno));
        if (a->lis) evconnlistener_free(a->lis);
        free(a);
        return NULL;
    }
    /* Out of descriptors: pause like the other listeners instead of spinning on accept. */
    if (accept_guard_attach(a->lis, srv->cfg->accept_pause_ms, "admin") < 0) {
        snprintf(err, errlen, "control socket: out of memory");
        evconnlistener_free(a->lis);
        unlink(a->path);
        free(a);
        return NULL;
    }
    return a;
}

void admin_set_reload(struct admin *a, admin_reload_fn fn) { a->reload = fn; }

void admin_free(struct admin *a)
{
    if (!a) return;
    while (a->conns) conn_free(a->conns);
    accept_guard_detach(a->lis);
    evconnlistener_free(a->lis);
    unlink(a->path);
    free(a);
}

/* ------------------------------------------------------------------------------------------------
 * Client side
 * ---------------------------------------------------------------------------------------------- */

int admin_request(const char *data_dir, const char *line, char *out, size_t cap, int timeout_s)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    out[0] = 0;
    if (socket_path(data_dir, path, sizeof path) < 0) {
        snprintf(out, cap, "data directory path too long for the control socket");
        return -2;
    }
    int fd = connect_path(path);
    if (fd < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED) return -1; /* no server running */
        snprintf(out, cap, "%s: %s", path, strerror(errno));
        return -2;
    }
    size_t n = strlen(line);
    if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        snprintf(out, cap, "%s: %s", path, strerror(errno));
        close(fd);
        return -2;
    }
    shutdown(fd, SHUT_WR);
    size_t used = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_s * 1000);
        if (r <= 0) {
            snprintf(out, cap, "%s: no answer within %d s", path, timeout_s);
            close(fd);
            return -2;
        }
        if (used + 1 >= cap) break;
        ssize_t got = recv(fd, out + used, cap - used - 1, 0);
        if (got <= 0) break;
        used += (size_t)got;
        out[used] = 0;
    }
    close(fd);
    out[used] = 0;
    while (used && out[used - 1] == '\n') out[--used] = 0;
    const char *last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    if (!strncmp(last, "ok", 2)) return 0;
    if (!strncmp(last, "error", 5)) return 1;
    if (!out[0]) snprintf(out, cap, "%s: the server closed the connection without an answer", path);
    return -2;
}
