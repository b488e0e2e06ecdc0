/* AMF0 and AMF3 decoders and the remoting envelope reader.
 *
 * One recursive-descent reader per format over a bounds-checked cursor.  Every count read from the
 * wire is checked against what the remaining bytes could possibly hold *before* anything is
 * allocated (each AMF value takes at least one byte), so a 5-byte input cannot ask for a gigabyte.
 * Complex nodes enter their reference table before their children are read (§1.3, §2.5), which is
 * what turns self references into real cycles.  Members of lists whose length is not on the wire
 * (AMF0 property lists, AMF3 dynamic members and associative keys) collect on one scratch stack and
 * are copied into the arena at their exact size when the list ends. */
#include "internal.h"
#include "dynbuf.h"

#include <stdlib.h>

struct amf_dec {
    const uint8_t *base;           /* start of the input (offsets are relative to it) */
    const uint8_t *p;              /* cursor */
    const uint8_t *end;            /* end of the input */
    amf_arena *a;                  /* where values go */
    const struct amf_limits *lim;  /* limits in force */
    const struct amf_registry *reg;/* externalizable classes */
    unsigned flags;                /* AMF_DEC_* */
    uint32_t depth;                /* current container nesting */
    struct amf_value **objs0;      /* AMF0 reference table (in the arena) */
    uint32_t nobjs0, capobjs0;     /* its size / allocation */
    struct amf_value **objs3;      /* AMF3 object table */
    uint32_t nobjs3, capobjs3;     /* its size / allocation */
    struct amf_str *strs;          /* AMF3 string table */
    uint32_t nstrs, capstrs;       /* its size / allocation */
    const struct amf_traits **traits; /* AMF3 traits table */
    uint32_t ntraits, captraits;   /* its size / allocation */
    struct amf_str names0[64];     /* AMF0 property names already copied: rows of objects repeat
                                    * their names, so each distinct name is copied once */
    struct amf_member *ms;         /* scratch member stack */
    size_t nms, capms;             /* its size / allocation */
};

#define NEED(d, n) do { if (AMF_UNLIKELY((size_t)((d)->end - (d)->p) < (size_t)(n))) return AMF_ETRUNC; } while (0)
#define REMAIN(d) ((size_t)((d)->end - (d)->p))
#define amf_arena_alloc amf_arena_alloc_fast_  /* every decoder allocation takes the inline path */
#define TRY(x) do { int r_ = (x); if (AMF_UNLIKELY(r_)) return r_; } while (0)

/* Appends to a reference table, refusing to pass max_refs.  Tables live in the arena: after an
 * amf_arena_reset() they land in warm, already-mapped memory instead of fresh pages, and the
 * doubling leaves at most the table's own size behind. */
static int tab_push(struct amf_dec *d, void **tab, uint32_t *n, uint32_t *cap, size_t elem,
                    const void *item, uint32_t max)
{
    if (AMF_UNLIKELY(*n >= *cap)) {
        int r = amf_arena_grow_array_(d->a, tab, *n, cap, elem, 64, max);
        if (r) return r == AMF_ERANGE ? AMF_EREFS : r;
    }
    memcpy((char *)*tab + (size_t)*n * elem, item, elem);
    (*n)++;
    return 0;
}

static int push_obj3(struct amf_dec *d, struct amf_value *v)
{
    if (AMF_LIKELY(d->nobjs3 < d->capobjs3)) { d->objs3[d->nobjs3++] = v; return 0; }
    return tab_push(d, (void **)&d->objs3, &d->nobjs3, &d->capobjs3, sizeof v, &v, d->lim->max_refs);
}

static int push_obj0(struct amf_dec *d, struct amf_value *v)
{
    return tab_push(d, (void **)&d->objs0, &d->nobjs0, &d->capobjs0, sizeof v, &v, d->lim->max_refs);
}

static int push_member(struct amf_dec *d, struct amf_str name, struct amf_value *v)
{
    if (AMF_UNLIKELY(d->nms >= d->capms)) {
        void *m = d->ms;
        if (dyn_grow(&m, &d->capms, d->nms + 1, sizeof *d->ms, 256, SIZE_MAX)) return AMF_ENOMEM;
        d->ms = m;
    }
    d->ms[d->nms].name = name;
    d->ms[d->nms].value = v;
    d->nms++;
    return 0;
}

