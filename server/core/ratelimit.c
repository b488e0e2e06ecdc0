/* Rate limits and failure windows; see ratelimit.h. */
#include "ratelimit.h"

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
    e->last = rl_now();
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
