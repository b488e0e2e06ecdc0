/* Per-key (address or account) counters: a token bucket for rates, a concurrency count, and a
 * failure window with an optional lock.  Tables are capped (max_tracked); idle entries are swept. */
#ifndef YMSGD_RATELIMIT_H
#define YMSGD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

struct rl_entry {
    double tokens;        /* token-bucket fill */
    double last;          /* time of the last refill (monotonic seconds) */
    double window_start;  /* start of the current failure window */
    double locked_until;  /* lock end (0 = not locked) */
    uint32_t failures;    /* failures in the current window */
    uint32_t active;      /* concurrent things (connections) held by this key */
    char key[];           /* the address or account name */
};

struct rl_table {
    struct hmap map;      /* key -> struct rl_entry */
    size_t max;           /* cap on entries; beyond it new keys are not tracked */
    double rate;          /* tokens per second */
    double burst;         /* bucket size */
};

void rl_init(struct rl_table *t, size_t max, double rate, double burst);
void rl_free(struct rl_table *t);
/* Monotonic seconds. */
double rl_now(void);
/* Entry for key, created when create is set (NULL when absent or the table is full). */
struct rl_entry *rl_get(struct rl_table *t, const char *key, int create);
/* Takes one token from key's bucket: 1 = allowed, 0 = over the rate.  A full table allows (and
 * logs once per sweep) rather than refusing every newcomer. */
int rl_take(struct rl_table *t, const char *key, double now);
/* Failures within window seconds (0 when the window has passed). */
uint32_t rl_failures(struct rl_table *t, const char *key, double window, double now);
/* Records a failure; returns the count in the current window. */
uint32_t rl_fail(struct rl_table *t, const char *key, double window, double now);
/* Drops entries with nothing left to remember. */
void rl_sweep(struct rl_table *t, double window, double now);

#endif
