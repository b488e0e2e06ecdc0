/* The address book's XML; see yab_xml.h. */
#include "yab_xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <expat.h>

const struct yab_field_map yab_fields[YAB_NFIELDS] = {
    [YAB_YI] = {"yi", "yahooId"},   [YAB_FN] = {"fn", "firstName"}, [YAB_LN] = {"ln", "lastName"},
    [YAB_NN] = {"nn", "nickname"},  [YAB_HP] = {"hp", "phone"},     [YAB_WP] = {"wp", "workPhone"},
    [YAB_MO] = {"mo", "mobile"},    [YAB_EM] = {"em", "email"},
};

/* ---- decoder --------------------------------------------------------------------------------- */

struct yab_parse_state {
    XML_Parser p;                   /* the expat parser */
    amf_arena *arena;               /* where strings and records go */
    const struct yab_limits *lim;   /* caps */
    struct yab_doc *doc;            /* result */
    uint32_t cap;                   /* records allocated in doc->ct */
    int depth;                      /* open elements */
    int failed;                     /* a handler stopped the parser; err holds why */
    char *err;                      /* reason buffer */
    size_t errlen;                  /* its size */
};

static void yab_stop(struct yab_parse_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void yab_stop(struct yab_parse_state *st, const char *fmt, ...)
{
    if (st->failed) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, st->errlen, fmt, ap);
    va_end(ap);
    st->failed = 1;
    XML_StopParser(st->p, XML_FALSE);
}

/* A copy of an attribute value in the arena, within max_value. */
static const char *yab_value(struct yab_parse_state *st, const char *name, const char *v)
{
    size_t n = strlen(v);
    if (n > st->lim->max_value) {
        yab_stop(st, "attribute %.16s: %zu bytes exceed yab_max_value=%zu", name, n, st->lim->max_value);
        return NULL;
    }
    const char *c = amf_arena_strdup(st->arena, v, n);
    if (!c) yab_stop(st, "out of memory");
    return c;
}

static void yab_start_ab(struct yab_parse_state *st, const XML_Char **attr)
{
    for (size_t i = 0; attr[i]; i += 2)
        if (!strcmp(attr[i], "k") && !(st->doc->k = yab_value(st, "k", attr[i + 1]))) return;
}

static void yab_start_ct(struct yab_parse_state *st, const XML_Char **attr)
{
    struct yab_doc *d = st->doc;
    if (d->nct >= st->lim->max_records) {
        yab_stop(st, "more than yab_max_records=%u records", st->lim->max_records);
        return;
    }
    if (d->nct == st->cap) {
        uint32_t ncap = st->cap ? st->cap * 2 : 8;
        if (ncap > st->lim->max_records) ncap = st->lim->max_records;
        struct yab_ct *n = amf_arena_alloc(st->arena, (size_t)ncap * sizeof *n);
        if (!n) {
            yab_stop(st, "out of memory");
            return;
        }
        if (d->nct) memcpy(n, d->ct, (size_t)d->nct * sizeof *n);
        d->ct = n;
        st->cap = ncap;
    }
    struct yab_ct *ct = &d->ct[d->nct++];
    memset(ct, 0, sizeof *ct);
    for (size_t i = 0; attr[i] && !st->failed; i += 2) {
        const char *name = attr[i], *v = attr[i + 1];
        if (!strcmp(name, "a") || !strcmp(name, "e")) {
            if (strcmp(v, "1") != 0) continue; /* a="0": not this operation */
            uint8_t op = name[0] == 'a' ? YAB_OP_ADD : YAB_OP_EDIT;
            if (ct->op && ct->op != op) yab_stop(st, "a record is both an add and an edit");
            ct->op = op;
        } else if (!strcmp(name, "id")) {
            ct->id = yab_value(st, name, v);
        } else {
            for (int f = 0; f < YAB_NFIELDS; f++)
                if (!strcmp(name, yab_fields[f].attr)) ct->f[f] = yab_value(st, name, v);
        }
    }
}

static void XMLCALL yab_on_start(void *arg, const XML_Char *name, const XML_Char **attr)
{
    struct yab_parse_state *st = arg;
    int depth = st->depth++;
    if (depth == 0 && !strcmp(name, "ab")) yab_start_ab(st, attr);
    else if (depth == 1 && !strcmp(name, "ct")) yab_start_ct(st, attr);
    else if (depth == 0) yab_stop(st, "the root element is <%.32s>, not <ab>", name);
    else if (depth == 1) yab_stop(st, "<%.32s> in <ab> (only <ct> records)", name);
    else yab_stop(st, "<%.32s> nested in a record", name);
}

static void XMLCALL yab_on_end(void *arg, const XML_Char *name)
{
    struct yab_parse_state *st = arg;
    (void)name;
    st->depth--;
}

/* Refusing the DOCTYPE refuses every entity declaration with it: nothing is ever expanded. */
static void XMLCALL yab_on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                                   int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    yab_stop(arg, "a DOCTYPE is refused (no entity declarations)");
}

static void XMLCALL yab_on_entity(void *arg, const XML_Char *name, int is_param, const XML_Char *value, int vlen,
                                  const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                                  const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)vlen;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    yab_stop(arg, "an entity declaration is refused");
}

int yab_parse(amf_arena *arena, const char *xml, size_t len, const struct yab_limits *lim, struct yab_doc *doc,
              char *err, size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    if (len > (size_t)INT32_MAX) {
        snprintf(err, errlen, "document too large");
        return -1;
    }
    /* "UTF-8" overrides any encoding declared in the document: the address book is UTF-8 only. */
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct yab_parse_state st = {p, arena, lim, doc, 0, 0, 0, err, errlen};
    XML_SetUserData(p, &st);
    XML_SetElementHandler(p, yab_on_start, yab_on_end);
    XML_SetStartDoctypeDeclHandler(p, yab_on_doctype);
    XML_SetEntityDeclHandler(p, yab_on_entity);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    enum XML_Status s = XML_Parse(p, xml, (int)len, 1);
    if (s != XML_STATUS_OK && !st.failed)
        snprintf(err, errlen, "line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(p),
                 XML_ErrorString(XML_GetErrorCode(p)));
    XML_ParserFree(p);
    if (s != XML_STATUS_OK || st.failed) {
        memset(doc, 0, sizeof *doc);
        return -1;
    }
    return 0;
}

/* ---- writer ---------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 when it is not one (overlong forms,
 * surrogates and code points past U+10FFFF included). */
static size_t yab_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned min, cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) need = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) need = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return 0;
    return need;
}

int yab_escape(struct amf_buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int e = 0;
    while (i < len && !e) {
        unsigned c = p[i];
        char ref[8];
        if (c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' || c == '+' || c == '=' || c == '\t' ||
            c == '\n' || c == '\r') {
            int n = snprintf(ref, sizeof ref, "&#%u;", c);
            e = amf_buf_append(out, ref, (size_t)n);
            i++;
        } else if (c < 0x20) {
            i++; /* not representable in XML 1.0 */
        } else {
            size_t n = yab_utf8_len(p + i, len - i);
            if (n) {
                e = amf_buf_append(out, p + i, n);
                i += n;
            } else {
                e = amf_buf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD for each bad byte */
                i++;
            }
        }
    }
    return e;
}
