#!/usr/bin/env python3
"""The reconnect storm of a ymsgd cluster, and many sessions across nodes (issue 12):

    python3 bench/cluster/reconnect_storm.py BUILD_DIR storm [USERS] [NODES] [CONCURRENCY] [--cold]
    python3 bench/cluster/reconnect_storm.py BUILD_DIR hold  [USERS] [NODES] [CONCURRENCY] [--settle=SECONDS]
    python3 bench/cluster/reconnect_storm.py BUILD_DIR restart [USERS] [NODES] [CONCURRENCY]

Both start a private redis-server and NODES ymsgd nodes on 127.0.0.1 (tests/e2e/server/ymsgd_harness.py
ClusterServer: one SQLite file shared through symlinks, one password cache key), with USERS accounts
u0..u{USERS-1} hashed at ymsgd's DEFAULT argon2id cost (2 passes, 19 MiB; one hash string for all,
see ymsg-bench setup), and the per-address limits opened for a load generator.

storm: one ymsg-bench process logs all USERS in on node0 (full token flow: pwtoken_get,
pwtoken_login, 0x57/0x54), the bench kills node0 with SIGKILL, and each dropped session logs in again at
once on the other nodes (round robin, CONCURRENCY in flight); printed: the time from the kill until
every session is back online, and how the survivors' password checks were answered (cached / hashed,
from /metrics).  The users had logged in within pwcache_ttl before (as on a node that has run a
while): their verification-cache entries are written into Redis first, exactly as ymsgd writes them
(BLAKE2b-256 keyed with the cluster's pwcache.key over user, hash, password).  --cold skips that: every
login (the first ones on node0 too) pays argon2id; use a small USERS.

restart: the whole cluster restarted: NODES generators log USERS/NODES users each in on their node,
then each kills its node at once (SIGKILL); the bench starts every node again on the same ports
(Redis and its password-cache entries kept) and every session logs in again on its node, trying
every 0.2 s while the node is down; printed: the time from the kill until all are back.

hold: NODES ymsg-bench processes (one per node, each below the 20,000 descriptor limit) log USERS/NODES
users each in on their node and hold them; printed: sessions online, ymsgd RSS per session on each node
(VmRSS after minus before), and Redis memory per session (INFO used_memory after minus before);
--settle=S: the RSS again S seconds later, the sessions still held (with YMSGD_BENCH_ARGS="--crumb-lifetime N",
N < S: once the logins' cookies that every node keeps for crumb_lifetime have expired).

The nodes run ymsgd's own liveness settings (cluster_heartbeat_ms 1000, cluster_node_timeout_ms 4000), not
the test harness's 200 / 2000: those exist so that a test sees a killed node within seconds, and under a
storm they make busy nodes declare each other dead (production_args below).  YMSGD_BENCH_ARGS (split on
spaces) is added to every node's flags, e.g. YMSGD_BENCH_ARGS="--cluster-node-timeout-ms 2000"."""
import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e", "server"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
from ymsgd_harness import ClusterServer, free_port  # noqa: E402

DEFAULT_OPS, DEFAULT_MEM = 2, 19922944  # ymsgd's pwhash_opslimit / pwhash_memlimit defaults
LIMITS = ["--max-sessions", "1000000", "--max-conns-per-addr", "100000", "--conn-rate", "1000000", "--conn-burst",
          "1000000", "--login-rate", "1000000", "--login-burst", "1000000", "--max-tracked", "10000000",
          "--http-max-conns", "1000000", "--http-max-conns-per-addr", "1000000", "--hash-queue", "1000000",
          "--session-rate", "1000000", "--session-burst", "1000000",
          "--idle-timeout", "86400"  # the generators send no keepalive: a slow run must not lose its first sessions
          ] + os.environ.get("YMSGD_BENCH_ARGS", "").split()
# The test harness's fast liveness (heartbeat 200 ms, timeout 2 s: a killed node is seen within a test's
# patience) is not what a cluster runs: under a storm a node's loop can be busy for seconds, and the harness
# timeout turned that into nodes declaring each other dead again and again (each time every node dropped,
# re-installed and fanned out tens of thousands of sessions).  The bench measures ymsgd's defaults.
HARNESS_ONLY = ("--cluster-heartbeat-ms", "--cluster-node-timeout-ms")


