/* Messages and relays; see im.h. */
#include "im.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "sessions.h"
#include "log.h"
#include "metrics.h"
#include "presence.h"
#include "ratelimit.h"

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

/* What the recipient's 0x06 is made of (delivery_build_fn's argument). */
struct im_out {
    const struct conn *c;          /* sender */
    const char *to;                /* recipient */
    const struct ymsg_packet *pkt; /* the sender's 0x06 */
    int reveal;                    /* the sender is visible to the recipient: IMVironment keys pass */
};

/* Copies the keys of the sender's 0x06 that are passed on into the recipient's packet b. */
static void im_build_delivery(struct ymsg_builder *b, void *arg)
{
    const struct im_out *o = arg;
    ymsg_build_str(b, YMSG_KEY_FROM, o->c->user); /* never the client's 1/4: no spoofing */
    ymsg_build_str(b, YMSG_KEY_TO, o->to);
    size_t pos = 0;
    struct ymsg_kv kv;
    while (ymsg_next(o->pkt, &pos, &kv)) {
        if (!im_key_passed(kv.key)) continue;
        if (!o->reveal && kv.key == YMSG_KEY_IMV) ymsg_build_str(b, kv.key, ";0");
        else if (!o->reveal && kv.key == YMSG_KEY_IMV_FLAG) ymsg_build_str(b, kv.key, "0");
        else ymsg_build_kv(b, kv.key, kv.val, kv.len);
    }
}

/* 0x06 status 2 ("not sent"; Pidgin shows "Your Yahoo! message did not get sent.", libyahoo2 reports an
 * error) with 5 = the recipient and 16 = why.  At most one per recipient per offline_notice_interval,
 * so a sender who keeps typing into a full box is not flooded (nor cut off as a slow reader). */
static void im_refuse(struct conn *c, const char *to)
{
    double now = rl_now();
    /* FNV-1a: two recipients with one hash within the interval cost one notice, nothing else */
    uint32_t h = 2166136261u;
    for (const char *p = to; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    if (c->refused_hash == h && now - c->refused_at < (double)c->srv->cfg->offline_notice_interval) return;
    c->refused_hash = h;
    c->refused_at = now;
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_MESSAGE, YMSG_PKT_NOTSENT);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_str(b, YMSG_KEY_TO, to);
    ymsg_build_str(b, YMSG_KEY_ERR_MSG, "Message not delivered: the recipient's message box is full.");
    delivery_send(c);
}

/* May the sender know that `to` is online?  Yes when it can see `to`, or when `to` has sent it an IM
 * in this session (it revealed itself by talking). */
static int im_sender_knows(struct server *srv, const struct conn *c, const char *to)
{
    return can_see(srv, c->user, to) || sessions_heard_from(srv, to, c->user);
}

void im_note_talked(struct conn *c, const char *to)
{
    uint32_t first;
    if (tagset_has(&c->sets, SET_TALKED, to) ||
        tagset_range(&c->sets, SET_TALKED, &first) >= (uint32_t)c->srv->cfg->max_buddies)
        return;
    if (tagset_add(&c->sets, SET_TALKED, to) < 0) log_event(LOG_WARN, c->peer, c->user, "out_of_memory", 0, "talked set");
    else sessions_changed(c->srv, c->user); /* `to` may now know c is online, on any node */
}

/* A message on the box path while the store works on it. */
struct im_box {
    struct im_out o;              /* what the recipient's packet is built from (first: build's argument) */
    struct ymsg_packet pkt;       /* the sender's 0x06, its body copied */
    char to[NAME_MAX_LEN + 1];    /* recipient */
    int rc;                       /* the store's answer */
};

static void im_box_done(void *arg, int rc)
{
    struct im_box *j = arg;
    struct conn *c = (struct conn *)j->o.c; /* held (sessions_hold): still allocated */
    if (rc == STORE_NOTFOUND) log_event(LOG_DEBUG, c->peer, c->user, "im_dropped", 0, "no such user %s", j->to);
    else {
        if (c->state == CONN_ONLINE) im_note_talked(c, j->to);
        log_event(rc == STORE_OK ? LOG_DEBUG : LOG_INFO, c->peer, c->user,
                  rc == STORE_OK ? "im_stored" : rc == STORE_FULL ? "im_box_full" : "im_store_failed", rc, "to %s",
                  j->to);
    }
    j->rc = rc;
}

