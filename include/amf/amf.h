/* libamf — Action Message Format (AMF0 and AMF3) and the Flash Remoting envelope.
 *
 * Values are trees (graphs, really: references and cycles are kept) of `struct amf_value` nodes that
 * live in an arena.  Decoding builds such a graph from bytes; the builder functions (amf_new_*,
 * amf_object_set, amf_array_push, ...) build one by hand; encoding turns one into bytes, emitting
 * AMF3 string/trait/object references and AMF0 object references so shared nodes and cycles survive
 * a round trip.  Nothing does I/O.  Errors are 0 (or a count) on success and a negative AMF_E* code
 * on failure; amf_strerror() names them.  Facts come from shared/reference/AMF.md (cited as §N).
 *
 * Memory: one arena per decoded message.  Every node, string copy and container a decode creates is
 * bump-allocated from it and freed at once by amf_arena_free()/amf_arena_reset().  The arena has a
 * cap (AMF_EARENA when exceeded).  The encoder and amf_value_equal() use malloc()ed scratch (hash
 * tables) that they free before returning; amf_encoder keeps it between calls for speed.
 *
 * Origin (AMF0 vs AMF3): the model is shared.  Only three things remember where a value came from,
 * because they change how it is re-encoded:
 *   - AMF_VF_ECMA on an array: it was (and in AMF0 is written as) an ECMA array 0x08; the count as
 *     sent is kept in amf_array.ecma_count.  Without the flag an AMF0 array with no associative part
 *     is a strict array 0x0A.
 *   - amf_value.tz on a date: the AMF0 time-zone field as sent (0 for built dates); written back.
 *   - AMF_VF_AVMPLUS: the value sat behind an AMF0 0x11 marker; the AMF0 encoder wraps it again.
 *     (AMF3-only kinds — integer, XML 0x0B, ByteArray, vectors, dictionaries, AMF3 objects with
 *     sealed members or externalizable traits — are always written through 0x11 in AMF0.)
 * Threads: an arena, an amf_encoder and the values being built are not shared between threads
 * without locking; finished values may be read (encoded, compared, dumped) from many at once.
 *
 * AMF0 typed objects (0x10) and AMF3 objects share one object kind: an AMF0 typed object decodes to
 * a dynamic trait with its class name and no sealed members.
 */
#ifndef AMF_AMF_H
#define AMF_AMF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================================================
 * Errors.  Every limit violation has its own code.
 * ============================================================================================== */
#define AMF_ERRORS(X)                                                                          \
    X(AMF_ETRUNC,     -1, "input ends inside a value")                                          \
    X(AMF_EMARKER,    -2, "unknown or reserved type marker")                                    \
    X(AMF_EREF,       -3, "object reference index out of range")                                \
    X(AMF_ESTRREF,    -4, "string reference index out of range")                                \
    X(AMF_ETRAITREF,  -5, "traits reference index out of range")                                \
    X(AMF_EDEPTH,     -6, "nesting deeper than the configured limit")                           \
    X(AMF_EINPUT,     -7, "input larger than the configured limit")                             \
    X(AMF_ECOUNT,     -8, "element count exceeds the limit or the remaining input")             \
    X(AMF_ESTRLEN,    -9, "string or byte array longer than the configured limit")              \
    X(AMF_EREFS,     -10, "reference table larger than the configured limit")                   \
    X(AMF_EARENA,    -11, "arena size limit reached")                                           \
    X(AMF_ENOMEM,    -12, "out of memory")                                                      \
    X(AMF_EEXTERNAL, -13, "unknown externalizable class")                                       \
    X(AMF_EEXTBODY,  -14, "malformed externalizable body")                                      \
    X(AMF_ETRAILING, -15, "bytes left after the value")                                         \
    X(AMF_EVERSION,  -16, "unknown remoting envelope version")                                  \
    X(AMF_EOUTPUT,   -17, "output larger than the buffer's cap")                                \
    X(AMF_ETYPE,     -18, "value has the wrong type for this operation")                        \
    X(AMF_ERANGE,    -19, "length or count too large for the wire format")                      \
    X(AMF_EINVAL,    -20, "invalid argument")                                                   \
    X(AMF_EJSON,     -21, "malformed JSON")                                                     \
    X(AMF_EUNSUPPORTED, -22, "AMF0 unsupported marker 0x0D")                                    \
    X(AMF_EOBJEND,   -23, "object-end marker outside a property list")                          \
    X(AMF_EHEADERS,  -24, "more envelope headers or bodies than the configured limit")

