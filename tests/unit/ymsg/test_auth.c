/* lib/ymsg/auth.c: Y64, the v16 response, method 0 (fixed vectors; the randomised independent check is
 * test_auth_independent.py), constant-time comparison. */
#include "testutil.h"

static void test_y64_vectors(void **state)
{
    (void)state;
    char out[64];
    /* YMSG.md §9.3 */
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"\xfb\xff\xbf", 3, out, sizeof out), 4);
    assert_string_equal(out, "._._");
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"\xff", 1, out, sizeof out), 4);
    assert_string_equal(out, "_w--");
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"\xff\xff", 2, out, sizeof out), 4);
    assert_string_equal(out, "__8-");
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(ymsg_y64_encode(NULL, 0, out, sizeof out), 0);
    /* RFC 4648 test vectors, translated */
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"foobar", 6, out, sizeof out), 8);
    assert_string_equal(out, "Zm9vYmFy");
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"fo", 2, out, sizeof out), 4);
    assert_string_equal(out, "Zm8-");
    /* exact capacity */
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"fo", 2, out, 5), 4);
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"fo", 2, out, 4), YMSG_ENOSPC);
    assert_int_equal(ymsg_y64_encode((const uint8_t *)"fo", 2, NULL, 5), YMSG_EINVAL);
    assert_int_equal(ymsg_y64_encode(NULL, 2, out, 5), YMSG_EINVAL);
}

static void test_y64_decode(void **state)
{
    (void)state;
    uint8_t out[64];
    assert_int_equal(ymsg_y64_decode("._._", 4, out, sizeof out), 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);
    assert_int_equal(ymsg_y64_decode("_w--", 4, out, sizeof out), 1);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(ymsg_y64_decode("__8-", 4, out, sizeof out), 2);
    assert_memory_equal(out, "\xff\xff", 2);
    assert_int_equal(ymsg_y64_decode("__8", 3, out, sizeof out), 2); /* unpadded */
    assert_int_equal(ymsg_y64_decode("Zm9vYmFy", 8, out, sizeof out), 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(ymsg_y64_decode("", 0, out, sizeof out), 0);
    assert_int_equal(ymsg_y64_decode("Zm9vYmFy", 8, out, 5), YMSG_ENOSPC);
    assert_int_equal(ymsg_y64_decode("Zm9vYmFy", 8, out, 6), 6);
    assert_int_equal(ymsg_y64_decode("Zm9vYmF+", 8, out, sizeof out), YMSG_EINVAL); /* std alphabet */
    assert_int_equal(ymsg_y64_decode("Zm9=", 4, out, sizeof out), YMSG_EINVAL);
    assert_int_equal(ymsg_y64_decode("Z-8-", 4, out, sizeof out), YMSG_EINVAL);   /* pad inside */
    assert_int_equal(ymsg_y64_decode("Z---", 4, out, sizeof out), YMSG_EINVAL);
    assert_int_equal(ymsg_y64_decode("Zm9vY", 5, out, sizeof out), YMSG_EINVAL); /* 1 char left */
    assert_int_equal(ymsg_y64_decode(NULL, 4, out, sizeof out), YMSG_EINVAL);
    /* round trip over every length up to 48 */
    uint8_t in[48], back[48];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof in; n++) {
        char t[80];
        ssize_t tl = ymsg_y64_encode(in, n, t, sizeof t);
        assert_int_equal(tl, (ssize_t)((n + 2) / 3 * 4));
        assert_int_equal(ymsg_y64_decode(t, (size_t)tl, back, sizeof back), (ssize_t)n);
        assert_memory_equal(back, in, n);
    }
}

