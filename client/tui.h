/* The interactive terminal client: state shared by its files (tui.c main loop and connection,
 * tui_cmd.c commands and help, tui_input.c keys and dialogs, tui_render.c panes, tui_buddies.c the list). */
#ifndef YMSG_CLIENT_TUI_H
#define YMSG_CLIENT_TUI_H

#include "client.h" /* before curses.h, whose OK macro would clash with ymsg.h's tables */

#include <curses.h>
#include <time.h>
#include <wchar.h>

#define MAX_CONVS   32            /* open tabs, the system tab included */
#define MAX_LINES   2000          /* lines kept per tab (scrollback) */
#define INPUT_MAX   900           /* characters in the input line (§1.5: 800 chars per IM) */
#define LIST_W      30            /* width of the buddy pane */
#define MAX_PENDING 16            /* authorisation requests waiting for an answer */
#define MAX_OUTBOX  32            /* messages typed while disconnected, per tab */
#define PASTE_MAX   8192          /* bytes of one bracketed paste */
#define MAX_COLLAPSED 64          /* collapsed groups remembered */

/* Colour pairs. */
enum { C_THEIRS = 1, C_OURS = 2, C_SYSTEM = 3, C_AWAY = 4, C_ERROR = 5 };

struct line {
    time_t t;                     /* when */
    char *text;                   /* UTF-8, "speaker: text" or a system line */
    int indent;                   /* columns of the "speaker: " prefix (hanging indent) */
    int attr;                     /* colour pair */
};

enum { CONV_IM = 0, CONV_CONF = 1, CONV_ROOM = 2 };

struct conv {
    char who[YMSG_ROOM_MAX];      /* peer ("" for the system tab), or the conference / room name */
    int kind;                     /* CONV_IM, CONV_CONF or CONV_ROOM */
    struct line *lines;           /* ring of lines */
    size_t n;                     /* lines stored */
    size_t first;                 /* ring start */
    unsigned long seq;            /* lines ever added (numbers the ring) */
    unsigned long marker;         /* seq of the first unread line (== seq: none) */
    int scroll;                   /* rows scrolled back from the bottom (0 = follow new lines) */
    int unread;                   /* lines added while the tab was not shown */
    int typing;                   /* the peer is typing */
    int buzzed;                   /* flash the tab title */
    char *outbox[MAX_OUTBOX];     /* typed while disconnected: sent after the reconnect */
    int nout;                     /* how many */
};

/* One row of the buddy pane. */
struct brow {
    int group;                    /* a group header (else a buddy) */
    size_t idx;                   /* group index or buddy index in the session */
};

struct tui {
    const struct opts *o;         /* options */
    struct drv d;                 /* connection */
    int connected;                /* logged in */
    char user[256];               /* credentials */
    char pass[256];               /* password (wiped at exit) */
    struct conv convs[MAX_CONVS]; /* tabs; [0] is the system tab */
    int nconv;                    /* tabs open */
    int cur;                      /* tab shown */
    wchar_t input[INPUT_MAX + 1]; /* input line */
    int ilen;                     /* its length */
    int icur;                     /* cursor */
    int typing_sent;              /* we told the current peer that we are typing */
    char typing_to[YMSG_ID_MAX];  /* whom */
    int sel;                      /* selected row of the buddy pane */
    int list_top;                 /* first buddy-pane row shown */
    struct brow *rows;            /* buddy-pane rows (rebuilt on every draw) */
    int nrows, rows_cap;          /* rows in use / allocated */
    char collapsed[MAX_COLLAPSED][YMSG_GROUP_MAX]; /* collapsed groups */
    int ncollapsed;               /* how many */
    int hide_offline;             /* hide offline buddies (toggle: /offline, F6) */
    char pending[MAX_PENDING][YMSG_ID_MAX]; /* authorisation requests to answer */
    int npending;                 /* how many */
    int quit;                     /* leave the main loop */
    int kicked;                   /* signed in elsewhere: no automatic reconnect */
    int login_refused;            /* credentials refused: waiting for a new password */
    uint64_t reconnect_at;        /* when to try again (0 = not scheduled) */
    unsigned backoff_ms;          /* current backoff */
    uint32_t status;              /* our status, kept across reconnects (privacy: invisible stays invisible) */
    char status_msg[YMSG_STATUS_MSG_MAX]; /* its custom message */
    int status_away;              /* its away flag (custom) */
    int auto_away;                /* the status was set by auto-away (any key restores) */
    uint32_t saved_status;        /* the status before auto-away */
    char saved_msg[YMSG_STATUS_MSG_MAX]; /* its message */
    uint64_t last_key;            /* for auto-away */
    char error[512];              /* last connection/login error, shown on the status line */
    int in_paste;                 /* inside a bracketed paste */
    char paste[PASTE_MAX];        /* the paste so far (UTF-8) */
    size_t paste_len;             /* its length */
    int total_unread;             /* unread lines in background tabs (window title) */
    WINDOW *wlist, *wtabs, *wconv, *wstatus, *winput; /* panes */
};

