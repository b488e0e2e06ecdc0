/* The Phonebook service of the seed's "Using amf in flex" post, backed by ymsgd's accounts and store:
 *   login(user, password) -> true | false    (argon2id check, throttled; the session remembers it)
 *   sync([list])          -> the stored list  (stores list first when it is a non-empty array)
 *   logout()              -> true
 * The list is kept losslessly: the blob is one format byte (0 = AMF0, 3 = AMF3, matching how the
 * client sent it) followed by that encoding of the list, so typed objects (a Flex PhoneEntry class),
 * ArrayCollections, dates and references come back exactly as they were sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_async.h"
#include "internal.h"

static int pb_login(struct gw_call *call, struct amf_value **result)
{
    const struct amf_value *u = call->args[0], *p = call->args[1];
    int rc = gw_login(call, u->u.s.ptr, u->u.s.len, p->u.s.ptr, p->u.s.len);
    if (rc < 0) return -1;
    *result = amf_new_bool(call->arena, rc == 1);
    return *result ? 0 : gw_fault(call, GW_FAULT_BUSY, "out of memory");
}

static int pb_logout(struct gw_call *call, struct amf_value **result)
{
    gw_logout(call);
    *result = amf_new_bool(call->arena, 1);
    return *result ? 0 : gw_fault(call, GW_FAULT_BUSY, "out of memory");
}

/* ------------------------------------------------------------------------------------------------
 * Blob cache: reads are the common call (a Flex client syncs on every screen), and a SQLite read
 * transaction costs more than the rest of the request.  The gateway is the only writer of
 * phonebooks while ymsgd runs, so writes go through the cache; a login drops the user's entry so a
 * change made by another process (ymsgd user del / add) is seen after the next login.  Bounded by
 * cfg.phonebook_cache bytes, least recently used entries go first.
 * ---------------------------------------------------------------------------------------------- */

/* The most and least recently used entries, or NULL. */
#define PB_TAIL(gw) ((struct gw_pbcache *)(gw)->pb_lru.tail)
#define PB_HEAD(gw) ((struct gw_pbcache *)(gw)->pb_lru.head)

static void pb_remove(struct gateway *gw, struct gw_pbcache *e)
{
    hmap_del(&gw->pb_cache, e->user);
    gw_lru_unlink(&gw->pb_lru, &e->link);
    gw->pb_bytes -= e->len;
    free(e->blob);
    free(e);
}

const struct gw_pbcache *gw_pbcache_get(struct gateway *gw, const char *user)
{
    struct gw_pbcache *e = hmap_get(&gw->pb_cache, user);
    if (e && PB_HEAD(gw) != e) {
        gw_lru_unlink(&gw->pb_lru, &e->link);
        gw_lru_push_front(&gw->pb_lru, &e->link);
    }
    return e;
}

void gw_pbcache_drop(struct gateway *gw, const char *user)
{
    struct gw_pbcache *e = hmap_get(&gw->pb_cache, user);
    if (e) pb_remove(gw, e);
}

void gw_pbcache_put(struct gateway *gw, const char *user, const uint8_t *blob, size_t len)
{
    gw_pbcache_drop(gw, user);
    if (!gw->cfg.phonebook_cache || len > gw->cfg.phonebook_cache / 4) return; /* one user may not flush all */
    while (PB_TAIL(gw) && gw->pb_bytes + len > gw->cfg.phonebook_cache) pb_remove(gw, PB_TAIL(gw));
    struct gw_pbcache *e = calloc(1, sizeof *e);
    uint8_t *copy = malloc(len ? len : 1);
    if (!e || !copy) {
        free(e);
        free(copy);
        return;
    }
    if (len) memcpy(copy, blob, len);
    snprintf(e->user, sizeof e->user, "%s", user);
    e->blob = copy;
    e->len = len;
    if (hmap_put(&gw->pb_cache, e->user, e) < 0) {
        free(copy);
        free(e);
        return;
    }
    gw_lru_push_front(&gw->pb_lru, &e->link);
    gw->pb_bytes += len;
}

void gw_pbcache_free(struct gateway *gw)
{
    while (PB_HEAD(gw)) pb_remove(gw, PB_HEAD(gw));
    hmap_free(&gw->pb_cache);
}

