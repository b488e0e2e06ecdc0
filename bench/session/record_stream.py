"""Records a real server->client YMSG stream from ymsgd for bench_session.

    python3 record_stream.py YMSG YMSGD OUT [N]

Starts ymsgd on free loopback ports with accounts alice and bob (bob authorised on alice's list, and
alice on bob's), runs `ymsg listen` as alice through a recording TCP proxy, and has bob — a minimal
YMSG16 client written here (token login over HTTP) — send N packets: 60 % IMs with message ids, 20 %
typing, 20 % status changes.  OUT receives every byte ymsgd sent to alice after its 0x57 reply, which is
what bench_session replays after scripting the start of the login."""
import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e", "client"))
from harness import Client, Server  # noqa: E402

SEP = b"\xc0\x80"


def pkt(svc, status, pairs, sid=0):
    body = b"".join(str(k).encode() + SEP + str(v).encode() + SEP for k, v in pairs)
    return b"YMSG" + struct.pack(">HHHHII", 16, 0, len(body), svc, status, sid) + body


def read_pkt(sock):
    hdr = b""
    while len(hdr) < 20:
        hdr += sock.recv(20 - len(hdr))
    ln = struct.unpack(">H", hdr[8:10])[0]
    body = b""
    while len(body) < ln:
        body += sock.recv(ln - len(body))
    parts = body.split(SEP)
    return struct.unpack(">H", hdr[10:12])[0], dict((int(parts[i]), parts[i + 1].decode()) for i in range(0, len(parts) - 1, 2))


def login(port, http, user, pw):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(pkt(0x57, 0, [(1, user)]))
    _, kv = read_pkt(s)
    chal = kv[94]
    base = "http://127.0.0.1:%d/config/" % http
    body = urllib.request.urlopen(base + "pwtoken_get?" + urllib.parse.urlencode(
        {"src": "ymsgr", "ts": "", "login": user, "passwd": pw, "chal": chal})).read().decode()
    token = [l for l in body.split("\r\n") if l.startswith("ymsgr=")][0][6:]
    r = urllib.request.urlopen(base + "pwtoken_login?" + urllib.parse.urlencode({"src": "ymsgr", "ts": "", "token": token}))
    lines = r.read().decode().split("\r\n")
    get = lambda p: [l for l in lines if l.startswith(p)][0][len(p):]
    crumb, y, t = get("crumb="), get("Y="), get("T=")
    resp = base64.b64encode(hashlib.md5((crumb + chal).encode()).digest()).decode()
    resp = resp.replace("+", ".").replace("/", "_").replace("=", "-")
    s.sendall(pkt(0x54, 0, [(1, user), (0, user), (277, y), (278, t), (307, resp), (244, 4194239), (2, user), (2, 1),
                            (98, "us"), (135, "9.0.0.2162")]))
    return s


def proxy(listen, target_port, out, ready):
    c, _ = listen.accept()
    u = socket.create_connection(("127.0.0.1", target_port))
    buf = bytearray()

    def up():
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                u.sendall(d)
        except OSError:
            pass

    threading.Thread(target=up, daemon=True).start()
    try:
        while True:
            d = u.recv(65536)
            if not d:
                break
            buf += d
            c.sendall(d)
    except OSError:
        pass
    c.close()
    # drop the 0x57 reply: bench_session scripts that part of the login itself
    ln = struct.unpack(">H", bytes(buf[8:10]))[0]
    with open(out, "wb") as f:
        f.write(bytes(buf[20 + ln:]))
    ready.set()


def main():
    ymsg, ymsgd, out = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
    srv = Server(ymsgd, ["alice", "bob"])
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http)
        for who, other in (("alice", "bob"), ("bob", "alice")):
            c.run(srv.cred(who), "add", other)
            c.run(srv.cred(other), "accept", who)
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        done = threading.Event()
        threading.Thread(target=proxy, args=(ls, srv.port, out, done), daemon=True).start()
        alice = subprocess.Popen([ymsg, "--server", "127.0.0.1:%d" % ls.getsockname()[1], "--login-url",
                                  "http://127.0.0.1:%d" % srv.http, "--credentials", srv.cred("alice"), "listen",
                                  "--json", "--count", str(n)], stdout=subprocess.DEVNULL)
        time.sleep(1.0)
        bob = login(srv.port, srv.http, "bob", "pw-bob")
        time.sleep(0.5)
        for i in range(n):
            k = i % 10
            if k < 6:
                p = pkt(6, 0x5A55AA56, [(1, "bob"), (5, "alice"), (97, 1), (14, "message %d \u2713 from the recorder" % i),
                                        (63, ";0"), (64, 0), (1002, 1), (206, 0), (429, "%016X" % i), (450, 0)])
            elif k < 8:
                p = pkt(0x4B, 0x16, [(49, "TYPING"), (1, "bob"), (14, " "), (13, k % 2), (5, "alice"), (1002, 1)])
            else:
                p = pkt(0xC6, 0, [(10, 99), (19, "status %d" % i), (97, 1), (47, k % 2)])
            bob.sendall(p)
            if i % 200 == 0:
                time.sleep(0.01)  # stay under the server's per-connection output cap towards alice
        alice.wait(timeout=300)
        done.wait(timeout=30)
        bob.close()
        print("recorded %d bytes to %s" % (os.path.getsize(out), out))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
