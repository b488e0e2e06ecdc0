#!/usr/bin/env python3
"""libpurple 2.10.9 (Pidgin's yahoo plugin, from the real-client kit) in conferences and a chat room on
ymsgd (issue 14, docs/CONFERENCES.md, docs/CHAT_ROOMS.md).

usage: conf_purple.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --build-kit build_kit.sh --out BUILDDIR

alice runs purple_conf.c (ours, built here against the kit's libpurple); bob and carol are raw YMSG
sessions (conf_peers.py's token login) that check every packet the server sends them.  alice has both as
buddies.  Steps: alice picks "Initiate Conference" on bob (Pidgin opens the room with 0x19 and invites with
0x1C), invites carol from the chat window, both join and alice's window lists them; a message from each
of the three reaches every member exactly once (alice's own line only through the server's echo, which
Pidgin waits for); carol leaves and alice's window drops her; bob invites alice to a second conference,
she accepts in the dialog and joins (serv_join_chat), messages flow there; she declines a third invitation:
no window, no join, and the room's messages do not reach her; alice closes the first room and bob is told.
Then a chat room: Pidgin's Room List (categories, then a category's rooms, from ymsgd's /ycontent/), "Join"
on Linux, bob and carol in it, a message from each reaching every other member exactly once (Pidgin shows
its own line itself), carol leaving, alice inviting her back from the window, closing it; bob's room
invitation accepted (alice back in), then one declined.  A missing kit or program is a FAIL, never a skip."""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conf_peers import raw_login, wait_pkt  # noqa: E402
from peers_session import Peer, run_main  # noqa: E402

ROOM_JOIN, ROOM_EXIT, ROOM_INVITE, ROOM_MSG = 0x98, 0x9B, 0x9D, 0xA8
SETTLE = 1.5  # seconds after a fan-out in which a duplicate would have arrived


def collect(c, secs):
    """Every packet c receives in the next secs seconds."""
    got, deadline = [], time.time() + secs
    while time.time() < deadline:
        p = c.recv(max(0.05, deadline - time.time()))
        if p is not None:
            got.append(p)
    return got


def lines(peer, pattern, since):
    """alice's event lines after `since` matching pattern."""
    with peer.lock:
        return [x for x in peer.lines[since:] if re.search(pattern, x)]


