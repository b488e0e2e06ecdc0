/* AMF0/AMF3 codec: exact bytes for the encoder's choices (U29 forms, references, 0x11), every error
 * code on the input that should cause it, and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "amf/amf.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

static amf_arena *A;

static int setup(void **state) { A = amf_arena_new(0); return A ? 0 : -1; }
static int teardown(void **state) { amf_arena_free(A); return 0; }

static void expect_bytes(int enc, const struct amf_value *v, const uint8_t *want, size_t n)
{
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, enc, v, &b), 0);
    if (b.len != n || memcmp(b.data, want, n)) {
        print_message("got:");
        for (size_t i = 0; i < b.len; i++) print_message(" %02x", b.data[i]);
        print_message("\n");
        fail();
    }
    /* and it reads back to the same graph */
    struct amf_value *w;
    size_t used;
    assert_int_equal(amf_decode(NULL, A, enc, b.data, b.len, &w, &used), 0);
    assert_int_equal(used, b.len);
    assert_int_equal(amf_value_equal(v, w, enc == AMF_AMF0 ? AMF_EQ_NUMERIC : 0), 1);
    amf_buf_free(&b);
}

static int decode_err(const struct amf_opts *o, int enc, const uint8_t *p, size_t n, size_t *off)
{
    struct amf_value *v = (struct amf_value *)1;
    size_t used = 0;
    amf_arena *a = amf_arena_new(o && o->limits ? o->limits->max_arena : 0);
    int r = amf_decode(o, a, enc, p, n, &v, &used);
    if (r) assert_null(v);
    if (off) *off = used;
    amf_arena_free(a);
    return r;
}

static void test_u29_forms(void **state)
{
    static const struct { int32_t v; const char *bytes; size_t n; } cases[] = {
        { 0, "\x04\x00", 2 }, { 127, "\x04\x7f", 2 }, { 128, "\x04\x81\x00", 3 },
        { 16383, "\x04\xff\x7f", 3 }, { 16384, "\x04\x81\x80\x00", 4 },
        { 2097151, "\x04\xff\xff\x7f", 4 }, { 2097152, "\x04\x80\xc0\x80\x00", 5 },
        { 268435455, "\x04\xbf\xff\xff\xff", 5 }, { -1, "\x04\xff\xff\xff\xff", 5 },
        { -268435456, "\x04\xc0\x80\x80\x00", 5 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bytes(AMF_AMF3, amf_new_int(A, cases[i].v), (const uint8_t *)cases[i].bytes,
                     cases[i].n);
    /* outside 29 bits: a double (§2.1) */
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF3, amf_new_int(A, 268435456), &b), 0);
    assert_memory_equal(b.data, "\x05\x41\xb0\x00\x00\x00\x00\x00\x00", 9);
    amf_buf_free(&b);
    /* amf_new_number chooses */
    assert_int_equal(amf_new_number(A, 42)->type, AMF_INT);
    assert_int_equal(amf_new_number(A, 268435456.0)->type, AMF_DOUBLE);
    assert_int_equal(amf_new_number(A, -268435457.0)->type, AMF_DOUBLE);
    assert_int_equal(amf_new_number(A, 0.5)->type, AMF_DOUBLE);
    assert_int_equal(amf_new_number(A, -0.0)->type, AMF_DOUBLE);
    /* readers accept non-minimal U29 */
    struct amf_value *v;
    size_t used;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF3, B("\x04\x80\x80\x01"), &v, &used), 0);
    assert_int_equal(v->u.i, 1);
}

