#!/usr/bin/env python3
"""/metrics, /healthz and /readyz end to end (issue 13, observability): the real ymsgd on loopback,
a scripted run with raw YMSG clients, token logins and AMF calls, then the counters checked for the
exact deltas the run must cause; the page is parsed by the real `promtool check metrics`.

usage: test_metrics.py YMSGD TEST_NAME
"""
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
sys.path.insert(0, os.path.join(HERE, "..", "web"))
from ymsgd_harness import Client, Server, encode, free_port, http_get, run_tests  # noqa: E402
import amfpy  # noqa: E402
from wsclient import WsClient, ws_login  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def scrape(port, path="/metrics"):
    status, headers, _, body = http_get(port, path, host="127.0.0.1")
    assert status.startswith("HTTP/1.1 200"), (status, body[:200])
    ctype = dict((k.lower(), v) for k, v in headers).get("content-type", "")
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    return body.decode()


def parse(text):
    """{'name{labels}': float} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "unparsable sample line %r" % line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def promtool_check(text):
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install Debian's prometheus package (scripts/deps.sh test)"
    r = subprocess.run([exe, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    # promtool exits 0 when the page parses; it prints lint hints (not errors) on stdout/stderr.
    assert r.returncode == 0, "promtool check metrics failed:\n%s%s" % (r.stdout.decode(), r.stderr.decode())


def status_of(port, path, timeout=5.0):
    status, _, _, body = http_get(port, path, host="127.0.0.1", timeout=timeout)
    return int(status.split()[1]), body.decode()


class AmfClient:
    """One keep-alive HTTP connection to /api with the YMSGAMF cookie."""

    def __init__(self, port):
        import http.client
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.cookie = None

    def call(self, target, *args):
        h = {"Content-Type": "application/x-amf"}
        if self.cookie:
            h["Cookie"] = "YMSGAMF=%s" % self.cookie
        self.conn.request("POST", "/api", body=amfpy.packet([(target, "/1", amfpy.encode0(list(args)))]), headers=h)
        r = self.conn.getresponse()
        data = r.read()
        assert r.status == 200, (r.status, data[:200])
        sc = r.getheader("Set-Cookie")
        if sc and sc.startswith("YMSGAMF="):
            self.cookie = sc.split(";")[0].split("=", 1)[1]
        _, _, bodies = amfpy.parse_packet(data)
        t, _, v, _ = bodies[0]
        return t == "/1/onResult", v


class MServer(Server):
    """A ymsgd with the metrics listener on a free port; start() waits for it too."""

    def __init__(self, extra=()):
        self.metrics_port = free_port()
        Server.__init__(self, YMSGD, ["--metrics-listen", "127.0.0.1:%d" % self.metrics_port, "--hash-threads", "1"]
                        + list(extra))

    def start(self):
        Server.start(self)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.metrics_port), timeout=0.5).close()
                return self
            except OSError:
                assert time.time() < deadline, "metrics listener never answered"
                time.sleep(0.05)


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


def test_counters_match_a_scripted_run():
    srv = MServer(["--session-rate", "1", "--session-burst", "30"])
    for u in ("alice", "bob", "carol", "dave"):
        srv.add_user(u, "pw-" + u)
    sent = [0]  # YMSG bytes our clients send (over TCP and WebSocket), counted as they go out
    orig, orig_ws = Client.send_raw, WsClient.send_raw

    def counting(fn):
        def send_raw(self, data):
            sent[0] += len(data)
            return fn(self, data)
        return send_raw

    Client.send_raw, WsClient.send_raw = counting(orig), counting(orig_ws)
    try:
        with srv:
            before = parse(scrape(srv.metrics_port))
            promtool_check(scrape(srv.metrics_port))
            # 1. logins: two good ones (each a token check and a 0x54), one wrong password at pwtoken_get
            a = srv.login("alice", "pw-alice")
            b = srv.login("bob", "pw-bob")
            assert srv.token("alice", "not-her-password").startswith("1212")
            # 2. IMs: one to an online user, one to an offline one
            a.send(0x06, [(1, "alice"), (5, "bob"), (14, "hi bob"), (97, "1")])
            assert b.expect(0x06).get(14) == "hi bob"
            a.send(0x06, [(1, "alice"), (5, "carol"), (14, "for later"), (97, "1")])
            time.sleep(0.3)
            mid = parse(scrape(srv.metrics_port))
            # 3. a flood: 80 pings at once against a burst of 30; each one let through is answered
            flood = b"".join(encode(0x12, [], session=a.session) for _ in range(80))
            a.send_raw(flood)
            answered = len([p for p in a.drain(1.5) if p.service == 0x12])
            # 4. AMF: a login (wrong, then right), a good call, a fault from a known method, an unknown method
            g = AmfClient(srv.http_port)
            ok, v = g.call("Phonebook.login", "bob", "wrong")
            assert ok and v is False, v
            ok, v = g.call("Phonebook.login", "bob", "pw-bob")
            assert ok and v is True, v
            ok, v = g.call("Phonebook.sync")
            assert ok, v
            ok, v = g.call("Phonebook.login", "bob")  # one argument short
            assert not ok and v.get("code") == "Client.Argument", v
            ok, v = g.call("Phonebook.frobnicate")
            assert not ok and v.get("faultCode") == "Server.ResourceUnavailable", v
            # 5. one more login, over WebSocket
            w = ws_login(srv, "dave", "pw-dave")
            time.sleep(0.2)
            text = scrape(srv.metrics_port)
            promtool_check(text)
            after = parse(text)
            d = lambda k: delta(before, after, k)  # noqa: E731
            want = {
                'ymsgd_logins_total{path="http_token",result="ok"}': 3,
                'ymsgd_logins_total{path="http_token",result="bad_password"}': 1,
                'ymsgd_logins_total{path="ymsg",result="ok"}': 3,
                'ymsgd_logins_total{path="ymsg",result="bad_password"}': 0,
                'ymsgd_logins_total{path="amf",result="ok"}': 1,
                'ymsgd_logins_total{path="amf",result="bad_password"}': 1,
                'ymsgd_ims_total{route="live"}': 1,
                'ymsgd_ims_total{route="offline"}': 1,
                'ymsgd_ims_total{route="refused"}': 0,
                'ymsgd_packets_received_total{service="message"}': 2,
                'ymsgd_packets_received_total{service="authresp"}': 3,
                'ymsgd_packets_received_total{service="ping"}': 80,
                'ymsgd_ratelimit_drops_total{limit="session_rate"}': 80 - answered,
                'ymsgd_amf_calls_total{service="Phonebook",method="login",result="ok"}': 2,
                'ymsgd_amf_calls_total{service="Phonebook",method="sync",result="ok"}': 1,
                'ymsgd_amf_calls_total{service="Phonebook",method="login",result="Client.Argument"}': 1,
                'ymsgd_amf_calls_total{service="Phonebook",method="frobnicate",result="Server.ResourceUnavailable"}': 1,
                'ymsgd_sessions_online{transport="tcp"}': 2,
                'ymsgd_sessions_online{transport="websocket"}': 1,
            }
            bad = ["%s: got %+g, want %+g" % (k, d(k), v) for k, v in want.items() if d(k) != v]
            assert not bad, "counter deltas:\n  " + "\n  ".join(bad)
            # the flood was limited: at most the burst (plus refill) got through
            assert 30 <= 80 - answered <= 80 - 20, "answered %d of 80 pings" % answered
            # the live IM went out as one "message" packet; bytes in are exactly what the clients sent
            assert delta(mid, after, 'ymsgd_packets_sent_total{service="message"}') == 0
            assert delta(before, mid, 'ymsgd_packets_sent_total{service="message"}') == 1
            assert d("ymsgd_received_bytes_total") == sent[0], (d("ymsgd_received_bytes_total"), sent[0])
            assert d("ymsgd_sent_bytes_total") > 0
            # the store was timed (logins read accounts, the offline IM wrote a box row) and the histogram adds up
            for op in ("account", "offline"):
                n = after['ymsgd_store_op_duration_seconds_count{op="%s"}' % op]
                assert n > 0 and after['ymsgd_store_op_duration_seconds_bucket{op="%s",le="+Inf"}' % op] == n, op
            assert after['ymsgd_hash_queue_depth{pool="login"}'] == 0
            assert after['ymsgd_hash_queue_depth{pool="amf"}'] == 0  # the gateway's own pool is shown too
            assert after["process_open_fds"] > 5 and after["process_resident_memory_bytes"] > 1e6
            assert after['ymsgd_build_info{version="%s"}' % re.search(r'version="([^"]*)"', text).group(1)] == 1
            for c in (a, b, w):
                c.close()
    finally:
        Client.send_raw, WsClient.send_raw = orig, orig_ws


def test_amf_names_capped():
    """Many distinct AMF method names do not grow /metrics past metrics_max_labels."""
    srv = MServer(["--metrics-max-labels", "5"])
    with srv:
        g = AmfClient(srv.http_port)
        for i in range(60):
            ok, v = g.call("Evil%d.m\"\\\n%d" % (i, i))
            assert not ok
        ok, v = g.call("Phonebook.sync")  # a real method still gets its own row after the cap is full
        assert not ok and v.get("code") == "Client.Authentication", v
        text = scrape(srv.metrics_port)
        promtool_check(text)
        rows = [l for l in text.splitlines() if l.startswith("ymsgd_amf_calls_total{")]
        evil = [l for l in rows if 'service="Evil' in l]
        assert len(evil) == 5, rows
        # the label escaping: backslash, quote and newline as the format wants
        assert 'method="m\\"\\\\\\n0"' in evil[0], evil[0]
        other = parse(text)['ymsgd_amf_calls_total{service="other",method="other",result="Server.ResourceUnavailable"}']
        assert other == 55, other
        assert any('method="sync",result="Client.Authentication"' in l for l in rows), rows
        size = len(text)
        for i in range(60, 200):
            g.call("Evil%d.x" % i)
        assert len(scrape(srv.metrics_port)) <= size + 3, "page grew"  # only the "other" count's digits


def listening_ports(pid):
    """TCP ports the process listens on (its socket inodes matched against /proc/net/tcp{,6})."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(f).read().splitlines()[1:]:
            p = line.split()
            if p[3] == "0A" and p[9] in inodes:
                ports.add(int(p[1].rsplit(":", 1)[1], 16))
    return ports


