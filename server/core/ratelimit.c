/* Rate limits and failure windows; see ratelimit.h. */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rl_init(struct rl_table *t, size_t max, double rate, double burst)
{
    hmap_init(&t->map);
    t->max = max;
    t->rate = rate;
    t->burst = burst;
}

void rl_free(struct rl_table *t)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&t->map, &pos, &k, &v)) free(v);
    hmap_free(&t->map);
}

double rl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rl_entry *rl_get(struct rl_table *t, const char *key, int create)
{
    struct rl_entry *e = hmap_get(&t->map, key);
    if (e || !create || t->map.len >= t->max) return e;
    size_t n = strlen(key);
    e = calloc(1, sizeof *e + n + 1);
    if (!e) return NULL;
    memcpy(e->key, key, n + 1);
    e->tokens = t->burst;
    e->last = 0; /* a full bucket: refilling from 0 only caps it at burst (callers pass their own now) */
    if (hmap_put(&t->map, e->key, e) < 0) {
        free(e);
        return NULL;
    }
    return e;
}

int rl_take(struct rl_table *t, const char *key, double now)
{
    struct rl_entry *e = rl_get(t, key, 1);
    if (!e) return 1;
    e->tokens += (now - e->last) * t->rate;
    if (e->tokens > t->burst) e->tokens = t->burst;
    e->last = now;
    if (e->tokens < 1.0) return 0;
    e->tokens -= 1.0;
    return 1;
}

uint32_t rl_failures(struct rl_table *t, const char *key, double window, double now)
{
    struct rl_entry *e = rl_get(t, key, 0);
    if (!e || now - e->window_start > window) return 0;
    return e->failures;
}

uint32_t rl_fail(struct rl_table *t, const char *key, double window, double now)
{
    struct rl_entry *e = rl_get(t, key, 1);
    if (!e) return 0;
    if (e->failures == 0 || now - e->window_start > window) {
        e->window_start = now;
        e->failures = 0;
    }
    return ++e->failures;
}

void rl_sweep(struct rl_table *t, double window, double now)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&t->map, &pos, &k, &v)) {
        struct rl_entry *e = v;
        double fill = e->tokens + (now - e->last) * t->rate;
        int idle = e->active == 0 && fill >= t->burst && now >= e->locked_until &&
                   (e->failures == 0 || now - e->window_start > window);
        if (idle) {
            hmap_iter_del(&t->map, &pos);
            free(e);
        }
    }
}

void rl_addr_key(const char *addr, char *out, size_t cap)
{
    unsigned char a6[16];
    char text[INET6_ADDRSTRLEN + 4];
    if (!cap) return;
    if (!addr) addr = "";
    if (inet_pton(AF_INET6, addr, a6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(a6, mapped, sizeof mapped)) {
            if (inet_ntop(AF_INET, a6 + 12, text, sizeof text)) {
                snprintf(out, cap, "%s", text);
                return;
            }
        } else {
            memset(a6 + 8, 0, 8);
            if (inet_ntop(AF_INET6, a6, text, sizeof text)) {
                snprintf(out, cap, "%s/64", text);
                return;
            }
        }
    }
    snprintf(out, cap, "%s", addr);
}

void lt_init(struct login_throttle *t, const struct login_throttle_config *cfg)
{
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    rl_init(&t->addr, cfg->max_tracked, cfg->rate, cfg->burst);
    rl_init(&t->acct, cfg->max_tracked, 1.0, 1.0);
}

void lt_free(struct login_throttle *t)
{
    rl_free(&t->addr);
    rl_free(&t->acct);
}

void lt_sweep(struct login_throttle *t, double now, int force)
{
    /* Often enough that a full table never stops counting newcomers for long. */
    if (!force && now - t->swept < 5.0) return;
    rl_sweep(&t->addr, t->cfg.fail_window, now);
    rl_sweep(&t->acct, t->cfg.fail_window, now);
    t->swept = now;
}

int lt_addr_ok(struct login_throttle *t, const char *addr, double now)
{
    char key[80];
    rl_addr_key(addr, key, sizeof key);
    lt_sweep(t, now, 0);
    if (!rl_take(&t->addr, key, now)) return 0;
    return rl_failures(&t->addr, key, t->cfg.fail_window, now) < t->cfg.addr_max_failures;
}

int lt_locked(struct login_throttle *t, const char *user, double now)
{
    struct rl_entry *e = user ? rl_get(&t->acct, user, 0) : NULL;
    return e && e->locked_until > now;
}

enum lt_verdict lt_before(struct login_throttle *t, const char *addr, const char *user, double now)
{
    char key[80];
    if (!lt_addr_ok(t, addr, now)) return LT_ADDR;
    if (!lt_locked(t, user, now)) return LT_OK;
    rl_addr_key(addr, key, sizeof key);
    if (rl_failures(&t->addr, key, t->cfg.fail_window, now) > 0) return LT_LOCKED;
    struct rl_entry *e = rl_get(&t->acct, user, 0);
    if (now < e->next_check) return LT_LOCKED;
    e->next_check = now + t->cfg.lock_check_interval;
    return LT_OK_LOCKED;
}

int lt_fail(struct login_throttle *t, const char *addr, const char *user, double now)
{
    char key[80];
    rl_addr_key(addr, key, sizeof key);
    rl_fail(&t->addr, key, t->cfg.fail_window, now);
    if (!user) return 0;
    uint32_t n = rl_fail(&t->acct, user, t->cfg.fail_window, now);
    struct rl_entry *e = rl_get(&t->acct, user, 0);
    if (!e || n < t->cfg.account_max_failures || e->locked_until > now) return 0;
    e->locked_until = now + t->cfg.lock_time;
    /* The first check admitted during the lock comes one interval after it began. */
    e->next_check = now + t->cfg.lock_check_interval;
    return 1;
}

void lt_unlock(struct login_throttle *t, const char *user)
{
    struct rl_entry *e = rl_get(&t->acct, user, 0);
    if (!e) return;
    e->locked_until = 0;
    e->next_check = 0;
    e->failures = 0;
}
