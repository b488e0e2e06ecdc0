/* One-line structured logs: ts=… level=… peer=… user=… event=… code=… [msg="…"].
 * Every line is a single write(2) to stderr so lines never interleave. */
#ifndef YMSGD_LOG_H
#define YMSGD_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *s);
void log_set_level(enum log_level lvl);
int log_enabled(enum log_level lvl);

/* peer/user may be NULL ("-").  fmt (may be NULL) becomes msg="…" with quotes and control
 * characters escaped, so a hostile user name or message cannot forge a second log line. */
void log_event(enum log_level lvl, const char *peer, const char *user, const char *event, long code,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
