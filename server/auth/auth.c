/* Tokens, crumbs, password checks and login throttling; see auth.h. */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pwcache.h"
#include "pwworker.h"
#include "store_async.h"

struct token {
    char user[NAME_MAX_LEN + 1]; /* account the token logs in */
    double expires;              /* monotonic expiry */
    char tok[AUTH_SECRET_LEN];   /* the token (table key) */
};

/* A login as the tables keep it: its texts packed one after another, so an entry costs what they do
 * (~100 B) rather than struct auth_login's fixed buffers (240 B).  In a cluster every node keeps every
 * node's HTTP logins (cl_share_issued), so this is paid once per login of the whole cluster.  The B
 * cookie is not kept: only the HTTP answer that issued it shows it. */
struct login_rec {
    double expires;    /* monotonic expiry */
    uint16_t size;     /* bytes of s (wiped before free) */
    uint8_t crumb_off; /* offset of the crumb in s ("" once spent) */
    uint8_t y_off;     /* offset of the Y cookie value (the table's key) */
    uint8_t t_off;     /* offset of the T cookie value */
    char s[];          /* user NUL crumb NUL y NUL t NUL */
};
#define REC_USER(r) ((r)->s)
#define REC_CRUMB(r) ((r)->s + (r)->crumb_off)
#define REC_Y(r) ((r)->s + (r)->y_off)
#define REC_T(r) ((r)->s + (r)->t_off)

struct auth {
    struct server *srv;      /* config and store */
    struct hmap tokens;      /* token -> struct token */
    struct hmap logins;      /* Y cookie value -> struct login_rec (crumb not spent yet) */
    struct hmap web;         /* Y cookie value -> struct login_rec whose crumb a 0x54 login spent (/yab) */
    struct login_throttle lt; /* the one login throttle of every path (ratelimit.h) */
    struct pwworker *workers; /* argon2id checks off the loop (NULL = inline) */
    char decoy[256];          /* hash checked for unknown accounts, so they cost the same */
    struct {
        auth_revoke_fn fn;   /* called with the user being revoked */
        void *arg;           /* its argument */
    } revokers[AUTH_MAX_REVOKERS]; /* other modules' sessions (the AMF gateway) */
    size_t nrevokers;        /* registered */
    const struct auth_share *share; /* the cluster's, or NULL */
    struct pwcache *pwcache;  /* verification cache of both hash pools (auth_pwcache_start), or NULL */
    struct acct_job *acct_jobs; /* account reads on the store worker (auth_shutdown cancels them) */
    int closed;               /* auth_shutdown ran: no new checks */
};

void auth_throttle_config(const struct config *cfg, struct login_throttle_config *out)
{
    *out = (struct login_throttle_config){
        .rate = (double)cfg->login_rate,
        .burst = (double)cfg->login_burst,
        .fail_window = (double)cfg->fail_window,
        .addr_max_failures = (uint32_t)cfg->addr_max_failures,
        .account_max_failures = (uint32_t)cfg->account_max_failures,
        .lock_time = (double)cfg->account_lock_time,
        .lock_check_interval = (double)cfg->account_lock_check_interval,
        .max_tracked = (size_t)cfg->max_tracked,
    };
}

struct auth *auth_new(struct server *srv)
{
    struct auth *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->srv = srv;
    hmap_init(&a->tokens);
    hmap_init(&a->logins);
    hmap_init(&a->web);
    const struct config *cfg = srv->cfg;
    struct login_throttle_config tc;
    auth_throttle_config(cfg, &tc);
    lt_init(&a->lt, &tc);
    /* A hash of a random password with the configured cost: an unknown account's check verifies
     * against it, so "no such user" takes as long as "wrong password" and answers the same. */
    char pw[32], p[32], c[32];
    auth_random_text(pw, sizeof pw, 18);
    if (auth_hash_password(cfg, pw, 0, a->decoy, p, c) < 0) {
        sodium_memzero(pw, sizeof pw);
        lt_free(&a->lt);
        free(a);
        return NULL;
    }
    sodium_memzero(pw, sizeof pw);
    if (srv->cfg->hash_threads > 0 &&
        !(a->workers = pwworker_new(srv->base, (int)srv->cfg->hash_threads, (size_t)srv->cfg->hash_queue)))
        log_event(LOG_WARN, NULL, NULL, "hash_threads_failed", 0, "verifying passwords in the event loop");
    return a;
}

