/* Externalizable classes: registry look-up and the built-in handlers (§2.6, §3.5). */
#include "internal.h"

/* ---------------------------------------------------------------------------------------------- */
/* ArrayCollection / ArrayList / ObjectProxy: the body is exactly one AMF3 value. */

static int one_value_read(struct amf_ext_io *io, struct amf_value *obj, void *user)
{
    return amf_ext_read_value(io, &obj->u.object->ext);
}

static int one_value_write(struct amf_ext_io *io, const struct amf_value *obj, void *user)
{
    return amf_ext_write_value(io, obj->u.object->ext);
}

/* ---------------------------------------------------------------------------------------------- */
/* Small messages: DSK (AcknowledgeMessageExt), DSA (AsyncMessageExt), DSC (CommandMessageExt).
 * Each class level writes a chain of flag bytes (bit 7 = another byte follows) and then the AMF3
 * values its bits announce, in bit order.  Levels: AbstractMessage, AsyncMessage, then
 * AcknowledgeMessage (no fields) or CommandMessage (operation). */

enum { LVL_ABSTRACT, LVL_ASYNC, LVL_ACK, LVL_COMMAND };

/* Field names per level, per flag byte, per bit (NULL = reserved). */
static const char *const abstract_fields[2][7] = {
    { "body", "clientId", "destination", "headers", "messageId", "timestamp", "timeToLive" },
    { "clientIdBytes", "messageIdBytes", NULL, NULL, NULL, NULL, NULL },
};
static const char *const async_fields[1][7] = {
    { "correlationId", "correlationIdBytes", NULL, NULL, NULL, NULL, NULL },
};
static const char *const command_fields[1][7] = {
    { "operation", NULL, NULL, NULL, NULL, NULL, NULL },
};

static const char *field_name(int lvl, size_t byte, int bit)
{
    if (bit >= 7) return NULL;
    switch (lvl) {
    case LVL_ABSTRACT: return byte < 2 ? abstract_fields[byte][bit] : NULL;
    case LVL_ASYNC: return byte < 1 ? async_fields[byte][bit] : NULL;
    case LVL_COMMAND: return byte < 1 ? command_fields[byte][bit] : NULL;
    default: return NULL;
    }
}

#define MAX_FLAG_BYTES 8  /* a longer chain is not a message any writer produces */

static int read_level(struct amf_ext_io *io, struct amf_value *ext, int lvl)
{
    uint8_t flags[MAX_FLAG_BYTES];
    size_t n = 0;
    for (;;) {
        uint8_t b;
        int r = amf_ext_read_u8(io, &b);
        if (r) return r;
        if (n == MAX_FLAG_BYTES) return AMF_EEXTBODY;
        flags[n++] = b;
        if (!(b & 0x80)) break;
    }
    amf_arena *a = amf_ext_arena(io);
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 7; bit++) {
            if (!(flags[i] >> bit & 1)) continue;
            const char *name = field_name(lvl, i, bit);
            if (!name && bit >= 6) continue;  /* BlazeDS reads reserved bits 0..5 only */
            struct amf_value *v;
            int r = amf_ext_read_value(io, &v);
            if (r) return r;
            /* bits nobody knows (BlazeDS reads up to bit 5) carry a value that is read and dropped */
            if (name && (r = amf_object_add(a, ext, name, strlen(name), v))) return r;
        }
    return 0;
}

static int write_level(struct amf_ext_io *io, const struct amf_value *ext, int lvl)
{
    uint8_t flags[2] = { 0, 0 };
    const struct amf_value *vals[2][7];
    size_t nbytes = lvl == LVL_ABSTRACT ? 2 : 1;
    if (lvl == LVL_ACK) nbytes = 1;
    for (size_t i = 0; i < nbytes; i++)
        for (int bit = 0; bit < 7; bit++) {
            const char *name = field_name(lvl, i, bit);
            vals[i][bit] = name ? amf_object_get(ext, name) : NULL;
            if (vals[i][bit]) flags[i] |= (uint8_t)(1u << bit);
        }
    int r;
    if (flags[1]) {
        if ((r = amf_ext_write_u8(io, flags[0] | 0x80)) || (r = amf_ext_write_u8(io, flags[1])))
            return r;
    } else if ((r = amf_ext_write_u8(io, flags[0]))) {
        return r;
    }
    for (size_t i = 0; i < nbytes; i++)
        for (int bit = 0; bit < 7; bit++)
            if (flags[i] >> bit & 1)
                if ((r = amf_ext_write_value(io, vals[i][bit]))) return r;
    return 0;
}

static int small_read(struct amf_ext_io *io, struct amf_value *obj, void *user)
{
    int last = (int)(intptr_t)user;  /* LVL_ACK, LVL_ASYNC (DSA: none after async), LVL_COMMAND */
    amf_arena *a = amf_ext_arena(io);
    struct amf_value *ext = amf_new_object(a, NULL);
    if (!ext) return AMF_EARENA;
    obj->u.object->ext = ext;
    int r = read_level(io, ext, LVL_ABSTRACT);
    if (!r) r = read_level(io, ext, LVL_ASYNC);
    if (!r && last != LVL_ASYNC) r = read_level(io, ext, last);
    return r;
}

static int small_write(struct amf_ext_io *io, const struct amf_value *obj, void *user)
{
    int last = (int)(intptr_t)user;
    const struct amf_value *ext = obj->u.object->ext;
    if (!ext || ext->type != AMF_OBJECT) return AMF_ETYPE;
    int r = write_level(io, ext, LVL_ABSTRACT);
    if (!r) r = write_level(io, ext, LVL_ASYNC);
    if (!r && last != LVL_ASYNC) r = write_level(io, ext, last);
    return r;
}

static const struct amf_ext_class builtins[] = {
    { "flex.messaging.io.ArrayCollection", one_value_read, one_value_write, NULL },
    { "flex.messaging.io.ArrayList", one_value_read, one_value_write, NULL },
    { "flex.messaging.io.ObjectProxy", one_value_read, one_value_write, NULL },
    { "mx.utils.ObjectProxy", one_value_read, one_value_write, NULL },
    { "mx.collections.ArrayCollection", one_value_read, one_value_write, NULL },
    { "DSK", small_read, small_write, (void *)(intptr_t)LVL_ACK },
    { "DSA", small_read, small_write, (void *)(intptr_t)LVL_ASYNC },
    { "DSC", small_read, small_write, (void *)(intptr_t)LVL_COMMAND },
};

static int name_is(const char *a, const char *p, size_t len)
{
    return strlen(a) == len && memcmp(a, p, len) == 0;
}

const struct amf_ext_class *amf_ext_find_(const struct amf_registry *reg, const char *name,
                                          size_t len)
{
    if (reg)
        for (size_t i = 0; i < reg->count; i++)
            if (reg->classes[i].name && name_is(reg->classes[i].name, name, len))
                return &reg->classes[i];
    if (reg && (reg->flags & AMF_REG_NO_BUILTINS)) return NULL;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (name_is(builtins[i].name, name, len)) return &builtins[i];
    return NULL;
}
