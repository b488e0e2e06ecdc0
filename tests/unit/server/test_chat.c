/* Chat rooms (server/pager/chat.c) against the pager's fake transport: the rooms file parser, the room
 * list XML, and the handlers through the dispatch table (join list, notices, fan-out, session end, the
 * oversized-list split, the idle sweep). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat.h"
#include "dispatch.h"
#include "log.h"
#include "pager_fake.h"
#include "ratelimit.h"

struct fixture {
    char dir[64];       /* temporary data directory */
    struct server *srv; /* socket-less server with the default rooms */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ymsgd-chat-XXXXXX");
    log_set_level(LOG_ERROR);
    if (!(f->srv = fake_server_tmp(f->dir))) return -1;
    char err[128];
    if (!(f->srv->chat = chat_new(f->srv, err, sizeof err))) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    chat_free(f->srv->chat);
    f->srv->chat = NULL;
    int rc = fake_server_rm(f->srv, f->dir);
    free(f);
    return rc;
}

static const char *get(const struct ymsg_packet *p, uint32_t key, char *buf, size_t cap)
{
    return ymsg_get_str(p, key, buf, cap) >= 0 ? buf : NULL;
}

static void bye(struct fake_conn *c)
{
    chat_session_end(&c->c); /* what login_end() does; fake_conn_free() does not go through it */
    fake_conn_free(c);
}