/* Moves the members above base from the scratch stack into the arena. */
static int pop_members(struct amf_dec *d, size_t base, struct amf_member **out, uint32_t *count,
                       uint32_t *cap)
{
    size_t n = d->nms - base;
    *count = *cap = (uint32_t)n;
    *out = NULL;
    if (n) {
        *out = amf_arena_alloc(d->a, n * sizeof **out);
        if (!*out) return AMF_EARENA;
        memcpy(*out, d->ms + base, n * sizeof **out);
    }
    d->nms = base;
    return 0;
}

static inline struct amf_value *node(struct amf_dec *d, int type)
{
    struct amf_value *v = amf_arena_alloc(d->a, sizeof *v);
    if (AMF_LIKELY(v != NULL)) {
        v->type = (uint8_t)type;
        v->flags = 0;
        v->tz = 0;
        v->reserved_ = 0;
    }
    return v;
}

/* A node and its container struct in one allocation (one bump instead of two). */
static inline struct amf_value *node_with(struct amf_dec *d, int type, size_t extra, void **body)
{
    struct amf_value *v = amf_arena_alloc(d->a, sizeof *v + extra);
    if (AMF_UNLIKELY(!v)) return NULL;
    v->type = (uint8_t)type;
    v->flags = 0;
    v->tz = 0;
    v->reserved_ = 0;
    *body = v + 1;
    memset(*body, 0, extra);
    return v;
}

/* Takes len bytes at the cursor as a string: borrowed or copied. */
static int take_str(struct amf_dec *d, size_t len, struct amf_str *out)
{
    if (AMF_UNLIKELY(len > d->lim->max_string)) return AMF_ESTRLEN;
    NEED(d, len);
    out->len = (uint32_t)len;
    if (len == 0) {
        out->ptr = "";
    } else if (d->flags & AMF_DEC_BORROW) {
        out->ptr = (const char *)d->p;
    } else {
        char *c = amf_arena_alloc(d->a, len + 1);
        if (!c) return AMF_EARENA;
        memcpy(c, d->p, len);
        c[len] = 0;
        out->ptr = c;
    }
    d->p += len;
    return 0;
}

static int enter(struct amf_dec *d)
{
    if (AMF_UNLIKELY(++d->depth > d->lim->max_depth)) return AMF_EDEPTH;
    return 0;
}

/* ================================================================================================
 * AMF3
 * ============================================================================================== */

static inline int rd_u29(struct amf_dec *d, uint32_t *out)
{
    const uint8_t *p = d->p, *e = d->end;
    if (AMF_LIKELY(p < e && *p < 0x80)) {
        *out = *p;
        d->p = p + 1;
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 3; i++) {
        if (p == e) return AMF_ETRUNC;
        uint8_t b = *p++;
        if (!(b & 0x80)) {
            *out = (v << 7) | b;
            d->p = p;
            return 0;
        }
        v = (v << 7) | (b & 0x7f);
    }
    if (p == e) return AMF_ETRUNC;
    *out = (v << 8) | *p++;
    d->p = p;
    return 0;
}

static int rd_str3(struct amf_dec *d, struct amf_str *out)
{
    uint32_t h;
    TRY(rd_u29(d, &h));
    if (!(h & 1)) {
        uint32_t idx = h >> 1;
        if (AMF_UNLIKELY(idx >= d->nstrs)) return AMF_ESTRREF;
        *out = d->strs[idx];
        return 0;
    }
    TRY(take_str(d, h >> 1, out));
    if (out->len == 0) return 0;  /* the empty string never enters the table (§2.3) */
    if (AMF_LIKELY(d->nstrs < d->capstrs)) { d->strs[d->nstrs++] = *out; return 0; }
    return tab_push(d, (void **)&d->strs, &d->nstrs, &d->capstrs, sizeof *out, out, d->lim->max_refs);
}

/* Reads the U29 of an object-table type: a reference (returns 1 with *out set) or an inline length
 * (returns 0 with *len). */
static int rd_ref_or_len(struct amf_dec *d, uint32_t *len, struct amf_value **out)
{
    uint32_t h;
    TRY(rd_u29(d, &h));
    if (!(h & 1)) {
        uint32_t idx = h >> 1;
        if (AMF_UNLIKELY(idx >= d->nobjs3)) return AMF_EREF;
        *out = d->objs3[idx];
        return 1;
    }
    *len = h >> 1;
    return 0;
}

