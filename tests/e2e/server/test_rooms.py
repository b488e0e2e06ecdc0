#!/usr/bin/env python3
"""Chat rooms end to end (issue 14; docs/CHAT_ROOMS.md): usage test_rooms.py YMSGD [TEST...]

Raw clients send the key sets the real clients send (libpurple 2.10.9 yahoochat.c, libyahoo2 1.0.0
libyahoo2.c, OpenYMSG legacy Session.java), in their order."""
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Client, Server, http_get, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
ONLINE, GOTO, JOIN, LEAVE, EXIT, INVITE, LOGOUT, PING, COMMENT = 0x96, 0x97, 0x98, 0x99, 0x9B, 0x9D, 0xA0, 0xA1, 0xA8
ERR = 0xFFFFFFFF
ROOM_SERVICES = (ONLINE, GOTO, JOIN, LEAVE, EXIT, INVITE, LOGOUT, PING, COMMENT)
# Many logins from one address in a few seconds: the per-address login throttle is not under test here.
FAST = ["--login-rate", "1000", "--login-burst", "1000", "--conn-rate", "1000", "--conn-burst", "1000"]


# ---- what each client sends (docs/CHAT_ROOMS.md §1) ---------------------------------------------

def pid_online(c):  # yahoo_chat_online
    c.send(ONLINE, [(109, c.user), (1, c.user), (6, "abcde"), (98, "us"), (135, "9.0.0.2162")])


def pid_join(c, room, rid="0"):  # yahoo_chat_join
    c.send(JOIN, [(1, c.user), (104, room), (62, "2"), (129, rid)])


def pid_say(c, room, text, me=False):  # yahoo_chat_send
    c.send(COMMENT, [(1, c.user), (104, room), (117, text), (124, "2" if me else "1"), (97, "1")])


def pid_leave(c, room):  # yahoo_chat_leave(logout=TRUE): 0x9B then 0xA0
    c.send(EXIT, [(104, room), (109, c.user), (108, "1"), (112, "0")])
    c.send(LOGOUT, [(1, c.user)])


def ly2_logon(c, room, rid="0"):  # yahoo_chat_logon: 0x96 and 0x98 back to back
    c.send(ONLINE, [(1, c.user), (109, c.user), (6, "abcde")])
    c.send(JOIN, [(1, c.user), (104, room), (129, rid), (62, "2")])


def ly2_say(c, room, text):  # yahoo_chat_message(msgtype 1, utf8 0), sample client CHM
    c.send(COMMENT, [(1, c.user), (104, room), (117, text), (124, "1")])


def ly2_logoff(c):  # yahoo_chat_logoff, sample client CHX
    c.send(LOGOUT, [(1, c.user)])


def oy_connect(c):  # transmitChatConnect
    c.send(ONLINE, [(109, c.user), (1, c.user), (6, "abcde")])


def oy_join(c, room, rid="0"):  # transmitChatJoin: room is a lobby's "room:lobby" (YahooChatLobby.getNetworkName)
    c.send(JOIN, [(1, c.user), (104, room), (129, rid), (62, "2")])


def oy_say(c, room, text):  # transmitChatMsg
    c.send(COMMENT, [(1, c.user), (104, room), (117, text), (124, "1")])


def oy_disconnect(c, room):  # transmitChatDisconnect
    c.send(LOGOUT, [(104, room), (109, c.user)])


# ---- helpers ------------------------------------------------------------------------------------

def users(srv, *names):
    for n in names:
        srv.add_user(n, "pw-" + n)
    return [srv.login(n, "pw-" + n) for n in names]


def room_packets(c, timeout=0.5):
    """Room packets that arrive within timeout (presence and the like skipped)."""
    return [p for p in c.drain(timeout) if p.service in ROOM_SERVICES]


def join_reply(c, timeout=3.0):
    """The whole join reply: packets up to the one with status 1; returns (packets, members)."""
    got = []
    while True:
        p = c.expect(JOIN, timeout=timeout, skip=(ONLINE, 0xF0, 0x01, 0x02, 0x03, 0x04, 0xC6))
        got.append(p)
        assert p.status in (1, 5), p
        if p.status == 1:
            break
    members = [v.decode() for p in got for k, v in p.pairs if k == 109]
    return got, members


