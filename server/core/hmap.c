/* Hash map; see hmap.h. */
#include "hmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static unsigned char g_key[crypto_shorthash_KEYBYTES];
static int g_keyed;

static uint64_t hash_str(const char *s)
{
    if (!g_keyed) {
        randombytes_buf(g_key, sizeof g_key);
        g_keyed = 1;
    }
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, (const unsigned char *)s, strlen(s), g_key);
    memcpy(&h, out, sizeof h);
    return h;
}

void hmap_init(struct hmap *m) { memset(m, 0, sizeof *m); }

void hmap_free(struct hmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t find(const struct hmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slots[i].key) {
        if (m->slots[i].key == key || strcmp(m->slots[i].key, key) == 0) return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *hmap_get(const struct hmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = find(m, key, hash_str(key));
    return m->slots[i].key ? m->slots[i].val : NULL;
}

/* Moves every entry into a new table of ncap slots (a power of two above len). */
static int rehash(struct hmap *m, size_t ncap)
{
    struct hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        size_t j = (size_t)hash_str(m->slots[i].key) & (ncap - 1);
        while (ns[j].key) j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

static int grow(struct hmap *m) { return rehash(m, m->cap ? m->cap * 2 : 16); }

int hmap_shrink(struct hmap *m)
{
    if (!m->len) {
        hmap_free(m);
        return 0;
    }
    /* Halve while the result stays at most 3/8 full: far from the 3/4 that grows it again, so a
     * table hovering around one size does not rehash back and forth. */
    size_t ncap = m->cap;
    while (ncap > 16 && m->len * 8 <= (ncap / 2) * 3) ncap /= 2;
    return ncap < m->cap ? rehash(m, ncap) : 0;
}

int hmap_put(struct hmap *m, const char *key, void *val)
{
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0) return -1;
    uint64_t h = hash_str(key);
    size_t i = find(m, key, h);
    if (!m->slots[i].key) m->len++;
    m->slots[i].key = key;
    m->slots[i].val = val;
    return 0;
}

static void remove_at(struct hmap *m, size_t i)
{
    size_t mask = m->cap - 1, j = i;
    m->slots[i].key = NULL;
    m->len--;
    /* Backward-shift: move later members of the probe run into the hole so lookups never stop early. */
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key) break;
        size_t home = (size_t)hash_str(m->slots[j].key) & mask;
        /* j may move to i only if its home is not in the cyclic range (i, j]. */
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
}

void *hmap_del(struct hmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = find(m, key, hash_str(key));
    if (!m->slots[i].key) return NULL;
    void *v = m->slots[i].val;
    remove_at(m, i);
    return v;
}

int hmap_next(const struct hmap *m, size_t *pos, const char **key, void **val)
{
    while (*pos < m->cap) {
        size_t i = (*pos)++;
        if (m->slots[i].key) {
            *key = m->slots[i].key;
            *val = m->slots[i].val;
            return 1;
        }
    }
    return 0;
}

void hmap_iter_del(struct hmap *m, size_t *pos)
{
    /* The entry returned last is at *pos - 1; a backward shift may move an unvisited entry into it,
     * so revisit that slot.  (An entry wrapped from the table start may be visited twice; callers
     * only use this for expiry sweeps, where that is harmless.) */
    remove_at(m, *pos - 1);
    (*pos)--;
}
