/* JSON conversion (both ways) and the annotated dump. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define JSON_MAX_DEPTH 1024

/* Output with a sticky error, so emitters can chain calls and check once. */
struct out {
    struct amf_buf *b;  /* destination */
    int err;            /* first error */
};

static void emit(struct out *o, const void *p, size_t n)
{
    if (!o->err) o->err = amf_buf_append(o->b, p, n);
}
static void emits(struct out *o, const char *s) { emit(o, s, strlen(s)); }
static void emitc(struct out *o, char c) { emit(o, &c, 1); }

/* Length of a valid UTF-8 sequence at p (1..4), or 0 when invalid (overlong, surrogate, > U+10FFFF).
 * Surrogates count as invalid here; emit_jstr() joins CESU-8 pairs itself. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;
        if (c == 0xED && p[1] >= 0xA0) return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;
        if (c == 0xF4 && p[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

static void emit_jstr(struct out *o, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s, *e = p + n;
    emitc(o, '"');
    while (p < e) {
        const uint8_t *run = p;
        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p > run) emit(o, run, (size_t)(p - run));
        if (p >= e) break;
        uint8_t c = *p;
        if (c == '"' || c == '\\') { char b[2] = { '\\', (char)c }; emit(o, b, 2); p++; }
        else if (c == '\n') { emits(o, "\\n"); p++; }
        else if (c == '\r') { emits(o, "\\r"); p++; }
        else if (c == '\t') { emits(o, "\\t"); p++; }
        else if (c == '\b') { emits(o, "\\b"); p++; }
        else if (c == '\f') { emits(o, "\\f"); p++; }
        else if (c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); emits(o, b); p++; }
        else {
            size_t l = utf8_len(p, (size_t)(e - p));
            if (l) { emit(o, p, l); p += l; continue; }
            /* CESU-8 / Java modified UTF-8 surrogate pair (§1.4): one 4-byte UTF-8 sequence */
            if (e - p >= 6 && p[0] == 0xED && (p[1] & 0xF0) == 0xA0 && (p[2] & 0xC0) == 0x80 &&
                p[3] == 0xED && (p[4] & 0xF0) == 0xB0 && (p[5] & 0xC0) == 0x80) {
                uint32_t hi = 0xD000u | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
                uint32_t lo = 0xD000u | ((uint32_t)(p[4] & 0x3F) << 6) | (p[5] & 0x3F);
                uint32_t cp = 0x10000u + ((hi - 0xD800u) << 10) + (lo - 0xDC00u);
                char u[4] = { (char)(0xF0 | cp >> 18), (char)(0x80 | (cp >> 12 & 63)),
                              (char)(0x80 | (cp >> 6 & 63)), (char)(0x80 | (cp & 63)) };
                emit(o, u, 4);
                p += 6;
                continue;
            }
            emits(o, "\xEF\xBF\xBD");
            p++;
        }
    }
    emitc(o, '"');
}

/* Shortest text that reads back as the same double. */
static void fmt_double(char *buf, size_t cap, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) return;
    }
}

static void emit_date_iso(struct out *o, double ms)
{
    char b[64];
    if (!isfinite(ms) || fabs(ms) > 8.64e15) { emits(o, "null"); return; }
    double secs = floor(ms / 1000.0);
    int milli = (int)(ms - secs * 1000.0);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) { emits(o, "null"); return; }
    snprintf(b, sizeof b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
    emits(o, b);
}

static void emit_base64(struct out *o, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    emitc(o, '"');
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        q[0] = tab[v >> 18 & 63];
        q[1] = tab[v >> 12 & 63];
        q[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? tab[v & 63] : '=';
        emit(o, q, 4);
    }
    emitc(o, '"');
}

/* Nodes on the current path (cycle detection). */
struct path {
    const struct amf_value *stack[JSON_MAX_DEPTH]; /* ancestors */
    int depth;                                      /* how many */
};

static void json_value(struct out *o, struct path *pa, const struct amf_value *v, unsigned flags);

