/* HTTP helpers; see httputil.h. */
#include "httputil.h"

#include <string.h>
#include <strings.h>
#include <stdint.h>

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

/* ---- request framing ---------------------------------------------------------------------------- */

ssize_t http_head_len(const char *buf, size_t len)
{
    /* evhttp reads lines up to LF and drops one CR before it: the head ends at the first line that is
     * empty that way ("\n\n" or "\n\r\n"). */
    for (size_t i = 0; i < len && i < HTTP_MAX_HEAD; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < len && buf[i + 1] == '\n') return i + 2 <= HTTP_MAX_HEAD ? (ssize_t)(i + 2) : HTTP_FR_TOO_BIG;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3 <= HTTP_MAX_HEAD ? (ssize_t)(i + 3) : HTTP_FR_TOO_BIG;
    }
    return len >= HTTP_MAX_HEAD ? HTTP_FR_TOO_BIG : 0;
}

static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Value of a framing header with spaces around it removed; tabs are refused (evhttp strips leading
 * spaces only, so "\tchunked" is not "chunked" to it). */
static int framing_value(const char *v, size_t n, const char **out, size_t *outlen)
{
    while (n && *v == ' ') v++, n--;
    while (n && v[n - 1] == ' ') n--;
    if (memchr(v, '\t', n)) return -1;
    *out = v;
    *outlen = n;
    return 0;
}

void http_head_init(struct http_head_state *st) { memset(st, 0, sizeof *st); }

int http_head_line(struct http_head_state *st, const char *line, size_t n)
{
    st->bytes += n + 1;
    if (st->bytes > HTTP_MAX_HEAD || n > HTTP_MAX_LINE) return HTTP_FR_TOO_BIG;
    if (n && line[n - 1] == '\r') n--; /* evhttp drops one CR before the LF */
    if (memchr(line, 0, n) || memchr(line, '\r', n)) return HTTP_FR_BAD_BYTE;
    if (st->lines++ == 0) {
        /* evhttp does not skip empty lines before a request: it answers 400, so do we */
        if (n == 0 || line[0] == ' ' || line[0] == '\t') return HTTP_FR_BAD_LINE;
        st->post = n > 5 && memcmp(line, "POST ", 5) == 0;
        return 0;
    }
    if (n == 0) {
        struct http_framing *f = &st->f;
        if (st->nte && st->ncl) return HTTP_FR_TE_CL;
        /* evhttp reads a body for POST only: on GET or HEAD it would read one as the next request */
        if (!st->post && (st->nte || f->length)) return HTTP_FR_BODY_METHOD;
        return 1;
    }
    if (line[0] == ' ' || line[0] == '\t') return HTTP_FR_FOLD;
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line) return HTTP_FR_BAD_NAME;
    for (const char *c = line; c < colon; c++)
        if (!is_tchar((unsigned char)*c)) return HTTP_FR_BAD_NAME;
    size_t nlen = (size_t)(colon - line), vlen;
    const char *v;
    if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        if (++st->ncl > 1) return HTTP_FR_CL_DUP;
        if (framing_value(colon + 1, n - nlen - 1, &v, &vlen) < 0 || vlen == 0 || vlen > 18) return HTTP_FR_CL_BAD;
        for (size_t k = 0; k < vlen; k++) {
            if (v[k] < '0' || v[k] > '9') return HTTP_FR_CL_BAD;
            st->f.length = st->f.length * 10 + (uint64_t)(v[k] - '0');
        }
    } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
        if (++st->nte > 1) return HTTP_FR_TE_DUP;
        if (framing_value(colon + 1, n - nlen - 1, &v, &vlen) < 0 || vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
            return HTTP_FR_TE_BAD;
        st->f.chunked = 1;
    }
    return 0;
}

int http_head_check(const char *head, size_t len, struct http_framing *f)
{
    struct http_head_state st;
    http_head_init(&st);
    f->chunked = 0;
    f->length = 0;
    for (const char *p = head, *end = head + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return HTTP_FR_BAD_LINE; /* not a head as http_head_len delimits it */
        int r = http_head_line(&st, p, (size_t)(nl - p));
        p = nl + 1;
        if (r < 0) return r;
        if (r == 1) {
            if (p != end) return HTTP_FR_BAD_LINE; /* bytes after the end of the head */
            *f = st.f;
            return HTTP_FR_OK;
        }
    }
    return HTTP_FR_BAD_LINE;
}

