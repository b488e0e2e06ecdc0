/* Fuzz harness for the WebSocket framing path (server/http/ws_core.c over libwslay) and the upgrade
 * handshake.  Input byte 0 picks the split: the rest is fed to a server session in chunks whose sizes
 * come from byte 0 (so fragmented reads are explored), with small caps so the size refusals are
 * reached.  Invariants: every delivered message fits the message cap, output is only produced by
 * the session, and after a close was sent feeding stays over.  The same bytes, cut at NULs, also go
 * through ws_handshake() as header values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_ws_cap = 4096;   /* max_message used below */

static void fuzz_ws_deliver(void *arg, const uint8_t *p, size_t n)
{
    if (n == 0 || n > fuzz_ws_cap || !p) abort();
    *(size_t *)arg += n;
}

static void fuzz_ws_handshake(const uint8_t *data, size_t size)
{
    char buf[512];
    size_t n = size < sizeof buf - 1 ? size : sizeof buf - 1;
    memcpy(buf, data, n);
    buf[n] = 0;
    /* fields cut at NUL bytes: host, upgrade, connection, version, key, protocol, origin, allow */
    const char *f[8] = {0};
    const char *p = buf;
    for (size_t k = 0; k < 8 && p <= buf + n; k++) {
        f[k] = p;
        p += strlen(p) + 1;
    }
    struct ws_hs_in in = {1, 1, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
    char accept[29];
    const char *why = NULL;
    int code = ws_handshake(&in, accept, &why);
    if (!why) abort();
    if (code == 101 && strlen(accept) != 28) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fuzz_ws_handshake(data + 1, size - 1);
    struct ws_limits lim = {1024, fuzz_ws_cap};
    size_t got = 0;
    struct ws_core *w = ws_core_new(&lim, fuzz_ws_deliver, &got);
    struct evbuffer *in = evbuffer_new();
    if (!w || !in) abort();
    size_t chunk = (size_t)(data[0] % 16) + 1, off = 1;
    int over = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        evbuffer_add(in, data + off, n);
        off += n;
        int rc = ws_core_feed(w, in);
        if (over && rc == 0) abort(); /* once over, it stays over */
        if (rc < 0) over = 1;
        if (over && !ws_core_close_sent(w)) abort();
        /* echo something back, as the server would */
        size_t echo = (off - 1) % 64 + 1;
        if (echo > size - 1) echo = size - 1; /* never past the input */
        if (!over && echo) ws_core_send(w, data + 1, echo);
    }
    evbuffer_free(in);
    ws_core_free(w);
    return 0;
}
