/* libymsg's client session for the browser.  JS owns the I/O: it sends what yw_session_output()
 * points at over the WebSocket, feeds received bytes to ymsg_session_feed(), answers HTTP_GET events
 * with fetch(), and reads events and the roster as JSON (yw_session_event(), yw_session_roster()).
 * Commands (ymsg_session_send_message, _buzz, _typing, _set_status, ...) are exported unwrapped. */
#include <stdlib.h>
#include <string.h>

#include <ymsg/ymsg.h>

#include "web_api.h"

/* A session with the defaults, the given ids and the origin of the token login ("" = the default
 * Yahoo host; the page passes its own origin). */
struct ymsg_session *yw_session_new(const char *user, const char *password, uint32_t initial_status,
                                    const char *login_url)
{
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = user;
    cfg.password = password;
    cfg.initial_status = initial_status;
    if (login_url && *login_url) cfg.login_url = login_url;
    return ymsg_session_new(&cfg);
}

/* Points the output buffer at nothing and returns how many bytes wait; JS copies them from
 * yw_session_pending_ptr() and then calls ymsg_session_consume(). */
static const uint8_t *yw_pending;  /* last pointer from ymsg_session_output() */

size_t yw_session_output(struct ymsg_session *s)
{
    return ymsg_session_output(s, &yw_pending);
}

const uint8_t *yw_session_pending_ptr(void) { return yw_pending; }

/* JS numbers are doubles: the clock comes in as one. */
int yw_session_start(struct ymsg_session *s, double now_ms) { return ymsg_session_start(s, (uint64_t)now_ms); }
int yw_session_tick(struct ymsg_session *s, double now_ms) { return ymsg_session_tick(s, (uint64_t)now_ms); }
double yw_session_timeout(struct ymsg_session *s, double now_ms)
{
    return (double)ymsg_session_timeout(s, (uint64_t)now_ms);
}

static int yw_kv_str(struct amf_buf *b, const char *key, const char *val)
{
    int rc = yw_printf(b, ",\"%s\":", key);
    return rc ? rc : yw_json_str(b, val);
}

/* Next event as a JSON object in the output buffer; returns its length, 0 when there is none. */
int yw_session_event(struct ymsg_session *s)
{
    struct amf_buf *b = yw_out_reset();
    const struct ymsg_event *ev = ymsg_session_next_event(s);
    if (!ev) return 0;
    int rc = yw_printf(b, "{\"type\":\"%s\",\"code\":%d,\"status\":%u,\"service\":%u,\"on\":%d,\"away\":%d,"
                          "\"time\":%lld,\"idle\":%lld,\"offline\":%s,\"network\":%s",
                       ymsg_event_type_name(ev->type), ev->code, (unsigned)ev->status, (unsigned)ev->service,
                       ev->on, ev->away, ev->time, ev->idle, (ev->flags & YMSG_EVF_OFFLINE) ? "true" : "false",
                       (ev->flags & YMSG_EVF_NETWORK) ? "true" : "false");
    if (!rc) rc = yw_kv_str(b, "who", ev->who);
    if (!rc) rc = yw_kv_str(b, "to", ev->to);
    if (!rc) rc = yw_kv_str(b, "text", ev->text);
    if (!rc) rc = yw_kv_str(b, "group", ev->group);
    if (!rc) rc = yw_kv_str(b, "group2", ev->group2);
    if (!rc) rc = yw_kv_str(b, "room", ev->room);
    if (!rc) rc = yw_kv_str(b, "list", ev->list);
    if (!rc) rc = yw_kv_str(b, "xfer", ev->xfer);
    if (!rc) rc = yw_printf(b, ",\"size\":%llu", (unsigned long long)ev->size);
    if (!rc) rc = amf_buf_append(b, "}", 1);
    return rc ? rc : (int)b->len;
}

static int yw_buddy_json(struct amf_buf *b, const struct ymsg_buddy *bd, int first)
{
    int rc = yw_printf(b, "%s{\"status\":%u,\"idle\":%lld,\"online\":%d,\"away\":%d,\"pending\":%d",
                       first ? "" : ",", (unsigned)bd->status, bd->idle, bd->online, bd->away, bd->pending);
    if (!rc) rc = yw_kv_str(b, "id", bd->id);
    if (!rc) rc = yw_kv_str(b, "group", bd->group);
    if (!rc) rc = yw_kv_str(b, "msg", bd->msg);
    return rc ? rc : amf_buf_append(b, "}", 1);
}

/* {"me","state","myStatus","groups":[...],"buddies":[...],"requests":[{id,msg}]} */
int yw_session_roster(struct ymsg_session *s)
{
    struct amf_buf *b = yw_out_reset();
    int rc = yw_printf(b, "{\"state\":%d,\"myStatus\":%u", (int)ymsg_session_state(s),
                       (unsigned)ymsg_session_my_status(s));
    if (!rc) rc = yw_kv_str(b, "me", ymsg_session_user(s));
    if (!rc) rc = yw_printf(b, ",\"groups\":[");
    for (size_t i = 0; !rc && i < ymsg_session_group_count(s); i++) {
        if (i) rc = amf_buf_append(b, ",", 1);
        if (!rc) rc = yw_json_str(b, ymsg_session_group(s, i));
    }
    if (!rc) rc = yw_printf(b, "],\"buddies\":[");
    for (size_t i = 0; !rc && i < ymsg_session_buddy_count(s); i++)
        rc = yw_buddy_json(b, ymsg_session_buddy(s, i), i == 0);
    if (!rc) rc = yw_printf(b, "],\"requests\":[");
    for (size_t i = 0; !rc && i < ymsg_session_request_count(s); i++) {
        const struct ymsg_auth_request *r = ymsg_session_request(s, i);
        rc = yw_printf(b, "%s{\"id\":", i ? "," : "");
        if (!rc) rc = yw_json_str(b, r->id);
        if (!rc) rc = yw_kv_str(b, "msg", r->msg);
        if (!rc) rc = amf_buf_append(b, "}", 1);
    }
    if (!rc) rc = amf_buf_append(b, "]}", 2);
    return rc ? rc : (int)b->len;
}

