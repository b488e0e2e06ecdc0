/* Unit tests of the sans-IO client session: conferences, chat rooms (lib/ymsg/session_conf.c) and file
 * transfer (lib/ymsg/session_xfer.c).  Every packet the session builds is checked pair by pair, in
 * order, against the key set of the real client function it copies (libyahoo2 1.0.0 libyahoo2.c,
 * libpurple 2.10.9 yahoochat.c / yahoo_filexfer.c; docs/CLIENT_PROTOCOL.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session_fixture.h"

/* The next packet sent must be service/status with exactly these pairs (key, value, ..., NULL). */
static void expect_pkt(struct ymsg_session *s, uint16_t svc, uint32_t status, ...)
{
    uint8_t buf[8192];
    struct ymsg_packet pkt;
    assert_true(take(s, &pkt, buf, sizeof buf));
    assert_int_equal(pkt.hdr.service, svc);
    assert_int_equal(pkt.hdr.status, status);
    va_list ap;
    va_start(ap, status);
    size_t pos = 0;
    struct ymsg_kv kv;
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        assert_true(ymsg_next(&pkt, &pos, &kv));
        char got[4096];
        snprintf(got, sizeof got, "%u=%.*s", kv.key, (int)kv.len, (const char *)kv.val);
        char want[4096];
        snprintf(want, sizeof want, "%s=%s", k, v);
        assert_string_equal(got, want);
    }
    va_end(ap);
    assert_false(ymsg_next(&pkt, &pos, &kv)); /* nothing more */
}

static void expect_nothing(struct ymsg_session *s)
{
    uint8_t buf[8192];
    struct ymsg_packet pkt;
    assert_false(take(s, &pkt, buf, sizeof buf));
}

static void test_conf_create_and_talk(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    const char *who[] = {"bob", "carol"};
    char room[YMSG_ROOM_MAX];
    assert_int_equal(ymsg_session_conf_create(s, NULL, who, 2, "Join my conference", room, sizeof room), 0);
    assert_string_equal(room, "alice-1");
    /* libyahoo2 yahoo_conference_invite */
    expect_pkt(s, YMSG_SVC_CONFINVITE, 0, "1", "alice", "50", "alice", "52", "bob", "52", "carol", "57", "alice-1",
               "58", "Join my conference", "13", "0", NULL);
    const struct ymsg_conf *c = ymsg_session_find_conf(s, "alice-1");
    assert_non_null(c);
    assert_true(c->joined);
    assert_int_equal(c->nmembers, 1);
    /* bob joins, carol declines */
    feed(s, YMSG_SVC_CONFLOGON, 1, "1", "alice", "53", "bob", "57", "alice-1", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_CONF_JOIN);
    assert_string_equal(ev->who, "bob");
    assert_string_equal(ev->room, "alice-1");
    feed(s, YMSG_SVC_CONFDECLINE, 1, "1", "alice", "54", "carol", "57", "alice-1", "14", "busy", NULL);
    ev = next_of(s, YMSG_EV_CONF_DECLINE);
    assert_string_equal(ev->who, "carol");
    assert_string_equal(ev->text, "busy");
    assert_int_equal(c->nmembers, 2);
    /* add-invite (libpurple yahoo_conf_invite): 52+53 per member but us */
    assert_int_equal(ymsg_session_conf_invite(s, "alice-1", "dave", "come"), 0);
    expect_pkt(s, YMSG_SVC_CONFADDINVITE, 0, "1", "alice", "51", "dave", "57", "alice-1", "58", "come", "13", "0",
               "52", "bob", "53", "bob", NULL);
    /* message (libyahoo2 yahoo_conference_message): 53 = us first, then the others */
    assert_int_equal(ymsg_session_conf_send(s, "alice-1", "hi all"), 0);
    expect_pkt(s, YMSG_SVC_CONFMSG, 0, "1", "alice", "53", "alice", "53", "bob", "57", "alice-1", "14", "hi all",
               "97", "1", NULL);
    feed(s, YMSG_SVC_CONFMSG, 1, "1", "alice", "3", "bob", "57", "alice-1", "14", "yo \xc3\xa9", "97", "1", NULL);
    ev = next_of(s, YMSG_EV_CONF_MESSAGE);
    assert_string_equal(ev->who, "bob");
    assert_string_equal(ev->text, "yo \xc3\xa9");
    /* bob leaves */
    feed(s, YMSG_SVC_CONFLOGOFF, 1, "1", "alice", "56", "bob", "57", "alice-1", NULL);
    ev = next_of(s, YMSG_EV_CONF_LEAVE);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(c->nmembers, 1);
    /* we leave (libyahoo2 yahoo_conference_logoff) */
    assert_int_equal(ymsg_session_conf_leave(s, "alice-1"), 0);
    expect_pkt(s, YMSG_SVC_CONFLOGOFF, 0, "1", "alice", "3", "alice", "57", "alice-1", NULL);
    assert_null(ymsg_session_find_conf(s, "alice-1"));
    assert_int_equal(ymsg_session_conf_send(s, "alice-1", "x"), YMSG_ENOENT);
    /* a message for a conference we are not in is dropped */
    feed(s, YMSG_SVC_CONFMSG, 1, "3", "bob", "57", "alice-1", "14", "late", NULL);
    assert_null(ymsg_session_next_event(s));
    ymsg_session_free(s);
}

