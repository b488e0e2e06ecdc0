/* Service manager notifications; see notify.h. */
#include "notify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "server.h"

#define NOTIFY_STATUS_INTERVAL_S 5 /* STATUS= refresh: what `systemctl status` shows stays this fresh */

struct notify_state {
    struct server *srv;  /* counts for STATUS= */
    struct event *timer; /* periodic STATUS= (and WATCHDOG=1) */
    uint64_t watchdog;   /* WatchdogSec= in microseconds, 0 = none */
};

static struct notify_state notify_st;

static void notify_send(const char *msg)
{
    /* 0: keep NOTIFY_SOCKET, every later notification needs it (ymsgd starts no other program). */
    int rc = sd_notify(0, msg);
    if (rc < 0) log_event(LOG_WARN, NULL, NULL, "sd_notify_failed", -rc, "%s", msg);
}

static void notify_status(struct server *srv, const char *prefix)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%sSTATUS=%zu users online, %zu pager connections%s", prefix, srv->online.len,
             srv->nconns, srv->stopping ? ", stopping" : "");
    notify_send(msg);
}

static void notify_tick(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    notify_status(srv, notify_st.watchdog ? "WATCHDOG=1\n" : "");
}

void notify_ready(struct server *srv)
{
    if (!getenv("NOTIFY_SOCKET")) return; /* not under a service manager: no timer either */
    notify_st.srv = srv;
    if (sd_watchdog_enabled(0, &notify_st.watchdog) <= 0) notify_st.watchdog = 0;
    notify_status(srv, "READY=1\n");
    /* With a watchdog, ping at least twice per period (systemd's advice), else every few seconds. */
    uint64_t us = (uint64_t)NOTIFY_STATUS_INTERVAL_S * 1000000u;
    if (notify_st.watchdog && notify_st.watchdog / 2 < us) us = notify_st.watchdog / 2;
    struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
    notify_st.timer = event_new(srv->base, -1, EV_PERSIST, notify_tick, srv);
    if (notify_st.timer) event_add(notify_st.timer, &tv);
}

void notify_reloading(struct server *srv)
{
    /* MONOTONIC_USEC: Type=notify-reload (systemd >= 253) matches the reload to its request by it. */
    struct timespec ts;
    char msg[96];
    (void)srv;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
    notify_send(msg);
}

void notify_reloaded(struct server *srv)
{
    notify_status(srv, "READY=1\n");
}

void notify_stopping(struct server *srv)
{
    if (notify_st.timer) event_del(notify_st.timer);
    notify_status(srv, "STOPPING=1\n");
}

void notify_free(void)
{
    if (notify_st.timer) event_free(notify_st.timer);
    notify_st.timer = NULL;
}
