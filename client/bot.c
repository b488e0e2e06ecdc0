/* One-shot and scriptable commands: send, buzz, listen, status, buddies, add, remove, move, accept,
 * decline, ignore, unignore, rename-group, conf-invite, join, say, send-file.  Each logs in, does its
 * work, logs off; the listening ones also take commands on stdin (--stdin). */
#include "client.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
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
    case YMSG_EV_CONF_INVITE:
        printf("[%s] %s invites you to conference %s: %s\n", when, ev->who, ev->room, ev->text);
        break;
    case YMSG_EV_CONF_JOIN: printf("[%s] %s joined conference %s\n", when, ev->who, ev->room); break;
    case YMSG_EV_CONF_LEAVE: printf("[%s] %s left conference %s\n", when, ev->who, ev->room); break;
    case YMSG_EV_CONF_DECLINE:
        printf("[%s] %s declined conference %s: %s\n", when, ev->who, ev->room, ev->text);
        break;
    case YMSG_EV_CONF_MESSAGE: printf("[%s] [%s] %s: %s\n", when, ev->room, ev->who, ev->text); break;
    case YMSG_EV_CONF_FAILED: printf("[%s] conference %s: %s %s\n", when, ev->room, ev->who, ev->text); break;
    case YMSG_EV_ROOM_JOINED: printf("[%s] you are in room %s (%s)\n", when, ev->room, ev->text); break;
    case YMSG_EV_ROOM_FAILED: printf("[%s] cannot join room %s: %s\n", when, ev->room, ev->text); break;
    case YMSG_EV_ROOM_ENTER: printf("[%s] %s entered %s\n", when, ev->who, ev->room); break;
    case YMSG_EV_ROOM_EXIT: printf("[%s] %s left %s\n", when, ev->who, ev->room); break;
    case YMSG_EV_ROOM_MESSAGE:
        printf(ev->on ? "[%s] [%s] * %s %s\n" : "[%s] [%s] %s: %s\n", when, ev->room, ev->who, ev->text);
        break;
    case YMSG_EV_ROOM_INVITE: printf("[%s] %s invites you to room %s: %s\n", when, ev->who, ev->room, ev->text); break;
    case YMSG_EV_ROOM_LOGOUT: printf("[%s] logged out of chat\n", when); break;
    case YMSG_EV_FILE_OFFER:
        printf("[%s] %s offers file %s (%llu bytes), id %s\n", when, ev->who, ev->text, (unsigned long long)ev->size,
               ev->xfer);
        break;
    case YMSG_EV_FILE_DECLINED: printf("[%s] %s declined file %s\n", when, ev->who, ev->xfer); break;
    case YMSG_EV_FILE_CANCELLED: printf("[%s] file %s cancelled: %s\n", when, ev->xfer, ev->text); break;
    case YMSG_EV_FILE_DONE:
        printf("[%s] file %s %s %s: %s\n", when, ev->xfer, ev->on ? "to" : "from", ev->who, ev->text);
        break;
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

/* The answer to a command (--stdin, or the command of the command line): JSON or text. */
static void command_result(const struct opts *o, const char *cmd, int r, const char *extra_name, const char *extra)
{
    if (o->json) {
        fputs("{\"event\":\"command\",\"command\":", stdout);
        json_str(stdout, cmd);
        printf(",\"ok\":%s", r == 0 ? "true" : "false");
        if (r != 0) {
            fputs(",\"error\":", stdout);
            json_str(stdout, r > 0 ? "unknown command or missing arguments"
                             : r == YMSG_ENOENT ? "no such conference, room or transfer" : ymsg_strerror(r));
        }
        if (extra_name && extra) {
            printf(",\"%s\":", extra_name);
            json_str(stdout, extra);
        }
        printf(",\"time\":%lld}\n", (long long)time(NULL));
    } else if (r != 0) {
        printf("error: %s: %s\n", cmd, r > 0 ? "unknown command or missing arguments"
                                       : r == YMSG_ENOENT ? "no such conference, room or transfer" : ymsg_strerror(r));
    } else if (extra) {
        printf("ok: %s %s\n", cmd, extra);
    }
    fflush(stdout);
}

