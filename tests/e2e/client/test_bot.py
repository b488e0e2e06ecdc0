"""End to end: two (and more) `ymsg` clients against the real ymsgd — add and authorise, chat (UTF-8),
buzz, typing, custom status, invisible, offline messages, list operations, kick by a second login, and
the documented exit codes (2 login failure, 3 network failure, 64 usage)."""
import time

import json

from harness import Client, Server, check, free_port, main


def run(ymsg, ymsgd):
    srv = Server(ymsgd, ["alice", "bob", "carol"])
    listeners = []
    try:
        c = Client(ymsg, "127.0.0.1", srv.port, srv.http)
        A, B, C = srv.cred("alice"), srv.cred("bob"), srv.cred("carol")

        # exit codes
        with open(srv.dir + "/bad.cred", "w") as f:
            f.write("alice:wrong\n")
        rc, out, err = c.run(srv.dir + "/bad.cred", "buddies")
        check(rc == 2, "wrong password: rc %d %s" % (rc, err))
        check("password" in err, err)
        with open(srv.dir + "/nouser.cred", "w") as f:
            f.write("nobody:x\n")
        rc, out, err = c.run(srv.dir + "/nouser.cred", "buddies", "--json")
        check(rc == 2, "no such user: rc %d %s" % (rc, err))
        check('"event":"login_failed"' in out, out)
        dead = Client(ymsg, "127.0.0.1", free_port(), srv.http)
        rc, _, err = dead.run(A, "buddies")
        check(rc == 3, "closed port: rc %d %s" % (rc, err))
        dead = Client(ymsg, "127.0.0.1", srv.port, free_port())
        rc, _, err = dead.run(A, "buddies")
        check(rc == 3, "login server down: rc %d %s" % (rc, err))
        rc, _, _ = c.run(A, "send", "hi")
        check(rc == 64, "usage: rc %d" % rc)
        rc, _, _ = c.run(A, "--password", "x", "buddies")
        check(rc == 64, "--password refused: rc %d" % rc)
        rc, out, _ = c.run(None, "--help")
        check(rc == 0 and "exit codes" in out and "64" in out, out)
        # credentials from the environment
        import os
        env = dict(os.environ, YMSG_USER="alice", YMSG_PASSWORD="pw-alice")
        rc, out, err = c.run(None, "buddies", "--json", env=env)
        check(rc == 0 and '"user":"alice"' in out, "env credentials: %d %s %s" % (rc, out, err))

        # alice adds bob; bob (listening) gets the request; bob answers from a second login, which
        # kicks the listener (signed in from another location)
        lb = c.listen(B, "--timeout", "30")
        listeners.append(lb)
        lb.wait(lambda e: e["event"] == "buddy_list", what="bob logged in")
        rc, out, err = c.run(A, "add", "bob", "--group", "Pals", "--message", "hi bob", "--json")
        check(rc == 0, "add: %d %s" % (rc, err))
        check('"code":0' in out, out)
        ev = lb.wait(lambda e: e["event"] == "auth_request", what="auth request")
        check(ev["from"] == "alice" and ev["message"] == "hi bob", ev)
        rc, out, _ = c.run(B, "buddies", "--json")  # the request waits on the server and in the list
        check(json.loads(out)["requests"] == [{"from": "alice", "message": "hi bob"}], out)
        rc, _, err = c.run(B, "accept", "alice")
        check(rc == 0, "accept: %s" % err)
        lb.wait(lambda e: e["event"] == "kicked", what="kick")
        check(lb.stop() == 3, "a kicked listener exits 3")

        rc, out, _ = c.run(A, "buddies", "--json")
        bl = json.loads(out)
        bob = [b for b in bl["buddies"] if b["id"] == "bob"]
        check(bob and bob[0]["group"] == "Pals" and not bob[0]["pending"], bl)

        # chat, buzz, typing, status, invisible, while alice listens
        la = c.listen(A, "--timeout", "40")
        listeners.append(la)
        la.wait(lambda e: e["event"] == "buddy_list", what="alice logged in")
        text = "h\u00e9llo \u2713 \U0001F600 a<b \"q\""
        rc, _, err = c.run(B, "send", "--to", "alice", text)
        check(rc == 0, "send: %s" % err)
        ev = la.wait(lambda e: e["event"] == "message", what="message")
        check(ev["from"] == "bob" and ev["text"] == text and not ev["offline"], ev)
        la.wait(lambda e: e["event"] == "presence" and e["who"] == "bob" and e["online"], what="bob online")
        rc, _, _ = c.run(B, "buzz", "--to", "alice")
        check(rc == 0, "buzz")
        la.wait(lambda e: e["event"] == "buzz" and e["from"] == "bob", what="buzz")
        rc, _, _ = c.run(B, "typing", "--to", "alice")
        check(rc == 0, "typing")
        la.wait(lambda e: e["event"] == "typing" and e["from"] == "bob" and e["typing"], what="typing")
        rc, _, _ = c.run(B, "status", "custom", "at lunch", "--away", "--timeout", "1.5")
        check(rc == 0, "status custom")
        ev = la.wait(lambda e: e["event"] == "presence" and e["status"] == 99, what="custom status")
        check(ev["message"] == "at lunch" and ev["away"] == 1, ev)
        rc, _, _ = c.run(B, "status", "busy", "--timeout", "1.5")
        la.wait(lambda e: e["event"] == "presence" and e["status"] == 2, what="busy")
        time.sleep(1.0)
        # invisible: nothing about bob may reach alice while bob is signed in invisible
        mark = len(la.snapshot())
        lbi = c.listen(B, "--invisible", "--timeout", "3")
        lbi.wait(lambda e: e["event"] == "buddy_list", what="bob invisible logged in")
        rc, _, _ = c.run(B, "send", "--to", "alice", "--invisible", "from the shadows")
        ev = la.wait(lambda e: e["event"] == "message" and e["text"] == "from the shadows", what="msg from invisible")
        lbi.stop()
        time.sleep(1.0)
        seen = [e for e in la.snapshot()[mark:] if e["event"] == "presence" and e["who"] == "bob" and e["online"]]
        check(not seen, "invisible bob appeared online to alice: %r" % seen)
        # going invisible mid-session looks like signing off
        rc, _, _ = c.run(B, "status", "invisible", "--timeout", "1")
        check(rc == 0, "status invisible")
        la.stop()

        # offline message with its time
        before = int(time.time())
        rc, _, _ = c.run(B, "send", "--to", "alice", "while you were out")
        check(rc == 0, "offline send")
        la2 = c.listen(A, "--timeout", "15", "--count", "1")
        listeners.append(la2)
        ev = la2.wait(lambda e: e["event"] == "message", what="offline message")
        check(ev["offline"] and ev["text"] == "while you were out" and ev["time"] >= before - 5, ev)
        la2.stop()

        # decline: carol asks alice, alice declines, carol hears it
        rc, _, _ = c.run(C, "add", "alice", "--group", "Work")
        check(rc == 0, "carol add")
        lc = c.listen(C, "--timeout", "20")
        listeners.append(lc)
        lc.wait(lambda e: e["event"] == "buddy_list", what="carol logged in")
        rc, _, _ = c.run(A, "decline", "carol", "--message", "no thanks")
        check(rc == 0, "decline")
        # alice's decline login does not kick carol; carol hears the answer
        ev = lc.wait(lambda e: e["event"] == "auth_answer", what="auth answer")
        check(ev["from"] == "alice" and not ev["accepted"], ev)
        lc.stop()

        # list operations with their acks
        for args in (["move", "bob", "Friends"], ["rename-group", "Friends", "Mates"], ["ignore", "carol"],
                     ["unignore", "carol"]):
            rc, out, err = c.run(A, *args)
            check(rc == 0, "%s: %d %s %s" % (args, rc, out, err))
        rc, out, _ = c.run(A, "buddies", "--json")
        bl = json.loads(out)
        check([b["group"] for b in bl["buddies"] if b["id"] == "bob"] == ["Mates"], bl)
        rc, out, _ = c.run(A, "ignore", "bob")  # a buddy cannot be ignored: the server refuses (66=12)
        check(rc == 1, "ignore a buddy: rc %d" % rc)
        rc, _, _ = c.run(A, "remove", "bob")
        check(rc == 0, "remove")
        rc, out, _ = c.run(A, "buddies", "--json")
        check(not json.loads(out)["buddies"], out)

        # listen --json --count N stops after exactly N events, each with a real time; presence events
        # carry a status name
        before = int(time.time())
        lc = c.listen(C, "--timeout", "60", "--count", "2")
        listeners.append(lc)
        lc.wait(lambda e: e["event"] == "buddy_list", what="carol logged in")
        for i in range(3):
            check(c.run(A, "send", "--to", "carol", "count %d" % i)[0] == 0, "send %d" % i)
        end = time.time() + 30
        while lc.proc.poll() is None and time.time() < end:
            time.sleep(0.1)
        check(lc.proc.poll() == 0, "--count 2 did not end the listener")
        lc.t.join(timeout=10)
        evs = [e for e in lc.snapshot() if e["event"] not in ("logged_in", "buddy_list")]
        check(len(evs) == 2, "--count 2 printed %r" % evs)
        check(all(isinstance(e["time"], int) and before - 5 <= e["time"] <= time.time() + 5 for e in lc.snapshot()),
              lc.snapshot())
        check(all("status_name" in e for e in lc.snapshot() if e["event"] == "presence"), lc.snapshot())
    finally:
        for l in listeners:
            l.stop()
        srv.stop()


if __name__ == "__main__":
    main(run)
