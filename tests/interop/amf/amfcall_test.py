#!/usr/bin/env python3
"""amfcall end to end against a loopback HTTP fixture server.

The server answers with RocketAMF's captured responses (simple-response.bin, acknowledge-response.bin,
amf0-error-response.bin, blaze-response.bin), only re-addressed to the request's "/N", plus a few
replies this script writes byte by byte from AMF.md (an AcknowledgeMessage carrying a DSId header, an
ErrorMessage) -- none of it produced by libamf.  It records every request; the test decodes the
request bytes amfcall sent with libamf (amf-interop) and checks the Flex/classic structure, checks
amfcall's stdout/stderr and exit codes, cookies, and the credential paths.

usage: amfcall_test.py --amfcall PATH --interop PATH --fixtures DIR
"""
import argparse
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


# ---------------------------------------------------------------------------------------------
# AMF3 writer for the crafted replies (from AMF.md §2; strings inline, no references needed)

def u29(n):
    n &= 0x1FFFFFFF
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([(n >> 7) | 0x80, n & 0x7F])
    if n < 0x200000:
        return bytes([(n >> 14) | 0x80, ((n >> 7) & 0x7F) | 0x80, n & 0x7F])
    return bytes([(n >> 22) | 0x80, ((n >> 15) & 0x7F) | 0x80, ((n >> 8) & 0x7F) | 0x80, n & 0xFF])


def s3(s):  # UTF-8-vr, inline
    b = s.encode()
    return u29(len(b) << 1 | 1) + b


def v3(v):
    if v is None:
        return b"\x01"
    if v is True:
        return b"\x03"
    if v is False:
        return b"\x02"
    if isinstance(v, int):
        return b"\x04" + u29(v)
    if isinstance(v, float):
        return b"\x05" + struct.pack(">d", v)
    if isinstance(v, str):
        return b"\x06" + s3(v)
    if isinstance(v, dict):  # anonymous dynamic object
        out = b"\x0a\x0b\x01"
        for k, x in v.items():
            out += s3(k) + v3(x)
        return out + b"\x01"
    if isinstance(v, tuple):  # (class, [(name, value)...]) sealed typed object
        cls, members = v
        out = b"\x0a" + u29(len(members) << 4 | 0x03) + s3(cls)
        for k, _ in members:
            out += s3(k)
        for _, x in members:
            out += v3(x)
        return out
    if isinstance(v, list):
        out = b"\x09" + u29(len(v) << 1 | 1) + b"\x01"
        for x in v:
            out += v3(x)
        return out
    raise TypeError(v)


def envelope(version, target, value0):
    t = target.encode()
    return (struct.pack(">HHH", version, 0, 1) + struct.pack(">H", len(t)) + t +
            struct.pack(">H", 0) + struct.pack(">I", 0xFFFFFFFF) + value0)


def v0(v):  # AMF0 writer for header values (AMF.md §1): strings, booleans, null, anonymous objects
    if v is None:
        return b"\x05"
    if isinstance(v, bool):
        return b"\x01" + (b"\x01" if v else b"\x00")
    if isinstance(v, str):
        b = v.encode()
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(v, dict):
        out = b"\x03"
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + v0(x)
        return out + b"\x00\x00\x09"
    raise TypeError(v)


def with_headers(headers, n):
    """A version 0 response "/N/onResult" -> "ok" carrying envelope headers [(name, value)]."""
    out = struct.pack(">HH", 0, len(headers))
    for name, value in headers:
        nb, vb = name.encode(), v0(value)
        out += struct.pack(">H", len(nb)) + nb + b"\x00" + struct.pack(">I", len(vb)) + vb
    t = ("/%d/onResult" % n).encode()
    return out + struct.pack(">HH", 1, len(t)) + t + struct.pack(">HI", 0, 0xFFFFFFFF) + v0("ok")


def crafted_ack(n, ds_id, body):
    msg = ("flex.messaging.messages.AcknowledgeMessage", [
        ("correlationId", "X"), ("clientId", ds_id), ("destination", None),
        ("messageId", "11111111-2222-4333-8444-555555555555"), ("timestamp", 1.7e12),
        ("timeToLive", 0), ("headers", {"DSId": ds_id, "DSMessagingVersion": 1}), ("body", body)])
    return envelope(3, "/%d/onResult" % n, b"\x11" + v3(msg))


