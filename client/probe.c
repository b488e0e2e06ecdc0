/* ymsg probe USER — an invisibility audit for server operators (YMSG.md §8.2).
 *
 * The auditor (your credentials) runs every detection technique a client can try against USER and
 * reports, technique by technique, whether USER's real state leaked.  With --target-credentials the
 * probe also signs in as USER (invisible) in a second session, so it knows the truth and can compare
 * exact bytes: what the auditor receives while USER is invisible must be indistinguishable from what
 * it receives once USER is really offline, and the server must not hand USER's invisible session the
 * packets that real clients answer automatically (P2P, doodle, picture requests).
 * Without a target session the probe can only catch signs of life from a USER who looks offline.
 *
 * The timing technique (issue 9.5) needs a second account known to be offline (--baseline-credentials):
 * it sends IMs to USER and to that account in random interleaved order, each followed by a keepalive
 * (0x8A, which the server answers), and compares the delays until the answers with a Mann-Whitney U
 * test.  A server whose invisible and offline IM paths do different work shows it here.
 *
 * Side effects on the server (it is an audit): short messages to USER, an add+remove and an
 * ignore+unignore of USER (skipped when USER is already a buddy), typing notifications.  The offline
 * messages it leaves are removed at the end by signing in as USER and as the baseline account (invisible)
 * when their credentials were given; messages from anyone else found there are printed, not lost. */
#include "client.h"

#include <ctype.h>
#include <math.h>
#include <time.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REC_MAX   256             /* packets kept per window */
#define SIG_MAX   1024            /* signature text per packet */

/* One received packet, reduced to what a detector could look at. */
struct rec {
    uint32_t service;             /* header service */
    char sig[SIG_MAX];            /* "svc/status k=v k=v" with per-message values masked */
    int mentions;                 /* some value names the target */
    int from_target;              /* key 4 (sender) is the target */
    int doodle;                   /* key 63 mentions doodle */
    int presence_online;          /* a presence packet says the target is online (or 12) */
};

/* Packets received by one session during one window. */
struct window {
    struct rec r[REC_MAX];        /* kept packets */
    int n;                        /* how many */
    int dropped;                  /* over REC_MAX */
};

struct probe {
    const struct opts *o;         /* options */
    char target[YMSG_ID_MAX];     /* USER, lower case */
    struct drv aud;               /* the auditor's connection */
    struct drv tgt;               /* the target's (with --target-credentials) */
    int have_tgt;                 /* the target session is up */
    struct window *aud_win;       /* where the auditor's packets go now (NULL = nowhere) */
    struct window *tgt_win;       /* same for the target's */
    int target_was_buddy;         /* USER was on the auditor's list before the probe */
    unsigned msg_seq;             /* for key 429 ids */
    uint64_t last_rx;             /* when either session last received a packet */
    char baseline[YMSG_ID_MAX];   /* an account known to be offline ("" = none) */
    unsigned ka_seen;             /* keepalive answers received by the auditor */
    uint64_t ka_at_ns;            /* when the last one arrived */
    int timing_tgt_invisible;     /* the target is known to be invisible (target session up) */
    int control_leak;             /* phase 4: target (offline) vs baseline differed: timing unreliable */
    char control[200];            /* that control run, for the report */
    long settle;                  /* observation window, ms */
    int cleaned;                  /* offline messages of the probe removed at the end */
    struct window *w[4];          /* sign-in, going invisible, signing off, scratch */
    struct window *inv_aud, *inv_tgt, *off_aud; /* per technique: auditor/target while invisible, auditor offline */
    char *sa, *sb;                /* window signatures being compared */
};

enum { T_PRESENCE, T_FINGERPRINT, T_P2P, T_IMV, T_PICTURE, T_ACK, T_DELIVERY, T_TYPING, T_ADDACK, T_USERSTAT,
       T_IGNORE, T_CONF, T_ROOM, T_FILE, T_TIMING, T_COUNT };
static const char *const tnames[T_COUNT] = {
    "presence", "logoff-fingerprint", "p2p-0x4F", "imvironment-doodle", "picture-0xBE", "message-ack-0xFB",
    "delivery-result", "typing", "add-buddy-ack", "userstat-0x0A", "ignore-ack", "conference-invite",
    "chat-room-goto", "file-offer", "im-timing"};
static const char *const tdesc[T_COUNT] = {
    "presence list / STATUS_15 content while invisible", "going invisible vs signing off, byte for byte",
    "P2P capability probe (0x4F)", "IMVironment / doodle message (key 63)", "picture request (0xBE)",
    "message acknowledgement (0xFB) side channel", "what the sender sees: invisible vs offline recipient",
    "typing notifications to and from the target", "add-buddy acknowledgement codes",
    "USERSTAT (0x0A) refresh", "ignore / unignore acknowledgements",
    "conference invitation (0x18): the inviter's answer, invisible vs offline invitee",
    "chat room: the target in a room (0x98), the auditor follows it there (0x97 goto)",
    "file offer (0xDC): the sender's answer, invisible vs offline receiver",
    "sender-observable IM latency: target vs a known-offline account (Mann-Whitney U)"};

enum verdict { V_NA = 0, V_OK, V_LEAK };
struct result {
    enum verdict v;               /* verdict */
    char detail[600];             /* why */
    char json[300];               /* extra JSON members (",\"k\":v..."), may be empty */
};

static int is_presence_service(uint32_t s)
{
    return s == YMSG_SVC_LOGON || s == YMSG_SVC_ISAWAY || s == YMSG_SVC_ISBACK || s == YMSG_SVC_Y6_STATUS_UPDATE ||
           s == YMSG_SVC_STATUS_15 || s == YMSG_SVC_USERSTAT || s == YMSG_SVC_GAMELOGON || s == YMSG_SVC_CHATLOGON ||
           s == YMSG_SVC_IDACT || s == YMSG_SVC_LIST_15;
}

