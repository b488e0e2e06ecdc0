/* The TUI's conferences, chat rooms and file transfers: a tab per conference ("&name") and for the chat
 * room ("#name") with the member list in the left pane, /invite /join /leave /rooms, /send FILE with
 * an accept/decline prompt on the receiving side (F7, /accept-file, /decline-file) and a progress bar
 * on the status line while a file moves. */
#include "tui.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------
 * member pane
 * ---------------------------------------------------------------------------------------------- */
int tui_draw_members(struct tui *t)
{
    struct conv *c = &t->convs[t->cur];
    if (c->kind == CONV_IM || !t->connected)
        return 0;
    WINDOW *w = t->wlist;
    werase(w);
    int h, wd;
    getmaxyx(w, h, wd);
    struct ymsg_session *s = t->d.s;
    const struct ymsg_conf *cf = c->kind == CONV_CONF ? ymsg_session_find_conf(s, c->who) : NULL;
    int in_room = c->kind == CONV_ROOM && strcasecmp(ymsg_session_room(s), c->who) == 0;
    size_t n = cf ? cf->nmembers : in_room ? ymsg_session_room_member_count(s) : 0;
    wattron(w, A_BOLD);
    mvwprintw(w, 0, 0, "%.*s", wd - 1, c->kind == CONV_CONF ? (cf && !cf->joined ? "Invited to" : "Conference")
                                                            : in_room ? "Room" : "Room (not in it)");
    wattroff(w, A_BOLD);
    mvwprintw(w, 1, 0, "%zu member%s", n, n == 1 ? "" : "s");
    int y = 2;
    for (size_t i = 0; i < n && y < h; i++, y++) {
        const char *m = cf ? cf->members[i] : ymsg_session_room_member(s, i);
        const struct ymsg_buddy *b = ymsg_session_find_buddy(s, m);
        if (strcasecmp(m, t->user) == 0)
            wattron(w, A_BOLD);
        else if (b && b->online)
            wattron(w, COLOR_PAIR(C_OURS));
        mvwprintw(w, y, 0, " %.*s", wd - 2, m);
        wattroff(w, A_BOLD | COLOR_PAIR(C_OURS));
    }
    for (int i = 0; i < h; i++)
        mvwaddch(w, i, wd - 1, '|');
    wnoutrefresh(w);
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * transfers
 * ---------------------------------------------------------------------------------------------- */
/* The oldest offer waiting for our answer. */
static const struct ymsg_xfer *pending_offer(struct tui *t)
{
    if (!t->connected)
        return NULL;
    for (size_t i = 0; i < ymsg_session_xfer_count(t->d.s); i++) {
        const struct ymsg_xfer *x = ymsg_session_xfer(t->d.s, i);
        if (!x->outgoing && x->state == YMSG_XF_OFFERED)
            return x;
    }
    return NULL;
}

int tui_xfer_status(struct tui *t, char *buf, size_t cap)
{
    if (!t->connected)
        return 0;
    for (size_t i = 0; i < ymsg_session_xfer_count(t->d.s); i++) {
        const struct ymsg_xfer *x = ymsg_session_xfer(t->d.s, i);
        if (x->state != YMSG_XF_MOVING)
            continue;
        int pct = x->size ? (int)(x->done * 100 / x->size) : 0;
        if (pct > 100)
            pct = 100;
        char bar[21];
        for (int k = 0; k < 20; k++)
            bar[k] = k < pct / 5 ? '#' : '.';
        bar[20] = 0;
        snprintf(buf, cap, "%s %s [%s] %3d%% %llu/%llu  ", x->outgoing ? "sending" : "receiving", x->name, bar, pct,
                 (unsigned long long)x->done, (unsigned long long)x->size);
        return 1;
    }
    const struct ymsg_xfer *o = pending_offer(t);
    if (o) {
        snprintf(buf, cap, "(file offer from %s: %s -- F7)  ", o->peer, o->name);
        return 1;
    }
    return 0;
}

static void answer_offer(struct tui *t, const char *id, int accept)
{
    struct ymsg_session *s = t->d.s;
    const struct ymsg_xfer *x = ymsg_session_find_xfer(s, id);
    if (!x || x->outgoing || x->state != YMSG_XF_OFFERED) {
        SYS(t, "no file offer %s waits for an answer", id);
        return;
    }
    struct conv *c = tui_conv_get(t, x->peer, 1);
    char peer[YMSG_ID_MAX], name[256];
    snprintf(peer, sizeof peer, "%s", x->peer);
    snprintf(name, sizeof name, "%s", x->name);
    if (!accept) {
        int r = ymsg_session_file_decline(s, id);
        tui_conv_add(t, c, 0, r ? C_ERROR : C_SYSTEM, 0, r ? "decline %s: %s" : "you declined %s%s", name,
                     r ? ymsg_strerror(r) : "");
        return;
    }
    char path[4200];
    uint64_t size = x->size;
    if (cx_download_path(t->o->download_dir, name, path, sizeof path) != 0 ||
        cx_register(&t->d, id, path, 0, size) != 0) {
        tui_conv_add(t, c, 0, C_ERROR, 0, "cannot save %s in %s", name, t->o->download_dir ? t->o->download_dir : ".");
        return;
    }
    int r = ymsg_session_file_accept(s, id);
    if (r)
        tui_conv_add(t, c, 0, C_ERROR, 0, "accept %s: %s", name, ymsg_strerror(r));
    else
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "receiving %s from %s into %s", name, peer, path);
}

