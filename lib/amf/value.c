/* Value builder, look-ups and deep equality. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

const struct amf_traits amf_anon_traits_ = {
    .class_name = { "", 0 }, .sealed = NULL, .sealed_count = 0, .dynamic = 1, .externalizable = 0,
};

static struct amf_value *new_node(amf_arena *a, int type)
{
    struct amf_value *v = amf_arena_alloc(a, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)type;
    return v;
}

struct amf_value *amf_new_undefined(amf_arena *a) { return new_node(a, AMF_UNDEFINED); }
struct amf_value *amf_new_null(amf_arena *a) { return new_node(a, AMF_NULL); }

struct amf_value *amf_new_bool(amf_arena *a, int b)
{
    struct amf_value *v = new_node(a, AMF_BOOL);
    if (v) v->u.b = b ? 1 : 0;
    return v;
}

struct amf_value *amf_new_int(amf_arena *a, int32_t i)
{
    struct amf_value *v = new_node(a, AMF_INT);
    if (v) v->u.i = i;
    return v;
}

struct amf_value *amf_new_double(amf_arena *a, double d)
{
    struct amf_value *v = new_node(a, AMF_DOUBLE);
    if (v) v->u.d = d;
    return v;
}

struct amf_value *amf_new_number(amf_arena *a, double d)
{
    /* -0.0 stays a double: an integer cannot carry its sign */
    if (d >= -268435456.0 && d <= 268435455.0 && d == (double)(int32_t)d && !(d == 0 && signbit(d)))
        return amf_new_int(a, (int32_t)d);
    return amf_new_double(a, d);
}

static struct amf_value *new_text(amf_arena *a, int type, const char *s, size_t len)
{
    if (len > UINT32_MAX) return NULL;
    struct amf_value *v = new_node(a, type);
    if (!v) return NULL;
    char *c = amf_arena_strdup(a, s, len);
    if (!c) return NULL;
    v->u.s.ptr = c;
    v->u.s.len = (uint32_t)len;
    return v;
}

struct amf_value *amf_new_string(amf_arena *a, const char *s, size_t len)
{
    return new_text(a, AMF_STRING, s, len);
}
struct amf_value *amf_new_stringz(amf_arena *a, const char *s)
{
    return new_text(a, AMF_STRING, s, strlen(s));
}
struct amf_value *amf_new_xml(amf_arena *a, const char *s, size_t len)
{
    return new_text(a, AMF_XML, s, len);
}
struct amf_value *amf_new_xmldoc(amf_arena *a, const char *s, size_t len)
{
    return new_text(a, AMF_XMLDOC, s, len);
}

struct amf_value *amf_new_bytearray(amf_arena *a, const void *p, size_t len)
{
    struct amf_value *v = new_text(a, AMF_BYTEARRAY, p, len);
    return v;  /* u.bytes aliases u.s: same layout */
}

struct amf_value *amf_new_date(amf_arena *a, double ms)
{
    struct amf_value *v = new_node(a, AMF_DATE);
    if (v) v->u.d = ms;
    return v;
}

struct amf_value *amf_new_array(amf_arena *a)
{
    struct amf_value *v = new_node(a, AMF_ARRAY);
    if (!v) return NULL;
    v->u.array = amf_arena_alloc(a, sizeof *v->u.array);
    if (!v->u.array) return NULL;
    memset(v->u.array, 0, sizeof *v->u.array);
    return v;
}

struct amf_value *amf_new_ecma_array(amf_arena *a)
{
    struct amf_value *v = amf_new_array(a);
    if (v) v->flags |= AMF_VF_ECMA;
    return v;
}

