/* libFuzzer harness: the file-transfer relay's request-head parser (relay_parse_head, server/http/relay.c),
 * the path every byte of a relay connection takes before anything else.  Checks: no crash or sanitizer
 * report; a complete head lies inside the input, names a method, a 32-hex-digit token and two valid ids;
 * a refusal carries an HTTP status; OPTIONS (a CORS preflight) only with an Origin.  The same bytes as a
 * relay_public_url list (relay_public_parse: what ends up in the pages' CSP connect-src): accepted only
 * as at most RELAY_PUBLIC_URLS http(s) sources of plain host/port/path characters, one space apart. */
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_public(const uint8_t *data, size_t size)
{
    char in[2048], out[RELAY_PUBLIC_MAX], err[300];
    if (size >= sizeof in) size = sizeof in - 1;
    memcpy(in, data, size);
    in[size] = 0;
    if (relay_public_parse(in, out, sizeof out, err, sizeof err) != 0) {
        if (!err[0]) abort(); /* a refusal says why */
        return;
    }
    if (strlen(out) >= sizeof out) abort();
    int n = 0;
    for (const char *p = out; *p;) {
        if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) abort();
        if (++n > RELAY_PUBLIC_URLS) abort();
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (strcspn(p, ";,'\"\t\r\n") < len) abort(); /* nothing that ends the directive or a source */
        p += len + (e ? 1 : 0);
        if (e && !*p) abort(); /* no trailing space */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_public(data, size);
    struct relay_req q;
    int rc = relay_parse_head((const char *)data, size, &q);
    if (rc == 1) {
        if (q.head_len == 0 || q.head_len > size) abort();
        if (q.method < RELAY_M_GET || q.method > RELAY_M_OPTIONS) abort();
        if (strlen(q.origin) > RELAY_ORIGIN_MAX) abort();
        if (q.method == RELAY_M_OPTIONS) {
            if (!q.origin[0]) abort(); /* OPTIONS without an Origin is no preflight: 405 */
            return 0;                  /* a preflight names no transfer */
        }
        if (strlen(q.token) != RELAY_TOKEN_LEN || !q.sender[0] || !q.recver[0]) abort();
        if (q.method == RELAY_M_POST && !q.has_length) abort();
    } else if (rc == -1) {
        if (q.status < 400 || q.status > 599) abort();
    } else if (rc != 0) {
        abort();
    }
    return 0;
}
