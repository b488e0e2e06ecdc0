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
    double next_check;    /* locked account: earliest time of the next password check it admits */
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

/* The throttling key of a source address: IPv6 addresses are keyed by their /64 ("2001:db8:1:2::/64"),
 * since one host or customer usually holds a whole /64; IPv4-mapped IPv6 is keyed as the IPv4
 * address; IPv4 and anything unparsable as itself.  out gets at most cap bytes. */
void rl_addr_key(const char *addr, char *out, size_t cap);

/* ------------------------------------------------------------------------------------------------
 * Login throttle: ONE set of tables that every password or credential check of ymsgd goes through
 * (token login pwtoken_get, 0x54 cookie and method-0 logins, every AMF gateway login), so no path
 * has a budget of its own.  Policy (docs/ymsgd.8, LOGIN THROTTLING):
 *  - every attempt takes a token from its address's bucket (rate/burst);
 *  - an address with addr_max_failures failures within fail_window is refused until they age out;
 *  - an account with account_max_failures failures within fail_window is locked for lock_time.
 *    While locked, an address with any recent failure is refused without a check, and the account
 *    admits at most one password check per lock_check_interval, from an address with no recent
 *    failures; every other attempt is refused without a check.  The owner gets in by trying from a
 *    clean address once the interval has passed; an attacker with many addresses gets one guess per
 *    interval, not one per address.
 * ---------------------------------------------------------------------------------------------- */
struct login_throttle_config {
    double rate;                  /* attempts per second per address */
    double burst;                 /* bucket size */
    double fail_window;           /* seconds failures are remembered */
    uint32_t addr_max_failures;   /* failures per address before it is refused */
    uint32_t account_max_failures;/* failures per account before it locks */
    double lock_time;             /* seconds a lock lasts */
    double lock_check_interval;   /* seconds between password checks a locked account admits */
    size_t max_tracked;           /* entries per table */
};

struct login_throttle {
    struct login_throttle_config cfg; /* policy */
    struct rl_table addr;         /* per address key (rl_addr_key): bucket and failures */
    struct rl_table acct;         /* per account: failures, lock, next admitted check */
    double swept;                 /* monotonic time of the last sweep */
};

enum lt_verdict {
    LT_OK = 0,          /* check the credentials */
    LT_OK_LOCKED,       /* check them (the one admitted check of a locked account); a wrong one is "locked" */
    LT_ADDR,            /* refused: the address is over its rate or failure budget */
    LT_LOCKED,          /* refused: the account is locked (no check) */
};

void lt_init(struct login_throttle *t, const struct login_throttle_config *cfg);
void lt_free(struct login_throttle *t);
/* Before checking credentials of user (NULL: no account known yet) from addr: takes a token and
 * applies the address budget and the account lock.  Never records a failure itself. */
enum lt_verdict lt_before(struct login_throttle *t, const char *addr, const char *user, double now);
/* Address check only (rate token and failure budget): 1 allowed, 0 refused. */
int lt_addr_ok(struct login_throttle *t, const char *addr, double now);
/* Records a failed check against addr and, when user is set, against the account (locking it at the
 * threshold).  Returns 1 when this failure locked the account. */
int lt_fail(struct login_throttle *t, const char *addr, const char *user, double now);
/* Whether user's account is locked now. */
int lt_locked(struct login_throttle *t, const char *user, double now);
/* Lifts a lock and forgets user's failures (an administrator's unlock). */
void lt_unlock(struct login_throttle *t, const char *user);
/* Drops idle entries (at most every few seconds unless force). */
void lt_sweep(struct login_throttle *t, double now, int force);

#endif
