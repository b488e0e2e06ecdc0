/* Client session: conferences (0x18-0x1D) and chat rooms (0x96-0xA8).
 *
 * The packets we build carry exactly the keys, in the order, of the real clients (docs/CLIENT_PROTOCOL.md
 * lists them with their source functions): conference create = libyahoo2 yahoo_conference_invite,
 * add-invite / join / decline / leave / message = libpurple yahoochat.c yahoo_conf_* (libyahoo2 sends the
 * same keys), chat = libpurple yahoo_chat_online / yahoo_chat_join / yahoo_chat_send /
 * yahoo_chat_invite / yahoo_chat_leave.  Parsing accepts what both clients accept. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Keys of these services (not in the shared table: several numbers mean other things elsewhere). */
enum {
    K_CONF_HOST = 50,     /* inviter */
    K_CONF_INVITEE = 51,  /* being invited (add-invite) */
    K_CONF_INVITED = 52,  /* invited members */
    K_CONF_MEMBER = 53,   /* joined members / who joined */
    K_CONF_DECLINER = 54, /* who declined */
    K_CONF_UNAVAIL = 55,  /* invitee not available (status 2) */
    K_CONF_LEAVER = 56,   /* who left */
    K_CONF_ROOM = 57,     /* conference name */
    K_CONF_MSG = 58,      /* invitation text */
    K_CHAT_ROOM = 104,    /* room name */
    K_CHAT_TOPIC = 105,   /* topic */
    K_CHAT_COUNT = 108,   /* members in this packet */
    K_CHAT_WHO = 109,     /* member / sender id */
    K_CHAT_ERR = 114,     /* error (-1: not in the room) */
    K_CHAT_TEXT = 117,    /* message / invitation text */
    K_CHAT_INVITEE = 118, /* invitee */
    K_CHAT_INVITER = 119, /* inviter */
    K_CHAT_TYPE = 124,    /* 1 text, 2 emote, 3 think */
    K_CHAT_FIRST = 130,   /* present on our own first join */
};

/* ------------------------------------------------------------------------------------------------
 * state
 * ---------------------------------------------------------------------------------------------- */
int sess_multi_init(struct ymsg_session *s)
{
    const struct ymsg_session_config *c = &s->cfg;
    s->relay_host = strdup(c->relay_host && c->relay_host[0] ? c->relay_host : "relay.msg.yahoo.com");
    if (!s->relay_host)
        return -1;
    s->cfg.relay_host = s->relay_host;
    if (c->max_confs) {
        s->confs = calloc(c->max_confs, sizeof *s->confs);
        if (!s->confs)
            return -1;
    }
    if (c->max_xfers) {
        s->xfers = calloc(c->max_xfers, sizeof *s->xfers);
        if (!s->xfers)
            return -1;
    }
    dynarr_init(&s->room_members, sizeof(sess_id), c->max_room_members);
    return 0;
}

void sess_multi_free(struct ymsg_session *s)
{
    if (s->confs)
        for (size_t i = 0; i < s->nconfs; i++)
            free(s->confs[i].members);
    free(s->confs);
    free(s->xfers);
    free(s->relay_host);
    dynarr_free(&s->room_members);
}

/* A name fits and can go on the wire (no separator; no newline, which would split member lists). */
static int valid_room(const char *r)
{
    if (!r || !r[0] || strlen(r) >= YMSG_ROOM_MAX || !sess_utf8_valid((const uint8_t *)r, strlen(r)))
        return 0;
    for (const char *p = r; *p; p++)
        if (*p == '\n' || *p == '\r' || (unsigned char)*p == 0xC0)
            return 0;
    return 1;
}

static int kv_room(const struct ymsg_kv *kv, char dst[YMSG_ROOM_MAX])
{
    if (kv->len == 0 || kv->len >= YMSG_ROOM_MAX || !sess_utf8_valid(kv->val, kv->len))
        return 0;
    for (size_t i = 0; i < kv->len; i++)
        if (kv->val[i] == '\n' || kv->val[i] == '\r' || kv->val[i] == 0)
            return 0;
    memcpy(dst, kv->val, kv->len);
    dst[kv->len] = 0;
    return 1;
}

static struct ymsg_conf *conf_find(const struct ymsg_session *s, const char *room)
{
    for (size_t i = 0; i < s->nconfs; i++)
        if (strcasecmp(s->confs[i].room, room) == 0) /* libpurple: purple_utf8_strcasecmp */
            return &s->confs[i];
    return NULL;
}

