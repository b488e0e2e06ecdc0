#!/usr/bin/env python3
"""tshark's AMF dissector (Wireshark 4.0) reads remoting requests amfcall wrote.

amfcall sends its requests to a loopback recorder; each recorded body is wrapped in an HTTP POST with
Content-Type application/x-amf, turned into a pcap by text2pcap (TCP port 8080, which tshark dissects
as HTTP), and tshark's AMF fields must show what we sent: classic AMF0 "Service.method" with a strict
array of arguments, and a Flex RemoteObject RemotingMessage (AMF3 behind 0x11).

Known dissector limits (AMF.md §6, YMSG.md §14): no traits-reference state, so requests here keep to
one anonymous object per AMF3 value; values after an 0x11 inside a strict array are read as AMF0.

usage: tshark_test.py --amfcall PATH
"""
import argparse
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


class Recorder(http.server.BaseHTTPRequestHandler):
    # "hello" for /N/onResult, AMF3 (RocketAMF simple-response.bin layout), re-addressed per request
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.bodies.append(body)
        n = len(self.server.bodies)  # one request per "/N" in every run here
        target = ("/%d/onResult" % n).encode()
        out = (b"\x00\x03\x00\x00\x00\x01" + len(target).to_bytes(2, "big") + target + b"\x00\x00" +
               b"\xff\xff\xff\xff" + b"\x11\x06\x0bhello")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def to_pcap(tmp, name, body):
    http = (b"POST /gateway.php HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/x-amf\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body
    txt = os.path.join(tmp, name + ".txt")
    with open(txt, "w") as f:
        for off in range(0, len(http), 16):
            f.write("%06x %s\n" % (off, " ".join("%02x" % b for b in http[off:off + 16])))
    pcap = os.path.join(tmp, name + ".pcap")
    subprocess.run(["text2pcap", "-q", "-4", "127.0.0.1,127.0.0.1", "-T", "40001,8080", txt, pcap],
                   check=True, timeout=30, capture_output=True)
    return pcap


FIELDS = ["amf.version", "amf.header_count", "amf.message_count", "amf.message.target_uri",
          "amf.message.response_uri", "amf.amf0_type", "amf.amf3_type", "amf.string", "amf.number",
          "amf.integer", "amf.boolean", "amf.classname", "amf.membername", "amf.arraylength",
          "amf.arraydenselength", "amf.header.name"]


def tshark_fields(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-Y", "amf", "-T", "fields", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("tshark failed: " + p.stderr)
    lines = [l for l in p.stdout.split("\n") if l.strip()]
    if len(lines) != 1:
        raise RuntimeError("expected one AMF packet, tshark printed %r" % p.stdout)
    vals = lines[0].split("\t")
    return {f: (vals[i].split("|") if vals[i] else []) for i, f in enumerate(FIELDS)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amfcall", required=True)
    args = ap.parse_args()
    for tool in ("tshark", "text2pcap"):
        if not shutil.which(tool):
            print("%s not installed (scripts/deps.sh test installs tshark)" % tool)
            return 1
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.bodies = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    tmp = tempfile.mkdtemp(prefix="amf-tshark-")
    env = dict(os.environ)
    env.pop("AMFCALL_PASSWORD", None)

    def amfcall(argv, env_extra=None):
        srv.bodies.clear()
        e = dict(env)
        e.update(env_extra or {})
        p = subprocess.run([args.amfcall] + argv, capture_output=True, text=True, timeout=30, env=e)
        check(p.returncode == 0 and p.stdout == '"hello"\n' * (argv.count("--") + 1), "amfcall %r: rc=%d %r" % (argv, p.returncode, p.stderr))
        return list(srv.bodies)

    # 1. classic AMF0: strict array ["alice", 42, {room: "lobby", ok: true}] (YMSG.md §14's example)
    bodies = amfcall(["--amf0", base + "/classic", "ChatService.join", '"alice"', "42",
                      '{"room":"lobby","ok":true}'])
    f = tshark_fields(to_pcap(tmp, "classic", bodies[0]))
    check(f["amf.version"] == ["0"] and f["amf.message_count"] == ["1"], "classic envelope %r" % f)
    check(f["amf.message.target_uri"] == ["ChatService.join"] and f["amf.message.response_uri"] == ["/1"],
          "classic addressing %r" % f)
    check(f["amf.amf0_type"] == ["0x0a", "0x02", "0x00", "0x03", "0x02", "0x01"], "classic types %r" % f["amf.amf0_type"])
    check(f["amf.arraylength"] == ["3"], "strict array length %r" % f["amf.arraylength"])
    check(f["amf.string"] == ["alice", "room", "lobby", "ok"], "classic strings %r" % f["amf.string"])
    check(f["amf.number"] == ["42"], "classic number %r" % f["amf.number"])
    check(f["amf.boolean"] == ["1"], "classic boolean %r" % f["amf.boolean"])

    # 2. classic with a Credentials header and UTF-8 text, two calls in one run (two requests)
    bodies = amfcall(["--amf0", "--user", "bob", base + "/classic", "Phonebook.login", '"admin"', '"p\u00e4ss"',
                      "--", "Phonebook.sync", "[1.5,-2]"], {"AMFCALL_PASSWORD": "s3cret"})
    check(len(bodies) == 2, "two classic requests")
    f = tshark_fields(to_pcap(tmp, "cred", bodies[0]))
    check(f["amf.header_count"] == ["1"] and f["amf.header.name"] == ["Credentials"], "Credentials header %r" % f)
    check(f["amf.string"] == ["userid", "bob", "password", "s3cret", "admin", "p\u00e4ss"],
          "credentials + UTF-8 strings %r" % f["amf.string"])
    check(f["amf.message.target_uri"] == ["Phonebook.login"], "login target %r" % f)
    f = tshark_fields(to_pcap(tmp, "sync", bodies[1]))
    check(f["amf.message.target_uri"] == ["Phonebook.sync"] and f["amf.message.response_uri"] == ["/2"],
          "second call addressing %r" % f)
    check(f["amf.header.name"] == ["Credentials"] and f["amf.number"] == ["1.5", "-2"] and f["amf.amf0_type"] == ["0x03", "0x02", "0x02", "0x0a", "0x0a", "0x00", "0x00"],
          "nested strict array %r" % f)

    # 3. Flex RemoteObject: RemotingMessage in a one-item strict array behind 0x11, envelope version 3
    bodies = amfcall(["--no-ping", "--destination", "api", base + "/flex", "Phonebook.login", '"admin"', "1234",
                      "true", "2.5"])
    f = tshark_fields(to_pcap(tmp, "flex", bodies[0]))
    check(f["amf.version"] == ["3"] and f["amf.message.target_uri"] == ["null"] and
          f["amf.message.response_uri"] == ["/1"], "flex envelope %r" % f)
    check(f["amf.amf0_type"][:2] == ["0x0a", "0x11"] and f["amf.arraylength"][:1] == ["1"],
          "flex: strict array of one AVM+ value %r" % f)
    # "" is the anonymous headers object
    check(f["amf.classname"] == ["flex.messaging.messages.RemotingMessage", ""], "classname %r" % f["amf.classname"])
    check(f["amf.membername"][:9] == ["operation", "source", "messageId", "clientId", "body", "timeToLive",
                                      "timestamp", "destination", "headers"], "sealed names %r" % f["amf.membername"])
    s = f["amf.string"]
    check(s[:2] == ["login", "Phonebook"] and "admin" in s and "api" in s and "DSEndpoint" in f["amf.membername"]
          and "DSId" in f["amf.membername"] and "nil" in s, "flex strings %r" % s)
    check(len(s) > 2 and len(s[2]) == 36 and s[2].count("-") == 4, "messageId UUID %r" % s[2:3])
    check(f["amf.integer"] == ["1234", "0", "0"], "AMF3 integers (arg, timeToLive, timestamp) %r" % f["amf.integer"])
    check(f["amf.number"] == ["2.5"], "AMF3 double %r" % f["amf.number"])
    check(f["amf.arraydenselength"] == ["4"], "body dense length %r" % f["amf.arraydenselength"])

    # 4. Flex ping (CommandMessage 5): envelope and class only -- its body {} and headers {} make
    #    the second a traits reference, which this tshark cannot follow (AMF.md §6)
    bodies = amfcall([base + "/flex", "S.m"])
    check(len(bodies) == 2, "ping + call")
    f = tshark_fields(to_pcap(tmp, "ping", bodies[0]))
    check(f["amf.version"] == ["3"] and f["amf.message.target_uri"] == ["null"] and
          f["amf.message.response_uri"] == ["/1"] and
          f["amf.classname"][:1] == ["flex.messaging.messages.CommandMessage"], "ping %r" % f)
    check(f["amf.integer"][:1] == ["5"], "ping operation 5 %r" % f["amf.integer"])
    f = tshark_fields(to_pcap(tmp, "call2", bodies[1]))
    check(f["amf.message.response_uri"] == ["/2"], "call after ping is /2 %r" % f)

    srv.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("tshark: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