void tui_file_dialog(struct tui *t)
{
    const struct ymsg_xfer *x = pending_offer(t);
    if (!x) {
        SYS(t, "no file offer waits for an answer");
        return;
    }
    char q[512], id[YMSG_XFER_ID_MAX];
    snprintf(id, sizeof id, "%s", x->id);
    snprintf(q, sizeof q, "Accept %s (%llu bytes) from %s?", x->name, (unsigned long long)x->size, x->peer);
    static const char *const items[] = {"Accept", "Decline", "Later"};
    int i = tui_menu(t, q, items, 3);
    if (i == 0 || i == 1)
        answer_offer(t, id, i == 0);
}

static void send_file(struct tui *t, const char *path, const char *to)
{
    struct conv *c = tui_conv_get(t, to, 1);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK) != 0) {
        tui_conv_add(t, c, 0, C_ERROR, 0, "/send: %s is not a readable file", path);
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char id[YMSG_XFER_ID_MAX];
    int r = ymsg_session_file_send(t->d.s, to, base, (uint64_t)st.st_size, id);
    if (r == 0 && cx_register(&t->d, id, path, 1, 0) != 0) {
        ymsg_session_file_cancel(t->d.s, id);
        r = YMSG_ENOSPC;
    }
    if (r)
        tui_conv_add(t, c, 0, C_ERROR, 0, "/send %s: %s", base, ymsg_strerror(r));
    else
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "offered %s (%lld bytes) to %s; waiting for an answer", base,
                     (long long)st.st_size, to);
}

/* ------------------------------------------------------------------------------------------------
 * commands
 * ---------------------------------------------------------------------------------------------- */
static void list_rooms(struct tui *t)
{
    struct ymsg_session *s = t->d.s;
    const char *room = ymsg_session_room(s);
    if (room[0])
        SYS(t, "chat room #%s: %zu members", room, ymsg_session_room_member_count(s));
    else
        SYS(t, "not in a chat room (/join ROOM)");
    for (size_t i = 0; i < ymsg_session_conf_count(s); i++) {
        const struct ymsg_conf *c = ymsg_session_conf(s, i);
        char members[1024] = "";
        size_t off = 0;
        for (size_t k = 0; k < c->nmembers && off + YMSG_ID_MAX + 2 < sizeof members; k++)
            off += (size_t)snprintf(members + off, sizeof members - off, "%s%s", k ? ", " : "", c->members[k]);
        if (c->joined)
            SYS(t, "conference &%s: %s", c->room, members);
        else
            SYS(t, "invitation to conference &%s from %s (%s): /join %s or /leave %s", c->room, c->inviter, members,
                c->room, c->room);
    }
    for (size_t i = 0; i < ymsg_session_xfer_count(s); i++) {
        const struct ymsg_xfer *x = ymsg_session_xfer(s, i);
        SYS(t, "file %s %s %s (%llu bytes): %s [%s]", x->name, x->outgoing ? "to" : "from", x->peer,
            (unsigned long long)x->size, x->state == YMSG_XF_OFFERED ? "offered" : x->state == YMSG_XF_ACCEPTED
                                                                                   ? "accepted" : "moving", x->id);
    }
}

