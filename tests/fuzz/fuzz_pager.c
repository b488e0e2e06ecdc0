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
    if (sodium_init() < 0 || !(g_srv = fake_server_tmp(dir))) abort();
    log_set_level(LOG_ERROR);
    fake_seed(g_srv, (const char *const[]){"alice", "bob", NULL});
    fake_befriend(g_srv, "alice", "bob");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv) fz_init();
    struct fake_conn *c[3] = {fake_login(g_srv, "alice"), fake_login(g_srv, "bob"), fake_conn_new(g_srv)};
    fake_feed(g_srv, c, 3, data, size, FAKE_FEED_VERSION);
    fake_reap(g_srv);
    for (int i = 0; i < 3; i++) {
        fake_read_all(c[i]);
        fake_conn_free(c[i]);
    }
    return 0;
}