/* Offers path to who; the id goes to id_out.  0 or a YMSG_E* code. */
static int offer_file(struct drv *d, const char *who, const char *path, char id_out[YMSG_XFER_ID_MAX])
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK) != 0)
        return YMSG_EINVAL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int r = ymsg_session_file_send(d->s, who, base, (uint64_t)st.st_size, id_out);
    if (r == 0 && cx_register(d, id_out, path, 1, 0) != 0) {
        ymsg_session_file_cancel(d->s, id_out);
        return YMSG_ENOSPC;
    }
    return r;
}

/* Accepts offer id into the download directory (or path).  0 or a YMSG_E* code. */
static int accept_file(struct drv *d, const struct opts *o, const char *id, const char *path, char *saved, size_t cap)
{
    const struct ymsg_xfer *x = ymsg_session_find_xfer(d->s, id);
    if (!x)
        return YMSG_ENOENT;
    if (x->outgoing || x->state != YMSG_XF_OFFERED)
        return YMSG_ESTATE;
    if (path)
        snprintf(saved, cap, "%s", path);
    else if (cx_download_path(o->download_dir, x->name, saved, cap) != 0)
        return YMSG_EINVAL;
    if (cx_register(d, id, saved, 0, x->size) != 0)
        return YMSG_ENOSPC;
    return ymsg_session_file_accept(d->s, id);
}

/* Splits off the first word of *p (space-separated); NULL when there is none. */
static char *word(char **p)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    char *e = strchr(s, ' ');
    if (e) {
        *e = 0;
        *p = e + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* One line of --stdin.  Returns 1 on "quit". */
static int bot_line(struct drv *d, const struct opts *o, char *line)
{
    struct ymsg_session *s = d->s;
    char *p = line, *cmd = word(&p);
    if (!cmd)
        return 0;
    char *a = NULL, *rest = NULL;
    int r = 1; /* "unknown command or missing arguments" */
    char extra[4200] = "";
    const char *extra_name = NULL;
    while (*p == ' ')
        p++;
    if (!strcmp(cmd, "quit"))
        return 1;
    if (!strcmp(cmd, "say") && (a = word(&p)) && *(rest = p)) {
        r = ymsg_session_find_conf(s, a) ? ymsg_session_conf_send(s, a, rest)
          : strcasecmp(ymsg_session_room(s), a) == 0 ? ymsg_session_room_send(s, rest, 0) : YMSG_ENOENT;
    } else if (!strcmp(cmd, "send") && (a = word(&p)) && *(rest = p)) {
        r = ymsg_session_send_message(s, a, rest);
    } else if (!strcmp(cmd, "conf-invite") && (a = word(&p))) {
        char *room = word(&p);
        if (room && ymsg_session_find_conf(s, room)) {
            r = 0;
            for (char *w = strtok(a, ","); w && r == 0; w = strtok(NULL, ","))
                r = ymsg_session_conf_invite(s, room, w, o->message ? o->message : "Join my conference");
            snprintf(extra, sizeof extra, "%s", room);
        } else {
            const char *who[64];
            size_t n = 0;
            for (char *w = strtok(a, ","); w && n < 64; w = strtok(NULL, ","))
                who[n++] = w;
            r = ymsg_session_conf_create(s, room, who, n, o->message ? o->message : "Join my conference", extra,
                                         sizeof extra);
        }
        extra_name = "room";
    } else if ((!strcmp(cmd, "conf-join") || !strcmp(cmd, "conf-leave")) && (a = word(&p))) {
        r = !strcmp(cmd, "conf-join") ? ymsg_session_conf_join(s, a) : ymsg_session_conf_leave(s, a);
    } else if (!strcmp(cmd, "conf-decline") && (a = word(&p))) {
        r = ymsg_session_conf_decline(s, a, *p ? p : "");
    } else if (!strcmp(cmd, "join") && *p) {
        r = ymsg_session_room_join(s, p, NULL);
    } else if (!strcmp(cmd, "leave")) {
        r = ymsg_session_room_leave(s);
    } else if (!strcmp(cmd, "room-invite") && (a = word(&p))) {
        r = ymsg_session_room_invite(s, a, *p ? p : "");
    } else if (!strcmp(cmd, "send-file") && (a = word(&p)) && *p) {
        r = offer_file(d, a, p, extra);
        extra_name = "id";
    } else if (!strcmp(cmd, "accept-file") && (a = word(&p))) {
        r = accept_file(d, o, a, *p ? p : NULL, extra, sizeof extra);
        extra_name = "path";
    } else if ((!strcmp(cmd, "decline-file") || !strcmp(cmd, "cancel-file")) && (a = word(&p))) {
        r = !strcmp(cmd, "decline-file") ? ymsg_session_file_decline(s, a) : ymsg_session_file_cancel(s, a);
    }
    command_result(o, cmd, r, extra_name, r == 0 && extra[0] ? extra : NULL);
    return 0;
}

/* Reads what stdin has; runs complete lines.  -1 at end of input, 1 after "quit", else 0. */
static int read_stdin(struct drv *d, const struct opts *o, char *buf, size_t cap, size_t *len)
{
    ssize_t n = read(0, buf + *len, cap - 1 - *len);
    if (n <= 0)
        return n < 0 && errno == EINTR ? 0 : -1;
    *len += (size_t)n;
    char *nl;
    while ((nl = memchr(buf, '\n', *len))) {
        *nl = 0;
        if (nl > buf && nl[-1] == '\r')
            nl[-1] = 0;
        int q = bot_line(d, o, buf);
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, *len - used);
        *len -= used;
        if (q)
            return 1;
    }
    if (*len == cap - 1) { /* a line longer than the buffer: drop it */
        command_result(o, "(too long)", 1, NULL, NULL);
        *len = 0;
    }
    return 0;
}

