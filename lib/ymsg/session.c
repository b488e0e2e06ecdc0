/* Sans-IO YMSG16 client session: token login (§5.1), roster (§6), messages, typing, buzz, presence
 * (§7) and keepalives, driven by bytes in / bytes out / tick(now) / events.  See the session section of
 * include/ymsg/ymsg.h for the driver contract.
 *
 * Tolerance is deliberate: the session accepts both LIST_15 end conventions (status 0, 303=318),
 * multi-packet replies (status 5), STATUS_15 entries split across packets (like libyahoo2's half_user),
 * old-style presence (0x01/0x02/0x03/0x04), the old 0x55 buddy list, session ids that change, unknown
 * services and keys (logged at debug level), and malformed packets (skipped, not fatal).
 *
 * This file is the core: create/free, bytes in (feed, dispatch by service), events, bytes out, timers.
 * The handlers live beside it by concern; session_internal.h lists them. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------
 * events
 * ---------------------------------------------------------------------------------------------- */
static const char *const ev_names[] = {
    [YMSG_EV_HTTP_GET] = "http_get", [YMSG_EV_LOGGED_IN] = "logged_in",
    [YMSG_EV_LOGIN_FAILED] = "login_failed", [YMSG_EV_BUDDY_LIST] = "buddy_list",
    [YMSG_EV_PRESENCE] = "presence", [YMSG_EV_MESSAGE] = "message", [YMSG_EV_BUZZ] = "buzz",
    [YMSG_EV_TYPING] = "typing", [YMSG_EV_AUTH_REQUEST] = "auth_request",
    [YMSG_EV_AUTH_ANSWER] = "auth_answer", [YMSG_EV_LIST_ACK] = "list_ack",
    [YMSG_EV_NOT_SENT] = "not_sent", [YMSG_EV_SYSTEM] = "system", [YMSG_EV_KICKED] = "kicked",
    [YMSG_EV_DISCONNECTED] = "disconnected",
    [YMSG_EV_CONF_INVITE] = "conf_invite", [YMSG_EV_CONF_JOIN] = "conf_join",
    [YMSG_EV_CONF_LEAVE] = "conf_leave", [YMSG_EV_CONF_DECLINE] = "conf_decline",
    [YMSG_EV_CONF_MESSAGE] = "conf_message", [YMSG_EV_CONF_FAILED] = "conf_failed",
    [YMSG_EV_ROOM_JOINED] = "room_joined", [YMSG_EV_ROOM_FAILED] = "room_failed",
    [YMSG_EV_ROOM_ENTER] = "room_enter", [YMSG_EV_ROOM_EXIT] = "room_exit",
    [YMSG_EV_ROOM_MESSAGE] = "room_message", [YMSG_EV_ROOM_INVITE] = "room_invite",
    [YMSG_EV_ROOM_LOGOUT] = "room_logout", [YMSG_EV_FILE_OFFER] = "file_offer",
    [YMSG_EV_FILE_UPLOAD] = "file_upload", [YMSG_EV_FILE_DOWNLOAD] = "file_download",
    [YMSG_EV_FILE_DECLINED] = "file_declined", [YMSG_EV_FILE_CANCELLED] = "file_cancelled",
    [YMSG_EV_FILE_DONE] = "file_done",
};

const char *ymsg_event_type_name(enum ymsg_event_type type)
{
    if ((unsigned)type < sizeof ev_names / sizeof ev_names[0] && ev_names[type])
        return ev_names[type];
    return "unknown";
}

