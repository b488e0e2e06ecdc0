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

int cmd_bot(const char *cmd, int argc, char **argv, const struct opts *o)
{
    /* argument checks before any network traffic */
    const char *target = NULL, *text = NULL;
    uint32_t status = 0;
    const char *status_msg = NULL;
    int away = 0;
    int is_send = !strcmp(cmd, "send"), is_buzz = !strcmp(cmd, "buzz"), is_typing = !strcmp(cmd, "typing");
    int typing_on = 1;
    if (is_typing) {
        target = o->to;
        if (!target || argc > 1 || (argc == 1 && strcmp(argv[0], "on") != 0 && strcmp(argv[0], "off") != 0)) {
            fprintf(stderr, "usage: ymsg typing --to USER [on|off]\n");
            return EXIT_USAGE;
        }
        typing_on = !(argc == 1 && !strcmp(argv[0], "off"));
    } else if (is_send || is_buzz) {
        target = o->to;
        if (!target && argc > 0 && is_buzz)
            target = argv[0];
        if (is_send)
            text = argc > 0 ? argv[argc - 1] : NULL;
        if (!target || (is_send && (!text || !text[0]))) {
            fprintf(stderr, "usage: ymsg %s --to USER%s\n", cmd, is_send ? " TEXT" : "");
            return EXIT_USAGE;
        }
    } else if (!strcmp(cmd, "status")) {
        if (parse_status(argc, argv, &status, &status_msg, &away) != 0 || argc > (status == 99 ? 2 : 1)) {
            fprintf(stderr, "usage: ymsg status available|away|busy|brb|idle|invisible|custom TEXT [--away]\n");
            return EXIT_USAGE;
        }
    } else if (!strcmp(cmd, "add") || !strcmp(cmd, "remove") || !strcmp(cmd, "accept") || !strcmp(cmd, "decline") ||
               !strcmp(cmd, "ignore") || !strcmp(cmd, "unignore")) {
        if (argc != 1) {
            fprintf(stderr, "usage: ymsg %s USER\n", cmd);
            return EXIT_USAGE;
        }
        target = argv[0];
    } else if (!strcmp(cmd, "move") || !strcmp(cmd, "rename-group")) {
        if (argc != 2) {
            fprintf(stderr, "usage: ymsg %s\n", !strcmp(cmd, "move") ? "move BUDDY GROUP" : "rename-group OLD NEW");
            return EXIT_USAGE;
        }
    } else if (strcmp(cmd, "listen") != 0 && strcmp(cmd, "buddies") != 0) {
        fprintf(stderr, "ymsg: unknown command '%s' (see ymsg --help)\n", cmd);
        return EXIT_USAGE;
    }

    char user[256], pass[256];
    if (read_credentials(o->credentials, "YMSG_USER", "YMSG_PASSWORD", o->account, user, sizeof user, pass, sizeof pass) != 0)
        return EXIT_USAGE;
    catch_signals();
    struct drv d = {0};
    int invisible = o->invisible || (!strcmp(cmd, "status") && status == YMSG_STATUS_INVISIBLE);
    int rc = drv_open(&d, o, user, pass, invisible ? YMSG_STATUS_INVISIBLE : YMSG_STATUS_AVAILABLE, NULL, 0);
    memset(pass, 0, sizeof pass);
    if (rc != 0) {
        if (d.s)
            drv_close(&d);
        return rc;
    }
    rc = drv_login(&d, 30000, login_cb, (void *)o);
    if (rc != 0) {
        drv_close(&d);
        return rc;
    }
    if (o->json && (!strcmp(cmd, "listen") || !strcmp(cmd, "status")))
        json_event(stdout, &(struct ymsg_event){.type = YMSG_EV_LOGGED_IN, .who = user, .to = "", .text = "",
                                                .group = "", .group2 = "", .status = invisible ? 12 : 0});
    struct ymsg_session *s = d.s;
    int r = 0;
    if (is_send) {
        r = ymsg_session_send_message(s, target, text);
    } else if (is_buzz) {
        r = ymsg_session_buzz(s, target);
    } else if (is_typing) {
        r = ymsg_session_typing(s, target, typing_on);
    } else if (!strcmp(cmd, "status")) {
        if (status != YMSG_STATUS_INVISIBLE)
            r = ymsg_session_set_status(s, status, status_msg, o->away);
        if (r == 0) {
            rc = listen_loop(&d, o);
            ymsg_session_logoff(s);
            drv_close(&d);
            return rc;
        }
    } else if (!strcmp(cmd, "listen")) {
        rc = listen_loop(&d, o);
        if (ymsg_session_state(s) != YMSG_SS_CLOSED)
            ymsg_session_logoff(s);
        drv_close(&d);
        return rc;
    } else if (!strcmp(cmd, "buddies")) {
        settle(&d, o->settle_ms, 0, o);
        if (o->json)
            json_buddies(stdout, s);
        else
            print_buddies(s);
    } else if (!strcmp(cmd, "add")) {
        r = ymsg_session_add_buddy(s, target, o->group ? o->group : "Friends", o->message);
        if (r == 0) {
            int code = wait_ack(&d, o, YMSG_SVC_ADDBUDDY, target, 10000);
            if (code != 0 && code != YMSG_RESULT_DUPLICATE)
                rc = EXIT_FAILED;
        }
    } else if (!strcmp(cmd, "remove")) {
        r = ymsg_session_remove_buddy(s, target, o->group);
        if (r == 0 && wait_ack(&d, o, YMSG_SVC_REMBUDDY, target, 10000) != 0)
            rc = EXIT_FAILED;
    } else if (!strcmp(cmd, "ignore") || !strcmp(cmd, "unignore")) {
        r = ymsg_session_ignore(s, target, !strcmp(cmd, "ignore"));
        if (r == 0 && wait_ack(&d, o, YMSG_SVC_IGNORECONTACT, target, 10000) != 0)
            rc = EXIT_FAILED;
    } else if (!strcmp(cmd, "move")) {
        r = ymsg_session_move_buddy(s, argv[0], NULL, argv[1]);
        if (r == 0 && wait_ack(&d, o, YMSG_SVC_CHGRP_15, argv[0], 10000) != 0)
            rc = EXIT_FAILED;
    } else if (!strcmp(cmd, "rename-group")) {
        r = ymsg_session_rename_group(s, argv[0], argv[1]);
        if (r == 0 && wait_ack(&d, o, YMSG_SVC_GROUPRENAME, NULL, 10000) != 0)
            rc = EXIT_FAILED;
    } else if (!strcmp(cmd, "accept") || !strcmp(cmd, "decline")) {
        r = ymsg_session_auth_reply(s, target, !strcmp(cmd, "accept"), o->message);
    }
    if (r != 0) {
        fprintf(stderr, "ymsg: %s: %s\n", cmd, ymsg_strerror(r));
        rc = r == YMSG_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    if ((is_send || is_buzz) && rc == 0 && r == 0)
        rc = await_refusal(&d, o);
    if (ymsg_session_state(s) != YMSG_SS_CLOSED)
        ymsg_session_logoff(s);
    drv_close(&d);
    return rc;
}
