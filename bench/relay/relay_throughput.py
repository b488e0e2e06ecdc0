#!/usr/bin/env python3
"""File-transfer relay throughput and ymsgd memory (issue 14): bench/relay/relay_throughput.py YMSGD [MB] [ROUNDS]

Two raw-protocol users negotiate a transfer (0xDC offer, accept, 0xDD -> the server's 0xDE and 0xDD with
token and relay address, as in docs/FILE_TRANSFER.md), then on loopback:
  - the receiver's GET is opened first and waits (as Pidgin's receiver does: it connects right after 0xDD),
  - the sender POSTs an MB-megabyte file (socket.sendfile from a temp file: the client costs little CPU),
  - the receiver reads the body (recv_into a fixed buffer) and the SHA-256 of both sides is compared.
Reported per round: upload MB/s (POST start -> its 200), download MB/s (first body byte -> last),
end-to-end MB/s (POST start -> last byte), ymsgd CPU seconds (utime+stime from /proc) and its VmRSS:
before, max while the file moved (sampled every 20 ms), after.  MB = 10^6 bytes."""
import hashlib
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "server"))
from ymsgd_harness import Server  # noqa: E402


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def expect(c, service):
    while True:
        p = c.recv(10)
        assert p is not None, "no 0x%x" % service
        if p.service == service:
            return p


def negotiate(a, b, xid, size):
    a.send(0xDC, [(1, "alice"), (5, "bob"), (265, xid), (222, "1"), (266, "1"), (302, "268"), (300, "268"),
                  (27, "big.bin"), (28, str(size)), (301, "268"), (303, "268")])
    expect(b, 0xDC)
    b.send(0xDC, [(1, "bob"), (5, "alice"), (265, xid), (222, "3")])
    expect(a, 0xDC)
    a.send(0xDD, [(1, "alice"), (5, "bob"), (265, xid), (27, "big.bin"), (249, "3"), (250, "x")])
    go = expect(a, 0xDE)
    expect(b, 0xDD)
    host, port = go.get(250).rsplit(":", 1)
    return int(port), go.get(251)


def query(tok, s, r):
    return urllib.parse.urlencode({"token": tok, "sender": s, "recver": r})


def main():
    exe = sys.argv[1]
    mb = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    size = mb * 1000 * 1000
    src = tempfile.NamedTemporaryFile(prefix="relay-bench-", delete=False)
    h_src = hashlib.sha256()
    chunk = os.urandom(1 << 20)
    left = size
    while left:
        n = min(left, len(chunk))
        src.write(chunk[:n])
        h_src.update(chunk[:n])
        left -= n
    src.close()
    srv = Server(exe, ["--relay-listen", "127.0.0.1:0", "--relay-max-file", str(size), "--relay-quota", str(size)])
    srv.log_level = "warn"
    with srv:
        srv.add_user("alice", "pw")
        srv.add_user("bob", "pw")
        a = srv.login("alice", "pw")
        b = srv.login("bob", "pw")
        pid = srv.proc.pid
        print("ymsgd relay, %d MB file, loopback, %d rounds" % (mb, rounds))
        print("round  upload MB/s  download MB/s  end-to-end MB/s  ymsgd CPU s  RSS before/max/after (KiB)")
        for rnd in range(rounds):
            port, tok = negotiate(a, b, "bench%d" % rnd, size)
            rss0 = rss_kb(pid)
            peak = [rss0]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kb(pid))
                    time.sleep(0.02)
            st = threading.Thread(target=sample)
            st.start()
            res = {}

            def download():
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(("GET /relay?%s HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n" %
                           query(tok, "bob", "alice")).encode())
                buf = bytearray(1 << 20)
                view = memoryview(buf)
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(4096)
                t_first = time.perf_counter()
                hdr, _, body0 = head.partition(b"\r\n\r\n")
                assert b" 200 " in hdr.split(b"\r\n")[0], hdr
                h = hashlib.sha256(body0)
                got = len(body0)
                while got < size:
                    n = s.recv_into(view)
                    if not n:
                        break
                    h.update(view[:n])
                    got += n
                res.update(t_first=t_first, t_last=time.perf_counter(), got=got, sha=h.hexdigest())
                s.close()
            dt = threading.Thread(target=download)
            dt.start()
            time.sleep(0.2)                       # the GET is held before the upload starts
            cpu0 = cpu_seconds(pid)
            t0 = time.perf_counter()
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(("POST /relay?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nCache-Control: no-cache\r\n\r\n" %
                       (query(tok, "alice", "bob"), size)).encode())
            with open(src.name, "rb") as f:
                s.sendfile(f)
            answer = s.recv(4096)
            t_up = time.perf_counter()
            assert b" 200 " in answer.split(b"\r\n")[0], answer
            s.close()
            dt.join()
            cpu1 = cpu_seconds(pid)
            stop.set()
            st.join()
            time.sleep(0.1)
            rss1 = rss_kb(pid)
            assert res["got"] == size and res["sha"] == h_src.hexdigest(), "file differs"
            up = size / 1e6 / (t_up - t0)
            down = size / 1e6 / (res["t_last"] - res["t_first"])
            e2e = size / 1e6 / (res["t_last"] - t0)
            print("%5d  %11.0f  %13.0f  %15.0f  %11.2f  %d/%d/%d" % (rnd + 1, up, down, e2e, cpu1 - cpu0, rss0, peak[0], rss1))
            sys.stdout.flush()
    os.unlink(src.name)


if __name__ == "__main__":
    main()
