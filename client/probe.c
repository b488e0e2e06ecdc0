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
 * Side effects on the server (it is an audit): short messages to USER, an add+remove and an
 * ignore+unignore of USER (skipped when USER is already a buddy), typing notifications. */
#include "client.h"

#include <ctype.h>
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
};

enum { T_PRESENCE, T_FINGERPRINT, T_P2P, T_IMV, T_PICTURE, T_ACK, T_DELIVERY, T_TYPING, T_ADDACK, T_USERSTAT,
       T_IGNORE, T_COUNT };
static const char *const tnames[T_COUNT] = {
    "presence", "logoff-fingerprint", "p2p-0x4F", "imvironment-doodle", "picture-0xBE", "message-ack-0xFB",
    "delivery-result", "typing", "add-buddy-ack", "userstat-0x0A", "ignore-ack"};
static const char *const tdesc[T_COUNT] = {
    "presence list / STATUS_15 content while invisible", "going invisible vs signing off, byte for byte",
    "P2P capability probe (0x4F)", "IMVironment / doodle message (key 63)", "picture request (0xBE)",
    "message acknowledgement (0xFB) side channel", "what the sender sees: invisible vs offline recipient",
    "typing notifications to and from the target", "add-buddy acknowledgement codes",
    "USERSTAT (0x0A) refresh", "ignore / unignore acknowledgements"};