void sess_ev_push(struct ymsg_session *s, const struct ymsg_event *proto, const struct evstr *str)
{
    static const struct evstr none;
    if (!str)
        str = &none;
    enum { NSTR = 8 };
    const char *src[NSTR] = {str->who, str->to, str->text, str->group, str->group2, str->room, str->list, str->xfer};
    size_t lens[NSTR], total = 0;
    for (int i = 0; i < NSTR; i++) {
        lens[i] = src[i] ? strlen(src[i]) : 0;
        total += lens[i] + 1;
    }
    if (s->ev_count >= s->cfg.max_events) {
        s->stats.events_dropped++;
        sess_log(s, YMSG_LOG_WARN, "event queue full (%zu): dropped a %s event", s->ev_count,
             ymsg_event_type_name(proto->type));
        return;
    }
    struct sev *e = malloc(sizeof *e + total);
    if (!e) {
        s->stats.events_dropped++;
        s->nomem = 1;
        sess_log(s, YMSG_LOG_ERROR, "out of memory: dropped a %s event", ymsg_event_type_name(proto->type));
        return;
    }
    e->ev = *proto;
    char *p = e->data;
    const char **dst[NSTR] = {&e->ev.who, &e->ev.to, &e->ev.text, &e->ev.group, &e->ev.group2,
                              &e->ev.room, &e->ev.list, &e->ev.xfer};
    for (int i = 0; i < NSTR; i++) {
        if (lens[i])
            memcpy(p, src[i], lens[i]);
        p[lens[i]] = 0;
        *dst[i] = p;
        p += lens[i] + 1;
    }
    s->evq[(s->ev_head + s->ev_count) % s->cfg.max_events] = e;
    s->ev_count++;
    s->stats.events++;
}

void sess_ev_simple(struct ymsg_session *s, enum ymsg_event_type type, int code, const char *text)
{
    struct ymsg_event ev = {.type = type, .code = code, .idle = -1};
    struct evstr str = {.text = text};
    sess_ev_push(s, &ev, &str);
}

const struct ymsg_event *ymsg_session_next_event(struct ymsg_session *s)
{
    free(s->ev_cur);
    s->ev_cur = NULL;
    if (s->ev_count == 0)
        return NULL;
    s->ev_cur = s->evq[s->ev_head];
    s->ev_head = (s->ev_head + 1) % s->cfg.max_events;
    s->ev_count--;
    return &s->ev_cur->ev;
}

void sess_nomem(struct ymsg_session *s, const char *what, const char *which)
{
    s->nomem = 1;
    s->stats.capped++;
    sess_log(s, YMSG_LOG_ERROR, "out of memory: %s %s not kept", what, which);
}

/* Closing: one DISCONNECTED event, state CLOSED, timers off. */
void sess_fail(struct ymsg_session *s, int code, const char *reason)
{
    if (s->state == YMSG_SS_CLOSED)
        return;
    s->state = YMSG_SS_CLOSED;
    s->next_keepalive = s->next_ping = 0;
    sess_log(s, YMSG_LOG_INFO, "session closed: %s", reason);
    sess_ev_simple(s, YMSG_EV_DISCONNECTED, code, reason);
}

/* ------------------------------------------------------------------------------------------------
 * output
 * ---------------------------------------------------------------------------------------------- */
void sess_pkt_begin(struct ymsg_session *s, struct ymsg_builder *b, uint16_t service, uint32_t status)
{
    ymsg_builder_init(b, s->scratch, SCRATCH_CAP);
    ymsg_build_begin(b, service, status, s->session_id);
}

int sess_pkt_send(struct ymsg_session *s, struct ymsg_builder *b)
{
    ssize_t n = ymsg_build_end(b);
    if (n < 0)
        return (int)n;
    if (s->out_off > 0 && s->out_len + (size_t)n > s->cfg.max_outbuf) {
        memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
        s->out_len -= s->out_off;
        s->out_off = 0;
    }
    if (s->out_len + (size_t)n > s->cfg.max_outbuf) {
        sess_log(s, YMSG_LOG_WARN, "output buffer full (%zu bytes pending)", s->out_len - s->out_off);
        return YMSG_ENOSPC;
    }
    if (s->cfg.on_packet) {
        struct ymsg_packet pkt;
        if (ymsg_decode(s->scratch, (size_t)n, NULL, &pkt, NULL) > 0)
            s->cfg.on_packet(s->cfg.packet_ud, 1, &pkt);
    }
    memcpy(s->out + s->out_len, s->scratch, (size_t)n);
    s->out_len += (size_t)n;
    s->stats.packets_out++;
    return 0;
}

size_t ymsg_session_output(struct ymsg_session *s, const uint8_t **out)
{
    *out = s->out + s->out_off;
    return s->out_len - s->out_off;
}

