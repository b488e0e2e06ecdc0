/* Human-readable and JSON renderings of a decoded packet (ymsgdump, logs, test failure messages).
 * Both follow snprintf's contract: they always compute the full length and write what fits. */

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

/* Decimal without printf: the key of every pair goes through here, and vsnprintf per pair was most of
 * a dump's time. */
static void put_u32(struct sink *s, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(s, tmp + sizeof tmp - n, n);
}

/* "0x" and the value in upper-case hex, at least `digits` digits. */
static void put_hex(struct sink *s, uint32_t v, int digits)
{
    static const char up[] = "0123456789ABCDEF";
    char tmp[10] = {'0', 'x'};
    int n = 8;
    while (n > digits && !(v >> (4 * (n - 1)))) /* drop leading zeros down to `digits` */
        n--;
    for (int i = 0; i < n; i++)
        tmp[2 + i] = up[(v >> (4 * (n - 1 - i))) & 15];
    put(s, tmp, (size_t)n + 2);
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

/* U+0080..U+009F (C2 80..C2 9F): valid UTF-8, but terminals may treat them as control sequences. */
static int is_c1(const uint8_t *p, size_t u)
{
    return u == 2 && p[0] == 0xC2 && p[1] < 0xA0;
}

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
        if (u && !is_c1(p, u)) {
            put(s, (const char *)p, u);
            p += u;
        } else if (u) { /* C1 control (U+0080..U+009F): terminals may act on it, so show both bytes */
            char e[8] = {'\\', 'x', 'c', '2', '\\', 'x', hexd[p[1] >> 4], hexd[p[1] & 15]};
            put(s, e, 8);
            p += 2;
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
        /* C1 controls stay raw here: "\u0080".."\u009f" already mean the bytes 80..9F (see above), and
         * JSON is for programs; the text dump is the one that escapes them for terminals */
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
    puts_(&s, ident ? ident : "UNKNOWN");
    putc_(&s, '(');
    put_hex(&s, h->service, 2);
    puts_(&s, ") status=");
    /* statuses up to 0xFFFF read best in decimal (0, 1, 5, 12, 99); the magic ones in hex */
    if (h->status <= 0xFFFF)
        put_u32(&s, h->status);
    else
        put_hex(&s, h->status, 8);
    const char *st = ymsg_packet_status_name(h->service, h->status);
    if (st) {
        puts_(&s, " (");
        puts_(&s, st);
        putc_(&s, ')');
    }
    puts_(&s, " session=");
    put_hex(&s, h->session, 8);
    puts_(&s, " version=");
    put_u32(&s, h->version);
    puts_(&s, h->version_le ? "(le) vendor=" : " vendor=");
    put_u32(&s, h->vendor);
    puts_(&s, " len=");
    put_u32(&s, h->length);
    putc_(&s, '\n');
    size_t pos = 0;
    struct ymsg_kv kv;
    while (pkt->body && ymsg_next(pkt, &pos, &kv)) {
        const char *kn = ymsg_key_name(kv.key);
        put(&s, "  ", 2);
        put_u32(&s, kv.key);
        if (kn) {
            put(&s, " (", 2);
            puts_(&s, kn);
            put(&s, ") = ", 4);
        } else {
            put(&s, " = ", 3);
        }
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
    puts_(&s, "{\"service\":");
    put_u32(&s, h->service);
    puts_(&s, ",\"service_name\":");
    if (name) {
        putc_(&s, '"');
        puts_(&s, name);
        putc_(&s, '"');
    } else {
        puts_(&s, "null");
    }
    puts_(&s, ",\"status\":");
    put_u32(&s, h->status);
    puts_(&s, ",\"session\":");
    put_u32(&s, h->session);
    puts_(&s, ",\"version\":");
    put_u32(&s, h->version);
    puts_(&s, h->version_le ? ",\"version_le\":true,\"vendor\":" : ",\"version_le\":false,\"vendor\":");
    put_u32(&s, h->vendor);
    puts_(&s, ",\"length\":");
    put_u32(&s, h->length);
    puts_(&s, ",\"pairs\":[");
    size_t pos = 0;
    struct ymsg_kv kv;
    int first = 1;
    while (pkt->body && ymsg_next(pkt, &pos, &kv)) {
        put(&s, first ? "[" : ",[", first ? 1 : 2);
        put_u32(&s, kv.key);
        put(&s, ",\"", 2);
        put_json_escaped(&s, kv.val, kv.len);
        puts_(&s, "\"]");
        first = 0;
    }
    puts_(&s, "]}");
    return finish(&s);
}
