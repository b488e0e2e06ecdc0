/* Internals of the sans-IO client session, shared by its files (not installed; the public API is the
 * session section of include/ymsg/ymsg.h).  The session is split by concern, like libuv's src/unix/
 * behind its internal.h:
 *   session.c           core: create/free, feed and dispatch, events, output, timers, raw send, logoff
 *   session_text.c      text helpers: key/value views to C strings, ids, UTF-8, formatting codes
 *   session_login.c     token login: 0x57, the two HTTP steps, 0x54, logged in / failed
 *   session_roster.c    roster and lists: index, LIST_15 / 0x55, authorisation requests, list commands
 *   session_presence.c  presence of buddies (STATUS_15, old 0x01..0x04) and our own status
 *   session_message.c   messages, typing/buzz, system notices
 *   session_conf.c      conferences (0x18-0x1D) and chat rooms (0x96-0xA8)
 *   session_xfer.c      file transfer over the relay (0xDC/0xDD/0xDE)
 * Functions shared between these files carry the sess_ prefix; the rest are static in their file. */
#ifndef YMSG_SESSION_INTERNAL_H
#define YMSG_SESSION_INTERNAL_H

#include "ymsg/ymsg.h"

#include "dynbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ctype.h>

#define SCRATCH_CAP   (YMSG_HEADER_LEN + YMSG_MAX_BODY)
#define MIN_INBUF     (YMSG_HEADER_LEN + YMSG_MAX_BODY)
#define SEEN_IDS      64          /* message ids remembered for de-duplication (§7.1: YM9 re-sends) */
#define TOKEN_MAX     1024        /* token / crumb / cookie values */
#define CHALLENGE_MAX 512         /* key 94 */

/* One queued event with its strings stored behind it. */
struct sev {
    struct ymsg_event ev;         /* the public part */
    char data[];                  /* NUL-terminated strings the ev pointers refer to */
};

/* Strings of an event being built (borrowed; copied by sess_ev_push). */
struct evstr {
    const char *who;              /* -> ev.who */
    const char *to;               /* -> ev.to */
    const char *text;             /* -> ev.text */
    const char *group;            /* -> ev.group */
    const char *group2;           /* -> ev.group2 */
    const char *room;             /* -> ev.room */
    const char *list;             /* -> ev.list */
    const char *xfer;             /* -> ev.xfer */
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
    char user[YMSG_ID_MAX];           /* own id, sess_lower case */
    char *password;                   /* wiped on free */
    char *login_url;                  /* token login base URL */
    char locale[16];                  /* key 98 */
    char client_version[32];          /* key 135 */
    enum ymsg_session_state state;    /* see enum */
    uint32_t session_id;              /* last id the server used (adopted from every packet, §1.4) */
    uint32_t my_status;               /* own presence */
    char initial_msg[YMSG_STATUS_MSG_MAX]; /* cfg.initial_msg's copy, announced at sign-in */
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
    struct dynarr buddies;            /* struct ymsg_buddy in list order (max_buddies); see sess_buddies */
    uint32_t *bidx;                   /* open-addressing index: slot = buddy index + 1, 0 = empty */
    size_t bidx_cap;                  /* slots (a power of two, at least twice buddies.len) */
    struct ymsg_buddy *old_buddies;   /* previous roster while a new list arrives (keeps presence) */
    size_t nold;                      /* its length */
    struct dynarr groups;             /* group names, char[YMSG_GROUP_MAX] each (max_groups) */
    struct dynarr ignored;            /* ignore list, char[YMSG_ID_MAX] each (max_ignored) */
    struct ymsg_auth_request *requests; /* unanswered authorisation requests (max_requests of them) */
    size_t nrequests;                 /* used */

    /* multi-packet parsing state */
    int list15_more;                  /* the last LIST_15 had status 5: the next one continues it */
    char list15_group[YMSG_GROUP_MAX];/* current group across LIST_15 packets (Pidgin's current_list15_grp) */
    struct list_acc list15_entry;     /* entry being read */
    struct pres_acc half;             /* STATUS_15 entry split across packets */
    int status15_more;                /* the last STATUS_15 had status 5 */
    struct dynbuf l87, l88;           /* 0x55 list text accumulated across packets (max_list_text) */
    int have87, have88;               /* seen in this reply */
    int list55_more;                  /* the last 0x55 had status 5 */

