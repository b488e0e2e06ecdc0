/* Capped growable storage (see dynbuf.h). */
#include "dynbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int dyn_grow(void **p, size_t *alloc, size_t need, size_t elem, size_t first, size_t max)
{
    if (need <= *alloc)
        return 0;
    if (need > max)
        return DYN_ETOOBIG;
    size_t nc = *alloc ? *alloc : (first ? first : 1);
    while (nc < need)
        nc = nc > max / 2 ? max : nc * 2;
    if (nc > max)
        nc = max;
    if (elem && nc > SIZE_MAX / elem)
        return DYN_ENOMEM;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return DYN_ENOMEM;
    *p = q;
    *alloc = nc;
    return 0;
}

void dynbuf_init(struct dynbuf *b, size_t max)
{
    b->data = NULL;
    b->len = b->alloc = 0;
    b->max = max < SIZE_MAX ? max : SIZE_MAX - 1; /* room for the NUL */
}

int dynbuf_add(struct dynbuf *b, const void *p, size_t n)
{
    if (n > b->max - b->len)
        return DYN_ETOOBIG;
    /* + 1 for the NUL: the cap counts text bytes, so the allocation may be max + 1 */
    void *d = b->data;
    int r = dyn_grow(&d, &b->alloc, b->len + n + 1, 1, 64, b->max + 1);
    if (r)
        return r;
    b->data = d;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

void dynbuf_reset(struct dynbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void dynbuf_free(struct dynbuf *b)
{
    free(b->data);
    dynbuf_init(b, b->max);
}

void dynarr_init(struct dynarr *a, size_t elem, size_t max)
{
    a->v = NULL;
    a->len = a->alloc = 0;
    a->max = max;
    a->elem = elem;
}

int dynarr_reserve(struct dynarr *a, size_t n)
{
    if (n > a->max - a->len)
        return DYN_ETOOBIG;
    return dyn_grow(&a->v, &a->alloc, a->len + n, a->elem, 16, a->max);
}

void dynarr_free(struct dynarr *a)
{
    free(a->v);
    dynarr_init(a, a->elem, a->max);
}

const char *dyn_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case DYN_ENOMEM: return "out of memory";
    case DYN_ETOOBIG: return "over the configured cap";
    default: return "unknown error";
    }
}
