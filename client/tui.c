/* The interactive terminal client (ncursesw): buddy list by group on the left, conversation tabs on the
 * right, an input line with UTF-8 editing, a status menu, an add-buddy dialog, authorisation prompts,
 * typing indicators, buzz (flash + bell) and reconnect with exponential backoff.
 *
 * Keys: Enter sends (or opens the selected buddy when the line is empty); Up/Down select a buddy;
 * Ctrl-N / Ctrl-P (or Tab) switch tabs; F2 status menu; F3 add-buddy dialog; F4 / Ctrl-W closes the tab;
 * F5 answers an authorisation request; F10 or /quit quits.  Commands: /msg USER [TEXT], /buzz, /status NAME [TEXT], /add USER [GROUP],
 * /remove USER, /accept USER, /decline USER, /ignore USER, /unignore USER, /move USER GROUP,
 * /rename OLD NEW, /close, /reconnect, /quit. */
#include "client.h"

#include <curses.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/select.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define MAX_CONVS   32            /* open tabs, the system tab included */
#define MAX_LINES   1000          /* lines kept per tab */
#define INPUT_MAX   900           /* characters in the input line (§1.5: 800 chars per IM) */
#define LIST_W      30            /* width of the buddy pane */
#define MAX_PENDING 16            /* authorisation requests waiting for an answer */

struct line {
    time_t t;                     /* when */
    char *text;                   /* UTF-8, already prefixed with the speaker */
    int attr;                     /* colour pair */
};

struct conv {
    char who[YMSG_ID_MAX];        /* peer ("" for the system tab) */
    struct line *lines;           /* ring of lines */
    size_t n;                     /* lines stored */
    size_t first;                 /* ring start */
    int unread;                   /* lines added while the tab was not shown */
    int typing;                   /* the peer is typing */
    int buzzed;                   /* flash the tab title */
};

struct tui {
    const struct opts *o;         /* options */
    struct drv d;                 /* connection */
    int connected;                /* logged in */
    char user[256];               /* credentials */
    char pass[256];
    struct conv convs[MAX_CONVS]; /* tabs; [0] is the system tab */
    int nconv;                    /* tabs open */
    int cur;                      /* tab shown */
    wchar_t input[INPUT_MAX + 1]; /* input line */
    int ilen;                     /* its length */
    int icur;                     /* cursor */
    int typing_sent;              /* we told the current peer that we are typing */
    char typing_to[YMSG_ID_MAX];  /* whom */
    int sel;                      /* selected row in the buddy list (buddy index) */
    int quit;                     /* leave the main loop */
    int kicked;                   /* signed in elsewhere: no automatic reconnect */
    int login_refused;            /* credentials refused: no automatic reconnect */
    uint32_t status;              /* our status, kept across reconnects (privacy: invisible stays invisible) */
    char status_msg[YMSG_STATUS_MSG_MAX]; /* its custom message */
    int status_away;              /* its away flag (custom) */
    uint64_t reconnect_at;        /* when to try again (0 = not scheduled) */
    unsigned backoff_ms;          /* current backoff */
    char pending[MAX_PENDING][YMSG_ID_MAX]; /* authorisation requests to answer */
    int npending;                 /* how many */
    WINDOW *wlist, *wtabs, *wconv, *wstatus, *winput; /* panes */
};

static volatile sig_atomic_t resized;
static void on_winch(int sig) { (void)sig; resized = 1; }

/* ------------------------------------------------------------------------------------------------ */
static struct conv *conv_get(struct tui *t, const char *who, int create)
{
    for (int i = 0; i < t->nconv; i++)
        if (strcasecmp(t->convs[i].who, who) == 0)
            return &t->convs[i];
    if (!create)
        return NULL;
    if (t->nconv == MAX_CONVS) { /* reuse the oldest peer tab */
        struct conv *c = &t->convs[1];
        for (size_t i = 0; i < c->n; i++)
            free(c->lines[(c->first + i) % MAX_LINES].text);
        free(c->lines);
        memmove(&t->convs[1], &t->convs[2], (MAX_CONVS - 2) * sizeof t->convs[0]);
        t->nconv--;
        if (t->cur >= t->nconv)
            t->cur = t->nconv - 1;
    }
    struct conv *c = &t->convs[t->nconv++];
    memset(c, 0, sizeof *c);
    snprintf(c->who, sizeof c->who, "%s", who);
    return c;
}