def expect_only(c, service, timeout=1.0):
    """Exactly one room packet arrives within timeout, of this service."""
    got = room_packets(c, timeout)
    assert len(got) == 1 and got[0].service == service, got
    return got[0]


def befriend(a, b):
    """a adds b, b accepts (both online)."""
    a.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, a.user), (302, "319"), (300, "319"), (7, b.user),
                  (334, "0"), (301, "319"), (303, "319")])
    a.expect(0x83)
    b.expect(0xD6)
    b.send(0xD6, [(1, b.user), (5, a.user), (13, "1"), (334, "0")])
    a.drain(0.3)
    b.drain(0.3)


# ---- scenarios ----------------------------------------------------------------------------------

def test_room_three_users_join_talk_leave():
    """libpurple, libyahoo2 and OpenYMSG key sets in one room: lists, notices, fan-out, no echo, leave."""
    with Server(YMSGD, FAST) as srv:
        a, b, c = users(srv, "alice", "bob", "carol")
        pid_online(a)
        on = a.expect(ONLINE)
        assert on.status == 1 and on.pairs == [(1, b"alice")], on   # PID needs status 1 to send the join
        pid_join(a, "linux")                                         # names match case-insensitively
        pk, members = join_reply(a)
        first = pk[0]
        assert first.get(104) == "Linux" and first.get(105) == "Penguins welcome", first
        assert first.get(108) == "1" and first.get(129) == "1600100001" and first.get(128) == "1600000001"
        assert first.get(130) is not None and first.get(61) is not None   # LY2 first-join / OY full-join markers
        assert members == ["alice"]
        ly2_logon(b, "Linux")
        assert b.expect(ONLINE).status == 1
        _, members = join_reply(b)
        assert members == ["alice", "bob"], members
        n = expect_only(a, JOIN)
        assert n.status == 1 and n.get(104) == "Linux" and n.get(109) == "bob" and n.get(108) == "1", n
        assert n.get(110) == "0" and n.get(113) == "0"               # OY parses both as integers
        # OpenYMSG joins the room's lobby (the list's <lobby count="1">): every 104 it gets names the lobby
        # (it resolves each against its lobbies) and its join reply has no 105 (read as a captcha)
        oy_connect(c)
        c.expect(ONLINE)
        oy_join(c, "linux:1", "1600100001")
        pk, members = join_reply(c)
        assert members == ["alice", "bob", "carol"]
        first = pk[0]
        assert first.get(104) == "Linux:1" and first.get(105) is None and first.get(108) == "3", first
        assert first.get(61) is not None and first.get(129) == "1600100001" and first.all(113) == ["0"] * 3
        for x in (a, b):
            n = expect_only(x, JOIN)
            assert n.get(109) == "carol" and n.get(104) == "Linux", n         # the others: the room's name
        # bob talks, with a forged sender: everybody else gets it from bob, bob gets no echo
        b.send(COMMENT, [(1, "alice"), (109, "alice"), (104, "Linux"), (117, "hello room"), (124, "1")])
        for x, name in ((a, "Linux"), (c, "Linux:1")):
            m = expect_only(x, COMMENT)
            assert m.status == 1 and m.get(109) == "bob" and m.get(117) == "hello room" and m.get(104) == name, m
            assert m.get(124) == "1" and m.get(97) is None and m.get(1) == x.user   # 1 = the recipient (LY2 "me")
        assert room_packets(b) == []
        pid_say(a, "Linux", "waves", me=True)
        for x in (b, c):
            m = expect_only(x, COMMENT)
            assert m.get(109) == "alice" and m.get(124) == "2" and m.get(97) == "1", m
        oy_say(c, "Linux:1", "hi from java")
        for x in (a, b):
            m = expect_only(x, COMMENT)
            assert m.get(117) == "hi from java" and m.get(104) == "Linux", m
        # a PID member joining again by the lobby is named so from then on; by the name again, back
        pid_join(a, "Linux:1")
        pk, _ = join_reply(a)
        assert pk[0].get(104) == "Linux:1" and pk[0].get(105) is None, pk[0]
        ly2_say(b, "Linux", "renamed?")
        assert a.expect(COMMENT).get(104) == "Linux:1" and c.expect(COMMENT).get(104) == "Linux:1"
        pid_join(a, "Linux")
        pk, _ = join_reply(a)
        assert pk[0].get(104) == "Linux" and pk[0].get(105) == "Penguins welcome", pk[0]
        # a rejoin tells nobody: the expect_only()s below see exactly one room packet each
        # carol leaves the OpenYMSG way (0xA0 104 109): confirmation, the others told
        oy_disconnect(c, "Linux:1")
        lo = expect_only(c, LOGOUT)
        assert lo.status == 1 and lo.get(1) == "carol", lo
        for x in (a, b):
            e = expect_only(x, EXIT)
            assert e.status == 1 and e.get(104) == "Linux" and e.get(109) == "carol", e
        # alice leaves the libpurple way (0x9B then 0xA0)
        pid_leave(a, "Linux")
        assert expect_only(a, LOGOUT).get(1) == "alice"
        assert expect_only(b, EXIT).get(109) == "alice"
        # a message from someone who left is refused and reaches nobody
        pid_say(a, "Linux", "ghost")
        r = expect_only(a, COMMENT)
        assert r.pairs == [(114, b"-1")], r
        assert room_packets(b) == []
        ly2_say(b, "Linux", "alone now")
        assert room_packets(b) == []
        ly2_logoff(b)
        assert expect_only(b, LOGOUT).get(1) == "bob"