static void test_conf_invited(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    /* as libpurple parses it: 50 inviter, 53 joined members, 52 invited, 58 text */
    feed(s, YMSG_SVC_CONFINVITE, 1, "1", "alice", "57", "bob-3", "50", "bob", "52", "alice", "53", "carol", "58",
         "Join my conference...", "13", "0", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_CONF_INVITE);
    assert_string_equal(ev->who, "bob");
    assert_string_equal(ev->room, "bob-3");
    assert_string_equal(ev->text, "Join my conference...");
    assert_string_equal(ev->list, "bob\ncarol");
    const struct ymsg_conf *c = ymsg_session_find_conf(s, "bob-3");
    assert_non_null(c);
    assert_false(c->joined);
    assert_string_equal(c->inviter, "bob");
    /* not joined: no talking, no leaving */
    assert_int_equal(ymsg_session_conf_send(s, "bob-3", "x"), YMSG_ESTATE);
    assert_int_equal(ymsg_session_conf_leave(s, "bob-3"), YMSG_ESTATE);
    /* a second invitation to the same conference is ignored (libpurple) */
    feed(s, YMSG_SVC_CONFADDINVITE, 1, "57", "bob-3", "50", "carol", "58", "again", NULL);
    assert_null(ymsg_session_next_event(s));
    /* status 11: somebody else was invited */
    feed(s, YMSG_SVC_CONFINVITE, 11, "57", "zed-1", "50", "zed", "51", "x", NULL);
    assert_null(ymsg_session_next_event(s));
    assert_null(ymsg_session_find_conf(s, "zed-1"));
    /* join (libpurple yahoo_conf_join): 1 3=us 57 then 3 per member */
    assert_int_equal(ymsg_session_conf_join(s, "bob-3"), 0);
    expect_pkt(s, YMSG_SVC_CONFLOGON, 0, "1", "alice", "3", "alice", "57", "bob-3", "3", "bob", "3", "carol", NULL);
    assert_true(c->joined);
    assert_int_equal(ymsg_session_conf_join(s, "bob-3"), YMSG_ESTATE);
    /* our own join echoed: no event */
    feed(s, YMSG_SVC_CONFLOGON, 1, "53", "alice", "57", "bob-3", NULL);
    assert_null(ymsg_session_next_event(s));
    /* decline another one (libyahoo2 yahoo_conference_decline) */
    feed(s, YMSG_SVC_CONFADDINVITE, 1, "57", "carol-9", "50", "carol", "58", "hey", NULL);
    next_of(s, YMSG_EV_CONF_INVITE);
    assert_int_equal(ymsg_session_conf_decline(s, "carol-9", "no thanks"), 0);
    expect_pkt(s, YMSG_SVC_CONFDECLINE, 0, "1", "alice", "3", "alice", "3", "carol", "57", "carol-9", "14",
               "no thanks", NULL);
    assert_null(ymsg_session_find_conf(s, "carol-9"));
    /* an invite that failed (libyahoo2: status 2, 55 = who) */
    feed(s, YMSG_SVC_CONFINVITE, 2, "57", "bob-3", "55", "dave", "16", "dave is offline", NULL);
    ev = next_of(s, YMSG_EV_CONF_FAILED);
    assert_string_equal(ev->who, "dave");
    assert_string_equal(ev->text, "dave is offline");
    /* our new conference's name is taken (ymsgd: 0x18 with 16 only): it is gone for us */
    const char *who[] = {"bob"};
    assert_int_equal(ymsg_session_conf_create(s, "taken", who, 1, "", NULL, 0), 0);
    feed(s, YMSG_SVC_CONFINVITE, 1, "1", "alice", "57", "taken", "16", "conference name in use", NULL);
    ev = next_of(s, YMSG_EV_CONF_FAILED);
    assert_string_equal(ev->text, "conference name in use");
    assert_null(ymsg_session_find_conf(s, "taken"));
    ymsg_session_free(s);
}

