/* Arena, builder, look-ups, deep equality, JSON both ways, the dump, and the envelope builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amf/amf.h"

static amf_arena *A;

static int setup(void **state) { A = amf_arena_new(0); return A ? 0 : -1; }
static int teardown(void **state) { amf_arena_free(A); return 0; }

static void test_arena(void **state)
{
    amf_arena *a = amf_arena_new(1000);
    assert_non_null(a);
    assert_non_null(amf_arena_alloc(a, 100));
    assert_int_equal(amf_arena_used(a), 104);  /* rounded to 8 */
    assert_null(amf_arena_alloc(a, 1000));     /* would pass the cap */
    assert_non_null(amf_arena_alloc(a, 800));
    amf_arena_reset(a);
    assert_int_equal(amf_arena_used(a), 0);
    void *p = amf_arena_alloc(a, 900);
    assert_non_null(p);
    memset(p, 1, 900);
    /* big allocations after a reset reuse kept blocks */
    amf_arena *b = amf_arena_new(0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) assert_non_null(amf_arena_alloc(b, 50000));
        amf_arena_reset(b);
    }
    char *s = amf_arena_strdup(b, "abc", 3);
    assert_string_equal(s, "abc");
    amf_arena_free(b);
    amf_arena_free(a);
    amf_arena_free(NULL);
    /* builders return NULL when the arena is full */
    a = amf_arena_new(64);
    int nulls = 0;
    for (int i = 0; i < 10; i++) nulls += amf_new_stringz(a, "0123456789") == NULL;
    assert_true(nulls > 0);
    amf_arena_free(a);
}

