/* String-keyed hash map (open addressing, linear probing, backward-shift deletion).
 * Keys are not copied: each key must live as long as its entry (usually it is a field of the value).
 * Hashing is SipHash (libsodium crypto_shorthash) with a per-process random key, so remote users
 * choosing names or tokens cannot force collisions. */
#ifndef YMSGD_HMAP_H
#define YMSGD_HMAP_H

#include <stddef.h>
#include <stdint.h>

/* 16 bytes: the hash is not cached (it is computed again when a table grows, shrinks or shifts an
 * entry back after a deletion), since every session of a cluster costs several slots on every node. */
struct hmap_slot {
    const char *key;   /* NULL = empty */
    void *val;         /* caller's value */
};

struct hmap {
    struct hmap_slot *slots; /* capacity entries */
    size_t cap;              /* power of two, or 0 before the first insert */
    size_t len;              /* entries in use */
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces.  Returns 0, or -1 when out of memory. */
int hmap_put(struct hmap *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
/* Iteration: *pos starts at 0; returns 1 with key/val set, 0 at the end.  Deleting the entry just
 * returned is allowed if the caller then repeats with the same *pos (hmap_iter_del does that). */
int hmap_next(const struct hmap *m, size_t *pos, const char **key, void **val);
/* Removes the entry hmap_next just returned and rewinds *pos so iteration continues correctly. */
void hmap_iter_del(struct hmap *m, size_t *pos);
/* Gives memory back after deletions (the table never shrinks by itself): halves the table while it
 * would stay at most 3/8 full, frees it when empty.  Never during an iteration (entries move).
 * 0, or -1 when out of memory (the table is left as it was). */
int hmap_shrink(struct hmap *m);

#endif