enum amf_error {
#define AMF_ERR_ENUM_(name, val, text) name = val,
    AMF_OK = 0,
    AMF_ERRORS(AMF_ERR_ENUM_)
#undef AMF_ERR_ENUM_
};

/* Text for an error code; never NULL ("unknown error" for codes not listed above). */
const char *amf_strerror(int err);

/* ================================================================================================
 * Limits.  Every decode (and encode, for depth) is bounded by these.
 * ============================================================================================== */
struct amf_limits {
    size_t max_input;       /* bytes a single decode may be given; default 64 MiB */
    size_t max_arena;       /* bytes an arena may hold (used when creating one); default 256 MiB */
    uint32_t max_depth;     /* container nesting; default 512 */
    uint32_t max_elements;  /* entries in one container (array, object, vector, dict); default 16 Mi */
    uint32_t max_string;    /* bytes in one string/XML/ByteArray; default 64 MiB */
    uint32_t max_refs;      /* entries in one reference table (strings, objects, traits); default 16 Mi */
    uint32_t max_messages;  /* envelope headers, and separately bodies; default 4096 */
};
/* Fills the defaults above. */
void amf_limits_default(struct amf_limits *lim);

/* ================================================================================================
 * Arena
 * ============================================================================================== */
typedef struct amf_arena amf_arena;

/* A new arena capped at max_bytes (0 = default 256 MiB).  NULL when out of memory. */
amf_arena *amf_arena_new(size_t max_bytes);
/* Frees every allocation at once.  NULL is fine. */
void amf_arena_free(amf_arena *a);
/* Forgets every allocation but keeps the blocks for the next message (no fresh pages, no malloc);
 * what is kept is bounded by the largest message decoded into this arena. */
void amf_arena_reset(amf_arena *a);
/* Bytes handed out so far (what counts against the cap). */
size_t amf_arena_used(const amf_arena *a);
/* size bytes aligned to 8, or NULL when the cap would be passed or malloc fails. */
void *amf_arena_alloc(amf_arena *a, size_t size);
/* A copy of p[0..len) plus a NUL terminator (so strings built or copied are C strings too). */
char *amf_arena_strdup(amf_arena *a, const void *p, size_t len);

/* ================================================================================================
 * Value model
 * ============================================================================================== */
enum amf_type {
    AMF_UNDEFINED = 0,  /* AMF0 0x06, AMF3 0x00 */
    AMF_NULL,           /* AMF0 0x05, AMF3 0x01 */
    AMF_BOOL,           /* AMF0 0x01, AMF3 0x02/0x03; u.b */
    AMF_INT,            /* AMF3 0x04 (29-bit signed); u.i.  AMF0 writes it as a number */
    AMF_DOUBLE,         /* AMF0 0x00, AMF3 0x05; u.d */
    AMF_STRING,         /* AMF0 0x02/0x0C, AMF3 0x06; u.s */
    AMF_DATE,           /* AMF0 0x0B, AMF3 0x08; u.d = ms since the epoch (UTC), tz = AMF0 field */
    AMF_XMLDOC,         /* AMF0 0x0F, AMF3 0x07 (flash.xml.XMLDocument); u.s */
    AMF_XML,            /* AMF3 0x0B (E4X XML); u.s */
    AMF_ARRAY,          /* AMF0 0x08/0x0A, AMF3 0x09; u.array */
    AMF_OBJECT,         /* AMF0 0x03/0x10, AMF3 0x0A (incl. externalizable); u.object */
    AMF_BYTEARRAY,      /* AMF3 0x0C; u.bytes */
    AMF_VECTOR_INT,     /* AMF3 0x0D; u.vector (items.i) */
    AMF_VECTOR_UINT,    /* AMF3 0x0E; u.vector (items.u) */
    AMF_VECTOR_DOUBLE,  /* AMF3 0x0F; u.vector (items.d) */
    AMF_VECTOR_OBJECT,  /* AMF3 0x10; u.vector (items.v, type_name) */
    AMF_DICTIONARY,     /* AMF3 0x11; u.dict */
    AMF_UNSUPPORTED,    /* AMF0 0x0D: only built, never accepted by the decoder (§1.4) */
    AMF_TYPE_COUNT_
};

