/* Authentication state: password hashing, the one-time tokens of /config/pwtoken_get, the crumbs and
 * Y/T/B cookies of /config/pwtoken_login, and the throttling of failed logins.
 *
 * Throttling: every path (pwtoken_get, 0x54 cookie and method-0 logins, and the AMF gateway, which
 * borrows auth_throttle()) goes through ONE login throttle (ratelimit.h, "Login throttle"; policy in
 * docs/ymsgd.8, "LOGIN THROTTLING").  Unknown accounts answer like wrong passwords (1212 / 66=13)
 * after the same amount of work, and are counted the same. */
#ifndef YMSGD_AUTH_H
#define YMSGD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define AUTH_SECRET_LEN 48 /* buffer size for tokens, crumbs and cookie values */

struct auth_login {
    char user[NAME_MAX_LEN + 1];  /* who logged in over HTTP */
    char crumb[AUTH_SECRET_LEN];  /* crumb=… line; 307 = Y64(MD5(crumb ‖ challenge)) */
    char y[AUTH_SECRET_LEN];      /* Y cookie value (key of the table) */
    char t[AUTH_SECRET_LEN];      /* T cookie value */
    char b[AUTH_SECRET_LEN];      /* B cookie value */
    double expires;               /* monotonic expiry */
};

/* A cluster shares every crumb issued here, and its use, with the other nodes (server/cluster), so
 * a client may redeem its cookies on any node's pager.  NULL on one node. */
struct auth_share {
    void (*issued)(void *arg, const struct auth_login *l, double ttl); /* ttl: seconds it stays valid */
    void (*used)(void *arg, const char *user, const char *y, int spent); /* consumed here: spent = 1 by a good
                                                                            * login (Y/T stay valid for the web),
                                                                            * 0 refused or replayed (all gone) */
    void *arg;                                                         /* their argument */
};
void auth_set_share(struct auth *a, const struct auth_share *share);
/* Another node's crumb: valid here for ttl seconds.  0, or -1 (table full or out of memory). */
int auth_login_import(struct auth *a, const struct auth_login *l, double ttl);
/* Another node refused the crumb of Y cookie value y, or saw it replayed: it and its web cookies are
 * gone here too. */
void auth_login_forget(struct auth *a, const char *y);
/* Another node's good 0x54 login spent the crumb of Y cookie value y: spent here too, its Y/T stay
 * valid for the web (auth_cookie_user) as on the node that took the login. */
void auth_login_spent(struct auth *a, const char *y);

struct auth *auth_new(struct server *srv);
void auth_free(struct auth *a);
/* The password verification cache (pwcache.h) of the token login's and the AMF gateway's hash
 * pools, keyed by the secret in pwcache_key_file (default data_dir/pwcache.key, created on the first
 * start).  Call once data_dir exists.  0, or -1 with a message in err (an unreadable key file). */
int auth_pwcache_start(struct auth *a, char *err, size_t errlen);
/* The cache (NULL before auth_pwcache_start). */
struct pwcache *auth_pwcache(struct auth *a);
/* The token login pool's answers from the cache and checks hashed (pwworker_counts). */
void auth_hash_counts(struct auth *a, unsigned long long *hits, unsigned long long *hashed);
/* Drops expired tokens/crumbs and idle throttle entries. */
void auth_sweep(struct auth *a);

/* Hashes a password for storage: argon2id string into pwhash, and the method-0 hashes P and C into
 * p/c when legacy is set (else they are made empty).  Returns 0 or -1. */
int auth_hash_password(const struct config *cfg, const char *password, int legacy, char pwhash[256],
                       char p[32], char c[32]);

/* pwtoken_get: checks user/password under the throttling policy and calls cb with the login code
 * (0, 1212 wrong password or no such user, 1213 locked, 1236 too many attempts) and, on 0, a fresh token.  The argon2id check runs on a worker thread
 * (hash_threads), so cb may run later, on the loop thread; it is not called at all if the server shuts
 * down first (auth_shutdown).  Throttling answers come at once. */
typedef void (*auth_login_cb)(void *arg, int code, const char *token);
void auth_password_login(struct auth *a, const char *addr, const char *user, const char *password,
                         auth_login_cb cb, void *arg);
