/* File transfer packets; see filexfer.h and docs/FILE_TRANSFER.md. */
#include "filexfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "im.h"
#include "log.h"
#include "presence.h"
#include "relay.h"
#include "sessions.h"

/* Keys of the YMSG 15 file transfer (libpurple yahoo_filexfer.c, libyahoo2 libyahoo2.c). */
#define FT_KEY_STEP 222   /* 0xDC: 1 offer, 2 cancel, 3 accept, 4 decline */
#define FT_KEY_ID 265     /* the clients' transfer id */
#define FT_KEY_MODE 249   /* 0xDD/0xDE: 3 = through the relay (1/2 = P2P, never offered) */
#define FT_KEY_HOST 250   /* relay HOST:PORT */
#define FT_KEY_TOKEN 251  /* relay token */
#define FT_STEP_OFFER 1
#define FT_STEP_CANCEL 2
#define FT_STEP_ACCEPT 3
#define FT_STEP_DECLINE 4

/* What a transfer packet is about: the other user and the transfer id, from the packet. */
struct ft_ref {
    char peer[NAME_MAX_LEN + 1];  /* key 5 */
    char id[RELAY_ID_MAX + 1];    /* key 265: 1..64 printable ASCII */
};

static int ft_ref_get(const struct ymsg_packet *pkt, struct ft_ref *ref)
{
    struct ymsg_kv kv;
    if (ymsg_get(pkt, YMSG_KEY_TO, &kv) < 0 || name_normalize((const char *)kv.val, kv.len, ref->peer) < 0) return -1;
    if (ymsg_get(pkt, FT_KEY_ID, &kv) < 0 || kv.len == 0 || kv.len > RELAY_ID_MAX) return -1;
    for (size_t i = 0; i < kv.len; i++)
        if (kv.val[i] < 0x21 || kv.val[i] > 0x7e) return -1;
    memcpy(ref->id, kv.val, kv.len);
    ref->id[kv.len] = 0;
    return 0;
}

/* May `from` send `to` something about a transfer?  When `to` is online for it (can_see) or has
 * talked to it in this session (an offer counts): the IM rule. */
static int ft_may_tell(struct server *srv, const char *from, const char *to)
{
    return can_see(srv, from, to) || sessions_heard_from(srv, to, from);
}

/* A small packet about a transfer: 4=from 5=to 265=id, then step (222) or a result (66), and a text. */
struct ft_note {
    const char *from;   /* key 4 */
    const char *to;     /* key 5 */
    const char *id;     /* key 265 */
    int step;           /* key 222 when > 0 */
    int cancel;         /* key 66=-1 */
    const char *text;   /* key 16 when not NULL */
};

static void ft_build_note(struct ymsg_builder *b, void *arg)
{
    const struct ft_note *n = arg;
    ymsg_build_str(b, YMSG_KEY_FROM, n->from);
    ymsg_build_str(b, YMSG_KEY_TO, n->to);
    ymsg_build_str(b, FT_KEY_ID, n->id);
    if (n->step > 0) ymsg_build_int(b, FT_KEY_STEP, n->step);
    if (n->cancel) ymsg_build_int(b, YMSG_KEY_ERROR_CODE, -1);
    if (n->text) ymsg_build_str(b, YMSG_KEY_ERR_MSG, n->text);
}

/* The offer was refused: the sender's client cancels it (222=2) and key 16 says why. */
static void ft_refuse(struct conn *c, const struct ft_ref *ref, const char *why)
{
    struct ft_note n = {ref->peer, c->user, ref->id, FT_STEP_CANCEL, 0, why};
    ft_build_note(delivery_begin(c, YMSG_SVC_FILETRANS_15, YMSG_PKT_SERVERACK), &n);
    delivery_send(c);
}

/* The offer as the receiver gets it (libpurple's key order). */
struct ft_offer {
    const char *from;                /* the sender (its session's id) */
    const struct relay_xfer *x;      /* the transfer */
    const struct ymsg_kv *msg;       /* key 14 (libyahoo2), or NULL */
};

static void ft_build_offer(struct ymsg_builder *b, void *arg)
{
    const struct ft_offer *o = arg;
    ymsg_build_str(b, YMSG_KEY_FROM, o->from);
    ymsg_build_str(b, YMSG_KEY_TO, o->x->recver);
    ymsg_build_str(b, FT_KEY_ID, o->x->id);
    ymsg_build_int(b, FT_KEY_STEP, FT_STEP_OFFER);
    ymsg_build_int(b, 266, 1);
    ymsg_build_int(b, 302, 268);
    ymsg_build_int(b, 300, 268);
    ymsg_build_str(b, YMSG_KEY_FILE_NAME, o->x->name);
    ymsg_build_int(b, YMSG_KEY_FILE_SIZE, (long long)o->x->size);
    ymsg_build_int(b, 301, 268);
    ymsg_build_int(b, 303, 268);
    if (o->msg) ymsg_build_kv(b, YMSG_KEY_MSG, o->msg->val, o->msg->len);
}

