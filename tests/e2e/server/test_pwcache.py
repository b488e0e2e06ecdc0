#!/usr/bin/env python3
"""The password verification cache end to end (issue 12: the reconnect storm): usage
test_pwcache.py YMSGD [TEST...]

Counts come from /metrics (ymsgd_password_checks_total{result="cached"|"hashed"}, ymsgd_pwcache_entries):
a second token login with the same password is answered from the cache, a wrong password is always
hashed and never cached, `ymsgd user passwd` ends the cache entries of the account, the table stays
within --pwcache-max, and in a cluster a user verified on one node (or before the whole cluster
restarted) is not hashed again on another node."""
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import ClusterServer, Server, free_port, http_get, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$')


def metrics(port):
    status, _, _, body = http_get(port, "/metrics", host="127.0.0.1")
    assert status.startswith("HTTP/1.1 200"), status
    out = {}
    for line in body.decode().splitlines():
        m = SAMPLE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def checks(port):
    m = metrics(port)
    return (int(m['ymsgd_password_checks_total{result="cached"}']),
            int(m['ymsgd_password_checks_total{result="hashed"}']), int(m["ymsgd_pwcache_entries"]))


def wait_port(port):
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("metrics listener on %d did not answer" % port)


def code(node, user, password):
    """pwtoken_get's first line: 0 (token issued), 1212 wrong password, ..."""
    return node.token(user, password).split("\r\n")[0]


class MServer(Server):
    """One node with /metrics on a free port."""

    def __init__(self, extra=(), data_dir=None):
        self.metrics_port = free_port()
        Server.__init__(self, YMSGD, ["--metrics-listen", "127.0.0.1:%d" % self.metrics_port] + list(extra), data_dir)

    def start(self):
        Server.start(self)
        wait_port(self.metrics_port)
        return self


def test_second_login_skips_the_hash():
    with MServer() as srv:
        srv.add_user("alice", "secret")
        assert checks(srv.metrics_port) == (0, 0, 0)
        assert code(srv, "alice", "secret") == "0"
        assert checks(srv.metrics_port) == (0, 1, 1)
        for i in range(3):
            assert code(srv, "alice", "secret") == "0"
        assert checks(srv.metrics_port) == (3, 1, 1)
        # A full pager login after it (pwtoken_login, 0x54) works as before.
        c = srv.login("alice", "secret")
        c.close()
        assert checks(srv.metrics_port) == (4, 1, 1)


def test_wrong_password_never_hits():
    with MServer(["--account-max-failures", "100", "--addr-max-failures", "100"]) as srv:
        srv.add_user("alice", "secret")
        assert code(srv, "alice", "secret") == "0"
        for pw in ("Secret", "secret ", "secre", "x"):
            assert code(srv, "alice", pw) == "1212", pw
        assert code(srv, "nobody", "secret") == "1212"  # unknown account: the decoy, hashed
        cached, hashed, entries = checks(srv.metrics_port)
        assert (cached, hashed, entries) == (0, 6, 1), (cached, hashed, entries)