/* tui.c */
struct conv *tui_conv_get(struct tui *t, const char *who, int create);
void tui_conv_add(struct tui *t, struct conv *c, time_t when, int attr, int indent, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
#define SYS(t, ...) tui_conv_add((t), &(t)->convs[0], 0, C_SYSTEM, 0, __VA_ARGS__)
void tui_switch_tab(struct tui *t, int idx);
void tui_close_tab(struct tui *t);
void tui_typing_stop(struct tui *t);
int tui_connect(struct tui *t);
void tui_schedule_reconnect(struct tui *t);
void tui_remember_status(struct tui *t, uint32_t status, const char *msg, int away);
/* Sends (or queues while disconnected) a message to the current tab's peer, and logs it. */
void tui_send_text(struct tui *t, struct conv *c, const char *text);
void tui_error(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A conference (CONV_CONF) or chat-room (CONV_ROOM) tab by name. */
struct conv *tui_conv_group(struct tui *t, int kind, const char *name, int create);

/* tui_conf.c: conferences, rooms, files */
int tui_draw_members(struct tui *t);      /* 1 if the pane shows the current tab's members */
int tui_xfer_status(struct tui *t, char *buf, size_t cap); /* progress bar / pending offer, 1 if any */
void tui_file_dialog(struct tui *t);      /* F7: answer the oldest file offer */
/* /invite /join /leave /rooms /send /accept-file /decline-file /cancel-file: 1 handled, -1 usage, 0 not ours */
int tui_group_command(struct tui *t, const char *cmd, char *a1, char *rest);
void tui_group_send(struct tui *t, struct conv *c, const char *text);
/* Leaves the conference / room of tab c (closing its tab does). */
void tui_group_leave(struct tui *t, struct conv *c);
void tui_group_event(struct tui *t, const struct ymsg_event *ev);

/* tui_cmd.c */
void tui_command(struct tui *t, char *line);
void tui_help_screen(struct tui *t);
void tui_search(struct tui *t, const char *needle);

/* tui_input.c */
void tui_key(struct tui *t, int k, wint_t ch);
int tui_menu(struct tui *t, const char *title, const char *const *items, int n);
int tui_prompt(struct tui *t, const char *title, char *out, size_t cap, int secret);
int tui_confirm(struct tui *t, const char *question);
void tui_status_menu(struct tui *t);
void tui_auth_dialog(struct tui *t);
void tui_add_dialog(struct tui *t);
void tui_suspend(struct tui *t);
/* Accepts or declines an authorisation request (accepting offers to add the requester back). */
void tui_answer_request(struct tui *t, const char *who, int accept, const char *msg);

/* tui_render.c */
void tui_layout(struct tui *t);
void tui_redraw(struct tui *t);
void tui_scroll(struct tui *t, int rows);
/* Rows a line takes in the conversation pane. */
int tui_line_rows(struct tui *t, const struct line *l);
/* Display columns of UTF-8 text (wide characters count 2, combining 0). */
int tui_width(const char *s);
int tui_wwidth(const wchar_t *s, int n);

/* tui_buddies.c */
void tui_draw_list(struct tui *t);
void tui_list_move(struct tui *t, int delta);
/* Enter on the buddy pane: open the selected buddy's tab, or fold/unfold the selected group. */
void tui_list_activate(struct tui *t);
void tui_list_free(struct tui *t);

#endif