static struct ymsg_conf *conf_add(struct ymsg_session *s, const char *room)
{
    if (s->nconfs >= s->cfg.max_confs || !s->cfg.max_conf_members) {
        s->stats.capped++;
        sess_log(s, YMSG_LOG_WARN, "conference %s dropped: %zu conferences kept (max_confs)", room, s->nconfs);
        return NULL;
    }
    struct ymsg_conf *c = &s->confs[s->nconfs];
    memset(c, 0, sizeof *c);
    c->members = calloc(s->cfg.max_conf_members, sizeof *c->members);
    if (!c->members) {
        sess_nomem(s, "conference", room);
        return NULL;
    }
    snprintf(c->room, sizeof c->room, "%s", room);
    s->nconfs++;
    return c;
}

static void conf_remove(struct ymsg_session *s, struct ymsg_conf *c)
{
    size_t i = (size_t)(c - s->confs);
    free(c->members);
    memmove(&s->confs[i], &s->confs[i + 1], (s->nconfs - i - 1) * sizeof *c);
    s->nconfs--;
}

static int conf_has(const struct ymsg_conf *c, const char *who)
{
    for (size_t i = 0; i < c->nmembers; i++)
        if (strcasecmp(c->members[i], who) == 0)
            return 1;
    return 0;
}

static void conf_member_add(struct ymsg_session *s, struct ymsg_conf *c, const char *who)
{
    if (conf_has(c, who))
        return;
    if (c->nmembers >= s->cfg.max_conf_members) {
        s->stats.capped++;
        sess_log(s, YMSG_LOG_WARN, "conference %s: member %s dropped (max_conf_members)", c->room, who);
        return;
    }
    snprintf(c->members[c->nmembers++], YMSG_ID_MAX, "%s", who);
}

static void conf_member_del(struct ymsg_conf *c, const char *who)
{
    for (size_t i = 0; i < c->nmembers; i++)
        if (strcasecmp(c->members[i], who) == 0) {
            memmove(&c->members[i], &c->members[i + 1], (c->nmembers - i - 1) * sizeof c->members[0]);
            c->nmembers--;
            return;
        }
}

size_t ymsg_session_conf_count(const struct ymsg_session *s) { return s->nconfs; }
const struct ymsg_conf *ymsg_session_conf(const struct ymsg_session *s, size_t i)
{
    return i < s->nconfs ? &s->confs[i] : NULL;
}
const struct ymsg_conf *ymsg_session_find_conf(const struct ymsg_session *s, const char *room)
{
    return room ? conf_find(s, room) : NULL;
}

const char *ymsg_session_room(const struct ymsg_session *s) { return s->in_room ? s->room : ""; }
size_t ymsg_session_room_member_count(const struct ymsg_session *s) { return s->in_room ? s->room_members.len : 0; }
const char *ymsg_session_room_member(const struct ymsg_session *s, size_t i)
{
    return s->in_room && i < s->room_members.len ? sess_ids(&s->room_members)[i] : NULL;
}

/* ------------------------------------------------------------------------------------------------
 * conference commands
 * ---------------------------------------------------------------------------------------------- */
static int conf_check(struct ymsg_session *s, const char *room, struct ymsg_conf **out)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!valid_room(room))
        return YMSG_EINVAL;
    *out = conf_find(s, room);
    return *out ? 0 : YMSG_ENOENT;
}

/* After sending a packet that makes us a member of c: r = the send's result.  A failed send forgets c
 * again; else we are in (our own name in its member list).  Returns r. */
static int conf_sent_joined(struct ymsg_session *s, struct ymsg_conf *c, int r)
{
    if (r) {
        conf_remove(s, c);
        return r;
    }
    c->joined = 1;
    conf_member_add(s, c, s->user);
    return 0;
}

/* The other members of c, under key (libyahoo2 yahoo_conference_logon / _logoff / _decline). */
static void conf_put_others(struct ymsg_session *s, struct ymsg_builder *b, const struct ymsg_conf *c, uint32_t key)
{
    for (size_t i = 0; i < c->nmembers; i++)
        if (strcasecmp(c->members[i], s->user) != 0)
            ymsg_build_str(b, key, c->members[i]);
}

