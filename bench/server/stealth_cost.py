#!/usr/bin/env python3
"""Cost of 0xB9 stealth packets carrying many ids (issue 9.7): bench/server/stealth_cost.py YMSGD [PACKETS] [NAMES]

Logs one user in, sends PACKETS 0xB9 packets with NAMES ids each (the attack: ~13 KB, 1,000 ids), each
followed by a keepalive, and reports
  - how many ids were acted on (one 0xB9 ack each),
  - ymsgd CPU time per packet (utime + stime from /proc/PID/stat around the run: robust on a busy machine),
  - the loop stall per packet: a second session sends a keepalive right after each 0xB9 and times the
    answer, minus its bare keepalive RTT (median and max): how long every other session waited.
Run with the server's defaults (stealth_max_names, session_rate / session_burst)."""
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "server"))
from ymsgd_harness import Server, encode  # noqa: E402


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def rtt(c, other=None, pkt=b""):
    t0 = time.perf_counter()
    if other:
        other.send_raw(pkt)
    c.send_raw(encode(0x8A, [(0, c.user)], session=c.session))
    while True:
        p = c.recv(10)
        assert p is not None, "no keepalive answer"
        if p.service == 0x8A:
            return time.perf_counter() - t0


def main():
    exe = sys.argv[1]
    packets = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    names = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    with Server(exe) as srv:
        srv.add_user("alice", "secret")
        srv.add_user("bob", "secret")
        a = srv.login("alice", "secret")
        b = srv.login("bob", "secret")
        base = [rtt(b) for _ in range(50)]
        pairs = [(1, "alice"), (31, "1"), (13, "2")] + [(7, "user%05d" % i) for i in range(names)]
        pkt = encode(0xB9, pairs, session=a.session)
        cpu0 = cpu_seconds(srv.proc.pid)
        stalls = [rtt(b, a, pkt) for _ in range(packets)]
        cpu = cpu_seconds(srv.proc.pid) - cpu0
        acted = sum(1 for p in a.drain(1.0) if p.service == 0xB9)
        bare = statistics.median(base)
        print("0xB9 packet: %d bytes, %d ids; %d packets" % (len(pkt), names, packets))
        print("ids acted on (0xB9 acks): %d; ymsgd CPU: %.2f s in all, %.2f ms per packet"
              % (acted, cpu, cpu * 1000 / packets))
        print("loop stall per packet: median %.2f ms, max %.2f ms (bare keepalive RTT median %.3f ms)"
              % ((statistics.median(stalls) - bare) * 1000, (max(stalls) - bare) * 1000, bare * 1000))


if __name__ == "__main__":
    main()
