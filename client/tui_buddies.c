/* The buddy pane: groups (Enter folds / unfolds one), buddies with a presence mark, the status text
 * dimmed after the id and cut at the pane's edge by display width, offline buddies optionally hidden,
 * and a window that follows the selection through lists longer than the screen. */
#include "tui.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char mark(const struct ymsg_buddy *b)
{
    if (b->pending) return '?';
    if (!b->online) return ' ';
    if (b->status == 0) return '*';
    if (b->status == YMSG_STATUS_IDLE || b->away == 2) return 'z';
    return b->status == YMSG_STATUS_CUSTOM && !b->away ? '*' : '-';
}

static int is_collapsed(const struct tui *t, const char *group)
{
    for (int i = 0; i < t->ncollapsed; i++)
        if (strcmp(t->collapsed[i], group) == 0)
            return 1;
    return 0;
}

static void toggle_group(struct tui *t, const char *group)
{
    for (int i = 0; i < t->ncollapsed; i++)
        if (strcmp(t->collapsed[i], group) == 0) {
            memmove(t->collapsed[i], t->collapsed[i + 1], (size_t)(t->ncollapsed - i - 1) * YMSG_GROUP_MAX);
            t->ncollapsed--;
            return;
        }
    if (t->ncollapsed < MAX_COLLAPSED)
        snprintf(t->collapsed[t->ncollapsed++], YMSG_GROUP_MAX, "%s", group);
}