/* Password checks waiting for or in a hash worker (0 with hash_threads = 0). */
size_t auth_hash_queued(struct auth *a);
/* Stops the hash workers, dropping queued checks without calling their callbacks (call before the
 * HTTP server that owns their requests goes away). */
void auth_shutdown(struct auth *a);
/* pwtoken_login: consumes a token; on success fills *out (crumb and cookies) and returns 0, else -1. */
int auth_token_redeem(struct auth *a, const char *token, struct auth_login *out);
/* 0x54 (v16): finds the crumb issued with Y cookie y (text up to the first ';'), checks T, user and
 * 307 = Y64(MD5(crumb ‖ challenge)); the crumb works once.  A failure ends the cookies too.  Returns 0
 * ok, -1 bad/expired/replayed, -2 no such crumb here (in a cluster it may still be on its way from the
 * node that issued it). */
int auth_cookie_login(struct auth *a, const char *user, const char *y, const char *t, const char *challenge,
                      const char *resp307);
/* The web's check (GET/POST /yab): the account whose pwtoken_login issued this Y/T pair (either may
 * carry a "Y="/"T=" prefix and a "; …" tail), while it lasts (crumb_lifetime) and until the account is
 * revoked; before or after the 0x54 login alike.  0 with *user filled, else -1. */
int auth_cookie_user(struct auth *a, const char *y, const char *t, char user[NAME_MAX_LEN + 1]);
/* 0x54 (method 0): checks keys 6/96 against the stored P/C under the throttling policy.  Returns a
 * 0x54 key-66 code: 0 ok, 13 wrong password or no such user, 14 locked or throttled, 52 store trouble. */
int auth_method0_login(struct auth *a, const char *addr, const char *user, const char *challenge,
                       const char *r6, const char *r96);
/* The same with the account read on the store worker (PostgreSQL; inline with SQLite, where cb runs
 * before this returns): cb gets the code on the loop thread, or -1 when auth_shutdown came first (then
 * it only lets go of what arg holds). */
typedef void (*auth_code_cb)(void *arg, int code);
void auth_method0_login_async(struct auth *a, const char *addr, const char *user, const char *challenge,
                              const char *r6, const char *r96, auth_code_cb cb, void *arg);
/* Whether an address may attempt a login now (takes a token from its bucket; refuses an address over
 * its failure budget). */
int auth_addr_allowed(struct auth *a, const char *addr);
/* Counts a failed credential check that did not go through the functions above (a bad cookie or
 * crumb in 0x54, a 0x54 without usable credentials).  user may be NULL (address only). */
void auth_login_failed(struct auth *a, const char *addr, const char *user);
/* The login throttle policy from ymsgd's knobs (login_rate, fail_window, ...): the one mapping. */
void auth_throttle_config(const struct config *cfg, struct login_throttle_config *out);
/* The shared login throttle (the AMF gateway uses it too). */
struct login_throttle *auth_throttle(struct auth *a);
/* The decoy hash unknown accounts are checked against (the gateway uses it too). */
const char *auth_decoy_hash(const struct auth *a);

/* Revocation (a password change or a deleted account, from `ymsgd user passwd|del` through the
 * control socket): drops user's outstanding pwtoken_get tokens and pwtoken_login crumbs/cookies, and
 * runs the revokers registered by other modules (the AMF gateway drops its sessions).  *tokens and
 * *cookies get the numbers dropped; the return value is the sum of what the revokers report. */
typedef size_t (*auth_revoke_fn)(void *arg, const char *user);
/* Registers fn (at most AUTH_MAX_REVOKERS); 0 or -1. */
#define AUTH_MAX_REVOKERS 4
int auth_on_revoke(struct auth *a, auth_revoke_fn fn, void *arg);
size_t auth_revoke_user(struct auth *a, const char *user, size_t *tokens, size_t *cookies);

/* Random text of Y64 characters ([A-Za-z0-9._]) starting with a letter: nbytes of entropy. */
void auth_random_text(char *out, size_t cap, size_t nbytes);

#endif
