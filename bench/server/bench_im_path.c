/* The pager's IM hot path in-process: alice sends bob IMs through dispatch_packet() (decode done once by
 * fake_send's encoder, then the dispatch table, im_handle_message, delivery to bob's fake transport),
 * with no sockets, so the figure is the server's own CPU per IM and nothing else.  Used for the cost of
 * the /metrics counters (docs/PERFORMANCE.md): build it on a tree with and one without them and run both
 * alternately.
 *
 *   bench-im-path [IMS] [ROUNDS] [live|offline]   prints the best and median ns per IM over ROUNDS rounds */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pager_fake.h"
#if __has_include("store_metrics.h")
#include "store_metrics.h" /* the tree has the /metrics counters: time the store as ymsgd does */
#define HAVE_STORE_METRICS 1
#endif

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long ims = argc > 1 ? atol(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 9;
    int offline = argc > 3 && !strcmp(argv[3], "offline");
    if (ims < 1 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: bench-im-path [IMS] [ROUNDS] [live|offline]\n");
        return 2;
    }
    char dir[] = "/tmp/bench-im-path-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    struct server *srv = fake_server_new(dir);
    if (!srv) return 1;
#ifdef HAVE_STORE_METRICS
    store_metrics_wrap(srv->st);
#endif
    srv->cfg->session_rate = srv->cfg->session_burst = 10000000;
    srv->cfg->offline_max = srv->cfg->offline_per_sender = 1000000000;
    srv->st->user_add(srv->st, "alice", "x", NULL, NULL);
    srv->st->user_add(srv->st, "bob", "x", NULL, NULL);
    srv->st->buddy_add(srv->st, "alice", "bob", "Friends", 0);
    srv->st->buddy_add(srv->st, "bob", "alice", "Friends", 0);
    struct fake_conn *a = fake_login(srv, "alice");
    struct fake_conn *b = offline ? NULL : fake_login(srv, "bob");
    double *ns = calloc((size_t)rounds, sizeof *ns);
    for (int r = 0; r < rounds; r++) {
        fake_drain(a);
        double t0 = now_ns();
        for (long i = 0; i < ims; i++) {
            fake_send(a, YMSG_SVC_MESSAGE, 1, "1", "alice", "5", "bob", "14", "hello, how are you today?", "97", "1",
                      NULL);
            if (b && (i & 1023) == 1023) fake_drain(b);
            a->c.tokens = 1e9f; /* no rate limit in a benchmark */
        }
        ns[r] = (now_ns() - t0) / (double)ims;
        if (b) fake_drain(b);
    }
    qsort(ns, (size_t)rounds, sizeof *ns, cmp_double);
    printf("%s IMs: %ld per round, %d rounds: best %.1f ns/IM, median %.1f ns/IM%s\n", offline ? "offline" : "live",
           ims, rounds, ns[0], ns[rounds / 2],
#ifdef HAVE_STORE_METRICS
           " (with /metrics counters)"
#else
           " (without /metrics counters)"
#endif
    );
    free(ns);
    fake_conn_free(a);
    if (b) fake_conn_free(b);
    fake_server_free(srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