static void conv_add(struct tui *t, struct conv *c, time_t when, int attr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void conv_add(struct tui *t, struct conv *c, time_t when, int attr, const char *fmt, ...)
{
    if (!c->lines && !(c->lines = calloc(MAX_LINES, sizeof *c->lines)))
        return;
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct line *l;
    if (c->n == MAX_LINES) {
        l = &c->lines[c->first];
        free(l->text);
        c->first = (c->first + 1) % MAX_LINES;
    } else {
        l = &c->lines[(c->first + c->n++) % MAX_LINES];
    }
    l->t = when ? when : time(NULL);
    l->text = strdup(buf);
    l->attr = attr;
    if (c != &t->convs[t->cur])
        c->unread++;
}

#define SYS(t, ...) conv_add((t), &(t)->convs[0], 0, 3, __VA_ARGS__)

/* ------------------------------------------------------------------------------------------------ */
static void layout(struct tui *t)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    if (t->wlist) {
        delwin(t->wlist); delwin(t->wtabs); delwin(t->wconv); delwin(t->wstatus); delwin(t->winput);
    }
    int lw = w > LIST_W + 20 ? LIST_W : w / 3;
    if (h < 6) h = 6;
    t->wlist = newwin(h - 2, lw, 0, 0);
    t->wtabs = newwin(1, w - lw, 0, lw);
    t->wconv = newwin(h - 4, w - lw, 1, lw);
    t->wstatus = newwin(1, w, h - 2, 0);
    t->winput = newwin(1, w, h - 1, 0);
    keypad(t->winput, TRUE);
    nodelay(t->winput, TRUE);
}

static char mark(const struct ymsg_buddy *b)
{
    if (b->pending) return '?';
    if (!b->online) return ' ';
    if (b->status == 0) return '*';
    if (b->status == YMSG_STATUS_IDLE || b->away == 2) return 'z';
    return b->status == YMSG_STATUS_CUSTOM && !b->away ? '*' : '-';
}

static void draw_list(struct tui *t)
{
    WINDOW *w = t->wlist;
    werase(w);
    int h, wd;
    getmaxyx(w, h, wd);
    (void)h;
    struct ymsg_session *s = t->d.s;
    int y = 0;
    if (!s || !t->connected) {
        mvwaddstr(w, 0, 0, t->reconnect_at ? "(reconnecting)" : "(offline)");
    } else {
        size_t nb = ymsg_session_buddy_count(s);
        for (size_t g = 0; g < ymsg_session_group_count(s) && y < h; g++) {
            const char *group = ymsg_session_group(s, g);
            wattron(w, A_BOLD);
            mvwprintw(w, y++, 0, "%.*s", wd - 1, group);
            wattroff(w, A_BOLD);
            for (size_t i = 0; i < nb && y < h; i++) {
                const struct ymsg_buddy *b = ymsg_session_buddy(s, i);
                if (strcmp(b->group, group) != 0)
                    continue;
                if ((int)i == t->sel)
                    wattron(w, A_REVERSE);
                if (b->online)
                    wattron(w, COLOR_PAIR(b->status == 0 ? 2 : 4));
                char line[512];
                snprintf(line, sizeof line, " %c %s%s%s", mark(b), b->id, b->msg[0] ? " - " : "",
                         b->msg[0] ? b->msg : (b->online && b->status ? status_text(b->status) : ""));
                mvwaddnstr(w, y++, 0, line, -1);
                wclrtoeol(w);
                wattroff(w, A_REVERSE | COLOR_PAIR(2) | COLOR_PAIR(4));
            }
        }
        if (ymsg_session_ignored_count(s) && y < h)
            mvwprintw(w, y++, 0, "(%zu ignored)", ymsg_session_ignored_count(s));
    }
    /* a separator on the right edge */
    for (int i = 0; i < h; i++)
        mvwaddch(w, i, wd - 1, '|'); /* ASCII: ACS glyphs come out as letters in some terminals */
    wnoutrefresh(w);
}