static void newline(struct out *o, unsigned flags, int depth)
{
    if (!(flags & AMF_JSON_PRETTY)) return;
    emitc(o, '\n');
    for (int i = 0; i < depth; i++) emits(o, "  ");
}

static void json_member(struct out *o, struct path *pa, int *first, const char *name, size_t n,
                        const struct amf_value *v, unsigned flags)
{
    if (!*first) emitc(o, ',');
    *first = 0;
    newline(o, flags, pa->depth);
    emit_jstr(o, name, n);
    emits(o, (flags & AMF_JSON_PRETTY) ? ": " : ":");
    json_value(o, pa, v, flags);
}

static void json_value(struct out *o, struct path *pa, const struct amf_value *v, unsigned flags)
{
    char b[64];
    if (o->err) return;
    switch (v->type) {
    case AMF_UNDEFINED: case AMF_NULL: case AMF_UNSUPPORTED: emits(o, "null"); return;
    case AMF_BOOL: emits(o, v->u.b ? "true" : "false"); return;
    case AMF_INT: snprintf(b, sizeof b, "%d", (int)v->u.i); emits(o, b); return;
    case AMF_DOUBLE:
        if (!isfinite(v->u.d)) { emits(o, "null"); return; }
        fmt_double(b, sizeof b, v->u.d);
        emits(o, b);
        return;
    case AMF_STRING: case AMF_XML: case AMF_XMLDOC: emit_jstr(o, v->u.s.ptr, v->u.s.len); return;
    case AMF_DATE: emit_date_iso(o, v->u.d); return;
    case AMF_BYTEARRAY: emit_base64(o, v->u.bytes.ptr, v->u.bytes.len); return;
    default: break;
    }
    for (int i = 0; i < pa->depth; i++)
        if (pa->stack[i] == v) { emits(o, "\"[Circular]\""); return; }
    if (pa->depth >= JSON_MAX_DEPTH) { o->err = AMF_EDEPTH; return; }
    pa->stack[pa->depth++] = v;
    int first = 1;
    switch (v->type) {
    case AMF_ARRAY: {
        const struct amf_array *ar = v->u.array;
        if (ar->assoc_count) {
            emitc(o, '{');
            for (uint32_t i = 0; i < ar->dense_count; i++) {
                int n = snprintf(b, sizeof b, "%u", i);
                json_member(o, pa, &first, b, (size_t)n, ar->dense[i], flags);
            }
            for (uint32_t i = 0; i < ar->assoc_count; i++)
                json_member(o, pa, &first, ar->assoc[i].name.ptr, ar->assoc[i].name.len,
                            ar->assoc[i].value, flags);
            pa->depth--;
            if (!first) newline(o, flags, pa->depth);
            emitc(o, '}');
            return;
        }
        emitc(o, '[');
        for (uint32_t i = 0; i < ar->dense_count; i++) {
            if (i) emitc(o, ',');
            newline(o, flags, pa->depth);
            json_value(o, pa, ar->dense[i], flags);
        }
        pa->depth--;
        if (ar->dense_count) newline(o, flags, pa->depth);
        emitc(o, ']');
        return;
    }
    case AMF_OBJECT: {
        const struct amf_object *ob = v->u.object;
        const struct amf_traits *t = ob->traits;
        if (t->externalizable && ob->ext && !(flags & AMF_JSON_CLASS)) {
            pa->depth--;  /* the body stands for the object */
            pa->stack[pa->depth++] = v;
            json_value(o, pa, ob->ext, flags);
            pa->depth--;
            return;
        }
        emitc(o, '{');
        if ((flags & AMF_JSON_CLASS) && t->class_name.len) {
            struct amf_value cls;
            memset(&cls, 0, sizeof cls);
            cls.type = AMF_STRING;
            cls.u.s = t->class_name;
            json_member(o, pa, &first, "$class", 6, &cls, flags);
        }
        if (t->externalizable) {
            if (ob->ext) json_member(o, pa, &first, "$body", 5, ob->ext, flags);
        } else {
            for (uint32_t i = 0; i < t->sealed_count; i++)
                json_member(o, pa, &first, t->sealed[i].ptr, t->sealed[i].len, ob->sealed[i], flags);
            for (uint32_t i = 0; i < ob->dyn_count; i++)
                json_member(o, pa, &first, ob->dyn[i].name.ptr, ob->dyn[i].name.len,
                            ob->dyn[i].value, flags);
        }
        pa->depth--;
        if (!first) newline(o, flags, pa->depth);
        emitc(o, '}');
        return;
    }
    case AMF_VECTOR_INT: case AMF_VECTOR_UINT: case AMF_VECTOR_DOUBLE: case AMF_VECTOR_OBJECT: {
        const struct amf_vector *vec = v->u.vector;
        emitc(o, '[');
        for (uint32_t i = 0; i < vec->count; i++) {
            if (i) emitc(o, ',');
            newline(o, flags, pa->depth);
            if (v->type == AMF_VECTOR_OBJECT) { json_value(o, pa, vec->items.v[i], flags); continue; }
            if (v->type == AMF_VECTOR_INT) snprintf(b, sizeof b, "%d", (int)vec->items.i[i]);
            else if (v->type == AMF_VECTOR_UINT) snprintf(b, sizeof b, "%u", vec->items.u[i]);
            else if (isfinite(vec->items.d[i])) fmt_double(b, sizeof b, vec->items.d[i]);
            else strcpy(b, "null");
            emits(o, b);
        }
        pa->depth--;
        if (vec->count) newline(o, flags, pa->depth);
        emitc(o, ']');
        return;
    }
    case AMF_DICTIONARY: {
        const struct amf_dict *dc = v->u.dict;
        emitc(o, '[');
        for (uint32_t i = 0; i < dc->count; i++) {
            if (i) emitc(o, ',');
            newline(o, flags, pa->depth);
            emitc(o, '[');
            json_value(o, pa, dc->entries[i].key, flags);
            emitc(o, ',');
            json_value(o, pa, dc->entries[i].value, flags);
            emitc(o, ']');
        }
        pa->depth--;
        if (dc->count) newline(o, flags, pa->depth);
        emitc(o, ']');
        return;
    }
    default:
        pa->depth--;
        emits(o, "null");
        return;
    }
}