struct amf_value *amf_new_vector(amf_arena *a, int type, int fixed, const char *type_name)
{
    if (type < AMF_VECTOR_INT || type > AMF_VECTOR_OBJECT) return NULL;
    struct amf_value *v = new_node(a, type);
    if (!v) return NULL;
    struct amf_vector *vec = amf_arena_alloc(a, sizeof *vec);
    if (!vec) return NULL;
    memset(vec, 0, sizeof *vec);
    vec->fixed = fixed ? 1 : 0;
    if (type == AMF_VECTOR_OBJECT) {
        const char *tn = type_name ? type_name : "*";
        vec->type_name.ptr = amf_arena_strdup(a, tn, strlen(tn));
        if (!vec->type_name.ptr) return NULL;
        vec->type_name.len = (uint32_t)strlen(tn);
    } else {
        vec->type_name.ptr = "";
    }
    v->u.vector = vec;
    return v;
}

struct amf_value *amf_new_dictionary(amf_arena *a, int weak)
{
    struct amf_value *v = new_node(a, AMF_DICTIONARY);
    if (!v) return NULL;
    v->u.dict = amf_arena_alloc(a, sizeof *v->u.dict);
    if (!v->u.dict) return NULL;
    memset(v->u.dict, 0, sizeof *v->u.dict);
    v->u.dict->weak = weak ? 1 : 0;
    return v;
}

struct amf_traits *amf_new_traits(amf_arena *a, const char *class_name, const char *const *sealed,
                                  size_t sealed_count, int dynamic, int externalizable)
{
    if (sealed_count > UINT32_MAX / sizeof(struct amf_str)) return NULL;
    struct amf_traits *t = amf_arena_alloc(a, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    const char *cn = class_name ? class_name : "";
    t->class_name.ptr = amf_arena_strdup(a, cn, strlen(cn));
    if (!t->class_name.ptr) return NULL;
    t->class_name.len = (uint32_t)strlen(cn);
    if (sealed_count) {
        t->sealed = amf_arena_alloc(a, sealed_count * sizeof *t->sealed);
        if (!t->sealed) return NULL;
        for (size_t i = 0; i < sealed_count; i++) {
            size_t l = strlen(sealed[i]);
            t->sealed[i].ptr = amf_arena_strdup(a, sealed[i], l);
            if (!t->sealed[i].ptr) return NULL;
            t->sealed[i].len = (uint32_t)l;
        }
    }
    t->sealed_count = (uint32_t)sealed_count;
    t->dynamic = dynamic ? 1 : 0;
    t->externalizable = externalizable ? 1 : 0;
    return t;
}

struct amf_value *amf_new_object_traits(amf_arena *a, const struct amf_traits *t)
{
    struct amf_value *v = new_node(a, AMF_OBJECT);
    if (!v) return NULL;
    struct amf_object *o = amf_arena_alloc(a, sizeof *o);
    if (!o) return NULL;
    memset(o, 0, sizeof *o);
    o->traits = t;
    if (t->sealed_count) {
        o->sealed = amf_arena_alloc(a, (size_t)t->sealed_count * sizeof *o->sealed);
        if (!o->sealed) return NULL;
        for (uint32_t i = 0; i < t->sealed_count; i++)
            if (!(o->sealed[i] = amf_new_undefined(a))) return NULL;
    }
    v->u.object = o;
    return v;
}

struct amf_value *amf_new_object(amf_arena *a, const char *class_name)
{
    if (!class_name || !*class_name) return amf_new_object_traits(a, &amf_anon_traits_);
    struct amf_traits *t = amf_new_traits(a, class_name, NULL, 0, 1, 0);
    return t ? amf_new_object_traits(a, t) : NULL;
}

struct amf_value *amf_new_external(amf_arena *a, const char *class_name, struct amf_value *ext)
{
    struct amf_traits *t = amf_new_traits(a, class_name, NULL, 0, 0, 1);
    struct amf_value *v = t ? amf_new_object_traits(a, t) : NULL;
    if (v) v->u.object->ext = ext;
    return v;
}

/* Grows an arena array of elem-sized slots so one more fits. */
static int grow(amf_arena *a, void **items, uint32_t count, uint32_t *cap, size_t elem)
{
    return amf_arena_grow_array_(a, items, count, cap, elem, 4, UINT32_MAX);
}

int amf_array_push(amf_arena *a, struct amf_value *arr, struct amf_value *v)
{
    if (!arr || !v) return AMF_EINVAL;
    if (arr->type == AMF_VECTOR_OBJECT) {
        struct amf_vector *vec = arr->u.vector;
        int r = grow(a, (void **)&vec->items.v, vec->count, &vec->cap, sizeof *vec->items.v);
        if (r) return r;
        vec->items.v[vec->count++] = v;
        return 0;
    }
    if (arr->type != AMF_ARRAY) return AMF_ETYPE;
    struct amf_array *ar = arr->u.array;
    int r = grow(a, (void **)&ar->dense, ar->dense_count, &ar->dense_cap, sizeof *ar->dense);
    if (r) return r;
    ar->dense[ar->dense_count++] = v;
    return 0;
}

static int str_is(struct amf_str s, const char *p, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.ptr, p, n) == 0);
}

