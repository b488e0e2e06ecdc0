/* Accepting when the process is out of file descriptors.  accept() on a listener whose backlog is
 * not empty fails with EMFILE/ENFILE at once, and the listening socket stays readable: without a
 * pause the loop retries (and logs) forever at full CPU.  A guarded listener stops accepting for
 * pause_ms on any accept error (evconnlistener_disable + a timer) and logs it through the limiter;
 * the pending connections wait in the kernel backlog until descriptors are free again.
 * Works for listeners we create and for the ones evhttp creates (its error callback argument is
 * evhttp's, so guards are found by listener). */
#ifndef YMSGD_ACCEPT_GUARD_H
#define YMSGD_ACCEPT_GUARD_H

struct evconnlistener;

/* Installs the guard as lis's error callback.  name ("ymsg", "http", …) goes into the log.
 * Returns 0, or -1 when out of memory. */
int accept_guard_attach(struct evconnlistener *lis, long pause_ms, const char *name);
/* Removes lis's guard (before the listener is freed); no-op when it has none. */
void accept_guard_detach(struct evconnlistener *lis);

#endif