def crafted_error(n):
    msg = ("flex.messaging.messages.ErrorMessage", [
        ("correlationId", "X"), ("clientId", None), ("destination", "api"),
        ("messageId", "11111111-2222-4333-8444-555555555556"), ("timestamp", 0), ("timeToLive", 0),
        ("headers", {}), ("body", None), ("faultCode", "Server.Processing"),
        ("faultString", "No such method: Svc.nope"), ("faultDetail", "line 1\nline 2\x1b[31m"),
        ("rootCause", None), ("extendedData", None)])
    return envelope(3, "/%d/onStatus" % n, b"\x11" + v3(msg))


# ---------------------------------------------------------------------------------------------
# fixture server

def response_uri(req):
    """The response URI "/N" of the first body (header values skipped by their length field)."""
    off = 2
    (hc,) = struct.unpack_from(">H", req, off)
    off += 2
    for _ in range(hc):
        (nl,) = struct.unpack_from(">H", req, off)
        off += 2 + nl + 1
        (vl,) = struct.unpack_from(">I", req, off)
        off += 4 + vl
    off += 2  # body count
    (tl,) = struct.unpack_from(">H", req, off)
    off += 2 + tl
    (rl,) = struct.unpack_from(">H", req, off)
    return req[off + 2:off + 2 + rl].decode()


def readdress(fixture, n):
    """A 0-header fixture response with its first target renumbered to n ("/N/..." or "N/...")."""
    off = 6
    (tl,) = struct.unpack_from(">H", fixture, off)
    target = fixture[off + 2:off + 2 + tl].decode()
    new = re.sub(r"^(/?)\d+/", lambda m: "%s%d/" % (m.group(1), n), target).encode()
    return fixture[:off] + struct.pack(">H", len(new)) + new + fixture[off + 2 + tl:]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        srv.requests.append({"path": self.path, "body": body, "ctype": self.headers.get("Content-Type"),
                             "cookie": self.headers.get("Cookie")})
        path = self.path.split("?")[0]
        n = int(response_uri(body).lstrip("/"))
        is_cmd = b"flex.messaging.messages.CommandMessage" in body
        status, ctype = 200, "application/x-amf"
        if path == "/http500":
            status, out, ctype = 500, b"boom", "text/plain"
        elif path == "/garbage":
            out = b"<html>not amf</html>"
        elif path == "/big":
            out = readdress(srv.fixtures["simple-response"], n) + b"\0" * 100000
        elif path == "/wrongn":
            out = readdress(srv.fixtures["simple-response"], n + 7)
        elif is_cmd and path == "/dsid":
            out = crafted_ack(n, "DS-1234", None)
        elif is_cmd and path == "/loginfail" and b"\x04\x08" in body:
            out = crafted_error(n)
        elif is_cmd:
            out = readdress(srv.fixtures["acknowledge-response"], n)
        elif path in ("/simple", "/dsid", "/loginfail"):
            out = readdress(srv.fixtures["simple-response"], n)
        elif path == "/ack":
            out = readdress(srv.fixtures["acknowledge-response"], n)
        elif path == "/blaze":
            out = readdress(srv.fixtures["blaze-response"], n)
        elif path == "/error":
            out = readdress(srv.fixtures["amf0-error-response"], n)
        elif path == "/session":
            out = with_headers([("AppendToGatewayUrl", "?sid=abc"),
                                ("RequestPersistentHeader", {"name": "Token", "mustUnderstand": False,
                                                             "data": "t0k"})], n)
        elif path == "/flexerror":
            out = crafted_error(n)
        elif path == "/result":
            out = crafted_ack(n, "DS-1234", {"ok": True, "n": 42, "list": ["a", "é"]})
        else:
            status, out, ctype = 404, b"no such fixture", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Set-Cookie", "SID=s%d; Path=/" % len(srv.requests))
        self.end_headers()
        self.wfile.write(out)


# ---------------------------------------------------------------------------------------------

