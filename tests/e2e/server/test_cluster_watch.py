#!/usr/bin/env python3
"""Presence across cluster nodes (issue 12): usage test_cluster_watch.py YMSGD [TEST...]

Every node's watch index holds its own sessions only, and every node tells its own watchers: the node
that holds a user tells its watchers there, each other node tells its watchers when the user's record
comes (no watch lists in the records, no store query, nothing per watcher on the bus).  The
queries are counted with ymsgd's own store metrics (/metrics: ymsgd_store_op_duration_seconds_count
{op="buddy"}, every buddy-row read or write).  Each test starts its own redis-server and PostgreSQL
(ClusterServer); a missing one fails with the package to install."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import ClusterServer, encode, free_port, http_get, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
BUDDY_OPS = re.compile(r'^ymsgd_store_op_duration_seconds_count\{op="buddy"\} (\S+)$', re.M)


def cluster(nodes, extra=()):
    """A ClusterServer whose nodes also serve /metrics (srv.metrics[i] = port of node i)."""
    srv = ClusterServer(YMSGD, nodes=nodes, extra_args=list(extra))
    srv.metrics = [free_port() for _ in range(nodes)]
    base = srv.node_args
    srv.node_args = lambda i: base(i) + ["--metrics-listen", "127.0.0.1:%d" % srv.metrics[i]]
    return srv


def buddy_ops(srv, node):
    """Buddy-row store operations node has made so far."""
    status, _, _, body = http_get(srv.metrics[node], "/metrics", host="127.0.0.1")
    assert status.startswith("HTTP/1.1 200"), status
    m = BUDDY_OPS.search(body.decode())
    assert m, "no buddy store metric on node %d" % node
    return int(float(m.group(1)))


def ask_and_accept(w, t):
    """w asks t to be its buddy and t accepts: w now watches t (t does not watch w)."""
    w.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, w.user), (302, "319"), (300, "319"), (7, t.user),
                  (334, "0"), (301, "319"), (303, "319")])
    assert w.expect(0x83, skip=(0xF0, 0xC6)).get(66) == "0"
    t.expect(0xD6)
    t.send(0xD6, [(1, t.user), (5, w.user), (13, "1"), (334, "0")])
    w.expect(0xD6, skip=(0xF0,))


def status_to(t, code, msg):
    t.send(0xC6, [(10, str(code)), (19, msg), (47, "1")])


def got_status(c, user, msg, timeout=3.0):
    """True when c hears user's custom status msg (0xC6) within timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = c.recv(max(0.01, deadline - time.time()))
        if p is None:
            return False
        if p.service == 0xC6 and p.get(7) == user and p.get(19) == msg:
            return True
    return False


def test_login_and_status_make_no_query_per_watcher():
    """star (node0) has N watchers on node1 and node2, made by authorisations star accepted on node0.
    Its status change and its login reach every watcher, and cost no node a buddy-row query (before the
    index: one look-up per watcher; before the receiving nodes did the fan-out: a query per capped
    watcher elsewhere)."""
    n = 12
    with cluster(3) as srv:
        srv.add_user("star", "pw")
        for i in range(n):
            srv.add_user("w%d" % i, "pw")
        star = srv.login("star", "pw", node=0)
        ws = [srv.login("w%d" % i, "pw", node=1 + i % 2) for i in range(n)]
        for w in ws:
            ask_and_accept(w, star)
        time.sleep(0.5)
        for w in ws:
            w.drain(0.05)
        star.drain(0.1)

        before = [buddy_ops(srv, i) for i in range(3)]
        status_to(star, 99, "status one")
        missing = [w.user for w in ws if not got_status(w, "star", "status one")]
        assert not missing, "no status change reached %s" % missing
        spent = [buddy_ops(srv, i) - before[i] for i in range(3)]
        assert spent == [0, 0, 0], "a status change queried the store %r times (per node)" % spent

        star.send(0x02, [(1, "star")])
        assert star.closed()
        for w in ws:
            assert w.expect(0x02, skip=(0xC6,)).get(7) == "star"
        before = [buddy_ops(srv, i) for i in range(3)]
        star = srv.login("star", "pw", node=0)
        for w in ws:
            p = w.expect(0xF0, skip=(0xC6,))
            assert p.get(7) == "star", p
        time.sleep(0.3)
        spent = [buddy_ops(srv, i) - before[i] for i in range(3)]
        # the login reads its own list (one query on node0): nothing per watcher, nothing elsewhere
        assert spent[0] <= 2 and spent[1:] == [0, 0], \
            "a login with %d watchers on other nodes made %r buddy-row queries (per node)" % (n, spent)

        # w0 removes star (on node1): star's changes no longer reach it
        ws[0].send(0x84, [(1, "w0"), (7, "star"), (65, "Friends")])
        assert ws[0].expect(0x84, skip=(0xC6, 0xF0)).get(66) == "0"
        time.sleep(0.5)
        for w in ws:
            w.drain(0.05)
        status_to(star, 99, "status two")
        assert got_status(ws[1], "star", "status two")
        assert not got_status(ws[0], "star", "status two", timeout=1.0), "a removed buddy still hears star"

        # w1 logs in again on the other node: that node now tells it
        ws[1].close()
        w1 = srv.login("w1", "pw", node=1 if ws[1].node == 2 else 2)
        time.sleep(0.5)
        star.drain(0.1)
        status_to(star, 99, "status three")
        assert got_status(w1, "star", "status three"), "the moved watcher does not hear star"


