/* The client's driver: a plain POSIX socket and poll() around the sans-IO session, plus libcurl for
 * the token login (ymsg_http_get). */
#include "client.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

void drv_error(struct drv *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    if (!d->quiet)
        fprintf(stderr, "ymsg: %s\n", d->err);
}

int read_credentials(const char *file, const char *env_user, const char *env_pass, const char *account, char *user,
                     size_t ucap, char *pass, size_t pcap)
{
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f) {
            fprintf(stderr, "ymsg: %s: %s\n", file, strerror(errno));
            return -1;
        }
        char line[1024] = "";
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        fclose(f);
        chomp(line);
        char *colon = strchr(line, ':');
        if (!colon || colon == line || strlen(line) >= ucap + pcap) {
            fprintf(stderr, "ymsg: %s: expected one line user:password\n", file);
            return -1;
        }
        *colon = 0;
        snprintf(user, ucap, "%s", line);
        snprintf(pass, pcap, "%s", colon + 1);
        memset(line, 0, sizeof line);
        return 0;
    }
    const char *u = env_user ? getenv(env_user) : NULL, *p = env_pass ? getenv(env_pass) : NULL;
    if ((!u || !*u) && account && *account)
        u = account; /* config "account": the id is known, the password comes from the env or the prompt */
    if (u && *u && p) {
        snprintf(user, ucap, "%s", u);
        snprintf(pass, pcap, "%s", p);
        return 0;
    }
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty) {
        fprintf(stderr, "ymsg: no credentials: use --credentials FILE, YMSG_USER/YMSG_PASSWORD or a terminal\n");
        return -1;
    }
    if (u && *u) {
        snprintf(user, ucap, "%s", u);
    } else {
        fprintf(tty, "Yahoo ID: ");
        fflush(tty);
        if (!fgets(user, (int)ucap, tty)) { fclose(tty); return -1; }
        chomp(user);
    }
    fprintf(tty, "Password: ");
    fflush(tty);
    struct termios old, quiet;
    int have = tcgetattr(fileno(tty), &old) == 0;
    if (have) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    char *ok = fgets(pass, (int)pcap, tty);
    if (have)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fprintf(tty, "\n");
    fclose(tty);
    if (!ok)
        return -1;
    chomp(pass);
    return user[0] ? 0 : -1;
}

static void log_cb(void *ud, int level, const char *msg)
{
    struct drv *d = ud;
    if (d->quiet) { /* the TUI owns the terminal: keep the last error for its status line */
        if (level >= YMSG_LOG_ERROR)
            snprintf(d->err, sizeof d->err, "%s", msg);
        return;
    }
    if (d->verbose >= 2 || (d->verbose == 1 && level >= YMSG_LOG_INFO) || level >= YMSG_LOG_ERROR)
        fprintf(stderr, "ymsg[%s]: %s\n", d->user, msg);
}

static void packet_cb(void *ud, int dir, const struct ymsg_packet *pkt)
{
    struct drv *d = ud;
    if (d->verbose >= 3 && !d->quiet) {
        char buf[4096];
        ymsg_packet_format(pkt, buf, sizeof buf);
        fprintf(stderr, "%s %s", dir ? ">>" : "<<", buf);
    }
    if (d->on_packet)
        d->on_packet(d->packet_ud, dir, pkt);
}

static int tcp_connect(struct drv *d, const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0) {
        drv_error(d, "server unreachable: %s:%s: %s", host, port, gai_strerror(r));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int err = 0;
            socklen_t el = sizeof err;
            if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                break;
            if (err)
                errno = err;
            else
                errno = ETIMEDOUT;
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        drv_error(d, "server unreachable: cannot connect to %s:%s: %s", host, port, strerror(errno));
    freeaddrinfo(res);
    return fd;
}

int drv_open(struct drv *d, const struct opts *o, const char *user, const char *password, uint32_t status,
             const char *msg, int away)
{
    ymsg_packet_fn hook = d->on_packet;
    void *hook_ud = d->packet_ud;
    int quiet = d->quiet;
    cx_free(d);
    memset(d, 0, sizeof *d);
    d->on_packet = hook;
    d->packet_ud = hook_ud;
    d->quiet = quiet;
    d->fd = -1;
    d->o = o;
    d->verbose = o->verbose;
    snprintf(d->user, sizeof d->user, "%s", user);
    d->http.ca_file = o->ca_file;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = user;
    cfg.password = password;
    cfg.initial_status = status;
    cfg.initial_msg = msg;
    cfg.initial_away = away;
    if (o->login_url)
        cfg.login_url = o->login_url;
    cfg.log = log_cb;
    cfg.log_ud = d;
    cfg.log_level = o->verbose >= 2 ? YMSG_LOG_DEBUG : YMSG_LOG_INFO;
    cfg.on_packet = packet_cb;
    cfg.packet_ud = d;
    d->s = ymsg_session_new(&cfg);
    if (!d->s) {
        drv_error(d, "cannot create a session (bad user name?)");
        return EXIT_USAGE;
    }
    d->fd = tcp_connect(d, o->host, o->port, 10000);
    if (d->fd < 0) {
        d->net_error = 1;
        return EXIT_NETWORK;
    }
    ymsg_session_start(d->s, now_ms());
    return 0;
}

static int flush_out(struct drv *d)
{
    const uint8_t *out;
    size_t n;
    while ((n = ymsg_session_output(d->s, &out)) > 0) {
        ssize_t w = send(d->fd, out, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        ymsg_session_consume(d->s, (size_t)w);
    }
    return 0;
}

static void lost(struct drv *d, const char *why)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    d->net_error = 1;
    ymsg_session_close(d->s, why);
}

