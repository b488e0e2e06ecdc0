/* Store jobs off the event loop (issue 12: "no database round trip may block the event loop").
 *
 * One worker thread owns its own store connection and runs queued jobs in submission order (so two
 * writes about the same rows land in the order the loop made them); each finished job's callback is
 * handed back to the loop through a pipe and runs there, like the password workers (auth/pwworker.h).
 * The loop keeps the session state authoritative meanwhile.
 *
 * With no worker (a == NULL: the SQLite store, which stays synchronous) store_async_run runs the job
 * at once on the loop's store and calls done before returning.  A full queue does the same (it blocks,
 * but nothing accepted is ever dropped); that is logged.  Callbacks must not hold pointers to sessions
 * (they may be gone): they carry ids and look the session up. */
#ifndef YMSGD_STORE_ASYNC_H
#define YMSGD_STORE_ASYNC_H

#include <stddef.h>

#include "store.h"

struct event_base;
struct store_async;

/* Runs on the worker thread (or inline) with the store to use; returns a STORE_* code. */
typedef int (*store_job_fn)(struct store *st, void *arg);
/* Runs on the loop thread with the job's result; frees arg as needed.  May be NULL. */
typedef void (*store_done_fn)(void *arg, int rc);

/* Takes ownership of worker_store (closed by store_async_free).  NULL when out of resources. */
struct store_async *store_async_new(struct event_base *base, struct store *worker_store, size_t max_queued);
/* Runs every queued job to the end (nothing accepted is lost) and their callbacks, then stops. */
void store_async_free(struct store_async *a);
/* Queues job (or runs it inline: see above).  0, or -1 when out of memory (job not run, done not called). */
int store_async_run(struct store_async *a, struct store *loop_store, store_job_fn job, store_done_fn done, void *arg);
/* Blocks until every job queued so far has run and its callback ran: a read on the loop's own connection
 * that must see those writes calls this first (it returns at once when nothing is queued). */
void store_async_barrier(struct store_async *a);
/* The loop's store as the loop must use it once jobs can be queued: every call first waits for the
 * jobs queued before it (store_async_barrier, nothing to wait for in the common case), so the loop's
 * reads see its own queued writes and its direct writes never overtake them: one order for all of a
 * node's store operations.  Takes ownership of inner (closed with the returned store).  NULL when out
 * of memory. */
struct store *store_async_ordered(struct store_async *a, struct store *inner);
/* Jobs queued or running. */
size_t store_async_pending(const struct store_async *a);

#endif
