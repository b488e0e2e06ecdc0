/* Flex messaging: RemotingMessage, CommandMessage, AcknowledgeMessage, ErrorMessage, AsyncMessage
 * and their small (DSK/DSA/DSC) forms, flattened to struct amf_flex_msg and back (§3.4, §3.5). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
    const char *name;  /* class name on the wire */
    int kind;          /* enum amf_flex_kind */
    int small;         /* 1 for the externalizable small forms */
} classes[] = {
    { "flex.messaging.messages.RemotingMessage", AMF_FLEX_REMOTING, 0 },
    { "flex.messaging.messages.CommandMessage", AMF_FLEX_COMMAND, 0 },
    { "flex.messaging.messages.AcknowledgeMessage", AMF_FLEX_ACK, 0 },
    { "flex.messaging.messages.ErrorMessage", AMF_FLEX_ERROR, 0 },
    { "flex.messaging.messages.AsyncMessage", AMF_FLEX_ASYNC, 0 },
    { "DSK", AMF_FLEX_ACK, 1 },
    { "DSA", AMF_FLEX_ASYNC, 1 },
    { "DSC", AMF_FLEX_COMMAND, 1 },
    { "flex.messaging.messages.AcknowledgeMessageExt", AMF_FLEX_ACK, 1 },
    { "flex.messaging.messages.AsyncMessageExt", AMF_FLEX_ASYNC, 1 },
    { "flex.messaging.messages.CommandMessageExt", AMF_FLEX_COMMAND, 1 },
};

const char *amf_flex_class(int kind)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (classes[i].kind == kind && !classes[i].small) return classes[i].name;
    return NULL;
}

void amf_flex_init(struct amf_flex_msg *m, int kind)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->operation = -1;
}

static struct amf_str str_of(const struct amf_value *v)
{
    struct amf_str s = { NULL, 0 };
    if (v && (v->type == AMF_STRING || v->type == AMF_XML || v->type == AMF_XMLDOC)) s = v->u.s;
    return s;
}

void amf_uuid_text(const uint8_t b[16], char out[37])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
}

