/* The pager's service table; see dispatch.h. */
#include "dispatch.h"

#include <stddef.h>

#include "buddy.h"
#include "chat.h"
#include "conf.h"
#include "delivery.h"
#include "filexfer.h"
#include "im.h"
#include "log.h"
#include "metrics.h"
#include "login_ymsg.h"
#include "presence.h"
#include "sessions.h"

/* Keep-alives answer with an empty ack of the same service; before login a ping gets one too. */
static void dispatch_ack(struct conn *c, const struct ymsg_packet *pkt)
{
    delivery_begin(c, pkt->hdr.service, YMSG_PKT_SERVERACK);
    delivery_send(c);
}

static void dispatch_ping(struct conn *c, const struct ymsg_packet *pkt)
{
    delivery_ping(c);
}

static void dispatch_logoff(struct conn *c, const struct ymsg_packet *pkt)
{
    log_event(LOG_INFO, c->peer, c->user, "logout", 0, NULL);
    delivery_close(c, 1, "client sign-off");
}

#define PRE DISPATCH_PRELOGIN
#define ON DISPATCH_ONLINE
static const struct dispatch_entry table[] = {
    {YMSG_SVC_VERIFY, PRE, login_handle_verify, "verify"},
    {YMSG_SVC_AUTH, PRE, login_handle_auth, "auth"},
    {YMSG_SVC_AUTHRESP, PRE, login_handle_authresp, "authresp"},
    {YMSG_SVC_KEEPALIVE, PRE, dispatch_ack, "keepalive"},
    {YMSG_SVC_PING, PRE, dispatch_ack, "ping"},

    {YMSG_SVC_KEEPALIVE, ON, dispatch_ack, "keepalive"},
    {YMSG_SVC_PING, ON, dispatch_ping, "ping"},
    {YMSG_SVC_LOGOFF, ON, dispatch_logoff, "logoff"},
    {YMSG_SVC_MESSAGE, ON, im_handle_message, "message"},
    /* Person-to-person packets relayed between users who can see each other (im.h).  0xFB acks
     * (§8.2 rule 7) and 0x4F P2P (rule 13) have no row: never relayed. */
    {YMSG_SVC_NOTIFY, ON, im_handle_relay, "notify"},
    {YMSG_SVC_P2PFILEXFER, ON, im_handle_relay, "p2pfilexfer"},
    {YMSG_SVC_PICTURE, ON, im_handle_relay, "picture"},
    {YMSG_SVC_WEBCAM, ON, im_handle_relay, "webcam"},
    {YMSG_SVC_VOICECHAT, ON, im_handle_relay, "voicechat"},
    {YMSG_SVC_GAME_INVITE, ON, im_handle_relay, "game_invite"},
    {YMSG_SVC_AUDIBLE, ON, im_handle_relay, "audible"},
    {YMSG_SVC_Y7_CONTACT_DETAILS, ON, im_handle_relay, "contact_details"},
    /* File transfer through ymsgd's relay (filexfer.h). */
    {YMSG_SVC_FILETRANS_15, ON, ft_handle_filetrans, "filetrans_15"},
    {YMSG_SVC_FILETRANS_INFO_15, ON, ft_handle_info, "filetrans_info_15"},
    {YMSG_SVC_FILETRANS_ACC_15, ON, ft_handle_accept, "filetrans_acc_15"},
    /* Conferences (conf.h): the server's table decides who is in a room, never the packet. */
    {YMSG_SVC_CONFINVITE, ON, conf_handle_invite, "confinvite"},
    {YMSG_SVC_CONFLOGON, ON, conf_handle_logon, "conflogon"},
    {YMSG_SVC_CONFDECLINE, ON, conf_handle_decline, "confdecline"},
    {YMSG_SVC_CONFLOGOFF, ON, conf_handle_logoff, "conflogoff"},
    {YMSG_SVC_CONFADDINVITE, ON, conf_handle_addinvite, "confaddinvite"},
    {YMSG_SVC_CONFMSG, ON, conf_handle_message, "confmsg"},
    {YMSG_SVC_Y6_STATUS_UPDATE, ON, presence_handle_status, "status_update"},
    {YMSG_SVC_Y6_VISIBLE_TOGGLE, ON, presence_handle_status, "visible_toggle"},
    {YMSG_SVC_ISAWAY, ON, presence_handle_status, "isaway"},
    {YMSG_SVC_ISBACK, ON, presence_handle_status, "isback"},
    {YMSG_SVC_USERSTAT, ON, presence_handle_status, "userstat"},
    {YMSG_SVC_STEALTH_PERM, ON, presence_handle_stealth, "stealth_perm"},
    {YMSG_SVC_STEALTH_SESSION, ON, presence_handle_stealth, "stealth_session"},
    {YMSG_SVC_ADDBUDDY, ON, buddy_handle_add, "addbuddy"},
    {YMSG_SVC_REMBUDDY, ON, buddy_handle_remove, "rembuddy"},
    {YMSG_SVC_CHGRP_15, ON, buddy_handle_move, "chgrp_15"},
    {YMSG_SVC_GROUPRENAME, ON, buddy_handle_rename_group, "grouprename"},
    {YMSG_SVC_IGNORECONTACT, ON, buddy_handle_ignore, "ignorecontact"},
    {YMSG_SVC_AUTH_REQ_15, ON, buddy_handle_auth, "auth_req_15"},
    /* Chat rooms (chat.h, docs/CHAT_ROOMS.md). */
    {YMSG_SVC_CHATONLINE, ON, chat_handle_online, "chatonline"},
    {YMSG_SVC_CHATGOTO, ON, chat_handle_goto, "chatgoto"},
    {YMSG_SVC_CHATJOIN, ON, chat_handle_join, "chatjoin"},
    {YMSG_SVC_CHATLEAVE, ON, chat_handle_exit, "chatleave"},
    {YMSG_SVC_CHATEXIT, ON, chat_handle_exit, "chatexit"},
    {YMSG_SVC_CHATADDINVITE, ON, chat_handle_invite, "chataddinvite"},
    {YMSG_SVC_CHATLOGOUT, ON, chat_handle_logout, "chatlogout"},
    {YMSG_SVC_CHATPING, ON, chat_handle_ping, "chatping"},
    {YMSG_SVC_COMMENT, ON, chat_handle_comment, "comment"},
};
#undef PRE
#undef ON

