/* Sans-IO YMSG16 client session: token login (§5.1), roster (§6), messages, typing, buzz, presence
 * (§7) and keepalives, driven by bytes in / bytes out / tick(now) / events.  See the session section of
 * include/ymsg/ymsg.h for the driver contract.
 *
 * Tolerance is deliberate: the session accepts both LIST_15 end conventions (status 0, 303=318),
 * multi-packet replies (status 5), STATUS_15 entries split across packets (like libyahoo2's half_user),
 * old-style presence (0x01/0x02/0x03/0x04), the old 0x55 buddy list, session ids that change, unknown
 * services and keys (logged at debug level), and malformed packets (skipped, not fatal). */
#include "ymsg/ymsg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCRATCH_CAP   (YMSG_HEADER_LEN + YMSG_MAX_BODY)
#define MIN_INBUF     (YMSG_HEADER_LEN + YMSG_MAX_BODY)
#define SEEN_IDS      64          /* message ids remembered for de-duplication (§7.1: YM9 re-sends) */
#define TOKEN_MAX     1024        /* token / crumb / cookie values */
#define CHALLENGE_MAX 512
#define CLIENT_ID_244 "4194239"   /* Pidgin / libyahoo2 capability bits (§5.1) */

/* One queued event with its strings stored behind it. */
struct sev {
    struct ymsg_event ev;         /* the public part */
    char data[];                  /* NUL-terminated strings the ev pointers refer to */
};

/* Strings of an event being built (borrowed; copied by ev_push). */
struct evstr {
    const char *who;              /* -> ev.who */
    const char *to;               /* -> ev.to */
    const char *text;             /* -> ev.text */
    const char *group;            /* -> ev.group */
    const char *group2;           /* -> ev.group2 */
};

/* A presence entry being accumulated; may span packets (STATUS_15 status 5). */
struct pres_acc {
    int have_id;                  /* an id was seen: the entry is open */
    char id[YMSG_ID_MAX];         /* buddy */
    int have_status;              /* key 10 seen */
    long long status;             /* key 10 */
    int have_msg;                 /* key 19 seen */
    char msg[YMSG_STATUS_MSG_MAX];/* key 19 */
    int away;                     /* key 47 */
    int have13;                   /* key 13 seen */
    long long flag13;             /* key 13: 0 = offline */
    long long idle;               /* key 137, -1 if none */
    uint32_t service;             /* packet service that opened the entry */
    uint32_t hdr_status;          /* its header status (old 0x03/0x04 carry the code there) */
};

/* A LIST_15 buddy/ignore entry being accumulated. */
struct list_acc {
    int have_id;                  /* key 7 seen */
    int type;                     /* 319 buddy, 320 ignore, 0 unknown */
    char id[YMSG_ID_MAX];         /* key 7 */
    int pending;                  /* key 223 */
    int stealth;                  /* key 317 */
    int federation;               /* key 241 */
};

struct ymsg_session {
    struct ymsg_session_config cfg;   /* caps, timers, callbacks (string fields point at the copies below) */
    char user[YMSG_ID_MAX];           /* own id, lower case */
    char *password;                   /* wiped on free */
    char *login_url;                  /* token login base URL */
    char locale[16];                  /* key 98 */
    char client_version[32];          /* key 135 */
    enum ymsg_session_state state;    /* see enum */
    uint32_t session_id;              /* last id the server used (adopted from every packet, §1.4) */
    uint32_t my_status;               /* own presence */
    int started;                      /* ymsg_session_start() called */
    uint64_t now;                     /* last time seen by start/tick */
    uint64_t login_deadline;          /* now + login_timeout_ms at start */
    uint64_t next_keepalive;          /* when 0x8A is due (0 = not running) */
    uint64_t next_ping;               /* when 0x12 is due */
    uint64_t msg_counter;             /* for key 429 ids */

    /* I/O buffers */
    uint8_t *in;                      /* unparsed server bytes */
    size_t in_len;                    /* bytes in `in` */
    size_t skip;                      /* bytes still to discard of a packet that was skipped */
    uint8_t *out;                     /* bytes for the server */
    size_t out_off;                   /* first unsent byte */
    size_t out_len;                   /* end of pending bytes */
    uint8_t *scratch;                 /* one packet being built */
    struct ymsg_limits lim;           /* decoder limits */

    /* events */
    struct sev **evq;                 /* ring of queued events */
    size_t ev_head;                   /* index of the oldest */
    size_t ev_count;                  /* how many are queued */
    struct sev *ev_cur;               /* returned by the last next_event, freed on the next call */

    /* token login */
    char challenge[CHALLENGE_MAX];    /* key 94 */
    char crumb[TOKEN_MAX];            /* from pwtoken_login */
    char ycookie[TOKEN_MAX];          /* key 277 */
    char tcookie[TOKEN_MAX];          /* key 278 */
    char bcookie[TOKEN_MAX];          /* key 59 */

    /* roster */
    struct ymsg_buddy *buddies;       /* list order */
    size_t nbuddies;                  /* used */
    size_t buddies_alloc;             /* allocated */
    uint32_t *bidx;                   /* open-addressing index: slot = buddy index + 1, 0 = empty */
    size_t bidx_cap;                  /* slots (a power of two, at least twice nbuddies) */
    struct ymsg_buddy *old_buddies;   /* previous roster while a new list arrives (keeps presence) */
    size_t nold;                      /* its length */
    char (*groups)[YMSG_GROUP_MAX];   /* group names */
    size_t ngroups;                   /* used */
    size_t groups_alloc;              /* allocated */
    char (*ignored)[YMSG_ID_MAX];     /* ignore list */
    size_t nignored;                  /* used */
    size_t ignored_alloc;             /* allocated */
    struct ymsg_auth_request *requests; /* unanswered authorisation requests (max_requests of them) */
    size_t nrequests;                 /* used */

    /* multi-packet parsing state */
    int list15_more;                  /* the last LIST_15 had status 5: the next one continues it */
    char list15_group[YMSG_GROUP_MAX];/* current group across LIST_15 packets (Pidgin's current_list15_grp) */
    struct list_acc list15_entry;     /* entry being read */
    struct pres_acc half;             /* STATUS_15 entry split across packets */
    int status15_more;                /* the last STATUS_15 had status 5 */
    char *l87, *l88;                  /* 0x55 list text accumulated across packets */
    size_t l87_len, l88_len;          /* their lengths */
    int have87, have88;               /* seen in this reply */
    int list55_more;                  /* the last 0x55 had status 5 */

    uint64_t seen[SEEN_IDS];          /* hashes of (sender, id) of recent messages */
    size_t seen_next;                 /* ring position */

    struct ymsg_session_stats stats;  /* counters */
};

/* ------------------------------------------------------------------------------------------------
 * small helpers
 * ---------------------------------------------------------------------------------------------- */
