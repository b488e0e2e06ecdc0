#!/usr/bin/env python3
"""Issue 9 item 8 end to end: `ymsgd user passwd|del NAME` (the offline CLI) against a running server
revokes every session of the user through the control socket (DATA_DIR/ymsgd.ctl): the YMSG session
is kicked and its buddies see a sign-off, AMF sessions end, outstanding tokens and Y/T cookies die.
Plus the control socket's abuse cases.

usage: test_revoke.py YMSGD [TEST...]"""
import http.client
import os
import socket
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import amfpy  # noqa: E402
from ymsgd_harness import Client, Server, resp307, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


def cli(srv, *args, stdin=b""):
    r = subprocess.run(srv.base_args() + list(args), input=stdin, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def befriend(srv, a, b):
    a.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, a.user), (302, "319"), (300, "319"), (7, b.user),
                  (334, "0"), (301, "319"), (303, "319")])
    a.expect(0x83)
    b.expect(0xD6)
    b.send(0xD6, [(1, b.user), (5, a.user), (13, "1"), (334, "0")])
    a.drain(0.5)
    b.drain(0.5)


class Amf:
    """Classic AMF client with the YMSGAMF cookie."""

    def __init__(self, port):
        self.port, self.cookie = port, None

    def call(self, target, *args):
        body = amfpy.packet([(target, "/1", amfpy.encode0(list(args)))])
        h = {"Content-Type": "application/x-amf"}
        if self.cookie:
            h["Cookie"] = "YMSGAMF=" + self.cookie
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request("POST", "/api.php", body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        sc = r.getheader("Set-Cookie")
        if sc and sc.startswith("YMSGAMF="):
            self.cookie = sc.split(";")[0].split("=", 1)[1]
        _, _, bodies = amfpy.parse_packet(data)
        t, _, v, _ = bodies[0]
        return t == "/1/onResult", v


def signoff_seen_by(srv, watcher, who_client):
    """The packets watcher gets when who_client's session ends (whatever ended it)."""
    got = watcher.drain(0.8)
    return [(p.service, p.status, p.pairs) for p in got]


def test_del_kicks_online_user_like_a_signoff():
    """Before: `user del` of an online user left them chatting and visible."""
    with Server(YMSGD) as srv:
        for u in ("alice", "bob", "carol"):
            srv.add_user(u, "pw")
        a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
        befriend(srv, a, b)
        befriend(srv, b, a)
        # reference: what bob sees when alice signs off herself
        a.send(0x02, [(0, "alice")])
        ref = signoff_seen_by(srv, b, a)
        assert ref and ref[0][0] == 0x02, ref
        a = srv.login("alice", "pw")
        b.drain(0.8)
        rc, out = cli(srv, "user", "del", "alice")
        assert rc == 0, out
        assert "revoked alice ymsg=1" in out, out
        kick = a.recv(3)
        assert kick is not None and kick.service == 0x02 and kick.status == 0xFFFFFFFF, kick
        assert a.closed(3), "alice's connection is closed"
        seen = signoff_seen_by(srv, b, a)
        assert seen == ref, (seen, ref)            # exactly as a sign-off
        # and alice cannot come back
        assert srv.token("alice", "pw") == "1212"
        assert "event=revoke" in srv.log_text()


def test_passwd_revokes_every_session():
    """Before: an AMF session survived `user passwd` (and `user del`), as did tokens and cookies."""
    with Server(YMSGD) as srv:
        srv.add_user("alice", "old")
        srv.add_user("bob", "pw")
        a = srv.login("alice", "old")
        amf = Amf(srv.http_port)
        ok, v = amf.call("Phonebook.login", "alice", "old")
        assert ok and v is True, v
        assert amf.call("Phonebook.sync")[0]
        tok = srv.token("alice", "old").split("\r\n")[1].split("=", 1)[1]          # not redeemed yet
        tok2 = srv.token("alice", "old").split("\r\n")[1].split("=", 1)[1]
        code, f, _ = srv.cookies(tok2)                                            # cookies not used yet
        assert code == "0"
        rc, out = cli(srv, "user", "passwd", "alice", stdin=b"new\n")
        assert rc == 0, out
        assert "revoked alice ymsg=1 amf=1 tokens=1 cookies=1" in out, out
        assert a.closed(3)
        ok, v = amf.call("Phonebook.sync")
        assert not ok and "not logged in" in v["faultString"], v
        code, _, _ = srv.cookies(tok)
        assert code == "100", "the outstanding token is dead"
        c = Client(srv.ymsg_port)
        c.send(0x57, [(1, "alice")])
        chal = c.expect(0x57).get(94)
        c.send(0x54, [(1, "alice"), (0, "alice"), (277, f["Y"]), (278, f["T"]), (307, resp307(f["crumb"], chal))])
        assert c.expect(0x54).get(66) == "13", "the Y/T cookies are dead"
        assert srv.token("alice", "old") == "1212"
        srv.login("alice", "new")                                                 # the new password works
        assert Amf(srv.http_port).call("Phonebook.login", "alice", "new")[0]


def test_cli_without_a_running_server():
    """No server: the store change is enough (no error); a stale socket file from a killed server is
    ignored by the CLI and replaced by the next start."""
    with Server(YMSGD) as srv:
        srv.add_user("alice", "pw")
        sock = os.path.join(srv.dir, "data", "ymsgd.ctl")
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600, oct(os.stat(sock).st_mode)
        srv.proc.kill()                                   # no clean exit: the socket file stays
        srv.proc.wait()
        assert os.path.exists(sock)
        rc, out = cli(srv, "user", "passwd", "alice", stdin=b"pw2\n")
        assert rc == 0 and "revoked" not in out, out
        srv.start()
        assert srv.token("alice", "pw2").startswith("0\r\n")
        rc, out = cli(srv, "user", "passwd", "alice", stdin=b"pw3\n")
        assert rc == 0 and "revoked alice" in out, out


def ctl(srv):
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
        except socket.timeout:
            return data, False
        except OSError:
            return data, True
        if not d:
            return data, True
        data += d


def test_control_socket_abuse():
    """A line that never ends, a huge line, too many connections, unknown commands: each gets a clear
    answer or is closed, memory stays bounded, and the server (and a chat) goes on."""
    with Server(YMSGD, extra_args=["--ctl-idle-timeout", "1", "--ctl-max-conns", "4", "--ctl-max-line", "256"]) as srv:
        srv.add_user("alice", "pw")
        srv.add_user("bob", "pw")
        a, b = srv.login("alice", "pw"), srv.login("bob", "pw")
        befriend(srv, a, b)
        # no newline: closed after the idle timeout
        s = ctl(srv)
        s.sendall(b"revoke ali")
        t0 = time.time()
        data, closed = read_all(s, 4)
        assert closed and time.time() - t0 < 3.5 and data == b"", (data, closed)
        # a huge line: refused at the limit, connection closed
        s = ctl(srv)
        try:
            s.sendall(b"x" * 1000000)
        except OSError:
            pass
        data, closed = read_all(s)
        assert closed and data.startswith(b"error line too long"), data
        # too many connections: the extra one is told and closed; the others still work
        held = [ctl(srv) for _ in range(4)]
        time.sleep(0.2)
        extra = ctl(srv)
        data, closed = read_all(extra)
        assert closed and data == b"error busy\n", data
        held[0].sendall(b"ping\n")
        assert held[0].recv(100) == b"ok pong\n"
        for h in held:
            h.close()
        time.sleep(0.2)
        # unknown command, bad usage, several requests on one connection, help
        s = ctl(srv)
        s.sendall(b"frobnicate \x01\x02\nrevoke\nrevoke Bad!Name\nhelp\nping\n")
        s.shutdown(socket.SHUT_WR)
        data, closed = read_all(s)
        lines = data.decode().split("\n")
        assert lines[0] == "error unknown command frobnicate (try help)", lines
        assert lines[1] == "error usage: revoke USER" and lines[2] == "error invalid id", lines
        assert "- revoke USER" in lines and lines[-2] == "ok pong" and closed, lines
        # the chat was never disturbed
        a.send(0x06, [(1, "alice"), (5, "bob"), (14, "still here")])
        assert b.expect(0x06, skip=(0x4B,)).get(14) == "still here"


if __name__ == "__main__":
    run_tests([test_del_kicks_online_user_like_a_signoff, test_passwd_revokes_every_session,
               test_cli_without_a_running_server, test_control_socket_abuse])
