/* Client session: roster and lists (§6) -- the buddy index, groups, ignore list, authorisation requests,
 * LIST_15 and old 0x55 replies (multi-packet), list command acks, and the list commands. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------------
 * roster
 * ---------------------------------------------------------------------------------------------- */
static ssize_t buddy_index(const struct ymsg_buddy *b, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(b[i].id, id) == 0)
            return (ssize_t)i;
    return -1;
}

/* The roster index: presence packets look buddies up by id all the time, so a list of thousands must
 * not be scanned for each. */
static void bidx_rebuild(struct ymsg_session *s)
{
    size_t want = 64;
    while (want < s->buddies.len * 2)
        want *= 2;
    if (want != s->bidx_cap) {
        uint32_t *p = realloc(s->bidx, want * sizeof *p);
        if (!p) { /* the index is an optimisation: fall back to scanning */
            free(s->bidx);
            s->bidx = NULL;
            s->bidx_cap = 0;
            return;
        }
        s->bidx = p;
        s->bidx_cap = want;
    }
    memset(s->bidx, 0, s->bidx_cap * sizeof *s->bidx);
    for (size_t i = 0; i < s->buddies.len; i++) {
        size_t h = (size_t)sess_fnv1a(0xcbf29ce484222325ULL, sess_buddies(s)[i].id, 1) & (s->bidx_cap - 1);
        while (s->bidx[h])
            h = (h + 1) & (s->bidx_cap - 1);
        s->bidx[h] = (uint32_t)i + 1;
    }
}

static ssize_t roster_find(const struct ymsg_session *s, const char *id)
{
    if (!s->bidx)
        return buddy_index(sess_buddies(s), s->buddies.len, id);
    size_t h = (size_t)sess_fnv1a(0xcbf29ce484222325ULL, id, 1) & (s->bidx_cap - 1);
    while (s->bidx[h]) {
        size_t i = s->bidx[h] - 1;
        if (strcasecmp(sess_buddies(s)[i].id, id) == 0)
            return (ssize_t)i;
        h = (h + 1) & (s->bidx_cap - 1);
    }
    return -1;
}

static void bidx_insert(struct ymsg_session *s, size_t i)
{
    if (!s->bidx || s->buddies.len * 2 > s->bidx_cap) {
        bidx_rebuild(s);
        return;
    }
    size_t h = (size_t)sess_fnv1a(0xcbf29ce484222325ULL, sess_buddies(s)[i].id, 1) & (s->bidx_cap - 1);
    while (s->bidx[h])
        h = (h + 1) & (s->bidx_cap - 1);
    s->bidx[h] = (uint32_t)i + 1;
}

static void group_add(struct ymsg_session *s, const char *name)
{
    if (!name[0])
        return;
    for (size_t i = 0; i < s->groups.len; i++)
        if (strcmp(sess_groups(s)[i], name) == 0)
            return;
    int r = dynarr_reserve(&s->groups, 1);
    if (r == DYN_ETOOBIG) {
        s->stats.capped++;
        sess_log(s, YMSG_LOG_WARN, "group cap (%zu) reached", s->cfg.max_groups);
        return;
    }
    if (r) {
        sess_nomem(s, "group", name);
        return;
    }
    snprintf(sess_groups(s)[s->groups.len++], YMSG_GROUP_MAX, "%s", name);
}

static struct ymsg_buddy *buddy_add(struct ymsg_session *s, const char *id, const char *group)
{
    ssize_t i = roster_find(s, id);
    if (i >= 0) {
        if (group && group[0])
            snprintf(sess_buddies(s)[i].group, YMSG_GROUP_MAX, "%s", group);
        return &sess_buddies(s)[i];
    }
    int r = dynarr_reserve(&s->buddies, 1);
    if (r == DYN_ETOOBIG) {
        s->stats.capped++;
        sess_log(s, YMSG_LOG_WARN, "buddy cap (%zu) reached, %s not kept", s->cfg.max_buddies, id);
        return NULL;
    }
    if (r) {
        sess_nomem(s, "buddy", id);
        return NULL;
    }
    struct ymsg_buddy *b = &sess_buddies(s)[s->buddies.len++];
    memset(b, 0, sizeof *b);
    snprintf(b->id, sizeof b->id, "%s", id);
    bidx_insert(s, s->buddies.len - 1);
    snprintf(b->group, sizeof b->group, "%s", group ? group : "");
    b->idle = -1;
    /* A re-sent list usually keeps its order: try the same position before scanning. */
    size_t pos = s->buddies.len - 1;
    ssize_t o = !s->old_buddies ? -1
                : pos < s->nold && strcasecmp(s->old_buddies[pos].id, id) == 0 ? (ssize_t)pos
                : buddy_index(s->old_buddies, s->nold, id);
    if (o >= 0) { /* a re-sent list keeps what presence packets told us */
        b->online = s->old_buddies[o].online;
        b->status = s->old_buddies[o].status;
        b->away = s->old_buddies[o].away;
        b->idle = s->old_buddies[o].idle;
        memcpy(b->msg, s->old_buddies[o].msg, sizeof b->msg);
    }
    if (group)
        group_add(s, group);
    return b;
}

