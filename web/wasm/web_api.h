/* The C API the browser calls (exported from ymsg.wasm): a thin layer over libymsg's sans-IO session
 * and libamf.  Results that are more than a number are written to one output buffer (JSON text or
 * AMF bytes) that JS reads through yw_out_ptr()/yw_out_len() before the next call.  Strings in are
 * NUL-terminated UTF-8 that JS allocated with yw_alloc(). */
#ifndef YMSG_WEB_API_H
#define YMSG_WEB_API_H

#include <stddef.h>
#include <stdint.h>

#include <amf/amf.h>

/* Largest result kept in the output buffer (roster JSON of 5000 buddies fits). */
#define YW_OUT_MAX (4u << 20)

void *yw_alloc(size_t n);
void yw_free(void *p);
const uint8_t *yw_out_ptr(void);
size_t yw_out_len(void);

/* Output buffer helpers shared by the API files. */
struct amf_buf *yw_out_reset(void);
/* Appends s as a JSON string literal ("..." with escapes); invalid UTF-8 is passed through for
 * JSON.parse to replace. */
int yw_json_str(struct amf_buf *b, const char *s);
/* Appends printf-style text. */
int yw_printf(struct amf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