def test_room_session_end_removes_member():
    """Closing the socket, a duplicate login and a second 0x98 in another room each take the member out."""
    with Server(YMSGD, FAST) as srv:
        a, b, c = users(srv, "alice", "bob", "carol")
        for x in (a, b, c):
            pid_join(x, "Rock")
            join_reply(x)
        a.drain(0.3)
        b.drain(0.3)
        c.close()                                                   # EOF: carol leaves everywhere
        for x in (a, b):
            assert expect_only(x, EXIT, 2.0).get(109) == "carol"
        b2 = srv.login("bob", "pw-bob")                              # bob signs in elsewhere: the old session goes
        e = expect_only(a, EXIT, 2.0)
        assert e.get(109) == "bob" and e.get(104) == "Rock", e
        pid_join(b2, "Rock")
        _, members = join_reply(b2)
        assert members == ["alice", "bob"], members
        assert expect_only(a, JOIN).get(109) == "bob"
        # chat_max_rooms 1 (default): joining Jazz leaves Rock first
        pid_join(b2, "Jazz")
        _, members = join_reply(b2)
        assert members == ["bob"]
        assert expect_only(a, EXIT).get(109) == "bob"
        b2.close()
        assert room_packets(a, 1.0) == []                            # nobody left in Jazz to tell


def test_room_cap_and_unknown_room():
    with Server(YMSGD, FAST + ["--chat-room-max-members", "2"]) as srv:
        a, b, c = users(srv, "alice", "bob", "carol")
        for x in (a, b):
            pid_join(x, "Jazz")
            join_reply(x)
        pid_join(c, "Jazz")
        r = c.expect(JOIN)
        assert r.status == ERR and r.pairs[0] == (114, b"-15"), r   # PID reads the first pair: "room is full"
        assert room_packets(a) == [] or all(p.service != JOIN for p in room_packets(a))
        pid_join(c, "No Such Room")
        r = c.expect(JOIN)
        assert r.status == ERR and r.pairs == [(114, b"-6")], r     # "Unknown room"
        pid_join(c, "x" * 300)
        assert c.expect(JOIN).pairs == [(114, b"-6")]
        for lobby in ("Jazz:2", "Jazz:", "Jazz:1:1", "Jazz:01", ":1", "No Such Room:1", "Jazz :1"):
            oy_join(c, lobby)                                        # one lobby per room, number 1
            assert c.expect(JOIN).pairs == [(114, b"-6")], lobby
        oy_join(c, "jazz:1")                                         # a lobby of a full room is full too
        assert c.expect(JOIN).pairs[0] == (114, b"-15")
        c.send(JOIN, [(1, "carol")])                                 # no room key at all
        assert c.expect(JOIN).pairs == [(114, b"-6")]
        # a place frees up: the join works
        pid_leave(b, "Jazz")
        expect_only(b, LOGOUT)                                       # processed before carol tries again
        pid_join(c, "jazz")
        _, members = join_reply(c)
        assert members == ["alice", "carol"], members