void tui_group_leave(struct tui *t, struct conv *c)
{
    if (!t->connected || c->kind == CONV_IM)
        return;
    struct ymsg_session *s = t->d.s;
    if (c->kind == CONV_CONF) {
        const struct ymsg_conf *cf = ymsg_session_find_conf(s, c->who);
        if (cf)
            (void)(cf->joined ? ymsg_session_conf_leave(s, c->who) : ymsg_session_conf_decline(s, c->who, ""));
    } else if (!ymsg_session_room(s)[0] || strcasecmp(ymsg_session_room(s), c->who) == 0) {
        ymsg_session_room_leave(s);
    }
}

int tui_group_command(struct tui *t, const char *cmd, char *a1, char *rest)
{
    struct ymsg_session *s = t->d.s;
    struct conv *cur = &t->convs[t->cur];
    int r = 0;
    if (!strcmp(cmd, "/rooms")) {
        list_rooms(t);
        return 1;
    }
    if (!strcmp(cmd, "/me")) { /* an emote in a room (124=2); elsewhere the text as typed, as Pidgin sends it */
        if (!a1 || t->cur == 0)
            return -1;
        char text[INPUT_MAX * 4 + 8];
        snprintf(text, sizeof text, "/me %s%s%s", a1, rest ? " " : "", rest ? rest : "");
        tui_send_text(t, cur, text);
        return 1;
    }
    if (!strcmp(cmd, "/invite")) {
        if (!a1)
            return -1;
        char list[1200];
        snprintf(list, sizeof list, "%s%s%s", a1, rest ? " " : "", rest ? rest : "");
        char *save = NULL;
        if (cur->kind == CONV_CONF) {
            for (char *w = strtok_r(list, " ,", &save); w && !r; w = strtok_r(NULL, " ,", &save))
                if (!(r = ymsg_session_conf_invite(s, cur->who, w, "Join my conference...")))
                    tui_conv_add(t, cur, 0, C_SYSTEM, 0, "invited %s", w);
        } else if (cur->kind == CONV_ROOM) {
            for (char *w = strtok_r(list, " ,", &save); w && !r; w = strtok_r(NULL, " ,", &save))
                if (!(r = ymsg_session_room_invite(s, w, "Join me in this room")))
                    tui_conv_add(t, cur, 0, C_SYSTEM, 0, "invited %s", w);
        } else {
            /* a new conference with the buddy of this tab and the ones named */
            const char *who[32];
            size_t n = 0;
            if (t->cur)
                who[n++] = cur->who;
            for (char *w = strtok_r(list, " ,", &save); w && n < 32; w = strtok_r(NULL, " ,", &save))
                who[n++] = w;
            char room[YMSG_ROOM_MAX];
            r = ymsg_session_conf_create(s, NULL, who, n, "Join my conference...", room, sizeof room);
            if (!r) {
                struct conv *c = tui_conv_group(t, CONV_CONF, room, 1);
                tui_switch_tab(t, (int)(c - t->convs));
                tui_conv_add(t, c, 0, C_SYSTEM, 0, "conference %s started; invited %zu", room, n);
            }
        }
    } else if (!strcmp(cmd, "/join")) {
        if (!a1)
            return -1;
        char name[YMSG_ROOM_MAX];
        snprintf(name, sizeof name, "%s%s%s", a1, rest ? " " : "", rest ? rest : "");
        const char *n = name[0] == '&' || name[0] == '#' ? name + 1 : name;
        const struct ymsg_conf *cf = name[0] == '#' ? NULL : ymsg_session_find_conf(s, n);
        if (cf && !cf->joined) {
            r = ymsg_session_conf_join(s, n);
            if (!r) {
                struct conv *c = tui_conv_group(t, CONV_CONF, n, 1);
                tui_switch_tab(t, (int)(c - t->convs));
                tui_conv_add(t, c, 0, C_SYSTEM, 0, "you joined conference %s", n);
            }
        } else if (!cf) {
            r = ymsg_session_room_join(s, n, NULL);
            if (!r) {
                struct conv *c = tui_conv_group(t, CONV_ROOM, n, 1);
                tui_switch_tab(t, (int)(c - t->convs));
                tui_conv_add(t, c, 0, C_SYSTEM, 0, "joining room %s...", n);
            }
        } else {
            r = YMSG_ESTATE;
        }
    } else if (!strcmp(cmd, "/leave")) {
        const char *name = a1 ? (a1[0] == '&' || a1[0] == '#' ? a1 + 1 : a1) : NULL;
        if (!name && cur->kind == CONV_IM)
            return -1;
        int kind = name ? (ymsg_session_find_conf(s, name) ? CONV_CONF : CONV_ROOM) : cur->kind;
        if (!name)
            name = cur->who;
        const struct ymsg_conf *cf = kind == CONV_CONF ? ymsg_session_find_conf(s, name) : NULL;
        char keep[YMSG_ROOM_MAX];
        snprintf(keep, sizeof keep, "%s", name);
        if (kind == CONV_CONF)
            r = cf && !cf->joined ? ymsg_session_conf_decline(s, keep, rest ? rest : "No thanks")
                                  : ymsg_session_conf_leave(s, keep);
        else
            r = ymsg_session_room_leave(s);
        if (!r) {
            struct conv *c = tui_conv_group(t, kind, keep, 0);
            if (c) {
                tui_switch_tab(t, (int)(c - t->convs));
                tui_close_tab(t); /* tui_group_leave finds nothing left to leave */
            }
            SYS(t, "left %s%s", kind == CONV_CONF ? "conference " : "room ", keep);
        }
    } else if (!strcmp(cmd, "/send")) {
        if (!a1 || (!rest && cur->kind != CONV_IM) || (!rest && t->cur == 0))
            return -1;
        send_file(t, a1, rest ? rest : cur->who);
    } else if (!strcmp(cmd, "/accept-file") || !strcmp(cmd, "/decline-file")) {
        const struct ymsg_xfer *x = a1 ? ymsg_session_find_xfer(s, a1) : pending_offer(t);
        if (!x) {
            SYS(t, "no file offer%s%s waits for an answer", a1 ? " " : "", a1 ? a1 : "");
            return 1;
        }
        char id[YMSG_XFER_ID_MAX];
        snprintf(id, sizeof id, "%s", x->id);
        answer_offer(t, id, !strcmp(cmd, "/accept-file"));
    } else if (!strcmp(cmd, "/cancel-file")) {
        if (!a1)
            return -1;
        r = ymsg_session_file_cancel(s, a1);
        if (!r)
            SYS(t, "file transfer %s cancelled", a1);
    } else {
        return 0;
    }
    if (r)
        SYS(t, "%s: %s", cmd, ymsg_strerror(r));
    return 1;
}

