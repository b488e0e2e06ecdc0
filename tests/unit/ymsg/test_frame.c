/* lib/ymsg/frame.c: header codec, streaming decoder, body validation, resync.
 * Byte vectors are YMSG.md §9.3 / §13, and client->server packets from /work/shared/captures. */
#include "testutil.h"

/* ---- YMSG.md §9.3 and §13 vectors ---- */
static const char V_AUTH[] = "59 4d 53 47 00 10 00 00 00 0a 00 57 00 00 00 00"
                             "00 00 00 00 31 c0 80 61 6c 69 63 65 c0 80";
static const char V_AUTH_REPLY[] = "59 4d 53 47 00 10 00 00 00 3f 00 57 00 00 00 01"
                                   "00 47 e1 33 31 c0 80 61 6c 69 63 65 c0 80 39 34"
                                   "c0 80 67 2e 34 59 35 53 4a 5a 36 6e 6b 46 41 6f"
                                   "55 66 71 4b 4d 48 47 62 76 49 41 73 53 6a 48 34"
                                   "5a 55 57 56 71 63 70 67 2d 2d c0 80 31 33 c0 80"
                                   "32 c0 80";
static const char V_FAIL54[] = "59 4d 53 47 00 10 00 00 00 08 00 54 ff ff ff ff"
                               "00 47 e1 33 36 36 c0 80 31 33 c0 80";
static const char V_KICK02[] = "59 4d 53 47 00 10 00 00 00 08 00 02 ff ff ff ff"
                               "00 47 e1 33 36 36 c0 80 34 32 c0 80";
static const char V_STATUS15[] = "59 4d 53 47 00 10 00 00 00 3e 00 f0 00 00 00 01"
                                 "00 47 e1 33 33 30 32 c0 80 33 31 35 c0 80 33 30"
                                 "30 c0 80 33 31 35 c0 80 37 c0 80 62 6f 62 c0 80"
                                 "31 30 c0 80 30 c0 80 31 33 c0 80 31 c0 80 33 30"
                                 "31 c0 80 33 31 35 c0 80 33 30 33 c0 80 33 31 35"
                                 "c0 80";
/* §13.2 step 2: the 0x57 reply with session 0x01020304 and challenge x^0+1-2*3/4%5 */
static const char V_132[] = "594d53470010000000240057000000010102030431c080616c696365c0803934c080785e302b312d322a332f3425"
                            "35c0803133c08032c080";
/* §9.2: a Mac (vendor 100) keepalive header */
static const char V_MAC_HDR[] = "59 4d 53 47 00 10 00 64 00 10 00 8a 00 00 00 00 00 40 e2 03";

static void build_and_compare(const char *hex, uint16_t svc, uint32_t status, uint32_t session,
                              const uint32_t *keys, const char *const *vals, size_t n)
{
    uint8_t want[256], got[256];
    size_t wn = unhex(hex, want, sizeof want);
    struct ymsg_builder b;
    ymsg_builder_init(&b, got, sizeof got);
    assert_int_equal(ymsg_build_begin(&b, svc, status, session), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ymsg_build_str(&b, keys[i], vals[i]), 0);
    assert_int_equal(ymsg_build_end(&b), (ssize_t)wn);
    assert_int_equal(b.len, wn);
    assert_memory_equal(got, want, wn);

    struct ymsg_packet pkt;
    decode_one(want, wn, &pkt);
    assert_int_equal(pkt.hdr.version, 16);
    assert_int_equal(pkt.hdr.version_le, 0);
    assert_int_equal(pkt.hdr.vendor, 0);
    assert_int_equal(pkt.hdr.length, wn - 20);
    assert_int_equal(pkt.hdr.service, svc);
    assert_int_equal(pkt.hdr.status, status);
    assert_int_equal(pkt.hdr.session, session);
    assert_int_equal(pkt.npairs, n);
    assert_ptr_equal(pkt.body, want + 20);
    for (size_t i = 0; i < n; i++)
        assert_pair(&pkt, i, keys[i], vals[i]);
}