static int rd3(struct amf_dec *d, struct amf_value **out);

static int rd3_object(struct amf_dec *d, struct amf_value **out)
{
    uint32_t h;
    TRY(rd_u29(d, &h));
    if (!(h & 1)) {
        uint32_t idx = h >> 1;
        if (AMF_UNLIKELY(idx >= d->nobjs3)) return AMF_EREF;
        *out = d->objs3[idx];
        return 0;
    }
    const struct amf_traits *t;
    if (!(h & 2)) {
        uint32_t idx = h >> 2;
        if (AMF_UNLIKELY(idx >= d->ntraits)) return AMF_ETRAITREF;
        t = d->traits[idx];
    } else {
        struct amf_str cls;
        int ext = (h & 4) != 0, dyn = !ext && (h & 8) != 0;  /* no members behind ext traits */
        uint32_t n = ext ? 0 : h >> 4;
        TRY(rd_str3(d, &cls));
        if (AMF_UNLIKELY(n > d->lim->max_elements)) return AMF_ECOUNT;
        if (AMF_UNLIKELY(n > REMAIN(d) / 2)) return AMF_ECOUNT;  /* name + value, >= 1 byte each */
        if (!ext && dyn && n == 0 && cls.len == 0) {
            t = &amf_anon_traits_;
        } else {
            struct amf_traits *nt = amf_arena_alloc(d->a, sizeof *nt);
            if (!nt) return AMF_EARENA;
            nt->class_name = cls;
            nt->sealed_count = n;
            nt->dynamic = (uint8_t)dyn;
            nt->externalizable = (uint8_t)ext;
            nt->sealed = NULL;
            if (n) {
                nt->sealed = amf_arena_alloc(d->a, (size_t)n * sizeof *nt->sealed);
                if (!nt->sealed) return AMF_EARENA;
                for (uint32_t i = 0; i < n; i++) TRY(rd_str3(d, &nt->sealed[i]));
            }
            t = nt;
        }
        TRY(tab_push(d, (void **)&d->traits, &d->ntraits, &d->captraits, sizeof t, &t,
                     d->lim->max_refs));
    }
    struct amf_object *o;
    struct amf_value *v = node_with(d, AMF_OBJECT, sizeof *o, (void **)&o);
    if (!v) return AMF_EARENA;
    o->traits = t;
    v->u.object = o;
    TRY(push_obj3(d, v));
    TRY(enter(d));
    if (t->externalizable) {
        const struct amf_ext_class *c = amf_ext_find_(d->reg, t->class_name.ptr, t->class_name.len);
        if (!c || !c->read) return AMF_EEXTERNAL;
        struct amf_ext_io io = { .dec = d, .enc = NULL };
        int r = c->read(&io, v, c->user);
        if (r) return r < 0 ? r : AMF_EEXTBODY;
    } else {
        uint32_t n = t->sealed_count;
        if (n) {
            if (AMF_UNLIKELY(n > REMAIN(d))) return AMF_ECOUNT;
            o->sealed = amf_arena_alloc(d->a, (size_t)n * sizeof *o->sealed);
            if (!o->sealed) return AMF_EARENA;
            for (uint32_t i = 0; i < n; i++) TRY(rd3(d, &o->sealed[i]));
        }
        if (t->dynamic) {
            size_t base = d->nms;
            for (;;) {
                struct amf_str name;
                struct amf_value *mv;
                TRY(rd_str3(d, &name));
                if (name.len == 0) break;
                if (AMF_UNLIKELY(d->nms - base >= d->lim->max_elements)) return AMF_ECOUNT;
                TRY(rd3(d, &mv));
                TRY(push_member(d, name, mv));
            }
            TRY(pop_members(d, base, &o->dyn, &o->dyn_count, &o->dyn_cap));
        }
    }
    d->depth--;
    *out = v;
    return 0;
}

