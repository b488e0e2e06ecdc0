/* Shared by the AMF harnesses: small limits so the fuzzer explores instead of allocating, and a
 * registry with one raw-bytes class so externalizable paths beyond the built-ins are reached. */
#ifndef FUZZ_AMF_COMMON_H
#define FUZZ_AMF_COMMON_H

#include "amf/amf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "ExternalizableTest" (RocketAMF fixture): two raw big-endian doubles. */
static inline int fz_ext_read(struct amf_ext_io *io, struct amf_value *obj, void *user)
{
    double a, b;
    int r = amf_ext_read_double(io, &a);
    if (!r) r = amf_ext_read_double(io, &b);
    if (r) return r;
    amf_arena *ar = amf_ext_arena(io);
    struct amf_value *v = amf_new_vector(ar, AMF_VECTOR_DOUBLE, 1, NULL);
    if (!v || amf_vector_push_number(ar, v, a) || amf_vector_push_number(ar, v, b)) return AMF_EARENA;
    obj->u.object->ext = v;
    return 0;
}

static inline int fz_ext_write(struct amf_ext_io *io, const struct amf_value *obj, void *user)
{
    const struct amf_value *v = obj->u.object->ext;
    if (!v || v->type != AMF_VECTOR_DOUBLE || v->u.vector->count != 2) return AMF_ETYPE;
    int r = amf_ext_write_double(io, v->u.vector->items.d[0]);
    return r ? r : amf_ext_write_double(io, v->u.vector->items.d[1]);
}

static const struct amf_ext_class fz_classes[] = {
    { "ExternalizableTest", fz_ext_read, fz_ext_write, NULL },
};
static const struct amf_registry fz_registry = { fz_classes, 1, 0 };

static inline void fz_opts(struct amf_limits *lim, struct amf_opts *opts)
{
    amf_limits_default(lim);
    lim->max_depth = 200;
    lim->max_arena = 64u << 20;
    opts->limits = lim;
    opts->registry = &fz_registry;
    opts->flags = 0;
}

#define FZ_CHECK(cond)                                                                       \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* decode -> encode -> decode -> equal, for one encoding. */
static inline void fz_roundtrip(const uint8_t *data, size_t size, int enc)
{
    struct amf_limits lim;
    struct amf_opts opts;
    fz_opts(&lim, &opts);
    opts.flags = size & 1 ? AMF_DEC_BORROW : 0;  /* cover both string modes */
    amf_arena *a = amf_arena_new(lim.max_arena), *b = amf_arena_new(lim.max_arena);
    FZ_CHECK(a && b);
    struct amf_value *v = NULL, *w = NULL;
    size_t used = 0;
    int r = amf_decode(&opts, a, enc, data, size, &v, &used);
    if (r == 0) {
        FZ_CHECK(v && used <= size);
        struct amf_buf out;
        amf_buf_init(&out, 16u << 20);
        r = amf_encode(&opts, enc, v, &out);
        if (r == 0) {
            size_t used2 = 0;
            r = amf_decode(&opts, b, enc, out.data, out.len, &w, &used2);
            if (r) fprintf(stderr, "re-decode failed: %s at %zu\n", amf_strerror(r), used2);
            FZ_CHECK(r == 0);
            FZ_CHECK(used2 == out.len);
            FZ_CHECK(amf_value_equal(v, w, enc == AMF_AMF0 ? AMF_EQ_UNFOLD : 0) == 1);
            /* the JSON and dump writers must cope with whatever decoded */
            struct amf_buf j;
            amf_buf_init(&j, 64u << 10);
            (void)amf_to_json(w, AMF_JSON_CLASS, &j);
            (void)amf_dump(w, &j);
            amf_buf_free(&j);
        } else {
            FZ_CHECK(r == AMF_EOUTPUT || r == AMF_EDEPTH);
        }
        amf_buf_free(&out);
    } else {
        FZ_CHECK(v == NULL && r < 0 && amf_strerror(r)[0]);
    }
    amf_arena_free(a);
    amf_arena_free(b);
}

#endif