static void test_vector_auth(void **state)
{
    (void)state;
    const uint32_t k[] = {1};
    const char *v[] = {"alice"};
    build_and_compare(V_AUTH, YMSG_SVC_AUTH, 0, 0, k, v, 1);
}

static void test_vector_auth_reply(void **state)
{
    (void)state;
    const uint32_t k[] = {1, 94, 13};
    const char *v[] = {"alice", "g.4Y5SJZ6nkFAoUfqKMHGbvIAsSjH4ZUWVqcpg--", "2"};
    build_and_compare(V_AUTH_REPLY, YMSG_SVC_AUTH, 1, 0x0047E133, k, v, 3);
}

static void test_vector_fail54(void **state)
{
    (void)state;
    const uint32_t k[] = {66};
    const char *v[] = {"13"};
    build_and_compare(V_FAIL54, YMSG_SVC_AUTHRESP, YMSG_PKT_ERROR, 0x0047E133, k, v, 1);
}

static void test_vector_kick02(void **state)
{
    (void)state;
    const uint32_t k[] = {66};
    const char *v[] = {"42"};
    build_and_compare(V_KICK02, YMSG_SVC_LOGOFF, YMSG_PKT_ERROR, 0x0047E133, k, v, 1);
}

static void test_vector_status15(void **state)
{
    (void)state;
    const uint32_t k[] = {302, 300, 7, 10, 13, 301, 303};
    const char *v[] = {"315", "315", "bob", "0", "1", "315", "315"};
    build_and_compare(V_STATUS15, YMSG_SVC_STATUS_15, 1, 0x0047E133, k, v, 7);
}

static void test_vector_13_2(void **state)
{
    (void)state;
    const uint32_t k[] = {1, 94, 13};
    const char *v[] = {"alice", "x^0+1-2*3/4%5", "2"};
    build_and_compare(V_132, YMSG_SVC_AUTH, 1, 0x01020304, k, v, 3);
}

/* ---- header ---- */
static void test_header_be_mac(void **state)
{
    (void)state;
    uint8_t buf[20], back[20];
    assert_int_equal(unhex(V_MAC_HDR, buf, sizeof buf), 20);
    struct ymsg_header h;
    assert_int_equal(ymsg_header_decode(buf, 20, &h), YMSG_HEADER_LEN);
    assert_int_equal(h.version, 16);
    assert_int_equal(h.version_le, 0);
    assert_int_equal(h.vendor, 100);
    assert_int_equal(h.length, 16);
    assert_int_equal(h.service, YMSG_SVC_KEEPALIVE);
    assert_int_equal(h.status, 0);
    assert_int_equal(h.session, 0x0040E203);
    ymsg_header_encode(back, &h);
    assert_memory_equal(back, buf, 20);
}

