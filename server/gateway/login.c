/* AMF gateway logins: user/password checks under ymsgd's one login throttle, the decoy check of
 * unknown accounts, the session's identity rotation at login, logout; see internal.h (gw_login). */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "pwworker.h"
#include "store.h"
#include "store_async.h"
#include "internal.h"

/* ------------------------------------------------------------------------------------------------
 * Login and throttling (ymsgd's one login throttle, lent by gateway_set_throttle)
 * ---------------------------------------------------------------------------------------------- */

/* Lower-cases a Yahoo-style id (1..32 of [A-Za-z0-9._-], starting with a letter or digit). */
static int normalize_user(const char *in, size_t len, char out[GW_USER_MAX + 1])
{
    if (len == 0 || len > GW_USER_MAX || !isalnum((unsigned char)in[0])) return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == '-')) return -1;
        out[i] = (char)tolower(ch);
    }
    out[len] = 0;
    return 0;
}

static void cred_mac(const struct gateway *gw, const char *pw, size_t plen, uint8_t out[16])
{
    crypto_generichash(out, 16, (const uint8_t *)pw, plen, gw->mac_key, sizeof gw->mac_key);
}

static void login_failed(struct gateway *gw, const char *peer, const char *user, double now)
{
    if (lt_fail(gw->lt, peer, user, now))
        log_event(LOG_WARN, peer, user, "amf_account_locked", 0, "%u failures in %.0fs; locked for %.0fs",
                  gw->lt->cfg.account_max_failures, gw->lt->cfg.fail_window, gw->lt->cfg.lock_time);
}

/* After the password check: counts a failure, or attaches the user to the call's session. */
static int login_verdict(struct gw_call *call, const char *peer, const char *name, const uint8_t mac[16], int ok,
                         double now)
{
    struct gateway *gw = call->gw;
    if (!ok) {
        login_failed(gw, peer, name, now);
        log_event(LOG_INFO, peer, name, "amf_login_failed", 0, "wrong password");
        metrics_login(MET_LOGIN_AMF, 1212);
        return 0;
    }
    if (!call->sess && !(call->sess = gw_session_new(gw)))
        return gw_fault(call, GW_FAULT_BUSY, "too many sessions; try again later");
    snprintf(call->sess->user, sizeof call->sess->user, "%s", name);
    memcpy(call->sess->cred_mac, mac, 16);
    call->sess->has_cred = 1;
    /* Against fixation (issue 9 item 4): whoever created the session (its cookie or its DSId) loses
     * it now.  A client that sent a cookie keeps one, so from now on its DSId is honoured only with
     * that cookie; a cookie-less client must use the DSId of this reply (the headers' DSId). */
    call->sess->bound = call->req && call->req->in.cookie;
    if (gw_session_rotate(gw, call->sess) < 0) {
        call->sess->user[0] = 0;
        call->sess->has_cred = 0;
        return gw_fault(call, GW_FAULT_BUSY, "out of memory");
    }
    gw_session_publish(gw, call->sess); /* valid on every node of a cluster */
    gw_pbcache_drop(gw, name);
    log_event(LOG_INFO, peer, name, "amf_login", 0, NULL);
    metrics_login(MET_LOGIN_AMF, 0);
    return 1;
}

static void hash_digest(const char *pwhash, uint8_t out[16])
{
    crypto_generichash(out, 16, (const uint8_t *)pwhash, strlen(pwhash), NULL, 0);
}

/* An account read on the store worker for a request that may wait (PostgreSQL: no round trip on the
 * loop); the request is suspended and runs again with the answer (rq->acct_ready, gw_store_done). */
struct acct_job {
    struct gw_req *rq;              /* the waiting request (alive until gw_store_done) */
    char user[GW_USER_MAX + 1];     /* the account */
    int rc;                         /* user_get's code (worker) */
    char pwhash[256];               /* the stored hash (worker) */
};

static int acct_job_run(struct store *st, void *arg)
{
    struct acct_job *j = arg;
    struct store_user u;
    j->rc = st->user_get(st, j->user, &u);
    if (j->rc == STORE_OK) snprintf(j->pwhash, sizeof j->pwhash, "%s", u.pwhash);
    sodium_memzero(&u, sizeof u);
    return j->rc;
}

