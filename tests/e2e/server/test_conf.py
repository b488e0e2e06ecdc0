#!/usr/bin/env python3
"""Conferences (0x18-0x1D, docs/CONFERENCES.md) against the real ymsgd: usage test_conf.py YMSGD [TEST...]

Raw clients send the key sets libyahoo2 1.0.0, libpurple 2.10.9 and OpenYMSG send (docs/CONFERENCES.md §1)
and check every packet the server answers with, key by key."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import ClusterServer, Server, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
INVITE, LOGON, DECLINE, LOGOFF, ADDINVITE, MSG = 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D
QUIET = 0.4  # seconds a client must stay silent when nothing may reach it


def users(srv, *names, invisible=()):
    out = []
    for n in names:
        srv.add_user(n, "pw-" + n)
        out.append(srv.login(n, "pw-" + n, status=12 if n in invisible else 0))
    return out


def pairs(p):
    return [(k, v.decode()) for k, v in p.pairs]


def quiet(*clients):
    for c in clients:
        got = c.drain(QUIET)
        assert got == [], "%s got %r" % (c.user, got)


# The exact key sets of the real clients (docs/CONFERENCES.md §1).
def l2_invite(me, room, who, msg="Join my conference"):          # libyahoo2 yahoo_conference_invite
    return [(1, me), (50, me)] + [(52, w) for w in who] + [(57, room), (58, msg), (13, "0")]


def l2_logon(me, room, members):                                 # libyahoo2 yahoo_conference_logon
    return [(1, me), (3, me), (57, room)] + [(3, m) for m in members]


def l2_decline(me, room, members, msg):                          # libyahoo2 yahoo_conference_decline
    return [(1, me), (3, me)] + [(3, m) for m in members] + [(57, room), (14, msg)]


def l2_logoff(me, room, members):                                # libyahoo2 yahoo_conference_logoff
    return [(1, me), (3, me)] + [(3, m) for m in members] + [(57, room)]


def l2_addinvite(me, who, room, members, msg="Join my conference"):  # libyahoo2 yahoo_conference_addinvite
    out = [(1, me), (51, who), (57, room), (58, msg), (13, "0")]
    for m in members:
        out += [(52, m), (53, m)]
    return out


def l2_msg(me, room, members, text, utf8=False):                 # libyahoo2 yahoo_conference_message
    out = [(1, me), (53, me)] + [(53, m) for m in members] + [(57, room), (14, text)]
    return out + ([(97, "1")] if utf8 else [])


def pu_join(me, room, members):                                  # libpurple yahoo_conf_join
    return [(1, me), (3, me), (57, room)] + [(3, m) for m in members if m != me]


def pu_invite(me, buddy, room, members, msg):                    # libpurple yahoo_conf_invite (0x1C)
    out = [(1, me), (51, buddy), (57, room), (58, msg), (13, "0")]
    for m in members:
        if m != me:
            out += [(52, m), (53, m)]
    return out


def pu_send(me, room, users_, text):                             # libpurple yahoo_conf_send
    return [(1, me)] + [(53, u) for u in users_] + [(57, room), (14, text), (97, "1")]


def pu_leave(me, room, users_):                                  # libpurple yahoo_conf_leave
    return [(1, me)] + [(3, u) for u in users_] + [(57, room)]


def oy_create(me, room, who, msg):                               # OpenYMSG CreateConferenceMessage
    return [(1, me), (50, me), (57, room), (58, msg), (97, "1")] + [(52, w) for w in who] + [(13, "0")]


def oy_extend(me, room, who, members, invited, msg):             # OpenYMSG ExtendConferenceMessage
    return ([(1, me), (57, room), (51, ",".join(who))] + [(53, m) for m in members] +
            [(52, i) for i in invited] + [(58, msg), (97, "1"), (13, "0")])


def oy_accept(me, room, members):                                # OpenYMSG AcceptConferenceMessage
    return [(1, me), (57, room)] + [(3, m) for m in members]


def oy_send(me, room, members, text):                            # OpenYMSG SendConfereneMessage
    return [(1, me), (57, room)] + [(53, m) for m in members] + [(97, "1"), (14, text)]


def expect_invite(c, inviter, room, msg, members=(), utf8=False):
    p = c.expect(INVITE)
    want = [(1, c.user), (50, inviter), (57, room), (58, msg)] + ([(97, "1")] if utf8 else [])
    want += [(52, c.user)] + [(53, m) for m in members] + [(13, "0")]
    assert p.status == 1 and pairs(p) == want, p
    return p


def expect_notice(c, service, key, who, room, extra=()):
    p = c.expect(service)
    assert p.status == 1 and pairs(p) == [(1, c.user), (key, who), (57, room)] + list(extra), p
    return p


def expect_msg(c, who, room, text, utf8=True):
    expect_notice(c, MSG, 3, who, room, [(14, text)] + ([(97, "1")] if utf8 else []))


def expect_unavailable(c, who, room):
    expect_notice(c, DECLINE, 54, who, room, [(14, "%s is not available" % who)])


# ---- the flows ------------------------------------------------------------------------------------

def test_three_users_conference():
    """libyahoo2's key sets: create with invites, two joins, messages to all (echo included), leave,
    a disconnect, the last leave ends the room."""
    with Server(YMSGD) as srv:
        a, b, c = users(srv, "alice", "bob", "carol")
        a.send(INVITE, l2_invite("alice", "room1", ["bob", "carol"]))
        expect_invite(b, "alice", "room1", "Join my conference")
        expect_invite(c, "alice", "room1", "Join my conference")
        quiet(a)                                                  # visible, online invitees: no answer
        b.send(LOGON, l2_logon("bob", "room1", ["alice"]))
        expect_notice(a, LOGON, 53, "bob", "room1")
        expect_notice(b, LOGON, 53, "alice", "room1")             # the joiner hears who is in
        c.send(LOGON, l2_logon("carol", "room1", ["alice", "bob"]))
        expect_notice(a, LOGON, 53, "carol", "room1")
        expect_notice(b, LOGON, 53, "carol", "room1")
        got = sorted(c.expect(LOGON).get(53) for _ in range(2))
        assert got == ["alice", "bob"], got
        c.send(MSG, l2_msg("carol", "room1", ["alice", "bob"], "hello all", utf8=True))
        for x in (a, b, c):                                       # every member, the sender too
            expect_msg(x, "carol", "room1", "hello all")
        a.send(MSG, l2_msg("alice", "room1", [], "no utf8"))      # a stale member list changes nothing
        for x in (a, b, c):
            expect_msg(x, "alice", "room1", "no utf8", utf8=False)
        b.send(LOGOFF, l2_logoff("bob", "room1", ["alice", "carol"]))
        expect_notice(a, LOGOFF, 56, "bob", "room1")
        expect_notice(c, LOGOFF, 56, "bob", "room1")
        quiet(b)
        b.send(MSG, l2_msg("bob", "room1", ["alice"], "after leaving"))   # not a member any more
        quiet(a, b, c)
        c.close()                                                  # a session ending leaves too
        expect_notice(a, LOGOFF, 56, "carol", "room1")
        a.send(LOGOFF, l2_logoff("alice", "room1", []))
        quiet(a, b)
        # the room is gone: bob's 0x19 makes a new one (Pidgin's way to start), alice hears nothing
        b.send(LOGON, l2_logon("bob", "room1", ["alice"]))
        a.send(MSG, l2_msg("alice", "room1", [], "am I in?"))
        quiet(a, b)
        b.send(MSG, l2_msg("bob", "room1", [], "mine now"))
        expect_msg(b, "bob", "room1", "mine now", utf8=False)
        quiet(a)


def test_decline_and_addinvite():
    """libpurple's start (0x19 then 0x1C), OpenYMSG's comma-separated 0x1C, a decline with its text."""
    with Server(YMSGD) as srv:
        a, b, c, d = users(srv, "alice", "bob", "carol", "dave")
        a.send(LOGON, pu_join("alice", "alice-2", []))
        a.send(ADDINVITE, pu_invite("alice", "bob", "alice-2", ["alice"], "Join my conference..."))
        expect_invite(b, "alice", "alice-2", "Join my conference...")
        b.send(LOGON, pu_join("bob", "alice-2", ["alice"]))
        expect_notice(a, LOGON, 53, "bob", "alice-2")
        expect_notice(b, LOGON, 53, "alice", "alice-2")
        b.send(ADDINVITE, oy_extend("bob", "alice-2", ["carol", "dave"], ["alice"], [], "come"))
        p = a.expect(ADDINVITE)                                  # the other member hears who was invited
        assert p.status == 11 and pairs(p) == [(1, "alice"), (50, "bob"), (51, "carol"), (51, "dave"),
                                               (57, "alice-2"), (13, "0")], p
        expect_invite(c, "bob", "alice-2", "come", members=["alice"], utf8=True)
        expect_invite(d, "bob", "alice-2", "come", members=["alice"], utf8=True)
        quiet(b)
        c.send(DECLINE, l2_decline("carol", "alice-2", ["alice", "bob"], "no thanks"))
        expect_notice(a, DECLINE, 54, "carol", "alice-2", [(14, "no thanks")])
        expect_notice(b, DECLINE, 54, "carol", "alice-2", [(14, "no thanks")])
        c.send(LOGON, l2_logon("carol", "alice-2", []))           # declined: no longer invited
        quiet(a, b, c)
        d.send(LOGON, oy_accept("dave", "alice-2", ["alice", "bob"]))
        expect_notice(a, LOGON, 53, "dave", "alice-2")
        expect_notice(b, LOGON, 53, "dave", "alice-2")
        assert sorted(d.expect(LOGON).get(53) for _ in range(2)) == ["alice", "bob"]
        d.send(MSG, oy_send("dave", "alice-2", ["alice", "bob"], "hi from OY"))
        for x in (a, b, d):
            expect_msg(x, "dave", "alice-2", "hi from OY")
        a.send(MSG, pu_send("alice", "alice-2", ["alice", "bob", "dave"], "<b>hi</b>"))
        for x in (a, b, d):
            expect_msg(x, "alice", "alice-2", "<b>hi</b>")
        a.send(LOGOFF, pu_leave("alice", "alice-2", ["alice", "bob", "dave"]))
        expect_notice(b, LOGOFF, 56, "alice", "alice-2")
        expect_notice(d, LOGOFF, 56, "alice", "alice-2")
        quiet(a, c)


def test_offline_and_unknown_invitees():
    """Offline, invisible, ignoring and unknown invitees give the inviter the same answer; the invisible
    one still gets the invitation and may join."""
    with Server(YMSGD) as srv:
        srv.add_user("dave", "pw-dave")                          # exists, never logs in
        a, e, f = users(srv, "alice", "erin", "frank", invisible=("erin",))
        f.send(0x85, [(1, "frank"), (7, "alice"), (13, "1")])     # frank ignores alice
        f.expect(0x85)
        a.send(INVITE, oy_create("alice", "r", ["dave", "nosuchuser", "erin", "frank"], "hey"))
        answers = [pairs(a.expect(DECLINE)) for _ in range(4)]
        assert answers == [[(1, "alice"), (54, n), (57, "r"), (14, "%s is not available" % n)]
                           for n in ("dave", "nosuchuser", "erin", "frank")], answers
        quiet(a, f)
        expect_invite(e, "alice", "r", "hey", utf8=True)           # invisible: delivered all the same
        e.send(LOGON, oy_accept("erin", "r", ["alice"]))          # joining reveals erin to the members
        expect_notice(a, LOGON, 53, "erin", "r")
        expect_notice(e, LOGON, 53, "alice", "r")


def test_spoofing_attempts():
    """Forged 1/3/53, messages to rooms one is not in, a logon without an invitation, a name collision."""
    with Server(YMSGD) as srv:
        a, b, m = users(srv, "alice", "bob", "mallory")
        a.send(INVITE, l2_invite("alice", "sec", ["bob"]))
        expect_invite(b, "alice", "sec", "Join my conference")
        b.send(LOGON, l2_logon("bob", "sec", ["alice"]))
        expect_notice(a, LOGON, 53, "bob", "sec")
        expect_notice(b, LOGON, 53, "alice", "sec")
        # mallory is no participant: every packet about "sec" is dropped, nobody hears of it
        m.send(MSG, [(1, "alice"), (3, "alice"), (53, "alice"), (53, "bob"), (57, "sec"), (14, "forged")])
        m.send(LOGON, l2_logon("mallory", "sec", ["alice", "bob"]))
        m.send(LOGON, [(1, "bob"), (3, "bob"), (57, "sec")])
        m.send(DECLINE, l2_decline("mallory", "sec", ["alice"], "x"))
        m.send(LOGOFF, [(1, "bob"), (3, "bob"), (57, "sec")])
        m.send(ADDINVITE, l2_addinvite("mallory", "mallory", "sec", ["alice"]))
        quiet(a, b, m)
        # taking the name over with 0x18: refused, the room untouched
        m.send(INVITE, l2_invite("mallory", "sec", ["alice"]))
        p = m.expect(INVITE)
        assert pairs(p) == [(1, "mallory"), (57, "sec"), (16, "conference name in use")], p
        quiet(a, b)
        # a member forging another member's identity: the server names the session's user
        b.send(MSG, [(1, "alice"), (3, "alice"), (53, "alice"), (57, "sec"), (14, "who am I")])
        expect_msg(a, "bob", "sec", "who am I", utf8=False)
        expect_msg(b, "bob", "sec", "who am I", utf8=False)
        # bob (a member, not an invitee) cannot decline; his forged 0x1B for alice removes only bob
        b.send(DECLINE, l2_decline("alice", "sec", [], "forged"))
        quiet(a, b)
        b.send(LOGOFF, [(1, "alice"), (3, "alice"), (56, "alice"), (57, "sec")])
        expect_notice(a, LOGOFF, 56, "bob", "sec")
        # malformed: no room, empty room, control byte, no text
        for pk in ([(1, "alice"), (14, "x")], [(57, ""), (14, "x")], [(57, "s\x01c"), (14, "x")], [(57, "sec")]):
            a.send(MSG, pk)
        quiet(a, b, m)
        a.send(MSG, l2_msg("alice", "sec", [], "still here"))
        expect_msg(a, "alice", "sec", "still here", utf8=False)


def test_invisibility():
    """docs/CONFERENCES.md §5: hidden members stay out of lists and notices until they take part."""
    with Server(YMSGD) as srv:
        a, b, d, e, c = users(srv, "alice", "bob", "dave", "erin", "carol", invisible=("dave", "carol"))
        # an invisible inviter reveals itself to its invitees only
        c.send(INVITE, l2_invite("carol", "c-room", ["alice"]))
        assert a.expect(INVITE).get(50) == "carol"
        quiet(c)                                                  # alice is visible: no "not available"
        # alice's room: bob joins, invisible dave is invited and joins (revealed to alice and bob)
        a.send(INVITE, l2_invite("alice", "r", ["bob", "dave"]))
        expect_invite(b, "alice", "r", "Join my conference")
        expect_unavailable(a, "dave", "r")                       # alice cannot see dave
        expect_invite(d, "alice", "r", "Join my conference")
        b.send(LOGON, l2_logon("bob", "r", []))
        expect_notice(a, LOGON, 53, "bob", "r")
        expect_notice(b, LOGON, 53, "alice", "r")
        d.send(LOGON, l2_logon("dave", "r", []))
        expect_notice(a, LOGON, 53, "dave", "r")
        expect_notice(b, LOGON, 53, "dave", "r")
        assert sorted(d.expect(LOGON).get(53) for _ in range(2)) == ["alice", "bob"]
        # erin is invited later: her invitation lists bob but not the hidden dave
        a.send(ADDINVITE, l2_addinvite("alice", "erin", "r", ["bob", "dave"]))
        expect_invite(e, "alice", "r", "Join my conference", members=["bob"])
        for x in (b, d):
            assert x.expect(ADDINVITE).get(51) == "erin"
        e.send(LOGON, l2_logon("erin", "r", ["alice", "bob"]))
        for x in (a, b, d):
            expect_notice(x, LOGON, 53, "erin", "r")
        assert sorted(e.expect(LOGON).get(53) for _ in range(2)) == ["alice", "bob"]
        quiet(e)
        # dave speaks: that reveals him to erin (the message names him) ...
        d.send(MSG, l2_msg("dave", "r", [], "boo"))
        for x in (a, b, d, e):
            expect_msg(x, "dave", "r", "boo", utf8=False)
        # ... so his leave is news to her too
        d.send(LOGOFF, l2_logoff("dave", "r", []))
        for x in (a, b, e):
            expect_notice(x, LOGOFF, 56, "dave", "r")
        # carol joins alice's room (invited, invisible); bob does not see her leave if she never took part
        a.send(ADDINVITE, l2_addinvite("alice", "carol", "r", []))
        expect_unavailable(a, "carol", "r")                      # alice cannot see carol
        c.expect(INVITE)
        for x in (b, e):
            x.expect(ADDINVITE)
        c.send(0xC5, [(13, "2")])                                  # still invisible (no-op), then join:
        c.send(LOGON, l2_logon("carol", "r", []))
        for x in (a, b, e):
            expect_notice(x, LOGON, 53, "carol", "r")             # joining reveals
        c.drain(QUIET)
        c.close()                                                 # her leave reaches those she revealed to
        for x in (a, b, e):
            expect_notice(x, LOGOFF, 56, "carol", "r")


def test_hidden_member_leave_not_told():
    """A hidden member that never revealed itself to a later joiner: its leave is not told to that joiner."""
    with Server(YMSGD) as srv:
        a, d, e = users(srv, "alice", "dave", "erin", invisible=("dave",))
        a.send(INVITE, l2_invite("alice", "h", ["dave"]))
        expect_unavailable(a, "dave", "h")
        d.expect(INVITE)
        d.send(LOGON, l2_logon("dave", "h", []))
        expect_notice(a, LOGON, 53, "dave", "h")
        d.expect(LOGON)
        a.send(INVITE, l2_invite("alice", "h", ["erin"]))        # 0x18 from a member = add-invite
        expect_invite(e, "alice", "h", "Join my conference")      # no dave in 53
        assert d.expect(ADDINVITE).status == 11
        e.send(LOGON, l2_logon("erin", "h", []))
        expect_notice(a, LOGON, 53, "erin", "h")
        expect_notice(d, LOGON, 53, "erin", "h")
        expect_notice(e, LOGON, 53, "alice", "h")
        quiet(e)                                                  # nothing about dave
        d.close()
        expect_notice(a, LOGOFF, 56, "dave", "h")
        quiet(e)


def test_limits():
    """conf_max_members, conf_max_per_user, conf_invite_rate, conf_max_message (flags)."""
    args = ["--conf-max-members", "3", "--conf-max-per-user", "2", "--conf-invite-rate", "5",
            "--conf-max-message", "20"]
    with Server(YMSGD, extra_args=args) as srv:
        a, b, c, d, e = users(srv, "alice", "bob", "carol", "dave", "erin")
        a.send(INVITE, l2_invite("alice", "r1", ["bob", "carol", "dave"]))   # alice + 2 fit
        expect_invite(b, "alice", "r1", "Join my conference")
        expect_invite(c, "alice", "r1", "Join my conference")
        quiet(a, d)
        b.send(LOGON, l2_logon("bob", "r1", []))
        a.expect(LOGON)
        b.expect(LOGON)
        b.send(MSG, l2_msg("bob", "r1", [], "x" * 20))
        expect_msg(a, "bob", "r1", "x" * 20, utf8=False)
        expect_msg(b, "bob", "r1", "x" * 20, utf8=False)
        b.send(MSG, l2_msg("bob", "r1", [], "x" * 21))          # over conf_max_message: dropped
        quiet(a, b)
        # alice: 3 invitations spent (the one skipped for room size too), 2 left this minute
        a.send(LOGON, l2_logon("alice", "r2", []))                # second room: allowed
        a.send(LOGON, l2_logon("alice", "r3", []))                # third: over conf_max_per_user
        a.send(ADDINVITE, l2_addinvite("alice", "erin", "r3", []))
        quiet(e)
        a.send(ADDINVITE, l2_addinvite("alice", "erin", "r2", []))
        expect_invite(e, "alice", "r2", "Join my conference")
        a.send(ADDINVITE, l2_addinvite("alice", "dave", "r2", []))
        expect_invite(d, "alice", "r2", "Join my conference")
        a.send(ADDINVITE, l2_addinvite("alice", "carol", "r2", []))   # sixth invitation: over the rate
        quiet(a, c)
        assert "conf_invite_limited" in srv.log_text()
        assert "conf_capped" in srv.log_text()


def test_duplicate_login_leaves_conferences():
    """A second login of a member: the new client knows none of the old one's rooms, so it left them."""
    with Server(YMSGD) as srv:
        a, b = users(srv, "alice", "bob")
        a.send(INVITE, l2_invite("alice", "d", ["bob"]))
        b.expect(INVITE)
        b.send(LOGON, l2_logon("bob", "d", []))
        a.expect(LOGON)
        b.expect(LOGON)
        b2 = srv.login("bob", "pw-bob")
        expect_notice(a, LOGOFF, 56, "bob", "d")
        a.send(MSG, l2_msg("alice", "d", [], "anyone?"))
        expect_msg(a, "alice", "d", "anyone?", utf8=False)
        quiet(b2)


