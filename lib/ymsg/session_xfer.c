/* Client session: file transfer through the relay, as YMSG 15/16 clients do it (libpurple 2.10.9
 * yahoo_filexfer.c, libyahoo2 1.0.0 yahoo_send_file / yahoo_process_filetransfer*):
 *
 *   sender   0xDC 222=1 (offer: 27 name, 28 size)            -> receiver   FILE_OFFER
 *   receiver 0xDC 222=3 (accept) or 222=4 (decline)          -> sender
 *   sender   0xDD 249=3 250=<relay host>                     -> receiver (the server adds 251 = token)
 *   receiver 0xDE 249=3 251=<token>                          -> sender     both: the relay URL
 *   sender   POST http://<host>/relay?token=T&sender=S&recver=R; receiver GET the same URL.
 *
 * Cancelling: 222=2 (sender, before the relay step), 222=4 (receiver), and afterwards 0xDD / 0xDC with
 * header status -1 and 66=-1 (libpurple yahoo_xfer_cancel_send / _recv).  The session never touches
 * the file: FILE_UPLOAD / FILE_DOWNLOAD ask the driver to, and ymsg_session_file_done() ends it. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    K_XF_HOST = 250,   /* relay host (or URL) */
    K_XF_TOKEN = 251,  /* relay token */
    K_XF_MODE = 249,   /* 1/2 peer to peer, 3 relay */
    K_XF_ACTION = 222, /* 1 offer, 2 cancel, 3 accept, 4 decline */
    K_XF_ID = 265,     /* transfer id */
    K_XF_266 = 266,    /* 1 in every offer */
    K_XF_271 = 271,    /* 1 in libpurple's accept of the 2nd+ file of a batch */
};

size_t ymsg_session_xfer_count(const struct ymsg_session *s) { return s->nxfers; }
const struct ymsg_xfer *ymsg_session_xfer(const struct ymsg_session *s, size_t i)
{
    return i < s->nxfers ? &s->xfers[i] : NULL;
}

static struct ymsg_xfer *xfer_find(const struct ymsg_session *s, const char *id)
{
    for (size_t i = 0; i < s->nxfers; i++)
        if (strcmp(s->xfers[i].id, id) == 0)
            return &s->xfers[i];
    return NULL;
}

const struct ymsg_xfer *ymsg_session_find_xfer(const struct ymsg_session *s, const char *id)
{
    return id ? xfer_find(s, id) : NULL;
}

static void xfer_remove(struct ymsg_session *s, struct ymsg_xfer *x)
{
    size_t i = (size_t)(x - s->xfers);
    memmove(&s->xfers[i], &s->xfers[i + 1], (s->nxfers - i - 1) * sizeof *x);
    s->nxfers--;
}

static void xfer_event(struct ymsg_session *s, uint32_t svc, enum ymsg_event_type type, const struct ymsg_xfer *x,
                       const char *text, int code)
{
    struct ymsg_event ev = {.type = type, .service = svc, .idle = -1, .size = x->size, .code = code,
                            .on = x->outgoing};
    struct evstr str = {.who = x->peer, .xfer = x->id, .text = text};
    sess_ev_push(s, &ev, &str);
}

/* A file name as the peer will store it: no path, no separator, fits. */
static int valid_name(const char *n)
{
    if (!n || !n[0] || strlen(n) >= sizeof ((struct ymsg_xfer *)0)->name || strchr(n, '/') || strchr(n, '\\') ||
        strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || !sess_utf8_valid((const uint8_t *)n, strlen(n)))
        return 0;
    for (const char *p = n; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0xC0)
            return 0;
    return 1;
}

/* Value bytes usable as an id, token or host: printable ASCII without spaces. */
static int kv_token(const struct ymsg_kv *kv, char *dst, size_t cap)
{
    if (kv->len == 0 || kv->len >= cap)
        return 0;
    for (size_t i = 0; i < kv->len; i++)
        if (kv->val[i] <= 0x20 || kv->val[i] >= 0x7f)
            return 0;
    memcpy(dst, kv->val, kv->len);
    dst[kv->len] = 0;
    return 1;
}