static void test_header_little_endian_versions(void **state)
{
    (void)state;
    /* YMSG.md §1.1: 09 00 00 00, 0a 00, 08 00 are LE versions 9/10/8 */
    static const struct {
        const char *hex;
        uint16_t version;
        uint16_t vendor;
        uint8_t le;
    } cases[] = {
        {"594d5347 09000000 0000 004c 00000000 00000000", 9, 0, 1},
        {"594d5347 0a000000 0000 004c 00000000 00000000", 10, 0, 1},
        {"594d5347 08000000 0000 004c 00000000 00000000", 8, 0, 1},
        {"594d5347 0a000064 0000 004c 00000000 00000000", 10, 100, 1},
        {"594d5347 000c0000 0000 004c 00000000 00000000", 12, 0, 0},
        {"594d5347 00090000 0000 004c 00000000 00000000", 9, 0, 0},
        {"594d5347 00650000 0000 004c 00000000 00000000", 0x65, 0, 0},
        {"594d5347 0b000000 0000 004c 00000000 00000000", 0x0b00, 0, 0},
        {"594d5347 00000000 0000 004c 00000000 00000000", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[20], back[20];
        unhex(cases[i].hex, buf, sizeof buf);
        struct ymsg_header h;
        assert_int_equal(ymsg_header_decode(buf, 20, &h), 20);
        assert_int_equal(h.version, cases[i].version);
        assert_int_equal(h.vendor, cases[i].vendor);
        assert_int_equal(h.version_le, cases[i].le);
        ymsg_header_encode(back, &h);
        assert_memory_equal(back, buf, 20); /* re-encodes in the form it arrived */
        struct ymsg_packet pkt;
        decode_one(buf, 20, &pkt);
        assert_int_equal(pkt.hdr.version, cases[i].version);
        assert_int_equal(pkt.npairs, 0);
    }
}

static void test_header_errors(void **state)
{
    (void)state;
    uint8_t buf[20];
    unhex(V_MAC_HDR, buf, sizeof buf);
    struct ymsg_header h;
    for (size_t n = 0; n < 20; n++)
        assert_int_equal(ymsg_header_decode(buf, n, &h), YMSG_EAGAIN);
    buf[2] = 'X';
    assert_int_equal(ymsg_header_decode(buf, 20, &h), YMSG_EMAGIC);
    assert_int_equal(ymsg_header_decode(buf, 3, &h), YMSG_EMAGIC);
    assert_int_equal(ymsg_header_decode(buf, 2, &h), YMSG_EAGAIN);
}

static void test_header_full_fields(void **state)
{
    (void)state;
    struct ymsg_header h = {.version = 0x1234, .vendor = 0x5678, .length = 0x9abc, .service = 0x7D1,
                            .status = 0xdeadbeef, .session = 0x01020304, .version_le = 0};
    uint8_t buf[20], want[20];
    ymsg_header_encode(buf, &h);
    unhex("594d5347 1234 5678 9abc 07d1 deadbeef 01020304", want, 20);
    assert_memory_equal(buf, want, 20);
    struct ymsg_header d;
    assert_int_equal(ymsg_header_decode(buf, 20, &d), 20);
    assert_int_equal(d.version, 0x1234);
    assert_int_equal(d.vendor, 0x5678);
    assert_int_equal(d.length, 0x9abc);
    assert_int_equal(d.service, 0x7D1);
    assert_int_equal(d.status, 0xdeadbeef);
    assert_int_equal(d.session, 0x01020304);
}

/* ---- every decoder error, with its offset ---- */
#define expect_err(...) expect_err_at(__LINE__, __VA_ARGS__)
static void expect_err_at(int line, const uint8_t *buf, size_t len, const struct ymsg_limits *lim, ssize_t err,
                          size_t off)
{
    struct ymsg_packet pkt;
    size_t eo = 12345;
    ssize_t rc = ymsg_decode(buf, len, lim, &pkt, &eo);
    if (rc != err || eo != off)
        fail_msg("line %d: got %zd at offset %zu, want %zd at %zu", line, rc, eo, err, off);
    /* err_off may be NULL */
    assert_int_equal(ymsg_decode(buf, len, lim, &pkt, NULL), err);
}

/* Header with the given body appended; returns the total length. */
static size_t with_body(uint8_t *out, const void *body, size_t n)
{
    struct ymsg_header h = {.version = 16, .length = (uint16_t)n, .service = 6};
    ymsg_header_encode(out, &h);
    memcpy(out + 20, body, n);
    return 20 + n;
}

static void test_errors_with_offsets(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n;

    /* bad magic: offset of the first wrong byte; detected before 20 bytes arrive */
    expect_err((const uint8_t *)"XMSG", 4, NULL, YMSG_EMAGIC, 0);
    expect_err((const uint8_t *)"YMSX", 4, NULL, YMSG_EMAGIC, 3);
    expect_err((const uint8_t *)"YM", 2, NULL, YMSG_EAGAIN, 12345);
    expect_err((const uint8_t *)"GET / HTTP/1.0\r\n\r\nxxxxxxxxxx", 28, NULL, YMSG_EMAGIC, 0);

    /* body over the cap: offset of the length field */
    n = with_body(buf, "1\xc0\x80" "abcdef\xc0\x80", 11);
    struct ymsg_limits lim = {.max_body = 10, .max_pairs = 0};
    expect_err(buf, n, &lim, YMSG_ETOOBIG, 8);
    expect_err(buf, 20, &lim, YMSG_ETOOBIG, 8); /* known from the header alone */
    lim.max_body = 11;
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_decode(buf, n, &lim, &pkt, NULL), (ssize_t)n);
    /* too many pairs: offset of the first key over the cap */
    n = with_body(buf, "1\xc0\x80" "a\xc0\x80" "2\xc0\x80" "b\xc0\x80" "3\xc0\x80" "c\xc0\x80", 18);
    lim = (struct ymsg_limits){.max_body = 0, .max_pairs = 2};
    expect_err(buf, n, &lim, YMSG_ETOOBIG, 20 + 12);
    lim.max_pairs = 3;
    assert_int_equal(ymsg_decode(buf, n, &lim, &pkt, NULL), (ssize_t)n);

    /* keys */
    n = with_body(buf, "1a\xc0\x80" "x\xc0\x80", 7);
    expect_err(buf, n, NULL, YMSG_EKEY, 21); /* the 'a' */
    n = with_body(buf, "\xc0\x80" "x\xc0\x80", 5);
    expect_err(buf, n, NULL, YMSG_EKEY, 20); /* empty key */
    n = with_body(buf, "1\xc0\x80" "x\xc0\x80" "\xc0\x80" "y\xc0\x80", 11);
    expect_err(buf, n, NULL, YMSG_EKEY, 26); /* empty second key */
    n = with_body(buf, "4294967295\xc0\x80" "x\xc0\x80", 15);
    assert_int_equal(ymsg_decode(buf, n, NULL, &pkt, NULL), (ssize_t)n); /* UINT32_MAX is fine */
    assert_pair(&pkt, 0, 4294967295u, "x");
    n = with_body(buf, "4294967296\xc0\x80" "x\xc0\x80", 15);
    expect_err(buf, n, NULL, YMSG_EKEY, 20); /* overflow: the key's start */
    n = with_body(buf, "00000000001\xc0\x80" "x\xc0\x80", 16);
    expect_err(buf, n, NULL, YMSG_EKEY, 30); /* 11th digit */
    n = with_body(buf, "0000000001\xc0\x80" "x\xc0\x80", 15);
    assert_int_equal(ymsg_decode(buf, n, NULL, &pkt, NULL), (ssize_t)n); /* 10 digits, leading zeros */
    assert_pair(&pkt, 0, 1, "x");
    n = with_body(buf, "1\xc0\x81" "x\xc0\x80", 7);
    expect_err(buf, n, NULL, YMSG_EKEY, 21); /* C0 not followed by 80 inside a key */
    n = with_body(buf, "-1\xc0\x80" "x\xc0\x80", 7);
    expect_err(buf, n, NULL, YMSG_EKEY, 20);
    n = with_body(buf, " 1\xc0\x80" "x\xc0\x80", 7);
    expect_err(buf, n, NULL, YMSG_EKEY, 20);

    /* odd number of fields: offset of the key that has no value */
    n = with_body(buf, "1\xc0\x80" "alice\xc0\x80" "5\xc0\x80", 13);
    expect_err(buf, n, NULL, YMSG_EODD, 30);
    n = with_body(buf, "14\xc0\x80", 4);
    expect_err(buf, n, NULL, YMSG_EODD, 20);

    /* missing trailing separator: offset of the unterminated field (or the half separator) */
    n = with_body(buf, "1\xc0\x80" "alice", 8);
    expect_err(buf, n, NULL, YMSG_ETRAIL, 23);
    n = with_body(buf, "1\xc0\x80" "alice\xc0", 9);
    expect_err(buf, n, NULL, YMSG_ETRAIL, 23);
    n = with_body(buf, "1\xc0\x80" "a\xc0\x80" "12", 8);
    expect_err(buf, n, NULL, YMSG_ETRAIL, 26); /* key running to the end */
    n = with_body(buf, "12\xc0", 3);
    expect_err(buf, n, NULL, YMSG_ETRAIL, 22);
    n = with_body(buf, "1\xc0\x80" "\xc0\x80\xc0\x80", 7);
    expect_err(buf, n, NULL, YMSG_EKEY, 25); /* "1"="" then an empty key */
}