static void acct_job_done(void *arg, int rc)
{
    (void)rc;
    struct acct_job *j = arg;
    struct gw_req *rq = j->rq;
    rq->acct_ready = 1;
    rq->acct_rc = j->rc;
    snprintf(rq->acct_user, sizeof rq->acct_user, "%s", j->user);
    memcpy(rq->acct_hash, j->pwhash, sizeof rq->acct_hash);
    sodium_memzero(j, sizeof *j);
    free(j);
    /* Run inline (SQLite, or a full queue: store_async_run did the job at once): acct_read goes on. */
    if (rq->suspended) gw_store_done(rq); /* the login runs again with the answer */
}

/* user's row (its hash in pwhash when STORE_OK): 1 when the request was suspended for the store worker
 * (the login runs again with rq->acct_ready), else 0 with *rc and pwhash filled. */
static int acct_read(struct gw_call *call, const char *user, int *rc, char pwhash[256])
{
    struct gateway *gw = call->gw;
    struct gw_req *rq = call->req;
    if (rq && rq->acct_ready && !strcmp(rq->acct_user, user)) {
        rq->acct_ready = 0;
        *rc = rq->acct_rc;
        memcpy(pwhash, rq->acct_hash, 256);
        sodium_memzero(rq->acct_hash, sizeof rq->acct_hash);
        return 0;
    }
    if (rq && rq->async && gw->sa) {
        struct acct_job *j = calloc(1, sizeof *j);
        if (j) {
            j->rq = rq;
            snprintf(j->user, sizeof j->user, "%s", user);
            if (store_async_run(gw->sa, gw->st, acct_job_run, acct_job_done, j) == 0) {
                if (rq->acct_ready) return acct_read(call, user, rc, pwhash);
                rq->suspended = 1;
                return 1;
            }
            free(j);
        }
        /* out of memory: read it here */
    }
    struct store_user u;
    *rc = gw->st->user_get(gw->st, user, &u);
    if (*rc == STORE_OK) memcpy(pwhash, u.pwhash, 256);
    sodium_memzero(&u, sizeof u);
    return 0;
}

/* Whether user still has the stored hash whose digest is want: 1 yes, 0 no, -1 the request waits for
 * the store worker (it runs again). */
static int account_unchanged(struct gw_call *call, const char *user, const uint8_t want[16])
{
    char pwhash[256];
    uint8_t now[16];
    int rc;
    if (acct_read(call, user, &rc, pwhash)) return -1;
    if (rc != STORE_OK) return 0;
    hash_digest(pwhash, now);
    sodium_memzero(pwhash, sizeof pwhash);
    return sodium_memcmp(now, want, sizeof now) == 0;
}

