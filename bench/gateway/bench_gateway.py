#!/usr/bin/env python3
"""Load test of ymsgd's AMF gateway with wrk over keep-alive (loopback only, bounded, stops by itself).

Starts ymsgd (free ports, temp data dir), creates one account, logs in once to get the YMSGAMF cookie,
stores a 10-entry phonebook (typed PhoneEntry objects, AMF3 behind 0x11 like a Flash client with
objectEncoding 3), then runs wrk with fixed request bodies:
  read:  Phonebook.sync()          -> returns the stored 10 entries
  write: Phonebook.sync(10 entries) -> stores them (one SQLite INSERT OR REPLACE) and returns them
The wrk Lua script checks every reply is a result (/1/onResult), not a fault.

Peer in the same run (unless --no-peer): npm libamf 1.4.2's Server with an in-memory Phonebook
(bench/gateway/libamf_server.js; node, no login, no disk), same bodies.

usage: bench_gateway.py YMSGD [--duration 10s] [--connections 16] [--threads 1] [--no-peer]
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e", "gateway"))
from amfpy import AVM, Typed, encode0, packet, parse_packet  # noqa: E402

LUA = r"""
local f = assert(io.open(os.getenv("GW_BODY"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-amf"
wrk.headers["Cookie"] = "YMSGAMF=" .. os.getenv("GW_COOKIE")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, b)
  if status ~= 200 or not string.find(b, "/1/onResult", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("BAD_REPLIES %d\n", n))
end
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def entries():
    sealed = ["name", "phone", "email"]
    return [Typed("PhoneEntry", {"name": "Person %02d" % i, "phone": "+1 555 01%02d" % i,
                                 "email": "person%02d@example.com" % i}, sealed) for i in range(10)]


def cpu_seconds(pid):
    """utime + stime of a process (its own CPU, whatever else runs on the machine)."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ymsgd")
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--connections", default="16")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--no-peer", dest="peer", action="store_false",
                    help="skip the npm libamf Server peer (bench/gateway/libamf_server.js)")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package wrk)")
    tmp = tempfile.mkdtemp(prefix="gw-bench-")
    fast = ["--pwhash-opslimit", "1", "--pwhash-memlimit", "8192"]
    try:
        subprocess.run([a.ymsgd, "--data-dir", tmp] + fast + ["user", "add", "bench"], input=b"pw-bench\n",
                       check=True, capture_output=True, timeout=60)
        port = free_port()
        log = open(os.path.join(tmp, "ymsgd.log"), "wb")
        proc = subprocess.Popen([a.ymsgd, "--data-dir", tmp, "--http-listen", "127.0.0.1:%d" % port,
                                 "--ymsg-listen", "127.0.0.1:%d" % free_port(),
                                 "--https-listen", "127.0.0.1:%d" % free_port(), "--log-level", "warn"] + fast,
                                stdout=log, stderr=log)
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/api.php", packet([("Phonebook.login", "/1", encode0(["bench", "pw-bench"]))]),
                         {"Content-Type": "application/x-amf"})
            r = conn.getresponse()
            r.read()
            cookie = (r.getheader("Set-Cookie") or "").split(";")[0].split("=", 1)[-1]
            if len(cookie) != 32:
                sys.exit("login failed")
            write_body = packet([("Phonebook.sync", "/1", encode0([AVM(entries())]))], version=3)
            read_body = packet([("Phonebook.sync", "/1", encode0([]))], version=3)
            conn.request("POST", "/api.php", write_body,
                         {"Content-Type": "application/x-amf", "Cookie": "YMSGAMF=" + cookie})
            r = conn.getresponse()
            _, _, bodies = parse_packet(r.read())
            if bodies[0][0] != "/1/onResult" or bodies[0][2] != entries():
                sys.exit("storing the phonebook failed: %r" % (bodies[0][2],))
            conn.close()
            lua = os.path.join(tmp, "post.lua")
            open(lua, "w").write(LUA)
            cases = (("read  Phonebook.sync()", read_body), ("write Phonebook.sync(10 entries)", write_body))
            results = [("ymsgd " + n, b, port, proc.pid) for n, b in cases]
            node = shutil.which("node") or shutil.which("nodejs")
            peer_js = os.path.join(HERE, "libamf_server.js")
            peer = None
            if a.peer and node and os.path.isdir(os.path.join(HERE, "..", "..", "tests", "e2e", "gateway", "npm",
                                                               "node_modules", "libamf")):
                pport = free_port()
                peer = subprocess.Popen([node, peer_js, str(pport)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                if peer.stdout.readline().strip() == b"ready":
                    results += [("libamf " + n, b, pport, peer.pid) for n, b in cases]
            elif a.peer:
                print("peer skipped: run scripts/deps.sh test (npm ci --prefix tests/e2e/gateway/npm)")
            summary = []
            try:
                for name, body, p, pid in results:
                    bf = os.path.join(tmp, "body.amf")
                    open(bf, "wb").write(body)
                    env = dict(os.environ, GW_BODY=bf, GW_COOKIE=cookie)
                    cmd = ["wrk", "-t" + a.threads, "-c" + a.connections, "-d" + a.duration, "--latency", "-s", lua,
                           "http://127.0.0.1:%d/api.php" % p]
                    cpu0 = cpu_seconds(pid)
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600).stdout
                    cpu = cpu_seconds(pid) - cpu0
                    total = re.search(r"(\d+) requests in", out)
                    us = cpu / int(total.group(1)) * 1e6 if total and int(total.group(1)) else 0
                    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
                    p99 = re.search(r"\s99%\s+([\d.]+\w+)", out)
                    bad = re.search(r"BAD_REPLIES (\d+)", out)
                    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
                    print("== %s: %d-byte request\n%s" % (name, len(body), out.strip()), flush=True)
                    summary.append((name, rps.group(1) if rps else "?", p99.group(1) if p99 else "?", us,
                                    bad.group(1) if bad else "?", errs.group(0) if errs else ""))
            finally:
                if peer:
                    peer.terminate()
                    peer.wait(timeout=15)
            print("\nsummary (wrk %s, 127.0.0.1, keep-alive; load average %s):"
                  % (" ".join(cmd[1:5]), " ".join(open("/proc/loadavg").read().split()[:3])))
            print("  (server CPU = user+system time of the server process per request, from /proc)")
            for name, rps, p99, us, bad, errs in summary:
                print("  %-40s %9s req/s  p99 %8s  server CPU %6.1f us/req (%6.0f req/s per core)  bad %s %s"
                      % (name, rps, p99, us, 1e6 / us if us else 0, bad, errs))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