/* Decodes a stored blob of n bytes (copied into the arena: the decoded strings borrow from it). */
static int pb_decode(const char *user, const char *peer, amf_arena *arena, const uint8_t *blob, long n,
                     struct amf_value **list, int *enc)
{
    *enc = AMF_AMF3;
    if (n <= 0) {
        *list = amf_new_array(arena);
        return *list ? GW_PB_OK : GW_PB_NOMEM;
    }
    uint8_t *copy = amf_arena_alloc(arena, (size_t)n);
    if (!copy) return GW_PB_NOMEM;
    memcpy(copy, blob, (size_t)n);
    if (copy[0] != 0 && copy[0] != 3) return GW_PB_FORMAT;
    *enc = copy[0] == 3 ? AMF_AMF3 : AMF_AMF0;
    /* Stored data was accepted under the limits of its time; read it back with generous ones so a
     * tightened config cannot make an existing phonebook unreadable. */
    struct amf_limits lim;
    amf_limits_default(&lim);
    struct amf_opts o = {&lim, NULL, AMF_DEC_BORROW};
    size_t used = 0;
    int e = amf_decode(&o, arena, *enc, copy + 1, (size_t)n - 1, list, &used);
    if (e || used != (size_t)n - 1) {
        log_event(LOG_ERROR, peer, user, "amf_phonebook_corrupt", 0, "%s", e ? amf_strerror(e) : "trailing bytes");
        return GW_PB_CORRUPT;
    }
    return GW_PB_OK;
}

/* What phonebook_get answered (size, or STORE_NOTFOUND / STORE_ERR) with its blob: cached, decoded. */
int gw_pb_loaded(struct gateway *gw, const char *user, const char *peer, amf_arena *arena, long n,
                     const uint8_t *blob, struct amf_value **list, int *enc)
{
    if (n == STORE_NOTFOUND || n == 0) {
        gw_pbcache_put(gw, user, NULL, 0); /* "has none" is worth remembering too */
        return pb_decode(user, peer, arena, NULL, 0, list, enc);
    }
    if (n < 0) return GW_PB_STORE;
    gw_pbcache_put(gw, user, blob, (size_t)n);
    return pb_decode(user, peer, arena, blob, n, list, enc);
}

int gw_pb_load(struct gateway *gw, const char *user, const char *peer, amf_arena *arena, struct amf_value **list,
               int *enc)
{
    const struct gw_pbcache *c = gw_pbcache_get(gw, user);
    if (c) return pb_decode(user, peer, arena, c->blob, (long)c->len, list, enc);
    uint8_t *blob = NULL;
    long n = gw->st->phonebook_get(gw->st, user, &blob);
    int rc = gw_pb_loaded(gw, user, peer, arena, n, blob, list, enc);
    free(blob);
    return rc;
}

int gw_pb_encode(struct gateway *gw, int enc, const struct amf_value *list, struct amf_buf *buf, char *why,
                        size_t whylen)
{
    amf_buf_init(buf, gw->cfg.max_body + 1);
    uint8_t tag = (uint8_t)enc;
    int e = amf_buf_append(buf, &tag, 1);
    if (!e) e = amf_encode(&gw->opts, enc, list, buf);
    if (e) {
        amf_buf_free(buf);
        snprintf(why, whylen, "%s", amf_strerror(e));
        return GW_PB_ENCODE;
    }
    return GW_PB_OK;
}

int gw_pb_store(struct gateway *gw, const char *user, int enc, const struct amf_value *list, char *why, size_t whylen)
{
    struct amf_buf buf;
    if (gw_pb_encode(gw, enc, list, &buf, why, whylen) != GW_PB_OK) return GW_PB_ENCODE;
    int rc = gw->st->phonebook_put(gw->st, user, buf.data, buf.len);
    if (rc == STORE_OK) gw_pbcache_put(gw, user, buf.data, buf.len);
    else gw_pbcache_drop(gw, user);
    amf_buf_free(&buf);
    return rc == STORE_OK ? GW_PB_OK : GW_PB_STORE;
}

/* A phonebook read or write for a request that waits for it (the store worker's job). */
struct pb_job {
    struct gw_req *rq;              /* the waiting request */
    char user[GW_USER_MAX + 1];     /* whose phonebook */
    uint8_t *data;                  /* blob to store, or NULL: read */
    size_t len;                     /* its bytes */
    long rc;                        /* phonebook_get's size / phonebook_put's code */
    uint8_t *blob;                  /* phonebook_get's copy */
};

