"""The terminal client driven in tmux against the real ymsgd: buddy pane, tabs with unread counts and
timestamps, typing indicator, buzz, UTF-8 input, status menu (invisible), add-buddy dialog,
authorisation prompt, kick by a second login, and reconnect with backoff after a server restart."""
import os
import re
import shutil
import subprocess
import sys
import time

from harness import Client, Server, Tmux, check, main


def run(ymsg, ymsgd):
    check(shutil.which("tmux"), "tmux is not installed (apt-get install tmux): the TUI tests need it")
    srv = Server(ymsgd, ["alice", "bob", "carol"])
    tm = None
    listener = None
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http)
        A, B, C = srv.cred("alice"), srv.cred("bob"), srv.cred("carol")
        check(c.run(A, "add", "bob", "--group", "Pals")[0] == 0, "add bob")
        check(c.run(B, "accept", "alice")[0] == 0, "accept")
        check(c.run(B, "add", "alice")[0] == 0, "bob adds alice")  # so that bob sees alice's presence
        check(c.run(A, "accept", "bob")[0] == 0, "alice accepts")
        # credentials from the terminal prompt (no file, no environment); the password is not echoed
        out = os.path.join(srv.dir, "prompt.out")
        pr = Tmux("env -u YMSG_USER -u YMSG_PASSWORD %s buddies >%s 2>&1; sleep 30" % (" ".join(c.base), out))
        try:
            pr.wait(r"Yahoo ID:")
            pr.keys("alice", literal=True)
            pr.keys("Enter")
            pr.wait(r"Password:")
            pr.keys("pw-alice", literal=True)
            pr.keys("Enter")
            end = time.time() + 15
            while time.time() < end and "Pals" not in open(out).read():
                time.sleep(0.1)
            check("Pals" in open(out).read() and "bob" in open(out).read(), open(out).read())
            check("pw-alice" not in pr.screen(), "password echoed:\n" + pr.screen())
        finally:
            pr.kill()
        errlog = os.path.join(srv.dir, "tui.stderr")  # sanitizer reports of the TUI end up here
        cmd = "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color %s --credentials %s 2>%s" % (
            " ".join(c.base), A, errlog)
        tm = Tmux(cmd)
        tm.wait(r"signed in as alice")
        tm.wait(r"Pals")
        s = tm.wait(r"\n\s+bob")
        # a message arrives in a new tab with an unread count
        check(c.run(B, "send", "--to", "alice", "hi tui \u2713")[0] == 0, "send")
        tm.wait(r"\[1:bob\(\d+\)\]")
        tm.keys("C-n")
        s = tm.wait(r"\d\d:\d\d bob: hi tui \u2713")
        check("[1:bob]" in s, "unread count cleared when shown:\n" + s)
        # typing indicator and buzz
        check(c.run(B, "typing", "--to", "alice")[0] == 0, "typing")
        tm.wait(r"bob is typing\.\.\.")
        check(c.run(B, "buzz", "--to", "alice")[0] == 0, "buzz")
        tm.wait(r"bob: BUZZ!!!")
        # UTF-8 input goes out as UTF-8
        listener = c.listen(B, "--timeout", "40")
        listener.wait(lambda e: e["event"] == "buddy_list", what="bob listening")
        tm.keys("h\u00e9llo \u2713 \u65e5\u672c from the tui", literal=True)
        tm.keys("Enter")
        ev = listener.wait(lambda e: e["event"] == "message", what="reply from the tui")
        check(ev["text"] == "h\u00e9llo \u2713 \u65e5\u672c from the tui" and ev["from"] == "alice", ev)
        listener.wait(lambda e: e["event"] == "typing" and e["typing"], what="typing from the tui")
        tm.wait(r"alice: h\u00e9llo")
        # status menu: invisible; bob sees alice go offline
        tm.keys("F2")
        tm.wait(r"Invisible")
        for _ in range(8):
            tm.keys("Down")
        tm.keys("Enter")
        tm.wait(r"alice \[Invisible\]")
        listener.wait(lambda e: e["event"] == "presence" and e["who"] == "alice" and not e["online"],
                      what="alice offline to bob")
        tm.keys("/status available", literal=True)
        tm.keys("Enter")
        tm.wait(r"alice \[Available\]")
        listener.stop()
        listener = None
        # add-buddy dialog
        tm.keys("F3")
        tm.wait(r"Add buddy")
        tm.keys("carol", literal=True)
        tm.keys("Enter")
        tm.wait(r"Group")
        tm.keys("Work", literal=True)
        tm.keys("Enter")
        tm.keys("C-p")  # back to the status tab
        tm.wait(r"Add buddy carol: ok")
        tm.wait(r"\n\[-\] Work")
        # an authorisation request shows a prompt; /accept answers it
        check(c.run(C, "add", "alice", "--message", "let me in")[0] == 0, "carol adds alice")
        tm.wait(r"carol wants to add you: let me in")
        tm.wait(r"authorisation request")
        tm.keys("F5")
        tm.wait(r"\+- carol wants to add you -")
        tm.wait(r"Accept")
        tm.keys("Enter")
        tm.wait(r"accepted carol")
        rc, out, _ = c.run(C, "buddies", "--json")
        import json
        check([b for b in json.loads(out)["buddies"] if b["id"] == "alice" and not b["pending"]], out)
        # /decline from the command line
        srv_users_add = subprocess.run([ymsgd, "user", "add", "dave", "--data-dir", srv.data, "--pwhash-opslimit",
                                        "1", "--pwhash-memlimit", "8192"], input=b"pw-dave\n", capture_output=True)
        check(srv_users_add.returncode == 0, srv_users_add.stderr)
        with open(srv.cred("dave"), "w") as f:
            f.write("dave:pw-dave\n")
        check(c.run(srv.cred("dave"), "add", "alice")[0] == 0, "dave adds alice")
        tm.wait(r"dave wants to add you")
        tm.keys("/decline dave not now", literal=True)
        tm.keys("Enter")
        tm.wait(r"declined dave")
        # a second login kicks the TUI; /reconnect takes the session back
        check(c.run(A, "buddies")[0] == 0, "second login")
        tm.wait(r"signed in from another location")
        tm.keys("/reconnect", literal=True)
        tm.keys("Enter")
        tm.wait(r"(?s)signed in as alice.*signed in as alice")
        # server restart: reconnect with backoff, without help
        srv.halt()
        tm.wait(r"reconnecting in \d+ s", timeout=15)
        srv.start()
        tm.wait(r"(?s)signed in as alice.*signed in as alice.*signed in as alice", timeout=30)
        tm.keys("F10")
        end = time.time() + 10
        while tm.alive() and time.time() < end:
            time.sleep(0.1)
        check(not tm.alive(), "F10 quits")
        with open(errlog, errors="replace") as f:
            err = f.read()
        check("Sanitizer" not in err and "runtime error" not in err, "the TUI tripped a sanitizer:\n" + err)
    finally:
        if listener:
            listener.stop()
        if tm:
            tm.kill()
        srv.stop()


if __name__ == "__main__":
    main(run)