static void test_limits_default(void **state)
{
    (void)state;
    struct ymsg_limits lim = {1, 1};
    ymsg_limits_default(&lim);
    assert_int_equal(lim.max_body, 65535);
    assert_int_equal(lim.max_pairs, YMSG_DEFAULT_MAX_PAIRS);
    /* zero fields mean "default", too */
    uint8_t buf[64];
    size_t n = with_body(buf, "1\xc0\x80" "x\xc0\x80", 6);
    struct ymsg_limits zero = {0, 0};
    struct ymsg_packet pkt;
    assert_int_equal(ymsg_decode(buf, n, &zero, &pkt, NULL), (ssize_t)n);
}

static void test_body_validate_direct(void **state)
{
    (void)state;
    size_t off = 99;
    assert_int_equal(ymsg_body_validate((const uint8_t *)"", 0, 10, &off), 0);
    assert_int_equal(ymsg_body_validate((const uint8_t *)"1\xc0\x80\xc0\x80", 5, 10, &off), 1);
    assert_int_equal(ymsg_body_validate((const uint8_t *)"1\xc0\x80x\xc0", 5, 10, &off), YMSG_ETRAIL);
    assert_int_equal(off, 3);
    assert_int_equal(ymsg_body_validate((const uint8_t *)"1\xc0\x80x\xc0\x80", 6, 0, &off), YMSG_ETOOBIG);
    assert_int_equal(off, 0);
    assert_int_equal(ymsg_body_validate((const uint8_t *)"x", 1, 10, NULL), YMSG_EKEY);
}

