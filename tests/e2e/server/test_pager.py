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


if __name__ == "__main__":
    run_tests([v for k, v in list(globals().items()) if k.startswith("test_")])
