/* libFuzzer harness: the file-transfer handlers (0xDC / 0xDD / 0xDE, server/pager/filexfer.c) through the
 * dispatch table, on a socket-less server (tests/unit/server/pager_fake.c) with a real relay (its
 * transfer table and tokens; a listener on a free loopback port that nothing connects to).  Each decoded
 * packet goes to alice, bob or carol (logged in; alice and bob are buddies, carol is invisible) by its
 * header's session id modulo 3.  Checks: no crash or sanitizer report, every byte queued decodes as YMSG
 * (pager_fake aborts otherwise), the relay's transfers stay within relay_max_transfers per sender. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dispatch.h"
#include "filexfer.h"
#include "log.h"
#include "pager_fake.h"
#include "relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct server *g_srv; /* one server, store and relay for the whole run */

static void fz_init(void)
{
    char dir[] = "/tmp/ymsgd-fuzz-ft-XXXXXX";
    if (sodium_init() < 0 || !(g_srv = fake_server_tmp(dir))) abort();
    log_set_level(LOG_ERROR);
    struct config *cfg = g_srv->cfg;
    free(cfg->data_dir);
    free(cfg->relay_listen);
    if (!(cfg->data_dir = strdup(dir)) || !(cfg->relay_listen = strdup("127.0.0.1:0"))) abort();
    cfg->relay_max_transfers = 4;
    char err[256];
    if (!(g_srv->relay = relay_new(g_srv, err, sizeof err))) {
        fprintf(stderr, "relay: %s\n", err);
        abort();
    }
    ft_attach(g_srv);
    fake_seed(g_srv, (const char *const[]){"alice", "bob", "carol", NULL});
    fake_befriend(g_srv, "alice", "bob");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv) fz_init();
    struct fake_conn *c[3] = {fake_login(g_srv, "alice"), fake_login(g_srv, "bob"), fake_login(g_srv, "carol")};
    c[2]->c.invisible = 1;
    fake_feed(g_srv, c, 3, data, size, FAKE_FEED_VERSION);
    if (relay_count(g_srv->relay) > 3 * 4) abort();
    fake_reap(g_srv);
    for (int i = 0; i < 3; i++) {
        fake_read_all(c[i]);
        fake_conn_free(c[i]);
    }
    return 0;
}
