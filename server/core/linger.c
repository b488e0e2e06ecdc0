/* Lingering close; see linger.h. */
#include "linger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "server.h"

struct linger_sock {
    struct linger_sock *prev, *next; /* linger_list */
    struct event *ev;                /* read or deadline on the duplicate descriptor */
    struct timeval deadline;         /* the loop's time at which it closes anyway */
    size_t left;                     /* bytes still accepted before it closes */
};

static struct linger_sock *linger_list; /* every lingering socket */
static size_t linger_n;                 /* entries in linger_list */

size_t linger_count(void) { return linger_n; }

static void linger_end(struct linger_sock *ls)
{
    evutil_socket_t fd = event_get_fd(ls->ev);
    event_free(ls->ev);
    close(fd);
    if (ls->prev) ls->prev->next = ls->next;
    else linger_list = ls->next;
    if (ls->next) ls->next->prev = ls->prev;
    linger_n--;
    free(ls);
}

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
    struct linger_sock *ls = arg;
    if (what & EV_TIMEOUT) {
        linger_end(ls);
        return;
    }
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (size_t)n >= ls->left) { /* the peer's end (or a reset), or enough read */
            linger_end(ls);
            return;
        }
        ls->left -= (size_t)n;
    }
    /* Not EV_PERSIST with a timeout: that would restart the timeout on every read. */
    struct timeval now, rest;
    event_base_gettimeofday_cached(event_get_base(ls->ev), &now);
    if (!evutil_timercmp(&now, &ls->deadline, <)) {
        linger_end(ls);
        return;
    }
    evutil_timersub(&ls->deadline, &now, &rest);
    if (event_add(ls->ev, &rest) < 0) linger_end(ls);
}

void linger_socket(struct server *srv, int fd)
{
    const struct config *cfg = srv->cfg;
    struct linger lg;
    socklen_t ll = sizeof lg;
    if (fd < 0 || cfg->linger_ms <= 0 || cfg->linger_bytes <= 0) return;
    if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &ll) == 0 && lg.l_onoff && lg.l_linger == 0) return;
    if (linger_n >= (size_t)cfg->linger_max) {
        log_event(LOG_WARN, NULL, NULL, "linger_full", (long)linger_n, "linger_max=%ld: closed at once", cfg->linger_max);
        return;
    }
    /* Our side ends now (the peer reads the end after our last bytes); not connected: nothing to wait for. */
    if (shutdown(fd, SHUT_WR) != 0) return;
    struct linger_sock *ls = calloc(1, sizeof *ls);
    int dup = ls ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1; /* out of descriptors: closed at once */
    if (dup < 0 || fcntl(dup, F_SETFL, fcntl(dup, F_GETFL) | O_NONBLOCK) < 0 ||
        !(ls->ev = event_new(srv->base, dup, EV_READ, linger_cb, ls))) {
        if (dup >= 0) close(dup);
        free(ls);
        return;
    }
    struct timeval now, tv = {cfg->linger_ms / 1000, (cfg->linger_ms % 1000) * 1000};
    event_base_gettimeofday_cached(srv->base, &now);
    evutil_timeradd(&now, &tv, &ls->deadline);
    ls->left = (size_t)cfg->linger_bytes;
    if (event_add(ls->ev, &tv) < 0) {
        event_free(ls->ev);
        close(dup);
        free(ls);
        return;
    }
    ls->next = linger_list;
    if (linger_list) linger_list->prev = ls;
    linger_list = ls;
    linger_n++;
}

void linger_free_all(void)
{
    /* What has arrived is read first: only input after this moment can still reset a socket. */
    char buf[16384];
    while (linger_list) {
        evutil_socket_t fd = event_get_fd(linger_list->ev);
        while (recv(fd, buf, sizeof buf, 0) > 0) continue;
        linger_end(linger_list);
    }
}
