/* purple_yab.c - a headless libpurple 2.10.9 front end for the address book test (yab_purple.py): it
 * logs one Yahoo account in with the real yahoo protocol plugin and prints what a Pidgin user would
 * see of each buddy (its alias in the buddy list, the tooltip's fields), and renames buddies the way
 * Pidgin's "Alias" dialog does (purple_blist_alias_buddy + serv_alias_buddy).  Built by the test
 * against the real-client kit's libpurple (tests/interop/peers; the kit's own driver has no alias
 * commands).
 *
 * Usage: purple_yab USER PASSWORD USERDIR [BUDDY=LOCAL_ALIAS ...]
 *   each BUDDY=LOCAL_ALIAS is put in the local buddy list before the login, with that alias (empty:
 *   none), as if Pidgin had kept it from an earlier session.
 * Commands on stdin: show WHO | alias WHO TEXT | quit.
 * Events on stdout: "EV signed-on USER", "EV connection-error DESC",
 *   "EV show WHO alias=A server_alias=S local_alias=L" then "EV tip WHO LABEL=VALUE" per tooltip field. */
#include <glib.h>
#include <purple.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "purple_common.h"

#define UI_ID "ymsgyab"

/* ---- what a user sees ---- */
static void show(const char *who)
{
    PurpleBuddy *b = purple_find_buddy(acct, who);
    PurpleConnection *gc = purple_account_get_connection(acct);
    if (!b || !gc) {
        out("show %s missing", who);
        return;
    }
    const char *sa = purple_buddy_get_server_alias(b), *la = purple_buddy_get_local_buddy_alias(b);
    out("show %s alias=%s server_alias=%s local_alias=%s", who, purple_buddy_get_alias(b), sa ? sa : "",
        la ? la : "");
    PurplePluginProtocolInfo *prpl = PURPLE_PLUGIN_PROTOCOL_INFO(purple_connection_get_prpl(gc));
    if (!prpl || !prpl->tooltip_text) return;
    PurpleNotifyUserInfo *info = purple_notify_user_info_new();
    prpl->tooltip_text(b, info, TRUE); /* the full tooltip, as Pidgin shows it on hover */
    for (GList *l = purple_notify_user_info_get_entries(info); l; l = l->next) {
        PurpleNotifyUserInfoEntry *e = l->data;
        const char *lab = purple_notify_user_info_entry_get_label(e), *val = purple_notify_user_info_entry_get_value(e);
        out("tip %s %s=%s", who, lab ? lab : "", val ? val : "");
    }
    purple_notify_user_info_destroy(info);
}

/* One command line, split in at most 3 words (common_run reads them and takes "quit" itself). */
static void on_command(gchar **v)
{
    if (v[0] && !strcmp(v[0], "show") && v[1]) {
        show(v[1]);
    } else if (v[0] && !strcmp(v[0], "alias") && v[1] && v[2]) {
        PurpleBuddy *b = purple_find_buddy(acct, v[1]);
        if (b) {
            purple_blist_alias_buddy(b, v[2]); /* what Pidgin's Alias dialog does */
            serv_alias_buddy(b);
            out("aliased %s %s", v[1], v[2]);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s USER PASSWORD USERDIR [BUDDY=LOCAL_ALIAS ...]\n", argv[0]);
        return 2;
    }
    if (common_init(UI_ID, argv[3], argv[1], argv[2])) return 1;
    PurpleGroup *g = purple_group_new("Friends");
    purple_blist_add_group(g, NULL);
    for (int i = 4; i < argc; i++) {
        gchar **kv = g_strsplit(argv[i], "=", 2);
        PurpleBuddy *b = purple_buddy_new(acct, kv[0], kv[1] && kv[1][0] ? kv[1] : NULL);
        purple_blist_add_buddy(b, NULL, g, NULL);
        g_strfreev(kv);
    }
    return common_run(UI_ID, on_command, 3);
}