/* Answers a file offer as --accept-files / --decline-files say. */
static void auto_answer(struct drv *d, const struct opts *o, const struct ymsg_event *ev)
{
    if (ev->type != YMSG_EV_FILE_OFFER || !o->auto_files)
        return;
    char saved[4200] = "";
    int r = o->auto_files > 0 ? accept_file(d, o, ev->xfer, NULL, saved, sizeof saved)
                              : ymsg_session_file_decline(d->s, ev->xfer);
    command_result(o, o->auto_files > 0 ? "accept-file" : "decline-file", r, "path", r == 0 && saved[0] ? saved : NULL);
}

static int listen_loop(struct drv *d, const struct opts *o)
{
    uint64_t end = o->timeout > 0 ? now_ms() + (uint64_t)(o->timeout * 1000) : UINT64_MAX;
    long seen = 0;
    int in_fd = o->stdin_cmds ? 0 : -1;
    char line[8192];
    size_t llen = 0;
    while (!stop_flag) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d))) {
            emit(o, ev);
            auto_answer(d, o, ev);
            if (ev->type == YMSG_EV_DISCONNECTED || ev->type == YMSG_EV_KICKED)
                return EXIT_NETWORK;
            if (ev->type != YMSG_EV_BUDDY_LIST && ev->type != YMSG_EV_LOGGED_IN && o->count > 0 && ++seen >= o->count)
                return EXIT_OKAY;
        }
        uint64_t now = now_ms();
        if (now >= end)
            return EXIT_OKAY;
        int wait = end - now < 1000 ? (int)(end - now) : 1000, ready = 0;
        if (drv_step(d, in_fd, wait, &ready) != 0) {
            while ((ev = drv_next_event(d)))
                emit(o, ev);
            return EXIT_NETWORK;
        }
        if (ready) {
            int q = read_stdin(d, o, line, sizeof line, &llen);
            if (q > 0)
                return EXIT_OKAY;
            if (q < 0)
                in_fd = -1; /* end of the commands: keep listening until --count / --timeout */
        }
    }
    return EXIT_OKAY;
}