static void test_buf(void **state)
{
    struct amf_buf b;
    amf_buf_init(&b, 10);
    assert_int_equal(amf_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(amf_buf_append(&b, "x", 1), AMF_EOUTPUT);
    assert_int_equal(b.len, 10);
    amf_buf_free(&b);
}

static void test_builder(void **state)
{
    const char *names[] = { "a", "b" };
    struct amf_traits *t = amf_new_traits(A, "T", names, 2, 0, 0);
    struct amf_value *o = amf_new_object_traits(A, t);
    assert_int_equal(amf_object_get(o, "a")->type, AMF_UNDEFINED);
    assert_int_equal(amf_object_set(A, o, "b", amf_new_int(A, 7)), 0);
    assert_int_equal(amf_object_get(o, "b")->u.i, 7);
    assert_int_equal(amf_object_set(A, o, "c", amf_new_null(A)), AMF_ETYPE);  /* not dynamic */
    assert_int_equal(amf_object_add(A, o, "c", 1, amf_new_null(A)), AMF_ETYPE);
    assert_string_equal(amf_class_name(o), "T");
    struct amf_value *d = amf_new_object(A, NULL);
    assert_string_equal(amf_class_name(d), "");
    assert_int_equal(amf_object_set(A, d, "k", amf_new_int(A, 1)), 0);
    assert_int_equal(amf_object_set(A, d, "k", amf_new_int(A, 2)), 0);  /* replaces */
    assert_int_equal(d->u.object->dyn_count, 1);
    assert_int_equal(amf_object_get(d, "k")->u.i, 2);
    assert_null(amf_object_get(d, "missing"));
    assert_int_equal(amf_object_set(A, amf_new_null(A), "x", d), AMF_ETYPE);

    struct amf_value *arr = amf_new_array(A);
    for (int i = 0; i < 100; i++) assert_int_equal(amf_array_push(A, arr, amf_new_int(A, i)), 0);
    assert_int_equal(amf_array_get(arr, 99)->u.i, 99);
    assert_null(amf_array_get(arr, 100));
    assert_int_equal(amf_array_set(A, arr, "x", 1, amf_new_bool(A, 1)), 0);
    assert_int_equal(amf_array_get_key(arr, "x")->u.b, 1);
    struct amf_value *e = amf_new_ecma_array(A);
    amf_array_set(A, e, "a", 1, amf_new_null(A));
    amf_array_set(A, e, "b", 1, amf_new_null(A));
    assert_int_equal(e->u.array->ecma_count, 2);

    struct amf_value *vu = amf_new_vector(A, AMF_VECTOR_UINT, 1, NULL);
    assert_int_equal(amf_vector_push_number(A, vu, 4000000000.0), 0);
    assert_int_equal(vu->u.vector->items.u[0], 4000000000u);
    assert_int_equal(amf_vector_push_number(A, arr, 1), AMF_ETYPE);
    assert_null(amf_new_vector(A, AMF_STRING, 0, NULL));

    int ok;
    assert_true(amf_number(amf_new_int(A, 3), &ok) == 3 && ok);
    assert_true(amf_number(amf_new_stringz(A, "3"), &ok) == 0 && !ok);
    assert_true(amf_str_eq(amf_new_stringz(A, "hi"), "hi"));
    assert_false(amf_str_eq(amf_new_stringz(A, "hi"), "h"));
    assert_string_equal(amf_type_name(AMF_VECTOR_OBJECT), "vector<object>");
    assert_string_equal(amf_type_name(99), "invalid");
}

static void test_equality(void **state)
{
    /* cycles: two separately built rings of the same shape are equal */
    struct amf_value *a1 = amf_new_object(A, NULL), *a2 = amf_new_object(A, NULL);
    amf_object_set(A, a1, "next", a2);
    amf_object_set(A, a2, "next", a1);
    struct amf_value *b1 = amf_new_object(A, NULL), *b2 = amf_new_object(A, NULL);
    amf_object_set(A, b1, "next", b2);
    amf_object_set(A, b2, "next", b1);
    assert_int_equal(amf_value_equal(a1, b1, 0), 1);
    /* a ring of one is not a ring of two (unfolded they are equal) */
    struct amf_value *c = amf_new_object(A, NULL);
    amf_object_set(A, c, "next", c);
    assert_int_equal(amf_value_equal(a1, c, 0), 0);
    assert_int_equal(amf_value_equal(a1, c, AMF_EQ_UNFOLD), 1);
    /* shared vs copied */
    struct amf_value *x = amf_new_array(A), *s = amf_new_array(A);
    amf_array_push(A, x, s);
    amf_array_push(A, x, s);
    struct amf_value *y = amf_new_array(A);
    amf_array_push(A, y, amf_new_array(A));
    amf_array_push(A, y, amf_new_array(A));
    assert_int_equal(amf_value_equal(x, y, 0), 0);
    assert_int_equal(amf_value_equal(x, y, AMF_EQ_UNFOLD), 1);
    /* doubles bit for bit */
    assert_int_equal(amf_value_equal(amf_new_double(A, NAN), amf_new_double(A, NAN), 0), 1);
    assert_int_equal(amf_value_equal(amf_new_double(A, 0.0), amf_new_double(A, -0.0), 0), 0);
    assert_int_equal(amf_value_equal(amf_new_int(A, 5), amf_new_double(A, 5), 0), 0);
    assert_int_equal(amf_value_equal(amf_new_int(A, 5), amf_new_double(A, 5), AMF_EQ_NUMERIC), 1);
    /* null is not undefined; class names count; member names count */
    assert_int_equal(amf_value_equal(amf_new_null(A), amf_new_undefined(A), 0), 0);
    assert_int_equal(amf_value_equal(amf_new_object(A, "A"), amf_new_object(A, "B"), 0), 0);
    struct amf_value *m1 = amf_new_object(A, NULL), *m2 = amf_new_object(A, NULL);
    amf_object_set(A, m1, "a", amf_new_null(A));
    amf_object_set(A, m2, "b", amf_new_null(A));
    assert_int_equal(amf_value_equal(m1, m2, 0), 0);
    /* ECMA flag counts, the sent count does not */
    struct amf_value *e1 = amf_new_ecma_array(A), *e2 = amf_new_ecma_array(A), *n = amf_new_array(A);
    e2->u.array->ecma_count = 9;
    assert_int_equal(amf_value_equal(e1, e2, 0), 1);
    assert_int_equal(amf_value_equal(e1, n, 0), 0);
    /* deep chains are refused, not overflowed */
    struct amf_value *r1 = amf_new_array(A), *r2 = amf_new_array(A), *p1 = r1, *p2 = r2;
    for (int i = 0; i < 20000; i++) {
        struct amf_value *q1 = amf_new_array(A), *q2 = amf_new_array(A);
        amf_array_push(A, p1, q1);
        amf_array_push(A, p2, q2);
        p1 = q1;
        p2 = q2;
    }
    assert_int_equal(amf_value_equal(r1, r2, 0), AMF_EDEPTH);
}

static void expect_json(const struct amf_value *v, unsigned flags, const char *want)
{
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_to_json(v, flags, &b), 0);
    assert_int_equal(amf_buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data, want);
    amf_buf_free(&b);
}

