/* Unit tests of the dump driver on in-memory inputs: format detection (pcap in both byte orders and
 * with nanoseconds, pcapng, raw YMSG, garbage), link types, JSON fields, and bad input — truncated
 * captures, truncated and malformed YMSG packets, gaps — with their exit statuses and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "capbuild.h"
#include "ymsg/ymsg.h"
#include "ymsgdump.h"

/* Output and diagnostics of the last run. */
static char *out_text, *err_text;

static int run_opts(const void *in, size_t n, const struct yd_options *o)
{
    free(out_text);
    free(err_text);
    size_t on = 0, en = 0;
    FILE *out = open_memstream(&out_text, &on);
    FILE *err = open_memstream(&err_text, &en);
    FILE *fin = n ? fmemopen((void *)in, n, "rb") : fopen("/dev/null", "rb");
    assert_non_null(out);
    assert_non_null(err);
    assert_non_null(fin);
    int rc = yd_dump(fin, "mem", out, err, o);
    fclose(fin);
    fclose(out);
    fclose(err);
    return rc;
}

static int run(const void *in, size_t n)
{
    struct yd_options o;
    yd_options_default(&o);
    return run_opts(in, n, &o);
}

static size_t count(const char *hay, const char *needle)
{
    size_t c = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

/* Two YMSG packets built with libymsg: AUTH (client) and a MESSAGE. */
static uint8_t pkts[512];
static size_t auth_len, pkts_len;

static void build_packets(void)
{
    struct ymsg_builder b;
    ymsg_builder_init(&b, pkts, sizeof pkts);
    ymsg_build_begin(&b, YMSG_SVC_AUTH, 0, 0);
    ymsg_build_str(&b, 1, "alice");
    auth_len = (size_t)ymsg_build_end(&b);
    ymsg_build_begin(&b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, 0x01020304);
    ymsg_build_str(&b, 1, "alice");
    ymsg_build_str(&b, 5, "bob");
    ymsg_build_str(&b, 14, "hi");
    assert_true(ymsg_build_end(&b) > 0);
    pkts_len = b.len;
}

static const uint8_t C[4] = {127, 0, 0, 1}, S[4] = {127, 0, 0, 2};

static void cseg(struct cb_capture *c, uint32_t seq, uint8_t flags, const void *d, size_t n)
{
    struct cb_seg s = {{0}, {0}, 40000, 5050, seq, flags, d, n};
    memcpy(s.src, C, 4);
    memcpy(s.dst, S, 4);
    cb_capture_seg(c, &s);
}

static void sseg(struct cb_capture *c, uint32_t seq, uint8_t flags, const void *d, size_t n)
{
    struct cb_seg s = {{0}, {0}, 5050, 40000, seq, flags, d, n};
    memcpy(s.src, S, 4);
    memcpy(s.dst, C, 4);
    cb_capture_seg(c, &s);
}

/* Handshake, then both packets from the client split in two segments, and the AUTH back. */
static void session(struct cb_capture *c)
{
    cseg(c, 1000, 0x02, NULL, 0);
    sseg(c, 5000, 0x12, NULL, 0);
    cseg(c, 1001, 0x10, NULL, 0);
    cseg(c, 1001, 0x18, pkts, 25);
    cseg(c, 1026, 0x18, pkts + 25, pkts_len - 25);
    sseg(c, 5001, 0x18, pkts, auth_len);
}

static void check_session_output(void)
{
    assert_int_equal(count(out_text, "AUTH(0x57)"), 2);
    assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
    assert_int_equal(count(out_text, "127.0.0.1:40000 -> 127.0.0.2:5050 (client->server)"), 2);
    assert_int_equal(count(out_text, "127.0.0.2:5050 -> 127.0.0.1:40000 (server->client)"), 1);
    assert_string_equal(err_text, "");
}

static void test_formats(void **state)
{
    (void)state;
    for (int format = 0; format < 4; format++) {
        struct cb_capture c;
        cb_capture_init(&c, CB_ETHER, format);
        session(&c);
        assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_OK);
        check_session_output();
        cb_free(&c.file);
    }
}

