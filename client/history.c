/* Conversation history on disk: one JSON-lines file per account and buddy,
 * $XDG_DATA_HOME/ymsg/logs/ACCOUNT/BUDDY.jsonl (default ~/.local/share), directories 0700, files 0600.
 * A line is {"t":UNIX_TIME,"from":"ID","text":"..."}; only what json_str writes needs reading back. */
#include "client.h"
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HIST_LINE_MAX 8192        /* longest line read back (an IM is at most ~4 KB once escaped) */

/* Ids become file names: keep [a-z0-9._@-], lower case, anything else '_' (no '/', no "..") */
static void safe_name(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < cap; p++) {
        unsigned char c = (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        int keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '@' || c == '-' ||
                   (c == '.' && n > 0);
        out[n] = (char)(keep ? c : '_');
        n++;
    }
    out[n] = 0;
    if (!n && cap > 1)
        snprintf(out, cap, "_");
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int r = mkdir(path, 0700);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int history_dir(const struct opts *o, const char *account, char *out, size_t cap)
{
    char acc[YMSG_ID_MAX];
    safe_name(account, acc, sizeof acc);
    const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (o->history_dir && o->history_dir[0])
        n = snprintf(out, cap, "%s/%s", o->history_dir, acc);
    else if (x && x[0] == '/')
        n = snprintf(out, cap, "%s/ymsg/logs/%s", x, acc);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.local/share/ymsg/logs/%s", home, acc);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int file_of(const struct opts *o, const char *account, const char *peer, char *out, size_t cap)
{
    char dir[1024], p[YMSG_ID_MAX];
    if (history_dir(o, account, dir, sizeof dir) != 0)
        return -1;
    safe_name(peer, p, sizeof p);
    int n = snprintf(out, cap, "%s/%s.jsonl", dir, p);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int history_append(const struct opts *o, const char *account, const char *peer, time_t t, const char *from,
                   const char *text)
{
    if (!o->history)
        return 0;
    char dir[1024], path[1200];
    if (history_dir(o, account, dir, sizeof dir) != 0 || mkdirs(dir) != 0 ||
        file_of(o, account, peer, path, sizeof path) != 0)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    fchmod(fd, 0600); /* a file made by someone else's umask stays private too */
    FILE *f = fdopen(fd, "a");
    if (!f) {
        close(fd);
        return -1;
    }
    fprintf(f, "{\"t\":%lld,\"from\":", (long long)t);
    json_str(f, from);
    fputs(",\"text\":", f);
    json_str(f, text);
    fputs("}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Reads the JSON string starting at *p (just after the opening quote) into out; advances *p past it. */
static int read_jstr(const char **p, char *out, size_t cap)
{
    size_t n = 0;
    const char *s = *p;
    while (*s && *s != '"') {
        char c = *s++;
        if (c == '\\') {
            c = *s++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *s++;
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                                : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 0);
                    if (!h)
                        return -1;
                }
                c = v < 0x20 ? ' ' : (char)v; /* json_str escapes control characters only */
                break;
            }
            case 0: return -1;
            default: break; /* \" and \\ */
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (*s != '"')
        return -1;
    out[n] = 0;
    *p = s + 1;
    return 0;
}

/* Finds "key": and returns what follows it (spaces skipped), or NULL. */
static const char *member(const char *line, const char *key)
{
    char k[16];
    snprintf(k, sizeof k, "\"%s\"", key);
    const char *p = strstr(line, k);
    if (!p)
        return NULL;
    p += strlen(k);
    while (*p == ' ')
        p++;
    if (*p++ != ':')
        return NULL;
    while (*p == ' ')
        p++;
    return p;
}

int history_parse(const char *line, struct hist_entry *e)
{
    const char *p = member(line, "t");
    if (!p)
        return -1;
    e->t = (time_t)strtoll(p, NULL, 10);
    if (!(p = member(line, "from")) || *p++ != '"' || read_jstr(&p, e->from, sizeof e->from) != 0)
        return -1;
    if (!(p = member(line, "text")) || *p++ != '"')
        return -1;
    return read_jstr(&p, e->text, sizeof e->text);
}

/* Calls cb for every entry of the file at or after byte `from` (skipping a partial first line). */
static int scan(const char *path, long from, int (*cb)(void *, const struct hist_entry *), void *ud)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char *line = malloc(HIST_LINE_MAX);
    struct hist_entry *e = malloc(sizeof *e);
    int rc = line && e ? 0 : -1;
    if (rc == 0 && from > 0 && fseek(f, from - 1, SEEK_SET) == 0) {
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n')
            ;
    }
    while (rc == 0 && fgets(line, HIST_LINE_MAX, f)) {
        if (!strchr(line, '\n') && !feof(f)) { /* overlong: skip its rest */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        if (history_parse(line, e) == 0 && cb(ud, e) != 0)
            break;
    }
    free(line);
    free(e);
    fclose(f);
    return rc;
}

struct tail_ctx {
    struct hist_entry *ring;      /* the last n entries seen */
    long n, count;                /* ring size, entries seen */
};

static int tail_cb(void *ud, const struct hist_entry *e)
{
    struct tail_ctx *t = ud;
    t->ring[t->count % t->n] = *e;
    t->count++;
    return 0;
}

int history_load(const struct opts *o, const char *account, const char *peer, long n,
                 int (*cb)(void *, const struct hist_entry *), void *ud)
{
    char path[1200];
    if (!o->history || n <= 0 || file_of(o, account, peer, path, sizeof path) != 0)
        return 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    /* only the end of a long file: n lines are at most n * HIST_LINE_MAX bytes */
    long from = st.st_size > n * (long)HIST_LINE_MAX ? (long)st.st_size - n * (long)HIST_LINE_MAX : 0;
    struct tail_ctx t = {calloc((size_t)n, sizeof *t.ring), n, 0};
    if (!t.ring)
        return -1;
    int rc = scan(path, from, tail_cb, &t);
    long have = t.count < n ? t.count : n;
    for (long i = 0; rc == 0 && i < have; i++)
        if (cb(ud, &t.ring[(t.count - have + i) % n]) != 0)
            break;
    free(t.ring);
    return rc;
}

struct search_ctx {
    const char *needle;           /* what to find (case-insensitive) */
    int (*cb)(void *, const struct hist_entry *); /* the caller's */
    void *ud;                     /* its argument */
};

static int search_cb(void *ud, const struct hist_entry *e)
{
    struct search_ctx *s = ud;
    return strcasestr(e->text, s->needle) ? s->cb(s->ud, e) : 0;
}

int history_search(const struct opts *o, const char *account, const char *peer, const char *needle,
                   int (*cb)(void *, const struct hist_entry *), void *ud)
{
    char path[1200];
    if (file_of(o, account, peer, path, sizeof path) != 0)
        return -1;
    struct search_ctx s = {needle, cb, ud};
    return scan(path, 0, search_cb, &s);
}
