#!/usr/bin/env python3
"""libpurple 2.10.9 (Pidgin's yahoo plugin, from the real-client kit) sends and receives a file through
ymsgd's relay (issue 14, docs/FILE_TRANSFER.md).

usage: ft_purple.py --kit KIT --work WORKDIR --ymsgd YMSGD --ymsg YMSG --out BUILDDIR

alice and bob are buddies; each runs purple_ft.c (ours, built here against the kit's libpurple).  alice
sends a 1.5 MB file with serv_send_file (Pidgin's "Send File..."): bob's libpurple gets the offer, accepts,
and saves it; the SHA-256 of what bob saved must be that of what alice sent, and the relay's directory
must be empty afterwards.  Then bob declines a second file: alice's libpurple must see the transfer
cancelled.  Then bob sends alice a file the other way.  A missing kit or program is a FAIL, never a skip."""
import hashlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers_session import Peer, free_port, run_main  # noqa: E402


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def run(s, exe):
    s.befriend(("alice", "bob"))
    # relay.msg.yahoo.com resolves to 127.0.0.1 through the kit's shim; ymsgd's key 250 gives the port
    env = s.shim_env(LD_PRELOAD=os.path.join(s.work, "lib", "yahoo_shim.so"))
    peers = {}
    for u in ("alice", "bob"):
        userdir, save = s.purple_userdir(u), os.path.join(s.tmp, "save-" + u)
        os.makedirs(save)
        p = Peer(u, "purple_ft", [exe, u, s.pw, userdir, save], env, s.tmp)
        s.procs.append(p)
        peers[u] = (p, save)
    for u, (p, _) in peers.items():
        if not s.step("login-" + u, bool(p.wait([r"^EV signed-on %s$" % u], timeout=45)),
                      p.find([r"connection-error"]) or "signed on"):
            return
    alice, asave = peers["alice"]
    bob, bsave = peers["bob"]
    time.sleep(1.5)  # the buddy lists and presence settle (Pidgin sends files to buddies it sees)
    src = os.path.join(s.tmp, "holiday photo.jpg")
    open(src, "wb").write(os.urandom(1500 * 1000 + 7))
    alice.say("send bob " + src)
    hit = bob.wait([r"^EV offer alice holiday photo\.jpg %d$" % os.path.getsize(src)], timeout=20)
    s.step("offer", bool(hit), hit or "bob's libpurple never got the offer with name and size")
    got = bob.wait([r"^EV recv-done "], timeout=60)
    sent = alice.wait([r"^EV send-done "], timeout=30)
    dst = os.path.join(bsave, "holiday photo.jpg")
    ok = bool(got) and os.path.exists(dst) and sha(dst) == sha(src)
    s.step("received", ok, "sha256 %s" % (sha(dst) if os.path.exists(dst) else "no file"))
    s.step("sent", bool(sent), sent or "alice's libpurple did not complete the send")
    time.sleep(0.5)
    left = os.listdir(os.path.join(s.data, "relay"))
    s.step("relay-empty", left == [], "DATA/relay after the download: %r" % left)
    # bob declines the next one: alice's libpurple cancels it (0xDC 222=4)
    m = alice.mark()
    bob.say("answer decline")
    bob.wait([r"^EV answer decline$"], timeout=5)
    alice.say("send bob " + src)
    hit = alice.wait([r"^EV send-cancel "], since=m, timeout=30)
    s.step("declined", bool(hit), hit or "alice's libpurple never saw the decline")
    bob.say("answer accept")
    # the other way round
    src2 = os.path.join(s.tmp, "notes.txt")
    open(src2, "wb").write(b"file transfer through ymsgd\n" * 5000)
    bob.say("send alice " + src2)
    got = alice.wait([r"^EV recv-done "], timeout=60)
    dst2 = os.path.join(asave, "notes.txt")
    s.step("reverse", bool(got) and os.path.exists(dst2) and sha(dst2) == sha(src2), got or "not received")
    log = open(s.srvlog, errors="replace").read()
    s.step("server-log", "relay_stored" in log and "relay_downloaded" in log, "ymsgd logged the relay steps")
    for p, _ in peers.values():
        p.say("quit")
        p.gone(15)


def main():
    run_main(run, front_end="purple_ft", label="libpurple-ft",
             prepare=lambda s: setattr(s, "server_extra", ["--relay-listen", "127.0.0.1:%d" % free_port()]))


if __name__ == "__main__":
    main()