static void ft_offer(struct conn *c, const struct ymsg_packet *pkt, const struct ft_ref *ref)
{
    struct server *srv = c->srv;
    struct ymsg_kv name, size, msg;
    long long sz;
    char fname[RELAY_NAME_MAX + 1];
    if (ymsg_get(pkt, YMSG_KEY_FILE_NAME, &name) < 0 || name.len == 0 || name.len > RELAY_NAME_MAX ||
        ymsg_get(pkt, YMSG_KEY_FILE_SIZE, &size) < 0 || ymsg_get_int(pkt, YMSG_KEY_FILE_SIZE, &sz) < 0 || sz < 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "ft_malformed", FT_STEP_OFFER, "no valid 27/28");
        return;
    }
    for (size_t i = 0; i < name.len; i++)
        if (name.val[i] < 0x20 || name.val[i] == 0x7f) {
            log_event(LOG_DEBUG, c->peer, c->user, "ft_malformed", FT_STEP_OFFER, "control byte in 27");
            return;
        }
    memcpy(fname, name.val, name.len);
    fname[name.len] = 0;
    int has_msg = ymsg_get(pkt, YMSG_KEY_MSG, &msg) == 0 && msg.len <= (size_t)srv->cfg->max_message;
    int rc = srv->relay ? relay_offer(srv->relay, c->user, ref->peer, ref->id, fname, (uint64_t)sz) : RELAY_OFF;
    if (rc != RELAY_OK) {
        log_event(LOG_INFO, c->peer, c->user, "ft_refused", rc, "to %s: %s", ref->peer, relay_result_text(rc));
        ft_refuse(c, ref, relay_result_text(rc));
        return;
    }
    struct relay_xfer *x = relay_find(srv->relay, c->user, ref->peer, ref->id);
    /* The receiver's state is asked last, and every case where the sender may not know it is online
     * gets the same answer (YMSG.md §8.2 rules 6, 8, 14). */
    int dr = DELIVERY_OFFLINE;
    if (strcmp(c->user, ref->peer) && ft_may_tell(srv, c->user, ref->peer)) {
        struct ft_offer o = {c->user, x, has_msg ? &msg : NULL};
        dr = delivery_to_user(srv, ref->peer, c->user, YMSG_SVC_FILETRANS_15, YMSG_PKT_SERVERACK, ft_build_offer, &o);
    }
    if (dr != DELIVERY_SENT) {
        relay_end(srv->relay, x, "receiver not online");
        ft_refuse(c, ref, "The user is not online.");
        return;
    }
    /* the offer reveals an invisible sender to the receiver (and only to it), as an IM does */
    im_note_talked(c, ref->peer);
    log_event(LOG_INFO, c->peer, c->user, "ft_offer", 0, "to %s id %s, %lld bytes", ref->peer, ref->id, sz);
}

/* Tells `to` that the transfer ended (0xDD or 0xDC with 66=-1, as the clients cancel). */
static void ft_tell_cancel(struct server *srv, uint16_t service, const char *from, const char *to, const char *id)
{
    struct ft_note n = {from, to, id, 0, 1, NULL};
    delivery_to_user(srv, to, NULL, service, YMSG_PKT_ERROR, ft_build_note, &n);
}

void ft_handle_filetrans(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    struct ft_ref ref;
    long long step = 0, res = 0;
    if (ft_ref_get(pkt, &ref) < 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "ft_malformed", 0, "no valid 5/265");
        return;
    }
    int has_step = ymsg_get_int(pkt, FT_KEY_STEP, &step) == 0;
    int cancel = ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &res) == 0 && res == -1;
    if (has_step && step == FT_STEP_OFFER) {
        ft_offer(c, pkt, &ref);
        return;
    }
    if (!cancel && !(has_step && step >= FT_STEP_CANCEL && step <= FT_STEP_DECLINE)) {
        log_event(LOG_DEBUG, c->peer, c->user, "ft_malformed", (long)step, "unknown 222");
        return;
    }
    struct relay_xfer *mine = srv->relay ? relay_find(srv->relay, c->user, ref.peer, ref.id) : NULL;   /* c sends */
    struct relay_xfer *theirs = srv->relay ? relay_find(srv->relay, ref.peer, c->user, ref.id) : NULL; /* c receives */
    /* Who may answer what: the sender cancels (2), the receiver accepts (3) or declines (4); 66=-1 is
     * either's cancel.  A transfer held by another node (cluster) is answered under the IM rule. */
    if (mine && !cancel && step != FT_STEP_CANCEL) return;
    if (theirs && !cancel && step == FT_STEP_CANCEL) return;
    /* One node knows every transfer: an answer to none is dropped.  In a cluster the offer may be held by
     * the other user's node. */
    if (!mine && !theirs && (!srv->cluster || !ft_may_tell(srv, c->user, ref.peer))) {
        log_event(LOG_DEBUG, c->peer, c->user, "ft_dropped", (long)step, "to %s", ref.peer);
        return;
    }
    struct ft_note n = {c->user, ref.peer, ref.id, cancel ? 0 : (int)step, cancel, NULL};
    delivery_to_user(srv, ref.peer, c->user, YMSG_SVC_FILETRANS_15, cancel ? YMSG_PKT_ERROR : YMSG_PKT_SERVERACK,
                     ft_build_note, &n);
    struct relay_xfer *x = mine ? mine : theirs;
    if (x && (cancel || step != FT_STEP_ACCEPT)) relay_end(srv->relay, x, cancel ? "cancelled" : "declined");
    log_event(LOG_DEBUG, c->peer, c->user, "ft_answer", (long)step, "to %s id %s", ref.peer, ref.id);
}