static void record(struct probe *p, struct window *w, const struct ymsg_packet *pkt)
{
    uint32_t svc = pkt->hdr.service;
    if (svc == YMSG_SVC_PING || svc == YMSG_SVC_KEEPALIVE)
        return;
    if (w->n == REC_MAX) {
        w->dropped++;
        return;
    }
    struct rec *r = &w->r[w->n];
    memset(r, 0, sizeof *r);
    r->service = svc;
    size_t len = (size_t)snprintf(r->sig, sizeof r->sig, "0x%02X/%u", svc, pkt->hdr.status);
    size_t pos = 0;
    struct ymsg_kv kv;
    int names_target_as_buddy = 0;
    long long k13 = 1, k10 = 0;
    while (ymsg_next(pkt, &pos, &kv)) {
        int is_target = kv.len == strlen(p->target) && strncasecmp((const char *)kv.val, p->target, kv.len) == 0;
        if (is_target)
            r->mentions = 1;
        if (is_target && kv.key == YMSG_KEY_FROM)
            r->from_target = 1;
        if (is_target && kv.key == YMSG_KEY_BUDDY)
            names_target_as_buddy = 1;
        if (kv.key == YMSG_KEY_IMV && memmem(kv.val, kv.len, "doodle", 6))
            r->doodle = 1;
        char v[64];
        size_t n = kv.len < sizeof v - 1 ? kv.len : sizeof v - 1;
        memcpy(v, kv.val, n);
        v[n] = 0;
        if (kv.key == YMSG_KEY_FLAG)
            k13 = atoll(v);
        if (kv.key == YMSG_KEY_STATUS)
            k10 = atoll(v);
        /* per-message values differ between any two runs; mask them */
        int mask = kv.key == YMSG_KEY_MSG_ID || kv.key == YMSG_KEY_ACK_MSG_ID || kv.key == YMSG_KEY_TIME ||
                   kv.key == YMSG_KEY_MSG;
        for (char *c = v; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == ' ')
                *c = '.';
        if (len < sizeof r->sig)
            len += (size_t)snprintf(r->sig + len, sizeof r->sig - len, " %u=%s", kv.key, mask ? "*" : v);
    }
    if (names_target_as_buddy && is_presence_service(svc) && svc != YMSG_SVC_LIST_15 &&
        (k13 != 0 || k10 == YMSG_STATUS_INVISIBLE))
        r->presence_online = 1;
    w->n++;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void aud_hook(void *ud, int dir, const struct ymsg_packet *pkt)
{
    struct probe *p = ud;
    if (dir == 0 && pkt->hdr.service == YMSG_SVC_KEEPALIVE) {
        p->ka_at_ns = now_ns();
        p->ka_seen++;
    }
    if (dir == 0)
        p->last_rx = now_ms();
    if (dir == 0 && p->aud_win)
        record(p, p->aud_win, pkt);
}

static void tgt_hook(void *ud, int dir, const struct ymsg_packet *pkt)
{
    struct probe *p = ud;
    if (dir == 0)
        p->last_rx = now_ms();
    if (dir == 0 && p->tgt_win)
        record(p, p->tgt_win, pkt);
}

/* Runs both sessions for ms milliseconds. Returns 0, or EXIT_NETWORK if the auditor's link died. */
static int pump(struct probe *p, long ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    for (;;) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(&p->aud)))
            if (ev->type == YMSG_EV_DISCONNECTED)
                return EXIT_NETWORK;
        if (p->have_tgt)
            while ((ev = drv_next_event(&p->tgt)))
                if (ev->type == YMSG_EV_DISCONNECTED)
                    p->have_tgt = 0;
        uint64_t now = now_ms();
        if (now >= end)
            return 0;
        int slice = end - now > 20 ? 20 : (int)(end - now);
        if (drv_step(&p->aud, -1, slice, NULL) != 0)
            return EXIT_NETWORK;
        if (p->have_tgt && drv_step(&p->tgt, -1, 0, NULL) != 0)
            p->have_tgt = 0;
    }
}

/* One observation window: at least ms, longer while packets keep arriving (a loaded server must not
 * push an answer into the next window), at most 3 * ms. */
static int observe(struct probe *p, long ms)
{
    uint64_t start = now_ms();
    int r = pump(p, ms);
    while (r == 0 && now_ms() - p->last_rx < (uint64_t)(ms / 3) && now_ms() - start < (uint64_t)(3 * ms))
        r = pump(p, ms / 3);
    return r;
}

/* Only what concerns the target or answers our probes counts; other buddies' traffic is noise. */
static int relevant(const struct rec *r)
{
    return r->mentions || r->service == YMSG_SVC_MESSAGE || r->service == YMSG_SVC_MESSAGE_ACK ||
           (r->service >= YMSG_SVC_CONFINVITE && r->service <= YMSG_SVC_CONFMSG) ||
           (r->service >= YMSG_SVC_CHATONLINE && r->service <= YMSG_SVC_COMMENT) ||
           (r->service >= YMSG_SVC_FILETRANS_15 && r->service <= YMSG_SVC_FILETRANS_ACC_15) ||
           r->service == YMSG_SVC_PEERTOPEER || r->service == YMSG_SVC_PICTURE ||
           r->service == YMSG_SVC_P2PFILEXFER || r->service == YMSG_SVC_ADDBUDDY ||
           r->service == YMSG_SVC_REMBUDDY || r->service == YMSG_SVC_IGNORECONTACT ||
           r->service == YMSG_SVC_USERSTAT || r->service == YMSG_SVC_SYSMESSAGE || r->service == YMSG_SVC_NOTIFY;
}

