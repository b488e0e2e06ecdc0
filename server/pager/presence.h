/* Presence and invisibility.
 *
 * can_see() is the single decision point for "may viewer learn that target is online?".  Every packet
 * that carries presence, or that could make the target's client answer automatically, is routed
 * through it (here, in im.c and in buddy.c).  To anyone it returns 0 for, an invisible user is
 * indistinguishable from an offline one (YMSG.md §8.2):
 *  - going invisible and signing off both produce exactly `0x02 status 1, 7=<id>` (rule 1, 9);
 *  - status/idle/custom-message changes of an invisible user reach only viewers who can see them
 *    (rule 2, 11); login/logout while invisible send nothing (rule 9);
 *  - online lists (0xF0 / 0x01, 0x0A refresh) omit them (rule 10).
 *
 * Transitions are computed, not guessed: pres_begin() records, for every watcher (a user with target
 * on their authorised buddy list, or just one named viewer), whether they could see target; the
 * caller changes state; pres_end() sends came-online / went-offline / status-change packets only to
 * those whose answer changed (or, for status changes, who can still see).  So nobody ever receives
 * "offline" twice, and nothing is sent to those who could not and still cannot see. */
#ifndef YMSGD_PRESENCE_H
#define YMSGD_PRESENCE_H

#include "server.h"

/* 1 when viewer may learn that target is online: target is logged in, does not ignore viewer, has
 * not set permanent stealth (0xB9) for viewer, and is either visible or has revealed itself to viewer
 * for this session (0xBA).  A user always sees himself.  Store errors answer 0. */
int can_see(struct server *srv, const char *viewer, const char *target);

struct pres_entry {
    char name[NAME_MAX_LEN + 1]; /* viewer */
    uint8_t before;              /* could see target at pres_begin() */
};

struct pres_snap {
    char target[NAME_MAX_LEN + 1]; /* whose presence changes */
    struct pres_entry *v;          /* watchers that were online at pres_begin() */
    size_t n;                      /* entries in v */
};

/* only_viewer = NULL: all watchers of target; otherwise just that user (if a watcher, or about to be).
 * -1 (logged) when memory ran out and some watchers are missing from the snapshot: they will not hear
 * of this change.  pres_end() must be called either way. */
int pres_begin(struct server *srv, const char *target, const char *only_viewer, struct pres_snap *s);
/* status_changed: also send 0xC6 / 0x03 / 0x04 to viewers who could and still can see target. */
void pres_end(struct server *srv, struct pres_snap *s, int status_changed);

/* The watch index: for every id, the online sessions of this node that have it authorised (pending = 0) on their buddy list, so a presence change of that id
 * reaches its watchers with no store query (issue 12: a login with 500 online buddies made 500 look-ups).  A session enters it at login from the list
 * it reads anyway (buddy_send_list) and leaves it when freed; the buddy handlers keep it in step with
 * the rows they change.  Each session also keeps its entries in list order, which is its online list.
 * presence_watch: 0, or -1 (logged) when out of memory.  Calls for a session not yet or no longer
 * registered are harmless: look-ups only count the registered session of each id. */
int presence_watch(struct conn *c, const char *target);
void presence_unwatch(struct conn *c, const char *target);
void presence_unwatch_all(struct conn *c);
/* target's account is gone (`ymsgd user del` removed every row naming it): nobody watches it any more,
 * so a new account of that name is not shown to the old account's buddies (in a cluster: on every node,
 * which each run presence_forget_here). */
void presence_forget(struct server *srv, const char *target);
void presence_forget_here(struct server *srv, const char *target);
/* Cluster: the index holds this node's sessions only; every node tells its own watchers of another
 * node's session when its record comes (server/cluster/cluster.h).  presence_watch / presence_unwatch
 * of another node's session (an authorisation answered here) only tell its node (session_hooks.watch),
 * which keeps it in its index.
 * 1 when viewer is a session of this node and watches target. */
int presence_watches(struct server *srv, const char *viewer, const char *target);

/* Sends c the online buddies it can see (0xF0 list for YMSG >= 13, 0x01 for older clients). */
int presence_send_online_list(struct conn *c); /* -1 (logged, nothing sent) when memory ran out */
/* Applies the initial presence from the 0x54 header status. */
void presence_set_initial(struct conn *c, uint32_t status);

/* Client packets: 0xC6, 0xC5, 0x03, 0x04 (status), 0xB9 / 0xBA (stealth), 0x0A (refresh). */
void presence_handle_status(struct conn *c, const struct ymsg_packet *pkt);
void presence_handle_stealth(struct conn *c, const struct ymsg_packet *pkt);

#endif
