#!/usr/bin/env python3
"""Conferences and chat rooms with their members on different nodes (docs/CONFERENCES.md §7,
docs/CHAT_ROOMS.md §6): usage test_cluster_groups.py YMSGD [TEST...]

Each node keeps a replica of the conference table and of room membership, kept current by C/R frames on
the cluster bus (server/cluster/groups.c).  A change reaches the other nodes through Redis in about a
millisecond; where a test acts on one node right after a change made on another one it first waits
for a packet that the changing node sent after the change (`sync`: an IM, which rides the same bus
behind the frame), never for a fixed time."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import ClusterServer, run_tests  # noqa: E402
import test_conf as C  # noqa: E402
import test_rooms as R  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
IM = 0x06
PRESENCE = (0x01, 0x02, 0x03, 0x04, 0xC6, 0xF0)


def cluster(extra=()):
    return ClusterServer(YMSGD, extra_args=R.FAST + list(extra), nodes=3)


def logins(srv, *placement):
    """One session per (name, node[, "invisible"]): an invisible one logs in with status 12."""
    out = []
    for name, node, *inv in placement:
        srv.add_user(name, "pw-" + name)
        out.append(srv.login(name, "pw-" + name, node=node, status=12 if inv else 0))
    return out


def sync(x, y):
    """x's node sent everything it queued before this IM to y: y has it once the IM is in."""
    x.send(IM, [(1, x.user), (5, y.user), (14, "sync")])
    p = y.expect(IM, skip=PRESENCE)
    assert p.get(14) == "sync", p


def room(c, service):
    """The next room packet, of this service (presence skipped)."""
    return c.expect(service, skip=PRESENCE + (R.ONLINE,))


def msg_once(room, sender, text, members, outsiders=()):
    """sender's 0x1D reaches every member exactly once (itself included), nobody else."""
    sender.send(C.MSG, C.l2_msg(sender.user, room, [], text))
    for m in members:
        C.expect_msg(m, sender.user, room, text, utf8=False)
    C.quiet(*members, *outsiders)


def test_conference_three_nodes():
    """Invite, join, decline told to the inviter, add-invite, messages once each, leave notices, the last
    one out ends it everywhere; a forged sender is rewritten; then concurrent_changes_converge."""
    with cluster() as srv:
        a, b, c, d = logins(srv, ("alice", 0), ("bob", 1), ("carol", 2), ("dave", 0))
        a.send(C.INVITE, C.l2_invite("alice", "cl", ["bob", "carol"]))
        C.expect_invite(b, "alice", "cl", "Join my conference")
        C.expect_invite(c, "alice", "cl", "Join my conference")
        C.quiet(a)                                                   # both available: no 0x1A
        b.send(C.LOGON, C.l2_logon("bob", "cl", ["alice"]))
        C.expect_notice(a, C.LOGON, 53, "bob", "cl")
        C.expect_notice(b, C.LOGON, 53, "alice", "cl")
        sync(b, c)
        c.send(C.DECLINE, C.l2_decline("carol", "cl", ["alice"], "busy"))
        C.expect_notice(a, C.DECLINE, 54, "carol", "cl", [(14, "busy")])
        C.expect_notice(b, C.DECLINE, 54, "carol", "cl", [(14, "busy")])
        sync(c, a)
        a.send(C.ADDINVITE, C.l2_addinvite("alice", "carol", "cl", ["bob"]))
        C.expect_invite(c, "alice", "cl", "Join my conference", members=["bob"])
        o = b.expect(C.ADDINVITE)
        assert o.status == 11 and o.get(51) == "carol", o
        c.send(C.LOGON, C.l2_logon("carol", "cl", []))
        for x in (a, b):
            C.expect_notice(x, C.LOGON, 53, "carol", "cl")
        got = sorted(c.expect(C.LOGON).get(53) for _ in range(2))
        assert got == ["alice", "bob"], got
        sync(c, a)
        msg_once("cl", a, "from node 0", (a, b, c), (d,))
        msg_once("cl", b, "from node 1", (a, b, c), (d,))
        msg_once("cl", c, "from node 2", (a, b, c), (d,))
        # carol forges alice as the sender: the server names carol
        c.send(C.MSG, [(1, "alice"), (3, "alice"), (53, "alice"), (57, "cl"), (14, "forged")])
        for x in (a, b, c):
            C.expect_msg(x, "carol", "cl", "forged", utf8=False)
        # an outsider on another node cannot speak in it or take its name
        d.send(C.MSG, C.l2_msg("dave", "cl", ["alice"], "intruder"))
        d.send(C.INVITE, C.l2_invite("dave", "cl", ["alice"]))
        assert C.pairs(d.expect(C.INVITE)) == [(1, "dave"), (57, "cl"), (16, "conference name in use")]
        C.quiet(a, b, c)
        b.send(C.LOGOFF, C.l2_logoff("bob", "cl", ["alice", "carol"]))
        for x in (a, c):
            C.expect_notice(x, C.LOGOFF, 56, "bob", "cl")
        sync(b, a)
        a.send(C.LOGOFF, C.l2_logoff("alice", "cl", ["carol"]))
        C.expect_notice(c, C.LOGOFF, 56, "alice", "cl")
        c.send(C.LOGOFF, C.l2_logoff("carol", "cl", []))
        sync(c, d)
        # ended on every node: the name is free for dave on node 0 (no refusal), and his room works
        d.send(C.INVITE, C.l2_invite("dave", "cl", ["bob"]))
        C.expect_invite(b, "dave", "cl", "Join my conference")
        C.quiet(d, a, c)
        concurrent_changes_converge(a, b, c, d)