static void draw_tabs(struct tui *t)
{
    WINDOW *w = t->wtabs;
    werase(w);
    wmove(w, 0, 0);
    for (int i = 0; i < t->nconv; i++) {
        struct conv *c = &t->convs[i];
        if (i == t->cur)
            wattron(w, A_REVERSE);
        if (c->buzzed)
            wattron(w, A_BLINK | A_BOLD);
        if (c->unread)
            wprintw(w, "[%d:%s(%d)]", i, i ? c->who : "status", c->unread);
        else
            wprintw(w, "[%d:%s]", i, i ? c->who : "status");
        wattroff(w, A_REVERSE | A_BLINK | A_BOLD);
        waddch(w, ' ');
    }
    wnoutrefresh(w);
}

static void draw_conv(struct tui *t)
{
    WINDOW *w = t->wconv;
    werase(w);
    int h, wd;
    getmaxyx(w, h, wd);
    struct conv *c = &t->convs[t->cur];
    int rows = h - 1; /* last row: typing indicator */
    /* lines may wrap: walk back from the newest until the window is full */
    int used = 0;
    size_t start = c->n;
    while (start > 0) {
        struct line *l = &c->lines[(c->first + start - 1) % MAX_LINES];
        int need = ((int)strlen(l->text) + 9) / (wd > 1 ? wd : 1) + 1;
        if (used + need > rows)
            break;
        used += need;
        start--;
    }
    wmove(w, 0, 0);
    for (size_t i = start; i < c->n; i++) {
        struct line *l = &c->lines[(c->first + i) % MAX_LINES];
        struct tm tm;
        localtime_r(&l->t, &tm);
        char ts[16];
        strftime(ts, sizeof ts, "%H:%M", &tm);
        int y, x;
        getyx(w, y, x);
        (void)x;
        if (y >= rows)
            break;
        wattron(w, A_DIM);
        wprintw(w, "%s ", ts);
        wattroff(w, A_DIM);
        wattron(w, COLOR_PAIR(l->attr));
        waddstr(w, l->text);
        wattroff(w, COLOR_PAIR(l->attr));
        getyx(w, y, x);
        if (y + 1 >= h)
            break;
        wmove(w, y + 1, 0);
    }
    if (c->typing)
        mvwprintw(w, h - 1, 0, "%s is typing...", c->who);
    wnoutrefresh(w);
}

static void draw_status(struct tui *t)
{
    WINDOW *w = t->wstatus;
    werase(w);
    wattron(w, A_REVERSE);
    int wd = getmaxx(w);
    char buf[1200];
    const char *state = t->connected ? status_text(ymsg_session_my_status(t->d.s)) : t->reconnect_at ? "reconnecting" : "offline";
    snprintf(buf, sizeof buf, " %s [%s]  %s:%s  F2 status  F3 add  ^N/^P tabs  F10 quit%s", t->user, state,
             t->o->host, t->o->port, t->npending ? "  (authorisation request: F5)" : "");
    mvwaddnstr(w, 0, 0, buf, wd);
    for (int i = (int)strlen(buf); i < wd; i++)
        waddch(w, ' ');
    wattroff(w, A_REVERSE);
    wnoutrefresh(w);
}

static void draw_input(struct tui *t)
{
    WINDOW *w = t->winput;
    werase(w);
    int wd = getmaxx(w);
    int off = t->icur >= wd - 3 ? t->icur - (wd - 3) : 0;
    mvwaddstr(w, 0, 0, "> ");
    waddnwstr(w, t->input + off, t->ilen - off < wd - 3 ? t->ilen - off : wd - 3);
    wmove(w, 0, 2 + t->icur - off);
    wnoutrefresh(w);
}

