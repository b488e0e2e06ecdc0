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
    size_t cap = mb << 20;
    uint8_t *buf = malloc(cap + 4096);
    if (!buf) {
        perror("malloc");
        return 1;
    }
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, cap + 4096);
    size_t npk = 0, mix[5] = {0};
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
            return 1;
        }
        mix[kind]++;
        npk++;
    }
    size_t len = b.len;
    printf("stream: %.1f MB, %zu packets (IM %zu, 0xF0 %zu, 0xF1 %zu, keepalive %zu, typing %zu), "
           "avg %.0f bytes\n",
           (double)len / 1e6, npk, mix[0], mix[1], mix[2], mix[3], mix[4], (double)len / (double)npk);

    double best_full = 1e9, best_batch = 1e9, best_one = 1e9, best_min = 1e9, best_dec = 1e9, best_memchr = 1e9;
    uint64_t sink = 0, pairs = 0, seps = 0;
    for (int r = 0; r < runs; r++) {
        /* decode + iterate every pair */
        double t0 = now();
        size_t pos = 0, got = 0;
        uint64_t acc = 0, np = 0;
        while (pos < len) {
            struct ymsg_packet pkt;
            ssize_t n = ymsg_decode(buf + pos, len - pos, NULL, &pkt, NULL);
            if (n <= 0) {
                fprintf(stderr, "decode failed at %zu: %s\n", pos, ymsg_strerror((int)n));
                return 1;
            }
            size_t it = 0;
            struct ymsg_kv kv;
            while (ymsg_next(&pkt, &it, &kv)) {
                acc += kv.key + kv.len;
                np++;
            }
            pos += (size_t)n;
            got++;
        }
        double t = now() - t0;
        if (t < best_full)
            best_full = t;
        if (got != npk) {
            fprintf(stderr, "decoded %zu packets, built %zu\n", got, npk);
            return 1;
        }
        sink += acc;
        pairs = np;

        /* decode + batch iteration */
        t0 = now();
        pos = 0;
        acc = 0;
        np = 0;
        while (pos < len) {
            struct ymsg_packet pkt;
            ssize_t n = ymsg_decode(buf + pos, len - pos, NULL, &pkt, NULL);
            if (n <= 0)
                return 1;
            struct ymsg_kv kv[64];
            for (size_t it = 0; it < pkt.hdr.length;) {
                size_t k = ymsg_next_batch(&pkt, &it, kv, 64);
                for (size_t j = 0; j < k; j++) {
                    acc += kv[j].key + kv[j].len;
                    np++;
                }
            }
            pos += (size_t)n;
        }
        t = now() - t0;
        if (t < best_batch)
            best_batch = t;
        if (np != pairs) {
            fprintf(stderr, "batch iteration saw %llu pairs, ymsg_next %llu\n", (unsigned long long)np,
                    (unsigned long long)pairs);
            return 1;
        }
        sink += acc;

        /* one pass: ymsg_decode_pairs() validates and fills the views */
        t0 = now();
        pos = 0;
        acc = 0;
        np = 0;
        while (pos < len) {
            struct ymsg_packet pkt;
            struct ymsg_kv kv[64];
            ssize_t n = ymsg_decode_pairs(buf + pos, len - pos, NULL, &pkt, kv, 64, NULL);
            if (n <= 0)
                return 1;
            size_t k = pkt.npairs < 64 ? pkt.npairs : 64;
            for (size_t j = 0; j < k; j++) {
                acc += kv[j].key + kv[j].len;
                np++;
            }
            if (pkt.npairs > 64) { /* 0xF1 lists have more than 64 pairs */
                size_t it = (size_t)(kv[63].val + kv[63].len + 2 - pkt.body);
                struct ymsg_kv one;
                while (ymsg_next(&pkt, &it, &one)) {
                    acc += one.key + one.len;
                    np++;
                }
            }
            pos += (size_t)n;
        }
        t = now() - t0;
        if (t < best_one)
            best_one = t;
        if (np != pairs) {
            fprintf(stderr, "one-pass decode saw %llu pairs, ymsg_next %llu\n", (unsigned long long)np,
                    (unsigned long long)pairs);
            return 1;
        }
        sink += acc;

        /* decode only */
        t0 = now();
        pos = 0;
        while (pos < len) {
            struct ymsg_packet pkt;
            ssize_t n = ymsg_decode(buf + pos, len - pos, NULL, &pkt, NULL);
            sink += pkt.npairs;
            pos += (size_t)n;
        }
        t = now() - t0;
        if (t < best_dec)
            best_dec = t;

        /* peer: a minimal unvalidated zero-copy parser */
        t0 = now();
        acc = 0;
        long long mp = minimal_parse(buf, len, &acc);
        t = now() - t0;
        if (mp != (long long)pairs) {
            fprintf(stderr, "minimal parser saw %lld pairs\n", mp);
            return 1;
        }
        if (t < best_min)
            best_min = t;
        sink += acc;

        /* peer: visit every 0xC0 with memchr */
        t0 = now();
        const uint8_t *p = buf, *end = buf + len;
        uint64_t c = 0;
        while ((p = memchr(p, 0xC0, (size_t)(end - p))) != NULL) {
            c++;
            p++;
        }
        t = now() - t0;
        if (t < best_memchr)
            best_memchr = t;
        seps = c;
    }
    double mbs = (double)len / 1e6;
    printf("decode+iterate: %8.1f MB/s  %6.2f M packets/s  %6.1f M pairs/s  (%.1f ms)\n", mbs / best_full,
           (double)npk / best_full / 1e6, (double)pairs / best_full / 1e6, best_full * 1e3);
    printf("decode+batch:   %8.1f MB/s  %6.2f M packets/s  %6.1f M pairs/s  (%.1f ms)\n", mbs / best_batch,
           (double)npk / best_batch / 1e6, (double)pairs / best_batch / 1e6, best_batch * 1e3);
    printf("decode_pairs:   %8.1f MB/s  %6.2f M packets/s  %6.1f M pairs/s  (%.1f ms)\n", mbs / best_one,
           (double)npk / best_one / 1e6, (double)pairs / best_one / 1e6, best_one * 1e3);
    printf("decode only:    %8.1f MB/s  %6.2f M packets/s  (%.1f ms)\n", mbs / best_dec,
           (double)npk / best_dec / 1e6, best_dec * 1e3);
    printf("minimal parser: %8.1f MB/s  %6.2f M packets/s  (no validation; %.1f ms)\n", mbs / best_min,
           (double)npk / best_min / 1e6, best_min * 1e3);
    printf("memchr peer:    %8.1f MB/s  (%llu x 0xC0, %.1f ms)\n", mbs / best_memchr, (unsigned long long)seps,
           best_memchr * 1e3);
    printf("ratio to memchr: decode+ymsg_next %.2fx, decode+ymsg_next_batch %.2fx, ymsg_decode_pairs %.2fx, "
           "decode only %.2fx, minimal parser %.2fx (best of %d runs)\n",
           best_memchr / best_full, best_memchr / best_batch, best_memchr / best_one, best_memchr / best_dec,
           best_memchr / best_min, runs);
    if (sink == 42)
        printf(" \n"); /* keeps the work observable */
    free(buf);
    return 0;
}
