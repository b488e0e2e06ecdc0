#!/usr/bin/env python3
"""What a sender can time (issue 9.5): bench/server/im_timing.py YMSGD [SAMPLES]

The sender sends an IM and a keepalive in one write and times the keepalive's answer: the server handles
them in order, so the RTT carries the IM's cost.  Recipients: `invN`, logged in invisible (their clients
do not read, as if they were on another host), and `offN`, offline; each gets at most 100 IMs, so no box
grows past the default offline_max.  Samples alternate between the two so that drift in
the machine's load hits both alike.  Reports, per recipient, the median and the 10th / 90th percentiles
of the RTT, ymsgd's CPU time per IM for each recipient (from /proc/PID/stat over blocks of IMs:
robust on a busy machine), and how often a 10-sample median comparison tells the invisible recipient from the offline
one (50 % = no better than a coin)."""
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "server"))
from ymsgd_harness import Server, encode  # noqa: E402


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main():
    exe = sys.argv[1]
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    helptext = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    extra = ["--out-cap", "268435456", "--offline-max", "1000000", "--session-rate", "1000000", "--session-burst", "1000000"]
    if "--offline-per-sender" in helptext:
        extra += ["--offline-per-sender", "1000000"]
    per_box = 100                        # each recipient gets at most this many: boxes stay realistic
    total = samples + 20 + 3 * 500
    nbox = (total + per_box - 1) // per_box
    with Server(exe, extra_args=extra) as srv:
        srv.add_user("carol", "x")
        names = {"inv": ["inv%d" % i for i in range(nbox)], "off": ["off%d" % i for i in range(nbox)]}
        for n in names["inv"] + names["off"]:
            srv.add_user(n, "x")
        # The invisible recipients do not read: a reader process on this two-core machine would be woken
        # by every delivery and compete with ymsgd for the CPU, which a recipient on another host does not.
        # Their packets wait in the kernel and in ymsgd's output buffers (out_cap raised for that).
        held = [srv.login(n, "x", status=12) for n in names["inv"]]
        c = srv.login("carol", "x")
        ka = encode(0x8A, [(0, "carol")], session=c.session)
        sent = {"inv": 0, "off": 0}

        def im(who, text):
            name = names[who][sent[who] // per_box]
            sent[who] += 1
            return encode(0x06, [(1, "carol"), (5, name), (14, text)], status=0x5A55AA56, session=c.session)

        rtt = {"inv": [], "off": []}
        for i in range(samples * 2 + 40):
            who = ("inv", "off")[i % 2]
            pkt = im(who, "hello there %d" % i)
            t0 = time.perf_counter()
            c.send_raw(pkt + ka)
            p = c.recv(10)
            assert p is not None and p.service == 0x8A, "sender got %r" % p
            if i >= 40:                      # the first rounds warm caches and the statement cache
                rtt[who].append((time.perf_counter() - t0) * 1e6)
        # ymsgd's own CPU per IM, per recipient: blocks of IMs pipelined behind one keepalive each
        cpu = {"inv": 0.0, "off": 0.0}
        block = 500
        for rnd_ in range(6):
            who = ("inv", "off")[rnd_ % 2]
            c0 = cpu_seconds(srv.proc.pid)
            for j in range(block // 50):
                c.send_raw(b"".join(im(who, "cpu %d" % k) for k in range(50)) + ka)
                p = c.recv(10)
                assert p is not None and p.service == 0x8A, p
            cpu[who] += cpu_seconds(srv.proc.pid) - c0
        del held
        for who in ("inv", "off"):
            v = sorted(rtt[who])
            print("%-9s n=%d median %.1f us  p10 %.1f  p90 %.1f" % (
                "invisible" if who == "inv" else "offline", len(v), statistics.median(v),
                v[len(v) // 10], v[len(v) * 9 // 10]))
        for who in ("inv", "off"):
            print("ymsgd CPU per IM to the %s recipient: %.1f us (%d IMs)" % (
                "invisible" if who == "inv" else "offline", cpu[who] * 1e6 / (3 * block), 3 * block))
        rnd = random.Random(1)
        right = 0
        trials = 2000
        for _ in range(trials):
            a = statistics.median(rnd.sample(rtt["inv"], 10))
            b = statistics.median(rnd.sample(rtt["off"], 10))
            right += b > a               # "the slower one is offline", as the attacker guessed
        print("median difference (offline - invisible): %.1f us; 10-sample guess right %.0f %% of %d trials"
              % (statistics.median(rtt["off"]) - statistics.median(rtt["inv"]), 100.0 * right / trials, trials))


if __name__ == "__main__":
    main()