/* The window as one comparable text. */
static void window_sig(const struct window *w, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < w->n && len < cap; i++)
        if (relevant(&w->r[i]))
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " | " : "", w->r[i].sig);
    if (!out[0])
        snprintf(out, cap, "(nothing)");
}

static int window_has(const struct window *w, int (*pred)(const struct rec *))
{
    for (int i = 0; i < w->n; i++)
        if (pred(&w->r[i]))
            return 1;
    return 0;
}

static int from_target(const struct rec *r) { return r->from_target; }
static int online_presence(const struct rec *r) { return r->presence_online; }
static int is_p2p(const struct rec *r) { return r->service == YMSG_SVC_PEERTOPEER || r->service == YMSG_SVC_P2PFILEXFER; }
static int is_picture(const struct rec *r) { return r->service == YMSG_SVC_PICTURE; }
static int is_doodle(const struct rec *r) { return r->doodle; }
static int mentions_target(const struct rec *r) { return r->mentions; }
static int is_typing(const struct rec *r) { return r->service == YMSG_SVC_NOTIFY && r->from_target; }
/* signs of life through the new channels (no target session: the target looks offline) */
static int conf_alive(const struct rec *r)
{
    return r->mentions && (r->service == YMSG_SVC_CONFLOGON || r->service == YMSG_SVC_CONFMSG);
}
static int room_alive(const struct rec *r) { return r->mentions && r->service == YMSG_SVC_CHATJOIN; }
static int file_offer(const struct rec *r) { return r->service == YMSG_SVC_FILETRANS_15; }

/* ------------------------------------------------------------------------------------------------
 * the active techniques; each sends from the auditor and lets both sessions run for one window
 * ---------------------------------------------------------------------------------------------- */
static int send_built(struct drv *d, struct ymsg_builder *b)
{
    ssize_t n = ymsg_build_end(b);
    return n > 0 ? ymsg_session_send_raw(d->s, b->buf, (size_t)n) : (int)n;
}

