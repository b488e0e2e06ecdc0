/* The pure parts of YMSG over WebSocket (see ws.h): the upgrade handshake and the framing core over
 * libwslay.  No event loop and no sockets: unit tests and fuzz_ws use them directly. */
#include "ws.h"
#include "httputil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- handshake ------------------------------------------------------------------------------ */

int ws_handshake(const struct ws_hs_in *in, char accept[29], const char **why)
{
    static char dummy;
    const char *w = &dummy;
    if (!why) why = &w;
    if (!in->is_get) return *why = "GET only", 405;
    if (!in->upgrade || !http_has_token(in->upgrade, "websocket")) return *why = "not a WebSocket upgrade", 426;
    if (!in->http11) return *why = "HTTP/1.1 required", 400;
    if (!in->connection || !http_has_token(in->connection, "upgrade")) return *why = "Connection: Upgrade missing", 400;
    if (!in->version || strcmp(in->version, "13") != 0) return *why = "Sec-WebSocket-Version 13 required", 426;
    if (!in->host) return *why = "Host missing", 400;
    unsigned char raw[32];
    size_t kl = in->key ? strlen(in->key) : 0;
    if (kl != 24 || EVP_DecodeBlock(raw, (const unsigned char *)in->key, 24) != 18 || in->key[22] != '=' ||
        in->key[23] != '=')
        return *why = "bad Sec-WebSocket-Key", 400;
    if (!in->protocol || !http_has_token(in->protocol, "ymsg")) return *why = "subprotocol ymsg required", 400;
    if (!http_origin_allowed(in->origin, in->host, in->allow_origins)) return *why = "origin not allowed", 403;
    unsigned char sha[SHA_DIGEST_LENGTH];
    char cat[64];
    snprintf(cat, sizeof cat, "%s%s", in->key, WS_GUID);
    SHA1((const unsigned char *)cat, strlen(cat), sha);
    EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);
    *why = "ok";
    return 101;
}

/* ---- framing core --------------------------------------------------------------------------- */

/* A wslay context is 8.6 KiB (two 4 KiB frame buffers), more than the rest of a session.  Between two
 * reads a session almost always sits at a frame boundary with nothing half-received, and wslay then
 * holds no state of its own: the session lends a context from a small free list for one feed and
 * gives it back when it is clean again.  Only a session that stopped inside a frame or a fragmented
 * message, or that exchanged a close, keeps one.  Data frames out are written here (a 2-10 byte
 * header in front of the payload): wslay parses the client's frames, answers pings and handles close. */
struct ws_slot {
    wslay_event_context_ptr ctx;  /* wslay's session state; user data is this slot */
    struct ws_core *w;            /* the session using it, NULL while on the free list */
    struct ws_slot *next;         /* free list link */
};

#define WS_POOL_MAX 8 /* clean contexts kept for reuse (one loop thread; sessions lend them one at a time) */

static struct ws_slot *ws_pool;   /* free list of clean contexts */
static unsigned ws_pool_n;        /* its length */

struct ws_core {
    struct ws_slot *slot;         /* wslay context lent to this session, or NULL (see above) */
    struct ws_limits lim;         /* caps */
    struct evbuffer *in;          /* input being consumed by ws_core_feed */
    struct evbuffer *out;         /* frames to send (the socket's output, or our own) */
    ws_deliver_fn deliver;        /* gets binary message payloads */
    void *arg;                    /* for deliver */
    uint16_t close_code;          /* code of the close we sent */
    uint8_t refused;              /* stopped reading: a close with our code is queued */
    uint8_t close_sent;           /* a close frame went out: nothing more will */
    uint8_t own_out;              /* out is ours to free */
    uint8_t frag;                 /* inside a fragmented data message (its final frame not seen yet) */
    uint8_t hdr[2];               /* first two bytes of the frame header being tracked */
    uint8_t hn;                   /* header bytes seen so far (0..need) */
    uint8_t need;                 /* header length once known (2..14), else 2 */
    uint64_t left;                /* payload bytes of the current frame still to come */
};

static void ws_refuse(struct ws_core *w, uint16_t code, const char *reason);

/* How many of the n bytes may go to wslay: frame headers are followed so that a control frame over
 * 125 bytes or fragmented is refused with 1002 here (wslay would close without a status code).
 * wslay asks for more bytes only once it has handled all it was given before. */
