/* Unit tests of the sans-IO client session: messages, typing, authorisation requests and a
 * kick (lib/ymsg/session_message.c).
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

static void test_messages(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "5", "alice", "14", "\x1b[31mhi <font face=\"x\">there</font> \xc3\xa9",
         "97", "1", "15", "1700000000", "429", "0000000308B2279D", "450", "0", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->who, "bob");
    assert_string_equal(ev->text, "hi there \xc3\xa9");
    assert_int_equal(ev->time, 1700000000);
    assert_int_equal(ev->flags & YMSG_EVF_OFFLINE, 0);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf)); /* the 0xFB ack */
    assert_int_equal(pkt.hdr.service, YMSG_SVC_MESSAGE_ACK);
    expect_kv(&pkt, 5, "bob");
    expect_kv(&pkt, 430, "0000000308B2279D");
    /* the same id again: acked, not shown twice */
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "5", "alice", "14", "hi", "429", "0000000308B2279D", NULL);
    assert_null(ymsg_session_next_event(s));
    assert_true(take(s, &pkt, buf, sizeof buf));
    /* latin-1 without key 97, control characters removed */
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "14", "caf\xe9\x07!", NULL);
    ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "caf\xc3\xa9!");
    /* invalid UTF-8 with 97=1 becomes U+FFFD */
    feed(s, YMSG_SVC_MESSAGE, 1, "4", "bob", "97", "1", "14", "a\xff", NULL);
    ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "a\xef\xbf\xbd");
    /* offline batch */
    feed(s, YMSG_SVC_MESSAGE, 5, "31", "6", "32", "6", "4", "bob", "5", "alice", "14", "one", "15", "100", "97", "1",
         "31", "6", "32", "6", "4", "carol", "5", "alice", "14", "<ding>", "15", "200", "97", "1", NULL);
    ev = next_of(s, YMSG_EV_MESSAGE);
    assert_string_equal(ev->text, "one");
    assert_int_equal(ev->time, 100);
    assert_int_equal(ev->flags & YMSG_EVF_OFFLINE, YMSG_EVF_OFFLINE);
    ev = next_of(s, YMSG_EV_BUZZ);
    assert_string_equal(ev->who, "carol");
    assert_int_equal(ev->time, 200);
    /* not sent */
    feed(s, YMSG_SVC_MESSAGE, 2, "5", "bob", "16", "no", NULL);
    ev = next_of(s, YMSG_EV_NOT_SENT);
    assert_string_equal(ev->text, "no");
    ymsg_session_free(s);
}

static void test_typing_auth_kick(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_NOTIFY, 1, "4", "bob", "5", "alice", "13", "1", "14", " ", "49", "TYPING", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_TYPING);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->on, 1);
    feed(s, YMSG_SVC_AUTH_REQ_15, 3, "4", "eve", "5", "alice", "14", "add me", NULL);
    ev = next_of(s, YMSG_EV_AUTH_REQUEST);
    assert_string_equal(ev->who, "eve");
    assert_string_equal(ev->text, "add me");
    assert_int_equal(ymsg_session_request_count(s), 1);
    assert_string_equal(ymsg_session_request(s, 0)->msg, "add me");
    assert_int_equal(ymsg_session_auth_reply(s, "eve", 1, NULL), 0);
    assert_int_equal(ymsg_session_request_count(s), 0);
    drain(s);
    feed(s, YMSG_SVC_AUTH_REQ_15, 1, "4", "carol", "5", "alice", "13", "1", NULL);
    ev = next_of(s, YMSG_EV_AUTH_ANSWER);
    assert_int_equal(ev->on, 1);
    assert_int_equal(ymsg_session_find_buddy(s, "carol")->pending, 0);
    feed(s, YMSG_SVC_AUTH_REQ_15, 1, "4", "dan", "5", "alice", "13", "2", "14", "no", NULL);
    ev = next_of(s, YMSG_EV_AUTH_ANSWER);
    assert_int_equal(ev->on, 0);
    assert_string_equal(ev->text, "no");
    feed(s, YMSG_SVC_LOGOFF, YMSG_PKT_ERROR, "66", "42", NULL);
    ev = next_of(s, YMSG_EV_KICKED);
    assert_int_equal(ev->code, 42);
    next_of(s, YMSG_EV_DISCONNECTED);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_CLOSED);
    assert_int_equal(ymsg_session_send_message(s, "bob", "x"), YMSG_ESTATE);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_typing_auth_kick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
