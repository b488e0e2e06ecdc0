/* Conferences; see conf.h and docs/CONFERENCES.md. */
#include "conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "grow.h"
#include "hmap.h"
#include "log.h"
#include "presence.h"
#include "ratelimit.h"
#include "sessions.h"

/* Conference keys (docs/CONFERENCES.md §1-3); not in libymsg's key table. */
#define CONF_KEY_HOST 50     /* inviter */
#define CONF_KEY_INVITEE 51  /* invitee(s) of a 0x1C (OpenYMSG: comma-separated) */
#define CONF_KEY_INVITED 52  /* invitees of a 0x18 */
#define CONF_KEY_JOINED 53   /* a joined member: 0x19 "who", the member list of an invitation */
#define CONF_KEY_DECLINER 54 /* 0x1A "who" */
#define CONF_KEY_LEAVER 56   /* 0x1B "who" */
#define CONF_KEY_ROOM 57     /* the room name */
#define CONF_KEY_INVMSG 58   /* invitation text */
#define CONF_STATUS_OTHERS 11 /* 0x1C to members: "someone else was invited" (Pidgin ignores it) */

struct conf_part {
    char name[NAME_MAX_LEN + 1]; /* the participant; "" = free slot */
    uint8_t joined;              /* 1 = member, 0 = invited */
    uint64_t shown;              /* bit i: revealed itself to the participant in slot i (§5) */
    struct conf_stamp st;        /* its state's last change (cluster merge, §7) */
    struct conf_stamp added;     /* the change that made it a participant: its incarnation */
};

/* A participant that left (declined, left, lapsed), remembered so that an older copy from another
 * node does not bring it back (cluster only; forgotten after cluster_node_timeout_ms). */
struct conf_gone {
    char name[NAME_MAX_LEN + 1]; /* who */
    struct conf_stamp st;        /* the change that took it out */
    double at;                   /* rl_now() when this node learnt it */
};

struct conf_room {
    char name[CONF_ROOM_MAX + 1]; /* hmap key */
    struct conf_part *parts;      /* slots; never compacted, so slot numbers (bits of `shown`) stay */
    size_t nslots, cap;           /* slots in use or freed / allocated */
    unsigned njoined;             /* members */
    unsigned nparts;              /* members + invitees */
    uint64_t clock;               /* Lamport clock: >= every stamp it holds; a change here stamps clock + 1 */
    struct conf_gone *gone;       /* departed participants (cluster only), oldest first */
    size_t ngone, gcap;           /* used / allocated */
    double ended;                 /* in the graves table: rl_now() when it ended */
};

struct conf_user {
    char name[NAME_MAX_LEN + 1]; /* hmap key */
    struct conf_room **rooms;    /* rooms it is a participant of */
    size_t n, cap;               /* used / allocated */
    unsigned joined;             /* ... of which it joined (conf_max_per_user) */
};

struct conf_table {
    struct hmap rooms;      /* name -> struct conf_room */
    struct hmap users;      /* user -> struct conf_user (only while it takes part somewhere) */
    struct rl_table invite; /* user -> invitation bucket (conf_invite_rate) */
    struct hmap graves;     /* ended conferences (cluster): their departed, against late copies (§7) */
};

/* Set while a dead node's users leave (conf_node_lost): only this node's members are told, and
 * nothing is republished (every node does the same for its own members). */
static int conf_quiet;

static struct conf_table *conf_table(struct server *srv)
{
    if (srv->conf) return srv->conf;
    struct conf_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    hmap_init(&t->rooms);
    hmap_init(&t->users);
    hmap_init(&t->graves);
    rl_init(&t->invite, (size_t)srv->cfg->max_tracked, 1.0, 1.0);
    srv->conf = t;
    return t;
}

/* ---- table bookkeeping ------------------------------------------------------------------------ */

int conf_stamp_cmp(const struct conf_stamp *a, const struct conf_stamp *b)
{
    if (a->ver != b->ver) return a->ver < b->ver ? -1 : 1;
    return strcmp(a->node, b->node);
}

/* The stamp of a change made here now (a conference's changes on one node are totally ordered). */
static struct conf_stamp conf_tick(struct server *srv, struct conf_room *r)
{
    struct conf_stamp st = {++r->clock, ""};
    if (srv->groups) snprintf(st.node, sizeof st.node, "%s", srv->groups->node);
    return st;
}

static int conf_gone_find(const struct conf_room *r, const char *name)
{
    for (size_t g = 0; g < r->ngone; g++)
        if (strcmp(r->gone[g].name, name) == 0) return (int)g;
    return -1;
}

static void conf_gone_del(struct conf_room *r, size_t g)
{
    memmove(&r->gone[g], &r->gone[g + 1], (r->ngone - g - 1) * sizeof *r->gone);
    r->ngone--;
}

/* Remembers that name left at st (cluster only: one node has no late copies to guard against).  The
 * oldest memory makes room for a new one past CONF_GONE_MAX; out of memory, it is not remembered. */
static void conf_gone_put(struct server *srv, struct conf_room *r, const char *name, const struct conf_stamp *st)
{
    if (!srv->groups) return;
    int g = conf_gone_find(r, name);
    if (g >= 0) {
        if (conf_stamp_cmp(st, &r->gone[g].st) > 0) r->gone[g].st = *st;
        return;
    }
    if (r->ngone == CONF_GONE_MAX) conf_gone_del(r, 0);
    if (grow_array((void **)&r->gone, &r->gcap, r->ngone, sizeof *r->gone, 4) < 0) return;
    struct conf_gone *e = &r->gone[r->ngone++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->st = *st;
    e->at = rl_now();
}

static struct conf_user *conf_user_get(struct conf_table *t, const char *name, int create)
{
    struct conf_user *u = hmap_get(&t->users, name);
    if (u || !create) return u;
    u = calloc(1, sizeof *u);
    if (!u) return NULL;
    snprintf(u->name, sizeof u->name, "%s", name);
    if (hmap_put(&t->users, u->name, u) < 0) {
        free(u);
        return NULL;
    }
    return u;
}

static void conf_user_unlink(struct conf_table *t, struct conf_user *u, struct conf_room *r)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->rooms[i] == r) {
            u->rooms[i] = u->rooms[--u->n];
            break;
        }
    if (u->n == 0) {
        hmap_del(&t->users, u->name);
        free(u->rooms);
        free(u);
    }
}

