/* Client session: small text helpers (key/value views to C strings, ids, UTF-8, Yahoo formatting). */
#include "session_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------------
 * small helpers
 * ---------------------------------------------------------------------------------------------- */
void sess_log(struct ymsg_session *s, int level, const char *fmt, ...)
{
    if (!s->cfg.log || level < s->cfg.log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_ud, level, buf);
}

long long sess_kv_int(const struct ymsg_kv *kv, long long dflt)
{
    char buf[24];
    if (kv->len == 0 || kv->len >= sizeof buf)
        return dflt;
    memcpy(buf, kv->val, kv->len);
    buf[kv->len] = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    return *end ? dflt : v;
}

void sess_lower(char *p)
{
    for (; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

int sess_utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

/* Yahoo formatting inside text: ESC[...m colour codes and a few HTML-ish tags.  Returns the length of
 * the code at p, or 0. */
static size_t format_code(const uint8_t *p, size_t n)
{
    if (p[0] == 0x1b && n >= 2 && p[1] == '[') {
        for (size_t i = 2; i < n && i < 24; i++)
            if (p[i] == 'm')
                return i + 1;
        return 0;
    }
    if (p[0] != '<' || n < 3)
        return 0;
    static const char *const tags[] = {"font", "fade", "alt", "b", "i", "u", "s"};
    size_t i = 1;
    if (p[i] == '/')
        i++;
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        size_t tl = strlen(tags[t]);
        if (n - i > tl && strncasecmp((const char *)p + i, tags[t], tl) == 0 &&
            (p[i + tl] == '>' || p[i + tl] == ' ')) {
            for (size_t j = i + tl; j < n && j < 256; j++)
                if (p[j] == '>')
                    return j + 1;
            return 0;
        }
    }
    return 0;
}

/* Message / status text to display-safe UTF-8: formatting codes removed, control characters other than
 * tab and newline dropped, invalid UTF-8 read as ISO-8859-1 when key 97 is absent and replaced by
 * U+FFFD otherwise.  Returns a malloc'd string or NULL. */
char *sess_text_clean(const uint8_t *p, size_t n, int utf8_flag)
{
    int latin1 = !utf8_flag && !sess_utf8_valid(p, n);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t f = format_code(p + i, n - i);
        if (f) { i += f; continue; }
        uint8_t c = p[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != 0x7f)
                out[o++] = (char)c;
            else if (c == '\t' || c == '\n')
                out[o++] = (char)c;
            else if (c == '\r' && !(i + 1 < n && p[i + 1] == '\n'))
                out[o++] = '\n';
            i++;
            continue;
        }
        if (latin1) {
            if (c >= 0xA0) { out[o++] = (char)(0xC0 | (c >> 6)); out[o++] = (char)(0x80 | (c & 0x3F)); }
            i++;
            continue;
        }
        size_t l = utf8_seq(p + i, n - i);
        if (!l) {
            memcpy(out + o, "\xEF\xBF\xBD", 3); o += 3; i++;
            continue;
        }
        if (l == 2 && c == 0xC2 && p[i + 1] < 0xA0) { i += 2; continue; } /* C1 controls */
        memcpy(out + o, p + i, l);
        o += l;
        i += l;
    }
    out[o] = 0;
    return out;
}

void sess_text_clean_into(const struct ymsg_kv *kv, int utf8_flag, char *dst, size_t cap)
{
    char *t = sess_text_clean(kv->val, kv->len, utf8_flag);
    if (!t) { dst[0] = 0; return; }
    size_t n = strlen(t);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80) /* do not cut a sequence */
            n--;
    }
    memcpy(dst, t, n);
    dst[n] = 0;
    free(t);
}

int sess_valid_id(const char *id)
{
    if (!id || !id[0] || strlen(id) >= YMSG_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == ',' || *p == 0xC0)
            return 0;
    return 1;
}

int sess_valid_text(const char *t, size_t max)
{
    if (!t)
        return 1;
    size_t n = strlen(t);
    return n <= max && !memmem(t, n, "\xC0\x80", 2);
}
