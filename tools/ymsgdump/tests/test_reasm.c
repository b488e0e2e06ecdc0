/* Unit tests of the TCP reassembler and the frame parser: in order, out of order, retransmissions,
 * overlaps, holes, the buffer bound, FIN/RST, direction, eviction, sequence wrap, snap-length cuts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "capbuild.h"
#include "ymsgdump.h"

/* Everything the callbacks saw, as text: "D0:abc G1:3 C1 " (data, gap, close with flow id). */
static char events[8192];

static void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ev(const char *fmt, ...)
{
    size_t n = strlen(events);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(events + n, sizeof events - n, fmt, ap);
    va_end(ap);
}

static void on_data(void *ctx, struct yd_flow *f, int d, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)f;
    ev("D%d:%.*s ", d, (int)n, (const char *)p);
}
static void on_gap(void *ctx, struct yd_flow *f, int d, uint64_t n)
{
    (void)ctx;
    (void)f;
    ev("G%d:%llu ", d, (unsigned long long)n);
}
static void on_close(void *ctx, struct yd_flow *f)
{
    (void)ctx;
    ev("C%llu ", (unsigned long long)f->id);
}

static struct yd_reasm *mk(size_t max_streams, size_t max_buffer)
{
    events[0] = 0;
    struct yd_reasm_limits lim = {max_streams, max_buffer};
    struct yd_reasm_cb cb = {NULL, on_data, on_gap, on_close};
    struct yd_reasm *r = yd_reasm_new(&lim, &cb);
    assert_non_null(r);
    return r;
}

/* A segment from client (port cport) or server (5050) with text payload. */
static void seg(struct yd_reasm *r, int from_server, uint16_t cport, uint32_t seq, uint8_t flags,
                const char *text)
{
    struct yd_segment s;
    memset(&s, 0, sizeof s);
    s.src.family = s.dst.family = 4;
    s.src.ip[0] = s.dst.ip[0] = 127;
    s.src.ip[3] = s.dst.ip[3] = 1;
    s.src.port = from_server ? 5050 : cport;
    s.dst.port = from_server ? cport : 5050;
    s.seq = seq;
    s.flags = flags;
    s.data = (const uint8_t *)text;
    s.caplen = s.len = text ? strlen(text) : 0;
    assert_int_equal(yd_reasm_segment(r, &s), 0);
}

#define SYN YD_TCP_SYN
#define ACK YD_TCP_ACK
#define FIN YD_TCP_FIN
#define RST YD_TCP_RST

static void handshake(struct yd_reasm *r, uint16_t cport, uint32_t cisn, uint32_t sisn)
{
    seg(r, 0, cport, cisn, SYN, NULL);
    seg(r, 1, cport, sisn, SYN | ACK, NULL);
    seg(r, 0, cport, cisn + 1, ACK, NULL);
}

static void test_in_order_and_fin(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 101, ACK, "hello");
    seg(r, 1, 40000, 901, ACK, "hi");
    seg(r, 0, 40000, 106, ACK, "world");
    seg(r, 0, 40000, 111, FIN | ACK, NULL);
    seg(r, 0, 40000, 112, ACK, "after-fin");        /* ignored: the stream has ended */
    assert_string_equal(events, "D0:hello D1:hi D0:world ");
    seg(r, 1, 40000, 903, FIN | ACK, NULL);          /* both FINs: the flow closes */
    assert_string_equal(events, "D0:hello D1:hi D0:world C1 ");
    seg(r, 0, 40000, 112, ACK, NULL);                /* the last ACK, a late retransmission: */
    seg(r, 0, 40000, 106, ACK, "world");             /* not a new connection */
    assert_int_equal(yd_reasm_stats(r)->late, 2);
    assert_int_equal(yd_reasm_stats(r)->flows, 1);
    yd_reasm_free(r);
}

static void test_out_of_order(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 107, ACK, "ghi");
    seg(r, 0, 40000, 104, ACK, "def");
    assert_string_equal(events, "");
    seg(r, 0, 40000, 101, ACK, "abc");
    assert_string_equal(events, "D0:abc D0:def D0:ghi ");
    yd_reasm_free(r);
    assert_string_equal(events, "D0:abc D0:def D0:ghi C1 ");
}

static void test_retransmit(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 101, ACK, "abc");
    seg(r, 0, 40000, 101, ACK, "abc");
    seg(r, 0, 40000, 107, ACK, "ghi");
    seg(r, 0, 40000, 107, ACK, "ghi");              /* retransmission of held data */
    seg(r, 0, 40000, 104, ACK, "def");
    seg(r, 0, 40000, 101, ACK, "abcdefghi");
    assert_string_equal(events, "D0:abc D0:def D0:ghi ");
    assert_int_equal(yd_reasm_stats(r)->retransmitted, 3);
    yd_reasm_free(r);
}