int ymsg_session_conf_create(struct ymsg_session *s, const char *room, const char *const *who, size_t n,
                             const char *msg, char *room_out, size_t cap)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    char name[YMSG_ROOM_MAX];
    if (room)
        snprintf(name, sizeof name, "%s", room);
    else
        snprintf(name, sizeof name, "%s-%llu", s->user, (unsigned long long)++s->conf_counter);
    if (!valid_room(name) || !who || n == 0 || !sess_valid_text(msg, 1024) || (room_out && cap < strlen(name) + 1))
        return YMSG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!sess_valid_id(who[i]))
            return YMSG_EINVAL;
    if (conf_find(s, name))
        return YMSG_ESTATE;
    /* libyahoo2 yahoo_conference_invite: 1 50 52... 57 58 13=0 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFINVITE, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, K_CONF_HOST, s->user);
    for (size_t i = 0; i < n; i++)
        ymsg_build_str(&b, K_CONF_INVITED, who[i]);
    ymsg_build_str(&b, K_CONF_ROOM, name);
    ymsg_build_str(&b, K_CONF_MSG, msg ? msg : "");
    ymsg_build_str(&b, YMSG_KEY_FLAG, "0");
    struct ymsg_conf *c = conf_add(s, name);
    if (!c)
        return YMSG_ENOSPC;
    r = conf_sent_joined(s, c, sess_pkt_send(s, &b));
    if (r)
        return r;
    if (room_out)
        snprintf(room_out, cap, "%s", name);
    return 0;
}

int ymsg_session_conf_invite(struct ymsg_session *s, const char *room, const char *who, const char *msg)
{
    struct ymsg_conf *c;
    int r = conf_check(s, room, &c);
    if (r)
        return r;
    if (!sess_valid_id(who) || !sess_valid_text(msg, 1024) || !c->joined)
        return !c->joined ? YMSG_ESTATE : YMSG_EINVAL;
    /* libpurple yahoo_conf_invite: 1 51 57 58 13=0, then 52+53 per member but us */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFADDINVITE, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, K_CONF_INVITEE, who);
    ymsg_build_str(&b, K_CONF_ROOM, c->room);
    ymsg_build_str(&b, K_CONF_MSG, msg ? msg : "");
    ymsg_build_str(&b, YMSG_KEY_FLAG, "0");
    for (size_t i = 0; i < c->nmembers; i++) {
        if (strcasecmp(c->members[i], s->user) == 0)
            continue;
        ymsg_build_str(&b, K_CONF_INVITED, c->members[i]);
        ymsg_build_str(&b, K_CONF_MEMBER, c->members[i]);
    }
    return sess_pkt_send(s, &b);
}

int ymsg_session_conf_join(struct ymsg_session *s, const char *room)
{
    struct ymsg_conf *c;
    int r = conf_check(s, room, &c);
    if (r)
        return r;
    if (c->joined)
        return YMSG_ESTATE;
    /* libpurple yahoo_conf_join: 1=me 3=me 57, then 3 per member but us */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFLOGON, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_MY_ID, s->user);
    ymsg_build_str(&b, K_CONF_ROOM, c->room);
    conf_put_others(s, &b, c, YMSG_KEY_MY_ID);
    r = sess_pkt_send(s, &b);
    if (r)
        return r;
    c->joined = 1;
    conf_member_add(s, c, s->user);
    return 0;
}

int ymsg_session_conf_rejoin(struct ymsg_session *s, const char *room, const char *const *who, size_t n)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!valid_room(room) || (n && !who))
        return YMSG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!sess_valid_id(who[i]))
            return YMSG_EINVAL;
    struct ymsg_conf *c = conf_find(s, room);
    if (c && c->joined)
        return YMSG_ESTATE;
    if (c)
        return ymsg_session_conf_join(s, room); /* invited meanwhile: an ordinary join */
    if (!(c = conf_add(s, room)))
        return YMSG_ENOSPC;
    /* libpurple yahoo_conf_join: 1=me 3=me 57, then 3 per member we knew */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFLOGON, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_MY_ID, s->user);
    ymsg_build_str(&b, K_CONF_ROOM, room);
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(who[i], s->user) != 0)
            ymsg_build_str(&b, YMSG_KEY_MY_ID, who[i]);
    r = sess_pkt_send(s, &b);
    size_t others = 0;
    if (!r) {
        /* libyahoo2 yahoo_conference_invite: 1 50 52... 57 58 13=0 -- the members we knew who are not
         * in it again yet (a refusal, 0x18 with 16 only, ends our copy: on_conf_invite) */
        sess_pkt_begin(s, &b, YMSG_SVC_CONFINVITE, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
        ymsg_build_str(&b, K_CONF_HOST, s->user);
        for (size_t i = 0; i < n; i++)
            if (strcasecmp(who[i], s->user) != 0) {
                ymsg_build_str(&b, K_CONF_INVITED, who[i]);
                others++;
            }
        ymsg_build_str(&b, K_CONF_ROOM, room);
        ymsg_build_str(&b, K_CONF_MSG, "");
        ymsg_build_str(&b, YMSG_KEY_FLAG, "0");
        if (others)
            r = sess_pkt_send(s, &b);
    }
    return conf_sent_joined(s, c, r);
}

