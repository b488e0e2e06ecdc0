/* One-shot and scriptable commands: send, buzz, listen, status, buddies, add, remove, move, accept,
 * decline, ignore, unignore, rename-group.  Each logs in, does its work, logs off. */
#include "client.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns so we can log off cleanly */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void print_event_text(const struct ymsg_event *ev)
{
    char when[32] = "";
    time_t t = ev->time ? (time_t)ev->time : time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    switch (ev->type) {
    case YMSG_EV_MESSAGE:
        printf("[%s] %s%s: %s\n", when, ev->who, ev->flags & YMSG_EVF_OFFLINE ? " (offline)" : "", ev->text);
        break;
    case YMSG_EV_BUZZ: printf("[%s] %s: BUZZ!\n", when, ev->who); break;
    case YMSG_EV_TYPING: printf("[%s] %s %s typing\n", when, ev->who, ev->on ? "is" : "stopped"); break;
    case YMSG_EV_PRESENCE:
        printf("[%s] %s is %s%s%s\n", when, ev->who, ev->on ? status_text(ev->status) : "offline",
               ev->text[0] ? ": " : "", ev->text);
        break;
    case YMSG_EV_AUTH_REQUEST: printf("[%s] %s asks to add you: %s\n", when, ev->who, ev->text); break;
    case YMSG_EV_AUTH_ANSWER:
        printf("[%s] %s %s your request%s%s\n", when, ev->who, ev->on ? "accepted" : "declined",
               ev->text[0] ? ": " : "", ev->text);
        break;
    case YMSG_EV_LIST_ACK:
        printf("[%s] %s %s: %s (%d)\n", when, ymsg_service_name(ev->service) ? ymsg_service_name(ev->service) : "?",
               ev->who[0] ? ev->who : ev->group, ev->text, ev->code);
        break;
    case YMSG_EV_NOT_SENT: printf("[%s] message to %s not sent: %s\n", when, ev->who, ev->text); break;
    case YMSG_EV_SYSTEM: printf("[%s] system: %s\n", when, ev->text); break;
    case YMSG_EV_KICKED: printf("[%s] signed in from another location\n", when); break;
    case YMSG_EV_DISCONNECTED: printf("[%s] disconnected: %s\n", when, ev->text); break;
    case YMSG_EV_LOGGED_IN: printf("[%s] signed in as %s\n", when, ev->who); break;
    default: return;
    }
    fflush(stdout);
}

static void emit(const struct opts *o, const struct ymsg_event *ev)
{
    if (o->json)
        json_event(stdout, ev);
    else
        print_event_text(ev);
}

static void login_cb(void *ud, const struct ymsg_event *ev)
{
    const struct opts *o = ud;
    if (o->json && ev->type == YMSG_EV_LOGIN_FAILED)
        json_event(stdout, ev);
}

/* Parses away|invisible|available|busy|brb|idle|custom TEXT|<code>. */
static int parse_status(int argc, char **argv, uint32_t *st, const char **msg, int *away)
{
    static const struct { const char *name; uint32_t code; } names[] = {
        {"available", 0}, {"online", 0}, {"brb", 1}, {"busy", 2}, {"notathome", 3}, {"notatdesk", 4},
        {"away", 4}, {"notinoffice", 5}, {"onphone", 6}, {"onvacation", 7}, {"outtolunch", 8},
        {"steppedout", 9}, {"invisible", 12}, {"idle", 999}, {"custom", 99}};
    if (argc < 1)
        return -1;
    *msg = NULL;
    *away = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(argv[0], names[i].name) == 0) {
            *st = names[i].code;
            if (*st == 99) {
                if (argc < 2)
                    return -1;
                *msg = argv[1];
            }
            return 0;
        }
    }
    return -1;
}

/* Waits for an event matching pred, handing every event to emit if json.  Returns the matching
 * event's code or -1 on timeout / disconnect. */
static int wait_ack(struct drv *d, const struct opts *o, uint32_t service, const char *who, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < end && !stop_flag) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d))) {
            if (o->json && ev->type == YMSG_EV_LIST_ACK)
                json_event(stdout, ev);
            if (ev->type == YMSG_EV_LIST_ACK && ev->service == service && (!who || strcasecmp(ev->who, who) == 0)) {
                if (!o->json)
                    print_event_text(ev);
                return ev->code;
            }
            if (ev->type == YMSG_EV_DISCONNECTED || ev->type == YMSG_EV_KICKED)
                return -1;
        }
        if (drv_step(d, -1, 200, NULL) != 0)
            return -1;
    }
    return -1;
}