static size_t ws_track(struct ws_core *w, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (w->hn == 0 && w->left) {
            size_t take = w->left < n - i ? (size_t)w->left : n - i;
            w->left -= take;
            i += take;
            continue;
        }
        if (w->hn == 0 && (p[i] & 8)) {
            /* A control frame goes to wslay in one piece: wslay 1.1.1 checks a close reason's UTF-8
             * chunk by chunk, skipping two bytes of every chunk, so a close cut in two was judged
             * differently.  Wait for the rest of it (at most 131 bytes). */
            size_t have = n - i, l7 = have >= 2 ? (p[i + 1] & 0x7Fu) : 0;
            if (have < 2 || have < 2 + ((p[i + 1] & 0x80) ? 4 : 0) + (l7 <= 125 ? l7 : 0)) return i;
        }
        if (w->hn < 2) w->hdr[w->hn] = p[i];
        if (++w->hn == 2) {
            uint8_t b0 = w->hdr[0], l7 = w->hdr[1] & 0x7F;
            if ((b0 & 8) && (l7 > 125 || !(b0 & 0x80))) {
                /* Refused once wslay has handled every frame before this one: bytes before it in
                 * this batch go first, and this byte is looked at again on the next call.  A close
                 * among them ends the session with its own code, however the stream was cut. */
                w->hn--;
                if (i == 0) ws_refuse(w, WSLAY_CODE_PROTOCOL_ERROR, "bad control frame");
                return i;
            }
            if (!(b0 & 8)) w->frag = !(b0 & 0x80); /* data or continuation frame: FIN ends the message */
            w->need = (uint8_t)(2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((w->hdr[1] & 0x80) ? 4 : 0));
            w->left = l7 < 126 ? l7 : 0;
        } else if (w->hn > 2 && w->hn <= 10 && (w->hdr[1] & 0x7F) >= 126 &&
                   w->hn <= 2u + ((w->hdr[1] & 0x7F) == 126 ? 2u : 8u)) {
            w->left = w->left << 8 | p[i]; /* extended length, big-endian */
        }
        i++;
        if (w->hn >= 2 && w->hn == w->need) w->hn = 0;
    }
    return i;
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    struct ws_core *w = ((struct ws_slot *)user)->w;
    size_t avail = w->in && !w->refused ? evbuffer_get_length(w->in) : 0;
    if (avail > len) avail = len;
    size_t n = avail ? ws_track(w, evbuffer_pullup(w->in, (ssize_t)avail), avail) : 0;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    evbuffer_remove(w->in, buf, n);
    return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    struct ws_core *w = ((struct ws_slot *)user)->w;
    if (evbuffer_add(ws_core_out(w), data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void ws_refuse(struct ws_core *w, uint16_t code, const char *reason)
{
    if (w->refused) return;
    w->refused = 1;
    ws_core_close(w, code, reason);
    if (w->slot) wslay_event_shutdown_read(w->slot->ctx);
}

static void ws_frame_start_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *a,
                              void *user)
{
    struct ws_core *w = ((struct ws_slot *)user)->w;
    if (a->payload_length > w->lim.max_frame)
        ws_refuse(w, WSLAY_CODE_MESSAGE_TOO_BIG, "frame too big");
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a, void *user)
{
    struct ws_core *w = ((struct ws_slot *)user)->w;
    if (w->refused) return;
    if (a->opcode == WSLAY_BINARY_FRAME) {
        if (a->msg_length) w->deliver(w->arg, a->msg, a->msg_length);
    } else if (a->opcode == WSLAY_TEXT_FRAME) {
        ws_refuse(w, WSLAY_CODE_UNSUPPORTED_DATA, "binary messages only");
    }
    /* ping (answered by wslay), pong and close (answered by wslay) need nothing here */
}

/* Lends w a wslay context (from the free list, or a new one).  0, or -1 when out of memory. */
static int ws_attach(struct ws_core *w)
{
    if (w->slot) return 0;
    struct ws_slot *sl = ws_pool;
    if (sl) {
        ws_pool = sl->next;
        ws_pool_n--;
    } else {
        struct wslay_event_callbacks cb = {
            .recv_callback = ws_recv_cb, .send_callback = ws_send_cb,
            .on_frame_recv_start_callback = ws_frame_start_cb, .on_msg_recv_callback = ws_msg_cb};
        if (!(sl = calloc(1, sizeof *sl))) return -1;
        if (wslay_event_context_server_init(&sl->ctx, &cb, sl) != 0) {
            free(sl);
            return -1;
        }
    }
    sl->w = w;
    sl->next = NULL;
    wslay_event_config_set_max_recv_msg_length(sl->ctx, w->lim.max_message);
    w->slot = sl;
    return 0;
}

/* Takes w's context back if wslay holds nothing of w's: at a frame boundary, outside a fragmented
 * message, nothing queued, no close seen either way.  force: the session is over (free it). */
static void ws_detach(struct ws_core *w, int force)
{
    struct ws_slot *sl = w->slot;
    if (!sl) return;
    wslay_event_context_ptr c = sl->ctx;
    int clean = !w->refused && !w->close_sent && w->hn == 0 && w->left == 0 && !w->frag &&
                wslay_event_get_read_enabled(c) && wslay_event_get_write_enabled(c) &&
                !wslay_event_get_close_received(c) && !wslay_event_get_close_sent(c) &&
                wslay_event_get_queued_msg_count(c) == 0;
    if (!clean && !force) return;
    w->slot = NULL;
    sl->w = NULL;
    if (clean && ws_pool_n < WS_POOL_MAX) {
        sl->next = ws_pool;
        ws_pool = sl;
        ws_pool_n++;
        return;
    }
    wslay_event_context_free(c);
    free(sl);
}

struct ws_core *ws_core_new(const struct ws_limits *lim, ws_deliver_fn deliver, void *arg)
{
    struct ws_core *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->lim = *lim;
    w->deliver = deliver;
    w->arg = arg;
    return w;
}

void ws_core_set_out(struct ws_core *w, struct evbuffer *out)
{
    if (w->own_out) evbuffer_free(w->out);
    w->out = out;
    w->own_out = 0;
}

void ws_core_free(struct ws_core *w)
{
    if (!w) return;
    ws_detach(w, 1);
    if (w->own_out) evbuffer_free(w->out);
    free(w);
}

void ws_core_pool_clear(void)
{
    while (ws_pool) {
        struct ws_slot *sl = ws_pool;
        ws_pool = sl->next;
        wslay_event_context_free(sl->ctx);
        free(sl);
    }
    ws_pool_n = 0;
}

/* Sends what wslay queued (pongs, closes); -1 once the session is over. */
static int ws_core_done(struct ws_core *w)
{
    if (w->slot) {
        wslay_event_context_ptr c = w->slot->ctx;
        wslay_event_send(c);
        if (wslay_event_get_close_sent(c)) {
            w->close_sent = 1;
            if (!w->close_code) w->close_code = wslay_event_get_status_code_sent(c); /* wslay's own 1002/1007/1009 */
        }
        int over = w->close_sent || !wslay_event_want_read(c);
        ws_detach(w, over);
        return over ? -1 : 0;
    }
    return w->close_sent ? -1 : 0;
}

int ws_core_feed(struct ws_core *w, struct evbuffer *in)
{
    if (w->close_sent || w->refused) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return -1;
    }
    if (evbuffer_get_length(in) == 0) return 0;
    if (ws_attach(w) < 0) {
        evbuffer_drain(in, evbuffer_get_length(in));
        ws_core_close(w, WSLAY_CODE_INTERNAL_SERVER_ERROR, "out of memory");
        return -1;
    }
    wslay_event_context_ptr c = w->slot->ctx;
    w->in = in;
    int rc = 0;
    /* wslay reads until the input is exhausted (WOULDBLOCK) or it stops reading. */
    while (rc == 0 && !w->refused && wslay_event_get_read_enabled(c) && evbuffer_get_length(in) > 0) {
        size_t before = evbuffer_get_length(in);
        rc = wslay_event_recv(c);
        if (evbuffer_get_length(in) == before) break;
    }
    w->in = NULL;
    if (rc != 0 && !wslay_event_get_close_sent(c)) {
        /* wslay queued 1002/1007/1009 itself for protocol errors; make sure something is queued */
        ws_refuse(w, WSLAY_CODE_PROTOCOL_ERROR, "protocol error");
    }
    if (w->refused) evbuffer_drain(in, evbuffer_get_length(in));
    return ws_core_done(w);
}

