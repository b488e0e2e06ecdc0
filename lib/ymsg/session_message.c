/* Client session: messages (§7.1, with de-duplication of re-sent ids), typing and buzz, system notices. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int seen_before(struct ymsg_session *s, const char *from, const char *id)
{
    uint64_t h = sess_fnv1a(sess_fnv1a(0xcbf29ce484222325ULL, from, 1) ^ 0x1f, id, 0) | 1; /* 0 marks an empty slot */
    for (size_t i = 0; i < SEEN_IDS; i++)
        if (s->seen[i] == h)
            return 1;
    s->seen[s->seen_next] = h;
    s->seen_next = (s->seen_next + 1) % SEEN_IDS;
    return 0;
}

/* One message of a 0x06 packet (offline batches hold several). */
struct msg_acc {
    int have_from;                /* key 4 (or 1) seen */
    char from[YMSG_ID_MAX];       /* sender */
    char to[YMSG_ID_MAX];         /* key 5 */
    const struct ymsg_kv *text;   /* key 14 (points into the packet) */
    struct ymsg_kv text_kv;       /* storage for text */
    long long time;               /* key 15 */
    int marker;                   /* key 31=6 started it */
    char id[24];                  /* key 429 */
    int have_err;                 /* key 16 */
};

static void msg_flush(struct ymsg_session *s, const struct ymsg_packet *pkt, struct msg_acc *m, int utf8)
{
    if (!m->have_from || !m->text) {
        memset(m, 0, sizeof *m);
        return;
    }
    int offline = pkt->hdr.status == YMSG_PKT_CONTINUED || m->marker;
    if (m->id[0]) {
        /* §7.1: ack so that a YM9 sender does not re-send it as an offline message; de-duplicate. */
        struct ymsg_builder b;
        sess_pkt_begin(s, &b, YMSG_SVC_MESSAGE_ACK, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
        ymsg_build_str(&b, YMSG_KEY_TO, m->from);
        ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "430");
        ymsg_build_str(&b, YMSG_KEY_ACK_MSG_ID, m->id);
        ymsg_build_str(&b, YMSG_KEY_LIST_END, "430");
        ymsg_build_str(&b, YMSG_KEY_MSG_450, "0");
        if (s->state == YMSG_SS_ONLINE)
            sess_pkt_send(s, &b);
        if (seen_before(s, m->from, m->id)) {
            sess_log(s, YMSG_LOG_DEBUG, "duplicate message %s from %s dropped", m->id, m->from);
            memset(m, 0, sizeof *m);
            return;
        }
    }
    char *text = sess_text_clean(m->text->val, m->text->len, utf8);
    int buzz = m->text->len == 6 && memcmp(m->text->val, "<ding>", 6) == 0;
    struct ymsg_event ev = {.type = buzz ? YMSG_EV_BUZZ : YMSG_EV_MESSAGE, .time = m->time,
                            .flags = offline ? YMSG_EVF_OFFLINE : 0, .service = pkt->hdr.service,
                            .status = pkt->hdr.status, .idle = -1};
    struct evstr str = {.who = m->from, .to = m->to[0] ? m->to : s->user, .text = text ? text : ""};
    sess_ev_push(s, &ev, &str);
    free(text);
    memset(m, 0, sizeof *m);
}

void sess_on_message(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    int utf8 = 0;
    struct ymsg_kv kv;
    if (ymsg_get(pkt, YMSG_KEY_UTF8, &kv) == 0 && sess_kv_is(&kv, "1"))
        utf8 = 1;
    if (pkt->hdr.status == YMSG_PKT_NOTSENT || pkt->hdr.status == YMSG_PKT_ERROR) {
        char who[YMSG_ID_MAX] = "", text[512] = "";
        if (ymsg_get(pkt, YMSG_KEY_TO, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_FROM, &kv) == 0)
            sess_kv_id(&kv, who);
        if (ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0)
            sess_text_clean_into(&kv, utf8, text, sizeof text);
        struct ymsg_event ev = {.type = pkt->hdr.status == YMSG_PKT_NOTSENT ? YMSG_EV_NOT_SENT : YMSG_EV_SYSTEM,
                                .status = pkt->hdr.status, .service = pkt->hdr.service, .idle = -1};
        struct evstr str = {.who = who, .text = text[0] ? text : "message not sent"};
        sess_ev_push(s, &ev, &str);
        return;
    }
    struct msg_acc m;
    memset(&m, 0, sizeof m);
    size_t pos = 0;
    while (ymsg_next(pkt, &pos, &kv)) {
        switch (kv.key) {
        case YMSG_KEY_STEALTH_VAL: /* 31=6 starts a message of an offline batch */
            if (m.have_from && m.text)
                msg_flush(s, pkt, &m, utf8);
            m.marker = 1;
            break;
        case YMSG_KEY_FROM:
            if (m.have_from && m.text)
                msg_flush(s, pkt, &m, utf8);
            if (sess_kv_id(&kv, m.from))
                m.have_from = 1;
            break;
        case YMSG_KEY_ACTIVE_ID:
            if (!m.have_from && sess_kv_id(&kv, m.from))
                m.have_from = 1;
            break;
        case YMSG_KEY_TO: sess_kv_id(&kv, m.to); break;
        case YMSG_KEY_MSG: m.text_kv = kv; m.text = &m.text_kv; break;
        case YMSG_KEY_TIME: m.time = sess_kv_int(&kv, 0); break;
        case YMSG_KEY_MSG_ID:
            if (kv.len < sizeof m.id)
                sess_kv_copy(&kv, m.id, sizeof m.id);
            break;
        case YMSG_KEY_ERR_MSG: m.have_err = 1; break;
        default:
            break;
        }
    }
    msg_flush(s, pkt, &m, utf8);
}

