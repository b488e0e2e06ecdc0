/* The interactive terminal client (ncursesw): buddy list by group on the left, conversation tabs on the
 * right with scrollback and on-disk history, an input line with UTF-8 editing, a status line that shows
 * connection and login errors, reconnect with exponential backoff that keeps the status (invisible stays
 * invisible), a password prompt after a refused login, and messages typed while disconnected sent after
 * the reconnect.  Keys and commands: F1 / /help (tui_cmd.c, tui_input.c). */
#include "tui.h"
#include "history.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <unistd.h>

static volatile sig_atomic_t resized;
static void on_winch(int sig) { (void)sig; resized = 1; }

/* ------------------------------------------------------------------------------------------------ */
static void conv_free(struct conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[(c->first + i) % MAX_LINES].text);
    free(c->lines);
    for (int i = 0; i < c->nout; i++)
        free(c->outbox[i]);
}

static void line_add(struct conv *c, time_t when, int attr, int indent, const char *text)
{
    if (!c->lines && !(c->lines = calloc(MAX_LINES, sizeof *c->lines)))
        return;
    struct line *l;
    if (c->n == MAX_LINES) {
        l = &c->lines[c->first];
        free(l->text);
        c->first = (c->first + 1) % MAX_LINES;
    } else {
        l = &c->lines[(c->first + c->n++) % MAX_LINES];
    }
    l->t = when ? when : time(NULL);
    l->text = strdup(text);
    l->attr = attr;
    l->indent = indent;
    c->seq++;
}

static int load_cb(void *ud, const struct hist_entry *e)
{
    struct conv *c = ud;
    char buf[YMSG_ID_MAX + sizeof e->text + 4];
    snprintf(buf, sizeof buf, "%s: %s", e->from, e->text);
    line_add(c, e->t, C_SYSTEM, tui_width(e->from) + 2, buf);
    return 0;
}

struct conv *tui_conv_get(struct tui *t, const char *who, int create)
{
    for (int i = 0; i < t->nconv; i++)
        if (t->convs[i].kind == CONV_IM && strcasecmp(t->convs[i].who, who) == 0)
            return &t->convs[i];
    if (!create)
        return NULL;
    if (t->nconv == MAX_CONVS) { /* reuse the oldest peer tab */
        conv_free(&t->convs[1]);
        memmove(&t->convs[1], &t->convs[2], (MAX_CONVS - 2) * sizeof t->convs[0]);
        t->nconv--;
        if (t->cur >= t->nconv)
            t->cur = t->nconv - 1;
    }
    struct conv *c = &t->convs[t->nconv++];
    memset(c, 0, sizeof *c);
    snprintf(c->who, sizeof c->who, "%s", who);
    /* the last lines of the history, dimmed, then a line that says where they end */
    history_load(t->o, t->user, who, t->o->history_lines, load_cb, c);
    if (c->n)
        line_add(c, 0, C_SYSTEM, 0, "-- end of history --");
    c->marker = c->seq;
    return c;
}

struct conv *tui_conv_group(struct tui *t, int kind, const char *name, int create)
{
    for (int i = 1; i < t->nconv; i++)
        if (t->convs[i].kind == kind && strcasecmp(t->convs[i].who, name) == 0)
            return &t->convs[i];
    if (!create)
        return NULL;
    if (t->nconv == MAX_CONVS) { /* reuse the oldest tab */
        conv_free(&t->convs[1]);
        memmove(&t->convs[1], &t->convs[2], (MAX_CONVS - 2) * sizeof t->convs[0]);
        t->nconv--;
        if (t->cur >= t->nconv)
            t->cur = t->nconv - 1;
    }
    struct conv *c = &t->convs[t->nconv++];
    memset(c, 0, sizeof *c);
    snprintf(c->who, sizeof c->who, "%s", name);
    c->kind = kind;
    return c;
}

void tui_conv_add(struct tui *t, struct conv *c, time_t when, int attr, int indent, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int had_marker = c->marker < c->seq;
    line_add(c, when, attr, indent, buf);
    if (c != &t->convs[t->cur])
        c->unread++;
    else if (c->scroll > 0) /* reading back: the view stays put; what arrives now is unread */
        c->scroll += tui_line_rows(t, &c->lines[(c->first + c->n - 1) % MAX_LINES]) + !had_marker;
    else if (!had_marker)
        c->marker = c->seq; /* seen as it arrives */
}

void tui_error(struct tui *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
    tui_conv_add(t, &t->convs[0], 0, C_ERROR, 0, "%s", t->error);
}

/* A message line in a peer's tab, logged to disk. */
static void conv_message(struct tui *t, struct conv *c, time_t when, int attr, const char *from, const char *text,
                         const char *note)
{
    time_t at = when ? when : time(NULL);
    tui_conv_add(t, c, at, attr, tui_width(from) + 2, "%s%s: %s", from, note, text);
    history_append(t->o, t->user, c->who, at, from, text);
}

