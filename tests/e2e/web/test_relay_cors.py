#!/usr/bin/env python3
"""The file-transfer relay and the web messenger's origin (docs/FILE_TRANSFER.md §3 "Browsers"): CORS
only for the page's own origin (the HTTP listener's) and --ws-origins, the check /ymsg makes; nothing
for any other page; the page's CSP names the relay only when there is one.
Usage: test_relay_cors.py YMSGD [TEST...]"""
import hashlib
import http.client
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
from ymsgd_harness import Server, free_port, http_get, run_tests  # noqa: E402
from test_ft import RELAY, befriend, negotiate, relay_files, users  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
EVIL = "http://evil.example:8080"


def req(port, method, token="0" * 32, sender="alice", recver="bob", origin=None, body=b"", extra=(), tls=False):
    """One request to the relay; returns (status, {lower-case header: value}, body)."""
    q = urllib.parse.urlencode({"token": token, "sender": sender, "recver": recver})
    headers = dict(extra)
    if origin:
        headers["Origin"] = origin
    if method == "POST":
        headers["Content-Type"] = "application/octet-stream"
    if tls:  # the relay's TLS listener, with the test's self-signed certificate
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, "/relay?" + q, body=body if method == "POST" else None, headers=headers)
    r = c.getresponse()
    got = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, got


def preflight(port, origin, method="POST", tls=False):
    return req(port, "OPTIONS", origin=origin, tls=tls,
               extra={"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"})


def no_cors(h):
    return not [k for k in h if k.startswith("access-control-")]


def test_page_origin_gets_cors_for_a_whole_transfer():
    with Server(YMSGD, RELAY) as srv:
        page = "http://127.0.0.1:%d" % srv.http_port
        a, b = users(srv, "alice", "bob")
        befriend(a, b)
        data = os.urandom(70000)
        _, port, tok = negotiate(a, b, "c1", "c1.bin", len(data))
        st, h, _ = preflight(port, page)
        assert st == 204, st
        assert h["access-control-allow-origin"] == page and h["vary"] == "Origin", h
        assert "POST" in h["access-control-allow-methods"] and h["access-control-allow-headers"] == "Content-Type", h
        st, h, _ = preflight(port, page, "GET")
        assert st == 204 and h["access-control-allow-origin"] == page, h
        st, h, _ = req(port, "HEAD", tok, "bob", "alice", origin=page)
        assert st == 200 and h["access-control-allow-origin"] == page and h["content-length"] == str(len(data)), h
        st, h, _ = req(port, "POST", tok, "alice", "bob", origin=page, body=data)
        assert st == 200 and h["access-control-allow-origin"] == page, (st, h)
        st, h, got = req(port, "GET", tok, "alice", "bob", origin=page)
        assert st == 200 and h["access-control-allow-origin"] == page, h
        assert "Content-Length" in h["access-control-expose-headers"], h
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
        # the page reads the relay's refusals too (it shows them): here a replay after the download
        st, h, body = req(port, "GET", tok, "alice", "bob", origin=page)
        assert st == 404 and h["access-control-allow-origin"] == page and b"no such transfer" in body, (st, h)
        assert relay_files(srv) == []


def test_other_origins_get_no_cors():
    with Server(YMSGD, RELAY) as srv:
        a, b = users(srv, "alice", "bob")
        befriend(a, b)
        data = b"y" * 5000
        _, port, tok = negotiate(a, b, "c2", "c2.bin", len(data))
        # another page (another host, or our host on another port, or the relay's own origin, or a
        # scheme-less / "null" Origin; an overlong one counts as none: 405): the preflight is refused and
        # no answer says CORS
        for origin in (EVIL, "http://127.0.0.1:%d" % (srv.http_port + 1), "http://127.0.0.1:%d" % port, "null",
                       "http://127.0.0.1:%d" % srv.http_port + "x" * 300, "127.0.0.1:%d" % srv.http_port):
            st, h, _ = preflight(port, origin)
            assert st == (405 if len(origin) > 255 else 403) and no_cors(h), (origin, st, h)
            st, h, _ = req(port, "HEAD", tok, "bob", "alice", origin=origin)
            assert st == 200 and no_cors(h), (origin, h)   # a non-browser client's answer, no CORS
        st, h, _ = req(port, "POST", tok, "alice", "bob", origin=EVIL, body=b"short")
        assert st == 400 and no_cors(h), (st, h)
        # the transfer itself is untouched by all that: the real upload and download still work
        assert req(port, "POST", tok, "alice", "bob", origin=EVIL, body=data)[0] == 200
        st, h, got = req(port, "GET", tok, "bob", "alice", origin=EVIL)
        assert st == 200 and got == data and no_cors(h), h
        # OPTIONS without an Origin is no preflight: still 405, with Allow
        st, h, _ = req(port, "OPTIONS")
        assert st == 405 and h["allow"] == "GET, HEAD, POST" and no_cors(h), (st, h)
        log = srv.log_text()
        assert "origin not allowed" in log, "the refused preflight is logged"


def test_ws_origins_allow_list_is_reused():
    with Server(YMSGD, RELAY + ["--ws-origins", "https://chat.example, http://intranet:8000"]) as srv:
        a, b = users(srv, "alice", "bob")
        befriend(a, b)
        _, port, tok = negotiate(a, b, "c3", "c3.bin", 10)
        for origin in ("https://chat.example", "http://intranet:8000", "http://127.0.0.1:%d" % srv.http_port):
            st, h, _ = preflight(port, origin)
            assert st == 204 and h["access-control-allow-origin"] == origin, (origin, st, h)
        for origin in ("http://chat.example", "https://chat.example.evil", "http://intranet:8001", EVIL):
            st, h, _ = preflight(port, origin)
            assert st == 403 and no_cors(h), (origin, st, h)


