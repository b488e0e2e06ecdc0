/* Test helper: builds pcap / pcapng files in memory (frames: link header + IPv4/IPv6 + TCP), so the
 * tests can feed yd_dump() exactly the bytes a case needs. */
#ifndef CAPBUILD_H
#define CAPBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A growing byte buffer. */
struct cb_buf {
    uint8_t *p;             /* bytes */
    size_t len;             /* used */
    size_t cap;             /* allocated */
};

static inline void cb_put(struct cb_buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n)
            nc *= 2;
        b->p = realloc(b->p, nc);
        if (!b->p)
            abort();
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}
static inline void cb_u8(struct cb_buf *b, unsigned v) { uint8_t x = (uint8_t)v; cb_put(b, &x, 1); }
static inline void cb_be16(struct cb_buf *b, unsigned v) { cb_u8(b, v >> 8); cb_u8(b, v); }
static inline void cb_be32(struct cb_buf *b, uint32_t v) { cb_be16(b, v >> 16); cb_be16(b, v & 0xFFFF); }
static inline void cb_le16(struct cb_buf *b, unsigned v) { cb_u8(b, v); cb_u8(b, v >> 8); }
static inline void cb_le32(struct cb_buf *b, uint32_t v) { cb_le16(b, v & 0xFFFF); cb_le16(b, v >> 16); }
static inline void cb_free(struct cb_buf *b) { free(b->p); memset(b, 0, sizeof *b); }

/* One TCP segment to put in a frame. */
struct cb_seg {
    uint8_t src[4], dst[4];  /* IPv4 addresses */
    uint16_t sport, dport;   /* ports */
    uint32_t seq;            /* sequence number */
    uint8_t flags;           /* TCP flags (0x02 SYN, 0x10 ACK, 0x01 FIN, 0x04 RST) */
    const void *data;        /* payload */
    size_t len;              /* payload length */
};

/* IPv4 + TCP (no checksums: ymsgdump does not verify them). */
static inline void cb_ipv4_tcp(struct cb_buf *b, const struct cb_seg *s)
{
    cb_u8(b, 0x45); cb_u8(b, 0); cb_be16(b, (unsigned)(40 + s->len));
    cb_be16(b, 1); cb_be16(b, 0x4000); cb_u8(b, 64); cb_u8(b, 6); cb_be16(b, 0);
    cb_put(b, s->src, 4); cb_put(b, s->dst, 4);
    cb_be16(b, s->sport); cb_be16(b, s->dport); cb_be32(b, s->seq); cb_be32(b, 0);
    cb_u8(b, 5 << 4); cb_u8(b, s->flags); cb_be16(b, 65535); cb_be16(b, 0); cb_be16(b, 0);
    cb_put(b, s->data, s->len);
}

/* IPv6 (::1 style addresses from the last byte of src/dst) + TCP. */
static inline void cb_ipv6_tcp(struct cb_buf *b, const struct cb_seg *s)
{
    uint8_t a[16] = {0};
    cb_be32(b, 0x60000000u); cb_be16(b, (unsigned)(20 + s->len)); cb_u8(b, 6); cb_u8(b, 64);
    a[15] = s->src[3]; cb_put(b, a, 16);
    a[15] = s->dst[3]; cb_put(b, a, 16);
    cb_be16(b, s->sport); cb_be16(b, s->dport); cb_be32(b, s->seq); cb_be32(b, 0);
    cb_u8(b, 5 << 4); cb_u8(b, s->flags); cb_be16(b, 65535); cb_be16(b, 0); cb_be16(b, 0);
    cb_put(b, s->data, s->len);
}

/* Link-layer types the builder writes (pcap LINKTYPE values). */
enum { CB_ETHER = 1, CB_NULL = 0, CB_LOOP = 108, CB_RAW = 101, CB_SLL = 113, CB_SLL2 = 276,
       CB_ETHER_VLAN = 1001, CB_ETHER_IPV6 = 1002 };