static int conf_find(const struct conf_room *r, const char *name)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->parts[i].name[0] && strcmp(r->parts[i].name, name) == 0) return (int)i;
    return -1;
}

/* Puts name into free slot i of r (i < r->nslots).  0, or -1 out of memory. */
static int conf_put(struct conf_table *t, struct conf_room *r, size_t i, const char *name, int joined)
{
    struct conf_user *u = conf_user_get(t, name, 1);
    if (!u) return -1;
    if (grow_array((void **)&u->rooms, &u->cap, u->n, sizeof *u->rooms, 4) < 0) {
        if (u->n == 0) conf_user_unlink(t, u, r);
        return -1;
    }
    struct conf_part *p = &r->parts[i];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->joined = (uint8_t)(joined != 0);
    u->rooms[u->n++] = r;
    r->nparts++;
    if (joined) {
        r->njoined++;
        u->joined++;
    }
    return 0;
}

/* Adds name to r (joined or invited): its slot, or -1 (room full, out of memory: logged by caller). */
static int conf_add(struct server *srv, struct conf_table *t, struct conf_room *r, const char *name, int joined)
{
    if (r->nparts >= (unsigned)srv->cfg->conf_max_members || r->nparts >= CONF_MAX_PARTS) return -1;
    size_t i = 0;
    while (i < r->nslots && r->parts[i].name[0]) i++;
    if (i == r->nslots) {
        if (grow_array((void **)&r->parts, &r->cap, r->nslots, sizeof *r->parts, 4) < 0) return -1;
        r->parts[i].name[0] = 0;
        r->nslots++;
    }
    if (conf_put(t, r, i, name, joined) < 0) return -1;
    r->parts[i].st = r->parts[i].added = conf_tick(srv, r); /* later than its departure, if any */
    int g = conf_gone_find(r, name);
    if (g >= 0) conf_gone_del(r, (size_t)g);
    return (int)i;
}

static void conf_set_joined(struct conf_table *t, struct conf_room *r, int i)
{
    struct conf_user *u = conf_user_get(t, r->parts[i].name, 0);
    r->parts[i].joined = 1;
    r->njoined++;
    if (u) u->joined++;
}

/* Frees slot i: nobody keeps a "revealed to i" bit (a newcomer in the slot must not inherit it). */
static void conf_remove(struct conf_table *t, struct conf_room *r, int i)
{
    struct conf_user *u = conf_user_get(t, r->parts[i].name, 0);
    if (r->parts[i].joined) {
        r->njoined--;
        if (u) u->joined--;
    }
    r->nparts--;
    r->parts[i].name[0] = 0;
    for (size_t k = 0; k < r->nslots; k++) r->parts[k].shown &= ~((uint64_t)1 << i);
    if (u) conf_user_unlink(t, u, r);
}

static struct conf_room *conf_create(struct conf_table *t, const char *name)
{
    struct conf_room *r = hmap_get(&t->graves, name);
    if (r) { /* it ended a moment ago: its clock and departed carry on, so its new changes are the later ones */
        hmap_del(&t->graves, name);
        if (hmap_put(&t->rooms, r->name, r) == 0) return r;
        free(r->gone);
        free(r->parts);
        free(r);
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) return NULL;
    snprintf(r->name, sizeof r->name, "%s", name);
    if (hmap_put(&t->rooms, r->name, r) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

/* The conference ended (no member left): its invitations lapse. */
static void conf_destroy(struct conf_table *t, struct conf_room *r)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->parts[i].name[0]) conf_remove(t, r, (int)i);
    hmap_del(&t->rooms, r->name);
    free(r->gone);
    free(r->parts);
    free(r);
}

/* Slot i leaves r at st: remembered as departed, then freed. */
static void conf_depart(struct server *srv, struct conf_table *t, struct conf_room *r, int i, const struct conf_stamp *st)
{
    conf_gone_put(srv, r, r->parts[i].name, st);
    conf_remove(t, r, i);
}

static void conf_publish(struct server *srv, struct conf_room *r, const char *actor);

/* Nobody joined is left: the invitations lapse (each at its own stamp, so that an acceptance made at
 * once on another node wins over the lapse), the end goes out (actor's change; NULL: another node's,
 * merged here), and in a cluster the room is kept with its departed for cluster_node_timeout_ms against
 * late copies (conf_apply), else freed. */
static void conf_bury(struct server *srv, struct conf_table *t, struct conf_room *r, const char *actor)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->parts[i].name[0]) {
            struct conf_stamp st = r->parts[i].st;
            conf_depart(srv, t, r, (int)i, &st);
        }
    if (actor) conf_publish(srv, r, actor);
    if (!srv->groups) {
        conf_destroy(t, r);
        return;
    }
    hmap_del(&t->rooms, r->name);
    struct conf_room *old = hmap_get(&t->graves, r->name);
    if (old && old != r) { /* cannot happen: a room leaves the graves when it opens again */
        hmap_del(&t->graves, old->name);
        free(old->gone);
        free(old->parts);
        free(old);
    }
    r->ended = rl_now();
    if (hmap_put(&t->graves, r->name, r) < 0) {
        free(r->gone);
        free(r->parts);
        free(r);
    }
}

