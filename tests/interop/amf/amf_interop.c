/* amf-interop: libamf as a line-oriented filter for the interop tests (node peers, amfcall tests).
 *
 * Reads requests from stdin, one per line, answers one line each on stdout:
 *   D0 <hex> / D3 <hex>   decode one AMF0 / AMF3 value (must use every byte) -> "OK <tagged JSON>"
 *   E0 <json> / E3 <json> encode a tagged JSON value as AMF0 / AMF3            -> "OK <hex>"
 *   P <hex>               decode a remoting envelope -> "OK {"version":V,"headers":[[name,mu,value]],
 *                         "bodies":[[target,response,value]]}" (values tagged)
 *   F <hex>               decode an envelope and amf_flex_parse() every body -> "OK [{kind,...}]"
 * or "ERR <message>".  Tagged JSON keeps what plain JSON loses (AMF.md types):
 *   ["undefined"] ["null"] ["bool",b] ["int",n] ["double",n|"NaN"|"Infinity"|"-Infinity"|"-0"]
 *   ["string",s] ["date",ms] ["xml",s] ["xmldoc",s] ["bytes","hex"] ["avm+",v] (AMF0 0x11)
 *   ["array",[dense...],[[key,v]...]] (AMF3 array / AMF0 strict array) ["ecma",[[key,v]...]]
 *   ["object",class,[[name,v]...]] (sealed then dynamic members, wire order)
 *   ["external",class,v] ["vector-int"|"vector-uint"|"vector-double",[n...]]
 *   ["vector-object",type,[v...]] ["dict",[[k,v]...]] ["cycle"] (a node met again on its own path). */
#include "amf/amf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE (64u << 20)  /* bytes in one request line */
#define MAX_DEPTH 2000        /* nesting the tagged writer follows */

/* Output under construction plus the path used to spot cycles. */
struct out {
    struct amf_buf *b;                     /* text */
    const void *path[MAX_DEPTH];           /* containers on the current path */
    int depth;                             /* entries in path */
};

static int put(struct out *o, const char *s) { return amf_buf_append(o->b, s, strlen(s)); }

static int put_str(struct out *o, const char *p, size_t n)
{
    /* amf_to_json does the JSON string escaping (and U+FFFD for invalid UTF-8) */
    amf_arena *a = amf_arena_new(0);
    if (!a) return AMF_ENOMEM;
    struct amf_value *v = amf_new_string(a, p ? p : "", p ? n : 0);
    int r = v ? amf_to_json(v, 0, o->b) : AMF_EARENA;
    amf_arena_free(a);
    return r;
}

