/* The address book view of the Phonebook (issue 15): GET /yab/us lists a user's phonebook entries as
 * Yahoo's address book XML, POST /yab/us?sync=1 adds (a="1") and edits (e="1" with id) records the way
 * Pidgin and libyahoo2 send them.  One store: the entries are the AMF objects Phonebook.sync keeps;
 * the members in yab_fields have a meaning here, every other member, class name and type is left
 * exactly as the AMF client sent it.  No I/O: the HTTP glue (http_glue.c) authenticates the Y/T
 * cookies and passes the account in.
 *
 * Ids: an entry's address-book id is derived from what identifies it, so it needs no storage of its
 * own and survives a Flex client re-sending (reordering, editing) its whole list: from its yahooId
 * (case-folded) when it has one, else from its names and e-mail.  Decimal, 1..2^31-1 (libyahoo2 reads
 * it with atoi); a collision inside one book takes the next free number. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httputil.h"
#include "log.h"
#include "internal.h"
#include "store_async.h"
#include "yab_xml.h"

/* The stored phonebook a request works on when the store worker read it (or the cache had it). */
struct yab_base {
    long rc;                    /* phonebook_get's size, or STORE_NOTFOUND / STORE_ERR */
    const uint8_t *blob;        /* its bytes */
};

#define YAB_ID_MAX 2147483647u
#define YAB_XML_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

/* One entry of the book as the address book sees it. */
struct yab_entry {
    struct amf_value *obj;          /* the AMF object (NULL: not an object, not listed) */
    uint32_t id;                    /* address-book id */
};

struct yab_book {
    struct amf_value *list;         /* the stored value (array or ArrayCollection) */
    struct amf_value *arr;          /* its array */
    int enc;                        /* AMF_AMF0 / AMF_AMF3 as stored */
    struct yab_entry *e;            /* one per dense element */
    uint32_t n;                     /* how many */
};

/* A string member as bytes (numbers formatted into buf); NULL when absent or of another type. */
static const char *yab_member(const struct amf_value *obj, const char *name, char *buf, size_t cap, size_t *len)
{
    const struct amf_value *v = amf_object_get(obj, name);
    if (!v) return NULL;
    if (v->type == AMF_STRING) {
        *len = v->u.s.len;
        return v->u.s.ptr;
    }
    if (v->type == AMF_INT || v->type == AMF_DOUBLE) {
        int n = snprintf(buf, cap, "%.15g", amf_number(v, NULL));
        *len = n > 0 ? (size_t)n : 0;
        return buf;
    }
    return NULL;
}

/* The value of field f for an entry: the mapped member, or for fn/ln the halves of `name` when the
 * entry has neither firstName nor lastName ("Ann Lee" -> fn "Ann", ln "Lee"; one word -> fn). */
static const char *yab_field(const struct amf_value *obj, int f, char *buf, size_t cap, size_t *len)
{
    const char *s = yab_member(obj, yab_fields[f].member, buf, cap, len);
    if (s || (f != YAB_FN && f != YAB_LN)) return s;
    size_t l1, l2, nl;
    char b1[32], b2[32];
    if (yab_member(obj, "firstName", b1, sizeof b1, &l1) || yab_member(obj, "lastName", b2, sizeof b2, &l2)) return NULL;
    const char *name = yab_member(obj, "name", buf, cap, &nl);
    if (!name) return NULL;
    while (nl && name[0] == ' ') name++, nl--;
    while (nl && name[nl - 1] == ' ') nl--;
    const char *sp = memchr(name, ' ', nl);
    if (f == YAB_FN) {
        *len = sp ? (size_t)(sp - name) : nl;
        return *len ? name : NULL;
    }
    if (!sp) return NULL;
    const char *last = sp;
    while (last < name + nl && *last == ' ') last++;
    *len = (size_t)(name + nl - last);
    return *len ? last : NULL;
}

