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

/* Index of name in s (non-empty), or -(insertion point) - 1. */
static long find(const struct nameset_buf *b, const char *name)
{
    long lo = 0, hi = (long)b->n - 1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        int c = strcmp(b->v[mid], name);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

int nameset_has(const struct nameset *s, const char *name) { return s->b && find(s->b, name) >= 0; }

int nameset_add(struct nameset *s, const char *name)
{
    uint32_t n = nameset_len(s);
    long i = n ? find(s->b, name) : -1;
    if (i >= 0) return 0;
    size_t at = (size_t)(-i - 1);
    char *dup = strdup(name);
    /* One slot at a time: sets are small and most stay empty (server.h); the allocator is grow's. */
    struct nameset_buf *nb = dup ? grow_realloc(s->b, sizeof *nb + (n + 1) * sizeof nb->v[0]) : NULL;
    if (!nb) {
        free(dup);
        return -1;
    }
    if (!n) nb->n = 0;
    memmove(nb->v + at + 1, nb->v + at, (n - at) * sizeof nb->v[0]);
    nb->v[at] = dup;
    nb->n = n + 1;
    s->b = nb;
    return 0;
}

void nameset_del(struct nameset *s, const char *name)
{
    long i = s->b ? find(s->b, name) : -1;
    if (i < 0) return;
    struct nameset_buf *b = s->b;
    free(b->v[i]);
    memmove(b->v + i, b->v + i + 1, (b->n - (size_t)i - 1) * sizeof b->v[0]);
    if (--b->n == 0) {
        free(b);
        s->b = NULL;
    }
}

void nameset_free(struct nameset *s)
{
    for (uint32_t i = 0; i < nameset_len(s); i++) free(s->b->v[i]);
    free(s->b);
    s->b = NULL;
}

/* ---- tagged sets (server.h) ------------------------------------------------------------------ */

static int tag_key(char k[NAME_MAX_LEN + 2], char tag, const char *name)
{
    size_t n = strlen(name);
    if (n > NAME_MAX_LEN) return -1;
    k[0] = tag;
    memcpy(k + 1, name, n + 1);
    return 0;
}

int tagset_has(const struct nameset *s, char tag, const char *name)
{
    char k[NAME_MAX_LEN + 2];
    return tag_key(k, tag, name) == 0 && nameset_has(s, k);
}

int tagset_add(struct nameset *s, char tag, const char *name)
{
    char k[NAME_MAX_LEN + 2];
    return tag_key(k, tag, name) == 0 ? nameset_add(s, k) : -1;
}

void tagset_del(struct nameset *s, char tag, const char *name)
{
    char k[NAME_MAX_LEN + 2];
    if (tag_key(k, tag, name) == 0) nameset_del(s, k);
}

uint32_t tagset_range(const struct nameset *s, char tag, uint32_t *first)
{
    *first = 0;
    if (!s->b) return 0;
    /* the tag alone sorts before its entries (ids are never empty), the next tag after them */
    char k[2] = {tag, 0};
    long lo = find(s->b, k), hi;
    lo = lo >= 0 ? lo : -lo - 1;
    k[0] = (char)(tag + 1);
    hi = find(s->b, k);
    hi = hi >= 0 ? hi : -hi - 1;
    *first = (uint32_t)lo;
    return (uint32_t)(hi - lo);
}

void tagset_clear(struct nameset *s, char tag)
{
    uint32_t at, n = tagset_range(s, tag, &at);
    if (!n) return;
    struct nameset_buf *b = s->b;
    for (uint32_t i = at; i < at + n; i++) free(b->v[i]);
    memmove(b->v + at, b->v + at + n, (b->n - at - n) * sizeof b->v[0]);
    if ((b->n -= n) == 0) {
        free(b);
        s->b = NULL;
    }
}