static void test_amf3_references(void **state)
{
    /* strings by value, the empty string always inline */
    struct amf_value *arr = amf_new_array(A);
    amf_array_push(A, arr, amf_new_stringz(A, "foo"));
    amf_array_push(A, arr, amf_new_stringz(A, "foo"));
    amf_array_push(A, arr, amf_new_stringz(A, ""));
    amf_array_push(A, arr, amf_new_stringz(A, ""));
    expect_bytes(AMF_AMF3, arr, B("\x09\x09\x01\x06\x07" "foo" "\x06\x00\x06\x01\x06\x01"));

    /* traits reference for the second typed object; member name via string table */
    const char *names[] = { "a" };
    struct amf_traits *t = amf_new_traits(A, "C", names, 1, 0, 0);
    struct amf_value *o1 = amf_new_object_traits(A, t), *o2 = amf_new_object_traits(A, t);
    amf_object_set(A, o1, "a", amf_new_int(A, 1));
    amf_object_set(A, o2, "a", amf_new_int(A, 2));
    arr = amf_new_array(A);
    amf_array_push(A, arr, o1);
    amf_array_push(A, arr, o2);
    amf_array_push(A, arr, o1);
    expect_bytes(AMF_AMF3, arr,
                 B("\x09\x07\x01" "\x0a\x13\x03" "C" "\x03" "a" "\x04\x01" "\x0a\x01\x04\x02" "\x0a\x02"));

    /* equal traits content from two traits objects still share one traits entry */
    struct amf_traits *t2 = amf_new_traits(A, "C", names, 1, 0, 0);
    struct amf_value *o3 = amf_new_object_traits(A, t2);
    arr = amf_new_array(A);
    amf_array_push(A, arr, o1);
    amf_array_push(A, arr, o3);
    expect_bytes(AMF_AMF3, arr,
                 B("\x09\x05\x01" "\x0a\x13\x03" "C" "\x03" "a" "\x04\x01" "\x0a\x01\x00"));

    /* a cycle: o.self = o */
    struct amf_value *o = amf_new_object(A, NULL);
    amf_object_set(A, o, "self", o);
    expect_bytes(AMF_AMF3, o, B("\x0a\x0b\x01\x09" "self" "\x0a\x00\x01"));
    struct amf_value *v;
    size_t used;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF3, B("\x0a\x0b\x01\x09" "self" "\x0a\x00\x01"), &v, &used), 0);
    assert_ptr_equal(amf_object_get(v, "self"), v);

    /* dates are objects in AMF3: the second is a reference */
    struct amf_value *d = amf_new_date(A, 0);
    arr = amf_new_array(A);
    amf_array_push(A, arr, d);
    amf_array_push(A, arr, d);
    expect_bytes(AMF_AMF3, arr, B("\x09\x05\x01\x08\x01\x00\x00\x00\x00\x00\x00\x00\x00\x08\x02"));
}

static void test_amf3_types(void **state)
{
    struct amf_value *vi = amf_new_vector(A, AMF_VECTOR_INT, 0, NULL);
    amf_vector_push_number(A, vi, 4);
    amf_vector_push_number(A, vi, -20);
    expect_bytes(AMF_AMF3, vi, B("\x0d\x05\x00\x00\x00\x00\x04\xff\xff\xff\xec"));
    struct amf_value *vo = amf_new_vector(A, AMF_VECTOR_OBJECT, 1, "Foo");
    amf_array_push(A, vo, amf_new_null(A));
    expect_bytes(AMF_AMF3, vo, B("\x10\x03\x01\x07" "Foo" "\x01"));
    struct amf_value *dc = amf_new_dictionary(A, 1);
    amf_dict_set(A, dc, amf_new_int(A, 1), amf_new_bool(A, 1));
    expect_bytes(AMF_AMF3, dc, B("\x11\x03\x01\x04\x01\x03"));
    expect_bytes(AMF_AMF3, amf_new_bytearray(A, "\x00\x01", 2), B("\x0c\x05\x00\x01"));
    expect_bytes(AMF_AMF3, amf_new_xml(A, "<a/>", 4), B("\x0b\x09<a/>"));
    expect_bytes(AMF_AMF3, amf_new_xmldoc(A, "<a/>", 4), B("\x07\x09<a/>"));
    struct amf_value *ac = amf_new_external(A, "flex.messaging.io.ArrayCollection", amf_new_array(A));
    expect_bytes(AMF_AMF3, ac, B("\x0a\x07\x43" "flex.messaging.io.ArrayCollection" "\x09\x01\x01"));
    /* associative + dense */
    struct amf_value *arr = amf_new_array(A);
    amf_array_set(A, arr, "k", 1, amf_new_int(A, 1));
    amf_array_push(A, arr, amf_new_int(A, 2));
    expect_bytes(AMF_AMF3, arr, B("\x09\x03\x03k\x04\x01\x01\x04\x02"));
}

