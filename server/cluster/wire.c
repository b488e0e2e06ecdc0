/* Cluster wire format; see wire.h. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

enum {
    TAG_NODE = 1, TAG_EPOCH, TAG_LOGIN, TAG_SEQ, TAG_SID, TAG_VERSION, TAG_OLD, TAG_INVIS, TAG_AWAY, TAG_AWAY_SENT,
    TAG_UTF8, TAG_STATUS, TAG_IDLE, TAG_MSG,
    TAG_ALLOW = 20, TAG_IGNORE, TAG_STEALTH, TAG_TALKED,
    TAG_WATCH, TAG_WATCH_MORE, /* an older node's watch list (its own index): skipped */
    TAG_PRES_SEQ,
};

int wire_put(struct wire_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len) return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap;
        uint8_t *q = b->p;
        /* grow_array makes room for one more element of n-ish bytes: ask for bytes one by one. */
        while (cap < b->len + n)
            if (grow_array((void **)&q, &cap, cap, 1, 256) < 0) {
                if (q != b->p) b->p = q, b->cap = cap;
                return -1;
            }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void wire_buf_free(struct wire_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int put_u8(struct wire_buf *b, uint8_t v) { return wire_put(b, &v, 1); }

static int put_be(struct wire_buf *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return wire_put(b, x, (size_t)n);
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

int wire_put_header(struct wire_buf *b, const char *node, int64_t epoch)
{
    size_t n = strlen(node);
    if (n == 0 || n > WIRE_NODE_MAX) return -1;
    return wire_put(b, "YMC1", 4) < 0 || put_u8(b, (uint8_t)n) < 0 || wire_put(b, node, n) < 0 ||
                   put_be(b, (uint64_t)epoch, 8) < 0
               ? -1
               : 0;
}

/* A node name: 1..WIRE_NODE_MAX printable ASCII characters other than space. */
static int valid_node(const uint8_t *p, size_t n)
{
    if (n == 0 || n > WIRE_NODE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] > '~') return 0;
    return 1;
}

int wire_get_header(const uint8_t *p, size_t len, char node[WIRE_NODE_MAX + 1], int64_t *epoch, size_t *off)
{
    if (len < 5 || memcmp(p, "YMC1", 4) != 0) return -1;
    size_t n = p[4];
    if (len < 5 + n + 8 || !valid_node(p + 5, n)) return -1;
    memcpy(node, p + 5, n);
    node[n] = 0;
    *epoch = (int64_t)get_be(p + 5 + n, 8);
    *off = 5 + n + 8;
    return 0;
}

int wire_put_frame(struct wire_buf *b, const struct wire_frame *f)
{
    size_t un = strlen(f->user);
    if (un == 0 || un > NAME_MAX_LEN || f->len > WIRE_FRAME_MAX) return -1;
    size_t old = b->len;
    if (put_u8(b, f->type) < 0 || put_u8(b, f->flag) < 0 || put_u8(b, (uint8_t)un) < 0 || wire_put(b, f->user, un) < 0 ||
        put_be(b, f->sid, 4) < 0 || put_be(b, f->len, 4) < 0 || wire_put(b, f->data, f->len) < 0) {
        b->len = old;
        return -1;
    }
    return 0;
}

int wire_next(const uint8_t *p, size_t len, size_t *off, struct wire_frame *f)
{
    size_t o = *off;
    if (o >= len) return 0;
    if (len - o < 3) return -1;
    f->type = p[o];
    f->flag = p[o + 1];
    size_t un = p[o + 2];
    o += 3;
    if (f->type != WIRE_PACKET && f->type != WIRE_KICK && f->type != WIRE_UPDATE && f->type != WIRE_DELETE &&
        f->type != WIRE_LOGIN && f->type != WIRE_FORGET && f->type != WIRE_GATEWAY && f->type != WIRE_WATCH &&
        f->type != WIRE_CONF && f->type != WIRE_ROOM)
        return -1;
    if (un == 0 || len - o < un + 8) return -1;
    if (name_normalize((const char *)p + o, un, f->user) < 0 || strlen(f->user) != un ||
        memcmp(f->user, p + o, un) != 0)
        return -1; /* ids travel normalised: anything else was not written by a node */
    o += un;
    f->sid = (uint32_t)get_be(p + o, 4);
    uint64_t n = get_be(p + o + 4, 4);
    o += 8;
    if (n > WIRE_FRAME_MAX || n > len - o) return -1;
    f->data = p + o;
    f->len = (uint32_t)n;
    *off = o + (size_t)n;
    return 1;
}

/* ---- HTTP logins -------------------------------------------------------------------------- */

int wire_put_login(struct wire_buf *b, const struct wire_login *l)
{
    const char *f[4] = {l->crumb, l->y, l->t, l->b};
    size_t old = b->len;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(f[i]);
        if (n == 0 || n > WIRE_SECRET_MAX || put_u8(b, (uint8_t)n) < 0 || wire_put(b, f[i], n) < 0) {
            b->len = old;
            return -1;
        }
    }
    if (put_be(b, l->ttl_ms, 4) < 0) {
        b->len = old;
        return -1;
    }
    return 0;
}

