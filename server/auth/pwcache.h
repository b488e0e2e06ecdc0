/* Password verification cache: a login whose (account, stored hash, password) was verified recently
 * skips the argon2id check.  Without it a node that dies sends its ~18,000 users to the other nodes,
 * each costing ~0.2 s of a hash thread at the default cost (30 minutes to get everybody back).
 *
 * An entry is a MAC: BLAKE2b-256 keyed by a server secret (libsodium crypto_generichash) of
 * user ‖ 0 ‖ stored argon2id string ‖ 0 ‖ password.  Nothing else is kept: a hit means "this exact
 * password was verified against this exact stored hash of this account", so
 *   - a wrong password never hits (its MAC is another value; entries are added only after the slow
 *     check succeeded);
 *   - a password change or a deleted and re-created account revokes every old entry by construction
 *     (the stored string carries a fresh random salt), with or without the explicit drop;
 *   - the table is bounded (max entries, least recently used evicted) and entries expire (ttl).
 * In a cluster the entries also live in Redis (pwcache_remote, set by server/cluster) with the same
 * ttl, so a user reconnecting to ANOTHER node, or to any node after the whole cluster restarted, hits
 * too.  Threat model: ymsgd(8), SECURITY.
 *
 * Used on the loop thread only (pwworker calls it from pwworker_verify_as and its completions). */
#ifndef YMSGD_PWCACHE_H
#define YMSGD_PWCACHE_H

#include <stddef.h>
#include <stdint.h>

#define PWCACHE_KEY_LEN 32 /* server secret */
#define PWCACHE_MAC_LEN 32 /* one entry */

struct pwcache;

/* The cluster's copy (Redis).  get answers later, on the loop: done(ticket, 1) cached, 0 not (or no
 * answer: Redis down or gone); it returns -1 when it cannot ask now (done is then never called).
 * put stores the entry for ttl seconds (no answer awaited). */
typedef void (*pwcache_done_fn)(void *ticket, int hit);
struct pwcache_remote {
    int (*get)(void *arg, const uint8_t mac[PWCACHE_MAC_LEN], pwcache_done_fn done, void *ticket);
    void (*put)(void *arg, const uint8_t mac[PWCACHE_MAC_LEN], long ttl);
    void *arg; /* their argument */
};

/* max = 0: no cache (every lookup misses, nothing is kept).  NULL when out of memory. */
struct pwcache *pwcache_new(const uint8_t key[PWCACHE_KEY_LEN], size_t max, long ttl);
void pwcache_free(struct pwcache *pc);
/* The cluster's copy, or NULL (cluster_stop). */
void pwcache_set_remote(struct pwcache *pc, const struct pwcache_remote *r);
const struct pwcache_remote *pwcache_remote_of(const struct pwcache *pc);
/* Whether the cache is on (max > 0). */
int pwcache_enabled(const struct pwcache *pc);

/* The entry of user with stored hash pwhash and password. */
void pwcache_mac(const struct pwcache *pc, const char *user, const char *pwhash, const char *password,
                 uint8_t out[PWCACHE_MAC_LEN]);
/* 1 when mac is in the local table and not expired (it becomes the most recently used), else 0. */
int pwcache_hit(struct pwcache *pc, const uint8_t mac[PWCACHE_MAC_LEN]);
/* Adds user's entry mac locally (evicting the least recently used at max); remote: also to the
 * cluster's copy. */
void pwcache_put(struct pwcache *pc, const char *user, const uint8_t mac[PWCACHE_MAC_LEN], int remote);
/* Entries held here (the bound is max). */
size_t pwcache_len(const struct pwcache *pc);
/* Forgets user's local entries (a revocation: `ymsgd user passwd|del`).  They are dead anyway, since
 * they name the account's old hash; this gives their memory back at once.  Returns how many. */
size_t pwcache_revoke(struct pwcache *pc, const char *user);

/* The server secret: read from path (exactly PWCACHE_KEY_LEN bytes), or created there (mode 0600,
 * O_EXCL) when it does not exist.  0, or -1 with a message in err. */
int pwcache_load_key(const char *path, uint8_t key[PWCACHE_KEY_LEN], char *err, size_t errlen);

#endif
