#!/usr/bin/env python3
"""The real OpenYMSG (the kit's build) in conferences with our users (docs/CONFERENCES.md).

usage: oyconf_peers.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --build-kit build_kit.sh --out BUILDDIR

alice is OpenYMSG driven by OyConf.java (ours, compiled here against the kit's OpenYMSG classes into
BUILDDIR): it calls OpenYMSG's own conference API (createConference, sendConferenceMessage,
acceptConferenceInvite, declineConferenceInvite, leaveConference) and prints each receivedConference*
callback as a line.  bob and carol are raw YMSG sessions (conf_peers.py's token login) that check every
packet the server sends them.  Steps: alice opens room1 inviting bob and carol, both join, messages
both ways reach every member exactly once (the sender's echo included), carol invites dave (alice hears
OpenYMSG's "extend"), carol leaves (alice sees receivedConferenceLeft), alice leaves; then bob invites
alice to room2, she accepts, both talk, she add-invites carol and dave (extendConference: one
comma-separated 51), carol invites her to room3 and she declines (carol is told), her createConference on
carol's room3 is refused; alice quits and bob sees her leave room2.

Then a chat room through OpenYMSG's LEGACY API (docs/CHAT_ROOMS.md): erin is OyRoom.java (ours, compiled like
OyConf; started with alice so that its JVM and login overlap the conference steps).  It loads the room list
(every category's rooms with their lobbies, then the root's lobbies its Session resolves packets against);
bob joins Linux by name (libpurple's key set), erin joins the lobby Linux:1 (chatLogin) and sees bob in the
member list, messages both ways reach the other side once (no echo), carol joins and leaves (libyahoo2's key
set) and erin sees both, erin's chatLogout is seen by bob as an exit.  bob and carol get the room's plain name
throughout, erin its lobby's.  A missing kit or program is a FAIL, never a skip.
"""
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e", "server"))
import peers_session  # noqa: E402
from conf_peers import raw_login  # noqa: E402
from peers_session import Peer, fail  # noqa: E402

# how long every side keeps listening after a delivery, to catch a second copy
SETTLE = 1.5


def build_oyconf(work, outdir):
    """OyConf.java and OyRoom.java compiled against the kit's OpenYMSG (work/openymsg/classpath) into
    outdir/oyconf; recompiled when a source is newer.  Returns the classpath that runs them."""
    kitcp = os.path.join(work, "openymsg", "classpath")
    if not os.path.isfile(kitcp):
        fail("the kit's OpenYMSG is not built: no %s" % kitcp)
    cp = open(kitcp).read().strip()
    javac = shutil.which("javac")
    if not javac:
        fail("javac not found (openjdk-17-jdk-headless: scripts/deps.sh test installs it)")
    out = os.path.join(outdir, "oyconf")
    for name in ("OyConf", "OyRoom"):
        src = os.path.join(HERE, name + ".java")
        cls = os.path.join(out, name + ".class")
        if not os.path.exists(cls) or os.path.getmtime(cls) < os.path.getmtime(src):
            os.makedirs(out, exist_ok=True)
            r = subprocess.run([javac, "-Xlint:all,-path", "-Werror", "-encoding", "UTF-8", "-cp", cp, "-d", out, src],
                               capture_output=True, text=True)
            if r.returncode != 0:
                fail("compiling %s.java: %s" % (name, (r.stdout + r.stderr)[-3000:]))
    return out + ":" + cp


def oyconf_peer(s, classpath, user, main="OyConf"):
    """OyConf (or OyRoom) as user, reaching the session's ymsgd the way the kit's openymsg-peer does (yahoo_shim.so
    with a port map, the test CA as the JVM's only trust store)."""
    shim = os.path.join(s.work, "lib", "yahoo_shim.so")
    if not os.path.isfile(shim):
        fail("the kit's yahoo_shim.so is not built: %s" % shim)
    java = shutil.which("java")
    if not java:
        fail("java not found (openjdk-17-jdk-headless: scripts/deps.sh test installs it)")
    env = s.shim_env(LD_PRELOAD=shim)
    cmd = [java, "-Djava.net.preferIPv4Stack=true",
           "-Djavax.net.ssl.trustStore=" + os.path.join(s.certs, "truststore.jks"),
           "-Djavax.net.ssl.trustStorePassword=changeit", "-cp", classpath, main, user, s.pw]
    p = Peer(user, main.lower(), cmd, env, s.tmp)
    s.procs.append(p)
    return p