static void test_to_json(void **state)
{
    struct amf_value *o = amf_new_object(A, "org.Foo");
    amf_object_set(A, o, "s", amf_new_stringz(A, "a\"b\\c\n\x01\xff"));
    amf_object_set(A, o, "i", amf_new_int(A, -5));
    amf_object_set(A, o, "d", amf_new_double(A, 0.1));
    amf_object_set(A, o, "nan", amf_new_double(A, NAN));
    amf_object_set(A, o, "u", amf_new_undefined(A));
    amf_object_set(A, o, "date", amf_new_date(A, 1590796800123.0));
    amf_object_set(A, o, "bytes", amf_new_bytearray(A, "\x00\x01\x02\x03", 4));
    amf_object_set(A, o, "me", o);
    expect_json(o, 0,
                "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\",\"i\":-5,\"d\":0.1,\"nan\":null,"
                "\"u\":null,\"date\":\"2020-05-30T00:00:00.123Z\",\"bytes\":\"AAECAw==\","
                "\"me\":\"[Circular]\"}");
    /* U+1F600 as CESU-8 (what Java writers send), and a lone surrogate */
    expect_json(amf_new_stringz(A, "\xed\xa0\xbd\xed\xb8\x80|\xed\xa0\xbd"), 0,
                "\"\xf0\x9f\x98\x80|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    struct amf_value *arr = amf_new_array(A);
    amf_array_push(A, arr, amf_new_bool(A, 1));
    amf_array_push(A, arr, amf_new_object(A, "X"));
    expect_json(arr, AMF_JSON_CLASS, "[true,{\"$class\":\"X\"}]");
    expect_json(arr, AMF_JSON_PRETTY, "[\n  true,\n  {}\n]");
    amf_array_set(A, arr, "k", 1, amf_new_null(A));
    expect_json(arr, 0, "{\"0\":true,\"1\":{},\"k\":null}");
    struct amf_value *dc = amf_new_dictionary(A, 0);
    amf_dict_set(A, dc, amf_new_int(A, 1), amf_new_stringz(A, "one"));
    expect_json(dc, 0, "[[1,\"one\"]]");
    struct amf_value *vi = amf_new_vector(A, AMF_VECTOR_INT, 0, NULL);
    amf_vector_push_number(A, vi, -3);
    expect_json(vi, 0, "[-3]");
    /* externalizable: its body */
    expect_json(amf_new_external(A, "flex.messaging.io.ArrayCollection", arr), 0,
                "{\"0\":true,\"1\":{},\"k\":null}");
    /* a shared (acyclic) node is written each time it appears */
    struct amf_value *sh = amf_new_array(A), *leaf = amf_new_int(A, 1);
    struct amf_value *in = amf_new_array(A);
    amf_array_push(A, in, leaf);
    amf_array_push(A, sh, in);
    amf_array_push(A, sh, in);
    expect_json(sh, 0, "[[1],[1]]");
    /* the output cap is honoured */
    struct amf_buf b;
    amf_buf_init(&b, 5);
    assert_int_equal(amf_to_json(sh, 0, &b), AMF_EOUTPUT);
    assert_int_equal(b.len, 0);
    amf_buf_free(&b);
}

static void test_from_json(void **state)
{
    static const char text[] =
        " {\"a\": [1, -2, 268435455, 268435456, 1.5, 1e3, -0, true, false, null],"
        " \"s\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\", \"o\": {}, \"e\": []} ";
    struct amf_value *v;
    size_t off;
    assert_int_equal(amf_from_json(A, text, sizeof text - 1, NULL, &v, &off), 0);
    assert_int_equal(v->type, AMF_OBJECT);
    struct amf_value *a = amf_object_get(v, "a");
    assert_int_equal(a->u.array->dense_count, 10);
    assert_int_equal(amf_array_get(a, 0)->type, AMF_INT);
    assert_int_equal(amf_array_get(a, 1)->u.i, -2);
    assert_int_equal(amf_array_get(a, 2)->type, AMF_INT);
    assert_int_equal(amf_array_get(a, 3)->type, AMF_DOUBLE);
    assert_int_equal(amf_array_get(a, 4)->type, AMF_DOUBLE);
    assert_int_equal(amf_array_get(a, 5)->type, AMF_INT);
    assert_int_equal(amf_array_get(a, 5)->u.i, 1000);
    assert_int_equal(amf_array_get(a, 6)->type, AMF_DOUBLE);  /* -0 keeps its sign */
    assert_int_equal(amf_array_get(a, 7)->u.b, 1);
    assert_int_equal(amf_array_get(a, 9)->type, AMF_NULL);
    struct amf_value *s = amf_object_get(v, "s");
    assert_int_equal(s->u.s.len, 1 + 2 + 4 + 2);
    assert_memory_equal(s->u.s.ptr, "x\xc3\xa9\xf0\x9f\x98\x80\n\"", 9);
    /* JSON -> AMF3 -> JSON */
    struct amf_buf b, j;
    amf_buf_init(&b, 0);
    amf_buf_init(&j, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF3, v, &b), 0);
    struct amf_value *w;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF3, b.data, b.len, &w, &off), 0);
    assert_int_equal(amf_value_equal(v, w, 0), 1);
    assert_int_equal(amf_to_json(w, 0, &j), 0);
    amf_buf_append(&j, "", 1);
    assert_string_equal((char *)j.data,
                        "{\"a\":[1,-2,268435455,268435456,1.5,1000,-0,true,false,null],"
                        "\"s\":\"x\xc3\xa9\xf0\x9f\x98\x80\\n\\\"\",\"o\":{},\"e\":[]}");
    amf_buf_free(&b);
    amf_buf_free(&j);

    static const char *const bad[] = { "", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.",
                                       "tru", "\"\\x\"", "\"abc", "[1] 2", "{a:1}", "-", "1e" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(amf_from_json(A, bad[i], strlen(bad[i]), NULL, &v, &off), AMF_EJSON);
    struct amf_limits lim;
    amf_limits_default(&lim);
    lim.max_depth = 2;
    assert_int_equal(amf_from_json(A, "[[[1]]]", 7, &lim, &v, &off), AMF_EDEPTH);
    amf_limits_default(&lim);
    lim.max_elements = 2;
    assert_int_equal(amf_from_json(A, "[1,2,3]", 7, &lim, &v, &off), AMF_ECOUNT);
}

