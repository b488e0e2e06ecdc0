#!/usr/bin/env python3
"""End-to-end test of ymsgd's AMF gateway: starts the real ymsgd on loopback (free ports, temp data
dir), creates accounts with `ymsgd user add`, and drives /api, /api.php, /gateway, /amf and
/crossdomain.xml over HTTP keep-alive (and HTTPS when openssl is available) with an independent
python AMF codec (amfpy.py) and, when given, engineer F's amfcall.

usage: gateway_e2e.py YMSGD [AMFCALL]
"""
import http.client
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amfpy  # noqa: E402
from amfpy import AVM, External, Typed, encode0, encode3, packet, parse_packet  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
AMFCALL = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
HERE = os.path.dirname(os.path.abspath(__file__))
FAST = ["--pwhash-opslimit", "1", "--pwhash-memlimit", "8192"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, data_dir, extra=()):
        self.data_dir = data_dir
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.http_port = free_port()
        self.https_port = free_port()
        args = [YMSGD, "--data-dir", self.data_dir, "--ymsg-listen", "127.0.0.1:%d" % free_port(),
                "--http-listen", "127.0.0.1:%d" % self.http_port,
                "--https-listen", "127.0.0.1:%d" % self.https_port, "--log-level", "warn"] + FAST + self.extra
        self.log = open(os.path.join(self.data_dir, "ymsgd.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("ymsgd exited early (%d); see %s" % (self.proc.returncode, self.log.name))
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("ymsgd did not start listening")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "killed"
        self.log.close()
        check(rc == 0, "ymsgd exit status after SIGTERM: %s" % rc)


def user_add(data_dir, name, password):
    r = subprocess.run([YMSGD, "--data-dir", data_dir] + FAST + ["user", "add", name],
                       input=(password + "\n").encode(), capture_output=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("ymsgd user add %s failed: %s" % (name, r.stderr.decode(errors="replace")))


class Client:
    """One keep-alive HTTP connection with a cookie jar holding YMSGAMF."""

    def __init__(self, port, path="/api.php", tls=False):
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=ctx)
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.path = path
        self.cookie = None
        self.last_set_cookie = None

    def request(self, method, body=b"", ctype="application/x-amf", path=None):
        h = {}
        if ctype:
            h["Content-Type"] = ctype
        if self.cookie:
            h["Cookie"] = "other=1; YMSGAMF=%s" % self.cookie
        self.conn.request(method, path or self.path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        sc = r.getheader("Set-Cookie")
        self.last_set_cookie = sc
        if sc and sc.startswith("YMSGAMF="):
            self.cookie = sc.split(";")[0].split("=", 1)[1]
        return r.status, r, data

    def post(self, body):
        st, r, data = self.request("POST", body)
        if not check(st == 200, "POST status %d: %r" % (st, data[:200])):
            return None
        check(r.getheader("Content-Type") == "application/x-amf", "reply Content-Type")
        return parse_packet(data)

    def call(self, target, *args, avm=False):
        """Classic call; returns (ok, value, raw_value_bytes)."""
        argv = [AVM(a) for a in args] if avm else list(args)
        p = self.post(packet([(target, "/1", encode0(argv))], version=3 if avm else 0))
        if p is None:
            return None, None, None
        _, _, bodies = p
        t, resp, v, raw = bodies[0]
        check(t in ("/1/onResult", "/1/onStatus"), "classic reply target %r" % t)
        check(resp == "null", "reply response URI %r" % resp)
        return t == "/1/onResult", v, raw

    def flex(self, *msgs):
        """Flex envelope; returns [(ok, message)]."""
        p = self.post(amfpy.flex_request(list(msgs)))
        if p is None:
            return []
        version, _, bodies = p
        check(version == 3, "Flex reply version %d" % version)
        out = []
        for i, (t, resp, v, raw) in enumerate(bodies):
            ok = t == "/%d/onResult" % (i + 1)
            check(ok or t == "/%d/onStatus" % (i + 1), "Flex reply target %r" % t)
            out.append((ok, v))
        return out


def ack_fields(v):
    if isinstance(v, External):  # DSK
        return v.value
    return v.members


PHONE_SEALED = ["name", "phone", "email"]


def phone_entry(name, phone, email):
    return Typed("PhoneEntry", {"name": name, "phone": phone, "email": email}, PHONE_SEALED)


# ------------------------------------------------------------------------------------------------ tests

def test_http_basics(srv):
    c = Client(srv.http_port)
    st, r, data = c.request("GET", ctype=None, path="/api")
    check(st == 405 and r.getheader("Allow") == "POST", "GET /api -> %d Allow=%s" % (st, r.getheader("Allow")))
    st, r, data = c.request("POST", b"\0\0\0\0\0\0", ctype="text/plain")
    check(st == 415, "text/plain -> %d" % st)
    sock = None
    for path in ("/api", "/api.php", "/gateway", "/amf"):
        st, r, data = c.request("POST", packet([]), path=path)
        check(st == 200 and data == b"\0\0\0\0\0\0", "empty envelope on %s -> %d %r" % (path, st, data))
        check(r.getheader("Content-Length") == "6", "Content-Length on %s" % path)
        check(sock is None or c.conn.sock is sock, "keep-alive: one connection for every request")
        sock = c.conn.sock
    st, r, data = c.request("GET", ctype=None, path="/crossdomain.xml")
    check(st == 200, "crossdomain.xml status %d" % st)
    check(r.getheader("Content-Type") == "text/x-cross-domain-policy", "crossdomain content type")
    check(b'<allow-access-from domain="*.example.com"/>' in data, "crossdomain lists the configured domain")
    check(data.count(b"allow-access-from") == 1, "crossdomain lists nothing else")
    st, r, data = c.request("POST", b"\x00", path="/api")
    check(st == 400 and b"truncated" in data, "1-byte body -> %d %r" % (st, data))


def test_classic(srv):
    c = Client(srv.http_port)
    ok, v, _ = c.call("Phonebook.sync")
    check(ok is False and v.get("code") == "Client.Authentication" and "not logged in" in v.get("description", ""),
          "sync before login is a fault: %r" % (v,))
    ok, v, _ = c.call("Phonebook.login", "alice", "wrong")
    check(ok and v is False and c.cookie is None, "wrong password -> false, no cookie")
    ok, v, _ = c.call("Phonebook.login", "alice", "pw-alice")
    check(ok and v is True, "login -> true")
    check(c.cookie and len(c.cookie) == 32 and "HttpOnly" in c.last_set_cookie and "Path=/" in c.last_set_cookie,
          "Set-Cookie: %r" % c.last_set_cookie)
    ok, v, _ = c.call("Phonebook.sync")
    check(ok and v == [], "empty phonebook -> [] (%r)" % (v,))
    entries = [phone_entry("n%d" % i, "+1 555 01%02d" % i, "n%d@example.com" % i) for i in range(11)]
    ok, v, _ = c.call("Phonebook.sync", entries)
    check(not ok and "11 entries exceed the limit of 10" in v.get("description", ""), "cap 10: %r" % (v,))
    ok, v, _ = c.call("Phonebook.sync", entries[:10])
    check(ok and v == entries[:10], "sync(10 typed AMF0 entries) returns them")
    ok, v, _ = c.call("Phonebook.sync", [])
    check(ok and v == entries[:10], "sync([]) keeps the list (the seed's count() check)")
    ok, v, _ = c.call("Phonebook.sync", None)
    check(ok and v == entries[:10], "sync(null) returns the list")
    ok, v, _ = c.call("Phonebook.frobnicate")
    check(not ok and v.get("faultCode") == "Server.ResourceUnavailable" and "Phonebook.frobnicate" in v["faultString"],
          "unknown method fault: %r" % (v,))
    ok, v, _ = c.call("Phonebook.login", "alice")
    check(not ok and v.get("code") == "Client.Argument" and "takes 2 arguments, got 1" in v["description"],
          "arity fault: %r" % (v,))
    ok, v, _ = c.call("Phonebook.logout")
    check(ok and v is True, "logout")
    ok, v, _ = c.call("Phonebook.sync")
    check(not ok, "sync after logout is a fault")


def test_flex_seed_client(srv):
    """What the seed's Flex client sends: ping, then RemotingMessages with operation "Phonebook.login"
    / "Phonebook.sync", destination "api", source null; entries as an ArrayCollection of PhoneEntry."""
    c = Client(srv.http_port, path="/api.php")
    r = c.flex(amfpy.command_message(5, "PING-0001"))
    check(len(r) == 1 and r[0][0], "ping acked")
    ack = ack_fields(r[0][1])
    dsid = ack["headers"].get("DSId")
    check(isinstance(dsid, str) and len(dsid) == 36, "ping gives a DSId: %r" % (dsid,))
    check(ack["correlationId"] == "PING-0001", "ping ack correlationId")
    c.cookie = None  # like a Flash client whose browser drops cookies: the DSId alone carries the session
    r = c.flex(amfpy.remoting_message("Phonebook.login", ["bob", "pw-bob"], "M-1", dsid=dsid))
    check(r and r[0][0] and ack_fields(r[0][1])["body"] is True, "Flex login -> true")
    check(ack_fields(r[0][1])["correlationId"] == "M-1", "correlationId = request messageId")
    # issue 9 item 4: the login rotates the DSId; a cookie-less client goes on with the new one
    new_dsid = ack_fields(r[0][1])["headers"].get("DSId")
    check(isinstance(new_dsid, str) and len(new_dsid) == 36 and new_dsid != dsid, "login rotates the DSId")
    dsid = new_dsid
    c.cookie = None
    book = External("flex.messaging.io.ArrayCollection",
                    [phone_entry("Ann", "+1 555 0100", "ann@example.com"),
                     phone_entry("Bo\u00e9 \U0001F600", "+44 20 7946 0000", None)])
    r = c.flex(amfpy.remoting_message("Phonebook.sync", [book], "M-2", dsid=dsid))
    check(r and r[0][0] and ack_fields(r[0][1])["body"] == book, "Flex sync(ArrayCollection<PhoneEntry>) returns it")
    # batched: two calls in one envelope, one of them failing
    r = c.flex(amfpy.remoting_message("Phonebook.sync", [], "M-3", dsid=dsid),
               amfpy.remoting_message("Nope.x", [], "M-4", dsid=dsid))
    check(len(r) == 2 and r[0][0] and ack_fields(r[0][1])["body"] == book, "batched sync ok")
    check(len(r) == 2 and not r[1][0] and r[1][1].class_name == "flex.messaging.messages.ErrorMessage" and
          r[1][1].members["faultCode"] == "Server.ResourceUnavailable" and
          r[1][1].members["correlationId"] == "M-4", "batched unknown service -> ErrorMessage")
    # Flex ChannelSet.login(): CommandMessage 8 with base64 user:password
    c2 = Client(srv.http_port, path="/gateway")
    r = c2.flex(amfpy.command_message(5, "P2"))
    d2 = ack_fields(r[0][1])["headers"]["DSId"]
    r = c2.flex(amfpy.command_message(8, "L2", body="Ym9iOnB3LWJvYg==", dsid=d2))  # bob:pw-bob
    check(r and r[0][0], "CommandMessage LOGIN acked")
    r = c2.flex(amfpy.remoting_message("sync", [], "M-5", dsid=d2, source="Phonebook"))
    check(r and r[0][0] and ack_fields(r[0][1])["body"] == book, "source=Phonebook operation=sync works")
    r = c2.flex(amfpy.command_message(9, "O2", dsid=d2))
    check(r and r[0][0], "CommandMessage LOGOUT acked")
    r = c2.flex(amfpy.remoting_message("Phonebook.sync", [], "M-6", dsid=d2))
    check(r and not r[0][0] and r[0][1].members["faultCode"] == "Client.Authentication", "logged out -> fault")
    return book


def test_fixtures(srv):
    c = Client(srv.http_port)
    for name in ("commandMessage.bin", "remotingMessage.bin", "flex-request.bin", "simple-request.bin",
                 "multiple-simple-request.bin"):
        data = open(os.path.join(HERE, "fixtures", name), "rb").read()
        reqv, _, reqb = parse_packet(data)
        p = c.post(data)
        if not check(p is not None, "fixture %s answered" % name):
            continue
        version, _, bodies = p
        check(version == reqv, "%s: reply version %d" % (name, version))
        check(len(bodies) == len(reqb), "%s: one reply per body" % name)
        for (t, resp, v, raw), (rt, rr, rv, _) in zip(bodies, reqb):
            check(t.startswith(rr + "/on"), "%s: reply %s for %s" % (name, t, rr))
            if rt == "null":
                check(isinstance(v, Typed) and v.class_name.startswith("flex.messaging.messages."),
                      "%s: Flex reply is a message: %r" % (name, v))
                msg = rv[0] if isinstance(rv, list) else rv
                check(v.members.get("correlationId") == msg.members["messageId"], "%s: correlationId" % name)
            else:
                check(isinstance(v, dict) and v.get("level") == "error" and "TestController" in v["description"],
                      "%s: classic fault names the service: %r" % (name, v))


def nested0(depth):
    return b"\x0a\x00\x00\x00\x01" * depth + b"\x05"


def test_hostile(srv):
    """Bad bodies get 400/413 or a fault, while a concurrent good client keeps being served."""
    stop = threading.Event()
    good = {"ok": 0, "bad": 0}

    def good_client():
        c = Client(srv.http_port)
        c.call("Phonebook.login", "carol", "pw-carol")
        while not stop.is_set():
            ok, v, _ = c.call("Phonebook.sync")
            good["ok" if ok and v == [] else "bad"] += 1

    t = threading.Thread(target=good_client)
    t.start()
    time.sleep(0.3)
    hostile = {
        "truncated value (last body)": (packet([("Phonebook.sync", "/1", encode0([1, 2, 3]))])[:-5], (200,)),
        "truncated envelope": (packet([("Phonebook.sync", "/1", encode0([1, 2, 3]))])[:12], (400,)),
        "deep nesting": (packet([("Phonebook.sync", "/1", nested0(5000))]), (200,)),
        "huge strict-array count": (packet([("Phonebook.sync", "/1", b"\x0a\xff\xff\xff\xff")]), (200,)),
        "huge AMF3 array count": (packet([("Phonebook.sync", "/1", b"\x11\x09\xff\xff\xff\xff")]), (200,)),
        "bad AMF0 reference": (packet([("Phonebook.sync", "/1", b"\x0a\x00\x00\x00\x01\x07\x00\x09")]), (200,)),
        "bad AMF3 string ref": (packet([("Phonebook.sync", "/1", b"\x11\x06\x0e")]), (200,)),
        "bad AMF3 traits ref": (packet([("Phonebook.sync", "/1", b"\x11\x0a\x05")]), (200,)),
        "unknown externalizable": (packet([("Phonebook.sync", "/1", b"\x11\x0a\x07\x07Foo\x01")]), (200,)),
        "65535 bodies claimed": (b"\x00\x00\x00\x00\xff\xff", (400,)),
        "long string length": (packet([("Phonebook.sync", "/1", b"\x0c\x7f\xff\xff\xff")]), (200,)),
        "version 9": (b"\x00\x09\x00\x00\x00\x00", (400,)),
    }
    for name, (body, want) in hostile.items():
        c = Client(srv.http_port)
        try:
            st, r, data = c.request("POST", body)
        except (ConnectionError, http.client.HTTPException) as e:
            check(False, "%s: connection error %r" % (name, e))
            continue
        check(st in want, "%s: status %d (want %s): %r" % (name, st, want, data[:120]))
        if st == 200:
            _, _, bodies = parse_packet(data)
            check(len(bodies) == 1 and bodies[0][0] == "/1/onStatus", "%s: answered with a fault" % name)
            check(bodies[0][2].get("code") == "Client.Message" and "undecodable" in bodies[0][2]["description"],
                  "%s: fault text %r" % (name, bodies[0][2]))
    # 10 MB body: refused from its Content-Length (evhttp answers 413 before reading it all and closes)
    sk = socket.create_connection(("127.0.0.1", srv.http_port), timeout=20)
    sk.sendall(b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amf\r\nContent-Length: %d\r\n\r\n"
               % (10 << 20))
    try:
        sk.sendall(b"\0" * (1 << 20))
    except OSError:
        pass
    head = b""
    try:
        while b"\r\n" not in head:
            chunk = sk.recv(4096)
            if not chunk:
                break
            head += chunk
    except OSError:
        pass
    sk.close()
    check(head.startswith(b"HTTP/1.1 413"), "10 MB body -> %r" % head[:40])
    # a 1 MiB body (within amf_max_body, under the HTTP cap since issue 9 item 10) reaches the gateway,
    # which answers its own way: zeros are an empty envelope followed by junk -> 400; requests over
    # amf_max_body get AMF faults (limits_e2e.py)
    c = Client(srv.http_port)
    try:
        st, _, _ = c.request("POST", b"\0" * (1 << 20))
        check(st == 400, "1 MiB body -> %d" % st)
    except (ConnectionError, http.client.HTTPException):
        pass  # evhttp may close before the client has finished sending; the 10 MB case checked the status
    time.sleep(0.3)
    stop.set()
    t.join(30)
    check(good["ok"] > 10 and good["bad"] == 0, "concurrent good client: %r" % good)
    c = Client(srv.http_port)
    st, _, _ = c.request("POST", packet([]))
    check(st == 200, "server still serving after hostile input")


def db_blob(data_dir, user):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "ymsgd.db"), uri=True)
    try:
        row = db.execute("SELECT data FROM phonebook WHERE user = ?", (user,)).fetchone()
        return bytes(row[0]) if row else None
    finally:
        db.close()


def test_amfcall(srv):
    if not AMFCALL or not os.path.exists(AMFCALL):
        raise SystemExit("FAIL: amfcall not given or not built (gateway_e2e.py YMSGD AMFCALL)")
    url = "http://127.0.0.1:%d/api.php" % srv.http_port
    for mode in ("--flex", "--amf0"):
        r = subprocess.run([AMFCALL, mode, "--user", "dave", "--password-file", "-", url, "Phonebook.sync",
                            '[{"name": "Eve", "phone": "1"}]', "--", "Phonebook.sync"],
                           input=b"pw-dave\n", capture_output=True, timeout=60)
        out = r.stdout.decode(errors="replace")
        check(r.returncode == 0 and out.count('"Eve"') == 2,
              "amfcall %s: rc %d out %r err %r" % (mode, r.returncode, out, r.stderr[-300:]))
        r = subprocess.run([AMFCALL, mode, url, "Phonebook.sync"], capture_output=True, timeout=60)
        check(r.returncode != 0 and b"not logged in" in r.stdout + r.stderr,
              "amfcall %s without login reports the fault: rc %d %r" % (mode, r.returncode, r.stdout + r.stderr))


def test_npm_peer(srv):
    """npm libamf 1.4.2 (a remoting client nobody here wrote) sends classic and Flex requests."""
    npm = os.path.join(HERE, "npm")
    node = shutil.which("node") or shutil.which("nodejs")
    if not check(node and os.path.isdir(os.path.join(npm, "node_modules", "libamf")),
                 "npm peer missing in %s: run scripts/deps.sh test (npm ci --prefix tests/e2e/gateway/npm)" % npm):
        return
    r = subprocess.run([node, os.path.join(npm, "peer_test.js"), "http://127.0.0.1:%d/api.php" % srv.http_port,
                        "erin", "pw-erin"], capture_output=True, timeout=120)
    out = (r.stdout + r.stderr).decode(errors="replace")
    check(r.returncode == 0 and "all checks passed" in out, "libamf peer: rc %d\n%s" % (r.returncode, out[-3000:]))


def test_https(srv, tmp):
    c = Client(srv.https_port, tls=True)
    r = c.flex(amfpy.command_message(5, "TLS-PING"))
    check(r and r[0][0], "Flex ping over HTTPS")
    ok, v, _ = c.call("Phonebook.login", "alice", "pw-alice")
    check(ok and v is True and c.cookie, "classic login over HTTPS")


def main():
    tmp = tempfile.mkdtemp(prefix="gw-e2e-")
    data_dir = os.path.join(tmp, "data")
    os.mkdir(data_dir)
    try:
        for u in ("alice", "bob", "carol", "dave", "erin"):
            user_add(data_dir, u, "pw-" + u)
        extra = ["--amf-phonebook-max", "10", "--amf-crossdomain", "*.example.com"]
        have_tls = shutil.which("openssl") is not None
        if have_tls:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
            extra += ["--tls-cert", cert, "--tls-key", key]
        srv = Server(data_dir, extra)
        srv.start()
        test_http_basics(srv)
        test_classic(srv)
        book = test_flex_seed_client(srv)
        test_fixtures(srv)
        test_hostile(srv)
        test_amfcall(srv)
        test_npm_peer(srv)
        if have_tls:
            test_https(srv, tmp)

        # Round trip across a restart: alice stores an AMF0 list (typed 0x10 objects), bob's AMF3
        # ArrayCollection<PhoneEntry> is already stored; both come back byte-for-byte.
        c = Client(srv.http_port)
        c.call("Phonebook.login", "alice", "pw-alice")
        alice_list = [phone_entry("Zoe", "+33 1 00 00 00 00", "zoe@example.fr"), amfpy.Date(1.7e12), 42.5]
        ok, v, raw_sent = c.call("Phonebook.sync", alice_list)
        check(ok, "alice sync before restart")
        ok, v, raw_before = c.call("Phonebook.sync")
        check(ok and raw_before == encode0(alice_list), "AMF0 reply bytes equal the list as sent")
        blob_a, blob_b = db_blob(data_dir, "alice"), db_blob(data_dir, "bob")
        check(blob_a == b"\x00" + encode0(alice_list), "alice's blob is the AMF0 encoding as sent: %r" % (blob_a,))
        check(blob_b == b"\x03" + encode3(book), "bob's blob is the AMF3 encoding (independent encoder agrees)")
        srv.stop()
        srv.start()
        c = Client(srv.http_port)
        c.call("Phonebook.login", "alice", "pw-alice")
        ok, v, raw_after = c.call("Phonebook.sync")
        check(ok and raw_after == raw_before, "alice's phonebook identical after restart")
        f = Client(srv.http_port)
        r = f.flex(amfpy.command_message(5, "P"))
        dsid = ack_fields(r[0][1])["headers"]["DSId"]
        r = f.flex(amfpy.remoting_message("Phonebook.login", ["bob", "pw-bob"], "A", dsid=dsid),
                   amfpy.remoting_message("Phonebook.sync", [], "B", dsid=dsid))
        check(len(r) == 2 and r[1][0] and ack_fields(r[1][1])["body"] == book,
              "bob's ArrayCollection<PhoneEntry> identical after restart")
        check(db_blob(data_dir, "bob") == blob_b and db_blob(data_dir, "alice") == blob_a, "blobs unchanged")
        srv.stop()
    finally:
        if failures:
            log = os.path.join(data_dir, "ymsgd.log")
            if os.path.exists(log):
                sys.stdout.write(open(log, errors="replace").read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("gateway e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