def production_args(args):
    """args without the harness's liveness flags (ymsgd's defaults apply; YMSGD_BENCH_ARGS may set them)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in HARNESS_ONLY:
            skip = True
        else:
            out.append(a)
    return out


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metrics(port):
    out = {}
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=120) as r:
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
    return out


def redis_mem(redis):
    info = redis.command("INFO", "memory")
    info = info.decode() if isinstance(info, bytes) else info
    for line in info.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    """utime + stime of pid in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / TICK


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def start_cluster(build, users, nodes):
    srv = ClusterServer(os.path.join(build, "server", "ymsgd"), extra_args=LIMITS, nodes=nodes)
    srv.mports = [free_port() for _ in range(nodes)]
    base = srv.node_args
    srv.node_args = lambda i: production_args(base(i)) + ["--metrics-listen", "127.0.0.1:%d" % srv.mports[i]]
    for n in srv.nodes:
        n.log_level = "warn"
    data = os.path.join(srv.nodes[0].dir, "data")
    t = time.time()
    subprocess.run([os.path.join(build, "bench", "server", "ymsg-bench"), "setup", data, str(users), str(DEFAULT_OPS),
                    str(DEFAULT_MEM)], check=True, stdout=subprocess.DEVNULL)
    print("setup: %d users (argon2id %d passes, %d MiB) in %.1fs" % (users, DEFAULT_OPS, DEFAULT_MEM >> 20,
                                                                     time.time() - t))
    srv.start()
    if srv.pg:  # the cluster's durable store is PostgreSQL: the same rows, copied there
        load_pg(srv, os.path.join(data, "ymsgd.db"))
    return srv


def load_pg(srv, path):
    """Copies the users and buddies ymsg-bench setup wrote into SQLite at path into the cluster's
    PostgreSQL store (schema made by the nodes at start), in one COPY per table through psql."""
    import shutil
    import sqlite3
    t = time.time()
    db = sqlite3.connect(path)
    users = "".join("%s\t%s\t0\n" % r for r in db.execute("SELECT name, pwhash FROM users"))
    buddies = "".join("%s\t%s\t\\\\x%s\t0\n" % (o, b, g.encode().hex() if isinstance(g, str) else g.hex())
                      for o, b, g in db.execute("SELECT owner, buddy, grp FROM buddies"))
    db.close()
    psql = os.path.join(srv.pg.bindir, "psql")
    if not os.access(psql, os.X_OK):
        psql = shutil.which("psql") or psql
    for table, cols, rows in (("users", "name, pwhash, created", users),
                              ("buddies", "owner, buddy, grp, pending", buddies)):
        r = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", srv.pg.url("ymsgd"), "-c",
                            "COPY %s(%s) FROM STDIN" % (table, cols)], input=rows.encode(), capture_output=True,
                           timeout=600)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    print("copied into PostgreSQL in %.1fs" % (time.time() - t))