static int put_num(struct out *o, double d)
{
    char tmp[40];
    if (isnan(d)) return put(o, "\"NaN\"");
    if (isinf(d)) return put(o, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    if (d == 0 && signbit(d)) return put(o, "\"-0\"");
    snprintf(tmp, sizeof tmp, "%.17g", d);
    return put(o, tmp);
}

static int put_hex(struct out *o, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int r = amf_buf_reserve(o->b, n * 2 + 2);
    if (r) return r;
    o->b->data[o->b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        o->b->data[o->b->len++] = (uint8_t)hex[p[i] >> 4];
        o->b->data[o->b->len++] = (uint8_t)hex[p[i] & 15];
    }
    o->b->data[o->b->len++] = '"';
    return 0;
}

static int tagged(struct out *o, const struct amf_value *v);

static int pair(struct out *o, const struct amf_str *k, const struct amf_value *v, int first)
{
    int r;
    if ((r = put(o, first ? "[" : ",[")) || (r = put_str(o, k->ptr, k->len)) || (r = put(o, ",")) ||
        (r = tagged(o, v)))
        return r;
    return put(o, "]");
}

static int tagged_inner(struct out *o, const struct amf_value *v)
{
    int r = 0;
    char tmp[64];
    switch (v->type) {
    case AMF_UNDEFINED: return put(o, "[\"undefined\"]");
    case AMF_NULL: return put(o, "[\"null\"]");
    case AMF_BOOL: return put(o, v->u.b ? "[\"bool\",true]" : "[\"bool\",false]");
    case AMF_INT: snprintf(tmp, sizeof tmp, "[\"int\",%d]", v->u.i); return put(o, tmp);
    case AMF_DOUBLE:
        if ((r = put(o, "[\"double\",")) || (r = put_num(o, v->u.d))) return r;
        return put(o, "]");
    case AMF_DATE:
        if ((r = put(o, "[\"date\",")) || (r = put_num(o, v->u.d))) return r;
        return put(o, "]");
    case AMF_STRING: case AMF_XML: case AMF_XMLDOC:
        if ((r = put(o, v->type == AMF_STRING ? "[\"string\"," : v->type == AMF_XML ? "[\"xml\","
                                                                                  : "[\"xmldoc\",")) ||
            (r = put_str(o, v->u.s.ptr, v->u.s.len)))
            return r;
        return put(o, "]");
    case AMF_BYTEARRAY:
        if ((r = put(o, "[\"bytes\",")) || (r = put_hex(o, v->u.bytes.ptr, v->u.bytes.len))) return r;
        return put(o, "]");
    case AMF_ARRAY: {
        const struct amf_array *a = v->u.array;
        if (v->flags & AMF_VF_ECMA) {
            if ((r = put(o, "[\"ecma\",["))) return r;
        } else {
            if ((r = put(o, "[\"array\",["))) return r;
            for (uint32_t i = 0; i < a->dense_count; i++)
                if ((i && (r = put(o, ","))) || (r = tagged(o, a->dense[i]))) return r;
            if ((r = put(o, "],["))) return r;
        }
        for (uint32_t i = 0; i < a->assoc_count; i++)
            if ((r = pair(o, &a->assoc[i].name, a->assoc[i].value, i == 0))) return r;
        if (v->flags & AMF_VF_ECMA && a->dense_count) {
            /* dense items of an ECMA array (not expected from the decoder) keyed by index */
            for (uint32_t i = 0; i < a->dense_count; i++) {
                char k[16];
                int n = snprintf(k, sizeof k, "%u", i);
                struct amf_str ks = { k, (uint32_t)n };
                if ((r = pair(o, &ks, a->dense[i], i == 0 && a->assoc_count == 0))) return r;
            }
        }
        return put(o, "]]");
    }
    case AMF_OBJECT: {
        const struct amf_object *ob = v->u.object;
        const struct amf_traits *t = ob->traits;
        if (t->externalizable) {
            if ((r = put(o, "[\"external\",")) || (r = put_str(o, t->class_name.ptr, t->class_name.len)) ||
                (r = put(o, ",")))
                return r;
            if (ob->ext) r = tagged(o, ob->ext);
            else r = put(o, "[\"undefined\"]");
            if (r) return r;
            return put(o, "]");
        }
        if ((r = put(o, "[\"object\",")) || (r = put_str(o, t->class_name.ptr, t->class_name.len)) ||
            (r = put(o, ",[")))
            return r;
        int first = 1;
        for (uint32_t i = 0; i < t->sealed_count; i++, first = 0)
            if ((r = pair(o, &t->sealed[i], ob->sealed[i], first))) return r;
        for (uint32_t i = 0; i < ob->dyn_count; i++, first = 0)
            if ((r = pair(o, &ob->dyn[i].name, ob->dyn[i].value, first))) return r;
        return put(o, "]]");
    }
    case AMF_VECTOR_INT: case AMF_VECTOR_UINT: case AMF_VECTOR_DOUBLE: {
        const struct amf_vector *vec = v->u.vector;
        if ((r = put(o, v->type == AMF_VECTOR_INT ? "[\"vector-int\",[" : v->type == AMF_VECTOR_UINT
                                                                          ? "[\"vector-uint\",["
                                                                          : "[\"vector-double\",[")))
            return r;
        for (uint32_t i = 0; i < vec->count; i++) {
            if (i && (r = put(o, ","))) return r;
            double d = v->type == AMF_VECTOR_INT ? vec->items.i[i]
                       : v->type == AMF_VECTOR_UINT ? vec->items.u[i] : vec->items.d[i];
            if ((r = put_num(o, d))) return r;
        }
        return put(o, "]]");
    }
    case AMF_VECTOR_OBJECT: {
        const struct amf_vector *vec = v->u.vector;
        if ((r = put(o, "[\"vector-object\",")) ||
            (r = put_str(o, vec->type_name.ptr, vec->type_name.len)) || (r = put(o, ",[")))
            return r;
        for (uint32_t i = 0; i < vec->count; i++)
            if ((i && (r = put(o, ","))) || (r = tagged(o, vec->items.v[i]))) return r;
        return put(o, "]]");
    }
    case AMF_DICTIONARY: {
        const struct amf_dict *d = v->u.dict;
        if ((r = put(o, "[\"dict\",["))) return r;
        for (uint32_t i = 0; i < d->count; i++)
            if ((r = put(o, i ? ",[" : "[")) || (r = tagged(o, d->entries[i].key)) ||
                (r = put(o, ",")) || (r = tagged(o, d->entries[i].value)) || (r = put(o, "]")))
                return r;
        return put(o, "]]");
    }
    default: return put(o, "[\"unsupported\"]");
    }
}

static int tagged(struct out *o, const struct amf_value *v)
{
    int r;
    if (v->flags & AMF_VF_AVMPLUS) {
        if ((r = put(o, "[\"avm+\","))) return r;
    }
    int complex = v->type >= AMF_ARRAY && v->type != AMF_UNSUPPORTED;
    if (complex) {
        for (int i = 0; i < o->depth; i++)
            if (o->path[i] == (const void *)v->u.array) {
                r = put(o, "[\"cycle\"]");
                goto done;
            }
        if (o->depth == MAX_DEPTH) return AMF_EDEPTH;
        o->path[o->depth++] = v->u.array;
    }
    r = tagged_inner(o, v);
    if (complex) o->depth--;
done:
    if (r) return r;
    return (v->flags & AMF_VF_AVMPLUS) ? put(o, "]") : 0;
}

/* ---- tagged JSON (parsed by amf_from_json) -> AMF value ---- */

static const char *tag_of(const struct amf_value *v)
{
    if (!v || v->type != AMF_ARRAY || v->u.array->dense_count < 1) return NULL;
    const struct amf_value *t = v->u.array->dense[0];
    return t->type == AMF_STRING ? t->u.s.ptr : NULL;
}

static double num_arg(const struct amf_value *v, int *ok)
{
    if (v->type == AMF_STRING) {
        *ok = 1;
        if (!strcmp(v->u.s.ptr, "NaN")) return NAN;
        if (!strcmp(v->u.s.ptr, "Infinity")) return INFINITY;
        if (!strcmp(v->u.s.ptr, "-Infinity")) return -INFINITY;
        if (!strcmp(v->u.s.ptr, "-0")) return -0.0;
        *ok = 0;
        return 0;
    }
    return amf_number(v, ok);
}

static int from_hex(amf_arena *a, const char *s, size_t n, uint8_t **out, size_t *len)
{
    if (n % 2) return AMF_EINVAL;
    uint8_t *p = amf_arena_alloc(a, n / 2 + 1);
    if (!p) return AMF_EARENA;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return AMF_EINVAL;
        p[i] = (uint8_t)v;
    }
    *out = p;
    *len = n / 2;
    return 0;
}

