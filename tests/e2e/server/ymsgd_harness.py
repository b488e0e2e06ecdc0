"""Test harness for ymsgd end-to-end tests (python3 stdlib only).

Starts the real ymsgd on loopback with free ports and a temporary data directory, creates accounts
with `ymsgd user add` (password on stdin), and speaks raw YMSG and HTTP to it:

    with Server(ymsgd) as srv:
        srv.add_user("alice", "secret")
        a = srv.login("alice", "secret")            # full token flow: pwtoken_get, pwtoken_login, 0x57, 0x54
        a.send(0x06, [(1, "alice"), (5, "bob"), (14, "hi")], status=0x5A55AA56)
        pkt = b.expect(0x06)

Every wait is bounded (timeouts), so a broken server fails a test instead of hanging it.
Run under `tests/support/pgserver.py run -- ...` the servers use that PostgreSQL store (YMSGD_TEST_PG).
"""
import atexit
import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

SEP = b"\xc0\x80"
HDR = struct.Struct(">4sHHHHII")


def _pid_listens(pid, port):
    """1 when process pid holds a socket listening on 127.0.0.1:port (/proc/net/tcp and its fds)."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            w = line.split()
            if w[1].endswith(":%04X" % port) and w[3] == "0A":  # local address, state LISTEN
                inodes.add("socket:[%s]" % w[9])
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                return True
        except OSError:
            pass
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def y64(data):
    return base64.b64encode(data).decode().replace("+", ".").replace("/", "_").replace("=", "-")


def resp307(crumb, challenge):
    return y64(hashlib.md5((crumb + challenge).encode()).digest())


def encode(service, pairs, status=0, session=0, version=16, vendor=0):
    body = b""
    for k, v in pairs:
        if isinstance(v, str):
            v = v.encode()
        body += str(k).encode() + SEP + v + SEP
    return HDR.pack(b"YMSG", version, vendor, len(body), service, status, session) + body


class Packet:
    def __init__(self, raw):
        self.raw = raw
        magic, self.version, self.vendor, length, self.service, self.status, self.session = HDR.unpack(raw[:20])
        body = raw[20:]
        parts = body.split(SEP) if body else [b""]
        assert parts[-1] == b"", "body must end with a separator: %r" % body
        parts = parts[:-1]
        assert len(parts) % 2 == 0, "odd field count: %r" % body
        self.pairs = [(int(parts[i]), parts[i + 1]) for i in range(0, len(parts), 2)]

    def get(self, key, default=None):
        for k, v in self.pairs:
            if k == key:
                return v.decode("utf-8", "replace")
        return default

    def all(self, key):
        return [v.decode("utf-8", "replace") for k, v in self.pairs if k == key]

    def keys(self):
        return [k for k, _ in self.pairs]

    def __repr__(self):
        return "Packet(0x%x status=%d %r)" % (self.service, self.status, self.pairs)


class Client:
    """A raw YMSG connection."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0, rcvbuf=None):
        """rcvbuf: a receive buffer this small from the start (a client that reads slowly: a small window)."""
        if rcvbuf:
            self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.session = 0
        self.user = None

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, service, pairs=(), status=0, version=16):
        self.send_raw(encode(service, pairs, status, self.session, version))

    def recv(self, timeout=3.0):
        """Next packet, or None on timeout / EOF."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 20:
                length = struct.unpack(">H", self.buf[8:10])[0]
                if len(self.buf) >= 20 + length:
                    raw, self.buf = self.buf[:20 + length], self.buf[20 + length:]
                    return Packet(raw)
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                return None
            if not d:
                return None
            self.buf += d

    def expect(self, service, timeout=3.0, skip=()):
        """Next packet that is not in skip; it must have the given service."""
        while True:
            p = self.recv(timeout)
            assert p is not None, "expected 0x%x, got nothing" % service
            if p.service in skip:
                continue
            assert p.service == service, "expected 0x%x, got %r" % (service, p)
            return p

    def drain(self, timeout=0.3):
        """All packets that arrive within timeout."""
        out = []
        while True:
            p = self.recv(timeout)
            if p is None:
                return out
            out.append(p)

    def closed(self, timeout=3.0):
        """True when the server closes the connection within timeout (pending packets are skipped)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                return True
            if not d:
                return True
            self.buf += d
        return False

    def ends_cleanly(self, timeout=3.0):
        """True when the stream ends with the server's FIN within timeout (pending bytes are kept in buf); False
        on a reset (a server closing with unread input: the reset destroys what a client has not read yet)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                d = self.sock.recv(65536)
            except OSError:
                return False
            if not d:
                return True
            self.buf += d
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def http_get(port, target, version="1.1", host="login.yahoo.com", timeout=5.0):
    """Raw HTTP GET; returns (status line, headers list, raw body bytes as sent, decoded body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(("GET %s HTTP/%s\r\nHost: %s\r\nConnection: close\r\nUser-Agent: Mozilla/5.0\r\n\r\n"
               % (target, version, host)).encode())
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = [tuple(x.split(": ", 1)) for x in lines[1:]]
    decoded = body
    if any(h[0].lower() == "transfer-encoding" and h[1] == "chunked" for h in headers):
        decoded, rest = b"", body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line, 16)
            if n == 0:
                break
            decoded += rest[:n]
            rest = rest[n + 2:]
    return lines[0], headers, body, decoded


