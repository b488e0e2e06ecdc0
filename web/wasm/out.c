/* Output buffer and JSON text helpers for the browser API; see web_api.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "web_api.h"

static struct amf_buf yw_out;  /* the one result buffer JS reads */

void *yw_alloc(size_t n) { return malloc(n ? n : 1); }
void yw_free(void *p) { free(p); }
const uint8_t *yw_out_ptr(void) { return yw_out.data; }
size_t yw_out_len(void) { return yw_out.len; }

struct amf_buf *yw_out_reset(void)
{
    /* Keep the allocation between calls; only a result larger than 64 KiB is let go. */
    if (yw_out.cap > 65536) amf_buf_free(&yw_out);
    if (!yw_out.max) amf_buf_init(&yw_out, YW_OUT_MAX);
    yw_out.len = 0;
    return &yw_out;
}

int yw_json_str(struct amf_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = amf_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && !rc; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            rc = amf_buf_append(b, e, 2);
        } else if (*p < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            rc = amf_buf_append(b, e, 6);
        } else {
            rc = amf_buf_append(b, p, 1);
        }
    }
    return rc ? rc : amf_buf_append(b, "\"", 1);
}

int yw_printf(struct amf_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) return AMF_EOUTPUT;
    return amf_buf_append(b, tmp, (size_t)n);
}