/* May viewer (slot v) be told about subject (slot s)?  can_see(), or s revealed itself to v here. */
static int conf_visible(struct server *srv, const struct conf_room *r, int v, int s)
{
    return v == s || (r->parts[s].shown >> v & 1) || can_see(srv, r->parts[v].name, r->parts[s].name);
}

static void conf_reveal(struct conf_room *r, int s, int v) { r->parts[s].shown |= (uint64_t)1 << v; }

/* In a cluster: r changed here (actor's packet), every other node gets its new state.  Called before
 * the packets the change sends, so a node hears of the change before its sessions can answer them. */
/* r as the cluster sees it: the present participants (slot numbers become entry numbers), then the
 * departed. */
static void conf_snap_of(const struct conf_room *r, struct conf_snap *s)
{
    int map[CONF_MAX_PARTS]; /* slot -> entry */
    uint32_t n = 0;
    memset(s, 0, sizeof *s);
    snprintf(s->room, sizeof s->room, "%s", r->name);
    s->version = r->clock;
    for (size_t i = 0; i < r->nslots; i++) {
        map[i] = -1;
        if (!r->parts[i].name[0]) continue;
        struct conf_snap_part *q = &s->parts[n];
        map[i] = (int)n++;
        memcpy(q->name, r->parts[i].name, sizeof q->name);
        q->state = r->parts[i].joined ? CONF_JOINED : CONF_INVITED;
        q->st = r->parts[i].st;
        q->added = r->parts[i].added;
    }
    for (size_t i = 0; i < r->nslots; i++) /* shown bits, from slot numbers to entry numbers */
        for (size_t k = 0; map[i] >= 0 && k < r->nslots; k++)
            if (map[k] >= 0 && (r->parts[i].shown >> k & 1)) s->parts[map[i]].shown |= (uint64_t)1 << map[k];
    for (size_t g = 0; g < r->ngone; g++) {
        struct conf_snap_part *q = &s->parts[n++];
        memcpy(q->name, r->gone[g].name, sizeof q->name);
        q->state = CONF_GONE;
        q->st = r->gone[g].st;
    }
    s->nparts = n;
}

int conf_snapshot(struct server *srv, const char *room, struct conf_snap *s)
{
    struct conf_table *t = srv->conf;
    const struct conf_room *r = t ? hmap_get(&t->rooms, room) : NULL;
    if (!r && t) r = hmap_get(&t->graves, room);
    if (!r) return -1;
    conf_snap_of(r, s);
    return 0;
}

static void conf_send(struct server *srv, const struct conf_room *r, const char *actor, int announce)
{
    static struct conf_snap s; /* 20 KiB: not on the stack (one loop thread) */
    conf_snap_of(r, &s);
    s.announce = (uint8_t)announce;
    srv->groups->conf_changed(srv, &s, actor);
}

static void conf_publish(struct server *srv, struct conf_room *r, const char *actor)
{
    if (!srv->groups || conf_quiet) return;
    conf_send(srv, r, actor, 0);
}

void conf_announce(struct server *srv)
{
    struct conf_table *t = srv->conf;
    if (!t || !srv->groups) return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&t->rooms, &pos, &k, &v)) {
        const struct conf_room *r = v;
        size_t i = 0;
        while (i < r->nslots && !(r->parts[i].name[0] && r->parts[i].joined)) i++;
        if (i < r->nslots && sessions_local(srv, r->parts[i].name)) conf_send(srv, r, r->parts[i].name, 1);
    }
}

/* ---- packets ------------------------------------------------------------------------------------ */

/* What a packet to one recipient is made of (delivery_build_fn's argument). */
struct conf_out {
    const struct conf_room *r;  /* the room (57) */
    const char *to;             /* recipient (1) */
    uint32_t who_key;           /* 53, 54, 56 or 3: the key naming `who` */
    const char *who;            /* the actor */
    const struct ymsg_kv *text; /* 14 (0x1A, 0x1D) or NULL */
    int utf8;                   /* add 97=1 */
};

static void conf_build_notice(struct ymsg_builder *b, void *arg)
{
    const struct conf_out *o = arg;
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, o->to);
    ymsg_build_str(b, o->who_key, o->who);
    ymsg_build_str(b, CONF_KEY_ROOM, o->r->name);
    if (o->text) ymsg_build_kv(b, YMSG_KEY_MSG, o->text->val, o->text->len);
    if (o->utf8) ymsg_build_str(b, YMSG_KEY_UTF8, "1");
}

/* One notice (service, who_key = who) to every member but `skip` that may see slot `who`. */
static void conf_tell_members(struct server *srv, const struct conf_room *r, int who, int skip, uint16_t service,
                              uint32_t who_key, const struct ymsg_kv *text, int utf8)
{
    for (size_t v = 0; v < r->nslots; v++) {
        if ((int)v == skip || !r->parts[v].name[0] || !r->parts[v].joined) continue;
        if (!conf_visible(srv, r, (int)v, who)) continue;
        if (conf_quiet && !sessions_local(srv, r->parts[v].name)) continue; /* its own node tells it */
        struct conf_out o = {r, r->parts[v].name, who_key, r->parts[who].name, text, utf8};
        delivery_to_user(srv, o.to, o.who, service, YMSG_PKT_SERVERACK, conf_build_notice, &o);
    }
}

struct conf_invite_out {
    struct server *srv;           /* for conf_visible */
    const struct conf_room *r;    /* the room */
    int inviter, invitee;         /* slots */
    const struct ymsg_kv *text;   /* 58, or NULL */
    int utf8;                     /* add 97=1 */
};