/* The id an entry derives (before collisions). */
static uint32_t yab_derive_id(const struct amf_value *obj)
{
    crypto_generichash_state h;
    uint8_t out[8];
    char buf[64];
    size_t len;
    crypto_generichash_init(&h, NULL, 0, sizeof out);
    const char *yi = yab_member(obj, "yahooId", buf, sizeof buf, &len);
    if (yi && len) {
        crypto_generichash_update(&h, (const uint8_t *)"y", 1);
        for (size_t i = 0; i < len; i++) {
            uint8_t c = (uint8_t)tolower((unsigned char)yi[i]);
            crypto_generichash_update(&h, &c, 1);
        }
    } else {
        static const int keys[] = {YAB_FN, YAB_LN, YAB_EM};
        crypto_generichash_update(&h, (const uint8_t *)"n", 1);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *s = yab_field(obj, keys[k], buf, sizeof buf, &len);
            if (s) crypto_generichash_update(&h, (const uint8_t *)s, len);
            crypto_generichash_update(&h, (const uint8_t *)"\x1f", 1);
        }
    }
    crypto_generichash_final(&h, out, sizeof out);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | out[i];
    return (uint32_t)(v % YAB_ID_MAX) + 1;
}

static int yab_id_taken(const struct yab_book *b, uint32_t upto, uint32_t id)
{
    for (uint32_t i = 0; i < upto; i++)
        if (b->e[i].obj && b->e[i].id == id) return 1;
    return 0;
}

/* Ids for entries [from, n) (the earlier ones keep theirs). */
static void yab_assign_ids(struct yab_book *b, uint32_t from)
{
    for (uint32_t i = from; i < b->n; i++) {
        if (!b->e[i].obj) continue;
        uint32_t id = yab_derive_id(b->e[i].obj);
        while (yab_id_taken(b, i, id)) id = id % YAB_ID_MAX + 1;
        b->e[i].id = id;
    }
}

/* Indexes the entries of arr into b (room for `extra` more). */
static int yab_index(amf_arena *a, struct yab_book *b, uint32_t extra)
{
    struct amf_array *arr = b->arr->u.array;
    b->n = arr->dense_count;
    b->e = amf_arena_alloc(a, ((size_t)b->n + extra + 1) * sizeof *b->e);
    if (!b->e) return -1;
    for (uint32_t i = 0; i < b->n; i++) {
        struct amf_value *v = arr->dense[i];
        b->e[i].obj = v && v->type == AMF_OBJECT && !v->u.object->traits->externalizable ? v : NULL;
    }
    yab_assign_ids(b, 0);
    return 0;
}

/* Appends one <ct …/> record.  e0 comes first and always (libyahoo2 skips a record without it), then
 * id before yi, and libyahoo2's own phone attribute names before libpurple's (libyahoo2 reads the
 * attributes in a fixed order with strstr). */
static int yab_write_ct(struct amf_buf *o, const struct yab_entry *e)
{
    static const struct { int f; const char *attr; } order[] = {
        {YAB_EM, "e0"}, {-1, "id"}, {YAB_FN, "fn"}, {YAB_LN, "ln"}, {YAB_NN, "nn"}, {YAB_YI, "yi"},
        {YAB_HP, "hphone"}, {YAB_WP, "wphone"}, {YAB_MO, "mphone"}, {YAB_HP, "hp"}, {YAB_WP, "wp"},
        {YAB_MO, "mo"}, {YAB_EM, "em"},
    };
    char buf[64], idtext[16];
    int err = amf_buf_append(o, "<ct", 3);
    for (size_t i = 0; i < sizeof order / sizeof order[0] && !err; i++) {
        size_t len = 0;
        const char *v;
        if (order[i].f < 0) {
            len = (size_t)snprintf(idtext, sizeof idtext, "%u", e->id);
            v = idtext;
        } else {
            v = yab_field(e->obj, order[i].f, buf, sizeof buf, &len);
        }
        if ((!v || !len) && i > 0) continue; /* absent: omitted (an empty nn would blank Pidgin's alias) */
        char attr[16];
        int an = snprintf(attr, sizeof attr, " %s=\"", order[i].attr);
        err = amf_buf_append(o, attr, (size_t)an);
        if (!err && v) err = yab_escape(o, v, len);
        if (!err) err = amf_buf_append(o, "\"", 1);
    }
    if (!err) err = amf_buf_append(o, "/>\n", 3);
    return err;
}