class Server:
    """A ymsgd process with its own data directory and ports."""

    def __init__(self, exe, extra_args=(), data_dir=None):
        self.exe = exe
        self.own_dir = data_dir is None
        self.dir = data_dir or tempfile.mkdtemp(prefix="ymsgd-test-")
        self.extra = list(extra_args)
        self.proc = None
        self.ymsg_port = self.http_port = None
        self.log_level = "debug"  # benchmarks set "warn"

    def base_args(self):
        # $YMSGD_TEST_PG (set by tests/support/pgserver.py run): the server and `user` commands use that
        # PostgreSQL database instead of the SQLite file in the data directory.
        store = ["--store", os.environ["YMSGD_TEST_PG"]] if os.environ.get("YMSGD_TEST_PG") else []
        return [self.exe, "--data-dir", os.path.join(self.dir, "data"), "--pwhash-opslimit", "1",
                "--pwhash-memlimit", "8192"] + store + self.extra

    def add_user(self, name, password):
        r = subprocess.run(self.base_args() + ["user", "add", name], input=(password + "\n").encode(),
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr.decode()

    def start(self):
        for _ in range(5):
            self.ymsg_port, self.http_port = free_port(), free_port()
            self.log = open(os.path.join(self.dir, "ymsgd.log"), "ab")
            self.proc = subprocess.Popen(self.base_args() + [
                "--ymsg-listen", "127.0.0.1:%d" % self.ymsg_port,
                "--http-listen", "127.0.0.1:%d" % self.http_port, "--log-level", self.log_level],
                stdout=subprocess.PIPE, stderr=self.log)
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.ymsg_port), timeout=0.2).close()
                    socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2).close()
                except OSError:
                    time.sleep(0.05)
                    continue
                # Something answers on both ports -- but it may be another test's process that took a
                # port between free_port() and our bind (ymsgd then says "cannot listen" and exits):
                # ours is up only once the listening sockets are its own.
                if _pid_listens(self.proc.pid, self.ymsg_port) and _pid_listens(self.proc.pid, self.http_port):
                    return self
                time.sleep(0.05)
            self.stop()  # port collision or slow start: try other ports
        raise RuntimeError("ymsgd did not start; log: %s" % os.path.join(self.dir, "ymsgd.log"))

    def stop(self, sig=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            self.check_clean_exit(rc)
        if exc[0] is not None:
            try:
                sys.stderr.write(open(os.path.join(self.dir, "ymsgd.log")).read()[-6000:])
            except OSError:
                pass
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def check_clean_exit(self, rc):
        """A server stopped with SIGTERM exits 0, and a sanitizer report (a leak at exit, a UBSan finding
        when not halting) fails the test: the ASan+UBSan pass would otherwise see them only in a log."""
        try:
            text = self.log_text()
        except OSError:  # never started (the test drove the process itself)
            text = ""
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in text:
                raise AssertionError("ymsgd: %s in its log:\n%s" % (mark, text[text.index(mark) - 200:][:6000]))
        if rc not in (0, None):
            raise AssertionError("ymsgd exited %s after SIGTERM; log tail:\n%s" % (rc, text[-4000:]))

    def log_text(self):
        return open(os.path.join(self.dir, "ymsgd.log"), errors="replace").read()

    # ---- the token login -------------------------------------------------------------------
    def token(self, user, password, challenge="x", timeout=5.0):
        q = urllib.parse.urlencode({"src": "ymsgr", "ts": "", "login": user, "passwd": password, "chal": challenge})
        _, _, _, body = http_get(self.http_port, "/config/pwtoken_get?" + q, timeout=timeout)
        return body.decode()

    def cookies(self, token):
        _, headers, _, body = http_get(self.http_port, "/config/pwtoken_login?src=ymsgr&ts=&token=" +
                                       urllib.parse.quote(token))
        lines = body.decode().split("\r\n")
        fields = dict(l.split("=", 1) for l in lines[1:] if "=" in l)
        return lines[0], fields, headers

    def login(self, user, password, status=0, version=16, expect_ok=True, client=None, send_54=True):
        """The v16 token login (0x57, pwtoken_get, pwtoken_login, 0x54) on a new pager connection, or on
        client (already connected: e.g. a WebSocket one, tests/e2e/web/wsclient.py).  send_54=False stops
        before the 0x54: the client's send_54() sends it later."""
        c = client or Client(self.ymsg_port)
        c.user = user
        c.send(0x57, [(1, user)], version=version)
        p = c.expect(0x57)
        c.session = p.session
        chal = p.get(94)
        body = self.token(user, password, chal)
        lines = body.split("\r\n")
        assert lines[0] == "0", "pwtoken_get: %r" % body
        tok = lines[1].split("=", 1)[1]
        code, f, _ = self.cookies(tok)
        assert code == "0"
        c.send_54 = lambda: c.send(0x54, [(1, user), (0, user), (277, f["Y"]), (278, f["T"]),
                                          (307, resp307(f["crumb"], chal)), (244, "4194239"), (2, user), (2, "1"),
                                          (98, "us")], status=status, version=version)
        if not send_54:
            return c
        c.send_54()
        if expect_ok:
            c.login_burst = c.until_list_done()
        return c


def _until_list_done(self, timeout=3.0):
    """Packets up to and including the last 0xF1 (status 0), plus whatever follows within 0.3 s."""
    got = []
    while True:
        p = self.recv(timeout)
        assert p is not None, "login burst incomplete: %r" % got
        got.append(p)
        assert p.service != 0x54, "login failed: %r" % p
        if p.service == 0xF1 and p.status == 0:
            break
    got += self.drain(0.3)
    return got


Client.until_list_done = _until_list_done


def run_tests(tests):
    """Runs test functions; prints one line each; exits non-zero on any failure."""
    import traceback
    failed = 0
    only = sys.argv[2:] if len(sys.argv) > 2 else None
    unknown = [n for n in only or () if n not in {t.__name__ for t in tests}]
    if unknown:  # a name meson passes that no test has would otherwise pass by running nothing
        print("FAIL no such test: %s" % " ".join(unknown))
        sys.exit(1)
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.time()
        try:
            t()
            print("ok   %-50s %.2fs" % (t.__name__, time.time() - t0))
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__)
            traceback.print_exc()
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


