/* Unit tests of the sans-IO client session when the allocator fails: a buddy, group, ignore entry,
 * 0x55 text or event that cannot be stored is an error the driver sees (ymsg_session_feed() returns
 * YMSG_ENOMEM, an error line is logged, stats count it), never a silently shorter roster; the session
 * goes on and a list sent again once memory is back is complete.  malloc and realloc are wrapped at
 * link time (-Wl,--wrap=...) so that a test can make them fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session_fixture.h"

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_realloc; /* realloc returns NULL while set */
static int fail_malloc;  /* malloc returns NULL while set */

void *__wrap_malloc(size_t n) { return fail_malloc ? NULL : __real_malloc(n); }
void *__wrap_realloc(void *p, size_t n) { return fail_realloc ? NULL : __real_realloc(p, n); }

/* LIST_15 with group Friends: bob, carol, dave (it completes the login). */
static int feed_list(struct ymsg_session *s)
{
    uint8_t buf[4096];
    size_t n = mk(buf, sizeof buf, YMSG_SVC_LIST_15, 0, 0x0047E133u, "302", "318", "300", "318", "65",
                  "Friends", "302", "319", "300", "319", "7", "bob", "301", "319", "300", "319", "7", "carol",
                  "301", "319", "300", "319", "7", "dave", "301", "319", "303", "319", "301", "318", "303",
                  "318", NULL);
    return ymsg_session_feed(s, buf, n);
}

static void test_roster_nomem(void **st)
{
    (void)st;
    struct ymsg_session *s = new_session(0);
    login_to_authresp(s, TOKEN_BODY, strlen(TOKEN_BODY), CRUMB_HEADERS, CRUMB_BODY, strlen(CRUMB_BODY));
    drain(s);
    struct ymsg_session_stats before;
    ymsg_session_get_stats(s, &before);
    fail_realloc = 1;
    int r = feed_list(s);
    fail_realloc = 0;
    assert_int_equal(r, YMSG_ENOMEM);
    assert_non_null(strstr(logbuf, "3:out of memory: buddy bob not kept"));
    assert_non_null(strstr(logbuf, "3:out of memory: buddy dave not kept"));
    assert_non_null(strstr(logbuf, "3:out of memory: group Friends not kept"));
    assert_int_equal(ymsg_session_buddy_count(s), 0);
    struct ymsg_session_stats after;
    ymsg_session_get_stats(s, &after);
    assert_true(after.capped >= before.capped + 4);
    /* the session is still there: logged in, and the next list (memory back) is whole */
    next_of(s, YMSG_EV_LOGGED_IN);
    assert_int_equal(ymsg_session_state(s), YMSG_SS_ONLINE);
    assert_int_equal(feed_list(s), 0);
    assert_int_equal(ymsg_session_buddy_count(s), 3);
    assert_string_equal(ymsg_session_buddy(s, 2)->id, "dave");
    assert_int_equal(ymsg_session_group_count(s), 1);
    ymsg_session_free(s);
}

static void test_list55_and_ignore_nomem(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[4096];
    /* an ignore ack whose entry would be the list's first: the slot cannot be allocated */
    size_t n = mk(buf, sizeof buf, YMSG_SVC_IGNORECONTACT, 1, 0x0047E133u, "0", "spam", "1", "alice", "13", "1",
                  "66", "0", NULL);
    fail_realloc = 1;
    int r = ymsg_session_feed(s, buf, n);
    fail_realloc = 0;
    assert_int_equal(r, YMSG_ENOMEM);
    assert_non_null(strstr(logbuf, "3:out of memory: ignore entry spam not kept"));
    assert_int_equal(ymsg_session_ignored_count(s), 0);
    assert_int_equal(ymsg_session_feed(s, buf, n), 0);
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    drain(s);
    /* old 0x55 list text that cannot be stored */
    n = mk(buf, sizeof buf, YMSG_SVC_LIST, 0, 0x0047E133u, "87", "Work:erin\n", "88", "troll", NULL);
    fail_realloc = 1;
    r = ymsg_session_feed(s, buf, n);
    fail_realloc = 0;
    assert_int_equal(r, YMSG_ENOMEM);
    assert_non_null(strstr(logbuf, "3:out of memory: 0x55 list text"));
    assert_null(ymsg_session_find_buddy(s, "erin"));
    /* memory back: the same reply is taken whole */
    assert_int_equal(ymsg_session_feed(s, buf, n), 0);
    assert_int_equal(ymsg_session_ignored_count(s), 1);
    assert_string_equal(ymsg_session_ignored(s, 0), "troll");
    assert_non_null(ymsg_session_find_buddy(s, "erin"));
    ymsg_session_free(s);
}

static void test_event_nomem(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    uint8_t buf[4096];
    size_t n = mk(buf, sizeof buf, YMSG_SVC_NOTIFY, 1, 0x0047E133u, "4", "bob", "5", "alice", "13", "1", "14", " ",
                  "49", "TYPING", NULL);
    struct ymsg_session_stats st0, st1;
    ymsg_session_get_stats(s, &st0);
    fail_malloc = 1;
    int r = ymsg_session_feed(s, buf, n);
    fail_malloc = 0;
    assert_int_equal(r, YMSG_ENOMEM);
    ymsg_session_get_stats(s, &st1);
    assert_int_equal(st1.events_dropped, st0.events_dropped + 1);
    assert_non_null(strstr(logbuf, "3:out of memory: dropped a typing event"));
    assert_null(ymsg_session_next_event(s));
    assert_int_equal(ymsg_session_feed(s, buf, n), 0); /* memory back: delivered */
    assert_non_null(next_of(s, YMSG_EV_TYPING));
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roster_nomem),
        cmocka_unit_test(test_list55_and_ignore_nomem),
        cmocka_unit_test(test_event_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
