"""The terminal client in tmux against the real ymsgd (issue 14): a conference started with /invite (its
tab, the member pane, messages both ways, a member leaving), a conference invitation accepted with /join,
a chat room (/join, the member pane, talking, /leave), and files: /send with the progress to "sent", and
an offer answered through F7 (accept) and /decline-file, the received file intact."""
import hashlib
import os
import shutil
import tempfile

from harness import Client, Server, Tmux, check, free_port, main


def run(ymsg, ymsgd):
    check(shutil.which("tmux"), "tmux is not installed (apt-get install tmux): the TUI tests need it")
    tmp = tempfile.mkdtemp(prefix="ymsg-e2e-tuig-")
    rooms = os.path.join(tmp, "rooms")
    with open(rooms, "w") as f:
        f.write("category Testing\nroom Lobby | Hello there\n")
    srv = Server(ymsgd, ["alice", "bob", "carol"],
                 extra=["--chat-rooms-file", rooms, "--relay-listen", "127.0.0.1:%d" % free_port()])
    tm = None
    bots = []
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http)
        A, B, C = srv.cred("alice"), srv.cred("bob"), srv.cred("carol")
        for u, cred in (("bob", B), ("carol", C)):
            check(c.run(A, "add", u)[0] == 0, "add " + u)
            check(c.run(cred, "accept", "alice")[0] == 0, "accept")
            check(c.run(cred, "add", "alice")[0] == 0, u + " adds alice")
            check(c.run(A, "accept", u)[0] == 0, "alice accepts " + u)
        dl = os.path.join(tmp, "dl")
        b = c.listen(B, "--stdin", "--download-dir", dl + "-bob", "--timeout", "120", stdin=True)
        cc = c.listen(C, "--stdin", "--timeout", "120", stdin=True)
        bots += [b, cc]
        for bot in bots:
            bot.wait(lambda e: e["event"] == "buddy_list", what="bot logged in")
        errlog = os.path.join(tmp, "tui.stderr")
        cmd = "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color %s --credentials %s -o history=off -o download_dir=%s 2>%s" % (
            " ".join(c.base), A, dl, errlog)
        tm = Tmux(cmd)
        tm.wait(r"signed in as alice")
        # a conference: /msg bob opens his tab, /invite carol starts one with both
        tm.keys("/msg bob", literal=True)
        tm.keys("Enter")
        tm.keys("/invite carol", literal=True)
        tm.keys("Enter")
        tm.wait(r"\[\d:&alice-1\]")
        tm.wait(r"conference alice-1 started")
        ev = b.wait(lambda e: e["event"] == "conf_invite", what="bob invited")
        check(ev["room"] == "alice-1", ev)
        cc.wait(lambda e: e["event"] == "conf_invite", what="carol invited")
        check(b.command("conf-join alice-1")["ok"], "bob joins")
        check(cc.command("conf-join alice-1")["ok"], "carol joins")
        tm.wait(r"bob joined")
        s = tm.wait(r"carol joined")
        check("3 members" in s and "Conference" in s, "member pane:\n" + s)
        tm.keys("hello conference", literal=True)
        tm.keys("Enter")
        tm.wait(r"alice: hello conference")  # the server's echo
        b.wait(lambda e: e["event"] == "conf_message" and e["text"] == "hello conference", what="bob got it")
        check(b.command("say alice-1 hi alice")["ok"], "bob says")
        tm.wait(r"bob: hi alice")
        check(cc.command("conf-leave alice-1")["ok"], "carol leaves")
        s = tm.wait(r"carol left")
        check("2 members" in s, "carol still in the pane:\n" + s)
        tm.keys("/leave", literal=True)
        tm.keys("Enter")
        b.wait(lambda e: e["event"] == "conf_leave" and e["who"] == "alice", what="alice left")
        check("&alice-1" not in tm.screen(), "the conference tab stayed:\n" + tm.screen())
        # an invitation from carol, accepted with /join
        tm.keys("C-p")  # the status tab: invitations show there
        tm.wait(r"\[0:status\]")
        room = cc.command("conf-invite alice")["room"]
        tm.wait(r"carol invites you to conference %s" % room)
        tm.keys("/join " + room, literal=True)
        tm.keys("Enter")
        tm.wait(r"\[\d:&%s\]" % room)
        cc.wait(lambda e: e["event"] == "conf_join" and e["who"] == "alice", what="alice joined carol's")
        tm.keys("/close", literal=True)
        tm.keys("Enter")
        cc.wait(lambda e: e["event"] == "conf_leave" and e["who"] == "alice", what="closing the tab leaves")
        # a chat room
        tm.keys("/join #Lobby", literal=True)
        tm.keys("Enter")
        s = tm.wait(r"you are in Lobby")
        check("[" in s and "#Lobby" in s, s)
        check(b.command("join Lobby")["ok"], "bob enters")
        s = tm.wait(r"bob entered")
        check("2 members" in s and "Room" in s, "room member pane:\n" + s)
        tm.keys("/me waves", literal=True)
        tm.keys("Enter")
        ev = b.wait(lambda e: e["event"] == "room_message", what="bob sees the emote")
        check(ev["emote"] is True and ev["text"] == "waves", ev)
        check(b.command("say Lobby hey")["ok"], "bob talks")
        tm.wait(r"bob: hey")
        tm.keys("/leave", literal=True)
        tm.keys("Enter")
        b.wait(lambda e: e["event"] == "room_exit" and e["who"] == "alice", what="alice left the room")
        check("#Lobby" not in tm.screen(), "the room tab stayed:\n" + tm.screen())
        # files: /send to bob, who accepts
        src = os.path.join(tmp, "report.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(200 * 1024))
        tm.keys("/send %s bob" % src, literal=True)
        tm.keys("Enter")
        ev = b.wait(lambda e: e["event"] == "file_offer", what="bob's offer")
        check(ev["name"] == "report.bin", ev)
        check(b.command("accept-file " + ev["id"])["ok"], "bob accepts")
        tm.wait(r"file \S+ sent \(204800 bytes\)", timeout=30)
        b.wait(lambda e: e["event"] == "file_done" and e["ok"], timeout=30, what="bob has it")
        # bob offers two files: F7 accepts the first, /decline-file the second
        for name, size in (("a.txt", 5000), ("b.txt", 10)):
            p = os.path.join(tmp, name)
            with open(p, "wb") as f:
                f.write(os.urandom(size))
        check(b.command("send-file alice " + os.path.join(tmp, "a.txt"))["ok"], "offer a")
        tm.wait(r"file offer from bob: a\.txt")
        tm.keys("F7")
        tm.wait(r"Accept a\.txt \(5000 bytes\) from bob\?")
        tm.keys("Enter")
        b.wait(lambda e: e["event"] == "file_done" and e["ok"] and e["sent"], timeout=30, what="a.txt sent")
        tm.wait(r"file \S+ received \(5000 bytes\)", timeout=30)
        with open(os.path.join(dl, "a.txt"), "rb") as f1, open(os.path.join(tmp, "a.txt"), "rb") as f2:
            check(hashlib.sha256(f1.read()).digest() == hashlib.sha256(f2.read()).digest(), "a.txt changed")
        xid = b.command("send-file alice " + os.path.join(tmp, "b.txt"))["id"]
        tm.wait(r"offers you b\.txt")
        tm.keys("/decline-file", literal=True)
        tm.keys("Enter")
        b.wait(lambda e: e["event"] == "file_declined" and e["id"] == xid, what="declined")
        check(not os.path.exists(os.path.join(dl, "b.txt")), "a declined file was written")
        tm.keys("/quit", literal=True)
        tm.keys("Enter")
        with open(errlog) as f:
            err = f.read()
        check("ERROR: AddressSanitizer" not in err and "runtime error" not in err, err)
    finally:
        if tm:
            tm.kill()
        for bot in bots:
            bot.stop()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run)