static int set_member(amf_arena *a, struct amf_member **items, uint32_t *count, uint32_t *cap,
                      const char *name, size_t nlen, struct amf_value *v, int replace)
{
    if (nlen > UINT32_MAX) return AMF_ERANGE;
    if (replace)
        for (uint32_t i = 0; i < *count; i++)
            if (str_is((*items)[i].name, name, nlen)) {
                (*items)[i].value = v;
                return 0;
            }
    int r = grow(a, (void **)items, *count, cap, sizeof **items);
    if (r) return r;
    char *c = amf_arena_strdup(a, name, nlen);
    if (!c) return AMF_EARENA;
    (*items)[*count].name.ptr = c;
    (*items)[*count].name.len = (uint32_t)nlen;
    (*items)[*count].value = v;
    (*count)++;
    return 0;
}

int amf_array_set(amf_arena *a, struct amf_value *arr, const char *key, size_t klen,
                  struct amf_value *v)
{
    if (!arr || !v || !key) return AMF_EINVAL;
    if (arr->type != AMF_ARRAY) return AMF_ETYPE;
    struct amf_array *ar = arr->u.array;
    int r = set_member(a, &ar->assoc, &ar->assoc_count, &ar->assoc_cap, key, klen, v, 1);
    if (!r && (arr->flags & AMF_VF_ECMA)) ar->ecma_count = ar->assoc_count;
    return r;
}

int amf_vector_push_number(amf_arena *a, struct amf_value *vec, double d)
{
    if (!vec) return AMF_EINVAL;
    if (vec->type < AMF_VECTOR_INT || vec->type > AMF_VECTOR_DOUBLE) return AMF_ETYPE;
    struct amf_vector *ve = vec->u.vector;
    size_t elem = vec->type == AMF_VECTOR_DOUBLE ? sizeof(double) : sizeof(int32_t);
    int r = grow(a, (void **)&ve->items.d, ve->count, &ve->cap, elem);
    if (r) return r;
    if (vec->type == AMF_VECTOR_INT) ve->items.i[ve->count++] = (int32_t)(int64_t)d;
    else if (vec->type == AMF_VECTOR_UINT) ve->items.u[ve->count++] = (uint32_t)(int64_t)d;
    else ve->items.d[ve->count++] = d;
    return 0;
}

int amf_object_set(amf_arena *a, struct amf_value *obj, const char *name, struct amf_value *v)
{
    if (!obj || !v || !name) return AMF_EINVAL;
    if (obj->type != AMF_OBJECT) return AMF_ETYPE;
    struct amf_object *o = obj->u.object;
    size_t n = strlen(name);
    for (uint32_t i = 0; i < o->traits->sealed_count; i++)
        if (str_is(o->traits->sealed[i], name, n)) {
            o->sealed[i] = v;
            return 0;
        }
    if (!o->traits->dynamic) return AMF_ETYPE;
    return set_member(a, &o->dyn, &o->dyn_count, &o->dyn_cap, name, n, v, 1);
}

