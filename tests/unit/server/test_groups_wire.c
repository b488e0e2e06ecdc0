/* The conference state that nodes of a cluster send each other (C frames, server/cluster/wire.c and
 * groups.c): it round-trips entry for entry, and whatever a node could not have written is refused whole;
 * replicas merged participant by participant (conf_apply) converge: two changes of one conference made
 * at once on two nodes both stay, whatever order each node receives them in (docs/CONFERENCES.md §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "pager_fake.h"
#include "ratelimit.h"
#include "wire.h"

static void stamp(struct conf_stamp *st, uint64_t ver, const char *node)
{
    st->ver = ver;
    snprintf(st->node, sizeof st->node, "%s", node);
}

/* A full conference: 64 present (half joined, a few shown bits), then CONF_GONE_MAX departed. */
static void full_snap(struct conf_snap *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->room, sizeof s->room, "alice-2 \xc3\xa9t\xc3\xa9");
    s->version = 0x0102030405060708ull;
    s->nparts = CONF_MAX_PARTS + CONF_GONE_MAX;
    for (uint32_t i = 0; i < s->nparts; i++) {
        struct conf_snap_part *q = &s->parts[i];
        snprintf(q->name, sizeof q->name, "user%03u", i);
        stamp(&q->st, 100 + i, i % 2 ? "node-b" : "node-a");
        if (i >= CONF_MAX_PARTS) {
            q->state = CONF_GONE;
            continue;
        }
        q->state = i % 2 ? CONF_JOINED : CONF_INVITED;
        stamp(&q->added, 50 + i, "node-c");
        q->shown = (uint64_t)1 << (63 - i) | 1;
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
    assert_memory_equal(&s, &t, sizeof s);
    /* every shorter prefix is refused, and so is a byte more */
    for (size_t n = 0; n < b.len; n++) assert_int_equal(wire_get_conf(b.p, n, &t), -1);
    assert_int_equal(wire_put(&b, "x", 1), 0);
    assert_int_equal(wire_get_conf(b.p, b.len, &t), -1);
    wire_buf_free(&b);
    /* only departed (the end of a conference) */
    memmove(&s.parts[0], &s.parts[CONF_MAX_PARTS], CONF_GONE_MAX * sizeof s.parts[0]);
    memset(&s.parts[CONF_GONE_MAX], 0, CONF_MAX_PARTS * sizeof s.parts[0]);
    s.nparts = CONF_GONE_MAX;
    assert_int_equal(wire_put_conf(&b, &s), 0);
    assert_int_equal(wire_get_conf(b.p, b.len, &t), 0);
    assert_memory_equal(&s, &t, sizeof s);
    wire_buf_free(&b);
}

/* Encodes s (changed after a good one was built): the decoder must refuse it. */
static void assert_refused(const struct conf_snap *s)
{
    static struct conf_snap t;
    struct wire_buf b = {0};
    if (wire_put_conf(&b, s) == 0) assert_int_equal(wire_get_conf(b.p, b.len, &t), -1);
    wire_buf_free(&b);
}

