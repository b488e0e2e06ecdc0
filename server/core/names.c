/* Yahoo id validation shared by every module. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "server.h"

int name_normalize(const char *in, size_t len, char out[NAME_MAX_LEN + 1])
{
    if (!in || len == 0 || len > NAME_MAX_LEN) return -1;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
        if (!ok) return -1;
        out[i] = ch;
    }
    out[len] = 0;
    return 0;
}

/* Index of name in s, or -(insertion point) - 1. */
static long find(const struct nameset *s, const char *name)
{
    long lo = 0, hi = (long)s->n - 1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        int c = strcmp(s->v[mid], name);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

int nameset_has(const struct nameset *s, const char *name) { return s->n && find(s, name) >= 0; }

int nameset_add(struct nameset *s, const char *name)
{
    long i = s->n ? find(s, name) : -1;
    if (i >= 0) return 0;
    size_t at = (size_t)(-i - 1);
    char *dup = strdup(name);
    /* One slot at a time: sets are small and most stay empty (server.h); the allocator is grow's. */
    char **nv = dup ? grow_realloc(s->v, (s->n + 1) * sizeof *nv) : NULL;
    if (!nv) {
        free(dup);
        return -1;
    }
    memmove(nv + at + 1, nv + at, (s->n - at) * sizeof *nv);
    nv[at] = dup;
    s->v = nv;
    s->n++;
    return 0;
}

void nameset_del(struct nameset *s, const char *name)
{
    long i = s->n ? find(s, name) : -1;
    if (i < 0) return;
    free(s->v[i]);
    memmove(s->v + i, s->v + i + 1, (s->n - (size_t)i - 1) * sizeof *s->v);
    if (--s->n == 0) {
        free(s->v);
        s->v = NULL;
    }
}

void nameset_free(struct nameset *s)
{
    for (uint32_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
