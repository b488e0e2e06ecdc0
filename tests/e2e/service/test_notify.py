#!/usr/bin/env python3
"""ymsgd under a service manager (issue 13, systemd Type=notify): the test plays systemd's part, a unix
datagram socket in $NOTIFY_SOCKET, and checks what ymsgd sends there and when.

usage: test_notify.py YMSGD [TEST...]
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
from ymsgd_harness import Client, Server, free_port, http_get, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
SCM_CREDENTIALS = 2


class Manager:
    """The notify socket: collects (pid, message) datagrams with the sender's credentials."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ymsgd-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.got = []

    def recv(self, timeout):
        """Next (pid, {key: value}) or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SCM_CREDENTIALS:
                pid = struct.unpack("iII", cdata[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        self.got.append((pid, fields))
        return pid, fields

    def wait_for(self, key, timeout, value="1"):
        """Messages up to the first with key=value (returned last), or AssertionError."""
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            m = self.recv(max(0.01, deadline - time.time()))
            if m is None:
                break
            seen.append(m)
            if m[1].get(key) == value:
                return seen
        raise AssertionError("no %s=%s within %.1fs; got %r" % (key, value, timeout, seen))

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class Fresh(Server):
    """A Server (data directory, harness helpers) that the test starts itself."""

    def __enter__(self):
        return self


def spawn(srv, mgr, extra_env=None):
    """ymsgd with NOTIFY_SOCKET, not waiting for anything (the test waits for READY=1)."""
    srv.ymsg_port, srv.http_port = free_port(), free_port()
    env = dict(os.environ, NOTIFY_SOCKET=mgr.path, **(extra_env or {}))
    srv.log = open(os.path.join(srv.dir, "ymsgd.log"), "ab")
    srv.proc = subprocess.Popen(srv.base_args() + ["--ymsg-listen", "127.0.0.1:%d" % srv.ymsg_port,
                                                   "--http-listen", "127.0.0.1:%d" % srv.http_port],
                                stdout=subprocess.PIPE, stderr=srv.log, env=env)


def test_ready_only_once_listening_then_status_and_stopping():
    mgr = Manager()
    with Fresh(YMSGD) as srv:
        srv.add_user("alice", "secret")
        spawn(srv, mgr)
        msgs = mgr.wait_for("READY", 15)
        pid, ready = msgs[-1]
        assert pid == srv.proc.pid, "READY=1 from pid %r, ymsgd is %d" % (pid, srv.proc.pid)
        assert len(msgs) == 1, "messages before READY=1: %r" % msgs[:-1]
        assert ready.get("STATUS") == "0 users online, 0 pager connections", ready
        # The moment READY=1 arrives every listener must accept and answer: one try each, no retry.
        c = Client(srv.ymsg_port)
        c.send(0x57, [(1, "alice")])   # the first step of a login: the challenge comes back
        assert c.expect(0x57).get(94), "no challenge"
        status, _, _, body = http_get(srv.http_port, "/capacity")
        assert " 200 " in status and b"CS_IP_ADDRESS" in body, (status, body)
        c.close()
        # a user logs in: the next STATUS= line (every 5 s) counts them
        alice = srv.login("alice", "secret")
        deadline = time.time() + 12
        while True:
            m = mgr.recv(max(0.01, deadline - time.time()))
            assert m is not None, "no STATUS= with alice online: %r" % mgr.got
            if m[1].get("STATUS", "").startswith("1 users online"):
                break
        assert "READY" not in m[1] and "STOPPING" not in m[1], m
        # SIGTERM: STOPPING=1 before the process ends, then a clean exit
        srv.proc.send_signal(signal.SIGTERM)
        msgs = mgr.wait_for("STOPPING", 5)
        assert msgs[-1][0] == srv.proc.pid
        assert srv.proc.wait(timeout=10) == 0
        assert alice.closed(3.0)
        assert not any("READY" in f for _, f in mgr.got[1:]), "READY=1 again: %r" % mgr.got
    mgr.close()


def test_no_ready_when_a_listener_cannot_open():
    mgr = Manager()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    with Fresh(YMSGD) as srv:
        srv.extra += ["--http-listen", "127.0.0.1:%d" % busy.getsockname()[1]]
        srv.ymsg_port = free_port()
        env = dict(os.environ, NOTIFY_SOCKET=mgr.path)
        r = subprocess.run(srv.base_args() + ["--ymsg-listen", "127.0.0.1:%d" % srv.ymsg_port], env=env,
                           capture_output=True, timeout=30)
        assert r.returncode != 0, "ymsgd started on a busy port"
        assert b"ymsgd:" in r.stderr, r.stderr
        m = mgr.recv(0.5)
        assert m is None or "READY" not in m[1], "READY=1 from a server that never listened: %r" % (m,)
    busy.close()
    mgr.close()


def test_watchdog_pings_when_the_unit_asks():
    mgr = Manager()
    with Fresh(YMSGD) as srv:
        spawn(srv, mgr, {"WATCHDOG_USEC": "400000"})
        mgr.wait_for("READY", 15)
        t0 = time.time()
        pings = 0
        while time.time() - t0 < 1.5:
            m = mgr.recv(max(0.01, 1.5 - (time.time() - t0)))
            if m and m[1].get("WATCHDOG") == "1":
                pings += 1
        # every 200 ms (half of WatchdogSec): about 7 in 1.5 s; at least 4 even on a loaded machine
        assert pings >= 4, "only %d WATCHDOG=1 in 1.5 s with WatchdogSec=0.4s: %r" % (pings, mgr.got)
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0
    mgr.close()


def test_nothing_sent_without_notify_socket():
    """No NOTIFY_SOCKET: ymsgd runs as before (a socket named nowhere gets nothing)."""
    mgr = Manager()
    env_before = os.environ.pop("NOTIFY_SOCKET", None)
    try:
        with Server(YMSGD) as srv:
            status, _, _, _ = http_get(srv.http_port, "/capacity")
            assert " 200 " in status, status
        assert mgr.recv(0.3) is None
    finally:
        if env_before is not None:
            os.environ["NOTIFY_SOCKET"] = env_before
    mgr.close()


def test_reload_is_announced_and_ends_ready():
    """SIGHUP: RELOADING=1 (with MONOTONIC_USEC, for Type=notify-reload) then READY=1, whether the new
    file is applied or refused."""
    mgr = Manager()
    with Fresh(YMSGD) as srv:
        conf = os.path.join(srv.dir, "ymsgd.conf")
        with open(conf, "w") as f:
            f.write("max_message = 4096\n")
        srv.extra += ["--config", conf]
        spawn(srv, mgr)
        mgr.wait_for("READY", 15)
        for text, outcome in (("max_message = 2000\n", "applied"), ("max_message = banana\n", "refused")):
            with open(conf, "w") as f:
                f.write(text)
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGHUP)
            msgs = mgr.wait_for("READY", 10)
            keys = [f for _, f in msgs]
            rel = [f for f in keys if f.get("RELOADING") == "1"]
            assert rel and keys.index(rel[0]) < len(keys) - 1, "%s reload: %r" % (outcome, keys)
            usec = int(rel[0]["MONOTONIC_USEC"])
            assert t0 * 1e6 - 1e6 <= usec <= time.monotonic() * 1e6 + 1e6, (usec, t0)
            status, _, _, _ = http_get(srv.http_port, "/capacity")
            assert " 200 " in status, "server not serving after a %s reload" % outcome
        log = srv.log_text()
        assert "reload_refused" in log and "max_message" in log, log[-2000:]
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0
    mgr.close()


def test_logrotate_snippet_rotates_a_live_log():
    """dist/logrotate/ymsgd, forced, against a running ymsgd --log-file: the old lines stay in the rotated
    file and ymsgd writes on in a new one.  The installed snippet signals ymsgd.service through
    systemctl; here the same SIGUSR1 goes to the test's process, and the paths point at a temp dir."""
    import re
    import shutil
    lr = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert os.access(lr, os.X_OK), "logrotate not found (Debian package logrotate; scripts/deps.sh test)"
    snippet = open(os.path.join(HERE, "..", "..", "..", "dist", "logrotate", "ymsgd")).read()
    assert "postrotate" in snippet and "SIGUSR1" in snippet and "copytruncate" not in snippet, snippet
    with Fresh(YMSGD) as srv:
        logdir = os.path.join(srv.dir, "log")
        os.mkdir(logdir)
        logfile = os.path.join(logdir, "ymsgd.log")
        srv.extra += ["--log-file", logfile]
        mgr = Manager()
        spawn(srv, mgr)
        mgr.wait_for("READY", 15)
        mgr.close()
        assert "event=listening" in open(logfile).read()
        conf = snippet.replace("/var/log/ymsgd/", logdir + "/")
        conf = re.sub(r"systemctl kill [^\n]*", "kill -USR1 %d" % srv.proc.pid, conf)
        conf_path = os.path.join(srv.dir, "logrotate.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        r = subprocess.run([lr, "--force", "--state", os.path.join(srv.dir, "state"), conf_path],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        rotated = os.path.join(logdir, "ymsgd.log.1")
        assert os.path.isfile(rotated), os.listdir(logdir)
        deadline = time.time() + 5
        while time.time() < deadline:
            if os.path.isfile(logfile) and "event=log_reopened" in open(logfile).read():
                break
            time.sleep(0.05)
        assert "event=log_reopened" in open(logfile).read(), os.listdir(logdir)
        assert "event=listening" in open(rotated).read() and "event=listening" not in open(logfile).read()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0
        assert "event=stopped" in open(logfile).read()


if __name__ == "__main__":
    run_tests([test_ready_only_once_listening_then_status_and_stopping, test_no_ready_when_a_listener_cannot_open,
               test_watchdog_pings_when_the_unit_asks, test_nothing_sent_without_notify_socket,
               test_reload_is_announced_and_ends_ready, test_logrotate_snippet_rotates_a_live_log])