/* libpurple yahoo_xfer_new_xfer_id: 22 characters of [a-zA-Z0-9] and "$$".  The session reads no
 * clock or entropy of its own, so the characters come from a hash of who we are, the session id, the
 * driver's clock and a counter: unique per session, which is all the id is for (the server issues
 * the relay token). */
static void make_id(struct ymsg_session *s, char out[YMSG_XFER_ID_MAX])
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char seed[64];
    snprintf(seed, sizeof seed, "%08x:%llu:%llu", s->session_id, (unsigned long long)s->now,
             (unsigned long long)++s->xfer_counter);
    uint64_t h = sess_fnv1a(sess_fnv1a(0xcbf29ce484222325ULL, s->user, 1), seed, 0);
    for (int i = 0; i < 22; i++) {
        if (i == 11)
            h = sess_fnv1a(h ^ 0x9e3779b97f4a7c15ULL, seed, 0);
        out[i] = set[h % 62];
        h /= 62;
    }
    memcpy(out + 22, "$$", 3);
}

static size_t url_enc(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p)) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = 0;
    return o;
}

/* http://<host>/relay?token=T&sender=S&recver=R (libyahoo2 yahoo_process_filetrans_info_15; libpurple
 * builds the same request line).  A host given with a scheme is used as is. */
static void relay_url(const struct ymsg_session *s, const struct ymsg_xfer *x, char *out, size_t cap)
{
    char tok[800], snd[300], rcv[300];
    url_enc(x->token, tok, sizeof tok);
    url_enc(x->outgoing ? s->user : x->peer, snd, sizeof snd);
    url_enc(x->outgoing ? x->peer : s->user, rcv, sizeof rcv);
    int scheme = strncasecmp(x->host, "http://", 7) == 0 || strncasecmp(x->host, "https://", 8) == 0;
    size_t hl = strlen(x->host);
    while (hl > 0 && x->host[hl - 1] == '/')
        hl--;
    snprintf(out, cap, "%s%.*s/relay?token=%s&sender=%s&recver=%s", scheme ? "" : "http://", (int)hl, x->host, tok,
             snd, rcv);
}

static int send_simple(struct ymsg_session *s, uint16_t svc, uint32_t status, const struct ymsg_xfer *x,
                       uint32_t key, const char *val)
{
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, svc, status);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_TO, x->peer);
    ymsg_build_str(&b, K_XF_ID, x->id);
    ymsg_build_str(&b, key, val);
    return sess_pkt_send(s, &b);
}

int ymsg_session_file_send(struct ymsg_session *s, const char *who, const char *name, uint64_t size,
                           char id_out[YMSG_XFER_ID_MAX])
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(who) || !valid_name(name) || strcasecmp(who, s->user) == 0)
        return YMSG_EINVAL;
    if (s->nxfers >= s->cfg.max_xfers) {
        sess_log(s, YMSG_LOG_WARN, "file transfer to %s refused: %zu in progress (max_xfers)", who, s->nxfers);
        return YMSG_ENOSPC;
    }
    struct ymsg_xfer *x = &s->xfers[s->nxfers];
    memset(x, 0, sizeof *x);
    make_id(s, x->id);
    snprintf(x->peer, sizeof x->peer, "%s", who);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->size = size;
    x->outgoing = 1;
    x->state = YMSG_XF_OFFERED;
    char sz[24];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
    /* libpurple yahoo_xfer_init_15 (send): 1 5 265 222=1 266=1 302=268 300=268 27 28 301=268 303=268 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_FILETRANS_15, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_TO, who);
    ymsg_build_str(&b, K_XF_ID, x->id);
    ymsg_build_str(&b, K_XF_ACTION, "1");
    ymsg_build_str(&b, K_XF_266, "1");
    ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "268");
    ymsg_build_str(&b, YMSG_KEY_ENTRY_BEGIN, "268");
    ymsg_build_str(&b, YMSG_KEY_FILE_NAME, name);
    ymsg_build_str(&b, YMSG_KEY_FILE_SIZE, sz);
    ymsg_build_str(&b, YMSG_KEY_ENTRY_END, "268");
    ymsg_build_str(&b, YMSG_KEY_LIST_END, "268");
    r = sess_pkt_send(s, &b);
    if (r)
        return r;
    s->nxfers++;
    if (id_out)
        snprintf(id_out, YMSG_XFER_ID_MAX, "%s", x->id);
    return 0;
}

static int xfer_cmd(struct ymsg_session *s, const char *id, struct ymsg_xfer **out)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!id || !id[0])
        return YMSG_EINVAL;
    *out = xfer_find(s, id);
    return *out ? 0 : YMSG_ENOENT;
}

int ymsg_session_file_accept(struct ymsg_session *s, const char *id)
{
    struct ymsg_xfer *x;
    int r = xfer_cmd(s, id, &x);
    if (r)
        return r;
    if (x->outgoing || x->state != YMSG_XF_OFFERED)
        return YMSG_ESTATE;
    /* libpurple yahoo_xfer_init_15 (receive, first of the list): 1 5 265 222=3 */
    r = send_simple(s, YMSG_SVC_FILETRANS_15, 0, x, K_XF_ACTION, "3");
    if (r == 0)
        x->state = YMSG_XF_ACCEPTED;
    return r;
}

