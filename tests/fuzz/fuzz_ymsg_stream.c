/* libFuzzer harness for the YMSG stream decoder (lib/ymsg/frame.c) and everything that consumes its
 * packets (kv.c, format.c, builder.c).
 *
 * Properties checked (abort() on violation, so the fuzzer reports them):
 *   1. Chunking does not matter: decoding the input whole and split at a byte chosen from the input
 *      gives the same sequence of packets and the same final error/offset.
 *   2. Every decoded packet iterates to exactly npairs pairs, and the look-ups agree with iteration.
 *   3. ymsg_packet_format / ymsg_packet_json honour the snprintf contract; the JSON is valid JSON.
 *   4. Re-encoding a packet with the builder decodes back to the same header and the same pairs.
 *      ymsg_decode_pairs() and ymsg_next_batch() yield exactly the views ymsg_next() does.
 *   5. ymsg_resync returns an offset that starts a (possibly partial) magic and skips no magic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ymsg/ymsg.h"

#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* ---- a small strict JSON validator (RFC 8259), enough to prove the output parses ---- */
struct jp {
    const unsigned char *p, *end;
    int depth;
};

static int j_value(struct jp *j);

static void j_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int j_string(struct jp *j)
{
    if (j->p >= j->end || *j->p != '"')
        return 0;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (++j->p >= j->end)
                return 0;
            c = *j->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++, j->p++)
                    if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
                        return 0;
            } else if (!strchr("\"\\/bfnrt", c) || !c) {
                return 0;
            }
            continue;
        }
        if (c < 0x80) {
            j->p++;
            continue;
        }
        /* strict UTF-8 */
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return 0;
        if ((size_t)(j->end - j->p) < n || j->p[1] < lo || j->p[1] > hi)
            return 0;
        for (size_t i = 2; i < n; i++)
            if (j->p[i] < 0x80 || j->p[i] > 0xBF)
                return 0;
        j->p += n;
    }
    return 0;
}

static int j_number(struct jp *j)
{
    const unsigned char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end)
        return 0;
    if (*j->p == '0')
        j->p++;
    else if (*j->p >= '1' && *j->p <= '9')
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    else
        return 0;
    return j->p > s;
}

static int j_lit(struct jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static int j_value(struct jp *j)
{
    if (++j->depth > 16)
        return 0;
    j_ws(j);
    if (j->p >= j->end)
        return 0;
    int ok;
    switch (*j->p) {
    case '{':
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            ok = 1;
            break;
        }
        for (;;) {
            j_ws(j);
            if (!j_string(j))
                return 0;
            j_ws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return 0;
            if (!j_value(j))
                return 0;
            j_ws(j);
            if (j->p >= j->end)
                return 0;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != '}')
                return 0;
            break;
        }
        ok = 1;
        break;
    case '[':
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            ok = 1;
            break;
        }
        for (;;) {
            if (!j_value(j))
                return 0;
            j_ws(j);
            if (j->p >= j->end)
                return 0;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != ']')
                return 0;
            break;
        }
        ok = 1;
        break;
    case '"':
        ok = j_string(j);
        break;
    case 't':
        ok = j_lit(j, "true");
        break;
    case 'f':
        ok = j_lit(j, "false");
        break;
    case 'n':
        ok = j_lit(j, "null");
        break;
    default:
        ok = j_number(j);
    }
    j->depth--;
    return ok;
}

static int json_valid(const char *s, size_t n)
{
    struct jp j = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    if (!j_value(&j))
        return 0;
    j_ws(&j);
    return j.p == j.end;
}

/* ---- per-packet checks ---- */
static void check_render(const struct ymsg_packet *pkt)
{
    int need = ymsg_packet_format(pkt, NULL, 0);
    CHECK(need > 0);
    char *t = malloc((size_t)need + 1);
    CHECK(t);
    CHECK(ymsg_packet_format(pkt, t, (size_t)need + 1) == need);
    CHECK(strlen(t) == (size_t)need);
    char small[8];
    CHECK(ymsg_packet_format(pkt, small, sizeof small) == need);
    CHECK(strlen(small) == 7 && memcmp(small, t, 7) == 0);
    free(t);

    need = ymsg_packet_json(pkt, NULL, 0);
    CHECK(need > 0);
    t = malloc((size_t)need + 1);
    CHECK(t);
    CHECK(ymsg_packet_json(pkt, t, (size_t)need + 1) == need);
    CHECK(strlen(t) == (size_t)need);
    CHECK(json_valid(t, (size_t)need));
    free(t);
}