static int yab_write_head(struct amf_buf *o, const char *user)
{
    int err = amf_buf_append(o, YAB_XML_HEAD "<ab k=\"", sizeof YAB_XML_HEAD "<ab k=\"" - 1);
    if (!err) err = yab_escape(o, user, strlen(user));
    if (!err) err = amf_buf_append(o, "\" cc=\"1\">\n", 10);
    return err;
}

static void yab_reply(struct gw_response *out, int status, const char *reason, struct amf_buf *o)
{
    out->status = status;
    out->reason = reason;
    out->content_type = "text/xml; charset=utf-8";
    out->body = o->data;
    out->len = o->len;
    o->data = NULL;
}

/* An error: a one-line text body, nothing changed. */
static void yab_fail(struct gw_response *out, const struct gw_yab_request *in, int status, const char *reason,
                     const char *why)
{
    size_t n = strlen(why);
    log_event(LOG_INFO, in->peer, in->user, "yab_refused", status, "%s", why);
    out->status = status;
    out->reason = reason;
    out->content_type = GW_TEXT;
    out->body = malloc(n + 1);
    if (out->body) {
        memcpy(out->body, why, n);
        out->body[n] = '\n';
        out->len = n + 1;
    }
}

/* 200 with an <ab> of n records: entries pick[0..n) of b, or (pick NULL) its first n entries. */
static void yab_answer(struct gateway *gw, const struct gw_yab_request *in, const struct yab_book *b,
                       const uint32_t *pick, uint32_t n, struct gw_response *out)
{
    struct amf_buf o;
    amf_buf_init(&o, gw->cfg.yab_max_reply);
    int err = yab_write_head(&o, in->user);
    for (uint32_t r = 0; r < n && !err; r++) {
        const struct yab_entry *e = &b->e[pick ? pick[r] : r];
        if (e->obj) err = yab_write_ct(&o, e);
    }
    if (!err) err = amf_buf_append(&o, "</ab>\n", 6);
    if (err) {
        amf_buf_free(&o);
        yab_fail(out, in, 500, "Internal Server Error", "the answer is larger than yab_max_reply");
        return;
    }
    yab_reply(out, 200, "OK", &o);
}

/* base NULL: read through the cache on the gateway's store (SQLite). */
static int yab_load(struct gateway *gw, const struct gw_yab_request *in, const struct yab_base *base, amf_arena *a,
                    struct yab_book *b, uint32_t extra, struct gw_response *out)
{
    memset(b, 0, sizeof *b);
    int rc = base ? gw_pb_loaded(gw, in->user, in->peer, a, base->rc, base->blob, &b->list, &b->enc)
                  : gw_pb_load(gw, in->user, in->peer, a, &b->list, &b->enc);
    if (rc == GW_PB_NOMEM) {
        yab_fail(out, in, 503, "Service Unavailable", "out of memory");
        return -1;
    }
    if (rc != GW_PB_OK) {
        yab_fail(out, in, 500, "Internal Server Error", "the phonebook cannot be read");
        return -1;
    }
    b->arr = gw_list_array(b->list);
    if (!b->arr) { /* a stored value that is no list: nothing to show, and nothing to add to */
        b->arr = amf_new_array(a);
        if (!b->arr) {
            yab_fail(out, in, 503, "Service Unavailable", "out of memory");
            return -1;
        }
    }
    if (yab_index(a, b, extra) < 0) {
        yab_fail(out, in, 503, "Service Unavailable", "out of memory");
        return -1;
    }
    return 0;
}

/* GET: the whole book.  diffs=1&t=N asks for the changes since N; the book keeps no per-entry times,
 * so every answer is the full book, which a client applying records as updates reads correctly. */