int ws_core_send(struct ws_core *w, const uint8_t *p, size_t n)
{
    if (w->close_sent || w->close_code) return -1;
    /* RFC 6455 5.2: FIN + binary, unmasked (server to client), 7/16/64-bit length */
    uint8_t h[10];
    size_t hl = 2;
    h[0] = 0x82;
    if (n < 126) {
        h[1] = (uint8_t)n;
    } else if (n <= 0xFFFF) {
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    struct evbuffer *o = ws_core_out(w);
    if (!o) return -1;
    if (n <= 1024) { /* the usual packet: one add, so the frame shares a chain with its neighbours */
        uint8_t f[10 + 1024];
        memcpy(f, h, hl);
        memcpy(f + hl, p, n);
        return evbuffer_add(o, f, hl + n) == 0 ? 0 : -1;
    }
    if (evbuffer_add(o, h, hl) != 0) return -1;
    if (evbuffer_add(o, p, n) == 0) return 0;
    w->close_sent = 1; /* half a frame is out: the stream is broken, nothing more may follow */
    return -1;
}

void ws_core_close(struct ws_core *w, uint16_t code, const char *reason)
{
    if (w->close_code || w->close_sent) return;
    w->close_code = code;
    if (ws_attach(w) < 0) return; /* no memory for wslay: the caller drops the socket after the flush */
    wslay_event_context_ptr c = w->slot->ctx;
    wslay_event_queue_close(c, code, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    wslay_event_send(c);
    if (wslay_event_get_close_sent(c)) w->close_sent = 1;
    if (!w->in) ws_detach(w, 1); /* a closed context is never lent again */
}

struct evbuffer *ws_core_out(struct ws_core *w)
{
    if (!w->out && (w->out = evbuffer_new()) != NULL) w->own_out = 1;
    return w->out;
}
int ws_core_close_sent(const struct ws_core *w) { return w->close_sent; }
uint16_t ws_core_close_code(const struct ws_core *w) { return w->close_code; }
