/* One growth rule for the server's arrays (the pager's lists read from the store, name sets): the
 * capacity grows by half (at least one) from a first size, with an overflow check, and a failure leaves the array as it
 * was and is returned, never swallowed: callers log it and report it to theirs (a presence fan-out
 * or a list that would silently miss a watcher or a row is an error, not a shorter list).  Every
 * growth goes through grow_realloc, so tests can make any of them fail. */
#ifndef YMSGD_GROW_H
#define YMSGD_GROW_H

#include <stddef.h>

/* Makes room for at least n + 1 elements of size bytes in *v (capacity *cap, first allocation `first`
 * elements).  0, or -1 (nothing changed) on overflow or when the allocator fails. */
int grow_array(void **v, size_t *cap, size_t n, size_t size, size_t first);

/* The allocator grow_array uses: realloc; tests swap in one that fails. */
extern void *(*grow_realloc)(void *p, size_t n);

#endif
