/* Chat rooms; see chat.h and docs/CHAT_ROOMS.md (key sets and the clients they come from). */
#include "chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "delivery.h"
#include "hmap.h"
#include "log.h"
#include "presence.h"
#include "ratelimit.h"
#include "sessions.h"

/* Keys of the room services (docs/CHAT_ROOMS.md §2). */
enum {
    CK_ME = 1,          /* the sender's / recipient's own id */
    CK_MARK61 = 61,     /* room-info marker of a full join reply (OY) */
    CK_FLAG13 = 13,     /* room type, always 1 */
    CK_UTF8 = 97,       /* 1 = the text is UTF-8 */
    CK_ROOM = 104,      /* room name */
    CK_TOPIC = 105,     /* room topic */
    CK_COUNT = 108,     /* members in the reply */
    CK_MEMBER = 109,    /* a member's id */
    CK_AGE = 110,       /* a member's age (0: not published) */
    CK_ATTRIBS = 113,   /* a member's attribute bits (0: none published) */
    CK_ERROR = 114,     /* error code */
    CK_TEXT = 117,      /* message or invitation text */
    CK_INVITEE = 118,   /* who is invited */
    CK_INVITER = 119,   /* who invites */
    CK_MSGTYPE = 124,   /* 1 normal, 2 emote, 3 thought */
    CK_CATID = 128,     /* category id */
    CK_ROOMID = 129,    /* room id */
    CK_FIRST = 130,     /* "first join" marker (LY2) */
};

#define CHAT_ERR_UNKNOWN (-6) /* PID: "Unknown room" */
#define CHAT_ERR_FULL (-15)   /* PID: "Maybe the room is full" */
#define CHAT_ERR_BUSY (-35)   /* PID: "Not available" (joining faster than chat_msg_rate) */
#define CHAT_ERR_NOTIN (-1)   /* LY2: "no session in room" (0xA8) */
#define CHAT_JOIN_CHUNK 15    /* members per join-reply packet: ~50 bytes each keeps packets under ~1 KB */
#define CHAT_CAT_BASE 1600000001u
#define CHAT_ROOM_BASE 1600100001u
/* OY's legacy API joins "room:lobby" names of the room list's <lobby count="N"> entries; each room is
 * published as one lobby, number 1 (docs/CHAT_ROOMS.md §3). */
#define CHAT_LOBBY_SUFFIX ":1"
/* OY caches the category list for 15 minutes (ChatroomManager.REFRESH_TIMOUT_IN_SECONDS) and asks the rooms
 * of its root category as ?chatroom_<the list's time attribute>: a time that recent lists every room. */
#define CHAT_ROOT_WINDOW 900
#define CHAT_ROOT_SKEW 60 /* a root id this far in the future still counts (clock steps) */

struct chat_cat {
    char name[CHAT_NAME_MAX + 1]; /* as configured */
    uint32_t id;                  /* CHAT_CAT_BASE + index */
};

struct chat_member;

struct chat_room {
    char name[CHAT_NAME_MAX + 1];   /* as configured (matched case-insensitively) */
    char topic[CHAT_TOPIC_MAX + 1]; /* shown by PID and LY2 */
    uint32_t id;                    /* CHAT_ROOM_BASE + index */
    uint32_t cat;                   /* index in chat->cats */
    struct chat_member **mem;       /* members in join order */
    uint32_t n, cap;                /* used / allocated in mem */
};

struct chat_member {
    char user[NAME_MAX_LEN + 1]; /* key in chat->members */
    struct conn *c;              /* the session that joined; NULL: a session of another node (cluster replica) */
    struct chat_room **rooms;    /* rooms it is in, join order (at most chat_max_rooms) */
    unsigned char *lobby;        /* per entry of rooms: 1 = joined by its "room:lobby" name (OY legacy) */
    uint32_t n_rooms, cap_rooms; /* used / allocated in rooms */
    double active;               /* rl_now() of its last join, message or chat ping */
    double tokens;               /* room-message bucket (chat_msg_rate / chat_msg_burst) */
    double tokens_at;            /* rl_now() of the last refill */
};

struct chat {
    struct server *srv;        /* owner (NULL for a parse-only set) */
    struct chat_cat *cats;     /* categories in file order */
    size_t ncats;              /* entries in cats */
    struct chat_room *rooms;   /* rooms in file order */
    size_t nrooms;             /* entries in rooms */
    struct hmap members;       /* user -> struct chat_member (in at least one room) */
    struct event *sweep;       /* idle sweep timer, or NULL */
};

/* The set `make run` gets when no chat_rooms_file is given. */
static const char chat_default_rooms[] =
    "category Computers & Internet\n"
    "room Linux | Penguins welcome\n"
    "room Programming | C, Python and everything that compiles\n"
    "category Music\n"
    "room Rock | Guitars up\n"
    "room Jazz | Blue notes\n"
    "category Regional\n"
    "room Europe | Chat from Lisbon to Helsinki\n"
    "room Americas | From Anchorage to Ushuaia\n";

/* ---- configuration ----------------------------------------------------------------------------- */

