#!/usr/bin/env python3
"""The real libyahoo2 1.0.0 sample client in conferences with our users (docs/CONFERENCES.md).

usage: conf_peers.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --build-kit build_kit.sh

alice is libyahoo2's sample client (its own commands CCR/CIN/CLN/CLF/CMS, passed through unchanged by
libyahoo2-peer; what it prints is its own text); bob and carol are raw YMSG sessions (the e2e harness's
Client, token login over HTTP) that check every packet the server sends them.  Steps: alice opens a
conference inviting bob and carol, bob joins, messages both ways (alice's own echo included), carol
declines, alice add-invites carol again, bob invites alice to a second room, alice joins it, bob leaves
it, alice leaves the first.  A missing kit or program is a FAIL, never a skip.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e", "server"))
import peers_session  # noqa: E402
from ymsgd_harness import Server  # noqa: E402


def raw_login(s, user):
    """A raw session for user on the session's ymsgd (the harness's token login, over HTTP)."""
    h = Server.__new__(Server)
    h.http_port, h.ymsg_port = s.p_http, s.p_pager
    return h.login(user, s.pw)


def wait_pkt(c, pred, timeout=10.0):
    """The first packet c receives within timeout that pred accepts, or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = c.recv(max(0.05, deadline - time.time()))
        if p is None:
            return None
        if pred(p):
            return p
    return None


def run(s):
    alice = s.peer("libyahoo2", "alice")
    ok = alice.wait([r"logged in"], timeout=45)
    if not s.step("login", bool(ok), ok or "no 'logged in' in 45 s"):
        return
    bob, carol = raw_login(s, "bob"), raw_login(s, "carol")
    bob.drain(1.0)
    carol.drain(0.3)

    m = alice.mark()
    alice.say("CCR room1 bob carol")
    for c in (bob, carol):
        p = wait_pkt(c, lambda p: p.service == 0x18)
        s.step("invite-" + c.user, p is not None and p.get(50) == "alice" and p.get(57) == "room1" and
               p.get(58) == "Join my conference" and p.get(1) == c.user, repr(p))

    bob.send(0x19, [(1, "bob"), (3, "bob"), (57, "room1"), (3, "alice")])
    s.step("join-seen", bool(alice.wait([r"bob joined the conference room1"], m)), "alice prints the join")
    bob.drain(0.5)

    m = alice.mark()
    bob.send(0x1D, [(1, "bob"), (53, "bob"), (53, "alice"), (57, "room1"), (14, "hello from bob")])
    s.step("msg-in", bool(alice.wait([r"bob \(in room1 \[alice\]\): hello from bob"], m)), "")
    bob.drain(0.5)

    m = alice.mark()
    alice.say("CMS room1 hi from alice")
    p = wait_pkt(bob, lambda p: p.service == 0x1D)
    s.step("msg-out", p is not None and p.get(3) == "alice" and p.get(14) == "hi from alice" and
           p.get(57) == "room1", repr(p))
    s.step("msg-echo", bool(alice.wait([r"alice \(in room1 \[alice\]\): hi from alice"], m)),
           "the server echoes to the sender")

    m = alice.mark()
    carol.send(0x1A, [(1, "carol"), (3, "carol"), (3, "alice"), (57, "room1"), (14, "busy now")])
    s.step("decline-seen", bool(alice.wait([r"carol declined the invitation from alice to room1"], m)), "")
    bob.drain(0.5)

    alice.say("CIN room1 carol")
    p = wait_pkt(carol, lambda p: p.service == 0x18)
    s.step("addinvite", p is not None and p.get(50) == "alice" and p.get(57) == "room1" and
           p.all(53) == ["bob"], repr(p))

    m = alice.mark()
    bob.send(0x18, [(1, "bob"), (50, "bob"), (52, "alice"), (57, "room2"), (58, "second"), (13, "0")])
    s.step("invited", bool(alice.wait([r"bob has invited you \[alice\] to a conference: room2"], m)), "")
    alice.say("CLN room2")
    p = wait_pkt(bob, lambda p: p.service == 0x19 and p.get(57) == "room2")
    s.step("joined", p is not None and p.get(53) == "alice", repr(p))

    m = alice.mark()
    bob.send(0x1B, [(1, "bob"), (3, "bob"), (3, "alice"), (57, "room2")])
    s.step("leave-seen", bool(alice.wait([r"bob left the conference room2"], m)), "")

    alice.say("CLF room1")
    p = wait_pkt(bob, lambda p: p.service == 0x1B and p.get(57) == "room1")
    s.step("left", p is not None and p.get(56) == "alice", repr(p))
    alice.say("OFF")
    for c in (bob, carol):
        c.close()


def main():
    peers_session.run_main(run, client="libyahoo2", label="libyahoo2 conference")


if __name__ == "__main__":
    main()
