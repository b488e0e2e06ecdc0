/* lib/ymsg/builder.c: capped buffer, sticky errors, every build call. */
#include <limits.h>

#include "testutil.h"

static void test_basic_and_multi(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    assert_int_equal(b.version, YMSG_VERSION);
    assert_int_equal(b.vendor, 0);
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_PING, 1, 2), 0);
    assert_int_equal(ymsg_build_end(&b), 20); /* empty body */
    b.vendor = 100;
    b.version = 15;
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, 0x01020304), 0);
    assert_int_equal(ymsg_build_kv(&b, 14, "a\0b", 3), 0);
    assert_int_equal(ymsg_build_int(&b, 10, -5), 0);
    assert_int_equal(ymsg_build_str(&b, 0, ""), 0);
    assert_int_equal(ymsg_build_kv(&b, 5, NULL, 0), 0);
    ssize_t sz = ymsg_build_end(&b);
    uint8_t want[128];
    size_t wn = unhex("594d5347 000f 0064 001b 0006 5a55aa56 01020304"
                      "3134c080 610062 c080 3130c080 2d35 c080 30c080c080 35c080c080",
                      want, sizeof want);
    assert_int_equal(sz, (ssize_t)wn);
    assert_int_equal(b.len, 20 + wn);
    assert_memory_equal(buf + 20, want, wn);
    assert_int_equal(buf[6], 0); /* the first packet kept the defaults */
    assert_int_equal(buf[5], 16);
    /* both packets decode in sequence */
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_decode(buf, b.len, NULL, &pkt, NULL), 20);
    assert_int_equal(ymsg_decode(buf + 20, b.len - 20, NULL, &pkt, NULL), (ssize_t)wn);
    assert_int_equal(pkt.npairs, 4);
}

/* A reply that learns late it needs another packet marks itself continued (status 5). */
static void test_set_status(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    assert_int_equal(ymsg_build_set_status(&b, YMSG_PKT_CONTINUED), YMSG_ESTATE); /* no packet open */
    assert_int_equal(ymsg_build_end(&b), YMSG_ESTATE);
    ymsg_builder_reset(&b);
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_PING, 0, 7), 0);
    assert_int_equal(ymsg_build_end(&b), 20);
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_LIST_15, 0, 0x01020304), 0);
    assert_int_equal(ymsg_build_str(&b, 302, "318"), 0);
    assert_int_equal(ymsg_build_set_status(&b, 0xA1B2C3D4u), 0);
    assert_int_equal(ymsg_build_set_status(&b, YMSG_PKT_CONTINUED), 0);
    ssize_t n = ymsg_build_end(&b);
    assert_true(n > 20);
    struct ymsg_packet pkt;
    decode_one(buf + 20, (size_t)n, &pkt);
    assert_int_equal(pkt.hdr.status, YMSG_PKT_CONTINUED);
    assert_int_equal(pkt.hdr.session, 0x01020304);
    assert_int_equal(pkt.hdr.service, YMSG_SVC_LIST_15);
    decode_one(buf, 20, &pkt); /* the finished packet before it is untouched */
    assert_int_equal(pkt.hdr.status, 0);
    assert_int_equal(ymsg_build_set_status(&b, 0), YMSG_ESTATE); /* after end */
}

static void test_build_int_extremes(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, 1, 0, 0);
    ymsg_build_int(&b, 1, 0);
    ymsg_build_int(&b, 2, LLONG_MAX);
    ymsg_build_int(&b, 3, LLONG_MIN);
    ymsg_build_int(&b, 4294967295u, 318);
    ssize_t n = ymsg_build_end(&b);
    assert_true(n > 0);
    struct ymsg_packet pkt;
    decode_one(buf, (size_t)n, &pkt);
    assert_pair(&pkt, 0, 1, "0");
    assert_pair(&pkt, 1, 2, "9223372036854775807");
    assert_pair(&pkt, 2, 3, "-9223372036854775808");
    assert_pair(&pkt, 3, 4294967295u, "318");
}

static void test_enospc_sticky(void **state)
{
    (void)state;
    uint8_t buf[64];
    memset(buf, 0xAA, sizeof buf);
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, 40); /* buf[40..64) is a guard */
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_AUTH, 0, 0), 0);
    assert_int_equal(ymsg_build_str(&b, 1, "alice"), 0);
    assert_int_equal(ymsg_build_end(&b), 30);
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_AUTH, 0, 0), YMSG_ENOSPC); /* 30 + 20 > 40 */
    assert_int_equal(b.err, YMSG_ENOSPC);
    assert_int_equal(b.len, 30); /* the complete packet stays */
    assert_int_equal(ymsg_build_str(&b, 1, "x"), YMSG_ENOSPC);
    assert_int_equal(ymsg_build_end(&b), YMSG_ENOSPC);
    for (size_t i = 40; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);

    /* a pair that does not fit drops the half-built packet */
    ymsg_builder_reset(&b);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(ymsg_build_begin(&b, YMSG_SVC_AUTH, 0, 0), 0);
    assert_int_equal(ymsg_build_str(&b, 1, "alice"), 0);
    assert_int_equal(ymsg_build_str(&b, 2, "0123456789"), YMSG_ENOSPC);
    assert_int_equal(b.len, 0);
    assert_int_equal(ymsg_build_str(&b, 2, "x"), YMSG_ENOSPC); /* sticky */
    assert_int_equal(ymsg_build_int(&b, 2, 1), YMSG_ENOSPC);
    assert_int_equal(ymsg_build_begin(&b, 1, 0, 0), YMSG_ENOSPC);
    assert_int_equal(ymsg_build_end(&b), YMSG_ENOSPC);
    for (size_t i = 40; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAA);

    /* exact fit */
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, YMSG_SVC_AUTH, 0, 0);
    ymsg_build_str(&b, 1, "alice");
    assert_int_equal(ymsg_build_str(&b, 2, "xyzab"), 0); /* 30 + 10 = 40 */
    assert_int_equal(ymsg_build_end(&b), 40);
    assert_int_equal(ymsg_build_begin(&b, 1, 0, 0), YMSG_ENOSPC);
    assert_int_equal(b.len, 40);

    /* NULL buffer: nothing fits */
    ymsg_builder_init(&b, NULL, 100);
    assert_int_equal(ymsg_build_begin(&b, 1, 0, 0), YMSG_ENOSPC);
}