static void test_binary_values(void **state)
{
    (void)state;
    uint8_t buf[128];
    /* values may hold NUL, lone C0 and 80, C0 C0, anything but the C0 80 pair */
    static const uint8_t body[] = {'1', 0xC0, 0x80, 0x00, 0xC0, 0xC0, 0x80, '2', 0xC0, 0x80, 0x80,
                                   0xC0, 0x80, '3', 0xC0, 0x80, 0xC0, 0x80};
    size_t n = with_body(buf, body, sizeof body);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    assert_int_equal(pkt.npairs, 3);
    size_t pos = 0;
    struct ymsg_kv kv;
    assert_true(ymsg_next(&pkt, &pos, &kv));
    assert_int_equal(kv.key, 1);
    assert_int_equal(kv.len, 2);
    assert_memory_equal(kv.val, "\x00\xc0", 2);
    assert_true(ymsg_next(&pkt, &pos, &kv));
    assert_int_equal(kv.key, 2);
    assert_int_equal(kv.len, 1);
    assert_int_equal(kv.val[0], 0x80);
    assert_true(ymsg_next(&pkt, &pos, &kv));
    assert_int_equal(kv.key, 3);
    assert_int_equal(kv.len, 0);
    assert_false(ymsg_next(&pkt, &pos, &kv));
}

static void test_empty_body_and_eagain(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = with_body(buf, "", 0);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    assert_int_equal(pkt.npairs, 0);
    size_t pos = 0;
    struct ymsg_kv kv;
    assert_int_equal(ymsg_next(&pkt, &pos, &kv), 0);
    /* every strict prefix of a valid packet is "need more" */
    n = with_body(buf, "1\xc0\x80" "alice\xc0\x80", 10);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ymsg_decode(buf, i, NULL, &pkt, NULL), YMSG_EAGAIN);
}

/* ---- chunking ---- */
struct rng {
    uint64_t s; /* xorshift state */
};

static uint32_t rnd(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 11);
}

/* Builds a stream of n varied packets; returns its length.  Packet i has service 0x06 + (i % 5),
 * session i, and i % 7 pairs whose values are derived from i. */
static size_t make_stream(uint8_t *buf, size_t cap, size_t n)
{
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, cap);
    for (size_t i = 0; i < n; i++) {
        ymsg_build_begin(&b, (uint16_t)(0x06 + i % 5), (uint32_t)i * 7, (uint32_t)i);
        for (size_t k = 0; k < i % 7; k++) {
            char v[64];
            int vl = snprintf(v, sizeof v, "v%zu-%zu-\xc3\xa9\xc0", i, k);
            ymsg_build_kv(&b, (uint32_t)(k * 100 + i), v, (size_t)vl);
        }
        assert_true(ymsg_build_end(&b) > 0);
    }
    return b.len;
}

