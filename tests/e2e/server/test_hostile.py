#!/usr/bin/env python3
"""Hostile-input scenarios against the real ymsgd (issue 9 items 2, 3, 9, 12): log amplification,
HTTP exhaustion, HTTP framing, per-address caps behind one NAT.  usage: test_hostile.py YMSGD [TEST...]

Each test prints the figure it checks (log bytes per input byte, connections held, CPU) so a run
before and after a change can be compared; the assertions hold the bounds."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Client, Server, encode, http_get, run_tests  # noqa: E402
from test_scenarios import IM, OFFLINE_STATUS, two_friends  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])
# a complete frame whose body is bad (key "abcde" is not a number): skipped, logged, counted
BAD_FRAME = b"YMSG\x00\x10\x00\x00\x00\x05\x00\x57\x00\x00\x00\x00\x00\x00\x00\x00abcde"


def log_size(srv):
    return os.path.getsize(os.path.join(srv.dir, "ymsgd.log"))


def figure(name, value):
    print("figure %s %s" % (name, value))
    sys.stdout.flush()


def sock_closed(s, timeout):
    """True when the server closes s within timeout (whatever it sent first is read and dropped)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


# ---- 9.2 log amplification before login ------------------------------------------------------------

def test_malformed_flood_one_connection():
    """One unauthenticated connection streaming bad frames: closed after max_malformed, log bounded."""
    with Server(YMSGD) as srv:
        time.sleep(0.2)
        before = log_size(srv)
        c = Client(srv.ymsg_port)
        data = BAD_FRAME * 40000                          # 1 MB of bad frames
        sent = 0
        try:
            for i in range(0, len(data), 65536):
                c.sock.sendall(data[i:i + 65536])
                sent += len(data[i:i + 65536])
        except OSError:
            pass                                          # the server closed it under us: fine
        assert c.closed(5), "connection still open after %d bytes of bad frames" % sent
        time.sleep(0.3)
        grown = log_size(srv) - before
        figure("log_bytes_per_input_byte", "%.4f (%d log bytes for %d input bytes)" % (grown / sent, grown, sent))
        assert "event=malformed_limit" in srv.log_text()
        assert grown < 16384, "log grew %d bytes for %d input bytes" % (grown, sent)
        # garbage without any frame is bounded too: a run counts once per 64 KiB
        g = Client(srv.ymsg_port)
        try:
            g.sock.sendall(b"\x01" * (4 << 20))
        except OSError:
            pass
        assert g.closed(5), "4 MB of garbage did not end the connection"


def test_malformed_many_connections_one_address():
    """Many connections from one address, each below max_malformed: the address's log budget holds."""
    extra = ["--conn-burst", "100000", "--conn-rate", "100000", "--max-conns-per-addr", "100000"]
    with Server(YMSGD, extra_args=extra) as srv:
        srv.add_user("alice", "secret")
        time.sleep(0.2)
        before = log_size(srv)
        t0 = time.time()
        sent = 0
        for _ in range(10):
            conns = [Client(srv.ymsg_port) for _ in range(30)]
            for c in conns:
                c.send_raw(BAD_FRAME * 10)                # 10 < max_malformed (16): never closed for it
                sent += len(BAD_FRAME) * 10
            for c in conns:
                c.send_raw(encode(0x4C, []))
                assert c.expect(0x4C).status == 1         # still served: only the log is limited
                c.close()
        elapsed = time.time() - t0
        # the summary is written within the 5 s sweep
        deadline = time.time() + 8
        while "similar messages suppressed: event=malformed" not in srv.log_text() and time.time() < deadline:
            time.sleep(0.2)
        text = srv.log_text()
        lines = text.count("event=malformed code=")
        grown = log_size(srv) - before
        figure("malformed_lines", "%d lines for 3000 bad frames from 300 connections in %.1f s" % (lines, elapsed))
        figure("log_bytes_per_input_byte", "%.4f" % (grown / sent))
        assert lines <= 100 + 10 * (elapsed + 8) + 5, lines   # log_addr_burst + log_addr_rate * time
        assert "similar messages suppressed: event=malformed scope=address" in text
        a = srv.login("alice", "secret")                  # others are unaffected and still logged
        assert "event=login " in srv.log_text()
        a.close()


# ---- 9.3 out of file descriptors ----------------------------------------------------------------

def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def exhaust_fds(srv, connect, n=60, seconds=2.0):
    """Lowers ymsgd's descriptor limit to what it holds + 8, opens n connections with connect()
    (most wait in the backlog), and measures ymsgd's CPU share and log growth over `seconds`.
    Returns (sockets, cpu share, log bytes, the previous soft limit)."""
    import resource
    pid = srv.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_fds(pid) + 8, hard))   # soft only: it can go back
    socks = [connect() for _ in range(n)]
    time.sleep(0.5)                                      # the first accept errors happen here
    cpu0, log0, t0 = cpu_seconds(pid), log_size(srv), time.time()
    time.sleep(seconds)
    share = (cpu_seconds(pid) - cpu0) / (time.time() - t0)
    return socks, share, log_size(srv) - log0, soft