/* After the recipient's packet: "not sent" to the sender for a full box, and the sender's next packets. */
static void im_box_release(void *arg)
{
    struct im_box *j = arg;
    struct conn *c = (struct conn *)j->o.c;
    if (j->rc == STORE_FULL && c->state == CONN_ONLINE) im_refuse(c, j->to);
    sessions_release(c);
    free((void *)j->pkt.body);
    free(j);
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
    if (im_sender_knows(srv, c, to)) {
        /* The sender may know `to` is online (and `to` does not ignore it: can_see checked that, or
         * `to` talked to it): a plain live delivery. */
        im_note_talked(c, to);
        struct im_out o = {c, to, pkt, can_see(srv, c->user, to)};
        int dr = delivery_to_user(srv, to, c->user, YMSG_SVC_MESSAGE, YMSG_PKT_SERVERACK, im_build_delivery, &o);
        if (dr != DELIVERY_OFFLINE) {
            g_metrics.ims[dr == DELIVERY_SENT ? MET_IM_LIVE : dr == DELIVERY_IGNORED ? MET_IM_IGNORED
                                                                      : MET_IM_FAILED]++;
            log_event(LOG_DEBUG, c->peer, c->user, "im", 0, "to %s live", to);
            return;
        }
        /* Gone since (cannot happen inside one handler today; another node's session may vanish between
         * the two questions): the box then, as for any sender. */
    }
    /* The sender may not know whether `to` is online: whatever `to`'s state (offline, invisible or
     * stealthed to the sender, ignoring the sender) the work is the same, in the same order, and so
     * is what the sender sees: the message goes into the box (a row handed over live still counts
     * until the recipient's next login), and a full box is answered "not sent" (see im.h).  The store
     * work runs off the loop; the sender's next packets wait for it (sessions_hold), so its messages
     * keep their order. */
    struct im_box *j = calloc(1, sizeof *j);
    uint8_t *body = j ? malloc(pkt->hdr.length ? pkt->hdr.length : 1) : NULL;
    if (!body) {
        free(j);
        log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", (long)pkt->hdr.length, "im to %s", to);
        return;
    }
    memcpy(body, pkt->body, pkt->hdr.length);
    j->pkt = *pkt;
    j->pkt.body = body;
    snprintf(j->to, sizeof j->to, "%s", to);
    j->o = (struct im_out){c, j->to, &j->pkt, 0};
    struct ymsg_kv u;
    struct delivery_box m = {c->user, to, text.val, text.len,
                             ymsg_get(pkt, YMSG_KEY_UTF8, &u) == 0 && ymsg_kv_eq(&u, "1")};
    sessions_hold(c);
    if (delivery_to_box(srv, &m, im_build_delivery, im_box_done, im_box_release, j) < 0) {
        sessions_release(c);
        free(body);
        free(j);
    }
}

/* A relayed packet: the sender's keys minus the ones that name or locate the sender. */
static void im_build_relay(struct ymsg_builder *b, void *arg)
{
    const struct im_out *o = arg;
    ymsg_build_str(b, YMSG_KEY_FROM, o->c->user);
    size_t pos = 0;
    struct ymsg_kv kv;
    while (ymsg_next(o->pkt, &pos, &kv)) {
        if (kv.key == YMSG_KEY_LOGIN_ID || kv.key == YMSG_KEY_ACTIVE_ID || kv.key == YMSG_KEY_FROM ||
            kv.key == YMSG_KEY_P2P_IP || kv.key == YMSG_KEY_SESSION_ID)
            continue;
        ymsg_build_kv(b, kv.key, kv.val, kv.len);
    }
}

void im_handle_relay(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char to[NAME_MAX_LEN + 1];
    if (get_target(pkt, to) < 0) return;
    /* Both directions: the sender must be allowed to know `to` is online (its client may answer on its
     * own), and `to` must be allowed to know the sender is (it is about to receive a sign of life).
     * can_see() is 0 for a user who is not online. */
    if (!can_see(srv, c->user, to) || !can_see(srv, to, c->user)) {
        log_event(LOG_DEBUG, c->peer, c->user, "relay_dropped", pkt->hdr.service, "to %s", to);
        return;
    }
    struct im_out o = {c, to, pkt, 1};
    delivery_to_user(srv, to, NULL, pkt->hdr.service, YMSG_PKT_SERVERACK, im_build_relay, &o);
}