int wire_get_login(const uint8_t *p, size_t len, struct wire_login *l)
{
    char *f[4] = {l->crumb, l->y, l->t, l->b};
    size_t o = 0;
    memset(l, 0, sizeof *l);
    for (int i = 0; i < 4; i++) {
        if (o >= len) return -1;
        size_t n = p[o++];
        if (n == 0 || n > WIRE_SECRET_MAX || n > len - o || memchr(p + o, 0, n)) return -1;
        memcpy(f[i], p + o, n);
        f[i][n] = 0;
        o += n;
    }
    if (len - o != 4) return -1;
    l->ttl_ms = (uint32_t)get_be(p + o, 4);
    return 0;
}

/* ---- AMF gateway sessions ------------------------------------------------------------------ */

static int gw_cookie_ok(const char *c, size_t n)
{
    if (n != WIRE_GW_COOKIE) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f'))) return 0;
    return 1;
}

static int gw_dsid_ok(const char *d, size_t n)
{
    if (n != WIRE_GW_DSID) return 0;
    for (size_t i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? d[i] != '-' : !((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'A' && d[i] <= 'F'))) return 0;
    }
    return 1;
}

int wire_put_gw(struct wire_buf *b, int op, const struct wire_gw *g)
{
    size_t old = b->len;
    if (op < WIRE_GW_UP || op > WIRE_GW_USED || !gw_cookie_ok(g->cookie, strlen(g->cookie))) return -1;
    if (op == WIRE_GW_UP && (!gw_dsid_ok(g->dsid, strlen(g->dsid)) || g->bound > 1)) return -1;
    if (wire_put(b, g->cookie, WIRE_GW_COOKIE) < 0 ||
        (op == WIRE_GW_UP && (wire_put(b, g->dsid, WIRE_GW_DSID) < 0 || put_u8(b, g->bound) < 0))) {
        b->len = old;
        return -1;
    }
    return 0;
}

int wire_get_gw(const uint8_t *p, size_t len, int op, struct wire_gw *g)
{
    memset(g, 0, sizeof *g);
    size_t want = op == WIRE_GW_UP ? WIRE_GW_COOKIE + WIRE_GW_DSID + 1 : WIRE_GW_COOKIE;
    if (op < WIRE_GW_UP || op > WIRE_GW_USED || len != want || !gw_cookie_ok((const char *)p, WIRE_GW_COOKIE)) return -1;
    memcpy(g->cookie, p, WIRE_GW_COOKIE);
    if (op != WIRE_GW_UP) return 0;
    const uint8_t *d = p + WIRE_GW_COOKIE;
    if (!gw_dsid_ok((const char *)d, WIRE_GW_DSID) || d[WIRE_GW_DSID] > 1) {
        memset(g, 0, sizeof *g);
        return -1;
    }
    memcpy(g->dsid, d, WIRE_GW_DSID);
    g->bound = d[WIRE_GW_DSID];
    return 0;
}

/* ---- records -------------------------------------------------------------------------------- */

static int put_field(struct wire_buf *b, uint8_t tag, const void *v, size_t n)
{
    if (n > 0xffff) return -1;
    return put_u8(b, tag) < 0 || put_be(b, n, 2) < 0 || wire_put(b, v, n) < 0 ? -1 : 0;
}

static int put_int(struct wire_buf *b, uint8_t tag, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return put_field(b, tag, x, (size_t)n);
}

static int put_set(struct wire_buf *b, uint8_t tag, const struct nameset *s, char set)
{
    uint32_t first, n = tagset_range(s, set, &first);
    for (uint32_t i = first; i < first + n; i++)
        if (put_field(b, tag, nameset_at(s, i) + 1, strlen(nameset_at(s, i) + 1)) < 0) return -1;
    return 0;
}