/* s is not even encoded (and nothing is left in the buffer). */
static void assert_put_refused(const struct conf_snap *s)
{
    struct wire_buf b = {0};
    assert_int_equal(wire_put_conf(&b, s), -1);
    assert_int_equal(b.len, 0);
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
    snprintf(s.parts[CONF_MAX_PARTS].name, sizeof s.parts[0].name, "%s", s.parts[0].name); /* present and gone */
    assert_refused(&s);
    full_snap(&s);
    s.nparts = 3;
    s.parts[0].shown = (uint64_t)1 << 3; /* revealed to an entry that does not exist */
    assert_refused(&s);
    full_snap(&s);
    s.parts[CONF_MAX_PARTS - 1].state = CONF_GONE; /* a present one after a departed one */
    s.parts[CONF_MAX_PARTS - 2].state = CONF_GONE;
    s.parts[CONF_MAX_PARTS - 2].shown = 0;
    assert_refused(&s);
    full_snap(&s);
    s.nparts = 2;
    s.parts[1].state = CONF_GONE; /* entry 0 revealed to entry 1, which left */
    s.parts[0].shown = 2;
    assert_refused(&s);
    full_snap(&s);
    s.parts[0].state = 3;
    assert_put_refused(&s);
    full_snap(&s);
    s.parts[0].st.ver = s.version + 1; /* a stamp later than the conference's clock */
    assert_refused(&s);
    full_snap(&s);
    s.parts[0].added.ver = s.parts[0].st.ver + 1; /* added after its last change */
    assert_refused(&s);
    full_snap(&s);
    s.parts[0].st.node[0] = 0; /* a stamp without its node: not even encoded */
    assert_put_refused(&s);
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
    s.nparts = CONF_MAX_PARTS + CONF_GONE_MAX + 1;
    assert_int_equal(wire_put_conf(&b, &s), -1);
    /* 65 present: the first 64 of a full one, and one more made from the first departed */
    full_snap(&s);
    s.parts[CONF_MAX_PARTS] = s.parts[CONF_MAX_PARTS - 2];
    snprintf(s.parts[CONF_MAX_PARTS].name, sizeof s.parts[0].name, "extra");
    s.parts[CONF_MAX_PARTS].shown = 0;
    assert_refused(&s);
    /* more departed than a conference keeps */
    full_snap(&s);
    s.parts[CONF_MAX_PARTS - 1].state = CONF_GONE;
    memset(&s.parts[CONF_MAX_PARTS - 1].added, 0, sizeof s.parts[0].added);
    s.parts[CONF_MAX_PARTS - 1].shown = 0;
    for (uint32_t i = 0; i < CONF_MAX_PARTS - 1; i++) s.parts[i].shown &= ~((uint64_t)1 << 63);
    assert_refused(&s);
    /* more entries than a conference has, written by hand */
    uint8_t raw[1 + 1 + 8 + 1] = {1, 'r', 0, 0, 0, 0, 0, 0, 0, 1, CONF_MAX_PARTS + CONF_GONE_MAX + 1};
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

/* Two nodes in one process: each a fake server whose hook keeps what it published last. */
struct node {
    struct group_hooks hooks; /* first: srv->groups points here */
    struct server *srv;
    char dir[32];
    struct conf_snap last; /* its last C frame */
    int n;                 /* frames published */
};
static void hook_conf(struct server *srv, const struct conf_snap *s, const char *actor)
{
    (void)actor;
    struct node *nd = (struct node *)srv->groups;
    nd->last = *s;
    nd->n++;
}
static void hook_chat(struct server *srv, int op, const char *user, const char *room, size_t len)
{
    (void)srv, (void)op, (void)user, (void)room, (void)len;
}

static void node_up(struct node *nd, const char *name)
{
    memset(nd, 0, sizeof *nd);
    snprintf(nd->dir, sizeof nd->dir, "/tmp/ymsgd-groups-XXXXXX");
    nd->srv = fake_server_tmp(nd->dir);
    assert_non_null(nd->srv);
    nd->hooks.node = name;
    nd->hooks.conf_changed = hook_conf;
    nd->hooks.chat_changed = hook_chat;
    nd->srv->groups = &nd->hooks;
}

static void node_down(struct node *nd)
{
    nd->srv->groups = NULL;
    assert_int_equal(fake_server_rm(nd->srv, nd->dir), 0);
}

/* What a packet of c published (it must publish). */
static const struct conf_snap *sent(struct node *nd, struct fake_conn *c, uint16_t service, const char *k, const char *v)
{
    int before = nd->n;
    fake_send(c, service, 0, "1", c->c.user, "57", "r", k, v, NULL);
    fake_drain(c);
    assert_true(nd->n > before);
    static struct conf_snap copies[8];
    static int next;
    struct conf_snap *s = &copies[next++ % 8];
    *s = nd->last;
    return s;
}

/* The two replicas hold the same conference: the same participants, states, stamps, incarnations and
 * reveal bits (compared by name: slot numbers are each node's own), the same departed. */
static void assert_same(struct node *a, struct node *b)
{
    static struct conf_snap x, y;
    assert_int_equal(conf_snapshot(a->srv, "r", &x), 0);
    assert_int_equal(conf_snapshot(b->srv, "r", &y), 0);
    assert_int_equal(x.nparts, y.nparts);
    assert_true(x.version == y.version);
    for (uint32_t i = 0; i < x.nparts; i++) {
        uint32_t j = 0;
        while (j < y.nparts && strcmp(x.parts[i].name, y.parts[j].name) != 0) j++;
        assert_true(j < y.nparts);
        assert_int_equal(x.parts[i].state, y.parts[j].state);
        assert_int_equal(conf_stamp_cmp(&x.parts[i].st, &y.parts[j].st), 0);
        assert_int_equal(conf_stamp_cmp(&x.parts[i].added, &y.parts[j].added), 0);
        for (uint32_t k = 0; x.parts[i].state != CONF_GONE && k < x.nparts; k++) {
            uint32_t l = 0;
            while (l < y.nparts && strcmp(x.parts[k].name, y.parts[l].name) != 0) l++;
            if (x.parts[k].state == CONF_GONE) continue;
            assert_int_equal(x.parts[i].shown >> k & 1, y.parts[j].shown >> l & 1);
        }
    }
    assert_int_equal(conf_count(a->srv), conf_count(b->srv));
}

static int state_of(struct node *nd, const char *name)
{
    static struct conf_snap x;
    if (conf_snapshot(nd->srv, "r", &x) < 0) return -1;
    for (uint32_t i = 0; i < x.nparts; i++)
        if (!strcmp(x.parts[i].name, name)) return x.parts[i].state;
    return -1;
}

/* Was `who` revealed to `to` on nd? */
static int shown_to(struct node *nd, const char *who, const char *to)
{
    static struct conf_snap x;
    assert_int_equal(conf_snapshot(nd->srv, "r", &x), 0);
    uint32_t i = 0, k = 0;
    while (i < x.nparts && strcmp(x.parts[i].name, who)) i++;
    while (k < x.nparts && strcmp(x.parts[k].name, to)) k++;
    assert_true(i < x.nparts && k < x.nparts);
    return (int)(x.parts[i].shown >> k & 1);
}

/* Changes made at once on two nodes (each before hearing of the other's), received in either order,
 * twice, or after newer ones: both stay, and the two replicas end equal. */
static void test_concurrent_changes_converge(void **state)
{
    (void)state;
    static struct node a, b;
    node_up(&a, "node-a");
    node_up(&b, "node-b");
    struct fake_conn *alice = fake_login(a.srv, "alice");
    struct fake_conn *bob = fake_login(b.srv, "bob");
    struct fake_conn *carol = fake_login(b.srv, "carol");
    /* alice (node a) opens r inviting bob and carol (sessions of node b) */
    const struct conf_snap *p0 = sent(&a, alice, YMSG_SVC_CONFINVITE, "52", "bob");
    conf_apply(b.srv, p0, "node-a");
    conf_apply(b.srv, sent(&a, alice, YMSG_SVC_CONFADDINVITE, "51", "carol"), "node-a");
    assert_same(&a, &b);
    /* bob joins on b while alice invites dave on a: the join and the invitation both stay */
    const struct conf_snap *pb = sent(&b, bob, YMSG_SVC_CONFLOGON, NULL, NULL);
    const struct conf_snap *pa = sent(&a, alice, YMSG_SVC_CONFADDINVITE, "51", "dave");
    conf_apply(a.srv, pb, "node-b");
    conf_apply(b.srv, pa, "node-a");
    assert_int_equal(state_of(&a, "bob"), CONF_JOINED);
    assert_int_equal(state_of(&b, "dave"), CONF_INVITED);
    assert_same(&a, &b);
    assert_int_equal(shown_to(&a, "bob", "alice"), 1); /* the join revealed bob to alice, on both */
    assert_int_equal(shown_to(&b, "alice", "dave"), 1); /* the invitation revealed alice to dave */
    /* the copies again, and the first one: nothing changes (idempotent; older stamps lose) */
    conf_apply(a.srv, pb, "node-b");
    conf_apply(b.srv, pa, "node-a");
    conf_apply(a.srv, p0, "node-a");
    conf_apply(b.srv, p0, "node-a");
    assert_same(&a, &b);
    assert_int_equal(state_of(&b, "bob"), CONF_JOINED);
    /* bob leaves on b while alice invites erin on a: bob stays gone (an older copy cannot bring him
     * back), erin stays invited */
    pb = sent(&b, bob, YMSG_SVC_CONFLOGOFF, NULL, NULL);
    pa = sent(&a, alice, YMSG_SVC_CONFADDINVITE, "51", "erin");
    conf_apply(b.srv, pa, "node-a");
    conf_apply(a.srv, pb, "node-b");
    conf_apply(a.srv, p0, "node-a");
    assert_int_equal(state_of(&a, "bob"), CONF_GONE);
    assert_int_equal(state_of(&b, "erin"), CONF_INVITED);
    assert_same(&a, &b);
    /* carol declines on b while alice invites her again on a (she is already invited: not a change of
     * her state): the decline wins on both */
    pb = sent(&b, carol, YMSG_SVC_CONFDECLINE, NULL, NULL);
    pa = sent(&a, alice, YMSG_SVC_CONFADDINVITE, "51", "carol");
    conf_apply(b.srv, pa, "node-a");
    conf_apply(a.srv, pb, "node-b");
    assert_int_equal(state_of(&a, "carol"), CONF_GONE);
    assert_same(&a, &b);
    /* alice invites carol again: a newer invitation, a new incarnation, her old reveal bits gone */
    conf_apply(b.srv, sent(&a, alice, YMSG_SVC_CONFADDINVITE, "51", "carol"), "node-a");
    assert_int_equal(state_of(&b, "carol"), CONF_INVITED);
    assert_same(&a, &b);
    /* the last member (alice, on a) leaves while carol accepts on b: the acceptance wins over the
     * lapse of her invitation; r goes on with carol on both nodes */
    pa = sent(&a, alice, YMSG_SVC_CONFLOGOFF, NULL, NULL);
    assert_int_equal(conf_count(a.srv), 0);
    pb = sent(&b, carol, YMSG_SVC_CONFLOGON, NULL, NULL);
    conf_apply(a.srv, pb, "node-b");
    conf_apply(b.srv, pa, "node-a");
    assert_int_equal(conf_count(a.srv), 1);
    assert_int_equal(state_of(&a, "carol"), CONF_JOINED);
    assert_int_equal(state_of(&a, "alice"), CONF_GONE);
    assert_int_equal(state_of(&a, "dave"), CONF_GONE);
    assert_same(&a, &b);
    /* carol, the last member, leaves: it ends on both, and a late copy from before does not open it */
    conf_apply(a.srv, sent(&b, carol, YMSG_SVC_CONFLOGOFF, NULL, NULL), "node-b");
    conf_apply(a.srv, pb, "node-b");
    conf_apply(b.srv, p0, "node-a");
    assert_int_equal(conf_count(a.srv), 0);
    assert_int_equal(conf_count(b.srv), 0);
    assert_same(&a, &b);
    /* an announce of a conference this node has open changes nothing; where it ended, it is merged */
    fake_conn_free(alice);
    fake_conn_free(bob);
    fake_conn_free(carol);
    node_down(&a);
    node_down(&b);
}

/* Both members leave at once, each on its node: both nodes end the conference (a state kept whole would
 * keep one of them in it on every node). */
static void test_two_last_leaves_end_it(void **state)
{
    (void)state;
    static struct node a, b;
    node_up(&a, "node-a");
    node_up(&b, "node-b");
    struct fake_conn *alice = fake_login(a.srv, "alice");
    struct fake_conn *bob = fake_login(b.srv, "bob");
    conf_apply(b.srv, sent(&a, alice, YMSG_SVC_CONFINVITE, "52", "bob"), "node-a");
    conf_apply(a.srv, sent(&b, bob, YMSG_SVC_CONFLOGON, NULL, NULL), "node-b");
    assert_same(&a, &b);
    const struct conf_snap *pa = sent(&a, alice, YMSG_SVC_CONFLOGOFF, NULL, NULL);
    const struct conf_snap *pb = sent(&b, bob, YMSG_SVC_CONFLOGOFF, NULL, NULL);
    conf_apply(a.srv, pb, "node-b");
    conf_apply(b.srv, pa, "node-a");
    assert_int_equal(conf_count(a.srv), 0);
    assert_int_equal(conf_count(b.srv), 0);
    assert_same(&a, &b);
    /* a new conference of the same name afterwards: its stamps are later than the departed's */
    conf_apply(b.srv, sent(&a, alice, YMSG_SVC_CONFINVITE, "52", "bob"), "node-a");
    assert_int_equal(state_of(&b, "bob"), CONF_INVITED);
    assert_int_equal(state_of(&b, "alice"), CONF_JOINED);
    assert_int_equal(conf_count(b.srv), 1);
    assert_same(&a, &b);
    /* what a node remembers is forgotten after cluster_node_timeout_ms: bob's departure from the open r,
     * then the ended r itself */
    conf_apply(a.srv, sent(&b, bob, YMSG_SVC_CONFDECLINE, NULL, NULL), "node-b");
    assert_int_equal(state_of(&a, "bob"), CONF_GONE);
    long keep = a.srv->cfg->cluster_node_timeout_ms;
    conf_sweep(a.srv);
    assert_int_equal(state_of(&a, "bob"), CONF_GONE); /* not yet */
    a.srv->cfg->cluster_node_timeout_ms = 0;
    double t0 = rl_now();
    while (rl_now() == t0) {
    }
    conf_sweep(a.srv);
    assert_int_equal(state_of(&a, "bob"), -1);
    sent(&a, alice, YMSG_SVC_CONFLOGOFF, NULL, NULL);
    assert_int_equal(conf_count(a.srv), 0);
    assert_int_equal(state_of(&a, "alice"), CONF_GONE); /* ended, remembered */
    t0 = rl_now();
    while (rl_now() == t0) {
    }
    conf_sweep(a.srv);
    assert_int_equal(state_of(&a, "alice"), -1); /* forgotten */
    a.srv->cfg->cluster_node_timeout_ms = keep;
    fake_conn_free(alice);
    fake_conn_free(bob);
    node_down(&a);
    node_down(&b);
}

/* An announce (a node that lacks the conference) is merged only where it is not open. */
static void test_announce_fills_a_gap_only(void **state)
{
    (void)state;
    static struct node a, b;
    node_up(&a, "node-a");
    node_up(&b, "node-b");
    struct fake_conn *alice = fake_login(a.srv, "alice");
    static struct conf_snap s;
    s = *sent(&a, alice, YMSG_SVC_CONFINVITE, "52", "bob");
    s.announce = 1;
    conf_apply(b.srv, &s, "node-a");
    assert_int_equal(conf_count(b.srv), 1);
    s.parts[1].state = CONF_JOINED; /* a later state, but announced: b has r open, it is not merged */
    s.parts[1].st.ver = s.version = s.version + 1;
    conf_apply(b.srv, &s, "node-a");
    assert_int_equal(state_of(&b, "bob"), CONF_INVITED);
    s.announce = 0; /* the same as a change: merged */
    conf_apply(b.srv, &s, "node-a");
    assert_int_equal(state_of(&b, "bob"), CONF_JOINED);
    fake_conn_free(alice);
    node_down(&a);
    node_down(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_frames_in_a_batch),
        cmocka_unit_test(test_concurrent_changes_converge),
        cmocka_unit_test(test_two_last_leaves_end_it),
        cmocka_unit_test(test_announce_fills_a_gap_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
