/* libFuzzer harness: the file-transfer relay's request-head parser (relay_parse_head, server/http/relay.c),
 * the path every byte of a relay connection takes before anything else.  Checks: no crash or sanitizer
 * report; a complete head lies inside the input, names a method, a 32-hex-digit token and two valid ids;
 * a refusal carries an HTTP status; OPTIONS (a CORS preflight) only with an Origin. */
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