class Interop:
    """amf-interop (libamf) as a co-process: decode recorded requests."""

    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, kind, data):
        self.p.stdin.write("%s %s\n" % (kind, data.hex()))
        self.p.stdin.flush()
        line = self.p.stdout.readline().rstrip("\n")
        if not line.startswith("OK "):
            raise RuntimeError(line)
        return json.loads(line[3:])

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amfcall", required=True)
    ap.add_argument("--interop", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    fixtures = {}
    for name in ("simple-response", "acknowledge-response", "amf0-error-response", "blaze-response"):
        with open(os.path.join(args.fixtures, name + ".bin"), "rb") as f:
            fixtures[name] = f.read()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.fixtures = fixtures
    srv.requests = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    lib = Interop(args.interop)
    tmp = tempfile.mkdtemp(prefix="amfcall-test-")

    def run(argv, env=None, stdin=None):
        srv.requests.clear()
        e = dict(os.environ)
        e.pop("AMFCALL_PASSWORD", None)
        if env:
            e.update(env)
        p = subprocess.run([args.amfcall] + argv, capture_output=True, text=True, timeout=30, env=e,
                           input=stdin)
        return p.returncode, p.stdout, p.stderr, list(srv.requests)

    uuid_re = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")

    # 1. Flex: ping then RemotingMessage; arguments typed as JSON says
    rc, out, err, reqs = run([base + "/simple", "Phonebook.login", '"admin"', "1234", "2.5",
                              '{"k":[1,null,true]}'])
    check(rc == 0 and out == '"hello"\n', "flex simple: rc=%d out=%r err=%r" % (rc, out, err))
    check(len(reqs) == 2, "flex simple: 2 requests, got %d" % len(reqs))
    if len(reqs) == 2:
        for r in reqs:
            check(r["ctype"] == "application/x-amf", "content type %r" % r["ctype"])
        p0 = lib.ask("P", reqs[0]["body"])
        check(p0["version"] == 3 and p0["headers"] == [], "ping envelope %r" % p0)
        check([b[:2] for b in p0["bodies"]] == [["null", "/1"]], "ping addressing %r" % p0["bodies"])
        check(p0["bodies"][0][2][0] == "array" and p0["bodies"][0][2][1][0][0] == "avm+",
              "ping wrapped in a strict array behind 0x11: %r" % p0["bodies"][0][2])
        f0 = lib.ask("F", reqs[0]["body"])[0]
        check(f0["kind"] == 2 and f0["operation"] == 5, "ping is CommandMessage 5: %r" % f0)
        check(f0.get("DSId") == "nil" and f0.get("destination") == "" and
              f0.get("correlationId") == "", "ping fields %r" % f0)
        check(["DSMessagingVersion", ["int", 1]] in f0["headers"][2], "ping DSMessagingVersion %r" % f0)
        check(f0["body"] == ["object", "", []], "ping body {} %r" % f0.get("body"))
        check(uuid_re.match(f0.get("messageId", "")), "ping messageId UUID %r" % f0.get("messageId"))
        p1 = lib.ask("P", reqs[1]["body"])
        check([b[:2] for b in p1["bodies"]] == [["null", "/2"]], "call addressing %r" % p1["bodies"])
        f1 = lib.ask("F", reqs[1]["body"])[0]
        check(f1["kind"] == 1 and f1.get("source") == "Phonebook" and f1.get("operationName") == "login"
              and f1.get("destination") == "api" and f1.get("DSEndpoint") == "api"
              and f1.get("DSId") == "nil", "RemotingMessage fields %r" % f1)
        check(f1["body"] == ["array", [["string", "admin"], ["int", 1234], ["double", 2.5],
                                       ["object", "", [["k", ["array", [["int", 1], ["null"], ["bool", True]], []]]]]],
                             []], "RemotingMessage body %r" % f1.get("body"))
        check(uuid_re.match(f1.get("messageId", "")) and f1["messageId"] != f0["messageId"],
              "distinct UUIDs")
        check(reqs[1]["cookie"] == "SID=s1", "cookie carried: %r" % reqs[1]["cookie"])

    # 2. DSId from the ack's headers is sent afterwards; several calls share it; "/N" counts on
    rc, out, err, reqs = run(["--destination", "phone", base + "/dsid", "A.b", "--", "C.d", "1"])
    check(rc == 0 and out == '"hello"\n"hello"\n', "two calls: rc=%d out=%r err=%r" % (rc, out, err))
    check(len(reqs) == 3, "two calls: 3 requests")
    if len(reqs) == 3:
        fs = [lib.ask("F", r["body"])[0] for r in reqs]
        check(fs[1].get("DSId") == "DS-1234" and fs[2].get("DSId") == "DS-1234", "DSId kept %r" % fs)
        check(fs[1].get("destination") == "phone", "--destination")
        check([lib.ask("P", r["body"])["bodies"][0][1] for r in reqs] == ["/1", "/2", "/3"], "/N order")
        check(reqs[2]["cookie"] == "SID=s2", "cookie updated: %r" % reqs[2]["cookie"])

    # 3. --source / --no-source / --no-ping
    rc, out, err, reqs = run(["--no-ping", "--source", "com.foo.Svc", base + "/simple", "m"])
    f = lib.ask("F", reqs[0]["body"])[0] if reqs else {}
    check(rc == 0 and len(reqs) == 1 and f.get("source") == "com.foo.Svc" and f.get("operationName") == "m",
          "--source/--no-ping %r" % f)
    rc, out, err, reqs = run(["--no-ping", "--no-source", base + "/simple", "Phonebook.sync"])
    f = lib.ask("F", reqs[0]["body"])[0] if reqs else {}
    check(rc == 0 and "source" not in f and f.get("operationName") == "Phonebook.sync",
          "--no-source (seed style: source null, operation Phonebook.sync) %r" % f)

    # 4. Ack body, DSK small message, crafted ack with a result; --dump and --pretty
    rc, out, err, _ = run([base + "/ack", "S.m"])
    check(rc == 0 and out == "null\n", "ack body null: %r %r" % (out, err))
    rc, out, err, _ = run([base + "/blaze", "S.m"])
    check(rc == 0 and json.loads(out).startswith("<env:Envelope") and "<result>48</result>" in out,
          "DSK body: %r %r" % (out, err))
    rc, out, err, _ = run([base + "/result", "S.m"])
    check(rc == 0 and json.loads(out) == {"ok": True, "n": 42, "list": ["a", "é"]}, "ack result %r" % out)
    rc, out, err, _ = run(["--pretty", base + "/result", "S.m"])
    check(rc == 0 and "\n  " in out and json.loads(out)["n"] == 42, "--pretty %r" % out)
    rc, out, err, _ = run(["--dump", base + "/simple", "S.m"])
    check(rc == 0 and '"hello"' in out and out != '"hello"\n', "--dump %r" % out)

    # 5. Faults: AMF0 onStatus object and a Flex ErrorMessage -> stderr, exit 1; stops further calls
    rc, out, err, reqs = run([base + "/error", "S.m", "--", "S.n"])
    check(rc == 1 and out == "" and "faultCode:" in err and "Exception" in err and
          "Error message" in err and "Backtrace 1" in err and "Backtrace 2" in err,
          "onStatus fault rc=%d err=%r" % (rc, err))
    check(len(reqs) == 2, "stops after the fault (%d requests)" % len(reqs))
    rc, out, err, _ = run([base + "/flexerror", "Svc.nope"])
    check(rc == 1 and "Server.Processing" in err and "No such method: Svc.nope" in err and
          "line 2" in err and "\x1b" not in err and "\\x1B" in err,
          "ErrorMessage fault (escape sequence neutralised) rc=%d err=%r" % (rc, err))

    # 6. Classic AMF0 and AMF3 arguments
    rc, out, err, reqs = run(["--amf0", base + "/simple", "Svc.m", '"x"', "2", '{"a":"é"}', "[1,2]"])
    check(rc == 0 and out == '"hello"\n' and len(reqs) == 1, "classic rc=%d out=%r err=%r" % (rc, out, err))
    if reqs:
        p = lib.ask("P", reqs[0]["body"])
        check(p["version"] == 0 and p["headers"] == [] and p["bodies"][0][:2] == ["Svc.m", "/1"],
              "classic envelope %r" % p)
        check(p["bodies"][0][2] == ["array", [["string", "x"], ["double", 2], ["object", "", [["a", ["string", "é"]]]],
                                               ["array", [["double", 1], ["double", 2]], []]], []],
              "classic args AMF0 %r" % p["bodies"][0][2])
    rc, out, err, reqs = run(["--amf0", "--amf3-args", base + "/simple", "Svc.m", '"x"', "2"])
    if reqs:
        p = lib.ask("P", reqs[0]["body"])
        check(rc == 0 and p["version"] == 3 and
              p["bodies"][0][2] == ["array", [["avm+", ["string", "x"]], ["avm+", ["int", 2]]], []],
              "--amf3-args %r" % p)
    rc, out, err, _ = run(["--amf0", base + "/error", "Svc.m"])
    check(rc == 1 and "Error message" in err, "classic fault rc=%d" % rc)

    # 7. Credentials: classic Credentials header, Flex login CommandMessage 8
    pwf = os.path.join(tmp, "pw")
    with open(pwf, "w") as f:
        f.write("s3cret:x\nignored\n")
    rc, out, err, reqs = run(["--amf0", "--user", "bob", "--password-file", pwf, base + "/simple", "S.m"])
    if reqs:
        p = lib.ask("P", reqs[0]["body"])
        check(rc == 0 and p["headers"] == [["Credentials", False, ["object", "", [
            ["userid", ["string", "bob"]], ["password", ["string", "s3cret:x"]]]]]],
              "Credentials header %r" % p["headers"])
    rc, out, err, reqs = run(["--user", "bob", base + "/simple", "S.m"], env={"AMFCALL_PASSWORD": "pa ss"})
    check(rc == 0 and len(reqs) == 3, "flex login: rc=%d %d requests err=%r" % (rc, len(reqs), err))
    if len(reqs) == 3:
        f = lib.ask("F", reqs[1]["body"])[0]
        import base64
        check(f["kind"] == 2 and f["operation"] == 8 and
              f["body"] == ["string", base64.b64encode(b"bob:pa ss").decode()], "login message %r" % f)
        check(lib.ask("P", reqs[2]["body"])["bodies"][0][1] == "/3", "call after login is /3")
    rc, out, err, reqs = run(["--user", "bob", base + "/loginfail", "S.m"], env={"AMFCALL_PASSWORD": "x"})
    check(rc == 1 and len(reqs) == 2 and "login" in err and "Server.Processing" in err,
          "failed login stops: rc=%d %d requests" % (rc, len(reqs)))
    rc, out, err, reqs = run(["--user", "bob", base + "/simple", "S.m"])
    check(rc == 64 and not reqs, "--user without a password -> 64")

    # 7b. envelope headers from the server: AppendToGatewayUrl edits the URL, RequestPersistentHeader
    #     is resent with every later request (AMF.md §3.1)
    rc, out, err, reqs = run(["--amf0", base + "/session", "S.a", "--", "S.b", "--", "S.c"])
    check(rc == 0 and out == '"ok"\n' * 3 and len(reqs) == 3, "session headers rc=%d out=%r err=%r" % (rc, out, err))
    if len(reqs) == 3:
        check([r["path"] for r in reqs] == ["/session", "/session?sid=abc", "/session?sid=abc"],
              "AppendToGatewayUrl suffixes the original URL (not the last one): %r" % [r["path"] for r in reqs])
        hs = [lib.ask("P", r["body"])["headers"] for r in reqs]
        check(hs[0] == [] and hs[1] == [["Token", False, ["string", "t0k"]]] and hs[2] == hs[1],
              "RequestPersistentHeader resent (once, replaced): %r" % hs)

    # 8. cookie jar persists across invocations; --args-file
    jar = os.path.join(tmp, "jar")
    rc, out, err, _ = run(["--cookie-jar", jar, base + "/simple", "S.m"])
    check(rc == 0 and os.path.exists(jar) and "SID" in open(jar).read(), "cookie jar written")
    rc, out, err, reqs = run(["--cookie-jar", jar, base + "/simple", "S.m"])
    check(reqs and reqs[0]["cookie"] == "SID=s2", "cookie jar read back: %r" % (reqs and reqs[0]["cookie"]))
    check(os.stat(jar).st_mode & 0o777 == 0o600, "cookie jar (a live session cookie) is 0600: %o" % os.stat(jar).st_mode)
    jar2 = os.path.join(tmp, "jar-open")
    with open(jar2, "w"):
        pass
    os.chmod(jar2, 0o644)
    rc, out, err, _ = run(["--cookie-jar", jar2, base + "/simple", "S.m"])
    check(rc == 0 and os.stat(jar2).st_mode & 0o777 == 0o600, "an existing 0644 jar is tightened to 0600: %o"
          % os.stat(jar2).st_mode)
    rc, out, err, _ = run(["--cookie-jar", os.path.join(tmp, "no-such-dir", "jar"), base + "/simple", "S.m"])
    check(rc == 64 and "cookie jar" in err and "No such file" in err, "unwritable jar: clear error (%d %r)" % (rc, err))
    argf = os.path.join(tmp, "args.json")
    with open(argf, "w") as f:
        f.write('["a", {"b": [1.5]}]')
    rc, out, err, reqs = run(["--no-ping", "--args-file", argf, base + "/simple", "S.m"])
    f = lib.ask("F", reqs[0]["body"])[0] if reqs else {}
    check(rc == 0 and f.get("body") == ["array", [["string", "a"], ["object", "", [["b", ["array", [["double", 1.5]], []]]]]], []],
          "--args-file %r" % f.get("body"))
    rc, out, err, reqs = run(["--no-ping", "--args-file", "-", base + "/simple", "S.m"], stdin="[7]")
    f = lib.ask("F", reqs[0]["body"])[0] if reqs else {}
    check(rc == 0 and f.get("body") == ["array", [["int", 7]], []], "--args-file - %r" % f.get("body"))

    # 9. HTTP / network / protocol errors -> 2
    rc, out, err, _ = run([base + "/http500", "S.m"])
    check(rc == 2 and "500" in err, "HTTP 500 -> 2 (%d %r)" % (rc, err))
    rc, out, err, _ = run([base + "/garbage", "S.m"])
    check(rc == 2 and "malformed AMF response" in err, "garbage -> 2 (%d %r)" % (rc, err))
    rc, out, err, _ = run(["--max-response", "1000", base + "/big", "S.m"])
    check(rc == 2 and "max-response" in err, "--max-response -> 2 (%d %r)" % (rc, err))
    rc, out, err, _ = run([base + "/wrongn", "S.m"])
    check(rc == 2 and "/1/onResult" in err, "reply for another /N -> 2 (%d %r)" % (rc, err))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    rc, out, err, _ = run(["--connect-timeout", "5", "http://127.0.0.1:%d/x" % dead, "S.m"])
    check(rc == 2 and err, "connection refused -> 2 (%d %r)" % (rc, err))
    rc, out, err, _ = run(["https://127.0.0.1:%d/x" % srv.server_address[1], "S.m"])
    check(rc == 2, "TLS to a plain HTTP server fails -> 2 (%d)" % rc)
    rc, out, err, _ = run(["ftp://127.0.0.1/x", "S.m"])
    check(rc == 2, "non-HTTP URL refused -> 2 (%d)" % rc)

    # 9b. HTTPS: the certificate is verified unless --insecure; --cacert names the trust anchor
    if shutil.which("openssl"):
        key, crt = os.path.join(tmp, "key.pem"), os.path.join(tmp, "crt.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", crt], check=True, capture_output=True, timeout=60)
        tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls.fixtures, tls.requests = fixtures, srv.requests
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
        turl = "https://127.0.0.1:%d/simple" % tls.server_address[1]
        rc, out, err, reqs = run([turl, "S.m"])
        check(rc == 2 and not reqs and "certificate" in err.lower(),
              "self-signed certificate refused by default (%d %r)" % (rc, err))
        rc, out, err, _ = run(["--cacert", crt, turl, "S.m"])
        check(rc == 0 and out == '"hello"\n', "--cacert trusts it (%d %r)" % (rc, err))
        rc, out, err, _ = run(["--insecure", turl, "S.m"])
        check(rc == 0 and out == '"hello"\n', "--insecure skips verification (%d %r)" % (rc, err))
        tls.shutdown()
    else:
        print("openssl not installed: HTTPS checks skipped")

    # 10. usage -> 64
    for argv in ([], [base + "/simple"], [base + "/simple", "S.m", "{bad"], [base + "/simple", "S.m", "'x'"],
                 ["--amf3-args", base + "/simple", "S.m"], ["--bogus", base + "/simple", "S.m"],
                 [base + "/simple", "S.m", "--"], ["--timeout", "0", base + "/simple", "S.m"],
                 ["--args-file", argf, base + "/simple", "S.m", "1"],
                 ["--user", "bob", "--password-file", "-", "--args-file", "-", base + "/simple", "S.m"],
                 ["--password-file", pwf, base + "/simple", "S.m"], ["--source", "X", "--no-source", base + "/simple", "S.m"]):
        rc, out, err, reqs = run(argv)
        check(rc == 64 and not reqs and err, "usage %r -> 64, got %d" % (argv, rc))
    rc, out, err, _ = run(["--help"])
    check(rc == 0 and "Usage:" in out and "--password-file" in out, "--help")

    lib.close()
    srv.shutdown()
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("amfcall: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
