#!/usr/bin/env python3
"""Memory per logged-in session and IM relay rate, WebSocket vs TCP, in one ymsgd run on loopback.
N users log in over TCP, ymsgd's VmRSS is read before and after; then N more over WebSocket (/ymsg);
then M IMs are sent round-robin between pairs on each transport and the time until the last one is
received is taken.  Bounded (fixed N and M, stops the server).  The clients are python (one thread),
so the rate is the client's as much as the server's: compare the two lines, not the absolute numbers.
Usage: ws_sessions.py BUILD [N] [M]"""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "e2e", "web"))
from wsclient import ws_login  # noqa: E402
from ymsgd_harness import Server  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def relay(clients, m):
    text = "x" * 100
    n = len(clients)
    t0 = time.time()
    for i in range(m):
        a, b = clients[i % n], clients[(i + 1) % n]
        a.send(0x06, [(1, a.user), (5, b.user), (14, text)])
    got = 0
    deadline = time.time() + 60
    while got < m and time.time() < deadline:
        for c in clients:
            while c.recv(0.001):
                got += 1
    return got, time.time() - t0


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    m = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    srv = Server(os.path.join(build, "server", "ymsgd"),
                 ["--max-conns-per-addr", str(4 * n), "--conn-burst", str(4 * n), "--login-burst", str(4 * n),
                  "--login-rate", "1000", "--conn-rate", "1000", "--http-max-conns-per-addr", str(4 * n),
                  "--session-rate", "100000", "--session-burst", "100000", "--log-level", os.environ.get("WSB_LOG", "warn")])
    for i in range(2 * n):
        srv.add_user("u%d" % i, "pw")
    with srv:
        pid = srv.proc.pid
        base = rss_kib(pid)
        tcp = [srv.login("u%d" % i, "pw") for i in range(n)]
        after_tcp = rss_kib(pid)
        ws = [ws_login(srv, "u%d" % (n + i), "pw") for i in range(n)]
        after_ws = rss_kib(pid)
        print("ymsgd VmRSS: start %d KiB, +%d TCP sessions %d KiB (%.2f KiB each), +%d WebSocket sessions %d KiB "
              "(%.2f KiB each)" % (base, n, after_tcp, (after_tcp - base) / n, n, after_ws, (after_ws - after_tcp) / n))
        for name, cl in (("TCP", tcp), ("WebSocket", ws)):
            got, dt = relay(cl, m)
            print("%-9s %d/%d IMs relayed in %.2f s: %.0f msgs/s" % (name, got, m, dt, got / dt))


if __name__ == "__main__":
    main()