static void buddy_remove(struct ymsg_session *s, const char *id)
{
    ssize_t i = roster_find(s, id);
    if (i < 0)
        return;
    memmove(&sess_buddies(s)[i], &sess_buddies(s)[i + 1], (s->buddies.len - (size_t)i - 1) * s->buddies.elem);
    s->buddies.len--;
    bidx_rebuild(s);
}

static void ignore_set(struct ymsg_session *s, const char *id, int on)
{
    for (size_t i = 0; i < s->ignored.len; i++) {
        if (strcasecmp(sess_ignored(s)[i], id) == 0) {
            if (!on) {
                memmove(&sess_ignored(s)[i], &sess_ignored(s)[i + 1], (s->ignored.len - i - 1) * s->ignored.elem);
                s->ignored.len--;
            }
            return;
        }
    }
    if (!on)
        return;
    int r = dynarr_reserve(&s->ignored, 1);
    if (r == DYN_ETOOBIG) {
        s->stats.capped++;
        return;
    }
    if (r) {
        sess_nomem(s, "ignore entry", id);
        return;
    }
    snprintf(sess_ignored(s)[s->ignored.len++], YMSG_ID_MAX, "%s", id);
}

/* A new list reply replaces the roster; the old entries are kept until it completes so that presence
 * already known survives. */
static void roster_reset(struct ymsg_session *s)
{
    free(s->old_buddies);
    s->old_buddies = s->buddies.v;
    s->nold = s->buddies.len;
    s->buddies.v = NULL;
    s->buddies.len = s->buddies.alloc = 0;
    if (s->bidx)
        memset(s->bidx, 0, s->bidx_cap * sizeof *s->bidx);
    s->groups.len = 0;
    s->ignored.len = 0;
}

static void roster_done(struct ymsg_session *s)
{
    free(s->old_buddies);
    s->old_buddies = NULL;
    s->nold = 0;
}

size_t ymsg_session_buddy_count(const struct ymsg_session *s) { return s->buddies.len; }
const struct ymsg_buddy *ymsg_session_buddy(const struct ymsg_session *s, size_t i)
{
    return i < s->buddies.len ? &sess_buddies(s)[i] : NULL;
}
const struct ymsg_buddy *ymsg_session_find_buddy(const struct ymsg_session *s, const char *id)
{
    ssize_t i = id ? roster_find(s, id) : -1;
    return i >= 0 ? &sess_buddies(s)[i] : NULL;
}
size_t ymsg_session_group_count(const struct ymsg_session *s) { return s->groups.len; }
const char *ymsg_session_group(const struct ymsg_session *s, size_t i)
{
    return i < s->groups.len ? sess_groups(s)[i] : NULL;
}
size_t ymsg_session_request_count(const struct ymsg_session *s) { return s->nrequests; }
const struct ymsg_auth_request *ymsg_session_request(const struct ymsg_session *s, size_t i)
{
    return i < s->nrequests ? &s->requests[i] : NULL;
}

static void request_set(struct ymsg_session *s, const char *id, const char *msg, int on)
{
    for (size_t i = 0; i < s->nrequests; i++) {
        if (strcasecmp(s->requests[i].id, id) == 0) {
            if (on)
                snprintf(s->requests[i].msg, sizeof s->requests[i].msg, "%s", msg);
            else
                memmove(&s->requests[i], &s->requests[i + 1], (s->nrequests - i - 1) * sizeof *s->requests);
            s->nrequests -= !on;
            return;
        }
    }
    if (!on)
        return;
    if (s->nrequests >= s->cfg.max_requests) {
        s->stats.capped++;
        return;
    }
    snprintf(s->requests[s->nrequests].id, YMSG_ID_MAX, "%s", id);
    snprintf(s->requests[s->nrequests].msg, YMSG_STATUS_MSG_MAX, "%s", msg);
    s->nrequests++;
}