static void test_dump(void **state)
{
    struct amf_value *o = amf_new_object(A, NULL);
    struct amf_value *arr = amf_new_array(A);
    amf_object_set(A, o, "list", arr);
    amf_array_push(A, arr, o);
    amf_array_push(A, arr, amf_new_date(A, 0));
    struct amf_value *x = amf_new_xml(A, "<a/>", 4);
    x->flags |= AMF_VF_AVMPLUS;
    amf_array_push(A, arr, x);
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_dump(o, &b), 0);
    amf_buf_append(&b, "", 1);
    assert_string_equal((char *)b.data, "@0 object<\"\", dynamic>\n"
                                        "  \"list\": @1 array\n"
                                        "    [0]: =@0\n"
                                        "    [1]: @2 date(0)\n"
                                        "    [2]: avm+ @3 xml(\"<a/>\")\n");
    amf_buf_free(&b);
}

static void test_packet_builder(void **state)
{
    struct amf_packet p, q;
    amf_packet_init(&p, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(amf_packet_add_body(A, &p, "Svc.m", "/1", amf_new_int(A, i)), 0);
    assert_int_equal(amf_packet_add_header(A, &p, "AppendToGatewayUrl", 0, amf_new_stringz(A, "?x")), 0);
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_packet_encode(NULL, &p, &b), 0);
    size_t off;
    assert_int_equal(amf_packet_decode(NULL, A, b.data, b.len, &q, &off), 0);
    assert_int_equal(q.body_count, 10);
    assert_int_equal(q.header_count, 1);
    assert_int_equal(q.bodies[9].value->type, AMF_DOUBLE);  /* AMF0 has no integer */
    assert_true(q.bodies[9].value->u.d == 9);
    assert_int_equal(q.bodies[9].length, 9);
    assert_int_equal(q.headers[0].length, 5);
    /* trailing byte, bad version, too many bodies, truncation */
    assert_int_equal(amf_buf_append(&b, "x", 1), 0);
    assert_int_equal(amf_packet_decode(NULL, A, b.data, b.len, &q, &off), AMF_ETRAILING);
    assert_int_equal(off, b.len - 1);
    b.len--;
    b.data[1] = 2;
    assert_int_equal(amf_packet_decode(NULL, A, b.data, b.len, &q, &off), AMF_EVERSION);
    b.data[1] = 1;  /* FMS version 1 reads as 0 */
    assert_int_equal(amf_packet_decode(NULL, A, b.data, b.len, &q, &off), 0);
    struct amf_limits lim;
    amf_limits_default(&lim);
    lim.max_messages = 5;
    struct amf_opts o = { &lim, NULL, 0 };
    assert_int_equal(amf_packet_decode(&o, A, b.data, b.len, &q, &off), AMF_EHEADERS);
    for (size_t i = 0; i < b.len; i++)
        assert_true(amf_packet_decode(NULL, A, b.data, i, &q, &off) < 0);
    amf_buf_free(&b);
}

