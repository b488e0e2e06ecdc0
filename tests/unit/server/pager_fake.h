/* A fake transport and a server without sockets, for the pager's unit tests and its fuzz harness:
 * handlers run through the dispatch table exactly as in ymsgd, and every packet they hand to a
 * session lands in that session's buffer, where the test reads it back. */
#ifndef YMSGD_PAGER_FAKE_H
#define YMSGD_PAGER_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

struct fake_conn {
    struct conn c;         /* first: a struct conn * is a struct fake_conn * */
    uint8_t *out;          /* bytes the server queued to this session */
    size_t len, cap;       /* used / allocated in out */
    size_t taken;          /* bytes already returned by fake_next() */
    size_t queued_extra;   /* pretend this much more is queued (a reader that does not read) */
    int closed;            /* the transport's close was called */
    int close_flush;       /* ... with this flush argument */
};

/* A server over a fresh SQLite store in dir (which must exist), hash checks inline, no listeners. */
struct server *fake_server_new(const char *dir);
void fake_server_free(struct server *srv);
/* A connection of state CONN_NEW, or a logged-in session of user (registered, full packet bucket). */
struct fake_conn *fake_conn_new(struct server *srv);
struct fake_conn *fake_login(struct server *srv, const char *user);
/* Feeds one packet (service, header status, key/value pairs as "k", "v", ..., NULL) through dispatch. */
void fake_send(struct fake_conn *f, uint16_t service, uint32_t status, ...);
/* Next packet the server queued to f since the last call: 1 with *pkt set (valid until the next call
 * on f), 0 when there is none.  Aborts on bytes that do not decode: the server must emit valid YMSG. */
int fake_next(struct fake_conn *f, struct ymsg_packet *pkt);
/* Drops everything queued to f so far. */
void fake_drain(struct fake_conn *f);
/* Reads back everything queued to f (each packet checked as fake_next() does). */
void fake_read_all(struct fake_conn *f);
/* A fake server in a new directory made from tmpl ("/tmp/NAME-XXXXXX", filled in place); NULL on failure. */
struct server *fake_server_tmp(char *tmpl);
/* fake_server_free(srv), then removes dir and what is in it.  0, or -1 when it could not be removed. */
int fake_server_rm(struct server *srv, const char *dir);
/* Set-up of the harnesses: the accounts in names (NULL-terminated, password "x"); a and b each other's
 * authorised buddies.  Both abort on a store error. */
void fake_seed(struct server *srv, const char *const *names);
void fake_befriend(struct server *srv, const char *a, const char *b);
/* The fuzz harnesses' input: data decoded as a stream of packets, each dispatched to c[header session id
 * % n], up to the first bytes that do not decode.  flags: FAKE_FEED_VERSION gives a session without a
 * version the packet's; FAKE_FEED_REFILL fills its packet bucket first (the rate limit not under test). */
#define FAKE_FEED_VERSION 1
#define FAKE_FEED_REFILL 2
void fake_feed(struct server *srv, struct fake_conn **c, size_t n, const uint8_t *data, size_t size, int flags);
/* What the reaper does on the next loop turn (slow-reader closes). */
void fake_reap(struct server *srv);
void fake_conn_free(struct fake_conn *f);

#endif
