#!/usr/bin/env python3
"""Issue 9 item 6 end to end: one login throttle for every login path, no user enumeration, and an
account lock that holds against many source addresses (127.0.0.0/8 gives each probe its own address).

usage: test_login_throttle.py YMSGD [TEST...]"""
import os
import socket
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import amfpy  # noqa: E402
from ymsgd_harness import Client, Server, encode, resp307, run_tests  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


def http_from(src, port, raw):
    """Sends raw HTTP bytes from source address src; returns the reply body (de-chunked)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    s.sendall(raw)
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        body = out
    return head, body


def token_from(src, srv, user, password):
    q = urllib.parse.urlencode({"src": "ymsgr", "login": user, "passwd": password, "chal": "x"})
    _, body = http_from(src, srv.http_port, ("GET /config/pwtoken_get?%s HTTP/1.0\r\n\r\n" % q).encode())
    return body.decode().split("\r\n")[0]


def amf_login_from(src, srv, user, password):
    """Classic Phonebook.login over the gateway; returns (ok, value)."""
    body = amfpy.packet([("Phonebook.login", "/1", amfpy.encode0([user, password]))])
    raw = (b"POST /api.php HTTP/1.0\r\nContent-Type: application/x-amf\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    head, data = http_from(src, srv.http_port, raw)
    assert b" 200 " in head.split(b"\r\n")[0], head
    _, _, bodies = amfpy.parse_packet(data)
    target, _, value, _ = bodies[0]
    return target == "/1/onResult" and value is True, value


def ymsg_from(src, srv):
    c = Client.__new__(Client)
    c.sock = socket.create_connection(("127.0.0.1", srv.ymsg_port), timeout=5, source_address=(src, 0))
    c.buf, c.session, c.user = b"", 0, None
    return c


def bogus_cookie_login(srv, user, src="127.0.0.1"):
    """A 0x54 with made-up Y/T cookies; returns key 66 of the answer."""
    c = ymsg_from(src, srv)
    c.send(0x57, [(1, user)])
    p = c.expect(0x57)
    c.session = p.session
    c.send(0x54, [(1, user), (0, user), (277, "v=1&n=forged"), (278, "z=forged"), (307, resp307("nope", p.get(94)))])
    r = c.expect(0x54)
    assert r.status == 0xFFFFFFFF, r
    c.close()
    return r.get(66)


def method0_login(srv, user):
    """A YMSG 10 method-0 login with a garbage response; returns key 66."""
    c = Client(srv.ymsg_port)
    c.send(0x57, [(1, user)], version=10)
    p = c.expect(0x57)
    assert p.get(13) == "0", p
    c.send_raw(encode(0x54, [(0, user), (6, "A" * 24), (96, "B" * 24), (1, user)], session=p.session, version=10))
    r = c.expect(0x54)
    c.close()
    return r.get(66)


def test_no_user_enumeration():
    """Before: pwtoken_get 1235 vs 1212, 0x54 66=3 vs 13 (120/120 probes classified).  Now alike."""
    with Server(YMSGD, extra_args=["--legacy-auth", "on", "--login-burst", "1000", "--addr-max-failures", "1000",
                                   "--account-max-failures", "1000"]) as srv:
        srv.add_user("alice", "secret")
        assert token_from("127.0.0.1", srv, "alice", "wrong") == "1212"
        assert token_from("127.0.0.1", srv, "ghost", "wrong") == "1212"
        assert bogus_cookie_login(srv, "alice") == "13"
        assert bogus_cookie_login(srv, "ghost") == "13"
        assert method0_login(srv, "alice") == "13"
        assert method0_login(srv, "ghost") == "13"
        ok, v = amf_login_from("127.0.0.1", srv, "ghost", "x")
        ok2, v2 = amf_login_from("127.0.0.1", srv, "alice", "x")
        assert not ok and not ok2 and v == v2, (v, v2)
        # the log still tells the operator which it was
        assert 'user=ghost event=password_rejected code=1212 msg="no such user"' in srv.log_text()


def test_cookie_login_failures_are_counted():
    """Before: bogus cookie logins were never counted (any number from one address)."""
    with Server(YMSGD, extra_args=["--addr-max-failures", "5", "--login-burst", "1000"]) as srv:
        srv.add_user("alice", "secret")
        for _ in range(5):
            assert bogus_cookie_login(srv, "alice", "127.0.0.3") == "13"
        assert bogus_cookie_login(srv, "alice", "127.0.0.3") == "14"      # refused without a check
        assert token_from("127.0.0.3", srv, "alice", "secret") == "1236"  # the same budget as the token login
        assert token_from("127.0.0.4", srv, "alice", "secret") == "0"     # other addresses are not affected


def test_one_throttle_for_every_path():
    """Before: the gateway kept its own tables (twice the per-address budget).  Now 2 token + 2 cookie
    + 2 AMF failures use up a budget of 6 on every path."""
    with Server(YMSGD, extra_args=["--addr-max-failures", "6", "--login-burst", "1000",
                                   "--account-max-failures", "1000"]) as srv:
        srv.add_user("alice", "secret")
        src = "127.0.0.5"
        for _ in range(2):
            assert token_from(src, srv, "alice", "wrong") == "1212"
            assert bogus_cookie_login(srv, "alice", src) == "13"
            assert amf_login_from(src, srv, "alice", "wrong")[0] is False
        assert token_from(src, srv, "alice", "secret") == "1236"
        ok, v = amf_login_from(src, srv, "alice", "secret")
        assert not ok and "too many login attempts" in v["faultString"], v
        assert bogus_cookie_login(srv, "alice", src) == "14"
        ok, _ = amf_login_from("127.0.0.6", srv, "alice", "secret")
        assert ok


def test_lock_holds_against_many_addresses():
    """Before: during a lock, 30 fresh addresses each got a real password check and the right
    password got in (30/30).  Now none does; the owner gets in from a clean address after
    --account-lock-check-interval, and that uses the interval's one check."""
    with Server(YMSGD, extra_args=["--account-max-failures", "3", "--account-lock-check-interval", "2",
                                   "--login-burst", "1000"]) as srv:
        srv.add_user("alice", "secret")
        for _ in range(3):
            assert token_from("127.0.0.1", srv, "alice", "wrong") == "1212"
        t0 = time.time()
        codes = [token_from("127.0.1.%d" % i, srv, "alice", "secret") for i in range(1, 31)]
        codes += [amf_login_from("127.0.1.%d" % i, srv, "alice", "secret")[0] for i in range(31, 41)]
        assert time.time() - t0 < 2, "probes too slow for the interval"
        assert codes == ["1213"] * 30 + [False] * 10, codes
        assert srv.log_text().count("event=password_rejected") == 3      # no check was made for them
        time.sleep(2.2)
        assert token_from("127.0.2.1", srv, "alice", "secret") == "0"      # the owner
        assert token_from("127.0.2.2", srv, "alice", "secret") == "1213"   # the next clean address waits
        assert token_from("127.0.0.1", srv, "alice", "secret") == "1213"   # an address that failed: never


if __name__ == "__main__":
    run_tests([test_no_user_enumeration, test_cookie_login_failures_are_counted, test_one_throttle_for_every_path,
               test_lock_holds_against_many_addresses])