void ymsg_session_consume(struct ymsg_session *s, size_t n)
{
    size_t pending = s->out_len - s->out_off;
    if (n > pending)
        n = pending;
    s->out_off += n;
    if (s->out_off == s->out_len)
        s->out_off = s->out_len = 0;
}

/* ------------------------------------------------------------------------------------------------
 * incoming packets: dispatch by service to the handlers (session_*.c)
 * ---------------------------------------------------------------------------------------------- */
static void handle_packet(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    s->stats.packets_in++;
    if (s->cfg.on_packet)
        s->cfg.on_packet(s->cfg.packet_ud, 0, pkt);
    if (pkt->hdr.session && pkt->hdr.session != s->session_id) {
        if (s->session_id)
            sess_log(s, YMSG_LOG_DEBUG, "session id changed %08x -> %08x", s->session_id, pkt->hdr.session);
        s->session_id = pkt->hdr.session; /* §1.4: the server may change it; use the new one */
    }
    uint32_t svc = pkt->hdr.service;
    if (s->state == YMSG_SS_CLOSED)
        return;
    /* Before the token step only 0x57 and failures make sense; the rest waits for the login. */
    switch (svc) {
    case YMSG_SVC_AUTH: sess_on_auth(s, pkt); return;
    case YMSG_SVC_AUTHRESP: sess_on_authresp(s, pkt); return;
    case YMSG_SVC_DISCONNECT: {
        char text[256] = "server closed the session";
        struct ymsg_kv kv;
        if (ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0)
            sess_text_clean_into(&kv, 1, text, sizeof text);
        sess_fail(s, YMSG_EPROTO, text);
        return;
    }
    default:
        break;
    }
    if (s->state != YMSG_SS_AUTHRESP && s->state != YMSG_SS_ONLINE) {
        sess_log(s, YMSG_LOG_DEBUG, "service 0x%x before login ignored", svc);
        return;
    }
    switch (svc) {
    case YMSG_SVC_LIST_15: sess_on_list15(s, pkt); break;
    case YMSG_SVC_LIST: sess_on_list55(s, pkt); break;
    case YMSG_SVC_STATUS_15: case YMSG_SVC_Y6_STATUS_UPDATE: case YMSG_SVC_LOGON: case YMSG_SVC_LOGOFF:
    case YMSG_SVC_ISAWAY: case YMSG_SVC_ISBACK: case YMSG_SVC_USERSTAT: case YMSG_SVC_IDACT:
    case YMSG_SVC_IDDEACT:
        sess_on_presence(s, pkt);
        break;
    case YMSG_SVC_MESSAGE: sess_on_message(s, pkt); break;
    case YMSG_SVC_NOTIFY: sess_on_notify(s, pkt); break;
    case YMSG_SVC_AUTH_REQ_15: case YMSG_SVC_NEWCONTACT: sess_on_auth_req(s, pkt); break;
    case YMSG_SVC_ADDBUDDY: case YMSG_SVC_REMBUDDY: case YMSG_SVC_IGNORECONTACT: case YMSG_SVC_GROUPRENAME:
    case YMSG_SVC_CHGRP_15:
        sess_on_list_ack(s, pkt);
        break;
    case YMSG_SVC_SYSMESSAGE: case YMSG_SVC_NEWMAIL: sess_on_system(s, pkt); break;
    case YMSG_SVC_CONFINVITE: case YMSG_SVC_CONFLOGON: case YMSG_SVC_CONFDECLINE: case YMSG_SVC_CONFLOGOFF:
    case YMSG_SVC_CONFADDINVITE: case YMSG_SVC_CONFMSG:
        sess_on_conf(s, pkt);
        break;
    case YMSG_SVC_CHATONLINE: case YMSG_SVC_CHATGOTO: case YMSG_SVC_CHATJOIN: case YMSG_SVC_CHATLEAVE:
    case YMSG_SVC_CHATEXIT: case YMSG_SVC_CHATADDINVITE: case YMSG_SVC_CHATLOGOUT: case YMSG_SVC_CHATPING:
    case YMSG_SVC_COMMENT:
        sess_on_chat(s, pkt);
        break;
    case YMSG_SVC_FILETRANS_15: case YMSG_SVC_FILETRANS_INFO_15: case YMSG_SVC_FILETRANS_ACC_15:
        sess_on_xfer(s, pkt);
        break;
    case YMSG_SVC_PING: case YMSG_SVC_KEEPALIVE: case YMSG_SVC_VERIFY: case YMSG_SVC_MESSAGE_ACK:
        break;
    default:
        if (!ymsg_service_name(svc))
            s->stats.unknown_services++;
        sess_log(s, YMSG_LOG_DEBUG, "service 0x%x (%s) status %u not handled", svc,
             ymsg_service_name(svc) ? ymsg_service_name(svc) : "unknown", pkt->hdr.status);
    }
}