static void test_overlap(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 101, ACK, "012345");
    seg(r, 0, 40000, 104, ACK, "3456789");          /* starts inside delivered bytes */
    assert_string_equal(events, "D0:012345 D0:6789 ");
    events[0] = 0;
    /* Overlapping held segments, then the missing start. */
    seg(r, 0, 40000, 116, ACK, "FGHIJ");
    seg(r, 0, 40000, 114, ACK, "DEFGH");
    seg(r, 0, 40000, 111, ACK, "ABC");
    assert_string_equal(events, "D0:ABC D0:DEFGH D0:IJ ");
    yd_reasm_free(r);
}

static void test_gap_at_end(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 101, ACK, "abc");
    seg(r, 0, 40000, 107, ACK, "ghi");
    seg(r, 0, 40000, 110, FIN | ACK, NULL);
    assert_string_equal(events, "D0:abc ");
    yd_reasm_finish(r);                               /* end of capture: the hole is given up on */
    assert_string_equal(events, "D0:abc G0:3 D0:ghi C1 ");
    assert_int_equal(yd_reasm_stats(r)->gap_bytes, 3);
    yd_reasm_free(r);
}

static void test_buffer_bound(void **state)
{
    (void)state;
    /* Room for 8 bytes of data in two segments' bookkeeping. */
    struct yd_reasm *r = mk(16, 8 + 2 * sizeof(struct yd_held));
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 111, ACK, "klmno");
    assert_string_equal(events, "");
    seg(r, 0, 40000, 121, ACK, "uvwxy");             /* 10 bytes held > 8: stop waiting */
    assert_string_equal(events, "G0:10 D0:klmno ");
    assert_int_equal(yd_reasm_stats(r)->overflows, 1);
    seg(r, 0, 40000, 101, ACK, "abcdefghij");       /* too late: already skipped */
    seg(r, 0, 40000, 116, ACK, "pqrst");
    assert_string_equal(events, "G0:10 D0:klmno D0:pqrst D0:uvwxy ");
    assert_int_equal(yd_reasm_stats(r)->retransmitted, 1);
    yd_reasm_free(r);
}

/* Concatenates delivered bytes (no event text) for the bulk test. */
static char bulk[4096];
static size_t bulk_len;
static void bulk_data(void *ctx, struct yd_flow *f, int d, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)f;
    (void)d;
    assert_true(bulk_len + n <= sizeof bulk);
    memcpy(bulk + bulk_len, p, n);
    bulk_len += n;
}

static void test_many_small_segments(void **state)
{
    (void)state;
    char want[2000];
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (char)('a' + i % 26);
    for (int order = 0; order < 3; order++) {
        struct yd_reasm_limits lim = {16, 1u << 20};
        struct yd_reasm_cb cb = {NULL, bulk_data, NULL, NULL};
        struct yd_reasm *r = yd_reasm_new(&lim, &cb);
        bulk_len = 0;
        handshake(r, 40000, 100, 900);
        char one[2] = {0, 0};
        /* 0: all but the first byte in order, then the first; 1: reversed; 2: odd then even */
        for (size_t k = 0; k < sizeof want; k++) {
            size_t i = order == 0 ? (k + 1) % sizeof want
                     : order == 1 ? sizeof want - 1 - k
                     : (k < sizeof want / 2 ? 2 * k + 1 : 2 * (k - sizeof want / 2));
            one[0] = want[i];
            seg(r, 0, 40000, 101 + (uint32_t)i, ACK, one);
            seg(r, 0, 40000, 101 + (uint32_t)i, ACK, one);   /* and its retransmission */
        }
        assert_int_equal(bulk_len, sizeof want);
        assert_memory_equal(bulk, want, sizeof want);
        assert_int_equal(yd_reasm_stats(r)->gap_bytes, 0);
        yd_reasm_free(r);
    }
}