static void redraw(struct tui *t)
{
    draw_list(t);
    draw_tabs(t);
    draw_conv(t);
    draw_status(t);
    draw_input(t);
    doupdate();
}

/* ------------------------------------------------------------------------------------------------ */
/* A small modal list; returns the chosen index or -1. */
static int menu(struct tui *t, const char *title, const char *const *items, int n)
{
    int h = n + 2, w = 34, sel = 0;
    WINDOW *m = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
    keypad(m, TRUE);
    for (;;) {
        werase(m);
        wborder(m, '|', '|', '-', '-', '+', '+', '+', '+');
        mvwprintw(m, 0, 2, " %s ", title);
        for (int i = 0; i < n; i++) {
            if (i == sel)
                wattron(m, A_REVERSE);
            mvwprintw(m, i + 1, 2, "%-28s", items[i]);
            wattroff(m, A_REVERSE);
        }
        wrefresh(m);
        int ch = wgetch(m);
        if (ch == KEY_UP || ch == 'k') sel = (sel + n - 1) % n;
        else if (ch == KEY_DOWN || ch == 'j') sel = (sel + 1) % n;
        else if (ch == '\n' || ch == KEY_ENTER || ch == '\r') break;
        else if (ch == 27 || ch == 'q') { sel = -1; break; }
    }
    delwin(m);
    touchwin(stdscr);
    redraw(t);
    return sel;
}

/* A one-line text prompt; returns 0 with UTF-8 in out, or -1 if cancelled. */
static int prompt(struct tui *t, const char *title, char *out, size_t cap)
{
    int w = 50;
    WINDOW *m = newwin(3, w, LINES / 2 - 1, (COLS - w) / 2);
    keypad(m, TRUE);
    wchar_t buf[256];
    int n = 0, r = -1;
    for (;;) {
        werase(m);
        wborder(m, '|', '|', '-', '-', '+', '+', '+', '+');
        mvwprintw(m, 0, 2, " %s ", title);
        mvwaddnwstr(m, 1, 2, buf, n < w - 4 ? n : w - 4);
        wrefresh(m);
        wint_t ch;
        int k = wget_wch(m, &ch);
        if (k == ERR)
            continue;
        if ((k == OK && (ch == L'\n' || ch == L'\r')) || (k == KEY_CODE_YES && ch == KEY_ENTER)) {
            buf[n] = 0;
            if (wcstombs(out, buf, cap) != (size_t)-1 && out[0])
                r = 0;
            break;
        }
        if (k == OK && ch == 27)
            break;
        if ((k == KEY_CODE_YES && ch == KEY_BACKSPACE) || (k == OK && (ch == 127 || ch == 8))) {
            if (n)
                n--;
        } else if (k == OK && ch >= 0x20 && n < 255) {
            buf[n++] = (wchar_t)ch;
        }
    }
    delwin(m);
    touchwin(stdscr);
    redraw(t);
    return r;
}

/* ------------------------------------------------------------------------------------------------ */
static int do_connect(struct tui *t)
{
    SYS(t, "connecting to %s:%s as %s...", t->o->host, t->o->port, t->user);
    redraw(t);
    /* sign in with the status we had: 0x54 carries invisible / an away code itself; a custom message or
     * idle follows at once (the session signs in available for those) */
    uint32_t first = t->status == YMSG_STATUS_INVISIBLE || t->status <= YMSG_STATUS_STEPPEDOUT ? t->status
                                                                                              : YMSG_STATUS_AVAILABLE;
    t->d.quiet = 1;
    int rc = drv_open(&t->d, t->o, t->user, t->pass, first);
    if (rc == 0)
        rc = drv_login(&t->d, 30000, NULL, NULL);
    if (rc == 0 && first != t->status) {
        int r = ymsg_session_set_status(t->d.s, t->status, t->status_msg, t->status_away);
        if (r)
            SYS(t, "could not restore the status: %s", ymsg_strerror(r));
    }
    if (rc != 0) {
        if (t->d.s)
            drv_close(&t->d);
        t->connected = 0;
        SYS(t, "%s", t->d.err[0] ? t->d.err : "cannot sign in");
        if (rc == EXIT_LOGIN) {
            t->login_refused = 1;
            SYS(t, "login refused; use /reconnect after fixing the credentials");
        }
        return rc;
    }
    t->connected = 1;
    t->backoff_ms = 0;
    t->reconnect_at = 0;
    t->kicked = 0;
    SYS(t, "signed in as %s", t->user);
    return 0;
}