/* A record of l's user, crumb (NULL: none), Y and T, expiring at expires; NULL when a text is too long
 * or out of memory. */
static struct login_rec *rec_new(const struct auth_login *l, const char *crumb, double expires)
{
    size_t nu = strlen(l->user) + 1, nc = crumb ? strlen(crumb) + 1 : 1, ny = strlen(l->y) + 1,
           nt = strlen(l->t) + 1;
    if (nu + nc + ny > UINT8_MAX) return NULL;
    struct login_rec *r = malloc(sizeof *r + nu + nc + ny + nt);
    if (!r) return NULL;
    r->expires = expires;
    r->size = (uint16_t)(nu + nc + ny + nt);
    r->crumb_off = (uint8_t)nu;
    r->y_off = (uint8_t)(nu + nc);
    r->t_off = (uint8_t)(nu + nc + ny);
    memcpy(REC_USER(r), l->user, nu);
    if (crumb) memcpy(REC_CRUMB(r), crumb, nc);
    else *REC_CRUMB(r) = 0;
    memcpy(REC_Y(r), l->y, ny);
    memcpy(REC_T(r), l->t, nt);
    return r;
}

static void rec_free(struct login_rec *r)
{
    if (!r) return;
    sodium_memzero(r, sizeof *r + r->size);
    free(r);
}

static void rec_free_map(struct hmap *m)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(m, &pos, &k, &v)) rec_free(v);
    hmap_free(m);
}

static void free_map(struct hmap *m, size_t size)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(m, &pos, &k, &v)) {
        sodium_memzero(v, size);
        free(v);
    }
    hmap_free(m);
}

int auth_pwcache_start(struct auth *a, char *err, size_t errlen)
{
    const struct config *cfg = a->srv->cfg;
    uint8_t key[PWCACHE_KEY_LEN];
    if (a->pwcache) return 0;
    if (cfg->pwcache_max > 0) {
        char path[4096];
        if (cfg->pwcache_key_file[0]) snprintf(path, sizeof path, "%s", cfg->pwcache_key_file);
        else if ((size_t)snprintf(path, sizeof path, "%s/pwcache.key", cfg->data_dir) >= sizeof path) {
            snprintf(err, errlen, "pwcache_key_file: data_dir too long");
            return -1;
        }
        if (pwcache_load_key(path, key, err, errlen) < 0) return -1;
    } else {
        randombytes_buf(key, sizeof key); /* off: the table stays empty */
    }
    a->pwcache = pwcache_new(key, (size_t)cfg->pwcache_max, cfg->pwcache_ttl);
    sodium_memzero(key, sizeof key);
    if (!a->pwcache) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (a->workers) pwworker_set_cache(a->workers, a->pwcache);
    return 0;
}

struct pwcache *auth_pwcache(struct auth *a) { return a ? a->pwcache : NULL; }

void auth_hash_counts(struct auth *a, unsigned long long *hits, unsigned long long *hashed)
{
    *hits = *hashed = 0;
    if (a && a->workers) pwworker_counts(a->workers, hits, hashed);
}

void auth_free(struct auth *a)
{
    if (!a) return;
    auth_shutdown(a);
    free_map(&a->tokens, sizeof(struct token));
    rec_free_map(&a->logins);
    rec_free_map(&a->web);
    lt_free(&a->lt);
    pwcache_free(a->pwcache);
    free(a);
}

void auth_sweep(struct auth *a)
{
    double now = rl_now();
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&a->tokens, &pos, &k, &v))
        if (((struct token *)v)->expires <= now) {
            hmap_iter_del(&a->tokens, &pos);
            free(v);
        }
    struct hmap *maps[] = {&a->logins, &a->web};
    for (size_t m = 0; m < 2; m++) {
        pos = 0;
        while (hmap_next(maps[m], &pos, &k, &v))
            if (((struct login_rec *)v)->expires <= now) {
                hmap_iter_del(maps[m], &pos);
                rec_free(v);
            }
    }
    /* A storm's peak of logins expires after crumb_lifetime: its tables need not stay that large. */
    hmap_shrink(&a->tokens);
    hmap_shrink(&a->logins);
    hmap_shrink(&a->web);
    lt_sweep(&a->lt, now, 1);
}

struct login_throttle *auth_throttle(struct auth *a) { return &a->lt; }