def test_emfile_pager_pauses_accepting():
    extra = ["--max-conns-per-addr", "1000", "--conn-burst", "1000"]
    with Server(YMSGD, extra_args=extra) as srv:
        srv.add_user("alice", "secret")
        socks, share, grown, soft = exhaust_fds(srv, lambda: socket.create_connection(("127.0.0.1", srv.ymsg_port)))
        figure("emfile_ymsg_cpu_share", "%.3f" % share)
        figure("emfile_ymsg_log_bytes_per_s", "%.0f" % (grown / 2.0))
        assert "event=accept_paused" in srv.log_text()
        assert share < 0.3, "ymsgd used %.0f%% CPU while out of descriptors" % (share * 100)
        assert grown < 4096, "log grew %d bytes in 2 s while out of descriptors" % grown
        for s in socks:
            s.close()
        import resource
        resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE, (soft, resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE)[1]))
        a = srv.login("alice", "secret")                 # accepting resumed after the pause
        a.close()


def test_emfile_http_pauses_accepting():
    with Server(YMSGD, extra_args=["--http-max-conns-per-addr", "1000"]) as srv:
        srv.add_user("alice", "secret")
        socks, share, grown, soft = exhaust_fds(srv, lambda: socket.create_connection(("127.0.0.1", srv.http_port)))
        figure("emfile_http_cpu_share", "%.3f" % share)
        figure("emfile_http_log_bytes_per_s", "%.0f" % (grown / 2.0))
        assert "event=accept_paused" in srv.log_text()
        assert share < 0.3, "ymsgd used %.0f%% CPU while out of descriptors" % (share * 100)
        assert grown < 4096, "log grew %d bytes in 2 s while out of descriptors" % grown
        for s in socks:
            s.close()
        import resource
        resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE, (soft, resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE)[1]))
        a = srv.login("alice", "secret")                 # the HTTP token login works again
        a.close()


# ---- 9.3 HTTP connection caps and the request-head deadline ----------------------------------------

