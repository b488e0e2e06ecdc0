/* Instant messages (0x06), offline messages, typing (0x4B) and the other person-to-person packets.
 *
 * Policy (YMSG.md §8.2; also docs/ymsgd.8 "INVISIBILITY" and "OFFLINE MESSAGES"):
 *  - A sender who may know the recipient is online (it can see them, or the recipient sent it an IM in
 *    this session) gets a plain live delivery and no answer.
 *  - Any other sender must not learn whether the recipient is online, invisible or stealthed to it,
 *    offline, or ignoring it (rules 7, 8, 14).  Its message takes one path whatever the recipient's
 *    state, doing the same work in the same order (exists, ignored, box quota, store write, build the
 *    recipient's packet): it goes into the recipient's box; when the recipient is online (and not
 *    ignoring) the row is marked delivered and the packet handed over live.  A delivered row keeps no
 *    text but counts towards the box (offline_max) and the sender's quota (offline_per_sender) until
 *    the recipient's next login, exactly as an undelivered one would.  So the one answer the sender can
 *    get, 0x06 status 2 "not sent" when the box or its quota is full, comes after the same number of
 *    messages in every case.  What a sender can still learn, by filling its quota and trying again
 *    later, is that the recipient has logged in since (a login empties the box, invisible or not) —
 *    the same that a reply would tell; not whether the recipient is online now.
 *  - A recipient that does not exist: nothing is stored and nothing answered (existence is not presence).
 *  - Live deliveries to a recipient invisible to the sender have the IMVironment keys 63/64
 *    neutralised so the recipient's client cannot auto-reply (rule 4).  Recipients' 0xFB acks are
 *    never relayed.
 *  - Offline messages are sent at login in pages (offline.h) and deleted once written to the socket.
 *  - Typing, IMVironment, picture, file, webcam, voice, game and audible packets are relayed only
 *    between users who can see each other in both directions (rules 3–6); P2P (0x4F) is never
 *    relayed (rule 13: it carries IP addresses). */
#ifndef YMSGD_IM_H
#define YMSGD_IM_H

#include "server.h"

void im_handle_message(struct conn *c, const struct ymsg_packet *pkt);
void im_handle_relay(struct conn *c, const struct ymsg_packet *pkt);
/* c talked to `to` (an IM, a file offer): `to` may now know c is online, on any node. */
void im_note_talked(struct conn *c, const char *to);

#endif
