/* Pager handlers against a fake transport (pager_fake.h): the dispatch table, delivery, the session
 * registry, and slow-reader closes done by the reaper rather than inside a fan-out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buddy.h"
#include "delivery.h"
#include "dispatch.h"
#include "grow.h"
#include "login_ymsg.h"
#include "pager_fake.h"
#include "presence.h"
#include "sessions.h"

struct fixture {
    char dir[64];          /* temporary data directory */
    struct server *srv;    /* socket-less server */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ymsgd-pager-XXXXXX");
    if (!(f->srv = fake_server_tmp(f->dir))) return -1;
    fake_seed(f->srv, (const char *const[]){"alice", "bob", "carol", NULL});
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = fake_server_rm(f->srv, f->dir);
    free(f);
    return rc;
}

static const char *get(const struct ymsg_packet *p, uint32_t key, char *buf, size_t cap)
{
    return ymsg_get_str(p, key, buf, cap) >= 0 ? buf : NULL;
}

/* a and b are authorised buddies of each other. */
static void befriend(struct server *srv, const char *a, const char *b)
{
    assert_int_equal(srv->st->buddy_add(srv->st, a, b, "Friends", 0), STORE_OK);
    assert_int_equal(srv->st->buddy_add(srv->st, b, a, "Friends", 0), STORE_OK);
}

static void test_table_rows(void **state)
{
    (void)state;
    assert_string_equal(dispatch_lookup(YMSG_SVC_MESSAGE, CONN_ONLINE)->name, "message");
    assert_null(dispatch_lookup(YMSG_SVC_MESSAGE, CONN_NEW));          /* not before login */
    assert_string_equal(dispatch_lookup(YMSG_SVC_AUTH, CONN_NEW)->name, "auth");
    assert_string_equal(dispatch_lookup(YMSG_SVC_AUTHRESP, CONN_CHALLENGED)->name, "authresp");
    assert_null(dispatch_lookup(YMSG_SVC_AUTH, CONN_ONLINE));          /* one login per connection */
    assert_null(dispatch_lookup(YMSG_SVC_MESSAGE_ACK, CONN_ONLINE));   /* acks never relayed */
    assert_null(dispatch_lookup(YMSG_SVC_PEERTOPEER, CONN_ONLINE));    /* P2P never relayed */
    assert_null(dispatch_lookup(YMSG_SVC_KEEPALIVE, CONN_CLOSING));
    assert_true(dispatch_lookup(YMSG_SVC_PING, CONN_NEW)->handler != dispatch_lookup(YMSG_SVC_PING, CONN_ONLINE)->handler);
}