size_t ymsg_session_ignored_count(const struct ymsg_session *s) { return s->ignored.len; }
const char *ymsg_session_ignored(const struct ymsg_session *s, size_t i)
{
    return i < s->ignored.len ? sess_ignored(s)[i] : NULL;
}

static void list15_commit(struct ymsg_session *s)
{
    struct list_acc *e = &s->list15_entry;
    if (!e->have_id) {
        memset(e, 0, sizeof *e);
        return;
    }
    if (e->type == 320 || (e->type != 319 && !s->list15_group[0])) {
        ignore_set(s, e->id, 1); /* Pidgin: an entry outside any group goes to the deny list */
    } else {
        struct ymsg_buddy *b = buddy_add(s, e->id, s->list15_group);
        if (b) {
            b->pending = (uint8_t)e->pending;
            b->stealth = (uint8_t)e->stealth;
            b->federation = (uint8_t)e->federation;
        }
    }
    int type = e->type;
    memset(e, 0, sizeof *e);
    e->type = type;
}

static void list_complete(struct ymsg_session *s)
{
    roster_done(s);
    if (s->state == YMSG_SS_AUTHRESP)
        sess_logged_in(s);
    struct ymsg_event ev = {.type = YMSG_EV_BUDDY_LIST, .code = (int)s->buddies.len, .idle = -1};
    sess_ev_push(s, &ev, NULL);
}

void sess_on_list15(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    if (!s->list15_more) { /* a new reply */
        roster_reset(s);
        s->list15_group[0] = 0;
        memset(&s->list15_entry, 0, sizeof s->list15_entry);
    }
    int end_seen = 0;
    struct ymsg_kv kv;
    size_t pos = 0;
    struct list_acc *e = &s->list15_entry;
    while (ymsg_next(pkt, &pos, &kv)) {
        switch (kv.key) {
        case YMSG_KEY_LIST_BEGIN:
            if (sess_kv_is(&kv, "320")) {
                list15_commit(s);
                s->list15_group[0] = 0;
                e->type = 320;
            }
            break;
        case YMSG_KEY_ENTRY_BEGIN:
            list15_commit(s);
            if (sess_kv_is(&kv, "319") || sess_kv_is(&kv, "320"))
                e->type = (int)sess_kv_int(&kv, 0);
            break;
        case YMSG_KEY_GROUP:
            list15_commit(s);
            {
                char g[YMSG_GROUP_MAX];
                sess_text_clean_into(&kv, 1, g, sizeof g);
                snprintf(s->list15_group, sizeof s->list15_group, "%s", g);
                group_add(s, g);
                e->type = 319;
            }
            break;
        case YMSG_KEY_BUDDY:
            if (e->have_id)
                list15_commit(s);
            if (sess_kv_id(&kv, e->id))
                e->have_id = 1;
            else
                s->stats.capped++;
            break;
        case YMSG_KEY_PENDING: e->pending = sess_kv_int(&kv, 0) != 0; break;
        case YMSG_KEY_STEALTH_SETTING: e->stealth = (int)sess_kv_int(&kv, 0); break;
        case YMSG_KEY_FEDERATION: e->federation = (int)sess_kv_int(&kv, 0); break;
        case YMSG_KEY_ENTRY_END:
            list15_commit(s);
            if (sess_kv_is(&kv, "318"))
                s->list15_group[0] = 0;
            break;
        case YMSG_KEY_LIST_END:
            list15_commit(s);
            if (sess_kv_is(&kv, "318"))
                end_seen = 1;
            if (sess_kv_is(&kv, "320"))
                e->type = 0;
            break;
        default:
            sess_log(s, YMSG_LOG_DEBUG, "LIST_15: key %u kept unhandled", kv.key);
        }
    }
    int more = pkt->hdr.status == YMSG_PKT_CONTINUED;
    if (!more)
        list15_commit(s);
    s->list15_more = more;
    if (!more || end_seen)
        list_complete(s);
}