int ymsg_session_conf_decline(struct ymsg_session *s, const char *room, const char *msg)
{
    struct ymsg_conf *c;
    int r = conf_check(s, room, &c);
    if (r)
        return r;
    if (c->joined || !sess_valid_text(msg, 1024))
        return c->joined ? YMSG_ESTATE : YMSG_EINVAL;
    /* libyahoo2 yahoo_conference_decline: 1 3=me 3=members... 57 14 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFDECLINE, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_MY_ID, s->user);
    conf_put_others(s, &b, c, YMSG_KEY_MY_ID);
    ymsg_build_str(&b, K_CONF_ROOM, c->room);
    ymsg_build_str(&b, YMSG_KEY_MSG, msg ? msg : "");
    r = sess_pkt_send(s, &b);
    if (r)
        return r;
    conf_remove(s, c);
    return 0;
}

int ymsg_session_conf_leave(struct ymsg_session *s, const char *room)
{
    struct ymsg_conf *c;
    int r = conf_check(s, room, &c);
    if (r)
        return r;
    if (!c->joined)
        return YMSG_ESTATE;
    /* libyahoo2 yahoo_conference_logoff: 1 3=me 3=members... 57 (libpurple: the same ids, us among them) */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFLOGOFF, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_MY_ID, s->user);
    conf_put_others(s, &b, c, YMSG_KEY_MY_ID);
    ymsg_build_str(&b, K_CONF_ROOM, c->room);
    r = sess_pkt_send(s, &b);
    if (r)
        return r;
    conf_remove(s, c);
    return 0;
}

