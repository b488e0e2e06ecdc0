/* Conferences (services 0x18-0x1D): ad-hoc rooms a user invites buddies into.
 *
 * The table (room name -> participants, each joined or invited) is the server's; whatever member
 * lists a client sends (3, 52, 53) and its 1/50 are ignored: the acting user is the session's and
 * every name sent out comes from the table, so nobody can speak for another, act on a room it is not
 * in, or take over a room another user made.  Key sets, statuses, rules, the invisibility rule and
 * the limits (conf_max_members, conf_max_per_user, conf_invite_rate, conf_max_message) are in
 * docs/CONFERENCES.md.  Packets leave through delivery_to_user() (a recipient that ignores the actor
 * gets nothing); who may appear to whom is can_see() plus what a participant revealed by taking part.
 * In a cluster every node keeps a replica of the table (docs/CONFERENCES.md §7): each change made here
 * goes out whole (struct conf_snap, srv->groups) and conf_apply() merges another node's into this one's,
 * participant by participant (the later stamp wins), so two changes made at once on two nodes both stay. */
#ifndef YMSGD_CONF_H
#define YMSGD_CONF_H

#include <stdint.h>

#include "server.h"

#define CONF_MAX_PARTS 64 /* hard cap of conf_max_members: one bit per participant in `shown` */
#define CONF_ROOM_MAX 255 /* bytes of a room name */

#define CONF_GONE_MAX 64   /* departed participants a conference remembers (cluster: tombstones) */
#define CONF_NODE_MAX 47   /* bytes of a node name in a stamp (= WIRE_NODE_MAX) */

/* When a participant's state last changed: a Lamport clock of the conference and the node that made the
 * change; ordered by ver, then node name (strcmp).  One node: node "". */
struct conf_stamp {
    uint64_t ver;                  /* the conference's clock at the change */
    char node[CONF_NODE_MAX + 1];  /* the node that made it */
};
int conf_stamp_cmp(const struct conf_stamp *a, const struct conf_stamp *b); /* <0, 0, >0 */

enum conf_state { CONF_INVITED = 0, CONF_JOINED = 1, CONF_GONE = 2 };

/* One conference as the cluster replicates it: a register per participant (docs/CONFERENCES.md §7).
 * Entries: the participants present first (at most CONF_MAX_PARTS; `shown` bit j = revealed to entry j),
 * then the departed ones (at most CONF_GONE_MAX: state CONF_GONE, no `added`, no `shown`). */
struct conf_snap_part {
    char name[NAME_MAX_LEN + 1]; /* the participant */
    uint8_t state;               /* enum conf_state */
    struct conf_stamp st;        /* its state's last change */
    struct conf_stamp added;     /* the change that made it a participant (its incarnation; zero when gone) */
    uint64_t shown;              /* bit j: revealed itself to the participant in entry j */
};
struct conf_snap {
    char room[CONF_ROOM_MAX + 1];               /* room name */
    uint64_t version;                           /* the conference's clock (>= every stamp in it) */
    uint32_t nparts;                            /* entries */
    uint8_t announce;                           /* not a change: for a node that lacks it (conf_announce) */
    struct conf_snap_part parts[CONF_MAX_PARTS + CONF_GONE_MAX]; /* the entries */
};

void conf_handle_invite(struct conn *c, const struct ymsg_packet *pkt);    /* 0x18 */
void conf_handle_logon(struct conn *c, const struct ymsg_packet *pkt);     /* 0x19 */
void conf_handle_decline(struct conn *c, const struct ymsg_packet *pkt);   /* 0x1A */
void conf_handle_logoff(struct conn *c, const struct ymsg_packet *pkt);    /* 0x1B */
void conf_handle_addinvite(struct conn *c, const struct ymsg_packet *pkt); /* 0x1C */
void conf_handle_message(struct conn *c, const struct ymsg_packet *pkt);   /* 0x1D */

/* user's session ended (sign-off, kick, disconnect, a newer login): it leaves every conference it
 * joined (the others are told, as for 0x1B) and its invitations lapse. */
void conf_user_gone(struct server *srv, const char *user);

/* Merges another node's copy of a conference (writer: that node) into this one's: per participant the
 * later stamp wins, reveal bits of one incarnation add up; an announced one (s->announce) only when this
 * node has none open.  Every node that merged the same copies holds the same state, in any order. */
void conf_apply(struct server *srv, const struct conf_snap *s, const char *writer);
/* A node joined the cluster (or came back): each conference whose first member's session is on this node
 * goes out as it is, for the nodes that lack it (one node announces each). */
void conf_announce(struct server *srv);
/* user's node died: it leaves its conferences here, only this node's members are told (every node
 * does the same for its own), nothing is republished. */
void conf_node_lost(struct server *srv, const char *user);
/* This node was declared dead by the others and came back: each conference with a member here is published
 * again with new stamps for those members (newer than the departures the others recorded for them) and the
 * members elsewhere are told ours joined again. */
void conf_rejoin(struct server *srv);

/* Room's state as this node would send it (open, or ended and still remembered): 0, or -1 unknown
 * (tests: replicas compared). */
int conf_snapshot(struct server *srv, const char *room, struct conf_snap *s);
/* Conferences open (tests, fuzz invariants). */
size_t conf_count(struct server *srv);

/* Drops idle entries of the invitation rate table (the server's periodic sweep). */
void conf_sweep(struct server *srv);
/* Frees the table (server shutdown). */
void conf_free(struct server *srv);

#endif