static void chat_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Copies [s, e) trimmed of blanks into out (cap bytes with NUL).  0, or -1 when empty, too long, or
 * holding a control character, '|' or ':' (a name is a room key in several clients' packets). */
static int chat_copy_name(const char *s, const char *e, char *out, size_t cap, int is_topic)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    size_t n = (size_t)(e - s);
    if ((n == 0 && !is_topic) || n >= cap) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) return -1;
        if (!is_topic && (ch == '|' || ch == ':')) return -1;
    }
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

static struct chat_room *chat_find_room(const struct chat *ch, const char *name, size_t len)
{
    for (size_t i = 0; i < ch->nrooms; i++)
        if (strlen(ch->rooms[i].name) == len && strncasecmp(ch->rooms[i].name, name, len) == 0) return &ch->rooms[i];
    return NULL;
}

/* The room a client's key 104 names: its name, or (OY's legacy API) its lobby's "NAME:1"; *lobby says
 * which.  A room name holds no ':', so the two never collide. */
static struct chat_room *chat_resolve(const struct chat *ch, const char *name, size_t len, int *lobby)
{
    const size_t sl = sizeof CHAT_LOBBY_SUFFIX - 1;
    struct chat_room *r = chat_find_room(ch, name, len);
    *lobby = 0;
    if (!r && len > sl && memcmp(name + len - sl, CHAT_LOBBY_SUFFIX, sl) == 0 &&
        (r = chat_find_room(ch, name, len - sl)))
        *lobby = 1;
    return r;
}

struct chat *chat_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (!text) {
        text = chat_default_rooms;
        len = sizeof chat_default_rooms - 1;
    }
    struct chat *ch = calloc(1, sizeof *ch);
    if (!ch) {
        chat_err(err, errlen, "out of memory");
        return NULL;
    }
    hmap_init(&ch->members);
    size_t cap_c = 0, cap_r = 0;
    unsigned line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *s = p;
        p = nl ? nl + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        if (s == e || *s == '#' || (e - s == 1 && *s == '\r')) continue;
        if (memchr(s, 0, (size_t)(e - s))) {
            chat_err(err, errlen, "line %u: NUL byte", line);
            goto fail;
        }
        if ((size_t)(e - s) > 9 && strncmp(s, "category ", 9) == 0) {
            if (ch->ncats >= CHAT_MAX_ROOMS) {
                chat_err(err, errlen, "line %u: more than %d categories", line, CHAT_MAX_ROOMS);
                goto fail;
            }
            if (ch->ncats == cap_c) {
                size_t nc = cap_c ? cap_c * 2 : 8;
                struct chat_cat *v = realloc(ch->cats, nc * sizeof *v);
                if (!v) goto oom;
                ch->cats = v;
                cap_c = nc;
            }
            struct chat_cat *cat = &ch->cats[ch->ncats];
            if (chat_copy_name(s + 9, e, cat->name, sizeof cat->name, 0) < 0) {
                chat_err(err, errlen, "line %u: bad category name (1-%d bytes, no control characters, '|' or ':')",
                         line, CHAT_NAME_MAX);
                goto fail;
            }
            cat->id = CHAT_CAT_BASE + (uint32_t)ch->ncats;
            ch->ncats++;
        } else if ((size_t)(e - s) > 5 && strncmp(s, "room ", 5) == 0) {
            if (ch->ncats == 0) {
                chat_err(err, errlen, "line %u: room before any category", line);
                goto fail;
            }
            if (ch->nrooms >= CHAT_MAX_ROOMS) {
                chat_err(err, errlen, "line %u: more than %d rooms", line, CHAT_MAX_ROOMS);
                goto fail;
            }
            if (ch->nrooms == cap_r) {
                size_t nc = cap_r ? cap_r * 2 : 8;
                struct chat_room *v = realloc(ch->rooms, nc * sizeof *v);
                if (!v) goto oom;
                ch->rooms = v;
                cap_r = nc;
            }
            struct chat_room *r = &ch->rooms[ch->nrooms];
            memset(r, 0, sizeof *r);
            const char *bar = memchr(s + 5, '|', (size_t)(e - s - 5));
            if (chat_copy_name(s + 5, bar ? bar : e, r->name, sizeof r->name, 0) < 0 ||
                (bar && chat_copy_name(bar + 1, e, r->topic, sizeof r->topic, 1) < 0)) {
                chat_err(err, errlen, "line %u: bad room (NAME | TOPIC: name 1-%d bytes without control "
                         "characters, '|' or ':'; topic up to %d bytes)", line, CHAT_NAME_MAX, CHAT_TOPIC_MAX);
                goto fail;
            }
            if (chat_find_room(ch, r->name, strlen(r->name))) {
                chat_err(err, errlen, "line %u: room \"%s\" defined twice", line, r->name);
                goto fail;
            }
            r->id = CHAT_ROOM_BASE + (uint32_t)ch->nrooms;
            r->cat = (uint32_t)(ch->ncats - 1);
            ch->nrooms++;
        } else {
            chat_err(err, errlen, "line %u: expected \"category NAME\" or \"room NAME | TOPIC\"", line);
            goto fail;
        }
    }
    return ch;
oom:
    chat_err(err, errlen, "out of memory");
fail:
    chat_free(ch);
    return NULL;
}

static void chat_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chat_sweep(arg, rl_now());
}

