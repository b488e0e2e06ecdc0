/* The cluster session record (server/cluster/wire.c, issue 12): it carries what can_see() and the
 * presence packets read of a session and its presence counter, and no watch list any more (every node
 * keeps its own sessions' watches); an older node's record with a list is read, the list skipped, and
 * a record not written by a node is refused whole. */
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

/* Appends one {tag, length, value} field. */
static void put_tlv(struct wire_buf *b, uint8_t tag, const void *v, uint16_t n)
{
    uint8_t h[3] = {tag, (uint8_t)(n >> 8), (uint8_t)n};
    assert_int_equal(wire_put(b, h, 3), 0);
    assert_int_equal(wire_put(b, v, n), 0);
}

/* Tagged sets (server.h): several sets in one, each tag's entries kept apart and in order. */
static void test_tagsets(void **state)
{
    (void)state;
    struct nameset s = {0};
    uint32_t first;
    assert_int_equal(tagset_range(&s, SET_IGNORE, &first), 0);
    tagset_clear(&s, SET_IGNORE); /* empty: nothing to do */
    const char *ids[] = {"zed", "amy", "bob", "a"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(tagset_add(&s, SET_IGNORE, ids[i]), 0);
        assert_int_equal(tagset_add(&s, SET_TALKED, ids[i]), 0);
    }
    assert_int_equal(tagset_add(&s, SET_ALLOW, "bob"), 0);
    assert_int_equal(tagset_add(&s, SET_ALLOW, "bob"), 0); /* already there */
    assert_int_equal(nameset_len(&s), 9);
    assert_int_equal(tagset_range(&s, SET_ALLOW, &first), 1);
    assert_int_equal(tagset_range(&s, SET_STEALTH, &first), 0);
    assert_int_equal(tagset_range(&s, SET_IGNORE, &first), 4);
    assert_string_equal(nameset_at(&s, first) + 1, "a"); /* in order */
    assert_string_equal(nameset_at(&s, first + 3) + 1, "zed");
    assert_true(tagset_has(&s, SET_ALLOW, "bob") && !tagset_has(&s, SET_ALLOW, "amy"));
    assert_true(!tagset_has(&s, SET_STEALTH, "bob") && tagset_has(&s, SET_TALKED, "a"));
    /* an id too long for a Yahoo id is in no set and cannot be added */
    const char *longid = "abcdefghijklmnopqrstuvwxyz0123456789";
    assert_int_equal(tagset_add(&s, SET_IGNORE, longid), -1);
    assert_false(tagset_has(&s, SET_IGNORE, longid));
    tagset_del(&s, SET_IGNORE, longid);
    tagset_clear(&s, SET_IGNORE);
    assert_int_equal(tagset_range(&s, SET_IGNORE, &first), 0);
    assert_int_equal(nameset_len(&s), 5);
    assert_true(tagset_has(&s, SET_TALKED, "zed") && tagset_has(&s, SET_ALLOW, "bob"));
    tagset_del(&s, SET_ALLOW, "bob");
    tagset_clear(&s, SET_TALKED);
    assert_null(s.b); /* the last entry gone: nothing allocated */
}

static void test_record_round_trips_without_a_list(void **state)
{
    (void)state;
    struct conn c;
    fake_conn(&c);
    c.invisible = 1;
    c.pres_seq = 0x01020304;
    c.status_msg = "out";
    assert_int_equal(tagset_add(&c.sets, SET_ALLOW, "alice"), 0);
    assert_int_equal(tagset_add(&c.sets, SET_STEALTH, "bob"), 0);
    assert_int_equal(tagset_add(&c.sets, SET_IGNORE, "carol"), 0);
    assert_int_equal(tagset_add(&c.sets, SET_TALKED, "dave"), 0);
    assert_int_equal(tagset_add(&c.sets, SET_TALKED, "alice"), 0);
    struct wire_buf b = {0};
    assert_int_equal(wire_put_record(&b, &c, "node1", 7, 42), 0);
    /* no watch-list field (tag 24/25) anywhere in it: walk the fields */
    for (size_t o = 0; o < b.len;) {
        assert_true(b.p[o] != 24 && b.p[o] != 25);
        o += 3 + ((size_t)b.p[o + 1] << 8 | b.p[o + 2]);
    }
    struct wire_record r;
    assert_int_equal(wire_get_record(b.p, b.len, &r), 0);
    assert_string_equal(r.node, "node1");
    assert_int_equal(r.epoch, 7);
    assert_int_equal(r.seq, 42);
    assert_int_equal(r.sid, 0x1234);
    assert_int_equal(r.status, 99);
    assert_int_equal(r.invisible, 1);
    assert_int_equal(r.pres_seq, 0x01020304);
    assert_int_equal(r.has_msg, 1);
    assert_string_equal(r.status_msg, "out");
    assert_true(tagset_has(&r.sets, SET_ALLOW, "alice") && tagset_has(&r.sets, SET_STEALTH, "bob"));
    assert_true(tagset_has(&r.sets, SET_IGNORE, "carol") && tagset_has(&r.sets, SET_TALKED, "dave"));
    assert_true(tagset_has(&r.sets, SET_TALKED, "alice") && !tagset_has(&r.sets, SET_IGNORE, "alice"));
    assert_int_equal(nameset_len(&r.sets), 5);
    wire_record_free(&r);
    wire_buf_free(&b);
    nameset_free(&c.sets);
}

static void test_older_node_list_skipped(void **state)
{
    (void)state;
    struct conn c;
    fake_conn(&c);
    struct wire_buf b = {0};
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 2), 0);
    size_t plain = b.len;
    /* what a node before this change appended: watched ids (tag 24) and the "more" flag (tag 25) */
    for (int i = 0; i < 1000; i++) {
        char id[NAME_MAX_LEN + 1];
        int n = snprintf(id, sizeof id, "buddy%027d", i);
        put_tlv(&b, 24, id, (uint16_t)n);
    }
    put_tlv(&b, 25, "\1", 1);
    struct wire_record r;
    assert_int_equal(wire_get_record(b.p, b.len, &r), 0);
    assert_int_equal(r.sid, 0x1234);
    assert_int_equal(r.status, 99);
    assert_int_equal(r.pres_seq, 0); /* an older node sends no counter */
    wire_record_free(&r);
    assert_true(plain < 200); /* a plain record is small: it went out on every status change */
    wire_buf_free(&b);
}

static void test_bad_fields_refused(void **state)
{
    (void)state;
    struct conn c;
    fake_conn(&c);
    struct wire_buf b = {0};
    assert_int_equal(wire_put_record(&b, &c, "node1", 1, 2), 0);
    size_t base = b.len;
    /* a presence counter of the wrong width, a field longer than the record, a truncated field head */
    static const uint8_t bad[][8] = {{26, 0, 2, 1, 1}, {26, 0, 9, 1}, {26, 0}};
    static const size_t len[] = {5, 4, 2};
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        b.len = base;
        assert_int_equal(wire_put(&b, bad[i], len[i]), 0);
        struct wire_record r;
        assert_int_equal(wire_get_record(b.p, b.len, &r), -1);
        assert_int_equal(r.sid, 0); /* left empty */
        assert_int_equal(nameset_len(&r.sets), 0);
    }
    wire_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tagsets),
        cmocka_unit_test(test_record_round_trips_without_a_list),
        cmocka_unit_test(test_older_node_list_skipped),
        cmocka_unit_test(test_bad_fields_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