int ymsg_session_file_decline(struct ymsg_session *s, const char *id)
{
    struct ymsg_xfer *x;
    int r = xfer_cmd(s, id, &x);
    if (r)
        return r;
    if (x->outgoing || x->state != YMSG_XF_OFFERED)
        return YMSG_ESTATE;
    /* libpurple yahoo_xfer_cancel_recv before the relay step: 1 5 265 222=4 */
    r = send_simple(s, YMSG_SVC_FILETRANS_15, 0, x, K_XF_ACTION, "4");
    if (r == 0)
        xfer_remove(s, x);
    return r;
}

/* Tells the peer the transfer is off, in the form libpurple uses for the stage it is in. */
static int xfer_abort(struct ymsg_session *s, struct ymsg_xfer *x)
{
    if (x->outgoing)
        return x->state == YMSG_XF_OFFERED ? send_simple(s, YMSG_SVC_FILETRANS_15, 0, x, K_XF_ACTION, "2")
                                           : send_simple(s, YMSG_SVC_FILETRANS_INFO_15, YMSG_PKT_ERROR, x,
                                                         YMSG_KEY_ERROR_CODE, "-1");
    return x->state == YMSG_XF_OFFERED ? send_simple(s, YMSG_SVC_FILETRANS_15, 0, x, K_XF_ACTION, "4")
                                       : send_simple(s, YMSG_SVC_FILETRANS_15, YMSG_PKT_ERROR, x,
                                                     YMSG_KEY_ERROR_CODE, "-1");
}

int ymsg_session_file_cancel(struct ymsg_session *s, const char *id)
{
    struct ymsg_xfer *x;
    int r = xfer_cmd(s, id, &x);
    if (r)
        return r;
    r = xfer_abort(s, x);
    xfer_remove(s, x);
    return r;
}

int ymsg_session_file_progress(struct ymsg_session *s, const char *id, uint64_t done)
{
    struct ymsg_xfer *x = id ? xfer_find(s, id) : NULL;
    if (!x)
        return YMSG_ENOENT;
    if (x->state != YMSG_XF_MOVING)
        return YMSG_ESTATE;
    x->done = done;
    return 0;
}

int ymsg_session_file_done(struct ymsg_session *s, const char *id, int result)
{
    struct ymsg_xfer *x = id ? xfer_find(s, id) : NULL;
    if (!x)
        return YMSG_ENOENT;
    if (x->state != YMSG_XF_MOVING || result > 0)
        return x->state != YMSG_XF_MOVING ? YMSG_ESTATE : YMSG_EINVAL;
    int r = 0;
    if (result != 0 && s->state == YMSG_SS_ONLINE)
        r = xfer_abort(s, x);
    else if (result == 0)
        x->done = x->size;
    xfer_event(s, 0, YMSG_EV_FILE_DONE, x, result ? ymsg_strerror(result) : "complete", result);
    xfer_remove(s, x);
    return r;
}

