/* The TUI's panes: tabs, the conversation (word wrap by display width with a hanging indent, URLs kept
 * whole, scrollback, an unread marker, dates on lines from another day), the status line and the input
 * line (cursor placed by display width). */
#include "tui.h"

#include <stdlib.h>
#include <string.h>

int tui_wwidth(const wchar_t *s, int n)
{
    int w = 0;
    for (int i = 0; i < n && s[i]; i++) {
        int c = wcwidth(s[i]);
        w += c > 0 ? c : 0;
    }
    return w;
}

int tui_width(const char *s)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    int w = 0;
    size_t left = strlen(s);
    while (left) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, left, &st);
        if (k == (size_t)-1 || k == (size_t)-2) { /* invalid: one column per byte, like the terminal's '?' */
            memset(&st, 0, sizeof st);
            k = 1;
            wc = L'?';
        }
        if (k == 0)
            break;
        int c = wcwidth(wc);
        w += c > 0 ? c : 0;
        s += k;
        left -= k;
    }
    return w;
}

void tui_layout(struct tui *t)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    if (t->wlist) {
        delwin(t->wlist); delwin(t->wtabs); delwin(t->wconv); delwin(t->wstatus); delwin(t->winput);
    }
    if (h < 6) h = 6;
    if (w < 20) w = 20;
    int lw = w > LIST_W + 20 ? LIST_W : w / 3;
    t->wlist = newwin(h - 2, lw, 0, 0);
    t->wtabs = newwin(1, w - lw, 0, lw);
    t->wconv = newwin(h - 4, w - lw, 1, lw);
    t->wstatus = newwin(1, w, h - 2, 0);
    t->winput = newwin(1, w, h - 1, 0);
    keypad(t->winput, TRUE);
    nodelay(t->winput, TRUE);
    clearok(curscr, TRUE); /* no stale rows after a resize */
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
        const char *pre = c->kind == CONV_CONF ? "&" : c->kind == CONV_ROOM ? "#" : "";
        if (c->unread)
            wprintw(w, "[%d:%s%s(%d)]", i, pre, i ? c->who : "status", c->unread);
        else
            wprintw(w, "[%d:%s%s]", i, pre, i ? c->who : "status");
        wattroff(w, A_REVERSE | A_BLINK | A_BOLD);
        waddch(w, ' ');
    }
    wnoutrefresh(w);
}

/* One screen row of a conversation. */
struct row {
    const struct line *l;         /* its line (NULL: the unread marker) */
    int start, end;               /* wide characters [start, end) of the line's text */
    int x;                        /* column where the text starts */
    int first;                    /* the line's first row (draws the time) */
};

struct rows {
    struct row *r;                /* rows, top to bottom */
    int n, cap;                   /* used / allocated */
};

static int push_row(struct rows *rs, struct row r)
{
    if (rs->n == rs->cap) {
        int cap = rs->cap ? rs->cap * 2 : 256;
        struct row *nr = realloc(rs->r, (size_t)cap * sizeof *nr);
        if (!nr)
            return -1;
        rs->r = nr;
        rs->cap = cap;
    }
    rs->r[rs->n++] = r;
    return 0;
}

static void stamp(const struct line *l, char *ts, size_t cap)
{
    struct tm tm, today;
    time_t now = time(NULL);
    localtime_r(&l->t, &tm);
    localtime_r(&now, &today);
    if (tm.tm_year != today.tm_year || tm.tm_yday != today.tm_yday)
        strftime(ts, cap, "%Y-%m-%d %H:%M ", &tm);
    else
        strftime(ts, cap, "%H:%M ", &tm);
}

static int is_url_at(const wchar_t *w, int i, int n)
{
    static const wchar_t *const schemes[] = {L"http://", L"https://", L"ftp://", L"www."};
    for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
        size_t len = wcslen(schemes[k]);
        if ((size_t)(n - i) >= len && wcsncmp(w + i, schemes[k], len) == 0)
            return 1;
    }
    return 0;
}

/* Splits one line into rows of at most `width` columns: breaks after spaces, a hanging indent for the
 * continuation rows, a URL never broken (it moves to a row of its own and may run past the edge). */