static void schedule_reconnect(struct tui *t)
{
    if (t->kicked || t->login_refused || t->quit)
        return;
    t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : 1000;
    if (t->backoff_ms > 60000)
        t->backoff_ms = 60000;
    t->reconnect_at = now_ms() + t->backoff_ms;
    SYS(t, "reconnecting in %u s", t->backoff_ms / 1000);
}

static void typing_stop(struct tui *t)
{
    if (t->typing_sent && t->connected)
        ymsg_session_typing(t->d.s, t->typing_to, 0);
    t->typing_sent = 0;
}

static void handle_event(struct tui *t, const struct ymsg_event *ev)
{
    struct conv *c;
    switch (ev->type) {
    case YMSG_EV_MESSAGE:
        c = conv_get(t, ev->who, 1);
        c->typing = 0;
        conv_add(t, c, (time_t)(ev->time ? ev->time : 0), 1, "%s%s: %s", ev->who,
                 ev->flags & YMSG_EVF_OFFLINE ? " (offline)" : "", ev->text);
        break;
    case YMSG_EV_BUZZ:
        c = conv_get(t, ev->who, 1);
        conv_add(t, c, (time_t)ev->time, 5, "%s: BUZZ!!!", ev->who);
        c->buzzed = 1;
        flash();
        beep();
        break;
    case YMSG_EV_TYPING:
        if ((c = conv_get(t, ev->who, 0)))
            c->typing = ev->on;
        break;
    case YMSG_EV_PRESENCE:
        if ((c = conv_get(t, ev->who, 0)))
            conv_add(t, c, 0, 3, "%s is %s%s%s", ev->who, ev->on ? status_text(ev->status) : "offline",
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
        c = conv_get(t, ev->who[0] ? ev->who : "", 0);
        conv_add(t, c ? c : &t->convs[0], 0, 5, "not sent: %s", ev->text);
        break;
    case YMSG_EV_SYSTEM: SYS(t, "%s", ev->text); break;
    case YMSG_EV_KICKED:
        t->kicked = 1;
        SYS(t, "signed in from another location; /reconnect to take the session back");
        break;
    case YMSG_EV_DISCONNECTED:
        SYS(t, "disconnected: %s", ev->text);
        t->connected = 0;
        break;
    default:
        break;
    }
}

static void remove_pending(struct tui *t, const char *who)
{
    for (int i = 0; i < t->npending; i++)
        if (strcasecmp(t->pending[i], who) == 0) {
            memmove(t->pending[i], t->pending[i + 1], (size_t)(t->npending - i - 1) * YMSG_ID_MAX);
            t->npending--;
            return;
        }
}

/* F5: answer the oldest authorisation request. */
static void auth_dialog(struct tui *t)
{
    if (!t->npending) {
        SYS(t, "no authorisation request waiting");
        return;
    }
    char who[YMSG_ID_MAX], title[YMSG_ID_MAX + 32];
    snprintf(who, sizeof who, "%s", t->pending[0]);
    snprintf(title, sizeof title, "%.60s wants to add you", who);
    static const char *const items[] = {"Accept", "Decline", "Later"};
    int i = menu(t, title, items, 3);
    if (i < 0 || i == 2 || !t->connected)
        return;
    int r = ymsg_session_auth_reply(t->d.s, who, i == 0, "");
    if (r) {
        SYS(t, "answer to %s: %s", who, ymsg_strerror(r));
        return;
    }
    remove_pending(t, who);
    SYS(t, "%s %s", i == 0 ? "accepted" : "declined", who);
}

static void remember_status(struct tui *t, uint32_t status, const char *msg, int away)
{
    t->status = status;
    snprintf(t->status_msg, sizeof t->status_msg, "%s", status == YMSG_STATUS_CUSTOM && msg ? msg : "");
    t->status_away = away;
}

static void status_menu(struct tui *t)
{
    static const char *const items[] = {"Available", "Be right back", "Busy", "Not at my desk", "On the phone",
                                        "Out to lunch", "Idle", "Custom message...", "Invisible"};
    static const uint32_t codes[] = {0, 1, 2, 4, 6, 8, 999, 99, 12};
    int i = menu(t, "Status", items, 9);
    if (i < 0 || !t->connected)
        return;
    char msg[256] = "";
    if (codes[i] == 99 && prompt(t, "Status message", msg, sizeof msg) != 0)
        return;
    int r = ymsg_session_set_status(t->d.s, codes[i], msg, 0);
    if (!r)
        remember_status(t, codes[i], msg, 0);
    SYS(t, r ? "status: %s" : "status set to %s", r ? ymsg_strerror(r) : items[i]);
}

static void add_dialog(struct tui *t)
{
    char who[YMSG_ID_MAX], group[YMSG_GROUP_MAX];
    if (prompt(t, "Add buddy: Yahoo ID", who, sizeof who) != 0)
        return;
    if (prompt(t, "Group", group, sizeof group) != 0)
        snprintf(group, sizeof group, "Friends");
    int r = t->connected ? ymsg_session_add_buddy(t->d.s, who, group, "") : YMSG_ESTATE;
    SYS(t, r ? "add %s: %s" : "asked %s for authorisation", who, r ? ymsg_strerror(r) : "");
}

static void close_tab(struct tui *t)
{
    if (t->cur == 0)
        return;
    typing_stop(t);
    struct conv *c = &t->convs[t->cur];
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[(c->first + i) % MAX_LINES].text);
    free(c->lines);
    memmove(c, c + 1, (size_t)(t->nconv - t->cur - 1) * sizeof *c);
    t->nconv--;
    if (t->cur >= t->nconv)
        t->cur = t->nconv - 1;
}