int gw_login(struct gw_call *call, const char *user, size_t ulen, const char *password, size_t plen)
{
    struct gateway *gw = call->gw;
    struct gw_req *rq = call->req;
    const char *peer = call->peer ? call->peer : "";
    char name[GW_USER_MAX + 1];
    double now = rl_now();
    uint8_t mac[16];
    int valid = normalize_user(user, ulen, name) == 0 && plen <= GW_MAX_PASSWORD && !memchr(password, 0, plen);
    if (valid) cred_mac(gw, password, plen, mac);
    /* A session already holding this user with this password (a classic client resending its
     * Credentials header on every call) skips the expensive hash. */
    if (valid && call->sess && call->sess->has_cred && !strcmp(call->sess->user, name) &&
        sodium_memcmp(call->sess->cred_mac, mac, sizeof mac) == 0) {
        gw_pbcache_drop(gw, name); /* a login always re-reads the stored phonebook */
        return 1;
    }
    /* The re-run after a worker's answer: throttling and the lock were checked the first time. */
    if (valid && rq && rq->have_verdict && !strcmp(rq->v_user, name) &&
        sodium_memcmp(rq->v_mac, mac, sizeof mac) == 0) {
        int ok = rq->verdict && !rq->v_decoy;
        int same = ok ? account_unchanged(call, name, rq->v_hash) : 1;
        if (same < 0) return gw_fault(call, GW_FAULT_BUSY, "login in progress"); /* runs again: the verdict stays */
        rq->have_verdict = 0;
        if (!same) {
            /* `ymsgd user passwd|del` (revocation) came in while the hash worker ran. */
            log_event(LOG_INFO, peer, name, "amf_login_failed", 0, "account changed during the check");
            return 0;
        }
        return login_verdict(call, peer, name, mac, ok, now);
    }
    /* The re-run after the store worker's account read: throttling and the lock were checked before. */
    if (valid && rq && rq->acct_ready && !strcmp(rq->acct_user, name)) goto check;
    enum lt_verdict v = lt_before(gw->lt, peer, valid ? name : NULL, now);
    if (v == LT_ADDR) {
        log_event(LOG_INFO, peer, valid ? name : NULL, "amf_login_throttled", 0, NULL);
        metrics_login(MET_LOGIN_AMF, 1236);
        return gw_fault(call, GW_FAULT_AUTH, "too many login attempts from this address; try again later");
    }
    if (!valid) {
        login_failed(gw, peer, NULL, now);
        return 0;
    }
    if (v == LT_LOCKED) { /* no check, and not counted: the owner's clean address must stay clean */
        log_event(LOG_INFO, peer, name, "amf_login_locked", 0, NULL);
        metrics_login(MET_LOGIN_AMF, 1213);
        return 0;
    }
check:;
    struct store_user u;
    int rc;
    if (acct_read(call, name, &rc, u.pwhash)) {
        sodium_memzero(&u, sizeof u);
        return gw_fault(call, GW_FAULT_BUSY, "login in progress"); /* runs again with the row */
    }
    int decoy = rc == STORE_NOTFOUND && gw->decoy[0];
    if (rc == STORE_NOTFOUND && !decoy) {
        login_failed(gw, peer, name, now);
        log_event(LOG_INFO, peer, name, "amf_login_failed", 0, "no such user");
        return 0;
    }
    if (rc != STORE_OK && !decoy) return gw_fault(call, GW_FAULT_BUSY, "account store unavailable; try again later");
    /* An unknown account costs the same check as a known one (against the decoy) and fails. */
    if (decoy) snprintf(u.pwhash, sizeof u.pwhash, "%s", gw->decoy);
    char pwz[GW_MAX_PASSWORD + 1];
    memcpy(pwz, password, plen);
    pwz[plen] = 0;
    if (rq && rq->async && gw->pw) {
        /* Off the loop: the request waits, everybody else goes on. */
        int q = pwworker_verify_as(gw->pw, name, u.pwhash, pwz, gw_login_checked, rq);
        hash_digest(u.pwhash, rq->v_hash);
        sodium_memzero(pwz, sizeof pwz);
        sodium_memzero(&u, sizeof u);
        if (q < 0) {
            log_event(LOG_WARN, peer, name, "amf_login_busy", 0, "password check queue full");
            return gw_fault(call, GW_FAULT_BUSY, "too many logins in progress; try again later");
        }
        snprintf(rq->v_user, sizeof rq->v_user, "%s", name);
        memcpy(rq->v_mac, mac, sizeof mac);
        rq->v_decoy = decoy;
        rq->suspended = 1;
        return gw_fault(call, GW_FAULT_BUSY, "login in progress");
    }
    int ok = crypto_pwhash_str_verify(u.pwhash, pwz, plen) == 0 && !decoy;
    sodium_memzero(pwz, sizeof pwz);
    sodium_memzero(&u, sizeof u);
    return login_verdict(call, peer, name, mac, ok, rl_now());
}

void gw_logout(struct gw_call *call)
{
    if (!call->sess) return;
    if (call->sess->user[0]) log_event(LOG_INFO, call->peer, call->sess->user, "amf_logout", 0, NULL);
    gw_session_unpublish(call->gw, call->sess); /* logged out on every node */
    call->sess->user[0] = 0;
    call->sess->has_cred = 0;
    sodium_memzero(call->sess->cred_mac, sizeof call->sess->cred_mac);
}