static void yab_get(struct gateway *gw, const struct gw_yab_request *in, const struct yab_base *base, amf_arena *a,
                    struct gw_response *out)
{
    struct yab_book b;
    if (yab_load(gw, in, base, a, &b, 0, out) < 0) return;
    yab_answer(gw, in, &b, NULL, b.n, out);
}

/* Sets member f of obj to the string s (the sealed slot or dynamic member it has, else a new dynamic
 * member).  0, or -1 when the entry's class has no such member and is not dynamic. */
static int yab_set(amf_arena *a, struct amf_value *obj, int f, const char *s)
{
    struct amf_value *v = amf_new_stringz(a, s);
    return v && amf_object_set(a, obj, yab_fields[f].member, v) == 0 ? 0 : -1;
}

static int yab_apply_fields(amf_arena *a, struct amf_value *obj, const struct yab_ct *ct)
{
    for (int f = 0; f < YAB_NFIELDS; f++)
        if (f != YAB_YI && ct->f[f] && yab_set(a, obj, f, ct->f[f]) < 0) return -1;
    return 0;
}

static int yab_same_yi(const struct amf_value *obj, const char *yi)
{
    char buf[64];
    size_t len;
    const char *s = yab_member(obj, "yahooId", buf, sizeof buf, &len);
    return s && len == strlen(yi) && !strncasecmp(s, yi, len);
}

/* One record; the entry it touched in *touched.  NULL, or why it cannot be applied. */
static const char *yab_apply(struct gateway *gw, amf_arena *a, struct yab_book *b, const struct yab_ct *ct,
                             uint32_t *touched)
{
    const char *yi = ct->f[YAB_YI];
    uint32_t i = b->n;
    if (ct->op == YAB_OP_EDIT) {
        char *end;
        unsigned long id = ct->id ? strtoul(ct->id, &end, 10) : 0;
        if (!ct->id || !ct->id[0] || *end) return "an edit (e=\"1\") needs a numeric id";
        for (i = 0; i < b->n && !(b->e[i].obj && b->e[i].id == id); i++) {}
        if (i == b->n) return "no entry has this id";
        if (yi && yi[0] && !yab_same_yi(b->e[i].obj, yi)) return "the id belongs to an entry with another yi";
    } else if (ct->op == YAB_OP_ADD) {
        if (!yi || !yi[0]) return "an add (a=\"1\") needs a yi";
        for (i = 0; i < b->n && !(b->e[i].obj && yab_same_yi(b->e[i].obj, yi)); i++) {}
        if (i == b->n) { /* a new entry: yahooId first, then what the record carries */
            if (b->n >= (uint32_t)gw->cfg.phonebook_max) return "the phonebook is full (amf_phonebook_max)";
            struct amf_value *obj = amf_new_object(a, NULL);
            if (!obj || yab_set(a, obj, YAB_YI, yi) < 0 || amf_array_push(a, b->arr, obj) != 0) return "out of memory";
            b->e[b->n].obj = obj;
            b->n++;
            yab_assign_ids(b, b->n - 1);
        }
    } else {
        return "a record is neither an add (a=\"1\") nor an edit (e=\"1\")";
    }
    if (yab_apply_fields(a, b->e[i].obj, ct) < 0) return "the entry's class has no such member and is not dynamic";
    *touched = i;
    return NULL;
}

static int yab_query_is(const char *query, const char *name, const char *want)
{
    char v[16];
    ssize_t n = query ? http_query_get(query, name, v, sizeof v) : -1;
    return n >= 0 && !strcmp(v, want);
}

/* POST sync=1: every record applies, or none (the book is stored once, at the end).  defer: the new
 * book's blob goes there (set only when there is one to store) and the caller stores it and logs. */
