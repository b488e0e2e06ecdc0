/* The TUI's keyboard: the input line (UTF-8 editing), buddy-pane selection, scrollback keys and the
 * mouse wheel, bracketed paste (a multi-line paste is one message, after a confirmation), Ctrl-C (asks
 * to quit), Ctrl-Z (suspends), and the modal dialogs: menus, prompts (a password prompt does not echo). */
#include "tui.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_PASTE_BEGIN (KEY_MAX + 1) /* defined in cmd_tui with define_key */
#define KEY_PASTE_END   (KEY_MAX + 2)

/* A small modal list; returns the chosen index or -1. */
int tui_menu(struct tui *t, const char *title, const char *const *items, int n)
{
    int w = (int)strlen(title) + 6 > 40 ? (int)strlen(title) + 6 : 40, sel = 0, h = n + 2;
    if (w > COLS) w = COLS;
    if (h > LINES) h = LINES;
    WINDOW *m = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
    if (!m)
        return -1;
    keypad(m, TRUE);
    for (;;) {
        werase(m);
        wborder(m, '|', '|', '-', '-', '+', '+', '+', '+');
        mvwprintw(m, 0, 2, " %.*s ", w - 6, title);
        for (int i = 0; i < n && i + 1 < h - 1 + 1; i++) {
            if (i == sel)
                wattron(m, A_REVERSE);
            mvwprintw(m, i + 1, 2, "%-*.*s", w - 4, w - 4, items[i]);
            wattroff(m, A_REVERSE);
        }
        wrefresh(m);
        int ch = wgetch(m);
        if (ch == KEY_UP || ch == 'k') sel = (sel + n - 1) % n;
        else if (ch == KEY_DOWN || ch == 'j') sel = (sel + 1) % n;
        else if (ch == '\n' || ch == KEY_ENTER || ch == '\r') break;
        else if (ch == 27 || ch == 'q' || ch == 3) { sel = -1; break; }
    }
    delwin(m);
    touchwin(stdscr);
    clearok(curscr, TRUE);
    tui_redraw(t);
    return sel;
}

/* A one-line text prompt; returns 0 with UTF-8 in out, or -1 if cancelled.  secret: show nothing typed. */
int tui_prompt(struct tui *t, const char *title, char *out, size_t cap, int secret)
{
    int w = COLS - 4 < 76 ? COLS - 4 : 76;
    if (w < 20) w = COLS;
    WINDOW *m = newwin(3, w, LINES / 2 - 1, (COLS - w) / 2);
    if (!m)
        return -1;
    keypad(m, TRUE);
    wchar_t buf[256];
    int n = 0, r = -1;
    for (;;) {
        werase(m);
        wborder(m, '|', '|', '-', '-', '+', '+', '+', '+');
        mvwprintw(m, 0, 2, " %.*s ", w - 6, title);
        if (secret) {
            mvwprintw(m, 1, 2, "(typing is not shown)");
            wmove(m, 1, 2);
        } else {
            int off = 0;
            while (off < n && tui_wwidth(buf + off, n - off) > w - 5)
                off++;
            mvwaddnwstr(m, 1, 2, buf + off, n - off);
        }
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
        if (k == OK && (ch == 27 || ch == 3))
            break;
        if ((k == KEY_CODE_YES && ch == KEY_BACKSPACE) || (k == OK && (ch == 127 || ch == 8))) {
            if (n)
                n--;
        } else if (k == OK && ch >= 0x20 && n < 255) {
            buf[n++] = (wchar_t)ch;
        }
    }
    wmemset(buf, 0, 256);
    delwin(m);
    touchwin(stdscr);
    clearok(curscr, TRUE);
    tui_redraw(t);
    return r;
}

int tui_confirm(struct tui *t, const char *question)
{
    static const char *const items[] = {"Yes", "No"};
    return tui_menu(t, question, items, 2) == 0;
}

