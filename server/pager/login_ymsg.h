/* YMSG side of the login (YMSG.md §5.1–5.3, §12, §13.2): 0x4C verify, 0x57 challenge, 0x54 check
 * (v16 cookies + crumb, or YMSG 9/10 method 0 when legacy_auth is on), the duplicate-login kick and
 * the post-login burst (0xF1/0x55 list, 0xF0/0x01 online buddies, 0x12 ping configuration, pending
 * 0xD6 requests, offline 0x06), and the end of a session (login_end: the sign-off fan-out), so the
 * session's life from first to last packet is this module's and transports only report it. */
#ifndef YMSGD_LOGIN_YMSG_H
#define YMSGD_LOGIN_YMSG_H

#include "server.h"

/* Pre-login handlers (dispatch.c's table routes 0x4C, 0x57 and 0x54 here; anything else but keep-alives
 * is dropped before login: OpenYMSG may send an IM before its 0x54). */
void login_handle_verify(struct conn *c, const struct ymsg_packet *pkt); /* 0x4C: empty ack */
void login_handle_auth(struct conn *c, const struct ymsg_packet *pkt);   /* 0x57: challenge */
void login_handle_authresp(struct conn *c, const struct ymsg_packet *pkt); /* 0x54: check, then login */

/* The end of a session, reported by its transport when the connection ends (any reason): a logged-in
 * session goes off line — its watchers are told first, while it is still registered, then it leaves
 * the registry and becomes CONN_CLOSING, so the fan-out computes "now offline".  Any connection also
 * leaves the watch index here (presence.h), so none is freed while listed there. */
void login_end(struct conn *c);

/* Frees a 0x54 still waiting for another node's crumb (the connection is being freed). */
void login_wait_free(struct conn *c);

/* Revocation (password changed, account deleted): ends user's logged-in session, if any.  The client
 * gets 0x02 with status -1 (what clients show as "signed off by the server" and do not reconnect
 * after) and its buddies see it go offline exactly as a sign-off.  deleted: the account is gone (the
 * caller asked the store), so others stop watching it too.  Returns 1 when a session ended. */
int login_revoke(struct server *srv, const char *user, int deleted);

#endif