static void test_flex_build(void **state)
{
    struct amf_flex_msg m, back;
    amf_flex_init(&m, AMF_FLEX_ERROR);
    m.correlation_id = (struct amf_str){ "REQ-1", 5 };
    m.fault_code = (struct amf_str){ "Server.Processing", 17 };
    m.fault_string = (struct amf_str){ "boom", 4 };
    m.timestamp = 1306275431838.0;
    m.ds_id = (struct amf_str){ "DS-1", 4 };
    struct amf_value *v;
    assert_int_equal(amf_flex_build(A, &m, &v), 0);
    assert_string_equal(amf_class_name(v), "flex.messaging.messages.ErrorMessage");
    struct amf_buf b;
    amf_buf_init(&b, 0);
    assert_int_equal(amf_encode(NULL, AMF_AMF0, v, &b), 0);
    assert_int_equal(b.data[0], 0x11);  /* sealed members: AMF3 behind 0x11 */
    struct amf_value *w;
    size_t off;
    assert_int_equal(amf_decode(NULL, A, AMF_AMF0, b.data, b.len, &w, &off), 0);
    assert_int_equal(amf_flex_parse(A, w, &back), 0);
    assert_int_equal(back.kind, AMF_FLEX_ERROR);
    assert_memory_equal(back.correlation_id.ptr, "REQ-1", 5);
    assert_memory_equal(back.fault_code.ptr, "Server.Processing", 17);
    assert_memory_equal(back.fault_string.ptr, "boom", 4);
    assert_null(back.fault_detail.ptr);
    assert_memory_equal(back.ds_id.ptr, "DS-1", 4);
    assert_true(back.timestamp == 1306275431838.0);
    assert_int_equal(back.root_cause->type, AMF_NULL);
    amf_buf_free(&b);

    amf_flex_init(&m, AMF_FLEX_COMMAND);
    m.operation = AMF_FLEX_OP_LOGIN;
    assert_int_equal(amf_flex_build(A, &m, &v), 0);
    assert_int_equal(amf_flex_parse(A, v, &back), 0);
    assert_int_equal(back.operation, 8);
    assert_string_equal(amf_flex_class(AMF_FLEX_REMOTING), "flex.messaging.messages.RemotingMessage");
    assert_null(amf_flex_class(AMF_FLEX_NONE));
    amf_flex_init(&m, AMF_FLEX_NONE);
    assert_int_equal(amf_flex_build(A, &m, &v), AMF_EINVAL);
    /* Zend: timestamp as a string, faultCode as a number */
    struct amf_value *z = amf_new_object(A, "flex.messaging.messages.ErrorMessage");
    amf_object_set(A, z, "timestamp", amf_new_stringz(A, "130627543100"));
    amf_object_set(A, z, "faultCode", amf_new_int(A, 42));
    assert_int_equal(amf_flex_parse(A, z, &back), 0);
    assert_true(back.timestamp == 130627543100.0);
    assert_memory_equal(back.fault_code.ptr, "42", 2);
    assert_int_equal(amf_flex_parse(A, amf_new_object(A, "Other"), &back), AMF_ETYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_packet_builder),
        cmocka_unit_test(test_flex_build),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