static void count_keepalive(void *ud, int dir, const struct ymsg_packet *pkt)
{
    if (dir == 0 && pkt->hdr.service == YMSG_SVC_KEEPALIVE)
        ++*(unsigned *)ud;
}

/* After an IM: did the server refuse it (0x06 status 2: box full, too long)?  The server handles a
 * connection's packets in order, so a keepalive sent behind the IM is answered after any refusal: once
 * its answer is in, the verdict is final (no guessing with a timer).  EXIT_OKAY, EXIT_FAILED or
 * EXIT_NETWORK. */
static int await_refusal(struct drv *d, const struct opts *o)
{
    uint8_t buf[128];
    struct ymsg_builder b;
    unsigned seen = 0;
    d->on_packet = count_keepalive;
    d->packet_ud = &seen;
    ymsg_builder_init(&b, buf, sizeof buf);
    ymsg_build_begin(&b, YMSG_SVC_KEEPALIVE, 0, 0);
    ymsg_build_str(&b, YMSG_KEY_LOGIN_ID, ymsg_session_user(d->s));
    ssize_t n = ymsg_build_end(&b);
    int rc = n > 0 && ymsg_session_send_raw(d->s, buf, (size_t)n) == 0 ? EXIT_OKAY : EXIT_FAILED;
    uint64_t end = now_ms() + 15000;
    int answered = 0;
    while (rc != EXIT_NETWORK && !answered && !stop_flag) {
        if (now_ms() > end || drv_step(d, -1, 200, NULL) != 0)
            rc = EXIT_NETWORK;
        answered = seen > 0; /* events decoded in this step are all queued now */
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d)))
            if (ev->type == YMSG_EV_NOT_SENT) {
                emit(o, ev);
                if (!o->json)
                    fprintf(stderr, "ymsg: the server did not accept the message: %s\n", ev->text);
                rc = EXIT_FAILED;
            }
    }
    d->on_packet = NULL;
    d->packet_ud = NULL;
    return rc;
}

/* Runs the session for `ms` milliseconds (e.g. to let presence arrive). */
static void settle(struct drv *d, long ms, int print, const struct opts *o)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end && !stop_flag) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d)))
            if (print)
                emit(o, ev);
        uint64_t now = now_ms();
        if (now >= end || drv_step(d, -1, (int)(end - now), NULL) != 0)
            break;
    }
}

static void print_buddies(struct ymsg_session *s)
{
    for (size_t g = 0; g < ymsg_session_group_count(s); g++) {
        const char *group = ymsg_session_group(s, g);
        printf("%s\n", group);
        for (size_t i = 0; i < ymsg_session_buddy_count(s); i++) {
            const struct ymsg_buddy *b = ymsg_session_buddy(s, i);
            if (strcmp(b->group, group) != 0)
                continue;
            printf("  %c %-24s %s%s%s%s\n", b->online ? '*' : ' ', b->id, b->online ? status_text(b->status) : "Offline",
                   b->msg[0] ? " - " : "", b->msg, b->pending ? " (pending)" : "");
        }
    }
    for (size_t i = 0; i < ymsg_session_request_count(s); i++)
        printf("asks to add you: %s%s%s\n", ymsg_session_request(s, i)->id, ymsg_session_request(s, i)->msg[0] ? " - " : "",
               ymsg_session_request(s, i)->msg);
    for (size_t i = 0; i < ymsg_session_ignored_count(s); i++)
        printf("ignored: %s\n", ymsg_session_ignored(s, i));
    fflush(stdout);
}

static int listen_loop(struct drv *d, const struct opts *o)
{
    uint64_t end = o->timeout > 0 ? now_ms() + (uint64_t)(o->timeout * 1000) : UINT64_MAX;
    long seen = 0;
    while (!stop_flag) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d))) {
            emit(o, ev);
            if (ev->type == YMSG_EV_DISCONNECTED || ev->type == YMSG_EV_KICKED)
                return EXIT_NETWORK;
            if (ev->type != YMSG_EV_BUDDY_LIST && ev->type != YMSG_EV_LOGGED_IN && o->count > 0 && ++seen >= o->count)
                return EXIT_OKAY;
        }
        uint64_t now = now_ms();
        if (now >= end)
            return EXIT_OKAY;
        int wait = end - now < 1000 ? (int)(end - now) : 1000;
        if (drv_step(d, -1, wait, NULL) != 0) {
            while ((ev = drv_next_event(d)))
                emit(o, ev);
            return EXIT_NETWORK;
        }
    }
    return EXIT_OKAY;
}