static void test_link_types(void **state)
{
    (void)state;
    int kinds[] = {CB_NULL, CB_LOOP, CB_RAW, CB_SLL, CB_SLL2, CB_ETHER_VLAN};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct cb_capture c;
        cb_capture_init(&c, kinds[i], 0);
        session(&c);
        assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_OK);
        check_session_output();
        cb_free(&c.file);
    }
    /* IPv6 */
    struct cb_capture c6;
    cb_capture_init(&c6, CB_ETHER_IPV6, 0);
    session(&c6);
    assert_int_equal(run(c6.file.p, c6.file.len), YD_EXIT_OK);
    assert_int_equal(count(out_text, "[::1]:40000 -> [::2]:5050 (client->server)"), 2);
    assert_int_equal(count(out_text, "[::2]:5050 -> [::1]:40000 (server->client)"), 1);
    cb_free(&c6.file);
    /* 802.11 is not supported: a clear message and status 2. */
    struct cb_buf f = {0};
    cb_pcap_header(&f, 105, 0, 0);
    assert_int_equal(run(f.p, f.len), YD_EXIT_INPUT);
    assert_non_null(strstr(err_text, "unsupported link-layer type 105"));
    cb_free(&f);
}

static void test_json(void **state)
{
    (void)state;
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    session(&c);
    struct yd_options o;
    yd_options_default(&o);
    o.json = 1;
    assert_int_equal(run_opts(c.file.p, c.file.len, &o), YD_EXIT_OK);
    assert_int_equal(count(out_text, "\n"), 3);
    assert_non_null(strstr(out_text, "{\"n\":1,\"frame\":5,\"ts\":1700000004.000000,"
                                     "\"src\":\"127.0.0.1:40000\",\"dst\":\"127.0.0.2:5050\","
                                     "\"dir\":\"client->server\",\"offset\":0,\"service\":87,"));
    assert_non_null(strstr(out_text, "\"dir\":\"client->server\",\"offset\":30,\"service\":6,"));
    assert_non_null(strstr(out_text, "\"pairs\":[[1,\"alice\"],[5,\"bob\"],[14,\"hi\"]]}\n"));
    cb_free(&c.file);
}

static void test_raw(void **state)
{
    (void)state;
    assert_int_equal(run(pkts, pkts_len), YD_EXIT_OK);
    assert_non_null(strstr(out_text, "#1 offset 0\nAUTH(0x57)"));
    assert_non_null(strstr(out_text, "#2 offset 30\nMESSAGE(0x06)"));
    /* Garbage between packets: reported with its offset, decoding resumes at the next magic. */
    uint8_t buf[600];
    memcpy(buf, pkts, auth_len);
    memcpy(buf + auth_len, "garbageYMSjunk", 14);
    memcpy(buf + auth_len + 14, pkts + auth_len, pkts_len - auth_len);
    size_t n = pkts_len + 14;
    assert_int_equal(run(buf, n), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 1);
    assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
    assert_non_null(strstr(err_text, "malformed YMSG packet at stream offset 30"));
    assert_non_null(strstr(err_text, "resynchronised at stream offset 44 (14 bytes skipped)"));
    /* --raw forces raw decoding of something that does not start with YMSG. */
    struct yd_options o;
    yd_options_default(&o);
    o.raw = 1;
    assert_int_equal(run_opts(buf + auth_len, n - auth_len, &o), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
    /* A raw stream cut inside a packet. */
    assert_int_equal(run(pkts, pkts_len - 3), YD_EXIT_MALFORMED);
    assert_non_null(strstr(err_text, "truncated YMSG packet at end of stream: stream offset 30, "));
    assert_int_equal(run(pkts, 7), YD_EXIT_MALFORMED);
    assert_non_null(strstr(err_text, "truncated YMSG header at end of stream: stream offset 0, 7 of 20"));
}

static void test_garbage_and_empty(void **state)
{
    (void)state;
    assert_int_equal(run("", 0), YD_EXIT_INPUT);
    assert_non_null(strstr(err_text, "mem: empty input"));
    assert_int_equal(run("hello world", 11), YD_EXIT_INPUT);
    assert_non_null(strstr(err_text, "not a pcap, pcapng or YMSG stream (first bytes: 68 65 6c 6c)"));
    assert_string_equal(out_text, "");
    assert_int_equal(run("YM", 2), YD_EXIT_INPUT);
    /* pcap magic and nothing else */
    static const uint8_t magic[] = {0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0};
    assert_int_equal(run(magic, sizeof magic), YD_EXIT_INPUT);
    assert_non_null(strstr(err_text, "not a readable capture"));
    static const uint8_t ng[] = {0x0A, 0x0D, 0x0D, 0x0A, 0xFF, 0xFF, 0xFF, 0x7F, 0x4D, 0x3C, 0x2B, 0x1A};
    assert_int_equal(run(ng, sizeof ng), YD_EXIT_INPUT);
    assert_non_null(strstr(err_text, "not a readable capture"));
}

static void test_truncated_capture(void **state)
{
    (void)state;
    for (int format = 0; format < 4; format += 3) {
        struct cb_capture c;
        cb_capture_init(&c, CB_ETHER, format);
        session(&c);
        /* Cut in the middle of the last record: the first packets are still printed. */
        assert_int_equal(run(c.file.p, c.file.len - 10), YD_EXIT_INPUT);
        assert_int_equal(count(out_text, "AUTH(0x57)"), 1);
        assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
        assert_non_null(strstr(err_text, "mem: capture damaged at frame 6: "));
        cb_free(&c.file);
    }
}

static void test_truncated_ymsg_in_capture(void **state)
{
    (void)state;
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    cseg(&c, 1000, 0x02, NULL, 0);
    cseg(&c, 1001, 0x18, pkts, pkts_len - 4);       /* the MESSAGE misses its last 4 bytes */
    assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 1);
    assert_non_null(strstr(err_text, "mem: frame 2: 127.0.0.1:40000 -> 127.0.0.2:5050: truncated YMSG "
                                     "packet at end of stream: stream offset 30, "));
    cb_free(&c.file);
}