static int build(amf_arena *a, const struct amf_value *t, struct amf_value **out, int depth)
{
    const char *tag = tag_of(t);
    if (!tag || depth > MAX_DEPTH) return AMF_EINVAL;
    const struct amf_array *ta = t->u.array;
    const struct amf_value *a1 = ta->dense_count > 1 ? ta->dense[1] : NULL;
    const struct amf_value *a2 = ta->dense_count > 2 ? ta->dense[2] : NULL;
    int ok = 1, r;
    struct amf_value *v = NULL;
    if (!strcmp(tag, "undefined")) v = amf_new_undefined(a);
    else if (!strcmp(tag, "null")) v = amf_new_null(a);
    else if (!strcmp(tag, "bool") && a1 && a1->type == AMF_BOOL) v = amf_new_bool(a, a1->u.b);
    else if (!strcmp(tag, "int") && a1) v = amf_new_int(a, (int32_t)amf_number(a1, &ok));
    else if (!strcmp(tag, "double") && a1) v = amf_new_double(a, num_arg(a1, &ok));
    else if (!strcmp(tag, "date") && a1) v = amf_new_date(a, num_arg(a1, &ok));
    else if ((!strcmp(tag, "string") || !strcmp(tag, "xml") || !strcmp(tag, "xmldoc")) && a1 &&
             a1->type == AMF_STRING)
        v = tag[0] == 's' ? amf_new_string(a, a1->u.s.ptr, a1->u.s.len)
            : tag[3] == 0 ? amf_new_xml(a, a1->u.s.ptr, a1->u.s.len)
                          : amf_new_xmldoc(a, a1->u.s.ptr, a1->u.s.len);
    else if (!strcmp(tag, "bytes") && a1 && a1->type == AMF_STRING) {
        uint8_t *p;
        size_t n;
        if ((r = from_hex(a, a1->u.s.ptr, a1->u.s.len, &p, &n))) return r;
        v = amf_new_bytearray(a, p, n);
    } else if (!strcmp(tag, "avm+") && a1) {
        if ((r = build(a, a1, &v, depth + 1))) return r;
        v->flags |= AMF_VF_AVMPLUS;
    } else if ((!strcmp(tag, "array") || !strcmp(tag, "ecma"))) {
        int ecma = tag[0] == 'e';
        const struct amf_value *dense = ecma ? NULL : a1, *assoc = ecma ? a1 : a2;
        v = ecma ? amf_new_ecma_array(a) : amf_new_array(a);
        if (!v) return AMF_EARENA;
        if (dense && dense->type == AMF_ARRAY)
            for (uint32_t i = 0; i < dense->u.array->dense_count; i++) {
                struct amf_value *e;
                if ((r = build(a, dense->u.array->dense[i], &e, depth + 1)) ||
                    (r = amf_array_push(a, v, e)))
                    return r;
            }
        if (assoc && assoc->type == AMF_ARRAY)
            for (uint32_t i = 0; i < assoc->u.array->dense_count; i++) {
                const struct amf_value *p = assoc->u.array->dense[i];
                if (p->type != AMF_ARRAY || p->u.array->dense_count != 2 ||
                    p->u.array->dense[0]->type != AMF_STRING)
                    return AMF_EINVAL;
                struct amf_value *e;
                const struct amf_str *k = &p->u.array->dense[0]->u.s;
                if ((r = build(a, p->u.array->dense[1], &e, depth + 1)) ||
                    (r = amf_array_set(a, v, k->ptr, k->len, e)))
                    return r;
            }
        if (ecma) v->u.array->ecma_count = v->u.array->assoc_count;
    } else if (!strcmp(tag, "object") && a1 && a1->type == AMF_STRING) {
        v = amf_new_object(a, a1->u.s.ptr);
        if (!v) return AMF_EARENA;
        if (a2 && a2->type == AMF_ARRAY)
            for (uint32_t i = 0; i < a2->u.array->dense_count; i++) {
                const struct amf_value *p = a2->u.array->dense[i];
                if (p->type != AMF_ARRAY || p->u.array->dense_count != 2 ||
                    p->u.array->dense[0]->type != AMF_STRING)
                    return AMF_EINVAL;
                struct amf_value *e;
                const struct amf_str *k = &p->u.array->dense[0]->u.s;
                if ((r = build(a, p->u.array->dense[1], &e, depth + 1)) ||
                    (r = amf_object_add(a, v, k->ptr, k->len, e)))
                    return r;
            }
    } else if (!strcmp(tag, "external") && a1 && a1->type == AMF_STRING && a2) {
        struct amf_value *body;
        if ((r = build(a, a2, &body, depth + 1))) return r;
        v = amf_new_external(a, a1->u.s.ptr, body);
    } else {
        return AMF_EINVAL;
    }
    if (!ok) return AMF_EINVAL;
    if (!v) return AMF_EARENA;
    *out = v;
    return 0;
}

