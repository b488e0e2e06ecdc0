/* The watch list of a cluster session record (server/cluster/wire.c, issue 12): it round-trips in list
 * order with its "more" flag, a 1000-buddy list of the longest ids fits in the default cluster batch,
 * and a list not written by a node is refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

/* A session with nothing but its id set: what wire_put_record reads of a struct conn. */
static void fake_conn(struct conn *c)
{
    memset(c, 0, sizeof *c);
    c->session_id = 0x1234;
    c->version = 16;
    c->status = 99;
}

static void test_thousand_ids_fit_the_default_batch(void **state)
{
    (void)state;
    static char ids[1000][NAME_MAX_LEN + 1];
    const char *names[1000];
    for (int i = 0; i < 1000; i++) {
        snprintf(ids[i], sizeof ids[i], "buddy%027d", 999 - i); /* 32 characters, not in sorted order */
        names[i] = ids[i];
    }
    struct conn c;
    fake_conn(&c);
    struct wire_watchlist w = {names, 1000, 0};
    struct wire_buf b = {0};
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 2, &w), 0);
    /* cluster_batch_max's default (64 KiB) with room for the batch header and frame head */
    assert_true(b.len + 64 < 65536);
    struct wire_record r;
    assert_int_equal(wire_get_record(b.p, b.len, &r), 0);
    assert_int_equal(r.n_watch, 1000);
    assert_int_equal(r.watch_more, 0);
    for (int i = 0; i < 1000; i++) assert_string_equal(r.watch[i], ids[i]);
    wire_record_free(&r);
    wire_buf_free(&b);
}

static void test_more_flag_and_no_list(void **state)
{
    (void)state;
    const char *names[2] = {"alice", "bob"};
    struct conn c;
    fake_conn(&c);
    struct wire_watchlist w = {names, 2, 1};
    struct wire_buf b = {0};
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 2, &w), 0);
    struct wire_record r;
    assert_int_equal(wire_get_record(b.p, b.len, &r), 0);
    assert_int_equal(r.n_watch, 2);
    assert_int_equal(r.watch_more, 1);
    assert_string_equal(r.watch[0], "alice");
    assert_string_equal(r.watch[1], "bob");
    wire_record_free(&r);
    /* a record without a list (an older node's) decodes with none */
    b.len = 0;
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 3, NULL), 0);
    assert_int_equal(wire_get_record(b.p, b.len, &r), 0);
    assert_int_equal(r.n_watch, 0);
    assert_null(r.watch);
    wire_record_free(&r);
    wire_buf_free(&b);
}

static void test_bad_watch_ids_refused(void **state)
{
    (void)state;
    struct conn c;
    fake_conn(&c);
    struct wire_buf b = {0};
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 2, NULL), 0);
    size_t base = b.len;
    /* an id that is not normalised (nodes write them lower-case), an empty one, a bad "more" width */
    static const uint8_t bad[][8] = {{24, 0, 3, 'B', 'o', 'b'}, {24, 0, 0}, {25, 0, 2, 1, 1}};
    static const size_t len[] = {6, 3, 5};
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        b.len = base;
        assert_int_equal(wire_put(&b, bad[i], len[i]), 0);
        struct wire_record r;
        assert_int_equal(wire_get_record(b.p, b.len, &r), -1);
        assert_int_equal(r.n_watch, 0);
        assert_null(r.watch);
    }
    /* the encoder refuses an id that is no id rather than write it */
    const char *names[1] = {""};
    struct wire_watchlist w = {names, 1, 0};
    b.len = 0;
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 2, &w), -1);
    assert_int_equal(b.len, 0);
    wire_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_ids_fit_the_default_batch),
        cmocka_unit_test(test_more_flag_and_no_list),
        cmocka_unit_test(test_bad_watch_ids_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