void tui_group_send(struct tui *t, struct conv *c, const char *text)
{
    int emote = c->kind == CONV_ROOM && !strncmp(text, "/me ", 4);
    int r = c->kind == CONV_CONF ? ymsg_session_conf_send(t->d.s, c->who, text)
                                 : ymsg_session_room_send(t->d.s, emote ? text + 4 : text, emote);
    if (r)
        tui_conv_add(t, c, 0, C_ERROR, 0, "not sent: %s", ymsg_strerror(r));
    else if (c->kind == CONV_CONF)
        ; /* the server echoes a conference message to its sender (as libpurple expects): shown then */
    else if (emote)
        tui_conv_add(t, c, 0, C_OURS, 2, "* %s %s", t->user, text + 4);
    else
        tui_conv_add(t, c, 0, C_OURS, tui_width(t->user) + 2, "%s: %s", t->user, text);
}

/* ------------------------------------------------------------------------------------------------
 * events
 * ---------------------------------------------------------------------------------------------- */
static void group_notify(struct tui *t, struct conv *c)
{
    if (c != &t->convs[t->cur]) {
        t->total_unread++;
        if (t->o->bell)
            beep();
    }
}

void tui_group_event(struct tui *t, const struct ymsg_event *ev)
{
    struct conv *c;
    switch (ev->type) {
    case YMSG_EV_CONF_INVITE: {
        char members[1024];
        snprintf(members, sizeof members, "%s", ev->list);
        for (char *p = members; *p; p++)
            if (*p == '\n')
                *p = ',';
        SYS(t, "%s invites you to conference %s (%s)%s%s -- /join %s or /leave %s", ev->who, ev->room, members,
            ev->text[0] ? ": " : "", ev->text, ev->room, ev->room);
        beep();
        break;
    }
    case YMSG_EV_CONF_JOIN: case YMSG_EV_CONF_LEAVE: case YMSG_EV_CONF_DECLINE:
        if ((c = tui_conv_group(t, CONV_CONF, ev->room, 0)))
            tui_conv_add(t, c, 0, C_SYSTEM, 0, "%s %s%s%s", ev->who,
                         ev->type == YMSG_EV_CONF_JOIN ? "joined" : ev->type == YMSG_EV_CONF_LEAVE ? "left" : "declined",
                         ev->text[0] ? ": " : "", ev->text);
        break;
    case YMSG_EV_CONF_MESSAGE: {
        int ours = strcasecmp(ev->who, t->user) == 0;
        c = tui_conv_group(t, CONV_CONF, ev->room, 1);
        tui_conv_add(t, c, 0, ours ? C_OURS : C_THEIRS, tui_width(ev->who) + 2, "%s: %s", ev->who, ev->text);
        if (!ours)
            group_notify(t, c);
        break;
    }
    case YMSG_EV_CONF_FAILED:
        c = tui_conv_group(t, CONV_CONF, ev->room, 0);
        tui_conv_add(t, c ? c : &t->convs[0], 0, C_ERROR, 0, "invitation%s%s failed: %s", ev->who[0] ? " of " : "",
                     ev->who, ev->text);
        break;
    case YMSG_EV_ROOM_JOINED: {
        c = tui_conv_group(t, CONV_ROOM, ev->room, 1);
        size_t n = ymsg_session_room_member_count(t->d.s);
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "you are in %s (%zu members)%s%s", ev->room, n, ev->text[0] ? ": " : "",
                     ev->text);
        break;
    }
    case YMSG_EV_ROOM_FAILED:
        c = tui_conv_group(t, CONV_ROOM, ev->room, 0);
        tui_conv_add(t, c ? c : &t->convs[0], 0, C_ERROR, 0, "cannot join %s: %s", ev->room, ev->text);
        break;
    case YMSG_EV_ROOM_ENTER: case YMSG_EV_ROOM_EXIT:
        if ((c = tui_conv_group(t, CONV_ROOM, ev->room, 0)))
            tui_conv_add(t, c, 0, C_SYSTEM, 0, "%s %s", ev->who, ev->type == YMSG_EV_ROOM_ENTER ? "entered" : "left");
        break;
    case YMSG_EV_ROOM_MESSAGE:
        c = tui_conv_group(t, CONV_ROOM, ev->room, 1);
        if (ev->on)
            tui_conv_add(t, c, 0, C_THEIRS, 2, "* %s %s", ev->who, ev->text);
        else
            tui_conv_add(t, c, 0, C_THEIRS, tui_width(ev->who) + 2, "%s: %s", ev->who, ev->text);
        group_notify(t, c);
        break;
    case YMSG_EV_ROOM_INVITE:
        SYS(t, "%s invites you to room %s%s%s -- /join #%s", ev->who, ev->room, ev->text[0] ? ": " : "", ev->text,
            ev->room);
        beep();
        break;
    case YMSG_EV_ROOM_LOGOUT:
        c = tui_conv_group(t, CONV_ROOM, ev->room, 0);
        tui_conv_add(t, c ? c : &t->convs[0], 0, C_ERROR, 0, "the server logged you out of chat");
        break;
    case YMSG_EV_FILE_OFFER:
        c = tui_conv_get(t, ev->who, 1);
        tui_conv_add(t, c, 0, C_SYSTEM, 0, "%s offers you %s (%llu bytes) -- F7 to answer, or /accept-file %s, "
                     "/decline-file %s", ev->who, ev->text, (unsigned long long)ev->size, ev->xfer, ev->xfer);
        group_notify(t, c);
        beep();
        break;
    case YMSG_EV_FILE_DECLINED: case YMSG_EV_FILE_CANCELLED: case YMSG_EV_FILE_DONE: {
        c = tui_conv_get(t, ev->who, 1);
        const char *err = cx_error(&t->d, ev->xfer);
        if (ev->type == YMSG_EV_FILE_DONE && ev->code == 0)
            tui_conv_add(t, c, 0, C_SYSTEM, 0, "file %s %s (%llu bytes)", ev->xfer, ev->on ? "sent" : "received",
                         (unsigned long long)ev->size);
        else
            tui_conv_add(t, c, 0, C_ERROR, 0, "file %s %s%s%s", ev->xfer,
                         ev->type == YMSG_EV_FILE_DECLINED ? "declined by " : "failed: ",
                         ev->type == YMSG_EV_FILE_DECLINED ? ev->who : err ? err : ev->text, "");
        break;
    }
    default:
        break;
    }
}