static void slog(struct ymsg_session *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void slog(struct ymsg_session *s, int level, const char *fmt, ...)
{
    if (!s->cfg.log || level < s->cfg.log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_ud, level, buf);
}

/* Copies a value NUL-terminated, truncated to cap-1; NUL bytes inside end the string. */
static void kv_copy(const struct ymsg_kv *kv, char *dst, size_t cap)
{
    size_t n = kv->len < cap - 1 ? kv->len : cap - 1;
    memcpy(dst, kv->val, n);
    dst[n] = 0;
}

/* An id must fit and must not contain bytes that make no sense in an id (controls, spaces, commas). */
static int kv_id(const struct ymsg_kv *kv, char dst[YMSG_ID_MAX])
{
    if (kv->len == 0 || kv->len >= YMSG_ID_MAX)
        return 0;
    for (size_t i = 0; i < kv->len; i++)
        if (kv->val[i] <= 0x20 || kv->val[i] == 0x7f || kv->val[i] == ',')
            return 0;
    memcpy(dst, kv->val, kv->len);
    dst[kv->len] = 0;
    return 1;
}

static long long kv_int(const struct ymsg_kv *kv, long long dflt)
{
    char buf[24];
    if (kv->len == 0 || kv->len >= sizeof buf)
        return dflt;
    memcpy(buf, kv->val, kv->len);
    buf[kv->len] = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    return *end ? dflt : v;
}

static int kv_is(const struct ymsg_kv *kv, const char *s)
{
    size_t n = strlen(s);
    return kv->len == n && memcmp(kv->val, s, n) == 0;
}

static void lower(char *p)
{
    for (; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static uint64_t fnv1a(uint64_t h, const char *p, int fold)
{
    for (; *p; p++) {
        h ^= (unsigned char)(fold ? tolower((unsigned char)*p) : *p);
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

static int utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

/* Yahoo formatting inside text: ESC[...m colour codes and a few HTML-ish tags.  Returns the length of
 * the code at p, or 0. */
static size_t format_code(const uint8_t *p, size_t n)
{
    if (p[0] == 0x1b && n >= 2 && p[1] == '[') {
        for (size_t i = 2; i < n && i < 24; i++)
            if (p[i] == 'm')
                return i + 1;
        return 0;
    }
    if (p[0] != '<' || n < 3)
        return 0;
    static const char *const tags[] = {"font", "fade", "alt", "b", "i", "u", "s"};
    size_t i = 1;
    if (p[i] == '/')
        i++;
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        size_t tl = strlen(tags[t]);
        if (n - i > tl && strncasecmp((const char *)p + i, tags[t], tl) == 0 &&
            (p[i + tl] == '>' || p[i + tl] == ' ')) {
            for (size_t j = i + tl; j < n && j < 256; j++)
                if (p[j] == '>')
                    return j + 1;
            return 0;
        }
    }
    return 0;
}

/* Message / status text to display-safe UTF-8: formatting codes removed, control characters other than
 * tab and newline dropped, invalid UTF-8 read as ISO-8859-1 when key 97 is absent and replaced by
 * U+FFFD otherwise.  Returns a malloc'd string or NULL. */
static char *text_clean(const uint8_t *p, size_t n, int utf8_flag)
{
    int latin1 = !utf8_flag && !utf8_valid(p, n);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t f = format_code(p + i, n - i);
        if (f) { i += f; continue; }
        uint8_t c = p[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != 0x7f)
                out[o++] = (char)c;
            else if (c == '\t' || c == '\n')
                out[o++] = (char)c;
            else if (c == '\r' && !(i + 1 < n && p[i + 1] == '\n'))
                out[o++] = '\n';
            i++;
            continue;
        }
        if (latin1) {
            if (c >= 0xA0) { out[o++] = (char)(0xC0 | (c >> 6)); out[o++] = (char)(0x80 | (c & 0x3F)); }
            i++;
            continue;
        }
        size_t l = utf8_seq(p + i, n - i);
        if (!l) {
            memcpy(out + o, "\xEF\xBF\xBD", 3); o += 3; i++;
            continue;
        }
        if (l == 2 && c == 0xC2 && p[i + 1] < 0xA0) { i += 2; continue; } /* C1 controls */
        memcpy(out + o, p + i, l);
        o += l;
        i += l;
    }
    out[o] = 0;
    return out;
}

static void text_clean_into(const struct ymsg_kv *kv, int utf8_flag, char *dst, size_t cap)
{
    char *t = text_clean(kv->val, kv->len, utf8_flag);
    if (!t) { dst[0] = 0; return; }
    size_t n = strlen(t);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80) /* do not cut a sequence */
            n--;
    }
    memcpy(dst, t, n);
    dst[n] = 0;
    free(t);
}

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
};

const char *ymsg_event_type_name(enum ymsg_event_type type)
{
    if ((unsigned)type < sizeof ev_names / sizeof ev_names[0] && ev_names[type])
        return ev_names[type];
    return "unknown";
}

