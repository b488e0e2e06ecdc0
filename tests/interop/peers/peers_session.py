#!/usr/bin/env python3
"""One real Yahoo! client (nobody here wrote it) through a whole session against the real ymsgd.

usage: peers_session.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --client NAME [--two-listeners]

KIT is ../shared/peers (build.sh, certs.sh), WORKDIR its build (see build_kit.sh).  The client under test
is alice; bob is another real client from the kit (libpurple or OpenYMSG), carol and dave are driven with
our own `ymsg`.  Steps: wrong password, login, buddy list, presence (online, invisible = offline, back,
in both directions), IMs both ways (UTF-8 where the client supports it), buzz both ways, typing both ways,
add buddy + authorisation both ways, logoff.  A step the client cannot do is named and not run; anything
missing from the environment (kit, build, a program) is a FAIL with the reason, never a skip.
"""
import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SUBJECTS = ("libpurple", "libyahoo2", "openymsg")
# what each client prints (kit README "The drivers"); {b} is the buddy, {t} a text
EVENTS = {
    "libpurple": {
        "login_ok": [r" signed-on "], "login_bad": [r" connection-error "],
        "listed_online": [r"blist   buddy={b} online=1"],
        "online": [r" buddy-signed-on {b}$", r" buddy-status-changed {b} .* online=1"],
        "offline": [r" buddy-signed-off {b}$", r" buddy-status-changed {b} .* online=0"],
        "im": [r" received-im-msg from={b} flags=\S+ msg={t}$"],
        "buzz": [r" got-attention \(buzz\) from={b} "], "typing": [r" buddy-typing {b}$"],
        "auth_request": [r" auth-request from={b} "], "exit": [r" exit$"],
    },
    "openymsg": {
        "login_ok": [r" authenticationSuccess"], "login_bad": [r" authenticationFailure", r" connectionFailure"],
        "listed_online": [r"blist   buddy={b} status=AVAILABLE"],
        "online": [r" statusUpdate {b} status=AVAILABLE"],
        "offline": [r" statusUpdate {b} status=OFFLINE"],
        "im": [r" receivedMessage from={b} msg={t}$"],
        "buzz": [r" receivedBuzz from={b}$"], "typing": [r" receivedTypingNotification from={b} typing=true"],
        "auth_request": [r" receivedContactAddRequest id=\S* from={b} "], "exit": [r" exit state="],
    },
    "libyahoo2": {
        "login_ok": [r"logged in"], "login_bad": [r"Could not log into"],
        "listed_online": [r"\({b}\) is now Available"],
        "online": [r"\({b}\) is now Available"],
        "offline": [r"\({b}\) is now (Offline|Invisible)", r"\({b}\) is now .*[Oo]ffline"],
        "im": [r"\[alice\]{b}: {t}$"],
        "buzz": [r"\[alice\]{b}: \*\*DING\*\*"], "typing": [r"\[alice\]{b} is typing"],
        "auth_request": None, "exit": [r"logged_out"],
    },
}
# what each client can send (kit README command table)
CAN = {"libpurple": {"typing", "add", "utf8"}, "openymsg": {"typing", "add", "accept", "utf8"}, "libyahoo2": set()}
COUNTERPART = {"libpurple": "openymsg", "openymsg": "libpurple", "libyahoo2": "libpurple"}