    uint64_t seen[SEEN_IDS];          /* hashes of (sender, id) of recent messages */
    size_t seen_next;                 /* ring position */

    /* conferences, chat room, file transfers (session_conf.c, session_xfer.c) */
    struct ymsg_conf *confs;          /* max_confs slots; confs[i].members has max_conf_members */
    size_t nconfs;                    /* used */
    uint64_t conf_counter;            /* for "<user>-<n>" conference names */
    int chat_online;                  /* 0x96 confirmed (status 1): pings are 0xA1 */
    int chat_pending;                 /* 0x96 sent, 0x98 waits for its answer */
    char room[YMSG_ROOM_MAX];         /* the room we are in or joining ("" none) */
    char room_id[32];                 /* its key 129 */
    int in_room;                      /* the join was confirmed */
    int room_more;                    /* our join's member list continues (status 5) */
    struct dynarr room_members;       /* sess_id each (max_room_members) */
    struct ymsg_xfer *xfers;          /* max_xfers slots */
    size_t nxfers;                    /* used */
    uint64_t xfer_counter;            /* for transfer ids */
    char *relay_host;                 /* cfg.relay_host's copy */

    struct ymsg_session_stats stats;  /* counters */
    int nomem;                        /* something was lost to a failed allocation in this feed() call */
};

/* Typed views of the roster arrays. */
typedef char sess_group_name[YMSG_GROUP_MAX];
typedef char sess_id[YMSG_ID_MAX];
static inline struct ymsg_buddy *sess_buddies(const struct ymsg_session *s) { return s->buddies.v; }
static inline sess_group_name *sess_groups(const struct ymsg_session *s) { return s->groups.v; }
static inline sess_id *sess_ignored(const struct ymsg_session *s) { return s->ignored.v; }
static inline sess_id *sess_ids(const struct dynarr *a) { return a->v; }

/* Tiny helpers of the handlers' inner loops, inline so that splitting the session into files adds no
 * calls (bench_session, docs/PERFORMANCE.md). */

/* Copies a value NUL-terminated, truncated to cap-1; NUL bytes inside end the string. */
static inline void sess_kv_copy(const struct ymsg_kv *kv, char *dst, size_t cap)
{
    size_t n = kv->len < cap - 1 ? kv->len : cap - 1;
    memcpy(dst, kv->val, n);
    dst[n] = 0;
}

/* An id must fit and must not contain bytes that make no sense in an id (controls, spaces, commas). */
static inline int sess_kv_id(const struct ymsg_kv *kv, char dst[YMSG_ID_MAX])
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

/* 1 if the value is exactly the string s. */
static inline int sess_kv_is(const struct ymsg_kv *kv, const char *s)
{
    size_t n = strlen(s);
    return kv->len == n && memcmp(kv->val, s, n) == 0;
}

