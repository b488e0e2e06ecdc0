/* server/http/static.c's pure helpers: request path -> file under the web root, and content types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "static.h"

static void test_map_ok(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(static_map_path("/", out, sizeof out), 0);
    assert_string_equal(out, "index.html");
    assert_int_equal(static_map_path("/phonebook/", out, sizeof out), 0);
    assert_string_equal(out, "phonebook/index.html");
    assert_int_equal(static_map_path("/assets/ymsg.wasm", out, sizeof out), 0);
    assert_string_equal(out, "assets/ymsg.wasm");
    assert_int_equal(static_map_path("/assets/a-b_c.1.css", out, sizeof out), 0);
    assert_string_equal(out, "assets/a-b_c.1.css");
}

static void test_map_redirect(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(static_map_path("/phonebook", out, sizeof out), 1);
    assert_int_equal(static_map_path("/messenger", out, sizeof out), 1);
    assert_int_equal(static_map_path("/assets", out, sizeof out), 1);
}

static void test_map_refused(void **state)
{
    (void)state;
    char out[256];
    const char *bad[] = {"", "x", "//", "/..", "/../etc/passwd", "/assets/../x", "/assets/..", "/.git/config",
                         "/assets/.x.css", "/assets//x.css", "/assets/%2e%2e/x", "/a b", "/a\\b", "/a?b", "/é",
                         "/assets/x.css/..", "/a/./b", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 'Z', sizeof out);
        assert_int_equal(static_map_path(bad[i], out, sizeof out), -1);
    }
    char longp[300];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    longp[sizeof longp - 1] = 0;
    assert_int_equal(static_map_path(longp, out, sizeof out), -1);
    /* an exact fit for "<path>index.html" works, one byte less does not */
    assert_int_equal(static_map_path("/phonebook/", out, sizeof "phonebook/index.html" + 1), 0);
    assert_int_equal(static_map_path("/phonebook/", out, sizeof "phonebook/index.html"), -1);
}

static void test_types(void **state)
{
    (void)state;
    assert_string_equal(static_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(static_content_type("assets/ymsg.wasm"), "application/wasm");
    assert_string_equal(static_content_type("assets/x.mjs"), "text/javascript; charset=utf-8");
    assert_null(static_content_type("assets/meson.build"));
    assert_null(static_content_type(".html"));
    assert_null(static_content_type("x.HTML"));
    assert_null(static_content_type("x.c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_ok), cmocka_unit_test(test_map_redirect),
        cmocka_unit_test(test_map_refused), cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