class Inbox:
    """Every packet a raw session receives, kept, so that a step can look back and count copies."""

    def __init__(self, c):
        self.c, self.pkts = c, []

    def pump(self, secs):
        deadline = time.time() + secs
        while time.time() < deadline:
            p = self.c.recv(max(0.01, min(0.1, deadline - time.time())))
            if p is not None:
                self.pkts.append(p)

    def mark(self):
        return len(self.pkts)

    def matching(self, pred, since):
        return [p for p in self.pkts[since:] if pred(p)]

    def wait(self, pred, since, timeout=10.0):
        """The first packet from since on that pred accepts, or None after timeout."""
        deadline = time.time() + timeout
        while True:
            hits = self.matching(pred, since)
            if hits or time.time() >= deadline:
                return hits[0] if hits else None
            self.pump(0.1)


def pkt(service, room, **keys):
    """A predicate: service, 57=room and each key (k53=...) equal; status=N checks the header."""
    status = keys.pop("status", None)

    def pred(p):
        if p.service != service or p.get(57) != room or (status is not None and p.status != status):
            return False
        return all(p.all(int(k[1:])) == (v if isinstance(v, list) else [v]) for k, v in keys.items())
    return pred


def settle(alice, inboxes):
    """Let late copies arrive everywhere before counting."""
    deadline = time.time() + SETTLE
    for ib in inboxes:
        ib.pump(max(0.0, deadline - time.time()))
    time.sleep(max(0.0, deadline - time.time()))


def count_lines(peer, pattern, since):
    with peer.lock:
        return sum(1 for line in peer.lines[since:] if re.search(pattern, line))


def ev(name, **kv):
    """The regex of one OyConf event line with exactly these fields."""
    return r" %s %s$" % (name, " ".join("%s=%s" % (k, re.escape(v)) for k, v in kv.items()))