/* Old 0x55: "Group:b1,b2\n..." in key 87, "i1,i2" in 88, concatenated across status-5 packets. */
static void append_text(struct ymsg_session *s, struct dynbuf *dst, const struct ymsg_kv *kv)
{
    int r = dynbuf_add(dst, kv->val, kv->len);
    if (r == DYN_ETOOBIG) {
        s->stats.capped++;
        sess_log(s, YMSG_LOG_WARN, "0x55 list text over %zu bytes dropped", s->cfg.max_list_text);
    } else if (r) {
        sess_nomem(s, "0x55 list text", "");
    }
}

void sess_on_list55(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    if (!s->list55_more) {
        dynbuf_reset(&s->l87);
        dynbuf_reset(&s->l88);
        s->have87 = s->have88 = 0;
    }
    struct ymsg_kv kv;
    size_t pos = 0;
    while (ymsg_next(pkt, &pos, &kv)) {
        if (kv.key == YMSG_KEY_BUDDY_LIST) {
            s->have87 = 1;
            append_text(s, &s->l87, &kv);
        } else if (kv.key == YMSG_KEY_IGNORE_LIST) {
            s->have88 = 1;
            append_text(s, &s->l88, &kv);
        }
    }
    s->list55_more = pkt->hdr.status == YMSG_PKT_CONTINUED;
    if (s->list55_more)
        return;
    if (s->have87 || s->have88) {
        if (s->have87) {
            roster_reset(s);
            char *save = NULL;
            for (char *line = s->l87.data ? strtok_r(s->l87.data, "\r\n", &save) : NULL; line;
                 line = strtok_r(NULL, "\r\n", &save)) {
                char *colon = strchr(line, ':');
                if (!colon)
                    continue;
                *colon = 0;
                struct ymsg_kv g = {0, (const uint8_t *)line, strlen(line)};
                char group[YMSG_GROUP_MAX];
                sess_text_clean_into(&g, 0, group, sizeof group);
                group_add(s, group);
                char *save2 = NULL;
                for (char *id = strtok_r(colon + 1, ",", &save2); id; id = strtok_r(NULL, ",", &save2)) {
                    struct ymsg_kv ik = {0, (const uint8_t *)id, strlen(id)};
                    char bid[YMSG_ID_MAX];
                    if (sess_kv_id(&ik, bid))
                        buddy_add(s, bid, group);
                }
            }
        }
        if (s->have88) {
            if (!s->have87)
                s->ignored.len = 0;
            char *save = NULL;
            for (char *id = s->l88.data ? strtok_r(s->l88.data, ",", &save) : NULL; id; id = strtok_r(NULL, ",", &save)) {
                struct ymsg_kv ik = {0, (const uint8_t *)id, strlen(id)};
                char bid[YMSG_ID_MAX];
                if (sess_kv_id(&ik, bid))
                    ignore_set(s, bid, 1);
            }
        }
        dynbuf_reset(&s->l87);
        dynbuf_reset(&s->l88);
        list_complete(s);
    } else if (s->state == YMSG_SS_AUTHRESP) {
        sess_logged_in(s);
    }
}

void sess_on_auth_req(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char who[YMSG_ID_MAX] = "", text[512] = "";
    uint32_t who_key = pkt->hdr.service == YMSG_SVC_NEWCONTACT ? YMSG_KEY_MY_ID : YMSG_KEY_FROM;
    if (ymsg_get(pkt, who_key, &kv) != 0 || !sess_kv_id(&kv, who))
        return;
    int utf8 = ymsg_count(pkt, YMSG_KEY_UTF8) > 0;
    if (ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0)
        sess_text_clean_into(&kv, utf8, text, sizeof text);
    struct ymsg_event ev = {.service = pkt->hdr.service, .status = pkt->hdr.status, .idle = -1};
    struct evstr str = {.who = who, .text = text};
    if (pkt->hdr.service == YMSG_SVC_NEWCONTACT) {
        if (pkt->hdr.status == 7) { /* old: your add was denied */
            ev.type = YMSG_EV_AUTH_ANSWER;
            ev.on = 0;
        } else {
            ev.type = YMSG_EV_AUTH_REQUEST;
            request_set(s, who, text, 1);
        }
    } else if (pkt->hdr.status == YMSG_PKT_AUTHREQ) {
        ev.type = YMSG_EV_AUTH_REQUEST;
        request_set(s, who, text, 1);
    } else {
        long long flag = 0;
        ymsg_get_int(pkt, YMSG_KEY_FLAG, &flag);
        ev.type = YMSG_EV_AUTH_ANSWER;
        ev.on = flag == 1;
        struct ymsg_buddy *b = (struct ymsg_buddy *)ymsg_session_find_buddy(s, who);
        if (b && ev.on)
            b->pending = 0;
    }
    sess_ev_push(s, &ev, &str);
}

