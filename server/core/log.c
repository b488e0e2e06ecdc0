/* Structured logging; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(enum log_level lvl) { g_level = lvl; }

int log_enabled(enum log_level lvl) { return lvl >= g_level; }

/* Appends s as a log token: bare when it is plain, otherwise quoted with escapes. */
static size_t put_token(char *out, size_t pos, size_t cap, const char *s, int force_quote)
{
    int quote = force_quote;
    if (!s || !*s) s = "-";
    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f) quote = 1;
    if (quote && pos < cap) out[pos++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && pos + 5 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\x%02x", *p);
        } else {
            out[pos++] = (char)*p;
        }
    }
    if (quote && pos < cap) out[pos++] = '"';
    return pos;
}

void log_event(enum log_level lvl, const char *peer, const char *user, const char *event, long code,
               const char *fmt, ...)
{
    if (!log_enabled(lvl)) return;
    char line[1024];
    size_t cap = sizeof line - 2, pos;
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    pos = strftime(line, cap, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    pos += (size_t)snprintf(line + pos, cap - pos, ".%03ldZ level=%s peer=", (long)tv.tv_usec / 1000,
                            level_names[lvl]);
    pos = put_token(line, pos, cap, peer, 0);
    pos += (size_t)snprintf(line + pos, cap - pos, " user=");
    pos = put_token(line, pos, cap, user, 0);
    pos += (size_t)snprintf(line + pos, cap - pos, " event=");
    pos = put_token(line, pos, cap, event, 0);
    pos += (size_t)snprintf(line + pos, cap - pos, " code=%ld", code);
    if (fmt && pos < cap) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        pos += (size_t)snprintf(line + pos, cap - pos, " msg=");
        if (pos > cap) pos = cap;
        pos = put_token(line, pos, cap, msg, 1);
    }
    if (pos > cap) pos = cap;
    line[pos++] = '\n';
    ssize_t r = write(STDERR_FILENO, line, pos);
    (void)r;
}