int ymsg_session_conf_send(struct ymsg_session *s, const char *room, const char *utf8_text)
{
    struct ymsg_conf *c;
    int r = conf_check(s, room, &c);
    if (r)
        return r;
    if (!utf8_text || !utf8_text[0] || !sess_utf8_valid((const uint8_t *)utf8_text, strlen(utf8_text)) ||
        !sess_valid_text(utf8_text, 8000))
        return YMSG_EINVAL;
    if (!c->joined)
        return YMSG_ESTATE;
    /* libyahoo2 yahoo_conference_message: 1 53=me 53=members... 57 14 97=1 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CONFMSG, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, K_CONF_MEMBER, s->user);
    conf_put_others(s, &b, c, K_CONF_MEMBER);
    ymsg_build_str(&b, K_CONF_ROOM, c->room);
    ymsg_build_str(&b, YMSG_KEY_MSG, utf8_text);
    ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
    return sess_pkt_send(s, &b);
}

/* ------------------------------------------------------------------------------------------------
 * conference packets from the server
 * ---------------------------------------------------------------------------------------------- */
static void conf_event(struct ymsg_session *s, const struct ymsg_packet *pkt, enum ymsg_event_type type,
                       const char *who, const char *room, const char *text, const char *list)
{
    struct ymsg_event ev = {.type = type, .service = pkt->hdr.service, .status = pkt->hdr.status, .idle = -1};
    struct evstr str = {.who = who, .room = room, .text = text, .list = list};
    sess_ev_push(s, &ev, &str);
}

static void on_conf_invite(struct ymsg_session *s, const struct ymsg_packet *pkt, const char *room, int utf8)
{
    struct ymsg_kv kv;
    char host[YMSG_ID_MAX] = "", who[YMSG_ID_MAX], text[1024] = "";
    if (pkt->hdr.status == 2 || (pkt->hdr.service == YMSG_SVC_CONFINVITE && ymsg_count(pkt, K_CONF_INVITED) == 0 &&
                                 ymsg_count(pkt, K_CONF_HOST) == 0)) {
        /* libyahoo2: 0x18 without members but with 16 = "conference not available"; 55 = who */
        char bad[YMSG_ID_MAX] = "";
        if (ymsg_get(pkt, K_CONF_UNAVAIL, &kv) == 0)
            sess_kv_id(&kv, bad);
        if (ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0)
            sess_text_clean_into(&kv, utf8, text, sizeof text);
        if (!bad[0] && !text[0])
            return;
        /* ymsgd: 0x18 with only 16 = our new conference's name is taken; it does not exist for us */
        struct ymsg_conf *own = bad[0] ? NULL : conf_find(s, room);
        conf_event(s, pkt, YMSG_EV_CONF_FAILED, bad, room, text[0] ? text : "not available", NULL);
        if (own && own->joined && !own->inviter[0] && own->nmembers <= 1)
            conf_remove(s, own);
        return;
    }
    if (pkt->hdr.status == 11) /* libpurple: "being notified about invitation being sent to someone else" */
        return;
    if (ymsg_get(pkt, K_CONF_HOST, &kv) != 0 || !sess_kv_id(&kv, host))
        return;
    if (strcasecmp(host, s->user) == 0)
        return; /* our own invitation echoed back */
    struct ymsg_conf *c = conf_find(s, room);
    if (c) {
        /* libpurple ignores an invitation to a conference it is in; keep the first one */
        sess_log(s, YMSG_LOG_DEBUG, "invitation to conference %s we already know ignored", room);
        return;
    }
    if (ymsg_get(pkt, K_CONF_MSG, &kv) == 0)
        sess_text_clean_into(&kv, utf8, text, sizeof text);
    c = conf_add(s, room);
    if (!c)
        return;
    snprintf(c->inviter, sizeof c->inviter, "%s", host);
    conf_member_add(s, c, host);
    size_t pos = 0;
    while (ymsg_next(pkt, &pos, &kv))
        if (kv.key == K_CONF_MEMBER && sess_kv_id(&kv, who) && strcasecmp(who, s->user) != 0)
            conf_member_add(s, c, who);
    char list[YMSG_ID_MAX * 8];
    size_t off = 0;
    list[0] = 0;
    for (size_t i = 0; i < c->nmembers && off + YMSG_ID_MAX + 1 < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? "\n" : "", c->members[i]);
    conf_event(s, pkt, YMSG_EV_CONF_INVITE, host, c->room, text, list);
}

void sess_on_conf(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char room[YMSG_ROOM_MAX], who[YMSG_ID_MAX] = "", text[1024] = "";
    if (ymsg_get(pkt, K_CONF_ROOM, &kv) != 0 || !kv_room(&kv, room)) {
        sess_log(s, YMSG_LOG_DEBUG, "conference packet 0x%x without a usable room name ignored", pkt->hdr.service);
        return;
    }
    long long utf8 = 0;
    ymsg_get_int(pkt, YMSG_KEY_UTF8, &utf8);
    uint32_t svc = pkt->hdr.service;
    if (svc == YMSG_SVC_CONFINVITE || svc == YMSG_SVC_CONFADDINVITE) {
        on_conf_invite(s, pkt, room, utf8 == 1);
        return;
    }
    struct ymsg_conf *c = conf_find(s, room);
    if (!c) { /* libpurple: only for a conference it is in */
        sess_log(s, YMSG_LOG_DEBUG, "conference packet 0x%x for unknown %s ignored", svc, room);
        return;
    }
    uint32_t key = svc == YMSG_SVC_CONFLOGON ? K_CONF_MEMBER : svc == YMSG_SVC_CONFLOGOFF ? K_CONF_LEAVER
                 : svc == YMSG_SVC_CONFDECLINE ? K_CONF_DECLINER : YMSG_KEY_MY_ID;
    if (ymsg_get(pkt, key, &kv) != 0 || !sess_kv_id(&kv, who))
        return;
    if (ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0)
        sess_text_clean_into(&kv, utf8 == 1, text, sizeof text);
    switch (svc) {
    case YMSG_SVC_CONFLOGON:
        if (strcasecmp(who, s->user) == 0)
            return;
        conf_member_add(s, c, who);
        conf_event(s, pkt, YMSG_EV_CONF_JOIN, who, c->room, "", NULL);
        break;
    case YMSG_SVC_CONFLOGOFF:
        if (strcasecmp(who, s->user) == 0)
            return;
        conf_member_del(c, who);
        conf_event(s, pkt, YMSG_EV_CONF_LEAVE, who, c->room, "", NULL);
        break;
    case YMSG_SVC_CONFDECLINE:
        conf_event(s, pkt, YMSG_EV_CONF_DECLINE, who, c->room, text, NULL);
        break;
    case YMSG_SVC_CONFMSG:
        if (!c->joined || ymsg_get(pkt, YMSG_KEY_MSG, &kv) != 0)
            return;
        conf_event(s, pkt, YMSG_EV_CONF_MESSAGE, who, c->room, text, NULL);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------------------------------------
 * chat rooms
 * ---------------------------------------------------------------------------------------------- */
static int chat_send_join(struct ymsg_session *s)
{
    /* libpurple yahoo_chat_join: 1 104 62=2 129 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CHATJOIN, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, K_CHAT_ROOM, s->room);
    ymsg_build_str(&b, 62, "2");
    ymsg_build_str(&b, YMSG_KEY_ROOM_ID, s->room_id);
    return sess_pkt_send(s, &b);
}

static void room_reset(struct ymsg_session *s)
{
    s->in_room = 0;
    s->room_more = 0;
    s->room[0] = 0;
    s->room_members.len = 0;
}

int ymsg_session_room_join(struct ymsg_session *s, const char *room, const char *room_id)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!valid_room(room) || (room_id && (!room_id[0] || strlen(room_id) >= sizeof s->room_id || !sess_valid_text(room_id, 31))))
        return YMSG_EINVAL;
    if (s->in_room && strcasecmp(s->room, room) != 0) {
        /* one room at a time: leave this one (CHATEXIT, no logout: libpurple's yahoo_chat_leave(FALSE)) */
        struct ymsg_builder b;
        sess_pkt_begin(s, &b, YMSG_SVC_CHATEXIT, 0);
        ymsg_build_str(&b, K_CHAT_ROOM, s->room);
        ymsg_build_str(&b, K_CHAT_WHO, s->user);
        ymsg_build_str(&b, K_CHAT_COUNT, "1");
        ymsg_build_str(&b, 112, "0");
        if ((r = sess_pkt_send(s, &b)) != 0)
            return r;
    }
    room_reset(s);
    snprintf(s->room, sizeof s->room, "%s", room);
    snprintf(s->room_id, sizeof s->room_id, "%s", room_id ? room_id : "0");
    if (s->chat_online)
        return chat_send_join(s);
    /* libpurple yahoo_chat_online: 109 1 6=abcde 98 135; 0x98 waits for the status-1 answer */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CHATONLINE, 0);
    ymsg_build_str(&b, K_CHAT_WHO, s->user);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_AUTH_RESP6, "abcde");
    ymsg_build_str(&b, YMSG_KEY_LOCALE, s->locale);
    ymsg_build_str(&b, YMSG_KEY_CLIENT_VERSION, s->client_version);
    r = sess_pkt_send(s, &b);
    if (r == 0)
        s->chat_pending = 1;
    return r;
}