/* One frame of the given kind into f. */
static inline void cb_frame(struct cb_buf *f, int kind, const struct cb_seg *s)
{
    static const uint8_t mac[12] = {0};
    switch (kind) {
    case CB_ETHER: cb_put(f, mac, 12); cb_be16(f, 0x0800); cb_ipv4_tcp(f, s); break;
    case CB_ETHER_VLAN: cb_put(f, mac, 12); cb_be16(f, 0x8100); cb_be16(f, 42); cb_be16(f, 0x0800);
        cb_ipv4_tcp(f, s); break;
    case CB_ETHER_IPV6: cb_put(f, mac, 12); cb_be16(f, 0x86DD); cb_ipv6_tcp(f, s); break;
    case CB_NULL: cb_le32(f, 2); cb_ipv4_tcp(f, s); break;
    case CB_LOOP: cb_be32(f, 2); cb_ipv4_tcp(f, s); break;
    case CB_RAW: cb_ipv4_tcp(f, s); break;
    case CB_SLL: cb_be16(f, 0); cb_be16(f, 772); cb_be16(f, 6); cb_put(f, mac, 8); cb_be16(f, 0x0800);
        cb_ipv4_tcp(f, s); break;
    case CB_SLL2: cb_be16(f, 0x0800); cb_be16(f, 0); cb_be32(f, 1); cb_be16(f, 772); cb_u8(f, 0);
        cb_u8(f, 6); cb_put(f, mac, 8); cb_ipv4_tcp(f, s); break;
    default: abort();
    }
}

static inline int cb_linktype(int kind)
{
    return kind == CB_ETHER_VLAN || kind == CB_ETHER_IPV6 ? CB_ETHER : kind;
}

/* Classic pcap, little-endian, microseconds.  swapped: big-endian file; nano: nanosecond magic. */
static inline void cb_pcap_header(struct cb_buf *b, int linktype, int swapped, int nano)
{
    uint32_t magic = nano ? 0xA1B23C4Du : 0xA1B2C3D4u;
    void (*w32)(struct cb_buf *, uint32_t) = swapped ? cb_be32 : cb_le32;
    void (*w16)(struct cb_buf *, unsigned) = swapped ? cb_be16 : cb_le16;
    w32(b, magic); w16(b, 2); w16(b, 4); w32(b, 0); w32(b, 0); w32(b, 65535); w32(b, (uint32_t)linktype);
}

static inline void cb_pcap_record(struct cb_buf *b, const struct cb_buf *frame, uint32_t t, int swapped)
{
    void (*w32)(struct cb_buf *, uint32_t) = swapped ? cb_be32 : cb_le32;
    w32(b, 1700000000u + t); w32(b, 0); w32(b, (uint32_t)frame->len); w32(b, (uint32_t)frame->len);
    cb_put(b, frame->p, frame->len);
}

/* pcapng: section header + one interface description. */
static inline void cb_pcapng_header(struct cb_buf *b, int linktype)
{
    cb_le32(b, 0x0A0D0D0A); cb_le32(b, 28); cb_le32(b, 0x1A2B3C4D); cb_le16(b, 1); cb_le16(b, 0);
    cb_le32(b, 0xFFFFFFFFu); cb_le32(b, 0xFFFFFFFFu); cb_le32(b, 28);
    cb_le32(b, 1); cb_le32(b, 20); cb_le16(b, (unsigned)linktype); cb_le16(b, 0); cb_le32(b, 65535);
    cb_le32(b, 20);
}

static inline void cb_pcapng_record(struct cb_buf *b, const struct cb_buf *frame, uint32_t t)
{
    size_t pad = (4 - frame->len % 4) % 4;
    uint32_t total = (uint32_t)(32 + frame->len + pad);
    uint64_t us = (1700000000ull + t) * 1000000ull;
    static const uint8_t zero[4] = {0};
    cb_le32(b, 6); cb_le32(b, total); cb_le32(b, 0);
    cb_le32(b, (uint32_t)(us >> 32)); cb_le32(b, (uint32_t)us);
    cb_le32(b, (uint32_t)frame->len); cb_le32(b, (uint32_t)frame->len);
    cb_put(b, frame->p, frame->len); cb_put(b, zero, pad);
    cb_le32(b, total);
}

/* A capture: format 0 pcap, 1 pcap big-endian, 2 pcap nanoseconds, 3 pcapng. */
struct cb_capture {
    struct cb_buf file;     /* the bytes so far */
    int kind;               /* frame kind (CB_*) */
    int format;             /* see above */
    uint32_t t;             /* next timestamp offset */
};

static inline void cb_capture_init(struct cb_capture *c, int kind, int format)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->format = format;
    if (format == 3)
        cb_pcapng_header(&c->file, cb_linktype(kind));
    else
        cb_pcap_header(&c->file, cb_linktype(kind), format == 1, format == 2);
}

static inline void cb_capture_seg(struct cb_capture *c, const struct cb_seg *s)
{
    struct cb_buf f = {0};
    cb_frame(&f, c->kind, s);
    if (c->format == 3)
        cb_pcapng_record(&c->file, &f, c->t++);
    else
        cb_pcap_record(&c->file, &f, c->t++, c->format == 1);
    cb_free(&f);
}

#endif
