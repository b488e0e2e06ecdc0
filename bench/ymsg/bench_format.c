/* bench-ymsg-format: throughput of ymsg_packet_format() and ymsg_packet_json() (what ymsgdump spends
 * most of its time in) on IM packets like libpurple's (half short, half a sentence with UTF-8), and of
 * snprintf() writing the same pairs as "key=value\n" lines, as a peer.  Thread CPU time, best of
 * --runs.  Usage: bench-ymsg-format [--mb N] [--runs N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ymsg/ymsg.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t mb = 20;
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
    uint8_t *buf = malloc(cap);
    static char out[1 << 17];
    if (!buf)
        return 1;
    struct ymsg_builder b;
    ymsg_builder_init(&b, buf, cap);
    size_t np = 0;
    while (cap - b.len > 4096) {
        ymsg_build_begin(&b, YMSG_SVC_MESSAGE, YMSG_STATUS_OFFLINE, 0);
        ymsg_build_str(&b, 1, "alice");
        ymsg_build_str(&b, 5, "bob");
        ymsg_build_str(&b, 14, np % 2 ? "hello there, how are you doing today? caf\xc3\xa9 \xf0\x9f\x98\x80" : "ok");
        ymsg_build_str(&b, 97, "1");
        ymsg_build_str(&b, 63, ";0");
        ymsg_build_str(&b, 64, "0");
        ymsg_build_str(&b, 206, "0");
        if (ymsg_build_end(&b) < 0)
            return 1;
        np++;
    }
    double best[3] = {1e9, 1e9, 1e9};
    size_t bytes[3] = {0, 0, 0};
    for (int r = 0; r < runs; r++) {
        for (int f = 0; f < 3; f++) {
            double t0 = now();
            size_t pos = 0, total = 0;
            while (pos < b.len) {
                struct ymsg_packet pkt;
                ssize_t n = ymsg_decode(buf + pos, b.len - pos, NULL, &pkt, NULL);
                if (n <= 0)
                    return 1;
                if (f == 0) {
                    total += (size_t)ymsg_packet_format(&pkt, out, sizeof out);
                } else if (f == 1) {
                    total += (size_t)ymsg_packet_json(&pkt, out, sizeof out);
                } else {
                    size_t it = 0, o = 0;
                    struct ymsg_kv kv;
                    while (ymsg_next(&pkt, &it, &kv))
                        o += (size_t)snprintf(out + o, sizeof out - o, "%u=%.*s\n", (unsigned)kv.key, (int)kv.len,
                                              (const char *)kv.val);
                    total += o;
                }
                pos += (size_t)n;
            }
            double t = now() - t0;
            if (t < best[f])
                best[f] = t;
            bytes[f] = total;
        }
    }
    static const char *const names[] = {"ymsg_packet_format", "ymsg_packet_json", "snprintf peer"};
    printf("%zu packets, %.1f MB\n", np, (double)b.len / 1e6);
    for (int f = 0; f < 3; f++)
        printf("%-19s %6.2f M packets/s  %7.1f MB/s of text  (best of %d)\n", names[f], (double)np / best[f] / 1e6,
               (double)bytes[f] / best[f] / 1e6, runs);
    free(buf);
    return 0;
}
