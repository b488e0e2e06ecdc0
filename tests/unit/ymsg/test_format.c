/* lib/ymsg/format.c: the readable dump and the JSON rendering. */
#include "testutil.h"

static size_t build(uint8_t *buf, size_t cap, uint16_t svc, uint32_t status, uint32_t session)
{
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, cap);
    ymsg_build_begin(&b, svc, status, session);
    ymsg_build_str(&b, 1, "alice");
    ymsg_build_str(&b, 0, "alice");
    /* UTF-8 é and 😀 pass; a control char, a backslash, a quote, a stray 0xFF and an encoded
     * surrogate (ED A0 80, invalid UTF-8) get escaped */
    ymsg_build_kv(&b, 14, "h\xc3\xa9llo\x01\\\"\xff\xed\xa0\x80\xf0\x9f\x98\x80", 17);
    ymsg_build_str(&b, 5000, "x");
    ymsg_build_str(&b, 19, "");
    ssize_t n = ymsg_build_end(&b);
    assert_true(n > 0);
    return (size_t)n;
}

static const char WANT_TEXT[] = "AUTHRESP(0x54) status=0 (Available) session=0x0047E133 version=16 vendor=0 len=58\n"
                                "  1 (active id) = alice\n"
                                "  0 (login id) = alice\n"
                                "  14 (message) = h\xc3\xa9llo\\x01\\\\\"\\xff\\xed\\xa0\\x80\xf0\x9f\x98\x80\n"
                                "  5000 = x\n"
                                "  19 (custom message) = \n";

static const char WANT_JSON[] =
    "{\"service\":84,\"service_name\":\"Authentication response\",\"status\":0,\"session\":4710707,"
    "\"version\":16,\"version_le\":false,\"vendor\":0,\"length\":58,\"pairs\":[[1,\"alice\"],[0,\"alice\"],"
    "[14,\"h\xc3\xa9llo\\u0001\\\\\\\"\\u00ff\\u00ed\\u00a0\\u0080\xf0\x9f\x98\x80\"],[5000,\"x\"],[19,\"\"]]}";

static void test_format_text(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = build(buf, sizeof buf, YMSG_SVC_AUTHRESP, 0, 0x0047E133);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    char out[1024];
    int len = ymsg_packet_format(&pkt, out, sizeof out);
    assert_string_equal(out, WANT_TEXT);
    assert_int_equal(len, (int)strlen(WANT_TEXT));
}

static void test_format_json(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = build(buf, sizeof buf, YMSG_SVC_AUTHRESP, 0, 0x0047E133);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    char out[1024];
    int len = ymsg_packet_json(&pkt, out, sizeof out);
    assert_string_equal(out, WANT_JSON);
    assert_int_equal(len, (int)strlen(WANT_JSON));
}

static void test_snprintf_contract(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = build(buf, sizeof buf, YMSG_SVC_AUTHRESP, 0, 0x0047E133);
    struct ymsg_packet pkt;
    decode_one(buf, n, &pkt);
    int (*fn[2])(const struct ymsg_packet *, char *, size_t) = {ymsg_packet_format, ymsg_packet_json};
    const char *want[2] = {WANT_TEXT, WANT_JSON};
    for (int f = 0; f < 2; f++) {
        int full = (int)strlen(want[f]);
        assert_int_equal(fn[f](&pkt, NULL, 0), full);
        for (size_t cap = 1; cap <= (size_t)full + 2; cap++) {
            char out[1024];
            memset(out, 'Z', sizeof out);
            assert_int_equal(fn[f](&pkt, out, cap), full);
            size_t stored = cap - 1 < (size_t)full ? cap - 1 : (size_t)full;
            assert_int_equal(strlen(out), stored);
            assert_memory_equal(out, want[f], stored);
            assert_int_equal(out[cap], 'Z'); /* nothing past cap */
        }
    }
}