/* Back in conferences after a reconnect (the web messenger): 0x19 with the members we knew
 * (libpurple yahoo_conf_join), then 0x18 to them (libyahoo2 yahoo_conference_invite). */
static void test_conf_rejoin(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    const char *who[] = {"bob", "alice", "carol"};
    assert_int_equal(ymsg_session_conf_rejoin(s, "bob-3", who, 3), 0);
    expect_pkt(s, YMSG_SVC_CONFLOGON, 0, "1", "alice", "3", "alice", "57", "bob-3", "3", "bob", "3", "carol", NULL);
    expect_pkt(s, YMSG_SVC_CONFINVITE, 0, "1", "alice", "50", "alice", "52", "bob", "52", "carol", "57", "bob-3", "58",
               "", "13", "0", NULL);
    expect_nothing(s);
    const struct ymsg_conf *c = ymsg_session_find_conf(s, "bob-3");
    assert_non_null(c);
    assert_true(c->joined);
    assert_int_equal(c->nmembers, 1); /* only what the server tells us: members come with their joins */
    assert_int_equal(ymsg_session_conf_rejoin(s, "bob-3", who, 3), YMSG_ESTATE);
    /* bob is back too: his join notice lists him */
    feed(s, YMSG_SVC_CONFLOGON, 1, "53", "bob", "57", "bob-3", NULL);
    assert_string_equal(next_of(s, YMSG_EV_CONF_JOIN)->who, "bob");
    assert_int_equal(c->nmembers, 2);
    /* alone in it before: no members to invite, the 0x19 only */
    assert_int_equal(ymsg_session_conf_rejoin(s, "solo", NULL, 0), 0);
    expect_pkt(s, YMSG_SVC_CONFLOGON, 0, "1", "alice", "3", "alice", "57", "solo", NULL);
    expect_nothing(s);
    /* ymsgd refuses the 0x18 when it goes on without us: it is forgotten, a later rejoin starts over */
    assert_int_equal(ymsg_session_conf_rejoin(s, "gone", who, 1), 0);
    drain(s);
    feed(s, YMSG_SVC_CONFINVITE, 1, "1", "alice", "57", "gone", "16", "conference name in use", NULL);
    assert_string_equal(next_of(s, YMSG_EV_CONF_FAILED)->text, "conference name in use");
    assert_null(ymsg_session_find_conf(s, "gone"));
    /* invited meanwhile: an ordinary join (0x19 with the inviter's members) */
    feed(s, YMSG_SVC_CONFINVITE, 1, "1", "alice", "57", "gone", "50", "bob", "52", "alice", "58", "back?", "13", "0", NULL);
    next_of(s, YMSG_EV_CONF_INVITE);
    assert_int_equal(ymsg_session_conf_rejoin(s, "gone", who, 3), 0);
    expect_pkt(s, YMSG_SVC_CONFLOGON, 0, "1", "alice", "3", "alice", "57", "gone", "3", "bob", NULL);
    expect_nothing(s);
    /* bad input changes nothing */
    const char *bad[] = {"bob", ""};
    assert_int_equal(ymsg_session_conf_rejoin(s, "x", bad, 2), YMSG_EINVAL);
    assert_int_equal(ymsg_session_conf_rejoin(s, "", who, 1), YMSG_EINVAL);
    assert_int_equal(ymsg_session_conf_rejoin(s, "x", NULL, 2), YMSG_EINVAL);
    expect_nothing(s);
    assert_null(ymsg_session_find_conf(s, "x"));
    ymsg_session_free(s);
}