int ymsg_session_feed(struct ymsg_session *s, const uint8_t *buf, size_t len)
{
    s->nomem = 0;
    while (len > 0 && s->state != YMSG_SS_CLOSED) {
        size_t room = s->cfg.max_inbuf - s->in_len;
        size_t n = len < room ? len : room;
        memcpy(s->in + s->in_len, buf, n);
        s->in_len += n;
        buf += n;
        len -= n;
        size_t pos = 0;
        while (pos < s->in_len && s->state != YMSG_SS_CLOSED) {
            if (s->skip) {
                size_t d = s->in_len - pos < s->skip ? s->in_len - pos : s->skip;
                pos += d;
                s->skip -= d;
                continue;
            }
            struct ymsg_packet pkt;
            size_t err_off = 0;
            ssize_t r = ymsg_decode(s->in + pos, s->in_len - pos, &s->lim, &pkt, &err_off);
            if (r > 0) {
                handle_packet(s, &pkt);
                pos += (size_t)r;
            } else if (r == YMSG_EAGAIN) {
                break;
            } else if (r == YMSG_EMAGIC) {
                size_t off = ymsg_resync(s->in + pos, s->in_len - pos);
                if (off == 0)
                    off = 1;
                s->stats.resyncs++;
                sess_log(s, YMSG_LOG_WARN, "bad magic: skipped %zu bytes to resync", off);
                pos += off;
            } else {
                struct ymsg_header h;
                size_t total = YMSG_HEADER_LEN;
                if (ymsg_header_decode(s->in + pos, s->in_len - pos, &h) == YMSG_HEADER_LEN)
                    total += h.length;
                s->stats.bad_packets++;
                sess_log(s, YMSG_LOG_WARN, "malformed packet (service 0x%x): %s; skipped", h.service,
                     ymsg_strerror((int)r));
                if (total <= s->in_len - pos) {
                    pos += total;
                } else {
                    s->skip = total - (s->in_len - pos);
                    pos = s->in_len;
                }
            }
        }
        memmove(s->in, s->in + pos, s->in_len - pos);
        s->in_len -= pos;
        if (s->in_len == s->cfg.max_inbuf) { /* cannot happen with a cap >= one packet; be safe */
            sess_fail(s, YMSG_ETOOBIG, "input buffer overflow");
            return YMSG_ETOOBIG;
        }
    }
    return s->state == YMSG_SS_CLOSED ? YMSG_ESTATE : s->nomem ? YMSG_ENOMEM : 0;
}

/* ------------------------------------------------------------------------------------------------
 * lifecycle, timers
 * ---------------------------------------------------------------------------------------------- */
void ymsg_session_config_default(struct ymsg_session_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->initial_status = YMSG_STATUS_AVAILABLE;
    cfg->login_url = "https://login.yahoo.com";
    cfg->locale = "us";
    cfg->client_version = "9.0.0.2162";
    cfg->max_inbuf = 256 * 1024;
    cfg->max_outbuf = 256 * 1024;
    cfg->max_events = 4096;
    cfg->max_buddies = 5000;
    cfg->max_groups = 500;
    cfg->max_ignored = 1000;
    cfg->max_requests = 100;
    cfg->max_list_text = 256 * 1024;
    cfg->max_http_body = 64 * 1024;
    cfg->keepalive_ms = 60000;
    cfg->ping_ms = 3600000;
    cfg->login_timeout_ms = 60000;
    cfg->max_confs = 16;
    cfg->max_conf_members = 100;
    cfg->max_room_members = 1000;
    cfg->max_xfers = 16;
    cfg->relay_host = "relay.msg.yahoo.com";
    cfg->log_level = YMSG_LOG_INFO;
}

