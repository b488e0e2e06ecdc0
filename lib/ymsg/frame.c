/* Framing (§1): the 20-byte header and the stateless streaming decoder.
 *
 * The decoder follows picohttpparser's contract: it owns no buffer, keeps no state between calls and
 * allocates nothing.  Given the unconsumed bytes it either returns one complete, fully validated packet
 * (a view into those bytes), says "need more", or names the error and the offending offset.  Because it
 * is a pure function of its input, feeding a stream in any chunking gives the same packets and the same
 * errors: a prefix of the input yields either YMSG_EAGAIN or exactly the whole input's answer.
 *
 * Body rules (decided here, documented in ymsg.h):
 *   - every field, including the last, ends with C0 80 (YMSG_ETRAIL otherwise);
 *   - keys are 1..10 ASCII digits whose value fits in 32 bits; an empty key, a non-digit, an 11th
 *     digit or an overflow is YMSG_EKEY.  Pidgin silently drops pairs with empty keys; a server that
 *     rejects them loses nothing a real client sends and gains an unambiguous pair list;
 *   - a key with no value after it is YMSG_EODD;
 *   - values are any bytes without C0 80 (binary-safe, may be empty);
 *   - an empty body (length 0) is valid and has 0 pairs. */
#include "codec_internal.h"

static const uint8_t magic[4] = {'Y', 'M', 'S', 'G'};

void ymsg_limits_default(struct ymsg_limits *lim)
{
    lim->max_body = YMSG_MAX_BODY;
    lim->max_pairs = YMSG_DEFAULT_MAX_PAIRS;
}

/* Index of the first byte of buf[0..min(len,4)) that differs from "YMSG", or 4 when all match. */
static size_t magic_mismatch(const uint8_t *buf, size_t len)
{
    size_t n = len < 4 ? len : 4;
    for (size_t i = 0; i < n; i++)
        if (buf[i] != magic[i])
            return i;
    return 4;
}

int ymsg_header_decode(const uint8_t *buf, size_t len, struct ymsg_header *out)
{
    size_t bad = magic_mismatch(buf, len);
    if (bad < 4 && bad < len)
        return YMSG_EMAGIC;
    if (len < YMSG_HEADER_LEN)
        return YMSG_EAGAIN;
    /* YMSG 8-10 clients wrote the version little-endian ("09 00 00 00", §1.1).  Like Escargot we read
     * 08 00 / 09 00 / 0a 00 as LE; no BE version 0x0800-0x0a00 was ever used. */
    if (buf[5] == 0 && buf[4] >= 8 && buf[4] <= 10) {
        out->version = buf[4];
        out->version_le = 1;
    } else {
        out->version = ymsg_rd16_(buf + 4);
        out->version_le = 0;
    }
    out->vendor = ymsg_rd16_(buf + 6);
    out->length = ymsg_rd16_(buf + 8);
    out->service = ymsg_rd16_(buf + 10);
    out->status = ymsg_rd32_(buf + 12);
    out->session = ymsg_rd32_(buf + 16);
    return YMSG_HEADER_LEN;
}

void ymsg_header_encode(uint8_t out[YMSG_HEADER_LEN], const struct ymsg_header *hdr)
{
    memcpy(out, magic, 4);
    if (hdr->version_le) {
        out[4] = (uint8_t)hdr->version;
        out[5] = (uint8_t)(hdr->version >> 8);
    } else {
        ymsg_wr16_(out + 4, hdr->version);
    }
    ymsg_wr16_(out + 6, hdr->vendor);
    ymsg_wr16_(out + 8, hdr->length);
    ymsg_wr16_(out + 10, hdr->service);
    ymsg_wr32_(out + 12, hdr->status);
    ymsg_wr32_(out + 16, hdr->session);
}

static inline ssize_t body_fail(int err, const uint8_t *at, const uint8_t *body, size_t *err_off)
{
    if (err_off)
        *err_off = (size_t)(at - body);
    return err;
}