enum verdict { V_NA = 0, V_OK, V_LEAK };
struct result {
    enum verdict v;               /* verdict */
    char detail[600];             /* why */
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

static void aud_hook(void *ud, int dir, const struct ymsg_packet *pkt)
{
    struct probe *p = ud;
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

static const char *vname(enum verdict v) { return v == V_LEAK ? "LEAK" : v == V_OK ? "no leak" : "n/a"; }

static void report(const struct probe *p, const struct result *res, int leaks)
{
    if (p->o->json) {
        printf("{\"target\":");
        json_str(stdout, p->target);
        printf(",\"auditor\":");
        json_str(stdout, p->aud.user);
        printf(",\"target_session\":%s,\"leaks\":%d,\"techniques\":[", p->o->target_credentials ? "true" : "false",
               leaks);
        for (int t = 0; t < T_COUNT; t++) {
            printf("%s{\"name\":\"%s\",\"verdict\":\"%s\",\"description\":", t ? "," : "", tnames[t], vname(res[t].v));
            json_str(stdout, tdesc[t]);
            printf(",\"detail\":");
            json_str(stdout, res[t].detail);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("ymsg probe: target %s, auditor %s, target session: %s\n", p->target, p->aud.user,
               p->o->target_credentials ? "yes" : "no");
        for (int t = 0; t < T_COUNT; t++)
            printf("  %-20s %-8s %s\n", tnames[t], vname(res[t].v), res[t].detail);
        printf("%d leak(s)\n", leaks);
    }
    fflush(stdout);
}

static int login_as(struct drv *d, const struct opts *o, const char *file, int invisible)
{
    char user[256], pass[256];
    int rc = read_credentials(file, file ? NULL : "YMSG_USER", file ? NULL : "YMSG_PASSWORD", file ? NULL : o->account, user, sizeof user,
                              pass, sizeof pass);
    if (rc != 0)
        return EXIT_USAGE;
    rc = drv_open(d, o, user, pass, invisible ? YMSG_STATUS_INVISIBLE : YMSG_STATUS_AVAILABLE);
    memset(pass, 0, sizeof pass);
    if (rc == 0)
        rc = drv_login(d, 30000, NULL, NULL);
    if (rc != 0 && d->s)
        drv_close(d);
    return rc;
}

int cmd_probe(int argc, char **argv, const struct opts *o)
{
    if (argc != 1 || !argv[0][0] || strlen(argv[0]) >= YMSG_ID_MAX) {
        fprintf(stderr, "usage: ymsg probe USER [--target-credentials FILE] [--json] [--settle MS]\n");
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    struct probe *p = calloc(1, sizeof *p);
    struct window *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = calloc(1, sizeof *w[i]);
    struct window *inv_aud = calloc(T_COUNT, sizeof *inv_aud), *inv_tgt = calloc(T_COUNT, sizeof *inv_tgt),
                  *off_aud = calloc(T_COUNT, sizeof *off_aud);
    struct result res[T_COUNT];
    char *sa = malloc(8192), *sb = malloc(8192);
    int rc = EXIT_FAILED;
    if (!p || !w[0] || !w[1] || !w[2] || !w[3] || !inv_aud || !inv_tgt || !off_aud || !sa || !sb)
        goto out;
    memset(res, 0, sizeof res);
    p->o = o;
    snprintf(p->target, sizeof p->target, "%s", argv[0]);
    for (char *c = p->target; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    long settle = o->settle_ms > 0 ? o->settle_ms : 800;

    /* the auditor signs in (visible) and learns its list */
    p->aud.on_packet = aud_hook;
    p->aud.packet_ud = p;
    rc = login_as(&p->aud, o, o->credentials, 0);
    if (rc != 0)
        goto out;
    if (strcasecmp(ymsg_session_user(p->aud.s), p->target) == 0) {
        fprintf(stderr, "ymsg probe: the auditor and the target must differ\n");
        rc = EXIT_USAGE;
        goto close_aud;
    }
    if ((rc = pump(p, settle)) != 0)
        goto close_aud;
    p->target_was_buddy = ymsg_session_find_buddy(p->aud.s, p->target) != NULL;

    if (o->target_credentials) {
        /* 1. the target signs in invisible: the auditor must receive nothing about it */
        p->aud_win = w[0];
        p->tgt.on_packet = tgt_hook;
        p->tgt.packet_ud = p;
        rc = login_as(&p->tgt, o, o->target_credentials, 1);
        if (rc != 0)
            goto close_aud;
        if (strcasecmp(ymsg_session_user(p->tgt.s), p->target) != 0) {
            fprintf(stderr, "ymsg probe: --target-credentials are for %s, not %s\n", ymsg_session_user(p->tgt.s),
                    p->target);
            rc = EXIT_USAGE;
            goto close_all;
        }
        p->have_tgt = 1;
        if ((rc = observe(p, settle)) != 0)
            goto close_all;
        p->aud_win = NULL;
        const struct ymsg_buddy *bd = ymsg_session_find_buddy(p->aud.s, p->target);
        if (window_has(w[0], online_presence) || (bd && bd->online)) {
            window_sig(w[0], sa, 8192);
            set(&res[T_PRESENCE], V_LEAK, "the auditor sees %s online while invisible: %s", p->target, sa);
        } else if (window_has(w[0], mentions_target)) {
            window_sig(w[0], sa, 8192);
            set(&res[T_PRESENCE], V_LEAK, "packets about %s reached the auditor when it signed in invisible: %s",
                p->target, sa);
        } else {
            set(&res[T_PRESENCE], V_OK, "nothing about %s reached the auditor while it signed in invisible", p->target);
        }
        /* 2. active techniques while the target is invisible */
        for (int t = T_P2P; t < T_COUNT; t++)
            if ((rc = run_technique(p, t, &inv_aud[t], &inv_tgt[t])) != 0)
                goto close_all;
        /* 3. fingerprint: visible -> invisible, then visible -> sign-off */
        if (ymsg_session_set_status(p->tgt.s, YMSG_STATUS_AVAILABLE, NULL, 0) != 0 || (rc = pump(p, settle)) != 0)
            goto close_all;
        const struct ymsg_buddy *seen = ymsg_session_find_buddy(p->aud.s, p->target);
        int auditor_sees = seen && seen->online;
        p->aud_win = w[1];
        ymsg_session_set_status(p->tgt.s, YMSG_STATUS_INVISIBLE, NULL, 0);
        if ((rc = observe(p, settle)) != 0)
            goto close_all;
        p->aud_win = NULL;
        ymsg_session_set_status(p->tgt.s, YMSG_STATUS_AVAILABLE, NULL, 0);
        if ((rc = pump(p, settle)) != 0)
            goto close_all;
        p->aud_win = w[2];
        ymsg_session_logoff(p->tgt.s);
        drv_close(&p->tgt);
        p->have_tgt = 0;
        if ((rc = observe(p, settle)) != 0)
            goto close_aud;
        p->aud_win = NULL;
        window_sig(w[1], sa, 8192);
        window_sig(w[2], sb, 8192);
        if (!auditor_sees && w[1]->n == 0 && w[2]->n == 0)
            set(&res[T_FINGERPRINT], V_NA, "the auditor does not see %s's presence (not an authorised buddy)",
                p->target);
        else if (strcmp(sa, sb) != 0)
            set(&res[T_FINGERPRINT], V_LEAK, "going invisible: %s / signing off: %s", sa, sb);
        else
            set(&res[T_FINGERPRINT], V_OK, "identical: %s", sa);
        /* 4. the same techniques against the now offline target, as the baseline */
        for (int t = T_P2P; t < T_COUNT; t++) {
            if ((rc = run_technique(p, t, &off_aud[t], w[3])) != 0)
                goto close_aud;
        }
        for (int t = T_P2P; t < T_COUNT; t++) {
            window_sig(&inv_aud[t], sa, 8192);
            window_sig(&off_aud[t], sb, 8192);
            const struct window *tw = &inv_tgt[t];
            if (t == T_P2P && window_has(tw, is_p2p))
                set(&res[t], V_LEAK, "the server delivered the P2P probe to the invisible target (clients answer it)");
            else if (t == T_PICTURE && window_has(tw, is_picture))
                set(&res[t], V_LEAK, "the server delivered the picture request to the invisible target (clients answer it)");
            else if (t == T_IMV && window_has(tw, is_doodle))
                set(&res[t], V_LEAK, "the doodle IMVironment reached the invisible target (Pidgin answers it)");
            else if (t == T_TYPING && window_has(&inv_aud[t], is_typing))
                set(&res[t], V_LEAK, "the invisible target's typing notification reached the auditor");
            else if (strcmp(sa, sb) != 0)
                set(&res[t], V_LEAK, "invisible: %s / offline: %s", sa, sb);
            else
                set(&res[t], V_OK, "invisible and offline look the same: %s", sa);
        }
    } else {
        /* no target session: catch signs of life from a target that looks offline */
        const struct ymsg_buddy *bd = ymsg_session_find_buddy(p->aud.s, p->target);
        if (bd && bd->online && bd->status != YMSG_STATUS_INVISIBLE) {
            set(&res[T_PRESENCE], V_NA, "%s is visibly online (%s): nothing to detect", p->target,
                status_text(bd->status));
            for (int t = T_FINGERPRINT; t < T_COUNT; t++)
                set(&res[t], V_NA, "%s is visibly online", p->target);
        } else {
            if (bd && bd->online)
                set(&res[T_PRESENCE], V_LEAK, "the server sent status 12 (invisible) for %s", p->target);
            else
                set(&res[T_PRESENCE], V_OK, "%s looks offline", p->target);
            set(&res[T_FINGERPRINT], V_NA, "needs --target-credentials (a cooperating target session)");
            for (int t = T_P2P; t < T_COUNT; t++) {
                if ((rc = run_technique(p, t, &inv_aud[t], w[3])) != 0)
                    goto close_aud;
                if (t == T_DELIVERY || t == T_ADDACK || t == T_USERSTAT || t == T_IGNORE) {
                    set(&res[t], V_NA, "needs --target-credentials (an offline baseline to compare with)");
                    continue;
                }
                if (window_has(&inv_aud[t], from_target)) {
                    window_sig(&inv_aud[t], sa, 8192);
                    set(&res[t], V_LEAK, "%s answered although it looks offline: %s", p->target, sa);
                } else {
                    set(&res[t], V_OK, "no answer from %s (it may simply be offline)", p->target);
                }
            }
        }
    }
    int leaks = 0;
    for (int t = 0; t < T_COUNT; t++)
        leaks += res[t].v == V_LEAK;
    report(p, res, leaks);
    rc = leaks ? EXIT_FAILED : EXIT_OKAY;
    goto close_aud;
close_all:
    if (p->tgt.s) {
        ymsg_session_logoff(p->tgt.s);
        drv_close(&p->tgt);
    }
close_aud:
    if (p->aud.s) {
        if (ymsg_session_state(p->aud.s) != YMSG_SS_CLOSED)
            ymsg_session_logoff(p->aud.s);
        drv_close(&p->aud);
    }
out:
    for (int i = 0; i < 4; i++)
        free(w[i]);
    free(inv_aud);
    free(inv_tgt);
    free(off_aud);
    free(sa);
    free(sb);
    free(p);
    return rc;
}