static void ev_push(struct ymsg_session *s, const struct ymsg_event *proto, const struct evstr *str)
{
    static const struct evstr none;
    if (!str)
        str = &none;
    const char *src[5] = {str->who, str->to, str->text, str->group, str->group2};
    size_t lens[5], total = 0;
    for (int i = 0; i < 5; i++) {
        lens[i] = src[i] ? strlen(src[i]) : 0;
        total += lens[i] + 1;
    }
    if (s->ev_count >= s->cfg.max_events) {
        s->stats.events_dropped++;
        slog(s, YMSG_LOG_WARN, "event queue full (%zu): dropped a %s event", s->ev_count,
             ymsg_event_type_name(proto->type));
        return;
    }
    struct sev *e = malloc(sizeof *e + total);
    if (!e) {
        s->stats.events_dropped++;
        return;
    }
    e->ev = *proto;
    char *p = e->data;
    const char **dst[5] = {&e->ev.who, &e->ev.to, &e->ev.text, &e->ev.group, &e->ev.group2};
    for (int i = 0; i < 5; i++) {
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

static void ev_simple(struct ymsg_session *s, enum ymsg_event_type type, int code, const char *text)
{
    struct ymsg_event ev = {.type = type, .code = code, .idle = -1};
    struct evstr str = {.text = text};
    ev_push(s, &ev, &str);
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

/* Closing: one DISCONNECTED event, state CLOSED, timers off. */
static void session_fail(struct ymsg_session *s, int code, const char *reason)
{
    if (s->state == YMSG_SS_CLOSED)
        return;
    s->state = YMSG_SS_CLOSED;
    s->next_keepalive = s->next_ping = 0;
    slog(s, YMSG_LOG_INFO, "session closed: %s", reason);
    ev_simple(s, YMSG_EV_DISCONNECTED, code, reason);
}

/* ------------------------------------------------------------------------------------------------
 * output
 * ---------------------------------------------------------------------------------------------- */
static void pkt_begin(struct ymsg_session *s, struct ymsg_builder *b, uint16_t service, uint32_t status)
{
    ymsg_builder_init(b, s->scratch, SCRATCH_CAP);
    ymsg_build_begin(b, service, status, s->session_id);
}

static int pkt_send(struct ymsg_session *s, struct ymsg_builder *b)
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
        slog(s, YMSG_LOG_WARN, "output buffer full (%zu bytes pending)", s->out_len - s->out_off);
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
    while (want < s->nbuddies * 2)
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
    for (size_t i = 0; i < s->nbuddies; i++) {
        size_t h = (size_t)fnv1a(0xcbf29ce484222325ULL, s->buddies[i].id, 1) & (s->bidx_cap - 1);
        while (s->bidx[h])
            h = (h + 1) & (s->bidx_cap - 1);
        s->bidx[h] = (uint32_t)i + 1;
    }
}

static ssize_t roster_find(const struct ymsg_session *s, const char *id)
{
    if (!s->bidx)
        return buddy_index(s->buddies, s->nbuddies, id);
    size_t h = (size_t)fnv1a(0xcbf29ce484222325ULL, id, 1) & (s->bidx_cap - 1);
    while (s->bidx[h]) {
        size_t i = s->bidx[h] - 1;
        if (strcasecmp(s->buddies[i].id, id) == 0)
            return (ssize_t)i;
        h = (h + 1) & (s->bidx_cap - 1);
    }
    return -1;
}

static void bidx_insert(struct ymsg_session *s, size_t i)
{
    if (!s->bidx || s->nbuddies * 2 > s->bidx_cap) {
        bidx_rebuild(s);
        return;
    }
    size_t h = (size_t)fnv1a(0xcbf29ce484222325ULL, s->buddies[i].id, 1) & (s->bidx_cap - 1);
    while (s->bidx[h])
        h = (h + 1) & (s->bidx_cap - 1);
    s->bidx[h] = (uint32_t)i + 1;
}

static void group_add(struct ymsg_session *s, const char *name)
{
    if (!name[0])
        return;
    for (size_t i = 0; i < s->ngroups; i++)
        if (strcmp(s->groups[i], name) == 0)
            return;
    if (s->ngroups >= s->cfg.max_groups) {
        s->stats.capped++;
        slog(s, YMSG_LOG_WARN, "group cap (%zu) reached", s->cfg.max_groups);
        return;
    }
    if (s->ngroups == s->groups_alloc) {
        size_t na = s->groups_alloc ? s->groups_alloc * 2 : 16;
        void *p = realloc(s->groups, na * sizeof *s->groups);
        if (!p) { s->stats.capped++; return; }
        s->groups = p;
        s->groups_alloc = na;
    }
    snprintf(s->groups[s->ngroups++], YMSG_GROUP_MAX, "%s", name);
}

static struct ymsg_buddy *buddy_add(struct ymsg_session *s, const char *id, const char *group)
{
    ssize_t i = roster_find(s, id);
    if (i >= 0) {
        if (group && group[0])
            snprintf(s->buddies[i].group, YMSG_GROUP_MAX, "%s", group);
        return &s->buddies[i];
    }
    if (s->nbuddies >= s->cfg.max_buddies) {
        s->stats.capped++;
        slog(s, YMSG_LOG_WARN, "buddy cap (%zu) reached, %s not kept", s->cfg.max_buddies, id);
        return NULL;
    }
    if (s->nbuddies == s->buddies_alloc) {
        size_t na = s->buddies_alloc ? s->buddies_alloc * 2 : 32;
        void *p = realloc(s->buddies, na * sizeof *s->buddies);
        if (!p) { s->stats.capped++; return NULL; }
        s->buddies = p;
        s->buddies_alloc = na;
    }
    struct ymsg_buddy *b = &s->buddies[s->nbuddies++];
    memset(b, 0, sizeof *b);
    snprintf(b->id, sizeof b->id, "%s", id);
    bidx_insert(s, s->nbuddies - 1);
    snprintf(b->group, sizeof b->group, "%s", group ? group : "");
    b->idle = -1;
    /* A re-sent list usually keeps its order: try the same position before scanning. */
    size_t pos = s->nbuddies - 1;
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
    memmove(&s->buddies[i], &s->buddies[i + 1], (s->nbuddies - (size_t)i - 1) * sizeof *s->buddies);
    s->nbuddies--;
    bidx_rebuild(s);
}

static void ignore_set(struct ymsg_session *s, const char *id, int on)
{
    for (size_t i = 0; i < s->nignored; i++) {
        if (strcasecmp(s->ignored[i], id) == 0) {
            if (!on) {
                memmove(&s->ignored[i], &s->ignored[i + 1], (s->nignored - i - 1) * sizeof *s->ignored);
                s->nignored--;
            }
            return;
        }
    }
    if (!on)
        return;
    if (s->nignored >= s->cfg.max_ignored) {
        s->stats.capped++;
        return;
    }
    if (s->nignored == s->ignored_alloc) {
        size_t na = s->ignored_alloc ? s->ignored_alloc * 2 : 16;
        void *p = realloc(s->ignored, na * sizeof *s->ignored);
        if (!p) { s->stats.capped++; return; }
        s->ignored = p;
        s->ignored_alloc = na;
    }
    snprintf(s->ignored[s->nignored++], YMSG_ID_MAX, "%s", id);
}

/* A new list reply replaces the roster; the old entries are kept until it completes so that presence
 * already known survives. */
static void roster_reset(struct ymsg_session *s)
{
    free(s->old_buddies);
    s->old_buddies = s->buddies;
    s->nold = s->nbuddies;
    s->buddies = NULL;
    s->nbuddies = s->buddies_alloc = 0;
    if (s->bidx)
        memset(s->bidx, 0, s->bidx_cap * sizeof *s->bidx);
    s->ngroups = 0;
    s->nignored = 0;
}

static void roster_done(struct ymsg_session *s)
{
    free(s->old_buddies);
    s->old_buddies = NULL;
    s->nold = 0;
}

size_t ymsg_session_buddy_count(const struct ymsg_session *s) { return s->nbuddies; }
const struct ymsg_buddy *ymsg_session_buddy(const struct ymsg_session *s, size_t i)
{
    return i < s->nbuddies ? &s->buddies[i] : NULL;
}
const struct ymsg_buddy *ymsg_session_find_buddy(const struct ymsg_session *s, const char *id)
{
    ssize_t i = id ? roster_find(s, id) : -1;
    return i >= 0 ? &s->buddies[i] : NULL;
}
size_t ymsg_session_group_count(const struct ymsg_session *s) { return s->ngroups; }
const char *ymsg_session_group(const struct ymsg_session *s, size_t i)
{
    return i < s->ngroups ? s->groups[i] : NULL;
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

size_t ymsg_session_ignored_count(const struct ymsg_session *s) { return s->nignored; }
const char *ymsg_session_ignored(const struct ymsg_session *s, size_t i)
{
    return i < s->nignored ? s->ignored[i] : NULL;
}

/* ------------------------------------------------------------------------------------------------
 * login
 * ---------------------------------------------------------------------------------------------- */
static void logged_in(struct ymsg_session *s)
{
    if (s->state != YMSG_SS_AUTHRESP)
        return;
    s->state = YMSG_SS_ONLINE;
    s->next_keepalive = s->now + s->cfg.keepalive_ms;
    s->next_ping = s->now + s->cfg.ping_ms;
    /* Like Pidgin: announce the real status once the list is in (0x54 status already said it). */
    struct ymsg_builder b;
    if (s->my_status == YMSG_STATUS_INVISIBLE) {
        pkt_begin(s, &b, YMSG_SVC_Y6_VISIBLE_TOGGLE, 0);
        ymsg_build_str(&b, YMSG_KEY_FLAG, "2");
    } else {
        pkt_begin(s, &b, YMSG_SVC_Y6_STATUS_UPDATE, 0);
        ymsg_build_int(&b, YMSG_KEY_STATUS, s->my_status);
        ymsg_build_str(&b, YMSG_KEY_CUSTOM_MSG, "");
        ymsg_build_str(&b, YMSG_KEY_AWAY, "0");
    }
    pkt_send(s, &b);
    struct ymsg_event ev = {.type = YMSG_EV_LOGGED_IN, .status = s->my_status, .idle = -1};
    struct evstr str = {.who = s->user};
    ev_push(s, &ev, &str);
}

static void login_failed(struct ymsg_session *s, int code, const char *text, unsigned flags)
{
    struct ymsg_event ev = {.type = YMSG_EV_LOGIN_FAILED, .code = code, .flags = flags, .idle = -1};
    struct evstr str = {.who = s->user, .text = text};
    ev_push(s, &ev, &str);
    session_fail(s, flags & YMSG_EVF_NETWORK ? YMSG_EPROTO : YMSG_EAUTH, text);
}

/* Percent-encoding of a query value: everything but unreserved characters. */
static int url_append(char *dst, size_t cap, size_t *len, const char *s, int encode)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!encode || isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            if (*len + 1 >= cap)
                return YMSG_ENOSPC;
            dst[(*len)++] = (char)c;
        } else {
            if (*len + 3 >= cap)
                return YMSG_ENOSPC;
            dst[(*len)++] = '%';
            dst[(*len)++] = hex[c >> 4];
            dst[(*len)++] = hex[c & 15];
        }
    }
    dst[*len] = 0;
    return 0;
}

static void http_request(struct ymsg_session *s, const char *path, const char *const *params)
{
    char url[4096];
    size_t len = 0;
    int r = url_append(url, sizeof url, &len, s->login_url, 0);
    r |= url_append(url, sizeof url, &len, path, 0);
    for (size_t i = 0; params[i]; i += 2) {
        r |= url_append(url, sizeof url, &len, i ? "&" : "?", 0);
        r |= url_append(url, sizeof url, &len, params[i], 0);
        r |= url_append(url, sizeof url, &len, "=", 0);
        r |= url_append(url, sizeof url, &len, params[i + 1], 1);
    }
    if (r) {
        login_failed(s, YMSG_EINVAL, "login URL too long", YMSG_EVF_NETWORK);
        return;
    }
    struct ymsg_event ev = {.type = YMSG_EV_HTTP_GET, .idle = -1};
    struct evstr str = {.text = url};
    ev_push(s, &ev, &str);
    memset(url, 0, sizeof url); /* it holds the password */
}

static void on_auth(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    if (s->state != YMSG_SS_AUTH) {
        slog(s, YMSG_LOG_DEBUG, "0x57 outside login ignored");
        return;
    }
    struct ymsg_kv kv;
    if (ymsg_get(pkt, YMSG_KEY_CHALLENGE, &kv) != 0 || kv.len == 0 || kv.len >= sizeof s->challenge) {
        login_failed(s, YMSG_EPROTO, "server sent no usable challenge", YMSG_EVF_NETWORK);
        return;
    }
    kv_copy(&kv, s->challenge, sizeof s->challenge);
    long long method;
    if (ymsg_get_int(pkt, YMSG_KEY_FLAG, &method) == 0 && method != 2)
        slog(s, YMSG_LOG_WARN, "auth method %lld offered; using the token login anyway", method);
    s->state = YMSG_SS_TOKEN;
    const char *params[] = {"src", "ymsgr", "ts", "", "login", s->user, "passwd", s->password,
                            "chal", s->challenge, NULL};
    http_request(s, "/config/pwtoken_get", params);
}

