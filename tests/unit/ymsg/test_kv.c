/* lib/ymsg/kv.c: iteration and look-ups. */
#include <limits.h>

#include "testutil.h"

/* 1=alice 7=bob 7= 7=carol 10=-42 11=+7 12=x1 13=9223372036854775807 14=-9223372036854775808
 * 15=9223372036854775808 16= 17=- 18=007 */
static size_t build_sample(uint8_t *buf, size_t cap)
{
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, cap);
    ymsg_build_begin(&b, YMSG_SVC_LIST_15, 0, 1);
    ymsg_build_str(&b, 1, "alice");
    ymsg_build_str(&b, 7, "bob");
    ymsg_build_str(&b, 7, NULL);
    ymsg_build_str(&b, 7, "carol");
    ymsg_build_str(&b, 10, "-42");
    ymsg_build_str(&b, 11, "+7");
    ymsg_build_str(&b, 12, "x1");
    ymsg_build_str(&b, 13, "9223372036854775807");
    ymsg_build_str(&b, 14, "-9223372036854775808");
    ymsg_build_str(&b, 15, "9223372036854775808");
    ymsg_build_str(&b, 16, "");
    ymsg_build_str(&b, 17, "-");
    ymsg_build_str(&b, 18, "007");
    ssize_t n = ymsg_build_end(&b);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_next(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = build_sample(buf, sizeof buf);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    assert_int_equal(pkt.npairs, 13);
    static const uint32_t keys[] = {1, 7, 7, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    size_t pos = 0, i = 0;
    struct ymsg_kv kv;
    while (ymsg_next(&pkt, &pos, &kv)) {
        assert_true(i < 13);
        assert_int_equal(kv.key, keys[i]);
        assert_true(kv.val >= pkt.body && kv.val + kv.len <= pkt.body + pkt.hdr.length);
        i++;
    }
    assert_int_equal(i, 13);
    assert_int_equal(pos, pkt.hdr.length);
    assert_int_equal(ymsg_next(&pkt, &pos, &kv), 0); /* stays at the end */
    assert_pair(&pkt, 0, 1, "alice");
    assert_pair(&pkt, 2, 7, "");
    assert_pair(&pkt, 12, 18, "007");
}

static void test_get_nth_count_all(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = build_sample(buf, sizeof buf);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    struct ymsg_kv kv;
    assert_int_equal(ymsg_get(&pkt, 7, &kv), 0);
    assert_true(ymsg_kv_eq(&kv, "bob"));
    assert_int_equal(ymsg_get_nth(&pkt, 7, 0, &kv), 0);
    assert_true(ymsg_kv_eq(&kv, "bob"));
    assert_int_equal(ymsg_get_nth(&pkt, 7, 1, &kv), 0);
    assert_true(ymsg_kv_eq(&kv, ""));
    assert_int_equal(ymsg_get_nth(&pkt, 7, 2, &kv), 0);
    assert_true(ymsg_kv_eq(&kv, "carol"));
    assert_int_equal(ymsg_get_nth(&pkt, 7, 3, &kv), YMSG_ENOENT);
    assert_int_equal(ymsg_get(&pkt, 99, &kv), YMSG_ENOENT);
    assert_int_equal(ymsg_get(&pkt, 1, NULL), 0);
    assert_int_equal(ymsg_count(&pkt, 7), 3);
    assert_int_equal(ymsg_count(&pkt, 1), 1);
    assert_int_equal(ymsg_count(&pkt, 99), 0);

    struct ymsg_kv all[2];
    assert_int_equal(ymsg_get_all(&pkt, 7, all, 2), 3); /* found 3, stored 2 */
    assert_true(ymsg_kv_eq(&all[0], "bob"));
    assert_true(ymsg_kv_eq(&all[1], ""));
    struct ymsg_kv all4[4];
    assert_int_equal(ymsg_get_all(&pkt, 7, all4, 4), 3);
    assert_true(ymsg_kv_eq(&all4[2], "carol"));
    assert_int_equal(ymsg_get_all(&pkt, 7, NULL, 0), 3);
    assert_int_equal(ymsg_get_all(&pkt, 99, all4, 4), 0);
}

static void test_get_str(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = build_sample(buf, sizeof buf);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    char s[16];
    assert_int_equal(ymsg_get_str(&pkt, 1, s, sizeof s), 5);
    assert_string_equal(s, "alice");
    assert_int_equal(ymsg_get_str(&pkt, 1, s, 4), 5); /* truncated, full length returned */
    assert_string_equal(s, "ali");
    assert_int_equal(ymsg_get_str(&pkt, 1, s, 1), 5);
    assert_string_equal(s, "");
    assert_int_equal(ymsg_get_str(&pkt, 1, NULL, 0), 5);
    strcpy(s, "junk");
    assert_int_equal(ymsg_get_str(&pkt, 99, s, sizeof s), YMSG_ENOENT);
    assert_string_equal(s, "");
    assert_int_equal(ymsg_get_str(NULL, 1, s, sizeof s), YMSG_ENOENT);
    assert_int_equal(ymsg_get_str(&pkt, 16, s, sizeof s), 0);
    assert_string_equal(s, "");
}

static void test_get_int(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = build_sample(buf, sizeof buf);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    long long v = 1;
    assert_int_equal(ymsg_get_int(&pkt, 10, &v), 0);
    assert_true(v == -42);
    assert_int_equal(ymsg_get_int(&pkt, 11, &v), 0);
    assert_true(v == 7);
    assert_int_equal(ymsg_get_int(&pkt, 13, &v), 0);
    assert_true(v == LLONG_MAX);
    assert_int_equal(ymsg_get_int(&pkt, 14, &v), 0);
    assert_true(v == LLONG_MIN);
    assert_int_equal(ymsg_get_int(&pkt, 18, &v), 0);
    assert_true(v == 7);
    v = 5;
    assert_int_equal(ymsg_get_int(&pkt, 15, &v), YMSG_EINVAL); /* overflow */
    assert_int_equal(ymsg_get_int(&pkt, 12, &v), YMSG_EINVAL);
    assert_int_equal(ymsg_get_int(&pkt, 16, &v), YMSG_EINVAL); /* empty */
    assert_int_equal(ymsg_get_int(&pkt, 17, &v), YMSG_EINVAL); /* sign only */
    assert_int_equal(ymsg_get_int(&pkt, 1, &v), YMSG_EINVAL);
    assert_true(v == 5); /* untouched on error */
    assert_int_equal(ymsg_get_int(&pkt, 99, &v), YMSG_ENOENT);
    assert_int_equal(ymsg_get_int(NULL, 1, &v), YMSG_ENOENT);
    assert_int_equal(ymsg_get_int(&pkt, 10, NULL), 0);
}

static void test_kv_eq(void **state)
{
    (void)state;
    struct ymsg_kv kv = {.key = 1, .val = (const uint8_t *)"abc", .len = 3};
    assert_true(ymsg_kv_eq(&kv, "abc"));
    assert_false(ymsg_kv_eq(&kv, "ab"));
    assert_false(ymsg_kv_eq(&kv, "abcd"));
    assert_false(ymsg_kv_eq(&kv, "abd"));
    assert_false(ymsg_kv_eq(&kv, NULL));
    assert_false(ymsg_kv_eq(NULL, "abc"));
    kv.len = 0;
    assert_true(ymsg_kv_eq(&kv, ""));
    /* binary value with a NUL never equals a C string that stops there */
    struct ymsg_kv bin = {.key = 1, .val = (const uint8_t *)"a\0b", .len = 3};
    assert_false(ymsg_kv_eq(&bin, "a"));
}

static void test_next_batch(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = build_sample(buf, sizeof buf);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    struct ymsg_kv ref[16], got[16];
    size_t pos = 0, i = 0;
    while (ymsg_next(&pkt, &pos, &ref[i]))
        i++;
    assert_int_equal(i, 13);
    for (size_t max = 1; max <= 14; max++) {
        size_t bp = 0, total = 0, k;
        while ((k = ymsg_next_batch(&pkt, &bp, got + total, max)) > 0) {
            assert_true(k <= max);
            total += k;
            assert_true(total <= 13);
        }
        assert_int_equal(total, 13);
        assert_int_equal(bp, pkt.hdr.length);
        for (size_t j = 0; j < 13; j++) {
            assert_int_equal(got[j].key, ref[j].key);
            assert_ptr_equal(got[j].val, ref[j].val);
            assert_int_equal(got[j].len, ref[j].len);
        }
    }
    size_t bp = 0;
    assert_int_equal(ymsg_next_batch(&pkt, &bp, got, 0), 0);
    assert_int_equal(bp, 0);
    /* ymsg_decode_pairs stores the same views in the decoding pass */
    struct ymsg_packet p2;
    memset(got, 0, sizeof got);
    assert_int_equal(ymsg_decode_pairs(buf, n, NULL, &p2, got, 5, NULL), (ssize_t)n);
    assert_int_equal(p2.npairs, 13);
    for (size_t j = 0; j < 5; j++) {
        assert_int_equal(got[j].key, ref[j].key);
        assert_ptr_equal(got[j].val, ref[j].val);
        assert_int_equal(got[j].len, ref[j].len);
    }
    assert_null(got[5].val); /* nothing past kvcap */
    /* ...and resuming with ymsg_next after kv[kvcap-1] yields the rest */
    pos = (size_t)(got[4].val + got[4].len + 2 - p2.body);
    struct ymsg_kv kv;
    assert_true(ymsg_next(&p2, &pos, &kv));
    assert_int_equal(kv.key, ref[5].key);
}

static void test_empty_packet(void **state)
{
    (void)state;
    uint8_t buf[20];
    struct ymsg_header h = {.version = 16, .service = YMSG_SVC_PING};
    ymsg_header_encode(buf, &h);
    struct ymsg_packet pkt;
    decode_one(buf, 20, &pkt);
    size_t pos = 0;
    struct ymsg_kv kv;
    assert_int_equal(ymsg_next(&pkt, &pos, &kv), 0);
    assert_int_equal(ymsg_get(&pkt, 0, &kv), YMSG_ENOENT);
    assert_int_equal(ymsg_count(&pkt, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),        cmocka_unit_test(test_get_nth_count_all),
        cmocka_unit_test(test_get_str),     cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_kv_eq),       cmocka_unit_test(test_empty_packet),
        cmocka_unit_test(test_next_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
