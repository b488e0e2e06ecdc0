/* Helpers shared by the codec files (frame.c, kv.c, builder.c); not part of the public API. */
#ifndef YMSG_CODEC_INTERNAL_H
#define YMSG_CODEC_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "ymsg/ymsg.h"

/* First C0 80 separator in [p, end), or NULL.  Most values are short ("1", "alice", a buddy id), where
 * the call overhead of memchr dominates, so the first few bytes are checked inline; long values (IM
 * text, cookies) go to memchr, which is vectorised.  0xC0 never occurs in valid UTF-8, so a memchr hit
 * is nearly always a real separator and the loop rarely iterates. */
static inline const uint8_t *ymsg_find_sep_(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *stop = end - 1; /* a separator needs two bytes */
    const uint8_t *inl = (end - p > 16) ? p + 16 : stop;
    for (; p < inl; p++)
        if (p[0] == YMSG_SEP0 && p[1] == YMSG_SEP1)
            return p;
    while (p < stop) {
        const uint8_t *c = memchr(p, YMSG_SEP0, (size_t)(stop - p));
        if (!c)
            return NULL;
        if (c[1] == YMSG_SEP1)
            return c;
        p = c + 1;
    }
    return NULL;
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