/* Feeds the stream in chunks whose sizes come from next_chunk, like a socket reader with a buffer
 * that keeps unconsumed bytes; checks every packet arrives in order and intact. */
static void feed(const uint8_t *stream, size_t len, size_t npk, struct rng *r, size_t fixed)
{
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    size_t have = 0, pos = 0, got = 0, fed = 0;
    while (fed < len || pos < have) {
        size_t chunk = fixed ? fixed : 1 + rnd(r) % 300;
        if (chunk > len - fed)
            chunk = len - fed;
        memcpy(buf + have, stream + fed, chunk);
        have += chunk;
        fed += chunk;
        for (;;) {
            struct ymsg_packet pkt;
            ssize_t rc = ymsg_decode(buf + pos, have - pos, NULL, &pkt, NULL);
            if (rc == YMSG_EAGAIN)
                break;
            assert_true(rc > 0);
            assert_int_equal(pkt.hdr.session, got);
            assert_int_equal(pkt.hdr.service, 0x06 + got % 5);
            assert_int_equal(pkt.npairs, got % 7);
            if (pkt.npairs) {
                char want[64];
                snprintf(want, sizeof want, "v%zu-%zu-\xc3\xa9\xc0", got, pkt.npairs - 1);
                struct ymsg_kv kv;
                assert_int_equal(ymsg_get(&pkt, (uint32_t)((pkt.npairs - 1) * 100 + got), &kv), 0);
                assert_true(ymsg_kv_eq(&kv, want));
            }
            got++;
            pos += (size_t)rc;
        }
        if (fed == len)
            break;
    }
    assert_int_equal(got, npk);
    assert_int_equal(pos, len);
    free(buf);
}

static void test_chunking(void **state)
{
    (void)state;
    static uint8_t stream[1 << 16];
    size_t npk = 300;
    size_t len = make_stream(stream, sizeof stream, npk);
    struct rng r = {0x9E3779B97F4A7C15ull};
    feed(stream, len, npk, &r, 1);      /* one byte at a time */
    feed(stream, len, npk, &r, len);    /* everything at once */
    feed(stream, len, npk, &r, 19);     /* never a whole header */
    for (int i = 0; i < 20; i++)
        feed(stream, len, npk, &r, 0); /* random splits */
}

/* ---- resync ---- */
static void test_resync(void **state)
{
    (void)state;
    assert_int_equal(ymsg_resync((const uint8_t *)"", 0), 0);
    assert_int_equal(ymsg_resync((const uint8_t *)"YMSG", 4), 4);
    assert_int_equal(ymsg_resync((const uint8_t *)"xxYMSGyy", 8), 2);
    assert_int_equal(ymsg_resync((const uint8_t *)"YMSGYMSG", 8), 4);
    assert_int_equal(ymsg_resync((const uint8_t *)"abcYMS", 6), 3);
    assert_int_equal(ymsg_resync((const uint8_t *)"abcYM", 5), 3);
    assert_int_equal(ymsg_resync((const uint8_t *)"abcY", 4), 3);
    assert_int_equal(ymsg_resync((const uint8_t *)"abcYX", 5), 5);
    assert_int_equal(ymsg_resync((const uint8_t *)"aYMxYMSG", 8), 4);
    assert_int_equal(ymsg_resync((const uint8_t *)"abc", 3), 3);

    /* garbage, then a packet: EMAGIC, resync, decode */
    uint8_t buf[64], pkt_bytes[64];
    size_t pn = unhex(V_AUTH, pkt_bytes, sizeof pkt_bytes);
    memcpy(buf, "GARBAGE-YM", 10);
    memcpy(buf + 10, pkt_bytes, pn);
    struct ymsg_packet pkt;
    size_t eo;
    assert_int_equal(ymsg_decode(buf, 10 + pn, NULL, &pkt, &eo), YMSG_EMAGIC);
    size_t skip = ymsg_resync(buf, 10 + pn);
    assert_int_equal(skip, 10);
    assert_int_equal(ymsg_decode(buf + skip, 10 + pn - skip, NULL, &pkt, NULL), (ssize_t)pn);
}