static void yab_post(struct gateway *gw, const struct gw_yab_request *in, const struct yab_base *base, amf_arena *a,
                     struct amf_buf *defer, uint32_t *nrec, struct gw_response *out)
{
    char why[160];
    if (!yab_query_is(in->query, "sync", "1")) {
        yab_fail(out, in, 400, "Bad Request", "POST /yab needs sync=1");
        return;
    }
    if (in->len > gw->cfg.yab_max_body) {
        snprintf(why, sizeof why, "%zu bytes exceed yab_max_body=%zu", in->len, gw->cfg.yab_max_body);
        yab_fail(out, in, 413, "Payload Too Large", why);
        return;
    }
    struct yab_limits lim = {gw->cfg.yab_max_value, gw->cfg.yab_max_records};
    struct yab_doc doc;
    char perr[128];
    if (yab_parse(a, (const char *)in->body, in->len, &lim, &doc, perr, sizeof perr) < 0) {
        snprintf(why, sizeof why, "bad address book XML: %s", perr);
        yab_fail(out, in, 400, "Bad Request", why);
        return;
    }
    if (!doc.k || strcasecmp(doc.k, in->user) != 0) {
        yab_fail(out, in, 403, "Forbidden", "k= names another account than the cookies");
        return;
    }
    struct yab_book b;
    if (yab_load(gw, in, base, a, &b, doc.nct, out) < 0) return;
    uint32_t *touched = amf_arena_alloc(a, ((size_t)doc.nct + 1) * sizeof *touched);
    if (!touched) {
        yab_fail(out, in, 503, "Service Unavailable", "out of memory");
        return;
    }
    for (uint32_t r = 0; r < doc.nct; r++) {
        const char *bad = yab_apply(gw, a, &b, &doc.ct[r], &touched[r]);
        if (bad) {
            snprintf(why, sizeof why, "record %u: %s; nothing changed", r + 1, bad);
            yab_fail(out, in, 400, "Bad Request", why);
            return;
        }
    }
    if (doc.nct) {
        int rc = defer ? gw_pb_encode(gw, b.enc, b.list, defer, perr, sizeof perr)
                       : gw_pb_store(gw, in->user, b.enc, b.list, perr, sizeof perr);
        if (rc != GW_PB_OK) {
            snprintf(why, sizeof why, "the phonebook cannot be stored%s%s", rc == GW_PB_ENCODE ? ": " : "",
                     rc == GW_PB_ENCODE ? perr : "");
            yab_fail(out, in, rc == GW_PB_ENCODE ? 413 : 500, rc == GW_PB_ENCODE ? "Payload Too Large" : "Internal Server Error",
                     why);
            return;
        }
    }
    if (!defer || !doc.nct) log_event(LOG_INFO, in->peer, in->user, "yab_sync", 0, "%u records", doc.nct);
    if (nrec) *nrec = doc.nct;
    yab_answer(gw, in, &b, touched, doc.nct, out);
    if (defer && doc.nct && out->status != 200) amf_buf_free(defer); /* nothing to store after all */
}

static void yab_run(struct gateway *gw, const struct gw_yab_request *in, const struct yab_base *base,
                    struct amf_buf *defer, uint32_t *nrec, struct gw_response *out)
{
    memset(out, 0, sizeof *out);
    amf_arena *a = amf_arena_new(gw->cfg.max_arena);
    if (!a) {
        yab_fail(out, in, 503, "Service Unavailable", "out of memory");
        return;
    }
    if (in->is_post) yab_post(gw, in, base, a, defer, nrec, out);
    else yab_get(gw, in, base, a, out);
    amf_arena_free(a);
}

void gateway_yab(struct gateway *gw, const struct gw_yab_request *in, struct gw_response *out)
{
    yab_run(gw, in, NULL, NULL, NULL, out);
}

/* ---- the address book on the store worker (PostgreSQL) -------------------------------------------
 * A request reads the stored book on the worker (unless the cache has it), works on it on the loop as
 * gateway_yab does, and a POST's new book is written on the worker by a job that first checks the row
 * is still the one it worked on (jobs run one at a time in order, so on this node nothing comes in
 * between; another request's write meanwhile makes it start over, YAB_TRIES times at most): the
 * all-or-nothing read-modify-write of gateway_yab, and nobody else waits. */
#define YAB_TRIES 3
#define YAB_CONFLICT 1 /* the write job's code when the stored book changed since it was read */