static void test_conf_bad_input(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    const char *who[] = {"bob"};
    const char *bad[] = {"bo b"};
    char room[YMSG_ROOM_MAX];
    assert_int_equal(ymsg_session_conf_create(s, "a\nb", who, 1, "", room, sizeof room), YMSG_EINVAL);
    assert_int_equal(ymsg_session_conf_create(s, "r", bad, 1, "", room, sizeof room), YMSG_EINVAL);
    assert_int_equal(ymsg_session_conf_create(s, "r", who, 0, "", room, sizeof room), YMSG_EINVAL);
    assert_int_equal(ymsg_session_conf_create(s, "r", who, 1, "x\xc0\x80y", room, sizeof room), YMSG_EINVAL);
    assert_int_equal(ymsg_session_conf_create(s, "r", who, 1, "", room, 1), YMSG_EINVAL);
    expect_nothing(s);
    assert_int_equal(ymsg_session_conf_count(s), 0);
    /* the conference cap (16 by default) */
    for (int i = 0; i < 16; i++)
        assert_int_equal(ymsg_session_conf_create(s, NULL, who, 1, "", room, sizeof room), 0);
    assert_int_equal(ymsg_session_conf_create(s, NULL, who, 1, "", room, sizeof room), YMSG_ENOSPC);
    assert_int_equal(ymsg_session_conf_count(s), 16);
    drain(s);
    /* invitations beyond the cap are dropped, not fatal */
    feed(s, YMSG_SVC_CONFINVITE, 1, "57", "x-1", "50", "bob", "58", "m", NULL);
    assert_null(ymsg_session_next_event(s));
    /* malformed ones are ignored */
    feed(s, YMSG_SVC_CONFINVITE, 1, "50", "bob", NULL);
    feed(s, YMSG_SVC_CONFLOGON, 1, "57", "alice-1", "53", "b c", NULL);
    feed(s, YMSG_SVC_CONFMSG, 1, "57", "alice-1", "3", "bob", NULL);
    assert_null(ymsg_session_next_event(s));
    ymsg_session_free(s);
    /* not logged in */
    s = new_session(0);
    assert_int_equal(ymsg_session_conf_create(s, NULL, who, 1, "", room, sizeof room), YMSG_ESTATE);
    assert_int_equal(ymsg_session_room_join(s, "Linux", NULL), YMSG_ESTATE);
    char id[YMSG_XFER_ID_MAX];
    assert_int_equal(ymsg_session_file_send(s, "bob", "a.txt", 3, id), YMSG_ESTATE);
    ymsg_session_free(s);
}