struct chat *chat_new(struct server *srv, char *err, size_t errlen)
{
    const char *path = srv->cfg->chat_rooms_file;
    struct chat *ch;
    if (path && path[0]) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            chat_err(err, errlen, "chat_rooms_file %s: cannot open", path);
            return NULL;
        }
        char *buf = malloc(1 << 20);
        size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
        int big = buf && n == (1 << 20) && fgetc(f) != EOF;
        fclose(f);
        if (!buf || big) {
            free(buf);
            chat_err(err, errlen, "chat_rooms_file %s: %s", path, buf ? "larger than 1 MiB" : "out of memory");
            return NULL;
        }
        char e2[200];
        ch = chat_parse(buf, n, e2, sizeof e2);
        free(buf);
        if (!ch) {
            chat_err(err, errlen, "chat_rooms_file %s: %s", path, e2);
            return NULL;
        }
    } else if (!(ch = chat_parse(NULL, 0, err, errlen))) {
        return NULL;
    }
    ch->srv = srv;
    if (srv->base) {
        long t = srv->cfg->chat_idle_timeout / 4;
        struct timeval tv = {t < 1 ? 1 : t > 30 ? 30 : t, 0};
        ch->sweep = event_new(srv->base, -1, EV_PERSIST, chat_sweep_cb, ch);
        if (!ch->sweep || event_add(ch->sweep, &tv) < 0) {
            chat_free(ch);
            chat_err(err, errlen, "out of memory (chat sweep)");
            return NULL;
        }
    }
    return ch;
}

static void chat_member_free(struct chat_member *m)
{
    free(m->rooms);
    free(m->lobby);
    free(m);
}

void chat_free(struct chat *ch)
{
    if (!ch) return;
    if (ch->sweep) event_free(ch->sweep);
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&ch->members, &pos, &k, &v)) {
        hmap_iter_del(&ch->members, &pos);
        chat_member_free(v);
    }
    hmap_free(&ch->members);
    for (size_t i = 0; i < ch->nrooms; i++) free(ch->rooms[i].mem);
    free(ch->rooms);
    free(ch->cats);
    free(ch);
}

size_t chat_room_count(const struct chat *ch)
{
    return ch ? ch->nrooms : 0;
}

size_t chat_member_count(const struct chat *ch)
{
    size_t n = 0;
    for (size_t i = 0; ch && i < ch->nrooms; i++) n += ch->rooms[i].n;
    return n;
}

/* ---- the room list ------------------------------------------------------------------------------ */

struct chat_buf {
    char *p;       /* text so far */
    size_t n, cap; /* used / allocated */
    int oom;       /* an append failed */
};

static void cb_add(struct chat_buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *v = realloc(b->p, nc);
        if (!v) {
            b->oom = 1;
            return;
        }
        b->p = v;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void cb_str(struct chat_buf *b, const char *s)
{
    cb_add(b, s, strlen(s));
}

/* XML attribute text: & < > " ' escaped. */
static void cb_attr(struct chat_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cb_str(b, "&amp;"); break;
        case '<': cb_str(b, "&lt;"); break;
        case '>': cb_str(b, "&gt;"); break;
        case '"': cb_str(b, "&quot;"); break;
        case '\'': cb_str(b, "&apos;"); break;
        default: cb_add(b, s, 1);
        }
    }
}

/* The value of the query parameter whose name starts with prefix: its name's rest in *rest (len *rlen). */
static int chat_query_param(const char *q, const char *prefix, const char **rest, size_t *rlen)
{
    size_t pl = strlen(prefix);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n >= pl && strncmp(q, prefix, pl) == 0) {
            const char *eq = memchr(q, '=', n);
            *rest = q + pl;
            *rlen = (eq ? (size_t)(eq - q) : n) - pl;
            return 1;
        }
        if (!amp) break;
        q = amp + 1;
    }
    return 0;
}

