/* Conferences (services 0x18-0x1D): ad-hoc rooms a user invites buddies into.
 *
 * The table (room name -> participants, each joined or invited) is the server's; whatever member
 * lists a client sends (3, 52, 53) and its 1/50 are ignored: the acting user is the session's and
 * every name sent out comes from the table, so nobody can speak for another, act on a room it is not
 * in, or take over a room another user made.  Key sets, statuses, rules, the invisibility rule and
 * the limits (conf_max_members, conf_max_per_user, conf_invite_rate, conf_max_message) are in
 * docs/CONFERENCES.md.  Packets leave through delivery_to_user() (a recipient that ignores the actor
 * gets nothing); who may appear to whom is can_see() plus what a participant revealed by taking part.
 * The table is node-local (docs/CONFERENCES.md §7). */
#ifndef YMSGD_CONF_H
#define YMSGD_CONF_H

#include "server.h"

void conf_handle_invite(struct conn *c, const struct ymsg_packet *pkt);    /* 0x18 */
void conf_handle_logon(struct conn *c, const struct ymsg_packet *pkt);     /* 0x19 */
void conf_handle_decline(struct conn *c, const struct ymsg_packet *pkt);   /* 0x1A */
void conf_handle_logoff(struct conn *c, const struct ymsg_packet *pkt);    /* 0x1B */
void conf_handle_addinvite(struct conn *c, const struct ymsg_packet *pkt); /* 0x1C */
void conf_handle_message(struct conn *c, const struct ymsg_packet *pkt);   /* 0x1D */

/* user's session ended (sign-off, kick, disconnect, a newer login): it leaves every conference it
 * joined (the others are told, as for 0x1B) and its invitations lapse. */
void conf_user_gone(struct server *srv, const char *user);

/* Conferences open (tests, fuzz invariants). */
size_t conf_count(struct server *srv);

/* Drops idle entries of the invitation rate table (the server's periodic sweep). */
void conf_sweep(struct server *srv);
/* Frees the table (server shutdown). */
void conf_free(struct server *srv);

#endif