/* amf_value.flags */
#define AMF_VF_ECMA    0x01u  /* array: AMF0 ECMA array (0x08); see the origin note at the top */
#define AMF_VF_AVMPLUS 0x02u  /* value came behind AMF0 0x11 and is written behind it again */

/* Strings are byte ranges (UTF-8 as sent, not validated, not necessarily NUL-terminated when the
 * decode borrowed them from the input; copies and built strings are NUL-terminated). */
struct amf_str {
    const char *ptr;   /* bytes; NULL only for the "absent" string of amf_flex_msg */
    uint32_t len;      /* byte length */
};
struct amf_bytes {
    const uint8_t *ptr; /* contents */
    uint32_t len;       /* byte length */
};

struct amf_value;
struct amf_array;
struct amf_object;
struct amf_vector;
struct amf_dict;

struct amf_value {
    uint8_t type;       /* enum amf_type */
    uint8_t flags;      /* AMF_VF_* */
    int16_t tz;         /* AMF_DATE: AMF0 time-zone field as sent (ignored for the date's meaning) */
    uint32_t reserved_; /* keeps the union 8-aligned; always 0 */
    union {
        int b;                      /* AMF_BOOL: 0 or 1 */
        int32_t i;                  /* AMF_INT: -2^28 .. 2^28-1 */
        double d;                   /* AMF_DOUBLE, AMF_DATE (ms) */
        struct amf_str s;           /* AMF_STRING, AMF_XML, AMF_XMLDOC */
        struct amf_bytes bytes;     /* AMF_BYTEARRAY */
        struct amf_array *array;    /* AMF_ARRAY */
        struct amf_object *object;  /* AMF_OBJECT */
        struct amf_vector *vector;  /* AMF_VECTOR_* */
        struct amf_dict *dict;      /* AMF_DICTIONARY */
    } u;
};

/* A named member: object property, associative array entry. */
struct amf_member {
    struct amf_str name;      /* property name */
    struct amf_value *value;  /* never NULL */
};

/* AMF3 array (dense + associative parts), AMF0 strict array (dense only) or ECMA array (assoc only,
 * AMF_VF_ECMA set on the value). */
struct amf_array {
    struct amf_value **dense;   /* dense items */
    uint32_t dense_count;       /* number of dense items */
    uint32_t dense_cap;         /* allocated slots in dense */
    struct amf_member *assoc;   /* associative entries in wire order */
    uint32_t assoc_count;       /* number of associative entries */
    uint32_t assoc_cap;         /* allocated slots in assoc */
    uint32_t ecma_count;        /* AMF0 ECMA count field as sent / to send (readers ignore it) */
};

/* Object traits (AMF3 §2.4; AMF0 objects get equivalent traits).  Shared by pointer among objects
 * decoded through a traits reference. */
struct amf_traits {
    struct amf_str class_name;  /* "" = anonymous */
    struct amf_str *sealed;     /* sealed member names, sealed_count of them */
    uint32_t sealed_count;      /* number of sealed members */
    uint8_t dynamic;            /* 1: dynamic members may follow the sealed ones */
    uint8_t externalizable;     /* 1: body is class-specific (amf_object.ext); no members */
};

struct amf_object {
    const struct amf_traits *traits; /* never NULL */
    struct amf_value **sealed;       /* values of the sealed members, traits->sealed_count of them */
    struct amf_member *dyn;          /* dynamic members in wire order (all members of AMF0 objects) */
    uint32_t dyn_count;              /* number of dynamic members */
    uint32_t dyn_cap;                /* allocated slots in dyn */
    struct amf_value *ext;           /* externalizable: the body as its class handler decoded it */
};