static int rd3_array(struct amf_dec *d, struct amf_value **out)
{
    uint32_t n;
    int r = rd_ref_or_len(d, &n, out);
    if (r) return r > 0 ? 0 : r;
    if (AMF_UNLIKELY(n > d->lim->max_elements)) return AMF_ECOUNT;
    if (AMF_UNLIKELY(n > REMAIN(d))) return AMF_ECOUNT;
    struct amf_array *ar;
    struct amf_value *v = node_with(d, AMF_ARRAY, sizeof *ar, (void **)&ar);
    if (!v) return AMF_EARENA;
    v->u.array = ar;
    TRY(push_obj3(d, v));
    TRY(enter(d));
    size_t base = d->nms;
    for (;;) {
        struct amf_str key;
        struct amf_value *mv;
        TRY(rd_str3(d, &key));
        if (key.len == 0) break;
        if (AMF_UNLIKELY(d->nms - base >= d->lim->max_elements)) return AMF_ECOUNT;
        TRY(rd3(d, &mv));
        TRY(push_member(d, key, mv));
    }
    TRY(pop_members(d, base, &ar->assoc, &ar->assoc_count, &ar->assoc_cap));
    if (n) {
        if (AMF_UNLIKELY(n > REMAIN(d))) return AMF_ECOUNT;
        ar->dense = amf_arena_alloc(d->a, (size_t)n * sizeof *ar->dense);
        if (!ar->dense) return AMF_EARENA;
        for (uint32_t i = 0; i < n; i++) TRY(rd3(d, &ar->dense[i]));
        ar->dense_count = ar->dense_cap = n;
    }
    d->depth--;
    *out = v;
    return 0;
}

static int rd3_text(struct amf_dec *d, int type, struct amf_value **out)
{
    uint32_t n;
    int r = rd_ref_or_len(d, &n, out);
    if (r) return r > 0 ? 0 : r;
    struct amf_value *v = node(d, type);
    if (!v) return AMF_EARENA;
    TRY(take_str(d, n, &v->u.s));
    TRY(push_obj3(d, v));
    *out = v;
    return 0;
}

static int rd3_vector(struct amf_dec *d, int type, struct amf_value **out)
{
    uint32_t n;
    int r = rd_ref_or_len(d, &n, out);
    if (r) return r > 0 ? 0 : r;
    NEED(d, 1);
    uint8_t fixed = *d->p++;
    struct amf_value *v = node(d, type);
    struct amf_vector *vec = amf_arena_alloc(d->a, sizeof *vec);
    if (!v || !vec) return AMF_EARENA;
    memset(vec, 0, sizeof *vec);
    vec->fixed = fixed ? 1 : 0;
    vec->type_name.ptr = "";
    v->u.vector = vec;
    if (AMF_UNLIKELY(n > d->lim->max_elements)) return AMF_ECOUNT;
    if (type == AMF_VECTOR_OBJECT) {
        TRY(rd_str3(d, &vec->type_name));
        if (AMF_UNLIKELY(n > REMAIN(d))) return AMF_ECOUNT;
        TRY(push_obj3(d, v));
        TRY(enter(d));
        if (n) {
            vec->items.v = amf_arena_alloc(d->a, (size_t)n * sizeof *vec->items.v);
            if (!vec->items.v) return AMF_EARENA;
            for (uint32_t i = 0; i < n; i++) TRY(rd3(d, &vec->items.v[i]));
        }
        d->depth--;
    } else {
        size_t el = type == AMF_VECTOR_DOUBLE ? 8 : 4;
        if (AMF_UNLIKELY(n > REMAIN(d) / el)) return AMF_ECOUNT;
        TRY(push_obj3(d, v));
        if (n) {
            void *items = amf_arena_alloc(d->a, (size_t)n * el);
            if (!items) return AMF_EARENA;
            const uint8_t *p = d->p;
            if (type == AMF_VECTOR_DOUBLE) {
                double *o = items;
                for (uint32_t i = 0; i < n; i++, p += 8) o[i] = amf_rddbl(p);
            } else {
                uint32_t *o = items;
                for (uint32_t i = 0; i < n; i++, p += 4) o[i] = amf_rd32(p);
            }
            vec->items.d = items;
            d->p = p;
        }
    }
    vec->count = vec->cap = n;
    *out = v;
    return 0;
}