static void test_malformed_in_capture(void **state)
{
    (void)state;
    uint8_t bad[512];
    memcpy(bad, pkts, pkts_len);
    bad[auth_len + YMSG_HEADER_LEN] = 'x';          /* the MESSAGE's first key is not a number */
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    cseg(&c, 1000, 0x02, NULL, 0);
    cseg(&c, 1001, 0x18, bad, pkts_len);
    cseg(&c, 1001 + (uint32_t)pkts_len, 0x18, pkts, pkts_len);
    assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 2);
    assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
    assert_non_null(strstr(err_text, "frame 2: 127.0.0.1:40000 -> 127.0.0.2:5050: malformed YMSG packet "
                                     "at stream offset 30 (error at offset 50): "));
    assert_non_null(strstr(err_text, "frame 3: 127.0.0.1:40000 -> 127.0.0.2:5050: resynchronised at "
                                     "stream offset "));
    cb_free(&c.file);
}

static void test_resync_small_segments(void **state)
{
    (void)state;
    /* A malformed packet, junk, then good packets, arriving 1, 2 and 3 bytes per segment: the
     * resynchronisation must not lose a magic split across segments. */
    uint8_t buf[1024];
    size_t n = 0;
    memcpy(buf, pkts, pkts_len);
    buf[auth_len + YMSG_HEADER_LEN] = 'x';
    n = pkts_len;
    memcpy(buf + n, "YMjunkY", 7);
    n += 7;
    memcpy(buf + n, pkts, pkts_len);
    n += pkts_len;
    for (size_t step = 1; step <= 3; step++) {
        struct cb_capture c;
        cb_capture_init(&c, CB_ETHER, 0);
        cseg(&c, 1000, 0x02, NULL, 0);
        for (size_t off = 0; off < n; off += step)
            cseg(&c, 1001 + (uint32_t)off, 0x18, buf + off, off + step <= n ? step : n - off);
        assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_MALFORMED);
        assert_int_equal(count(out_text, "AUTH(0x57)"), 2);
        assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
        assert_int_equal(count(err_text, "malformed"), 1);
        cb_free(&c.file);
    }
}

