#!/usr/bin/env python3
"""YMSG over WebSocket (server/http/ws.c) against the real ymsgd: handshake errors, framing
(fragmented, masked, 1-byte, ping), refusals with their close codes (unmasked, oversized, text,
invalid UTF-8), close mid-packet, a reader that never reads, and sessions that are ordinary pager
sessions (chat with a TCP user over ws:// and wss://, duplicate login kicked across transports),
each time checking that other sessions are unaffected.  Usage: test_ws.py YMSGD [TEST...]"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsclient import WsClient, encode, frame, open_ws, ws_login  # noqa: E402
from ymsgd_harness import Server, free_port, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
IM = 0x06


def befriend(a, b):
    a.send(0x83, [(14, "hi"), (65, "Friends"), (97, "1"), (1, a.user), (7, b.user)])
    assert a.expect(0x83).get(66) == "0"
    b.expect(0xD6)
    b.send(0xD6, [(1, b.user), (5, a.user), (13, "1"), (334, "0")])
    a.expect(0xD6)
    a.expect(0xF0)


def still_serving(srv):
    """A fresh TCP login works and answers a keepalive: nothing else was affected."""
    c = srv.login("carol", "pw-carol")
    c.send(0x8A, [(0, "carol")])
    c.expect(0x8A)
    c.close()


def server(extra=()):
    srv = Server(YMSGD, list(extra))
    for u in ("alice", "bob", "carol"):
        srv.add_user(u, "pw-" + u)
    return srv


def test_handshake_errors():
    with server(["--ws-origins", "https://app.example.com"]) as srv:
        p = srv.http_port
        cases = [({"Upgrade": None}, 426), ({"Sec-WebSocket-Version": "8"}, 426), ({"Sec-WebSocket-Key": "short"}, 400),
                 ({"Sec-WebSocket-Key": None}, 400), ({"Sec-WebSocket-Protocol": None}, 400),
                 ({"Sec-WebSocket-Protocol": "chat, superchat"}, 400), ({"Connection": "keep-alive"}, 400),
                 ({"Origin": "http://evil.example"}, 403), ({"Origin": "http://127.0.0.1:1"}, 403)]
        for hdrs, want in cases:
            status, h, s, _ = open_ws(p, hdrs)
            s.close()
            assert status == want, (hdrs, status, h)
            if want == 426 and "Sec-WebSocket-Version" in hdrs:
                assert h.get("sec-websocket-version") == "13", h
        for origin in ("http://127.0.0.1:%d" % p, "https://app.example.com", None):
            status, h, s, _ = open_ws(p, {"Origin": origin})
            s.close()
            assert status == 101, (origin, status, h)
        assert "ws_refused" in srv.log_text()
        still_serving(srv)


def test_login_and_chat_with_a_tcp_user():
    with server() as srv:
        a = ws_login(srv, "alice", "pw-alice")
        b = srv.login("bob", "pw-bob")
        befriend(a, b)
        befriend(b, a)
        text = "héllo 😀 from the web"
        a.send(IM, [(1, "alice"), (5, "bob"), (14, text), (97, "1")])
        m = b.expect(IM)
        assert m.get(4) == "alice" and m.get(14) == text, m
        b.send(IM, [(1, "bob"), (5, "alice"), (14, "ünïcödé ✓"), (97, "1")])
        assert a.expect(IM).get(14) == "ünïcödé ✓"
        a.send(0x02, [(0, "alice")])
        assert a.wait_close() == 1000
        assert b.expect(0x02).pairs == [(7, b"alice")]


class tls_server:
    """ymsgd with an HTTPS listener on a throw-away certificate; yields (srv, https_port)."""

    def __init__(self):
        if not shutil.which("openssl"):
            raise AssertionError("openssl (Debian package openssl) is needed to make the test certificate")
        self.dir = tempfile.mkdtemp(prefix="ymsgd-wss-")
        key, crt = os.path.join(self.dir, "k.pem"), os.path.join(self.dir, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
        self.port = free_port()
        self.srv = server(["--tls-cert", crt, "--tls-key", key, "--https-listen", "127.0.0.1:%d" % self.port])

    def client(self):
        deadline = time.time() + 10  # the harness waits for the HTTP port; HTTPS opens right after
        while True:
            try:
                return WsClient(self.port, tls=True)
            except ConnectionRefusedError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self):
        self.srv.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            self.srv.__exit__(*exc)  # the harness's checks: clean exit, no sanitizer report
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def test_wss_on_the_https_listener():
    """The same session over TLS (the socket stays with evhttp's TLS bufferevent there)."""
    with tls_server() as t:
        srv = t.srv
        wc = t.client()
        a = ws_login(srv, "alice", "pw-alice", client=wc)
        b = srv.login("bob", "pw-bob")
        befriend(a, b)
        befriend(b, a)
        a.send(IM, [(1, "alice"), (5, "bob"), (14, "over wss ✓"), (97, "1")])
        assert b.expect(IM).get(14) == "over wss ✓"
        b.send(IM, [(1, "bob"), (5, "alice"), (14, "x" * 3000), (97, "1")])
        assert a.expect(IM).get(14) == "x" * 3000
        a.send(0x02, [(0, "alice")])
        assert a.wait_close() == 1000
        assert b.expect(0x02).pairs == [(7, b"alice")]
        still_serving(srv)


def test_fragments_joins_and_one_byte_frames():
    with server() as srv:
        a = WsClient(srv.http_port)
        hello = encode(0x57, [(1, "alice")])
        # one packet split over a fragmented message (binary + 2 continuations), masked
        a.send_frame(frame(0x2, hello[:5], fin=False) + frame(0x0, hello[5:11], fin=False) + frame(0x0, hello[11:]))
        assert a.expect(0x57).get(94)
        # two packets in one message, then a packet in 1-byte messages
        ka = encode(0x8A, [(0, "alice")])
        a.send_frame(frame(0x2, ka + ka))
        for i in range(len(ka)):
            a.send_frame(frame(0x2, ka[i:i + 1]))
        # a ping between the bytes of a fragmented message is answered with the same payload
        a.send_frame(frame(0x2, ka[:3], fin=False) + frame(0x9, b"are you there") + frame(0x0, ka[3:]))
        time.sleep(0.5)
        a.drain(0.3)
        assert a.pongs == [b"are you there"], a.pongs
        still_serving(srv)


def refused(srv, data, code, **kw):
    a = WsClient(srv.http_port, **kw)
    a.send_frame(data)
    got = a.wait_close(5)
    assert got == code, "expected close %d, got %r" % (code, got)


def test_refusals_have_clear_close_codes():
    with server(["--ws-max-frame", "1024", "--ws-max-message", "4096"]) as srv:
        hello = encode(0x57, [(1, "alice")])
        refused(srv, frame(0x2, hello, mask=False), 1002)                      # unmasked client frame
        refused(srv, frame(0x2, b"x" * 2000), 1009)                            # frame over --ws-max-frame
        refused(srv, b"".join(frame(0x2 if i == 0 else 0x0, b"y" * 1000, fin=False) for i in range(5)), 1009)
        refused(srv, frame(0x1, b"\xc3\x28 bad utf-8"), 1007)                 # invalid UTF-8 text
        refused(srv, frame(0x1, "valid text 😀".encode()), 1003)              # text: binary only
        refused(srv, frame(0x2, hello, rsv=4), 1002)                           # reserved bit, no extension
        refused(srv, frame(0x9, b"p" * 200), 1002)                             # control frame > 125 bytes
        refused(srv, frame(0x0, b"orphan continuation"), 1002)
        assert "ws_close" in srv.log_text()
        # packets the client has not read yet (a small window), the close frame behind them, and input crossing
        # the close: it made the kernel reset the connection, which threw away what was not sent yet (the close
        # frame with it); now every packet and the code arrive, and the stream ends with a FIN (core/linger.c)
        b = srv.login("bob", "pw-bob")
        a = ws_login(srv, "alice", "pw-alice", client=WsClient(srv.http_port, rcvbuf=4096))
        befriend(b, a)
        for i in range(8):
            b.send(IM, [(1, "bob"), (5, "alice"), (14, "%02d" % i + "y" * 1500), (97, "1")])
        b.send(0x8A, [(0, "bob")])
        b.expect(0x8A, skip=(0xF0,))                                        # the IMs are in alice's queue
        a.send_frame(frame(0x1, b"text"))                                   # refused: 1003
        time.sleep(0.3)                                                     # closed on the server by now
        a.send_frame(frame(0x9, b"still here?"))
        how = None
        a.sock.settimeout(3)
        while how is None:
            try:
                d = a.sock.recv(65536)
            except OSError as e:
                how = "reset: %s" % e
                break
            how = None if d else "end"
            a.wbuf += d
        a._frames()
        ims = []
        while len(a.buf) >= 20:
            p = a.recv(0.01)
            if p and p.service == IM:
                ims.append(p.get(14)[:2])
        assert (ims, a.close_code, how) == (["%02d" % i for i in range(8)], 1003, "end"), (ims, a.close_code, how)
        still_serving(srv)


def test_close_mid_packet():
    with server() as srv:
        b = srv.login("bob", "pw-bob")
        a = ws_login(srv, "alice", "pw-alice")
        befriend(b, a)
        half = encode(IM, [(1, "alice"), (5, "bob"), (14, "never finished")])
        a.send_raw(half[:25])
        a.send_frame(frame(0x8, struct.pack("!H", 1000) + b"bye"))
        assert a.wait_close() == 1000
        off = b.expect(0x02, skip=(0xF0,))
        assert off.pairs == [(7, b"alice")]
        assert b.drain(0.3) == []          # the half packet went nowhere
        still_serving(srv)


def test_reader_that_never_reads_is_dropped():
    with server(["--out-cap", "8192", "--session-rate", "100000", "--session-burst", "100000"]) as srv:
        a = ws_login(srv, "alice", "pw-alice", client=WsClient(srv.http_port, rcvbuf=4096))
        b = srv.login("bob", "pw-bob")
        befriend(b, a)
        # alice stops reading; bob floods her until the server gives up on her
        text = "z" * 4000
        deadline = time.time() + 30
        while "slow_reader" not in srv.log_text() and time.time() < deadline:
            for _ in range(50):
                b.send(IM, [(1, "bob"), (5, "alice"), (14, text)])
            time.sleep(0.05)
        assert "slow_reader" in srv.log_text(), "the server kept queueing for a reader that never reads"
        b.drain(0.5)
        b.send(0x8A, [(0, "bob")])
        b.expect(0x8A, skip=(0x02, 0xF0))
        still_serving(srv)


def test_duplicate_login_across_transports():
    with server() as srv:
        a = ws_login(srv, "alice", "pw-alice")
        t = srv.login("alice", "pw-alice")            # the same account over TCP kicks the WebSocket one
        kick = a.expect(0x02)
        assert kick.status == 0xFFFFFFFF and kick.pairs == [(66, b"42")], kick
        assert a.wait_close() in (1000, 1001)
        w = ws_login(srv, "alice", "pw-alice")        # and back: the TCP one is kicked
        k2 = t.expect(0x02)
        assert k2.status == 0xFFFFFFFF
        assert t.closed()
        w.send(0x8A, [(0, "alice")])
        w.expect(0x8A)


def test_idle_longer_than_http_timeout():
    """The socket evhttp gave up keeps no HTTP idle timeout: only the pager's idle timeout applies."""
    with server(["--http-timeout", "1"]) as srv:
        a = ws_login(srv, "alice", "pw-alice")
        time.sleep(3.5)
        a.send(0x8A, [(0, "alice")])
        a.expect(0x8A)


def test_server_stop_sends_going_away():
    srv = server()
    srv.start()
    try:
        a = ws_login(srv, "alice", "pw-alice")
        assert srv.stop() == 0
        assert a.wait_close() == 1001  # written before the socket goes, however soon the loop ends
    finally:
        srv.stop()


def test_wss_server_stop_sends_going_away():
    """The TLS socket stays with evhttp: stopping the HTTP listeners must not take it before its close frame."""
    with tls_server() as t:
        a = ws_login(t.srv, "alice", "pw-alice", client=t.client())
        b = ws_login(t.srv, "bob", "pw-bob", client=t.client())
        assert t.srv.stop() == 0
        assert a.wait_close() == 1001
        assert b.wait_close() == 1001


if __name__ == "__main__":
    run_tests([test_handshake_errors, test_login_and_chat_with_a_tcp_user, test_wss_on_the_https_listener,
               test_fragments_joins_and_one_byte_frames,
               test_refusals_have_clear_close_codes, test_close_mid_packet, test_reader_that_never_reads_is_dropped,
               test_duplicate_login_across_transports, test_idle_longer_than_http_timeout,
               test_server_stop_sends_going_away, test_wss_server_stop_sends_going_away])
