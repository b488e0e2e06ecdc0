"""The terminal client for daily use, driven in tmux against the real ymsgd (issue 11): the status is kept
across a server restart (invisible never shows online), errors inside the UI with a password retry, scrollback,
history on disk and /search, /help, a bracketed paste sent as one message, CJK cursor placement, and a long
buddy list in 80x24.  Each step polls the screen with a generous deadline (the machine may be loaded)."""
import json
import os
import shutil
import sys
import time

from harness import Client, Server, Tmux, check, main

STEPS = sys.argv[3].split(",") if len(sys.argv) > 3 else None


def tui(c, cred, home, extra="", w=120, h=32, errlog=None):
    """The TUI in tmux with its own HOME (config, history) and a UTF-8 locale."""
    err = errlog or os.path.join(home, "tui.stderr")
    cmd = "env HOME=%s XDG_CONFIG_HOME= XDG_DATA_HOME= LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color %s %s %s 2>>%s" % (
        home, " ".join(c.base), ("--credentials %s" % cred) if cred else "", extra, err)
    return Tmux(cmd, w, h)


def no_sanitizer(home):
    p = os.path.join(home, "tui.stderr")
    if os.path.exists(p):
        err = open(p, errors="replace").read()
        check("Sanitizer" not in err and "runtime error" not in err, "the TUI tripped a sanitizer:\n" + err)
        return err
    return ""


def quit_tui(tm):
    tm.keys("/quit", literal=True)
    tm.keys("Enter")
    end = time.time() + 15
    while tm.alive() and time.time() < end:
        time.sleep(0.1)
    check(not tm.alive(), "/quit did not end the TUI:\n" + tm.screen())


def befriend(c, srv, a, b):
    """a and b see each other's presence."""
    A, B = srv.cred(a), srv.cred(b)
    check(c.run(A, "add", b)[0] == 0, "%s adds %s" % (a, b))
    check(c.run(B, "accept", a)[0] == 0, "%s accepts" % b)
    check(c.run(B, "add", a)[0] == 0, "%s adds %s" % (b, a))
    check(c.run(A, "accept", b)[0] == 0, "%s accepts" % a)


def alice_online_events(listener):
    return [e for e in listener.snapshot() if e.get("event") == "presence" and e.get("who") == "alice" and e.get("online")]


def step_privacy(ymsg, srv, c, home):
    """Invisible stays invisible across a server restart: bob, watching from before alice's TUI comes back,
    never sees her online; a custom message comes back with the reconnect."""
    tm = tui(c, srv.cred("alice"), home)
    listener = None
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/status invisible", literal=True)
        tm.keys("Enter")
        tm.wait(r"alice \[Invisible\]")
        srv.halt()
        tm.wait(r"reconnecting in \d+ s", timeout=30)
        srv.start()
        # bob signs in as soon as the server is back; whether alice's reconnect comes before or after, a
        # visible alice would show in bob's initial presence list or as a presence event
        listener = c.listen(srv.cred("bob"), "--timeout", "120")
        listener.wait(lambda e: e["event"] == "buddy_list", what="bob's list", timeout=30)
        tm.wait(r"(?s)signed in as alice.*signed in as alice", timeout=60)
        tm.wait(r"alice \[Invisible\]")
        # a message from alice proves her session is fully up; then give presence time to (not) arrive
        check(c.run(srv.cred("bob"), "send", "--to", "alice", "are you there")[0] == 0, "bob sends")
        tm.wait(r"\[1:bob\(\d+\)\]")
        time.sleep(1.0)  # lets a (wrong) presence packet reach bob; the assertion does not depend on timing
        check(not alice_online_events(listener), "bob saw alice online after the restart: %r" % listener.snapshot())
        listener.stop()
        listener = None
        rc, out, err = c.run(srv.cred("bob"), "buddies", "--json")
        check(rc == 0, err)
        al = [b for b in json.loads(out)["buddies"] if b["id"] == "alice"]
        check(al and not al[0]["online"], "bob's list shows alice online: " + out)
        # a custom message is kept too
        listener = c.listen(srv.cred("bob"), "--timeout", "120")
        listener.wait(lambda e: e["event"] == "buddy_list", what="bob's list", timeout=30)
        tm.keys("/status custom out for tea", literal=True)
        tm.keys("Enter")
        listener.wait(lambda e: e["event"] == "presence" and e["who"] == "alice" and e["online"] and
                      e["message"] == "out for tea", what="alice's custom status", timeout=30)
        listener.stop()
        listener = None
        srv.halt()
        tm.wait(r"(?s)signed in as alice.*reconnecting in \d+ s.*reconnecting in \d+ s", timeout=30)
        srv.start()
        listener = c.listen(srv.cred("bob"), "--timeout", "120")
        tm.wait(r"(?s)(signed in as alice.*){3}", timeout=60)
        ev = listener.wait(lambda e: e["event"] == "presence" and e["who"] == "alice" and e["online"] and
                           e["message"] == "out for tea", what="custom status after the restart", timeout=30)
        check(ev["status"] == 99, ev)
        quit_tui(tm)
    finally:
        if listener:
            listener.stop()
        tm.kill()
    no_sanitizer(home)


STEP_FUNCS = [("privacy", step_privacy)]


def run(ymsg, ymsgd):
    check(shutil.which("tmux"), "tmux is not installed (apt-get install tmux): the TUI tests need it")
    srv = Server(ymsgd, ["alice", "bob", "carol"])
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http)
        befriend(c, srv, "alice", "bob")
        for name, fn in STEP_FUNCS:
            if STEPS and name not in STEPS:
                continue
            home = os.path.join(srv.dir, "home-" + name)
            os.makedirs(home)
            c = Client(ymsg, "127.0.0.1", srv.port, srv.http)  # ports may change with a restart
            fn(ymsg, srv, c, home)
            print("step %s: ok" % name, flush=True)
    finally:
        srv.stop()


if __name__ == "__main__":
    main(run)
