/* The password verification cache in Redis; see pwshare.h.  A lost answer (Redis down or gone)
 * counts as a miss: the login then pays the hash, nothing worse. */
#include "pwshare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "pwcache.h"

#define CL_PWC "ymsg:pwc:" /* + hex MAC: a verified password, with the cache's ttl */
#define CL_PWC_KEY (sizeof CL_PWC + PWCACHE_MAC_LEN * 2) /* key text with its 0 */

/* A GET in flight. */
struct cl_pwc_ask {
    pwcache_done_fn done; /* pwworker's continuation */
    void *ticket;         /* its argument */
};

static void cl_pwc_key(const uint8_t mac[PWCACHE_MAC_LEN], char key[CL_PWC_KEY])
{
    memcpy(key, CL_PWC, sizeof CL_PWC - 1);
    sodium_bin2hex(key + sizeof CL_PWC - 1, PWCACHE_MAC_LEN * 2 + 1, mac, PWCACHE_MAC_LEN);
}

static void cl_pwc_got(redisAsyncContext *ac, void *reply, void *arg)
{
    redisReply *r = reply;
    struct cl_pwc_ask *q = arg;
    cl_reply_seen(ac);
    int hit = r && r->type == REDIS_REPLY_STRING;
    pwcache_done_fn done = q->done;
    void *ticket = q->ticket;
    free(q);
    done(ticket, hit);
}

static int cl_pwc_get(void *arg, const uint8_t mac[PWCACHE_MAC_LEN], pwcache_done_fn done, void *ticket)
{
    char key[CL_PWC_KEY];
    struct cl_pwc_ask *q = malloc(sizeof *q);
    if (!q) return -1;
    q->done = done;
    q->ticket = ticket;
    cl_pwc_key(mac, key);
    const char *v[2] = {"GET", key};
    size_t l[2] = {3, strlen(key)};
    if (cl_send(arg, cl_pwc_got, q, 2, v, l) < 0) {
        free(q);
        return -1;
    }
    return 0;
}

static void cl_pwc_set(redisAsyncContext *ac, void *reply, void *arg)
{
    (void)reply;
    (void)arg;
    cl_reply_seen(ac);
}

static void cl_pwc_put(void *arg, const uint8_t mac[PWCACHE_MAC_LEN], long ttl)
{
    char key[CL_PWC_KEY], secs[24];
    cl_pwc_key(mac, key);
    snprintf(secs, sizeof secs, "%ld", ttl);
    const char *v[5] = {"SET", key, "1", "EX", secs};
    size_t l[5] = {3, strlen(key), 1, 2, strlen(secs)};
    cl_send(arg, cl_pwc_set, NULL, 5, v, l); /* not connected: this node keeps it; others hash once */
}

struct pwcache_remote *cl_pwc_new(struct cluster *cl)
{
    struct pwcache_remote *r = malloc(sizeof *r);
    if (!r) return NULL;
    r->get = cl_pwc_get;
    r->put = cl_pwc_put;
    r->arg = cl;
    return r;
}