static int add_row(struct tui *t, int group, size_t idx)
{
    if (t->nrows == t->rows_cap) {
        int cap = t->rows_cap ? t->rows_cap * 2 : 64;
        struct brow *r = realloc(t->rows, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        t->rows = r;
        t->rows_cap = cap;
    }
    t->rows[t->nrows++] = (struct brow){group, idx};
    return 0;
}

/* The pane's rows in order: each group, then (unless folded) its buddies. */
static void build_rows(struct tui *t)
{
    t->nrows = 0;
    struct ymsg_session *s = t->connected ? t->d.s : NULL;
    if (!s)
        return;
    size_t nb = ymsg_session_buddy_count(s);
    for (size_t g = 0; g < ymsg_session_group_count(s); g++) {
        const char *group = ymsg_session_group(s, g);
        if (add_row(t, 1, g) != 0)
            return;
        if (is_collapsed(t, group))
            continue;
        for (size_t i = 0; i < nb; i++) {
            const struct ymsg_buddy *b = ymsg_session_buddy(s, i);
            if (strcmp(b->group, group) != 0 || (t->hide_offline && !b->online && !b->pending))
                continue;
            if (add_row(t, 0, i) != 0)
                return;
        }
    }
}

/* Writes UTF-8 text at most `cols` display columns wide. */
static void put_cols(WINDOW *w, const char *s, int cols)
{
    if (cols <= 0)
        return;
    size_t len = strlen(s);
    wchar_t *wt = malloc((len + 1) * sizeof *wt);
    if (!wt)
        return;
    size_t n = mbstowcs(wt, s, len + 1);
    if (n == (size_t)-1) {
        free(wt);
        waddnstr(w, s, cols);
        return;
    }
    int used = 0, k = 0;
    while (k < (int)n) {
        int cw = wcwidth(wt[k]);
        cw = cw > 0 ? cw : 0;
        if (used + cw > cols)
            break;
        used += cw;
        k++;
    }
    waddnwstr(w, wt, k);
    free(wt);
}

void tui_draw_list(struct tui *t)
{
    WINDOW *w = t->wlist;
    werase(w);
    int h, wd;
    getmaxyx(w, h, wd);
    int text_w = wd - 1; /* the last column is the separator */
    struct ymsg_session *s = t->d.s;
    if (tui_draw_members(t))
        return; /* a conference or room tab: its members instead of the buddies */
    build_rows(t);
    if (!s || !t->connected) {
        mvwaddstr(w, 0, 0, t->reconnect_at ? "(reconnecting)" : "(offline)");
    } else {
        if (t->sel >= t->nrows)
            t->sel = t->nrows - 1;
        if (t->sel < 0)
            t->sel = 0;
        int rows = h - 1; /* last row: ignored count / position */
        if (t->sel < t->list_top)
            t->list_top = t->sel;
        if (t->sel >= t->list_top + rows)
            t->list_top = t->sel - rows + 1;
        if (t->list_top > t->nrows - rows)
            t->list_top = t->nrows - rows > 0 ? t->nrows - rows : 0;
        for (int r = t->list_top, y = 0; r < t->nrows && y < rows; r++, y++) {
            const struct brow *row = &t->rows[r];
            wmove(w, y, 0);
            if (r == t->sel)
                wattron(w, A_REVERSE);
            if (row->group) {
                const char *g = ymsg_session_group(s, row->idx);
                char head[YMSG_GROUP_MAX + 8];
                snprintf(head, sizeof head, "%s %s", is_collapsed(t, g) ? "[+]" : "[-]", g);
                wattron(w, A_BOLD);
                put_cols(w, head, text_w);
                wattroff(w, A_BOLD);
            } else {
                const struct ymsg_buddy *b = ymsg_session_buddy(s, row->idx);
                if (b->online)
                    wattron(w, COLOR_PAIR(b->status == 0 ? C_OURS : C_AWAY));
                char name[YMSG_ID_MAX + 8];
                snprintf(name, sizeof name, " %c %s", mark(b), b->id);
                put_cols(w, name, text_w);
                wattroff(w, COLOR_PAIR(C_OURS) | COLOR_PAIR(C_AWAY));
                const char *st = b->msg[0] ? b->msg : b->online && b->status ? status_text(b->status) : "";
                int used = tui_width(name);
                if (st[0] && used + 3 < text_w) {
                    wattron(w, A_DIM);
                    waddstr(w, " - ");
                    put_cols(w, st, text_w - used - 3);
                    wattroff(w, A_DIM);
                }
            }
            int cy, cx;
            getyx(w, cy, cx);
            (void)cy;
            for (int x = cx; x < text_w; x++) /* the selection bar spans the pane */
                waddch(w, ' ');
            wattroff(w, A_REVERSE);
        }
        char foot[64] = "";
        if (t->nrows > rows)
            snprintf(foot, sizeof foot, "(%d/%d)", t->sel + 1, t->nrows);
        if (ymsg_session_ignored_count(s))
            snprintf(foot + strlen(foot), sizeof foot - strlen(foot), "%s(%zu ignored)", foot[0] ? " " : "",
                     ymsg_session_ignored_count(s));
        if (t->hide_offline)
            snprintf(foot + strlen(foot), sizeof foot - strlen(foot), "%s(offline hidden)", foot[0] ? " " : "");
        mvwaddnstr(w, h - 1, 0, foot, text_w);
    }
    for (int i = 0; i < h; i++)
        mvwaddch(w, i, wd - 1, '|'); /* ASCII: ACS glyphs come out as letters in some terminals */
    wnoutrefresh(w);
}

void tui_list_move(struct tui *t, int delta)
{
    build_rows(t);
    t->sel += delta;
    if (t->sel >= t->nrows)
        t->sel = t->nrows - 1;
    if (t->sel < 0)
        t->sel = 0;
}

void tui_list_activate(struct tui *t)
{
    build_rows(t);
    if (!t->connected || t->sel < 0 || t->sel >= t->nrows)
        return;
    const struct brow *row = &t->rows[t->sel];
    if (row->group) {
        toggle_group(t, ymsg_session_group(t->d.s, row->idx));
        return;
    }
    struct conv *c = tui_conv_get(t, ymsg_session_buddy(t->d.s, row->idx)->id, 1);
    tui_switch_tab(t, (int)(c - t->convs));
}

void tui_list_free(struct tui *t)
{
    free(t->rows);
    t->rows = NULL;
    t->nrows = t->rows_cap = 0;
}
