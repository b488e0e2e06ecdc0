/* bench_amf: libamf decode/encode throughput on the samples of AMF.md §7, with librtmp (AMF0) in the
 * same run when it is available.  Not a test: prints a table, optionally writes the sample bytes to a
 * directory (--out DIR) so bench/amf/peers.js can time the npm codecs on exactly the same bytes.
 *
 *   bench_amf [--rows N] [--runs R] [--min-ms M] [--out DIR]
 *
 * Samples:
 *   rows-amf3   ArrayCollection of N typed objects {id:int, name:"userNNNNNN", phone:"+1-555-NNNNNNN"}
 *               (class com.example.Contact, sealed id/name/phone: one inline traits block, then traits
 *               references; every string distinct)
 *   rows-amf0   strict array of N anonymous objects with the same members (600,005 bytes for 10,000)
 *   rows-amf3-anon  AMF3 array of N anonymous dynamic objects (what JS codecs write and read)
 *   graph-amf3 / graph-amf0  a mixed object graph with shared nodes and cycles: 2,000 Person objects
 *               (friends arrays and manager pointing at earlier persons, a shared Company with a
 *               CEO pointing back, an address object, dates, repeated strings), plus a 200-deep chain.
 * Each figure is the best of R runs; each run repeats the operation until it has used M ms of thread
 * CPU time (CPU time rather than wall time: the machines this runs on are shared). */
#include "amf/amf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_LIBRTMP
#include "bench_rtmp.h"
#endif

#define GRAPH_PEOPLE 2000
#define GRAPH_COMPANIES 50
#define GRAPH_CHAIN 200

/* One sample: its value graph and its encoding. */
struct sample {
    const char *name;          /* table label */
    int encoding;              /* AMF_AMF0 / AMF_AMF3 */
    struct amf_value *value;   /* built graph */
    struct amf_buf bytes;      /* encoded */
    size_t objects;            /* complex values in it (objects/s) */
};

/* Timing context for one operation. */
struct job {
    struct sample *s;          /* sample */
    amf_arena *arena;          /* decode arena (reset per op) */
    amf_encoder *enc;          /* reusable encoder */
    struct amf_buf out;        /* encode output (len reset per op) */
    struct amf_opts opts;      /* decode options */
#ifdef HAVE_LIBRTMP
    void *tree;                /* librtmp property tree of the sample (encode source) */
    char *rbuf;                /* librtmp encode buffer */
    size_t rcap;               /* its size */
#endif
};

