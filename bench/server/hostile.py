#!/usr/bin/env python3
"""Hostile-input figures for ymsgd (issue 9 items 2, 3, 12): bench/server/hostile.py YMSGD [--info]

Runs each attack against a fresh ymsgd on loopback and prints one line per figure, so two binaries
(before/after a change) can be compared with the same command.  Flags a binary does not know are
left out (an old binary then runs with its defaults).
  malformed   one unauthenticated connection streams 4 MB of bad YMSG frames: log bytes per input byte
  garbage     the same with 4 MB of non-YMSG bytes
  slowloris   300 HTTP connections trickling one header byte per second for 12 s: connections held
  emfile      descriptor limit lowered under ymsgd, 60 pending connections: CPU share and log bytes/s
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e", "server"))
from ymsgd_harness import Client, Server  # noqa: E402

BAD_FRAME = b"YMSG\x00\x10\x00\x00\x00\x05\x00\x57\x00\x00\x00\x00\x00\x00\x00\x00abcde"


def known_flags(exe, flags):
    """Only the flags (with their values) that exe's --help lists."""
    helptext = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    out = []
    for i in range(0, len(flags), 2):
        if flags[i] + " " in helptext:
            out += flags[i:i + 2]
    return out


def log_size(srv):
    return os.path.getsize(os.path.join(srv.dir, "ymsgd.log"))


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def stream(exe, level, payload):
    srv = Server(exe, extra_args=[]).start()
    try:
        time.sleep(0.3)
        before = log_size(srv)
        c = Client(srv.ymsg_port)
        sent = 0
        try:
            for i in range(0, len(payload), 65536):
                c.sock.sendall(payload[i:i + 65536])
                sent += len(payload[i:i + 65536])
        except OSError:
            pass
        closed = c.closed(3)
        time.sleep(0.5)
        grown = log_size(srv) - before
        return sent, grown, closed
    finally:
        srv.stop()


def main():
    exe = os.path.abspath(sys.argv[1])
    n = 4 << 20
    sent, grown, closed = stream(exe, "debug", BAD_FRAME * (n // len(BAD_FRAME)))
    print("malformed: %d input bytes accepted, %d log bytes, %.4f log bytes/input byte, connection %s"
          % (sent, grown, grown / max(sent, 1), "closed" if closed else "open"))
    sent, grown, closed = stream(exe, "debug", b"\x01" * n)
    print("garbage:   %d input bytes accepted, %d log bytes, %.4f log bytes/input byte, connection %s"
          % (sent, grown, grown / max(sent, 1), "closed" if closed else "open"))

    srv = Server(exe).start()
    try:
        socks = []
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", srv.http_port))
            s.setblocking(False)
            socks.append(s)
        t0 = time.time()
        while time.time() - t0 < 12:
            for s in socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            time.sleep(1)
        held = 0
        for s in socks:
            try:
                s.send(b"X")
                d = s.recv(1)
                if d:
                    held += 1
            except BlockingIOError:
                held += 1                       # nothing to read and still open
            except OSError:
                pass
        print("slowloris: %d of 300 trickling HTTP connections still held after 12 s" % held)
        for s in socks:
            s.close()
    finally:
        srv.stop()

    import resource
    srv = Server(exe, extra_args=known_flags(exe, ["--max-conns-per-addr", "1000", "--conn-burst", "1000"])).start()
    try:
        pid = srv.proc.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (len(os.listdir("/proc/%d/fd" % pid)) + 8, hard))
        socks = [socket.create_connection(("127.0.0.1", srv.ymsg_port)) for _ in range(60)]
        time.sleep(0.5)
        c0, l0, t0 = cpu(pid), log_size(srv), time.time()
        time.sleep(3)
        dt = time.time() - t0
        print("emfile:    ymsgd CPU %.0f%%, log %.0f bytes/s while out of descriptors"
              % (100 * (cpu(pid) - c0) / dt, (log_size(srv) - l0) / dt))
        for s in socks:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