def run_with(classpath):
    def run(s):
        n = random.randint(1000, 9999)
        alice = oyconf_peer(s, classpath, "alice")
        erin = oyconf_peer(s, classpath, "erin", main="OyRoom")
        hit = alice.wait([r" authenticationSuccess", r" authenticationFailure", r" connectionFailure"], timeout=60)
        if not s.step("login", bool(hit) and "authenticationSuccess" in hit, hit or "no answer in 60 s"):
            return
        bob, carol = Inbox(raw_login(s, "bob")), Inbox(raw_login(s, "carol"))
        for ib in (bob, carol):
            ib.pump(0.5)

        # --- alice (OpenYMSG) opens room1 inviting bob and carol: createConference -> 0x18 ---
        m = {ib: ib.mark() for ib in (bob, carol)}
        invmsg = "Join room1 ✓ %d" % n
        alice.say("create room1 bob,carol " + invmsg)
        for ib in (bob, carol):
            u = ib.c.user
            p = ib.wait(pkt(0x18, "room1"), m[ib])
            s.step("invite-" + u, p is not None and p.get(1) == u and p.get(50) == "alice" and p.get(58) == invmsg
                   and p.all(52) == [u] and p.all(53) == [] and p.get(97) == "1", repr(p))

        # --- bob joins, then carol: alice hears receivedConferenceAccept for each; the joiners learn who is in ---
        a, mb = alice.mark(), bob.mark()
        bob.c.send(0x19, [(1, "bob"), (3, "bob"), (57, "room1"), (3, "alice")])
        s.step("join-bob-seen", bool(alice.wait([ev("conf-accept", room="room1", who="bob")], a)),
               "OpenYMSG: receivedConferenceAccept room1 bob")
        p = bob.wait(pkt(0x19, "room1", k53="alice"), mb)
        s.step("join-bob-told", p is not None and p.get(1) == "bob", "bob is told alice is in: %r" % p)
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        carol.c.send(0x19, [(1, "carol"), (3, "carol"), (57, "room1"), (3, "alice"), (3, "bob")])
        s.step("join-carol-seen", bool(alice.wait([ev("conf-accept", room="room1", who="carol")], a)),
               "OpenYMSG: receivedConferenceAccept room1 carol")
        p = bob.wait(pkt(0x19, "room1", k53="carol"), mb)
        s.step("join-carol-bob", p is not None, "bob is told carol joined: %r" % p)
        ok = carol.wait(pkt(0x19, "room1", k53="alice"), mc) and carol.wait(pkt(0x19, "room1", k53="bob"), mc)
        s.step("join-carol-told", bool(ok), "carol is told alice and bob are in")

        # --- messages: each reaches every member (the sender's echo included) exactly once ---
        t = "héllo ✓ 你好 from OpenYMSG %d" % n
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        alice.say("msg room1 " + t)
        got = [ib.wait(pkt(0x1D, "room1", k3="alice", k14=t), mm) for ib, mm in ((bob, mb), (carol, mc))]
        echo = alice.wait([ev("conf-message", room="room1", **{"from": "alice", "msg": t})], a)
        settle(alice, (bob, carol))
        counts = (len(bob.matching(pkt(0x1D, "room1", k14=t), mb)), len(carol.matching(pkt(0x1D, "room1", k14=t), mc)),
                  count_lines(alice, r" conf-message room=room1 from=\S+ msg=" + re.escape(t) + "$", a))
        s.step("msg-out", all(got) and bool(echo) and counts == (1, 1, 1) and got[0].get(97) == "1",
               "copies bob/carol/alice-echo = %r, 97=%r" % (counts, got[0] and got[0].get(97)))
        t = "grüße ✓ from bob %d" % n
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        bob.c.send(0x1D, [(1, "bob"), (53, "bob"), (53, "alice"), (53, "carol"), (57, "room1"), (14, t), (97, "1")])
        hit = alice.wait([ev("conf-message", room="room1", **{"from": "bob", "msg": t})], a)
        got = [ib.wait(pkt(0x1D, "room1", k3="bob", k14=t), mm) for ib, mm in ((bob, mb), (carol, mc))]
        settle(alice, (bob, carol))
        counts = (count_lines(alice, r" conf-message room=room1 from=\S+ msg=" + re.escape(t) + "$", a),
                  len(carol.matching(pkt(0x1D, "room1", k14=t), mc)), len(bob.matching(pkt(0x1D, "room1", k14=t), mb)))
        s.step("msg-in", bool(hit) and all(got) and counts == (1, 1, 1),
               "copies alice/carol/bob-echo = %r" % (counts,))

        # --- carol invites dave (offline): OpenYMSG hears the "extend" (0x1C status 11); only carol is answered ---
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        carol.c.send(0x1C, [(1, "carol"), (51, "dave"), (57, "room1"), (58, "dave too"), (13, "0")])
        hit = alice.wait([ev("conf-extend", room="room1", **{"from": "carol", "invited": "dave"})], a)
        s.step("extend-seen", bool(hit), "OpenYMSG: receivedConferenceExtend room1 carol {dave}")
        p = bob.wait(pkt(0x1C, "room1", k50="carol", k51="dave", status=11), mb)
        s.step("extend-bob", p is not None, repr(p))
        p = carol.wait(pkt(0x1A, "room1", k54="dave"), mc)
        settle(alice, (bob,))
        s.step("extend-unavailable", p is not None and not alice.find([r" conf-decline "], a) and
               not bob.matching(lambda q: q.service == 0x1A, mb), "carol alone is told dave is not available: %r" % p)

        # --- carol leaves: OpenYMSG sees receivedConferenceLeft, bob gets the 0x1B ---
        a, mb = alice.mark(), bob.mark()
        carol.c.send(0x1B, [(1, "carol"), (3, "carol"), (3, "alice"), (3, "bob"), (57, "room1")])
        s.step("leave-seen", bool(alice.wait([ev("conf-left", room="room1", who="carol")], a)),
               "OpenYMSG: receivedConferenceLeft room1 carol")
        p = bob.wait(pkt(0x1B, "room1", k56="carol"), mb)
        s.step("leave-bob", p is not None, repr(p))
        # after the leave carol hears nothing more of room1
        mb, mc = bob.mark(), carol.mark()
        t = "after carol %d" % n
        alice.say("msg room1 " + t)
        p = bob.wait(pkt(0x1D, "room1", k3="alice", k14=t), mb)
        settle(alice, (carol,))
        s.step("left-hears-nothing", p is not None and not carol.matching(lambda q: q.get(57) == "room1", mc),
               "bob got alice's message, carol nothing")
        mb = bob.mark()
        alice.say("leave room1")
        p = bob.wait(pkt(0x1B, "room1", k56="alice"), mb)
        s.step("alice-leaves", p is not None and p.get(1) == "bob", "leaveConference -> bob's 0x1B: %r" % p)

        # --- bob invites alice to room2: she accepts (acceptConferenceInvite) and both talk ---
        a, mb = alice.mark(), bob.mark()
        bob.c.send(0x18, [(1, "bob"), (50, "bob"), (57, "room2"), (58, "come to room2 ✓"), (97, "1"), (52, "alice"),
                          (13, "0")])
        hit = alice.wait([ev("conf-invite", room="room2", **{"from": "bob", "invited": "alice", "members": "bob",
                                                             "msg": "come to room2 ✓"})], a)
        s.step("invited", bool(hit), hit or "no receivedConferenceInvite room2 from bob")
        alice.say("accept room2")
        p = bob.wait(pkt(0x19, "room2", k53="alice"), mb)
        s.step("accept", p is not None and p.get(1) == "bob", "bob is told alice joined: %r" % p)
        s.step("accept-told", bool(alice.wait([ev("conf-accept", room="room2", who="bob")], a)),
               "OpenYMSG is told bob is in (0x19 53=bob)")
        t = "room2 from OpenYMSG ✓ %d" % n
        a, mb = alice.mark(), bob.mark()
        alice.say("msg room2 " + t)
        p = bob.wait(pkt(0x1D, "room2", k3="alice", k14=t), mb)
        echo = alice.wait([ev("conf-message", room="room2", **{"from": "alice", "msg": t})], a)
        settle(alice, (bob,))
        counts = (len(bob.matching(pkt(0x1D, "room2", k14=t), mb)),
                  count_lines(alice, r" conf-message room=room2 from=\S+ msg=" + re.escape(t) + "$", a))
        s.step("talk-out", p is not None and bool(echo) and counts == (1, 1), "copies bob/alice-echo = %r" % (counts,))
        t = "room2 from bob ✓ %d" % n
        a, mb = alice.mark(), bob.mark()
        bob.c.send(0x1D, [(1, "bob"), (53, "bob"), (53, "alice"), (57, "room2"), (14, t), (97, "1")])
        hit = alice.wait([ev("conf-message", room="room2", **{"from": "bob", "msg": t})], a)
        settle(alice, (bob,))
        counts = (count_lines(alice, r" conf-message room=room2 from=\S+ msg=" + re.escape(t) + "$", a),
                  len(bob.matching(pkt(0x1D, "room2", k14=t), mb)))
        s.step("talk-in", bool(hit) and counts == (1, 1), "copies alice/bob-echo = %r" % (counts,))

        # --- alice add-invites carol and dave (extendConference: 0x1C, 51 = "carol,dave" in one value): carol is
        # invited with bob listed, bob hears both names (0x1C status 11), dave (offline) comes back to alice as
        # "not available" (receivedConferenceDecline) ---
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        alice.say("extend room2 carol,dave come too")
        p = carol.wait(pkt(0x18, "room2"), mc)
        s.step("extend-invite", p is not None and p.get(50) == "alice" and p.get(58) == "come too" and
               p.all(52) == ["carol"] and p.all(53) == ["bob"], "carol's invitation: %r" % p)
        p = bob.wait(pkt(0x1C, "room2", status=11), mb)
        s.step("extend-others", p is not None and p.get(50) == "alice" and sorted(p.all(51)) == ["carol", "dave"],
               "bob hears both names: %r" % p)
        hit = alice.wait([ev("conf-decline", room="room2", who="dave", msg="dave is not available")], a)
        settle(alice, (bob,))
        s.step("extend-unavailable-oy", bool(hit) and not bob.matching(lambda q: q.service == 0x1A, mb),
               "OpenYMSG: receivedConferenceDecline room2 dave; bob hears no decline")

        # --- a second invitation (carol, room3): alice declines it, carol is told with the message ---
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        carol.c.send(0x18, [(1, "carol"), (50, "carol"), (57, "room3"), (58, "room3?"), (52, "alice"), (13, "0")])
        hit = alice.wait([ev("conf-invite", room="room3", **{"from": "carol", "invited": "alice", "members": "carol",
                                                             "msg": "room3?"})], a)
        s.step("invited-again", bool(hit), hit or "no receivedConferenceInvite room3 from carol")
        alice.say("decline room3 not now ✓")
        p = carol.wait(pkt(0x1A, "room3", k54="alice"), mc)
        s.step("decline", p is not None and p.get(1) == "carol" and p.get(14) == "not now ✓",
               "carol is told: %r" % p)
        a = alice.mark()
        carol.c.send(0x1D, [(1, "carol"), (53, "carol"), (57, "room3"), (14, "still there? %d" % n)])
        settle(alice, (bob,))
        s.step("declined-hears-nothing", not alice.find([r" conf-message room=room3 "], a) and
               not bob.matching(lambda q: q.get(57) == "room3", mb), "nothing of room3 reaches alice or bob")

        # --- room3 is carol's: alice's createConference("room3") is refused (0x18 16=...), nobody is invited,
        # nobody in room3 hears of it.  OpenYMSG has no callback for it: its invite handler throws on the
        # missing inviter (50) and logs the packet; the session goes on (the steps below use it). ---
        a, mb, mc = alice.mark(), bob.mark(), carol.mark()
        alice.say("create room3 bob taken?")
        settle(alice, (bob, carol))
        log = open(os.path.join(s.tmp, "alice-oyconf.err"), errors="replace").read()
        s.step("name-taken", "[conference name in use]" in log and not alice.find([r" conf-"], a) and
               not bob.matching(lambda q: q.get(57) == "room3", mb) and not carol.matching(lambda q: True, mc),
               "refusal reached OpenYMSG (logged, no callback); bob not invited, carol told nothing")

        # --- alice quits: her session's end takes her out of room2 ---
        mb = bob.mark()
        alice.say("quit")
        p = bob.wait(pkt(0x1B, "room2", k56="alice"), mb, timeout=15)
        s.step("logoff", alice.gone(20) and p is not None, "process ended, bob's 0x1B: %r" % p)
        room_steps(s, erin, bob, carol, n)
        for ib in (bob, carol):
            ib.c.close()
    return run