/* The reference validator: pair by pair, byte by byte for keys.  It defines every error and offset.
 * Starts at body offset `from`, which must be the start of a pair, with n pairs already counted. */
static ssize_t validate_scalar(const uint8_t *body, size_t len, size_t from, size_t n, size_t max_pairs,
                               struct ymsg_kv *kv, size_t kvcap, size_t *err_off)
{
    const uint8_t *p = body + from, *end = body + len;

    while (p < end) {
        const uint8_t *k = p;
        uint64_t v = 0;
        /* key: digits up to C0 80 */
        for (;;) {
            unsigned d = (unsigned)*p - '0';
            if (d < 10) {
                if (p - k == 10)
                    return body_fail(YMSG_EKEY, p, body, err_off); /* 11th digit */
                v = v * 10 + d;
                if (++p == end)
                    return body_fail(YMSG_ETRAIL, k, body, err_off); /* key runs to the end */
                continue;
            }
            if (*p != YMSG_SEP0)
                return body_fail(YMSG_EKEY, p, body, err_off);
            if (p + 1 == end)
                return body_fail(YMSG_ETRAIL, p, body, err_off); /* half a separator at the end */
            if (p[1] != YMSG_SEP1)
                return body_fail(YMSG_EKEY, p, body, err_off);
            break;
        }
        if (p == k || v > UINT32_MAX)
            return body_fail(YMSG_EKEY, k, body, err_off);
        p += 2;
        if (p == end)
            return body_fail(YMSG_EODD, k, body, err_off);
        /* value: anything up to the next C0 80 */
        const uint8_t *s = ymsg_find_sep_(body, p, end);
        if (!s)
            return body_fail(YMSG_ETRAIL, p, body, err_off);
        if (n >= max_pairs)
            return body_fail(YMSG_ETOOBIG, k, body, err_off);
        if (n < kvcap)
            kv[n] = (struct ymsg_kv){(uint32_t)v, p, (size_t)(s - p)};
        n++;
        p = s + 2;
    }
    return (ssize_t)n;
}

/* The fast path works on 64-byte windows starting at a pair boundary: one set of independent loads
 * yields the positions of every C0 80 separator and every digit in the window, and then each pair in
 * it costs a few bit operations (key end, value end, "are all key bytes digits").  Only when a pair
 * does not fit does the window move, so the dependency chain load -> mask -> next position is paid
 * once per window rather than once per field; that latency, not the work, is what bounds a
 * pair-by-pair scan.  A key must be 1..9 digits here; 10-digit keys (which may overflow) and every
 * error go to validate_scalar() from the start of the current pair, so errors and offsets are exactly
 * the reference's.  After this, iteration can trust the layout and skip every check. */
static ssize_t validate_body(const uint8_t *body, size_t len, size_t max_pairs, struct ymsg_kv *kv, size_t kvcap,
                             size_t *err_off)
{
    size_t n = 0;
    const uint8_t *p = body;
#if defined(__SSE2__)
    const uint8_t *end = body + len;
    while (p < end) {
        uint64_t dig, sep = ymsg_window64_(body, p, end, &dig);
        unsigned off = 0; /* start of the current pair, relative to p */
        while (sep) {
            unsigned ke = (unsigned)__builtin_ctzll(sep), kl = ke - off;
            uint64_t need = ((1ull << kl) - 1) << off;
            uint64_t rest = sep & (sep - 1);
            if (kl - 1 >= 9 || (dig & need) != need || (rest && n >= max_pairs)) {
                p += off;
                goto slow;
            }
            if (!rest)
                break; /* the value ends beyond the window */
            unsigned ve = (unsigned)__builtin_ctzll(rest);
            if (n < kvcap)
                kv[n] = (struct ymsg_kv){ymsg_parse_key_(p + off, kl, end), p + ke + 2, ve - ke - 2};
            n++;
            off = ve + 2;
            sep = rest & (rest - 1);
        }
        if (off) {
            p += off;
            continue;
        }
        /* one pair longer than the window: its key (checked above) ends in it, its value does not */
        if (!sep || end - p < 65 || n >= max_pairs)
            goto slow;
        const uint8_t *s = ymsg_find_sep_(body, p + 64, end);
        if (!s)
            goto slow;
        if (n < kvcap) {
            unsigned ke = (unsigned)__builtin_ctzll(sep);
            kv[n] = (struct ymsg_kv){ymsg_parse_key_(p, ke, end), p + ke + 2, (size_t)(s - p) - ke - 2};
        }
        n++;
        p = s + 2;
    }
    return (ssize_t)n;
slow: /* p is the start of the pair that stopped the fast path */
#endif
    return validate_scalar(body, len, (size_t)(p - body), n, max_pairs, kv, kvcap, err_off);
}

