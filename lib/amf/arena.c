/* Arena, output buffer, limits and error text. */
#include "internal.h"
#include "dynbuf.h"

#include <stdlib.h>

#define AMF_ARENA_MIN   (16u * 1024)
#define AMF_ARENA_BLOCK (1024u * 1024)

amf_arena *amf_arena_new(size_t max_bytes)
{
    amf_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->max = max_bytes ? max_bytes : amf_limits_default_()->max_arena;
    a->next_size = AMF_ARENA_MIN;
    return a;
}

static void free_blocks(struct amf_block *b, struct amf_block *stop)
{
    while (b && b != stop) {
        struct amf_block *n = b->next;
        free(b);
        b = n;
    }
}

void amf_arena_free(amf_arena *a)
{
    if (!a) return;
    free_blocks(a->head, NULL);
    free_blocks(a->spare, NULL);
    free(a);
}

/* Keeps every block: the next message of similar size then reuses warm memory instead of asking the
 * kernel for fresh pages.  What is kept is bounded by the largest message seen (and the cap). */
void amf_arena_reset(amf_arena *a)
{
    if (!a || !a->head) return;
    struct amf_block *first = a->head;
    while (first->next) first = first->next;
    struct amf_block *b = a->head;
    while (b != first) {
        struct amf_block *n = b->next;
        b->next = a->spare;
        a->spare = b;
        b = n;
    }
    first->next = NULL;
    a->head = first;
    a->cur = first->data;
    a->end = first->data + first->size;
    a->last = NULL;
    a->used = 0;
}

size_t amf_arena_used(const amf_arena *a) { return a ? a->used : 0; }

void *amf_arena_slow_(amf_arena *a, size_t size)
{
    /* a kept block that fits becomes the current one */
    for (struct amf_block **pp = &a->spare; *pp; pp = &(*pp)->next) {
        struct amf_block *b = *pp;
        if (b->size < size || b->size < AMF_ARENA_MIN) continue;
        *pp = b->next;
        b->next = a->head;
        a->head = b;
        a->cur = b->data + size;
        a->end = b->data + b->size;
        a->last = b->data;
        a->used += size;
        return b->data;
    }
    size_t bs = a->next_size;
    if (size > bs / 4) bs = size;  /* big allocations get a block of their own */
    else if (a->next_size < AMF_ARENA_BLOCK) a->next_size *= 2;
    struct amf_block *b = malloc(sizeof *b + bs);
    if (!b) return NULL;
    b->size = bs;
    if (bs == size && a->head) {
        /* keep the current block current: slot the dedicated block behind it */
        b->next = a->head->next;
        a->head->next = b;
        a->used += size;
        a->last = NULL;
        return b->data;
    }
    b->next = a->head;
    a->head = b;
    a->cur = b->data + size;
    a->end = b->data + bs;
    a->last = b->data;
    a->used += size;
    return b->data;
}

void *amf_arena_alloc(amf_arena *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (AMF_UNLIKELY(size == 0)) size = 8;
    if (AMF_UNLIKELY(size > a->max - a->used || a->used > a->max)) return NULL;
    if (AMF_LIKELY((size_t)(a->end - a->cur) >= size)) {
        void *p = a->cur;
        a->last = a->cur;
        a->cur += size;
        a->used += size;
        return p;
    }
    return amf_arena_slow_(a, size);
}

void *amf_arena_grow_(amf_arena *a, void *p, size_t old_size, size_t new_size)
{
    size_t o = (old_size + 7) & ~(size_t)7, n = (new_size + 7) & ~(size_t)7;
    if (p && p == a->last && n >= o && (size_t)(a->end - (unsigned char *)p) >= n) {
        if (n - o > a->max - a->used) return NULL;
        a->used += n - o;
        a->cur = (unsigned char *)p + n;
        return p;
    }
    void *q = amf_arena_alloc(a, new_size);
    if (q && p && old_size) memcpy(q, p, old_size);
    return q;
}

int amf_arena_grow_array_(amf_arena *a, void **items, uint32_t count, uint32_t *cap, size_t elem,
                          uint32_t first, uint32_t max)
{
    if (count < *cap) return 0;
    if (count >= max) return AMF_ERANGE;
    uint32_t nc = *cap ? (*cap > max / 2 ? max : *cap * 2) : (first < max ? first : max);
    if ((size_t)nc > SIZE_MAX / elem) return AMF_ERANGE;
    void *n = amf_arena_grow_(a, *items, (size_t)count * elem, (size_t)nc * elem);
    if (!n) return AMF_EARENA;
    *items = n;
    *cap = nc;
    return 0;
}

char *amf_arena_strdup(amf_arena *a, const void *p, size_t len)
{
    char *s = amf_arena_alloc(a, len + 1);
    if (!s) return NULL;
    if (len) memcpy(s, p, len);
    s[len] = 0;
    return s;
}

/* ---------------------------------------------------------------------------------------------- */

void amf_buf_init(struct amf_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : (size_t)256 << 20;
}

void amf_buf_free(struct amf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int amf_buf_reserve(struct amf_buf *b, size_t n)
{
    if (AMF_LIKELY(b->cap - b->len >= n)) return 0;
    if (n > b->max - b->len) return AMF_EOUTPUT;
    void *d = b->data;
    int r = dyn_grow(&d, &b->cap, b->len + n, 1, 256, b->max);
    if (r) return r == DYN_ETOOBIG ? AMF_EOUTPUT : AMF_ENOMEM;
    b->data = d;
    return 0;
}

int amf_buf_append(struct amf_buf *b, const void *p, size_t n)
{
    int r = amf_buf_reserve(b, n);
    if (r) return r;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */

static const struct amf_limits default_limits = {
    .max_input = (size_t)64 << 20,
    .max_arena = (size_t)256 << 20,
    .max_depth = 512,
    .max_elements = 16u << 20,
    .max_string = 64u << 20,
    .max_refs = 16u << 20,
    .max_messages = 4096,
};

const struct amf_limits *amf_limits_default_(void) { return &default_limits; }

void amf_limits_default(struct amf_limits *lim) { *lim = default_limits; }

const char *amf_strerror(int err)
{
    switch (err) {
    case AMF_OK: return "success";
#define AMF_ERR_CASE_(name, val, text) case name: return text;
    AMF_ERRORS(AMF_ERR_CASE_)
#undef AMF_ERR_CASE_
    default: return "unknown error";
    }
}

const char *amf_type_name(int type)
{
    static const char *const names[AMF_TYPE_COUNT_] = {
        "undefined", "null", "boolean", "integer", "double", "string", "date", "xmldoc", "xml",
        "array", "object", "bytearray", "vector<int>", "vector<uint>", "vector<double>",
        "vector<object>", "dictionary", "unsupported",
    };
    return type >= 0 && type < AMF_TYPE_COUNT_ ? names[type] : "invalid";
}