int chat_list_xml(const struct chat *ch, const char *query, long now, char **out, size_t *len)
{
    struct chat_buf b = {0};
    char tmp[64];
    const char *rest;
    size_t rlen;
    snprintf(tmp, sizeof tmp, "<content time=\"%ld\">", now);
    if (chat_query_param(query, "chatcat", &rest, &rlen) && rlen == 0) {
        cb_str(&b, tmp);
        cb_str(&b, "<chatCategories>\n");
        for (size_t i = 0; i < ch->ncats; i++) {
            snprintf(tmp, sizeof tmp, "<category id=\"%u\" name=\"", ch->cats[i].id);
            cb_str(&b, tmp);
            cb_attr(&b, ch->cats[i].name);
            cb_str(&b, "\"></category>\n");
        }
        cb_str(&b, "</chatCategories></content>\n");
    } else if (chat_query_param(query, "chatroom_", &rest, &rlen)) {
        unsigned long id = 0;
        int ok = rlen > 0 && rlen <= 10;
        for (size_t i = 0; ok && i < rlen; i++) {
            if (rest[i] < '0' || rest[i] > '9') ok = 0;
            else id = id * 10 + (unsigned long)(rest[i] - '0');
        }
        if (!ok) return 400;
        /* Not a category but a recent list time: OY's root category (ChatroomManager.loadCategories makes
         * the list's time its id), whose rooms are all rooms. */
        int root = 1;
        for (size_t i = 0; i < ch->ncats; i++)
            if (ch->cats[i].id == id) root = 0;
        if (root && ((long long)id < (long long)now - CHAT_ROOT_WINDOW || (long long)id > (long long)now + CHAT_ROOT_SKEW))
            root = 0;
        cb_str(&b, tmp);
        cb_str(&b, "<chatRooms>\n");
        for (size_t i = 0; i < ch->nrooms; i++) {
            const struct chat_room *r = &ch->rooms[i];
            if (!root && ch->cats[r->cat].id != id) continue;
            snprintf(tmp, sizeof tmp, "<room type=\"yahoo\" id=\"%u\" name=\"", r->id);
            cb_str(&b, tmp);
            cb_attr(&b, r->name);
            cb_str(&b, "\" topic=\"");
            cb_attr(&b, r->topic);
            /* One lobby, no counts (nobody outside a room learns who or how many are in it: §5).  OY's legacy
             * API joins it as "NAME:1"; PID lists it as a child room "NAME:1" (yahoo_chatlist_end_element). */
            cb_str(&b, "\"><lobby count=\"1\"></lobby></room>\n");
        }
        cb_str(&b, "</chatRooms></content>\n");
    } else {
        return 400;
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.n;
    return 200;
}

/* ---- membership -------------------------------------------------------------------------------- */

static struct chat_member *chat_member_of(struct chat *ch, const char *user)
{
    return hmap_get(&ch->members, user);
}

static int chat_in_room(const struct chat_member *m, const struct chat_room *r)
{
    for (uint32_t i = 0; i < m->n_rooms; i++)
        if (m->rooms[i] == r) return 1;
    return 0;
}

/* Room names as one member sees them: its lobby's "NAME:1" when it joined by that (OY's legacy API
 * resolves every 104 it gets against the lobbies it loaded and throws on anything else). */
#define CHAT_SHOWN_MAX (CHAT_KEY_MAX + 1)

/* 1 when m (NULL: nobody) is in r by its lobby's name. */
static int chat_by_lobby(const struct chat_member *m, const struct chat_room *r)
{
    for (uint32_t i = 0; m && i < m->n_rooms; i++)
        if (m->rooms[i] == r) return m->lobby[i];
    return 0;
}

/* r's name as key 104 for a member in it by its lobby (lobby 1) or by the name (0); out holds CHAT_SHOWN_MAX. */
static const char *chat_shown(const struct chat_room *r, int lobby, char *out)
{
    if (!lobby) return r->name;
    snprintf(out, CHAT_SHOWN_MAX, "%s%s", r->name, CHAT_LOBBY_SUFFIX);
    return out;
}

/* What a 0x98 notice / 0x9B notice / 0xA8 message to one member is made of. */
struct chat_out {
    const struct chat_room *room; /* the room */
    const char *name;             /* key 104 for the recipient (chat_shown()) */
    const char *who;              /* the member it is about / from */
    const struct ymsg_packet *pkt; /* 0xA8: the sender's packet */
    const uint8_t *text;          /* 0xA8 / 0x9D: text */
    size_t text_len;              /* its bytes */
    int msgtype;                  /* 0xA8: 124 */
    int utf8;                     /* 97=1 */
    const char *to;               /* the recipient (key 1: LY2 hands it to the application as "me") */
};

static void chat_build_joined(struct ymsg_builder *b, void *arg)
{
    const struct chat_out *o = arg;
    ymsg_build_str(b, CK_ME, o->to);
    ymsg_build_str(b, CK_ROOM, o->name);
    ymsg_build_str(b, CK_COUNT, "1");
    ymsg_build_str(b, CK_MEMBER, o->who);
    ymsg_build_str(b, CK_AGE, "0");
    ymsg_build_str(b, CK_ATTRIBS, "0");
}

static void chat_build_left(struct ymsg_builder *b, void *arg)
{
    const struct chat_out *o = arg;
    ymsg_build_str(b, CK_ME, o->to);
    ymsg_build_str(b, CK_ROOM, o->name);
    ymsg_build_str(b, CK_MEMBER, o->who);
    ymsg_build_str(b, CK_COUNT, "1");
}

static void chat_build_comment(struct ymsg_builder *b, void *arg)
{
    const struct chat_out *o = arg;
    ymsg_build_str(b, CK_ME, o->to);
    ymsg_build_str(b, CK_ROOM, o->name);
    ymsg_build_str(b, CK_MEMBER, o->who); /* from the session: never the client's 1/109 */
    ymsg_build_kv(b, CK_TEXT, o->text, o->text_len);
    ymsg_build_int(b, CK_MSGTYPE, o->msgtype);
    if (o->utf8) ymsg_build_str(b, CK_UTF8, "1");
}

static void chat_build_invite(struct ymsg_builder *b, void *arg)
{
    const struct chat_out *o = arg;
    ymsg_build_str(b, CK_ME, o->to);
    ymsg_build_str(b, CK_ROOM, o->name);
    ymsg_build_kv(b, CK_TEXT, o->text, o->text_len);
    ymsg_build_str(b, CK_INVITEE, o->to);
    ymsg_build_str(b, CK_INVITER, o->who);
    ymsg_build_int(b, CK_ROOMID, o->room->id);
}

/* Set while a dead node's members leave (chat_node_lost): only this node's members are told. */
static int chat_quiet;

/* In a cluster: m (this node's member) joined (op 1) or left (0) r; every other node's copy follows.
 * Called before the packets the change sends. */
static void chat_publish(struct chat *ch, const struct chat_member *m, const struct chat_room *r, int op)
{
    const struct group_hooks *g = ch->srv ? ch->srv->groups : NULL;
    char nm[CHAT_SHOWN_MAX];
    /* A lobby join goes out under the lobby's name: the other nodes then name the room so to this member. */
    const char *name = chat_shown(r, chat_by_lobby(m, r), nm);
    if (g && m->c && !chat_quiet) g->chat_changed(ch->srv, op, m->user, name, strlen(name));
}

/* Tells every member of r but `who` (whom the packet is about or from): service, built by build. */
static void chat_fan_out(struct chat *ch, struct chat_room *r, const char *who, uint16_t service,
                         delivery_build_fn build, struct chat_out *o)
{
    for (uint32_t i = 0; i < r->n; i++) {
        struct chat_member *m = r->mem[i];
        if (strcmp(m->user, who) == 0) continue;
        if (chat_quiet && !m->c) continue; /* its own node tells it */
        char nm[CHAT_SHOWN_MAX];
        o->to = m->user;
        o->name = chat_shown(r, chat_by_lobby(m, r), nm);
        delivery_to_user(ch->srv, m->user, who, service, YMSG_PKT_SERVERACK, build, o);
    }
}

/* m leaves r: out of both lists, the others told (0x9B) when notify. */
static void chat_leave_room(struct chat *ch, struct chat_member *m, struct chat_room *r, int notify)
{
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->mem[i] != m) continue;
        memmove(&r->mem[i], &r->mem[i + 1], (r->n - i - 1) * sizeof r->mem[0]);
        r->n--;
        break;
    }
    for (uint32_t i = 0; i < m->n_rooms; i++) {
        if (m->rooms[i] != r) continue;
        memmove(&m->rooms[i], &m->rooms[i + 1], (m->n_rooms - i - 1) * sizeof m->rooms[0]);
        memmove(&m->lobby[i], &m->lobby[i + 1], (m->n_rooms - i - 1) * sizeof m->lobby[0]);
        m->n_rooms--;
        break;
    }
    log_event(LOG_DEBUG, NULL, m->user, "chat_leave", (long)r->id, "%s", r->name);
    chat_publish(ch, m, r, 0);
    if (notify) {
        struct chat_out o = {.room = r, .who = m->user};
        chat_fan_out(ch, r, m->user, YMSG_SVC_CHATEXIT, chat_build_left, &o);
    }
}

