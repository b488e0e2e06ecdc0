/* Unit tests of the sans-IO client session: session ids, commands, timers, hostile streams, caps, raw packets
 * and the packet hook, reference vectors (lib/ymsg/session.c).
 * Server bytes are scripted with libymsg's builder; the output is decoded and checked pair by pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session_fixture.h"

static void test_session_id_changes(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[4096];
    size_t n = mk(buf, sizeof buf, YMSG_SVC_PING, 1, 0xCAFEBABE, "143", "60", "144", "1", NULL);
    ymsg_session_feed(s, buf, n);
    assert_int_equal(ymsg_session_id(s), 0xCAFEBABE);
    assert_int_equal(ymsg_session_send_message(s, "bob", "hi"), 0);
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.session, 0xCAFEBABE);
    ymsg_session_free(s);
}

static void test_commands(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_session_send_message(s, "bob", "h\xc3\xa9llo"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_MESSAGE);
    assert_int_equal(pkt.hdr.status, 0x5A55AA56u);
    expect_kv(&pkt, 1, "alice");
    expect_kv(&pkt, 5, "bob");
    expect_kv(&pkt, 14, "h\xc3\xa9llo");
    expect_kv(&pkt, 97, "1");
    assert_int_equal(ymsg_session_buzz(s, "bob"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 14, "<ding>");
    assert_int_equal(ymsg_session_typing(s, "bob", 1), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_NOTIFY);
    assert_int_equal(pkt.hdr.status, 0x16);
    expect_kv(&pkt, 49, "TYPING");
    expect_kv(&pkt, 13, "1");
    assert_int_equal(ymsg_session_set_status(s, 99, "busy coding", 1), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 10, "99");
    expect_kv(&pkt, 19, "busy coding");
    expect_kv(&pkt, 47, "1");
    assert_int_equal(ymsg_session_set_status(s, 999, NULL, 0), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 47, "2");
    assert_int_equal(ymsg_session_set_status(s, 12, NULL, 0), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_VISIBLE_TOGGLE);
    assert_int_equal(ymsg_session_add_buddy(s, "eve", "Friends", "hi"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_ADDBUDDY);
    expect_kv(&pkt, 7, "eve");
    expect_kv(&pkt, 65, "Friends");
    expect_kv(&pkt, 334, "0");
    assert_int_equal(ymsg_session_remove_buddy(s, "bob", NULL), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 65, "Friends");
    assert_int_equal(ymsg_session_move_buddy(s, "bob", NULL, "Work"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 224, "Friends");
    expect_kv(&pkt, 264, "Work");
    assert_int_equal(ymsg_session_auth_reply(s, "eve", 0, "sorry"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_AUTH_REQ_15);
    expect_kv(&pkt, 13, "2");
    expect_kv(&pkt, 14, "sorry");
    assert_int_equal(ymsg_session_ignore(s, "troll", 1), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 13, "1");
    assert_int_equal(ymsg_session_rename_group(s, "Friends", "Mates"), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 67, "Mates");
    /* bad arguments change nothing */
    assert_int_equal(ymsg_session_send_message(s, "", "x"), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_message(s, "bob", "a\xc0\x80"), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_message(s, "b b", "x"), YMSG_EINVAL);
    assert_int_equal(ymsg_session_set_status(s, 50, NULL, 0), YMSG_EINVAL);
    assert_false(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(ymsg_session_logoff(s), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_LOGOFF);
    next_of(s, YMSG_EV_DISCONNECTED);
    ymsg_session_free(s);
}

static void test_timers(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0); /* logged in at t=1000 */
    drain(s);
    assert_int_equal(ymsg_session_timeout(s, 1000), 60000);
    ymsg_session_tick(s, 30000);
    const uint8_t *o;
    assert_int_equal(ymsg_session_output(s, &o), 0);
    ymsg_session_tick(s, 61000);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_KEEPALIVE);
    expect_kv(&pkt, 0, "alice");
    ymsg_session_tick(s, 3601000);
    int keep = 0, ping = 0;
    while (take(s, &pkt, buf, sizeof buf)) {
        keep += pkt.hdr.service == YMSG_SVC_KEEPALIVE;
        ping += pkt.hdr.service == YMSG_SVC_PING;
    }
    assert_int_equal(keep, 1);
    assert_int_equal(ping, 1);
    ymsg_session_free(s);
}

