/* /metrics (Prometheus text format 0.0.4), /healthz and /readyz.
 *
 * The metrics listener (metrics_listen, off by default) is a small evhttp of its own serving the three
 * paths; /healthz and /readyz are also registered on the HTTP listener.  The listener stays open during
 * a graceful shutdown (it is freed last), so /readyz answers 503 while sessions drain.
 *   /healthz  200 "ok" when a real store call (user_exists) answers without error within
 *             health_timeout_ms, else 503 with the reason.
 *   /readyz   200 "ready" while the pager listens and the server is not stopping, else 503. */
#ifndef YMSGD_OBSERVE_H
#define YMSGD_OBSERVE_H

#include <stddef.h>

#include "metrics.h"

struct server;
struct http_server;
struct observe;

/* Starts the metrics listener when cfg->metrics_listen is set (else returns a handle that listens on
 * nothing).  Returns NULL with a message in err when the address cannot be bound. */
struct observe *observe_start(struct server *srv, char *err, size_t errlen);
void observe_free(struct observe *o);
/* /healthz and /readyz on the HTTP listener.  Returns 0 or -1. */
int observe_register(struct http_server *hs, struct server *srv);

/* The /metrics page into b (b->err set when out of memory). */
void observe_page(struct server *srv, struct metrics_buf *b);
/* 1 when the store answers within health_timeout_ms (else 0 with why set). */
int observe_healthy(struct server *srv, const char **why);
/* 1 when ready (listening, not draining). */
int observe_ready(const struct server *srv);

#endif