int wire_put_record(struct wire_buf *b, const struct conn *c, const char *node, int64_t epoch, uint64_t seq)
{
    size_t old = b->len;
    int bad = put_field(b, TAG_NODE, node, strlen(node)) < 0 || put_int(b, TAG_EPOCH, (uint64_t)epoch, 8) < 0 ||
              put_int(b, TAG_LOGIN, (uint64_t)c->login_us, 8) < 0 || put_int(b, TAG_SEQ, seq, 8) < 0 ||
              put_int(b, TAG_SID, c->session_id, 4) < 0 || put_int(b, TAG_VERSION, c->version, 2) < 0 ||
              put_int(b, TAG_OLD, c->old_proto, 1) < 0 || put_int(b, TAG_INVIS, c->invisible, 1) < 0 ||
              put_int(b, TAG_AWAY, c->away, 1) < 0 || put_int(b, TAG_AWAY_SENT, c->away_sent, 1) < 0 ||
              put_int(b, TAG_UTF8, c->msg_utf8, 1) < 0 || put_int(b, TAG_STATUS, c->status, 4) < 0 ||
              put_int(b, TAG_IDLE, (uint64_t)c->idle_since, 8) < 0 || put_int(b, TAG_PRES_SEQ, c->pres_seq, 4) < 0 ||
              (c->status_msg && put_field(b, TAG_MSG, c->status_msg, strlen(c->status_msg)) < 0) ||
              put_set(b, TAG_ALLOW, &c->sets, SET_ALLOW) < 0 || put_set(b, TAG_IGNORE, &c->sets, SET_IGNORE) < 0 ||
              put_set(b, TAG_STEALTH, &c->sets, SET_STEALTH) < 0 || put_set(b, TAG_TALKED, &c->sets, SET_TALKED) < 0;
    if (bad) b->len = old;
    return bad ? -1 : 0;
}

/* Integer fields must have their exact width. */
static int want(size_t n, size_t w) { return n == w; }

int wire_get_record(const uint8_t *p, size_t len, struct wire_record *r)
{
    memset(r, 0, sizeof *r);
    size_t o = 0;
    int have_node = 0, have_sid = 0;
    while (o < len) {
        if (len - o < 3) goto bad;
        uint8_t tag = p[o];
        size_t n = (size_t)get_be(p + o + 1, 2);
        o += 3;
        if (n > len - o) goto bad;
        const uint8_t *v = p + o;
        o += n;
        char name[NAME_MAX_LEN + 1];
        char set = 0;
        switch (tag) {
        case TAG_NODE:
            if (!valid_node(v, n)) goto bad;
            memcpy(r->node, v, n);
            r->node[n] = 0;
            have_node = 1;
            break;
        case TAG_EPOCH: if (!want(n, 8)) goto bad; r->epoch = (int64_t)get_be(v, 8); break;
        case TAG_LOGIN: if (!want(n, 8)) goto bad; r->login_us = (int64_t)get_be(v, 8); break;
        case TAG_SEQ: if (!want(n, 8)) goto bad; r->seq = get_be(v, 8); break;
        case TAG_SID: if (!want(n, 4)) goto bad; r->sid = (uint32_t)get_be(v, 4); have_sid = 1; break;
        case TAG_VERSION: if (!want(n, 2)) goto bad; r->version = (uint16_t)get_be(v, 2); break;
        case TAG_OLD: if (!want(n, 1)) goto bad; r->old_proto = v[0] != 0; break;
        case TAG_INVIS: if (!want(n, 1)) goto bad; r->invisible = v[0] != 0; break;
        case TAG_AWAY: if (!want(n, 1) || v[0] > 2) goto bad; r->away = v[0]; break;
        case TAG_AWAY_SENT: if (!want(n, 1)) goto bad; r->away_sent = v[0] != 0; break;
        case TAG_UTF8: if (!want(n, 1)) goto bad; r->msg_utf8 = v[0] != 0; break;
        case TAG_STATUS: if (!want(n, 4)) goto bad; r->status = (uint32_t)get_be(v, 4); break;
        case TAG_IDLE: if (!want(n, 8)) goto bad; r->idle_since = (int64_t)get_be(v, 8); break;
        case TAG_PRES_SEQ: if (!want(n, 4)) goto bad; r->pres_seq = (uint32_t)get_be(v, 4); break;
        case TAG_MSG:
            if (n >= sizeof r->status_msg || memchr(v, 0, n)) goto bad;
            memcpy(r->status_msg, v, n);
            r->status_msg[n] = 0;
            r->has_msg = 1;
            break;
        case TAG_ALLOW: set = SET_ALLOW; break;
        case TAG_IGNORE: set = SET_IGNORE; break;
        case TAG_STEALTH: set = SET_STEALTH; break;
        case TAG_TALKED: set = SET_TALKED; break;
        default: break; /* a newer node's field, or an older node's watch list: skipped */
        }
        if (set) {
            if (name_normalize((const char *)v, n, name) < 0 || tagset_add(&r->sets, set, name) < 0) goto bad;
        }
    }
    if (have_node && have_sid) return 0;
bad:
    wire_record_free(r);
    return -1;
}

void wire_record_free(struct wire_record *r)
{
    nameset_free(&r->sets);
    memset(r, 0, sizeof *r);
}

/* ---- conferences ---------------------------------------------------------------------------- */

