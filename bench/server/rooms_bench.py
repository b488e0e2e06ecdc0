#!/usr/bin/env python3
"""A chat room with many members (issue 14): bench/server/rooms_bench.py BUILD_DIR [MEMBERS] [ROUNDS]

MEMBERS users (default 500) sit in one room; one more user, the sender, is in it too.  In the same run
and alternating (so drift in the machine's load hits both alike) the sender sends
- room blocks: 40 room messages (0xA8), each fanned out to the MEMBERS others, and
- IM blocks: one-to-one IMs (0x06) to u1..u9, round robin (the sender's buddies, who see it: the live
  path), as many as a room block delivers copies / 2.
Each block ends with a keepalive whose answer the sender waits for: ymsgd handles a connection's packets
in order, so when it answers, the block's fan-out is done.  The members do not read (as if on other hosts:
a reader process here would compete with ymsgd for the two cores); their copies wait in kernel and ymsgd
buffers (out_cap raised).  Reports copies per second fanned out, ymsgd CPU per delivered copy for both
(from /proc/PID/stat over all blocks of a kind), and the ratio room copy / IM copy (goal <= 1.5).
Bounded: ROUNDS (default 5) rounds of one block each, then it stops ymsgd and exits."""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "server"))
from ymsgd_harness import Server, encode  # noqa: E402

ROOM_MSGS_PER_BLOCK = 40


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def barrier(c):
    """Sends a keepalive and waits for its ack (everything sent before it has been handled)."""
    c.send_raw(encode(0x8A, [(0, c.user)], session=c.session))
    deadline = time.time() + 120
    while time.time() < deadline:
        p = c.recv(deadline - time.time())
        assert p is not None, "no keepalive answer"
        if p.service == 0x8A:
            return
    raise AssertionError("no keepalive answer in 120 s")


def login(srv, name):
    """The harness's token login without its 0.3 s wait for stragglers (500 of them add up)."""
    c = srv.login(name, "pw", expect_ok=False)
    while True:
        p = c.recv(30)
        assert p is not None and p.service != 0x54, "login of %s failed: %r" % (name, p)
        if p.service == 0xF1 and p.status == 0:
            return c


def main():
    build = sys.argv[1]
    members = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    exe = os.path.join(build, "server", "ymsgd")
    d = tempfile.mkdtemp(prefix="ymsgd-rooms-bench-")
    r = subprocess.run([os.path.join(build, "bench", "server", "ymsg-bench"), "setup", os.path.join(d, "data"),
                        str(members + 1)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    extra = ["--out-cap", "268435456", "--offline-max", "1000000", "--offline-per-sender", "1000000",
             "--session-rate", "1000000", "--session-burst", "1000000", "--login-rate", "1000000",
             "--login-burst", "1000000", "--conn-rate", "1000000", "--conn-burst", "1000000",
             "--max-conns-per-addr", "100000", "--chat-room-max-members", str(members + 1),
             "--chat-msg-rate", "1000000", "--chat-msg-burst", "1000000", "--max-tracked", "1000000"]
    srv = Server(exe, extra_args=extra, data_dir=d)
    srv.log_level = "warn"
    with srv:
        pid = srv.proc.pid
        t0 = time.time()
        held = []
        for i in range(1, members + 1):
            c = login(srv, "u%d" % i)
            c.send_raw(encode(0x98, [(1, c.user), (104, "Linux"), (62, "2"), (129, "0")], session=c.session))
            held.append(c)
        s = login(srv, "u0")
        s.send_raw(encode(0x98, [(1, "u0"), (104, "Linux"), (62, "2"), (129, "0")], session=s.session))
        barrier(s)
        s.drain(0.5)
        print("setup: %d members logged in and joined in %.1f s" % (members, time.time() - t0))
        room_pkt = encode(0xA8, [(1, "u0"), (104, "Linux"), (117, "hello room, this is a benchmark line"),
                                 (124, "1"), (97, "1")], session=s.session)
        ims_per_block = max(100, ROOM_MSGS_PER_BLOCK * members // 2)
        # to u1..u9: buddies of u0 (ymsg-bench setup) who see it, so the IM takes the live path, as between
        # two members of a room (an IM to someone the sender may not know is online goes through the store)
        im_pkts = [encode(0x06, [(1, "u0"), (5, "u%d" % (1 + k % 9)), (14, "hello one, this is a benchmark line"),
                                 (97, "1")], status=0x5A55AA56, session=s.session) for k in range(ims_per_block)]
        cpu = {"room": 0.0, "im": 0.0}
        wall = {"room": 0.0, "im": 0.0}
        copies = {"room": 0, "im": 0}
        for _ in range(rounds):
            for kind in ("room", "im"):
                c0, w0 = cpu_seconds(pid), time.time()
                if kind == "room":
                    s.send_raw(room_pkt * ROOM_MSGS_PER_BLOCK)
                    copies[kind] += ROOM_MSGS_PER_BLOCK * members
                else:
                    s.send_raw(b"".join(im_pkts))
                    copies[kind] += ims_per_block
                barrier(s)
                wall[kind] += time.time() - w0
                cpu[kind] += cpu_seconds(pid) - c0
        for kind in ("room", "im"):
            print("%-4s %8d copies  %9.0f copies/s  ymsgd CPU %.2f us/copy (%.2f s CPU, %.2f s wall)" % (
                kind, copies[kind], copies[kind] / wall[kind], 1e6 * cpu[kind] / copies[kind], cpu[kind], wall[kind]))
        per_room = cpu["room"] / copies["room"]
        per_im = cpu["im"] / copies["im"]
        print("room copy / IM copy CPU ratio: %.2f (goal <= 1.5)" % (per_room / per_im if per_im else float("inf")))
        print("room messages/s fanned out to %d: %.0f" % (members, copies["room"] / members / wall["room"]))
        for c in held:
            c.close()
        s.close()


if __name__ == "__main__":
    main()