struct ymsg_session *ymsg_session_new(const struct ymsg_session_config *cfg)
{
    if (!cfg || !cfg->user || !cfg->password || !cfg->user[0] || strlen(cfg->user) >= YMSG_ID_MAX ||
        cfg->max_inbuf < MIN_INBUF || cfg->max_outbuf < 1024 || cfg->max_events < 1 ||
        (cfg->initial_status != YMSG_STATUS_AVAILABLE && cfg->initial_status != YMSG_STATUS_INVISIBLE &&
         cfg->initial_status != YMSG_STATUS_CUSTOM && cfg->initial_status != YMSG_STATUS_IDLE &&
         cfg->initial_status > YMSG_STATUS_STEPPEDOUT) ||
        !sess_valid_text(cfg->initial_msg, YMSG_STATUS_MSG_MAX - 1) || cfg->initial_away < 0 || cfg->initial_away > 1)
        return NULL;
    struct ymsg_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    snprintf(s->user, sizeof s->user, "%s", cfg->user);
    sess_lower(s->user);
    s->password = strdup(cfg->password);
    s->login_url = strdup(cfg->login_url ? cfg->login_url : "https://login.yahoo.com");
    snprintf(s->locale, sizeof s->locale, "%s", cfg->locale ? cfg->locale : "us");
    snprintf(s->client_version, sizeof s->client_version, "%s", cfg->client_version ? cfg->client_version : "9.0.0.2162");
    s->cfg.user = s->user;
    s->cfg.password = NULL;
    s->cfg.login_url = s->login_url;
    s->cfg.locale = s->locale;
    s->cfg.client_version = s->client_version;
    s->in = malloc(cfg->max_inbuf);
    s->out = malloc(cfg->max_outbuf);
    s->scratch = malloc(SCRATCH_CAP);
    s->evq = calloc(cfg->max_events, sizeof *s->evq);
    s->requests = cfg->max_requests ? calloc(cfg->max_requests, sizeof *s->requests) : NULL;
    if ((cfg->max_requests && !s->requests) || !s->password || !s->login_url || !s->in || !s->out || !s->scratch || !s->evq ||
        sess_multi_init(s) != 0) {
        ymsg_session_free(s);
        return NULL;
    }
    size_t ul = strlen(s->login_url); /* "http://h:p/" and "http://h:p" mean the same */
    while (ul > 0 && s->login_url[ul - 1] == '/')
        s->login_url[--ul] = 0;
    dynarr_init(&s->buddies, sizeof(struct ymsg_buddy), cfg->max_buddies);
    dynarr_init(&s->groups, sizeof(sess_group_name), cfg->max_groups);
    dynarr_init(&s->ignored, sizeof(sess_id), cfg->max_ignored);
    /* the text cap counts its NUL, as it always did */
    dynbuf_init(&s->l87, cfg->max_list_text ? cfg->max_list_text - 1 : 0);
    dynbuf_init(&s->l88, cfg->max_list_text ? cfg->max_list_text - 1 : 0);
    ymsg_limits_default(&s->lim);
    s->my_status = cfg->initial_status;
    snprintf(s->initial_msg, sizeof s->initial_msg, "%s", cfg->initial_msg ? cfg->initial_msg : "");
    s->cfg.initial_msg = s->initial_msg;
    s->half.idle = -1;
    return s;
}

void ymsg_session_free(struct ymsg_session *s)
{
    if (!s)
        return;
    if (s->password) {
        volatile char *p = s->password;
        while (*p)
            *p++ = 0;
        free(s->password);
    }
    free(s->login_url);
    free(s->in);
    free(s->out);
    free(s->scratch);
    if (s->evq) {
        for (size_t i = 0; i < s->ev_count; i++)
            free(s->evq[(s->ev_head + i) % s->cfg.max_events]);
        free(s->evq);
    }
    free(s->ev_cur);
    dynarr_free(&s->buddies);
    free(s->bidx);
    free(s->old_buddies);
    dynarr_free(&s->groups);
    dynarr_free(&s->ignored);
    free(s->requests);
    sess_multi_free(s);
    dynbuf_free(&s->l87);
    dynbuf_free(&s->l88);
    memset(s->crumb, 0, sizeof s->crumb);
    free(s);
}

