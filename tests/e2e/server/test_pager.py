#!/usr/bin/env python3
"""Pager hardening scenarios (issue 9 items 1, 5, 7, 11) against the real ymsgd:
usage test_pager.py YMSGD [TEST...]"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Server, run_tests  # noqa: E402
from test_scenarios import IM, OFFLINE_STATUS, two_friends  # noqa: E402

YMSGD = os.path.abspath(sys.argv[1])


def test_status_relays_away_flag():
    """9.11: a status change with 47 reaches buddies with 47 as the client sent it."""
    with Server(YMSGD) as srv:
        a, b = two_friends(srv)
        b.send(0xC6, [(10, "2"), (47, "1")])
        up = a.expect(0xC6)
        assert up.get(7) == "bob" and up.get(10) == "2" and up.get(47) == "1", up
        b.send(0xC6, [(10, "99"), (19, "lunch"), (47, "0")])
        up = a.expect(0xC6)
        assert up.get(10) == "99" and up.get(19) == "lunch" and up.get(47) == "0", up
        b.send(0xC6, [(10, "0")])                     # no 47 sent: none relayed
        up = a.expect(0xC6)
        assert up.get(10) == "0" and up.get(47) is None, up
        b.send(0xC6, [(10, "2"), (47, "1")])
        a.expect(0xC6)
        a.close()                                     # the online list at login carries it too
        a = srv.login("alice", "secret")
        ent = [p for p in a.login_burst if p.service == 0xF0]
        assert ent and ent[0].get(7) == "bob" and ent[0].get(47) == "1", ent


def stealth_packet(user, ids):
    return [(1, user), (31, "1"), (13, "2")] + [(7, "user%04d" % i) for i in ids]


def test_stealth_ids_capped_and_charged():
    """9.7: one 0xB9 acts on at most stealth_max_names ids, and every id costs a session token."""
    extra = ["--stealth-max-names", "50", "--session-burst", "120", "--session-rate", "1"]
    with Server(YMSGD, extra_args=extra) as srv:
        srv.add_user("alice", "secret")
        a = srv.login("alice", "secret")
        a.send(0xB9, stealth_packet("alice", range(300)))
        acks = [p for p in a.drain(0.5) if p.service == 0xB9]
        assert [p.get(7) for p in acks] == ["user%04d" % i for i in range(50)], len(acks)
        assert "event=stealth_capped" in srv.log_text()
        # 120 tokens: the first packet took 50; two more of 50 ids get ~70 between them, not 100
        a.send(0xB9, stealth_packet("alice", range(50)))
        a.send(0xB9, stealth_packet("alice", range(50, 100)))
        more = [p for p in a.drain(0.5) if p.service == 0xB9]
        assert 60 <= len(more) <= 75, len(more)
        assert "stealth ids dropped" in srv.log_text()
        time.sleep(2.5)                               # refilled: the session still works
        a.send(0x8A, [(0, "alice")])
        assert a.expect(0x8A).status == 1


def im(c, to, text):
    c.send(IM, [(1, c.user), (5, to), (14, text)], status=OFFLINE_STATUS)


def test_offline_box_larger_than_out_cap_is_paged():
    """9.1: a box of 280 KB reaches a client whose out_cap is 64 KB, in order, and is deleted once."""
    extra = ["--out-cap", "65536", "--offline-per-sender", "200", "--session-burst", "1000"]
    with Server(YMSGD, extra_args=extra) as srv:
        srv.add_user("mallory", "x")
        srv.add_user("bob", "hunter2")
        m = srv.login("mallory", "x")
        for i in range(70):
            im(m, "bob", ("%03d" % i) + "x" * 4000)
        m.send(0x12)  # answered after the 70 (a session's packets keep their order): all are in the box
        assert m.expect(0x12, timeout=20).status == 1
        b = srv.login("bob", "hunter2")
        got = [t for p in b.login_burst if p.service == IM for t in p.all(14)]
        deadline = time.time() + 20
        while len(got) < 70 and time.time() < deadline:
            p = b.recv(2)
            assert p is not None, "connection ended after %d messages" % len(got)
            if p.service == IM:
                assert p.status == 5 and p.pairs[0] == (31, b"6"), p
                got += p.all(14)
        assert [t[:3] for t in got] == ["%03d" % i for i in range(70)], [t[:3] for t in got]
        assert "event=slow_reader" not in srv.log_text()
        b.send(0x8A, [(0, "bob")])                    # still logged in
        assert b.expect(0x8A, skip=(IM,)).status == 1
        b.close()
        time.sleep(0.3)
        b = srv.login("bob", "hunter2")
        assert not [p for p in b.login_burst + b.drain(0.5) if p.service == IM]   # delivered once


def test_box_full_tells_sender():
    """9.1: per-sender quota and box cap answer 0x06 status 2 (5=recipient, 16=why), once per interval."""
    extra = ["--offline-per-sender", "3", "--offline-max", "5"]
    with Server(YMSGD, extra_args=extra) as srv:
        for n in ("bob", "carol", "dave"):
            srv.add_user(n, "x")
        c = srv.login("carol", "x")
        d = srv.login("dave", "x")
        for i in range(3):
            im(c, "bob", "c%d" % i)
        assert c.drain(0.4) == []
        im(c, "bob", "c3")
        no = c.expect(IM)
        assert no.status == 2 and no.get(5) == "bob" and "full" in no.get(16), no
        im(c, "bob", "c4")                            # no second notice within the interval
        assert c.drain(0.4) == []
        im(d, "bob", "d0")
        im(d, "bob", "d1")
        assert d.drain(0.4) == []
        im(d, "bob", "d2")                            # the box (5) is full
        assert d.expect(IM).status == 2
        b = srv.login("bob", "x")
        got = [t for p in b.login_burst if p.service == IM for t in p.all(14)]
        assert got == ["c0", "c1", "c2", "d0", "d1"], got
        b.close()
        time.sleep(0.3)
        im(c, "bob", "again")                         # the login emptied the box
        assert c.drain(0.4) == []


def test_box_full_same_for_offline_invisible_ignoring():
    """9.1 + rules 7, 8, 14: the sender's answers are the same sequence whatever the recipient's state."""
    extra = ["--offline-per-sender", "4"]
    with Server(YMSGD, extra_args=extra) as srv:
        for n in ("off", "inv", "ign", "carol"):
            srv.add_user(n, "x")
        inv = srv.login("inv", "x", status=12)       # invisible from the start
        ign = srv.login("ign", "x")
        ign.send(0x85, [(1, "ign"), (7, "carol"), (13, "1")])
        ign.drain(0.3)
        c = srv.login("carol", "x")
        seen = {}
        for who in ("off", "inv", "ign"):
            got = []
            for i in range(7):
                im(c, who, "m%d" % i)
                got.append([(p.service, p.status, [(k, v.replace(who.encode(), b"X")) for k, v in p.pairs])
                            for p in c.drain(0.3)])
            seen[who] = got
        assert seen["off"] == seen["inv"] == seen["ign"], seen
        assert [len(x) for x in seen["off"]] == [0, 0, 0, 0, 1, 0, 0], seen["off"]
        live = [p.get(14) for p in inv.drain(0.5) if p.service == IM]
        assert live == ["m0", "m1", "m2", "m3"], live  # the invisible recipient got the accepted ones
        assert not [p for p in ign.drain(0.3) if p.service == IM]
        inv.close()
        time.sleep(0.3)
        inv = srv.login("inv", "x", status=12)        # delivered live: not again at the next login
        assert not [p for p in inv.login_burst if p.service == IM]


def test_reply_to_invisible_user_who_wrote_first_is_live():
    """An invisible user who sent someone an IM has shown it is online: that person's replies are plain
    live deliveries, not counted against the box."""
    with Server(YMSGD, extra_args=["--offline-per-sender", "2"]) as srv:
        srv.add_user("inv", "x")
        srv.add_user("carol", "x")
        inv = srv.login("inv", "x", status=12)
        c = srv.login("carol", "x")
        im(inv, "carol", "psst")
        assert c.expect(IM).get(14) == "psst"
        for i in range(5):
            im(c, "inv", "r%d" % i)
        assert c.drain(0.4) == []
        assert [p.get(14) for p in inv.drain(0.5) if p.service == IM] == ["r%d" % i for i in range(5)]


if __name__ == "__main__":
    run_tests([v for k, v in list(globals().items()) if k.startswith("test_")])