static void conf_build_invite(struct ymsg_builder *b, void *arg)
{
    const struct conf_invite_out *o = arg;
    const struct conf_room *r = o->r;
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, r->parts[o->invitee].name);
    ymsg_build_str(b, CONF_KEY_HOST, r->parts[o->inviter].name);
    ymsg_build_str(b, CONF_KEY_ROOM, r->name);
    if (o->text) ymsg_build_kv(b, CONF_KEY_INVMSG, o->text->val, o->text->len);
    else ymsg_build_str(b, CONF_KEY_INVMSG, "");
    if (o->utf8) ymsg_build_str(b, YMSG_KEY_UTF8, "1");
    ymsg_build_str(b, CONF_KEY_INVITED, r->parts[o->invitee].name);
    for (size_t m = 0; m < r->nslots; m++) {
        if (!r->parts[m].name[0] || !r->parts[m].joined || (int)m == o->inviter) continue;
        if (conf_visible(o->srv, r, o->invitee, (int)m)) ymsg_build_str(b, CONF_KEY_JOINED, r->parts[m].name);
    }
    ymsg_build_str(b, YMSG_KEY_FLAG, "0");
}

/* The members an invitation lists are known to the invitee from then on (their leave is news). */
static void conf_mark_listed(struct server *srv, struct conf_room *r, int inviter, int invitee)
{
    for (size_t m = 0; m < r->nslots; m++) {
        if (!r->parts[m].name[0] || !r->parts[m].joined || (int)m == inviter) continue;
        if (conf_visible(srv, r, invitee, (int)m)) conf_reveal(r, (int)m, invitee);
    }
}

struct conf_others_out {
    const struct conf_room *r; /* the room */
    const char *to;            /* the member told */
    const char *inviter;       /* 50 */
    char (*names)[NAME_MAX_LEN + 1]; /* 51 each */
    size_t n;                  /* entries in names */
};

static void conf_build_others(struct ymsg_builder *b, void *arg)
{
    const struct conf_others_out *o = arg;
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, o->to);
    ymsg_build_str(b, CONF_KEY_HOST, o->inviter);
    for (size_t i = 0; i < o->n; i++) ymsg_build_str(b, CONF_KEY_INVITEE, o->names[i]);
    ymsg_build_str(b, CONF_KEY_ROOM, o->r->name);
    ymsg_build_str(b, YMSG_KEY_FLAG, "0");
}

/* 0x1A to the inviter: the same packet whatever made the invitee unavailable (§4). */
static void conf_unavailable(struct conn *c, const struct conf_room *r, const char *who)
{
    char text[NAME_MAX_LEN + 32];
    snprintf(text, sizeof text, "%s is not available", who);
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CONFDECLINE, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_str(b, CONF_KEY_DECLINER, who);
    ymsg_build_str(b, CONF_KEY_ROOM, r->name);
    ymsg_build_str(b, YMSG_KEY_MSG, text);
    delivery_send(c);
}

/* 0x18 refusal: the room name belongs to a conference the sender is not a member of. */
static void conf_refuse(struct conn *c, const char *room)
{
    struct ymsg_builder *b = delivery_begin(c, YMSG_SVC_CONFINVITE, YMSG_PKT_SERVERACK);
    ymsg_build_str(b, YMSG_KEY_ACTIVE_ID, c->user);
    ymsg_build_str(b, CONF_KEY_ROOM, room);
    ymsg_build_str(b, YMSG_KEY_ERR_MSG, "conference name in use");
    delivery_send(c);
}

/* ---- handlers ----------------------------------------------------------------------------------- */

/* The room name (57): 1..CONF_ROOM_MAX bytes, no control bytes.  0, or -1 (logged). */
static int conf_room_name(struct conn *c, const struct ymsg_packet *pkt, char out[CONF_ROOM_MAX + 1])
{
    struct ymsg_kv kv;
    if (ymsg_get(pkt, CONF_KEY_ROOM, &kv) < 0 || kv.len == 0 || kv.len > CONF_ROOM_MAX) {
        log_event(LOG_DEBUG, c->peer, c->user, "conf_malformed", pkt->hdr.service, "no valid room name (57)");
        return -1;
    }
    for (size_t i = 0; i < kv.len; i++)
        if (kv.val[i] < 0x20 || kv.val[i] == 0x7f) {
            log_event(LOG_DEBUG, c->peer, c->user, "conf_malformed", pkt->hdr.service, "control byte in room name");
            return -1;
        }
    memcpy(out, kv.val, kv.len);
    out[kv.len] = 0;
    return 0;
}

/* Optional text key: 0 (absent: *has = 0), or -1 when longer than conf_max_message (logged). */
static int conf_text(struct conn *c, const struct ymsg_packet *pkt, uint32_t key, struct ymsg_kv *kv, int *has)
{
    *has = ymsg_get(pkt, key, kv) == 0;
    if (*has && kv->len > (size_t)c->srv->cfg->conf_max_message) {
        log_event(LOG_INFO, c->peer, c->user, "conf_too_long", (long)kv->len, "service 0x%x", pkt->hdr.service);
        return -1;
    }
    return 0;
}

static int conf_utf8(const struct ymsg_packet *pkt)
{
    struct ymsg_kv u;
    return ymsg_get(pkt, YMSG_KEY_UTF8, &u) == 0 && ymsg_kv_eq(&u, "1");
}

static void conf_dropped(struct conn *c, const struct ymsg_packet *pkt, const char *room, const char *why)
{
    log_event(LOG_DEBUG, c->peer, c->user, "conf_dropped", pkt->hdr.service, "room %s: %s", room, why);
}

