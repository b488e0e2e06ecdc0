/* purple_common.h - what our headless libpurple 2.10.9 front ends share (purple_yab.c, purple_ft.c): the
 * "EV ..." event lines on stdout, the glib main loop as libpurple's event loop, libpurple's debug log on
 * stderr (the tests keep it as evidence), and an account UI that grants authorisation requests.  Included
 * once by each front end (static functions: each is one translation unit, built by its test). */
#ifndef PURPLE_COMMON_H
#define PURPLE_COMMON_H

#include <glib.h>
#include <purple.h>
#include <stdarg.h>
#include <stdio.h>

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

#endif