int amf_object_add(amf_arena *a, struct amf_value *obj, const char *name, size_t nlen,
                   struct amf_value *v)
{
    if (!obj || !v || !name) return AMF_EINVAL;
    if (obj->type != AMF_OBJECT) return AMF_ETYPE;
    struct amf_object *o = obj->u.object;
    if (!o->traits->dynamic) return AMF_ETYPE;
    return set_member(a, &o->dyn, &o->dyn_count, &o->dyn_cap, name, nlen, v, 0);
}

int amf_dict_set(amf_arena *a, struct amf_value *dict, struct amf_value *key, struct amf_value *v)
{
    if (!dict || !key || !v) return AMF_EINVAL;
    if (dict->type != AMF_DICTIONARY) return AMF_ETYPE;
    struct amf_dict *d = dict->u.dict;
    int r = grow(a, (void **)&d->entries, d->count, &d->cap, sizeof *d->entries);
    if (r) return r;
    d->entries[d->count].key = key;
    d->entries[d->count].value = v;
    d->count++;
    return 0;
}

struct amf_value *amf_object_get(const struct amf_value *obj, const char *name)
{
    if (!obj || obj->type != AMF_OBJECT || !name) return NULL;
    const struct amf_object *o = obj->u.object;
    size_t n = strlen(name);
    for (uint32_t i = 0; i < o->traits->sealed_count; i++)
        if (str_is(o->traits->sealed[i], name, n)) return o->sealed[i];
    for (uint32_t i = 0; i < o->dyn_count; i++)
        if (str_is(o->dyn[i].name, name, n)) return o->dyn[i].value;
    return NULL;
}

struct amf_value *amf_array_get(const struct amf_value *arr, uint32_t index)
{
    if (!arr) return NULL;
    if (arr->type == AMF_ARRAY)
        return index < arr->u.array->dense_count ? arr->u.array->dense[index] : NULL;
    if (arr->type == AMF_VECTOR_OBJECT)
        return index < arr->u.vector->count ? arr->u.vector->items.v[index] : NULL;
    return NULL;
}

struct amf_value *amf_array_get_key(const struct amf_value *arr, const char *key)
{
    if (!arr || arr->type != AMF_ARRAY || !key) return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < arr->u.array->assoc_count; i++)
        if (str_is(arr->u.array->assoc[i].name, key, n)) return arr->u.array->assoc[i].value;
    return NULL;
}

const char *amf_class_name(const struct amf_value *obj)
{
    if (!obj || obj->type != AMF_OBJECT) return NULL;
    return obj->u.object->traits->class_name.len ? obj->u.object->traits->class_name.ptr : "";
}

double amf_number(const struct amf_value *v, int *ok)
{
    int good = 1;
    double d = 0;
    if (v && v->type == AMF_INT) d = v->u.i;
    else if (v && (v->type == AMF_DOUBLE || v->type == AMF_DATE)) d = v->u.d;
    else good = 0;
    if (ok) *ok = good;
    return d;
}

int amf_str_eq(const struct amf_value *v, const char *s)
{
    return v && v->type == AMF_STRING && str_is(v->u.s, s, strlen(s));
}

/* ---------------------------------------------------------------------------------------------- */
/* Deep equality: a bijection between the complex nodes of both graphs, built while walking.  A pair
 * already in the map is equal by assumption (co-induction), which is what makes cycles terminate. */

struct eq_map {
    const void **keys;   /* open addressing, NULL = empty */
    const void **vals;   /* partner of keys[i] */
    size_t cap;          /* power of two */
    size_t count;        /* used slots */
};

struct eq_state {
    struct eq_map fwd;   /* a-node -> b-node */
    struct eq_map back;  /* b-node -> a-node */
    unsigned flags;      /* AMF_EQ_* */
    int err;             /* first error */
};