def test_room_spoofing():
    """Forged senders are rewritten; messages and invites for a room one is not in go nowhere."""
    with Server(YMSGD, FAST) as srv:
        a, b, c = users(srv, "alice", "bob", "mallory")
        for x in (a, b):
            pid_join(x, "Linux")
            join_reply(x)
        a.drain(0.3)
        pid_join(c, "Rock")
        join_reply(c)
        # mallory writes into Linux pretending to be alice, and into a room that does not exist
        c.send(COMMENT, [(1, "alice"), (104, "Linux"), (117, "I am alice"), (124, "1"), (109, "alice")])
        assert c.expect(COMMENT).pairs == [(114, b"-1")]
        c.send(COMMENT, [(1, "mallory"), (104, "Nowhere"), (117, "x"), (124, "1")])
        assert c.expect(COMMENT).pairs == [(114, b"-1")]
        # invites to Linux from outside it: dropped, no answer
        c.send(INVITE, [(1, "alice"), (118, "bob"), (104, "Linux"), (117, "come"), (129, "0")])
        # exits and goto tricks for others do nothing
        c.send(EXIT, [(104, "Linux"), (109, "alice"), (108, "1"), (112, "0")])
        c.send(LOGOUT, [(1, "alice")])
        assert expect_only(c, LOGOUT).get(1) == "mallory"            # its own chat logout, not alice's
        for x in (a, b):
            assert room_packets(x, 0.5) == [], x.user
        # alice is still in Linux and can talk; the forged key 1 is ignored
        a.send(COMMENT, [(1, "bob"), (104, "Linux"), (117, "still here"), (124, "9")])
        m = expect_only(b, COMMENT)
        assert m.get(109) == "alice" and m.get(124) == "1", m        # unknown type becomes 1
        # oversized and empty messages are dropped
        a.send(COMMENT, [(1, "alice"), (104, "Linux"), (117, "y" * 1025), (124, "1")])
        a.send(COMMENT, [(1, "alice"), (104, "Linux"), (117, ""), (124, "1")])
        assert room_packets(b) == []


def test_room_invites():
    with Server(YMSGD, FAST) as srv:
        a, b = users(srv, "alice", "bob")
        pid_join(a, "Europe")
        join_reply(a)
        a.send(INVITE, [(1, "mallory"), (118, "Bob"), (104, "Europe"), (117, "join us"), (129, "0")])
        inv = expect_only(b, INVITE)
        assert inv.status == 1 and inv.get(104) == "Europe" and inv.get(119) == "alice", inv
        assert inv.get(117) == "join us" and inv.get(118) == "bob" and inv.get(129) == "1600100005", inv
        assert room_packets(a) == []                                 # the inviter hears nothing back
        # bob ignores alice: her invites stop reaching him, and she cannot tell
        b.send(0x85, [(1, "bob"), (7, "alice"), (13, "1")])
        b.drain(0.5)
        a.drain(0.3)
        a.send(INVITE, [(1, "alice"), (118, "bob"), (104, "Europe"), (117, "again"), (129, "0")])
        assert room_packets(b) == []
        assert room_packets(a) == []


