/* Property test: decode(encode(v)) is the same graph as v — values, shared nodes and cycles — for
 * thousands of random values in AMF3 and in AMF0 (with AMF3 islands behind 0x11).  Seeded PRNG, so a
 * failure names the seed that reproduces it (AMF_ROUNDTRIP_SEED=N to rerun one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amf/amf.h"

static uint64_t rng;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

/* Complex nodes made so far: later picks may reuse them (sharing), ancestors included (cycles). */
struct pool {
    struct amf_value *v[4096];  /* candidates */
    size_t n;                   /* how many */
};

static void pool_add(struct pool *p, struct amf_value *v)
{
    if (p->n < sizeof p->v / sizeof p->v[0]) p->v[p->n++] = v;
}

static struct amf_value *rnd_string(amf_arena *a)
{
    static const char *const words[] = { "", "a", "foo", "bar", "テスト", "name", "id",
                                         "x\"y\\z\n", "0", "longer string value" };
    if (below(8) == 0) {
        char buf[64];
        size_t n = below(sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = (char)rnd();
        return amf_new_string(a, buf, n);
    }
    return amf_new_stringz(a, words[below(10)]);
}

static const char *rnd_name(int allow_empty)
{
    static const char *const names[] = { "a", "b", "foo", "bar", "id", "name", "children", "parent",
                                         "é", "" };
    return names[below(allow_empty ? 10 : 9)];
}

static double rnd_double(void)
{
    switch (below(5)) {
    case 0: return (double)(int32_t)rnd();
    case 1: return NAN;
    case 2: return -0.0;
    case 3: { uint64_t u = ((uint64_t)rnd() << 32) | rnd(); double d; memcpy(&d, &u, 8); return d; }
    default: return (double)rnd() / 7.0;
    }
}

static struct amf_traits *traits_pool[8];

static struct amf_value *gen3(amf_arena *a, struct pool *p, int depth);

static struct amf_value *gen3_complex(amf_arena *a, struct pool *p, int depth)
{
    struct amf_value *v = NULL;
    switch (below(11)) {
    case 0: v = amf_new_date(a, (double)(int64_t)(rnd() * 1000.0)); pool_add(p, v); return v;
    case 1: v = amf_new_xml(a, "<a b=\"1\"/>", 10); pool_add(p, v); return v;
    case 2: v = amf_new_xmldoc(a, "<doc/>", 6); pool_add(p, v); return v;
    case 3: {
        uint8_t b[32];
        size_t n = below(32);
        for (size_t i = 0; i < n; i++) b[i] = (uint8_t)rnd();
        v = amf_new_bytearray(a, b, n);
        pool_add(p, v);
        return v;
    }
    case 4: {
        v = amf_new_array(a);
        pool_add(p, v);
        uint32_t na = below(3), nd = below(5);
        for (uint32_t i = 0; i < na; i++) {
            const char *k = rnd_name(0);
            amf_array_set(a, v, k, strlen(k), gen3(a, p, depth + 1));
        }
        for (uint32_t i = 0; i < nd; i++) amf_array_push(a, v, gen3(a, p, depth + 1));
        return v;
    }
    case 5: case 6: {
        struct amf_traits *t = traits_pool[below(8)];
        v = amf_new_object_traits(a, t);
        pool_add(p, v);
        for (uint32_t i = 0; i < t->sealed_count; i++) v->u.object->sealed[i] = gen3(a, p, depth + 1);
        if (t->dynamic) {
            uint32_t nd = below(4);
            for (uint32_t i = 0; i < nd; i++) {
                const char *k = rnd_name(0);
                amf_object_add(a, v, k, strlen(k), gen3(a, p, depth + 1));
            }
        }
        return v;
    }
    case 7: {
        int type = AMF_VECTOR_INT + (int)below(4);
        v = amf_new_vector(a, type, (int)below(2), below(2) ? "org.Foo" : "*");
        pool_add(p, v);
        uint32_t n = below(5);
        for (uint32_t i = 0; i < n; i++) {
            if (type == AMF_VECTOR_OBJECT) amf_array_push(a, v, gen3(a, p, depth + 1));
            else if (type == AMF_VECTOR_DOUBLE) amf_vector_push_number(a, v, rnd_double());
            else if (type == AMF_VECTOR_INT) amf_vector_push_number(a, v, (double)(int32_t)rnd());
            else amf_vector_push_number(a, v, (double)rnd());
        }
        return v;
    }
    case 8: {
        v = amf_new_dictionary(a, (int)below(2));
        pool_add(p, v);
        uint32_t n = below(4);
        for (uint32_t i = 0; i < n; i++) amf_dict_set(a, v, gen3(a, p, depth + 1), gen3(a, p, depth + 1));
        return v;
    }
    case 9: {
        static const char *const cls[] = { "flex.messaging.io.ArrayCollection",
                                           "flex.messaging.io.ObjectProxy" };
        v = amf_new_external(a, cls[below(2)], NULL);
        pool_add(p, v);
        v->u.object->ext = gen3(a, p, depth + 1);
        return v;
    }
    default: {
        /* a DSK small message with a random subset of its fields */
        struct amf_value *ext = amf_new_object(a, NULL);
        static const char *const f[] = { "body", "clientId", "destination", "headers", "messageId",
                                         "timestamp", "timeToLive", "clientIdBytes",
                                         "messageIdBytes", "correlationId", "correlationIdBytes" };
        v = amf_new_external(a, "DSK", ext);
        pool_add(p, v);
        for (size_t i = 0; i < 11; i++)
            if (below(2)) amf_object_add(a, ext, f[i], strlen(f[i]), gen3(a, p, depth + 1));
        return v;
    }
    }
}

static struct amf_value *gen3(amf_arena *a, struct pool *p, int depth)
{
    if (p->n && below(6) == 0) return p->v[below((uint32_t)p->n)];  /* shared node, maybe a cycle */
    uint32_t k = depth > 7 ? below(7) : below(12);
    switch (k) {
    case 0: return amf_new_undefined(a);
    case 1: return amf_new_null(a);
    case 2: return amf_new_bool(a, (int)below(2));
    case 3: return amf_new_int(a, (int32_t)(rnd() & 0x1FFFFFFF) - 0x10000000);
    case 4: return amf_new_double(a, rnd_double());
    case 5: case 6: return rnd_string(a);
    default: return gen3_complex(a, p, depth);
    }
}

/* AMF0: only what AMF0 carries by itself, plus whole AMF3 values behind 0x11 that share nothing with
 * the AMF0 part (writers never reference across 0x11 values, §2.8). */
static struct amf_value *gen0(amf_arena *a, struct pool *p, int depth)
{
    if (p->n && below(6) == 0) return p->v[below((uint32_t)p->n)];
    uint32_t k = depth > 7 ? below(7) : below(13);
    struct amf_value *v;
    switch (k) {
    case 0: return amf_new_undefined(a);
    case 1: return amf_new_null(a);
    case 2: return amf_new_bool(a, (int)below(2));
    case 3: return amf_new_double(a, rnd_double());
    case 4: case 5: return rnd_string(a);
    case 6: v = amf_new_date(a, (double)(int64_t)rnd()); v->tz = (int16_t)below(600); return v;
    case 7: return amf_new_xmldoc(a, "<x/>", 4);
    case 8: {  /* strict array */
        v = amf_new_array(a);
        pool_add(p, v);
        uint32_t n = below(5);
        for (uint32_t i = 0; i < n; i++) amf_array_push(a, v, gen0(a, p, depth + 1));
        return v;
    }
    case 9: {  /* ECMA array: names may be empty (a real member, see amf0-empty-string-key-hash) */
        v = amf_new_ecma_array(a);
        pool_add(p, v);
        uint32_t n = below(4);
        for (uint32_t i = 0; i < n; i++) {
            const char *key = rnd_name(1);
            amf_array_set(a, v, key, strlen(key), gen0(a, p, depth + 1));
        }
        v->u.array->ecma_count = below(2) ? v->u.array->assoc_count : 0;
        return v;
    }
    case 10: case 11: {  /* anonymous or typed object */
        v = amf_new_object(a, below(2) ? NULL : "org.amf.ASClass");
        pool_add(p, v);
        uint32_t n = below(4);
        for (uint32_t i = 0; i < n; i++) {
            const char *key = rnd_name(1);
            amf_object_add(a, v, key, strlen(key), gen0(a, p, depth + 1));
        }
        return v;
    }
    default: {  /* AMF3 island with its own pool */
        struct pool *q = calloc(1, sizeof *q);
        v = gen3_complex(a, q, depth + 1);
        free(q);
        v->flags |= AMF_VF_AVMPLUS;
        return v;
    }
    }
}

static void make_traits(amf_arena *a)
{
    const char *s1[] = { "a", "b" }, *s2[] = { "id", "name", "parent" };
    traits_pool[0] = amf_new_traits(a, NULL, NULL, 0, 1, 0);
    traits_pool[1] = amf_new_traits(a, "org.amf.ASClass", s1, 2, 0, 0);
    traits_pool[2] = amf_new_traits(a, "org.amf.ASClass", s1, 2, 0, 0);  /* same content, new address */
    traits_pool[3] = amf_new_traits(a, "User", s2, 3, 1, 0);
    traits_pool[4] = amf_new_traits(a, "Dyn", NULL, 0, 1, 0);
    traits_pool[5] = amf_new_traits(a, "", s1, 2, 1, 0);
    traits_pool[6] = amf_new_traits(a, "Sealed0", NULL, 0, 0, 0);
    traits_pool[7] = amf_new_traits(a, NULL, NULL, 0, 1, 0);
}

static void run(int enc, uint64_t first_seed, int count)
{
    const char *env = getenv("AMF_ROUNDTRIP_SEED");
    if (env) { first_seed = strtoull(env, NULL, 10); count = 1; }
    size_t total_bytes = 0, cyclic = 0;
    for (int i = 0; i < count; i++) {
        uint64_t seed = first_seed + (uint64_t)i;
        rng = seed * 0x9E3779B97F4A7C15ull + 1;
        amf_arena *a = amf_arena_new(0);
        make_traits(a);
        struct pool *p = calloc(1, sizeof *p);
        struct amf_value *v = enc == AMF_AMF3 ? gen3(a, p, 0) : gen0(a, p, 0);
        struct amf_buf b;
        amf_buf_init(&b, 0);
        int r = amf_encode(NULL, enc, v, &b);
        if (r) fail_msg("seed %llu: encode: %s", (unsigned long long)seed, amf_strerror(r));
        struct amf_value *w;
        size_t used;
        amf_arena *a2 = amf_arena_new(0);
        r = amf_decode(NULL, a2, enc, b.data, b.len, &w, &used);
        if (r || used != b.len)
            fail_msg("seed %llu: decode: %s at %zu of %zu", (unsigned long long)seed,
                     amf_strerror(r), used, b.len);
        if (amf_value_equal(v, w, 0) != 1) {
            struct amf_buf d1, d2;
            amf_buf_init(&d1, 0);
            amf_buf_init(&d2, 0);
            amf_dump(v, &d1);
            amf_dump(w, &d2);
            print_message("built:\n%.*s\nread back:\n%.*s\n", (int)d1.len, (char *)d1.data,
                          (int)d2.len, (char *)d2.data);
            fail_msg("seed %llu: values differ after the round trip", (unsigned long long)seed);
        }
        /* encoding is deterministic: the decoded graph re-encodes to the same bytes */
        struct amf_buf b2;
        amf_buf_init(&b2, 0);
        assert_int_equal(amf_encode(NULL, enc, w, &b2), 0);
        if (b2.len != b.len || memcmp(b.data, b2.data, b.len))
            fail_msg("seed %llu: re-encoding differs", (unsigned long long)seed);
        total_bytes += b.len;
        /* count values whose graph is not a tree (shared or cyclic): the test must exercise them */
        if (amf_value_equal(v, w, AMF_EQ_UNFOLD) == 1 && p->n && memchr(b.data, enc == AMF_AMF3 ? 0x00 : 0x07, b.len))
            cyclic++;
        amf_buf_free(&b);
        amf_buf_free(&b2);
        free(p);
        amf_arena_free(a);
        amf_arena_free(a2);
    }
    print_message("%s: %d values, %zu bytes\n", enc == AMF_AMF3 ? "AMF3" : "AMF0", count, total_bytes);
    if (!env) assert_true(cyclic > (size_t)count / 10);
}

static void test_roundtrip_amf3(void **state) { run(AMF_AMF3, 1000, 10000); }
static void test_roundtrip_amf0(void **state) { run(AMF_AMF0, 900000, 10000); }

/* The same through the envelope: one header and two bodies, tables reset between them. */
static void test_roundtrip_envelope(void **state)
{
    for (int i = 0; i < 500; i++) {
        rng = (uint64_t)i * 0x9E3779B97F4A7C15ull + 7;
        amf_arena *a = amf_arena_new(0);
        make_traits(a);
        struct pool *p = calloc(1, sizeof *p);
        struct amf_packet pk, q;
        amf_packet_init(&pk, 3);
        assert_int_equal(amf_packet_add_header(a, &pk, "Credentials", 1, gen0(a, p, 0)), 0);
        p->n = 0;  /* values do not share nodes across headers/bodies: each has its own tables */
        assert_int_equal(amf_packet_add_body(a, &pk, "Svc.method", "/1", gen0(a, p, 0)), 0);
        p->n = 0;
        assert_int_equal(amf_packet_add_body(a, &pk, "null", "/2", gen0(a, p, 0)), 0);
        struct amf_buf b;
        amf_buf_init(&b, 0);
        assert_int_equal(amf_packet_encode(NULL, &pk, &b), 0);
        size_t off;
        assert_int_equal(amf_packet_decode(NULL, a, b.data, b.len, &q, &off), 0);
        assert_int_equal(q.header_count, 1);
        assert_int_equal(q.body_count, 2);
        assert_int_equal(q.headers[0].must_understand, 1);
        assert_int_equal(amf_value_equal(pk.headers[0].value, q.headers[0].value, 0), 1);
        for (int j = 0; j < 2; j++) {
            assert_int_equal(amf_value_equal(pk.bodies[j].value, q.bodies[j].value, 0), 1);
            assert_true(q.bodies[j].length != 0xFFFFFFFFu);
        }
        assert_memory_equal(q.bodies[0].target.ptr, "Svc.method", 10);
        amf_buf_free(&b);
        free(p);
        amf_arena_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_amf3),
        cmocka_unit_test(test_roundtrip_amf0),
        cmocka_unit_test(test_roundtrip_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
