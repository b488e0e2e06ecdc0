/* Store latency for /metrics; see store_metrics.h.  Every wrapper times the backend's own call and files
 * it under its operation class. */
#include "store_metrics.h"

#include <string.h>

#include "metrics.h"

static struct store g_inner; /* the backend's own function table (one store per process) */
static int g_wrapped;        /* g_inner holds it */

static int sm_user_add(struct store *st, const char *name, const char *pwhash, const char *legacy_p, const char *legacy_c)
{
    double t0 = metrics_now();
    int rc = g_inner.user_add(st, name, pwhash, legacy_p, legacy_c);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_user_del(struct store *st, const char *name)
{
    double t0 = metrics_now();
    int rc = g_inner.user_del(st, name);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_user_get(struct store *st, const char *name, struct store_user *out)
{
    double t0 = metrics_now();
    int rc = g_inner.user_get(st, name, out);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_user_set_password(struct store *st, const char *name, const char *pwhash, const char *legacy_p, const char *legacy_c)
{
    double t0 = metrics_now();
    int rc = g_inner.user_set_password(st, name, pwhash, legacy_p, legacy_c);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_user_rehash(struct store *st, const char *name, const char *old_hash, const char *new_hash)
{
    double t0 = metrics_now();
    int rc = g_inner.user_rehash(st, name, old_hash, new_hash);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_user_list(struct store *st, store_name_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.user_list(st, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_user_exists(struct store *st, const char *name)
{
    double t0 = metrics_now();
    int rc = g_inner.user_exists(st, name);
    metrics_observe(&g_metrics.store[MET_ST_ACCOUNT], metrics_now() - t0);
    return rc;
}

static int sm_buddy_list(struct store *st, const char *owner, store_buddy_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_list(st, owner, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_get(struct store *st, const char *owner, const char *buddy, int *pending, int *stealth)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_get(st, owner, buddy, pending, stealth);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_count(struct store *st, const char *owner)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_count(st, owner);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_add(struct store *st, const char *owner, const char *buddy, const char *group, int pending)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_add(st, owner, buddy, group, pending);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_del(struct store *st, const char *owner, const char *buddy)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_del(st, owner, buddy);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_set_pending(struct store *st, const char *owner, const char *buddy, int pending)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_set_pending(st, owner, buddy, pending);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_set_group(struct store *st, const char *owner, const char *buddy, const char *group)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_set_group(st, owner, buddy, group);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_buddy_set_stealth(struct store *st, const char *owner, const char *buddy, int stealth)
{
    double t0 = metrics_now();
    int rc = g_inner.buddy_set_stealth(st, owner, buddy, stealth);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_group_rename(struct store *st, const char *owner, const char *old_group, const char *new_group)
{
    double t0 = metrics_now();
    int rc = g_inner.group_rename(st, owner, old_group, new_group);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_watchers(struct store *st, const char *buddy, store_name_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.watchers(st, buddy, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_BUDDY], metrics_now() - t0);
    return rc;
}

static int sm_authreq_put(struct store *st, const char *requester, const char *target, const char *msg)
{
    double t0 = metrics_now();
    int rc = g_inner.authreq_put(st, requester, target, msg);
    metrics_observe(&g_metrics.store[MET_ST_AUTHREQ], metrics_now() - t0);
    return rc;
}

static int sm_authreq_del(struct store *st, const char *requester, const char *target)
{
    double t0 = metrics_now();
    int rc = g_inner.authreq_del(st, requester, target);
    metrics_observe(&g_metrics.store[MET_ST_AUTHREQ], metrics_now() - t0);
    return rc;
}

static int sm_authreq_list(struct store *st, const char *target, store_authreq_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.authreq_list(st, target, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_AUTHREQ], metrics_now() - t0);
    return rc;
}

static int sm_ignore_add(struct store *st, const char *owner, const char *who)
{
    double t0 = metrics_now();
    int rc = g_inner.ignore_add(st, owner, who);
    metrics_observe(&g_metrics.store[MET_ST_IGNORE], metrics_now() - t0);
    return rc;
}

static int sm_ignore_del(struct store *st, const char *owner, const char *who)
{
    double t0 = metrics_now();
    int rc = g_inner.ignore_del(st, owner, who);
    metrics_observe(&g_metrics.store[MET_ST_IGNORE], metrics_now() - t0);
    return rc;
}

static int sm_ignore_check(struct store *st, const char *owner, const char *who)
{
    double t0 = metrics_now();
    int rc = g_inner.ignore_check(st, owner, who);
    metrics_observe(&g_metrics.store[MET_ST_IGNORE], metrics_now() - t0);
    return rc;
}

static int sm_ignore_list(struct store *st, const char *owner, store_name_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.ignore_list(st, owner, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_IGNORE], metrics_now() - t0);
    return rc;
}

static int sm_offline_deposit(struct store *st, const struct store_deposit *d)
{
    double t0 = metrics_now();
    int rc = g_inner.offline_deposit(st, d);
    metrics_observe(&g_metrics.store[MET_ST_OFFLINE], metrics_now() - t0);
    return rc;
}

static int sm_offline_page(struct store *st, const char *to, int64_t after, int limit, store_offline_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.offline_page(st, to, after, limit, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_OFFLINE], metrics_now() - t0);
    return rc;
}

static int sm_offline_clear_delivered(struct store *st, const char *to)
{
    double t0 = metrics_now();
    int rc = g_inner.offline_clear_delivered(st, to);
    metrics_observe(&g_metrics.store[MET_ST_OFFLINE], metrics_now() - t0);
    return rc;
}

static int sm_offline_add(struct store *st, const char *to, const char *from, const char *text, int64_t time, int utf8, long max)
{
    double t0 = metrics_now();
    int rc = g_inner.offline_add(st, to, from, text, time, utf8, max);
    metrics_observe(&g_metrics.store[MET_ST_OFFLINE], metrics_now() - t0);
    return rc;
}

static int sm_offline_list(struct store *st, const char *to, store_offline_cb cb, void *arg)
{
    double t0 = metrics_now();
    int rc = g_inner.offline_list(st, to, cb, arg);
    metrics_observe(&g_metrics.store[MET_ST_OFFLINE], metrics_now() - t0);
    return rc;
}

static int sm_offline_del_upto(struct store *st, const char *to, int64_t upto)
{
    double t0 = metrics_now();
    int rc = g_inner.offline_del_upto(st, to, upto);
    metrics_observe(&g_metrics.store[MET_ST_OFFLINE], metrics_now() - t0);
    return rc;
}

static long sm_phonebook_get(struct store *st, const char *user, uint8_t **data)
{
    double t0 = metrics_now();
    long rc = g_inner.phonebook_get(st, user, data);
    metrics_observe(&g_metrics.store[MET_ST_PHONEBOOK], metrics_now() - t0);
    return rc;
}

static int sm_phonebook_put(struct store *st, const char *user, const uint8_t *data, size_t len)
{
    double t0 = metrics_now();
    int rc = g_inner.phonebook_put(st, user, data, len);
    metrics_observe(&g_metrics.store[MET_ST_PHONEBOOK], metrics_now() - t0);
    return rc;
}

static void sm_close(struct store *st)
{
    struct store inner = g_inner;
    g_wrapped = 0;
    inner.close(st);
}

void store_metrics_wrap(struct store *st)
{
    if (!st || g_wrapped) return;
    g_inner = *st;
    g_wrapped = 1;
    st->close = sm_close;
    if (st->user_add) st->user_add = sm_user_add;
    if (st->user_del) st->user_del = sm_user_del;
    if (st->user_get) st->user_get = sm_user_get;
    if (st->user_set_password) st->user_set_password = sm_user_set_password;
    if (st->user_rehash) st->user_rehash = sm_user_rehash;
    if (st->user_list) st->user_list = sm_user_list;
    if (st->user_exists) st->user_exists = sm_user_exists;
    if (st->buddy_list) st->buddy_list = sm_buddy_list;
    if (st->buddy_get) st->buddy_get = sm_buddy_get;
    if (st->buddy_count) st->buddy_count = sm_buddy_count;
    if (st->buddy_add) st->buddy_add = sm_buddy_add;
    if (st->buddy_del) st->buddy_del = sm_buddy_del;
    if (st->buddy_set_pending) st->buddy_set_pending = sm_buddy_set_pending;
    if (st->buddy_set_group) st->buddy_set_group = sm_buddy_set_group;
    if (st->buddy_set_stealth) st->buddy_set_stealth = sm_buddy_set_stealth;
    if (st->group_rename) st->group_rename = sm_group_rename;
    if (st->watchers) st->watchers = sm_watchers;
    if (st->authreq_put) st->authreq_put = sm_authreq_put;
    if (st->authreq_del) st->authreq_del = sm_authreq_del;
    if (st->authreq_list) st->authreq_list = sm_authreq_list;
    if (st->ignore_add) st->ignore_add = sm_ignore_add;
    if (st->ignore_del) st->ignore_del = sm_ignore_del;
    if (st->ignore_check) st->ignore_check = sm_ignore_check;
    if (st->ignore_list) st->ignore_list = sm_ignore_list;
    if (st->offline_deposit) st->offline_deposit = sm_offline_deposit;
    if (st->offline_page) st->offline_page = sm_offline_page;
    if (st->offline_clear_delivered) st->offline_clear_delivered = sm_offline_clear_delivered;
    if (st->offline_add) st->offline_add = sm_offline_add;
    if (st->offline_list) st->offline_list = sm_offline_list;
    if (st->offline_del_upto) st->offline_del_upto = sm_offline_del_upto;
    if (st->phonebook_get) st->phonebook_get = sm_phonebook_get;
    if (st->phonebook_put) st->phonebook_put = sm_phonebook_put;
}