static int wrap_line(struct rows *rs, const struct line *l, const wchar_t *w, int n, int width)
{
    char ts[32];
    stamp(l, ts, sizeof ts);
    int tsw = (int)strlen(ts), hang = tsw + l->indent;
    if (width - hang < 10)
        hang = tsw < width - 10 ? tsw : 0;
    int i = 0, first = 1;
    if (n == 0)
        return push_row(rs, (struct row){l, 0, 0, tsw, 1});
    while (i < n) {
        int x = first ? tsw : hang, cap = width - x, used = 0, j = i, brk = -1;
        while (j < n) {
            if (w[j] == L' ')
                brk = j + 1;
            int cw = wcwidth(w[j]);
            cw = cw > 0 ? cw : 0;
            if (used + cw > cap)
                break;
            if ((j == i || w[j - 1] == L' ') && is_url_at(w, j, n)) { /* the whole URL fits here, or moves on */
                int e = j, uw = 0;
                while (e < n && w[e] != L' ')
                    uw += wcwidth(w[e]) > 0 ? wcwidth(w[e]) : 0, e++;
                if (used + uw > cap) {
                    if (j > i) { brk = j; break; }
                    j = e; /* alone on its row: kept whole */
                    used += uw;
                    brk = -1;
                    break;
                }
            }
            used += cw;
            j++;
        }
        int end = j >= n ? n : brk > i ? brk : j > i ? j : i + 1;
        if (push_row(rs, (struct row){l, i, end, x, first}) != 0)
            return -1;
        /* a URL longer than the row runs on into the rows below: keep them free */
        for (int extra = (x + used - 1) / (width > 0 ? width : 1); extra > 0; extra--)
            if (push_row(rs, (struct row){l, end, end, 0, 0}) != 0)
                return -1;
        first = 0;
        i = end;
    }
    return 0;
}

static wchar_t *wide_text(const struct line *l)
{
    size_t len = strlen(l->text);
    wchar_t *wt = malloc((len + 1) * sizeof *wt);
    if (wt && mbstowcs(wt, l->text, len + 1) == (size_t)-1) /* not UTF-8: ASCII, '?' for the rest */
        for (size_t k = 0; k <= len; k++)
            wt[k] = k < len ? ((unsigned char)l->text[k] < 0x80 ? (wchar_t)l->text[k] : L'?') : 0;
    return wt;
}

int tui_line_rows(struct tui *t, const struct line *l)
{
    wchar_t *wt = wide_text(l);
    if (!wt)
        return 1;
    struct rows one = {0};
    wrap_line(&one, l, wt, (int)wcslen(wt), getmaxx(t->wconv));
    free(wt);
    free(one.r);
    return one.n > 0 ? one.n : 1;
}

void tui_scroll(struct tui *t, int rows)
{
    struct conv *c = &t->convs[t->cur];
    c->scroll += rows;
    if (c->scroll < 0)
        c->scroll = 0; /* clamped at the top when drawn */
}

static void draw_row(WINDOW *w, int y, const struct row *r, const wchar_t *text, int width)
{
    if (!r->l) {
        wattron(w, COLOR_PAIR(C_ERROR));
        mvwhline(w, y, 0, '-', width);
        mvwaddstr(w, y, width > 20 ? width / 2 - 6 : 0, " new messages ");
        wattroff(w, COLOR_PAIR(C_ERROR));
        return;
    }
    wmove(w, y, 0);
    if (r->first) {
        char ts[32];
        stamp(r->l, ts, sizeof ts);
        wattron(w, A_DIM);
        waddstr(w, ts);
        wattroff(w, A_DIM);
    }
    wmove(w, y, r->x);
    wattron(w, COLOR_PAIR(r->l->attr));
    (void)width; /* an overlong URL runs on into the next row: it stays one unbroken word */
    waddnwstr(w, text + r->start, r->end - r->start);
    wattroff(w, COLOR_PAIR(r->l->attr));
}

