/* Helpers shared by the codec files (frame.c, kv.c, builder.c); not part of the public API. */
#ifndef YMSG_CODEC_INTERNAL_H
#define YMSG_CODEC_INTERNAL_H

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ymsg/ymsg.h"

/* First C0 80 separator in [p, end), or NULL.  base <= p is the start of the readable region (the
 * body): the tail may be examined with a load that starts before p, never one that reads past end.
 *
 * This is the hot loop of both validation and iteration.  Fields are short (a key is 1-3 digits, most
 * values under 16 bytes), so a memchr() call per field costs more in call overhead and branch misses
 * than the scan itself.  With SSE2 (every x86-64) 16 bytes are compared at once and the C0 positions
 * come out as a bit mask; 0xC0 never occurs in valid UTF-8, so the first candidate is nearly always
 * the separator. */
static inline const uint8_t *ymsg_find_sep_(const uint8_t *base, const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i c0 = _mm_set1_epi8((char)YMSG_SEP0);
    /* full blocks: candidate i needs p[i + 1], so a block needs 17 readable bytes */
    while (end - p >= 17) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), c0));
        while (m) {
            unsigned i = (unsigned)__builtin_ctz(m);
            if (p[i + 1] == YMSG_SEP1)
                return p + i;
            m &= m - 1;
        }
        p += 16;
    }
    if (end - base >= 17) {
        /* tail: one block ending at end-1, overlapping what was already scanned */
        const uint8_t *q = end - 17;
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)q), c0));
        m &= ~0u << (p - q); /* only positions >= p */
        while (m) {
            unsigned i = (unsigned)__builtin_ctz(m);
            if (q[i + 1] == YMSG_SEP1)
                return q + i;
            m &= m - 1;
        }
        return NULL;
    }
#else
    (void)base;
#endif
    for (; end - p >= 2; p++)
        if (p[0] == YMSG_SEP0 && p[1] == YMSG_SEP1)
            return p;
    return NULL;
}

#if defined(__SSE2__)
/* Bit i set where p[i] is an ASCII digit.  Signed compares work: '0'..'9' are positive bytes and every
 * byte >= 0x80 is negative, hence below '0'. */
static inline unsigned ymsg_digit_mask_(__m128i v)
{
    __m128i ge0 = _mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1));
    __m128i le9 = _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1));
    return (unsigned)_mm_movemask_epi8(_mm_and_si128(ge0, le9));
}

/* Bit i set where a C0 80 separator starts at p[i], for i in 0..31.  Reads p[0..32]: the 0x80 half
 * comes from loads at p+1, so no load depends on a previous mask (latency, not work, bounds a
 * pair-by-pair scan). */
static inline uint32_t ymsg_sep_mask32_(const uint8_t *p)
{
    const __m128i c0 = _mm_set1_epi8((char)YMSG_SEP0), c80 = _mm_set1_epi8((char)YMSG_SEP1);
    __m128i lo = _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), c0),
                               _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 1)), c80));
    __m128i hi = _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), c0),
                               _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 17)), c80));
    return (uint32_t)_mm_movemask_epi8(lo) | (uint32_t)_mm_movemask_epi8(hi) << 16;
}

/* Separator mask (and, if dig is not NULL, digit mask) of the 64 bytes at q; reads q[0..64]. */
static inline uint64_t ymsg_sep64_at_(const uint8_t *q, uint64_t *dig)
{
    uint64_t lo = ymsg_sep_mask32_(q), hi = ymsg_sep_mask32_(q + 32);
    if (dig) {
        uint64_t d = 0;
        for (int j = 0; j < 4; j++)
            d |= (uint64_t)ymsg_digit_mask_(_mm_loadu_si128((const __m128i *)(q + 16 * j))) << (16 * j);
        *dig = d;
    }
    return lo | hi << 32;
}

/* Masks of the window [p, p+64) clipped to end, relative to p: bit i of the result is set where a
 * separator starts at p[i] (its 0x80 before end); bit i of *dig (if asked) where p[i] is a digit (not
 * guaranteed for p[end-1-p..], which no complete key can use).  Never reads outside [base, end). */
static inline uint64_t ymsg_window64_(const uint8_t *base, const uint8_t *p, const uint8_t *end, uint64_t *dig)
{
    size_t avail = (size_t)(end - p);
    if (avail >= 65)
        return ymsg_sep64_at_(p, dig);
    if (end - base >= 65) {
        /* the last full window of the body, shifted so that bit 0 is p */
        const uint8_t *q = end - 65;
        size_t k = (size_t)(p - q);
        if (k >= 64) {
            if (dig)
                *dig = 0;
            return 0;
        }
        uint64_t m = ymsg_sep64_at_(q, dig);
        if (dig)
            *dig >>= k;
        return m >> k;
    }
    uint8_t tmp[80] = {0}; /* short body: a zero-padded copy (0 is neither C0, 80 nor a digit) */
    memcpy(tmp, p, avail);
    return ymsg_sep64_at_(tmp, dig);
}
#endif

/* Key digits at k (kl >= 1 of them, all digits: the body is validated).  Keys of up to 4 (or 8, when 8
 * bytes are readable) digits are combined at once (SWAR): shift in leading zero digits, then add
 * neighbours pairwise — no loop whose length the branch predictor would have to guess. */
static inline uint32_t ymsg_parse_key_(const uint8_t *k, unsigned kl, const uint8_t *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* a validated key is followed by at least 4 more bytes (C0 80, a value, C0 80) */
    if (kl - 1u < 4) {
        uint32_t x;
        memcpy(&x, k, 4);
        x = (x & 0x0F0F0F0Fu) << (8 * (4 - kl));
        x = (x * 10 + (x >> 8)) & 0x00FF00FFu;
        return (x * 100 + (x >> 16)) & 0xFFFFu;
    }
    if (kl <= 8 && end - k >= 8) {
        uint64_t x;
        memcpy(&x, k, 8);
        x = (x & 0x0F0F0F0F0F0F0F0Full) << (8 * (8 - kl));
        x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFull;
        x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFull;
        return (uint32_t)(x * 10000 + (x >> 32));
    }
#else
    (void)end;
#endif
    uint32_t key = 0;
    for (unsigned j = 0; j < kl; j++)
        key = key * 10 + (uint32_t)(k[j] - '0');
    return key;
}

static inline uint16_t ymsg_rd16_(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ymsg_rd32_(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ymsg_wr16_(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ymsg_wr32_(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
