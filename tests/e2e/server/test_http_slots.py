#!/usr/bin/env python3
"""The HTTP(S) listener's per-address slots come back at RUN TIME, whatever way a connection ends
(usage: test_http_slots.py YMSGD [TEST...]).

http.c counts open connections per source address (http_max_conns_per_addr) in a guard that its
close callback releases.  With a cap of N, each way of ending is repeated more than N times, one after
the other; then N connections must still be admitted at once (and the N+1th refused, so the cap is
live).  A path that loses its slot fills the address within one round and the check fails naming it."""
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_hostile import sock_closed as wait_closed  # noqa: E402
from ymsgd_harness import Server, free_port, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
CAP = 3                     # http_max_conns_per_addr in these tests
ROUNDS = CAP + 2            # each ending, more often than the cap
GET = b"GET /capacity HTTP/1.1\r\nHost: x\r\n\r\n"


def rst_close(s):
    """Closes with a RST instead of a FIN (SO_LINGER 0)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_reply(s, timeout=5.0):
    """One HTTP reply: returns its head, reads its body (Content-Length or chunked) off the socket."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return data
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    n, chunked = 0, False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
        if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
            chunked = True
    while (not body.endswith(b"0\r\n\r\n")) if chunked else len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return head




class Slots:
    """ymsgd with HTTP and HTTPS listeners, a per-address cap of CAP and short timeouts."""

    def __enter__(self):
        if not shutil.which("openssl"):
            raise AssertionError("openssl (Debian package openssl) is needed to make the test certificate")
        self.dir = tempfile.mkdtemp(prefix="ymsgd-slots-")
        self.key, self.crt = os.path.join(self.dir, "k.pem"), os.path.join(self.dir, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out",
                        self.crt, "-days", "1", "-subj", "/CN=login.yahoo.com"], check=True, capture_output=True,
                       timeout=60)
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "assets"))               # static.c serves a root with assets/
        with open(os.path.join(www, "index.html"), "wb") as f:   # a reply too big to go out at once
            f.write(b"<!-- big -->" + b"x" * (4 << 20))
        self.tls_port = free_port()
        self.srv = Server(YMSGD, extra_args=[
            "--tls-cert", self.crt, "--tls-key", self.key, "--https-listen", "127.0.0.1:%d" % self.tls_port,
            "--http-max-conns-per-addr", str(CAP), "--http-max-conns", "1000", "--http-head-timeout", "1",
            "--http-timeout", "1", "--web-root", www])
        self.srv.__enter__()
        self.port = self.srv.http_port
        self.srv.add_user("alice", "secret")
        # a costly hash (128 MiB, several passes): its check outlasts the client, which goes 50 ms in
        r = subprocess.run([YMSGD, "--data-dir", os.path.join(self.srv.dir, "data"), "--pwhash-opslimit", "5",
                            "--pwhash-memlimit", "131072", "user", "add", "slow"], input=b"secret\n",
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return self

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def plain(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def tls(self):
        ctx = ssl.create_default_context(cafile=self.crt)
        ctx.check_hostname = False
        return ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port), timeout=5),
                               server_hostname="login.yahoo.com")

    def admits_cap(self, what, timeout=4.0):
        """CAP connections at once get their replies, the next one is refused.  The server frees a
        connection a moment after the client's close: retried until timeout."""
        deadline = time.time() + timeout
        while True:
            held, ok = [], 0
            try:
                for _ in range(CAP):
                    s = self.plain()
                    held.append(s)
                    s.sendall(GET)
                    if b" 200 " in read_reply(s):
                        ok += 1
                extra = self.plain()
                refused = wait_closed(extra, 1.0)
                extra.close()
            finally:
                for s in held:
                    s.close()
            if ok == CAP and refused:
                return
            if time.time() >= deadline:
                raise AssertionError("after %d x %s: %d of %d connections admitted (slots leaked), extra %s"
                                     % (ROUNDS, what, ok, CAP, "refused" if refused else "ADMITTED (no cap?)"))
            time.sleep(0.2)


# ---- the ways a connection ends -------------------------------------------------------------------------

def end_rst_mid_head(t):
    s = t.plain()
    s.sendall(b"GET /capacity HTTP/1.1\r\nHo")
    time.sleep(0.05)
    rst_close(s)


def end_fin_mid_head(t):
    s = t.plain()
    s.sendall(b"GET /capacity HTTP/1.1\r\nHo")
    s.shutdown(socket.SHUT_WR)
    wait_closed(s, 3)
    s.close()


def end_head_timeout(t):
    s = t.plain()
    s.sendall(b"GET /capacity HTTP/1.1\r\n")
    assert wait_closed(s, 4), "the head deadline did not close the connection"
    s.close()


def requests(s, n):
    """n keep-alive requests on s, each answered 200; returns s."""
    for _ in range(n):
        s.sendall(GET)
        assert b" 200 " in read_reply(s)
    return s


def end_keepalive(t):
    requests(t.plain(), 3).close()


def end_idle_timeout(t):
    s = requests(t.plain(), 1)
    assert wait_closed(s, 5), "an idle keep-alive connection was not closed by http_timeout"
    s.close()