static void test_room(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    assert_int_equal(ymsg_session_room_send(s, "x", 0), YMSG_ESTATE);
    assert_int_equal(ymsg_session_room_join(s, "Linux, FreeBSD, Solaris:1", "1600326591"), 0);
    /* libpurple yahoo_chat_online */
    expect_pkt(s, YMSG_SVC_CHATONLINE, 0, "109", "alice", "1", "alice", "6", "abcde", "98", "us", "135",
               "9.0.0.2162", NULL);
    expect_nothing(s);
    feed(s, YMSG_SVC_CHATONLINE, 1, "1", "alice", NULL);
    /* then libpurple yahoo_chat_join */
    expect_pkt(s, YMSG_SVC_CHATJOIN, 0, "1", "alice", "104", "Linux, FreeBSD, Solaris:1", "62", "2", "129",
               "1600326591", NULL);
    feed(s, YMSG_SVC_CHATJOIN, 1, "104", "LINUX, FreeBSD, Solaris:1", "105", "Welcome", "108", "3", "129",
         "1600326591", "130", "xyz", "109", "bob", "110", "0", "113", "0", "109", "carol", "109", "alice", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_ROOM_JOINED);
    assert_string_equal(ev->room, "LINUX, FreeBSD, Solaris:1"); /* the server's spelling */
    assert_string_equal(ev->text, "Welcome");
    assert_string_equal(ev->list, "bob\ncarol\nalice");
    assert_string_equal(ymsg_session_room(s), "LINUX, FreeBSD, Solaris:1");
    assert_int_equal(ymsg_session_room_member_count(s), 3);
    /* someone enters, talks, emotes, leaves */
    feed(s, YMSG_SVC_CHATJOIN, 1, "104", "LINUX, FreeBSD, Solaris:1", "109", "dave", NULL);
    ev = next_of(s, YMSG_EV_ROOM_ENTER);
    assert_string_equal(ev->who, "dave");
    assert_int_equal(ymsg_session_room_member_count(s), 4);
    feed(s, YMSG_SVC_COMMENT, 1, "104", "LINUX, FreeBSD, Solaris:1", "109", "dave", "117", "hello", "124", "1", NULL);
    ev = next_of(s, YMSG_EV_ROOM_MESSAGE);
    assert_string_equal(ev->who, "dave");
    assert_string_equal(ev->text, "hello");
    assert_int_equal(ev->on, 0);
    feed(s, YMSG_SVC_COMMENT, 1, "104", "LINUX, FreeBSD, Solaris:1", "109", "dave", "117", "waves", "124", "2", NULL);
    ev = next_of(s, YMSG_EV_ROOM_MESSAGE);
    assert_int_equal(ev->on, 1);
    feed(s, YMSG_SVC_CHATEXIT, 1, "104", "LINUX, FreeBSD, Solaris:1", "109", "dave", NULL);
    ev = next_of(s, YMSG_EV_ROOM_EXIT);
    assert_string_equal(ev->who, "dave");
    assert_int_equal(ymsg_session_room_member_count(s), 3);
    /* a message for another room is dropped */
    feed(s, YMSG_SVC_COMMENT, 1, "104", "Other", "109", "dave", "117", "x", NULL);
    assert_null(ymsg_session_next_event(s));
    /* we talk (libpurple yahoo_chat_send) and invite (yahoo_chat_invite) */
    assert_int_equal(ymsg_session_room_send(s, "hi", 0), 0);
    expect_pkt(s, YMSG_SVC_COMMENT, 0, "1", "alice", "104", "LINUX, FreeBSD, Solaris:1", "117", "hi", "124", "1", "97",
               "1", NULL);
    assert_int_equal(ymsg_session_room_send(s, "grins", 1), 0);
    expect_pkt(s, YMSG_SVC_COMMENT, 0, "1", "alice", "104", "LINUX, FreeBSD, Solaris:1", "117", "grins", "124", "2",
               "97", "1", NULL);
    assert_int_equal(ymsg_session_room_invite(s, "eve", "come"), 0);
    expect_pkt(s, YMSG_SVC_CHATADDINVITE, 0, "1", "alice", "118", "eve", "104", "LINUX, FreeBSD, Solaris:1", "117",
               "come", "129", "0", NULL);
    /* the hourly ping is a chat ping now (libpurple yahoo_keepalive) */
    ymsg_session_tick(s, 4000000);
    uint8_t buf[4096];
    struct ymsg_packet pkt;
    int saw_chatping = 0;
    while (take(s, &pkt, buf, sizeof buf)) {
        assert_int_not_equal(pkt.hdr.service, YMSG_SVC_PING);
        if (pkt.hdr.service == YMSG_SVC_CHATPING) {
            expect_kv(&pkt, 109, "alice");
            saw_chatping = 1;
        }
    }
    assert_true(saw_chatping);
    /* an invitation to a room */
    feed(s, YMSG_SVC_CHATADDINVITE, 1, "104", "Cooking:2", "117", "join us", "119", "frank", "118", "alice", "129",
         "0", NULL);
    ev = next_of(s, YMSG_EV_ROOM_INVITE);
    assert_string_equal(ev->who, "frank");
    assert_string_equal(ev->room, "Cooking:2");
    assert_string_equal(ev->text, "join us");
    /* switching rooms: exit the old one, join the new one (already chat-online) */
    assert_int_equal(ymsg_session_room_join(s, "Cooking:2", NULL), 0);
    expect_pkt(s, YMSG_SVC_CHATEXIT, 0, "104", "LINUX, FreeBSD, Solaris:1", "109", "alice", "108", "1", "112", "0",
               NULL);
    expect_pkt(s, YMSG_SVC_CHATJOIN, 0, "1", "alice", "104", "Cooking:2", "62", "2", "129", "0", NULL);
    /* the join fails (libpurple: status -1, first value -15 = full) */
    feed(s, YMSG_SVC_CHATJOIN, YMSG_PKT_ERROR, "114", "-15", NULL);
    ev = next_of(s, YMSG_EV_ROOM_FAILED);
    assert_int_equal(ev->code, -15);
    assert_string_equal(ymsg_session_room(s), "");
    /* join again, then leave: CHATEXIT + CHATLOGOUT (libpurple yahoo_chat_leave with logout) */
    assert_int_equal(ymsg_session_room_join(s, "Cooking:2", NULL), 0);
    drain(s);
    feed(s, YMSG_SVC_CHATJOIN, 1, "104", "Cooking:2", "109", "alice", NULL);
    next_of(s, YMSG_EV_ROOM_JOINED);
    assert_int_equal(ymsg_session_room_leave(s), 0);
    expect_pkt(s, YMSG_SVC_CHATEXIT, 0, "104", "Cooking:2", "109", "alice", "108", "1", "112", "0", NULL);
    expect_pkt(s, YMSG_SVC_CHATLOGOUT, 0, "1", "alice", NULL);
    assert_int_equal(ymsg_session_room_leave(s), YMSG_ESTATE);
    /* back to the plain ping */
    ymsg_session_tick(s, 8000000);
    int saw_ping = 0;
    while (take(s, &pkt, buf, sizeof buf))
        saw_ping |= pkt.hdr.service == YMSG_SVC_PING;
    assert_true(saw_ping);
    ymsg_session_free(s);
}