static int pb_job_run(struct store *st, void *arg)
{
    struct pb_job *j = arg;
    j->rc = j->data ? st->phonebook_put(st, j->user, j->data, j->len) : st->phonebook_get(st, j->user, &j->blob);
    return 0;
}

static void pb_job_done(void *arg, int rc)
{
    (void)rc;
    struct pb_job *j = arg;
    struct gw_req *rq = j->rq;
    if (j->data) { /* the cache follows the store */
        if (j->rc == STORE_OK) gw_pbcache_put(rq->gw, j->user, j->data, j->len);
        else gw_pbcache_drop(rq->gw, j->user);
    }
    rq->pb_ready = 1;
    rq->pb_rc = j->rc;
    rq->pb_blob = j->blob;
    free(j->data);
    free(j);
    /* Run inline (a full queue: store_async_run did the job at once): pb_defer goes on with it. */
    if (rq->suspended) gw_store_done(rq); /* the body runs again with the answer */
}

/* Hands the read (data NULL) or write to the store worker when the request may wait: 1 (the call is
 * suspended; it runs again with rq->pb_ready), 2 when the answer is ready already (rq->pb_ready: the
 * job ran inline), 0 when it must run on the gateway's store, -1 out of memory. */
static int pb_defer(struct gw_call *call, const uint8_t *data, size_t len)
{
    struct gw_req *rq = call->req;
    struct gateway *gw = call->gw;
    if (!rq || !rq->async || !gw->sa) return 0;
    struct pb_job *j = calloc(1, sizeof *j);
    if (!j || (data && !(j->data = malloc(len ? len : 1)))) {
        free(j);
        return -1;
    }
    if (data) memcpy(j->data, data, len);
    j->len = len;
    j->rq = rq;
    snprintf(j->user, sizeof j->user, "%s", call->sess->user);
    if (store_async_run(gw->sa, gw->st, pb_job_run, pb_job_done, j) < 0) {
        free(j->data);
        free(j);
        return -1;
    }
    if (rq->pb_ready) return 2;
    rq->suspended = 1;
    return 1;
}

static int load_fault(struct gw_call *call, int rc)
{
    switch (rc) {
    case GW_PB_OK: return 0;
    case GW_PB_NOMEM: return gw_fault(call, GW_FAULT_BUSY, "out of memory");
    case GW_PB_STORE: return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: the phonebook store is unavailable");
    case GW_PB_FORMAT:
        return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: the stored phonebook has an unknown format");
    default: return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: the stored phonebook cannot be read");
    }
}

/* The stored list, or an empty array when the user has none. */
static int load(struct gw_call *call, struct amf_value **result)
{
    int enc;
    struct gw_req *rq = call->req;
    if (rq && rq->pb_ready) { /* the store worker's answer */
        rq->pb_ready = 0;
        int rc = gw_pb_loaded(call->gw, call->sess->user, call->peer, call->arena, rq->pb_rc, rq->pb_blob, result, &enc);
        free(rq->pb_blob);
        rq->pb_blob = NULL;
        return load_fault(call, rc);
    }
    if (!gw_pbcache_get(call->gw, call->sess->user)) {
        int d = pb_defer(call, NULL, 0);
        if (d == 2) return load(call, result);
        if (d > 0) return gw_fault(call, GW_FAULT_BUSY, "phonebook read in progress");
        if (d < 0) return gw_fault(call, GW_FAULT_BUSY, "out of memory");
    }
    return load_fault(call, gw_pb_load(call->gw, call->sess->user, call->peer, call->arena, result, &enc));
}

