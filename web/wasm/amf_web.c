/* libamf for the browser: Flex requests built from JSON (what a Flex RemoteObject sends) and
 * remoting replies turned back into JSON, so the page speaks AMF3 through our one tested codec.
 *
 * Request JSON: an array of messages, each
 *   {"kind":"command","operation":5,"messageId":"...","clientId":null,"dsId":"nil","body":{},
 *    "headers":{...}}                                   (CommandMessage; headers optional)
 *   {"kind":"remoting","operation":"sync","source":"Phonebook","destination":"Phonebook",
 *    "messageId":"...","clientId":"...","dsId":"...","endpoint":"my-amf","body":[args]}
 * Objects carrying a "$class" member become typed objects of that class whose sealed members are
 * the other members in order (the inverse of amf_to_json's AMF_JSON_CLASS), so a list of
 * {"$class":"PhoneEntry",...} travels as Flex would send PhoneEntry instances.
 * Reply JSON: {"version":3,"bodies":[{"target":"/1/onResult","response":"","value":...,
 *   "flex":{"kind":"ack","correlationId":...,"clientId":...,"faultCode":...,"faultString":...,
 *   "faultDetail":...,"body":...}}]}  ("flex" is null when the value is not a Flex message). */
#include <stdio.h>
#include <string.h>

#include "web_api.h"

/* Caps for what the page hands us and what a server may answer: a phonebook is small. */
#define YW_AMF_ARENA (16u << 20)
#define YW_AMF_MAX_DEPTH 64u

static void yw_amf_limits(struct amf_limits *lim)
{
    amf_limits_default(lim);
    lim->max_arena = YW_AMF_ARENA;
    lim->max_input = YW_AMF_ARENA / 2;
    lim->max_depth = YW_AMF_MAX_DEPTH;
}

static struct amf_value *yw_typed(amf_arena *a, struct amf_value *v, unsigned depth);

/* An anonymous object with "$class": the same members as sealed members of a typed object. */
static struct amf_value *yw_typed_object(amf_arena *a, struct amf_value *v, unsigned depth)
{
    struct amf_object *o = v->u.object;
    const struct amf_value *cls = amf_object_get(v, "$class");
    if (!cls || cls->type != AMF_STRING || o->traits->class_name.len) {
        for (uint32_t i = 0; i < o->dyn_count; i++)
            if (!(o->dyn[i].value = yw_typed(a, o->dyn[i].value, depth + 1))) return NULL;
        return v;
    }
    const char *names[256];
    struct amf_value *vals[256];
    size_t n = 0;
    for (uint32_t i = 0; i < o->dyn_count; i++) {
        if (o->dyn[i].name.len == 6 && !memcmp(o->dyn[i].name.ptr, "$class", 6)) continue;
        if (n == 256) return NULL;
        names[n] = o->dyn[i].name.ptr; /* amf_from_json strings are NUL-terminated copies */
        if (!(vals[n++] = yw_typed(a, o->dyn[i].value, depth + 1))) return NULL;
    }
    char *cname = amf_arena_strdup(a, cls->u.s.ptr, cls->u.s.len);
    struct amf_traits *t = cname ? amf_new_traits(a, cname, names, n, 0, 0) : NULL;
    struct amf_value *out = t ? amf_new_object_traits(a, t) : NULL;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) out->u.object->sealed[i] = vals[i];
    return out;
}

static struct amf_value *yw_typed(amf_arena *a, struct amf_value *v, unsigned depth)
{
    if (depth > YW_AMF_MAX_DEPTH) return NULL;
    if (v->type == AMF_OBJECT) return yw_typed_object(a, v, depth);
    if (v->type == AMF_ARRAY)
        for (uint32_t i = 0; i < v->u.array->dense_count; i++)
            if (!(v->u.array->dense[i] = yw_typed(a, v->u.array->dense[i], depth + 1))) return NULL;
    return v;
}

