/* The HTTP token login's cookies on every node (L and F frames on ymsg:all; auth.h's struct auth_share):
 * a client logs in over HTTP at one node and takes the pager at the one /capacity named; see pwshare.h. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "pwshare.h"
#include "wire.h"

/* An HTTP login issued here: every node may take its cookies (a client logs in over HTTP at one host
 * and then goes to the pager /capacity named).  Its use is single on every node (cl_share_used). */
void cl_share_issued(void *arg, const struct auth_login *l, double ttl)
{
    struct cluster *cl = arg;
    struct wire_login w;
    memset(&w, 0, sizeof w);
    snprintf(w.crumb, sizeof w.crumb, "%s", l->crumb);
    snprintf(w.y, sizeof w.y, "%s", l->y);
    snprintf(w.t, sizeof w.t, "%s", l->t);
    snprintf(w.b, sizeof w.b, "%s", l->b);
    w.ttl_ms = (uint32_t)(ttl * 1000.0);
    struct wire_buf b = {0};
    if (wire_put_login(&b, &w) == 0) {
        struct wire_frame f = {WIRE_LOGIN, 0, "", 0, b.p, (uint32_t)b.len};
        snprintf(f.user, sizeof f.user, "%s", l->user);
        cl_queue_all(cl, &f);
    }
    wire_buf_free(&b);
    sodium_memzero(&w, sizeof w);
}

void cl_share_used(void *arg, const char *user, const char *y, int spent)
{
    struct cluster *cl = arg;
    struct wire_frame f = {WIRE_FORGET, spent ? 1 : 0, "", 0, (const uint8_t *)y, (uint32_t)strlen(y)};
    snprintf(f.user, sizeof f.user, "%s", user);
    cl_queue_all(cl, &f);
}