/* A one-shot command, checked before any network traffic. */
struct botcmd {
    const char *cmd;              /* the command word */
    char **argv;                  /* its arguments */
    int argc;                     /* how many */
    const char *target;           /* USER it acts on, if any */
    const char *text;             /* send: the message */
    int typing_on;                /* typing: on or off */
    uint32_t status;              /* status: the code */
    const char *status_msg;       /* status custom: the message */
};

static int is(const struct botcmd *b, const char *name) { return strcmp(b->cmd, name) == 0; }

/* Setup: the arguments of b->cmd.  0 or EXIT_USAGE (with the usage on stderr). */
static int bot_setup(struct botcmd *b, const struct opts *o)
{
    int argc = b->argc, away = 0;
    char **argv = b->argv;
    b->typing_on = 1;
    if (is(b, "typing")) {
        b->target = o->to;
        if (!b->target || argc > 1 || (argc == 1 && strcmp(argv[0], "on") != 0 && strcmp(argv[0], "off") != 0)) {
            fprintf(stderr, "usage: ymsg typing --to USER [on|off]\n");
            return EXIT_USAGE;
        }
        b->typing_on = !(argc == 1 && !strcmp(argv[0], "off"));
    } else if (is(b, "send") || is(b, "buzz")) {
        b->target = o->to;
        if (!b->target && argc > 0 && is(b, "buzz"))
            b->target = argv[0];
        if (is(b, "send"))
            b->text = argc > 0 ? argv[argc - 1] : NULL;
        if (!b->target || (is(b, "send") && (!b->text || !b->text[0]))) {
            fprintf(stderr, "usage: ymsg %s --to USER%s\n", b->cmd, is(b, "send") ? " TEXT" : "");
            return EXIT_USAGE;
        }
    } else if (is(b, "status")) {
        if (parse_status(argc, argv, &b->status, &b->status_msg, &away) != 0 || argc > (b->status == 99 ? 2 : 1)) {
            fprintf(stderr, "usage: ymsg status available|away|busy|brb|idle|invisible|custom TEXT [--away]\n");
            return EXIT_USAGE;
        }
    } else if (is(b, "add") || is(b, "remove") || is(b, "accept") || is(b, "decline") || is(b, "ignore") ||
               is(b, "unignore")) {
        if (argc != 1) {
            fprintf(stderr, "usage: ymsg %s USER\n", b->cmd);
            return EXIT_USAGE;
        }
        b->target = argv[0];
    } else if (is(b, "move") || is(b, "rename-group")) {
        if (argc != 2) {
            fprintf(stderr, "usage: ymsg %s\n", is(b, "move") ? "move BUDDY GROUP" : "rename-group OLD NEW");
            return EXIT_USAGE;
        }
    } else if (!is(b, "listen") && !is(b, "buddies")) {
        fprintf(stderr, "ymsg: unknown command '%s' (see ymsg --help)\n", b->cmd);
        return EXIT_USAGE;
    }
    return 0;
}

/* Signs in (invisible when asked, or for "status invisible").  0, EXIT_USAGE, EXIT_LOGIN or EXIT_NETWORK. */
static int bot_connect(struct drv *d, const struct botcmd *b, const struct opts *o, int *invisible)
{
    char user[256], pass[256];
    if (read_credentials(o->credentials, "YMSG_USER", "YMSG_PASSWORD", o->account, user, sizeof user, pass,
                         sizeof pass) != 0)
        return EXIT_USAGE;
    catch_signals();
    *invisible = o->invisible || (is(b, "status") && b->status == YMSG_STATUS_INVISIBLE);
    int rc = drv_open(d, o, user, pass, *invisible ? YMSG_STATUS_INVISIBLE : YMSG_STATUS_AVAILABLE, NULL, 0);
    memset(pass, 0, sizeof pass);
    if (rc == 0)
        rc = drv_login(d, 30000, login_cb, (void *)o);
    if (rc != 0 && d->s)
        drv_close(d);
    if (rc == 0 && o->json && (is(b, "listen") || is(b, "status")))
        json_event(stdout, &(struct ymsg_event){.type = YMSG_EV_LOGGED_IN, .who = user, .to = "", .text = "",
                                                .group = "", .group2 = "", .status = *invisible ? 12 : 0});
    return rc;
}