struct amf_vector {
    uint32_t count;             /* number of items */
    uint32_t cap;               /* allocated items */
    uint8_t fixed;              /* the fixed-length flag as sent */
    struct amf_str type_name;   /* AMF_VECTOR_OBJECT: element class name ("" or "*" = any) */
    union {
        int32_t *i;             /* AMF_VECTOR_INT */
        uint32_t *u;            /* AMF_VECTOR_UINT */
        double *d;              /* AMF_VECTOR_DOUBLE */
        struct amf_value **v;   /* AMF_VECTOR_OBJECT */
    } items;
};

struct amf_dict_entry {
    struct amf_value *key;      /* any value */
    struct amf_value *value;    /* any value */
};
struct amf_dict {
    struct amf_dict_entry *entries; /* in wire order */
    uint32_t count;             /* number of entries */
    uint32_t cap;               /* allocated entries */
    uint8_t weak;               /* weak-keys flag as sent */
};

/* Name of a type ("object", "vector<int>", ...). */
const char *amf_type_name(int type);

/* ================================================================================================
 * Builder: every function allocates from the arena and returns NULL (or AMF_EARENA) when it is full.
 * Strings passed in are copied.  Integers given to amf_new_number() become AMF_INT when integral and
 * within 29 bits, else AMF_DOUBLE.
 * ============================================================================================== */
struct amf_value *amf_new_undefined(amf_arena *a);
struct amf_value *amf_new_null(amf_arena *a);
struct amf_value *amf_new_bool(amf_arena *a, int b);
struct amf_value *amf_new_int(amf_arena *a, int32_t i);        /* clamps nothing: caller keeps 29 bits */
struct amf_value *amf_new_double(amf_arena *a, double d);
struct amf_value *amf_new_number(amf_arena *a, double d);
struct amf_value *amf_new_string(amf_arena *a, const char *s, size_t len);
struct amf_value *amf_new_stringz(amf_arena *a, const char *s);
struct amf_value *amf_new_date(amf_arena *a, double ms);
struct amf_value *amf_new_xml(amf_arena *a, const char *s, size_t len);
struct amf_value *amf_new_xmldoc(amf_arena *a, const char *s, size_t len);
struct amf_value *amf_new_bytearray(amf_arena *a, const void *p, size_t len);
struct amf_value *amf_new_array(amf_arena *a);          /* AMF3 array / AMF0 strict array */
struct amf_value *amf_new_ecma_array(amf_arena *a);     /* AMF0 ECMA array (AMF_VF_ECMA) */
/* type = AMF_VECTOR_*; type_name used for AMF_VECTOR_OBJECT only (NULL = "*"). */
struct amf_value *amf_new_vector(amf_arena *a, int type, int fixed, const char *type_name);
struct amf_value *amf_new_dictionary(amf_arena *a, int weak);
/* Traits: names copied.  class_name NULL = anonymous. */
struct amf_traits *amf_new_traits(amf_arena *a, const char *class_name, const char *const *sealed,
                                  size_t sealed_count, int dynamic, int externalizable);
/* Anonymous dynamic object (class_name NULL or "") or typed dynamic object with no sealed members. */
struct amf_value *amf_new_object(amf_arena *a, const char *class_name);
/* Object with the given traits; sealed values start as undefined. */
struct amf_value *amf_new_object_traits(amf_arena *a, const struct amf_traits *t);
/* Externalizable object of class_name whose body is ext (what that class's handler writes). */
struct amf_value *amf_new_external(amf_arena *a, const char *class_name, struct amf_value *ext);

/* Appends a dense item (also for AMF_VECTOR_OBJECT). */
int amf_array_push(amf_arena *a, struct amf_value *arr, struct amf_value *v);
/* Sets an associative entry (replaces an existing key). */
int amf_array_set(amf_arena *a, struct amf_value *arr, const char *key, size_t klen,
                  struct amf_value *v);
/* Appends to a number vector (value converted to the vector's element type). */
int amf_vector_push_number(amf_arena *a, struct amf_value *vec, double d);
/* Sets a member: the sealed slot when the traits name it, else a dynamic member (replacing one with
 * the same name).  AMF_ETYPE when the name is not sealed and the traits are not dynamic. */
int amf_object_set(amf_arena *a, struct amf_value *obj, const char *name, struct amf_value *v);
/* Appends a dynamic member without looking for duplicates (fast path for decoders/generators). */
int amf_object_add(amf_arena *a, struct amf_value *obj, const char *name, size_t nlen,
                   struct amf_value *v);