/* ------------------------------------------------------------------------------------------------ */
void tui_switch_tab(struct tui *t, int idx)
{
    tui_typing_stop(t);
    struct conv *old = &t->convs[t->cur];
    old->marker = old->seq; /* what was shown has been read */
    t->cur = (idx + t->nconv) % t->nconv;
    struct conv *c = &t->convs[t->cur];
    t->total_unread -= c->unread;
    if (t->total_unread < 0)
        t->total_unread = 0;
    if (!c->unread)
        c->marker = c->seq;
    c->unread = 0;
    c->buzzed = 0;
}

void tui_close_tab(struct tui *t)
{
    if (t->cur == 0)
        return;
    tui_typing_stop(t);
    struct conv *c = &t->convs[t->cur];
    tui_group_leave(t, c);
    t->total_unread -= c->unread;
    conv_free(c);
    memmove(c, c + 1, (size_t)(t->nconv - t->cur - 1) * sizeof *c);
    t->nconv--;
    if (t->cur >= t->nconv)
        t->cur = t->nconv - 1;
}

void tui_typing_stop(struct tui *t)
{
    if (t->typing_sent && t->connected)
        ymsg_session_typing(t->d.s, t->typing_to, 0);
    t->typing_sent = 0;
}

void tui_remember_status(struct tui *t, uint32_t status, const char *msg, int away)
{
    t->status = status;
    snprintf(t->status_msg, sizeof t->status_msg, "%s", status == YMSG_STATUS_CUSTOM && msg ? msg : "");
    t->status_away = away;
    t->auto_away = 0;
}

/* ------------------------------------------------------------------------------------------------ */
static void flush_outboxes(struct tui *t)
{
    for (int i = 1; i < t->nconv && t->connected; i++) {
        struct conv *c = &t->convs[i];
        while (c->nout) {
            char *m = c->outbox[0];
            int r = ymsg_session_send_message(t->d.s, c->who, m);
            if (r) {
                tui_conv_add(t, c, 0, C_ERROR, 0, "not sent: %s (kept; it goes out after the next reconnect)",
                             ymsg_strerror(r));
                break;
            }
            conv_message(t, c, 0, C_OURS, t->user, m, "");
            free(m);
            memmove(c->outbox, c->outbox + 1, (size_t)(--c->nout) * sizeof *c->outbox);
        }
    }
}

int tui_connect(struct tui *t)
{
    SYS(t, "connecting to %s:%s as %s...", t->o->host, t->o->port, t->user);
    tui_redraw(t);
    /* sign in with the status we had (0x54's status, then the first 0xC6 with its message): invisible
     * stays invisible, a custom message is there from the first moment */
    t->d.quiet = 1;
    int rc = drv_open(&t->d, t->o, t->user, t->pass, t->status, t->status_msg, t->status_away ? 1 : 0);
    if (rc == 0)
        rc = drv_login(&t->d, 30000, NULL, NULL);
    if (rc != 0) {
        if (t->d.s)
            drv_close(&t->d);
        t->connected = 0;
        tui_error(t, "%s", t->d.err[0] ? t->d.err : "cannot sign in");
        if (rc == EXIT_LOGIN)
            t->login_refused = 1;
        return rc;
    }
    t->connected = 1;
    t->backoff_ms = 0;
    t->reconnect_at = 0;
    t->kicked = 0;
    t->login_refused = 0;
    t->error[0] = 0;
    SYS(t, "signed in as %s", t->user);
    flush_outboxes(t);
    return 0;
}

void tui_schedule_reconnect(struct tui *t)
{
    if (t->kicked || t->login_refused || t->quit)
        return;
    t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : 1000;
    if (t->backoff_ms > 60000)
        t->backoff_ms = 60000;
    t->reconnect_at = now_ms() + t->backoff_ms;
    SYS(t, "reconnecting in %u s", t->backoff_ms / 1000);
}

/* A refused login: ask for the password again (no echo) until it works or the user gives up. */
static void password_retry(struct tui *t)
{
    while (t->login_refused && !t->quit) {
        char title[400], pw[256];
        snprintf(title, sizeof title, "Login refused: %.200s. Password for %.40s (Esc: give up)", t->error, t->user);
        if (tui_prompt(t, title, pw, sizeof pw, 1) != 0) {
            SYS(t, "not signed in; /reconnect tries again");
            return;
        }
        snprintf(t->pass, sizeof t->pass, "%s", pw);
        memset(pw, 0, sizeof pw);
        t->login_refused = 0;
        if (tui_connect(t) == EXIT_NETWORK)
            tui_schedule_reconnect(t);
    }
}