def run(s, alice):
    bob, carol = raw_login(s, "bob"), raw_login(s, "carol")
    for c in (bob, carol):
        c.drain(0.5)

    # Pidgin offers "Initiate Conference" only for a buddy it sees online: retry until the presence is in
    room, deadline = None, time.time() + 20
    while room is None and time.time() < deadline:
        m = alice.mark()
        alice.say("initiate bob")
        hit = alice.wait([r"^EV initiated \S+$", r"^EV initiate-unavailable "], m, timeout=5)
        if hit and hit.startswith("EV initiated "):
            room = hit.split()[2]
        else:
            time.sleep(0.5)
    if not s.step("initiate", room is not None and room.startswith("alice-"), room or "no menu action in 20 s"):
        return
    p = wait_pkt(bob, lambda p: p.service == 0x18)
    s.step("invite-bob", p is not None and p.get(1) == "bob" and p.get(50) == "alice" and p.get(57) == room and
           p.get(58) == "Join my conference..." and p.all(53) == [], repr(p))

    alice.say("invite %s carol come along, carol" % room)
    p = wait_pkt(carol, lambda p: p.service == 0x18)
    s.step("invite-carol", p is not None and p.get(50) == "alice" and p.get(57) == room and
           p.get(58) == "come along, carol", repr(p))

    # bob joins (0x19 the way libyahoo2 and Pidgin send it), then carol
    m = alice.mark()
    bob.send(0x19, [(1, "bob"), (3, "bob"), (57, room), (3, "alice")])
    s.step("join-bob-seen", bool(alice.wait([r"^EV chat-add %s bob$" % re.escape(room)], m)), "alice's window")
    got = collect(bob, 0.8)
    s.step("join-bob-members", [p.get(53) for p in got if p.service == 0x19] == ["alice"], repr(got))
    m = alice.mark()
    carol.send(0x19, [(1, "carol"), (3, "carol"), (57, room), (3, "alice"), (3, "bob")])
    s.step("join-carol-seen", bool(alice.wait([r"^EV chat-add %s carol$" % re.escape(room)], m)), "alice's window")
    p = wait_pkt(bob, lambda p: p.service == 0x19)
    s.step("join-carol-to-bob", p is not None and p.get(53) == "carol" and p.get(57) == room, repr(p))
    got = collect(carol, 0.8)
    s.step("join-carol-members", sorted(p.get(53) for p in got if p.service == 0x19) == ["alice", "bob"], repr(got))
    m = alice.mark()
    alice.say("users " + room)
    hit = alice.wait([r"^EV users %s " % re.escape(room)], m, timeout=5)
    s.step("members", hit == "EV users %s bob,carol" % room, hit or "no answer")
    bob.drain(0.3)

    # messages: every member gets each exactly once, alice's own line only as the server's echo
    for who, text in (("alice", "hello from pidgin"), ("bob", "hi from bob"), ("carol", "carol here")):
        m = alice.mark()
        if who == "alice":
            alice.say("say %s %s" % (room, text))
        else:
            c = bob if who == "bob" else carol
            c.send(0x1D, [(1, who), (53, who), (53, "alice"), (57, room), (14, text)])
        alice.wait([r"^EV chat-msg %s %s " % (re.escape(room), who)], m, timeout=10)
        got = {c.user: collect(c, SETTLE) for c in (bob, carol)}
        mine = lines(alice, r"^EV chat-msg %s " % re.escape(room), m)
        want = "EV chat-msg %s %s %s %s" % (room, who, "send" if who == "alice" else "recv", text)
        ok = mine == [want]
        for u, pkts in got.items():
            msgs = [p for p in pkts if p.service == 0x1D]
            ok = ok and len(msgs) == 1 and msgs[0].get(3) == who and msgs[0].get(14) == text and \
                msgs[0].get(57) == room and msgs[0].get(1) == u
        s.step("msg-" + who, ok, "alice %r, bob+carol %r" % (mine, got))

    # carol leaves: alice's window drops her, bob is told
    m = alice.mark()
    carol.send(0x1B, [(1, "carol"), (3, "alice"), (3, "bob"), (3, "carol"), (57, room)])
    s.step("leave-carol-seen", bool(alice.wait([r"^EV chat-remove %s carol$" % re.escape(room)], m)), "")
    p = wait_pkt(bob, lambda p: p.service == 0x1B)
    s.step("leave-carol-to-bob", p is not None and p.get(56) == "carol" and p.get(57) == room, repr(p))
    m = alice.mark()
    alice.say("users " + room)
    hit = alice.wait([r"^EV users %s " % re.escape(room)], m, timeout=5)
    s.step("members-after-leave", hit == "EV users %s bob" % room, hit or "no answer")

    # bob invites alice to a second conference: the dialog, accepted, joins with serv_join_chat
    m = alice.mark()
    bob.send(0x18, [(1, "bob"), (50, "bob"), (52, "alice"), (57, "bobroom"), (58, "talk to me"), (13, "0")])
    hit = alice.wait([r"^EV invited bobroom bob talk to me$"], m)
    asked = alice.wait([r"^EV asked accept$"], m, timeout=5)
    joined = alice.wait([r"^EV conv-created bobroom$"], m, timeout=5)
    s.step("invited-accepted", bool(hit and asked and joined), "%r %r %r" % (hit, asked, joined))
    p = wait_pkt(bob, lambda p: p.service == 0x19 and p.get(57) == "bobroom")
    s.step("joined-seen", p is not None and p.get(53) == "alice", repr(p))
    m = alice.mark()
    alice.say("users bobroom")
    hit = alice.wait([r"^EV users bobroom "], m, timeout=5)
    s.step("joined-members", hit == "EV users bobroom bob", hit or "no answer")
    bob.drain(0.3)
    m = alice.mark()
    bob.send(0x1D, [(1, "bob"), (53, "bob"), (53, "alice"), (57, "bobroom"), (14, "welcome")])
    hit = alice.wait([r"^EV chat-msg bobroom bob recv welcome$"], m)
    time.sleep(SETTLE)
    s.step("joined-msg-in", bool(hit) and len(lines(alice, r"^EV chat-msg bobroom ", m)) == 1, hit or "")
    bob.drain(0.3)
    m = alice.mark()
    alice.say("say bobroom thanks bob")
    pkts = [p for p in collect(bob, SETTLE) if p.service == 0x1D]
    s.step("joined-msg-out", len(pkts) == 1 and pkts[0].get(3) == "alice" and pkts[0].get(14) == "thanks bob" and
           lines(alice, r"^EV chat-msg bobroom ", m) == ["EV chat-msg bobroom alice send thanks bob"], repr(pkts))

    # a third invitation, declined in the dialog: no window, no join, its messages do not reach alice
    alice.say("answer decline")
    alice.wait([r"^EV answer decline$"], timeout=5)
    m = alice.mark()
    bob.send(0x18, [(1, "bob"), (50, "bob"), (52, "alice"), (57, "thirdroom"), (58, "once more"), (13, "0")])
    hit = alice.wait([r"^EV invited thirdroom bob once more$"], m)
    asked = alice.wait([r"^EV asked decline$"], m, timeout=5)
    pkts = collect(bob, SETTLE)
    s.step("declined", bool(hit and asked) and not lines(alice, r"conv-created thirdroom", m) and
           not [p for p in pkts if p.service == 0x19], "%r %r bob got %r" % (hit, asked, pkts))
    bob.send(0x1D, [(1, "bob"), (53, "bob"), (57, "thirdroom"), (14, "anyone?")])
    echo = wait_pkt(bob, lambda p: p.service == 0x1D and p.get(57) == "thirdroom")
    time.sleep(0.5)
    s.step("declined-no-msg", echo is not None and not lines(alice, r"anyone\?", m),
           "bob's echo %r; alice saw %r" % (echo, lines(alice, r"thirdroom", m)))

    # alice closes the first room's window: bob is told she left; the server dropped nothing of hers
    bob.drain(0.3)
    alice.say("leave " + room)
    p = wait_pkt(bob, lambda p: p.service == 0x1B and p.get(57) == room)
    s.step("left", p is not None and p.get(56) == "alice", repr(p))
    run_room(s, alice, bob, carol)
    # ymsgd refused none of libpurple's packets (and, in the sanitizer build, reported nothing)
    log = open(s.srvlog, errors="replace").read()
    bad = [x for x in log.splitlines() if re.search(r"conf_(malformed|dropped|too_long)|runtime error:|Sanitizer|"
                                                    r"chat_(message_too_long|flood_dropped|join_flood|room_full)", x)]
    s.step("server-log", bad == [], "nothing refused or reported: %r" % bad[:3])
    for c in (bob, carol):
        c.close()