void tui_status_menu(struct tui *t)
{
    static const char *const items[] = {"Available", "Be right back", "Busy", "Not at my desk", "On the phone",
                                        "Out to lunch", "Idle", "Custom message...", "Invisible"};
    static const uint32_t codes[] = {0, 1, 2, 4, 6, 8, 999, 99, 12};
    int i = tui_menu(t, "Status", items, 9);
    if (i < 0)
        return;
    if (!t->connected) {
        SYS(t, "not connected");
        return;
    }
    char msg[256] = "";
    if (codes[i] == 99 && tui_prompt(t, "Status message", msg, sizeof msg, 0) != 0)
        return;
    int r = ymsg_session_set_status(t->d.s, codes[i], msg, 0);
    if (!r)
        tui_remember_status(t, codes[i], msg, 0);
    SYS(t, r ? "status: %s" : "status set to %s", r ? ymsg_strerror(r) : items[i]);
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

/* After accepting someone who is not on our list: offer to add them back, as Pidgin does. */
static void offer_add_back(struct tui *t, const char *who)
{
    if (!t->connected || ymsg_session_find_buddy(t->d.s, who))
        return;
    char q[YMSG_ID_MAX + 32];
    snprintf(q, sizeof q, "Add %.60s to your list too?", who);
    if (!tui_confirm(t, q))
        return;
    int r = ymsg_session_add_buddy(t->d.s, who, "Friends", "");
    SYS(t, r ? "add %s: %s" : "asked %s for authorisation%s", who, r ? ymsg_strerror(r) : "");
}

void tui_answer_request(struct tui *t, const char *who, int accept, const char *msg)
{
    int r = t->connected ? ymsg_session_auth_reply(t->d.s, who, accept, msg) : YMSG_ESTATE;
    if (r) {
        SYS(t, "answer to %s: %s", who, ymsg_strerror(r));
        return;
    }
    remove_pending(t, who);
    SYS(t, "%s %s", accept ? "accepted" : "declined", who);
    if (accept)
        offer_add_back(t, who);
}

/* F5: answer the oldest authorisation request. */
void tui_auth_dialog(struct tui *t)
{
    if (!t->npending) {
        SYS(t, "no authorisation request waiting");
        return;
    }
    char who[YMSG_ID_MAX], title[YMSG_ID_MAX + 32];
    snprintf(who, sizeof who, "%s", t->pending[0]);
    snprintf(title, sizeof title, "%.60s wants to add you", who);
    static const char *const items[] = {"Accept", "Decline", "Later"};
    int i = tui_menu(t, title, items, 3);
    if (i < 0 || i == 2)
        return;
    tui_answer_request(t, who, i == 0, "");
}

void tui_add_dialog(struct tui *t)
{
    char who[YMSG_ID_MAX], group[YMSG_GROUP_MAX];
    if (tui_prompt(t, "Add buddy: Yahoo ID", who, sizeof who, 0) != 0)
        return;
    if (tui_prompt(t, "Group", group, sizeof group, 0) != 0)
        snprintf(group, sizeof group, "Friends");
    int r = t->connected ? ymsg_session_add_buddy(t->d.s, who, group, "") : YMSG_ESTATE;
    SYS(t, r ? "add %s: %s" : "asked %s for authorisation%s", who, r ? ymsg_strerror(r) : "");
}

void tui_suspend(struct tui *t)
{
    putp("\033[?2004l");
    endwin();
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP); /* stops here until fg */
    putp("\033[?2004h");
    refresh();
    clearok(curscr, TRUE);
    tui_layout(t);
}

static void submit(struct tui *t)
{
    char line[INPUT_MAX * 4 + 1];
    t->input[t->ilen] = 0;
    size_t n = wcstombs(line, t->input, sizeof line);
    t->ilen = t->icur = 0;
    if (n == (size_t)-1 || n == 0) {
        if (n == 0)
            tui_list_activate(t);
        return;
    }
    tui_typing_stop(t);
    if (line[0] == '/' && line[1] != '/') {
        tui_command(t, line);
        return;
    }
    if (t->cur == 0) {
        SYS(t, "this is the status tab: select a buddy and press Enter, or /msg USER TEXT (F1: help)");
        return;
    }
    struct conv *c = &t->convs[t->cur];
    c->scroll = 0;
    tui_send_text(t, c, line[0] == '/' ? line + 1 : line); /* "//x" sends "/x" */
}

static void insert_char(struct tui *t, wchar_t ch)
{
    if (t->ilen >= INPUT_MAX)
        return;
    wmemmove(t->input + t->icur + 1, t->input + t->icur, (size_t)(t->ilen - t->icur));
    t->input[t->icur++] = ch;
    t->ilen++;
}