int amf_dict_set(amf_arena *a, struct amf_value *dict, struct amf_value *key,
                 struct amf_value *v); /* appends */

/* Look-ups (NULL when absent or the wrong type).  Names compare by bytes. */
struct amf_value *amf_object_get(const struct amf_value *obj, const char *name);
struct amf_value *amf_array_get(const struct amf_value *arr, uint32_t index);      /* dense */
struct amf_value *amf_array_get_key(const struct amf_value *arr, const char *key); /* assoc */
/* Class name of an object ("" for anonymous, NULL for non-objects). */
const char *amf_class_name(const struct amf_value *obj);
/* Numeric value of AMF_INT/AMF_DOUBLE/AMF_DATE: 0 and sets *ok = 0 otherwise (ok may be NULL). */
double amf_number(const struct amf_value *v, int *ok);
/* 1 when v is a string equal to s (NUL-terminated). */
int amf_str_eq(const struct amf_value *v, const char *s);

/* Deep equality of two graphs, including their shape: shared nodes must be shared in both and cycles
 * must be the same cycles.  Doubles compare bit-for-bit (NaN == NaN, 0.0 != -0.0).  Flags: */
#define AMF_EQ_NUMERIC  0x01u  /* AMF_INT and AMF_DOUBLE compare by numeric value */
#define AMF_EQ_UNFOLD   0x02u  /* compare the unfolded trees: sharing may differ (cycles still end);
                                * for AMF0 bodies whose AMF3 parts shared nodes across two 0x11
                                * values, which writers re-emit unshared (§2.8) */
#define AMF_EQ_NO_FLAGS 0x00u
/* Returns 1 equal, 0 different, or a negative error (AMF_ENOMEM, AMF_EDEPTH past 10000 levels). */
int amf_value_equal(const struct amf_value *a, const struct amf_value *b, unsigned flags);

/* ================================================================================================
 * Externalizable classes (§2.6, §3.5).  A handler reads the class-specific body that follows the
 * traits and stores what it decoded in obj->u.object->ext; the writer does the reverse.  Handlers use
 * the amf_ext_* primitives, which share the message's AMF3 reference tables.
 * Built in (always consulted after the caller's registry unless AMF_REG_NO_BUILTINS):
 *   flex.messaging.io.ArrayCollection, flex.messaging.io.ArrayList, flex.messaging.io.ObjectProxy,
 *   mx.utils.ObjectProxy — ext = the one AMF3 value of the body (source array / wrapped object);
 *   DSK, DSA, DSC — ext = anonymous object whose members are the fields present in the body
 *   (body, clientId, destination, headers, messageId, timestamp, timeToLive, clientIdBytes,
 *   messageIdBytes, correlationId, correlationIdBytes, operation [DSC]).  Unknown flag bits' values
 *   are read and dropped (§3.5 forward compatibility).
 * ============================================================================================== */
struct amf_ext_io;  /* opaque: the decoder/encoder state a handler works through */

typedef int (*amf_ext_read_fn)(struct amf_ext_io *io, struct amf_value *obj, void *user);
typedef int (*amf_ext_write_fn)(struct amf_ext_io *io, const struct amf_value *obj, void *user);

struct amf_ext_class {
    const char *name;        /* class name on the wire */
    amf_ext_read_fn read;    /* decode the body; set obj->u.object->ext */
    amf_ext_write_fn write;  /* encode obj->u.object->ext as the body */
    void *user;              /* passed to both */
};

#define AMF_REG_NO_BUILTINS 0x01u /* do not fall back to the built-in classes */
struct amf_registry {
    const struct amf_ext_class *classes; /* caller's classes, looked up by name first */
    size_t count;                        /* number of classes */
    unsigned flags;                      /* AMF_REG_* */
};