const char *auth_decoy_hash(const struct auth *a) { return a->decoy; }

int auth_on_revoke(struct auth *a, auth_revoke_fn fn, void *arg)
{
    if (a->nrevokers >= AUTH_MAX_REVOKERS) return -1;
    a->revokers[a->nrevokers].fn = fn;
    a->revokers[a->nrevokers].arg = arg;
    a->nrevokers++;
    return 0;
}

/* Wipes and frees every entry of m (values of size bytes that begin with the account name: struct
 * token and struct auth_login) that belongs to user; returns how many. */
static size_t drop_user_entries(struct hmap *m, const char *user, size_t size)
{
    size_t pos = 0, n = 0;
    const char *k;
    void *v;
    while (hmap_next(m, &pos, &k, &v))
        if (!strcmp((const char *)v, user)) {
            hmap_iter_del(m, &pos);
            sodium_memzero(v, size);
            free(v);
            n++;
        }
    return n;
}
_Static_assert(offsetof(struct token, user) == 0, "drop_user_entries reads the name first");

/* drop_user_entries for a table of struct login_rec. */
static size_t drop_user_logins(struct hmap *m, const char *user)
{
    size_t pos = 0, n = 0;
    const char *k;
    void *v;
    while (hmap_next(m, &pos, &k, &v))
        if (!strcmp(REC_USER((struct login_rec *)v), user)) {
            hmap_iter_del(m, &pos);
            rec_free(v);
            n++;
        }
    return n;
}

size_t auth_revoke_user(struct auth *a, const char *user, size_t *tokens, size_t *cookies)
{
    size_t other = 0;
    size_t nt = drop_user_entries(&a->tokens, user, sizeof(struct token));
    size_t nc = drop_user_logins(&a->logins, user);
    drop_user_logins(&a->web, user); /* web cookies of spent crumbs: not in *cookies */
    pwcache_revoke(a->pwcache, user); /* dead already (they name the old hash): the memory back now */
    for (size_t i = 0; i < a->nrevokers; i++) other += a->revokers[i].fn(a->revokers[i].arg, user);
    if (tokens) *tokens = nt;
    if (cookies) *cookies = nc;
    return other;
}

void auth_random_text(char *out, size_t cap, size_t nbytes)
{
    unsigned char raw[64];
    char enc[96];
    if (nbytes > sizeof raw) nbytes = sizeof raw;
    randombytes_buf(raw, nbytes);
    ssize_t n = ymsg_y64_encode(raw, nbytes, enc, sizeof enc);
    if (n < 0) n = 0;
    while (n > 0 && enc[n - 1] == '-') enc[--n] = 0; /* padding is not needed in opaque values */
    /* A letter first: Pidgin treats body lines starting with a digit as chunk sizes or codes. */
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    snprintf(out, cap, "%c%s", letters[randombytes_uniform(sizeof letters - 1)], enc);
}

int auth_hash_password(const struct config *cfg, const char *password, int legacy, char pwhash[256], char p[32],
                       char c[32])
{
    p[0] = c[0] = 0;
    if (crypto_pwhash_str(pwhash, password, strlen(password), (unsigned long long)cfg->pwhash_opslimit,
                          (size_t)cfg->pwhash_memlimit) != 0)
        return -1;
    if (legacy) {
        char pp[25], cc[25];
        if (ymsg_auth_method0_hashes(password, pp, cc) < 0) return -1;
        snprintf(p, 32, "%s", pp);
        snprintf(c, 32, "%s", cc);
    }
    return 0;
}

/* Records a failure against address and account (logging a new lock). */
static void throttle_fail(struct auth *a, const char *addr, const char *user, double now)
{
    if (lt_fail(&a->lt, addr, user, now))
        log_event(LOG_WARN, addr, user, "account_locked", 1213, "%ld failures in %lds; locked for %lds",
                  a->srv->cfg->account_max_failures, a->srv->cfg->fail_window, a->srv->cfg->account_lock_time);
}

int auth_addr_allowed(struct auth *a, const char *addr) { return lt_addr_ok(&a->lt, addr, rl_now()); }

void auth_login_failed(struct auth *a, const char *addr, const char *user) { throttle_fail(a, addr, user, rl_now()); }

