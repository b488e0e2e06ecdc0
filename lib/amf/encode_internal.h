/* Internals of the libamf encoders shared by encode.c (AMF0, AMF3, entry points) and
 * encode_envelope.c (remoting envelope, write primitives for externalizable handlers).
 * Not installed. */
#ifndef AMF_ENCODE_INTERNAL_H
#define AMF_ENCODE_INTERNAL_H

#include "internal.h"

#include <stdint.h>
#include <string.h>

struct str_ent {
    const char *ptr;   /* string bytes (the value's own) */
    uint32_t len;      /* byte length */
    uint32_t idx;      /* table index on the wire */
    uint32_t gen;      /* front cache: valid when equal to the table's gen */
    uint32_t hash;     /* low bits of the hash */
};
/* Main table slot: 8 bytes, so the table stays small enough for the cache; the string itself is
 * only looked at (in `side`, written in insertion order) when the tags match.  A slot is in use
 * when its gen equals the table's sgen, so starting fresh does not clear the table. */
struct str_slot {
    uint32_t side1;    /* index into side + 1 */
    uint16_t tag;      /* high 16 bits of the hash (the low bits pick the slot) */
    uint16_t gen;      /* in use when equal to the table's sgen */
};
#define STR_CACHE 256
struct str_tab {
    struct str_ent cache[STR_CACHE]; /* small direct-mapped front table: member names and other
                                      * repeated strings hit here, in L1, not in the big table */
    struct str_slot *slots; /* open addressing, cap of them */
    uint32_t cap;      /* power of two (0 = none yet) */
    struct str_ent *side; /* entries in insertion order */
    uint32_t nside;    /* entries in side */
    uint32_t capside;  /* allocated side entries */
    uint32_t count;    /* next index on the wire */
    uint32_t gen;      /* front-cache generation (starts at 1) */
    uint32_t base;     /* entries with a lower index belong to an earlier 0x11 value: not reused */
    uint16_t sgen;     /* slot generation (starts at 1; slots are cleared when it wraps) */
};

struct ptr_ent {
    const void *key;   /* node or traits address */
    uint32_t idx;      /* table index */
    uint32_t gen;      /* valid when equal to the table's gen */
};
struct ptr_tab {
    struct ptr_ent *e; /* slots */
    uint32_t cap;      /* power of two */
    uint32_t count;    /* live entries */
    uint32_t gen;      /* current generation */
    uint32_t base;     /* entries with a lower index belong to an earlier 0x11 value: not reused */
};

struct amf_enc {
    struct amf_buf *out;            /* destination */
    const struct amf_limits *lim;   /* depth limit */
    const struct amf_registry *reg; /* externalizable classes */
    uint32_t depth;                 /* current nesting */
    struct str_tab strs;            /* AMF3 string table */
    struct ptr_tab objs3;           /* AMF3 object table (count = next index) */
    struct ptr_tab traits;          /* AMF3 traits by address */
    struct ptr_tab traitc;          /* AMF3 traits by content: key = traits, hash of content */
    uint32_t ntraits;               /* next traits index */
    const struct amf_traits *tlast; /* traits written last (objects of one class come in runs) */
    uint32_t tlast_idx;             /* its traits index */
    uint32_t tlast_gen;             /* valid when equal to traits.gen */
    struct ptr_tab objs0;           /* AMF0 reference table */
    uint32_t nobjs0;                /* next AMF0 index (may pass 65535; those are not stored) */
};

struct amf_encoder {
    struct amf_enc e;               /* tables kept between calls */
};

/* Hot-path helpers: inlined even where gcc's size heuristics would not (each saves a call per
 * member or value). */
#if defined(__GNUC__)
#define AMF_INLINE inline __attribute__((always_inline))
#else
#define AMF_INLINE inline
#endif

#define TRY(x) do { int r_ = (x); if (AMF_UNLIKELY(r_)) return r_; } while (0)