/* Reading primitives (return 0 or a negative error). */
int amf_ext_read_u8(struct amf_ext_io *io, uint8_t *out);
int amf_ext_read_u16(struct amf_ext_io *io, uint16_t *out);
int amf_ext_read_u32(struct amf_ext_io *io, uint32_t *out);
int amf_ext_read_double(struct amf_ext_io *io, double *out);
int amf_ext_read_u29(struct amf_ext_io *io, uint32_t *out);
int amf_ext_read_bytes(struct amf_ext_io *io, size_t n, const uint8_t **out); /* view into input */
int amf_ext_read_utf_vr(struct amf_ext_io *io, struct amf_str *out);          /* AMF3 string table */
int amf_ext_read_value(struct amf_ext_io *io, struct amf_value **out);        /* one AMF3 value */
amf_arena *amf_ext_arena(struct amf_ext_io *io);  /* the decode's arena (NULL while encoding) */
/* Writing primitives. */
int amf_ext_write_u8(struct amf_ext_io *io, uint8_t v);
int amf_ext_write_u16(struct amf_ext_io *io, uint16_t v);
int amf_ext_write_u32(struct amf_ext_io *io, uint32_t v);
int amf_ext_write_double(struct amf_ext_io *io, double v);
int amf_ext_write_u29(struct amf_ext_io *io, uint32_t v);
int amf_ext_write_bytes(struct amf_ext_io *io, const void *p, size_t n);
int amf_ext_write_utf_vr(struct amf_ext_io *io, const char *s, size_t len);
int amf_ext_write_value(struct amf_ext_io *io, const struct amf_value *v);

/* ================================================================================================
 * Codec
 * ============================================================================================== */
enum amf_encoding { AMF_AMF0 = 0, AMF_AMF3 = 3 };

/* Options shared by decode and encode.  A NULL opts pointer means all defaults. */
#define AMF_DEC_BORROW 0x01u /* strings, XML and ByteArrays point into the input buffer instead of
                              * being copied: faster, but the input must outlive the values */
struct amf_opts {
    const struct amf_limits *limits;     /* NULL: amf_limits_default() */
    const struct amf_registry *registry; /* NULL: built-in externalizable classes only */
    unsigned flags;                      /* AMF_DEC_* */
};

/* Growable output buffer with a cap (curl dynbuf style). */
struct amf_buf {
    uint8_t *data;  /* malloc()ed bytes */
    size_t len;     /* bytes used */
    size_t cap;     /* bytes allocated */
    size_t max;     /* never grows past this; AMF_EOUTPUT instead */
};
/* max 0 = 256 MiB. */
void amf_buf_init(struct amf_buf *b, size_t max);
void amf_buf_free(struct amf_buf *b);
int amf_buf_append(struct amf_buf *b, const void *p, size_t n);
/* Makes room for n more bytes. */
int amf_buf_reserve(struct amf_buf *b, size_t n);

/* Decodes one value of `encoding` from buf[0..len) into arena (fresh reference tables).
 * On success returns 0, *out is the value and *consumed the bytes read (may be < len: AMF0 streams
 * such as RTMP commands are sequences of values).  On failure returns AMF_E*, *out is NULL, and
 * *consumed is the offset of the offending byte; the arena may hold partial allocations (reset it). */
int amf_decode(const struct amf_opts *opts, amf_arena *arena, int encoding, const void *buf,
               size_t len, struct amf_value **out, size_t *consumed);

/* Encodes v in `encoding`, appending to out (fresh reference tables).  Returns 0 or AMF_E*. */
int amf_encode(const struct amf_opts *opts, int encoding, const struct amf_value *v,
               struct amf_buf *out);

/* A reusable encoder: keeps its hash tables between calls (each call still starts fresh tables). */
typedef struct amf_encoder amf_encoder;
amf_encoder *amf_encoder_new(const struct amf_opts *opts);
void amf_encoder_free(amf_encoder *e);
int amf_encoder_write(amf_encoder *e, int encoding, const struct amf_value *v, struct amf_buf *out);

/* ================================================================================================
 * Remoting envelope (§3.1)
 * ============================================================================================== */
struct amf_header {
    struct amf_str name;       /* header name */
    uint8_t must_understand;   /* flag as sent */
    uint32_t length;           /* length field as sent (ignored when reading; written as real) */
    struct amf_value *value;   /* AMF0 value (AMF3 through AVM+) */
};
struct amf_body {
    struct amf_str target;     /* target URI: "Service.method", "null", "/1/onResult" */
    struct amf_str response;   /* response URI: "/1", "", "null" */
    uint32_t length;           /* length field as sent (0xFFFFFFFF, 1, or real; ignored) */
    struct amf_value *value;   /* AMF0 value */
};
struct amf_packet {
    uint16_t version;          /* 0, 1 (FMS, read as 0) or 3 */
    uint32_t header_count;     /* number of headers */
    uint32_t body_count;       /* number of bodies */
    struct amf_header *headers;/* header_count entries */
    struct amf_body *bodies;   /* body_count entries */
    uint32_t header_cap;       /* allocated headers (builder) */
    uint32_t body_cap;         /* allocated bodies (builder) */
};

