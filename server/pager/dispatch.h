/* The pager's service table (Redis's commands.def + lookupCommand): one row per packet a client may
 * send, {service, required state, handler, name}.  A packet whose service has no row for the
 * connection's state is dropped and logged (debug).  Logged-in sessions pay one token of their
 * packet bucket (sessions.h) per packet before the look-up. */
#ifndef YMSGD_DISPATCH_H
#define YMSGD_DISPATCH_H

#include "server.h"

enum dispatch_need {
    DISPATCH_PRELOGIN, /* CONN_NEW or CONN_CHALLENGED */
    DISPATCH_ONLINE,   /* CONN_ONLINE */
};

typedef void (*dispatch_handler)(struct conn *c, const struct ymsg_packet *pkt);

struct dispatch_entry {
    uint16_t service;         /* YMSG_SVC_* */
    uint8_t need;             /* enum dispatch_need */
    dispatch_handler handler; /* runs to completion; may close c */
    const char *name;         /* for logs and tests */
};

/* The row for service in a connection of state state (enum conn_state), or NULL. */
const struct dispatch_entry *dispatch_lookup(uint16_t service, int state);
/* Hands one decoded packet to its handler (or drops it); see above.  Connections that are closing or
 * dead get nothing. */
void dispatch_packet(struct conn *c, const struct ymsg_packet *pkt);

#endif
