/* Fuzz harness for ymsgd's HTTP helpers (server/httputil.c): the request-target path, the query-string
 * look-up and %-decoding that parse every token-login request (input: "TARGET\nNAME" or just TARGET),
 * and the request-framing checks that see every raw byte before evhttp (the same input as a request
 * stream: head length, whole-head and line-by-line checks, which must agree, and the chunked-body
 * scanner fed in one piece and byte by byte, which must agree too). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httputil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_framing(const char *buf, size_t size)
{
    ssize_t hl = http_head_len(buf, size);
    if (hl > (ssize_t)size || (hl > 0 && buf[hl - 1] != '\n')) abort();
    if (hl > 0) {
        struct http_framing f;
        int whole = http_head_check(buf, (size_t)hl, &f);
        /* line by line (as http.c feeds it) must reach the same verdict */
        struct http_head_state st;
        int r = 0;
        http_head_init(&st);
        for (const char *p = buf, *end = buf + hl; p < end && r == 0;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            r = http_head_line(&st, p, (size_t)(nl - p));
            p = nl + 1;
        }
        if (whole == HTTP_FR_OK) {
            if (r != 1 || st.f.chunked != f.chunked || st.f.length != f.length) abort();
            if (f.chunked && f.length) abort(); /* never both */
        } else if (r != whole) {
            abort();
        }
        if (!http_framing_strerror(whole)) abort();
    }
    /* the same bytes as a chunked body: one piece vs one byte at a time */
    struct http_chunked a, b;
    int da = 0, db = 0;
    http_chunked_init(&a);
    http_chunked_init(&b);
    ssize_t ra = http_chunked_feed(&a, buf, size, &da), rb = 0;
    size_t i;
    for (i = 0; i < size && !db; i++) {
        ssize_t r = http_chunked_feed(&b, buf + i, 1, &db);
        if (r < 0) {
            rb = r;
            break;
        }
        if (r != 1) abort();
    }
    if (rb == 0) rb = (ssize_t)i;
    if (ra > (ssize_t)size || (ra >= 0) != (rb >= 0) || (ra >= 0 && (ra != rb || da != db))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *name = "passwd";
    char *nl = memchr(buf, '\n', size);
    if (nl) {
        *nl = 0;
        name = nl + 1;
    }
    fuzz_framing((const char *)data, size);
    char path[256], out[128], big[4096];
    if (http_target_path(buf, path, sizeof path) == 0 && strlen(path) >= sizeof path) abort();
    const char *q = strchr(buf, '?');
    ssize_t n = http_query_get(q ? q + 1 : buf, name, out, sizeof out);
    if (n >= 0 && ((size_t)n >= sizeof out || strlen(out) != (size_t)n)) abort();
    n = http_query_get(q ? q + 1 : buf, name, big, sizeof big);
    if (n >= 0 && strlen(big) != (size_t)n) abort();
    n = http_pct_decode(buf, strlen(buf), out, sizeof out);
    if (n >= 0 && strlen(out) != (size_t)n) abort();
    free(buf);
    return 0;
}