static const void *eqm_get(const struct eq_map *m, const void *k)
{
    if (!m->cap) return NULL;
    size_t i = amf_hash_ptr(k) & (m->cap - 1);
    while (m->keys[i]) {
        if (m->keys[i] == k) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static int eqm_put(struct eq_map *m, const void *k, const void *v)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        const void **nk = calloc(nc, sizeof *nk), **nv = calloc(nc, sizeof *nv);
        if (!nk || !nv) { free(nk); free(nv); return AMF_ENOMEM; }
        for (size_t j = 0; j < m->cap; j++)
            if (m->keys[j]) {
                size_t i = amf_hash_ptr(m->keys[j]) & (nc - 1);
                while (nk[i]) i = (i + 1) & (nc - 1);
                nk[i] = m->keys[j];
                nv[i] = m->vals[j];
            }
        free(m->keys); free(m->vals);
        m->keys = nk; m->vals = nv; m->cap = nc;
    }
    size_t i = amf_hash_ptr(k) & (m->cap - 1);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
    m->count++;
    return 0;
}

/* Pair set for AMF_EQ_UNFOLD: keys[i]/vals[i] hold one (a, b) pair, hashed on both. */
static size_t pair_slot(const struct eq_map *m, const void *k, const void *v)
{
    return (amf_hash_ptr(k) ^ (amf_hash_ptr(v) * 31)) & (m->cap - 1);
}

static int pairs_has(const struct eq_map *m, const void *k, const void *v)
{
    if (!m->cap) return 0;
    for (size_t i = pair_slot(m, k, v); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == k && m->vals[i] == v) return 1;
    return 0;
}

static int pairs_put(struct eq_map *m, const void *k, const void *v)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        struct eq_map n = { calloc(nc, sizeof(void *)), calloc(nc, sizeof(void *)), nc, 0 };
        if (!n.keys || !n.vals) { free(n.keys); free(n.vals); return AMF_ENOMEM; }
        for (size_t j = 0; j < m->cap; j++)
            if (m->keys[j]) {
                size_t i = pair_slot(&n, m->keys[j], m->vals[j]);
                while (n.keys[i]) i = (i + 1) & (nc - 1);
                n.keys[i] = m->keys[j];
                n.vals[i] = m->vals[j];
            }
        free(m->keys); free(m->vals);
        m->keys = n.keys; m->vals = n.vals; m->cap = nc;
    }
    size_t i = pair_slot(m, k, v);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
    m->count++;
    return 0;
}

