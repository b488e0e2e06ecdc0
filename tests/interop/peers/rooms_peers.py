#!/usr/bin/env python3
"""The real libyahoo2 1.0.0 sample client in a chat room with our users (issue 14; docs/CHAT_ROOMS.md).

usage: rooms_peers.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --build-kit build_kit.sh

alice is the sample client (its own commands, passed through by libyahoo2-peer: CHL room list, CHJ join,
CHM message, CHX chat logout); bob and carol are raw YMSG sessions sending libpurple's key sets
(tests/e2e/server/test_rooms.py).  Steps: room list over HTTP, join with the member list, a member joining,
messages both ways, a member leaving, chat logout seen by the others.  Kit and server setup are
peers_session.py's (a missing kit is a FAIL, never a skip).
"""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e", "server"))
import peers_session  # noqa: E402
from ymsgd_harness import Server  # noqa: E402

JOIN, EXIT, LOGOUT, COMMENT = 0x98, 0x9B, 0xA0, 0xA8


def room_packets(c, timeout):
    return [p for p in c.drain(timeout) if p.service in (JOIN, EXIT, LOGOUT, COMMENT)]


def wait_packet(c, service, pred, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = c.recv(max(0.05, deadline - time.time()))
        if p is not None and p.service == service and pred(p):
            return p
    return None


def run(s):
    # our raw sessions log in through the same HTTP token login as any client
    ours = Server(s.a.ymsgd)
    ours.ymsg_port, ours.http_port = s.p_pager, s.p_http
    nonce = s.nonce

    alice = s.peer("libyahoo2", "alice")
    if not alice.wait([r"logged in"], timeout=45):
        s.step("login", False, "the sample client did not log in")
        return
    bob = ours.login("bob", s.pw)
    carol = ours.login("carol", s.pw)

    m = alice.mark()
    alice.say("CHL 0")  # yahoo_get_chatrooms(0): GET http://insider.msg.yahoo.com/ycontent/?chatcat=0
    s.step("room-list", bool(alice.wait([r'<category id="1600000001" name="Computers &amp; Internet">'], m)),
           "categories printed by ext_yahoo_chat_cat_xml")

    bob.send(JOIN, [(1, "bob"), (104, "Linux"), (62, "2"), (129, "0")])
    got = wait_packet(bob, JOIN, lambda p: p.status == 1)
    s.step("our-join", got is not None and got.all(109) == ["bob"], repr(got))

    m = alice.mark()
    alice.say("CHJ 1600100001 Linux")  # yahoo_chat_logon: 0x96 + 0x98 back to back
    hit = alice.wait([r"You \[alice\] have joined the chatroom Linux with topic Penguins welcome"], m)
    listed = alice.wait([r"^\s*bob \(\(null\)\)\s+Age: 0"], m, timeout=5) if hit else None  # alias: none sent
    s.step("join", bool(hit) and bool(listed), "%s / %s" % (hit, listed))
    n = wait_packet(bob, JOIN, lambda p: p.get(109) == "alice")
    s.step("join-seen", n is not None and n.status == 1, "bob got the join notice of alice")

    m = alice.mark()
    carol.send(JOIN, [(1, "carol"), (104, "Linux"), (62, "2"), (129, "0")])
    s.step("member-joins", bool(alice.wait([r"carol .* joined the chatroom Linux \[alice\]"], m)),
           "ext_yahoo_chat_userjoin")

    m = alice.mark()
    t = "hello from bob %d" % nonce
    bob.send(COMMENT, [(1, "bob"), (104, "Linux"), (117, t), (124, "1"), (97, "1")])
    s.step("message-in", bool(alice.wait([r"\(in Linux \[alice\]\) bob: " + re.escape(t)], m)), t)

    t = "hi from libyahoo2 %d" % nonce
    alice.say("CHM Linux  " + t)  # two spaces separate the room from the text
    got = [wait_packet(x, COMMENT, lambda p: p.get(117) == t) for x in (bob, carol)]
    s.step("message-out", all(p is not None and p.get(109) == "alice" and p.get(104) == "Linux" for p in got),
           repr(got))

    m = alice.mark()
    carol.send(EXIT, [(104, "Linux"), (109, "carol"), (108, "1"), (112, "0")])
    s.step("member-leaves", bool(alice.wait([r"carol left the chatroom Linux \[alice\]"], m)),
           "ext_yahoo_chat_userleave")

    alice.say("CHX")  # yahoo_chat_logoff: 0xA0 1=alice
    e = wait_packet(bob, EXIT, lambda p: p.get(109) == "alice")
    s.step("chat-logout", e is not None and e.get(104) == "Linux", "bob saw alice leave: %r" % e)
    alice.say("quit")
    alice.gone(15)


def main():
    peers_session.run_main(run, client="libyahoo2", label="libyahoo2 rooms")


if __name__ == "__main__":
    main()
