/* Pausing listeners on accept errors; see accept_guard.h. */
#include "accept_guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"

struct accept_guard {
    struct evconnlistener *lis;  /* the guarded listener */
    struct event *resume;        /* one-shot timer that re-enables it */
    long pause_ms;               /* length of a pause */
    char name[16];               /* listener name for the log */
    struct accept_guard *next;   /* list link */
};

static struct accept_guard *g_guards; /* every attached guard (a handful: one per listener) */

static struct accept_guard *find(struct evconnlistener *lis)
{
    for (struct accept_guard *g = g_guards; g; g = g->next)
        if (g->lis == lis) return g;
    return NULL;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct accept_guard *g = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(g->lis);
}

static void error_cb(struct evconnlistener *lis, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    struct accept_guard *g = find(lis);
    (void)arg;
    if (!g) return;
    evconnlistener_disable(lis);
    struct timeval tv = {g->pause_ms / 1000, (g->pause_ms % 1000) * 1000};
    event_add(g->resume, &tv);
    log_event(LOG_ERROR, NULL, NULL, "accept_paused", err, "%s listener: %s; not accepting for %ld ms", g->name,
              evutil_socket_error_to_string(err), g->pause_ms);
}

int accept_guard_attach(struct evconnlistener *lis, long pause_ms, const char *name)
{
    struct accept_guard *g = calloc(1, sizeof *g);
    if (!g) return -1;
    g->resume = evtimer_new(evconnlistener_get_base(lis), resume_cb, g);
    if (!g->resume) {
        free(g);
        return -1;
    }
    g->lis = lis;
    g->pause_ms = pause_ms;
    strncpy(g->name, name, sizeof g->name - 1);
    g->next = g_guards;
    g_guards = g;
    evconnlistener_set_error_cb(lis, error_cb);
    return 0;
}

void accept_guard_detach(struct evconnlistener *lis)
{
    for (struct accept_guard **p = &g_guards; *p; p = &(*p)->next)
        if ((*p)->lis == lis) {
            struct accept_guard *g = *p;
            *p = g->next;
            evconnlistener_set_error_cb(lis, NULL);
            event_free(g->resume);
            free(g);
            return;
        }
}
