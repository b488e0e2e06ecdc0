/* HTTP helpers; see httputil.h. */
#include "httputil.h"

#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ssize_t http_pct_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            c = hexval(in[i + 1]) * 16 + hexval(in[i + 2]);
            i += 2;
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return (ssize_t)o;
}

ssize_t http_query_get(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = query;
    if (!query) return -1;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = eq ? len - klen - 1 : 0;
            ssize_t r = http_pct_decode(v, vlen, out, cap);
            return r < 0 ? -2 : r;
        }
        if (!end) break;
        p = end + 1;
    }
    return -1;
}

int http_target_path(const char *target, char *out, size_t cap)
{
    const char *p = target;
    if (!target || cap == 0) return -1;
    if (*p != '/') {
        /* absolute form: scheme "://" authority path */
        const char *sep = strstr(p, "://");
        if (!sep) return -1;
        for (const char *s = p; s < sep; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '+' ||
                  *s == '-' || *s == '.'))
                return -1;
        p = sep + 3;
        p += strcspn(p, "/?#");
        if (*p != '/') {
            if (cap < 2) return -1;
            out[0] = '/';
            out[1] = 0;
            return 0;
        }
    }
    size_t n = strcspn(p, "?#");
    if (n >= cap) return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}