static int run_technique(struct probe *p, int t, struct window *aw, struct window *tw)
{
    uint8_t buf[2048];
    struct ymsg_builder b;
    struct ymsg_session *s = p->aud.s;
    const char *me = ymsg_session_user(s);
    memset(aw, 0, sizeof *aw);
    memset(tw, 0, sizeof *tw);
    p->aud_win = aw;
    p->tgt_win = tw;
    ymsg_builder_init(&b, buf, sizeof buf);
    int r = 0;
    switch (t) {
    case T_P2P: /* GYach's /hidden: a fake address so that nobody really connects */
        ymsg_build_begin(&b, YMSG_SVC_PEERTOPEER, 0, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, YMSG_KEY_FROM, me);
        ymsg_build_str(&b, YMSG_KEY_P2P_IP, "P33RtoPE3Rchck==");
        ymsg_build_str(&b, YMSG_KEY_P2P_EXTRA, "0");
        ymsg_build_str(&b, YMSG_KEY_AUTH_ID, "");
        ymsg_build_str(&b, YMSG_KEY_TO, p->target);
        ymsg_build_str(&b, YMSG_KEY_FLAG, "0");
        ymsg_build_str(&b, YMSG_KEY_NOTIFY_TYPE, "PEERTOPEER");
        ymsg_build_str(&b, 140, "1");
        r = send_built(&p->aud, &b);
        break;
    case T_IMV:
        ymsg_build_begin(&b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, YMSG_KEY_TO, p->target);
        ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
        ymsg_build_str(&b, YMSG_KEY_MSG, "ymsg probe: doodle check");
        ymsg_build_str(&b, YMSG_KEY_IMV, "doodle;106");
        ymsg_build_str(&b, YMSG_KEY_IMV_FLAG, "0");
        r = send_built(&p->aud, &b);
        break;
    case T_PICTURE:
        ymsg_build_begin(&b, YMSG_SVC_PICTURE, 0, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, YMSG_KEY_TO, p->target);
        ymsg_build_str(&b, YMSG_KEY_FLAG, "1");
        r = send_built(&p->aud, &b);
        break;
    case T_ACK: {
        char id[17];
        snprintf(id, sizeof id, "%016X", 0x50524F00u + ++p->msg_seq);
        ymsg_build_begin(&b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, YMSG_KEY_TO, p->target);
        ymsg_build_str(&b, YMSG_KEY_UTF8, "1");
        ymsg_build_str(&b, YMSG_KEY_MSG, "ymsg probe: ack check");
        ymsg_build_str(&b, YMSG_KEY_MSG_ID, id);
        ymsg_build_str(&b, YMSG_KEY_MSG_450, "0");
        r = send_built(&p->aud, &b);
        break;
    }
    case T_DELIVERY:
        r = ymsg_session_send_message(s, p->target, "ymsg probe: delivery check");
        break;
    case T_TYPING:
        r = ymsg_session_typing(s, p->target, 1);
        if (r == 0)
            r = ymsg_session_typing(s, p->target, 0);
        if (r == 0 && p->have_tgt) { /* and the other way: an invisible user's typing must not reach us */
            ymsg_session_typing(p->tgt.s, me, 1);
            ymsg_session_typing(p->tgt.s, me, 0);
        }
        break;
    case T_ADDACK:
        if (p->target_was_buddy) {
            const struct ymsg_buddy *bd = ymsg_session_find_buddy(s, p->target);
            r = ymsg_session_add_buddy(s, p->target, bd && bd->group[0] ? bd->group : "Friends", "");
        } else {
            r = ymsg_session_add_buddy(s, p->target, "ymsg-probe", "ymsg probe: add check");
            if (r == 0 && (r = observe(p, p->o->settle_ms)) == 0)
                r = ymsg_session_remove_buddy(s, p->target, "ymsg-probe");
        }
        break;
    case T_USERSTAT:
        ymsg_build_begin(&b, YMSG_SVC_USERSTAT, 0, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        r = send_built(&p->aud, &b);
        break;
    case T_IGNORE:
        r = ymsg_session_ignore(s, p->target, 1);
        if (r == 0 && (r = observe(p, p->o->settle_ms)) == 0)
            r = ymsg_session_ignore(s, p->target, 0);
        break;
    case T_CONF: { /* libyahoo2's yahoo_conference_invite; the same room name in both runs, left after */
        char room[YMSG_ID_MAX + 16];
        snprintf(room, sizeof room, "ymsg-probe-%s", me);
        ymsg_build_begin(&b, YMSG_SVC_CONFINVITE, 0, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, 50, me);
        ymsg_build_str(&b, 52, p->target);
        ymsg_build_str(&b, 57, room);
        ymsg_build_str(&b, 58, "ymsg probe: conference check");
        ymsg_build_str(&b, YMSG_KEY_FLAG, "0");
        r = send_built(&p->aud, &b);
        if (r == 0 && (r = observe(p, p->o->settle_ms)) == 0) {
            ymsg_builder_init(&b, buf, sizeof buf);
            ymsg_build_begin(&b, YMSG_SVC_CONFLOGOFF, 0, 0);
            ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
            ymsg_build_str(&b, YMSG_KEY_MY_ID, me);
            ymsg_build_str(&b, 57, room);
            r = send_built(&p->aud, &b);
        }
        break;
    }
    case T_ROOM: { /* the target (when we have its session) sits in a room; can we find it there? */
        const char *room = p->o->room ? p->o->room : "Linux";
        if (p->have_tgt && ymsg_session_room_join(p->tgt.s, room, NULL) == 0)
            r = observe(p, p->o->settle_ms);
        if (r != 0)
            break;
        ymsg_build_begin(&b, YMSG_SVC_CHATGOTO, 0, 0); /* libpurple's yahoo_chat_goto */
        ymsg_build_str(&b, 109, p->target);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, 62, "2");
        r = send_built(&p->aud, &b);
        if (r == 0 && (r = observe(p, p->o->settle_ms)) == 0) {
            ymsg_builder_init(&b, buf, sizeof buf); /* out of chat again, whatever happened */
            ymsg_build_begin(&b, YMSG_SVC_CHATLOGOUT, 0, 0);
            ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
            r = send_built(&p->aud, &b);
        }
        if (p->have_tgt)
            ymsg_session_room_leave(p->tgt.s);
        break;
    }
    case T_FILE: /* libpurple's yahoo_xfer_init_15 offer; a fixed id so both runs look alike; withdrawn after */
        ymsg_build_begin(&b, YMSG_SVC_FILETRANS_15, 0, 0);
        ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
        ymsg_build_str(&b, YMSG_KEY_TO, p->target);
        ymsg_build_str(&b, 265, "ymsgprobeFileCheck0000$$");
        ymsg_build_str(&b, 222, "1");
        ymsg_build_str(&b, 266, "1");
        ymsg_build_str(&b, YMSG_KEY_LIST_BEGIN, "268");
        ymsg_build_str(&b, YMSG_KEY_ENTRY_BEGIN, "268");
        ymsg_build_str(&b, YMSG_KEY_FILE_NAME, "ymsg-probe.txt");
        ymsg_build_str(&b, YMSG_KEY_FILE_SIZE, "16");
        ymsg_build_str(&b, YMSG_KEY_ENTRY_END, "268");
        ymsg_build_str(&b, YMSG_KEY_LIST_END, "268");
        r = send_built(&p->aud, &b);
        if (r == 0 && (r = observe(p, p->o->settle_ms)) == 0) {
            ymsg_builder_init(&b, buf, sizeof buf);
            ymsg_build_begin(&b, YMSG_SVC_FILETRANS_15, 0, 0);
            ymsg_build_str(&b, YMSG_KEY_ACTIVE_ID, me);
            ymsg_build_str(&b, YMSG_KEY_TO, p->target);
            ymsg_build_str(&b, 265, "ymsgprobeFileCheck0000$$");
            ymsg_build_str(&b, 222, "2");
            r = send_built(&p->aud, &b);
        }
        break;
    default:
        break;
    }
    if (r == 0)
        r = observe(p, p->o->settle_ms);
    p->aud_win = p->tgt_win = NULL;
    return r;
}

