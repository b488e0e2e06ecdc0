"""End to end, issue 14 (client side): conferences, chat rooms and file transfer between real `ymsg`
bots (`listen --json --stdin`, commands on stdin) against the real ymsgd.

Conference: three users (invite, join, decline, add-invite, messages with the server's echo, leave),
an invitation to an offline user answered "not available".  Room: join with the member list, another
member entering, talking, an invitation, leaving, an unknown room refused.  Files: one sent and
received intact (sha256), one declined, an oversized one refused by the server, and the one-shot
`ymsg send-file` against `listen --accept-files`."""
import hashlib
import os
import shutil
import tempfile
import time

from harness import Client, Server, check, free_port, main


def befriend(c, a, b, ca, cb):
    """a adds b, b accepts (so that a may see b online)."""
    rc, _, err = c.run(ca, "add", b)
    check(rc == 0, "add %s: %s" % (b, err))
    rc, _, err = c.run(cb, "accept", a)
    check(rc == 0, "accept %s: %s" % (a, err))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ok(ans, what):
    check(ans.get("ok") is True, "%s: %r" % (what, ans))
    return ans


def conference(c, srv, bots):
    a, b, cc, d = bots["alice"], bots["bob"], bots["carol"], bots["dave"]
    room = ok(a.command("conf-invite bob,carol"), "conf-invite")["room"]
    check(room == "alice-1", room)
    for who in (b, cc):
        ev = who.wait(lambda e: e["event"] == "conf_invite" and e["room"] == room, what="invitation")
        check(ev["who"] == "alice" and "alice" in ev["members"] and ev["text"] == "Join my conference", ev)
    ok(b.command("conf-join " + room), "bob joins")
    a.wait(lambda e: e["event"] == "conf_join" and e["who"] == "bob", what="bob joined")
    ok(cc.command("conf-join " + room), "carol joins")
    a.wait(lambda e: e["event"] == "conf_join" and e["who"] == "carol", what="carol joined")
    b.wait(lambda e: e["event"] == "conf_join" and e["who"] == "carol", what="bob told of carol")
    # add-invite: dave declines, erin is offline (the server answers "not available" as a decline)
    ok(a.command("conf-invite dave,erin " + room), "add-invite")
    d.wait(lambda e: e["event"] == "conf_invite" and e["room"] == room, what="dave's invitation")
    ev = a.wait(lambda e: e["event"] == "conf_decline" and e["who"] == "erin", what="erin not available")
    check("not available" in ev["text"], ev)
    ok(d.command("conf-decline %s busy now" % room), "dave declines")
    ev = a.wait(lambda e: e["event"] == "conf_decline" and e["who"] == "dave", what="dave declined")
    check(ev["text"] == "busy now", ev)
    # messages: every member gets them, the sender its echo
    ok(a.command("say %s hello all \u00e9" % room), "alice says")
    for who in (a, b, cc):
        ev = who.wait(lambda e: e["event"] == "conf_message" and e["who"] == "alice", what="alice's message")
        check(ev["text"] == "hello all \u00e9" and ev["room"] == room, ev)
    ok(b.command("say %s hi back" % room), "bob says")
    cc.wait(lambda e: e["event"] == "conf_message" and e["who"] == "bob" and e["text"] == "hi back", what="bob's")
    check(not [e for e in d.snapshot() if e["event"] == "conf_message"], "dave declined but got messages")
    ok(b.command("conf-leave " + room), "bob leaves")
    for who in (a, cc):
        who.wait(lambda e: e["event"] == "conf_leave" and e["who"] == "bob", what="bob left")
    check(b.command("say %s gone" % room)["ok"] is False, "saying in a left conference")


def rooms(c, srv, bots):
    a, b, cc = bots["alice"], bots["bob"], bots["carol"]
    ok(a.command("join Lobby"), "alice joins")
    ev = a.wait(lambda e: e["event"] == "room_joined", what="alice in the room")
    check(ev["room"] == "Lobby" and ev["topic"] == "Hello there" and ev["members"] == ["alice"], ev)
    ok(b.command("join lobby"), "bob joins")
    ev = b.wait(lambda e: e["event"] == "room_joined", what="bob in the room")
    check(sorted(ev["members"]) == ["alice", "bob"], ev)
    a.wait(lambda e: e["event"] == "room_enter" and e["who"] == "bob", what="bob entered")
    ok(a.command("say Lobby hi room"), "alice talks")
    ev = b.wait(lambda e: e["event"] == "room_message" and e["who"] == "alice", what="room message")
    check(ev["text"] == "hi room" and ev["emote"] is False, ev)
    ok(a.command("room-invite carol come in"), "invite")
    ev = cc.wait(lambda e: e["event"] == "room_invite", what="room invitation")
    check(ev["who"] == "alice" and ev["room"].lower() == "lobby" and ev["text"] == "come in", ev)
    ok(b.command("leave"), "bob leaves")
    a.wait(lambda e: e["event"] == "room_exit" and e["who"] == "bob", what="bob left the room")
    ok(cc.command("join Nowhere"), "carol asks for an unknown room")
    ev = cc.wait(lambda e: e["event"] == "room_failed", what="unknown room refused")
    check(ev["code"] == -6, ev)
    ok(a.command("leave"), "alice leaves")