static void check_packet(const struct ymsg_packet *pkt, size_t raw_len)
{
    size_t pos = 0, n = 0;
    struct ymsg_kv kv, kv2;
    while (ymsg_next(pkt, &pos, &kv)) {
        CHECK(kv.val >= pkt->body && kv.val + kv.len <= pkt->body + pkt->hdr.length);
        /* which occurrence of this key is it? */
        size_t occ = 0, p2 = 0;
        struct ymsg_kv k3;
        for (size_t i = 0; i < n; i++) {
            CHECK(ymsg_next(pkt, &p2, &k3));
            if (k3.key == kv.key)
                occ++;
        }
        CHECK(ymsg_get_nth(pkt, kv.key, occ, &kv2) == 0);
        CHECK(kv2.val == kv.val && kv2.len == kv.len);
        CHECK(ymsg_get(pkt, kv.key, &kv2) == 0);
        CHECK(ymsg_count(pkt, kv.key) > occ);
        CHECK(ymsg_kv_eq(&kv, "") == (kv.len == 0));
        n++;
        if (n > 64) /* the quadratic cross-checks above are for small packets only */
            break;
    }
    if (n <= 64)
        CHECK(n == pkt->npairs);
    pos = n = 0;
    while (ymsg_next(pkt, &pos, &kv))
        n++;
    CHECK(n == pkt->npairs);
    CHECK(pos == pkt->hdr.length);

    if (pkt->npairs) {
        struct ymsg_kv all[4];
        ymsg_next(pkt, &(size_t){0}, &kv);
        size_t c = ymsg_get_all(pkt, kv.key, all, 4);
        CHECK(c == ymsg_count(pkt, kv.key) && c >= 1);
        CHECK(all[0].val == kv.val);
        char s[8];
        ssize_t sl = ymsg_get_str(pkt, kv.key, s, sizeof s);
        CHECK(sl == (ssize_t)kv.len && strlen(s) <= 7);
        long long v;
        int rc = ymsg_get_int(pkt, kv.key, &v);
        CHECK(rc == 0 || rc == YMSG_EINVAL);
    }
    CHECK(ymsg_get_nth(pkt, 0xFFFFFFFFu, pkt->npairs, NULL) == YMSG_ENOENT ||
          ymsg_count(pkt, 0xFFFFFFFFu) > pkt->npairs);

    /* one-pass decode and batch iteration give the same views as ymsg_next */
    {
        struct ymsg_kv one[8], batch[5];
        struct ymsg_packet q1;
        const uint8_t *raw = pkt->body - YMSG_HEADER_LEN;
        CHECK(ymsg_decode_pairs(raw, raw_len, NULL, &q1, one, 8, NULL) == (ssize_t)raw_len);
        CHECK(q1.npairs == pkt->npairs);
        size_t p1 = 0, pb = 0, i = 0, got = 0, bi = 0;
        struct ymsg_kv ref;
        while (ymsg_next(pkt, &p1, &ref)) {
            if (i < 8)
                CHECK(one[i].key == ref.key && one[i].val == ref.val && one[i].len == ref.len);
            if (bi == got) {
                got = ymsg_next_batch(pkt, &pb, batch, 5);
                bi = 0;
                CHECK(got >= 1 && got <= 5);
            }
            CHECK(batch[bi].key == ref.key && batch[bi].val == ref.val && batch[bi].len == ref.len);
            bi++;
            i++;
        }
        CHECK(bi == got && ymsg_next_batch(pkt, &pb, batch, 5) == 0 && pb == pkt->hdr.length);
    }

    check_render(pkt);

    /* re-encode pair by pair; keys may only get shorter (leading zeros drop), so raw_len suffices */
    uint8_t *out = malloc(raw_len);
    CHECK(out);
    struct ymsg_builder b;
    ymsg_builder_init(&b, out, raw_len);
    b.version = pkt->hdr.version;
    b.vendor = pkt->hdr.vendor;
    ymsg_build_begin(&b, pkt->hdr.service, pkt->hdr.status, pkt->hdr.session);
    pos = 0;
    while (ymsg_next(pkt, &pos, &kv))
        ymsg_build_kv(&b, kv.key, kv.val, kv.len);
    ssize_t sz = ymsg_build_end(&b);
    CHECK(sz > 0 && (size_t)sz <= raw_len);
    struct ymsg_packet q;
    size_t eo;
    CHECK(ymsg_decode(out, (size_t)sz, NULL, &q, &eo) == sz);
    CHECK(q.hdr.service == pkt->hdr.service && q.hdr.status == pkt->hdr.status &&
          q.hdr.session == pkt->hdr.session && q.hdr.version == pkt->hdr.version &&
          q.hdr.vendor == pkt->hdr.vendor && q.npairs == pkt->npairs);
    size_t pa = 0, pb = 0;
    struct ymsg_kv ka, kb;
    while (ymsg_next(pkt, &pa, &ka)) {
        CHECK(ymsg_next(&q, &pb, &kb));
        CHECK(ka.key == kb.key && ka.len == kb.len && (ka.len == 0 || memcmp(ka.val, kb.val, ka.len) == 0));
    }
    CHECK(!ymsg_next(&q, &pb, &kb));
    /* the whole-body copy must reproduce the body byte for byte */
    ymsg_builder_reset(&b);
    ymsg_build_begin(&b, pkt->hdr.service, pkt->hdr.status, pkt->hdr.session);
    ymsg_build_pairs(&b, pkt);
    sz = ymsg_build_end(&b);
    CHECK(sz == (ssize_t)(YMSG_HEADER_LEN + pkt->hdr.length));
    CHECK(pkt->hdr.length == 0 || memcmp(out + YMSG_HEADER_LEN, pkt->body, pkt->hdr.length) == 0);
    free(out);
}