static void test_auth16(void **state)
{
    (void)state;
    char out[25];
    /* YMSG.md §9.3 */
    assert_int_equal(ymsg_auth16_response("GbYfS1Jq1Dk", "g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--", out), 0);
    assert_string_equal(out, "XNWI3fXT9Q9MrFsA40flsA--");
    /* YMSG.md §13.2 */
    assert_int_equal(ymsg_auth16_response("CRUMBalice", "x^0+1-2*3/4%5", out), 0);
    assert_string_equal(out, "BQE_U9_xt0ZH3ezzSTx8bA--");
    /* MD5("") = d41d8cd98f00b204e9800998ecf8427e */
    assert_int_equal(ymsg_auth16_response("", "", out), 0);
    assert_string_equal(out, "1B2M2Y8AsgTpgAmY7PhCfg--");
    assert_int_equal(ymsg_auth16_response(NULL, "x", out), YMSG_EINVAL);
    assert_int_equal(ymsg_auth16_response("x", NULL, out), YMSG_EINVAL);
}

static void test_method0(void **state)
{
    (void)state;
    char r6[25], r96[25], p[25], c[25];
    /* P = Y64(MD5("secret")); MD5("secret") = 5ebe2294ecd0e0f08eab7690d2a6ee69 */
    assert_int_equal(ymsg_auth_method0_hashes("secret", p, c), 0);
    assert_string_equal(p, "Xr4ilOzQ4PCOq3aQ0qbuaQ--");
    /* C = Y64(MD5("$1$_2S43d5f$TP0X/xQfbJsulWCAryrua0")) — the md5crypt value from `openssl passwd -1
     * -salt _2S43d5f secret`; the MD5 of it comes from test_auth_independent.py's hashlib */
    assert_int_equal(strlen(c), 24);
    char r6b[25], r96b[25];
    assert_int_equal(ymsg_auth_method0("alice", "secret", "ZLDf53MhvtLtBxSAeupbLw8K", r6, r96), 0);
    assert_int_equal(ymsg_auth_method0_from_hashes("alice", p, c, "ZLDf53MhvtLtBxSAeupbLw8K", r6b, r96b), 0);
    assert_string_equal(r6, r6b);
    assert_string_equal(r96, r96b);
    assert_int_equal(strlen(r6), 24);
    assert_string_not_equal(r6, r96);
    /* a different user, password or challenge changes both */
    assert_int_equal(ymsg_auth_method0("bob", "secret", "ZLDf53MhvtLtBxSAeupbLw8K", r6b, r96b), 0);
    assert_string_not_equal(r6, r6b);
    assert_string_not_equal(r96, r96b);
    assert_int_equal(ymsg_auth_method0("alice", "secret", "ZLDf53MhvtLtBxSAeupbLw8L", r6b, r96b), 0);
    assert_string_not_equal(r6, r6b);
    /* challenge shorter than 16 */
    assert_int_equal(ymsg_auth_method0("alice", "secret", "0123456789abcde", r6, r96), YMSG_EINVAL);
    assert_int_equal(ymsg_auth_method0_from_hashes("alice", p, c, "short", r6, r96), YMSG_EINVAL);
    assert_int_equal(ymsg_auth_method0(NULL, "secret", "ZLDf53MhvtLtBxSAeupbLw8K", r6, r96), YMSG_EINVAL);
    assert_int_equal(ymsg_auth_method0_hashes(NULL, p, c), YMSG_EINVAL);
}

static void test_ct_streq(void **state)
{
    (void)state;
    assert_true(ymsg_ct_streq("abc", "abc"));
    assert_true(ymsg_ct_streq("", ""));
    assert_false(ymsg_ct_streq("abc", "abd"));
    assert_false(ymsg_ct_streq("abc", "ab"));
    assert_false(ymsg_ct_streq("ab", "abc"));
    assert_false(ymsg_ct_streq("", "a"));
    assert_false(ymsg_ct_streq("\x01", "\x81"));
    assert_false(ymsg_ct_streq(NULL, "a"));
    assert_false(ymsg_ct_streq("a", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_y64_vectors), cmocka_unit_test(test_y64_decode), cmocka_unit_test(test_auth16),
        cmocka_unit_test(test_method0),     cmocka_unit_test(test_ct_streq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