static int rd3_dict(struct amf_dec *d, struct amf_value **out)
{
    uint32_t n;
    int r = rd_ref_or_len(d, &n, out);
    if (r) return r > 0 ? 0 : r;
    NEED(d, 1);
    uint8_t weak = *d->p++;
    if (AMF_UNLIKELY(n > d->lim->max_elements)) return AMF_ECOUNT;
    if (AMF_UNLIKELY(n > REMAIN(d) / 2)) return AMF_ECOUNT;
    struct amf_value *v = node(d, AMF_DICTIONARY);
    struct amf_dict *dc = amf_arena_alloc(d->a, sizeof *dc);
    if (!v || !dc) return AMF_EARENA;
    memset(dc, 0, sizeof *dc);
    dc->weak = weak ? 1 : 0;
    v->u.dict = dc;
    TRY(push_obj3(d, v));
    TRY(enter(d));
    if (n) {
        dc->entries = amf_arena_alloc(d->a, (size_t)n * sizeof *dc->entries);
        if (!dc->entries) return AMF_EARENA;
        for (uint32_t i = 0; i < n; i++) {
            TRY(rd3(d, &dc->entries[i].key));
            TRY(rd3(d, &dc->entries[i].value));
        }
    }
    dc->count = dc->cap = n;
    d->depth--;
    *out = v;
    return 0;
}

static int rd3(struct amf_dec *d, struct amf_value **out)
{
    NEED(d, 1);
    uint8_t m = *d->p++;
    struct amf_value *v;
    switch (m) {
    case 0x00: case 0x01: case 0x02: case 0x03:
        if (!(v = node(d, m == 0x00 ? AMF_UNDEFINED : m == 0x01 ? AMF_NULL : AMF_BOOL)))
            return AMF_EARENA;
        v->u.d = 0;
        v->u.b = m == 0x03;
        *out = v;
        return 0;
    case 0x04: {
        uint32_t u;
        TRY(rd_u29(d, &u));
        if (!(v = node(d, AMF_INT))) return AMF_EARENA;
        v->u.d = 0;
        v->u.i = (u & 0x10000000u) ? (int32_t)u - 0x20000000 : (int32_t)u;
        *out = v;
        return 0;
    }
    case 0x05:
        NEED(d, 8);
        if (!(v = node(d, AMF_DOUBLE))) return AMF_EARENA;
        v->u.d = amf_rddbl(d->p);
        d->p += 8;
        *out = v;
        return 0;
    case 0x06:
        if (!(v = node(d, AMF_STRING))) return AMF_EARENA;
        TRY(rd_str3(d, &v->u.s));
        *out = v;
        return 0;
    case 0x07: return rd3_text(d, AMF_XMLDOC, out);
    case 0x08: {
        uint32_t n;
        int r = rd_ref_or_len(d, &n, out);
        if (r) return r > 0 ? 0 : r;
        NEED(d, 8);
        if (!(v = node(d, AMF_DATE))) return AMF_EARENA;
        v->u.d = amf_rddbl(d->p);
        d->p += 8;
        TRY(push_obj3(d, v));
        *out = v;
        return 0;
    }
    case 0x09: return rd3_array(d, out);
    case 0x0A: return rd3_object(d, out);
    case 0x0B: return rd3_text(d, AMF_XML, out);
    case 0x0C: return rd3_text(d, AMF_BYTEARRAY, out);
    case 0x0D: return rd3_vector(d, AMF_VECTOR_INT, out);
    case 0x0E: return rd3_vector(d, AMF_VECTOR_UINT, out);
    case 0x0F: return rd3_vector(d, AMF_VECTOR_DOUBLE, out);
    case 0x10: return rd3_vector(d, AMF_VECTOR_OBJECT, out);
    case 0x11: return rd3_dict(d, out);
    default:
        d->p--;
        return AMF_EMARKER;
    }
}

/* ================================================================================================
 * AMF0
 * ============================================================================================== */

static int rd0(struct amf_dec *d, struct amf_value **out);