int ymsg_session_room_leave(struct ymsg_session *s)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!s->room[0] && !s->chat_online && !s->chat_pending)
        return YMSG_ESTATE;
    struct ymsg_builder b;
    if (s->room[0]) {
        /* libpurple yahoo_chat_leave: 104 109 108=1 112=0, then 0xA0 1 */
        sess_pkt_begin(s, &b, YMSG_SVC_CHATEXIT, 0);
        ymsg_build_str(&b, K_CHAT_ROOM, s->room);
        ymsg_build_str(&b, K_CHAT_WHO, s->user);
        ymsg_build_str(&b, K_CHAT_COUNT, "1");
        ymsg_build_str(&b, 112, "0");
        if ((r = sess_pkt_send(s, &b)) != 0)
            return r;
    }
    sess_pkt_begin(s, &b, YMSG_SVC_CHATLOGOUT, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    r = sess_pkt_send(s, &b);
    room_reset(s);
    s->chat_online = s->chat_pending = 0;
    return r;
}

int ymsg_session_room_send(struct ymsg_session *s, const char *utf8_text, int emote)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!s->in_room)
        return YMSG_ESTATE;
    if (!utf8_text || !utf8_text[0] || !sess_utf8_valid((const uint8_t *)utf8_text, strlen(utf8_text)) ||
        !sess_valid_text(utf8_text, 8000))
        return YMSG_EINVAL;
    /* libpurple yahoo_chat_send: 1 104 117 124=1|2 97=1 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_COMMENT, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, K_CHAT_ROOM, s->room);
    ymsg_build_str(&b, K_CHAT_TEXT, utf8_text);
    ymsg_build_str(&b, K_CHAT_TYPE, emote ? "2" : "1");
    ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
    return sess_pkt_send(s, &b);
}

int ymsg_session_room_invite(struct ymsg_session *s, const char *who, const char *msg)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!s->in_room)
        return YMSG_ESTATE;
    if (!sess_valid_id(who) || !sess_valid_text(msg, 1024))
        return YMSG_EINVAL;
    /* libpurple yahoo_chat_invite: 1 118 104 117 129=0 */
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CHATADDINVITE, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, K_CHAT_INVITEE, who);
    ymsg_build_str(&b, K_CHAT_ROOM, s->room);
    ymsg_build_str(&b, K_CHAT_TEXT, msg ? msg : "");
    ymsg_build_str(&b, YMSG_KEY_ROOM_ID, "0");
    return sess_pkt_send(s, &b);
}