/* Creates a token for user; returns 0 or 1236 when the table is full / out of memory. */
static int issue_token(struct auth *a, const char *user, double now, char token[AUTH_SECRET_LEN])
{
    if (a->tokens.len >= (size_t)a->srv->cfg->max_tracked) auth_sweep(a);
    if (a->tokens.len >= (size_t)a->srv->cfg->max_tracked) return 1236;
    struct token *t = calloc(1, sizeof *t);
    if (!t) return 1236;
    snprintf(t->user, sizeof t->user, "%s", user);
    auth_random_text(t->tok, sizeof t->tok, 24);
    t->expires = now + (double)a->srv->cfg->token_lifetime;
    if (hmap_put(&a->tokens, t->tok, t) < 0) {
        free(t);
        return 1236;
    }
    memcpy(token, t->tok, AUTH_SECRET_LEN);
    return 0;
}

/* A password check waiting for its worker. */
struct pending {
    struct auth *a;                 /* owner */
    auth_login_cb cb;               /* caller's completion */
    void *arg;                      /* its argument */
    char *password;                 /* copy (legacy hashes need it after a success) */
    char pwhash[256];               /* stored hash */
    char addr[64];                  /* source address */
    char user[NAME_MAX_LEN + 1];    /* account */
    int locked;                     /* account was locked when the check began */
    int decoy;                      /* unknown account: checked against the decoy hash, never ok */
    auth_code_cb code_cb;           /* a method-0 check's completion (stage 2), else NULL */
    char challenge[64];             /* method 0: the challenge sent */
    char r6[64], r96[64];           /* method 0: the client's answers (as login_ymsg reads them) */
    char newhash[256];              /* stage 3: the account's hash at the configured cost (re-hash) */
};

static void pending_free(struct pending *p)
{
    sodium_memzero(p->password, strlen(p->password));
    free(p->password);
    sodium_memzero(p, sizeof *p);
    free(p);
}

/* The account read of a token login, before the hash (stage 0) and again after a good one (stage 1: the
 * account must still have the hash that was verified; legacy hashes filled in), on the store worker
 * (PostgreSQL: no round trip on the loop) or inline (SQLite).  The worker reads p's copies and writes
 * only u/rc; the loop does not touch p meanwhile. */
struct acct_job {
    struct acct_job *prev, *next;   /* a->acct_jobs */
    struct auth *a;                 /* owner, NULL once auth_shutdown cancelled the job (free p, nothing else) */
    struct pending *p;              /* the check (owned while the job runs) */
    int stage;                      /* 0 before the hash, 1 after a good one, 2 a method-0 check, 3 a re-hash's write */
    int legacy;                     /* stage 1: fill missing method-0 hashes (legacy_auth) */
    struct store_user u;            /* the row read (worker) */
};