def csp(srv):
    _, headers, _, _ = http_get(srv.http_port, "/", host="127.0.0.1:%d" % srv.http_port)
    return dict((k.lower(), v) for k, v in headers)["content-security-policy"]


def make_cert(d):
    """A self-signed certificate for 127.0.0.1 (the https page and the TLS relay share it)."""
    if not shutil.which("openssl"):
        raise AssertionError("openssl (Debian package openssl) is needed to make the test certificate")
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days",
                    "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return ["--tls-cert", crt, "--tls-key", key]


def web_root(d):
    """A web root of its own (an index.html and assets/): sanitizer builds have no web/www."""
    root = os.path.join(d, "www")
    os.makedirs(os.path.join(root, "assets"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><title>x</title>")
    return ["--web-root", root]


def test_csp_names_the_relay_only_when_there_is_one():
    # a web root of its own (an index.html and assets/): sanitizer builds have no web/www
    root = tempfile.mkdtemp(prefix="ymsg-www-")
    try:
        os.makedirs(os.path.join(root, "assets"))
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<!doctype html><title>x</title>")
        web = ["--web-root", root]
        with Server(YMSGD, web + ["--relay-listen", "127.0.0.1:0", "--relay-host", "127.0.0.1:5999"]) as srv:
            pol = csp(srv)
            assert "connect-src 'self' http://127.0.0.1:5999;" in pol, pol
            assert "default-src 'self';" in pol and "frame-ancestors 'none'" in pol, pol
        with Server(YMSGD, web) as srv:
            pol = csp(srv)
            assert "connect-src 'self';" in pol and "5999" not in pol, pol
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_https_relay_in_csp_and_its_cors():
    """With relay_tls_listen the CSP names the https relay beside the plain one (the https page takes
    it), and the TLS relay answers CORS to the https page's origin only, as the plain one does."""
    d = tempfile.mkdtemp(prefix="ymsg-relay-tls-")
    try:
        hport, tport = free_port(), free_port()
        args = web_root(d) + make_cert(d) + ["--https-listen", "127.0.0.1:%d" % hport, "--relay-listen",
                                             "127.0.0.1:0", "--relay-tls-listen", "127.0.0.1:%d" % tport]
        with Server(YMSGD, args) as srv:
            pol = csp(srv)
            rport = int(pol.split("connect-src 'self' http://127.0.0.1:")[1].split(" ")[0])
            assert "connect-src 'self' http://127.0.0.1:%d https://127.0.0.1:%d;" % (rport, tport) in pol, pol
            page = "https://127.0.0.1:%d" % hport
            st, h, _ = preflight(tport, page, tls=True)
            assert st == 204 and h["access-control-allow-origin"] == page and h["vary"] == "Origin", (st, h)
            for origin in (EVIL, "https://evil.example", "https://127.0.0.1:%d" % tport, "null"):
                st, h, _ = preflight(tport, origin, tls=True)
                assert st == 403 and no_cors(h), (origin, st, h)
            # a whole transfer through the TLS relay with the page's origin: CORS on every answer
            a, b = users(srv, "alice", "bob")
            befriend(a, b)
            data = os.urandom(30000)
            _, _, tok = negotiate(a, b, "t1", "t1.bin", len(data))
            st, h, _ = req(tport, "POST", tok, "alice", "bob", origin=page, body=data, tls=True)
            assert st == 200 and h["access-control-allow-origin"] == page, (st, h)
            st, h, got = req(tport, "GET", tok, "bob", "alice", origin=page, tls=True)
            assert st == 200 and got == data and h["access-control-allow-origin"] == page, h
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_relay_public_url_knob():
    """relay_public_url replaces the derived URLs in the CSP (a proxy's https URL, with a path); key
    250 still carries relay_host for YMSG clients.  Values that are no plain http(s) URL stop ymsgd at
    start with the reason."""
    d = tempfile.mkdtemp(prefix="ymsg-relay-pub-")
    try:
        web = web_root(d)
        pub = "https://files.example.com/ymsg-relay/, http://10.0.0.7:8080"
        with Server(YMSGD, web + RELAY + ["--relay-host", "127.0.0.1:5999", "--relay-public-url", pub]) as srv:
            pol = csp(srv)
            assert "connect-src 'self' https://files.example.com/ymsg-relay/ http://10.0.0.7:8080;" in pol, pol
            assert "5999" not in pol, pol
            a, b = users(srv, "alice", "bob")
            befriend(a, b)
            host, port, _ = negotiate(a, b, "p1", "p1.bin", 10)
            assert (host, port) == ("127.0.0.1", 5999), (host, port)
        bad = ["javascript:alert(1)", "https://a.example; script-src *", "https://a.example/x y", "ftp://a.example",
               "https://a.example/../b", "https://", "https://a.example:0", "https://a.example:99999",
               "https://a.example/?q", "https://[::1", ",".join(["http://a%d.example" % i for i in range(5)])]
        for v in bad:
            r = subprocess.run([YMSGD, "--data-dir", os.path.join(d, "data"), "--ymsg-listen",
                                "127.0.0.1:%d" % free_port(), "--http-listen", "127.0.0.1:%d" % free_port()] + RELAY +
                               ["--relay-public-url", v], capture_output=True, timeout=20)
            err = r.stderr.decode()
            assert r.returncode != 0 and "relay_public_url" in err, (v, r.returncode, err[-500:])
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_page_origin_gets_cors_for_a_whole_transfer, test_other_origins_get_no_cors,
               test_ws_origins_allow_list_is_reused, test_csp_names_the_relay_only_when_there_is_one,
               test_https_relay_in_csp_and_its_cors, test_relay_public_url_knob])
