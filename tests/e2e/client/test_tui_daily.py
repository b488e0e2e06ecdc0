"""The terminal client for daily use, driven in tmux against the real ymsgd (issue 11): the status is kept
across a server restart (invisible never shows online), errors inside the UI with a password retry, scrollback,
history on disk and /search, /help, a bracketed paste sent as one message, CJK cursor placement, and a long
buddy list in 80x24.  Each step polls the screen with a generous deadline (the machine may be loaded)."""
import json
import os
import re
import shutil
import subprocess
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
        # (the client announces it in its first 0xC6, see the session unit test test_login_custom_status; ymsgd
        # itself still shows the logon as Available for a moment before that packet)
        quit_tui(tm)
    finally:
        if listener:
            listener.stop()
        tm.kill()
    no_sanitizer(home)


def write_history(home, account, peer, lines):
    d = os.path.join(home, ".local", "share", "ymsg", "logs", account)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, peer + ".jsonl"), "w") as f:
        for i, (who, text) in enumerate(lines):
            f.write(json.dumps({"t": 1700000000 + i, "from": who, "text": text}) + "\n")


def step_scrollback(ymsg, srv, c, home):
    """200 lines of history reload into bob's tab; PgUp reaches line 1 (dated: another day), PgDn returns."""
    write_history(home, "alice", "bob", [("bob", "line %d" % i) for i in range(1, 201)])
    tm = tui(c, srv.cred("alice"), home, "-o history_lines=300")
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/msg bob", literal=True)
        tm.keys("Enter")
        s = tm.wait(r"bob: line 200\b")
        check("2023-11-14" in s, "a line from another day carries its date:\n" + s)
        check(not re.search(r"bob: line 1\b", s), s)
        for _ in range(80):
            if re.search(r"bob: line 1\b", tm.screen()):
                break
            tm.keys("PageUp")
        s = tm.wait(r"bob: line 1\b")
        check("scrolled back" in s, s)
        # a new message while scrolled back does not move the view
        check(c.run(srv.cred("bob"), "send", "--to", "alice", "while you read")[0] == 0, "send")
        time.sleep(1.0)  # let it arrive; the check below holds whenever it does
        check(re.search(r"bob: line 1\b", tm.screen()), "the view jumped:\n" + tm.screen())
        for _ in range(80):
            if "scrolled back" not in tm.screen():
                break
            tm.keys("PageDown")
        tm.wait(r"bob: while you read")
        quit_tui(tm)
    finally:
        tm.kill()
    no_sanitizer(home)


def step_history(ymsg, srv, c, home):
    """Messages are logged (0600), come back after a restart of the TUI, and /search and Ctrl-R find them;
    history = off logs nothing."""
    tm = tui(c, srv.cred("alice"), home)
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/msg bob remember me \u2713", literal=True)
        tm.keys("Enter")
        tm.wait(r"alice: remember me \u2713")
        check(c.run(srv.cred("bob"), "send", "--to", "alice", "and the other one")[0] == 0, "send")
        tm.wait(r"bob: and the other one")
        quit_tui(tm)
    finally:
        tm.kill()
    path = os.path.join(home, ".local", "share", "ymsg", "logs", "alice", "bob.jsonl")
    check(os.path.exists(path), "no history file " + path)
    check(os.stat(path).st_mode & 0o777 == 0o600, "history file mode %o" % (os.stat(path).st_mode & 0o777))
    check(os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700, "history dir not 0700")
    lines = [json.loads(x) for x in open(path)]
    check([x["text"] for x in lines] == ["remember me \u2713", "and the other one"], lines)
    tm = tui(c, srv.cred("alice"), home)
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/msg bob", literal=True)
        tm.keys("Enter")
        tm.wait(r"(?s)alice: remember me \u2713.*bob: and the other one.*end of history")
        tm.keys("/search REMEMBER", literal=True)
        tm.keys("Enter")
        tm.wait(r"(?s)search \"REMEMBER\".*\] alice: remember me \u2713.*1 match\(es\)")
        tm.keys("C-r")
        tm.wait(r"Search this conversation")
        tm.keys("other one", literal=True)
        tm.keys("Enter")
        tm.wait(r"(?s)search \"other one\".*\] bob: and the other one.*1 match\(es\)")
        quit_tui(tm)
    finally:
        tm.kill()
    # logging off: nothing more is written
    size = os.path.getsize(path)
    tm = tui(c, srv.cred("alice"), home, "-o history=off")
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/msg bob not logged", literal=True)
        tm.keys("Enter")
        tm.wait(r"alice: not logged")
        quit_tui(tm)
    finally:
        tm.kill()
    check(os.path.getsize(path) == size, "history = off still logged")
    no_sanitizer(home)


