/* Tokens, crumbs, password checks and login throttling; see auth.h. */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pwworker.h"

struct token {
    char user[NAME_MAX_LEN + 1]; /* account the token logs in */
    double expires;              /* monotonic expiry */
    char tok[AUTH_SECRET_LEN];   /* the token (table key) */
};

struct auth {
    struct server *srv;      /* config and store */
    struct hmap tokens;      /* token -> struct token */
    struct hmap logins;      /* Y cookie value -> struct auth_login */
    struct rl_table addr;    /* per source address: attempt bucket and failure window */
    struct rl_table acct;    /* per account: failure window and lock */
    struct pwworker *workers; /* argon2id checks off the loop (NULL = inline) */
};

struct auth *auth_new(struct server *srv)
{
    struct auth *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->srv = srv;
    hmap_init(&a->tokens);
    hmap_init(&a->logins);
    rl_init(&a->addr, (size_t)srv->cfg->max_tracked, (double)srv->cfg->login_rate, (double)srv->cfg->login_burst);
    rl_init(&a->acct, (size_t)srv->cfg->max_tracked, 1.0, 1.0);
    if (srv->cfg->hash_threads > 0 &&
        !(a->workers = pwworker_new(srv->base, (int)srv->cfg->hash_threads, (size_t)srv->cfg->hash_queue)))
        log_event(LOG_WARN, NULL, NULL, "hash_threads_failed", 0, "verifying passwords in the event loop");
    return a;
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

void auth_free(struct auth *a)
{
    if (!a) return;
    auth_shutdown(a);
    free_map(&a->tokens, sizeof(struct token));
    free_map(&a->logins, sizeof(struct auth_login));
    rl_free(&a->addr);
    rl_free(&a->acct);
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
    pos = 0;
    while (hmap_next(&a->logins, &pos, &k, &v))
        if (((struct auth_login *)v)->expires <= now) {
            hmap_iter_del(&a->logins, &pos);
            free(v);
        }
    double window = (double)a->srv->cfg->fail_window;
    rl_sweep(&a->addr, window, now);
    rl_sweep(&a->acct, window, now);
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

/* Shared throttling front: returns a pwtoken code to answer without checking the password, or 0. */
static int throttle_before(struct auth *a, const char *addr, const char *user, double now, int *acct_locked)
{
    const struct config *cfg = a->srv->cfg;
    double window = (double)cfg->fail_window;
    if (!rl_take(&a->addr, addr, now)) return 1236;
    if (rl_failures(&a->addr, addr, window, now) >= (uint32_t)cfg->addr_max_failures) return 1236;
    struct rl_entry *acct = rl_get(&a->acct, user, 0);
    *acct_locked = acct && acct->locked_until > now;
    if (*acct_locked && rl_failures(&a->addr, addr, window, now) > 0) return 1213;
    return 0;
}

/* Records a failure against address and account; locks the account at the threshold. */
static void throttle_fail(struct auth *a, const char *addr, const char *user, double now)
{
    const struct config *cfg = a->srv->cfg;
    double window = (double)cfg->fail_window;
    rl_fail(&a->addr, addr, window, now);
    if (!user) return;
    uint32_t n = rl_fail(&a->acct, user, window, now);
    struct rl_entry *e = rl_get(&a->acct, user, 0);
    if (e && n >= (uint32_t)cfg->account_max_failures && e->locked_until <= now) {
        e->locked_until = now + (double)cfg->account_lock_time;
        log_event(LOG_WARN, addr, user, "account_locked", 1213, "%u failures in %lds; locked for %lds", n,
                  cfg->fail_window, cfg->account_lock_time);
    }
}

int auth_addr_allowed(struct auth *a, const char *addr) { return rl_take(&a->addr, addr, rl_now()); }

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
};

static void pending_free(struct pending *p)
{
    sodium_memzero(p->password, strlen(p->password));
    free(p->password);
    sodium_memzero(p, sizeof *p);
    free(p);
}

static void password_checked(void *arg, int ok)
{
    struct pending *p = arg;
    struct auth *a = p->a;
    char token[AUTH_SECRET_LEN];
    if (ok < 0) { /* cancelled at shutdown */
        pending_free(p);
        return;
    }
    double now = rl_now();
    int code = 0;
    if (!ok) {
        throttle_fail(a, p->addr, p->user, now);
        code = p->locked ? 1213 : 1212;
        log_event(LOG_INFO, p->addr, p->user, "password_rejected", code, NULL);
    } else {
        /* Fill in the method-0 hashes if legacy logins were enabled after the account was created. */
        struct store_user u;
        if (a->srv->cfg->legacy_auth && a->srv->st->user_get(a->srv->st, p->user, &u) == STORE_OK &&
            (!u.legacy_p[0] || !u.legacy_c[0])) {
            char pp[25], cc[25];
            if (ymsg_auth_method0_hashes(p->password, pp, cc) == 0)
                a->srv->st->user_set_password(a->srv->st, p->user, u.pwhash, pp, cc);
        }
        sodium_memzero(&u, sizeof u);
        code = issue_token(a, p->user, now, token);
    }
    p->cb(p->arg, code, code == 0 ? token : NULL);
    sodium_memzero(token, sizeof token);
    pending_free(p);
}

void auth_password_login(struct auth *a, const char *addr, const char *user, const char *password,
                         auth_login_cb cb, void *arg)
{
    double now = rl_now();
    int locked = 0;
    int code = throttle_before(a, addr, user, now, &locked);
    if (code) {
        cb(arg, code, NULL);
        return;
    }
    struct store_user u;
    int rc = a->srv->st->user_get(a->srv->st, user, &u);
    if (rc == STORE_NOTFOUND) {
        throttle_fail(a, addr, NULL, now);
        cb(arg, 1235, NULL);
        return;
    }
    struct pending *p = rc == STORE_OK ? calloc(1, sizeof *p) : NULL;
    if (p) p->password = strdup(password);
    if (!p || !p->password) {
        free(p);
        sodium_memzero(&u, sizeof u);
        cb(arg, 1236, NULL); /* backend trouble: ask the client to come back later */
        return;
    }
    p->a = a;
    p->cb = cb;
    p->arg = arg;
    p->locked = locked;
    snprintf(p->pwhash, sizeof p->pwhash, "%s", u.pwhash);
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    snprintf(p->user, sizeof p->user, "%s", user);
    sodium_memzero(&u, sizeof u);
    if (!a->workers || pwworker_verify(a->workers, p->pwhash, p->password, password_checked, p) < 0) {
        if (a->workers) { /* queue full */
            pending_free(p);
            cb(arg, 1236, NULL);
            return;
        }
        password_checked(p, crypto_pwhash_str_verify(p->pwhash, p->password, strlen(p->password)) == 0);
    }
}

void auth_shutdown(struct auth *a)
{
    if (!a || !a->workers) return;
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
    struct auth_login *l = calloc(1, sizeof *l);
    if (!l) return -1;
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
    if (hmap_put(&a->logins, l->y, l) < 0) {
        free(l);
        return -1;
    }
    *out = *l;
    return 0;
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
    struct auth_login *l = hmap_del(&a->logins, yv);
    if (!l) return -1;
    int ok = l->expires > rl_now() && strcmp(l->user, user) == 0 && ymsg_ct_streq(l->t, tv) &&
             ymsg_auth16_response(l->crumb, challenge, want) == 0 && ymsg_ct_streq(want, resp307);
    sodium_memzero(l, sizeof *l);
    free(l);
    return ok ? 0 : -1;
}

int auth_method0_login(struct auth *a, const char *addr, const char *user, const char *challenge, const char *r6,
                       const char *r96)
{
    double now = rl_now();
    int locked = 0;
    int code = throttle_before(a, addr, user, now, &locked);
    if (code) return 14;
    struct store_user u;
    int rc = a->srv->st->user_get(a->srv->st, user, &u);
    if (rc == STORE_NOTFOUND) {
        throttle_fail(a, addr, NULL, now);
        return 3;
    }
    if (rc != STORE_OK) return 52;
    char e6[25], e96[25];
    int ok = u.legacy_p[0] && u.legacy_c[0] &&
             ymsg_auth_method0_from_hashes(user, u.legacy_p, u.legacy_c, challenge, e6, e96) == 0 &&
             ymsg_ct_streq(e6, r6) & ymsg_ct_streq(e96, r96);
    sodium_memzero(&u, sizeof u);
    if (!ok) {
        throttle_fail(a, addr, user, now);
        return locked ? 14 : 13;
    }
    return 0;
}
