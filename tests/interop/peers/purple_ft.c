/* purple_ft.c - a headless libpurple 2.10.9 front end for the file-transfer test (ft_purple.py): it logs
 * one Yahoo account in with the real yahoo protocol plugin and sends or receives files the way Pidgin
 * does (serv_send_file; an incoming offer is accepted or declined as the user would in Pidgin's dialogs,
 * and saved where the test says).  Built by the test against the real-client kit's libpurple.
 *
 * Usage: purple_ft USER PASSWORD USERDIR SAVEDIR
 * Commands on stdin: send WHO PATH | answer accept|decline (for the offers that follow) | quit.
 * Events on stdout: "EV signed-on USER", "EV connection-error DESC", "EV offer WHO NAME SIZE",
 *   "EV recv-done PATH", "EV send-done NAME", "EV recv-cancel NAME", "EV send-cancel NAME". */
#include <glib.h>
#include <purple.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "purple_common.h"

#define UI_ID "ymsgft"

static const char *savedir;    /* where received files go */
static int accept_offers = 1;  /* "answer accept|decline" */

/* Pidgin asks "Accept file transfer request from WHO?" (purple_request_accept_cancel): actions come as
 * accept first. */
static void *req_action(const char *title, const char *primary, const char *secondary, int default_action,
                        PurpleAccount *account, const char *who, PurpleConversation *conv, void *user_data,
                        size_t action_count, va_list actions)
{
    int pick = accept_offers ? 0 : 1;
    out("asked %s", primary ? primary : "");
    common_pick_action(user_data, pick, action_count, actions);
    return NULL;
}

/* Pidgin's save dialog: the file goes into SAVEDIR under the offered name. */
static void *req_file(const char *title, const char *filename, gboolean savedialog, GCallback ok_cb,
                      GCallback cancel_cb, PurpleAccount *account, const char *who, PurpleConversation *conv,
                      void *user_data)
{
    gchar *base = g_path_get_basename(filename && *filename ? filename : "unnamed");
    gchar *path = g_build_filename(savedir, base, NULL);
    ((PurpleRequestFileCb)ok_cb)(user_data, path);
    g_free(path);
    g_free(base);
    return NULL;
}

static PurpleRequestUiOps req_ops = {.request_action = req_action, .request_file = req_file};

static void xfer_event(PurpleXfer *x, gpointer what)
{
    const char *ev = what;
    if (!strcmp(ev, "recv-request"))
        out("offer %s %s %lu", purple_xfer_get_remote_user(x), purple_xfer_get_filename(x),
            (unsigned long)purple_xfer_get_size(x));
    else if (!strcmp(ev, "recv-done"))
        out("recv-done %s", purple_xfer_get_local_filename(x));
    else
        out("%s %s", ev, purple_xfer_get_filename(x) ? purple_xfer_get_filename(x) : "");
}

/* One command line, split in at most 3 words (common_run reads them and takes "quit" itself). */
static void on_command(gchar **v)
{
    if (v[0] && !strcmp(v[0], "send") && v[1] && v[2]) {
        serv_send_file(purple_account_get_connection(acct), v[1], v[2]); /* Pidgin's "Send File..." */
        out("sending %s", v[2]);
    } else if (v[0] && !strcmp(v[0], "answer") && v[1]) {
        accept_offers = !strcmp(v[1], "accept");
        out("answer %s", v[1]);
    }
}

int main(int argc, char **argv)
{
    static int handle;
    if (argc < 5) {
        fprintf(stderr, "usage: %s USER PASSWORD USERDIR SAVEDIR\n", argv[0]);
        return 2;
    }
    savedir = argv[4];
    purple_request_set_ui_ops(&req_ops);
    if (common_init(UI_ID, argv[3], argv[1], argv[2])) return 1;
    static const char *const sigs[][2] = {{"file-recv-request", "recv-request"}, {"file-recv-complete", "recv-done"},
                                          {"file-send-complete", "send-done"}, {"file-recv-cancel", "recv-cancel"},
                                          {"file-send-cancel", "send-cancel"}};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        purple_signal_connect(purple_xfers_get_handle(), sigs[i][0], &handle, PURPLE_CALLBACK(xfer_event),
                              (gpointer)sigs[i][1]);
    return common_run(UI_ID, on_command, 3);
}