static void die(const char *what, int r)
{
    fprintf(stderr, "bench_amf: %s: %s\n", what, r < 0 ? amf_strerror(r) : strerror(errno));
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  /* CPU time: the VM is shared, wall time is noisy */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- samples ---- */

static void build_rows(amf_arena *a, struct sample *s3, struct sample *s0, struct sample *sa, int n)
{
    static const char *const names[] = { "id", "name", "phone" };
    struct amf_traits *t = amf_new_traits(a, "com.example.Contact", names, 3, 0, 0);
    struct amf_value *arr3 = amf_new_array(a), *arr0 = amf_new_array(a), *arra = amf_new_array(a);
    if (!t || !arr3 || !arr0 || !arra) die("arena", AMF_EARENA);
    for (int i = 0; i < n; i++) {
        char name[32], phone[32];
        snprintf(name, sizeof name, "user%06d", i);
        snprintf(phone, sizeof phone, "+1-555-%07d", i);
        struct amf_value *o3 = amf_new_object_traits(a, t), *o0 = amf_new_object(a, NULL),
                         *oa = amf_new_object(a, NULL);
        if (!o3 || !o0 || !oa) die("arena", AMF_EARENA);
        struct amf_value *id = amf_new_int(a, i), *nm = amf_new_stringz(a, name),
                         *ph = amf_new_stringz(a, phone);
        int r;
        if ((r = amf_object_set(a, o3, "id", id)) || (r = amf_object_set(a, o3, "name", nm)) ||
            (r = amf_object_set(a, o3, "phone", ph)) || (r = amf_array_push(a, arr3, o3)) ||
            (r = amf_object_add(a, o0, "id", 2, amf_new_double(a, i))) ||
            (r = amf_object_add(a, o0, "name", 4, amf_new_stringz(a, name))) ||
            (r = amf_object_add(a, o0, "phone", 5, amf_new_stringz(a, phone))) ||
            (r = amf_array_push(a, arr0, o0)) ||
            (r = amf_object_add(a, oa, "id", 2, amf_new_int(a, i))) ||
            (r = amf_object_add(a, oa, "name", 4, amf_new_stringz(a, name))) ||
            (r = amf_object_add(a, oa, "phone", 5, amf_new_stringz(a, phone))) ||
            (r = amf_array_push(a, arra, oa)))
            die("build rows", r);
    }
    sa->value = arra;
    sa->objects = (size_t)n;
    s3->value = amf_new_external(a, "flex.messaging.io.ArrayCollection", arr3);
    s3->objects = (size_t)n;
    s0->value = arr0;
    s0->objects = (size_t)n;
    if (!s3->value) die("arena", AMF_EARENA);
}

static struct amf_value *set(amf_arena *a, struct amf_value *o, const char *k, struct amf_value *v)
{
    int r = v ? amf_object_add(a, o, k, strlen(k), v) : AMF_EARENA;
    if (r) die("build graph", r);
    return o;
}

/* The mixed graph; AMF0 and AMF3 use the same graph (typed dynamic objects, no AMF3-only kinds). */
static struct amf_value *build_graph(amf_arena *a, size_t *objects)
{
    static const char *const cities[] = { "Berlin", "Paris", "Lisbon", "Oslo", "Rome", "Vienna",
                                          "Madrid", "Prague", "Dublin", "Warsaw" };
    static const char *const tags[] = { "retail", "b2b", "saas", "hardware", "eu", "us" };
    size_t count = 0;
    struct amf_value *root = amf_new_object(a, NULL);
    struct amf_value *companies = amf_new_array(a), *people = amf_new_array(a);
    count += 3;
    struct amf_value *comp[GRAPH_COMPANIES], *pers[GRAPH_PEOPLE];
    for (int i = 0; i < GRAPH_COMPANIES; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "Company %d", i);
        struct amf_value *c = amf_new_object(a, "com.example.Company");
        struct amf_value *tg = amf_new_array(a);
        for (int k = 0; k < 3; k++)
            if (amf_array_push(a, tg, amf_new_stringz(a, tags[(i + k) % 6]))) die("graph", AMF_EARENA);
        set(a, c, "name", amf_new_stringz(a, nm));
        set(a, c, "founded", amf_new_date(a, 946684800000.0 + i * 86400000.0));
        set(a, c, "tags", tg);
        comp[i] = c;
        if (amf_array_push(a, companies, c)) die("graph", AMF_EARENA);
        count += 3;  /* company, tags, date */
    }
    for (int i = 0; i < GRAPH_PEOPLE; i++) {
        char nm[32], mail[48], street[32];
        snprintf(nm, sizeof nm, "Person %d", i);
        snprintf(mail, sizeof mail, "person%d@example.com", i);
        snprintf(street, sizeof street, "%d Main Street", i % 300);
        struct amf_value *p = amf_new_object(a, "com.example.Person");
        struct amf_value *addr = amf_new_object(a, NULL), *friends = amf_new_array(a);
        set(a, addr, "street", amf_new_stringz(a, street));
        set(a, addr, "city", amf_new_stringz(a, cities[i % 10]));
        set(a, addr, "zip", amf_new_int(a, 10000 + i % 90));
        for (int k = 1; k <= 5 && k <= i; k++)
            if (amf_array_push(a, friends, pers[(i * 7 + k * 13) % i])) die("graph", AMF_EARENA);
        set(a, p, "id", amf_new_int(a, i));
        set(a, p, "name", amf_new_stringz(a, nm));
        set(a, p, "email", amf_new_stringz(a, mail));
        set(a, p, "score", amf_new_double(a, i * 1.25 + 0.5));
        set(a, p, "active", amf_new_bool(a, i % 3 != 0));
        set(a, p, "birthday", amf_new_date(a, 315532800000.0 + i * 3600000.0));
        set(a, p, "company", comp[i % GRAPH_COMPANIES]);
        set(a, p, "manager", i >= 10 ? pers[i / 10] : amf_new_null(a));
        set(a, p, "address", addr);
        set(a, p, "friends", friends);
        pers[i] = p;
        if (amf_array_push(a, people, p)) die("graph", AMF_EARENA);
        count += 4;  /* person, address, friends, date */
    }
    for (int i = 0; i < GRAPH_COMPANIES; i++) set(a, comp[i], "ceo", pers[i * 7]);  /* cycles */
    struct amf_value *chain = amf_new_null(a);
    for (int i = 0; i < GRAPH_CHAIN; i++) {
        struct amf_value *c = amf_new_object(a, NULL);
        set(a, c, "level", amf_new_int(a, i));
        set(a, c, "by", pers[i]);
        set(a, c, "prev", chain);
        chain = c;
        count++;
    }
    set(a, root, "companies", companies);
    set(a, root, "people", people);
    set(a, root, "history", chain);
    set(a, root, "generated", amf_new_date(a, 1700000000000.0));
    *objects = count + 1;
    return root;
}