static int pb_sync(struct gw_call *call, struct amf_value **result)
{
    struct gateway *gw = call->gw;
    if (!call->sess || !call->sess->user[0])
        return gw_fault(call, GW_FAULT_AUTH, "Phonebook.sync: not logged in (call Phonebook.login first)");
    struct amf_value *list = call->nargs ? call->args[0] : NULL;
    struct amf_value *arr = gw_list_array(list);
    uint64_t count = arr ? (uint64_t)arr->u.array->dense_count + arr->u.array->assoc_count : 0;
    if (count == 0) return load(call, result); /* the seed: only a non-empty array replaces the list */
    if (count > (uint64_t)gw->cfg.phonebook_max)
        return gw_fault(call, GW_FAULT_ARGUMENT, "Phonebook.sync: %llu entries exceed the limit of %ld (amf_phonebook_max); nothing stored",
                        (unsigned long long)count, gw->cfg.phonebook_max);
    int enc = call->amf3 || (list->flags & AMF_VF_AVMPLUS) ? AMF_AMF3 : AMF_AMF0;
    char why[96];
    int rc;
    struct gw_req *rq = call->req;
    if (rq && rq->pb_ready) { /* the store worker stored it (and updated the cache) */
        rq->pb_ready = 0;
        rc = rq->pb_rc == STORE_OK ? GW_PB_OK : GW_PB_STORE;
    } else if (rq && rq->async && gw->sa) {
        struct amf_buf buf;
        rc = gw_pb_encode(gw, enc, list, &buf, why, sizeof why);
        if (rc == GW_PB_OK) {
            int d = pb_defer(call, buf.data, buf.len);
            amf_buf_free(&buf);
            if (d == 2) return pb_sync(call, result);
            if (d > 0) return gw_fault(call, GW_FAULT_BUSY, "phonebook write in progress");
            if (d < 0) return gw_fault(call, GW_FAULT_BUSY, "out of memory");
            rc = gw_pb_store(gw, call->sess->user, enc, list, why, sizeof why);
        }
    } else rc = gw_pb_store(gw, call->sess->user, enc, list, why, sizeof why);
    if (rc == GW_PB_ENCODE)
        return gw_fault(call, GW_FAULT_ARGUMENT, "Phonebook.sync: the list cannot be stored: %s", why);
    if (rc != GW_PB_OK) return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: could not store the phonebook");
    log_event(LOG_DEBUG, call->peer, call->sess->user, "amf_phonebook_stored", 0, "%llu entries",
              (unsigned long long)count);
    *result = list;
    return 0;
}

int gateway_demo_phonebook(struct store *st, const char *user, const char *buddy)
{
    static const char *const sealed[] = {"name", "phone", "email"};
    amf_arena *a = amf_arena_new(1u << 20);
    if (!a) return -1;
    /* A PhoneEntry as the web phonebook writes one, plus the members the address book maps. */
    const struct amf_traits *t = amf_new_traits(a, "PhoneEntry", sealed, 3, 1, 0);
    struct amf_value *list = amf_new_array(a), *e = t ? amf_new_object_traits(a, t) : NULL;
    char mail[96];
    snprintf(mail, sizeof mail, "%s@example.com", buddy);
    struct amf_buf buf;
    amf_buf_init(&buf, 1u << 20);
    uint8_t tag = AMF_AMF3;
    int err = !list || !e || amf_object_set(a, e, "name", amf_new_stringz(a, "Demo Buddy")) ||
              amf_object_set(a, e, "phone", amf_new_stringz(a, "+1 555 0100")) ||
              amf_object_set(a, e, "email", amf_new_stringz(a, mail)) ||
              amf_object_set(a, e, "yahooId", amf_new_stringz(a, buddy)) ||
              amf_object_set(a, e, "nickname", amf_new_stringz(a, "My demo buddy")) || amf_array_push(a, list, e) ||
              amf_buf_append(&buf, &tag, 1) || amf_encode(NULL, AMF_AMF3, list, &buf);
    if (!err) err = st->phonebook_put(st, user, buf.data, buf.len) != STORE_OK;
    amf_buf_free(&buf);
    amf_arena_free(a);
    return err ? -1 : 0;
}

static const struct gw_param login_params[] = {{"user", GW_T_STRING}, {"password", GW_T_STRING}};
static const struct gw_param sync_params[] = {{"phonebook", GW_T_ARRAY | GW_T_LIST | GW_T_NULL}};

static const struct gw_method methods[] = {
    {"login", 2, 2, login_params, pb_login},
    {"sync", 0, 1, sync_params, pb_sync},
    {"logout", 0, 0, NULL, pb_logout},
};

const struct gw_service gw_phonebook_service = {"Phonebook", methods, sizeof methods / sizeof methods[0]};
