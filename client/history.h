/* Conversation history on disk (history.c). */
#ifndef YMSG_CLIENT_HISTORY_H
#define YMSG_CLIENT_HISTORY_H

#include <time.h>

#include "client.h"

/* One logged line. */
struct hist_entry {
    time_t t;                     /* when */
    char from[YMSG_ID_MAX];       /* speaker */
    char text[4096];              /* UTF-8 */
};

/* The account's log directory. */
int history_dir(const struct opts *o, const char *account, char *out, size_t cap);
/* Appends one line (nothing when o->history is off).  0 or -1. */
int history_append(const struct opts *o, const char *account, const char *peer, time_t t, const char *from,
                   const char *text);
/* Calls cb for the last n entries, oldest first; cb returns non-zero to stop. */
int history_load(const struct opts *o, const char *account, const char *peer, long n,
                 int (*cb)(void *, const struct hist_entry *), void *ud);
/* Calls cb for every entry whose text contains needle (case-insensitive), oldest first. */
int history_search(const struct opts *o, const char *account, const char *peer, const char *needle,
                   int (*cb)(void *, const struct hist_entry *), void *ud);
/* Parses one line; 0 or -1. */
int history_parse(const char *line, struct hist_entry *e);

#endif
