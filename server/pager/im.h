/* Instant messages (0x06), offline messages, typing (0x4B) and the other person-to-person packets.
 *
 * Policy (YMSG.md §8.2; also docs/ymsgd.8 "INVISIBILITY"):
 *  - The sender of a 0x06 never learns anything about delivery: no error, no ack, no echo, whether
 *    the recipient is online, invisible, offline (stored), ignoring them, or does not exist (rules
 *    7, 8, 14).  Recipients' 0xFB acks are never relayed.
 *  - Messages to an online recipient are delivered live even when the recipient is invisible to the
 *    sender (as the real service did); then the IMVironment keys 63/64 are neutralised so the
 *    recipient's client cannot auto-reply (rule 4).
 *  - Messages to an offline recipient are stored (up to offline_max) and delivered once, in order,
 *    at the next login; they are deleted only after the bytes were written to the socket.
 *  - Typing, IMVironment, picture, file, webcam, voice, game and audible packets are relayed only
 *    between users who can see each other in both directions (rules 3–6); P2P (0x4F) is never
 *    relayed (rule 13: it carries IP addresses). */
#ifndef YMSGD_IM_H
#define YMSGD_IM_H

#include "server.h"

void im_handle_message(struct conn *c, const struct ymsg_packet *pkt);
void im_handle_relay(struct conn *c, const struct ymsg_packet *pkt);
/* Sends c its stored offline messages (0x06 status 5, 31=6 32=6 per message). */
void im_deliver_offline(struct conn *c);

#endif