void amf_uuid_random_text(const uint8_t random[16], char out[37])
{
    uint8_t b[16];
    memcpy(b, random, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    amf_uuid_text(b, out);
}

/* 16 UUID bytes (small messages send ids as a ByteArray) as text in the arena. */
static int uuid_text(amf_arena *a, const struct amf_value *v, struct amf_str *out)
{
    if (!v || v->type != AMF_BYTEARRAY || v->u.bytes.len != 16) return 0;
    char *s = amf_arena_alloc(a, 37);
    if (!s) return AMF_EARENA;
    amf_uuid_text(v->u.bytes.ptr, s);
    out->ptr = s;
    out->len = 36;
    return 0;
}

/* Number from any numeric AMF type, or a numeric string (Zend writes timestamps as strings). */
static double num_of(const struct amf_value *v)
{
    int ok;
    double d = amf_number(v, &ok);
    if (ok) return d;
    if (v && v->type == AMF_STRING && v->u.s.len && v->u.s.len < 64) {
        char buf[64];
        memcpy(buf, v->u.s.ptr, v->u.s.len);
        buf[v->u.s.len] = 0;
        char *end;
        d = strtod(buf, &end);
        if (*end == 0) return d;
    }
    return 0;
}

/* A string field that may also arrive as a number (Zend faultCode) */
static int text_of(amf_arena *a, const struct amf_value *v, struct amf_str *out)
{
    *out = str_of(v);
    int ok;
    double d = amf_number(v, &ok);
    if (!out->ptr && ok && v->type != AMF_DATE) {
        char *s = amf_arena_alloc(a, 32);
        if (!s) return AMF_EARENA;
        int n = snprintf(s, 32, "%.17g", d);
        out->ptr = s;
        out->len = (uint32_t)n;
    }
    return 0;
}

int amf_flex_parse(amf_arena *a, const struct amf_value *v, struct amf_flex_msg *out)
{
    amf_flex_init(out, AMF_FLEX_NONE);
    if (!v) return AMF_EINVAL;
    if (v->type == AMF_ARRAY && v->u.array->dense_count == 1 && v->u.array->assoc_count == 0)
        v = v->u.array->dense[0];
    if (v->type != AMF_OBJECT) return AMF_ETYPE;
    const struct amf_traits *t = v->u.object->traits;
    int kind = AMF_FLEX_NONE, small = 0;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (t->class_name.len == strlen(classes[i].name) &&
            !memcmp(t->class_name.ptr, classes[i].name, t->class_name.len)) {
            kind = classes[i].kind;
            small = classes[i].small;
            break;
        }
    if (kind == AMF_FLEX_NONE) return AMF_ETYPE;
    const struct amf_value *src = v;
    if (t->externalizable) {
        src = v->u.object->ext;
        if (!src || src->type != AMF_OBJECT) return AMF_ETYPE;
    }
    out->kind = kind;
    out->small = small;
    int r;
    out->message_id = str_of(amf_object_get(src, "messageId"));
    out->client_id = str_of(amf_object_get(src, "clientId"));
    out->correlation_id = str_of(amf_object_get(src, "correlationId"));
    if ((r = uuid_text(a, amf_object_get(src, "messageIdBytes"), &out->message_id)) ||
        (r = uuid_text(a, amf_object_get(src, "clientIdBytes"), &out->client_id)) ||
        (r = uuid_text(a, amf_object_get(src, "correlationIdBytes"), &out->correlation_id)))
        return r;
    out->destination = str_of(amf_object_get(src, "destination"));
    out->source = str_of(amf_object_get(src, "source"));
    const struct amf_value *op = amf_object_get(src, "operation");
    if (kind == AMF_FLEX_REMOTING) {
        out->operation_name = str_of(op);
    } else if (op) {
        int ok;
        double d = amf_number(op, &ok);
        if (ok && d >= -2147483648.0 && d <= 2147483647.0) out->operation = (int32_t)d;
    }
    out->body = amf_object_get(src, "body");
    out->headers = amf_object_get(src, "headers");
    if (out->headers && out->headers->type == AMF_OBJECT) {
        out->ds_id = str_of(amf_object_get(out->headers, "DSId"));
        out->ds_endpoint = str_of(amf_object_get(out->headers, "DSEndpoint"));
    }
    out->timestamp = num_of(amf_object_get(src, "timestamp"));
    out->time_to_live = num_of(amf_object_get(src, "timeToLive"));
    if ((r = text_of(a, amf_object_get(src, "faultCode"), &out->fault_code))) return r;
    out->fault_string = str_of(amf_object_get(src, "faultString"));
    out->fault_detail = str_of(amf_object_get(src, "faultDetail"));
    out->root_cause = amf_object_get(src, "rootCause");
    out->extended_data = amf_object_get(src, "extendedData");
    return 0;
}

static struct amf_value *str_or_null(amf_arena *a, struct amf_str s)
{
    return s.ptr ? amf_new_string(a, s.ptr, s.len) : amf_new_null(a);
}

int amf_flex_build(amf_arena *a, const struct amf_flex_msg *m, struct amf_value **out)
{
    static const char *const remoting[] = { "operation", "source", "destination", "timeToLive",
                                            "headers", "timestamp", "messageId", "body",
                                            "clientId" };
    static const char *const command[] = { "operation", "correlationId", "messageId", "clientId",
                                           "body", "timeToLive", "timestamp", "destination",
                                           "headers" };
    static const char *const ack[] = { "correlationId", "clientId", "destination", "messageId",
                                       "timestamp", "timeToLive", "headers", "body",
                                       "faultCode", "faultString", "faultDetail", "rootCause",
                                       "extendedData" };
    const char *const *names;
    size_t n;
    switch (m->kind) {
    case AMF_FLEX_REMOTING: names = remoting; n = 9; break;
    case AMF_FLEX_COMMAND: names = command; n = 9; break;
    case AMF_FLEX_ACK: case AMF_FLEX_ASYNC: names = ack; n = 8; break;
    case AMF_FLEX_ERROR: names = ack; n = 13; break;
    default: return AMF_EINVAL;
    }
    struct amf_traits *t = amf_new_traits(a, amf_flex_class(m->kind), names, n, 0, 0);
    struct amf_value *o = t ? amf_new_object_traits(a, t) : NULL;
    if (!o) return AMF_EARENA;
    struct amf_value *headers = m->headers;
    if (!headers) {
        headers = amf_new_object(a, NULL);
        if (!headers) return AMF_EARENA;
        if (m->ds_id.ptr && amf_object_set(a, headers, "DSId", str_or_null(a, m->ds_id)))
            return AMF_EARENA;
        if (m->ds_endpoint.ptr &&
            amf_object_set(a, headers, "DSEndpoint", str_or_null(a, m->ds_endpoint)))
            return AMF_EARENA;
    }
    for (size_t i = 0; i < n; i++) {
        const char *f = names[i];
        struct amf_value *v;
        if (!strcmp(f, "operation"))
            v = m->kind == AMF_FLEX_REMOTING ? str_or_null(a, m->operation_name)
                                             : amf_new_int(a, m->operation < 0 ? 0 : m->operation);
        else if (!strcmp(f, "source")) v = str_or_null(a, m->source);
        else if (!strcmp(f, "destination")) v = str_or_null(a, m->destination);
        else if (!strcmp(f, "messageId")) v = str_or_null(a, m->message_id);
        else if (!strcmp(f, "clientId")) v = str_or_null(a, m->client_id);
        else if (!strcmp(f, "correlationId")) v = str_or_null(a, m->correlation_id);
        else if (!strcmp(f, "timeToLive")) v = amf_new_number(a, m->time_to_live);
        else if (!strcmp(f, "timestamp")) v = amf_new_number(a, m->timestamp);
        else if (!strcmp(f, "headers")) v = headers;
        else if (!strcmp(f, "body")) v = m->body ? m->body : amf_new_null(a);
        else if (!strcmp(f, "faultCode")) v = str_or_null(a, m->fault_code);
        else if (!strcmp(f, "faultString")) v = str_or_null(a, m->fault_string);
        else if (!strcmp(f, "faultDetail")) v = str_or_null(a, m->fault_detail);
        else if (!strcmp(f, "rootCause")) v = m->root_cause ? m->root_cause : amf_new_null(a);
        else v = m->extended_data ? m->extended_data : amf_new_null(a);
        if (!v) return AMF_EARENA;
        o->u.object->sealed[i] = v;
    }
    *out = o;
    return 0;
}