/* ---- timing ---- */

typedef void (*op_fn)(struct job *j);

/* Best seconds per operation over `runs` runs of at least min_s each. */
static double best_of(op_fn f, struct job *j, int runs, double min_s)
{
    f(j);  /* warm-up */
    double best = 1e30;
    long iters = 1;
    for (int r = 0; r < runs; r++) {
        double t0, el;
        for (;;) {
            t0 = now();
            for (long i = 0; i < iters; i++) f(j);
            el = now() - t0;
            if (el >= min_s || iters > (1L << 30)) break;
            iters = el > 0 ? (long)((double)iters * min_s / el * 1.1) + 1 : iters * 10;
        }
        if (el / (double)iters < best) best = el / (double)iters;
    }
    return best;
}

static void op_decode(struct job *j)
{
    amf_arena_reset(j->arena);
    struct amf_value *v;
    size_t used;
    int r = amf_decode(&j->opts, j->arena, j->s->encoding, j->s->bytes.data, j->s->bytes.len, &v, &used);
    if (r || used != j->s->bytes.len) die("decode", r ? r : AMF_ETRAILING);
}

static void op_encode(struct job *j)
{
    j->out.len = 0;
    int r = amf_encoder_write(j->enc, j->s->encoding, j->s->value, &j->out);
    if (r) die("encode", r);
}

#ifdef HAVE_LIBRTMP
static void op_rtmp_decode(struct job *j)
{
    if (rtmp_decode_once(j->s->bytes.data, j->s->bytes.len) != (int)j->s->bytes.len)
        die("librtmp decode", AMF_EINVAL);
}

static void op_rtmp_encode(struct job *j)
{
    j->out.len = rtmp_tree_encode(j->tree, j->rbuf, j->rcap);
    if (!j->out.len) die("librtmp encode", AMF_EOUTPUT);
}
#endif

static void row(const char *sample, const char *codec, const char *op, double s, size_t bytes,
                size_t objects)
{
    printf("%-14s %-16s %-7s %9.3f ms %9.1f MB/s %8.2f M obj/s  (%zu B, %zu obj)\n", sample, codec, op,
           s * 1e3, (double)bytes / s / 1e6, (double)objects / s / 1e6, bytes, objects);
    fflush(stdout);
}

static void write_sample(const char *dir, const struct sample *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, s->name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s->bytes.data, 1, s->bytes.len, f) != s->bytes.len || fclose(f)) die(path, 0);
}