static void test_evalue_estate_einval(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    assert_int_equal(ymsg_build_str(&b, 1, "x"), YMSG_ESTATE); /* no begin */
    assert_int_equal(ymsg_build_end(&b), YMSG_ESTATE);
    ymsg_builder_reset(&b);
    assert_int_equal(ymsg_build_end(&b), YMSG_ESTATE);
    ymsg_builder_reset(&b);
    assert_int_equal(ymsg_build_begin(&b, 1, 0, 0), 0);
    assert_int_equal(ymsg_build_begin(&b, 1, 0, 0), YMSG_ESTATE); /* nested */
    assert_int_equal(b.len, 0);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_kv(&b, 1, "ab\xc0\x80" "cd", 6), YMSG_EVALUE);
    assert_int_equal(b.len, 0);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_kv(&b, 1, "\xc0\x80", 2), YMSG_EVALUE);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    /* lone C0 / 80 and C0 at the end are fine */
    assert_int_equal(ymsg_build_kv(&b, 1, "\x80\xc0", 2), 0);
    assert_int_equal(ymsg_build_kv(&b, 2, "\xc0", 1), 0);
    assert_int_equal(ymsg_build_kv(&b, 3, NULL, 5), YMSG_EINVAL);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_kv(&b, 1, "\x80\xc0", 2), 0);
    assert_int_equal(ymsg_build_kv(&b, 2, "\xc0", 1), 0);
    ssize_t n = ymsg_build_end(&b);
    struct ymsg_packet pkt;
    decode_one(buf, (size_t)n, &pkt);
    assert_int_equal(pkt.npairs, 2);
    struct ymsg_kv kv;
    assert_int_equal(ymsg_get(&pkt, 2, &kv), 0);
    assert_int_equal(kv.len, 1);
    assert_int_equal(kv.val[0], 0xC0);
}

static void test_etoobig(void **state)
{
    (void)state;
    static uint8_t buf[70000], big[65536];
    memset(big, 'x', sizeof big);
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_kv(&b, 1, big, 65535 - 5), 0); /* "1" C080 v C080 = 65535 exactly */
    ssize_t n = ymsg_build_end(&b);
    assert_int_equal(n, 20 + 65535);
    struct ymsg_packet pkt;
    decode_one(buf, (size_t)n, &pkt);
    assert_int_equal(pkt.hdr.length, 65535);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_kv(&b, 1, big, 65535 - 4), YMSG_ETOOBIG);
    assert_int_equal(b.len, 0);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_kv(&b, 1, big, sizeof big), YMSG_ETOOBIG);
}

static void test_build_pairs(void **state)
{
    (void)state;
    uint8_t src[128], dst[256];
    size_t n;
    struct ymsg_header h = {.version = 16, .length = 16, .service = 6};
    ymsg_header_encode(src, &h);
    memcpy(src + 20, "007\xc0\x80x\xc0\x80" "14\xc0\x80hi\xc0\x80", 16);
    n = 36;
    struct ymsg_packet pkt;
    decode_one(src, n, &pkt);
    struct ymsg_builder b;
    ymsg_builder_init(&b, dst, sizeof dst);
    ymsg_build_begin(&b, YMSG_SVC_MESSAGE, 1, 42);
    ymsg_build_str(&b, 4, "bob");
    assert_int_equal(ymsg_build_pairs(&b, &pkt), 0);
    ymsg_build_str(&b, 97, "1");
    ssize_t sz = ymsg_build_end(&b);
    struct ymsg_packet out;
    decode_one(dst, (size_t)sz, &out);
    assert_int_equal(out.npairs, 4);
    assert_pair(&out, 0, 4, "bob");
    assert_pair(&out, 1, 7, "x");
    assert_pair(&out, 2, 14, "hi");
    assert_pair(&out, 3, 97, "1");
    assert_memory_equal(out.body + 8, src + 20, 16); /* verbatim, key spelling kept */
    assert_int_equal(out.hdr.session, 42);
    /* empty packet, no packet open, NULL packet */
    struct ymsg_packet empty = {.hdr = {.length = 0}, .body = NULL, .npairs = 0};
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_pairs(&b, &empty), 0);
    assert_int_equal(ymsg_build_end(&b), 20);
    assert_int_equal(ymsg_build_pairs(&b, &pkt), YMSG_ESTATE);
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_pairs(&b, NULL), YMSG_EINVAL);
    /* too little room */
    ymsg_builder_init(&b, dst, 30);
    ymsg_build_begin(&b, 1, 0, 0);
    assert_int_equal(ymsg_build_pairs(&b, &pkt), YMSG_ENOSPC);
    assert_int_equal(b.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_multi),      cmocka_unit_test(test_build_int_extremes),
        cmocka_unit_test(test_enospc_sticky),        cmocka_unit_test(test_evalue_estate_einval),
        cmocka_unit_test(test_etoobig),              cmocka_unit_test(test_build_pairs),
        cmocka_unit_test(test_set_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