def step_help(ymsg, srv, c, home):
    """/help lists the commands, /help CMD explains one, wrong arguments print the usage, F1 shows keys."""
    tm = tui(c, srv.cred("alice"), home)
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/help", literal=True)
        tm.keys("Enter")
        tm.wait(r"(?s)/msg USER \[TEXT\].*/search TEXT.*/quit")
        tm.keys("/help status", literal=True)
        tm.keys("Enter")
        tm.wait(r"/status NAME \[TEXT\] -- Sets your status")
        tm.keys("/status sleepy", literal=True)
        tm.keys("Enter")
        tm.wait(r"(?s)usage: /status NAME \[TEXT\].*status names: available brb busy")
        tm.keys("/move bob", literal=True)
        tm.keys("Enter")
        tm.wait(r"usage: /move USER GROUP")
        tm.keys("/frobnicate", literal=True)
        tm.keys("Enter")
        tm.wait(r"unknown command /frobnicate; /help lists them")
        tm.keys("F1")
        tm.wait(r"(?s)Keys \(any key closes\).*PgUp / PgDn")
        tm.keys("q")
        end = time.time() + 20
        while "any key closes" in tm.screen() and time.time() < end:
            time.sleep(0.1)
        check("any key closes" not in tm.screen(), "F1 screen did not close:\n" + tm.screen())
        # a resize leaves no stale rows: one status line, on the last row but one
        tm.resize(100, 26)
        tm.wait(r"\n alice \[Available\].*\n>")
        tm.resize(120, 32)
        end = time.time() + 20
        while time.time() < end:
            rows = tm.screen().rstrip("\n").split("\n")
            if len(rows) >= 32 and rows[30].startswith(" alice [Available]"):
                break
            time.sleep(0.1)
        rows = tm.screen().rstrip("\n").split("\n")
        check(sum(1 for r in rows if r.startswith(" alice [Available]")) == 1 and rows[30].startswith(" alice ["),
              "stale rows after a resize:\n" + tm.screen())
        # Ctrl-C asks first: No keeps the client, Yes quits
        tm.keys("C-c")
        tm.wait(r"Quit ymsg\?")
        tm.keys("Down")
        tm.keys("Enter")
        end = time.time() + 20
        while "Quit ymsg?" in tm.screen() and time.time() < end:
            time.sleep(0.1)
        check(tm.alive() and "Quit ymsg?" not in tm.screen(), "Ctrl-C then No:\n" + tm.screen())
        tm.keys("C-c")
        tm.wait(r"Quit ymsg\?")
        tm.keys("Enter")
        end = time.time() + 15
        while tm.alive() and time.time() < end:
            time.sleep(0.1)
        check(not tm.alive(), "Ctrl-C then Yes did not quit")
    finally:
        tm.kill()
    no_sanitizer(home)


def step_password(ymsg, srv, c, home):
    """A refused login shows the reason inside the UI and asks for a new password (not echoed)."""
    bad = os.path.join(home, "bad.cred")
    with open(bad, "w") as f:
        f.write("alice:not-the-password\n")
    tm = tui(c, bad, home)
    try:
        s = tm.wait(r"Login refused")
        check("not-the-password" not in s, s)
        tm.keys("pw-alice", literal=True)
        s = tm.screen()
        check("pw-alice" not in s, "password echoed:\n" + s)
        tm.keys("Enter")
        tm.wait(r"signed in as alice")
        quit_tui(tm)
    finally:
        tm.kill()
    err = no_sanitizer(home)
    check(err.strip() == "", "the TUI wrote to stderr behind curses: %r" % err)


def step_paste(ymsg, srv, c, home):
    """A 40-line bracketed paste is one message, sent after a confirmation."""
    tm = tui(c, srv.cred("alice"), home)
    listener = None
    try:
        tm.wait(r"signed in as alice")
        listener = c.listen(srv.cred("bob"), "--timeout", "90")
        listener.wait(lambda e: e["event"] == "buddy_list", what="bob's list", timeout=30)
        tm.keys("/msg bob", literal=True)
        tm.keys("Enter")
        tm.wait(r"\[1:bob\]")
        text = "\n".join("pasted line %02d" % i for i in range(1, 41))
        subprocess.run(tm.t + ["set-buffer", "-b", "p", text], check=True)
        subprocess.run(tm.t + ["paste-buffer", "-p", "-b", "p", "-t", "t"], check=True)
        tm.wait(r"Send this 40-line paste as one message\?")
        tm.keys("Enter")
        # (bob may first get offline messages from earlier steps)
        ev = listener.wait(lambda e: e["event"] == "message" and "pasted line" in e["text"], what="the paste",
                           timeout=30)
        check(ev["text"] == text, "paste arrived as %r" % ev["text"])
        tm.keys("/msg bob after the paste", literal=True)
        tm.keys("Enter")
        listener.wait(lambda e: e["event"] == "message" and e["text"] == "after the paste", what="next message",
                      timeout=30)
        pasted = [e for e in listener.snapshot() if e["event"] == "message" and "pasted line" in e["text"]]
        check(len(pasted) == 1, "the paste was split: %r" % pasted)
        quit_tui(tm)
    finally:
        if listener:
            listener.stop()
        tm.kill()
    no_sanitizer(home)


