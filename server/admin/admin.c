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

#include "accept_guard.h"
#include "auth.h"
#include "log.h"
#include "login_ymsg.h"

#define ADMIN_MAX_ARGS 8            /* words in a request */
#define ADMIN_MAX_OUTPUT (64u << 10) /* reply bytes queued to a client that does not read: then it is closed */

struct admin_conn {
    struct admin *a;            /* owner */
    struct bufferevent *bev;    /* the unix socket */
    struct admin_conn *prev;    /* list of open connections */
    struct admin_conn *next;
    int closing;                /* no more requests: freed once the reply is out */
};

struct admin {
    struct server *srv;         /* the server the commands act on */
    struct evconnlistener *lis; /* listening socket */
    struct admin_conn *conns;   /* open connections */
    size_t nconns;              /* their number */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* socket file (removed at exit) */
};

/* ------------------------------------------------------------------------------------------------
 * Commands: one entry each.  A handler writes its data lines ("- ...") and exactly one status line.
 * ---------------------------------------------------------------------------------------------- */

static void reply(struct admin_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct admin_conn *c, const char *fmt, ...)
{
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
    const char *usage;          /* for help and errors */
    void (*fn)(struct admin_conn *c, int argc, char **argv);
};

static void cmd_help(struct admin_conn *c, int argc, char **argv);

static void cmd_ping(struct admin_conn *c, int argc, char **argv)
{
    reply(c, "ok pong");
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
    int ymsg = login_revoke(srv, name);
    size_t tokens = 0, cookies = 0;
    size_t amf = auth_revoke_user(srv->auth, name, &tokens, &cookies);
    log_event(LOG_INFO, NULL, name, "revoke", 0, "ymsg=%d amf=%zu tokens=%zu cookies=%zu", ymsg, amf, tokens,
              cookies);
    reply(c, "ok revoked %s ymsg=%d amf=%zu tokens=%zu cookies=%zu", name, ymsg, amf, tokens, cookies);
}

static const struct admin_cmd commands[] = {
    {"help", 0, 0, "help", cmd_help},
    {"ping", 0, 0, "ping", cmd_ping},
    {"revoke", 1, 1, "revoke USER", cmd_revoke},
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
    int argc = admin_split(line, argv, ADMIN_MAX_ARGS), lo, hi;
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
    free(c);
}

/* No more requests; the connection goes once what is queued has been written. */
static void conn_finish(struct admin_conn *c)
{
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_free(c);
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
    while (!c->closing) {
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
        run_line(c, line);
        free(line);
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