/* FNV-1a over a C string, optionally case-folded; h is the running hash. */
static inline uint64_t sess_fnv1a(uint64_t h, const char *p, int fold)
{
    for (; *p; p++) {
        h ^= (unsigned char)(fold ? tolower((unsigned char)*p) : *p);
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- session_text.c: small helpers ---------------------------------------------------------- */
/* One log line through cfg.log when level >= cfg.log_level (truncated to 511 bytes). */
void sess_log(struct ymsg_session *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A decimal value, or dflt when it is empty, too long or not a whole number. */
long long sess_kv_int(const struct ymsg_kv *kv, long long dflt);
/* ASCII lower-casing in place. */
void sess_lower(char *p);
/* 1 if p[0..n) is valid UTF-8. */
int sess_utf8_valid(const uint8_t *p, size_t n);
/* Message / status text to display-safe UTF-8 (malloc()ed; NULL if out of memory). */
char *sess_text_clean(const uint8_t *p, size_t n, int utf8_flag);
/* sess_text_clean into a caller's buffer, cut to cap-1 on a character boundary (empty if out of memory). */
void sess_text_clean_into(const struct ymsg_kv *kv, int utf8_flag, char *dst, size_t cap);
/* Checks of command arguments: an id that fits and can go on the wire; text without a separator. */
int sess_valid_id(const char *id);
int sess_valid_text(const char *t, size_t max);

/* ---- session.c: events, output, state ------------------------------------------------------- */
/* Queues an event, copying the strings of str (NULL: none); counts a drop when the queue is full. */
void sess_ev_push(struct ymsg_session *s, const struct ymsg_event *proto, const struct evstr *str);
/* An event with only a type, a code and a text. */
void sess_ev_simple(struct ymsg_session *s, enum ymsg_event_type type, int code, const char *text);
/* An entry (what: "buddy", ...; which: its id or "") lost to a failed allocation: logged at error
 * level, counted in stats.capped, and ymsg_session_feed() returns YMSG_ENOMEM for this call. */
void sess_nomem(struct ymsg_session *s, const char *what, const char *which);
/* Closing: one DISCONNECTED event, state CLOSED, timers off (no-op when already closed). */
void sess_fail(struct ymsg_session *s, int code, const char *reason);
/* Starts a packet in the scratch buffer with the current session id. */
void sess_pkt_begin(struct ymsg_session *s, struct ymsg_builder *b, uint16_t service, uint32_t status);
/* Ends the packet and appends it to the output; YMSG_ENOSPC when max_outbuf would be passed. */
int sess_pkt_send(struct ymsg_session *s, struct ymsg_builder *b);
/* 0 when online, else YMSG_ESTATE (commands that need a logged-in session). */
int sess_need_online(const struct ymsg_session *s);

/* ---- session_login.c: token login ------------------------------------------------------------ */
/* AUTHRESP -> ONLINE: starts the timers, announces our status, LOGGED_IN event. */
void sess_logged_in(struct ymsg_session *s);
/* Queues a 0xC6 status update (status, custom message, away key 47). */
int sess_status_update(struct ymsg_session *s, uint32_t status, const char *msg, int away);
/* LOGIN_FAILED event and close; flags YMSG_EVF_NETWORK marks a failure worth retrying. */
void sess_login_failed(struct ymsg_session *s, int code, const char *text, unsigned flags);
/* 0x57 (challenge: first HTTP step) and 0x54 (a refusal) from the server. */
void sess_on_auth(struct ymsg_session *s, const struct ymsg_packet *pkt);
void sess_on_authresp(struct ymsg_session *s, const struct ymsg_packet *pkt);

/* ---- packet handlers (session_roster.c, session_presence.c, session_message.c) -------------- */
void sess_on_list15(struct ymsg_session *s, const struct ymsg_packet *pkt);   /* LIST_15 */
void sess_on_list55(struct ymsg_session *s, const struct ymsg_packet *pkt);   /* LIST (old) */
void sess_on_auth_req(struct ymsg_session *s, const struct ymsg_packet *pkt); /* AUTH_REQ_15, NEWCONTACT */
void sess_on_list_ack(struct ymsg_session *s, const struct ymsg_packet *pkt); /* list command acks */
void sess_on_presence(struct ymsg_session *s, const struct ymsg_packet *pkt); /* STATUS_15 and friends */
/* Y6_VISIBLE_TOGGLE: 13=1 visible again, 13=2 invisible (session_presence.c). */
int sess_send_visible(struct ymsg_session *s, int visible);
void sess_on_message(struct ymsg_session *s, const struct ymsg_packet *pkt);  /* MESSAGE */
void sess_on_notify(struct ymsg_session *s, const struct ymsg_packet *pkt);   /* NOTIFY (typing) */
void sess_on_system(struct ymsg_session *s, const struct ymsg_packet *pkt);   /* SYSMESSAGE, NEWMAIL */
void sess_on_conf(struct ymsg_session *s, const struct ymsg_packet *pkt);     /* 0x18-0x1D */
void sess_on_chat(struct ymsg_session *s, const struct ymsg_packet *pkt);     /* 0x96-0xA8 */
void sess_on_xfer(struct ymsg_session *s, const struct ymsg_packet *pkt);     /* 0xDC/0xDD/0xDE */
/* Allocates / frees the conference, room and transfer state (session_conf.c). */
int sess_multi_init(struct ymsg_session *s);
void sess_multi_free(struct ymsg_session *s);
/* The hourly ping: 0xA1 while in chat, else 0x12 (session_conf.c). */
void sess_send_ping(struct ymsg_session *s);

#endif