/* send-file: waits for the offer's fate.  EXIT_OKAY once received intact, else EXIT_FAILED. */
static int file_wait(struct drv *d, const struct opts *o, const char *id)
{
    uint64_t end = now_ms() + (uint64_t)((o->timeout > 0 ? o->timeout : 3600) * 1000);
    while (!stop_flag && now_ms() < end) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d))) {
            emit(o, ev);
            if (ev->type == YMSG_EV_DISCONNECTED || ev->type == YMSG_EV_KICKED)
                return EXIT_NETWORK;
            if (strcmp(ev->xfer ? ev->xfer : "", id) != 0)
                continue;
            if (ev->type == YMSG_EV_FILE_DONE)
                return ev->code == 0 ? EXIT_OKAY : EXIT_FAILED;
            if (ev->type == YMSG_EV_FILE_DECLINED || ev->type == YMSG_EV_FILE_CANCELLED)
                return EXIT_FAILED;
        }
        if (drv_step(d, -1, 500, NULL) != 0)
            return EXIT_NETWORK;
    }
    ymsg_session_file_cancel(d->s, id);
    fprintf(stderr, "ymsg: send-file: no answer in time\n");
    return EXIT_FAILED;
}

/* say: enter the room, wait until in, say it. */
static int room_say(struct drv *d, const struct opts *o, const char *room, const char *text)
{
    int r = ymsg_session_room_join(d->s, room, NULL);
    if (r)
        return r;
    uint64_t end = now_ms() + 15000;
    while (!stop_flag && now_ms() < end) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(d))) {
            emit(o, ev);
            if (ev->type == YMSG_EV_ROOM_JOINED)
                return ymsg_session_room_send(d->s, text, 0);
            if (ev->type == YMSG_EV_ROOM_FAILED || ev->type == YMSG_EV_DISCONNECTED)
                return YMSG_EPROTO;
        }
        if (drv_step(d, -1, 500, NULL) != 0)
            return YMSG_EPROTO;
    }
    return YMSG_EPROTO;
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
    } else if (is(b, "conf-invite")) {
        if (!o->to || argc > 0) {
            fprintf(stderr, "usage: ymsg conf-invite --to USER[,USER...] [--room NAME] [--message M]\n");
            return EXIT_USAGE;
        }
    } else if (is(b, "join")) {
        if (argc != 1) {
            fprintf(stderr, "usage: ymsg join ROOM\n");
            return EXIT_USAGE;
        }
    } else if (is(b, "say")) {
        b->text = argc == 1 ? argv[0] : NULL;
        if (!o->room || !b->text || !b->text[0]) {
            fprintf(stderr, "usage: ymsg say --room NAME TEXT\n");
            return EXIT_USAGE;
        }
    } else if (is(b, "send-file")) {
        struct stat st;
        if (!o->to || argc != 1) {
            fprintf(stderr, "usage: ymsg send-file --to USER FILE\n");
            return EXIT_USAGE;
        }
        if (stat(argv[0], &st) != 0 || !S_ISREG(st.st_mode) || access(argv[0], R_OK) != 0) {
            fprintf(stderr, "ymsg: send-file: %s: not a readable file\n", argv[0]);
            return EXIT_USAGE;
        }
        b->target = o->to;
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
    } else if (is(b, "conf-invite")) {
        char list[1024], room[YMSG_ROOM_MAX] = "";
        const char *who[64];
        size_t n = 0;
        snprintf(list, sizeof list, "%s", o->to);
        for (char *w = strtok(list, ","); w && n < 64; w = strtok(NULL, ","))
            who[n++] = w;
        r = ymsg_session_conf_create(s, o->room, who, n, o->message ? o->message : "Join my conference", room,
                                     sizeof room);
        if (r == 0) {
            command_result(o, "conf-invite", 0, "room", room);
            return listen_loop(d, o);
        }
    } else if (is(b, "join")) {
        r = ymsg_session_room_join(s, b->argv[0], NULL);
        if (r == 0)
            return listen_loop(d, o);
    } else if (is(b, "say")) {
        r = room_say(d, o, o->room, b->text);
        if (r == 0) {
            command_result(o, "say", 0, "room", o->room);
            if (o->timeout > 0 || o->count > 0)
                return listen_loop(d, o);
            ymsg_session_room_leave(s);
        }
    } else if (is(b, "send-file")) {
        char id[YMSG_XFER_ID_MAX];
        r = offer_file(d, b->target, b->argv[0], id);
        if (r == 0) {
            command_result(o, "send-file", 0, "id", id);
            return file_wait(d, o, id);
        }
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