def step_width(ymsg, srv, c, home):
    """The cursor is placed by display width: CJK characters take two columns."""
    tm = tui(c, srv.cred("alice"), home)
    try:
        tm.wait(r"signed in as alice")
        tm.keys("\u65e5\u672c\u8a9e", literal=True)
        tm.wait(r"> \u65e5\u672c\u8a9e")
        end = time.time() + 20
        while tm.cursor()[0] != 8 and time.time() < end:
            time.sleep(0.1)
        check(tm.cursor()[0] == 8, "cursor at %r after 3 CJK characters (want x=8)" % (tm.cursor(),))
        tm.keys("Left")
        end = time.time() + 20
        while tm.cursor()[0] != 6 and time.time() < end:
            time.sleep(0.1)
        check(tm.cursor()[0] == 6, "cursor at %r after Left (want x=6)" % (tm.cursor(),))
        tm.keys("C-u")
        quit_tui(tm)
    finally:
        tm.kill()
    no_sanitizer(home)


def step_buddies(ymsg, srv, c, home):
    """41 buddies in an 80x24 terminal: the list scrolls with the selection down to the last one."""
    names = ["pal%02d" % i for i in range(1, 42)]
    for n in names:
        srv.add_user(n)
        check(c.run(srv.cred("alice"), "add", n, "--group", "Many")[0] == 0, "add " + n)
    tm = tui(c, srv.cred("alice"), home, w=80, h=24)
    try:
        tm.wait(r"signed in as alice")
        tm.wait(r"\[-\] Many")
        for _ in range(60):
            tm.keys("Down")
            if re.search(r"pal41", tm.screen()):
                break
        s = tm.wait(r"pal41")
        tm.keys("Down")
        tm.keys("Enter")
        tm.wait(r"\[1:pal41\]")
        # back to the top: the first rows come back
        for _ in range(60):
            tm.keys("Up")
            if re.search(r"\[-\] Friends", tm.screen()):
                break
        tm.wait(r"\[-\] Friends")
        quit_tui(tm)
    finally:
        tm.kill()
    no_sanitizer(home)


def step_outbox(ymsg, srv, c, home):
    """A message typed while the server is down is kept and sent after the reconnect."""
    tm = tui(c, srv.cred("alice"), home)
    listener = None
    try:
        tm.wait(r"signed in as alice")
        tm.keys("/msg bob", literal=True)
        tm.keys("Enter")
        tm.wait(r"\[1:bob\]")
        srv.halt()
        tm.wait(r"reconnecting", timeout=30)
        tm.keys("typed while away", literal=True)
        tm.keys("Enter")
        tm.wait(r"will be sent when the connection is back")
        srv.start()
        listener = c.listen(srv.cred("bob"), "--timeout", "120")
        listener.wait(lambda e: e["event"] == "message" and e["text"] == "typed while away",
                      what="the kept message", timeout=90)
        tm.wait(r"alice: typed while away")
        quit_tui(tm)
    finally:
        if listener:
            listener.stop()
        tm.kill()
    no_sanitizer(home)


def step_addback(ymsg, srv, c, home):
    """Accepting an authorisation request offers to add the requester back."""
    srv.add_user("erin")
    tm = tui(c, srv.cred("alice"), home)
    try:
        tm.wait(r"signed in as alice")
        check(c.run(srv.cred("erin"), "add", "alice")[0] == 0, "erin adds alice")
        tm.wait(r"erin wants to add you")
        tm.keys("/accept erin", literal=True)
        tm.keys("Enter")
        tm.wait(r"Add erin to your list too\?")
        tm.keys("Enter")
        tm.wait(r"asked erin for authorisation")
        rc, out, err = c.run(srv.cred("erin"), "buddies", "--json")
        check(rc == 0 and [r for r in json.loads(out)["requests"] if r["from"] == "alice"], out)
        quit_tui(tm)
    finally:
        tm.kill()
    no_sanitizer(home)


STEP_FUNCS = [("privacy", step_privacy), ("scrollback", step_scrollback), ("history", step_history),
              ("help", step_help), ("password", step_password), ("paste", step_paste), ("width", step_width),
              ("buddies", step_buddies), ("outbox", step_outbox), ("addback", step_addback)]


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