/* If body is a complete, well-formed chunked encoding, de-chunk it into out and return the length;
 * otherwise return -1 (the body is taken as is). */
static ssize_t http_dechunk(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    int chunks = 0;
    for (;;) {
        size_t sz = 0, digits = 0;
        while (i < n && isxdigit((unsigned char)in[i])) {
            if (digits++ > 7)
                return -1;
            char c = (char)tolower((unsigned char)in[i++]);
            sz = sz * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (!digits)
            return -1;
        while (i < n && in[i] != '\n') /* chunk extensions, CR */
            i++;
        if (i >= n)
            return sz == 0 && chunks ? (ssize_t)o : -1;
        i++;
        if (sz == 0)
            return chunks ? (ssize_t)o : -1;
        if (n - i < sz)
            return -1;
        memcpy(out + o, in + i, sz);
        o += sz;
        i += sz;
        chunks++;
        if (i < n && in[i] == '\r')
            i++;
        if (i < n && in[i] == '\n')
            i++;
        if (i >= n)
            return (ssize_t)o; /* terminator missing: tolerate */
    }
}

/* The token-login answer, parsed tolerantly: code = first line that is a decimal number; then
 * "name=value" lines. */
struct http_answer {
    int have_code;                /* a code line was found */
    long code;                    /* its value */
    char ymsgr[TOKEN_MAX];        /* token */
    char crumb[TOKEN_MAX];        /* crumb */
    char y[TOKEN_MAX];            /* Y= body line */
    char t[TOKEN_MAX];            /* T= body line */
};

static void http_parse(const char *body, size_t n, struct http_answer *a)
{
    memset(a, 0, sizeof *a);
    char *buf = malloc(n + 1);
    if (!buf)
        return;
    ssize_t d = http_dechunk(body, n, buf);
    if (d < 0) {
        memcpy(buf, body, n);
        d = (ssize_t)n;
    }
    buf[d] = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = 0;
        if (!a->have_code) {
            size_t k = 0;
            while (line[k] && isdigit((unsigned char)line[k]))
                k++;
            if (k && k < 10 && !line[k]) {
                a->have_code = 1;
                a->code = strtol(line, NULL, 10);
                continue;
            }
        }
        struct { const char *name; char *dst; } f[] = {
            {"ymsgr=", a->ymsgr}, {"crumb=", a->crumb}, {"Y=", a->y}, {"T=", a->t}};
        for (size_t i = 0; i < 4; i++) {
            size_t pl = strlen(f[i].name);
            if (strncmp(line, f[i].name, pl) == 0 && !f[i].dst[0] && l - pl < TOKEN_MAX)
                memcpy(f[i].dst, line + pl, l - pl + 1);
        }
    }
    free(buf);
}

/* "Set-Cookie: NAME=value; attrs" → value up to the first ';' (case-insensitive header name). */
static void header_cookie(const char *h, size_t n, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && h[e] != '\n')
            e++;
        const char *line = h + i;
        size_t l = e - i;
        if (l && line[l - 1] == '\r')
            l--;
        if (l > 11 && strncasecmp(line, "Set-Cookie:", 11) == 0) {
            size_t p = 11;
            while (p < l && line[p] == ' ')
                p++;
            if (l - p > nl && strncmp(line + p, name, nl) == 0 && line[p + nl] == '=') {
                p += nl + 1;
                size_t q = p;
                while (q < l && line[q] != ';')
                    q++;
                if (q - p < cap) {
                    memcpy(dst, line + p, q - p);
                    dst[q - p] = 0;
                }
                return;
            }
        }
        i = e + 1;
    }
}

static int safe_token(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return 0;
    return 1;
}

static void send_authresp(struct ymsg_session *s)
{
    char resp[25];
    if (ymsg_auth16_response(s->crumb, s->challenge, resp) != 0) {
        login_failed(s, YMSG_ECRYPTO, "could not compute the login response", YMSG_EVF_NETWORK);
        return;
    }
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_AUTHRESP, s->my_status);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_Y_COOKIE, s->ycookie);
    ymsg_build_str(&b, YMSG_KEY_T_COOKIE, s->tcookie);
    ymsg_build_str(&b, YMSG_KEY_AUTH16_RESP, resp);
    ymsg_build_str(&b, YMSG_KEY_CLIENT_ID, CLIENT_ID_244);
    ymsg_build_str(&b, YMSG_KEY_AUTH_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_AUTH_ID, "1");
    if (s->bcookie[0])
        ymsg_build_str(&b, YMSG_KEY_COOKIE, s->bcookie);
    ymsg_build_str(&b, YMSG_KEY_LOCALE, s->locale);
    ymsg_build_str(&b, YMSG_KEY_CLIENT_VERSION, s->client_version);
    int r = pkt_send(s, &b);
    if (r < 0) {
        login_failed(s, r, "could not build the login packet", YMSG_EVF_NETWORK);
        return;
    }
    s->state = YMSG_SS_AUTHRESP;
}

int ymsg_session_http_response(struct ymsg_session *s, int http_status, const char *headers,
                               size_t headers_len, const char *body, size_t body_len)
{
    if (s->state != YMSG_SS_TOKEN && s->state != YMSG_SS_CRUMB)
        return YMSG_ESTATE;
    if (!body)
        body_len = 0;
    if (!headers)
        headers_len = 0;
    if (body_len > s->cfg.max_http_body)
        body_len = s->cfg.max_http_body;
    if (http_status == 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "login server unreachable: %.*s", (int)(body_len > 200 ? 200 : body_len),
                 body ? body : "");
        login_failed(s, YMSG_EPROTO, msg, YMSG_EVF_NETWORK);
        return 0;
    }
    struct http_answer *a = malloc(sizeof *a);
    if (!a) {
        login_failed(s, YMSG_ENOMEM, "out of memory", YMSG_EVF_NETWORK);
        return YMSG_ENOMEM;
    }
    http_parse(body, body_len, a);
    if (!a->have_code) {
        char msg[64];
        snprintf(msg, sizeof msg, "login server answered HTTP %d without a result code", http_status);
        login_failed(s, YMSG_EPROTO, msg, YMSG_EVF_NETWORK);
        free(a);
        return 0;
    }
    if (s->state == YMSG_SS_TOKEN) {
        if (a->code != 0) {
            const char *name = ymsg_login_code_name((int)a->code);
            char msg[128];
            snprintf(msg, sizeof msg, "%s (%ld)", name ? name : "login refused", a->code);
            login_failed(s, (int)a->code, msg, 0);
        } else if (!a->ymsgr[0] || !safe_token(a->ymsgr)) {
            login_failed(s, YMSG_EPROTO, "login server sent no token", YMSG_EVF_NETWORK);
        } else {
            s->state = YMSG_SS_CRUMB;
            const char *params[] = {"src", "ymsgr", "ts", "", "token", a->ymsgr, NULL};
            http_request(s, "/config/pwtoken_login", params);
        }
        memset(a, 0, sizeof *a);
        free(a);
        return 0;
    }
    /* pwtoken_login: Y/T from the body lines (Pidgin, OpenYMSG) or else from Set-Cookie (libyahoo2). */
    snprintf(s->crumb, sizeof s->crumb, "%s", a->crumb);
    snprintf(s->ycookie, sizeof s->ycookie, "%s", a->y);
    snprintf(s->tcookie, sizeof s->tcookie, "%s", a->t);
    if (!s->ycookie[0])
        header_cookie(headers, headers_len, "Y", s->ycookie, sizeof s->ycookie);
    if (!s->tcookie[0])
        header_cookie(headers, headers_len, "T", s->tcookie, sizeof s->tcookie);
    header_cookie(headers, headers_len, "B", s->bcookie, sizeof s->bcookie);
    int have_all = s->crumb[0] && s->ycookie[0] && s->tcookie[0] && safe_token(s->crumb) &&
                   safe_token(s->ycookie) && safe_token(s->tcookie) && safe_token(s->bcookie);
    long code = a->code;
    memset(a, 0, sizeof *a);
    free(a);
    if (code != 0 && !have_all) {
        char msg[96];
        snprintf(msg, sizeof msg, "token refused by the login server (%ld)", code);
        login_failed(s, (int)code, msg, 0);
    } else if (!have_all) {
        login_failed(s, YMSG_EPROTO, "login server sent no crumb or cookies", YMSG_EVF_NETWORK);
    } else {
        send_authresp(s);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * incoming packets
 * ---------------------------------------------------------------------------------------------- */
static void on_authresp(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    long long code = 0;
    int have = ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &code) == 0;
    if (pkt->hdr.status != YMSG_PKT_ERROR && !have) {
        slog(s, YMSG_LOG_DEBUG, "0x54 without an error ignored");
        return;
    }
    if (s->state == YMSG_SS_ONLINE) {
        slog(s, YMSG_LOG_WARN, "0x54 failure after login (66=%lld) ignored", code);
        return;
    }
    const char *name = ymsg_auth_code_name((int)code);
    char msg[160];
    char url[128] = "";
    ymsg_get_str(pkt, YMSG_KEY_URL, url, sizeof url);
    snprintf(msg, sizeof msg, "%s (%lld)%s%s", name ? name : "login refused", code, url[0] ? ": " : "", url);
    /* 52 is transient: report it as a network-type failure so drivers retry. */
    login_failed(s, (int)code, msg, code == YMSG_AUTH_TRANSIENT ? YMSG_EVF_NETWORK : 0);
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
        logged_in(s);
    struct ymsg_event ev = {.type = YMSG_EV_BUDDY_LIST, .code = (int)s->nbuddies, .idle = -1};
    ev_push(s, &ev, NULL);
}

