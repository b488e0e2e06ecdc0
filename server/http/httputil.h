/* Pure HTTP helpers (no libevent): %-decoding, query-string look-up, request-target path.
 * Unit-tested in tests/unit/server/test_httputil.c. */
#ifndef YMSGD_HTTPUTIL_H
#define YMSGD_HTTPUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Decodes n bytes of application/x-www-form-urlencoded text: %XX with either hex case, '+' as a
 * space.  A '%' not followed by two hex digits is kept literally.  Writes a NUL-terminated result;
 * returns its length, or -1 when it does not fit in cap or would contain a NUL byte. */
ssize_t http_pct_decode(const char *in, size_t n, char *out, size_t cap);

/* Finds parameter name in a query string ("a=1&b=2", no leading '?') and decodes its value into out.
 * Returns the value's length, -1 when absent, -2 when undecodable or too long for cap. */
ssize_t http_query_get(const char *query, const char *name, char *out, size_t cap);

/* The path of a request target in origin form ("/a/b?x") or absolute form
 * ("https://host:443/a/b?x"): copies "/a/b" into out.  Returns 0, or -1 when malformed / too long. */
int http_target_path(const char *target, char *out, size_t cap);

/* ---- request framing (checked on the raw bytes before evhttp parses them) ------------------------
 * The rules are stricter than evhttp's parser wherever the two could disagree on where a request
 * ends (request smuggling): a request either has the framing both see the same way, or is refused. */

#define HTTP_MAX_HEAD 32768 /* request line + headers, bytes */
#define HTTP_MAX_LINE 8192  /* one line of the head, bytes */

/* How the body of a request that passed http_head_check is delimited. */
struct http_framing {
    int chunked;      /* Transfer-Encoding: chunked (then length is 0) */
    uint64_t length;  /* Content-Length; 0 when absent */
};

/* Reasons http_head_check refuses a head (negative), for logs via http_framing_strerror. */
enum http_framing_err {
    HTTP_FR_OK = 0,
    HTTP_FR_TOO_BIG = -1,      /* head over HTTP_MAX_HEAD, or a line over HTTP_MAX_LINE */
    HTTP_FR_BAD_BYTE = -2,     /* NUL, or CR not followed by LF */
    HTTP_FR_FOLD = -3,         /* obs-fold: a line starting with space or tab */
    HTTP_FR_BAD_NAME = -4,     /* header without ':' or with a name that is not a token */
    HTTP_FR_CL_DUP = -5,       /* more than one Content-Length */
    HTTP_FR_CL_BAD = -6,       /* Content-Length that is not 1*DIGIT (+6, -1, 1 2, 0x10, 6,6, empty, huge) */
    HTTP_FR_TE_DUP = -7,       /* more than one Transfer-Encoding */
    HTTP_FR_TE_BAD = -8,       /* Transfer-Encoding other than exactly "chunked" */
    HTTP_FR_TE_CL = -9,        /* Transfer-Encoding and Content-Length together */
    HTTP_FR_BODY_METHOD = -10, /* a body on a method evhttp reads no body for (only POST has one) */
    HTTP_FR_BAD_LINE = -11,    /* empty or malformed request line */
    HTTP_FR_CHUNK = -12,       /* malformed chunked body */
};

/* Length of the head at buf (request line through the empty line that ends it, with CRLF or bare
 * LF line ends, as evhttp reads lines), 0 when more bytes are needed, HTTP_FR_TOO_BIG when no end
 * appears within HTTP_MAX_HEAD bytes. */
ssize_t http_head_len(const char *buf, size_t len);

/* Line-by-line check of a head as it arrives (evhttp consumes complete lines as soon as they are in,
 * so a head is never whole in one buffer).  Feed every line without its LF (a CR before the LF is
 * part of line).  Returns 0 for more, 1 when line was the empty line that ends the head (st->f
 * then holds the framing), or an enum http_framing_err. */
struct http_head_state {
    struct http_framing f;  /* the framing found so far */
    unsigned lines;         /* lines fed so far */
    size_t bytes;           /* bytes fed so far (with the LFs) */
    uint8_t ncl, nte;       /* Content-Length / Transfer-Encoding headers seen */
    uint8_t post;           /* the method is POST (the only one evhttp reads a body for) */
};
void http_head_init(struct http_head_state *st);
int http_head_line(struct http_head_state *st, const char *line, size_t n);

/* Checks a complete head (as delimited by http_head_len) and fills f.  Returns HTTP_FR_OK or an
 * enum http_framing_err. */
int http_head_check(const char *head, size_t len, struct http_framing *f);

const char *http_framing_strerror(int err);

/* Incremental scanner of a chunked body (strict: 1*HEXDIG size lines without extensions, CRLF or LF
 * after each chunk, trailer lines checked like headers). */
struct http_chunked {
    int state;        /* scanner state (httputil.c) */
    uint64_t left;    /* data bytes left in the current chunk */
    unsigned digits;  /* hex digits of the current size line */
    size_t line;      /* bytes of the current trailer line / of the trailer part */
    int line_colon;   /* current trailer line has its ':' */
};

void http_chunked_init(struct http_chunked *st);
/* Feeds n bytes that follow the head.  Returns how many of them belong to the body (< n only when
 * the body ends within them), HTTP_FR_CHUNK when malformed; *done is set once the body ended. */
ssize_t http_chunked_feed(struct http_chunked *st, const char *p, size_t n, int *done);

/* 1 if the comma-separated header value list contains token (case-insensitive). */
int http_has_token(const char *list, const char *token);
/* The Origin check of a browser request (WebSocket /ymsg, the file relay's CORS): 1 when origin is
 * absent (not a browser), names host (a Host header value "host[:port]"; NULL = none) or is listed in
 * allow (--ws-origins: comma separated, "*" = any). */
int http_origin_allowed(const char *origin, const char *host, const char *allow);

#endif