static void test_amf0_types(void **state)
{
    expect_bytes(AMF_AMF0, amf_new_double(A, 3.5), B("\x00\x40\x0c\x00\x00\x00\x00\x00\x00"));
    expect_bytes(AMF_AMF0, amf_new_bool(A, 1), B("\x01\x01"));
    expect_bytes(AMF_AMF0, amf_new_stringz(A, "hi"), B("\x02\x00\x02hi"));
    expect_bytes(AMF_AMF0, amf_new_null(A), B("\x05"));
    expect_bytes(AMF_AMF0, amf_new_undefined(A), B("\x06"));
    struct amf_value *d = amf_new_date(A, 0);
    expect_bytes(AMF_AMF0, d, B("\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"));
    expect_bytes(AMF_AMF0, amf_new_xmldoc(A, "<a/>", 4), B("\x0f\x00\x00\x00\x04<a/>"));
    /* typed object, self reference through the AMF0 table */
    struct amf_value *o = amf_new_object(A, "T");
    amf_object_set(A, o, "me", o);
    expect_bytes(AMF_AMF0, o, B("\x10\x00\x01T\x00\x02me\x07\x00\x00\x00\x00\x09"));
    /* ECMA array with the count we keep */
    struct amf_value *e = amf_new_ecma_array(A);
    amf_array_set(A, e, "a", 1, amf_new_null(A));
    expect_bytes(AMF_AMF0, e, B("\x08\x00\x00\x00\x01\x00\x01" "a" "\x05\x00\x00\x09"));
    /* strict array; an AMF3-only value goes through 0x11 and AMF0 resumes after it */
    struct amf_value *s = amf_new_array(A);
    struct amf_value *ba = amf_new_bytearray(A, "x", 1);
    amf_array_push(A, s, ba);
    amf_array_push(A, s, amf_new_stringz(A, "x"));
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF0, s, &b), 0);
    assert_int_equal(b.len, 13);
    assert_memory_equal(b.data, "\x0a\x00\x00\x00\x02\x11\x0c\x03x\x02\x00\x01x", 13);
    struct amf_value *v;
    size_t used;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF0, b.data, b.len, &v, &used), 0);
    assert_int_equal(amf_array_get(v, 0)->type, AMF_BYTEARRAY);
    assert_true(amf_array_get(v, 0)->flags & AMF_VF_AVMPLUS);
    assert_true(amf_str_eq(amf_array_get(v, 1), "x"));
    amf_buf_free(&b);
    /* a long string switches to 0x0C */
    size_t n = 70000;
    char *big = malloc(n);
    memset(big, 'z', n);
    struct amf_value *ls = amf_new_string(A, big, n);
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF0, ls, &b), 0);
    assert_int_equal(b.data[0], 0x0C);
    assert_int_equal(b.len, n + 5);
    assert_int_equal(amf_decode(NULL, A, AMF_AMF0, b.data, b.len, &v, &used), 0);
    assert_int_equal(amf_value_equal(ls, v, 0), 1);
    amf_buf_free(&b);
    free(big);
    /* sealed AMF3 objects travel through 0x11 in AMF0 */
    const char *names[] = { "x" };
    struct amf_value *so = amf_new_object_traits(A, amf_new_traits(A, "S", names, 1, 0, 0));
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF0, so, &b), 0);
    assert_int_equal(b.data[0], 0x11);
    amf_buf_free(&b);
}

/* Past 65535 entries the AMF0 table cannot be referenced: the writer writes the object again. */
static void test_amf0_table_cap(void **state)
{
    struct amf_value *s = amf_new_array(A);
    struct amf_value *first = NULL, *last = NULL;
    for (int i = 0; i < 70000; i++) {
        last = amf_new_object(A, NULL);
        if (!first) first = last;
        amf_array_push(A, s, last);
    }
    amf_array_push(A, s, first);
    amf_array_push(A, s, last);
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF0, s, &b), 0);
    struct amf_value *v;
    size_t used;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF0, b.data, b.len, &v, &used), 0);
    assert_ptr_equal(amf_array_get(v, 70000), amf_array_get(v, 0));  /* index 1: a reference */
    assert_ptr_not_equal(amf_array_get(v, 70001), amf_array_get(v, 69999));
    assert_int_equal(amf_value_equal(s, v, 0), 0);           /* sharing of `last` was lost ... */
    assert_int_equal(amf_value_equal(s, v, AMF_EQ_UNFOLD), 1); /* ... but the values are equal */
    amf_buf_free(&b);
}

