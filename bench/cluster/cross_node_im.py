#!/usr/bin/env python3
"""Cross-node vs same-node IMs on a 2-node ymsgd cluster (issue 12), in the same run:

    python3 bench/cluster/cross_node_im.py build/server/ymsgd [PAIRS] [IMS_PER_PAIR]

PAIRS senders on node0 each write IMS_PER_PAIR live IMs to a buddy on node0 (same node), then the same
number to a buddy on node1 (cross node).  For each phase: IMs/s (wall), CPU of both ymsgd processes and
of redis-server per IM (utime+stime from /proc), and Redis commands per IM (INFO commandstats).  The
clients are python and share the 2 cores: read the CPU columns, not the rate, for the cost."""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e", "server"))
from ymsgd_harness import ClusterServer, encode  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
N = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / TICK


def commands(redis):
    info = redis.command("INFO", "commandstats").decode()
    total = 0
    for line in info.splitlines():
        if line.startswith("cmdstat_") and "calls=" in line:
            total += int(line.split("calls=")[1].split(",")[0])
    return total


def befriend(a, b):
    for x, y in ((a, b), (b, a)):
        x.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, x.user), (302, "319"), (300, "319"), (7, y.user),
                      (334, "0"), (301, "319"), (303, "319")])
        x.expect(0x83, timeout=10, skip=(0xF0, 0xC6))
        y.expect(0xD6, timeout=10, skip=(0xF0, 0xC6))
        y.send(0xD6, [(1, y.user), (5, x.user), (13, "1"), (334, "0")])
        x.expect(0xD6, timeout=10, skip=(0xF0, 0xC6))
    a.drain(0.2)
    b.drain(0.2)


def count_ims(c, want, out, i):
    got = 0
    deadline = time.time() + 600
    while got < want and time.time() < deadline:
        c.sock.settimeout(max(0.01, deadline - time.time()))
        try:
            d = c.sock.recv(1 << 20)
        except OSError:
            break
        if not d:
            break
        c.buf += d
        while len(c.buf) >= 20:
            ln = int.from_bytes(c.buf[8:10], "big")
            if len(c.buf) < 20 + ln:
                break
            if c.buf[10:12] == b"\x00\x06":
                got += 1
            c.buf = c.buf[20 + ln:]
    out[i] = got


def phase(srv, senders, receivers, label):
    pids = [n.proc.pid for n in srv.nodes]
    rpid = srv.redis.proc.pid
    got = [0] * len(senders)
    threads = [threading.Thread(target=count_ims, args=(r, N, got, i)) for i, r in enumerate(receivers)]
    blobs = [b"".join(encode(0x06, [(1, s.user), (5, r.user), (14, "message number %d" % k)], 0, s.session)
                      for k in range(N)) for s, r in zip(senders, receivers)]
    for s in senders:
        s.sock.settimeout(None)  # a large N: the server reads as fast as it routes, sendall may wait long

    writers = [threading.Thread(target=s.send_raw, args=(b,)) for s, b in zip(senders, blobs)]
    c0 = [cpu(p) for p in pids]
    r0, k0, t0 = cpu(rpid), commands(srv.redis), time.time()
    for t in threads + writers:
        t.start()
    for t in threads + writers:
        t.join()
    wall = time.time() - t0
    time.sleep(0.3)
    c1 = [cpu(p) for p in pids]
    r1, k1 = cpu(rpid), commands(srv.redis)
    total = sum(got)
    ymsgd_cpu = sum(c1) - sum(c0)
    print("%-10s %7d IMs  %8.0f IMs/s  ymsgd %6.2f us/IM  redis %6.2f us/IM  ymsgd+redis %6.2f us/IM  "
          "redis cmds/IM %.3f" % (label, total, total / wall, ymsgd_cpu / total * 1e6, (r1 - r0) / total * 1e6,
                                  (ymsgd_cpu + r1 - r0) / total * 1e6, (k1 - k0 - 2) / total))
    assert total == N * len(senders), (got, N)
    return (ymsgd_cpu + r1 - r0) / total


def main():
    srv = ClusterServer(YMSGD, nodes=2, extra_args=["--session-rate", "10000000", "--session-burst", "10000000",
                                                    "--out-cap", "67108864"])
    for n in srv.nodes:  # the tests' debug log would dominate: this run measures the message path
        n.log_level = "warn"
    with srv:
        users = ["s%d" % i for i in range(PAIRS)] + ["l%d" % i for i in range(PAIRS)] + ["x%d" % i for i in range(PAIRS)]
        for u in users:
            srv.add_user(u, "pw")
        s = [srv.login("s%d" % i, "pw", node=0) for i in range(PAIRS)]
        local = [srv.login("l%d" % i, "pw", node=0) for i in range(PAIRS)]
        cross = [srv.login("x%d" % i, "pw", node=1) for i in range(PAIRS)]
        for i in range(PAIRS):
            befriend(s[i], local[i])
            befriend(s[i], cross[i])
        time.sleep(0.5)
        for c in s + local + cross:
            c.drain(0.05)
        print("ymsgd %s, %d pairs x %d IMs, 2 nodes + redis-server on one host" % (YMSGD, PAIRS, N))
        same = phase(srv, s, local, "same-node")
        far = phase(srv, s, cross, "cross-node")
        print("cross/same CPU per IM: %.2f" % (far / same))


if __name__ == "__main__":
    main()