def test_conference_invisible_invitee_on_other_node():
    """An invisible invitee on another node looks exactly like an offline one to the inviter, still gets
    the invitation and may join (joining reveals it); an offline one gets nothing, of course."""
    with cluster() as srv:
        a, e = logins(srv, ("alice", 0), ("erin", 1, "invisible"))
        srv.add_user("oscar", "pw-oscar")                            # exists, offline
        a.send(C.INVITE, C.oy_create("alice", "r", ["oscar", "erin"], "hey"))
        answers = [C.pairs(a.expect(C.DECLINE)) for _ in range(2)]
        assert answers == [[(1, "alice"), (54, n), (57, "r"), (14, "%s is not available" % n)]
                           for n in ("oscar", "erin")], answers
        C.quiet(a)
        C.expect_invite(e, "alice", "r", "hey", utf8=True)
        e.send(C.LOGON, C.oy_accept("erin", "r", ["alice"]))
        C.expect_notice(a, C.LOGON, 53, "erin", "r")
        C.expect_notice(e, C.LOGON, 53, "alice", "r")


def logons_until_sync(x, y):
    """The 0x19 notices y gets before an IM from x (x's node sent everything it queued before the IM)."""
    x.send(IM, [(1, x.user), (5, y.user), (14, "sync")])
    got = []
    while True:
        p = y.recv()
        assert p is not None, "%s: no sync IM" % y.user
        if p.service in PRESENCE:
            continue
        if p.service == IM and p.get(14) == "sync":
            return got
        assert p.service == C.LOGON and p.get(57) == "cw", p
        got.append(p.get(53))