def fail(msg):
    print("FAIL setup: " + msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Peer:
    """A kit driver process: commands on stdin, one event per line on stdout (collected by a thread)."""

    def __init__(self, name, kind, cmd, env, logdir):
        self.name, self.kind = name, kind
        self.lines = []
        self.lock = threading.Lock()
        self.err = open(os.path.join(logdir, "%s-%s.err" % (name, kind)), "wb")
        self.outlog = open(os.path.join(logdir, "%s-%s.out" % (name, kind)), "w", encoding="utf-8")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, env=env,
                                     start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.lock:
                self.lines.append(line)
            self.outlog.write(line + "\n")
            self.outlog.flush()

    def mark(self):
        with self.lock:
            return len(self.lines)

    def say(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode("utf-8"))
            self.proc.stdin.flush()
            return True
        except OSError:
            return False

    def find(self, patterns, since=0):
        with self.lock:
            for line in self.lines[since:]:
                for p in patterns:
                    if re.search(p, line):
                        return line
        return None

    def wait(self, patterns, since=0, timeout=20.0, repeat=None, every=2.0):
        """First line after `since` matching one of the regexes, within timeout; `repeat` is a command
        sent every `every` seconds meanwhile (e.g. blist)."""
        deadline, next_say = time.time() + timeout, 0.0
        while time.time() < deadline:
            if repeat and time.time() >= next_say:
                self.say(repeat)
                next_say = time.time() + every
            hit = self.find(patterns, since)
            if hit:
                return hit
            if self.proc.poll() is not None and self.thread.is_alive() is False:
                return self.find(patterns, since)
            time.sleep(0.1)
        return None

    def gone(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            if not self.gone(8):
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.thread.join(2)


class Session:
    def __init__(self, a):
        self.a = a
        self.kit, self.work = os.path.abspath(a.kit), os.path.abspath(a.work)
        self.tmp = tempfile.mkdtemp(prefix="peers-%s-" % a.client)
        self.fails = 0
        self.procs = []
        self.nonce = random.randint(10000, 99999)
        self.pw = "Secret-%d" % random.randint(10 ** 8, 10 ** 9)

    # ---- reporting -------------------------------------------------------------------------------
    def step(self, name, ok, detail=""):
        print("%-10s %-22s %s  %s" % (self.a.client, name, "PASS" if ok else "FAIL", detail))
        sys.stdout.flush()
        if not ok:
            self.fails += 1
        return ok

    def na(self, name, why):
        print("%-10s %-22s n/a   %s" % (self.a.client, name, why))

    # ---- environment -----------------------------------------------------------------------------
    def check_kit(self):
        if not os.path.isfile(os.path.join(self.kit, "build.sh")):
            fail("the real-client kit is missing: no %s/build.sh (expected ../shared/peers next to the "
                 "source tree)" % self.kit)
        t0 = time.time()
        r = subprocess.run(["bash", self.a.build_kit, self.kit, self.work], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        print(r.stdout.decode(errors="replace").strip() + " (waited %.0f s)" % (time.time() - t0))
        if r.returncode != 0:
            fail("the real-client kit could not be built: %s" % r.stdout.decode(errors="replace").strip())
        for c in (self.a.client, COUNTERPART[self.a.client]):
            exe = os.path.join(self.work, "bin", c + "-peer")
            if not os.access(exe, os.X_OK):
                fail("%s not built: %s" % (c, exe))
        for exe in (self.a.ymsgd, self.a.ymsg):
            if not os.access(exe, os.X_OK):
                fail("not executable: %s" % exe)

    def start_server(self):
        self.certs = os.path.join(self.tmp, "certs")
        r = subprocess.run(["bash", os.path.join(self.kit, "certs.sh"), self.certs], capture_output=True, timeout=60)
        if r.returncode != 0:
            fail("certs.sh: %s" % r.stderr.decode(errors="replace"))
        self.data = os.path.join(self.tmp, "data")
        for u in ("alice", "bob", "carol", "dave") + tuple(getattr(self, "extra_users", ())):
            r = subprocess.run([self.a.ymsgd, "--data-dir", self.data, "--pwhash-opslimit", "1", "--pwhash-memlimit",
                                "8192", "user", "add", u], input=(self.pw + "\n").encode(), capture_output=True,
                               timeout=30)
            if r.returncode != 0:
                fail("ymsgd user add %s: %s" % (u, r.stderr.decode(errors="replace")))
        for attempt in range(5):
            self.p_pager, self.p_pager2, self.p_http, self.p_https = (free_port() for _ in range(4))
            listen = "127.0.0.1:%d" % self.p_pager
            if self.a.two_listeners:
                listen += ",127.0.0.1:%d" % self.p_pager2
            self.srvlog = os.path.join(self.tmp, "ymsgd.log")
            self.server = subprocess.Popen(
                [self.a.ymsgd, "--data-dir", self.data, "--ymsg-listen", listen,
                 "--http-listen", "127.0.0.1:%d" % self.p_http, "--https-listen", "127.0.0.1:%d" % self.p_https,
                 "--tls-cert", os.path.join(self.certs, "server-chain.pem"),
                 "--tls-key", os.path.join(self.certs, "server.key"), "--capacity-host", "127.0.0.1",
                 "--log-level", "debug"] + list(getattr(self, "server_extra", ())),
                stdout=subprocess.DEVNULL, stderr=open(self.srvlog, "ab"))
            ports = [self.p_pager, self.p_http, self.p_https] + ([self.p_pager2] if self.a.two_listeners else [])
            deadline = time.time() + 10
            while time.time() < deadline and self.server.poll() is None:
                try:
                    for p in ports:
                        socket.create_connection(("127.0.0.1", p), timeout=0.5).close()
                    return
                except OSError:
                    time.sleep(0.1)
            if self.server.poll() is None:
                self.server.kill()
            self.server.wait()
        fail("ymsgd did not start (log %s):\n%s" % (self.srvlog, open(self.srvlog, errors="replace").read()[-3000:]))

    def ymsg(self, user, *args, password=None, background=False, timeout=40):
        env = dict(os.environ, YMSG_USER=user, YMSG_PASSWORD=password or self.pw)
        cmd = [self.a.ymsg, "--server", "127.0.0.1:%d" % self.p_pager, "--login-url",
               "https://127.0.0.1:%d" % self.p_https, "--ca-file", os.path.join(self.certs, "ca.pem"),
               "--timeout", "30"] + list(args)
        if background:
            out = open(os.path.join(self.tmp, "%s-ymsg-%d.jsonl" % (user, len(self.procs))), "w+")
            p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
            p.out = out
            self.procs.append(p)
            return p
        return subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)

    def purple_userdir(self, user):
        """A fresh libpurple user directory that trusts this session's server.  libpurple trusts a server
        certificate cached for the host (its tls_peers pool) without a CA, so nothing is written into the
        kit: the kit's libpurple-peer copies PEER_CERTS's CA into the kit's one shared ca-certs directory
        at every start, and the interop tests run in parallel, each with its own CA -- one test's CA
        replaced (or half-wrote) another's while its libpurple was logging in."""
        userdir = tempfile.mkdtemp(prefix="purple-%s-" % user, dir=self.tmp)
        peers_dir = os.path.join(userdir, "certificates", "x509", "tls_peers")
        os.makedirs(peers_dir)
        shutil.copy(os.path.join(self.certs, "server.crt"), os.path.join(peers_dir, "login.yahoo.com"))
        return userdir

    def shim_env(self, pager=None, **extra):
        """The environment of a client behind the kit's shim: the Yahoo host names resolve to loopback and
        ports 80/443/5050 map to this ymsgd's."""
        return dict(os.environ, SHIM_PORTMAP="80:%d,443:%d,5050:%d" % (self.p_http, self.p_https, pager or self.p_pager),
                    **extra)

    def befriend(self, *pairs):
        """Setup, not under test: for each (a, b), a adds b (group Friends) and b accepts, through `ymsg`."""
        for a, b in pairs:
            for args in ((a, "add", b, "--group", "Friends"), (b, "accept", a)):
                r = self.ymsg(args[0], *args[1:])
                if r.returncode != 0:
                    fail("ymsg %s: %s" % (" ".join(args), (r.stdout + r.stderr).decode(errors="replace")))

    def peer(self, kind, user, password=None, pager=None):
        env = self.shim_env(pager, PEER_CERTS=self.certs, LY2_LOGLEVEL="6")
        cmd = [os.path.join(self.work, "bin", kind + "-peer"), user, password or self.pw]
        if kind == "libpurple":
            del env["PEER_CERTS"]  # (the wrapper would write it into the shared kit: purple_userdir)
            cmd.append(self.purple_userdir(user))
        p = Peer(user, kind, cmd, env, self.tmp)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if isinstance(p, Peer):
                p.stop()
            elif p.poll() is None:
                p.kill()
                p.wait()
        if getattr(self, "server", None) and self.server.poll() is None:
            self.server.terminate()
            try:
                rc = self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
                rc = "no exit within 10 s of SIGTERM"
            # ymsgd stops cleanly, and in the sanitizer build reports nothing (a leak shows at exit)
            log = open(self.srvlog, errors="replace").read()
            marks = [m for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:") if m in log]
            self.step("ymsgd-stop", rc == 0 and not marks,
                      "exit %s%s (log %s)" % (rc, ", " + ", ".join(marks) if marks else "", self.srvlog))

    # ---- the session -----------------------------------------------------------------------------
    def ev(self, kind, what, **kw):
        pats = EVENTS[kind][what]
        kw = {k: re.escape(v) for k, v in kw.items()}
        return [p.format(**kw) for p in pats]

    def run(self):
        c, cp = self.a.client, COUNTERPART[self.a.client]
        utf = "utf8" in CAN[c]
        text = (lambda s: "héllo ✓ 你好 %s %d" % (s, self.nonce)) if utf else (lambda s: "hello %s %d" % (s, self.nonce))

        # setup (not under test): alice and bob are each other's authorised buddies
        self.befriend(("alice", "bob"), ("bob", "alice"))

        # wrong password: a refusal the client reports (dave has his own failure budget)
        wrong = self.peer(c, "dave", password="not-" + self.pw)
        hit = wrong.wait(self.ev(c, "login_bad") + self.ev(c, "login_ok"), timeout=45)
        self.step("wrong-password", bool(hit) and bool(wrong.find(self.ev(c, "login_bad"))), hit or "no answer in 45 s")
        wrong.stop()

        bob = self.peer(cp, "bob")
        if not bob.wait(self.ev(cp, "login_ok"), timeout=45):
            fail("counterpart %s (bob) did not log in; see %s" % (cp, self.tmp))
        pager = self.p_pager2 if self.a.two_listeners else None
        alice = self.peer(c, "alice", pager=pager)
        hit = alice.wait(self.ev(c, "login_ok") + self.ev(c, "login_bad"), timeout=45)
        if not self.step("login", bool(hit) and bool(alice.find(self.ev(c, "login_ok"))),
                         (hit or "no answer in 45 s") + (" (second pager listener)" if pager else "")):
            return
        self.step("list", bool(alice.wait(self.ev(c, "listed_online", b="bob"), timeout=25, repeat="blist", every=3)),
                  "bob listed online")
        self.step("presence-seen-online", bool(bob.wait(self.ev(cp, "online", b="alice") +
                                                        self.ev(cp, "listed_online", b="alice"), timeout=25,
                                                        repeat="blist", every=3)), "bob sees alice online")

        m = bob.mark()
        t = text("from %s" % c)
        alice.say("im bob " + t)
        self.step("im-out", bool(bob.wait(self.ev(cp, "im", b="alice", t=t), m)), t)
        m = alice.mark()
        t = text("to %s" % c)
        bob.say("im alice " + t)
        self.step("im-in", bool(alice.wait(self.ev(c, "im", b="bob", t=t), m)), t)

        m = bob.mark()
        alice.say("buzz bob")
        self.step("buzz-out", bool(bob.wait(self.ev(cp, "buzz", b="alice"), m)))
        m = alice.mark()
        bob.say("buzz alice")
        self.step("buzz-in", bool(alice.wait(self.ev(c, "buzz", b="bob"), m)))

        if "typing" in CAN[c]:
            m = bob.mark()
            alice.say("typing bob")
            self.step("typing-out", bool(bob.wait(self.ev(cp, "typing", b="alice"), m)))
            alice.say("stoptyping bob")
        else:
            self.na("typing-out", "%s's client has no typing command" % c)
        m = alice.mark()
        bob.say("typing alice")
        self.step("typing-in", bool(alice.wait(self.ev(c, "typing", b="bob"), m)))
        bob.say("stoptyping alice")

        # presence: invisible is seen as offline, and back, both ways
        m = alice.mark()
        bob.say("status invisible")
        self.step("presence-bob-invisible", bool(alice.wait(self.ev(c, "offline", b="bob"), m)), "seen as offline")
        m = alice.mark()
        bob.say("status available")
        self.step("presence-bob-back", bool(alice.wait(self.ev(c, "online", b="bob"), m)), "seen online")
        m = bob.mark()
        alice.say("status invisible")
        self.step("presence-alice-invisible", bool(bob.wait(self.ev(cp, "offline", b="alice"), m)), "seen as offline")
        m = bob.mark()
        alice.say("status available")
        self.step("presence-alice-back", bool(bob.wait(self.ev(cp, "online", b="alice"), m)), "seen online")

        # add buddy + authorisation, both directions, with carol on our own client
        if "add" in CAN[c]:
            alice.say("add carol Friends")
            time.sleep(2)
            r = self.ymsg("carol", "accept", "alice")
            m = alice.mark()
            carol = self.ymsg("carol", "listen", "--json", "--timeout", "40", background=True)
            ok = r.returncode == 0 and bool(alice.wait(self.ev(c, "online", b="carol"), m, timeout=25))
            self.step("add-and-authorised", ok, "alice added carol, carol accepted, alice sees carol online"
                      if ok else "ymsg accept rc=%d %s" % (r.returncode, (r.stdout + r.stderr).decode(errors="replace")))
            carol.terminate()
            carol.wait()
        else:
            self.na("add-and-authorised", "%s's client has no add command" % c)
        if EVENTS[c]["auth_request"]:
            m = alice.mark()
            r = self.ymsg("carol", "add", "alice", "--group", "Friends", "--message", "please add me")
            hit = alice.wait(self.ev(c, "auth_request", b="carol"), m)
            if "accept" in CAN[c]:
                alice.say("accept carol")
            ok = r.returncode == 0 and bool(hit)
            if ok:
                carol = self.ymsg("carol", "listen", "--json", "--timeout", "15", background=True)
                deadline = time.time() + 15
                while time.time() < deadline and '"who":"alice","online":true' not in open(carol.out.name).read():
                    time.sleep(0.2)
                ok = '"who":"alice","online":true' in open(carol.out.name).read()
                carol.terminate()
                carol.wait()
            self.step("authorisation-request", ok, "carol asked, alice accepted, carol sees alice online"
                      if ok else "hit=%r rc=%d" % (hit, r.returncode))
        else:
            self.na("authorisation-request", "%s's client does not show or answer requests" % c)

        # logoff: the client quits, its process ends, bob sees alice go offline
        m = bob.mark()
        alice.say("quit")
        gone = alice.gone(20)
        seen = bool(bob.wait(self.ev(cp, "offline", b="alice"), m, timeout=15))
        self.step("logoff", gone and seen, "exited=%s bob-saw-offline=%s" % (gone, seen))


def build_purple_front_end(name, work, outdir):
    """tests/interop/peers/NAME.c (one of our libpurple front ends, with purple_common.h) built against the
    kit's libpurple in work (the kit's own build line, build.sh step 4) into outdir; rebuilt when a
    source is newer.  Returns the executable."""
    here = os.path.dirname(os.path.abspath(__file__))
    exe = os.path.join(outdir, name)
    src, common = os.path.join(here, name + ".c"), os.path.join(here, "purple_common.h")
    if os.path.exists(exe) and os.path.getmtime(exe) >= max(os.path.getmtime(src), os.path.getmtime(common)):
        return exe
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0"], capture_output=True, text=True)
    if flags.returncode != 0:
        fail("pkg-config glib-2.0: %s (scripts/deps.sh test installs libglib2.0-dev)" % flags.stderr)
    pur = os.path.join(work, "purple")
    r = subprocess.run(["cc", "-O1", "-g", "-Wall", "-Wno-deprecated-declarations", "-o", exe, src,
                        "-I" + os.path.join(pur, "include", "libpurple"), "-L" + os.path.join(pur, "lib"),
                        "-Wl,-rpath," + os.path.join(pur, "lib"), "-lpurple"] + flags.stdout.split(),
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("building %s.c: %s" % (name, r.stderr[-3000:]))
    return exe


def run_main(run=None, client=None, label=None, front_end=None, prepare=None):
    """The command line every driver here shares: a Session against a fresh ymsgd, then run(session)
    (default: the session's own end-to-end run), one line of summary, exit 1 on any failed step.
    client fixes the real client (the conference and room drivers are libyahoo2's sample client).
    front_end: one of our libpurple front ends (build_purple_front_end, into --out), built before the
    server starts and passed as run(session, exe); prepare(session) runs before the server starts."""
    ap = argparse.ArgumentParser()
    for k in ("--kit", "--work", "--ymsgd", "--ymsg"):
        ap.add_argument(k, required=True)
    if front_end:
        ap.add_argument("--out", required=True, help="where the front end is built")
        client = "libpurple"
    if client is None:
        ap.add_argument("--client", required=True)
        ap.add_argument("--two-listeners", action="store_true", help="ymsgd --ymsg-listen A,B; the client uses B")
    ap.add_argument("--build-kit", required=True, help="build_kit.sh (brings WORKDIR up to date first)")
    a = ap.parse_args()
    if client is not None:
        a.client, a.two_listeners = client, False
    if a.client not in SUBJECTS:
        fail("unknown client %s" % a.client)
    s = Session(a)
    s.check_kit()
    exe = build_purple_front_end(front_end, s.work, os.path.abspath(a.out)) if front_end else None
    if prepare:
        prepare(s)
    t0 = time.time()
    try:
        s.start_server()
        if front_end:
            run(s, exe)
        else:
            (run or Session.run)(s)
    finally:
        s.cleanup()
    print("%s: %d failed, %.1f s; evidence in %s" % (label or a.client, s.fails, time.time() - t0, s.tmp))
    if s.fails == 0:
        shutil.rmtree(s.tmp, ignore_errors=True)
    sys.exit(1 if s.fails else 0)


def main():
    run_main()


if __name__ == "__main__":
    main()
