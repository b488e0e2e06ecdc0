"""A private redis-server for tests (python3 stdlib only).

    with RedisServer() as r:            # redis-server --port 0 --unixsocket DIR/redis.sock, no persistence
        url = r.url                     # "unix:DIR/redis.sock" for ymsgd --redis
        r.command("PING")               # -> "PONG" (a tiny RESP client)
        r.restart()                     # stop and start again on the same socket, empty

No TCP port is opened (--port 0) and everything lives in a temporary directory that stop() removes.
A missing redis-server is an error with the package to install, never a skip.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time


class RedisError(RuntimeError):
    pass


class RedisServer:
    def __init__(self, exe=None):
        self.exe = exe or shutil.which("redis-server")
        if not self.exe:
            raise RedisError("redis-server not found: install the Debian package redis-server "
                             "(scripts/deps.sh test); the cluster tests need it")
        self.dir = tempfile.mkdtemp(prefix="ymsg-redis-")
        self.sock = os.path.join(self.dir, "redis.sock")
        self.url = "unix:" + self.sock
        self.proc = None

    def start(self, timeout=10.0):
        self.log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen([self.exe, "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
                                      "--dir", self.dir, "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RedisError("redis-server exited with %s; log: %s" % (self.proc.returncode,
                                                                            os.path.join(self.dir, "redis.log")))
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop(remove=False)
        raise RedisError("redis-server did not answer within %.0f s" % timeout)

    def stop(self, remove=True):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, down_for=0.0):
        """Stops redis-server (its data is gone: no persistence) and starts it again on the same socket."""
        self.stop(remove=False)
        time.sleep(down_for)
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- a minimal RESP client ---------------------------------------------------------------
    def command(self, *args, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        try:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            f = s.makefile("rb")
            return _read(f)
        finally:
            s.close()


def _read(f):
    line = f.readline()
    if not line:
        raise OSError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(f) for _ in range(n)]
    raise RedisError("unexpected reply %r" % line)