static void set(struct result *res, enum verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(struct result *res, enum verdict v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    res->v = v;
    vsnprintf(res->detail, sizeof res->detail, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------------
 * timing: IM latency to the target vs to a known-offline account
 * ---------------------------------------------------------------------------------------------- */
#define TIMING_SAMPLES 60         /* per side, default of --samples: 2 x 60 stays under the server's mailbox cap */
#define TIMING_ALPHA   0.001      /* a difference this unlikely by chance is a leak */

/* One sample: an IM to `to` and a keepalive in one write; the delay until the keepalive's answer, in ns.
 * Returns 0, or EXIT_NETWORK. */
static int time_one(struct probe *p, const char *to, uint64_t *ns)
{
    uint8_t buf[256];
    struct ymsg_builder b;
    int r = ymsg_session_send_message(p->aud.s, to, "ymsg probe: timing");
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, YMSG_SVC_KEEPALIVE, 0, 0);
    ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, ymsg_session_user(p->aud.s));
    if (r == 0)
        r = send_built(&p->aud, &b);
    if (r != 0)
        return EXIT_NETWORK;
    unsigned before = p->ka_seen;
    uint64_t t0 = now_ns(), end = now_ms() + 10000;
    while (p->ka_seen == before) {
        if (now_ms() > end || drv_step(&p->aud, -1, 20, NULL) != 0)
            return EXIT_NETWORK;
    }
    *ns = p->ka_at_ns - t0;
    const struct ymsg_event *ev;
    while ((ev = drv_next_event(&p->aud)))
        if (ev->type == YMSG_EV_DISCONNECTED)
            return EXIT_NETWORK;
    if (p->have_tgt) { /* the invisible target reads its IMs, as a real client would (not timed) */
        if (drv_step(&p->tgt, -1, 0, NULL) != 0)
            p->have_tgt = 0;
        while (p->have_tgt && (ev = drv_next_event(&p->tgt)))
            ;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double median_us(const uint64_t *v, int n)
{
    uint64_t *c = malloc((size_t)n * sizeof *c);
    if (!c)
        return 0;
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_u64);
    double m = n % 2 ? (double)c[n / 2] : ((double)c[n / 2 - 1] + (double)c[n / 2]) / 2;
    free(c);
    return m / 1000.0;
}

/* Two-sided Mann-Whitney U test (normal approximation, average ranks for ties).  Returns p; *z gets z. */
static double mann_whitney(const uint64_t *a, int na, const uint64_t *b, int nb, double *z)
{
    int n = na + nb;
    uint64_t *v = malloc((size_t)n * sizeof *v);
    if (!v || na < 1 || nb < 1) {
        free(v);
        *z = 0;
        return 1;
    }
    /* rank by value; the low bit tells the groups apart after sorting (values are ns, shifted up) */
    for (int i = 0; i < na; i++) v[i] = a[i] << 1;
    for (int i = 0; i < nb; i++) v[na + i] = b[i] << 1 | 1;
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    double ra = 0, ties = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[j] >> 1 == v[i] >> 1)
            j++;
        double rank = (i + 1 + j) / 2.0, t = j - i; /* ranks i+1..j share their average */
        for (int k = i; k < j; k++)
            if (!(v[k] & 1))
                ra += rank;
        ties += t * t * t - t;
        i = j;
    }
    free(v);
    double u = ra - (double)na * (na + 1) / 2, mu = (double)na * nb / 2;
    double var = (double)na * nb / 12.0 * ((n + 1) - ties / ((double)n * (n - 1)));
    *z = var > 0 ? (u - mu) / sqrt(var) : 0;
    return erfc(fabs(*z) / sqrt(2.0));
}

/* Interleaves n IMs to the target and n to the baseline in random order.  Returns 0 or EXIT_NETWORK and
 * fills the medians (us), p and z. */
static int time_pair(struct probe *p, int n, double *med_t, double *med_b, double *pv, double *z)
{
    uint64_t *ta = calloc((size_t)n, sizeof *ta), *tb = calloc((size_t)n, sizeof *tb);
    int rc = ta && tb ? 0 : EXIT_FAILED;
    unsigned seed = (unsigned)now_ns();
    for (int i = 0; i < n && rc == 0; i++) {
        int first_target = rand_r(&seed) & 1; /* drift in machine load hits both sides alike */
        for (int k = 0; k < 2 && rc == 0; k++)
            rc = (k == 0) == first_target ? time_one(p, p->target, &ta[i]) : time_one(p, p->baseline, &tb[i]);
    }
    if (rc == 0) {
        *med_t = median_us(ta, n);
        *med_b = median_us(tb, n);
        *pv = mann_whitney(ta, n, tb, n, z);
    }
    free(ta);
    free(tb);
    return rc;
}

/* Runs the timing technique into *res.  phase_offline: the target is known offline (the control run). */
static int run_timing(struct probe *p, struct result *res, int phase_offline)
{
    if (!p->baseline[0]) {
        set(res, V_NA, "needs --baseline-credentials FILE (an account known to be offline)");
        return 0;
    }
    int n = p->o->samples > 0 ? (int)p->o->samples : TIMING_SAMPLES;
    double mt = 0, mb = 0, pv = 1, z = 0;
    int rc = time_pair(p, n, &mt, &mb, &pv, &z);
    if (rc != 0)
        return rc;
    if (phase_offline) { /* both offline: any difference is the measurement's, not a leak */
        p->control_leak = pv < TIMING_ALPHA;
        snprintf(p->control, sizeof p->control, "control with %s offline: median %.0f vs %.0f us, p=%.2g",
                 p->target, mt, mb, pv);
        if (p->control_leak && res->v == V_LEAK)
            set(res, V_NA, "inconclusive: %s; %s", res->detail, p->control);
        else if (res->v != V_NA) {
            size_t l = strlen(res->detail);
            snprintf(res->detail + l, sizeof res->detail - l, "; %s", p->control);
        }
        return 0;
    }
    const char *state = p->timing_tgt_invisible ? "invisible" : "looking offline";
    int leak = pv < TIMING_ALPHA;
    set(res, leak ? V_LEAK : V_OK, "%s %s: median %.0f us, offline %s: median %.0f us (%d samples each, "
        "Mann-Whitney p=%.2g%s)", p->target, state, mt, p->baseline, mb, n, pv,
        leak ? ": the sender can tell them apart" : "");
    snprintf(res->json, sizeof res->json, ",\"samples\":%d,\"median_us_target\":%.1f,\"median_us_baseline\":%.1f,"
             "\"p_value\":%.3g,\"z\":%.2f", n, mt, mb, pv, z);
    return 0;
}

static const char *vname(enum verdict v) { return v == V_LEAK ? "LEAK" : v == V_OK ? "no leak" : "n/a"; }