static void test_gap_in_capture(void **state)
{
    (void)state;
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    cseg(&c, 1000, 0x02, NULL, 0);
    cseg(&c, 1001, 0x18, pkts, 10);
    /* bytes 10..30 never captured */
    cseg(&c, 1031, 0x18, pkts + 30, pkts_len - 30);
    cseg(&c, 1001 + (uint32_t)pkts_len, 0x18, pkts, auth_len);
    assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 1);   /* only the one after the hole */
    assert_non_null(strstr(err_text, "20 bytes missing from the capture at stream offset 10; dropping "
                                     "the partial packet that started at offset 0"));
    cb_free(&c.file);
}

static void test_http_skipped(void **state)
{
    (void)state;
    static const char req[] = "GET /capacity HTTP/1.0\r\nHost: x\r\n\r\n";
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    cseg(&c, 1000, 0x02, NULL, 0);
    cseg(&c, 1001, 0x18, req, sizeof req - 1);
    assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_OK);
    assert_string_equal(out_text, "");
    assert_string_equal(err_text, "");
    struct yd_options o;
    yd_options_default(&o);
    o.http = 1;
    assert_int_equal(run_opts(c.file.p, c.file.len, &o), YD_EXIT_OK);
    assert_string_equal(out_text, "# frame 2 127.0.0.1:40000 -> 127.0.0.2:5050 HTTP: GET /capacity HTTP/1.0\n\n");
    cb_free(&c.file);
}

static void test_max_streams(void **state)
{
    (void)state;
    /* Connection 0 sends half a packet; 1 and 2 a whole one each; then 0 the rest.  With room for
     * two connections, 2 pushes 0 out: its packet is reported as cut off, and its tail (no magic)
     * prints nothing.  With room for three, all three decode. */
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    static const struct { uint16_t port; uint32_t off, len; } parts[] = {
        {40000, 0, 10}, {40001, 0, 30}, {40002, 0, 30}, {40000, 10, 20}};
    for (size_t i = 0; i < 4; i++) {
        struct cb_seg s = {{127, 0, 0, 1}, {127, 0, 0, 2}, parts[i].port, 5050, 1000 + parts[i].off,
                           0x18, pkts + parts[i].off, parts[i].len};
        cb_capture_seg(&c, &s);
    }
    assert_int_equal(auth_len, 30);
    struct yd_options o;
    yd_options_default(&o);
    o.max_streams = 2;
    assert_int_equal(run_opts(c.file.p, c.file.len, &o), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 2);
    assert_non_null(strstr(err_text, "frame 3: 127.0.0.1:40000 -> 127.0.0.2:5050: truncated YMSG header "
                                     "where the connection was dropped to stay within --max-streams"));
    o.max_streams = 3;
    assert_int_equal(run_opts(c.file.p, c.file.len, &o), YD_EXIT_OK);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 3);
    cb_free(&c.file);
}

static void test_mid_stream_and_max_body(void **state)
{
    (void)state;
    /* No SYN and the capture starts inside a packet: the first whole packet is found by its magic. */
    struct cb_capture c;
    cb_capture_init(&c, CB_ETHER, 0);
    cseg(&c, 1005, 0x18, pkts + 5, pkts_len - 5);
    assert_int_equal(run(c.file.p, c.file.len), YD_EXIT_OK);
    assert_int_equal(count(out_text, "MESSAGE(0x06)"), 1);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 0);
    /* --max-body smaller than the MESSAGE's body: malformed, reported. */
    struct yd_options o;
    yd_options_default(&o);
    o.max_body = 12;
    assert_int_equal(run_opts(pkts, pkts_len, &o), YD_EXIT_MALFORMED);
    assert_int_equal(count(out_text, "AUTH(0x57)"), 1);
    assert_non_null(strstr(err_text, ymsg_strerror(YMSG_ETOOBIG)));
    cb_free(&c.file);
}

int main(void)
{
    build_packets();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_garbage_and_empty),
        cmocka_unit_test(test_truncated_capture),
        cmocka_unit_test(test_truncated_ymsg_in_capture),
        cmocka_unit_test(test_malformed_in_capture),
        cmocka_unit_test(test_resync_small_segments),
        cmocka_unit_test(test_gap_in_capture),
        cmocka_unit_test(test_http_skipped),
        cmocka_unit_test(test_max_streams),
        cmocka_unit_test(test_mid_stream_and_max_body),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(out_text);
    free(err_text);
    return rc;
}