int amf_to_json(const struct amf_value *v, unsigned flags, struct amf_buf *out)
{
    if (!v || !out) return AMF_EINVAL;
    struct path *pa = malloc(sizeof *pa);
    if (!pa) return AMF_ENOMEM;
    pa->depth = 0;
    struct out o = { out, 0 };
    size_t start = out->len;
    json_value(&o, pa, v, flags);
    free(pa);
    if (o.err) out->len = start;
    return o.err;
}

/* ================================================================================================
 * JSON -> values
 * ============================================================================================== */

struct jp {
    const char *s;                /* text */
    const char *p;                /* cursor */
    const char *e;                /* end */
    amf_arena *a;                 /* destination */
    const struct amf_limits *lim; /* limits */
    uint32_t depth;               /* nesting */
    char *tmp;                    /* scratch for unescaped strings */
    size_t tmpcap;                /* its size */
};

static void ws(struct jp *j)
{
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, uint32_t c)
{
    if (c < 0x80) { d[0] = (char)c; return 1; }
    if (c < 0x800) { d[0] = (char)(0xC0 | c >> 6); d[1] = (char)(0x80 | (c & 63)); return 2; }
    if (c < 0x10000) {
        d[0] = (char)(0xE0 | c >> 12); d[1] = (char)(0x80 | (c >> 6 & 63));
        d[2] = (char)(0x80 | (c & 63));
        return 3;
    }
    d[0] = (char)(0xF0 | c >> 18); d[1] = (char)(0x80 | (c >> 12 & 63));
    d[2] = (char)(0x80 | (c >> 6 & 63)); d[3] = (char)(0x80 | (c & 63));
    return 4;
}

