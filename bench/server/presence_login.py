#!/usr/bin/env python3
"""Login of a user with N online buddies (issue 12, "Presence without a query per watcher").

    bench/server/presence_login.py YMSGD [--buddies 500] [--rounds 20] [--pg] [--nodes 2]

Creates `star` and b0..bN-1, all mutual authorised buddies (rows written straight into the store),
logs the N buddies in, then logs `star` in and out ROUNDS times.  Per round it takes ymsgd's CPU time
(utime+stime from /proc) spent from sending star's 0x54 until star has its whole login burst and every
buddy has star's came-online packet, and the wall time of that span.  Prints the mean CPU (the counter
ticks in 10 ms steps, so only the mean over rounds means anything) and the wall median and p90.
With --pg the server runs on a throw-away PostgreSQL (tests/support/pgserver.py), otherwise on SQLite.
With --nodes N (N >= 2; implies --pg) it is a cluster of N nodes and a redis-server (ClusterServer):
star logs in on node0, the buddies on the other nodes (round robin); the CPU is every node's.
"""
import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "server"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from ymsgd_harness import Client, ClusterServer, Server, resp307  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read()
    fields = f[f.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def seed(srv, n, pg):
    """star + b0..b{n-1} with star's password hash, every pair mutual and authorised."""
    srv.add_user("star", "pw")
    names = ["b%d" % i for i in range(n)]
    if pg:
        url = os.environ["YMSGD_TEST_PG"]
        sql = ["INSERT INTO users(name, pwhash, legacy_p, legacy_c, created)"
               " SELECT 'b' || i, (SELECT pwhash FROM users WHERE name = 'star'), NULL, NULL, 0"
               " FROM generate_series(0, %d) i;" % (n - 1),
               "INSERT INTO buddies(owner, buddy, grp, pending) SELECT 'star', 'b' || i, 'G'::bytea, 0"
               " FROM generate_series(0, %d) i;" % (n - 1),
               "INSERT INTO buddies(owner, buddy, grp, pending) SELECT 'b' || i, 'star', 'G'::bytea, 0"
               " FROM generate_series(0, %d) i;" % (n - 1)]
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", "".join(sql)], check=True)
        return names
    db = sqlite3.connect(os.path.join(srv.dir, "data", "ymsgd.db"))
    h = db.execute("SELECT pwhash FROM users WHERE name = 'star'").fetchone()[0]
    db.executemany("INSERT INTO users(name, pwhash, created) VALUES(?, ?, 0)", [(b, h) for b in names])
    db.executemany("INSERT INTO buddies(owner, buddy, grp, pending) VALUES('star', ?, 'G', 0)", [(b,) for b in names])
    db.executemany("INSERT INTO buddies(owner, buddy, grp, pending) VALUES(?, 'star', 'G', 0)", [(b,) for b in names])
    db.commit()
    db.close()
    return names


def login_split(srv, user, password):
    """Token flow and 0x57 first; returns (client, the 0x54 bytes to send)."""
    from ymsgd_harness import encode
    c = Client(srv.ymsg_port, timeout=30)
    c.user = user
    c.send(0x57, [(1, user)])
    p = c.expect(0x57, timeout=30)
    c.session = p.session
    chal = p.get(94)
    lines = srv.token(user, password, chal, timeout=30).split("\r\n")
    assert lines[0] == "0", lines
    code, f, _ = srv.cookies(lines[1].split("=", 1)[1])
    assert code == "0"
    pkt = encode(0x54, [(1, user), (0, user), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal)),
                        (244, "4194239"), (2, user), (2, "1"), (98, "us")], 0, c.session, 16)
    return c, pkt


def commits():
    """Transactions committed in the ymsgd database so far (each store call is one); backends report
    their counts within a second of going idle, so wait that out first."""
    time.sleep(1.5)
    r = subprocess.run(["psql", "-X", "-At", "-d", os.environ["YMSGD_TEST_PG"], "-c",
                        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'ymsgd'"],
                       capture_output=True, check=True)
    return int(r.stdout)


def until(c, pred, timeout=30):
    """Reads c's packets until one matches pred (others are the login burst's rest: skipped)."""
    while True:
        p = c.recv(timeout)
        assert p is not None, "timed out"
        if pred(p):
            return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ymsgd")
    ap.add_argument("--buddies", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--nodes", type=int, default=1)
    a = ap.parse_args()
    a.pg = a.pg or a.nodes > 1  # a cluster's durable store is PostgreSQL
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * a.buddies + 256)), hard))
    pg = None
    if a.pg:
        from pgserver import PgServer
        pg = PgServer().start()
        os.environ["YMSGD_TEST_PG"] = pg.create_db("ymsgd")
    big = "10000000"
    extra = ["--login-rate", big, "--login-burst", big, "--conn-rate", big, "--conn-burst", big,
             "--max-conns-per-addr", big, "--addr-max-failures", "1000000", "--session-rate", big,
             "--session-burst", big, "--log-level", "warn"]
    try:
        exe = os.path.abspath(a.ymsgd)
        with (ClusterServer(exe, extra, nodes=a.nodes) if a.nodes > 1 else Server(exe, extra_args=extra)) as srv:
            nodes = srv.nodes if a.nodes > 1 else [srv]
            names = seed(nodes[0], a.buddies, a.pg)
            buddies = {}
            for i, b in enumerate(names):
                c, pkt = login_split(nodes[1 + i % (len(nodes) - 1)] if len(nodes) > 1 else srv, b, "pw")
                c.send_raw(pkt)
                until(c, lambda p: p.service == 0xF1 and p.status == 0)
                buddies[b] = c
            cpu, wall = [], []
            x0 = commits() if a.pg else 0
            for r in range(a.rounds):
                c, pkt = login_split(nodes[0], "star", "pw")
                t0, c0 = time.perf_counter(), sum(cpu_s(n.proc.pid) for n in nodes)
                c.send_raw(pkt)
                burst = c.until_list_done(timeout=30)
                for b in names:  # every buddy hears star come online
                    until(buddies[b], lambda p: p.service == 0xF0 and p.get(7) == "star")
                t1, c1 = time.perf_counter(), sum(cpu_s(n.proc.pid) for n in nodes)
                online = sum(len(p.all(7)) for p in burst if p.service == 0xF0)
                assert online == a.buddies, online
                cpu.append(c1 - c0)
                wall.append(t1 - t0)
                c.close()
                for b in names:  # and go offline again before the next round
                    until(buddies[b], lambda p: p.service == 0x02 and p.get(7) == "star")
            rt = (commits() - x0) / a.rounds if a.pg else None
            q = lambda v, f: sorted(v)[min(len(v) - 1, int(len(v) * f))]
            print("login of a user with %d online buddies (%s%s), %d rounds:" % (
                a.buddies, "postgresql" if a.pg else "sqlite",
                ", %d nodes, buddies on the others" % a.nodes if a.nodes > 1 else "", a.rounds))
            # /proc counts in clock ticks (10 ms): the mean over all rounds, not a per-round percentile
            print("  ymsgd CPU per login (all nodes): mean %.2f ms over %d rounds (clock tick %.0f ms)"
                  % (sum(cpu) / len(cpu) * 1e3, len(cpu), 1e3 / TICK))
            print("  wall time 0x54 -> list + %d came-online packets: median %.2f ms, p90 %.2f ms"
                  % (a.buddies, statistics.median(wall) * 1e3, q(wall, 0.9) * 1e3))
            if rt is not None:
                print("  PostgreSQL statements (transactions) per login + logout: %.1f" % rt)
    finally:
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
