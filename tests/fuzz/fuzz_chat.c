/* libFuzzer harness: the chat-room handlers (server/pager/chat.c) through the dispatch table on a
 * socket-less server (tests/unit/server/pager_fake.c) with the default rooms.  The input is a YMSG byte
 * stream; each packet goes to one of three logged-in sessions (alice, bob, carol) chosen by its header's
 * session id modulo 3.  After the stream: an idle sweep far in the future (everybody times out), then
 * every session ends.  Checks: no crash or sanitizer report, every byte queued decodes as YMSG
 * (pager_fake aborts otherwise), and no member is left behind (memory and room counts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chat.h"
#include "dispatch.h"
#include "log.h"
#include "pager_fake.h"
#include "ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct server *g_srv; /* one server (and store) for the whole run */

static void fz_init(void)
{
    char dir[] = "/tmp/ymsgd-fuzz-chat-XXXXXX";
    if (sodium_init() < 0 || !mkdtemp(dir)) abort();
    log_set_level(LOG_ERROR);
    g_srv = fake_server_new(dir);
    g_srv->cfg->chat_room_max_members = 2; /* the "full" path is reachable with three sessions */
    g_srv->cfg->chat_max_rooms = 2;
    char err[256];
    if (!(g_srv->chat = chat_new(g_srv, err, sizeof err))) {
        fprintf(stderr, "chat_new: %s\n", err);
        abort();
    }
    struct store *st = g_srv->st;
    st->user_add(st, "alice", "x", NULL, NULL);
    st->user_add(st, "bob", "x", NULL, NULL);
    st->user_add(st, "carol", "x", NULL, NULL);
    st->buddy_add(st, "alice", "bob", "Friends", 0);
    st->buddy_add(st, "bob", "alice", "Friends", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv) fz_init();
    struct fake_conn *c[3] = {fake_login(g_srv, "alice"), fake_login(g_srv, "bob"), fake_login(g_srv, "carol")};
    size_t off = 0;
    while (off < size) {
        struct ymsg_packet pkt;
        size_t err_off = 0;
        ssize_t n = ymsg_decode(data + off, size - off, &g_srv->lim, &pkt, &err_off);
        if (n <= 0) break;
        struct fake_conn *f = c[pkt.hdr.session % 3];
        f->c.tokens = 1000; /* the session bucket is not under test: every packet reaches its handler */
        dispatch_packet(&f->c, &pkt);
        off += (size_t)n;
    }
    if (size && data[0] & 1) chat_sweep(g_srv->chat, rl_now() + 1e9);
    for (int i = 0; i < 3; i++) chat_session_end(&c[i]->c);
    if (chat_member_count(g_srv->chat) != 0) abort(); /* a session's end must leave no trace in any room */
    fake_reap(g_srv);
    for (int i = 0; i < 3; i++) {
        fake_drain(c[i]);
        fake_conn_free(c[i]);
    }
    return 0;
}
