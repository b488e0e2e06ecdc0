"""A raw RFC 6455 client for the tests: the same interface as ymsgd_harness.Client (send_raw, recv,
expect, drain, closed) with the YMSG bytes carried in masked binary frames, plus frame-level helpers
for the protocol tests.  Written from the RFC; no WebSocket library."""
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import ymsgd_harness  # noqa: E402
from ymsgd_harness import Client, Packet, encode, http_get, resp307  # noqa: E402,F401

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def handshake_request(port, headers=None, path="/ymsg", method="GET"):
    key = base64.b64encode(os.urandom(16)).decode()
    h = {"Host": "127.0.0.1:%d" % port, "Upgrade": "websocket", "Connection": "Upgrade",
         "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "ymsg"}
    for k, v in (headers or {}).items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    req = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return req.encode(), h.get("Sec-WebSocket-Key")


def open_ws(port, headers=None, timeout=5.0, rcvbuf=None, tls=False):
    """Returns (status, headers dict, socket, leftover bytes).  tls: wss:// (any certificate)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    req, key = handshake_request(port, headers)
    s.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    if status == 101:
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        assert hdrs.get("sec-websocket-accept") == want, hdrs
        assert hdrs.get("sec-websocket-protocol") == "ymsg", hdrs
    return status, hdrs, s, rest


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    # one big-integer XOR instead of a python loop per byte: a client as fast as a real one, so its
    # messages reach the server in batches as a TCP client's packets do
    m = (key * (n // 4 + 1))[:n]
    return head + key + (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


class WsClient(Client):
    """ymsgd_harness.Client over WebSocket."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0, headers=None, rcvbuf=None, tls=False):
        status, hdrs, self.sock, self.wbuf = open_ws(port, headers, timeout, rcvbuf, tls)
        assert status == 101, "handshake answered %d %r" % (status, hdrs)
        self.buf = b""
        self.session = 0
        self.user = None
        self.close_code = None     # code of the server's close frame, once seen
        self.pongs = []

    def send_raw(self, data):
        self.sock.sendall(frame(0x2, data))

    def send_frame(self, data):
        self.sock.sendall(data)

    def _frames(self):
        """Parses whole frames out of wbuf: binary payloads go to buf (the YMSG stream)."""
        while len(self.wbuf) >= 2:
            b0, b1 = self.wbuf[0], self.wbuf[1]
            assert not (b1 & 0x80), "server frames must not be masked"
            n, off = b1 & 0x7F, 2
            if n == 126:
                if len(self.wbuf) < 4:
                    return
                n, off = struct.unpack("!H", self.wbuf[2:4])[0], 4
            elif n == 127:
                if len(self.wbuf) < 10:
                    return
                n, off = struct.unpack("!Q", self.wbuf[2:10])[0], 10
            if len(self.wbuf) < off + n:
                return
            payload, self.wbuf = self.wbuf[off:off + n], self.wbuf[off + n:]
            op = b0 & 0x0F
            assert b0 & 0x80, "the server sends unfragmented messages"
            if op == 0x2:
                # whole packets only
                p = 0
                while p < len(payload):
                    assert len(payload) - p >= 20, "partial header in a message"
                    p += 20 + struct.unpack(">H", payload[p + 8:p + 10])[0]
                assert p == len(payload), "partial packet in a message"
                self.buf += payload
            elif op == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            elif op == 0xA:
                self.pongs.append(payload)
            else:
                raise AssertionError("unexpected opcode %d" % op)

    def _read(self, left):
        self.sock.settimeout(max(0.01, left))
        try:
            d = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return None
        except OSError:
            return b""
        return d

    def recv(self, timeout=3.0):
        deadline = time.time() + timeout
        while True:
            self._frames()
            if len(self.buf) >= 20:
                length = struct.unpack(">H", self.buf[8:10])[0]
                if len(self.buf) >= 20 + length:
                    raw, self.buf = self.buf[:20 + length], self.buf[20 + length:]
                    return Packet(raw)
            left = deadline - time.time()
            if left <= 0:
                return None
            d = self._read(left)
            if not d:
                return None
            self.wbuf += d

    def closed(self, timeout=3.0):
        """True once the server has closed the TCP connection (a close frame may come first)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            d = self._read(deadline - time.time())
            if d is None:
                return False
            if not d:
                self._frames()
                return True
            self.wbuf += d
            self._frames()
        return False

    def wait_close(self, timeout=3.0):
        """The server's close code once the connection has ended, else None."""
        return self.close_code if self.closed(timeout) else None


def ws_login(srv, user, password, status=0, expect_ok=True, client=None):
    """Server.login with the YMSG connection over WebSocket on the HTTP port."""
    return _server_login(srv, user, password, status=status, expect_ok=expect_ok,
                         client=client or WsClient(srv.http_port))


# Taken at import: test_ws_scenarios.py replaces Server.login with one that calls ws_login.
_server_login = ymsgd_harness.Server.login