/* m leaves every room (notify: the others are told) and is forgotten. */
static void chat_drop_member(struct chat *ch, struct chat_member *m, int notify)
{
    while (m->n_rooms) chat_leave_room(ch, m, m->rooms[0], notify);
    hmap_del(&ch->members, m->user);
    chat_member_free(m);
}

/* The 0xA0 that tells c it is out of chat (reply to its 0xA0, or the idle sweep). */
static void chat_send_logout(struct conn *c)
{
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CHATLOGOUT, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, CK_ME, c->user);
    delivery_send(c);
}

static void chat_join_refused(struct conn *c, int code)
{
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CHATJOIN, YMSG_PKT_ERROR);
    ymsg_build_int(b, CK_ERROR, code); /* first: PID reads the first pair */
    delivery_send(c);
}

/* The join reply: the room's header, then every member, CHAT_JOIN_CHUNK per packet, status 5 on all
 * but the last packet and 1 on the last (YMSG.md §1.6). */
static void chat_send_join_reply(struct chat *ch, struct conn *c, const struct chat_room *r, int lobby)
{
    uint32_t total = r->n, done = 0;
    int first = 1;
    char nm[CHAT_SHOWN_MAX];
    const char *name = chat_shown(r, lobby, nm);
    do {
        uint32_t k = total - done < CHAT_JOIN_CHUNK ? total - done : CHAT_JOIN_CHUNK;
        int last = done + k == total;
        struct ymsg_builder *b =
            delivery_begin(c, YMSG_SVC_CHATJOIN, last ? YMSG_PKT_SERVERACK : YMSG_PKT_CONTINUED);
        ymsg_build_str(b, CK_ME, c->user);
        ymsg_build_str(b, CK_ROOM, name);
        if (first) {
            /* OY's legacy receiveChatJoin takes any 105 for a captcha (and never finishes the join): a
             * lobby join gets none.  PID and LY2 join by the name and show the topic. */
            if (!lobby) ymsg_build_str(b, CK_TOPIC, r->topic);
            ymsg_build_int(b, CK_COUNT, total); /* OY reads the first 108 as the total */
            ymsg_build_int(b, CK_CATID, ch->cats[r->cat].id);
            ymsg_build_int(b, CK_ROOMID, r->id);
            ymsg_build_str(b, CK_FIRST, "0");
            ymsg_build_str(b, CK_MARK61, "0");
            ymsg_build_str(b, CK_FLAG13, "1");
        } else {
            ymsg_build_int(b, CK_COUNT, k);
            ymsg_build_str(b, CK_FIRST, "0");
        }
        for (uint32_t i = done; i < done + k; i++) {
            ymsg_build_str(b, CK_MEMBER, r->mem[i]->user);
            ymsg_build_str(b, CK_AGE, "0");
            ymsg_build_str(b, CK_ATTRIBS, "0");
        }
        if (delivery_send(c) < 0) return;
        done += k;
        first = 0;
    } while (done < total);
}