void sess_on_list_ack(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    uint32_t svc = pkt->hdr.service;
    char who[YMSG_ID_MAX] = "", g1[YMSG_GROUP_MAX] = "", g2[YMSG_GROUP_MAX] = "";
    long long code = 0, flag = 0;
    ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &code);
    ymsg_get_int(pkt, YMSG_KEY_FLAG, &flag);
    if (ymsg_get(pkt, YMSG_KEY_BUDDY, &kv) == 0 ||
        (svc == YMSG_SVC_IGNORECONTACT && ymsg_get(pkt, YMSG_KEY_LOGIN_ID, &kv) == 0))
        sess_kv_id(&kv, who);
    struct ymsg_event ev = {.type = YMSG_EV_LIST_ACK, .service = svc, .code = (int)code,
                            .status = pkt->hdr.status, .idle = -1};
    switch (svc) {
    case YMSG_SVC_ADDBUDDY:
        if (ymsg_get(pkt, YMSG_KEY_GROUP, &kv) == 0)
            sess_text_clean_into(&kv, 1, g1, sizeof g1);
        if (who[0] && (code == 0 || code == YMSG_RESULT_DUPLICATE)) {
            struct ymsg_buddy *b = buddy_add(s, who, g1);
            long long pend = 0;
            if (b && ymsg_get_int(pkt, YMSG_KEY_PENDING, &pend) == 0)
                b->pending = pend != 0;
        }
        break;
    case YMSG_SVC_REMBUDDY:
        if (ymsg_get(pkt, YMSG_KEY_GROUP, &kv) == 0)
            sess_text_clean_into(&kv, 1, g1, sizeof g1);
        if (who[0] && code == 0)
            buddy_remove(s, who);
        break;
    case YMSG_SVC_IGNORECONTACT:
        ev.on = flag != 2;
        if (who[0] && code == 0)
            ignore_set(s, who, flag != 2);
        break;
    case YMSG_SVC_GROUPRENAME: {
        /* The real ack swaps them (65 = new, 67 = old, OY vector); accept either order. */
        char a[YMSG_GROUP_MAX] = "", b[YMSG_GROUP_MAX] = "";
        if (ymsg_get(pkt, YMSG_KEY_GROUP, &kv) == 0)
            sess_text_clean_into(&kv, 1, a, sizeof a);
        if (ymsg_get(pkt, YMSG_KEY_NEW_GROUP, &kv) == 0)
            sess_text_clean_into(&kv, 1, b, sizeof b);
        int b_exists = 0;
        for (size_t i = 0; i < s->groups.len; i++)
            if (strcmp(sess_groups(s)[i], b) == 0)
                b_exists = 1;
        const char *from = b_exists ? b : a, *to = b_exists ? a : b;
        snprintf(g1, sizeof g1, "%s", to);
        snprintf(g2, sizeof g2, "%s", from);
        if (code == 0 && from[0] && to[0]) {
            for (size_t i = 0; i < s->groups.len; i++)
                if (strcmp(sess_groups(s)[i], from) == 0)
                    snprintf(sess_groups(s)[i], YMSG_GROUP_MAX, "%s", to);
            for (size_t i = 0; i < s->buddies.len; i++)
                if (strcmp(sess_buddies(s)[i].group, from) == 0)
                    snprintf(sess_buddies(s)[i].group, YMSG_GROUP_MAX, "%s", to);
        }
        break;
    }
    case YMSG_SVC_CHGRP_15:
        if (ymsg_get(pkt, YMSG_KEY_NEW_GROUP_CHG, &kv) == 0)
            sess_text_clean_into(&kv, 1, g1, sizeof g1);
        if (ymsg_get(pkt, YMSG_KEY_OLD_GROUP, &kv) == 0)
            sess_text_clean_into(&kv, 1, g2, sizeof g2);
        if (who[0] && code == 0 && g1[0]) {
            struct ymsg_buddy *b = (struct ymsg_buddy *)ymsg_session_find_buddy(s, who);
            if (b)
                snprintf(b->group, sizeof b->group, "%s", g1);
            group_add(s, g1);
        }
        break;
    default:
        break;
    }
    const char *name = ymsg_result_code_name((int)code);
    struct evstr str = {.who = who, .group = g1, .group2 = g2, .text = name ? name : "unknown result"};
    sess_ev_push(s, &ev, &str);
}