/* ------------------------------------------------------------------------------------------------
 * packets from the server
 * ---------------------------------------------------------------------------------------------- */
static void on_offer(struct ymsg_session *s, const struct ymsg_packet *pkt, const char *id, const char *from)
{
    struct ymsg_kv kv;
    if (xfer_find(s, id)) {
        sess_log(s, YMSG_LOG_DEBUG, "repeated file offer %s ignored", id);
        return;
    }
    /* libpurple takes the first name and size of a batch */
    char name[256];
    if (ymsg_get(pkt, YMSG_KEY_FILE_NAME, &kv) != 0)
        return;
    sess_text_clean_into(&kv, 1, name, sizeof name);
    for (char *p = name; *p; p++) /* never a path: the driver saves it under its own directory */
        if (*p == '/' || *p == '\\')
            *p = '_';
    if (!valid_name(name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        sess_log(s, YMSG_LOG_WARN, "file offer %s from %s with an unusable name ignored", id, from);
        return;
    }
    long long size = 0;
    if (ymsg_get_int(pkt, YMSG_KEY_FILE_SIZE, &size) != 0 || size < 0)
        size = 0;
    if (s->nxfers >= s->cfg.max_xfers) {
        s->stats.capped++;
        sess_log(s, YMSG_LOG_WARN, "file offer from %s dropped: %zu transfers in progress (max_xfers)", from, s->nxfers);
        return;
    }
    struct ymsg_xfer *x = &s->xfers[s->nxfers++];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->peer, sizeof x->peer, "%s", from);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->size = (uint64_t)size;
    x->state = YMSG_XF_OFFERED;
    xfer_event(s, pkt->hdr.service, YMSG_EV_FILE_OFFER, x, x->name, 0);
}

static void start_moving(struct ymsg_session *s, const struct ymsg_packet *pkt, struct ymsg_xfer *x)
{
    char url[2048];
    relay_url(s, x, url, sizeof url);
    x->state = YMSG_XF_MOVING;
    x->done = 0;
    xfer_event(s, pkt->hdr.service, x->outgoing ? YMSG_EV_FILE_UPLOAD : YMSG_EV_FILE_DOWNLOAD, x, url, 0);
}

static void cancelled(struct ymsg_session *s, const struct ymsg_packet *pkt, struct ymsg_xfer *x, const char *why)
{
    xfer_event(s, pkt->hdr.service, YMSG_EV_FILE_CANCELLED, x, why, 0);
    xfer_remove(s, x);
}