int ymsg_session_start(struct ymsg_session *s, uint64_t now_ms)
{
    if (s->started)
        return YMSG_ESTATE;
    s->started = 1;
    s->now = now_ms;
    s->login_deadline = now_ms + s->cfg.login_timeout_ms;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_AUTH, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    int r = sess_pkt_send(s, &b);
    if (r < 0)
        return r;
    s->state = YMSG_SS_AUTH;
    return 0;
}

int ymsg_session_tick(struct ymsg_session *s, uint64_t now_ms)
{
    s->now = now_ms;
    if (s->state == YMSG_SS_CLOSED || !s->started)
        return 0;
    if (s->state != YMSG_SS_ONLINE) {
        if (now_ms >= s->login_deadline)
            sess_login_failed(s, YMSG_ESTATE, "login timed out", YMSG_EVF_NETWORK);
        return 0;
    }
    struct ymsg_builder b;
    if (s->next_keepalive && now_ms >= s->next_keepalive) {
        sess_pkt_begin(s, &b, YMSG_SVC_KEEPALIVE, 0);
        ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, s->user);
        sess_pkt_send(s, &b);
        s->next_keepalive = now_ms + s->cfg.keepalive_ms;
    }
    if (s->next_ping && now_ms >= s->next_ping) {
        sess_send_ping(s);
        s->next_ping = now_ms + s->cfg.ping_ms;
    }
    return 0;
}

uint64_t ymsg_session_timeout(const struct ymsg_session *s, uint64_t now_ms)
{
    uint64_t due = UINT64_MAX;
    if (s->state == YMSG_SS_CLOSED || !s->started)
        return UINT64_MAX;
    if (s->state != YMSG_SS_ONLINE)
        due = s->login_deadline;
    else {
        if (s->next_keepalive && s->next_keepalive < due)
            due = s->next_keepalive;
        if (s->next_ping && s->next_ping < due)
            due = s->next_ping;
    }
    return due <= now_ms ? 0 : due - now_ms;
}

void ymsg_session_close(struct ymsg_session *s, const char *reason)
{
    sess_fail(s, YMSG_EPROTO, reason && reason[0] ? reason : "connection closed");
}

enum ymsg_session_state ymsg_session_state(const struct ymsg_session *s) { return s->state; }
uint32_t ymsg_session_id(const struct ymsg_session *s) { return s->session_id; }
const char *ymsg_session_user(const struct ymsg_session *s) { return s->user; }
uint32_t ymsg_session_my_status(const struct ymsg_session *s) { return s->my_status; }
void ymsg_session_get_stats(const struct ymsg_session *s, struct ymsg_session_stats *st) { *st = s->stats; }

/* ------------------------------------------------------------------------------------------------
 * commands (the rest are in session_roster.c, session_presence.c, session_message.c)
 * ---------------------------------------------------------------------------------------------- */
int sess_need_online(const struct ymsg_session *s)
{
    return s->state == YMSG_SS_ONLINE ? 0 : YMSG_ESTATE;
}

int ymsg_session_logoff(struct ymsg_session *s)
{
    if (s->state == YMSG_SS_CLOSED || s->state == YMSG_SS_IDLE)
        return YMSG_ESTATE;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_LOGOFF, 0);
    ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, s->user);
    int r = sess_pkt_send(s, &b);
    sess_fail(s, 0, "logged off");
    return r;
}

int ymsg_session_send_raw(struct ymsg_session *s, const uint8_t *buf, size_t len)
{
    if (s->state == YMSG_SS_CLOSED)
        return YMSG_ESTATE;
    struct ymsg_packet pkt;
    if (!buf || len > SCRATCH_CAP || ymsg_decode(buf, len, NULL, &pkt, NULL) != (ssize_t)len)
        return YMSG_EINVAL;
    struct ymsg_builder b;
    ymsg_builder_init(&b, s->scratch, SCRATCH_CAP);
    b.version = pkt.hdr.version;
    b.vendor = pkt.hdr.vendor;
    ymsg_build_begin(&b, pkt.hdr.service, pkt.hdr.status, s->session_id);
    ymsg_build_pairs(&b, &pkt);
    return sess_pkt_send(s, &b);
}
