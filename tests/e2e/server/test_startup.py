#!/usr/bin/env python3
"""Start-up and administration behaviour a new user trips on (issue 9 item 13) and several pager listeners
(item 0): usage test_startup.py YMSGD [TEST...]"""
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Client, free_port, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
FAST = ["--pwhash-opslimit", "1", "--pwhash-memlimit", "8192"]


class Tmp:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ymsgd-startup-")
        return self.dir

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def run(args, cwd=None, stdin=b"", timeout=30):
    return subprocess.run([YMSGD] + args, cwd=cwd, input=stdin, capture_output=True, timeout=timeout)


def start(args, cwd=None):
    """A ymsgd process; returns (proc, pager port, http port) once both listen, or (proc, None, None)
    if it exited first."""
    ymsg, http = free_port(), free_port()
    p = subprocess.Popen([YMSGD] + FAST + ["--ymsg-listen", "127.0.0.1:%d" % ymsg, "--http-listen",
                                           "127.0.0.1:%d" % http] + args,
                         cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline and p.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", ymsg), timeout=0.2).close()
            socket.create_connection(("127.0.0.1", http), timeout=0.2).close()
            return p, ymsg, http
        except OSError:
            time.sleep(0.05)
    return p, None, None


def stop(p):
    if p.poll() is None:
        p.terminate()
    out, err = p.communicate(timeout=15)
    return out.decode(errors="replace"), err.decode(errors="replace")


def test_user_commands_do_not_create_a_database_by_accident():
    with Tmp() as d:
        r = run(["user", "list"], cwd=d)
        err = r.stderr.decode()
        assert r.returncode != 0 and "--data-dir" in err, (r.returncode, err)
        assert not os.path.exists(os.path.join(d, "data")), "user list created ./data"
        fresh = os.path.join(d, "fresh")
        for cmd in (["user", "list"], ["user", "del", "bob"]):
            r = run(["--data-dir", fresh] + cmd)
            assert r.returncode == 1 and "no database" in r.stderr.decode(), r
            assert not os.path.exists(os.path.join(fresh, "ymsgd.db")), "%s created the database" % cmd
        # naming the directory is enough for `user add`, the way the kit and the docs set up accounts
        r = run(["--data-dir", fresh] + FAST + ["user", "add", "bob"], stdin=b"pw\n")
        assert r.returncode == 0, r
        r = run(["--data-dir", fresh, "user", "list"])
        assert r.returncode == 0 and r.stdout.decode() == "bob\n", r
        # data_dir from a config file counts as named
        conf = os.path.join(d, "ymsgd.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s\n" % os.path.join(d, "viaconf"))
        r = run(["--config", conf] + FAST + ["user", "add", "carol"], stdin=b"pw\n")
        assert r.returncode == 0, r


def test_first_start_that_cannot_listen_creates_nothing():
    with Tmp() as d:
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        data = os.path.join(d, "data")
        p, _, _ = start(["--data-dir", data, "--http-listen", "127.0.0.1:%d" % port])
        out, err = stop(p)
        assert p.returncode != 0, "started on a busy port"
        assert "password" not in out, "demo passwords printed by a start that failed: %r" % out
        assert "cannot listen on 127.0.0.1:%d: Address already in use" % port in err, err
        assert not os.path.exists(os.path.join(data, "ymsgd.db")), "database created by a start that failed"
        busy.close()
        p, ymsg, _ = start(["--data-dir", data])
        assert ymsg, stop(p)
        out, err = stop(p)
        assert "user demo " in out and "user demo2 " in out, "no demo accounts on the first real start: %r" % out


def test_pager_listen_error_has_a_reason():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    with Tmp() as d:
        r = run(FAST + ["--data-dir", d, "--ymsg-listen", "127.0.0.1:%d" % busy.getsockname()[1],
                        "--http-listen", "127.0.0.1:%d" % free_port()], timeout=20)
        assert r.returncode != 0 and b"Address already in use" in r.stderr, r
    busy.close()


def test_tls_settings_errors_are_clear():
    with Tmp() as d:
        common = FAST + ["--data-dir", d, "--ymsg-listen", "127.0.0.1:%d" % free_port(), "--http-listen",
                         "127.0.0.1:%d" % free_port(), "--https-listen", "127.0.0.1:%d" % free_port()]
        missing = os.path.join(d, "nope.pem")
        r = run(common + ["--tls-cert", missing, "--tls-key", missing], timeout=20)
        err = r.stderr.decode()
        assert r.returncode != 0 and "(null)" not in err and "No such file" in err and missing in err, err
        for only in (["--tls-cert", missing], ["--tls-key", missing]):
            r = run(common + only, timeout=20)
            err = r.stderr.decode()
            assert r.returncode != 0 and "HTTPS needs both" in err, (only, r.returncode, err)
        bad = os.path.join(d, "bad.pem")
        with open(bad, "w") as f:
            f.write("not a certificate\n")
        r = run(common + ["--tls-cert", bad, "--tls-key", bad], timeout=20)
        err = r.stderr.decode()
        assert r.returncode != 0 and "(null)" not in err and "TLS certificate/key" in err, err


def test_one_server_per_data_dir():
    with Tmp() as d:
        data = os.path.join(d, "data")
        a, ymsg, _ = start(["--data-dir", data])
        assert ymsg, stop(a)
        b, ymsg_b, _ = start(["--data-dir", data])
        out, err = stop(b)
        assert b.returncode != 0 and ymsg_b is None, "a second ymsgd ran on the same data directory"
        assert "already running on data directory" in err, err
        assert a.poll() is None, "the first server died"
        # the offline CLI still works next to the running server
        r = run(["--data-dir", data] + FAST + ["user", "add", "zed"], stdin=b"pw\n")
        assert r.returncode == 0, r
        stop(a)
        c, ymsg_c, _ = start(["--data-dir", data])
        assert ymsg_c, "the lock outlived its server: %r" % (stop(c),)
        stop(c)


def test_database_files_are_private():
    with Tmp() as d:
        data = os.path.join(d, "data")
        os.makedirs(data, mode=0o700)
        old = os.umask(0o022)
        try:
            p, ymsg, _ = start(["--data-dir", data])
            assert ymsg, stop(p)
            r = run(["--data-dir", data] + FAST + ["user", "add", "bob"], stdin=b"pw\n")
            assert r.returncode == 0, r
            modes = {f: stat.S_IMODE(os.stat(os.path.join(data, f)).st_mode) for f in os.listdir(data)
                     if f.startswith("ymsgd.db")}
            stop(p)
            assert {"ymsgd.db", "ymsgd.db-wal", "ymsgd.db-shm"} <= set(modes), modes
            assert all(m == 0o600 for m in modes.values()), {f: oct(m) for f, m in modes.items()}
            # files an older version left 0644 are tightened at the next open
            for f in ("ymsgd.db", "ymsgd.db-wal", "ymsgd.db-shm"):
                path = os.path.join(data, f)
                if not os.path.exists(path):
                    open(path, "wb").close()
                os.chmod(path, 0o644)
            p, ymsg, _ = start(["--data-dir", data])
            assert ymsg, stop(p)
            modes = {f: oct(stat.S_IMODE(os.stat(os.path.join(data, f)).st_mode)) for f in os.listdir(data)
                     if f.startswith("ymsgd.db")}
            stop(p)
            assert all(m == "0o600" for m in modes.values()), modes
        finally:
            os.umask(old)


def test_several_pager_listeners():
    """--ymsg-listen A,B (and the config key): the real pager answered on 5050 and on fallback ports, and
    libyahoo2 1.0.0's sample client only tries port 23."""
    with Tmp() as d:
        p1, p2, http = free_port(), free_port(), free_port()
        conf = os.path.join(d, "ymsgd.conf")
        with open(conf, "w") as f:
            f.write("ymsg_listen = 127.0.0.1:%d, 127.0.0.1:%d\n" % (p1, p2))
        p = subprocess.Popen([YMSGD] + FAST + ["--config", conf, "--data-dir", os.path.join(d, "data"),
                                               "--http-listen", "127.0.0.1:%d" % http],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for port in (p1, p2):
                deadline = time.time() + 10
                while True:
                    try:
                        c = Client(port)
                        break
                    except OSError:
                        assert p.poll() is None and time.time() < deadline, stop(p)
                        time.sleep(0.05)
                c.send(0x57, [(1, "demo")])
                pkt = c.expect(0x57)
                assert pkt.get(94), "no challenge on port %d: %r" % (port, pkt)
                c.close()
            # /capacity names the first listener's address
            s = socket.create_connection(("127.0.0.1", http), timeout=5)
            s.sendall(b"GET /capacity HTTP/1.0\r\nHost: x\r\n\r\n")
            body = b""
            while True:
                x = s.recv(4096)
                if not x:
                    break
                body += x
            assert b"CS_IP_ADDRESS=127.0.0.1\r\n" in body, body
        finally:
            stop(p)
        with Tmp() as d2:
            r = run(FAST + ["--data-dir", d2, "--ymsg-listen", "127.0.0.1:%d,nonsense" % free_port(),
                            "--http-listen", "127.0.0.1:%d" % free_port()], timeout=20)
            assert r.returncode != 0 and b"bad ymsg_listen" in r.stderr, r
            r = run(FAST + ["--data-dir", d2, "--ymsg-listen", " , ", "--http-listen", "127.0.0.1:%d" % free_port()],
                    timeout=20)
            assert r.returncode != 0 and b"ymsg_listen" in r.stderr, r


if __name__ == "__main__":
    run_tests([test_user_commands_do_not_create_a_database_by_accident, test_first_start_that_cannot_listen_creates_nothing,
               test_pager_listen_error_has_a_reason, test_tls_settings_errors_are_clear, test_one_server_per_data_dir,
               test_database_files_are_private, test_several_pager_listeners])
