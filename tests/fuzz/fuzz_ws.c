/* Fuzz harness for the WebSocket framing path (server/http/ws_core.c over libwslay) and the upgrade
 * handshake.  Input byte 0 picks the split: the rest is fed to a server session in chunks whose sizes
 * come from byte 0 (so fragmented reads are explored), with small caps so the size refusals are
 * reached.  Invariants: every delivered message fits the message cap, output is only produced by
 * the session, and after a close was sent feeding stays over.  A second session is fed the same bytes
 * in other chunk sizes, interleaved with the first (the two lend wslay contexts from one free list,
 * see ws_core.c): it must deliver the same bytes and end the same way, so neither the cut points
 * nor a context used by another session change what a session sees.  The same bytes, cut at NULs,
 * also go through ws_handshake() as header values. */
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
    size_t got2 = 0;
    struct ws_core *w = ws_core_new(&lim, fuzz_ws_deliver, &got);
    struct ws_core *w2 = ws_core_new(&lim, fuzz_ws_deliver, &got2);
    struct evbuffer *in = evbuffer_new(), *in2 = evbuffer_new();
    if (!w || !w2 || !in || !in2) abort();
    size_t chunk = (size_t)(data[0] % 16) + 1, chunk2 = (size_t)(data[0] / 16) + 1, off = 1, off2 = 1;
    int over = 0, over2 = 0;
    while (off < size || off2 < size) {
        if (off < size) {
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
        if (off2 < size) {
            size_t n = size - off2 < chunk2 ? size - off2 : chunk2;
            evbuffer_add(in2, data + off2, n);
            off2 += n;
            if (ws_core_feed(w2, in2) < 0) over2 = 1;
        }
    }
    /* the same stream in other pieces: the same messages, the same end (a clean close with the same
     * code, or a refusal in both; which error code a frame that is wrong twice over gets is wslay's
     * choice and may depend on where the stream was cut: 1002 for its close code or 1007 for its
     * reason's UTF-8) */
    uint16_t c1 = ws_core_close_code(w), c2 = ws_core_close_code(w2);
    if (got != got2 || over != over2 || (c1 >= 1002) != (c2 >= 1002) || (c1 < 1002 && c1 != c2)) abort();
    evbuffer_free(in);
    evbuffer_free(in2);
    ws_core_free(w);
    ws_core_free(w2);
    return 0;
}
