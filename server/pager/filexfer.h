/* File transfer, YMSG 15/16 (0xDC offer / answers, 0xDD relay info, 0xDE receiver's ack) through
 * ymsgd's own relay (http/relay.h).  The flow, the key sets and the rules: docs/FILE_TRANSFER.md.
 *
 * Invisibility (YMSG.md §8.2 rules 6, 8, 14): an offer is passed on only when the sender may know the
 * receiver is online (can_see, or the receiver talked to it); every other case (offline, invisible or
 * stealthed to the sender, ignoring it, unknown) gets one and the same "not online" answer.  An offer
 * reveals an invisible sender to its receiver only (like an IM).  Answers go back only to a user whose
 * offer it was, or one the answering user may know is online. */
#ifndef YMSGD_FILEXFER_H
#define YMSGD_FILEXFER_H

#include "server.h"

void ft_handle_filetrans(struct conn *c, const struct ymsg_packet *pkt); /* 0xDC */
void ft_handle_info(struct conn *c, const struct ymsg_packet *pkt);      /* 0xDD */
void ft_handle_accept(struct conn *c, const struct ymsg_packet *pkt);    /* 0xDE */
/* Hooks the relay's own ends of transfers (upload cut, expiry) so the users are told. */
void ft_attach(struct server *srv);

#endif