static void test_errors(void **state)
{
    struct amf_limits lim;
    struct amf_opts o = { &lim, NULL, 0 };
    size_t off;
    amf_limits_default(&lim);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x06\x07" "fo"), &off), AMF_ETRUNC);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B(""), &off), AMF_ETRUNC);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x04\xff\xff"), &off), AMF_ETRUNC);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x12"), &off), AMF_EMARKER);
    assert_int_equal(off, 0);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x04"), &off), AMF_EMARKER);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x0e"), &off), AMF_EMARKER);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x0a\x00\x00\x00\x01\x12"), &off), AMF_EMARKER);
    assert_int_equal(off, 5);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x0d"), &off), AMF_EUNSUPPORTED);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x09"), &off), AMF_EOBJEND);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x09\x00"), &off), AMF_EREF);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x07\x00\x00"), &off), AMF_EREF);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x06\x00"), &off), AMF_ESTRREF);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x0a\x01"), &off), AMF_ETRAITREF);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x0a\x07\x07" "Foo"), &off), AMF_EEXTERNAL);
    assert_int_equal(off, 6);
    /* a DSK body with an endless flag chain */
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x0a\x07\x07" "DSK\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"), &off),
                     AMF_EEXTBODY);

    /* counts larger than the input could hold are refused before allocating */
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x09\xbf\xff\xff\xff\x01"), &off), AMF_ECOUNT);
    assert_int_equal(decode_err(NULL, AMF_AMF0, B("\x0a\xff\xff\xff\xff\x05"), &off), AMF_ECOUNT);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x0d\x81\x01\x00\x00\x00\x00\x01"), &off), AMF_ECOUNT);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x11\xbf\xff\xff\xff\x00\x01"), &off), AMF_ECOUNT);
    assert_int_equal(decode_err(NULL, AMF_AMF3, B("\x0a\xbf\xff\xff\xf3\x01"), &off), AMF_ECOUNT);
    lim.max_arena = 4096;  /* even with a tiny arena it is ECOUNT, not an allocation attempt */
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x09\xbf\xff\xff\xff\x01"), &off), AMF_ECOUNT);
    amf_limits_default(&lim);
    lim.max_elements = 2;
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x09\x07\x01\x01\x01\x01"), &off), AMF_ECOUNT);
    assert_int_equal(decode_err(&o, AMF_AMF0, B("\x03\x00\x01" "a\x05\x00\x01" "b\x05\x00\x01" "c\x05\x00\x00\x09"), &off), AMF_ECOUNT);
    amf_limits_default(&lim);

    lim.max_depth = 3;
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x09\x03\x01\x09\x03\x01\x09\x03\x01\x01"), &off), 0);
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x09\x03\x01\x09\x03\x01\x09\x03\x01\x09\x03\x01\x01"), &off), AMF_EDEPTH);
    assert_int_equal(decode_err(&o, AMF_AMF0, B("\x03\x00\x01" "a\x03\x00\x01" "a\x03\x00\x01" "a\x03\x00\x00\x09"), &off), AMF_EDEPTH);
    amf_limits_default(&lim);

    lim.max_input = 4;
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x06\x07" "foo"), &off), AMF_EINPUT);
    amf_limits_default(&lim);
    lim.max_string = 2;
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x06\x07" "foo"), &off), AMF_ESTRLEN);
    assert_int_equal(decode_err(&o, AMF_AMF0, B("\x02\x00\x03" "foo"), &off), AMF_ESTRLEN);
    amf_limits_default(&lim);
    lim.max_refs = 2;
    assert_int_equal(decode_err(&o, AMF_AMF3, B("\x09\x07\x01\x06\x03" "a\x06\x03" "b\x06\x03" "c"), &off), AMF_EREFS);
    amf_limits_default(&lim);
    lim.max_arena = 1024;
    {
        uint8_t buf[4 + 1999];
        buf[0] = 0x09; buf[1] = 0x9f; buf[2] = 0x1f; buf[3] = 0x01;  /* 1999 dense, empty assoc */
        memset(buf + 4, 0x01, sizeof buf - 4);
        assert_int_equal(decode_err(&o, AMF_AMF3, buf, 4 + 1999 - 3, &off), AMF_ECOUNT);
        assert_int_equal(decode_err(&o, AMF_AMF3, buf, sizeof buf, &off), AMF_EARENA);
    }
    amf_limits_default(&lim);

    /* encoder errors */
    struct amf_buf b;
    amf_buf_init(&b, 4);
    assert_int_equal(amf_encode(NULL, AMF_AMF3, amf_new_stringz(A, "too long"), &b), AMF_EOUTPUT);
    assert_int_equal(b.len, 0);
    amf_buf_free(&b);
    amf_buf_init(&b, 0);
    struct amf_value *un = amf_new_undefined(A);
    un->type = AMF_UNSUPPORTED;
    assert_int_equal(amf_encode(NULL, AMF_AMF3, un, &b), AMF_ETYPE);
    char *longname = calloc(70000, 1);
    memset(longname, 'n', 69999);
    struct amf_value *ob = amf_new_object(A, NULL);
    amf_object_set(A, ob, longname, amf_new_null(A));
    assert_int_equal(amf_encode(NULL, AMF_AMF0, ob, &b), AMF_ERANGE);
    free(longname);
    assert_int_equal(amf_encode(NULL, AMF_AMF3, amf_new_external(A, "Nope", NULL), &b), AMF_EEXTERNAL);
    /* encoder depth: a chain deeper than the limit */
    lim.max_depth = 10;
    struct amf_value *root = amf_new_array(A), *cur = root;
    for (int i = 0; i < 20; i++) {
        struct amf_value *n = amf_new_array(A);
        amf_array_push(A, cur, n);
        cur = n;
    }
    assert_int_equal(amf_encode(&o, AMF_AMF3, root, &b), AMF_EDEPTH);
    assert_int_equal(amf_encode(&o, AMF_AMF0, root, &b), AMF_EDEPTH);
    assert_int_equal(b.len, 0);
    amf_buf_free(&b);

    /* every code has its own text */
    for (int e = -1; e >= -24; e--) {
        assert_string_not_equal(amf_strerror(e), "unknown error");
        for (int f = e - 1; f >= -24; f--) assert_string_not_equal(amf_strerror(e), amf_strerror(f));
    }
    assert_string_equal(amf_strerror(-999), "unknown error");
}

