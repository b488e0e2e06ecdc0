#!/usr/bin/env python3
"""Server defects the real clients of ../shared/peers exposed (tests/interop/peers), pinned down with raw
packets so they are checked without the kit too: usage test_peers_found.py YMSGD [TEST...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ymsgd_harness import Server, run_tests  # noqa: E402
import test_scenarios  # noqa: E402  (two_friends; it reads YMSGD from argv[1] as we do)

YMSGD = os.path.abspath(sys.argv[1])


def test_openymsg_invisible_and_back_with_status_updates():
    """OpenYMSG's new API goes invisible with 0xC6 10=12 and comes back with 0xC6 10=0 alone (no 0xC5
    13=1, unlike Pidgin and libyahoo2): found by interop-peers-openymsg (alice stayed invisible, so her
    buddies never saw her again, her logoff was silent and carol never saw her accept)."""
    with Server(YMSGD) as srv:
        a, b = test_scenarios.two_friends(srv)
        a.send(0xC6, [(10, "12"), (19, ""), (47, "0"), (187, "0")])
        b.expect(0x02)                                     # gone, as for a sign-off
        a.send(0xC6, [(10, "0"), (19, ""), (47, "0"), (187, "0")])
        back = b.expect(0xF0, timeout=3.0)
        assert back.get(7) == "alice", back
        # Pidgin's way still holds: invisible by 0xC5, a 0xC6 alone (e.g. idle) does not reveal
        a.send(0xC5, [(13, "2")])
        b.expect(0x02)
        a.send(0xC6, [(10, "999"), (47, "2")])
        assert b.drain(0.4) == [], "a 0xC6 revealed a user invisible by 0xC5"
        a.send(0xC5, [(13, "1")])
        assert b.expect(0xF0).get(7) == "alice"


if __name__ == "__main__":
    run_tests([test_openymsg_invisible_and_back_with_status_updates])
