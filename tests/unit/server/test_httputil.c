/* Unit tests for server/httputil.c: %-decoding, query look-up, request-target paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "httputil.h"

static void test_pct_decode(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(http_pct_decode("a%2Db%2dc", 9, out, sizeof out), 5);
    assert_string_equal(out, "a-b-c");
    assert_int_equal(http_pct_decode("p%2Bw+d%25", 10, out, sizeof out), 6);
    assert_string_equal(out, "p+w d%");
    assert_int_equal(http_pct_decode("%zz%4", 5, out, sizeof out), 5); /* not hex: kept literally */
    assert_string_equal(out, "%zz%4");
    assert_int_equal(http_pct_decode("%c3%A9", 6, out, sizeof out), 2);
    assert_string_equal(out, "\xc3\xa9");
    assert_int_equal(http_pct_decode("a%00b", 5, out, sizeof out), -1); /* embedded NUL refused */
    assert_int_equal(http_pct_decode("abcdef", 6, out, 4), -1);       /* does not fit */
    assert_int_equal(http_pct_decode("", 0, out, 1), 0);
}

static void test_query_get(void **state)
{
    char out[32];
    (void)state;
    const char *q = "src=ymsgr&ts=&login=Alice&passwd=p%2Bw&chal=x%2a%2D";
    assert_int_equal(http_query_get(q, "login", out, sizeof out), 5);
    assert_string_equal(out, "Alice");
    assert_int_equal(http_query_get(q, "ts", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_query_get(q, "passwd", out, sizeof out), 3);
    assert_string_equal(out, "p+w");
    assert_int_equal(http_query_get(q, "chal", out, sizeof out), 3);
    assert_string_equal(out, "x*-");
    assert_int_equal(http_query_get(q, "pass", out, sizeof out), -1);   /* prefix is not a match */
    assert_int_equal(http_query_get(q, "token", out, sizeof out), -1);
    assert_int_equal(http_query_get("flag&x=1", "flag", out, sizeof out), 0);
    assert_int_equal(http_query_get("x=0123456789", "x", out, 5), -2);
    assert_int_equal(http_query_get(NULL, "x", out, sizeof out), -1);
    assert_int_equal(http_query_get("", "x", out, sizeof out), -1);
}

static void test_target_path(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(http_target_path("/config/pwtoken_get?src=ymsgr", out, sizeof out), 0);
    assert_string_equal(out, "/config/pwtoken_get");
    assert_int_equal(http_target_path("https://login.yahoo.com/config/pwtoken_login?token=x", out, sizeof out), 0);
    assert_string_equal(out, "/config/pwtoken_login");
    assert_int_equal(http_target_path("http://vcs1.msg.yahoo.com:80/capacity", out, sizeof out), 0);
    assert_string_equal(out, "/capacity");
    assert_int_equal(http_target_path("http://host?x", out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(http_target_path("*", out, sizeof out), -1);
    assert_int_equal(http_target_path("ht tp://x/y", out, sizeof out), -1);
    assert_int_equal(http_target_path("/a/very/long/path", out, 5), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_target_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