static void test_format_headers(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct ymsg_header h = {.version = 9, .version_le = 1, .vendor = 100, .service = 0x1234,
                            .status = 0x5A55AA56, .session = 1};
    ymsg_header_encode(buf, &h);
    struct ymsg_packet pkt;
    decode_one(buf, 20, &pkt);
    char out[256];
    ymsg_packet_format(&pkt, out, sizeof out);
    assert_string_equal(out,
                        "UNKNOWN(0x1234) status=0x5A55AA56 (Offline) session=0x00000001 version=9(le) vendor=100 len=0\n");
    ymsg_packet_json(&pkt, out, sizeof out);
    assert_string_equal(out, "{\"service\":4660,\"service_name\":null,\"status\":1515563606,\"session\":1,"
                             "\"version\":9,\"version_le\":true,\"vendor\":100,\"length\":0,\"pairs\":[]}");
    h = (struct ymsg_header){.version = 16, .service = YMSG_SVC_MESSAGE, .status = 99, .session = 0};
    ymsg_header_encode(buf, &h);
    decode_one(buf, 20, &pkt);
    ymsg_packet_format(&pkt, out, sizeof out);
    /* 99 is a presence code ("Custom"), meaningless as the status of a message: no name. */
    assert_string_equal(out, "MESSAGE(0x06) status=99 session=0x00000000 version=16 vendor=0 len=0\n");
    h.status = 0xFFFFFFFF;
    h.service = YMSG_SVC_DISCONNECT;
    ymsg_header_encode(buf, &h);
    decode_one(buf, 20, &pkt);
    ymsg_packet_format(&pkt, out, sizeof out);
    assert_string_equal(
        out, "DISCONNECT(0x7D1) status=0xFFFFFFFF (Error / disconnected) session=0x00000000 version=16 vendor=0 len=0\n");
}

/* The header status is named per service: packet statuses on requests and replies, presence codes
 * only on presence packets. */