static void test_room_logout_and_caps(void **st)
{
    (void)st;
    struct ymsg_session_config cfg;
    ymsg_session_config_default(&cfg);
    struct ymsg_session *s = logged_in(0);
    drain(s);
    assert_int_equal(ymsg_session_room_join(s, "R", NULL), 0);
    feed(s, YMSG_SVC_CHATONLINE, 1, NULL);
    drain(s);
    /* a join that does not list us before ours was confirmed is not our join */
    feed(s, YMSG_SVC_CHATJOIN, 1, "104", "R", "109", "bob", NULL);
    assert_null(ymsg_session_next_event(s));
    feed(s, YMSG_SVC_CHATJOIN, 1, "104", "R", "109", "bob", "109", "alice", NULL);
    next_of(s, YMSG_EV_ROOM_JOINED);
    /* the same member twice is listed once */
    feed(s, YMSG_SVC_CHATJOIN, 1, "104", "R", "109", "bob", NULL);
    assert_null(ymsg_session_next_event(s));
    assert_int_equal(ymsg_session_room_member_count(s), 2);
    /* a logout about someone else is not ours */
    feed(s, YMSG_SVC_CHATLOGOUT, 1, "1", "bob", NULL);
    assert_null(ymsg_session_next_event(s));
    feed(s, YMSG_SVC_CHATLOGOUT, 1, "1", "alice", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_ROOM_LOGOUT);
    assert_string_equal(ev->room, "R");
    assert_string_equal(ymsg_session_room(s), "");
    assert_int_equal(ymsg_session_room_member_count(s), 0);
    assert_int_equal(ymsg_session_room_join(s, "bad\nname", NULL), YMSG_EINVAL);
    /* a long member list comes in several packets (status 5, then 1: docs/CHAT_ROOMS.md): one join */
    assert_int_equal(ymsg_session_room_join(s, "Big", NULL), 0);
    feed(s, YMSG_SVC_CHATONLINE, 1, NULL);
    drain(s);
    feed(s, YMSG_SVC_CHATJOIN, 5, "1", "alice", "104", "Big", "105", "t", "108", "3", "130", "x", "109", "m1", "110",
         "0", "113", "0", "109", "m2", NULL);
    assert_null(ymsg_session_next_event(s));
    feed(s, YMSG_SVC_CHATJOIN, 1, "1", "alice", "104", "Big", "108", "1", "130", "x", "109", "alice", NULL);
    ev = next_of(s, YMSG_EV_ROOM_JOINED);
    assert_string_equal(ev->list, "m1\nm2\nalice");
    assert_null(ymsg_session_next_event(s)); /* no "entered" for members of the list */
    ymsg_session_free(s);
}

