/* The session registry; see sessions.h. */
#include "sessions.h"

#include <time.h>

#include "log.h"
#include "ratelimit.h"

struct conn *sessions_local(struct server *srv, const char *user)
{
    struct conn *c = hmap_get(&srv->online, user);
    return (c && c->state == CONN_ONLINE) ? c : NULL;
}

struct conn *sessions_get(struct server *srv, const char *user)
{
    struct conn *c = sessions_local(srv, user);
    if (c || !srv->remote.len) return c;
    c = hmap_get(&srv->remote, user);
    return (c && c->state == CONN_ONLINE) ? c : NULL;
}

int sessions_add(struct server *srv, struct conn *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->login_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (hmap_put(&srv->online, c->user, c) < 0) {
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "session registry");
        return -1;
    }
    c->online_at = rl_now();
    return 0;
}

void sessions_del(struct server *srv, struct conn *c)
{
    if (!c->user[0]) return;
    if (c->remote) {
        if (hmap_get(&srv->remote, c->user) == c && srv->hooks) srv->hooks->forget(srv, c);
        return;
    }
    if (hmap_get(&srv->online, c->user) != c) return;
    hmap_del(&srv->online, c->user);
    if (srv->hooks) srv->hooks->ended(srv, c);
}

void sessions_changed(struct server *srv, const char *user)
{
    struct conn *c;
    if (srv->hooks && (c = sessions_local(srv, user)) != NULL) srv->hooks->changed(srv, c);
}

int sessions_heard_from(struct server *srv, const char *user, const char *to)
{
    struct conn *c = sessions_get(srv, user);
    return c && tagset_has(&c->sets, SET_TALKED, to);
}

void sessions_fill_bucket(struct conn *c)
{
    c->tokens = (float)c->srv->cfg->session_burst;
    c->tokens_at = (float)(rl_now() - c->srv->t0);
}

int sessions_take_token(struct conn *c)
{
    const struct config *cfg = c->srv->cfg;
    float now = (float)(rl_now() - c->srv->t0);
    c->tokens += (now - c->tokens_at) * (float)cfg->session_rate;
    if (c->tokens > (float)cfg->session_burst) c->tokens = (float)cfg->session_burst;
    c->tokens_at = now;
    if (c->tokens < 1.0f) return 0;
    c->tokens -= 1.0f;
    return 1;
}

int sessions_charge(struct conn *c, unsigned n)
{
    if (c->tokens < (float)n) return 0;
    c->tokens -= (float)n;
    return 1;
}

void sessions_hold(struct conn *c)
{
    c->store_jobs++;
}

void sessions_release(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->store_jobs) c->store_jobs--;
    if (c->store_jobs) return;
    if (c->state == CONN_DEAD) {
        if (!c->reap_waits) return; /* still on the reaper's list */
        /* the reaper skipped it while the job ran: it goes now */
        c->reap_waits = 0;
        c->next_dead = srv->dead;
        srv->dead = c;
    } else if (c->state < CONN_CLOSING && c->resume && !c->on_resume) {
        c->on_resume = 1;
        c->next_resume = srv->resume;
        srv->resume = c;
    } else return;
    if (srv->reaper) event_active(srv->reaper, EV_TIMEOUT, 0);
}
