/* Unit tests of the sans-IO client session: LIST_15 conventions and list command acks (lib/ymsg/session_roster.c).
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

static void test_list15_conventions(void **st)
{
    (void)st;
    /* status 5 + 5 + 0 with no 303=318 at all, a group continued across packets, ignore list */
    struct ymsg_session *s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 5, "302", "318", "300", "318", "65", "Work", "302", "319", "300", "319", "7", "bob",
         "301", "319", NULL);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_AUTHRESP);
    feed(s, YMSG_SVC_LIST_15, 5, "300", "319", "7", "dave", "301", "319", "303", "319", "301", "318", NULL);
    feed(s, YMSG_SVC_LIST_15, 0, "300", "318", "65", "Empty", "302", "319", "303", "319", "301", "318",
         "302", "320", "300", "320", "7", "troll", "301", "320", "303", "320", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_buddy_count(s), 2);
    assert_string_equal(ymsg_session_buddy(s, 1)->id, "dave");
    assert_string_equal(ymsg_session_buddy(s, 1)->group, "Work");
    assert_int_equal(ymsg_session_group_count(s), 2);
    assert_string_equal(ymsg_session_group(s, 1), "Empty");
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    assert_string_equal(ymsg_session_ignored(s, 0), "troll");
    ymsg_session_free(s);
    /* libyahoo2 convention: every packet status 5, the end is 303=318 */
    s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 5, "302", "318", "300", "318", "65", "G", "302", "319", "300", "319", "7", "bob", NULL);
    feed(s, YMSG_SVC_LIST_15, 5, "301", "319", "303", "319", "301", "318", "303", "318", NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    next_of(s, YMSG_EV_BUDDY_LIST);
    assert_int_equal(ymsg_session_buddy_count(s), 1);
    ymsg_session_free(s);
    /* empty body, status 0: no buddies */
    s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    feed(s, YMSG_SVC_LIST_15, 0, NULL);
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_buddy_count(s), 0);
    ymsg_session_free(s);
}

static void test_list_acks(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    feed(s, YMSG_SVC_ADDBUDDY, 1, "1", "alice", "7", "eve", "65", "Work", "66", "0", "223", "1", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_int_equal(ev->service, YMSG_SVC_ADDBUDDY);
    assert_int_equal(ev->code, 0);
    assert_non_null(ymsg_session_find_buddy(s, "eve"));
    assert_int_equal(ymsg_session_find_buddy(s, "eve")->pending, 1);
    feed(s, YMSG_SVC_CHGRP_15, 1, "1", "alice", "302", "240", "300", "240", "7", "eve", "224", "Work", "264", "Pals",
         "301", "240", "303", "240", "66", "0", NULL);
    next_of(s, YMSG_EV_LIST_ACK);
    assert_string_equal(ymsg_session_find_buddy(s, "eve")->group, "Pals");
    feed(s, YMSG_SVC_GROUPRENAME, 1, "1", "alice", "65", "Mates", "66", "0", "67", "Pals", NULL); /* swapped */
    ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_string_equal(ev->group, "Mates");
    assert_string_equal(ev->group2, "Pals");
    assert_string_equal(ymsg_session_find_buddy(s, "eve")->group, "Mates");
    feed(s, YMSG_SVC_REMBUDDY, 1, "1", "alice", "7", "eve", "65", "Mates", "66", "0", NULL);
    next_of(s, YMSG_EV_LIST_ACK);
    assert_null(ymsg_session_find_buddy(s, "eve"));
    feed(s, YMSG_SVC_IGNORECONTACT, 1, "0", "troll", "1", "alice", "13", "1", "66", "0", NULL);
    ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_string_equal(ev->who, "troll");
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    feed(s, YMSG_SVC_IGNORECONTACT, 1, "0", "bob", "1", "alice", "13", "1", "66", "12", NULL);
    ev = next_of(s, YMSG_EV_LIST_ACK);
    assert_int_equal(ev->code, 12);
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list15_conventions),
        cmocka_unit_test(test_list_acks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
