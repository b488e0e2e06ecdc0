/* ymsgd start-up glue: the gateway's settings from ymsgd's config (the amf_* knobs, plus the login
 * throttling (ymsgd's one login throttle) and hash_threads/hash_queue knobs), then the routes. */
#include <stdio.h>

#include "auth.h"
#include "cluster.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "internal.h"

static size_t revoke_cb(void *arg, const char *user) { return gateway_revoke_user(arg, user); }

/* /yab: the account of a Y/T pair from pwtoken_login (as long as the pager would take it); a wrong
 * pair is a failed login of the address. */
static int cookie_cb(void *arg, const char *peer, const char *y, const char *t, char *user, size_t cap)
{
    struct auth *a = arg;
    char u[NAME_MAX_LEN + 1];
    if (auth_cookie_user(a, y, t, u) < 0) {
        auth_login_failed(a, peer, NULL);
        return -1;
    }
    snprintf(user, cap, "%s", u);
    return 0;
}

/* A cluster: logged-in AMF sessions valid on every node (gateway.h struct gw_share, cluster.h struct
 * cluster_gw).  One gateway per process. */
static void share_publish(void *arg, const char *user, int op, const char *cookie, const char *dsid, int bound)
{
    cluster_gw_publish(arg, user, op, cookie, dsid, bound);
}
static int share_import(void *arg, const char *user, const char *cookie, const char *dsid, int bound)
{
    return gateway_session_import(arg, user, cookie, dsid, bound);
}
static void share_end(void *arg, const char *cookie) { gateway_session_end(arg, cookie); }
static void share_used(void *arg, const char *cookie) { gateway_session_used(arg, cookie); }
static struct gw_share g_share;
static struct cluster_gw g_cluster_gw;

struct gateway *gateway_start(struct server *srv, char *err, size_t errlen)
{
    const struct config *k = srv->cfg;
    struct gateway_config c;
    gateway_config_default(&c);
    /* The gateway's own limit must answer (an AMF fault the client can show), not the HTTP layer's
     * plain 413 (issue 9 item 10). */
    if (k->amf_max_body >= k->http_max_body) {
        snprintf(err, errlen,
                 "amf_max_body (%ld) must be smaller than http_max_body (%ld), so that the gateway answers an "
                 "oversized request with an AMF fault instead of the HTTP layer's 413",
                 k->amf_max_body, k->http_max_body);
        return NULL;
    }
    c.max_body = (size_t)k->amf_max_body;
    c.max_depth = (uint32_t)k->amf_max_depth;
    c.max_elements = (uint32_t)k->amf_max_elements;
    c.max_sessions = k->amf_max_sessions;
    c.session_idle = k->amf_session_idle;
    c.phonebook_max = k->amf_phonebook_max;
    /* In a cluster another node may write a phonebook this node holds: no copies, the store decides. */
    c.phonebook_cache = srv->cluster ? 0 : (size_t)k->amf_phonebook_cache;
    c.crossdomain = k->amf_crossdomain;
    c.crossdomain_secure = k->amf_crossdomain_secure;
    auth_throttle_config(k, &c.throttle);
    c.yab_max_body = (size_t)k->yab_max_body;
    c.yab_max_value = (size_t)k->yab_max_value;
    c.yab_max_records = (uint32_t)k->yab_max_records;
    c.yab_max_reply = (size_t)k->yab_max_reply;
    struct gateway *gw = gateway_new(&c, srv->st, err, errlen);
    if (!gw) return NULL;
    /* One throttle for every login path: the gateway's failures and budget are the token login's. */
    gateway_set_throttle(gw, auth_throttle(srv->auth), auth_decoy_hash(srv->auth));
    gateway_set_cookie_auth(gw, cookie_cb, srv->auth);
    gateway_set_store_async(gw, srv->sa);
    /* Revoking a user (password change, deletion) ends their AMF sessions too. */
    if (auth_on_revoke(srv->auth, revoke_cb, gw) < 0) {
        snprintf(err, errlen, "gateway: cannot register the revoker");
        gateway_free(gw);
        return NULL;
    }
    /* The same pool size and queue bound as the token login, but its own threads. */
    if (gateway_set_workers(gw, srv->base, (int)k->hash_threads, (size_t)k->hash_queue) < 0)
        log_event(LOG_WARN, NULL, NULL, "amf_hash_threads_failed", 0, "verifying gateway passwords in the event loop");
    gateway_set_pwcache(gw, auth_pwcache(srv->auth)); /* one cache for both pools: a login is a login */
    if (srv->cluster) { /* cluster_start ran first */
        g_share = (struct gw_share){share_publish, srv};
        g_cluster_gw = (struct cluster_gw){share_import, share_end, share_used, gw};
        gateway_set_share(gw, &g_share);
        cluster_gw_attach(srv, &g_cluster_gw);
    }
    if (gateway_register(gw, srv->http) < 0) {
        snprintf(err, errlen, "gateway: cannot register the HTTP routes");
        gateway_free(gw);
        return NULL;
    }
    return gw;
}
