/* purple_common.h - what our headless libpurple 2.10.9 front ends share (purple_yab.c, purple_ft.c, purple_conf.c): the
 * "EV ..." event lines on stdout, the glib main loop as libpurple's event loop, libpurple's debug log on
 * stderr (the tests keep it as evidence), and an account UI that grants authorisation requests.  Included
 * once by each front end (static functions: each is one translation unit, built by its test). */
#ifndef PURPLE_COMMON_H
#define PURPLE_COMMON_H

#include <glib.h>
#include <purple.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void out(const char *fmt, ...)
{
    va_list ap;
    printf("EV ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* ---- the glib main loop as libpurple's event loop ---- */
struct io_watch {
    PurpleInputFunction fn; /* libpurple's callback */
    gpointer data;          /* its argument */
};

static gboolean io_cb(GIOChannel *ch, GIOCondition cond, gpointer d)
{
    struct io_watch *w = d;
    PurpleInputCondition pc = 0;
    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) pc |= PURPLE_INPUT_READ;
    if (cond & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL)) pc |= PURPLE_INPUT_WRITE;
    w->fn(w->data, g_io_channel_unix_get_fd(ch), pc);
    return TRUE;
}

static guint input_add(gint fd, PurpleInputCondition cond, PurpleInputFunction fn, gpointer data)
{
    struct io_watch *w = g_new0(struct io_watch, 1);
    GIOCondition gc = 0;
    w->fn = fn;
    w->data = data;
    if (cond & PURPLE_INPUT_READ) gc |= G_IO_IN | G_IO_HUP | G_IO_ERR;
    if (cond & PURPLE_INPUT_WRITE) gc |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
    GIOChannel *ch = g_io_channel_unix_new(fd);
    guint id = g_io_add_watch_full(ch, G_PRIORITY_DEFAULT, gc, io_cb, w, g_free);
    g_io_channel_unref(ch);
    return id;
}

static PurpleEventLoopUiOps loop_ops = {g_timeout_add, g_source_remove, input_add, g_source_remove, NULL,
                                        g_timeout_add_seconds, NULL, NULL, NULL};

/* libpurple's debug log on stderr (the test keeps it as evidence). */
static void dbg(PurpleDebugLevel level, const char *cat, const char *text)
{
    fprintf(stderr, "DBG %s: %s", cat ? cat : "", text);
}
static gboolean dbg_on(PurpleDebugLevel level, const char *cat) { return TRUE; }
static PurpleDebugUiOps dbg_ops = {dbg, dbg_on, NULL, NULL, NULL, NULL};

static void *auth_req(PurpleAccount *a, const char *remote, const char *id, const char *alias, const char *message,
                      gboolean on_list, PurpleAccountRequestAuthorizationCb ok, PurpleAccountRequestAuthorizationCb no,
                      void *user_data)
{
    ok(user_data);
    return NULL;
}
static PurpleAccountUiOps acct_ops = {NULL, NULL, NULL, auth_req, NULL, NULL, NULL, NULL, NULL};

/* ---- start, run, stop ---- */
static GMainLoop *loop;     /* the front end's loop: its "quit" command ends it */
static PurpleAccount *acct; /* the one account */

static void signed_on(PurpleConnection *gc, gpointer d)
{
    out("signed-on %s", purple_account_get_username(purple_connection_get_account(gc)));
}
static void conn_error(PurpleConnection *gc, PurpleConnectionError err, const gchar *desc, gpointer d)
{
    out("connection-error %s", desc ? desc : "");
}

/* libpurple's core with its user directory in dir, and the account (prpl-yahoo, YAHOO_PORT from the
 * environment), not yet enabled: the front end adds its own UI ops first and its signals after.
 * 0, or 1 when libpurple would not start. */
static int common_init(const char *ui_id, const char *dir, const char *user, const char *password)
{
    static int handle;
    signal(SIGPIPE, SIG_IGN);
    loop = g_main_loop_new(NULL, FALSE);
    purple_util_set_user_dir(dir);
    purple_debug_set_enabled(FALSE);
    purple_debug_set_ui_ops(&dbg_ops);
    purple_eventloop_set_ui_ops(&loop_ops);
    purple_accounts_set_ui_ops(&acct_ops);
    if (!purple_core_init(ui_id)) {
        fprintf(stderr, "purple_core_init failed\n");
        return 1;
    }
    purple_set_blist(purple_blist_new());
    purple_blist_load();
    purple_signal_connect(purple_connections_get_handle(), "signed-on", &handle, PURPLE_CALLBACK(signed_on), NULL);
    purple_signal_connect(purple_connections_get_handle(), "connection-error", &handle, PURPLE_CALLBACK(conn_error),
                          NULL);
    acct = purple_account_new(user, "prpl-yahoo");
    purple_account_set_password(acct, password);
    if (getenv("YAHOO_PORT")) purple_account_set_int(acct, "port", atoi(getenv("YAHOO_PORT")));
    purple_accounts_add(acct);
    return 0;
}

/* The front end's commands: one stdin line split in at most nwords words (v[0] the command). */
typedef void (*common_command_fn)(gchar **v);
static common_command_fn common_command; /* common_run's */
static int common_nwords;                /* its word limit */

static gboolean common_on_stdin(GIOChannel *ch, GIOCondition cond, gpointer d)
{
    gchar *line = NULL;
    gsize len;
    GIOStatus s = g_io_channel_read_line(ch, &line, &len, NULL, NULL);
    if (s == G_IO_STATUS_EOF || s == G_IO_STATUS_ERROR) {
        g_main_loop_quit(loop);
        return FALSE;
    }
    if (!line) return TRUE;
    g_strchomp(line);
    gchar **v = g_strsplit(line, " ", common_nwords);
    if (v[0] && !strcmp(v[0], "quit")) g_main_loop_quit(loop);
    else common_command(v);
    g_strfreev(v);
    g_free(line);
    return TRUE;
}

/* Pidgin's accept/cancel dialogs (purple_request_accept_cancel): the actions come as (label, callback)
 * pairs, accept first; runs the one at index pick. */
G_GNUC_UNUSED static void common_pick_action(void *user_data, int pick, size_t action_count, va_list actions)
{
    PurpleRequestActionCb cb = NULL;
    for (size_t i = 0; i < action_count; i++) {
        (void)va_arg(actions, const char *);
        PurpleRequestActionCb c = va_arg(actions, PurpleRequestActionCb);
        if ((int)i == pick) cb = c;
    }
    if (cb) cb(user_data, pick);
}

/* Signs on (available), runs one command per stdin line until "quit" or the end of input, signs off. */
static int common_run(const char *ui_id, common_command_fn command, int nwords)
{
    common_command = command;
    common_nwords = nwords;
    purple_savedstatus_activate(purple_savedstatus_new(NULL, PURPLE_STATUS_AVAILABLE));
    purple_account_set_enabled(acct, ui_id, TRUE);
    GIOChannel *in = g_io_channel_unix_new(0);
    g_io_add_watch(in, G_IO_IN | G_IO_HUP, common_on_stdin, NULL);
    g_main_loop_run(loop);
    purple_account_set_enabled(acct, ui_id, FALSE);
    out("exit");
    return 0;
}

#endif
