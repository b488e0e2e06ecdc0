/* Conferences and chat rooms across the nodes of a cluster (docs/CONFERENCES.md §7, CHAT_ROOMS.md §6).
 *
 * Every node keeps a replica of the conference table and of room membership; a handler runs on the
 * node of the session whose packet it is, against that replica, and fans out with delivery_to_user()
 * (members on other nodes are reached through their mirrors).  What it changed goes to every other node
 * on ymsg:all, queued before the packets the change sends, so that a node learns of an invitation or a
 * join before its sessions can act on it (Redis delivers a node's publications in order, and anything
 * published after a node received one of them reaches the others after it too):
 *   C  a conference's state as a register per participant: its state (invited, joined, gone) stamped
 *      with the conference's Lamport clock and the node that changed it, and its reveal bits; a node
 *      merges it participant by participant (the later stamp wins; reveal bits of one incarnation add
 *      up), so two changes made at once on two nodes both stay and every node ends with the same state
 *      whatever order the copies came in (conf_apply);
 *   R  one member's join or leave of one room (a set operation: the order of two nodes' changes to
 *      different members does not matter).
 * A node found dead: each other node takes the dead node's users out of its replica and tells only its
 * own members (conf_node_lost, chat_node_lost), so each member hears it once.  A node seen for the first
 * time (started, or restarted as a new incarnation) gets this node's part of the groups announced
 * (C frames with flag 1: installed only where missing; R joins: no-ops where known). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "conf.h"
#include "log.h"
#include "pwshare.h"
#include "wire.h"

/* The hooks the pager calls (server.h struct group_hooks) and the node name they carry. */
struct cl_groups {
    struct group_hooks hooks;       /* srv->groups points here */
    struct cluster *cl;             /* where frames are queued */
    char node[WIRE_NODE_MAX + 1];   /* this node */
};

static void gr_conf_changed(struct server *srv, const struct conf_snap *s, const char *actor)
{
    const struct cl_groups *g = (const struct cl_groups *)srv->groups;
    struct wire_buf b = {0};
    if (wire_put_conf(&b, s) == 0) {
        struct wire_frame f = {WIRE_CONF, s->announce, "", 0, b.p, (uint32_t)b.len};
        snprintf(f.user, sizeof f.user, "%s", actor);
        cl_queue_all(g->cl, &f);
    } else {
        log_event(LOG_ERROR, NULL, actor, "out_of_memory", 0, "conference %s not replicated", s->room);
    }
    wire_buf_free(&b);
}

static void gr_chat_changed(struct server *srv, int op, const char *user, const char *room, size_t len)
{
    const struct cl_groups *g = (const struct cl_groups *)srv->groups;
    struct wire_frame f = {WIRE_ROOM, (uint8_t)(op != 0), "", 0, (const uint8_t *)room, (uint32_t)len};
    snprintf(f.user, sizeof f.user, "%s", user);
    cl_queue_all(g->cl, &f);
}

int cl_groups_attach(struct cluster *cl, struct server *srv, const char *node)
{
    struct cl_groups *g = calloc(1, sizeof *g);
    if (!g) return -1;
    g->cl = cl;
    snprintf(g->node, sizeof g->node, "%s", node);
    g->hooks.node = g->node;
    g->hooks.conf_changed = gr_conf_changed;
    g->hooks.chat_changed = gr_chat_changed;
    srv->groups = &g->hooks; /* first member: the struct's address */
    return 0;
}

void cl_groups_detach(struct server *srv)
{
    free((struct cl_groups *)srv->groups);
    srv->groups = NULL;
}

void cl_groups_frame(struct server *srv, const char *node, const struct wire_frame *f)
{
    if (f->type == WIRE_CONF) {
        static struct conf_snap s; /* 20 KiB: not on the stack (one loop thread) */
        if (wire_get_conf(f->data, f->len, &s) < 0) {
            log_event(LOG_WARN, NULL, f->user, "cluster_bad_conference", 0, "from node %s: ignored", node);
            return;
        }
        s.announce = f->flag == 1;
        conf_apply(srv, &s, node);
    } else if (f->type == WIRE_ROOM) {
        if (!srv->chat) return; /* no rooms here: nothing to follow */
        if (f->flag > 1 || f->len == 0 || f->len > CHAT_KEY_MAX || memchr(f->data, 0, f->len)) {
            log_event(LOG_WARN, NULL, f->user, "cluster_bad_room", f->flag, "from node %s: ignored", node);
            return;
        }
        chat_remote(srv->chat, f->flag, f->user, (const char *)f->data, f->len);
    }
}

void cl_groups_announce(struct server *srv)
{
    conf_announce(srv);
    if (srv->chat) chat_announce(srv->chat);
}

void cl_groups_node_lost(struct server *srv, const char *user)
{
    conf_node_lost(srv, user);
    if (srv->chat) chat_node_lost(srv->chat, user);
}

void cl_groups_rejoin(struct server *srv)
{
    conf_rejoin(srv);
    if (srv->chat) chat_rejoin(srv->chat);
}
