/* lib/common/dynbuf.c: caps in the type, growth clamped to the cap, and a failing allocator (realloc
 * is wrapped: -Wl,--wrap=realloc) leaves every buffer as it was and says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dynbuf.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_realloc;   /* the next reallocs return NULL */
static size_t last_size;   /* size asked for by the last realloc */

void *__wrap_realloc(void *p, size_t n)
{
    last_size = n;
    if (fail_realloc)
        return NULL;
    return __real_realloc(p, n);
}

static void test_dynbuf_cap(void **state)
{
    (void)state;
    struct dynbuf b;
    dynbuf_init(&b, 10);
    assert_null(b.data);
    assert_int_equal(dynbuf_add(&b, "hello", 5), 0);
    assert_int_equal(dynbuf_add(&b, "", 0), 0);
    assert_string_equal(b.data, "hello");
    assert_int_equal(dynbuf_add(&b, "world", 5), 0); /* exactly the cap */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    assert_true(b.alloc <= 11); /* never more than the cap and its NUL */
    assert_int_equal(dynbuf_add(&b, "!", 1), DYN_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    dynbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(dynbuf_add(&b, "0123456789A", 11), DYN_ETOOBIG);
    assert_int_equal(dynbuf_add(&b, "abc", 3), 0);
    assert_string_equal(b.data, "abc");
    dynbuf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.max, 10);

    dynbuf_init(&b, 0); /* a zero cap takes nothing but the empty string */
    assert_int_equal(dynbuf_add(&b, "x", 1), DYN_ETOOBIG);
    assert_int_equal(dynbuf_add(&b, "", 0), 0);
    assert_string_equal(b.data, "");
    dynbuf_free(&b);

    dynbuf_init(&b, SIZE_MAX); /* an unlimited cap still leaves room for the NUL */
    assert_int_equal(dynbuf_add(&b, "x", 1), 0);
    assert_int_equal(dynbuf_add(&b, "y", SIZE_MAX), DYN_ETOOBIG);
    dynbuf_free(&b);
}

static void test_dynbuf_nomem(void **state)
{
    (void)state;
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    fail_realloc = 1;
    assert_int_equal(dynbuf_add(&b, "abc", 3), DYN_ENOMEM);
    fail_realloc = 0;
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(dynbuf_add(&b, "abc", 3), 0);
    char big[200];
    memset(big, 'z', sizeof big);
    fail_realloc = 1;
    assert_int_equal(dynbuf_add(&b, big, sizeof big), DYN_ENOMEM); /* needs to grow past 64 */
    fail_realloc = 0;
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc"); /* kept, still NUL-terminated */
    assert_int_equal(dynbuf_add(&b, big, sizeof big), 0);
    assert_int_equal(b.len, 203);
    dynbuf_free(&b);
}

struct item {
    int a;
    char name[12];
};

static void test_dynarr(void **state)
{
    (void)state;
    struct dynarr a;
    dynarr_init(&a, sizeof(struct item), 40);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(dynarr_reserve(&a, 1), 0);
        ((struct item *)a.v)[a.len++].a = i;
    }
    assert_int_equal(a.alloc, 40); /* 16, 32, then clamped to the cap */
    assert_int_equal(last_size, 40 * sizeof(struct item));
    assert_int_equal(dynarr_reserve(&a, 1), DYN_ETOOBIG);
    assert_int_equal(dynarr_reserve(&a, 0), 0);
    assert_int_equal(a.len, 40);
    for (int i = 0; i < 40; i++)
        assert_int_equal(((struct item *)a.v)[i].a, i);
    dynarr_free(&a);
    assert_null(a.v);
    assert_int_equal(a.len, 0);

    dynarr_init(&a, sizeof(struct item), 1000);
    assert_int_equal(dynarr_reserve(&a, 1), 0);
    ((struct item *)a.v)[a.len++].a = 7;
    a.len = a.alloc; /* full: the next item needs memory */
    size_t alloc = a.alloc;
    void *v = a.v;
    fail_realloc = 1;
    assert_int_equal(dynarr_reserve(&a, 1), DYN_ENOMEM);
    fail_realloc = 0;
    assert_ptr_equal(a.v, v);
    assert_int_equal(a.alloc, alloc);
    assert_int_equal(((struct item *)a.v)[0].a, 7);
    assert_int_equal(dynarr_reserve(&a, 1), 0);
    assert_int_equal(a.alloc, 2 * alloc);
    assert_int_equal(dynarr_reserve(&a, SIZE_MAX), DYN_ETOOBIG);
    dynarr_free(&a);
}

static void test_dyn_grow(void **state)
{
    (void)state;
    void *p = NULL;
    size_t alloc = 0;
    assert_int_equal(dyn_grow(&p, &alloc, 0, 8, 4, 100), 0); /* nothing needed, nothing allocated */
    assert_null(p);
    assert_int_equal(dyn_grow(&p, &alloc, 5, 8, 4, 100), 0);
    assert_int_equal(alloc, 8);
    assert_int_equal(dyn_grow(&p, &alloc, 8, 8, 4, 100), 0);
    assert_int_equal(alloc, 8);
    assert_int_equal(dyn_grow(&p, &alloc, 70, 8, 4, 100), 0);
    assert_int_equal(alloc, 100); /* 16, 32, 64, then clamped */
    assert_int_equal(dyn_grow(&p, &alloc, 101, 8, 4, 100), DYN_ETOOBIG);
    assert_int_equal(alloc, 100);
    free(p);
    /* items too large for a size_t: an allocation failure, not a wrapped size */
    p = NULL;
    alloc = 0;
    assert_int_equal(dyn_grow(&p, &alloc, 4, SIZE_MAX / 2, 4, SIZE_MAX), DYN_ENOMEM);
    assert_null(p);
    assert_int_equal(alloc, 0);
    assert_string_equal(dyn_strerror(DYN_ETOOBIG), "over the configured cap");
    assert_string_equal(dyn_strerror(DYN_ENOMEM), "out of memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynbuf_cap),
        cmocka_unit_test(test_dynbuf_nomem),
        cmocka_unit_test(test_dynarr),
        cmocka_unit_test(test_dyn_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
