#!/usr/bin/env python3
"""Issue 13, runtime controls, end to end against the real ymsgd on loopback: SIGHUP reload (valid and
invalid config while two users chat), SIGUSR1 log reopen after a logrotate-style rename, --check-config,
every `ymsgd ctl` command (text and --json), kick and delete revoking at once, a backup taken while
users write and then restored, and abuse of the control socket.

usage: test_ops.py YMSGD [TEST...]"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ymsgd_harness import Client, Server, run_tests  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "web"))
from wsclient import ws_login  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


def befriend(a, b):
    """a adds b, b accepts (both online); both drained afterwards."""
    a.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, a.user), (302, "319"), (300, "319"), (7, b.user),
                  (334, "0"), (301, "319"), (303, "319")])
    a.expect(0x83)
    b.expect(0xD6)
    b.send(0xD6, [(1, b.user), (5, a.user), (13, "1"), (334, "0")])
    a.drain(0.5)
    b.drain(0.5)


def im(a, b, text):
    """a writes to b; returns the text b got (None when nothing came within 1 s)."""
    a.send(0x06, [(1, a.user), (5, b.user), (14, text), (97, "1")], status=0x5A55AA56)
    for p in b.drain(1.0):
        if p.service == 0x06:
            return p.get(14)
    return None


def ctl(srv, *args, timeout=60):
    """`ymsgd ctl ARGS` against srv; (exit status, stdout, stderr)."""
    r = subprocess.run(srv.base_args() + ["ctl"] + list(args), capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def ctl_json(srv, *args):
    rc, out, err = ctl(srv, "--json", *args)
    doc = json.loads(out)
    assert (rc == 0) == doc["ok"], (rc, out, err)
    return rc, doc


def write_conf(path, **knobs):
    with open(path, "w") as f:
        f.write("# written by test_ops.py\n")
        for k, v in knobs.items():
            f.write("%s = %s   # inline comment\n" % (k, v))


def wait_log(srv, text, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in srv.log_text():
            return True
        time.sleep(0.05)
    return False


def test_sighup_reload_while_chatting():
    """Before: SIGHUP killed ymsgd (exit 129).  Now: a valid new config is applied without dropping anyone
    (max_message shrinks and is enforced at once; a listen address change is only reported); an invalid
    one changes nothing and is logged; the process and both sessions live on."""
    d = tempfile.mkdtemp(prefix="ymsgd-ops-")
    conf = os.path.join(d, "ymsgd.conf")
    write_conf(conf, max_message=4096, session_rate=50)
    try:
        with Server(YMSGD, extra_args=["--config", conf]) as srv:
            srv.add_user("alice", "pw")
            srv.add_user("bob", "pw")
            a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
            befriend(a, b)
            assert im(a, b, "x" * 100) == "x" * 100
            # valid: max_message 100 -> 20, plus a knob that needs a restart
            write_conf(conf, max_message=20, session_rate=50, hash_threads=1)
            srv.proc.send_signal(1)
            assert wait_log(srv, "event=reloaded"), srv.log_text()[-2000:]
            assert srv.proc.poll() is None, "ymsgd died on SIGHUP (exit %s)" % srv.proc.returncode
            log = srv.log_text()
            assert 'event=config_changed code=0 msg="max_message: 4096 -> 20"' in log, log[-2000:]
            assert 'event=config_needs_restart code=0 msg="hash_threads: 2 -> 1 (the running value stays)"' in log
            assert im(a, b, "y" * 21) is None, "the new max_message is in force"
            assert im(b, a, "short") == "short", "both sessions still work"
            # invalid: refused, the running config (max_message 20) stays
            with open(conf, "a") as f:
                f.write("max_message = lots\n")
            srv.proc.send_signal(1)
            assert wait_log(srv, "event=reload_refused"), srv.log_text()[-2000:]
            assert srv.proc.poll() is None
            assert "max_message: expected an integer" in srv.log_text()
            assert im(a, b, "z" * 21) is None, "old (last valid) config kept"
            assert im(a, b, "z" * 20) == "z" * 20
            # the same through the control socket, with its report
            rc, out, err = ctl(srv, "reload")
            assert rc == 1 and "refused" in err and "max_message" in err, (rc, out, err)
            assert "warning" in err, "the CLI itself warns about the file it could not read"
            write_conf(conf, max_message=4096)
            rc, doc = ctl_json(srv, "reload")
            assert rc == 0 and "max_message" in doc["message"], doc
            assert im(a, b, "w" * 100) == "w" * 100
            assert not a.closed(0.2) and not b.closed(0.2), "no one was dropped"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def make_cert(d, name):
    if not shutil.which("openssl"):
        raise AssertionError("openssl (Debian package openssl) is needed to make the test certificates")
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=" + name], check=True,
                   capture_output=True, timeout=60)
    return key, crt


def served_cert(port):
    """DER of the certificate the HTTPS listener presents to a new connection."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def test_sighup_reloads_tls_certificate():
    """A certificate renewed in place (same paths) is served to new HTTPS connections after SIGHUP; a
    key that does not match the certificate is refused and the running certificate stays."""
    import ssl
    d = tempfile.mkdtemp(prefix="ymsgd-ops-")
    try:
        ka, ca = make_cert(d, "a.test")
        kb, cb = make_cert(d, "b.test")
        key, crt = os.path.join(d, "live.key"), os.path.join(d, "live.crt")
        shutil.copy(ka, key)
        shutil.copy(ca, crt)
        der = {n: ssl.PEM_cert_to_DER_cert(open(c).read()) for n, c in (("a", ca), ("b", cb))}
        from ymsgd_harness import free_port
        port = free_port()
        with Server(YMSGD, extra_args=["--tls-cert", crt, "--tls-key", key, "--https-listen",
                                       "127.0.0.1:%d" % port]) as srv:
            deadline = time.time() + 5
            while True:
                try:
                    first = served_cert(port)
                    break
                except OSError:
                    assert time.time() < deadline, "https listener not reachable"
                    time.sleep(0.05)
            assert first == der["a"]
            shutil.copy(kb, key)
            shutil.copy(cb, crt)
            srv.proc.send_signal(1)
            assert wait_log(srv, "event=tls_reloaded"), srv.log_text()[-1500:]
            assert served_cert(port) == der["b"], "the renewed certificate is served"
            shutil.copy(ka, key)                      # key of a, certificate of b: refused
            rc, out, err = ctl(srv, "reload")
            assert rc == 1 and "refused" in err, (rc, out, err)
            assert served_cert(port) == der["b"], "the running certificate stays"
            assert srv.proc.poll() is None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_log_file_reopen_after_rename():
    """--log-file writes there instead of stderr; after a logrotate-style rename, SIGUSR1 makes ymsgd
    write to a new file under the configured name, and the renamed one keeps the old lines."""
    d = tempfile.mkdtemp(prefix="ymsgd-ops-")
    path = os.path.join(d, "ymsgd.log")
    try:
        with Server(YMSGD, extra_args=["--log-file", path]) as srv:
            srv.add_user("alice", "pw")
            srv.login("alice", "pw")
            assert wait_log_file(path, "event=listening")
            assert "event=listening" not in srv.log_text(), "stderr gets no log lines"
            os.rename(path, path + ".1")
            srv.proc.send_signal(10)  # SIGUSR1
            assert wait_log_file(path, "event=log_reopened"), "a new file under the old name"
            srv.login("alice", "pw")
            assert wait_log_file(path, "user=alice"), open(path).read()
            old = open(path + ".1").read()
            assert "event=listening" in old and "log_reopened" not in old
            assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
            # a log file that cannot be opened on reopen: the old one stays in use, the error is logged
            os.rename(path, path + ".2")
            os.mkdir(path)
            srv.proc.send_signal(10)
            assert wait_log_file(path + ".2", "event=log_reopen_failed")
            assert srv.proc.poll() is None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def wait_log_file(path, text, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if text in open(path, errors="replace").read():
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def test_check_config():
    d = tempfile.mkdtemp(prefix="ymsgd-ops-")
    conf = os.path.join(d, "ymsgd.conf")
    try:
        def check(*args):
            r = subprocess.run([YMSGD, "--check-config"] + list(args), capture_output=True, timeout=30)
            return r.returncode, r.stdout.decode() + r.stderr.decode()
        write_conf(conf, data_dir=os.path.join(d, "data"), idle_timeout=30, amf_crossdomain='"a.example, *.b.example"')
        rc, out = check(conf)
        assert rc == 0 and "is valid" in out, out
        assert not os.path.exists(os.path.join(d, "data")), "checking creates nothing"
        with open(conf, "a") as f:
            f.write("idle_timeout = soon\n")
        rc, out = check(conf)
        assert rc == 1 and "configuration test failed" in out and "ymsgd.conf:5: idle_timeout" in out, out
        for bad, why in [("tls_cert = /nonexistent.pem", "HTTPS needs both"),
                         ("ymsg_listen = nowhere", "is not HOST:PORT"),
                         ("amf_crossdomain = <evil>", "not a host name"),
                         ("log_level = loud", "log_level must be"),
                         ("log_file = /nonexistent-dir/x.log", "log_file /nonexistent-dir/x.log"),
                         ("tls_cert = /nonexistent.pem\ntls_key = /nonexistent.key", "No such file")]:
            with open(conf, "w") as f:
                f.write(bad + "\n")
            rc, out = check(conf)
            assert rc == 1 and why in out, (bad, out)
        rc, out = check(os.path.join(d, "missing.conf"))
        assert rc == 1 and "No such file" in out, out
        rc, out = check("--idle-timeout", "5")          # no file: defaults and flags
        assert rc == 0 and "is valid" in out, out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_ctl_commands_end_to_end():
    """online, stats, broadcast, unlock, kick, ping, help, each in text and --json."""
    extra = ["--account-max-failures", "2", "--login-burst", "100", "--account-lock-time", "600"]
    with Server(YMSGD, extra_args=extra) as srv:
        for u in ("alice", "bob", "carol"):
            srv.add_user(u, "pw")
        a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
        befriend(a, b)
        befriend(b, a)
        # online
        rc, out, _ = ctl(srv, "online")
        assert rc == 0 and out.endswith("2 online\n"), out
        assert any(l.startswith("user=alice since=") and " transport=tcp" in l and "peer=127.0.0.1:" in l
                   for l in out.splitlines()), out
        rc, doc = ctl_json(srv, "online")
        users = {i["user"]: i for i in doc["items"]}
        assert set(users) == {"alice", "bob"} and users["bob"]["transport"] == "tcp", doc
        assert time.time() - time.mktime(time.strptime(users["alice"]["since"], "%Y-%m-%dT%H:%M:%SZ")) + \
            time.mktime(time.gmtime(0)) < 60, users
        # stats
        rc, doc = ctl_json(srv, "stats")
        st = {}
        for i in doc["items"]:
            st.update(i)
        assert st["online"] == 2 and st["online_tcp"] == 2 and st["pid"] == srv.proc.pid, st
        # broadcast: a system message (0x14, 5=user, 14=text) to every session
        rc, out, _ = ctl(srv, "broadcast", "Maintenance at 12:00 UTC, back soon")
        assert rc == 0 and "sent to 2 session(s)" in out, out
        for c in (a, b):
            p = c.expect(0x14, skip=(0x4B,))
            assert p.get(14) == "Maintenance at 12:00 UTC, back soon" and p.get(5) == c.user, p
        rc, doc = ctl_json(srv, "broadcast", "second, caf\u00e9 \U0001F600")
        for c in (a, b):
            assert c.expect(0x14, skip=(0x4B,)).get(14) == "second, caf\u00e9 \U0001F600"
        assert rc == 0 and doc["message"] == "sent to 2 session(s)", doc
        a.drain(0.3)
        b.drain(0.3)
        # unlock: carol locked out by failures, unlocked by the administrator
        for _ in range(2):
            assert srv.token("carol", "wrong") == "1212"
        assert srv.token("carol", "pw") == "1213", "locked"
        rc, out, _ = ctl(srv, "unlock", "carol")
        assert rc == 0 and "carol unlocked" in out, out
        assert srv.token("carol", "pw").startswith("0\r\n"), "the lock is gone"
        rc, doc = ctl_json(srv, "unlock", "carol")
        assert rc == 0 and "was not locked" in doc["message"], doc
        # kick: at once, like the real server's kick; the buddy sees a sign-off; logging in again works
        t0 = time.time()
        rc, out, _ = ctl(srv, "kick", "alice")
        assert rc == 0 and "kicked alice ymsg=1" in out, out
        kick = a.recv(3)
        assert kick is not None and kick.service == 0x02 and kick.status == 0xFFFFFFFF, kick
        assert a.closed(2) and time.time() - t0 < 3
        seen = b.drain(0.8)
        assert any(p.service == 0x02 and "alice" in p.all(7) for p in seen), seen
        rc, doc = ctl_json(srv, "kick", "alice")
        assert rc == 1 and "not online" in doc["message"], doc
        a = srv.login("alice", "pw")
        rc, doc = ctl_json(srv, "online")
        assert {i["user"] for i in doc["items"]} == {"alice", "bob"}
        # a WebSocket session is listed as such, counted, and gets broadcasts too
        w = ws_login(srv, "carol", "pw")
        rc, doc = ctl_json(srv, "online")
        users = {i["user"]: i for i in doc["items"]}
        assert users["carol"]["transport"] == "websocket" and users["alice"]["transport"] == "tcp", doc
        rc, doc = ctl_json(srv, "stats")
        st = {}
        for i in doc["items"]:
            st.update(i)
        assert st["online"] == 3 and st["online_websocket"] == 1 and st["online_tcp"] == 2, st
        assert ctl(srv, "broadcast", "to all three")[0] == 0
        assert w.expect(0x14, skip=(0x4B, 0xF0, 0x01, 0x02)).get(14) == "to all three"
        # ping, help
        assert ctl(srv, "ping")[1] == "pong\n"
        rc, doc = ctl_json(srv, "help")
        assert "broadcast TEXT" in doc["items"] and "backup FILE" in doc["items"], doc
        # no server on a data directory: exit 3 with a clear message
        empty = tempfile.mkdtemp(prefix="ymsgd-ops-")
        r = subprocess.run([YMSGD, "--data-dir", empty, "ctl", "--json", "online"], capture_output=True, timeout=30)
        shutil.rmtree(empty, ignore_errors=True)
        assert r.returncode == 3 and b"no ymsgd is running" in r.stderr, r
        assert json.loads(r.stdout)["ok"] is False


def test_delete_revokes_at_once():
    """`ymsgd user del` against a running server: the session ends at once (not at the next packet)."""
    with Server(YMSGD) as srv:
        srv.add_user("alice", "pw")
        srv.add_user("bob", "pw")
        a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
        befriend(a, b)
        t0 = time.time()
        r = subprocess.run(srv.base_args() + ["user", "del", "alice"], capture_output=True, timeout=30)
        assert r.returncode == 0 and b"revoked alice ymsg=1" in r.stdout, r
        kick = a.recv(3)
        assert kick is not None and kick.service == 0x02 and kick.status == 0xFFFFFFFF, kick
        assert a.closed(2) and time.time() - t0 < 5
        rc, doc = ctl_json(srv, "online")
        assert [i["user"] for i in doc["items"]] == ["bob"], doc


def test_backup_while_writing_then_restore():
    """A backup taken while two users keep writing (offline messages, buddy changes) is one consistent
    database: it passes SQLite's integrity check, and a server started on it has the accounts, the
    buddies and a prefix of the messages."""
    d = tempfile.mkdtemp(prefix="ymsgd-ops-")
    try:
        with Server(YMSGD, extra_args=["--offline-max", "1000000", "--offline-per-sender", "1000000",
                                       "--session-burst", "1000000"]) as srv:
            srv.add_user("alice", "pw")
            srv.add_user("bob", "pw")
            srv.add_user("carol", "pw")  # offline: her box fills while the backup runs
            a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
            befriend(a, b)
            stop = threading.Event()
            sent = [0]

            def writer():
                while not stop.is_set():
                    a.send(0x06, [(1, "alice"), (5, "carol"), (14, "m%d" % sent[0]), (97, "1")],
                           status=0x5A55AA56)
                    sent[0] += 1
                    time.sleep(0.005)
            t = threading.Thread(target=writer)
            t.start()
            try:
                time.sleep(0.3)
                backups = []
                for i in range(3):
                    rel = "backup-%d.db" % i
                    r = subprocess.run(srv.base_args() + ["ctl", "backup", rel], capture_output=True, timeout=120,
                                       cwd=d)
                    assert r.returncode == 0 and b"backup written to " + os.path.join(d, rel).encode() in r.stdout, r
                    backups.append(os.path.join(d, rel))
                    time.sleep(0.1)
            finally:
                stop.set()
                t.join()
            assert sent[0] > 20, sent
            assert oct(os.stat(backups[-1]).st_mode & 0o777) == oct(0o600)
            rc, doc = ctl_json(srv, "backup", "relative-in-server.db")  # --json also makes it absolute
            assert rc == 0 and doc["message"].startswith("backup written to /"), doc
            os.unlink(os.path.join(os.getcwd(), "relative-in-server.db"))
            assert "event=store_backup" in srv.log_text()
            assert not a.closed(0.1) and not b.closed(0.1)
        counts = []
        for path in backups:
            db = sqlite3.connect(path)
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            texts = [r[0] for r in db.execute("SELECT text FROM offline ORDER BY id")]
            db.close()
            # a prefix of what alice sent, in order, no gaps: one consistent moment
            assert texts == ["m%d" % i for i in range(len(texts))], texts[:5]
            counts.append(len(texts))
        assert counts == sorted(counts) and counts[-1] > 0, counts
        # restore (docs/ymsgd.8, BACKUP AND RESTORE): stop, put the file in place as ymsgd.db, start
        r2 = tempfile.mkdtemp(prefix="ymsgd-restore-")
        os.mkdir(os.path.join(r2, "data"), 0o700)
        shutil.copy(backups[-1], os.path.join(r2, "data", "ymsgd.db"))
        with Server(YMSGD, data_dir=r2) as srv2:
            assert "demo" not in srv2.log_text()
            c = srv2.login("carol", "pw")
            got = [m for p in c.login_burst + c.drain(1.5) if p.service == 0x06 for m in p.all(14)]
            assert got == ["m%d" % i for i in range(counts[-1])], (len(got), counts, got[:3])
            a2 = srv2.login("alice", "pw")
            assert any(p.service == 0xF1 and "bob" in str(p.pairs) for p in a2.login_burst), "buddies restored"
        shutil.rmtree(r2, ignore_errors=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def raw_ctl(srv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(os.path.join(srv.dir, "data", "ymsgd.ctl"))
    return s


def read_all(s, timeout=5):
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except (socket.timeout, OSError):
            return data
        if not d:
            return data
        data += d


def test_ctl_abuse():
    """A non-owner cannot connect (0600 socket in a 0700 directory); garbage, oversized and malformed
    requests get a clear error and change nothing (the sessions stay, nobody gets a broadcast)."""
    with Server(YMSGD, extra_args=["--ctl-max-line", "256", "--max-message", "100"]) as srv:
        srv.add_user("alice", "pw")
        srv.add_user("bob", "pw")
        a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
        befriend(a, b)
        sock = os.path.join(srv.dir, "data", "ymsgd.ctl")
        assert oct(os.stat(sock).st_mode & 0o777) == oct(0o600)
        if os.geteuid() == 0:
            # the real client, run as another user (nobody)
            r = subprocess.run([YMSGD, "--data-dir", os.path.join(srv.dir, "data"), "ctl", "online"], user=65534,
                               group=65534, extra_groups=[], capture_output=True, timeout=30)
            assert r.returncode == 3 and b"Permission denied" in r.stderr, r
        else:
            assert os.stat(sock).st_uid == os.geteuid()
        bad = [(b"broadcast hi\x01there\n", b"error control characters"),
               (b"broadcast " + b"x" * 200 + b"\n", b"error text too long"),
               (b"broadcast\n", b"error usage: broadcast TEXT"),
               (b"broadcast caf\xe9 latin-1\n", b"error the text is not valid UTF-8"),
               (b"broadcast \xed\xa0\x80 surrogate\n", b"error the text is not valid UTF-8"),
               (b"broadcast \xc0\xaf overlong\n", b"error the text is not valid UTF-8"),
               (b"kick\n", b"error usage: kick USER"),
               (b"kick Not/AName\n", b"error invalid id"),
               (b"unlock a b\n", b"error usage: unlock USER"),
               (b"backup relative.db\n", b"error the backup file must be an absolute path"),
               (b"backup /nonexistent-dir/x.db\n", b"error backup: /nonexistent-dir/x.db"),
               (b"\xff\xfe\x00garbage\n", b"error unknown command"),
               (b"online " + b"a " * 20 + b"\n", b"error too many words")]
        for req, want in bad:
            s = raw_ctl(srv)
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            got = read_all(s)
            assert got.startswith(want), (req[:40], got)
        s = raw_ctl(srv)
        try:
            s.sendall(b"broadcast " + b"y" * 5000 + b"\n")
        except OSError:
            pass
        assert read_all(s).startswith(b"error line too long")
        # the CLI refuses a line break inside an argument (it would be a second request)
        rc, out, err = ctl(srv, "broadcast", "hi\nkick alice")
        assert rc == 2 and "line breaks" in err, (rc, err)
        # nothing changed: no broadcast arrived, both online, chat works
        assert not [p for p in a.drain(0.5) + b.drain(0.2) if p.service == 0x14]
        rc, doc = ctl_json(srv, "online")
        assert {i["user"] for i in doc["items"]} == {"alice", "bob"}
        assert im(a, b, "still here") == "still here"


def test_emfile_admin_pauses_accepting():
    """Before: the control socket's listener had no accept guard, so with the process out of descriptors
    every pending ctl connection made accept() fail at once, again and again (CPU and log).  Now it
    pauses like the other listeners, and ctl works again once descriptors are free."""
    import resource
    from test_hostile import exhaust_fds
    with Server(YMSGD, extra_args=["--ctl-max-conns", "100"]) as srv:
        # the harness waits for the network listeners; the control socket may come a moment later
        deadline = time.time() + 10
        while ctl(srv, "ping")[1] != "pong\n":
            assert time.time() < deadline, "ymsgd.ctl never answered"
            time.sleep(0.1)
        socks, share, grown, soft = exhaust_fds(srv, lambda: raw_ctl(srv), n=14)
        print("figure emfile_admin_cpu_share %.3f" % share)
        assert "event=accept_paused" in srv.log_text() and "admin" in srv.log_text()
        assert share < 0.3, "ymsgd used %.0f%% CPU while out of descriptors" % (share * 100)
        assert grown < 4096, "log grew %d bytes in 2 s while out of descriptors" % grown
        for s in socks:
            s.close()
        resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE,
                         (soft, resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE)[1]))
        time.sleep(0.5)
        assert ctl(srv, "ping")[1] == "pong\n", "accepting resumed after the pause"


if __name__ == "__main__":
    run_tests([test_sighup_reload_while_chatting, test_sighup_reloads_tls_certificate, test_log_file_reopen_after_rename, test_check_config,
               test_ctl_commands_end_to_end, test_delete_revokes_at_once, test_backup_while_writing_then_restore,
               test_ctl_abuse, test_emfile_admin_pauses_accepting])
