/* libamf internals shared by its modules (not installed). */
#ifndef AMF_INTERNAL_H
#define AMF_INTERNAL_H

#include "amf/amf.h"

#include <string.h>

#if defined(__GNUC__)
#define AMF_LIKELY(x)   __builtin_expect(!!(x), 1)
#define AMF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define AMF_LIKELY(x)   (x)
#define AMF_UNLIKELY(x) (x)
#endif

/* The traits every anonymous dynamic object shares (AMF0 0x03, JSON objects, amf_new_object(NULL)):
 * one pointer lets the AMF3 encoder find its traits reference without hashing. */
extern const struct amf_traits amf_anon_traits_;

/* Grows the most recent allocation in place when it is the arena's last one, else allocates anew and
 * copies.  NULL when the arena is full. */
void *amf_arena_grow_(amf_arena *a, void *p, size_t old_size, size_t new_size);

/* Default limits (static storage). */
const struct amf_limits *amf_limits_default_(void);

/* The state a class handler works through: exactly one of dec/enc is set. */
struct amf_dec;
struct amf_enc;
struct amf_ext_io {
    struct amf_dec *dec;  /* while decoding */
    struct amf_enc *enc;  /* while encoding */
};

/* Looks up an externalizable class: the caller's registry, then (unless disabled) the built-ins. */
const struct amf_ext_class *amf_ext_find_(const struct amf_registry *reg, const char *name,
                                          size_t len);

/* Big-endian helpers. */
static inline uint16_t amf_rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t amf_rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline double amf_rddbl(const uint8_t *p)
{
    uint64_t u = ((uint64_t)amf_rd32(p) << 32) | amf_rd32(p + 4);
    double d;
    memcpy(&d, &u, 8);
    return d;
}
static inline void amf_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void amf_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void amf_wrdbl(uint8_t *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    amf_wr32(p, (uint32_t)(u >> 32));
    amf_wr32(p + 4, (uint32_t)u);
}

/* 64-bit hash of a byte string (FNV-1a folded with a multiply; good enough for table look-ups). */
static inline uint64_t amf_hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
        s += 8; n -= 8;
    }
    while (n--) h = (h ^ *s++) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}
static inline uint64_t amf_hash_ptr(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

#endif
