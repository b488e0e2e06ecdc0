/* The conference state that nodes of a cluster send each other (C frames, server/cluster/wire.c and
 * groups.c): it round-trips slot for slot, and whatever a node could not have written is refused whole;
 * a node's replica (conf_apply) keeps the same winner of two changes made at once as every other node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "pager_fake.h"
#include "wire.h"

/* A full conference: 64 slots, every third one free, a few shown bits. */
static void full_snap(struct conf_snap *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->room, sizeof s->room, "alice-2 \xc3\xa9t\xc3\xa9");
    s->version = 0x0102030405060708ull;
    s->nslots = CONF_MAX_PARTS;
    for (uint32_t i = 0; i < s->nslots; i++) {
        if (i % 3 == 2) continue;
        snprintf(s->parts[i].name, sizeof s->parts[i].name, "user%02u", i);
        s->parts[i].joined = i % 2;
        s->parts[i].shown = (uint64_t)1 << (63 - i) | 1;
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    static struct conf_snap s, t;
    full_snap(&s);
    struct wire_buf b = {0};
    assert_int_equal(wire_put_conf(&b, &s), 0);
    assert_int_equal(wire_get_conf(b.p, b.len, &t), 0);
    assert_string_equal(t.room, s.room);
    assert_true(t.version == s.version);
    assert_int_equal(t.nslots, s.nslots);
    for (uint32_t i = 0; i < s.nslots; i++) {
        assert_string_equal(t.parts[i].name, s.parts[i].name);
        assert_int_equal(t.parts[i].joined, s.parts[i].joined);
        assert_true(t.parts[i].shown == s.parts[i].shown);
    }
    /* every shorter prefix is refused, and so is a byte more */
    for (size_t n = 0; n < b.len; n++) assert_int_equal(wire_get_conf(b.p, n, &t), -1);
    assert_int_equal(wire_put(&b, "x", 1), 0);
    assert_int_equal(wire_get_conf(b.p, b.len, &t), -1);
    wire_buf_free(&b);
    /* the end of a conference: no slots */
    s.nslots = 0;
    assert_int_equal(wire_put_conf(&b, &s), 0);
    assert_int_equal(wire_get_conf(b.p, b.len, &t), 0);
    assert_int_equal(t.nslots, 0);
    wire_buf_free(&b);
}

/* Encodes s with one thing changed by bad() after encoding a good one: the decoder must refuse it. */
static void assert_refused(const struct conf_snap *s)
{
    static struct conf_snap t;
    struct wire_buf b = {0};
    if (wire_put_conf(&b, s) == 0) assert_int_equal(wire_get_conf(b.p, b.len, &t), -1);
    wire_buf_free(&b);
}

static void test_refusals(void **state)
{
    (void)state;
    static struct conf_snap s;
    full_snap(&s);
    snprintf(s.parts[1].name, sizeof s.parts[1].name, "%s", s.parts[0].name); /* a participant twice */
    assert_refused(&s);
    full_snap(&s);
    s.nslots = 3;
    s.parts[0].shown = (uint64_t)1 << 3; /* revealed to a slot that does not exist */
    assert_refused(&s);
    full_snap(&s);
    s.parts[2].joined = 1; /* a free slot with flags */
    assert_refused(&s);
    full_snap(&s);
    s.parts[0].joined = 2;
    assert_refused(&s);
    full_snap(&s);
    snprintf(s.parts[0].name, sizeof s.parts[0].name, "Alice"); /* not normalised: no node wrote it */
    assert_refused(&s);
    full_snap(&s);
    snprintf(s.room, sizeof s.room, "a\x01"); /* control byte in the room name */
    assert_refused(&s);
    full_snap(&s);
    s.room[0] = 0; /* no room name: not even encoded */
    struct wire_buf b = {0};
    assert_int_equal(wire_put_conf(&b, &s), -1);
    assert_int_equal(b.len, 0);
    full_snap(&s);
    s.nslots = CONF_MAX_PARTS + 1;
    assert_int_equal(wire_put_conf(&b, &s), -1);
    /* more slots than a conference has, written by hand */
    uint8_t raw[1 + 1 + 8 + 1] = {1, 'r', 0, 0, 0, 0, 0, 0, 0, 1, CONF_MAX_PARTS + 1};
    static struct conf_snap t;
    assert_int_equal(wire_get_conf(raw, sizeof raw, &t), -1);
    wire_buf_free(&b);
}

