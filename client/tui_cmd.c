/* The TUI's slash commands (each with a one-line usage and a longer help), /help, the F1 key screen and
 * /search over the current conversation's history on disk. */
#include "tui.h"
#include "history.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cmd {
    const char *name;             /* "/msg" */
    const char *usage;            /* one line */
    const char *help;             /* details for /help CMD */
};

static const struct cmd cmds[] = {
    {"/msg", "/msg USER [TEXT]", "Opens a tab with USER and sends TEXT if given."},
    {"/buzz", "/buzz [USER]", "Buzzes USER (default: the current tab's buddy)."},
    {"/status", "/status NAME [TEXT]",
     "Sets your status. NAME: available, brb, busy, away, phone, lunch, idle, invisible, custom TEXT. "
     "The status survives reconnects."},
    {"/away", "/away [MESSAGE]", "Marks you away with MESSAGE (default \"Away\"); /status available comes back."},
    {"/add", "/add USER [GROUP]", "Adds USER to GROUP (default Friends) and asks for authorisation."},
    {"/remove", "/remove USER", "Removes USER from your list."},
    {"/accept", "/accept USER", "Accepts USER's authorisation request (and offers to add USER back)."},
    {"/decline", "/decline USER [MESSAGE]", "Declines USER's authorisation request."},
    {"/ignore", "/ignore USER", "Ignores USER (the server drops their messages)."},
    {"/unignore", "/unignore USER", "Stops ignoring USER."},
    {"/move", "/move USER GROUP", "Moves USER to GROUP."},
    {"/rename", "/rename OLD NEW", "Renames the group OLD to NEW."},
    {"/invite", "/invite USER [USER...]",
     "In a conference or room tab: invites USER there. Elsewhere: starts a conference with this tab's buddy "
     "and USER."},
    {"/join", "/join NAME", "Joins conference NAME you were invited to, else enters chat room NAME (#NAME: "
     "always a room)."},
    {"/leave", "/leave [NAME]", "Leaves this (or NAME's) conference or room; for an invitation: declines it."},
    {"/me", "/me TEXT", "In a chat room: an emote (\"* you TEXT\"); elsewhere sends \"/me TEXT\"."},
    {"/rooms", "/rooms", "Lists your chat room, conferences, invitations and file transfers."},
    {"/send", "/send FILE [USER]", "Offers FILE to USER (default: this tab's buddy); a bar shows the progress."},
    {"/accept-file", "/accept-file [ID]", "Accepts a file offer (default: the oldest; also F7) into download_dir."},
    {"/decline-file", "/decline-file [ID]", "Declines a file offer (default: the oldest; also F7)."},
    {"/cancel-file", "/cancel-file ID", "Cancels a file transfer (IDs: /rooms)."},
    {"/search", "/search TEXT", "Lists this conversation's logged lines that contain TEXT (also Ctrl-R)."},
    {"/offline", "/offline", "Hides or shows offline buddies (also F6)."},
    {"/close", "/close", "Closes the current tab (also F4, Ctrl-W)."},
    {"/reconnect", "/reconnect", "Signs in again now (after a kick or a refused login)."},
    {"/help", "/help [COMMAND]", "Lists the commands, or explains one. F1 shows the keys."},
    {"/quit", "/quit", "Signs off and quits (also F10; Ctrl-C asks first)."},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static const char *const key_help[] = {
    "Enter          send; on an empty line open the selected buddy / fold a group",
    "Up / Down      select in the buddy list",
    "PgUp / PgDn    scroll the conversation a page (Shift-Up/Down: a line; mouse wheel)",
    "Tab, Ctrl-N/P  next / previous tab",
    "Ctrl-W, F4     close the tab",
    "Ctrl-R         search this conversation's history",
    "Ctrl-U         clear the input line",
    "Ctrl-C         quit (asks first)     Ctrl-Z  suspend (fg resumes)",
    "F1 this screen  F2 status  F3 add buddy  F5 authorisation  F6 offline buddies",
    "F7             answer a file offer (accept / decline)",
    "F10            quit",
    "A multi-line paste is sent as one message after a confirmation.",
    "//text sends a line that starts with '/'.",
};

static const struct cmd *find_cmd(const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "%s%s", name[0] == '/' ? "" : "/", name);
    for (size_t i = 0; i < NCMDS; i++)
        if (!strcasecmp(cmds[i].name, full))
            return &cmds[i];
    return NULL;
}

/* Conference, room and file commands: one line of the /help overview (tui_conf.c). */
static int is_group_cmd(const char *name)
{
    static const char *const g[] = {"/invite", "/join", "/leave", "/me", "/rooms", "/send", "/accept-file",
                                    "/decline-file", "/cancel-file"};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        if (!strcmp(name, g[i]))
            return 1;
    return 0;
}