static int chat_take_token(const struct config *cfg, struct chat_member *m);

static uint64_t chat_dropped_joins; /* joins refused by chat_msg_rate (the log names the 1st, 1001st, ...) */

/* m in r and r in m's rooms, growing both arrays.  0, or -1 when out of memory (nothing linked). */
static int chat_link(struct chat_member *m, struct chat_room *r, int lobby)
{
    if (m->n_rooms == m->cap_rooms) {
        uint32_t nc = m->cap_rooms ? m->cap_rooms * 2 : 1;
        struct chat_room **v = realloc(m->rooms, nc * sizeof *v);
        if (!v) return -1;
        m->rooms = v;
        unsigned char *l = realloc(m->lobby, nc * sizeof *l);
        if (!l) return -1; /* rooms is only larger than cap_rooms says */
        m->lobby = l;
        m->cap_rooms = nc;
    }
    if (r->n == r->cap) {
        uint32_t nc = r->cap ? r->cap * 2 : 8;
        struct chat_member **v = realloc(r->mem, nc * sizeof *v);
        if (!v) return -1;
        r->mem = v;
        r->cap = nc;
    }
    m->lobby[m->n_rooms] = (unsigned char)(lobby != 0);
    m->rooms[m->n_rooms++] = r;
    r->mem[r->n++] = m;
    return 0;
}

/* c joins r (after the checks of a 0x98 or 0x97).  A join costs a room-message token: every join is
 * a notice to every member, so joining and leaving in a loop is a flood like any other. */
static void chat_join_room(struct chat *ch, struct conn *c, struct chat_room *r, int lobby)
{
    const struct config *cfg = c->srv->cfg;
    struct chat_member *m = chat_member_of(ch, c->user);
    if (m && m->c != c) { /* left over from an earlier session of the same user (another node's: it tells) */
        chat_drop_member(ch, m, m->c != NULL);
        m = NULL;
    }
    if (m && !chat_take_token(cfg, m)) {
        if (chat_dropped_joins++ % 1000 == 0)
            log_event(LOG_WARN, c->peer, c->user, "chat_join_flood", 0, "chat_msg_rate=%ld/s exceeded", cfg->chat_msg_rate);
        chat_join_refused(c, CHAT_ERR_BUSY);
        return;
    }
    if (m && chat_in_room(m, r)) { /* again: the list once more, nobody else told */
        m->active = rl_now();
        for (uint32_t i = 0; i < m->n_rooms; i++) {
            if (m->rooms[i] != r || m->lobby[i] == (lobby != 0)) continue;
            m->lobby[i] = (unsigned char)(lobby != 0); /* by the other name now: named so from here on */
            chat_publish(ch, m, r, 1);
        }
        chat_send_join_reply(ch, c, r, lobby);
        return;
    }
    if (r->n >= (uint32_t)cfg->chat_room_max_members) {
        log_event(LOG_INFO, c->peer, c->user, "chat_room_full", (long)r->id, "%s", r->name);
        chat_join_refused(c, CHAT_ERR_FULL);
        return;
    }
    if (!m) {
        m = calloc(1, sizeof *m);
        if (!m) goto oom;
        snprintf(m->user, sizeof m->user, "%s", c->user);
        m->c = c;
        m->tokens = (double)cfg->chat_msg_burst - 1.0; /* this join's token */
        m->tokens_at = rl_now();
        if (hmap_put(&ch->members, m->user, m) < 0) {
            free(m);
            goto oom;
        }
    }
    /* One room more than allowed: the room joined first is left (Yahoo moved a user between rooms). */
    while (m->n_rooms >= (uint32_t)cfg->chat_max_rooms && m->n_rooms) chat_leave_room(ch, m, m->rooms[0], 1);
    if (chat_link(m, r, lobby) < 0) goto oom_member;
    m->active = rl_now();
    log_event(LOG_DEBUG, c->peer, c->user, "chat_join", (long)r->id, "%s%s", r->name, lobby ? CHAT_LOBBY_SUFFIX : "");
    chat_publish(ch, m, r, 1);
    chat_send_join_reply(ch, c, r, lobby);
    struct chat_out o = {.room = r, .who = m->user};
    chat_fan_out(ch, r, m->user, YMSG_SVC_CHATJOIN, chat_build_joined, &o);
    return;
oom_member:
    if (m->n_rooms == 0) chat_drop_member(ch, m, 0);
oom:
    log_event(LOG_ERROR, c->peer, c->user, "out_of_memory", 0, "chat join");
    chat_join_refused(c, CHAT_ERR_FULL);
}

/* The room named by key 104 of pkt (its name or its lobby's: *lobby says which), or NULL. */
static struct chat_room *chat_pkt_room(struct chat *ch, const struct ymsg_packet *pkt, int *lobby)
{
    struct ymsg_kv kv;
    *lobby = 0;
    if (ymsg_get(pkt, CK_ROOM, &kv) < 0 || kv.len == 0 || kv.len >= CHAT_SHOWN_MAX) return NULL;
    return chat_resolve(ch, (const char *)kv.val, kv.len, lobby);
}

/* ---- handlers ---------------------------------------------------------------------------------- */

void chat_handle_online(struct conn *c, const struct ymsg_packet *pkt)
{
    (void)pkt;
    if (!c->srv->chat) return;
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CHATONLINE, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, CK_ME, c->user);
    delivery_send(c);
}

