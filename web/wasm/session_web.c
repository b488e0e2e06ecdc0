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