static void test_message_reaches_recipient_only(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *a = fake_login(f->srv, "alice"), *b = fake_login(f->srv, "bob");
    fake_send(a, YMSG_SVC_MESSAGE, 0x5A55AA56, "1", "mallory", "5", "bob", "14", "hi", NULL);
    struct ymsg_packet p;
    char v[64];
    assert_true(fake_next(b, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_MESSAGE);
    assert_string_equal(get(&p, YMSG_KEY_FROM, v, sizeof v), "alice");   /* never the client's 1 */
    assert_string_equal(get(&p, YMSG_KEY_MSG, v, sizeof v), "hi");
    assert_false(fake_next(b, &p));
    assert_false(fake_next(a, &p));
    fake_conn_free(a);
    fake_conn_free(b);
}

static void test_prelogin_drops_and_answers_keepalive(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *n = fake_conn_new(f->srv), *b = fake_login(f->srv, "bob");
    fake_send(n, YMSG_SVC_MESSAGE, 0, "1", "alice", "5", "bob", "14", "early", NULL);
    struct ymsg_packet p;
    assert_false(fake_next(b, &p));
    fake_send(n, YMSG_SVC_PING, 0, NULL);
    assert_true(fake_next(n, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_PING);
    assert_int_equal(p.hdr.length, 0);                    /* before login: an empty ack */
    fake_send(b, YMSG_SVC_PING, 0, NULL);
    assert_true(fake_next(b, &p));
    char v[16];
    assert_string_equal(get(&p, YMSG_KEY_PING_INTERVAL, v, sizeof v), "60");
    fake_conn_free(n);
    fake_conn_free(b);
}

/* A watcher that stops reading is found slow inside a presence fan-out: it is only marked there, every
 * other watcher still gets the change, and the reaper closes it afterwards (its own "went offline"
 * fan-out then runs on its own). */
static void test_slow_reader_closed_by_reaper_not_in_fanout(void **state)
{
    struct fixture *f = *state;
    befriend(f->srv, "alice", "bob");
    befriend(f->srv, "alice", "carol");
    struct fake_conn *a = fake_login(f->srv, "alice"), *b = fake_login(f->srv, "bob"),
                     *c = fake_login(f->srv, "carol");
    b->queued_extra = (size_t)f->srv->cfg->out_cap;     /* bob does not read */
    fake_send(a, YMSG_SVC_Y6_STATUS_UPDATE, 0, "10", "2", "47", "1", NULL);
    assert_true(b->c.slow);
    assert_false(b->closed);                             /* not inside alice's fan-out */
    assert_ptr_equal(sessions_get(f->srv, "bob"), &b->c);
    struct ymsg_packet p;
    assert_true(fake_next(c, &p));                       /* carol heard of alice's change */
    assert_int_equal(p.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    fake_drain(a);
    fake_send(a, YMSG_SVC_MESSAGE, 0x5A55AA56, "5", "bob", "14", "lost", NULL);
    fake_reap(f->srv);
    assert_true(b->closed);
    assert_false(b->close_flush);
    assert_null(sessions_get(f->srv, "bob"));
    char v[64];
    assert_true(fake_next(a, &p));                       /* now alice hears bob went offline */
    assert_int_equal(p.hdr.service, YMSG_SVC_LOGOFF);
    assert_string_equal(get(&p, YMSG_KEY_BUDDY, v, sizeof v), "bob");
    fake_conn_free(a);
    fake_conn_free(b);
    fake_conn_free(c);
}

static void test_long_online_list_continues_with_status_5(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *on[60];
    char name[16];
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof name, "user%02d", i);
        assert_int_equal(f->srv->st->user_add(f->srv->st, name, "x", NULL, NULL), STORE_OK);
        befriend(f->srv, "alice", name);
        on[i] = fake_login(f->srv, name);
    }
    struct fake_conn *a = fake_login(f->srv, "alice");
    fake_send(a, YMSG_SVC_USERSTAT, 0, NULL);
    struct ymsg_packet p;
    int packets = 0, entries = 0, last_status = -1;
    while (fake_next(a, &p)) {
        assert_int_equal(p.hdr.service, YMSG_SVC_STATUS_15);
        if (last_status >= 0) assert_int_equal(last_status, YMSG_PKT_CONTINUED);
        last_status = (int)p.hdr.status;
        assert_true(p.hdr.length < 1100);
        entries += (int)ymsg_count(&p, YMSG_KEY_BUDDY);
        packets++;
    }
    assert_true(packets > 1);
    assert_int_equal(last_status, YMSG_PKT_SERVERACK);
    assert_int_equal(entries, 60);
    for (int i = 0; i < 60; i++) fake_conn_free(on[i]);
    fake_conn_free(a);
}

static int g_allow;   /* reallocs the failing allocator still lets through */

static void *failing_realloc(void *p, size_t n)
{
    if (g_allow == 0) return NULL;
    g_allow--;
    return realloc(p, n);
}

/* Growing an array past its first size fails: the fan-out snapshot and the login list report it
 * (-1) instead of going on without the watchers or rows that did not fit. */
static void test_growth_failure_is_reported(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *on[40];
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "w%02d", i);
        assert_int_equal(f->srv->st->user_add(f->srv->st, name, "x", NULL, NULL), STORE_OK);
        befriend(f->srv, "alice", name);
        on[i] = fake_login(f->srv, name);
    }
    struct fake_conn *a = fake_login(f->srv, "alice");
    struct pres_snap s;
    assert_int_equal(pres_begin(f->srv, "alice", NULL, &s), 0);      /* the real allocator: all 40 */
    assert_int_equal(s.n, 40);
    pres_end(f->srv, &s, 0);

    grow_realloc = failing_realloc;
    g_allow = 1;                                                    /* the first 16, then no more */
    assert_int_equal(pres_begin(f->srv, "alice", NULL, &s), -1);
    assert_int_equal(s.n, 16);
    pres_end(f->srv, &s, 0);
    g_allow = 1;                                                    /* 32 rows fit, 41 do not */
    assert_int_equal(buddy_send_list(&a->c), -1);
    g_allow = 0;
    assert_int_equal(presence_send_online_list(&a->c), -1);
    grow_realloc = realloc;

    assert_int_equal(buddy_send_list(&a->c), 0);
    assert_int_equal(presence_send_online_list(&a->c), 0);
    for (int i = 0; i < 40; i++) fake_conn_free(on[i]);
    fake_conn_free(a);
}

