/* purple_conf.c - a headless libpurple 2.10.9 front end for the conference test (conf_purple.py): it logs
 * one Yahoo account in with the real yahoo protocol plugin and takes part in conferences the way Pidgin
 * does: "Initiate Conference" from a buddy's menu (the plugin's own blist_node_menu action), the chat
 * window's "Invite..." (serv_chat_invite), typing into the window (purple_conv_chat_send), closing it
 * (purple_conversation_destroy), and the "accept this chat invitation?" dialog; and chat rooms from Pidgin's
 * "Room List" dialog (the plugin's /ycontent list, a category expanded, a room joined).  What the conversation
 * window and the room list would show is printed as events.  Built by the test against the real-client kit's
 * libpurple.
 *
 * Usage: purple_conf USER PASSWORD USERDIR
 * Commands on stdin: initiate BUDDY | invite ROOM WHO MESSAGE | say ROOM TEXT | leave ROOM | users ROOM |
 *   answer accept|decline (for the invitations that follow) | roomlist | expand CATEGORY | joinroom ROOM | quit.
 * Events on stdout: "EV signed-on USER", "EV connection-error DESC", "EV initiated ROOM",
 *   "EV initiate-unavailable BUDDY", "EV conv-created ROOM", "EV conv-destroyed",
 *   "EV chat-msg ROOM WHO send|recv TEXT", "EV chat-line ROOM TEXT" (system lines),
 *   "EV chat-add ROOM WHO", "EV chat-remove ROOM WHO", "EV invited ROOM FROM MESSAGE",
 *   "EV asked accept|decline", "EV users ROOM A,B,...", "EV no-room ROOM",
 *   "EV roomlist-entry category|room|category+room NAME", "EV roomlist-progress 0|1". */
#include <glib.h>
#include <purple.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "purple_common.h"

#define UI_ID "ymsgconf"

static int accept_invites = 1; /* "answer accept|decline" */

/* Pidgin's "accept chat invitation?" dialog (purple_request_accept_cancel from serv_got_chat_invite):
 * accept first. */
static void *req_action(const char *title, const char *primary, const char *secondary, int default_action,
                        PurpleAccount *account, const char *who, PurpleConversation *conv, void *user_data,
                        size_t action_count, va_list actions)
{
    int pick = accept_invites ? 0 : 1;
    out("asked %s", accept_invites ? "accept" : "decline");
    common_pick_action(user_data, pick, action_count, actions);
    return NULL;
}

static PurpleRequestUiOps req_ops = {.request_action = req_action};

/* ---- what the conversation window shows ---- */
static void conv_created(PurpleConversation *c)
{
    if (purple_conversation_get_type(c) == PURPLE_CONV_TYPE_CHAT)
        out("conv-created %s", purple_conversation_get_name(c));
}
static void conv_destroyed(PurpleConversation *c)
{
    /* libpurple has freed the name by now */
    if (purple_conversation_get_type(c) == PURPLE_CONV_TYPE_CHAT) out("conv-destroyed");
}
static void conv_write_chat(PurpleConversation *c, const char *who, const char *message, PurpleMessageFlags flags,
                            time_t mtime)
{
    out("chat-msg %s %s %s %s", purple_conversation_get_name(c), who ? who : "-",
        (flags & PURPLE_MESSAGE_SEND) ? "send" : "recv", message ? message : "");
}
/* system lines ("bob has declined to join.", "carol left the room.") */
static void conv_write(PurpleConversation *c, const char *name, const char *alias, const char *message,
                       PurpleMessageFlags flags, time_t mtime)
{
    out("chat-line %s %s", purple_conversation_get_name(c), message ? message : "");
}
static void conv_add_users(PurpleConversation *c, GList *cbuddies, gboolean new_arrivals)
{
    for (GList *l = cbuddies; l; l = l->next)
        out("chat-add %s %s", purple_conversation_get_name(c), purple_conv_chat_cb_get_name(l->data));
}
static void conv_remove_users(PurpleConversation *c, GList *users)
{
    for (GList *l = users; l; l = l->next) out("chat-remove %s %s", purple_conversation_get_name(c), (char *)l->data);
}
static PurpleConversationUiOps conv_ops = {.create_conversation = conv_created,
                                           .destroy_conversation = conv_destroyed,
                                           .write_chat = conv_write_chat,
                                           .write_conv = conv_write,
                                           .chat_add_users = conv_add_users,
                                           .chat_remove_users = conv_remove_users};