void tui_send_text(struct tui *t, struct conv *c, const char *text)
{
    if (!t->connected) { /* keep it: it goes out after the reconnect */
        if (c->nout == MAX_OUTBOX) {
            tui_conv_add(t, c, 0, C_ERROR, 0, "not connected and %d messages already wait: not kept", MAX_OUTBOX);
            return;
        }
        char *m = strdup(text);
        if (!m)
            return;
        c->outbox[c->nout++] = m;
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "(not connected: \"%.60s%s\" will be sent when the connection is back)",
                     text, strlen(text) > 60 ? "..." : "");
        return;
    }
    if (c->kind != CONV_IM) {
        tui_group_send(t, c, text);
        return;
    }
    int r = ymsg_session_send_message(t->d.s, c->who, text);
    if (r)
        tui_conv_add(t, c, 0, C_ERROR, 0, "not sent: %s", ymsg_strerror(r));
    else
        conv_message(t, c, 0, C_OURS, t->user, text, "");
}

/* ------------------------------------------------------------------------------------------------ */
static void notify(struct tui *t, struct conv *c)
{
    if (c == &t->convs[t->cur])
        return;
    t->total_unread++;
    if (t->o->bell)
        beep(); /* BEL: terminals mark the window urgent on it */
}

static void handle_event(struct tui *t, const struct ymsg_event *ev)
{
    struct conv *c;
    switch (ev->type) {
    case YMSG_EV_MESSAGE:
        c = tui_conv_get(t, ev->who, 1);
        c->typing = 0;
        conv_message(t, c, (time_t)ev->time, C_THEIRS, ev->who, ev->text,
                     ev->flags & YMSG_EVF_OFFLINE ? " (offline)" : "");
        notify(t, c);
        break;
    case YMSG_EV_BUZZ:
        c = tui_conv_get(t, ev->who, 1);
        tui_conv_add(t, c, (time_t)ev->time, C_ERROR, 0, "%s: BUZZ!!!", ev->who);
        c->buzzed = 1;
        flash();
        beep();
        break;
    case YMSG_EV_TYPING:
        if ((c = tui_conv_get(t, ev->who, 0)))
            c->typing = ev->on;
        break;
    case YMSG_EV_PRESENCE:
        if ((c = tui_conv_get(t, ev->who, 0)))
            tui_conv_add(t, c, 0, C_SYSTEM, 0, "%s is %s%s%s", ev->who, ev->on ? status_text(ev->status) : "offline",
                         ev->text[0] ? ": " : "", ev->text);
        break;
    case YMSG_EV_AUTH_REQUEST:
        SYS(t, "%s wants to add you%s%s -- F5, or /accept %s, /decline %s", ev->who, ev->text[0] ? ": " : "",
            ev->text, ev->who, ev->who);
        if (t->npending < MAX_PENDING)
            snprintf(t->pending[t->npending++], YMSG_ID_MAX, "%s", ev->who);
        beep();
        break;
    case YMSG_EV_AUTH_ANSWER:
        SYS(t, "%s %s your request%s%s", ev->who, ev->on ? "accepted" : "declined", ev->text[0] ? ": " : "", ev->text);
        break;
    case YMSG_EV_LIST_ACK:
        SYS(t, "%s %s: %s", ymsg_service_name(ev->service) ? ymsg_service_name(ev->service) : "list",
            ev->who[0] ? ev->who : ev->group, ev->text);
        break;
    case YMSG_EV_NOT_SENT:
        c = tui_conv_get(t, ev->who[0] ? ev->who : "", 0);
        tui_conv_add(t, c ? c : &t->convs[0], 0, C_ERROR, 0, "not sent: %s", ev->text);
        break;
    case YMSG_EV_SYSTEM: SYS(t, "%s", ev->text); break;
    case YMSG_EV_KICKED:
        t->kicked = 1;
        tui_error(t, "signed in from another location; /reconnect to take the session back");
        break;
    case YMSG_EV_DISCONNECTED:
        tui_error(t, "disconnected: %s", ev->text);
        t->connected = 0;
        break;
    default:
        tui_group_event(t, ev);
        break;
    }
}

/* Auto-away after o->auto_away_min idle minutes; the next key brings the old status back. */
static void auto_away_tick(struct tui *t)
{
    if (!t->o->auto_away_min || !t->connected || t->auto_away || t->status != YMSG_STATUS_AVAILABLE)
        return;
    if (now_ms() - t->last_key < (uint64_t)t->o->auto_away_min * 60000u)
        return;
    if (ymsg_session_set_status(t->d.s, YMSG_STATUS_CUSTOM, "Away (idle)", 1) == 0) {
        t->saved_status = t->status;
        snprintf(t->saved_msg, sizeof t->saved_msg, "%s", t->status_msg);
        tui_remember_status(t, YMSG_STATUS_CUSTOM, "Away (idle)", 1);
        t->auto_away = 1;
        SYS(t, "away after %ld idle minutes", t->o->auto_away_min);
    }
}

