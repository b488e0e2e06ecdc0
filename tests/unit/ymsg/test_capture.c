/* Real client -> server packets from /work/shared/captures (libpurple 2.10.9, libyahoo2 1.0.0,
 * OpenYMSG), extracted with
 *   tshark -r FILE -Y ymsg -T fields -e tcp.dstport -e ymsg.service -e ymsg.status -e tcp.payload
 * and decoded here field by field.  The service/status columns tshark printed are asserted too, so the
 * header decode is checked against an independent decoder. */
#include "testutil.h"

struct cap {
    const char *name;    /* which client, which packet */
    unsigned service;    /* ymsg.service as tshark printed it */
    uint32_t status;     /* ymsg.status as tshark printed it */
    uint32_t session;    /* header session id */
    const char *hex;     /* tcp.payload */
    size_t npairs;       /* pairs in the body */
    const char *pairs;   /* "key=value;..." of some pairs, in order, checked with ymsg_get_nth */
};

static const struct cap caps[] = {
    {"libpurple AUTH", 87, 99, 0, "594d534700100000000a0057000000630000000031c080616c696365c080", 1, "1=alice"},
    {"libpurple AUTHRESP", 84, 99, 0,
     "594d53470010000000850054000000630000000031c080616c696365c08030c080616c696365c080323737c080763d31266e"
     "3d66616b65266c3d616c6963652f6fc080323738c0807a3d66616b6526613d31c080333037c0804251455f55395f787430"
     "5a4833657a7a5354783862412d2dc080323434c08034313934323339c08032c080616c696365c08032c08031c0803938c0"
     "807573c080",
     9, "1=alice;0=alice;277=v=1&n=fake&l=alice/o;278=z=fake&a=1;307=BQE_U9_xt0ZH3ezzSTx8bA--;244=4194239;"
         "2=alice;98=us"},
    {"libpurple MESSAGE", 6, 1515563606, 0,
     "594d534700100000005400065a55aa560000000031c080616c696365c08035c080626f62c0803937c08031c0803134c08068"
     "6920626f622066726f6d206c6962707572706c65c0803633c0803b30c0803634c08030c08031303032c08031c0803230"
     "36c08030c080",
     8, "1=alice;5=bob;97=1;14=hi bob from libpurple;63=;0;64=0;1002=1;206=0"},
    {"libpurple Y6_STATUS_UPDATE", 198, 0, 0,
     "594d534700100000001400c600000000000000003130c08030c0803139c080c0803437c08030c080", 3, "10=0;19=;47=0"},
    {"libyahoo2 AUTHRESP", 84, 0, 0x01020304,
     "594d53470010000000d00054000000000102030431c080616c696365c08030c080616c696365c080323737c080763d31266e"
     "3d66616b65266c3d616c6963652f6f26703d3126723d31266c673d656e2d555326696e746c3d7573c080323738c0807a3d"
     "66616b6526613d3126736b3d31266b733d3126643d31c080333037c0804251455f55395f7874305a4833657a7a535478"
     "3862412d2dc080323434c08034313934323339c08032c080616c696365c08032c08031c0803539c08066616b656226623d"
     "3326733d31c0803938c0807573c080313335c080392e302e302e32313532c080",
     11, "1=alice;0=alice;307=BQE_U9_xt0ZH3ezzSTx8bA--;59=fakeb&b=3&s=1;98=us;135=9.0.0.2152"},
    {"libyahoo2 MESSAGE", 6, 1515563606, 0x01020304,
     "594d534700100000004b00065a55aa560102030431c080616c696365c08035c080626f62c0803134c080686920626f6220"
     "66726f6d206c69627961686f6f32c0803937c08031c0803633c0803b30c0803634c08030c080323036c08030c080",
     7, "1=alice;5=bob;14=hi bob from libyahoo2;97=1;63=;0;64=0;206=0"},
    {"openymsg AUTHRESP", 84, 1515563605, 0x01020304,
     "594d53470010000000a900545a55aa550102030431c080616c696365c08030c080616c696365c080323737c080763d3126"
     "6e3d66616b65266c3d616c6963652f6fc080323738c0807a3d66616b6526613d31c080333037c0804251455f55395f78"
     "74305a4833657a7a5354783862412d2dc080323434c08034313934323339c08032c080616c696365c08032c08031c080"
     "3539c08066616b656226623d3326733d31c0803938c0807573c080313335c080392e302e302e32313632c080",
     11, "307=BQE_U9_xt0ZH3ezzSTx8bA--;135=9.0.0.2162"},
    {"openymsg PING", 18, 0, 0x01020304, "594d534700100000000000120000000001020304", 0, ""},
    {"openymsg KEEPALIVE", 138, 0, 0x01020304,
     "594d534700100000000a008a000000000102030430c080616c696365c080", 1, "0=alice"},
    {"openymsg MESSAGE", 6, 1515563606, 0x01020304,
     "594d534700100000006900065a55aa560102030431c080616c696365c08035c080626f62c0803937c08031c0803633c080"
     "3b30c0803634c08030c080323036c08030c0803134c080686920626f622066726f6d206f70656e796d7367c0803432"
     "39c08030303031373935353837353230353731c080343530c08030c080",
     9, "14=hi bob from openymsg;429=0001795587520571;450=0"},
    {"openymsg LOGOFF", 2, 0, 0x01020304, "594d534700100000000a0002000000000102030430c080616c696365c080", 1,
     "0=alice"},
};