static void switch_tab(struct tui *t, int idx)
{
    typing_stop(t);
    t->cur = (idx + t->nconv) % t->nconv;
    t->convs[t->cur].unread = 0;
    t->convs[t->cur].buzzed = 0;
}

static void command(struct tui *t, char *line)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " ", &save);
    char *a1 = strtok_r(NULL, " ", &save);
    char *rest = save && *save ? save : NULL;
    struct ymsg_session *s = t->connected ? t->d.s : NULL;
    int r = 0;
    if (!strcmp(cmd, "/quit") || !strcmp(cmd, "/exit")) { t->quit = 1; return; }
    if (!strcmp(cmd, "/reconnect")) {
        t->kicked = t->login_refused = 0;
        if (t->connected) { ymsg_session_logoff(t->d.s); drv_close(&t->d); t->connected = 0; }
        do_connect(t);
        if (!t->connected) schedule_reconnect(t);
        return;
    }
    if (!strcmp(cmd, "/close")) { close_tab(t); return; }
    if (!s) { SYS(t, "not connected"); return; }
    const char *cur = t->cur ? t->convs[t->cur].who : NULL;
    if (!strcmp(cmd, "/msg") && a1) {
        struct conv *c = conv_get(t, a1, 1);
        switch_tab(t, (int)(c - t->convs));
        if (rest) {
            r = ymsg_session_send_message(s, a1, rest);
            if (!r) conv_add(t, c, 0, 2, "%s: %s", t->user, rest);
        }
    } else if (!strcmp(cmd, "/buzz") && (a1 || cur)) {
        r = ymsg_session_buzz(s, a1 ? a1 : cur);
        if (!r) conv_add(t, conv_get(t, a1 ? a1 : cur, 1), 0, 5, "you buzzed %s", a1 ? a1 : cur);
    } else if (!strcmp(cmd, "/status") && a1) {
        static const struct { const char *n; uint32_t c; } st[] = {{"available", 0}, {"brb", 1}, {"busy", 2},
            {"away", 4}, {"phone", 6}, {"lunch", 8}, {"idle", 999}, {"invisible", 12}, {"custom", 99}};
        r = YMSG_EINVAL;
        for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
            if (!strcasecmp(a1, st[i].n) && !(r = ymsg_session_set_status(s, st[i].c, rest, 0)))
                remember_status(t, st[i].c, rest, 0);
        if (!r) SYS(t, "status: %s", a1);
    } else if (!strcmp(cmd, "/add") && a1) {
        r = ymsg_session_add_buddy(s, a1, rest ? rest : "Friends", "");
    } else if (!strcmp(cmd, "/remove") && a1) {
        r = ymsg_session_remove_buddy(s, a1, NULL);
    } else if ((!strcmp(cmd, "/accept") || !strcmp(cmd, "/decline")) && a1) {
        int acc = !strcmp(cmd, "/accept");
        r = ymsg_session_auth_reply(s, a1, acc, rest);
        if (!r) { remove_pending(t, a1); SYS(t, "%s %s", acc ? "accepted" : "declined", a1); }
    } else if ((!strcmp(cmd, "/ignore") || !strcmp(cmd, "/unignore")) && a1) {
        r = ymsg_session_ignore(s, a1, !strcmp(cmd, "/ignore"));
    } else if (!strcmp(cmd, "/move") && a1 && rest) {
        r = ymsg_session_move_buddy(s, a1, NULL, rest);
    } else if (!strcmp(cmd, "/rename") && a1 && rest) {
        r = ymsg_session_rename_group(s, a1, rest);
    } else {
        SYS(t, "unknown command or missing argument: %s", cmd);
        return;
    }
    if (r)
        SYS(t, "%s: %s", cmd, ymsg_strerror(r));
}

