/* The hash map's shrink after deletions and the arrays' growth rule (server/core/hmap.c, grow.c):
 * the memory a session costs in a cluster depends on both (docs/PERFORMANCE.md, issue 12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grow.h"
#include "hmap.h"

#define N 1000

static char g_keys[N][16];

static void fill(struct hmap *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(g_keys[i], sizeof g_keys[i], "k%zu", i);
        assert_int_equal(hmap_put(m, g_keys[i], g_keys[i]), 0);
    }
}

static void test_shrink_keeps_entries(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    fill(&m, N);
    size_t peak = m.cap;
    assert_true(peak >= 2048);
    assert_int_equal(hmap_shrink(&m), 0);
    assert_int_equal(m.cap, peak); /* full enough: stays */
    for (size_t i = 10; i < N; i++) assert_ptr_equal(hmap_del(&m, g_keys[i]), g_keys[i]);
    assert_int_equal(m.cap, peak); /* deletions alone never shrink it */
    assert_int_equal(hmap_shrink(&m), 0);
    assert_int_equal(m.cap, 32); /* 10 entries: at most 3/8 of 32 */
    assert_int_equal(m.len, 10);
    for (size_t i = 0; i < 10; i++) assert_ptr_equal(hmap_get(&m, g_keys[i]), g_keys[i]);
    for (size_t i = 10; i < N; i++) assert_null(hmap_get(&m, g_keys[i]));
    /* still a working table: it grows again */
    for (size_t i = 10; i < N; i++) assert_int_equal(hmap_put(&m, g_keys[i], g_keys[i]), 0);
    for (size_t i = 0; i < N; i++) assert_ptr_equal(hmap_get(&m, g_keys[i]), g_keys[i]);
    hmap_free(&m);
}

static void test_shrink_empty_frees(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    assert_int_equal(hmap_shrink(&m), 0); /* never allocated */
    fill(&m, 100);
    for (size_t i = 0; i < 100; i++) hmap_del(&m, g_keys[i]);
    assert_int_equal(hmap_shrink(&m), 0);
    assert_int_equal(m.cap, 0);
    assert_null(m.slots);
    assert_null(hmap_get(&m, "k1"));
    fill(&m, 3);
    assert_ptr_equal(hmap_get(&m, "k2"), g_keys[2]);
    hmap_free(&m);
}

static int g_fail;
static void *failing_realloc(void *p, size_t n) { return g_fail ? NULL : realloc(p, n); }

static void test_grow_by_half(void **state)
{
    (void)state;
    long *v = NULL;
    size_t cap = 0, caps[8], nc = 0;
    for (size_t n = 0; n < 20; n++) {
        size_t before = cap;
        assert_int_equal(grow_array((void **)&v, &cap, n, sizeof *v, 4), 0);
        assert_true(cap > n);
        v[n] = (long)n;
        if (cap != before) caps[nc++] = cap;
    }
    /* 4, then half again each time: 18 watchers fit in 19 slots, not the 32 doubling gave */
    size_t want[] = {4, 6, 9, 13, 19, 28};
    assert_int_equal(nc, 6);
    for (size_t i = 0; i < nc; i++) assert_int_equal(caps[i], want[i]);
    for (size_t n = 0; n < 20; n++) assert_int_equal(v[n], (long)n);
    /* a failed growth changes nothing */
    grow_realloc = failing_realloc;
    g_fail = 1;
    size_t c2 = cap;
    long *v2 = v;
    assert_int_equal(grow_array((void **)&v, &cap, cap, sizeof *v, 4), -1);
    assert_ptr_equal(v, v2);
    assert_int_equal(cap, c2);
    g_fail = 0;
    grow_realloc = realloc;
    /* capacity 1 grows too */
    long *w = NULL;
    size_t wc = 0;
    assert_int_equal(grow_array((void **)&w, &wc, 0, sizeof *w, 1), 0);
    assert_int_equal(wc, 1);
    assert_int_equal(grow_array((void **)&w, &wc, 1, sizeof *w, 1), 0);
    assert_int_equal(wc, 2);
    free(w);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shrink_keeps_entries),
        cmocka_unit_test(test_shrink_empty_frees),
        cmocka_unit_test(test_grow_by_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
