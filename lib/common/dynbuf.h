/* Capped growable storage shared by libymsg and libamf (internal: not installed, not public API).
 *
 * curl's dynbuf is the model: the cap is part of the type, set once by whoever owns the buffer, and
 * growing past it is an error the caller sees (DYN_ETOOBIG), as is running out of memory
 * (DYN_ENOMEM).  Nothing is ever dropped silently: on failure the contents stay as they were.
 * Storage doubles (from a small first size) and is clamped to the cap, so a full buffer holds exactly
 * max items and no allocation is larger than the cap allows. */
#ifndef YMSG_COMMON_DYNBUF_H
#define YMSG_COMMON_DYNBUF_H

#include <stddef.h>

enum {
    DYN_ENOMEM = -1,  /* the allocator failed */
    DYN_ETOOBIG = -2, /* the request would pass the cap */
};

/* Bytes, kept NUL-terminated so that text can be read in place. */
struct dynbuf {
    char *data;   /* len bytes and a NUL; NULL until something was added */
    size_t len;   /* bytes used, not counting the NUL */
    size_t alloc; /* bytes allocated */
    size_t max;   /* most bytes it may hold (the NUL is extra) */
};

/* An array of fixed-size items; the owner reads them through a typed pointer to v. */
struct dynarr {
    void *v;      /* the items; NULL until the first one */
    size_t len;   /* items used */
    size_t alloc; /* items allocated */
    size_t max;   /* most items it may hold */
    size_t elem;  /* bytes per item */
};

void dynbuf_init(struct dynbuf *b, size_t max);
/* Appends n bytes; 0, DYN_ETOOBIG (len + n > max) or DYN_ENOMEM, and then b is unchanged. */
int dynbuf_add(struct dynbuf *b, const void *p, size_t n);
/* Empties the buffer, keeping its memory. */
void dynbuf_reset(struct dynbuf *b);
void dynbuf_free(struct dynbuf *b);

void dynarr_init(struct dynarr *a, size_t elem, size_t max);
/* Room for n more items (len unchanged); 0, DYN_ETOOBIG (len + n > max) or DYN_ENOMEM. */
int dynarr_reserve(struct dynarr *a, size_t n);
void dynarr_free(struct dynarr *a);

/* The growth step behind both, for buffers whose fields are someone's public API (struct amf_buf):
 * grows *p, *alloc items of elem bytes, so that need items fit, doubling from first and clamping to
 * max.  0 (also when they already fit), DYN_ETOOBIG (need > max) or DYN_ENOMEM; *p and *alloc only
 * change on success. */
int dyn_grow(void **p, size_t *alloc, size_t need, size_t elem, size_t first, size_t max);

/* Short text for a DYN_* code. */
const char *dyn_strerror(int err);

#endif