static void test_file_send(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    char id[YMSG_XFER_ID_MAX];
    assert_int_equal(ymsg_session_file_send(s, "bob", "photo.jpg", 12345, id), 0);
    assert_int_equal(strlen(id), 24);
    assert_string_equal(id + 22, "$$");
    /* libpurple yahoo_xfer_init_15 (send) */
    expect_pkt(s, YMSG_SVC_FILETRANS_15, 0, "1", "alice", "5", "bob", "265", id, "222", "1", "266", "1", "302", "268",
               "300", "268", "27", "photo.jpg", "28", "12345", "301", "268", "303", "268", NULL);
    char id2[YMSG_XFER_ID_MAX];
    assert_int_equal(ymsg_session_file_send(s, "bob", "b.bin", 1, id2), 0);
    assert_string_not_equal(id, id2);
    drain(s);
    /* a packet about it from somebody else is ignored */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "mallory", "5", "alice", "265", id, "222", "3", NULL);
    expect_nothing(s);
    /* bob accepts: we announce the relay (libpurple yahoo_xfer_dns_connected_15) */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "5", "alice", "265", id, "222", "3", NULL);
    expect_pkt(s, YMSG_SVC_FILETRANS_INFO_15, 0, "1", "alice", "5", "bob", "265", id, "27", "photo.jpg", "249", "3",
               "250", "relay.msg.yahoo.com", NULL);
    /* the server relays bob's 0xDE with the token (and its relay address): upload */
    feed(s, YMSG_SVC_FILETRANS_ACC_15, 1, "4", "bob", "5", "alice", "265", id, "27", "photo.jpg", "249", "3", "251",
         "tok+en/1==", "250", "127.0.0.1:8080", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_FILE_UPLOAD);
    assert_string_equal(ev->xfer, id);
    assert_string_equal(ev->who, "bob");
    assert_int_equal(ev->size, 12345);
    assert_string_equal(ev->text, "http://127.0.0.1:8080/relay?token=tok%2Ben%2F1%3D%3D&sender=alice&recver=bob");
    const struct ymsg_xfer *x = ymsg_session_find_xfer(s, id);
    assert_int_equal(x->state, YMSG_XF_MOVING);
    assert_int_equal(ymsg_session_file_progress(s, id, 100), 0);
    assert_int_equal(x->done, 100);
    assert_int_equal(ymsg_session_file_done(s, id, 0), 0);
    ev = next_of(s, YMSG_EV_FILE_DONE);
    assert_int_equal(ev->code, 0);
    assert_int_equal(ev->on, 1);
    assert_null(ymsg_session_find_xfer(s, id));
    expect_nothing(s);
    /* the second one is declined */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "5", "alice", "265", id2, "222", "4", NULL);
    ev = next_of(s, YMSG_EV_FILE_DECLINED);
    assert_string_equal(ev->xfer, id2);
    assert_int_equal(ymsg_session_xfer_count(s), 0);
    /* the server refuses an offer: 222=2 with the reason in 16 */
    assert_int_equal(ymsg_session_file_send(s, "bob", "huge.iso", 1ull << 40, id2), 0);
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "5", "alice", "265", id2, "222", "2", "16", "too large", NULL);
    ev = next_of(s, YMSG_EV_FILE_CANCELLED);
    assert_string_equal(ev->text, "too large");
    drain(s);
    /* a third one is withdrawn before an answer: 222=2 (libpurple yahoo_xfer_cancel_send) */
    assert_int_equal(ymsg_session_file_send(s, "bob", "c.txt", 5, id), 0);
    drain(s);
    assert_int_equal(ymsg_session_file_cancel(s, id), 0);
    expect_pkt(s, YMSG_SVC_FILETRANS_15, 0, "1", "alice", "5", "bob", "265", id, "222", "2", NULL);
    /* a fourth fails while uploading: 0xDD status -1 66=-1 */
    assert_int_equal(ymsg_session_file_send(s, "bob", "d.txt", 5, id), 0);
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", id, "222", "3", NULL);
    feed(s, YMSG_SVC_FILETRANS_ACC_15, 1, "4", "bob", "265", id, "249", "3", "251", "T", NULL);
    ev = next_of(s, YMSG_EV_FILE_UPLOAD);
    assert_string_equal(ev->text, "http://relay.msg.yahoo.com/relay?token=T&sender=alice&recver=bob");
    drain(s);
    assert_int_equal(ymsg_session_file_done(s, id, YMSG_EPROTO), 0);
    expect_pkt(s, YMSG_SVC_FILETRANS_INFO_15, YMSG_PKT_ERROR, "1", "alice", "5", "bob", "265", id, "66", "-1", NULL);
    ev = next_of(s, YMSG_EV_FILE_DONE);
    assert_int_equal(ev->code, YMSG_EPROTO);
    /* bad arguments */
    assert_int_equal(ymsg_session_file_send(s, "bob", "../etc/passwd", 5, id), YMSG_EINVAL);
    assert_int_equal(ymsg_session_file_send(s, "bob", "", 5, id), YMSG_EINVAL);
    assert_int_equal(ymsg_session_file_send(s, "alice", "x", 5, id), YMSG_EINVAL);
    assert_int_equal(ymsg_session_file_done(s, "nope", 0), YMSG_ENOENT);
    ymsg_session_free(s);
}