/* A new room with c as its one member, or NULL (conf_max_per_user, memory: logged). */
static struct conf_room *conf_open(struct conn *c, struct conf_table *t, const char *room)
{
    struct conf_user *u = conf_user_get(t, c->user, 0);
    if (u && u->joined >= (unsigned)c->srv->cfg->conf_max_per_user) {
        log_event(LOG_INFO, c->peer, c->user, "conf_capped", (long)u->joined, "conf_max_per_user");
        return NULL;
    }
    struct conf_room *r = conf_create(t, room);
    if (r && conf_add(c->srv, t, r, c->user, 1) < 0) {
        conf_destroy(t, r);
        r = NULL;
    }
    if (!r) log_event(LOG_WARN, c->peer, c->user, "out_of_memory", 0, "conference");
    else conf_publish(c->srv, r, c->user);
    return r;
}

/* Invites one name (already normalized) on c's behalf; adds it to `told` for the members' notice. */
static int conf_invite_one(struct conn *c, struct conf_table *t, struct conf_room *r, int inviter, const char *name,
                           const struct ymsg_kv *text, int utf8)
{
    struct server *srv = c->srv;
    if (strcmp(name, c->user) == 0) return 0;
    t->invite.rate = (double)srv->cfg->conf_invite_rate / 60.0;
    t->invite.burst = (double)srv->cfg->conf_invite_rate;
    if (!rl_take(&t->invite, c->user, rl_now()) || !sessions_charge(c, 1)) {
        log_event(LOG_INFO, c->peer, c->user, "conf_invite_limited", 0, "conf_invite_rate or session_rate");
        return -1; /* stop: the rest of this packet's invitees are skipped too */
    }
    /* Whether the account exists is not asked (no store round trip on the loop): an id without a
     * session is "not available" like an offline user's, and is recorded as an invitee all the same. */
    int i = conf_find(r, name);
    if (i >= 0 && r->parts[i].joined) return 0;
    if (i < 0 && (i = conf_add(srv, t, r, name, 0)) < 0) {
        log_event(LOG_INFO, c->peer, c->user, "conf_invite_skipped", (long)r->nparts, "room %s full", r->name);
        return 0;
    }
    conf_reveal(r, inviter, i); /* sending an invitation reveals the inviter to the invitee */
    struct conn *s = sessions_get(srv, name); /* this node's or another's: the same rules */
    if (!s || !can_see(srv, c->user, name)) conf_unavailable(c, r, name);
    if (s) {
        struct conf_invite_out o = {srv, r, inviter, i, text, utf8};
        conf_publish(srv, r, c->user); /* the invitee's node knows of the invitation before it does */
        if (delivery_to_user(srv, name, c->user, YMSG_SVC_CONFINVITE, YMSG_PKT_SERVERACK, conf_build_invite, &o) ==
            DELIVERY_SENT)
            conf_mark_listed(srv, r, inviter, i);
    }
    return 1;
}

/* The invitations of one 0x18/0x1C: every value of key, split on commas when split is set. */
static void conf_invite_all(struct conn *c, struct conf_table *t, struct conf_room *r, const struct ymsg_packet *pkt,
                            uint32_t key, int split, const struct ymsg_kv *text, int utf8)
{
    struct server *srv = c->srv;
    int inviter = conf_find(r, c->user);
    char names[CONF_MAX_PARTS][NAME_MAX_LEN + 1];
    size_t n = 0;
    size_t pos = 0;
    struct ymsg_kv kv;
    int stop = 0;
    while (!stop && ymsg_next(pkt, &pos, &kv)) {
        if (kv.key != key) continue;
        size_t a = 0;
        while (a <= kv.len && !stop) {
            size_t e = a;
            while (e < kv.len && !(split && kv.val[e] == ',')) e++;
            char name[NAME_MAX_LEN + 1];
            if (e > a && name_normalize((const char *)kv.val + a, e - a, name) == 0) {
                int rc = conf_invite_one(c, t, r, inviter, name, text, utf8);
                if (rc < 0) stop = 1;
                else if (rc > 0 && n < CONF_MAX_PARTS) {
                    size_t k = 0;
                    while (k < n && strcmp(names[k], name) != 0) k++;
                    if (k == n) snprintf(names[n++], sizeof names[0], "%s", name);
                }
            }
            a = e + 1;
        }
    }
    if (n == 0) return;
    conf_publish(srv, r, c->user); /* what the invitations revealed (conf_mark_listed) */
    /* The other members hear who was invited (OpenYMSG's "extend"), if they may see the inviter. */
    for (size_t v = 0; v < r->nslots; v++) {
        if (!r->parts[v].name[0] || !r->parts[v].joined || (int)v == inviter) continue;
        if (!conf_visible(srv, r, (int)v, inviter)) continue;
        struct conf_others_out o = {r, r->parts[v].name, c->user, names, n};
        delivery_to_user(srv, o.to, c->user, YMSG_SVC_CONFADDINVITE, CONF_STATUS_OTHERS, conf_build_others, &o);
    }
}

void conf_handle_invite(struct conn *c, const struct ymsg_packet *pkt)
{
    char room[CONF_ROOM_MAX + 1];
    struct ymsg_kv text;
    int has_text;
    if (conf_room_name(c, pkt, room) < 0 || conf_text(c, pkt, CONF_KEY_INVMSG, &text, &has_text) < 0) return;
    struct conf_table *t = conf_table(c->srv);
    if (!t) return;
    struct conf_room *r = hmap_get(&t->rooms, room);
    if (r) {
        int i = conf_find(r, c->user);
        if (i < 0 || !r->parts[i].joined) {
            /* Someone else's conference: never taken over, and nobody in it hears of the attempt. */
            conf_dropped(c, pkt, room, "name in use");
            conf_refuse(c, room);
            return;
        }
    } else if (!(r = conf_open(c, t, room))) {
        return;
    }
    conf_invite_all(c, t, r, pkt, CONF_KEY_INVITED, 0, has_text ? &text : NULL, conf_utf8(pkt));
}