static void usage(struct tui *t, const char *name)
{
    const struct cmd *c = find_cmd(name);
    SYS(t, "usage: %s", c ? c->usage : name);
}

static void help(struct tui *t, const char *what)
{
    struct conv *c = &t->convs[t->cur];
    if (what) {
        const struct cmd *k = find_cmd(what);
        if (!k) {
            tui_conv_add(t, c, 0, C_SYSTEM, 0, "no command %s; /help lists them", what);
            return;
        }
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "%s -- %s", k->usage, k->help);
        return;
    }
    tui_conv_add(t, c, 0, C_SYSTEM, 0, "commands (/help COMMAND for details, F1 for keys):");
    /* the conference / room / file commands by name on one line, so the list still fits a screen */
    char groups[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < NCMDS; i++)
        if (is_group_cmd(cmds[i].name) && off < sizeof groups)
            off += (size_t)snprintf(groups + off, sizeof groups - off, " %s", cmds[i].name);
    for (size_t i = 0; i < NCMDS; i++) {
        if (is_group_cmd(cmds[i].name))
            continue;
        tui_conv_add(t, c, 0, C_SYSTEM, 2, "  %-24s %s", cmds[i].usage, cmds[i].help);
        if (!strcmp(cmds[i].name, "/rename"))
            tui_conv_add(t, c, 0, C_SYSTEM, 2, "  conferences, rooms, files:%s", groups);
    }
}

void tui_help_screen(struct tui *t)
{
    int n = (int)(sizeof key_help / sizeof key_help[0]), w = COLS - 2 < 86 ? COLS - 2 : 86, h = n + 4;
    if (h > LINES) h = LINES;
    WINDOW *m = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
    if (!m)
        return;
    werase(m);
    wborder(m, '|', '|', '-', '-', '+', '+', '+', '+');
    mvwprintw(m, 0, 2, " Keys (any key closes) ");
    for (int i = 0; i < n && i + 1 < h - 2; i++)
        mvwaddnstr(m, i + 1, 2, key_help[i], w - 4);
    mvwaddnstr(m, h - 2, 2, "Commands: /help", w - 4);
    wrefresh(m);
    keypad(m, TRUE);
    int ch;
    do
        ch = wgetch(m);
    while (ch == ERR || ch == KEY_RESIZE);
    delwin(m);
    touchwin(stdscr);
    clearok(curscr, TRUE);
    tui_redraw(t);
}

struct search_ctx {
    struct tui *t;                /* where to print */
    struct conv *c;               /* the tab */
    int hits;                     /* found */
};

static int search_hit(void *ud, const struct hist_entry *e)
{
    struct search_ctx *s = ud;
    char ts[32];
    struct tm tm;
    localtime_r(&e->t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M", &tm);
    if (++s->hits <= 200)
        tui_conv_add(s->t, s->c, 0, C_SYSTEM, 0, "  [%s] %s: %s", ts, e->from, e->text);
    return 0;
}

void tui_search(struct tui *t, const char *needle)
{
    struct conv *c = &t->convs[t->cur];
    if (t->cur == 0) {
        SYS(t, "search works in a conversation tab: open one first");
        return;
    }
    if (!t->o->history) {
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "history is off (history = off in the config): nothing to search");
        return;
    }
    struct search_ctx s = {t, c, 0};
    tui_conv_add(t, c, 0, C_SYSTEM, 0, "search \"%s\" in the history with %s:", needle, c->who);
    if (history_search(t->o, t->user, c->who, needle, search_hit, &s) != 0)
        tui_conv_add(t, c, 0, C_ERROR, 0, "cannot read the history");
    tui_conv_add(t, c, 0, C_SYSTEM, 0, "%d match(es)%s", s.hits, s.hits > 200 ? " (first 200 shown)" : "");
    c->scroll = 0;
}

static const struct { const char *n; uint32_t c; } status_names[] = {
    {"available", 0}, {"brb", 1}, {"busy", 2}, {"away", 4}, {"phone", 6}, {"lunch", 8}, {"idle", 999},
    {"invisible", 12}, {"custom", 99}};