static void report(const struct probe *p, const struct result *res, int leaks)
{
    if (p->o->json) {
        printf("{\"target\":");
        json_str(stdout, p->target);
        printf(",\"auditor\":");
        json_str(stdout, p->aud.user);
        printf(",\"target_session\":%s,\"leaks\":%d,\"offline_messages_removed\":%d,\"techniques\":[",
               p->o->target_credentials ? "true" : "false", leaks, p->cleaned);
        for (int t = 0; t < T_COUNT; t++) {
            printf("%s{\"name\":\"%s\",\"verdict\":\"%s\",\"description\":", t ? "," : "", tnames[t], vname(res[t].v));
            json_str(stdout, tdesc[t]);
            printf(",\"detail\":");
            json_str(stdout, res[t].detail);
            printf("%s}", res[t].json);
        }
        printf("]}\n");
    } else {
        printf("ymsg probe: target %s, auditor %s, target session: %s\n", p->target, p->aud.user,
               p->o->target_credentials ? "yes" : "no");
        for (int t = 0; t < T_COUNT; t++)
            printf("  %-20s %-8s %s\n", tnames[t], vname(res[t].v), res[t].detail);
        printf("%d leak(s); %d offline message(s) left by the probe removed\n", leaks, p->cleaned);
    }
    fflush(stdout);
}