static struct amf_str yw_str(const struct amf_value *o, const char *name)
{
    const struct amf_value *v = amf_object_get(o, name);
    struct amf_str s = {NULL, 0};
    if (v && v->type == AMF_STRING) s = v->u.s;
    return s;
}

/* One JSON message description to the Flex message object. */
static int yw_flex_from_json(amf_arena *a, struct amf_value *d, struct amf_value **out)
{
    if (d->type != AMF_OBJECT) return AMF_EINVAL;
    struct amf_flex_msg m;
    const struct amf_value *op = amf_object_get(d, "operation");
    if (amf_str_eq(amf_object_get(d, "kind"), "command")) {
        amf_flex_init(&m, AMF_FLEX_COMMAND);
        int ok = 0;
        double n = op ? amf_number(op, &ok) : 0;
        if (!ok || n < 0 || n > 100000) return AMF_EINVAL;
        m.operation = (int32_t)n;
        m.correlation_id = (struct amf_str){"", 0};
        m.destination = (struct amf_str){"", 0};
    } else if (amf_str_eq(amf_object_get(d, "kind"), "remoting")) {
        amf_flex_init(&m, AMF_FLEX_REMOTING);
        if (!op || op->type != AMF_STRING) return AMF_EINVAL;
        m.operation_name = op->u.s;
        m.source = yw_str(d, "source");
        m.destination = yw_str(d, "destination");
    } else {
        return AMF_EINVAL;
    }
    m.message_id = yw_str(d, "messageId");
    m.client_id = yw_str(d, "clientId");
    m.ds_id = yw_str(d, "dsId");
    m.ds_endpoint = yw_str(d, "endpoint");
    m.body = amf_object_get(d, "body");
    if (m.body && !(m.body = yw_typed(a, m.body, 0))) return AMF_EDEPTH;
    if (!m.body && m.kind == AMF_FLEX_COMMAND && !(m.body = amf_new_object(a, NULL))) return AMF_EARENA;
    m.headers = amf_object_get(d, "headers");
    if (m.headers && m.headers->type != AMF_OBJECT) return AMF_EINVAL;
    if (m.headers) {
        /* DSId/DSEndpoint given separately are folded into explicit headers too. */
        if (m.ds_id.ptr && !amf_object_get(m.headers, "DSId") &&
            amf_object_set(a, m.headers, "DSId", amf_new_string(a, m.ds_id.ptr, m.ds_id.len)))
            return AMF_EARENA;
    }
    return amf_flex_build(a, &m, out);
}

/* JSON (see the top) to a version-3 remoting packet in the output buffer; returns its length or a
 * negative AMF_E* code. */
int yw_amf_flex_request(const char *json)
{
    struct amf_limits lim;
    yw_amf_limits(&lim);
    amf_arena *a = amf_arena_new(lim.max_arena);
    if (!a) return AMF_ENOMEM;
    struct amf_buf *b = yw_out_reset();
    struct amf_value *list = NULL;
    struct amf_packet p;
    amf_packet_init(&p, 3);
    int rc = amf_from_json(a, json, strlen(json), &lim, &list, NULL);
    if (!rc && (list->type != AMF_ARRAY || !list->u.array->dense_count)) rc = AMF_EINVAL;
    for (uint32_t i = 0; !rc && i < list->u.array->dense_count; i++) {
        struct amf_value *msg = NULL, *wrap = amf_new_array(a);
        char resp[16];
        snprintf(resp, sizeof resp, "/%u", (unsigned)i + 1);
        rc = wrap ? yw_flex_from_json(a, list->u.array->dense[i], &msg) : AMF_EARENA;
        if (!rc) {
            msg->flags |= AMF_VF_AVMPLUS; /* Flash sends the message behind AMF0 0x11 */
            rc = amf_array_push(a, wrap, msg);
        }
        if (!rc) rc = amf_packet_add_body(a, &p, "null", resp, wrap);
    }
    if (!rc) rc = amf_packet_encode(NULL, &p, b);
    amf_arena_free(a);
    return rc ? rc : (int)b->len;
}

