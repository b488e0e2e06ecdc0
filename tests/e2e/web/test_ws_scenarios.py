#!/usr/bin/env python3
"""The pager's end-to-end scenarios (tests/e2e/server/test_scenarios.py) with alice on WebSocket and
everyone else on TCP: a WebSocket session must behave as an ordinary session in every one of them.
Usage: test_ws_scenarios.py YMSGD [TEST...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsclient import ws_login  # noqa: E402  (puts tests/e2e/server on sys.path)
import test_scenarios  # noqa: E402
import ymsgd_harness  # noqa: E402

_tcp_login = ymsgd_harness.Server.login


def login(self, user, password, status=0, version=16, expect_ok=True):
    if user == "alice" and version >= 16:
        return ws_login(self, user, password, status=status, expect_ok=expect_ok)
    return _tcp_login(self, user, password, status=status, version=version, expect_ok=expect_ok)


ymsgd_harness.Server.login = login

# test_hash_workers_disconnect_and_shutdown has no alice.  test_slow_reader_disconnected runs in the form
# below: its 400 IMs must reach ymsgd in bursts larger than out_cap (the check is on what one loop turn
# queued for bob), and a python WebSocket client masking 4,000-byte frames one at a time on a loaded
# machine can be slow enough for the kernel's buffers to take all 1.6 MB instead (seen at load 10).
SKIPPED_HERE = {"test_slow_reader_disconnected", "test_hash_workers_disconnect_and_shutdown"}


def test_slow_reader_disconnected_ws_sender():
    """The scenario with the burst made explicit: alice (WebSocket) sends ten IMs per message."""
    import socket
    import time
    with ymsgd_harness.Server(test_scenarios.YMSGD, extra_args=["--out-cap", "8192"]) as srv:
        a, b = test_scenarios.two_friends(srv)
        b.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        im = ymsgd_harness.encode(test_scenarios.IM, [(1, "alice"), (5, "bob"), (14, "x" * 4000)],
                                  test_scenarios.OFFLINE_STATUS, a.session)
        for _ in range(40):                   # ~1.6 MB towards a reader that never reads
            try:
                a.send_raw(im * 10)
            except OSError:
                break
        deadline = time.time() + 10
        while "slow_reader" not in srv.log_text() and time.time() < deadline:
            time.sleep(0.1)
        assert "event=slow_reader" in srv.log_text()
        assert b.closed(5)
        a.send(0x8A, [(0, "alice")])            # the sender is unaffected
        assert a.expect(0x8A, skip=(0x02, test_scenarios.IM)).status == 1


if __name__ == "__main__":
    tests = [getattr(test_scenarios, n) for n in dir(test_scenarios) if n.startswith("test_") and n not in SKIPPED_HERE]
    tests.sort(key=lambda f: f.__code__.co_firstlineno)
    tests.append(test_slow_reader_disconnected_ws_sender)
    ymsgd_harness.run_tests(tests)