/* Parses a string at the cursor (on the opening quote) into the arena. */
static int jstring(struct jp *j, struct amf_str *out)
{
    j->p++;
    const char *start = j->p;
    /* fast path: no escapes */
    while (j->p < j->e && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20) j->p++;
    if (j->p < j->e && *j->p == '"') {
        size_t n = (size_t)(j->p - start);
        if (n > j->lim->max_string) return AMF_ESTRLEN;
        char *c = amf_arena_strdup(j->a, start, n);
        if (!c) return AMF_EARENA;
        out->ptr = c;
        out->len = (uint32_t)n;
        j->p++;
        return 0;
    }
    size_t len = (size_t)(j->p - start);
    /* the unescaped text is never longer than the escaped text */
    const char *q = j->p;
    while (q < j->e && *q != '"') q += (*q == '\\' && q + 1 < j->e) ? 2 : 1;
    if (q >= j->e) return AMF_EJSON;
    size_t need = (size_t)(q - start) + 1;
    if (need > j->lim->max_string + (size_t)1) return AMF_ESTRLEN;
    char *d = amf_arena_alloc(j->a, need);
    if (!d) return AMF_EARENA;
    memcpy(d, start, len);
    while (j->p < j->e && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) return AMF_EJSON;
        if (c != '\\') { d[len++] = (char)c; j->p++; continue; }
        if (j->p + 1 >= j->e) return AMF_EJSON;
        char esc = j->p[1];
        j->p += 2;
        switch (esc) {
        case '"': d[len++] = '"'; break;
        case '\\': d[len++] = '\\'; break;
        case '/': d[len++] = '/'; break;
        case 'b': d[len++] = '\b'; break;
        case 'f': d[len++] = '\f'; break;
        case 'n': d[len++] = '\n'; break;
        case 'r': d[len++] = '\r'; break;
        case 't': d[len++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (j->e - j->p < 4 || hex4(j->p, &cp)) return AMF_EJSON;
            j->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && j->e - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u' && !hex4(j->p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j->p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;  /* lone surrogate */
            }
            len += put_utf8(d + len, cp);
            break;
        }
        default: return AMF_EJSON;
        }
    }
    if (j->p >= j->e) return AMF_EJSON;
    j->p++;
    d[len] = 0;
    out->ptr = d;
    out->len = (uint32_t)len;
    return 0;
}

static int jvalue(struct jp *j, struct amf_value **out);

static int jnumber(struct jp *j, struct amf_value **out)
{
    const char *s = j->p;
    if (j->p < j->e && *j->p == '-') j->p++;
    if (j->p >= j->e || *j->p < '0' || *j->p > '9') return AMF_EJSON;
    if (*j->p == '0') j->p++;
    else while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
    if (j->p < j->e && *j->p == '.') {
        j->p++;
        if (j->p >= j->e || *j->p < '0' || *j->p > '9') return AMF_EJSON;
        while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->e && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->e || *j->p < '0' || *j->p > '9') return AMF_EJSON;
        while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    size_t n = (size_t)(j->p - s);
    char buf[512];
    if (n >= sizeof buf) return AMF_EJSON;
    memcpy(buf, s, n);
    buf[n] = 0;
    double d = strtod(buf, NULL);
    *out = amf_new_number(j->a, d);
    return *out ? 0 : AMF_EARENA;
}