ssize_t ymsg_body_validate(const uint8_t *body, size_t len, size_t max_pairs, size_t *err_off)
{
    return validate_body(body, len, max_pairs, NULL, 0, err_off);
}

ssize_t ymsg_decode_pairs(const uint8_t *buf, size_t len, const struct ymsg_limits *lim, struct ymsg_packet *pkt,
                          struct ymsg_kv *kv, size_t kvcap, size_t *err_off)
{
    size_t max_body = YMSG_MAX_BODY, max_pairs = YMSG_DEFAULT_MAX_PAIRS;
    if (lim) {
        if (lim->max_body && lim->max_body < max_body)
            max_body = lim->max_body;
        if (lim->max_pairs)
            max_pairs = lim->max_pairs;
    }
    if (len < YMSG_HEADER_LEN) {
        /* Fail early on a wrong magic so a caller feeding garbage does not wait for 20 bytes. */
        size_t bad = magic_mismatch(buf, len);
        if (bad < 4 && bad < len) {
            if (err_off)
                *err_off = bad;
            return YMSG_EMAGIC;
        }
        return YMSG_EAGAIN;
    }
    if (memcmp(buf, magic, 4) != 0) {
        if (err_off)
            *err_off = magic_mismatch(buf, len);
        return YMSG_EMAGIC;
    }
    ymsg_header_decode(buf, len, &pkt->hdr);
    size_t blen = pkt->hdr.length;
    if (blen > max_body) {
        if (err_off)
            *err_off = 8; /* the length field */
        return YMSG_ETOOBIG;
    }
    if (len - YMSG_HEADER_LEN < blen)
        return YMSG_EAGAIN;
    size_t off;
    ssize_t n = validate_body(buf + YMSG_HEADER_LEN, blen, max_pairs, kv, kv ? kvcap : 0, &off);
    if (n < 0) {
        if (err_off)
            *err_off = YMSG_HEADER_LEN + off;
        return n;
    }
    pkt->body = buf + YMSG_HEADER_LEN;
    pkt->npairs = (size_t)n;
    return (ssize_t)(YMSG_HEADER_LEN + blen);
}

ssize_t ymsg_decode(const uint8_t *buf, size_t len, const struct ymsg_limits *lim, struct ymsg_packet *pkt,
                    size_t *err_off)
{
    return ymsg_decode_pairs(buf, len, lim, pkt, NULL, 0, err_off);
}

size_t ymsg_resync(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return 0;
    const uint8_t *p = buf + 1, *end = buf + len;
    while (p < end) {
        const uint8_t *y = memchr(p, 'Y', (size_t)(end - p));
        if (!y)
            return len;
        size_t avail = (size_t)(end - y);
        if (avail < 4) {
            /* "Y", "YM", "YMS" at the very end may still become a magic */
            if (memcmp(y, magic, avail) == 0)
                return (size_t)(y - buf);
        } else if (memcmp(y, magic, 4) == 0) {
            return (size_t)(y - buf);
        }
        p = y + 1;
    }
    return len;
}
