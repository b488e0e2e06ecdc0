/* Buddy list, groups, authorisation and ignore list (YMSG.md §6): the login-time lists (0xF1 for
 * YMSG 13+, 0x55 for older clients), pending authorisation requests (0xD6 status 3), and the client
 * operations 0x83 add, 0x84 remove, 0xE7 move, 0x89 rename group, 0x85 ignore, 0xD6 answer.
 * Acks never depend on whether the other user is online or invisible (§8.2 rule 10). */
#ifndef YMSGD_BUDDY_H
#define YMSGD_BUDDY_H

#include "server.h"
#include "store.h"

/* Sends the login-time list and loads c's ignore list and permanent-stealth set into memory (the
 * copies can_see() uses while c is online).  -1 (logged) when memory ran out: the sets would be
 * incomplete, so the caller must not let c on line. */
int buddy_send_list(struct conn *c);
/* Sends the stored authorisation requests addressed to c.  -1 (logged) when some could not be read
 * into memory; they stay stored and go out at the next login. */
int buddy_send_authreqs(struct conn *c);
/* The same two from rows read beforehand (a login reads them on the store worker: buddy_rows_fetch
 * runs on any thread, with the store it is given; NULL when out of memory). */
struct buddy_rows;
struct buddy_rows *buddy_rows_fetch(struct store *st, const char *user);
int buddy_send_list_rows(struct conn *c, struct buddy_rows *r);
int buddy_send_authreqs_rows(struct conn *c, struct buddy_rows *r);
void buddy_rows_free(struct buddy_rows *r);

void buddy_handle_add(struct conn *c, const struct ymsg_packet *pkt);
void buddy_handle_remove(struct conn *c, const struct ymsg_packet *pkt);
void buddy_handle_move(struct conn *c, const struct ymsg_packet *pkt);
void buddy_handle_rename_group(struct conn *c, const struct ymsg_packet *pkt);
void buddy_handle_ignore(struct conn *c, const struct ymsg_packet *pkt);
void buddy_handle_auth(struct conn *c, const struct ymsg_packet *pkt);

#endif