/* A name set that cannot grow (the in-memory stealth and ignore sets can_see() reads) undoes the stored
 * change and says so: no 0xB9 ack, a failed 0x85 ack; nobody is left believing a hiding that is not. */
static void test_name_set_failure_is_undone_and_reported(void **state)
{
    struct fixture *f = *state;
    befriend(f->srv, "alice", "bob");
    struct fake_conn *a = fake_login(f->srv, "alice"), *b = fake_login(f->srv, "bob");
    struct ymsg_packet p;
    char v[16];
    int stealth = -1;
    grow_realloc = failing_realloc;
    g_allow = 0;
    fake_send(a, YMSG_SVC_STEALTH_PERM, 0, "1", "alice", "31", "1", "13", "2", "7", "bob", NULL);
    assert_false(fake_next(a, &p));                                 /* no ack */
    assert_false(fake_next(b, &p));                                 /* bob still sees alice */
    assert_int_equal(f->srv->st->buddy_get(f->srv->st, "alice", "bob", NULL, &stealth), STORE_OK);
    assert_int_equal(stealth, 0);                                   /* the stored flag was undone */
    fake_send(a, YMSG_SVC_IGNORECONTACT, 0, "1", "alice", "7", "carol", "13", "1", NULL);
    assert_true(fake_next(a, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_IGNORECONTACT);
    assert_string_not_equal(get(&p, YMSG_KEY_ERROR_CODE, v, sizeof v), "0");
    assert_int_equal(f->srv->st->ignore_check(f->srv->st, "alice", "carol"), 0);
    grow_realloc = realloc;
    fake_send(a, YMSG_SVC_STEALTH_PERM, 0, "1", "alice", "31", "1", "13", "2", "7", "bob", NULL);
    assert_true(fake_next(a, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_STEALTH_PERM);
    assert_true(fake_next(b, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_LOGOFF);               /* now hidden, as a sign-off */
    fake_conn_free(a);
    fake_conn_free(b);
}

/* Store calls that presence must no longer make per watcher (issue 12): any call fails the test. */
static int no_watchers(struct store *st, const char *buddy, store_name_cb cb, void *arg)
{
    (void)st, (void)buddy, (void)cb, (void)arg;
    fail_msg("watchers() queried in a presence fan-out");
    return STORE_ERR;
}

static int no_buddy_get(struct store *st, const char *owner, const char *buddy, int *pending, int *stealth)
{
    (void)st, (void)owner, (void)buddy, (void)pending, (void)stealth;
    fail_msg("buddy_get() queried in a presence fan-out");
    return STORE_ERR;
}

/* A status change of a user with 40 online watchers reaches all 40 from the watch index: no store query
 * (before: one watchers() query and one buddy_get() per watcher). */
static void test_fanout_uses_watch_index_not_store(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *on[40];
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "w%02d", i);
        assert_int_equal(f->srv->st->user_add(f->srv->st, name, "x", NULL, NULL), STORE_OK);
        befriend(f->srv, "alice", name);
        on[i] = fake_login(f->srv, name);
    }
    struct fake_conn *a = fake_login(f->srv, "alice");
    int (*watchers)(struct store *, const char *, store_name_cb, void *) = f->srv->st->watchers;
    int (*buddy_get)(struct store *, const char *, const char *, int *, int *) = f->srv->st->buddy_get;
    f->srv->st->watchers = no_watchers;
    f->srv->st->buddy_get = no_buddy_get;
    fake_send(a, YMSG_SVC_Y6_STATUS_UPDATE, 0, "10", "2", "47", "1", NULL);
    struct ymsg_packet p;
    char v[64];
    for (int i = 0; i < 40; i++) {
        assert_true(fake_next(on[i], &p));
        assert_int_equal(p.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
        assert_string_equal(get(&p, YMSG_KEY_BUDDY, v, sizeof v), "alice");
    }
    fake_conn_free(a); /* sign-off fan-out, also from the index */
    f->srv->st->watchers = watchers;
    f->srv->st->buddy_get = buddy_get;
    for (int i = 0; i < 40; i++) fake_conn_free(on[i]);
    assert_int_equal(f->srv->watch.len, 0); /* every session left the index */
}

/* The index follows the list: an accepted request makes the requester a watcher at once, a removal ends
 * it, and sessions leave it when they go. */
static void test_watch_index_follows_list_changes(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *a = fake_login(f->srv, "alice"), *b = fake_login(f->srv, "bob");
    struct ymsg_packet p;
    char v[64];
    assert_false(presence_watches(f->srv, "alice", "bob"));
    fake_send(a, YMSG_SVC_ADDBUDDY, 0, "1", "alice", "7", "bob", "65", "Friends", NULL);
    fake_drain(a);
    fake_drain(b);
    assert_false(presence_watches(f->srv, "alice", "bob"));     /* pending: not a watcher yet */
    fake_send(b, YMSG_SVC_AUTH_REQ_15, 0, "1", "bob", "5", "alice", "13", "1", NULL);
    assert_true(presence_watches(f->srv, "alice", "bob"));
    int saw_online = 0;
    while (fake_next(a, &p)) saw_online |= p.hdr.service == YMSG_SVC_STATUS_15;
    assert_true(saw_online);                                     /* alice learns bob is online */
    fake_send(b, YMSG_SVC_Y6_STATUS_UPDATE, 0, "10", "2", "47", "1", NULL);
    assert_true(fake_next(a, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    fake_send(a, YMSG_SVC_REMBUDDY, 0, "1", "alice", "7", "bob", "65", "Friends", NULL);
    fake_drain(a);
    assert_false(presence_watches(f->srv, "alice", "bob"));
    fake_send(b, YMSG_SVC_Y6_STATUS_UPDATE, 0, "10", "0", NULL);
    assert_false(fake_next(a, &p));                              /* no longer told */
    /* a session that re-reads its list (a second buddy_send_list) keeps one entry per buddy */
    befriend(f->srv, "alice", "carol");
    struct fake_conn *c = fake_login(f->srv, "carol");
    assert_int_equal(buddy_send_list(&a->c), 0);
    assert_int_equal(buddy_send_list(&a->c), 0);
    assert_int_equal(a->c.n_watching, 1);
    assert_true(presence_watches(f->srv, "alice", "carol"));
    assert_true(presence_watches(f->srv, "carol", "alice"));
    fake_conn_free(c);
    assert_false(presence_watches(f->srv, "carol", "alice"));
    fake_conn_free(a);
    fake_conn_free(b);
    assert_int_equal(f->srv->watch.len, 0);
    (void)v;
}

/* `ymsgd user del bob` then the control socket's revoke: bob's watchers stop watching bob (their rows
 * are gone), so a new account named bob is not shown to them; a revoke after `user passwd` keeps them. */
static void test_deleted_account_leaves_watch_index(void **state)
{
    struct fixture *f = *state;
    befriend(f->srv, "alice", "bob");
    befriend(f->srv, "carol", "bob");
    struct fake_conn *a = fake_login(f->srv, "alice"), *c = fake_login(f->srv, "carol");
    assert_int_equal(login_revoke(f->srv, "bob", 0), 0);            /* passwd: bob offline, still watched */
    assert_non_null(hmap_get(&f->srv->watch, "bob"));
    assert_int_equal(f->srv->st->user_del(f->srv->st, "bob"), STORE_OK);
    assert_int_equal(login_revoke(f->srv, "bob", 1), 0);           /* del: the control socket asked the store */
    assert_null(hmap_get(&f->srv->watch, "bob"));
    assert_int_equal(a->c.n_watching, 0);
    assert_int_equal(c->c.n_watching, 0);
    assert_int_equal(f->srv->st->user_add(f->srv->st, "bob", "x", NULL, NULL), STORE_OK);
    struct fake_conn *b = fake_login(f->srv, "bob");
    struct pres_snap s;
    assert_int_equal(pres_begin(f->srv, "bob", NULL, &s), 0);
    assert_int_equal(s.n, 0);                                       /* nobody to tell about the new bob */
    pres_end(f->srv, &s, 0);
    fake_conn_free(b);
    fake_conn_free(a);
    fake_conn_free(c);
    assert_int_equal(f->srv->watch.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test_setup_teardown(test_message_reaches_recipient_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prelogin_drops_and_answers_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader_closed_by_reaper_not_in_fanout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_online_list_continues_with_status_5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fanout_uses_watch_index_not_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_index_follows_list_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_account_leaves_watch_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth_failure_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_set_failure_is_undone_and_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