def prefill(srv, users, ttl=604800):
    """The verification-cache entries of users who logged in before, as ymsgd writes them to Redis."""
    import sqlite3
    key = open(os.path.join(srv.dir, "pwcache.key"), "rb").read()
    pwhash = srv.pg.psql("SELECT pwhash FROM users WHERE name = 'u0'", "ymsgd").strip() if srv.pg else None
    if not pwhash:
        db = sqlite3.connect(os.path.join(srv.nodes[0].dir, "data", "ymsgd.db"))
        pwhash = db.execute("SELECT pwhash FROM users WHERE name = 'u0'").fetchone()[0]
        db.close()
    out = bytearray()
    for i in range(users):
        user = "u%d" % i
        mac = hashlib.blake2b(user.encode() + b"\0" + pwhash.encode() + b"\0" + b"pw\0", key=key,
                              digest_size=32).hexdigest()
        k = ("ymsg:pwc:" + mac).encode()
        out += b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n$2\r\nEX\r\n$%d\r\n%d\r\n" % (len(k), k, len(str(ttl)), ttl)
    r = subprocess.run(["redis-cli", "-s", srv.redis.sock, "--pipe"], input=bytes(out), capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def checks(port):
    m = metrics(port)
    return int(m.get('ymsgd_password_checks_total{result="cached"}', 0)), \
        int(m.get('ymsgd_password_checks_total{result="hashed"}', 0))


def storm(build, users, nodes, conc, cold):
    srv = start_cluster(build, users, nodes)
    try:
        if not cold:
            prefill(srv, users)
        victim = srv.nodes[0]
        others = ",".join("%d:%d" % (n.ymsg_port, n.http_port) for n in srv.nodes[1:])
        gen = subprocess.Popen([os.path.join(build, "bench", "server", "ymsg-bench"), "storm", str(users), str(conc),
                                str(victim.proc.pid), "%d:%d" % (victim.ymsg_port, victim.http_port), others],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        print("load average before the logins: %s" % load())
        for line in gen.stdout:
            print(line.rstrip())
            if line.startswith("storm: ready"):
                break
        else:
            raise SystemExit("generator ended before the storm: %s" % gen.wait())
        print("node0 password checks for those logins (cached, hashed): %s" % (checks(srv.mports[0]),))
        # Every other node must have node0's sessions in its mirror before the kill (as in a real cluster).
        deadline = time.time() + 60
        while time.time() < deadline and srv.redis.command("HLEN", "ymsg:dir:node0") < users:
            time.sleep(0.2)
        time.sleep(1.0)
        before = [checks(p) for p in srv.mports[1:]]
        cpu0 = [cpu(n.proc.pid) for n in srv.nodes[1:]]
        rcpu0 = cpu(srv.redis.proc.pid)
        print("load average at the kill: %s" % load())
        gen.stdin.write("go\n")
        gen.stdin.flush()
        for line in gen.stdout:
            print(line.rstrip())
        rc = gen.wait()
        print("load average after the storm: %s" % load())
        total = 0.0
        for i, p in enumerate(srv.mports[1:]):
            c, h = checks(p)
            used = cpu(srv.nodes[i + 1].proc.pid) - cpu0[i]
            total += used
            print("node%d: password checks during the storm: %d cached, %d hashed; ymsgd CPU %.2fs" % (
                i + 1, c - before[i][0], h - before[i][1], used))
        rused = cpu(srv.redis.proc.pid) - rcpu0
        print("survivors' ymsgd CPU %.2fs = %.0f us per re-login (%.0f re-logins/s per core); redis-server CPU %.2fs" % (
            total, total * 1e6 / users, users / total if total else 0, rused))
        srv.nodes[0].proc = None  # killed by the generator
        return rc
    finally:
        srv.stop()
        if srv.own_redis:
            srv.redis.stop()


def restart(build, users, nodes, conc):
    """The whole cluster restarted: every node killed at once (SIGKILL), started again on its ports with
    Redis kept, every session logging in again on its own node (a client that retries every 0.2 s while
    its node is down); the time from the kill until all are back."""
    srv = start_cluster(build, users, nodes)
    gens = []
    try:
        prefill(srv, users)
        per = -(-users // nodes)
        print("load average before the logins: %s" % load())
        for i, n in enumerate(srv.nodes):
            addr = "%d:%d" % (n.ymsg_port, n.http_port)
            gens.append(subprocess.Popen([os.path.join(build, "bench", "server", "ymsg-bench"), "storm",
                                          str(min(per, users - i * per)), str(conc), str(n.proc.pid), addr, addr,
                                          str(i * per)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for g in gens:
            for line in g.stdout:
                print(line.rstrip())
                if line.startswith("storm: ready"):
                    break
            else:
                raise SystemExit("a generator ended before the restart: %s" % g.wait())
        deadline = time.time() + 120  # every node's directory complete, as in a cluster that ran a while
        while time.time() < deadline and sum(srv.redis.command("HLEN", "ymsg:dir:node%d" % i)
                                             for i in range(nodes)) < users:
            time.sleep(0.2)
        print("load average at the kill: %s" % load())
        t_kill = time.time()
        for g in gens:  # each kills its own node
            g.stdin.write("go\n")
            g.stdin.flush()
        for n in srv.nodes:
            n.proc.wait()
        for n in srv.nodes:  # the same ports, data and Redis: as systemd would start them again
            n.log = open(os.path.join(n.dir, "ymsgd.log"), "ab")
            n.proc = subprocess.Popen(n.base_args() + ["--ymsg-listen", "127.0.0.1:%d" % n.ymsg_port,
                                                       "--http-listen", "127.0.0.1:%d" % n.http_port,
                                                       "--log-level", n.log_level],
                                      stdout=subprocess.DEVNULL, stderr=n.log)
        print("all %d nodes started again %.2fs after the kill" % (nodes, time.time() - t_kill))
        rc = 0
        for g in gens:
            for line in g.stdout:
                print(line.rstrip())
            rc |= g.wait()
        back = time.time() - t_kill
        hits = [checks(p) for p in srv.mports]
        print("whole cluster: %d sessions back %.1fs after the kill; password checks since the restart "
              "(cached, hashed) per node: %s; load average %s" % (users, back, hits, load()))
        return rc
    finally:
        for g in gens:
            if g.poll() is None:
                g.kill()
                g.wait()
        srv.stop()
        if srv.own_redis:
            srv.redis.stop()


def hold(build, users, nodes, conc, settle=0):
    srv = start_cluster(build, users, nodes)
    gens = []
    try:
        prefill(srv, users)
        per = -(-users // nodes)  # the last node takes what is left
        rss0 = [rss_kib(n.proc.pid) for n in srv.nodes]
        mem0 = redis_mem(srv.redis)
        print("load average before the logins: %s" % load())
        t = time.time()
        for i, n in enumerate(srv.nodes):
            # victim = the node itself (never killed: the generator waits on stdin until we close it)
            gens.append(subprocess.Popen([os.path.join(build, "bench", "server", "ymsg-bench"), "storm", str(min(per, users - i * per)),
                                          str(conc), str(n.proc.pid), "%d:%d" % (n.ymsg_port, n.http_port),
                                          "%d:%d" % (n.ymsg_port, n.http_port), str(i * per)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for g in gens:
            for line in g.stdout:
                if line.startswith("storm: ready"):
                    break
                print(line.rstrip())
        el = time.time() - t
        time.sleep(3.0)  # the directory and mirrors settle
        online = sum(int(metrics(p).get('ymsgd_sessions_online{transport="tcp"}', 0)) for p in srv.mports)
        print("%d sessions online on %d nodes (%d per node) after %.1fs; load average %s" % (
            online, nodes, per, el, load()))
        def rss_report(when):
            grown = 0
            for i, n in enumerate(srv.nodes):
                r = rss_kib(n.proc.pid)
                own = max(0, min(per, users - i * per))
                grown += (r - rss0[i]) * 1024
                print("node%d: RSS %d -> %d KiB = %.0f bytes per own session (its own %d, plus mirrors of the others' %d)" % (
                    i, rss0[i], r, (r - rss0[i]) * 1024.0 / max(own, 1), own, users - own))
            print("all nodes %s: ymsgd RSS grew %.1f MiB = %.0f bytes per session of the cluster" % (
                when, grown / 1048576.0, grown / float(max(online, 1))))
        rss_report("right after the logins")
        if settle:
            # The sessions stay; what each login left for a while goes: the HTTP logins' cookies on every
            # node (crumb_lifetime; set it below settle with YMSGD_BENCH_ARGS="--crumb-lifetime N") and
            # the generators' spent tokens. The steady state of a cluster whose users logged in a while ago.
            time.sleep(settle)
            still = sum(int(metrics(p).get('ymsgd_sessions_online{transport="tcp"}', 0)) for p in srv.mports)
            print("%d sessions still online %ds later; load average %s" % (still, settle, load()))
            rss_report("%ds later" % settle)
        mem1 = redis_mem(srv.redis)
        print("redis used_memory %d -> %d bytes = %.0f bytes per session (directory record; the password cache "
              "entries were written before)" % (mem0, mem1, (mem1 - mem0) / float(max(online, 1))))
        return 0 if online >= users else 1
    finally:
        for g in gens:
            g.kill()
            g.wait()
        srv.stop()
        if srv.own_redis:
            srv.redis.stop()


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("storm", "hold", "restart"):
        print(__doc__)
        return 2
    build, mode = sys.argv[1], sys.argv[2]
    args = [a for a in sys.argv[3:] if not a.startswith("--")]
    users = int(args[0]) if args else (17000 if mode == "storm" else 100000)
    nodes = int(args[1]) if len(args) > 1 else (6 if mode == "hold" else 3)
    conc = int(args[2]) if len(args) > 2 else 256
    if mode == "storm":
        return storm(build, users, nodes, conc, "--cold" in sys.argv)
    if mode == "restart":
        return restart(build, users, nodes, conc)
    return hold(build, users, nodes, conc, next((int(a.split('=', 1)[1]) for a in sys.argv if a.startswith('--settle=')), 0))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    sys.exit(main())