static int jvalue(struct jp *j, struct amf_value **out)
{
    ws(j);
    if (j->p >= j->e) return AMF_EJSON;
    char c = *j->p;
    int r;
    if (c == '{' || c == '[') {
        if (++j->depth > j->lim->max_depth) return AMF_EDEPTH;
        j->p++;
        struct amf_value *v = c == '{' ? amf_new_object(j->a, NULL) : amf_new_array(j->a);
        if (!v) return AMF_EARENA;
        char close = c == '{' ? '}' : ']';
        ws(j);
        if (j->p < j->e && *j->p == close) {
            j->p++;
        } else {
            uint32_t count = 0;
            for (;;) {
                if (++count > j->lim->max_elements) return AMF_ECOUNT;
                struct amf_value *item;
                if (c == '{') {
                    struct amf_str name;
                    ws(j);
                    if (j->p >= j->e || *j->p != '"') return AMF_EJSON;
                    if ((r = jstring(j, &name))) return r;
                    ws(j);
                    if (j->p >= j->e || *j->p != ':') return AMF_EJSON;
                    j->p++;
                    if ((r = jvalue(j, &item))) return r;
                    /* the name already lives in the arena: append without another copy */
                    struct amf_object *ob = v->u.object;
                    if ((r = amf_arena_grow_array_(j->a, (void **)&ob->dyn, ob->dyn_count, &ob->dyn_cap,
                                                   sizeof *ob->dyn, 4, UINT32_MAX)))
                        return r;
                    ob->dyn[ob->dyn_count].name = name;
                    ob->dyn[ob->dyn_count].value = item;
                    ob->dyn_count++;
                } else {
                    if ((r = jvalue(j, &item))) return r;
                    if ((r = amf_array_push(j->a, v, item))) return r;
                }
                ws(j);
                if (j->p >= j->e) return AMF_EJSON;
                if (*j->p == ',') { j->p++; continue; }
                if (*j->p == close) { j->p++; break; }
                return AMF_EJSON;
            }
        }
        j->depth--;
        *out = v;
        return 0;
    }
    if (c == '"') {
        struct amf_value *v = amf_arena_alloc(j->a, sizeof *v);
        if (!v) return AMF_EARENA;
        memset(v, 0, sizeof *v);
        v->type = AMF_STRING;
        if ((r = jstring(j, &v->u.s))) return r;
        *out = v;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return jnumber(j, out);
    static const struct { const char *w; size_t n; int t; } words[] = {
        { "true", 4, 1 }, { "false", 5, 0 }, { "null", 4, 2 },
    };
    for (size_t i = 0; i < 3; i++)
        if ((size_t)(j->e - j->p) >= words[i].n && !memcmp(j->p, words[i].w, words[i].n)) {
            j->p += words[i].n;
            *out = words[i].t == 2 ? amf_new_null(j->a) : amf_new_bool(j->a, words[i].t);
            return *out ? 0 : AMF_EARENA;
        }
    return AMF_EJSON;
}

int amf_from_json(amf_arena *a, const char *text, size_t len, const struct amf_limits *lim,
                  struct amf_value **out, size_t *err_off)
{
    struct jp j;
    memset(&j, 0, sizeof j);
    j.s = j.p = text;
    j.e = text + len;
    j.a = a;
    j.lim = lim ? lim : amf_limits_default_();
    *out = NULL;
    int r;
    if (!a || (!text && len)) r = AMF_EINVAL;
    else if (len > j.lim->max_input) r = AMF_EINPUT;
    else {
        struct amf_value *v = NULL;
        r = jvalue(&j, &v);
        if (!r) {
            ws(&j);
            if (j.p != j.e) r = AMF_EJSON;
            else *out = v;
        }
    }
    if (err_off) *err_off = (size_t)(j.p - j.s);
    return r;
}

/* ================================================================================================
 * Dump
 * ============================================================================================== */

struct dump_slot {
    const void *node;             /* numbered node, NULL = empty */
    size_t num;                   /* its number */
};
struct dump {
    struct out o;                 /* output */
    struct dump_slot *seen;       /* numbered nodes: open addressing by address */
    size_t nseen, capseen;        /* count / slots (power of two) */
};

static long dump_find(struct dump *d, const void *p)
{
    if (!d->capseen) return -1;
    for (size_t i = amf_hash_ptr(p) & (d->capseen - 1); d->seen[i].node; i = (i + 1) & (d->capseen - 1))
        if (d->seen[i].node == p) return (long)d->seen[i].num;
    return -1;
}

static int dump_add(struct dump *d, const void *p)
{
    if ((d->nseen + 1) * 2 > d->capseen) {
        size_t nc = d->capseen ? d->capseen * 2 : 64;
        struct dump_slot *n = calloc(nc, sizeof *n);
        if (!n) return AMF_ENOMEM;
        for (size_t j = 0; j < d->capseen; j++)
            if (d->seen[j].node) {
                size_t i = amf_hash_ptr(d->seen[j].node) & (nc - 1);
                while (n[i].node) i = (i + 1) & (nc - 1);
                n[i] = d->seen[j];
            }
        free(d->seen);
        d->seen = n;
        d->capseen = nc;
    }
    size_t i = amf_hash_ptr(p) & (d->capseen - 1);
    while (d->seen[i].node) i = (i + 1) & (d->capseen - 1);
    d->seen[i].node = p;
    d->seen[i].num = d->nseen++;
    return 0;
}

static void dump_indent(struct dump *d, int depth)
{
    for (int i = 0; i < depth; i++) emits(&d->o, "  ");
}

static void dump_value(struct dump *d, const struct amf_value *v, int depth);

/* Child line: indentation, a label, then the value (which ends its own line). */
static void dump_child(struct dump *d, int depth, const char *label, size_t ln, int quote,
                       const struct amf_value *v)
{
    dump_indent(d, depth);
    if (quote) emit_jstr(&d->o, label, ln);
    else emit(&d->o, label, ln);
    emits(&d->o, ": ");
    dump_value(d, v, depth);
}

static void dump_value(struct dump *d, const struct amf_value *v, int depth)
{
    char b[96];
    struct out *o = &d->o;
    if (o->err) return;
    if (depth > JSON_MAX_DEPTH) { o->err = AMF_EDEPTH; return; }
    if (v->flags & AMF_VF_AVMPLUS) emits(o, "avm+ ");
    switch (v->type) {
    case AMF_UNDEFINED: emits(o, "undefined\n"); return;
    case AMF_NULL: emits(o, "null\n"); return;
    case AMF_UNSUPPORTED: emits(o, "unsupported\n"); return;
    case AMF_BOOL: emits(o, v->u.b ? "true\n" : "false\n"); return;
    case AMF_INT: snprintf(b, sizeof b, "int(%d)\n", (int)v->u.i); emits(o, b); return;
    case AMF_DOUBLE:
        emits(o, "double(");
        fmt_double(b, sizeof b, v->u.d);
        emits(o, b);
        emits(o, ")\n");
        return;
    case AMF_STRING: emit_jstr(o, v->u.s.ptr, v->u.s.len); emitc(o, '\n'); return;
    default: break;
    }
    long seen = dump_find(d, v);
    if (seen >= 0) { snprintf(b, sizeof b, "=@%ld\n", seen); emits(o, b); return; }
    snprintf(b, sizeof b, "@%zu ", d->nseen);
    if ((o->err = dump_add(d, v))) return;
    emits(o, b);
    switch (v->type) {
    case AMF_DATE:
        emits(o, "date(");
        fmt_double(b, sizeof b, v->u.d);
        emits(o, b);
        if (v->tz) { snprintf(b, sizeof b, ", tz=%d", v->tz); emits(o, b); }
        emits(o, ")\n");
        return;
    case AMF_XML: case AMF_XMLDOC:
        emits(o, v->type == AMF_XML ? "xml(" : "xmldoc(");
        emit_jstr(o, v->u.s.ptr, v->u.s.len);
        emits(o, ")\n");
        return;
    case AMF_BYTEARRAY:
        emits(o, "bytes(");
        for (uint32_t i = 0; i < v->u.bytes.len; i++) {
            snprintf(b, sizeof b, "%02x", v->u.bytes.ptr[i]);
            emits(o, b);
        }
        emits(o, ")\n");
        return;
    case AMF_ARRAY: {
        const struct amf_array *ar = v->u.array;
        if (v->flags & AMF_VF_ECMA) snprintf(b, sizeof b, "ecma(count=%u)\n", ar->ecma_count);
        else snprintf(b, sizeof b, "array\n");
        emits(o, b);
        for (uint32_t i = 0; i < ar->assoc_count; i++)
            dump_child(d, depth + 1, ar->assoc[i].name.ptr, ar->assoc[i].name.len, 1,
                       ar->assoc[i].value);
        for (uint32_t i = 0; i < ar->dense_count; i++) {
            int n = snprintf(b, sizeof b, "[%u]", i);
            dump_child(d, depth + 1, b, (size_t)n, 0, ar->dense[i]);
        }
        return;
    }
    case AMF_OBJECT: {
        const struct amf_object *ob = v->u.object;
        const struct amf_traits *t = ob->traits;
        emits(o, "object<");
        emit_jstr(o, t->class_name.ptr, t->class_name.len);
        if (t->sealed_count) {
            emits(o, ", sealed(");
            for (uint32_t i = 0; i < t->sealed_count; i++) {
                if (i) emits(o, ", ");
                emit(o, t->sealed[i].ptr, t->sealed[i].len);
            }
            emitc(o, ')');
        }
        if (t->dynamic) emits(o, ", dynamic");
        if (t->externalizable) emits(o, ", externalizable");
        emits(o, ">\n");
        if (t->externalizable) {
            if (ob->ext) dump_child(d, depth + 1, "ext", 3, 0, ob->ext);
            return;
        }
        for (uint32_t i = 0; i < t->sealed_count; i++)
            dump_child(d, depth + 1, t->sealed[i].ptr, t->sealed[i].len, 0, ob->sealed[i]);
        for (uint32_t i = 0; i < ob->dyn_count; i++)
            dump_child(d, depth + 1, ob->dyn[i].name.ptr, ob->dyn[i].name.len, 1, ob->dyn[i].value);
        return;
    }
    case AMF_VECTOR_INT: case AMF_VECTOR_UINT: case AMF_VECTOR_DOUBLE: case AMF_VECTOR_OBJECT: {
        const struct amf_vector *vec = v->u.vector;
        static const char *const kn[] = { "int", "uint", "double", "object" };
        emits(o, "vector<");
        emits(o, kn[v->type - AMF_VECTOR_INT]);
        if (v->type == AMF_VECTOR_OBJECT) {
            emitc(o, ' ');
            emit_jstr(o, vec->type_name.ptr, vec->type_name.len);
        }
        snprintf(b, sizeof b, ", fixed=%d>\n", vec->fixed);
        emits(o, b);
        for (uint32_t i = 0; i < vec->count; i++) {
            int n = snprintf(b, sizeof b, "[%u]", i);
            if (v->type == AMF_VECTOR_OBJECT) {
                dump_child(d, depth + 1, b, (size_t)n, 0, vec->items.v[i]);
                continue;
            }
            dump_indent(d, depth + 1);
            emit(o, b, (size_t)n);
            if (v->type == AMF_VECTOR_INT) snprintf(b, sizeof b, ": %d\n", (int)vec->items.i[i]);
            else if (v->type == AMF_VECTOR_UINT) snprintf(b, sizeof b, ": %u\n", vec->items.u[i]);
            else {
                char nb[40];
                fmt_double(nb, sizeof nb, vec->items.d[i]);
                snprintf(b, sizeof b, ": %s\n", nb);
            }
            emits(o, b);
        }
        return;
    }
    case AMF_DICTIONARY: {
        const struct amf_dict *dc = v->u.dict;
        snprintf(b, sizeof b, "dict<weak=%d>\n", dc->weak);
        emits(o, b);
        for (uint32_t i = 0; i < dc->count; i++) {
            int n = snprintf(b, sizeof b, "key[%u]", i);
            dump_child(d, depth + 1, b, (size_t)n, 0, dc->entries[i].key);
            n = snprintf(b, sizeof b, "val[%u]", i);
            dump_child(d, depth + 1, b, (size_t)n, 0, dc->entries[i].value);
        }
        return;
    }
    default: emits(o, "?\n"); return;
    }
}

int amf_dump(const struct amf_value *v, struct amf_buf *out)
{
    if (!v || !out) return AMF_EINVAL;
    struct dump d;
    memset(&d, 0, sizeof d);
    d.o.b = out;
    size_t start = out->len;
    dump_value(&d, v, 0);
    free(d.seen);
    if (d.o.err) out->len = start;
    return d.o.err;
}