static void on_list15(struct ymsg_session *s, const struct ymsg_packet *pkt)
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
            if (kv_is(&kv, "320")) {
                list15_commit(s);
                s->list15_group[0] = 0;
                e->type = 320;
            }
            break;
        case YMSG_KEY_ENTRY_BEGIN:
            list15_commit(s);
            if (kv_is(&kv, "319") || kv_is(&kv, "320"))
                e->type = (int)kv_int(&kv, 0);
            break;
        case YMSG_KEY_GROUP:
            list15_commit(s);
            {
                char g[YMSG_GROUP_MAX];
                text_clean_into(&kv, 1, g, sizeof g);
                snprintf(s->list15_group, sizeof s->list15_group, "%s", g);
                group_add(s, g);
                e->type = 319;
            }
            break;
        case YMSG_KEY_BUDDY:
            if (e->have_id)
                list15_commit(s);
            if (kv_id(&kv, e->id))
                e->have_id = 1;
            else
                s->stats.capped++;
            break;
        case YMSG_KEY_PENDING: e->pending = kv_int(&kv, 0) != 0; break;
        case YMSG_KEY_STEALTH_SETTING: e->stealth = (int)kv_int(&kv, 0); break;
        case YMSG_KEY_FEDERATION: e->federation = (int)kv_int(&kv, 0); break;
        case YMSG_KEY_ENTRY_END:
            list15_commit(s);
            if (kv_is(&kv, "318"))
                s->list15_group[0] = 0;
            break;
        case YMSG_KEY_LIST_END:
            list15_commit(s);
            if (kv_is(&kv, "318"))
                end_seen = 1;
            if (kv_is(&kv, "320"))
                e->type = 0;
            break;
        default:
            slog(s, YMSG_LOG_DEBUG, "LIST_15: key %u kept unhandled", kv.key);
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
static void append_text(struct ymsg_session *s, char **dst, size_t *len, const struct ymsg_kv *kv)
{
    if (*len + kv->len + 1 > s->cfg.max_list_text) {
        s->stats.capped++;
        slog(s, YMSG_LOG_WARN, "0x55 list text over %zu bytes dropped", s->cfg.max_list_text);
        return;
    }
    char *p = realloc(*dst, *len + kv->len + 1);
    if (!p) { s->stats.capped++; return; }
    memcpy(p + *len, kv->val, kv->len);
    *len += kv->len;
    p[*len] = 0;
    *dst = p;
}

static void on_list55(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    if (!s->list55_more) {
        s->l87_len = s->l88_len = 0;
        s->have87 = s->have88 = 0;
    }
    struct ymsg_kv kv;
    size_t pos = 0;
    while (ymsg_next(pkt, &pos, &kv)) {
        if (kv.key == YMSG_KEY_BUDDY_LIST) {
            s->have87 = 1;
            append_text(s, &s->l87, &s->l87_len, &kv);
        } else if (kv.key == YMSG_KEY_IGNORE_LIST) {
            s->have88 = 1;
            append_text(s, &s->l88, &s->l88_len, &kv);
        }
    }
    s->list55_more = pkt->hdr.status == YMSG_PKT_CONTINUED;
    if (s->list55_more)
        return;
    if (s->have87 || s->have88) {
        if (s->have87) {
            roster_reset(s);
            char *save = NULL;
            for (char *line = s->l87 ? strtok_r(s->l87, "\r\n", &save) : NULL; line;
                 line = strtok_r(NULL, "\r\n", &save)) {
                char *colon = strchr(line, ':');
                if (!colon)
                    continue;
                *colon = 0;
                struct ymsg_kv g = {0, (const uint8_t *)line, strlen(line)};
                char group[YMSG_GROUP_MAX];
                text_clean_into(&g, 0, group, sizeof group);
                group_add(s, group);
                char *save2 = NULL;
                for (char *id = strtok_r(colon + 1, ",", &save2); id; id = strtok_r(NULL, ",", &save2)) {
                    struct ymsg_kv ik = {0, (const uint8_t *)id, strlen(id)};
                    char bid[YMSG_ID_MAX];
                    if (kv_id(&ik, bid))
                        buddy_add(s, bid, group);
                }
            }
        }
        if (s->have88) {
            if (!s->have87)
                s->nignored = 0;
            char *save = NULL;
            for (char *id = s->l88 ? strtok_r(s->l88, ",", &save) : NULL; id; id = strtok_r(NULL, ",", &save)) {
                struct ymsg_kv ik = {0, (const uint8_t *)id, strlen(id)};
                char bid[YMSG_ID_MAX];
                if (kv_id(&ik, bid))
                    ignore_set(s, bid, 1);
            }
        }
        s->l87_len = s->l88_len = 0;
        list_complete(s);
    } else if (s->state == YMSG_SS_AUTHRESP) {
        logged_in(s);
    }
}

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
    ev_push(s, &ev, &str);
    memset(p, 0, sizeof *p);
    p->idle = -1;
}

static void on_presence(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    uint32_t svc = pkt->hdr.service;
    if (svc == YMSG_SVC_LOGOFF && pkt->hdr.status == YMSG_PKT_ERROR && ymsg_count(pkt, YMSG_KEY_BUDDY) == 0) {
        long long code = YMSG_AUTH_DUPLICATE_LOGIN;
        ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &code);
        ev_simple(s, YMSG_EV_KICKED, (int)code, "signed in from another location");
        session_fail(s, 0, "signed in from another location");
        return;
    }
    if (svc == YMSG_SVC_LOGOFF && s->state != YMSG_SS_ONLINE && ymsg_count(pkt, YMSG_KEY_BUDDY) == 0) {
        session_fail(s, 0, "logged off by the server");
        return;
    }
    /* libyahoo2: a status packet before the list also means the login is through; say so before the
     * presence it carries. */
    if (s->state == YMSG_SS_AUTHRESP && (svc == YMSG_SVC_STATUS_15 || svc == YMSG_SVC_LOGON))
        logged_in(s);
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
            if (kv_id(&kv, p->id)) {
                p->have_id = 1;
                p->service = svc;
                p->hdr_status = pkt->hdr.status;
            }
            break;
        case YMSG_KEY_STATUS: p->have_status = 1; p->status = kv_int(&kv, 0); break;
        case YMSG_KEY_CUSTOM_MSG: p->have_msg = 1; text_clean_into(&kv, utf8, p->msg, sizeof p->msg); break;
        case YMSG_KEY_AWAY: p->away = (int)kv_int(&kv, 0); break;
        case YMSG_KEY_FLAG: p->have13 = 1; p->flag13 = kv_int(&kv, 1); break;
        case YMSG_KEY_IDLE_TIME: p->idle = kv_int(&kv, -1); break;
        case YMSG_KEY_ENTRY_END: pres_flush(s, p); break;
        case YMSG_KEY_LIST_BEGIN: case YMSG_KEY_LIST_END: case YMSG_KEY_ENTRY_BEGIN:
        case YMSG_KEY_LOGIN_ID: case YMSG_KEY_ACTIVE_ID: case YMSG_KEY_NUM_ONLINE: case YMSG_KEY_SESSION_ID:
        case YMSG_KEY_IN_CHAT: case YMSG_KEY_UTF8: case YMSG_KEY_NOT_IDLE: case YMSG_KEY_CLIENT_ID:
        case YMSG_KEY_ICON_CHECKSUM: case YMSG_KEY_FEDERATION:
            break;
        default:
            slog(s, YMSG_LOG_DEBUG, "%s: key %u kept unhandled", ymsg_service_name(svc), kv.key);
        }
    }
    s->status15_more = svc == YMSG_SVC_STATUS_15 && pkt->hdr.status == YMSG_PKT_CONTINUED;
    if (!s->status15_more)
        pres_flush(s, p);
}