const struct dispatch_entry *dispatch_lookup(uint16_t service, int state)
{
    uint8_t need;
    if (state == CONN_NEW || state == CONN_CHALLENGED) need = DISPATCH_PRELOGIN;
    else if (state == CONN_ONLINE) need = DISPATCH_ONLINE;
    else return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].service == service && table[i].need == need) return &table[i];
    return NULL;
}

void dispatch_packet(struct conn *c, const struct ymsg_packet *pkt)
{
    if (c->state >= CONN_CLOSING) return;
    metrics_packet_in(pkt->hdr.service, (size_t)YMSG_HEADER_LEN + pkt->hdr.length);
    int online = c->state == CONN_ONLINE;
    if (online && !sessions_take_token(c)) {
        /* Log the first drop and then every 1000th, so a flood cannot flood the log as well. */
        if (c->srv->dropped_flood++ % 1000 == 0)
            log_event(LOG_WARN, c->peer, c->user, "flood_dropped", pkt->hdr.service, "session_rate=%ld/s exceeded",
                      c->srv->cfg->session_rate);
        return;
    }
    const struct dispatch_entry *e = dispatch_lookup(pkt->hdr.service, c->state);
    if (e) {
        e->handler(c, pkt);
        return;
    }
    if (online) log_event(LOG_DEBUG, c->peer, c->user, "ignored_service", pkt->hdr.service, NULL);
    else log_event(LOG_DEBUG, c->peer, c->user[0] ? c->user : NULL, "dropped_before_login", pkt->hdr.service, NULL);
}