static void test_hostile_stream(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[8192];
    size_t n = 0;
    memcpy(buf, "garbageYMS", 10); /* bad magic, a partial magic */
    n = 10;
    n += mk(buf + n, sizeof buf - n, 0x3333, 1, SID, "9999", "x", NULL); /* unknown service and key */
    /* malformed body: odd number of fields */
    static const uint8_t bad[] = {'Y', 'M', 'S', 'G', 0, 16, 0, 0, 0, 3, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, '1', 0xc0, 0x80};
    memcpy(buf + n, bad, sizeof bad);
    n += sizeof bad;
    n += mk(buf + n, sizeof buf - n, YMSG_SVC_MESSAGE, 1, SID, "4", "bob", "14", "still here", NULL);
    for (size_t i = 0; i < n; i++) /* one byte at a time */
        assert_int_equal(ymsg_session_feed(s, buf + i, 1), 0);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "still here");
    struct ymsg_session_stats stats;
    ymsg_session_get_stats(s, &stats);
    assert_true(stats.resyncs >= 1);
    assert_int_equal(stats.bad_packets, 1);
    assert_int_equal(stats.unknown_services, 1);
    assert_non_null(strstr(logbuf, "0:service 0x3333"));
    assert_int_equal(ymsg_session_state(s), YMSG_SS_ONLINE);
    ymsg_session_free(s);
}

static void test_caps(void **st)
{
    (void)st;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    cfg.password = "p&ss w";
    cfg.login_url = "http://127.0.0.1:8080";
    cfg.max_events = 3;
    cfg.max_buddies = 2;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 0, "65", "G", "7", "a1", "7", "a2", "7", "a3", "7", "a4", NULL);
    assert_int_equal(ymsg_session_buddy_count(s), 2);
    for (int i = 0; i < 10; i++)
        feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "14", "x", NULL);
    struct ymsg_session_stats stats;
    ymsg_session_get_stats(s, &stats);
    assert_true(stats.events_dropped >= 8);
    assert_true(stats.capped >= 2);
    int count = 0;
    while (ymsg_session_next_event(s))
        count++;
    assert_int_equal(count, 3);
    ymsg_session_free(s);
    /* bad configs */
    cfg.max_inbuf = 100;
    assert_null(ymsg_session_new(&cfg));
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    assert_null(ymsg_session_new(&cfg));
}

static int hook_in, hook_out;
static void hook(void *ud, int dir, const struct ymsg_packet *pkt)
{
    (void)ud;
    (void)pkt;
    if (dir)
        hook_out++;
    else
        hook_in++;
}

static void test_raw_and_hook(void **st)
{
    (void)st;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    cfg.password = "p&ss w";
    cfg.login_url = "http://127.0.0.1:8080";
    cfg.on_packet = hook;
    hook_in = hook_out = 0;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    assert_int_equal(hook_in, 1);  /* the 0x57 reply */
    assert_int_equal(hook_out, 2); /* 0x57, 0x54 */
    drain(s);
    uint8_t buf[512], out[512];
    size_t n = mk(buf, sizeof buf, YMSG_SVC_PEERTOPEER, 0, 0, "1", "alice", "5", "bob", "49", "PEERTOPEER", NULL);
    assert_int_equal(ymsg_session_send_raw(s, buf, n), 0);
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, out, sizeof out));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_PEERTOPEER);
    assert_int_equal(pkt.hdr.session, SID); /* patched */
    expect_kv(&pkt, 49, "PEERTOPEER");
    assert_int_equal(ymsg_session_send_raw(s, buf, n - 1), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_raw(s, buf, n + 1), YMSG_EINVAL);
    assert_int_equal(ymsg_session_send_raw(s, NULL, 0), YMSG_EINVAL);
    /* a re-sent list keeps known presence */
    feed(s, YMSG_SVC_LIST_15, 0, "65", "G", "7", "bob", "7", "carol", NULL);
    feed(s, YMSG_SVC_STATUS_15, 1, "7", "carol", "10", "2", "13", "1", NULL);
    feed(s, YMSG_SVC_LIST_15, 0, "65", "G", "7", "bob", "7", "carol", "65", "H", "7", "dave", NULL);
    assert_int_equal(ymsg_session_buddy_count(s), 3);
    assert_int_equal(ymsg_session_find_buddy(s, "carol")->online, 1);
    assert_int_equal(ymsg_session_find_buddy(s, "carol")->status, 2);
    assert_string_equal(ymsg_session_find_buddy(s, "dave")->group, "H");
    ymsg_session_free(s);
}