static int seen_before(struct ymsg_session *s, const char *from, const char *id)
{
    uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ULL, from, 1) ^ 0x1f, id, 0) | 1; /* 0 marks an empty slot */
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
        pkt_begin(s, &b, YMSG_SVC_MESSAGE_ACK, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
        ymsg_build_str(&b, YMSG_KEY_TO, m->from);
        ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "430");
        ymsg_build_str(&b, YMSG_KEY_ACK_MSG_ID, m->id);
        ymsg_build_str(&b, YMSG_KEY_LIST_END, "430");
        ymsg_build_str(&b, YMSG_KEY_MSG_450, "0");
        if (s->state == YMSG_SS_ONLINE)
            pkt_send(s, &b);
        if (seen_before(s, m->from, m->id)) {
            slog(s, YMSG_LOG_DEBUG, "duplicate message %s from %s dropped", m->id, m->from);
            memset(m, 0, sizeof *m);
            return;
        }
    }
    char *text = text_clean(m->text->val, m->text->len, utf8);
    int buzz = m->text->len == 6 && memcmp(m->text->val, "<ding>", 6) == 0;
    struct ymsg_event ev = {.type = buzz ? YMSG_EV_BUZZ : YMSG_EV_MESSAGE, .time = m->time,
                            .flags = offline ? YMSG_EVF_OFFLINE : 0, .service = pkt->hdr.service,
                            .status = pkt->hdr.status, .idle = -1};
    struct evstr str = {.who = m->from, .to = m->to[0] ? m->to : s->user, .text = text ? text : ""};
    ev_push(s, &ev, &str);
    free(text);
    memset(m, 0, sizeof *m);
}

static void on_message(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    int utf8 = 0;
    struct ymsg_kv kv;
    if (ymsg_get(pkt, YMSG_KEY_UTF8, &kv) == 0 && kv_is(&kv, "1"))
        utf8 = 1;
    if (pkt->hdr.status == YMSG_PKT_NOTSENT || pkt->hdr.status == YMSG_PKT_ERROR) {
        char who[YMSG_ID_MAX] = "", text[512] = "";
        if (ymsg_get(pkt, YMSG_KEY_TO, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_FROM, &kv) == 0)
            kv_id(&kv, who);
        if (ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0)
            text_clean_into(&kv, utf8, text, sizeof text);
        struct ymsg_event ev = {.type = pkt->hdr.status == YMSG_PKT_NOTSENT ? YMSG_EV_NOT_SENT : YMSG_EV_SYSTEM,
                                .status = pkt->hdr.status, .service = pkt->hdr.service, .idle = -1};
        struct evstr str = {.who = who, .text = text[0] ? text : "message not sent"};
        ev_push(s, &ev, &str);
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
            if (kv_id(&kv, m.from))
                m.have_from = 1;
            break;
        case YMSG_KEY_ACTIVE_ID:
            if (!m.have_from && kv_id(&kv, m.from))
                m.have_from = 1;
            break;
        case YMSG_KEY_TO: kv_id(&kv, m.to); break;
        case YMSG_KEY_MSG: m.text_kv = kv; m.text = &m.text_kv; break;
        case YMSG_KEY_TIME: m.time = kv_int(&kv, 0); break;
        case YMSG_KEY_MSG_ID:
            if (kv.len < sizeof m.id)
                kv_copy(&kv, m.id, sizeof m.id);
            break;
        case YMSG_KEY_ERR_MSG: m.have_err = 1; break;
        default:
            break;
        }
    }
    msg_flush(s, pkt, &m, utf8);
}

static void on_notify(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char who[YMSG_ID_MAX] = "";
    if ((ymsg_get(pkt, YMSG_KEY_FROM, &kv) != 0 && ymsg_get(pkt, YMSG_KEY_ACTIVE_ID, &kv) != 0) || !kv_id(&kv, who))
        return;
    if (ymsg_get(pkt, YMSG_KEY_NOTIFY_TYPE, &kv) != 0 || !(kv.len == 6 && strncasecmp((const char *)kv.val, "TYPING", 6) == 0)) {
        slog(s, YMSG_LOG_DEBUG, "notify from %s of another type ignored", who);
        return;
    }
    long long on = 0;
    ymsg_get_int(pkt, YMSG_KEY_FLAG, &on);
    struct ymsg_event ev = {.type = YMSG_EV_TYPING, .on = on == 1, .service = pkt->hdr.service, .idle = -1};
    struct evstr str = {.who = who};
    ev_push(s, &ev, &str);
}

static void on_auth_req(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    char who[YMSG_ID_MAX] = "", text[512] = "";
    uint32_t who_key = pkt->hdr.service == YMSG_SVC_NEWCONTACT ? YMSG_KEY_MY_ID : YMSG_KEY_FROM;
    if (ymsg_get(pkt, who_key, &kv) != 0 || !kv_id(&kv, who))
        return;
    int utf8 = ymsg_count(pkt, YMSG_KEY_UTF8) > 0;
    if (ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0)
        text_clean_into(&kv, utf8, text, sizeof text);
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
    ev_push(s, &ev, &str);
}

static void on_list_ack(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    struct ymsg_kv kv;
    uint32_t svc = pkt->hdr.service;
    char who[YMSG_ID_MAX] = "", g1[YMSG_GROUP_MAX] = "", g2[YMSG_GROUP_MAX] = "";
    long long code = 0, flag = 0;
    ymsg_get_int(pkt, YMSG_KEY_ERROR_CODE, &code);
    ymsg_get_int(pkt, YMSG_KEY_FLAG, &flag);
    if (ymsg_get(pkt, YMSG_KEY_BUDDY, &kv) == 0 ||
        (svc == YMSG_SVC_IGNORECONTACT && ymsg_get(pkt, YMSG_KEY_LOGIN_ID, &kv) == 0))
        kv_id(&kv, who);
    struct ymsg_event ev = {.type = YMSG_EV_LIST_ACK, .service = svc, .code = (int)code,
                            .status = pkt->hdr.status, .idle = -1};
    switch (svc) {
    case YMSG_SVC_ADDBUDDY:
        if (ymsg_get(pkt, YMSG_KEY_GROUP, &kv) == 0)
            text_clean_into(&kv, 1, g1, sizeof g1);
        if (who[0] && (code == 0 || code == YMSG_RESULT_DUPLICATE)) {
            struct ymsg_buddy *b = buddy_add(s, who, g1);
            long long pend = 0;
            if (b && ymsg_get_int(pkt, YMSG_KEY_PENDING, &pend) == 0)
                b->pending = pend != 0;
        }
        break;
    case YMSG_SVC_REMBUDDY:
        if (ymsg_get(pkt, YMSG_KEY_GROUP, &kv) == 0)
            text_clean_into(&kv, 1, g1, sizeof g1);
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
            text_clean_into(&kv, 1, a, sizeof a);
        if (ymsg_get(pkt, YMSG_KEY_NEW_GROUP, &kv) == 0)
            text_clean_into(&kv, 1, b, sizeof b);
        int b_exists = 0;
        for (size_t i = 0; i < s->ngroups; i++)
            if (strcmp(s->groups[i], b) == 0)
                b_exists = 1;
        const char *from = b_exists ? b : a, *to = b_exists ? a : b;
        snprintf(g1, sizeof g1, "%s", to);
        snprintf(g2, sizeof g2, "%s", from);
        if (code == 0 && from[0] && to[0]) {
            for (size_t i = 0; i < s->ngroups; i++)
                if (strcmp(s->groups[i], from) == 0)
                    snprintf(s->groups[i], YMSG_GROUP_MAX, "%s", to);
            for (size_t i = 0; i < s->nbuddies; i++)
                if (strcmp(s->buddies[i].group, from) == 0)
                    snprintf(s->buddies[i].group, YMSG_GROUP_MAX, "%s", to);
        }
        break;
    }
    case YMSG_SVC_CHGRP_15:
        if (ymsg_get(pkt, YMSG_KEY_NEW_GROUP_CHG, &kv) == 0)
            text_clean_into(&kv, 1, g1, sizeof g1);
        if (ymsg_get(pkt, YMSG_KEY_OLD_GROUP, &kv) == 0)
            text_clean_into(&kv, 1, g2, sizeof g2);
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
    ev_push(s, &ev, &str);
}