/* ---- the SSE2 fast paths against an independent model of the documented rules ---- */

/* The body rules of ymsg.h / frame.c written out plainly: returns pairs or an error with *off. */
static ssize_t model_validate(const uint8_t *b, size_t len, size_t max_pairs, size_t *off)
{
    size_t i = 0, n = 0;
    while (i < len) {
        size_t k = i;
        unsigned long long v = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9') {
            if (i - k == 10) {
                *off = i;
                return YMSG_EKEY;
            }
            v = v * 10 + (unsigned)(b[i] - '0');
            i++;
        }
        if (i == len) {
            *off = k;
            return YMSG_ETRAIL;
        }
        if (b[i] != 0xC0) {
            *off = i;
            return YMSG_EKEY;
        }
        if (i + 1 == len) {
            *off = i;
            return YMSG_ETRAIL;
        }
        if (b[i + 1] != 0x80) {
            *off = i;
            return YMSG_EKEY;
        }
        if (i == k || v > 0xFFFFFFFFull) {
            *off = k;
            return YMSG_EKEY;
        }
        i += 2;
        if (i == len) {
            *off = k;
            return YMSG_EODD;
        }
        size_t vs = i;
        while (i + 1 < len && !(b[i] == 0xC0 && b[i + 1] == 0x80))
            i++;
        if (i + 1 >= len) {
            *off = vs;
            return YMSG_ETRAIL;
        }
        if (n == max_pairs) {
            *off = k;
            return YMSG_ETOOBIG;
        }
        n++;
        i += 2;
    }
    return (ssize_t)n;
}

struct gen_pair {
    uint32_t key;  /* key number */
    size_t len;    /* value length */
    uint8_t *val;  /* value bytes (no C0 80) */
};