static void back_from_auto_away(struct tui *t)
{
    t->last_key = now_ms();
    if (!t->auto_away || !t->connected)
        return;
    if (ymsg_session_set_status(t->d.s, t->saved_status, t->saved_msg, 0) == 0) {
        tui_remember_status(t, t->saved_status, t->saved_msg, 0);
        SYS(t, "back");
    }
}

/* The window title carries the unread count (the terminal's "urgency" for window managers). */
static void set_title(struct tui *t)
{
    static int shown = -1;
    if (!t->o->urgency || shown == t->total_unread)
        return;
    shown = t->total_unread;
    char title[128];
    if (t->total_unread)
        snprintf(title, sizeof title, "\033]2;ymsg (%d) %.60s\007", t->total_unread, t->user);
    else
        snprintf(title, sizeof title, "\033]2;ymsg %.60s\007", t->user);
    putp(title);
    fflush(stdout);
}

static void loop_once(struct tui *t)
{
    if (resized) {
        resized = 0;
        endwin();
        refresh();
        tui_layout(t);
    }
    int ready = 0;
    if (t->connected) {
        if (drv_step(&t->d, STDIN_FILENO, 500, &ready) != 0 || ymsg_session_state(t->d.s) == YMSG_SS_CLOSED) {
            const struct ymsg_event *ev;
            while ((ev = drv_next_event(&t->d)))
                handle_event(t, ev);
            if (!t->error[0])
                tui_error(t, "connection lost: %s", t->d.err[0] ? t->d.err : "server closed the connection");
            drv_close(&t->d);
            t->connected = 0;
            tui_schedule_reconnect(t);
        }
    } else {
        struct timeval tv = {0, 500000};
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        ready = select(STDIN_FILENO + 1, &fds, NULL, NULL, &tv) > 0;
        if (t->reconnect_at && now_ms() >= t->reconnect_at) {
            t->reconnect_at = 0;
            if (tui_connect(t) == EXIT_NETWORK)
                tui_schedule_reconnect(t);
        }
    }
    if (t->connected) {
        const struct ymsg_event *ev;
        while ((ev = drv_next_event(&t->d)))
            handle_event(t, ev);
    }
    if (ready) {
        wint_t ch;
        int k;
        while ((k = wget_wch(t->winput, &ch)) != ERR && !t->quit) {
            back_from_auto_away(t);
            tui_key(t, k, ch);
        }
    }
    if (t->login_refused)
        password_retry(t);
    auto_away_tick(t);
    tui_redraw(t);
    set_title(t);
}

int cmd_tui(const struct opts *o)
{
    struct tui *t = calloc(1, sizeof *t);
    if (!t)
        return EXIT_FAILED;
    t->o = o;
    if (read_credentials(o->credentials, "YMSG_USER", "YMSG_PASSWORD", o->account, t->user, sizeof t->user, t->pass,
                         sizeof t->pass) != 0) {
        free(t);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGWINCH, on_winch);
    t->nconv = 1;
    t->sel = 1; /* the first buddy under the first group */
    t->hide_offline = o->hide_offline;
    t->status = o->invisible ? YMSG_STATUS_INVISIBLE : YMSG_STATUS_AVAILABLE;
    t->last_key = now_ms();
    initscr();
    raw();
    noecho();
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(C_THEIRS, COLOR_CYAN, -1);
        init_pair(C_OURS, COLOR_GREEN, -1);   /* ours, online buddies */
        init_pair(C_SYSTEM, COLOR_YELLOW, -1);
        init_pair(C_AWAY, COLOR_MAGENTA, -1); /* away buddies */
        init_pair(C_ERROR, COLOR_RED, -1);    /* buzz, errors, the unread marker */
    }
    /* bracketed paste: the terminal wraps a paste in ESC[200~ ... ESC[201~ */
    define_key("\033[200~", KEY_MAX + 1);
    define_key("\033[201~", KEY_MAX + 2);
    putp("\033[?2004h");
    if (o->mouse)
        mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    tui_layout(t);
    tui_redraw(t);
    if (tui_connect(t) == EXIT_NETWORK)
        tui_schedule_reconnect(t);
    while (!t->quit)
        loop_once(t);
    putp("\033[?2004l");
    endwin();
    if (t->connected) {
        tui_typing_stop(t);
        ymsg_session_logoff(t->d.s);
        drv_close(&t->d);
    }
    for (int i = 0; i < t->nconv; i++)
        conv_free(&t->convs[i]);
    tui_list_free(t);
    memset(t->pass, 0, sizeof t->pass);
    free(t);
    return EXIT_OKAY;
}