static void test_file_receive(void **st)
{
    (void)st;
    struct ymsg_session *s = logged_in(0);
    drain(s);
    const char *id = "AbCdEfGhIjKlMnOpQrStUv$$";
    /* the offer as libpurple's sender builds it, relayed with 4 = sender */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "5", "alice", "265", id, "222", "1", "266", "1", "302", "268",
         "300", "268", "27", "notes.txt", "28", "42", "301", "268", "303", "268", NULL);
    const struct ymsg_event *ev = next_of(s, YMSG_EV_FILE_OFFER);
    assert_string_equal(ev->who, "bob");
    assert_string_equal(ev->xfer, id);
    assert_string_equal(ev->text, "notes.txt");
    assert_int_equal(ev->size, 42);
    assert_int_equal(ev->on, 0);
    /* accept (libpurple yahoo_xfer_init_15, receive) */
    assert_int_equal(ymsg_session_file_accept(s, id), 0);
    expect_pkt(s, YMSG_SVC_FILETRANS_15, 0, "1", "alice", "5", "bob", "265", id, "222", "3", NULL);
    assert_int_equal(ymsg_session_file_accept(s, id), YMSG_ESTATE);
    /* the sender's 0xDD with the server's token: we answer 0xDE and download */
    feed(s, YMSG_SVC_FILETRANS_INFO_15, 1, "4", "bob", "5", "alice", "265", id, "27", "notes.txt", "249", "3", "250",
         "127.0.0.1:8080", "251", "TOKEN1", NULL);
    expect_pkt(s, YMSG_SVC_FILETRANS_ACC_15, 0, "1", "alice", "5", "bob", "265", id, "27", "notes.txt", "249", "3",
               "251", "TOKEN1", NULL);
    ev = next_of(s, YMSG_EV_FILE_DOWNLOAD);
    assert_string_equal(ev->text, "http://127.0.0.1:8080/relay?token=TOKEN1&sender=bob&recver=alice");
    assert_int_equal(ymsg_session_file_done(s, id, 0), 0);
    ev = next_of(s, YMSG_EV_FILE_DONE);
    assert_int_equal(ev->on, 0);
    /* a second offer, declined (222=4) */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", "X1$$", "222", "1", "27", "a/../../b", "28", "1", NULL);
    ev = next_of(s, YMSG_EV_FILE_OFFER);
    assert_string_equal(ev->text, "a_.._.._b"); /* never a path */
    assert_int_equal(ymsg_session_file_decline(s, "X1$$"), 0);
    expect_pkt(s, YMSG_SVC_FILETRANS_15, 0, "1", "alice", "5", "bob", "265", "X1$$", "222", "4", NULL);
    assert_int_equal(ymsg_session_xfer_count(s), 0);
    /* a third offer, cancelled by the sender */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", "X2$$", "222", "1", "27", "c", "28", "1", NULL);
    next_of(s, YMSG_EV_FILE_OFFER);
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", "X2$$", "222", "2", NULL);
    ev = next_of(s, YMSG_EV_FILE_CANCELLED);
    assert_string_equal(ev->xfer, "X2$$");
    /* a peer-to-peer info (249=1) is refused: 0xDC status -1 66=-1 */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", "X3$$", "222", "1", "27", "d", "28", "1", NULL);
    next_of(s, YMSG_EV_FILE_OFFER);
    assert_int_equal(ymsg_session_file_accept(s, "X3$$"), 0);
    drain(s);
    feed(s, YMSG_SVC_FILETRANS_INFO_15, 1, "4", "bob", "265", "X3$$", "249", "1", "250", "10.0.0.1", NULL);
    expect_pkt(s, YMSG_SVC_FILETRANS_15, YMSG_PKT_ERROR, "1", "alice", "5", "bob", "265", "X3$$", "66", "-1", NULL);
    next_of(s, YMSG_EV_FILE_CANCELLED);
    /* offers without a name, an id or from ourselves are ignored; the transfer cap holds */
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", "X4$$", "222", "1", NULL);
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "222", "1", "27", "e", NULL);
    feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "alice", "265", "X5$$", "222", "1", "27", "e", NULL);
    assert_null(ymsg_session_next_event(s));
    for (int i = 0; i < 20; i++) {
        char xid[16];
        snprintf(xid, sizeof xid, "Y%d$$", i);
        feed(s, YMSG_SVC_FILETRANS_15, 1, "4", "bob", "265", xid, "222", "1", "27", "f", "28", "1", NULL);
    }
    assert_int_equal(ymsg_session_xfer_count(s), 16);
    ymsg_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_create_and_talk), cmocka_unit_test(test_conf_invited),
        cmocka_unit_test(test_conf_bad_input),       cmocka_unit_test(test_conf_rejoin),       cmocka_unit_test(test_room),
        cmocka_unit_test(test_room_logout_and_caps), cmocka_unit_test(test_file_send),
        cmocka_unit_test(test_file_receive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
