/* The remoting envelope writer (§4: headers and bodies, each value behind its byte length) and the
 * writing primitives for externalizable handlers, on top of the encoder core in encode.c. */
#include "encode_internal.h"

/* Envelope: every length field gets the real byte length of its value. */
static int wr_envelope_value(struct amf_enc *e, const struct amf_value *v)
{
    size_t at = e->out->len;
    TRY(put(e, "\0\0\0\0", 4));
    amf_enc_reset_(e);
    TRY(amf_enc_wr0_(e, v));
    size_t n = e->out->len - at - 4;
    amf_wr32(e->out->data + at, n > 0xFFFFFFFEu ? 0xFFFFFFFFu : (uint32_t)n);
    return 0;
}

static int packet_encode(struct amf_enc *e, const struct amf_packet *p)
{
    uint8_t h[4];
    if (p->header_count > 0xFFFF || p->body_count > 0xFFFF) return AMF_ERANGE;
    amf_wr16(h, p->version);
    amf_wr16(h + 2, (uint16_t)p->header_count);
    TRY(put(e, h, 4));
    for (uint32_t i = 0; i < p->header_count; i++) {
        const struct amf_header *hd = &p->headers[i];
        if (!hd->value) return AMF_EINVAL;
        TRY(amf_enc_u16str_(e, hd->name.ptr, hd->name.len));
        TRY(put1(e, hd->must_understand ? 1 : 0));
        TRY(wr_envelope_value(e, hd->value));
    }
    amf_wr16(h, (uint16_t)p->body_count);
    TRY(put(e, h, 2));
    for (uint32_t i = 0; i < p->body_count; i++) {
        const struct amf_body *b = &p->bodies[i];
        if (!b->value) return AMF_EINVAL;
        TRY(amf_enc_u16str_(e, b->target.ptr, b->target.len));
        TRY(amf_enc_u16str_(e, b->response.ptr, b->response.len));
        TRY(wr_envelope_value(e, b->value));
    }
    return 0;
}

int amf_packet_encode(const struct amf_opts *opts, const struct amf_packet *p, struct amf_buf *out)
{
    if (!p || !out) return AMF_EINVAL;
    struct amf_enc e;
    memset(&e, 0, sizeof e);
    amf_enc_setup_(&e, opts);
    e.out = out;
    size_t start = out->len;
    int r = packet_encode(&e, p);
    if (r) out->len = start;
    amf_enc_free_(&e);
    return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* Writing primitives for externalizable handlers. */

#define IO_ENC(io) struct amf_enc *e = (io) ? (io)->enc : NULL; if (!e) return AMF_EINVAL

int amf_ext_write_u8(struct amf_ext_io *io, uint8_t v)
{
    IO_ENC(io);
    return put1(e, v);
}

int amf_ext_write_bytes(struct amf_ext_io *io, const void *p, size_t n)
{
    IO_ENC(io);
    return put(e, p, n);
}

/* Fixed-size big-endian fields go through write_bytes. */
int amf_ext_write_u16(struct amf_ext_io *io, uint16_t v)
{
    uint8_t b[2];
    amf_wr16(b, v);
    return amf_ext_write_bytes(io, b, 2);
}

int amf_ext_write_u32(struct amf_ext_io *io, uint32_t v)
{
    uint8_t b[4];
    amf_wr32(b, v);
    return amf_ext_write_bytes(io, b, 4);
}

int amf_ext_write_double(struct amf_ext_io *io, double v)
{
    uint8_t b[8];
    amf_wrdbl(b, v);
    return amf_ext_write_bytes(io, b, 8);
}

int amf_ext_write_u29(struct amf_ext_io *io, uint32_t v)
{
    IO_ENC(io);
    return put_u29(e, v);
}

int amf_ext_write_utf_vr(struct amf_ext_io *io, const char *s, size_t len)
{
    IO_ENC(io);
    if (len > 0x0FFFFFFF) return AMF_ERANGE;
    return amf_enc_str3_(e, s, (uint32_t)len);
}

int amf_ext_write_value(struct amf_ext_io *io, const struct amf_value *v)
{
    IO_ENC(io);
    if (!v) return put1(e, 0x01);
    return amf_enc_wr3_(e, v);
}