/* Decodes a whole packet.  Reference tables reset per header and per body (§1.3).  The packet must
 * use every byte (AMF_ETRAILING otherwise).  Versions other than 0, 1, 3 are AMF_EVERSION.
 * err_off (may be NULL) gets the failing byte's offset. */
int amf_packet_decode(const struct amf_opts *opts, amf_arena *arena, const void *buf, size_t len,
                      struct amf_packet *out, size_t *err_off);
/* Encodes with real lengths in every length field.  Appends to out. */
int amf_packet_encode(const struct amf_opts *opts, const struct amf_packet *p, struct amf_buf *out);
/* Builder helpers (strings copied into the arena). */
void amf_packet_init(struct amf_packet *p, uint16_t version);
int amf_packet_add_header(amf_arena *a, struct amf_packet *p, const char *name, int must_understand,
                          struct amf_value *value);
int amf_packet_add_body(amf_arena *a, struct amf_packet *p, const char *target, const char *response,
                        struct amf_value *value);

/* ================================================================================================
 * Flex messages (§3.4, §3.5)
 * ============================================================================================== */
enum amf_flex_kind {
    AMF_FLEX_NONE = 0,
    AMF_FLEX_REMOTING,     /* flex.messaging.messages.RemotingMessage */
    AMF_FLEX_COMMAND,      /* flex.messaging.messages.CommandMessage, or DSC */
    AMF_FLEX_ACK,          /* flex.messaging.messages.AcknowledgeMessage, or DSK */
    AMF_FLEX_ERROR,        /* flex.messaging.messages.ErrorMessage */
    AMF_FLEX_ASYNC,        /* flex.messaging.messages.AsyncMessage, or DSA */
};
/* CommandMessage operations (BlazeDS numbers) */
enum amf_flex_op {
    AMF_FLEX_OP_SUBSCRIBE = 0, AMF_FLEX_OP_UNSUBSCRIBE = 1, AMF_FLEX_OP_POLL = 2,
    AMF_FLEX_OP_CLIENT_SYNC = 4, AMF_FLEX_OP_CLIENT_PING = 5, AMF_FLEX_OP_CLUSTER_REQUEST = 7,
    AMF_FLEX_OP_LOGIN = 8, AMF_FLEX_OP_LOGOUT = 9, AMF_FLEX_OP_SUBSCRIPTION_INVALIDATE = 10,
    AMF_FLEX_OP_MULTI_SUBSCRIBE = 11, AMF_FLEX_OP_DISCONNECT = 12, AMF_FLEX_OP_TRIGGER_CONNECT = 13,
    AMF_FLEX_OP_UNKNOWN = 10000,
};

/* A Flex message flattened.  Strings with ptr == NULL are null or absent on the wire; `has_*` tell
 * the two apart where it matters.  UUIDs sent as 16-byte ByteArrays (small messages) are turned into
 * upper-case 8-4-4-4-12 text.  Values point into the parsed graph (nothing is copied). */
struct amf_flex_msg {
    int kind;                       /* enum amf_flex_kind */
    int small;                      /* 1: came as DSK/DSA/DSC */
    struct amf_str message_id;      /* messageId */
    struct amf_str client_id;       /* clientId */
    struct amf_str correlation_id;  /* correlationId (Async/Ack/Error/Command) */
    struct amf_str destination;     /* destination */
    struct amf_str operation_name;  /* RemotingMessage operation (method name) */
    struct amf_str source;          /* RemotingMessage source (class name) */
    int32_t operation;              /* CommandMessage operation, -1 when absent */
    struct amf_value *body;         /* body (NULL when absent) */
    struct amf_value *headers;      /* headers object (NULL when absent) */
    struct amf_str ds_id;           /* headers.DSId */
    struct amf_str ds_endpoint;     /* headers.DSEndpoint */
    double timestamp;               /* ms; any numeric AMF type (or a numeric string, Zend) */
    double time_to_live;            /* ms */
    struct amf_str fault_code;      /* ErrorMessage faultCode (string or number text) */
    struct amf_str fault_string;    /* ErrorMessage faultString */
    struct amf_str fault_detail;    /* ErrorMessage faultDetail */
    struct amf_value *root_cause;   /* ErrorMessage rootCause (NULL when absent) */
    struct amf_value *extended_data;/* ErrorMessage extendedData (NULL when absent) */
};