static inline int put(struct amf_enc *e, const void *p, size_t n)
{
    struct amf_buf *b = e->out;
    if (AMF_UNLIKELY(b->cap - b->len < n)) TRY(amf_buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int put1(struct amf_enc *e, uint8_t c)
{
    struct amf_buf *b = e->out;
    if (AMF_UNLIKELY(b->cap == b->len)) TRY(amf_buf_reserve(b, 1));
    b->data[b->len++] = c;
    return 0;
}

static inline int put_dbl(struct amf_enc *e, uint8_t marker, double d)
{
    struct amf_buf *b = e->out;
    if (AMF_UNLIKELY(b->cap - b->len < 9)) TRY(amf_buf_reserve(b, 9));
    b->data[b->len] = marker;
    amf_wrdbl(b->data + b->len + 1, d);
    b->len += 9;
    return 0;
}

/* Copies n bytes without a library call for the short names and values AMF0 is mostly made of
 * (a call to memcpy costs more than the copy below 16 bytes).  Overlapping loads and stores stay
 * inside [s, s+n) and [d, d+n). */
static AMF_INLINE uint8_t *copy_short(uint8_t *d, const char *s, size_t n)
{
    if (AMF_LIKELY(n <= 16)) {
        if (n >= 8) {
            uint64_t a, b;
            memcpy(&a, s, 8);
            memcpy(&b, s + n - 8, 8);
            memcpy(d, &a, 8);
            memcpy(d + n - 8, &b, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, s, 4);
            memcpy(&b, s + n - 4, 4);
            memcpy(d, &a, 4);
            memcpy(d + n - 4, &b, 4);
        } else if (n) {
            d[0] = (uint8_t)s[0];
            d[n / 2] = (uint8_t)s[n / 2];
            d[n - 1] = (uint8_t)s[n - 1];
        }
    } else {
        memcpy(d, s, n);
    }
    return d + n;
}

/* Room for n more bytes, written at the end pointer below. */
static inline int need(struct amf_enc *e, size_t n)
{
    struct amf_buf *b = e->out;
    if (AMF_UNLIKELY(b->cap - b->len < n)) return amf_buf_reserve(b, n);
    return 0;
}
static inline uint8_t *end_of(struct amf_enc *e) { return e->out->data + e->out->len; }

/* U29 (§2.1): 1 to 4 bytes. */
static AMF_INLINE size_t u29_size(uint32_t v)
{
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
}
static AMF_INLINE uint8_t *u29_at(uint8_t *p, uint32_t v)
{
    if (v < 0x80) { p[0] = (uint8_t)v; return p + 1; }
    if (v < 0x4000) { p[0] = (uint8_t)(v >> 7 | 0x80); p[1] = v & 0x7f; return p + 2; }
    if (v < 0x200000) {
        p[0] = (uint8_t)(v >> 14 | 0x80); p[1] = (uint8_t)(v >> 7 | 0x80); p[2] = v & 0x7f;
        return p + 3;
    }
    p[0] = (uint8_t)(v >> 22 | 0x80); p[1] = (uint8_t)(v >> 15 | 0x80);
    p[2] = (uint8_t)(v >> 8 | 0x80); p[3] = (uint8_t)v;
    return p + 4;
}

static inline int put_u29(struct amf_enc *e, uint32_t v)
{
    if (AMF_UNLIKELY(v > 0x1FFFFFFF)) return AMF_ERANGE;
    TRY(need(e, u29_size(v)));
    e->out->len = (size_t)(u29_at(end_of(e), v) - e->out->data);
    return 0;
}

/* Inline length with the low "not a reference" bit. */
static inline int put_len29(struct amf_enc *e, uint32_t len)
{
    if (AMF_UNLIKELY(len > 0x0FFFFFFF)) return AMF_ERANGE;
    return put_u29(e, len << 1 | 1);
}

/* The encoder core, for encode_envelope.c. */
void amf_enc_setup_(struct amf_enc *e, const struct amf_opts *opts);
void amf_enc_free_(struct amf_enc *e);
/* Fresh reference tables (AMF0 and AMF3) and depth. */
void amf_enc_reset_(struct amf_enc *e);
/* One AMF0 / AMF3 value, or an AMF3 string (with references). */
int amf_enc_wr0_(struct amf_enc *e, const struct amf_value *v);
int amf_enc_wr3_(struct amf_enc *e, const struct amf_value *v);
int amf_enc_str3_(struct amf_enc *e, const char *p, uint32_t len);
/* An AMF0 UTF-8 string with a 16-bit length (envelope header names, targets). */
int amf_enc_u16str_(struct amf_enc *e, const char *p, uint32_t len);

#endif