int drv_step(struct drv *d, int extra_fd, int timeout_ms, int *extra_ready)
{
    if (extra_ready)
        *extra_ready = 0;
    if (d->fd < 0)
        return EXIT_NETWORK;
    if (flush_out(d) < 0) {
        lost(d, "connection lost while writing");
        return EXIT_NETWORK;
    }
    uint64_t now = now_ms();
    uint64_t due = ymsg_session_timeout(d->s, now);
    if (due < (uint64_t)timeout_ms)
        timeout_ms = (int)due;
    if (cx_active(d) && timeout_ms > 200)
        timeout_ms = 200; /* file transfers report from their threads: look at them often */
    const uint8_t *out;
    struct pollfd p[2] = {{.fd = d->fd, .events = POLLIN | (ymsg_session_output(d->s, &out) ? POLLOUT : 0)},
                          {.fd = extra_fd, .events = POLLIN}};
    int n = poll(p, extra_fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno != EINTR) {
        lost(d, "poll failed");
        return EXIT_NETWORK;
    }
    if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        uint8_t buf[16384];
        for (;;) {
            ssize_t r = recv(d->fd, buf, sizeof buf, 0);
            if (r > 0) {
                ymsg_session_feed(d->s, buf, (size_t)r);
                if ((size_t)r < sizeof buf)
                    break;
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
            lost(d, r == 0 ? "server closed the connection" : "connection reset");
            return EXIT_NETWORK;
        }
    }
    if (extra_ready && n > 0 && extra_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
        *extra_ready = 1;
    ymsg_session_tick(d->s, now_ms());
    cx_poll(d);
    if (flush_out(d) < 0) {
        lost(d, "connection lost while writing");
        return EXIT_NETWORK;
    }
    return 0;
}

const struct ymsg_event *drv_next_event(struct drv *d)
{
    const struct ymsg_event *ev;
    while ((ev = ymsg_session_next_event(d->s))) {
        if (ev->type >= YMSG_EV_FILE_OFFER && ev->type <= YMSG_EV_FILE_DONE)
            cx_on_event(d, ev);
        if (ev->type != YMSG_EV_HTTP_GET)
            return ev;
        struct ymsg_http_result res;
        if (ymsg_http_get(&d->http, ev->text, &res) != 0) {
            ymsg_session_http_response(d->s, 0, NULL, 0, "out of memory", 13);
            continue;
        }
        if (res.status == 0)
            ymsg_session_http_response(d->s, 0, NULL, 0, res.error, strlen(res.error));
        else
            ymsg_session_http_response(d->s, res.status, res.headers, res.headers_len, res.body, res.body_len);
        ymsg_http_result_free(&res);
    }
    return NULL;
}

int drv_login(struct drv *d, int timeout_ms, void (*cb)(void *, const struct ymsg_event *), void *ud)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d))) {
            if (cb)
                cb(ud, ev);
            if (ev->type == YMSG_EV_LOGGED_IN)
                return 0;
            if (ev->type == YMSG_EV_LOGIN_FAILED) {
                if (ev->flags & YMSG_EVF_NETWORK) {
                    d->net_error = 1;
                    if (!d->o->login_url) /* the default (Yahoo's) is gone: say how to point elsewhere */
                        drv_error(d, "login failed: %s (set the login server with --login-url URL, "
                                     "YMSG_LOGIN_URL or login_url in ~/.config/ymsg/config)", ev->text);
                    else
                        drv_error(d, "login failed: %s", ev->text);
                } else {
                    drv_error(d, "login failed: %s", ev->text);
                }
                return ev->flags & YMSG_EVF_NETWORK ? EXIT_NETWORK : EXIT_LOGIN;
            }
            if (ev->type == YMSG_EV_DISCONNECTED) {
                drv_error(d, "disconnected during login: %s", ev->text);
                return EXIT_NETWORK;
            }
        }
        if (ymsg_session_state(d->s) == YMSG_SS_CLOSED)
            return EXIT_NETWORK;
        uint64_t now = now_ms();
        if (now >= end) {
            drv_error(d, "login timed out");
            return EXIT_NETWORK;
        }
        if (drv_step(d, -1, (int)(end - now < 500 ? end - now : 500), NULL) != 0) {
            while ((ev = drv_next_event(d)))
                if (cb)
                    cb(ud, ev);
            drv_error(d, "connection lost during login");
            return EXIT_NETWORK;
        }
    }
}

void drv_close(struct drv *d)
{
    if (d->fd >= 0) {
        uint64_t end = now_ms() + 2000;
        const uint8_t *out;
        while (ymsg_session_output(d->s, &out) && now_ms() < end) {
            if (flush_out(d) < 0)
                break;
            if (ymsg_session_output(d->s, &out)) {
                struct pollfd p = {.fd = d->fd, .events = POLLOUT};
                poll(&p, 1, 100);
            }
        }
        shutdown(d->fd, SHUT_WR);
        /* let the server read what we sent before the socket goes away */
        char buf[4096];
        struct pollfd p = {.fd = d->fd, .events = POLLIN};
        while (now_ms() < end && poll(&p, 1, 200) == 1 && recv(d->fd, buf, sizeof buf, 0) > 0)
            ;
        close(d->fd);
        d->fd = -1;
    }
    cx_free(d);
    ymsg_session_free(d->s);
    d->s = NULL;
}
