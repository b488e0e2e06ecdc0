/* bench-ymsg-decode: decoding throughput of libymsg on a realistic server read stream.
 *
 * Builds a ~100 MB stream in memory with the builder — a mix of IMs with UTF-8 text (0x06), 0xF0
 * presence, 0xF1 buddy lists with ~18 buddies, keepalives (0x8A) and typing notifications (0x4B) —
 * then, on one core:
 *   decode+iterate  ymsg_decode() every packet and visit every key/value view with ymsg_next();
 *   decode+batch    the same visiting the views with ymsg_next_batch() (64 at a time);
 *   decode_pairs    one pass: ymsg_decode_pairs() validates and stores the views, then visit them;
 *   decode only     ymsg_decode() (which validates the whole body);
 *   minimal parser  peer: header + memchr split into pairs, no validation (the simplest zero-copy parser);
 *   memchr peer     a loop that visits every 0xC0 byte of the same buffer with memchr() — the floor any
 *                   separator-scanning parser pays.
 * Each figure is the best of --runs repetitions.  Usage: bench-ymsg-decode [--mb N] [--runs N] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ymsg/ymsg.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* CPU time of this thread: on a shared machine, wall-clock minima still include preemption by other
 * processes; thread CPU time does not (both the decoder and the memchr peer are measured the same way). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const words[] = {"hello", "hi", "how", "are", "you", "ok", "see", "later", "lol", "brb",
                                    "café", "naïve", "grüße", "привет", "你好", "😀", "yes", "no", "the",
                                    "meeting", "tomorrow", "at", "noon", "thanks", "<ding>", "great"};

static void buddy(char *out, size_t cap)
{
    snprintf(out, cap, "buddy%u", rnd() % 5000);
}

/* Text of 1..40 words, like typical IM lines. */
static size_t im_text(char *out, size_t cap)
{
    size_t n = 0, nw = 1 + rnd() % 40;
    for (size_t i = 0; i < nw; i++) {
        const char *w = words[rnd() % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        if (n + wl + 2 >= cap)
            break;
        if (n)
            out[n++] = ' ';
        memcpy(out + n, w, wl);
        n += wl;
    }
    out[n] = '\0';
    return n;
}

static void add_im(struct ymsg_builder *b)
{
    char to[32], text[512];
    buddy(to, sizeof to);
    im_text(text, sizeof text);
    ymsg_build_begin(b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, 0x01020304);
    ymsg_build_str(b, 1, "alice");
    ymsg_build_str(b, 5, to);
    ymsg_build_str(b, 97, "1");
    ymsg_build_str(b, 14, text);
    ymsg_build_str(b, 63, ";0");
    ymsg_build_str(b, 64, "0");
    ymsg_build_str(b, 206, "0");
    ymsg_build_str(b, 429, "0001795587520571");
    ymsg_build_str(b, 450, "0");
    ymsg_build_end(b);
}

static void add_presence(struct ymsg_builder *b)
{
    char who[32], msg[512];
    ymsg_build_begin(b, YMSG_SVC_STATUS_15, 1, 0x01020304);
    ymsg_build_str(b, 302, "315");
    size_t n = 1 + rnd() % 3;
    for (size_t i = 0; i < n; i++) {
        buddy(who, sizeof who);
        ymsg_build_str(b, 300, "315");
        ymsg_build_str(b, 7, who);
        ymsg_build_int(b, 10, rnd() % 3 ? 0 : 99);
        if (rnd() % 2) {
            im_text(msg, 80);
            ymsg_build_str(b, 19, msg);
            ymsg_build_str(b, 47, "1");
            ymsg_build_str(b, 97, "1");
        }
        ymsg_build_str(b, 13, "1");
        ymsg_build_int(b, 192, (long long)(rnd() % 100000000));
        ymsg_build_str(b, 244, "4194239");
        ymsg_build_str(b, 301, "315");
    }
    ymsg_build_str(b, 303, "315");
    ymsg_build_end(b);
}

static void add_list(struct ymsg_builder *b)
{
    static const char *const groups[] = {"Friends", "Family", "Work", "Bröther$"};
    char who[32];
    ymsg_build_begin(b, YMSG_SVC_LIST_15, 0, 0x01020304);
    ymsg_build_str(b, 302, "318");
    for (size_t g = 0; g < 3; g++) {
        ymsg_build_str(b, 300, "318");
        ymsg_build_str(b, 65, groups[rnd() % 4]);
        ymsg_build_str(b, 302, "319");
        for (size_t i = 0; i < 6; i++) {
            buddy(who, sizeof who);
            ymsg_build_str(b, 300, "319");
            ymsg_build_str(b, 7, who);
            if (rnd() % 8 == 0)
                ymsg_build_str(b, 223, "1");
            ymsg_build_str(b, 301, "319");
        }
        ymsg_build_str(b, 303, "319");
        ymsg_build_str(b, 301, "318");
    }
    ymsg_build_str(b, 303, "318");
    ymsg_build_end(b);
}

static void add_keepalive(struct ymsg_builder *b)
{
    ymsg_build_begin(b, YMSG_SVC_KEEPALIVE, 0, 0x01020304);
    ymsg_build_str(b, 0, "alice");
    ymsg_build_end(b);
}

static void add_typing(struct ymsg_builder *b)
{
    char to[32];
    buddy(to, sizeof to);
    ymsg_build_begin(b, YMSG_SVC_NOTIFY, YMSG_STATUS_NOTIFY, 0x01020304);
    ymsg_build_str(b, 49, "TYPING");
    ymsg_build_str(b, 1, "alice");
    ymsg_build_str(b, 14, " ");
    ymsg_build_int(b, 13, rnd() % 2);
    ymsg_build_str(b, 5, to);
    ymsg_build_end(b);
}

/* Peer: the smallest zero-copy parser one could write — read the header, split the body at every
 * C0 80 with memchr, alternate key/value, no validation at all.  Returns pairs seen, or -1. */
static long long minimal_parse(const uint8_t *buf, size_t len, uint64_t *acc)
{
    size_t pos = 0;
    long long pairs = 0;
    while (len - pos >= 20) {
        size_t blen = (size_t)buf[pos + 8] << 8 | buf[pos + 9];
        if (memcmp(buf + pos, "YMSG", 4) != 0 || len - pos - 20 < blen)
            return -1;
        const uint8_t *p = buf + pos + 20, *end = p + blen;
        int is_key = 1;
        uint32_t key = 0;
        while (p < end) {
            const uint8_t *c = memchr(p, 0xC0, (size_t)(end - p));
            if (!c)
                return -1;
            if (c + 1 < end && c[1] == 0x80) {
                if (is_key) {
                    key = 0;
                    for (const uint8_t *k = p; k < c; k++)
                        key = key * 10 + (uint32_t)(*k - '0');
                } else {
                    *acc += key + (size_t)(c - p);
                    pairs++;
                }
                is_key = !is_key;
                p = c + 2;
            } else {
                p = c + 1; /* a lone C0 inside a value */
            }
        }
        pos += 20 + blen;
    }
    return pairs;
}

/* The stream every variant decodes: built once with the builder. */
struct stream {
    uint8_t *buf;                 /* the packets back to back */
    size_t len;                   /* bytes */
    size_t npk;                   /* packets */
};

/* Best time of each variant over the runs. */
struct best {
    double full;                  /* ymsg_decode + ymsg_next */
    double batch;                 /* ymsg_decode + ymsg_next_batch */
    double one;                   /* ymsg_decode_pairs */
    double dec;                   /* ymsg_decode only */
    double min;                   /* minimal parser peer */
    double memchr;                /* memchr peer */
};

/* Setup: mb MiB of the packet mix (IM 40 %, 0xF0 20 %, 0xF1 3 %, keepalive 20 %, typing 17 %). */
static int build_stream(size_t mb, struct stream *s)
{
    size_t cap = mb << 20;
    s->buf = malloc(cap + 4096);
    if (!s->buf) {
        perror("malloc");
        return -1;
    }
    struct ymsg_builder b;
    ymsg_builder_init(&b, s->buf, cap + 4096);
    size_t mix[5] = {0};
    s->npk = 0;
    while (b.len < cap) {
        unsigned r = rnd() % 100, kind = r < 40 ? 0 : r < 60 ? 1 : r < 63 ? 2 : r < 83 ? 3 : 4;
        switch (kind) {
        case 0: add_im(&b); break;
        case 1: add_presence(&b); break;
        case 2: add_list(&b); break;
        case 3: add_keepalive(&b); break;
        default: add_typing(&b); break;
        }
        if (b.err) {
            fprintf(stderr, "builder: %s\n", ymsg_strerror(b.err));
            return -1;
        }
        mix[kind]++;
        s->npk++;
    }
    s->len = b.len;
    printf("stream: %.1f MB, %zu packets (IM %zu, 0xF0 %zu, 0xF1 %zu, keepalive %zu, typing %zu), "
           "avg %.0f bytes\n",
           (double)s->len / 1e6, s->npk, mix[0], mix[1], mix[2], mix[3], mix[4],
           (double)s->len / (double)s->npk);
    return 0;
}

/* Each variant visits every pair (key + length into *acc) and returns the pairs seen, or -1. */
static long long run_next(const struct stream *s, uint64_t *acc)
{
    size_t pos = 0, got = 0;
    long long np = 0;
    while (pos < s->len) {
        struct ymsg_packet pkt;
        ssize_t n = ymsg_decode(s->buf + pos, s->len - pos, NULL, &pkt, NULL);
        if (n <= 0) {
            fprintf(stderr, "decode failed at %zu: %s\n", pos, ymsg_strerror((int)n));
            return -1;
        }
        size_t it = 0;
        struct ymsg_kv kv;
        while (ymsg_next(&pkt, &it, &kv)) {
            *acc += kv.key + kv.len;
            np++;
        }
        pos += (size_t)n;
        got++;
    }
    if (got != s->npk) {
        fprintf(stderr, "decoded %zu packets, built %zu\n", got, s->npk);
        return -1;
    }
    return np;
}

static long long run_batch(const struct stream *s, uint64_t *acc)
{
    size_t pos = 0;
    long long np = 0;
    while (pos < s->len) {
        struct ymsg_packet pkt;
        ssize_t n = ymsg_decode(s->buf + pos, s->len - pos, NULL, &pkt, NULL);
        if (n <= 0)
            return -1;
        struct ymsg_kv kv[64];
        for (size_t it = 0; it < pkt.hdr.length;) {
            size_t k = ymsg_next_batch(&pkt, &it, kv, 64);
            for (size_t j = 0; j < k; j++) {
                *acc += kv[j].key + kv[j].len;
                np++;
            }
        }
        pos += (size_t)n;
    }
    return np;
}

/* One pass: ymsg_decode_pairs() validates and fills the views. */
static long long run_pairs(const struct stream *s, uint64_t *acc)
{
    size_t pos = 0;
    long long np = 0;
    while (pos < s->len) {
        struct ymsg_packet pkt;
        struct ymsg_kv kv[64];
        ssize_t n = ymsg_decode_pairs(s->buf + pos, s->len - pos, NULL, &pkt, kv, 64, NULL);
        if (n <= 0)
            return -1;
        size_t k = pkt.npairs < 64 ? pkt.npairs : 64;
        for (size_t j = 0; j < k; j++) {
            *acc += kv[j].key + kv[j].len;
            np++;
        }
        if (pkt.npairs > 64) { /* 0xF1 lists have more than 64 pairs */
            size_t it = (size_t)(kv[63].val + kv[63].len + 2 - pkt.body);
            struct ymsg_kv one;
            while (ymsg_next(&pkt, &it, &one)) {
                *acc += one.key + one.len;
                np++;
            }
        }
        pos += (size_t)n;
    }
    return np;
}

/* Decode only: validation without visiting the pairs (returns the pairs the decoder counted). */
static long long run_decode_only(const struct stream *s, uint64_t *acc)
{
    size_t pos = 0;
    while (pos < s->len) {
        struct ymsg_packet pkt;
        ssize_t n = ymsg_decode(s->buf + pos, s->len - pos, NULL, &pkt, NULL);
        if (n <= 0)
            return -1;
        *acc += pkt.npairs;
        pos += (size_t)n;
    }
    return 0;
}

static long long run_minimal(const struct stream *s, uint64_t *acc) { return minimal_parse(s->buf, s->len, acc); }

/* Peer: every 0xC0 found with memchr (returns how many). */
static long long run_memchr(const struct stream *s, uint64_t *acc)
{
    const uint8_t *p = s->buf, *end = s->buf + s->len;
    long long c = 0;
    while ((p = memchr(p, 0xC0, (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    *acc += (uint64_t)c;
    return c;
}

/* Times one variant, keeps the best time; the pair count must match `want` (unless want < 0). */
static int timed(const char *what, long long (*fn)(const struct stream *, uint64_t *), const struct stream *s,
                 long long want, double *best, uint64_t *sink, long long *got)
{
    uint64_t acc = 0;
    double t0 = now();
    long long np = fn(s, &acc);
    double t = now() - t0;
    if (np < 0 || (want >= 0 && np != want)) {
        fprintf(stderr, "%s saw %lld pairs, ymsg_next %lld\n", what, np, want);
        return -1;
    }
    if (t < *best)
        *best = t;
    *sink += acc;
    if (got)
        *got = np;
    return 0;
}

/* Report: one line per variant and the ratios to the memchr floor. */
static void report(const struct stream *s, const struct best *b, long long pairs, long long seps, int runs)
{
    double mbs = (double)s->len / 1e6, npk = (double)s->npk;
    printf("decode+iterate: %8.1f MB/s  %6.2f M packets/s  %6.1f M pairs/s  (%.1f ms)\n", mbs / b->full,
           npk / b->full / 1e6, (double)pairs / b->full / 1e6, b->full * 1e3);
    printf("decode+batch:   %8.1f MB/s  %6.2f M packets/s  %6.1f M pairs/s  (%.1f ms)\n", mbs / b->batch,
           npk / b->batch / 1e6, (double)pairs / b->batch / 1e6, b->batch * 1e3);
    printf("decode_pairs:   %8.1f MB/s  %6.2f M packets/s  %6.1f M pairs/s  (%.1f ms)\n", mbs / b->one,
           npk / b->one / 1e6, (double)pairs / b->one / 1e6, b->one * 1e3);
    printf("decode only:    %8.1f MB/s  %6.2f M packets/s  (%.1f ms)\n", mbs / b->dec, npk / b->dec / 1e6,
           b->dec * 1e3);
    printf("minimal parser: %8.1f MB/s  %6.2f M packets/s  (no validation; %.1f ms)\n", mbs / b->min,
           npk / b->min / 1e6, b->min * 1e3);
    printf("memchr peer:    %8.1f MB/s  (%llu x 0xC0, %.1f ms)\n", mbs / b->memchr, (unsigned long long)seps,
           b->memchr * 1e3);
    printf("ratio to memchr: decode+ymsg_next %.2fx, decode+ymsg_next_batch %.2fx, ymsg_decode_pairs %.2fx, "
           "decode only %.2fx, minimal parser %.2fx (best of %d runs)\n",
           b->memchr / b->full, b->memchr / b->batch, b->memchr / b->one, b->memchr / b->dec,
           b->memchr / b->min, runs);
}

int main(int argc, char **argv)
{
    size_t mb = 100;
    int runs = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mb"))
            mb = (size_t)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
    }
    if (mb == 0 || runs <= 0) {
        fprintf(stderr, "usage: %s [--mb N] [--runs N]\n", argv[0]);
        return 2;
    }
    struct stream s;
    if (build_stream(mb, &s) != 0)
        return 1;
    struct best b = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
    uint64_t sink = 0;
    long long pairs = 0, seps = 0;
    for (int r = 0; r < runs; r++) {
        if (timed("decode + ymsg_next", run_next, &s, -1, &b.full, &sink, &pairs) ||
            timed("batch iteration", run_batch, &s, pairs, &b.batch, &sink, NULL) ||
            timed("one-pass decode", run_pairs, &s, pairs, &b.one, &sink, NULL) ||
            timed("decode only", run_decode_only, &s, -1, &b.dec, &sink, NULL) ||
            timed("minimal parser", run_minimal, &s, pairs, &b.min, &sink, NULL) ||
            timed("memchr", run_memchr, &s, -1, &b.memchr, &sink, &seps))
            return 1;
    }
    report(&s, &b, pairs, seps, runs);
    if (sink == 42)
        printf(" \n"); /* keeps the work observable */
    free(s.buf);
    return 0;
}