/* Checks "k=v;k=v" (values may contain '=' and, for key 63, ";0") against pkt in order of occurrence. */
static void check_pairs(const struct ymsg_packet *pkt, const char *spec)
{
    size_t seen[2048] = {0};
    const char *p = spec;
    while (*p) {
        char *eq;
        unsigned long key = strtoul(p, &eq, 10);
        assert_true(*eq == '=' && key < 2048);
        const char *v = eq + 1, *end = v;
        /* a value ends at the ';' that starts the next "digits=" */
        for (;;) {
            end = strchr(end, ';');
            if (!end) {
                end = v + strlen(v);
                break;
            }
            const char *d = end + 1;
            while (*d >= '0' && *d <= '9')
                d++;
            if (d > end + 1 && *d == '=')
                break;
            end++;
        }
        struct ymsg_kv kv;
        assert_int_equal(ymsg_get_nth(pkt, (uint32_t)key, seen[key]++, &kv), 0);
        assert_int_equal(kv.len, (size_t)(end - v));
        assert_memory_equal(kv.val, v, kv.len);
        p = *end ? end + 1 : end;
    }
}

static void test_captures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        uint8_t buf[512];
        size_t n = unhex(caps[i].hex, buf, sizeof buf);
        struct ymsg_packet pkt;
        decode_one(buf, n, &pkt);
        assert_int_equal(pkt.hdr.version, 16);
        assert_int_equal(pkt.hdr.vendor, 0);
        assert_int_equal(pkt.hdr.service, caps[i].service);
        assert_int_equal(pkt.hdr.status, caps[i].status);
        assert_int_equal(pkt.hdr.session, caps[i].session);
        assert_int_equal(pkt.npairs, caps[i].npairs);
        check_pairs(&pkt, caps[i].pairs);
        /* re-encoding pair by pair reproduces the client's bytes exactly */
        uint8_t out[512];
        struct ymsg_builder b;
        ymsg_builder_init(&b, out, sizeof out);
        ymsg_build_begin(&b, pkt.hdr.service, pkt.hdr.status, pkt.hdr.session);
        size_t pos = 0;
        struct ymsg_kv kv;
        while (ymsg_next(&pkt, &pos, &kv))
            ymsg_build_kv(&b, kv.key, kv.val, kv.len);
        assert_int_equal(ymsg_build_end(&b), (ssize_t)n);
        assert_memory_equal(out, buf, n);
    }
}

/* Key 307 of every client's AUTHRESP is the §13.2 value for crumb "CRUMBalice". */
static void test_capture_auth16(void **state)
{
    (void)state;
    char out[25];
    assert_int_equal(ymsg_auth16_response("CRUMBalice", "x^0+1-2*3/4%5", out), 0);
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        if (caps[i].service != YMSG_SVC_AUTHRESP)
            continue;
        uint8_t buf[512];
        size_t n = unhex(caps[i].hex, buf, sizeof buf);
        struct ymsg_packet pkt;
        decode_one(buf, n, &pkt);
        char v[64];
        assert_int_equal(ymsg_get_str(&pkt, YMSG_KEY_AUTH16_RESP, v, sizeof v), 24);
        assert_true(ymsg_ct_streq(v, out));
    }
}

/* All client packets of one capture back to back, as the server's read buffer sees them. */
static void test_capture_stream(void **state)
{
    (void)state;
    uint8_t buf[4096];
    size_t len = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        len += unhex(caps[i].hex, buf + len, sizeof buf - len);
    size_t pos = 0, n = 0;
    struct ymsg_packet pkt;
    ssize_t rc;
    while ((rc = ymsg_decode(buf + pos, len - pos, NULL, &pkt, NULL)) > 0) {
        assert_int_equal(pkt.hdr.service, caps[n].service);
        pos += (size_t)rc;
        n++;
    }
    assert_int_equal(rc, YMSG_EAGAIN);
    assert_int_equal(pos, len);
    assert_int_equal(n, sizeof caps / sizeof caps[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_capture_auth16),
        cmocka_unit_test(test_capture_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