const char *http_framing_strerror(int err)
{
    switch (err) {
    case HTTP_FR_OK: return "ok";
    case HTTP_FR_TOO_BIG: return "request head too large";
    case HTTP_FR_BAD_BYTE: return "NUL or bare CR in the head";
    case HTTP_FR_FOLD: return "folded header line (obs-fold)";
    case HTTP_FR_BAD_NAME: return "malformed header name";
    case HTTP_FR_CL_DUP: return "more than one Content-Length";
    case HTTP_FR_CL_BAD: return "Content-Length is not a plain decimal number";
    case HTTP_FR_TE_DUP: return "more than one Transfer-Encoding";
    case HTTP_FR_TE_BAD: return "Transfer-Encoding other than chunked";
    case HTTP_FR_TE_CL: return "Transfer-Encoding together with Content-Length";
    case HTTP_FR_BODY_METHOD: return "request body on a method without one";
    case HTTP_FR_BAD_LINE: return "malformed request line";
    case HTTP_FR_CHUNK: return "malformed chunked body";
    default: return "bad framing";
    }
}

enum {
    CH_SIZE,        /* hex digits of a size line */
    CH_SIZE_LF,     /* CR seen after the size */
    CH_DATA,        /* chunk data */
    CH_DATA_CR,     /* CRLF (or LF) after the data */
    CH_DATA_LF,     /* CR seen after the data */
    CH_TRAILER,     /* start of a trailer line, or of the final empty line */
    CH_TRAILER_LINE, /* inside a trailer line */
    CH_TRAILER_LF,  /* CR seen inside a trailer line */
    CH_END_LF,      /* CR of the final empty line seen */
};

void http_chunked_init(struct http_chunked *st) { memset(st, 0, sizeof *st); }

/* A size line ended: data follows, or the trailer part after the last (0) chunk. */
static void chunk_size_done(struct http_chunked *st)
{
    st->digits = 0;
    st->state = st->left ? CH_DATA : CH_TRAILER;
    st->line = 0;
}

ssize_t http_chunked_feed(struct http_chunked *st, const char *p, size_t n, int *done)
{
    *done = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int hv;
        switch (st->state) {
        case CH_SIZE:
            if ((hv = hexval(c)) >= 0) {
                if (++st->digits > 15) return HTTP_FR_CHUNK;
                st->left = st->left * 16 + (uint64_t)hv;
                break;
            }
            if (st->digits == 0 || (c != '\r' && c != '\n')) return HTTP_FR_CHUNK;
            if (c == '\r') st->state = CH_SIZE_LF;
            else chunk_size_done(st);
            break;
        case CH_SIZE_LF:
            if (c != '\n') return HTTP_FR_CHUNK;
            chunk_size_done(st);
            break;
        case CH_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > st->left) take = (size_t)st->left;
            st->left -= take;
            i += take - 1;
            if (st->left == 0) st->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c == '\r') st->state = CH_DATA_LF;
            else if (c == '\n') st->state = CH_SIZE;
            else return HTTP_FR_CHUNK;
            break;
        case CH_DATA_LF:
            if (c != '\n') return HTTP_FR_CHUNK;
            st->state = CH_SIZE;
            break;
        case CH_TRAILER:
            if (++st->line > HTTP_MAX_HEAD) return HTTP_FR_CHUNK;
            if (c == '\n') {
                *done = 1;
                return (ssize_t)(i + 1);
            }
            if (c == '\r') {
                st->state = CH_END_LF;
                break;
            }
            if (!is_tchar(c)) return HTTP_FR_CHUNK; /* folds, a missing name, NUL */
            st->line_colon = 0;
            st->state = CH_TRAILER_LINE;
            break;
        case CH_TRAILER_LINE:
            if (++st->line > HTTP_MAX_HEAD) return HTTP_FR_CHUNK;
            if (c == '\n' || c == '\r') {
                if (!st->line_colon) return HTTP_FR_CHUNK;
                st->state = c == '\n' ? CH_TRAILER : CH_TRAILER_LF;
            } else if (c == 0) {
                return HTTP_FR_CHUNK;
            } else if (!st->line_colon) {
                if (c == ':') st->line_colon = 1;
                else if (!is_tchar(c)) return HTTP_FR_CHUNK;
            }
            break;
        case CH_TRAILER_LF:
            if (c != '\n') return HTTP_FR_CHUNK;
            st->state = CH_TRAILER;
            break;
        case CH_END_LF:
            if (c != '\n') return HTTP_FR_CHUNK;
            *done = 1;
            return (ssize_t)(i + 1);
        default:
            return HTTP_FR_CHUNK;
        }
    }
    return (ssize_t)n;
}

/* ---- Origin ---- */

/* 1 if the comma-separated header value list contains token (case-insensitive). */
int http_has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0) return 1;
        p = e;
    }
    return 0;
}

/* Origin "scheme://host[:port]" against the Host header: same origin when host[:port] match. */
static int http_same_origin(const char *origin, const char *host)
{
    const char *p = strstr(origin, "://");
    if (!p || !host) return 0;
    return strcasecmp(p + 3, host) == 0;
}

int http_origin_allowed(const char *origin, const char *host, const char *allow)
{
    if (!origin) return 1; /* not a browser: nothing to protect against */
    if (http_same_origin(origin, host)) return 1;
    if (!allow || !*allow) return 0;
    return strcmp(allow, "*") == 0 || http_has_token(allow, origin);
}