void sess_on_xfer(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char id[YMSG_XFER_ID_MAX], from[YMSG_ID_MAX] = "";
    if (ymsg_get(pkt, K_XF_ID, &kv) != 0 || !kv_token(&kv, id, sizeof id))
        return;
    if ((ymsg_get(pkt, YMSG_KEY_FROM, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_ACTIVE_ID, &kv) == 0))
        sess_kv_id(&kv, from);
    struct ymsg_xfer *x = xfer_find(s, id);
    /* a packet about a transfer must come from its peer (the server stamps key 4 from the session) */
    if (x && from[0] && strcasecmp(from, x->peer) != 0 && strcasecmp(from, s->user) != 0) {
        sess_log(s, YMSG_LOG_WARN, "file transfer %s: packet from %s, not the peer %s, ignored", id, from, x->peer);
        return;
    }
    long long e66 = 0, mode = 0, action = 0;
    ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &e66);
    ymsg_get_int(pkt, K_XF_MODE, &mode);
    ymsg_get_int(pkt, K_XF_ACTION, &action);
    switch (pkt->hdr.service) {
    case YMSG_SVC_FILETRANS_15:
        if (!x) {
            if (action == 1 && from[0] && strcasecmp(from, s->user) != 0)
                on_offer(s, pkt, id, from);
            return;
        }
        if (e66 == -1 || action == 2) {
            char why[256] = "cancelled by the peer"; /* ymsgd says why it refused an offer in key 16 */
            if (ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0)
                sess_text_clean_into(&kv, 1, why, sizeof why);
            cancelled(s, pkt, x, why);
        } else if (action == 4 && x->outgoing) {
            xfer_event(s, pkt->hdr.service, YMSG_EV_FILE_DECLINED, x, "declined", 0);
            xfer_remove(s, x);
        } else if (action == 3 && x->outgoing && x->state == YMSG_XF_OFFERED) {
            /* libpurple yahoo_xfer_dns_connected_15: 1 5 265 27 249=3 250=<relay> */
            snprintf(x->host, sizeof x->host, "%s", s->relay_host);
            struct ymsg_builder b;
            sess_pkt_begin(s, &b, YMSG_SVC_FILETRANS_INFO_15, 0);
            ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
            ymsg_build_str(&b, YMSG_KEY_TO, x->peer);
            ymsg_build_str(&b, K_XF_ID, x->id);
            ymsg_build_str(&b, YMSG_KEY_FILE_NAME, x->name);
            ymsg_build_str(&b, K_XF_MODE, "3");
            ymsg_build_str(&b, K_XF_HOST, x->host);
            if (sess_pkt_send(s, &b) == 0)
                x->state = YMSG_XF_ACCEPTED;
        }
        return;
    case YMSG_SVC_FILETRANS_INFO_15: /* to the receiver: where and with which token to download */
        if (!x)
            return;
        if (e66 == -1 || pkt->hdr.status == YMSG_PKT_ERROR) {
            cancelled(s, pkt, x, "cancelled by the peer");
            return;
        }
        if (x->outgoing || x->state != YMSG_XF_ACCEPTED)
            return;
        if (mode != 3 || ymsg_get(pkt, K_XF_HOST, &kv) != 0 || !kv_token(&kv, x->host, sizeof x->host) ||
            ymsg_get(pkt, K_XF_TOKEN, &kv) != 0 || !kv_token(&kv, x->token, sizeof x->token)) {
            /* peer to peer (249=1/2) is not offered: cancel as libpurple does when it cannot connect */
            send_simple(s, YMSG_SVC_FILETRANS_15, YMSG_PKT_ERROR, x, YMSG_KEY_ERROR_CODE, "-1");
            cancelled(s, pkt, x, mode != 3 ? "peer-to-peer transfer not supported" : "no relay host or token");
            return;
        }
        {
            /* libpurple yahoo_process_filetrans_info_15: 1 5 265 27 249 251 */
            struct ymsg_builder b;
            sess_pkt_begin(s, &b, YMSG_SVC_FILETRANS_ACC_15, 0);
            ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
            ymsg_build_str(&b, YMSG_KEY_TO, x->peer);
            ymsg_build_str(&b, K_XF_ID, x->id);
            ymsg_build_str(&b, YMSG_KEY_FILE_NAME, x->name);
            ymsg_build_str(&b, K_XF_MODE, "3");
            ymsg_build_str(&b, K_XF_TOKEN, x->token);
            if (sess_pkt_send(s, &b) != 0)
                return;
        }
        start_moving(s, pkt, x);
        return;
    case YMSG_SVC_FILETRANS_ACC_15: /* to the sender: the receiver took the token; upload */
        if (!x)
            return;
        if (e66 == -1 || pkt->hdr.status == YMSG_PKT_ERROR) {
            cancelled(s, pkt, x, "cancelled by the peer");
            return;
        }
        if (!x->outgoing || x->state != YMSG_XF_ACCEPTED)
            return;
        if (ymsg_get(pkt, K_XF_TOKEN, &kv) != 0 || !kv_token(&kv, x->token, sizeof x->token)) {
            send_simple(s, YMSG_SVC_FILETRANS_INFO_15, YMSG_PKT_ERROR, x, YMSG_KEY_ERROR_CODE, "-1");
            cancelled(s, pkt, x, "no relay token");
            return;
        }
        if (ymsg_get(pkt, K_XF_HOST, &kv) == 0) /* libpurple: a URL here replaces ours */
            kv_token(&kv, x->host, sizeof x->host);
        start_moving(s, pkt, x);
        return;
    default:
        return;
    }
}
