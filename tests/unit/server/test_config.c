/* Unit tests for server/config.c: defaults, flags by name, the key = value file, HOST:PORT parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static void test_defaults_and_set(void **state)
{
    struct config cfg;
    char err[256];
    (void)state;
    config_defaults(&cfg);
    assert_string_equal(cfg.ymsg_listen, "127.0.0.1:5050");
    assert_string_equal(cfg.http_listen, "127.0.0.1:8080");
    assert_int_equal(cfg.legacy_auth, 0);
    assert_int_equal(cfg.idle_timeout, 300);
    assert_int_equal(config_set(&cfg, "idle-timeout", "42", err, sizeof err), 0);
    assert_int_equal(cfg.idle_timeout, 42);
    assert_int_equal(config_set(&cfg, "legacy_auth", "on", err, sizeof err), 0);
    assert_int_equal(cfg.legacy_auth, 1);
    assert_int_equal(config_set(&cfg, "legacy_auth", "maybe", err, sizeof err), -1);
    assert_non_null(strstr(err, "on/off"));
    assert_int_equal(config_set(&cfg, "max_packet", "70000", err, sizeof err), -1); /* above 65535 */
    assert_int_equal(config_set(&cfg, "max_packet", "12x", err, sizeof err), -1);
    assert_int_equal(config_set(&cfg, "no_such_knob", "1", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown"));
    assert_int_equal(config_set(&cfg, "data-dir", "/srv/y", err, sizeof err), 0);
    assert_string_equal(cfg.data_dir, "/srv/y");
    assert_int_equal(config_set(&cfg, "pwhash_memlimit", "8192", err, sizeof err), 0);
    assert_true(cfg.pwhash_memlimit == 8192);
    assert_true(config_has_key("out-cap") && config_has_key("out_cap") && !config_has_key("outcap"));
    config_free(&cfg);
}

static void test_file(void **state)
{
    struct config cfg;
    char err[256], path[] = "/tmp/ymsgd-cfg-XXXXXX";
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n\n  ymsg_listen = 0.0.0.0:5051  \nlog-level=debug\ncapacity_host = \"10.0.0.1\"\n; also a comment\n", f);
    fclose(f);
    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof err), 0);
    assert_string_equal(cfg.ymsg_listen, "0.0.0.0:5051");
    assert_string_equal(cfg.log_level, "debug");
    assert_string_equal(cfg.capacity_host, "10.0.0.1");
    f = fopen(path, "w");
    fputs("idle_timeout = 10\nthis line is wrong\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2:"));
    unlink(path);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof err), -1);
    config_free(&cfg);
}

/* Inline comments after values, quoted values that keep a " #", and the knob helpers reload uses. */
static void test_inline_comments_and_knobs(void **state)
{
    struct config cfg, other;
    char err[256], path[] = "/tmp/ymsgd-cfg-XXXXXX", txt[64];
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("idle_timeout = 42   # seconds\nsession_rate=7\t# tab before\nws_origins = a#b\n"
          "capacity_host = \"x #y\"  # quoted keeps it\nlog_file = # empty\n", f);
    fclose(f);
    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof err), 0);
    assert_int_equal(cfg.idle_timeout, 42);
    assert_int_equal(cfg.session_rate, 7);
    assert_string_equal(cfg.ws_origins, "a#b"); /* no blank before #: part of the value */
    assert_string_equal(cfg.capacity_host, "x #y");
    assert_string_equal(cfg.log_file, "");
    f = fopen(path, "w");
    fputs("capacity_host = \"x\" trailing\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: only a # comment may follow a quoted value"));
    f = fopen(path, "w");
    fputs("idle_timeout = 5 seconds\n", f); /* text after a value without # is still an error */
    fclose(f);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof err), -1);
    unlink(path);
    /* knob helpers */
    config_defaults(&other);
    size_t n = config_knob_count(), idle = n, listen = n;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(config_knob_name(i), "idle_timeout")) idle = i;
        if (!strcmp(config_knob_name(i), "ymsg_listen")) listen = i;
    }
    assert_true(idle < n && listen < n);
    assert_true(config_knob_live(idle));
    assert_false(config_knob_live(listen));
    config_knob_format(&cfg, idle, txt, sizeof txt);
    assert_string_equal(txt, "42");
    assert_false(config_knob_equal(&other, &cfg, idle));
    assert_int_equal(config_knob_copy(&other, &cfg, idle), 0);
    assert_true(config_knob_equal(&other, &cfg, idle));
    assert_int_equal(other.idle_timeout, 42);
    /* a long list that differs only at its end is a change (no comparison of cut-off text) */
    char longa[600], longb[600];
    size_t cd = n;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(config_knob_name(i), "amf_crossdomain")) cd = i;
    assert_true(cd < n);
    memset(longa, 'a', sizeof longa - 1);
    longa[sizeof longa - 1] = 0;
    memcpy(longb, longa, sizeof longb);
    longb[sizeof longb - 2] = 'b';
    config_set(&cfg, "amf_crossdomain", longa, err, sizeof err);
    config_set(&other, "amf_crossdomain", longb, err, sizeof err);
    assert_false(config_knob_equal(&cfg, &other, cd));
    config_set(&cfg, "ymsg_listen", "1.2.3.4:1", err, sizeof err);
    assert_int_equal(config_knob_copy(&other, &cfg, listen), 0);
    assert_string_equal(other.ymsg_listen, "1.2.3.4:1");
    config_free(&other);
    config_free(&cfg);
}

static void test_hostport(void **state)
{
    char host[64];
    int port = 0;
    (void)state;
    assert_int_equal(config_split_hostport("127.0.0.1:5050", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 5050);
    assert_int_equal(config_split_hostport("[::1]:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_int_equal(config_split_hostport("5050", host, sizeof host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(config_split_hostport(":0", host, sizeof host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(config_split_hostport("h:99999", host, sizeof host, &port), -1);
    assert_int_equal(config_split_hostport("h:", host, sizeof host, &port), -1);
    assert_int_equal(config_split_hostport("[::1]8080", host, sizeof host, &port), -1);
    assert_int_equal(config_split_hostport("", host, sizeof host, &port), -1);
}

/* ymsg_listen "A,B": several pager listeners (the real pager answered on 5050 and on fallback ports). */
static void test_listen_list(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(config_list_count("127.0.0.1:5050"), 1);
    assert_int_equal(config_list_count(" 127.0.0.1:5050 , [::1]:23,,"), 2);
    assert_int_equal(config_list_count(""), 0);
    assert_int_equal(config_list_count(" , "), 0);
    assert_int_equal(config_list_item(" 127.0.0.1:5050 , [::1]:23,,", 1, out, sizeof out), 0);
    assert_string_equal(out, "[::1]:23");
    assert_int_equal(config_list_item("a:1,b:2", 0, out, sizeof out), 0);
    assert_string_equal(out, "a:1");
    assert_int_equal(config_list_item("a:1,b:2", 2, out, sizeof out), -1);
    assert_int_equal(config_list_item("abcdef:1", 0, out, 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_set),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_inline_comments_and_knobs),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_listen_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