static int login_as(struct drv *d, const struct opts *o, const char *file, int invisible)
{
    char user[256], pass[256];
    int rc = read_credentials(file, file ? NULL : "YMSG_USER", file ? NULL : "YMSG_PASSWORD", file ? NULL : o->account,
                              user, sizeof user, pass, sizeof pass);
    if (rc != 0)
        return EXIT_USAGE;
    rc = drv_open(d, o, user, pass, invisible ? YMSG_STATUS_INVISIBLE : YMSG_STATUS_AVAILABLE, NULL, 0);
    memset(pass, 0, sizeof pass);
    if (rc == 0)
        rc = drv_login(d, 30000, NULL, NULL);
    if (rc != 0 && d->s)
        drv_close(d);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * the probe in phases: setup, run (with or without a target session), clean up, report
 * ---------------------------------------------------------------------------------------------- */
#define SIGCAP 8192               /* window signature text */

/* Reads only the user name of a credentials file (the password is wiped at once). */
static int user_of(const char *file, char *user, size_t cap)
{
    char pass[256];
    int rc = read_credentials(file, NULL, NULL, NULL, user, cap, pass, sizeof pass);
    memset(pass, 0, sizeof pass);
    for (char *c = user; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return rc;
}

static void probe_close(struct probe *p)
{
    if (p->tgt.s) {
        if (ymsg_session_state(p->tgt.s) != YMSG_SS_CLOSED)
            ymsg_session_logoff(p->tgt.s);
        drv_close(&p->tgt);
    }
    p->have_tgt = 0;
    if (p->aud.s) {
        if (ymsg_session_state(p->aud.s) != YMSG_SS_CLOSED)
            ymsg_session_logoff(p->aud.s);
        drv_close(&p->aud);
    }
}

static void probe_free(struct probe *p)
{
    if (!p)
        return;
    for (int i = 0; i < 4; i++)
        free(p->w[i]);
    free(p->inv_aud);
    free(p->inv_tgt);
    free(p->off_aud);
    free(p->sa);
    free(p->sb);
    free(p);
}

/* Arguments, buffers, the baseline's name, the auditor's login and list.  Returns 0 or an exit code. */
static int probe_setup(struct probe *p, int argc, char **argv, const struct opts *o)
{
    if (argc != 1 || !argv[0][0] || strlen(argv[0]) >= YMSG_ID_MAX) {
        fprintf(stderr, "usage: ymsg probe USER [--target-credentials FILE] [--baseline-credentials FILE] "
                        "[--samples N] [--room NAME] [--json] [--settle MS]\n");
        return EXIT_USAGE;
    }
    for (int i = 0; i < 4; i++)
        p->w[i] = calloc(1, sizeof *p->w[i]);
    p->inv_aud = calloc(T_COUNT, sizeof *p->inv_aud);
    p->inv_tgt = calloc(T_COUNT, sizeof *p->inv_tgt);
    p->off_aud = calloc(T_COUNT, sizeof *p->off_aud);
    p->sa = malloc(SIGCAP);
    p->sb = malloc(SIGCAP);
    if (!p->w[0] || !p->w[1] || !p->w[2] || !p->w[3] || !p->inv_aud || !p->inv_tgt || !p->off_aud || !p->sa || !p->sb)
        return EXIT_FAILED;
    p->o = o;
    snprintf(p->target, sizeof p->target, "%s", argv[0]);
    for (char *c = p->target; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    p->settle = o->settle_ms > 0 ? o->settle_ms : 800;
    if (o->baseline_credentials) {
        if (user_of(o->baseline_credentials, p->baseline, sizeof p->baseline) != 0)
            return EXIT_USAGE;
        if (!strcmp(p->baseline, p->target)) {
            fprintf(stderr, "ymsg probe: the baseline account must differ from the target\n");
            return EXIT_USAGE;
        }
    }
    /* the auditor signs in (visible) and learns its list */
    p->aud.on_packet = aud_hook;
    p->aud.packet_ud = p;
    int rc = login_as(&p->aud, o, o->credentials, 0);
    if (rc != 0)
        return rc;
    if (strcasecmp(ymsg_session_user(p->aud.s), p->target) == 0 ||
        (p->baseline[0] && strcasecmp(ymsg_session_user(p->aud.s), p->baseline) == 0)) {
        fprintf(stderr, "ymsg probe: the auditor, the target and the baseline account must differ\n");
        return EXIT_USAGE;
    }
    if ((rc = pump(p, p->settle)) != 0)
        return rc;
    p->target_was_buddy = ymsg_session_find_buddy(p->aud.s, p->target) != NULL;
    return 0;
}

/* Phase 1: the target signs in invisible; the auditor must receive nothing about it. */
static int phase_signin(struct probe *p, struct result *res)
{
    p->aud_win = p->w[0];
    p->tgt.on_packet = tgt_hook;
    p->tgt.packet_ud = p;
    int rc = login_as(&p->tgt, p->o, p->o->target_credentials, 1);
    if (rc != 0)
        return rc;
    if (strcasecmp(ymsg_session_user(p->tgt.s), p->target) != 0) {
        fprintf(stderr, "ymsg probe: --target-credentials are for %s, not %s\n", ymsg_session_user(p->tgt.s),
                p->target);
        return EXIT_USAGE;
    }
    p->have_tgt = 1;
    if ((rc = observe(p, p->settle)) != 0)
        return rc;
    p->aud_win = NULL;
    const struct ymsg_buddy *bd = ymsg_session_find_buddy(p->aud.s, p->target);
    if (window_has(p->w[0], online_presence) || (bd && bd->online)) {
        window_sig(p->w[0], p->sa, SIGCAP);
        set(&res[T_PRESENCE], V_LEAK, "the auditor sees %s online while invisible: %s", p->target, p->sa);
    } else if (window_has(p->w[0], mentions_target)) {
        window_sig(p->w[0], p->sa, SIGCAP);
        set(&res[T_PRESENCE], V_LEAK, "packets about %s reached the auditor when it signed in invisible: %s",
            p->target, p->sa);
    } else {
        set(&res[T_PRESENCE], V_OK, "nothing about %s reached the auditor while it signed in invisible", p->target);
    }
    return 0;
}

/* Phase 3: visible -> invisible, then visible -> sign-off, byte for byte; the target ends offline. */
static int phase_fingerprint(struct probe *p, struct result *res)
{
    int rc;
    if (ymsg_session_set_status(p->tgt.s, YMSG_STATUS_AVAILABLE, NULL, 0) != 0 || (rc = pump(p, p->settle)) != 0)
        return EXIT_NETWORK;
    const struct ymsg_buddy *seen = ymsg_session_find_buddy(p->aud.s, p->target);
    int auditor_sees = seen && seen->online;
    p->aud_win = p->w[1];
    ymsg_session_set_status(p->tgt.s, YMSG_STATUS_INVISIBLE, NULL, 0);
    if ((rc = observe(p, p->settle)) != 0)
        return rc;
    p->aud_win = NULL;
    ymsg_session_set_status(p->tgt.s, YMSG_STATUS_AVAILABLE, NULL, 0);
    if ((rc = pump(p, p->settle)) != 0)
        return rc;
    p->aud_win = p->w[2];
    ymsg_session_logoff(p->tgt.s);
    drv_close(&p->tgt);
    p->have_tgt = 0;
    if ((rc = observe(p, p->settle)) != 0)
        return rc;
    p->aud_win = NULL;
    window_sig(p->w[1], p->sa, SIGCAP);
    window_sig(p->w[2], p->sb, SIGCAP);
    if (!auditor_sees && p->w[1]->n == 0 && p->w[2]->n == 0)
        set(&res[T_FINGERPRINT], V_NA, "the auditor does not see %s's presence (not an authorised buddy)", p->target);
    else if (strcmp(p->sa, p->sb) != 0)
        set(&res[T_FINGERPRINT], V_LEAK, "going invisible: %s / signing off: %s", p->sa, p->sb);
    else
        set(&res[T_FINGERPRINT], V_OK, "identical: %s", p->sa);
    return 0;
}

/* Compares each active technique's invisible window with its offline one. */
static void verdicts_with_target(struct probe *p, struct result *res)
{
    for (int t = T_P2P; t < T_TIMING; t++) {
        window_sig(&p->inv_aud[t], p->sa, SIGCAP);
        window_sig(&p->off_aud[t], p->sb, SIGCAP);
        const struct window *tw = &p->inv_tgt[t];
        if (t == T_P2P && window_has(tw, is_p2p))
            set(&res[t], V_LEAK, "the server delivered the P2P probe to the invisible target (clients answer it)");
        else if (t == T_PICTURE && window_has(tw, is_picture))
            set(&res[t], V_LEAK, "the server delivered the picture request to the invisible target (clients answer it)");
        else if (t == T_IMV && window_has(tw, is_doodle))
            set(&res[t], V_LEAK, "the doodle IMVironment reached the invisible target (Pidgin answers it)");
        else if (t == T_TYPING && window_has(&p->inv_aud[t], is_typing))
            set(&res[t], V_LEAK, "the invisible target's typing notification reached the auditor");
        else if (t == T_ROOM && window_has(&p->inv_aud[t], room_alive))
            set(&res[t], V_LEAK, "the auditor found the invisible target in its chat room: %s", p->sa);
        else if (strcmp(p->sa, p->sb) != 0)
            set(&res[t], V_LEAK, "invisible: %s / offline: %s", p->sa, p->sb);
        else
            set(&res[t], V_OK, "invisible and offline look the same: %s%s", p->sa,
                t == T_FILE && window_has(tw, file_offer) ? " (the offer did reach the invisible target)" : "");
    }
}

/* Timing last, once every byte comparison is done: its many IMs fill the target's box (a server's per-sender
 * quota), which would make the offline run of the other techniques differ from the invisible one.  The
 * target signs in invisible again for it, then off for the control run. */
static int phase_timing(struct probe *p, struct result *res)
{
    if (!p->baseline[0])
        return run_timing(p, res, 0); /* says what it needs */
    int rc = login_as(&p->tgt, p->o, p->o->target_credentials, 1);
    if (rc != 0)
        return rc;
    p->have_tgt = 1;
    p->timing_tgt_invisible = 1;
    if ((rc = pump(p, p->settle)) == 0)
        rc = run_timing(p, res, 0);
    ymsg_session_logoff(p->tgt.s);
    drv_close(&p->tgt);
    p->have_tgt = 0;
    p->timing_tgt_invisible = 0;
    if (rc == 0 && (rc = pump(p, p->settle)) == 0)
        rc = run_timing(p, res, 1);
    return rc;
}

/* With a target session: every technique while the target is invisible, then while it is offline. */
static int probe_run_with_target(struct probe *p, struct result *res)
{
    int rc = phase_signin(p, res);
    for (int t = T_P2P; t < T_TIMING && rc == 0; t++)
        rc = run_technique(p, t, &p->inv_aud[t], &p->inv_tgt[t]);
    if (rc == 0)
        rc = phase_fingerprint(p, res);
    for (int t = T_P2P; t < T_TIMING && rc == 0; t++)
        rc = run_technique(p, t, &p->off_aud[t], p->w[3]);
    if (rc == 0)
        verdicts_with_target(p, res);
    if (rc == 0)
        rc = phase_timing(p, &res[T_TIMING]);
    return rc;
}

/* No target session: catch signs of life from a target that looks offline. */
static int probe_run_alone(struct probe *p, struct result *res)
{
    const struct ymsg_buddy *bd = ymsg_session_find_buddy(p->aud.s, p->target);
    if (bd && bd->online && bd->status != YMSG_STATUS_INVISIBLE) {
        set(&res[T_PRESENCE], V_NA, "%s is visibly online (%s): nothing to detect", p->target, status_text(bd->status));
        for (int t = T_FINGERPRINT; t < T_COUNT; t++)
            set(&res[t], V_NA, "%s is visibly online", p->target);
        return 0;
    }
    if (bd && bd->online)
        set(&res[T_PRESENCE], V_LEAK, "the server sent status 12 (invisible) for %s", p->target);
    else
        set(&res[T_PRESENCE], V_OK, "%s looks offline", p->target);
    set(&res[T_FINGERPRINT], V_NA, "needs --target-credentials (a cooperating target session)");
    for (int t = T_P2P; t < T_TIMING; t++) {
        int rc = run_technique(p, t, &p->inv_aud[t], p->w[3]);
        if (rc != 0)
            return rc;
        if (t == T_DELIVERY || t == T_ADDACK || t == T_USERSTAT || t == T_IGNORE) {
            set(&res[t], V_NA, "needs --target-credentials (an offline baseline to compare with)");
        } else if ((t == T_CONF && window_has(&p->inv_aud[t], conf_alive)) ||
                   (t == T_ROOM && window_has(&p->inv_aud[t], room_alive))) {
            window_sig(&p->inv_aud[t], p->sa, SIGCAP);
            set(&res[t], V_LEAK, "%s showed up although it looks offline: %s", p->target, p->sa);
        } else if (window_has(&p->inv_aud[t], from_target)) {
            window_sig(&p->inv_aud[t], p->sa, SIGCAP);
            set(&res[t], V_LEAK, "%s answered although it looks offline: %s", p->target, p->sa);
        } else {
            set(&res[t], V_OK, "no answer from %s (it may simply be offline)", p->target);
        }
    }
    return run_timing(p, &res[T_TIMING], 0);
}

/* Signs in (invisible) as the account in `file` and takes its offline messages off the server: the
 * auditor's are counted, anyone else's are printed on stderr so that nothing is lost. */
static void drain_mailbox(struct probe *p, const char *file)
{
    struct drv d = {0};
    if (login_as(&d, p->o, file, 1) != 0) {
        fprintf(stderr, "ymsg probe: could not sign in to remove the probe's offline messages\n");
        return;
    }
    const char *me = p->aud.user;
    uint64_t end = now_ms() + (uint64_t)p->settle, hard = now_ms() + 30000;
    while (now_ms() < end && now_ms() < hard) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(&d))) {
            if (ev->type != YMSG_EV_MESSAGE || !(ev->flags & YMSG_EVF_OFFLINE))
                continue;
            end = now_ms() + (uint64_t)p->settle; /* more may follow in pages */
            if (strcasecmp(ev->who, me) == 0 && !strncmp(ev->text, "ymsg probe", 10))
                p->cleaned++;
            else
                fprintf(stderr, "ymsg probe: offline message for %s from %s (delivered here): %s\n", d.user, ev->who,
                        ev->text);
        }
        if (drv_step(&d, -1, 100, NULL) != 0)
            break;
    }
    ymsg_session_logoff(d.s);
    drv_close(&d);
}

static void probe_cleanup(struct probe *p)
{
    probe_close(p);
    if (p->o->target_credentials)
        drain_mailbox(p, p->o->target_credentials);
    if (p->o->baseline_credentials)
        drain_mailbox(p, p->o->baseline_credentials);
}

int cmd_probe(int argc, char **argv, const struct opts *o)
{
    signal(SIGPIPE, SIG_IGN);
    struct probe *p = calloc(1, sizeof *p);
    struct result res[T_COUNT];
    memset(res, 0, sizeof res);
    if (!p)
        return EXIT_FAILED;
    int rc = probe_setup(p, argc, argv, o);
    if (rc == 0)
        rc = o->target_credentials ? probe_run_with_target(p, res) : probe_run_alone(p, res);
    if (rc == 0 || p->aud.s)
        probe_cleanup(p);
    if (rc == 0) {
        int leaks = 0;
        for (int t = 0; t < T_COUNT; t++)
            leaks += res[t].v == V_LEAK;
        report(p, res, leaks);
        rc = leaks ? EXIT_FAILED : EXIT_OKAY;
    }
    probe_free(p);
    return rc;
}
