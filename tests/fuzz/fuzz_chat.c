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
    if (sodium_init() < 0 || !(g_srv = fake_server_tmp(dir))) abort();
    log_set_level(LOG_ERROR);
    g_srv->cfg->chat_room_max_members = 2; /* the "full" path is reachable with three sessions */
    g_srv->cfg->chat_max_rooms = 2;
    char err[256];
    if (!(g_srv->chat = chat_new(g_srv, err, sizeof err))) {
        fprintf(stderr, "chat_new: %s\n", err);
        abort();
    }
    fake_seed(g_srv, (const char *const[]){"alice", "bob", "carol", NULL});
    fake_befriend(g_srv, "alice", "bob");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_srv) fz_init();
    struct fake_conn *c[3] = {fake_login(g_srv, "alice"), fake_login(g_srv, "bob"), fake_login(g_srv, "carol")};
    fake_feed(g_srv, c, 3, data, size, FAKE_FEED_REFILL); /* every packet reaches its handler */
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
