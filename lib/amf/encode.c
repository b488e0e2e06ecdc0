/* AMF0 and AMF3 encoders (the remoting envelope writer is in encode_envelope.c).
 *
 * References are found through open-addressing hash tables: strings by content, objects by node
 * address, traits by address first and by content second.  Entries carry a generation number, so
 * "start fresh tables" (every call, every 0x11 value, every envelope header/body) is one increment
 * instead of a memset.  Complex nodes enter the object table before their children are written —
 * the same order the decoder uses — so indices agree and cycles become references. */
#include "encode_internal.h"
#include "dynbuf.h"

#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------- */
/* Tables */

/* Starting fresh is a generation step for the front cache and, when anything was inserted, for the
 * slots (cleared only when the 16-bit slot generation wraps).  A table far larger than the last use
 * is freed, so many small bodies after one big one stay cheap. */
static void str_reset(struct str_tab *t)
{
    t->gen++;
    if (!t->gen) {
        memset(t->cache, 0, sizeof t->cache);
        t->gen = 1;
    }
    if (t->nside) {
        if (t->cap > 1024 && (uint64_t)t->nside * 16 < t->cap) {
            free(t->slots);
            t->slots = NULL;
            t->cap = 0;
        } else if (!++t->sgen) {
            memset(t->slots, 0, (size_t)t->cap * sizeof *t->slots);
            t->sgen = 1;
        }
    }
    t->nside = t->count = t->base = 0;
}
static void ptr_reset(struct ptr_tab *t) { t->gen++; t->count = t->base = 0; if (!t->gen) t->gen = 1; }

static int str_grow(struct str_tab *t)
{
    uint32_t nc = t->cap ? t->cap * 2 : 256;
    if (!nc) return AMF_ENOMEM;
    if (!t->sgen) t->sgen = 1;  /* first table: calloc()ed slots (gen 0) are free */
    struct str_slot *n = calloc(nc, sizeof *n);
    if (!n) return AMF_ENOMEM;
    for (uint32_t i = 0; i < t->nside; i++) {
        uint32_t j = t->side[i].hash & (nc - 1);
        while (n[j].gen == t->sgen) j = (j + 1) & (nc - 1);
        n[j].side1 = i + 1;
        n[j].tag = (uint16_t)(t->side[i].hash >> 16);
        n[j].gen = t->sgen;
    }
    free(t->slots);
    t->slots = n;
    t->cap = nc;
    return 0;
}