int ymsg_session_add_buddy(struct ymsg_session *s, const char *who, const char *group, const char *msg)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(who) || !group || !group[0] || strlen(group) >= YMSG_GROUP_MAX || !sess_valid_text(group, 200) ||
        !sess_valid_text(msg, 1000))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_ADDBUDDY, 0);
    ymsg_build_str(&b, YMSG_KEY_MSG, msg ? msg : "");
    ymsg_build_str(&b, YMSG_KEY_GROUP, group);
    ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "319");
    ymsg_build_str(&b, YMSG_KEY_ENTRY_BEGIN, "319");
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_ACK_334, "0");
    ymsg_build_str(&b, YMSG_KEY_ENTRY_END, "319");
    ymsg_build_str(&b, YMSG_KEY_LIST_END, "319");
    return sess_pkt_send(s, &b);
}

int ymsg_session_remove_buddy(struct ymsg_session *s, const char *who, const char *group)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(who))
        return YMSG_EINVAL;
    if (!group || !group[0]) {
        const struct ymsg_buddy *bd = ymsg_session_find_buddy(s, who);
        group = bd ? bd->group : "";
    }
    if (!sess_valid_text(group, 200))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_REMBUDDY, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_GROUP, group);
    return sess_pkt_send(s, &b);
}

int ymsg_session_move_buddy(struct ymsg_session *s, const char *who, const char *from, const char *to)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(who) || !to || !to[0] || !sess_valid_text(to, 200) || !sess_valid_text(from, 200))
        return YMSG_EINVAL;
    if (!from || !from[0]) {
        const struct ymsg_buddy *bd = ymsg_session_find_buddy(s, who);
        from = bd ? bd->group : "";
    }
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_CHGRP_15, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "240");
    ymsg_build_str(&b, YMSG_KEY_ENTRY_BEGIN, "240");
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_OLD_GROUP, from);
    ymsg_build_str(&b, YMSG_KEY_NEW_GROUP_CHG, to);
    ymsg_build_str(&b, YMSG_KEY_ENTRY_END, "240");
    ymsg_build_str(&b, YMSG_KEY_LIST_END, "240");
    return sess_pkt_send(s, &b);
}

int ymsg_session_auth_reply(struct ymsg_session *s, const char *who, int accept, const char *msg)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(who) || !sess_valid_text(msg, 1000))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_AUTH_REQ_15, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_TO, who);
    ymsg_build_str(&b, YMSG_KEY_FLAG, accept ? "1" : "2");
    ymsg_build_str(&b, YMSG_KEY_ACK_334, "0");
    if (!accept) {
        ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
        ymsg_build_str(&b, YMSG_KEY_MSG, msg ? msg : "");
    }
    r = sess_pkt_send(s, &b);
    if (r == 0)
        request_set(s, who, "", 0);
    return r;
}

int ymsg_session_ignore(struct ymsg_session *s, const char *who, int ignore)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!sess_valid_id(who))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_IGNORECONTACT, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_FLAG, ignore ? "1" : "2");
    return sess_pkt_send(s, &b);
}

int ymsg_session_rename_group(struct ymsg_session *s, const char *from, const char *to)
{
    int r = sess_need_online(s);
    if (r)
        return r;
    if (!from || !to || !from[0] || !to[0] || strlen(to) >= YMSG_GROUP_MAX || !sess_valid_text(from, 200) ||
        !sess_valid_text(to, 200))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    sess_pkt_begin(s, &b, YMSG_SVC_GROUPRENAME, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_GROUP, from);
    ymsg_build_str(&b, YMSG_KEY_NEW_GROUP, to);
    return sess_pkt_send(s, &b);
}