/* Full class name of a kind ("flex.messaging.messages.RemotingMessage"), NULL for NONE. */
const char *amf_flex_class(int kind);
/* Parses v: a Flex message object, a DSK/DSA/DSC externalizable, or a 1-item strict array wrapping
 * either (what Flash sends).  Needs the arena only to format UUID bytes.  AMF_ETYPE when v is not a
 * Flex message.  Members are found by name, never by position (§8.11). */
int amf_flex_parse(amf_arena *a, const struct amf_value *v, struct amf_flex_msg *out);
/* Builds the full (not small) AMF3 typed object for m->kind with sealed members in BlazeDS order.
 * Absent strings are written as null; NULL body/headers as null and an empty object. */
int amf_flex_build(amf_arena *a, const struct amf_flex_msg *m, struct amf_value **out);
/* Zeroes m and sets kind, operation = -1. */
void amf_flex_init(struct amf_flex_msg *m, int kind);
/* 16 bytes as upper-case 8-4-4-4-12 UUID text (36 characters and a NUL), the form Flex prints. */
void amf_uuid_text(const uint8_t b[16], char out[37]);
/* A random (version 4, RFC 4122 variant) UUID from 16 random bytes, as text: what Flex's
 * UIDUtil.createUID() makes for message ids and DSIds.  The caller chooses the random source. */
void amf_uuid_random_text(const uint8_t random[16], char out[37]);

/* ================================================================================================
 * JSON and dump
 * ============================================================================================== */
#define AMF_JSON_PRETTY 0x01u /* two-space indentation */
#define AMF_JSON_CLASS  0x02u /* typed objects get a leading "$class" member */
/* JSON text of v appended to out (no NUL).  undefined/null -> null, NaN/Inf -> null, dates -> ISO
 * 8601 UTC strings, XML -> strings, ByteArray -> base64 string, arrays with an associative part ->
 * objects (dense items under "0", "1", ...), dictionaries -> [[key, value], ...], externalizable ->
 * its body.  A node met again on its own path (a cycle) is written as the string "[Circular]".
 * CESU-8 surrogate pairs (Java writers) become 4-byte UTF-8; other invalid UTF-8 bytes become U+FFFD.
 * Returns 0, AMF_EOUTPUT or AMF_EDEPTH. */
int amf_to_json(const struct amf_value *v, unsigned flags, struct amf_buf *out);
/* Parses JSON text into values in arena: objects -> anonymous dynamic objects, arrays -> dense
 * arrays, numbers -> AMF_INT when integral and within 29 bits else AMF_DOUBLE, strings (escapes and
 * surrogate pairs decoded to UTF-8), true/false/null.  Whitespace around the value only.
 * lim may be NULL.  err_off (may be NULL) gets the failing offset.  AMF_EJSON on bad syntax. */
int amf_from_json(amf_arena *a, const char *text, size_t len, const struct amf_limits *lim,
                  struct amf_value **out, size_t *err_off);
/* Annotated tree, one node per line: complex nodes numbered @N in first-visit order ("=@N" when met
 * again; for AMF3 values that is the object-table index), traits shown as <"Class", sealed(a, b),
 * dynamic|externalizable>, sealed members unquoted and dynamic/associative ones quoted, dense items
 * as [i], an externalizable body as ext, "avm+ " before values that sat behind AMF0 0x11, strings
 * JSON-escaped.  tests/unit/amf/fixtures_expected.txt is a worked example of the format. */
int amf_dump(const struct amf_value *v, struct amf_buf *out);

#ifdef __cplusplus
}
#endif
#endif
