/* The shared login throttle (server/core/ratelimit.c): address keys and the lock policy.  Time is
 * passed in, so the lock intervals are tested without sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static void key(const char *addr, const char *want)
{
    char out[80];
    rl_addr_key(addr, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_addr_key(void **state)
{
    (void)state;
    key("192.0.2.7", "192.0.2.7");
    /* Issue 9 item 6: IPv6 was keyed per /128, so one host had 2^64 fresh budgets. */
    key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64");
    key("2001:db8:1:2::1", "2001:db8:1:2::/64");
    key("2001:db8:1:3::1", "2001:db8:1:3::/64");
    key("::ffff:192.0.2.7", "192.0.2.7");
    key("::1", "::/64");
    key("not-an-address", "not-an-address");
    key("", "");
    char small[4];
    rl_addr_key("2001:db8::1", small, sizeof small);
    assert_int_equal(strlen(small), 3);
}

static struct login_throttle_config cfg(void)
{
    struct login_throttle_config c = {
        .rate = 100, .burst = 1000, .fail_window = 600, .addr_max_failures = 4, .account_max_failures = 3,
        .lock_time = 300, .lock_check_interval = 60, .max_tracked = 1000,
    };
    return c;
}

static void test_ipv6_shares_a_budget(void **state)
{
    (void)state;
    struct login_throttle t;
    struct login_throttle_config c = cfg();
    lt_init(&t, &c);
    char a[64];
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "2001:db8:0:7::%x", i + 1); /* four hosts of one /64 */
        assert_int_equal(lt_before(&t, a, NULL, 1.0), LT_OK);
        lt_fail(&t, a, NULL, 1.0);
    }
    assert_int_equal(lt_before(&t, "2001:db8:0:7::99", NULL, 2.0), LT_ADDR);
    assert_int_equal(lt_before(&t, "2001:db8:0:8::1", NULL, 2.0), LT_OK);
    lt_free(&t);
}

static void test_lock_policy(void **state)
{
    (void)state;
    struct login_throttle t;
    struct login_throttle_config c = cfg();
    lt_init(&t, &c);
    double now = 10.0;
    for (int i = 0; i < 2; i++) assert_int_equal(lt_fail(&t, "10.0.0.1", "alice", now), 0);
    assert_int_equal(lt_fail(&t, "10.0.0.2", "alice", now), 1); /* the third failure locks */
    assert_true(lt_locked(&t, "alice", now));
    /* Many clean addresses: no check at all during the first interval. */
    char a[32];
    for (int i = 0; i < 100; i++) {
        snprintf(a, sizeof a, "10.1.%d.%d", i / 250, i % 250 + 1);
        assert_int_equal(lt_before(&t, a, "alice", now + 1), LT_LOCKED);
    }
    /* After it, one check (from a clean address), then the next interval again. */
    assert_int_equal(lt_before(&t, "10.0.0.1", "alice", now + 61), LT_LOCKED); /* failed before: never */
    assert_int_equal(lt_before(&t, "10.2.0.1", "alice", now + 61), LT_OK_LOCKED);
    assert_int_equal(lt_before(&t, "10.2.0.2", "alice", now + 61), LT_LOCKED);
    assert_int_equal(lt_before(&t, "10.2.0.2", "alice", now + 122), LT_OK_LOCKED);
    /* Other accounts are not affected; the lock ends. */
    assert_int_equal(lt_before(&t, "10.2.0.3", "bob", now + 122), LT_OK);
    assert_int_equal(lt_before(&t, "10.2.0.4", "alice", now + 311), LT_OK);
    /* An administrator's unlock. */
    for (int i = 0; i < 3; i++) lt_fail(&t, "10.3.0.1", "carol", now);
    assert_true(lt_locked(&t, "carol", now));
    lt_unlock(&t, "carol");
    assert_false(lt_locked(&t, "carol", now));
    lt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_key),
        cmocka_unit_test(test_ipv6_shares_a_budget),
        cmocka_unit_test(test_lock_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