/* ---- Pidgin's "Room List" dialog ---- */
static PurpleRoomlist *roomlist; /* the list fetched by "roomlist" (kept while the front end runs) */
static GList *listed;            /* its entries as the dialog shows them (owned by roomlist) */

static void rl_add_room(PurpleRoomlist *list, PurpleRoomlistRoom *room)
{
    PurpleRoomlistRoomType t = purple_roomlist_room_get_type(room);
    listed = g_list_append(listed, room);
    out("roomlist-entry %s %s",
        (t & PURPLE_ROOMLIST_ROOMTYPE_CATEGORY) && (t & PURPLE_ROOMLIST_ROOMTYPE_ROOM) ? "category+room"
        : (t & PURPLE_ROOMLIST_ROOMTYPE_CATEGORY)                                      ? "category"
                                                                                       : "room",
        purple_roomlist_room_get_name(room));
}
static void rl_in_progress(PurpleRoomlist *list, gboolean busy) { out("roomlist-progress %d", busy ? 1 : 0); }
static PurpleRoomlistUiOps rl_ops = {.add_room = rl_add_room, .in_progress = rl_in_progress};

/* The listed entry called name with a type including `type`, or NULL. */
static PurpleRoomlistRoom *rl_find(const char *name, PurpleRoomlistRoomType type)
{
    for (GList *l = listed; l; l = l->next)
        if ((purple_roomlist_room_get_type(l->data) & type) && !strcmp(purple_roomlist_room_get_name(l->data), name))
            return l->data;
    out("not-listed %s", name);
    return NULL;
}

/* The invitation as libpurple reports it before asking (0: let the UI ask, as Pidgin does). */
static int chat_invited(PurpleAccount *a, const char *inviter, const char *room, const char *message,
                        GHashTable *components, gpointer d)
{
    out("invited %s %s %s", room ? room : "", inviter ? inviter : "", message ? message : "");
    return 0;
}

/* Pidgin's buddy menu: the yahoo plugin's "Initiate Conference" item (offered only for a buddy it sees
 * online), run with the buddy's node as Pidgin's menu would. */
static void initiate(const char *who)
{
    PurpleConnection *gc = purple_account_get_connection(acct);
    PurpleBuddy *b = purple_find_buddy(acct, who);
    PurplePlugin *prpl = purple_find_prpl(purple_account_get_protocol_id(acct));
    PurplePluginProtocolInfo *pi = prpl ? PURPLE_PLUGIN_PROTOCOL_INFO(prpl) : NULL;
    if (!gc || !b || !pi || !pi->blist_node_menu) {
        out("initiate-unavailable %s", who);
        return;
    }
    GList *menu = pi->blist_node_menu((PurpleBlistNode *)b);
    gboolean done = FALSE;
    for (GList *l = menu; l; l = l->next) {
        PurpleMenuAction *act = l->data;
        if (!done && act->label && !strcmp(act->label, "Initiate Conference") && act->callback) {
            ((void (*)(PurpleBlistNode *, gpointer))act->callback)((PurpleBlistNode *)b, act->data);
            done = TRUE;
        }
    }
    g_list_free_full(menu, (GDestroyNotify)purple_menu_action_free);
    if (!done) {
        out("initiate-unavailable %s", who);
        return;
    }
    /* the conference just opened is the newest chat */
    GList *chats = purple_get_chats();
    PurpleConversation *c = NULL;
    for (GList *l = chats; l; l = l->next)
        if (!c || purple_conv_chat_get_id(PURPLE_CONV_CHAT(l->data)) > purple_conv_chat_get_id(PURPLE_CONV_CHAT(c)))
            c = l->data;
    out("initiated %s", c ? purple_conversation_get_name(c) : "");
}

