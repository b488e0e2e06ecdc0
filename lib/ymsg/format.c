/* Human-readable and JSON renderings of a decoded packet (ymsgdump, logs, test failure messages).
 * Both follow snprintf's contract: they always compute the full length and write what fits. */
#include <stdarg.h>
#include <stdio.h>

#include "codec_internal.h"

/* An output sink that counts everything and stores what fits in cap-1 bytes (+ NUL). */
struct sink {
    char *out;  /* caller's buffer, may be NULL when cap is 0 */
    size_t cap; /* its size */
    size_t len; /* bytes the full text needs so far */
};

static void put(struct sink *s, const char *p, size_t n)
{
    if (s->len < s->cap) {
        size_t room = s->cap - 1 - s->len;
        memcpy(s->out + s->len, p, n < room ? n : room);
    }
    s->len += n;
}

static void putc_(struct sink *s, char c)
{
    put(s, &c, 1);
}

static void puts_(struct sink *s, const char *str)
{
    put(s, str, strlen(str));
}

static void putf(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct sink *s, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int finish(struct sink *s)
{
    if (s->cap)
        s->out[s->len < s->cap ? s->len : s->cap - 1] = '\0';
    return s->len > INT32_MAX ? INT32_MAX : (int)s->len;
}

/* Length of the well-formed UTF-8 sequence at p (2..4), or 0 if p does not start one.  Strict (RFC
 * 3629): no overlong forms, no surrogates, nothing above U+10FFFF, so what passes is valid JSON text. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

static const char hexd[] = "0123456789abcdef";

/* Text dump escaping: printable ASCII and well-formed UTF-8 as is, backslash doubled, the rest \xNN. */
static void put_text_escaped(struct sink *s, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    while (p < end) {
        const uint8_t *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7F && *p != '\\')
            p++;
        put(s, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        size_t u = *p >= 0x80 ? utf8_seq(p, end) : 0;
        if (u) {
            put(s, (const char *)p, u);
            p += u;
        } else if (*p == '\\') {
            put(s, "\\\\", 2);
            p++;
        } else {
            char e[4] = {'\\', 'x', hexd[*p >> 4], hexd[*p & 15]};
            put(s, e, 4);
            p++;
        }
    }
}

/* JSON string body: well-formed UTF-8 as is; '"', '\\' and controls escaped; every other byte (not
 * part of valid UTF-8) as \u00XX, i.e. read as Latin-1 — the local code page most old clients used. */
static void put_json_escaped(struct sink *s, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    while (p < end) {
        const uint8_t *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7F && *p != '\\' && *p != '"')
            p++;
        put(s, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        size_t u = *p >= 0x80 ? utf8_seq(p, end) : 0;
        if (u) {
            put(s, (const char *)p, u);
            p += u;
            continue;
        }
        switch (*p) {
        case '"': put(s, "\\\"", 2); break;
        case '\\': put(s, "\\\\", 2); break;
        case '\n': put(s, "\\n", 2); break;
        case '\r': put(s, "\\r", 2); break;
        case '\t': put(s, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hexd[*p >> 4], hexd[*p & 15]};
            put(s, e, 6);
        }
        }
        p++;
    }
}

int ymsg_packet_format(const struct ymsg_packet *pkt, char *out, size_t cap)
{
    struct sink s = {out, out ? cap : 0, 0};
    const struct ymsg_header *h = &pkt->hdr;
    const char *ident = ymsg_service_ident(h->service);
    if (ident)
        putf(&s, "%s(0x%02X)", ident, (unsigned)h->service);
    else
        putf(&s, "UNKNOWN(0x%02X)", (unsigned)h->service);
    /* statuses up to 0xFFFF read best in decimal (0, 1, 5, 12, 99); the magic ones in hex */
    if (h->status <= 0xFFFF)
        putf(&s, " status=%u", (unsigned)h->status);
    else
        putf(&s, " status=0x%08X", (unsigned)h->status);
    const char *st = ymsg_status_name(h->status);
    if (st)
        putf(&s, " (%s)", st);
    putf(&s, " session=0x%08X version=%u%s vendor=%u len=%u\n", (unsigned)h->session,
         (unsigned)h->version, h->version_le ? "(le)" : "", (unsigned)h->vendor, (unsigned)h->length);
    size_t pos = 0;
    struct ymsg_kv kv;
    while (pkt->body && ymsg_next(pkt, &pos, &kv)) {
        const char *kn = ymsg_key_name(kv.key);
        if (kn)
            putf(&s, "  %u (%s) = ", (unsigned)kv.key, kn);
        else
            putf(&s, "  %u = ", (unsigned)kv.key);
        put_text_escaped(&s, kv.val, kv.len);
        putc_(&s, '\n');
    }
    return finish(&s);
}

int ymsg_packet_json(const struct ymsg_packet *pkt, char *out, size_t cap)
{
    struct sink s = {out, out ? cap : 0, 0};
    const struct ymsg_header *h = &pkt->hdr;
    const char *name = ymsg_service_name(h->service);
    putf(&s, "{\"service\":%u,\"service_name\":", (unsigned)h->service);
    if (name) {
        putc_(&s, '"');
        puts_(&s, name);
        putc_(&s, '"');
    } else {
        puts_(&s, "null");
    }
    putf(&s, ",\"status\":%u,\"session\":%u,\"version\":%u,\"version_le\":%s,\"vendor\":%u,\"length\":%u,"
             "\"pairs\":[",
         (unsigned)h->status, (unsigned)h->session, (unsigned)h->version, h->version_le ? "true" : "false",
         (unsigned)h->vendor, (unsigned)h->length);
    size_t pos = 0;
    struct ymsg_kv kv;
    int first = 1;
    while (pkt->body && ymsg_next(pkt, &pos, &kv)) {
        putf(&s, first ? "[%u,\"" : ",[%u,\"", (unsigned)kv.key);
        put_json_escaped(&s, kv.val, kv.len);
        puts_(&s, "\"]");
        first = 0;
    }
    puts_(&s, "]}");
    return finish(&s);
}