def test_cluster_invitee_on_other_node():
    """docs/CONFERENCES.md §7: every node keeps a replica of the table; an invitee on another node is
    invited and joins as on one node, and a duplicate login on another node takes the member out of its
    conferences (more in test_cluster_groups.py)."""
    with ClusterServer(YMSGD, nodes=2) as srv:
        for n in ("alice", "bob", "carol"):
            srv.add_user(n, "pw-" + n)
        a = srv.login("alice", "pw-alice", node=0)
        b = srv.login("bob", "pw-bob", node=1)
        c = srv.login("carol", "pw-carol", node=0)
        a.send(INVITE, l2_invite("alice", "cl", ["bob", "carol"]))
        expect_invite(b, "alice", "cl", "Join my conference")
        expect_invite(c, "alice", "cl", "Join my conference")
        quiet(a)
        c.send(LOGON, l2_logon("carol", "cl", []))
        expect_notice(a, LOGON, 53, "carol", "cl")
        expect_notice(c, LOGON, 53, "alice", "cl")
        # node 1 has carol's join once an IM node 0 sent after it is in (the bus keeps a node's order)
        c.send(0x06, [(1, "carol"), (5, "bob"), (14, "sync")])
        assert b.expect(0x06, skip=(0x01, 0x02, 0x03, 0x04, 0xC6, 0xF0)).get(14) == "sync"
        b.send(LOGON, l2_logon("bob", "cl", []))
        expect_notice(a, LOGON, 53, "bob", "cl")
        expect_notice(c, LOGON, 53, "bob", "cl")
        assert sorted(b.expect(LOGON).get(53) for _ in range(2)) == ["alice", "carol"]
        c2 = srv.login("carol", "pw-carol", node=1)                  # carol moves to node 1
        expect_notice(a, LOGOFF, 56, "carol", "cl")
        expect_notice(b, LOGOFF, 56, "carol", "cl")
        b.send(MSG, l2_msg("bob", "cl", [], "two left"))
        expect_msg(a, "bob", "cl", "two left", utf8=False)
        expect_msg(b, "bob", "cl", "two left", utf8=False)
        quiet(c2)


if __name__ == "__main__":
    run_tests([test_three_users_conference, test_decline_and_addinvite, test_offline_and_unknown_invitees,
               test_spoofing_attempts, test_invisibility, test_hidden_member_leave_not_told, test_limits,
               test_duplicate_login_leaves_conferences, test_cluster_invitee_on_other_node])
