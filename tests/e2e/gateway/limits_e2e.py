#!/usr/bin/env python3
"""Issue 9 item 10 end to end: the gateway's own limits answer, as AMF faults on "/N/onStatus" that
name the limit, never the HTTP layer's plain 413; and the defaults let a 1000-entry phonebook of
realistic entries (amf_phonebook_max) through.

usage: limits_e2e.py YMSGD [TEST...]"""
import http.client
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import amfpy  # noqa: E402
from amfpy import AVM, External, Typed  # noqa: E402
from ymsgd_harness import Server, free_port, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


def entries(n):
    """Realistic entries: a two-word name (some non-ASCII), an international number, an e-mail."""
    first = ["Anna", "Björn", "Chloé", "Dmitri", "Eleni", "François", "Grace", "Hiroshi", "Inès", "José"]
    last = ["Andersson", "Brennan", "Castellanos", "Dubois", "Eriksen", "Fitzgerald", "García", "Hoffmann"]
    out = []
    for i in range(n):
        f, l = first[i % len(first)], last[(i // len(first)) % len(last)]
        out.append(Typed("PhoneEntry", {"name": "%s %s %d" % (f, l, i), "phone": "+44 20 7946 %04d" % i,
                                        "email": "%s.%s%d@example.com" % (f.lower(), l.lower(), i)},
                         ["name", "phone", "email"]))
    return out


def post(port, body, cookie=None):
    h = {"Content-Type": "application/x-amf"}
    if cookie:
        h["Cookie"] = "YMSGAMF=" + cookie
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api.php", body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    sc = r.getheader("Set-Cookie")
    return r.status, r.getheader("Content-Type"), data, (sc.split(";")[0].split("=", 1)[1] if sc else cookie)


def classic(port, cookie, target, args):
    st, ct, data, cookie = post(port, amfpy.packet([(target, "/1", amfpy.encode0(args))]), cookie)
    assert st == 200 and ct == "application/x-amf", (st, ct, data[:200])
    _, _, bodies = amfpy.parse_packet(data)
    return bodies[0][0], bodies[0][2], cookie, len(amfpy.packet([(target, "/1", amfpy.encode0(args))]))


def flex_sync(port, cookie, book):
    msg = amfpy.remoting_message("Phonebook.sync", [External("flex.messaging.io.ArrayCollection", book)], "S-1")
    body = amfpy.flex_request([msg])
    st, ct, data, cookie = post(port, body, cookie)
    assert st == 200 and ct == "application/x-amf", (st, ct, data[:200])
    _, _, bodies = amfpy.parse_packet(data)
    v = bodies[0][2]
    return bodies[0][0], (v.members if isinstance(v, Typed) else v), len(body)


def test_thousand_entries_fit_by_default():
    """Before: a 1000-entry sync (> http_max_body 64 KiB) got an HTML 413."""
    with Server(YMSGD) as srv:
        srv.add_user("alice", "pw")
        t, v, cookie, _ = classic(srv.http_port, None, "Phonebook.login", ["alice", "pw"])
        assert t == "/1/onResult" and v is True, v
        book = entries(1000)
        t, v, cookie, size = classic(srv.http_port, cookie, "Phonebook.sync", [book])
        assert t == "/1/onResult" and len(v) == 1000, (t, size)
        assert size > 65536, size                            # the old HTTP default would have refused it
        print("1000-entry AMF0 sync: %d bytes" % size)
        t, v, size = flex_sync(srv.http_port, cookie, book)
        assert t == "/1/onResult", (t, v)
        print("1000-entry AMF3 (Flex) sync: %d bytes" % size)
        # one more entry than amf_phonebook_max: the gateway's fault, naming the limit
        t, v, cookie, _ = classic(srv.http_port, cookie, "Phonebook.sync", [entries(1001)])
        assert t == "/1/onStatus" and "amf_phonebook_max" in v["faultString"], v


def test_oversize_is_an_amf_fault():
    """A request over amf_max_body: an AMF fault on /1/onStatus naming amf_max_body (classic and Flex),
    not a plain 413."""
    with Server(YMSGD, extra_args=["--amf-max-body", "65536", "--http-max-body", "1048576",
                                   "--amf-phonebook-max", "100000"]) as srv:
        srv.add_user("alice", "pw")
        _, _, cookie, _ = classic(srv.http_port, None, "Phonebook.login", ["alice", "pw"])
        t, v, cookie, size = classic(srv.http_port, cookie, "Phonebook.sync", [entries(3000)])
        assert size > 65536 and t == "/1/onStatus", (t, size)
        assert v["faultCode"] == "Client.Message" and "exceeds amf_max_body (65536 bytes)" in v["faultString"], v
        t, m, size = flex_sync(srv.http_port, cookie, entries(3000))
        assert t == "/1/onStatus" and "amf_max_body" in m["faultString"], (t, m)
        # the session is intact: a small sync still works
        t, v, cookie, _ = classic(srv.http_port, cookie, "Phonebook.sync", [entries(2)])
        assert t == "/1/onResult" and len(v) == 2, v
        # beyond http_max_body the HTTP layer refuses (the outer, last-resort cap)
        import socket
        sk = socket.create_connection(("127.0.0.1", srv.http_port), timeout=10)
        sk.sendall(b"POST /api.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amf\r\n"
                   b"Content-Length: 1048577\r\n\r\n")
        assert b" 413 " in sk.recv(4096).split(b"\r\n")[0]
        sk.close()


def test_shadowed_limit_is_a_config_error():
    """amf_max_body >= http_max_body would let the HTTP layer answer first: refused at start."""
    d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ymsgd-limits-%d" % os.getpid())
    r = subprocess.run([YMSGD, "--data-dir", d, "--pwhash-opslimit", "1", "--pwhash-memlimit", "8192",
                        "--ymsg-listen", "127.0.0.1:%d" % free_port(), "--http-listen", "127.0.0.1:%d" % free_port(),
                        "--amf-max-body", "2097152", "--http-max-body", "1048576"],
                       capture_output=True, timeout=30)
    subprocess.run(["rm", "-rf", d])
    err = r.stderr.decode()
    assert r.returncode == 1 and "amf_max_body (2097152) must be smaller than http_max_body (1048576)" in err, err


if __name__ == "__main__":
    run_tests([test_thousand_entries_fit_by_default, test_oversize_is_an_amf_fault, test_shadowed_limit_is_a_config_error])
