/* libFuzzer harness: packets through the pager's dispatch table (dispatch_packet) on a socket-less
 * server with a fake transport (tests/unit/server/pager_fake.c).  The input is a YMSG byte stream;
 * each decoded packet goes to one of three connections chosen by its header's session id modulo 3:
 * 0 alice and 1 bob (logged in, buddies), 2 a connection not logged in yet.  Checks: no crash or
 * sanitizer report, and every byte the server queues decodes as YMSG (pager_fake aborts otherwise). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "delivery.h"
#include "dispatch.h"
#include "log.h"
#include "pager_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct server *g_srv; /* one server (and store) for the whole run */

static void fz_init(void)
{
    char dir[] = "/tmp/ymsgd-fuzz-pager-XXXXXX";
    if (sodium_init() < 0 || !mkdtemp(dir)) abort();
    log_set_level(LOG_ERROR);
    g_srv = fake_server_new(dir);
    struct store *st = g_srv->st;
    st->user_add(st, "alice", "x", NULL, NULL);
    st->user_add(st, "bob", "x", NULL, NULL);
    st->buddy_add(st, "alice", "bob", "Friends", 0);
    st->buddy_add(st, "bob", "alice", "Friends", 0);
}

static void fz_drain(struct fake_conn *f)
{
    struct ymsg_packet p;
    while (fake_next(f, &p)) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv) fz_init();
    struct fake_conn *c[3] = {fake_login(g_srv, "alice"), fake_login(g_srv, "bob"), fake_conn_new(g_srv)};
    size_t off = 0;
    while (off < size) {
        struct ymsg_packet pkt;
        size_t err_off = 0;
        ssize_t n = ymsg_decode(data + off, size - off, &g_srv->lim, &pkt, &err_off);
        if (n <= 0) break;
        struct fake_conn *f = c[pkt.hdr.session % 3];
        if (!f->c.version) f->c.version = pkt.hdr.version;
        dispatch_packet(&f->c, &pkt);
        off += (size_t)n;
    }
    fake_reap(g_srv);
    for (int i = 0; i < 3; i++) {
        fz_drain(c[i]);
        fake_conn_free(c[i]);
    }
    return 0;
}