struct gw_yab_pending {
    struct gateway *gw;           /* owner */
    struct gw_yab_request in;     /* the request, its strings below */
    char user[GW_USER_MAX + 1];   /* in.user */
    char peer[64];                /* in.peer */
    char *query;                  /* in.query (malloc'ed) or NULL */
    uint8_t *body;                /* in.body (malloc'ed) or NULL */
    long base_rc;                 /* the book worked on: phonebook_get's answer */
    uint8_t *base_blob;           /* its bytes (malloc'ed) or NULL */
    struct amf_buf next;          /* the new book to store (POST) */
    struct gw_response out;       /* the answer once the new book is stored */
    uint32_t nrec;                /* the POST's records (the log line) */
    long rc;                      /* a job's answer (worker) */
    uint8_t *blob;                /* a read job's bytes (worker) */
    int tries;                    /* reads so far */
    int in_call;                  /* inside gateway_yab_async: a finished answer goes back to it */
    int finished;                 /* the answer is in out (in_call) */
    int abandoned;                /* the client went away */
    gw_yab_done_fn done;          /* completion */
    void *done_arg;               /* its argument */
};

static void yab_pending_free(struct gw_yab_pending *p)
{
    amf_buf_free(&p->next);
    free(p->query);
    free(p->body);
    free(p->base_blob);
    free(p->blob);
    free(p);
}

/* The answer: to gateway_yab_async's caller, or to done (NULL: the gateway or the client is gone). */
static void yab_finish(struct gw_yab_pending *p, struct gw_response *out)
{
    if (p->in_call) {
        p->out = *out;
        p->finished = 1;
        return;
    }
    if (!p->abandoned && !p->gw->closing && p->done) p->done(p->done_arg, out);
    else {
        free(out->body);
        if (p->done) p->done(p->done_arg, NULL);
    }
    yab_pending_free(p);
}

static void yab_read(struct gw_yab_pending *p);

static int yab_write_run(struct store *st, void *arg)
{
    struct gw_yab_pending *p = arg;
    uint8_t *now = NULL;
    long n = st->phonebook_get(st, p->user, &now);
    int same = n == p->base_rc || (n <= 0 && n != STORE_ERR && p->base_rc <= 0 && p->base_rc != STORE_ERR);
    if (same && n > 0) same = !memcmp(now, p->base_blob, (size_t)n);
    free(now);
    if (n == STORE_ERR) p->rc = STORE_ERR;
    else p->rc = same ? st->phonebook_put(st, p->user, p->next.data, p->next.len) : YAB_CONFLICT;
    return 0;
}

static void yab_write_done(void *arg, int unused)
{
    (void)unused;
    struct gw_yab_pending *p = arg;
    struct gateway *gw = p->gw;
    if (p->rc == YAB_CONFLICT) {
        gw_pbcache_drop(gw, p->user); /* the cache is older than the row */
        free(p->out.body);
        memset(&p->out, 0, sizeof p->out);
        amf_buf_free(&p->next);
        if (p->tries < YAB_TRIES && !p->abandoned && !gw->closing) {
            yab_read(p);
            return;
        }
        struct gw_response out = {0};
        yab_fail(&out, &p->in, 503, "Service Unavailable", "the address book changed meanwhile; try again");
        yab_finish(p, &out);
        return;
    }
    /* The cache follows the store. */
    if (p->rc == STORE_OK) gw_pbcache_put(gw, p->user, p->next.data, p->next.len);
    else gw_pbcache_drop(gw, p->user);
    struct gw_response out = p->out;
    memset(&p->out, 0, sizeof p->out);
    if (p->rc == STORE_OK) {
        log_event(LOG_INFO, p->in.peer, p->in.user, "yab_sync", 0, "%u records", p->nrec);
    } else {
        free(out.body);
        memset(&out, 0, sizeof out);
        yab_fail(&out, &p->in, 500, "Internal Server Error", "the phonebook cannot be stored");
    }
    yab_finish(p, &out);
}