static void acct_unlink(struct acct_job *j)
{
    if (j->prev) j->prev->next = j->next;
    else if (j->a) j->a->acct_jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static int acct_job_run(struct store *st, void *arg)
{
    struct acct_job *j = arg;
    struct pending *p = j->p;
    if (j->stage == 3) return st->user_rehash(st, p->user, p->pwhash, p->newhash);
    int rc = st->user_get(st, p->user, &j->u);
    if (j->stage == 1 && rc == STORE_OK && !strcmp(j->u.pwhash, p->pwhash) && j->legacy &&
        (!j->u.legacy_p[0] || !j->u.legacy_c[0])) {
        /* Legacy logins were enabled after the account was created: its method-0 hashes now. */
        char pp[25], cc[25];
        if (ymsg_auth_method0_hashes(p->password, pp, cc) == 0) st->user_set_password(st, p->user, j->u.pwhash, pp, cc);
        sodium_memzero(pp, sizeof pp);
        sodium_memzero(cc, sizeof cc);
    }
    return rc;
}

static void acct_done(void *arg, int rc);
static int method0_verdict(struct auth *a, const char *addr, const char *user, const char *challenge, const char *r6,
                           const char *r96, int locked, int rc, const struct store_user *u);

/* Queues p's account read (stage 0 or 1); acct_done goes on.  0, or -1 out of memory (p untouched). */
static int acct_queue(struct auth *a, struct pending *p, int stage)
{
    struct acct_job *j = calloc(1, sizeof *j);
    if (!j) return -1;
    j->a = a;
    j->p = p;
    j->stage = stage;
    j->legacy = a->srv->cfg->legacy_auth != 0;
    j->next = a->acct_jobs;
    if (j->next) j->next->prev = j;
    a->acct_jobs = j;
    if (store_async_run(a->srv->sa, a->srv->st, acct_job_run, acct_done, j) < 0) {
        acct_unlink(j);
        free(j);
        return -1;
    }
    return 0;
}

static void password_checked(void *arg, int ok)
{
    struct pending *p = arg;
    struct auth *a = p->a;
    if (ok < 0) { /* cancelled at shutdown */
        pending_free(p);
        return;
    }
    double now = rl_now();
    int code = 0;
    if (p->decoy) ok = 0;
    if (!ok) {
        throttle_fail(a, p->addr, p->user, now);
        code = p->locked ? 1213 : 1212;
        log_event(LOG_INFO, p->addr, p->user, "password_rejected", code, "%s", p->decoy ? "no such user" : "wrong password");
    } else {
        /* A check that began before a password change or deletion (revocation) must not issue a
         * token: the account is read again (acct_done, stage 1). */
        if (acct_queue(a, p, 1) == 0) return;
        code = 1236;
    }
    p->cb(p->arg, code, NULL);
    pending_free(p);
}

/* Re-hash: an account whose stored hash has another cost than the configured one (made before the
 * default changed, or by an operator's other settings) gets a new hash of the password just verified,
 * so its later checks cost what the operator chose: the old 64 MiB default took ~200 ms per check, the
 * 19 MiB one ~45 ms.  It runs after the login was answered, only when the hash threads are idle (a
 * storm never waits for it; the next login tries again), and the write replaces only the hash that
 * was verified (store user_rehash), so a password changed meanwhile stays.  The verification cache
 * gets the new hash's entry: the next login does not pay for the change. */
static void rehash_hashed(void *arg, const char *hash);

static int rehash_start(struct auth *a, struct pending *p)
{
    const struct config *cfg = a->srv->cfg;
    if (p->decoy || !a->workers || a->closed ||
        crypto_pwhash_str_needs_rehash(p->pwhash, (unsigned long long)cfg->pwhash_opslimit,
                                       (size_t)cfg->pwhash_memlimit) != 1)
        return -1;
    return pwworker_rehash(a->workers, p->password, (unsigned long long)cfg->pwhash_opslimit,
                           (size_t)cfg->pwhash_memlimit, rehash_hashed, p);
}

static void rehash_hashed(void *arg, const char *hash)
{
    struct pending *p = arg;
    struct auth *a = p->a;
    /* NULL: failed, or the pool is being freed (auth_free: a may be gone; touch nothing but p) */
    if (!hash || a->closed || strlen(hash) >= sizeof p->newhash) {
        pending_free(p);
        return;
    }
    memcpy(p->newhash, hash, strlen(hash) + 1);
    if (acct_queue(a, p, 3) < 0) pending_free(p); /* (SQLite: done and freed inside already) */
}

/* The re-hash's write is done (stage 3). */
static void rehash_stored(struct auth *a, struct pending *p, int rc)
{
    if (rc != STORE_OK) {
        log_event(LOG_INFO, p->addr, p->user, "password_rehash_skipped", rc,
                  rc == STORE_NOTFOUND ? "the account changed meanwhile" : "store error");
        return;
    }
    if (a->pwcache) { /* the old hash's entries can never hit again: their memory back, the new one in */
        uint8_t mac[PWCACHE_MAC_LEN];
        pwcache_revoke(a->pwcache, p->user);
        pwcache_mac(a->pwcache, p->user, p->newhash, p->password, mac);
        pwcache_put(a->pwcache, p->user, mac, 1);
        sodium_memzero(mac, sizeof mac);
    }
    log_event(LOG_INFO, p->addr, p->user, "password_rehashed", 0, "now at %llu passes, %llu KiB",
              (unsigned long long)a->srv->cfg->pwhash_opslimit, (unsigned long long)a->srv->cfg->pwhash_memlimit >> 10);
}

/* After a good check: the account read again (stage 1). */
static void acct_verified(struct auth *a, struct pending *p, int rc, const struct store_user *u)
{
    char token[AUTH_SECRET_LEN];
    if (rc != STORE_OK || strcmp(u->pwhash, p->pwhash) != 0) {
        int changed = rc == STORE_OK || rc == STORE_NOTFOUND;
        if (changed) log_event(LOG_INFO, p->addr, p->user, "password_rejected", 1212, "account changed during the check");
        p->cb(p->arg, changed ? 1212 : 1236, NULL);
        pending_free(p);
        return;
    }
    int code = issue_token(a, p->user, rl_now(), token);
    p->cb(p->arg, code, code == 0 ? token : NULL);
    sodium_memzero(token, sizeof token);
    if (code == 0 && rehash_start(a, p) == 0) return; /* p goes on, answered already */
    pending_free(p);
}

/* Before the check: the account's hash (or the decoy's) to the hash workers. */
static void acct_loaded(struct auth *a, struct pending *p, int rc, const struct store_user *u)
{
    if (rc != STORE_OK && rc != STORE_NOTFOUND) {
        p->cb(p->arg, 1236, NULL); /* backend trouble: ask the client to come back later */
        pending_free(p);
        return;
    }
    /* An unknown account is checked against the decoy, counted like a wrong password and answered
     * 1212 like one: clients show both as a failed login (YMSG.md 4.2) and nobody learns which ids
     * exist. */
    p->decoy = rc == STORE_NOTFOUND;
    snprintf(p->pwhash, sizeof p->pwhash, "%s", p->decoy ? a->decoy : u->pwhash);
    if (!a->workers || pwworker_verify_as(a->workers, p->user, p->pwhash, p->password, password_checked, p) < 0) {
        if (a->workers) { /* queue full */
            p->cb(p->arg, 1236, NULL);
            pending_free(p);
            return;
        }
        password_checked(p, crypto_pwhash_str_verify(p->pwhash, p->password, strlen(p->password)) == 0);
    }
}

static void acct_done(void *arg, int rc)
{
    struct acct_job *j = arg;
    struct auth *a = j->a;
    struct pending *p = j->p;
    if (!a) { /* cancelled by auth_shutdown: its request is gone */
        if (p->code_cb) p->code_cb(p->arg, -1);
        pending_free(p);
    } else {
        acct_unlink(j);
        if (j->stage == 0) acct_loaded(a, p, rc, &j->u);
        else if (j->stage == 1) acct_verified(a, p, rc, &j->u);
        else if (j->stage == 3) {
            rehash_stored(a, p, rc);
            pending_free(p);
        } else {
            int code = method0_verdict(a, p->addr, p->user, p->challenge, p->r6, p->r96, p->locked, rc, &j->u);
            p->code_cb(p->arg, code);
            pending_free(p);
        }
    }
    sodium_memzero(&j->u, sizeof j->u);
    free(j);
}

void auth_password_login(struct auth *a, const char *addr, const char *user, const char *password,
                         auth_login_cb cb, void *arg)
{
    if (a->srv->stopping || a->closed) { /* the hash workers are gone; a slow check on the loop would stall the drain */
        cb(arg, 1236, NULL);
        return;
    }
    double now = rl_now();
    enum lt_verdict v = lt_before(&a->lt, addr, user, now);
    if (v == LT_ADDR || v == LT_LOCKED) {
        log_event(LOG_INFO, addr, user, "login_throttled", v == LT_ADDR ? 1236 : 1213, NULL);
        cb(arg, v == LT_ADDR ? 1236 : 1213, NULL);
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (p) p->password = strdup(password);
    if (!p || !p->password) {
        free(p);
        cb(arg, 1236, NULL);
        return;
    }
    p->a = a;
    p->cb = cb;
    p->arg = arg;
    p->locked = v == LT_OK_LOCKED;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    snprintf(p->user, sizeof p->user, "%s", user);
    /* The account read: on the store worker with PostgreSQL (the request waits, nobody else does). */
    if (acct_queue(a, p, 0) < 0) {
        pending_free(p);
        cb(arg, 1236, NULL);
    }
}

void auth_shutdown(struct auth *a)
{
    if (!a) return;
    a->closed = 1;
    /* Account reads still on the store worker: their callbacks (run later, maybe after auth_free) only
     * free their check, as the hash workers' cancelled checks do. */
    while (a->acct_jobs) {
        struct acct_job *j = a->acct_jobs;
        acct_unlink(j);
        j->a = NULL;
    }
    if (!a->workers) return;
    pwworker_free(a->workers);
    a->workers = NULL;
}

int auth_token_redeem(struct auth *a, const char *token, struct auth_login *out)
{
    double now = rl_now();
    struct token *t = hmap_del(&a->tokens, token);
    if (!t) return -1;
    int alive = t->expires > now;
    char user[NAME_MAX_LEN + 1];
    snprintf(user, sizeof user, "%s", t->user);
    sodium_memzero(t, sizeof *t);
    free(t);
    if (!alive) return -1;
    if (a->logins.len >= (size_t)a->srv->cfg->max_tracked) auth_sweep(a);
    if (a->logins.len >= (size_t)a->srv->cfg->max_tracked) return -1;
    struct auth_login ll, *l = &ll;
    memset(l, 0, sizeof *l);
    snprintf(l->user, sizeof l->user, "%s", user);
    auth_random_text(l->crumb, sizeof l->crumb, 12);
    /* Cookie values look like Yahoo's (v=1&n=… / z=…) but are opaque random text. */
    char r[AUTH_SECRET_LEN - 8];
    auth_random_text(r, sizeof r, 24);
    snprintf(l->y, sizeof l->y, "v=1&n=%s", r);
    auth_random_text(r, sizeof r, 24);
    snprintf(l->t, sizeof l->t, "z=%s", r);
    auth_random_text(l->b, sizeof l->b, 18);
    l->expires = now + (double)a->srv->cfg->crumb_lifetime;
    struct login_rec *rec = rec_new(l, l->crumb, l->expires);
    if (!rec || hmap_put(&a->logins, REC_Y(rec), rec) < 0) {
        rec_free(rec);
        sodium_memzero(l, sizeof *l);
        return -1;
    }
    *out = *l;
    if (a->share) a->share->issued(a->share->arg, l, (double)a->srv->cfg->crumb_lifetime);
    sodium_memzero(l, sizeof *l);
    return 0;
}

void auth_set_share(struct auth *a, const struct auth_share *share) { a->share = share; }

int auth_login_import(struct auth *a, const struct auth_login *in, double ttl)
{
    if (a->logins.len >= (size_t)a->srv->cfg->max_tracked) auth_sweep(a);
    if (a->logins.len >= (size_t)a->srv->cfg->max_tracked || hmap_get(&a->logins, in->y)) return -1;
    struct login_rec *r = rec_new(in, in->crumb, rl_now() + ttl);
    if (!r || hmap_put(&a->logins, REC_Y(r), r) < 0) {
        rec_free(r);
        return -1;
    }
    return 0;
}

void auth_login_forget(struct auth *a, const char *y)
{
    struct hmap *maps[] = {&a->logins, &a->web};
    for (size_t m = 0; m < 2; m++) {
        rec_free(hmap_del(maps[m], y));
    }
}

/* Keeps a spent crumb's Y/T pair for the web; frees l when the table is full (only the web use is lost). */
static int keep_for_web(struct auth *a, struct login_rec *l)
{
    sodium_memzero(REC_CRUMB(l), strlen(REC_CRUMB(l)));
    if (a->web.len >= (size_t)a->srv->cfg->max_tracked) auth_sweep(a);
    if (a->web.len < (size_t)a->srv->cfg->max_tracked && hmap_put(&a->web, REC_Y(l), l) == 0) return 0;
    rec_free(l);
    return -1;
}

void auth_login_spent(struct auth *a, const char *y)
{
    struct login_rec *l = hmap_del(&a->logins, y);
    if (l) keep_for_web(a, l);
}

/* Copies a cookie as presented in 277/278 up to its first ';', without a leading "Y="/"T=". */
static void cookie_core(const char *in, char prefix, char *out, size_t cap)
{
    while (*in == ' ') in++;
    if (in[0] == prefix && in[1] == '=') in += 2;
    size_t n = strcspn(in, ";");
    while (n > 0 && in[n - 1] == ' ') n--;
    if (n >= cap) n = cap - 1;
    memcpy(out, in, n);
    out[n] = 0;
}

int auth_cookie_login(struct auth *a, const char *user, const char *y, const char *t, const char *challenge,
                      const char *resp307)
{
    char yv[256], tv[256], want[25];
    cookie_core(y, 'Y', yv, sizeof yv);
    cookie_core(t, 'T', tv, sizeof tv);
    struct login_rec *l = hmap_del(&a->logins, yv);
    if (!l) {
        /* A replay of a spent crumb ends its cookies for the web too (on every node). */
        if ((l = hmap_del(&a->web, yv))) {
            if (a->share) a->share->used(a->share->arg, REC_USER(l), yv, 0);
            rec_free(l);
            return -1;
        }
        return -2;
    }
    int ok = l->expires > rl_now() && strcmp(REC_USER(l), user) == 0 && ymsg_ct_streq(REC_T(l), tv) &&
             ymsg_auth16_response(REC_CRUMB(l), challenge, want) == 0 && ymsg_ct_streq(want, resp307);
    /* Single use on every node; a good login leaves the Y/T pair to the web on every node too. */
    if (a->share) a->share->used(a->share->arg, REC_USER(l), yv, ok);
    if (ok) {
        /* The crumb is spent; the Y/T pair stays valid for the web (/yab, auth_cookie_user) until it
         * expires or the account is revoked, as Yahoo's cookies did.  A full table only costs the web
         * use, never the login. */
        keep_for_web(a, l);
        return 0;
    }
    rec_free(l);
    return -1;
}

int auth_cookie_user(struct auth *a, const char *y, const char *t, char user[NAME_MAX_LEN + 1])
{
    char yv[256], tv[256];
    if (!y || !t) return -1;
    cookie_core(y, 'Y', yv, sizeof yv);
    cookie_core(t, 'T', tv, sizeof tv);
    const struct login_rec *l = hmap_get(&a->logins, yv);
    if (!l) l = hmap_get(&a->web, yv);
    if (!l || l->expires <= rl_now() || !ymsg_ct_streq(REC_T(l), tv)) return -1;
    snprintf(user, NAME_MAX_LEN + 1, "%s", REC_USER(l));
    return 0;
}

/* A method-0 answer checked against the account row user_get gave (rc, u): the 0x54 code. */
static int method0_verdict(struct auth *a, const char *addr, const char *user, const char *challenge, const char *r6,
                           const char *r96, int locked, int rc, const struct store_user *u)
{
    if (rc != STORE_OK && rc != STORE_NOTFOUND) return 52;
    char e6[25], e96[25];
    /* An unknown account is computed against made-up hashes and fails like a wrong password (13). */
    int found = rc == STORE_OK && u->legacy_p[0] && u->legacy_c[0];
    int ok = ymsg_auth_method0_from_hashes(user, found ? u->legacy_p : "decoyPdecoyPdecoyPdecoyP",
                                           found ? u->legacy_c : "decoyCdecoyCdecoyCdecoyC", challenge, e6, e96) == 0 &&
             ymsg_ct_streq(e6, r6) & ymsg_ct_streq(e96, r96) && found;
    if (!ok) {
        throttle_fail(a, addr, user, rl_now());
        return locked ? 14 : 13;
    }
    return 0;
}

int auth_method0_login(struct auth *a, const char *addr, const char *user, const char *challenge, const char *r6,
                       const char *r96)
{
    enum lt_verdict v = lt_before(&a->lt, addr, user, rl_now());
    if (v == LT_ADDR || v == LT_LOCKED) return 14;
    struct store_user u;
    int rc = a->srv->st->user_get(a->srv->st, user, &u);
    int code = method0_verdict(a, addr, user, challenge, r6, r96, v == LT_OK_LOCKED, rc, &u);
    sodium_memzero(&u, sizeof u);
    return code;
}

void auth_method0_login_async(struct auth *a, const char *addr, const char *user, const char *challenge,
                              const char *r6, const char *r96, auth_code_cb cb, void *arg)
{
    enum lt_verdict v = lt_before(&a->lt, addr, user, rl_now());
    if (v == LT_ADDR || v == LT_LOCKED) {
        cb(arg, 14);
        return;
    }
    struct pending *p = a->closed ? NULL : calloc(1, sizeof *p);
    if (p) p->password = strdup(""); /* pending_free's */
    if (!p || !p->password) {
        free(p);
        cb(arg, 52); /* out of memory (or shutting down): store trouble, come back later */
        return;
    }
    p->a = a;
    p->code_cb = cb;
    p->arg = arg;
    p->locked = v == LT_OK_LOCKED;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    snprintf(p->user, sizeof p->user, "%s", user);
    snprintf(p->challenge, sizeof p->challenge, "%s", challenge);
    snprintf(p->r6, sizeof p->r6, "%s", r6);
    snprintf(p->r96, sizeof p->r96, "%s", r96);
    if (acct_queue(a, p, 2) < 0) {
        pending_free(p);
        cb(arg, 52);
    }
}

size_t auth_hash_queued(struct auth *a)
{
    return a && a->workers ? pwworker_queued(a->workers) : 0;
}
