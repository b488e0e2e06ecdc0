/* Chat rooms (YMSG 0x96–0xA8; docs/CHAT_ROOMS.md): the configured rooms, who is in which, and the
 * handlers of the room services.
 *
 * Rooms are configuration (chat_rooms_file, or the embedded default set): the same after a restart.
 * Membership is memory only.  A member is a user; every packet about it names it from its session, never
 * from the client's keys.  Packets to members go through delivery_to_user() (ignore respected; wherever
 * the session is).  Being in a room never shows in presence (docs/CHAT_ROOMS.md §5). */
#ifndef YMSGD_CHAT_H
#define YMSGD_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

struct chat;

#define CHAT_NAME_MAX 64   /* longest category or room name (bytes) */
#define CHAT_KEY_MAX (CHAT_NAME_MAX + 2) /* longest room key 104 / R frame: a name or its lobby's "NAME:1" */
#define CHAT_TOPIC_MAX 255 /* longest room topic (bytes) */
#define CHAT_MAX_ROOMS 10000 /* rooms (and categories) one configuration may define */

/* Parses a rooms file (docs/CHAT_ROOMS.md §4) into a new room set; text NULL = the embedded default
 * set.  NULL with the line and reason in err on a bad file or out of memory. */
struct chat *chat_parse(const char *text, size_t len, char *err, size_t errlen);
/* chat_parse() of srv's chat_rooms_file (or the default set) and the idle sweep on srv's loop (when
 * srv->base is set).  NULL with the reason in err. */
struct chat *chat_new(struct server *srv, char *err, size_t errlen);
/* Removes every member (no packets) and frees the set. */
void chat_free(struct chat *ch);

/* Rooms defined, and how many members they hold in all (tests, /metrics). */
size_t chat_room_count(const struct chat *ch);
size_t chat_member_count(const struct chat *ch);

/* The room list (docs/CHAT_ROOMS.md §3) for a /ycontent/ query ("chatcat=0&intl=us",
 * "chatroom_1600000001=0"): 200 with the XML in *out (malloc'ed, *len bytes), 400 for a query that
 * asks for neither, -1 out of memory. */
int chat_list_xml(const struct chat *ch, const char *query, long now, char **out, size_t *len);

/* Handlers (dispatch.c rows; a server without chat rooms (srv->chat NULL) drops them). */
void chat_handle_online(struct conn *c, const struct ymsg_packet *pkt);  /* 0x96 */
void chat_handle_join(struct conn *c, const struct ymsg_packet *pkt);    /* 0x98 */
void chat_handle_goto(struct conn *c, const struct ymsg_packet *pkt);    /* 0x97 */
void chat_handle_exit(struct conn *c, const struct ymsg_packet *pkt);    /* 0x9B, 0x99 */
void chat_handle_logout(struct conn *c, const struct ymsg_packet *pkt);  /* 0xA0 */
void chat_handle_comment(struct conn *c, const struct ymsg_packet *pkt); /* 0xA8 */
void chat_handle_invite(struct conn *c, const struct ymsg_packet *pkt);  /* 0x9D */
void chat_handle_ping(struct conn *c, const struct ymsg_packet *pkt);    /* 0xA1 */

/* c's session ends (login_end(), whatever the reason): it leaves every room it is in, the other members
 * are told.  Nothing happens when c is not the session that joined. */
void chat_session_end(struct conn *c);
/* Cluster replica (server/cluster/groups.c): another node's member `user` joined (op 1) or left (0) the
 * room named room (len bytes); no packets (its node sent them, the cap was its node's to check). */
void chat_remote(struct chat *ch, int op, const char *user, const char *room, size_t len);
/* Another node's member `user` is gone with its node: it leaves every room, only this node's members
 * are told (each node tells its own). */
void chat_node_lost(struct chat *ch, const char *user);
/* A node joined the cluster (or came back): this node's members' rooms go out again (joins the others
 * already know change nothing there). */
void chat_announce(struct chat *ch);
/* This node was declared dead by the others and came back: its members' rooms are announced again and the
 * members elsewhere (told of a leave by their nodes) are told ours joined. */
void chat_rejoin(struct chat *ch);

/* Removes the members silent in rooms for chat_idle_timeout (told with 0xA0); now is rl_now() time. */
void chat_sweep(struct chat *ch, double now);

#endif