/* The end of a bracketed paste: one line goes into the input; several lines are one message. */
static void paste_done(struct tui *t)
{
    t->in_paste = 0;
    t->paste[t->paste_len] = 0;
    while (t->paste_len && (t->paste[t->paste_len - 1] == '\n' || t->paste[t->paste_len - 1] == '\r'))
        t->paste[--t->paste_len] = 0;
    for (char *p = t->paste; *p; p++)
        if (*p == '\r')
            *p = '\n';
    int lines = 1;
    for (const char *p = t->paste; *p; p++)
        lines += *p == '\n';
    if (lines == 1) {
        wchar_t w[PASTE_MAX];
        size_t n = mbstowcs(w, t->paste, PASTE_MAX);
        for (size_t i = 0; n != (size_t)-1 && i < n; i++)
            if (w[i] >= 0x20)
                insert_char(t, w[i]);
        t->paste_len = 0;
        return;
    }
    if (t->cur == 0) {
        SYS(t, "a %d-line paste needs a conversation tab; it was not sent", lines);
    } else {
        char q[96];
        snprintf(q, sizeof q, "Send this %d-line paste as one message?", lines);
        if (tui_confirm(t, q))
            tui_send_text(t, &t->convs[t->cur], t->paste);
        else
            SYS(t, "paste discarded");
    }
    t->paste_len = 0;
}

static void key_code(struct tui *t, wint_t ch)
{
    int page = getmaxy(t->wconv) - 2;
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
    case KEY_UP: tui_list_move(t, -1); break;
    case KEY_DOWN: tui_list_move(t, 1); break;
    case KEY_PPAGE: tui_scroll(t, page > 1 ? page : 1); break;
    case KEY_NPAGE: tui_scroll(t, -(page > 1 ? page : 1)); break;
    case KEY_SR: tui_scroll(t, 1); break;   /* Shift-Up */
    case KEY_SF: tui_scroll(t, -1); break;  /* Shift-Down */
    case KEY_MOUSE: {
        MEVENT me;
        if (getmouse(&me) == OK) {
            if (me.bstate & BUTTON4_PRESSED) tui_scroll(t, 3);
            else if (me.bstate & BUTTON5_PRESSED) tui_scroll(t, -3);
        }
        break;
    }
    case KEY_ENTER: submit(t); break;
    case KEY_F(1): tui_help_screen(t); break;
    case KEY_F(2): tui_status_menu(t); break;
    case KEY_F(3): tui_add_dialog(t); break;
    case KEY_F(4): tui_close_tab(t); break;
    case KEY_F(5): tui_auth_dialog(t); break;
    case KEY_F(6): t->hide_offline = !t->hide_offline; break;
    case KEY_F(7): tui_file_dialog(t); break;
    case KEY_F(10): t->quit = 1; break;
    case KEY_RESIZE: tui_layout(t); break;
    case KEY_PASTE_BEGIN: t->in_paste = 1; t->paste_len = 0; break;
    case KEY_PASTE_END: if (t->in_paste) paste_done(t); break;
    default: break;
    }
}

void tui_key(struct tui *t, int k, wint_t ch)
{
    if (t->in_paste && !(k == KEY_CODE_YES && ch == KEY_PASTE_END)) { /* collect, do not act on the keys */
        char mb[8];
        int n = k == OK ? wctomb(mb, (wchar_t)ch) : -1;
        if (n > 0 && t->paste_len + (size_t)n < PASTE_MAX) {
            memcpy(t->paste + t->paste_len, mb, (size_t)n);
            t->paste_len += (size_t)n;
        }
        return;
    }
    if (k == KEY_CODE_YES) {
        key_code(t, ch);
        return;
    }
    switch (ch) {
    case '\n': case '\r': submit(t); return;
    case 14: case '\t': tui_switch_tab(t, t->cur + 1); return;   /* Ctrl-N */
    case 16: tui_switch_tab(t, t->cur - 1); return;              /* Ctrl-P */
    case 23: tui_close_tab(t); return;                           /* Ctrl-W */
    case 127: case 8: key_code(t, KEY_BACKSPACE); return;
    case 21: t->ilen = t->icur = 0; tui_typing_stop(t); return;  /* Ctrl-U */
    case 3: if (tui_confirm(t, "Quit ymsg?")) t->quit = 1; return; /* Ctrl-C */
    case 26: tui_suspend(t); return;                              /* Ctrl-Z */
    case 18: {                                                   /* Ctrl-R: search this conversation */
        char q[256];
        if (tui_prompt(t, "Search this conversation's history", q, sizeof q, 0) == 0)
            tui_search(t, q);
        return;
    }
    default: break;
    }
    if (ch < 0x20)
        return;
    insert_char(t, (wchar_t)ch);
    if (t->cur > 0 && t->convs[t->cur].kind == CONV_IM && t->connected && !t->typing_sent && t->input[0] != L'/') {
        snprintf(t->typing_to, sizeof t->typing_to, "%s", t->convs[t->cur].who);
        if (ymsg_session_typing(t->d.s, t->typing_to, 1) == 0)
            t->typing_sent = 1;
    }
}