void conf_handle_addinvite(struct conn *c, const struct ymsg_packet *pkt)
{
    char room[CONF_ROOM_MAX + 1];
    struct ymsg_kv text;
    int has_text;
    if (conf_room_name(c, pkt, room) < 0 || conf_text(c, pkt, CONF_KEY_INVMSG, &text, &has_text) < 0) return;
    struct conf_table *t = conf_table(c->srv);
    struct conf_room *r = t ? hmap_get(&t->rooms, room) : NULL;
    int i = r ? conf_find(r, c->user) : -1;
    if (i < 0 || !r->parts[i].joined) {
        conf_dropped(c, pkt, room, "not a member");
        return;
    }
    conf_invite_all(c, t, r, pkt, CONF_KEY_INVITEE, 1, has_text ? &text : NULL, conf_utf8(pkt));
}

void conf_handle_logon(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char room[CONF_ROOM_MAX + 1];
    if (conf_room_name(c, pkt, room) < 0) return;
    struct conf_table *t = conf_table(srv);
    if (!t) return;
    struct conf_room *r = hmap_get(&t->rooms, room);
    if (!r) {
        conf_open(c, t, room); /* how Pidgin starts a conference: 0x19, then 0x1C */
        return;
    }
    int i = conf_find(r, c->user);
    if (i < 0) {
        conf_dropped(c, pkt, room, "not invited");
        return;
    }
    if (r->parts[i].joined) return;
    struct conf_user *u = conf_user_get(t, c->user, 0);
    if (u && u->joined >= (unsigned)srv->cfg->conf_max_per_user) {
        log_event(LOG_INFO, c->peer, c->user, "conf_capped", (long)u->joined, "conf_max_per_user");
        return;
    }
    conf_set_joined(t, r, i);
    r->parts[i].st = conf_tick(srv, r);
    /* Joining reveals the joiner to the members; the joiner is told who is in that it may see. */
    for (size_t v = 0; v < r->nslots; v++)
        if (r->parts[v].name[0] && r->parts[v].joined && (int)v != i) conf_reveal(r, i, (int)v);
    for (size_t m = 0; m < r->nslots; m++) /* decided before the notices, so the copies agree */
        if (r->parts[m].name[0] && r->parts[m].joined && (int)m != i && conf_visible(srv, r, i, (int)m))
            conf_reveal(r, (int)m, i);
    conf_publish(srv, r, c->user);
    conf_tell_members(srv, r, i, i, YMSG_SVC_CONFLOGON, CONF_KEY_JOINED, NULL, 0);
    for (size_t m = 0; m < r->nslots; m++) {
        if (!r->parts[m].name[0] || !r->parts[m].joined || (int)m == i) continue;
        if (!(r->parts[m].shown >> i & 1)) continue; /* revealed above: known to the joiner, its leave is news */
        struct conf_out o = {r, c->user, CONF_KEY_JOINED, r->parts[m].name, NULL, 0};
        delivery_to_user(srv, c->user, NULL, YMSG_SVC_CONFLOGON, YMSG_PKT_SERVERACK, conf_build_notice, &o);
    }
}

void conf_handle_decline(struct conn *c, const struct ymsg_packet *pkt)
{
    char room[CONF_ROOM_MAX + 1];
    struct ymsg_kv text;
    int has_text;
    if (conf_room_name(c, pkt, room) < 0 || conf_text(c, pkt, YMSG_KEY_MSG, &text, &has_text) < 0) return;
    struct conf_table *t = conf_table(c->srv);
    struct conf_room *r = t ? hmap_get(&t->rooms, room) : NULL;
    int i = r ? conf_find(r, c->user) : -1;
    if (i < 0 || r->parts[i].joined) {
        conf_dropped(c, pkt, room, "not invited");
        return;
    }
    /* Declining is taking part: every member hears it, with the text. */
    for (size_t v = 0; v < r->nslots; v++)
        if (r->parts[v].name[0] && r->parts[v].joined) conf_reveal(r, i, (int)v);
    conf_tell_members(c->srv, r, i, i, YMSG_SVC_CONFDECLINE, CONF_KEY_DECLINER, has_text ? &text : NULL,
                      conf_utf8(pkt));
    struct conf_stamp st = conf_tick(c->srv, r);
    conf_depart(c->srv, t, r, i, &st);
    conf_publish(c->srv, r, c->user);
}

/* Slot i leaves r (0x1B or its session ended): members that may see it are told; the last one out
 * ends the conference. */
static void conf_leave(struct server *srv, struct conf_table *t, struct conf_room *r, int i)
{
    char who[NAME_MAX_LEN + 1];
    snprintf(who, sizeof who, "%s", r->parts[i].name);
    if (r->parts[i].joined) conf_tell_members(srv, r, i, i, YMSG_SVC_CONFLOGOFF, CONF_KEY_LEAVER, NULL, 0);
    /* A dead node's member leaves at its own stamp (every node does the same, nothing is published): a
     * late copy from its node cannot bring it back, any later change of it wins. */
    struct conf_stamp st = conf_quiet ? r->parts[i].st : conf_tick(srv, r);
    conf_depart(srv, t, r, i, &st);
    if (r->njoined == 0) {
        conf_bury(srv, t, r, who); /* the invitations lapse; the departed go out, so every node ends it */
    } else {
        conf_publish(srv, r, who);
    }
}