def connect_from(port, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def test_http_head_deadline_slowloris():
    with Server(YMSGD, extra_args=["--http-head-timeout", "2", "--http-timeout", "30"]) as srv:
        idle = connect_from(srv.http_port)                 # sends nothing at all
        slow = connect_from(srv.http_port)
        head = b"GET /capacity HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
        t0, closed_at = time.time(), None
        for b in head:                                     # one byte every 0.25 s: never idle for long
            try:
                slow.sendall(bytes([b]))
            except OSError:
                closed_at = time.time()
                break
            if sock_closed(slow, 0.25):
                closed_at = time.time()
                break
            if time.time() - t0 > 8:
                break
        held = (closed_at or time.time()) - t0
        figure("slowloris_held_s", "%.1f" % held)
        assert closed_at is not None and held < 4.5, "a trickling head held its connection %.1f s" % held
        assert sock_closed(idle, 1), "a silent connection outlived http_head_timeout"
        assert "event=http_head_timeout" in srv.log_text()
        status, _, _, _ = http_get(srv.http_port, "/capacity")  # normal requests are unaffected
        assert " 200 " in status, status


def test_http_connection_caps():
    extra = ["--http-max-conns-per-addr", "5", "--http-max-conns", "8"]
    with Server(YMSGD, extra_args=extra) as srv:
        time.sleep(0.2)
        mine = [connect_from(srv.http_port) for _ in range(5)]
        time.sleep(0.2)
        extra_conn = connect_from(srv.http_port)
        assert sock_closed(extra_conn, 2), "a 6th connection from one address was kept"
        for s in mine:
            assert not sock_closed(s, 0.05), "a connection under the cap was closed"
        others = [connect_from(srv.http_port, "127.0.0.2") for _ in range(3)]   # another address: fine
        time.sleep(0.2)
        for s in others:
            assert not sock_closed(s, 0.05)
        third = connect_from(srv.http_port, "127.0.0.3")  # 8 held in total: the global cap
        assert sock_closed(third, 2), "a connection beyond http_max_conns was kept"
        figure("http_conns_held", "8 of 8 allowed (+2 refused)")
        assert "event=http_refused" in srv.log_text()
        for s in mine:
            s.close()
        time.sleep(0.3)                                   # freed slots are given back
        status, _, _, _ = http_get(srv.http_port, "/capacity")
        assert " 200 " in status, status
        for s in others:
            s.close()


# ---- 9.9 HTTP framing ------------------------------------------------------------------------------

def raw_http(port, data, timeout=3.0):
    """Sends data on one connection; returns everything the server sent until it closed (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not d:
            break
        out += d
    s.close()
    return out


SMUGGLED = b"GET /capacity HTTP/1.1\r\nHost: x\r\n\r\n"


def test_http_framing_smuggling_refused():
    with Server(YMSGD) as srv:
        cases = {
            "conflicting Content-Length": b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
                                          b"Content-Length: 40\r\n\r\nabcdef" + SMUGGLED,
            "signed Content-Length": b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Length: +6\r\n\r\n"
                                     b"abcdef" + SMUGGLED,
            "TE and CL": b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED,
            "two TE": b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
            "obs-fold": b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n foo\r\n\r\n"
                        b"abcdef" + SMUGGLED,
            "GET with a body": b"GET /capacity HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED)
                               + SMUGGLED,
            "space before colon": b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Length : 6\r\n\r\n"
                                  b"abcdef" + SMUGGLED,
        }
        for name, data in cases.items():
            out = raw_http(srv.http_port, data)
            answers = out.count(b"HTTP/1.1 ") + out.count(b"HTTP/1.0 ")
            assert out.startswith(b"HTTP/1.1 400"), "%s: %r" % (name, out[:200])
            assert answers == 1, "%s: %d answers (a request was smuggled): %r" % (name, answers, out[:400])
        assert "event=http_bad_framing" in srv.log_text()
        # the same bytes split into single-byte writes are refused the same way
        s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=3)
        data = cases["conflicting Content-Length"]
        for b in data[:data.index(b"Content-Length: 40\r\n") + 20]:   # up to the line that gives it away
            s.sendall(bytes([b]))
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except OSError:
                break
            if not d:
                break
            out += d
        assert out.startswith(b"HTTP/1.1 400") and out.count(b"HTTP/1.1 ") == 1, out[:300]
        # answers the client has not read yet (a small window), then the request that ends the connection (a
        # 400 for a bad head, a 413 for a body above http_max_body) and input crossing the close: the input
        # made the kernel reset the connection, and the reset threw away every answer not yet sent (lingering
        # close: core/linger.c)
        for last, code in ((data, b"400"), (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n", b"413")):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(3)
            s.connect(("127.0.0.1", srv.http_port))
            s.sendall(SMUGGLED * 30 + last)
            time.sleep(0.3)                               # all answered, the connection closed on the server
            s.sendall(SMUGGLED)
            out, how = b"", "timeout"
            while True:
                try:
                    d = s.recv(65536)
                except OSError as e:
                    how = "reset: %s" % e
                    break
                if not d:
                    how = "end"
                    break
                out += d
            s.close()
            assert (out.count(b"HTTP/1.1 200"), out.count(b"HTTP/1.1 " + code), how) == (30, 1, "end"), \
                (code, out.count(b"HTTP/1.1 200"), how, out[-200:])


def test_http_framing_valid_pipelines_still_work():
    with Server(YMSGD) as srv:
        # two GETs pipelined, then a POST with a body and a GET: every one answered, in order
        out = raw_http(srv.http_port, SMUGGLED + SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert out.count(b"HTTP/1.1 200") == 2, out[:500]
        body = b"src=ymsgr&login=nobody&passwd=x"
        out = raw_http(srv.http_port, b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                       + SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert out.count(b"HTTP/1.1 ") == 2 and b"400" not in out.split(b"\r\n")[0], out[:500]
        # a chunked POST is delimited by its chunks, so the request after it is seen as one
        out = raw_http(srv.http_port, b"POST /config/pwtoken_get HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                       b"\r\n\r\n5\r\nsrc=y\r\n0\r\n\r\n"
                       + SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert out.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 400" not in out, out[:500]


# ---- 9.12 per-address cap vs. one NAT --------------------------------------------------------------

def test_prelogin_eviction_behind_nat():
    extra = ["--max-conns-per-addr", "10", "--prelogin-evict-age", "1", "--conn-burst", "1000"]
    with Server(YMSGD, extra_args=extra) as srv:
        a, b = two_friends(srv)                           # 2 logged-in sessions of this address
        srv.add_user("carol", "pw3")
        idle = [Client(srv.ymsg_port) for _ in range(8)]  # the address is at its cap of 10
        for c in idle:
            c.send(0x4C)
            assert c.expect(0x4C).status == 1
        young = Client(srv.ymsg_port)                     # all pre-login ones younger than 1 s: refused
        assert young.closed(2)
        time.sleep(1.2)
        carol = srv.login("carol", "pw3")                 # evicts the oldest idle one instead of being refused
        assert idle[0].closed(3)
        for c in idle[1:]:
            c.send(0x4C)
            assert c.expect(0x4C).status == 1, "a newer idle connection was evicted"
        # logged-in sessions of other accounts are never evicted and keep working
        held = [Client(srv.ymsg_port) for _ in range(20)]  # churn: each evicts an old idle one or is refused
        time.sleep(0.5)
        a.send(IM, [(1, "alice"), (5, "bob"), (14, "still here")], status=OFFLINE_STATUS)
        assert b.expect(IM, skip=(0x4B,)).get(14) == "still here"
        carol.send(0x8A, [(0, "carol")])
        assert carol.expect(0x8A, skip=(0x02,)).status == 1
        assert "event=evicted" in srv.log_text()
        text = srv.log_text()
        for who in ("alice", "bob", "carol"):
            assert "user=%s event=disconnect" % who not in text and "user=%s event=kicked" % who not in text
        for c in held + idle:
            c.close()


if __name__ == "__main__":
    run_tests([v for k, v in list(globals().items()) if k.startswith("test_")])