static void test_format_status_per_service(void **state)
{
    (void)state;
    static const struct {
        uint16_t service; /* header service */
        uint32_t status;  /* header status */
        const char *want; /* the dump's first line up to " session=" */
    } cases[] = {
        {YMSG_SVC_LIST_15, 1, "LIST_15(0xF1) status=1 (Server Ack)"},
        {YMSG_SVC_LIST_15, 5, "LIST_15(0xF1) status=5 (Continued)"},
        {YMSG_SVC_LIST_15, 0, "LIST_15(0xF1) status=0 (Default)"},
        {YMSG_SVC_MESSAGE, 1, "MESSAGE(0x06) status=1 (Server Ack)"},
        {YMSG_SVC_MESSAGE, 2, "MESSAGE(0x06) status=2 (Not sent)"},
        {YMSG_SVC_MESSAGE, 5, "MESSAGE(0x06) status=5 (Continued)"},
        {YMSG_SVC_MESSAGE, 0x5A55AA56, "MESSAGE(0x06) status=0x5A55AA56 (Offline)"},
        {YMSG_SVC_AUTH_REQ_15, 3, "AUTH_REQ_15(0xD6) status=3 (Authorization request)"},
        {YMSG_SVC_ADDBUDDY, 2, "ADDBUDDY(0x83) status=2"},
        {YMSG_SVC_ADDBUDDY, 3, "ADDBUDDY(0x83) status=3"},
        {YMSG_SVC_NOTIFY, 0x16, "NOTIFY(0x4B) status=22 (Notify)"},
        {YMSG_SVC_AUTHRESP, 12, "AUTHRESP(0x54) status=12 (Invisible)"},
        {YMSG_SVC_AUTHRESP, 0x5A55AA55, "AUTHRESP(0x54) status=0x5A55AA55 (Web login)"},
        {YMSG_SVC_AUTHRESP, 0xFFFFFFFF, "AUTHRESP(0x54) status=0xFFFFFFFF (Disconnected / error)"},
        {YMSG_SVC_ISAWAY, 1, "ISAWAY(0x03) status=1 (Be right back)"},
        {YMSG_SVC_ISAWAY, 5, "ISAWAY(0x03) status=5 (Not in the office)"},
        {YMSG_SVC_Y6_STATUS_UPDATE, 99, "Y6_STATUS_UPDATE(0xC6) status=99 (Custom)"},
        {YMSG_SVC_STATUS_15, 5, "STATUS_15(0xF0) status=5 (Continued)"},
        {YMSG_SVC_STATUS_15, 1, "STATUS_15(0xF0) status=1 (Server Ack)"},
        {YMSG_SVC_STATUS_15, 2, "STATUS_15(0xF0) status=2 (Busy)"},
        {YMSG_SVC_LOGON, 0, "LOGON(0x01) status=0 (Available)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[32];
        struct ymsg_header h = {.version = 16, .service = cases[i].service, .status = cases[i].status};
        ymsg_header_encode(buf, &h);
        struct ymsg_packet pkt;
        decode_one(buf, 20, &pkt);
        char out[256], want[256];
        ymsg_packet_format(&pkt, out, sizeof out);
        snprintf(want, sizeof want, "%s session=0x00000000 version=16 vendor=0 len=0\n", cases[i].want);
        assert_string_equal(out, want);
    }
}

/* Every byte value alone, and truncated UTF-8 sequences, keep the JSON valid: only the escapes the
 * renderer is allowed to produce appear, and what passes raw is ASCII or complete UTF-8. */
static void test_json_all_bytes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        uint8_t v[3] = {(uint8_t)c, 0xE2, 0x82}; /* a byte, then a cut-off 3-byte sequence */
        uint8_t buf[64];
        struct ymsg_builder b;
        ymsg_builder_init(&b, buf, sizeof buf);
        ymsg_build_begin(&b, 6, 0, 0);
        ymsg_build_kv(&b, 14, v, 3);
        ssize_t n = ymsg_build_end(&b);
        struct ymsg_packet pkt;
        decode_one(buf, (size_t)n, &pkt);
        char out[256];
        ymsg_packet_json(&pkt, out, sizeof out);
        const char *s = strstr(out, "[[14,\"");
        assert_non_null(s);
        s += 6;
        char want[32];
        if (c == '"')
            strcpy(want, "\\\"");
        else if (c == '\\')
            strcpy(want, "\\\\");
        else if (c == '\n')
            strcpy(want, "\\n");
        else if (c == '\r')
            strcpy(want, "\\r");
        else if (c == '\t')
            strcpy(want, "\\t");
        else if (c < 0x20 || c >= 0x7F)
            snprintf(want, sizeof want, "\\u%04x", c);
        else
            snprintf(want, sizeof want, "%c", c);
        strcat(want, "\\u00e2\\u0082\"]]}");
        assert_string_equal(s, want);
    }
}

/* C1 controls (U+0080..U+009F, e.g. U+009B = CSI) are valid UTF-8 that terminals may execute: the text
 * dump escapes them (the neighbouring U+00A0 passes); JSON keeps them, its \u00XX means raw bytes. */
static void test_c1_controls(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, YMSG_SVC_MESSAGE, 0, 0);
    ymsg_build_str(&b, 14, "a\xc2\x9b" "31mX\xc2\xa0y\xc2\x80");
    ssize_t n = ymsg_build_end(&b);
    struct ymsg_packet pkt;
    decode_one(buf, (size_t)n, &pkt);
    char out[512];
    ymsg_packet_format(&pkt, out, sizeof out);
    assert_non_null(strstr(out, "  14 (message) = a\\xc2\\x9b31mX\xc2\xa0y\\xc2\\x80\n"));
    /* JSON keeps them as characters: "\u009b" would mean the lone byte 9B */
    ymsg_packet_json(&pkt, out, sizeof out);
    assert_non_null(strstr(out, "[[14,\"a\xc2\x9b" "31mX\xc2\xa0y\xc2\x80\"]]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_text),       cmocka_unit_test(test_format_json),
        cmocka_unit_test(test_snprintf_contract), cmocka_unit_test(test_format_headers),
        cmocka_unit_test(test_json_all_bytes),    cmocka_unit_test(test_c1_controls),
        cmocka_unit_test(test_format_status_per_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
