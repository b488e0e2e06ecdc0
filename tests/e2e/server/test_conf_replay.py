#!/usr/bin/env python3
"""Byte-exact replays of the conference packets each real client sends (docs/CONFERENCES.md §1, built
from libyahoo2 1.0.0, libpurple 2.10.9 and OpenYMSG sources), checked against the exact bytes ymsgd must
answer with (§3): header (version, status 1, the recipient's session id) and body, key by key.

usage: test_conf_replay.py YMSGD [TEST...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Server, encode, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


def login_all(srv, *names):
    out = []
    for n in names:
        srv.add_user(n, "pw-" + n)
        out.append(srv.login(n, "pw-" + n))
    return out


def sent(c, service, pairs):
    """What the client puts on the wire: its session id, YMSG 16, status 0 (all three clients)."""
    raw = encode(service, pairs, 0, c.session, 16)
    c.send_raw(raw)
    return raw


def must_get(c, service, pairs):
    """The next packet to c must be exactly these bytes."""
    want = encode(service, pairs, 1, c.session, 16)
    p = c.recv(3.0)
    assert p is not None, "%s: expected %r, got nothing" % (c.user, want)
    assert p.raw == want, "%s:\n got  %r\n want %r" % (c.user, p.raw, want)


def must_be_quiet(*cs):
    for c in cs:
        got = c.drain(0.4)
        assert got == [], "%s got %r" % (c.user, got)


def test_replay_libyahoo2():
    """sample_client CCR / CLN / CMS / CIN / CDC / CLF through yahoo_conference_* (libyahoo2.c)."""
    with Server(YMSGD) as srv:
        a, b, c = login_all(srv, "alice", "bob", "carol")
        sent(a, 0x18, [(1, "alice"), (50, "alice"), (52, "bob"), (57, "r"), (58, "Join my conference"), (13, "0")])
        must_get(b, 0x18, [(1, "bob"), (50, "alice"), (57, "r"), (58, "Join my conference"), (52, "bob"), (13, "0")])
        sent(b, 0x19, [(1, "bob"), (3, "bob"), (57, "r"), (3, "bob"), (3, "alice")])
        must_get(a, 0x19, [(1, "alice"), (53, "bob"), (57, "r")])
        must_get(b, 0x19, [(1, "bob"), (53, "alice"), (57, "r")])
        sent(b, 0x1D, [(1, "bob"), (53, "bob"), (53, "bob"), (53, "alice"), (57, "r"), (14, "hi")])
        must_get(a, 0x1D, [(1, "alice"), (3, "bob"), (57, "r"), (14, "hi")])
        must_get(b, 0x1D, [(1, "bob"), (3, "bob"), (57, "r"), (14, "hi")])
        sent(a, 0x1C, [(1, "alice"), (51, "carol"), (57, "r"), (58, "Join my conference"), (13, "0"),
                       (52, "bob"), (53, "bob"), (52, "alice"), (53, "alice")])
        must_get(c, 0x18, [(1, "carol"), (50, "alice"), (57, "r"), (58, "Join my conference"), (52, "carol"),
                           (53, "bob"), (13, "0")])
        p = b.recv(3.0)
        assert p.raw == encode(0x1C, [(1, "bob"), (50, "alice"), (51, "carol"), (57, "r"), (13, "0")], 11,
                               b.session, 16), p
        sent(c, 0x1A, [(1, "carol"), (3, "carol"), (3, "alice"), (3, "bob"), (57, "r"),
                       (14, "Thanks, but no thanks!")])
        for x in (a, b):
            must_get(x, 0x1A, [(1, x.user), (54, "carol"), (57, "r"), (14, "Thanks, but no thanks!")])
        sent(b, 0x1B, [(1, "bob"), (3, "bob"), (3, "bob"), (3, "alice"), (57, "r")])
        must_get(a, 0x1B, [(1, "alice"), (56, "bob"), (57, "r")])
        must_be_quiet(a, b, c)


def test_replay_libpurple():
    """Pidgin: "Initiate Conference" = yahoo_conf_join (0x19) + yahoo_conf_invite (0x1C); yahoo_conf_send,
    yahoo_conf_leave (yahoochat.c)."""
    with Server(YMSGD) as srv:
        a, b = login_all(srv, "alice", "bob")
        sent(a, 0x19, [(1, "alice"), (3, "alice"), (57, "alice-2")])
        sent(a, 0x1C, [(1, "alice"), (51, "bob"), (57, "alice-2"), (58, "Join my conference..."), (13, "0")])
        must_get(b, 0x18, [(1, "bob"), (50, "alice"), (57, "alice-2"), (58, "Join my conference..."), (52, "bob"),
                           (13, "0")])
        must_be_quiet(a)
        sent(b, 0x19, [(1, "bob"), (3, "bob"), (57, "alice-2"), (3, "alice")])
        must_get(a, 0x19, [(1, "alice"), (53, "bob"), (57, "alice-2")])
        must_get(b, 0x19, [(1, "bob"), (53, "alice"), (57, "alice-2")])
        sent(a, 0x1D, [(1, "alice"), (53, "alice"), (53, "bob"), (57, "alice-2"), (14, "<b>hey</b>"), (97, "1")])
        for x in (a, b):
            must_get(x, 0x1D, [(1, x.user), (3, "alice"), (57, "alice-2"), (14, "<b>hey</b>"), (97, "1")])
        sent(a, 0x1B, [(1, "alice"), (3, "alice"), (3, "bob"), (57, "alice-2")])
        must_get(b, 0x1B, [(1, "bob"), (56, "alice"), (57, "alice-2")])
        must_be_quiet(a, b)


def test_replay_openymsg():
    """OpenYMSG Create/Accept/SendConferene/Extend/Decline/LeaveConferenceMessage."""
    with Server(YMSGD) as srv:
        a, b, c, d = login_all(srv, "alice", "bob", "carol", "dave")
        sent(a, 0x18, [(1, "alice"), (50, "alice"), (57, "oy"), (58, "talk"), (97, "1"), (52, "bob"), (13, "0")])
        must_get(b, 0x18, [(1, "bob"), (50, "alice"), (57, "oy"), (58, "talk"), (97, "1"), (52, "bob"), (13, "0")])
        sent(b, 0x19, [(1, "bob"), (57, "oy"), (3, "alice")])
        must_get(a, 0x19, [(1, "alice"), (53, "bob"), (57, "oy")])
        must_get(b, 0x19, [(1, "bob"), (53, "alice"), (57, "oy")])
        sent(b, 0x1D, [(1, "bob"), (57, "oy"), (53, "alice"), (97, "1"), (14, "\u00e9t\u00e9")])
        for x in (a, b):
            must_get(x, 0x1D, [(1, x.user), (3, "bob"), (57, "oy"), (14, "\u00e9t\u00e9"), (97, "1")])
        sent(b, 0x1C, [(1, "bob"), (57, "oy"), (51, "carol,dave"), (53, "alice"), (58, "more"), (97, "1"),
                       (13, "0")])
        for x in (c, d):
            must_get(x, 0x18, [(1, x.user), (50, "bob"), (57, "oy"), (58, "more"), (97, "1"), (52, x.user),
                               (53, "alice"), (13, "0")])
        p = a.recv(3.0)
        assert p.raw == encode(0x1C, [(1, "alice"), (50, "bob"), (51, "carol"), (51, "dave"), (57, "oy"),
                                      (13, "0")], 11, a.session, 16), p
        sent(c, 0x1A, [(1, "carol"), (3, "alice"), (3, "bob"), (57, "oy"), (14, "no")])
        for x in (a, b):
            must_get(x, 0x1A, [(1, x.user), (54, "carol"), (57, "oy"), (14, "no")])
        sent(d, 0x1B, [(1, "dave"), (57, "oy"), (3, "alice"), (3, "bob")])    # an invitee's leave: silent
        sent(a, 0x1B, [(1, "alice"), (57, "oy"), (3, "alice"), (3, "bob"), (3, "carol")])
        must_get(b, 0x1B, [(1, "bob"), (56, "alice"), (57, "oy")])
        must_be_quiet(a, b, c, d)


if __name__ == "__main__":
    run_tests([test_replay_libyahoo2, test_replay_libpurple, test_replay_openymsg])
