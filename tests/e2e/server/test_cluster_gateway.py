#!/usr/bin/env python3
"""The AMF gateway and the web cookies on several nodes (issue 12): usage test_cluster_gateway.py YMSGD [TEST...]

A Flex client (with cookies, and without: DSId only) logs in on node A and calls Phonebook.sync on node B
and C; a logout or `ymsgd user passwd` on one node ends the session on all of them; the DSId alone
still does not carry a session logged in with a cookie, on any node.  The Y/T cookies of a pwtoken_login
on node A, spent by a 0x54 login on node B, still open GET /yab on every node; a replay ends them
everywhere."""
import os
import signal
import subprocess
import sys
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import amfpy  # noqa: E402
from amfpy import External  # noqa: E402
from fixation_e2e import Flex, entry, not_logged_in  # noqa: E402
from ymsgd_harness import Client, ClusterServer, resp307, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
FETCH = "/yab/us?v=XM&prog=ymsgr&.intl=us&diffs=1&t=0&tags=short&rt=0&prog-ver=9.0.0.2162&useutf8=1&legenc=codepage-1252"


def names(res):
    ok, f = res
    assert ok, f
    body = f["body"]
    items = body.value if isinstance(body, External) else body
    return sorted(e.members["name"] if hasattr(e, "members") else e["name"] for e in items)


def until(cond, timeout=3.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def on(flex, node):
    flex.port = node.http_port
    return flex


def test_flex_login_on_one_node_sync_on_another():
    """Before: the session existed only on node0; node1 answered "not logged in"."""
    with ClusterServer(YMSGD, nodes=3) as srv:
        srv.add_user("alice", "pw-alice")
        a, b, c = srv.nodes
        fx = Flex(a.http_port)
        fx.ping()
        ok, f = fx.call("Phonebook.login", "alice", "pw-alice")
        assert ok, f
        new_dsid = f["headers"]["DSId"]  # the rotated DSId (a Flex client with cookies keeps its first one)
        # The announcement crosses Redis within a loop turn or two.
        assert until(lambda: on(fx, b).call("Phonebook.sync", [entry("Mum")])[0]), "node1 refused the session"
        assert names(on(fx, c).call("Phonebook.sync")) == ["Mum"]
        assert names(on(fx, a).call("Phonebook.sync", [entry("Mum"), entry("Dad")])) == ["Dad", "Mum"]
        assert names(on(fx, b).call("Phonebook.sync")) == ["Dad", "Mum"]
        # The DSId alone (no cookie) does not carry a session logged in with a cookie, on any node.
        spy = Flex(c.http_port, cookies=False)
        spy.dsid = new_dsid
        assert not_logged_in(spy.call("Phonebook.sync")), "DSId alone must not read the phonebook on node2"
        # Logout on node1: gone on every node.
        ok, f = on(fx, b).send(amfpy.command_message(9, "LOGOUT", dsid=fx.dsid))  # Flex LOGOUT_OPERATION
        assert ok, f
        assert until(lambda: not_logged_in(on(fx, a).call("Phonebook.sync"))), "still logged in on node0"
        assert not_logged_in(on(fx, c).call("Phonebook.sync"))


def test_cookieless_flex_on_another_node_and_revocation():
    """A cookie-less client carries the session by the login's DSId on every node; `ymsgd user passwd`
    through one node's control socket ends it on all of them."""
    with ClusterServer(YMSGD, nodes=2) as srv:
        srv.add_user("bob", "pw-bob")
        a, b = srv.nodes
        fx = Flex(a.http_port, cookies=False)
        fx.ping()
        ok, f = fx.call("Phonebook.login", "bob", "pw-bob")
        assert ok, f
        fx.dsid = f["headers"]["DSId"]
        assert until(lambda: on(fx, b).call("Phonebook.sync", [entry("Ann")])[0]), "node1 refused the DSId"
        assert names(on(fx, a).call("Phonebook.sync")) == ["Ann"]
        r = subprocess.run(srv.base_args() + ["user", "passwd", "bob"], input=b"new\n", capture_output=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr.decode()
        assert not_logged_in(on(fx, a).call("Phonebook.sync"))
        assert until(lambda: not_logged_in(on(fx, b).call("Phonebook.sync"))), "node1 kept a revoked session"


def test_killed_node_sessions_live_on():
    """The node that logged the client in dies (kill -9): the session goes on on the others."""
    with ClusterServer(YMSGD, nodes=2) as srv:
        srv.add_user("carol", "pw-carol")
        a, b = srv.nodes
        fx = Flex(a.http_port)
        fx.ping()
        ok, f = fx.call("Phonebook.login", "carol", "pw-carol")
        assert ok, f
        assert names(fx.call("Phonebook.sync", [entry("Zed")])) == ["Zed"]
        assert until(lambda: on(fx, b).call("Phonebook.sync")[0])
        a.stop(signal.SIGKILL)
        assert names(on(fx, b).call("Phonebook.sync")) == ["Zed"]


def yab_get(node, y, t):
    c = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=20)
    c.request("GET", FETCH, headers={"Host": "address.yahoo.com", "Cookie": "T=%s; Y=%s" % (t, y)})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def test_web_cookies_valid_on_every_node():
    """pwtoken_login on node0, the 0x54 login on node1: the Y/T pair opens /yab on node0, node1 and node2.
    Before: node0 and node2 forgot the pair when node1 spent the crumb (403 there)."""
    with ClusterServer(YMSGD, nodes=3) as srv:
        srv.add_user("dave", "pw-dave")
        n0, n1, n2 = srv.nodes
        c = Client(n1.ymsg_port)
        c.user = "dave"
        c.send(0x57, [(1, "dave")])
        chal = c.expect(0x57).get(94)
        lines = n0.token("dave", "pw-dave", chal).split("\r\n")
        assert lines[0] == "0", lines
        code, f, _ = n0.cookies(lines[1].split("=", 1)[1])
        assert code == "0"
        y, t = f["Y"].split(";")[0], f["T"].split(";")[0]
        assert until(lambda: yab_get(n2, y, t) == 200), "node2 never learnt the pair"  # before the pager login
        c.send(0x54, [(1, "dave"), (0, "dave"), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal)),
                      (244, "4194239"), (2, "dave"), (2, "1"), (98, "us")])
        c.until_list_done()
        time.sleep(0.3)  # the spent notice crosses Redis
        for n in (n0, n1, n2):
            assert yab_get(n, y, t) == 200, "node%d refused the spent pair" % srv.nodes.index(n)
        # A replay of the spent crumb on node2 is refused and ends the pair on every node.
        r = Client(n2.ymsg_port)
        r.send(0x57, [(1, "dave")])
        chal2 = r.expect(0x57).get(94)
        r.send(0x54, [(1, "dave"), (0, "dave"), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal2)),
                      (244, "4194239"), (2, "dave"), (2, "1"), (98, "us")])
        r.drain(1.0)  # refused (66=13 or a close): either way the pair must be gone
        assert until(lambda: all(yab_get(n, y, t) != 200 for n in (n0, n1, n2))), \
            [yab_get(n, y, t) for n in (n0, n1, n2)]
        c.close()
        r.close()


if __name__ == "__main__":
    sys.exit(run_tests([test_flex_login_on_one_node_sync_on_another, test_cookieless_flex_on_another_node_and_revocation,
                        test_killed_node_sessions_live_on, test_web_cookies_valid_on_every_node]))