# ---- several nodes (issue 12) ------------------------------------------------------------------

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))


_SingleServer = Server


class ClusterServer:
    """N ymsgd nodes on loopback sharing a private redis-server (tests/support/redisserver.py) and one
    durable store, with the interface of Server: logins go round-robin over the nodes (login k on node
    k % N), so the users of a scenario are spread over the nodes and a second login of a user lands on
    another node.  The durable store is a PostgreSQL database, as in a real cluster: $YMSGD_TEST_PG when
    set (tests/support/pgserver.py run), else a private PostgreSQL (tests/support/pgserver.py) started
    here and stopped with the cluster (a missing PostgreSQL is a failure, never a skip).

    The existing scenarios run against it unchanged: YMSGD_TEST_NODES=3 makes `Server` this class."""

    def __init__(self, exe, extra_args=(), data_dir=None, nodes=3, redis=None):
        from redisserver import RedisServer
        self.exe = exe
        self.own_dir = data_dir is None
        self.dir = data_dir or tempfile.mkdtemp(prefix="ymsgd-cluster-")
        self.extra = list(extra_args)
        self.pg = None
        if not os.environ.get("YMSGD_TEST_PG"):  # else _SingleServer.base_args passes it
            from pgserver import PgServer
            self.pg = PgServer().start()
            atexit.register(self.pg.stop)  # a test that fails before __exit__ still stops it
            self.extra += ["--store", self.pg.create_db("ymsgd")]
        self.own_redis = redis is None
        self.redis = redis or RedisServer()
        self.n = nodes
        self.nodes = []
        self.next_node = 0
        for i in range(nodes):
            d = os.path.join(self.dir, "node%d" % i)
            os.makedirs(d, exist_ok=True)
            self.nodes.append(_SingleServer(exe, extra_args=self.extra, data_dir=d))

    def node_args(self, i):
        # One password cache key for every node (as scripts/cluster.sh does): a password verified on one
        # node is not hashed again on another.
        return ["--redis", self.redis.url, "--node-name", "node%d" % i, "--cluster-heartbeat-ms", "200",
                "--cluster-node-timeout-ms", "2000", "--pwcache-key-file", os.path.join(self.dir, "pwcache.key")]

    def base_args(self):
        return self.nodes[0].base_args()

    def add_user(self, name, password):
        self.nodes[0].add_user(name, password)

    def start_node(self, i):
        node = self.nodes[i]
        node.extra = self.extra + self.node_args(i)
        node.start()
        return node

    def start(self):
        if self.redis.proc is None:
            self.redis.start()
        for i in range(self.n):
            self.start_node(i)
        self.wait_joined()
        return self

    def wait_joined(self, timeout=10.0):
        """Until every node is in the heartbeat table and has its peers' directories."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            live = self.redis.command("ZRANGE", "ymsg:nodes", "0", "-1")
            if len(live or []) == self.n:
                time.sleep(0.5)  # one more heartbeat: every node has read the others' table
                return
            time.sleep(0.05)
        raise RuntimeError("cluster did not form: %r" % live)

    @property
    def ymsg_port(self):
        return self.nodes[0].ymsg_port

    @property
    def http_port(self):
        return self.nodes[0].http_port

    @property
    def proc(self):
        return self.nodes[0].proc

    def stop(self, sig=15):
        rc = None
        self.stopped_alive = []  # (node, exit code) of the nodes this stop ended: check_clean_exit judges them
        for node in self.nodes:
            alive = node.proc is not None and node.proc.poll() is None
            r = node.stop(sig)
            if alive:
                self.stopped_alive.append((node, r))
            rc = r if rc is None else rc
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None:
            # every node's log, killed ones too: a sanitizer report fails the test as on one node; the
            # nodes that were still running must have exited 0 on SIGTERM
            for node, rc in self.stopped_alive:
                node.check_clean_exit(rc)
            for node in self.nodes:
                if node not in [n for n, _ in self.stopped_alive]:
                    node.check_clean_exit(None)
        if exc[0] is not None:
            for i, node in enumerate(self.nodes):
                try:
                    sys.stderr.write("---- node%d ----\n" % i + open(os.path.join(node.dir, "ymsgd.log")).read()[-4000:])
                except OSError:
                    pass
        if self.own_redis:
            self.redis.stop()
        if self.pg:
            if exc[0] is not None:
                sys.stderr.write("---- postgres.log ----\n%s\n" % self.pg.log_tail())
            self.pg.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        return "".join(n.log_text() for n in self.nodes)

    def pick(self):
        node = self.nodes[self.next_node % self.n]
        self.next_node += 1
        return node

    def token(self, user, password, challenge="x", timeout=5.0):
        return self.nodes[0].token(user, password, challenge, timeout)

    def cookies(self, token):
        return self.nodes[0].cookies(token)

    def login(self, user, password, status=0, version=16, expect_ok=True, node=None):
        n = self.nodes[node] if node is not None else self.pick()
        c = n.login(user, password, status=status, version=version, expect_ok=expect_ok)
        c.node = self.nodes.index(n)
        return c


if int(os.environ.get("YMSGD_TEST_NODES", "1")) > 1:
    _nodes = int(os.environ["YMSGD_TEST_NODES"])

    class Server(ClusterServer):  # noqa: F811  the scenarios' Server, spread over _nodes nodes
        def __init__(self, exe, extra_args=(), data_dir=None):
            ClusterServer.__init__(self, exe, extra_args, data_dir, nodes=_nodes)
