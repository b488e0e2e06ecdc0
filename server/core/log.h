/* One-line structured logs: ts=… level=… peer=… user=… event=… code=… [msg="…"].
 * Every line is a single write(2) to stderr so lines never interleave.
 *
 * Repeated events are rate-limited here, so every caller gets it: each (event, connection),
 * (event, address) and (event) has a token bucket (log_set_limits).  A line over any of its budgets
 * is counted instead of written, and the count comes out later as one
 * `event=log_suppressed code=N msg="N similar messages suppressed: event=E scope=S"` line.  The
 * connection is the peer text ("addr:port"); the address is that text without the port. */
#ifndef YMSGD_LOG_H
#define YMSGD_LOG_H

#include <stddef.h>

struct event_base;

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Lines per second (rate) and burst for one event from one connection, one address, and overall. */
struct log_limits {
    double conn_rate, conn_burst;     /* per (event, "addr:port") */
    double addr_rate, addr_burst;     /* per (event, address) */
    double global_rate, global_burst; /* per event over all peers; also bounds the summary lines */
};

/* Where lines go: stderr until log_open_file() names a file.  The descriptor written to never changes
 * number: a new file is dup2()ed over it, so a reopen is atomic for the threads that log. */
/* Opens path (append, created 0640) and writes the log there from now on; "" or NULL goes back to
 * stderr.  0, or -1 with a message in err (the old destination is kept). */
int log_open_file(const char *path, char *err, size_t errlen);
/* Reopens the current log file by name (after logrotate renamed it; SIGUSR1).  0, or -1 with a
 * message in err (the old file is kept).  Without a log file: 0, nothing to do. */
int log_reopen(char *err, size_t errlen);

/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *s);
void log_set_level(enum log_level lvl);
int log_enabled(enum log_level lvl);
/* Replaces the limits (the defaults are those of the config knobs log_*_rate / log_*_burst). */
void log_set_limits(const struct log_limits *lim);

/* peer/user may be NULL ("-").  fmt (may be NULL) becomes msg="…" with quotes and control
 * characters escaped, so a hostile user name or message cannot forge a second log line. */
void log_event(enum log_level lvl, const char *peer, const char *user, const char *event, long code,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Writes the pending "N similar messages suppressed" summaries now (as far as the budget allows). */
void log_flush_suppressed(void);

/* Routes libevent's own messages (event_set_log_callback) through log_event (event=libevent) and
 * starts a timer that writes pending summaries every few seconds.  log_detach undoes both. */
int log_attach(struct event_base *base);
void log_detach(void);

/* The address part of a peer text: "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1", "::1" -> "::1". */
void log_peer_addr(const char *peer, char *out, size_t cap);

#endif
