/* YMSG side of the login (YMSG.md §5.1–5.3, §12, §13.2): 0x4C verify, 0x57 challenge, 0x54 check
 * (v16 cookies + crumb, or YMSG 9/10 method 0 when legacy_auth is on), the duplicate-login kick and
 * the post-login burst (0xF1/0x55 list, 0xF0/0x01 online buddies, 0x12 ping configuration, pending
 * 0xD6 requests, offline 0x06). */
#ifndef YMSGD_LOGIN_YMSG_H
#define YMSGD_LOGIN_YMSG_H

#include "server.h"

/* Handles a packet on a connection that is not logged in yet.  Anything but 0x4C, 0x57, 0x54, 0x8A
 * and 0x12 is dropped (OpenYMSG may send an IM before its 0x54). */
void login_handle(struct conn *c, const struct ymsg_packet *pkt);

/* Revocation (password changed, account deleted): ends user's logged-in session, if any.  The client
 * gets 0x02 with status -1 (what clients show as "signed off by the server" and do not reconnect
 * after) and its buddies see it go offline exactly as a sign-off.  Returns 1 when a session ended. */
int login_revoke(struct server *srv, const char *user);

#endif