/* A list edit and the server's acknowledgement: EXIT_OKAY, or EXIT_FAILED when it refuses. */
static int list_edit(struct drv *d, const struct botcmd *b, const struct opts *o, int *r)
{
    struct ymsg_session *s = d->s;
    uint32_t svc = 0;
    const char *who = b->target;
    if (is(b, "add")) {
        *r = ymsg_session_add_buddy(s, b->target, o->group ? o->group : "Friends", o->message);
        if (*r == 0) {
            int code = wait_ack(d, o, YMSG_SVC_ADDBUDDY, b->target, 10000);
            return code != 0 && code != YMSG_RESULT_DUPLICATE ? EXIT_FAILED : EXIT_OKAY;
        }
        return EXIT_OKAY;
    } else if (is(b, "remove")) {
        *r = ymsg_session_remove_buddy(s, b->target, o->group);
        svc = YMSG_SVC_REMBUDDY;
    } else if (is(b, "ignore") || is(b, "unignore")) {
        *r = ymsg_session_ignore(s, b->target, is(b, "ignore"));
        svc = YMSG_SVC_IGNORECONTACT;
    } else if (is(b, "move")) {
        *r = ymsg_session_move_buddy(s, b->argv[0], NULL, b->argv[1]);
        svc = YMSG_SVC_CHGRP_15;
        who = b->argv[0];
    } else if (is(b, "rename-group")) {
        *r = ymsg_session_rename_group(s, b->argv[0], b->argv[1]);
        svc = YMSG_SVC_GROUPRENAME;
        who = NULL;
    }
    return *r == 0 && wait_ack(d, o, svc, who, 10000) != 0 ? EXIT_FAILED : EXIT_OKAY;
}

/* Run: the command itself on the signed-in session.  The exit code. */
static int bot_run(struct drv *d, const struct botcmd *b, const struct opts *o)
{
    struct ymsg_session *s = d->s;
    int r = 0, rc = EXIT_OKAY;
    if (is(b, "send") || is(b, "buzz")) {
        r = is(b, "send") ? ymsg_session_send_message(s, b->target, b->text) : ymsg_session_buzz(s, b->target);
        if (r == 0)
            rc = await_refusal(d, o);
    } else if (is(b, "typing")) {
        r = ymsg_session_typing(s, b->target, b->typing_on);
    } else if (is(b, "status")) {
        if (b->status != YMSG_STATUS_INVISIBLE)
            r = ymsg_session_set_status(s, b->status, b->status_msg, o->away);
        if (r == 0)
            return listen_loop(d, o);
    } else if (is(b, "listen")) {
        return listen_loop(d, o);
    } else if (is(b, "buddies")) {
        settle(d, o->settle_ms, 0, o);
        if (o->json)
            json_buddies(stdout, s);
        else
            print_buddies(s);
    } else if (is(b, "accept") || is(b, "decline")) {
        r = ymsg_session_auth_reply(s, b->target, is(b, "accept"), o->message);
    } else {
        rc = list_edit(d, b, o, &r);
    }
    if (r != 0) {
        fprintf(stderr, "ymsg: %s: %s\n", b->cmd, ymsg_strerror(r));
        rc = r == YMSG_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    return rc;
}

int cmd_bot(const char *cmd, int argc, char **argv, const struct opts *o)
{
    struct botcmd b = {.cmd = cmd, .argv = argv, .argc = argc};
    int rc = bot_setup(&b, o), invisible = 0;
    if (rc != 0)
        return rc;
    struct drv d = {0};
    if ((rc = bot_connect(&d, &b, o, &invisible)) != 0)
        return rc;
    rc = bot_run(&d, &b, o);
    if (ymsg_session_state(d.s) != YMSG_SS_CLOSED)
        ymsg_session_logoff(d.s);
    drv_close(&d);
    return rc;
}