/* Truncating a valid value anywhere gives an error, never a crash or a value. */
static void test_every_prefix(void **state)
{
    struct amf_value *o = amf_new_object(A, NULL);
    amf_object_set(A, o, "name", amf_new_stringz(A, "value"));
    amf_object_set(A, o, "n", amf_new_int(A, 1000000));
    amf_object_set(A, o, "self", o);
    amf_object_set(A, o, "d", amf_new_date(A, 1e12));
    for (int enc = 0; enc <= 3; enc += 3) {
        struct amf_buf b;
        amf_buf_init(&b, 0);
        assert_int_equal(amf_encode(NULL, enc, o, &b), 0);
        for (size_t i = 0; i < b.len; i++) {
            int r = decode_err(NULL, enc, b.data, i, NULL);
            assert_true(r < 0);
        }
        amf_buf_free(&b);
    }
}

static void test_borrow_and_reuse(void **state)
{
    static const uint8_t in[] = "\x06\x07" "foo";
    struct amf_opts o = { NULL, NULL, AMF_DEC_BORROW };
    struct amf_value *v;
    size_t used;
    assert_int_equal(amf_decode(&o, A, AMF_AMF3, in, 5, &v, &used), 0);
    assert_ptr_equal(v->u.s.ptr, (const char *)in + 2);
    assert_int_equal(amf_decode(NULL, A, AMF_AMF3, in, 5, &v, &used), 0);
    assert_ptr_not_equal(v->u.s.ptr, (const char *)in + 2);
    assert_string_equal(v->u.s.ptr, "foo");  /* copies are NUL-terminated */

    amf_encoder *e = amf_encoder_new(NULL);
    struct amf_buf b1, b2;
    amf_buf_init(&b1, 0);
    amf_buf_init(&b2, 0);
    struct amf_value *arr = amf_new_array(A);
    for (int i = 0; i < 1000; i++) amf_array_push(A, arr, amf_new_stringz(A, i % 2 ? "a" : "b"));
    assert_int_equal(amf_encoder_write(e, AMF_AMF3, arr, &b1), 0);
    assert_int_equal(amf_encoder_write(e, AMF_AMF3, arr, &b2), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    amf_buf_free(&b1);
    amf_buf_free(&b2);
    amf_encoder_free(e);
}

/* UUID text: bytes as they are, and a random one stamped version 4 / RFC 4122 variant. */
static void test_uuid_text(void **state)
{
    (void)state;
    static const uint8_t b[16] = { 0x88, 0x14, 0xa0, 0x67, 0xfe, 0x0d, 0x3a, 0x9c,
                                   0xa2, 0x74, 0x4a, 0xae, 0xd9, 0xbd, 0x7b, 0x0b };
    char out[37];
    memset(out, 'x', sizeof out);
    amf_uuid_text(b, out);
    assert_string_equal(out, "8814A067-FE0D-3A9C-A274-4AAED9BD7B0B");
    uint8_t ff[16], zero[16] = { 0 };
    memset(ff, 0xff, sizeof ff);
    amf_uuid_random_text(ff, out);
    assert_string_equal(out, "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF");
    amf_uuid_random_text(zero, out);
    assert_string_equal(out, "00000000-0000-4000-8000-000000000000");
    assert_int_equal(ff[6], 0xff); /* the caller's bytes are not changed */
}

/* DSK round trip and what amf_flex_parse makes of it. */
static void test_small_messages(void **state)
{
    static const uint8_t uuid[16] = { 0x88, 0x14, 0xa0, 0x67, 0xfe, 0x0d, 0x3a, 0x9c,
                                      0xa2, 0x74, 0x4a, 0xae, 0xd9, 0xbd, 0x7b, 0x0b };
    struct amf_value *ext = amf_new_object(A, NULL);
    amf_object_set(A, ext, "body", amf_new_stringz(A, "result"));
    amf_object_set(A, ext, "destination", amf_new_stringz(A, "svc"));
    amf_object_set(A, ext, "timestamp", amf_new_double(A, 12345));
    amf_object_set(A, ext, "clientIdBytes", amf_new_bytearray(A, uuid, 16));
    amf_object_set(A, ext, "correlationId", amf_new_stringz(A, "CORR"));
    struct amf_value *dsk = amf_new_external(A, "DSK", ext);
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF3, dsk, &b), 0);
    /* flags: body|destination|timestamp + more, then clientIdBytes; async: correlationId; ack: 0 */
    assert_memory_equal(b.data, "\x0a\x07\x07" "DSK\xa5\x01", 8);
    struct amf_value *v;
    size_t used;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF3, b.data, b.len, &v, &used), 0);
    assert_int_equal(used, b.len);
    assert_int_equal(b.data[b.len - 1], 0x00);
    struct amf_flex_msg m;
    assert_int_equal(amf_flex_parse(A, v, &m), 0);
    assert_int_equal(m.kind, AMF_FLEX_ACK);
    assert_int_equal(m.small, 1);
    assert_int_equal(m.client_id.len, 36);
    assert_memory_equal(m.client_id.ptr, "8814A067-FE0D-3A9C-A274-4AAED9BD7B0B", 36);
    assert_memory_equal(m.correlation_id.ptr, "CORR", 4);
    assert_memory_equal(m.destination.ptr, "svc", 3);
    assert_true(m.timestamp == 12345);
    amf_buf_free(&b);
}