def run_room(s, alice, bob, carol):
    """The same in a chat room of ymsgd's default set (docs/CHAT_ROOMS.md): Pidgin's Room List dialog
    (GET /ycontent/?chatcat=0, then the category's rooms), "Join" on a room (0x96, then 0x98), members
    joining and leaving, messages both ways (Pidgin shows its own line itself: the server never echoes),
    an invitation out, closing the window, invitations in: accepted, declined."""
    m = alice.mark()
    alice.say("roomlist")
    cat = alice.wait([r"^EV roomlist-entry category Computers & Internet$"], m)
    s.step("room-list", bool(cat), cat or "categories not listed")
    m = alice.mark()
    alice.say("expand Computers & Internet")
    hit = alice.wait([r"^EV roomlist-entry category\+room Linux$"], m)
    s.step("room-list-category", bool(hit), hit or "the category's rooms not listed")
    # each room's one <lobby count="1"> is a child room "Linux:1" in Pidgin's list (yahoo_chatlist_end_element)
    hit = alice.wait([r"^EV roomlist-entry room Linux:1$"], m, timeout=5)
    s.step("room-list-lobby", bool(hit), hit or "the lobby not listed")
    for c in (bob, carol):
        c.drain(0.3)
    bob.send(ROOM_JOIN, [(1, "bob"), (104, "Linux"), (62, "2"), (129, "1600100001")])
    p = wait_pkt(bob, lambda p: p.service == ROOM_JOIN and p.status == 1)
    s.step("room-bob-in", p is not None and p.all(109) == ["bob"], repr(p))

    m = alice.mark()
    alice.say("joinroom Linux")
    hit = alice.wait([r"^EV conv-created Linux$"], m)
    listed = alice.wait([r"^EV chat-add Linux bob$"], m, timeout=5)
    s.step("room-join", bool(hit and listed), "%r %r" % (hit, listed))
    p = wait_pkt(bob, lambda p: p.service == ROOM_JOIN and p.get(109) == "alice")
    s.step("room-join-seen", p is not None and p.get(104) == "Linux", repr(p))
    m = alice.mark()
    carol.send(ROOM_JOIN, [(1, "carol"), (104, "Linux"), (62, "2"), (129, "1600100001")])
    s.step("room-carol-seen", bool(alice.wait([r"^EV chat-add Linux carol$"], m)), "alice's window")
    m = alice.mark()
    alice.say("users Linux")
    hit = alice.wait([r"^EV users Linux "], m, timeout=5)
    s.step("room-members", hit == "EV users Linux alice,bob,carol", hit or "no answer")  # a room lists me too
    for c in (bob, carol):
        c.drain(0.5)

    # each message reaches every other member once; the sender's own line is Pidgin's, never an echo
    for who, text in (("alice", "hello room from pidgin"), ("bob", "bob in the room"), ("carol", "carol too")):
        m = alice.mark()
        if who == "alice":
            alice.say("say Linux " + text)
        else:
            (bob if who == "bob" else carol).send(ROOM_MSG, [(1, who), (104, "Linux"), (117, text), (124, "1"),
                                                             (97, "1")])
        alice.wait([r"^EV chat-msg Linux %s " % who], m, timeout=10)
        got = {c.user: [p for p in collect(c, SETTLE) if p.service == ROOM_MSG] for c in (bob, carol)}
        mine = lines(alice, r"^EV chat-msg Linux ", m)
        ok = mine == ["EV chat-msg Linux %s %s %s" % (who, "send" if who == "alice" else "recv", text)]
        for u, msgs in got.items():
            if u == who:
                ok = ok and msgs == []
            else:
                ok = ok and len(msgs) == 1 and msgs[0].get(109) == who and msgs[0].get(117) == text and \
                    msgs[0].get(104) == "Linux"
        s.step("room-msg-" + who, ok, "alice %r, bob+carol %r" % (mine, got))

    m = alice.mark()
    carol.send(ROOM_EXIT, [(104, "Linux"), (109, "carol"), (108, "1"), (112, "0")])
    s.step("room-carol-left", bool(alice.wait([r"^EV chat-remove Linux carol$"], m)), "alice's window")
    # the room window's "Invite...": carol gets 0x9D from alice
    carol.drain(0.3)
    alice.say("invite Linux carol back to Linux")
    p = wait_pkt(carol, lambda p: p.service == ROOM_INVITE)
    s.step("room-invite-out", p is not None and p.get(119) == "alice" and p.get(104) == "Linux" and
           p.get(117) == "back to Linux" and p.get(1) == "carol", repr(p))
    bob.drain(0.5)
    alice.say("leave Linux")
    p = wait_pkt(bob, lambda p: p.service == ROOM_EXIT and p.get(109) == "alice")
    s.step("room-left", p is not None and p.get(104) == "Linux", repr(p))

    # bob invites alice back (0x9D as Pidgin sends it): accepted in the dialog, she is in again
    alice.say("answer accept")
    alice.wait([r"^EV answer accept$"], timeout=5)
    bob.drain(0.3)
    m = alice.mark()
    bob.send(ROOM_INVITE, [(1, "bob"), (118, "alice"), (104, "Linux"), (117, "come back"), (129, "0")])
    hit = alice.wait([r"^EV invited Linux bob come back$"], m)
    asked = alice.wait([r"^EV asked accept$"], m, timeout=5)
    joined = alice.wait([r"^EV conv-created Linux$"], m, timeout=10)
    s.step("room-invited-accepted", bool(hit and asked and joined), "%r %r %r" % (hit, asked, joined))
    p = wait_pkt(bob, lambda p: p.service == ROOM_JOIN and p.get(109) == "alice")
    s.step("room-rejoin-seen", p is not None and p.get(104) == "Linux", repr(p))
    bob.drain(0.5)
    alice.say("leave Linux")
    wait_pkt(bob, lambda p: p.service == ROOM_EXIT and p.get(109) == "alice")

    # declined: no window, bob sees no join
    alice.say("answer decline")
    alice.wait([r"^EV answer decline$"], timeout=5)
    m = alice.mark()
    bob.send(ROOM_INVITE, [(1, "bob"), (118, "alice"), (104, "Linux"), (117, "last call"), (129, "0")])
    hit = alice.wait([r"^EV invited Linux bob last call$"], m)
    asked = alice.wait([r"^EV asked decline$"], m, timeout=5)
    pkts = collect(bob, SETTLE)
    s.step("room-invite-declined", bool(hit and asked) and not lines(alice, r"conv-created Linux", m) and
           not [p for p in pkts if p.service == ROOM_JOIN], "%r %r bob got %r" % (hit, asked, pkts))


def run_front_end(s, exe):
    s.befriend(("alice", "bob"), ("alice", "carol"))
    userdir = s.purple_userdir("alice")  # trusts this server without touching the shared kit
    alice = Peer("alice", "purple_conf", [exe, "alice", s.pw, userdir], s.shim_env(
        LD_PRELOAD=os.path.join(s.work, "lib", "yahoo_shim.so")), s.tmp)
    s.procs.append(alice)
    if s.step("login", bool(alice.wait([r"^EV signed-on alice$"], timeout=45)),
              alice.find([r"connection-error"]) or "signed on"):
        run(s, alice)
        alice.say("quit")
        # the exit line first: the reader thread may not have it yet when the process is gone
        s.step("quit", bool(alice.wait([r"^EV exit$"], timeout=15)) and alice.gone(5), "front end exited")


def main():
    run_main(run_front_end, front_end="purple_conf", label="libpurple-conf")


if __name__ == "__main__":
    main()