static void test_rst(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 101, ACK, "abc");
    seg(r, 0, 40000, 107, ACK, "ghi");
    seg(r, 1, 40000, 901, RST, NULL);
    assert_string_equal(events, "D0:abc G0:3 D0:ghi C1 ");
    seg(r, 1, 40000, 901, RST, NULL);                /* repeated RST, late data: ignored */
    seg(r, 0, 40000, 110, ACK, "jkl");
    seg(r, 0, 40000, 200, SYN, NULL);                /* a new SYN starts a new connection */
    seg(r, 0, 40000, 201, ACK, "new");
    seg(r, 1, 40001, 1, RST, NULL);                  /* RST of an unknown flow: nothing */
    yd_reasm_free(r);
    assert_string_equal(events, "D0:abc G0:3 D0:ghi C1 D0:new C2 ");
}

static struct yd_flow *last_flow;
static void grab_flow(void *ctx, struct yd_flow *f, int d, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)d;
    (void)p;
    (void)n;
    if (!last_flow)
        last_flow = malloc(sizeof *last_flow);
    memcpy(last_flow, f, sizeof *f);
}

static int client_port(void (*feed)(struct yd_reasm *))
{
    struct yd_reasm_limits lim = {16, 1024};
    struct yd_reasm_cb cb = {NULL, grab_flow, NULL, NULL};
    struct yd_reasm *r = yd_reasm_new(&lim, &cb);
    feed(r);
    yd_reasm_free(r);
    assert_non_null(last_flow);
    int p = last_flow->ep[0].port;
    free(last_flow);
    last_flow = NULL;
    return p;
}

static void feed_synack_first(struct yd_reasm *r) { seg(r, 1, 5555, 900, SYN | ACK, NULL); seg(r, 1, 5555, 901, ACK, "x"); }
static void feed_server_first(struct yd_reasm *r) { seg(r, 1, 40000, 900, ACK, "x"); }
static void feed_both_low(struct yd_reasm *r)
{
    /* 5050 <-> 6000, no SYN: whoever speaks first is the client */
    struct yd_segment s;
    memset(&s, 0, sizeof s);
    s.src.family = s.dst.family = 4;
    s.src.port = 6000;
    s.dst.port = 5050;
    s.data = (const uint8_t *)"x";
    s.caplen = s.len = 1;
    yd_reasm_segment(r, &s);
}

static void test_direction(void **state)
{
    (void)state;
    assert_int_equal(client_port(feed_synack_first), 5555);   /* SYN+ACK comes from the server */
    assert_int_equal(client_port(feed_server_first), 40000);  /* ephemeral port = client */
    assert_int_equal(client_port(feed_both_low), 6000);
}

static void test_eviction(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(2, 1024);
    seg(r, 0, 40001, 1, ACK, "a");
    seg(r, 0, 40002, 1, ACK, "b");
    seg(r, 0, 40001, 2, ACK, "c");                  /* 40001 is now the most recent */
    seg(r, 0, 40003, 1, ACK, "d");                  /* evicts 40002 (flow 2) */
    assert_string_equal(events, "D0:a D0:b D0:c C2 D0:d ");
    assert_int_equal(yd_reasm_stats(r)->evicted, 1);
    yd_reasm_free(r);
}

static void test_seq_wrap(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 0xFFFFFFFAu, 900);
    seg(r, 0, 40000, 0xFFFFFFFBu, ACK, "abc");
    seg(r, 0, 40000, 0x00000001u, ACK, "ghi");       /* held across the wrap */
    seg(r, 0, 40000, 0xFFFFFFFEu, ACK, "def");
    seg(r, 0, 40000, 0xFFFFFFFEu, ACK, "de");        /* old */
    assert_string_equal(events, "D0:abc D0:def D0:ghi ");
    yd_reasm_free(r);
}

static void test_snaplen_cut(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    struct yd_segment s;
    memset(&s, 0, sizeof s);
    s.src.family = s.dst.family = 4;
    s.src.ip[0] = s.dst.ip[0] = 127;
    s.src.ip[3] = s.dst.ip[3] = 1;
    s.src.port = 40000;
    s.dst.port = 5050;
    s.seq = 101;
    s.flags = ACK;
    s.data = (const uint8_t *)"abcdefgh";
    s.caplen = 3;
    s.len = 8;
    assert_int_equal(yd_reasm_segment(r, &s), 0);
    seg(r, 0, 40000, 109, ACK, "ij");
    assert_string_equal(events, "D0:abc G0:5 D0:ij ");
    /* A cut segment arriving out of order keeps its hole in place. */
    s.seq = 116;
    s.caplen = 2;
    s.len = 4;
    s.data = (const uint8_t *)"pqrs";
    assert_int_equal(yd_reasm_segment(r, &s), 0);
    seg(r, 0, 40000, 111, ACK, "klmno");
    seg(r, 0, 40000, 120, ACK, "t");
    assert_string_equal(events, "D0:abc G0:5 D0:ij D0:klmno D0:pq G0:2 D0:t ");
    yd_reasm_free(r);
}