/* C and R frames travel in a batch like every other frame. */
static void test_frames_in_a_batch(void **state)
{
    (void)state;
    struct wire_buf b = {0};
    assert_int_equal(wire_put_header(&b, "node1", 7), 0);
    struct wire_frame f = {WIRE_CONF, 0, "alice", 0, (const uint8_t *)"x", 1};
    assert_int_equal(wire_put_frame(&b, &f), 0);
    struct wire_frame g = {WIRE_ROOM, 1, "bob", 0, (const uint8_t *)"Linux", 5};
    assert_int_equal(wire_put_frame(&b, &g), 0);
    char node[WIRE_NODE_MAX + 1];
    int64_t epoch;
    size_t off;
    struct wire_frame r;
    assert_int_equal(wire_get_header(b.p, b.len, node, &epoch, &off), 0);
    assert_int_equal(wire_next(b.p, b.len, &off, &r), 1);
    assert_int_equal(r.type, WIRE_CONF);
    assert_string_equal(r.user, "alice");
    assert_int_equal(wire_next(b.p, b.len, &off, &r), 1);
    assert_int_equal(r.type, WIRE_ROOM);
    assert_int_equal(r.flag, 1);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, "Linux", 5);
    assert_int_equal(wire_next(b.p, b.len, &off, &r), 0);
    wire_buf_free(&b);
}

/* What this node published (the cluster's hook, srv->groups). */
static struct conf_snap published;
static int npublished;
static void hook_conf(struct server *srv, const struct conf_snap *s, const char *actor)
{
    (void)srv;
    (void)actor;
    published = *s;
    npublished++;
}
static void hook_chat(struct server *srv, int op, const char *user, const char *room, size_t len)
{
    (void)srv, (void)op, (void)user, (void)room, (void)len;
}
static const struct group_hooks hooks = {"node1", hook_conf, hook_chat};

static void snap(struct conf_snap *s, uint64_t version, const char *joined, const char *invited)
{
    memset(s, 0, sizeof *s);
    snprintf(s->room, sizeof s->room, "r");
    s->version = version;
    s->nslots = invited ? 2 : 1;
    snprintf(s->parts[0].name, sizeof s->parts[0].name, "%s", joined);
    s->parts[0].joined = 1;
    if (invited) snprintf(s->parts[1].name, sizeof s->parts[1].name, "%s", invited);
}

/* bob (a session here) answers 0x19 to conference r: 1 when this node took it (it published the join). */
static int bob_joins(struct fake_conn *bob)
{
    int before = npublished;
    fake_send(bob, YMSG_SVC_CONFLOGON, 0, "1", "bob", "57", "r", NULL);
    fake_drain(bob);
    return npublished > before;
}

static void test_apply_versions(void **state)
{
    (void)state;
    char dir[] = "/tmp/ymsgd-groups-XXXXXX";
    struct server *srv = fake_server_tmp(dir);
    assert_non_null(srv);
    srv->groups = &hooks;
    struct fake_conn *bob = fake_login(srv, "bob");
    struct conf_snap s;
    snap(&s, 1, "alice", "bob"); /* node0: alice (there) invites bob (here) */
    conf_apply(srv, &s, "node0");
    assert_int_equal(conf_count(srv), 1);
    assert_int_equal(bob_joins(bob), 1); /* the replica has the invitation: the join is taken here */
    assert_true(published.version == 2 && published.parts[1].joined == 1);
    /* node2 changed version 1 at the same time (bob's invitation dropped): node2 > node1, it wins here
     * as on every node; bob's join is lost and a new 0x19 is "not invited" */
    snap(&s, 2, "alice", NULL);
    conf_apply(srv, &s, "node2");
    assert_int_equal(bob_joins(bob), 0);
    /* ... while node0's version 2 (node0 < node2) and anything older change nothing */
    snap(&s, 2, "alice", "bob");
    conf_apply(srv, &s, "node0");
    snap(&s, 1, "alice", "bob");
    conf_apply(srv, &s, "node3");
    assert_int_equal(bob_joins(bob), 0);
    /* an announce only fills a gap: this node has r, so it stays as it is */
    snap(&s, 9, "alice", "bob");
    s.announce = 1;
    conf_apply(srv, &s, "node0");
    assert_int_equal(bob_joins(bob), 0);
    /* a newer change invites bob again; his join goes out as version 4 */
    snap(&s, 3, "alice", "bob");
    conf_apply(srv, &s, "node0");
    assert_int_equal(bob_joins(bob), 1);
    assert_true(published.version == 4);
    /* an older end is ignored, a newer one ends it; a state with nobody joined is an end too */
    snap(&s, 4, "alice", NULL);
    s.nslots = 0;
    conf_apply(srv, &s, "node0");
    assert_int_equal(conf_count(srv), 1);
    s.version = 5;
    conf_apply(srv, &s, "node0");
    assert_int_equal(conf_count(srv), 0);
    snap(&s, 1, "alice", "bob");
    s.parts[0].joined = 0;
    conf_apply(srv, &s, "node0");
    assert_int_equal(conf_count(srv), 0);
    srv->groups = NULL;
    fake_conn_free(bob);
    assert_int_equal(fake_server_rm(srv, dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_frames_in_a_batch),
        cmocka_unit_test(test_apply_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