def test_metrics_listener_off_by_default():
    srv = Server(YMSGD)
    with srv:
        ports = listening_ports(srv.proc.pid)
        assert ports == {srv.ymsg_port, srv.http_port}, (ports, srv.ymsg_port, srv.http_port)
        code, _ = status_of(srv.http_port, "/metrics")
        assert code == 404, code  # the page is only on its own listener
        assert status_of(srv.http_port, "/healthz") == (200, "ok\n")
        assert status_of(srv.http_port, "/readyz") == (200, "ready\n")


def test_health_and_ready():
    srv = MServer(["--health-timeout-ms", "2000"])
    srv.add_user("alice", "pw-alice")
    with srv:
        for port in (srv.http_port, srv.metrics_port):
            assert status_of(port, "/healthz") == (200, "ok\n")
            assert status_of(port, "/readyz") == (200, "ready\n")
        assert status_of(srv.metrics_port, "/nope")[0] == 404
        # The store stops answering: another process holds every WAL lock of the database (what a stuck
        # backup or a hung peer would do).  The server's read waits out SQLite's busy handler (5 s) and
        # fails or comes back late: 503 either way.
        shm = os.path.join(srv.dir, "data", "ymsgd.db-shm")
        fd = os.open(shm, os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX, 8, 120, os.SEEK_SET)
            t0 = time.time()
            code, body = status_of(srv.metrics_port, "/healthz", timeout=30)
            assert code == 503 and body.startswith("unhealthy: store"), (code, body, time.time() - t0)
        finally:
            os.close(fd)  # drops the locks
        assert status_of(srv.metrics_port, "/healthz") == (200, "ok\n")
        # Draining: a connection that has not logged in keeps the drain going for its 2 s bound; meanwhile
        # the metrics listener says 503 on /readyz and the process is still healthy.
        hold = socket.create_connection(("127.0.0.1", srv.ymsg_port))
        time.sleep(0.2)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert status_of(srv.metrics_port, "/readyz") == (503, "draining\n")
        assert status_of(srv.metrics_port, "/healthz") == (200, "ok\n")
        assert srv.proc.wait(timeout=10) == 0
        hold.close()


if __name__ == "__main__":
    run_tests([test_counters_match_a_scripted_run, test_amf_names_capped, test_metrics_listener_off_by_default,
               test_health_and_ready])
