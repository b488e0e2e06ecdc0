/* Unit tests of the sans-IO client session: STATUS_15 entries split across packets, old-style presence
 * and the old 0x55 list (lib/ymsg/session_presence.c, session_roster.c).
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

static void test_status15_split(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_STATUS_15, 5, "302", "315", "300", "315", "7", "bob", "10", "99", NULL);
    assert_null(ymsg_session_next_event(s)); /* entry not finished yet */
    feed(s, YMSG_SVC_STATUS_15, 1, "19", "At lunch \xe2\x98\x95", "47", "1", "13", "1", "137", "30", "301", "315",
         "300", "315", "7", "carol", "10", "0", "13", "1", "301", "315", "303", "315", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->on, 1);
    assert_int_equal(ev->status, 99);
    assert_string_equal(ev->text, "At lunch \xe2\x98\x95");
    assert_int_equal(ev->away, 1);
    assert_int_equal(ev->idle, 30);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "carol");
    const struct ymsg_buddy *b = ymsg_session_find_buddy(s, "BOB");
    assert_non_null(b);
    assert_int_equal(b->online, 1);
    assert_string_equal(b->msg, "At lunch \xe2\x98\x95");
    /* offline: 0x02 status 1 7=bob */
    feed(s, YMSG_SVC_LOGOFF, 1, "7", "bob", NULL);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->on, 0);
    assert_int_equal(b->online, 0);
    ymsg_session_free(s);
}

static void test_old_presence_and_list(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST, 5, "87", "Friends:bob,car", NULL);
    feed(s, YMSG_SVC_LIST, 0, "87", "ol\nWork:dave\n", "88", "troll,spam", "89", "alice", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_buddy_count(s), 3);
    assert_string_equal(ymsg_session_buddy(s, 1)->id, "carol");
    assert_string_equal(ymsg_session_buddy(s, 2)->group, "Work");
    assert_int_equal(ymsg_session_ignored_count(s), 2);
    drain(s);
    feed(s, YMSG_SVC_LOGON, 1, "0", "alice", "1", "alice", "8", "2", "7", "bob", "10", "0", "11", "0", "17", "0",
         "13", "1", "7", "dave", "10", "2", "13", "1", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "bob");
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_string_equal(ev->who, "dave");
    assert_int_equal(ev->status, 2);
    feed(s, YMSG_SVC_ISAWAY, 4, "7", "bob", "13", "1", NULL); /* code only in the header */
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->status, 4);
    feed(s, YMSG_SVC_ISBACK, 0, "7", "bob", "10", "0", "13", "1", NULL);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->status, 0);
    assert_int_equal(ev->on, 1);
    feed(s, YMSG_SVC_LOGOFF, 1, "7", "dave", NULL);
    ev = next_of(s, YMSG_EV_PRESENCE);
    assert_int_equal(ev->on, 0);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status15_split),
        cmocka_unit_test(test_old_presence_and_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
