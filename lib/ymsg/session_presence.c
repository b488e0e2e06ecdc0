/* Client session: presence (§7) -- STATUS_15 entries (possibly split across packets), old-style
 * 0x01..0x04 presence, and setting our own status. */
#include "session_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void pres_flush(struct ymsg_session *s, struct pres_acc *p)
{
    if (!p->have_id)
        return;
    if (strcasecmp(p->id, s->user) == 0) { /* our own status echoed back */
        memset(p, 0, sizeof *p);
        p->idle = -1;
        return;
    }
    int online = 1;
    uint32_t status;
    if (p->have_status)
        status = (uint32_t)p->status;
    else if (p->service == YMSG_SVC_ISAWAY || p->service == YMSG_SVC_ISBACK)
        status = p->hdr_status; /* old clients' servers carry the code in the header */
    else
        status = YMSG_STATUS_AVAILABLE;
    if (p->service == YMSG_SVC_LOGOFF || (p->have13 && p->flag13 == 0) || status == YMSG_STATUS_OFFLINE ||
        status == 0xFFFFFFFFu)
        online = 0;
    struct ymsg_buddy *b = (struct ymsg_buddy *)ymsg_session_find_buddy(s, p->id);
    if (b) {
        b->online = (uint8_t)online;
        if (online) {
            b->status = status;
            if (p->have_msg || p->have_status)
                snprintf(b->msg, sizeof b->msg, "%s", p->have_msg ? p->msg : "");
            b->away = (uint8_t)p->away;
            b->idle = p->idle;
        } else {
            b->msg[0] = 0;
            b->idle = -1;
        }
    }
    struct ymsg_event ev = {.type = YMSG_EV_PRESENCE, .on = online, .status = online ? status : YMSG_STATUS_OFFLINE,
                            .service = p->service, .away = p->away, .idle = p->idle};
    struct evstr str = {.who = p->id, .text = online && p->have_msg ? p->msg : ""};
    sess_ev_push(s, &ev, &str);
    memset(p, 0, sizeof *p);
    p->idle = -1;
}

void sess_on_presence(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    uint32_t svc = pkt->hdr.service;
    if (svc == YMSG_SVC_LOGOFF && pkt->hdr.status == YMSG_PKT_ERROR && ymsg_count(pkt, YMSG_KEY_BUDDY) == 0) {
        long long code = YMSG_AUTH_DUPLICATE_LOGIN;
        ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &code);
        sess_ev_simple(s, YMSG_EV_KICKED, (int)code, "signed in from another location");
        sess_fail(s, 0, "signed in from another location");
        return;
    }
    if (svc == YMSG_SVC_LOGOFF && s->state != YMSG_SS_ONLINE && ymsg_count(pkt, YMSG_KEY_BUDDY) == 0) {
        sess_fail(s, 0, "logged off by the server");
        return;
    }
    /* libyahoo2: a status packet before the list also means the login is through; say so before the
     * presence it carries. */
    if (s->state == YMSG_SS_AUTHRESP && (svc == YMSG_SVC_STATUS_15 || svc == YMSG_SVC_LOGON))
        sess_logged_in(s);
    /* A STATUS_15 entry may have been cut by the previous packet (status 5). */
    struct pres_acc *p = &s->half;
    if (!(svc == YMSG_SVC_STATUS_15 && s->status15_more)) {
        pres_flush(s, p);
        memset(p, 0, sizeof *p);
        p->idle = -1;
    }
    int utf8 = ymsg_count(pkt, YMSG_KEY_UTF8) > 0;
    struct ymsg_kv kv;
    size_t pos = 0;
    while (ymsg_next(pkt, &pos, &kv)) {
        switch (kv.key) {
        case YMSG_KEY_BUDDY:
            pres_flush(s, p);
            if (sess_kv_id(&kv, p->id)) {
                p->have_id = 1;
                p->service = svc;
                p->hdr_status = pkt->hdr.status;
            }
            break;
        case YMSG_KEY_STATUS: p->have_status = 1; p->status = sess_kv_int(&kv, 0); break;
        case YMSG_KEY_CUSTOM_MSG: p->have_msg = 1; sess_text_clean_into(&kv, utf8, p->msg, sizeof p->msg); break;
        case YMSG_KEY_AWAY: p->away = (int)sess_kv_int(&kv, 0); break;
        case YMSG_KEY_FLAG: p->have13 = 1; p->flag13 = sess_kv_int(&kv, 1); break;
        case YMSG_KEY_IDLE_TIME: p->idle = sess_kv_int(&kv, -1); break;
        case YMSG_KEY_ENTRY_END: pres_flush(s, p); break;
        case YMSG_KEY_LIST_BEGIN: case YMSG_KEY_LIST_END: case YMSG_KEY_ENTRY_BEGIN:
        case YMSG_KEY_LOGIN_ID: case YMSG_KEY_ACTIVE_ID: case YMSG_KEY_NUM_ONLINE: case YMSG_KEY_SESSION_ID:
        case YMSG_KEY_IN_CHAT: case YMSG_KEY_UTF8: case YMSG_KEY_NOT_IDLE: case YMSG_KEY_CLIENT_ID:
        case YMSG_KEY_ICON_CHECKSUM: case YMSG_KEY_FEDERATION:
            break;
        default:
            sess_log(s, YMSG_LOG_DEBUG, "%s: key %u kept unhandled", ymsg_service_name(svc), kv.key);
        }
    }
    s->status15_more = svc == YMSG_SVC_STATUS_15 && pkt->hdr.status == YMSG_PKT_CONTINUED;
    if (!s->status15_more)
        pres_flush(s, p);
}

int sess_status_update(struct ymsg_session *s, uint32_t status, const char *msg, int away)
{
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_Y6_STATUS_UPDATE, 0);
    ymsg_build_int(&b, YMSG_KEY_STATUS, status);
    ymsg_build_str(&b, YMSG_KEY_CUSTOM_MSG, status == YMSG_STATUS_CUSTOM && msg ? msg : "");
    ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
    ymsg_build_int(&b, YMSG_KEY_AWAY, status == YMSG_STATUS_IDLE ? 2 : status == YMSG_STATUS_CUSTOM ? away
                                      : status == YMSG_STATUS_AVAILABLE ? 0 : 1);
    return sess_pkt_send(s, &b);
}

int sess_send_visible(struct ymsg_session *s, int visible)
{
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_Y6_VISIBLE_TOGGLE, 0);
    ymsg_build_str(&b, YMSG_KEY_FLAG, visible ? "1" : "2");
    return sess_pkt_send(s, &b);
}

int ymsg_session_set_status(struct ymsg_session *s, uint32_t status, const char *msg, int away)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!(status <= YMSG_STATUS_STEPPEDOUT || status == YMSG_STATUS_INVISIBLE || status == YMSG_STATUS_CUSTOM ||
          status == YMSG_STATUS_IDLE) || !sess_valid_text(msg, YMSG_STATUS_MSG_MAX - 1) || away < 0 || away > 2)
        return YMSG_EINVAL;
    if (status == YMSG_STATUS_INVISIBLE) {
        r = sess_send_visible(s, 0);
        if (r == 0)
            s->my_status = status;
        return r;
    }
    r = sess_status_update(s, status, msg, away);
    if (r == 0 && s->my_status == YMSG_STATUS_INVISIBLE)
        r = sess_send_visible(s, 1);
    if (r == 0)
        s->my_status = status;
    return r;
}
