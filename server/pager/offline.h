/* Offline messages at login, in pages.
 *
 * A box may hold offline_max messages of max_message bytes: far more than out_cap.  Queueing them all at
 * once made the server's own backlog look like a slow reader, the connection was dropped before the
 * messages could be deleted, and every later login failed the same way.  So the box is sent a page at a
 * time: a page never takes the queued output past half of out_cap (but always holds at least one
 * message), and the next page is queued only once the output has drained to the socket, when the
 * messages already written are deleted.  Each page is one or more 0x06 status 5 packets of ~1 KB with
 * 31=6 32=6 before every message (YMSG.md §7.1). */
#ifndef YMSGD_OFFLINE_H
#define YMSGD_OFFLINE_H

#include "server.h"
#include "store.h"

/* Rows of c's box read ahead, on any thread with the store given (the login's store job): at least a
 * page's worth (budget bytes) after id `after`.  NULL when out of memory. */
struct offline_rows;
struct offline_rows *offline_rows_fetch(struct store *st, const char *user, int64_t after, size_t budget);
void offline_rows_free(struct offline_rows *r);
/* At login, with the rows read after offline_clear_delivered: queues the first page.  Later pages are
 * read on the store worker (c's input waits for each). */
void offline_start(struct conn *c, const struct offline_rows *rows);
/* The output of c has drained to the socket: deletes what was written, queues the next page. */
void offline_drained(struct conn *c);

#endif
