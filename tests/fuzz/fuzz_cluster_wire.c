/* Fuzz harness for the cluster's wire decoders (server/cluster/wire.c): a batch (header, frames) and
 * every frame body as a session record (an older node's watch list in it is skipped), G bodies as
 * gateway sessions, C bodies and the whole input as a conference's state.  Frames must stay inside the
 * input and in order; a record that decodes must encode again and decode to the same fields (its name
 * sets and presence counter included). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the same ids under the same tags (both sorted) */
static int same_sets(const struct nameset *a, const struct nameset *b)
{
    if (nameset_len(a) != nameset_len(b)) return 0;
    for (uint32_t i = 0; i < nameset_len(a); i++)
        if (strcmp(nameset_at(a, i), nameset_at(b, i)) != 0) return 0;
    return 1;
}

static void check_record(const uint8_t *p, size_t n)
{
    struct wire_record r, r2;
    if (wire_get_record(p, n, &r) < 0) return;
    struct conn c;
    memset(&c, 0, sizeof c);
    c.session_id = r.sid;
    c.version = r.version;
    c.old_proto = r.old_proto;
    c.invisible = r.invisible;
    c.away = r.away;
    c.away_sent = r.away_sent;
    c.msg_utf8 = r.msg_utf8;
    c.status = r.status;
    c.idle_since = r.idle_since;
    c.login_us = r.login_us;
    c.status_msg = r.has_msg ? r.status_msg : NULL;
    c.sets = r.sets;
    c.pres_seq = r.pres_seq;
    struct wire_buf b = {0};
    if (wire_put_record(&b, &c, r.node, r.epoch, r.seq) == 0) {
        if (wire_get_record(b.p, b.len, &r2) < 0) abort();
        if (r2.sid != r.sid || r2.status != r.status || r2.seq != r.seq || strcmp(r2.node, r.node) ||
            !same_sets(&r2.sets, &r.sets) || strcmp(r2.status_msg, r.status_msg) || r2.has_msg != r.has_msg ||
            r2.pres_seq != r.pres_seq)
            abort();
        wire_record_free(&r2);
    }
    wire_buf_free(&b);
    wire_record_free(&r);
}

/* A conference's state (C frames): what decodes encodes to the same bytes and decodes the same. */
static void check_conf(const uint8_t *p, size_t n)
{
    static struct conf_snap s, t;
    if (wire_get_conf(p, n, &s) < 0) return;
    struct wire_buf b = {0};
    if (wire_put_conf(&b, &s) < 0 || b.len != n || memcmp(b.p, p, n) || wire_get_conf(b.p, b.len, &t) < 0 ||
        memcmp(&s, &t, sizeof s))
        abort();
    wire_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char node[WIRE_NODE_MAX + 1];
    int64_t epoch;
    size_t off = 0, prev;
    struct wire_frame f;
    check_record(data, size);
    check_conf(data, size);
    if (wire_get_header(data, size, node, &epoch, &off) < 0) return 0;
    if (off > size || strlen(node) == 0) abort();
    for (;;) {
        prev = off;
        int rc = wire_next(data, size, &off, &f);
        if (rc <= 0) break;
        if (off <= prev || off > size || f.data < data || f.data + f.len > data + size) abort();
        if (f.type == WIRE_UPDATE) check_record(f.data, f.len);
        if (f.type == WIRE_CONF) check_conf(f.data, f.len);
        struct wire_login l, l2;
        if (f.type == WIRE_LOGIN && wire_get_login(f.data, f.len, &l) == 0) {
            struct wire_buf b = {0};
            if (wire_put_login(&b, &l) < 0 || wire_get_login(b.p, b.len, &l2) < 0 || memcmp(&l, &l2, sizeof l)) abort();
            wire_buf_free(&b);
        }
        struct wire_gw g, g2;
        if (f.type == WIRE_GATEWAY && wire_get_gw(f.data, f.len, f.flag, &g) == 0) {
            struct wire_buf b = {0};
            if (wire_put_gw(&b, f.flag, &g) < 0 || b.len != f.len || memcmp(b.p, f.data, f.len) ||
                wire_get_gw(b.p, b.len, f.flag, &g2) < 0 || memcmp(&g, &g2, sizeof g))
                abort();
            wire_buf_free(&b);
        }
    }
    return 0;
}