/* Index of an equal string, or -1 after adding it as the next index (or an error < -1). */
static int64_t str_find_add(struct str_tab *t, const char *p, uint32_t len)
{
    uint32_t h = (uint32_t)amf_hash_bytes(p, len);
    struct str_ent *c = &t->cache[(h >> 16) & (STR_CACHE - 1)];
    if (c->gen == t->gen && c->hash == h && c->len == len && c->idx >= t->base &&
        (c->ptr == p || memcmp(c->ptr, p, len) == 0))
        return c->idx;
    if (AMF_UNLIKELY((t->nside + 1) * 2 > t->cap)) {
        if (str_grow(t)) return AMF_ENOMEM;
    }
    uint32_t j = h & (t->cap - 1);
    uint16_t tag = (uint16_t)(h >> 16);
    for (;;) {
        struct str_slot *sl = &t->slots[j];
        if (sl->gen != t->sgen) break;
        if (sl->tag == tag) {
            struct str_ent *s = &t->side[sl->side1 - 1];
            if (s->hash == h && s->len == len && memcmp(s->ptr, p, len) == 0) {
                if (s->idx >= t->base) { *c = *s; c->gen = t->gen; return s->idx; }
                s->idx = t->count++;  /* from an earlier 0x11 value: written inline again */
                *c = *s;
                c->gen = t->gen;
                return -1;
            }
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (AMF_UNLIKELY(t->nside == t->capside)) {
        void *n = t->side;
        size_t ns = t->capside;
        if (dyn_grow(&n, &ns, (size_t)t->nside + 1, sizeof *t->side, 256, UINT32_MAX)) return AMF_ENOMEM;
        t->side = n;
        t->capside = (uint32_t)ns;
    }
    struct str_ent *s = &t->side[t->nside++];
    s->ptr = p; s->len = len; s->hash = h; s->gen = t->gen; s->idx = t->count++;
    t->slots[j].side1 = t->nside;
    t->slots[j].tag = tag;
    t->slots[j].gen = t->sgen;
    *c = *s;
    return -1;
}

static int ptr_grow(struct ptr_tab *t, uint64_t (*hf)(const void *))
{
    uint32_t nc = t->cap ? t->cap * 2 : 256;
    if (!nc) return AMF_ENOMEM;
    struct ptr_ent *n = calloc(nc, sizeof *n);
    if (!n) return AMF_ENOMEM;
    for (uint32_t i = 0; i < t->cap; i++) {
        struct ptr_ent *s = &t->e[i];
        if (s->gen != t->gen) continue;
        uint32_t j = (uint32_t)hf(s->key) & (nc - 1);
        while (n[j].gen == t->gen) j = (j + 1) & (nc - 1);
        n[j] = *s;
    }
    free(t->e);
    t->e = n;
    t->cap = nc;
    return 0;
}

/* Address tables hash by address bits directly: nodes allocated one after another (arena order is
 * write order) land in neighbouring slots, so the probes walk memory sequentially instead of
 * missing the cache once per node.  Nodes are at least 24 bytes apart. */
static inline uint64_t addr_hash(const void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (uint64_t)((u >> 4) ^ (u >> 24));
}
static uint64_t hash_addr(const void *p) { return addr_hash(p); }

/* Address table: index of key, or -1 after adding it with index idx (or < -1 on error). */
static int64_t ptr_find_add(struct ptr_tab *t, const void *key, uint32_t idx)
{
    if (AMF_UNLIKELY((t->count + 1) * 2 > t->cap)) {
        if (ptr_grow(t, hash_addr)) return AMF_ENOMEM;
    }
    uint32_t j = (uint32_t)addr_hash(key) & (t->cap - 1);
    for (;;) {
        struct ptr_ent *s = &t->e[j];
        if (s->gen != t->gen) break;
        if (s->key == key) {
            if (s->idx >= t->base) return s->idx;
            s->idx = idx;  /* from an earlier 0x11 value: written in full again */
            t->count++;
            return -1;
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->e[j].key = key; t->e[j].idx = idx; t->e[j].gen = t->gen;
    t->count++;
    return -1;
}

/* Look-up only: index of key or -1. */
static int64_t ptr_find(const struct ptr_tab *t, const void *key)
{
    if (!t->cap) return -1;
    for (uint32_t j = (uint32_t)addr_hash(key) & (t->cap - 1);; j = (j + 1) & (t->cap - 1)) {
        const struct ptr_ent *s = &t->e[j];
        if (s->gen != t->gen) return -1;
        if (s->key == key) return s->idx >= t->base ? (int64_t)s->idx : -1;
    }
}

static uint64_t hash_traits(const void *p)
{
    const struct amf_traits *t = p;
    uint64_t h = amf_hash_bytes(t->class_name.ptr, t->class_name.len);
    h ^= (uint64_t)t->sealed_count * 0x9e3779b97f4a7c15ull + t->dynamic * 3u + t->externalizable * 5u;
    for (uint32_t i = 0; i < t->sealed_count; i++)
        h = (h * 31) ^ amf_hash_bytes(t->sealed[i].ptr, t->sealed[i].len);
    return h;
}

static int sv_eq(struct amf_str a, struct amf_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int traits_same(const struct amf_traits *a, const struct amf_traits *b)
{
    if (a == b) return 1;
    if (!sv_eq(a->class_name, b->class_name) || a->sealed_count != b->sealed_count ||
        a->dynamic != b->dynamic || a->externalizable != b->externalizable)
        return 0;
    for (uint32_t i = 0; i < a->sealed_count; i++)
        if (!sv_eq(a->sealed[i], b->sealed[i])) return 0;
    return 1;
}

/* Traits-by-content table. */
static int64_t traitc_find_add(struct ptr_tab *t, const struct amf_traits *key, uint32_t idx)
{
    if (AMF_UNLIKELY((t->count + 1) * 2 > t->cap)) {
        if (ptr_grow(t, hash_traits)) return AMF_ENOMEM;
    }
    uint32_t j = (uint32_t)hash_traits(key) & (t->cap - 1);
    for (;;) {
        struct ptr_ent *s = &t->e[j];
        if (s->gen != t->gen) break;
        if (traits_same(s->key, key)) {
            if (s->idx >= t->base) return s->idx;
            s->key = key;
            s->idx = idx;
            t->count++;
            return -1;
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->e[j].key = key; t->e[j].idx = idx; t->e[j].gen = t->gen;
    t->count++;
    return -1;
}

static void reset3(struct amf_enc *e)
{
    str_reset(&e->strs);
    ptr_reset(&e->objs3);
    ptr_reset(&e->traits);
    ptr_reset(&e->traitc);
    e->ntraits = 0;
}

static void reset_all(struct amf_enc *e)
{
    reset3(e);
    ptr_reset(&e->objs0);
    e->nobjs0 = 0;
    e->depth = 0;
}

static void enc_free(struct amf_enc *e)
{
    free(e->strs.slots); free(e->strs.side); free(e->objs3.e); free(e->traits.e); free(e->traitc.e); free(e->objs0.e);
}

/* ---------------------------------------------------------------------------------------------- */
static int enter(struct amf_enc *e)
{
    if (AMF_UNLIKELY(++e->depth > e->lim->max_depth)) return AMF_EDEPTH;
    return 0;
}

/* ================================================================================================
 * AMF3
 * ============================================================================================== */

static int wr_str3(struct amf_enc *e, const char *p, uint32_t len)
{
    if (len == 0) return put1(e, 0x01);  /* never a reference, never in the table (§2.3) */
    int64_t idx = str_find_add(&e->strs, p, len);
    if (idx >= 0) return put_u29(e, (uint32_t)idx << 1);
    if (idx < -1) return (int)idx;
    if (AMF_UNLIKELY(len > 0x0FFFFFFF)) return AMF_ERANGE;
    uint32_t h = len << 1 | 1;
    TRY(need(e, u29_size(h) + (size_t)len));  /* header and bytes in one reservation */
    uint8_t *d = copy_short(u29_at(end_of(e), h), p, len);
    e->out->len = (size_t)(d - e->out->data);
    return 0;
}

/* Emits a reference when v was written before (returns 1), else gives it the next index. */
static int obj3_ref(struct amf_enc *e, const struct amf_value *v)
{
    int64_t idx = ptr_find_add(&e->objs3, v, e->objs3.count);
    if (idx >= 0) {
        if (AMF_UNLIKELY(idx > 0x0FFFFFFF)) return AMF_ERANGE;
        TRY(put_u29(e, (uint32_t)idx << 1));
        return 1;
    }
    return idx < -1 ? (int)idx : 0;
}

static int wr3(struct amf_enc *e, const struct amf_value *v);

static int wr3_traits(struct amf_enc *e, const struct amf_traits *t)
{
    /* the same traits as the previous object: no table probe (the index is checked against base
     * like a table entry, so a new 0x11 value still writes the traits in full) */
    if (t == e->tlast && e->tlast_gen == e->traits.gen && e->tlast_idx >= e->traits.base)
        return put_u29(e, e->tlast_idx << 2 | 1);
    int64_t idx = ptr_find_add(&e->traits, t, e->ntraits);
    if (idx < -1) return (int)idx;
    if (idx == -1) {
        idx = traitc_find_add(&e->traitc, t, e->ntraits);
        if (idx < -1) return (int)idx;
        if (idx >= 0) {
            /* same content as an earlier traits object: record this address under that index */
            for (uint32_t j = (uint32_t)addr_hash(t) & (e->traits.cap - 1);;
                 j = (j + 1) & (e->traits.cap - 1))
                if (e->traits.e[j].key == t && e->traits.e[j].gen == e->traits.gen) {
                    e->traits.e[j].idx = (uint32_t)idx;
                    break;
                }
        }
    }
    if (idx >= 0) {
        if (idx > 0x07FFFFFF) return AMF_ERANGE;
        e->tlast = t; e->tlast_idx = (uint32_t)idx; e->tlast_gen = e->traits.gen;
        return put_u29(e, (uint32_t)idx << 2 | 1);
    }
    if (e->ntraits <= 0x07FFFFFF) {
        e->tlast = t; e->tlast_idx = e->ntraits; e->tlast_gen = e->traits.gen;
    }
    e->ntraits++;
    if (t->externalizable) {
        TRY(put1(e, 0x07));
    } else {
        if (t->sealed_count > 0x01FFFFFF) return AMF_ERANGE;
        TRY(put_u29(e, t->sealed_count << 4 | (t->dynamic ? 8u : 0u) | 3u));
    }
    TRY(wr_str3(e, t->class_name.ptr, t->class_name.len));
    if (!t->externalizable)
        for (uint32_t i = 0; i < t->sealed_count; i++)
            TRY(wr_str3(e, t->sealed[i].ptr, t->sealed[i].len));
    return 0;
}

static int wr3_object(struct amf_enc *e, const struct amf_value *v)
{
    const struct amf_object *o = v->u.object;
    const struct amf_traits *t = o->traits;
    TRY(wr3_traits(e, t));
    TRY(enter(e));
    if (t->externalizable) {
        const struct amf_ext_class *c = amf_ext_find_(e->reg, t->class_name.ptr, t->class_name.len);
        if (!c || !c->write) return AMF_EEXTERNAL;
        struct amf_ext_io io = { .dec = NULL, .enc = e };
        int r = c->write(&io, v, c->user);
        if (r) return r < 0 ? r : AMF_EEXTBODY;
    } else {
        for (uint32_t i = 0; i < t->sealed_count; i++) {
            const struct amf_value *m = o->sealed ? o->sealed[i] : NULL;
            if (m) TRY(wr3(e, m));
            else TRY(put1(e, 0x00));
        }
        if (t->dynamic) {
            for (uint32_t i = 0; i < o->dyn_count; i++) {
                if (o->dyn[i].name.len == 0) continue;  /* "" would end the list */
                TRY(wr_str3(e, o->dyn[i].name.ptr, o->dyn[i].name.len));
                TRY(wr3(e, o->dyn[i].value));
            }
            TRY(put1(e, 0x01));
        }
    }
    e->depth--;
    return 0;
}

static int wr3(struct amf_enc *e, const struct amf_value *v)
{
    int r;
    switch (v->type) {
    case AMF_UNDEFINED: return put1(e, 0x00);
    case AMF_NULL: return put1(e, 0x01);
    case AMF_BOOL: return put1(e, v->u.b ? 0x03 : 0x02);
    case AMF_INT:
        if (v->u.i >= -268435456 && v->u.i <= 268435455) {
            uint32_t u = (uint32_t)v->u.i & 0x1FFFFFFF;
            TRY(need(e, 1 + u29_size(u)));
            uint8_t *d = end_of(e);
            d[0] = 0x04;
            e->out->len = (size_t)(u29_at(d + 1, u) - e->out->data);
            return 0;
        }
        return put_dbl(e, 0x05, (double)v->u.i);
    case AMF_DOUBLE: return put_dbl(e, 0x05, v->u.d);
    case AMF_STRING:
        TRY(put1(e, 0x06));
        return wr_str3(e, v->u.s.ptr, v->u.s.len);
    case AMF_UNSUPPORTED: return AMF_ETYPE;
    default: break;
    }
    static const uint8_t markers[AMF_TYPE_COUNT_] = {
        [AMF_DATE] = 0x08, [AMF_XMLDOC] = 0x07, [AMF_XML] = 0x0B, [AMF_ARRAY] = 0x09,
        [AMF_OBJECT] = 0x0A, [AMF_BYTEARRAY] = 0x0C, [AMF_VECTOR_INT] = 0x0D,
        [AMF_VECTOR_UINT] = 0x0E, [AMF_VECTOR_DOUBLE] = 0x0F, [AMF_VECTOR_OBJECT] = 0x10,
        [AMF_DICTIONARY] = 0x11,
    };
    if (v->type >= AMF_TYPE_COUNT_ || !markers[v->type]) return AMF_ETYPE;
    TRY(put1(e, markers[v->type]));
    if ((r = obj3_ref(e, v))) return r < 0 ? r : 0;
    switch (v->type) {
    case AMF_DATE: {
        uint8_t buf[9];
        buf[0] = 0x01;  /* U29D: inline, no other bits */
        amf_wrdbl(buf + 1, v->u.d);
        return put(e, buf, 9);
    }
    case AMF_XMLDOC: case AMF_XML: case AMF_BYTEARRAY:
        TRY(put_len29(e, v->u.s.len));
        return put(e, v->u.s.ptr, v->u.s.len);
    case AMF_ARRAY: {
        const struct amf_array *ar = v->u.array;
        TRY(put_len29(e, ar->dense_count));
        TRY(enter(e));
        for (uint32_t i = 0; i < ar->assoc_count; i++) {
            if (ar->assoc[i].name.len == 0) continue;
            TRY(wr_str3(e, ar->assoc[i].name.ptr, ar->assoc[i].name.len));
            TRY(wr3(e, ar->assoc[i].value));
        }
        TRY(put1(e, 0x01));
        for (uint32_t i = 0; i < ar->dense_count; i++) TRY(wr3(e, ar->dense[i]));
        e->depth--;
        return 0;
    }
    case AMF_OBJECT: return wr3_object(e, v);
    case AMF_VECTOR_INT: case AMF_VECTOR_UINT: case AMF_VECTOR_DOUBLE: case AMF_VECTOR_OBJECT: {
        const struct amf_vector *vec = v->u.vector;
        TRY(put_len29(e, vec->count));
        TRY(put1(e, vec->fixed ? 1 : 0));
        if (v->type == AMF_VECTOR_OBJECT) {
            TRY(wr_str3(e, vec->type_name.ptr, vec->type_name.len));
            TRY(enter(e));
            for (uint32_t i = 0; i < vec->count; i++) TRY(wr3(e, vec->items.v[i]));
            e->depth--;
            return 0;
        }
        size_t el = v->type == AMF_VECTOR_DOUBLE ? 8 : 4;
        TRY(amf_buf_reserve(e->out, (size_t)vec->count * el));
        uint8_t *p = e->out->data + e->out->len;
        if (el == 8)
            for (uint32_t i = 0; i < vec->count; i++, p += 8) amf_wrdbl(p, vec->items.d[i]);
        else
            for (uint32_t i = 0; i < vec->count; i++, p += 4) amf_wr32(p, vec->items.u[i]);
        e->out->len += (size_t)vec->count * el;
        return 0;
    }
    case AMF_DICTIONARY: {
        const struct amf_dict *dc = v->u.dict;
        TRY(put_len29(e, dc->count));
        TRY(put1(e, dc->weak ? 1 : 0));
        TRY(enter(e));
        for (uint32_t i = 0; i < dc->count; i++) {
            TRY(wr3(e, dc->entries[i].key));
            TRY(wr3(e, dc->entries[i].value));
        }
        e->depth--;
        return 0;
    }
    default: return AMF_ETYPE;
    }
}

/* ================================================================================================
 * AMF0
 * ============================================================================================== */

/* 0x11 + one AMF3 value.  Nothing written for an earlier 0x11 value of the same body is referenced
 * (§2.8: Zend starts a new AMF3 context at each one), but the indices keep counting, because
 * BlazeDS, PyAMF and our reader keep one AMF3 context per body.  A body with a single 0x11 value
 * (what Flex sends) therefore reads the same under both rules. */
static int wr0_avmplus(struct amf_enc *e, const struct amf_value *v)
{
    TRY(put1(e, 0x11));
    e->strs.base = e->strs.count;
    e->objs3.base = e->objs3.count;
    e->traits.base = e->traitc.base = e->ntraits;
    return wr3(e, v);
}

static int wr0_u16str(struct amf_enc *e, const char *p, uint32_t len)
{
    if (AMF_UNLIKELY(len > 0xFFFF)) return AMF_ERANGE;
    TRY(need(e, 2 + (size_t)len));
    uint8_t *d = end_of(e);
    amf_wr16(d, (uint16_t)len);
    d = copy_short(d + 2, p, len);
    e->out->len = (size_t)(d - e->out->data);
    return 0;
}

/* AMF0 reference (returns 1 after writing it) or a new table slot.  Every complex node is looked up:
 * any node may be shared or reached again through a cycle.  The address-table probe is inlined here
 * because every AMF0 object and array passes through it. */
static AMF_INLINE int obj0_ref(struct amf_enc *e, const struct amf_value *v)
{
    uint32_t idx = e->nobjs0;
    int64_t f;
    if (AMF_LIKELY(idx <= 0xFFFF)) {
        struct ptr_tab *t = &e->objs0;
        if (AMF_UNLIKELY((t->count + 1) * 2 > t->cap)) {
            if (ptr_grow(t, hash_addr)) return AMF_ENOMEM;
        }
        uint32_t mask = t->cap - 1, j = (uint32_t)addr_hash(v) & mask;
        for (;;) {
            struct ptr_ent *s = &t->e[j];
            if (s->gen != t->gen) {
                s->key = v; s->idx = idx; s->gen = t->gen;  /* objs0.base is always 0 */
                t->count++;
                e->nobjs0++;
                return 0;
            }
            if (s->key == v) { f = s->idx; break; }
            j = (j + 1) & mask;
        }
    } else {
        f = ptr_find(&e->objs0, v);
        if (f < 0) {
            /* past 65535 nothing can refer to it (not stored), but the reader still counts it */
            e->nobjs0++;
            return 0;
        }
    }
    TRY(need(e, 3));
    uint8_t *d = end_of(e);
    d[0] = 0x07;
    amf_wr16(d + 1, (uint16_t)f);
    e->out->len += 3;
    return 1;
}

/* Bytes of a value wr0_scalar writes (marker included), or 0 for everything else: complex values,
 * AMF3 values, 0x0C long strings and 0x0F XML documents.  Only for exact reservations (slow path). */
static size_t scalar0_size(const struct amf_value *v)
{
    if (v->flags & AMF_VF_AVMPLUS) return 0;
    switch (v->type) {
    case AMF_UNDEFINED: case AMF_NULL: case AMF_UNSUPPORTED: return 1;
    case AMF_BOOL: return 2;
    case AMF_INT: case AMF_DOUBLE: return 9;
    case AMF_DATE: return 11;
    case AMF_STRING: return v->u.s.len <= 0xFFFF ? 3 + (size_t)v->u.s.len : 0;
    default: return 0;
    }
}

/* Upper bound of scalar0_size(v) that needs no switch: every scalar but a string fits in 11 bytes. */
static AMF_INLINE size_t scalar0_bound(const struct amf_value *v)
{
    return v->type == AMF_STRING ? 11 + (size_t)v->u.s.len : 11;
}

/* Writes a scalar at d (room for scalar0_size(v) bytes) and returns the end, or NULL when wr0 has
 * to write v (nothing written then). */
static AMF_INLINE uint8_t *wr0_scalar(uint8_t *d, const struct amf_value *v)
{
    if (AMF_UNLIKELY(v->flags & AMF_VF_AVMPLUS)) return NULL;
    switch (v->type) {
    case AMF_STRING:
        if (AMF_UNLIKELY(v->u.s.len > 0xFFFF)) return NULL;
        d[0] = 0x02;
        amf_wr16(d + 1, (uint16_t)v->u.s.len);
        return copy_short(d + 3, v->u.s.ptr, v->u.s.len);
    case AMF_DOUBLE: d[0] = 0x00; amf_wrdbl(d + 1, v->u.d); return d + 9;
    case AMF_INT: d[0] = 0x00; amf_wrdbl(d + 1, (double)v->u.i); return d + 9;
    case AMF_BOOL: d[0] = 0x01; d[1] = v->u.b ? 1 : 0; return d + 2;
    case AMF_UNDEFINED: d[0] = 0x06; return d + 1;
    case AMF_NULL: d[0] = 0x05; return d + 1;
    case AMF_UNSUPPORTED: d[0] = 0x0D; return d + 1;
    case AMF_DATE:
        d[0] = 0x0B;
        amf_wrdbl(d + 1, v->u.d);
        amf_wr16(d + 9, (uint16_t)v->tz);
        return d + 11;
    default: return NULL;
    }
}

static int wr0(struct amf_enc *e, const struct amf_value *v);

/* name + value: one reservation for both when the value is a scalar.  The fast check uses an upper
 * bound; only when it fails is the exact size reserved, so a buffer capped at exactly the output
 * size still takes it. */
static AMF_INLINE int wr0_member(struct amf_enc *e, const char *name, uint32_t nlen,
                                 const struct amf_value *v)
{
    struct amf_buf *b = e->out;
    if (AMF_UNLIKELY(nlen > 0xFFFF)) return AMF_ERANGE;
    size_t n = 2 + (size_t)nlen;
    if (AMF_UNLIKELY(b->cap - b->len < n + scalar0_bound(v)))
        TRY(amf_buf_reserve(b, n + scalar0_size(v)));
    uint8_t *d = b->data + b->len;
    amf_wr16(d, (uint16_t)nlen);
    d = copy_short(d + 2, name, nlen);
    uint8_t *end = wr0_scalar(d, v);
    if (AMF_LIKELY(end != NULL)) {
        b->len = (size_t)(end - b->data);
        return 0;
    }
    b->len += n;
    return wr0(e, v);
}

static inline int wr0_end(struct amf_enc *e)
{
    TRY(need(e, 3));
    uint8_t *d = end_of(e);
    d[0] = 0; d[1] = 0; d[2] = 0x09;
    e->out->len += 3;
    return 0;
}

/* Decimal digits of i (ECMA array dense keys). */
static uint32_t u32_dec(char *buf, uint32_t i)
{
    char tmp[10];
    uint32_t n = 0;
    do { tmp[n++] = (char)('0' + i % 10); i /= 10; } while (i);
    for (uint32_t k = 0; k < n; k++) buf[k] = tmp[n - 1 - k];
    return n;
}

static int wr0(struct amf_enc *e, const struct amf_value *v)
{
    int r;
    uint8_t *d;
    if (v->flags & AMF_VF_AVMPLUS) return wr0_avmplus(e, v);
    switch (v->type) {
    case AMF_UNDEFINED: case AMF_NULL: case AMF_UNSUPPORTED: case AMF_BOOL: case AMF_INT:
    case AMF_DOUBLE: case AMF_DATE:
        TRY(need(e, scalar0_size(v)));
        d = wr0_scalar(end_of(e), v);
        e->out->len = (size_t)(d - e->out->data);
        return 0;
    case AMF_STRING:
        if (v->u.s.len <= 0xFFFF) {
            TRY(need(e, 3 + (size_t)v->u.s.len));
            d = wr0_scalar(end_of(e), v);
            e->out->len = (size_t)(d - e->out->data);
            return 0;
        }
        /* fall through */
    case AMF_XMLDOC: {
        /* 0x0C long string (over 65535 bytes) or 0x0F XML document: U32 length */
        TRY(need(e, 5 + (size_t)v->u.s.len)); d = end_of(e);
        d[0] = v->type == AMF_STRING ? 0x0C : 0x0F;
        amf_wr32(d + 1, v->u.s.len);
        if (v->u.s.len) memcpy(d + 5, v->u.s.ptr, v->u.s.len);
        e->out->len += 5 + (size_t)v->u.s.len;
        return 0;
    }
    case AMF_ARRAY: {
        const struct amf_array *ar = v->u.array;
        if ((r = obj0_ref(e, v))) return r < 0 ? r : 0;
        TRY(enter(e));
        int ecma = (v->flags & AMF_VF_ECMA) || ar->assoc_count;
        TRY(need(e, 5)); d = end_of(e);
        d[0] = ecma ? 0x08 : 0x0A;
        amf_wr32(d + 1, (v->flags & AMF_VF_ECMA) ? ar->ecma_count : ar->dense_count);
        e->out->len += 5;
        if (ecma) {
            for (uint32_t i = 0; i < ar->dense_count; i++) {
                char key[16];
                uint32_t n = u32_dec(key, i);
                TRY(need(e, 2 + (size_t)n));
                d = end_of(e);
                amf_wr16(d, (uint16_t)n);
                memcpy(d + 2, key, n);
                e->out->len += 2 + (size_t)n;
                TRY(wr0(e, ar->dense[i]));
            }
            for (uint32_t i = 0; i < ar->assoc_count; i++)
                TRY(wr0_member(e, ar->assoc[i].name.ptr, ar->assoc[i].name.len, ar->assoc[i].value));
            TRY(wr0_end(e));
        } else {
            for (uint32_t i = 0; i < ar->dense_count; i++) TRY(wr0(e, ar->dense[i]));
        }
        e->depth--;
        return 0;
    }
    case AMF_OBJECT: {
        const struct amf_object *o = v->u.object;
        const struct amf_traits *t = o->traits;
        /* sealed members and externalizable bodies only exist in AMF3 */
        if (t->externalizable || t->sealed_count) return wr0_avmplus(e, v);
        if ((r = obj0_ref(e, v))) return r < 0 ? r : 0;
        TRY(enter(e));
        if (t->class_name.len) {
            TRY(need(e, 1)); d = end_of(e);
            d[0] = 0x10;
            e->out->len++;
            TRY(wr0_u16str(e, t->class_name.ptr, t->class_name.len));
        } else {
            TRY(need(e, 1)); d = end_of(e);
            d[0] = 0x03;
            e->out->len++;
        }
        const struct amf_member *m = o->dyn;
        for (uint32_t i = 0, n = o->dyn_count; i < n; i++)
            TRY(wr0_member(e, m[i].name.ptr, m[i].name.len, m[i].value));
        TRY(wr0_end(e));
        e->depth--;
        return 0;
    }
    case AMF_XML: case AMF_BYTEARRAY: case AMF_VECTOR_INT: case AMF_VECTOR_UINT:
    case AMF_VECTOR_DOUBLE: case AMF_VECTOR_OBJECT: case AMF_DICTIONARY:
        return wr0_avmplus(e, v);
    default: return AMF_ETYPE;
    }
}

/* ================================================================================================
 * Entry points
 * ============================================================================================== */

static void enc_setup(struct amf_enc *e, const struct amf_opts *opts)
{
    e->lim = opts && opts->limits ? opts->limits : amf_limits_default_();
    e->reg = opts ? opts->registry : NULL;
}

static int enc_value(struct amf_enc *e, int encoding, const struct amf_value *v,
                     struct amf_buf *out)
{
    if (!v || !out || (encoding != AMF_AMF0 && encoding != AMF_AMF3)) return AMF_EINVAL;
    e->out = out;
    reset_all(e);
    size_t start = out->len;
    int r = encoding == AMF_AMF3 ? wr3(e, v) : wr0(e, v);
    if (r) out->len = start;  /* a failed encode appends nothing */
    return r;
}

amf_encoder *amf_encoder_new(const struct amf_opts *opts)
{
    amf_encoder *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    enc_setup(&x->e, opts);
    return x;
}

void amf_encoder_free(amf_encoder *x)
{
    if (!x) return;
    enc_free(&x->e);
    free(x);
}

int amf_encoder_write(amf_encoder *x, int encoding, const struct amf_value *v, struct amf_buf *out)
{
    if (!x) return AMF_EINVAL;
    return enc_value(&x->e, encoding, v, out);
}

int amf_encode(const struct amf_opts *opts, int encoding, const struct amf_value *v,
               struct amf_buf *out)
{
    struct amf_enc e;
    memset(&e, 0, sizeof e);
    enc_setup(&e, opts);
    int r = enc_value(&e, encoding, v, out);
    enc_free(&e);
    return r;
}

/* Non-static doors into the static core for encode_envelope.c (the static functions stay free for
 * gcc to specialise). */
void amf_enc_setup_(struct amf_enc *e, const struct amf_opts *opts) { enc_setup(e, opts); }
void amf_enc_free_(struct amf_enc *e) { enc_free(e); }
void amf_enc_reset_(struct amf_enc *e) { reset_all(e); }
int amf_enc_wr0_(struct amf_enc *e, const struct amf_value *v) { return wr0(e, v); }
int amf_enc_wr3_(struct amf_enc *e, const struct amf_value *v) { return wr3(e, v); }
int amf_enc_str3_(struct amf_enc *e, const char *p, uint32_t len) { return wr_str3(e, p, len); }
int amf_enc_u16str_(struct amf_enc *e, const char *p, uint32_t len) { return wr0_u16str(e, p, len); }