/* The book is known (p->base_*): the request runs on it; a POST's new book goes to the worker. */
static void yab_step(struct gw_yab_pending *p)
{
    struct gateway *gw = p->gw;
    struct yab_base base = {p->base_rc, p->base_blob};
    struct gw_response out;
    amf_buf_init(&p->next, 0);
    yab_run(gw, &p->in, &base, p->in.is_post ? &p->next : NULL, &p->nrec, &out);
    if (!p->next.data) { /* a GET, a refusal, or nothing to store */
        yab_finish(p, &out);
        return;
    }
    p->out = out;
    if (store_async_run(gw->sa, gw->st, yab_write_run, yab_write_done, p) < 0) {
        free(p->out.body);
        memset(&p->out, 0, sizeof p->out);
        amf_buf_free(&p->next);
        struct gw_response fail = {0};
        yab_fail(&fail, &p->in, 503, "Service Unavailable", "out of memory");
        yab_finish(p, &fail);
    }
}

static int yab_read_run(struct store *st, void *arg)
{
    struct gw_yab_pending *p = arg;
    p->rc = st->phonebook_get(st, p->user, &p->blob);
    return 0;
}

static void yab_read_done(void *arg, int unused)
{
    (void)unused;
    struct gw_yab_pending *p = arg;
    free(p->base_blob);
    p->base_blob = p->blob;
    p->blob = NULL;
    p->base_rc = p->rc;
    if (p->abandoned || p->gw->closing) {
        struct gw_response none = {0};
        yab_finish(p, &none);
        return;
    }
    yab_step(p);
}

static void yab_read(struct gw_yab_pending *p)
{
    p->tries++;
    if (store_async_run(p->gw->sa, p->gw->st, yab_read_run, yab_read_done, p) < 0) {
        struct gw_response fail = {0};
        yab_fail(&fail, &p->in, 503, "Service Unavailable", "out of memory");
        yab_finish(p, &fail);
    }
}

int gateway_yab_async(struct gateway *gw, const struct gw_yab_request *in, struct gw_response *out,
                      struct gw_yab_pending **pend)
{
    *pend = NULL;
    if (!gw->sa) {
        gateway_yab(gw, in, out);
        return 0;
    }
    struct gw_yab_pending *p = calloc(1, sizeof *p);
    int nomem = !p;
    if (p) {
        p->gw = gw;
        p->in = *in;
        snprintf(p->user, sizeof p->user, "%s", in->user);
        snprintf(p->peer, sizeof p->peer, "%s", in->peer ? in->peer : "");
        p->in.user = p->user;
        p->in.peer = p->peer;
        if (in->query && !(p->query = strdup(in->query))) nomem = 1;
        p->in.query = p->query;
        if (in->body && !(p->body = malloc(in->len ? in->len : 1))) nomem = 1;
        if (p->body && in->len) memcpy(p->body, in->body, in->len);
        p->in.body = p->body;
    }
    if (nomem) {
        if (p) yab_pending_free(p);
        memset(out, 0, sizeof *out);
        yab_fail(out, in, 503, "Service Unavailable", "out of memory");
        return 0;
    }
    p->in_call = 1;
    const struct gw_pbcache *c = gw_pbcache_get(gw, p->user);
    if (c && !(p->base_blob = malloc(c->len ? c->len : 1))) c = NULL; /* out of memory: read it */
    if (c) { /* the cache has it: no read (what gw_pb_load does) */
        p->base_rc = (long)c->len;
        if (c->len) memcpy(p->base_blob, c->blob, c->len);
        p->tries = 1;
        yab_step(p);
    } else {
        yab_read(p);
    }
    p->in_call = 0;
    if (p->finished) { /* answered without waiting (a GET from the cache, a refusal, a full queue) */
        *out = p->out;
        memset(&p->out, 0, sizeof p->out);
        yab_pending_free(p);
        return 0;
    }
    *pend = p;
    return 1;
}

void gateway_yab_wait(struct gw_yab_pending *pend, gw_yab_done_fn done, void *arg)
{
    pend->done = done;
    pend->done_arg = arg;
}

void gateway_yab_abandon(struct gw_yab_pending *pend)
{
    pend->abandoned = 1;
    pend->done = NULL;
}