void sess_send_ping(struct ymsg_session *s)
{
    /* libpurple yahoo_keepalive: "The native client will only send PING or CHATPING" */
    struct ymsg_builder b;
    if (s->chat_online) {
        sess_pkt_begin(s, &b, YMSG_SVC_CHATPING, 0);
        ymsg_build_str(&b, K_CHAT_WHO, s->user);
    } else {
        sess_pkt_begin(s, &b, YMSG_SVC_PING, 0);
    }
    sess_pkt_send(s, &b);
}

static int room_has(const struct ymsg_session *s, const char *who)
{
    const sess_id *m = sess_ids(&s->room_members);
    for (size_t i = 0; i < s->room_members.len; i++)
        if (strcasecmp(m[i], who) == 0)
            return 1;
    return 0;
}

/* 1 if added, 0 if known already or dropped at the cap. */
static int room_add(struct ymsg_session *s, const char *who)
{
    if (room_has(s, who))
        return 0;
    int r = dynarr_reserve(&s->room_members, 1);
    if (r) {
        if (r == DYN_ENOMEM)
            sess_nomem(s, "room member", who);
        else {
            s->stats.capped++;
            sess_log(s, YMSG_LOG_WARN, "room %s: member %s dropped (max_room_members)", s->room, who);
        }
        return 0;
    }
    snprintf(sess_ids(&s->room_members)[s->room_members.len++], YMSG_ID_MAX, "%s", who);
    return 1;
}

static int room_del(struct ymsg_session *s, const char *who)
{
    sess_id *m = sess_ids(&s->room_members);
    for (size_t i = 0; i < s->room_members.len; i++)
        if (strcasecmp(m[i], who) == 0) {
            memmove(&m[i], &m[i + 1], (s->room_members.len - i - 1) * sizeof m[0]);
            s->room_members.len--;
            return 1;
        }
    return 0;
}

static void room_event(struct ymsg_session *s, const struct ymsg_packet *pkt, enum ymsg_event_type type,
                       const char *who, const char *room, const char *text, const char *list, int code, int on)
{
    struct ymsg_event ev = {.type = type, .service = pkt->hdr.service, .status = pkt->hdr.status, .idle = -1,
                            .code = code, .on = on};
    struct evstr str = {.who = who, .room = room, .text = text, .list = list};
    sess_ev_push(s, &ev, &str);
}

static void on_chat_join(struct ymsg_session *s, const struct ymsg_packet *pkt, const char *room)
{
    struct ymsg_kv kv;
    if (pkt->hdr.status == YMSG_PKT_ERROR) {
        /* libpurple yahoo_process_chat_join: the first pair's value is the error */
        long long code = 0;
        size_t pos = 0;
        if (ymsg_next(pkt, &pos, &kv))
            code = sess_kv_int(&kv, 0);
        const char *why = code == -6 ? "unknown room" : code == -15 ? "the room is full"
                        : code == -35 ? "not available" : "could not join";
        room_event(s, pkt, YMSG_EV_ROOM_FAILED, "", s->room, why, NULL, (int)code, 0);
        if (!s->in_room)
            s->room[0] = 0;
        return;
    }
    if (!room[0] || strcasecmp(room, s->room) != 0) {
        sess_log(s, YMSG_LOG_DEBUG, "chat join for room %s we are not in ignored", room);
        return;
    }
    char topic[512] = "", who[YMSG_ID_MAX];
    if (ymsg_get(pkt, K_CHAT_TOPIC, &kv) == 0)
        sess_text_clean_into(&kv, 1, topic, sizeof topic);
    int has_self = 0;
    size_t pos = 0;
    while (ymsg_next(pkt, &pos, &kv))
        if (kv.key == K_CHAT_WHO && sess_kv_id(&kv, who) && strcasecmp(who, s->user) == 0)
            has_self = 1;
    if (!s->in_room) {
        /* our own join (libyahoo2: key 130; libpurple: the list holds us): the whole member list, over
         * several packets when long (status 5 on all but the last, as OpenYMSG's compoundChatLoginPacket
         * reads it; docs/CHAT_ROOMS.md) */
        if (!has_self && ymsg_count(pkt, K_CHAT_FIRST) == 0 && !s->room_more) {
            sess_log(s, YMSG_LOG_DEBUG, "chat join before ours confirmed ignored");
            return;
        }
        if (!s->room_more)
            s->room_members.len = 0;
        pos = 0;
        while (ymsg_next(pkt, &pos, &kv))
            if (kv.key == K_CHAT_WHO && sess_kv_id(&kv, who))
                room_add(s, who);
        if (pkt->hdr.status == YMSG_PKT_CONTINUED) {
            s->room_more = 1;
            return;
        }
        s->room_more = 0;
        s->in_room = 1;
        snprintf(s->room, sizeof s->room, "%s", room); /* the server's spelling ("lobby" -> "Lobby") */
        room_add(s, s->user);
        struct dynbuf list;
        dynbuf_init(&list, s->room_members.len * YMSG_ID_MAX);
        for (size_t i = 0; i < s->room_members.len; i++) {
            if (i)
                dynbuf_add(&list, "\n", 1);
            dynbuf_add(&list, sess_ids(&s->room_members)[i], strlen(sess_ids(&s->room_members)[i]));
        }
        room_event(s, pkt, YMSG_EV_ROOM_JOINED, s->user, s->room, topic, list.data ? list.data : "", 0, 0);
        dynbuf_free(&list);
        return;
    }
    pos = 0;
    while (ymsg_next(pkt, &pos, &kv))
        if (kv.key == K_CHAT_WHO && sess_kv_id(&kv, who) && room_add(s, who))
            room_event(s, pkt, YMSG_EV_ROOM_ENTER, who, s->room, "", NULL, 0, 0);
}