def concurrent_changes_converge(a, b, c, d):
    """Two invitations sent in the same instant from two nodes, then two acceptances in the same instant on
    two nodes: both invitations and both joins stay on every node (each node's replica merges the other's
    change participant by participant), so a message sent from each node reaches all four members once.
    alice, bob, carol, dave on nodes 0, 1, 2, 0 (run at the end of test_conference_three_nodes: a cluster
    start costs more than the scenario)."""
    a.send(C.INVITE, C.l2_invite("alice", "cw", ["bob"]))
    C.expect_invite(b, "alice", "cw", "Join my conference")
    b.send(C.LOGON, C.l2_logon("bob", "cw", ["alice"]))
    C.expect_notice(a, C.LOGON, 53, "bob", "cw")
    C.expect_notice(b, C.LOGON, 53, "alice", "cw")
    sync(b, a)
    # the same instant: alice (node 0) invites carol, bob (node 1) invites dave
    a.send(C.ADDINVITE, C.l2_addinvite("alice", "carol", "cw", ["bob"]))
    b.send(C.ADDINVITE, C.l2_addinvite("bob", "dave", "cw", ["alice"]))
    C.expect_invite(c, "alice", "cw", "Join my conference", members=["bob"])
    C.expect_invite(d, "bob", "cw", "Join my conference", members=["alice"])
    for x, who in ((a, "dave"), (b, "carol")):
        o = x.expect(C.ADDINVITE)
        assert o.status == 11 and o.get(51) == who, o
    sync(a, c)
    sync(b, d)
    # the same instant: carol (node 2) and dave (node 0) accept
    c.send(C.LOGON, C.l2_logon("carol", "cw", []))
    d.send(C.LOGON, C.l2_logon("dave", "cw", []))
    for x in (a, b):
        got = sorted(x.expect(C.LOGON).get(53) for _ in range(2))
        assert got == ["carol", "dave"], (x.user, got)
    # each joiner hears of alice and bob; of the other joiner only if its node had that join already
    got_c, got_d = logons_until_sync(d, c), logons_until_sync(c, d)
    assert sorted(set(got_c) - {"dave"}) == ["alice", "bob"] and len(got_c) == len(set(got_c)), got_c
    assert sorted(set(got_d) - {"carol"}) == ["alice", "bob"] and len(got_d) == len(set(got_d)), got_d
    sync(a, b)
    sync(b, a)
    for x in (a, b, c, d):                                       # every node's replica has all four
        x.send(C.MSG, C.l2_msg(x.user, "cw", [], "from " + x.user))
    for y in (a, b, c, d):
        got = sorted((p.get(3), p.get(14)) for p in (y.expect(C.MSG, skip=PRESENCE) for _ in range(4)))
        assert got == [(x.user, "from " + x.user) for x in (a, b, c, d)], (y.user, got)
    C.quiet(a, b, c, d)                                          # ... once each


def test_room_two_nodes():
    """A room with members on two nodes: join lists, notices, messages without echo, invite, exit."""
    with cluster() as srv:
        a, b, c = logins(srv, ("alice", 0), ("bob", 1), ("carol", 2))
        R.pid_join(a, "Linux")
        assert R.join_reply(a)[1] == ["alice"]
        sync(a, b)
        R.pid_join(b, "Linux")
        assert R.join_reply(b)[1] == ["alice", "bob"]
        assert room(a, R.JOIN).get(109) == "bob"
        R.pid_say(a, "Linux", "hello from node 0")
        p = room(b, R.COMMENT)
        assert (p.get(109), p.get(117)) == ("alice", "hello from node 0"), p
        R.pid_say(b, "Linux", "hello from node 1")
        p = room(a, R.COMMENT)
        assert (p.get(109), p.get(117)) == ("bob", "hello from node 1"), p
        # forged sender keys: the session's name goes out
        b.send(R.COMMENT, [(1, "alice"), (109, "alice"), (104, "Linux"), (117, "forged"), (124, "1")])
        assert room(a, R.COMMENT).get(109) == "bob"
        b.send(R.INVITE, [(1, "bob"), (118, "carol"), (104, "Linux"), (117, "come"), (129, "0")])
        p = room(c, R.INVITE)
        assert (p.get(119), p.get(118), p.get(104)) == ("bob", "carol", "Linux"), p
        # carol joins by the lobby (OpenYMSG's legacy API, CHAT_ROOMS.md §2.1): her R frame carries "Linux:1",
        # so packets built for her on the other nodes name the lobby too; the others keep "Linux"
        R.oy_join(c, "Linux:1", "1600100001")
        pk, members = R.join_reply(c)
        assert members == ["alice", "bob", "carol"] and pk[0].get(104) == "Linux:1" and pk[0].get(105) is None, pk[0]
        for x in (a, b):
            p = room(x, R.JOIN)
            assert (p.get(109), p.get(104)) == ("carol", "Linux"), p
        R.pid_leave(b, "Linux")
        room(b, R.LOGOUT)
        for x, name in ((a, "Linux"), (c, "Linux:1")):
            p = room(x, R.EXIT)
            assert (p.get(109), p.get(104)) == ("bob", name), p
        sync(b, c)
        R.oy_say(c, "Linux:1", "bob is gone")
        p = room(a, R.COMMENT)
        assert (p.get(117), p.get(104)) == ("bob is gone", "Linux"), p
        R.pid_say(a, "Linux", "bye carol")
        p = room(c, R.COMMENT)
        assert (p.get(117), p.get(104)) == ("bye carol", "Linux:1"), p
        C.quiet(a, b, c)                                             # no echo, nothing twice