void sess_on_notify(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char who[YMSG_ID_MAX] = "";
    if ((ymsg_get(pkt, YMSG_KEY_FROM, &kv) != 0 && ymsg_get(pkt, YMSG_KEY_ACTIVE_ID, &kv) != 0) || !sess_kv_id(&kv, who))
        return;
    if (ymsg_get(pkt, YMSG_KEY_NOTIFY_TYPE, &kv) != 0 || !(kv.len == 6 && strncasecmp((const char *)kv.val, "TYPING", 6) == 0)) {
        sess_log(s, YMSG_LOG_DEBUG, "notify from %s of another type ignored", who);
        return;
    }
    long long on = 0;
    ymsg_get_int(pkt, YMSG_KEY_FLAG, &on);
    struct ymsg_event ev = {.type = YMSG_EV_TYPING, .on = on == 1, .service = pkt->hdr.service, .idle = -1};
    struct evstr str = {.who = who};
    sess_ev_push(s, &ev, &str);
}

void sess_on_system(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char text[1024] = "";
    int utf8 = ymsg_count(pkt, YMSG_KEY_UTF8) > 0;
    if (pkt->hdr.service == YMSG_SVC_NEWMAIL) {
        long long n = 0;
        if (ymsg_get_int(pkt, YMSG_KEY_MAIL_COUNT, &n) != 0)
            return;
        snprintf(text, sizeof text, "%lld unread mail", n);
    } else if (ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0) {
        sess_text_clean_into(&kv, utf8, text, sizeof text);
    } else {
        return;
    }
    struct ymsg_event ev = {.type = YMSG_EV_SYSTEM, .service = pkt->hdr.service, .status = pkt->hdr.status,
                            .idle = -1};
    struct evstr str = {.text = text};
    sess_ev_push(s, &ev, &str);
}

static int send_im(struct ymsg_session *s, const char *to, const char *text)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(to) || !sess_valid_text(text, 8000))
        return YMSG_EINVAL;
    char id[17];
    snprintf(id, sizeof id, "%08X%08X", s->session_id, (unsigned)(++s->msg_counter & 0xFFFFFFFFu));
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_TO, to);
    ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
    ymsg_build_str(&b, YMSG_KEY_MSG, text);
    ymsg_build_str(&b, YMSG_KEY_IMV, ";0");
    ymsg_build_str(&b, YMSG_KEY_IMV_FLAG, "0");
    ymsg_build_str(&b, YMSG_KEY_Y6_MARKER, "1");
    ymsg_build_str(&b, YMSG_KEY_IMAGE_TYPE, "0");
    ymsg_build_str(&b, YMSG_KEY_MSG_ID, id);
    ymsg_build_str(&b, YMSG_KEY_MSG_450, "0");
    return sess_pkt_send(s, &b);
}

int ymsg_session_send_message(struct ymsg_session *s, const char *to, const char *utf8_text)
{
    if (!utf8_text || !utf8_text[0] || !sess_utf8_valid((const uint8_t *)utf8_text, strlen(utf8_text)))
        return YMSG_EINVAL;
    return send_im(s, to, utf8_text);
}

int ymsg_session_buzz(struct ymsg_session *s, const char *to) { return send_im(s, to, "<ding>"); }

int ymsg_session_typing(struct ymsg_session *s, const char *to, int on)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(to))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_NOTIFY, YMSG_STATUS_NOTIFY);
    ymsg_build_str(&b, YMSG_KEY_NOTIFY_TYPE, "TYPING");
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_MSG, " ");
    ymsg_build_str(&b, YMSG_KEY_FLAG, on ? "1" : "0");
    ymsg_build_str(&b, YMSG_KEY_TO, to);
    ymsg_build_str(&b, YMSG_KEY_Y6_MARKER, "1");
    return sess_pkt_send(s, &b);
}