/* {"confs":[{"room","inviter","joined","members":[...]}],"room":"","roomMembers":[...]}: the
 * conferences and the chat room as the session knows them (only what the server told it). */
int yw_session_groups(struct ymsg_session *s)
{
    struct amf_buf *b = yw_out_reset();
    int rc = yw_printf(b, "{\"confs\":[");
    for (size_t i = 0; !rc && i < ymsg_session_conf_count(s); i++) {
        const struct ymsg_conf *c = ymsg_session_conf(s, i);
        rc = yw_printf(b, "%s{\"joined\":%d", i ? "," : "", c->joined);
        if (!rc) rc = yw_kv_str(b, "room", c->room);
        if (!rc) rc = yw_kv_str(b, "inviter", c->inviter);
        if (!rc) rc = yw_printf(b, ",\"members\":[");
        for (size_t j = 0; !rc && j < c->nmembers; j++) {
            if (j) rc = amf_buf_append(b, ",", 1);
            if (!rc) rc = yw_json_str(b, c->members[j]);
        }
        if (!rc) rc = amf_buf_append(b, "]}", 2);
    }
    if (!rc) rc = amf_buf_append(b, "]", 1);
    if (!rc) rc = yw_kv_str(b, "room", ymsg_session_room(s));
    if (!rc) rc = yw_printf(b, ",\"roomMembers\":[");
    for (size_t i = 0; !rc && i < ymsg_session_room_member_count(s); i++) {
        if (i) rc = amf_buf_append(b, ",", 1);
        if (!rc) rc = yw_json_str(b, ymsg_session_room_member(s, i));
    }
    if (!rc) rc = amf_buf_append(b, "]}", 2);
    return rc ? rc : (int)b->len;
}

#define YW_CONF_INVITEES_MAX 64  /* invitees in one call (ymsgd's conf_max_members is at most 64) */

/* One id per line (JS has no char**) into ids/who; the count, or -1 for too many or too long. */
static int yw_id_lines(const char *lines, char ids[][YMSG_ID_MAX], const char **who)
{
    int n = 0;
    for (const char *p = lines ? lines : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            if (n == YW_CONF_INVITEES_MAX || len >= YMSG_ID_MAX) return -1;
            memcpy(ids[n], p, len);
            ids[n][len] = 0;
            who[n] = ids[n];
            n++;
        }
        p += len + (e ? 1 : 0);
    }
    return n;
}

/* ymsg_session_conf_create with the invitees as one string, one id per line; room "" = a new
 * "<me>-<n>" name.  The conference's name goes to the output buffer; returns its length or a
 * negative YMSG_E*. */
int yw_conf_create(struct ymsg_session *s, const char *room, const char *who_lines, const char *msg)
{
    const char *who[YW_CONF_INVITEES_MAX];
    char ids[YW_CONF_INVITEES_MAX][YMSG_ID_MAX];
    int n = yw_id_lines(who_lines, ids, who);
    if (n < 0) return YMSG_EINVAL;
    char name[YMSG_ROOM_MAX];
    int rc = ymsg_session_conf_create(s, room && *room ? room : NULL, who, (size_t)n, msg, name, sizeof name);
    if (rc) return rc;
    struct amf_buf *b = yw_out_reset();
    rc = amf_buf_append(b, name, strlen(name));
    return rc ? YMSG_ENOMEM : (int)b->len;
}

/* ymsg_session_conf_rejoin with the members we knew as one string, one id per line. */
int yw_conf_rejoin(struct ymsg_session *s, const char *room, const char *who_lines)
{
    const char *who[YW_CONF_INVITEES_MAX];
    char ids[YW_CONF_INVITEES_MAX][YMSG_ID_MAX];
    int n = yw_id_lines(who_lines, ids, who);
    return n < 0 ? YMSG_EINVAL : ymsg_session_conf_rejoin(s, room, who, (size_t)n);
}

/* ymsg_session_file_send with the size as a JS number (exact up to 2^53 bytes): the transfer's id
 * goes to the output buffer; returns its length or a negative YMSG_E*. */
int yw_file_send(struct ymsg_session *s, const char *who, const char *name, double size)
{
    if (!(size >= 1 && size <= 9007199254740992.0)) return YMSG_EINVAL;
    char id[YMSG_XFER_ID_MAX];
    int rc = ymsg_session_file_send(s, who, name, (uint64_t)size, id);
    if (rc) return rc;
    struct amf_buf *b = yw_out_reset();
    rc = amf_buf_append(b, id, strlen(id));
    return rc ? YMSG_ENOMEM : (int)b->len;
}

/* ymsg_session_file_progress with the count as a JS number. */
int yw_file_progress(struct ymsg_session *s, const char *id, double done)
{
    if (!(done >= 0 && done <= 9007199254740992.0)) return YMSG_EINVAL;
    return ymsg_session_file_progress(s, id, (uint64_t)done);
}
