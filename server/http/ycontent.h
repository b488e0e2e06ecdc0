/* The chat room list where the clients fetch it: GET /ycontent/?chatcat=0 (categories) and
 * ?chatroom_ID=0 (a category's rooms), from insider.msg.yahoo.com (docs/CHAT_ROOMS.md §3). */
#ifndef YMSGD_YCONTENT_H
#define YMSGD_YCONTENT_H

struct http_server;
struct server;

/* Registers /ycontent/ (and /ycontent) on hs.  0, or -1 when the route table is full. */
int ycontent_register(struct http_server *hs, struct server *srv);

#endif
