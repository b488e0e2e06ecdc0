/* core/metrics: the text-format helpers (label escaping, cumulative histogram buckets), the login code
 * mapping and the cap on client-chosen label values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void test_label_escaping(void **state)
{
    (void)state;
    struct metrics_buf b = {0};
    metrics_buf_label(&b, "a\"b\\c\nd\te\x01\xc3\xa9");
    assert_non_null(b.p);
    assert_string_equal(b.p, "a\\\"b\\\\c\\nd?e???");
    metrics_buf_free(&b);
}

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    struct metrics_hist h;
    memset(&h, 0, sizeof h);
    metrics_observe(&h, 0.00005); /* first bucket (le 0.0001) */
    metrics_observe(&h, 0.0001);  /* on the bound: still le 0.0001 */
    metrics_observe(&h, 0.003);   /* le 0.005 */
    metrics_observe(&h, 5.0);     /* only +Inf */
    struct metrics_buf b = {0};
    metrics_buf_hist(&b, "x_seconds", "op", "account", &h);
    assert_int_equal(b.err, 0);
    assert_non_null(strstr(b.p, "x_seconds_bucket{op=\"account\",le=\"0.0001\"} 2\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{op=\"account\",le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{op=\"account\",le=\"0.005\"} 3\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{op=\"account\",le=\"1\"} 3\n"));
    assert_non_null(strstr(b.p, "x_seconds_bucket{op=\"account\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(b.p, "x_seconds_count{op=\"account\"} 4\n"));
    assert_non_null(strstr(b.p, "x_seconds_sum{op=\"account\"} 5.003150000\n"));
    metrics_buf_free(&b);
}

static void test_login_codes(void **state)
{
    (void)state;
    memset(g_metrics.logins, 0, sizeof g_metrics.logins);
    metrics_login(MET_LOGIN_TOKEN, 0);
    metrics_login(MET_LOGIN_TOKEN, 1212);
    metrics_login(MET_LOGIN_YMSG, 13);
    metrics_login(MET_LOGIN_YMSG, -1);
    metrics_login(MET_LOGIN_AMF, 1236);
    metrics_login(MET_LOGIN_AMF, 99999);
    metrics_login((enum metrics_login_path)7, 0); /* out of range: ignored */
    assert_int_equal(g_metrics.logins[MET_LOGIN_TOKEN][MET_LR_OK], 1);
    assert_int_equal(g_metrics.logins[MET_LOGIN_TOKEN][MET_LR_BAD_PASSWORD], 1);
    assert_int_equal(g_metrics.logins[MET_LOGIN_YMSG][MET_LR_BAD_PASSWORD], 1);
    assert_int_equal(g_metrics.logins[MET_LOGIN_YMSG][MET_LR_BAD_REQUEST], 1);
    assert_int_equal(g_metrics.logins[MET_LOGIN_AMF][MET_LR_THROTTLED], 1);
    assert_int_equal(g_metrics.logins[MET_LOGIN_AMF][MET_LR_OTHER], 1);
}

static void sum_rows(void *arg, const struct metrics_amf_row *r)
{
    uint64_t *v = arg;
    if (!strcmp(r->service, "other")) v[0] += r->count;
    else v[1] += r->count;
}

static void test_label_cap(void **state)
{
    (void)state;
    metrics_set_label_cap(3);
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "m%d", i);
        metrics_amf_call("Junk", name, "Server.ResourceUnavailable", 0);
    }
    /* 3 rows of junk plus one fold row */
    assert_int_equal(metrics_amf_rows(), 4);
    metrics_amf_call("Phonebook", "sync", "ok", 1); /* known names are not capped */
    metrics_amf_call("Phonebook", "sync", "ok", 1);
    assert_int_equal(metrics_amf_rows(), 5);
    uint64_t v[2] = {0, 0};
    metrics_amf_each(sum_rows, v);
    assert_int_equal(v[0], 97);
    assert_int_equal(v[1], 5);
}

static size_t depth_of(void *arg)
{
    return *(size_t *)arg;
}

static void collect_pool(void *arg, const char *name, size_t depth)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s=%zu;", name, depth);
}

static void test_hash_pools(void **state)
{
    (void)state;
    size_t a = 3, b = 7;
    char out[256] = "";
    metrics_hash_pool("amf", depth_of, &a);
    metrics_hash_pool("other", depth_of, &b);
    metrics_hash_pools_each(collect_pool, out);
    assert_string_equal(out, "amf=3;other=7;");
    a = 5;                                    /* read at scrape time, not at registration */
    metrics_hash_pool("amf", NULL, NULL);     /* removed */
    metrics_hash_pool("amf", depth_of, &a);   /* and back, in the free slot */
    out[0] = 0;
    metrics_hash_pools_each(collect_pool, out);
    assert_string_equal(out, "amf=5;other=7;");
    for (int i = 0; i < 10; i++) metrics_hash_pool(i % 2 ? "x" : "y", depth_of, &b); /* no growth past the table */
    out[0] = 0;
    metrics_hash_pools_each(collect_pool, out);
    assert_string_equal(out, "amf=5;other=7;y=7;x=7;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_histogram_is_cumulative),
        cmocka_unit_test(test_login_codes),
        cmocka_unit_test(test_label_cap),
        cmocka_unit_test(test_hash_pools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