static void on_system(struct ymsg_session *s, const struct ymsg_packet *pkt)
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
        text_clean_into(&kv, utf8, text, sizeof text);
    } else {
        return;
    }
    struct ymsg_event ev = {.type = YMSG_EV_SYSTEM, .service = pkt->hdr.service, .status = pkt->hdr.status,
                            .idle = -1};
    struct evstr str = {.text = text};
    ev_push(s, &ev, &str);
}

static void handle_packet(struct ymsg_session *s, const struct ymsg_packet *pkt)
{
    s->stats.packets_in++;
    if (s->cfg.on_packet)
        s->cfg.on_packet(s->cfg.packet_ud, 0, pkt);
    if (pkt->hdr.session && pkt->hdr.session != s->session_id) {
        if (s->session_id)
            slog(s, YMSG_LOG_DEBUG, "session id changed %08x -> %08x", s->session_id, pkt->hdr.session);
        s->session_id = pkt->hdr.session; /* §1.4: the server may change it; use the new one */
    }
    uint32_t svc = pkt->hdr.service;
    if (s->state == YMSG_SS_CLOSED)
        return;
    /* Before the token step only 0x57 and failures make sense; the rest waits for the login. */
    switch (svc) {
    case YMSG_SVC_AUTH: on_auth(s, pkt); return;
    case YMSG_SVC_AUTHRESP: on_authresp(s, pkt); return;
    case YMSG_SVC_DISCONNECT: {
        char text[256] = "server closed the session";
        struct ymsg_kv kv;
        if (ymsg_get(pkt, YMSG_KEY_MSG, &kv) == 0 || ymsg_get(pkt, YMSG_KEY_ERR_MSG, &kv) == 0)
            text_clean_into(&kv, 1, text, sizeof text);
        session_fail(s, YMSG_EPROTO, text);
        return;
    }
    default:
        break;
    }
    if (s->state != YMSG_SS_AUTHRESP && s->state != YMSG_SS_ONLINE) {
        slog(s, YMSG_LOG_DEBUG, "service 0x%x before login ignored", svc);
        return;
    }
    switch (svc) {
    case YMSG_SVC_LIST_15: on_list15(s, pkt); break;
    case YMSG_SVC_LIST: on_list55(s, pkt); break;
    case YMSG_SVC_STATUS_15: case YMSG_SVC_Y6_STATUS_UPDATE: case YMSG_SVC_LOGON: case YMSG_SVC_LOGOFF:
    case YMSG_SVC_ISAWAY: case YMSG_SVC_ISBACK: case YMSG_SVC_USERSTAT: case YMSG_SVC_IDACT:
    case YMSG_SVC_IDDEACT:
        on_presence(s, pkt);
        break;
    case YMSG_SVC_MESSAGE: on_message(s, pkt); break;
    case YMSG_SVC_NOTIFY: on_notify(s, pkt); break;
    case YMSG_SVC_AUTH_REQ_15: case YMSG_SVC_NEWCONTACT: on_auth_req(s, pkt); break;
    case YMSG_SVC_ADDBUDDY: case YMSG_SVC_REMBUDDY: case YMSG_SVC_IGNORECONTACT: case YMSG_SVC_GROUPRENAME:
    case YMSG_SVC_CHGRP_15:
        on_list_ack(s, pkt);
        break;
    case YMSG_SVC_SYSMESSAGE: case YMSG_SVC_NEWMAIL: on_system(s, pkt); break;
    case YMSG_SVC_PING: case YMSG_SVC_KEEPALIVE: case YMSG_SVC_VERIFY: case YMSG_SVC_MESSAGE_ACK:
        break;
    default:
        if (!ymsg_service_name(svc))
            s->stats.unknown_services++;
        slog(s, YMSG_LOG_DEBUG, "service 0x%x (%s) status %u not handled", svc,
             ymsg_service_name(svc) ? ymsg_service_name(svc) : "unknown", pkt->hdr.status);
    }
}

int ymsg_session_feed(struct ymsg_session *s, const uint8_t *buf, size_t len)
{
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
                slog(s, YMSG_LOG_WARN, "bad magic: skipped %zu bytes to resync", off);
                pos += off;
            } else {
                struct ymsg_header h;
                size_t total = YMSG_HEADER_LEN;
                if (ymsg_header_decode(s->in + pos, s->in_len - pos, &h) == YMSG_HEADER_LEN)
                    total += h.length;
                s->stats.bad_packets++;
                slog(s, YMSG_LOG_WARN, "malformed packet (service 0x%x): %s; skipped", h.service,
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
            session_fail(s, YMSG_ETOOBIG, "input buffer overflow");
            return YMSG_ETOOBIG;
        }
    }
    return s->state == YMSG_SS_CLOSED ? YMSG_ESTATE : 0;
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
    cfg->log_level = YMSG_LOG_INFO;
}

struct ymsg_session *ymsg_session_new(const struct ymsg_session_config *cfg)
{
    if (!cfg || !cfg->user || !cfg->password || !cfg->user[0] || strlen(cfg->user) >= YMSG_ID_MAX ||
        cfg->max_inbuf < MIN_INBUF || cfg->max_outbuf < 1024 || cfg->max_events < 1 ||
        (cfg->initial_status != YMSG_STATUS_AVAILABLE && cfg->initial_status != YMSG_STATUS_INVISIBLE &&
         cfg->initial_status > YMSG_STATUS_STEPPEDOUT))
        return NULL;
    struct ymsg_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    snprintf(s->user, sizeof s->user, "%s", cfg->user);
    lower(s->user);
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
    if ((cfg->max_requests && !s->requests) || !s->password || !s->login_url || !s->in || !s->out || !s->scratch || !s->evq) {
        ymsg_session_free(s);
        return NULL;
    }
    size_t ul = strlen(s->login_url); /* "http://h:p/" and "http://h:p" mean the same */
    while (ul > 0 && s->login_url[ul - 1] == '/')
        s->login_url[--ul] = 0;
    ymsg_limits_default(&s->lim);
    s->my_status = cfg->initial_status;
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
    free(s->buddies);
    free(s->bidx);
    free(s->old_buddies);
    free(s->groups);
    free(s->ignored);
    free(s->requests);
    free(s->l87);
    free(s->l88);
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
    pkt_begin(s, &b, YMSG_SVC_AUTH, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    int r = pkt_send(s, &b);
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
            login_failed(s, YMSG_ESTATE, "login timed out", YMSG_EVF_NETWORK);
        return 0;
    }
    struct ymsg_builder b;
    if (s->next_keepalive && now_ms >= s->next_keepalive) {
        pkt_begin(s, &b, YMSG_SVC_KEEPALIVE, 0);
        ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, s->user);
        pkt_send(s, &b);
        s->next_keepalive = now_ms + s->cfg.keepalive_ms;
    }
    if (s->next_ping && now_ms >= s->next_ping) {
        pkt_begin(s, &b, YMSG_SVC_PING, 0);
        pkt_send(s, &b);
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
    session_fail(s, YMSG_EPROTO, reason && reason[0] ? reason : "connection closed");
}