void conf_handle_logoff(struct conn *c, const struct ymsg_packet *pkt)
{
    char room[CONF_ROOM_MAX + 1];
    if (conf_room_name(c, pkt, room) < 0) return;
    struct conf_table *t = conf_table(c->srv);
    struct conf_room *r = t ? hmap_get(&t->rooms, room) : NULL;
    int i = r ? conf_find(r, c->user) : -1;
    if (i < 0) {
        conf_dropped(c, pkt, room, "not a participant");
        return;
    }
    conf_leave(c->srv, t, r, i); /* an invitee's 0x1B (OpenYMSG may send one) just drops its invitation */
}

void conf_handle_message(struct conn *c, const struct ymsg_packet *pkt)
{
    struct server *srv = c->srv;
    char room[CONF_ROOM_MAX + 1];
    struct ymsg_kv text;
    int has_text;
    if (conf_room_name(c, pkt, room) < 0 || conf_text(c, pkt, YMSG_KEY_MSG, &text, &has_text) < 0) return;
    if (!has_text) {
        log_event(LOG_DEBUG, c->peer, c->user, "conf_malformed", pkt->hdr.service, "no text (14)");
        return;
    }
    struct conf_table *t = conf_table(srv);
    struct conf_room *r = t ? hmap_get(&t->rooms, room) : NULL;
    int i = r ? conf_find(r, c->user) : -1;
    if (i < 0 || !r->parts[i].joined) {
        conf_dropped(c, pkt, room, "not a member");
        return;
    }
    int utf8 = conf_utf8(pkt);
    /* Every member, the sender included (the echo Pidgin shows as the sent line); speaking reveals. */
    uint64_t shown = r->parts[i].shown;
    for (size_t v = 0; v < r->nslots; v++)
        if (r->parts[v].name[0] && r->parts[v].joined) conf_reveal(r, i, (int)v);
    if (r->parts[i].shown != shown) conf_publish(srv, r, c->user);
    for (size_t v = 0; v < r->nslots; v++) {
        if (!r->parts[v].name[0] || !r->parts[v].joined) continue;
        struct conf_out o = {r, r->parts[v].name, YMSG_KEY_MY_ID, c->user, &text, utf8};
        delivery_to_user(srv, o.to, c->user, YMSG_SVC_CONFMSG, YMSG_PKT_SERVERACK, conf_build_notice, &o);
    }
}

void conf_user_gone(struct server *srv, const char *user)
{
    struct conf_table *t = srv->conf;
    struct conf_user *u = t ? conf_user_get(t, user, 0) : NULL;
    /* Each leave unlinks one room from u; u itself is freed with its last room. */
    while (u) {
        struct conf_room *r = u->rooms[u->n - 1];
        int last = u->n == 1;
        int i = conf_find(r, user);
        if (i >= 0) conf_leave(srv, t, r, i);
        else conf_user_unlink(t, u, r); /* cannot happen: the two indexes are kept together */
        if (last) break;
    }
}

void conf_node_lost(struct server *srv, const char *user)
{
    conf_quiet = 1;
    conf_user_gone(srv, user);
    conf_quiet = 0;
}

/* Sets slot i's joined flag (a merge may change it either way). */
static void conf_set_state(struct conf_table *t, struct conf_room *r, int i, int joined)
{
    if (r->parts[i].joined == (joined != 0)) return;
    if (joined) {
        conf_set_joined(t, r, i);
        return;
    }
    struct conf_user *u = conf_user_get(t, r->parts[i].name, 0);
    r->parts[i].joined = 0;
    r->njoined--;
    if (u) u->joined--;
}

/* A free slot of r for a merged participant (conf_max_members is not checked: every node must hold what
 * the others hold; only the 64 slots of `shown` bound it), or -1. */
static int conf_free_slot(struct conf_room *r)
{
    size_t i = 0;
    while (i < r->nslots && r->parts[i].name[0]) i++;
    if (i == CONF_MAX_PARTS) return -1;
    if (i == r->nslots) {
        if (grow_array((void **)&r->parts, &r->cap, r->nslots, sizeof *r->parts, 4) < 0) return -1;
        r->parts[i].name[0] = 0;
        r->nslots++;
    }
    return (int)i;
}

static int conf_stamp_eq(const struct conf_stamp *a, const struct conf_stamp *b) { return conf_stamp_cmp(a, b) == 0; }

/* Merges entry e into r: e wins over what r holds of the same name when its stamp is later (same stamp:
 * gone > joined > invited, so a quiet removal or a lapse beats the copy it was made from). */
static void conf_merge_one(struct server *srv, struct conf_table *t, struct conf_room *r, const struct conf_snap_part *e,
                           const char *writer)
{
    int i = conf_find(r, e->name);
    int g = i < 0 ? conf_gone_find(r, e->name) : -1;
    if (i >= 0 || g >= 0) {
        const struct conf_stamp *cur = i >= 0 ? &r->parts[i].st : &r->gone[g].st;
        int cur_state = i >= 0 ? r->parts[i].joined : CONF_GONE;
        int c = conf_stamp_cmp(&e->st, cur);
        if (c < 0 || (c == 0 && e->state <= cur_state)) return; /* what r holds is as late or later */
    }
    if (e->state == CONF_GONE) {
        if (i >= 0) conf_depart(srv, t, r, i, &e->st);
        else conf_gone_put(srv, r, e->name, &e->st);
        return;
    }
    if (i >= 0 && conf_stamp_eq(&r->parts[i].added, &e->added)) { /* same incarnation: its state moved on */
        conf_set_state(t, r, i, e->state == CONF_JOINED);
        r->parts[i].st = e->st;
        return;
    }
    if (i >= 0) conf_remove(t, r, i); /* an older incarnation: its reveal bits go with it */
    if (g >= 0) conf_gone_del(r, (size_t)g);
    if ((i = conf_free_slot(r)) < 0 || conf_put(t, r, (size_t)i, e->name, e->state == CONF_JOINED) < 0) {
        log_event(LOG_ERROR, NULL, e->name, "conf_merge_dropped", 0, "conference %s from node %s: no slot", r->name,
                  writer);
        return;
    }
    r->parts[i].st = e->st;
    r->parts[i].added = e->added;
}