/* The relay info both users get once the sender's 0xDD arrives. */
struct ft_info {
    const char *from;             /* key 4 */
    const char *to;               /* key 5 */
    const struct relay_xfer *x;   /* the transfer */
    const char *host;             /* key 250 */
};

static void ft_build_info(struct ymsg_builder *b, void *arg)
{
    const struct ft_info *i = arg;
    ymsg_build_str(b, YMSG_KEY_FROM, i->from);
    ymsg_build_str(b, YMSG_KEY_TO, i->to);
    ymsg_build_str(b, FT_KEY_ID, i->x->id);
    ymsg_build_str(b, YMSG_KEY_FILE_NAME, i->x->name);
    ymsg_build_int(b, FT_KEY_MODE, 3);
    ymsg_build_str(b, FT_KEY_HOST, i->host);
    ymsg_build_str(b, FT_KEY_TOKEN, i->x->token);
}

void ft_handle_info(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    struct ft_ref ref;
    long long res = 0;
    if (ft_ref_get(pkt, &ref) < 0) {
        log_event(LOG_DEBUG, c->peer, c->user, "ft_malformed", 0, "0xDD without valid 5/265");
        return;
    }
    struct relay_xfer *mine = srv->relay ? relay_find(srv->relay, c->user, ref.peer, ref.id) : NULL;
    struct relay_xfer *theirs = srv->relay ? relay_find(srv->relay, ref.peer, c->user, ref.id) : NULL;
    if (ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &res) == 0 && res == -1) {
        /* a cancel after the relay info (libpurple's sender) */
        if (!mine && !theirs && (!srv->cluster || !ft_may_tell(srv, c->user, ref.peer))) return;
        ft_tell_cancel(srv, YMSG_SVC_FILETRANS_INFO_15, c->user, ref.peer, ref.id);
        if (mine || theirs) relay_end(srv->relay, mine ? mine : theirs, "cancelled");
        return;
    }
    if (!mine || mine->state != RELAY_OFFERED) {
        log_event(LOG_DEBUG, c->peer, c->user, "ft_dropped", 0, "0xDD for no pending offer to %s", ref.peer);
        return;
    }
    if (relay_issue(srv->relay, mine) != RELAY_OK) {
        ft_tell_cancel(srv, YMSG_SVC_FILETRANS_ACC_15, ref.peer, c->user, ref.id);
        relay_end(srv->relay, mine, "no token");
        return;
    }
    const char *host = relay_host(srv->relay);
    struct ft_info to_recv = {c->user, ref.peer, mine, host};
    int dr = delivery_to_user(srv, ref.peer, c->user, YMSG_SVC_FILETRANS_INFO_15, YMSG_PKT_SERVERACK, ft_build_info,
                              &to_recv);
    if (dr != DELIVERY_SENT) {
        /* the receiver left since it accepted: the sender's client cancels on 66=-1 */
        ft_tell_cancel(srv, YMSG_SVC_FILETRANS_ACC_15, ref.peer, c->user, ref.id);
        relay_end(srv->relay, mine, "receiver gone");
        return;
    }
    /* The sender's go-ahead comes from here, with this node's relay address (key 250 overrides the
     * address the client resolved itself): the receiver's own 0xDE is not passed on. */
    struct ft_info to_send = {ref.peer, c->user, mine, host};
    ft_build_info(delivery_begin(c, YMSG_SVC_FILETRANS_ACC_15, YMSG_PKT_SERVERACK), &to_send);
    delivery_send(c);
    log_event(LOG_INFO, c->peer, c->user, "ft_relay", 0, "to %s id %s via %s", ref.peer, ref.id, host);
}

void ft_handle_accept(struct conn *c, const struct ymsg_packet *pkt)
{
    /* The receiver's ack of the relay info: the server answered the sender already (ft_handle_info).
     * Passing it on would make the sender upload twice. */
    log_event(LOG_DEBUG, c->peer, c->user, "ft_ack", (long)pkt->hdr.status, NULL);
}

/* The relay ended a transfer by itself: both users' clients are told to cancel, unless it was
 * downloaded (then both know). */
static void ft_relay_ended(void *arg, const struct relay_xfer *x, const char *why)
{
    struct server *srv = arg;
    if (!strcmp(why, "downloaded")) return;
    ft_tell_cancel(srv, YMSG_SVC_FILETRANS_INFO_15, x->sender, x->recver, x->id);
    ft_tell_cancel(srv, YMSG_SVC_FILETRANS_ACC_15, x->recver, x->sender, x->id);
}

void ft_attach(struct server *srv)
{
    if (srv->relay) relay_set_end_hook(srv->relay, ft_relay_ended, srv);
}
