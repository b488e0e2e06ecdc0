/* Messages and relays; see im.h. */
#include "im.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "log.h"
#include "presence.h"

/* Keys of a client's 0x06 that are passed on to the recipient (everything else, e.g. 12 or 11, is
 * dropped: a client must not be able to smuggle data the server does not understand). */
static int im_key_passed(uint32_t k)
{
    switch (k) {
    case YMSG_KEY_MSG: case YMSG_KEY_UTF8: case YMSG_KEY_IMV: case YMSG_KEY_IMV_FLAG: case YMSG_KEY_IMAGE_TYPE:
    case YMSG_KEY_MSG_ID: case YMSG_KEY_MSG_450: case YMSG_KEY_Y6_MARKER: case YMSG_KEY_FEDERATION:
        return 1;
    default:
        return 0;
    }
}

static int get_target(const struct ymsg_packet *pkt, char out[NAME_MAX_LEN + 1])
{
    struct ymsg_kv kv;
    if (ymsg_get(pkt, YMSG_KEY_TO, &kv) < 0) return -1;
    return name_normalize((const char *)kv.val, kv.len, out);
}

void im_handle_message(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char to[NAME_MAX_LEN + 1];
    struct ymsg_kv text;
    if (get_target(pkt, to) < 0 || ymsg_get(pkt, YMSG_KEY_MSG, &text) < 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "im_malformed", 0, "no valid 5 or 14");
        return;
    }
    if (text.len > (size_t)srv->cfg->max_message) {
        log_event(LOG_INFO, c->peer, c->user, "im_too_long", (long)text.len, NULL);
        return;
    }
    /* An ignored sender gets exactly what a sender to an offline user gets: nothing (rule 14). */
    struct conn *r = online_get(srv, to);
    int ign = r ? nameset_has(&r->ignores, c->user) : srv->st->ignore_check(srv->st, to, c->user);
    if (ign != 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "im_dropped", ign, "ignored by or store error for %s", to);
        return;
    }
    if (r) {
        int reveal = can_see(srv, c->user, to); /* may the sender know r is online? */
        struct ymsg_builder *b = pkt_begin(r, YMSG_SVC_MESSAGE, YMSG_PKT_SERVERACK);
        ymsg_build_str(b, YMSG_KEY_FROM, c->user); /* never the client's 1/4: no spoofing */
        ymsg_build_str(b, YMSG_KEY_TO, to);
        size_t pos = 0;
        struct ymsg_kv kv;
        while (ymsg_next(pkt, &pos, &kv)) {
            if (!im_key_passed(kv.key)) continue;
            if (!reveal && kv.key == YMSG_KEY_IMV) ymsg_build_str(b, kv.key, ";0");
            else if (!reveal && kv.key == YMSG_KEY_IMV_FLAG) ymsg_build_str(b, kv.key, "0");
            else ymsg_build_kv(b, kv.key, kv.val, kv.len);
        }
        pkt_send(r);
        log_event(LOG_DEBUG, c->peer, c->user, "im", 0, "to %s live", to);
        return;
    }
    int exists = srv->st->user_exists(srv->st, to);
    if (exists != 1) {
        log_event(LOG_DEBUG, c->peer, c->user, "im_dropped", exists, "no such user %s", to);
        return;
    }
    char *t = malloc(text.len + 1);
    if (!t) return;
    memcpy(t, text.val, text.len);
    t[text.len] = 0;
    struct ymsg_kv u;
    int utf8 = ymsg_get(pkt, YMSG_KEY_UTF8, &u) == 0 && ymsg_kv_eq(&u, "1");
    int rc = srv->st->offline_add(srv->st, to, c->user, t, (int64_t)time(NULL), utf8, srv->cfg->offline_max);
    free(t);
    log_event(rc == STORE_OK ? LOG_DEBUG : LOG_INFO, c->peer, c->user, rc == STORE_OK ? "im_stored" : "im_store_failed",
              rc, "to %s", to);
}

void im_handle_relay(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char to[NAME_MAX_LEN + 1];
    if (get_target(pkt, to) < 0) return;
    struct conn *r = online_get(srv, to);
    /* Both directions: the sender must be allowed to know r is online (r's client may answer on its
     * own), and r must be allowed to know the sender is (it is about to receive a sign of life). */
    if (!r || !can_see(srv, c->user, to) || !can_see(srv, to, c->user)) {
        log_event(LOG_DEBUG, c->peer, c->user, "relay_dropped", pkt->hdr.service, "to %s", to);
        return;
    }
    struct ymsg_builder *b = pkt_begin(r, pkt->hdr.service, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_FROM, c->user);
    size_t pos = 0;
    struct ymsg_kv kv;
    while (ymsg_next(pkt, &pos, &kv)) {
        if (kv.key == YMSG_KEY_LOGIN_ID || kv.key == YMSG_KEY_ACTIVE_ID || kv.key == YMSG_KEY_FROM ||
            kv.key == YMSG_KEY_P2P_IP || kv.key == YMSG_KEY_SESSION_ID)
            continue;
        ymsg_build_kv(b, kv.key, kv.val, kv.len);
    }
    pkt_send(r);
}

struct offline_ctx {
    struct conn *c;          /* recipient */
    struct ymsg_builder *b;  /* packet being filled, or NULL */
    int64_t last;            /* id of the last message put in a packet */
};

static void offline_flush(struct offline_ctx *o)
{
    if (o->b) {
        if (pkt_send(o->c) == 0) o->c->offline_upto = o->last;
        o->b = NULL;
    }
}

static void offline_one(void *arg, const struct store_offline *m)
{
    struct offline_ctx *o = arg;
    if (o->c->state >= CONN_CLOSING) return;
    if (o->b && pkt_body_len() + strlen(m->text) + 64 > 900) offline_flush(o);
    if (!o->b) o->b = pkt_begin(o->c, YMSG_SVC_MESSAGE, YMSG_PKT_CONTINUED);
    ymsg_build_str(o->b, YMSG_KEY_STEALTH_VAL, "6");
    ymsg_build_str(o->b, YMSG_KEY_MSG_MARKER, "6");
    ymsg_build_str(o->b, YMSG_KEY_FROM, m->from);
    ymsg_build_str(o->b, YMSG_KEY_TO, o->c->user);
    ymsg_build_str(o->b, YMSG_KEY_MSG, m->text);
    ymsg_build_int(o->b, YMSG_KEY_TIME, m->time);
    if (m->utf8) ymsg_build_str(o->b, YMSG_KEY_UTF8, "1");
    if (o->b->err) { /* a message too large for one packet: drop just the packet being built */
        ymsg_builder_reset(o->b);
        o->b = NULL;
        o->c->offline_upto = m->id;
        return;
    }
    o->last = m->id;
}

void im_deliver_offline(struct conn *c)
{
    struct offline_ctx o = {c, NULL, 0};
    c->srv->st->offline_list(c->srv->st, c->user, offline_one, &o);
    offline_flush(&o);
    /* Deletion happens in conn.c's write callback once the output buffer has drained. */
}
