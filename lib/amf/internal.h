/* libamf internals shared by its modules (not installed). */
#ifndef AMF_INTERNAL_H
#define AMF_INTERNAL_H

#include "amf/amf.h"

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__)
#define AMF_LIKELY(x)   __builtin_expect(!!(x), 1)
#define AMF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define AMF_LIKELY(x)   (x)
#define AMF_UNLIKELY(x) (x)
#endif

/* One malloc()ed block; allocations are bump-pointer within it. */
struct amf_block {
    struct amf_block *next;  /* older block */
    size_t size;             /* usable bytes in data */
    max_align_t align_;      /* aligns data */
    unsigned char data[];    /* the bytes handed out */
};

struct amf_arena {
    struct amf_block *head;  /* current block (newest first) */
    unsigned char *cur;      /* next free byte in head */
    unsigned char *end;      /* end of head's data */
    unsigned char *last;     /* start of the most recent allocation (for in-place growth) */
    size_t used;             /* bytes handed out, counted against max */
    size_t max;              /* cap on used */
    size_t next_size;        /* size of the next block (doubles up to 1 MiB) */
    struct amf_block *spare; /* blocks kept by amf_arena_reset() for reuse (no page faults) */
};

/* Slow path of the allocator (new or kept block); size already rounded. */
void *amf_arena_slow_(amf_arena *a, size_t size);

/* Inline fast path for the decoders: same contract as amf_arena_alloc(). */
static inline void *amf_arena_alloc_fast_(amf_arena *a, size_t size)
{
    size = size ? (size + 7) & ~(size_t)7 : 8;
    if (AMF_UNLIKELY(size > a->max - a->used)) return NULL;
    if (AMF_LIKELY((size_t)(a->end - a->cur) >= size)) {
        void *p = a->cur;
        a->last = a->cur;
        a->cur += size;
        a->used += size;
        return p;
    }
    return amf_arena_slow_(a, size);
}

/* The traits every anonymous dynamic object shares (AMF0 0x03, JSON objects, amf_new_object(NULL)):
 * one pointer lets the AMF3 encoder find its traits reference without hashing. */
extern const struct amf_traits amf_anon_traits_;

/* Grows the most recent allocation in place when it is the arena's last one, else allocates anew and
 * copies.  NULL when the arena is full. */
void *amf_arena_grow_(amf_arena *a, void *p, size_t old_size, size_t new_size);
/* Grows an arena array of elem-sized slots (count used, *cap allocated) so that one more fits,
 * doubling from `first` and never past `max` slots: 0, AMF_ERANGE (count >= max or the bytes would
 * not fit a size_t) or AMF_EARENA.  *items and *cap only change on success. */
int amf_arena_grow_array_(amf_arena *a, void **items, uint32_t count, uint32_t *cap, size_t elem,
                          uint32_t first, uint32_t max);

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

/* 64-bit hash of a byte string: 8 bytes per step, the tail as one overlapping load, then a
 * multiply-xorshift finish.  Strings here are mostly 2-20 bytes, so the tail path matters. */
static inline uint64_t amf_hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}
static inline uint64_t amf_hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
    uint64_t w;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8) {
            memcpy(&w, s + i, 8);
            h = amf_hash_mix(h, w);
        }
        memcpy(&w, s + n - 8, 8);  /* last 8 bytes, overlapping the previous word if needed */
        h = amf_hash_mix(h, w);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        h = amf_hash_mix(h, ((uint64_t)hi << 32) | lo);
    } else if (n) {
        h = amf_hash_mix(h, (uint64_t)s[0] | ((uint64_t)s[n / 2] << 8) | ((uint64_t)s[n - 1] << 16));
    }
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