static void test_random_bodies(void **state)
{
    (void)state;
    struct rng r = {0xD1B54A32D192ED03ull};
    static uint8_t buf[70000], val_store[65536];
    static struct gen_pair pairs[2048];
    static struct ymsg_kv kv[2048];
    for (int iter = 0; iter < 3000; iter++) {
        /* a packet with random pairs: keys of 1..10 digits, values 0..~200 bytes (sometimes long, full
         * of C0 and 80 bytes that never form C0 80) */
        size_t np = rnd(&r) % (iter % 10 == 0 ? 400 : 30), used = 0;
        struct ymsg_builder b;
        ymsg_builder_init(&b, buf, sizeof buf);
        ymsg_build_begin(&b, 6, 0, 0);
        for (size_t i = 0; i < np; i++) {
            uint32_t key;
            switch (rnd(&r) % 4) {
            case 0: key = rnd(&r) % 10; break;
            case 1: key = rnd(&r) % 1000; break;
            case 2: key = rnd(&r); break;
            default: key = 4294967295u - rnd(&r) % 3; break;
            }
            size_t vl = rnd(&r) % 8 == 0 ? rnd(&r) % 300 : rnd(&r) % 20;
            if (used + vl > sizeof val_store)
                break;
            uint8_t *v = val_store + used;
            for (size_t j = 0; j < vl; j++) {
                unsigned x = rnd(&r) % 8;
                v[j] = x == 0 ? 0xC0 : x == 1 ? 0x80 : (uint8_t)rnd(&r);
                if (j && v[j - 1] == 0xC0 && v[j] == 0x80)
                    v[j] = 0x81;
            }
            pairs[i] = (struct gen_pair){key, vl, v};
            used += vl;
            if (ymsg_build_kv(&b, key, v, vl) != 0) {
                np = i;
                break;
            }
        }
        if (b.err)
            continue;
        ssize_t sz = ymsg_build_end(&b);
        assert_true(sz > 0);
        /* decode_pairs with several capacities, next, next_batch: all equal the generated list */
        size_t caps[] = {0, 1, 7, 2048};
        for (size_t c = 0; c < 4; c++) {
            struct ymsg_packet pkt;
            assert_int_equal(ymsg_decode_pairs(buf, (size_t)sz, NULL, &pkt, kv, caps[c], NULL), sz);
            assert_int_equal(pkt.npairs, np);
            for (size_t i = 0; i < np && i < caps[c]; i++) {
                assert_int_equal(kv[i].key, pairs[i].key);
                assert_int_equal(kv[i].len, pairs[i].len);
                assert_memory_equal(kv[i].val, pairs[i].val, pairs[i].len);
            }
        }
        struct ymsg_packet pkt;
        decode_one(buf, (size_t)sz, &pkt);
        size_t pos = 0, i = 0;
        struct ymsg_kv one;
        while (ymsg_next(&pkt, &pos, &one)) {
            assert_true(i < np);
            assert_int_equal(one.key, pairs[i].key);
            assert_int_equal(one.len, pairs[i].len);
            assert_ptr_equal(one.val, kv[i].val);
            i++;
        }
        assert_int_equal(i, np);
        size_t bmax = 1 + rnd(&r) % 70, got, k;
        pos = 0;
        i = 0;
        while ((got = ymsg_next_batch(&pkt, &pos, kv, bmax)) > 0) {
            assert_true(got <= bmax);
            for (k = 0; k < got; k++, i++) {
                assert_int_equal(kv[k].key, pairs[i].key);
                assert_int_equal(kv[k].len, pairs[i].len);
                assert_memory_equal(kv[k].val, pairs[i].val, pairs[i].len);
            }
        }
        assert_int_equal(i, np);
        assert_int_equal(pos, pkt.hdr.length);

        /* corrupt a few bytes: the library (fast path + scalar fallback) and the model agree on the
         * verdict and the offset, with and without a pair cap */
        size_t blen = (size_t)sz - 20;
        for (int m = 0; m < 4 && blen; m++) {
            size_t at = 20 + rnd(&r) % blen;
            uint8_t old = buf[at];
            static const uint8_t pick[] = {0xC0, 0x80, '0', '9', 'a', 0x00, '/', ':'};
            buf[at] = pick[rnd(&r) % sizeof pick];
            size_t maxp = rnd(&r) % 2 ? YMSG_DEFAULT_MAX_PAIRS : rnd(&r) % (np + 2);
            size_t mo = 0, lo = 0;
            ssize_t want = model_validate(buf + 20, blen, maxp ? maxp : YMSG_DEFAULT_MAX_PAIRS, &mo);
            ssize_t gotv = ymsg_body_validate(buf + 20, blen, maxp ? maxp : YMSG_DEFAULT_MAX_PAIRS, &lo);
            if (want != gotv || (want < 0 && mo != lo))
                fail_msg("iter %d: model %zd at %zu, library %zd at %zu", iter, want, mo, gotv, lo);
            buf[at] = old;
        }
        /* truncations: every cut of the body is an error or a shorter valid body, as the model says */
        for (int m = 0; m < 3 && blen; m++) {
            size_t cut = rnd(&r) % blen;
            size_t mo = 0, lo = 0;
            ssize_t want = model_validate(buf + 20, cut, YMSG_DEFAULT_MAX_PAIRS, &mo);
            ssize_t gotv = ymsg_body_validate(buf + 20, cut, YMSG_DEFAULT_MAX_PAIRS, &lo);
            if (want != gotv || (want < 0 && mo != lo))
                fail_msg("iter %d cut %zu: model %zd at %zu, library %zd at %zu", iter, cut, want, mo, gotv, lo);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_auth),
        cmocka_unit_test(test_vector_auth_reply),
        cmocka_unit_test(test_vector_fail54),
        cmocka_unit_test(test_vector_kick02),
        cmocka_unit_test(test_vector_status15),
        cmocka_unit_test(test_vector_13_2),
        cmocka_unit_test(test_header_be_mac),
        cmocka_unit_test(test_header_little_endian_versions),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_header_full_fields),
        cmocka_unit_test(test_errors_with_offsets),
        cmocka_unit_test(test_limits_default),
        cmocka_unit_test(test_body_validate_direct),
        cmocka_unit_test(test_binary_values),
        cmocka_unit_test(test_empty_body_and_eagain),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_resync),
        cmocka_unit_test(test_random_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