def test_passwd_revokes_cache_entries():
    with MServer() as srv:
        srv.add_user("alice", "old")
        srv.add_user("bob", "pw")
        assert code(srv, "alice", "old") == "0"
        assert code(srv, "bob", "pw") == "0"
        assert checks(srv.metrics_port) == (0, 2, 2)
        r = subprocess.run(srv.base_args() + ["user", "passwd", "alice"], input=b"new\n", capture_output=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr.decode()
        assert checks(srv.metrics_port)[2] == 1  # alice's entry went with the revocation; bob's stays
        assert code(srv, "alice", "old") == "1212"  # hashed against the new hash, refused
        assert code(srv, "alice", "new") == "0"     # hashed once
        assert code(srv, "alice", "new") == "0"     # then cached
        assert code(srv, "bob", "pw") == "0"        # cached
        assert checks(srv.metrics_port) == (2, 4, 2)


def stored_hash(srv, user):
    """user's stored hash, read from the server's store (SQLite file, or $YMSGD_TEST_PG's PostgreSQL)."""
    url = os.environ.get("YMSGD_TEST_PG")
    if url:
        psql = shutil.which("psql")
        assert psql, "psql not found (postgresql-client: scripts/deps.sh test installs it)"
        r = subprocess.run([psql, "-X", "-At", "-d", url, "-c", "SELECT pwhash FROM users WHERE name = '%s'" % user],
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout.decode().strip()
    db = sqlite3.connect(os.path.join(srv.dir, "data", "ymsgd.db"), timeout=10)
    try:
        return db.execute("SELECT pwhash FROM users WHERE name = ?", (user,)).fetchone()[0]
    finally:
        db.close()


def test_rehash_to_configured_cost():
    """An account hashed at another cost than the configured one is re-hashed at its next good login
    (after the answer, on an idle hash thread); the cache holds the new hash's entry, so the login after
    it is not hashed; a wrong password or an account already at the cost changes nothing."""
    d = tempfile.mkdtemp(prefix="ymsgd-rehash-")
    try:
        with MServer(data_dir=d) as srv:  # the harness's cost: 1 pass, 8 KiB
            srv.add_user("alice", "secret")
            srv.add_user("bob", "pw")
        old_alice, old_bob = stored_hash(srv, "alice"), stored_hash(srv, "bob")
        assert "$m=8,t=1," in old_alice, old_alice
        with MServer(["--pwhash-opslimit", "2", "--pwhash-memlimit", "16384"], data_dir=d) as srv:  # another cost
            assert code(srv, "alice", "wrong") == "1212"
            time.sleep(0.3)
            assert stored_hash(srv, "alice") == old_alice  # a failed check never re-hashes
            assert code(srv, "alice", "secret") == "0"
            deadline = time.time() + 10
            while stored_hash(srv, "alice") == old_alice and time.time() < deadline:
                time.sleep(0.05)
            new = stored_hash(srv, "alice")
            assert "$m=16,t=2," in new, new
            assert stored_hash(srv, "bob") == old_bob  # only the account that logged in
            assert checks(srv.metrics_port) == (0, 2, 1)  # the wrong one and the good one hashed; one entry
            assert code(srv, "alice", "secret") == "0"
            assert checks(srv.metrics_port) == (1, 2, 1)  # the new hash's entry answered
            assert code(srv, "alice", "wrong") == "1212"
            c = srv.login("alice", "secret")  # the whole pager login with the new hash
            c.close()
            log = open(os.path.join(d, "ymsgd.log"), errors="replace").read()
            assert log.count("event=password_rehashed") == 1, log[-2000:]
        with MServer(["--pwhash-opslimit", "2", "--pwhash-memlimit", "16384"], data_dir=d) as srv:
            assert code(srv, "alice", "secret") == "0"  # at the cost now: nothing to do
            time.sleep(0.3)
            assert stored_hash(srv, "alice") == new
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_bounded_by_pwcache_max():
    with MServer(["--pwcache-max", "2"]) as srv:
        for u in ("u1", "u2", "u3", "u4"):
            srv.add_user(u, "pw")
            assert code(srv, u, "pw") == "0"
            assert checks(srv.metrics_port)[2] <= 2
        assert checks(srv.metrics_port) == (0, 4, 2)
        assert code(srv, "u4", "pw") == "0"  # the most recent stays
        assert code(srv, "u1", "pw") == "0"  # the oldest was evicted: hashed again
        assert checks(srv.metrics_port) == (1, 5, 2)
    with MServer(["--pwcache-max", "0"]) as srv:  # off: every login hashes
        srv.add_user("alice", "pw")
        for _ in range(3):
            assert code(srv, "alice", "pw") == "0"
        assert checks(srv.metrics_port) == (0, 3, 0)


def test_bad_key_file_refused_at_start():
    srv = MServer()
    path = os.path.join(srv.dir, "short.key")
    with open(path, "wb") as f:
        f.write(b"short")
    r = subprocess.run(srv.base_args() + ["--pwcache-key-file", path, "--ymsg-listen", "127.0.0.1:%d" % free_port(),
                                          "--http-listen", "127.0.0.1:%d" % free_port()],
                       capture_output=True, timeout=30)
    assert r.returncode == 1, r.returncode
    assert "exactly 32 bytes" in r.stderr.decode(), r.stderr.decode()
    # The default key file is created in the data directory, mode 0600, and kept across restarts.
    with srv:
        key = os.path.join(srv.dir, "data", "pwcache.key")
        assert os.stat(key).st_mode & 0o777 == 0o600
        first = open(key, "rb").read()
        assert len(first) == 32
        assert srv.stop() == 0
        srv.start()
        assert open(key, "rb").read() == first


class MCluster(ClusterServer):
    """Nodes with /metrics on free ports."""

    def __init__(self, nodes):
        ClusterServer.__init__(self, YMSGD, nodes=nodes)
        self.mports = [free_port() for _ in range(nodes)]

    def node_args(self, i):
        return ClusterServer.node_args(self, i) + ["--metrics-listen", "127.0.0.1:%d" % self.mports[i]]

    def start_node(self, i):
        node = ClusterServer.start_node(self, i)
        wait_port(self.mports[i])
        return node


def test_cluster_other_node_and_restart_skip_the_hash():
    """alice verified on node0; node0 killed (-9); her reconnect on node1 is not hashed, nor is it on
    any node after the whole cluster restarted (the entries live in Redis with the cache's ttl)."""
    with MCluster(3) as srv:
        srv.add_user("alice", "secret")
        srv.add_user("bob", "pw")
        assert code(srv.nodes[0], "alice", "secret") == "0"
        assert checks(srv.mports[0])[:2] == (0, 1)
        c = srv.login("alice", "secret", node=0)
        srv.nodes[0].stop(signal.SIGKILL)
        c.close()
        assert code(srv.nodes[1], "alice", "secret") == "0"
        assert checks(srv.mports[1])[:2] == (1, 0)  # from Redis: no hash on node1
        srv.login("alice", "secret", node=1).close()
        assert checks(srv.mports[1])[:2] == (2, 0)  # now node1's own copy
        # Wrong passwords on another node are hashed there, never answered from the cache.
        assert code(srv.nodes[2], "alice", "Secret") == "1212"
        assert checks(srv.mports[2])[:2] == (0, 1)
        # bob on node2: hashed once; seen by node1 through Redis.
        assert code(srv.nodes[2], "bob", "pw") == "0"
        assert code(srv.nodes[1], "bob", "pw") == "0"
        assert checks(srv.mports[1])[:2] == (3, 0)
        # The whole cluster restarts (Redis stays): nobody is hashed again.
        for n in srv.nodes[1:]:
            n.stop()
        for i in range(3):
            srv.start_node(i)
        srv.wait_joined()
        assert code(srv.nodes[2], "alice", "secret") == "0"
        assert code(srv.nodes[0], "bob", "pw") == "0"
        assert checks(srv.mports[2])[:2] == (1, 0)
        assert checks(srv.mports[0])[:2] == (1, 0)
        # A password change on one node's CLI: the old password is refused everywhere (the Redis entry
        # names the old hash), the new one hashed once.
        r = subprocess.run(srv.base_args() + ["user", "passwd", "alice"], input=b"new\n", capture_output=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr.decode()
        assert code(srv.nodes[1], "alice", "secret") == "1212"
        assert checks(srv.mports[1])[:2] == (0, 1)


if __name__ == "__main__":
    sys.exit(run_tests([
        test_second_login_skips_the_hash, test_wrong_password_never_hits, test_passwd_revokes_cache_entries,
        test_bounded_by_pwcache_max, test_bad_key_file_refused_at_start, test_rehash_to_configured_cost,
        test_cluster_other_node_and_restart_skip_the_hash,
    ]))