int main(int argc, char **argv)
{
    int rows = 10000, runs = 7;
    double min_s = 0.05;
    const char *out = NULL, *prof = NULL;
    long prof_n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) min_s = atof(argv[++i]) / 1e3;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--profile") && i + 2 < argc) prof = argv[++i], prof_n = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_amf [--rows N] [--runs R] [--min-ms M] [--out DIR]\n"
                            "                 [--profile SAMPLE/CODEC/OP COUNT]  (untimed, for perf/callgrind)\n");
            return 64;
        }
    }
    if (rows < 1 || rows > 1000000 || runs < 1) {
        fprintf(stderr, "bench_amf: bad --rows or --runs\n");
        return 64;
    }
    amf_arena *build = amf_arena_new(0);
    if (!build) die("arena", AMF_ENOMEM);
    enum { NSAMPLES = 5 };
    struct sample samples[NSAMPLES] = {
        { .name = "rows-amf3", .encoding = AMF_AMF3 }, { .name = "rows-amf0", .encoding = AMF_AMF0 },
        { .name = "rows-amf3-anon", .encoding = AMF_AMF3 },
        { .name = "graph-amf3", .encoding = AMF_AMF3 }, { .name = "graph-amf0", .encoding = AMF_AMF0 },
    };
    build_rows(build, &samples[0], &samples[1], &samples[2], rows);
    samples[3].value = samples[4].value = build_graph(build, &samples[3].objects);
    samples[4].objects = samples[3].objects;

    printf("libamf bench: %d rows, best of %d runs (each >= %.0f ms)\n", rows, runs, min_s * 1e3);
    for (int i = 0; i < NSAMPLES; i++) {
        struct sample *s = &samples[i];
        amf_buf_init(&s->bytes, 0);
        int r = amf_encode(NULL, s->encoding, s->value, &s->bytes);
        if (r) die("encode sample", r);
        if (out) write_sample(out, s);
        /* the decode must give the graph back (numbers may come back as doubles in AMF0) */
        amf_arena *chk = amf_arena_new(0);
        struct amf_value *v;
        size_t used = 0;
        if (!chk || (r = amf_decode(NULL, chk, s->encoding, s->bytes.data, s->bytes.len, &v, &used)))
            die("decode sample", r);
        if (used != s->bytes.len || amf_value_equal(v, s->value, AMF_EQ_NUMERIC) != 1) {
            fprintf(stderr, "bench_amf: %s does not round-trip\n", s->name);
            return 1;
        }
        amf_arena_free(chk);

        struct job j;
        memset(&j, 0, sizeof j);
        j.s = s;
        j.arena = amf_arena_new(0);
        j.enc = amf_encoder_new(NULL);
        amf_buf_init(&j.out, 0);
        if (!j.arena || !j.enc) die("setup", AMF_ENOMEM);
        if (prof) {
            /* e.g. rows-amf0/libamf/decode, rows-amf0/librtmp/decode, graph-amf3/borrow/decode */
            char want[3][64] = { "", "", "" };
            if (sscanf(prof, "%63[^/]/%63[^/]/%63s", want[0], want[1], want[2]) != 3) {
                fprintf(stderr, "bench_amf: --profile SAMPLE/CODEC/OP\n");
                return 64;
            }
            if (strcmp(want[0], s->name)) continue;
            op_fn f = !strcmp(want[2], "encode") ? op_encode : op_decode;
            if (!strcmp(want[1], "borrow")) j.opts.flags = AMF_DEC_BORROW;
#ifdef HAVE_LIBRTMP
            if (!strcmp(want[1], "librtmp")) {
                j.tree = rtmp_tree_new(s->bytes.data, s->bytes.len);
                j.rcap = s->bytes.len + 64;
                j.rbuf = malloc(j.rcap);
                if (!j.tree || !j.rbuf) die("librtmp tree", AMF_EINVAL);
                f = f == op_encode ? op_rtmp_encode : op_rtmp_decode;
            }
#endif
            for (long k = 0; k < prof_n; k++) f(&j);
            printf("%s: %ld x %s\n", s->name, prof_n, prof);
            return 0;
        }
        row(s->name, "libamf", "decode", best_of(op_decode, &j, runs, min_s), s->bytes.len, s->objects);
        j.opts.flags = AMF_DEC_BORROW;
        row(s->name, "libamf (borrow)", "decode", best_of(op_decode, &j, runs, min_s), s->bytes.len,
            s->objects);
        row(s->name, "libamf", "encode", best_of(op_encode, &j, runs, min_s), s->bytes.len, s->objects);
#ifdef HAVE_LIBRTMP
        /* librtmp has no AMF0 references (AMF.md §6), so only the rows sample */
        if (i == 1) {
            /* its encode source is its own tree of the sample, built once outside the timing */
            j.tree = rtmp_tree_new(s->bytes.data, s->bytes.len);
            j.rcap = s->bytes.len + 64;
            j.rbuf = malloc(j.rcap);
            if (!j.tree || !j.rbuf) die("librtmp tree", AMF_EINVAL);
            op_rtmp_encode(&j);
            if (j.out.len != s->bytes.len || memcmp(j.rbuf, s->bytes.data, s->bytes.len)) {
                fprintf(stderr, "bench_amf: librtmp's encoding of rows-amf0 differs from libamf's\n");
                return 1;
            }
            row(s->name, "librtmp", "decode", best_of(op_rtmp_decode, &j, runs, min_s), s->bytes.len,
                s->objects);
            row(s->name, "librtmp", "encode", best_of(op_rtmp_encode, &j, runs, min_s), s->bytes.len,
                s->objects);
            rtmp_tree_free(j.tree);
            free(j.rbuf);
        }
#endif
        amf_buf_free(&j.out);
        amf_encoder_free(j.enc);
        amf_arena_free(j.arena);
    }
#ifndef HAVE_LIBRTMP
    printf("(librtmp not found at build time: install librtmp-dev for the AMF0 peer)\n");
#endif
    for (int i = 0; i < NSAMPLES; i++) amf_buf_free(&samples[i].bytes);
    amf_arena_free(build);
    return 0;
}