void sess_on_chat(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char room[YMSG_ROOM_MAX] = "", who[YMSG_ID_MAX] = "", text[2048] = "";
    if (ymsg_get(pkt, K_CHAT_ROOM, &kv) == 0 && !kv_room(&kv, room))
        return;
    long long utf8 = 1; /* libpurple's yahoo_process_chat_message: "default to utf8" */
    ymsg_get_int(pkt, YMSG_KEY_UTF8, &utf8);
    switch (pkt->hdr.service) {
    case YMSG_SVC_CHATONLINE:
        if (pkt->hdr.status != 1 || !s->chat_pending)
            return;
        s->chat_pending = 0;
        s->chat_online = 1;
        if (s->room[0])
            chat_send_join(s);
        return;
    case YMSG_SVC_CHATJOIN:
        on_chat_join(s, pkt, room);
        return;
    case YMSG_SVC_CHATEXIT: case YMSG_SVC_CHATLEAVE:
        if (!s->in_room || strcasecmp(room, s->room) != 0 || ymsg_get(pkt, K_CHAT_WHO, &kv) != 0 ||
            !sess_kv_id(&kv, who))
            return;
        if (strcasecmp(who, s->user) == 0)
            return;
        if (room_del(s, who))
            room_event(s, pkt, YMSG_EV_ROOM_EXIT, who, s->room, "", NULL, 0, 0);
        return;
    case YMSG_SVC_COMMENT:
        if (!s->in_room || strcasecmp(room, s->room) != 0 || ymsg_get(pkt, K_CHAT_WHO, &kv) != 0 ||
            !sess_kv_id(&kv, who) || ymsg_get(pkt, K_CHAT_TEXT, &kv) != 0)
            return;
        sess_text_clean_into(&kv, utf8 == 1, text, sizeof text);
        long long type = 1;
        ymsg_get_int(pkt, K_CHAT_TYPE, &type);
        room_event(s, pkt, YMSG_EV_ROOM_MESSAGE, who, s->room, text, NULL, 0, type == 2 || type == 3);
        return;
    case YMSG_SVC_CHATADDINVITE: case YMSG_SVC_CHATINVITE:
        if (!room[0] || ymsg_get(pkt, K_CHAT_INVITER, &kv) != 0 || !sess_kv_id(&kv, who))
            return;
        if (ymsg_get(pkt, K_CHAT_TEXT, &kv) == 0)
            sess_text_clean_into(&kv, 0, text, sizeof text);
        room_event(s, pkt, YMSG_EV_ROOM_INVITE, who, room, text, NULL, 0, 0);
        return;
    case YMSG_SVC_CHATLOGOUT:
        /* libpurple yahoo_process_chat_logout: only status 1 and only about us */
        if (ymsg_get(pkt, YMSG_KEY_ACTIVE_ID, &kv) == 0 && !(sess_kv_id(&kv, who) && strcasecmp(who, s->user) == 0))
            return;
        if (pkt->hdr.status != 1 || (!s->chat_online && !s->room[0]))
            return;
        snprintf(room, sizeof room, "%s", s->room);
        room_reset(s);
        s->chat_online = s->chat_pending = 0;
        room_event(s, pkt, YMSG_EV_ROOM_LOGOUT, "", room, "logged out of chat", NULL, 0, 0);
        return;
    case YMSG_SVC_CHATGOTO:
        if (pkt->hdr.status == YMSG_PKT_ERROR)
            room_event(s, pkt, YMSG_EV_ROOM_FAILED, "", room, "not in a chat room", NULL, -1, 0);
        return;
    default:
        return;
    }
}
