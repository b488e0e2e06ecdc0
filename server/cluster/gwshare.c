/* The AMF gateway's logged-in sessions on every node; see pwshare.h and cluster.h (struct cluster_gw).
 * A session logged in on one node is announced (G frame, WIRE_GW_UP: cookie, DSId, bound) on ymsg:all
 * and installed by every other node's gateway; a logout, revocation or the rotation of a new login
 * ends it everywhere (WIRE_GW_END); use refreshes the other copies (WIRE_GW_USED, at most every
 * amf_session_idle/4 per session), and each node expires its copy on its own after amf_session_idle. */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "pwshare.h"
#include "wire.h"

void cluster_gw_publish(struct server *srv, const char *user, int op, const char *cookie, const char *dsid, int bound)
{
    struct wire_gw g;
    struct wire_buf b = {0};
    if (!srv->cluster) return;
    memset(&g, 0, sizeof g);
    snprintf(g.cookie, sizeof g.cookie, "%s", cookie);
    if (op == WIRE_GW_UP) snprintf(g.dsid, sizeof g.dsid, "%s", dsid);
    g.bound = bound ? 1 : 0;
    if (wire_put_gw(&b, op, &g) == 0) {
        struct wire_frame f = {WIRE_GATEWAY, (uint8_t)op, "", 0, b.p, (uint32_t)b.len};
        snprintf(f.user, sizeof f.user, "%s", user);
        cl_queue_all(srv->cluster, &f);
    }
    wire_buf_free(&b);
    memset(&g, 0, sizeof g);
}

void cl_gw_frame(const struct cluster_gw *gw, const struct wire_frame *f)
{
    struct wire_gw g;
    if (wire_get_gw(f->data, f->len, f->flag, &g) < 0) {
        log_event(LOG_WARN, NULL, f->user, "cluster_bad_gateway_session", f->flag, "ignored");
        return;
    }
    switch (f->flag) {
    case WIRE_GW_UP:
        if (gw->import(gw->arg, f->user, g.cookie, g.dsid, g.bound) < 0)
            log_event(LOG_WARN, NULL, f->user, "cluster_gateway_session_dropped", 0, "table full or out of memory");
        break;
    case WIRE_GW_END: gw->end(gw->arg, g.cookie); break;
    case WIRE_GW_USED: gw->used(gw->arg, g.cookie); break;
    }
    memset(&g, 0, sizeof g);
}
