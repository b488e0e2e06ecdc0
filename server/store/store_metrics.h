/* Store call latency for /metrics: wraps a backend's function table in place, so every call the server
 * makes through `struct store` is timed (ymsgd_store_op_duration_seconds, by operation class) whatever
 * the backend.  In place: st->impl stays the backend's, so backend-specific code (backup) still finds
 * it.  A function pointer added to store.h later and not listed in store_metrics.c is simply not timed. */
#ifndef YMSGD_STORE_METRICS_H
#define YMSGD_STORE_METRICS_H

#include "store.h"

/* Wraps st (the server's one store; a second call does nothing).  st->close undoes it. */
void store_metrics_wrap(struct store *st);

#endif
