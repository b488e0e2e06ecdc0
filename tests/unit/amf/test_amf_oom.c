/* libamf when the allocator fails: the output buffer, the decoder's member stack and the encoder's
 * string table report AMF_ENOMEM and leave what they had (realloc is wrapped: -Wl,--wrap=realloc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "amf/amf.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_realloc; /* realloc returns NULL while set */

void *__wrap_realloc(void *p, size_t n) { return fail_realloc ? NULL : __real_realloc(p, n); }

static void test_buf_nomem(void **state)
{
    (void)state;
    struct amf_buf b;
    amf_buf_init(&b, 1000);
    fail_realloc = 1;
    assert_int_equal(amf_buf_append(&b, "abc", 3), AMF_ENOMEM);
    fail_realloc = 0;
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(amf_buf_append(&b, "abc", 3), 0);
    assert_int_equal(b.cap, 256);
    char big[600];
    memset(big, 'z', sizeof big);
    fail_realloc = 1;
    assert_int_equal(amf_buf_append(&b, big, sizeof big), AMF_ENOMEM);
    fail_realloc = 0;
    assert_int_equal(b.len, 3);
    assert_int_equal(b.cap, 256);
    assert_memory_equal(b.data, "abc", 3);
    assert_int_equal(amf_buf_append(&b, big, sizeof big), 0);
    assert_int_equal(b.cap, 1000); /* 512 is too small, 1024 passes the cap: clamped */
    assert_int_equal(amf_buf_append(&b, big, 398), AMF_EOUTPUT);
    assert_int_equal(b.len, 603);
    amf_buf_free(&b);
}

static void test_codec_nomem(void **state)
{
    (void)state;
    amf_arena *a = amf_arena_new(0);
    assert_non_null(a);
    struct amf_value *obj = amf_new_object(a, NULL);
    assert_int_equal(amf_object_set(a, obj, "k", amf_new_stringz(a, "v")), 0);
    struct amf_buf b;
    amf_buf_init(&b, 0);
    fail_realloc = 1;
    assert_int_equal(amf_encode(NULL, AMF_AMF3, obj, &b), AMF_ENOMEM);
    fail_realloc = 0;
    assert_int_equal(amf_encode(NULL, AMF_AMF3, obj, &b), 0);
    struct amf_value *v = NULL;
    size_t used = 0;
    fail_realloc = 1; /* the decoder's member stack is malloc()ed */
    assert_int_equal(amf_decode(NULL, a, AMF_AMF3, b.data, b.len, &v, &used), AMF_ENOMEM);
    fail_realloc = 0;
    assert_int_equal(amf_decode(NULL, a, AMF_AMF3, b.data, b.len, &v, &used), 0);
    assert_int_equal(used, b.len);
    assert_int_equal(amf_value_equal(v, obj, 0), 1);
    amf_buf_free(&b);
    amf_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_nomem),
        cmocka_unit_test(test_codec_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
