#!/usr/bin/env python3
"""`ymsg probe` against a 2-node cluster, the target and the prober on different nodes (issue 12):
usage test_cluster_probe.py YMSGD YMSG

The ymsg client has one --server; a small pager front here sends each YMSG connection to the node of
the user its first packet (0x57) names: alice (prober) and carol (baseline) on node0, bob (target) on
node1.  The HTTP token login goes to node0 for everyone (crumbs are valid on every node)."""
import json
import os
import socket
import struct
import subprocess
import sys
import select
import signal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import ClusterServer, Packet  # noqa: E402

PLACE = {"alice": 0, "bob": 1, "carol": 0}


def front_main(ports, placed_path, ready_fd):
    """The pager front, in its own process: one forked process per connection, so that bob's traffic
    never waits on the same interpreter (and its lock) as alice's.  (A thread per connection in the test's
    own interpreter put the target's live IM and the prober's ping on one GIL: the timing technique saw
    the harness, not ymsgd.)"""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    lis = socket.socket()
    lis.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lis.bind(("127.0.0.1", 0))
    lis.listen(64)
    os.write(ready_fd, b"%d\n" % lis.getsockname()[1])
    os.close(ready_fd)
    while True:
        c, _ = lis.accept()
        if os.fork() == 0:
            lis.close()
            front_serve(c, ports, placed_path)
            os._exit(0)
        c.close()


def front_serve(c, ports, placed_path):
    buf = b""
    while len(buf) < 20 or len(buf) < 20 + struct.unpack(">H", buf[8:10])[0]:
        d = c.recv(65536)
        if not d:
            return
        buf += d
    user = (Packet(buf[:20 + struct.unpack(">H", buf[8:10])[0]]).get(1) or "").lower()
    node = PLACE.get(user, 0)
    with open(placed_path, "a") as f:
        f.write("%s %d\n" % (user, node))
    b = socket.create_connection(("127.0.0.1", ports[node]))
    for s in (b, c):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    b.sendall(buf)
    peer = {c: b, b: c}
    while True:
        for s in select.select([c, b], [], [])[0]:
            d = s.recv(65536)
            if not d:
                return
            peer[s].sendall(d)


class Front:
    def __init__(self, ports, placed_path):
        self.placed_path = placed_path
        r, w = os.pipe()
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--front", placed_path] +
                                     [str(p) for p in ports] + ["--ready-fd", str(w)], pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            self.port = int(f.readline())

    def placed(self):
        with open(self.placed_path) as f:
            return [(u, int(n)) for u, n in (line.split() for line in f)]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def main():
    ymsgd, ymsg = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = None
    with ClusterServer(ymsgd, nodes=2) as srv:
        tmp = srv.dir
        creds = {}
        for u in ("alice", "bob", "carol"):
            srv.add_user(u, "pw-" + u)
            creds[u] = os.path.join(tmp, u + ".cred")
            with open(creds[u], "w") as f:
                f.write("%s:pw-%s\n" % (u, u))
        front = Front([n.ymsg_port for n in srv.nodes], os.path.join(tmp, "placed"))
        try:
            base = [ymsg, "--server", "127.0.0.1:%d" % front.port, "--login-url", "http://127.0.0.1:%d" % srv.nodes[0].http_port]

            def run(cred, *args, timeout=60):
                p = subprocess.run(base + ["--credentials", cred] + list(args), capture_output=True, timeout=timeout)
                return p.returncode, p.stdout.decode(), p.stderr.decode()

            assert run(creds["alice"], "add", "bob")[0] == 0, "add"
            r = run(creds["bob"], "accept", "alice")
            assert r[0] == 0, "accept: %r" % (r,)
            rc, out, err = run(creds["alice"], "probe", "bob", "--target-credentials", creds["bob"], "--baseline-credentials",
                               creds["carol"], "--json", "--settle", "600", timeout=200)
            rep = json.loads(out)
            print(json.dumps({t["name"]: t["verdict"] for t in rep["techniques"]}))
            placed = front.placed()
            assert ("bob", 1) in placed and ("alice", 0) in placed, placed
            print([t["detail"] for t in rep["techniques"] if t["name"] == "im-timing"][0])
            assert rc == 0 and rep["leaks"] == 0, "ymsgd cluster leaks: %s %s" % (out, err)
            verdict = {t["name"]: t["verdict"] for t in rep["techniques"]}
            assert verdict["logoff-fingerprint"] == "no leak", rep
        finally:
            front.stop()
    print("ok   probe across nodes")


if __name__ == "__main__":
    if sys.argv[1] == "--front":  # front_main's process: --front PLACED PORT... --ready-fd FD
        front_main([int(p) for p in sys.argv[3:-2]], sys.argv[2], int(sys.argv[-1]))
    main()