static const char *yw_flex_kind_name(int kind)
{
    switch (kind) {
    case AMF_FLEX_REMOTING: return "remoting";
    case AMF_FLEX_COMMAND: return "command";
    case AMF_FLEX_ACK: return "ack";
    case AMF_FLEX_ERROR: return "error";
    case AMF_FLEX_ASYNC: return "async";
    default: return "none";
    }
}

static int yw_json_amf_str(struct amf_buf *b, const char *key, struct amf_str s)
{
    int rc = yw_printf(b, ",\"%s\":", key);
    if (rc) return rc;
    if (!s.ptr) return amf_buf_append(b, "null", 4);
    char tmp[512];
    size_t n = s.len < sizeof tmp - 1 ? s.len : sizeof tmp - 1; /* ids and fault texts are short */
    memcpy(tmp, s.ptr, n);
    tmp[n] = 0;
    return yw_json_str(b, tmp);
}

static int yw_flex_json(struct amf_buf *b, amf_arena *a, const struct amf_value *v)
{
    struct amf_flex_msg m;
    if (amf_flex_parse(a, v, &m) != 0) return amf_buf_append(b, "null", 4);
    int rc = yw_printf(b, "{\"kind\":\"%s\"", yw_flex_kind_name(m.kind));
    if (!rc) rc = yw_json_amf_str(b, "correlationId", m.correlation_id);
    if (!rc) rc = yw_json_amf_str(b, "clientId", m.client_id);
    if (!rc) rc = yw_json_amf_str(b, "messageId", m.message_id);
    if (!rc) rc = yw_json_amf_str(b, "faultCode", m.fault_code);
    if (!rc) rc = yw_json_amf_str(b, "faultString", m.fault_string);
    if (!rc) rc = yw_json_amf_str(b, "faultDetail", m.fault_detail);
    if (!rc) rc = yw_printf(b, ",\"body\":");
    if (!rc) rc = m.body ? amf_to_json(m.body, AMF_JSON_CLASS, b) : amf_buf_append(b, "null", 4);
    return rc ? rc : amf_buf_append(b, "}", 1);
}

/* A remoting reply (or request) packet to JSON in the output buffer; returns its length or a
 * negative AMF_E* code. */
int yw_amf_decode_packet(const uint8_t *buf, size_t len)
{
    struct amf_limits lim;
    yw_amf_limits(&lim);
    struct amf_opts opts = {.limits = &lim};
    amf_arena *a = amf_arena_new(lim.max_arena);
    if (!a) return AMF_ENOMEM;
    struct amf_buf *b = yw_out_reset();
    struct amf_packet p;
    int rc = amf_packet_decode(&opts, a, buf, len, &p, NULL);
    if (!rc) rc = yw_printf(b, "{\"version\":%u,\"bodies\":[", (unsigned)p.version);
    for (uint32_t i = 0; !rc && i < p.body_count; i++) {
        const struct amf_body *bd = &p.bodies[i];
        rc = yw_printf(b, "%s{\"index\":%u", i ? "," : "", (unsigned)i);
        if (!rc) rc = yw_json_amf_str(b, "target", bd->target);
        if (!rc) rc = yw_json_amf_str(b, "response", bd->response);
        if (!rc) rc = yw_printf(b, ",\"value\":");
        if (!rc) rc = amf_to_json(bd->value, AMF_JSON_CLASS, b);
        if (!rc) rc = yw_printf(b, ",\"flex\":");
        if (!rc) rc = yw_flex_json(b, a, bd->value);
        if (!rc) rc = amf_buf_append(b, "}", 1);
    }
    if (!rc) rc = amf_buf_append(b, "]}", 2);
    amf_arena_free(a);
    return rc ? rc : (int)b->len;
}

/* amf_strerror for the page's messages (a static string; JS reads it with UTF8ToString). */
const char *yw_amf_strerror(int err) { return amf_strerror(err); }
