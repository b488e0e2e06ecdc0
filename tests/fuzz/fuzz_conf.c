/* libFuzzer harness: the conference handlers (server/pager/conf.c) through the dispatch table on a
 * socket-less server with a fake transport (tests/unit/server/pager_fake.c).  The input is a YMSG byte
 * stream; each decoded packet is sent by one of four logged-in users chosen by its header's session id
 * modulo 4 (alice, bob, carol invisible, dave), and its service is folded into 0x18-0x1D so every
 * packet reaches a conference handler.  After the input every session ends (conf_user_gone, as at
 * sign-off).  Checks: no crash or sanitizer report, every byte the server queues decodes as YMSG
 * (pager_fake aborts otherwise), and no conference outlives its last member (the table is empty). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "dispatch.h"
#include "log.h"
#include "pager_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct server *g_srv; /* one server (and store) for the whole run */
static const char *const g_users[4] = {"alice", "bob", "carol", "dave"};

static void fz_init(void)
{
    char dir[] = "/tmp/ymsgd-fuzz-conf-XXXXXX";
    if (sodium_init() < 0 || !(g_srv = fake_server_tmp(dir))) abort();
    log_set_level(LOG_ERROR);
    /* small caps so the fuzzer reaches them */
    g_srv->cfg->conf_max_members = 3;
    g_srv->cfg->conf_max_per_user = 2;
    g_srv->cfg->conf_max_message = 64;
    fake_seed(g_srv, (const char *const[]){"alice", "bob", "carol", "dave", "erin", NULL}); /* erin: never online */
    fake_befriend(g_srv, "alice", "bob");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv) fz_init();
    struct fake_conn *c[4];
    for (int i = 0; i < 4; i++) c[i] = fake_login(g_srv, g_users[i]);
    c[2]->c.invisible = 1;
    size_t off = 0;
    while (off < size) {
        struct ymsg_packet pkt;
        size_t err_off = 0;
        ssize_t n = ymsg_decode(data + off, size - off, &g_srv->lim, &pkt, &err_off);
        if (n <= 0) break;
        struct fake_conn *f = c[pkt.hdr.session % 4];
        f->c.version = 16;
        pkt.hdr.service = (uint16_t)(YMSG_SVC_CONFINVITE + pkt.hdr.service % 6);
        dispatch_packet(&f->c, &pkt);
        off += (size_t)n;
    }
    for (int i = 0; i < 4; i++) conf_user_gone(g_srv, g_users[i]);
    if (conf_count(g_srv) != 0) {
        fprintf(stderr, "fuzz_conf: %zu conference(s) left after every member's session ended\n", conf_count(g_srv));
        abort();
    }
    fake_reap(g_srv);
    for (int i = 0; i < 4; i++) {
        fake_read_all(c[i]);
        fake_conn_free(c[i]);
    }
    return 0;
}
