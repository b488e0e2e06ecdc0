/* Remoting envelope builder helpers (the reader is in decode.c, the writer in encode.c). */
#include "internal.h"

void amf_packet_init(struct amf_packet *p, uint16_t version)
{
    memset(p, 0, sizeof *p);
    p->version = version;
}

static int copy_str(amf_arena *a, const char *s, struct amf_str *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 0xFFFF) return AMF_ERANGE;  /* envelope strings carry a U16 length */
    char *c = amf_arena_strdup(a, s ? s : "", n);
    if (!c) return AMF_EARENA;
    out->ptr = c;
    out->len = (uint32_t)n;
    return 0;
}

/* Header and body counts are 16-bit on the wire. */
static int grow(amf_arena *a, void **items, uint32_t count, uint32_t *cap, size_t elem)
{
    return amf_arena_grow_array_(a, items, count, cap, elem, 4, 0xFFFF);
}

int amf_packet_add_header(amf_arena *a, struct amf_packet *p, const char *name, int must_understand,
                          struct amf_value *value)
{
    if (!a || !p || !value) return AMF_EINVAL;
    int r = grow(a, (void **)&p->headers, p->header_count, &p->header_cap, sizeof *p->headers);
    if (r) return r;
    struct amf_header *h = &p->headers[p->header_count];
    memset(h, 0, sizeof *h);
    if ((r = copy_str(a, name, &h->name))) return r;
    h->must_understand = must_understand ? 1 : 0;
    h->length = 0xFFFFFFFFu;
    h->value = value;
    p->header_count++;
    return 0;
}

int amf_packet_add_body(amf_arena *a, struct amf_packet *p, const char *target, const char *response,
                        struct amf_value *value)
{
    if (!a || !p || !value) return AMF_EINVAL;
    int r = grow(a, (void **)&p->bodies, p->body_count, &p->body_cap, sizeof *p->bodies);
    if (r) return r;
    struct amf_body *b = &p->bodies[p->body_count];
    memset(b, 0, sizeof *b);
    if ((r = copy_str(a, target, &b->target)) || (r = copy_str(a, response, &b->response))) return r;
    b->length = 0xFFFFFFFFu;
    b->value = value;
    p->body_count++;
    return 0;
}
