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
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import ClusterServer, Packet  # noqa: E402

YMSGD, YMSG = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PLACE = {"alice": 0, "bob": 1, "carol": 0}


class Front(threading.Thread):
    def __init__(self, ports):
        super().__init__(daemon=True)
        self.ports = ports
        self.lis = socket.socket()
        self.lis.bind(("127.0.0.1", 0))
        self.lis.listen(64)
        self.port = self.lis.getsockname()[1]
        self.placed = []

    def run(self):
        while True:
            try:
                c, _ = self.lis.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        try:
            while len(buf) < 20 or len(buf) < 20 + struct.unpack(">H", buf[8:10])[0]:
                d = c.recv(65536)
                if not d:
                    return c.close()
                buf += d
            user = (Packet(buf[:20 + struct.unpack(">H", buf[8:10])[0]]).get(1) or "").lower()
            node = PLACE.get(user, 0)
            self.placed.append((user, node))
            b = socket.create_connection(("127.0.0.1", self.ports[node]))
            b.sendall(buf)
        except OSError:
            return c.close()

        def pipe(src, dst):
            try:
                while True:
                    d = src.recv(65536)
                    if not d:
                        break
                    dst.sendall(d)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pipe, args=(b, c), daemon=True).start()
        pipe(c, b)


def main():
    tmp = None
    with ClusterServer(YMSGD, nodes=2) as srv:
        tmp = srv.dir
        creds = {}
        for u in ("alice", "bob", "carol"):
            srv.add_user(u, "pw-" + u)
            creds[u] = os.path.join(tmp, u + ".cred")
            with open(creds[u], "w") as f:
                f.write("%s:pw-%s\n" % (u, u))
        front = Front([n.ymsg_port for n in srv.nodes])
        front.start()
        base = [YMSG, "--server", "127.0.0.1:%d" % front.port, "--login-url", "http://127.0.0.1:%d" % srv.nodes[0].http_port]

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
        assert ("bob", 1) in front.placed and ("alice", 0) in front.placed, front.placed
        assert rc == 0 and rep["leaks"] == 0, "ymsgd cluster leaks: %s %s" % (out, err)
        verdict = {t["name"]: t["verdict"] for t in rep["techniques"]}
        assert verdict["logoff-fingerprint"] == "no leak", rep
        front.lis.close()
    print("ok   probe across nodes")


if __name__ == "__main__":
    main()