void chat_handle_join(struct conn *c, const struct ymsg_packet *pkt)
{
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    int lobby;
    struct chat_room *r = chat_pkt_room(ch, pkt, &lobby);
    if (!r) {
        chat_join_refused(c, CHAT_ERR_UNKNOWN);
        return;
    }
    chat_join_room(ch, c, r, lobby);
}

void chat_handle_goto(struct conn *c, const struct ymsg_packet *pkt)
{
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    struct ymsg_kv kv;
    char target[NAME_MAX_LEN + 1] = "";
    if (ymsg_get(pkt, CK_MEMBER, &kv) < 0 || name_normalize((const char *)kv.val, kv.len, target) < 0) target[0] = 0;
    struct chat_member *t = target[0] ? chat_member_of(ch, target) : NULL;
    /* The same refusal whether target is offline, hidden from c, or in no room (docs/CHAT_ROOMS.md §5). */
    if (t && t->n_rooms && strcmp(target, c->user) != 0 && can_see(c->srv, c->user, target)) {
        chat_join_room(ch, c, t->rooms[t->n_rooms - 1], 0);
        return;
    }
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CHATGOTO, YMSG_PKT_ERROR);
    if (target[0]) ymsg_build_str(b, CK_MEMBER, target);
    delivery_send(c);
}

void chat_handle_exit(struct conn *c, const struct ymsg_packet *pkt)
{
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    struct chat_member *m = chat_member_of(ch, c->user);
    int lobby;
    struct chat_room *r = chat_pkt_room(ch, pkt, &lobby);
    if (!m || m->c != c || !r || !chat_in_room(m, r)) return;
    /* The member stays (with its token bucket) until its chat logout, session end or idle timeout. */
    chat_leave_room(ch, m, r, 1);
}

void chat_handle_logout(struct conn *c, const struct ymsg_packet *pkt)
{
    (void)pkt;
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    struct chat_member *m = chat_member_of(ch, c->user);
    if (m && m->c == c) chat_drop_member(ch, m, 1);
    chat_send_logout(c);
}

/* Takes one room-message token of m: 1, or 0 when its bucket is empty. */
static int chat_take_token(const struct config *cfg, struct chat_member *m)
{
    double now = rl_now();
    m->tokens += (now - m->tokens_at) * (double)cfg->chat_msg_rate;
    if (m->tokens > (double)cfg->chat_msg_burst) m->tokens = (double)cfg->chat_msg_burst;
    m->tokens_at = now;
    if (m->tokens < 1.0) return 0;
    m->tokens -= 1.0;
    return 1;
}

static uint64_t chat_dropped; /* room messages dropped by chat_msg_rate (the log names the 1st, 1001st, ...) */

void chat_handle_comment(struct conn *c, const struct ymsg_packet *pkt)
{
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    const struct config *cfg = c->srv->cfg;
    struct chat_member *m = chat_member_of(ch, c->user);
    int lobby;
    struct chat_room *r = chat_pkt_room(ch, pkt, &lobby);
    if (!m || m->c != c || !r || !chat_in_room(m, r)) {
        struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_COMMENT, YMSG_PKT_SERVERACK);
        ymsg_build_int(b, CK_ERROR, CHAT_ERR_NOTIN);
        delivery_send(c);
        return;
    }
    struct ymsg_kv text;
    if (ymsg_get(pkt, CK_TEXT, &text) < 0 || text.len == 0) return;
    if (text.len > (size_t)cfg->chat_max_message) {
        log_event(LOG_INFO, c->peer, c->user, "chat_message_too_long", (long)text.len, "chat_max_message=%ld",
                  cfg->chat_max_message);
        return;
    }
    if (!chat_take_token(cfg, m)) {
        if (chat_dropped++ % 1000 == 0)
            log_event(LOG_WARN, c->peer, c->user, "chat_flood_dropped", 0, "chat_msg_rate=%ld/s exceeded",
                      cfg->chat_msg_rate);
        return;
    }
    m->active = rl_now();
    long long t = 1, u = 0;
    if (ymsg_get_int(pkt, CK_MSGTYPE, &t) < 0 || t < 1 || t > 3) t = 1;
    if (ymsg_get_int(pkt, CK_UTF8, &u) < 0) u = 0;
    struct chat_out o = {.room = r, .who = m->user, .pkt = pkt, .text = text.val, .text_len = text.len,
                         .msgtype = (int)t, .utf8 = u == 1};
    chat_fan_out(ch, r, m->user, YMSG_SVC_COMMENT, chat_build_comment, &o);
}

void chat_handle_invite(struct conn *c, const struct ymsg_packet *pkt)
{
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    struct chat_member *m = chat_member_of(ch, c->user);
    int lobby;
    struct chat_room *r = chat_pkt_room(ch, pkt, &lobby);
    struct ymsg_kv kv, text = {0};
    char to[NAME_MAX_LEN + 1];
    /* No answer in any case: the inviter learns nothing about the invitee (docs/CHAT_ROOMS.md §5). */
    if (!m || m->c != c || !r || !chat_in_room(m, r)) return;
    if (ymsg_get(pkt, CK_INVITEE, &kv) < 0 || name_normalize((const char *)kv.val, kv.len, to) < 0) return;
    if (strcmp(to, c->user) == 0 || !chat_take_token(c->srv->cfg, m)) return;
    if (ymsg_get(pkt, CK_TEXT, &text) < 0) text.len = 0;
    if (text.len > (size_t)c->srv->cfg->chat_max_message) return;
    struct chat_out o = {.room = r, .name = r->name, .who = m->user, .text = text.len ? text.val : (const uint8_t *)"",
                         .text_len = text.len, .to = to};
    delivery_to_user(c->srv, to, m->user, YMSG_SVC_CHATADDINVITE, YMSG_PKT_SERVERACK, chat_build_invite, &o);
}

