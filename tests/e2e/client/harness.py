"""Shared pieces of the client end-to-end tests: start ymsgd on free loopback ports with fresh accounts,
run `ymsg` one-shot commands, and follow background `ymsg listen --json` processes."""
import json
import re
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline):
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """ymsgd with its own data dir and ports; accounts have password 'pw-<name>'."""

    def __init__(self, ymsgd, users, tls=None, extra=()):
        self.ymsgd = ymsgd
        self.extra = list(extra)  # more ymsgd flags (rooms file, relay listener...)
        self.dir = tempfile.mkdtemp(prefix="ymsg-e2e-")
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.data)
        fast = ["--pwhash-opslimit", "1", "--pwhash-memlimit", "8192"]
        for u in users:
            subprocess.run([ymsgd, "user", "add", u, "--data-dir", self.data] + fast,
                           input=("pw-%s\n" % u).encode(), check=True, timeout=30,
                           stdout=subprocess.DEVNULL)
            with open(self.cred(u), "w") as f:
                f.write("%s:pw-%s\n" % (u, u))
        self.tls = tls
        self.port = self.http = None
        self.start()

    def start(self):
        """Starts ymsgd (again, on the same ports and data after halt())."""
        fast = ["--pwhash-opslimit", "1", "--pwhash-memlimit", "8192"]
        tls = self.tls
        for attempt in range(5):
            if self.port is None or attempt:
                self.port, self.http = free_port(), free_port()
            self.log = open(os.path.join(self.dir, "ymsgd.log"), "a")
            since = self.log.tell()
            # tls=(cert, key): the login server speaks HTTPS only, on self.http
            web = (["--http-listen", "", "--https-listen", "127.0.0.1:%d" % self.http, "--tls-cert", tls[0],
                    "--tls-key", tls[1]] if tls else
                   ["--http-listen", "127.0.0.1:%d" % self.http, "--https-listen", ""])
            self.proc = subprocess.Popen(
                [self.ymsgd, "--data-dir", self.data, "--ymsg-listen", "127.0.0.1:%d" % self.port] + web + [
                 "--log-level", "debug",
                 "--login-rate", "1000", "--login-burst", "1000", "--conn-rate", "1000", "--conn-burst", "1000",
                 "--addr-max-failures", "1000", "--account-max-failures", "1000"] + fast + self.extra,
                stdout=self.log, stderr=subprocess.STDOUT)
            if wait_port(self.port, time.time() + 20) and wait_port(self.http, time.time() + 10):
                time.sleep(0.3)  # listeners open before the rest of start-up: make sure it survived that
                if self.proc.poll() is None:
                    return
                self.log.close()
                with open(os.path.join(self.dir, "ymsgd.log")) as f:
                    f.seek(since)
                    out = f.read()
                if "cannot listen" in out:  # another process took a port meanwhile (it answered the probe)
                    continue
                raise RuntimeError("ymsgd exited during start-up:\n" + out[-3000:])
            self.proc.kill()
            self.proc.wait()
            self.log.close()
        raise RuntimeError("ymsgd did not start")

    def halt(self):
        """Stops ymsgd, keeping its data and ports for start()."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def cred(self, user):
        return os.path.join(self.dir, user + ".cred")

    def add_user(self, u):
        subprocess.run([self.ymsgd, "user", "add", u, "--data-dir", self.data, "--pwhash-opslimit", "1",
                        "--pwhash-memlimit", "8192"], input=("pw-%s\n" % u).encode(), check=True, timeout=30,
                       stdout=subprocess.DEVNULL)
        with open(self.cred(u), "w") as f:
            f.write("%s:pw-%s\n" % (u, u))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        if os.environ.get("KEEP_E2E"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    def __init__(self, ymsg, host, port, http, scheme="http"):
        self.base = [ymsg, "--server", "%s:%d" % (host, port), "--login-url", "%s://%s:%d" % (scheme, host, http)]

    def run(self, cred, *args, timeout=40, env=None):
        cmd = self.base + (["--credentials", cred] if cred else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def listen(self, cred, *args, stdin=False):
        return Listener(self.base + ["--credentials", cred, "listen", "--json"] + list(args), stdin=stdin)


class Listener:
    """A background `ymsg listen --json`; events are collected by a reader thread."""

    def __init__(self, cmd, stdin=False):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.PIPE if stdin else None)
        self.events = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "bad-json", "line": line.decode(errors="replace")}
            with self.lock:
                self.events.append(ev)

    def wait(self, pred, timeout=10, what="event"):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                for ev in self.events:
                    if pred(ev):
                        return ev
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; got %r" % (what, self.events))

    def send(self, line):
        """One command line on stdin (listen --stdin)."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def command(self, line, timeout=10):
        """Sends a command and returns its {"event":"command"} answer (the next one not seen before)."""
        with self.lock:
            seen = sum(1 for e in self.events if e["event"] == "command")
        self.send(line)
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                cmds = [e for e in self.events if e["event"] == "command"]
            if len(cmds) > seen:
                return cmds[seen]
            time.sleep(0.05)
        raise AssertionError("no answer to %r; got %r" % (line, self.snapshot()))

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.t.join(timeout=5)
        return self.proc.returncode


class Tmux:
    count = 0

    """A detached tmux server of its own running cmd in a w x h terminal."""

    def __init__(self, cmd, w=120, h=32):
        Tmux.count += 1
        self.sock = "ymsg-e2e-%d-%d" % (os.getpid(), Tmux.count)
        self.t = ["tmux", "-L", self.sock]
        subprocess.run(self.t + ["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(w), "-y", str(h), cmd],
                       check=True)

    def cursor(self):
        """(x, y) of the cursor in the pane."""
        p = subprocess.run(self.t + ["display", "-p", "-t", "t", "#{cursor_x} #{cursor_y}"], capture_output=True)
        x, y = p.stdout.decode().split()
        return int(x), int(y)

    def resize(self, w, h):
        subprocess.run(self.t + ["resize-window", "-t", "t", "-x", str(w), "-y", str(h)], check=True)

    def screen(self):
        p = subprocess.run(self.t + ["capture-pane", "-p", "-t", "t"], capture_output=True)
        return p.stdout.decode(errors="replace")

    def keys(self, *keys, literal=False):
        subprocess.run(self.t + ["send-keys", "-t", "t"] + (["-l"] if literal else []) + list(keys), check=True)
        time.sleep(0.15)

    def wait(self, pattern, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if re.search(pattern, s):
                return s
            time.sleep(0.1)
        raise AssertionError("screen never matched %r:\n%s" % (pattern, self.screen()))

    def alive(self):
        return subprocess.run(self.t + ["has-session", "-t", "t"], capture_output=True).returncode == 0

    def kill(self):
        subprocess.run(self.t + ["kill-server"], capture_output=True)



def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main(fn):
    """Runs fn(ymsg, ymsgd) with the paths from argv; a missing ymsgd is a failure, never a skip."""
    ymsg = sys.argv[1]
    ymsgd = sys.argv[2] if len(sys.argv) > 2 else ""
    if not ymsgd or not os.path.exists(ymsgd):
        print("FAIL: ymsgd not given or not built: %r" % ymsgd)
        sys.exit(1)
    fn(ymsg, ymsgd)
    print("ok")