/* A stamp: its clock value, then the node's name (1..CONF_NODE_MAX bytes, no control bytes). */
static int put_stamp(struct wire_buf *b, const struct conf_stamp *st)
{
    size_t n = strlen(st->node);
    if (n == 0 || n > CONF_NODE_MAX) return -1;
    return put_be(b, st->ver, 8) < 0 || put_u8(b, (uint8_t)n) < 0 || wire_put(b, st->node, n) < 0 ? -1 : 0;
}

/* conf_stamp_cmp()'s order (this file links without the pager: the fuzz harness). */
static int stamp_later(const struct conf_stamp *a, const struct conf_stamp *b)
{
    return a->ver != b->ver ? a->ver > b->ver : strcmp(a->node, b->node) > 0;
}

static int get_stamp(const uint8_t *p, size_t len, size_t *o, struct conf_stamp *st)
{
    if (len - *o < 9) return -1;
    st->ver = get_be(p + *o, 8);
    size_t n = p[*o + 8];
    *o += 9;
    if (n == 0 || n > CONF_NODE_MAX || len - *o < n) return -1;
    for (size_t i = 0; i < n; i++)
        if (p[*o + i] < 0x20 || p[*o + i] == 0x7f) return -1;
    memcpy(st->node, p + *o, n);
    st->node[n] = 0;
    *o += n;
    return 0;
}

int wire_put_conf(struct wire_buf *b, const struct conf_snap *s)
{
    size_t rn = strlen(s->room), old = b->len;
    if (rn == 0 || rn > CONF_ROOM_MAX || s->nparts > CONF_MAX_PARTS + CONF_GONE_MAX) return -1;
    if (put_u8(b, (uint8_t)rn) < 0 || wire_put(b, s->room, rn) < 0 || put_be(b, s->version, 8) < 0 ||
        put_u8(b, (uint8_t)s->nparts) < 0)
        goto bad;
    for (uint32_t i = 0; i < s->nparts; i++) {
        const struct conf_snap_part *q = &s->parts[i];
        size_t n = strlen(q->name);
        if (n == 0 || n > NAME_MAX_LEN || q->state > CONF_GONE || put_u8(b, (uint8_t)n) < 0 ||
            wire_put(b, q->name, n) < 0 || put_u8(b, q->state) < 0 || put_stamp(b, &q->st) < 0)
            goto bad;
        if (q->state != CONF_GONE && (put_stamp(b, &q->added) < 0 || put_be(b, q->shown, 8) < 0)) goto bad;
    }
    return 0;
bad:
    b->len = old;
    return -1;
}

int wire_get_conf(const uint8_t *p, size_t len, struct conf_snap *s)
{
    size_t o = 0;
    memset(s, 0, sizeof *s);
    if (len < 1) return -1;
    size_t rn = p[o++];
    if (rn == 0 || len - o < rn + 9) return -1;
    for (size_t i = 0; i < rn; i++)
        if (p[o + i] < 0x20 || p[o + i] == 0x7f) return -1;
    memcpy(s->room, p + o, rn);
    o += rn;
    s->version = get_be(p + o, 8);
    s->nparts = p[o + 8];
    o += 9;
    if (s->nparts > CONF_MAX_PARTS + CONF_GONE_MAX) return -1;
    uint32_t present = 0, gone = 0;
    for (uint32_t i = 0; i < s->nparts; i++) {
        struct conf_snap_part *q = &s->parts[i];
        if (len - o < 1) return -1;
        size_t n = p[o++];
        if (n == 0 || len - o < n + 1) return -1;
        if (name_normalize((const char *)p + o, n, q->name) < 0 || strlen(q->name) != n ||
            memcmp(q->name, p + o, n) != 0)
            return -1; /* written normalised by a node */
        o += n;
        q->state = p[o++];
        if (q->state > CONF_GONE || get_stamp(p, len, &o, &q->st) < 0 || q->st.ver > s->version) return -1;
        if (q->state == CONF_GONE) {
            if (++gone > CONF_GONE_MAX) return -1;
        } else {
            /* the present come first; the change that added one is not later than its last */
            if (gone || ++present > CONF_MAX_PARTS || get_stamp(p, len, &o, &q->added) < 0 ||
                stamp_later(&q->added, &q->st) || len - o < 8)
                return -1;
            q->shown = get_be(p + o, 8);
            o += 8;
        }
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(s->parts[k].name, q->name)) return -1;
    }
    uint64_t slots = present == 64 ? ~(uint64_t)0 : ((uint64_t)1 << present) - 1;
    for (uint32_t i = 0; i < present; i++)
        if (s->parts[i].shown & ~slots) return -1; /* revealed to an entry that is not a present one */
    return o == len ? 0 : -1;
}
