/* libFuzzer harness: hostile server bytes and hostile token-login HTTP answers into the client session.
 * Input: byte 0 = mode.  Bit 0 set: three length-prefixed (1 byte) blobs follow — the pwtoken_get body,
 * the pwtoken_login headers and its body — and the rest is the server stream.  Bit 0 clear: a valid
 * login is scripted first (so every post-login handler is reachable) and the rest is the server stream.
 * The stream is fed in chunks of 1 << ((mode >> 1) & 7) bytes; then commands and timers run.
 * Bit 5 joins a chat room and offers a file first; bit 6 logs in invisible; bit 7 fails the transfers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ymsg/ymsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct ymsg_session *s)
{
    const struct ymsg_event *ev;
    while ((ev = ymsg_session_next_event(s))) {
        /* touch every string so a sanitizer sees bad pointers */
        volatile size_t n = strlen(ev->who) + strlen(ev->to) + strlen(ev->text) + strlen(ev->group) + strlen(ev->group2) +
                            strlen(ev->room) + strlen(ev->list) + strlen(ev->xfer);
        (void)n;
    }
    const uint8_t *out;
    ymsg_session_consume(s, ymsg_session_output(s, &out));
}

static const uint8_t *blob(const uint8_t **p, size_t *left, size_t *len)
{
    if (*left == 0) { *len = 0; return *p; }
    size_t n = **p;
    (*p)++; (*left)--;
    if (n > *left) n = *left;
    const uint8_t *b = *p;
    *p += n; *left -= n;
    *len = n;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    cfg.password = "pw";
    cfg.login_url = "http://127.0.0.1:1";
    cfg.max_events = 64;
    cfg.max_buddies = 64;
    cfg.max_groups = 16;
    cfg.max_ignored = 16;
    cfg.max_list_text = 4096;
    cfg.max_inbuf = 65555;  /* the minimum: one largest packet */
    cfg.max_outbuf = 16384;
    cfg.initial_status = (mode & 0x40) ? YMSG_STATUS_INVISIBLE : 0;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    if (!s)
        return 0;
    ymsg_session_start(s, 0);
    uint8_t pkt[256];
    struct ymsg_builder b;
    ymsg_builder_init(&b, pkt, sizeof pkt);
    ymsg_build_begin(&b, YMSG_SVC_AUTH, 1, 0x01020304);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, "alice");
    ymsg_build_str(&b, YMSG_KEY_CHALLENGE, "x^0+1-2*3/4%5");
    ymsg_build_str(&b, YMSG_KEY_FLAG, "2");
    ssize_t n = ymsg_build_end(&b);
    ymsg_session_feed(s, pkt, (size_t)n);
    drain(s);
    if (mode & 1) {
        size_t l1, l2, l3;
        const uint8_t *b1 = blob(&p, &left, &l1);
        ymsg_session_http_response(s, 200, NULL, 0, (const char *)b1, l1);
        drain(s);
        const uint8_t *h = blob(&p, &left, &l2);
        const uint8_t *b3 = blob(&p, &left, &l3);
        ymsg_session_http_response(s, 200, (const char *)h, l2, (const char *)b3, l3);
    } else {
        static const char tok[] = "0\r\nymsgr=T\r\npartnerid=P";
        static const char hdr[] = "Set-Cookie: B=b; path=/\r\n";
        static const char crumb[] = "0\r\ncrumb=C\r\nY=y\r\nT=t\r\ncookievalidfor=86400\r\n";
        ymsg_session_http_response(s, 200, NULL, 0, tok, sizeof tok - 1);
        drain(s);
        ymsg_session_http_response(s, 200, hdr, sizeof hdr - 1, crumb, sizeof crumb - 1);
    }
    drain(s);
    if (mode & 0x20) { /* in a chat room: the stream's 0x96/0x98 answers mean something */
        ymsg_session_room_join(s, "Linux", NULL);
        char id[YMSG_XFER_ID_MAX];
        ymsg_session_file_send(s, "bob", "f.txt", 3, id);
        drain(s);
    }
    size_t chunk = (size_t)1 << ((mode >> 1) & 7); /* 1..128-byte reads */
    uint64_t now = 0;
    while (left > 0) {
        size_t c = left < chunk ? left : chunk;
        ymsg_session_feed(s, p, c);
        p += c;
        left -= c;
        drain(s);
    }
    ymsg_session_send_message(s, "bob", "hi");
    ymsg_session_typing(s, "bob", 1);
    ymsg_session_set_status(s, YMSG_STATUS_INVISIBLE, NULL, 0);
    ymsg_session_set_status(s, YMSG_STATUS_CUSTOM, "x", 1);
    ymsg_session_remove_buddy(s, "bob", NULL);
    ymsg_session_move_buddy(s, "bob", NULL, "G");
    /* conferences, the room and transfers the stream left behind (session_conf.c, session_xfer.c) */
    for (size_t i = ymsg_session_conf_count(s); i-- > 0;) {
        char room[YMSG_ROOM_MAX];
        const struct ymsg_conf *c = ymsg_session_conf(s, i);
        memcpy(room, c->room, sizeof room);
        for (size_t k = 0; k < c->nmembers; k++)
            (void)strlen(c->members[k]);
        if (!c->joined)
            ymsg_session_conf_join(s, room);
        ymsg_session_conf_send(s, room, "hi");
        ymsg_session_conf_invite(s, room, "carol", "m");
        drain(s);
    }
    ymsg_session_room_send(s, "hi", 1);
    ymsg_session_room_invite(s, "carol", "m");
    for (size_t i = 0; i < ymsg_session_room_member_count(s); i++)
        (void)strlen(ymsg_session_room_member(s, i));
    for (size_t i = ymsg_session_xfer_count(s); i-- > 0;) {
        char id[YMSG_XFER_ID_MAX];
        const struct ymsg_xfer *x = ymsg_session_xfer(s, i);
        memcpy(id, x->id, sizeof id);
        if (x->state == YMSG_XF_OFFERED && !x->outgoing)
            ymsg_session_file_accept(s, id);
        else if (x->state == YMSG_XF_MOVING)
            ymsg_session_file_done(s, id, (mode & 0x80) ? YMSG_EPROTO : 0);
        drain(s);
    }
    now += 3600001;
    ymsg_session_tick(s, now);
    (void)ymsg_session_timeout(s, now);
    for (size_t i = 0; i < ymsg_session_buddy_count(s); i++)
        (void)strlen(ymsg_session_buddy(s, i)->id);
    for (size_t i = 0; i < ymsg_session_group_count(s); i++)
        (void)strlen(ymsg_session_group(s, i));
    drain(s);
    ymsg_session_close(s, "end");
    drain(s);
    ymsg_session_free(s);
    return 0;
}