def end_reply_cut(t):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", t.port))
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5)
    assert b" 200 " in s.recv(100), "no 200 reply began"
    time.sleep(0.1)                      # the server is stuck in the middle of the reply
    rst_close(s)


def end_bad_framing(t):
    s = t.plain()
    s.sendall(b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    assert b" 400 " in read_reply(s)
    wait_closed(s, 3)
    s.close()


def end_tls_plaintext(t):
    """A TLS handshake failure: HTTP in clear on the HTTPS port."""
    s = socket.create_connection(("127.0.0.1", t.tls_port), timeout=5)
    s.sendall(GET)
    wait_closed(s, 3)
    s.close()


def end_tls_rst_mid_handshake(t):
    s = socket.create_connection(("127.0.0.1", t.tls_port), timeout=5)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")   # the start of a ClientHello
    time.sleep(0.05)
    rst_close(s)


def end_tls_keepalive(t):
    requests(t.tls(), 2).close()


def end_tls_rst_after_reply(t):
    rst_close(requests(t.tls(), 1))


def end_tls_idle(t):
    """TCP connected, no ClientHello: the head deadline."""
    s = socket.create_connection(("127.0.0.1", t.tls_port), timeout=5)
    assert wait_closed(s, 4), "a silent HTTPS connection was not closed"
    s.close()


def end_rst_while_hashing(t):
    """The client goes while its password check runs on a hash worker (the request is held)."""
    s = t.plain()
    s.sendall(b"GET /config/pwtoken_get?src=ymsgr&ts=&login=slow&passwd=secret&chal=x HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.05)
    rst_close(s)


def end_amf_login_rst(t):
    """The same on the AMF gateway (its own hash workers): an AMF0 login call, then a RST while the
    password check runs (before the fix, the gateway's wait replaced the guard's close callback and
    the slot was never given back)."""
    s = t.plain()
    s.sendall(b"POST /api.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amf\r\nContent-Length: %d\r\n\r\n"
              % len(AMF_LOGIN) + AMF_LOGIN)
    time.sleep(0.05)                     # the request is in, its password check has begun
    rst_close(s)


def end_oversize_body(t):
    s = t.plain()
    s.sendall(b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n\r\n" + b"a" * 1000)
    read_reply(s)
    s.close()


def end_ws_takeover(t):
    """A WebSocket upgrade (http_takeover: the connection leaves evhttp), then a RST."""
    s = t.plain()
    s.sendall(b"GET /ymsg HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Protocol: ymsg\r\n\r\n" % t.port)
    assert b" 101 " in read_reply(s), "no WebSocket upgrade"
    rst_close(s)


def amf0_login():
    """An AMF0 envelope: one body calling Phonebook.sync with a Credentials header (slow/secret)."""
    def s16(b):
        return struct.pack(">H", len(b)) + b
    def astr(b):
        return b"\x02" + s16(b)
    cred = (b"\x03" + s16(b"userid") + astr(b"slow") + s16(b"password") + astr(b"secret") + b"\x00\x00\x09")
    hdr = s16(b"Credentials") + b"\x00" + struct.pack(">I", len(cred)) + cred
    arg = b"\x0a" + struct.pack(">I", 0)
    body = s16(b"Phonebook.sync") + s16(b"/1") + struct.pack(">I", len(arg)) + arg
    return b"\x00\x00" + b"\x00\x01" + hdr + b"\x00\x01" + body


AMF_LOGIN = amf0_login()


ENDINGS = [end_rst_mid_head, end_fin_mid_head, end_head_timeout, end_keepalive, end_idle_timeout, end_reply_cut,
           end_bad_framing, end_tls_plaintext, end_tls_rst_mid_handshake, end_tls_keepalive,
           end_tls_rst_after_reply, end_tls_idle, end_rst_while_hashing, end_amf_login_rst, end_oversize_body,
           end_ws_takeover]
SLOW = {end_head_timeout, end_idle_timeout, end_tls_idle}   # these wait for a server timeout: run at once


def run_endings(t, endings):
    for end in endings:
        if end in SLOW:
            # CAP at a time (the waits overlap), ROUNDS in all
            done = 0
            while done < ROUNDS:
                n = min(CAP, ROUNDS - done)
                errs = []

                def one():
                    try:
                        end(t)
                    except Exception as e:    # noqa: BLE001 (re-raised below, in the test's thread)
                        errs.append(e)
                th = [threading.Thread(target=one) for _ in range(n)]
                for x in th:
                    x.start()
                for x in th:
                    x.join()
                if errs:
                    raise errs[0]
                done += n
        else:
            for _ in range(ROUNDS):
                end(t)
        t.admits_cap(end.__name__[4:])
        print("  %-26s x%d: %d slots still admitted" % (end.__name__[4:], ROUNDS, CAP))
        sys.stdout.flush()


def test_every_ending_gives_its_slot_back():
    with Slots() as t:
        t.admits_cap("nothing")                       # the cap is live to begin with
        run_endings(t, ENDINGS)
        # and all of them interleaved, twice over
        for _ in range(2):
            for end in ENDINGS:
                if end not in SLOW:
                    end(t)
        t.admits_cap("the endings interleaved")


if __name__ == "__main__":
    run_tests([test_every_ending_gives_its_slot_back])
