/* Unit tests of the sans-IO client session: token login (0x57, the two HTTP steps, 0x54) and
 * its failures (lib/ymsg/session_login.c).
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

static void test_login_flow(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    assert_int_equal(ymsg_session_buddy_count(s), 2);
    assert_string_equal(ymsg_session_buddy(s, 0)->id, "bob");
    assert_string_equal(ymsg_session_buddy(s, 0)->group, "Friends");
    assert_int_equal(ymsg_session_buddy(s, 1)->pending, 1);
    assert_int_equal(ymsg_session_group_count(s), 1);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf)); /* announce the status like Pidgin */
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    expect_kv(&pkt, 10, "0");
    ymsg_session_free(s);
}

static void test_login_invisible(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(YMSG_STATUS_INVISIBLE);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_VISIBLE_TOGGLE);
    expect_kv(&pkt, 13, "2");
    assert_int_equal(ymsg_session_my_status(s), 12);
    /* back to available: 0xC6 then 0xC5 13=1 */
    assert_int_equal(ymsg_session_set_status(s, 0, NULL, 0), 0);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_VISIBLE_TOGGLE);
    expect_kv(&pkt, 13, "1");
    ymsg_session_free(s);
}

/* A reconnecting client signs in with its custom status: 0x54 says 99 and the first 0xC6 carries the message
 * and the away flag (no moment as plain "available"); a bad initial message or away flag is refused. */
static void test_login_custom_status(void **st)
{
    (void)st;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "Alice";
    cfg.password = "p&ss w";
    cfg.login_url = "http://127.0.0.1:8080/";
    cfg.initial_status = YMSG_STATUS_CUSTOM;
    cfg.initial_msg = "out for tea";
    cfg.initial_away = 1;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    assert_non_null(s);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    check_authresp(s, YMSG_STATUS_CUSTOM, "yv; path=/; domain=.yahoo.com", "bv");
    feed(s, YMSG_SVC_LIST_15, 0, "302", "318", "300", "318", "65", "Friends", "302", "319", "300", "319", "7", "bob",
         "301", "319", "303", "319", "301", "318", "303", "318", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, YMSG_SVC_Y6_STATUS_UPDATE);
    expect_kv(&pkt, 10, "99");
    expect_kv(&pkt, 19, "out for tea");
    expect_kv(&pkt, 47, "1");
    assert_int_equal(ymsg_session_my_status(s), YMSG_STATUS_CUSTOM);
    ymsg_session_free(s);
    cfg.initial_away = 2;
    assert_null(ymsg_session_new(&cfg));
    cfg.initial_away = 0;
    char big[YMSG_STATUS_MSG_MAX + 1];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cfg.initial_msg = big;
    assert_null(ymsg_session_new(&cfg));
}

/* The same login with a chunked token body (libyahoo2 style) and cookies only in the headers. */
static void test_login_chunked_and_header_cookies(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    static const char tok[] = "1f\r\n0\r\nymsgr=TOKEN123\r\npartnerid=P1\r\n0\r\n\r\n";
    static const char crb[] = "12\r\n0\r\ncrumb=" CRUMB "\r\n\r\n0\r\n\r\n";
    login_to_authresp(s, tok, strlen(tok), CRUMB_HEADERS, crb, strlen(crb));
    check_authresp(s, 0, "yv", "bv");
    ymsg_session_free(s);
    /* LF-only lines, no trailing newline, token body with trailing CRLF */
    s = new_session(0);
    static const char tok2[] = "0\nymsgr=TOKEN123\npartnerid=P1\r\n";
    static const char crb2[] = "0\ncrumb=" CRUMB "\nY=yv\nT=tv";
    login_to_authresp(s, tok2, strlen(tok2), "", crb2, strlen(crb2));
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    expect_kv(&pkt, 277, "yv");
    assert_int_equal(ymsg_count(&pkt, 59), 0); /* no B cookie, no key 59 (like Pidgin) */
    ymsg_session_free(s);
}

static void test_login_failures(void **st)
{
    (void)st;
    static const struct { const char *body; int code; const char *text; } cases[] = {
        {"1212", 1212, "wrong password"}, {"1235", 1235, "no such user"},
        {"1213", 1213, "locked"}, {"1236\r\n", 1236, "locked"}, {"4\r\n1212\r\n0\r\n\r\n", 1212, "wrong password"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ymsg_session *s = new_session(0);
        ymsg_session_start(s, 0);
        feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, "13", "2", NULL);
        next_of(s, YMSG_EV_HTTP_GET);
        ymsg_session_http_response(s, 200, NULL, 0, cases[i].body, strlen(cases[i].body));
        expect_fail(s, cases[i].code, cases[i].text, 0);
        ymsg_session_free(s);
    }
    static const struct { const char *code; const char *text; } auth[] = {
        {"13", "bad password"}, {"3", "does not exist"}, {"14", "locked"}};
    for (size_t i = 0; i < 3; i++) {
        struct ymsg_session *s = new_session(0);
        login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
        feed(s, YMSG_SVC_AUTHRESP, YMSG_PKT_ERROR, "66", auth[i].code, NULL);
        expect_fail(s, atoi(auth[i].code), auth[i].text, 0);
        ymsg_session_free(s);
    }
    /* login server unreachable, garbage answer, login timeout: network-type failures */
    struct ymsg_session *s = new_session(0);
    ymsg_session_start(s, 0);
    feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, NULL);
    next_of(s, YMSG_EV_HTTP_GET);
    ymsg_session_http_response(s, 0, NULL, 0, "Connection refused", 18);
    expect_fail(s, YMSG_EPROTO, "unreachable", YMSG_EVF_NETWORK);
    ymsg_session_free(s);
    s = new_session(0);
    ymsg_session_start(s, 0);
    feed(s, YMSG_SVC_AUTH, 1, "1", "alice", "94", CHAL, NULL);
    next_of(s, YMSG_EV_HTTP_GET);
    ymsg_session_http_response(s, 500, NULL, 0, "<html>oops</html>", 17);
    expect_fail(s, YMSG_EPROTO, "without a result code", YMSG_EVF_NETWORK);
    ymsg_session_free(s);
    s = new_session(0);
    ymsg_session_start(s, 0);
    assert_int_equal(ymsg_session_timeout(s, 0), 60000);
    ymsg_session_tick(s, 60000);
    expect_fail(s, YMSG_ESTATE, "timed out", YMSG_EVF_NETWORK);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_flow),
        cmocka_unit_test(test_login_invisible),
        cmocka_unit_test(test_login_custom_status),
        cmocka_unit_test(test_login_chunked_and_header_cookies),
        cmocka_unit_test(test_login_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