void conf_apply(struct server *srv, const struct conf_snap *s, const char *writer)
{
    struct conf_table *t = conf_table(srv);
    if (!t || s->nparts > CONF_MAX_PARTS + CONF_GONE_MAX) return;
    struct conf_room *r = hmap_get(&t->rooms, s->room);
    if (s->announce && r) return; /* open here: its changes keep it current */
    /* Not open here: merged into what this node remembers of it (its grave), or into nothing.  An end
     * this node never saw the start of is kept too (as a grave), so that a late copy cannot open it. */
    if (!r && !(r = conf_create(t, s->room))) {
        log_event(LOG_ERROR, NULL, NULL, "out_of_memory", 0, "conference %s from node %s dropped", s->room, writer);
        return;
    }
    if (s->version > r->clock) r->clock = s->version;
    for (uint32_t j = 0; j < s->nparts; j++) conf_merge_one(srv, t, r, &s->parts[j], writer);
    /* Reveal bits: those of an entry and a viewer both still here in the same incarnation add up (a set
     * that only grows while both stay: the order of the copies does not matter). */
    int slot[CONF_MAX_PARTS];
    for (uint32_t j = 0; j < s->nparts && j < CONF_MAX_PARTS; j++) {
        const struct conf_snap_part *e = &s->parts[j];
        int i = e->state == CONF_GONE ? -1 : conf_find(r, e->name);
        slot[j] = i >= 0 && conf_stamp_eq(&r->parts[i].added, &e->added) ? i : -1;
    }
    for (uint32_t j = 0; j < s->nparts && j < CONF_MAX_PARTS; j++)
        for (uint32_t k = 0; slot[j] >= 0 && k < s->nparts && k < CONF_MAX_PARTS; k++)
            if ((s->parts[j].shown >> k & 1) && slot[k] >= 0) conf_reveal(r, slot[j], slot[k]);
    if (r->njoined == 0) conf_bury(srv, t, r, NULL); /* the end, or an end this node had already */
}

size_t conf_count(struct server *srv) { return srv->conf ? srv->conf->rooms.len : 0; }

void conf_sweep(struct server *srv)
{
    struct conf_table *t = srv->conf;
    if (!t) return;
    double now = rl_now();
    rl_sweep(&t->invite, 0, now);
    /* Departed and ended conferences are remembered against copies still on their way: once every node
     * has been heard from since (cluster_node_timeout_ms, else it is dead), none can come. */
    double keep = (double)srv->cfg->cluster_node_timeout_ms / 1000.0;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&t->rooms, &pos, &k, &v)) {
        struct conf_room *r = v;
        while (r->ngone && now - r->gone[0].at > keep) conf_gone_del(r, 0);
    }
    pos = 0;
    while (hmap_next(&t->graves, &pos, &k, &v)) {
        struct conf_room *r = v;
        if (now - r->ended <= keep) continue;
        hmap_iter_del(&t->graves, &pos);
        free(r->gone);
        free(r->parts);
        free(r);
    }
}

void conf_free(struct server *srv)
{
    struct conf_table *t = srv->conf;
    if (!t) return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&t->rooms, &pos, &k, &v)) {
        struct conf_room *r = v;
        hmap_iter_del(&t->rooms, &pos);
        free(r->gone);
        free(r->parts);
        free(r);
    }
    pos = 0;
    while (hmap_next(&t->users, &pos, &k, &v)) {
        struct conf_user *u = v;
        hmap_iter_del(&t->users, &pos);
        free(u->rooms);
        free(u);
    }
    pos = 0;
    while (hmap_next(&t->graves, &pos, &k, &v)) {
        struct conf_room *r = v;
        hmap_iter_del(&t->graves, &pos);
        free(r->gone);
        free(r->parts);
        free(r);
    }
    hmap_free(&t->rooms);
    hmap_free(&t->graves);
    hmap_free(&t->users);
    rl_free(&t->invite);
    free(t);
    srv->conf = NULL;
}

void conf_rejoin(struct server *srv)
{
    struct conf_table *t = srv->conf;
    if (!t || !srv->groups) return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (hmap_next(&t->rooms, &pos, &k, &v)) {
        struct conf_room *r = v;
        size_t a = 0;
        while (a < r->nslots && !(r->parts[a].name[0] && r->parts[a].joined && sessions_local(srv, r->parts[a].name))) a++;
        if (a == r->nslots) continue; /* no member here */
        /* The others took our members out at their own stamps (conf_node_lost): new stamps win there. */
        for (size_t i = a; i < r->nslots; i++)
            if (r->parts[i].name[0] && r->parts[i].joined && sessions_local(srv, r->parts[i].name))
                r->parts[i].st = conf_tick(srv, r);
        conf_publish(srv, r, r->parts[a].name);
        for (size_t i = a; i < r->nslots; i++) {
            if (!r->parts[i].name[0] || !r->parts[i].joined || !sessions_local(srv, r->parts[i].name)) continue;
            for (size_t m = 0; m < r->nslots; m++) { /* the members elsewhere heard it leave: a join now */
                if (m == i || !r->parts[m].name[0] || !r->parts[m].joined || sessions_local(srv, r->parts[m].name)) continue;
                if (!conf_visible(srv, r, (int)m, (int)i)) continue;
                struct conf_out o = {r, r->parts[m].name, CONF_KEY_JOINED, r->parts[i].name, NULL, 0};
                delivery_to_user(srv, o.to, o.who, YMSG_SVC_CONFLOGON, YMSG_PKT_SERVERACK, conf_build_notice, &o);
            }
        }
    }
}