/* Property list up to 00 00 09 (§1.2): never trusts a count. */
static int rd0_props(struct amf_dec *d, struct amf_member **items, uint32_t *count, uint32_t *cap)
{
    size_t base = d->nms;
    for (;;) {
        NEED(d, 2);
        size_t len = amf_rd16(d->p);
        if (len == 0) {
            NEED(d, 3);
            if (d->p[2] == 0x09) { d->p += 3; break; }
        }
        d->p += 2;
        struct amf_str name;
        struct amf_value *v;
        if (!(d->flags & AMF_DEC_BORROW) && len && len <= 64 && REMAIN(d) >= len) {
            struct amf_str *c = &d->names0[(len * 7 + d->p[0] + d->p[len - 1]) & 63];
            if (c->len == len && memcmp(c->ptr, d->p, len) == 0) {
                name = *c;
                d->p += len;
            } else {
                TRY(take_str(d, len, &name));
                *c = name;
            }
        } else {
            TRY(take_str(d, len, &name));
        }
        if (AMF_UNLIKELY(d->nms - base >= d->lim->max_elements)) return AMF_ECOUNT;
        TRY(rd0(d, &v));
        TRY(push_member(d, name, v));
    }
    return pop_members(d, base, items, count, cap);
}

static int rd0_object(struct amf_dec *d, const struct amf_traits *t, struct amf_value **out)
{
    struct amf_object *o;
    struct amf_value *v = node_with(d, AMF_OBJECT, sizeof *o, (void **)&o);
    if (!v) return AMF_EARENA;
    o->traits = t;
    v->u.object = o;
    TRY(push_obj0(d, v));
    TRY(enter(d));
    TRY(rd0_props(d, &o->dyn, &o->dyn_count, &o->dyn_cap));
    d->depth--;
    *out = v;
    return 0;
}

static int rd0(struct amf_dec *d, struct amf_value **out)
{
    NEED(d, 1);
    const uint8_t *at = d->p;
    uint8_t m = *d->p++;
    struct amf_value *v;
    switch (m) {
    case 0x00:
        NEED(d, 8);
        if (!(v = node(d, AMF_DOUBLE))) return AMF_EARENA;
        v->u.d = amf_rddbl(d->p);
        d->p += 8;
        break;
    case 0x01:
        NEED(d, 1);
        if (!(v = node(d, AMF_BOOL))) return AMF_EARENA;
        v->u.d = 0;
        v->u.b = *d->p++ != 0;
        break;
    case 0x02: case 0x0C: case 0x0F: {
        size_t hl = m == 0x02 ? 2 : 4;
        NEED(d, hl);
        size_t len = m == 0x02 ? amf_rd16(d->p) : amf_rd32(d->p);
        d->p += hl;
        if (!(v = node(d, m == 0x0F ? AMF_XMLDOC : AMF_STRING))) return AMF_EARENA;
        TRY(take_str(d, len, &v->u.s));
        break;
    }
    case 0x03: return rd0_object(d, &amf_anon_traits_, out);
    case 0x05: case 0x06:
        if (!(v = node(d, m == 0x05 ? AMF_NULL : AMF_UNDEFINED))) return AMF_EARENA;
        v->u.d = 0;
        break;
    case 0x07: {
        NEED(d, 2);
        uint32_t idx = amf_rd16(d->p);
        if (idx >= d->nobjs0) return AMF_EREF;
        d->p += 2;
        *out = d->objs0[idx];
        return 0;
    }
    case 0x08: {
        NEED(d, 4);
        uint32_t cnt = amf_rd32(d->p);
        d->p += 4;
        struct amf_array *ar;
        if (!(v = node_with(d, AMF_ARRAY, sizeof *ar, (void **)&ar))) return AMF_EARENA;
        ar->ecma_count = cnt;
        v->flags = AMF_VF_ECMA;
        v->u.array = ar;
        TRY(push_obj0(d, v));
        TRY(enter(d));
        TRY(rd0_props(d, &ar->assoc, &ar->assoc_count, &ar->assoc_cap));
        d->depth--;
        break;
    }
    case 0x09: d->p = at; return AMF_EOBJEND;
    case 0x0A: {
        NEED(d, 4);
        uint32_t n = amf_rd32(d->p);
        d->p += 4;
        if (n > d->lim->max_elements || n > REMAIN(d)) return AMF_ECOUNT;
        struct amf_array *ar;
        if (!(v = node_with(d, AMF_ARRAY, sizeof *ar, (void **)&ar))) return AMF_EARENA;
        v->u.array = ar;
        TRY(push_obj0(d, v));
        TRY(enter(d));
        if (n) {
            ar->dense = amf_arena_alloc(d->a, (size_t)n * sizeof *ar->dense);
            if (!ar->dense) return AMF_EARENA;
            for (uint32_t i = 0; i < n; i++) TRY(rd0(d, &ar->dense[i]));
            ar->dense_count = ar->dense_cap = n;
        }
        d->depth--;
        break;
    }
    case 0x0B:
        NEED(d, 10);
        if (!(v = node(d, AMF_DATE))) return AMF_EARENA;
        v->u.d = amf_rddbl(d->p);
        v->tz = (int16_t)amf_rd16(d->p + 8);
        d->p += 10;
        break;
    case 0x0D: d->p = at; return AMF_EUNSUPPORTED;
    case 0x10: {
        NEED(d, 2);
        size_t len = amf_rd16(d->p);
        d->p += 2;
        struct amf_str cls;
        TRY(take_str(d, len, &cls));
        if (cls.len == 0) return rd0_object(d, &amf_anon_traits_, out);
        struct amf_traits *t = amf_arena_alloc(d->a, sizeof *t);
        if (!t) return AMF_EARENA;
        memset(t, 0, sizeof *t);
        t->class_name = cls;
        t->dynamic = 1;
        return rd0_object(d, t, out);
    }
    case 0x11:
        TRY(enter(d));
        TRY(rd3(d, &v));
        d->depth--;
        v->flags |= AMF_VF_AVMPLUS;
        break;
    default:  /* 0x04 movieclip, 0x0E recordset, > 0x11 */
        d->p = at;
        return AMF_EMARKER;
    }
    *out = v;
    return 0;
}

