/* libFuzzer harness: remoting envelope, then encode + decode + compare every header and body, and
 * run the Flex message parser on every body. */
#include "fuzz_amf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int str_same(struct amf_str x, struct amf_str y)
{
    return x.len == y.len && (x.len == 0 || memcmp(x.ptr, y.ptr, x.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct amf_limits lim;
    struct amf_opts opts;
    fz_opts(&lim, &opts);
    amf_arena *a = amf_arena_new(lim.max_arena), *b = amf_arena_new(lim.max_arena);
    FZ_CHECK(a && b);
    struct amf_packet p, q;
    size_t off;
    int r = amf_packet_decode(&opts, a, data, size, &p, &off);
    if (r == 0) {
        FZ_CHECK(off == size);
        for (uint32_t i = 0; i < p.body_count; i++) {
            struct amf_flex_msg m;
            if (amf_flex_parse(a, p.bodies[i].value, &m) == 0) {
                struct amf_value *built;
                r = amf_flex_build(a, &m, &built);
                FZ_CHECK(r == 0 || r == AMF_EARENA);
            }
        }
        struct amf_buf out;
        amf_buf_init(&out, 16u << 20);
        r = amf_packet_encode(&opts, &p, &out);
        if (r == 0) {
            r = amf_packet_decode(&opts, b, out.data, out.len, &q, &off);
            if (r) fprintf(stderr, "re-decode failed: %s at %zu\n", amf_strerror(r), off);
            FZ_CHECK(r == 0);
            FZ_CHECK(q.version == p.version && q.header_count == p.header_count &&
                     q.body_count == p.body_count);
            for (uint32_t i = 0; i < p.header_count; i++) {
                FZ_CHECK(str_same(p.headers[i].name, q.headers[i].name));
                FZ_CHECK(!p.headers[i].must_understand == !q.headers[i].must_understand);
                FZ_CHECK(amf_value_equal(p.headers[i].value, q.headers[i].value, AMF_EQ_UNFOLD) == 1);
            }
            for (uint32_t i = 0; i < p.body_count; i++) {
                FZ_CHECK(str_same(p.bodies[i].target, q.bodies[i].target));
                FZ_CHECK(str_same(p.bodies[i].response, q.bodies[i].response));
                FZ_CHECK(amf_value_equal(p.bodies[i].value, q.bodies[i].value, AMF_EQ_UNFOLD) == 1);
            }
        } else {
            FZ_CHECK(r == AMF_EOUTPUT || r == AMF_EDEPTH);
        }
        amf_buf_free(&out);
    }
    amf_arena_free(a);
    amf_arena_free(b);
    return 0;
}