void chat_handle_ping(struct conn *c, const struct ymsg_packet *pkt)
{
    (void)pkt;
    struct chat *ch = c->srv->chat;
    if (!ch) return;
    struct chat_member *m = chat_member_of(ch, c->user);
    if (m && m->c == c) m->active = rl_now();
}

void chat_session_end(struct conn *c)
{
    struct chat *ch = c->srv->chat;
    if (!ch || !c->user[0]) return;
    struct chat_member *m = chat_member_of(ch, c->user);
    if (m && m->c == c) chat_drop_member(ch, m, 1);
}

void chat_sweep(struct chat *ch, double now)
{
    if (!ch || !ch->srv) return;
    double limit = (double)ch->srv->cfg->chat_idle_timeout;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&ch->members, &pos, &k, &v)) {
        struct chat_member *m = v;
        if (!m->c || now - m->active < limit) continue; /* another node's member: its node sweeps it */
        struct conn *c = m->c;
        int in_rooms = m->n_rooms > 0;
        log_event(LOG_INFO, c->peer, c->user, "chat_idle", 0, "no room activity for %ld s",
                  ch->srv->cfg->chat_idle_timeout);
        while (m->n_rooms) chat_leave_room(ch, m, m->rooms[0], 1);
        hmap_iter_del(&ch->members, &pos);
        chat_member_free(m);
        if (in_rooms) chat_send_logout(c);
    }
}

void chat_remote(struct chat *ch, int op, const char *user, const char *room, size_t len)
{
    int lobby;
    struct chat_room *r = chat_resolve(ch, room, len, &lobby);
    struct chat_member *m = chat_member_of(ch, user);
    if (!r || (m && m->c)) {
        /* A room this node does not define (another rooms file), or the user's session here is the
         * newer one (its old node's leave crossed its login): nothing to follow. */
        log_event(LOG_DEBUG, NULL, user, "chat_remote_ignored", op, "room %.*s", (int)len, room);
        return;
    }
    if (op == 0) {
        if (m && chat_in_room(m, r)) chat_leave_room(ch, m, r, 0);
        if (m && m->n_rooms == 0) {
            hmap_del(&ch->members, m->user);
            chat_member_free(m);
        }
        return;
    }
    if (m && chat_in_room(m, r)) {
        for (uint32_t i = 0; i < m->n_rooms; i++) /* its node named the room anew (joined by the other name) */
            if (m->rooms[i] == r) m->lobby[i] = (unsigned char)(lobby != 0);
        return;
    }
    int fresh = !m;
    if (fresh) {
        if (!(m = calloc(1, sizeof *m))) goto oom;
        snprintf(m->user, sizeof m->user, "%s", user);
        if (hmap_put(&ch->members, m->user, m) < 0) {
            free(m);
            goto oom;
        }
    }
    /* No cap here: the member's node admitted it (two nodes admitting the last place at once both
     * keep theirs: docs/CHAT_ROOMS.md §6). */
    if (chat_link(m, r, lobby) < 0) goto oom_member;
    return;
oom_member:
    if (m->n_rooms == 0) chat_drop_member(ch, m, 0);
oom:
    log_event(LOG_ERROR, NULL, user, "out_of_memory", 0, "chat member from another node");
}

void chat_node_lost(struct chat *ch, const char *user)
{
    struct chat_member *m = chat_member_of(ch, user);
    if (!m || m->c) return;
    chat_quiet = 1;
    chat_drop_member(ch, m, 1);
    chat_quiet = 0;
}

void chat_announce(struct chat *ch)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&ch->members, &pos, &k, &v)) {
        const struct chat_member *m = v;
        for (uint32_t i = 0; m->c && i < m->n_rooms; i++) chat_publish(ch, m, m->rooms[i], 1);
    }
}

void chat_rejoin(struct chat *ch)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&ch->members, &pos, &k, &v)) {
        const struct chat_member *m = v;
        for (uint32_t i = 0; m->c && i < m->n_rooms; i++) {
            struct chat_room *r = m->rooms[i];
            chat_publish(ch, m, r, 1); /* a no-op where it is still a member */
            struct chat_out o = {.room = r, .who = m->user};
            for (uint32_t j = 0; j < r->n; j++) { /* the members elsewhere heard it leave: a join now */
                const struct chat_member *x = r->mem[j];
                if (x == m || x->c) continue;
                char nm[CHAT_SHOWN_MAX];
                o.to = x->user;
                o.name = chat_shown(r, chat_by_lobby(x, r), nm);
                delivery_to_user(ch->srv, x->user, m->user, YMSG_SVC_CHATJOIN, YMSG_PKT_SERVERACK, chat_build_joined, &o);
            }
        }
    }
}