enum ymsg_session_state ymsg_session_state(const struct ymsg_session *s) { return s->state; }
uint32_t ymsg_session_id(const struct ymsg_session *s) { return s->session_id; }
const char *ymsg_session_user(const struct ymsg_session *s) { return s->user; }
uint32_t ymsg_session_my_status(const struct ymsg_session *s) { return s->my_status; }
void ymsg_session_get_stats(const struct ymsg_session *s, struct ymsg_session_stats *st) { *st = s->stats; }

/* ------------------------------------------------------------------------------------------------
 * commands
 * ---------------------------------------------------------------------------------------------- */
static int valid_id(const char *id)
{
    if (!id || !id[0] || strlen(id) >= YMSG_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == ',' || *p == 0xC0)
            return 0;
    return 1;
}

static int valid_text(const char *t, size_t max)
{
    if (!t)
        return 1;
    size_t n = strlen(t);
    return n <= max && !memmem(t, n, "\xC0\x80", 2);
}

static int need_online(const struct ymsg_session *s)
{
    return s->state == YMSG_SS_ONLINE ? 0 : YMSG_ESTATE;
}

static int send_im(struct ymsg_session *s, const char *to, const char *text)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(to) || !valid_text(text, 8000))
        return YMSG_EINVAL;
    char id[17];
    snprintf(id, sizeof id, "%08X%08X", s->session_id, (unsigned)(++s->msg_counter & 0xFFFFFFFFu));
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE);
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
    return pkt_send(s, &b);
}

int ymsg_session_send_message(struct ymsg_session *s, const char *to, const char *utf8_text)
{
    if (!utf8_text || !utf8_text[0] || !utf8_valid((const uint8_t *)utf8_text, strlen(utf8_text)))
        return YMSG_EINVAL;
    return send_im(s, to, utf8_text);
}

int ymsg_session_buzz(struct ymsg_session *s, const char *to) { return send_im(s, to, "<ding>"); }

int ymsg_session_typing(struct ymsg_session *s, const char *to, int on)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(to))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_NOTIFY, YMSG_STATUS_NOTIFY);
    ymsg_build_str(&b, YMSG_KEY_NOTIFY_TYPE, "TYPING");
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_MSG, " ");
    ymsg_build_str(&b, YMSG_KEY_FLAG, on ? "1" : "0");
    ymsg_build_str(&b, YMSG_KEY_TO, to);
    ymsg_build_str(&b, YMSG_KEY_Y6_MARKER, "1");
    return pkt_send(s, &b);
}

int ymsg_session_set_status(struct ymsg_session *s, uint32_t status, const char *msg, int away)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!(status <= YMSG_STATUS_STEPPEDOUT || status == YMSG_STATUS_INVISIBLE || status == YMSG_STATUS_CUSTOM ||
          status == YMSG_STATUS_IDLE) || !valid_text(msg, YMSG_STATUS_MSG_MAX - 1) || away < 0 || away > 2)
        return YMSG_EINVAL;
    struct ymsg_builder b;
    if (status == YMSG_STATUS_INVISIBLE) {
        pkt_begin(s, &b, YMSG_SVC_Y6_VISIBLE_TOGGLE, 0);
        ymsg_build_str(&b, YMSG_KEY_FLAG, "2");
        r = pkt_send(s, &b);
        if (r == 0)
            s->my_status = status;
        return r;
    }
    pkt_begin(s, &b, YMSG_SVC_Y6_STATUS_UPDATE, 0);
    ymsg_build_int(&b, YMSG_KEY_STATUS, status);
    ymsg_build_str(&b, YMSG_KEY_CUSTOM_MSG, status == YMSG_STATUS_CUSTOM && msg ? msg : "");
    ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
    ymsg_build_int(&b, YMSG_KEY_AWAY, status == YMSG_STATUS_IDLE ? 2 : status == YMSG_STATUS_CUSTOM ? away
                                      : status == YMSG_STATUS_AVAILABLE ? 0 : 1);
    r = pkt_send(s, &b);
    if (r == 0 && s->my_status == YMSG_STATUS_INVISIBLE) {
        pkt_begin(s, &b, YMSG_SVC_Y6_VISIBLE_TOGGLE, 0);
        ymsg_build_str(&b, YMSG_KEY_FLAG, "1");
        r = pkt_send(s, &b);
    }
    if (r == 0)
        s->my_status = status;
    return r;
}

int ymsg_session_add_buddy(struct ymsg_session *s, const char *who, const char *group, const char *msg)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(who) || !group || !group[0] || strlen(group) >= YMSG_GROUP_MAX || !valid_text(group, 200) ||
        !valid_text(msg, 1000))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_ADDBUDDY, 0);
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
    return pkt_send(s, &b);
}

int ymsg_session_remove_buddy(struct ymsg_session *s, const char *who, const char *group)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(who))
        return YMSG_EINVAL;
    if (!group || !group[0]) {
        const struct ymsg_buddy *bd = ymsg_session_find_buddy(s, who);
        group = bd ? bd->group : "";
    }
    if (!valid_text(group, 200))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_REMBUDDY, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_GROUP, group);
    return pkt_send(s, &b);
}

int ymsg_session_move_buddy(struct ymsg_session *s, const char *who, const char *from, const char *to)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(who) || !to || !to[0] || !valid_text(to, 200) || !valid_text(from, 200))
        return YMSG_EINVAL;
    if (!from || !from[0]) {
        const struct ymsg_buddy *bd = ymsg_session_find_buddy(s, who);
        from = bd ? bd->group : "";
    }
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_CHGRP_15, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "240");
    ymsg_build_str(&b, YMSG_KEY_ENTRY_BEGIN, "240");
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_OLD_GROUP, from);
    ymsg_build_str(&b, YMSG_KEY_NEW_GROUP_CHG, to);
    ymsg_build_str(&b, YMSG_KEY_ENTRY_END, "240");
    ymsg_build_str(&b, YMSG_KEY_LIST_END, "240");
    return pkt_send(s, &b);
}

int ymsg_session_auth_reply(struct ymsg_session *s, const char *who, int accept, const char *msg)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(who) || !valid_text(msg, 1000))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_AUTH_REQ_15, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_TO, who);
    ymsg_build_str(&b, YMSG_KEY_FLAG, accept ? "1" : "2");
    ymsg_build_str(&b, YMSG_KEY_ACK_334, "0");
    if (!accept) {
        ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
        ymsg_build_str(&b, YMSG_KEY_MSG, msg ? msg : "");
    }
    r = pkt_send(s, &b);
    if (r == 0)
        request_set(s, who, "", 0);
    return r;
}

int ymsg_session_ignore(struct ymsg_session *s, const char *who, int ignore)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!valid_id(who))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_IGNORECONTACT, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_BUDDY, who);
    ymsg_build_str(&b, YMSG_KEY_FLAG, ignore ? "1" : "2");
    return pkt_send(s, &b);
}

int ymsg_session_rename_group(struct ymsg_session *s, const char *from, const char *to)
{
    int r = need_online(s);
    if (r)
        return r;
    if (!from || !to || !from[0] || !to[0] || strlen(to) >= YMSG_GROUP_MAX || !valid_text(from, 200) ||
        !valid_text(to, 200))
        return YMSG_EINVAL;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_GROUPRENAME, 0);
    ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, s->user);
    ymsg_build_str(&b, YMSG_KEY_GROUP, from);
    ymsg_build_str(&b, YMSG_KEY_NEW_GROUP, to);
    return pkt_send(s, &b);
}

int ymsg_session_logoff(struct ymsg_session *s)
{
    if (s->state == YMSG_SS_CLOSED || s->state == YMSG_SS_IDLE)
        return YMSG_ESTATE;
    struct ymsg_builder b;
    pkt_begin(s, &b, YMSG_SVC_LOGOFF, 0);
    ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, s->user);
    int r = pkt_send(s, &b);
    session_fail(s, 0, "logged off");
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
    return pkt_send(s, &b);
}