static void test_port_reuse(void **state)
{
    (void)state;
    struct yd_reasm *r = mk(16, 1024);
    handshake(r, 40000, 100, 900);
    seg(r, 0, 40000, 101, ACK, "old");
    seg(r, 0, 40000, 100, SYN, NULL);                /* retransmitted SYN: same connection */
    handshake(r, 40000, 5000, 7000);                 /* a new ISN: a new connection */
    seg(r, 0, 40000, 5001, ACK, "new");
    yd_reasm_free(r);
    assert_string_equal(events, "D0:old C1 D0:new C2 ");
}

static void test_data_only_after_handshake(void **state)
{
    (void)state;
    /* SYN carrying data (TCP fast open): the data follows the SYN's sequence number. */
    struct yd_reasm *r = mk(16, 1024);
    seg(r, 0, 40000, 100, SYN, "tfo");
    seg(r, 0, 40000, 104, ACK, "more");
    yd_reasm_free(r);
    assert_string_equal(events, "D0:tfo D0:more C1 ");
}

/* ---- frame parsing ---- */

static void parse_kind(int kind)
{
    static const char pay[] = "YMSGpayload";
    struct cb_seg s = {{127, 0, 0, 1}, {127, 0, 0, 2}, 40000, 5050, 1234, 0x18, pay, sizeof pay - 1};
    struct cb_buf f = {0};
    cb_frame(&f, kind, &s);
    int dlt = cb_linktype(kind);
    if (dlt == CB_RAW)
        dlt = 12;   /* libpcap maps LINKTYPE_RAW to DLT_RAW */
    struct yd_segment out;
    assert_int_equal(yd_parse_frame(dlt, f.p, f.len, &out), 1);
    assert_int_equal(out.src.port, 40000);
    assert_int_equal(out.dst.port, 5050);
    assert_int_equal(out.seq, 1234);
    assert_int_equal(out.flags, 0x10);
    assert_int_equal(out.len, sizeof pay - 1);
    assert_memory_equal(out.data, pay, out.caplen);
    char a[YD_ENDPOINT_STRLEN];
    yd_endpoint_str(&out.src, a, sizeof a);
    assert_string_equal(a, kind == CB_ETHER_IPV6 ? "[::1]:40000" : "127.0.0.1:40000");
    /* Every truncation of the frame is rejected or yields a shorter capture, never an overread
     * (ASan checks the latter). */
    for (size_t n = 0; n < f.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, f.p, n);
        if (yd_parse_frame(dlt, copy, n, &out) == 1)
            assert_true(out.caplen < sizeof pay - 1);
        free(copy);
    }
    cb_free(&f);
}

static void test_parse_frames(void **state)
{
    (void)state;
    int kinds[] = {CB_ETHER, CB_ETHER_VLAN, CB_ETHER_IPV6, CB_NULL, CB_LOOP, CB_RAW, CB_SLL, CB_SLL2};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        parse_kind(kinds[i]);
    assert_false(yd_linktype_supported(105));        /* 802.11 */
    /* Not TCP: UDP in IPv4, and an IPv4 fragment. */
    static const char pay[] = "x";
    struct cb_seg s = {{127, 0, 0, 1}, {127, 0, 0, 2}, 1, 2, 3, 0x18, pay, 1};
    struct cb_buf f = {0};
    cb_ipv4_tcp(&f, &s);
    struct yd_segment out;
    f.p[9] = 17;
    assert_int_equal(yd_parse_frame(12, f.p, f.len, &out), 0);
    f.p[9] = 6;
    f.p[6] = 0x20;                                  /* more fragments */
    assert_int_equal(yd_parse_frame(12, f.p, f.len, &out), 0);
    f.p[6] = 0x40;
    assert_int_equal(yd_parse_frame(12, f.p, f.len, &out), 1);
    f.p[0] = 0x44;                                  /* header length 16 < 20 */
    assert_int_equal(yd_parse_frame(12, f.p, f.len, &out), 0);
    cb_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_fin),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_retransmit),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_gap_at_end),
        cmocka_unit_test(test_buffer_bound),
        cmocka_unit_test(test_many_small_segments),
        cmocka_unit_test(test_rst),
        cmocka_unit_test(test_direction),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_snaplen_cut),
        cmocka_unit_test(test_port_reuse),
        cmocka_unit_test(test_data_only_after_handshake),
        cmocka_unit_test(test_parse_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