void tui_command(struct tui *t, char *line)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " ", &save);
    char *a1 = strtok_r(NULL, " ", &save);
    char *rest = save && *save ? save : NULL;
    int r = 0;
    if (!cmd)
        return;
    if (!strcmp(cmd, "/quit") || !strcmp(cmd, "/exit")) { t->quit = 1; return; }
    if (!strcmp(cmd, "/help")) { help(t, a1); return; }
    if (!strcmp(cmd, "/close")) { tui_close_tab(t); return; }
    if (!strcmp(cmd, "/offline")) { t->hide_offline = !t->hide_offline; return; }
    if (!strcmp(cmd, "/search")) {
        if (!a1) { usage(t, cmd); return; }
        char q[1024];
        snprintf(q, sizeof q, "%s%s%s", a1, rest ? " " : "", rest ? rest : "");
        tui_search(t, q);
        return;
    }
    if (!strcmp(cmd, "/reconnect")) {
        t->kicked = t->login_refused = 0;
        if (t->connected) { ymsg_session_logoff(t->d.s); drv_close(&t->d); t->connected = 0; }
        if (tui_connect(t) == EXIT_NETWORK)
            tui_schedule_reconnect(t);
        return;
    }
    const struct cmd *known = find_cmd(cmd);
    if (!known) {
        SYS(t, "unknown command %s; /help lists them", cmd);
        return;
    }
    struct ymsg_session *s = t->connected ? t->d.s : NULL;
    const char *cur = t->cur ? t->convs[t->cur].who : NULL;
    if (!strcmp(cmd, "/msg")) {
        if (!a1) { usage(t, cmd); return; }
        struct conv *c = tui_conv_get(t, a1, 1);
        tui_switch_tab(t, (int)(c - t->convs));
        if (rest)
            tui_send_text(t, c, rest);
        return;
    }
    if (!s) {
        tui_error(t, "not connected: %s waits for the connection (reconnecting by itself, or /reconnect)", cmd);
        return;
    }
    int g = tui_group_command(t, cmd, a1, rest);
    if (g < 0)
        usage(t, cmd);
    if (g)
        return;
    if (!strcmp(cmd, "/buzz")) {
        if (!a1 && !cur) { usage(t, cmd); return; }
        r = ymsg_session_buzz(s, a1 ? a1 : cur);
        if (!r)
            tui_conv_add(t, tui_conv_get(t, a1 ? a1 : cur, 1), 0, C_ERROR, 0, "you buzzed %s", a1 ? a1 : cur);
    } else if (!strcmp(cmd, "/status") || !strcmp(cmd, "/away")) {
        uint32_t code = 0;
        const char *msg = rest;
        int away = 0, found = 0;
        if (!strcmp(cmd, "/away")) {
            code = YMSG_STATUS_CUSTOM;
            away = 1;
            found = 1;
            static char m[YMSG_STATUS_MSG_MAX];
            snprintf(m, sizeof m, "%s%s%s", a1 ? a1 : "Away", a1 && rest ? " " : "", a1 && rest ? rest : "");
            msg = m;
        } else {
            for (size_t i = 0; a1 && i < sizeof status_names / sizeof status_names[0]; i++)
                if (!strcasecmp(a1, status_names[i].n)) {
                    code = status_names[i].c;
                    found = 1;
                }
            if (!found || (code == YMSG_STATUS_CUSTOM && !rest)) {
                usage(t, cmd);
                SYS(t, "status names: available brb busy away phone lunch idle invisible custom TEXT");
                return;
            }
        }
        r = ymsg_session_set_status(s, code, msg, away);
        if (!r) {
            tui_remember_status(t, code, msg, away);
            SYS(t, "status: %s%s%s", a1 ? a1 : "away", msg && code == YMSG_STATUS_CUSTOM ? " - " : "",
                msg && code == YMSG_STATUS_CUSTOM ? msg : "");
        }
    } else if (!strcmp(cmd, "/add")) {
        if (!a1) { usage(t, cmd); return; }
        r = ymsg_session_add_buddy(s, a1, rest ? rest : "Friends", "");
    } else if (!strcmp(cmd, "/remove")) {
        if (!a1) { usage(t, cmd); return; }
        r = ymsg_session_remove_buddy(s, a1, NULL);
    } else if (!strcmp(cmd, "/accept") || !strcmp(cmd, "/decline")) {
        if (!a1) { usage(t, cmd); return; }
        tui_answer_request(t, a1, !strcmp(cmd, "/accept"), rest);
        return;
    } else if (!strcmp(cmd, "/ignore") || !strcmp(cmd, "/unignore")) {
        if (!a1) { usage(t, cmd); return; }
        r = ymsg_session_ignore(s, a1, !strcmp(cmd, "/ignore"));
    } else if (!strcmp(cmd, "/move") || !strcmp(cmd, "/rename")) {
        if (!a1 || !rest) { usage(t, cmd); return; }
        r = !strcmp(cmd, "/move") ? ymsg_session_move_buddy(s, a1, NULL, rest) : ymsg_session_rename_group(s, a1, rest);
    }
    if (r == YMSG_EINVAL)
        usage(t, cmd);
    if (r)
        SYS(t, "%s: %s", cmd, ymsg_strerror(r));
}