/* YMSG.md §9.3, byte for byte: the 0x57 reply, a STATUS_15 with one available buddy, the bad-password
 * 0x54 and the duplicate-login kick. */
static const uint8_t V_AUTH[] = {
    0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x57, 0x00, 0x00, 0x00, 0x01, 0x00, 0x47,
    0xe1, 0x33, 0x31, 0xc0, 0x80, 0x61, 0x6c, 0x69, 0x63, 0x65, 0xc0, 0x80, 0x39, 0x34, 0xc0, 0x80, 0x67, 0x2e,
    0x34, 0x59, 0x35, 0x53, 0x4a, 0x5a, 0x36, 0x6e, 0x6b, 0x46, 0x41, 0x6f, 0x55, 0x66, 0x71, 0x4b, 0x4d, 0x48,
    0x47, 0x62, 0x76, 0x49, 0x41, 0x73, 0x53, 0x6a, 0x48, 0x34, 0x5a, 0x55, 0x57, 0x56, 0x71, 0x63, 0x70, 0x67,
    0x2d, 0x2d, 0xc0, 0x80, 0x31, 0x33, 0xc0, 0x80, 0x32, 0xc0, 0x80};
static const uint8_t V_STATUS15[] = {
    0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x3e, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x01, 0x00, 0x47,
    0xe1, 0x33, 0x33, 0x30, 0x32, 0xc0, 0x80, 0x33, 0x31, 0x35, 0xc0, 0x80, 0x33, 0x30, 0x30, 0xc0, 0x80, 0x33,
    0x31, 0x35, 0xc0, 0x80, 0x37, 0xc0, 0x80, 0x62, 0x6f, 0x62, 0xc0, 0x80, 0x31, 0x30, 0xc0, 0x80, 0x30, 0xc0,
    0x80, 0x31, 0x33, 0xc0, 0x80, 0x31, 0xc0, 0x80, 0x33, 0x30, 0x31, 0xc0, 0x80, 0x33, 0x31, 0x35, 0xc0, 0x80,
    0x33, 0x30, 0x33, 0xc0, 0x80, 0x33, 0x31, 0x35, 0xc0, 0x80};
static const uint8_t V_BADPW[] = {0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00, 0x54, 0xff, 0xff,
                                  0xff, 0xff, 0x00, 0x47, 0xe1, 0x33, 0x36, 0x36, 0xc0, 0x80, 0x31, 0x33, 0xc0, 0x80};
static const uint8_t V_KICK[] = {0x59, 0x4d, 0x53, 0x47, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02, 0xff, 0xff,
                                 0xff, 0xff, 0x00, 0x47, 0xe1, 0x33, 0x36, 0x36, 0xc0, 0x80, 0x34, 0x32, 0xc0, 0x80};

static void test_reference_vectors(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    ymsg_session_start(s, 0);
    drain(s);
    ymsg_session_feed(s, V_AUTH, sizeof V_AUTH);
    assert_int_equal(ymsg_session_id(s), 0x0047E133);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_HTTP_GET);
    assert_non_null(strstr(ev->text, "&chal=" CHAL));
    ymsg_session_http_response(s, 200, "", 0, TOKEN_BODY, strlen(TOKEN_BODY));
    next_of(s, YMSG_EV_HTTP_GET);
    ymsg_session_http_response(s, 200, CRUMB_HEADERS, strlen(CRUMB_HEADERS), CRUMB_BODY, strlen(CRUMB_BODY));
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 307, "XNWI3fXT9Q9MrFsA40flsA--"); /* §9.3's key 307 for this crumb and challenge */
    ymsg_session_feed(s, V_STATUS15, sizeof V_STATUS15); /* status before any list: login is through */
    next_of(s, YMSG_EV_LOGGED_IN);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->on, 1);
    ymsg_session_feed(s, V_KICK, sizeof V_KICK);
    ev = next_of(s, YMSG_EV_KICKED);
    assert_int_equal(ev->code, 42);
    ymsg_session_free(s);
    s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    ymsg_session_feed(s, V_BADPW, sizeof V_BADPW);
    expect_fail(s, 13, "bad password", 0);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_id_changes),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_hostile_stream),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_raw_and_hook),
        cmocka_unit_test(test_reference_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