def test_room_invisibility():
    """docs/CHAT_ROOMS.md §5: a room shows an invisible member to the room only."""
    with Server(YMSGD, FAST) as srv:
        srv.add_user("alice", "pw-alice")
        b, c, d = users(srv, "bob", "carol", "dave")
        a = srv.login("alice", "pw-alice")
        befriend(a, b)
        befriend(b, a)
        a.send(0xC5, [(13, "2")])                                    # alice goes invisible
        b.drain(0.5)
        a.drain(0.3)
        # alice joins a room carol is in: carol sees her; bob (her buddy, outside the room) gets nothing
        pid_join(c, "Linux")
        join_reply(c)
        pid_join(a, "Linux")
        _, members = join_reply(a)
        assert members == ["carol", "alice"], members
        assert expect_only(c, JOIN).get(109) == "alice"
        assert b.drain(0.8) == [], "bob learnt something about invisible alice"
        pid_say(a, "Linux", "psst")
        assert expect_only(c, COMMENT).get(109) == "alice"
        # goto: refused the same way for invisible alice, offline "nobody", and visible dave in no room
        refusals = []
        for target in ("alice", "nobody", "dave"):
            b.send(GOTO, [(109, target), (1, "bob"), (62, "2")])
            r = expect_only(b, GOTO)
            assert r.status == ERR and r.pairs == [(109, target.encode())], r
            refusals.append((r.service, r.status, [k for k, _ in r.pairs]))
        assert len(set(map(repr, refusals))) == 1
        # ... while a goto to visible carol, who is in Linux, joins bob to Linux
        b.send(GOTO, [(109, "carol"), (1, "bob"), (62, "2")])
        _, members = join_reply(b)
        assert members == ["carol", "alice", "bob"], members
        assert expect_only(a, JOIN).get(109) == "bob"
        assert expect_only(c, JOIN).get(109) == "bob"
        # invites: dave invites invisible alice and offline "nobody": dave hears nothing either way
        pid_join(d, "Rock")
        join_reply(d)
        d.send(INVITE, [(1, "dave"), (118, "alice"), (104, "Rock"), (117, "hi"), (129, "0")])
        d.send(INVITE, [(1, "dave"), (118, "nobody"), (104, "Rock"), (117, "hi"), (129, "0")])
        assert room_packets(d, 0.8) == []
        assert expect_only(a, INVITE).get(119) == "dave"             # the invitee gets it (the inviter took part)
        # alice leaves: the room hears it, bob's presence view does not change
        pid_leave(a, "Linux")
        expect_only(a, LOGOUT)
        assert expect_only(c, EXIT).get(109) == "alice"
        assert [p for p in b.drain(0.5) if p.service != EXIT] == []
        # presence never carries chat bits for anyone (13=1, 17=0)
        a.send(0xC5, [(13, "1")])
        on = [p for p in b.drain(1.0) if p.service == 0xF0 or p.service == 0x01]
        assert on and all(p.get(17) in (None, "0") and p.get(13) in (None, "1") for p in on), on


def test_room_limits():
    with Server(YMSGD, FAST + ["--chat-max-message", "10", "--chat-msg-rate", "1", "--chat-msg-burst", "3",
                               "--chat-max-rooms", "2"]) as srv:
        a, b = users(srv, "alice", "bob")
        for room in ("Linux", "Rock"):
            for x in (a, b):
                pid_join(x, room)
                join_reply(x)
        a.drain(0.3)
        b.drain(0.3)
        a.send(COMMENT, [(1, "alice"), (104, "Linux"), (117, "0123456789"), (124, "1")])
        assert expect_only(b, COMMENT).get(117) == "0123456789"      # exactly the limit passes
        a.send(COMMENT, [(1, "alice"), (104, "Linux"), (117, "0123456789X"), (124, "1")])
        assert room_packets(b) == []
        for i in range(8):
            a.send(COMMENT, [(1, "alice"), (104, "Rock"), (117, "m%d" % i), (124, "1")])
        got = [p.get(117) for p in room_packets(b, 0.5) if p.service == COMMENT]
        # burst 3, one spent above, refilled at 1/s meanwhile: 2 to 4 pass, the rest is dropped
        assert 2 <= len(got) <= 4 and got == ["m%d" % i for i in range(len(got))], got
        assert "chat_flood_dropped" in srv.log_text()
        # two rooms allowed: a third join leaves the first (Linux)
        time.sleep(1.2)                                              # a token for the join
        pid_join(a, "Jazz")
        join_reply(a)
        e = expect_only(b, EXIT)
        assert e.get(104) == "Linux" and e.get(109) == "alice", e
        # joins cost tokens too: a join/leave loop is refused with -35 once the bucket is empty
        for _ in range(6):
            pid_join(b, "Europe")
            b.send(EXIT, [(104, "Europe"), (109, "bob"), (108, "1"), (112, "0")])
        got = [p for p in room_packets(b, 0.5) if p.service == JOIN]
        refused = [p for p in got if p.status == ERR]
        assert refused and all(p.pairs == [(114, b"-35")] for p in refused), got
        assert len(got) - len(refused) <= 4, got