/* Caller-registered classes come first and can replace a built-in. */
static int raw_read(struct amf_ext_io *io, struct amf_value *obj, void *user)
{
    uint8_t n;
    const uint8_t *p;
    int r = amf_ext_read_u8(io, &n);
    if (!r) r = amf_ext_read_bytes(io, n, &p);
    if (r) return r;
    obj->u.object->ext = amf_new_bytearray(amf_ext_arena(io), p, n);
    (*(int *)user)++;
    return 0;
}
static int raw_write(struct amf_ext_io *io, const struct amf_value *obj, void *user)
{
    const struct amf_value *x = obj->u.object->ext;
    int r = amf_ext_write_u8(io, (uint8_t)x->u.bytes.len);
    return r ? r : amf_ext_write_bytes(io, x->u.bytes.ptr, x->u.bytes.len);
}

static void test_registry(void **state)
{
    int calls = 0;
    struct amf_ext_class cls[] = { { "flex.messaging.io.ArrayCollection", raw_read, raw_write, &calls } };
    struct amf_registry reg = { cls, 1, 0 };
    struct amf_opts o = { NULL, &reg, 0 };
    struct amf_value *v;
    size_t used;
    static const uint8_t in[] = "\x0a\x07\x43" "flex.messaging.io.ArrayCollection" "\x02xy";
    assert_int_equal(amf_decode(&o, A, AMF_AMF3, in, sizeof in - 1, &v, &used), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(v->u.object->ext->type, AMF_BYTEARRAY);
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(&o, AMF_AMF3, v, &b), 0);
    assert_int_equal(b.len, sizeof in - 1);
    assert_memory_equal(b.data, in, b.len);
    amf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u29_forms),
        cmocka_unit_test(test_amf3_references),
        cmocka_unit_test(test_amf3_types),
        cmocka_unit_test(test_amf0_types),
        cmocka_unit_test(test_amf0_table_cap),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_borrow_and_reuse),
        cmocka_unit_test(test_small_messages),
        cmocka_unit_test(test_uuid_text),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
