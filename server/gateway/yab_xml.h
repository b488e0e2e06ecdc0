/* The address book's XML (GET/POST /yab/us, the format of Yahoo's address.yahoo.com that libpurple
 * 2.10.9 and libyahoo2 1.0.0 speak): the attribute map, the decoder of a POSTed <ab> document and the
 * attribute writer.  No I/O; the decoder is libexpat with DOCTYPEs (so every entity declaration)
 * refused, fuzzed by tests/fuzz/fuzz_yab.c. */
#ifndef YMSGD_YAB_XML_H
#define YMSGD_YAB_XML_H

#include <stddef.h>
#include <stdint.h>

#include <amf/amf.h>

/* The attributes with a meaning in a phonebook entry, in the order a record is written. */
enum yab_field { YAB_YI, YAB_FN, YAB_LN, YAB_NN, YAB_HP, YAB_WP, YAB_MO, YAB_EM, YAB_NFIELDS };

struct yab_field_map {
    const char *attr;    /* XML attribute (libpurple's name) */
    const char *member;  /* phonebook entry member (AMF) */
};
extern const struct yab_field_map yab_fields[YAB_NFIELDS];

enum yab_op { YAB_OP_NONE = 0, YAB_OP_ADD, YAB_OP_EDIT };

/* One <ct> record of a POST. */
struct yab_ct {
    uint8_t op;                      /* enum yab_op: a="1" add, e="1" edit */
    const char *id;                  /* id attribute (NULL = absent) */
    const char *f[YAB_NFIELDS];      /* mapped attributes as sent, decoded (NULL = absent) */
};

/* A POSTed document: <ab k=… cc=…><ct …/>…</ab>. */
struct yab_doc {
    const char *k;                   /* the account the client says it is (ab's k; NULL = absent) */
    struct yab_ct *ct;               /* records in document order */
    uint32_t nct;                    /* how many */
};

struct yab_limits {
    size_t max_value;                /* bytes of one attribute value */
    uint32_t max_records;            /* <ct> records in one document */
};

/* Decodes xml[0..len) into *doc (strings and records in arena).  0, or -1 with a one-line reason in
 * err: not well-formed, not UTF-8, a DOCTYPE (entities are never expanded), another root or child
 * element, nesting, a limit.  Unknown attributes are ignored. */
int yab_parse(amf_arena *arena, const char *xml, size_t len, const struct yab_limits *lim, struct yab_doc *doc,
              char *err, size_t errlen);

/* Appends s[0..len) as the text of an attribute value: &, <, >, ", ', +, = as numeric references
 * (libyahoo2 reads '+' as a space, "&gt;" as '<', finds attributes with strstr(… "name=\"") and
 * takes at most three digits of a reference), invalid UTF-8 as U+FFFD, other control characters
 * than tab, LF and CR dropped (XML 1.0 cannot carry them).  0 or an AMF_* error (the buffer's cap). */
int yab_escape(struct amf_buf *out, const char *s, size_t len);

#endif