static PurpleConversation *find_chat(const char *room)
{
    PurpleConversation *c = purple_find_conversation_with_account(PURPLE_CONV_TYPE_CHAT, room, acct);
    if (!c) out("no-room %s", room);
    return c;
}

/* One command line, split in at most 4 words (common_run reads them and takes "quit" itself). */
static void on_command(gchar **v)
{
    PurpleConversation *c;
    if (v[0] && !strcmp(v[0], "initiate") && v[1]) {
        initiate(v[1]);
    } else if (v[0] && !strcmp(v[0], "invite") && v[1] && v[2] && (c = find_chat(v[1]))) {
        /* the chat window's "Invite..." dialog */
        serv_chat_invite(purple_account_get_connection(acct), purple_conv_chat_get_id(PURPLE_CONV_CHAT(c)),
                         v[3] ? v[3] : "", v[2]);
        out("inviting %s %s", v[1], v[2]);
    } else if (v[0] && !strcmp(v[0], "say") && v[1] && v[2] && (c = find_chat(v[1]))) {
        gchar *text = v[3] ? g_strconcat(v[2], " ", v[3], NULL) : g_strdup(v[2]);
        purple_conv_chat_send(PURPLE_CONV_CHAT(c), text);
        g_free(text);
    } else if (v[0] && !strcmp(v[0], "leave") && v[1] && (c = find_chat(v[1]))) {
        purple_conversation_destroy(c); /* closing the chat window leaves the conference */
    } else if (v[0] && !strcmp(v[0], "users") && v[1] && (c = find_chat(v[1]))) {
        GString *names = g_string_new("");
        GList *sorted = NULL;
        for (GList *l = purple_conv_chat_get_users(PURPLE_CONV_CHAT(c)); l; l = l->next)
            sorted = g_list_insert_sorted(sorted, (gpointer)purple_conv_chat_cb_get_name(l->data),
                                          (GCompareFunc)strcmp);
        for (GList *l = sorted; l; l = l->next)
            g_string_append_printf(names, "%s%s", names->len ? "," : "", (char *)l->data);
        g_list_free(sorted);
        out("users %s %s", v[1], names->str);
        g_string_free(names, TRUE);
    } else if (v[0] && !strcmp(v[0], "answer") && v[1]) {
        accept_invites = !strcmp(v[1], "accept");
        out("answer %s", v[1]);
    } else if (v[0] && !strcmp(v[0], "roomlist")) {
        listed = NULL; /* a new list: the old entries go with the old list, which we keep */
        roomlist = purple_roomlist_get_list(purple_account_get_connection(acct));
        if (roomlist)
            purple_roomlist_ref(roomlist); /* the dialog holds the list: the plugin drops its own when fetched */
        else
            out("roomlist-unavailable");
    } else if (v[0] && !strcmp(v[0], "expand") && v[1] && roomlist) {
        gchar *name = v[2] ? g_strjoinv(" ", v + 1) : g_strdup(v[1]); /* category names have spaces */
        PurpleRoomlistRoom *r = rl_find(name, PURPLE_ROOMLIST_ROOMTYPE_CATEGORY);
        if (r) purple_roomlist_expand_category(roomlist, r);
        g_free(name);
    } else if (v[0] && !strcmp(v[0], "joinroom") && v[1] && roomlist) {
        PurpleRoomlistRoom *r = rl_find(v[1], PURPLE_ROOMLIST_ROOMTYPE_ROOM);
        if (r) purple_roomlist_room_join(roomlist, r); /* the dialog's "Join" button */
    }
}

int main(int argc, char **argv)
{
    static int handle;
    if (argc < 4) {
        fprintf(stderr, "usage: %s USER PASSWORD USERDIR\n", argv[0]);
        return 2;
    }
    purple_request_set_ui_ops(&req_ops);
    purple_conversations_set_ui_ops(&conv_ops);
    purple_roomlist_set_ui_ops(&rl_ops);
    if (common_init(UI_ID, argv[3], argv[1], argv[2])) return 1;
    purple_signal_connect(purple_conversations_get_handle(), "chat-invited", &handle, PURPLE_CALLBACK(chat_invited),
                          NULL);
    return common_run(UI_ID, on_command, 4);
}
