/* Iteration and look-ups over a decoded packet's pairs.  ymsg_decode() has validated the whole body,
 * so nothing here re-checks the layout: a key is digits up to C0 80 and a value ends at the next C0 80.
 * Look-ups are linear scans — bodies are at most 64 KiB, usually well under 1 KiB, and building an index
 * would need memory the decoder promises not to allocate. */
#include <limits.h>

#include "codec_internal.h"

int ymsg_next(const struct ymsg_packet *pkt, size_t *pos, struct ymsg_kv *kv)
{
    size_t len = pkt->hdr.length;
    if (*pos >= len)
        return 0;
    const uint8_t *body = pkt->body, *p = body + *pos, *end = body + len;
    uint32_t key = 0;
#if defined(__SSE2__)
    if (end - p >= 33) {
        /* one 32-byte separator mask holds the key's end (always in the first 11 bytes) and usually
         * the value's */
        uint32_t sep = ymsg_sep_mask32_(p);
        unsigned kl = (unsigned)__builtin_ctz(sep);
        key = ymsg_parse_key_(p, kl, end);
        uint32_t rest = sep & (sep - 1);
        const uint8_t *s = rest ? p + __builtin_ctz(rest) : ymsg_find_sep_(body, p + 32, end);
        kv->key = key;
        kv->val = p + kl + 2;
        kv->len = (size_t)(s - kv->val);
        *pos = (size_t)(s + 2 - body);
        return 1;
    }
#endif

    while (*p != YMSG_SEP0)
        key = key * 10 + (uint32_t)(*p++ - '0');
    p += 2;
    const uint8_t *s = ymsg_find_sep_(body, p, end);
    kv->key = key;
    kv->val = p;
    kv->len = (size_t)(s - p);
    *pos = (size_t)(s + 2 - body);
    return 1;
}

size_t ymsg_next_batch(const struct ymsg_packet *pkt, size_t *pos, struct ymsg_kv *out, size_t max)
{
    size_t len = pkt->hdr.length, n = 0;
    while (n < max && *pos < len) {
#if defined(__SSE2__)
        const uint8_t *body = pkt->body, *end = body + len, *p = body + *pos;
        uint64_t sep = ymsg_window64_(body, p, end, NULL);
        unsigned off = 0;
        while (n < max) {
            uint64_t rest = sep & (sep - 1);
            if (!rest)
                break; /* no complete pair left in the window */
            unsigned ke = (unsigned)__builtin_ctzll(sep), ve = (unsigned)__builtin_ctzll(rest);
            out[n].key = ymsg_parse_key_(p + off, ke - off, end);
            out[n].val = p + ke + 2;
            out[n].len = ve - ke - 2;
            n++;
            off = ve + 2;
            sep = rest & (rest - 1);
        }
        if (off) {
            *pos += off;
            continue;
        }
#endif
        if (n < max) /* a pair longer than the window */
            n += (size_t)ymsg_next(pkt, pos, &out[n]);
    }
    return n;
}

/* Look-ups walk the pairs in batches: several pairs per window, no per-pair call. */
#define LOOKUP_BATCH 16

int ymsg_get_nth(const struct ymsg_packet *pkt, uint32_t key, size_t n, struct ymsg_kv *out)
{
    size_t pos = 0, got;
    struct ymsg_kv kv[LOOKUP_BATCH];
    while ((got = ymsg_next_batch(pkt, &pos, kv, LOOKUP_BATCH)) > 0)
        for (size_t i = 0; i < got; i++)
            if (kv[i].key == key && n-- == 0) {
                if (out)
                    *out = kv[i];
                return 0;
            }
    return YMSG_ENOENT;
}

int ymsg_get(const struct ymsg_packet *pkt, uint32_t key, struct ymsg_kv *out)
{
    return ymsg_get_nth(pkt, key, 0, out);
}

size_t ymsg_count(const struct ymsg_packet *pkt, uint32_t key)
{
    return ymsg_get_all(pkt, key, NULL, 0);
}

size_t ymsg_get_all(const struct ymsg_packet *pkt, uint32_t key, struct ymsg_kv *out, size_t max)
{
    size_t pos = 0, found = 0, got;
    struct ymsg_kv kv[LOOKUP_BATCH];
    while ((got = ymsg_next_batch(pkt, &pos, kv, LOOKUP_BATCH)) > 0)
        for (size_t i = 0; i < got; i++)
            if (kv[i].key == key) {
                if (found < max && out)
                    out[found] = kv[i];
                found++;
            }
    return found;
}

ssize_t ymsg_get_str(const struct ymsg_packet *pkt, uint32_t key, char *dst, size_t cap)
{
    struct ymsg_kv kv;
    if (!pkt || ymsg_get(pkt, key, &kv) != 0) {
        if (dst && cap)
            dst[0] = '\0';
        return YMSG_ENOENT;
    }
    if (dst && cap) {
        size_t n = kv.len < cap - 1 ? kv.len : cap - 1;
        memcpy(dst, kv.val, n);
        dst[n] = '\0';
    }
    return (ssize_t)kv.len;
}

int ymsg_get_int(const struct ymsg_packet *pkt, uint32_t key, long long *out)
{
    struct ymsg_kv kv;
    if (!pkt || ymsg_get(pkt, key, &kv) != 0)
        return YMSG_ENOENT;
    const uint8_t *p = kv.val, *end = kv.val + kv.len;
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    if (p == end)
        return YMSG_EINVAL;
    /* accumulate as a negative number so LLONG_MIN is representable */
    long long v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)*p - '0';
        if (d >= 10)
            return YMSG_EINVAL;
        if (v < (LLONG_MIN + (long long)d) / 10)
            return YMSG_EINVAL;
        v = v * 10 - (long long)d;
    }
    if (!neg) {
        if (v == LLONG_MIN)
            return YMSG_EINVAL;
        v = -v;
    }
    if (out)
        *out = v;
    return 0;
}

int ymsg_kv_eq(const struct ymsg_kv *kv, const char *s)
{
    if (!kv || !s)
        return 0;
    size_t n = strlen(s);
    return n == kv->len && (n == 0 || memcmp(kv->val, s, n) == 0);
}