def test_room_idle_timeout_and_ping():
    with Server(YMSGD, FAST + ["--chat-idle-timeout", "3", "--idle-timeout", "60"]) as srv:
        a, b = users(srv, "alice", "bob")
        for x in (a, b):
            pid_join(x, "Linux")
            join_reply(x)
        a.drain(0.2)
        # bob pings (0xA1 109=me, libpurple) every second; alice stays silent
        deadline = time.time() + 6
        got_a = []
        while time.time() < deadline:
            b.send(PING, [(109, "bob")])
            got_a += room_packets(a, 0.9)
        lo = [p for p in got_a if p.service == LOGOUT]
        assert len(lo) == 1 and lo[0].status == 1 and lo[0].get(1) == "alice", got_a
        e = [p for p in b.drain(0.3) if p.service == EXIT]
        assert e and e[0].get(109) == "alice", e
        pid_join(a, "Linux")                                         # bob is still in: his pings kept him
        _, members = join_reply(a)
        assert members == ["bob", "alice"], members


def test_room_join_reply_split():
    """A room of 20: the join reply is two packets, status 5 then 1; the first 108 is the total."""
    with Server(YMSGD, FAST) as srv:
        names = ["user%02d" % i for i in range(20)]
        clients = users(srv, *names)
        for x in clients[:-1]:
            pid_join(x, "Americas")
            join_reply(x)
        last = clients[-1]
        pid_join(last, "Americas")
        pk, members = join_reply(last)
        assert [p.status for p in pk] == [5, 1], [p.status for p in pk]
        assert members == names, members
        assert pk[0].get(108) == "20" and pk[1].get(108) == str(len(pk[1].all(109)))
        assert all(p.get(104) == "Americas" for p in pk) and all(len(p.raw) < 1100 for p in pk)


def room_list(srv, query, absolute=True):
    target = ("http://insider.msg.yahoo.com/ycontent/?" if absolute else "/ycontent/?") + query
    line, headers, raw, body = http_get(srv.http_port, target, version="1.0", host="insider.msg.yahoo.com")
    return line, dict(headers), body


def test_room_list_http():
    """The requests libpurple and libyahoo2 make (yahoo_roomlist_*, yahoo_get_chatrooms)."""
    with Server(YMSGD) as srv:
        line, h, body = room_list(srv, "chatcat=0&intl=us")
        assert "200" in line and h.get("Content-Type", "").startswith("text/xml"), (line, h)
        assert b"</content>" in body[-20:]                            # LY2 waits for it in the last 20 bytes
        root = ET.fromstring(body)
        cats = [(e.get("id"), e.get("name")) for e in root.iter("category")]
        assert cats == [("1600000001", "Computers & Internet"), ("1600000002", "Music"), ("1600000003", "Regional")]
        _, _, body = room_list(srv, "chatroom_1600000002=0&intl=us")
        rooms = [(e.get("type"), e.get("id"), e.get("name"), e.get("topic")) for e in ET.fromstring(body).iter("room")]
        assert rooms == [("yahoo", "1600100003", "Rock", "Guitars up"), ("yahoo", "1600100004", "Jazz", "Blue notes")]
        _, _, body = room_list(srv, "chatroom_1600000001=0", absolute=False)   # libyahoo2: no intl
        assert [e.get("name") for e in ET.fromstring(body).iter("room")] == ["Linux", "Programming"]
        _, _, body = room_list(srv, "chatroom_42=0")
        assert list(ET.fromstring(body).iter("room")) == []
        # every room has one lobby, number 1, without counts (nobody outside a room learns how many are in
        # it): OpenYMSG joins it as "Linux:1", libpurple lists it as a child room "Linux:1"
        _, _, body = room_list(srv, "chatroom_1600000001=0")
        for r in ET.fromstring(body).iter("room"):
            assert [(lb.attrib, len(lb)) for lb in r] == [({"count": "1"}, 0)], ET.tostring(r)
        # OpenYMSG's root category: the list's time as a category id (ChatroomManager.loadCategories); its
        # rooms are all rooms, for 15 minutes (its cache); an older time is an unknown category
        _, _, body = room_list(srv, "chatcat=0")
        t = int(ET.fromstring(body).get("time"))
        for q in ("chatroom_%d" % t, "chatroom_%d=0" % (t - 800), "chatroom_%d&intl=us" % (t + 30)):
            _, _, body = room_list(srv, q)
            names = [e.get("name") for e in ET.fromstring(body).iter("room")]
            assert names == ["Linux", "Programming", "Rock", "Jazz", "Europe", "Americas"], (q, names)
        for q in ("chatroom_%d=0" % (t - 1000), "chatroom_%d=0" % (t + 600)):
            _, _, body = room_list(srv, q)
            assert list(ET.fromstring(body).iter("room")) == [], q
        for bad in ("", "foo=1", "chatroom_=0", "chatroom_12a=0", "chatroom_99999999999=0"):
            line, _, _ = room_list(srv, bad)
            assert "400" in line, (bad, line)


