/* Client-session throughput: events per second on one core for a stream of server packets.
 *
 *   bench_session [--packets N] [--rounds R] [--chunk BYTES] [FILE]
 *
 * Without FILE the stream is generated with ymsgd's packet layouts (YMSG.md §6–7): a LIST_15 of 500
 * buddies in 10 groups, then N packets mixing messages with ids (each answered with a 0xFB ack),
 * typing, STATUS_15, 0xC6 status updates and 0x02 sign-offs.  FILE is raw server→client bytes (what a
 * client read from its socket after the 0x57 reply; e.g. from `ymsgdump --raw`).  The stream is fed in
 * CHUNK-byte reads (default 4096), every event is drained and every output byte consumed, as a driver
 * would.  The peer measured in the same run is the bare codec (ymsg_decode + pair iteration) over the
 * same bytes: the difference is what the session itself costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ymsg/ymsg.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* the VM is shared: CPU time, not wall time */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
    uint8_t *p;                   /* bytes */
    size_t len;                   /* used */
    size_t cap;                   /* allocated */
};

static struct ymsg_builder *bb;   /* builder over a scratch area */
static uint8_t scratch[70000];

static void put(struct buf *b)
{
    ssize_t n = ymsg_build_end(bb);
    if (n <= 0) {
        fprintf(stderr, "build failed: %s\n", ymsg_strerror((int)n));
        exit(1);
    }
    if (b->len + (size_t)n > b->cap) {
        b->cap = (b->cap + (size_t)n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(1);
    }
    memcpy(b->p + b->len, scratch, (size_t)n);
    b->len += (size_t)n;
    ymsg_builder_reset(bb);
}

static void begin(uint16_t svc, uint32_t st)
{
    ymsg_build_begin(bb, svc, st, 0x0047E133);
}

static void generate(struct buf *b, long packets)
{
    char id[32], name[32];
    begin(YMSG_SVC_LIST_15, 0);
    ymsg_build_str(bb, 302, "318");
    for (int g = 0; g < 10; g++) {
        snprintf(name, sizeof name, "Group %d", g);
        ymsg_build_str(bb, 300, "318");
        ymsg_build_str(bb, 65, name);
        ymsg_build_str(bb, 302, "319");
        for (int i = 0; i < 50; i++) {
            snprintf(id, sizeof id, "buddy%03d", g * 50 + i);
            ymsg_build_str(bb, 300, "319");
            ymsg_build_str(bb, 7, id);
            ymsg_build_str(bb, 301, "319");
        }
        ymsg_build_str(bb, 303, "319");
        ymsg_build_str(bb, 301, "318");
    }
    ymsg_build_str(bb, 303, "318");
    put(b);
    for (long k = 0; k < packets; k++) {
        snprintf(id, sizeof id, "buddy%03ld", (k * 7919) % 500);
        switch (k % 10) {
        case 0: case 1: case 2: case 3: {
            char mid[24], text[128];
            snprintf(mid, sizeof mid, "%016lX", (unsigned long)k);
            snprintf(text, sizeof text, "message number %ld \xe2\x9c\x93 with <b>some</b> formatting", k);
            begin(YMSG_SVC_MESSAGE, 1);
            ymsg_build_str(bb, 4, id);
            ymsg_build_str(bb, 5, "alice");
            ymsg_build_str(bb, 14, text);
            ymsg_build_str(bb, 15, "1700000000");
            ymsg_build_str(bb, 97, "1");
            ymsg_build_str(bb, 429, mid);
            ymsg_build_str(bb, 450, "0");
            break;
        }
        case 4: case 5:
            begin(YMSG_SVC_NOTIFY, 1);
            ymsg_build_str(bb, 4, id);
            ymsg_build_str(bb, 5, "alice");
            ymsg_build_str(bb, 13, k % 2 ? "1" : "0");
            ymsg_build_str(bb, 14, " ");
            ymsg_build_str(bb, 49, "TYPING");
            break;
        case 6: case 7:
            begin(YMSG_SVC_STATUS_15, 1);
            ymsg_build_str(bb, 302, "315");
            ymsg_build_str(bb, 300, "315");
            ymsg_build_str(bb, 7, id);
            ymsg_build_str(bb, 10, "99");
            ymsg_build_str(bb, 19, "out for lunch");
            ymsg_build_str(bb, 47, "1");
            ymsg_build_str(bb, 13, "1");
            ymsg_build_str(bb, 301, "315");
            ymsg_build_str(bb, 303, "315");
            break;
        case 8:
            begin(YMSG_SVC_Y6_STATUS_UPDATE, 1);
            ymsg_build_str(bb, 7, id);
            ymsg_build_str(bb, 10, "2");
            ymsg_build_str(bb, 19, "");
            ymsg_build_str(bb, 47, "1");
            ymsg_build_str(bb, 97, "1");
            break;
        default:
            begin(YMSG_SVC_LOGOFF, 1);
            ymsg_build_str(bb, 7, id);
        }
        put(b);
    }
}

static struct ymsg_session *logged_in(void)
{
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    cfg.user = "alice";
    cfg.password = "pw";
    cfg.login_url = "http://127.0.0.1:1";
    cfg.max_events = 1 << 16;
    struct ymsg_session *s = ymsg_session_new(&cfg);
    ymsg_session_start(s, 0);
    uint8_t pkt[256];
    struct ymsg_builder b;
    ymsg_builder_init(&b, pkt, sizeof pkt);
    ymsg_build_begin(&b, YMSG_SVC_AUTH, 1, 0x0047E133);
    ymsg_build_str(&b, 1, "alice");
    ymsg_build_str(&b, 94, "x^0+1-2*3/4%5");
    ymsg_build_str(&b, 13, "2");
    ymsg_session_feed(s, pkt, (size_t)ymsg_build_end(&b));
    while (ymsg_session_next_event(s))
        ;
    static const char tok[] = "0\r\nymsgr=T\r\npartnerid=P", crumb[] = "0\r\ncrumb=C\r\nY=y\r\nT=t\r\n";
    ymsg_session_http_response(s, 200, NULL, 0, tok, sizeof tok - 1);
    while (ymsg_session_next_event(s))
        ;
    ymsg_session_http_response(s, 200, "", 0, crumb, sizeof crumb - 1);
    const uint8_t *o;
    ymsg_session_consume(s, ymsg_session_output(s, &o));
    return s;
}

int main(int argc, char **argv)
{
    long packets = 200000, rounds = 5;
    size_t chunk = 4096;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--packets") && i + 1 < argc) packets = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atol(argv[++i]);
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = (size_t)atol(argv[++i]);
        else if (argv[i][0] != '-') file = argv[i];
        else { fprintf(stderr, "usage: bench_session [--packets N] [--rounds R] [--chunk BYTES] [FILE]\n"); return 64; }
    }
    if (chunk == 0 || rounds <= 0)
        return 64;
    struct buf stream = {0};
    struct ymsg_builder b;
    ymsg_builder_init(&b, scratch, sizeof scratch);
    bb = &b;
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f) { perror(file); return 1; }
        fseek(f, 0, SEEK_END);
        stream.len = stream.cap = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        stream.p = malloc(stream.len ? stream.len : 1);
        if (!stream.p || fread(stream.p, 1, stream.len, f) != stream.len) { fclose(f); return 1; }
        fclose(f);
    } else {
        generate(&stream, packets);
    }
    double best_sess = 1e30, best_codec = 1e30;
    unsigned long long events = 0, npk = 0, outbytes = 0;
    for (long r = 0; r < rounds; r++) {
        struct ymsg_session *s = logged_in();
        double t0 = now_s();
        unsigned long long ev = 0, out = 0;
        for (size_t off = 0; off < stream.len; off += chunk) {
            size_t n = stream.len - off < chunk ? stream.len - off : chunk;
            ymsg_session_feed(s, stream.p + off, n);
            while (ymsg_session_next_event(s))
                ev++;
            const uint8_t *o;
            size_t on = ymsg_session_output(s, &o);
            out += on;
            ymsg_session_consume(s, on);
        }
        double dt = now_s() - t0;
        struct ymsg_session_stats st;
        ymsg_session_get_stats(s, &st);
        if (st.events_dropped)
            fprintf(stderr, "warning: %llu events dropped\n", (unsigned long long)st.events_dropped);
        ymsg_session_free(s);
        if (dt < best_sess) { best_sess = dt; events = ev; npk = st.packets_in; outbytes = out; }
        /* the peer: decode + iterate pairs of the same bytes, nothing else */
        t0 = now_s();
        size_t pos = 0, pairs = 0;
        struct ymsg_packet pkt;
        ssize_t k;
        while ((k = ymsg_decode(stream.p + pos, stream.len - pos, NULL, &pkt, NULL)) > 0) {
            size_t it = 0;
            struct ymsg_kv kv;
            while (ymsg_next(&pkt, &it, &kv))
                pairs++;
            pos += (size_t)k;
        }
        dt = now_s() - t0;
        if (pairs == 0)
            fprintf(stderr, "no pairs decoded\n");
        if (dt < best_codec)
            best_codec = dt;
    }
    printf("stream: %zu bytes, %llu packets, chunk %zu, best of %ld rounds, one core, thread CPU time\n", stream.len, npk, chunk, rounds);
    printf("session: %.3f s  %.0f events/s  %.0f packets/s  %.1f MB/s in  (%llu events, %llu bytes out)\n",
           best_sess, (double)events / best_sess, (double)npk / best_sess, (double)stream.len / best_sess / 1e6,
           events, outbytes);
    printf("codec peer (ymsg_decode + ymsg_next): %.3f s  %.0f packets/s  %.1f MB/s\n", best_codec,
           (double)npk / best_codec, (double)stream.len / best_codec / 1e6);
    free(stream.p);
    return 0;
}