static int seq(struct amf_str a, struct amf_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int dbl_eq(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static int eq(struct eq_state *st, const struct amf_value *a, const struct amf_value *b, int depth);

static int members_eq(struct eq_state *st, const struct amf_member *a, const struct amf_member *b,
                      uint32_t n, int depth)
{
    for (uint32_t i = 0; i < n; i++)
        if (!seq(a[i].name, b[i].name) || !eq(st, a[i].value, b[i].value, depth)) return 0;
    return 1;
}

static int traits_eq(const struct amf_traits *a, const struct amf_traits *b)
{
    if (a == b) return 1;
    if (!seq(a->class_name, b->class_name) || a->sealed_count != b->sealed_count ||
        a->dynamic != b->dynamic || a->externalizable != b->externalizable)
        return 0;
    for (uint32_t i = 0; i < a->sealed_count; i++)
        if (!seq(a->sealed[i], b->sealed[i])) return 0;
    return 1;
}

static int eq(struct eq_state *st, const struct amf_value *a, const struct amf_value *b, int depth)
{
    if (st->err) return 0;
    if (!a || !b) return a == b;
    if (a->type != b->type) {
        if ((st->flags & AMF_EQ_NUMERIC) && (a->type == AMF_INT || a->type == AMF_DOUBLE) &&
            (b->type == AMF_INT || b->type == AMF_DOUBLE))
            return amf_number(a, NULL) == amf_number(b, NULL);
        return 0;
    }
    switch (a->type) {
    case AMF_UNDEFINED: case AMF_NULL: case AMF_UNSUPPORTED: return 1;
    case AMF_BOOL: return a->u.b == b->u.b;
    case AMF_INT: return a->u.i == b->u.i;
    case AMF_DOUBLE: return dbl_eq(a->u.d, b->u.d);
    case AMF_STRING: return seq(a->u.s, b->u.s);
    default: break;
    }
    int r;
    if (depth > 10000) { st->err = AMF_EDEPTH; return 0; }
    if (st->flags & AMF_EQ_UNFOLD) {
        /* a pair already under comparison is assumed equal (bisimulation) */
        if (pairs_has(&st->fwd, a, b)) return 1;
        if ((r = pairs_put(&st->fwd, a, b))) { st->err = r; return 0; }
    } else {
        /* complex node: identity must correspond */
        const void *pa = eqm_get(&st->fwd, a), *pb = eqm_get(&st->back, b);
        if (pa || pb) return pa == b && pb == a;
        r = eqm_put(&st->fwd, a, b);
        if (!r) r = eqm_put(&st->back, b, a);
        if (r) { st->err = r; return 0; }
    }
    depth++;
    switch (a->type) {
    case AMF_DATE: return dbl_eq(a->u.d, b->u.d);
    case AMF_XML: case AMF_XMLDOC: return seq(a->u.s, b->u.s);
    case AMF_BYTEARRAY:
        return a->u.bytes.len == b->u.bytes.len &&
               (a->u.bytes.len == 0 || !memcmp(a->u.bytes.ptr, b->u.bytes.ptr, a->u.bytes.len));
    case AMF_ARRAY: {
        const struct amf_array *x = a->u.array, *y = b->u.array;
        if (x->dense_count != y->dense_count || x->assoc_count != y->assoc_count) return 0;
        if ((a->flags & AMF_VF_ECMA) != (b->flags & AMF_VF_ECMA)) return 0;
        if (!members_eq(st, x->assoc, y->assoc, x->assoc_count, depth)) return 0;
        for (uint32_t i = 0; i < x->dense_count; i++)
            if (!eq(st, x->dense[i], y->dense[i], depth)) return 0;
        return 1;
    }
    case AMF_OBJECT: {
        const struct amf_object *x = a->u.object, *y = b->u.object;
        if (!traits_eq(x->traits, y->traits) || x->dyn_count != y->dyn_count) return 0;
        for (uint32_t i = 0; i < x->traits->sealed_count; i++)
            if (!eq(st, x->sealed[i], y->sealed[i], depth)) return 0;
        if (!members_eq(st, x->dyn, y->dyn, x->dyn_count, depth)) return 0;
        return eq(st, x->ext, y->ext, depth);
    }
    case AMF_VECTOR_INT: case AMF_VECTOR_UINT: case AMF_VECTOR_DOUBLE: case AMF_VECTOR_OBJECT: {
        const struct amf_vector *x = a->u.vector, *y = b->u.vector;
        if (x->count != y->count || x->fixed != y->fixed) return 0;
        if (a->type == AMF_VECTOR_OBJECT) {
            if (!seq(x->type_name, y->type_name)) return 0;
            for (uint32_t i = 0; i < x->count; i++)
                if (!eq(st, x->items.v[i], y->items.v[i], depth)) return 0;
            return 1;
        }
        size_t el = a->type == AMF_VECTOR_DOUBLE ? 8 : 4;
        return x->count == 0 || !memcmp(x->items.d, y->items.d, x->count * el);
    }
    case AMF_DICTIONARY: {
        const struct amf_dict *x = a->u.dict, *y = b->u.dict;
        if (x->count != y->count || x->weak != y->weak) return 0;
        for (uint32_t i = 0; i < x->count; i++)
            if (!eq(st, x->entries[i].key, y->entries[i].key, depth) ||
                !eq(st, x->entries[i].value, y->entries[i].value, depth))
                return 0;
        return 1;
    }
    default: return 0;
    }
}

int amf_value_equal(const struct amf_value *a, const struct amf_value *b, unsigned flags)
{
    struct eq_state st;
    memset(&st, 0, sizeof st);
    st.flags = flags;
    int r = eq(&st, a, b, 0);
    free(st.fwd.keys); free(st.fwd.vals);
    free(st.back.keys); free(st.back.vals);
    return st.err ? st.err : r;
}