def test_room_config_file_and_restart():
    """Rooms from chat_rooms_file (escaped in the XML) survive a restart; membership does not."""
    d = tempfile.mkdtemp(prefix="ymsgd-rooms-")
    rooms = os.path.join(d, "rooms.conf")
    with open(rooms, "w") as f:
        f.write("# test rooms\ncategory Q&A <fun>\nroom Tom & \"Jerry\" | it's <b>bold</b>\nroom Quiet\n")
    args = FAST + ["--chat-rooms-file", rooms]
    srv = Server(YMSGD, args, data_dir=d)
    with srv:
        _, _, body = room_list(srv, "chatcat=0")
        assert b"Q&amp;A &lt;fun&gt;" in body, body
        _, _, body = room_list(srv, "chatroom_1600000001=0")
        r = [(e.get("name"), e.get("topic")) for e in ET.fromstring(body).iter("room")]
        assert r == [('Tom & "Jerry"', "it's <b>bold</b>"), ("Quiet", "")], r
        a, b = users(srv, "alice", "bob")
        for x in (a, b):
            pid_join(x, 'tom & "jerry"')
            join_reply(x)
        a.drain(0.3)
        pid_join(a, "Linux")                                          # not in this file
        assert a.expect(JOIN).pairs == [(114, b"-6")]
    with Server(YMSGD, args, data_dir=d) as srv:
        _, _, body = room_list(srv, "chatroom_1600000001=0")
        assert [e.get("name") for e in ET.fromstring(body).iter("room")] == ['Tom & "Jerry"', "Quiet"]
        a = srv.login("alice", "pw-alice")
        pid_join(a, 'Tom & "Jerry"')
        pk, members = join_reply(a)
        assert members == ["alice"], members                          # bob's membership did not survive
        assert pk[0].get(105) == "it's <b>bold</b>"
    # a bad rooms file stops the start with the line named
    with open(rooms, "w") as f:
        f.write("room Orphan\n")
    import subprocess
    r = subprocess.run(Server(YMSGD, args, data_dir=d).base_args() + ["--ymsg-listen", "127.0.0.1:0",
                                                                      "--http-listen", ""],
                       capture_output=True, timeout=20)
    assert r.returncode != 0 and b"line 1: room before any category" in r.stderr, r.stderr


if __name__ == "__main__":
    run_tests([test_room_three_users_join_talk_leave, test_room_session_end_removes_member,
               test_room_cap_and_unknown_room, test_room_spoofing, test_room_invites, test_room_invisibility,
               test_room_limits, test_room_idle_timeout_and_ping, test_room_join_reply_split,
               test_room_list_http, test_room_config_file_and_restart])
