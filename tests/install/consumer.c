/* An outside program built against the installed libymsg and libamf (tests/install/test_install.py
 * compiles it with nothing but `pkg-config --cflags --libs libymsg libamf` from the install tree):
 * encodes and decodes one YMSG packet and one AMF3 object, and checks the round trips. */
#include <stdio.h>
#include <string.h>

#include <amf/amf.h>
#include <ymsg/ymsg.h>

static int check_ymsg(void)
{
    uint8_t buf[256];
    struct ymsg_builder b;
    struct ymsg_packet pkt;
    char text[64];
    size_t err_off = 0;
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, YMSG_SVC_MESSAGE, 0, 0x1234);
    ymsg_build_str(&b, 1, "alice");
    ymsg_build_str(&b, 5, "bob");
    ymsg_build_str(&b, 14, "hello from outside");
    ssize_t n = ymsg_build_end(&b);
    if (n <= 0) {
        fprintf(stderr, "ymsg_build_end: %s\n", ymsg_strerror((int)n));
        return 1;
    }
    ssize_t used = ymsg_decode(buf, (size_t)n, NULL, &pkt, &err_off);
    if (used != n || pkt.hdr.service != YMSG_SVC_MESSAGE || pkt.npairs != 3 ||
        ymsg_get_str(&pkt, 14, text, sizeof text) != 18 || strcmp(text, "hello from outside") != 0) {
        fprintf(stderr, "ymsg round trip failed (decode %zd of %zd)\n", used, n);
        return 1;
    }
    printf("ymsg: %s %zd bytes, 14=%s\n", ymsg_service_name(pkt.hdr.service), n, text);
    return 0;
}

static int check_amf(void)
{
    amf_arena *a = amf_arena_new(0);
    struct amf_buf out;
    struct amf_value *obj, *back = NULL;
    size_t used = 0;
    int rc = 1;
    amf_buf_init(&out, 0);
    if (!a) return 1;
    obj = amf_new_object(a, "");
    if (!obj || amf_object_set(a, obj, "name", amf_new_stringz(a, "bob")) != 0 ||
        amf_object_set(a, obj, "phone", amf_new_stringz(a, "555-1234")) != 0) {
        fprintf(stderr, "amf: building the object failed\n");
        goto done;
    }
    int e = amf_encode(NULL, AMF_AMF3, obj, &out);
    if (e != 0) {
        fprintf(stderr, "amf_encode: %s\n", amf_strerror(e));
        goto done;
    }
    e = amf_decode(NULL, a, AMF_AMF3, out.data, out.len, &back, &used);
    struct amf_value *phone = back ? amf_object_get(back, "phone") : NULL;
    if (e != 0 || used != out.len || amf_value_equal(obj, back, AMF_EQ_NO_FLAGS) != 1 || !phone ||
        phone->u.s.len != 8 || memcmp(phone->u.s.ptr, "555-1234", 8) != 0) {
        fprintf(stderr, "amf round trip failed: %s\n", e ? amf_strerror(e) : "values differ");
        goto done;
    }
    printf("amf: AMF3 object, %zu bytes, phone=%.*s\n", out.len, (int)phone->u.s.len, phone->u.s.ptr);
    rc = 0;
done:
    amf_buf_free(&out);
    amf_arena_free(a);
    return rc;
}

int main(void)
{
    return check_ymsg() | check_amf();
}