/* ---- requests ---- */

static int answer_decode(amf_arena *a, int enc, const uint8_t *p, size_t n, struct amf_buf *res)
{
    struct amf_value *v;
    size_t used = 0;
    int r = amf_decode(NULL, a, enc, p, n, &v, &used);
    if (r) {
        char m[160];
        snprintf(m, sizeof m, "ERR %s at byte %zu", amf_strerror(r), used);
        return amf_buf_append(res, m, strlen(m));
    }
    if (used != n) {
        char m[160];
        snprintf(m, sizeof m, "ERR %zu trailing bytes after the value (%zu used)", n - used, used);
        return amf_buf_append(res, m, strlen(m));
    }
    struct out o = { .b = res };
    if ((r = put(&o, "OK "))) return r;
    return tagged(&o, v);
}

static int answer_packet(amf_arena *a, const uint8_t *p, size_t n, int flex, struct amf_buf *res)
{
    struct amf_packet pkt;
    size_t off = 0;
    int r = amf_packet_decode(NULL, a, p, n, &pkt, &off);
    if (r) {
        char m[160];
        snprintf(m, sizeof m, "ERR %s at byte %zu", amf_strerror(r), off);
        return amf_buf_append(res, m, strlen(m));
    }
    struct out o = { .b = res };
    char tmp[64];
    if (flex) {
        if ((r = put(&o, "OK ["))) return r;
        for (uint32_t i = 0; i < pkt.body_count; i++) {
            struct amf_flex_msg m;
            int pr = amf_flex_parse(a, pkt.bodies[i].value, &m);
            const struct { const char *k; struct amf_str *s; } f[] = {
                { "messageId", &m.message_id }, { "clientId", &m.client_id },
                { "correlationId", &m.correlation_id }, { "destination", &m.destination },
                { "operationName", &m.operation_name }, { "source", &m.source },
                { "DSId", &m.ds_id }, { "DSEndpoint", &m.ds_endpoint },
                { "faultCode", &m.fault_code }, { "faultString", &m.fault_string },
                { "faultDetail", &m.fault_detail },
            };
            snprintf(tmp, sizeof tmp, "%s{\"kind\":%d,\"operation\":%d", i ? "," : "",
                     pr ? 0 : m.kind, pr ? -1 : m.operation);
            if ((r = put(&o, tmp))) return r;
            if (pr == 0) {
                for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
                    if (!f[k].s->ptr) continue;
                    snprintf(tmp, sizeof tmp, ",\"%s\":", f[k].k);
                    if ((r = put(&o, tmp)) || (r = put_str(&o, f[k].s->ptr, f[k].s->len))) return r;
                }
                if (m.body && ((r = put(&o, ",\"body\":")) || (r = tagged(&o, m.body)))) return r;
                if (m.headers && ((r = put(&o, ",\"headers\":")) || (r = tagged(&o, m.headers))))
                    return r;
            }
            if ((r = put(&o, "}"))) return r;
        }
        return put(&o, "]");
    }
    snprintf(tmp, sizeof tmp, "OK {\"version\":%u,\"headers\":[", pkt.version);
    if ((r = put(&o, tmp))) return r;
    for (uint32_t i = 0; i < pkt.header_count; i++) {
        if ((r = put(&o, i ? ",[" : "[")) ||
            (r = put_str(&o, pkt.headers[i].name.ptr, pkt.headers[i].name.len)) ||
            (r = put(&o, pkt.headers[i].must_understand ? ",true," : ",false,")) ||
            (r = tagged(&o, pkt.headers[i].value)) || (r = put(&o, "]")))
            return r;
    }
    if ((r = put(&o, "],\"bodies\":["))) return r;
    for (uint32_t i = 0; i < pkt.body_count; i++) {
        if ((r = put(&o, i ? ",[" : "[")) ||
            (r = put_str(&o, pkt.bodies[i].target.ptr, pkt.bodies[i].target.len)) ||
            (r = put(&o, ",")) ||
            (r = put_str(&o, pkt.bodies[i].response.ptr, pkt.bodies[i].response.len)) ||
            (r = put(&o, ",")) || (r = tagged(&o, pkt.bodies[i].value)) || (r = put(&o, "]")))
            return r;
    }
    return put(&o, "]}");
}

