/* Fuzz harness for ymsgd's HTTP helpers (server/httputil.c): the request-target path, the query-string
 * look-up and %-decoding that parse every token-login request.  Input: "TARGET\nNAME" or just TARGET. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httputil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