def test_accept_on_other_node_told_once_after_the_answer():
    """w (node1) asks star (node0), star accepts on node0: w gets the answer (0xD6), then star's presence
    (0xF0) exactly once, as on one node (node1 tells it after the W frame; node0 no longer does)."""
    with cluster(2) as srv:
        srv.add_user("star", "pw")
        srv.add_user("w", "pw")
        star = srv.login("star", "pw", node=0)
        w = srv.login("w", "pw", node=1)
        w.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, "w"), (302, "319"), (300, "319"), (7, "star"),
                      (334, "0"), (301, "319"), (303, "319")])
        assert w.expect(0x83).get(66) == "0"
        star.expect(0xD6)
        w.drain(0.3)
        star.send(0xD6, [(1, "star"), (5, "w"), (13, "1"), (334, "0")])
        got = [p for p in w.drain(1.5) if p.service in (0xD6, 0xF0)]
        assert [p.service for p in got] == [0xD6, 0xF0], got
        assert got[1].get(7) == "star", got[1]


def test_im_and_presence_keep_their_order():
    """star (node0) changes its status and writes to w (node1) in one packet train (one loop turn on
    node0), then the other way round: w gets them in the order star made them, as on one node (records
    go on ymsg:all, IMs on node1's channel, from one connection in queue order)."""
    with cluster(2) as srv:
        srv.add_user("star", "pw")
        srv.add_user("w", "pw")
        star = srv.login("star", "pw", node=0)
        w = srv.login("w", "pw", node=1)
        ask_and_accept(w, star)
        time.sleep(0.3)
        w.drain(0.2)
        star.drain(0.1)
        for rnd in range(5):
            status = encode(0xC6, [(10, "99"), (19, "s%d" % rnd), (47, "1")], session=star.session)
            im = encode(0x06, [(1, "star"), (5, "w"), (14, "m%d" % rnd)], session=star.session)
            star.send_raw(status + im if rnd % 2 == 0 else im + status)
            got = []
            deadline = time.time() + 3
            while len(got) < 2 and time.time() < deadline:
                p = w.recv(max(0.01, deadline - time.time()))
                if p is not None and p.service in (0xC6, 0x06):
                    got.append(p.service)
            want = [0xC6, 0x06] if rnd % 2 == 0 else [0x06, 0xC6]
            assert got == want, "round %d: %r, not %r" % (rnd, [hex(x) for x in got], [hex(x) for x in want])


def test_duplicate_login_is_a_status_change_everywhere():
    """star logs in again (on node1 while it was on node0, then on node1 again): its watchers on the old
    node, the new node and a third node get what one node gives a watcher of a duplicate login, a
    status change (0xC6), never a sign-off followed by a login."""
    with cluster(3) as srv:
        srv.add_user("star", "pw")
        for i in range(3):
            srv.add_user("w%d" % i, "pw")
        star = srv.login("star", "pw", node=0)
        ws = [srv.login("w%d" % i, "pw", node=i) for i in range(3)]
        for w in ws:
            ask_and_accept(w, star)
        time.sleep(0.3)
        for node in (1, 1):
            for w in ws:
                w.drain(0.1)
            star = srv.login("star", "pw", node=node)
            for w in ws:
                seen = [p for p in w.drain(1.0) if p.get(7) == "star"]
                assert [p.service for p in seen] == [0xC6], "w on node %d: %r" % (w.node, seen)


def test_deleted_account_forgotten_on_every_node():
    """`ymsgd user del star` (through node0) while w on node1 watches star: every node forgets the id,
    so a new account named star is not shown to the old account's buddy, whichever node it logs in on."""
    with cluster(2) as srv:
        srv.add_user("star", "pw")
        srv.add_user("w", "pw")
        w = srv.login("w", "pw", node=1)
        star = srv.login("star", "pw", node=0)
        ask_and_accept(w, star)
        time.sleep(0.5)
        w.drain(0.1)
        r = subprocess.run(srv.nodes[0].base_args() + ["user", "del", "star"], capture_output=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert w.expect(0x02, skip=(0xC6,)).get(7) == "star"  # the kick: a sign-off
        time.sleep(0.5)
        status_to(w, 2, "busy")  # a change of w's own after the deletion
        time.sleep(0.5)
        srv.add_user("star", "pw2")
        for node in (0, 1):
            s2 = srv.login("star", "pw2", node=node)
            seen = [p for p in w.drain(1.0) if p.get(7) == "star"]
            assert not seen, "the new star is shown to the old account's buddy (node %d): %r" % (node, seen)
            s2.close()
            time.sleep(0.3)


if __name__ == "__main__":
    run_tests([test_login_and_status_make_no_query_per_watcher, test_accept_on_other_node_told_once_after_the_answer,
               test_im_and_presence_keep_their_order, test_duplicate_login_is_a_status_change_everywhere,
               test_deleted_account_forgotten_on_every_node])