static void submit(struct tui *t)
{
    char line[INPUT_MAX * 4 + 1];
    t->input[t->ilen] = 0;
    size_t n = wcstombs(line, t->input, sizeof line);
    t->ilen = t->icur = 0;
    if (n == (size_t)-1 || n == 0) {
        if (n == 0 && t->connected && t->sel >= 0 && (size_t)t->sel < ymsg_session_buddy_count(t->d.s)) {
            struct conv *c = conv_get(t, ymsg_session_buddy(t->d.s, (size_t)t->sel)->id, 1);
            switch_tab(t, (int)(c - t->convs));
        }
        return;
    }
    typing_stop(t);
    if (line[0] == '/') {
        command(t, line);
        return;
    }
    if (t->cur == 0) {
        SYS(t, "this is the status tab: select a buddy and press Enter, or /msg USER TEXT");
        return;
    }
    struct conv *c = &t->convs[t->cur];
    int r = t->connected ? ymsg_session_send_message(t->d.s, c->who, line) : YMSG_ESTATE;
    if (r)
        conv_add(t, c, 0, 5, "not sent: %s", ymsg_strerror(r));
    else
        conv_add(t, c, 0, 2, "%s: %s", t->user, line);
}

static void key(struct tui *t, int k, wint_t ch)
{
    if (k == KEY_CODE_YES) {
        switch (ch) {
        case KEY_LEFT: if (t->icur) t->icur--; break;
        case KEY_RIGHT: if (t->icur < t->ilen) t->icur++; break;
        case KEY_HOME: t->icur = 0; break;
        case KEY_END: t->icur = t->ilen; break;
        case KEY_BACKSPACE:
            if (t->icur) {
                wmemmove(t->input + t->icur - 1, t->input + t->icur, (size_t)(t->ilen - t->icur));
                t->icur--; t->ilen--;
            }
            break;
        case KEY_DC:
            if (t->icur < t->ilen) {
                wmemmove(t->input + t->icur, t->input + t->icur + 1, (size_t)(t->ilen - t->icur - 1));
                t->ilen--;
            }
            break;
        case KEY_UP: if (t->sel > 0) t->sel--; break;
        case KEY_DOWN:
            if (t->connected && (size_t)(t->sel + 1) < ymsg_session_buddy_count(t->d.s)) t->sel++;
            break;
        case KEY_ENTER: submit(t); break;
        case KEY_F(2): status_menu(t); break;
        case KEY_F(3): add_dialog(t); break;
        case KEY_F(4): close_tab(t); break;
        case KEY_F(5): auth_dialog(t); break;
        case KEY_F(10): t->quit = 1; break;
        case KEY_RESIZE: layout(t); break;
        default: break;
        }
        return;
    }
    switch (ch) {
    case '\n': case '\r': submit(t); return;
    case 14: case '\t': switch_tab(t, t->cur + 1); return;   /* Ctrl-N */
    case 16: switch_tab(t, t->cur - 1); return;              /* Ctrl-P */
    case 23: close_tab(t); return;                           /* Ctrl-W */
    case 127: case 8: key(t, KEY_CODE_YES, KEY_BACKSPACE); return;
    case 21: t->ilen = t->icur = 0; typing_stop(t); return;  /* Ctrl-U */
    default: break;
    }
    if (ch < 0x20 || t->ilen >= INPUT_MAX)
        return;
    wmemmove(t->input + t->icur + 1, t->input + t->icur, (size_t)(t->ilen - t->icur));
    t->input[t->icur++] = (wchar_t)ch;
    t->ilen++;
    if (t->cur > 0 && t->connected && !t->typing_sent && t->input[0] != L'/') {
        snprintf(t->typing_to, sizeof t->typing_to, "%s", t->convs[t->cur].who);
        if (ymsg_session_typing(t->d.s, t->typing_to, 1) == 0)
            t->typing_sent = 1;
    }
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
    t->sel = 0;
    t->status = o->invisible ? YMSG_STATUS_INVISIBLE : YMSG_STATUS_AVAILABLE;
    initscr();
    raw();
    noecho();
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_CYAN, -1);    /* their messages */
        init_pair(2, COLOR_GREEN, -1);   /* ours, online buddies */
        init_pair(3, COLOR_YELLOW, -1);  /* system */
        init_pair(4, COLOR_MAGENTA, -1); /* away buddies */
        init_pair(5, COLOR_RED, -1);     /* buzz, errors */
    }
    layout(t);
    redraw(t);
    int rc = do_connect(t);
    if (rc == EXIT_NETWORK)
        schedule_reconnect(t);
    while (!t->quit) {
        if (resized) {
            resized = 0;
            endwin();
            refresh();
            layout(t);
        }
        int ready = 0;
        if (t->connected) {
            if (drv_step(&t->d, STDIN_FILENO, 500, &ready) != 0 || ymsg_session_state(t->d.s) == YMSG_SS_CLOSED) {
                const struct ymsg_event *ev;
                while ((ev = drv_next_event(&t->d)))
                    handle_event(t, ev);
                drv_close(&t->d);
                t->connected = 0;
                schedule_reconnect(t);
            }
        } else {
            struct timeval tv = {0, 500000};
            fd_set fds;
            FD_ZERO(&fds);
            FD_SET(STDIN_FILENO, &fds);
            ready = select(STDIN_FILENO + 1, &fds, NULL, NULL, &tv) > 0;
            if (t->reconnect_at && now_ms() >= t->reconnect_at) {
                t->reconnect_at = 0;
                if (do_connect(t) == EXIT_NETWORK)
                    schedule_reconnect(t);
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
            while ((k = wget_wch(t->winput, &ch)) != ERR && !t->quit)
                key(t, k, ch);
        }
        redraw(t);
    }
    endwin();
    if (t->connected) {
        typing_stop(t);
        ymsg_session_logoff(t->d.s);
        drv_close(&t->d);
    }
    for (int i = 0; i < t->nconv; i++) {
        for (size_t j = 0; j < t->convs[i].n; j++)
            free(t->convs[i].lines[(t->convs[i].first + j) % MAX_LINES].text);
        free(t->convs[i].lines);
    }
    memset(t->pass, 0, sizeof t->pass);
    free(t);
    return EXIT_OKAY;
}
