#!/usr/bin/env python3
"""ymsgd as several nodes (issue 12): usage test_cluster.py YMSGD [TEST...]

Each test starts its own redis-server (tests/support/redisserver.py: unix socket, temp dir) and ymsgd
nodes on loopback (ymsgd_harness.ClusterServer).  A missing redis-server fails with the package to
install."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Client, ClusterServer, Server, http_get, resp307, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
IM = 0x06
OFFLINE_STATUS = 0x5A55AA56


def befriend(a, b):
    a.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, a.user), (302, "319"), (300, "319"), (7, b.user),
                  (334, "0"), (301, "319"), (303, "319")])
    a.expect(0x83)
    b.expect(0xD6)
    b.send(0xD6, [(1, b.user), (5, a.user), (13, "1"), (334, "0")])
    a.expect(0xD6)


def friends(srv, a, b):
    befriend(a, b)
    a.drain(0.3)
    b.drain(0.3)
    befriend(b, a)
    a.drain(0.3)
    b.drain(0.3)


def until(cond, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def capacity_host(port):
    _, _, _, body = http_get(port, "/capacity", version="1.0", host="vcs1.msg.yahoo.com")
    fields = dict(l.split("=", 1) for l in body.decode().split("\r\n") if "=" in l)
    return fields["CS_IP_ADDRESS"]


def test_capacity_least_loaded_node():
    """/capacity on any node names the live node with the fewest sessions (nodes advertise 127.0.0.N)."""
    srv = ClusterServer(YMSGD, nodes=3)
    base = srv.node_args
    srv.node_args = lambda i: base(i) + ["--advertise", "127.0.0.%d:5050" % (i + 1)]
    with srv:
        for u in ("u1", "u2", "u3"):
            srv.add_user(u, "pw")
        c1 = srv.login("u1", "pw", node=0)
        c2 = srv.login("u2", "pw", node=0)
        c3 = srv.login("u3", "pw", node=1)
        # node2 has none: every node's /capacity says so once the counts went round (heartbeat 200 ms)
        assert until(lambda: all(capacity_host(n.http_port) == "127.0.0.3" for n in srv.nodes), 5), \
            [capacity_host(n.http_port) for n in srv.nodes]
        c4 = srv.login("u1", "pw", node=2)  # u1 moves from node0 to node2: node0 1, node1 1, node2 1
        c5 = srv.login("u2", "pw", node=2)  # node0 0, node1 1, node2 2
        assert until(lambda: all(capacity_host(n.http_port) == "127.0.0.1" for n in srv.nodes), 5), \
            [capacity_host(n.http_port) for n in srv.nodes]
        # a dead node is never handed out
        srv.nodes[0].stop(signal.SIGKILL)
        assert until(lambda: capacity_host(srv.nodes[1].http_port) == "127.0.0.2", 8)
        for c in (c1, c2, c3, c4, c5):
            c.close()


def test_duplicate_login_on_another_node():
    with ClusterServer(YMSGD, nodes=3) as srv:
        srv.add_user("alice", "secret")
        srv.add_user("bob", "hunter2")
        a = srv.login("alice", "secret", node=0)
        b = srv.login("bob", "hunter2", node=1)
        friends(srv, a, b)
        a2 = srv.login("alice", "secret", node=2)
        kick = a.expect(0x02)
        assert kick.status == 0xFFFFFFFF and kick.pairs == [(66, b"42")], kick
        assert a.closed()
        assert [p.service for p in b.drain(0.5)] in ([], [0xC6])  # no offline/online flicker
        a2.send(IM, [(1, "alice"), (5, "bob"), (14, "from node2")], status=OFFLINE_STATUS)
        assert b.expect(IM, skip=(0xC6,)).get(14) == "from node2"
        b.send(IM, [(1, "bob"), (5, "alice"), (14, "to node2")])
        assert a2.expect(IM).get(14) == "to node2"
        # and back to the first node
        a3 = srv.login("alice", "secret", node=0)
        assert a2.expect(0x02).pairs == [(66, b"42")]
        b.send(IM, [(1, "bob"), (5, "alice"), (14, "to node0")])
        assert a3.expect(IM).get(14) == "to node0"


def _invisibility_script(srv, nodes):
    """What bob receives while alice (another node in a cluster) goes invisible, reveals herself to bob
    (0xBA), stealths him (0xB9), ignores and unignores him and signs off: raw packets, session ids zeroed."""
    srv.add_user("alice", "secret")
    srv.add_user("bob", "hunter2")
    kw = (lambda i: {"node": i}) if nodes else (lambda i: {})
    a = srv.login("alice", "secret", **kw(0))
    b = srv.login("bob", "hunter2", **kw(1))
    friends(srv, a, b)
    got = []

    def step(pairs_service, pairs, status=0, wait=0.4):
        a.send(pairs_service, pairs, status=status)
        time.sleep(wait)
        got.extend(p.raw[:16] + b"\0\0\0\0" + p.raw[20:] for p in b.drain(0.2))
        a.drain(0.1)

    step(0xC6, [(10, "99"), (19, "lunch"), (47, "1")])
    step(0xC5, [(13, "2")])                      # invisible: bob sees a sign-off
    step(0xBA, [(1, "alice"), (31, "1"), (13, "1"), (302, "319"), (300, "319"), (7, "bob"), (301, "319"), (303, "319")])
    step(0xBA, [(1, "alice"), (31, "2"), (13, "1"), (302, "319"), (300, "319"), (7, "bob"), (301, "319"), (303, "319")])
    step(0xC5, [(13, "1")])                      # visible again
    step(0xB9, [(1, "alice"), (31, "1"), (13, "2"), (302, "319"), (300, "319"), (7, "bob"), (301, "319"), (303, "319")])
    step(0xB9, [(1, "alice"), (31, "2"), (13, "2"), (302, "319"), (300, "319"), (7, "bob"), (301, "319"), (303, "319")])
    # bob writes to alice while she hides from him and when she is back: the same answers
    step(0xC5, [(13, "2")])
    b.send(IM, [(1, "bob"), (5, "alice"), (14, "are you there")])
    time.sleep(0.4)
    got.extend(p.raw[:16] + b"\0\0\0\0" + p.raw[20:] for p in b.drain(0.2))
    got.extend(b"A" + p.raw[20:] for p in a.drain(0.2))  # what alice got of it (body only)
    step(0xC5, [(13, "1")])
    step(0x02, [(1, "alice")])                   # sign-off
    return got


def test_invisible_across_nodes_same_bytes():
    """The same script on one node and on a cluster (alice and bob on different nodes): bob receives
    exactly the same bytes (session ids aside, which are random per session)."""
    with Server(YMSGD) as one:
        single = _invisibility_script(one, False)
    with ClusterServer(YMSGD, nodes=2) as srv:
        cluster = _invisibility_script(srv, True)
    assert len(single) >= 6, single
    assert cluster == single, "\n".join("%r\n%r\n" % p for p in zip(single, cluster))


def test_node_killed_users_offline_messages_kept():
    with ClusterServer(YMSGD, nodes=3) as srv:
        srv.add_user("alice", "secret")
        srv.add_user("bob", "hunter2")
        a = srv.login("alice", "secret", node=0)
        b = srv.login("bob", "hunter2", node=1)
        friends(srv, a, b)
        t0 = time.time()
        srv.nodes[1].stop(signal.SIGKILL)
        # right after the kill (before anyone can know): the IM must not be lost
        a.send(IM, [(1, "alice"), (5, "bob"), (14, "during")], status=OFFLINE_STATUS)
        off = a.expect(0x02, timeout=10, skip=(IM,))
        assert off.pairs == [(7, b"bob")], off  # exactly the packet of a sign-off
        assert time.time() - t0 < 10
        a.send(IM, [(1, "alice"), (5, "bob"), (14, "after")], status=OFFLINE_STATUS)
        time.sleep(0.5)
        b2 = srv.login("bob", "hunter2", node=2)
        texts = [t for p in b2.login_burst + b2.drain(0.5) if p.service == IM for t in p.all(14)]
        assert "during" in texts and "after" in texts, texts
        # bob is back: alice sees him and they chat across nodes again
        b2.send(IM, [(1, "bob"), (5, "alice"), (14, "back")])
        assert a.expect(IM, skip=(0xF0, 0x01, 0xC6)).get(14) == "back"
        # the whole cluster dies (node 1 is down already) and node 0 comes back at once: node 2's directory
        # in Redis still holds bob's record of its dead incarnation, whose heartbeat is younger than the
        # timeout; node 0 must not install it (before: bob showed online to alice until node 2 timed out,
        # and every node of a restarted cluster installed, fanned out and dropped all the others' records)
        srv.nodes[2].stop(signal.SIGKILL)
        srv.nodes[0].stop(signal.SIGKILL)
        t0 = time.time()
        srv.start_node(0)
        # node 0 heartbeated, so it has read the heartbeat table that came back with it
        assert until(lambda: float(srv.redis.command("ZSCORE", "ymsg:nodes", "node0") or 0) / 1000 > t0, 5, 0.02)
        time.sleep(0.05)  # its ZRANGE's answer follows its ZADD's on the same connection
        a2 = srv.login("alice", "secret", node=0)
        seen = [p for p in a2.login_burst + a2.drain(0.3) if p.service in (0xF0, 0x01) and "bob" in p.all(7)]
        assert seen == [], "bob (on a dead node) online for alice after the restart: %r" % seen


def test_redis_restart_chat_resumes():
    with ClusterServer(YMSGD, nodes=2) as srv:
        srv.add_user("alice", "secret")
        srv.add_user("bob", "hunter2")
        a = srv.login("alice", "secret", node=0)
        b = srv.login("bob", "hunter2", node=1)
        friends(srv, a, b)
        srv.redis.restart(down_for=1.0)
        # both nodes reconnect and write their sessions again, without any new login
        assert until(lambda: srv.redis.command("HLEN", "ymsg:dir:node0") == 1 and
                     srv.redis.command("HLEN", "ymsg:dir:node1") == 1, 10)
        time.sleep(0.5)
        a.send(IM, [(1, "alice"), (5, "bob"), (14, "after the restart")])
        assert b.expect(IM, timeout=5, skip=(0xC6,)).get(14) == "after the restart"
        b.send(IM, [(1, "bob"), (5, "alice"), (14, "got it")])
        assert a.expect(IM, timeout=5, skip=(0xC6,)).get(14) == "got it"
        # nobody was told anybody went offline
        assert not [p for p in a.drain(0.3) + b.drain(0.3) if p.service == 0x02]


def _pager_login(node, http_node, user, password):
    """0x57/0x54 on node's pager with the crumb and cookies of http_node's token login."""
    c = Client(node.ymsg_port)
    c.user = user
    c.send(0x57, [(1, user)])
    p = c.expect(0x57)
    c.session = p.session
    chal = p.get(94)
    tok = http_node.token(user, password, chal).split("\r\n")[1].split("=", 1)[1]
    code, f, _ = http_node.cookies(tok)
    assert code == "0"
    pairs = [(1, user), (0, user), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal)),
             (244, "4194239"), (2, user), (2, "1"), (98, "us")]
    c.send(0x54, pairs)
    return c, pairs


def test_http_login_on_one_node_pager_on_another():
    """What a real client does: token login over HTTP at one host, then the pager /capacity named.  The
    crumb is valid on every node, once: a replay on a third node is refused."""
    with ClusterServer(YMSGD, nodes=3) as srv:
        srv.add_user("alice", "secret")
        time.sleep(0.3)
        c, pairs = _pager_login(srv.nodes[1], srv.nodes[0], "alice", "secret")
        burst = c.until_list_done()
        assert any(p.service == 0xF1 for p in burst)
        time.sleep(0.3)  # the use went round
        r = Client(srv.nodes[2].ymsg_port)
        r.send(0x57, [(1, "alice")])
        r.session = r.expect(0x57).session
        r.send(0x54, pairs)
        fail = r.expect(0x54)
        assert fail.status == 0xFFFFFFFF and fail.get(66) == "13", fail
        c.close()


def test_no_redis_is_one_node():
    """Without --redis nothing of the cluster runs: no connection attempt, /capacity as before."""
    with Server(YMSGD) as srv:
        line, _, _, body = http_get(srv.http_port, "/capacity", version="1.0")
        assert body == b"COLO_CAPACITY=1\r\nCS_IP_ADDRESS=127.0.0.1\r\n", body
        assert "cluster" not in srv.log_text()
    # a bad --redis is refused at start with a clear message
    bad = Server(YMSGD, extra_args=["--redis", "http://nope"])
    try:
        bad.start()
        raise AssertionError("started with a bad --redis")
    except RuntimeError:
        assert "redis: expected redis://HOST:PORT or unix:PATH" in bad.log_text(), bad.log_text()[-500:]


if __name__ == "__main__":
    run_tests([test_capacity_least_loaded_node, test_duplicate_login_on_another_node,
               test_invisible_across_nodes_same_bytes, test_node_killed_users_offline_messages_kept,
               test_redis_restart_chat_resumes, test_no_redis_is_one_node,
               test_http_login_on_one_node_pager_on_another])
