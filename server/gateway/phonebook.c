/* The Phonebook service of the seed's "Using amf in flex" post, backed by ymsgd's accounts and store:
 *   login(user, password) -> true | false    (argon2id check, throttled; the session remembers it)
 *   sync([list])          -> the stored list  (stores list first when it is a non-empty array)
 *   logout()              -> true
 * The list is kept losslessly: the blob is one format byte (0 = AMF0, 3 = AMF3, matching how the
 * client sent it) followed by that encoding of the list, so typed objects (a Flex PhoneEntry class),
 * ArrayCollections, dates and references come back exactly as they were sent. */
#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "../store.h"
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

/* The stored list, or an empty array when the user has none. */
static int load(struct gw_call *call, struct amf_value **result)
{
    struct gateway *gw = call->gw;
    uint8_t *blob = NULL;
    long n = gw->st->phonebook_get(gw->st, call->sess->user, &blob);
    if (n == STORE_NOTFOUND || n == 0) {
        free(blob);
        *result = amf_new_array(call->arena);
        return *result ? 0 : gw_fault(call, GW_FAULT_BUSY, "out of memory");
    }
    if (n < 0) return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: the phonebook store is unavailable");
    /* Copy into the request arena so the decoded strings can borrow from it. */
    uint8_t *copy = amf_arena_alloc(call->arena, (size_t)n);
    if (copy) memcpy(copy, blob, (size_t)n);
    free(blob);
    if (!copy) return gw_fault(call, GW_FAULT_BUSY, "out of memory");
    int enc = copy[0] == 3 ? AMF_AMF3 : AMF_AMF0;
    if (copy[0] != 0 && copy[0] != 3)
        return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: the stored phonebook has an unknown format");
    /* Stored data was accepted under the limits of its time; read it back with generous ones so a
     * tightened config cannot make an existing phonebook unreadable. */
    struct amf_limits lim;
    amf_limits_default(&lim);
    struct amf_opts o = {&lim, NULL, AMF_DEC_BORROW};
    size_t used = 0;
    int e = amf_decode(&o, call->arena, enc, copy + 1, (size_t)n - 1, result, &used);
    if (e || used != (size_t)n - 1) {
        log_event(LOG_ERROR, call->peer, call->sess->user, "amf_phonebook_corrupt", 0, "%s",
                  e ? amf_strerror(e) : "trailing bytes");
        return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: the stored phonebook cannot be read");
    }
    return 0;
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
        return gw_fault(call, GW_FAULT_ARGUMENT, "Phonebook.sync: %llu entries exceed the limit of %ld; nothing stored",
                        (unsigned long long)count, gw->cfg.phonebook_max);
    int enc = call->amf3 || (list->flags & AMF_VF_AVMPLUS) ? AMF_AMF3 : AMF_AMF0;
    struct amf_buf buf;
    amf_buf_init(&buf, gw->cfg.max_body + 1);
    uint8_t tag = (uint8_t)enc;
    int e = amf_buf_append(&buf, &tag, 1);
    if (!e) e = amf_encode(&gw->opts, enc, list, &buf);
    if (e) {
        amf_buf_free(&buf);
        return gw_fault(call, GW_FAULT_ARGUMENT, "Phonebook.sync: the list cannot be stored: %s", amf_strerror(e));
    }
    int rc = gw->st->phonebook_put(gw->st, call->sess->user, buf.data, buf.len);
    amf_buf_free(&buf);
    if (rc != STORE_OK) return gw_fault(call, GW_FAULT_PROCESSING, "Phonebook.sync: could not store the phonebook");
    log_event(LOG_DEBUG, call->peer, call->sess->user, "amf_phonebook_stored", 0, "%llu entries",
              (unsigned long long)count);
    *result = list;
    return 0;
}

static const struct gw_param login_params[] = {{"user", GW_T_STRING}, {"password", GW_T_STRING}};
static const struct gw_param sync_params[] = {{"phonebook", GW_T_ARRAY | GW_T_LIST | GW_T_NULL}};

static const struct gw_method methods[] = {
    {"login", 2, 2, login_params, pb_login},
    {"sync", 0, 1, sync_params, pb_sync},
    {"logout", 0, 0, NULL, pb_logout},
};

const struct gw_service gw_phonebook_service = {"Phonebook", methods, sizeof methods / sizeof methods[0]};
