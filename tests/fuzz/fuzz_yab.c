/* Fuzz harness for the address book's XML decoder (server/gateway/yab_xml.c): any input is decoded
 * under small limits; a success must respect them (records, value lengths, NUL-terminated strings
 * inside the arena's cap), and the escaper must turn every decoded value into text without a raw
 * '<', '>', '"', '\'', '+', '=', control byte or '&' that does not start a reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yab_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escaped(const char *s)
{
    struct amf_buf b;
    amf_buf_init(&b, 1u << 20);
    if (yab_escape(&b, s, strlen(s)) != 0) abort();
    for (size_t i = 0; i < b.len; i++) {
        uint8_t c = b.data[i];
        if (c == '<' || c == '>' || c == '"' || c == '\'' || c == '+' || c == '=' || c < 0x20) abort();
        if (c == '&' && (i + 1 >= b.len || b.data[i + 1] != '#')) abort();
    }
    amf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    amf_arena *a = amf_arena_new(4u << 20);
    if (!a) return 0;
    struct yab_limits lim = {64, 8};
    struct yab_doc doc;
    char err[128];
    err[0] = 0;
    if (yab_parse(a, (const char *)data, size, &lim, &doc, err, sizeof err) == 0) {
        if (doc.nct > lim.max_records) abort();
        if (doc.k && strlen(doc.k) > lim.max_value) abort();
        for (uint32_t i = 0; i < doc.nct; i++) {
            const struct yab_ct *ct = &doc.ct[i];
            if (ct->op > YAB_OP_EDIT) abort();
            if (ct->id && strlen(ct->id) > lim.max_value) abort();
            for (int f = 0; f < YAB_NFIELDS; f++)
                if (ct->f[f]) {
                    if (strlen(ct->f[f]) > lim.max_value) abort();
                    check_escaped(ct->f[f]);
                }
        }
    } else if (!err[0] || memchr(err, 0, sizeof err) == NULL) {
        abort(); /* a failure always says why */
    }
    /* the raw input through the escaper too (invalid UTF-8, control bytes) */
    struct amf_buf b;
    amf_buf_init(&b, 8u << 20);
    if (yab_escape(&b, (const char *)data, size) != 0) abort();
    amf_buf_free(&b);
    amf_arena_free(a);
    return 0;
}