def files(c, srv, bots, dl):
    a, b, cc = bots["alice"], bots["bob"], bots["carol"]
    src = os.path.join(srv.dir, "photo.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(300 * 1024 + 17))
    ans = ok(a.command("send-file bob " + src), "offer to bob")
    xid = ans["id"]
    ev = b.wait(lambda e: e["event"] == "file_offer" and e["id"] == xid, what="bob's offer")
    check(ev["peer"] == "alice" and ev["name"] == "photo.bin" and ev["size"] == 300 * 1024 + 17, ev)
    saved = ok(b.command("accept-file " + xid), "bob accepts")["path"]
    check(os.path.dirname(saved) == dl, saved)
    ev = b.wait(lambda e: e["event"] == "file_done" and e["id"] == xid, timeout=30, what="bob received it")
    check(ev["ok"] is True and ev["sent"] is False, ev)
    ev = a.wait(lambda e: e["event"] == "file_done" and e["id"] == xid, timeout=30, what="alice sent it")
    check(ev["ok"] is True and ev["sent"] is True, ev)
    check(sha(saved) == sha(src), "the file changed on the way")
    # declined
    xid = ok(a.command("send-file carol " + src), "offer to carol")["id"]
    cc.wait(lambda e: e["event"] == "file_offer" and e["id"] == xid, what="carol's offer")
    ok(cc.command("decline-file " + xid), "carol declines")
    a.wait(lambda e: e["event"] == "file_declined" and e["id"] == xid, what="declined")
    # larger than the server's relay_max_file: refused, nothing offered to bob
    big = os.path.join(srv.dir, "big.iso")
    with open(big, "wb") as f:
        f.truncate(2 * 1024 * 1024)
    xid = ok(a.command("send-file bob " + big), "oversized offer")["id"]
    ev = a.wait(lambda e: e["event"] == "file_cancelled" and e["id"] == xid, what="oversized refused")
    check("large" in ev["reason"], ev)
    time.sleep(0.5)
    check(not [e for e in b.snapshot() if e["event"] == "file_offer" and e["id"] == xid], "bob saw the big offer")


def oneshot(c, srv, dl):
    """`ymsg send-file` (after the bots: its login would replace alice's bot) to a bot that takes every file."""
    small = os.path.join(srv.dir, "notes.txt")
    with open(small, "w") as f:
        f.write("three lines\nof notes\n\u00e9\n")
    le = c.listen(srv.cred("erin"), "--accept-files", "--download-dir", dl + "-erin", "--timeout", "60")
    try:
        le.wait(lambda e: e["event"] == "buddy_list", what="erin logged in")
        rc, out, err = c.run(srv.cred("alice"), "send-file", "--to", "erin", small, "--json", timeout=60)
        check(rc == 0, "send-file: rc %d %s %s" % (rc, out, err))
        ev = le.wait(lambda e: e["event"] == "file_done", timeout=30, what="erin got notes.txt")
        check(ev["ok"] is True, ev)
        check(sha(os.path.join(dl + "-erin", "notes.txt")) == sha(small), "notes.txt changed")
    finally:
        le.stop()
    rc, _, err = c.run(srv.cred("alice"), "send-file", "--to", "erin", "/nonexistent")
    check(rc == 64, "missing file: rc %d %s" % (rc, err))


def run(ymsg, ymsgd):
    tmp = tempfile.mkdtemp(prefix="ymsg-e2e-rooms-")
    rooms_file = os.path.join(tmp, "rooms")
    with open(rooms_file, "w") as f:
        f.write("category Testing\nroom Lobby | Hello there\n")
    relay = free_port()
    srv = Server(ymsgd, ["alice", "bob", "carol", "dave", "erin"],
                 extra=["--chat-rooms-file", rooms_file, "--relay-listen", "127.0.0.1:%d" % relay,
                        "--relay-max-file", str(1024 * 1024)])
    bots = {}
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http)
        for u in ("bob", "carol", "dave", "erin"):
            befriend(c, "alice", u, srv.cred("alice"), srv.cred(u))
        dl = os.path.join(srv.dir, "downloads")
        for u in ("alice", "bob", "carol", "dave"):
            bots[u] = c.listen(srv.cred(u), "--stdin", "--download-dir", dl, "--timeout", "150", stdin=True)
        for u, bot in bots.items():
            bot.wait(lambda e: e["event"] == "buddy_list", what=u + " logged in")
        conference(c, srv, bots)
        rooms(c, srv, bots)
        files(c, srv, bots, dl)
        for bot in bots.values():
            bot.send("quit")
        for u, bot in bots.items():
            check(bot.stop() == 0, "%s did not quit cleanly" % u)
        oneshot(c, srv, dl)
    finally:
        for bot in bots.values():
            bot.stop()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run)