/* ================================================================================================
 * Entry points
 * ============================================================================================== */

static void dec_init(struct amf_dec *d, const struct amf_opts *opts, amf_arena *a, const void *buf,
                     size_t len)
{
    memset(d, 0, sizeof *d);
    d->base = d->p = buf;
    d->end = d->base + len;
    d->a = a;
    d->lim = opts && opts->limits ? opts->limits : amf_limits_default_();
    d->reg = opts ? opts->registry : NULL;
    d->flags = opts ? opts->flags : 0;
}

static void dec_reset_tables(struct amf_dec *d)
{
    d->nobjs0 = d->nobjs3 = d->nstrs = d->ntraits = 0;
    d->nms = 0;
    d->depth = 0;
}

static void dec_fini(struct amf_dec *d)
{
    free(d->ms);  /* the reference tables are in the arena */
}

int amf_decode(const struct amf_opts *opts, amf_arena *arena, int encoding, const void *buf,
               size_t len, struct amf_value **out, size_t *consumed)
{
    struct amf_dec d;
    size_t off = 0;
    int r;
    *out = NULL;
    if (!arena || (!buf && len) || (encoding != AMF_AMF0 && encoding != AMF_AMF3)) {
        r = AMF_EINVAL;
        goto done;
    }
    dec_init(&d, opts, arena, buf, len);
    if (len > d.lim->max_input) {
        r = AMF_EINPUT;
    } else {
        struct amf_value *v = NULL;
        r = encoding == AMF_AMF3 ? rd3(&d, &v) : rd0(&d, &v);
        if (!r) *out = v;
    }
    off = (size_t)(d.p - d.base);
    dec_fini(&d);
done:
    if (consumed) *consumed = off;
    return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* Remoting envelope (§3.1) */

static int rd_u16str(struct amf_dec *d, struct amf_str *out)
{
    NEED(d, 2);
    size_t len = amf_rd16(d->p);
    d->p += 2;
    return take_str(d, len, out);
}

int amf_packet_decode(const struct amf_opts *opts, amf_arena *arena, const void *buf, size_t len,
                      struct amf_packet *out, size_t *err_off)
{
    struct amf_dec d;
    int r = 0;
    memset(out, 0, sizeof *out);
    if (!arena || (!buf && len)) return AMF_EINVAL;
    dec_init(&d, opts, arena, buf, len);
    if (len > d.lim->max_input) { r = AMF_EINPUT; goto done; }
    if (REMAIN(&d) < 4) { r = AMF_ETRUNC; goto done; }
    uint16_t ver = amf_rd16(d.p);
    if (ver != 0 && ver != 1 && ver != 3) { r = AMF_EVERSION; goto done; }
    out->version = ver;
    uint32_t nh = amf_rd16(d.p + 2);
    d.p += 4;
    if (nh > d.lim->max_messages) { r = AMF_EHEADERS; goto done; }
    if (nh > REMAIN(&d) / 8) { r = AMF_ECOUNT; goto done; } /* name len, flag, length, value */
    if (nh) {
        out->headers = amf_arena_alloc(arena, nh * sizeof *out->headers);
        if (!out->headers) { r = AMF_EARENA; goto done; }
        memset(out->headers, 0, nh * sizeof *out->headers);
    }
    for (uint32_t i = 0; i < nh; i++) {
        struct amf_header *h = &out->headers[i];
        if ((r = rd_u16str(&d, &h->name))) goto done;
        if (REMAIN(&d) < 5) { r = AMF_ETRUNC; goto done; }
        h->must_understand = d.p[0];
        h->length = amf_rd32(d.p + 1);
        d.p += 5;
        dec_reset_tables(&d);
        if ((r = rd0(&d, &h->value))) goto done;
        out->header_count = out->header_cap = i + 1;
    }
    if (REMAIN(&d) < 2) { r = AMF_ETRUNC; goto done; }
    uint32_t nb = amf_rd16(d.p);
    d.p += 2;
    if (nb > d.lim->max_messages) { r = AMF_EHEADERS; goto done; }
    if (nb > REMAIN(&d) / 9) { r = AMF_ECOUNT; goto done; }
    if (nb) {
        out->bodies = amf_arena_alloc(arena, nb * sizeof *out->bodies);
        if (!out->bodies) { r = AMF_EARENA; goto done; }
        memset(out->bodies, 0, nb * sizeof *out->bodies);
    }
    for (uint32_t i = 0; i < nb; i++) {
        struct amf_body *b = &out->bodies[i];
        if ((r = rd_u16str(&d, &b->target))) goto done;
        if ((r = rd_u16str(&d, &b->response))) goto done;
        if (REMAIN(&d) < 4) { r = AMF_ETRUNC; goto done; }
        b->length = amf_rd32(d.p);
        d.p += 4;
        dec_reset_tables(&d);
        if ((r = rd0(&d, &b->value))) goto done;
        out->body_count = out->body_cap = i + 1;
    }
    if (d.p != d.end) r = AMF_ETRAILING;
done:
    if (err_off) *err_off = (size_t)(d.p - d.base);
    dec_fini(&d);
    return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* Reading primitives for externalizable handlers. */

#define IO_DEC(io) struct amf_dec *d = (io) ? (io)->dec : NULL; if (!d) return AMF_EINVAL

int amf_ext_read_u8(struct amf_ext_io *io, uint8_t *out)
{
    IO_DEC(io);
    NEED(d, 1);
    *out = *d->p++;
    return 0;
}

int amf_ext_read_u16(struct amf_ext_io *io, uint16_t *out)
{
    IO_DEC(io);
    NEED(d, 2);
    *out = amf_rd16(d->p);
    d->p += 2;
    return 0;
}

int amf_ext_read_u32(struct amf_ext_io *io, uint32_t *out)
{
    IO_DEC(io);
    NEED(d, 4);
    *out = amf_rd32(d->p);
    d->p += 4;
    return 0;
}

int amf_ext_read_double(struct amf_ext_io *io, double *out)
{
    IO_DEC(io);
    NEED(d, 8);
    *out = amf_rddbl(d->p);
    d->p += 8;
    return 0;
}

int amf_ext_read_u29(struct amf_ext_io *io, uint32_t *out)
{
    IO_DEC(io);
    return rd_u29(d, out);
}

int amf_ext_read_bytes(struct amf_ext_io *io, size_t n, const uint8_t **out)
{
    IO_DEC(io);
    NEED(d, n);
    *out = d->p;
    d->p += n;
    return 0;
}

int amf_ext_read_utf_vr(struct amf_ext_io *io, struct amf_str *out)
{
    IO_DEC(io);
    return rd_str3(d, out);
}

int amf_ext_read_value(struct amf_ext_io *io, struct amf_value **out)
{
    IO_DEC(io);
    return rd3(d, out);
}

amf_arena *amf_ext_arena(struct amf_ext_io *io)
{
    return io && io->dec ? io->dec->a : NULL;
}