/* ---- the stream ---- */
struct event {
    ssize_t rc;   /* packet size or error */
    size_t off;   /* absolute offset of the packet, or of the error */
    uint16_t svc; /* service of a packet */
};

#define MAX_EVENTS 4096

/* Decodes data[0..size) as if it arrived in two reads, the first of `split` bytes (a separate
 * allocation, so reading past it is caught by ASan).  Stops at the first error, as a server closing
 * the connection would.  Returns the number of events. */
static size_t run(const uint8_t *data, size_t size, size_t split, struct event *ev, int deep)
{
    size_t nev = 0, pos = 0;
    uint8_t *first = malloc(split ? split : 1);
    CHECK(first);
    memcpy(first, data, split);
    for (int phase = 0; phase < 2; phase++) {
        const uint8_t *buf = phase == 0 ? first : data;
        size_t avail = phase == 0 ? split : size;
        for (;;) {
            struct ymsg_packet pkt;
            size_t eo = (size_t)-1;
            ssize_t rc = ymsg_decode(buf + pos, avail - pos, NULL, &pkt, &eo);
            if (rc == YMSG_EAGAIN)
                break;
            CHECK(nev < MAX_EVENTS);
            if (rc < 0) {
                CHECK(rc == YMSG_EMAGIC || rc == YMSG_ETOOBIG || rc == YMSG_EKEY || rc == YMSG_EODD ||
                      rc == YMSG_ETRAIL);
                CHECK(eo < avail - pos);
                ev[nev++] = (struct event){rc, pos + eo, 0};
                free(first);
                return nev;
            }
            CHECK((size_t)rc >= YMSG_HEADER_LEN && (size_t)rc <= avail - pos);
            CHECK((size_t)rc == (size_t)YMSG_HEADER_LEN + pkt.hdr.length);
            if (deep && phase == 1)
                check_packet(&pkt, (size_t)rc);
            ev[nev++] = (struct event){rc, pos, pkt.hdr.service};
            pos += (size_t)rc;
        }
    }
    free(first);
    return nev;
}

static void check_resync(const uint8_t *data, size_t size)
{
    size_t r = ymsg_resync(data, size);
    CHECK(r <= size);
    if (size == 0) {
        CHECK(r == 0);
        return;
    }
    CHECK(r >= 1);
    size_t tail = size - r < 4 ? size - r : 4;
    CHECK(memcmp(data + r, "YMSG", tail) == 0);
    for (size_t i = 1; i + 4 <= r; i++)
        CHECK(memcmp(data + i, "YMSG", 4) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event ev_whole[MAX_EVENTS], ev_split[MAX_EVENTS];
    size_t nw = run(data, size, 0, ev_whole, 1);
    size_t split = size ? data[size / 2] * size / 256 : 0;
    size_t ns = run(data, size, split, ev_split, 0);
    CHECK(nw == ns);
    for (size_t i = 0; i < nw; i++)
        CHECK(ev_whole[i].rc == ev_split[i].rc && ev_whole[i].off == ev_split[i].off &&
              ev_whole[i].svc == ev_split[i].svc);
    check_resync(data, size);

    /* tight limits take the ETOOBIG paths */
    struct ymsg_limits lim = {.max_body = 32, .max_pairs = 2};
    struct ymsg_packet pkt;
    size_t eo;
    ssize_t rc = ymsg_decode(data, size, &lim, &pkt, &eo);
    CHECK(rc == YMSG_EAGAIN || (rc < 0 && eo < size) || (rc > 0 && pkt.hdr.length <= 32 && pkt.npairs <= 2));

    /* the body validator on raw bytes, and Y64 decoding of the input as text */
    size_t off = 0;
    ssize_t n = ymsg_body_validate(data, size, YMSG_DEFAULT_MAX_PAIRS, &off);
    CHECK(n >= 0 || off < size);
    uint8_t y[256];
    ssize_t yn = ymsg_y64_decode((const char *)data, size, y, sizeof y);
    if (yn >= 0) {
        char back[400];
        CHECK(ymsg_y64_encode(y, (size_t)yn, back, sizeof back) >= 0);
        uint8_t y2[256];
        CHECK(ymsg_y64_decode(back, strlen(back), y2, sizeof y2) == yn && memcmp(y, y2, (size_t)yn) == 0);
    }
    return 0;
}