static void draw_conv(struct tui *t)
{
    WINDOW *w = t->wconv;
    werase(w);
    int h, wd;
    getmaxyx(w, h, wd);
    struct conv *c = &t->convs[t->cur];
    int avail = h - 1; /* last row: typing indicator / scroll position */
    /* walk back from the newest line until the rows cover the window plus the scroll offset */
    struct rows all = {0};
    size_t start = c->n;
    int total = 0;
    unsigned long first_seq = c->seq - c->n;
    wchar_t **texts = calloc(c->n + 1, sizeof *texts);
    if (!texts)
        return;
    while (start > 0 && total < avail + c->scroll) {
        start--;
        const struct line *l = &c->lines[(c->first + start) % MAX_LINES];
        wchar_t *wt = wide_text(l);
        if (!wt)
            break;
        texts[start] = wt;
        struct rows one = {0};
        wrap_line(&one, l, wt, (int)wcslen(wt), wd);
        total += one.n + (first_seq + start == c->marker && c->marker < c->seq);
        free(one.r);
    }
    if (c->scroll > total - avail)
        c->scroll = total - avail > 0 ? total - avail : 0;
    for (size_t i = start; i < c->n; i++) {
        const struct line *l = &c->lines[(c->first + i) % MAX_LINES];
        if (first_seq + i == c->marker && c->marker < c->seq)
            push_row(&all, (struct row){NULL, 0, 0, 0, 0});
        if (texts[i])
            wrap_line(&all, l, texts[i], (int)wcslen(texts[i]), wd);
    }
    int bottom = all.n - c->scroll, top = bottom - avail;
    if (top < 0)
        top = 0;
    for (int r = top, y = 0; r < bottom; r++, y++) {
        const struct row *row = &all.r[r];
        size_t li = row->l ? (size_t)(((row->l - c->lines) - (long)c->first + MAX_LINES) % MAX_LINES) : 0;
        draw_row(w, y, row, row->l ? texts[li] : NULL, wd);
    }
    if (c->scroll > 0) {
        wattron(w, A_REVERSE);
        mvwprintw(w, h - 1, 0, "-- scrolled back %d rows: PgDn / Shift-Down / wheel to return --", c->scroll);
        wattroff(w, A_REVERSE);
    } else if (c->typing) {
        mvwprintw(w, h - 1, 0, "%s is typing...", c->who);
    }
    for (size_t i = 0; i <= c->n; i++)
        free(texts[i]);
    free(texts);
    free(all.r);
    wnoutrefresh(w);
}

static void draw_status(struct tui *t)
{
    WINDOW *w = t->wstatus;
    werase(w);
    wattron(w, A_REVERSE);
    int wd = getmaxx(w);
    char buf[1400];
    const char *state = t->connected ? status_text(ymsg_session_my_status(t->d.s))
                        : t->login_refused ? "login refused" : t->reconnect_at ? "reconnecting" : "offline";
    int n = snprintf(buf, sizeof buf, " %s [%s]  %s:%s  ", t->user, state, t->o->host, t->o->port);
    mvwaddnstr(w, 0, 0, buf, wd);
    if (t->error[0] && !t->connected) {
        wattron(w, COLOR_PAIR(C_ERROR) | A_BOLD);
        snprintf(buf, sizeof buf, "! %s", t->error);
    } else if (tui_xfer_status(t, buf, sizeof buf)) {
        /* a file moving (progress bar) or an offer waiting (F7) */
    } else {
        snprintf(buf, sizeof buf, "%sF1 help  F2 status  F3 add  ^N/^P tabs  PgUp/PgDn scroll  F10 quit",
                 t->npending ? "(authorisation request: F5)  " : "");
    }
    if (n < wd)
        waddnstr(w, buf, wd - n);
    int y, x;
    getyx(w, y, x);
    (void)y;
    for (int i = x; i < wd; i++)
        waddch(w, ' ');
    wattroff(w, A_REVERSE | COLOR_PAIR(C_ERROR) | A_BOLD);
    wnoutrefresh(w);
}

static void draw_input(struct tui *t)
{
    WINDOW *w = t->winput;
    werase(w);
    int wd = getmaxx(w), room = wd - 3;
    /* scroll horizontally by columns so that the cursor stays visible */
    int off = 0;
    while (off < t->icur && tui_wwidth(t->input + off, t->icur - off) > room)
        off++;
    mvwaddstr(w, 0, 0, "> ");
    int n = 0, cols = 0;
    while (off + n < t->ilen) {
        int cw = wcwidth(t->input[off + n]);
        cw = cw > 0 ? cw : 0;
        if (cols + cw > room)
            break;
        cols += cw;
        n++;
    }
    waddnwstr(w, t->input + off, n);
    wmove(w, 0, 2 + tui_wwidth(t->input + off, t->icur - off));
    wnoutrefresh(w);
}

void tui_redraw(struct tui *t)
{
    tui_draw_list(t);
    draw_tabs(t);
    draw_conv(t);
    draw_status(t);
    draw_input(t);
    doupdate();
}
