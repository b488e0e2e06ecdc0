#!/usr/bin/env python3
"""TLS close: every HTTPS reply ends with a close_notify before the FIN (usage: test_tls_close.py YMSGD [TEST...]).

Clients that read a reply to the end of the stream (libpurple 2.10.9 over GnuTLS) treat a FIN without
close_notify as truncation.  Python's ssl with suppress_ragged_eofs=False does the same: recv() raises
SSLEOFError instead of returning b"".
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Server, free_port, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


class TlsServer:
    """ymsgd with an HTTPS listener and a throw-away self-signed certificate."""

    def __enter__(self):
        if not shutil.which("openssl"):
            raise AssertionError("openssl (Debian package openssl) is needed to make the test certificate")
        self.dir = tempfile.mkdtemp(prefix="ymsgd-tls-")
        self.key, self.crt = os.path.join(self.dir, "k.pem"), os.path.join(self.dir, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out",
                        self.crt, "-days", "1", "-subj", "/CN=login.yahoo.com"], check=True, capture_output=True,
                       timeout=60)
        self.port = free_port()
        self.srv = Server(YMSGD, extra_args=["--tls-cert", self.crt, "--tls-key", self.key,
                                             "--https-listen", "127.0.0.1:%d" % self.port])
        self.srv.__enter__()
        self.srv.add_user("alice", "secret")
        return self

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self):
        ctx = ssl.create_default_context(cafile=self.crt)
        ctx.check_hostname = False
        deadline = time.time() + 5
        while True:
            try:
                raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                break
            except OSError:
                assert time.time() < deadline, "https listener not reachable"
                time.sleep(0.05)
        # suppress_ragged_eofs=False: a FIN without close_notify raises instead of looking like EOF
        return ctx.wrap_socket(raw, server_hostname="login.yahoo.com", suppress_ragged_eofs=False)


def read_to_eof(s):
    """Everything up to the server's close; fails when the close carries no close_notify."""
    data = b""
    while True:
        try:
            x = s.recv(65536)
        except ssl.SSLEOFError as e:
            raise AssertionError("TLS closed without close_notify after %d bytes: %s\n%r" % (len(data), e, data))
        if not x:
            return data
        data += x


PWTOKEN = b"/config/pwtoken_get?src=ymsgr&ts=&login=alice&passwd=secret&chal=x"


def test_close_notify_http11_chunked():
    """libpurple's request: absolute form, HTTP/1.1 (chunked reply), read to the end of the stream."""
    with TlsServer() as t:
        s = t.connect()
        s.sendall(b"GET https://login.yahoo.com" + PWTOKEN + b" HTTP/1.1\r\nHost: login.yahoo.com\r\n"
                  b"Connection: close\r\n\r\n")
        data = read_to_eof(s)
        assert data.startswith(b"HTTP/1.1 200") and b"\r\n0\r\nymsgr=" in data and data.endswith(b"0\r\n\r\n"), data
        s.close()


def test_close_notify_http10_and_errors():
    """HTTP/1.0 (Content-Length), a 404 from our dispatcher and a 400 evhttp answers itself."""
    with TlsServer() as t:
        s = t.connect()
        s.sendall(b"GET " + PWTOKEN + b" HTTP/1.0\r\nHost: login.yahoo.com\r\n\r\n")
        data = read_to_eof(s)
        assert data.startswith(b"HTTP/1.0 200") and b"ymsgr=" in data, data
        s = t.connect()
        s.sendall(b"GET /no/such/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_to_eof(s)
        assert data.startswith(b"HTTP/1.1 404"), data
        s = t.connect()
        s.sendall(b"NONSENSE\r\n\r\n")
        data = read_to_eof(s)
        assert data.startswith(b"HTTP/1.1 400"), data


def test_close_notify_after_keepalive():
    """Two requests on one connection; the second asks to close: the close still carries close_notify."""
    with TlsServer() as t:
        s = t.connect()
        s.sendall(b"GET " + PWTOKEN + b" HTTP/1.1\r\nHost: login.yahoo.com\r\n\r\n")
        first = b""
        while not first.endswith(b"0\r\n\r\n"):
            x = s.recv(65536)
            assert x, "server closed a keep-alive connection: %r" % first
            first += x
        s.sendall(b"GET " + PWTOKEN + b" HTTP/1.1\r\nHost: login.yahoo.com\r\nConnection: close\r\n\r\n")
        data = read_to_eof(s)
        assert data.startswith(b"HTTP/1.1 200") and b"ymsgr=" in data, data


if __name__ == "__main__":
    run_tests([test_close_notify_http11_chunked, test_close_notify_http10_and_errors, test_close_notify_after_keepalive])
