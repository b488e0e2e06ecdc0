#!/usr/bin/env python3
"""A ymsgd cluster for a browser test (tests/e2e/server/ymsgd_harness.py ClusterServer: private Redis and
PostgreSQL, nodes on loopback): prints one JSON line with each node's ports and directory, and stops it all
when its stdin closes.  Usage: cluster_fixture.py YMSGD NODES USER[,USER...] [YMSGD ARG...]
(each user's password is "pw-USER", as in the browser tests)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from ymsgd_harness import ClusterServer  # noqa: E402


def main():
    exe, nodes, users, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4:]
    with ClusterServer(os.path.abspath(exe), extra, nodes=nodes) as srv:
        for u in users:
            srv.add_user(u, "pw-" + u)
        print(json.dumps({"nodes": [{"ymsg": n.ymsg_port, "http": n.http_port, "dir": n.dir} for n in srv.nodes]}),
              flush=True)
        sys.stdin.read()   # the test is done (or died: its end of the pipe closes)


if __name__ == "__main__":
    main()