static void test_parse_errors(void **state)
{
    (void)state;
    char err[200];
    const char *bad[][2] = {
        {"room Orphan\n", "line 1: room before any category"},
        {"category A\nroom B:1\n", "line 2: bad room"},
        {"category A\nroom B\nroom b | again\n", "line 3: room \"b\" defined twice"},
        {"category \n", "line 1: expected"},
        {"category A\nlobby x\n", "line 2: expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_null(chat_parse(bad[i][0], strlen(bad[i][0]), err, sizeof err));
        assert_non_null(strstr(err, bad[i][1]));
    }
    const char ok[] = "# rooms\r\n\ncategory  Q&A \r\n room  Tom & Jerry |  <b> \r\n";
    struct chat *ch = chat_parse(ok, sizeof ok - 1, err, sizeof err);
    assert_non_null(ch);
    assert_int_equal(chat_room_count(ch), 1);
    char *xml;
    size_t len;
    assert_int_equal(chat_list_xml(ch, "chatcat=0&intl=us", 5, &xml, &len), 200);
    assert_string_equal(xml, "<content time=\"5\"><chatCategories>\n<category id=\"1600000001\" name=\"Q&amp;A\">"
                             "</category>\n</chatCategories></content>\n");
    free(xml);
    assert_int_equal(chat_list_xml(ch, "chatroom_1600000001=0", 5, &xml, &len), 200);
    /* one lobby per room, without counts (docs/CHAT_ROOMS.md §3) */
    assert_non_null(strstr(xml, "<room type=\"yahoo\" id=\"1600100001\" name=\"Tom &amp; Jerry\" topic=\"&lt;b&gt;\">"
                                "<lobby count=\"1\"></lobby></room>\n"));
    free(xml);
    /* OY's root category: a list time of the last 15 minutes (or a minute ahead) lists every room */
    const long now = 1700000000;
    const struct { const char *q; int rooms; } root[] = {
        {"chatroom_1700000000", 1}, {"chatroom_1699999100=0", 1}, {"chatroom_1700000060", 1},
        {"chatroom_1699999099", 0}, {"chatroom_1700000061", 0}, {"chatroom_5=0", 0},
    };
    for (size_t i = 0; i < sizeof root / sizeof root[0]; i++) {
        assert_int_equal(chat_list_xml(ch, root[i].q, now, &xml, &len), 200);
        assert_int_equal(strstr(xml, "name=\"Tom &amp; Jerry\"") != NULL, root[i].rooms);
        free(xml);
    }
    assert_int_equal(chat_list_xml(ch, "chatroom_x=0", 5, &xml, &len), 400);
    assert_int_equal(chat_list_xml(ch, "intl=us", 5, &xml, &len), 400);
    chat_free(ch);
}

static void test_join_talk_and_session_end(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *a = fake_login(f->srv, "alice"), *b = fake_login(f->srv, "bob");
    struct ymsg_packet p;
    char v[64];
    fake_drain(a);
    fake_drain(b);
    fake_send(a, YMSG_SVC_CHATJOIN, 0, "1", "alice", "104", "LINUX", "62", "2", "129", "0", NULL);
    assert_true(fake_next(a, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_CHATJOIN);
    assert_int_equal(p.hdr.status, 1);
    assert_string_equal(get(&p, 104, v, sizeof v), "Linux");
    assert_int_equal(ymsg_count(&p, 109), 1);
    fake_send(b, YMSG_SVC_CHATJOIN, 0, "1", "bob", "104", "Linux", NULL);
    assert_true(fake_next(b, &p));
    assert_int_equal(ymsg_count(&p, 109), 2);
    assert_true(fake_next(a, &p)); /* the notice */
    assert_string_equal(get(&p, 109, v, sizeof v), "bob");
    assert_string_equal(get(&p, 1, v, sizeof v), "alice");
    /* bob's message, sender forged: alice gets it from bob, bob gets nothing back */
    fake_send(b, YMSG_SVC_COMMENT, 0, "1", "alice", "109", "alice", "104", "Linux", "117", "hi", "124", "1", NULL);
    assert_true(fake_next(a, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_COMMENT);
    assert_string_equal(get(&p, 109, v, sizeof v), "bob");
    assert_false(fake_next(b, &p));
    assert_int_equal(chat_member_count(f->srv->chat), 2);
    bye(b); /* the session ends: alice is told, bob is out */
    assert_true(fake_next(a, &p));
    assert_int_equal(p.hdr.service, YMSG_SVC_CHATEXIT);
    assert_string_equal(get(&p, 109, v, sizeof v), "bob");
    assert_int_equal(chat_member_count(f->srv->chat), 1);
    bye(a);
    assert_int_equal(chat_member_count(f->srv->chat), 0);
}

static void test_long_list_split_and_idle_sweep(void **state)
{
    struct fixture *f = *state;
    struct fake_conn *c[40];
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "user%02d", i);
        c[i] = fake_login(f->srv, name);
        fake_send(c[i], YMSG_SVC_CHATJOIN, 0, "104", "Jazz", NULL);
    }
    fake_drain(c[0]);
    /* a repeated join: the list once more, 40 members in 15 + 15 + 10, status 5, 5, 1 */
    c[0]->c.tokens = 100;
    fake_send(c[0], YMSG_SVC_CHATJOIN, 0, "104", "Jazz", NULL);
    struct ymsg_packet p;
    char v[16];
    uint32_t st[3];
    size_t members = 0;
    for (int k = 0; k < 3; k++) {
        assert_true(fake_next(c[0], &p));
        st[k] = p.hdr.status;
        members += ymsg_count(&p, 109);
        assert_string_equal(get(&p, 108, v, sizeof v), k == 0 ? "40" : k == 1 ? "15" : "10");
    }
    assert_false(fake_next(c[0], &p));
    assert_int_equal(st[0], 5);
    assert_int_equal(st[1], 5);
    assert_int_equal(st[2], 1);
    assert_int_equal(members, 40);
    /* nobody spoke for chat_idle_timeout: all out, each told with 0xA0 */
    for (int i = 0; i < 40; i++) fake_drain(c[i]);
    chat_sweep(f->srv->chat, rl_now() + (double)f->srv->cfg->chat_idle_timeout + 1);
    assert_int_equal(chat_member_count(f->srv->chat), 0);
    int told = 0; /* exit notices of the members swept before it, and its own 0xA0 */
    while (fake_next(c[7], &p)) told += p.hdr.service == YMSG_SVC_CHATLOGOUT;
    assert_int_equal(told, 1);
    for (int i = 0; i < 40; i++) bye(c[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test_setup_teardown(test_join_talk_and_session_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_list_split_and_idle_sweep, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