static int answer_encode(amf_arena *a, int enc, const char *json, size_t n, struct amf_buf *res)
{
    struct amf_value *t, *v;
    size_t off = 0;
    int r = amf_from_json(a, json, n, NULL, &t, &off);
    if (!r) r = build(a, t, &v, 0);
    struct amf_buf bytes;
    amf_buf_init(&bytes, 0);
    if (!r) r = amf_encode(NULL, enc, v, &bytes);
    if (r) {
        char m[160];
        snprintf(m, sizeof m, "ERR %s", amf_strerror(r));
        amf_buf_free(&bytes);
        return amf_buf_append(res, m, strlen(m));
    }
    struct out o = { .b = res };
    if (!(r = put(&o, "OK "))) {
        r = put_hex(&o, bytes.data, bytes.len);
        /* put_hex quotes; strip the quotes for the line protocol */
        if (!r) {
            memmove(res->data + 3, res->data + 4, res->len - 5);
            res->len -= 2;
        }
    }
    amf_buf_free(&bytes);
    return r;
}

int main(void)
{
    char *line = malloc(MAX_LINE);
    amf_arena *a = amf_arena_new(0);
    if (!line || !a) return 2;
    struct amf_buf res;
    while (fgets(line, MAX_LINE, stdin)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        amf_buf_init(&res, 0);
        amf_arena_reset(a);
        char *sp = strchr(line, ' ');
        const char *arg = sp ? sp + 1 : "";
        size_t alen = sp ? n - (size_t)(sp + 1 - line) : 0;
        int r;
        if (sp) *sp = 0;
        if (!strcmp(line, "D0") || !strcmp(line, "D3") || !strcmp(line, "P") || !strcmp(line, "F")) {
            uint8_t *p;
            size_t len;
            r = from_hex(a, arg, alen, &p, &len);
            if (r) r = amf_buf_append(&res, "ERR bad hex", 11);
            else if (line[0] == 'D') r = answer_decode(a, line[1] == '0' ? AMF_AMF0 : AMF_AMF3, p, len, &res);
            else r = answer_packet(a, p, len, line[0] == 'F', &res);
        } else if (!strcmp(line, "E0") || !strcmp(line, "E3")) {
            r = answer_encode(a, line[1] == '0' ? AMF_AMF0 : AMF_AMF3, arg, alen, &res);
        } else {
            r = amf_buf_append(&res, "ERR unknown request", 19);
        }
        if (r) {
            res.len = 0;
            char m[120];
            snprintf(m, sizeof m, "ERR %s", amf_strerror(r));
            amf_buf_append(&res, m, strlen(m));
        }
        fwrite(res.data, 1, res.len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        amf_buf_free(&res);
    }
    amf_arena_free(a);
    free(line);
    return 0;
}