LINUX_ID = "1600100001"  # the default rooms' first room (server/pager/chat.c chat_default_rooms)


def room(service, name, **keys):
    """A predicate: a room packet (104 = name) with each key (k109=...) equal; status=N checks the header."""
    status = keys.pop("status", None)

    def pred(p):
        if p.service != service or p.get(104) != name or (status is not None and p.status != status):
            return False
        return all(p.all(int(k[1:])) == (v if isinstance(v, list) else [v]) for k, v in keys.items())
    return pred


def room_steps(s, erin, bob, carol, n):
    """erin (OpenYMSG's legacy API) in the room Linux with bob and carol (raw sessions)."""
    hit = erin.wait([r" authenticationSuccess", r" authenticationFailure"], timeout=60)
    if not s.step("room-login", bool(hit) and "authenticationSuccess" in hit, hit or "legacy login: no answer in 60 s"):
        return
    # --- the room list: categories, each category's rooms with one lobby, the root's lobbies ---
    a = erin.mark()
    erin.say("list")
    hit = erin.wait([r" root lobbies=", r" cmd-exception"], a)
    with erin.lock:
        lines = erin.lines[a:]
    cats = [re.search(r" category id=(\d+) name=(.*)$", x).groups() for x in lines if " category id=" in x]
    rooms = [re.search(r" room cat=(\d+) id=\d+ name=(.*) topic=.* lobbies=(\S+)$", x).groups()
             for x in lines if " room cat=" in x]
    names = ["Linux", "Programming", "Rock", "Jazz", "Europe", "Americas"]
    s.step("room-list", bool(hit) and "root lobbies=" in hit and
           cats == [("1600000001", "Computers & Internet"), ("1600000002", "Music"), ("1600000003", "Regional")] and
           sorted(r[1] for r in rooms) == sorted(names) and all(r[2] == r[1] + ":1" for r in rooms) and
           hit.endswith(" root lobbies=" + ",".join(sorted(x + ":1" for x in names))),
           "categories %r, rooms %r, %s" % (cats, rooms, hit))
    # --- bob joins Linux by its name (libpurple's key set): his reply has the topic (105) ---
    mb = bob.mark()
    bob.c.send(0x98, [(1, "bob"), (104, "Linux"), (62, "2"), (129, LINUX_ID)])
    p = bob.wait(room(0x98, "Linux", status=1), mb)
    s.step("room-bob-in", p is not None and p.get(105) == "Penguins welcome" and p.all(109) == ["bob"], repr(p))
    # --- erin joins the lobby Linux:1 (chatConnect 0x96, then 0x98 104=Linux:1): OpenYMSG logs in and lists bob ---
    a, mb = erin.mark(), bob.mark()
    erin.say("join Linux:1")
    hit = erin.wait([r" chat-login lobby=", r" chat-login-failed"], a)
    s.step("room-join", bool(hit) and hit.endswith(" chat-login lobby=Linux:1 members=bob,erin"), hit or "no answer")
    p = bob.wait(room(0x98, "Linux", k109="erin"), mb)
    s.step("room-join-seen", p is not None and p.get(1) == "bob", "bob is told erin joined Linux: %r" % p)
    # --- messages: each reaches the other side exactly once, never echoed (one settle for both) ---
    t, u = "héllo ✓ from OpenYMSG %d" % n, "grüße ✓ from bob %d" % n
    a, mb = erin.mark(), bob.mark()
    erin.say("msg " + t)
    p = bob.wait(room(0xA8, "Linux", k109="erin", k117=t), mb)
    bob.c.send(0xA8, [(1, "bob"), (104, "Linux"), (117, u), (124, "1"), (97, "1")])
    hit = erin.wait([ev("chat-message", lobby="Linux:1", **{"from": "bob", "emote": "false", "msg": u})], a)
    settle(erin, (bob,))
    s.step("room-msg-out", p is not None and p.get(124) == "1" and p.get(97) == "1" and
           len(bob.matching(room(0xA8, "Linux", k117=t), mb)) == 1 and not erin.find([r" chat-message .*msg=" + re.escape(t)], a),
           "bob's copy %r, no echo to erin" % p)
    s.step("room-msg-in", bool(hit) and count_lines(erin, r" chat-message ", a) == 1 and
           not bob.matching(room(0xA8, "Linux", k117=u), mb), hit or "no chat-message")
    # --- carol joins and leaves with libyahoo2's key set: erin sees both in the lobby ---
    a, mc = erin.mark(), carol.mark()
    carol.c.send(0x98, [(1, "carol"), (104, "Linux"), (129, LINUX_ID), (62, "2")])
    p = carol.wait(room(0x98, "Linux", status=1), mc)
    hit = erin.wait([ev("chat-join", lobby="Linux:1", who="carol")], a)
    s.step("room-join-carol", p is not None and p.all(109) == ["bob", "erin", "carol"] and bool(hit),
           "carol's list %r; OpenYMSG: %s" % (p and p.all(109), hit))
    a = erin.mark()
    carol.c.send(0x9B, [(104, "Linux"), (109, "carol"), (108, "1"), (112, "0")])
    hit = erin.wait([ev("chat-exit", lobby="Linux:1", who="carol")], a)
    s.step("room-exit-carol", bool(hit), hit or "no chat-exit for carol")
    # --- erin's chatLogout (0xA0): bob sees her exit; nothing of the room reached anyone under another name ---
    a, mb = erin.mark(), bob.mark()
    erin.say("leave")
    p = bob.wait(room(0x9B, "Linux", k109="erin"), mb)
    err = open(os.path.join(s.tmp, "erin-oyroom.err"), errors="replace").read()
    s.step("room-leave", p is not None and not erin.find([r" cmd-exception"], a), "bob's 0x9B: %r" % p)
    odd = [q for q in bob.pkts + carol.pkts if q.service in (0x98, 0x9B, 0xA8) and q.get(104) not in (None, "Linux")]
    s.step("room-names", not odd and "NoSuchChatroom" not in err and "BadFormat" not in err,
           "bob/carol got only 'Linux' (%d other), OpenYMSG resolved every packet (stderr clean)" % len(odd))


def main():
    # --out (where OyConf is compiled) is ours; the rest is peers_session's shared command line
    out = None
    if "--out" in sys.argv[:-1]:
        i = sys.argv.index("--out")
        out = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    if not out:
        fail("--out BUILDDIR is required (where OyConf.java is compiled)")
    peers_session.run_main(lambda s: run_with(build_oyconf(s.work, os.path.abspath(out)))(s), client="openymsg",
                           label="openymsg conference and room",
                           prepare=lambda s: setattr(s, "extra_users", ("erin",)))


if __name__ == "__main__":
    main()