def test_node_killed_members_leave():
    """Liveness under stalls first (server/cluster/cluster.c cl_nodes_seen, cl_zadd_done): Redis frozen
    (SIGSTOP) longer than the node timeout (2 s here) does not make the nodes declare each other dead when it
    runs again (before: each judged the old heartbeat table it read late by the clock of the reading), nor
    does a node stopped for less than the timeout.  A node stopped for longer IS declared dead (its users
    leave the conferences and rooms of the others, each told once), and when it runs again it finds out,
    writes its sessions again and its users rejoin: the others are told and the conference and the room
    work again (before: they stayed out of both until they joined again).
    Then kill -9 of a node: its users leave the conferences and rooms of the others, each told once; when it
    comes back it learns the conferences and rooms of the others."""
    with cluster(["--chat-msg-rate", "1000", "--chat-msg-burst", "1000"]) as srv:  # dave's joins poll
        a, b, c = logins(srv, ("alice", 0), ("bob", 1), ("carol", 2))
        a.send(C.INVITE, C.l2_invite("alice", "k", ["bob", "carol"]))
        C.expect_invite(b, "alice", "k", "Join my conference")
        C.expect_invite(c, "alice", "k", "Join my conference")
        b.send(C.LOGON, C.l2_logon("bob", "k", []))
        C.expect_notice(a, C.LOGON, 53, "bob", "k")
        C.expect_notice(b, C.LOGON, 53, "alice", "k")
        sync(b, c)
        c.send(C.LOGON, C.l2_logon("carol", "k", []))
        for x in (a, b):
            C.expect_notice(x, C.LOGON, 53, "carol", "k")
        assert sorted(c.expect(C.LOGON).get(53) for _ in range(2)) == ["alice", "bob"]
        R.pid_join(a, "Rock")
        R.join_reply(a)
        sync(a, b)
        R.pid_join(b, "Rock")
        R.join_reply(b)
        assert room(a, R.JOIN).get(109) == "bob"
        sync(b, c)
        R.pid_join(c, "Rock")
        assert R.join_reply(c)[1] == ["alice", "bob", "carol"]
        for x in (a, b):
            assert room(x, R.JOIN).get(109) == "carol"
        C.quiet(a, b, c)
        rpid, pid1 = srv.redis.proc.pid, srv.nodes[1].proc.pid
        os.kill(rpid, signal.SIGSTOP)
        try:
            time.sleep(2.6)
        finally:
            os.kill(rpid, signal.SIGCONT)
        os.kill(pid1, signal.SIGSTOP)
        try:
            time.sleep(1.0)
        finally:
            os.kill(pid1, signal.SIGCONT)
        msg_once("k", a, "nobody left", (a, b, c))                 # behind any leave a node would have told
        assert "cluster_node_lost" not in srv.log_text(), "a node declared dead after a stall shorter than the timeout"
        os.kill(pid1, signal.SIGSTOP)
        try:
            for x in (a, c):
                seen = []
                while len(seen) < 2:
                    p = x.recv(timeout=12)
                    assert p is not None, "%s: only %r while node 1 stood still" % (x.user, seen)
                    if p.service in (C.LOGOFF, R.EXIT):
                        seen.append((p.service, p.get(56) or p.get(109)))
                assert sorted(seen) == [(C.LOGOFF, "bob"), (R.EXIT, "bob")], seen
        finally:
            os.kill(pid1, signal.SIGCONT)
        for x in (a, c):                                             # bob is back in both, each told once
            seen = []
            while len(seen) < 2:
                p = x.recv(timeout=10)
                assert p is not None, "%s: only %r after node 1 ran again" % (x.user, seen)
                if p.service in (C.LOGON, R.JOIN):
                    seen.append((p.service, p.get(53) or p.get(109)))
            assert sorted(seen) == [(C.LOGON, "bob"), (R.JOIN, "bob")], seen
        assert "cluster_declared_dead" in srv.nodes[1].log_text()
        msg_once("k", b, "back again", (a, b, c))
        msg_once("k", a, "welcome back", (a, b, c))                  # node 0's replica has bob again
        R.pid_say(b, "Rock", "rocking again")
        for x in (a, c):
            assert room(x, R.COMMENT).get(117) == "rocking again"
        R.pid_say(c, "Rock", "hi bob")                               # and node 2's room has him
        for x in (a, b):
            assert room(x, R.COMMENT).get(117) == "hi bob"
        C.quiet(a, b, c)
        srv.nodes[1].stop(signal.SIGKILL)
        for x in (a, c):                                             # within the node timeout (10 s)
            seen = []
            while len(seen) < 2:
                p = x.recv(timeout=12)
                assert p is not None, "%s: only %r after the kill" % (x.user, seen)
                if p.service in (C.LOGOFF, R.EXIT):
                    seen.append((p.service, p.get(56) or p.get(109)))
            assert sorted(seen) == [(C.LOGOFF, "bob"), (R.EXIT, "bob")], seen
        assert [p for p in a.drain(0.5) + c.drain(0.1) if p.service in (C.LOGOFF, R.EXIT)] == []
        msg_once("k", a, "still here", (a, c))
        R.pid_say(c, "Rock", "still rocking")
        assert room(a, R.COMMENT).get(117) == "still rocking"
        C.quiet(a, c)
        # node 1 comes back empty: the others announce what it lacks once they see it
        srv.start_node(1)
        srv.add_user("dave", "pw-dave")
        d = srv.login("dave", "pw-dave", node=1)
        deadline = time.time() + 10
        while True:                                                  # a join again just lists the room again
            R.pid_join(d, "Rock")
            members = R.join_reply(d)[1]
            if sorted(members) == ["alice", "carol", "dave"] or time.time() > deadline:
                break
            time.sleep(0.1)                                          # poll (session_rate), until the deadline
        assert sorted(members) == ["alice", "carol", "dave"], members  # in the order the announces came
        # node 0 announced conference k before its room members: the name is taken on node 1 too
        d.send(C.INVITE, C.l2_invite("dave", "k", ["alice"]))
        assert C.pairs(d.expect(C.INVITE)) == [(1, "dave"), (57, "k"), (16, "conference name in use")]
        # dave's first join may have come before the announces (then nobody was told): the room works
        R.pid_say(d, "Rock", "back on node 1")
        for x in (a, c):
            assert x.expect(R.COMMENT, skip=PRESENCE + (R.ONLINE, R.JOIN)).get(117) == "back on node 1"
        R.pid_say(a, "Rock", "welcome")
        assert room(d, R.COMMENT).get(117) == "welcome"


if __name__ == "__main__":
    run_tests([test_conference_three_nodes, test_conference_invisible_invitee_on_other_node, test_room_two_nodes,
               test_node_killed_members_leave])
